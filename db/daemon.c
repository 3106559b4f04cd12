/*
 * The few questions `cdscan daemon` asks the database between scans: is
 * a zone one of our delegations (for every NOTIFY, so one index probe on
 * the registry's view), and the gauges its metrics endpoint shows
 * (bootstrap progress, outbox depth and age). The scans themselves run
 * in children with their own connections; this is the parent's one.
 *
 * The parent runs the NOTIFY listener's loop, so none of these may wait
 * longer than the daemon's database timeout: a hung server (stopped,
 * partitioned, a lock held forever) would otherwise stall every
 * listener. The connection is made with PQconnectStart/PQconnectPoll and
 * each statement is sent and read without blocking, under one deadline;
 * the server is told the same limit (statement_timeout) so that it gives
 * up too. A timeout leaves the connection in an unknown state: callers
 * close it.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/errors.h"
#include "db/db_int.h"

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for the socket until `deadline`: 1 ready, 0 timed out, <0 error. */
static int wait_sock(PGconn *c, bool for_write, int64_t deadline)
{
	struct pollfd p = {.fd = PQsocket(c),
			   .events = for_write ? POLLOUT : POLLIN};
	int64_t left;
	int n;

	if (p.fd < 0)
		return -1;
	do {
		if ((left = deadline - now_ms()) <= 0)
			return 0;
		n = poll(&p, 1, (int)left);
	} while (n < 0 && errno == EINTR);
	return n;
}

/* One statement under a deadline; the result as db_exec gives it, or
   NULL with db->err set (CDS_ETIMEOUT in *rc when the time ran out). */
static PGresult *exec_bounded(struct db *db, const char *sql, int n,
			      const char *const *params, int64_t timeout_ms,
			      int *rc)
{
	int64_t deadline = now_ms() + timeout_ms;
	PGresult *r, *last = NULL;
	ExecStatusType st;
	int w, f;

	*rc = CDS_EDB;
	if (PQsetnonblocking(db->conn, 1) != 0 ||
	    !PQsendQueryParams(db->conn, sql, n, NULL, params, NULL, NULL, 0)) {
		db_fail(db, "database");
		return NULL;
	}
	while ((f = PQflush(db->conn)) == 1)
		if ((w = wait_sock(db->conn, true, deadline)) <= 0)
			goto timeout;
	if (f < 0)
		goto fail;
	for (;;) {
		while (PQisBusy(db->conn)) {
			if ((w = wait_sock(db->conn, false, deadline)) <= 0)
				goto timeout;
			if (!PQconsumeInput(db->conn))
				goto fail;
		}
		if (!(r = PQgetResult(db->conn)))
			break;
		PQclear(last);
		last = r;
	}
	st = last ? PQresultStatus(last) : PGRES_FATAL_ERROR;
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		*rc = CDS_OK;
		return last;
	}
	if (last && PQresultErrorMessage(last)[0]) {
		const char *m = PQresultErrorMessage(last);
		size_t len = strlen(m);

		while (len && (m[len - 1] == '\n' || m[len - 1] == ' '))
			len--;
		snprintf(db->err, sizeof db->err, "%.*s", (int)len, m);
		PQclear(last);
		return NULL;
	}
fail:
	PQclear(last);
	db_fail(db, "database");
	return NULL;
timeout:
	PQclear(last);
	snprintf(db->err, sizeof db->err,
		 "database: no answer within %lld ms", (long long)timeout_ms);
	*rc = CDS_ETIMEOUT;
	return NULL;
}

