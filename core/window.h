/*
 * How many delegations a scan keeps in flight: scan.concurrency is the
 * most, and this controller picks the limit below it from what each
 * interval of the scan showed (scan.adaptive-window).
 *
 * More in flight than the event loop can turn over hides no latency: it
 * only waits in queues (the servers' sockets, ours), and every probe
 * waiting there keeps its memory out of the caches. On loopback a window
 * of 3000 made the scanner spend ~20% more CPU a query than one of 300,
 * at the same rate or lower (docs/BENCH.md). Far servers need the large
 * window: there the loop sleeps between answers.
 *
 * The signal is the round trip of the first attempts answered in an
 * interval that nine in ten of them reached at least (its 10th
 * percentile), against the least such figure seen in the run (`base`):
 * when even the quicker answers waited, there is a standing queue. This
 * is CoDel's (RFC 8289 §4.2) with a percentile for its minimum: on
 * loopback a few answers always come through an idle socket at once,
 * and the least of an interval then stays low whatever the window; a
 * mean moves with the mix of near and far servers, and with the bursts
 * a busy host delays now and then. The target is CoDel's too: a
 * standing queue of more than `queue_ms` (5 ms) buys nothing. Every
 * interval in which the limit held the window back (it was full for
 * `full_min` of the interval):
 *   - less than half the target queued, or the loop thread idle (neither
 *     running nor waiting for a CPU) for more than `idle_min` of the
 *     interval: grow by half;
 * and in any interval:
 *   - the loop saturated (busy at least `busy_max`) and more than the
 *     target queued: at a fixed rate what is in flight is proportional
 *     to the round trip (Little's law), so scale the limit by
 *     (base + queue_ms) / rtt, at most halving it, and leave the next
 *     interval unjudged: its answers are to what the old limit sent;
 *   - otherwise keep it.
 * A cut that did not do what Little's law promised is undone, and no
 * cut follows for `hold_off` intervals: when the interval judged after
 * it still has nine tenths of the round trip that caused it (the queue
 * was not this window's but a host's or a path's that is slow for
 * everyone), or, with the window full, less than nine tenths of the
 * answers a second (the rate was not fixed: the window was what hid a
 * far server's round trip).
 * A run starts at `min` and grows (slow start): starting at the most,
 * the base would be learnt with the queues already full. Pure: the
 * caller measures.
 */
#ifndef CDS_CORE_WINDOW_H
#define CDS_CORE_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

struct cds_window {
	/* settings (cds_window_init) */
	unsigned min, max;
	double idle_min, busy_max, full_min, queue_ms;
	uint64_t min_samples; /* round trips an interval needs to judge */
	unsigned hold_off;    /* intervals without cuts after an undone one */
	/* state */
	unsigned limit;
	double base;          /* least interval 10th percentile, ms;
	                         0: none yet */
	bool settling;        /* just shrunk: the next interval is not judged */
	unsigned cut_from;    /* the limit before the last cut, until the
	                         interval after it is judged (0: none) */
	double cut_rtt;       /* the round trip that made that cut */
	double cut_rate;      /* and the answers a second then */
	unsigned held;        /* intervals left without cuts */
	unsigned undone;      /* cuts undone, for the summary */
	unsigned grown, shrunk; /* times, for the summary */
	unsigned low, high;   /* the lowest and highest limit since growing
	                         first stopped (high: ever) */
};

/* What one interval showed. busy: the fraction of it the loop thread
   was running or runnable (negative: unknown); full: the fraction with
   the window full; rtt_ms and samples: the 10th percentile of the
   round trips of the first attempts answered in it (cds_rtt_percentile)
   and how many there were; rate: those a second. */
struct cds_window_obs {
	double busy, full, rtt_ms;
	uint64_t samples;
	double rate; /* answers a second (samples over the interval) */
};

/* Round trips counted by size: bucket i holds those under
   CDS_RTT_BUCKET0_MS × 2^((i + 1) / 4) (steps of 19%), the first also
   all shorter, the last all longer (from ~10 s). */
#define CDS_RTT_BUCKETS 80
#define CDS_RTT_BUCKET0_MS 0.01

unsigned cds_rtt_bucket(double ms);

/* The round trip that a fraction p (0 < p ≤ 1) of those counted
   between two snapshots of the buckets (now − before) did not exceed:
   the upper bound of the bucket where the count reaches p, in ms. *n
   gets how many were counted; -1 when none. */
double cds_rtt_percentile(const uint64_t *now, const uint64_t *before,
			  double p, uint64_t *n);

/* 1 ≤ min ≤ max (adjusted to fit). */
void cds_window_init(struct cds_window *win, unsigned min, unsigned max);

/* One interval: returns the new limit. */
unsigned cds_window_update(struct cds_window *win,
			   const struct cds_window_obs *obs);

#endif
