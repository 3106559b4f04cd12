/*
 * Notifications: the events registrars and registries mail their
 * customers from. An event row (cdscan.event, db/sql/003_events.sql) is
 * written in the transaction of what it reports: a DS change by the
 * trigger on cdscan.audit, a streak of rejected scans here, right after
 * the batch that recorded the scan that completed it. Delivery is apart
 * from scanning: `cdscan notify` takes one due event at a time under a
 * row lock (FOR UPDATE SKIP LOCKED, so several notifiers never hand the
 * same event out twice), runs the hook, and records the outcome with
 * back-off, so a hook that fails or hangs never holds up a scan.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "core/json.h"
#include "db/db_int.h"

/* A timestamptz column as "2024-05-01T02:00:00Z" (NULL stays NULL). */
#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', " \
		"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* ---- writing ------------------------------------------------------------- */

int db_events_rejected(struct db *db, int64_t run_id,
		       const struct db_result *res, size_t n)
{
	const char **names = NULL;
	char *lit = NULL, *counts = NULL, id[24];
	size_t k = 0, len = 0;
	FILE *f = NULL;
	PGresult *r = NULL;
	int ret = CDS_OK;

	for (size_t i = 0; i < n; i++)
		if (res[i].dec->rejected_event)
			k++;
	if (k == 0)
		return CDS_OK;
	ret = CDS_ENOMEM;
	if (!(names = calloc(k, sizeof *names)) ||
	    !(f = open_memstream(&counts, &len)))
		goto nomem;
	fputc('{', f);
	k = 0;
	for (size_t i = 0; i < n; i++) {
		if (!res[i].dec->rejected_event)
			continue;
		fprintf(f, "%s%u", k ? "," : "", res[i].dec->rejected_event);
		names[k++] = res[i].deleg->name;
	}
	fputc('}', f);
	if (fclose(f) != 0) {
		f = NULL;
		goto nomem;
	}
	f = NULL;
	if (!(lit = db_array_literal(names, k)))
		goto nomem;
	snprintf(id, sizeof id, "%lld", (long long)run_id);
	{
		const char *p[3] = {id, lit, counts};

		/* Only scans this batch really recorded (the claim held):
		   looked up by run and domain, which the run records once.
		   One probe of scan_once_per_run per name (the LATERAL
		   with OFFSET 0 is not flattened into a join): the run is
		   newer than the table's statistics, so the planner takes
		   it for a few rows and, as a join, hashed every scan the
		   run had recorded so far, for each batch — up to 275 ms
		   a batch at 100k (docs/BENCH.md). The delegation is
		   matched under the database's collation, its index's in
		   the reference tables: a scan's name alone compares
		   bytewise (schema 17). */
		r = db_exec(db,
			    "INSERT INTO cdscan.event (time, domain, kind,"
			    " payload, run_id, scan_id, next_attempt)"
			    " SELECT s.time, s.domain, 'rejected',"
			    "  jsonb_build_object('reason', s.reason,"
			    "  'detail', s.detail, 'scans', x.scans,"
			    "  'registrar', d.registrar, 'run', s.run_id,"
			    "  'scan', s.id),"
			    "  s.run_id, s.id, s.time"
			    " FROM unnest($2::text[], $3::int[]) AS x(domain, scans)"
			    " CROSS JOIN LATERAL (SELECT s.* FROM cdscan.scan s"
			    "  WHERE s.run_id = $1 AND s.domain = x.domain"
			    "  AND NOT s.dry_run OFFSET 0) s"
			    " LEFT JOIN cdscan.delegation d"
			    "  ON d.name = s.domain COLLATE \"default\"",
			    3, p);
	}
	ret = r ? CDS_OK : CDS_EDB;
	goto out;
nomem:
	snprintf(db->err, sizeof db->err, "out of memory");
out:
	PQclear(r);
	if (f)
		fclose(f);
	free(counts);
	free(lit);
	free(names);
	return ret;
}

/* ---- delivery ------------------------------------------------------------ */

void db_event_deinit(struct db_event *ev)
{
	free(ev->json);
	ev->json = NULL;
}

