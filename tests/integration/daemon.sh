#!/usr/bin/env bash
# `cdscan daemon` end to end (issue 7, STANDARDS §9): the DNS test world,
# a throwaway PostgreSQL, the daemon listening for NOTIFY on loopback, and
# NOTIFYs written by tests/tools/notify_send (raw packets: any qtype,
# several zones, garbage). One line per test, "PASS daemon/NAME" or
# "FAIL daemon/NAME: why"; the names follow the §9 T lines.
#
# What the registry holds is read back with SQL; expected DS sets come
# from the world's key files. Every wait is bounded; the daemon, the
# world and the cluster are stopped on exit.
set -uo pipefail
cd "$(dirname "$0")/../.."
CDSCAN=${CDSCAN:-$(pwd)/cdscan}
BUILD=${BUILD:-build}
. tests/lib.sh
. tests/pg.sh
. tests/pipeline/lib.sh
. tests/epp/lib.sh

need_root
need_cmd psql nsd knotd unbound ldns-keygen ldns-key2ds curl openssl
[ -n "$(pg_bindir)" ] || { fail daemon "PostgreSQL is not installed"; finish; }
NS=$BUILD/tests/tools/notify_send
[ -x "$NS" ] || { fail daemon/setup "no $NS (make tests)"; finish; }

ROLL=ksk-rollover.test.
DONE=ksk-rollover-done.test.
DIS=one-disagrees.test.
STEADY=steady.test.
N_SLOW=16

T=$(mktemp -d /tmp/cdscan-daemon.XXXXXX)
chmod 755 "$T" # initdb runs as postgres
W=$T/world
PGD=$T/pg
E=$T/epp
DPID=
on_exit "[ -n \"\$DPID\" ] && kill -9 \$DPID 2>/dev/null; epp_stop '$E'; tests/world/stop '$W'; pg_stop '$PGD'; rm -rf '$T'"

# a free port for the listener and one for the metrics endpoint
free_port() {
	local p i
	for i in $(seq 50); do
		p=$((20000 + RANDOM % 30000))
		port_in_use 127.0.0.1 "$p" >/dev/null ||
			{ ss -Hlnt | grepq ":$p " || { echo "$p"; return; }; }
	done
	return 1
}
PORT=$(free_port)
PORT2=$(free_port)
MPORT=$(free_port)

# ---- set-up -------------------------------------------------------------

tests/world/build "$W" ksk-rollover ksk-rollover-done one-disagrees steady \
	>"$T/build.log" 2>&1 ||
	{ fail daemon/setup "world build: $(tail -n 3 "$T/build.log")"; finish; }
tests/world/start "$W" >"$T/start.log" 2>&1 ||
	{ fail daemon/setup "world start: $(tail -n 3 "$T/start.log")"; finish; }
pg_start "$PGD" >"$T/pg.log" 2>&1 ||
	{ fail daemon/setup "PostgreSQL: $(tail -n 3 "$T/pg.log")"; finish; }

