#!/usr/bin/env bash
# `cdscan check ZONE --json` against every scenario zone of the test world
# (tests/world): real NSD, Knot and unbound on 127.0.10.x, zones signed at
# test time. One line per scenario: "PASS check/NAME" or
# "FAIL check/NAME: why". The world is always stopped on exit.
#
# Expected DS sets are computed here from the scenario's keys
# (keys/ZONE/NAME.ds, written by ldns-key2ds -2), never copied from
# cdscan's output. Select scenarios with SCENARIOS="a b" and keep the world
# running afterwards with KEEP_WORLD=1 (its directory is printed). CDSCAN=PATH
# tests another binary.
set -uo pipefail
cd "$(dirname "$0")/../.."
CDSCAN=${CDSCAN:-$(pwd)/cdscan}
. tests/lib.sh

# scenario                  decision  reason                 proposed (key names)  checks
EXPECT='
steady                      unchanged no-cds                 -                     -
steady-cds                  unchanged same-as-current        -                     -
ksk-rollover                update    update                 old,new               -
ksk-rollover-done           update    update                 new                   -
cdnskey-only                update    update                 ksk,new               -
cds-cdnskey-mismatch        rejected  cds-cdnskey-mismatch   -                     -
one-disagrees               rejected  servers-disagree       -                     servers=3,detail=127.0.10.13|ns3.one-disagrees.test
delete-all                  delete    delete                 -                     -
delete-one                  rejected  delete-partial         -                     servers=3
delete-malformed            rejected  delete-malformed       -                     -
expired-rrsig               rejected  signature-invalid      -                     -
cds-zsk-only                rejected  signed-by-non-ds-key   -                     -
new-ds-no-dnskey            rejected  breaks-delegation      -                     -
sha1-only                   rejected  no-eligible-digest     -                     -
sha1-and-sha256             update    update                 ksk,new               -
alg7-refused                rejected  algorithm-refused      -                     -
alg5-refused                rejected  algorithm-refused      -                     -
alg7-to-13                  update    update                 ksk13                 -
alg-rollover-8-13           update    update                 ksk8,ksk13            -
alg-rollover-8-13-done      update    update                 ksk13                 -
multi-signer                update    update                 ksk_a,ksk_b,ksk_b2    servers=2
multi-signer-own-key-only   rejected  servers-disagree       -                     servers=2
silent-server               pending   server-unreachable     -                     servers=2,error=127.0.10.99
tcp-large                   update    update                 ksk,rsa1,rsa2,rsa3,rsa4 tcp
ipv6                        update    update                 ksk,new               servers=2,addr=::1,addr=127.0.10.13
no-glue                     update    update                 ksk,new               servers=2,addr=127.0.10.11,addr=127.0.10.13
op-a                        unchanged no-cds                 -                     -
already-insecure            unchanged already-insecure       -                     -
first-no-cds                rejected  servers-disagree       -                     servers=2
'

need_root
need_cmd jq drill nsd knotd unbound ldns-keygen ldns-key2ds

W=$(mktemp -d /tmp/cdscan-world.XXXXXX)
if [ "${KEEP_WORLD:-0}" = 1 ]; then
	on_exit "echo '# world kept running in $W'"
else
	on_exit "tests/world/stop '$W'; rm -rf '$W'"
fi

# lower-case, one record per line, sorted: a canonical set to compare
_canon() { tr 'A-F' 'a-f' | tr -s ' \t' ' ' | sed 's/^ //; s/ $//' | grep -v '^$' | sort; }

