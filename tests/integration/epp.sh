#!/usr/bin/env bash
# The EPP sink (STANDARDS §10) against the test registry
# (tests/tools/eppserver: TLS with client certificates, every frame
# schema-checked) and a throwaway PostgreSQL: the client's TLS and login,
# NS changes with host objects or attributes, and the outbox sender —
# rollover, delete, keyData, 2304, 1001 + poll, 2400, 2500, a frame split
# in pieces, a reply cut mid-frame, the sender SIGKILLed between send and
# reply, the server down for a while. Outbox rows are written the way
# db_record_change writes them for sink: epp (cdscan.epp_outbox is a
# documented interface); the scan itself is tests/integration/epp_scan.sh.
# Certificates are made here, in a temporary directory.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/pg.sh
. tests/epp/lib.sh
need_cmd openssl psql ldns-key2ds python3
if [ "$(id -u)" != 0 ]; then
	skip "${0##*/}" "needs root (initdb runs as the postgres user)"
	exit 0
fi

CDSCAN=${CDSCAN:-./cdscan}
BUILD=${BUILD:-build}
D=$(mktemp -d /tmp/cdscan-epp.XXXXXX)
chmod 755 "$D"
E=$D/epp
PGD=$D/pg
on_exit "epp_stop '$E'; pg_stop '$PGD'; rm -rf '$D'"
[ -x "$BUILD/tests/tools/eppserver" ] ||
	{ fail epp/setup "no $BUILD/tests/tools/eppserver (make tests)"; finish; }
epp_certs "$E" || { fail epp/setup "certificates"; finish; }
pg_start "$PGD" >"$D/pg.log" 2>&1 || { fail epp/setup "$(tail -n 3 "$D/pg.log")"; finish; }

C=$D/cdscan.yaml
cds() { "$CDSCAN" -c "$C" "$@"; }

# Keys and their DS (ldns-key2ds, not cdscan) for the keyData cases.
KEY_OLD="257 3 13 GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA=="
KEY_NEW="257 3 13 7Q8nM6uEVyZ6sQ0ylkf58WF/HjhV3c46VY41GFA2aYkzm/1fAFo5S/Ex3iDqkd8U8bJ5mtiWUq3C1iS+e7A9Zg=="
ds_of() { # OWNER KEY -> "TAG ALG 2 HEX"
	(cd "$D" && echo "$1 3600 IN DNSKEY $2" >k.key &&
	 ldns-key2ds -n -2 k.key | awk '{ print $5, $6, $7, toupper($8) }')
}
DSK_OLD=$(ds_of key.test. "$KEY_OLD")
DSK_NEW=$(ds_of key.test. "$KEY_NEW")
DS_A="11111 13 2 $(printf 'AA%.0s' $(seq 32))"
DS_B="22222 13 2 $(printf 'BB%.0s' $(seq 32))"

# registry STATE-LINES: the test registry's state (the server is stopped)
registry() { printf '%s\n' "$@" >"$E/state"; }

# local DOMAIN DS...: the registrar's own tables hold DOMAIN with these DS
local_domain() {
	local d=$1 ds
	shift
	sql "INSERT INTO registry.domain (name) VALUES ('$d')" >/dev/null
	for ds in "$@"; do
		set -- $ds
		sql "INSERT INTO registry.ds SELECT id, $1, $2, $3, '$4'
		     FROM registry.domain WHERE name = '$d'" >/dev/null
	done
}

