/*
 * The EPP outbox (cdscan.epp_outbox, db/sql/004_epp_outbox.sql): where
 * `sink: epp` puts accepted changes, in the transaction of their decision,
 * and where `cdscan epp send` takes them from. Every state change is one
 * statement, so that a sender killed at any point leaves each row in a
 * state the next sender can act on: 'sending' under a dead sender is taken
 * over (and the sender re-reads domain:info before sending anything),
 * 'pending' waits for its poll message, 'done' is final and came with the
 * local tables' update in the same statement.
 *
 * Two kinds of change travel here: DS changes (kinds ds-update and
 * ds-delete, from CDS/CDNSKEY) and NS changes (kind ns-update, from
 * CSYNC: the NS set and in-bailiwick glue, db/sql/006_outbox_ns.sql). An
 * NS change that the registry confirmed and that dropped names inside
 * the domain leaves a third kind, host-delete (db/sql/009_host_delete.sql),
 * queued by the statement that marks it done: the host objects to delete
 * (RFC 5732 §3.2.2), a step of its own, so that its failures are retried
 * like any row's without the domain:update going out again. Its progress
 * is recorded per host as each answer arrives (db_outbox_host_fate). A
 * newer change supersedes the queued ones of its own kind only, and the
 * changes of one domain go out in the order they were decided, whatever
 * their kind: that order is the one RFC 8901 §8 asks for (cli/scan.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "core/json.h"
#include "db/db_int.h"

/* The result code a poll message is answered with (RFC 5730 §3), kept
   as the settled row's last code. */
#define POLL_CODE 1301

enum db_sink db_sink_from_name(const char *name)
{
	if (name && strcmp(name, "requests") == 0)
		return DB_SINK_REQUESTS;
	if (name && strcmp(name, "epp") == 0)
		return DB_SINK_EPP;
	return DB_SINK_TABLES;
}

/* The CDNSKEYs any server published behind the proposed DS set, as an
   array literal (for a registry that takes keyData). */
static char *keys_literal(const struct db_result *r)
{
	const struct cds_decision *dec = r->dec;
	const char *s[CDS_DS_MAX];
	char *buf[CDS_DS_MAX] = {0}, *lit = NULL;
	size_t n = 0;

	for (size_t i = 0; i < dec->n_proposed; i++) {
		const struct cds_dnskey *k = NULL;

		for (size_t o = 0; !k && o < r->n_obs; o++)
			for (size_t j = 0; !k && j < r->obs[o].n_cdnskey; j++)
				if (cds_ds_matches_dnskey(r->deleg->name,
							  &dec->proposed[i],
							  &r->obs[o].cdnskey[j]))
					k = &r->obs[o].cdnskey[j];
		if (!k)
			continue;
		size_t sz = cds_dnskey_str_size(k);

		if (!(buf[n] = malloc(sz)))
			goto out;
		s[n] = cds_dnskey_format(k, buf[n], sz);
		/* two DS of one key (two digest types) give one key */
		bool dup = false;

		for (size_t m = 0; m < n; m++)
			dup |= strcmp(s[m], s[n]) == 0;
		if (dup)
			free(buf[n]);
		else
			n++;
	}
	lit = db_array_literal(s, n);
out:
	for (size_t i = 0; i < n; i++)
		free(buf[i]);
	return lit;
}

