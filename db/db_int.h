/*
 * Inside db/: the connection handle and the helpers every db source file
 * uses. Not for other modules.
 */
#ifndef CDS_DB_INT_H
#define CDS_DB_INT_H

#include <libpq-fe.h>

#include "db/db.h"

/*
 * The statements of a change transaction (db_record_change), one per
 * accepted change: prepared once per connection (db_exec_prepared), so
 * that PostgreSQL parses and plans each once, not thousands of times a
 * run (docs/BENCH.md: 3.4 s of planning in a first scan of 100k). Their
 * parameters are single keys, for which the generic plan is the custom
 * one. The withdrawn-CSYNC update, the worker's and batches' counts and
 * the held batches with the scans' ids (record.c) also run once per
 * batch, with the same plan whatever the batch holds. The other
 * statements of a batch are not prepared: planning them is a small part
 * of what they cost, and their plans depend on how many names a batch
 * carries.
 */
enum db_stmt {
	DB_ST_CLAIM_HELD,
	DB_ST_APPLY_DS,
	DB_ST_AUDIT,
	DB_ST_REC_APPLY_ONE,
	DB_ST_WITHDRAWN,
	DB_ST_COUNT_WORKER,
	DB_ST_COUNT_BATCHES,
	DB_ST_REC_DIRECT,
	DB_STMT__COUNT
};

struct db {
	PGconn *conn;
	char *conninfo; /* as given to db_open: db_pool_new opens more */
	char err[1024];
	/* SQLSTATE of the last statement that failed, "" if it gave none */
	char sqlstate[6];
	/* Batches recorded a second time, leaving out scans already in the
	   run (db/record.c): a count for the tests. */
	unsigned long rec_retries;
	/* Sets of results written straight into the scan tables, without
	   the staging tables (db/record.c): a count for the tests. */
	unsigned long rec_direct;
	/* The lease of db_run_begin, used by db_run_claim (ms). */
	int64_t lease_ms;
	/* The temporary tables of db/record.c exist on this connection. */
	bool rec_ready;
	/* Which of enum db_stmt are prepared on this connection. */
	bool prepared[DB_STMT__COUNT];
};

/* Advisory lock keys (pg_advisory_lock(DB_LOCK_NS, n)): "cdsc". */
#define DB_LOCK_NS 0x63647363
#define DB_LOCK_MIGRATE 1
#define DB_LOCK_RUN 2

/*
 * What the scans of run `run` (an SQL expression) came to, as the jsonb
 * of cdscan.run.counts (schema 15): {"reasons": [[verdict, reason, scans,
 * queries, applied, requested, stale, newest time as epoch seconds],
 * ...]}. Written when the run finishes; taken from the scans for a run
 * still going, or one finished before schema 15.
 */
#define DB_SQL_RUN_COUNTS(run)                                               \
	"(SELECT jsonb_build_object('reasons', coalesce(jsonb_agg("          \
	"  jsonb_build_array(g.verdict, g.reason, g.n, g.queries,"           \
	"  g.applied, g.requested, g.stale, g.last)), '[]'))"                \
	" FROM (SELECT verdict, reason, count(*) AS n,"                      \
	"  coalesce(sum(queries), 0) AS queries,"                            \
	"  count(*) FILTER (WHERE outcome = 'applied') AS applied,"          \
	"  count(*) FILTER (WHERE outcome = 'requested') AS requested,"      \
	"  count(*) FILTER (WHERE outcome = 'stale') AS stale,"              \
	"  extract(epoch FROM max(time)) AS last"                            \
	"  FROM cdscan.scan WHERE run_id = " run                            \
	"  GROUP BY verdict, reason) g)"

/*
 * DB_SQL_RUN_COUNTS from the run's tallies (cdscan.run_tally, schema 16:
 * a few rows per batch, written with the scans), when they add up to
 * what its batches count as recorded; from its scans otherwise (a run
 * begun before schema 16).
 */
#define DB_SQL_RUN_COUNTS_TALLIED(run)                                       \
	"(CASE WHEN (SELECT coalesce(sum(b.recorded), 0)"                    \
	"  FROM cdscan.run_batch b WHERE b.run_id = " run ")"              \
	"  = (SELECT coalesce(sum(t.n), 0) FROM cdscan.run_tally t"          \
	"  WHERE t.run_id = " run ")"                                      \
	" THEN (SELECT jsonb_build_object('reasons', coalesce(jsonb_agg("    \
	"  jsonb_build_array(g.verdict, g.reason, g.n, g.queries,"           \
	"  g.applied, g.requested, g.stale, g.last)), '[]'))"                \
	"  FROM (SELECT verdict, reason, sum(n) AS n,"                       \
	"  sum(queries) AS queries, sum(applied) AS applied,"                \
	"  sum(requested) AS requested, sum(stale) AS stale,"                \
	"  extract(epoch FROM max(last)) AS last"                            \
	"  FROM cdscan.run_tally WHERE run_id = " run                       \
	"  GROUP BY verdict, reason) g)"                                     \
	" ELSE " DB_SQL_RUN_COUNTS(run) " END)"

/* The counts of run `r` (an alias of cdscan.run), stored or taken. */
#define DB_SQL_RUN_COUNTS_OF(r)                                              \
	"coalesce(" r ".counts, " DB_SQL_RUN_COUNTS(r ".id") ")"

/* Remember why the last call failed: `what` plus libpq's message. Returns
   CDS_EDB so callers can `return db_fail(db, "...")`. */
int db_fail(struct db *db, const char *what);

/*
 * Run one statement with text parameters (NULL entries are SQL NULL).
 * Returns the result when its status is COMMAND_OK or TUPLES_OK (caller
 * PQclear()s it), else NULL with db->err set.
 */
