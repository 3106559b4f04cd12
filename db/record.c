/*
 * Recording results: what every server said, the decision and why, and
 * for accepted changes the change itself with its audit row. Results that
 * change nothing are recorded in batches (the claims checked and the
 * scans' ids drawn in one statement, then COPY straight into the scan
 * and server tables), so that a whole registry records in seconds. An
 * accepted change gets its own transaction, so that a failure leaves no
 * change half-applied.
 *
 * The claim is checked, and its batch locked against a takeover, in the
 * transaction that records: a worker whose lease lapsed and whose batch
 * was taken over records nothing for it, and a scan already recorded in
 * the run is not recorded again (scan_once_per_run), so each delegation
 * is recorded once per run.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/errors.h"
#include "core/json.h"
#include "db/db_int.h"

#define COUNT(a) (sizeof(a) / sizeof *(a))

/*
 * The staging tables' columns after seq (their first), once: the tables
 * are made from these lists, and a single result is handed over as JSON
 * keyed by the same names (record_staged).
 */
#define REC_SCAN_COLS(X)                                                    \
	X(domain, text) X(batch, integer) X(time, bigint) X(verdict, text)  \
	X(reason, text) X(detail, text) X(current_ds, text[])               \
	X(proposed_ds, text[]) X(queries, integer) X(outcome, text)         \
	X(csync_verdict, text) X(csync_reason, text) X(csync_detail, text)  \
	X(csync_outcome, text) X(boot_scan, integer) X(boot_needed, integer) \
	X(boot_eligible, bigint)
#define REC_SERVER_COLS(X)                                                  \
	X(sseq, smallint) X(ns_name, text) X(addr, text) X(transport, text) \
	X(error, text) X(soa_serial, bigint) X(dnskey_state, text)          \
	X(dnskey_proven, boolean) X(cds_state, text) X(cds_sig, text)       \
	X(cds, text[]) X(cdnskey_state, text) X(cdnskey_sig, text)          \
	X(cdnskey, text[]) X(csync_state, text) X(csync_sig, text)          \
	X(csync_serial, bigint) X(csync_flags, integer)                     \
	X(csync_types, integer[]) X(csync_ns, text[])
#define COL_DEF(name, type) ", " #name " " #type
#define COL_NAME(name, type) , #name

static const char *const rec_scan_names[] = {"seq" REC_SCAN_COLS(COL_NAME)};
static const char *const rec_server_names[] = {
	"seq" REC_SERVER_COLS(COL_NAME)};

/* Session-local staging tables; ON COMMIT DELETE ROWS empties them at
   the end of every transaction, rolled back or not. */
static const char rec_tables[] =
	"CREATE TEMP TABLE IF NOT EXISTS cdscan_rec_scan ("
	"seq integer" REC_SCAN_COLS(COL_DEF) ") ON COMMIT DELETE ROWS;"
	"CREATE TEMP TABLE IF NOT EXISTS cdscan_rec_server ("
	"seq integer" REC_SERVER_COLS(COL_DEF) ") ON COMMIT DELETE ROWS";

/*
 * From the staged rows to the real ones, in one statement: scans and
 * server rows only for the batches ($4) this worker still holds (locked
 * FOR KEY SHARE until the commit, so that no one takes them over
 * meanwhile, while the lease renewal, which updates no key, goes on),
 * and not for a delegation already recorded in the run (nor twice from
 * one set: record_staged stages each delegation once). Returns the new
 * scan ids with their batches. SCAN and SERVER are where the staged rows
 * come from; CONFLICT is what a scan already in the run meets: an error
 * (unique_violation on scan_once_per_run) or REC_SKIP_RECORDED.
 */
#define REC_SKIP_RECORDED " ON CONFLICT (run_id, domain) DO NOTHING"
#define REC_APPLY(SCAN, SERVER, CONFLICT)                                    \
	"WITH held AS ("                                                     \
	" SELECT batch FROM cdscan.run_batch"                                \
	" WHERE run_id = $1 AND batch = ANY($4::integer[]) AND worker = $2"  \
	" AND state = 'claimed' FOR KEY SHARE),"                             \
	" ins AS ("                                                          \
	" INSERT INTO cdscan.scan (run_id, domain, time, worker, dry_run,"   \
	"  verdict, reason, detail, current_ds, proposed_ds, queries, outcome," \
	"  csync_verdict, csync_reason, csync_detail, csync_outcome,"       \
	"  boot_scan, boot_needed, boot_eligible)"                           \
	" SELECT $1, r.domain, to_timestamp(r.time), $2, $3, r.verdict,"     \
	"  r.reason, r.detail, r.current_ds, r.proposed_ds, r.queries,"      \
	"  r.outcome, r.csync_verdict, r.csync_reason, r.csync_detail,"      \
	"  r.csync_outcome, r.boot_scan, r.boot_needed,"                     \
	"  to_timestamp(r.boot_eligible)"                                    \
	" FROM " SCAN " r WHERE r.batch IN (SELECT batch FROM held)"         \
	CONFLICT                                                             \
	" RETURNING id, domain),"                                            \
	" srv AS ("                                                          \
	" INSERT INTO cdscan.scan_server (scan_id, seq, ns_name, addr,"      \
	"  transport, error, soa_serial, dnskey_state, dnskey_proven,"       \
	"  cds_state, cds_sig, cds, cdnskey_state, cdnskey_sig, cdnskey,"    \
	"  csync_state, csync_sig, csync_serial, csync_flags, csync_types,"  \
	"  csync_ns)"                                                        \
	" SELECT ins.id, s.sseq, s.ns_name, s.addr, s.transport, s.error,"   \
	"  s.soa_serial, s.dnskey_state, s.dnskey_proven, s.cds_state,"      \
	"  s.cds_sig, s.cds, s.cdnskey_state, s.cdnskey_sig, s.cdnskey,"     \
	"  s.csync_state, s.csync_sig, s.csync_serial, s.csync_flags,"       \
	"  s.csync_types, s.csync_ns"                                        \
	" FROM ins JOIN " SCAN " r ON r.domain = ins.domain"                 \
	" JOIN " SERVER " s ON s.seq = r.seq)"                               \
	" SELECT ins.id, r.batch, r.seq FROM ins"                            \
	" JOIN " SCAN " r ON r.domain = ins.domain"

/*
 * A set of results: COPY'd into the staging tables. First as a plain
 * INSERT: ON CONFLICT's speculative insertion cost ~3 µs a scan row, a
 * sixth of what inserting the row costs (docs/BENCH.md), for a conflict
 * that only a worker whose batch was taken over while it recorded can
 * meet. That one gets unique_violation, and its transaction is done
 * again with rec_apply_skip, which leaves out what is recorded already.
 */
static const char rec_apply[] =
	REC_APPLY("cdscan_rec_scan", "cdscan_rec_server", "");
