#!/usr/bin/env bash
# Bootstrapping (issue 4 items 1, 2, 5; STANDARDS §5 B1-B5, §14) against
# the DNS test world (tests/world, scenarios "bootstrap", "boot-*") and,
# for the pipeline, a throwaway PostgreSQL (tests/pg.sh):
#
#   check/t5-*     `cdscan check --json`: the decision and reason for each
#                  T line of §5 (RFC 9615 signals at every out-of-zone NS;
#                  missing at one; insecure or bogus signaling zone; a
#                  server unreachable; every NS in the child; already
#                  secure), bootstrapping off, and accept-after-delay.
#   pipeline/t5-*  `cdscan scan` with the registry in PostgreSQL: the DS is
#                  installed with an audit row on RFC 9615 success and
#                  nowhere else; accept-after-delay with --now moving the
#                  clock over simulated days completes on the third scan,
#                  and starts again after a changed CDS or an import that
#                  changed the delegation; `cdscan status` shows progress.
#
# Expected DS sets come from the world's key files, never from cdscan's
# output. One line per test: "PASS name" or "FAIL name: why". The world
# and the cluster are always stopped on exit. CDSCAN=PATH tests another
# binary.
set -uo pipefail
cd "$(dirname "$0")/../.."
CDSCAN=${CDSCAN:-$(pwd)/cdscan}
. tests/lib.sh
. tests/pg.sh
. tests/pipeline/lib.sh
export WORLD_TOOLS=${WORLD_TOOLS:-$(pwd)/${BUILD:-build}/tests/tools}

need_root
need_cmd jq drill psql nsd knotd unbound ldns-keygen ldns-key2ds

# steady first: tests/world/start waits until unbound validates the first
# scenario's zone, and the bootstrap children are insecure by design
SCENARIOS="steady bootstrap boot-inzone boot-delay boot-delay-change
boot-delay-import"

T=$(mktemp -d /tmp/cdscan-bootstrap.XXXXXX)
chmod 755 "$T" # initdb runs as postgres
W=$T/world
PGD=$T/pg
on_exit "tests/world/stop '$W' >/dev/null 2>&1; pg_stop '$PGD' >/dev/null 2>&1; rm -rf '$T'"

tests/world/build "$W" $SCENARIOS >"$T/build.log" 2>&1 ||
	{ fail bootstrap/setup "world build: $(tail -n 3 "$T/build.log")"; finish; }
tests/world/start "$W" >"$T/start.log" 2>&1 ||
	{ fail bootstrap/setup "world start: $(tail -n 3 "$T/start.log")"; finish; }

# lower-case, one record per line, sorted
_canon() { tr 'A-F' 'a-f' | tr -s ' \t' ' ' | sed 's/^ //; s/ $//' | grep -v '^$' | sort; }
# the DS rdata of key K of zone Z ("TAG ALG DT HEX")
dsr() { awk '{ for (i = 1; i < NF; i++) if ($i == "DS") { print $(i+1), $(i+2), $(i+3), $(i+4); exit } }' "$W/keys/$1/$2.ds"; }
expected_ds() {
	local z=$1 k
	shift
	for k in "$@"; do dsr "$z" "$k"; done | _canon
}

# ---- through cdscan check -------------------------------------------------

# check_case NAME ZONE DECISION/REASON KEYS|- DETAIL-REGEX|- [cdscan options]
check_case() {
	local name=$1 z=$2 want=$3 keys=$4 re=$5 out got
	shift 5
	out=$(timeout 60 "$CDSCAN" -c "$W/cdscan.yaml" check "$z" --json "$@" 2>"$T/err") ||
		{ fail "check/$name" "exit $?: $(tail -n 2 "$T/err" | tr '\n' ' ')"; return; }
	got=$(jq -r '.ds.decision + "/" + .ds.reason' <<<"$out")
	[ "$got" = "$want" ] ||
		{ fail "check/$name" "expected $want, got $got: $(jq -r .ds.detail <<<"$out")"; return; }
	if [ "$keys" != - ]; then
		got=$(jq -r '.ds.proposed[]?' <<<"$out" | _canon)
		[ "$got" = "$(expected_ds "$z" ${keys//,/ })" ] ||
			{ fail "check/$name" "proposed {$(echo $got)} is not the DS of {$keys}"; return; }
	elif [ "$(jq '.ds.proposed | length' <<<"$out")" != 0 ]; then
		fail "check/$name" "proposes a DS set: $(jq -c .ds.proposed <<<"$out")"
		return
	fi
	if [ "$re" != - ] && ! jq -r .ds.detail <<<"$out" | grepq -E -- "$re"; then
		fail "check/$name" "detail does not match /$re/: $(jq -r .ds.detail <<<"$out")"
		return
	fi
	pass "check/$name"
}

