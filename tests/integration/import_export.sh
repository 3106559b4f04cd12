#!/usr/bin/env bash
# cdscan import / export against a real PostgreSQL (tests/pg.sh): a parent
# zone loaded and printed back byte for byte (tests/data/zones/*.export are
# the golden files), a second import that changes nothing, refused files
# that name FILE:LINE and leave the database as it was, an edited zone
# whose changes are counted and audited, statuses and opt-out that survive
# a re-import, and export -> import round trips. CDSCAN=PATH tests another
# binary.
set -uo pipefail
cd "$(dirname "$0")/../.."
CDSCAN=${CDSCAN:-$(pwd)/cdscan}
. tests/lib.sh
. tests/pg.sh
need_cmd psql
Z=tests/data/zones
D=$(mktemp -d /tmp/cdscan-impexp.XXXXXX)
on_exit "pg_stop '$D'; rm -rf '$D'"
pg_start "$D" >/dev/null || { fail import/postgres "cannot start PostgreSQL"; finish; }
# no configuration file: the database comes from the PG* environment
C=(-c /dev/null)
"$CDSCAN" "${C[@]}" init >/dev/null 2>"$D/err" ||
	{ fail import/init "$(cat "$D/err")"; finish; }

q() { psql -Atqc "$1"; }
counts() {
	q "select (select count(*) from registry.domain) || ' ' ||
	          (select count(*) from registry.domain_ns) || ' ' ||
	          (select count(*) from registry.ds) || ' ' ||
	          (select count(*) from registry.host) || ' ' ||
	          (select count(*) from cdscan.audit)"
}
# expect NAME WANT GOT
expect() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "want '$2', got '$3'"; fi
}

# -- first load ----------------------------------------------------------
out=$("$CDSCAN" "${C[@]}" import $Z/parent.zone 2>"$D/err")
expect import/first-load \
	"imported test. from $Z/parent.zone: 5 added, 0 changed, 0 removed, 0 unchanged
glue addresses: 7 added, 0 removed" "$out$(cat "$D/err")"
# 5 domains, 10 NS, 4 DS, 7 glue addresses (ns1.alpha v4+v6, ns.beta,
# ns.epsilon 2+2; www.test and the apex's ns1.test are not glue), and an
# audit row for each of the three domains that came with DS
expect import/first-load-rows "5 10 4 7 3" "$(counts)"
expect import/ds-upper-case-digest \
	"11111 13 4 54A59B9F22B0B80880D8427E548B7C23ABD873486E1F035DCE9CD697E85175033CAA88E6D57BC35EFAE0B5AFD3145F31" \
	"$(q "select ds[2] from cdscan.delegation where name = 'alpha.test.'")"

if "$CDSCAN" "${C[@]}" export --origin test. >"$D/export" 2>"$D/err" &&
   cmp -s "$D/export" $Z/parent.export; then
	pass export/golden
else
	fail export/golden "$(cat "$D/err"; diff $Z/parent.export "$D/export" | head -20)"
fi

# the export is zone data NSD and ldns load (with an apex added)
{ printf 'test. 300 IN SOA ns1.test. h.test. 1 3600 900 604800 300\n'
  printf 'test. 300 IN NS ns1.test.\nns1.test. 300 IN A 192.0.2.1\n'
  cat "$D/export"; } >"$D/test.zone"
if command -v nsd-checkzone >/dev/null; then
	if nsd-checkzone test. "$D/test.zone" >"$D/err" 2>&1; then
		pass export/nsd-loads
	else
		fail export/nsd-loads "$(cat "$D/err")"
	fi
else
	skip export/nsd-loads "nsd-checkzone not installed"
fi
if ldns-read-zone "$D/test.zone" >/dev/null 2>"$D/err"; then
	pass export/ldns-loads
else
	fail export/ldns-loads "$(cat "$D/err")"
fi

# -- idempotent ----------------------------------------------------------
before=$(counts)
out=$("$CDSCAN" "${C[@]}" import $Z/parent.zone 2>&1)
expect import/idempotent \
	"imported test. from $Z/parent.zone: 0 added, 0 changed, 0 removed, 5 unchanged" "$out"
expect import/idempotent-no-audit "$before" "$(counts)"