CONF=$T/cdscan.yaml
# conf FILE [KEY=VALUE...]: the daemon's configuration
# (a key given again replaces the default below)
conf() {
	local f=$1 kv
	local -A v=([scanner.timeout]=150ms [scanner.retries]=1
		[scan.lease]=2s [scan.concurrency]=2 [scan.batch-size]=2
		[policy.replay-protection]=false
		[daemon.listen]="[127.0.0.1:$PORT]"
		[daemon.metrics-listen]="\"127.0.0.1:$MPORT\""
		[daemon.notify-rate-source]=1
		[daemon.notify-rate-source-burst]=5
		[daemon.notify-rate-zone]=1 [daemon.notify-rate-zone-burst]=3)
	shift
	for kv in "$@"; do v[${kv%%=*}]=${kv#*=}; done
	local args=()
	for kv in "${!v[@]}"; do args+=("$kv=${v[$kv]}"); done
	pl_config "$f" "${args[@]}"
}
conf "$CONF" daemon.schedule=off
cds() { timeout -k 5 60 "$CDSCAN" -c "$CONF" "$@"; }

cp "$W/tld/test.in" "$T/orig.zone"
{ cat "$T/orig.zone"; slow_zone b-slow "$N_SLOW" | sed -n '5,$p'; } >"$T/big.zone"

dsr() { awk '{ for (i = 1; i < NF; i++) if ($i == "DS") { print $(i+1), $(i+2), $(i+3), toupper($(i+4)); exit } }' "$W/keys/$1/$2.ds"; }
ds_set() {
	local z=$1 k
	shift
	for k in "$@"; do dsr "$z" "$k"; done | sort |
		awk 'BEGIN { printf "{" } { printf "%s\"%s\"", (NR > 1 ? "," : ""), $0 } END { printf "}" }'
}
reg_ds() { sql "SELECT public.pl_set(ds) FROM cdscan.delegation WHERE name = '$1'"; }
scans_of() { sql "SELECT count(*) FROM cdscan.scan WHERE domain = '$1'"; }
# for wait_for: the registry's DS set of $1 is $2; more than $2 scans of $1
ds_is() { [ "$(reg_ds "$1")" = "$2" ]; }
scans_above() { [ "$(scans_of "$1")" -gt "$2" ]; }
slow_scans_of_last_run() {
	[ "$(sql "SELECT count(*) FROM cdscan.scan WHERE run_id = (SELECT max(id) FROM cdscan.run) AND domain LIKE 'b-slow%'")" -ge "$1" ]
}

out=$(cds init 2>&1 && cds import "$T/orig.zone" --origin test. 2>&1) ||
	{ fail daemon/setup "init/import: $out"; finish; }
_pl_sql_helpers
ROLL_AFTER=$(ds_set ksk-rollover.test old new)
DONE_AFTER=$(ds_set ksk-rollover-done.test new)
DIS_DS=$(reg_ds $DIS)

LOG=$T/daemon.log
# start_daemon: in the background, listening (bounded wait)
start_daemon() {
	[ -f "$LOG" ] && cat "$LOG" >>"$T/all.log"
	: >"$LOG"
	"$CDSCAN" -c "$CONF" -v daemon >>"$LOG" 2>&1 &
	DPID=$!
	wait_port 127.0.0.1 "$PORT" udp 10 && wait_port 127.0.0.1 "$PORT" tcp 10 &&
		wait_port 127.0.0.1 "$MPORT" tcp 10
}
# stop_daemon SIG: send it, wait at most 30 s; $REAPED_RC is its exit code
stop_daemon() {
	kill -"$1" "$DPID" 2>/dev/null
	reap "$DPID" 30
	local r=$?
	DPID=
	return $r
}
alive() { kill -0 "$DPID" 2>/dev/null; }
# ns [-s SRC] [opts] -z ZONE: one NOTIFY, the tally line
ns() { timeout 30 "$NS" "$@" 127.0.0.1 "$PORT"; }
metric() {
	curl -sf --max-time 5 "http://127.0.0.1:$MPORT/metrics" |
		awk -v m="$1" '$1 == m { print $2; f = 1 } END { if (!f) print 0 }'
}
logged() { grep -q -- "$1" "$LOG"; }

start_daemon || { fail daemon/setup "daemon not listening: $(tail -n 5 "$LOG")"; finish; }

# ---- N4: NOTIFY(CDS) after a rollover -> DS changed within seconds -------

t_notify_cds() {
	local got a
	a=$(sql "SELECT coalesce(max(id), 0) FROM cdscan.audit")
	got=$(ns -s 127.0.0.2 -z $ROLL)
	[[ $got == *noerror=1* ]] || { echo "answer: $got (expected NOERROR)"; return; }
	wait_for 15 ds_is $ROLL "$ROLL_AFTER" ||
		{ echo "registry DS $(reg_ds $ROLL), expected $ROLL_AFTER; log: $(tail -n 3 "$LOG")"; return; }
	[ "$(sql "SELECT count(*) FROM cdscan.audit WHERE id > $a AND domain = '$ROLL'")" = 1 ] ||
		echo "not exactly one audit row for $ROLL"
	[ "$(scans_of $STEADY)" = 0 ] || echo "$STEADY was scanned too"
	wait_for 10 logged "NOTIFY $ROLL: scanned and recorded" ||
		echo "no 'scanned and recorded' log line"
}
why=$(t_notify_cds)
[ -z "$why" ] && pass daemon/notify-cds-scan-within-seconds || fail daemon/notify-cds-scan-within-seconds "$why"

# ---- N3: a NOTIFY naming two zones is dropped ------------------------------

t_two_zones() {
	local got before
	before=$(scans_of $STEADY)
	got=$(ns -s 127.0.0.2 -w 500 -z $STEADY -z $DIS)
	[[ $got == *answers=0*noanswer=1* ]] || { echo "answer: $got (expected none)"; return; }
	sleep 1
	[ "$(scans_of $STEADY)" = "$before" ] || echo "a scan was started"
	[ "$(metric 'cdscan_notify_dropped_total{reason="several-zones"}')" = 1 ] ||
		echo "metric dropped{several-zones} not 1"
}
# ---- N2: NOTIFY(CSYNC) is acted on like NOTIFY(CDS) ------------------------

t_csync() {
	local got before
	before=$(scans_of $ROLL)
	got=$(ns -s 127.0.0.2 -T csync -z $ROLL)
	[[ $got == *noerror=1* ]] || { echo "answer: $got (expected NOERROR)"; return; }
	wait_for 15 scans_above $ROLL "$before" || echo "no scan after NOTIFY(CSYNC)"
}
why=$(t_csync)
[ -z "$why" ] && pass daemon/notify-csync-scans || fail daemon/notify-csync-scans "$why"

# ---- TCP: at most 64 connections, idle ones closed after 10 s -------------

t_tcp_bounds() {
	local fds=() fd i got rc
	for i in $(seq 64); do
		exec {fd}<>"/dev/tcp/127.0.0.1/$PORT" || { echo "connection $i refused"; break; }
		fds+=("$fd")
	done
	sleep 0.3
	got=$(ns -t -s 127.0.0.2 -w 500 -z nosuch.test.)
	[[ $got == *noanswer=1* ]] || echo "a 65th connection was served: $got"
	# the daemon closes idle connections: EOF, not a read timeout
	read -r -t 15 -u "${fds[0]}" _
	rc=$?
	[ $rc = 1 ] || echo "an idle connection still open after 15 s (read status $rc)"
	for fd in "${fds[@]}"; do exec {fd}>&-; done
	got=$(ns -t -s 127.0.0.2 -z nosuch.test.)
	[[ $got == *refused=1* ]] || echo "TCP not served after the idle ones closed: $got"
	[ "$(metric 'cdscan_notify_dropped_total{reason="tcp-connections"}')" -ge 1 ] ||
		echo "metric dropped{tcp-connections} below 1"
}
why=$(t_tcp_bounds)
[ -z "$why" ] && pass daemon/tcp-connections-bounded-and-idle-closed || fail daemon/tcp-connections-bounded-and-idle-closed "$why"

why=$(t_two_zones)
[ -z "$why" ] && pass daemon/notify-two-zones-dropped || fail daemon/notify-two-zones-dropped "$why"

# ---- refusals: unknown zone, NOTIFY(SOA), other opcodes, TCP --------------

t_refusals() {
	local got
	got=$(ns -s 127.0.0.2 -z nosuch.test.)
	[[ $got == *refused=1*ede20=1* ]] || echo "unknown zone: $got (expected REFUSED, EDE 20)"
	got=$(ns -s 127.0.0.2 -T soa -z $STEADY)
	[[ $got == *refused=1* ]] || echo "NOTIFY(SOA): $got (expected REFUSED)"
	got=$(ns -s 127.0.0.2 -o 0 -z $STEADY)
	[[ $got == *notimp=1* ]] || echo "QUERY opcode: $got (expected NOTIMP)"
	got=$(ns -t -s 127.0.0.2 -e -z nosuch.test.)
	[[ $got == *refused=1*ede20=1* ]] || echo "TCP, unknown zone: $got (expected REFUSED, EDE 20)"
}
why=$(t_refusals)
[ -z "$why" ] && pass daemon/notify-unknown-zone-refused || fail daemon/notify-unknown-zone-refused "$why"

# ---- malformed packets never stop the listener ----------------------------

t_malformed() {
	local i got hex
	for i in $(seq 40); do
		hex=$(head -c $((RANDOM % 300 + 1)) /dev/urandom | od -An -tx1 | tr -d ' \n')
		ns -s 127.0.0.9 -w 50 -x "$hex" >/dev/null
		ns -t -s 127.0.0.9 -w 50 -x "$hex" >/dev/null
	done
	got=$(ns -s 127.0.0.9 -w 300 -x 0102)
	[[ $got == *noanswer=1* ]] || echo "2-byte packet answered: $got"
	got=$(ns -s 127.0.0.9 -w 300 -r -z $STEADY)
	[[ $got == *noanswer=1* ]] || echo "QR=1 answered: $got"
	# header claims a question that is not there
	got=$(ns -s 127.0.0.9 -w 300 -x 123420000001000000000000)
	[[ $got == *noanswer=1* || $got == *formerr=1* ]] || echo "truncated question: $got"
	alive || { echo "the daemon died: $(tail -n 3 "$LOG")"; return; }
	got=$(ns -s 127.0.0.10 -z nosuch.test.)
	[[ $got == *refused=1* ]] || echo "no answer after the garbage: $got"
}
why=$(t_malformed)
[ -z "$why" ] && pass daemon/malformed-never-crash || fail daemon/malformed-never-crash "$why"

# ---- N5/N6: a flood from one address is throttled with EDE 15, while ------
# ---- another zone from another source gets through and is acted on -------

t_flood() {
	local got n e d
	got=$(ns -s 127.0.0.3 -n 40 -w 100 -z $STEADY)
	n=$(sed 's/.*noerror=\([0-9]*\).*/\1/' <<<"$got")
	e=$(sed 's/.*ede15=\([0-9]*\).*/\1/' <<<"$got")
	d=$(sed 's/.*noanswer=\([0-9]*\).*/\1/' <<<"$got")
	# burst 5 per source; zone burst 3; the source's refusals a second
	# bucket of 5: at most ~5 answered per second of the flood
	[ "$n" -ge 1 ] && [ "$n" -le 6 ] || echo "flood: $n NOERROR (expected 1..6): $got"
	[ "$e" -ge 5 ] || echo "flood: $e answers with EDE 15 (expected >= 5): $got"
	[ "$d" -ge 20 ] || echo "flood: only $d dropped (expected >= 20): $got"
	got=$(ns -s 127.0.0.4 -z $DONE)
	[[ $got == *noerror=1* ]] || { echo "other source, other zone: $got (expected NOERROR)"; return; }
	wait_for 15 ds_is $DONE "$DONE_AFTER" ||
		echo "$DONE: registry DS $(reg_ds $DONE), expected $DONE_AFTER"
	[ "$(metric 'cdscan_notify_throttled_total{kind="source"}')" -ge 5 ] ||
		echo "metric throttled{source} below 5"
	[ "$(metric 'cdscan_notify_dropped_total{reason="flood"}')" -ge 20 ] ||
		echo "metric dropped{flood} below 20"
}
why=$(t_flood)
[ -z "$why" ] && pass daemon/flood-throttled-ede15 || fail daemon/flood-throttled-ede15 "$why"

# ---- N4: a NOTIFY while one server is inconsistent -> still no change ------

t_inconsistent() {
	local got before
	before=$(scans_of $DIS)
	got=$(ns -s 127.0.0.5 -z $DIS)
	[[ $got == *noerror=1* ]] || { echo "answer: $got"; return; }
	wait_for 15 scans_above $DIS "$before" || { echo "no scan recorded"; return; }
	[ "$(reg_ds $DIS)" = "$DIS_DS" ] || echo "DS changed: $(reg_ds $DIS)"
	got=$(sql "SELECT verdict || ' ' || reason FROM cdscan.scan WHERE domain = '$DIS' ORDER BY id DESC LIMIT 1")
	[ "$got" = "rejected servers-disagree" ] || echo "decision '$got', expected 'rejected servers-disagree'"
}
why=$(t_inconsistent)
[ -z "$why" ] && pass daemon/notify-inconsistent-no-change || fail daemon/notify-inconsistent-no-change "$why"

# ---- metrics move -------------------------------------------------------------

t_metrics() {
	local a b body
	body=$(curl -sf --max-time 5 "http://127.0.0.1:$MPORT/metrics") || { echo "GET /metrics failed"; return; }
	for m in cdscan_scans_started_total cdscan_queries_sent_total \
		cdscan_decisions_total cdscan_notify_acted_total \
		cdscan_bootstrap_waiting cdscan_outbox_depth \
		cdscan_last_scan_completion_timestamp_seconds; do
		grep -q "^$m" <<<"$body" || echo "no $m"
	done
	[ "$(metric 'cdscan_changes_applied_total')" -ge 2 ] || echo "changes_applied below 2"
	a=$(metric 'cdscan_notify_received_total{kind="udp"}')
	ns -s 127.0.0.6 -z nosuch.test. >/dev/null
	b=$(metric 'cdscan_notify_received_total{kind="udp"}')
	[ "$b" -eq $((a + 1)) ] || echo "received moved $a -> $b, expected +1"
	[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$MPORT/other")" = 404 ] ||
		echo "/other is not 404"
}
why=$(t_metrics)
[ -z "$why" ] && pass daemon/metrics-endpoint || fail daemon/metrics-endpoint "$why"

# ---- SIGHUP: a bad file keeps the old one; a good one takes effect ---------

t_reload() {
	local got good=$T/good.yaml
	cp "$CONF" "$T/conf.keep"
	printf 'daemon:\n  listen: [127.0.0.1:%s]\n  notify-rate-source: fast\n' "$PORT" >"$CONF"
	kill -HUP "$DPID"
	wait_for 5 logged "reload refused" || { echo "bad file: no 'reload refused' log"; cp "$T/conf.keep" "$CONF"; return; }
	grep -q "$CONF:3: daemon.notify-rate-source" "$LOG" || echo "refusal does not name file:line:key: $(grep 'reload refused' "$LOG" | tail -n 1)"
	alive || { echo "died on a bad file"; return; }
	got=$(ns -s 127.0.0.11 -z nosuch.test.)
	[[ $got == *refused=1*ede20=1* ]] || echo "not serving after a bad file: $got"
	# new limits (burst 1), and a second address
	conf "$good" daemon.schedule=off daemon.notify-rate-source-burst=1 \
		daemon.listen="[127.0.0.1:$PORT, 127.0.0.1:$PORT2]"
	cp "$good" "$CONF"
	kill -HUP "$DPID"
	wait_for 5 logged "reloaded" || { echo "good file: no 'reloaded' log: $(tail -n 3 "$LOG")"; return; }
	got=$(ns -s 127.0.0.12 -n 3 -w 300 -z nosuch.test.)
	# burst 1: one let through (REFUSED, EDE 20), one refused with
	# EDE 15 from the refusal bucket, then nothing
	[[ $got == *ede15=1* && $got == *ede20=1* && $got == *noanswer=1* ]] ||
		echo "burst 1 not in effect: $got"
	got=$(timeout 10 "$NS" -s 127.0.0.13 -z nosuch.test. 127.0.0.1 "$PORT2")
	[[ $got == *refused=1* ]] || echo "new address $PORT2 not served: $got"
}
why=$(t_reload)
[ -z "$why" ] && pass daemon/sighup-reload || fail daemon/sighup-reload "$why"

stop_daemon TERM
[ "$REAPED_RC" = 0 ] && pass daemon/sigterm-idle-exit-0 ||
	fail daemon/sigterm-idle-exit-0 "exit $REAPED_RC: $(tail -n 3 "$LOG")"

# ---- a scheduled run and a NOTIFY scan overlap ----------------------------
# The registry back to its first DS sets, plus slow delegations (each a
# full timeout at a silent address) so that the scheduled run lasts
# seconds; a NOTIFY for the rollover lands in the middle of it.

t_overlap() {
	local out sched a
	out=$(cds import "$T/big.zone" --origin test. 2>&1) || { echo "import: $out"; return; }
	snapshot_ds
	a=$(sql "SELECT coalesce(max(id), 0) FROM cdscan.audit")
	conf "$CONF" daemon.schedule=1h
	start_daemon || { echo "daemon not listening"; return; }
	wait_for 10 logged "scheduled scan started" || { echo "no scheduled scan"; return; }
	out=$(ns -s 127.0.0.2 -z $ROLL)
	[[ $out == *noerror=1* ]] || echo "answer: $out"
	wait_for 30 logged "schedule scan: run" || { echo "scheduled run did not end: $(tail -n 3 "$LOG")"; return; }
	wait_for 15 logged "NOTIFY $ROLL: scanned and recorded" || echo "the NOTIFY scan did not end"
	grep -q "NOTIFY scan of 1 zone started" "$LOG" || echo "no NOTIFY child"
	# they did overlap: the NOTIFY child started before the run ended
	[ "$(grep -n -m1 "NOTIFY scan of 1 zone started" "$LOG" | cut -d: -f1)" -lt \
	  "$(grep -n -m1 "schedule scan: run" "$LOG" | cut -d: -f1)" ] ||
		echo "the NOTIFY scan did not run during the scheduled one"
	sched=$(sql "SELECT max(id) FROM cdscan.run WHERE NOT dry_run AND total > 3")
	[ -n "$sched" ] && run_once_why "$sched"
	[ "$(reg_ds $ROLL)" = "$ROLL_AFTER" ] || echo "$ROLL: DS $(reg_ds $ROLL), expected $ROLL_AFTER"
	[ "$(sql "SELECT count(*) FROM cdscan.audit WHERE id > $a AND domain = '$ROLL'")" = 1 ] ||
		echo "$ROLL: not exactly one audit row ($(sql "SELECT count(*) FROM cdscan.audit WHERE id > $a AND domain = '$ROLL'"))"
	[ "$(sql "SELECT count(*) FROM cdscan.scan s WHERE s.outcome = 'applied' AND s.run_id IN (SELECT run_id FROM cdscan.audit WHERE id > $a) AND s.domain = '$ROLL'")" = 1 ] ||
		echo "$ROLL: applied twice"
	stop_daemon TERM || echo "did not stop"
}
why=$(t_overlap)
[ -z "$why" ] && pass daemon/schedule-and-notify-overlap || fail daemon/schedule-and-notify-overlap "$why"

# ---- SIGTERM during a scan: every decision recorded, none half-applied ----

t_sigterm_scan() {
	local out run n
	out=$(cds import "$T/big.zone" --origin test. 2>&1) || { echo "import: $out"; return; }
	snapshot_ds
	conf "$CONF" daemon.schedule=1h
	start_daemon || { echo "daemon not listening"; return; }
	wait_for 10 logged "scheduled scan started" || { echo "no scheduled scan"; return; }
	run=
	wait_for 15 slow_scans_of_last_run 2 ||
		{ echo "the scan did not get going"; stop_daemon TERM; return; }
	run=$(sql "SELECT max(id) FROM cdscan.run")
	stop_daemon TERM || { echo "not stopped within 30 s"; return; }
	[ "$REAPED_RC" = 0 ] || echo "exit $REAPED_RC"
	n=$(sql "SELECT count(*) FROM cdscan.scan WHERE run_id = $run")
	[ "$n" -lt "$(sql "SELECT total FROM cdscan.run WHERE id = $run")" ] ||
		echo "(the run completed before SIGTERM; nothing was interrupted)"
	audit_why "$run"
	[ "$(sql "SELECT count(*) FROM cdscan.worker w WHERE run_id = $run")" -ge 1 ] || true
	# the next scan continues the same run and completes it
	out=$(cds scan --all 2>&1) || { echo "scan after stop: $(tail -n 2 <<<"$out")"; return; }
	grep -q "run $run: joined" <<<"$out" || echo "the next scan did not continue run $run: $(head -n 1 <<<"$out")"
	run_once_why "$run"
	[ "$(reg_ds $ROLL)" = "$ROLL_AFTER" ] || echo "$ROLL: DS $(reg_ds $ROLL) after the run"
}
why=$(t_sigterm_scan)
[ -z "$why" ] && pass daemon/sigterm-during-scan-keeps-decisions || fail daemon/sigterm-during-scan-keeps-decisions "$why"

# ---- sink: epp: the outbox is worked between scans --------------------------
# A change queued in the outbox (as a scan whose registry was down leaves
# it), no scan at all: the daemon's outbox timer sends it.

t_outbox() {
	local out i
	[ -x "$BUILD/tests/tools/eppserver" ] || { echo "no $BUILD/tests/tools/eppserver"; return; }
	epp_certs "$E" || { echo "certificates"; return; }
	printf 'domain %s\nds %s %s\n' $ROLL $ROLL "$(dsr ksk-rollover.test old)" >"$E/state"
	epp_start "$E" >/dev/null || { echo "EPP server"; return; }
	out=$(cds import "$T/orig.zone" --origin test. 2>&1) || { echo "import: $out"; return; }
	conf "$T/base.yaml" daemon.schedule=off daemon.outbox-interval=1s
	epp_config "$T/epp.yaml" "$E"
	{ cat "$T/base.yaml"; grep -v '^database' "$T/epp.yaml"; } >"$CONF"
	sql "INSERT INTO cdscan.epp_outbox (domain, kind, before_ds, after_ds)
	     VALUES ('$ROLL', 'ds-update', ARRAY['$(dsr ksk-rollover.test old)'],
	     ARRAY['$(dsr ksk-rollover.test old)', '$(dsr ksk-rollover.test new)'])" ||
		{ echo "cannot queue"; return; }
	start_daemon || { echo "daemon not listening: $(tail -n 3 "$LOG")"; return; }
	wait_for 15 outbox_done $ROLL || echo "outbox row of $ROLL: $(sql "SELECT state FROM cdscan.epp_outbox WHERE domain = '$ROLL'")"
	[ "$(grep -c "^update $ROLL 1000 applied" "$E/log")" = 1 ] || echo "the registry did not apply it once"
	[ "$(reg_ds $ROLL)" = "$ROLL_AFTER" ] || echo "local DS $(reg_ds $ROLL), expected $ROLL_AFTER"
	[ "$(scans_of $ROLL)" = "$ROLL_SCANS" ] || echo "a scan ran"
	[ "$(metric 'cdscan_scans_started_total{kind="outbox"}')" -ge 1 ] || echo "no outbox child in the metrics"
	stop_daemon TERM || echo "did not stop"
}
outbox_done() { [ "$(sql "SELECT state FROM cdscan.epp_outbox WHERE domain = '$1'")" = done ]; }
ROLL_SCANS=$(scans_of $ROLL)
why=$(t_outbox)
[ -z "$why" ] && pass daemon/outbox-worked-between-scans || fail daemon/outbox-worked-between-scans "$why"

# ---- Type=notify: READY=1, RELOADING=1, STOPPING=1 over $NOTIFY_SOCKET ----

t_sd_notify() {
	local rpid sock=$T/notify.sock got
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); s.settimeout(20)
with open(sys.argv[2], "a") as f:
    for _ in range(4):
        f.write(s.recv(256).decode() + "\n"); f.flush()
' "$sock" "$T/sd.out" 2>/dev/null &
	rpid=$!
	wait_for 5 test -S "$sock" || { echo "no receiver"; return; }
	conf "$CONF" daemon.schedule=off
	NOTIFY_SOCKET=$sock start_daemon || { echo "daemon not listening"; return; }
	wait_for 5 grep -q READY=1 "$T/sd.out" || echo "no READY=1"
	kill -HUP "$DPID"
	wait_for 5 grep -q RELOADING=1 "$T/sd.out" || echo "no RELOADING=1"
	stop_daemon TERM
	wait_for 5 grep -q STOPPING=1 "$T/sd.out" || echo "no STOPPING=1"
	got=$(paste -sd, "$T/sd.out")
	[ "$got" = "READY=1,RELOADING=1,READY=1,STOPPING=1" ] || echo "messages: $got"
	reap "$rpid" 5
}
if command -v python3 >/dev/null; then
	why=$(t_sd_notify)
	[ -z "$why" ] && pass daemon/systemd-notify || fail daemon/systemd-notify "$why"