wait_for() {
	local secs=$1 i
	shift
	for i in $(seq $((secs * 10))); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
sql() { PGOPTIONS="-c client_min_messages=warning" psql -X -Atq -v ON_ERROR_STOP=1 -c "$1"; }

# queue DOMAIN KIND BEFORE AFTER [KEYS]: an outbox row (arrays as SQL text)
queue() {
	sql "INSERT INTO cdscan.epp_outbox (domain, kind, before_ds, after_ds,
	     after_keys) VALUES ('$1', '$2', $3, $4, ${5:-'{}'}) RETURNING id"
}
state_of() { sql "SELECT state || ' ' || coalesce(last_code::text, '-') FROM cdscan.epp_outbox WHERE id = $1"; }
local_ds() { sql "SELECT array_to_string(ds, ',') FROM cdscan.delegation WHERE name = '$1'"; }
srv_ds() { grep -c "^ds $1 " "$E/state" 2>/dev/null; }
count_log() { grep -c -- "$1" "$E/log" 2>/dev/null; }
send() { cds epp send >"$D/send.out" 2>"$D/send.err"; }

registry "domain a.test." "ds a.test. $DS_A" \
	"domain del.test." "ds del.test. $DS_A" \
	"domain locked.test." "status locked.test. clientUpdateProhibited" \
	"ds locked.test. $DS_A" \
	"domain pend.test." "ds pend.test. $DS_A" \
	"domain r.test." "ds r.test. $DS_A" \
	"domain kill.test." "ds kill.test. $DS_A" \
	"domain down.test." "ds down.test. $DS_A" \
	"domain ns.test." "ns ns.test. ns1.ns.test." "host ns1.ns.test. 192.0.2.1"
epp_start "$E" || { fail epp/setup "server"; finish; }
epp_config "$C" "$E"
cds init >"$D/init.log" 2>&1 || { fail epp/setup "$(cat "$D/init.log")"; finish; }
for d in a del locked pend r kill down; do local_domain $d.test. "$DS_A"; done

# ---- transport and session (E1, E2) ----------------------------------------

if cds epp info a.test. >"$D/info.out" 2>&1 && grep -q "ds .*11111 13 2" "$D/info.out" &&
   [ "$(count_log 'login 1000')" -ge 1 ] && [ "$(count_log '^logout')" -ge 1 ]; then
	pass E2_login_version_lang_from_greeting_and_logout
else
	fail E2_login_version_lang_from_greeting_and_logout "$(cat "$D/info.out"; tail -3 "$E/log")"
fi

epp_stop "$E"
EPP_SERVER_CERT=$E/wrong.crt EPP_SERVER_KEY=$E/wrong.key epp_start "$E"
out=$(cds epp info a.test. 2>&1)
if [ $? -ne 0 ] && echo "$out" | grepq "server certificate refused"; then
	pass E1_server_certificate_name_checked
else
	fail E1_server_certificate_name_checked "connected to a server named wrong.test: $out"
fi
epp_stop "$E"
epp_start "$E"
epp_config "$D/stranger.yaml" "$E" "cert=\"$E/stranger.crt\"" "key=\"$E/stranger.key\""
: >"$E/log"
out=$("$CDSCAN" -c "$D/stranger.yaml" epp info a.test. 2>&1)
if [ $? -ne 0 ] && grep -q "tls-refused" "$E/log" && ! grep -q "^login" "$E/log"; then
	pass E1_client_certificate_verified_by_server
else
	fail E1_client_certificate_verified_by_server "a certificate of another CA got in: $out"
fi

chmod 644 "$E/password"
out=$(cds epp info a.test. 2>&1)
if [ $? -ne 0 ] && echo "$out" | grepq "epp.password-file: $E/password is readable by group or others"; then
	pass epp_password_file_readable_by_others_refused
else
	fail epp_password_file_readable_by_others_refused "$out"
fi
chmod 600 "$E/password"

# ---- NS (E5, E6) -------------------------------------------------------------

if cds epp ns ns.test. --add ns2.ns.test.=192.0.2.2,2001:db8::2 \
	--add ns.elsewhere.example. --rem ns1.ns.test. >"$D/ns.out" 2>&1 &&
   grep -q "(hostObj): 1000" "$D/ns.out" &&
   grep -qx "host ns2.ns.test. 192.0.2.2 2001:db8::2" "$E/state" &&
   grep -qx "host ns.elsewhere.example." "$E/state" &&
   grep -qx "ns ns.test. ns2.ns.test." "$E/state"; then
	pass E5_greeting_with_host_objects_uses_hostObj
