#!/usr/bin/env bash
# The registrar role end to end (issue 6 item 6, STANDARDS §10): the DNS
# test world (tests/world), a throwaway PostgreSQL and the test registry
# (tests/tools/eppserver, every frame schema-checked), driven through
# `cdscan scan` with `sink: epp`. The scan writes each accepted change to
# the outbox in its decision's transaction and sends the outbox once at
# its end; the local tables follow only when the registry confirmed.
#
#   - a KSK rollover and a delete reach the registry; outbox rows done;
#     the local tables moved only after the registry's 1000; one audit
#     row each; a second scan sends nothing (E7, E8)
#   - the registry down during the scan: the scan finishes, says the
#     changes wait, nothing moves locally; `cdscan epp send` once the
#     registry is back applies each exactly once
#   - a newer change for a domain whose older change was tried and waits
#     for a retry supersedes it, and is neither held behind it nor refused
#     as stale when the older one did reach the registry
#
# Expected DS sets come from the world's key files, the registry's state
# from the test registry's own state file, never from cdscan's output.
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
[ -n "$(pg_bindir)" ] || { fail epp_scan "PostgreSQL is not installed"; finish; }

ROLL=ksk-rollover.test.
DEL=delete-all.test.
STEADY=steady.test.

T=$(mktemp -d /tmp/cdscan-epp-scan.XXXXXX)
chmod 755 "$T" # initdb runs as postgres
W=$T/world
PGD=$T/pg
E=$T/epp
on_exit "epp_stop '$E'; tests/world/stop '$W'; pg_stop '$PGD'; rm -rf '$T'"
[ -x "$BUILD/tests/tools/eppserver" ] ||
	{ fail epp_scan/setup "no $BUILD/tests/tools/eppserver (make tests)"; finish; }

# ---- set-up -------------------------------------------------------------

tests/world/build "$W" ksk-rollover delete-all steady >"$T/build.log" 2>&1 ||
	{ fail epp_scan/setup "world build: $(tail -n 3 "$T/build.log")"; finish; }
tests/world/start "$W" >"$T/start.log" 2>&1 ||
	{ fail epp_scan/setup "world start: $(tail -n 3 "$T/start.log")"; finish; }
pg_start "$PGD" >"$T/pg.log" 2>&1 ||
	{ fail epp_scan/setup "PostgreSQL: $(tail -n 3 "$T/pg.log")"; finish; }
epp_certs "$E" || { fail epp_scan/setup "certificates"; finish; }

# the DS rdata of key K of zone Z, upper case: "TAG ALG DT HEX"
dsr() { awk '{ for (i = 1; i < NF; i++) if ($i == "DS") { print $(i+1), $(i+2), $(i+3), toupper($(i+4)); exit } }' "$W/keys/$1/$2.ds"; }
# DS records as one sorted line, "a|b|..."
ds_line() { tr 'a-f' 'A-F' | sort | paste -sd'|'; }
# what the registry (the EPP server) holds for DOMAIN
srv_ds() { awk -v d="$1" '$1 == "ds" && $2 == d { $1 = $2 = ""; sub(/^  /, ""); print }' "$E/state" | ds_line; }
# what the registrar's own tables hold for DOMAIN
loc_ds() { sql "SELECT unnest(ds) FROM cdscan.delegation WHERE name = '$1'" | ds_line; }
ROLL_BEFORE=$(dsr ksk-rollover.test old | ds_line)
ROLL_AFTER=$({ dsr ksk-rollover.test old; dsr ksk-rollover.test new; } | ds_line)
DEL_BEFORE=$(dsr delete-all.test ksk | ds_line)
STEADY_DS=$(dsr steady.test ksk | ds_line)
DS_X="33333 13 2 $(printf 'CC%.0s' $(seq 32))"

