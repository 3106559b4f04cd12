#!/usr/bin/env bash
# CSYNC changes through the EPP outbox (issue 5 follow-up 1, STANDARDS §6
# and §10 E5-E8): the DNS test world's y-ns-replace child (ns1 leaves, ns3
# of another operator joins, with glue), a throwaway PostgreSQL and the
# test registry (tests/tools/eppserver, host objects, every frame
# schema-checked), driven by `cdscan scan` with `sink: epp`:
#
#   csync_epp/ns-replace-pushed-by-scan   the scan queues the NS change
#       in its own transaction and sends it at its end: host:create of
#       ns3 with its glue, one domain:update (rem ns1, add ns3); the local
#       NS set and glue follow only the registry's 1000
#   csync_epp/second-scan-sends-nothing   no new row, no new update
#   csync_epp/server-down-queued-then-sent  the registry down: the change
#       waits ('queued', nothing local moves); `cdscan epp send` once it
#       is back carries it out exactly once
#
# Expected NS sets and glue come from the world's zone files and the test
# registry's own state file, never from cdscan's output.
set -uo pipefail
cd "$(dirname "$0")/../.."
CDSCAN=${CDSCAN:-$(pwd)/cdscan}
BUILD=${BUILD:-build}
. tests/lib.sh
. tests/pg.sh
. tests/pipeline/lib.sh
. tests/epp/lib.sh

need_root
need_cmd drill psql nsd knotd unbound ldns-keygen ldns-key2ds openssl
[ -n "$(pg_bindir)" ] || { fail csync_epp "PostgreSQL is not installed"; finish; }
[ -x "$BUILD/tests/tools/eppserver" ] ||
	{ fail csync_epp/setup "no $BUILD/tests/tools/eppserver (make tests)"; finish; }

Z=y-ns-replace.test.
T=$(mktemp -d /tmp/cdscan-csync-epp.XXXXXX)
chmod 755 "$T" # initdb runs as postgres
W=$T/world
PGD=$T/pg
E=$T/epp
on_exit "epp_stop '$E'; tests/world/stop '$W' >/dev/null 2>&1; pg_stop '$PGD' >/dev/null 2>&1; rm -rf '$T'"

tests/world/build "$W" steady y-ns-replace >"$T/build.log" 2>&1 ||
	{ fail csync_epp/setup "world build: $(tail -n 3 "$T/build.log")"; finish; }
tests/world/start "$W" >"$T/start.log" 2>&1 ||
	{ fail csync_epp/setup "world start: $(tail -n 3 "$T/start.log")"; finish; }
pg_start "$PGD" >"$T/pg.log" 2>&1 ||
	{ fail csync_epp/setup "PostgreSQL: $(tail -n 3 "$T/pg.log")"; finish; }
epp_certs "$E" || { fail csync_epp/setup "certificates"; finish; }

# ---- what the world says (as tests/integration/csync.sh) -----------------

_ns_of() { awk '$3 == "NS" { print $4 }' "$1" | sort | tr '\n' ' ' | sed 's/ $//'; }
child_ns() { _ns_of "$W/zones/${1%.}/head"; }
parent_ns() { _ns_of "$W/tld/${1%.}.deleg"; }
_glue_of() {
	awk -v z=".${2%.}." '($3 == "A" || $3 == "AAAA") && substr($1, length($1) - length(z) + 1) == z { print $1, $4 }' "$1" |
		sort | tr '\n' ',' | sed 's/,$//'
}
child_glue() { _glue_of "$W/zones/${1%.}/head" "$1"; }
parent_glue() { _glue_of "$W/tld/${1%.}.deleg" "$1"; }

# ---- what the registrar's tables and the registry hold -------------------

reg_ns() { sql "SELECT array_to_string(ARRAY(SELECT unnest(ns) ORDER BY 1), ' ') FROM cdscan.delegation WHERE name = '$1'"; }
reg_glue() { sql "SELECT array_to_string(ARRAY(SELECT unnest(cdscan.inbailiwick_glue('$1')) ORDER BY 1), ',')"; }
# the test registry's NS names of DOMAIN, and the glue of its hosts
# inside DOMAIN ("name addr", for the names it lists)
srv_ns() { awk -v d="$1" '$1 == "ns" && $2 == d { print $3 }' "$E/state" | sort | tr '\n' ' ' | sed 's/ $//'; }
srv_glue() {
	local n
	for n in $(srv_ns "$1"); do
		awk -v n="$n" -v z=".${1%.}." '$1 == "host" && $2 == n && substr(n, length(n) - length(z) + 1) == z { for (i = 3; i <= NF; i++) print n, $i }' "$E/state"
	done | sort | tr '\n' ',' | sed 's/,$//'
}
count_log() { grep -c -- "$1" "$E/log" 2>/dev/null; }
outbox() { sql "SELECT kind || ' ' || state || ' ' || coalesce(last_code::text, '-') FROM cdscan.epp_outbox WHERE domain = '$1' ORDER BY id" | paste -sd,; }

