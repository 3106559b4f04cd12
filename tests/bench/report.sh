#!/bin/bash
# Print the bench's table from results.tsv (KEY<TAB>VALUE lines written by
# tests/bench/bench.sh), with the issue's three targets checked:
#   queries/s on loopback >= 50% of dnsperf's ceiling;
#   delegations/s at 30 ms RTT >= 80% of the loopback rate;
#   peak RSS extrapolated linearly from two sizes to 1M delegations < 1 GiB.
# Columns: lo/lat/big are first scans of a fresh import (they apply ~6% of
# changes), lo2/lat2 the scan right after (nothing left to change), lo3
# the third (the 2% rejected reach the notification threshold: events);
# lat0/lat02 the same two in the latency world with the delay set to 0:
# the same namespace, loss and stand-in for a network, without the 30 ms.
set -eu
RES=${1:?usage: report.sh results.tsv}
get() { awk -F'\t' -v k="$1" '$1 == k { v = $2 } END { print v }' "$RES"; }
ratio() { if [ -n "$1" ] && [ -n "$2" ] && [ "$2" != 0 ]; then
	echo "scale=1; 100 * $1 / $2" | bc; else echo "?"; fi; }
verdict() { if [ "$1" = "?" ]; then echo "not measured"
	elif [ "$(echo "$1 >= $2" | bc)" = 1 ]; then echo "met"; else echo "MISSED"; fi; }
cols="lo lo2 lo3 lat lat2 lat0 lat02 big"

printf '%-20s' ""
for c in $cols; do printf ' %10s' "$c"; done
echo
for k in delegations world_build_s knot_load_s knot_rss_mb import_s scan_wall_s \
	scan_cpu_s cpu_us_per_query pg_cpu_s knot_cpu_s delay_cpu_s scan_rss_mb knot_queries cdscan_queries udp_rcvbuf_drops \
	udp_rcvbuf_drops_ns drops_knot drops_scanner drops_relay deleg_per_s queries_per_s; do
	printf '%-20s' "$k"
	for c in $cols; do
		v=$(get "$c.$k")
		case "$v" in *.*) v=$(printf '%.1f' "$v") ;; esac
		printf ' %10s' "$v"
	done
	echo
done
echo
# The ceiling is measured before the loopback scans and again after them;
# the target is checked against the higher of the two.
c0=$(get lo.dnsperf_qps) c1=$(get lo_end.dnsperf_qps) ceil=$c0
[ -n "$c1" ] && { [ -z "$c0" ] || [ "$c1" -gt "$c0" ]; } && ceil=$c1
echo "dnsperf ceiling: $c0 q/s before the scans ($(get lo.dnsperf_args)), $(get lo.dnsperf_cpu_us_per_query) us CPU/query"
echo "  settings tried: $(get lo.dnsperf_grid)"
[ -n "$c1" ] && echo "dnsperf ceiling: $c1 q/s after them ($(get lo_end.dnsperf_args)), $(get lo_end.dnsperf_cpu_us_per_query) us CPU/query;" \
	"the higher, $ceil q/s, is the ceiling below" &&
	echo "  settings tried: $(get lo_end.dnsperf_grid)"
[ -n "$(get lo.engine_qps)" ] && echo "engine alone (enginebench): $(get lo.engine_qps) q/s," \
	"$(ratio "$(get lo.engine_qps)" "$c0")% of dnsperf before the scans, $(get lo.engine_cpu_us_per_query) us CPU/query"
echo "latency by: $(get lat.delay_by), loss $(get lat.loss_per_mille_each_way) per mille each way"
[ -n "$(get lat.delay)" ] && echo "delay: $(get lat.delay)"
echo
for c in lo lo2 lo3; do
	q=$(ratio "$(get $c.queries_per_s)" "$ceil")
	echo "$c queries/s vs dnsperf ceiling: $q% (target >= 50%: $(verdict "$q" 50))"
done
for p in "lat lo" "lat2 lo2"; do
	set -- $p
	l=$(ratio "$(get $1.deleg_per_s)" "$(get $2.deleg_per_s)")
	echo "$1 delegations/s vs $2: $l% (target >= 80%: $(verdict "$l" 80))"
done
for p in "lat lat0" "lat2 lat02"; do
	set -- $p
	l=$(ratio "$(get $1.deleg_per_s)" "$(get $2.deleg_per_s)")
	[ "$l" = "?" ] || echo "$1 delegations/s vs $2 (same path, no delay): $l%"
done
n1=$(get lo.delegations) r1=$(get lo.scan_rss_mb) n2=$(get big.delegations) r2=$(get big.scan_rss_mb)
if [ -n "$n1" ] && [ -n "$n2" ] && [ -n "$r1" ] && [ -n "$r2" ] && [ "$n2" != "$n1" ]; then
	slope=$(echo "scale=1; ($r2 - $r1) * 1024 * 1024 / ($n2 - $n1)" | bc)
	# A peak that fell with the size is noise (a run's peak moves by
	# ~20 MB between runs of one size): no growth to extrapolate, and
	# 1M is taken at the higher of the two.
	if [ "$(echo "$r2 < $r1" | bc)" = 1 ]; then
		at1m=$(printf '%.0f' "$r1")
		slope="no growth measurable (the larger run peaked lower: $slope bytes/delegation); 1M taken at the higher"
	else
		at1m=$(printf '%.0f' "$(echo "scale=2; $r1 + ($r2 - $r1) * (1000000 - $n1) / ($n2 - $n1)" | bc)")
		slope="$slope bytes/delegation"
	fi
	echo "peak RSS: $r1 MB at $n1, $r2 MB at $n2: $slope;" \
		"1M -> ~$at1m MB (target < 1024 MB: $([ "$at1m" -lt 1024 ] && echo met || echo MISSED))"
else
	echo "peak RSS slope: not measured"
fi
for c in $cols; do
	[ -n "$(get $c.outcome)" ] && echo "decisions ($c): $(get $c.outcome)"
	[ -n "$(get $c.window)" ] && echo "window ($c): $(get $c.window)"
done
exit 0
