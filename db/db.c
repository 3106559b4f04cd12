/*
 * The connection, and the small helpers shared by db/: statements with
 * text parameters, errors that keep libpq's message, PostgreSQL array
 * literals in and out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "db/db_int.h"

/* Server notices (NOTICE: relation exists, skipping) are not for people
   running cdscan. A NULL processor would keep libpq's default, which
   prints them. */
static void notice_quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

int db_open(const char *conninfo, struct db **out, char *err, size_t errlen)
{
	struct db *db = calloc(1, sizeof *db);

	*out = NULL;
	if (!db) {
		snprintf(err, errlen, "out of memory");
		return CDS_ENOMEM;
	}
	if (!(db->conninfo = strdup(conninfo ? conninfo : ""))) {
		snprintf(err, errlen, "out of memory");
		free(db);
		return CDS_ENOMEM;
	}
	db->conn = PQconnectdb(db->conninfo);
	if (!db->conn || PQstatus(db->conn) != CONNECTION_OK) {
		const char *m = db->conn ? PQerrorMessage(db->conn) : "";
		size_t len = strlen(m);

		/* libpq ends its messages with a newline */
		while (len && (m[len - 1] == '\n' || m[len - 1] == ' '))
			len--;
		snprintf(err, errlen, "cannot connect to the database: %.*s",
			 (int)len, m);
		db_close(db);
		return CDS_EDB;
	}
	/* Keep server notices (NOTICE: relation exists, ...) off stderr. */
	PQsetNoticeProcessor(db->conn, notice_quiet, NULL);
	/* No JIT: every statement of ours is short, but the planner's
	   estimates for a batch (the history read with each claim: cost
	   ~570k, jit_above_cost is 100k) made PostgreSQL compile it at every
	   batch, 165-185 ms for a query that runs in 5 ms: a third of its
	   CPU in a first scan (docs/BENCH.md). Every connection, so status,
	   history and the daemon get the same. Best effort: a server that
	   refuses it just runs slower. */
	(void)db_cmd(db, "SET jit = off");
	db->err[0] = '\0';
	*out = db;
	return CDS_OK;
}

void db_close(struct db *db)
{
	if (!db)
		return;
	if (db->conn)
		PQfinish(db->conn);
	free(db->conninfo);
	free(db);
}

const char *db_errmsg(const struct db *db)
{
	return db->err[0] ? db->err : "no error";
}

int db_fail(struct db *db, const char *what)
{
	const char *m = db->conn ? PQerrorMessage(db->conn) : "";
	size_t len = strlen(m);

	db->sqlstate[0] = '\0';
	while (len && (m[len - 1] == '\n' || m[len - 1] == ' '))
		len--;
	if (len)
		snprintf(db->err, sizeof db->err, "%s: %.*s", what, (int)len, m);
	else
		snprintf(db->err, sizeof db->err, "%s", what);
	return CDS_EDB;
}

/* r when it is COMMAND_OK or TUPLES_OK, else NULL with db->err set. */
static PGresult *result_ok(struct db *db, PGresult *r)
{
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return r;
	snprintf(db->sqlstate, sizeof db->sqlstate, "%s", state ? state : "");
	if (r && PQresultErrorMessage(r)[0]) {
		const char *m = PQresultErrorMessage(r);
		size_t len = strlen(m);

		while (len && (m[len - 1] == '\n' || m[len - 1] == ' '))
			len--;
		snprintf(db->err, sizeof db->err, "%.*s", (int)len, m);
	} else {
		db_fail(db, "database");
	}
	PQclear(r);
	return NULL;
}

PGresult *db_exec(struct db *db, const char *sql, int n,
		  const char *const *params)
{
	return result_ok(db, PQexecParams(db->conn, sql, n, NULL, params, NULL,
					  NULL, 0));
}

