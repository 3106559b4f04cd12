#!/usr/bin/env bash
# Hostile and broken nameservers (issue 9 items 1, 2, 4): every child zone
# h-FAULT.test. asks for a real, signed DS change (CDS {old,new}, DS {old})
# at a real NSD (op1, 127.0.10.11), and its second server is badns
# (tests/tools/badns.c, 127.0.10.200) misbehaving in one way. For each
# fault `cdscan check` must not change anything, must name the server and
# the fault, and must finish within a bound; a control zone with badns
# answering correctly gets the update, so the fixture is shown to serve
# the real data the faults bend. Then an off-path flood of forged answers
# during a scan, and one `cdscan scan` over all the zones at once with
# PostgreSQL: nothing wrong applied, the good delegations applied, the
# whole run bounded.
#
# Prints "PASS hostile/NAME" / "FAIL hostile/NAME: why". BUILD=DIR takes
# badns and zonesign from DIR/tests/tools, CDSCAN=PATH another binary.
# HOSTILE_FIGURES=FILE appends how long each check took (for
# docs/HARDENING.md; nothing is asserted on it) and the scan's summary.
set -uo pipefail
cd "$(dirname "$0")/../.."
CDSCAN=${CDSCAN:-$(pwd)/cdscan}
BUILD=${BUILD:-build}
BUILD=$(cd "$BUILD" && pwd)
export WORLD_TOOLS=$BUILD/tests/tools
BADNS=$WORLD_TOOLS/badns
BAD=127.0.10.200   # badns
BAD2=127.0.10.201  # the other source address of "otheraddr"
. tests/lib.sh
. tests/pg.sh

need_root
need_cmd jq drill nsd knotd unbound ldns-keygen ldns-key2ds
[ -x "$BADNS" ] || { fail hostile/setup "no $BADNS (make tests)"; finish; }
[ -x "$CDSCAN" ] || { fail hostile/setup "no $CDSCAN"; finish; }

T=$(mktemp -d /tmp/cdscan-hostile.XXXXXX)
chmod 755 "$T"
W=$T/world
PGD=$T/pg
BADNS_PID=
on_exit "[ -n \"\$BADNS_PID\" ] && kill \$BADNS_PID 2>/dev/null; tests/world/stop '$W'; pg_stop '$PGD' >/dev/null 2>&1; rm -rf '$T'"

# fault  badns action (for every query type unless TYPE/ is given)  allowed decisions  what the server's error must say
# tctc: TC=1 over TCP too, with nothing in the answer: a server failure,
# not a NODATA that an early stop could take for the status quo.
# siglimit/sigover: the DNSKEY RRset carries N RRSIGs with the right key
# tag and a broken signature ahead of its two valid ones; validate.c tries
# at most SCAN_SIGS_PER_RRSET (16) RRSIGs: 14 + 2 are all tried and the
# change goes ahead, 16 + 2 leave both valid ones untried (KeyTrap bound).
FAULTS='
ok         ok                         update           -
drop       drop                       pending          timeout
wrongid    wrongid                    pending          timeout
wrongq     wrongq                     pending          timeout
otherport  otherport                  pending          timeout
otheraddr  otheraddr                  pending          timeout
tcdead     tc;tcp=dead                pending          timeout
tcdribble  tc;tcp=dribble,40          pending          timeout
bigclaim   tc;tcp=bigclaim            pending          timeout
late       late,2500                  pending          timeout
garbage    garbage                    pending          timeout
tcgarbage  tc;tcp=garbage             rejected         malformed|does.not.match
truncwire  truncwire                  pending          timeout
tctrunc    tc;tcp=truncwire           rejected         malformed
hugecount  tc;tcp=hugecount           rejected         malformed
referral   referral                   rejected         referral
refused    refused                    rejected         REFUSED
servfail   servfail                   rejected         SERVFAIL
cname      cname                      rejected         CNAME
dname      dname                      rejected         no.SOA
sigowner   CDS/sigowner               rejected         -
sigtype    CDS/sigtype                rejected         -
dksigtype  DNSKEY/sigtype             rejected         -
many       CDS/many,1200              rejected         -
dkmany     DNSKEY/many,40             rejected         -
tctc       tc;tcp=tc                  rejected         trunc
manysigs   DNSKEY/manysigs,400        rejected         -
cdssigs    CDS/manysigs,400           rejected         -
siglimit   DNSKEY/manysigs,14         update           -
sigover    DNSKEY/manysigs,16         rejected         -
'
FAULT_NAMES=$(awk 'NF { print $1 }' <<<"$FAULTS")