int db_event_next(struct db *db, int64_t now, struct db_event *ev,
		  bool *found)
{
	char t[24];
	const char *p[1] = {t};
	PGresult *r;
	int ret;

	memset(ev, 0, sizeof *ev);
	*found = false;
	snprintf(t, sizeof t, "%lld", (long long)now);
	if ((ret = db_cmd(db, "BEGIN")) != 0)
		return ret;
	/* The hook receives id, time, domain, kind and attempt, then the
	   payload's keys: one JSON object on one line. */
	r = db_exec(db,
		    "SELECT id, domain, kind, attempts,"
		    " (jsonb_build_object('id', id, 'time', " TS("time") ","
		    "  'domain', domain, 'kind', kind, 'attempt', attempts + 1)"
		    "  || payload)::text"
		    " FROM cdscan.event WHERE state = 'pending'"
		    " AND next_attempt <= to_timestamp($1)"
		    " ORDER BY next_attempt, id LIMIT 1 FOR UPDATE SKIP LOCKED",
		    1, p);
	if (!r)
		goto fail;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return db_cmd(db, "COMMIT");
	}
	ev->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	snprintf(ev->domain, sizeof ev->domain, "%s", PQgetvalue(r, 0, 1));
	snprintf(ev->kind, sizeof ev->kind, "%s", PQgetvalue(r, 0, 2));
	ev->attempts = atoi(PQgetvalue(r, 0, 3));
	ev->json = strdup(PQgetvalue(r, 0, 4));
	PQclear(r);
	if (!ev->json) {
		snprintf(db->err, sizeof db->err, "out of memory");
		db_rollback(db);
		return CDS_ENOMEM;
	}
	*found = true;
	return CDS_OK;
fail:
	db_rollback(db);
	return CDS_EDB;
}

int db_event_finish(struct db *db, const struct db_event *ev, bool delivered,
		    const char *error, int64_t now, int64_t retry_ms,
		    int max_attempts, const char **state)
{
	char id[24], t[24], retry[24], max[16];
	const char *p[6] = {id, t, retry, max, error, delivered ? "t" : "f"};
	PGresult *r;

	snprintf(id, sizeof id, "%lld", (long long)ev->id);
	snprintf(t, sizeof t, "%lld", (long long)now);
	snprintf(retry, sizeof retry, "%lld", (long long)retry_ms);
	snprintf(max, sizeof max, "%d", max_attempts);
	/* Back-off: retry, 2 retry, 4 retry ... after failures 1, 2, 3,
	   at most a day apart, so a hook that is down for a while is not
	   hammered and one that comes back is used again within a day. */
	r = db_exec(db,
		    "UPDATE cdscan.event SET attempts = attempts + 1,"
		    " state = CASE WHEN $6::boolean THEN 'delivered'"
		    "  WHEN attempts + 1 >= $4::int THEN 'failed'"
		    "  ELSE 'pending' END,"
		    " delivered = CASE WHEN $6::boolean THEN to_timestamp($2)"
		    "  END,"
		    " last_error = CASE WHEN $6::boolean THEN last_error"
		    "  ELSE $5 END,"
		    " next_attempt = CASE WHEN $6::boolean THEN next_attempt"
		    "  ELSE to_timestamp($2) + least(interval '1 day',"
		    "  make_interval(secs => $3::float8 / 1000"
		    "  * power(2, least(attempts, 30)))) END"
		    " WHERE id = $1 RETURNING state",
		    6, p);
	if (!r)
		goto fail;
	if (state)
		*state = PQntuples(r) != 1                       ? "gone"
			 : strcmp(PQgetvalue(r, 0, 0), "failed") == 0 ? "failed"
			 : delivered                               ? "delivered"
								   : "pending";
	PQclear(r);
	return db_cmd(db, "COMMIT");
fail:
	db_rollback(db);
	return CDS_EDB;
}

/* ---- the report ------------------------------------------------------------ */

enum { E_ID, E_TIME, E_DOMAIN, E_KIND, E_STATE, E_ATTEMPTS, E_NEXT, E_ERROR,
       E_DELIVERED, E_PAYLOAD };

