#!/usr/bin/env bash
# CSYNC through the registry pipeline (issue 5; STANDARDS §6 Y1-Y8, RFC
# 7477, RFC 9975 §3.2) against the DNS test world (tests/world, scenarios
# "y-*": signed children publishing CSYNC, served by NSD, one server
# played by tests/tools/badns) and a throwaway PostgreSQL (tests/pg.sh):
#
#   pipeline/t6-*  `cdscan scan` → the scan's CSYNC verdict and reason in
#                  cdscan.scan → the registry's NS set and in-bailiwick
#                  glue (cdscan.delegation, `cdscan export`): one test per
#                  T line of §6, and the operator's path for held changes
#                  (`cdscan status`, `approve`, `reject`, a stale approval
#                  refused), `history` and `export` after a change.
#
# Expected NS sets and glue come from the world's zone files (the child's
# own NS RRset and addresses, or the parent's delegation), never from
# cdscan's output. One line per test: "PASS name" or "FAIL name: why".
# The world, badns and the cluster are always stopped on exit. CDSCAN=PATH
# tests another binary; WORLD_TOOLS=DIR takes zonesign and badns there.
set -uo pipefail
cd "$(dirname "$0")/../.."
CDSCAN=${CDSCAN:-$(pwd)/cdscan}
. tests/lib.sh
. tests/pg.sh
. tests/pipeline/lib.sh
export WORLD_TOOLS=${WORLD_TOOLS:-$(pwd)/${BUILD:-build}/tests/tools}
BADNS=$WORLD_TOOLS/badns
BADNS_PID=

need_root
need_cmd jq drill psql nsd knotd unbound ldns-keygen ldns-key2ds
[ -x "$BADNS" ] || { fail csync/setup "no $BADNS (make tests)"; finish; }

# steady first: tests/world/start waits until unbound validates it
SCENARIOS="steady y-ns-replace y-nodata-one y-flags-differ y-ds-bit y-flag4
y-held y-rejected y-stale y-soamin y-aaaa-only y-glue-empty y-serial-moves
y-unsigned y-lame"

T=$(mktemp -d /tmp/cdscan-csync.XXXXXX)
chmod 755 "$T" # initdb runs as postgres
W=$T/world
PGD=$T/pg
on_exit "[ -n \"\$BADNS_PID\" ] && kill \$BADNS_PID 2>/dev/null; tests/world/stop '$W' >/dev/null 2>&1; pg_stop '$PGD' >/dev/null 2>&1; rm -rf '$T'"

tests/world/build "$W" $SCENARIOS >"$T/build.log" 2>&1 ||
	{ fail csync/setup "world build: $(tail -n 3 "$T/build.log")"; finish; }
tests/world/start "$W" >"$T/start.log" 2>&1 ||
	{ fail csync/setup "world start: $(tail -n 3 "$T/start.log")"; finish; }

# y-serial-moves' ns2: the first SOA query from variant a (serial 1),
# every later one from variant b (serial 2)
. tests/world/world.sh
. tests/world/scenarios.sh
"$BADNS" -a "$Y_BADNS" -l "$T/badns.log" -r "y-serial-moves.test/SOA=next,1" \
	"$W/zones/y-serial-moves.test/a.signed" \
	"$W/zones/y-serial-moves.test/b.signed" >"$T/badns.out" 2>"$T/badns.err" &
BADNS_PID=$!
wait_port "$Y_BADNS" 53 udp 10 && wait_port "$Y_BADNS" 53 tcp 10 ||
	{ fail csync/setup "badns did not start: $(cat "$T/badns.err")"; finish; }

pg_start "$PGD" >"$T/pg.log" 2>&1 ||
	{ fail csync/setup "PostgreSQL: $(tail -n 3 "$T/pg.log")"; finish; }
CONF=$T/cdscan.yaml
pl_config "$CONF" scanner.timeout=300ms scanner.retries=1
cds() { timeout -k 5 120 "$CDSCAN" -c "$CONF" "$@"; }

# ---- what the world says ---------------------------------------------------