static const char rec_apply_skip[] =
	REC_APPLY("cdscan_rec_scan", "cdscan_rec_server", REC_SKIP_RECORDED);

/*
 * One result (a change transaction): its rows as JSON parameters ($5,
 * $6), read as the staging tables' row types. Writing the temporary
 * tables made every commit truncate them, ~1 ms of the server's time a
 * transaction, the largest part of a change's cost (docs/BENCH.md).
 */
static const char rec_apply_one[] = REC_APPLY(
	"jsonb_populate_recordset(NULL::cdscan_rec_scan, $5::jsonb)",
	"jsonb_populate_recordset(NULL::cdscan_rec_server, $6::jsonb)",
	REC_SKIP_RECORDED);

/*
 * A set of results written straight into cdscan.scan and
 * cdscan.scan_server, without the staging tables: the batches of the
 * set ($3) this worker still holds, locked FOR KEY SHARE until the
 * commit as in REC_APPLY, and $4 ids for the scans, drawn from the
 * scan's sequence so that the server rows can name their scan in the
 * same COPY. Staging first and copying the rows over with INSERT ...
 * SELECT cost a third more of PostgreSQL's time than the COPY alone
 * (docs/BENCH.md). A scan already in the run makes the COPY fail with
 * unique_violation, and the set is done again with rec_apply_skip.
 */
static const char rec_direct_prepare[] =
	"SELECT ARRAY(SELECT batch FROM cdscan.run_batch"
	" WHERE run_id = $1 AND batch = ANY($3::integer[]) AND worker = $2"
	" AND state = 'claimed' FOR KEY SHARE),"
	" ARRAY(SELECT nextval('cdscan.scan_id_seq')"
	" FROM generate_series(1, $4::integer))";
static const char rec_direct_scan[] =
	"COPY cdscan.scan (id, run_id, domain, time, worker, dry_run,"
	" verdict, reason, detail, current_ds, proposed_ds, queries, outcome,"
	" csync_verdict, csync_reason, csync_detail, csync_outcome,"
	" boot_scan, boot_needed, boot_eligible) FROM STDIN";
static const char rec_direct_server[] =
	"COPY cdscan.scan_server (scan_id, seq, ns_name, addr, transport,"
	" error, soa_serial, dnskey_state, dnskey_proven, cds_state, cds_sig,"
	" cds, cdnskey_state, cdnskey_sig, cdnskey, csync_state, csync_sig,"
	" csync_serial, csync_flags, csync_types, csync_ns) FROM STDIN";

/* What the scans of a transaction came to under one verdict and reason
   (cdscan.run_tally, schema 16). */
struct reason_tally {
	const char *verdict, *reason; /* static names */
	int64_t n, queries, applied, requested, stale;
	int64_t last; /* the newest scan's time, unix seconds */
};

/* What a transaction recorded: how many scans, in all and per batch,
   and what they came to. */
struct tally {
	size_t total;
	size_t n;       /* batches */
	int64_t *batch; /* n of them, with their counts */
	int64_t *count;
	size_t n_reasons;
	struct reason_tally *reasons;
	bool oom; /* a reason could not be added; looked at in count_recorded */
};

static void tally_free(struct tally *t)
{
	free(t->batch);
	free(t->count);
	free(t->reasons);
	*t = (struct tally){0};
}

/*
 * Count the scan of r, recorded with `outcome`, under its verdict and
 * reason, with the columns cdscan.run.counts sums (DB_SQL_RUN_COUNTS):
 * 'queued' (DB_OUT_QUEUED) counts as none of applied, requested, stale.
 */
static void tally_reason(struct tally *t, const struct db_result *r,
			 enum db_outcome outcome)
{
	const char *v = cds_verdict_name(r->dec->verdict);
	const char *why = cds_reason_name(r->dec->reason);
	struct reason_tally *g = NULL;

	for (size_t i = 0; i < t->n_reasons && !g; i++)
		if (strcmp(t->reasons[i].verdict, v) == 0 &&
		    strcmp(t->reasons[i].reason, why) == 0)
			g = &t->reasons[i];
	if (!g) {
		struct reason_tally *more = realloc(
			t->reasons, (t->n_reasons + 1) * sizeof *more);

		if (!more) {
			t->oom = true;
			return;
		}
		t->reasons = more;
		g = &t->reasons[t->n_reasons++];
		*g = (struct reason_tally){.verdict = v, .reason = why,
					   .last = r->time};
	}
	g->n++;
	g->queries += r->queries;
	g->applied += outcome == DB_OUT_APPLIED;
	g->requested += outcome == DB_OUT_REQUESTED;
	g->stale += outcome == DB_OUT_STALE;
	if (r->time > g->last)
		g->last = r->time;
}

/* n strings of the tally's reasons, at byte offset `off` of each, as an
   array literal; NULL when out of memory. */
static char *reason_names(const struct tally *t, size_t off)
{
	const char **v = calloc(t->n_reasons ? t->n_reasons : 1, sizeof *v);
	char *lit;

	if (!v)
		return NULL;
	for (size_t i = 0; i < t->n_reasons; i++)
		v[i] = *(const char *const *)((const char *)&t->reasons[i] +
					      off);
	lit = db_array_literal(v, t->n_reasons);
	free(v);
	return lit;
}

/* An integer column of the tally's reasons as an array literal. */
static char *reason_ints(const struct tally *t, size_t off)
{
	int64_t *v = calloc(t->n_reasons ? t->n_reasons : 1, sizeof *v);
	char *lit;

	if (!v)
		return NULL;
	for (size_t i = 0; i < t->n_reasons; i++)
		v[i] = *(const int64_t *)((const char *)&t->reasons[i] + off);
	lit = db_int_array_literal(v, t->n_reasons);
	free(v);
	return lit;
}

/*
 * The counts, as the last statements before COMMIT: the worker's (its
 * row is the one row every transaction of this worker writes, locked
 * first, so that this worker's transactions meet there and nowhere
 * else), then the batches' (cdscan.run_batch.recorded, schema 13: what
 * is left of a batch is size - recorded, asked of no scan) with, in the
 * same statement, what the scans came to (cdscan.run_tally, schema 16:
 * what finishing the run sums). The row locks are held for the commit
 * alone, so that a change transaction on one database thread does not
 * wait for a whole batch on the other.
 */