# the registry as the parent zone has it (the test registry is stopped)
registry_reset() {
	local d
	: >"$E/state"
	for d in $ROLL:ksk-rollover.test:old $DEL:delete-all.test:ksk \
		 $STEADY:steady.test:ksk; do
		set -- ${d//:/ }
		printf 'domain %s\nds %s %s\n' "$1" "$1" "$(dsr "$2" "$3")" >>"$E/state"
	done
}
count_log() { grep -c -- "$1" "$E/log" 2>/dev/null; }
outbox() { sql "SELECT state || ' ' || coalesce(last_code::text, '-') || ' ' ||
	        attempts FROM cdscan.epp_outbox WHERE domain = '$1' ORDER BY id" | paste -sd,; }

registry_reset
epp_start "$E" || { fail epp_scan/setup "EPP server"; finish; }
pl_config "$T/base.yaml" scanner.timeout=400ms scanner.retries=1
epp_config "$T/epp.yaml" "$E"
CONF=$T/cdscan.yaml
{ cat "$T/base.yaml"; grep -v '^database' "$T/epp.yaml"; } >"$CONF"
cds() { timeout -k 5 "${CDS_TIMEOUT:-60}" "$CDSCAN" -c "$CONF" "$@"; }
cp "$W/tld/test.in" "$T/orig.zone"

setup_db() {
	local out
	out=$(cds init 2>&1) || { echo "init: $out"; return 1; }
	out=$(cds import "$T/orig.zone" --origin test. 2>&1) || { echo "import: $out"; return 1; }
	[ "$(loc_ds $ROLL)" = "$ROLL_BEFORE" ] || { echo "import: $ROLL holds $(loc_ds $ROLL)"; return 1; }
}
why=$(setup_db) || { fail epp_scan/setup "$why"; finish; }

# ---- a rollover and a delete pushed end to end ---------------------------

# The first update is answered 3 s late, after the registry carried it
# out: in that window the registry holds the new set and the local tables
# must not yet.
t_end_to_end() {
	local out rc run pid first dom before
	echo "once update-slow 3000" >"$E/control"
	: >"$E/log"
	cds scan --all >"$T/scan1.out" 2>&1 &
	pid=$!
	if ! wait_for 30 grep -q '^update .* 1000 applied' "$E/log"; then
		reap $pid 30
		echo "no update reached the registry: $(tail -n 5 "$T/scan1.out")"
		return
	fi
	first=$(grep -m1 '^update .* 1000 applied' "$E/log")
	dom=$(echo "$first" | awk '{ print $2 }')
	case $dom in
	$ROLL) before=$ROLL_BEFORE ;;
	$DEL) before=$DEL_BEFORE ;;
	*) echo "update of an unexpected domain: $first" ;;
	esac
	[ "$(loc_ds "$dom")" = "$before" ] ||
		echo "$dom: the local tables moved before the registry answered"
	[ "$(sql "SELECT state FROM cdscan.epp_outbox WHERE domain = '$dom'")" = sending ] ||
		echo "$dom: outbox row not 'sending' while the registry answers"
	reap $pid 60
	rc=$REAPED_RC
	[ "$rc" = 0 ] || { echo "scan exit $rc: $(tail -n 5 "$T/scan1.out")"; return; }
	run=$(last_run false)
	[ "$(srv_ds $ROLL)" = "$ROLL_AFTER" ] ||
		echo "registry: $ROLL holds '$(srv_ds $ROLL)', expected '$ROLL_AFTER'"
	[ -z "$(srv_ds $DEL)" ] || echo "registry: $DEL still holds DS $(srv_ds $DEL)"
	[ "$(srv_ds $STEADY)" = "$STEADY_DS" ] || echo "registry: $STEADY changed"
	[ "$(count_log "^update $ROLL 1000 applied rem=0 add=1")" = 1 ] ||
		echo "$ROLL: not one update adding the new DS: $(grep "^update $ROLL" "$E/log")"
	[ "$(count_log "^update $DEL 1000 applied rem=1 add=0")" = 1 ] ||
		echo "$DEL: not one update removing all: $(grep "^update $DEL" "$E/log")"
	[ "$(outbox $ROLL)" = "done 1000 1" ] || echo "$ROLL outbox: $(outbox $ROLL)"
	[ "$(outbox $DEL)" = "done 1000 1" ] || echo "$DEL outbox: $(outbox $DEL)"
	[ -z "$(outbox $STEADY)" ] || echo "$STEADY outbox: $(outbox $STEADY)"
	[ "$(sql "SELECT count(*) FROM cdscan.epp_outbox WHERE NOT local_applied")" = 0 ] ||
		echo "an outbox row done without the local tables"
	[ "$(loc_ds $ROLL)" = "$ROLL_AFTER" ] || echo "local: $ROLL holds $(loc_ds $ROLL)"
	[ -z "$(loc_ds $DEL)" ] || echo "local: $DEL still holds $(loc_ds $DEL)"
	[ "$(sql "SELECT string_agg(domain || ' ' || cardinality(before_ds) || '>'
	          || cardinality(after_ds), ',' ORDER BY domain)
	          FROM cdscan.audit WHERE run_id = $run")" = "$DEL 1>0,$ROLL 1>2" ] ||
		echo "audit of run $run: $(sql "SELECT string_agg(domain, ',') FROM cdscan.audit WHERE run_id = $run")"
	[ "$(sql "SELECT string_agg(outcome, ',' ORDER BY domain) FROM cdscan.scan
	          WHERE run_id = $run AND domain IN ('$ROLL', '$DEL')")" = "queued,queued" ] ||
		echo "scans of run $run not recorded as queued"
	out=$(cds outbox)
	echo "$out" | grepq "nothing queued" || echo "cdscan outbox: $out"
}
why=$(t_end_to_end)
[ -z "$why" ] && pass E7_E8_rollover_and_delete_pushed_by_scan ||
	fail E7_E8_rollover_and_delete_pushed_by_scan "$why"

