/*
 * Unit tests for db/: migrations, runs and claims between workers,
 * recording results and applying changes, against a real PostgreSQL that
 * main() starts in a temporary folder (tests/pg.sh) and stops at the end.
 * Every test gets its own database, a copy of one migrated template.
 * Needs root (initdb runs as the postgres user), like the CI.
 */
#include <check.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/errors.h"
#include "db/db.h"
#include "db/db_int.h"

#define DS_A "11111 13 2 " \
	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define DS_B "22222 13 2 " \
	"BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"

static char pgdir[64];
static char conninfo[160];
static char dbname[64];

/* ---- helpers ------------------------------------------------------------- */

static PGconn *sql_conn(void)
{
	PGconn *c = PQconnectdb(conninfo);

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
	return c;
}

/* Run SQL on a fresh connection; the first value of the result, or "". */
static char *sql(const char *q)
{
	static char v[4096];
	PGconn *c = sql_conn();
	PGresult *r = PQexec(c, q);
	ExecStatusType st = PQresultStatus(r);

	ck_assert_msg(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK,
		      "%s: %s", q, PQresultErrorMessage(r));
	snprintf(v, sizeof v, "%s",
		 PQntuples(r) && PQnfields(r) ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	PQfinish(c);
	return v;
}

static long sql_int(const char *q)
{
	return strtol(sql(q), NULL, 10);
}

static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* A statement on the maintenance database; 0 or -1 (message printed). */
static int admin_raw(const char *q)
{
	PGconn *c = PQconnectdb("dbname=postgres");
	PGresult *r;

	PQsetNoticeProcessor(c, quiet, NULL);
	r = PQexec(c, q);
	int ret = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;

	if (ret)
		fprintf(stderr, "%s: %s", q, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return ret;
}

static void admin(const char *q)
{
	ck_assert_msg(admin_raw(q) == 0, "%s", q);
}

static struct db *open_db(void)
{
	struct db *db = NULL;
	char err[512];

	ck_assert_msg(db_open(conninfo, &db, err, sizeof err) == 0, "%s", err);
	return db;
}

/* A fresh database per test: a copy of the migrated template. */
static void setup(void)
{
	char q[160];

	snprintf(dbname, sizeof dbname, "t_%d", (int)getpid());
	snprintf(q, sizeof q, "DROP DATABASE IF EXISTS %s", dbname);
	admin(q);
	snprintf(q, sizeof q, "CREATE DATABASE %s TEMPLATE cdscan_tmpl",
		 dbname);
	admin(q);
	snprintf(conninfo, sizeof conninfo, "dbname=%s", dbname);
}

static void teardown(void)
{
	char q[160];

	snprintf(q, sizeof q, "DROP DATABASE IF EXISTS %s WITH (FORCE)",
		 dbname);
	admin(q);
}

/* n delegations d0000.test. ...: two NS names, one with glue; the
   first with DS_A. */
static void add_domains(int n)
{
	char q[1024];

	snprintf(q, sizeof q,
		 "INSERT INTO registry.domain (name) SELECT"
		 " format('d%%s.test.', CASE WHEN g < 10000"
		 "  THEN lpad(g::text, 4, '0') ELSE g::text END)"
		 " FROM generate_series(0, %d) g;"
		 "INSERT INTO registry.domain_ns SELECT id, 'ns1.' || name"
		 " FROM registry.domain;"
		 "INSERT INTO registry.domain_ns SELECT id, 'ns.hoster.example.'"
		 " FROM registry.domain;"
		 "INSERT INTO registry.host SELECT 'ns1.' || name, '192.0.2.1'"
		 " FROM registry.domain;"
		 "INSERT INTO registry.host SELECT 'ns1.' || name, '2001:db8::1'"
		 " FROM registry.domain;"
		 "INSERT INTO registry.ds SELECT id, 11111, 13, 2, '%s'"
		 " FROM registry.domain WHERE name = 'd0000.test.'",
		 n - 1, DS_A + 11);
	sql(q);
	/* as autovacuum would soon after an import */
	sql("VACUUM ANALYZE registry.domain, registry.domain_ns,"
	    " registry.host, registry.ds");
}

/* Join or start the run of every delegation, cut (if new) into batches
   of `batch` (0: the default). */
static struct db_run_info begin_b(struct db *db, const char *worker,
				  int64_t lease_ms, size_t batch)
{
	struct db_run_spec spec = {.worker = worker, .lease_ms = lease_ms,
				   .batch_size = batch};
	struct db_run_info info;

	ck_assert_msg(db_run_begin(db, &spec, &info) == 0, "%s",
		      db_errmsg(db));
	return info;
}

static struct db_run_info begin(struct db *db, const char *worker,
				int64_t lease_ms)
{
	return begin_b(db, worker, lease_ms, 0);
}

static void free_delegs(struct db_delegation *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		db_delegation_deinit(&d[i]);
	free(d);
}

/* A scan result: one server that published CDS `cds` (NULL: none). */
struct fake {
	struct cds_server_obs obs;
	struct cds_ds cds;
	struct cds_decision dec;
	struct db_result res;
};

static void fake_result(struct fake *f, const struct db_delegation *d,
			enum cds_verdict v, const char *cds)
{
	memset(f, 0, sizeof *f);
	snprintf(f->obs.name, sizeof f->obs.name, "ns1.%.240s", d->name);
	snprintf(f->obs.addr, sizeof f->obs.addr, "192.0.2.1");
	f->obs.soa.state = CDS_RR_PRESENT;
	f->obs.soa_serial = 2024010101;
	f->obs.dnskey_rr.state = CDS_RR_PRESENT;
	f->obs.dnskey_proven = true;
	f->obs.cds_rr.state = cds ? CDS_RR_PRESENT : CDS_RR_NODATA;
	f->obs.cdnskey_rr.state = CDS_RR_NODATA;
	if (cds) {
		ck_assert_int_eq(cds_ds_parse(cds, &f->cds), 0);
		f->obs.cds = &f->cds;
		f->obs.n_cds = 1;
		f->obs.cds_rr.sig = CDS_SIG_VALID_DS_KEY;
		f->obs.cds_rr.sig_keytag = 11111;
		f->obs.cds_rr.sig_inception = 1700000000;
	}
	f->dec.verdict = v;
	f->dec.reason = v == CDS_DEC_UPDATE   ? CDS_R_APPLY_UPDATE
			: v == CDS_DEC_DELETE ? CDS_R_APPLY_DELETE
					      : CDS_R_NO_CDS;
	snprintf(f->dec.detail, sizeof f->dec.detail, "test\tdetail \\ \"q\"");
	if (v == CDS_DEC_UPDATE) {
		f->dec.proposed[0] = f->cds;
		f->dec.n_proposed = 1;
	}
	f->res = (struct db_result){.deleg = d, .obs = &f->obs, .n_obs = 1,
				    .dec = &f->dec, .time = 1700000000,
				    .queries = 4};
}

/* The CSYNC a server showed: serial 7, flags 3, types NS and AAAA, and
   its NS set. */
static void fake_csync(struct fake *f)
{
	static char ns[2][CDS_NAME_MAX] = {"ns1.x.test.", "ns2.x.test."};
	struct cds_csync_obs *c = &f->obs.csync;

	c->asked = true;
	c->rr.state = CDS_RR_PRESENT;
	c->rr.count = 1;
	c->rr.sig = CDS_SIG_VALID_DS_KEY;
	c->serial = 7;
	c->flags = 3;
	c->types[0] = 2;  /* NS */
	c->types[1] = 28; /* AAAA */
	c->n_types = 2;
	c->ns_rr.state = CDS_RR_PRESENT;
	c->ns = ns;
	c->n_ns = 2;
}

/* Record n claimed delegations as unchanged, all of them (asserted). */
static void record_unchanged(struct db *db, int64_t run, const char *worker,
			     const struct db_delegation *d, size_t n)
{
	struct fake *f = calloc(n, sizeof *f);
	struct db_result *r = calloc(n, sizeof *r);
	size_t nrec;

	ck_assert(f && r);
	for (size_t i = 0; i < n; i++) {
		fake_result(&f[i], &d[i], CDS_DEC_UNCHANGED, NULL);
		r[i] = f[i].res;
	}
	ck_assert_int_eq(db_record_batch(db, run, worker, false, r, n, &nrec),
			 0);
	ck_assert_int_eq(nrec, n);
	free(f);
	free(r);
}

/* ---- migrations ------------------------------------------------------------ */

START_TEST(migrate_twice)
{
	struct db *db;
	int from = -1, to = -1, v = -1;

	admin("DROP DATABASE IF EXISTS t_empty");
	admin("CREATE DATABASE t_empty TEMPLATE template0");
	snprintf(conninfo, sizeof conninfo, "dbname=t_empty");
	db = open_db();
	ck_assert_int_eq(db_schema_version(db, &v), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(db_migrate(db, &from, &to), 0);
	ck_assert_int_eq(from, 0);
	ck_assert_int_eq(to, db_schema_latest());
	ck_assert_int_eq(db_schema_version(db, &v), 0);
	ck_assert_int_eq(v, db_schema_latest());
	/* the second time is a no-op */
	ck_assert_int_eq(db_migrate(db, &from, &to), 0);
	ck_assert_int_eq(from, db_schema_latest());
	ck_assert_int_eq(to, db_schema_latest());
	/* one row per migration; versions need not be contiguous */
	ck_assert_int_eq(sql_int("SELECT count(*) FROM cdscan_meta.schema_version"),
			 (int)db_n_migrations);
	/* a newer schema than this binary knows is refused */
	sql("INSERT INTO cdscan_meta.schema_version VALUES (999, 'future')");
	ck_assert_int_eq(db_migrate(db, &from, &to), CDS_EDB);
	ck_assert_ptr_nonnull(strstr(db_errmsg(db), "newer"));
	db_close(db);
	admin("DROP DATABASE t_empty WITH (FORCE)");
}
END_TEST

/* Reads of `rel` by a sequential scan so far, stats flushed by every
   backend that has ended or asked to (pg_stat_force_next_flush). */
static long seq_scans(const char *rel)
{
	char q[256];

	snprintf(q, sizeof q, "SELECT coalesce(seq_scan, 0) FROM"
		 " pg_stat_user_tables WHERE relid = '%s'::regclass", rel);
	return sql_int(q);
}

/* Flush what db's backend counted into the shared statistics. */
static void flush_stats(struct db *db)
{
	PGresult *r = PQexec(db->conn, "SELECT pg_stat_force_next_flush()");

	ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
	PQclear(r);
	/* flushed before the server says it is ready again */
	PQclear(PQexec(db->conn, "SELECT 1"));
}

/*
 * Three delegations recorded as rejected with an event each, the
 * daemon's gauges read, and a bootstrap streak: where a scan's name
 * meets the registry's or the audit's. With `reads`, sequential scans
 * are priced out and each side must be found by its own index: neither
 * cdscan.scan, registry.domain nor cdscan.audit read whole (but
 * registry.domain by the gauges, which go over every delegation).
 */
static void names_meet(bool reads)
{
	struct db *db, *dd;
	struct db_run_info a;
	struct db_delegation *d;
	struct db_daemon_gauges g;
	struct fake f[3];
	struct db_result r[3];
	char q[160], err[256];
	struct db_delegation *p[3];
	long scan0 = 0, dom0 = 0, audit0;
	size_t n, nrec;

	add_domains(3);
	if (reads) {
		snprintf(q, sizeof q, "ALTER DATABASE %s SET"
			 " enable_seqscan = off", dbname);
		admin(q);
	}
	db = open_db();
	a = begin(db, "h:1", 60000);
	ck_assert_int_eq(db_run_claim(db, a.id, "h:1", NULL, 0, &d, &n), 0);
	ck_assert_int_eq(n, 3);
	for (size_t i = 0; i < n; i++)
		p[i] = &d[i];
	flush_stats(db);
	scan0 = seq_scans("cdscan.scan");
	dom0 = seq_scans("registry.domain");
	for (size_t i = 0; i < n; i++) {
		fake_result(&f[i], &d[i], CDS_DEC_REJECTED, NULL);
		f[i].dec.rejected_event = 3;
		r[i] = f[i].res;
	}
	ck_assert_msg(db_record_batch(db, a.id, "h:1", false, r, 3, &nrec) == 0,
		      "%s", db_errmsg(db));
	ck_assert_int_eq(nrec, 3);
	flush_stats(db);
	/* the events were written, with the registrar read by name */
	ck_assert_int_eq(sql_int("SELECT count(*) FROM cdscan.event"
				 " WHERE kind = 'rejected'"
				 " AND payload ? 'registrar'"), 3);
	if (reads) {
		ck_assert_int_eq(seq_scans("cdscan.scan"), scan0);
		ck_assert_int_eq(seq_scans("registry.domain"), dom0);
	}
	ck_assert_msg(db_daemon_open(conninfo, 10000, &dd, err, sizeof err) == 0,
		      "%s", err);
	ck_assert_msg(db_daemon_gauges(dd, 10000, &g) == 0, "%s",
		      db_errmsg(dd));
	flush_stats(dd);
	if (reads)
		ck_assert_int_eq(seq_scans("cdscan.scan"), scan0);
	/* the bootstrap streak: the scans read by name, and for each the
	   newest audit by its name */
	sql("INSERT INTO cdscan.scan (domain, time, worker, verdict, reason,"
	    " queries) VALUES ('d0001.test.', now(), 'h:1', 'pending',"
	    " 'bootstrap-waiting', 1)");
	flush_stats(db);
	scan0 = seq_scans("cdscan.scan");
	audit0 = seq_scans("cdscan.audit");
	ck_assert_msg(db_history_load(db, p, 3, 3) == 0, "%s", db_errmsg(db));
	flush_stats(db);
	ck_assert_int_eq(d[1].hist.boot_streak, 1);
	if (reads) {
		ck_assert_int_eq(seq_scans("cdscan.scan"), scan0);
		ck_assert_int_eq(seq_scans("cdscan.audit"), audit0);
	}
	free_delegs(d, n);
	db_close(dd);
	db_close(db);
}

/* Schema 17: a scan's domain compares bytewise (COLLATE "C"), so that
   its two indexes are written without the locale; the indexes on either
   side are still used where the names meet. */
START_TEST(scan_names_bytewise)
{
	ck_assert_str_eq(sql("SELECT c.collname FROM pg_attribute a"
			     " JOIN pg_collation c ON c.oid = a.attcollation"
			     " WHERE a.attrelid = 'cdscan.scan'::regclass"
			     " AND a.attname = 'domain'"),
			 "C");
	names_meet(true);
}
END_TEST

/* A registry whose view gives its names a collation of their own (here
   "POSIX", neither the database's nor "C"): a scan's name meets it
   without "could not determine which collation to use". */
START_TEST(scan_names_meet_another_collation)
{
	sql("BEGIN; DROP VIEW cdscan.delegation;"
	    " CREATE VIEW cdscan.delegation AS"
	    " SELECT d.name COLLATE \"POSIX\" AS name,"
	    "  ARRAY(SELECT n.ns_name FROM registry.domain_ns n"
	    "   WHERE n.domain_id = d.id ORDER BY n.ns_name) AS ns,"
	    "  ARRAY(SELECT s.keytag || ' ' || s.algorithm || ' ' ||"
	    "   s.digest_type || ' ' || s.digest FROM registry.ds s"
	    "   WHERE s.domain_id = d.id ORDER BY s.keytag, s.algorithm,"
	    "   s.digest_type, s.digest) AS ds,"
	    "  d.statuses, d.optout, d.registrar FROM registry.domain d;"
	    " COMMIT");
	names_meet(false);
}
END_TEST

/*
 * Schema 12 cuts the runs of schema 11 into batches: a run in progress
 * across the upgrade goes on where it stood (what was done stays done,
 * what was claimed is claimed again, less what was recorded of it), a
 * finished one stays finished.
 */
START_TEST(migrate_runs_into_batches)
{
	struct db *db;
	struct db_delegation *d;
	int from = -1, to = -1;
	int64_t done, claimed, todo;
	size_t n;
	bool fin;
	PGconn *c;

	admin("DROP DATABASE IF EXISTS t_v11");
	admin("CREATE DATABASE t_v11 TEMPLATE template0");
	snprintf(conninfo, sizeof conninfo, "dbname=t_v11");
	c = sql_conn();
	PQclear(PQexec(c, "CREATE SCHEMA cdscan_meta;"
			  "CREATE TABLE cdscan_meta.schema_version ("
			  " version integer PRIMARY KEY, name text NOT NULL,"
			  " applied timestamptz NOT NULL DEFAULT now())"));
	for (size_t i = 0; i < db_n_migrations; i++) {
		char q[160];
		PGresult *r;

		if (db_migrations[i].version > 11)
			continue;
		r = PQexec(c, db_migrations[i].sql);
		ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s: %s",
			      db_migrations[i].name, PQresultErrorMessage(r));
		PQclear(r);
		snprintf(q, sizeof q, "INSERT INTO cdscan_meta.schema_version"
			 " VALUES (%d, 'v')", db_migrations[i].version);
		PQclear(PQexec(c, q));
	}
	PQfinish(c);
	/* run 1, finished; run 2, 2500 items: the first 1200 done (and
	   recorded), the next 100 claimed (50 of them recorded since),
	   the rest todo */
	sql("INSERT INTO cdscan.run (id, selection, dry_run, state, total)"
	    " VALUES (1, 'all', false, 'done', 3), (2, 'all', false,"
	    " 'running', 2500);"
	    "INSERT INTO cdscan.run_item (run_id, domain, state)"
	    " SELECT 1, 'r' || g || '.test.', 'done'"
	    " FROM generate_series(1, 3) g;"
	    "INSERT INTO cdscan.run_item (run_id, domain, state, worker,"
	    " lease_until, claims)"
	    " SELECT 2, 'd' || lpad(g::text, 4, '0') || '.test.', CASE WHEN g < 1200 THEN"
	    " 'done' WHEN g < 1300 THEN 'claimed' ELSE 'todo' END,"
	    " CASE WHEN g BETWEEN 1200 AND 1299 THEN 'h:1' END,"
	    " CASE WHEN g BETWEEN 1200 AND 1299 THEN now() END,"
	    " CASE WHEN g < 1300 THEN 1 ELSE 0 END"
	    " FROM generate_series(0, 2499) g;"
	    "INSERT INTO cdscan.scan (run_id, domain, time, worker, verdict,"
	    " reason, queries)"
	    " SELECT 2, 'd' || lpad(g::text, 4, '0') || '.test.', now(), 'h:1', 'unchanged',"
	    " 'no-cds', 1 FROM generate_series(0, 1249) g");
	db = open_db();
	ck_assert_msg(db_migrate(db, &from, &to) == 0, "%s", db_errmsg(db));
	ck_assert_int_eq(from, 11);
	ck_assert_int_eq(to, db_schema_latest());
	ck_assert_str_eq(sql("SELECT string_agg(run_id || '/' || batch || ':'"
			     " || size || ':' || state || ':' || claims, ' '"
			     " ORDER BY run_id, batch) FROM cdscan.run_batch"),
			 "1/0:3:done:1 2/0:1000:done:1 2/1:1000:todo:1"
			 " 2/2:500:todo:0");
	/* schema 13: what each batch has recorded, from its scans (a done
	   batch counts as whole) */
	ck_assert_str_eq(sql("SELECT string_agg(recorded::text, ' '"
			     " ORDER BY run_id, batch) FROM cdscan.run_batch"),
			 "3 1000 250 0");
	/* schema 14: each batch holds its names, in name order, and the
	   items are gone */
	ck_assert_str_eq(sql("SELECT string_agg(cardinality(domains) || ':'"
			     " || domains[1] || '-' || domains[cardinality("
			     "domains)], ' ' ORDER BY run_id, batch)"
			     " FROM cdscan.run_batch"),
			 "3:r1.test.-r3.test. 1000:d0000.test.-d0999.test."
			 " 1000:d1000.test.-d1999.test."
			 " 500:d2000.test.-d2499.test.");
	ck_assert_int_eq(sql_int("SELECT count(*) FROM cdscan.run_batch b,"
				 " unnest(b.domains) WITH ORDINALITY"
				 " AS x(d, i), unnest(b.domains)"
				 " WITH ORDINALITY AS y(d, i)"
				 " WHERE y.i = x.i + 1 AND y.d <= x.d"),
			 0);
	ck_assert(sql_int("SELECT count(*) FROM pg_class"
			  " WHERE relname = 'run_item'") == 0);
	ck_assert_int_eq(db_run_progress(db, 2, &done, &claimed, &todo), 0);
	ck_assert_int_eq(done, 1250);
	ck_assert_int_eq(claimed, 0);
	ck_assert_int_eq(todo, 1250);
	ck_assert_int_eq(db_run_claim(db, 2, "h:2", NULL, 0, &d, &n), 0);
	ck_assert_int_eq(n, 750);
	ck_assert_str_eq(d[0].name, "d1250.test.");
	ck_assert_int_eq(d[0].batch, 1);
	record_unchanged(db, 2, "h:2", d, n);
	free_delegs(d, n);
	ck_assert_int_eq(db_run_claim(db, 2, "h:2", NULL, 0, &d, &n), 0);
	ck_assert_int_eq(n, 500);
	record_unchanged(db, 2, "h:2", d, n);
	free_delegs(d, n);
	/* schema 16: the run is finished with what its 2500 scans came to,
	   though only the 1250 recorded since the upgrade were tallied */
	ck_assert_int_eq(sql_int("SELECT sum(n) FROM cdscan.run_tally"),
			 1250);
	ck_assert_int_eq(db_run_finish(db, 2, &fin), 0);
	ck_assert(fin);
	ck_assert_int_eq(sql_int("SELECT sum((e->>2)::bigint) FROM"
				 " cdscan.run, jsonb_array_elements("
				 "counts->'reasons') e WHERE id = 2"),
			 2500);
	db_close(db);
	admin("DROP DATABASE t_v11 WITH (FORCE)");
}
END_TEST

/* ---- runs ------------------------------------------------------------------ */

/* Schema 13: each batch counts what is recorded of it, and the count is
   exact: the claim marks a batch done, and progress and the end of the
   run count what is left, by it alone. Schema 16: so are the run's
   tallies, per verdict and reason, every column the run's counts have
   (what finishing the run sums instead of its scans). */
static void assert_counts_exact(void)
{
	ck_assert_str_eq(sql("SELECT coalesce(string_agg(b.batch || ':'"
			     " || b.recorded || '/' || s.n, ' '), 'exact')"
			     " FROM cdscan.run_batch b, LATERAL (SELECT"
			     "  count(*) AS n FROM unnest(b.domains) AS i(domain)"
			     "  WHERE EXISTS (SELECT 1 FROM cdscan.scan c"
			     "  WHERE c.run_id = b.run_id"
			     "  AND c.domain = i.domain)) s"
			     " WHERE b.recorded <> s.n"),
			 "exact");
	ck_assert_str_eq(
		sql("SELECT coalesce(string_agg(r.id || ': ' || t.v::text"
		    " || ' against ' || s.v::text, '; '), 'exact')"
		    " FROM cdscan.run r,"
		    " LATERAL (SELECT coalesce(jsonb_agg(x ORDER BY x::text),"
		    "  '[]') AS v FROM (SELECT jsonb_build_array(verdict,"
		    "  reason, sum(n), sum(queries), sum(applied),"
		    "  sum(requested), sum(stale),"
		    "  extract(epoch FROM max(last))) AS x"
		    "  FROM cdscan.run_tally WHERE run_id = r.id"
		    "  GROUP BY verdict, reason) g) t,"
		    " LATERAL (SELECT coalesce(jsonb_agg(x ORDER BY x::text),"
		    "  '[]') AS v FROM (SELECT jsonb_build_array(verdict,"
		    "  reason, count(*), sum(queries),"
		    "  count(*) FILTER (WHERE outcome = 'applied'),"
		    "  count(*) FILTER (WHERE outcome = 'requested'),"
		    "  count(*) FILTER (WHERE outcome = 'stale'),"
		    "  extract(epoch FROM max(time))) AS x"
		    "  FROM cdscan.scan WHERE run_id = r.id"
		    "  GROUP BY verdict, reason) g) s"
		    " WHERE t.v <> s.v"),
		"exact");
}

/* The summary of run `id` says `what`. */
static void assert_summary(struct db *db, int64_t id, const char *what)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_msg(db_report_run_summary(db, id, f) == 0, "%s",
		      db_errmsg(db));
	fclose(f);
	ck_assert_msg(strstr(buf, what), "'%s' not in: %s", what, buf);
	free(buf);
}

START_TEST(run_begin_join)
{
	char q[256];
	struct db *db = open_db(), *db2 = open_db();
	const char *ab[] = {"d0001.test.", "d0000.test.", "d0001.test."};
	const char *ba[] = {"d0000.test.", "d0001.test."};
	const char *none[] = {"nothere.test."};
	struct db_run_spec spec = {.worker = "h:3", .domains = ab,
				   .n_domains = 3};
	struct db_run_info a, b, c;
	struct db_delegation *d;
	size_t n;
	bool fin;

	add_domains(10);
	a = begin(db, "h:1", 60000);
	ck_assert(!a.joined);
	ck_assert_int_eq(a.total, 10);
	b = begin(db2, "h:2", 60000);
	ck_assert(b.joined);
	ck_assert_int_eq(b.id, a.id);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM cdscan.worker"), 2);

	/* the same names in another order, duplicates dropped: one run */
	ck_assert_int_eq(db_run_begin(db, &spec, &c), 0);
	ck_assert(!c.joined);
	ck_assert_int_eq(c.total, 2);
	spec.domains = ba;
	spec.n_domains = 2;
	ck_assert_int_eq(db_run_begin(db2, &spec, &b), 0);
	ck_assert(b.joined);
	ck_assert_int_eq(b.id, c.id);
	ck_assert_str_eq(sql("SELECT selection FROM cdscan.run WHERE total = 2"),
			 "d0000.test. d0001.test.");
	/* a dry run is a run of its own */
	spec.dry_run = true;
	ck_assert_int_eq(db_run_begin(db2, &spec, &b), 0);
	ck_assert(!b.joined);
	ck_assert_int_ne(b.id, c.id);
	/* names not held */
	spec.domains = none;
	spec.n_domains = 1;
	ck_assert_int_eq(db_run_begin(db2, &spec, &b), CDS_ENOTFOUND);

	/* a finished run is not joined: the next begin starts anew */
	ck_assert_int_eq(db_run_finish(db, a.id, &fin), 0);
	ck_assert(!fin);
	ck_assert_int_eq(db_run_claim(db, a.id, "h:1", NULL, 0, &d, &n), 0);
	ck_assert_int_eq(n, 10);
	record_unchanged(db, a.id, "h:1", d, 9);
	/* one not recorded: not finished */
	ck_assert_int_eq(db_run_finish(db, a.id, &fin), 0);
	ck_assert(!fin);
	/* a worker joining now is told what is done already */
	spec = (struct db_run_spec){.worker = "h:4"};
	ck_assert_int_eq(db_run_begin(db2, &spec, &c), 0);
	ck_assert(c.joined);
	ck_assert_int_eq(c.id, a.id);
	ck_assert_int_eq(c.done, 9);
	record_unchanged(db, a.id, "h:1", d + 9, 1);
	free_delegs(d, n);
	/* schema 16: what the scans came to is summed from the tallies
	   written with them, not from the scans (changed here behind
	   cdscan's back, to tell the two apart) */
	snprintf(q, sizeof q, "UPDATE cdscan.scan SET reason = 'edited'"
		 " WHERE run_id = %lld", (long long)a.id);
	sql(q);
	ck_assert_int_eq(db_run_finish(db, a.id, &fin), 0);
	ck_assert(fin);
	ck_assert_int_eq(db_run_finish(db2, a.id, &fin), 0);
	ck_assert(fin);
	/* schema 15: the finished run keeps its counts; its reports no
	   longer read its scans */
	snprintf(q, sizeof q, "SELECT jsonb_path_query_array(counts,"
		 " '$.reasons[*][0 to 2]')::text FROM cdscan.run"
		 " WHERE id = %lld", (long long)a.id);
	ck_assert_str_eq(sql(q), "[\"unchanged\", \"no-cds\", 10]");
	snprintf(q, sizeof q, "DELETE FROM cdscan.scan WHERE run_id = %lld",
		 (long long)a.id);
	sql(q);
	assert_summary(db, a.id, "10/10 delegations");
	b = begin(db2, "h:2", 60000);
	ck_assert(!b.joined);
	ck_assert_int_ne(b.id, a.id);
	ck_assert_int_eq(b.done, 0);
	db_close(db);
	db_close(db2);
}
END_TEST

/* A selection of thousands of names, as a registrar's list of the
   domains it hosts: the run's selection text is far larger than an index
   entry may be (it was indexed whole until schema 14, and such a run
   could not begin). */
START_TEST(run_of_many_names)
{
	enum { N = 3000 };
	struct db *db = open_db(), *db2 = open_db();
	static char names[N][40];
	const char *v[N];
	struct db_run_spec spec = {.worker = "h:1", .domains = v,
				   .n_domains = N};
	struct db_run_info a, b;
	uint32_t x = 2463534242u;
	char *q, *o;

	/* names that do not compress well */
	ck_assert_ptr_nonnull(o = q = malloc((size_t)N * 48 + 128));
	o += sprintf(o, "INSERT INTO registry.domain (name) VALUES ");
	for (int i = 0; i < N; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		snprintf(names[i], sizeof names[i], "m%08x%04x.test.", x, i);
		v[i] = names[i];
		o += sprintf(o, "%s('%s')", i ? "," : "", names[i]);
	}
	sql(q);
	free(q);
	ck_assert_msg(db_run_begin(db, &spec, &a) == 0, "%s", db_errmsg(db));
	ck_assert(!a.joined);
	ck_assert_int_eq(a.total, N);
	ck_assert_int_eq(sql_int("SELECT sum(cardinality(domains))"
				 " FROM cdscan.run_batch"), N);
	/* the same selection joins it */
	spec.worker = "h:2";
	ck_assert_msg(db_run_begin(db2, &spec, &b) == 0, "%s",
		      db_errmsg(db2));
	ck_assert(b.joined);
	ck_assert_int_eq(b.id, a.id);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM cdscan.run"), 1);
	db_close(db);
	db_close(db2);
}
END_TEST

struct begin_arg {
	const char *worker;
	struct db_run_info info;
	int ret;
};

static void *begin_thread(void *p)
{
	struct begin_arg *a = p;
	struct db_run_spec spec = {.worker = a->worker, .lease_ms = 60000};
	struct db *db = NULL;
	char err[256];

	if ((a->ret = db_open(conninfo, &db, err, sizeof err)) == 0)
		a->ret = db_run_begin(db, &spec, &a->info);
	db_close(db);
	return NULL;
}

START_TEST(run_three_workers_one_run)
{
	struct begin_arg a[3] = {{.worker = "h:1"}, {.worker = "h:2"},
				 {.worker = "h:3"}};
	pthread_t t[3];
	int joined = 0;

	add_domains(2000);
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, begin_thread, &a[i]);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(a[i].ret, 0);
		ck_assert_int_eq(a[i].info.id, a[0].info.id);
		ck_assert_int_eq(a[i].info.total, 2000);
		joined += a[i].info.joined;
	}
	ck_assert_int_eq(joined, 2);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM cdscan.run"), 1);
	ck_assert_int_eq(sql_int("SELECT sum(cardinality(domains))"
				 " FROM cdscan.run_batch"), 2000);
}
END_TEST