# T: signaling records at ns1 and ns2 → success (ns3 is inside the child)
check_case t5-signals-at-ns1-and-ns2-success bootstrap.test \
	update/bootstrap-rfc9615 ksk "signals of all 2 out-of-zone NS"
# T: missing at ns2 → abort
check_case t5-signal-missing-at-ns2-abort boot-missing.test \
	rejected/bootstrap-signal-missing - \
	"_dsboot\.boot-missing\.test\._signal\.ns2\.sig-b\.test\."
# T: ns2's signaling zone insecure → abort
check_case t5-ns2-signaling-zone-insecure-abort boot-insecure.test \
	rejected/bootstrap-signal-insecure - "ns2\.sig-insec\.test\..*insecure"
check_case t5-signaling-zone-bogus-abort boot-bogus.test \
	rejected/bootstrap-signal-bogus - "_signal\.ns2\.sig-bogus\.test\..*bogus"
# T: ns3 unreachable → abort (no exclusion, unlike Q4)
check_case t5-ns3-unreachable-abort boot-unreach.test \
	pending/server-unreachable - "ns3\.boot-unreach\.test\./127\.0\.10\.99"
# T: all NS in-domain → never bootstrapped
check_case t5-all-ns-in-domain-never-bootstrapped boot-inzone.test \
	rejected/bootstrap-ns-in-child - "lies inside it"
# already secure: the rollover rules, not a bootstrap
check_case t5-already-secure-not-a-bootstrap boot-secure.test \
	update/update ksk,new -
check_case bootstrap-off-disabled bootstrap.test \
	rejected/bootstrap-disabled - - --set 'policy.bootstrap=[]'
# accept after delay: consistent and self-proving, scan 1 of 3
check_case t5-delay-first-scan-waits boot-delay.test \
	pending/bootstrap-waiting ksk "scan 1 of 3.*eligible after" \
	--set 'policy.bootstrap=[delay]'
# both on: an in-child NS set cannot use RFC 9615 and waits, saying why
check_case t5-delay-and-rfc9615-in-child-waits boot-inzone.test \
	pending/bootstrap-waiting ksk "RFC 9615: every NS" \
	--set 'policy.bootstrap=[rfc9615, delay]'

# ---- through the pipeline -------------------------------------------------

pg_start "$PGD" >"$T/pg.log" 2>&1 ||
	{ fail pipeline/setup "PostgreSQL: $(tail -n 3 "$T/pg.log")"; finish; }
CONF=$T/cdscan.yaml
DELAY=$T/delay.yaml
pl_config "$CONF" scanner.timeout=300ms scanner.retries=1
pl_config "$DELAY" scanner.timeout=300ms scanner.retries=1 \
	'policy.bootstrap=[delay]'
cds() { timeout -k 5 60 "$CDSCAN" -c "$CONF" "$@"; }
cdd() { timeout -k 5 60 "$CDSCAN" -c "$DELAY" "$@"; }
cp "$W/tld/test.in" "$T/orig.zone"

# registry DS set of Z as sorted lines; expected from key names
reg_ds() { sql "SELECT unnest(ds) FROM cdscan.delegation WHERE name = '$1'" | _canon; }
scan_of() { sql "SELECT verdict || '/' || reason FROM cdscan.scan WHERE domain = '$1' ORDER BY time DESC, id DESC LIMIT 1"; }
audits() { sql "SELECT count(*) FROM cdscan.audit WHERE domain = '$1' AND actor = 'scan'"; }

setup_db() {
	local out
	out=$(cds init 2>&1) || { echo "init: $out"; return 1; }
	out=$(cds import "$T/orig.zone" --origin test. 2>&1) || { echo "import: $out"; return 1; }
	[ "$(sql 'SELECT count(*) FROM registry.domain')" -gt 10 ] ||
		{ echo "import: too few domains"; return 1; }
}
if why=$(setup_db); then
	pass pipeline/init-import
else
	fail pipeline/init-import "$why"
	finish
fi

