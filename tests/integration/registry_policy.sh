#!/usr/bin/env bash
# The registry's own rules and notifications end to end (issue 4 items 3,
# 4, 6; STANDARDS §14, §3 C6/C7, §4): a real PostgreSQL (tests/pg.sh),
# the DNS test world, and only the cdscan commands a registry runs. Time
# moves with --now, so a day of hold-down and a streak of nightly scans
# take seconds. One line per test: "PASS policy/NAME" or "FAIL ...: why".
#
# The world is signed once: every CDS/CDNSKEY RRSIG has the same
# inception I (read from `cdscan check --json`). The scans run at times
# placed around I, and registry state is read back with SQL; expected DS
# sets come from the world's key files. Hooks are small scripts in the
# test folder; a hanging one is killed by notify.timeout (300 ms).
set -uo pipefail
export LC_ALL=C # sort as PostgreSQL's C collation does
cd "$(dirname "$0")/../.."
CDSCAN=${CDSCAN:-$(pwd)/cdscan}
. tests/lib.sh
. tests/pg.sh
. tests/pipeline/lib.sh

need_root
need_cmd jq psql nsd knotd unbound ldns-keygen ldns-key2ds
[ -n "$(pg_bindir)" ] || { fail policy "PostgreSQL is not installed"; finish; }

# rollover asks for an update, delete-all for a delete, cds-zsk-only is
# rejected on every scan (signed by a key outside the DS set), LOCKED
# carries serverUpdateProhibited, REGOUT's registrar opted out
SCENARIOS="ksk-rollover delete-all cds-zsk-only sha1-and-sha256 cdnskey-only steady"
ROLL=ksk-rollover.test.
DEL=delete-all.test.
REJ=cds-zsk-only.test.
LOCKED=sha1-and-sha256.test.
REGOUT=cdnskey-only.test.

T=$(mktemp -d /tmp/cdscan-policy.XXXXXX)
chmod 755 "$T" # initdb runs as postgres
W=$T/world
PGD=$T/pg
if [ "${KEEP:-0}" = 1 ]; then
	on_exit "echo '# kept: world $W, PostgreSQL $PGD'"
else
	on_exit "tests/world/stop '$W'; pg_stop '$PGD'; rm -rf '$T'"
fi

tests/world/build "$W" $SCENARIOS >"$T/build.log" 2>&1 ||
	{ fail policy/setup "world build: $(tail -n 3 "$T/build.log")"; finish; }
tests/world/start "$W" >"$T/start.log" 2>&1 ||
	{ fail policy/setup "world start: $(tail -n 3 "$T/start.log")"; finish; }
pg_start "$PGD" >"$T/pg.log" 2>&1 ||
	{ fail policy/setup "PostgreSQL: $(tail -n 3 "$T/pg.log")"; finish; }

# hooks: append the event to a file; fail; hang
GOT=$T/got.jsonl
cat >"$T/hook-ok" <<EOF
#!/bin/sh
cat >>"$GOT" && echo >>"$GOT.count"
EOF
cat >"$T/hook-fail" <<EOF
#!/bin/sh
cat >/dev/null; echo attempt >>"$T/fail.count"; exit 3
EOF
cat >"$T/hook-hang" <<EOF
#!/bin/sh
echo attempt >>"$T/hang.count"; exec sleep 30
EOF
chmod 755 "$T"/hook-*

CONF=$T/cdscan.yaml
pl_config "$CONF" scanner.timeout=400ms scanner.retries=1 policy.hold-down=1d \
	notify.hook="\"$T/hook-ok\"" notify.timeout=300ms notify.retry=10m
cds() { timeout -k 5 60 "$CDSCAN" -c "$CONF" "$@"; }
at() { local t=$1; shift; cds --now "$t" "$@"; }

