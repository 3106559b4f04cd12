# Knot for the benchmark (sourced by tests/bench/bench.sh).
#   bench_knot_conf WORLD LISTEN   write WORLD/knot.conf serving the zones
#                                  that benchworld wrote, on LISTEN
#                                  ("0.0.0.0@5300")
#   bench_knot_start WORLD [WRAP]  start knotd (WRAP: e.g. "ip netns exec NS")
#                                  and wait until every zone is loaded
#   bench_knot_stop WORLD
# Knot answers on every local address when bound to 0.0.0.0, with the
# address asked as source, so one daemon stands in for every operator.

bench_knot_conf() {
	local w=$1 listen=$2
	mkdir -p "$w/knot" "$w/knot/db"
	cat >"$w/knot.conf" <<-EOC
	server:
	    rundir: "$w/knot"
	    pidfile: "$w/knot/knot.pid"
	    listen: $listen
	    udp-max-payload: 1232
	    # One UDP socket per worker (SO_REUSEPORT), each with its own
	    # receive buffer: net.core.rmem_default, 208 KiB, ~300 queries
	    # (Knot 3.2 has no setting for it). The scanner keeps 2000 queries
	    # in flight, all to this one Knot: with 4 workers their buffers
	    # overflowed while Knot waited for a core (6-14k queries lost per
	    # 100k delegations, every one on Knot's sockets, none on the
	    # scanner's: the drops column of /proc/net/udp), and each loss
	    # cost a 400 ms retry. 16 workers hold the window; more workers
	    # than cores buy buffer, not CPU. A deployment would rather raise
	    # rmem_default; the bench leaves the host's sysctls alone.
	    udp-workers: ${KNOT_UDP_WORKERS:-16}
	    tcp-workers: 1
	    background-workers: 2
	# query counters: knotc stats mod-stats (queries the scanner sent)
	mod-stats:
	  - id: default
	    request-protocol: on
	    query-type: on
	    response-code: on
	log:
	  - target: "$w/knot/knot.log"
	    any: warning
	database:
	    storage: "$w/knot/db"
	    journal-db-max-size: 64M
	    kasp-db-max-size: 64M
	    timer-db-max-size: 1G
	template:
	  - id: default
	    storage: "$w/zones"
	    zonefile-sync: -1
	    zonefile-load: whole
	    journal-content: none
	    semantic-checks: off
	    global-module: mod-stats/default
	    serial-policy: increment
	include: "$w/knot-zones.conf"
	EOC
}

bench_knot_start() {
	local w=$1 wrap=${2:-} want i n
	want=$(grep -c 'domain:' "$w/knot-zones.conf")
	$wrap knotd -d -c "$w/knot.conf" || return 1
	# knotc zone-status lists every zone; a loaded one has a serial.
	for i in $(seq 600); do
		n=$($wrap knotc -c "$w/knot.conf" -t 30 zone-status 2>/dev/null |
			grep -c 'serial: [0-9]') || true
		[ "$n" -ge "$want" ] && return 0
		sleep 1
	done
	echo "knot: $n of $want zones loaded after 600 s" >&2
	return 1
}

bench_knot_stop() {
	local w=$1 wrap=${2:-} pid
	[ -f "$w/knot/knot.pid" ] || return 0
	pid=$(cat "$w/knot/knot.pid")
	$wrap knotc -c "$w/knot.conf" stop >/dev/null 2>&1 || kill "$pid" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.2
	done
	kill -9 "$pid" 2>/dev/null
	return 0
}
