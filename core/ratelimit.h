/*
 * Token buckets per key (a source address, a zone name), in a table of
 * bounded size: N6 of STANDARDS §9 (RFC 9859 §5, rate-limit NOTIFY per
 * source and per zone). Time is an argument (milliseconds, any
 * monotonic origin), so tests drive it. When the table is full, the
 * least recently used bucket is reused (a forgotten key starts full,
 * which errs on the side of answering; the table size bounds memory
 * under a flood of distinct keys).
 */
#ifndef CDS_CORE_RATELIMIT_H
#define CDS_CORE_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cds_ratelimit;

/* rate per second (> 0), burst (≥ 1) tokens, at most `max_keys` keys
   (≥ 1). NULL when out of memory. */
struct cds_ratelimit *cds_ratelimit_new(double rate, double burst,
					size_t max_keys);
void cds_ratelimit_free(struct cds_ratelimit *rl);

/* Take one token for `key` (bytes, len ≤ 255) at `now_ms`: true when
   allowed, false when throttled. */
bool cds_ratelimit_take(struct cds_ratelimit *rl, const void *key,
			size_t len, int64_t now_ms);

/* Keys held now (for metrics and tests). */
size_t cds_ratelimit_size(const struct cds_ratelimit *rl);

#endif