int db_outbox_queue(struct db *db, int64_t run_id, int64_t scan_id,
		    const struct db_result *r)
{
	const struct cds_decision *dec = r->dec;
	bool del = dec->verdict == CDS_DEC_DELETE;
	char *after = del ? strdup("{}")
			  : db_ds_array(dec->proposed, dec->n_proposed);
	char *keys = del ? strdup("{}") : keys_literal(r);
	char run[24], scan[24];
	PGresult *res = NULL;
	int ret = CDS_ENOMEM;

	if (!after || !keys) {
		snprintf(db->err, sizeof db->err, "out of memory");
		goto out;
	}
	snprintf(run, sizeof run, "%lld", (long long)run_id);
	snprintf(scan, sizeof scan, "%lld", (long long)scan_id);
	{
		const char *p[2] = {r->deleg->name, scan};

		/* Every change still waiting is replaced, tried or not: a
		   newer decision must neither wait behind an older one's
		   back-off nor be refused as stale because the older one
		   reached the registry after all (its answer lost). The
		   sender knows such a registry state as one of ours
		   (db_outbox_earlier_sets). 'sending' and 'pending' rows
		   are in the registry's hands and are left alone. */
		res = db_exec(db,
			      "UPDATE cdscan.epp_outbox SET state = "
			      "'superseded', updated = now(), last_message = "
			      "'replaced by the decision of scan ' || $2"
			      " || CASE WHEN attempts > 0 THEN ' (after '"
			      " || attempts || ' attempt(s): ' ||"
			      " coalesce(last_message, '-') || ')' ELSE ''"
			      " END WHERE domain = $1 AND state = 'queued'"
			      " AND kind IN ('ds-update', 'ds-delete')",
			      2, p);
	}
	ret = CDS_EDB;
	if (!res)
		goto out;
	PQclear(res);
	{
		const char *p[7] = {r->deleg->name, del ? "ds-delete"
							: "ds-update",
				    r->deleg->ds_text, after, keys, run, scan};

		res = db_exec(db,
			      "INSERT INTO cdscan.epp_outbox (domain, kind,"
			      " before_ds, after_ds, after_keys, run_id,"
			      " scan_id) VALUES ($1, $2, $3, $4, $5, $6, $7)",
			      7, p);
	}
	if (!res)
		goto out;
	PQclear(res);
	ret = CDS_OK;
out:
	free(after);
	free(keys);
	return ret;
}

int db_outbox_queue_ns(struct db *db, const char *domain, const char *ds_text,
		       const char *before_ns, const char *after_ns,
		       const char *before_glue, const char *after_glue,
		       const char *csync_id, const char *run_id,
		       const char *scan_id)
{
	const char *p[9] = {domain, ds_text, before_ns, after_ns, before_glue,
			    after_glue, csync_id, run_id, scan_id};
	PGresult *r;

	/* as for DS: every NS change still waiting is replaced, and the
	   cdscan.csync_change row it carried says so */
	r = db_exec(db,
		    "WITH s AS (UPDATE cdscan.epp_outbox SET state ="
		    " 'superseded', updated = now(), last_message ="
		    " 'replaced by a newer NS change' || CASE WHEN attempts > 0"
		    " THEN ' (after ' || attempts || ' attempt(s): ' ||"
		    " coalesce(last_message, '-') || ')' ELSE '' END"
		    " WHERE domain = $1 AND state = 'queued'"
		    " AND kind = 'ns-update' RETURNING csync_id)"
		    " UPDATE cdscan.csync_change c SET state = 'superseded',"
		    " decided = coalesce(c.decided, now()), why ="
		    " 'replaced in the EPP outbox by a newer NS change'"
		    " FROM s WHERE c.id = s.csync_id AND c.state = 'queued'",
		    1, p);
	if (!r)
		return CDS_EDB;
	PQclear(r);
	r = db_exec(db,
		    "INSERT INTO cdscan.epp_outbox (domain, kind, before_ds,"
		    " after_ds, before_ns, after_ns, before_glue, after_glue,"
		    " csync_id, run_id, scan_id) VALUES ($1, 'ns-update', $2,"
		    " $2, $3, $4, $5, $6, $7::bigint, $8::bigint, $9::bigint)",
		    9, p);
	if (!r)
		return CDS_EDB;
	PQclear(r);
	return CDS_OK;
}

/* An array literal of DS (or DNSKEY) presentation strings into values. */
static int parse_set(struct db *db, const char *lit, bool keys,
		     struct cds_ds *ds, struct cds_dnskey *k, size_t *n)
{
	char **v = NULL;
	size_t nv = 0;
	int ret;

	*n = 0;
	if ((ret = db_parse_array(lit, &v, &nv)) != 0)
		return ret;
	for (size_t i = 0; i < nv && i < CDS_DS_MAX; i++) {
		if (keys ? cds_dnskey_parse(v[i], &k[i]) != 0
			 : cds_ds_parse(v[i], &ds[i]) != 0) {
			snprintf(db->err, sizeof db->err,
				 "epp_outbox: bad record '%.100s'", v[i]);
			ret = CDS_EINVAL;
			break;
		}
		(*n)++;
	}
	db_strv_free(v, nv);
	return ret;
}

