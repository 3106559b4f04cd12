#!/usr/bin/env bash
# Faults during the pipeline (issue 9 item 5): PostgreSQL killed inside a
# change transaction, `cdscan scan` SIGKILLed at random points again and
# again, the database's disk full in the middle of a scan. After each,
# a rerun finishes the same run, and then every change is applied
# exactly once and the audit trail matches the registry tables:
#   - the run is the only one, every delegation scanned once in it and
#     every run item done (run_once_why);
#   - the domains that change are exactly those a clean scan changes,
#     each with one audit row of the run; no other domain has one (the
#     import's own audit rows aside);
#   - registry.ds equals the `after` of the domain's audit row (and its
#     `before` the DS set imported), every other domain kept its set;
#     every applied scan has its audit row and back (audit_why).
# The EPP server gone mid-command is tests/integration/epp.sh
# (update-drop: the frame cut after the change was carried out).
#
# One line per test: "PASS faults/NAME" or "FAIL faults/NAME: why".
# A real PostgreSQL (tests/pg.sh) and the DNS test world: the changes
# are real (KSK and algorithm rollovers, a delete). Needs root (the world,
# initdb, and a tmpfs for the full disk). CDSCAN=PATH tests another binary.
# FAULTS_FIGURES=FILE appends what each fault did (for docs/HARDENING.md;
# nothing is asserted on it).
set -uo pipefail
cd "$(dirname "$0")/../.."
CDSCAN=${CDSCAN:-$(pwd)/cdscan}
. tests/lib.sh
. tests/pg.sh
. tests/pipeline/lib.sh

need_root
need_cmd psql nsd knotd unbound ldns-keygen ldns-key2ds mount umount
[ -n "$(pg_bindir)" ] || { fail faults "PostgreSQL is not installed"; finish; }

SCENARIOS="alg7-to-13 steady ksk-rollover delete-all cdnskey-only sha1-and-sha256"
ROUNDS=${ROUNDS:-20}   # kill-and-rerun rounds of the SIGKILL test

T=$(mktemp -d /tmp/cdscan-faults.XXXXXX)
chmod 755 "$T" # initdb runs as postgres
W=$T/world
PGD=$T/pg
MNT=$T/full    # the tmpfs of the disk-full test
BG=
fig() { [ -z "${FAULTS_FIGURES:-}" ] || echo "$*" >>"$FAULTS_FIGURES"; }
on_exit "[ -n \"\$BG\" ] && kill -9 \$BG 2>/dev/null; tests/world/stop '$W'; pg_stop '$PGD'; pg_stop '$MNT/pg'; mountpoint -q '$MNT' && umount -l '$MNT'; rm -rf '$T'"

tests/world/build "$W" $SCENARIOS >"$T/build.log" 2>&1 ||
	{ fail faults/setup "world build: $(tail -n 3 "$T/build.log")"; finish; }
tests/world/start "$W" >"$T/start.log" 2>&1 ||
	{ fail faults/setup "world start: $(tail -n 3 "$T/start.log")"; finish; }
pg_start "$PGD" >"$T/pg.log" 2>&1 ||
	{ fail faults/setup "PostgreSQL: $(tail -n 3 "$T/pg.log")"; finish; }

# The world's delegations among four groups of slow ones (each a full
# timeout at the silent address), so that a scan lasts seconds and the
# changes come at different points of it (delegations are claimed in
# name order): b-slow before cdnskey-only, delete-all; m-slow before
# sha1-and-sha256, steady; t-slow last.
{
	cat "$W/tld/test.in"
	for g in b e m t; do slow_zone $g-slow 40 | sed -n '5,$p'; done
} >"$T/all.zone"
N_ALL=$(( $(echo $SCENARIOS | wc -w) + 160 ))
conf() { # FILE [CONCURRENCY]: a scan of seconds, results in many small
         # transactions (8: about 9 s for the run on an idle machine)
	pl_config "$1" scanner.timeout=150ms scanner.retries=1 scan.lease=2s \
		scan.concurrency=${2:-8} scan.batch-size=4
}
CONF=$T/cdscan.yaml
conf "$CONF"
cds() { timeout -k 5 60 "$CDSCAN" -c "$CONF" "$@"; }

# A fresh database with the registry as imported.
fresh_db() {
	local out
	dropdb --if-exists cdscan && createdb cdscan || { echo "cannot recreate the database"; return 1; }
	out=$(cds init 2>&1) || { echo "init: $out"; return 1; }
	out=$(cds import "$T/all.zone" --origin test. 2>&1) || { echo "import: $out"; return 1; }
	[ "$(sql 'SELECT count(*) FROM registry.domain')" = "$N_ALL" ] ||
		{ echo "import: $(sql 'SELECT count(*) FROM registry.domain') domains, expected $N_ALL"; return 1; }
	snapshot_ds
}

