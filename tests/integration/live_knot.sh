#!/usr/bin/env bash
# A live child, end to end, against a signer we did not write (issue 8
# item 2): live.test. is signed by Knot DNS itself (tests/world/live.sh:
# KSK + ZSK, algorithm 13, cds-cdnskey-publish always, ksk-submission
# asking the world's TLD server for the DS every second). The loop is the
# registry's: `cdscan scan` -> `cdscan export` -> tests/world/reparent
# (test. re-signed and reloaded) -> Knot sees the DS and goes on.
#
#   live/insecure-before-bootstrap      no DS yet: no AD (the AD check can fail)
#   live/t5-delay-bootstraps-knot-ksk   accept-after-delay over 3 scans and
#                                       72 h (--now moves cdscan's clock only)
#   live/knot-confirms-bootstrap-ds     Knot's submission check sees the DS
#   live/ad-after-bootstrap             unbound validates the child (AD)
#   live/knot-ksk-rollover-completes    `knotc zone-key-rollover ... ksk` runs
#                                       until the old KSK is retired
#   live/ad-at-every-step               AD after every scan and reload
#   live/parent-ds-is-new-ksk           registry, export and the TLD server
#                                       hold the new KSK's DS and nothing else
#   live/history-has-rollover-with-evidence
#   live/t7-signers-serve-combined-cds  RFC 8901 model 2: a second Knot joins;
#   live/t7-provider-joins-ds-gets-both both serve CDS {A, B}, the DS set
#   live/t7-second-signer-confirms-its-ds  gets both, then the NS set; both
#   live/t7-both-signers-agree-no-change   agree, nothing left to change, and
#   live/t7-ad-at-every-step            the resolver validates throughout
#   live/t5-rfc9615-no-signal-no-ds     livesig.test. (NS ns.live-ops.test.):
#   live/t5-rfc9615-bootstraps-knot-ksk no DS without the signal; with the
#                                       signal in live-ops.test., Knot's KSK
#
# Knot runs on the real clock with timers of seconds; cdscan's clock is
# moved by --now for the bootstrap delay only, and stays 73 h ahead
# afterwards (its history must not go backwards). Expected DS sets come
# from Knot's own key database (keymgr), never from cdscan's output.
# Every wait is bounded; on a failure Knot's log and `cdscan status` are
# printed. Every server started is stopped on exit. About a minute.
set -uo pipefail
cd "$(dirname "$0")/../.."
CDSCAN=${CDSCAN:-$(pwd)/cdscan}
. tests/lib.sh
. tests/pg.sh
. tests/pipeline/lib.sh
export WORLD_TOOLS=${WORLD_TOOLS:-$(pwd)/${BUILD:-build}/tests/tools}
. tests/world/world.sh
. tests/world/live.sh

need_root
need_cmd jq kdig knotd knotc keymgr drill psql nsd unbound ldns-keygen ldns-key2ds

Z=live.test
T=$(mktemp -d /tmp/cdscan-live.XXXXXX)
chmod 755 "$T" # initdb runs as postgres
W=$T/world
PGD=$T/pg
CONF=$T/cdscan.yaml
on_exit "live_knot_stop live2; live_knot_stop live1; tests/world/stop '$W' >/dev/null 2>&1; pg_stop '$PGD' >/dev/null 2>&1; rm -rf '$T'"

# what to look at when something fails
diag() {
	local i
	for i in live1 live2; do
		[ -f "$W/srv/$i/knot.log" ] || continue
		echo "--- $i: keys"
		live_keys "$i" $Z 2>&1 | sed 's/^/    /'
		echo "--- $i: knot.log (last 25 lines)"
		grep -v 'DS check, outgoing' "$W/srv/$i/knot.log" | tail -n 25
	done
	echo "--- cdscan status $Z."
	cds status $Z. 2>&1 | head -n 30
}