# ---- the world: one zone per fault, plus one for the flood ----------------

# like the world's ksk-rollover: DS {old}, both KSKs sign, CDS {old,new};
# served by op1 and op2 (the NS set given to cdscan picks who is asked)
_h_zone() {
	local z=$1.test
	key $z old 13 ksk
	key $z new 13 ksk
	key $z zsk 13
	zone_new $z "ns1=op1 ns2=op2"
	ds $z old
	{ cds $z old new; cdnskey $z old new; } | variant $z a
	sign $z a "op1 op2" old new zsk
}
export -f _h_zone
for f in $FAULT_NAMES spoof; do
	eval "scn_h-$f() { _h_zone h-$f; }"
	export -f "scn_h-$f"
done

tests/world/build "$W" $(printf 'h-%s ' $FAULT_NAMES spoof) >"$T/build.log" 2>&1 ||
	{ fail hostile/setup "world build: $(tail -n 3 "$T/build.log")"; finish; }
tests/world/start "$W" >"$T/start.log" 2>&1 ||
	{ fail hostile/setup "world start: $(tail -n 3 "$T/start.log")"; finish; }

# the DS rdata of key K of zone Z ("TAG ALG DT HEX")
dsr() { awk '{ for (i = 1; i < NF; i++) if ($i == "DS") { print $(i+1), $(i+2), $(i+3), toupper($(i+4)); exit } }' "$W/keys/$1/$2.ds"; }
canon() { tr 'a-f' 'A-F' | sort; }

rules=()
while read -r f act _; do
	[ -n "$f" ] || continue
	case "$act" in
	*/*) rules+=(-r "h-$f.test/$act") ;;
	*) rules+=(-r "h-$f.test/*=$act") ;;
	esac
done <<<"$FAULTS"
# a rule like "CDS/sigowner" names the type: rewrite to ZONE/TYPE=ACTION
for i in "${!rules[@]}"; do
	r=${rules[$i]}
	case "$r" in h-*.test/[A-Z]*/*) z=${r%%/*}; rest=${r#*/}; rules[$i]="$z/${rest%%/*}=${rest#*/}" ;; esac
done

rules+=(-r "h-spoof.test/*=late,400")
"$BADNS" -a $BAD -A $BAD2 -l "$T/badns.log" "${rules[@]}" \
	"$W"/zones/h-*/a.signed >"$T/badns.out" 2>"$T/badns.err" &
BADNS_PID=$!
wait_port $BAD 53 udp 10 && wait_port $BAD 53 tcp 10 ||
	{ fail hostile/setup "badns did not start: $(cat "$T/badns.err")"; finish; }

# ---- one delegation per fault through `cdscan check` -----------------------

# check ZONE [extra args]: ns1 is op1, ns2 is badns; DS {old}
check() {
	local z=$1.test
	shift
	# the time bound: timeout 400ms, 1 retry, UDP then TCP is 2.4 s a query
	timeout -k 2 15 "$CDSCAN" -c "$W/cdscan.yaml" check "$z" \
		--ns "ns1.$z=127.0.10.11" --ns "ns2.$z=$BAD" \
		--ds "$(dsr "$z" old)" --json "$@" 2>"$T/check.err"
}