/* Glue for NS names shared across a batch and listed in no order: each
   delegation gets every address of each of its names, in the order of
   the addresses (inet: 10.0.0.9 before 10.0.0.10, which text would
   reverse), and a name without glue gets none. */
START_TEST(claim_reads_shared_glue)
{
	struct db *db = open_db();
	struct db_run_info a;
	struct db_delegation *d;
	size_t n;

	add_domains(300);
	sql("INSERT INTO registry.host VALUES"
	    " ('ns.hoster.example.', '10.0.0.10'),"
	    " ('ns.hoster.example.', '2001:db8::53'),"
	    " ('ns.hoster.example.', '10.0.0.9')");
	/* a third name, sorting between the two, on every other domain */
	sql("INSERT INTO registry.domain_ns SELECT id, 'ns0.other.example.'"
	    " FROM registry.domain WHERE right(name, 7) ~ '[02468]\\.test\\.$'");
	sql("INSERT INTO registry.host VALUES"
	    " ('ns0.other.example.', '198.51.100.7')");
	a = begin(db, "h:1", 60000);
	ck_assert_int_eq(db_run_claim(db, a.id, "h:1", NULL, 0, &d, &n), 0);
	ck_assert_uint_eq(n, 300);
	for (size_t i = 0; i < n; i++) {
		char own[64];
		bool even = (i % 2) == 0;
		size_t k = 0;

		snprintf(own, sizeof own, "ns1.d%04zu.test.", i);
		ck_assert_str_eq(d[i].name, own + 4);
		ck_assert_int_eq(d[i].load_error, 0);
		ck_assert_uint_eq(d[i].n_ns, even ? 3 : 2);
		ck_assert_str_eq(d[i].ns[k].name, "ns.hoster.example.");
		ck_assert_uint_eq(d[i].ns[k].n_glue, 3);
		ck_assert_str_eq(d[i].ns[k].glue[0], "10.0.0.9");
		ck_assert_str_eq(d[i].ns[k].glue[1], "10.0.0.10");
		ck_assert_str_eq(d[i].ns[k].glue[2], "2001:db8::53");
		if (even) {
			k++;
			ck_assert_str_eq(d[i].ns[k].name, "ns0.other.example.");
			ck_assert_uint_eq(d[i].ns[k].n_glue, 1);
			ck_assert_str_eq(d[i].ns[k].glue[0], "198.51.100.7");
		}
		k++;
		ck_assert_str_eq(d[i].ns[k].name, own);
		ck_assert_uint_eq(d[i].ns[k].n_glue, 2);
		ck_assert_str_eq(d[i].ns[k].glue[0], "192.0.2.1");
		ck_assert_str_eq(d[i].ns[k].glue[1], "2001:db8::1");
	}
	free_delegs(d, n);
	db_close(db);
}
END_TEST