cds() { timeout -k 5 60 "$CDSCAN" -c "$CONF" "$@"; }
_canon() { tr 'A-F' 'a-f' | tr -s ' \t' ' ' | sed 's/^ //; s/ $//' | grep -v '^$' | sort; }
reg_ds() { sql "SELECT unnest(ds) FROM cdscan.delegation WHERE name = '${1:-$Z}.'" | _canon; }
scan_of() { sql "SELECT verdict || '/' || reason FROM cdscan.scan WHERE domain = '${1:-$Z}.' ORDER BY time DESC, id DESC LIMIT 1"; }
# DS rdata of live.test. in a zone file / at the TLD server
zone_ds() { awk -v z="$Z." 'tolower($1) == z && $0 ~ /[ \t]DS[ \t]/ { sub(/.*[ \t]DS[ \t]+/, ""); print }' "$1" | _canon; }
tld_ds() { kdig +norec +retry=0 +timeout=2 @"$(world_addr tld)" $Z. DS +short 2>/dev/null | _canon; }
served_serial() { kdig +norec +short @"$(live_addr "$1")" $Z. SOA 2>/dev/null | awk '{ print $3; exit }'; }
# tags of the KSKs signing the DNSKEY RRset an instance serves
dnskey_signers() {
	kdig +dnssec +norec +retry=0 +timeout=2 @"$(live_addr "$1")" $Z. DNSKEY 2>/dev/null |
		awk '$4 == "RRSIG" && $5 == "DNSKEY" { print $11 }' | sort -u
}
# how often INST logged MESSAGE for ZONE
knot_log() { grep -cF "[${3:-$Z}.] $2" "$W/srv/$1/knot.log" 2>/dev/null; }

# publish: export the registry, rebuild and reload test. when it changed
PUBLISHED=$T/published.zone
: >"$PUBLISHED"
publish() {
	cds export --origin test. --ttl 5 >"$T/export.zone" 2>"$T/export.err" ||
		{ echo "export: $(head -n 2 "$T/export.err")"; return 1; }
	cmp -s "$T/export.zone" "$PUBLISHED" && return 0
	tests/world/reparent "$W" "$T/export.zone" >"$T/reparent.log" 2>&1 ||
		{ echo "reparent: $(tail -n 2 "$T/reparent.log")"; return 1; }
	cp "$T/export.zone" "$PUBLISHED"
}

# ---- setup: the world (steady.test. for its readiness probe), live1 ----
#
# live1 serves three zones: live.test. and livesig.test. (the RFC 9615
# child, whose only NS is ns.live-ops.test.), both signed by Knot, and
# the operator's zone live-ops.test. that holds the RFC 9615 signals,
# signed with world keys (its DS is in test. from the start).
Z9=livesig.test
OPS=live-ops.test
SPEC1="ns1=live1"
SPEC9="ns.$OPS.=live1"
ops_zone() {
	{
		echo "\$TTL $WORLD_TTL"
		echo "$OPS. IN SOA ns.$OPS. hostmaster.$OPS. $1 60 60 3600 60"
		live_deleg $OPS "ns=live1"
		cat
	} >"$W/srv/live1/$OPS.in"
	live_presign live1 $OPS
}
tests/world/build "$W" steady >"$T/build.log" 2>&1 ||
	{ fail live/setup "world build: $(tail -n 3 "$T/build.log")"; finish; }
key $OPS ksk 13 ksk 2>"$T/key.err" && key $OPS zsk 13 2>>"$T/key.err" ||
	{ fail live/setup "keys of $OPS: $(cat "$T/key.err")"; finish; }
# the delegations: live.test. and livesig.test. without DS
{
	cat "$W/tld/test.in"
	live_deleg $Z "$SPEC1"
	live_deleg $Z9 "$SPEC9"
	live_deleg $OPS "ns=live1"
	echo "$OPS. IN DS $(ds_rdata $OPS ksk)"
} >"$T/parent0.zone"
tests/world/reparent "$W" "$T/parent0.zone" >"$T/reparent.log" 2>&1 ||
	{ fail live/setup "reparent: $(tail -n 3 "$T/reparent.log")"; finish; }
tests/world/start "$W" >"$T/start.log" 2>&1 ||
	{ fail live/setup "world start: $(tail -n 3 "$T/start.log")"; finish; }
live_knot_conf live1 "$Z $Z9" "$OPS"
live_zone live1 $Z 1 "$SPEC1" </dev/null
live_zone live1 $Z9 1 "$SPEC9" </dev/null
ops_zone 1 </dev/null || { fail live/setup "cannot sign $OPS"; finish; }
live_knot_start live1 2>"$T/knot.err" ||
	{ fail live/setup "Knot live1: $(cat "$T/knot.err")"; diag; finish; }
