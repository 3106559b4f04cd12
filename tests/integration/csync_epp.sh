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
# Host objects the change leaves behind (RFC 5732 §3.2.2): ns1 is inside
# the domain, so after the domain:update drops it its host object goes
# too, as a 'host-delete' outbox row of its own:
#   csync_epp/removed-host-deleted        host:delete of ns1 after the
#       update, the host gone from the registry, recorded in the row;
#       never ns2 (still used) or ns3 (new)
#   csync_epp/host-still-used-left        another domain at the registry
#       names ns1: 2305, the host stays, the row records it left and the
#       NS change is done all the same
#   csync_epp/host-delete-dropped-retried the connection drops at every
#       host:delete of one `epp send`: the NS change is done, the
#       host-delete row waits; the next `epp send` deletes the host and
#       the domain:update has gone out once
#
# A held change (policy.csync-immediate false) with sink epp:
#   csync_epp/held-approved-via-outbox    `cdscan approve` queues it (the
#       registry is down: nothing local moves), `epp send` carries it out
#       (host:create, domain:update, host:delete) and only then do the
#       local tables and the held row follow
#   csync_epp/held-rejected-sends-nothing `cdscan reject` with the
#       registry up: no outbox row, not one command at the registry
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
srv_host() { awk -v n="$1" '$1 == "host" && $2 == n { f = 1 } END { exit !f }' "$E/state"; }
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
	[ "$(outbox $Z)" = "ns-update done 1000,host-delete done 1000" ] || { echo "outbox: $(outbox $Z)"; return; }
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

# ns1 is the name the change drops, inside the domain (the world's specs)
OLD=ns1.$Z
host_row() {
	sql "SELECT array_to_string(hosts_deleted, ' ') || '|' || array_to_string(hosts_gone, ' ') || '|' ||
	            array_to_string(hosts_left, ',') || '|' || coalesce((of_id = (SELECT max(id) FROM cdscan.epp_outbox
	            WHERE domain = '$Z' AND kind = 'ns-update'))::text, 'no of_id')
	     FROM cdscan.epp_outbox WHERE domain = '$Z' AND kind = 'host-delete'"
}

t_removed() {
	local upd del n
	[ "$(comm -23 <(parent_ns $Z | tr ' ' '\n') <(child_ns $Z | tr ' ' '\n'))" = "$OLD" ] ||
		{ echo "the world's change does not drop $OLD alone"; return; }
	# after the domain:update that dropped it, never before
	upd=$(grep -n "^update $Z 1000 applied" "$E/log" | head -n 1 | cut -d: -f1)
	del=$(grep -n "^host-delete $OLD 1000\$" "$E/log" | head -n 1 | cut -d: -f1)
	[ -n "$upd" ] && [ -n "$del" ] && [ "$del" -gt "$upd" ] ||
		{ echo "no host:delete of $OLD after the update: $(grep -E '^(update|host-)' "$E/log" | tr '\n' ';')"; return; }
	[ "$(count_log '^host-delete')" = 1 ] ||
		{ echo "host:delete of more: $(grep '^host-delete' "$E/log" | tr '\n' ';')"; return; }
	srv_host $OLD && { echo "$OLD is still a host object at the registry"; return; }
	for n in $(child_ns $Z); do
		srv_host $n || { echo "host $n, still in use, is gone"; return; }
	done
	[ "$(host_row)" = "$OLD|||true" ] || { echo "host-delete row: $(host_row)"; return; }
	[ -z "$(epp_errors "$E")" ] || echo "frames failing the schema: $(epp_errors "$E" | head -n 3)"
}
result csync_epp/removed-host-deleted "$(t_removed)"