# Whatever the fault, what may come out: the expected safe decision, the
# fault named at badns's address, and op1 seen answering correctly (so the
# safe outcome is the fault's doing, not a dead world).
t_fault() {
	local f=$1 want=$2 err=$3 out rc dec e ok1 prop t0
	t0=$(date +%s%N)
	out=$(check "h-$f")
	rc=$?
	[ -z "${HOSTILE_FIGURES:-}" ] ||
		echo "check h-$f $(( ($(date +%s%N) - t0) / 1000000 )) ms" >>"$HOSTILE_FIGURES"
	[ $rc = 0 ] || { echo "cdscan exit $rc ($(tail -n 2 "$T/check.err" | tr '\n' ' '))"; return; }
	dec=$(jq -r '.ds.decision + "/" + .ds.reason' <<<"$out")
	prop=$(jq -r '.ds.proposed[]?' <<<"$out" | canon)
	ok1=$(jq -r --arg a 127.0.10.11 '.servers[] | select(.address == $a) | .error // "ok"' <<<"$out")
	e=$(jq -r --arg a $BAD '.servers[] | select(.address == $a) | .error // ""' <<<"$out")
	[ "$ok1" = ok ] || { echo "op1 failed too ($ok1): the world is broken"; return; }
	case "$want" in
	update)
		[ "${dec%%/*}" = update ] &&
		[ "$prop" = "$(printf '%s\n%s\n' "$(dsr h-$f.test old)" "$(dsr h-$f.test new)" | canon)" ] ||
			echo "control: expected update to {old,new}, got $dec {$prop}"
		return ;;
	esac
	case "${dec%%/*}" in
	update|delete)
		echo "UNSAFE: $dec {$prop} ($(jq -r .ds.detail <<<"$out"))"; return ;;
	"$want") ;;
	*) echo "expected $want, got $dec ($(jq -r .ds.detail <<<"$out"))"; return ;;
	esac
	# the reason names the server: its address in the detail or in its
	# own entry's error
	jq -r '.ds.detail' <<<"$out" | grepq -E "$BAD|ns2\.h-$f" || [ -n "$e" ] ||
		{ echo "$dec, but neither the detail nor an error names $BAD: $(jq -c '[.ds.detail, .servers]' <<<"$out")"; return; }
	if [ "$err" != - ] && ! grep -qiE "$err" <<<"$e"; then
		echo "$dec, but the error at $BAD does not say '$err': '$e'"
		return
	fi
	if [ "$err" = - ] && ! jq -r '.ds.detail' <<<"$out" | grepq -E "$BAD|ns2\.h-$f"; then
		echo "$dec, but the detail does not name $BAD: $(jq -r .ds.detail <<<"$out")"
		return
	fi
	echo "$dec | $(jq -r .ds.detail <<<"$out") | $e" >>"$T/outcomes"
}

while read -r f act want err; do
	[ -n "$f" ] || continue
	if why=$(t_fault "$f" "$want" "$err"); [ -z "$why" ]; then
		pass "hostile/$f"
	else
		fail "hostile/$f" "$why"
	fi
	# badns must have met the query it meant to bend (the log says so)
	if [ "$f" != ok ] && ! grep -q "h-$f\.test\..* -> ${act##*=}" "$T/badns.log" &&
	   ! grep -q "h-$f\.test\..* -> $(sed 's/^[A-Z]*\///; s/[,;].*//' <<<"$act")" "$T/badns.log"; then
		fail "hostile/$f-met" "badns never applied '$act' (see its log)"
	fi
done <<<"$FAULTS"

# the answer size bound (scanner.max-answer): the 1202-record CDS RRset is
# about 56 KiB over TCP; with a 16 KiB bound it is refused unread
t_answer_size() {
	local out e
	out=$(check h-many --set scanner.max-answer=16384) || { echo "cdscan exit $?"; return; }
	e=$(jq -r --arg a $BAD '.servers[] | select(.address == $a) | .error // ""' <<<"$out")
	case "$(jq -r .ds.decision <<<"$out")" in update|delete) echo "UNSAFE"; return ;; esac
	grep -qiE 'limit|large' <<<"$e" || echo "error at $BAD does not name the size limit: '$e'"
}
if why=$(t_answer_size); [ -z "$why" ]; then
	pass hostile/answer-size-bound
else
	fail hostile/answer-size-bound "$why"
fi

# The early stop (STANDARDS Q6) acts on the first server's CDS and CDNSKEY
# answers alone: badns as the only server, so it is the one asked. A CNAME
# at the apex (RFC 1034 §3.6.2: never beside SOA and NS) and an empty TC=1
# answer over TCP are failures of that server, not a NODATA confirming the
# status quo.
t_early() {
	local f=$1 err=$2 z=h-$1.test out e
	out=$(timeout -k 2 15 "$CDSCAN" -c "$W/cdscan.yaml" check $z --ns "ns2.$z=$BAD" \
		--ds "$(dsr $z old)" --json --early-stop 2>"$T/check.err") ||
		{ echo "cdscan exit $?"; return; }
	e=$(jq -r --arg a $BAD '.servers[] | select(.address == $a) | .error // ""' <<<"$out")
	case "$(jq -r .ds.decision <<<"$out")" in
	pending|rejected) ;;
	*) echo "$(jq -r '.ds.decision + "/" + .ds.reason' <<<"$out"): the fault went unnoticed ($e)"; return ;;
	esac
	grep -qiE "$err" <<<"$e" || echo "the error at $BAD does not say '$err': '$e'"
}
for x in "cname CNAME" "tctc trunc"; do
	set -- $x
	if why=$(t_early "$1" "$2"); [ -z "$why" ]; then
		pass "hostile/early-stop-$1"
	else
		fail "hostile/early-stop-$1" "$why"
	fi
