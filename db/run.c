/*
 * Runs and the work queue: which delegations a run covers, and how
 * workers on several hosts share them. A run lists its delegations once,
 * cut into batches in name order (cdscan.run_batch: a row per batch with
 * its names, filled by one INSERT ... SELECT); workers claim a batch at a time
 * with FOR UPDATE SKIP LOCKED, so two workers never hold the same batch,
 * and a claim carries a lease: a worker that dies stops renewing, its
 * lease lapses and the batch is claimed again by whoever asks next, who
 * gets only what was not recorded. A delegation is done when its scan
 * is recorded in the run (cdscan.scan, once per run: db/record.c); a
 * batch is marked done once its worker has recorded all of it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "db/db_int.h"

/* Used until db_run_begin gives one. */
#define DB_LEASE_DEFAULT_MS 300000

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * The run's selection text: 'all', or the names sorted, without
 * duplicates, space-separated, so that the same names in another order
 * join the same run. Also the names as an array literal, for ANY().
 */
static int selection_text(const struct db_run_spec *spec, char **sel,
			  char **arr)
{
	const char **v = NULL;
	size_t n = 0, len = 1;
	char *s = NULL;

	*sel = *arr = NULL;
	if (!spec->domains || spec->n_domains == 0) {
		*sel = strdup("all");
		return *sel ? CDS_OK : CDS_ENOMEM;
	}
	if (!(v = malloc(spec->n_domains * sizeof *v)))
		goto fail;
	for (size_t i = 0; i < spec->n_domains; i++) {
		v[i] = spec->domains[i];
		len += strlen(v[i]) + 1;
	}
	qsort(v, spec->n_domains, sizeof *v, cmp_str);
	if (!(s = malloc(len)))
		goto fail;
	s[0] = '\0';
	for (size_t i = 0; i < spec->n_domains; i++) {
		if (n && strcmp(v[n - 1], v[i]) == 0)
			continue;
		v[n++] = v[i];
	}
	for (size_t i = 0, off = 0; i < n; i++)
		off += (size_t)sprintf(s + off, "%s%s", i ? " " : "", v[i]);
	if (!(*arr = db_array_literal(v, n)))
		goto fail;
	*sel = s;
	free(v);
	return CDS_OK;
fail:
	free(v);
	free(s);
	return CDS_ENOMEM;
}

/* A new run of the selection, with one item per selected delegation,
   in batches of `batch` in name order. */