else
	skip daemon/systemd-notify "no python3 to receive the datagrams"
fi

# ---- a hung database: SERVFAIL within daemon.db-timeout, the loop goes on --
# Every process of the cluster is stopped (SIGSTOP), so the parent's
# connection is open but never answers: only a client-side bound helps.
# A zone already known is answered from the cache meanwhile.

pg_pids() {
	local pm
	pm=$(head -n 1 "$PGD/data/postmaster.pid" 2>/dev/null) || return 1
	echo "$pm" $(ps -o pid= --ppid "$pm")
}
# the stopped pids in a file: the tests run in subshells
freeze_pg() { pg_pids >"$T/frozen" && kill -STOP $(cat "$T/frozen"); }
thaw_pg() { [ -s "$T/frozen" ] && kill -CONT $(cat "$T/frozen") 2>/dev/null; : >"$T/frozen"; }
on_exit "[ -s '$T/frozen' ] && kill -CONT \$(cat '$T/frozen') 2>/dev/null"
# noerror_from SRC ZONE: one NOTIFY answered NOERROR
noerror_from() { [[ $(ns -s "$1" -w 1000 -z "$2") == *noerror=1* ]]; }

t_db_hung() {
	local got a c i
	conf "$CONF" daemon.schedule=off daemon.db-timeout=300ms \
		daemon.held-cache-ttl=1h
	start_daemon || { echo "daemon not listening: $(tail -n 3 "$LOG")"; return; }
	got=$(ns -s 127.0.0.20 -z $STEADY)
	[[ $got == *noerror=1* ]] || { echo "before: $got"; return; }
	wait_for 15 logged "NOTIFY $STEADY: scanned and recorded" || { echo "no scan of $STEADY"; return; }
	# a flood for one zone asks the database once
	a=$(metric 'cdscan_notify_held_lookups_total{kind="database"}')
	c=$(metric 'cdscan_notify_held_lookups_total{kind="cache"}')
	ns -s 127.0.0.21 -n 4 -w 300 -z $STEADY >/dev/null
	[ "$(metric 'cdscan_notify_held_lookups_total{kind="database"}')" = "$a" ] ||
		echo "the database was asked again for a cached zone"
	[ "$(metric 'cdscan_notify_held_lookups_total{kind="cache"}')" -ge $((c + 4)) ] ||
		echo "cache lookups did not move by 4"
	freeze_pg || { echo "no postmaster"; return; }
	# answered at all within ns's 2 s wait means answered within the bound
	got=$(ns -s 127.0.0.22 -w 2000 -z $DIS)
	[[ $got == *servfail=1* ]] || echo "hung database: $got (expected SERVFAIL)"
	got=$(ns -s 127.0.0.23 -w 2000 -z $DIS)
	[[ $got == *servfail=1* ]] || echo "hung database, again: $got (expected SERVFAIL)"
	# meanwhile: a cached zone, a refusal, the metrics endpoint
	got=$(ns -s 127.0.0.24 -w 2000 -z $STEADY)
	[[ $got == *noerror=1* || $got == *ede15=1* ]] || echo "cached zone while hung: $got"
	got=$(ns -s 127.0.0.24 -w 2000 -T soa -z $STEADY)
	[[ $got == *refused=1* ]] || echo "NOTIFY(SOA) while hung: $got"
	curl -sf --max-time 2 "http://127.0.0.1:$MPORT/metrics" >/dev/null ||
		echo "metrics endpoint stalled"
	alive || { thaw_pg; echo "the daemon died: $(tail -n 3 "$LOG")"; return; }
	thaw_pg
	logged "no answer within 300 ms" || echo "no 'no answer within 300 ms' log line"
	# database back: acted on again (reconnects are at most 4 s apart)
	got=
	for i in $(seq 20); do
		noerror_from "127.0.0.$((30 + i))" $DIS && { got=1; break; }
		sleep 1
	done
	[ -n "$got" ] || { echo "not acted on after the database came back: $(tail -n 3 "$LOG")"; return; }
	wait_for 15 logged "NOTIFY $DIS: scanned and recorded" || echo "no scan of $DIS after"
	stop_daemon TERM || echo "did not stop"
}
why=$(t_db_hung)
thaw_pg
[ -z "$why" ] && pass daemon/db-hung-servfail-bounded || fail daemon/db-hung-servfail-bounded "$why"