else
	fail E5_greeting_with_host_objects_uses_hostObj "$(cat "$D/ns.out")"
fi
epp_stop "$E"
epp_start "$E" -H attr
if cds epp ns ns.test. --add ns3.ns.test.=192.0.2.3 --rem ns2.ns.test. >"$D/ns.out" 2>&1 &&
   grep -q "(hostAttr): 1000" "$D/ns.out" &&
   grep -qx "ns ns.test. ns3.ns.test. 192.0.2.3" "$E/state"; then
	pass E5_greeting_without_host_objects_uses_hostAttr
else
	fail E5_greeting_without_host_objects_uses_hostAttr "$(cat "$D/ns.out")"
fi
epp_stop "$E"
epp_start "$E"

# ---- the outbox sender (E4, E7, E8) ------------------------------------------

id=$(queue a.test. ds-update "ARRAY['$DS_A']" "ARRAY['$DS_B']")
send
if [ "$(state_of "$id")" = "done 1000" ] && [ "$(count_log '^update a.test. 1000 applied rem=1 add=1')" = 1 ] &&
   grep -q "^ds a.test. 22222 " "$E/state" && [ "$(srv_ds a.test.)" = 1 ] &&
   [ "$(local_ds a.test.)" = "$DS_B" ]; then
	pass E7_rollover_one_rem_plus_add
else
	fail E7_rollover_one_rem_plus_add "$(state_of "$id"); $(cat "$D/send.err"); $(tail -3 "$E/log")"
fi

id=$(queue del.test. ds-delete "ARRAY['$DS_A']" "'{}'")
send
if [ "$(state_of "$id")" = "done 1000" ] && [ "$(srv_ds del.test.)" = 0 ] &&
   [ "$(count_log '^update del.test. 1000 applied rem=1 add=0')" = 1 ] &&
   [ -z "$(local_ds del.test.)" ]; then
	pass E8_delete_is_rem_all
else
	fail E8_delete_is_rem_all "$(state_of "$id"); $(cat "$D/send.err")"
fi

id=$(queue locked.test. ds-update "ARRAY['$DS_A']" "ARRAY['$DS_B']")
send
send
msg=$(sql "SELECT last_message FROM cdscan.epp_outbox WHERE id = $id")
if [ "$(state_of "$id")" = "refused 2304" ] && [ "$(count_log '^update locked.test. 2304')" = 1 ] &&
   echo "$msg" | grepq clientUpdateProhibited &&
   cds outbox | grepq "refused.*\[2304\].*clientUpdateProhibited" &&
   cds status locked.test. 2>/dev/null | grepq "EPP outbox"; then
	pass E4_2304_recorded_no_retry_loop
else
	fail E4_2304_recorded_no_retry_loop "$(state_of "$id"), $(count_log 'update locked.test.') updates: $msg"
fi

echo "once update-pending" >"$E/control"
id=$(queue pend.test. ds-update "ARRAY['$DS_A']" "ARRAY['$DS_B']")
send
s1=$(state_of "$id")
send
s2=$(state_of "$id")
ds_before=$(grep "^ds pend.test." "$E/state")
echo "settle" >"$E/control"
send
if [ "$s1" = "pending 1001" ] && [ "$s2" = "pending 1001" ] && echo "$ds_before" | grepq 11111 &&
   [ "$(state_of "$id")" = "done 1301" ] && grep -q "^ds pend.test. 22222" "$E/state" &&
   [ "$(local_ds pend.test.)" = "$DS_B" ] && [ "$(count_log '^poll-ack')" = 1 ] &&
   ! grep -q "^poll " "$E/state"; then
	pass E4_1001_pending_until_poll_message