static int run_create(struct db *db, const char *sel, const char *arr,
		      bool dry_run, size_t batch, struct db_run_info *out)
{
	const char *p[3] = {sel, dry_run ? "t" : "f", NULL};
	char id[24], total[24], size[24];
	PGresult *r;

	r = db_exec(db,
		    "INSERT INTO cdscan.run (selection, dry_run) VALUES ($1, $2)"
		    " RETURNING id",
		    2, p);
	if (!r)
		return CDS_EDB;
	snprintf(id, sizeof id, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	out->id = strtoll(id, NULL, 10);
	snprintf(size, sizeof size, "%zu", batch ? batch : DB_BATCH_DEFAULT);
	p[0] = id;
	p[1] = arr;
	p[2] = size;
	/* One statement however many delegations, one row per batch (schema
	   14): the view's ns and ds columns are not asked for, so the
	   planner never computes them. */
	r = db_exec(db,
		    "WITH b AS (INSERT INTO cdscan.run_batch"
		    "  (run_id, batch, size, domains)"
		    " SELECT $1::bigint, x.batch, count(*),"
		    "  array_agg(x.name ORDER BY x.name)"
		    " FROM (SELECT n.name, (row_number() OVER (ORDER BY n.name)"
		    "  - 1) / $3::bigint AS batch"
		    "  FROM (SELECT DISTINCT d.name FROM cdscan.delegation d"
		    "   WHERE $2::text[] IS NULL OR d.name = ANY($2::text[])) n) x"
		    " GROUP BY x.batch RETURNING size)"
		    " UPDATE cdscan.run SET total = (SELECT coalesce(sum(size), 0)"
		    "  FROM b) WHERE id = $1 RETURNING total",
		    3, p);
	if (!r)
		return CDS_EDB;
	snprintf(total, sizeof total, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	out->total = strtoll(total, NULL, 10);
	if (arr && out->total == 0) {
		snprintf(db->err, sizeof db->err,
			 "none of the domains named is a delegation "
			 "(cdscan.delegation)");
		return CDS_ENOTFOUND;
	}
	/* Statistics on the new batches, so that claims find them by index
	   from the first; autovacuum would come too late. The names are not
	   read (their statistics target is 0). */
	return db_cmd(db, "ANALYZE cdscan.run_batch");
}

/* The unfinished run of this selection and mode, if any: *found. What is
   done is what its batches count as recorded (schema 13), not a count
   of its scans, which grows with the run. */
static int run_find(struct db *db, const char *sel, bool dry_run,
		    struct db_run_info *out, bool *found)
{
	const char *p[2] = {sel, dry_run ? "t" : "f"};
	PGresult *r;

	*found = false;
	r = db_exec(db,
		    "SELECT r.id, r.total, (SELECT coalesce(sum(b.recorded), 0)"
		    "  FROM cdscan.run_batch b WHERE b.run_id = r.id)"
		    " FROM cdscan.run r"
		    " WHERE md5(r.selection) = md5($1) AND r.selection = $1"
		    " AND r.dry_run = $2 AND r.state = 'running'",
		    2, p);
	if (!r)
		return CDS_EDB;
	if (PQntuples(r) == 1) {
		*found = true;
		out->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		out->total = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
		out->done = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
	}
	PQclear(r);
	return CDS_OK;
}

int db_run_begin(struct db *db, const struct db_run_spec *spec,
		 struct db_run_info *out)
{
	char *sel = NULL, *arr = NULL, id[24], lock[96];
	const char *p[2] = {id, spec->worker};
	bool found = false;
	PGresult *r;
	int ret;

	memset(out, 0, sizeof *out);
	if (!spec->worker || !spec->worker[0] ||
	    strlen(spec->worker) >= DB_WORKER_MAX) {
		snprintf(db->err, sizeof db->err, "bad worker name");
		return CDS_EINVAL;
	}
	if ((ret = selection_text(spec, &sel, &arr)) != 0) {
		snprintf(db->err, sizeof db->err, "out of memory");
		return ret;
	}
	db->lease_ms = spec->lease_ms > 0 ? spec->lease_ms
					  : DB_LEASE_DEFAULT_MS;
	if ((ret = db_cmd(db, "BEGIN")) != 0)
		goto out;
	/* Workers started together take turns here: the first creates the
	   run, the others then find it (the lock ends with the
	   transaction). */
	snprintf(lock, sizeof lock, "SELECT pg_advisory_xact_lock(%d, %d)",
		 DB_LOCK_NS, DB_LOCK_RUN);
	if ((ret = db_cmd(db, lock)) != 0 ||
	    (ret = run_find(db, sel, spec->dry_run, out, &found)) != 0)
		goto fail;
	out->joined = found;
	if (!found &&
	    (ret = run_create(db, sel, arr, spec->dry_run, spec->batch_size,
			       out)) != 0)
		goto fail;
	snprintf(id, sizeof id, "%lld", (long long)out->id);
	r = db_exec(db,
		    "INSERT INTO cdscan.worker (run_id, worker) VALUES ($1, $2)"
		    " ON CONFLICT (run_id, worker) DO UPDATE SET last_seen = now()",
		    2, p);
	if (!r) {
		ret = CDS_EDB;
		goto fail;
	}
	PQclear(r);
	if ((ret = db_cmd(db, "COMMIT")) != 0)
		goto fail;
	goto out;
fail:
	db_rollback(db);
	memset(out, 0, sizeof *out);
out:
	free(sel);
	free(arr);
	return ret;
}

/* ---- claims ----------------------------------------------------------- */

/* Copy src into dst (size dstlen); false when it does not fit. */
static bool copy_str(char *dst, size_t dstlen, const char *src)
{
	size_t len = strlen(src);

	if (len >= dstlen)
		return false;
	memcpy(dst, src, len + 1);
	return true;
}

static void load_error(struct db_delegation *d, int code, const char *fmt,
		       ...) __attribute__((format(printf, 3, 4)));

static void load_error(struct db_delegation *d, int code, const char *fmt,
		       ...)
{
	va_list ap;

	if (d->load_error)
		return; /* the first problem is the one to report */
	d->load_error = code;
	va_start(ap, fmt);
	vsnprintf(d->load_errtext, sizeof d->load_errtext, fmt, ap);
	va_end(ap);
}

/* Glue rows, sorted by host, for bsearch by NS name. */
struct glue {
	const char *host;
	const char *addr;
};

static int glue_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct glue *)elem)->host);
}