# expected DS rdata of the comma-separated key names of zone Z
_expected_ds() {
	local z=$1 names=$2 n
	for n in ${names//,/ }; do
		awk '{ for (i = 1; i < NF; i++) if ($i == "DS") { print $(i+1), $(i+2), $(i+3), $(i+4); exit } }' \
			"$W/keys/$z/$n.ds"
	done | _canon
}

# extra checks on the JSON in $out: prints why on failure
_extra_checks() {
	local z=$1 checks=$2 c v n
	[ "$checks" = - ] && return 0
	for c in ${checks//,/ }; do
		v=${c#*=}
		case "$c" in
		servers=*)
			n=$(jq '.servers | length' <<<"$out")
			[ "$n" = "$v" ] || { echo "expected $v server entries, got $n"; return 1; } ;;
		addr=*)
			jq -e --arg a "$v" 'any(.servers[]; .address == $a)' <<<"$out" >/dev/null ||
				{ echo "no server entry for address $v"; return 1; } ;;
		tcp)
			jq -e 'any(.servers[]; .transport == "tcp")' <<<"$out" >/dev/null ||
				{ echo "no server answered over tcp (transports: $(jq -c '[.servers[].transport]' <<<"$out"))"; return 1; } ;;
		error=*)
			jq -e --arg a "$v" 'any(.servers[]; .address == $a and .error != null)' <<<"$out" >/dev/null ||
				{ echo "server $v has no error"; return 1; } ;;
		detail=*)
			jq -r '.ds.detail' <<<"$out" | grepq -E "$v" ||
				{ echo "detail does not name $v: $(jq -r .ds.detail <<<"$out")"; return 1; } ;;
		*) echo "unknown check $c"; return 1 ;;
		esac
	done
}

check_one() {
	local s=$1 dec=$2 reason=$3 prop=$4 checks=$5 z=$1.test err got want
	err=$W/check-$s.err
	out=$(timeout 60 "$CDSCAN" -c "$W/cdscan.yaml" check "$z." --json 2>"$err")
	local rc=$?
	if [ $rc -ne 0 ]; then
		fail "check/$s" "cdscan exit $rc: $(tail -n 3 "$err" | tr '\n' ' ')"
		return
	fi
	if ! jq -e . >/dev/null 2>&1 <<<"$out"; then
		fail "check/$s" "not JSON: $(head -c 200 <<<"$out")"
		return
	fi
	got="$(jq -r '.ds.decision + "/" + .ds.reason' <<<"$out")"
	if [ "$got" != "$dec/$reason" ]; then
		fail "check/$s" "expected $dec/$reason, got $got ($(jq -r .ds.detail <<<"$out"))"
		return
	fi
	if [ "$prop" != - ]; then
		want=$(_expected_ds "$z" "$prop")
		got=$(jq -r '.ds.proposed[]?' <<<"$out" | _canon)
		if [ "$got" != "$want" ]; then
			fail "check/$s" "proposed {$(echo $got | tr '\n' ';')} expected {$(echo $want | tr '\n' ';')}"
			return
		fi
	fi
	if ! why=$(_extra_checks "$z" "$checks"); then
		fail "check/$s" "$why"
		return
	fi
	pass "check/$s"
}

WORLD_JOBS=${WORLD_JOBS:-} tests/world/build "$W" >/dev/null || { fail world/build "see above"; finish; }
tests/world/start "$W" >/dev/null || { fail world/start "see above"; finish; }

# the world itself: unbound validates a child of test. (AD bit) and treats
# the child without DS as insecure (no AD, but an answer)
if drill -D @127.0.10.53 SOA steady.test. | grepq '^;; flags:.* ad[ ;]'; then
	pass world/validates
else
	fail world/validates "no AD bit for steady.test. SOA from unbound"
fi
if drill -D @127.0.10.53 SOA already-insecure.test. | grepq 'rcode: NOERROR' &&
   ! drill -D @127.0.10.53 SOA already-insecure.test. | grepq '^;; flags:.* ad[ ;]'; then
	pass world/insecure-child
else
	fail world/insecure-child "already-insecure.test. should resolve without AD"
fi

if [ ! -x "$CDSCAN" ]; then
	fail check "no $CDSCAN binary (make cdscan)"
	finish
fi

while read -r s dec reason prop checks; do
	[ -n "$s" ] || continue
	if [ -n "${SCENARIOS:-}" ] && ! grep -qw -- "$s" <<<"$SCENARIOS"; then
		continue
	fi
	check_one "$s" "$dec" "$reason" "$prop" "$checks"
done <<<"$EXPECT"
# ---- the command line itself, against the same world ----