/* An NS set and its glue ("NAME ADDRESS") into cds_ns values, each
   name with the addresses the glue gives it. */
static int parse_ns(struct db *db, const char *ns_lit, const char *glue_lit,
		    struct cds_ns *ns, size_t *n)
{
	char **v = NULL, **g = NULL;
	size_t nv = 0, ng = 0;
	int ret;

	*n = 0;
	if ((ret = db_parse_array(ns_lit, &v, &nv)) != 0 ||
	    (ret = db_parse_array(glue_lit, &g, &ng)) != 0)
		goto out;
	for (size_t i = 0; i < nv && ret == 0; i++) {
		struct cds_ns *x = &ns[*n];
		size_t l = strlen(v[i]);

		if (*n == CDS_CSYNC_NS_MAX || l >= CDS_NAME_MAX)
			goto bad;
		memset(x, 0, sizeof *x);
		memcpy(x->name, v[i], l + 1);
		for (size_t k = 0; k < ng; k++) {
			if (strncmp(g[k], v[i], l) != 0 || g[k][l] != ' ')
				continue;
			if (x->n_glue == CDS_GLUE_MAX ||
			    strlen(g[k] + l + 1) >= CDS_ADDR_STR_MAX)
				goto bad;
			snprintf(x->glue[x->n_glue++], CDS_ADDR_STR_MAX, "%s",
				 g[k] + l + 1);
		}
		(*n)++;
	}
	goto out;
bad:
	snprintf(db->err, sizeof db->err, "epp_outbox: NS set or glue "
		 "too large: '%.100s'", ns_lit);
	ret = CDS_EINVAL;
out:
	db_strv_free(v, nv);
	db_strv_free(g, ng);
	return ret;
}

int db_outbox_take(struct db *db, const char *sender, int64_t after_id,
		   int64_t lease_ms, struct db_outbox_item *it, bool *found)
{
	char aid[24], lease[24];
	const char *p[3] = {sender, aid, lease};
	PGresult *r;
	int ret;

	*found = false;
	snprintf(aid, sizeof aid, "%lld", (long long)after_id);
	snprintf(lease, sizeof lease, "%lld", (long long)lease_ms);
	r = db_exec(db,
		    "WITH c AS ("
		    " SELECT o.id, o.state AS was FROM cdscan.epp_outbox o"
		    " WHERE o.id > $2::bigint"
		    " AND ((o.state = 'queued' AND o.next_attempt <= now())"
		    "  OR (o.state = 'sending' AND o.lease_until < now()))"
		    " AND NOT EXISTS (SELECT 1 FROM cdscan.epp_outbox e"
		    "  WHERE e.domain = o.domain AND e.id < o.id"
		    "  AND e.state IN ('queued', 'sending', 'pending'))"
		    " ORDER BY o.id LIMIT 1 FOR UPDATE SKIP LOCKED)"
		    " UPDATE cdscan.epp_outbox o SET state = 'sending',"
		    " sender = $1, attempts = o.attempts + 1, updated = now(),"
		    " lease_until = now() + $3::bigint * interval '1 ms'"
		    " FROM c WHERE o.id = c.id"
		    " RETURNING o.id, o.domain, o.kind, o.before_ds,"
		    " o.after_ds, o.after_keys, o.attempts, c.was,"
		    " o.before_ns, o.after_ns, o.before_glue, o.after_glue,"
		    /* a host-delete row: the hosts whose fate an earlier
		       attempt did not record */
		    " o.of_id, ARRAY(SELECT h FROM unnest(o.hosts) h"
		    "  WHERE NOT h = ANY (o.hosts_deleted || o.hosts_gone)"
		    "  AND NOT EXISTS (SELECT 1 FROM unnest(o.hosts_left) l"
		    "  WHERE split_part(l, ' ', 1) = h))",
		    3, p);
	if (!r)
		return CDS_EDB;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return CDS_OK;
	}
	memset(it, 0, sizeof *it);
	it->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	snprintf(it->domain, sizeof it->domain, "%s", PQgetvalue(r, 0, 1));
	it->is_delete = strcmp(PQgetvalue(r, 0, 2), "ds-delete") == 0;
	it->is_ns = strcmp(PQgetvalue(r, 0, 2), "ns-update") == 0;
	it->is_hosts = strcmp(PQgetvalue(r, 0, 2), "host-delete") == 0;
	it->attempts = atoi(PQgetvalue(r, 0, 6));
	it->taken_over = strcmp(PQgetvalue(r, 0, 7), "sending") == 0;
	if (it->is_hosts) {
		it->of_id = strtoll(PQgetvalue(r, 0, 12), NULL, 10);
		ret = parse_ns(db, PQgetvalue(r, 0, 13), "{}", it->before_ns,
			       &it->n_before_ns);
	} else if (it->is_ns) {
		if ((ret = parse_ns(db, PQgetvalue(r, 0, 8),
				    PQgetvalue(r, 0, 10), it->before_ns,
				    &it->n_before_ns)) == 0)
			ret = parse_ns(db, PQgetvalue(r, 0, 9),
				       PQgetvalue(r, 0, 11), it->after_ns,
				       &it->n_after_ns);
	} else if ((ret = parse_set(db, PQgetvalue(r, 0, 3), false, it->before, NULL,
			     &it->n_before)) == 0 &&
	    (ret = parse_set(db, PQgetvalue(r, 0, 4), false, it->after, NULL,
			     &it->n_after)) == 0)
		ret = parse_set(db, PQgetvalue(r, 0, 5), true, NULL, it->keys,
				&it->n_keys);
	PQclear(r);
	/* a row we cannot read is still taken: the caller refuses it */
	*found = true;
	return ret;
}

