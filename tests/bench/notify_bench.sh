#!/usr/bin/env bash
# NOTIFY to commit (issue 7 item 5): `cdscan daemon` on loopback, the DNS
# test world and a throwaway PostgreSQL; N NOTIFY(CDS) (default 100) sent
# one after the other, each for a delegation of the world (a rollover
# among them), each waiting until the daemon says the scan of that zone
# is recorded. The time is the daemon's own: from the packet's arrival to
# the reaping of the scan child, which exits after its COMMIT. Prints the
# median, p90, p99 and max, and for comparison the same scans started as
# `cdscan scan DOMAIN` from the shell (a new process and connection
# each, what the daemon's forked child saves on exec and start-up).
#
#   flock /tmp/cdscan-world.lock tests/bench/notify_bench.sh
#   (N=100 CDSCAN=./cdscan BUILD=build by default)
set -uo pipefail
cd "$(dirname "$0")/../.."
CDSCAN=${CDSCAN:-$(pwd)/cdscan}
BUILD=${BUILD:-build}
N=${N:-100}
. tests/lib.sh
. tests/pg.sh
. tests/pipeline/lib.sh
need_root
NS=$BUILD/tests/tools/notify_send
[ -x "$NS" ] || { echo "no $NS (make tests)" >&2; exit 1; }

ZONES="steady steady-cds ksk-rollover ksk-rollover-done one-disagrees"
T=$(mktemp -d /tmp/cdscan-nbench.XXXXXX)
chmod 755 "$T"
W=$T/world
PGD=$T/pg
DPID=
on_exit "[ -n \"\$DPID\" ] && kill \$DPID 2>/dev/null; sleep 0.5; tests/world/stop '$W'; pg_stop '$PGD'; rm -rf '$T'"
PORT=$((20000 + RANDOM % 30000))

tests/world/build "$W" $ZONES >"$T/build.log" 2>&1 || { tail "$T/build.log"; exit 1; }
tests/world/start "$W" >"$T/start.log" 2>&1 || { tail "$T/start.log"; exit 1; }
pg_start "$PGD" >"$T/pg.log" 2>&1 || { tail "$T/pg.log"; exit 1; }
CONF=$T/cdscan.yaml
pl_config "$CONF" policy.replay-protection=false daemon.schedule=off \
	daemon.listen="[127.0.0.1:$PORT]" daemon.notify-rate-source=10000 \
	daemon.notify-rate-source-burst=10000 daemon.notify-rate-zone=10000 \
	daemon.notify-rate-zone-burst=10000
"$CDSCAN" -c "$CONF" init >/dev/null && "$CDSCAN" -c "$CONF" import "$W/tld/test.in" --origin test. >/dev/null ||
	exit 1
LOG=$T/daemon.log
"$CDSCAN" -c "$CONF" -v daemon >"$LOG" 2>&1 &
DPID=$!
wait_port 127.0.0.1 "$PORT" udp 10 || exit 1

set -- $ZONES
for i in $(seq "$N"); do
	z=$(eval echo "\${$(( (i - 1) % $# + 1 ))}").test.
	before=$(grep -c "NOTIFY $z: scanned and recorded" "$LOG")
	out=$("$NS" -z "$z" 127.0.0.1 "$PORT")
	[[ $out == *noerror=1* ]] || { echo "NOTIFY $i ($z): $out" >&2; exit 1; }
	for j in $(seq 200); do
		[ "$(grep -c "NOTIFY $z: scanned and recorded" "$LOG")" -gt "$before" ] && break
		sleep 0.02
	done
	[ "$j" -lt 200 ] || { echo "NOTIFY $i ($z): not recorded within 4 s" >&2; exit 1; }
done
recorded=$(sql "SELECT count(*) FROM cdscan.scan")
stats() {
	sort -n | awk '{ v[NR] = $1 } END {
		printf "n=%d median=%d ms p90=%d ms p99=%d ms max=%d ms\n", NR,
		v[int((NR + 1) / 2)], v[int(NR * 0.9 + 0.999)],
		v[int(NR * 0.99 + 0.999)], v[NR] }'
}
echo "NOTIFY -> commit, $N NOTIFYs, $recorded scans recorded:"
sed -n 's/.*scanned and recorded \([0-9]*\) ms after it arrived/\1/p' "$LOG" | stats
echo "scan child alone (fork to exit):"
sed -n 's/.*notify scan: run .* \([0-9]*\) ms$/\1/p' "$LOG" | stats

# the same scans as separate commands, 20 of them
for i in $(seq 20); do
	z=$(eval echo "\${$(( (i - 1) % $# + 1 ))}").test.
	s=$(date +%s%N)
	"$CDSCAN" -c "$CONF" scan "$z" >/dev/null 2>&1
	echo $(( ($(date +%s%N) - s) / 1000000 ))
done >"$T/cli.ms"
echo "cdscan scan DOMAIN from the shell (exec, config, connect, scan, commit):"
stats <"$T/cli.ms"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