t_again() {
	local out before
	before=$(wc -l <"$E/log")
	out=$(cds scan $Z --no-progress 2>&1) || { echo "scan: exit $?: $(tail -n 3 <<<"$out")"; return; }
	[ "$(sql "SELECT count(*) FROM cdscan.epp_outbox WHERE domain = '$Z'")" = 2 ] ||
		{ echo "outbox now: $(outbox $Z)"; return; }
	tail -n +"$((before + 1))" "$E/log" | grep -Eq '^(update|host-create|host-update|host-delete)' &&
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
	[ "$(outbox $Z)" = "ns-update done 1000,host-delete done 1000" ] || { echo "outbox: $(outbox $Z)"; return; }
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

# ---- host objects left behind -----------------------------------------------

# A fresh registry (the parent's state plus the state lines given), with
# no control directives; started here, in the test's own shell.
registry_restart() {
	epp_stop "$E"
	registry_reset
	rm -f "$E/control"
	[ -z "${1:-}" ] || printf '%s\n' "$1" >>"$E/state"
	epp_start "$E" || return 1
	epp_config "$T/epp.yaml" "$E"
	{ cat "$T/base.yaml"; grep -v '^database' "$T/epp.yaml"; } >"$CONF"
}

# another registrar's domain names ns1 as its name server: the registry
# keeps the host object (RFC 5732 §3.2.2: 2305)
t_shared() {
	local out why
	why=$(setup_db) || { echo "reset: $why"; return; }
	out=$(cds scan $Z --no-progress 2>&1) || { echo "scan: exit $?: $(tail -n 3 <<<"$out")"; return; }
	why=$(at_child_why)
	[ -z "$why" ] || { echo "the NS change: $why"; return; }
	[ "$(outbox $Z)" = "ns-update done 1000,host-delete done 2305" ] || { echo "outbox: $(outbox $Z)"; return; }
	[ "$(count_log "^host-delete $OLD 2305 other.test.")" = 1 ] ||
		{ echo "no 2305 for $OLD: $(grep '^host-delete' "$E/log" | tr '\n' ';')"; return; }
	srv_host $OLD || { echo "$OLD is gone though other.test. uses it"; return; }
	[ "$(host_row)" = "||$OLD 2305|true" ] || { echo "host-delete row: $(host_row)"; return; }
	grep -q "host objects: 0 deleted, 0 gone already, 1 left" <<<"$out" ||
		{ echo "the scan does not say: $(grep 'host' <<<"$out")"; return; }
	[ "$(sql "SELECT last_message FROM cdscan.epp_outbox WHERE domain = '$Z' AND kind = 'host-delete'")" = "left $OLD 2305" ] ||
		echo "last_message: $(sql "SELECT last_message FROM cdscan.epp_outbox WHERE domain = '$Z' AND kind = 'host-delete'")"
}
if registry_restart "domain other.test.
ns other.test. $OLD"; then
	why=$(t_shared)
else
	why="the EPP server did not restart"
fi
result csync_epp/host-still-used-left "$why"

# the connection drops at each host:delete of the scan's pass (and of
# the second try on a new session in it): the delete waits, the NS
# change does not
t_drop_first() {
	local out why
	why=$(setup_db) || { echo "reset: $why"; return; }
	out=$(cds scan $Z --no-progress 2>&1) || { echo "scan: exit $?: $(tail -n 3 <<<"$out")"; return; }
	[ "$(outbox $Z)" = "ns-update done 1000,host-delete queued -" ] || { echo "outbox: $(outbox $Z)"; return; }
	[ "$(count_log "^host-delete $OLD dropped")" = 2 ] ||
		{ echo "host:delete lines: $(grep '^host-delete' "$E/log" | tr '\n' ';')"; return; }
	srv_host $OLD || { echo "$OLD gone though every host:delete was dropped"; return; }
	[ "$(reg_ns $Z)" = "$(child_ns $Z)" ] || echo "the local NS set did not follow the confirmed change: {$(reg_ns $Z)}"
}
t_drop_then() {
	local out
	out=$(cds epp send 2>&1) || { echo "epp send: exit $?: $out"; return; }
	grep -q "^epp send: 0 done" <<<"$out" && grep -q "host objects: 1 deleted" <<<"$out" ||
		{ echo "epp send says: $out"; return; }
	[ "$(outbox $Z)" = "ns-update done 1000,host-delete done 1000" ] || { echo "outbox: $(outbox $Z)"; return; }
	srv_host $OLD && { echo "$OLD is still at the registry"; return; }
	[ "$(count_log "^host-delete $OLD 1000")" = 1 ] || { echo "host:delete lines: $(grep '^host-delete' "$E/log" | tr '\n' ';')"; return; }
	# the domain:update went out once, in the scan's pass
	[ "$(count_log "^update ")" = 1 ] || { echo "updates: $(grep '^update' "$E/log" | tr '\n' ';')"; return; }
	[ "$(host_row)" = "$OLD|||true" ] || { echo "host-delete row: $(host_row)"; return; }
	[ "$(sql "SELECT attempts FROM cdscan.epp_outbox WHERE domain = '$Z' AND kind = 'host-delete'")" = 2 ] ||
		{ echo "attempts: $(sql "SELECT attempts FROM cdscan.epp_outbox WHERE domain = '$Z' AND kind = 'host-delete'")"; return; }
	at_child_why
}
if registry_restart; then
	echo host-delete-drop >"$E/control"
	why=$(t_drop_first)
	rm -f "$E/control"
	[ -n "$why" ] || why=$(t_drop_then)
else
	why="the EPP server did not restart"
fi
result csync_epp/host-delete-dropped-retried "$why"

# ---- a held change, approved or rejected, with sink epp ---------------------

held_scan() {
	local out why
	why=$(setup_db) || { echo "reset: $why"; return; }
	out=$(cds scan $Z --no-progress --set policy.csync-immediate=false 2>&1) ||
		{ echo "scan: exit $?: $(tail -n 3 <<<"$out")"; return; }
	[ "$(sql "SELECT csync_verdict || '/' || csync_reason || '/' || csync_outcome FROM cdscan.scan WHERE domain = '$Z' ORDER BY id DESC LIMIT 1")" = pending/csync-held/held ] ||
		{ echo "scan row: $(sql "SELECT csync_verdict, csync_reason, csync_outcome, csync_detail FROM cdscan.scan WHERE domain = '$Z' ORDER BY id DESC LIMIT 1")"; return; }
	[ "$(sql "SELECT state FROM cdscan.csync_change WHERE domain = '$Z'")" = held ] || { echo "no held row"; return; }
	[ "$(sql "SELECT count(*) FROM cdscan.epp_outbox")" = 0 ] || { echo "outbox: $(outbox $Z)"; return; }
	grep -Eq '^(update|host-)' "$E/log" && echo "sent at the scan: $(grep -E '^(update|host-)' "$E/log" | tr '\n' ';')"
}

# approved while the registry is down: queued, nothing local moves
t_approve_queued() {
	local out
	out=$(USER=tester cds approve $Z 2>&1) || { echo "approve: exit $?: $out"; return; }
	grep -q "queued in the EPP outbox by approve:tester" <<<"$out" || { echo "approve says: $out"; return; }
	grep -q "wait in the outbox" <<<"$out" || { echo "approve does not say the change waits: $out"; return; }
	[ "$(outbox $Z)" = "ns-update queued -" ] || { echo "outbox: $(outbox $Z)"; return; }
	[ "$(reg_ns $Z)" = "$(parent_ns $Z)" ] && [ "$(reg_glue $Z)" = "$(parent_glue $Z)" ] ||
		{ echo "local tables moved before the registry confirmed: {$(reg_ns $Z)} {$(reg_glue $Z)}"; return; }
	[ "$(sql "SELECT state || ' ' || decided_by FROM cdscan.csync_change WHERE domain = '$Z'")" = "queued approve:tester" ] ||
		echo "held row: $(sql "SELECT state, decided_by FROM cdscan.csync_change WHERE domain = '$Z'")"
}
t_approve_sent() {
	local out
	out=$(cds epp send 2>&1) || { echo "epp send: exit $?: $out"; return; }
	grep -q "^epp send: 1 done" <<<"$out" || { echo "epp send says: $out"; return; }
	[ "$(outbox $Z)" = "ns-update done 1000,host-delete done 1000" ] || { echo "outbox: $(outbox $Z)"; return; }
	grep -q "^host-create ns3.$Z 1000 addrs=[1-9]" "$E/log" &&
		[ "$(count_log "^update $Z 1000 applied rem=1 add=1")" = 1 ] &&
		[ "$(count_log "^host-delete $OLD 1000")" = 1 ] ||
		{ echo "commands: $(grep -E '^(update|host-)' "$E/log" | tr '\n' ';')"; return; }
	srv_host $OLD && { echo "$OLD still at the registry"; return; }
	at_child_why
	[ "$(sql "SELECT decided_by FROM cdscan.csync_change WHERE domain = '$Z'")" = approve:tester ] ||
		echo "decided_by: $(sql "SELECT decided_by FROM cdscan.csync_change WHERE domain = '$Z'")"
}
if registry_restart; then
	why=$(held_scan)
	if [ -z "$why" ]; then
		epp_stop "$E"
		why=$(t_approve_queued)
		if [ -z "$why" ]; then
			if epp_start "$E"; then
				why=$(t_approve_sent)
			else
				why="the EPP server did not restart"
			fi
		fi
	fi
else
	why="the EPP server did not restart"
fi
result csync_epp/held-approved-via-outbox "$why"

t_reject() {
	local out before why
	why=$(held_scan)
	[ -z "$why" ] || { echo "$why"; return; }
	before=$(wc -l <"$E/log")
	out=$(cds reject $Z --by tester --reason "not now" 2>&1) || { echo "reject: exit $?: $out"; return; }
	[ "$(sql "SELECT state || ' ' || decided_by FROM cdscan.csync_change WHERE domain = '$Z'")" = "rejected reject:tester" ] ||
		{ echo "held row: $(sql "SELECT state, decided_by FROM cdscan.csync_change WHERE domain = '$Z'")"; return; }
	[ "$(sql "SELECT count(*) FROM cdscan.epp_outbox")" = 0 ] || { echo "outbox: $(outbox $Z)"; return; }
	[ "$(wc -l <"$E/log")" = "$before" ] || { echo "the registry heard: $(tail -n +"$((before + 1))" "$E/log" | tr '\n' ';')"; return; }
	[ "$(srv_ns $Z)" = "$(parent_ns $Z)" ] && [ "$(reg_ns $Z)" = "$(parent_ns $Z)" ] ||
		echo "NS moved: registry {$(srv_ns $Z)}, local {$(reg_ns $Z)}"
}
if registry_restart; then
	why=$(t_reject)
else
	why="the EPP server did not restart"
fi
result csync_epp/held-rejected-sends-nothing "$why"

finish
