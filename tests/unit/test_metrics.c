/*
 * Unit tests for core/metrics.c: the Prometheus text exposition format
 * 0.0.4 compared byte for byte (HELP and TYPE lines, declaration order,
 * series sorted by label values, escaping of label values and help
 * text, number spellings), and the refusals of bad names.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "core/metrics.h"

/* Print into a string (owned by the caller). */
static char *print(const struct cds_metrics *m)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(cds_metrics_print(m, fp), 0);
	fclose(fp);
	return buf;
}

START_TEST(test_metrics_exposition_exact)
{
	struct cds_metrics *m = cds_metrics_new();
	char *text;

	ck_assert_int_eq(cds_metrics_declare(m, "cdscan_scans_total",
					     CDS_METRIC_COUNTER,
					     "Scans of a delegation.", NULL),
			 0);
	ck_assert_int_eq(cds_metrics_declare(m, "cdscan_decisions_total",
					     CDS_METRIC_COUNTER,
					     "Decisions by kind and reason.",
					     "kind,reason"),
			 0);
	ck_assert_int_eq(cds_metrics_declare(m, "cdscan_outbox_depth",
					     CDS_METRIC_GAUGE,
					     "Changes waiting in the outbox.",
					     NULL),
			 0);
	ck_assert_int_eq(cds_metrics_declare(m, "cdscan_queries_failed_total",
					     CDS_METRIC_COUNTER,
					     "Queries failed by kind.", "kind"),
			 0);
	/* declared again: a no-op, the first HELP stays */
	ck_assert_int_eq(cds_metrics_declare(m, "cdscan_scans_total",
					     CDS_METRIC_GAUGE, "other", NULL),
			 0);

	cds_metrics_add(m, "cdscan_scans_total", NULL, 3);
	cds_metrics_add(m, "cdscan_decisions_total", "update,update", 1);
	cds_metrics_add(m, "cdscan_decisions_total", "none,no-cds", 2);
	cds_metrics_add(m, "cdscan_decisions_total", "update,update", 1);
	cds_metrics_add(m, "cdscan_decisions_total", "none,in-sync", 5);
	cds_metrics_set(m, "cdscan_outbox_depth", NULL, 7);
	cds_metrics_set(m, "cdscan_outbox_depth", NULL, 4.5);

	text = print(m);
	ck_assert_str_eq(
		text,
		"# HELP cdscan_scans_total Scans of a delegation.\n"
		"# TYPE cdscan_scans_total counter\n"
		"cdscan_scans_total 3\n"
		"# HELP cdscan_decisions_total Decisions by kind and reason.\n"
		"# TYPE cdscan_decisions_total counter\n"
		"cdscan_decisions_total{kind=\"none\",reason=\"in-sync\"} 5\n"
		"cdscan_decisions_total{kind=\"none\",reason=\"no-cds\"} 2\n"
		"cdscan_decisions_total{kind=\"update\",reason=\"update\"} 2\n"
		"# HELP cdscan_outbox_depth Changes waiting in the outbox.\n"
		"# TYPE cdscan_outbox_depth gauge\n"
		"cdscan_outbox_depth 4.5\n"
		"# HELP cdscan_queries_failed_total Queries failed by kind.\n"
		"# TYPE cdscan_queries_failed_total counter\n");
	free(text);
	ck_assert(cds_metrics_get(m, "cdscan_decisions_total",
				  "update,update") == 2);
	ck_assert(cds_metrics_get(m, "cdscan_decisions_total", "x,y") == 0);
	ck_assert(cds_metrics_get(m, "cdscan_nothing", NULL) == 0);
	ck_assert(cds_metrics_get(m, "cdscan_outbox_depth", NULL) == 4.5);
	cds_metrics_free(m);
}
END_TEST

START_TEST(test_metrics_escaping_and_numbers)
{
	struct cds_metrics *m = cds_metrics_new();
	char *text;

	cds_metrics_declare(m, "x_total", CDS_METRIC_COUNTER,
			    "a \\ back\nslash \"quoted\"", "kind");
	cds_metrics_declare(m, "g", CDS_METRIC_GAUGE, "", "kind,reason");
	/* one label: the value keeps its commas */
	cds_metrics_add(m, "x_total", "a\\b\"c\nd,e", 1);
	cds_metrics_set(m, "g", "inf,plus", INFINITY);
	cds_metrics_set(m, "g", "inf,minus", -INFINITY);
	cds_metrics_set(m, "g", "nan,x", NAN);
	cds_metrics_set(m, "g", "tenth,x", 0.1);
	cds_metrics_set(m, "g", "big,x", 1e21);
	cds_metrics_set(m, "g", "int,x", 123456789012.0);
	cds_metrics_set(m, "g", "third,x", 1.0 / 3);
	text = print(m);
	ck_assert_str_eq(
		text,
		"# HELP x_total a \\\\ back\\nslash \"quoted\"\n"
		"# TYPE x_total counter\n"
		"x_total{kind=\"a\\\\b\\\"c\\nd,e\"} 1\n"
		"# HELP g \n"
		"# TYPE g gauge\n"
		"g{kind=\"big\",reason=\"x\"} 1e+21\n"
		"g{kind=\"inf\",reason=\"minus\"} -Inf\n"
		"g{kind=\"inf\",reason=\"plus\"} +Inf\n"
		"g{kind=\"int\",reason=\"x\"} 123456789012\n"
		"g{kind=\"nan\",reason=\"x\"} NaN\n"
		"g{kind=\"tenth\",reason=\"x\"} 0.1\n"
		"g{kind=\"third\",reason=\"x\"} 0.3333333333333333\n");
	free(text);
	cds_metrics_free(m);
}
END_TEST

START_TEST(test_metrics_refuses_bad_names)
{
	struct cds_metrics *m = cds_metrics_new();
	static const char *bad_names[] = {"", "1abc", "a-b", "a b", "é", NULL};
	static const char *bad_labels[] = {"", "a,", "__x", "a,b,c", "a-b",
					   "1a", NULL};

	for (int i = 0; bad_names[i]; i++)
		ck_assert_int_eq(cds_metrics_declare(m, bad_names[i],
						     CDS_METRIC_GAUGE, "h",
						     NULL),
				 CDS_EINVAL);
	for (int i = 0; bad_labels[i]; i++)
		ck_assert_int_eq(cds_metrics_declare(m, "ok", CDS_METRIC_GAUGE,
						     "h", bad_labels[i]),
				 CDS_EINVAL);
	ck_assert_int_eq(cds_metrics_declare(m, "ns:ok_1", CDS_METRIC_GAUGE,
					     "h", "_k,r2"),
			 0);
	cds_metrics_free(m);
	cds_metrics_free(NULL);
}
END_TEST

static Suite *metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("exposition");

	tcase_add_test(tc, test_metrics_exposition_exact);
	tcase_add_test(tc, test_metrics_escaping_and_numbers);
	tcase_add_test(tc, test_metrics_refuses_bad_names);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(metrics_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