# The reference: the domains a clean scan of the world's delegations
# changes (the fault tests must end with exactly these changed, once).
t_clean() {
	local out run
	fresh_db || return
	out=$(cds scan $(sed 's/$/.test./' <<<"${SCENARIOS// /$'\n'}") 2>&1) ||
		{ echo "scan: $(tail -n 3 <<<"$out")"; return; }
	run=$(last_run false)
	audit_why "$run"
	sql "SELECT string_agg(domain, ' ' ORDER BY domain) FROM cdscan.audit
	     WHERE run_id IS NOT NULL" >"$T/changed"
	[ "$(wc -w <"$T/changed")" -ge 4 ] ||
		echo "a clean scan changed only '$(cat "$T/changed")': the world makes no changes to lose"
}
if why=$(t_clean); [ -z "$why" ]; then
	pass faults/setup
else
	fail faults/setup "$why"
	finish
fi
CHANGED=$(cat "$T/changed")

# Everything the faults must not have broken (see the top); prints why not.
invariants_why() {
	local runs run got
	runs=$(sql "SELECT count(*) FROM cdscan.run")
	run=$(last_run false)
	[ "$runs" = 1 ] || echo "$runs runs, expected the one run finished by reruns;"
	run_once_why "$run"
	audit_why "$run"
	got=$(sql "SELECT coalesce(string_agg(domain, ' ' ORDER BY domain), '')
	           FROM cdscan.audit WHERE run_id IS NOT NULL")
	[ "$got" = "$CHANGED" ] ||
		echo "audit rows for '$got', expected one each for '$CHANGED';"
	# every domain: the registry holds the `after` of its last audit row,
	# or the imported set when it has none
	got=$(sql "SELECT string_agg(d.name, ' ') FROM cdscan.delegation d
	           JOIN public.pl_snap p USING (name)
	           LEFT JOIN LATERAL (SELECT after_ds FROM cdscan.audit a
	                WHERE a.domain = d.name ORDER BY a.id DESC LIMIT 1) l ON true
	           WHERE public.pl_set(d.ds) <> coalesce(public.pl_set(l.after_ds), p.ds)")
	[ -z "$got" ] || echo "registry and last audit row disagree: $got;"
}

scans_in_flight() { sql "SELECT count(*) FROM cdscan.scan" 2>/dev/null; }
_scans_ge() { [ "$(scans_in_flight)" -ge "$1" ] 2>/dev/null; }
rerun() { # finish the run; prints why not
	"$CDSCAN" -c "$CONF" scan --all >"$T/rerun.out" 2>&1 &
	BG=$!
	reap $BG 60
	BG=
	[ "$REAPED_RC" = 0 ] || echo "rerun exit $REAPED_RC: $(tail -n 3 "$T/rerun.out" | tr '\n' ' ')"
}

# ---- PostgreSQL killed inside a change transaction -----------------------

# A trigger makes each audit row take 2 s, so the change transaction is
# open (apply_ds done, the audit row on its way) when the postmaster gets
# SIGKILL. cdscan must stop with a database error, and after a restart and
# a rerun nothing is half-done: the interrupted change is applied once.
in_change() {
	[ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'" 2>/dev/null)" -ge 1 ] 2>/dev/null
}
t_pg_kill() {
	local i
	fresh_db || return
	sql "CREATE FUNCTION public.slow_audit() RETURNS trigger LANGUAGE plpgsql AS
	     \$\$ BEGIN PERFORM pg_sleep(2); RETURN NEW; END \$\$;
	     CREATE TRIGGER slow_audit BEFORE INSERT ON cdscan.audit
	     FOR EACH ROW EXECUTE FUNCTION public.slow_audit()" ||
		{ echo "cannot add the trigger"; return; }
	"$CDSCAN" -c "$CONF" scan --all >"$T/kill.out" 2>"$T/kill.err" &
	BG=$!
	wait_for 30 in_change || { kill -9 $BG; BG=; echo "no change transaction seen"; return; }
	pg_kill "$PGD"
	reap $BG 30
	BG=
	case "$REAPED_RC" in
	0) echo "cdscan exit 0 with its database killed"; return ;;
	timeout) echo "cdscan did not stop within 30 s of losing its database"; return ;;
	esac
	grep -qiE "database|postgres|connection|server closed" "$T/kill.err" ||
		echo "no database error said: $(tail -n 2 "$T/kill.err" | tr '\n' ' ')"
	# the backends notice the postmaster's death; start again when they
	# have gone (crash recovery replays the WAL)
	for i in $(seq 50); do
		pg_start "$PGD" >>"$T/pg.log" 2>&1 && break
		sleep 0.2
	done
	sql "SELECT 1" >/dev/null || { echo "PostgreSQL did not come back: $(tail -n 3 "$T/pg.log")"; return; }
	[ "$(sql "SELECT count(*) FROM cdscan.audit WHERE run_id IS NOT NULL")" -lt "$(wc -w <<<"$CHANGED")" ] ||
		echo "every change was already done before the kill: it landed outside the pipeline;"
	fig "pg-kill: cdscan exit $REAPED_RC: $(grep -iE 'database|postgres|connection' "$T/kill.err" | head -n 2 | tr '\n' ' ')"
	fig "pg-kill: after restart $(sql "SELECT count(*) FROM cdscan.scan") scans, $(sql "SELECT count(*) FROM cdscan.audit WHERE run_id IS NOT NULL") audit rows of $(wc -w <<<"$CHANGED")"
	sql "DROP TRIGGER slow_audit ON cdscan.audit"
	rerun
	invariants_why
}
why=$(t_pg_kill)
[ -z "$why" ] && pass faults/postgres-killed-mid-change ||
	fail faults/postgres-killed-mid-change "$why"

# ---- SIGKILL of cdscan at random points ----------------------------------

# ROUNDS times: start `cdscan scan --all`, kill -9 it after a random
# 0.05-0.8 s (while starting, probing, recording or changing); then one
# rerun finishes. The same run goes on each time; claims of the dead are
# released by the next worker (dead-pid shortcut). Half the concurrency,
# so that the run (about 18 s) outlasts the rounds (about 9 s).
t_sigkill() {
	local i d done_at=
	conf "$CONF" 4
	fresh_db || return
	for i in $(seq "$ROUNDS"); do
		d=$(( 50 + RANDOM % 750 ))
		"$CDSCAN" -c "$CONF" scan --all >"$T/k$i.out" 2>&1 &
		BG=$!
		sleep "$(printf '%d.%03d' $((d / 1000)) $((d % 1000)))"
		kill -9 $BG 2>/dev/null
		wait $BG 2>/dev/null
		BG=
		[ "$(sql "SELECT count(*) FROM cdscan.run WHERE state <> 'done'")" = 0 ] &&
			[ "$(sql "SELECT count(*) FROM cdscan.run")" -ge 1 ] && { done_at=$i; break; }
	done
	[ -z "$done_at" ] || echo "the run was over after $done_at rounds: the kills did not interrupt it;"
	conf "$CONF"
	fig "sigkill: $(sql "SELECT count(*) FROM cdscan.scan") of $N_ALL delegations, $(sql "SELECT count(*) FROM cdscan.audit WHERE run_id IS NOT NULL") of $(wc -w <<<"$CHANGED") changes recorded after $ROUNDS kills"
	rerun
	invariants_why
}
why=$(t_sigkill)
[ -z "$why" ] && pass "faults/sigkill-random-x$ROUNDS" ||
	fail "faults/sigkill-random-x$ROUNDS" "$why"

# ---- disk full -----------------------------------------------------------

# A second cluster on a small tmpfs. During a scan a file fills what is
# left of it: the next page the database must add (a scan row, an audit
# row) cannot be written. cdscan must stop with a clear database error,
# nothing half-applied; once the file is gone a rerun completes.
t_disk_full() {
	local out
	mkdir -p "$MNT"
	mount -t tmpfs -o size=96m,mode=755 tmpfs "$MNT" || { echo "cannot mount a tmpfs"; return; }
	PGD=$MNT/pg
	pg_start "$PGD" >"$T/pg-full.log" 2>&1 || { echo "PostgreSQL on tmpfs: $(tail -n 3 "$T/pg-full.log")"; return; }
	conf "$CONF"
	fresh_db || return
	"$CDSCAN" -c "$CONF" scan --all >"$T/full.out" 2>"$T/full.err" &
	BG=$!
	wait_for 30 _scans_ge 8 || { kill -9 $BG; BG=; echo "no progress: $(tail -n 2 "$T/full.err")"; return; }
	# fill it (bounded by the tmpfs itself)
	dd if=/dev/zero of="$MNT/fill" bs=256k 2>/dev/null
	reap $BG 60
	BG=
	case "$REAPED_RC" in
	0) echo "cdscan exit 0 on a full disk ($(sql "SELECT count(*) FROM cdscan.scan") scans recorded)"; return ;;
	timeout) echo "cdscan did not stop within 60 s of a full disk"; return ;;
	esac
	grep -qiE "no space left|could not extend|could not write" "$T/full.err" ||
		echo "no clear database error: $(tail -n 3 "$T/full.err" | tr '\n' ' ');"
	fig "disk-full: cdscan exit $REAPED_RC after $(sql "SELECT count(*) FROM cdscan.scan") scans, $(sql "SELECT count(*) FROM cdscan.audit WHERE run_id IS NOT NULL") audit rows: $(grep -iE 'space|extend|write' "$T/full.err" | head -n 2 | tr '\n' ' ')"
	rm -f "$MNT/fill"
	sql "SELECT 1" >/dev/null || {
		# a full pg_wal ends the server (PANIC): start it again
		pg_start "$PGD" >>"$T/pg-full.log" 2>&1 || { echo "PostgreSQL did not come back"; return; }
	}
	rerun
	invariants_why
}
why=$(t_disk_full)
[ -z "$why" ] && pass faults/disk-full ||
	fail faults/disk-full "$why"

finish