# served and signed: the DNSKEY RRset carries the KSK's signature
live_wait 20 eval '[ -n "$(dnskey_signers live1)" ]' ||
	{ fail live/setup "Knot live1 does not serve a signed $Z."; diag; finish; }

pg_start "$PGD" >"$T/pg.log" 2>&1 ||
	{ fail live/setup "PostgreSQL: $(tail -n 3 "$T/pg.log")"; finish; }
# replay protection stays on (the default): the C6 guard compares a CDS
# RRSIG's inception with the signatures that drove the last applied
# change, so Knot's back-dated inceptions (90 min, knot.conf(5)) and this
# test's cdscan clock running 73 h ahead after the bootstrap do not make
# the rollover or the multi-signer join look like replays.
pl_config "$CONF" scanner.timeout=400ms scanner.retries=1 \
	'policy.bootstrap=[delay]'
out=$(cds init 2>&1) && out=$(cds import "$W/tld/test.in" --origin test. 2>&1) ||
	{ fail live/setup "init/import: $out"; finish; }
cp "$W/tld/test.in" "$PUBLISHED"

# insecure until bootstrapped: the AD check below can fail
if live_ad $Z. SOA; then
	fail live/insecure-before-bootstrap "unbound sets AD for $Z. without a DS"
else
	pass live/insecure-before-bootstrap
fi

# ---- bootstrap: accept after delay, 3 scans over 72 h --------------------

H=3600
NOW0=$(date +%s)
OFF=$((73 * H))
clk() { echo $(( $(date +%s) + OFF )); }
KSK1=$(live_keys live1 $Z | awk '$2 == "ksk" { print $1 }')
t_bootstrap() {
	local got want i
	want=$(live_ksk_ds live1 $Z "$KSK1")
	[ -n "$want" ] || { echo "no KSK in Knot's key database"; return; }
	i=0
	for at in $NOW0 $((NOW0 + 36 * H)) $((NOW0 + 72 * H)); do
		i=$((i + 1))
		cds --now "$at" scan $Z. >"$T/scan.out" 2>&1 ||
			{ echo "scan $i: $(tail -n 2 "$T/scan.out")"; return; }
		got=$(scan_of)
		case $i in
		3) [ "$got" = update/bootstrap-delay ] || { echo "scan 3: $got"; return; } ;;
		*) [ "$got" = pending/bootstrap-waiting ] || { echo "scan $i: $got"; return; }
		   [ -z "$(reg_ds)" ] || { echo "a DS after scan $i"; return; } ;;
		esac
	done
	[ "$(reg_ds)" = "$want" ] || echo "registry DS {$(reg_ds | tr '\n' ';')}, Knot's KSK {$want}"
}
why=$(t_bootstrap)
if [ -z "$why" ]; then
	pass live/t5-delay-bootstraps-knot-ksk
else
	fail live/t5-delay-bootstraps-knot-ksk "$why"
	diag
	finish
fi

why=$(publish) || { fail live/knot-confirms-bootstrap-ds "$why"; finish; }
if live_wait 30 eval '[ "$(knot_log live1 "DNSSEC, KSK submission, confirmed")" -ge 1 ]'; then
	pass live/knot-confirms-bootstrap-ds
else
	fail live/knot-confirms-bootstrap-ds "no 'KSK submission, confirmed' within 30 s"
	diag
fi
if live_wait 20 live_ad $Z. SOA; then
	pass live/ad-after-bootstrap
else
	fail live/ad-after-bootstrap "no AD for $Z. SOA within 20 s"
	diag
	finish
fi

# ---- KSK rollover started by knotc, driven by the registry's loop -------

# one step: scan, publish, and the validator's view right after. Runs in
# this shell (no $(...)), so that its records survive.
BAD_AD=
STEPS=0
step() {
	STEPS=$((STEPS + 1))
	cds --now "$(clk)" scan $Z. >"$T/scan.out" 2>&1 ||
		echo "step $STEPS: scan exit $?: $(tail -n 1 "$T/scan.out")" >>"$T/steps.err"
	scan_of >>"$T/verdicts"
	publish >>"$T/steps.err" || true
	live_ad $Z. SOA && live_ad $Z. DNSKEY ||
		BAD_AD="$BAD_AD step $STEPS ($(scan_of), keys $(live_keys live1 $Z | tr '\n' ','));"
}

