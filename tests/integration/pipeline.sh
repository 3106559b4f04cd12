#!/usr/bin/env bash
# The registry pipeline end to end (issue 3 item 8): a real PostgreSQL
# (tests/pg.sh) and the DNS test world (tests/world), driven only through
# the cdscan commands a registry runs: init, import, scan, export, status,
# check. One line per test: "PASS pipeline/NAME" or "FAIL pipeline/NAME: why".
#
# Registry state is read back with SQL from the schema v1 tables
# (registry.*, cdscan.run/scan/audit); expected DS sets come from the
# world's key files, never from cdscan's output. The world and the cluster
# are always stopped on exit. CDSCAN=PATH tests another binary;
# KEEP=1 keeps both running (their folders are printed).
set -uo pipefail
cd "$(dirname "$0")/../.."
CDSCAN=${CDSCAN:-$(pwd)/cdscan}
. tests/lib.sh
. tests/pg.sh
. tests/pipeline/lib.sh

need_root
need_cmd jq drill kdig psql nsd knotd unbound ldns-keygen ldns-key2ds
[ -n "$(pg_bindir)" ] || { fail pipeline "PostgreSQL is not installed"; finish; }

# Zones that ask for a change sort on both sides of the slow delegations
# (b-slowNNN), so that a run killed half-way has changes done and to do.
SCENARIOS="alg7-to-13 steady steady-cds ksk-rollover cdnskey-only
sha1-and-sha256 delete-all silent-server"
LOCKED=sha1-and-sha256.test.
OPTOUT=cdnskey-only.test.
ROLL=ksk-rollover.test.
N_SLOW=${N_SLOW:-100}

T=$(mktemp -d /tmp/cdscan-pipeline.XXXXXX)
chmod 755 "$T" # initdb runs as postgres
W=$T/world
PGD=$T/pg
if [ "${KEEP:-0}" = 1 ]; then
	on_exit "echo '# kept: world $W, PostgreSQL $PGD'"
else
	on_exit "tests/world/stop '$W'; pg_stop '$PGD'; rm -rf '$T'"
fi

# ---- set-up -------------------------------------------------------------

tests/world/build "$W" $SCENARIOS >"$T/build.log" 2>&1 ||
	{ fail pipeline/setup "world build: $(tail -n 3 "$T/build.log")"; finish; }
tests/world/start "$W" >"$T/start.log" 2>&1 ||
	{ fail pipeline/setup "world start: $(tail -n 3 "$T/start.log")"; finish; }
pg_start "$PGD" >"$T/pg.log" 2>&1 ||
	{ fail pipeline/setup "PostgreSQL: $(tail -n 3 "$T/pg.log")"; finish; }

# fast: the world's servers; slow: many delegations at the silent address,
# each one a full timeout, a few at a time, written in small batches
CONF=$T/cdscan.yaml
SLOW=$T/slow.yaml
pl_config "$CONF" scanner.timeout=400ms scanner.retries=1 scan.lease=2s
# (the reruns re-import the original DS sets and expect the same signed
# CDS to be acted on again: a replay, so replay protection is off)
pl_config "$SLOW" scanner.timeout=150ms scanner.retries=1 scan.lease=2s \
	scan.concurrency=4 scan.batch-size=4 policy.replay-protection=false

cds() { timeout -k 5 "${CDS_TIMEOUT:-60}" "$CDSCAN" -c "$CONF" "$@"; }

# what the parent held before any scan, and the same with the slow ones
cp "$W/tld/test.in" "$T/orig.zone"
{ cat "$T/orig.zone"; slow_zone b-slow "$N_SLOW" | sed -n '5,$p'; } >"$T/big.zone"
N_ORIG=$(echo $SCENARIOS | wc -w)

# the DS rdata of key K of zone Z, upper case: "TAG ALG DT HEX"
dsr() { awk '{ for (i = 1; i < NF; i++) if ($i == "DS") { print $(i+1), $(i+2), $(i+3), toupper($(i+4)); exit } }' "$W/keys/$1/$2.ds"; }
# a DS set as a sorted SQL array literal of those
ds_set() {
	local z=$1 k
	shift
	for k in "$@"; do dsr "$z" "$k"; done | sort |
		awk 'BEGIN { printf "{" } { printf "%s\"%s\"", (NR > 1 ? "," : ""), $0 } END { printf "}" }'
}
reg_ds() { sql "SELECT public.pl_set(ds) FROM cdscan.delegation WHERE name = '$1'"; }

