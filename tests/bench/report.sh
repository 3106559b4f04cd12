#!/bin/bash
# Print the bench's table from results.tsv (KEY<TAB>VALUE lines written by
# tests/bench/bench.sh), with the issue's three targets checked:
#   queries/s on loopback >= 50% of dnsperf's ceiling;
#   delegations/s at 30 ms RTT >= 80% of the loopback rate;
#   peak RSS extrapolated linearly from two sizes to 1M delegations < 1 GiB.
set -eu
RES=${1:?usage: report.sh results.tsv}
get() { awk -F'\t' -v k="$1" '$1 == k { print $2 }' "$RES"; }
ratio() { [ -n "$1" ] && [ -n "$2" ] && [ "$2" != 0 ] && echo "scale=1; 100 * $1 / $2" | bc || echo "?"; }
verdict() { [ "$1" = "?" ] && echo "not measured" && return
	[ "$(echo "$1 >= $2" | bc)" = 1 ] && echo "met" || echo "MISSED"; }

printf '%-34s %14s %14s %14s\n' "" loopback "30ms RTT" "RSS point"
for k in delegations world_build_s knot_load_s knot_rss_mb import_s scan_wall_s \
	scan_cpu_s scan_rss_mb knot_queries deleg_per_s queries_per_s dnsperf_qps; do
	printf '%-34s %14s %14s %14s\n' "$k" "$(get lo.$k)" "$(get lat.$k)" "$(get big.$k)"
done
echo
echo "dnsperf: $(get lo.dnsperf_args); latency by: $(get lat.delay_by)"
[ -n "$(get lat.relay)" ] && echo "relay: $(get lat.relay)"
echo
q=$(ratio "$(get lo.queries_per_s)" "$(get lo.dnsperf_qps)")
echo "loopback queries/s vs dnsperf ceiling: $q% (target >= 50%: $(verdict "$q" 50))"
l=$(ratio "$(get lat.deleg_per_s)" "$(get lo.deleg_per_s)")
echo "30ms RTT delegations/s vs loopback:    $l% (target >= 80%: $(verdict "$l" 80))"
n1=$(get lo.delegations) r1=$(get lo.scan_rss_mb) n2=$(get big.delegations) r2=$(get big.scan_rss_mb)
if [ -n "$n1" ] && [ -n "$n2" ] && [ -n "$r1" ] && [ -n "$r2" ] && [ "$n2" != "$n1" ]; then
	slope=$(echo "scale=3; ($r2 - $r1) * 1024 * 1024 / ($n2 - $n1)" | bc)
	at1m=$(echo "scale=0; $r1 + ($r2 - $r1) * (1000000 - $n1) / ($n2 - $n1)" | bc)
	echo "peak RSS slope: $slope bytes/delegation; 1M delegations -> ~${at1m} MB (target < 1024 MB: $([ "$at1m" -lt 1024 ] && echo met || echo MISSED))"
else
	echo "peak RSS slope: not measured"
fi