t_second_scan() {
	local n rows rc
	n=$(count_log '^update ')
	rows=$(sql "SELECT count(*) FROM cdscan.epp_outbox")
	cds scan --all >"$T/scan2.out" 2>&1
	rc=$?
	[ $rc = 0 ] || echo "scan exit $rc: $(tail -n 3 "$T/scan2.out")"
	[ "$(count_log '^update ')" = "$n" ] || echo "the second scan sent an update"
	[ "$(sql "SELECT count(*) FROM cdscan.epp_outbox")" = "$rows" ] ||
		echo "the second scan queued: $(cds outbox --all)"
}
why=$(t_second_scan)
[ -z "$why" ] && pass epp_second_scan_sends_nothing || fail epp_second_scan_sends_nothing "$why"

# ---- the registry down during the scan ------------------------------------

# Back to the parent's DS sets, here and at the registry; the same signed
# CDS is then a replay, hence policy.replay-protection=false.
reset_all() {
	epp_stop "$E"
	registry_reset
	: >"$E/control"
	cds import "$T/orig.zone" --origin test. >"$T/import.out" 2>&1 ||
		{ echo "re-import: $(cat "$T/import.out")"; return 1; }
	[ "$(loc_ds $ROLL)" = "$ROLL_BEFORE" ] && [ "$(loc_ds $DEL)" = "$DEL_BEFORE" ] ||
		{ echo "re-import did not restore the DS sets"; return 1; }
}

t_server_down() {
	local rc n
	reset_all || return
	cds scan --all --set policy.replay-protection=false >"$T/scan3.out" 2>&1
	rc=$?
	[ $rc = 0 ] || { echo "scan exit $rc: $(tail -n 3 "$T/scan3.out")"; return; }
	grep -q "2 change(s) wait in the outbox" "$T/scan3.out" ||
		echo "no line that the changes wait: $(tail -n 4 "$T/scan3.out")"
	[ "$(outbox $ROLL | awk -F, '{ print $NF }')" = "queued - 1" ] ||
		echo "$ROLL outbox: $(outbox $ROLL)"
	[ "$(outbox $DEL | awk -F, '{ print $NF }')" = "queued - 1" ] ||
		echo "$DEL outbox: $(outbox $DEL)"
	[ "$(loc_ds $ROLL)" = "$ROLL_BEFORE" ] && [ "$(loc_ds $DEL)" = "$DEL_BEFORE" ] ||
		echo "the local tables moved without the registry"
	# (its output away from $(...), which would wait for it otherwise)
	epp_start "$E" >/dev/null || { echo "EPP server restart"; return; } # same port
	: >"$E/log"
	cds epp send >"$T/send.out" 2>&1 || echo "epp send: $(cat "$T/send.out")"
	cds epp send >>"$T/send.out" 2>&1 || echo "second epp send: $(cat "$T/send.out")"
	[ "$(count_log "^update $ROLL 1000 applied")" = 1 ] &&
		[ "$(count_log "^update $DEL 1000 applied")" = 1 ] &&
		[ "$(count_log '^update ')" = 2 ] ||
		echo "not one update each: $(grep '^update' "$E/log" | paste -sd,)"
	[ "$(srv_ds $ROLL)" = "$ROLL_AFTER" ] && [ -z "$(srv_ds $DEL)" ] ||
		echo "registry: $ROLL '$(srv_ds $ROLL)', $DEL '$(srv_ds $DEL)'"
	[ "$(outbox $ROLL | awk -F, '{ print $NF }')" = "done 1000 2" ] ||
		echo "$ROLL outbox: $(outbox $ROLL)"
	[ "$(loc_ds $ROLL)" = "$ROLL_AFTER" ] && [ -z "$(loc_ds $DEL)" ] ||
		echo "local: $ROLL $(loc_ds $ROLL), $DEL $(loc_ds $DEL)"
}
why=$(t_server_down)
[ -z "$why" ] && pass epp_server_down_during_scan_change_waits_then_applied_once ||
	fail epp_server_down_during_scan_change_waits_then_applied_once "$why"

