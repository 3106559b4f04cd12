# Shell helpers for the pipeline tests (tests/integration/pipeline.sh,
# workers.sh): a cdscan configuration for a throwaway PostgreSQL, SQL
# checks of what a run recorded, and bounded background runs. Source it
# after tests/lib.sh and tests/pg.sh, with CDSCAN set.
#
#   pl_config FILE KEY=VALUE...  write a configuration (database in $PGD;
#                                resolver and trust anchor of world $W if set)
#   sql QUERY                    one psql query, unaligned, no headers
#   slow_zone PREFIX N [ADDR]    N delegations PREFIXnnn.test. whose only NS
#                                is at ADDR (default the world's silent
#                                127.0.10.99): each costs a full timeout
#   wait_for SECS CMD...         poll CMD every 0.1 s until it succeeds
#   reap PID SECS                wait for PID at most SECS (SIGKILL after),
#                                leaves its exit code in $REAPED_RC
#   run_once_why RUN             why RUN did not record every delegation
#                                exactly once (prints nothing when it did)
#   audit_why RUN                why the audit rows of RUN and the registry's
#                                DS sets disagree with the snapshot taken
#                                by snapshot_ds (nothing when they agree)

PL_SILENT=127.0.10.99

pl_config() {
	local f=$1 kv k v
	shift
	{
		echo "database: \"host=$PGD dbname=cdscan user=postgres\""
		if [ -n "${W:-}" ]; then
			echo "resolver:"
			echo "  servers: [127.0.10.53]"
			echo "  trust-anchors: \"$W/root.key\""
		else
			echo "resolver:"
			echo "  trust-anchors: \"\""
		fi
		# one YAML section per prefix, in the order given
		for kv in "$@"; do
			k=${kv%%=*}
			v=${kv#*=}
			echo "${k%%.*}: { ${k#*.}: $v }"
		done | awk -F': ' '
			{ sec = $1; sub(/^[^:]*: \{ /, ""); sub(/ \}$/, "")
			  if (!(sec in seen)) { order[++n] = sec; seen[sec] = 1 }
			  body[sec] = body[sec] "  " $0 "\n" }
			END { for (i = 1; i <= n; i++) printf "%s:\n%s", order[i], body[order[i]] }'
	} >"$f"
}

sql() {
	PGOPTIONS="-c client_min_messages=warning" psql -X -Atq -v ON_ERROR_STOP=1 -c "$1"
}

slow_zone() {
	local p=$1 n=$2 a=${3:-$PL_SILENT} i
	echo "\$TTL 60"
	echo "test. IN SOA ns.nic.test. hostmaster.nic.test. 1 60 60 3600 60"
	echo "test. IN NS ns.nic.test."
	echo "ns.nic.test. IN A 127.0.10.2"
	for i in $(seq -f '%03g' 1 "$n"); do
		echo "$p$i.test. IN NS ns.$p$i.test."
		echo "ns.$p$i.test. IN A $a"
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

reap() {
	local pid=$1 secs=$2 i
	REAPED_RC=
	for i in $(seq $((secs * 10))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		REAPED_RC=timeout
		return 1
	fi
	wait "$pid" 2>/dev/null
	REAPED_RC=$?
	return 0
}

# Sorted, upper-case DS sets, so that sets compare whatever the order a
# writer chose.
_pl_sql_helpers() {
	sql "CREATE OR REPLACE FUNCTION public.pl_set(a text[]) RETURNS text[]
	     LANGUAGE sql IMMUTABLE AS
	     \$\$ SELECT coalesce(array_agg(upper(x) ORDER BY upper(x)), '{}')
	        FROM unnest(a) x \$\$"
}

run_once_why() {
	local run=$1 r
	r=$(sql "SELECT (SELECT count(*) FROM cdscan.scan WHERE run_id = $run)
	        || ' ' || (SELECT count(DISTINCT domain) FROM cdscan.scan
	                   WHERE run_id = $run)
	        || ' ' || (SELECT count(*) FROM registry.domain)
	        || ' ' || (SELECT count(*) FROM registry.domain d
	                   WHERE NOT EXISTS (SELECT 1 FROM cdscan.scan s
	                         WHERE s.run_id = $run AND s.domain = d.name))
	        || ' ' || (SELECT count(*) FROM cdscan.run_batch
	                   WHERE run_id = $run AND state <> 'done')
	        || ' ' || (SELECT state FROM cdscan.run WHERE id = $run)") ||
		{ echo "cannot read run $run"; return; }
	set -- $r
	[ "$1" = "$3" ] && [ "$2" = "$3" ] && [ "$4" = 0 ] && [ "$5" = 0 ] &&
		[ "$6" = done ] && return
	echo "run $run: $1 scans of $2 domains for $3 delegations," \
		"$4 never scanned, $5 items not done, state ${6:-?}"
}

# Keep the DS sets as they are now, to compare after a run.
snapshot_ds() {
	_pl_sql_helpers
	sql "DROP TABLE IF EXISTS public.pl_snap;
	     CREATE TABLE public.pl_snap AS
	     SELECT name, public.pl_set(ds) AS ds FROM cdscan.delegation"
}

# No change half-applied: a domain's DS set moved during RUN exactly when
# RUN has one audit row for it, that row goes from the snapshot to what the
# registry holds now, and its scan says 'applied'; every 'applied' scan
# has its audit row.
audit_why() {
	local run=$1 r
	r=$(sql "
	WITH a AS (SELECT * FROM cdscan.audit WHERE run_id = $run),
	     moved AS (SELECT d.name FROM cdscan.delegation d
	               JOIN public.pl_snap p USING (name)
	               WHERE public.pl_set(d.ds) <> p.ds)
	SELECT 'moved without audit: ' || m.name FROM moved m
	  WHERE NOT EXISTS (SELECT 1 FROM a WHERE a.domain = m.name)
	UNION ALL
	SELECT 'audit without change: ' || a.domain FROM a
	  WHERE a.domain NOT IN (SELECT name FROM moved)
	UNION ALL
	SELECT 'two audit rows: ' || domain FROM a
	  GROUP BY domain HAVING count(*) > 1
	UNION ALL
	SELECT 'audit before/after disagrees with the registry: ' || a.domain
	  FROM a JOIN public.pl_snap p ON p.name = a.domain
	  JOIN cdscan.delegation d ON d.name = a.domain
	  WHERE public.pl_set(a.before_ds) <> p.ds
	     OR public.pl_set(a.after_ds) <> public.pl_set(d.ds)
	UNION ALL
	SELECT 'applied scan without audit: ' || s.domain FROM cdscan.scan s
	  WHERE s.run_id = $run AND s.outcome = 'applied'
	    AND NOT EXISTS (SELECT 1 FROM a WHERE a.scan_id = s.id)
	UNION ALL
	SELECT 'audit without applied scan: ' || a.domain FROM a
	  WHERE NOT EXISTS (SELECT 1 FROM cdscan.scan s WHERE s.id = a.scan_id
	                    AND s.outcome = 'applied')") ||
		{ echo "cannot read the audit of run $run"; return; }
	[ -z "$r" ] || echo "$r" | head -n 5 | tr '\n' ';'
}

# id of the newest run (of the dry-run mode given: true/false)
last_run() {
	sql "SELECT coalesce(max(id), 0) FROM cdscan.run WHERE dry_run = ${1:-false}"
}

# scans recorded in the newest run of that mode
run_scans() {
	sql "SELECT count(*) FROM cdscan.scan WHERE run_id =
	     (SELECT max(id) FROM cdscan.run WHERE dry_run = ${1:-false})"
}