START_TEST(claim_reads_delegation)
{
	struct db *db = open_db();
	struct db_run_info a;
	struct db_delegation *d;
	size_t n;
	char ds[CDS_DS_STR_MAX];

	add_domains(3);
	sql("UPDATE registry.domain SET statuses = '{clientUpdateProhibited}',"
	    " optout = true WHERE name = 'd0002.test.'");
	/* 33 NS names: more than cdscan keeps, recorded as a load error */
	sql("INSERT INTO registry.domain_ns SELECT id, 'x' || g || '.example.'"
	    " FROM registry.domain, generate_series(1, 31) g"
	    " WHERE name = 'd0001.test.'");
	sql("INSERT INTO registry.domain (name) VALUES ('gone.test.')");
	a = begin(db, "h:1", 60000);
	/* gone between the start of the run and the claim */
	sql("DELETE FROM registry.domain WHERE name = 'gone.test.'");
	ck_assert_int_eq(db_run_claim(db, a.id, "h:1", NULL, 0, &d, &n), 0);
	ck_assert_int_eq(n, 4);
	ck_assert_str_eq(d[0].name, "d0000.test.");
	ck_assert_int_eq(d[0].load_error, 0);
	ck_assert_int_eq(d[0].n_ns, 2);
	ck_assert_str_eq(d[0].ns[0].name, "ns.hoster.example.");
	ck_assert_int_eq(d[0].ns[0].n_glue, 0);
	ck_assert_str_eq(d[0].ns[1].name, "ns1.d0000.test.");
	ck_assert_int_eq(d[0].ns[1].n_glue, 2);
	ck_assert_str_eq(d[0].ns[1].glue[0], "192.0.2.1");
	ck_assert_str_eq(d[0].ns[1].glue[1], "2001:db8::1");
	ck_assert_int_eq(d[0].n_ds, 1);
	cds_ds_format(&d[0].ds[0], ds, sizeof ds);
	ck_assert_str_eq(ds, "11111 13 2 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	ck_assert_str_eq(d[0].ds_text, "{\"" DS_A "\"}");
	ck_assert(!d[0].optout);
	ck_assert_int_eq(d[1].load_error, CDS_ELIMIT);
	ck_assert_ptr_nonnull(strstr(d[1].load_errtext, "33 NS names"));
	ck_assert(d[2].optout);
	ck_assert_int_eq(d[2].n_statuses, 1);
	ck_assert_str_eq(d[2].statuses[0], "clientUpdateProhibited");
	ck_assert_str_eq(d[2].ds_text, "{}");
	ck_assert_str_eq(d[3].name, "gone.test.");
	ck_assert_int_eq(d[3].load_error, CDS_ENOTFOUND);
	free_delegs(d, n);
	db_close(db);
}
END_TEST

START_TEST(claims_never_overlap)
{
	struct db *w[2] = {open_db(), open_db()};
	const char *name[2] = {"h:1", "h:2"};
	PGconn *other = sql_conn();
	struct db_run_info a;
	struct db_delegation *d;
	size_t n, got = 0, per[2] = {0, 0};
	PGresult *r;

	add_domains(1000);
	a = begin_b(w[0], name[0], 60000, 10);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM cdscan.run_batch"), 100);
	/* another transaction is claiming the first five batches right now:
	   SKIP LOCKED passes over them instead of waiting */
	PQclear(PQexec(other, "BEGIN"));
	r = PQexec(other, "SELECT 1 FROM cdscan.run_batch ORDER BY batch"
			  " LIMIT 5 FOR UPDATE");
	ck_assert_int_eq(PQntuples(r), 5);
	PQclear(r);
	ck_assert_int_eq(db_run_claim(w[1], a.id, name[1], NULL, 0, &d, &n), 0);
	ck_assert_int_eq(n, 10);
	ck_assert_str_eq(d[0].name, "d0050.test.");
	ck_assert_int_eq(d[0].batch, 5);
	ck_assert_int_eq(d[9].batch, 5);
	free_delegs(d, n);
	per[1] += n;
	PQclear(PQexec(other, "ROLLBACK"));
	PQfinish(other);

	for (int turn = 0;; turn ^= 1) {
		ck_assert_int_eq(db_run_claim(w[turn], a.id, name[turn], NULL,
					      0, &d, &n), 0);
		free_delegs(d, n);
		per[turn] += n;
		if (n == 0 && (got = per[0] + per[1]) == 1000)
			break;
		ck_assert_int_le(per[0] + per[1], 1000);
	}
	ck_assert_int_eq(got, 1000);
	ck_assert_int_gt(per[0], 400);
	ck_assert_int_gt(per[1], 400);
	/* each batch claimed exactly once, by the worker that holds it */
	ck_assert_int_eq(sql_int("SELECT count(*) FROM cdscan.run_batch"
				 " WHERE claims = 1 AND state = 'claimed'"),
			 100);
	ck_assert_int_eq(sql_int("SELECT sum(size) FROM cdscan.run_batch"
				 " WHERE worker = 'h:1'"), (long)per[0]);
	db_close(w[0]);
	db_close(w[1]);
}
END_TEST

START_TEST(lease_lapse_renew_release)
{
	struct db *w1 = open_db(), *w2 = open_db();
	struct db_run_info a;
	struct db_delegation *d, *d2;
	size_t n, n2, nrec;
	struct fake f;
	char **who;
	int64_t rel, done, claimed, todo;

	add_domains(6);
	a = begin_b(w1, "h:1", 300, 2);
	begin(w2, "h:2", 300);
	ck_assert_int_eq(db_run_claim(w1, a.id, "h:1", NULL, 0, &d, &n), 0);
	ck_assert_int_eq(n, 2);
	/* live claims are not taken */
	ck_assert_int_eq(db_run_claim(w2, a.id, "h:2", NULL, 0, &d2, &n2), 0);
	ck_assert_str_eq(d2[0].name, "d0002.test.");
	free_delegs(d2, n2);
	ck_assert_int_eq(db_run_claimants(w1, a.id, &who, &n2), 0);
	ck_assert_int_eq(n2, 2);
	ck_assert_str_eq(who[0], "h:1");
	ck_assert_str_eq(who[1], "h:2");
	db_strv_free(who, n2);
	/* renewed, h:1's claims outlive the first lease */
	ck_assert_int_eq(db_run_renew(w1, a.id, "h:1", 5000), 0);
	usleep(400000);
	ck_assert_int_eq(db_run_claim(w2, a.id, "h:2", NULL, 0, &d2, &n2), 0);
	/* h:2's own first claim lapsed, but h:2 still holds it (it may
	   be scanning it): not handed to h:2 a second time, only the rest */
	ck_assert_int_eq(n2, 2);
	ck_assert_str_eq(d2[0].name, "d0004.test.");
	ck_assert_str_eq(d2[1].name, "d0005.test.");
	free_delegs(d2, n2);
	ck_assert_int_eq(db_run_progress(w1, a.id, &done, &claimed, &todo), 0);
	ck_assert_int_eq(claimed, 6);
	ck_assert_int_eq(todo, 0);

	/* lapse: h:1 stops renewing, h:2 takes over */
	sql("UPDATE cdscan.run_batch SET lease_until = now() - interval '1 s'"
	    " WHERE worker = 'h:1'");
	ck_assert_int_eq(db_run_claim(w2, a.id, "h:2", NULL, 0, &d2, &n2), 0);
	ck_assert_int_eq(n2, 2);
	ck_assert_str_eq(d2[0].name, "d0000.test.");
	free_delegs(d2, n2);
	/* h:1 comes back: its results are not recorded */
	fake_result(&f, &d[0], CDS_DEC_UNCHANGED, NULL);
	ck_assert_int_eq(db_record_batch(w1, a.id, "h:1", false, &f.res, 1,
					 &nrec), 0);
	ck_assert_int_eq(nrec, 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM cdscan.scan"), 0);
	free_delegs(d, n);

	/* release: h:2's claims go back to todo at once */
	ck_assert_int_eq(db_run_release(w1, a.id, "h:2", &rel), 0);
	ck_assert_int_eq(rel, 6);
	ck_assert_int_eq(db_run_progress(w1, a.id, &done, &claimed, &todo), 0);
	ck_assert_int_eq(todo, 6);
	ck_assert_int_eq(db_run_claimants(w1, a.id, &who, &n2), 0);
	ck_assert_int_eq(n2, 0);
	ck_assert_int_eq(db_run_claim(w1, a.id, "h:1", NULL, 0, &d, &n), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_str_eq(d[0].name, "d0000.test.");
	free_delegs(d, n);
	db_close(w1);
	db_close(w2);
}
END_TEST

/*
 * Schema 12: a batch taken over, or given back, is claimed again without
 * what was recorded of it; one with nothing left is done, never handed
 * out; a batch is done only when its scans say so, whatever the worker
 * claims; the run is finished when every delegation is recorded.
 */
START_TEST(claim_batch_leaves_out_recorded)
{
	struct db *w1 = open_db(), *w2 = open_db();
	struct db_run_info a;
	struct db_delegation *d, *d2;
	size_t n, n2;
	int64_t rel, done, claimed, todo, b0;
	bool fin;

	add_domains(9);
	a = begin_b(w1, "h:1", 60000, 3);
	ck_assert_int_eq(db_run_claim(w1, a.id, "h:1", NULL, 0, &d, &n), 0);
	ck_assert_int_eq(n, 3);
	b0 = d[0].batch;
	/* two of three recorded, then h:1 dies: its lease lapses */
	record_unchanged(w1, a.id, "h:1", d, 2);
	ck_assert_int_eq(db_run_progress(w1, a.id, &done, &claimed, &todo), 0);
	ck_assert_int_eq(done, 2);
	ck_assert_int_eq(claimed, 1);
	ck_assert_int_eq(todo, 6);
	/* h:1 says the batch is recorded whole: the scans say not */
	free_delegs(d, n);
	ck_assert_int_eq(db_run_claim(w1, a.id, "h:1", &b0, 1, &d, &n), 0);
	ck_assert_str_eq(d[0].name, "d0003.test.");
	ck_assert_str_eq(sql("SELECT state FROM cdscan.run_batch"
			     " WHERE batch = 0"), "claimed");
	sql("UPDATE cdscan.run_batch SET lease_until = now() - interval '1 s'"
	    " WHERE batch = 0");
	/* h:2 takes batch 0 over and gets only what is left of it */
	ck_assert_int_eq(db_run_claim(w2, a.id, "h:2", NULL, 0, &d2, &n2), 0);
	ck_assert_int_eq(n2, 1);
	ck_assert_str_eq(d2[0].name, "d0002.test.");
	ck_assert_int_eq(d2[0].batch, b0);
	record_unchanged(w2, a.id, "h:2", d2, 1);
	free_delegs(d2, n2);
	/* h:1 records batch 1 and gives back nothing: it is done */
	record_unchanged(w1, a.id, "h:1", d, n);
	free_delegs(d, n);
	ck_assert_int_eq(db_run_release(w1, a.id, "h:1", &rel), 0);
	ck_assert_int_eq(rel, 0);
	ck_assert_str_eq(sql("SELECT state FROM cdscan.run_batch"
			     " WHERE batch = 1"), "done");
	/* batch 2: claimed by h:2, recorded whole, then h:2 dies before
	   saying so; whoever takes it over finds nothing left: done, and
	   the claim goes on to the next (none) */
	ck_assert_int_eq(db_run_claim(w2, a.id, "h:2", &b0, 1, &d2, &n2), 0);
	ck_assert_int_eq(n2, 3);
	ck_assert_str_eq(sql("SELECT state FROM cdscan.run_batch"
			     " WHERE batch = 0"), "done");
	record_unchanged(w2, a.id, "h:2", d2, n2);
	free_delegs(d2, n2);
	sql("UPDATE cdscan.run_batch SET lease_until = now() - interval '1 s'"
	    " WHERE batch = 2");
	ck_assert_int_eq(db_run_claim(w1, a.id, "h:1", NULL, 0, &d, &n), 0);
	ck_assert_int_eq(n, 0);
	ck_assert_str_eq(sql("SELECT string_agg(state || ':' || claims, ','"
			     " ORDER BY batch) FROM cdscan.run_batch"),
			 "done:2,done:1,done:2");
	ck_assert_int_eq(db_run_progress(w1, a.id, &done, &claimed, &todo), 0);
	ck_assert_int_eq(done, 9);
	ck_assert_int_eq(claimed + todo, 0);
	ck_assert_int_eq(db_run_finish(w1, a.id, &fin), 0);
	ck_assert(fin);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM cdscan.scan"), 9);
	assert_counts_exact();
	db_close(w1);
	db_close(w2);
}
END_TEST

/* ---- recording ----------------------------------------------------------- */

START_TEST(record_batch_once)
{
	struct db *db = open_db();
	struct db_run_info a;
	struct db_delegation *d;
	struct fake f[3];
	struct db_result r[3];
	size_t n, nrec;
	int64_t done;

	add_domains(3);
	a = begin(db, "h:1", 60000);
	ck_assert_int_eq(db_run_claim(db, a.id, "h:1", NULL, 0, &d, &n), 0);
	ck_assert_int_eq(n, 3);
	for (size_t i = 0; i < n; i++) {
		fake_result(&f[i], &d[i], CDS_DEC_UNCHANGED,
			    i == 0 ? DS_A : NULL);
		r[i] = f[i].res;
	}
	ck_assert_int_eq(db_record_batch(db, a.id, "h:1", false, r, 3, &nrec),
			 0);
	ck_assert_int_eq(nrec, 3);
	/* written without ON CONFLICT, straight into the scan tables:
	   nothing was in the run */
	ck_assert_uint_eq(db->rec_retries, 0);
	ck_assert_uint_eq(db->rec_direct, 1);
	/* a second time: already done, nothing more; the plain INSERT met
	   scan_once_per_run, and the set was done again leaving them out */
	ck_assert_int_eq(db_record_batch(db, a.id, "h:1", false, r, 3, &nrec),
			 0);
	ck_assert_int_eq(nrec, 0);
	ck_assert_uint_eq(db->rec_retries, 1);
	ck_assert_uint_eq(db->rec_direct, 1);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM cdscan.scan"), 3);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM cdscan.scan_server"), 3);
	ck_assert_int_eq(db_run_progress(db, a.id, &done, NULL, NULL), 0);
	ck_assert_int_eq(done, 3);
	ck_assert_int_eq(sql_int("SELECT scanned FROM cdscan.worker"), 3);
	ck_assert_str_eq(sql("SELECT detail FROM cdscan.scan LIMIT 1"),
			 "test\tdetail \\ \"q\"");
	ck_assert_str_eq(sql("SELECT s.cds[1] || '|' || s.cds_sig || '|'"
			     " || s.soa_serial || '|' || c.current_ds::text"
			     " || '|' || c.verdict || '|' || c.reason"
			     " FROM cdscan.scan_server s JOIN cdscan.scan c"
			     " ON c.id = s.scan_id"
			     " WHERE c.domain = 'd0000.test.'"),
			 DS_A "|valid|2024010101|{\"" DS_A
			      "\"}|unchanged|no-cds");
	free_delegs(d, n);
	db_close(db);
}
END_TEST

/* A set of which one scan is in the run already (recorded meanwhile by
   the worker that took the batch over): the plain INSERT meets
   scan_once_per_run, and the set is written again without it; the
   others are recorded, and counted, once. */
START_TEST(record_batch_meets_a_recorded_scan)
{
	struct db *db = open_db();
	struct db_run_info a;
	struct db_delegation *d;
	struct fake f[3];
	struct db_result r[3];
	size_t n, nrec;

	add_domains(3);
	a = begin(db, "h:1", 60000);
	ck_assert_int_eq(db_run_claim(db, a.id, "h:1", NULL, 0, &d, &n), 0);
	ck_assert_int_eq(n, 3);
	record_unchanged(db, a.id, "h:1", &d[1], 1);
	ck_assert_uint_eq(db->rec_retries, 0);
	for (size_t i = 0; i < n; i++) {
		fake_result(&f[i], &d[i], CDS_DEC_UNCHANGED, DS_A);
		r[i] = f[i].res;
	}
	ck_assert_msg(db_record_batch(db, a.id, "h:1", false, r, 3, &nrec) == 0,
		      "%s", db_errmsg(db));
	ck_assert_int_eq(nrec, 2);
	ck_assert_uint_eq(db->rec_retries, 1);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM cdscan.scan"), 3);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM cdscan.scan_server"), 3);
	/* the scan that was there stands (no CDS), the others are new */
	ck_assert_str_eq(sql("SELECT string_agg(c.domain || ':' || s.cds_state,"
			     " ',' ORDER BY c.domain) FROM cdscan.scan_server s"
			     " JOIN cdscan.scan c ON c.id = s.scan_id"),
			 "d0000.test.:present,d0001.test.:nodata,"
			 "d0002.test.:present");
	ck_assert_int_eq(sql_int("SELECT recorded FROM cdscan.run_batch"), 3);
	ck_assert_int_eq(sql_int("SELECT scanned FROM cdscan.worker"), 3);
	assert_counts_exact();
	free_delegs(d, n);
	db_close(db);
}
END_TEST