int db_outbox_earlier_sets(struct db *db, const struct db_outbox_item *it,
			   struct cds_ds (*sets)[CDS_DS_MAX], size_t *lens,
			   size_t max, size_t *n)
{
	char sid[24];
	const char *p[2] = {it->domain, sid};
	PGresult *r;
	int ret = CDS_OK;

	*n = 0;
	snprintf(sid, sizeof sid, "%lld", (long long)it->id);
	/* since the last change the registry confirmed: before it, the
	   registry and the local tables were both at its after_ds */
	r = db_exec(db,
		    "SELECT after_ds FROM cdscan.epp_outbox o"
		    " WHERE o.domain = $1 AND o.id < $2::bigint"
		    " AND o.state = 'superseded' AND o.attempts > 0"
		    " AND o.kind IN ('ds-update', 'ds-delete')"
		    " AND o.id > coalesce((SELECT max(d.id) FROM"
		    "  cdscan.epp_outbox d WHERE d.domain = $1"
		    "  AND d.id < $2::bigint AND d.state = 'done'"
		    "  AND d.kind IN ('ds-update', 'ds-delete')), 0)"
		    " ORDER BY o.id DESC",
		    2, p);
	if (!r)
		return CDS_EDB;
	for (int i = 0; i < PQntuples(r) && *n < max && ret == 0; i++) {
		ret = parse_set(db, PQgetvalue(r, i, 0), false, sets[*n], NULL,
				&lens[*n]);
		if (ret == 0)
			(*n)++;
	}
	PQclear(r);
	return ret;
}

int db_outbox_earlier_ns(struct db *db, const struct db_outbox_item *it,
			 struct cds_ns (*sets)[CDS_CSYNC_NS_MAX], size_t *lens,
			 size_t max, size_t *n)
{
	char sid[24];
	const char *p[2] = {it->domain, sid};
	PGresult *r;
	int ret = CDS_OK;

	*n = 0;
	snprintf(sid, sizeof sid, "%lld", (long long)it->id);
	r = db_exec(db,
		    "SELECT after_ns FROM cdscan.epp_outbox o"
		    " WHERE o.domain = $1 AND o.id < $2::bigint"
		    " AND o.state = 'superseded' AND o.attempts > 0"
		    " AND o.kind = 'ns-update'"
		    " AND o.id > coalesce((SELECT max(d.id) FROM"
		    "  cdscan.epp_outbox d WHERE d.domain = $1"
		    "  AND d.id < $2::bigint AND d.state = 'done'"
		    "  AND d.kind = 'ns-update'), 0)"
		    " ORDER BY o.id DESC",
		    2, p);
	if (!r)
		return CDS_EDB;
	for (int i = 0; i < PQntuples(r) && *n < max && ret == 0; i++) {
		ret = parse_ns(db, PQgetvalue(r, i, 0), "{}", sets[*n],
			       &lens[*n]);
		if (ret == 0)
			(*n)++;
	}
	PQclear(r);
	return ret;
}