# the NS names of zone Z's head (the child) or delegation (the parent),
# sorted, space-separated
_ns_of() { awk '$3 == "NS" { print $4 }' "$1" | sort | tr '\n' ' ' | sed 's/ $//'; }
child_ns() { _ns_of "$W/zones/${1%.}/head"; }
parent_ns() { _ns_of "$W/tld/${1%.}.deleg"; }
# "name addr" of the A/AAAA lines of in-zone names, sorted, comma-separated
_glue_of() {
	awk -v z=".${2%.}." '($3 == "A" || $3 == "AAAA") && substr($1, length($1) - length(z) + 1) == z { print $1, $4 }' "$1" |
		sort | tr '\n' ',' | sed 's/,$//'
}
child_glue() { _glue_of "$W/zones/${1%.}/head" "$1"; }
parent_glue() { _glue_of "$W/tld/${1%.}.deleg" "$1"; }

# ---- what the registry holds -----------------------------------------------

reg_ns() { sql "SELECT array_to_string(ARRAY(SELECT unnest(ns) ORDER BY 1), ' ') FROM cdscan.delegation WHERE name = '$1'"; }
reg_glue() { sql "SELECT array_to_string(ARRAY(SELECT unnest(cdscan.inbailiwick_glue('$1')) ORDER BY 1), ',')"; }
# the newest scan's CSYNC verdict/reason, and its detail
cs_of() { sql "SELECT csync_verdict || '/' || csync_reason FROM cdscan.scan WHERE domain = '$1' ORDER BY time DESC, id DESC LIMIT 1"; }
cs_detail() { sql "SELECT csync_detail FROM cdscan.scan WHERE domain = '$1' ORDER BY time DESC, id DESC LIMIT 1"; }
# what `cdscan export` publishes for Z: NS lines and glue lines, sorted
exported() { cds export --origin test. | awk -v z="$1" '$1 == z || substr($1, length($1) - length(z)) == "." z { if ($4 != "DS") print $1, $4, $5 }' | sort; }

# unchanged Z: the registry's NS set and glue are still the parent's
unchanged_why() {
	local z=$1 got
	got=$(reg_ns "$z")
	[ "$got" = "$(parent_ns "$z")" ] || { echo "NS set moved to {$got}"; return; }
	got=$(reg_glue "$z")
	[ "$got" = "$(parent_glue "$z")" ] || { echo "glue moved to {$got}"; return; }
	[ "$(sql "SELECT count(*) FROM cdscan.audit WHERE domain = '$z' AND kind = 'ns-update'")" = 0 ] ||
		echo "an ns-update audit row"
}

# result NAME WHY: PASS when WHY is empty
result() {
	if [ -z "$2" ]; then pass "$1"; else fail "$1" "$(echo "$2" | head -n 5 | tr '\n' ';')"; fi
}

# no_change NAME ZONE VERDICT/REASON-REGEX: the scan said so, nothing moved
no_change() {
	local name=$1 z=$2 want=$3 got why
	got=$(cs_of "$z")
	if ! [[ "$got" =~ ^($want)$ ]]; then
		why="expected $want, got ${got:-nothing}: $(cs_detail "$z")"
	else
		why=$(unchanged_why "$z")
	fi
	result "pipeline/$name" "$why"
}

setup_db() {
	local out
	out=$(cds init 2>&1) || { echo "init: $out"; return 1; }
	out=$(cds import "$W/tld/test.in" --origin test. 2>&1) || { echo "import: $out"; return 1; }
	[ "$(sql "SELECT count(*) FROM registry.domain WHERE name LIKE 'y-%'")" = 14 ] ||
		{ echo "import: not every y- domain"; return 1; }
}
if why=$(setup_db); then
	pass pipeline/csync-init-import
else
	fail pipeline/csync-init-import "$why"
	finish
fi

# One run over everything; the retry of y-serial-moves scans again below.
if ! cds scan --all --no-progress >"$T/scan1.out" 2>&1; then
	fail pipeline/csync-scan "exit $?: $(tail -n 3 "$T/scan1.out" | tr '\n' ' ')"
	finish
fi

# ---- the T lines of §6 -----------------------------------------------------