setup_db() {
	local out
	out=$(cds init 2>&1) || { echo "init: $out"; return 1; }
	out=$(cds init 2>&1) || { echo "second init: $out"; return 1; }
	out=$(cds import "$T/orig.zone" --origin test. 2>&1) || { echo "import: $out"; return 1; }
	[ "$(sql 'SELECT count(*) FROM registry.domain')" = "$N_ORIG" ] ||
		{ echo "import: $(sql 'SELECT count(*) FROM registry.domain') domains, expected $N_ORIG"; return 1; }
	sql "UPDATE registry.domain SET statuses = '{serverUpdateProhibited}'
	     WHERE name = '$LOCKED';
	     UPDATE registry.domain SET optout = true WHERE name = '$OPTOUT'" ||
		return 1
	_pl_sql_helpers
}
if why=$(setup_db); then
	pass pipeline/init-import
else
	fail pipeline/init-import "$why"
	finish
fi
ROLL_BEFORE=$(ds_set ksk-rollover.test old)
ROLL_AFTER=$(ds_set ksk-rollover.test old new)
LOCKED_DS=$(reg_ds $LOCKED)
OPTOUT_DS=$(reg_ds $OPTOUT)

# ---- --dry-run: recorded, nothing applied ---------------------------------

t_dry_run() {
	local out rc run n
	snapshot_ds
	n=$(sql "SELECT count(*) FROM cdscan.audit")
	out=$(cds scan --all --dry-run 2>&1)
	rc=$?
	[ $rc = 0 ] || { echo "scan --dry-run exit $rc: $(tail -n 3 <<<"$out")"; return; }
	run=$(last_run true)
	[ "$run" != 0 ] || { echo "no dry run recorded"; return; }
	run_once_why "$run"
	[ "$(sql "SELECT count(*) FROM cdscan.scan WHERE run_id = $run AND NOT dry_run")" = 0 ] ||
		echo "scans of the dry run not marked dry_run"
	[ "$(sql "SELECT count(*) FROM cdscan.run WHERE dry_run = false")" = 0 ] ||
		echo "a run that is not dry was recorded"
	[ "$(sql "SELECT count(*) FROM cdscan.audit")" = "$n" ] ||
		echo "audit rows were written"
	[ "$(sql "SELECT count(*) FROM cdscan.delegation d JOIN public.pl_snap p
	          USING (name) WHERE public.pl_set(d.ds) <> p.ds")" = 0 ] ||
		echo "registry.ds changed"
	# the rollover would have been an update: the dry run saw it
	[ "$(sql "SELECT verdict FROM cdscan.scan WHERE run_id = $run AND domain = '$ROLL'")" = update ] ||
		echo "$ROLL: verdict is not update in the dry run"
}
why=$(t_dry_run)
[ -z "$why" ] && pass pipeline/dry-run-changes-nothing || fail pipeline/dry-run-changes-nothing "$why"

# ---- the round trip: import -> scan -> export -> the world validates ----

t_scan_applies() {
	local out rc run
	snapshot_ds
	out=$(cds scan --all 2>&1)
	rc=$?
	[ $rc = 0 ] || { echo "scan exit $rc: $(tail -n 3 <<<"$out")"; return; }
	run=$(last_run false)
	run_once_why "$run"
	audit_why "$run"
	[ "$(reg_ds $ROLL)" = "$ROLL_AFTER" ] ||
		echo "$ROLL: registry DS $(reg_ds $ROLL), expected $ROLL_AFTER"
	[ "$(sql "SELECT public.pl_set(before_ds)::text || ' ' || public.pl_set(after_ds)::text
	          FROM cdscan.audit WHERE run_id = $run AND domain = '$ROLL'")" = "$ROLL_BEFORE $ROLL_AFTER" ] ||
		echo "$ROLL: no audit row $ROLL_BEFORE -> $ROLL_AFTER in run $run"
	[ "$(sql "SELECT count(*) FROM cdscan.audit WHERE run_id = $run
	          AND domain = '$ROLL' AND evidence IS NOT NULL")" = 1 ] ||
		echo "$ROLL: the audit row carries no evidence"
	[ "$(sql "SELECT outcome FROM cdscan.scan WHERE run_id = $run AND domain = '$ROLL'")" = applied ] ||
		echo "$ROLL: scan outcome is not applied"
}
why=$(t_scan_applies)
[ -z "$why" ] && pass pipeline/scan-applies-rollover || fail pipeline/scan-applies-rollover "$why"
RUN1=$(last_run false)

