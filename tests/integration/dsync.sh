#!/usr/bin/env bash
# cdscan export's DSYNC records (RFC 9859 §2, STANDARDS §1 W4 and §9 N1)
# against a real PostgreSQL holding tests/data/zones/parent.zone: the
# RDATA of each record (one per type, scheme NOTIFY) compared byte for
# byte with the W4 example encoded here independently (python3 struct),
# the owner *._dsync.ORIGIN, the mnemonic form, the exported zone loaded
# by NSD (nsd-checkzone), Knot (knotc zone-check) and ldns, re-imported
# without a change, and the refusals: a bare _dsync owner, a type twice,
# no origin to derive the owner from, a bad --dsync. CDSCAN=PATH tests
# another binary.
set -uo pipefail
cd "$(dirname "$0")/../.."
CDSCAN=${CDSCAN:-$(pwd)/cdscan}
. tests/lib.sh
. tests/pg.sh
need_cmd psql
need_cmd python3
Z=tests/data/zones
D=$(mktemp -d /tmp/cdscan-dsync.XXXXXX)
chmod 755 "$D"
on_exit "pg_stop '$D'; rm -rf '$D'"
pg_start "$D" >/dev/null || { fail dsync/postgres "cannot start PostgreSQL"; finish; }
C=(-c /dev/null)
"$CDSCAN" "${C[@]}" init >/dev/null 2>"$D/err" &&
	"$CDSCAN" "${C[@]}" import $Z/parent.zone >/dev/null 2>>"$D/err" ||
	{ fail dsync/setup "$(cat "$D/err")"; finish; }

# expect NAME WANT GOT
expect() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "want '$2', got '$3'"; fi
}
# W4's RDATA, RRtype(16) Scheme(8) Port(16) Target (uncompressed, RFC 9859
# §2.1), encoded by python: rdata TYPE SCHEME PORT TARGET → hex
rdata() {
	python3 - "$@" <<'EOF'
import struct, sys
t, scheme, port, target = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
wire = b"".join(bytes([len(l)]) + l.encode() for l in target.rstrip(".").split(".")) + b"\0"
print(len(wire) + 5, (struct.pack(">HBH", t, scheme, port) + wire).hex())
EOF
}
T=(--set dsync.target=scanner.example.net.)

# -- the W4 example, one record per (type, scheme) -------------------------
"$CDSCAN" "${C[@]}" export --origin test. "${T[@]}" >"$D/export" 2>"$D/err" ||
	fail dsync/export "$(cat "$D/err")"
read -r len hex < <(rdata 59 1 5359 scanner.example.net.)
expect dsync/w4-cds-notify-rdata \
	"*._dsync.test.	3600	IN	TYPE66	\\# $len $hex" "$(sed -n 1p "$D/export")"
read -r len hex < <(rdata 62 1 5359 scanner.example.net.)
expect dsync/w4-csync-notify-rdata \
	"*._dsync.test.	3600	IN	TYPE66	\\# $len $hex" "$(sed -n 2p "$D/export")"
# the delegations follow unchanged (the golden file of import_export.sh)
expect dsync/delegations-unchanged "$(cat $Z/parent.export)" "$(sed 1,2d "$D/export")"
"$CDSCAN" "${C[@]}" export --origin test. >"$D/plain" 2>"$D/err"
expect dsync/off-by-default "$(cat $Z/parent.export)" "$(cat "$D/plain")"

# one type, another port, an upper-case target (written lower case), a TTL
"$CDSCAN" "${C[@]}" export --origin test. --ttl 300 \
	--set dsync.target=NOTIFY.Registry.EXAMPLE --set dsync.port=53 \
	--set 'dsync.types=[csync]' >"$D/one" 2>"$D/err"
read -r len hex < <(rdata 62 1 53 notify.registry.example.)
expect dsync/one-type-port-ttl \
	"*._dsync.test.	300	IN	TYPE66	\\# $len $hex" "$(grep TYPE66 "$D/one")"

# N1: the per-child form as a configured owner
"$CDSCAN" "${C[@]}" export --origin test. "${T[@]}" \
	--set 'dsync.owner=alpha._dsync.test.' --set 'dsync.types=[cds]' \
	>"$D/owner" 2>"$D/err"
expect dsync/owner-configured "alpha._dsync.test." "$(grep TYPE66 "$D/owner" | cut -f1)"

# -- the mnemonic form ---------------------------------------------------
"$CDSCAN" "${C[@]}" export --origin test. "${T[@]}" --dsync mnemonic \
	>"$D/mnem" 2>"$D/err"
expect dsync/mnemonic \
	"*._dsync.test.	3600	IN	DSYNC	CDS NOTIFY 5359 scanner.example.net.
*._dsync.test.	3600	IN	DSYNC	CSYNC NOTIFY 5359 scanner.example.net." \
	"$(grep DSYNC "$D/mnem")"
"$CDSCAN" "${C[@]}" export --origin test. "${T[@]}" --dsync none >"$D/none" 2>&1
expect dsync/none "$(cat $Z/parent.export)" "$(cat "$D/none")"

