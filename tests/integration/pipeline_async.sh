#!/usr/bin/env bash
# `cdscan scan` with the database off its event loop (issue 3 item 7): the
# scan goes on while a change transaction waits, and slow change
# transactions still leave every delegation scanned once and every change
# applied once.
# One line per test: "PASS pipeline_async/NAME" or "FAIL ...: why".
#
# A real PostgreSQL (tests/pg.sh) and the DNS test world (tests/world):
# the changes are real (KSK and algorithm rollovers, a delete),
# the slowness is the database's own (a lock, a trigger that sleeps).
# CDSCAN=PATH tests another binary; KEEP=1 keeps the world and cluster.
set -uo pipefail
cd "$(dirname "$0")/../.."
CDSCAN=${CDSCAN:-$(pwd)/cdscan}
. tests/lib.sh
. tests/pg.sh
. tests/pipeline/lib.sh

need_root
need_cmd psql nsd knotd unbound ldns-keygen ldns-key2ds
[ -n "$(pg_bindir)" ] || { fail pipeline_async "PostgreSQL is not installed"; finish; }

SCENARIOS="alg7-to-13 steady ksk-rollover delete-all cdnskey-only sha1-and-sha256"
# the change of the lock test
FIRST=alg7-to-13.test.
N_CHANGES=4 # the slow-change test: all but steady and, refused as a
            # replay after the lock test's change, $FIRST
N_SLOW=${N_SLOW:-60}

T=$(mktemp -d /tmp/cdscan-async.XXXXXX)
chmod 755 "$T" # initdb runs as postgres
W=$T/world
PGD=$T/pg
LOCKER=
if [ "${KEEP:-0}" = 1 ]; then
	on_exit "echo '# kept: world $W, PostgreSQL $PGD'"
else
	on_exit "[ -n \"\$LOCKER\" ] && kill \$LOCKER 2>/dev/null; tests/world/stop '$W'; pg_stop '$PGD'; rm -rf '$T'"
fi

tests/world/build "$W" $SCENARIOS >"$T/build.log" 2>&1 ||
	{ fail pipeline_async/setup "world build: $(tail -n 3 "$T/build.log")"; finish; }
tests/world/start "$W" >"$T/start.log" 2>&1 ||
	{ fail pipeline_async/setup "world start: $(tail -n 3 "$T/start.log")"; finish; }
pg_start "$PGD" >"$T/pg.log" 2>&1 ||
	{ fail pipeline_async/setup "PostgreSQL: $(tail -n 3 "$T/pg.log")"; finish; }

# The world's delegations and N_SLOW at the silent address (each a full
# timeout), few at a time, in small batches: the run lasts long enough
# to watch, and results are written in many small transactions.
CONF=$T/cdscan.yaml
pl_config "$CONF" scanner.timeout=150ms scanner.retries=1 scan.lease=2s \
	scan.concurrency=4 scan.batch-size=4
cds() { timeout -k 5 60 "$CDSCAN" -c "$CONF" "$@"; }
# z-slow sorts after the scenarios: the change is in the first batch.
{ cat "$W/tld/test.in"; slow_zone z-slow "$N_SLOW" | sed -n '5,$p'; } >"$T/big.zone"
N_ALL=$(( $(echo $SCENARIOS | wc -w) + N_SLOW ))

setup_db() {
	local out
	out=$(cds init 2>&1) || { echo "init: $out"; return 1; }
	_pl_sql_helpers
}
reimport() {
	local out
	out=$(cds import "$T/big.zone" --origin test. 2>&1) || { echo "import: $out"; return 1; }
	[ "$(sql 'SELECT count(*) FROM registry.domain')" = "$N_ALL" ] ||
		{ echo "import: $(sql 'SELECT count(*) FROM registry.domain') domains, expected $N_ALL"; return 1; }
	snapshot_ds
}
if why=$(setup_db && reimport); then
	pass pipeline_async/setup
else
	fail pipeline_async/setup "$why"
	finish
fi

# every change of RUN applied exactly once, with its audit row
changes_why() {
	local run=$1 want=$2 n
	n=$(sql "SELECT count(*) FROM cdscan.audit WHERE run_id = $run")
	[ "$n" = "$want" ] || echo "$n audit rows in run $run, expected $want;" \
		"$(sql "SELECT string_agg(domain || '=' || verdict || '/' || reason || '/' || coalesce(outcome, '-'), ' ')
		        FROM cdscan.scan WHERE run_id = $run AND domain NOT LIKE 'z-slow%'")"
	n=$(sql "SELECT count(*) FROM cdscan.scan WHERE run_id = $run AND outcome = 'applied'")
	[ "$n" = "$want" ] || echo "$n applied scans in run $run, expected $want"
	audit_why "$run"
}