t_export_reparent() {
	local rc i got want
	cds export --origin test. >"$T/export.zone" 2>"$T/export.err"
	rc=$?
	[ $rc = 0 ] || { echo "export exit $rc: $(head -n 3 "$T/export.err")"; return; }
	got=$(awk 'tolower($1) == "ksk-rollover.test." && $(NF-4) == "DS" { print $(NF-3), $(NF-2), $(NF-1), toupper($NF) }' \
		"$T/export.zone" | sort | paste -sd,)
	want=$( (dsr ksk-rollover.test old; dsr ksk-rollover.test new) | sort | paste -sd,)
	[ "$got" = "$want" ] || { echo "export DS of $ROLL: '$got', expected '$want'"; return; }
	tests/world/reparent "$W" "$T/export.zone" >"$T/reparent.log" 2>&1 ||
		{ echo "reparent: $(tail -n 2 "$T/reparent.log")"; return; }
	# unbound caches for at most 5 s (cache-max-ttl): wait for the new DS
	# set, validated (AD), then for the child to validate through it
	for i in $(seq 100); do
		got=$(kdig +dnssec @127.0.10.53 DS $ROLL 2>/dev/null)
		if grep -q '^;; Flags:.* ad' <<<"$got" &&
		   [ "$(awk '$1 !~ /^;/ && $4 == "DS" { print $5, $6, $7, toupper($8) }' <<<"$got" | sort | paste -sd,)" = "$want" ]; then
			break
		fi
		sleep 0.2
	done
	[ "$i" -lt 100 ] || { echo "the resolver does not serve the new DS set validated: $(grep -E 'Flags|IN.DS' <<<"$got" | tr '\n' ' ')"; return; }
	kdig +dnssec @127.0.10.53 SOA $ROLL 2>/dev/null | grepq '^;; Flags:.* ad' ||
		{ echo "$ROLL does not validate (no AD) under the new DS set"; return; }
	got=$(cds check $ROLL --json 2>&1 | jq -r '.ds.decision + " " + .ds.reason' 2>/dev/null)
	[ "$got" = "unchanged same-as-current" ] ||
		echo "cdscan check $ROLL after the reparent: '$got', expected 'unchanged same-as-current'"
}
why=$(t_export_reparent)
[ -z "$why" ] && pass pipeline/export-reparent-validates || fail pipeline/export-reparent-validates "$why"

# ---- a locked and an opted-out domain -----------------------------------

