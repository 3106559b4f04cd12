/*
 * Parent zone files in and out of the registry tables: `cdscan import`
 * makes the delegations under an origin equal to a zone file (NS, DS,
 * glue A/AAAA), and `cdscan export` prints what the database holds as
 * zone-file text for a zone generator.
 *
 * Import reads the whole file first (ldns keeps $ORIGIN, $TTL and line
 * numbers), refuses records that make no sense in a parent zone with
 * "FILE:LINE: why", and only then touches the database: the delegations
 * go into temporary tables with COPY and set-based statements make the
 * registry equal to them in one transaction, so a refused file or a
 * failure half-way leaves nothing half-loaded, and 100k delegations take
 * seconds, not a statement per row.
 */
#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "db/db_int.h"

#define TYPE_DSYNC 66 /* RFC 9859; unknown to ldns 1.8.3 */

/* One record of the file that import may keep. */
struct zrec {
	const char *owner; /* interned in zfile.owners */
	char *data;        /* NS target or address text; owned; NULL for DS */
	uint32_t ds;       /* index into zfile.ds for DS */
	uint32_t line;
	uint16_t type;
};

struct zfile {
	const char *path;
	char origin[CDS_NAME_MAX];
	bool have_origin;
	unsigned soa_line;

	struct zrec *rec;
	size_t n_rec, cap_rec;
	struct cds_ds *ds;
	size_t n_ds, cap_ds;
	char **owners; /* every distinct consecutive owner, for freeing */
	size_t n_owners, cap_owners;

	/* the earliest refused line, with why */
	unsigned err_line;
	char err[512];
};

static int grow(void **p, size_t *cap, size_t n, size_t size)
{
	void *np;
	size_t ncap;

	if (n < *cap)
		return CDS_OK;
	ncap = *cap ? 2 * *cap : 1024;
	if (!(np = realloc(*p, ncap * size)))
		return CDS_ENOMEM;
	*p = np;
	*cap = ncap;
	return CDS_OK;
}

/* Keep the refusal of the earliest line: errors found while grouping
   records by owner would otherwise depend on the order of the owners. */
static void __attribute__((format(printf, 3, 4)))
zerr(struct zfile *z, unsigned line, const char *fmt, ...)
{
	char why[400];
	va_list ap;

	if (z->err_line && z->err_line <= line)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	z->err_line = line;
	snprintf(z->err, sizeof z->err, "%s:%u: %s", z->path, line, why);
}

static void zfile_deinit(struct zfile *z)
{
	for (size_t i = 0; i < z->n_rec; i++)
		free(z->rec[i].data);
	for (size_t i = 0; i < z->n_owners; i++)
		free(z->owners[i]);
	free(z->rec);
	free(z->ds);
	free(z->owners);
}

/* A dname rdf as a normalised presentation name; CDS_EINVAL when it is
   relative (no $ORIGIN and no --origin to complete it). */
static int rdf_name(const ldns_rdf *rdf, char out[CDS_NAME_MAX])
{
	char *s = ldns_rdf2str(rdf);
	size_t len = s ? strlen(s) : 0;
	int rc = CDS_EINVAL;

	if (!s)
		return CDS_ENOMEM;
	if (len && s[len - 1] == '.' && (len < 2 || s[len - 2] != '\\'))
		rc = cds_name_normalize(s, out);
	free(s);
	return rc;
}

static const char *intern_owner(struct zfile *z, const char *name)
{
	if (z->n_owners && strcmp(z->owners[z->n_owners - 1], name) == 0)
		return z->owners[z->n_owners - 1];
	if (grow((void **)&z->owners, &z->cap_owners, z->n_owners,
		 sizeof *z->owners) != 0)
		return NULL;
	if (!(z->owners[z->n_owners] = strdup(name)))
		return NULL;
	return z->owners[z->n_owners++];
}

/* DS rdata -> struct, refusing digests that cannot be right: RFC 4034
   §5.1 gives the digest type its length, and type 0 is reserved
   (RFC 8078's delete record is a CDS, never a DS). */
static int rr_ds(struct zfile *z, const ldns_rr *rr, unsigned line,
		 struct cds_ds *ds)
{
	uint8_t wire[4 + 2 * CDS_DIGEST_MAX];
	size_t len = 0, want;

	for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
		const ldns_rdf *f = ldns_rr_rdf(rr, i);

		if (len + ldns_rdf_size(f) > sizeof wire) {
			zerr(z, line, "DS digest longer than %d octets",
			     CDS_DIGEST_MAX);
			return CDS_EINVAL;
		}
		memcpy(wire + len, ldns_rdf_data(f), ldns_rdf_size(f));
		len += ldns_rdf_size(f);
	}
	if (cds_ds_from_rdata(wire, len, ds) != 0) {
		zerr(z, line, "DS record cannot be read");
		return CDS_EINVAL;
	}
	want = cds_digest_len(ds->digest_type);
	if (ds->digest_type == CDS_DIGEST_DELETE) {
		zerr(z, line, "DS with digest type 0 (reserved)");
		return CDS_EINVAL;
	}
	if (ds->digest_len == 0 || (want && ds->digest_len != want)) {
		zerr(z, line, "DS digest type %u needs %zu octets, not %u",
		     ds->digest_type, want, ds->digest_len);
		return CDS_EINVAL;
	}
	return CDS_OK;
}

