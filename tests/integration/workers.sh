#!/usr/bin/env bash
# Several `cdscan scan` workers sharing one run through PostgreSQL (issue 3
# item 5): claims with FOR UPDATE SKIP LOCKED, a dead worker's batch taken
# over. One line per test: "PASS workers/NAME" or "FAIL workers/NAME: why".
#
# The delegations all point at the test world's silent address
# (127.0.10.99, where nothing listens), so each costs a full scanner
# timeout and a run lasts long enough for three workers to share it; no
# DNS server is needed. A real throwaway PostgreSQL (tests/pg.sh) holds
# the registry; it is stopped on exit. CDSCAN=PATH tests another binary.
set -uo pipefail
cd "$(dirname "$0")/../.."
CDSCAN=${CDSCAN:-$(pwd)/cdscan}
. tests/lib.sh
. tests/pg.sh
. tests/pipeline/lib.sh

need_root
need_cmd psql
[ -n "$(pg_bindir)" ] || { fail workers "PostgreSQL is not installed"; finish; }

N=${N_WORKER_ZONES:-300}
T=$(mktemp -d /tmp/cdscan-workers.XXXXXX)
chmod 755 "$T" # initdb runs as postgres
PGD=$T/pg
W=
on_exit "pg_stop '$PGD'; rm -rf '$T'"

pg_start "$PGD" >"$T/pg.log" 2>&1 ||
	{ fail workers/setup "PostgreSQL: $(tail -n 3 "$T/pg.log")"; finish; }

# 150 ms + 300 ms per delegation, four at a time, four per batch: about
# 300 delegations in 10 s for three workers. The lease is short so that
# a dead worker's claims lapse within the test.
CONF=$T/cdscan.yaml
pl_config "$CONF" scanner.timeout=150ms scanner.retries=1 scan.lease=2s \
	scan.concurrency=4 scan.batch-size=4
# the same with a lease far longer than the test: only the release of a
# dead pid's claims can finish the run in time
LONG=$T/long-lease.yaml
pl_config "$LONG" scanner.timeout=150ms scanner.retries=1 scan.lease=10m \
	scan.concurrency=4 scan.batch-size=4

slow_zone w "$N" >"$T/w.zone"
if out=$(timeout 60 "$CDSCAN" -c "$CONF" init 2>&1) &&
   out=$(timeout 60 "$CDSCAN" -c "$CONF" import "$T/w.zone" --origin test. 2>&1) &&
   [ "$(sql 'SELECT count(*) FROM registry.domain')" = "$N" ]; then
	pass workers/setup
else
	fail workers/setup "init/import: $out"
	finish
fi

# start K workers with CONFIG and ARGS; their pids in WPIDS
start_workers() {
	local k=$1 conf=$2 i
	shift 2
	WPIDS=()
	for i in $(seq "$k"); do
		"$CDSCAN" -c "$conf" scan "$@" >"$T/worker$i.out" 2>&1 &
		WPIDS+=($!)
	done
}

# wait for every worker in WPIDS (at most SECS); print why any failed
reap_workers() {
	local secs=$1 i
	for i in "${!WPIDS[@]}"; do
		reap "${WPIDS[$i]}" "$secs" || { echo "worker $((i + 1)) still running after ${secs}s"; continue; }
		[ "$REAPED_RC" = 0 ] ||
			echo "worker $((i + 1)) exit $REAPED_RC: $(tail -n 2 "$T/worker$((i + 1)).out")"
	done
}

t_three_workers() {
	local runs0 run start
	runs0=$(sql "SELECT count(*) FROM cdscan.run")
	start=$(date +%s.%N)
	start_workers 3 "$CONF" --all
	reap_workers 120
	[ "$(sql "SELECT count(*) FROM cdscan.run")" = $((runs0 + 1)) ] ||
		{ echo "$(( $(sql "SELECT count(*) FROM cdscan.run") - runs0 )) runs, expected one shared run"; return; }
	run=$(last_run false)
	run_once_why "$run"
	# each worker is in cdscan.worker with its own share, and the shares
	# add up to the run
	[ "$(sql "SELECT count(*) FROM cdscan.worker WHERE run_id = $run AND scanned > 0")" = 3 ] ||
		echo "workers that scanned: $(sql "SELECT string_agg(worker || '=' || scanned, ' ') FROM cdscan.worker WHERE run_id = $run")"
	[ "$(sql "SELECT sum(scanned) FROM cdscan.worker WHERE run_id = $run")" = "$N" ] ||
		echo "the workers' counts add up to $(sql "SELECT sum(scanned) FROM cdscan.worker WHERE run_id = $run"), not $N"
	[ "$(sql "SELECT count(DISTINCT worker) FROM cdscan.scan WHERE run_id = $run")" = 3 ] ||
		echo "scans name $(sql "SELECT count(DISTINCT worker) FROM cdscan.scan WHERE run_id = $run") workers, expected 3"
	echo "# three workers: $N delegations in $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')s;" \
		"shares $(sql "SELECT string_agg(scanned::text, '/' ORDER BY worker) FROM cdscan.worker WHERE run_id = $run")" >&2
}
why=$(t_three_workers)
[ -z "$why" ] && pass workers/three-share-one-run || fail workers/three-share-one-run "$why"

