/*
 * Unit tests for core/window.c, the in-flight limit of a scan: slow
 * start from the least, growth only while the limit is what holds the
 * window, the Little's-law cut when the loop is saturated and answers
 * queue past CoDel's 5 ms (RFC 8289 §4.2), the unjudged interval after
 * a cut, growth for far servers while the loop sleeps, and the bounds;
 * and the round-trip buckets and percentiles the signal is read from.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "core/window.h"

/* An interval: busy and full fractions, mean round trip, samples. */
static unsigned step(struct cds_window *w, double busy, double full,
		     double rtt_ms, uint64_t samples)
{
	struct cds_window_obs o = {.busy = busy, .full = full,
				   .rtt_ms = rtt_ms, .samples = samples,
				   .rate = (double)samples * 10};

	return cds_window_update(w, &o);
}

START_TEST(test_window_slow_start_to_max)
{
	struct cds_window w;
	unsigned expect = 64;

	cds_window_init(&w, 64, 3000);
	ck_assert_uint_eq(w.limit, 64);
	/* full, nothing queued, a saturated loop: grow by half each time */
	for (int i = 0; i < 20 && expect < 3000; i++) {
		expect = expect * 3 / 2 + 1 > 3000 ? 3000 : expect * 3 / 2 + 1;
		ck_assert_uint_eq(step(&w, 0.99, 1.0, 1.0, 500), expect);
	}
	ck_assert_uint_eq(w.limit, 3000);
	ck_assert_uint_eq(step(&w, 0.99, 1.0, 1.0, 500), 3000);
	ck_assert_uint_eq(w.high, 3000);
	ck_assert_uint_eq(w.shrunk, 0);
}
END_TEST

/* Claim-starved (the window was not full): the limit did not hold
   anything back, so it does not grow, idle loop or not. */
START_TEST(test_window_no_growth_when_not_limited)
{
	struct cds_window w;

	cds_window_init(&w, 64, 3000);
	ck_assert_uint_eq(step(&w, 0.99, 0.2, 1.0, 500), 64);
	ck_assert_uint_eq(step(&w, 0.30, 0.4, 1.0, 500), 64);
	ck_assert_uint_eq(step(&w, 0.30, 0.5, 1.0, 500), 97);
	ck_assert_uint_eq(w.grown, 1);
}
END_TEST

START_TEST(test_window_cut_by_littles_law)
{
	struct cds_window w;
	double r = 100.0;

	cds_window_init(&w, 64, 3000);
	w.limit = 1000;
	/* learn the base: 1 ms (queued 0 < 2.5: grows, 1000 → 1501) */
	ck_assert_uint_eq(step(&w, 0.99, 1.0, 1.0, 500), 1501);
	ck_assert_double_eq_tol(w.base, 1.0, 1e-9);
	/* 11 ms: 10 queued past a saturated loop: × (1 + 5) / 11 */
	ck_assert_uint_eq(step(&w, 0.99, 1.0, 11.0, 500), 1501 * 6 / 11);
	ck_assert_uint_eq(w.shrunk, 1);
	/* the next interval answers what the old limit sent: not judged */
	ck_assert_uint_eq(step(&w, 0.99, 1.0, 11.0, 500), 818);
	/* the queue went (3 queued: between half the target and the
	   target): kept, the cut stands */
	ck_assert_uint_eq(step(&w, 0.99, 1.0, 4.0, 500), 818);
	ck_assert_uint_eq(w.undone, 0);
	/* queued past the target, but the loop only 90% busy: kept */
	ck_assert_uint_eq(step(&w, 0.90, 1.0, 20.0, 500), 818);
	/* far past: at most halved, and each cut shortens the queue */
	for (int i = 0; i < 12; i++) {
		step(&w, 0.99, 1.0, r, 500);
		step(&w, 0.99, 1.0, r, 500);
		r *= 0.8;
	}
	ck_assert_uint_eq(w.undone, 0);
	ck_assert_uint_eq(w.limit, 64);
	ck_assert_uint_eq(w.low, 64);
	ck_assert_uint_eq(w.shrunk, 5); /* 818 409 204 102 64 */
}
END_TEST

/* A cut after which the queue stays is undone, and cuts wait: the
   queue was the host's or the path's, not this window's. */
