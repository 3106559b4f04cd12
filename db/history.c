/*
 * What the registry remembers about each delegation: policy rules over
 * time (hold-down, replay protection, bootstrap progress, rejected
 * streaks, CSYNC serials) need it, and policy itself reads no database.
 * `cdscan scan` reads it after the probe, for the few delegations whose
 * decision it can change (policy_history_matters).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "core/errors.h"
#include "db/db.h"
#include "db/db_int.h"

/* The delegations are sorted by name (db_history_load): the first of
   that name, by binary search, or -1. */
static int find(struct db_delegation *const *d, size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(d[mid]->name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && strcmp(d[lo]->name, name) == 0 ? (int)lo : -1;
}

static int by_name(const void *a, const void *b)
{
	return strcmp((*(struct db_delegation *const *)a)->name,
		      (*(struct db_delegation *const *)b)->name);
}

/*
 * For policy.notify-rejected-after: the streak of rejected scans ending
 * with the newest (in scan time order), counted up to `cap`. `arr`: the
 * names, as an array literal, of the batch's domains whose newest scan
 * was rejected.
 */
static int load_rejected_streak(struct db *db, struct db_delegation *const *d,
				size_t n, const char *arr, unsigned cap)
{
	char c[16];
	const char *p[2] = {arr, c};
	PGresult *r;

	/* Per domain its newest `cap` scans from the newest end of
	   scan_domain_time, and how many of them lead the list rejected.
	   Counting the whole streak read a domain's whole history when it
	   had never been anything but rejected — every night more of it
	   (docs/BENCH.md) — and the policy only asks whether the streak
	   reaches notify-rejected-after. */
	snprintf(c, sizeof c, "%u", cap);
	r = db_exec(db,
		    "SELECT n.name, (SELECT count(*) FROM"
		    "  (SELECT bool_and(s.verdict = 'rejected') OVER"
		    "   (ORDER BY s.time DESC, s.id DESC ROWS UNBOUNDED PRECEDING)"
		    "   AS lead FROM cdscan.scan s"
		    "   WHERE s.domain = n.name AND NOT s.dry_run"
		    "   ORDER BY s.time DESC, s.id DESC LIMIT $2::integer) x"
		    "  WHERE x.lead)"
		    " FROM unnest($1::text[]) AS n(name)",
		    2, p);
	if (!r)
		return CDS_EDB;
	for (int i = 0; i < PQntuples(r); i++) {
		int k = find(d, n, PQgetvalue(r, i, 0));

		if (k >= 0)
			d[k]->hist.rejected_streak =
				(unsigned)strtoul(PQgetvalue(r, i, 1), NULL, 10);
	}
	PQclear(r);
	return CDS_OK;
}

/*
 * Accept-after-delay bootstrapping (RFC 8078 §3): per domain the streak
 * of recorded scans (not dry runs), newest first, that were pending with
 * reason bootstrap-waiting and proposed the same DS set as the newest,
 * made after the last change by other means (an audit row whose actor
 * is not 'scan': import, EPP, the registry's tools), which resets the
 * count (STANDARDS §14). Scans are ordered by their time (the --now of
 * the scan) and id. `arr` is the batch's names as an array literal.
 */
static int load_boot_streak(struct db *db, struct db_delegation *const *d,
			    size_t n, const char *arr)
{
	const char *p[1] = {arr};
	PGresult *r;

	r = db_exec(db,
		    "WITH s AS (SELECT s.domain, s.time, s.reason,"
		    "  s.proposed_ds,"
		    "  first_value(s.reason) OVER w AS r0,"
		    "  first_value(s.proposed_ds) OVER w AS p0,"
		    "  row_number() OVER w AS rn"
		    " FROM cdscan.scan s"
		    " WHERE s.domain = ANY($1::text[]) AND NOT s.dry_run"
		    "  AND s.time > coalesce((SELECT max(a.time)"
		    "   FROM cdscan.audit a"
		    /* audit_domain_time is in the database's collation,
		       a scan's name bytewise (schema 17) */
		    "   WHERE a.domain = s.domain COLLATE \"default\""
		    "   AND a.actor <> 'scan' AND a.kind NOT LIKE 'ns-%'),"
		    "   '-infinity')"
		    " WINDOW w AS (PARTITION BY s.domain"
		    "  ORDER BY s.time DESC, s.id DESC)),"
		    " b AS (SELECT domain, min(rn) AS brk FROM s"
		    "  WHERE reason <> 'bootstrap-waiting'"
		    "   OR proposed_ds IS DISTINCT FROM p0 GROUP BY domain)"
		    " SELECT s.domain, count(*),"
		    "  extract(epoch FROM min(s.time))::bigint, s.p0"
		    " FROM s LEFT JOIN b USING (domain)"
		    " WHERE s.r0 = 'bootstrap-waiting'"
		    "  AND s.rn < coalesce(b.brk, 2147483647)"
		    " GROUP BY s.domain, s.p0",
		    1, p);
	if (!r)
		return CDS_EDB;
	for (int i = 0; i < PQntuples(r); i++) {
		int k = find(d, n, PQgetvalue(r, i, 0));
		struct cds_history *h;
		char **ds = NULL;
		size_t nds = 0;

		if (k < 0)
			continue;
		h = &d[k]->hist;
		if (h->boot_ds)
			continue; /* one row a domain; were there two, the first */
		if (db_parse_array(PQgetvalue(r, i, 3), &ds, &nds) != 0)
			continue; /* unreadable: no streak, the count restarts */
		if (nds > 0 && nds <= CDS_DS_MAX &&
		    !(h->boot_ds = malloc(nds * sizeof *h->boot_ds))) {
			db_strv_free(ds, nds);
			PQclear(r);
			snprintf(db->err, sizeof db->err, "out of memory");
			return CDS_ENOMEM;
		}
		for (size_t j = 0; h->boot_ds && j < nds; j++)
			if (cds_ds_parse(ds[j], &h->boot_ds[h->n_boot_ds]) ==
			    CDS_OK)
				h->n_boot_ds++;
		if (h->n_boot_ds == nds) {
			h->boot_streak = (unsigned)strtoul(PQgetvalue(r, i, 1),
							   NULL, 10);
			h->boot_since = strtoll(PQgetvalue(r, i, 2), NULL, 10);
		} else {
			h->n_boot_ds = 0;
			free(h->boot_ds);
			h->boot_ds = NULL;
		}
		db_strv_free(ds, nds);
	}
	PQclear(r);
	return CDS_OK;
}

/* The batch's names for which `want` holds, as an array literal; NULL
   with *none set when there is none, NULL alone when out of memory. */
static char *subset(struct db_delegation *const *d, size_t n,
		    const bool *want, bool *none)
{
	const char **names = calloc(n ? n : 1, sizeof *names);
	size_t k = 0;
	char *arr;

	*none = false;
	if (!names)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (want[i])
			names[k++] = d[i]->name;
	if (k == 0) {
		free(names);
		*none = true;
		return NULL;
	}
	arr = db_array_literal(names, k);
	free(names);
	return arr;
}

int db_history_load(struct db *db, struct db_delegation **d, size_t n,
		    unsigned streak_cap)
{
	const char **names;
	char *arr = NULL, *sub = NULL;
	bool *rej = NULL, *boot = NULL, none;
	PGresult *r;
	int ret = CDS_ENOMEM;

	for (size_t i = 0; i < n; i++) {
		free(d[i]->hist.boot_ds); /* loaded before: read again */
		memset(&d[i]->hist, 0, sizeof d[i]->hist);
	}
	if (n == 0)
		return CDS_OK;
	qsort(d, n, sizeof *d, by_name);
	if (!(names = calloc(n, sizeof *names)))
		goto out;
	for (size_t i = 0; i < n; i++)
		names[i] = d[i]->name;
	arr = db_array_literal(names, n);
	free(names);
	rej = calloc(n, sizeof *rej);
	boot = calloc(n, sizeof *boot);
	if (!arr || !rej || !boot)
		goto out;
	/*
	 * One cheap pass for the whole batch: per domain the newest audit
	 * time by cdscan and by anyone else, and the verdict and reason of
	 * its newest scan — each an index probe from the newest end of
	 * audit_domain_time / scan_domain_time. Only a domain whose newest
	 * scan was rejected can be on a rejection streak, and only one
	 * whose newest scan was bootstrap-waiting on a bootstrap streak:
	 * the streak queries below walk history for those few alone.
	 */
	{
		const char *p[1] = {arr};

		r = db_exec(db,
			    "SELECT n.name, coalesce(la.t, 0),"
			    " coalesce((SELECT extract(epoch FROM a.time)::bigint"
			    "  FROM cdscan.audit a WHERE a.domain = n.name"
			    "  AND a.actor <> 'scan' AND a.kind NOT LIKE 'ns-%'"
			    "  ORDER BY a.time DESC, a.id DESC LIMIT 1), 0),"
			    " coalesce(l.verdict, ''), coalesce(l.reason, ''),"
			    " (SELECT c.serial FROM cdscan.csync_change c"
			    "  WHERE c.domain = n.name AND c.state IN"
			    "  ('applied', 'approved', 'requested')"
			    "  ORDER BY c.id DESC LIMIT 1)"
			    ", la.inc"
			    " FROM unnest($1::text[]) AS n(name)"
			    /* the newest DS change a scan applied: its time, and
			       the oldest CDS/CDNSKEY signature inception among
			       the servers that drove it (replay protection) */
			    " LEFT JOIN LATERAL (SELECT"
			    "  extract(epoch FROM a.time)::bigint AS t,"
			    "  (SELECT min(x.v::bigint) FROM jsonb_array_elements("
			    "   CASE WHEN jsonb_typeof(a.evidence->'servers') ="
			    "   'array' THEN a.evidence->'servers' ELSE '[]' END)"
			    "   AS sv(s), LATERAL (VALUES"
			    "   (sv.s->'cds_rrset'->>'inception'),"
			    "   (sv.s->'cdnskey_rrset'->>'inception')) AS x(v)"
			    "   WHERE x.v ~ '^[1-9][0-9]*$') AS inc"
			    "  FROM cdscan.audit a WHERE a.domain = n.name"
			    "  AND a.actor = 'scan' AND a.kind NOT LIKE 'ns-%'"
			    "  ORDER BY a.time DESC, a.id DESC LIMIT 1) la ON true"
			    " LEFT JOIN LATERAL (SELECT t.verdict, t.reason"
			    "  FROM cdscan.scan t WHERE t.domain = n.name"
			    "  AND NOT t.dry_run"
			    "  ORDER BY t.time DESC, t.id DESC LIMIT 1) l ON true",
			    1, p);
	}
	if (!r) {
		ret = CDS_EDB;
		goto out;
	}
	for (int i = 0; i < PQntuples(r); i++) {
		int k = find(d, n, PQgetvalue(r, i, 0));

		if (k < 0)
			continue;
		d[k]->hist.last_change = strtoll(PQgetvalue(r, i, 1), NULL, 10);
		d[k]->hist.last_change_other =
			strtoll(PQgetvalue(r, i, 2), NULL, 10);
		rej[k] = strcmp(PQgetvalue(r, i, 3), "rejected") == 0;
		boot[k] = strcmp(PQgetvalue(r, i, 4), "bootstrap-waiting") == 0;
		if (!PQgetisnull(r, i, 6))
			d[k]->hist.last_change_inception = strtoll(
				PQgetvalue(r, i, 6), NULL, 10);
		/* Y5 with stored state: the newest CSYNC serial acted on */
		if (!PQgetisnull(r, i, 5)) {
			d[k]->hist.has_csync_serial = true;
			d[k]->hist.csync_serial = (uint32_t)strtoul(
				PQgetvalue(r, i, 5), NULL, 10);
		}
	}
	PQclear(r);
	sub = subset(d, n, rej, &none);
	if (!sub && !none) {
		ret = CDS_ENOMEM;
		goto out;
	}
	if (sub && streak_cap &&
	    (ret = load_rejected_streak(db, d, n, sub, streak_cap)) != 0)
		goto out;
	free(sub);
	sub = subset(d, n, boot, &none);
	if (!sub && !none) {
		ret = CDS_ENOMEM;
		goto out;
	}
	if (sub && (ret = load_boot_streak(db, d, n, sub)) != 0)
		goto out;
	/* A delegation twice in the list (a worker that took back its own
	   lapsed batch holds two jobs for it): filled once, by find(); the
	   other gets a copy, with a bootstrap DS set of its own. */
	for (size_t i = 1; i < n; i++) {
		struct cds_history *h = &d[i]->hist;

		if (strcmp(d[i]->name, d[i - 1]->name) != 0)
			continue;
		*h = d[i - 1]->hist;
		if (!h->boot_ds)
			continue;
		if (!(h->boot_ds = malloc(h->n_boot_ds * sizeof *h->boot_ds))) {
			h->n_boot_ds = 0;
			ret = CDS_ENOMEM;
			goto out;
		}
		memcpy(h->boot_ds, d[i - 1]->hist.boot_ds,
		       h->n_boot_ds * sizeof *h->boot_ds);
	}
	ret = CDS_OK;
out:
	if (ret == CDS_ENOMEM)
		snprintf(db->err, sizeof db->err, "out of memory");
	free(sub);
	free(arr);
	free(rej);
	free(boot);
	return ret;
}