# T: NS sets equal everywhere → NS RRset replaced (and the glue follows:
# ns1's goes, ns3's comes; Y6, Y7)
t_replaced() {
	local z=y-ns-replace.test. got
	got=$(cs_of $z)
	[ "$got" = update/csync-apply ] || { echo "expected update/csync-apply, got $got: $(cs_detail $z)"; return; }
	got=$(reg_ns $z)
	[ "$got" = "$(child_ns $z)" ] || { echo "registry NS {$got}, the child's {$(child_ns $z)}"; return; }
	got=$(reg_glue $z)
	[ "$got" = "$(child_glue $z)" ] || { echo "registry glue {$got}, the child's {$(child_glue $z)}"; return; }
	[ "$(sql "SELECT outcome IS NULL AND csync_outcome = 'applied' FROM cdscan.scan WHERE domain = '$z'")" = t ] ||
		echo "scan row does not say csync_outcome applied"
}
result pipeline/t6-ns-rrset-replaced "$(t_replaced)"

# Y8 [S]: the scan's audit row carries the sanity probe of the new
# delegation, one entry per address of each new NS name: its address, SOA
# serial, authoritative, DNSKEY proven with the current DS (as an
# approval's does)
t_sanity_evidence() {
	local z=y-ns-replace.test. out ev n want got
	out=$(cds history $z --json) || { echo "history --json failed"; return; }
	ev=$(jq -c '[.[] | select(.kind == "ns-update")][0].evidence.check' <<<"$out")
	[ -n "$ev" ] && [ "$ev" != null ] || { echo "no check in the scan's evidence"; return; }
	[ "$(jq -r .verdict <<<"$ev")" = update ] || { echo "check verdict $(jq -r .verdict <<<"$ev")"; return; }
	want=$(child_ns $z)
	got=$(jq -r '[.servers[].name] | unique | join(" ")' <<<"$ev")
	[ "$got" = "$want" ] || { echo "check probed {$got}, the new NS set is {$want}"; return; }
	# every in-bailiwick address of the new set was asked
	for n in $(tr ',' '\n' <<<"$(child_glue $z)" | awk '{ print $2 }'); do
		jq -e --arg a "$n" 'any(.servers[]; .address == $a)' <<<"$ev" >/dev/null ||
			{ echo "address $n not in the check"; return; }
	done
	jq -e 'all(.servers[]; .authoritative == true and .dnskey_proven == true and (.soa_serial | type) == "number")' <<<"$ev" >/dev/null ||
		echo "a server not authoritative, without SOA, or DNSKEY not proven: $ev"
}
result pipeline/t6-scan-audit-has-sanity-check "$(t_sanity_evidence)"

# T: one server answers NODATA for CSYNC → no change (Y8). With early
# stop (the default) a scan that asks that server first stops there:
# without CSYNC at one server no change can agree (STANDARDS Q6)
no_change t6-one-server-nodata-no-change y-nodata-one.test. \
	'rejected/csync-servers-disagree|unchanged/csync-none'
# T: the immediate flag differs → no change (Y8)
no_change t6-immediate-flag-differs-no-change y-flags-differ.test. rejected/csync-servers-disagree
# T: the bit map includes DS, or flag 0x0004 is set → no change (Y2)
no_change t6-ds-bit-no-change y-ds-bit.test. rejected/csync-unsupported
no_change t6-flag-0004-no-change y-flag4.test. rejected/csync-unsupported
# T: soaminimum serial 100 while NS2's SOA is 99 → no change (Y4)
no_change t6-soaminimum-not-reached-no-change y-soamin.test. pending/csync-soaminimum
# T: glue would end up empty → glue unchanged (Y7)
no_change t6-glue-empty-unchanged y-glue-empty.test. rejected/csync-glue-empty
# T: CSYNC data insecure → abort (Y1): an unsigned child
no_change t6-insecure-unsigned-no-change y-unsigned.test. rejected/csync-insecure

# a new NS that is lame → refused with the reason naming it (issue 5 item 2)
t_lame() {
	local z=y-lame.test. why
	why=$(unchanged_why $z)
	[ -z "$why" ] || { echo "$why"; return; }
	[ "$(cs_of $z)" = rejected/csync-new-ns-broken ] ||
		{ echo "expected rejected/csync-new-ns-broken, got $(cs_of $z): $(cs_detail $z)"; return; }
	cs_detail $z | grepq "ns3.y-lame.test" || echo "the detail does not name ns3: $(cs_detail $z)"
}
result pipeline/t6-new-ns-lame-refused "$(t_lame)"

