/*
 * Fuzz target: one NOTIFY packet as a stranger may send it to the
 * daemon's listener (scanner/notify.c), over UDP or TCP. The packet goes
 * through scan_notify_parse, then, unless it is to be dropped, through
 * scan_notify_answer with every RCODE the listener uses, with and without
 * an Extended DNS Error, into a buffer of full size and one that is too
 * small; then its zone (or source-like prefix) through the rate limiter
 * the listener keeps, with a clock that advances per input so that
 * buckets refill and the LRU reuse runs. Aborts when a parse result is
 * inconsistent, or when an answer, with QR cleared, does not read back
 * as the same ID and question.
 *
 * Seeds: the packets of tests/unit/test_notify.c, written by
 *   CK_FORK=no CDSCAN_SEED_DIR=tests/fuzz/corpus/notify \
 *     BUILD/tests/unit/test_notify
 */
#include <stdlib.h>
#include <string.h>

#include "core/dnssec.h"
#include "core/errors.h"
#include "core/ratelimit.h"
#include "scanner/notify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cds_ratelimit *rl;
static int64_t now_ms;

static void check_parsed(const struct scan_notify *n, size_t size, int rc)
{
	uint8_t wire[CDS_WIRE_NAME_MAX];
	size_t wl;

	if ((rc == CDS_EMALFORMED) != (n->kind == SCAN_NOTIFY_DROP) ||
	    (rc != 0 && rc != CDS_EMALFORMED))
		abort();
	if (!memchr(n->zone, '\0', sizeof n->zone))
		abort();
	if (n->question_len > 0 &&
	    (size < 12 + n->question_len || n->question_len < 5 ||
	     !n->zone[0] || cds_name_to_wire(n->zone, wire, &wl) != 0 ||
	     wl + 4 > n->question_len))
		abort(); /* the zone must read back as a name we can use */
	if (n->kind == SCAN_NOTIFY_OK &&
	    (n->qdcount != 1 || n->question_len == 0 ||
	     (n->qtype != 59 && n->qtype != 62)))
		abort();
	if (!n->has_edns && n->edns_size)
		abort();
}

/* The answer, with QR cleared, must read back as our ID and question. */
static void check_answer(const uint8_t *ans, size_t len,
			 const struct scan_notify *n, int rcode)
{
	uint8_t *copy = malloc(len);
	struct scan_notify back;

	if (!copy)
		return;
	memcpy(copy, ans, len);
	if (len < 12 || !(copy[2] & 0x80) || !(copy[2] & 0x04) ||
	    (copy[3] & 0x0f) != rcode)
		abort();
	copy[2] &= 0x7f;
	scan_notify_parse(copy, len, &back);
	if (back.id != n->id || strcmp(back.zone, n->zone) != 0 ||
	    (n->question_len > 0 && back.qtype != n->qtype) ||
	    back.qdcount != (n->question_len > 0))
		abort();
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int rcodes[] = {0, 1, 4, 5};
	static const int edes[] = {-1, SCAN_EDE_BLOCKED, SCAN_EDE_NOT_AUTH};
	struct scan_notify n;
	uint8_t buf[1024];
	int rc, len;

	if (!rl && !(rl = cds_ratelimit_new(10, 3, 64)))
		abort();
	if (size > SCAN_NOTIFY_MAX)
		return 0;
	rc = scan_notify_parse(data, size, &n);
	check_parsed(&n, size, rc);
	now_ms += 37;
	/* the listener keys by zone and by source; a prefix stands in for
	   the source address */
	cds_ratelimit_take(rl, n.zone, strlen(n.zone), now_ms);
	cds_ratelimit_take(rl, data, size < 16 ? size : 16, now_ms);
	if (cds_ratelimit_size(rl) > 64)
		abort();
	for (size_t r = 0; r < sizeof rcodes / sizeof *rcodes; r++)
		for (size_t e = 0; e < sizeof edes / sizeof *edes; e++) {
			const char *text = edes[e] < 0 ? NULL : "rate limited";

			len = scan_notify_answer(data, size, &n, rcodes[r],
						 edes[e], text, buf,
						 sizeof buf);
			if (n.kind == SCAN_NOTIFY_DROP) {
				if (len != CDS_EINVAL)
					abort();
				continue;
			}
			if (len < 12 || (size_t)len > sizeof buf)
				abort();
			check_answer(buf, (size_t)len, &n, rcodes[r]);
			if (scan_notify_answer(data, size, &n, rcodes[r],
					       edes[e], text, buf,
					       (size_t)len - 1) != CDS_ELIMIT)
				abort();
		}
	return 0;
}