PGresult *db_exec_prepared(struct db *db, enum db_stmt st, const char *sql,
			   int n, const char *const *params)
{
	char name[24];
	PGresult *r;

	snprintf(name, sizeof name, "cdscan_%d", (int)st);
	if (!db->prepared[st]) {
		if (!(r = result_ok(db, PQprepare(db->conn, name, sql, n, NULL))))
			return NULL;
		PQclear(r);
		db->prepared[st] = true;
	}
	return result_ok(db, PQexecPrepared(db->conn, name, n, params, NULL,
					    NULL, 0));
}

int db_cmd(struct db *db, const char *sql)
{
	PGresult *r = db_exec(db, sql, 0, NULL);

	if (!r)
		return CDS_EDB;
	PQclear(r);
	return CDS_OK;
}

void db_rollback(struct db *db)
{
	char keep[sizeof db->err];

	memcpy(keep, db->err, sizeof keep);
	PQclear(PQexec(db->conn, "ROLLBACK"));
	memcpy(db->err, keep, sizeof keep);
}

void db_copy_put(struct db_copybuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->cap - b->len < n) {
		size_t cap = b->cap ? 2 * b->cap : 1 << 14;
		char *p;

		while (cap - b->len < n)
			cap *= 2;
		if (!(p = realloc(b->s, cap))) {
			b->oom = true;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
}

/* Written in runs between the characters to escape: a byte at a time
   (through a locked fputc(), as it first was) cost a tenth of a
   rescan's CPU (docs/BENCH.md). */
void db_copy_field(struct db_copybuf *b, const char *s, char end)
{
	if (!s) {
		db_copy_put(b, "\\N", 2);
	} else {
		for (;;) {
			size_t n = strcspn(s, "\\\t\n\r");

			db_copy_put(b, s, n);
			s += n;
			if (!*s)
				break;
			db_copy_putc(b, '\\');
			db_copy_putc(b, *s == '\t'   ? 't'
					: *s == '\n' ? 'n'
					: *s == '\r' ? 'r'
						     : '\\');
			s++;
		}
	}
	db_copy_putc(b, end);
}

int db_copy_in(struct db *db, const char *sql, struct db_copybuf *b)
{
	/* errors name the statement without its column list */
	const char *cols = strstr(sql, " (");
	char what[64];
	PGresult *r;
	int ret = CDS_OK;

	snprintf(what, sizeof what, "%.*s",
		 cols ? (int)(cols - sql) : (int)strlen(sql), sql);
	if (b->oom) {
		snprintf(db->err, sizeof db->err, "out of memory");
		return CDS_ENOMEM;
	}
	r = PQexec(db->conn, sql);
	if (!r || PQresultStatus(r) != PGRES_COPY_IN) {
		PQclear(r);
		return db_fail(db, what);
	}
	PQclear(r);
	if ((b->len && PQputCopyData(db->conn, b->s, (int)b->len) != 1) ||
	    PQputCopyEnd(db->conn, NULL) != 1)
		ret = db_fail(db, what);
	while ((r = PQgetResult(db->conn))) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK && ret == CDS_OK) {
			const char *st =
				PQresultErrorField(r, PG_DIAG_SQLSTATE);

			snprintf(db->sqlstate, sizeof db->sqlstate, "%s",
				 st ? st : "");
			snprintf(db->err, sizeof db->err, "%s: %s", what,
				 PQresultErrorMessage(r));
			db->err[strcspn(db->err, "\n")] = '\0';
			ret = CDS_EDB;
		}
		PQclear(r);
	}
	b->len = 0;
	return ret;
}

char *db_array_literal(const char *const *items, size_t n)
{
	size_t len = 3;
	char *s, *p;

	for (size_t i = 0; i < n; i++)
		len += 2 * strlen(items[i]) + 3;
	if (!(s = malloc(len)))
		return NULL;
	p = s;
	*p++ = '{';
	for (size_t i = 0; i < n; i++) {
		if (i)
			*p++ = ',';
		*p++ = '"';
		for (const char *c = items[i]; *c; c++) {
			if (*c == '"' || *c == '\\')
				*p++ = '\\';
			*p++ = *c;
		}
		*p++ = '"';
	}
	*p++ = '}';
	*p = '\0';
	return s;
}

