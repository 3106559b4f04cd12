/* The in-flight limit of a scan: see core/window.h. */
#include <math.h>

#include "core/window.h"

unsigned cds_rtt_bucket(double ms)
{
	double b;

	if (!(ms > CDS_RTT_BUCKET0_MS))
		return 0;
	b = 4.0 * log2(ms / CDS_RTT_BUCKET0_MS);
	return b >= CDS_RTT_BUCKETS - 1 ? CDS_RTT_BUCKETS - 1 : (unsigned)b;
}

double cds_rtt_percentile(const uint64_t *now, const uint64_t *before,
			  double p, uint64_t *n)
{
	uint64_t total = 0, acc = 0;

	for (unsigned i = 0; i < CDS_RTT_BUCKETS; i++)
		total += now[i] - before[i];
	*n = total;
	if (total == 0)
		return -1;
	for (unsigned i = 0; i < CDS_RTT_BUCKETS; i++) {
		acc += now[i] - before[i];
		if ((double)acc >= p * (double)total)
			return CDS_RTT_BUCKET0_MS * exp2((double)(i + 1) / 4.0);
	}
	return CDS_RTT_BUCKET0_MS * exp2((double)CDS_RTT_BUCKETS / 4.0);
}

void cds_window_init(struct cds_window *win, unsigned min, unsigned max)
{
	if (max < 1)
		max = 1;
	if (min < 1)
		min = 1;
	if (min > max)
		min = max;
	*win = (struct cds_window){
		.min = min,
		.max = max,
		.idle_min = 0.10,
		.busy_max = 0.95,
		.full_min = 0.5,
		.queue_ms = 5.0,
		.min_samples = 32,
		.hold_off = 20,
		.limit = min,
		.low = min,
		.high = min,
	};
}

static void set_limit(struct cds_window *win, double limit)
{
	unsigned l;

	if (limit < (double)win->min)
		l = win->min;
	else if (limit > (double)win->max)
		l = win->max;
	else
		l = (unsigned)limit;
	if (l > win->limit)
		win->grown++;
	else if (l < win->limit) {
		win->shrunk++;
		win->settling = true;
		if (win->shrunk == 1 || l < win->low)
			win->low = l;
	}
	win->limit = l;
	if (l > win->high)
		win->high = l;
}

unsigned cds_window_update(struct cds_window *win,
			   const struct cds_window_obs *obs)
{
	bool judged = obs->samples >= win->min_samples && obs->rtt_ms >= 0;
	double queued;

	if (!judged && obs->busy < 0)
		return win->limit;
	if (judged && (win->base == 0 || obs->rtt_ms < win->base))
		win->base = obs->rtt_ms;
	if (win->settling) {
		win->settling = false;
		return win->limit;
	}
	if (win->cut_from && judged) {
		unsigned from = win->cut_from;

		win->cut_from = 0;
		if (obs->rtt_ms > 0.9 * win->cut_rtt ||
		    (obs->full >= win->full_min &&
		     obs->rate < 0.9 * win->cut_rate)) {
			win->undone++;
			win->held = win->hold_off;
			set_limit(win, (double)from);
			return win->limit;
		}
	}
	if (win->held)
		win->held--;
	queued = judged ? obs->rtt_ms - win->base : -1;
	if (obs->full >= win->full_min &&
	    ((judged && queued < win->queue_ms / 2) ||
	     (obs->busy >= 0 && obs->busy < 1.0 - win->idle_min)))
		set_limit(win, (double)win->limit * 1.5 + 1);
	else if (judged && !win->held && obs->busy >= win->busy_max &&
		 queued > win->queue_ms) {
		double f = (win->base + win->queue_ms) / obs->rtt_ms;
		unsigned from = win->limit;

		set_limit(win, (double)win->limit * (f < 0.5 ? 0.5 : f));
		if (win->limit < from) {
			win->cut_from = from;
			win->cut_rtt = obs->rtt_ms;
			win->cut_rate = obs->rate;
		}
	}
	return win->limit;
}