static int count_recorded(struct db *db, int64_t run_id, const char *worker,
			  const struct tally *t)
{
	static const size_t cols[] = {
		offsetof(struct reason_tally, verdict),
		offsetof(struct reason_tally, reason),
		offsetof(struct reason_tally, n),
		offsetof(struct reason_tally, queries),
		offsetof(struct reason_tally, applied),
		offsetof(struct reason_tally, requested),
		offsetof(struct reason_tally, stale),
		offsetof(struct reason_tally, last)};
	char id[24], cnt[24], *lit[3 + COUNT(cols)] = {0};
	const char *p[3 + COUNT(cols)] = {id, worker, cnt};
	PGresult *r;
	int ret = CDS_ENOMEM;

	if (t->total == 0)
		return CDS_OK;
	snprintf(id, sizeof id, "%lld", (long long)run_id);
	snprintf(cnt, sizeof cnt, "%zu", t->total);
	r = db_exec_prepared(db, DB_ST_COUNT_WORKER,
			     "UPDATE cdscan.worker SET scanned = scanned"
			     " + $3::integer, last_seen = now()"
			     " WHERE run_id = $1 AND worker = $2",
			     3, p);
	if (!r)
		return CDS_EDB;
	PQclear(r);
	if (t->oom || !(lit[1] = db_int_array_literal(t->batch, t->n)) ||
	    !(lit[2] = db_int_array_literal(t->count, t->n)))
		goto out;
	for (size_t i = 0; i < COUNT(cols); i++)
		if (!(lit[3 + i] = i < 2 ? reason_names(t, cols[i])
					 : reason_ints(t, cols[i])))
			goto out;
	for (size_t i = 1; i < COUNT(p); i++)
		p[i] = lit[i];
	r = db_exec_prepared(db, DB_ST_COUNT_BATCHES,
			     "WITH t AS (INSERT INTO cdscan.run_tally"
			     " (run_id, verdict, reason, n, queries, applied,"
			     "  requested, stale, last)"
			     " SELECT $1, g.v, g.w, g.n, g.q, g.a, g.rq, g.s,"
			     "  to_timestamp(g.l)"
			     " FROM unnest($4::text[], $5::text[], $6::bigint[],"
			     "  $7::bigint[], $8::bigint[], $9::bigint[],"
			     "  $10::bigint[], $11::bigint[])"
			     "  AS g(v, w, n, q, a, rq, s, l))"
			     " UPDATE cdscan.run_batch x"
			     " SET recorded = x.recorded + c.n"
			     " FROM unnest($2::integer[], $3::integer[])"
			     "  AS c(batch, n)"
			     " WHERE x.run_id = $1 AND x.batch = c.batch",
			     (int)COUNT(p), p);
	ret = r ? CDS_OK : CDS_EDB;
	PQclear(r);
out:
	if (ret == CDS_ENOMEM)
		snprintf(db->err, sizeof db->err, "out of memory");
	for (size_t i = 0; i < COUNT(lit); i++)
		free(lit[i]);
	return ret;
}

/* ---- COPY text format ---------------------------------------------------- */

/* A field of the staged rows (db_copy_field): last ends the row. */
static void copy_field(struct db_copybuf *f, const char *s, bool last)
{
	db_copy_field(f, s, last ? '\n' : '\t');
}

static void copy_int(struct db_copybuf *f, long long v, bool last)
{
	char b[24], *p = b + sizeof b;
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v
				     : (unsigned long long)v;

	*--p = last ? '\n' : '\t';
	do
		*--p = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--p = '-';
	db_copy_put(f, p, (size_t)(b + sizeof b - p));
}

/* Unix time t in UTC, when its year is 1 to 9999 (copy_time). */
static bool utc_4digit(int64_t t, struct tm *tm)
{
	time_t tt = (time_t)t;

	return gmtime_r(&tt, tm) && tm->tm_year >= 1 - 1900 &&
	       tm->tm_year <= 9999 - 1900;
}

/*
 * A timestamptz field from unix time, in UTC ("2026-11-24 03:07:05+00").
 * False, writing nothing, for a time before year 1 or after 9999, which
 * this form cannot say (the staging tables take such a time as a
 * number).
 */
static bool copy_time(struct db_copybuf *f, int64_t t, bool last)
{
	char b[32];
	struct tm tm;
	int v[6];

	if (!utc_4digit(t, &tm))
		return false;
	v[0] = tm.tm_year + 1900;
	v[1] = tm.tm_mon + 1;
	v[2] = tm.tm_mday;
	v[3] = tm.tm_hour;
	v[4] = tm.tm_min;
	v[5] = tm.tm_sec;
	b[0] = (char)('0' + v[0] / 1000);
	b[1] = (char)('0' + v[0] / 100 % 10);
	b[2] = (char)('0' + v[0] / 10 % 10);
	b[3] = (char)('0' + v[0] % 10);
	for (int i = 1; i < 6; i++) {
		b[1 + 3 * i] = " -- ::"[i];
		b[2 + 3 * i] = (char)('0' + v[i] / 10);
		b[3 + 3 * i] = (char)('0' + v[i] % 10);
	}
	memcpy(b + 19, "+00", 3);
	b[22] = last ? '\n' : '\t';
	db_copy_put(f, b, 23);
	return true;
}

/* An array field from n strings; false when out of memory. */
static bool copy_array(struct db_copybuf *f, const char *const *items,
		       size_t n, bool last)
{
	char *lit = db_array_literal(items, n);

	if (!lit)
		return false;
	copy_field(f, lit, last);
	free(lit);
	return true;
}

static bool copy_ds_array(struct db_copybuf *f, const struct cds_ds *ds,
			  size_t n, bool last)
{
	char *lit = db_ds_array(ds, n);

	if (!lit)
		return false;
	copy_field(f, lit, last);
	free(lit);
	return true;
}

static bool copy_dnskeys(struct db_copybuf *f, const struct cds_dnskey *k,
			 size_t n, bool last)
{
	char **s = calloc(n ? n : 1, sizeof *s);
	bool ok = s != NULL;

	for (size_t i = 0; ok && i < n; i++) {
		size_t len = cds_dnskey_str_size(&k[i]);

		ok = (s[i] = malloc(len)) != NULL;
		if (ok)
			cds_dnskey_format(&k[i], s[i], len);
	}
	ok = ok && copy_array(f, (const char *const *)s, n, last);
	for (size_t i = 0; s && i < n; i++)
		free(s[i]);
	free(s);
	return ok;
}

/* CDS records as received (not sorted: the server's order). */
static bool copy_cds(struct db_copybuf *f, const struct cds_ds *ds, size_t n,
		     bool last)
{
	char(*buf)[CDS_DS_STR_MAX] = calloc(n ? n : 1, sizeof *buf);
	const char **s = calloc(n ? n : 1, sizeof *s);
	bool ok = buf && s;

	for (size_t i = 0; ok && i < n; i++)
		s[i] = db_ds_format(&ds[i], buf[i], sizeof buf[i]);
	ok = ok && copy_array(f, s, n, last);
	free(s);
	free(buf);
	return ok;
}