dsr() { awk '{ for (i = 1; i < NF; i++) if ($i == "DS") { print $(i+1), $(i+2), $(i+3), toupper($(i+4)); exit } }' "$W/keys/$1/$2.ds"; }
ds_set() {
	local z=$1 k
	shift
	for k in "$@"; do dsr "$z" "$k"; done | sort |
		awk 'BEGIN { printf "{" } { printf "%s\"%s\"", (NR > 1 ? "," : ""), $0 } END { printf "}" }'
}
reg_ds() { sql "SELECT public.pl_set(ds) FROM cdscan.delegation WHERE name = '$1'"; }
verdict() { sql "SELECT verdict || ' ' || reason FROM cdscan.scan WHERE run_id = $1 AND domain = '$2'"; }
detail() { sql "SELECT detail FROM cdscan.scan WHERE run_id = $1 AND domain = '$2'"; }
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
scan_at() {
	local t=$1 out
	shift
	# No hook for the scans themselves: a scan hands its events to a
	# detached `cdscan notify` at the end (t_scan_kicks_notify), and
	# these tests deliver explicitly to count attempts.
	out=$(at "$t" scan --no-progress --set notify.hook= "$@" 2>&1) ||
		{ echo "scan at $t exit $?: $(tail -n 3 <<<"$out")"; return 1; }
	last_run false
}

setup() {
	local out
	out=$(cds init 2>&1) || { echo "init: $out"; return 1; }
	out=$(cds import "$W/tld/test.in" --origin test. 2>&1) || { echo "import: $out"; return 1; }
	sql "UPDATE registry.domain SET statuses = '{serverUpdateProhibited}'
	     WHERE name = '$LOCKED';
	     INSERT INTO registry.registrar (id, name, optout)
	     VALUES ('reg-out', 'Registrar Out', true), ('reg-in', 'Registrar In', false);
	     UPDATE registry.domain SET registrar = 'reg-out' WHERE name = '$REGOUT';
	     UPDATE registry.domain SET registrar = 'reg-in' WHERE name <> '$REGOUT'" ||
		return 1
	_pl_sql_helpers
}
why=$(setup) &&
	INC=$(cds check $ROLL --json 2>/dev/null | jq -r '[.servers[].cds_rrset.sig_inception] | max') &&
	[ "${INC:-null}" != null ] && [ "$INC" -gt 0 ] || why="${why:-no CDS inception from check: '$INC'}"
if [ -z "$why" ]; then
	pass policy/setup
else
	fail policy/setup "$why"
	finish
fi
ROLL_BEFORE=$(ds_set ksk-rollover.test old)
ROLL_AFTER=$(ds_set ksk-rollover.test old new)
DEL_BEFORE=$(reg_ds $DEL)
LOCKED_DS=$(reg_ds $LOCKED)
REGOUT_DS=$(reg_ds $REGOUT)

# A change cdscan applied 100 s before the world was signed (an earlier
# night's scan), so that the CDS is newer than it but the hold-down of a
# day is still running at T1.
T0=$((INC - 100))
T1=$((INC + 600))
T2=$((T0 + 86400 + 10))
sql "INSERT INTO cdscan.audit (time, domain, actor, kind, before_ds, after_ds)
     VALUES (to_timestamp($T0), '$ROLL', 'scan', 'ds-update', '{}', '{}')" >/dev/null

# ---- T1: hold-down, delete refused, locked, opt-out ------------------------

RUN1=$(scan_at $T1 --all --set policy.allow-delete=false) || { fail policy/scan-1 "$RUN1"; finish; }