done

# ---- spoofing: an off-path flood during a scan ----------------------------

# Forged answers for h-spoof.test. CDS, each with a random ID, to every
# ephemeral port of 127.0.0.1 (where the scanner's sockets are): from the
# servers' own addresses and port 53 (stopped by the ID and question
# checks), from a server's address but another port (the port check), and
# from an address that is no server of the zone (the address check).
# Their CDS names a key the zone never had: had one got through, DNSSEC
# would refuse it. ns2 is badns answering correctly but 400 ms late, so
# that the scanner's queries are open while the flood runs; the outcome
# must be exactly the signed change.
t_spoof() {
	local z=h-spoof.test out dec prop want pids=() sent=0 n in0 in1 src
	# datagrams the kernel delivered to some open UDP socket (the
	# scanner's among them) rather than refused for want of one
	in0=$(awk '/^Udp:/ { if (h) { print $2 } else h = 1 }' /proc/net/snmp)
	for src in 127.0.10.11@53 $BAD@53 127.0.10.11@5353 127.0.10.99@53; do
		timeout 60 "$BADNS" -F -s $src -t 127.0.0.1 -c 1000 -D 3 -q $z. -T CDS \
			>"$T/flood.$src" 2>&1 &
		pids+=($!)
	done
	sleep 0.3
	out=$(timeout -k 2 30 "$CDSCAN" -c "$W/cdscan.yaml" check $z \
		--ns "ns1.$z=127.0.10.11" --ns "ns2.$z=$BAD" \
		--ds "$(dsr $z old)" --json --set scanner.timeout=1500ms 2>"$T/spoof.err")
	for p in "${pids[@]}"; do wait "$p"; done
	in1=$(awk '/^Udp:/ { if (h) { print $2 } else h = 1 }' /proc/net/snmp)
	for f in "$T"/flood.*; do
		n=$(awk '/^sent/ { print $2 }' "$f")
		sent=$((sent + ${n:-0}))
	done
	[ -z "${HOSTILE_FIGURES:-}" ] ||
		echo "flood: $sent forged answers, $((in1 - in0)) UDP datagrams delivered to open sockets meanwhile" >>"$HOSTILE_FIGURES"
	[ "$sent" -gt 100000 ] || { echo "the flood sent only $sent answers: $(cat "$T"/flood.* | head -n 3)"; return; }
	dec=$(jq -r '.ds.decision' <<<"$out")
	prop=$(jq -r '.ds.proposed[]?' <<<"$out" | canon)
	want=$(printf '%s\n%s\n' "$(dsr $z old)" "$(dsr $z new)" | canon)
	if grep -q '^4242 ' <<<"$prop"; then
		echo "UNSAFE: the forged CDS was proposed"
	elif [ "$dec" = update ] && [ "$prop" = "$want" ]; then
		echo "ok: $sent forged answers, $((in1 - in0)) delivered, decision the signed change" >>"$T/outcomes"
	elif [ "$dec" = rejected ] && jq -r .ds.detail <<<"$out" | grepq -i sign; then
		# a forged answer guessed an ID (1 in 65536 per try): DNSSEC refused it
		echo "ok: a forgery got past the ID check and DNSSEC refused it" >>"$T/outcomes"
	else
		echo "after $sent forged answers: $dec {$prop} $(jq -r .ds.detail <<<"$out")"
	fi
}
if why=$(t_spoof); [ -z "$why" ]; then
	pass hostile/spoof-flood
else
	fail hostile/spoof-flood "$why"
fi

# ---- the whole run: every fault at once through `cdscan scan` --------------