/* Sink epp: recorded as 'queued' (DB_OUT_QUEUED, scan row and
   evidence); callers are told DB_OUT_REQUESTED, "handed on, not applied
   here". */
static const char *outcome_name(enum db_outcome o)
{
	if (o == DB_OUT_QUEUED)
		return "queued";
	switch (o) {
	case DB_OUT_APPLIED: return "applied";
	case DB_OUT_REQUESTED: return "requested";
	case DB_OUT_STALE: return "stale";
	default: return NULL;
	}
}

/* The CSYNC columns of a scan row: NULL when CSYNC was not asked. */
static void stage_csync(struct db_copybuf *fs, const struct db_result *r)
{
	const struct cds_csync_decision *c = r->csync;
	const char *out = NULL;

	if (c && r->csync_outcome && db_csync_wants_change(r)) {
		if (c->verdict == CDS_DEC_PENDING)
			out = "held";
		else if (*r->csync_outcome == DB_OUT_APPLIED)
			out = "applied";
		else if (*r->csync_outcome == DB_OUT_REQUESTED)
			out = "requested";
		else if (*r->csync_outcome == DB_OUT_QUEUED)
			out = "queued";
		else if (*r->csync_outcome == DB_OUT_STALE)
			out = "stale";
	}
	copy_field(fs, c ? cds_verdict_name(c->verdict) : NULL, false);
	copy_field(fs, c ? cds_reason_name(c->reason) : NULL, false);
	copy_field(fs, c ? c->detail : NULL, false);
	copy_field(fs, out, false);
}

/*
 * Where stage_result writes a result's rows: the staging tables (direct
 * false: a sequence number joins a scan to its server rows, the batch
 * goes along, times are unix seconds), or cdscan.scan and
 * cdscan.scan_server themselves (the scan's id, its run, worker and
 * dry-run flag; times as timestamps, see copy_time).
 */
struct stage_to {
	bool direct;
	int64_t run_id;
	const char *worker;
	bool dry_run;
};

/* Whether every time of the results can be written directly. */
static bool times_direct(const struct db_result *res, size_t n)
{
	struct tm tm;

	for (size_t i = 0; i < n; i++)
		if (!utc_4digit(res[i].time, &tm) ||
		    (res[i].dec->boot_scan && res[i].dec->boot_needed &&
		     !utc_4digit(res[i].dec->boot_eligible, &tm)))
			return false;
	return true;
}

/* The accept-after-delay progress policy counted (RFC 8078 §3): NULL
   columns when this scan counted no streak, so that status tells an
   old row or another decision from a first scan without the detail. */
static bool stage_boot(struct db_copybuf *fs, const struct cds_decision *dec,
		       const struct stage_to *to)
{
	if (dec->boot_scan == 0 || dec->boot_needed == 0) {
		copy_field(fs, NULL, false);
		copy_field(fs, NULL, false);
		copy_field(fs, NULL, true);
		return true;
	}
	copy_int(fs, (long long)dec->boot_scan, false);
	copy_int(fs, (long long)dec->boot_needed, false);
	if (to->direct)
		return copy_time(fs, dec->boot_eligible, true);
	copy_int(fs, (long long)dec->boot_eligible, true);
	return true;
}

/* The CSYNC one server showed (NULL columns when it was not asked): its
   state, signature, serial, flags, the bit map's types and its NS set. */
static bool stage_csync_server(struct db_copybuf *fv,
			       const struct cds_server_obs *o)
{
	const struct cds_csync_obs *c = &o->csync;
	bool has = c->asked && c->rr.state == CDS_RR_PRESENT && !c->malformed;
	char *lit = NULL;

	copy_field(fv, c->asked ? cds_rrstate_name(c->rr.state) : NULL, false);
	copy_field(fv, c->asked ? cds_sigstate_name(c->rr.sig) : NULL, false);
	if (has) {
		struct db_copybuf t = {0};
		char num[16];

		copy_int(fv, (long long)c->serial, false);
		copy_int(fv, (long long)c->flags, false);
		db_copy_putc(&t, '{');
		for (size_t i = 0; i < c->n_types; i++)
			db_copy_put(&t, num,
				    (size_t)snprintf(num, sizeof num, "%s%u",
						     i ? "," : "",
						     c->types[i]));
		db_copy_put(&t, "}", 2); /* with the NUL copy_field reads to */
		if (!t.oom)
			copy_field(fv, t.s, false);
		free(t.s);
		if (t.oom)
			return false;
	} else {
		copy_field(fv, NULL, false);
		copy_field(fv, NULL, false);
		copy_field(fv, NULL, false);
	}
	if (c->asked && c->ns_rr.state == CDS_RR_PRESENT) {
		const char **names = calloc(c->n_ns ? c->n_ns : 1,
					    sizeof *names);

		if (!names)
			return false;
		for (size_t i = 0; i < c->n_ns; i++)
			names[i] = c->ns[i];
		lit = db_array_literal(names, c->n_ns);
		free(names);
		if (!lit)
			return false;
	}
	copy_field(fv, lit, true);
	free(lit);
	return true;
}

/*
 * The rows of one result, for the staging tables or the real ones (`to`):
 * `key` is the sequence number that joins the staged rows, or the scan's
 * id. False when out of memory (or given a time times_direct refuses).
 */
static bool stage_result(struct db_copybuf *fs, struct db_copybuf *fv,
			 int64_t key, const struct db_result *r,
			 enum db_outcome outcome, const struct stage_to *to)
{
	const struct cds_decision *dec = r->dec;
	const char *cur = r->deleg->ds_text ? r->deleg->ds_text : "{}";

	copy_int(fs, (long long)key, false);
	if (to->direct) {
		copy_int(fs, (long long)to->run_id, false);
		copy_field(fs, r->deleg->name, false);
		if (!copy_time(fs, r->time, false))
			return false;
		copy_field(fs, to->worker, false);
		copy_field(fs, to->dry_run ? "t" : "f", false);
	} else {
		copy_field(fs, r->deleg->name, false);
		copy_int(fs, (long long)r->deleg->batch, false);
		copy_int(fs, (long long)r->time, false);
	}
	copy_field(fs, cds_verdict_name(dec->verdict), false);
	copy_field(fs, cds_reason_name(dec->reason), false);
	copy_field(fs, dec->detail, false);
	copy_field(fs, cur, false);
	if (!copy_ds_array(fs, dec->proposed, dec->n_proposed, false))
		return false;
	copy_int(fs, (long long)r->queries, false);
	copy_field(fs, outcome_name(outcome), false);
	stage_csync(fs, r);
	if (!stage_boot(fs, dec, to))
		return false;

