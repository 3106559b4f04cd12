/*
 * CSYNC in the database: the NS set and in-bailiwick glue a child asks
 * for (RFC 7477, STANDARDS §6), carried out the way DS changes are. A
 * scan's accepted change goes through cdscan.apply_ns() (sink db) or a
 * change request (sink requests) in the transaction that records the
 * scan, with an audit row holding the evidence; a change the child did
 * not flag `immediate` (Y3) waits in cdscan.csync_change as 'held' until
 * an operator approves or rejects it (`cdscan approve`, `cdscan reject`),
 * and those decisions are audited too (and, by the trigger of
 * cdscan.audit, become events). With `sink: epp` an accepted change is
 * queued in the EPP outbox instead ('queued'), and the local tables
 * follow when the registry confirms (db/outbox.c). A held change the
 * child takes back is superseded by the scan that sees it go.
 *
 * Glue is compared and stored as "NAME ADDRESS" strings of the NS names
 * inside the domain only: RFC 7477 §3.2.2 and Y7 never let a child touch
 * the glue of names outside its own zone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/errors.h"
#include "core/json.h"
#include "db/db_int.h"

bool db_csync_wants_change(const struct db_result *r)
{
	const struct cds_csync_decision *c = r->csync;

	if (!c || !r->csync_after || r->n_csync_after == 0)
		return false;
	return c->verdict == CDS_DEC_UPDATE ||
	       (c->verdict == CDS_DEC_PENDING && c->reason == CDS_R_CSYNC_HELD);
}

/* Is `name` the domain or below it? Both lower case with the dot. */
static bool in_bailiwick(const char *domain, const char *name)
{
	size_t dl = strlen(domain), nl = strlen(name);

	if (nl == dl)
		return strcasecmp(name, domain) == 0;
	return nl > dl && name[nl - dl - 1] == '.' &&
	       strcasecmp(name + nl - dl, domain) == 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A sorted array literal of n strings (sorted in place). */
static char *sorted_lit(const char **s, size_t n)
{
	qsort(s, n, sizeof *s, str_cmp);
	return db_array_literal(s, n);
}

static char *ns_lit(const struct cds_ns *ns, size_t n)
{
	const char **s = calloc(n ? n : 1, sizeof *s);
	char *lit;

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++)
		s[i] = ns[i].name;
	lit = sorted_lit(s, n);
	free(s);
	return lit;
}

/* "name addr" of every address of the in-bailiwick names of ns. */
static char *glue_lit(const char *domain, const struct cds_ns *ns, size_t n)
{
	size_t total = 0, k = 0;
	char **buf;
	char *lit = NULL;

	for (size_t i = 0; i < n; i++)
		total += ns[i].n_glue;
	if (!(buf = calloc(total ? total : 1, sizeof *buf)))
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (!in_bailiwick(domain, ns[i].name))
			continue;
		for (size_t g = 0; g < ns[i].n_glue; g++)
			if (asprintf(&buf[k++], "%s %s", ns[i].name,
				     ns[i].glue[g]) < 0) {
				buf[--k] = NULL;
				goto out;
			}
	}
	lit = sorted_lit((const char **)buf, k);
out:
	for (size_t i = 0; i < k; i++)
		free(buf[i]);
	free(buf);
	return lit;
}

/* The before and after sets of a result, as array literals. */
struct sets {
	char *before_ns, *after_ns, *before_glue, *after_glue;
};

static void sets_free(struct sets *s)
{
	free(s->before_ns);
	free(s->after_ns);
	free(s->before_glue);
	free(s->after_glue);
}

static int sets_of(struct db *db, const struct db_result *r, struct sets *s)
{
	const struct db_delegation *d = r->deleg;

	s->before_ns = ns_lit(d->ns, d->n_ns);
	s->after_ns = ns_lit(r->csync_after, r->n_csync_after);
	s->before_glue = glue_lit(d->name, d->ns, d->n_ns);
	s->after_glue = glue_lit(d->name, r->csync_after, r->n_csync_after);
	if (s->before_ns && s->after_ns && s->before_glue && s->after_glue)
		return CDS_OK;
	sets_free(s);
	snprintf(db->err, sizeof db->err, "out of memory");
	return CDS_ENOMEM;
}

static int apply_ns(struct db *db, const char *domain, const char *bns,
		    const char *ans, const char *bglue, const char *aglue,
		    bool *applied)
{
	const char *p[5] = {domain, bns, ans, bglue, aglue};
	PGresult *r = db_exec(db,
			      "SELECT cdscan.apply_ns($1, $2::text[], $3::text[],"
			      " $4::text[], $5::text[])",
			      5, p);

	if (!r)
		return CDS_EDB;
	*applied = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	return CDS_OK;
}