else
	fail E4_1001_pending_until_poll_message "$s1 / $s2 / $(state_of "$id"); $(cat "$D/send.err")"
fi

echo "once update-code 2500" >"$E/control"
logins=$(count_log 'login 1000')
id=$(queue r.test. ds-update "ARRAY['$DS_A']" "ARRAY['$DS_B']")
send
if [ "$(state_of "$id")" = "done 1000" ] && [ "$(count_log '^update r.test. 2500')" = 1 ] &&
   [ "$(count_log '^update r.test. 1000 applied')" = 1 ] &&
   [ "$(count_log 'login 1000')" = $((logins + 2)) ]; then
	pass E4_2500_reconnect
else
	fail E4_2500_reconnect "$(state_of "$id"); $(tail -5 "$E/log")"
fi

# 2400: kept for later (epp.retry 1h here), not lost, then sent
epp_config "$C" "$E" "retry=1h"
echo "once update-code 2400 registry busy" >"$E/control"
id=$(queue r.test. ds-update "ARRAY['$DS_B']" "ARRAY['$DS_A']")
send
s1=$(state_of "$id")
due=$(sql "SELECT next_attempt > now() + interval '50 min' FROM cdscan.epp_outbox WHERE id = $id")
send
s2=$(state_of "$id")
sql "UPDATE cdscan.epp_outbox SET next_attempt = now() WHERE id = $id"
send
if [ "$s1" = "queued 2400" ] && [ "$due" = t ] && [ "$s2" = "queued 2400" ] &&
   [ "$(count_log '^update r.test. 2400')" = 1 ] && [ "$(state_of "$id")" = "done 1000" ]; then
	pass E4_2400_retried_with_back_off
else
	fail E4_2400_retried_with_back_off "$s1 (due later: $due) / $s2 / $(state_of "$id")"
fi
epp_config "$C" "$E"

# STANDARDS §10 T: a frame split across reads is reassembled (7-octet
# TLS records from the server)
echo "split 7" >"$E/control"
id=$(queue r.test. ds-update "ARRAY['$DS_A']" "ARRAY['$DS_B']")
send
if [ "$(state_of "$id")" = "done 1000" ]; then
	pass E1_frame_split_across_reads_reassembled
else
	fail E1_frame_split_across_reads_reassembled "$(state_of "$id"); $(cat "$D/send.err")"
fi
: >"$E/control"

# the answer cut in the middle of its frame, after the registry did it
echo "once update-drop" >"$E/control"
id=$(queue r.test. ds-update "ARRAY['$DS_B']" "ARRAY['$DS_A']")
n0=$(count_log '^update r.test. 1000 applied')
send
if [ "$(state_of "$id")" = "done 1000" ] && [ "$(count_log '^update r.test. 1000 applied')" = $((n0 + 1)) ] &&
   [ "$(local_ds r.test.)" = "$DS_A" ]; then
	pass epp_reply_dropped_mid_frame_applied_once
else
	fail epp_reply_dropped_mid_frame_applied_once "$(state_of "$id"); $(cat "$D/send.err")"
fi

# SIGKILL between send and reply, then a new sender: exactly once
echo "once update-slow 3000" >"$E/control"
id=$(queue kill.test. ds-update "ARRAY['$DS_A']" "ARRAY['$DS_B']")
"$CDSCAN" -c "$C" epp send >"$D/kill.out" 2>&1 &
pid=$!
if wait_for 10 grep -q "^update kill.test. 1000 applied" "$E/log"; then
	kill -9 $pid
	wait $pid 2>/dev/null
	s1=$(state_of "$id")
	send
	if [ "$s1" = "sending -" ] && [ "$(state_of "$id")" = "done 1000" ] &&
	   [ "$(count_log '^update kill.test.')" = 1 ] &&
	   grep -q "already at the registry" "$D/send.out" &&
	   [ "$(local_ds kill.test.)" = "$DS_B" ]; then
		pass epp_sender_killed_between_send_and_reply_applied_once
	else
		fail epp_sender_killed_between_send_and_reply_applied_once "$s1 / $(state_of "$id"), $(count_log '^update kill.test.') updates; $(cat "$D/send.out" "$D/send.err")"
	fi