int db_outbox_senders(struct db *db, char ***out, size_t *n)
{
	PGresult *r = db_exec(db,
			      "SELECT DISTINCT sender FROM cdscan.epp_outbox"
			      " WHERE state = 'sending' AND sender IS NOT NULL",
			      0, NULL);

	*out = NULL;
	*n = 0;
	if (!r)
		return CDS_EDB;
	if (PQntuples(r) > 0 &&
	    !(*out = calloc((size_t)PQntuples(r), sizeof **out))) {
		PQclear(r);
		return CDS_ENOMEM;
	}
	for (int i = 0; i < PQntuples(r); i++)
		if (((*out)[(*n)++] = strdup(PQgetvalue(r, i, 0))) == NULL) {
			PQclear(r);
			return CDS_ENOMEM;
		}
	PQclear(r);
	return CDS_OK;
}

int db_outbox_release(struct db *db, const char *sender, int64_t *n)
{
	const char *p[1] = {sender};
	PGresult *r = db_exec(db,
			      "UPDATE cdscan.epp_outbox SET lease_until = now()"
			      " - interval '1 s', updated = now()"
			      " WHERE state = 'sending' AND sender = $1",
			      1, p);

	if (!r)
		return CDS_EDB;
	*n = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return CDS_OK;
}

/* One state change of one row; CDS_ENOTFOUND when the row is not in a
   state it may leave that way. */
static int set_state(struct db *db, const char *sql, int64_t id, int code,
		     const char *msg, const char *extra)
{
	char sid[24], scode[16];
	const char *p[4] = {sid, code ? scode : NULL, msg, extra};
	PGresult *r;
	int n;

	snprintf(sid, sizeof sid, "%lld", (long long)id);
	snprintf(scode, sizeof scode, "%d", code);
	if (!(r = db_exec(db, sql, 4, p)))
		return CDS_EDB;
	n = atoi(PQcmdTuples(r));
	PQclear(r);
	if (n != 1) {
		snprintf(db->err, sizeof db->err, "outbox row %lld is no "
			 "longer ours", (long long)id);
		return CDS_ENOTFOUND;
	}
	return CDS_OK;
}

/* The registry's confirmation and the local tables' update are kept
   together or not at all, and so is the cleanup an NS change leaves
   ($4: the host objects to delete after it, NULL for none). */
static const char SQL_DONE[] =
	"WITH o AS (UPDATE cdscan.epp_outbox SET state = 'done',"
	" last_code = $2::integer, last_message = $3,"
	" done_at = now(), updated = now(), lease_until = NULL,"
	" local_applied = CASE kind WHEN 'ns-update' THEN"
	"  cdscan.apply_ns(domain, before_ns, after_ns,"
	"  before_glue, after_glue)"
	"  WHEN 'host-delete' THEN NULL"
	"  ELSE cdscan.apply_ds(domain, before_ds, after_ds) END"
	" WHERE id = $1::bigint AND state IN ('sending', 'pending')"
	" RETURNING id, domain, kind, before_ns, after_ns, csync_id),"
	/* the CSYNC change it carried is carried out */
	" c AS (UPDATE cdscan.csync_change c SET state ="
	"  'applied', decided = coalesce(c.decided, now()),"
	"  decided_by = coalesce(c.decided_by, 'scan'),"
	"  why = coalesce(c.why || '; ', '') ||"
	"  'the registry confirmed'"
	"  FROM o WHERE c.id = o.csync_id AND c.state = 'queued'),"
	/* RFC 5732 §3.2.2: only names subordinate to the domain are host
	   objects this change may have made ours; a name of the new set
	   is still in use */
	" h AS (INSERT INTO cdscan.epp_outbox (domain, kind, before_ds,"
	"  after_ds, of_id, hosts)"
	"  SELECT o.domain, 'host-delete', '{}', '{}', o.id, x.hosts"
	"  FROM o CROSS JOIN LATERAL (SELECT ARRAY(SELECT DISTINCT n"
	"   FROM unnest(o.before_ns || $4::text[]) n"
	"   WHERE NOT n = ANY (o.after_ns)"
	"   AND right(n, length(o.domain) + 1) = '.' || o.domain"
	"   ORDER BY n) AS hosts) x"
	"  WHERE o.kind = 'ns-update' AND $4::text[] IS NOT NULL"
	"  AND cardinality(x.hosts) > 0)"
	" SELECT 1 FROM o";