/* The same delegation twice in one batch of results (a worker that took
   back its own lapsed batch holds two jobs for what it had not recorded):
   recorded once, with its server rows once. */
START_TEST(record_batch_same_twice)
{
	struct db *db = open_db();
	struct db_run_info a;
	struct db_delegation *d;
	struct fake f[3];
	struct db_result r[3];
	size_t n, nrec;

	add_domains(2);
	a = begin(db, "h:1", 60000);
	ck_assert_int_eq(db_run_claim(db, a.id, "h:1", NULL, 0, &d, &n), 0);
	ck_assert_int_eq(n, 2);
	fake_result(&f[0], &d[0], CDS_DEC_UNCHANGED, NULL);
	fake_result(&f[1], &d[1], CDS_DEC_UNCHANGED, NULL);
	fake_result(&f[2], &d[0], CDS_DEC_UNCHANGED, DS_A);
	for (size_t i = 0; i < 3; i++)
		r[i] = f[i].res;
	ck_assert_msg(db_record_batch(db, a.id, "h:1", false, r, 3, &nrec) == 0,
		      "%s", db_errmsg(db));
	ck_assert_int_eq(nrec, 2);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM cdscan.scan"), 2);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM cdscan.scan_server"), 2);
	/* the first of the two stands */
	ck_assert_str_eq(sql("SELECT cds_state FROM cdscan.scan_server s"
			     " JOIN cdscan.scan c ON c.id = s.scan_id"
			     " WHERE c.domain = 'd0000.test.'"), "nodata");
	ck_assert_int_eq(sql_int("SELECT recorded FROM cdscan.run_batch"), 2);
	assert_counts_exact();
	free_delegs(d, n);
	db_close(db);
}
END_TEST