# ---- a NOTIFY child that failed: its zones queued again, bounded ----------
# The database refuses new connections (the child's); the daemon's own
# connection stays, so the NOTIFY itself is answered and queued.

db_refuse() { psql -X -q -d postgres -c "ALTER DATABASE cdscan WITH ALLOW_CONNECTIONS $1" >/dev/null; }
t_retry() {
	local got before
	conf "$CONF" daemon.schedule=off daemon.notify-retries=2 \
		daemon.notify-retry-delay=1s
	start_daemon || { echo "daemon not listening: $(tail -n 3 "$LOG")"; return; }
	before=$(scans_of $STEADY)
	db_refuse false || { echo "cannot refuse connections"; return; }
	got=$(ns -s 127.0.0.60 -z $STEADY)
	[[ $got == *noerror=1* ]] || { db_refuse true; echo "answer: $got"; return; }
	wait_for 15 logged "NOTIFY $STEADY: scan failed (status [0-9]*); retry 1 of 2" ||
		{ db_refuse true; echo "no retry logged: $(tail -n 3 "$LOG")"; return; }
	db_refuse true
	# the retry, without another NOTIFY, scans and records it
	wait_for 15 logged "NOTIFY $STEADY: scanned and recorded" ||
		{ echo "the retry did not scan: $(tail -n 3 "$LOG")"; return; }
	wait_for 5 scans_above $STEADY "$before" || echo "no scan row after the retry"
	# refused for good: two retries, then given up, and nothing more
	db_refuse false
	got=$(ns -s 127.0.0.61 -z $STEADY)
	[[ $got == *noerror=1* ]] || { db_refuse true; echo "answer: $got"; return; }
	wait_for 20 logged "NOTIFY $STEADY: scan failed 3 times .*given up" ||
		echo "not given up after 2 retries: $(tail -n 3 "$LOG")"
	db_refuse true
	grep -q "retry 2 of 2" "$LOG" || echo "no second retry logged"
	[ "$(metric 'cdscan_notify_retries_total{kind="retry"}')" = 3 ] ||
		echo "retries metric $(metric 'cdscan_notify_retries_total{kind="retry"}'), expected 3"
	[ "$(metric 'cdscan_notify_retries_total{kind="given-up"}')" = 1 ] ||
		echo "given-up metric not 1"
	stop_daemon TERM || echo "did not stop"
}
why=$(t_retry)
db_refuse true
[ -z "$why" ] && pass daemon/notify-scan-failed-retried-bounded || fail daemon/notify-scan-failed-retried-bounded "$why"