. tests/pipeline/lib.sh
# The parent as the world built it, with ns2 of every h- zone at badns.
t_scan() {
	local out run bad n good
	pg_start "$PGD" >"$T/pg.log" 2>&1 || { echo "PostgreSQL: $(tail -n 3 "$T/pg.log")"; return; }
	sed -E "s/^(ns2\.h-[a-z]+\.test\.[[:space:]]+IN[[:space:]]+A[[:space:]]+)127\.0\.10\.12$/\1$BAD/" \
		"$W/tld/test.in" | sed -E '/^ns2\.h-spoof\.test\./s/'"$BAD"'$/127.0.10.12/' >"$T/parent.zone"
	[ "$(grep -c "$BAD\$" "$T/parent.zone")" = "$(wc -w <<<"$FAULT_NAMES")" ] ||
		{ echo "parent zone: expected $(wc -w <<<"$FAULT_NAMES") glue records at badns"; return; }
	pl_config "$T/scan.yaml" scanner.timeout=400ms scanner.retries=1
	"$CDSCAN" -c "$T/scan.yaml" init >"$T/init.log" 2>&1 || { echo "init: $(cat "$T/init.log")"; return; }
	"$CDSCAN" -c "$T/scan.yaml" import "$T/parent.zone" --origin test. >"$T/import.log" 2>&1 ||
		{ echo "import: $(cat "$T/import.log")"; return; }
	_pl_sql_helpers
	# bounded: 31 delegations, every fault at once, within 60 s
	timeout -k 2 60 "$CDSCAN" -c "$T/scan.yaml" scan --all >"$T/scan.log" 2>&1 ||
		{ echo "scan exit $? (60 s bound): $(tail -n 3 "$T/scan.log")"; return; }
	run=$(sql "SELECT max(id) FROM cdscan.run")
	[ -z "${HOSTILE_FIGURES:-}" ] || cat "$T/scan.log" >>"$HOSTILE_FIGURES"
	why=$(run_once_why "$run")
	[ -z "$why" ] || { echo "$why"; return; }
	# nothing changed where badns took part, except the control
	bad=$(sql "SELECT string_agg(domain || '=' || verdict || '/' || coalesce(outcome, '-'), ' ')
	           FROM cdscan.scan WHERE run_id = $run AND domain NOT IN ('h-ok.test.', 'h-siglimit.test.', 'h-spoof.test.')
	             AND (verdict IN ('update', 'delete') OR outcome IS NOT NULL)")
	[ -z "$bad" ] || { echo "UNSAFE: $bad"; return; }
	# and every delegation with a faulty badns says so (no early stop on
	# a broken answer taken for the status quo). A DNAME at the apex does
	# not redirect the apex itself (RFC 6672 §2.3): for CDS it is a NODATA,
	# and an early stop may rightly end there.
	bad=$(sql "SELECT string_agg(domain || '=' || verdict || '/' || reason, ' ')
	           FROM cdscan.scan WHERE run_id = $run
	             AND domain NOT IN ('h-ok.test.', 'h-siglimit.test.', 'h-spoof.test.')
	             AND verdict NOT IN ('pending', 'rejected')
	             AND NOT (domain = 'h-dname.test.' AND reason = 'no-cds')")
	[ -z "$bad" ] || { echo "no fault reported: $bad"; return; }
	n=$(sql "SELECT count(*) FROM cdscan.audit WHERE run_id = $run")
	good=$(sql "SELECT string_agg(domain, ' ' ORDER BY domain) FROM cdscan.scan
	            WHERE run_id = $run AND outcome = 'applied'")
	[ "$good" = "h-ok.test. h-siglimit.test. h-spoof.test." ] && [ "$n" = 3 ] ||
		{ echo "applied: '$good' with $n audit rows, expected h-ok, h-siglimit, h-spoof"; return; }
	# each server-side fault is on record with the server named
	n=$(sql "SELECT count(*) FROM cdscan.scan s JOIN cdscan.scan_server v ON v.scan_id = s.id
	         WHERE s.run_id = $run AND v.addr = '$BAD' AND v.error IS NOT NULL")
	[ "$n" -ge 18 ] || { echo "only $n badns servers recorded with an error"; return; }
}
if why=$(t_scan); [ -z "$why" ]; then
	pass hostile/scan-run
else
	fail hostile/scan-run "$why"
fi

echo "# outcomes:"
sed 's/^/#   /' "$T/outcomes" 2>/dev/null
finish