# ---- a change waiting for a lock does not stop the scan -----------------

# cdscan.apply_ds() locks the domain's registry row. A session of the
# test holds that lock (as the registry's own tools may, editing the
# domain), so the change waits; meanwhile the other delegations must
# still be probed and recorded. Scanning only one changing zone and the
# slow delegations, there is one change: on the loop's thread it would
# stop everything until the lock goes.
scans_of() { sql "SELECT count(*) FROM cdscan.scan WHERE run_id = $1"; }
change_waits() {
	[ "$(sql "SELECT count(*) FROM pg_stat_activity
	          WHERE wait_event_type = 'Lock' AND query ILIKE '%apply_ds%'")" -ge 1 ] 2>/dev/null
}
scans_beyond() { [ "$(scans_of "$1")" -ge "$2" ] 2>/dev/null; }

t_lock() {
	local run n0 rc names
	mkfifo "$T/lock.in"
	PGOPTIONS="-c client_min_messages=warning" psql -X -Atq <"$T/lock.in" >"$T/lock.out" 2>&1 &
	LOCKER=$!
	exec 7>"$T/lock.in"
	echo "BEGIN; SELECT 'locked' FROM registry.domain WHERE name = '$FIRST' FOR UPDATE;" >&7
	wait_for 10 grep -qx locked "$T/lock.out" || { echo "no lock: $(cat "$T/lock.out")"; return; }
	names=$(sql "SELECT string_agg(name, ' ') FROM registry.domain WHERE name LIKE 'z-slow%'")
	"$CDSCAN" -c "$CONF" scan $FIRST $names >"$T/lock-scan.out" 2>&1 &
	BG=$!
	wait_for 30 change_waits || { echo "the change never waited for the lock"; kill $BG; return; }
	run=$(sql "SELECT max(id) FROM cdscan.run")
	n0=$(scans_of "$run")
	# the change waits; twelve more delegations (three batches) are
	# probed and recorded meanwhile, without it
	if ! wait_for 30 scans_beyond "$run" $((n0 + 12)); then
		echo "only $(( $(scans_of "$run") - n0 )) delegations recorded in 30 s while a change waited"
	fi
	change_waits || echo "the change stopped waiting before the lock went"
	echo "COMMIT;" >&7
	exec 7>&-
	wait $LOCKER 2>/dev/null
	LOCKER=
	reap $BG 60
	rc=$REAPED_RC
	[ "$rc" = 0 ] || { echo "scan exit $rc: $(tail -n 3 "$T/lock-scan.out")"; return; }
	[ "$(sql "SELECT count(*) || ' ' || count(DISTINCT domain) FROM cdscan.scan WHERE run_id = $run")" = "$((N_SLOW + 1)) $((N_SLOW + 1))" ] ||
		echo "run $run: $(sql "SELECT count(*) FROM cdscan.scan WHERE run_id = $run") scans, expected $((N_SLOW + 1)), each once"
	[ "$(sql "SELECT state FROM cdscan.run WHERE id = $run")" = done ] || echo "run $run not done"
	[ "$(sql "SELECT string_agg(domain, ' ') FROM cdscan.audit WHERE run_id = $run")" = "$FIRST" ] ||
		echo "audit rows of run $run: not one for $FIRST"
	[ "$(sql "SELECT outcome FROM cdscan.scan WHERE run_id = $run AND domain = '$FIRST'")" = applied ] ||
		echo "$FIRST: not applied"
	audit_why "$run" 
}
why=$(t_lock)
[ -z "$why" ] && pass pipeline_async/scan-goes-on-while-a-change-waits ||
	fail pipeline_async/scan-goes-on-while-a-change-waits "$why"

# ---- slow change transactions -------------------------------------------