static int keep_rr(struct zfile *z, const ldns_rr *rr, unsigned line)
{
	char owner[CDS_NAME_MAX], data[CDS_NAME_MAX];
	uint16_t type = (uint16_t)ldns_rr_get_type(rr);
	struct zrec *r;
	int rc;

	if ((rc = rdf_name(ldns_rr_owner(rr), owner)) != 0) {
		zerr(z, line, "relative owner name and no $ORIGIN or --origin");
		return rc;
	}
	data[0] = '\0';
	switch (type) {
	case LDNS_RR_TYPE_SOA:
		if (z->soa_line) {
			zerr(z, line, "second SOA record (first on line %u)",
			     z->soa_line);
			return CDS_EINVAL;
		}
		z->soa_line = line;
		if (z->have_origin && strcmp(owner, z->origin) != 0) {
			zerr(z, line, "SOA of %s, but the origin is %s", owner,
			     z->origin);
			return CDS_EINVAL;
		}
		snprintf(z->origin, sizeof z->origin, "%s", owner);
		z->have_origin = true;
		break;
	case LDNS_RR_TYPE_NS:
		if ((rc = rdf_name(ldns_rr_rdf(rr, 0), data)) != 0) {
			zerr(z, line, "relative NS name and no $ORIGIN or "
				      "--origin");
			return rc;
		}
		break;
	case LDNS_RR_TYPE_A:
	case LDNS_RR_TYPE_AAAA:
		if (!inet_ntop(type == LDNS_RR_TYPE_A ? AF_INET : AF_INET6,
			       ldns_rdf_data(ldns_rr_rdf(rr, 0)), data,
			       sizeof data)) {
			zerr(z, line, "bad address");
			return CDS_EINVAL;
		}
		break;
	case LDNS_RR_TYPE_DS:
		if (grow((void **)&z->ds, &z->cap_ds, z->n_ds, sizeof *z->ds))
			return CDS_ENOMEM;
		if (rr_ds(z, rr, line, &z->ds[z->n_ds]) != 0)
			return CDS_OK; /* refused, keep reading */
		z->n_ds++;
		break;
	case LDNS_RR_TYPE_CNAME:
		break;
	default:
		/* Everything else only matters for where it stands: an owner
		   outside the origin is still refused. */
		type = 0;
		break;
	}
	if (grow((void **)&z->rec, &z->cap_rec, z->n_rec, sizeof *z->rec))
		return CDS_ENOMEM;
	r = &z->rec[z->n_rec];
	memset(r, 0, sizeof *r);
	if (!(r->owner = intern_owner(z, owner)))
		return CDS_ENOMEM;
	if (data[0] && !(r->data = strdup(data)))
		return CDS_ENOMEM;
	r->type = type;
	r->line = line;
	r->ds = type == LDNS_RR_TYPE_DS ? (uint32_t)(z->n_ds - 1) : 0;
	z->n_rec++;
	return CDS_OK;
}

/*
 * ldns 1.8.3 does not know DSYNC (RFC 9859), which a parent zone may well
 * hold at _dsync.ORIGIN: when a record fails to parse, look at the text
 * it spanned and skip it if its type is DSYNC, keeping its owner for the
 * lines that follow without one.
 */
static bool skip_dsync(FILE *fp, long from, long to, ldns_rdf *origin,
		       ldns_rdf **prev)
{
	char buf[4096], *tok, *save = NULL, *semi;
	size_t len;
	bool found = false, blank_owner;

	if (from < 0 || to <= from || to - from >= (long)sizeof buf ||
	    fseek(fp, from, SEEK_SET) != 0)
		return false;
	len = fread(buf, 1, (size_t)(to - from), fp);
	buf[len] = '\0';
	if (fseek(fp, to, SEEK_SET) != 0)
		return false;
	/* the record starts after blank lines and comments ldns skipped */
	for (char *p = buf; *p;) {
		char *nl = strchr(p, '\n');

		if (*p != '\n' && *p != ';' && strspn(p, " \t") < strcspn(p, "\n;")) {
			memmove(buf, p, strlen(p) + 1);
			break;
		}
		if (!nl)
			return false;
		p = nl + 1;
	}
	if ((semi = strchr(buf, ';')))
		*semi = '\0';
	blank_owner = buf[0] == ' ' || buf[0] == '\t';
	for (tok = strtok_r(buf, " \t\r\n()", &save); tok;
	     tok = strtok_r(NULL, " \t\r\n()", &save))
		if (strcasecmp(tok, "DSYNC") == 0)
			found = true;
	if (found && !blank_owner) {
		ldns_rdf *o = NULL;

		tok = strtok_r(buf, " \t", &save);
		if (tok && ldns_str2rdf_dname(&o, tok) == LDNS_STATUS_OK) {
			if (!ldns_dname_str_absolute(tok) && origin &&
			    ldns_dname_cat(o, origin) != LDNS_STATUS_OK) {
				ldns_rdf_deep_free(o);
				return found;
			}
			ldns_rdf_deep_free(*prev);
			*prev = o;
		}
	}
	return found;
}