# T: only the AAAA bit set → A glue unchanged: ns1 keeps the parent's A,
# gains the child's AAAA (Y7)
t_aaaa() {
	local z=y-aaaa-only.test. got want
	got=$(cs_of $z)
	[ "$got" = update/csync-apply ] || { echo "expected update/csync-apply, got $got: $(cs_detail $z)"; return; }
	[ "$(reg_ns $z)" = "$(parent_ns $z)" ] || { echo "NS set moved to {$(reg_ns $z)}"; return; }
	# the parent's A glue, plus the child's AAAA glue
	want=$( { tr ',' '\n' <<<"$(parent_glue $z)"; tr ',' '\n' <<<"$(child_glue $z)" | grep ':'; } | sort | tr '\n' ',' | sed 's/,$//')
	got=$(reg_glue $z)
	[ "$got" = "$want" ] || echo "glue {$got}, expected {$want}"
}
result pipeline/t6-aaaa-bit-only-a-glue-unchanged "$(t_aaaa)"

# T: flags = 0 → queued for approval (Y3), shown by `cdscan status`
t_held() {
	local z=$1 out
	[ "$(cs_of $z)" = pending/csync-held ] || { echo "expected pending/csync-held, got $(cs_of $z): $(cs_detail $z)"; return; }
	[ "$(sql "SELECT state FROM cdscan.csync_change WHERE domain = '$z'")" = held ] ||
		{ echo "no held row"; return; }
	out=$(cds status $z 2>&1) || { echo "status: $out"; return; }
	grep -q "CSYNC change held for approval since .*: NS $(parent_ns $z) → $(child_ns $z)" <<<"$out" ||
		{ echo "status does not show the held change: $(grep -i csync <<<"$out")"; return; }
	unchanged_why $z
}
result pipeline/t6-flags-0-held-for-approval "$(t_held y-held.test.)"

# the next scan finds the same change: it stays held as it was (one row,
# the same "since"), not queued again
t_held_again() {
	local z=y-held.test. since out
	since=$(sql "SELECT created FROM cdscan.csync_change WHERE domain = '$z' AND state = 'held'")
	[ -n "$since" ] || { echo "nothing held"; return; }
	out=$(cds scan $z --no-progress 2>&1) || { echo "scan: $out"; return; }
	[ "$(cs_of $z)" = pending/csync-held ] || { echo "rescan: $(cs_of $z)"; return; }
	[ "$(sql "SELECT count(*) || ' ' || max(created) FROM cdscan.csync_change WHERE domain = '$z'")" = "1 $since" ] ||
		echo "held rows now: $(sql "SELECT state, created FROM cdscan.csync_change WHERE domain = '$z'" | tr '\n' ';')"
}
result pipeline/t6-held-kept-across-scans "$(t_held_again)"

t_approve() {
	local z=y-held.test. out
	out=$(USER=tester cds approve $z 2>&1) || { echo "approve: exit $?: $out"; return; }
	grep -q "applied by approve:tester" <<<"$out" || { echo "approve says: $out"; return; }
	[ "$(reg_ns $z)" = "$(child_ns $z)" ] || { echo "registry NS {$(reg_ns $z)}"; return; }
	[ "$(reg_glue $z)" = "$(child_glue $z)" ] || { echo "registry glue {$(reg_glue $z)}"; return; }
	[ "$(sql "SELECT state || ' ' || decided_by FROM cdscan.csync_change WHERE domain = '$z'")" = "applied approve:tester" ] ||
		{ echo "held row: $(sql "SELECT state, decided_by FROM cdscan.csync_change WHERE domain = '$z'")"; return; }
	[ "$(sql "SELECT count(*) FROM cdscan.audit WHERE domain = '$z' AND kind = 'ns-update' AND actor = 'approve:tester' AND evidence ? 'check'")" = 1 ] ||
		echo "no audit row naming the operator with the new check"
}
result pipeline/t6-held-then-approved "$(t_approve)"

# the approval is an event like a scan's change: the registrar's hook
# hears of it (kind ns-update, who decided, the NS sets)
t_approve_event() {
	local z=y-held.test.
	[ "$(sql "SELECT count(*) FROM cdscan.event e JOIN cdscan.audit a ON a.id = e.audit_id
	          WHERE e.domain = '$z' AND e.kind = 'ns-update' AND a.actor = 'approve:tester'
	          AND e.payload ->> 'actor' = 'approve:tester' AND e.payload ->> 'outcome' = 'approved'
	          AND e.payload -> 'after' = to_jsonb(a.after_ns)")" = 1 ] ||
		echo "events of $z: $(sql "SELECT kind, payload FROM cdscan.event WHERE domain = '$z'" | tr '\n' ';')"
}
result pipeline/csync-approval-is-an-event "$(t_approve_event)"