PGresult *db_exec(struct db *db, const char *sql, int n, const char *const *params);

/*
 * db_exec for the statement `st`, whose text is always `sql`: prepared on
 * this connection the first time (a prepared statement outlives a
 * rollback), executed by name after that.
 */
PGresult *db_exec_prepared(struct db *db, enum db_stmt st, const char *sql,
			   int n, const char *const *params);

/* Run statements without results (BEGIN, COMMIT, ...). 0 or CDS_EDB. */
int db_cmd(struct db *db, const char *sql);

/* ROLLBACK, keeping the error that made it necessary. */
void db_rollback(struct db *db);

/*
 * Rows in COPY's text format, built in memory for db_copy_in(): a buffer
 * that doubles as it fills. A failed allocation sticks (oom) and is
 * looked at once, when the rows are sent. Zeroed to start; free(s).
 */
struct db_copybuf {
	char *s;
	size_t len, cap;
	bool oom;
};

void db_copy_put(struct db_copybuf *b, const char *s, size_t n);

static inline void db_copy_putc(struct db_copybuf *b, char c)
{
	if (b->len < b->cap)
		b->s[b->len++] = c;
	else
		db_copy_put(b, &c, 1);
}

/* One field: backslash, tab and line ends escaped, NULL as \N; then
   end ('\t' between fields, '\n' after the last). */
void db_copy_field(struct db_copybuf *b, const char *s, char end);

/*
 * `sql` ("COPY t FROM STDIN") with the rows of b, then b emptied for the
 * next table. CDS_ENOMEM when b ran out of memory, CDS_EDB with db->err
 * (and db->sqlstate, when the server refused the rows) on failure; every
 * result is drained either way, so that the connection can roll back.
 */
int db_copy_in(struct db *db, const char *sql, struct db_copybuf *b);

/*
 * A PostgreSQL array literal ("{"a","b"}") of `n` strings, quoted and
 * escaped. Returns a new string (free()) or NULL when out of memory.
 */
char *db_array_literal(const char *const *items, size_t n);

/* The same of `n` integers ("{1,2,3}"). */
char *db_int_array_literal(const int64_t *v, size_t n);

/* A DS record as the registry stores it: "KEYTAG ALG TYPE HEX", the
   digest in upper case. Returns buf. */
char *db_ds_format(const struct cds_ds *ds, char *buf, size_t size);

/* The DS set as an array literal of presentation strings, sorted the way
   the cdscan.delegation view sorts (keytag, alg, digest type, digest). */
char *db_ds_array(const struct cds_ds *ds, size_t n);

/*
 * Parse a PostgreSQL text-array value ("{a,b}", "{"a b",c}") into a new
 * vector of strings (db_strv_free). NULL elements become "".
 */
int db_parse_array(const char *lit, char ***out, size_t *n);

/*
 * Events for the results of a batch whose decision completed a streak of
 * rejected scans (dec->rejected_event), inside the caller's transaction,
 * for the scans of run_id that were really recorded (db/events.c).
 */
int db_events_rejected(struct db *db, int64_t run_id,
		       const struct db_result *res, size_t n);

/*
 * CSYNC inside db_record_change's transaction (db/csync.c), for a result
 * with db_csync_wants_change: carry the change out (sink db:
 * cdscan.apply_ns(), *out APPLIED or STALE; sink requests: REQUESTED; a
 * held change or sink epp: NONE, nothing done yet), then, once the scan
 * row exists, write what it leaves: the cdscan.csync_change row, the
 * audit row and the change request.
 */
int db_csync_carry(struct db *db, enum db_sink sink, const struct db_result *r,
		   enum db_outcome *out);
int db_csync_write(struct db *db, const char *run_id, const char *scan_id,
		   const struct db_result *r, enum db_outcome out);

/* Inside db/: a change that went to the EPP outbox (sink epp). Callers
   outside db/ see DB_OUT_REQUESTED. */
#define DB_OUT_QUEUED ((enum db_outcome)(DB_OUT_LOST + 100))

/*
 * Held CSYNC changes of the results that say the child no longer asks
 * for them (its CSYNC gone, or naming what the registry holds, or a
 * request policy refuses) become 'superseded', with an audit row (kind
 * ns-superseded), inside the caller's transaction (db/csync.c).
 */
int db_csync_withdrawn(struct db *db, int64_t run_id,
		       const struct db_result *r, size_t n);

/*
 * Queue an NS change in the EPP outbox (db/outbox.c), inside the
 * caller's transaction: the sets as array literals, the DS set it leaves
 * alone, the cdscan.csync_change row it carries (csync_id), run and scan
 * (may be NULL). Queued NS changes of the domain are superseded by it
 * (and their csync_change rows with them); DS changes are not.
 */
int db_outbox_queue_ns(struct db *db, const char *domain, const char *ds_text,
		       const char *before_ns, const char *after_ns,
		       const char *before_glue, const char *after_glue,
		       const char *csync_id, const char *run_id,
		       const char *scan_id);

/* One RRset of a server in a change's audit evidence: state, signature
   check, and the signing key with its validity (db/record.c). */
struct json;
struct cds_rrset_obs;
void db_evidence_rrset(struct json *j, const char *key,
		       const struct cds_rrset_obs *rr);

/* The migrations, compiled in from db/sql/NNN_*.sql (db/sql/embed.sh). */
struct db_migration {
	int version;      /* NNN */
	const char *name; /* file name */
	const char *sql;
};
extern const struct db_migration db_migrations[];
extern const size_t db_n_migrations;

#endif