# RFC 9615 through `cdscan scan` (default policy: [rfc9615]). The delay
# zones are left out: their scans below run on a clock days behind this.
t_rfc9615() {
	local out run z r
	out=$(cds scan bootstrap.test. boot-missing.test. boot-insecure.test. \
		boot-bogus.test. boot-unreach.test. boot-inzone.test. \
		boot-secure.test. 2>&1) || { echo "scan exit $?: $(tail -n 3 <<<"$out")"; return; }
	run=$(last_run false)
	z=bootstrap.test.
	[ "$(scan_of $z)" = update/bootstrap-rfc9615 ] || echo "$z: $(scan_of $z)"
	[ "$(reg_ds $z)" = "$(expected_ds bootstrap.test ksk)" ] ||
		echo "$z: registry DS {$(reg_ds $z | tr '\n' ';')} is not {ksk}"
	[ "$(sql "SELECT count(*) FROM cdscan.audit a JOIN cdscan.scan s ON s.id = a.scan_id
	          WHERE a.domain = '$z' AND a.actor = 'scan' AND a.run_id = $run
	          AND a.before_ds = '{}' AND s.outcome = 'applied'")" = 1 ] ||
		echo "$z: no audit row of run $run from no DS to the new set"
	# the audit's evidence carries the proof: every out-of-child NS
	# name's signal, validated secure, with the records it held
	[ "$(sql "SELECT count(*) FROM cdscan.audit a,
	            jsonb_array_elements(a.evidence->'servers') s
	          WHERE a.domain = '$z' AND a.run_id = $run
	          AND s->'signal'->>'cds_dnssec' = 'secure'
	          AND jsonb_array_length(s->'signal'->'cds') > 0")" -gt 0 ] ||
		echo "$z: the audit evidence holds no secure signal"
	for r in boot-missing:bootstrap-signal-missing \
		 boot-insecure:bootstrap-signal-insecure \
		 boot-bogus:bootstrap-signal-bogus \
		 boot-unreach:server-unreachable \
		 boot-inzone:bootstrap-ns-in-child; do
		z=${r%%:*}.test.
		[ "$(sql "SELECT reason FROM cdscan.scan WHERE run_id = $run AND domain = '$z'")" = "${r#*:}" ] ||
			echo "$z: reason $(sql "SELECT reason FROM cdscan.scan WHERE run_id = $run AND domain = '$z'"), want ${r#*:}"
		[ -z "$(reg_ds $z)" ] || echo "$z: a DS was installed"
		[ "$(audits $z)" = 0 ] || echo "$z: an audit row was written"
	done
	# already secure: the ordinary rollover, not a bootstrap
	[ "$(scan_of boot-secure.test.)" = update/update ] ||
		echo "boot-secure.test.: $(scan_of boot-secure.test.)"
}
why=$(t_rfc9615)
[ -z "$why" ] && pass pipeline/t5-rfc9615-ds-installed-with-audit-aborts-install-nothing ||
	fail pipeline/t5-rfc9615-ds-installed-with-audit-aborts-install-nothing "$(echo "$why" | head -n 5 | tr '\n' ';')"

# Accept after delay with the clock moved by --now: days in the past, so
# that the import below (stamped with the real time) comes after them.
# The delay zones' signatures are valid from 30 days back.
S=$(( $(date +%s) - 20 * 86400 ))
H=3600
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
# scan_at T DOMAIN: one scan of DOMAIN as of time T; prints verdict/reason
scan_at() {
	cdd --now "$1" scan "$2" >"$T/scan.out" 2>&1 ||
		{ echo "scan failed: $(tail -n 2 "$T/scan.out" | tr '\n' ' ')"; return 1; }
	scan_of "$2"
}

# T (issue 4 item 2): silence between two scans that saw the request
# starts the count again. Run on the clock before S, and closed with a
# second silent scan so that the next test starts its own count.
# Silence is real: every server asked on a port nothing listens on.
scan_silent_at() {
	cdd --now "$1" scan --set scanner.port=9 "$2" >"$T/scan.out" 2>&1 ||
		{ echo "scan failed: $(tail -n 2 "$T/scan.out" | tr '\n' ' ')"; return 1; }
	scan_of "$2"
}
t_delay_silence() {
	local z=boot-delay.test. got
	got=$(scan_at $((S - 100 * H)) $z) && [ "$got" = pending/bootstrap-waiting ] ||
		{ echo "scan 1: $got"; return; }
	got=$(scan_silent_at $((S - 64 * H)) $z) && [ "$got" = pending/server-unreachable ] ||
		{ echo "silent scan: $got"; return; }
	got=$(scan_at $((S - 28 * H)) $z) && [ "$got" = pending/bootstrap-waiting ] ||
		{ echo "scan after the silence: $got"; return; }
	sql "SELECT detail FROM cdscan.scan WHERE domain = '$z' ORDER BY time DESC LIMIT 1" |
		grep -q "^scan 1 of 3" || echo "the scan after the silence is not counted as the first: $(sql "SELECT detail FROM cdscan.scan WHERE domain = '$z' ORDER BY time DESC LIMIT 1")"
	got=$(scan_silent_at $((S - 1 * H)) $z) && [ "$got" = pending/server-unreachable ] ||
		echo "closing silent scan: $got"
}
why=$(t_delay_silence)
[ -z "$why" ] && pass pipeline/t5-delay-resets-on-silence ||
	fail pipeline/t5-delay-resets-on-silence "$(echo "$why" | head -n 5 | tr '\n' ';')"