static const char *col(const PGresult *r, int row, int c)
{
	return PQgetisnull(r, row, c) ? NULL : PQgetvalue(r, row, c);
}

static void json_col(struct json *j, const char *key, const PGresult *r,
		     int row, int c)
{
	if (col(r, row, c))
		json_str(j, key, col(r, row, c));
	else
		json_null(j, key);
}

static void events_json(FILE *out, const PGresult *r)
{
	struct json j;

	json_init(&j, out, true);
	json_array_begin(&j, NULL);
	for (int i = 0; i < PQntuples(r); i++) {
		json_object_begin(&j, NULL);
		json_int(&j, "id", strtoll(PQgetvalue(r, i, E_ID), NULL, 10));
		json_str(&j, "time", PQgetvalue(r, i, E_TIME));
		json_str(&j, "domain", PQgetvalue(r, i, E_DOMAIN));
		json_str(&j, "kind", PQgetvalue(r, i, E_KIND));
		json_str(&j, "state", PQgetvalue(r, i, E_STATE));
		json_int(&j, "attempts", atoi(PQgetvalue(r, i, E_ATTEMPTS)));
		json_col(&j, "next_attempt", r, i, E_NEXT);
		json_col(&j, "last_error", r, i, E_ERROR);
		json_col(&j, "delivered", r, i, E_DELIVERED);
		json_raw(&j, "payload", PQgetvalue(r, i, E_PAYLOAD));
		json_object_end(&j);
	}
	json_array_end(&j);
	json_finish(&j);
	fputc('\n', out);
}

static void events_text(FILE *out, const PGresult *r, const char *domain)
{
	int n = PQntuples(r);

	if (n == 0) {
		fprintf(out, "%s%sno events recorded\n", domain ? domain : "",
			domain ? ": " : "");
		return;
	}
	fprintf(out, "%6s  %-20s  %-10s %-9s  %s\n", "ID", "TIME", "KIND",
		"STATE", "DOMAIN");
	for (int i = 0; i < n; i++) {
		const char *state = PQgetvalue(r, i, E_STATE);

		fprintf(out, "%6s  %-20s  %-10s %-9s  %s\n",
			PQgetvalue(r, i, E_ID), PQgetvalue(r, i, E_TIME),
			PQgetvalue(r, i, E_KIND), state,
			PQgetvalue(r, i, E_DOMAIN));
		if (strcmp(state, "delivered") == 0)
			fprintf(out, "        delivered %s after %s attempt(s)\n",
				PQgetvalue(r, i, E_DELIVERED),
				PQgetvalue(r, i, E_ATTEMPTS));
		else if (atoi(PQgetvalue(r, i, E_ATTEMPTS)) > 0)
			fprintf(out, "        %s attempt(s)%s%s, last error: "
				"%.60s\n", PQgetvalue(r, i, E_ATTEMPTS),
				strcmp(state, "pending") == 0 ? ", next at " : "",
				strcmp(state, "pending") == 0
					? PQgetvalue(r, i, E_NEXT) : "",
				col(r, i, E_ERROR) ? col(r, i, E_ERROR) : "?");
	}
}

int db_report_events(struct db *db, const char *domain, size_t limit,
		     bool json, FILE *out)
{
	char lim[24];
	const char *p[2] = {domain, lim};
	PGresult *r;

	snprintf(lim, sizeof lim, "%zu", limit);
	r = db_exec(db,
		    "SELECT id, " TS("time") ", domain, kind, state, attempts,"
		    " CASE WHEN state = 'pending' THEN " TS("next_attempt")
		    " END, last_error, " TS("delivered") ", payload::text"
		    " FROM cdscan.event WHERE $1::text IS NULL OR domain = $1"
		    " ORDER BY id DESC LIMIT $2::bigint",
		    2, p);
	if (!r)
		return CDS_EDB;
	if (json)
		events_json(out, r);
	else
		events_text(out, r, domain);
	PQclear(r);
	return CDS_OK;
}
