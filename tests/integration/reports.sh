#!/usr/bin/env bash
# The operator reports (`cdscan status`, `history`, `runs`, and the run
# summary of `runs --run ID`) against a throwaway PostgreSQL holding rows
# as `cdscan import` and `cdscan scan` write them, with fixed times
# (tests/data/reports/fixture.sql). Text output is compared byte for byte
# with the golden files in tests/data/reports/ (UPDATE_GOLDEN=1 rewrites
# them: read the diff before committing), --json is checked with jq, and
# every text report must fit 80 columns.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/pg.sh
need_cmd jq psql
if [ "$(id -u)" != 0 ]; then
	skip "${0##*/}" "needs root (initdb runs as the postgres user)"
	exit 0
fi

CDSCAN=${CDSCAN:-./cdscan}
GOLD=tests/data/reports
D=$(mktemp -d /tmp/cdscan-reports.XXXXXX)
chmod 755 "$D" # initdb runs as postgres
on_exit "pg_stop '$D/pg'; rm -rf '$D'"

if ! pg_start "$D/pg" >"$D/pg_start.log" 2>&1; then
	fail reports/postgresql "could not start: $(tail -n 5 "$D/pg_start.log")"
	finish
fi
printf 'database: "host=%s dbname=cdscan user=postgres"\n' "$D/pg" >"$D/cdscan.yaml"
cds() { "$CDSCAN" -c "$D/cdscan.yaml" "$@"; }

if ! cds init >"$D/init.log" 2>&1 ||
   ! psql -v ON_ERROR_STOP=1 -qf "$GOLD/fixture.sql" >"$D/fixture.log" 2>&1; then
	fail reports/fixture "$(cat "$D/init.log" "$D/fixture.log" | tail -n 5)"
	finish
fi

# golden NAME ARGS...: the text report equals $GOLD/NAME.txt, byte for byte,
# exits 0 and is no wider than 80 columns.
golden() {
	local name=$1 out="$D/$1.out" rc wide
	shift
	cds "$@" >"$out" 2>"$D/$name.err"
	rc=$?
	if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then
		cp "$out" "$GOLD/$name.txt"
	fi
	wide=$(LC_ALL=C.UTF-8 awk 'length($0) > 80 { print NR": "length($0) }' "$out")
	if [ $rc -ne 0 ]; then
		fail "reports/$name" "exit $rc: $(cat "$D/$name.err")"
	elif ! cmp -s "$out" "$GOLD/$name.txt"; then
		fail "reports/$name" "differs from $GOLD/$name.txt: $(diff "$GOLD/$name.txt" "$out" | head -n 20)"
	elif [ -n "$wide" ]; then
		fail "reports/$name" "lines wider than 80 columns: $wide"
	else
		pass "reports/$name"
	fi
}

# jqtest NAME FILTER ARGS...: the JSON report satisfies FILTER (jq -e).
jqtest() {
	local name=$1 filter=$2 out="$D/$1.json"
	shift 2
	if ! cds "$@" >"$out" 2>"$D/$name.err"; then
		fail "reports/$name" "exit $?: $(cat "$D/$name.err")"
	elif jq -e "$filter" "$out" >/dev/null 2>&1; then
		pass "reports/$name"
	else
		fail "reports/$name" "jq '$filter' is not true of: $(head -c 1500 "$out")"
	fi
}

# ---- text, byte for byte ----------------------------------------------------

# a rollover applied in run 2, then confirmed by run 4: three server lines,
# digests and keys shortened
golden status-rollover status rollover.test
# a server timing out two scans in a row (one of them a dry run), a claim
# whose lease lapsed, a server error line, detail wrapped
golden status-pending status PENDING.TEST
# locked and opted out: statuses listed, rejected since run 2
golden status-locked status locked.test.
# the change was left alone (stale); a SHA-384 DS shortened like the others
golden status-stale status stale.test
# an open change request (sink requests)
golden status-requested status requested.test
# held, never scanned, never changed
golden status-quiet status quiet.test
golden history-rollover history rollover.test
golden history-quiet history quiet.test
golden runs runs
golden runs-limit runs --limit 1
golden run-summary runs --run 2
# a run still going: its duration runs to its newest scan
golden run-summary-running runs --run 4

# ---- JSON, with jq ----------------------------------------------------------

D1='22222 13 2 11507A0E2F5E69D5DFA40A62A1BD7B6EE57E6BCD85C67C9B8431B36FFF21C437'
D0='11111 13 2 CBA06B5736FAF67E54B07B561EAE94395E774C517A7D910A54369E1263CCFBD4'
jqtest status-json-keys \
	'keys == ["domain","last_change","last_scan","pending","registry"]
	 and (.last_scan | keys) == ["current_ds","detail","dry_run","id",
	   "outcome","proposed_ds","queries","reason","run","servers","time",
	   "verdict","worker"]
	 and (.last_scan.servers[0] | keys) == ["address","cdnskey","cds",
	   "dnskey_proven","dnskey_state","error","name","soa_serial",
	   "transport"]
	 and (.pending | keys) == ["bootstrap","change_requests","runs","stale","verdict"]' \
	status rollover.test --json