t_reject() {
	local z=y-rejected.test. out why
	why=$(t_held $z)
	[ -z "$why" ] || { echo "before: $why"; return; }
	out=$(cds reject $z --by tester --reason "not this week" 2>&1) || { echo "reject: exit $?: $out"; return; }
	[ "$(sql "SELECT state || ' ' || decided_by || ' ' || why FROM cdscan.csync_change WHERE domain = '$z'")" = "rejected reject:tester not this week" ] ||
		{ echo "held row not rejected"; return; }
	[ "$(sql "SELECT count(*) FROM cdscan.audit WHERE domain = '$z' AND kind = 'ns-rejected' AND actor = 'reject:tester'")" = 1 ] ||
		{ echo "no audit row for the rejection"; return; }
	unchanged_why $z
	out=$(cds approve $z 2>&1) && { echo "approve after reject succeeded: $out"; return; }
	grep -q "no CSYNC change is held" <<<"$out" || echo "approve with nothing held says: $out"
}
result pipeline/t6-held-then-rejected "$(t_reject)"

t_reject_event() {
	local z=y-rejected.test.
	[ "$(sql "SELECT count(*) FROM cdscan.event WHERE domain = '$z' AND kind = 'csync-rejected'
	          AND payload ->> 'actor' = 'reject:tester' AND payload ->> 'detail' = 'not this week'")" = 1 ] ||
		echo "events of $z: $(sql "SELECT kind, payload FROM cdscan.event WHERE domain = '$z'" | tr '\n' ';')"
}
result pipeline/csync-rejection-is-an-event "$(t_reject_event)"

# A held change the child no longer asks for goes with the scan that sees
# it go: y-rejected is held again by a rescan, then the registry takes
# the child's NS set by other means, so the child's CSYNC names what the
# registry holds; the next scan supersedes the held change, status stops
# showing it and approve finds nothing held
t_withdrawn() {
	local z=y-rejected.test. out n a
	out=$(cds scan $z --no-progress 2>&1) || { echo "rescan: $out"; return; }
	[ "$(sql "SELECT count(*) FROM cdscan.csync_change WHERE domain = '$z' AND state = 'held'")" = 1 ] ||
		{ echo "not held again: $(cs_of $z)"; return; }
	for n in $(child_ns $z); do
		sql "INSERT INTO registry.domain_ns (domain_id, ns_name) SELECT id, '$n' FROM registry.domain
		     WHERE name = '$z' ON CONFLICT DO NOTHING" >/dev/null
	done
	tr ',' '\n' <<<"$(child_glue $z)" | while read -r n a; do
		sql "INSERT INTO registry.host (name, addr) VALUES ('$n', '$a') ON CONFLICT DO NOTHING" >/dev/null
	done
	[ "$(reg_ns $z)" = "$(child_ns $z)" ] && [ "$(reg_glue $z)" = "$(child_glue $z)" ] ||
		{ echo "set-up: registry {$(reg_ns $z)} {$(reg_glue $z)}"; return; }
	out=$(cds scan $z --no-progress 2>&1) || { echo "scan: $out"; return; }
	[ "$(cs_of $z)" = unchanged/csync-no-change ] || { echo "scan: $(cs_of $z): $(cs_detail $z)"; return; }
	[ "$(sql "SELECT state || ' ' || decided_by FROM cdscan.csync_change WHERE domain = '$z' ORDER BY id DESC LIMIT 1")" = "superseded scan" ] ||
		{ echo "held row: $(sql "SELECT state, decided_by, why FROM cdscan.csync_change WHERE domain = '$z' ORDER BY id DESC LIMIT 1")"; return; }
	[ "$(sql "SELECT count(*) FROM cdscan.audit WHERE domain = '$z' AND kind = 'ns-superseded' AND actor = 'scan'")" = 1 ] ||
		{ echo "no audit row for the superseded change"; return; }
	out=$(cds status $z 2>&1) || { echo "status: $out"; return; }
	grep -q "held for approval" <<<"$out" && { echo "status still shows it: $(grep -i held <<<"$out")"; return; }
	out=$(cds approve $z 2>&1) && { echo "approve succeeded: $out"; return; }
	grep -q "no CSYNC change is held" <<<"$out" || echo "approve says: $out"
}
result pipeline/csync-held-withdrawn-superseded "$(t_withdrawn)"