t_hold_down() {
	local got
	got=$(verdict $RUN1 $ROLL)
	[ "$got" = "pending hold-down" ] || { echo "$ROLL: '$got', expected 'pending hold-down'"; return; }
	detail $RUN1 $ROLL | grepq -F "from $(iso $((T0 + 86400)))" ||
		echo "the detail does not say it is eligible from $(iso $((T0 + 86400))): $(detail $RUN1 $ROLL)"
	[ "$(reg_ds $ROLL)" = "$ROLL_BEFORE" ] || echo "$ROLL: DS changed during the hold-down"
	# a day after the last change it goes through, and the audit row
	# carries the scan's time (not the clock's)
	RUN2=$(scan_at $T2 --all) || { echo "$RUN2"; return; }
	got=$(verdict $RUN2 $ROLL)
	[ "$got" = "update update" ] || echo "$ROLL after the hold-down: '$got', expected 'update update'"
	[ "$(reg_ds $ROLL)" = "$ROLL_AFTER" ] || echo "$ROLL: DS $(reg_ds $ROLL), expected $ROLL_AFTER"
	[ "$(sql "SELECT extract(epoch FROM time)::bigint FROM cdscan.audit WHERE run_id = $RUN2 AND domain = '$ROLL'")" = "$T2" ] ||
		echo "the audit row's time is not the scan's --now $T2"
	echo "RUN2=$RUN2" >"$T/run2"
}
why=$(t_hold_down)
[ -z "$why" ] && pass policy/hold-down || fail policy/hold-down "$why"
RUN2=$(sed -n 's/^RUN2=//p' "$T/run2" 2>/dev/null)
[ -n "$RUN2" ] || { fail policy/scan-2 "no second run"; finish; }

t_delete_refused() {
	local got
	got=$(verdict $RUN1 $DEL)
	[ "$got" = "rejected delete-refused" ] || echo "$DEL with allow-delete off: '$got'"
	[ "$(sql "SELECT count(*) FROM cdscan.audit WHERE run_id = $RUN1")" = 0 ] ||
		echo "run $RUN1 wrote audit rows"
	# allowed (the default): the second scan removed the DS set
	got=$(verdict $RUN2 $DEL)
	[ "$got" = "delete delete" ] || echo "$DEL with allow-delete on: '$got'"
	[ "$(reg_ds $DEL)" = "{}" ] || echo "$DEL: DS $(reg_ds $DEL) after the delete"
}
why=$(t_delete_refused)
[ -z "$why" ] && pass policy/delete-refused || fail policy/delete-refused "$why"

t_locked_optout() {
	local got
	got=$(verdict $RUN1 $LOCKED)
	[ "$got" = "rejected locked" ] || echo "$LOCKED: '$got'"
	got=$(verdict $RUN1 $REGOUT)
	[ "$got" = "rejected opted-out" ] || echo "$REGOUT: '$got'"
	detail $RUN1 $REGOUT | grepq -F "registrar reg-out opted out" ||
		echo "$REGOUT: the detail does not name the registrar: $(detail $RUN1 $REGOUT)"
	[ "$(reg_ds $LOCKED)" = "$LOCKED_DS" ] && [ "$(reg_ds $REGOUT)" = "$REGOUT_DS" ] ||
		echo "a locked or opted-out DS set changed"
	# the registrar opts back in: the change goes through
	sql "UPDATE registry.registrar SET optout = false WHERE id = 'reg-out'" >/dev/null
	local run
	run=$(scan_at $((T2 + 60)) $REGOUT) || { echo "$run"; return; }
	got=$(verdict $run $REGOUT)
	[ "$got" = "update update" ] || echo "$REGOUT after the registrar opted in: '$got'"
}
why=$(t_locked_optout)
[ -z "$why" ] && pass policy/locked-and-opt-out-domain-registrar || fail policy/locked-and-opt-out-domain-registrar "$why"

# ---- notifications ----------------------------------------------------------

