#!/bin/bash
# make bench: cdscan's full pipeline against a world of N delegations served
# by one Knot, with dnsperf against the same Knot as the ceiling (measured
# before the loopback scans and after them: the report takes the higher);
# then the same at 30 ms RTT / 1% loss inside a network namespace; then
# peak RSS at a second size for the slope. Next to dnsperf, the scanner's query engine
# alone (tests/bench/enginebench.c) against the same Knot. Where datagrams
# are lost is counted per socket (the drops column of /proc/net/udp):
# Knot's, the scanner's, the relay's. See docs/BENCH.md.
#
# Environment (all optional):
#   N=100000          delegations of the loopback run
#   N_LAT=$N          delegations of the latency run (0 skips it)
#   N_RSS=300000      delegations of the second RSS point (0 skips it)
#   OUT=/tmp/cdscan-bench   work folder (worlds, PostgreSQL, logs, results)
#   CDSCAN=./cdscan   binary under test; BUILD=build (benchworld, delayrelay)
#   PORT=5300         DNS port of the bench servers (not 53: the test world
#                     may hold 127.0.10.x:53 meanwhile)
#   INFLIGHT=6000 CONCURRENCY=3000 BATCH=1000 RATE_PER_SERVER=0
#                     scanner.max-inflight, scan.concurrency, scan.batch-size,
#                     scanner.rate-per-server of the bench configuration
#                     (a window of 3000: at 1000 the 30 ms rescan kept it
#                     full, at 2000 the 30 ms first scan half its time;
#                     loopback never fills it, docs/BENCH.md)
#   DNSPERF_SECS=15   length of the ceiling measurement (the best setting)
#   CEILING_GRID="1:1:20 1:3:30 ..."  dnsperf settings tried, each as
#                     THREADS:SOCKETS:OUTSTANDING, for CEILING_PROBE_SECS=4
#   LAT_LOSS=5        loss of the latency run, per mille each way (5: the
#                     issue's 1% per round trip; 0 shows the delay alone)
#   TIME_LIMIT=1800   seconds; the whole bench is stopped after that (each
#                     long step also has its own timeout)
# Needs root (network namespace, PostgreSQL), knotd, dnsperf, GNU time.
set -euo pipefail

N=${N:-100000}
N_LAT=${N_LAT:-$N}
N_RSS=${N_RSS:-300000}
OUT=${OUT:-/tmp/cdscan-bench}
BUILD=$(realpath "${BUILD:-build}")
CDSCAN=$(realpath "${CDSCAN:-./cdscan}")
BENCHWORLD=$(realpath "$BUILD/tests/tools/benchworld")
RELAY=$(realpath "$BUILD/tests/tools/delayrelay")
NFQDELAY=$(realpath "$BUILD/tests/tools/nfqdelay")
UDPDROPS=$(realpath "$BUILD/tests/tools/udpdrops")
PORT=${PORT:-5300}
DNSPERF_SECS=${DNSPERF_SECS:-15}
CEILING_PROBE_SECS=${CEILING_PROBE_SECS:-4}
CEILING_GRID=${CEILING_GRID:-1:1:20 1:3:30 1:5:50 1:10:100 1:20:500 1:50:2000 2:10:100 2:50:2000}
LAT_LOSS=${LAT_LOSS:-5}
TIME_LIMIT=${TIME_LIMIT:-1800}
NS=cdsbench$$
VETH=cdsb$$
SRC=$(cd "$(dirname "$0")/../.." && pwd)

. "$SRC/tests/pg.sh"
. "$SRC/tests/bench/knot.sh"

[ "$(id -u)" = 0 ] || { echo "bench: needs root" >&2; exit 1; }
for c in knotd knotc dnsperf /usr/bin/time ip "$CDSCAN" "$BENCHWORLD" "$RELAY" "$NFQDELAY" "$UDPDROPS"; do
	command -v "$c" >/dev/null || { echo "bench: missing $c (tests/deps bench; make tests)" >&2; exit 1; }