# approving a held change after the registry's NS set moved (a change by
# other means): refused as stale, the held row superseded, nothing applied
t_stale() {
	local z=y-stale.test. out before
	[ "$(cs_of $z)" = pending/csync-held ] || { echo "not held: $(cs_of $z)"; return; }
	sql "DELETE FROM registry.domain_ns n USING registry.domain d
	     WHERE d.name = '$z' AND n.domain_id = d.id AND n.ns_name = 'ns2.$z'" >/dev/null
	before=$(reg_ns $z)
	out=$(cds approve $z 2>&1) && { echo "approve succeeded: $out"; return; }
	grep -q "stale" <<<"$out" || { echo "approve says: $out"; return; }
	[ "$(sql "SELECT state FROM cdscan.csync_change WHERE domain = '$z'")" = superseded ] ||
		{ echo "held row not superseded"; return; }
	[ "$(reg_ns $z)" = "$before" ] || echo "registry NS moved to {$(reg_ns $z)}"
}
result pipeline/t6-approve-stale-refused "$(t_stale)"

# T: serial changes during the transaction → retry (Y5): the first scan
# sees ns2's SOA move and changes nothing; the retry sees it stable
t_serial() {
	local z=y-serial-moves.test. out
	[ "$(cs_of $z)" = pending/csync-serial-moved ] ||
		{ echo "scan 1: expected pending/csync-serial-moved, got $(cs_of $z): $(cs_detail $z)"; return; }
	[ "$(reg_ns $z)" = "$(parent_ns $z)" ] || { echo "scan 1 moved the NS set"; return; }
	[ "$(grep -c "y-serial-moves.test. SOA" "$T/badns.log")" -ge 2 ] ||
		{ echo "badns did not answer SOA twice: $(grep SOA "$T/badns.log" | tr '\n' ' ')"; return; }
	out=$(cds scan $z --no-progress 2>&1) || { echo "scan 2: $out"; return; }
	[ "$(cs_of $z)" = update/csync-apply ] ||
		{ echo "retry: expected update/csync-apply, got $(cs_of $z): $(cs_detail $z)"; return; }
	[ "$(reg_ns $z)" = "$(child_ns $z)" ] || echo "retry: registry NS {$(reg_ns $z)}"
}
result pipeline/t6-serial-moves-retry "$(t_serial)"

# history and export show the applied change, with its evidence
t_history() {
	local z=y-ns-replace.test. out want n
	out=$(cds history $z 2>&1) || { echo "history: $out"; return; }
	grep -q "  scan  ns-update  run " <<<"$out" || { echo "no ns-update entry: $out"; return; }
	for n in $(child_ns $z); do
		grep -q "$n" <<<"$out" || { echo "history does not name $n"; return; }
	done
	grep -qE "CSYNC +present, serial 1, flags 1" <<<"$out" || { echo "no CSYNC evidence per server: $out"; return; }
	out=$(cds history $z --json) || { echo "history --json failed"; return; }
	[ "$(jq -r '[.[] | select(.kind == "ns-update")][0].evidence.servers | length' <<<"$out")" -ge 2 ] ||
		{ echo "json evidence has no servers"; return; }
	[ "$(jq -r '[.[] | select(.kind == "ns-update")][0].after_ns | join(" ")' <<<"$out")" = "$(child_ns $z)" ] ||
		{ echo "json after_ns wrong"; return; }
	want=$( { for n in $(child_ns $z); do echo "$z NS $n"; done
		  tr ',' '\n' <<<"$(child_glue $z)" | awk '{ print $1, ($2 ~ /:/ ? "AAAA" : "A"), $2 }'; } | sort)
	out=$(exported $z)
	[ "$out" = "$want" ] || echo "export: $(echo $out), expected $(echo $want)"
}
result pipeline/t6-history-and-export-show-change "$(t_history)"

finish