t_change_event() {
	local n out ev
	# one event per change cdscan made, in the transaction of its audit row
	n=$(sql "SELECT count(*) FROM cdscan.audit WHERE actor = 'scan'")
	[ "$(sql "SELECT count(*) FROM cdscan.event WHERE kind <> 'rejected'")" = "$n" ] ||
		{ echo "$(sql "SELECT count(*) FROM cdscan.event WHERE kind <> 'rejected'") change events for $n audit rows"; return; }
	[ "$(sql "SELECT count(*) FROM cdscan.event e JOIN cdscan.audit a ON a.id = e.audit_id
	          WHERE e.domain = '$ROLL' AND a.run_id = $RUN2 AND e.kind = 'ds-update'")" = 1 ] ||
		{ echo "no single ds-update event for $ROLL in run $RUN2"; return; }
	out=$(at $((T2 + 120)) notify 2>&1) || { echo "notify exit $?: $out"; return; }
	grep -q "^notify: $n delivered, 0 to retry, 0 failed" <<<"$out" || echo "notify said: $out"
	[ "$(wc -l <"$GOT.count" 2>/dev/null)" = "$n" ] || echo "the hook ran $(wc -l <"$GOT.count" 2>/dev/null) times for $n events"
	# (the earlier change inserted above made an event too: run null)
	ev=$(jq -c "select(.domain == \"$ROLL\" and .run == $RUN2)" "$GOT" 2>/dev/null)
	[ "$(jq -r '.kind + " " + .outcome' <<<"$ev")" = "ds-update applied" ] ||
		{ echo "hook got for $ROLL: '$ev'"; return; }
	[ "$(jq -r '.after | sort | "{" + (map("\"" + ascii_upcase + "\"") | join(",")) + "}"' <<<"$ev")" = "$ROLL_AFTER" ] ||
		echo "hook got after $(jq -c .after <<<"$ev"), expected $ROLL_AFTER"
	[ "$(jq -r .time <<<"$ev")" = "$(iso $T2)" ] || echo "event time $(jq -r .time <<<"$ev"), expected $(iso $T2)"
	[ "$(jq -r .registrar <<<"$ev")" = reg-in ] || echo "event registrar $(jq -r .registrar <<<"$ev")"
	[ "$(sql "SELECT count(*) FROM cdscan.event WHERE state <> 'delivered'")" = 0 ] ||
		echo "events left undelivered"
	# delivered once: a second notify hands nothing out
	out=$(at $((T2 + 180)) notify 2>&1)
	grep -q '^notify: 0 delivered, 0 to retry, 0 failed' <<<"$out" || echo "second notify: $out"
	out=$(cds events $ROLL --json 2>&1)
	[ "$(jq -r '.[0].kind + " " + .[0].state' <<<"$out" 2>/dev/null)" = "ds-update delivered" ] ||
		echo "events --json: $out"
	cds events $ROLL | grepq 'ds-update.*delivered' || echo "events: $(cds events $ROLL 2>&1 | head -n 3)"
}
why=$(t_change_event)
[ -z "$why" ] && pass policy/notify-applied-change-one-event || fail policy/notify-applied-change-one-event "$why"