# the old KSK is gone from Knot's key set (removed) or at least retired
ksk_state() { live_keys live1 $Z | awk -v t="$1" '$1 == t { print $3 }'; }
old_retired() {
	case "$(ksk_state "$KSK1")" in ""|retire|post-active|remove) return 0 ;; esac
	return 1
}

t_rollover() {
	local i end=$((SECONDS + 150))
	ROLL_START=$SECONDS
	live_knotc live1 zone-key-rollover $Z. ksk >"$T/knotc.out" 2>&1 ||
		{ WHY="knotc: $(cat "$T/knotc.out")"; return; }
	for i in $(seq 100); do
		[ $SECONDS -lt $end ] || break
		step
		old_retired && ! dnskey_signers live1 | grepq -x "$KSK1" && break
		sleep 1
	done
	old_retired || { WHY="after $STEPS steps the old KSK $KSK1 is $(ksk_state "$KSK1")"; return; }
	KSK1B=$(live_keys live1 $Z | awk -v t="$KSK1" '$2 == "ksk" && $1 != t && $3 == "active" { print $1 }')
	[ -n "$KSK1B" ] || { WHY="no new active KSK: $(live_keys live1 $Z | tr '\n' ',')"; return; }
	# one more step: nothing is left to do once Knot has settled
	step
}
WHY=
KSK1B=
: >"$T/verdicts"
: >"$T/steps.err"
t_rollover
[ -s "$T/steps.err" ] && WHY="$WHY $(head -n 3 "$T/steps.err" | tr '\n' ';')"
if [ -z "$WHY" ]; then
	pass live/knot-ksk-rollover-completes
else
	fail live/knot-ksk-rollover-completes "$WHY"
	diag
fi
echo "# rollover: $STEPS steps in $((SECONDS - ROLL_START)) s, verdicts:" \
	"$(uniq -c "$T/verdicts" | awk '{ printf "%s x%s, ", $2, $1 }')"

if [ -n "$BAD_AD" ]; then
	fail live/ad-at-every-step "no AD at:$BAD_AD"
elif [ "$STEPS" -lt 3 ] || ! grep -qx 'update/update' "$T/verdicts"; then
	fail live/ad-at-every-step "$STEPS steps, none applied a DS change"
else
	pass live/ad-at-every-step
fi

t_parent_ds() {
	local want
	[ -n "$KSK1B" ] || { echo "no new KSK"; return; }
	want=$(live_ksk_ds live1 $Z "$KSK1B")
	[ -n "$want" ] || { echo "no DS for KSK $KSK1B"; return; }
	[ "$(reg_ds)" = "$want" ] || echo "registry {$(reg_ds | tr '\n' ';')};"
	[ "$(zone_ds "$PUBLISHED")" = "$want" ] || echo "export {$(zone_ds "$PUBLISHED" | tr '\n' ';')};"
	[ "$(tld_ds)" = "$want" ] || echo "TLD server {$(tld_ds | tr '\n' ';')};"
}
why=$(t_parent_ds)
[ -z "$why" ] && pass live/parent-ds-is-new-ksk ||
	fail live/parent-ds-is-new-ksk "not exactly the DS of KSK ${KSK1B:-?}: $why"