START_TEST(test_window_cut_undone)
{
	struct cds_window w;

	cds_window_init(&w, 64, 3000);
	w.limit = 1000;
	ck_assert_uint_eq(step(&w, 0.99, 1.0, 30.0, 500), 1501);
	ck_assert_uint_eq(step(&w, 0.99, 1.0, 60.0, 500), 875); /* × 35/60 */
	ck_assert_uint_eq(step(&w, 0.99, 1.0, 60.0, 500), 875); /* settling */
	/* still 55 ms (more than nine tenths of 60): back to 1501 */
	ck_assert_uint_eq(step(&w, 0.99, 1.0, 55.0, 500), 1501);
	ck_assert_uint_eq(w.undone, 1);
	/* no cut for hold_off intervals, whatever queues */
	for (unsigned i = 1; i < w.hold_off; i++)
		ck_assert_uint_eq(step(&w, 0.99, 1.0, 60.0, 500), 1501);
	ck_assert_uint_eq(step(&w, 0.99, 1.0, 60.0, 500), 875);
	/* this one shortened the queue (54 is nine tenths): it stands, and
	   24 ms still queued cut again, × 35/54 */
	ck_assert_uint_eq(step(&w, 0.99, 1.0, 60.0, 500), 875);
	ck_assert_uint_eq(step(&w, 0.99, 1.0, 54.0, 500), 567);
	ck_assert_uint_eq(w.undone, 1);
}
END_TEST

/* Far servers: 30 ms and more queued than the target by the mix of
   paths, but the loop sleeps: the window grows, it does not shrink. */
START_TEST(test_window_far_servers_grow)
{
	struct cds_window w;

	cds_window_init(&w, 64, 3000);
	ck_assert_uint_eq(step(&w, 0.40, 1.0, 30.0, 500), 97);
	ck_assert_uint_eq(step(&w, 0.40, 1.0, 45.0, 500), 146);
	/* saturated enough not to grow, not enough to cut: kept */
	ck_assert_uint_eq(step(&w, 0.92, 1.0, 45.0, 500), 146);
	ck_assert_uint_eq(step(&w, 0.99, 1.0, 31.0, 500), 220);
	ck_assert_double_eq_tol(w.base, 30.0, 1e-9);
}
END_TEST

/* Too few answers to judge the round trip: only the loop's idleness
   can grow the limit; with neither, it stays. The least mean counts
   judged intervals only. */
START_TEST(test_window_few_samples_and_unknown_busy)
{
	struct cds_window w;

	cds_window_init(&w, 64, 3000);
	ck_assert_uint_eq(step(&w, -1, 1.0, 0.1, 5), 64);
	ck_assert_double_eq_tol(w.base, 0.0, 1e-9);
	ck_assert_uint_eq(step(&w, 0.99, 1.0, 50.0, 5), 64);
	ck_assert_uint_eq(step(&w, 0.50, 1.0, 50.0, 5), 97);
	/* busy unknown (no schedstats): the round trip alone decides */
	ck_assert_uint_eq(step(&w, -1, 1.0, 2.0, 500), 146);
	ck_assert_uint_eq(step(&w, -1, 1.0, 40.0, 500), 146);
	ck_assert_uint_eq(w.shrunk, 0);
}
END_TEST

START_TEST(test_window_bounds)
{
	struct cds_window w;

	cds_window_init(&w, 64, 10);
	ck_assert_uint_eq(w.min, 10);
	ck_assert_uint_eq(w.limit, 10);
	ck_assert_uint_eq(step(&w, 0.1, 1.0, 1.0, 500), 10);
	ck_assert_uint_eq(w.grown, 0);
	cds_window_init(&w, 0, 0);
	ck_assert_uint_eq(w.min, 1);
	ck_assert_uint_eq(w.max, 1);
}
END_TEST

START_TEST(test_window_rtt_buckets)
{
	/* 0.01 ms × 2^((i + 1) / 4): 19% steps, ends held */
	ck_assert_uint_eq(cds_rtt_bucket(0.0), 0);
	ck_assert_uint_eq(cds_rtt_bucket(-3.0), 0);
	ck_assert_uint_eq(cds_rtt_bucket(0.011), 0);
	ck_assert_uint_eq(cds_rtt_bucket(0.012), 1);  /* past 0.01 × 2^¼ */
	ck_assert_uint_eq(cds_rtt_bucket(0.02), 4);
	ck_assert_uint_eq(cds_rtt_bucket(1.0), 26);   /* 4 log2(100) = 26.6 */
	ck_assert_uint_eq(cds_rtt_bucket(30.0), 46);  /* 4 log2(3000) = 46.2 */
	ck_assert_uint_eq(cds_rtt_bucket(1e9), CDS_RTT_BUCKETS - 1);
}
END_TEST