t_locked_optout() {
	local d out
	for d in locked opted-out; do
		if [ $d = locked ]; then
			set -- "$LOCKED" locked "$LOCKED_DS"
		else
			set -- "$OPTOUT" opted-out "$OPTOUT_DS"
		fi
		out=$(sql "SELECT verdict || ' ' || reason FROM cdscan.scan
		           WHERE run_id = $RUN1 AND domain = '$1'")
		[ "$out" = "rejected $2" ] || echo "$1: scan says '$out', expected 'rejected $2'"
		[ "$(reg_ds "$1")" = "$3" ] || echo "$1: registry DS changed to $(reg_ds "$1")"
		[ "$(sql "SELECT count(*) FROM cdscan.audit WHERE domain = '$1' AND actor <> 'import'")" = 0 ] ||
			echo "$1: an audit row was written"
		out=$(cds status "$1" 2>&1) || echo "$1: status exit $?: $(head -n 2 <<<"$out")"
		grep -q -- "$2" <<<"$out" || echo "$1: status does not say $2"
		out=$(cds status "$1" --json 2>&1) || echo "$1: status --json exit $?"
		jq -e . >/dev/null 2>&1 <<<"$out" || echo "$1: status --json is not JSON"
		jq -r '.. | strings' <<<"$out" 2>/dev/null | grepq -x -- "$2" ||
			echo "$1: status --json has no value '$2'"
	done
	# and they do ask for a change: `cdscan check`, which knows nothing of
	# the registry's flags, calls it an update
	for d in $LOCKED $OPTOUT; do
		out=$(cds check "$d" --json 2>/dev/null | jq -r .ds.decision 2>/dev/null)
		[ "$out" = update ] || echo "$d: check says '$out', not update: it asks for no change"
	done
}
why=$(t_locked_optout)
[ -z "$why" ] && pass pipeline/locked-optout-left-alone || fail pipeline/locked-optout-left-alone "$why"

# ---- a second scan changes nothing ----------------------------------------

t_second_scan() {
	local out rc run n bad
	snapshot_ds
	n=$(sql "SELECT count(*) FROM cdscan.audit")
	out=$(cds scan --all 2>&1)
	rc=$?
	[ $rc = 0 ] || { echo "scan exit $rc: $(tail -n 3 <<<"$out")"; return; }
	run=$(last_run false)
	[ "$run" != "$RUN1" ] || { echo "no new run"; return; }
	run_once_why "$run"
	[ "$(sql "SELECT count(*) FROM cdscan.audit")" = "$n" ] || echo "new audit rows"
	audit_why "$run"
	bad=$(sql "SELECT string_agg(domain || '=' || verdict, ' ') FROM cdscan.scan
	           WHERE run_id = $run
	           AND verdict NOT IN ('unchanged', 'rejected', 'pending')")
	[ -z "$bad" ] || echo "decisions that would change something: $bad"
	[ "$(sql "SELECT verdict || ' ' || reason FROM cdscan.scan
	          WHERE run_id = $run AND domain = '$ROLL'")" = "unchanged same-as-current" ] ||
		echo "$ROLL is not same-as-current"
}
why=$(t_second_scan)
[ -z "$why" ] && pass pipeline/second-scan-changes-nothing || fail pipeline/second-scan-changes-nothing "$why"

# ---- SIGKILL mid-run, then rerun ----------------------------------------

# Re-import the original parent plus the slow delegations: the changes
# are to do again, and the run lasts long enough to be interrupted.
reimport() {
	local out
	out=$(cds import "$T/big.zone" --origin test. 2>&1) || { echo "import: $out"; return 1; }
	[ "$(sql 'SELECT count(*) FROM registry.domain')" = $((N_ORIG + N_SLOW)) ] ||
		{ echo "import: $(sql 'SELECT count(*) FROM registry.domain') domains"; return 1; }
	[ "$(reg_ds $ROLL)" = "$ROLL_BEFORE" ] || { echo "import did not restore $ROLL"; return 1; }
	snapshot_ds
}

# scans recorded in runs newer than RUN0: at least K?
_progress() {
	[ "$(sql "SELECT count(*) FROM cdscan.scan WHERE run_id > $1")" -ge "$2" ] 2>/dev/null
}

# start a slow scan in the background; wait until K delegations are done
slow_scan_until() {
	local k=$1 run0
	run0=$(last_run false)
	"$CDSCAN" -c "$SLOW" scan --all >"$T/bg.out" 2>"$T/bg.err" &
	BG=$!
	if ! wait_for 60 _progress "$run0" "$k"; then
		kill -9 $BG 2>/dev/null
		echo "the scan did not record $k delegations in 60 s: $(tail -n 2 "$T/bg.err")"
		return 1
	fi
}

# the same selection again, in the foreground, bounded
rerun_slow() {
	"$CDSCAN" -c "$SLOW" scan --all >"$T/rerun.out" 2>&1 &
	reap $! 120
}

t_sigkill() {
	local run n0 n1 start
	reimport || return
	n0=$(last_run false)
	slow_scan_until 10 || return
	kill -9 $BG
	reap $BG 5
	run=$(last_run false)
	[ "$run" != "$n0" ] || { echo "no run started"; return; }
	n1=$(sql "SELECT count(*) FROM cdscan.scan WHERE run_id = $run")
	[ "$(sql "SELECT state FROM cdscan.run WHERE id = $run")" = running ] && [ "$n1" -lt $((N_ORIG + N_SLOW)) ] ||
		{ echo "the run was over before the kill ($n1 scans): make it slower"; return; }
	# killed: whatever it recorded is whole already
	audit_why "$run"
	start=$(date +%s)
	rerun_slow
	[ "$REAPED_RC" = 0 ] || { echo "rerun exit $REAPED_RC: $(tail -n 3 "$T/rerun.out")"; return; }
	[ "$(last_run false)" = "$run" ] || echo "the rerun started run $(last_run false) instead of continuing $run"
	run_once_why "$run"
	audit_why "$run"
	[ "$(reg_ds $ROLL)" = "$ROLL_AFTER" ] || echo "$ROLL not rolled by the continued run"
	echo "# sigkill: killed after $n1 of $((N_ORIG + N_SLOW)), rerun took $(( $(date +%s) - start ))s" >&2
}
why=$(t_sigkill)
[ -z "$why" ] && pass pipeline/sigkill-then-rerun || fail pipeline/sigkill-then-rerun "$why"

# ---- PostgreSQL stopped mid-run --------------------------------------------

t_pg_stopped() {
	local run rc n1
	reimport || return
	slow_scan_until 10 || return
	run=$(last_run false)
	n1=$(sql "SELECT count(*) FROM cdscan.scan WHERE run_id = $run")
	pg_stop "$PGD"
	reap $BG 60
	rc=$REAPED_RC
	pg_start "$PGD" >>"$T/pg.log" 2>&1 || { echo "PostgreSQL did not start again"; return; }
	[ "$rc" = 1 ] || echo "scan with PostgreSQL gone: exit $rc, expected 1"
	grep -qiE 'database|postgres|connection|server closed' "$T/bg.err" ||
		echo "no message about the database: '$(tail -n 2 "$T/bg.err")'"
	[ "$n1" -lt $((N_ORIG + N_SLOW)) ] || { echo "the run was over before PostgreSQL stopped"; return; }
	rerun_slow
	[ "$REAPED_RC" = 0 ] || { echo "rerun exit $REAPED_RC: $(tail -n 3 "$T/rerun.out")"; return; }
	[ "$(last_run false)" = "$run" ] || echo "the rerun started run $(last_run false) instead of continuing $run"
	run_once_why "$run"
	audit_why "$run"
	echo "# pg-stopped: message: $(grep -iE 'database|postgres|connection' "$T/bg.err" | head -n 1)" >&2
}
why=$(t_pg_stopped)
[ -z "$why" ] && pass pipeline/postgres-stopped-then-rerun || fail pipeline/postgres-stopped-then-rerun "$why"

# ---- prune: old scans go, every report reads the same ----------------------
# After the runs above, a prune two days on (--now) with --older-than 1d
# takes every scan that nothing reads any more (keeping one newest scan
# that was not a dry run: notify-rejected-after 1); status and history of
# every delegation, and the runs, read the same before and after.

reports() {
	local d
	for d in $(sql "SELECT name FROM cdscan.delegation ORDER BY name"); do
		cds status "$d" --json && cds history "$d" --json
	done
	cds runs --json --limit 100
}
t_prune() {
	local later out before n0 n1 dry
	later=$(( $(date +%s) + 2 * 86400 ))
	out=$(cds prune 2>&1) && { echo "prune with no age: exit 0"; return; }
	grep -q -- "--older-than" <<<"$out" || echo "prune with no age says: $out"
	out=$(cds prune --older-than soon 2>&1) && echo "--older-than soon: exit 0"
	grep -q "scan.keep" <<<"$out" || echo "--older-than soon says: $out"
	before=$(reports 2>&1)
	n0=$(sql "SELECT count(*) FROM cdscan.scan")
	dry=$(cds --now "$later" prune --older-than 1d --dry-run --json \
		--set policy.notify-rejected-after=1) ||
		{ echo "dry run failed: $dry"; return; }
	[ "$(sql "SELECT count(*) FROM cdscan.scan")" = "$n0" ] || echo "the dry run deleted"
	jq -e '.dry_run and .deleted == 0 and .scans > 0 and .server_rows > 0
		and .runs > 0 and .batches >= .runs' \
		<<<"$dry" >/dev/null || echo "dry run: $dry"
	out=$(cds --now "$later" prune --older-than 1d --json \
		--set policy.notify-rejected-after=1) ||
		{ echo "prune failed: $out"; return; }
	jq -e --argjson d "$dry" '(.dry_run | not) and .deleted == $d.scans
		and .server_rows == $d.server_rows and .runs == $d.runs' \
		<<<"$out" >/dev/null ||
		echo "prune: $out after the dry run's $dry"
	n1=$(sql "SELECT count(*) FROM cdscan.scan")
	[ "$n1" = $((n0 - $(jq .deleted <<<"$out"))) ] || echo "scans: $n0 before, $n1 after, $out"
	[ "$(sql "SELECT count(*) FROM cdscan.scan_server v WHERE NOT EXISTS
	          (SELECT 1 FROM cdscan.scan s WHERE s.id = v.scan_id)")" = 0 ] ||
		echo "server rows left without their scan"
	[ "$(sql "SELECT count(*) FROM cdscan.run_batch b JOIN cdscan.run r
	          ON r.id = b.run_id WHERE r.state = 'done'")" = 0 ] ||
		echo "finished runs kept their batches"
	[ "$(reports 2>&1)" = "$before" ] ||
		echo "reports changed: $(diff <(echo "$before") <(reports 2>&1) | head -n 10)"
	out=$(cds --now "$later" prune --older-than 1d \
		--set policy.notify-rejected-after=1) || echo "second prune failed: $out"
	[[ $out == "deleted 0 scans "* ]] || echo "second prune: $out"
	echo "# prune: $n0 scans, $n1 left" >&2
}
why=$(t_prune)
[ -z "$why" ] && pass pipeline/prune-keeps-what-reports-read || fail pipeline/prune-keeps-what-reports-read "$why"

finish