jqtest status-json-values \
	".domain == \"rollover.test.\" and .registry.ds == [\"$D1\"]
	 and .registry.ns == [\"ns1.rollover.test.\",\"ns2.operator.example.\"]
	 and .registry.optout == false and .registry.statuses == []
	 and .last_scan.verdict == \"unchanged\"
	 and .last_scan.reason == \"same-as-current\"
	 and .last_scan.run == 4 and .last_scan.time == \"2026-01-05T02:00:10Z\"
	 and (.last_scan.servers | length) == 3
	 and .last_scan.servers[1].address == \"2001:db8::1\"
	 and .last_scan.servers[1].transport == \"tcp\"
	 and .last_scan.servers[0].soa_serial == 2026010501
	 and .last_scan.servers[0].cds.records == [\"$D1\"]
	 and (.last_scan.servers[0].cdnskey.records[0] | length) > 90
	 and .pending.verdict == null and .pending.stale == false
	 and .last_change.actor == \"scan\" and .last_change.run == 2
	 and .last_change.before == [\"$D0\"] and .last_change.after == [\"$D1\"]" \
	status rollover.test --json
jqtest status-json-pending \
	'.pending.verdict == {"verdict":"pending","reason":"server-unreachable",
	   "since":"2026-01-03T02:00:12Z","scans":2}
	 and .pending.runs == [{"run":4,"state":"claimed","worker":"scan1:400",
	   "lease_until":"2026-01-05T02:10:00Z","lapsed":true}]
	 and .last_scan.dry_run == true
	 and .last_scan.servers[1].error == "SOA: timeout after 3 tries"
	 and .last_scan.servers[1].soa_serial == null
	 and .last_scan.servers[1].dnskey_proven == null
	 and .last_change == null' \
	status pending.test --json
jqtest status-json-locked \
	'.registry.statuses == ["serverUpdateProhibited","clientTransferProhibited"]
	 and .registry.optout == true and .pending.verdict.reason == "locked"
	 and .pending.runs[0].state == "todo"' \
	status locked.test --json
jqtest status-json-stale \
	'.pending.stale == true and .last_scan.outcome == "stale"' \
	status stale.test --json
jqtest status-json-requested \
	'.pending.change_requests | length == 1 and .[0].id == 1
	 and .[0].kind == "ds-update" and .[0].run == 2
	 and (.[0].after[0] | startswith("6667 13 2 7D2BEDC0"))' \
	status requested.test --json
jqtest status-json-never-scanned \
	'.last_scan == null and .last_change == null
	 and .registry.ds == [] and .registry.registrar == "registrar-a"' \
	status quiet.test --json
jqtest history-json \
	"length == 2 and .[0].id == 2 and .[1].id == 1
	 and .[0].before == [\"$D0\"] and .[0].after == [\"$D1\"]
	 and .[0].evidence.decision == \"update\"
	 and .[0].evidence.servers[0].cds_rrset.key_tag == 11111
	 and .[1].actor == \"import\" and .[1].evidence == null
	 and .[1].run == null and .[1].before == []" \
	history rollover.test --json
jqtest history-json-empty '. == []' history quiet.test --json
jqtest runs-json \
	'length == 4 and map(.id) == [4,3,2,1]
	 and (.[2] | .verdicts == {"unchanged":0,"update":3,"delete":0,
	   "rejected":1,"pending":1}
	   and .outcomes == {"applied":1,"requested":1,"stale":1}
	   and .workers == 3 and .seconds == 65 and .queries == 43
	   and .done == 5 and .total == 5 and .finished == "2026-01-03T02:01:05Z")
	 and (.[0] | .state == "running" and .finished == null
	   and .seconds == 10 and .done == 1 and .total == 6)
	 and (.[1] | .dry_run == true
	   and .selection == "locked.test. pending.test.")' \
	runs --json
jqtest runs-json-limit 'length == 2 and map(.id) == [4,3]' runs --json --limit 2

# ---- errors -------------------------------------------------------------------

# expect_fail NAME RC PATTERN ARGS...: exits RC, says PATTERN on stderr,
# prints nothing on stdout
expect_fail() {
	local name=$1 want=$2 pat=$3 rc
	shift 3
	cds "$@" >"$D/$name.out" 2>"$D/$name.err"
	rc=$?
	if [ $rc -ne "$want" ]; then
		fail "reports/$name" "exit $rc, want $want: $(cat "$D/$name.err")"
	elif ! grep -q -- "$pat" "$D/$name.err"; then
		fail "reports/$name" "stderr lacks '$pat': $(cat "$D/$name.err")"
	elif [ -s "$D/$name.out" ]; then
		fail "reports/$name" "printed on stdout: $(head -n 3 "$D/$name.out")"
	else
		pass "reports/$name"
	fi
}
expect_fail status-unknown 1 \
	"cdscan status: nosuch.test.: not a delegation the registry holds" \
	status nosuch.test
expect_fail status-unknown-json 1 "nosuch.test.: not a delegation" \
	status nosuch.test --json
expect_fail history-unknown 1 \
	"cdscan history: nosuch.test.: not a delegation the registry holds" \
	history nosuch.test
expect_fail run-summary-unknown 1 "cdscan runs: no run 99" runs --run 99
expect_fail status-usage 2 "usage: cdscan status" status
expect_fail status-bad-name 2 "not a domain name" status 'a..b'
expect_fail runs-bad-limit 2 "--limit needs a positive number" runs --limit 0
expect_fail runs-bad-set 2 "cdscan runs: --set" runs --set nosuch.key=1

# A domain the registry dropped keeps its history.
psql -qc "DELETE FROM registry.domain WHERE name = 'rollover.test.'"
jqtest history-after-delete 'length == 2' history rollover.test --json
expect_fail status-after-delete 1 "not a delegation the registry holds" \
	status rollover.test

pg_stop "$D/pg"
expect_fail status-database-down 1 "cdscan status: cannot connect to the database" \
	status pending.test

finish
