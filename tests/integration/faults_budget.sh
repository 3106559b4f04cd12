#!/usr/bin/env bash
# The per-delegation signature budget (issue 9 item 4, scanner/probe.c
# SCAN_SIGS_PER_DELEGATION = 512): one zone whose NS names all point at
# one address can no longer make the scanner verify 192 signatures per
# name. The zone h-budget.test. asks for a real, signed change (DS {old}
# → CDS {old,new}); badns (127.0.10.200) serves it with 14 broken RRSIGs
# (right key tag) ahead of the two valid ones over the DNSKEY RRset, so
# each server address is charged 16 + 2 + 2 = 20 verifications (the
# DNSKEY RRSIGs up to the per-RRset cap, and the old and new KSK's RRSIGs
# over CDS and CDNSKEY, one key each) and its answers are valid after all
# (as hostile/siglimit shows). With 16 NS names at badns (320) the change
# goes ahead; with 32 (640) the budget is spent after 25 of them (500),
# the other 7 are not verified, and nothing changes: the decision is
# rejected and names the budget. Without the budget the 32 would be an
# update.
#
# Prints "PASS faults/NAME" / "FAIL faults/NAME: why". BUILD=DIR takes
# badns and zonesign from DIR/tests/tools, CDSCAN=PATH another binary.
set -uo pipefail
cd "$(dirname "$0")/../.."
CDSCAN=${CDSCAN:-$(pwd)/cdscan}
BUILD=${BUILD:-build}
BUILD=$(cd "$BUILD" && pwd)
export WORLD_TOOLS=$BUILD/tests/tools
BADNS=$WORLD_TOOLS/badns
BAD=127.0.10.200
. tests/lib.sh

need_root
need_cmd jq nsd knotd unbound ldns-keygen ldns-key2ds
[ -x "$BADNS" ] || { fail faults/budget-setup "no $BADNS (make tests)"; finish; }

T=$(mktemp -d /tmp/cdscan-budget.XXXXXX)
chmod 755 "$T"
W=$T/world
BADNS_PID=
on_exit "[ -n \"\$BADNS_PID\" ] && kill \$BADNS_PID 2>/dev/null; tests/world/stop '$W'; rm -rf '$T'"

# as hostile.sh's zones: DS {old}, both KSKs sign, CDS {old,new}
scn_h-budget() {
	local z=h-budget.test
	key $z old 13 ksk
	key $z new 13 ksk
	key $z zsk 13
	zone_new $z "ns1=op1 ns2=op2"
	ds $z old
	{ cds $z old new; cdnskey $z old new; } | variant $z a
	sign $z a "op1 op2" old new zsk
}
export -f scn_h-budget
tests/world/build "$W" h-budget >"$T/build.log" 2>&1 ||
	{ fail faults/budget-setup "world build: $(tail -n 3 "$T/build.log")"; finish; }
tests/world/start "$W" >"$T/start.log" 2>&1 ||
	{ fail faults/budget-setup "world start: $(tail -n 3 "$T/start.log")"; finish; }
"$BADNS" -a $BAD -l "$T/badns.log" -r 'h-budget.test/DNSKEY=manysigs,14' \
	"$W"/zones/h-budget.test/a.signed >"$T/badns.out" 2>"$T/badns.err" &
BADNS_PID=$!
wait_port $BAD 53 udp 10 && wait_port $BAD 53 tcp 10 ||
	{ fail faults/budget-setup "badns did not start: $(cat "$T/badns.err")"; finish; }

z=h-budget.test.
ds_of() { awk '{ for (i = 1; i < NF; i++) if ($i == "DS") { print $(i+1), $(i+2), $(i+3), toupper($(i+4)); exit } }' "$W/keys/h-budget.test/$1.ds"; }
canon() { tr 'a-f' 'A-F' | sort; }
WANT=$(printf '%s\n%s\n' "$(ds_of old)" "$(ds_of new)" | canon)

# check N: the delegation with N NS names, all at badns
check() {
	local n=$1 args=() i
	for i in $(seq -w 1 "$n"); do args+=(--ns "ns$i.$z=$BAD"); done
	timeout -k 2 30 "$CDSCAN" -c "$W/cdscan.yaml" check "$z" "${args[@]}" \
		--ds "$(ds_of old)" --json 2>"$T/check.err"
}

# under the budget: the change goes ahead, every server verified
t_under() {
	local out dec prop
	out=$(check 16) || { echo "cdscan exit $? ($(tail -n 2 "$T/check.err"))"; return; }
	dec=$(jq -r '.ds.decision + "/" + .ds.reason' <<<"$out")
	prop=$(jq -r '.ds.proposed[]?' <<<"$out" | canon)
	[ "$(jq '.servers | length' <<<"$out")" = 16 ] || echo "$(jq '.servers | length' <<<"$out") servers, expected 16"
	[ "${dec%%/*}" = update ] && [ "$prop" = "$WANT" ] ||
		echo "expected update to {old,new}, got $dec {$prop}: $(jq -r .ds.detail <<<"$out")"
	jq -r '.servers[].error // empty' <<<"$out" | grepq . &&
		echo "a server failed under the budget: $(jq -r '[.servers[].error // empty][0]' <<<"$out")"
}
# over it: 25 servers verified (25 × 20 = 500), 7 not, nothing changes
t_over() {
	local out dec spent
	out=$(check 32) || { echo "cdscan exit $? ($(tail -n 2 "$T/check.err"))"; return; }
	dec=$(jq -r '.ds.decision + "/" + .ds.reason' <<<"$out")
	case "${dec%%/*}" in
	update|delete) echo "UNSAFE: $dec past the budget"; return ;;
	rejected) ;;
	*) echo "expected rejected, got $dec"; return ;;
	esac
	spent=$(jq -r '[.servers[] | select((.error // "") | test("budget of 512 verifications is spent"))] | length' <<<"$out")
	[ "$spent" = 7 ] || echo "$spent servers left unverified by the budget, expected 7 (32 − 512 / 20)"
	jq -r .ds.detail <<<"$out" | grepq "budget" ||
		echo "the detail does not name the budget: $(jq -r .ds.detail <<<"$out")"
	[ "$(grep -c "manysigs" "$T/badns.log")" -ge 32 ] ||
		echo "badns sent its broken RRSIGs $(grep -c manysigs "$T/badns.log") times, expected ≥ 32"
}
for t in under over; do
	if why=$(t_$t); [ -z "$why" ]; then
		pass "faults/sig-budget-$t"
	else
		fail "faults/sig-budget-$t" "$why"
	fi
done
finish