/* The percentile of what was counted between two snapshots: the upper
   bound of the bucket where the count reaches it. */
START_TEST(test_window_rtt_percentile)
{
	uint64_t before[CDS_RTT_BUCKETS] = {0}, now[CDS_RTT_BUCKETS] = {0};
	uint64_t n = 99;

	ck_assert_double_eq_tol(cds_rtt_percentile(now, before, 0.1, &n), -1,
				1e-12);
	ck_assert_uint_eq(n, 0);
	/* before: 1000 quick ones, not counted */
	before[cds_rtt_bucket(0.05)] = 1000;
	now[cds_rtt_bucket(0.05)] = 1000 + 5;       /* 5 at 0.05 ms */
	now[cds_rtt_bucket(1.0)] = 45;              /* 45 at 1 ms */
	now[cds_rtt_bucket(30.0)] = 50;             /* 50 at 30 ms */
	/* 100 counted: the 10th is at 1 ms (bucket 26, under 1.09 ms) */
	ck_assert_double_eq_tol(cds_rtt_percentile(now, before, 0.1, &n),
				0.01 * exp2(27 / 4.0), 1e-9);
	ck_assert_uint_eq(n, 100);
	ck_assert_double_eq_tol(cds_rtt_percentile(now, before, 0.05, &n),
				0.01 * exp2((cds_rtt_bucket(0.05) + 1) / 4.0),
				1e-9);
	ck_assert_double_eq_tol(cds_rtt_percentile(now, before, 0.5, &n),
				0.01 * exp2(27 / 4.0), 1e-9);
	ck_assert_double_eq_tol(cds_rtt_percentile(now, before, 0.51, &n),
				0.01 * exp2(47 / 4.0), 1e-9);
	ck_assert_double_eq_tol(cds_rtt_percentile(now, before, 1.0, &n),
				0.01 * exp2(47 / 4.0), 1e-9);
}
END_TEST

/* A cut that shortened the queue but cost answers a second, the
   window full: the rate was not fixed (a far server's round trip was
   what the window hid), so the cut is undone. Not when the window was
   not full after it: then nothing asked for more. */
START_TEST(test_window_cut_undone_by_rate)
{
	struct cds_window w;
	struct cds_window_obs o = {.busy = 0.99, .full = 1.0, .rtt_ms = 30.0,
				   .samples = 500, .rate = 40000};

	cds_window_init(&w, 64, 3000);
	w.limit = 2000;
	cds_window_update(&w, &o); /* base 30 ms: grows to 3000 */
	ck_assert_uint_eq(w.limit, 3000);
	o.rtt_ms = 60.0;
	ck_assert_uint_eq(cds_window_update(&w, &o), 1750); /* × 35/60 */
	ck_assert_uint_eq(cds_window_update(&w, &o), 1750); /* settling */
	/* the queue went (40 ms), but so did a fifth of the answers */
	o.rtt_ms = 40.0;
	o.rate = 32000;
	ck_assert_uint_eq(cds_window_update(&w, &o), 3000);
	ck_assert_uint_eq(w.undone, 1);
	/* after the hold-off, the same cut with the window not full after
	   it (claims late): it stands */
	o.rtt_ms = 60.0;
	for (unsigned i = 1; i < w.hold_off; i++)
		cds_window_update(&w, &o);
	ck_assert_uint_eq(w.limit, 3000);
	ck_assert_uint_eq(cds_window_update(&w, &o), 1750);
	cds_window_update(&w, &o);
	o.rtt_ms = 33.0;
	o.full = 0.2;
	ck_assert_uint_eq(cds_window_update(&w, &o), 1750);
	ck_assert_uint_eq(w.undone, 1);
}
END_TEST

static Suite *window_suite(void)
{
	Suite *s = suite_create("window");
	TCase *tc = tcase_create("limit");

	tcase_add_test(tc, test_window_slow_start_to_max);
	tcase_add_test(tc, test_window_no_growth_when_not_limited);
	tcase_add_test(tc, test_window_cut_by_littles_law);
	tcase_add_test(tc, test_window_cut_undone);
	tcase_add_test(tc, test_window_cut_undone_by_rate);
	tcase_add_test(tc, test_window_far_servers_grow);
	tcase_add_test(tc, test_window_few_samples_and_unknown_busy);
	tcase_add_test(tc, test_window_bounds);
	tcase_add_test(tc, test_window_rtt_buckets);
	tcase_add_test(tc, test_window_rtt_percentile);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(window_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