char *db_int_array_literal(const int64_t *v, size_t n)
{
	char *s = malloc(3 + n * 21), *p;

	if (!s)
		return NULL;
	p = s;
	*p++ = '{';
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%s%lld", i ? "," : "", (long long)v[i]);
	*p++ = '}';
	*p = '\0';
	return s;
}

static int ds_order(const void *a, const void *b)
{
	const struct cds_ds *x = a, *y = b;
	char hx[2 * CDS_DIGEST_MAX + 1], hy[2 * CDS_DIGEST_MAX + 1];

	if (x->keytag != y->keytag)
		return x->keytag < y->keytag ? -1 : 1;
	if (x->alg != y->alg)
		return x->alg < y->alg ? -1 : 1;
	if (x->digest_type != y->digest_type)
		return x->digest_type < y->digest_type ? -1 : 1;
	/* The view sorts the digest as text (hex, upper case, C collation
	   for these characters): compare the same way. */
	for (size_t i = 0; i < x->digest_len; i++)
		snprintf(hx + 2 * i, 3, "%02X", x->digest[i]);
	hx[2 * x->digest_len] = '\0';
	for (size_t i = 0; i < y->digest_len; i++)
		snprintf(hy + 2 * i, 3, "%02X", y->digest[i]);
	hy[2 * y->digest_len] = '\0';
	return strcmp(hx, hy);
}

char *db_ds_format(const struct cds_ds *ds, char *buf, size_t size)
{
	char *p;

	/* cds_ds_format writes the digest in lower case; the registry
	   stores it in upper case (registry.ds CHECK) and the view compares
	   text */
	cds_ds_format(ds, buf, size);
	if ((p = strrchr(buf, ' ')))
		for (p++; *p; p++)
			if (*p >= 'a' && *p <= 'f')
				*p = (char)(*p - 'a' + 'A');
	return buf;
}

char *db_ds_array(const struct cds_ds *ds, size_t n)
{
	struct cds_ds sorted[CDS_DS_MAX];
	char str[CDS_DS_MAX][CDS_DS_STR_MAX];
	const char *items[CDS_DS_MAX];

	if (n > CDS_DS_MAX)
		return NULL;
	memcpy(sorted, ds, n * sizeof *ds);
	qsort(sorted, n, sizeof *sorted, ds_order);
	for (size_t i = 0; i < n; i++)
		items[i] = db_ds_format(&sorted[i], str[i], sizeof str[i]);
	return db_array_literal(items, n);
}

int db_parse_array(const char *lit, char ***out, size_t *n)
{
	size_t cap = 8, len = strlen(lit);
	char **v = calloc(cap, sizeof *v), *tok = malloc(len + 1);
	const char *p = lit;

	*out = NULL;
	*n = 0;
	if (!v || !tok || *p++ != '{')
		goto fail;
	while (*p && *p != '}') {
		size_t t = 0;

		if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				tok[t++] = *p;
			}
			if (*p++ != '"')
				goto fail;
		} else {
			while (*p && *p != ',' && *p != '}')
				tok[t++] = *p++;
			if (t == 4 && memcmp(tok, "NULL", 4) == 0)
				t = 0;
		}
		tok[t] = '\0';
		if (*n == cap) {
			char **nv = realloc(v, 2 * cap * sizeof *v);

			if (!nv)
				goto fail;
			v = nv;
			cap *= 2;
		}
		if (!(v[(*n)++] = strdup(tok)))
			goto fail;
		if (*p == ',')
			p++;
	}
	if (*p != '}')
		goto fail;
	free(tok);
	*out = v;
	return CDS_OK;
fail:
	free(tok);
	db_strv_free(v, *n);
	*n = 0;
	return CDS_EINVAL;
}

void db_strv_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void db_delegation_deinit(struct db_delegation *d)
{
	if (!d)
		return;
	free(d->ds_text);
	d->ds_text = NULL;
	free(d->ns);
	d->ns = NULL;
	d->n_ns = 0;
	free(d->ds);
	d->ds = NULL;
	d->n_ds = 0;
	free(d->hist.boot_ds);
	d->hist.boot_ds = NULL;
	d->hist.n_boot_ds = 0;
}