	for (size_t i = 0; i < r->n_obs; i++) {
		const struct cds_server_obs *o = &r->obs[i];
		char serial[16];
		const char *err = NULL;

		if (o->error)
			err = o->error_text[0] ? o->error_text
					       : cds_strerror(o->error);
		snprintf(serial, sizeof serial, "%u", o->soa_serial);
		copy_int(fv, (long long)key, false);
		copy_int(fv, (long long)i, false);
		copy_field(fv, o->name, false);
		copy_field(fv, o->addr[0] ? o->addr : NULL, false);
		copy_field(fv, cds_transport_name(o->transport), false);
		copy_field(fv, err, false);
		copy_field(fv, o->soa.state == CDS_RR_PRESENT ? serial : NULL,
			   false);
		copy_field(fv, cds_rrstate_name(o->dnskey_rr.state), false);
		copy_field(fv, o->dnskey_proven ? "t" : "f", false);
		copy_field(fv, cds_rrstate_name(o->cds_rr.state), false);
		copy_field(fv, cds_sigstate_name(o->cds_rr.sig), false);
		if (!copy_cds(fv, o->cds, o->n_cds, false))
			return false;
		copy_field(fv, cds_rrstate_name(o->cdnskey_rr.state), false);
		copy_field(fv, cds_sigstate_name(o->cdnskey_rr.sig), false);
		if (!copy_dnskeys(fv, o->cdnskey, o->n_cdnskey, false) ||
		    !stage_csync_server(fv, o))
			return false;
	}
	return true;
}

/* ---- staging and applying ------------------------------------------------ */

static int ensure_tables(struct db *db)
{
	PGresult *r;

	if (db->rec_ready)
		return CDS_OK;
	/* Outside any transaction: a rollback must not take them away
	   while rec_ready says they are there. */
	r = PQexec(db->conn, rec_tables);
	if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
		PQclear(r);
		return db_fail(db, "creating the staging tables");
	}
	PQclear(r);
	db->rec_ready = true;
	return CDS_OK;
}

/*
 * Rows in COPY's text format (as staged) as a JSON array of objects
 * keyed by the columns' names, every value a string or null, which
 * jsonb_populate_recordset() reads with each column type's input
 * function, as COPY would. NULL when out of memory, or when a row has
 * more fields than there are names (a bug: the names and the staging
 * are made from one list).
 */
static char *copy_to_json(const char *buf, size_t len,
			  const char *const *names, size_t n_names)
{
	char *out = NULL, *val = malloc(len + 1);
	size_t out_len = 0;
	FILE *f = open_memstream(&out, &out_len);
	struct json j;
	bool ok = f && val;

	if (ok) {
		json_init(&j, f, false);
		json_array_begin(&j, NULL);
	}
	for (size_t pos = 0; ok && pos < len;) {
		size_t col = 0;

		json_object_begin(&j, NULL);
		for (;;) {
			size_t k = 0;
			bool null = len - pos >= 2 && buf[pos] == '\\' &&
				    buf[pos + 1] == 'N' &&
				    (pos + 2 == len || buf[pos + 2] == '\t' ||
				     buf[pos + 2] == '\n');

			if (null)
				pos += 2;
			for (; !null && pos < len && buf[pos] != '\t' &&
			       buf[pos] != '\n'; pos++) {
				char c = buf[pos];

				if (c == '\\' && pos + 1 < len) {
					c = buf[++pos];
					c = c == 't' ? '\t' : c == 'n' ? '\n'
					  : c == 'r' ? '\r' : c;
				}
				val[k++] = c;
			}
			val[k] = '\0';
			if (col >= n_names) {
				ok = false;
				break;
			}
			if (null)
				json_null(&j, names[col]);
			else
				json_str(&j, names[col], val);
			col++;
			if (pos >= len || buf[pos++] == '\n')
				break;
		}
		json_object_end(&j);
	}
	if (f) {
		if (ok)
			json_array_end(&j);
		ok = fclose(f) == 0 && ok;
	}
	free(val);
	if (!ok) {
		free(out);
		return NULL;
	}
	return out;
}

/* The batches of a set of results, each once (a set spans a few). */
static void add_batch(int64_t *v, size_t *n, int64_t b)
{
	for (size_t i = *n; i-- > 0;)
		if (v[i] == b)
			return;
	v[(*n)++] = b;
}

struct named {
	const char *name;
	size_t i;
};

static int named_cmp(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->i > y->i) - (x->i < y->i);
}

/*
 * Which of n results name a delegation that an earlier one of the set
 * names: a worker that took back its own lapsed batch holds two jobs for
 * what it had not recorded, and the two can meet in one set. The first
 * is staged; the other would give the scan its server rows twice. NULL:
 * no memory.
 */
static bool *repeated(const struct db_result *res, size_t n)
{
	struct named *v = calloc(n ? n : 1, sizeof *v);
	bool *rep = calloc(n ? n : 1, sizeof *rep);

	if (!v || !rep) {
		free(v);
		free(rep);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		v[i] = (struct named){res[i].deleg->name, i};
	qsort(v, n, sizeof *v, named_cmp);
	for (size_t i = 1; i < n; i++)
		rep[v[i].i] = strcmp(v[i].name, v[i - 1].name) == 0;
	free(v);
	return rep;
}

/*
 * The integers of an array literal of bigints ("{1,2}") into v (cap of
 * them); how many, or -1 when the literal is not one or has more.
 */
static long int_array(const char *lit, int64_t *v, size_t cap)
{
	size_t n = 0;
	char *end;

	if (*lit++ != '{')
		return -1;
	if (*lit == '}')
		return lit[1] ? -1 : 0;
	for (;;) {
		if (n == cap)
			return -1;
		v[n++] = strtoll(lit, &end, 10);
		if (end == lit)
			return -1;
		if (*end == '}')
			return end[1] ? -1 : (long)n;
		if (*end != ',')
			return -1;
		lit = end + 1;
	}
}

/*
 * A set of results straight into the scan tables (rec_direct_prepare),
 * inside the caller's transaction: those of the batches this worker
 * still holds. *t gets what was written, per batch.
 */
static int record_direct(struct db *db, int64_t run_id, const char *worker,
			 bool dry_run, const struct db_result *res, size_t n,
			 enum db_outcome outcome, struct tally *t)
{
	char id[24], cnt[24];
	const char *p[4] = {id, worker, NULL, cnt};
	const struct stage_to to = {true, run_id, worker, dry_run};
	struct db_copybuf fs = {0}, fv = {0};
	int64_t *batches = calloc(n, sizeof *batches);
	int64_t *ids = calloc(n, sizeof *ids);
	bool *rep = repeated(res, n);
	size_t nb = 0, used = 0;
	long nheld = 0;
	char *lit = NULL;
	PGresult *r = NULL;
	bool ok = batches && ids && rep;
	int ret = CDS_ENOMEM;

	*t = (struct tally){0};
	db->sqlstate[0] = '\0';
	for (size_t i = 0; ok && i < n; i++)
		if (!rep[i])
			add_batch(batches, &nb, res[i].deleg->batch);
	ok = ok && (lit = db_int_array_literal(batches, nb)) &&
	     (t->batch = calloc(nb ? nb : 1, sizeof *t->batch)) &&
	     (t->count = calloc(nb ? nb : 1, sizeof *t->count));
	if (!ok)
		goto out;
	snprintf(id, sizeof id, "%lld", (long long)run_id);
	snprintf(cnt, sizeof cnt, "%zu", n);
	p[2] = lit;
	if (!(r = db_exec_prepared(db, DB_ST_REC_DIRECT, rec_direct_prepare, 4,
				   p))) {
		ret = CDS_EDB;
		goto out;
	}
	/* the held batches go where the set's batches were */
	if ((nheld = int_array(PQgetvalue(r, 0, 0), batches, nb)) < 0 ||
	    int_array(PQgetvalue(r, 0, 1), ids, n) != (long)n) {
		snprintf(db->err, sizeof db->err,
			 "recording: unexpected held batches or scan ids");
		ret = CDS_EDB;
		goto out;
	}
	t->n = (size_t)nheld;
	memcpy(t->batch, batches, t->n * sizeof *batches);
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;

		if (rep[i])
			continue;
		while (k < t->n && t->batch[k] != res[i].deleg->batch)
			k++;
		if (k == t->n)
			continue; /* taken over: recorded by its new holder */
		if (!stage_result(&fs, &fv, ids[used++], &res[i], outcome,
				  &to))
			goto out;
		t->count[k]++;
		t->total++;
		tally_reason(t, &res[i], outcome);
	}
	if (used &&
	    ((ret = db_copy_in(db, rec_direct_scan, &fs)) != 0 ||
	     (ret = db_copy_in(db, rec_direct_server, &fv)) != 0))
		goto out;
	db->rec_direct++;
	ret = CDS_OK;
out:
	if (ret == CDS_ENOMEM)
		snprintf(db->err, sizeof db->err, "out of memory");
	if (ret != CDS_OK)
		tally_free(t);
	PQclear(r);
	free(fs.s);
	free(fv.s);
	free(batches);
	free(ids);
	free(rep);
	free(lit);
	return ret;
}