# A trigger makes every audit row cost 300 ms: each change transaction
# takes longer than the probes around it, results wait behind it (the
# transactions of one worker take turns on its cdscan.worker row), and
# the lease (2 s) must be renewed meanwhile. Every delegation is still
# recorded once and every change applied once.
t_slow_changes() {
	local run rc
	reimport || return
	sql "CREATE FUNCTION public.slow_audit() RETURNS trigger LANGUAGE plpgsql AS
	     \$\$ BEGIN PERFORM pg_sleep(0.3); RETURN NEW; END \$\$;
	     CREATE TRIGGER slow_audit BEFORE INSERT ON cdscan.audit
	     FOR EACH ROW EXECUTE FUNCTION public.slow_audit()" ||
		{ echo "cannot add the trigger"; return; }
	"$CDSCAN" -c "$CONF" scan --all >"$T/slow.out" 2>&1 &
	reap $! 120
	rc=$REAPED_RC
	sql "DROP TRIGGER slow_audit ON cdscan.audit"
	[ "$rc" = 0 ] || { echo "scan exit $rc: $(tail -n 3 "$T/slow.out")"; return; }
	run=$(last_run false)
	run_once_why "$run"
	changes_why "$run" $N_CHANGES
	grep -q " $N_CHANGES changes" "$T/slow.out" ||
		echo "the summary does not count $N_CHANGES changes: $(grep '^worker' "$T/slow.out")"
}
why=$(t_slow_changes)
[ -z "$why" ] && pass pipeline_async/slow-changes-applied-once ||
	fail pipeline_async/slow-changes-applied-once "$why"

# ---- the summary says what the window waited for ------------------------

# Recording a batch costs a second (a statement trigger on cdscan.scan),
# probing it much less (16 in flight, batches of 4): the results of three
# batches wait to be written and no probe starts until the database
# catches up. The worker's summary must say so: its
# window line counts the time it was held back by the database. A dry
# run, so that every result goes through the batch writes.
t_window_held() {
	local run rc held
	pl_config "$T/slowrec.yaml" scanner.timeout=150ms scanner.retries=1 \
		scan.lease=60s scan.concurrency=16 scan.batch-size=4
	sql "CREATE FUNCTION public.slow_scan() RETURNS trigger LANGUAGE plpgsql AS
	     \$\$ BEGIN PERFORM pg_sleep(1); RETURN NULL; END \$\$;
	     CREATE TRIGGER slow_scan AFTER INSERT ON cdscan.scan
	     FOR EACH STATEMENT EXECUTE FUNCTION public.slow_scan()" ||
		{ echo "cannot add the trigger"; return; }
	"$CDSCAN" -c "$T/slowrec.yaml" scan --all --dry-run >"$T/window.out" 2>&1 &
	reap $! 120
	rc=$REAPED_RC
	sql "DROP TRIGGER slow_scan ON cdscan.scan; DROP FUNCTION public.slow_scan()"
	[ "$rc" = 0 ] || { echo "scan exit $rc: $(tail -n 3 "$T/window.out")"; return; }
	run=$(last_run true)
	run_once_why "$run"
	held=$(sed -n 's/^  window: [0-9]* of 16 in flight on average; full [0-9.]* s, waiting for a claim [0-9.]* s, for the database \([0-9.]*\) s, nothing left to start [0-9.]* s$/\1/p' "$T/window.out")
	[ -n "$held" ] || { echo "no window line: $(grep -A1 '^worker' "$T/window.out")"; return; }
	awk -v h="$held" 'BEGIN { exit !(h >= 1.0) }' ||
		echo "held back by the database ${held} s, though each write took 1 s: $(grep 'window:' "$T/window.out")"
}
why=$(t_window_held)
[ -z "$why" ] && pass pipeline_async/summary-says-window-waited-for-database ||
	fail pipeline_async/summary-says-window-waited-for-database "$why"

# ---- SIGTERM: what is in flight is finished, the rest given back ----------