int db_outbox_done_ns(struct db *db, int64_t id, int code, const char *msg,
		      bool host_objects, const char *const *removed,
		      size_t n_removed)
{
	char *lit = host_objects ? db_array_literal(removed, n_removed) : NULL;
	int ret;

	if (host_objects && !lit) {
		snprintf(db->err, sizeof db->err, "out of memory");
		return CDS_ENOMEM;
	}
	ret = set_state(db, SQL_DONE, id, code, msg, lit);
	free(lit);
	return ret;
}

int db_outbox_done(struct db *db, int64_t id, int code, const char *msg)
{
	/* a poll message settling an NS change: the greeting is not at
	   hand; the row for a registry without host objects is closed by
	   the sender with nothing sent */
	return db_outbox_done_ns(db, id, code, msg, true, NULL, 0);
}

int db_outbox_host_fate(struct db *db, int64_t id, const char *name,
			enum db_host_fate fate, int code)
{
	static const char *const col[] = {"hosts_deleted", "hosts_gone",
					  "hosts_left"};
	char sql[256], entry[CDS_NAME_MAX + 16];

	snprintf(sql, sizeof sql,
		 "UPDATE cdscan.epp_outbox SET %s = %s || $4::text,"
		 " last_code = $2::integer, updated = now()"
		 " WHERE id = $1::bigint AND state = 'sending'"
		 " AND $3::text IS NULL",
		 col[fate], col[fate]);
	if (fate == DB_HOST_LEFT)
		snprintf(entry, sizeof entry, "%s %d", name, code);
	else
		snprintf(entry, sizeof entry, "%s", name);
	return set_state(db, sql, id, code, NULL, entry);
}

int db_outbox_hosts_end(struct db *db, int64_t id, bool *refused)
{
	char sid[24];
	const char *p[1] = {sid};
	PGresult *r;
	int ret = CDS_OK;

	*refused = false;
	snprintf(sid, sizeof sid, "%lld", (long long)id);
	/* 2305 is the registry keeping a host another domain uses, as it
	   should: not a failure; any other refusal is for the operator */
	r = db_exec(db,
		    "WITH f AS (SELECT id, EXISTS (SELECT 1 FROM"
		    "  unnest(hosts_left) l WHERE split_part(l, ' ', 2)"
		    "  <> '2305') AS bad FROM cdscan.epp_outbox"
		    "  WHERE id = $1::bigint AND state = 'sending')"
		    " UPDATE cdscan.epp_outbox o SET"
		    " state = CASE WHEN f.bad THEN 'refused' ELSE 'done' END,"
		    " done_at = CASE WHEN f.bad THEN NULL ELSE now() END,"
		    " updated = now(), lease_until = NULL,"
		    " last_message = concat_ws('; ',"
		    "  'deleted ' || nullif(array_to_string(hosts_deleted, ' '), ''),"
		    "  'already gone (2303) ' || nullif(array_to_string(hosts_gone, ' '), ''),"
		    "  'left ' || nullif(array_to_string(hosts_left, ', '), ''))"
		    " FROM f WHERE o.id = f.id RETURNING f.bad",
		    1, p);
	if (!r)
		return CDS_EDB;
	if (PQntuples(r) != 1) {
		snprintf(db->err, sizeof db->err, "outbox row %lld is no "
			 "longer ours", (long long)id);
		ret = CDS_ENOTFOUND;
	} else {
		*refused = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	}
	PQclear(r);
	return ret;
}