int db_daemon_open(const char *conninfo, int64_t timeout_ms, struct db **out,
		   char *err, size_t errlen)
{
	int64_t deadline = now_ms() + timeout_ms;
	struct db *db = calloc(1, sizeof *db);
	PostgresPollingStatusType ps = PGRES_POLLING_WRITING;
	int ret = CDS_EDB, w;

	*out = NULL;
	if (!db || !(db->conninfo = strdup(conninfo ? conninfo : ""))) {
		snprintf(err, errlen, "out of memory");
		ret = CDS_ENOMEM;
		goto fail;
	}
	/* PQconnectdb would wait for a stopped server's answer to the
	   startup packet for ever (connect_timeout is whole seconds, 2 at
	   least): poll it ourselves */
	if (!(db->conn = PQconnectStart(db->conninfo)) ||
	    PQstatus(db->conn) == CONNECTION_BAD)
		goto refused;
	while (ps != PGRES_POLLING_OK) {
		if (ps == PGRES_POLLING_FAILED)
			goto refused;
		if ((w = wait_sock(db->conn, ps == PGRES_POLLING_WRITING,
				   deadline)) == 0) {
			snprintf(err, errlen, "cannot connect to the database: "
				 "no answer within %lld ms",
				 (long long)timeout_ms);
			ret = CDS_ETIMEOUT;
			goto fail;
		}
		if (w < 0)
			goto refused;
		ps = PQconnectPoll(db->conn);
	}
	if ((ret = db_daemon_limit(db, timeout_ms)) != 0) {
		snprintf(err, errlen, "%s", db_errmsg(db));
		goto fail;
	}
	*out = db;
	return CDS_OK;
refused:
	{
		const char *m = db->conn ? PQerrorMessage(db->conn) : "";
		size_t len = strlen(m);

		while (len && (m[len - 1] == '\n' || m[len - 1] == ' '))
			len--;
		snprintf(err, errlen, "cannot connect to the database: %.*s",
			 (int)len, m);
	}
fail:
	db_close(db);
	return ret;
}

int db_daemon_limit(struct db *db, int64_t timeout_ms)
{
	char v[32];
	const char *p[1] = {v};
	PGresult *r;
	int rc;

	/* the server gives up at the same moment we do */
	snprintf(v, sizeof v, "%lld", (long long)timeout_ms);
	r = exec_bounded(db, "SELECT set_config('statement_timeout', $1, false)",
			 1, p, timeout_ms, &rc);
	PQclear(r);
	return rc;
}

int db_delegation_held(struct db *db, const char *name, int64_t timeout_ms,
		       bool *held)
{
	const char *p[1] = {name};
	PGresult *r;
	int rc;

	r = exec_bounded(db, "SELECT 1 FROM cdscan.delegation WHERE name = $1",
			 1, p, timeout_ms, &rc);
	if (!r)
		return rc;
	*held = PQntuples(r) > 0;
	PQclear(r);
	return CDS_OK;
}

int db_daemon_gauges(struct db *db, int64_t timeout_ms,
		     struct db_daemon_gauges *out)
{
	PGresult *r;
	int rc;

	/* Only delegations without DS can be waiting to bootstrap: one
	   index probe (scan_domain_time) for each of those, not a pass over
	   every scan ever recorded. The index compares bytewise (schema
	   17), whatever collation the registry's view gives its names. */
	r = exec_bounded(db,
		    "SELECT (SELECT count(*) FROM cdscan.delegation d,"
		    "  LATERAL (SELECT s.reason FROM cdscan.scan s"
		    "   WHERE s.domain = d.name COLLATE \"C\" AND NOT s.dry_run"
		    "   ORDER BY s.time DESC, s.id DESC LIMIT 1) l"
		    "  WHERE cardinality(d.ds) = 0"
		    "   AND l.reason = 'bootstrap-waiting'),"
		    " (SELECT count(*) FROM cdscan.epp_outbox"
		    "  WHERE state IN ('queued', 'sending', 'pending')),"
		    " (SELECT coalesce(extract(epoch FROM now() - min(created)),"
		    "  0)::bigint FROM cdscan.epp_outbox"
		    "  WHERE state IN ('queued', 'sending', 'pending'))",
		    0, NULL, timeout_ms, &rc);
	if (!r)
		return rc;
	out->bootstrap_waiting = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	out->outbox_open = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	out->outbox_oldest_s = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
	PQclear(r);
	return CDS_OK;
}