/* A set spanning three batches of h:1, of which one was taken over by
   h:2 and one given back: only the batch h:1 still holds is recorded,
   and counted. */
START_TEST(record_batch_only_what_is_held)
{
	struct db *db = open_db();
	struct db_run_info a;
	struct db_delegation *d[3];
	struct fake f[6];
	struct db_result r[6];
	int64_t batch[3];
	size_t n, nrec;
	char q[640];

	add_domains(6);
	a = begin_b(db, "h:1", 60000, 2);
	for (size_t b = 0; b < 3; b++) {
		ck_assert_int_eq(db_run_claim(db, a.id, "h:1", NULL, 0, &d[b],
					      &n),
				 0);
		ck_assert_int_eq(n, 2);
		batch[b] = d[b][0].batch;
		for (size_t i = 0; i < 2; i++) {
			fake_result(&f[2 * b + i], &d[b][i], CDS_DEC_UNCHANGED,
				    NULL);
			r[2 * b + i] = f[2 * b + i].res;
		}
	}
	snprintf(q, sizeof q, "UPDATE cdscan.run_batch SET worker = 'h:2'"
		 " WHERE batch = %lld", (long long)batch[1]);
	sql(q);
	snprintf(q, sizeof q, "UPDATE cdscan.run_batch SET state = 'todo'"
		 " WHERE batch = %lld", (long long)batch[2]);
	sql(q);
	ck_assert_int_eq(db_record_batch(db, a.id, "h:1", false, r, 6, &nrec),
			 0);
	ck_assert_int_eq(nrec, 2);
	ck_assert_uint_eq(db->rec_direct, 1);
	snprintf(q, sizeof q, "SELECT count(*) FROM cdscan.scan s"
		 " JOIN cdscan.scan_server v ON v.scan_id = s.id"
		 " WHERE s.domain IN ('%s', '%s')", d[0][0].name,
		 d[0][1].name);
	ck_assert_int_eq(sql_int(q), 2);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM cdscan.scan"), 2);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM cdscan.scan_server"), 2);
	ck_assert_str_eq(sql("SELECT string_agg(recorded::text, ','"
			     " ORDER BY batch) FROM cdscan.run_batch"),
			 "2,0,0");
	ck_assert_int_eq(sql_int("SELECT scanned FROM cdscan.worker"
				 " WHERE worker = 'h:1'"),
			 2);
	for (size_t b = 0; b < 3; b++)
		free_delegs(d[b], 2);
	db_close(db);
}
END_TEST

/* A set is written straight into the scan tables with its times as
   timestamps, which say years 1 to 9999; a set with a time past that
   goes through the staging tables, which take it as a number. */
START_TEST(record_batch_times_past_9999)
{
	struct db *db = open_db();
	struct db_run_info a;
	struct db_delegation *d;
	struct fake f[4];
	struct db_result r[4];
	size_t n, nrec;

	add_domains(4);
	a = begin(db, "h:1", 60000);
	ck_assert_int_eq(db_run_claim(db, a.id, "h:1", NULL, 0, &d, &n), 0);
	ck_assert_int_eq(n, 4);
	for (size_t i = 0; i < n; i++) {
		fake_result(&f[i], &d[i], CDS_DEC_UNCHANGED, NULL);
		/* 9999-12-31 23:59:59 UTC, then a second later */
		f[i].res.time = i < 2 ? 253402300799 : 253402300800;
		r[i] = f[i].res;
	}
	ck_assert_int_eq(db_record_batch(db, a.id, "h:1", false, r, 2, &nrec),
			 0);
	ck_assert_int_eq(nrec, 2);
	ck_assert_uint_eq(db->rec_direct, 1);
	ck_assert_int_eq(db_record_batch(db, a.id, "h:1", false, r + 2, 2,
					 &nrec),
			 0);
	ck_assert_int_eq(nrec, 2);
	ck_assert_uint_eq(db->rec_direct, 1);
	ck_assert_str_eq(sql("SELECT string_agg(domain || ' ' ||"
			     " (extract(epoch FROM time)::bigint)::text, ','"
			     " ORDER BY domain) FROM cdscan.scan"),
			 "d0000.test. 253402300799,d0001.test. 253402300799,"
			 "d0002.test. 253402300800,d0003.test. 253402300800");
	ck_assert_int_eq(sql_int("SELECT count(*) FROM cdscan.scan_server"), 4);
	free_delegs(d, n);
	db_close(db);
}
END_TEST

/* History is read for the delegations whose decision it can change, in
   any order, a name possibly twice (two jobs of one worker for it):
   each gets its own, both copies of a name the same, each with a
   bootstrap DS set of its own (freed with it: ASan sees a shared one
   freed twice). Loaded again, nothing of the first load stays. */
START_TEST(history_load_unsorted_and_twice)
{
	struct db *db = open_db();
	struct db_delegation d[3] = {{.name = "d0001.test."},
				     {.name = "d0000.test."},
				     {.name = "d0001.test."}};
	struct db_delegation *p[3] = {&d[0], &d[1], &d[2]};

	add_domains(2);
	sql("INSERT INTO cdscan.audit (time, domain, actor, kind, before_ds,"
	    " after_ds) VALUES (to_timestamp(1700000000), 'd0001.test.',"
	    " 'scan', 'ds-update', '{}', '{}'), (to_timestamp(1600000000),"
	    " 'd0000.test.', 'import', 'ds-update', '{}', '{}')");
	sql("INSERT INTO cdscan.scan (domain, time, worker, verdict, reason,"
	    " queries, proposed_ds) VALUES ('d0001.test.',"
	    " to_timestamp(1700000100), 'h:1', 'pending', 'bootstrap-waiting',"
	    " 1, '{\"12345 13 2 0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef\"}')");
	for (int pass = 0; pass < 2; pass++) {
		ck_assert_msg(db_history_load(db, p, 3, 3) == 0, "%s",
			      db_errmsg(db));
		ck_assert_int_eq(d[0].hist.last_change, 1700000000);
		ck_assert_int_eq(d[2].hist.last_change, 1700000000);
		ck_assert_int_eq(d[1].hist.last_change, 0);
		ck_assert_int_eq(d[1].hist.last_change_other, 1600000000);
		ck_assert_int_eq(d[0].hist.last_change_other, 0);
		for (size_t i = 0; i < 3; i += 2) {
			ck_assert_int_eq(d[i].hist.boot_streak, 1);
			ck_assert_uint_eq(d[i].hist.n_boot_ds, 1);
			ck_assert_uint_eq(d[i].hist.boot_ds[0].keytag, 12345);
		}
		ck_assert_ptr_ne(d[0].hist.boot_ds, d[2].hist.boot_ds);
		ck_assert_int_eq(d[1].hist.boot_streak, 0);
		ck_assert_ptr_null(d[1].hist.boot_ds);
	}
	for (size_t i = 0; i < 3; i++)
		db_delegation_deinit(&d[i]);
	db_close(db);
}
END_TEST

/* policy.notify-rejected-after: the streak of rejected scans ending with
   the newest, dry runs left out, ties in time broken by id, counted up
   to the cap (all the policy asks), and not read with a cap of 0. */