int db_outbox_pending(struct db *db, int64_t id, int code, const char *msg,
		      const char *cl_trid)
{
	return set_state(db,
			 "UPDATE cdscan.epp_outbox SET state = 'pending',"
			 " last_code = $2::integer, last_message = $3,"
			 " cl_trid = $4, updated = now(), lease_until = NULL"
			 " WHERE id = $1::bigint AND state = 'sending'",
			 id, code, msg, cl_trid);
}

int db_outbox_retry(struct db *db, int64_t id, int code, const char *msg,
		    int64_t delay_ms)
{
	char d[24];

	snprintf(d, sizeof d, "%lld", (long long)delay_ms);
	return set_state(db,
			 "UPDATE cdscan.epp_outbox SET state = 'queued',"
			 " last_code = $2::integer, last_message = $3,"
			 " next_attempt = now() + $4::bigint * interval '1 ms',"
			 " updated = now(), lease_until = NULL"
			 " WHERE id = $1::bigint AND state = 'sending'",
			 id, code, msg, d);
}

int db_outbox_refuse(struct db *db, int64_t id, int code, const char *msg)
{
	return set_state(db,
			 "WITH o AS (UPDATE cdscan.epp_outbox SET state ="
			 " 'refused', last_code = $2::integer, last_message = $3,"
			 " updated = now(), lease_until = NULL"
			 " WHERE id = $1::bigint AND state IN ('sending',"
			 " 'pending') AND $4::text IS NULL RETURNING csync_id),"
			 " c AS (UPDATE cdscan.csync_change c SET state ="
			 "  'refused', decided = coalesce(c.decided, now()),"
			 "  why = 'the registry refused: ' || coalesce($2::integer::text || ' ',"
			 "  '') || coalesce($3, '')"
			 "  FROM o WHERE c.id = o.csync_id AND c.state = 'queued')"
			 " SELECT 1 FROM o",
			 id, code, msg, NULL);
}

int db_outbox_settle(struct db *db, const char *domain, const char *cl_trid,
		     bool ok, const char *msg, bool *found)
{
	const char *p[2] = {domain, cl_trid};
	PGresult *r;
	int64_t id;
	int ret;

	*found = false;
	r = db_exec(db,
		    "SELECT id FROM cdscan.epp_outbox WHERE domain = $1"
		    " AND state = 'pending' AND ($2 = '' OR cl_trid = $2)"
		    " ORDER BY id",
		    2, p);
	if (!r)
		return CDS_EDB;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return CDS_OK;
	}
	id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	ret = ok ? db_outbox_done(db, id, POLL_CODE, msg)
		 : db_outbox_refuse(db, id, POLL_CODE, msg);
	*found = ret == 0;
	return ret;
}

int db_outbox_count(struct db *db, const char *state, int64_t *n)
{
	const char *p[1] = {state};
	PGresult *r = db_exec(db,
			      "SELECT count(*) FROM cdscan.epp_outbox"
			      " WHERE state = $1",
			      1, p);

	if (!r)
		return CDS_EDB;
	*n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return CDS_OK;
}

/* ---- reports ---------------------------------------------------------- */

enum { C_ID, C_DOMAIN, C_KIND, C_STATE, C_ATTEMPTS, C_WHEN, C_CODE, C_MSG,
       C_BEFORE, C_AFTER, C_CREATED };

#define OUTBOX_COLS                                                          \
	"SELECT id, domain, kind, state, attempts,"                          \
	" to_char(CASE state WHEN 'queued' THEN next_attempt"                \
	"  ELSE updated END AT TIME ZONE 'UTC',"                             \
	"  'YYYY-MM-DD HH24:MI:SS'),"                                        \
	" last_code, coalesce(last_message, ''),"                             \
	" CASE kind WHEN 'ns-update' THEN before_ns"                        \
	"  WHEN 'host-delete' THEN hosts ELSE before_ds END,"                \
	" CASE kind WHEN 'ns-update' THEN after_ns"                          \
	"  WHEN 'host-delete' THEN ARRAY(SELECT h FROM unnest(hosts) h"      \
	"   WHERE NOT h = ANY (hosts_deleted || hosts_gone))"                \
	"  ELSE after_ds END,"                                               \
	" to_char(created AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"      \
	" FROM cdscan.epp_outbox "

