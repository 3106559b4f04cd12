/*
 * The daemon's metrics in the Prometheus text exposition format 0.0.4:
 * counters and gauges declared once with HELP text and up to two label
 * names, then updated by name with label values. Series are kept in
 * small arrays searched linearly: the label values are our own enums
 * (query kinds, decision reasons), a few dozen per metric, never a zone
 * name or an address, so there is no need for anything cleverer.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "core/log.h"
#include "core/metrics.h"

#define LABELS_MAX 2

struct series {
	char *values[LABELS_MAX];
	double v;
};

struct metric {
	char *name, *help;
	enum cds_metric_type type;
	int n_labels;
	char *labels[LABELS_MAX];
	struct series *series;
	size_t n_series, cap_series;
};

struct cds_metrics {
	struct metric *m;
	size_t n, cap;
};

struct cds_metrics *cds_metrics_new(void)
{
	return calloc(1, sizeof(struct cds_metrics));
}

static void metric_deinit(struct metric *mt)
{
	for (size_t i = 0; i < mt->n_series; i++)
		for (int k = 0; k < mt->n_labels; k++)
			free(mt->series[i].values[k]);
	free(mt->series);
	for (int k = 0; k < LABELS_MAX; k++)
		free(mt->labels[k]);
	free(mt->name);
	free(mt->help);
}

void cds_metrics_free(struct cds_metrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		metric_deinit(&m->m[i]);
	free(m->m);
	free(m);
}

/* Metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names the same without
   ':' and not starting with "__" (reserved), per the data model. */
static bool name_ok(const char *s, size_t len, bool label)
{
	if (len == 0 || (label && len >= 2 && s[0] == '_' && s[1] == '_'))
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  c == '_' || (!label && c == ':') ||
			  (i > 0 && c >= '0' && c <= '9');

		if (!ok)
			return false;
	}
	return true;
}

static struct metric *find(const struct cds_metrics *m, const char *name)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->m[i].name, name))
			return &m->m[i];
	return NULL;
}

/* Split "a" or "a,b" into at most `want` parts, pointers into `buf`
   (the last part keeps any further commas). The number of parts. */
static int split(const char *s, char *buf, size_t size, int want,
		 char *parts[LABELS_MAX + 1])
{
	int n = 0;

	if (!s || want == 0)
		return 0;
	snprintf(buf, size, "%s", s);
	parts[n++] = buf;
	while (n < want) {
		char *comma = strchr(parts[n - 1], ',');

		if (!comma)
			break;
		*comma = '\0';
		parts[n++] = comma + 1;
	}
	return n;
}

int cds_metrics_declare(struct cds_metrics *m, const char *name,
			enum cds_metric_type type, const char *help,
			const char *labels)
{
	struct metric mt = {.type = type};
	char buf[256], *parts[LABELS_MAX + 1];
	int n = 0;

	if (!name || !name_ok(name, strlen(name), false))
		return CDS_EINVAL;
	if (find(m, name))
		return 0;
	if (labels) {
		if (strlen(labels) >= sizeof buf)
			return CDS_EINVAL;
		n = split(labels, buf, sizeof buf, LABELS_MAX + 1, parts);
		if (n > LABELS_MAX)
			return CDS_EINVAL;
		for (int k = 0; k < n; k++)
			if (!name_ok(parts[k], strlen(parts[k]), true))
				return CDS_EINVAL;
	}
	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 16;
		struct metric *nm = realloc(m->m, cap * sizeof *nm);

		if (!nm)
			return CDS_ENOMEM;
		m->m = nm;
		m->cap = cap;
	}
	mt.n_labels = n;
	mt.name = strdup(name);
	mt.help = strdup(help ? help : "");
	for (int k = 0; k < n; k++)
		mt.labels[k] = strdup(parts[k]);
	if (!mt.name || !mt.help || (n > 0 && !mt.labels[0]) ||
	    (n > 1 && !mt.labels[1])) {
		metric_deinit(&mt);
		return CDS_ENOMEM;
	}
	m->m[m->n++] = mt;
	return 0;
}

/* The series of `mt` for the label values `labels`, created at 0 when
   `create`; NULL when absent or out of memory. */
