/*
 * The few questions `cdscan daemon` asks the database between scans: is
 * a zone one of our delegations (for every NOTIFY, so one index probe on
 * the registry's view), and the gauges its metrics endpoint shows
 * (bootstrap progress, outbox depth and age). The scans themselves run
 * in children with their own connections; this is the parent's one.
 */
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "db/db_int.h"

int db_delegation_held(struct db *db, const char *name, bool *held)
{
	const char *p[1] = {name};
	PGresult *r = db_exec(db,
			      "SELECT 1 FROM cdscan.delegation WHERE name = $1",
			      1, p);

	if (!r)
		return CDS_EDB;
	*held = PQntuples(r) > 0;
	PQclear(r);
	return CDS_OK;
}

int db_daemon_gauges(struct db *db, struct db_daemon_gauges *out)
{
	PGresult *r;

	/* Only delegations without DS can be waiting to bootstrap: one
	   index probe (scan_domain_time) for each of those, not a pass over
	   every scan ever recorded. */
	r = db_exec(db,
		    "SELECT (SELECT count(*) FROM cdscan.delegation d,"
		    "  LATERAL (SELECT s.reason FROM cdscan.scan s"
		    "   WHERE s.domain = d.name AND NOT s.dry_run"
		    "   ORDER BY s.time DESC, s.id DESC LIMIT 1) l"
		    "  WHERE cardinality(d.ds) = 0"
		    "   AND l.reason = 'bootstrap-waiting'),"
		    " (SELECT count(*) FROM cdscan.epp_outbox"
		    "  WHERE state IN ('queued', 'sending', 'pending')),"
		    " (SELECT coalesce(extract(epoch FROM now() - min(created)),"
		    "  0)::bigint FROM cdscan.epp_outbox"
		    "  WHERE state IN ('queued', 'sending', 'pending'))",
		    0, NULL);
	if (!r)
		return CDS_EDB;
	out->bootstrap_waiting = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	out->outbox_open = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	out->outbox_oldest_s = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
	PQclear(r);
	return CDS_OK;
}