# the registry as the parent zone has it: the domain, its NS names, and
# a host object (with the parent's glue) for each
registry_reset() {
	local n
	: >"$E/state"
	echo "domain $Z" >>"$E/state"
	for n in $(parent_ns $Z); do
		echo "ns $Z $n" >>"$E/state"
		echo "host $n $(tr ',' '\n' <<<"$(parent_glue $Z)" | awk -v n="$n" '$1 == n { printf "%s ", $2 }')" >>"$E/state"
	done
	: >"$E/log"
}

registry_reset
epp_start "$E" || { fail csync_epp/setup "EPP server"; finish; }
pl_config "$T/base.yaml" scanner.timeout=400ms scanner.retries=1
epp_config "$T/epp.yaml" "$E"
CONF=$T/cdscan.yaml
{ cat "$T/base.yaml"; grep -v '^database' "$T/epp.yaml"; } >"$CONF"
cds() { timeout -k 5 60 "$CDSCAN" -c "$CONF" "$@"; }

setup_db() {
	local out
	sql "DROP SCHEMA IF EXISTS cdscan CASCADE; DROP SCHEMA IF EXISTS registry CASCADE; DROP SCHEMA IF EXISTS cdscan_meta CASCADE" >/dev/null 2>&1
	out=$(cds init 2>&1) || { echo "init: $out"; return 1; }
	out=$(cds import "$W/tld/test.in" --origin test. 2>&1) || { echo "import: $out"; return 1; }
	[ "$(reg_ns $Z)" = "$(parent_ns $Z)" ] || { echo "import: $Z holds {$(reg_ns $Z)}"; return 1; }
}
why=$(setup_db) || { fail csync_epp/setup "$why"; finish; }
[ "$(srv_ns $Z)" = "$(parent_ns $Z)" ] && [ "$(srv_glue $Z)" = "$(parent_glue $Z)" ] ||
	{ fail csync_epp/setup "registry state: {$(srv_ns $Z)} {$(srv_glue $Z)}"; finish; }

# everything the registry and the local tables should hold after the change
at_child_why() {
	[ "$(srv_ns $Z)" = "$(child_ns $Z)" ] || { echo "registry NS {$(srv_ns $Z)}, the child's {$(child_ns $Z)}"; return; }
	[ "$(srv_glue $Z)" = "$(child_glue $Z)" ] || { echo "registry glue {$(srv_glue $Z)}, the child's {$(child_glue $Z)}"; return; }
	[ "$(reg_ns $Z)" = "$(child_ns $Z)" ] || { echo "local NS {$(reg_ns $Z)}"; return; }
	[ "$(reg_glue $Z)" = "$(child_glue $Z)" ] || { echo "local glue {$(reg_glue $Z)}"; return; }
	[ "$(count_log "^update $Z 1000 applied")" = 1 ] ||
		{ echo "not one domain:update: $(grep "^update" "$E/log" | tr '\n' ';')"; return; }
	[ "$(sql "SELECT state FROM cdscan.csync_change WHERE domain = '$Z' ORDER BY id DESC LIMIT 1")" = applied ] ||
		{ echo "csync_change: $(sql "SELECT state, why FROM cdscan.csync_change WHERE domain = '$Z'")"; return; }
	[ -z "$(epp_errors "$E")" ] || echo "frames failing the schema: $(epp_errors "$E" | head -n 3)"
}

# ---- NS replace pushed by the scan ----------------------------------------