# claims of the worker with pid P in RUN (workers are "host:pid")
claims_of() {
	sql "SELECT i.domain FROM cdscan.run_batch b, unnest(b.domains) AS i(domain)
	     WHERE b.run_id = $1
	     AND b.state = 'claimed' AND b.worker LIKE '%:$2' AND NOT EXISTS (
	      SELECT 1 FROM cdscan.scan s WHERE s.run_id = b.run_id
	      AND s.domain = i.domain) ORDER BY i.domain"
}
_has_claims() { [ -n "$(claims_of "$1" "$2")" ]; }
_run_after() { [ "$(last_run false)" -gt "$1" ]; }

t_killed_worker() {
	local run0 run victim held taken
	run0=$(last_run false)
	start_workers 3 "$CONF" --all
	victim=${WPIDS[0]}
	wait_for 30 _run_after "$run0" || { echo "no run started"; reap_workers 5; return; }
	run=$(last_run false)
	# kill it while it holds a batch, after some of the run is done
	wait_for 30 _has_claims "$run" "$victim" ||
		{ echo "worker $victim never held a claim"; reap_workers 60; return; }
	held=$(claims_of "$run" "$victim")
	kill -9 "$victim"
	reap "$victim" 5
	WPIDS=("${WPIDS[@]:1}")
	reap_workers 120
	run_once_why "$run"
	# what it held was scanned by the others (a claim it recorded in the
	# moment between our look and the kill is its own)
	taken=$(sql "SELECT count(*) FROM cdscan.scan WHERE run_id = $run
	             AND worker NOT LIKE '%:$victim'
	             AND domain IN ($(sed "s/.*/'&'/" <<<"$held" | paste -sd,))")
	[ "$taken" -ge 1 ] ||
		echo "none of the $(wc -l <<<"$held") delegations the killed worker held was taken over"
	echo "# killed worker: held $(wc -l <<<"$held"), taken over $taken" >&2
}
why=$(t_killed_worker)
[ -z "$why" ] && pass workers/killed-worker-batch-taken-over || fail workers/killed-worker-batch-taken-over "$why"

# A worker killed on this host, then one more started with a lease of ten
# minutes: it finds the dead pid's claims, gives them back at once and
# finishes the run well before the lease would have lapsed.
t_dead_pid_released() {
	local run0 run p held domains
	domains=$(seq -f 'w%03g.test.' 1 40)
	run0=$(last_run false)
	"$CDSCAN" -c "$LONG" scan $domains >"$T/dead.out" 2>&1 &
	p=$!
	wait_for 30 _run_after "$run0" || { echo "no run started: $(tail -n 2 "$T/dead.out")"; kill -9 $p; return; }
	run=$(last_run false)
	wait_for 30 _has_claims "$run" "$p" || { echo "worker $p never held a claim"; kill -9 $p; return; }
	kill -9 "$p"
	reap "$p" 5
	held=$(claims_of "$run" "$p" | wc -l)
	[ "$held" -ge 1 ] || { echo "the killed worker held nothing"; return; }
	"$CDSCAN" -c "$LONG" scan $domains >"$T/dead2.out" 2>&1 &
	reap $! 60 || { echo "the second worker did not finish in 60 s (lease 10 min)"; return; }
	[ "$REAPED_RC" = 0 ] || { echo "second worker exit $REAPED_RC: $(tail -n 2 "$T/dead2.out")"; return; }
	[ "$(sql "SELECT count(*) FROM cdscan.scan WHERE run_id = $run")" = 40 ] &&
	[ "$(sql "SELECT state FROM cdscan.run WHERE id = $run")" = done ] ||
		echo "run $run: $(sql "SELECT count(*) FROM cdscan.scan WHERE run_id = $run") of 40 scanned, $(sql "SELECT state FROM cdscan.run WHERE id = $run")"
}
why=$(t_dead_pid_released)
[ -z "$why" ] && pass workers/dead-pid-claims-released || fail workers/dead-pid-claims-released "$why"

finish
