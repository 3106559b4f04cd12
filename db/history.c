/*
 * What the registry remembers about each delegation, read with a claimed
 * batch: policy rules over time (hold-down, replay protection, bootstrap
 * progress) need it, and policy itself reads no database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "core/errors.h"
#include "db/db.h"
#include "db/db_int.h"

static int find(const struct db_delegation *d, size_t n, const char *name)
{
	/* the claim returns its rows sorted by name */
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(d[mid].name, name);

		if (c == 0)
			return (int)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = 0; i < n; i++) /* not sorted after all */
		if (strcmp(d[i].name, name) == 0)
			return (int)i;
	return -1;
}

int db_history_load(struct db *db, struct db_delegation *d, size_t n)
{
	const char **names;
	char *arr;
	PGresult *r;

	for (size_t i = 0; i < n; i++)
		memset(&d[i].hist, 0, sizeof d[i].hist);
	if (n == 0)
		return CDS_OK;
	if (!(names = calloc(n, sizeof *names)))
		goto nomem;
	for (size_t i = 0; i < n; i++)
		names[i] = d[i].name;
	arr = db_array_literal(names, n);
	free(names);
	if (!arr)
		goto nomem;
	{
		const char *p[1] = {arr};

		r = db_exec(db,
			    "SELECT domain,"
			    " coalesce(extract(epoch FROM max(time) FILTER"
			    "  (WHERE actor = 'scan'))::bigint, 0),"
			    " coalesce(extract(epoch FROM max(time) FILTER"
			    "  (WHERE actor <> 'scan'))::bigint, 0)"
			    " FROM cdscan.audit WHERE domain = ANY($1::text[])"
			    " GROUP BY domain",
			    1, p);
	}
	free(arr);
	if (!r)
		return CDS_EDB;
	for (int i = 0; i < PQntuples(r); i++) {
		int k = find(d, n, PQgetvalue(r, i, 0));

		if (k < 0)
			continue;
		d[k].hist.last_change = strtoll(PQgetvalue(r, i, 1), NULL, 10);
		d[k].hist.last_change_other =
			strtoll(PQgetvalue(r, i, 2), NULL, 10);
	}
	PQclear(r);
	return CDS_OK;
nomem:
	snprintf(db->err, sizeof db->err, "out of memory");
	return CDS_ENOMEM;
}
