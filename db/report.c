/*
 * The operator's view of the database: `cdscan status`, `history` and
 * `runs`, and the summary `cdscan scan` prints at its end. PostgreSQL does
 * the aggregation; this file only reads rows and prints them, either for
 * an 80-column terminal (long digests and keys shortened, free text
 * wrapped) or as JSON with every value whole. Each report reads from one
 * snapshot (REPEATABLE READ, READ ONLY), so a scan running meanwhile
 * cannot make its parts disagree. Times are UTC, ISO 8601, to the second.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "core/json.h"
#include "db/db_int.h"

/* A timestamptz column as "2024-05-01T02:00:00Z" (NULL stays NULL). */
#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', " \
		"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

#define WIDTH 80   /* terminal columns the text reports fit */
#define LABEL 16   /* column where values start */
#define RR_TAIL 12 /* a last field longer than this is shortened */

/* ---- small helpers ------------------------------------------------------ */

/* The value of a column, NULL for SQL NULL. Borrowed from r. */
static const char *col(const PGresult *r, int row, int c)
{
	return PQgetisnull(r, row, c) ? NULL : PQgetvalue(r, row, c);
}

/* The same for columns that are NOT NULL in the schema (or computed so):
   "" should the database ever say otherwise. */
static const char *cstr(const PGresult *r, int row, int c)
{
	const char *s = col(r, row, c);

	return s ? s : "";
}

static bool col_true(const PGresult *r, int row, int c)
{
	const char *s = col(r, row, c);

	return s && s[0] == 't';
}

static int64_t col_int(const PGresult *r, int row, int c)
{
	const char *s = col(r, row, c);

	return s ? strtoll(s, NULL, 10) : 0;
}

static double col_double(const PGresult *r, int row, int c)
{
	const char *s = col(r, row, c);

	return s ? strtod(s, NULL) : 0;
}

/*
 * A record in presentation form with its last field (a DS digest, a
 * DNSKEY's key) cut to "1F98…C2E4" when it is long: enough to tell
 * records apart on a terminal; --json gives them whole.
 */
static const char *short_rr(const char *rr, char *buf, size_t size)
{
	const char *sp = strrchr(rr, ' ');
	size_t tail = sp ? strlen(sp + 1) : 0;

	if (!sp || tail <= RR_TAIL) {
		snprintf(buf, size, "%s", rr);
		return buf;
	}
	snprintf(buf, size, "%.*s%.4s\u2026%s", (int)(sp + 1 - rr), rr, sp + 1,
		 sp + 1 + tail - 4);
	return buf;
}

/* "1m05s" */
static const char *duration(double secs, char *buf, size_t size)
{
	int64_t s = (int64_t)(secs + 0.5);

	if (s >= 3600)
		snprintf(buf, size, "%" PRId64 "h%02" PRId64 "m", s / 3600,
			 s / 60 % 60);
	else if (s >= 60)
		snprintf(buf, size, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
	else
		snprintf(buf, size, "%" PRId64 "s", s);
	return buf;
}

/*
 * Print `text` from column `at` (the cursor is already there), words
 * wrapped at WIDTH, continuation lines indented to `at`. Embedded
 * newlines start a new line. A word longer than the line gets one alone.
 */
static void wrap(FILE *out, int at, const char *text)
{
	int pos = at;
	bool first = true;

	while (*text) {
		size_t n = strcspn(text, " \n");

		if (!first && pos + 1 + (int)n > WIDTH) {
			fprintf(out, "\n%*s", at, "");
			pos = at;
			first = true;
		}
		if (!first) {
			fputc(' ', out);
			pos++;
		}
		fprintf(out, "%.*s", (int)n, text);
		pos += (int)n;
		first = false;
		text += n;
		if (*text == '\n') {
			fprintf(out, "\n%*s", at, "");
			pos = at;
			first = true;
		}
		while (*text == ' ' || *text == '\n')
			text++;
	}
	fputc('\n', out);
}

/* "  label         value" with the value at column LABEL. */
static void label(FILE *out, int indent, const char *name)
{
	fprintf(out, "%*s%-*s", indent, "", LABEL - indent, name);
}

/* A label and a formatted value, wrapped at WIDTH. */
static void labelf(FILE *out, int indent, const char *name, const char *fmt,
		   ...) __attribute__((format(printf, 4, 5)));
static void labelf(FILE *out, int indent, const char *name, const char *fmt,
		   ...)
{
	char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	label(out, indent, name);
	wrap(out, LABEL, buf);
}

/*
 * The records of an array literal, shortened, one per line from column
 * `at` (the cursor is on the first line already); `none` when empty.
 */
static int print_rrs(FILE *out, int at, const char *lit, const char *none)
{
	char **v = NULL, buf[CDS_DS_STR_MAX + 64];
	size_t n = 0;

	if (!lit || db_parse_array(lit, &v, &n) != 0) {
		fprintf(out, "%s\n", lit ? lit : none);
		return CDS_OK;
	}
	if (n == 0)
		fprintf(out, "%s\n", none);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%*s%s\n", i ? at : 0, "",
			short_rr(v[i], buf, sizeof buf));
	db_strv_free(v, n);
	return CDS_OK;
}

/* An array literal as a JSON array of strings (null for SQL NULL). */
static void json_strv(struct json *j, const char *key, const char *lit)
{
	char **v = NULL;
	size_t n = 0;

	if (!lit || db_parse_array(lit, &v, &n) != 0) {
		json_null(j, key);
		return;
	}
	json_array_begin(j, key);
	for (size_t i = 0; i < n; i++)
		json_str(j, NULL, v[i]);
	json_array_end(j);
	db_strv_free(v, n);
}

static void json_int_or_null(struct json *j, const char *key,
			     const PGresult *r, int row, int c)
{
	if (col(r, row, c))
		json_int(j, key, col_int(r, row, c));
	else
		json_null(j, key);
}