static struct series *series_find(struct metric *mt, const char *labels,
				  bool create)
{
	char buf[1024], *parts[LABELS_MAX + 1] = {"", "", ""};
	struct series s = {.v = 0};

	if (labels && strlen(labels) >= sizeof buf)
		return NULL;
	split(labels, buf, sizeof buf, mt->n_labels, parts);
	for (size_t i = 0; i < mt->n_series; i++) {
		int k = 0;

		while (k < mt->n_labels &&
		       !strcmp(mt->series[i].values[k], parts[k]))
			k++;
		if (k == mt->n_labels)
			return &mt->series[i];
	}
	if (!create)
		return NULL;
	if (mt->n_series == mt->cap_series) {
		size_t cap = mt->cap_series ? 2 * mt->cap_series : 8;
		struct series *ns = realloc(mt->series, cap * sizeof *ns);

		if (!ns)
			return NULL;
		mt->series = ns;
		mt->cap_series = cap;
	}
	for (int k = 0; k < mt->n_labels; k++)
		if (!(s.values[k] = strdup(parts[k]))) {
			free(s.values[0]);
			return NULL;
		}
	mt->series[mt->n_series] = s;
	return &mt->series[mt->n_series++];
}

static struct series *lookup(struct cds_metrics *m, const char *name,
			     const char *labels)
{
	struct metric *mt = find(m, name);
	struct series *s;

	if (!mt) {
		log_err("metrics: %s was never declared", name);
		abort(); /* a programming error (metrics.h) */
	}
	if (!(s = series_find(mt, labels, true)))
		log_warn("metrics: %s{%s} not kept: out of memory", name,
			 labels ? labels : "");
	return s;
}

void cds_metrics_add(struct cds_metrics *m, const char *name,
		     const char *labels, double v)
{
	struct series *s = lookup(m, name, labels);

	if (s)
		s->v += v;
}

void cds_metrics_set(struct cds_metrics *m, const char *name,
		     const char *labels, double v)
{
	struct series *s = lookup(m, name, labels);

	if (s)
		s->v = v;
}

double cds_metrics_get(const struct cds_metrics *m, const char *name,
		       const char *labels)
{
	struct metric *mt = find(m, name);
	struct series *s = mt ? series_find(mt, labels, false) : NULL;

	return s ? s->v : 0;
}

/* HELP text escapes backslash and newline; label values also the
   double quote (exposition format 0.0.4). */
static void put_escaped(FILE *out, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", out);
		else if (*s == '\n')
			fputs("\\n", out);
		else if (quote && *s == '"')
			fputs("\\\"", out);
		else
			fputc(*s, out);
	}
}

/* Go's ParseFloat spellings of the special values, and the shortest
   decimal that reads back to the same double. */
static void put_value(FILE *out, double v)
{
	char buf[64];

	if (isnan(v)) {
		fputs("NaN", out);
		return;
	}
	if (isinf(v)) {
		fputs(v > 0 ? "+Inf" : "-Inf", out);
		return;
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, sizeof buf, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	fputs(buf, out);
}

static int n_labels_sorting; /* qsort has no context argument */

static int series_cmp(const void *a, const void *b)
{
	const struct series *x = *(const struct series *const *)a;
	const struct series *y = *(const struct series *const *)b;

	for (int k = 0; k < n_labels_sorting; k++) {
		int c = strcmp(x->values[k], y->values[k]);

		if (c)
			return c;
	}
	return 0;
}

static int metric_print(const struct metric *mt, FILE *out)
{
	const struct series **order = NULL;
	size_t n = mt->n_series;
	struct series zero = {.v = 0};

	fprintf(out, "# HELP %s ", mt->name);
	put_escaped(out, mt->help, false);
	fprintf(out, "\n# TYPE %s %s\n", mt->name,
		mt->type == CDS_METRIC_COUNTER ? "counter" : "gauge");
	/* an unlabelled metric always has its one series, 0 until set */
	if (mt->n_labels == 0 && n == 0) {
		fprintf(out, "%s ", mt->name);
		put_value(out, zero.v);
		fputc('\n', out);
		return 0;
	}
	if (n && !(order = malloc(n * sizeof *order)))
		return CDS_ENOMEM;
	for (size_t i = 0; i < n; i++)
		order[i] = &mt->series[i];
	n_labels_sorting = mt->n_labels;
	if (n > 1) /* qsort's array must not be NULL, even for none */
		qsort(order, n, sizeof *order, series_cmp);
	for (size_t i = 0; i < n; i++) {
		fputs(mt->name, out);
		for (int k = 0; k < mt->n_labels; k++) {
			fprintf(out, "%c%s=\"", k ? ',' : '{', mt->labels[k]);
			put_escaped(out, order[i]->values[k], true);
			fputc('"', out);
		}
		fputs(mt->n_labels ? "} " : " ", out);
		put_value(out, order[i]->v);
		fputc('\n', out);
	}
	free(order);
	return 0;
}

int cds_metrics_print(const struct cds_metrics *m, FILE *out)
{
	int rc;

	for (size_t i = 0; i < m->n; i++)
		if ((rc = metric_print(&m->m[i], out)) != 0)
			return rc;
	return ferror(out) ? CDS_EIO : 0;
}