# A change from no DS to a DS set is a bootstrap, whichever path audits
# it (the trigger on cdscan.audit; bootstrapping itself is tested apart).
t_bootstrap_kind() {
	local id
	id=$(sql "INSERT INTO cdscan.audit (time, domain, actor, kind, before_ds, after_ds)
	          VALUES (to_timestamp($T2), 'new.test.', 'scan', 'ds-update', '{}',
	                  '{\"1 13 2 AB\"}') RETURNING id") || { echo "insert failed"; return; }
	[ "$(sql "SELECT kind || ' ' || (payload->>'after') FROM cdscan.event WHERE audit_id = $id")" = 'bootstrap ["1 13 2 AB"]' ] ||
		echo "event of a bootstrap: '$(sql "SELECT kind || ' ' || payload FROM cdscan.event WHERE audit_id = $id")'"
	id=$(sql "INSERT INTO cdscan.audit (time, domain, actor, kind, before_ds, after_ds)
	          VALUES (to_timestamp($T2), 'new.test.', 'import', 'ds-import', '{}',
	                  '{\"1 13 2 AB\"}') RETURNING id")
	[ "$(sql "SELECT count(*) FROM cdscan.event WHERE audit_id = $id")" = 0 ] ||
		echo "an import made an event"
	sql "DELETE FROM cdscan.event WHERE domain = 'new.test.'" >/dev/null
}
why=$(t_bootstrap_kind)
[ -z "$why" ] && pass policy/notify-bootstrap-event-kind || fail policy/notify-bootstrap-event-kind "$why"

# Scans 3 and 4: cds-zsk-only and the locked domain are rejected again.
T3=$((T2 + 3600))
T4=$((T2 + 7200))
RUN3=$(scan_at $T3 --all) && RUN4=$(scan_at $T4 --all) || { fail policy/scans-3-4 "$RUN3 $RUN4"; finish; }

t_rejected_streak() {
	local got
	[ "$(verdict $RUN4 $REJ)" = "rejected signed-by-non-ds-key" ] ||
		{ echo "$REJ: '$(verdict $RUN4 $REJ)'"; return; }
	# scans 1..4 rejected it: one event, made by scan 3
	got=$(sql "SELECT count(*) || ' ' || min(run_id) || ' ' || min(payload->>'scans')
	           FROM cdscan.event WHERE domain = '$REJ' AND kind = 'rejected'")
	[ "$got" = "1 $RUN3 3" ] || echo "$REJ: events (count run scans) '$got', expected '1 $RUN3 3'"
	got=$(sql "SELECT count(*) FROM cdscan.event WHERE domain = '$LOCKED' AND kind = 'rejected'")
	[ "$got" = 1 ] || echo "$LOCKED: $got rejected events"
	# the rollover, unchanged since scan 2, has none
	[ "$(sql "SELECT count(*) FROM cdscan.event WHERE domain = '$ROLL' AND kind = 'rejected'")" = 0 ] ||
		echo "$ROLL has a rejected event"
}
why=$(t_rejected_streak)
[ -z "$why" ] && pass policy/notify-rejected-three-times-one-event || fail policy/notify-rejected-three-times-one-event "$why"

t_hook_retry() {
	local out n t
	n=$(sql "SELECT count(*) FROM cdscan.event WHERE state = 'pending'")
	[ "$n" -ge 2 ] || { echo "only $n pending events"; return; }
	t=$((T4 + 60))
	out=$(at $t notify --set notify.hook="$T/hook-fail" 2>&1) || { echo "notify exit $?: $out"; return; }
	grep -q "^notify: 0 delivered, $n to retry, 0 failed" <<<"$out" || { echo "failing hook: $out"; return; }
	[ "$(sql "SELECT count(*) FROM cdscan.event WHERE state = 'pending' AND attempts = 1
	          AND last_error = 'exit 3' AND next_attempt = to_timestamp($t) + interval '10 min'")" = "$n" ] ||
		echo "after a failure: $(sql "SELECT string_agg(state || '/' || attempts || '/' || coalesce(last_error, '-') || '/' || next_attempt, ' ') FROM cdscan.event WHERE kind = 'rejected'")"
	# not due again before the back-off ends
	out=$(at $((t + 599)) notify --set notify.hook="$T/hook-fail" 2>&1)
	grep -q '^notify: 0 delivered, 0 to retry' <<<"$out" || echo "retried before the back-off: $out"
	# a hook that hangs is killed after notify.timeout, and a scan
	# meanwhile finishes as usual
	out=$(at $((t + 600)) notify --set notify.hook="$T/hook-hang" 2>&1) || { echo "notify exit $?: $out"; return; }
	grep -q "^notify: 0 delivered, $n to retry" <<<"$out" || echo "hanging hook: $out"
	[ "$(sql "SELECT count(*) FROM cdscan.event WHERE attempts = 2
	          AND last_error LIKE 'killed after 300 ms%'
	          AND next_attempt = to_timestamp($((t + 600))) + interval '20 min'")" = "$n" ] ||
		echo "after a timeout: $(sql "SELECT string_agg(attempts || '/' || coalesce(last_error, '-'), ' ') FROM cdscan.event WHERE state = 'pending'")"
	[ "$(wc -l <"$T/hang.count")" = "$n" ] || echo "the hanging hook ran $(wc -l <"$T/hang.count") times for $n events"
	scan_at $((t + 700)) --all >/dev/null || echo "a scan with events pending failed"
	# the hook works again: delivered on the third attempt
	out=$(at $((t + 600 + 1200)) notify 2>&1)
	grep -q "^notify: $n delivered" <<<"$out" || echo "working hook: $out"
	[ "$(sql "SELECT count(*) FROM cdscan.event WHERE state = 'delivered' AND attempts = 3")" = "$n" ] ||
		echo "not delivered on the third attempt"
}
why=$(t_hook_retry)
[ -z "$why" ] && pass policy/notify-failing-hook-retried || fail policy/notify-failing-hook-retried "$why"

# A scan hands its events to the hook by itself, without waiting for it:
# the new rejected event of this scan reaches the hook in the background.
t_scan_kicks_notify() {
	local out i st
	# a change audited before the scan: its event is due
	sql "INSERT INTO cdscan.audit (time, domain, actor, kind, before_ds, after_ds)
	     VALUES (to_timestamp($((T4 + 3000))), 'kick.test.', 'scan', 'ds-update',
	             '{\"1 13 2 AB\"}', '{\"2 13 2 CD\"}')" >/dev/null
	# the scan's own --set reaches the notifier it starts
	printf '#!/bin/sh\ncat >>"%s"\n' "$T/kick.jsonl" >"$T/hook-kick"
	chmod 755 "$T/hook-kick"
	out=$(at $((T4 + 3600)) scan --no-progress --all \
		--set notify.hook="$T/hook-kick" 2>&1) ||
		{ echo "scan exit $?: $(tail -n 3 <<<"$out")"; return; }
	for i in $(seq 1 100); do
		st=$(sql "SELECT state FROM cdscan.event WHERE domain = 'kick.test.'")
		[ "$st" = delivered ] && break
		sleep 0.1
	done
	[ "$st" = delivered ] || { echo "event of kick.test. '$st' 10 s after the scan"; return; }
	grep -q '"kick.test."' "$T/kick.jsonl" 2>/dev/null ||
		echo "the hook given with --set never got kick.test."
}
why=$(t_scan_kicks_notify)
[ -z "$why" ] && pass policy/scan-hands-events-to-hook || fail policy/scan-hands-events-to-hook "$why"

# ---- replay protection (STANDARDS §3 T: an older, replayed RRset → ignored)

# The registry's tools put the old DS sets back (a change by other means);
# the children still serve the CDS RRsets signed at INC, before the
# changes cdscan applied on their strength at T2: a replay.
t_replay() {
	local out run got n
	out=$(cds import "$W/tld/test.in" --origin test. 2>&1) || { echo "import: $out"; return; }
	[ "$(reg_ds $ROLL)" = "$ROLL_BEFORE" ] || { echo "import did not restore $ROLL"; return; }
	n=$(sql "SELECT count(*) FROM cdscan.audit WHERE actor = 'scan'")
	run=$(scan_at $((T4 + 7200)) --all) || { echo "$run"; return; }
	got=$(verdict $run $ROLL)
	[ "$got" = "rejected replayed-signature" ] || { echo "$ROLL: '$got', expected 'rejected replayed-signature'"; return; }
	detail $run $ROLL | grepq -F "signed at $(iso $INC)" || echo "detail lacks the inception $(iso $INC): $(detail $run $ROLL)"
	detail $run $ROLL | grepq -E "ns[0-9]\.[a-z0-9.-]*/127\." || echo "detail names no server: $(detail $run $ROLL)"
	[ "$(verdict $run $DEL)" = "rejected replayed-signature" ] || echo "$DEL: '$(verdict $run $DEL)'"
	[ "$(reg_ds $ROLL)" = "$ROLL_BEFORE" ] || echo "$ROLL: DS changed by a replay"
	[ "$(reg_ds $DEL)" = "$DEL_BEFORE" ] || echo "$DEL: DS changed by a replay"
	[ "$(sql "SELECT count(*) FROM cdscan.audit WHERE actor = 'scan'")" = "$n" ] || echo "audit rows written"
}
why=$(t_replay)
[ -z "$why" ] && pass policy/replayed-rrset-ignored || fail policy/replayed-rrset-ignored "$why"

finish