static int read_file(struct zfile *z, FILE *fp)
{
	ldns_rdf *origin = NULL, *prev = NULL;
	uint32_t ttl = 3600;
	int line = 1, rc = CDS_OK;

	if (z->have_origin &&
	    ldns_str2rdf_dname(&origin, z->origin) != LDNS_STATUS_OK) {
		snprintf(z->err, sizeof z->err, "bad origin %s", z->origin);
		rc = CDS_EINVAL;
		goto out;
	}
	while (!feof(fp)) {
		ldns_rr *rr = NULL;
		long from = ftell(fp);
		int first = line;
		ldns_status st = ldns_rr_new_frm_fp_l(&rr, fp, &ttl, &origin,
						      &prev, &line);

		/* ldns hands blank and comment lines back one at a time, so
		   the record starts on `first` (it may go on for several
		   lines in parentheses): name that line. */
		unsigned at = (unsigned)first;

		switch (st) {
		case LDNS_STATUS_OK:
			rc = keep_rr(z, rr, at);
			ldns_rr_free(rr);
			if (rc != 0)
				goto out;
			break;
		case LDNS_STATUS_SYNTAX_EMPTY:
		case LDNS_STATUS_SYNTAX_TTL:
		case LDNS_STATUS_SYNTAX_ORIGIN:
			break;
		case LDNS_STATUS_SYNTAX_INCLUDE:
			zerr(z, at, "$INCLUDE is not supported");
			rc = CDS_EINVAL;
			goto out;
		default:
			if (skip_dsync(fp, from, ftell(fp), origin, &prev))
				break;
			zerr(z, at, "%s", ldns_get_errorstr_by_id(st));
			rc = CDS_EINVAL;
			goto out;
		}
	}
	if (ferror(fp)) {
		snprintf(z->err, sizeof z->err, "%s: read error", z->path);
		rc = CDS_EIO;
	}
out:
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
	/* A refused line found while reading is the answer (the records
	   after it were never read, so later checks would mislead). */
	if (rc == CDS_OK && z->err_line)
		rc = CDS_EINVAL;
	return rc;
}

/* Order records by owner, type, then data, so one owner's records are
   together and duplicates next to each other. */
static const struct zfile *sort_z;