# The audit: the bootstrap (no DS -> the first KSK) and the rollover (the
# first KSK -> the new one), each by a scan, with the servers' evidence.
t_history() {
	local h ds1 ds2 n
	h=$(cds history $Z. --json 2>"$T/err") || { echo "history: $(head -n 2 "$T/err")"; return; }
	ds1=$(live_ksk_ds live1 $Z "$KSK1" | tr 'a-f' 'A-F')
	ds2=$(live_ksk_ds live1 $Z "$KSK1B" | tr 'a-f' 'A-F')
	# every change object, wherever the report nests it
	jq -c '[.. | objects | select(has("actor") and has("before") and has("after"))] | unique_by(.id) | .[]' \
		<<<"$h" >"$T/changes" 2>"$T/err" || { echo "history is not JSON: $(head -c 200 <<<"$h")"; return; }
	n=$(jq -s --arg a "$ds1" '[.[] | select(.actor == "scan" and (.before | length) == 0 and
		(.after | map(ascii_upcase)) == [$a] and .evidence != null)] | length' "$T/changes")
	[ "$n" = 1 ] || echo "$n bootstrap changes {} -> {$KSK1} with evidence;"
	n=$(jq -s --arg a "$ds1" --arg b "$ds2" '[.[] | select(.actor == "scan" and
		(.before | map(ascii_upcase)) == [$a] and (.after | map(ascii_upcase)) == [$b] and
		(.evidence | tostring | contains("'"$(live_addr live1)"'")))] | length' "$T/changes")
	[ "$n" = 1 ] || echo "$n rollover changes {$KSK1} -> {$KSK1B} with live1's evidence;"
	[ "$(wc -l <"$T/changes")" = 2 ] || echo "$(wc -l <"$T/changes") changes in all, want 2;"
}
why=$(t_history)
[ -z "$why" ] && pass live/history-has-rollover-with-evidence ||
	fail live/history-has-rollover-with-evidence "$why"

# ---- multi-signer: RFC 8901 model 2 (STANDARDS §7 M1-M3) ----------------
#
# A second Knot (live2) with its own KSK and ZSK joins. Knot 3.2 has no
# dnskey-sync: each signer's zone file carries the other's DNSKEYs and
# the CDS/CDNSKEY of the other's KSK (live_foreign); with
# dnskey-management incremental each Knot keeps those and adds its own,
# so both serve one DNSKEY set of four keys and one CDS/CDNSKEY set of
# both KSKs, each signed by its own KSK. The order is the RFC's: keys
# first, then the DS set (from live1, the only NS the parent knows),
# then the NS set names both operators.
SPEC2="ns1=live1 ns2=live2"
cds_at() { kdig +norec +short +retry=0 +timeout=2 @"$(live_addr "$1")" $Z. CDS 2>/dev/null | _canon; }
both_combined() {
	local a
	a=$(cds_at live1)
	[ "$(wc -l <<<"$a")" = 2 ] && [ "$a" = "$(cds_at live2)" ]
}
both_ds() { { live_ksk_ds live1 $Z "$KSK1B"; live_ksk_ds live2 $Z "$KSK2"; } | _canon; }
ms_ad() {
	live_ad $Z. SOA && live_ad $Z. DNSKEY || MS_BAD="$MS_BAD $1;"
}
MS_BAD=

t_join() {
	local serial
	live_knot_conf live2 $Z
	live_foreign live1 $Z | live_zone live2 $Z 1 "$SPEC2"
	live_knot_start live2 2>"$T/knot.err" || { echo "Knot live2: $(cat "$T/knot.err")"; return; }
	live_wait 20 eval '[ -n "$(dnskey_signers live2)" ]' || { echo "live2 serves no signed zone"; return; }
	KSK2=$(live_keys live2 $Z | awk '$2 == "ksk" { print $1 }')
	[ -n "$KSK2" ] || { echo "live2 has no KSK"; return; }
	serial=$(( $(served_serial live1) + 1 ))
	live_foreign live2 $Z | live_zone live1 $Z "$serial" "$SPEC2"
	live_knotc live1 zone-reload $Z. >"$T/knotc.out" 2>&1 || { echo "knotc zone-reload: $(cat "$T/knotc.out")"; return; }
	live_wait 20 both_combined ||
		{ echo "CDS at live1 {$(cds_at live1 | tr '\n' ';')}, at live2 {$(cds_at live2 | tr '\n' ';')}"; return; }
	[ "$(cds_at live1)" = "$(both_ds)" ] || echo "combined CDS {$(cds_at live1 | tr '\n' ';')} is not {$KSK1B, $KSK2}"
}
KSK2=
why=$(t_join; echo "KSK2=$KSK2" >"$T/ksk2")
. "$T/ksk2"
if [ -z "$why" ]; then
	pass live/t7-signers-serve-combined-cds
else
	fail live/t7-signers-serve-combined-cds "$why"
	diag
	finish
fi
ms_ad "after the join"

