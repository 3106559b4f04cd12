/*
 * Metrics for the Prometheus text format (exposition format 0.0.4): a
 * registry of counters and gauges, each a name with a fixed HELP text
 * and up to two label values ("kind", "reason"). Single-threaded: the
 * daemon's event loop owns it and its HTTP endpoint prints it
 * (cli/daemon.c over libevent's evhttp). Plain data, no I/O but the
 * FILE it prints to.
 */
#ifndef CDS_CORE_METRICS_H
#define CDS_CORE_METRICS_H

#include <stdint.h>
#include <stdio.h>

struct cds_metrics;

enum cds_metric_type { CDS_METRIC_COUNTER, CDS_METRIC_GAUGE };

struct cds_metrics *cds_metrics_new(void);
void cds_metrics_free(struct cds_metrics *m);

/*
 * Declare a metric (name per the Prometheus rules, e.g.
 * "cdscan_notify_received_total") with its help text and label names
 * (NULL: none; "kind" or "kind,reason"). Declaring it again is a no-op.
 * 0, CDS_EINVAL (bad name) or CDS_ENOMEM.
 */
int cds_metrics_declare(struct cds_metrics *m, const char *name,
			enum cds_metric_type type, const char *help,
			const char *labels);

/* Add `v` to a counter / set a gauge, for the label values (NULL when
   the metric has none; "a" or "a,b" in the declared order; values are
   escaped when printed). Undeclared names are a programming error. */
void cds_metrics_add(struct cds_metrics *m, const char *name,
		     const char *labels, double v);
void cds_metrics_set(struct cds_metrics *m, const char *name,
		     const char *labels, double v);

/* The value now (0 when never set), for tests and the daemon. */
double cds_metrics_get(const struct cds_metrics *m, const char *name,
		       const char *labels);

/* Print everything in the text exposition format, metrics in
   declaration order, series sorted by labels. */
int cds_metrics_print(const struct cds_metrics *m, FILE *out);

#endif