/* CDS_ENOMEM, or 0 with a load error set when the names do not fit. */
static int fill_ns(struct db_delegation *d, char **ns, size_t n,
		   const struct glue *g, size_t ng)
{
	if (n > DB_NS_MAX) {
		load_error(d, CDS_ELIMIT, "%s: %zu NS names, more than cdscan "
			   "keeps", d->name, n);
		return CDS_OK;
	}
	if (n && !(d->ns = calloc(n, sizeof *d->ns)))
		return CDS_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct cds_ns *x = &d->ns[d->n_ns];
		const struct glue *hit;

		if (!copy_str(x->name, sizeof x->name, ns[i])) {
			load_error(d, CDS_EINVAL, "NS name too long: %.60s",
				   ns[i]);
			return CDS_OK;
		}
		d->n_ns++;
		hit = g ? bsearch(ns[i], g, ng, sizeof *g, glue_cmp) : NULL;
		if (!hit)
			continue;
		/* bsearch lands on any row of the name: back to the first */
		while (hit > g && strcmp(hit[-1].host, ns[i]) == 0)
			hit--;
		for (; hit < g + ng && strcmp(hit->host, ns[i]) == 0; hit++) {
			if (x->n_glue == CDS_GLUE_MAX) {
				load_error(d, CDS_ELIMIT, "%s: more glue "
					   "addresses than cdscan keeps (%d)",
					   ns[i], CDS_GLUE_MAX);
				return CDS_OK;
			}
			if (!copy_str(x->glue[x->n_glue], CDS_ADDR_STR_MAX,
				      hit->addr)) {
				load_error(d, CDS_EINVAL, "%s: bad glue "
					   "address", ns[i]);
				return CDS_OK;
			}
			x->n_glue++;
		}
	}
	return CDS_OK;
}

static int fill_ds(struct db_delegation *d, char **ds, size_t n)
{
	if (n > CDS_DS_MAX) {
		load_error(d, CDS_ELIMIT, "%s: %zu DS records, more than cdscan "
			   "keeps", d->name, n);
		return CDS_OK;
	}
	if (n == 0)
		return CDS_OK;
	if (!(d->ds = malloc(n * sizeof *d->ds)))
		return CDS_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (cds_ds_parse(ds[i], &d->ds[i]) != 0) {
			load_error(d, CDS_EMALFORMED, "DS '%.100s' cannot be "
				   "read", ds[i]);
			return CDS_OK;
		}
	}
	d->n_ds = n;
	return CDS_OK;
}