t_ds_both() {
	cds --now "$(clk)" scan $Z. >"$T/scan.out" 2>&1 || { echo "scan: $(tail -n 2 "$T/scan.out")"; return; }
	[ "$(scan_of)" = update/update ] || { echo "scan: $(scan_of)"; return; }
	publish || return
	ms_ad "after the DS set grew"
	[ "$(reg_ds)" = "$(both_ds)" ] || echo "registry {$(reg_ds | tr '\n' ';')};"
	[ "$(tld_ds)" = "$(both_ds)" ] || echo "TLD server {$(tld_ds | tr '\n' ';')};"
}
why=$(t_ds_both)
[ -z "$why" ] && pass live/t7-provider-joins-ds-gets-both ||
	{ fail live/t7-provider-joins-ds-gets-both "$why"; diag; }

# the registrar's NS change (no CSYNC here): both operators' servers. Not
# before the new DS set has reached the validators (DS-Wait-Time, at
# least the DS TTL: STANDARDS §7 M4): a resolver that still holds the
# old DS set {live1's KSK} cannot validate live2's DNSKEY set, signed by
# live2's KSK only. That wait is measured, bounded by 15 s.
res_ds() { kdig +retry=0 +timeout=2 @"$WORLD_RESOLVER" $Z. DS +short 2>/dev/null | _canon; }
t_ns_both() {
	local out t0=$SECONDS
	live_wait 15 eval '[ "$(res_ds)" = "$(both_ds)" ]' ||
		{ echo "the resolver still has DS {$(res_ds | tr '\n' ';')} after 15 s"; return; }
	echo "# DS-Wait-Time: the resolver had the new DS set after $((SECONDS - t0)) s" >&2
	cds export --origin test. >"$T/ns.zone" 2>"$T/err" || { echo "export: $(head -n 2 "$T/err")"; return; }
	live_deleg $Z "ns2=live2" >>"$T/ns.zone"
	out=$(cds import "$T/ns.zone" --origin test. 2>&1) || { echo "import: $out"; return; }
	publish || return
	kdig +norec @"$(world_addr tld)" $Z. NS 2>/dev/null | grepq -iE "[[:space:]]NS[[:space:]]+ns2\.$Z\.$" ||
		echo "the TLD server does not delegate to ns2.$Z.;"
	live_wait 30 eval '[ "$(knot_log live2 "DNSSEC, KSK submission, confirmed")" -ge 1 ]' ||
		echo "live2 did not see its DS at the parent within 30 s;"
}
why=$(t_ns_both)
[ -z "$why" ] && pass live/t7-second-signer-confirms-its-ds ||
	{ fail live/t7-second-signer-confirms-its-ds "$why"; diag; }

# Both servers asked (no early stop), each validated against its own
# DNSKEY set (M2), the same CDS set everywhere, equal to the DS set: no
# change (M3); a scan agrees. Each server's DNSKEY set is signed by its
# own KSK, whose DS the parent holds: either server validates.
t_agree() {
	local j s
	j=$(cds check $Z. --json 2>"$T/err") || { echo "check: $(head -n 2 "$T/err")"; return; }
	[ "$(jq -r '.ds.decision + "/" + .ds.reason' <<<"$j")" = unchanged/same-as-current ] ||
		echo "check: $(jq -r '.ds.decision + "/" + .ds.reason + ": " + .ds.detail' <<<"$j");"
	[ "$(jq -r '[.servers[].address] | sort | join(" ")' <<<"$j")" = "$(live_addr live1) $(live_addr live2)" ] ||
		echo "check asked $(jq -c '[.servers[].address]' <<<"$j");"
	[ "$(jq '[.servers[] | select(.dnskey_proven and (.cds | length) == 2)] | length' <<<"$j")" = 2 ] ||
		echo "not both servers proven with 2 CDS: $(jq -c '[.servers[] | {address, dnskey_proven, cds}]' <<<"$j");"
	cds --now "$(clk)" scan $Z. >"$T/scan.out" 2>&1 || { echo "scan: $(tail -n 2 "$T/scan.out")"; return; }
	[ "$(scan_of)" = unchanged/same-as-current ] || echo "scan: $(scan_of);"
	for s in live1:$KSK1B live2:$KSK2; do
		dnskey_signers "${s%%:*}" | grepq -x "${s#*:}" ||
			echo "${s%%:*}'s DNSKEY set is not signed by its KSK ${s#*:};"
		[ "$(kdig +norec +short @"$(live_addr "${s%%:*}")" $Z. DNSKEY | wc -l)" = 4 ] ||
			echo "${s%%:*} does not serve the 4 DNSKEYs;"
	done
	tld_ds | grepq "^$KSK1B " && tld_ds | grepq "^$KSK2 " || echo "the parent lacks a KSK's DS;"
}
why=$(t_agree)
[ -z "$why" ] && pass live/t7-both-signers-agree-no-change ||
	{ fail live/t7-both-signers-agree-no-change "$why"; diag; }