done
[ -z "${PERF:-}" ] || command -v perf >/dev/null ||
	{ echo "bench: PERF is set and perf is missing (linux-perf)" >&2; exit 1; }
if "$CDSCAN" scan --help 2>&1 | grep -q 'not built yet'; then
	echo "bench: this cdscan has no scan command yet" >&2
	exit 1
fi

rm -rf "$OUT"
mkdir -p "$OUT"
RES=$OUT/results.tsv
# The engine-alone ceiling, built against this build's library.
ENGINEBENCH=$OUT/enginebench
PKGS="ldns getdns libevent yaml-0.1 libcrypto libssl libxml-2.0 libpq"
cc -O2 -std=c11 -D_GNU_SOURCE -I"$SRC" $(pkg-config --cflags $PKGS) \
	-o "$ENGINEBENCH" "$SRC/tests/bench/enginebench.c" "$BUILD/libcdscan.a" \
	-l:libgetdns_ex_event.a $(pkg-config --libs $PKGS) -lm ||
	{ echo "bench: cannot build enginebench" >&2; exit 1; }
KNOT_PORT=$PORT
: >"$RES"
DELAY_PID=""

cleanup() {
	set +e
	[ -n "${pp:-}" ] && kill -INT "$pp" 2>/dev/null # perf record (PERF)
	[ -n "$DELAY_PID" ] && kill "$DELAY_PID" 2>/dev/null
	for w in "$OUT"/w-*; do
		[ -d "$w" ] || continue
		if [ -f "$w/netns" ]; then
			bench_knot_stop "$w" "ip netns exec $NS"
		else
			bench_knot_stop "$w"
		fi
	done
	pg_stop "$OUT/pg"
	ip netns del "$NS" 2>/dev/null
	ip link del "$VETH"a 2>/dev/null
	[ -n "${WATCHDOG:-}" ] && kill "$WATCHDOG" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# Bound the whole run: kill ourselves (the trap cleans up) after TIME_LIMIT.
( sleep "$TIME_LIMIT"; echo "bench: time limit ${TIME_LIMIT}s reached" >&2; kill -TERM $$ ) &
WATCHDOG=$!

say() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
# result KEY VALUE: one figure for the table
result() { printf '%s\t%s\n' "$1" "$2" >>"$RES"; }
now() { date +%s.%N; }
elapsed() { echo "$(now) - $1" | bc; }
rss_kb() { ps -o rss= -p "$1" | tr -d ' '; }
# UDP datagrams the kernel dropped for want of receive buffer ([WRAP]:
# in that namespace): losses the bench did not ask for.
rcvbuf_errors() { $1 nstat -saz UdpRcvbufErrors | awk '/UdpRcvbufErrors/ { print $2 }'; }

# udp_drops WRAP PORT PID STOPFILE: until STOPFILE exists, sample every
# 0.1 s the drops column of /proc/net/udp{,6} (in WRAP's namespace) and
# the sockets PID holds; then print "server=N pid=N other=N", datagrams
# dropped meanwhile by the sockets bound to PORT, by PID's sockets and by
# the rest (tests/tools/udpdrops.c). One process per phase: a shell loop
# here started five a sample (and `ip netns exec` for each in the
# latency run), ~8% of a core taken from what is measured.
udp_drops() {
	$1 "$UDPDROPS" "$2" "${3:--}" "$4"
}
# cpu_ticks PID: CPU of a process and of its children it has reaped (user,
# system, children's user and system), in clock ticks: for the
# postmaster, that counts the backends of a scan once they have exited.
cpu_ticks() { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
ticks_s() { echo "scale=2; $1 / $(getconf CLK_TCK)" | bc; }
knot_queries() { # every request Knot counted, over all protocols
	$2 knotc -c "$1/knot.conf" stats mod-stats 2>/dev/null |
		awk -F' = ' '/request-protocol/ { s += $2 } END { print s + 0 }'
}

# world TAG N BASEADDR: build the zones, write the Knot config
world() {
	local tag=$1 n=$2 base=$3 w=$OUT/w-$1 t
	t=$(now)
	timeout 600 "$BENCHWORLD" -n "$n" -a "$base" -j "$(nproc)" "$w"
	result "$tag.world_build_s" "$(elapsed "$t")"
	echo "$w"
}

# cdscan's configuration for the bench: no per-server politeness (one Knot
# stands behind every address), a wide window, large batches.
bench_conf() {
	local f=$1
	cat >"$f" <<-EOF
	log:
	  level: warning
	database: ""
	scanner:
	  port: $PORT
	  timeout: 400ms
	  retries: 2
	  max-inflight: ${INFLIGHT:-6000}
	  rate-per-server: ${RATE_PER_SERVER:-0}
	  rate-global: 0
	scan:
	  batch-size: ${BATCH:-1000}
	  concurrency: ${CONCURRENCY:-3000}
	  early-stop: true
	EOF
	"$CDSCAN" -c "$f" config check >/dev/null
}

# pipeline TAG WORLD [WRAP]: fresh database, init, import, scan --all.
pipeline() {
	local tag=$1 w=$2 wrap=${3:-} t
	bench_conf "$w/cdscan.yaml"
	dropdb --if-exists cdscan && createdb cdscan
	"$CDSCAN" -c "$w/cdscan.yaml" init >"$w/init.log" 2>&1
	t=$(now)
	timeout 900 "$CDSCAN" -c "$w/cdscan.yaml" import "$w/parent.zone" >"$w/import.log" 2>&1
	result "$tag.import_s" "$(elapsed "$t")"
	scan "$tag" "$w" "$wrap"
}

# scan TAG WORLD [WRAP]: one `cdscan scan --all` (a new run) under GNU time.
scan() {
	local tag=$1 w=$2 wrap=${3:-} q0 q1 user sys rss wall n e0 f0
	n=$(grep -c . "$w/kinds.tsv")
	e0=$(rcvbuf_errors "")
	[ -n "$wrap" ] && f0=$(rcvbuf_errors "$wrap")
	q0=$(knot_queries "$w" "$wrap")
	pgpid=$(head -1 "$OUT/pg/data/postmaster.pid")
	knotpid=$(cat "$w/knot/knot.pid")
	pg0=$(cpu_ticks "$pgpid")
	kn0=$(cpu_ticks "$knotpid")
	rl0=$([ -z "$DELAY_PID" ] || cpu_ticks "$DELAY_PID")
	say "$tag: cdscan scan --all"
	t=$(now)
	timeout 1200 /usr/bin/time -f '%U %S %M %e' -o "$w/scan-$tag.time" \
		"$CDSCAN" -c "$w/cdscan.yaml" scan --all --no-progress \
		>"$w/scan-$tag.out" 2>"$w/scan-$tag.err" &
	sp=$!
	# cdscan is time's child, time timeout's
	for _ in $(seq 50); do
		pid=$(pgrep -P "$(pgrep -P "$sp" | head -1)" 2>/dev/null | head -1) || true
		[ -n "$pid" ] && break
		sleep 0.02
	done
	pp=
	if [ -n "${PERF:-}" ]; then # a profile of the whole machine meanwhile
		perf record -a -g -F "$PERF" -o "$w/perf-$tag.data" \
			>"$w/perf-$tag.log" 2>&1 &
		pp=$!
	fi
	rm -f "$w/drops.stop"
	udp_drops "" "$PORT" "${pid:-}" "$w/drops.stop" >"$w/drops-$tag" &
	dp=$!
	if [ -n "$wrap" ]; then
		udp_drops "$wrap" "$KNOT_PORT" "" "$w/drops.stop" >"$w/drops-ns-$tag" &
		dpn=$!
	fi
	rc=0
	wait "$sp" || rc=$?
	[ -z "$pp" ] || { kill -INT "$pp"; wait "$pp" || true; pp=; }
	touch "$w/drops.stop"
	wait "$dp" || true
	[ -z "$wrap" ] || wait "$dpn" || true
	[ "$rc" = 0 ] || { say "$tag: cdscan scan failed"; tail -5 "$w/scan-$tag.err" >&2; return 1; }
	q1=$(knot_queries "$w" "$wrap")
	sleep 0.5 # the postmaster reaps the scan's backends
	result "$tag.pg_cpu_s" "$(ticks_s $(( $(cpu_ticks "$pgpid") - pg0 )))"
	result "$tag.knot_cpu_s" "$(ticks_s $(( $(cpu_ticks "$knotpid") - kn0 )))"
	[ -z "$DELAY_PID" ] ||
		result "$tag.delay_cpu_s" "$(ticks_s $(( $(cpu_ticks "$DELAY_PID") - rl0 )))"
	result "$tag.udp_rcvbuf_drops" "$(( $(rcvbuf_errors "") - e0 ))"
	[ -n "$wrap" ] && result "$tag.udp_rcvbuf_drops_ns" "$(( $(rcvbuf_errors "$wrap") - f0 ))"
	if [ -n "$wrap" ]; then
		result "$tag.drops_knot" "$(sed -n 's/.*server=\([0-9]*\).*/\1/p' "$w/drops-ns-$tag")"
		result "$tag.drops_relay" "$(sed -n 's/.*other=\([0-9]*\).*/\1/p' "$w/drops-ns-$tag")"
	else
		result "$tag.drops_knot" "$(sed -n 's/.*server=\([0-9]*\).*/\1/p' "$w/drops-$tag")"
	fi
	result "$tag.drops_scanner" "$(sed -n 's/.*pid=\([0-9]*\).*/\1/p' "$w/drops-$tag")"
	read -r user sys rss wall <"$w/scan-$tag.time"
	result "$tag.delegations" "$n"
	result "$tag.scan_wall_s" "$wall"
	result "$tag.scan_cpu_s" "$(echo "$user + $sys" | bc)"
	result "$tag.scan_rss_mb" "$(echo "scale=1; $rss / 1024" | bc)"
	result "$tag.knot_queries" "$((q1 - q0))"
	result "$tag.cdscan_queries" "$(grep -o '[0-9]* queries' "$w/scan-$tag.out" | head -1 | cut -d' ' -f1)"
	result "$tag.outcome" "$(grep -E '^  [a-z][a-z-]* +[0-9]+$' "$w/scan-$tag.out" | awk '{printf "%s=%s ", $1, $2}')"
	# how full the window was, and what it waited for (cdscan scan's summary)
	result "$tag.window" "$(sed -n 's/^  window: //p' "$w/scan-$tag.out")"
	result "$tag.deleg_per_s" "$(echo "scale=0; $n / $wall" | bc)"
	result "$tag.queries_per_s" "$(echo "scale=0; ($q1 - $q0) / $wall" | bc)"
	result "$tag.cpu_us_per_query" "$(echo "scale=1; ($user + $sys) * 1000000 / ($q1 - $q0)" | bc)"
	"$CDSCAN" -c "$w/cdscan.yaml" runs >"$w/runs.out" 2>&1 || true
}

# dnsperf_run SECS THREADS SOCKETS OUTSTANDING WORLD: one dnsperf run
# against the bench's Knot; prints its queries/s and its own CPU (user +
# system) per query completed, in µs ("0 0" if nothing was answered).
dnsperf_run() {
	local secs=$1 t=$2 c=$3 q=$4 w=$5 qps done
	timeout $((secs + 30)) /usr/bin/time -f '%U %S' -o "$w/dnsperf.time" \
		dnsperf -s 127.1.0.1 -p "$PORT" -d "$w/queries.txt" -D \
		-T "$t" -c "$c" -q "$q" -l "$secs" >"$w/dnsperf-T$t-c$c-q$q.out" 2>&1 || true
	qps=$(awk '/Queries per second/ { printf "%d", $4 }' "$w/dnsperf-T$t-c$c-q$q.out")
	done=$(awk '/Queries completed/ { print $3 }' "$w/dnsperf-T$t-c$c-q$q.out")
	[ "${done:-0}" -gt 0 ] || { echo "0 0"; return; }
	echo "${qps:-0} $(echo "scale=1; ($(sed 's/ / + /' "$w/dnsperf.time")) * 1000000 / $done" | bc)"
}

# ceiling TAG WORLD: dnsperf's best against the same Knot, same machine.
# Which settings give dnsperf its best differs from machine to machine:
# on one (2026-11-24) one thread with 5 sockets and 50 queries in flight
# did 149k q/s, where 20 sockets with 500 and 50 with 2000, the best two
# on the machines before, did 80k. So every setting of CEILING_GRID
# (THREADS:SOCKETS:OUTSTANDING) runs for CEILING_PROBE_SECS, the best of
# them once more for DNSPERF_SECS, and the ceiling is the highest rate of
# all these runs: a ceiling set too low would flatter the scan.
ceiling() {
	local tag=$1 w=$2 best=0 args="" cpu="" grid="" r qps c c_best=""
	for c in $CEILING_GRID; do
		set -- ${c//:/ }
		read -r qps r <<<"$(dnsperf_run "$CEILING_PROBE_SECS" "$1" "$2" "$3" "$w")"
		grid="$grid T$1/c$2/q$3=$qps"
		if [ "$qps" -gt "$best" ]; then
			best=$qps cpu=$r c_best=$c
			args="-T $1 -c $2 -q $3 -D -l $CEILING_PROBE_SECS"
		fi
	done
	[ -n "$c_best" ] || { say "$tag: dnsperf answered nothing"; return 1; }
	set -- ${c_best//:/ }
	read -r qps r <<<"$(dnsperf_run "$DNSPERF_SECS" "$1" "$2" "$3" "$w")"
	grid="$grid, again for ${DNSPERF_SECS} s: $qps"
	if [ "$qps" -gt "$best" ]; then
		best=$qps cpu=$r
		args="-T $1 -c $2 -q $3 -D -l $DNSPERF_SECS"
	fi
	result "$tag.dnsperf_grid" "${grid# }"
	result "$tag.dnsperf_qps" "$best"
	result "$tag.dnsperf_args" "$args"
	result "$tag.dnsperf_cpu_us_per_query" "${cpu:-}"
	# The scanner's query engine alone, same Knot, same window as the
	# bench's scans: what the scanner could do without probes, policy
	# and database.
	timeout 120 "$ENGINEBENCH" -s "127.1.0.1@$PORT" -d "$w/queries.txt" \
		-n $((DNSPERF_SECS * 20000)) -w "${INFLIGHT:-6000}" >"$w/enginebench.out" 2>&1 || true
	result "$tag.engine_qps" "$(awk '{ for (i = 1; i < NF; i++) if ($i == "qps") print $(i + 1) }' "$w/enginebench.out")"
	result "$tag.engine_cpu_us_per_query" "$(awk '{ for (i = 1; i < NF; i++) if ($i == "cpu_us_per_query") print $(i + 1) }' "$w/enginebench.out")"
}

# The latency run's delay (section 2). nfq_rules: iptables in the
# namespace, every packet into it for NFQUEUE 0 and the loss of a round
# trip (LAT_LOSS per mille each way, 1 - (1 - p)^2) on the way in. Not
# on the way out: a datagram dropped in OUTPUT fails the sender's
# sendmsg with EPERM, Knot's sendmmsg then stops there and the rest of
# its batch of answers is never sent — 4.8 answers lost for every one
# dropped, 8.5k retries a rescan where 3.1k datagrams were dropped
# (docs/BENCH.md). A query dropped on the way in and an answer dropped
# on the way out look the same to the scanner: a timeout.
nfq_rules() {
	local x="ip netns exec $NS iptables-legacy" p
	command -v iptables-legacy >/dev/null || return 1
	p=$(echo "scale=6; p = $LAT_LOSS / 1000; 1 - (1 - p) * (1 - p)" | bc)
	$x -A INPUT -i "$VETH"b -p udp -m statistic --mode random --probability "$p" -j DROP &&
	$x -A INPUT -i "$VETH"b -j NFQUEUE --queue-num 0 ||
		{ $x -F 2>/dev/null; return 1; }
}
delay_stop() {
	[ -n "$DELAY_PID" ] || return 0
	kill "$DELAY_PID" 2>/dev/null || true
	wait "$DELAY_PID" 2>/dev/null || true
	DELAY_PID=""
}
# delay_start MS: MS of round trip from now on, by DELAY_BY's means
# (between scans only: packets that arrive while nfqdelay restarts are
# dropped by the kernel, as NFQUEUE does with no one bound).
delay_start() {
	local ms=$1 half=$(($1 / 2))
	delay_stop
	case $DELAY_BY in
	netem)
		tc qdisc change dev "$VETH"a root netem delay "${half}ms" loss "$loss_pct"
		ip netns exec "$NS" tc qdisc change dev "$VETH"b root netem delay "${half}ms" loss "$loss_pct"
		return ;;
	nfqueue)
		ip netns exec "$NS" "$NFQDELAY" -q 0 -d "$ms" >"$WL/delay.out" 2>>"$WL/delay.err" & ;;
	relay)
		ip netns exec "$NS" "$RELAY" -l "$PORT" -u "127.0.0.1:$((PORT + 1))" \
			-d "$half" -p "$LAT_LOSS" >"$WL/delay.out" 2>>"$WL/delay.err" & ;;
	esac
	DELAY_PID=$! # ip netns exec execs: the delaying process itself
	for _ in $(seq 50); do
		grep -q ready "$WL/delay.out" 2>/dev/null && return 0
		kill -0 "$DELAY_PID" 2>/dev/null || break
		sleep 0.1
	done
	say "latency: $DELAY_BY did not start"
	DELAY_PID=""
	return 1
}
# delay_check MS: a query into the namespace takes MS (the delay works,
# and only it), else the latency run stops. Three tries, for the loss:
# a lost datagram either leaves drill without an answer or makes it
# retry after its 5 s timeout, and then "Query time" counts the wait.
delay_check() {
	local z t
	z=$(head -1 "$WL/kinds.tsv" | cut -f1)
	for _ in 1 2 3; do
		t=$(drill -p "$PORT" @10.77.0.1 SOA "$z" 2>/dev/null |
			awk '/Query time/ { print $4 }')
		[ -n "$t" ] && [ "$t" -lt 5000 ] && break
	done
	result "lat.check_${1}ms" "${t:-none}"
	if [ -z "$t" ] || [ "$t" -lt $(($1 - 2)) ] || [ "$t" -gt $(($1 + 20)) ]; then
		say "latency: a query took ${t:-forever} ms, not $1"
		return 1
	fi
}

# ---- 1. loopback, N delegations ----
pg_start "$OUT/pg" >/dev/null
say "loopback: building a world of $N delegations"
W=$(world lo "$N" 127.1.0.0)
bench_knot_conf "$W" "0.0.0.0@$PORT"
t=$(now)
bench_knot_start "$W"
result lo.knot_load_s "$(elapsed "$t")"
result lo.knot_rss_mb "$(( $(rss_kb "$(cat "$W/knot/knot.pid")") / 1024 ))"
say "loopback: dnsperf ceiling"
ceiling lo "$W"
pipeline lo "$W"
# The same again: a nightly run where nothing is left to change, so no
# change transactions — the scanner's own pace.
scan lo2 "$W"
# And a third: the rejected delegations' streaks reach
# policy.notify-rejected-after (3), so every batch writes their events.
scan lo3 "$W"
# The ceiling again: the host's speed drifts by tens of percent within
# minutes on these shared machines, and one depressed measurement made a
# scan look faster than it was (docs/BENCH.md). The report checks the
# target against the higher of the two.
say "loopback: dnsperf ceiling again"
ceiling lo_end "$W"
bench_knot_stop "$W"

# ---- 2. 30 ms RTT, 1% loss, in a network namespace ----
if [ "$N_LAT" -gt 0 ]; then
	say "latency: building a world of $N_LAT delegations on 10.77/16"
	WL=$(world lat "$N_LAT" 10.77.0.0)
	touch "$WL/netns"
	ip netns add "$NS"
	ip link add "$VETH"a type veth peer name "$VETH"b
	ip link set "$VETH"b netns "$NS"
	ip addr add 10.78.0.1/30 dev "$VETH"a
	ip link set "$VETH"a up
	ip netns exec "$NS" ip link set lo up
	ip netns exec "$NS" ip addr add 10.78.0.2/30 dev "$VETH"b
	ip netns exec "$NS" ip link set "$VETH"b up
	# every address of 10.77/16 is local in the namespace, as 127/8 is
	ip netns exec "$NS" ip route add local 10.77.0.0/16 dev lo
	ip route add 10.77.0.0/16 via 10.78.0.2
	loss_pct=$(echo "scale=1; $LAT_LOSS / 10" | bc)%
	result lat.loss_per_mille_each_way "$LAT_LOSS"
	# The delay, by the first of these this kernel has (docs/BENCH.md):
	# netem on both ends of the veth pair, 15 ms each way; else NFQUEUE:
	# the kernel holds every packet that enters the namespace while
	# nfqdelay counts 30 ms (answers leave at once: the same round trip),
	# and iptables drops what LAT_LOSS each way comes to, on the way in
	# (nfq_rules); else delayrelay, a
	# relay in user space in front of Knot, 15 ms each way.
	if tc qdisc add dev "$VETH"a root netem delay 15ms loss "$loss_pct" 2>/dev/null &&
	   ip netns exec "$NS" tc qdisc add dev "$VETH"b root netem delay 15ms loss "$loss_pct" 2>/dev/null; then
		DELAY_BY=netem
		bench_knot_conf "$WL" "0.0.0.0@$PORT"
	elif nfq_rules && DELAY_BY=nfqueue && delay_start 30; then
		say "latency: no netem in this kernel; NFQUEUE and nfqdelay add the delay"
		bench_knot_conf "$WL" "0.0.0.0@$PORT"
	else
		say "latency: neither netem nor NFQUEUE here; delayrelay adds the delay"
		ip netns exec "$NS" iptables-legacy -F 2>/dev/null || true
		DELAY_BY=relay
		bench_knot_conf "$WL" "127.0.0.1@$((PORT + 1))"
		KNOT_PORT=$((PORT + 1))
	fi
	result lat.delay_by "$DELAY_BY"
	[ -n "$DELAY_PID" ] || delay_start 30
	bench_knot_start "$WL" "ip netns exec $NS"
	delay_check 30
	pipeline lat "$WL" "ip netns exec $NS"
	scan lat2 "$WL" "ip netns exec $NS"
	# The same world, path and loss with no delay, from a fresh database
	# as above: what the stand-in for a network costs these two cores,
	# apart from what the 30 ms cost.
	delay_start 0
	delay_check 0
	pipeline lat0 "$WL" "ip netns exec $NS"
	scan lat02 "$WL" "ip netns exec $NS"
	delay_stop
	[ -s "$WL/delay.err" ] && result lat.delay "$(paste -sd'|' "$WL/delay.err")"
	bench_knot_stop "$WL" "ip netns exec $NS"
	ip route del 10.77.0.0/16 2>/dev/null || true
	ip netns del "$NS"
fi

# ---- 3. the RSS slope: the loopback pipeline again at N_RSS ----
if [ "$N_RSS" -gt 0 ]; then
	say "rss: building a world of $N_RSS delegations"
	W2=$(world big "$N_RSS" 127.1.0.0)
	rm -rf "$W"/zones # the 100k zones are no longer needed
	bench_knot_conf "$W2" "0.0.0.0@$PORT"
	t=$(now)
	bench_knot_start "$W2"
	result big.knot_load_s "$(elapsed "$t")"
	result big.knot_rss_mb "$(( $(rss_kb "$(cat "$W2/knot/knot.pid")") / 1024 ))"
	pipeline big "$W2"
	bench_knot_stop "$W2"
fi

"$SRC/tests/bench/report.sh" "$RES"