# a registrar's view: NS addresses and current DS given on the command line,
# nothing asked of the resolver about the delegation (no resolver at all)
cli_explicit() {
	local z=ksk-rollover.test ds want got
	ds=$(awk '{ for (i = 1; i < NF; i++) if ($i == "DS") { print $(i+1), $(i+2), $(i+3), $(i+4); exit } }' "$W/keys/$z/old.ds")
	out=$("$CDSCAN" -c "$W/cdscan.yaml" check "$z" --set resolver.servers=127.0.10.98 \
		--ns "ns1.$z=127.0.10.11" --ns "ns2.$z=127.0.10.21" --ds "$ds" --json 2>&1) ||
		{ fail cli/explicit-ns-ds "exit $?: $out"; return; }
	want=$(_expected_ds "$z" old,new)
	got=$(jq -r '.ds.proposed[]?' <<<"$out" | _canon)
	if [ "$(jq -r .ds.decision <<<"$out")" = update ] && [ "$got" = "$want" ] &&
	   [ "$(jq '.servers | length' <<<"$out")" = 2 ]; then
		pass cli/explicit-ns-ds
	else
		fail cli/explicit-ns-ds "$(jq -c '.ds' <<<"$out")"
	fi
}

# --ds none: the parent holds no DS, so the CDS is a bootstrap request;
# every NS of ksk-rollover.test lies inside it, so RFC 9615 (on by
# default) cannot vouch for it (STANDARDS B3; tests/integration/bootstrap.sh)
cli_ds_none() {
	out=$("$CDSCAN" -c "$W/cdscan.yaml" check ksk-rollover.test --ds none --json 2>&1)
	if [ "$(jq -r '.ds.decision + "/" + .ds.reason' <<<"$out")" = rejected/bootstrap-ns-in-child ]; then
		pass cli/ds-none
	else
		fail cli/ds-none "$(jq -c .ds <<<"$out" 2>/dev/null || echo "$out")"
	fi
}

# RFC 7344 §4.1 switch: a CDS signed by the ZSK is accepted only when asked
cli_accept_any() {
	out=$("$CDSCAN" -c "$W/cdscan.yaml" check cds-zsk-only.test --json \
		--set policy.accept-any-dnskey=true 2>&1)
	if [ "$(jq -r .ds.decision <<<"$out")" = update ]; then
		pass cli/accept-any-dnskey-switch
	else
		fail cli/accept-any-dnskey-switch "$(jq -c .ds <<<"$out" 2>/dev/null || echo "$out")"
	fi
}

# the report for people names each server and what it said
cli_text() {
	out=$("$CDSCAN" -c "$W/cdscan.yaml" check one-disagrees.test 2>&1)
	if grep -q '^decision *rejected (servers-disagree)' <<<"$out" &&
	   [ "$(grep -cE '^  ns[123]\.one-disagrees\.test\. 127\.0\.10\.1[123] ' <<<"$out")" = 3 ] &&
	   grep -q 'CDS .*signature valid' <<<"$out"; then
		pass cli/text-report
	else
		fail cli/text-report "$out"
	fi
}

# STANDARDS Q1 T line "3 NS names with IPv4 and IPv6 -> 6 queries": every
# address of every NS name is asked, and each is reported on its own
cli_every_address() {
	local a=127.0.10.13,::1
	out=$("$CDSCAN" -c "$W/cdscan.yaml" check ipv6.test --json \
		--ns "ns1.ipv6.test=$a" --ns "ns-b.ipv6.test=$a" --ns "ns-c.ipv6.test=$a" 2>&1)
	if [ "$(jq '[.servers[] | select(.error == null and .soa_serial != null)] | length' <<<"$out")" = 6 ] &&
	   [ "$(jq '[.servers[] | select(.address == "::1")] | length' <<<"$out")" = 3 ] &&
	   [ "$(jq -r .ds.decision <<<"$out")" = update ]; then
		pass cli/q1-three-ns-v4-v6-six-servers
	else
		fail cli/q1-three-ns-v4-v6-six-servers "$(jq -c '[.servers[] | [.name, .address, .error]], .ds.decision' <<<"$out" 2>/dev/null || echo "$out")"
	fi
}