# ---- SIGHUP switches daemon.log (stderr -> syslog -> stderr) --------------

t_log_switch() {
	conf "$CONF" daemon.schedule=off daemon.log=stderr
	start_daemon || { echo "daemon not listening"; return; }
	conf "$CONF" daemon.schedule=off daemon.log=syslog
	kill -HUP "$DPID"
	wait_for 5 logged "logging to syslog from now on" || { echo "no switch to syslog logged"; return; }
	ns -s 127.0.0.70 -z nosuch.test. >/dev/null
	conf "$CONF" daemon.schedule=off daemon.log=stderr
	kill -HUP "$DPID"
	wait_for 5 logged "daemon: logging to stderr" || { echo "not back on stderr"; return; }
	ns -s 127.0.0.71 -z nosuch.test. >/dev/null
	wait_for 5 logged "nosuch.test. from 127.0.0.71" || echo "no NOTIFY line on stderr after the switch back"
	! logged "nosuch.test. from 127.0.0.70" || echo "a line went to stderr while logging to syslog"
	! logged "logging to stderr from now on" || echo "the switch back was announced on stderr"
	stop_daemon TERM || echo "did not stop"
}
why=$(t_log_switch)
[ -z "$why" ] && pass daemon/sighup-switches-log || fail daemon/sighup-switches-log "$why"