# The worker stops starting probes, waits for those in flight and for the
# database threads to record them, gives back what it claimed and never
# started, and says so (exit 1). Its summary counts what it recorded,
# and a rerun completes the run.
_scans_gt() { [ "$(sql "SELECT count(*) FROM cdscan.scan WHERE run_id > $1")" -ge "$2" ] 2>/dev/null; }
t_sigterm() {
	local run0 run n sum
	reimport || return
	# newer than every run so far, dry or not: the scans of an older dry
	# run counted here once, and the signal came before cdscan had its
	# handler (exit 143)
	run0=$(sql "SELECT coalesce(max(id), 0) FROM cdscan.run")
	"$CDSCAN" -c "$CONF" scan --all >"$T/term.out" 2>"$T/term.err" &
	BG=$!
	wait_for 30 _scans_gt "$run0" 10 || { kill -9 $BG; echo "no progress: $(tail -n 2 "$T/term.err")"; return; }
	kill -TERM $BG
	reap $BG 30
	[ "$REAPED_RC" = 1 ] || echo "exit $REAPED_RC after SIGTERM, expected 1"
	grep -q "finishing the" "$T/term.err" || echo "nothing said about finishing: $(tail -n 2 "$T/term.err")"
	grep -q "interrupted" "$T/term.out" || echo "no 'interrupted' in the output"
	run=$(last_run false)
	n=$(sql "SELECT count(*) FROM cdscan.scan WHERE run_id = $run")
	[ "$n" -lt "$N_ALL" ] || { echo "the run was over before the signal"; return; }
	[ "$(sql "SELECT count(*) FROM cdscan.run_batch WHERE run_id = $run AND state = 'claimed'")" = 0 ] ||
		echo "claims left behind by the stopped worker"
	# what was recorded whole is done; the rest went back, with exactly
	# what it lacks
	[ "$(sql "SELECT coalesce(sum(size), 0) FROM cdscan.run_batch WHERE run_id = $run AND state = 'done'")" -le "$n" ] ||
		echo "batches done and scans recorded differ"
	[ "$(sql "SELECT count(*) FROM cdscan.run_batch b, unnest(b.domains) AS i(domain)
	          WHERE b.run_id = $run AND b.state = 'done' AND NOT EXISTS (SELECT 1 FROM cdscan.scan s WHERE s.run_id = $run AND s.domain = i.domain)")" = 0 ] ||
		echo "a batch is done with a delegation not recorded"
	sum=$(sed -n 's/^worker [^ ]*: \([0-9]*\) delegations.*/\1/p' "$T/term.out")
	[ "$sum" = "$n" ] || echo "the summary counts '$sum' delegations, $n were recorded"
	audit_why "$run"
	"$CDSCAN" -c "$CONF" scan --all >"$T/term-rerun.out" 2>&1 &
	reap $! 60
	[ "$REAPED_RC" = 0 ] || { echo "rerun exit $REAPED_RC: $(tail -n 3 "$T/term-rerun.out")"; return; }
	[ "$(last_run false)" = "$run" ] || echo "the rerun started another run"
	run_once_why "$run"
	audit_why "$run"
}
why=$(t_sigterm)
[ -z "$why" ] && pass pipeline_async/sigterm-finishes-in-flight ||
	fail pipeline_async/sigterm-finishes-in-flight "$why"

# ---- the adaptive in-flight limit holds the window ----------------------

# scan.adaptive-window (core/window.h): a run starts with 64 in flight
# and grows from there, whatever scan.concurrency allows. 200 silent
# delegations claimed at once (each in flight for its timeout and retry)
# would all start at once with a fixed window of 400; here, at every
# judgement (the debug line), no more are in flight than the limit the
# judgement before allowed, the first not more than 64, and the limit
# grew (the loop waits on timeouts: idle) without passing 400.
t_adaptive() {
	local conf=$T/adaptive.yaml out=$T/adaptive.out err=$T/adaptive.err bad n run
	slow_zone z-slow 200 >"$T/slow200.zone"
	out=$(cds import "$T/slow200.zone" --origin test. 2>&1) || { echo "import: $out"; return; }
	out=$T/adaptive.out
	pl_config "$conf" scanner.timeout=300ms scanner.retries=1 \
		scan.concurrency=400 scan.batch-size=200 log.level=debug
	timeout -k 5 60 "$CDSCAN" -c "$conf" scan --all --dry-run >"$out" 2>"$err" ||
		{ echo "scan exit $?: $(tail -n 3 "$err")"; return; }
	n=$(grep -c 'scan: window busy' "$err")
	[ "$n" -ge 3 ] || { echo "$n judgements of the window in the debug log"; return; }
	bad=$(sed -n 's/.*scan: window busy .* in flight \([0-9]*\), limit \([0-9]*\)$/\1 \2/p' "$err" |
		awk 'BEGIN { prev = 64 }
		     { if ($1 > prev) print "in flight " $1 " past the limit " prev " at judgement " NR
		       if ($2 > 400) print "limit " $2 " past scan.concurrency 400"
		       if ($2 > max) max = $2; prev = $2 }
		     END { if (max <= 64) print "the limit never grew past 64" }')
	[ -z "$bad" ] || { echo "$bad" | head -n 3; return; }
	grep -q '^  in-flight limit: .*(scan.concurrency 400;' "$out" ||
		echo "no in-flight limit in the summary: $(grep -A4 '^worker' "$out" | head -n 5)"
	run=$(sql "SELECT max(id) FROM cdscan.run")
	[ "$(sql "SELECT count(DISTINCT domain) FROM cdscan.scan WHERE run_id = $run AND domain LIKE 'z-slow%'")" = 200 ] ||
		echo "run $run: not the 200 slow delegations recorded"
}
why=$(t_adaptive)
[ -z "$why" ] && pass pipeline_async/adaptive-window-limits-in-flight ||
	fail pipeline_async/adaptive-window-limits-in-flight "$why"

finish