# exit status: 0 ran, 1 could not run, 2 usage
cli_exit() {
	local rc bad=$W/bad.yaml
	"$CDSCAN" >/dev/null 2>&1; rc=$?
	[ $rc = 2 ] || { fail cli/exit-codes "no command: exit $rc, want 2"; return; }
	"$CDSCAN" check steady.test --ds "1 2 3" >/dev/null 2>&1; rc=$?
	[ $rc = 2 ] || { fail cli/exit-codes "bad --ds: exit $rc, want 2"; return; }
	"$CDSCAN" -c "$W/cdscan.yaml" check no-such-zone.test >/dev/null 2>&1; rc=$?
	[ $rc = 1 ] || { fail cli/exit-codes "unknown zone: exit $rc, want 1"; return; }
	printf 'scanner:\n  timeout: soon\n' >"$bad"
	out=$("$CDSCAN" -c "$bad" check steady.test 2>&1); rc=$?
	[ $rc = 1 ] && grep -q "bad.yaml:2: scanner.timeout" <<<"$out" ||
		{ fail cli/exit-codes "bad config: exit $rc: $out"; return; }
	"$CDSCAN" -c "$W/cdscan.yaml" check silent-server.test >/dev/null 2>&1; rc=$?
	[ $rc = 0 ] || { fail cli/exit-codes "pending decision: exit $rc, want 0"; return; }
	pass cli/exit-codes
}

# ---- early stop (STANDARDS Q6 [MAY], RFC 9975 §3) ----

# These count the queries of the DS early stop alone: CSYNC (asked by
# check with policy.csync, one more query at the first server) is off
# here and counted by csync_check.sh.
DS_ONLY=(--set policy.csync=false)

# check --early-stop --json on zone $1 (extra arguments follow) into $out
_early() {
	local z=$1
	shift
	out=$(timeout 60 "$CDSCAN" -c "$W/cdscan.yaml" check "$z" --json --early-stop "${DS_ONLY[@]}" "$@" 2>&1)
}

# what an early-stopped result must look like: decision, reason, one
# server asked, 2 queries (CDS and CDNSKEY; address lookups not counted)
_early_stopped() {
	local name=$1 want=$2
	if [ "$(jq -r '.ds.decision + "/" + .ds.reason' <<<"$out" 2>/dev/null)" = "$want" ] &&
	   [ "$(jq -r .stopped_early <<<"$out")" = true ] &&
	   [ "$(jq '.servers | length' <<<"$out")" = 1 ] &&
	   [ "$(jq .queries <<<"$out")" = 2 ] &&
	   [ "$(jq -r '.servers[0].dnskey_rrset.state' <<<"$out")" = not-queried ]; then
		pass "$name"
	else
		fail "$name" "$(jq -c '{ds: .ds.decision, r: .ds.reason, stopped_early, queries, servers: [.servers[] | [.name, .address, .cds_rrset.state, .dnskey_rrset.state]]}' <<<"$out" 2>/dev/null || echo "$out")"
	fi
}

# Q6 T: no CDS anywhere → one server, CDS and CDNSKEY only, 2 queries
early_no_cds() {
	_early steady.test
	_early_stopped q6/early-stop-no-cds-one-server-two-queries unchanged/no-cds
}

# Q6: CDS/CDNSKEY equal to the current DS confirm the status quo too
early_same() {
	_early steady-cds.test
	_early_stopped q6/early-stop-cds-equal-current unchanged/same-as-current
}

# Q6: the first server (ns1, by name) has no CDS, ns2 asks for a change.
# The full probe sees the disagreement (table above: rejected); stopping
# at ns1 is allowed, since nothing may change either way.
early_first_no_cds() {
	_early first-no-cds.test
	_early_stopped q6/early-stop-first-no-cds-other-has-cds unchanged/no-cds
	if [ "$(jq -r '.servers[0].name' <<<"$out")" != ns1.first-no-cds.test. ]; then
		fail q6/early-stop-asks-first-name "asked $(jq -r '.servers[0].name' <<<"$out"), want ns1.first-no-cds.test."
	else
		pass q6/early-stop-asks-first-name
	fi
}