int db_csync_carry(struct db *db, enum db_sink sink, const struct db_result *r,
		   enum db_outcome *out)
{
	struct sets s = {0};
	bool applied = false;
	int ret;

	*out = DB_OUT_NONE;
	/* held (Y3): nothing to carry out yet */
	if (r->csync->verdict != CDS_DEC_UPDATE)
		return CDS_OK;
	if (sink == DB_SINK_REQUESTS) {
		*out = DB_OUT_REQUESTED;
		return CDS_OK;
	}
	/* sink epp: db_csync_write queues it once its row exists */
	if (sink == DB_SINK_EPP) {
		*out = DB_OUT_QUEUED;
		return CDS_OK;
	}
	if ((ret = sets_of(db, r, &s)) != 0)
		return ret;
	ret = apply_ns(db, r->deleg->name, s.before_ns, s.after_ns,
		       s.before_glue, s.after_glue, &applied);
	if (ret == 0)
		*out = applied ? DB_OUT_APPLIED : DB_OUT_STALE;
	sets_free(&s);
	return ret;
}

/* ---- evidence ------------------------------------------------------------ */

static void ev_host(struct json *j, const struct cds_csync_host *h)
{
	json_object_begin(j, NULL);
	json_str(j, "name", h->name);
	if (h->a_rr.state != CDS_RR_NOT_QUERIED) {
		db_evidence_rrset(j, "a_rrset", &h->a_rr);
		json_array_begin(j, "a");
		for (size_t i = 0; i < h->n_a; i++)
			json_str(j, NULL, h->a[i]);
		json_array_end(j);
	}
	if (h->aaaa_rr.state != CDS_RR_NOT_QUERIED) {
		db_evidence_rrset(j, "aaaa_rrset", &h->aaaa_rr);
		json_array_begin(j, "aaaa");
		for (size_t i = 0; i < h->n_aaaa; i++)
			json_str(j, NULL, h->aaaa[i]);
		json_array_end(j);
	}
	json_object_end(j);
}

/* What one server showed: its SOA serial before and after, the CSYNC
   record and the data it names, each with how it was signed. */
static void ev_server(struct json *j, const struct cds_server_obs *o)
{
	const struct cds_csync_obs *c = &o->csync;

	json_object_begin(j, NULL);
	json_str(j, "name", o->name);
	json_str(j, "address", o->addr);
	if (o->error)
		json_str(j, "error", o->error_text[0] ? o->error_text
						      : cds_strerror(o->error));
	if (o->soa.state == CDS_RR_PRESENT)
		json_int(j, "soa_serial", o->soa_serial);
	if (c->soa_after.state == CDS_RR_PRESENT)
		json_int(j, "soa_serial_after", c->soa_serial_after);
	json_object_begin(j, "csync");
	json_str(j, "state", cds_rrstate_name(c->rr.state));
	json_str(j, "signature", cds_sigstate_name(c->rr.sig));
	if (c->rr.sig_keytag)
		json_int(j, "key_tag", c->rr.sig_keytag);
	if (c->rr.state == CDS_RR_PRESENT && !c->malformed) {
		json_int(j, "serial", c->serial);
		json_int(j, "flags", c->flags);
		json_array_begin(j, "types");
		for (size_t i = 0; i < c->n_types; i++)
			json_int(j, NULL, c->types[i]);
		json_array_end(j);
	}
	json_object_end(j);
	if (c->ns_rr.state != CDS_RR_NOT_QUERIED) {
		db_evidence_rrset(j, "ns_rrset", &c->ns_rr);
		json_array_begin(j, "ns");
		for (size_t i = 0; i < c->n_ns; i++)
			json_str(j, NULL, c->ns[i]);
		json_array_end(j);
	}
	if (c->n_hosts) {
		json_array_begin(j, "hosts");
		for (size_t i = 0; i < c->n_hosts; i++)
			ev_host(j, &c->hosts[i]);
		json_array_end(j);
	}
	json_object_end(j);
}

static const char *out_name(const struct db_result *r, enum db_outcome out)
{
	if (r->csync->verdict == CDS_DEC_PENDING)
		return "held";
	switch (out) {
	case DB_OUT_APPLIED: return "applied";
	case DB_OUT_REQUESTED: return "requested";
	case DB_OUT_STALE: return "stale";
	default: return out == DB_OUT_QUEUED ? "queued" : "held";
	}
}