# -- the exported zone loads in NSD, Knot and ldns (with an apex) ---------
{ printf 'test. 300 IN SOA ns1.test. h.test. 1 3600 900 604800 300\n'
  printf 'test. 300 IN NS ns1.test.\nns1.test. 300 IN A 192.0.2.1\n'
  cat "$D/export"; } >"$D/test.zone"
if command -v nsd-checkzone >/dev/null; then
	nsd-checkzone test. "$D/test.zone" >"$D/err" 2>&1 &&
		grep -q "is ok" "$D/err" && pass dsync/nsd-loads ||
		fail dsync/nsd-loads "$(cat "$D/err")"
else
	skip dsync/nsd-loads "nsd-checkzone not installed"
fi
if command -v knotc >/dev/null; then
	# knotc checks a zone file offline; it refuses a wrong \# length
	cat >"$D/knot.conf" <<EOF
server:
    rundir: $D
database:
    storage: $D/knotdb
zone:
  - domain: test.
    file: $D/test.zone
EOF
	knotc -c "$D/knot.conf" zone-check test. >"$D/err" 2>&1 &&
		pass dsync/knot-loads || fail dsync/knot-loads "$(cat "$D/err")"
	# the check can fail: a length one short is refused
	sed 's/\\# 26 /\\# 25 /' "$D/test.zone" >"$D/bad.zone"
	sed -i "s|$D/test.zone|$D/bad.zone|" "$D/knot.conf"
	knotc -c "$D/knot.conf" zone-check test. >"$D/err" 2>&1 &&
		fail dsync/knot-refuses-bad-length "accepted" ||
		pass dsync/knot-refuses-bad-length
else
	skip dsync/knot-loads "knotc not installed"
fi
if ldns-read-zone "$D/test.zone" >"$D/ldns" 2>"$D/err" &&
   grep -q "TYPE66" "$D/ldns"; then
	pass dsync/ldns-loads
else
	fail dsync/ldns-loads "$(cat "$D/err")"
fi

# -- re-import: DSYNC (either form) is no delegation ----------------------
for f in export mnem; do
	{ printf 'test. 300 IN SOA ns1.test. h.test. 1 3600 900 604800 300\n'
	  cat "$D/$f"; } >"$D/re-$f.zone"
	out=$("$CDSCAN" "${C[@]}" import "$D/re-$f.zone" 2>&1)
	expect "dsync/reimport-$f" \
		"imported test. from $D/re-$f.zone: 0 added, 0 changed, 0 removed, 5 unchanged" \
		"$out"
done

# -- refusals --------------------------------------------------------------
# refused NAME WANT-MESSAGE-PART ARGS...: exit ≠ 0, nothing on stdout
refused() {
	local name=$1 want=$2
	shift 2
	"$CDSCAN" "${C[@]}" export "$@" >"$D/out" 2>"$D/err"
	rc=$?
	if [ $rc -eq 0 ] || [ -s "$D/out" ]; then
		fail "$name" "exit $rc, output $(head -c 200 "$D/out")"
	elif ! grep -qF -- "$want" "$D/err"; then
		fail "$name" "message: $(cat "$D/err")"
	else
		pass "$name"
	fi
}
refused dsync/n1-bare-owner-refused "dsync.owner: a bare _dsync.PARENT owner is NOT RECOMMENDED" \
	--origin test. "${T[@]}" --set dsync.owner=_dsync.test.
refused dsync/n1-owner-outside-dsync "dsync.owner: 'www.test.' is not under _dsync.PARENT" \
	--origin test. "${T[@]}" --set dsync.owner=www.test.
refused dsync/n1-one-per-type "dsync.types: 'cds' is listed twice" \
	--origin test. "${T[@]}" --set 'dsync.types=[cds, cds]'
refused dsync/type-unknown "dsync.types: 'soa' is not a DSYNC type" \
	--origin test. "${T[@]}" --set 'dsync.types=[soa]'
refused dsync/n1-port-0-refused "dsync.port" \
	--origin test. "${T[@]}" --set dsync.port=0
refused dsync/needs-origin "needs --origin" "${T[@]}"
refused dsync/bad-form "bad --dsync 'tiny'" --origin test. "${T[@]}" --dsync tiny

# a port no listener has: exported, with a warning
"$CDSCAN" "${C[@]}" export --origin test. "${T[@]}" \
	--set 'daemon.listen=[127.0.0.1:5300]' >"$D/out" 2>"$D/err"
rc=$?
expect dsync/port-not-listened-warns \
	"0 2 cdscan export: warning: dsync.port 5359 is not a port of daemon.listen" \
	"$rc $(grep -c TYPE66 "$D/out") $(cat "$D/err")"
"$CDSCAN" "${C[@]}" export --origin test. "${T[@]}" \
	--set 'daemon.listen=[127.0.0.1:5300, 127.0.0.1:5359]' >"$D/out" 2>"$D/err"
expect dsync/port-listened-quiet "" "$(cat "$D/err")"
finish