/*
 * Stage n results and apply them (inside the caller's transaction).
 * *scan_id (may be NULL) gets the id of the first scan written, 0 when
 * none was (claim lost); *t how many were, per batch (tally_free it).
 * A set of several comes here only when record_direct cannot take it
 * (the second try of a set that met a recorded scan, or a time past
 * 9999): written with rec_apply unless skip (then rec_apply_skip). One
 * result (a change) always leaves out a recorded scan.
 */
static int record_staged(struct db *db, int64_t run_id, const char *worker,
			 bool dry_run, const struct db_result *res, size_t n,
			 enum db_outcome outcome, bool skip, struct tally *t,
			 int64_t *scan_id)
{
	char id[24];
	const struct stage_to staged = {0};
	struct db_copybuf fs = {0}, fv = {0};
	const char *p[6] = {id, worker, dry_run ? "t" : "f", NULL, NULL, NULL};
	char *js = NULL, *jv = NULL;
	int64_t *batches = calloc(n ? n : 1, sizeof *batches);
	bool *rep = repeated(res, n);
	size_t nb = 0;
	char *lit = NULL;
	PGresult *r = NULL;
	bool ok = true;
	int ret = CDS_ENOMEM;

	*t = (struct tally){0};
	db->sqlstate[0] = '\0';
	if (scan_id)
		*scan_id = 0;
	ok = ok && batches && rep;
	for (size_t i = 0; ok && i < n; i++) {
		if (rep[i])
			continue;
		add_batch(batches, &nb, res[i].deleg->batch);
		ok = stage_result(&fs, &fv, (int64_t)i, &res[i], outcome,
				  &staged);
	}
	ok = ok && (lit = db_int_array_literal(batches, nb));
	ok = ok && (t->batch = calloc(nb ? nb : 1, sizeof *t->batch)) &&
	     (t->count = calloc(nb ? nb : 1, sizeof *t->count));
	p[3] = lit;
	if (!ok || fs.oom || fv.oom) {
		snprintf(db->err, sizeof db->err, "out of memory");
		goto out;
	}
	snprintf(id, sizeof id, "%lld", (long long)run_id);
	if (n == 1) {
		/* a change transaction's (see enum db_stmt), as JSON */
		if (!(p[4] = js = copy_to_json(fs.s, fs.len, rec_scan_names,
					       COUNT(rec_scan_names))) ||
		    !(p[5] = jv = copy_to_json(fv.s, fv.len, rec_server_names,
					       COUNT(rec_server_names)))) {
			ret = CDS_ENOMEM;
			snprintf(db->err, sizeof db->err, "out of memory");
			goto out;
		}
		r = db_exec_prepared(db, DB_ST_REC_APPLY_ONE, rec_apply_one, 6,
				     p);
	} else {
		if ((ret = db_copy_in(db, "COPY cdscan_rec_scan FROM STDIN",
				      &fs)) != 0 ||
		    (ret = db_copy_in(db, "COPY cdscan_rec_server FROM STDIN",
				      &fv)) != 0)
			goto out;
		r = db_exec(db, skip ? rec_apply_skip : rec_apply, 4, p);
	}
	if (!r) {
		ret = CDS_EDB;
		goto out;
	}
	for (int i = 0; i < PQntuples(r); i++) {
		int64_t b = strtoll(PQgetvalue(r, i, 1), NULL, 10);
		long long seq = strtoll(PQgetvalue(r, i, 2), NULL, 10);
		size_t k = 0;

		if (seq < 0 || (size_t)seq >= n)
			continue; /* not a result staged: cannot be */
		while (k < t->n && t->batch[k] != b)
			k++;
		if (k == t->n) {
			if (k == nb)
				continue; /* not a batch staged: cannot be */
			t->batch[t->n++] = b;
		}
		t->count[k]++;
		t->total++;
		tally_reason(t, &res[seq], outcome);
	}
	if (scan_id && PQntuples(r))
		*scan_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	ret = CDS_OK;
out:
	PQclear(r);
	free(fs.s);
	free(fv.s);
	free(batches);
	free(rep);
	free(lit);
	free(js);
	free(jv);
	if (ret != CDS_OK)
		tally_free(t);
	return ret;
}