static void fill_statuses(struct db_delegation *d, char **st, size_t n)
{
	if (n > DB_STATUS_MAX) {
		load_error(d, CDS_ELIMIT, "%s: %zu status flags, more than "
			   "cdscan keeps", d->name, n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (!copy_str(d->statuses[i], DB_STATUS_LEN, st[i])) {
			load_error(d, CDS_EINVAL, "status flag too long: "
				   "%.60s", st[i]);
			return;
		}
	}
	d->n_statuses = n;
}

/* The NS names of one claimed row, parsed once for the glue lookup and
   the delegation; ok false when the array could not be read. */
struct ns_row {
	char **v;
	size_t n;
	bool ok;
};

/* One row of the claim query: domain, found, ns (parsed: ns), ds,
   statuses, optout, batch, registrar, the registrar's opt-out. */
static int fill_one(struct db_delegation *d, PGresult *r, int row,
		    const struct ns_row *ns, const struct glue *g, size_t ng)
{
	char **v = NULL;
	size_t n = 0;
	int ret;

	if (!copy_str(d->name, sizeof d->name, PQgetvalue(r, row, 0))) {
		/* keep what fits so the item can still be marked done */
		snprintf(d->name, sizeof d->name, "%s", PQgetvalue(r, row, 0));
		load_error(d, CDS_EINVAL, "domain name too long");
		return CDS_OK;
	}
	if (strcmp(PQgetvalue(r, row, 1), "t") != 0) {
		load_error(d, CDS_ENOTFOUND, "%s is no longer in "
			   "cdscan.delegation", d->name);
		return CDS_OK;
	}
	if (!(d->ds_text = strdup(PQgetvalue(r, row, 3))))
		return CDS_ENOMEM;
	d->optout = strcmp(PQgetvalue(r, row, 5), "t") == 0;
	snprintf(d->registrar, sizeof d->registrar, "%s",
		 PQgetvalue(r, row, 7));
	d->registrar_optout = strcmp(PQgetvalue(r, row, 8), "t") == 0;
	if (!ns->ok)
		goto bad;
	if ((ret = fill_ns(d, ns->v, ns->n, g, ng)) != CDS_OK)
		return ret;
	if (db_parse_array(PQgetvalue(r, row, 3), &v, &n) != 0)
		goto bad;
	ret = fill_ds(d, v, n);
	db_strv_free(v, n);
	if (ret != CDS_OK)
		return ret;
	if (db_parse_array(PQgetvalue(r, row, 4), &v, &n) != 0)
		goto bad;
	fill_statuses(d, v, n);
	db_strv_free(v, n);
	return CDS_OK;
bad:
	load_error(d, CDS_EMALFORMED, "%s: cdscan.delegation gave an array "
		   "cdscan cannot read", d->name);
	return CDS_OK;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * The NS names of every claimed row, parsed into ns (one per row: the
 * delegations are filled from them), and once each, in strcmp's order,
 * as one array literal for the glue lookup. NULL when out of memory.
 */
static char *all_ns(PGresult *r, struct ns_row *ns)
{
	const char **names = NULL;
	size_t n = 0, cap = 0;
	char *lit = NULL;

	for (int i = 0; i < PQntuples(r); i++) {
		struct ns_row *x = &ns[i];

		/* NULL: a domain gone from the view (fill_one says so) */
		x->ok = PQgetisnull(r, i, 2) ||
			db_parse_array(PQgetvalue(r, i, 2), &x->v, &x->n) == 0;
		if (x->n > cap - n) {
			size_t nc = cap ? 2 * cap : 256;
			const char **nn;

			while (x->n > nc - n)
				nc *= 2;
			if (!(nn = realloc(names, nc * sizeof *nn)))
				goto out;
			names = nn;
			cap = nc;
		}
		for (size_t k = 0; k < x->n; k++)
			names[n++] = x->v[k];
	}
	/* Sorted and each once here rather than by the statement: its
	   DISTINCT and its sort of 2000 names under a collation were a
	   quarter of its time, measured on its own (docs/BENCH.md). */
	if (n > 1) {
		size_t u = 1;

		qsort(names, n, sizeof *names, name_cmp);
		for (size_t i = 1; i < n; i++)
			if (strcmp(names[i], names[u - 1]) != 0)
				names[u++] = names[i];
		n = u;
	}
	lit = db_array_literal(names, n);
out:
	free(names);
	return lit;
}

static int read_glue(struct db *db, PGresult *claimed, struct ns_row *rows,
		     PGresult **out, struct glue **g, size_t *ng)
{
	char *ns = all_ns(claimed, rows);
	const char *p[1] = {ns};
	PGresult *r = NULL;
	int ret = CDS_ENOMEM;

	*out = NULL;
	*g = NULL;
	*ng = 0;
	if (!ns)
		goto out;
	/* host(): the address without a prefix length, whatever type the
	   registry's view gives. One probe of the view per name, in the
	   order given (sorted, each once: all_ns); OFFSET 0 keeps the
	   planner from flattening the LATERAL into a join. host = ANY(2000
	   names) was planned as a parallel sequential scan of every host
	   in the registry, for every batch: 20-24 ms a batch at 100k,
	   growing with the registry (docs/BENCH.md). The name comes back
	   as given, so that the bsearch below finds it whatever the view's
	   collation; a name's addresses in the view's order of addr. */
	r = db_exec(db,
		    "SELECT n.name, host(g.addr::inet)"
		    " FROM unnest($1::text[]) WITH ORDINALITY AS n(name, i)"
		    " CROSS JOIN LATERAL (SELECT x.addr"
		    "  FROM cdscan.glue x WHERE x.host = n.name OFFSET 0) g"
		    " ORDER BY n.i, g.addr",
		    1, p);
	if (!r) {
		ret = CDS_EDB;
		goto out;
	}
	if (PQntuples(r) && !(*g = calloc((size_t)PQntuples(r), sizeof **g)))
		goto out;
	for (int i = 0; i < PQntuples(r); i++) {
		(*g)[i].host = PQgetvalue(r, i, 0);
		(*g)[i].addr = PQgetvalue(r, i, 1);
	}
	*ng = (size_t)PQntuples(r);
	*out = r;
	r = NULL;
	ret = CDS_OK;
out:
	if (ret == CDS_ENOMEM)
		snprintf(db->err, sizeof db->err, "out of memory");
	PQclear(r);
	free(ns);
	return ret;
}

/*
 * Whether the delegation `name` is recorded in run $1: one probe of
 * scan_once_per_run. The subquery with a LIMIT, which refers to the outer
 * row, keeps the planner from making an anti-join of it: the statistics
 * of cdscan.scan never know the run (it is newer than their last
 * ANALYZE), so the join was planned for one scan of the run and compared
 * every item with every scan recorded so far, a claim taking seconds a
 * few batches into the run (docs/BENCH.md).
 */
#define RECORDED(name)                                                   \
	"EXISTS (SELECT 1 FROM (SELECT 1 FROM cdscan.scan s"             \
	" WHERE s.run_id = $1 AND s.domain = " name " LIMIT 1) s)"

/*
 * The claim, in one statement:
 *
 *   fin    the batches the worker says it has recorded whole ($4) are
 *          done, where their count of recorded scans says so (schema
 *          13: the transactions that record scans count them);
 *   pick   the next batch: one whose lease lapsed (its worker died or
 *          hangs: taken over first), else the first never claimed or
 *          given back. Never this worker's own: a claim of ours that
 *          lapsed (the database made us wait past the lease) is still
 *          being scanned here. SKIP LOCKED: a batch another worker is
 *          claiming, or recording into, right now is passed over;
 *   c      claimed, with the lease, and its names;
 *   then its items, in the order listed, and their delegations, each with its registrar's
 *   opt-out (cdscan.registrar: its own view, joined here rather than
 *   read again by name with the history). A batch claimed before
 *   (claims > 1: taken over, or given back) leaves out what was
 *   recorded; a first claim has nothing recorded to leave out. A batch
 *   with nothing left comes back as one row with a NULL domain. A domain
 *   gone from cdscan.delegation still comes back (found = false) so that
 *   it is recorded, and its batch can be done.
 */
static const char claim_sql[] =
	"WITH fin AS (UPDATE cdscan.run_batch b SET state = 'done',"
	"  lease_until = NULL"
	" WHERE b.run_id = $1 AND b.worker = $2 AND b.state = 'claimed'"
	" AND b.batch = ANY($4::integer[]) AND b.recorded >= b.size),"
	" pick AS (SELECT batch FROM cdscan.run_batch"
	"  WHERE run_id = $1 AND (state = 'todo' OR (state = 'claimed'"
	"  AND worker <> $2 AND lease_until < now()))"
	"  ORDER BY state = 'todo', batch LIMIT 1 FOR UPDATE SKIP LOCKED),"
	" c AS (UPDATE cdscan.run_batch b SET state = 'claimed', worker = $2,"
	"  claims = b.claims + 1,"
	"  lease_until = now() + $3::bigint * interval '1 ms'"
	"  FROM pick WHERE b.run_id = $1 AND b.batch = pick.batch"
	"  RETURNING b.batch, b.claims, b.domains)"
	" SELECT i.domain, d.name IS NOT NULL, d.ns, d.ds, d.statuses,"
	" d.optout, c.batch, coalesce(d.registrar, ''),"
	" coalesce(g.optout, false)"
	" FROM c LEFT JOIN LATERAL (SELECT x.domain, x.ord"
	"  FROM unnest(c.domains) WITH ORDINALITY AS x(domain, ord)"
	"  WHERE c.claims = 1 OR NOT " RECORDED("x.domain") ") i ON true"
	" LEFT JOIN cdscan.delegation d ON d.name = i.domain"
	" LEFT JOIN cdscan.registrar g ON g.id = d.registrar"
	" ORDER BY i.ord";

int db_run_claim(struct db *db, int64_t run_id, const char *worker,
		 const int64_t *done, size_t n_done,
		 struct db_delegation **out, size_t *n_out)
{
	char id[24], lease[24], *fin = NULL;
	const char *p[4] = {id, worker, lease, NULL};
	PGresult *r = NULL, *gr = NULL;
	struct db_delegation *d = NULL;
	struct glue *g = NULL;
	struct ns_row *rows = NULL;
	size_t ng = 0, n = 0;
	int64_t empty, batch;
	int ret = CDS_EDB;

	*out = NULL;
	*n_out = 0;
	snprintf(id, sizeof id, "%lld", (long long)run_id);
	snprintf(lease, sizeof lease, "%lld",
		 (long long)(db->lease_ms > 0 ? db->lease_ms
					      : DB_LEASE_DEFAULT_MS));
	/* A batch that came back with nothing left is the next
	   statement's done list (its scans are checked there). */
	for (;;) {
		free(fin);
		if (!(p[3] = fin = db_int_array_literal(done, n_done))) {
			ret = CDS_ENOMEM;
			goto out;
		}
		if (!(r = db_exec(db, claim_sql, 4, p)))
			goto out;
		n = (size_t)PQntuples(r);
		if (n != 1 || !PQgetisnull(r, 0, 0))
			break;
		empty = strtoll(PQgetvalue(r, 0, 6), NULL, 10);
		PQclear(r);
		r = NULL;
		n = 0;
		done = &empty;
		n_done = 1;
	}
	if (n == 0) {
		ret = CDS_OK;
		goto out;
	}
	batch = strtoll(PQgetvalue(r, 0, 6), NULL, 10);
	if (!(rows = calloc(n, sizeof *rows))) {
		ret = CDS_ENOMEM;
		goto out;
	}
	if ((ret = read_glue(db, r, rows, &gr, &g, &ng)) != 0)
		goto out;
	if (!(d = calloc(n, sizeof *d))) {
		ret = CDS_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		d[i].batch = batch;
		if ((ret = fill_one(&d[i], r, (int)i, &rows[i], g, ng)) != 0)
			goto out;
	}
	*out = d;
	*n_out = n;
	d = NULL;
	ret = CDS_OK;
out:
	if (ret == CDS_ENOMEM)
		snprintf(db->err, sizeof db->err, "out of memory");
	if (d) {
		for (size_t i = 0; i < n; i++)
			db_delegation_deinit(&d[i]);
		free(d);
	}
	for (size_t i = 0; rows && i < n; i++)
		db_strv_free(rows[i].v, rows[i].n);
	free(rows);
	free(fin);
	free(g);
	PQclear(gr);
	PQclear(r);
	return ret;
}

/* ---- the rest of the run ---------------------------------------------- */

/* A statement with (run id, worker[, x]) and no result; *n its row count. */
static int run_update(struct db *db, const char *sql, int64_t run_id,
		      const char *worker, const char *x, int64_t *n)
{
	char id[24];
	const char *p[3] = {id, worker, x};
	PGresult *r;

	snprintf(id, sizeof id, "%lld", (long long)run_id);
	r = db_exec(db, sql, x ? 3 : 2, p);
	if (!r)
		return CDS_EDB;
	if (n)
		*n = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return CDS_OK;
}

int db_run_renew(struct db *db, int64_t run_id, const char *worker,
		 int64_t lease_ms)
{
	char lease[24];

	snprintf(lease, sizeof lease, "%lld", (long long)lease_ms);
	/* One statement, so the worker row and the claims move together.
	   It never waits (SKIP LOCKED): a row locked right now belongs to a
	   transaction of this worker on another connection, recording
	   results — it sets last_seen itself and checks the claim it
	   records under (or the run stops). Waiting would hold the lease
	   behind a slow change. */
	return run_update(db,
			  "WITH w AS (UPDATE cdscan.worker SET last_seen = now()"
			  " WHERE (run_id, worker) IN (SELECT run_id, worker"
			  "  FROM cdscan.worker WHERE run_id = $1"
			  "  AND worker = $2 FOR UPDATE SKIP LOCKED))"
			  " UPDATE cdscan.run_batch"
			  " SET lease_until = now() + $3::bigint * interval '1 ms'"
			  " WHERE (run_id, batch) IN (SELECT run_id, batch"
			  "  FROM cdscan.run_batch WHERE run_id = $1"
			  "  AND worker = $2 AND state = 'claimed'"
			  "  FOR UPDATE SKIP LOCKED)",
			  run_id, worker, lease, NULL);
}

/* Of a batch b of run $1 (a cdscan.run_batch row): its items not
   recorded in the run. */
#define LEFT_IN(b) "(" b ".size - " b ".recorded)"

int db_run_release(struct db *db, int64_t run_id, const char *worker,
		   int64_t *n)
{
	char id[24];
	const char *p[2] = {id, worker};
	PGresult *r;

	snprintf(id, sizeof id, "%lld", (long long)run_id);
	/* What a batch has left is counted before the update (the
	   subquery in the FROM list), so that a batch with nothing left is
	   done and the count is of what goes back. */
	r = db_exec(db,
		    "WITH b AS (UPDATE cdscan.run_batch x"
		    " SET state = CASE WHEN l.n = 0 THEN 'done' ELSE 'todo' END,"
		    " worker = CASE WHEN l.n = 0 THEN x.worker END,"
		    " lease_until = NULL"
		    " FROM (SELECT batch, " LEFT_IN("y") " AS n"
		    "  FROM cdscan.run_batch y WHERE y.run_id = $1"
		    "  AND y.worker = $2 AND y.state = 'claimed') l"
		    " WHERE x.run_id = $1 AND x.batch = l.batch"
		    " AND x.state = 'claimed' AND x.worker = $2"
		    " RETURNING l.n)"
		    " SELECT coalesce(sum(n), 0) FROM b",
		    2, p);
	if (!r)
		return CDS_EDB;
	if (n)
		*n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return CDS_OK;
}

int db_run_claimants(struct db *db, int64_t run_id, char ***out, size_t *n)
{
	char id[24];
	const char *p[1] = {id};
	PGresult *r;
	char **v = NULL;
	size_t k = 0;
	int ret = CDS_ENOMEM;

	*out = NULL;
	*n = 0;
	snprintf(id, sizeof id, "%lld", (long long)run_id);
	r = db_exec(db,
		    "SELECT DISTINCT worker FROM cdscan.run_batch"
		    " WHERE run_id = $1 AND state = 'claimed' ORDER BY worker",
		    1, p);
	if (!r)
		return CDS_EDB;
	if (PQntuples(r) &&
	    !(v = calloc((size_t)PQntuples(r), sizeof *v)))
		goto out;
	for (; k < (size_t)PQntuples(r); k++)
		if (!(v[k] = strdup(PQgetvalue(r, (int)k, 0))))
			goto out;
	*out = v;
	*n = k;
	v = NULL;
	ret = CDS_OK;
out:
	if (ret != CDS_OK)
		snprintf(db->err, sizeof db->err, "out of memory");
	db_strv_free(v, k);
	PQclear(r);
	return ret;
}

int db_run_progress(struct db *db, int64_t run_id, int64_t *done,
		    int64_t *claimed, int64_t *todo)
{
	char id[24];
	const char *p[1] = {id};
	PGresult *r;

	snprintf(id, sizeof id, "%lld", (long long)run_id);
	/* From the batches, so that a progress tick reads the few in
	   flight, not every scan of the run. */
	r = db_exec(db,
		    "SELECT coalesce(sum(l.size - l.n), 0),"
		    " coalesce(sum(l.n) FILTER (WHERE l.state = 'claimed'), 0),"
		    " coalesce(sum(l.n) FILTER (WHERE l.state = 'todo'), 0)"
		    " FROM (SELECT b.state, b.size, CASE"
		    "  WHEN b.state = 'done' THEN 0"
		    "  ELSE " LEFT_IN("b") " END AS n"
		    "  FROM cdscan.run_batch b WHERE b.run_id = $1) l",
		    1, p);
	if (!r)
		return CDS_EDB;
	if (done)
		*done = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	if (claimed)
		*claimed = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	if (todo)
		*todo = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
	PQclear(r);
	return CDS_OK;
}

int db_run_finish(struct db *db, int64_t run_id, bool *finished)
{
	char id[24];
	const char *p[1] = {id};
	PGresult *r;

	*finished = false;
	snprintf(id, sizeof id, "%lld", (long long)run_id);
	/* Finished once nothing is left, by whichever worker sees it first;
	   an item recorded by a transaction not yet committed still counts
	   as left, and its worker will call this again. A batch recorded
	   whole and not yet marked done (its worker is about to) is done
	   with the run. What the scans came to is kept with it (schema 15),
	   so that reports of it never read them again, summed from the
	   run's tallies (schema 16) rather than from every scan of it,
	   which took ~0.17 s per 100k when nothing else was left to do. */
	r = db_exec(db,
		    "WITH f AS (UPDATE cdscan.run SET state = 'done',"
		    "  finished = now(), counts = " DB_SQL_RUN_COUNTS_TALLIED("$1")
		    " WHERE id = $1 AND state = 'running' AND NOT EXISTS ("
		    "  SELECT 1 FROM cdscan.run_batch b"
		    "  WHERE b.run_id = $1 AND b.state <> 'done'"
		    "  AND " LEFT_IN("b") " > 0)"
		    " RETURNING state),"
		    " b AS (UPDATE cdscan.run_batch SET state = 'done',"
		    "  lease_until = NULL"
		    " WHERE run_id = $1 AND state <> 'done'"
		    " AND EXISTS (SELECT 1 FROM f))"
		    " SELECT (SELECT state FROM f),"
		    " (SELECT state FROM cdscan.run WHERE id = $1)",
		    1, p);
	if (!r)
		return CDS_EDB;
	if (PQgetisnull(r, 0, 0) && PQgetisnull(r, 0, 1)) {
		PQclear(r);
		snprintf(db->err, sizeof db->err, "no run %s", id);
		return CDS_ENOTFOUND;
	}
	*finished = !PQgetisnull(r, 0, 0) ||
		    strcmp(PQgetvalue(r, 0, 1), "done") == 0;
	PQclear(r);
	return CDS_OK;
}