START_TEST(history_rejected_streak_to_cap)
{
	struct db *db = open_db();
	struct db_delegation d[4] = {{.name = "d0000.test."},
				     {.name = "d0001.test."},
				     {.name = "d0002.test."},
				     {.name = "d0003.test."}};
	struct db_delegation *p[4] = {&d[0], &d[1], &d[2], &d[3]};
	static const unsigned want3[4] = {3, 2, 2, 1}, want9[4] = {5, 2, 2, 1};

	add_domains(4);
	/* in id order; (domain, second, verdict, dry run) */
	sql("INSERT INTO cdscan.scan (domain, time, worker, dry_run, verdict,"
	    " reason, queries) SELECT x.d || '.test.', to_timestamp("
	    "1700000000 + x.t), 'h:1', x.dry, x.v, 'x', 1 FROM (VALUES"
	    " (1, 'd0000', 1, false, 'rejected'),"
	    " (2, 'd0000', 2, false, 'rejected'),"
	    " (3, 'd0000', 3, false, 'rejected'),"
	    " (4, 'd0000', 4, false, 'rejected'),"
	    " (5, 'd0000', 5, false, 'rejected'),"
	    " (6, 'd0001', 1, false, 'unchanged'),"
	    " (7, 'd0001', 2, false, 'rejected'),"
	    " (8, 'd0001', 3, false, 'rejected'),"
	    " (9, 'd0002', 1, false, 'rejected'),"
	    " (10, 'd0002', 2, false, 'unchanged'),"
	    " (11, 'd0002', 3, false, 'rejected'),"
	    " (12, 'd0002', 4, true, 'unchanged'),"
	    " (13, 'd0002', 5, false, 'rejected'),"
	    " (14, 'd0003', 1, false, 'rejected'),"
	    " (15, 'd0003', 1, false, 'unchanged'),"
	    " (16, 'd0003', 2, false, 'rejected'))"
	    " AS x(o, d, t, dry, v) ORDER BY x.o");
	ck_assert_msg(db_history_load(db, p, 4, 3) == 0, "%s", db_errmsg(db));
	for (size_t i = 0; i < 4; i++)
		ck_assert_msg(d[i].hist.rejected_streak == want3[i],
			      "%s: cap 3: %u, expected %u", d[i].name,
			      d[i].hist.rejected_streak, want3[i]);
	ck_assert_msg(db_history_load(db, p, 4, 9) == 0, "%s", db_errmsg(db));
	for (size_t i = 0; i < 4; i++)
		ck_assert_msg(d[i].hist.rejected_streak == want9[i],
			      "%s: cap 9: %u, expected %u", d[i].name,
			      d[i].hist.rejected_streak, want9[i]);
	ck_assert_msg(db_history_load(db, p, 4, 0) == 0, "%s", db_errmsg(db));
	for (size_t i = 0; i < 4; i++)
		ck_assert_int_eq(d[i].hist.rejected_streak, 0);
	db_close(db);
}
END_TEST

/* What `cdscan prune` reads of a domain, as text: its history as policy
   loads it, and its status report. */
static char *pruned_view(struct db *db, const char *name)
{
	struct db_delegation d = {0};
	struct db_delegation *p = &d;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	snprintf(d.name, sizeof d.name, "%s", name);
	ck_assert_msg(db_history_load(db, &p, 1, 3) == 0, "%s", db_errmsg(db));
	fprintf(f, "last_change=%lld other=%lld inception=%lld rejected=%u "
		   "boot=%u since=%lld n_boot_ds=%zu\n",
		(long long)d.hist.last_change,
		(long long)d.hist.last_change_other,
		(long long)d.hist.last_change_inception,
		d.hist.rejected_streak, d.hist.boot_streak,
		(long long)d.hist.boot_since, d.hist.n_boot_ds);
	ck_assert_msg(db_report_status(db, name, false, f) == 0, "%s",
		      db_errmsg(db));
	fclose(f);
	db_delegation_deinit(&d);
	return buf;
}

/* `cdscan prune`: old scans go with their server rows; what status and
   policy read stays, and reads the same after: the newest scans (three
   not dry runs, policy.notify-rejected-after), a rejected streak whole
   with the scan that began it, a bootstrap-waiting streak across a dry
   run, scans of an unfinished run or of a run without stored counts,
   scans an audit row or an event names. A dry run deletes nothing; a
   second prune finds nothing. */
START_TEST(prune_keeps_what_is_read)
{
	static const char *const names[] = {"d0000.test.", "d0001.test.",
					    "d0002.test.", "d0003.test.",
					    "d0004.test.", "d0005.test."};
	struct db *db = open_db();
	struct db_prune_stats st;
	char *before[6];

	add_domains(6);
	sql("INSERT INTO cdscan.run (id, selection, dry_run, state, counts,"
	    " finished) VALUES"
	    " (1, 'all', false, 'done', '{}', to_timestamp(1700000050)),"
	    " (2, 'old', false, 'done', NULL, to_timestamp(1700000050)),"
	    " (3, 'all', false, 'running', NULL, NULL),"
	    " (4, 'new', false, 'done', '{}', to_timestamp(1700000200))");
	/* each run's work queue, two batches, and a tally: only run 1's
	   go (done, counted, finished before the cutoff) */
	sql("INSERT INTO cdscan.run_batch (run_id, batch, size, domains)"
	    " SELECT r, b, 1, '{d0000.test.}' FROM generate_series(1, 4) r,"
	    " generate_series(0, 1) b");
	sql("INSERT INTO cdscan.run_tally (run_id, verdict, reason, n,"
	    " queries, applied, requested, stale, last)"
	    " SELECT r, 'unchanged', 'no-cds', 1, 1, 0, 0, 0, now()"
	    " FROM generate_series(1, 4) r");
	/* (order, domain, second, dry run, verdict, reason, run) */
	sql("INSERT INTO cdscan.scan (domain, time, worker, dry_run, verdict,"
	    " reason, run_id, queries) SELECT x.d || '.test.', to_timestamp("
	    "1700000000 + x.t), 'h:1', x.dry, x.v, x.r, x.run, 1 FROM (VALUES"
	    /* steady: the three newest not dry runs, and the newest (dry) */
	    " (1, 'd0000', 0, true, 'unchanged', 'no-cds', NULL),"
	    " (2, 'd0000', 1, false, 'unchanged', 'no-cds', NULL),"
	    " (3, 'd0000', 2, false, 'unchanged', 'no-cds', NULL),"
	    " (4, 'd0000', 3, false, 'unchanged', 'no-cds', NULL),"
	    " (5, 'd0000', 4, false, 'unchanged', 'no-cds', NULL),"
	    " (6, 'd0000', 5, false, 'unchanged', 'no-cds', NULL),"
	    " (7, 'd0000', 6, false, 'unchanged', 'no-cds', NULL),"
	    " (8, 'd0000', 7, true, 'unchanged', 'no-cds', NULL),"
	    /* rejected for five scans: all five and the one before */
	    " (9, 'd0001', 1, false, 'unchanged', 'no-cds', NULL),"
	    " (10, 'd0001', 2, false, 'unchanged', 'same-as-current', NULL),"
	    " (11, 'd0001', 3, false, 'rejected', 'signature-invalid', NULL),"
	    " (12, 'd0001', 4, false, 'rejected', 'signature-invalid', NULL),"
	    " (13, 'd0001', 5, false, 'rejected', 'signature-invalid', NULL),"
	    " (14, 'd0001', 6, false, 'rejected', 'signature-invalid', NULL),"
	    " (15, 'd0001', 7, false, 'rejected', 'signature-invalid', NULL),"
	    /* waiting to bootstrap since second 3, a dry run between */
	    " (16, 'd0002', 1, false, 'pending', 'bootstrap-waiting', NULL),"
	    " (17, 'd0002', 2, false, 'unchanged', 'no-cds', NULL),"
	    " (18, 'd0002', 3, false, 'pending', 'bootstrap-waiting', NULL),"
	    " (19, 'd0002', 4, false, 'pending', 'bootstrap-waiting', NULL),"
	    " (20, 'd0002', 5, false, 'pending', 'bootstrap-waiting', NULL),"
	    " (21, 'd0002', 6, true, 'unchanged', 'no-cds', NULL),"
	    " (22, 'd0002', 7, false, 'pending', 'bootstrap-waiting', NULL),"
	    " (23, 'd0002', 8, false, 'pending', 'bootstrap-waiting', NULL),"
	    /* runs, an audit row and an event that hold old scans */
	    " (24, 'd0003', 1, false, 'unchanged', 'no-cds', 2),"
	    " (25, 'd0003', 2, false, 'unchanged', 'no-cds', 3),"
	    " (26, 'd0003', 3, false, 'update', 'update', NULL),"
	    " (27, 'd0003', 4, false, 'rejected', 'server-error', NULL),"
	    " (28, 'd0003', 5, false, 'unchanged', 'no-cds', 1),"
	    " (29, 'd0003', 6, false, 'unchanged', 'no-cds', NULL),"
	    " (30, 'd0003', 7, false, 'unchanged', 'no-cds', NULL),"
	    " (31, 'd0003', 8, false, 'unchanged', 'no-cds', NULL),"
	    /* all newer than the cutoff */
	    " (32, 'd0004', 200, false, 'unchanged', 'no-cds', NULL),"
	    " (33, 'd0004', 201, false, 'unchanged', 'no-cds', NULL),"
	    " (34, 'd0004', 202, false, 'unchanged', 'no-cds', NULL),"
	    " (35, 'd0004', 203, false, 'unchanged', 'no-cds', NULL),"
	    /* held by a change request, a CSYNC change, an EPP command */
	    " (36, 'd0005', 1, false, 'update', 'update', NULL),"
	    " (37, 'd0005', 2, false, 'unchanged', 'no-cds', NULL),"
	    " (38, 'd0005', 3, false, 'update', 'update', NULL),"
	    " (39, 'd0005', 4, false, 'unchanged', 'no-cds', NULL),"
	    " (40, 'd0005', 5, false, 'unchanged', 'no-cds', NULL),"
	    " (41, 'd0005', 6, false, 'unchanged', 'no-cds', NULL),"
	    " (42, 'd0005', 7, false, 'unchanged', 'no-cds', NULL))"
	    " AS x(o, d, t, dry, v, r, run) ORDER BY x.o");
	sql("INSERT INTO cdscan.scan_server (scan_id, seq, ns_name)"
	    " SELECT s.id, g, 'ns' || g || '.' || s.domain"
	    " FROM cdscan.scan s, generate_series(1, 2) g");
	sql("INSERT INTO cdscan.audit (time, domain, actor, kind, before_ds,"
	    " after_ds, scan_id) SELECT to_timestamp(1700000003), domain,"
	    " 'scan', 'ds-update', '{}', '{}', id FROM cdscan.scan"
	    " WHERE domain = 'd0003.test.' AND reason = 'update'");
	/* the event the audit row made, gone (delivered and cleaned up):
	   the audit row alone holds its scan */
	sql("DELETE FROM cdscan.event WHERE kind = 'ds-update'");
	sql("INSERT INTO cdscan.change_request (domain, kind, before_ds,"
	    " after_ds, scan_id) SELECT domain, 'ds-update', '{}', '{}', id"
	    " FROM cdscan.scan WHERE domain = 'd0005.test.'"
	    " AND time = to_timestamp(1700000001)");
	sql("INSERT INTO cdscan.csync_change (domain, serial, flags,"
	    " before_ns, after_ns, before_glue, after_glue, state, scan_id)"
	    " SELECT domain, 7, 1, '{}', '{}', '{}', '{}', 'rejected', id"
	    " FROM cdscan.scan WHERE domain = 'd0005.test.'"
	    " AND time = to_timestamp(1700000002)");
	sql("INSERT INTO cdscan.epp_outbox (domain, kind, before_ds,"
	    " after_ds, scan_id) SELECT domain, 'ds-update', '{}', '{}', id"
	    " FROM cdscan.scan WHERE domain = 'd0005.test.'"
	    " AND time = to_timestamp(1700000003)");
	sql("INSERT INTO cdscan.event (time, domain, kind, scan_id,"
	    " next_attempt) SELECT time, domain, 'rejected', id, time"
	    " FROM cdscan.scan WHERE domain = 'd0003.test.'"
	    " AND reason = 'server-error'");
	for (size_t i = 0; i < 6; i++)
		before[i] = pruned_view(db, names[i]);
	ck_assert_msg(strstr(before[1], "rejected=3 ") != NULL, "%s",
		      before[1]);
	ck_assert_msg(strstr(before[2], "boot=5 since=1700000003 ") != NULL,
		      "%s", before[2]);

	/* cutoff: second 100 */
	ck_assert_msg(db_prune_scans(db, 1700000100, 3, true, &st) == 0, "%s",
		      db_errmsg(db));
	ck_assert_int_eq(st.domains, 6);
	ck_assert_int_eq(st.scans, 8);
	ck_assert_int_eq(st.servers, 16);
	ck_assert_int_eq(st.deleted, 0);
	ck_assert_int_eq(st.runs, 1);
	ck_assert_int_eq(st.batches, 2);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM cdscan.scan"), 42);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM cdscan.run_batch"), 8);

	ck_assert_msg(db_prune_scans(db, 1700000100, 3, false, &st) == 0,
		      "%s", db_errmsg(db));
	ck_assert_int_eq(st.scans, 8);
	ck_assert_int_eq(st.deleted, 8);
	ck_assert_int_eq(st.runs, 1);
	ck_assert_str_eq(sql("SELECT (SELECT string_agg(DISTINCT run_id::text,"
			     " ' ') FROM cdscan.run_batch) || '/' ||"
			     " (SELECT string_agg(run_id::text, ' ' ORDER BY"
			     " run_id) FROM cdscan.run_tally) || '/' ||"
			     " (SELECT count(*) FROM cdscan.run)"),
			 "2 3 4/2 3 4/4");
	ck_assert_str_eq(sql("SELECT string_agg(split_part(domain, '.', 1)"
			     " || '@' || (extract(epoch FROM time)"
			     " - 1700000000)::int, ' ' ORDER BY id)"
			     " FROM cdscan.scan WHERE time < to_timestamp("
			     "1700000100)"),
			 "d0000@4 d0000@5 d0000@6 d0000@7 "
			 "d0001@2 d0001@3 d0001@4 d0001@5 d0001@6 d0001@7 "
			 "d0002@2 d0002@3 d0002@4 d0002@5 d0002@6 d0002@7 "
			 "d0002@8 "
			 "d0003@1 d0003@2 d0003@3 d0003@4 d0003@6 d0003@7 "
			 "d0003@8 d0005@1 d0005@2 d0005@3 d0005@5 d0005@6 "
			 "d0005@7");
	ck_assert_int_eq(sql_int("SELECT count(*) FROM cdscan.scan_server"),
			 2 * sql_int("SELECT count(*) FROM cdscan.scan"));
	ck_assert_int_eq(sql_int("SELECT count(*) FROM cdscan.scan_server v"
				 " WHERE NOT EXISTS (SELECT 1 FROM"
				 " cdscan.scan s WHERE s.id = v.scan_id)"),
			 0);
	for (size_t i = 0; i < 6; i++) {
		char *after = pruned_view(db, names[i]);

		ck_assert_msg(strcmp(before[i], after) == 0,
			      "%s changed:\n%s\n---\n%s", names[i], before[i],
			      after);
		free(after);
		free(before[i]);
	}
	ck_assert_msg(db_prune_scans(db, 1700000100, 3, false, &st) == 0,
		      "%s", db_errmsg(db));
	ck_assert_int_eq(st.deleted, 0);
	ck_assert_int_eq(st.runs, 0);
	db_close(db);
}
END_TEST