void db_csync_check_servers(struct json *j, const struct cds_server_obs *obs,
			    size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct cds_server_obs *o = &obs[i];

		json_object_begin(j, NULL);
		json_str(j, "name", o->name);
		json_str(j, "address", o->addr);
		if (o->error)
			json_str(j, "error", o->error_text[0]
						     ? o->error_text
						     : cds_strerror(o->error));
		if (o->soa.state == CDS_RR_PRESENT)
			json_int(j, "soa_serial", o->soa_serial);
		/* CDS_OK: every answer was authoritative (CDS_ELAME not) */
		json_bool(j, "authoritative", o->error == CDS_OK);
		json_bool(j, "dnskey_proven", o->dnskey_proven);
		json_object_end(j);
	}
}

static char *evidence(const struct db_result *r, enum db_outcome out)
{
	const struct cds_csync_decision *c = r->csync;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct json j;

	if (!f)
		return NULL;
	json_init(&j, f, false);
	json_object_begin(&j, NULL);
	json_str(&j, "decision", cds_verdict_name(c->verdict));
	json_str(&j, "reason", cds_reason_name(c->reason));
	json_str(&j, "detail", c->detail);
	json_str(&j, "outcome", out_name(r, out));
	json_int(&j, "time", r->time);
	json_int(&j, "serial", c->serial);
	json_int(&j, "flags", c->flags);
	json_array_begin(&j, "servers");
	for (size_t i = 0; i < r->n_obs; i++)
		ev_server(&j, &r->obs[i]);
	json_array_end(&j);
	if (r->csync_check) {
		/* the probe of the new delegation (Y8 [S]): what made the
		   scan trust it, as an approval records its own */
		json_object_begin(&j, "check");
		json_str(&j, "verdict", cds_verdict_name(c->verdict));
		json_str(&j, "detail", c->detail);
		json_array_begin(&j, "servers");
		db_csync_check_servers(&j, r->csync_check, r->n_csync_check);
		json_array_end(&j);
		json_object_end(&j);
	}
	json_object_end(&j);
	json_finish(&j);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ---- what a scan leaves ------------------------------------------------- */

static int exec_ok(struct db *db, const char *sql, int n, const char **p)
{
	PGresult *r = db_exec(db, sql, n, p);

	if (!r)
		return CDS_EDB;
	PQclear(r);
	return CDS_OK;
}

static const char SQL_SUPERSEDE[] =
	"UPDATE cdscan.csync_change SET state = 'superseded',"
	" decided = to_timestamp($2::bigint), decided_by = $3, why = $4"
	" WHERE domain = $1 AND state = 'held'";

static const char SQL_SAME_HELD[] =
	"SELECT 1 FROM cdscan.csync_change WHERE domain = $1 AND state = 'held'"
	" AND serial = $2::bigint AND before_ns = $3::text[]"
	" AND after_ns = $4::text[] AND before_glue = $5::text[]"
	" AND after_glue = $6::text[]";

static const char SQL_CHANGE_ROW[] =
	"INSERT INTO cdscan.csync_change (domain, serial, flags, before_ns,"
	" after_ns, before_glue, after_glue, evidence, run_id, scan_id, state,"
	" created, decided, decided_by)"
	" VALUES ($1, $2::bigint, $3::integer, $4, $5, $6, $7, $8::jsonb,"
	" $9::bigint, $10::bigint, $11, to_timestamp($12::bigint),"
	" CASE WHEN $11 IN ('held', 'queued') THEN NULL"
	"  ELSE to_timestamp($12::bigint) END,"
	" CASE WHEN $11 IN ('held', 'queued') THEN NULL ELSE 'scan' END)"
	" RETURNING id";

/* The audit row of an NS change (kind ns-update) or decision about one;
   the DS columns hold the DS set, which does not change. */
static const char SQL_AUDIT_NS[] =
	"INSERT INTO cdscan.audit (domain, actor, kind, before_ds, after_ds,"
	" before_ns, after_ns, before_glue, after_glue, run_id, scan_id,"
	" evidence, time)"
	" VALUES ($1, $2, $3, $4::text[], $4::text[], $5, $6, $7, $8,"
	" $9::bigint, $10::bigint, $11::jsonb, to_timestamp($12::bigint))";

static const char SQL_REQUEST_NS[] =
	"INSERT INTO cdscan.change_request (domain, kind, before_ds, after_ds,"
	" before_ns, after_ns, before_glue, after_glue, run_id, scan_id)"
	" VALUES ($1, 'ns-update', $2::text[], $2::text[], $3, $4, $5, $6,"
	" $7::bigint, $8::bigint)";

int db_csync_write(struct db *db, const char *run_id, const char *scan_id,
		   const struct db_result *r, enum db_outcome out)
{
	const struct cds_csync_decision *c = r->csync;
	const char *dom = r->deleg->name, *state;
	char serial[16], flags[8], t[24], why[96], cid[24];
	struct sets s = {0};
	char *ev = NULL;
	int ret;

	/* stale: the scan row says so; the next scan decides again */
	if (out == DB_OUT_STALE)
		return CDS_OK;
	state = c->verdict == CDS_DEC_PENDING ? "held"
		: out == DB_OUT_APPLIED ? "applied"
		: out == DB_OUT_QUEUED ? "queued" : "requested";
	if ((ret = sets_of(db, r, &s)) != 0)
		return ret;
	if (!(ev = evidence(r, out))) {
		snprintf(db->err, sizeof db->err, "out of memory");
		ret = CDS_ENOMEM;
		goto out;
	}
	snprintf(serial, sizeof serial, "%u", c->serial);
	snprintf(flags, sizeof flags, "%u", c->flags);
	snprintf(t, sizeof t, "%lld", (long long)r->time);
	snprintf(why, sizeof why, "replaced by scan %s", scan_id);
	if (strcmp(state, "held") == 0) {
		/* the same change held already: it stays, with its "since" */
		const char *p[6] = {dom, serial, s.before_ns, s.after_ns,
				    s.before_glue, s.after_glue};
		PGresult *q = db_exec(db, SQL_SAME_HELD, 6, p);
		bool same;

		if (!q) {
			ret = CDS_EDB;
			goto out;
		}
		same = PQntuples(q) > 0;
		PQclear(q);
		if (same)
			goto out;
	}
	{
		const char *p[4] = {dom, t, "scan", why};

		if ((ret = exec_ok(db, SQL_SUPERSEDE, 4, p)) != 0)
			goto out;
	}
	{
		const char *p[12] = {dom, serial, flags, s.before_ns,
				     s.after_ns, s.before_glue, s.after_glue,
				     ev, run_id, scan_id, state, t};
		PGresult *q = db_exec(db, SQL_CHANGE_ROW, 12, p);

		if (!q) {
			ret = CDS_EDB;
			goto out;
		}
		snprintf(cid, sizeof cid, "%s", PQgetvalue(q, 0, 0));
		PQclear(q);
	}
	/* sink epp: into the outbox in this transaction, so that the change
	   is neither lost nor sent without its decision */
	if (out == DB_OUT_QUEUED &&
	    (ret = db_outbox_queue_ns(db, dom, r->deleg->ds_text, s.before_ns,
				      s.after_ns, s.before_glue, s.after_glue,
				      cid, run_id, scan_id)) != 0)
		goto out;
	if (out == DB_OUT_REQUESTED) {
		const char *p[8] = {dom, r->deleg->ds_text, s.before_ns,
				    s.after_ns, s.before_glue, s.after_glue,
				    run_id, scan_id};

		if ((ret = exec_ok(db, SQL_REQUEST_NS, 8, p)) != 0)
			goto out;
	}
	if (out == DB_OUT_APPLIED || out == DB_OUT_REQUESTED ||
	    out == DB_OUT_QUEUED) {
		/* actor 'scan': the trigger of cdscan.audit makes the
		   ns-update event in this transaction */
		const char *p[12] = {dom, "scan", "ns-update",
				     r->deleg->ds_text, s.before_ns,
				     s.after_ns, s.before_glue, s.after_glue,
				     run_id, scan_id, ev, t};

		ret = exec_ok(db, SQL_AUDIT_NS, 12, p);
	}
out:
	free(ev);
	sets_free(&s);
	return ret;
}

/* Does this scan show the child no longer asking for a held change? Only
   what the child itself publishes counts: no CSYNC any more, CSYNC data
   equal to the delegation, or a request policy refuses whatever the
   registry does. A server that did not answer, disagreeing servers or a
   moving serial say nothing about it (the held change stays). */
static bool withdrawn(const struct db_result *r)
{
	if (!r->csync || db_csync_wants_change(r))
		return false;
	switch (r->csync->reason) {
	case CDS_R_CSYNC_NONE:
	case CDS_R_CSYNC_NO_CHANGE:
	case CDS_R_CSYNC_UNSUPPORTED:
	case CDS_R_CSYNC_NO_NS:
	case CDS_R_CSYNC_NS_COUNT:
	case CDS_R_CSYNC_GLUE_EMPTY:
		return true;
	default:
		return false;
	}
}

static const char SQL_WITHDRAWN[] =
	"WITH w AS (SELECT * FROM unnest($1::text[], $2::bigint[])"
	"  AS x(domain, t)),"
	" s AS (UPDATE cdscan.csync_change c SET state = 'superseded',"
	"  decided = to_timestamp(w.t), decided_by = 'scan',"
	"  why = 'withdrawn: the child no longer asks for it (run ' || $3"
	"  || ')' FROM w WHERE c.domain = w.domain AND c.state = 'held'"
	"  RETURNING c.*)"
	" INSERT INTO cdscan.audit (domain, actor, kind, before_ds, after_ds,"
	" before_ns, after_ns, before_glue, after_glue, run_id, evidence, time)"
	" SELECT s.domain, 'scan', 'ns-superseded', d.ds, d.ds, s.before_ns,"
	" s.before_ns, s.before_glue, s.before_glue, $3::bigint,"
	" coalesce(s.evidence, '{}'::jsonb) || jsonb_build_object('held', s.id,"
	"  'held_since', s.created, 'asked_ns', s.after_ns, 'asked_glue',"
	"  s.after_glue, 'decided_by', 'scan', 'why', s.why),"
	" s.decided FROM s JOIN cdscan.delegation d ON d.name = s.domain";

int db_csync_withdrawn(struct db *db, int64_t run_id,
		       const struct db_result *r, size_t n)
{
	const char **doms = NULL, **times = NULL;
	char (*tbuf)[24] = NULL, run[24], *dl = NULL, *tl = NULL;
	size_t k = 0;
	int ret = CDS_OK;

	for (size_t i = 0; i < n; i++)
		k += withdrawn(&r[i]);
	if (k == 0)
		return CDS_OK;
	doms = calloc(k, sizeof *doms);
	times = calloc(k, sizeof *times);
	tbuf = calloc(k, sizeof *tbuf);
	if (!doms || !times || !tbuf)
		goto nomem;
	k = 0;
	for (size_t i = 0; i < n; i++) {
		if (!withdrawn(&r[i]))
			continue;
		doms[k] = r[i].deleg->name;
		snprintf(tbuf[k], sizeof tbuf[k], "%lld", (long long)r[i].time);
		times[k] = tbuf[k];
		k++;
	}
	if (!(dl = db_array_literal(doms, k)) ||
	    !(tl = db_array_literal(times, k)))
		goto nomem;
	snprintf(run, sizeof run, "%lld", (long long)run_id);
	{
		const char *p[3] = {dl, tl, run};

		PGresult *res = db_exec_prepared(db, DB_ST_WITHDRAWN,
						 SQL_WITHDRAWN, 3, p);

		ret = res ? CDS_OK : CDS_EDB;
		PQclear(res);
	}
	goto out;
nomem:
	snprintf(db->err, sizeof db->err, "out of memory");
	ret = CDS_ENOMEM;
out:
	free(doms);
	free(times);
	free(tbuf);
	free(dl);
	free(tl);
	return ret;
}

/* ---- held changes: approve and reject ----------------------------------- */

enum { C_ID, C_CREATED, C_SERIAL, C_FLAGS, C_BNS, C_ANS, C_BGLUE, C_AGLUE,
       C_CURNS, C_CURGLUE, C_DS };

int db_csync_held_get(struct db *db, const char *domain,
		      struct db_csync_held *h, bool *found)
{
	const char *p[1] = {domain};
	char **ds = NULL;
	size_t nds = 0;
	PGresult *r;
	int ret = CDS_EINVAL;

	memset(h, 0, sizeof *h);
	*found = false;
	r = db_exec(db,
		    "SELECT c.id, extract(epoch FROM c.created)::bigint,"
		    " c.serial, c.flags, c.before_ns, c.after_ns, c.before_glue,"
		    " c.after_glue, d.ns, cdscan.inbailiwick_glue(d.name), d.ds"
		    " FROM cdscan.csync_change c"
		    " JOIN cdscan.delegation d ON d.name = c.domain"
		    " WHERE c.domain = $1 AND c.state = 'held'",
		    1, p);
	if (!r)
		return CDS_EDB;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return CDS_OK;
	}
	h->id = strtoll(PQgetvalue(r, 0, C_ID), NULL, 10);
	snprintf(h->domain, sizeof h->domain, "%s", domain);
	h->created = strtoll(PQgetvalue(r, 0, C_CREATED), NULL, 10);
	h->serial = (uint32_t)strtoul(PQgetvalue(r, 0, C_SERIAL), NULL, 10);
	h->flags = (uint16_t)strtoul(PQgetvalue(r, 0, C_FLAGS), NULL, 10);
	if (db_parse_array(PQgetvalue(r, 0, C_BNS), &h->before_ns,
			   &h->n_before_ns) != 0 ||
	    db_parse_array(PQgetvalue(r, 0, C_ANS), &h->after_ns,
			   &h->n_after_ns) != 0 ||
	    db_parse_array(PQgetvalue(r, 0, C_BGLUE), &h->before_glue,
			   &h->n_before_glue) != 0 ||
	    db_parse_array(PQgetvalue(r, 0, C_AGLUE), &h->after_glue,
			   &h->n_after_glue) != 0 ||
	    db_parse_array(PQgetvalue(r, 0, C_CURNS), &h->cur_ns,
			   &h->n_cur_ns) != 0 ||
	    db_parse_array(PQgetvalue(r, 0, C_CURGLUE), &h->cur_glue,
			   &h->n_cur_glue) != 0 ||
	    db_parse_array(PQgetvalue(r, 0, C_DS), &ds, &nds) != 0 ||
	    !(h->ds_text = strdup(PQgetvalue(r, 0, C_DS)))) {
		snprintf(db->err, sizeof db->err, "%s: cannot read the held "
			 "CSYNC change", domain);
		goto fail;
	}
	for (size_t i = 0; i < nds; i++) {
		if (h->n_ds == CDS_DS_MAX ||
		    cds_ds_parse(ds[i], &h->ds[h->n_ds]) != CDS_OK) {
			snprintf(db->err, sizeof db->err, "%s: DS '%s' of the "
				 "registry cannot be read", domain, ds[i]);
			goto fail;
		}
		h->n_ds++;
	}
	db_strv_free(ds, nds);
	PQclear(r);
	*found = true;
	return CDS_OK;
fail:
	db_strv_free(ds, nds);
	PQclear(r);
	db_csync_held_deinit(h);
	return ret;
}