# T (issue 4 item 5): completes on the third scan spread over days
t_delay_completes() {
	local z=boot-delay.test. got st
	got=$(scan_at $S $z) || { echo "$got"; return; }
	[ "$got" = pending/bootstrap-waiting ] || { echo "scan 1: $got"; return; }
	got=$(scan_at $((S + 36 * H)) $z) || { echo "$got"; return; }
	[ "$got" = pending/bootstrap-waiting ] || { echo "scan 2: $got"; return; }
	st=$(cdd status $z 2>&1)
	grep -qF "bootstrap" <<<"$st" &&
		grep -qF "2 of 3 scans, eligible after $(iso $((S + 72 * H)))" <<<"$st" ||
		echo "status after scan 2 lacks the progress line: $(grep -i boot <<<"$st" | head -n 3 | tr '\n' ';')"
	st=$(cdd status $z --json 2>&1)
	[ "$(jq -c '.pending.bootstrap | [.scans, .needed, .eligible_after]' <<<"$st")" = \
	  "[2,3,\"$(iso $((S + 72 * H)))\"]" ] ||
		echo "status --json: $(jq -c .pending.bootstrap <<<"$st" 2>&1)"
	[ -z "$(reg_ds $z)" ] || echo "a DS before the third scan"
	got=$(scan_at $((S + 72 * H)) $z) || { echo "$got"; return; }
	[ "$got" = update/bootstrap-delay ] || { echo "scan 3: $got"; return; }
	[ "$(reg_ds $z)" = "$(expected_ds boot-delay.test ksk)" ] ||
		echo "registry DS {$(reg_ds $z | tr '\n' ';')} is not {ksk}"
	[ "$(audits $z)" = 1 ] || echo "$(audits $z) audit rows, want 1"
}
why=$(t_delay_completes)
[ -z "$why" ] && pass pipeline/t5-delay-completes-on-third-scan-over-days ||
	fail pipeline/t5-delay-completes-on-third-scan-over-days "$(echo "$why" | head -n 5 | tr '\n' ';')"