static int rec_cmp(const void *a, const void *b)
{
	const struct zrec *x = a, *y = b;
	int c = strcmp(x->owner, y->owner);

	if (c)
		return c;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	if (x->type == LDNS_RR_TYPE_DS)
		c = cds_ds_cmp(&sort_z->ds[x->ds], &sort_z->ds[y->ds]);
	else if (x->data && y->data)
		c = strcmp(x->data, y->data);
	if (c)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool in_set(char *const *set, size_t n, const char *name)
{
	return n && bsearch(&name, set, n, sizeof *set, str_cmp) != NULL;
}

/* What import will write, grouped by owner (pointers into zfile). */
struct zplan {
	const char **dom;        /* delegations */
	size_t n_dom;
	const struct zrec **ns;  /* NS records of delegations, deduplicated */
	size_t n_ns;
	const struct zrec **ds;
	size_t n_ds;
	const struct zrec **glue;
	size_t n_glue;
	const char **targets;    /* NS names, sorted and unique */
	size_t n_targets;
};

static void zplan_deinit(struct zplan *p)
{
	free(p->dom);
	free(p->ns);
	free(p->ds);
	free(p->glue);
	free(p->targets);
}

static bool same_rec(const struct zfile *z, const struct zrec *a,
		     const struct zrec *b)
{
	if (a->owner != b->owner && strcmp(a->owner, b->owner) != 0)
		return false;
	if (a->type != b->type)
		return false;
	if (a->type == LDNS_RR_TYPE_DS)
		return cds_ds_cmp(&z->ds[a->ds], &z->ds[b->ds]) == 0;
	return a->data && b->data && strcmp(a->data, b->data) == 0;
}

/*
 * Check every record against the origin and the parent-zone rules, and
 * pick what import keeps. Records at the apex (SOA, NS, DNSKEY, ZONEMD,
 * ...) and RRSIG/NSEC/NSEC3 anywhere are the parent's own data, not
 * delegations: ignored.
 */
static int plan(struct zfile *z, struct zplan *p)
{
	size_t n = z->n_rec, i, j;

	memset(p, 0, sizeof *p);
	sort_z = z;
	qsort(z->rec, n, sizeof *z->rec, rec_cmp);
	p->dom = calloc(n + 1, sizeof *p->dom);
	p->ns = calloc(n + 1, sizeof *p->ns);
	p->ds = calloc(n + 1, sizeof *p->ds);
	p->glue = calloc(n + 1, sizeof *p->glue);
	p->targets = calloc(n + 1, sizeof *p->targets);
	if (!p->dom || !p->ns || !p->ds || !p->glue || !p->targets)
		return CDS_ENOMEM;

	for (i = 0; i < n; i = j) {
		const char *owner = z->rec[i].owner;
		bool apex = strcmp(owner, z->origin) == 0, has_ns = false;

		for (j = i; j < n && strcmp(z->rec[j].owner, owner) == 0; j++)
			if (z->rec[j].type == LDNS_RR_TYPE_NS)
				has_ns = true;
		if (!apex && !cds_name_is_subdomain(owner, z->origin)) {
			zerr(z, z->rec[i].line, "%s is not under the origin %s",
			     owner, z->origin);
			continue;
		}
		if (apex)
			continue;
		if (has_ns)
			p->dom[p->n_dom++] = owner;
		for (size_t k = i; k < j; k++) {
			const struct zrec *r = &z->rec[k];
			bool dup = k > i && same_rec(z, r, &z->rec[k - 1]);

			switch (r->type) {
			case LDNS_RR_TYPE_NS:
				if (!dup) {
					p->ns[p->n_ns++] = r;
					p->targets[p->n_targets++] = r->data;
				}
				break;
			case LDNS_RR_TYPE_DS:
				if (!has_ns)
					zerr(z, r->line, "DS without NS at %s: "
					     "not a delegation", owner);
				else if (!dup)
					p->ds[p->n_ds++] = r;
				break;
			case LDNS_RR_TYPE_CNAME:
				/* RFC 2181 §10.1: no other data beside a
				   CNAME, and a delegation has NS */
				if (has_ns)
					zerr(z, r->line, "CNAME at the "
					     "delegation %s", owner);
				break;
			case LDNS_RR_TYPE_A:
			case LDNS_RR_TYPE_AAAA:
				if (!dup)
					p->glue[p->n_glue++] = r;
				break;
			}
		}
	}

	/* A delegation below another one is occluded: the parent does not
	   serve it (RFC 1034 §4.2.1), so it is not the registry's either. */
	qsort(p->dom, p->n_dom, sizeof *p->dom, str_cmp);
	for (i = 0; i < p->n_dom; i++) {
		const char *up = strchr(p->dom[i], '.');

		while (up && up[1] && strcmp(up + 1, z->origin) != 0) {
			if (in_set((char *const *)p->dom, p->n_dom, up + 1)) {
				for (j = 0; j < p->n_ns; j++)
					if (p->ns[j]->owner == p->dom[i] ||
					    strcmp(p->ns[j]->owner, p->dom[i]) == 0)
						break;
				zerr(z, j < p->n_ns ? p->ns[j]->line : 0,
				     "NS at %s, below the delegation %s",
				     p->dom[i], up + 1);
				break;
			}
			/* the next label (names with escaped dots are not
			   split correctly here; they only miss this check) */
			up = strchr(up + 1, '.');
		}
	}

	/* Glue: addresses of names that some delegation uses as NS. */
	qsort(p->targets, p->n_targets, sizeof *p->targets, str_cmp);
	for (i = j = 0; i < p->n_targets; i++)
		if (!j || strcmp(p->targets[j - 1], p->targets[i]) != 0)
			p->targets[j++] = p->targets[i];
	p->n_targets = j;
	for (i = j = 0; i < p->n_glue; i++)
		if (in_set((char *const *)p->targets, p->n_targets,
			   p->glue[i]->owner))
			p->glue[j++] = p->glue[i];
	p->n_glue = j;
	return z->err_line ? CDS_EINVAL : CDS_OK;
}

/* ---- COPY into temporary tables ---------------------------------------- */

static int load_plan(struct db *db, const struct zfile *z,
		     const struct zplan *p)
{
	struct db_copybuf b = {0};
	char num[3][16];
	int rc;

	for (size_t i = 0; i < p->n_dom; i++)
		db_copy_field(&b, p->dom[i], '\n');
	if ((rc = db_copy_in(db, "COPY imp_dom FROM STDIN", &b)) != 0)
		goto out;
	for (size_t i = 0; i < p->n_ns; i++) {
		db_copy_field(&b, p->ns[i]->owner, '\t');
		db_copy_field(&b, p->ns[i]->data, '\n');
	}
	if ((rc = db_copy_in(db, "COPY imp_ns FROM STDIN", &b)) != 0)
		goto out;
	for (size_t i = 0; i < p->n_ds; i++) {
		const struct cds_ds *ds = &z->ds[p->ds[i]->ds];
		char hex[2 * CDS_DIGEST_MAX + 1];

		/* upper-case hex: the schema's canonical digest form */
		for (size_t k = 0; k < ds->digest_len; k++)
			snprintf(hex + 2 * k, 3, "%02X", ds->digest[k]);
		hex[2 * ds->digest_len] = '\0';
		snprintf(num[0], sizeof num[0], "%u", ds->keytag);
		snprintf(num[1], sizeof num[1], "%u", ds->alg);
		snprintf(num[2], sizeof num[2], "%u", ds->digest_type);
		db_copy_field(&b, p->ds[i]->owner, '\t');
		db_copy_field(&b, num[0], '\t');
		db_copy_field(&b, num[1], '\t');
		db_copy_field(&b, num[2], '\t');
		db_copy_field(&b, hex, '\n');
	}
	if ((rc = db_copy_in(db, "COPY imp_ds FROM STDIN", &b)) != 0)
		goto out;
	for (size_t i = 0; i < p->n_glue; i++) {
		db_copy_field(&b, p->glue[i]->owner, '\t');
		db_copy_field(&b, p->glue[i]->data, '\n');
	}
	rc = db_copy_in(db, "COPY imp_host FROM STDIN", &b);
out:
	free(b.s);
	return rc;
}

/* ---- the import transaction ------------------------------------------- */

/* $1 is the origin: names strictly below it. */
#define UNDER(col) \
	"((" col " <> $1) AND ($1 = '.' OR right(" col ", length($1) + 1) " \
	"= '.' || $1))"

/* The DS text and order of the cdscan.delegation view, so that audit
   rows compare and read like the view. */
#define DS_TEXT(t) \
	t ".keytag || ' ' || " t ".algorithm || ' ' || " t ".digest_type " \
	"|| ' ' || " t ".digest"
#define DS_ORDER(t) \
	t ".keytag, " t ".algorithm, " t ".digest_type, " t ".digest"

static const char *const import_setup[] = {
	/* Writers of the registry tables wait until the import is done
	   (cdscan.apply_ds() of a running scan included), so that the
	   "before" of the audit rows is what was replaced; readers go on. */
	"LOCK TABLE registry.domain, registry.domain_ns, registry.ds, "
	"registry.host IN EXCLUSIVE MODE",
	"CREATE TEMP TABLE imp_dom (name text PRIMARY KEY) ON COMMIT DROP",
	"CREATE TEMP TABLE imp_ns (name text NOT NULL, ns text NOT NULL) "
	"ON COMMIT DROP",
	"CREATE TEMP TABLE imp_ds (name text NOT NULL, keytag integer, "
	"algorithm smallint, digest_type smallint, digest text) ON COMMIT DROP",
	"CREATE TEMP TABLE imp_host (name text NOT NULL, addr inet NOT NULL) "
	"ON COMMIT DROP",
};

/*
 * The import itself, in order. $1 is the origin, $2 the file name (for
 * the audit rows); `np` says how many of them a statement takes.
 */
static const struct {
	const char *sql;
	int np;
} import_apply[] = {
	/* temp tables are never auto-analyzed; the joins need the sizes */
	{"ANALYZE imp_dom, imp_ns, imp_ds, imp_host", 0},
	{"CREATE TEMP TABLE imp_old ON COMMIT DROP AS "
	 "SELECT d.id, d.name, coalesce(n.ns, '{}') AS ns, "
	 "       coalesce(s.ds, '{}') AS ds "
	 "FROM registry.domain d "
	 "LEFT JOIN (SELECT domain_id, array_agg(ns_name ORDER BY ns_name) ns "
	 "           FROM registry.domain_ns GROUP BY domain_id) n "
	 "       ON n.domain_id = d.id "
	 "LEFT JOIN (SELECT s.domain_id, array_agg(" DS_TEXT("s")
	 "                  ORDER BY " DS_ORDER("s") ") ds "
	 "           FROM registry.ds s GROUP BY s.domain_id) s "
	 "       ON s.domain_id = d.id "
	 "WHERE " UNDER("d.name"), 1},
	{"CREATE TEMP TABLE imp_diff ON COMMIT DROP AS "
	 "SELECT coalesce(n.name, o.name) AS name, o.id, "
	 "       coalesce(o.ns, '{}') AS old_ns, coalesce(o.ds, '{}') AS old_ds, "
	 "       coalesce(n.ns, '{}') AS new_ns, coalesce(n.ds, '{}') AS new_ds, "
	 "       CASE WHEN o.name IS NULL THEN 'added' "
	 "            WHEN n.name IS NULL THEN 'removed' "
	 "            WHEN o.ns = n.ns AND o.ds = n.ds THEN 'unchanged' "
	 "            ELSE 'changed' END AS what "
	 "FROM imp_old o FULL JOIN ("
	 "  SELECT m.name, coalesce(n.ns, '{}') AS ns, "
	 "         coalesce(s.ds, '{}') AS ds "
	 "  FROM imp_dom m "
	 "  LEFT JOIN (SELECT name, array_agg(ns ORDER BY ns) ns FROM imp_ns "
	 "             GROUP BY name) n USING (name) "
	 "  LEFT JOIN (SELECT s.name, array_agg(" DS_TEXT("s")
	 "                    ORDER BY " DS_ORDER("s") ") ds "
	 "             FROM imp_ds s GROUP BY s.name) s USING (name)"
	 ") n ON n.name = o.name", 0},
	/* every DS set that changes, added and removed domains included */
	{"INSERT INTO cdscan.audit (domain, actor, kind, before_ds, after_ds, "
	 "                          evidence) "
	 "SELECT name, 'import', 'ds-import', old_ds, new_ds, "
	 "       jsonb_build_object('origin', $1::text, 'file', $2::text, "
	 "                          'what', what) "
	 "FROM imp_diff WHERE old_ds <> new_ds ORDER BY name", 2},
	{"DELETE FROM registry.domain d USING imp_diff x "
	 "WHERE x.what = 'removed' AND d.id = x.id", 0},
	{"INSERT INTO registry.domain (name) SELECT name FROM imp_diff "
	 "WHERE what = 'added' ORDER BY name", 0},
	{"UPDATE registry.domain d SET updated = now() FROM imp_diff x "
	 "WHERE x.what = 'changed' AND d.id = x.id", 0},
	/* replace the NS and DS rows only of domains whose set changed */
	{"DELETE FROM registry.domain_ns n USING imp_diff x "
	 "WHERE x.what = 'changed' AND x.old_ns <> x.new_ns "
	 "AND n.domain_id = x.id", 0},
	{"INSERT INTO registry.domain_ns (domain_id, ns_name) "
	 "SELECT d.id, t.ns FROM imp_diff x "
	 "JOIN registry.domain d ON d.name = x.name "
	 "JOIN imp_ns t ON t.name = x.name "
	 "WHERE x.what = 'added' "
	 "   OR (x.what = 'changed' AND x.old_ns <> x.new_ns)", 0},
	{"DELETE FROM registry.ds s USING imp_diff x "
	 "WHERE x.what = 'changed' AND x.old_ds <> x.new_ds "
	 "AND s.domain_id = x.id", 0},
	{"INSERT INTO registry.ds (domain_id, keytag, algorithm, digest_type, "
	 "                         digest) "
	 "SELECT d.id, t.keytag, t.algorithm, t.digest_type, t.digest "
	 "FROM imp_diff x JOIN registry.domain d ON d.name = x.name "
	 "JOIN imp_ds t ON t.name = x.name "
	 "WHERE x.what = 'added' "
	 "   OR (x.what = 'changed' AND x.old_ds <> x.new_ds)", 0},
};

/* Hosts under the origin become exactly the glue of the file; each
   statement returns how many addresses it removed or added. */
static const char *const host_gone =
	"WITH gone AS (DELETE FROM registry.host h "
	"  WHERE " UNDER("h.name") " AND NOT EXISTS (SELECT 1 FROM imp_host t "
	"    WHERE t.name = h.name AND t.addr = h.addr) RETURNING 1) "
	"SELECT count(*) FROM gone";
static const char *const host_new =
	"WITH new AS (INSERT INTO registry.host (name, addr) "
	"  SELECT DISTINCT name, addr FROM imp_host "
	"  ON CONFLICT DO NOTHING RETURNING 1) "
	"SELECT count(*) FROM new";

static int count_of(struct db *db, const char *sql, int np,
		    const char *const *params, size_t *n)
{
	PGresult *r = db_exec(db, sql, np, params);

	if (!r)
		return CDS_EDB;
	*n = strtoul(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return CDS_OK;
}

static int import_tx(struct db *db, const struct zfile *z,
		     const struct zplan *p, struct db_import_stats *st)
{
	const char *params[2] = {z->origin, z->path};
	PGresult *r = NULL;
	int rc = CDS_EDB;

	if (db_cmd(db, "BEGIN") != 0)
		return CDS_EDB;
	for (size_t i = 0; i < sizeof import_setup / sizeof *import_setup; i++)
		if (db_cmd(db, import_setup[i]) != 0)
			goto fail;
	if ((rc = load_plan(db, z, p)) != 0)
		goto fail;
	rc = CDS_EDB;
	for (size_t i = 0; i < sizeof import_apply / sizeof *import_apply; i++) {
		if (!(r = db_exec(db, import_apply[i].sql, import_apply[i].np,
				  params)))
			goto fail;
		PQclear(r);
	}
	if (count_of(db, host_gone, 1, params, &st->glue_removed) != 0 ||
	    count_of(db, host_new, 0, NULL, &st->glue_added) != 0)
		goto fail;
	if (!(r = db_exec(db, "SELECT what, count(*) FROM imp_diff "
			      "GROUP BY what", 0, NULL)))
		goto fail;
	for (int i = 0; i < PQntuples(r); i++) {
		const char *w = PQgetvalue(r, i, 0);
		size_t c = strtoul(PQgetvalue(r, i, 1), NULL, 10);

		if (strcmp(w, "added") == 0)
			st->added = c;
		else if (strcmp(w, "changed") == 0)
			st->changed = c;
		else if (strcmp(w, "removed") == 0)
			st->removed = c;
		else
			st->unchanged = c;
	}
	PQclear(r);
	if (db_cmd(db, "COMMIT") != 0)
		goto fail;
	/* A bulk load leaves the planner without statistics until
	   autovacuum comes by; a scan started right after would claim its
	   batches with plans made for empty tables. Best effort: the load
	   itself is committed. */
	if (st->added + st->removed > 1000 &&
	    db_cmd(db, "ANALYZE registry.domain, registry.domain_ns, "
		       "registry.host, registry.ds") != 0)
		db->err[0] = '\0';
	return CDS_OK;
fail:
	db_rollback(db);
	memset(st, 0, sizeof *st);
	return rc;
}

int db_import_zone(struct db *db, const char *path, const char *origin,
		   struct db_import_stats *st, char *err, size_t errlen)
{
	struct zfile z = {.path = path};
	struct zplan p = {0};
	FILE *fp = NULL;
	int rc;

	memset(st, 0, sizeof *st);
	if (origin) {
		if (cds_name_normalize(origin, z.origin) != 0) {
			snprintf(err, errlen, "bad origin '%s'", origin);
			return CDS_EINVAL;
		}
		z.have_origin = true;
	}
	if (!(fp = fopen(path, "r"))) {
		snprintf(err, errlen, "%s: %m", path);
		return CDS_EIO;
	}
	if ((rc = read_file(&z, fp)) != 0)
		goto fail;
	if (!z.have_origin) {
		snprintf(z.err, sizeof z.err, "%s: no SOA record to take the "
			 "origin from; give --origin", path);
		rc = CDS_EINVAL;
		goto fail;
	}
	if ((rc = plan(&z, &p)) != 0)
		goto fail;
	if ((rc = import_tx(db, &z, &p, st)) != 0)
		snprintf(z.err, sizeof z.err, "%s", db_errmsg(db));
	else
		snprintf(st->origin, sizeof st->origin, "%s", z.origin);
fail:
	if (rc != 0)
		snprintf(err, errlen, "%s", z.err[0] ? z.err : cds_strerror(rc));
	if (rc == CDS_ENOMEM && !z.err[0])
		snprintf(err, errlen, "out of memory");
	zplan_deinit(&p);
	zfile_deinit(&z);
	fclose(fp);
	return rc;
}

/* ---- export ----------------------------------------------------------- */

/*
 * A key whose memcmp order is the DNS canonical order of names (RFC 4034
 * §6.1): labels from the right, each compared as octets (names are lower
 * case already), a label that is a prefix of another first. Each label's
 * octets are written with 0x00 and 0x01 escaped and a 0x00 after it.
 */
static unsigned char *canon_key(const char *name, size_t *klen)
{
	uint8_t wire[CDS_WIRE_NAME_MAX];
	size_t len, off[128], n = 0, k = 0;
	unsigned char *key;

	if (cds_name_to_wire(name, wire, &len) != 0)
		return NULL;
	for (size_t pos = 0; pos < len && wire[pos] && n < 128;
	     pos += 1 + wire[pos])
		off[n++] = pos;
	if (!(key = malloc(2 * len + 1)))
		return NULL;
	while (n--) {
		const uint8_t *l = wire + off[n];

		for (size_t i = 1; i <= l[0]; i++) {
			if (l[i] <= 1) {
				key[k++] = 1;
				key[k++] = (unsigned char)(l[i] + 1);
			} else {
				key[k++] = l[i];
			}
		}
		key[k++] = 0;
	}
	*klen = k;
	return key;
}

/* One owner to print: a delegation (a row of the delegation query) or a
   glue host (a run of rows of the glue query). */
struct xent {
	unsigned char *key;
	size_t klen;
	bool glue;
	int row, n_rows;
};

static int xent_cmp(const void *a, const void *b)
{
	const struct xent *x = a, *y = b;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->key, y->key, n);

	if (c)
		return c;
	if (x->klen != y->klen)
		return x->klen < y->klen ? -1 : 1;
	/* same owner: the delegation's NS and DS before its addresses */
	return (int)x->glue - (int)y->glue;
}

/* The NS name is in bailiwick: under the origin, or without one under
   the zone that holds the delegation (its parent). */
static bool in_bailiwick(const char *ns, const char *deleg, const char *origin)
{
	const char *zone = origin;

	if (!zone) {
		const char *dot = strchr(deleg, '.');

		if (!dot || !dot[1])
			return false;
		zone = dot + 1;
	}
	return strcmp(ns, zone) != 0 && cds_name_is_subdomain(ns, zone);
}

int db_export_zone(struct db *db, const char *origin, uint32_t ttl, FILE *out)
{
	char zone[CDS_NAME_MAX];
	const char *params[1] = {zone};
	PGresult *dr = NULL, *gr = NULL;
	struct xent *ent = NULL;
	char ***ns = NULL, ***ds = NULL, **wanted = NULL;
	size_t *n_ns = NULL, *n_ds = NULL, n_ent = 0, n_wanted = 0, cap_w = 0;
	int nd = 0, ng, rc = CDS_ENOMEM;

	if (origin && cds_name_normalize(origin, zone) != 0) {
		snprintf(db->err, sizeof db->err, "bad origin '%s'", origin);
		return CDS_EINVAL;
	}
	rc = CDS_EDB;
	if (!(dr = db_exec(db, origin ? "SELECT name, ns, ds FROM "
				       "cdscan.delegation WHERE " UNDER("name")
				     : "SELECT name, ns, ds FROM cdscan.delegation",
			   origin ? 1 : 0, params)) ||
	    !(gr = db_exec(db, origin ? "SELECT g.host, host(g.addr), "
				       "family(g.addr) FROM cdscan.glue g WHERE "
				       UNDER("g.host") " ORDER BY 1, 3, g.addr"
				     : "SELECT g.host, host(g.addr), "
				       "family(g.addr) FROM cdscan.glue g "
				       "ORDER BY 1, 3, g.addr",
			   origin ? 1 : 0, params)))
		goto out;
	rc = CDS_ENOMEM;
	nd = PQntuples(dr);
	ng = PQntuples(gr);
	ns = calloc((size_t)nd + 1, sizeof *ns);
	ds = calloc((size_t)nd + 1, sizeof *ds);
	n_ns = calloc((size_t)nd + 1, sizeof *n_ns);
	n_ds = calloc((size_t)nd + 1, sizeof *n_ds);
	ent = calloc((size_t)nd + (size_t)ng + 1, sizeof *ent);
	if (!ns || !ds || !n_ns || !n_ds || !ent)
		goto out;

	for (int i = 0; i < nd; i++) {
		const char *name = PQgetvalue(dr, i, 0);

		if (db_parse_array(PQgetvalue(dr, i, 1), &ns[i], &n_ns[i]) ||
		    db_parse_array(PQgetvalue(dr, i, 2), &ds[i], &n_ds[i])) {
			snprintf(db->err, sizeof db->err, "%s: cannot read the "
				 "ns or ds array of cdscan.delegation", name);
			rc = CDS_EDB;
			goto out;
		}
		for (size_t k = 0; k < n_ns[i]; k++) {
			if (!in_bailiwick(ns[i][k], name, origin ? zone : NULL))
				continue;
			if (grow((void **)&wanted, &cap_w, n_wanted,
				 sizeof *wanted))
				goto out;
			wanted[n_wanted++] = ns[i][k];
		}
		if (!(ent[n_ent].key = canon_key(name, &ent[n_ent].klen))) {
			snprintf(db->err, sizeof db->err, "bad name '%s' in "
				 "cdscan.delegation", name);
			rc = CDS_EDB;
			goto out;
		}
		ent[n_ent++].row = i;
	}
	qsort(wanted, n_wanted, sizeof *wanted, str_cmp);
	for (int i = 0, j; i < ng; i = j) {
		const char *host = PQgetvalue(gr, i, 0);

		for (j = i; j < ng && strcmp(PQgetvalue(gr, j, 0), host) == 0; j++)
			;
		if (!in_set(wanted, n_wanted, host))
			continue;
		if (!(ent[n_ent].key = canon_key(host, &ent[n_ent].klen)))
			continue; /* a host name we cannot print is no glue */
		ent[n_ent].glue = true;
		ent[n_ent].row = i;
		ent[n_ent++].n_rows = j - i;
	}
	qsort(ent, n_ent, sizeof *ent, xent_cmp);

	for (size_t e = 0; e < n_ent; e++) {
		int i = ent[e].row;

		if (ent[e].glue) {
			for (int k = i; k < i + ent[e].n_rows; k++)
				fprintf(out, "%s\t%u\tIN\t%s\t%s\n",
					PQgetvalue(gr, k, 0), ttl,
					strcmp(PQgetvalue(gr, k, 2), "6") == 0
						? "AAAA" : "A",
					PQgetvalue(gr, k, 1));
			continue;
		}
		for (size_t k = 0; k < n_ns[i]; k++)
			fprintf(out, "%s\t%u\tIN\tNS\t%s\n",
				PQgetvalue(dr, i, 0), ttl, ns[i][k]);
		for (size_t k = 0; k < n_ds[i]; k++)
			fprintf(out, "%s\t%u\tIN\tDS\t%s\n",
				PQgetvalue(dr, i, 0), ttl, ds[i][k]);
	}
	rc = CDS_OK;
	if (fflush(out) != 0 || ferror(out)) {
		snprintf(db->err, sizeof db->err, "write error: %m");
		rc = CDS_EIO;
	}
out:
	for (int i = 0; ns && ds && i < nd; i++) {
		db_strv_free(ns[i], n_ns[i]);
		db_strv_free(ds[i], n_ds[i]);
	}
	for (size_t e = 0; ent && e < n_ent; e++)
		free(ent[e].key);
	if (rc == CDS_ENOMEM)
		snprintf(db->err, sizeof db->err, "out of memory");
	free(ent);
	free(wanted);
	free(ns);
	free(ds);
	free(n_ns);
	free(n_ds);
	PQclear(dr);
	PQclear(gr);
	return rc;
}