# -- refused files: FILE:LINE, exit 1, nothing changed --------------------
#  file            line  words of the message
REFUSED='
bad-syntax       8     could not parse
bad-ds-no-ns     8     DS without NS at lonely.test.
bad-outside      7     example.org. is not under the origin test.
bad-cname        7     CNAME at the delegation other.test.
bad-digest       7     DS digest type 2 needs 32 octets, not 20
bad-nested       7     NS at sub.other.test., below the delegation other.test.
'
while read -r name line why; do
	[ -n "$name" ] || continue
	before=$(counts)
	"$CDSCAN" "${C[@]}" import $Z/$name.zone >"$D/out" 2>"$D/err"
	rc=$?
	msg=$(cat "$D/err")
	after=$(counts)
	if [ $rc -ne 1 ]; then
		fail "import/refused-$name" "exit $rc, want 1"
	elif [[ "$msg" != "cdscan import: $Z/$name.zone:$line: "*"$why"* ]]; then
		fail "import/refused-$name" "message: $msg"
	elif [ "$before" != "$after" ] || [ -s "$D/out" ]; then
		fail "import/refused-$name" "database changed: $before -> $after"
	else
		pass "import/refused-$name"
	fi
done <<<"$REFUSED"

"$CDSCAN" "${C[@]}" import --origin example. $Z/parent.zone >/dev/null 2>"$D/err"
rc=$?
expect import/origin-must-match-soa \
	"1 cdscan import: $Z/parent.zone:10: SOA of test., but the origin is example." \
	"$rc $(cat "$D/err")"
printf 'x NS ns.example.\n' >"$D/nosoa.zone"
"$CDSCAN" "${C[@]}" import "$D/nosoa.zone" >/dev/null 2>"$D/err"
rc=$?
expect import/origin-needed \
	"1 cdscan import: $D/nosoa.zone: no SOA record to take the origin from; give --origin" \
	"$rc $(cat "$D/err")"

# -- the registry's own flags survive a re-import -------------------------
q "update registry.domain set statuses = '{serverUpdateProhibited,clientHold}',
   optout = true where name = 'beta.test.'"
q "update registry.domain set optout = true where name = 'alpha.test.'"

# -- an edited zone: alpha's DS rolled, gamma gone, zeta new ---------------
audit0=$(q "select max(id) from cdscan.audit")
out=$("$CDSCAN" "${C[@]}" import $Z/parent-edited.zone 2>&1)
expect import/edited \
	"imported test. from $Z/parent-edited.zone: 1 added, 1 changed, 1 removed, 3 unchanged
glue addresses: 1 added, 0 removed" "$out"
expect import/edited-audit \
	"alpha.test.|{\"11111 13 2 CA978112CA1BBDCAFAC231B39A23DC4DA786EFF8147C4E72B9807785AFEE48BB\",\"11111 13 4 54A59B9F22B0B80880D8427E548B7C23ABD873486E1F035DCE9CD697E85175033CAA88E6D57BC35EFAE0B5AFD3145F31\"}|{\"11111 13 4 54A59B9F22B0B80880D8427E548B7C23ABD873486E1F035DCE9CD697E85175033CAA88E6D57BC35EFAE0B5AFD3145F31\",\"44444 13 2 18AC3E7343F016890C510E93F935261169D9E3F565436429830FAF0934F4F8E4\"}|import|ds-import