int db_record_batch(struct db *db, int64_t run_id, const char *worker,
		    bool dry_run, const struct db_result *r, size_t n,
		    size_t *n_recorded)
{
	struct tally t = {0};
	bool skip = false;
	int ret;

	*n_recorded = 0;
	if (n == 0)
		return CDS_OK;
again:
	if ((ret = ensure_tables(db)) != 0 || (ret = db_cmd(db, "BEGIN")) != 0)
		return ret;
	if (!skip && n > 1 && times_direct(r, n))
		ret = record_direct(db, run_id, worker, dry_run, r, n,
				    DB_OUT_NONE, &t);
	else
		ret = record_staged(db, run_id, worker, dry_run, r, n,
				    DB_OUT_NONE, skip, &t, NULL);
	if (ret == CDS_EDB && !skip && strcmp(db->sqlstate, "23505") == 0) {
		/* a scan of the set is in the run already (record_direct,
		   rec_apply) */
		db_rollback(db);
		db->rec_retries++;
		skip = true;
		goto again;
	}
	/* notifications in the transaction of the scans they report */
	if (ret == 0 && !dry_run)
		ret = db_events_rejected(db, run_id, r, n);
	/* a held CSYNC change the child took back goes with the scan that
	   saw it go (issue 5) */
	if (ret == 0 && !dry_run)
		ret = db_csync_withdrawn(db, run_id, r, n);
	if (ret == 0)
		ret = count_recorded(db, run_id, worker, &t);
	if (ret == 0)
		ret = db_cmd(db, "COMMIT");
	if (ret == 0)
		*n_recorded = t.total;
	else
		db_rollback(db);
	tally_free(&t);
	return ret;
}

/* ---- accepted changes ---------------------------------------------------- */

void db_evidence_rrset(struct json *j, const char *key,
		       const struct cds_rrset_obs *rr)
{
	json_object_begin(j, key);
	json_str(j, "state", cds_rrstate_name(rr->state));
	json_str(j, "signature", cds_sigstate_name(rr->sig));
	if (rr->sig_keytag || rr->sig_inception) {
		json_int(j, "key_tag", rr->sig_keytag);
		json_int(j, "inception", rr->sig_inception);
		json_int(j, "expiration", rr->sig_expiration);
	}
	json_object_end(j);
}

/* RFC 9615 §4.2 step 3: what the validated lookup of this server's NS
   name's signal said, so that a bootstrap's audit row shows its proof. */
static void evidence_signal(struct json *j, const struct cds_signal_obs *sg)
{
	char s[CDS_DS_STR_MAX], *k;

	json_object_begin(j, "signal");
	json_str(j, "cds_state", cds_rrstate_name(sg->cds_rr.state));
	json_str(j, "cds_dnssec", cds_secstate_name(sg->cds_rr.sec));
	json_array_begin(j, "cds");
	for (size_t n = 0; n < sg->n_cds; n++)
		json_str(j, NULL, db_ds_format(&sg->cds[n], s, sizeof s));
	json_array_end(j);
	json_str(j, "cdnskey_state", cds_rrstate_name(sg->cdnskey_rr.state));
	json_str(j, "cdnskey_dnssec", cds_secstate_name(sg->cdnskey_rr.sec));
	json_array_begin(j, "cdnskey");
	for (size_t n = 0; n < sg->n_cdnskey; n++) {
		size_t kl = cds_dnskey_str_size(&sg->cdnskey[n]);

		if ((k = malloc(kl))) {
			json_str(j, NULL, cds_dnskey_format(&sg->cdnskey[n],
							    k, kl));
			free(k);
		}
	}
	json_array_end(j);
	json_object_end(j);
}

/* What made cdscan act, for the audit row: the decision and, per server,
   the records it published and how they were signed. */