# AD throughout, and for names of both servers' data now that either
# server may answer (each query a fresh lookup: the resolver keeps
# nothing longer than 5 s)
for n in "$Z. SOA" "$Z. DNSKEY" "www.$Z. A" "ns1.$Z. A" "ns2.$Z. A" "ns1.$Z. AAAA nodata"; do
	live_ad $n || MS_BAD="$MS_BAD $n;"
done
[ -z "$MS_BAD" ] && pass live/t7-ad-at-every-step ||
	fail live/t7-ad-at-every-step "no AD:$MS_BAD"


# ---- RFC 9615 (STANDARDS §5 B2, B3): livesig.test. ----------------------
#
# Its only NS, ns.live-ops.test., lies outside it; the signal records
# _dsboot.livesig.test._signal.ns.live-ops.test. (CDS and CDNSKEY equal to
# what Knot publishes at the apex) go into the secure operator zone.
SIG=_dsboot.$Z9._signal.ns.$OPS.
B9="policy.bootstrap=[rfc9615]"
t_9615_missing() {
	cds --now "$(clk)" scan --set "$B9" $Z9. >"$T/scan.out" 2>&1 ||
		{ echo "scan: $(tail -n 2 "$T/scan.out")"; return; }
	[ "$(scan_of $Z9)" = rejected/bootstrap-signal-missing ] || echo "scan: $(scan_of $Z9);"
	[ -z "$(reg_ds $Z9)" ] || echo "a DS was installed;"
}
why=$(t_9615_missing)
[ -z "$why" ] && pass live/t5-rfc9615-no-signal-no-ds ||
	fail live/t5-rfc9615-no-signal-no-ds "$why"

t_9615() {
	local ksk want
	ksk=$(live_keys live1 $Z9 | awk '$2 == "ksk" { print $1 }')
	want=$(live_ksk_ds live1 $Z9 "$ksk")
	[ -n "$want" ] || { echo "no KSK for $Z9 in Knot's key database"; return; }
	live_cds live1 $Z9 "$ksk" | awk -v s="$SIG" '{ $1 = s; print }' | ops_zone 2 ||
		{ echo "cannot sign $OPS"; return; }
	live_knotc live1 zone-reload $OPS. >"$T/knotc.out" 2>&1 ||
		{ echo "knotc zone-reload: $(cat "$T/knotc.out")"; return; }
	# the resolver's negative answer from the scan above lasts <= 5 s
	live_wait 15 live_ad "$SIG" CDS || { echo "the signal does not validate at the resolver"; return; }
	cds --now "$(clk)" scan --set "$B9" $Z9. >"$T/scan.out" 2>&1 ||
		{ echo "scan: $(tail -n 2 "$T/scan.out")"; return; }
	[ "$(scan_of $Z9)" = update/bootstrap-rfc9615 ] || { echo "scan: $(scan_of $Z9)"; return; }
	[ "$(reg_ds $Z9)" = "$want" ] || echo "registry DS {$(reg_ds $Z9 | tr '\n' ';')}, Knot's KSK {$want};"
	publish || return
	live_wait 30 eval '[ "$(knot_log live1 "DNSSEC, KSK submission, confirmed" $Z9)" -ge 1 ]' ||
		echo "Knot did not confirm the DS of $Z9 within 30 s;"
	live_wait 20 live_ad $Z9. SOA || echo "no AD for $Z9. SOA;"
}
why=$(t_9615)
[ -z "$why" ] && pass live/t5-rfc9615-bootstraps-knot-ksk ||
	{ fail live/t5-rfc9615-bootstraps-knot-ksk "$why"; diag; }

finish