zeta.test.|{}|{\"55555 15 2 3F79BB7B435B05321651DAEFD374CDC681DC06FAA65E374E38337B88CA046DEA\"}|import|ds-import" \
	"$(q "select domain, before_ds, after_ds, actor, kind from cdscan.audit
	      where id > $audit0 order by domain")"
expect import/keeps-status-optout \
	"alpha.test.|{}|t
beta.test.|{serverUpdateProhibited,clientHold}|t" \
	"$(q "select name, statuses, optout from registry.domain
	      where name in ('alpha.test.', 'beta.test.') order by name")"
if "$CDSCAN" "${C[@]}" export --origin test >"$D/export2" 2>"$D/err" &&
   cmp -s "$D/export2" $Z/parent-edited.export; then
	pass export/edited-golden
else
	fail export/edited-golden "$(cat "$D/err"; diff $Z/parent-edited.export "$D/export2" | head -20)"
fi

# -- round trip: the export read back changes nothing ---------------------
before=$(counts)
out=$("$CDSCAN" "${C[@]}" import --origin test. "$D/export2" 2>&1)
expect import/round-trip \
	"imported test. from $D/export2: 0 added, 0 changed, 0 removed, 5 unchanged" "$out"
"$CDSCAN" "${C[@]}" export --origin test. >"$D/export3" 2>&1
if [ "$before" = "$(counts)" ] && cmp -s "$D/export2" "$D/export3"; then
	pass export/round-trip
else
	fail export/round-trip "$before -> $(counts); $(diff "$D/export2" "$D/export3" | head)"
fi

# -- another origin is left alone, and export selects by origin -----------
printf '$ORIGIN other.\n@ SOA a. b. 1 2 3 4 5\nx NS ns.x\nns.x A 192.0.2.99\n' >"$D/other.zone"
"$CDSCAN" "${C[@]}" import "$D/other.zone" >/dev/null 2>&1
expect export/by-origin "x.other.	60	IN	NS	ns.x.other.
ns.x.other.	60	IN	A	192.0.2.99" "$("$CDSCAN" "${C[@]}" export --origin other. --ttl 60 2>&1)"
expect import/other-origin-untouched "6 9" \
	"$(q "select count(*) || ' ' || (select count(*) from registry.host) from registry.domain")"
"$CDSCAN" "${C[@]}" export --ttl -1 >/dev/null 2>&1
expect export/bad-ttl 2 $?
# -- the SQL interface: docs/cdscan-sql.7's example, run as printed -------
# A registry with its own schema redefines the views and apply_ds(); the
# SQL is taken from the man page so the documentation cannot rot.
psql -d postgres -qc "CREATE DATABASE own" && export PGDATABASE=own
"$CDSCAN" "${C[@]}" init >/dev/null 2>&1
{ echo "CREATE SCHEMA reg;"
  awk '/^\.SH EXAMPLE/ { e = 1 } e && /^\.nf/ { p = 1; next }
       e && /^\.fi/ { p = 0; print ""; next } p' docs/cdscan-sql.7 |
	sed -e "s/\\\\(aq/'/g" -e 's/\\-/-/g'
  cat <<'SQL'
INSERT INTO reg.domains VALUES (1, 'Example.TLD', false, false, 7),
                               (2, 'locked.tld', true, false, 7);
INSERT INTO reg.nameservers VALUES (1, 'NS1.example.tld'),
    (1, 'ns.other.net'), (2, 'ns.other.net');
INSERT INTO reg.dsdata VALUES (1, 11111, 13, 2,
    decode('ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb', 'hex'));
INSERT INTO reg.host_addresses VALUES ('ns1.example.tld', '192.0.2.1');
SQL
} >"$D/own.sql"
if psql -v ON_ERROR_STOP=1 -qf "$D/own.sql" >"$D/err" 2>&1; then
	expect sql/own-schema-views \
		"locked.tld.|{ns.other.net.}|{}|{serverUpdateProhibited}|f" \
		"$(q "select name, ns, ds, statuses, optout from cdscan.delegation
		      where name = 'locked.tld.'")"
	# apply_ds: a stale before changes nothing, the right one replaces
	old='{"11111 13 2 CA978112CA1BBDCAFAC231B39A23DC4DA786EFF8147C4E72B9807785AFEE48BB"}'
	new='{"22222 13 2 3E23E8160039594A33894F6564E1B1348BBD7A0088D42C4ACB73EEAED59C009D"}'
	expect sql/own-schema-apply-ds "f t f" \
		"$(q "select cdscan.apply_ds('example.tld.', '{}', '$new')") $(q "select cdscan.apply_ds('example.tld.', '$old', '$new')") $(q "select cdscan.apply_ds('example.tld.', '$old', '{}')")"
	expect sql/own-schema-export "example.tld.	3600	IN	NS	ns.other.net.
example.tld.	3600	IN	NS	ns1.example.tld.
example.tld.	3600	IN	DS	22222 13 2 3E23E8160039594A33894F6564E1B1348BBD7A0088D42C4ACB73EEAED59C009D
ns1.example.tld.	3600	IN	A	192.0.2.1
locked.tld.	3600	IN	NS	ns.other.net." "$("$CDSCAN" "${C[@]}" export 2>&1)"
else
	fail sql/own-schema-example "$(cat "$D/err")"
fi
finish