void db_csync_held_deinit(struct db_csync_held *h)
{
	db_strv_free(h->before_ns, h->n_before_ns);
	db_strv_free(h->after_ns, h->n_after_ns);
	db_strv_free(h->before_glue, h->n_before_glue);
	db_strv_free(h->after_glue, h->n_after_glue);
	db_strv_free(h->cur_ns, h->n_cur_ns);
	db_strv_free(h->cur_glue, h->n_cur_glue);
	free(h->ds_text);
	memset(h, 0, sizeof *h);
}

/* Equal as sets (both come sorted from the database; sort anyway). */
static bool same_set(char **a, size_t na, char **b, size_t nb)
{
	if (na != nb)
		return false;
	qsort(a, na, sizeof *a, str_cmp);
	qsort(b, nb, sizeof *b, str_cmp);
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

bool db_csync_held_current(const struct db_csync_held *h)
{
	return same_set(h->cur_ns, h->n_cur_ns, h->before_ns, h->n_before_ns) &&
	       same_set(h->cur_glue, h->n_cur_glue, h->before_glue,
			h->n_before_glue);
}

static char *lit_of(char **v, size_t n)
{
	return db_array_literal((const char *const *)v, n);
}

/* Lock the held row: false when it is no longer held (another operator
   was faster). */
static int lock_held(struct db *db, const struct db_csync_held *h, bool *held)
{
	char id[24];
	const char *p[1] = {id};
	PGresult *r;

	snprintf(id, sizeof id, "%lld", (long long)h->id);
	r = db_exec(db,
		    "SELECT 1 FROM cdscan.csync_change WHERE id = $1::bigint"
		    " AND state = 'held' FOR UPDATE",
		    1, p);
	if (!r)
		return CDS_EDB;
	*held = PQntuples(r) == 1;
	PQclear(r);
	if (!*held)
		snprintf(db->err, sizeof db->err, "%s: the held CSYNC change "
			 "was decided meanwhile", h->domain);
	return CDS_OK;
}

static int set_state(struct db *db, const struct db_csync_held *h,
		     const char *state, const char *actor, const char *why,
		     const char *t)
{
	char id[24];
	const char *p[5] = {id, state, actor, why, t};

	snprintf(id, sizeof id, "%lld", (long long)h->id);
	return exec_ok(db,
		       "UPDATE cdscan.csync_change SET state = $2,"
		       " decided = to_timestamp($5::bigint), decided_by = $3,"
		       " why = $4 WHERE id = $1::bigint",
		       5, p);
}

/* An audit row about held change h: its evidence with the operator's
   decision (and, for an approval, the new check) added. */
static int audit_held(struct db *db, const struct db_csync_held *h,
		      const char *actor, const char *kind, bool changed,
		      const char *check, const char *why, const char *t)
{
	char id[24], *bns = lit_of(h->before_ns, h->n_before_ns);
	char *ans = lit_of(h->after_ns, h->n_after_ns);
	char *bg = lit_of(h->before_glue, h->n_before_glue);
	char *ag = lit_of(h->after_glue, h->n_after_glue);
	int ret = CDS_ENOMEM;

	snprintf(id, sizeof id, "%lld", (long long)h->id);
	if (bns && ans && bg && ag) {
		/* a rejection changes nothing: after = before */
		const char *p[8] = {h->domain, actor, kind, h->ds_text, bns,
				    changed ? ans : bns, bg,
				    changed ? ag : bg};
		const char *q[12] = {p[0], p[1], p[2], p[3], p[4], p[5], p[6],
				     p[7], id, check, why, t};
		const char *sql =
			"INSERT INTO cdscan.audit (domain, actor, kind,"
			" before_ds, after_ds, before_ns, after_ns, before_glue,"
			" after_glue, evidence, time)"
			" SELECT $1, $2, $3, $4::text[], $4::text[], $5, $6, $7,"
			" $8, coalesce(c.evidence, '{}'::jsonb)"
			"  || jsonb_build_object('held', c.id, 'held_since',"
			"     c.created, 'asked_ns', c.after_ns, 'asked_glue',"
			"     c.after_glue, 'decided_by', $2::text, 'why', $11::text)"
			"  || CASE WHEN $10::text IS NULL THEN '{}'::jsonb"
			"     ELSE jsonb_build_object('check', $10::jsonb) END,"
			" to_timestamp($12::bigint)"
			" FROM cdscan.csync_change c WHERE c.id = $9::bigint";

		ret = exec_ok(db, sql, 12, q);
	}
	if (ret == CDS_ENOMEM)
		snprintf(db->err, sizeof db->err, "out of memory");
	free(bns);
	free(ans);
	free(bg);
	free(ag);
	return ret;
}

int db_csync_approve(struct db *db, const struct db_csync_held *h,
		     enum db_sink sink, const char *actor, const char *check,
		     int64_t now, enum db_outcome *outcome)
{
	char t[24], *bns = NULL, *ans = NULL, *bg = NULL, *ag = NULL;
	bool held = false, applied = true;
	int ret;

	*outcome = DB_OUT_NONE;
	snprintf(t, sizeof t, "%lld", (long long)now);
	bns = lit_of(h->before_ns, h->n_before_ns);
	ans = lit_of(h->after_ns, h->n_after_ns);
	bg = lit_of(h->before_glue, h->n_before_glue);
	ag = lit_of(h->after_glue, h->n_after_glue);
	if (!bns || !ans || !bg || !ag) {
		snprintf(db->err, sizeof db->err, "out of memory");
		ret = CDS_ENOMEM;
		goto out;
	}
	if ((ret = db_cmd(db, "BEGIN")) != 0)
		goto out;
	if ((ret = lock_held(db, h, &held)) != 0)
		goto fail;
	if (!held) {
		ret = CDS_ENOTFOUND;
		goto fail;
	}
	if (sink == DB_SINK_TABLES &&
	    (ret = apply_ns(db, h->domain, bns, ans, bg, ag, &applied)) != 0)
		goto fail;
	if (!applied) {
		/* the registry moved away from `before`: this change no
		   longer describes a step from what is published */
		*outcome = DB_OUT_STALE;
		ret = set_state(db, h, "superseded", actor,
				"stale: the registry's NS set or glue changed "
				"since it was held", t);
	} else if (sink == DB_SINK_EPP) {
		/* into the outbox with the decision; 'applied' when the
		   registry confirms (db_outbox_done) */
		char id[24];

		snprintf(id, sizeof id, "%lld", (long long)h->id);
		*outcome = DB_OUT_REQUESTED;
		if ((ret = set_state(db, h, "queued", actor, "approved",
				     t)) == 0)
			ret = db_outbox_queue_ns(db, h->domain, h->ds_text, bns,
						 ans, bg, ag, id, NULL, NULL);
		if (ret == 0)
			ret = audit_held(db, h, actor, "ns-update", true, check,
					 "approved", t);
	} else if (sink == DB_SINK_TABLES) {
		*outcome = DB_OUT_APPLIED;
		if ((ret = set_state(db, h, "applied", actor, "approved",
				     t)) == 0)
			ret = audit_held(db, h, actor, "ns-update", true, check,
					 "approved", t);
	} else {
		const char *p[6] = {h->domain, h->ds_text, bns, ans, bg, ag};

		*outcome = DB_OUT_REQUESTED;
		ret = exec_ok(db,
			      "INSERT INTO cdscan.change_request (domain, kind,"
			      " before_ds, after_ds, before_ns, after_ns,"
			      " before_glue, after_glue)"
			      " VALUES ($1, 'ns-update', $2::text[], $2::text[],"
			      " $3, $4, $5, $6)",
			      6, p);
		if (ret == 0)
			ret = set_state(db, h, "approved", actor, "approved", t);
		if (ret == 0)
			ret = audit_held(db, h, actor, "ns-update", true, check,
					 "approved", t);
	}
	if (ret != 0 || (ret = db_cmd(db, "COMMIT")) != 0)
		goto fail;
	goto out;
fail:
	db_rollback(db);
	*outcome = DB_OUT_NONE;
out:
	free(bns);
	free(ans);
	free(bg);
	free(ag);
	return ret;
}

int db_csync_close(struct db *db, const struct db_csync_held *h,
		   bool superseded, const char *actor, const char *why,
		   int64_t now)
{
	char t[24];
	bool held = false;
	int ret;

	snprintf(t, sizeof t, "%lld", (long long)now);
	if ((ret = db_cmd(db, "BEGIN")) != 0)
		return ret;
	if ((ret = lock_held(db, h, &held)) != 0)
		goto fail;
	if (!held) {
		ret = CDS_ENOTFOUND;
		goto fail;
	}
	if ((ret = set_state(db, h, superseded ? "superseded" : "rejected",
			     actor, why, t)) != 0 ||
	    (ret = audit_held(db, h, actor,
			      superseded ? "ns-superseded" : "ns-rejected",
			      false, NULL, why, t)) != 0 ||
	    (ret = db_cmd(db, "COMMIT")) != 0)
		goto fail;
	return CDS_OK;
fail:
	db_rollback(db);
	return ret;
}

/* "a b" from an array literal, for one status line. */
static void print_set(FILE *out, const char *lit)
{
	char **v = NULL;
	size_t n = 0;

	if (db_parse_array(lit, &v, &n) != 0) {
		fputs(lit, out);
		return;
	}
	if (n == 0)
		fputs("(none)", out);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s%s", i ? " " : "", v[i]);
	db_strv_free(v, n);
}

int db_csync_status(struct db *db, const char *domain, FILE *out)
{
	const char *p[1] = {domain};
	PGresult *r = db_exec(
		db,
		"SELECT to_char(created AT TIME ZONE 'UTC',"
		" 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), serial, flags, before_ns,"
		" after_ns, before_glue, after_glue,"
		" before_glue IS DISTINCT FROM after_glue"
		" FROM cdscan.csync_change WHERE domain = $1 AND state = 'held'",
		1, p);

	PGresult *l;

	if (!r)
		return CDS_EDB;
	/* the newest scan's CSYNC verdict, when the child publishes CSYNC */
	l = db_exec(db,
		    "SELECT csync_verdict, csync_reason, csync_detail,"
		    " csync_outcome FROM cdscan.scan WHERE domain = $1"
		    " AND NOT dry_run ORDER BY time DESC, id DESC LIMIT 1",
		    1, p);
	if (!l) {
		PQclear(r);
		return CDS_EDB;
	}
	if (PQntuples(l) == 1 && !PQgetisnull(l, 0, 0) &&
	    strcmp(PQgetvalue(l, 0, 1), "csync-none") != 0) {
		fprintf(out, "\nCSYNC           %s (%s)%s%s\n",
			PQgetvalue(l, 0, 0), PQgetvalue(l, 0, 1),
			PQgetisnull(l, 0, 3) ? "" : ", ",
			PQgetvalue(l, 0, 3));
		if (PQgetvalue(l, 0, 2)[0])
			fprintf(out, "                %s\n", PQgetvalue(l, 0, 2));
	}
	PQclear(l);
	for (int i = 0; i < PQntuples(r); i++) {
		fprintf(out, "\nCSYNC change held for approval since %s: NS ",
			PQgetvalue(r, i, 0));
		print_set(out, PQgetvalue(r, i, 3));
		fputs(" \u2192 ", out);
		print_set(out, PQgetvalue(r, i, 4));
		fputc('\n', out);
		if (strcmp(PQgetvalue(r, i, 7), "t") == 0) {
			fputs("  glue ", out);
			print_set(out, PQgetvalue(r, i, 5));
			fputs(" \u2192 ", out);
			print_set(out, PQgetvalue(r, i, 6));
			fputc('\n', out);
		}
		fprintf(out, "  serial %s, flags %s; cdscan approve %s (or "
			"reject)\n", PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
			domain);
	}
	PQclear(r);
	return CDS_OK;
}