/* Schema 11: the scan records carry no foreign keys (checked per row
   written), but deleting keeps what the keys did: a scan's server rows
   go with it; a run's scans stay with run_id NULL and its items go. */
START_TEST(record_delete_like_keys)
{
	struct db *db = open_db();
	struct db_run_info a;
	struct db_delegation *d;
	size_t n;

	add_domains(3);
	a = begin(db, "h:1", 60000);
	ck_assert_int_eq(db_run_claim(db, a.id, "h:1", NULL, 0, &d, &n), 0);
	ck_assert_int_eq(n, 3);
	record_unchanged(db, a.id, "h:1", d, n);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM pg_constraint"
				 " WHERE contype = 'f' AND conrelid IN"
				 " ('cdscan.scan'::regclass,"
				 "  'cdscan.scan_server'::regclass)"),
			 0);
	sql("DELETE FROM cdscan.scan WHERE domain = 'd0001.test.'");
	ck_assert_int_eq(sql_int("SELECT count(*) FROM cdscan.scan_server"), 2);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM cdscan.scan_server s"
				 " LEFT JOIN cdscan.scan c ON c.id = s.scan_id"
				 " WHERE c.id IS NULL"),
			 0);
	ck_assert_int_gt(sql_int("SELECT count(*) FROM cdscan.run_tally"), 0);
	sql("DELETE FROM cdscan.run");
	ck_assert_int_eq(sql_int("SELECT count(*) FROM cdscan.scan"
				 " WHERE run_id IS NULL"),
			 2);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM cdscan.run_batch"), 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM cdscan.run_tally"), 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM cdscan.worker"), 0);
	free_delegs(d, n);
	db_close(db);
}
END_TEST

/* Claim the one delegation `name` of a fresh run as h:1. */
static struct db_delegation *claim_one(struct db *db, int64_t *run)
{
	struct db_run_info a = begin(db, "h:1", 60000);
	struct db_delegation *d;
	size_t n;

	ck_assert_int_eq(db_run_claim(db, a.id, "h:1", NULL, 0, &d, &n), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(d->name, "d0000.test.");
	*run = a.id;
	return d;
}

START_TEST(record_change_applies)
{
	struct db *db = open_db();
	struct db_delegation *d;
	enum db_outcome out;
	struct fake f;
	int64_t run;

	add_domains(1);
	d = claim_one(db, &run);
	fake_result(&f, d, CDS_DEC_UPDATE, DS_B);
	ck_assert_int_eq(db_record_change(db, run, "h:1", DB_SINK_TABLES,
					  &f.res, &out), 0);
	ck_assert_int_eq(out, DB_OUT_APPLIED);
	ck_assert_str_eq(sql("SELECT ds::text FROM cdscan.delegation"),
			 "{\"" DS_B "\"}");
	ck_assert_str_eq(sql("SELECT before_ds::text || '|' || after_ds::text"
			     " || '|' || actor || '|' || kind"
			     " || '|' || (evidence->>'reason')"
			     " || '|' || (evidence->'servers'->0->'cds'->>0)"
			     " || '|' || (evidence->'servers'->0->'cds_rrset'"
			     "            ->>'key_tag')"
			     " || '|' || (a.scan_id = s.id)::text"
			     " FROM cdscan.audit a, cdscan.scan s"),
			 "{\"" DS_A "\"}|{\"" DS_B "\"}|scan|ds-update|update|"
			 DS_B "|11111|true");
	ck_assert_str_eq(sql("SELECT outcome FROM cdscan.scan"), "applied");
	/* counted by the change transaction, with the worker's count */
	ck_assert_int_eq(sql_int("SELECT recorded FROM cdscan.run_batch"), 1);
	ck_assert_int_eq(sql_int("SELECT scanned FROM cdscan.worker"), 1);
	free_delegs(d, 1);
	db_close(db);
}
END_TEST

/* A change transaction hands its one result over as JSON, a batch as
   COPY: the rows they write hold the same, to the escapes and NULLs. */
START_TEST(record_change_rows_as_a_batch_writes_them)
{
	struct db *db = open_db();
	struct db_run_info a;
	struct db_delegation *d;
	struct fake f[3];
	struct db_result r[2];
	enum db_outcome out;
	size_t n, nrec;

	add_domains(3);
	a = begin(db, "h:1", 60000);
	ck_assert_int_eq(db_run_claim(db, a.id, "h:1", NULL, 0, &d, &n), 0);
	ck_assert_int_eq(n, 3);
	fake_result(&f[0], &d[0], CDS_DEC_UPDATE, DS_B);
	fake_result(&f[1], &d[1], CDS_DEC_UNCHANGED, DS_B);
	fake_result(&f[2], &d[2], CDS_DEC_UNCHANGED, DS_B);
	for (size_t i = 0; i < 3; i++) {
		fake_csync(&f[i]);
		f[i].dec.boot_scan = 2;
		f[i].dec.boot_needed = 3;
		f[i].dec.boot_eligible = 1700086399;
	}
	ck_assert_msg(db_record_change(db, a.id, "h:1", DB_SINK_TABLES,
				       &f[0].res, &out) == 0,
		      "%s", db_errmsg(db));
	ck_assert_int_eq(out, DB_OUT_APPLIED);
	r[0] = f[1].res;
	r[1] = f[2].res;
	ck_assert_int_eq(db_record_batch(db, a.id, "h:1", false, r, 2, &nrec),
			 0);
	ck_assert_int_eq(nrec, 2);
	ck_assert_uint_eq(db->rec_direct, 1);
	ck_assert_str_eq(sql("SELECT detail FROM cdscan.scan"
			     " WHERE domain = 'd0000.test.'"),
			 "test\tdetail \\ \"q\"");
	ck_assert_int_eq(sql_int("SELECT count(*) FROM cdscan.scan"
				 " WHERE time = to_timestamp(1700000000)"
				 " AND boot_eligible = to_timestamp(1700086399)"
				 " AND worker = 'h:1' AND NOT dry_run"),
			 3);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM cdscan.scan_server"), 3);
	ck_assert_int_eq(sql_int(
		"SELECT count(DISTINCT (v.seq, v.ns_name = 'ns1.' || s.domain,"
		" v.addr, v.transport, v.error, v.soa_serial, v.dnskey_state,"
		" v.dnskey_proven, v.cds_state, v.cds_sig, v.cds,"
		" v.cdnskey_state, v.cdnskey_sig, v.cdnskey, v.csync_state,"
		" v.csync_sig, v.csync_serial, v.csync_flags, v.csync_types,"
		" v.csync_ns, s.time, s.detail, s.queries,"
		" s.csync_verdict, s.csync_reason, s.csync_detail,"
		" s.csync_outcome, s.boot_scan, s.boot_needed,"
		" s.boot_eligible, s.worker, s.dry_run, s.run_id))"
		" FROM cdscan.scan s JOIN cdscan.scan_server v"
		" ON v.scan_id = s.id"), 1);
	ck_assert_str_eq(sql("SELECT DISTINCT csync_state || '|' || csync_sig"
			     " || '|' || csync_serial || '|' || csync_flags"
			     " || '|' || csync_types::text || '|'"
			     " || csync_ns::text FROM cdscan.scan_server"),
			 "present|valid|7|3|{2,28}|{ns1.x.test.,ns2.x.test.}");
	/* and what differs, differs as it should */
	ck_assert_str_eq(sql("SELECT string_agg(verdict || '/' ||"
			     " coalesce(outcome, '-') || '/' ||"
			     " current_ds::text || '/' ||"
			     " coalesce(proposed_ds::text, '-') || '/' ||"
			     " (error IS NULL)::text || '/' ||"
			     " (csync_state IS NULL)::text || '/' ||"
			     " cdnskey::text, ' ' ORDER BY s.domain)"
			     " FROM cdscan.scan s JOIN cdscan.scan_server v"
			     " ON v.scan_id = s.id"),
			 "update/applied/{\"" DS_A "\"}/{\"" DS_B
			 "\"}/true/false/{}"
			 " unchanged/-/{}/{}/true/false/{}"
			 " unchanged/-/{}/{}/true/false/{}");
	free_delegs(d, n);
	db_close(db);
}
END_TEST

START_TEST(record_change_delete)
{
	struct db *db = open_db();
	struct db_delegation *d;
	enum db_outcome out;
	struct fake f;
	int64_t run;

	add_domains(1);
	d = claim_one(db, &run);
	fake_result(&f, d, CDS_DEC_DELETE, "0 0 0 00");
	ck_assert_int_eq(db_record_change(db, run, "h:1", DB_SINK_TABLES,
					  &f.res, &out), 0);
	ck_assert_int_eq(out, DB_OUT_APPLIED);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM registry.ds"), 0);
	ck_assert_str_eq(sql("SELECT kind || after_ds::text FROM cdscan.audit"),
			 "ds-delete{}");
	assert_counts_exact();
	free_delegs(d, 1);
	db_close(db);
}
END_TEST

START_TEST(record_change_stale)
{
	struct db *db = open_db();
	struct db_delegation *d;
	enum db_outcome out;
	struct fake f;
	int64_t run;

	add_domains(1);
	d = claim_one(db, &run);
	/* the registrar changed the DS while we scanned */
	sql("UPDATE registry.ds SET keytag = 33333");
	fake_result(&f, d, CDS_DEC_UPDATE, DS_B);
	ck_assert_int_eq(db_record_change(db, run, "h:1", DB_SINK_TABLES,
					  &f.res, &out), 0);
	ck_assert_int_eq(out, DB_OUT_STALE);
	ck_assert_int_eq(sql_int("SELECT keytag FROM registry.ds"), 33333);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM registry.ds"), 1);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM cdscan.audit"), 0);
	ck_assert_str_eq(sql("SELECT outcome FROM cdscan.scan"), "stale");
	assert_counts_exact();
	free_delegs(d, 1);
	db_close(db);
}
END_TEST