t_pushed() {
	local out
	out=$(cds scan $Z --no-progress 2>&1) || { echo "scan: exit $?: $(tail -n 3 <<<"$out")"; return; }
	[ "$(sql "SELECT csync_verdict || '/' || csync_outcome FROM cdscan.scan WHERE domain = '$Z'")" = update/queued ] ||
		{ echo "scan row: $(sql "SELECT csync_verdict, csync_reason, csync_outcome, csync_detail FROM cdscan.scan WHERE domain = '$Z'")"; return; }
	[ "$(outbox $Z)" = "ns-update done 1000" ] || { echo "outbox: $(outbox $Z)"; return; }
	# ns3 is new: a host object created with the child's glue for it
	grep -q "^host-create ns3.$Z 1000 addrs=[1-9]" "$E/log" ||
		{ echo "no host:create of ns3: $(grep host "$E/log" | tr '\n' ';')"; return; }
	[ "$(count_log "^update $Z 1000 applied rem=1 add=1")" = 1 ] ||
		{ echo "not one update rem=1 add=1: $(grep "^update" "$E/log" | tr '\n' ';')"; return; }
	at_child_why
	# the change's audit row and event were written with the decision
	[ "$(sql "SELECT count(*) FROM cdscan.audit WHERE domain = '$Z' AND kind = 'ns-update' AND evidence ->> 'outcome' = 'queued'")" = 1 ] ||
		echo "no audit row saying queued"
}
result() { if [ -z "$2" ]; then pass "$1"; else fail "$1" "$(echo "$2" | head -n 5 | tr '\n' ';')"; fi; }
result csync_epp/ns-replace-pushed-by-scan "$(t_pushed)"

t_again() {
	local out before
	before=$(wc -l <"$E/log")
	out=$(cds scan $Z --no-progress 2>&1) || { echo "scan: exit $?: $(tail -n 3 <<<"$out")"; return; }
	[ "$(sql "SELECT count(*) FROM cdscan.epp_outbox WHERE domain = '$Z'")" = 1 ] ||
		{ echo "outbox now: $(outbox $Z)"; return; }
	tail -n +"$((before + 1))" "$E/log" | grep -Eq '^(update|host-create|host-update)' &&
		{ echo "sent again: $(tail -n +"$((before + 1))" "$E/log" | tr '\n' ';')"; return; }
	[ "$(sql "SELECT csync_verdict || '/' || csync_reason FROM cdscan.scan WHERE domain = '$Z' ORDER BY id DESC LIMIT 1")" != update/csync-apply ] ||
		echo "second scan decided the change again"
}
result csync_epp/second-scan-sends-nothing "$(t_again)"

# ---- the registry down -----------------------------------------------------

# The registry is stopped and started here, in the test's own shell (a
# server started inside $(...) would hold its output open).
t_down_queued() {
	local out why
	why=$(setup_db) || { echo "reset: $why"; return; }
	out=$(cds scan $Z --no-progress 2>&1) || { echo "scan with the registry down: exit $?: $(tail -n 3 <<<"$out")"; return; }
	grep -q "wait in the outbox" <<<"$out" || { echo "the scan does not say the change waits: $(tail -n 3 <<<"$out")"; return; }
	[ "$(outbox $Z)" = "ns-update queued -" ] || { echo "outbox: $(outbox $Z)"; return; }
	[ "$(reg_ns $Z)" = "$(parent_ns $Z)" ] || { echo "local NS moved while the registry was down: {$(reg_ns $Z)}"; return; }
	[ "$(sql "SELECT state FROM cdscan.csync_change WHERE domain = '$Z'")" = queued ] ||
		echo "csync_change: $(sql "SELECT state FROM cdscan.csync_change WHERE domain = '$Z'")"
}
t_down_sent() {
	local out
	# the first attempt's back-off (epp.retry 0) is over at once
	out=$(cds epp send 2>&1) || { echo "epp send: exit $?: $out"; return; }
	grep -q "1 done" <<<"$out" || { echo "epp send says: $out"; return; }
	[ "$(outbox $Z)" = "ns-update done 1000" ] || { echo "outbox: $(outbox $Z)"; return; }
	at_child_why
	out=$(cds epp send 2>&1)
	grep -q "^epp send: 0 done" <<<"$out" || echo "a second send: $out"
}
epp_stop "$E"
registry_reset
why=$(t_down_queued)
if [ -z "$why" ]; then
	if epp_start "$E"; then
		epp_config "$T/epp.yaml" "$E"
		{ cat "$T/base.yaml"; grep -v '^database' "$T/epp.yaml"; } >"$CONF"
		why=$(t_down_sent)
	else
		why="the EPP server did not restart"
	fi
fi
result csync_epp/server-down-queued-then-sent "$why"

finish