static char *evidence(const struct db_result *r, enum db_outcome outcome)
{
	char *buf = NULL, s[CDS_DS_STR_MAX], *k;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct json j;

	if (!f)
		return NULL;
	json_init(&j, f, false);
	json_object_begin(&j, NULL);
	json_str(&j, "decision", cds_verdict_name(r->dec->verdict));
	json_str(&j, "reason", cds_reason_name(r->dec->reason));
	json_str(&j, "detail", r->dec->detail);
	json_str(&j, "outcome", outcome_name(outcome));
	json_int(&j, "time", r->time);
	json_array_begin(&j, "servers");
	for (size_t i = 0; i < r->n_obs; i++) {
		const struct cds_server_obs *o = &r->obs[i];

		json_object_begin(&j, NULL);
		json_str(&j, "name", o->name);
		json_str(&j, "address", o->addr);
		json_str(&j, "transport", cds_transport_name(o->transport));
		if (o->error)
			json_str(&j, "error", o->error_text[0]
						      ? o->error_text
						      : cds_strerror(o->error));
		json_bool(&j, "dnskey_proven", o->dnskey_proven);
		db_evidence_rrset(&j, "cds_rrset", &o->cds_rr);
		json_array_begin(&j, "cds");
		for (size_t n = 0; n < o->n_cds; n++)
			json_str(&j, NULL,
				 db_ds_format(&o->cds[n], s, sizeof s));
		json_array_end(&j);
		db_evidence_rrset(&j, "cdnskey_rrset", &o->cdnskey_rr);
		json_array_begin(&j, "cdnskey");
		for (size_t n = 0; n < o->n_cdnskey; n++) {
			size_t kl = cds_dnskey_str_size(&o->cdnskey[n]);

			if ((k = malloc(kl))) {
				json_str(&j, NULL, cds_dnskey_format(
							   &o->cdnskey[n], k,
							   kl));
				free(k);
			}
		}
		json_array_end(&j);
		if (o->signal.looked_up)
			evidence_signal(&j, &o->signal);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_object_end(&j);
	json_finish(&j);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Whether this worker still holds the claim of the delegation's batch
   and has not recorded it in this run yet; locks the batch (FOR KEY
   SHARE) until the end of the transaction so no one can take it over
   meanwhile. */
static int claim_held(struct db *db, const char *id, const char *worker,
		      const struct db_delegation *d, bool *held)
{
	char batch[24];
	const char *p[4] = {id, d->name, worker, batch};
	PGresult *r;

	snprintf(batch, sizeof batch, "%lld", (long long)d->batch);
	r = db_exec_prepared(db, DB_ST_CLAIM_HELD,
			     "SELECT 1 FROM cdscan.run_batch WHERE run_id = $1"
			     " AND batch = $4 AND worker = $3"
			     " AND state = 'claimed' AND NOT EXISTS ("
			     "  SELECT 1 FROM cdscan.scan s"
			     "  WHERE s.run_id = $1 AND s.domain = $2)"
			     " FOR KEY SHARE",
			     4, p);
	if (!r)
		return CDS_EDB;
	*held = PQntuples(r) == 1;
	PQclear(r);
	return CDS_OK;
}

/* cdscan.apply_ds(): true when applied, false when the DS set is no
   longer the one the scan started from. */
static int apply_ds(struct db *db, const char *domain, const char *before,
		    const char *after, bool *applied)
{
	const char *p[3] = {domain, before, after};
	PGresult *r = db_exec_prepared(db, DB_ST_APPLY_DS,
			      "SELECT cdscan.apply_ds($1, $2::text[],"
			      " $3::text[])",
			      3, p);

	if (!r)
		return CDS_EDB;
	*applied = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	return CDS_OK;
}

/* The change request and the audit row (sink requests), or the audit
   row alone (sink tables). */
static int write_audit(struct db *db, const char *id, const char *scan,
		       const struct db_result *r, const char *after,
		       enum db_outcome outcome)
{
	const char *kind = r->dec->verdict == CDS_DEC_DELETE ? "ds-delete"
							     : "ds-update";
	char *ev = evidence(r, outcome);
	char t[24];
	const char *p[6] = {r->deleg->name, kind, r->deleg->ds_text, after,
			    id, scan};
	PGresult *res = NULL;
	int ret = CDS_ENOMEM;

	if (!ev) {
		snprintf(db->err, sizeof db->err, "out of memory");
		goto out;
	}
	ret = CDS_EDB;
	if (outcome == DB_OUT_REQUESTED) {
		res = db_exec(db,
			      "INSERT INTO cdscan.change_request (domain, kind,"
			      " before_ds, after_ds, run_id, scan_id)"
			      " VALUES ($1, $2, $3, $4, $5, $6)",
			      6, p);
		if (!res)
			goto out;
		PQclear(res);
	}
	{
		const char *pa[8] = {p[0], p[1], p[2], p[3], p[4], p[5], ev, t};

		/* The scan's time, not now(): with simulated time (--now)
		   hold-down and replay protection compare like with like. */
		snprintf(t, sizeof t, "%lld", (long long)r->time);
		res = db_exec_prepared(db, DB_ST_AUDIT,
			      "INSERT INTO cdscan.audit (domain, actor, kind,"
			      " before_ds, after_ds, run_id, scan_id, evidence,"
			      " time)"
			      " VALUES ($1, 'scan', $2, $3, $4, $5, $6, $7,"
			      " to_timestamp($8))",
			      8, pa);
	}
	if (!res)
		goto out;
	PQclear(res);
	ret = CDS_OK;
out:
	free(ev);
	return ret;
}

int db_record_change(struct db *db, int64_t run_id, const char *worker,
		     enum db_sink sink, const struct db_result *r,
		     enum db_outcome *outcome)
{
	const struct cds_decision *dec = r->dec;
	char id[24], scan[24], *after = NULL;
	const char *before = r->deleg->ds_text;
	bool ds_change = dec->verdict == CDS_DEC_UPDATE ||
			 dec->verdict == CDS_DEC_DELETE;
	bool ns_change = db_csync_wants_change(r);
	enum db_outcome ns_out = DB_OUT_NONE;
	bool held = false, applied = false;
	int64_t scan_id = 0;
	struct tally t = {0};
	int ret;

	*outcome = DB_OUT_NONE;
	if (r->csync_outcome)
		*r->csync_outcome = DB_OUT_NONE;
	if ((!ds_change && !ns_change) || !before || r->deleg->load_error) {
		snprintf(db->err, sizeof db->err,
			 "%s: db_record_change wants an UPDATE or DELETE (of "
			 "the DS set or by CSYNC) of a delegation read whole",
			 r->deleg->name);
		return CDS_EINVAL;
	}
	/* the new set in the view's order, so the audit's before and after
	   compare as the registry will show them */
	if (ds_change)
		after = dec->verdict == CDS_DEC_DELETE
				? strdup("{}")
				: db_ds_array(dec->proposed, dec->n_proposed);
	if (ds_change && !after) {
		snprintf(db->err, sizeof db->err, "out of memory");
		return CDS_ENOMEM;
	}
	snprintf(id, sizeof id, "%lld", (long long)run_id);
	if ((ret = ensure_tables(db)) != 0 || (ret = db_cmd(db, "BEGIN")) != 0)
		goto out;
	if ((ret = claim_held(db, id, worker, r->deleg, &held)) != 0)
		goto fail;
	if (!held) {
		/* taken over: the new claimant records it */
		*outcome = DB_OUT_LOST;
		db_rollback(db);
		goto out;
	}
	if (ds_change && sink == DB_SINK_TABLES) {
		if ((ret = apply_ds(db, r->deleg->name, before, after,
				    &applied)) != 0)
			goto fail;
		*outcome = applied ? DB_OUT_APPLIED : DB_OUT_STALE;
	} else if (ds_change) {
		*outcome = sink == DB_SINK_EPP ? DB_OUT_QUEUED : DB_OUT_REQUESTED;
	}
	/* NS and glue (CSYNC) before the scan row, which says what became
	   of them */
	if (ns_change && (ret = db_csync_carry(db, sink, r, &ns_out)) != 0)
		goto fail;
	if (r->csync_outcome)
		*r->csync_outcome = ns_out;
	if ((ret = record_staged(db, run_id, worker, false, r, 1, *outcome,
				 true, &t, &scan_id)) != 0)
		goto fail;
	if (t.total != 1) {
		/* recorded meanwhile by a transaction claim_held could not
		   see yet: this worker's earlier claim of the same batch,
		   lapsed and taken back (db_run_claim); that one stands */
		db_rollback(db);
		*outcome = DB_OUT_LOST;
		if (r->csync_outcome)
			*r->csync_outcome = DB_OUT_NONE;
		goto out;
	}
	snprintf(scan, sizeof scan, "%lld", (long long)scan_id);
	if (ds_change && *outcome != DB_OUT_STALE &&
	    (ret = write_audit(db, id, scan, r, after, *outcome)) != 0)
		goto fail;
	/* sink epp: the change waits in the outbox, written with its
	   decision so that it can be neither lost nor sent without one */
	if (*outcome == DB_OUT_QUEUED &&
	    (ret = db_outbox_queue(db, run_id, scan_id, r)) != 0)
		goto fail;
	if (ns_change &&
	    (ret = db_csync_write(db, id, scan, r, ns_out)) != 0)
		goto fail;
	if (!ns_change && (ret = db_csync_withdrawn(db, run_id, r, 1)) != 0)
		goto fail;
	if ((ret = count_recorded(db, run_id, worker, &t)) != 0 ||
	    (ret = db_cmd(db, "COMMIT")) != 0)
		goto fail;
	if (*outcome == DB_OUT_QUEUED)
		*outcome = DB_OUT_REQUESTED;
	if (r->csync_outcome && *r->csync_outcome == DB_OUT_QUEUED)
		*r->csync_outcome = DB_OUT_REQUESTED;
	goto out;
fail:
	db_rollback(db);
	*outcome = DB_OUT_NONE;
	if (r->csync_outcome)
		*r->csync_outcome = DB_OUT_NONE;
out:
	tally_free(&t);
	free(after);
	return ret;
}