START_TEST(record_change_requests)
{
	struct db *db = open_db();
	struct db_delegation *d;
	enum db_outcome out;
	struct fake f;
	int64_t run;

	add_domains(1);
	d = claim_one(db, &run);
	fake_result(&f, d, CDS_DEC_UPDATE, DS_B);
	ck_assert_int_eq(db_record_change(db, run, "h:1", DB_SINK_REQUESTS,
					  &f.res, &out), 0);
	ck_assert_int_eq(out, DB_OUT_REQUESTED);
	/* the registry's own tables are left to the registry */
	ck_assert_str_eq(sql("SELECT ds::text FROM cdscan.delegation"),
			 "{\"" DS_A "\"}");
	ck_assert_str_eq(sql("SELECT kind || before_ds::text || after_ds::text"
			     " || state || (scan_id = (SELECT id FROM"
			     " cdscan.scan))::text FROM cdscan.change_request"),
			 "ds-update{\"" DS_A "\"}{\"" DS_B "\"}newtrue");
	ck_assert_str_eq(sql("SELECT outcome FROM cdscan.scan"), "requested");
	assert_counts_exact();
	free_delegs(d, 1);
	db_close(db);
}
END_TEST

START_TEST(record_change_lost)
{
	struct db *db = open_db();
	struct db_delegation *d;
	enum db_outcome out;
	struct fake f;
	int64_t run;

	add_domains(1);
	d = claim_one(db, &run);
	sql("UPDATE cdscan.run_batch SET worker = 'h:2'"); /* taken over */
	fake_result(&f, d, CDS_DEC_UPDATE, DS_B);
	ck_assert_int_eq(db_record_change(db, run, "h:1", DB_SINK_TABLES,
					  &f.res, &out), 0);
	ck_assert_int_eq(out, DB_OUT_LOST);
	ck_assert_str_eq(sql("SELECT ds::text FROM cdscan.delegation"),
			 "{\"" DS_A "\"}");
	ck_assert_int_eq(sql_int("SELECT count(*) FROM cdscan.scan"), 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM cdscan.audit"), 0);
	ck_assert_int_eq(sql_int("SELECT recorded FROM cdscan.run_batch"), 0);
	free_delegs(d, 1);
	db_close(db);
}
END_TEST

struct change_arg {
	struct db *db;
	int64_t run;
	struct db_result *res;
	enum db_outcome out;
	int ret;
};

static void *change_thread(void *p)
{
	struct change_arg *a = p;

	a->ret = db_record_change(a->db, a->run, "h:1", DB_SINK_TABLES, a->res,
				  &a->out);
	return NULL;
}

/* The connection is killed after the DS set was replaced and the scan
   written, while the audit row is being inserted: nothing is kept. */
START_TEST(record_change_killed_midway)
{
	struct db *db = open_db();
	struct change_arg a = {.db = db};
	struct fake f;
	pthread_t t;
	long killed = 0;

	add_domains(1);
	/* a slow audit insert, so that there is a "midway" to kill in */
	sql("CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS"
	    " $$ BEGIN PERFORM pg_sleep(30); RETURN NEW; END $$;"
	    "CREATE TRIGGER slow BEFORE INSERT ON cdscan.audit"
	    " FOR EACH ROW EXECUTE FUNCTION slow()");
	struct db_delegation *d = claim_one(db, &a.run);

	fake_result(&f, d, CDS_DEC_UPDATE, DS_B);
	a.res = &f.res;
	pthread_create(&t, NULL, change_thread, &a);
	for (int i = 0; i < 200 && !killed; i++) {
		usleep(50000);
		killed = sql_int("SELECT count(pg_terminate_backend(pid))"
				 " FROM pg_stat_activity"
				 " WHERE wait_event = 'PgSleep'"
				 " AND datname = current_database()");
	}
	pthread_join(t, NULL);
	ck_assert_int_eq(killed, 1);
	ck_assert_int_eq(a.ret, CDS_EDB);
	ck_assert_int_eq(a.out, DB_OUT_NONE);
	ck_assert_msg(strstr(db_errmsg(db), "terminat") != NULL, "%s",
		      db_errmsg(db));
	ck_assert_str_eq(sql("SELECT ds::text FROM cdscan.delegation"),
			 "{\"" DS_A "\"}");
	ck_assert_int_eq(sql_int("SELECT count(*) FROM cdscan.scan"), 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM cdscan.scan_server"), 0);
	ck_assert_str_eq(sql("SELECT state FROM cdscan.run_batch"), "claimed");
	free_delegs(d, 1);
	db_close(db);
}
END_TEST

/* ---- speed --------------------------------------------------------------- */

/* One run of every delegation by h:1 in batches of 500, recording each
   batch whole and saying so with the next claim, as a worker does. */
static void speed_run(struct db *db, struct fake *f, struct db_result *r,
		      size_t nd, const char *what)
{
	struct db_run_info a = begin_b(db, "h:1", 60000, 500);
	struct db_delegation *d;
	size_t n, nrec, total = 0, n_done = 0;
	struct timespec t0, t1, c0, c1;
	double secs, rec = 0, claim = 0;
	int64_t done = -1;
	bool fin;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &c0);
		ck_assert_int_eq(db_run_claim(db, a.id, "h:1", &done, n_done,
					      &d, &n), 0);
		clock_gettime(CLOCK_MONOTONIC, &c1);
		claim += (double)(c1.tv_sec - c0.tv_sec) +
			 (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
		if (n == 0)
			break;
		for (size_t i = 0; i < n; i++) {
			fake_result(&f[i], &d[i], CDS_DEC_UNCHANGED, DS_A);
			r[i] = f[i].res;
		}
		clock_gettime(CLOCK_MONOTONIC, &c0);
		ck_assert_int_eq(db_record_batch(db, a.id, "h:1", false, r, n,
						 &nrec), 0);
		clock_gettime(CLOCK_MONOTONIC, &c1);
		rec += (double)(c1.tv_sec - c0.tv_sec) +
		       (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
		ck_assert_int_eq(nrec, n);
		total += n;
		done = d[0].batch;
		n_done = 1;
		free_delegs(d, n);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("db: %s: %zu delegations claimed and recorded in %.2f s "
	       "(%.0f/s): claiming %.2f s, recording %.2f s\n", what, total,
	       secs, (double)total / secs, claim, rec);
	ck_assert_int_eq(total, nd);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM cdscan.run_batch"
				 " WHERE state <> 'done'"), 0);
	ck_assert_int_eq(db_run_finish(db, a.id, &fin), 0);
	ck_assert(fin);
	ck_assert_msg(secs < (double)nd / 2000.0, "%s: %.2f s", what, secs);
}

/* 20k delegations recorded in batches of 500 (the figure for 100k is in
   the report of the commit that added this; here a generous bound that
   still catches a per-row round trip or a full scan per batch), twice:
   the second run after cdscan.scan was analysed with the first run's
   scans only, as a nightly run finds it, so that a plan made for a run
   the statistics do not know (one scan) shows (docs/BENCH.md). */
START_TEST(record_speed)
{
	struct db *db = open_db();
	struct fake *f = calloc(500, sizeof *f);
	struct db_result r[500];
	int nd = getenv("DB_BENCH_N") ? atoi(getenv("DB_BENCH_N")) : 20000;

	add_domains(nd);
	speed_run(db, f, r, (size_t)nd, "first run");
	sql("ANALYZE cdscan.scan");
	speed_run(db, f, r, (size_t)nd, "next run");
	free(f);
	db_close(db);
}
END_TEST

static Suite *db_suite(void)
{
	Suite *s = suite_create("db");
	TCase *tc;

	tc = tcase_create("migrate");
	tcase_add_test(tc, migrate_twice);
	tcase_add_test(tc, migrate_runs_into_batches);
	suite_add_tcase(s, tc);

	tc = tcase_create("runs");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, run_begin_join);
	tcase_add_test(tc, run_of_many_names);
	tcase_add_test(tc, run_three_workers_one_run);
	tcase_add_test(tc, claim_reads_delegation);
	tcase_add_test(tc, claim_reads_shared_glue);
	tcase_add_test(tc, claims_never_overlap);
	tcase_add_test(tc, lease_lapse_renew_release);
	tcase_add_test(tc, claim_batch_leaves_out_recorded);
	suite_add_tcase(s, tc);

	tc = tcase_create("record");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, scan_names_bytewise);
	tcase_add_test(tc, scan_names_meet_another_collation);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, record_batch_once);
	tcase_add_test(tc, record_batch_meets_a_recorded_scan);
	tcase_add_test(tc, record_batch_same_twice);
	tcase_add_test(tc, history_load_unsorted_and_twice);
	tcase_add_test(tc, history_rejected_streak_to_cap);
	tcase_add_test(tc, prune_keeps_what_is_read);
	tcase_add_test(tc, record_batch_times_past_9999);
	tcase_add_test(tc, record_batch_only_what_is_held);
	tcase_add_test(tc, record_delete_like_keys);
	tcase_add_test(tc, record_change_applies);
	tcase_add_test(tc, record_change_rows_as_a_batch_writes_them);
	tcase_add_test(tc, record_change_delete);
	tcase_add_test(tc, record_change_stale);
	tcase_add_test(tc, record_change_requests);
	tcase_add_test(tc, record_change_lost);
	tcase_add_test(tc, record_change_killed_midway);
	tcase_add_test(tc, record_speed);
	suite_add_tcase(s, tc);
	return s;
}

/* The cluster for the whole suite, and the migrated template every
   test copies. */
static int pg_up(void)
{
	char cmd[512];
	struct db *db = NULL;
	char err[512];
	int from, to;

	snprintf(pgdir, sizeof pgdir, "/tmp/cdscan-test-db.XXXXXX");
	if (!mkdtemp(pgdir))
		return -1;
	snprintf(cmd, sizeof cmd, "sh -c '. tests/pg.sh && pg_start %s'",
		 pgdir);
	if (system(cmd) != 0)
		return -1;
	setenv("PGHOST", pgdir, 1);
	setenv("PGUSER", "postgres", 1);
	setenv("PGDATABASE", "cdscan", 1);
	unsetenv("PGPORT");
	if (admin_raw("CREATE DATABASE cdscan_tmpl") != 0)
		return -1;
	if (db_open("dbname=cdscan_tmpl", &db, err, sizeof err) != 0 ||
	    db_migrate(db, &from, &to) != 0) {
		fprintf(stderr, "test_db: %s\n", db ? db_errmsg(db) : err);
		db_close(db);
		return -1;
	}
	db_close(db);
	return 0;
}

static void pg_down(void)
{
	char cmd[512];

	snprintf(cmd, sizeof cmd,
		 "sh -c '. tests/pg.sh && pg_stop %s'; rm -rf %s", pgdir,
		 pgdir);
	if (system(cmd) != 0)
		fprintf(stderr, "test_db: could not stop %s\n", pgdir);
}

int main(void)
{
	SRunner *sr;
	int failed;

	if (geteuid() != 0) {
		fprintf(stderr, "test_db: needs root (initdb as postgres)\n");
		return 1;
	}
	if (pg_up() != 0) {
		pg_down();
		return 1;
	}
	sr = srunner_create(db_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	pg_down();
	return failed ? 1 : 0;
}