# ---- N4, RFC 9859 §5: two NOTIFYs in quick succession, the CDS changed ----
# ---- in between: the second is queued behind the running scan and the ----
# ---- registry ends at the final CDS -----------------------------------------
# one-disagrees.test served uniformly: variant a ({ksk,new}) first, then b
# ({ksk,other}). The first child is held at the scan table (a lock) so
# that the second NOTIFY arrives while it runs.

scan_locked() {
	[ "$(sql "SELECT count(*) FROM pg_locks WHERE relation = 'cdscan.scan'::regclass AND mode = 'AccessExclusiveLock' AND granted")" = 1 ]
}
recorded_twice() { [ "$(grep -c "NOTIFY $1: scanned and recorded" "$LOG")" -ge 2 ]; }
t_two_notifies() {
	local got lpid want pa pb
	want=$(ds_set one-disagrees.test ksk other)
	tests/world/serve "$W" $DIS a >/dev/null 2>&1 || { echo "serve a"; return; }
	conf "$CONF" daemon.schedule=off daemon.notify-rate-zone-burst=5
	start_daemon || { echo "daemon not listening"; return; }
	psql -X -q -c "BEGIN; LOCK TABLE cdscan.scan IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(6); COMMIT" >/dev/null 2>&1 &
	lpid=$!
	wait_for 5 scan_locked || { echo "no lock"; return; }
	got=$(ns -s 127.0.0.80 -z $DIS)
	[[ $got == *noerror=1* ]] || { echo "first: $got"; return; }
	wait_for 5 logged "NOTIFY scan of 1 zone started" || { echo "no first child"; return; }
	tests/world/serve "$W" $DIS b >/dev/null 2>&1 || { echo "serve b"; return; }
	got=$(ns -s 127.0.0.81 -z $DIS)
	[[ $got == *noerror=1* ]] || echo "second: $got"
	reap "$lpid" 15
	wait_for 20 recorded_twice $DIS ||
		{ echo "not two scans: $(grep "NOTIFY" "$LOG" | tail -n 4)"; return; }
	pa=$(grep -n -m1 "NOTIFY $DIS: scanned and recorded" "$LOG" | cut -d: -f1)
	pb=$(grep -n "NOTIFY scan of 1 zone started" "$LOG" | sed -n 2p | cut -d: -f1)
	[ -n "$pb" ] && [ "$pb" -gt "$pa" ] || echo "the second scan did not wait for the first"
	wait_for 5 ds_is $DIS "$want" || echo "registry DS $(reg_ds $DIS), expected the final $want"
	stop_daemon TERM || echo "did not stop"
}
why=$(t_two_notifies)
[ -z "$why" ] && pass daemon/notify-twice-cds-changed-final-state || fail daemon/notify-twice-cds-changed-final-state "$why"