/* Reports read one consistent snapshot and change nothing. */
static int snapshot_begin(struct db *db)
{
	return db_cmd(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
}

static void snapshot_end(struct db *db)
{
	/* Nothing was written: ending it cannot lose anything. */
	PQclear(PQexec(db->conn, "COMMIT"));
}

/* ---- cdscan status ------------------------------------------------------ */

enum { D_NAME, D_NS, D_DS, D_STATUSES, D_OPTOUT, D_REGISTRAR };
static const char SQL_DELEG[] =
	"SELECT name, ns, ds, statuses, optout, registrar "
	"FROM cdscan.delegation WHERE name = $1";

enum { S_ID, S_TIME, S_RUN, S_WORKER, S_DRY, S_VERDICT, S_REASON, S_DETAIL,
       S_CURRENT, S_PROPOSED, S_QUERIES, S_OUTCOME, S_BOOT_SCAN,
       S_BOOT_NEEDED, S_BOOT_ELIGIBLE };
static const char SQL_LAST_SCAN[] =
	"SELECT id, " TS("time") ", run_id, worker, dry_run, verdict, reason, "
	"detail, current_ds, proposed_ds, queries, outcome, boot_scan, "
	"boot_needed, " TS("boot_eligible") " "
	"FROM cdscan.scan WHERE domain = $1 "
	"ORDER BY time DESC, id DESC LIMIT 1";

enum { V_NAME, V_ADDR, V_TRANSPORT, V_ERROR, V_SERIAL, V_DNSKEY, V_PROVEN,
       V_CDS, V_CDS_SIG, V_CDS_RRS, V_CDNSKEY, V_CDNSKEY_SIG, V_CDNSKEY_RRS };
static const char SQL_SERVERS[] =
	"SELECT ns_name, addr, transport, error, soa_serial, dnskey_state, "
	"dnskey_proven, cds_state, cds_sig, cds, cdnskey_state, cdnskey_sig, "
	"cdnskey FROM cdscan.scan_server WHERE scan_id = $1 ORDER BY seq";

/* The newest scan's verdict and reason, since when they have held: the
   scans after the last one that said something else. */
enum { K_VERDICT, K_REASON, K_SCANS, K_SINCE };
static const char SQL_STREAK[] =
	"WITH s AS (SELECT id, time, verdict, reason FROM cdscan.scan "
	"           WHERE domain = $1), "
	"last AS (SELECT * FROM s ORDER BY time DESC, id DESC LIMIT 1), "
	"brk AS (SELECT s.time, s.id FROM s, last "
	"        WHERE (s.verdict, s.reason) <> (last.verdict, last.reason) "
	"        ORDER BY s.time DESC, s.id DESC LIMIT 1) "
	"SELECT last.verdict, last.reason, count(s.id), " TS("min(s.time)") " "
	"FROM last, s WHERE NOT EXISTS (SELECT 1 FROM brk "
	"      WHERE (s.time, s.id) <= (brk.time, brk.id)) "
	"GROUP BY last.verdict, last.reason";

enum { Q_ID, Q_CREATED, Q_KIND, Q_BEFORE, Q_AFTER, Q_RUN };
static const char SQL_REQUESTS[] =
	"SELECT id, " TS("created") ", kind, before_ds, after_ds, run_id "
	"FROM cdscan.change_request WHERE domain = $1 AND state = 'new' "
	"ORDER BY id";

enum { C_RUN, C_STATE, C_WORKER, C_LEASE, C_LAPSED };
static const char SQL_CLAIMS[] =
	"SELECT b.run_id, b.state, b.worker, " TS("b.lease_until") ", "
	"b.lease_until < now() "
	"FROM cdscan.run r JOIN cdscan.run_batch b ON b.run_id = r.id "
	"WHERE r.state = 'running' AND b.state <> 'done' "
	"AND $1 = ANY(b.domains) "
	"AND NOT EXISTS (SELECT 1 FROM cdscan.scan s "
	" WHERE s.run_id = b.run_id AND s.domain = $1) "
	"ORDER BY b.run_id";

enum { A_ID, A_TIME, A_ACTOR, A_KIND, A_RUN, A_SCAN, A_BEFORE, A_AFTER,
       A_EVIDENCE };
/* Newest first in the order the changes were made (id), not by time: a
   scan's audit time is its policy time in whole seconds, an import's is
   now() with microseconds, so an import and a scan in the same second
   would otherwise swap places. */
#define SQL_AUDIT \
	"SELECT id, " TS("time") ", actor, kind, run_id, scan_id, before_ds, " \
	"after_ds, evidence::text " \
	"FROM cdscan.audit WHERE domain = $1 ORDER BY id DESC"

/* history's extra columns (SQL_HISTORY) */
enum { H_VERDICT = A_EVIDENCE + 1, H_REASON, H_DETAIL, H_BNS, H_ANS,
       H_BGLUE, H_AGLUE };

struct status {
	PGresult *deleg, *scan, *servers, *streak, *requests, *claims,
		*audit;
};

static void status_clear(struct status *st)
{
	PQclear(st->deleg);
	PQclear(st->scan);
	PQclear(st->servers);
	PQclear(st->streak);
	PQclear(st->requests);
	PQclear(st->claims);
	PQclear(st->audit);
}

static int status_read(struct db *db, const char *domain, struct status *st)
{
	const char *p[1] = {domain};

	if (!(st->deleg = db_exec(db, SQL_DELEG, 1, p)))
		return CDS_EDB;
	if (PQntuples(st->deleg) == 0) {
		snprintf(db->err, sizeof db->err,
			 "%s: not a delegation the registry holds", domain);
		return CDS_ENOTFOUND;
	}
	if (!(st->scan = db_exec(db, SQL_LAST_SCAN, 1, p)) ||
	    !(st->streak = db_exec(db, SQL_STREAK, 1, p)) ||
	    !(st->requests = db_exec(db, SQL_REQUESTS, 1, p)) ||
	    !(st->claims = db_exec(db, SQL_CLAIMS, 1, p)) ||
	    !(st->audit = db_exec(db, SQL_AUDIT " LIMIT 1", 1, p)))
		return CDS_EDB;
	if (PQntuples(st->scan) > 0) {
		const char *id[1] = {col(st->scan, 0, S_ID)};

		if (!(st->servers = db_exec(db, SQL_SERVERS, 1, id)))
			return CDS_EDB;
	}
	return CDS_OK;
}

/* The verdict of the last scan needs attention while it is pending (asked
   again next run) or rejected (the child asks for something refused). */
static bool streak_open(const struct status *st)
{
	const char *v;

	if (PQntuples(st->streak) == 0)
		return false;
	v = col(st->streak, 0, K_VERDICT);
	return strcmp(v, "pending") == 0 || strcmp(v, "rejected") == 0;
}

/*
 * Accept-after-delay progress (RFC 8078 §3): when the last scan waits
 * for the delay, what policy counted then, with the configuration of
 * that scan, as the recorder stored it (boot_* columns, version 7).
 * False when the last scan is no bootstrap-waiting one, or was recorded
 * before those columns: the detail text is for people, and a reworded
 * detail must not turn into wrong numbers.
 */
struct boot_progress {
	int64_t nth, of;
	const char *after; /* borrowed from st->scan */
};

static bool boot_progress(const struct status *st, struct boot_progress *b)
{
	const char *reason;

	if (PQntuples(st->scan) == 0)
		return false;
	reason = col(st->scan, 0, S_REASON);
	if (!reason || strcmp(reason, "bootstrap-waiting") != 0 ||
	    !col(st->scan, 0, S_BOOT_SCAN) || !col(st->scan, 0, S_BOOT_NEEDED) ||
	    !col(st->scan, 0, S_BOOT_ELIGIBLE))
		return false;
	b->nth = col_int(st->scan, 0, S_BOOT_SCAN);
	b->of = col_int(st->scan, 0, S_BOOT_NEEDED);
	b->after = col(st->scan, 0, S_BOOT_ELIGIBLE);
	return true;
}

static bool last_stale(const struct status *st)
{
	const char *o = PQntuples(st->scan) ? col(st->scan, 0, S_OUTCOME) : NULL;

	return o && strcmp(o, "stale") == 0;
}

static void text_registry(FILE *out, const struct status *st)
{
	const PGresult *d = st->deleg;
	const char *reg = col(d, 0, D_REGISTRAR);
	char **v = NULL;
	size_t n = 0;

	fprintf(out, "%s\n", cstr(d, 0, D_NAME));
	fprintf(out, "  registry\n");
	if (reg)
		labelf(out, 4, "registrar", "%s", reg);
	label(out, 4, "NS");
	print_rrs(out, LABEL, col(d, 0, D_NS), "none");
	label(out, 4, "DS");
	print_rrs(out, LABEL, col(d, 0, D_DS), "none (unsigned)");
	if (db_parse_array(cstr(d, 0, D_STATUSES), &v, &n) == 0 && n > 0) {
		char buf[DB_STATUS_MAX * DB_STATUS_LEN] = "";
		size_t len = 0;

		for (size_t i = 0; i < n && len < sizeof buf; i++)
			len += (size_t)snprintf(buf + len, sizeof buf - len,
						"%s%s", i ? " " : "", v[i]);
		labelf(out, 4, "statuses", "%s", buf);
	} else {
		labelf(out, 4, "statuses", "none");
	}
	db_strv_free(v, n);
	label(out, 4, "opt-out");
	fprintf(out, "%s\n", col_true(d, 0, D_OPTOUT) ? "yes" : "no");
}

/* One RRset of one server: "CDS      present, signature valid". */
static void text_rrset(FILE *out, const char *name, const char *state,
		       const char *sig, const char *rrs)
{
	fprintf(out, "        %-9s%s", name, state ? state : "-");
	if (sig && strcmp(sig, "none") != 0)
		fprintf(out, ", signature %s", sig);
	fputc('\n', out);
	if (state && strcmp(state, "present") == 0 && rrs) {
		fprintf(out, "%17s", "");
		print_rrs(out, 17, rrs, "(none kept)");
	}
}

static void text_servers(FILE *out, const PGresult *r)
{
	fprintf(out, "    servers\n");
	if (PQntuples(r) == 0)
		fprintf(out, "      none recorded\n");
	for (int i = 0; i < PQntuples(r); i++) {
		const char *addr = col(r, i, V_ADDR), *tr = col(r, i, V_TRANSPORT);
		const char *err = col(r, i, V_ERROR), *dk = col(r, i, V_DNSKEY);

		fprintf(out, "      %s %s", cstr(r, i, V_NAME),
			addr ? addr : "(no address)");
		if (tr)
			fprintf(out, " (%s)", tr);
		fputc('\n', out);
		if (err && err[0]) {
			fprintf(out, "        %-9s", "error");
			wrap(out, 17, err);
		}
		if (col(r, i, V_SERIAL))
			fprintf(out, "        %-9sserial %s\n", "SOA",
				cstr(r, i, V_SERIAL));
		fprintf(out, "        %-9s%s", "DNSKEY", dk ? dk : "-");
		if (dk && strcmp(dk, "present") == 0)
			fprintf(out, ", %s", col_true(r, i, V_PROVEN)
				? "proven by the current DS" : "not proven");
		fputc('\n', out);
		text_rrset(out, "CDS", col(r, i, V_CDS), col(r, i, V_CDS_SIG),
			   col(r, i, V_CDS_RRS));
		text_rrset(out, "CDNSKEY", col(r, i, V_CDNSKEY),
			   col(r, i, V_CDNSKEY_SIG), col(r, i, V_CDNSKEY_RRS));
	}
}

static void text_last_scan(FILE *out, const struct status *st)
{
	const PGresult *s = st->scan;
	const char *run, *w, *outcome, *detail;
	char buf[256];

	if (PQntuples(s) == 0) {
		labelf(out, 2, "last scan", "never");
		return;
	}
	run = col(s, 0, S_RUN);
	w = col(s, 0, S_WORKER);
	outcome = col(s, 0, S_OUTCOME);
	detail = col(s, 0, S_DETAIL);
	snprintf(buf, sizeof buf, ", run %s", run ? run : "");
	labelf(out, 2, "last scan", "%s%s%s%s%s", cstr(s, 0, S_TIME),
	       run ? buf : "", w ? ", worker " : "", w ? w : "",
	       col_true(s, 0, S_DRY) ? ", dry run" : "");
	labelf(out, 4, "decision", "%s (%s)%s%s", cstr(s, 0, S_VERDICT),
	       cstr(s, 0, S_REASON), outcome ? ", " : "",
	       outcome ? outcome : "");
	if (detail && detail[0]) {
		fprintf(out, "%*s", LABEL, "");
		wrap(out, LABEL, detail);
	}
	if (strcmp(cstr(s, 0, S_VERDICT), "update") == 0) {
		label(out, 4, "proposed");
		print_rrs(out, LABEL, col(s, 0, S_PROPOSED), "none");
	}
	text_servers(out, st->servers);
}

static void text_pending(FILE *out, const struct status *st)
{
	const PGresult *q = st->requests, *c = st->claims;
	bool any = streak_open(st) || last_stale(st) || PQntuples(q) ||
		   PQntuples(c);
	struct boot_progress b;
	char buf[64];

	if (any)
		fprintf(out, "  pending\n");
	else
		labelf(out, 2, "pending", "nothing");
	if (boot_progress(st, &b))
		labelf(out, 4, "bootstrap", "%" PRId64 " of %" PRId64
		       " scans, eligible after %s", b.nth, b.of, b.after);
	if (streak_open(st)) {
		int64_t k = col_int(st->streak, 0, K_SCANS);

		labelf(out, 4, "verdict", "%s (%s) since %s, %" PRId64 " scan%s",
			cstr(st->streak, 0, K_VERDICT),
			cstr(st->streak, 0, K_REASON),
			cstr(st->streak, 0, K_SINCE), k, k == 1 ? "" : "s");
	}
	if (last_stale(st)) {
		label(out, 4, "outcome");
		wrap(out, LABEL, "stale: the registry's DS set changed during "
				 "the scan, so the change was left alone; the "
				 "next scan decides again");
	}
	for (int i = 0; i < PQntuples(q); i++) {
		const char *run = col(q, i, Q_RUN);

		snprintf(buf, sizeof buf, "request %s", cstr(q, i, Q_ID));
		label(out, 4, buf);
		fprintf(out, "%s, new since %s", cstr(q, i, Q_KIND),
			cstr(q, i, Q_CREATED));
		if (run)
			fprintf(out, " (run %s)", run);
		fprintf(out, "\n%*s", LABEL, "");
		print_rrs(out, LABEL, col(q, i, Q_AFTER), "no DS (delete)");
	}
	for (int i = 0; i < PQntuples(c); i++) {
		snprintf(buf, sizeof buf, "run %s", cstr(c, i, C_RUN));
		if (strcmp(cstr(c, i, C_STATE), "claimed") == 0)
			labelf(out, 4, buf, "claimed by %s, lease until %s%s",
				cstr(c, i, C_WORKER), cstr(c, i, C_LEASE),
				col_true(c, i, C_LAPSED) ? " (lapsed)" : "");
		else
			labelf(out, 4, buf, "queued");
	}
}

static void text_last_change(FILE *out, const PGresult *a)
{
	const char *run;

	label(out, 2, "last change");
	if (PQntuples(a) == 0) {
		fprintf(out, "none recorded\n");
		return;
	}
	run = col(a, 0, A_RUN);
	fprintf(out, "%s by %s (%s", cstr(a, 0, A_TIME), cstr(a, 0, A_ACTOR),
		cstr(a, 0, A_KIND));
	if (run)
		fprintf(out, ", run %s", run);
	fprintf(out, ")\n");
	label(out, 4, "before");
	print_rrs(out, LABEL, col(a, 0, A_BEFORE), "none");
	label(out, 4, "after");
	print_rrs(out, LABEL, col(a, 0, A_AFTER), "none");
}

static void json_rrset(struct json *j, const char *key, const PGresult *r,
		       int i, int c_state, int c_sig, int c_rrs)
{
	json_object_begin(j, key);
	json_str(j, "state", col(r, i, c_state));
	json_str(j, "signature", col(r, i, c_sig));
	json_strv(j, "records", col(r, i, c_rrs));
	json_object_end(j);
}

static void json_servers(struct json *j, const PGresult *r)
{
	json_array_begin(j, "servers");
	for (int i = 0; r && i < PQntuples(r); i++) {
		json_object_begin(j, NULL);
		json_str(j, "name", col(r, i, V_NAME));
		json_str(j, "address", col(r, i, V_ADDR));
		json_str(j, "transport", col(r, i, V_TRANSPORT));
		json_str(j, "error", col(r, i, V_ERROR));
		json_int_or_null(j, "soa_serial", r, i, V_SERIAL);
		json_str(j, "dnskey_state", col(r, i, V_DNSKEY));
		if (col(r, i, V_PROVEN))
			json_bool(j, "dnskey_proven", col_true(r, i, V_PROVEN));
		else
			json_null(j, "dnskey_proven");
		json_rrset(j, "cds", r, i, V_CDS, V_CDS_SIG, V_CDS_RRS);
		json_rrset(j, "cdnskey", r, i, V_CDNSKEY, V_CDNSKEY_SIG,
			   V_CDNSKEY_RRS);
		json_object_end(j);
	}
	json_array_end(j);
}

static void json_last_scan(struct json *j, const struct status *st)
{
	const PGresult *s = st->scan;

	if (PQntuples(s) == 0) {
		json_null(j, "last_scan");
		return;
	}
	json_object_begin(j, "last_scan");
	json_int(j, "id", col_int(s, 0, S_ID));
	json_str(j, "time", col(s, 0, S_TIME));
	json_int_or_null(j, "run", s, 0, S_RUN);
	json_str(j, "worker", col(s, 0, S_WORKER));
	json_bool(j, "dry_run", col_true(s, 0, S_DRY));
	json_str(j, "verdict", col(s, 0, S_VERDICT));
	json_str(j, "reason", col(s, 0, S_REASON));
	json_str(j, "detail", col(s, 0, S_DETAIL));
	json_strv(j, "current_ds", col(s, 0, S_CURRENT));
	json_strv(j, "proposed_ds", col(s, 0, S_PROPOSED));
	json_int(j, "queries", col_int(s, 0, S_QUERIES));
	json_str(j, "outcome", col(s, 0, S_OUTCOME));
	json_servers(j, st->servers);
	json_object_end(j);
}

static void json_pending(struct json *j, const struct status *st)
{
	const PGresult *q = st->requests, *c = st->claims;

	json_object_begin(j, "pending");
	if (streak_open(st)) {
		json_object_begin(j, "verdict");
		json_str(j, "verdict", col(st->streak, 0, K_VERDICT));
		json_str(j, "reason", col(st->streak, 0, K_REASON));
		json_str(j, "since", col(st->streak, 0, K_SINCE));
		json_int(j, "scans", col_int(st->streak, 0, K_SCANS));
		json_object_end(j);
	} else {
		json_null(j, "verdict");
	}
	json_bool(j, "stale", last_stale(st));
	{
		struct boot_progress b;

		if (boot_progress(st, &b)) {
			json_object_begin(j, "bootstrap");
			json_int(j, "scans", b.nth);
			json_int(j, "needed", b.of);
			json_str(j, "eligible_after", b.after);
			json_object_end(j);
		} else {
			json_null(j, "bootstrap");
		}
	}
	json_array_begin(j, "change_requests");
	for (int i = 0; i < PQntuples(q); i++) {
		json_object_begin(j, NULL);
		json_int(j, "id", col_int(q, i, Q_ID));
		json_str(j, "created", col(q, i, Q_CREATED));
		json_str(j, "kind", col(q, i, Q_KIND));
		json_strv(j, "before", col(q, i, Q_BEFORE));
		json_strv(j, "after", col(q, i, Q_AFTER));
		json_int_or_null(j, "run", q, i, Q_RUN);
		json_object_end(j);
	}
	json_array_end(j);
	json_array_begin(j, "runs");
	for (int i = 0; i < PQntuples(c); i++) {
		json_object_begin(j, NULL);
		json_int(j, "run", col_int(c, i, C_RUN));
		json_str(j, "state", col(c, i, C_STATE));
		json_str(j, "worker", col(c, i, C_WORKER));
		json_str(j, "lease_until", col(c, i, C_LEASE));
		json_bool(j, "lapsed", col_true(c, i, C_LAPSED));
		json_object_end(j);
	}
	json_array_end(j);
	json_object_end(j);
}

/* The audit row at `i` as a JSON object; with_evidence for history. */
static void json_change(struct json *j, const char *key, const PGresult *a,
			int i, bool with_evidence)
{
	const char *ev = col(a, i, A_EVIDENCE);

	json_object_begin(j, key);
	json_int(j, "id", col_int(a, i, A_ID));
	json_str(j, "time", col(a, i, A_TIME));
	json_str(j, "actor", col(a, i, A_ACTOR));
	json_str(j, "kind", col(a, i, A_KIND));
	json_int_or_null(j, "run", a, i, A_RUN);
	json_int_or_null(j, "scan", a, i, A_SCAN);
	json_strv(j, "before", col(a, i, A_BEFORE));
	json_strv(j, "after", col(a, i, A_AFTER));
	/* CSYNC (history only): the NS set and in-bailiwick glue */
	if (with_evidence && strncmp(cstr(a, i, A_KIND), "ns-", 3) == 0) {
		json_strv(j, "before_ns", col(a, i, H_BNS));
		json_strv(j, "after_ns", col(a, i, H_ANS));
		json_strv(j, "before_glue", col(a, i, H_BGLUE));
		json_strv(j, "after_glue", col(a, i, H_AGLUE));
	}
	if (with_evidence) {
		if (ev)
			json_raw(j, "evidence", ev);
		else
			json_null(j, "evidence");
	}
	json_object_end(j);
}

static void json_status(FILE *out, const struct status *st)
{
	const PGresult *d = st->deleg;
	struct json j;

	json_init(&j, out, true);
	json_object_begin(&j, NULL);
	json_str(&j, "domain", col(d, 0, D_NAME));
	json_object_begin(&j, "registry");
	json_strv(&j, "ns", col(d, 0, D_NS));
	json_strv(&j, "ds", col(d, 0, D_DS));
	json_strv(&j, "statuses", col(d, 0, D_STATUSES));
	json_bool(&j, "optout", col_true(d, 0, D_OPTOUT));
	json_str(&j, "registrar", col(d, 0, D_REGISTRAR));
	json_object_end(&j);
	json_last_scan(&j, st);
	json_pending(&j, st);
	if (PQntuples(st->audit)) {
		json_change(&j, "last_change", st->audit, 0, false);
	} else {
		json_null(&j, "last_change");
	}
	json_object_end(&j);
	json_finish(&j);
}

int db_report_status(struct db *db, const char *domain, bool json, FILE *out)
{
	struct status st = {0};
	int ret;

	if ((ret = snapshot_begin(db)) != 0)
		return ret;
	if ((ret = status_read(db, domain, &st)) != 0)
		goto out;
	if (json) {
		json_status(out, &st);
	} else {
		text_registry(out, &st);
		text_last_scan(out, &st);
		text_pending(out, &st);
		text_last_change(out, st.audit);
		/* CSYNC: a change held for approval, and the last verdict */
		if ((ret = db_csync_status(db, domain, out)) != 0)
			goto out;
		/* sink epp: the domain's changes on their way to the registry */
		ret = db_outbox_status(db, domain, out);
	}
out:
	snapshot_end(db);
	status_clear(&st);
	return ret;
}

/* ---- cdscan history ----------------------------------------------------- */

/*
 * Per-server lines of the evidence db/record.c writes into the audit row:
 * servers[] with name, address, error, and per RRset "cds_rrset" /
 * "cdnskey_rrset" (state, signature, key_tag) next to the records "cds" /
 * "cdnskey". Read with jsonb operators so that an evidence without some
 * key still prints what there is (an import has no evidence at all).
 */
enum { E_NAME, E_ADDR, E_ERROR, E_CDS, E_CDS_SIG, E_CDS_KEY, E_CDS_N,
       E_CDNSKEY, E_CDNSKEY_SIG, E_CDNSKEY_KEY, E_CDNSKEY_N };
#define SQL_EV_RRSET(t)                                                      \
	"e->'" t "_rrset'->>'state', e->'" t "_rrset'->>'signature', "        \
	"e->'" t "_rrset'->>'key_tag', "                                     \
	"CASE WHEN jsonb_typeof(e->'" t "') = 'array' "                      \
	"     THEN jsonb_array_length(e->'" t "') END"
static const char SQL_EVIDENCE_SERVERS[] =
	"SELECT e->>'name', e->>'address', e->>'error', "
	SQL_EV_RRSET("cds") ", " SQL_EV_RRSET("cdnskey") " "
	"FROM cdscan.audit a, jsonb_array_elements(CASE "
	"  WHEN jsonb_typeof(a.evidence->'servers') = 'array' "
	"  THEN a.evidence->'servers' ELSE '[]' END) e "
	"WHERE a.id = $1";

static const char SQL_HISTORY[] =
	"SELECT a.id, " TS("a.time") ", a.actor, a.kind, a.run_id, a.scan_id, "
	"a.before_ds, a.after_ds, a.evidence::text, "
	"coalesce(a.evidence->>'decision', s.verdict), "
	"coalesce(a.evidence->>'reason', s.reason), "
	"coalesce(a.evidence->>'detail', s.detail), "
	"a.before_ns, a.after_ns, a.before_glue, a.after_glue "
	"FROM cdscan.audit a LEFT JOIN cdscan.scan s ON s.id = a.scan_id "
	"WHERE a.domain = $1 ORDER BY a.id DESC";

/* "CDS      present, 2 records, signature valid (key 2371)", as status
   prints it. Columns: state, signature, key tag, count. */
static void text_ev_rrset(FILE *out, const char *name, const PGresult *e,
			  int i, int c_state)
{
	const char *state = col(e, i, c_state), *sig = col(e, i, c_state + 1);
	const char *key = col(e, i, c_state + 2), *n = col(e, i, c_state + 3);

	if (!state)
		return;
	fprintf(out, "        %-9s%s", name, state);
	if (n && strcmp(state, "present") == 0)
		fprintf(out, ", %s record%s", n, strcmp(n, "1") ? "s" : "");
	if (sig && strcmp(sig, "none") != 0)
		fprintf(out, ", signature %s", sig);
	if (key)
		fprintf(out, " (key %s)", key);
	fputc('\n', out);
}

/* An NS/glue audit row (CSYNC): the sets before and after, and per
   server the CSYNC it showed (from the evidence). */
static void text_ns_change(FILE *out, const PGresult *a, int i)
{
	label(out, 4, "NS before");
	print_rrs(out, LABEL, col(a, i, H_BNS), "none");
	label(out, 4, "NS after");
	print_rrs(out, LABEL, col(a, i, H_ANS), "none");
	label(out, 4, "glue before");
	print_rrs(out, LABEL, col(a, i, H_BGLUE), "none");
	label(out, 4, "glue after");
	print_rrs(out, LABEL, col(a, i, H_AGLUE), "none");
}

static const char SQL_EVIDENCE_CSYNC[] =
	"SELECT e->>'name', e->>'address', e->'csync'->>'state', "
	"e->'csync'->>'signature', e->'csync'->>'serial', "
	"e->'csync'->>'flags', e->>'soa_serial', e->>'soa_serial_after' "
	"FROM cdscan.audit a, jsonb_array_elements(CASE "
	"  WHEN jsonb_typeof(a.evidence->'servers') = 'array' "
	"  THEN a.evidence->'servers' ELSE '[]' END) e "
	"WHERE a.id = $1 AND e ? 'csync'";

/* "CSYNC    present, serial 3, flags 1, signature valid-ds-key" and the
   SOA serial before and after, per server of a CSYNC audit row. */
static int text_evidence_csync(struct db *db, FILE *out, const PGresult *a,
			       int i)
{
	const char *id[1] = {col(a, i, A_ID)};
	PGresult *e = db_exec(db, SQL_EVIDENCE_CSYNC, 1, id);

	if (!e)
		return CDS_EDB;
	if (PQntuples(e) > 0)
		fprintf(out, "    servers\n");
	for (int k = 0; k < PQntuples(e); k++) {
		fprintf(out, "      %s %s\n", cstr(e, k, 0), cstr(e, k, 1));
		fprintf(out, "        %-9s%s", "CSYNC", cstr(e, k, 2));
		if (col(e, k, 4))
			fprintf(out, ", serial %s, flags %s", cstr(e, k, 4),
				cstr(e, k, 5));
		if (col(e, k, 3) && strcmp(cstr(e, k, 3), "none") != 0)
			fprintf(out, ", signature %s", cstr(e, k, 3));
		fputc('\n', out);
		if (col(e, k, 6))
			fprintf(out, "        %-9s%s%s%s\n", "SOA",
				cstr(e, k, 6), col(e, k, 7) ? " then " : "",
				col(e, k, 7) ? cstr(e, k, 7) : "");
	}
	PQclear(e);
	return CDS_OK;
}

static int text_evidence(struct db *db, FILE *out, const PGresult *a, int i)
{
	const char *id[1] = {col(a, i, A_ID)}, *detail = col(a, i, H_DETAIL);
	PGresult *e;

	if (col(a, i, H_VERDICT)) {
		fprintf(out, "    %-12s%s (%s)\n", "decision",
			cstr(a, i, H_VERDICT),
			col(a, i, H_REASON) ? cstr(a, i, H_REASON) : "-");
		if (detail && detail[0]) {
			fprintf(out, "%*s", LABEL, "");
			wrap(out, LABEL, detail);
		}
	}
	if (strncmp(cstr(a, i, A_KIND), "ns-", 3) == 0) {
		if (!col(a, i, A_EVIDENCE))
			labelf(out, 4, "evidence", "none recorded");
		return text_evidence_csync(db, out, a, i);
	}
	if (!(e = db_exec(db, SQL_EVIDENCE_SERVERS, 1, id)))
		return CDS_EDB;
	if (!col(a, i, A_EVIDENCE))
		labelf(out, 4, "evidence", "none recorded");
	else if (PQntuples(e) > 0)
		fprintf(out, "    servers\n");
	for (int k = 0; k < PQntuples(e); k++) {
		const char *err = col(e, k, E_ERROR);

		fprintf(out, "      %s %s\n", col(e, k, E_NAME)
			? cstr(e, k, E_NAME) : "?", cstr(e, k, E_ADDR));
		if (err && err[0]) {
			fprintf(out, "        %-9s", "error");
			wrap(out, 17, err);
		}
		text_ev_rrset(out, "CDS", e, k, E_CDS);
		text_ev_rrset(out, "CDNSKEY", e, k, E_CDNSKEY);
	}
	PQclear(e);
	return CDS_OK;
}

static int text_history(struct db *db, FILE *out, const char *domain,
			const PGresult *a)
{
	int n = PQntuples(a), n_ns = 0, ret;

	if (n == 0) {
		fprintf(out, "%s: no DS changes recorded\n", domain);
		return CDS_OK;
	}
	for (int i = 0; i < n; i++)
		n_ns += strncmp(cstr(a, i, A_KIND), "ns-", 3) == 0;
	fprintf(out, "%s: %d %schange%s, newest first\n", domain, n,
		n_ns ? "" : "DS ", n == 1 ? "" : "s");
	for (int i = 0; i < n; i++) {
		const char *run = col(a, i, A_RUN);

		fprintf(out, "\n%s  %s  %s", cstr(a, i, A_TIME),
			cstr(a, i, A_ACTOR), cstr(a, i, A_KIND));
		if (run)
			fprintf(out, "  run %s", run);
		fputc('\n', out);
		if (strncmp(cstr(a, i, A_KIND), "ns-", 3) == 0) {
			/* CSYNC: the NS set and glue; the DS set stayed */
			text_ns_change(out, a, i);
		} else {
			label(out, 4, "before");
			print_rrs(out, LABEL, col(a, i, A_BEFORE), "none");
			label(out, 4, "after");
			print_rrs(out, LABEL, col(a, i, A_AFTER), "none");
		}
		if ((ret = text_evidence(db, out, a, i)) != 0)
			return ret;
	}
	return CDS_OK;
}

static void json_history(FILE *out, const PGresult *a)
{
	struct json j;

	json_init(&j, out, true);
	json_array_begin(&j, NULL);
	for (int i = 0; i < PQntuples(a); i++) {
		json_change(&j, NULL, a, i, true);
	}
	json_array_end(&j);
	json_finish(&j);
}

int db_report_history(struct db *db, const char *domain, bool json, FILE *out)
{
	const char *p[1] = {domain};
	PGresult *a = NULL, *d = NULL;
	int ret;

	if ((ret = snapshot_begin(db)) != 0)
		return ret;
	ret = CDS_EDB;
	if (!(a = db_exec(db, SQL_HISTORY, 1, p)) ||
	    !(d = db_exec(db, SQL_DELEG, 1, p)))
		goto out;
	/* A domain the registry no longer holds keeps its history. */
	if (PQntuples(a) == 0 && PQntuples(d) == 0) {
		snprintf(db->err, sizeof db->err,
			 "%s: not a delegation the registry holds, and no "
			 "history", domain);
		ret = CDS_ENOTFOUND;
		goto out;
	}
	ret = CDS_OK;
	if (json)
		json_history(out, a);
	else
		ret = text_history(db, out, domain, a);
out:
	snapshot_end(db);
	PQclear(a);
	PQclear(d);
	return ret;
}

/* ---- cdscan runs and the run summary ------------------------------------ */

/*
 * One row per run. A running run's duration runs to its newest recorded
 * scan (not to now), so that its rate means the scanning rate and a
 * report of a stopped run does not change while nobody works on it.
 * The counts are the run's own once it finished (schema 15), so that a
 * list of ten runs of a million delegations each does not read ten
 * million scans.
 */
enum { R_ID, R_STARTED, R_FINISHED, R_STATE, R_DRY, R_SELECTION, R_TOTAL,
       R_DONE, R_SECS, R_WORKERS, R_QUERIES, R_UNCHANGED, R_UPDATE, R_DELETE,
       R_REJECTED, R_PENDING, R_APPLIED, R_REQUESTED, R_STALE };
#define SUM_OF(i, cond)                                                      \
	"coalesce(sum((e->>" i ")::bigint)" cond ", 0)"
#define OF_VERDICT(v) " FILTER (WHERE e->>0 = '" v "')"
#define SQL_RUNS_SELECT                                                      \
	"SELECT r.id, " TS("r.started") ", " TS("r.finished") ", r.state, "  \
	"r.dry_run, r.selection, r.total, "                                  \
	"s.n, "                                                              \
	"extract(epoch FROM coalesce(r.finished, to_timestamp(s.last), "     \
	"                            r.started) - r.started), "              \
	"(SELECT count(*) FROM cdscan.worker w WHERE w.run_id = r.id), "     \
	"s.queries, s.unchanged, s.update, s.delete, s.rejected, s.pending, "\
	"s.applied, s.requested, s.stale "                                   \
	"FROM cdscan.run r CROSS JOIN LATERAL (SELECT "                      \
	" max((e->>7)::numeric) AS last, " SUM_OF("2", "") " AS n, "         \
	SUM_OF("3", "") " AS queries, "                                      \
	SUM_OF("2", OF_VERDICT("unchanged")) " AS unchanged, "               \
	SUM_OF("2", OF_VERDICT("update")) " AS update, "                     \
	SUM_OF("2", OF_VERDICT("delete")) " AS delete, "                     \
	SUM_OF("2", OF_VERDICT("rejected")) " AS rejected, "                 \
	SUM_OF("2", OF_VERDICT("pending")) " AS pending, "                   \
	SUM_OF("4", "") " AS applied, " SUM_OF("5", "") " AS requested, "    \
	SUM_OF("6", "") " AS stale "                                         \
	" FROM jsonb_array_elements(" DB_SQL_RUN_COUNTS_OF("r")             \
	"  -> 'reasons') e) s "

static const char *const verdicts[] = {"unchanged", "update", "delete",
				       "rejected", "pending"};

/* "all", or the first names of a long selection and how many there are. */
static const char *short_selection(const char *sel, char *buf, size_t size)
{
	size_t words = 1, room = size > 20 ? size - 20 : size;

	if (strlen(sel) < size) {
		snprintf(buf, size, "%s", sel);
		return buf;
	}
	for (const char *p = sel; *p; p++)
		words += *p == ' ';
	while (room > 0 && sel[room] != ' ')
		room--;
	snprintf(buf, size, "%.*s \u2026 (%zu names)", (int)room, sel, words);
	return buf;
}

static double run_rate(const PGresult *r, int i, int c)
{
	double secs = col_double(r, i, R_SECS);

	return secs > 0 ? (double)col_int(r, i, c) / secs : 0;
}

static void text_runs(FILE *out, const PGresult *r)
{
	char dur[32], sel[WIDTH - 6 + 1];

	if (PQntuples(r) == 0) {
		fprintf(out, "no runs recorded\n");
		return;
	}
	fprintf(out, "%5s  %-20s  %8s  %-7s  %13s  %7s  %7s\n", "RUN",
		"STARTED", "DURATION", "STATE", "DONE/TOTAL", "DELEG/S",
		"WORKERS");
	for (int i = 0; i < PQntuples(r); i++) {
		char dt[40];

		snprintf(dt, sizeof dt, "%" PRId64 "/%" PRId64,
			 col_int(r, i, R_DONE), col_int(r, i, R_TOTAL));
		fprintf(out, "%5s  %-20s  %8s  %-7s  %13s  %7.1f  %7" PRId64 "\n",
			cstr(r, i, R_ID), cstr(r, i, R_STARTED),
			duration(col_double(r, i, R_SECS), dur, sizeof dur),
			cstr(r, i, R_STATE), dt, run_rate(r, i, R_DONE),
			col_int(r, i, R_WORKERS));
		fprintf(out, "%7s%s%s\n", "", col_true(r, i, R_DRY)
			? "dry run: " : "",
			short_selection(cstr(r, i, R_SELECTION), sel,
					sizeof sel - (col_true(r, i, R_DRY)
					? 9 : 0)));
		fprintf(out, "%7s", "");
		for (int v = 0; v < 5; v++)
			fprintf(out, "%s%" PRId64 " %s", v ? ", " : "",
				col_int(r, i, R_UNCHANGED + v), verdicts[v]);
		fprintf(out, "\n%7s%" PRId64 " applied, %" PRId64 " requested, "
			"%" PRId64 " stale; %" PRId64 " queries\n", "",
			col_int(r, i, R_APPLIED), col_int(r, i, R_REQUESTED),
			col_int(r, i, R_STALE), col_int(r, i, R_QUERIES));
	}
}

static void json_run(struct json *j, const PGresult *r, int i)
{
	char rate[32];

	json_int(j, "id", col_int(r, i, R_ID));
	json_str(j, "started", col(r, i, R_STARTED));
	json_str(j, "finished", col(r, i, R_FINISHED));
	json_str(j, "state", col(r, i, R_STATE));
	json_bool(j, "dry_run", col_true(r, i, R_DRY));
	json_str(j, "selection", col(r, i, R_SELECTION));
	json_int(j, "total", col_int(r, i, R_TOTAL));
	json_int(j, "done", col_int(r, i, R_DONE));
	json_int(j, "seconds", (int64_t)(col_double(r, i, R_SECS) + 0.5));
	/* json.h writes integers only: a rate with one decimal, as a
	   number all the same. */
	snprintf(rate, sizeof rate, "%.1f", run_rate(r, i, R_DONE));
	json_raw(j, "delegations_per_second", rate);
	snprintf(rate, sizeof rate, "%.1f", run_rate(r, i, R_QUERIES));
	json_raw(j, "queries_per_second", rate);
	json_int(j, "queries", col_int(r, i, R_QUERIES));
	json_int(j, "workers", col_int(r, i, R_WORKERS));
	json_object_begin(j, "verdicts");
	for (int v = 0; v < 5; v++)
		json_int(j, verdicts[v], col_int(r, i, R_UNCHANGED + v));
	json_object_end(j);
	json_object_begin(j, "outcomes");
	json_int(j, "applied", col_int(r, i, R_APPLIED));
	json_int(j, "requested", col_int(r, i, R_REQUESTED));
	json_int(j, "stale", col_int(r, i, R_STALE));
	json_object_end(j);
}

int db_report_runs(struct db *db, size_t limit, bool json, FILE *out)
{
	char lim[32];
	const char *p[1] = {lim};
	PGresult *r;
	struct json j;
	int ret;

	snprintf(lim, sizeof lim, "%zu", limit);
	if ((ret = snapshot_begin(db)) != 0)
		return ret;
	r = db_exec(db, SQL_RUNS_SELECT "ORDER BY r.id DESC LIMIT $1", 1, p);
	snapshot_end(db);
	if (!r)
		return CDS_EDB;
	if (json) {
		json_init(&j, out, true);
		json_array_begin(&j, NULL);
		for (int i = 0; i < PQntuples(r); i++) {
			json_object_begin(&j, NULL);
			json_run(&j, r, i);
			json_object_end(&j);
		}
		json_array_end(&j);
		json_finish(&j);
	} else {
		text_runs(out, r);
	}
	PQclear(r);
	return CDS_OK;
}

/*
 * The end of a run: what the run row says and its counts per verdict and
 * reason with their queries, outcomes and newest time (kept with the run
 * when it finished, else taken from its scans in one pass); the totals
 * are summed here. Verdicts in the order of enum cds_verdict, reasons by
 * count.
 */
enum { U_ID, U_DRY, U_SELECTION, U_TOTAL, U_STARTED, U_FINISHED };
static const char SQL_RUN_ONE[] =
	"SELECT id, dry_run, selection, total, extract(epoch FROM started), "
	"extract(epoch FROM finished) FROM cdscan.run WHERE id = $1";

enum { G_VERDICT, G_REASON, G_N, G_QUERIES, G_APPLIED, G_REQUESTED,
       G_STALE, G_LAST };
static const char SQL_RUN_REASONS[] =
	"SELECT e->>0, e->>1, e->>2, e->>3, e->>4, e->>5, e->>6, e->>7 "
	"FROM cdscan.run r, jsonb_array_elements(" DB_SQL_RUN_COUNTS_OF("r")
	" -> 'reasons') e WHERE r.id = $1 "
	"ORDER BY array_position(ARRAY['unchanged', 'update', 'delete', "
	"'rejected', 'pending'], e->>0), e->>0, (e->>2)::bigint DESC, e->>1";

static void text_summary(FILE *out, const PGresult *r, const PGresult *g)
{
	char dur[32], sel[48];
	const char *last = NULL;
	int64_t n = 0, done = 0, queries = 0, applied = 0, requested = 0,
		stale = 0;
	double started = col_double(r, 0, U_STARTED), end = started, secs;

	for (int i = 0; i < PQntuples(g); i++) {
		done += col_int(g, i, G_N);
		queries += col_int(g, i, G_QUERIES);
		applied += col_int(g, i, G_APPLIED);
		requested += col_int(g, i, G_REQUESTED);
		stale += col_int(g, i, G_STALE);
		if (col_double(g, i, G_LAST) > end)
			end = col_double(g, i, G_LAST);
	}
	/* as in cdscan runs: to the end, else to the newest scan */
	if (col(r, 0, U_FINISHED))
		end = col_double(r, 0, U_FINISHED);
	secs = end - started;
	fprintf(out, "run %s%s (%s): %" PRId64 "/%" PRId64 " delegations in "
		"%s, %.1f/s, %" PRId64 " queries, %.1f/s\n", cstr(r, 0, U_ID),
		col_true(r, 0, U_DRY) ? ", dry run" : "",
		short_selection(cstr(r, 0, U_SELECTION), sel, sizeof sel),
		done, col_int(r, 0, U_TOTAL), duration(secs, dur, sizeof dur),
		secs > 0 ? (double)done / secs : 0, queries,
		secs > 0 ? (double)queries / secs : 0);
	for (int i = 0; i < PQntuples(g); i++) {
		const char *v = col(g, i, G_VERDICT);

		if (!last || strcmp(last, v) != 0) {
			n = 0;
			for (int k = i; k < PQntuples(g) &&
					strcmp(col(g, k, G_VERDICT), v) == 0;
			     k++)
				n += col_int(g, k, G_N);
			fprintf(out, "  %-32s%10" PRId64 "\n", v, n);
			last = v;
		}
		fprintf(out, "    %-30s%10s\n", cstr(g, i, G_REASON),
			cstr(g, i, G_N));
	}
	fprintf(out, "  %" PRId64 " applied, %" PRId64 " requested, %" PRId64
		" stale\n", applied, requested, stale);
}

int db_report_run_summary(struct db *db, int64_t run_id, FILE *out)
{
	char id[32];
	const char *p[1] = {id};
	PGresult *r = NULL, *g = NULL;
	int ret;

	snprintf(id, sizeof id, "%" PRId64, run_id);
	if ((ret = snapshot_begin(db)) != 0)
		return ret;
	ret = CDS_EDB;
	if (!(r = db_exec(db, SQL_RUN_ONE, 1, p)) ||
	    !(g = db_exec(db, SQL_RUN_REASONS, 1, p)))
		goto out;
	if (PQntuples(r) == 0) {
		snprintf(db->err, sizeof db->err, "no run %s", id);
		ret = CDS_ENOTFOUND;
		goto out;
	}
	text_summary(out, r, g);
	ret = CDS_OK;
out:
	snapshot_end(db);
	PQclear(r);
	PQclear(g);
	return ret;
}