static const char *when_label(const char *state)
{
	return strcmp(state, "queued") == 0 ? "next" : "since";
}

static void report_text(PGresult *r, FILE *out, bool with_domain)
{
	for (int i = 0; i < PQntuples(r); i++) {
		const char *code = PQgetvalue(r, i, C_CODE);

		fprintf(out, "%-6s %s%s%-10s %-9s attempts %-3s %s %s UTC",
			PQgetvalue(r, i, C_ID),
			with_domain ? PQgetvalue(r, i, C_DOMAIN) : "",
			with_domain ? "  " : "", PQgetvalue(r, i, C_KIND),
			PQgetvalue(r, i, C_STATE), PQgetvalue(r, i, C_ATTEMPTS),
			when_label(PQgetvalue(r, i, C_STATE)),
			PQgetvalue(r, i, C_WHEN));
		if (*code)
			fprintf(out, "  [%s] %s", code,
				PQgetvalue(r, i, C_MSG));
		else if (*PQgetvalue(r, i, C_MSG))
			fprintf(out, "  %s", PQgetvalue(r, i, C_MSG));
		fprintf(out, "\n       %s -> %s\n", PQgetvalue(r, i, C_BEFORE),
			PQgetvalue(r, i, C_AFTER));
	}
}

static void report_json(PGresult *r, FILE *out)
{
	struct json j;

	json_init(&j, out, true);
	json_array_begin(&j, NULL);
	for (int i = 0; i < PQntuples(r); i++) {
		json_object_begin(&j, NULL);
		json_int(&j, "id", strtoll(PQgetvalue(r, i, C_ID), NULL, 10));
		json_str(&j, "domain", PQgetvalue(r, i, C_DOMAIN));
		json_str(&j, "kind", PQgetvalue(r, i, C_KIND));
		json_str(&j, "state", PQgetvalue(r, i, C_STATE));
		json_int(&j, "attempts", atoi(PQgetvalue(r, i, C_ATTEMPTS)));
		json_str(&j, "created", PQgetvalue(r, i, C_CREATED));
		json_str(&j, strcmp(PQgetvalue(r, i, C_STATE), "queued") == 0
				     ? "next_attempt"
				     : "updated",
			 PQgetvalue(r, i, C_WHEN));
		if (*PQgetvalue(r, i, C_CODE))
			json_int(&j, "code", atoi(PQgetvalue(r, i, C_CODE)));
		else
			json_null(&j, "code");
		json_str(&j, "message", PQgetvalue(r, i, C_MSG));
		json_str(&j, "before", PQgetvalue(r, i, C_BEFORE));
		json_str(&j, "after", PQgetvalue(r, i, C_AFTER));
		json_object_end(&j);
	}
	json_array_end(&j);
	json_finish(&j);
}

int db_outbox_report(struct db *db, bool all, bool json, FILE *out)
{
	PGresult *r = db_exec(db,
			      all ? OUTBOX_COLS "ORDER BY id"
				  : OUTBOX_COLS "WHERE state IN ('queued',"
						" 'sending', 'pending',"
						" 'refused') ORDER BY id",
			      0, NULL);

	if (!r)
		return CDS_EDB;
	if (json) {
		report_json(r, out);
	} else if (PQntuples(r) == 0) {
		fprintf(out, "outbox: nothing %s\n",
			all ? "at all" : "queued, in flight or refused");
	} else {
		report_text(r, out, true);
	}
	PQclear(r);
	return CDS_OK;
}

int db_outbox_status(struct db *db, const char *domain, FILE *out)
{
	const char *p[1] = {domain};
	PGresult *r = db_exec(db,
			      OUTBOX_COLS "WHERE domain = $1 AND (state NOT IN"
			      " ('done', 'superseded') OR id = (SELECT max(id)"
			      " FROM cdscan.epp_outbox WHERE domain = $1))"
			      " ORDER BY id",
			      1, p);

	if (!r)
		return CDS_EDB;
	if (PQntuples(r) > 0) {
		fprintf(out, "EPP outbox\n");
		report_text(r, out, false);
	}
	PQclear(r);
	return CDS_OK;
}