# ---- scan.keep: the scheduled run prunes the history after it -------------
# Every scan so far made 30 days older; after the scheduled run (keep 7d)
# the child prunes them down to what status and policy read.

old_scans() { sql "SELECT count(*) FROM cdscan.scan WHERE time < now() - interval '7 days'"; }
t_prune_after_run() {
	local before n left domains
	sql "UPDATE cdscan.scan SET time = time - interval '30 days'" >/dev/null
	before=$(old_scans)
	domains=$(sql "SELECT count(DISTINCT domain) FROM cdscan.scan")
	conf "$CONF" daemon.schedule=1h scan.keep=7d
	start_daemon || { echo "daemon not listening"; return; }
	wait_for 60 logged "prune: deleted" ||
		{ echo "no prune after the run: $(tail -n 3 "$LOG")"; stop_daemon TERM; return; }
	stop_daemon TERM || echo "did not stop"
	grep -q "schedule scan: run" "$LOG" || echo "pruned, but no run logged"
	n=$(sed -n 's/.*prune: deleted \([0-9]*\) scans.*/\1/p' "$LOG" | head -n 1)
	left=$(old_scans)
	[ "${n:-0}" -gt 0 ] || echo "nothing pruned: $(grep prune "$LOG")"
	[ "$left" = $((before - ${n:-0})) ] || echo "old scans: $before before, ${n:-?} deleted, $left left"
	[ "$(sql "SELECT count(DISTINCT domain) FROM cdscan.scan")" -ge "$domains" ] ||
		echo "a domain lost all its scans"
	[ "$(sql "SELECT count(*) FROM cdscan.scan_server v WHERE NOT EXISTS
	          (SELECT 1 FROM cdscan.scan s WHERE s.id = v.scan_id)")" = 0 ] ||
		echo "server rows left without their scan"
	echo "# prune after run: $n of $before old scans deleted, $left kept" >&2
}
why=$(t_prune_after_run)
[ -z "$why" ] && pass daemon/scheduled-run-prunes-history || fail daemon/scheduled-run-prunes-history "$why"

# a sanitizer build (SANITIZE=1) reports into the daemon's log
cat "$LOG" >>"$T/all.log"
if grep -qE 'runtime error|AddressSanitizer|LeakSanitizer' "$T/all.log"; then
	fail daemon/no-sanitizer-reports "$(grep -m 3 -E 'runtime error|Sanitizer' "$T/all.log" | tr '\n' ' ')"
else
	pass daemon/no-sanitizer-reports
fi

finish