# ---- a newer change supersedes a tried one --------------------------------

# Older changes, tried and waiting an hour for their retry (a 2400): one
# for ROLL that did reach the registry (its answer was lost), one for DEL
# that did not. The scan's newer decisions replace both and go out now:
# ROLL from the state the older change left, DEL from the parent's.
t_supersede() {
	local rc
	reset_all || return
	sed -i "s/^ds $ROLL .*/ds $ROLL $DS_X/" "$E/state"
	sql "INSERT INTO cdscan.epp_outbox (domain, kind, before_ds, after_ds,
	     state, attempts, next_attempt, last_code, last_message) VALUES
	     ('$ROLL', 'ds-update', ARRAY['$(dsr ksk-rollover.test old)'],
	      ARRAY['$DS_X'], 'queued', 1, now() + interval '1 hour', 2400,
	      'answer lost'),
	     ('$DEL', 'ds-update', ARRAY['$(dsr delete-all.test ksk)'],
	      ARRAY['$DS_X'], 'queued', 1, now() + interval '1 hour', 2400,
	      'registry busy')" >/dev/null || { echo "cannot queue"; return; }
	epp_start "$E" >/dev/null || { echo "EPP server restart"; return; }
	: >"$E/log"
	cds scan --all --set policy.replay-protection=false >"$T/scan4.out" 2>&1
	rc=$?
	[ $rc = 0 ] || { echo "scan exit $rc: $(tail -n 3 "$T/scan4.out")"; return; }
	[ "$(outbox $ROLL | awk -F, '{ print $(NF-1) "," $NF }')" = "superseded 2400 1,done 1000 1" ] ||
		echo "$ROLL outbox: $(outbox $ROLL)"
	[ "$(outbox $DEL | awk -F, '{ print $(NF-1) "," $NF }')" = "superseded 2400 1,done 1000 1" ] ||
		echo "$DEL outbox: $(outbox $DEL)"
	[ "$(srv_ds $ROLL)" = "$ROLL_AFTER" ] && [ -z "$(srv_ds $DEL)" ] ||
		echo "registry: $ROLL '$(srv_ds $ROLL)', $DEL '$(srv_ds $DEL)'"
	[ "$(count_log '^update ')" = 2 ] ||
		echo "not one update each: $(grep '^update' "$E/log" | paste -sd,)"
	[ "$(loc_ds $ROLL)" = "$ROLL_AFTER" ] && [ -z "$(loc_ds $DEL)" ] ||
		echo "local: $ROLL $(loc_ds $ROLL), $DEL $(loc_ds $DEL)"
}
why=$(t_supersede)
[ -z "$why" ] && pass epp_newer_change_supersedes_tried_one ||
	fail epp_newer_change_supersedes_tried_one "$why"

# cdscan(8): every command takes --set KEY=VALUE
t_set() {
	local out rc
	out=$(cds epp info $ROLL --set epp.port=1 2>&1) &&
		echo "epp info went through on port 1: $out"
	out=$(cds epp --set epp.port=1 info $ROLL --set=epp.port=$EPP_PORT 2>&1) ||
		echo "epp info with --set=epp.port: $out"
	echo "$out" | grepq "^  ds " || echo "epp info printed no DS: $out"
	out=$(cds epp send --set epp.no-such-key=1 2>&1)
	rc=$?
	[ $rc = 2 ] && echo "$out" | grepq "epp.no-such-key" ||
		echo "epp send --set of an unknown key: exit $rc: $out"
	out=$(cds outbox --all --set "database=host=$T/nowhere dbname=cdscan" 2>&1) &&
		echo "outbox ignored --set database: $out"
	out=$(cds outbox --all --json --set scanner.timeout=1s 2>&1) ||
		echo "outbox --set: $out"
	echo "$out" | grepq '"state": "superseded"' || echo "outbox --all --json: $out"
	out=$(cds outbox --set 2>&1)
	[ $? = 2 ] || echo "outbox --set without a value: $out"
}
why=$(t_set)
[ -z "$why" ] && pass epp_and_outbox_take_set_options ||
	fail epp_and_outbox_take_set_options "$why"

if [ -z "$(epp_errors "$E")" ]; then
	pass epp_scan_every_frame_schema_valid
else
	fail epp_scan_every_frame_schema_valid "$(epp_errors "$E" | head -n 5)"
fi

finish