# The numbers of the detail "scan N of K, eligible after TIME" are
# stored in columns (migration 7): every scan of boot-delay.test. so far,
# oldest first, the silent ones (no streak counted) NULL.
t_delay_progress_stored() {
	local z=boot-delay.test. got want
	got=$(sql "SELECT coalesce(boot_scan::text, '-'), coalesce(boot_needed::text, '-'),
		coalesce(extract(epoch FROM boot_eligible)::bigint::text, '-')
		FROM cdscan.scan WHERE domain = '$z' ORDER BY time, id" | tr '\n' ' ')
	want="1|3|$((S - 28 * H)) -|-|- 1|3|$((S + 44 * H)) -|-|- "
	want+="1|3|$((S + 72 * H)) 2|3|$((S + 72 * H)) 3|3|$((S + 72 * H)) "
	[ "$got" = "$want" ] || echo "boot columns: got '$got', want '$want'"
}
why=$(t_delay_progress_stored)
[ -z "$why" ] && pass pipeline/t5-delay-progress-stored ||
	fail pipeline/t5-delay-progress-stored "$(echo "$why" | head -n 5 | tr '\n' ';')"

# T: a changed CDS between scans starts the count again
t_delay_changed_cds() {
	local z=boot-delay-change.test. got
	got=$(scan_at $S $z) && [ "$got" = pending/bootstrap-waiting ] || { echo "scan 1: $got"; return; }
	got=$(scan_at $((S + 36 * H)) $z) && [ "$got" = pending/bootstrap-waiting ] || { echo "scan 2: $got"; return; }
	tests/world/serve "$W" $z b >"$T/serve.log" 2>&1 ||
		{ echo "serve: $(tail -n 2 "$T/serve.log")"; return; }
	got=$(scan_at $((S + 72 * H)) $z) || { echo "$got"; return; }
	[ "$got" = pending/bootstrap-waiting ] || { echo "scan 3 after the change: $got"; return; }
	sql "SELECT detail FROM cdscan.scan WHERE domain = '$z' ORDER BY time DESC LIMIT 1" |
		grep -q "^scan 1 of 3" || echo "scan 3 is not counted as the first: $(scan_of $z)"
	[ -z "$(reg_ds $z)" ] || echo "a DS was installed after the change"
	# the new request then completes on its own third scan over 72 h
	scan_at $((S + 108 * H)) $z >/dev/null
	got=$(scan_at $((S + 144 * H)) $z) || { echo "$got"; return; }
	[ "$got" = update/bootstrap-delay ] || { echo "third scan of the new request: $got"; return; }
	[ "$(reg_ds $z)" = "$(expected_ds boot-delay-change.test new)" ] ||
		echo "registry DS is not {new}"
}
why=$(t_delay_changed_cds)
[ -z "$why" ] && pass pipeline/t5-delay-resets-on-changed-cds ||
	fail pipeline/t5-delay-resets-on-changed-cds "$(echo "$why" | head -n 5 | tr '\n' ';')"

# T: a change of the delegation by other means (here two imports: a DS
# set added, then taken away again) starts the count again
t_delay_import() {
	local z=boot-delay-import.test. got out
	got=$(scan_at $S $z) && [ "$got" = pending/bootstrap-waiting ] || { echo "scan 1: $got"; return; }
	got=$(scan_at $((S + 36 * H)) $z) && [ "$got" = pending/bootstrap-waiting ] || { echo "scan 2: $got"; return; }
	# keep what the scans above installed: the registry is the reference
	cdd export --origin test. >"$T/now.zone" 2>"$T/err" || { echo "export: $(cat "$T/err")"; return; }
	{ cat "$T/now.zone"; echo "$z IN DS $(dsr boot-delay-import.test zsk)"; } >"$T/changed.zone"
	out=$(cdd import "$T/changed.zone" --origin test. 2>&1) || { echo "import: $out"; return; }
	out=$(cdd import "$T/now.zone" --origin test. 2>&1) || { echo "import back: $out"; return; }
	[ "$(sql "SELECT count(*) FROM cdscan.audit WHERE domain = '$z' AND actor = 'import'")" = 2 ] ||
		{ echo "the imports left no audit rows"; return; }
	got=$(scan_at $((S + 72 * H)) $z) || { echo "$got"; return; }
	[ "$got" = pending/bootstrap-waiting ] || { echo "scan 3 after the import: $got"; return; }
	sql "SELECT detail FROM cdscan.scan WHERE domain = '$z' ORDER BY time DESC LIMIT 1" |
		grep -q "^scan 1 of 3" || echo "scan 3 is not counted as the first"
	[ -z "$(reg_ds $z)" ] || echo "a DS was installed"
}
why=$(t_delay_import)
[ -z "$why" ] && pass pipeline/t5-delay-resets-on-import-changing-delegation ||
	fail pipeline/t5-delay-resets-on-import-changing-delegation "$(echo "$why" | head -n 5 | tr '\n' ';')"

# A scan recorded before migration 7 (no boot_* columns) shows no
# progress: status does not fall back to parsing the detail text.
t_status_old_row() {
	local z=boot-delay-import.test. id st
	id=$(sql "SELECT id FROM cdscan.scan WHERE domain = '$z' ORDER BY time DESC, id DESC LIMIT 1")
	sql "SELECT detail FROM cdscan.scan WHERE id = $id" | grepq "^scan 1 of 3.*eligible after" ||
		{ echo "the last scan is no waiting one: $(scan_of $z)"; return; }
	st=$(cdd status $z 2>&1)
	grep -qE '^ +bootstrap +1 of 3 scans' <<<"$st" ||
		{ echo "no progress line before: $(grep -i boot <<<"$st" | tr '\n' ';')"; return; }
	sql "UPDATE cdscan.scan SET boot_scan = NULL, boot_needed = NULL,
		boot_eligible = NULL WHERE id = $id" >/dev/null
	st=$(cdd status $z 2>&1) || { echo "status: $st"; return; }
	! grep -qE '^ +bootstrap ' <<<"$st" ||
		echo "progress shown for an old row: $(grep -E '^ +bootstrap ' <<<"$st")"
	st=$(cdd status $z --json 2>&1) || { echo "status --json: $st"; return; }
	[ "$(jq -c .pending.bootstrap <<<"$st")" = null ] ||
		echo "status --json: $(jq -c .pending.bootstrap <<<"$st")"
}
why=$(t_status_old_row)
[ -z "$why" ] && pass pipeline/status-old-scan-no-parsed-progress ||
	fail pipeline/status-old-scan-no-parsed-progress "$(echo "$why" | head -n 5 | tr '\n' ';')"

finish