else
	kill -9 $pid 2>/dev/null
	fail epp_sender_killed_between_send_and_reply_applied_once "the update never reached the server: $(cat "$D/kill.out")"
fi
: >"$E/control"

# the server down for a while: the change waits, then goes through
epp_stop "$E"
id=$(queue down.test. ds-update "ARRAY['$DS_A']" "ARRAY['$DS_B']")
send
s1=$(state_of "$id")
m1=$(sql "SELECT last_message FROM cdscan.epp_outbox WHERE id = $id")
epp_start "$E"   # the same port: EPP_PORT is kept
send
if [ "$s1" = "queued -" ] && echo "$m1" | grepq "connect" &&
   [ "$(state_of "$id")" = "done 1000" ] && [ "$(count_log '^update down.test. 1000')" = 1 ]; then
	pass epp_server_down_change_waits_then_goes_through
else
	fail epp_server_down_change_waits_then_goes_through "$s1 ($m1) / $(state_of "$id")"
fi

# keyData-only registry (STANDARDS §10 T: no 2306)
epp_stop "$E"
registry "domain key.test." "key key.test. $KEY_OLD"
epp_start "$E" -m key
local_domain key.test. "$DSK_OLD"
id=$(queue key.test. ds-update "ARRAY['$DSK_OLD']" "ARRAY['$DSK_NEW']" "ARRAY['$KEY_NEW']")
send
if [ "$(state_of "$id")" = "done 1000" ] && [ "$(count_log ' 2306')" = 0 ] &&
   grep -q "^key key.test. 257 3 13 7Q8nM6" "$E/state" && [ "$(grep -c '^key key.test.' "$E/state")" = 1 ]; then
	pass E7_keydata_only_registry_no_2306
else
	fail E7_keydata_only_registry_no_2306 "$(state_of "$id"); $(cat "$D/send.err"); $(tail -3 "$E/log")"
fi

# ---- the password and the schemas ---------------------------------------------

"$CDSCAN" -c "$C" -v -v -v epp info key.test. >"$D/debug.out" 2>&1
if grep -q "credentials withheld" "$D/debug.out" && ! grep -qF "$EPP_PASSWORD" "$D/debug.out" "$D"/*.out "$D"/*.err; then
	pass epp_password_never_logged
else
	fail epp_password_never_logged "the password or the login frame appears in the debug log"
fi

if [ -z "$(epp_errors "$E")" ]; then
	pass epp_every_frame_schema_valid
else
	fail epp_every_frame_schema_valid "$(epp_errors "$E" | head -n 5)"
fi

# ... and the server's check does catch an invalid frame
python3 - "$E" "$EPP_PORT" <<'PY' >"$D/raw.out" 2>&1
import socket, ssl, struct, sys
d, port = sys.argv[1], int(sys.argv[2])
ctx = ssl.create_default_context(cafile=d + "/ca.crt")
ctx.load_cert_chain(d + "/client.crt", d + "/client.key")
with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
    with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
        n = struct.unpack(">I", t.recv(4))[0]
        while n > 4:
            n -= len(t.recv(n - 4))
        doc = b'<?xml version="1.0"?><epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><frobnicate/></command></epp>'
        t.sendall(struct.pack(">I", len(doc) + 4) + doc)
        print(t.recv(4096)[4:].decode(errors="replace"))
PY
if grep -q 'code="2001"' "$D/raw.out" && epp_errors "$E" | grepq "frobnicate"; then
	pass epp_server_records_invalid_frames
else
	fail epp_server_records_invalid_frames "$(cat "$D/raw.out")"
fi

finish