# Q6: a rollover asks for a change → the full probe, with the same
# decision and the same number of queries as without early stop (the
# first server's CDS/CDNSKEY answers are reused, not asked again)
early_rollover() {
	local full
	full=$(timeout 60 "$CDSCAN" -c "$W/cdscan.yaml" check ksk-rollover.test --json "${DS_ONLY[@]}" 2>&1)
	_early ksk-rollover.test
	if [ "$(jq -r .stopped_early <<<"$out")" = false ] &&
	   [ "$(jq -r .ds.decision <<<"$out")" = update ] &&
	   [ "$(jq -c '[.ds.decision, .ds.reason, (.ds.proposed | sort)]' <<<"$out")" = \
	     "$(jq -c '[.ds.decision, .ds.reason, (.ds.proposed | sort)]' <<<"$full")" ] &&
	   [ "$(jq .queries <<<"$out")" = "$(jq .queries <<<"$full")" ] &&
	   [ "$(jq .queries <<<"$out")" = 8 ] &&
	   [ "$(jq '[.servers[] | select(.dnskey_proven)] | length' <<<"$out")" = 2 ]; then
		pass q6/early-stop-rollover-full-probe-same-decision
	else
		fail q6/early-stop-rollover-full-probe-same-decision \
			"early $(jq -c '[.ds.decision, .ds.reason, .stopped_early, .queries]' <<<"$out" 2>/dev/null || echo "$out") full $(jq -c '[.ds.decision, .ds.reason, .queries]' <<<"$full" 2>/dev/null || echo "$full")"
	fi
}

# Q6: the server asked first does not answer → every other server is
# asked as without early stop, and the silent one is not asked again
# (2 timed-out queries + 4 at ns1 = 6)
early_first_silent() {
	_early silent-server.test --ns "a-silent.silent-server.test=127.0.10.99" \
		--ns "ns1.silent-server.test=127.0.10.11"
	if [ "$(jq -r '.ds.decision + "/" + .ds.reason' <<<"$out")" = pending/server-unreachable ] &&
	   [ "$(jq -r .stopped_early <<<"$out")" = false ] &&
	   [ "$(jq '.servers | length' <<<"$out")" = 2 ] &&
	   [ "$(jq .queries <<<"$out")" = 6 ]; then
		pass q6/early-stop-first-server-silent-full-probe
	else
		fail q6/early-stop-first-server-silent-full-probe "$(jq -c '{d: .ds.decision, r: .ds.reason, stopped_early, queries, s: [.servers[] | [.address, .error]]}' <<<"$out" 2>/dev/null || echo "$out")"
	fi
}

# Q6 over every scenario: early stop may turn a refusal or a wait into
# "unchanged", but never changes, adds or hides a change: every update
# or delete of the full probe comes out the same, and every "unchanged"
# keeps its reason.
early_never_changes_outcome() {
	local s dec reason prop checks full got bad=
	while read -r s dec reason prop checks; do
		[ -n "$s" ] || continue
		full="$dec/$reason"
		_early "$s.test"
		got=$(jq -r '.ds.decision + "/" + .ds.reason' <<<"$out" 2>/dev/null) || got="error: $out"
		case "$dec" in
		update|delete|unchanged)
			[ "$got" = "$full" ] || bad="$bad $s($full→$got)"
			[ "$prop" = - ] ||
				[ "$(jq -r '.ds.proposed[]?' <<<"$out" | _canon)" = "$(_expected_ds "$s.test" "$prop")" ] ||
				bad="$bad $s(proposed)" ;;
		*)
			[ "$got" = "$full" ] || [ "${got%%/*}" = unchanged ] ||
				bad="$bad $s($full→$got)" ;;
		esac
	done <<<"$EXPECT"
	if [ -z "$bad" ]; then
		pass q6/early-stop-never-changes-the-outcome
	else
		fail q6/early-stop-never-changes-the-outcome "$bad"
	fi
}

if [ -z "${SCENARIOS:-}" ]; then
	early_no_cds
	early_same
	early_first_no_cds
	early_rollover
	early_first_silent
	early_never_changes_outcome
	cli_explicit
	cli_ds_none
	cli_accept_any
	cli_text
	cli_every_address
	cli_exit
fi
finish
