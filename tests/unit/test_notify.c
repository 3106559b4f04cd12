/*
 * Unit tests for scanner/notify.c and core/ratelimit.c: what the NOTIFY
 * listener reads and writes (RFC 9859 §4–5, RFC 1996, STANDARDS §9 N2,
 * N3, N5, N6). Packets are built here byte by byte; every parse is run on
 * a heap buffer of exactly the packet's length, so that ASan or valgrind
 * (.ci/run) catch a read past the end. The rate limiter runs on a driven
 * clock.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "core/ratelimit.h"
#include "scanner/notify.h"

/* "EXample.COM." in wire form, mixed case on purpose */
static const uint8_t QNAME[] = "\x07" "EXample" "\x03" "COM";
#define QNAME_LEN 13 /* with the root label */

struct pkt {
	uint8_t b[512];
	size_t len;
};

static void put16(struct pkt *p, unsigned v)
{
	p->b[p->len++] = (uint8_t)(v >> 8);
	p->b[p->len++] = (uint8_t)v;
}

static void put(struct pkt *p, const void *d, size_t n)
{
	memcpy(p->b + p->len, d, n);
	p->len += n;
}

/* header: ID 0x1234, opcode, RD=0, counts */
static void header(struct pkt *p, int opcode, unsigned qd, unsigned an,
		   unsigned ns, unsigned ar)
{
	p->len = 0;
	put16(p, 0x1234);
	p->b[p->len++] = (uint8_t)(opcode << 3);
	p->b[p->len++] = 0;
	put16(p, qd);
	put16(p, an);
	put16(p, ns);
	put16(p, ar);
}

static void question(struct pkt *p, unsigned type, unsigned class)
{
	put(p, QNAME, QNAME_LEN);
	put16(p, type);
	put16(p, class);
}

/* SOA in the answer section (RFC 1996 §3.7), owner compressed to the
   question name at offset 12 */
static void soa(struct pkt *p)
{
	static const uint8_t rdata[] = {
		0, 0, /* mname, rname: the root */
		0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5};

	put16(p, 0xc00c);
	put16(p, 6);
	put16(p, 1);
	put16(p, 0);
	put16(p, 3600);
	put16(p, sizeof rdata);
	put(p, rdata, sizeof rdata);
}

/* OPT with UDP size 4096 and one option (a cookie, 8 octets) */
static void opt(struct pkt *p)
{
	p->b[p->len++] = 0;
	put16(p, 41);
	put16(p, 4096);
	put16(p, 0);
	put16(p, 0);
	put16(p, 12);
	put16(p, 10);
	put16(p, 8);
	put(p, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
}

/* The usual NOTIFY(CDS): question, SOA, OPT. */
static void notify_cds(struct pkt *p)
{
	header(p, 4, 1, 1, 0, 1);
	question(p, 59, 1);
	soa(p);
	opt(p);
}

/* With CDSCAN_SEED_DIR set, every whole packet parsed here is written
   there, named by its FNV-1a hash: the fuzz target's seeds
   (tests/fuzz/fuzz_notify.c). */
static void seed_write(const struct pkt *p)
{
	const char *dir = getenv("CDSCAN_SEED_DIR");
	uint64_t h = 0xcbf29ce484222325ULL;
	char path[4096];
	FILE *fp;

	if (!dir)
		return;
	for (size_t i = 0; i < p->len; i++)
		h = (h ^ p->b[i]) * 0x100000001b3ULL;
	snprintf(path, sizeof path, "%s/%016llx", dir, (unsigned long long)h);
	ck_assert_ptr_nonnull(fp = fopen(path, "wb"));
	ck_assert_uint_eq(fwrite(p->b, 1, p->len, fp), p->len);
	fclose(fp);
}

/* Parse from a heap copy of exactly `len` bytes of p. */
static int parse(const struct pkt *p, size_t len, struct scan_notify *n)
{
	uint8_t *copy = malloc(len ? len : 1);
	int rc;

	if (len == p->len)
		seed_write(p);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, p->b, len);
	rc = scan_notify_parse(copy, len, n);
	free(copy);
	return rc;
}

START_TEST(test_notify_cds_ok)
{
	struct pkt p;
	struct scan_notify n;

	notify_cds(&p);
	ck_assert_int_eq(parse(&p, p.len, &n), 0);
	ck_assert_int_eq(n.kind, SCAN_NOTIFY_OK);
	ck_assert_uint_eq(n.id, 0x1234);
	ck_assert_uint_eq(n.qtype, 59);
	ck_assert_uint_eq(n.qdcount, 1);
	ck_assert_str_eq(n.zone, "example.com.");
	ck_assert(n.has_edns);
	ck_assert_uint_eq(n.edns_size, 4096);
	ck_assert_uint_eq(n.question_len, QNAME_LEN + 4);
}
END_TEST

/* N2: NOTIFY(CSYNC) is qtype 62, also without SOA or OPT */
START_TEST(test_notify_csync_bare)
{
	struct pkt p;
	struct scan_notify n;

	header(&p, 4, 1, 0, 0, 0);
	question(&p, 62, 1);
	ck_assert_int_eq(parse(&p, p.len, &n), 0);
	ck_assert_int_eq(n.kind, SCAN_NOTIFY_OK);
	ck_assert_uint_eq(n.qtype, 62);
	ck_assert(!n.has_edns);
}
END_TEST

START_TEST(test_notify_kinds)
{
	static const struct {
		const char *what;
		int opcode;
		unsigned qd, type, class;
		bool qr;
		enum scan_notify_kind kind;
	} t[] = {
		{"NOTIFY(SOA)", 4, 1, 6, 1, false, SCAN_NOTIFY_WRONG_TYPE},
		{"NOTIFY(CDNSKEY): CDS covers it", 4, 1, 60, 1, false,
		 SCAN_NOTIFY_WRONG_TYPE},
		{"class CH", 4, 1, 59, 3, false, SCAN_NOTIFY_WRONG_TYPE},
		{"QUERY", 0, 1, 59, 1, false, SCAN_NOTIFY_NOTIMP},
		{"UPDATE", 5, 1, 6, 1, false, SCAN_NOTIFY_NOTIMP},
		{"no question", 4, 0, 59, 1, false, SCAN_NOTIFY_FORMERR},
		{"a response", 4, 1, 59, 1, true, SCAN_NOTIFY_DROP},
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct pkt p;
		struct scan_notify n;
		int rc;

		header(&p, t[i].opcode, t[i].qd, 0, 0, 0);
		if (t[i].qr)
			p.b[2] |= 0x80;
		question(&p, t[i].type, t[i].class);
		rc = parse(&p, p.len, &n);
		ck_assert_msg(n.kind == t[i].kind, "%s: kind %d", t[i].what,
			      n.kind);
		ck_assert_int_eq(rc, t[i].kind == SCAN_NOTIFY_DROP
					     ? CDS_EMALFORMED
					     : 0);
	}
}
END_TEST

/* STANDARDS N3 T: NOTIFY naming two zones → dropped (FORMERR kind, with
   qdcount 2 for the caller to see) */
START_TEST(test_notify_naming_two_zones_dropped)
{
	struct pkt p;
	struct scan_notify n;

	header(&p, 4, 2, 0, 0, 0);
	question(&p, 59, 1);
	put16(&p, 0xc00c);
	put16(&p, 59);
	put16(&p, 1);
	ck_assert_int_eq(parse(&p, p.len, &n), 0);
	ck_assert_int_eq(n.kind, SCAN_NOTIFY_FORMERR);
	ck_assert_uint_eq(n.qdcount, 2);
	ck_assert_uint_eq(n.question_len, 0);
}
END_TEST

START_TEST(test_notify_compression_refused)
{
	struct pkt p;
	struct scan_notify n;

	/* a pointer to itself */
	header(&p, 4, 1, 0, 0, 0);
	put16(&p, 0xc00c);
	put16(&p, 59);
	put16(&p, 1);
	ck_assert_int_eq(parse(&p, p.len, &n), 0);
	ck_assert_int_eq(n.kind, SCAN_NOTIFY_FORMERR);
	ck_assert_str_eq(n.zone, "");

	/* a pointer into the header */
	header(&p, 4, 1, 0, 0, 0);
	put16(&p, 0xc002);
	put16(&p, 59);
	put16(&p, 1);
	parse(&p, p.len, &n);
	ck_assert_int_eq(n.kind, SCAN_NOTIFY_FORMERR);

	/* a forward pointer */
	header(&p, 4, 1, 0, 0, 0);
	put16(&p, 0xc012);
	put16(&p, 59);
	put16(&p, 1);
	put(&p, QNAME, QNAME_LEN);
	parse(&p, p.len, &n);
	ck_assert_int_eq(n.kind, SCAN_NOTIFY_FORMERR);

	/* a loop in the answer section: label, then a pointer back to it */
	header(&p, 4, 1, 1, 0, 0);
	question(&p, 59, 1);
	put(&p, "\x01x", 2);
	put16(&p, 0xc000 | (unsigned)(p.len - 2));
	put16(&p, 6);
	put16(&p, 1);
	put16(&p, 0);
	put16(&p, 0);
	put16(&p, 0);
	parse(&p, p.len, &n);
	ck_assert_int_eq(n.kind, SCAN_NOTIFY_FORMERR);

	/* a chain of pointers that goes back up: 2 → 1 → 2 */
	header(&p, 4, 1, 1, 0, 0);
	question(&p, 59, 1);
	{
		size_t a = p.len;

		put(&p, "\x01y", 2);
		put16(&p, 0xc000 | (unsigned)(a + 4)); /* → b */
		put(&p, "\x01z", 2);                   /* b */
		put16(&p, 0xc000 | (unsigned)a);       /* → a */
	}
	put16(&p, 6);
	put16(&p, 1);
	put16(&p, 0);
	put16(&p, 0);
	put16(&p, 0);
	parse(&p, p.len, &n);
	ck_assert_int_eq(n.kind, SCAN_NOTIFY_FORMERR);
}
END_TEST

START_TEST(test_notify_names)
{
	struct pkt p;
	struct scan_notify n;
	uint8_t long_label[64];

	/* a dot and a space inside a label come out as \DDD */
	header(&p, 4, 1, 0, 0, 0);
	put(&p, "\x03" "a.B" "\x02" "c " "\x00", 8);
	put16(&p, 59);
	put16(&p, 1);
	parse(&p, p.len, &n);
	ck_assert_int_eq(n.kind, SCAN_NOTIFY_OK);
	ck_assert_str_eq(n.zone, "a\\046b.c\\032.");

	/* the root */
	header(&p, 4, 1, 0, 0, 0);
	put(&p, "\x00", 1);
	put16(&p, 59);
	put16(&p, 1);
	parse(&p, p.len, &n);
	ck_assert_str_eq(n.zone, ".");

	/* over 255 octets: four labels of 63 + root = 257 */
	header(&p, 4, 1, 0, 0, 0);
	long_label[0] = 63;
	memset(long_label + 1, 'a', 63);
	for (int i = 0; i < 4; i++)
		put(&p, long_label, 64);
	put(&p, "\x00", 1);
	put16(&p, 59);
	put16(&p, 1);
	parse(&p, p.len, &n);
	ck_assert_int_eq(n.kind, SCAN_NOTIFY_FORMERR);

	/* an extended label type (0x40) */
	header(&p, 4, 1, 0, 0, 0);
	put(&p, "\x41" "a" "\x00", 3);
	put16(&p, 59);
	put16(&p, 1);
	parse(&p, p.len, &n);
	ck_assert_int_eq(n.kind, SCAN_NOTIFY_FORMERR);
}
END_TEST

START_TEST(test_notify_edns)
{
	struct pkt p;
	struct scan_notify n;

	/* two OPTs: RFC 6891 §6.1.1 FORMERR */
	header(&p, 4, 1, 0, 0, 2);
	question(&p, 59, 1);
	opt(&p);
	opt(&p);
	parse(&p, p.len, &n);
	ck_assert_int_eq(n.kind, SCAN_NOTIFY_FORMERR);
	ck_assert(!n.has_edns);
	ck_assert_str_eq(n.zone, "example.com."); /* still echoed */

	/* OPT in the answer section */
	header(&p, 4, 1, 1, 0, 0);
	question(&p, 59, 1);
	opt(&p);
	parse(&p, p.len, &n);
	ck_assert_int_eq(n.kind, SCAN_NOTIFY_FORMERR);

	/* an option longer than the rdata */
	header(&p, 4, 1, 0, 0, 1);
	question(&p, 59, 1);
	opt(&p);
	p.b[p.len - 9] = 9; /* option length 8 → 9 */
	parse(&p, p.len, &n);
	ck_assert_int_eq(n.kind, SCAN_NOTIFY_FORMERR);

	/* OPT with an owner other than the root */
	header(&p, 4, 1, 0, 0, 1);
	question(&p, 59, 1);
	put16(&p, 0xc00c);
	put16(&p, 41);
	put16(&p, 1232);
	put16(&p, 0);
	put16(&p, 0);
	put16(&p, 0);
	parse(&p, p.len, &n);
	ck_assert_int_eq(n.kind, SCAN_NOTIFY_FORMERR);
}
END_TEST

/* Every prefix of a good packet: never OK, never a read past the end
   (the heap copy is exactly that long), DROP below a header. */
START_TEST(test_notify_truncated_everywhere)
{
	struct pkt p;
	struct scan_notify n;

	notify_cds(&p);
	for (size_t l = 0; l < p.len; l++) {
		int rc = parse(&p, l, &n);

		if (l < 12) {
			ck_assert_int_eq(rc, CDS_EMALFORMED);
			ck_assert_int_eq(n.kind, SCAN_NOTIFY_DROP);
		} else {
			ck_assert_int_eq(rc, 0);
			ck_assert_msg(n.kind == SCAN_NOTIFY_FORMERR,
				      "length %zu: kind %d", l, n.kind);
		}
		ck_assert_uint_eq(n.id, l >= 2 ? 0x1234 : 0);
	}
}
END_TEST

static const uint8_t ANSWER_Q[] = {
	0x12, 0x34, 0xa4, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
	7, 'E', 'X', 'a', 'm', 'p', 'l', 'e', 3, 'C', 'O', 'M', 0,
	0, 59, 0, 1};

/* RFC 1996 §4.7: same ID, question echoed as sent, QR=1, AA=1, opcode
   NOTIFY; no OPT when the query had none and no EDE is asked */
START_TEST(test_notify_answer_plain)
{
	struct pkt p;
	struct scan_notify n;
	uint8_t buf[512];
	int len;

	header(&p, 4, 1, 0, 0, 0);
	question(&p, 59, 1);
	parse(&p, p.len, &n);
	len = scan_notify_answer(p.b, p.len, &n, 0, -1, NULL, buf, sizeof buf);
	ck_assert_int_eq(len, sizeof ANSWER_Q);
	ck_assert_mem_eq(buf, ANSWER_Q, sizeof ANSWER_Q);

	/* REFUSED for NOTIFY(SOA) keeps the question */
	header(&p, 4, 1, 0, 0, 0);
	question(&p, 6, 1);
	parse(&p, p.len, &n);
	len = scan_notify_answer(p.b, p.len, &n, 5, -1, NULL, buf, sizeof buf);
	ck_assert_int_eq(len, sizeof ANSWER_Q);
	ck_assert_uint_eq(buf[3], 5);
	ck_assert_uint_eq(buf[26], 6);

	/* FORMERR for two questions echoes none */
	header(&p, 4, 2, 0, 0, 0);
	question(&p, 59, 1);
	question(&p, 59, 1);
	parse(&p, p.len, &n);
	len = scan_notify_answer(p.b, p.len, &n, 1, -1, NULL, buf, sizeof buf);
	ck_assert_int_eq(len, 12);
	ck_assert_mem_eq(buf, "\x12\x34\xa4\x01\0\0\0\0\0\0\0\0", 12);

	/* NOTIMP for a QUERY copies its opcode and RD */
	header(&p, 0, 1, 0, 0, 0);
	p.b[2] |= 0x01;
	question(&p, 59, 1);
	parse(&p, p.len, &n);
	len = scan_notify_answer(p.b, p.len, &n, 4, -1, NULL, buf, sizeof buf);
	ck_assert_int_eq(len, sizeof ANSWER_Q);
	ck_assert_uint_eq(buf[2], 0x85);
	ck_assert_uint_eq(buf[3], 4);

	/* NOTIMP for an UPDATE with EDNS: the answer has an OPT too */
	header(&p, 5, 1, 0, 0, 1);
	question(&p, 6, 1);
	opt(&p);
	parse(&p, p.len, &n);
	ck_assert_int_eq(n.kind, SCAN_NOTIFY_NOTIMP);
	ck_assert(n.has_edns);
	len = scan_notify_answer(p.b, p.len, &n, 4, -1, NULL, buf, sizeof buf);
	ck_assert_int_eq(len, (int)sizeof ANSWER_Q + 11);
	ck_assert_uint_eq(buf[2], 0xac);
	ck_assert_uint_eq(buf[11], 1);
}
END_TEST

/* N5: a throttled NOTIFY answered with EDE 15 (RFC 8914 §4.16), encoded
   exactly: OPT owner root, type 41, class 1232, TTL 0, rdlength, then
   option 15, length 2 + text, INFO-CODE, text without a NUL. The
   question came compressed-free; the SOA and cookie are not echoed. */
START_TEST(test_notify_answer_ede_exact)
{
	static const uint8_t want_opt[] = {
		0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 18,
		0, 15, 0, 14, 0, 15,
		'r', 'a', 't', 'e', ' ', 'l', 'i', 'm', 'i', 't', 'e'};
	struct pkt p;
	struct scan_notify n;
	uint8_t buf[512];
	size_t want_len = sizeof ANSWER_Q + sizeof want_opt + 1;
	int len;

	notify_cds(&p);
	parse(&p, p.len, &n);
	len = scan_notify_answer(p.b, p.len, &n, 5, SCAN_EDE_BLOCKED,
				 "rate limited", buf, sizeof buf);
	ck_assert_int_eq(len, (int)want_len);
	ck_assert_mem_eq(buf, "\x12\x34\xa4\x05\0\1\0\0\0\0\0\1", 12);
	ck_assert_mem_eq(buf + 12, ANSWER_Q + 12, sizeof ANSWER_Q - 12);
	ck_assert_mem_eq(buf + sizeof ANSWER_Q, want_opt, sizeof want_opt);
	ck_assert_uint_eq(buf[want_len - 1], 'd');

	/* EDE with no text: option length 2 */
	len = scan_notify_answer(p.b, p.len, &n, 5, SCAN_EDE_NOT_AUTH, NULL,
				 buf, sizeof buf);
	ck_assert_int_eq(len, (int)sizeof ANSWER_Q + 11 + 6);
	ck_assert_mem_eq(buf + sizeof ANSWER_Q,
			 "\0\0\x29\x04\xd0\0\0\0\0\0\x06\0\x0f\0\x02\0\x14", 17);

	/* the query had an OPT: the answer has one, without options */
	len = scan_notify_answer(p.b, p.len, &n, 0, -1, NULL, buf, sizeof buf);
	ck_assert_int_eq(len, (int)sizeof ANSWER_Q + 11);
	ck_assert_mem_eq(buf + sizeof ANSWER_Q,
			 "\0\0\x29\x04\xd0\0\0\0\0\0\0", 11);
}
END_TEST

START_TEST(test_notify_answer_refuses)
{
	struct pkt p;
	struct scan_notify n;
	uint8_t buf[512];
	int full;

	notify_cds(&p);
	parse(&p, p.len, &n);
	full = scan_notify_answer(p.b, p.len, &n, 5, 15, "x", buf, sizeof buf);
	ck_assert_int_gt(full, 0);
	for (int cap = 0; cap < full; cap++)
		ck_assert_int_eq(scan_notify_answer(p.b, p.len, &n, 5, 15, "x",
						    buf, (size_t)cap),
				 CDS_ELIMIT);
	ck_assert_int_eq(scan_notify_answer(p.b, p.len, &n, 16, -1, NULL, buf,
					    sizeof buf),
			 CDS_EINVAL);
	ck_assert_int_eq(scan_notify_answer(p.b, p.len, &n, 0, 65536, NULL,
					    buf, sizeof buf),
			 CDS_EINVAL);
	p.b[2] |= 0x80;
	parse(&p, p.len, &n);
	ck_assert_int_eq(n.kind, SCAN_NOTIFY_DROP);
	ck_assert_int_eq(scan_notify_answer(p.b, p.len, &n, 1, -1, NULL, buf,
					    sizeof buf),
			 CDS_EINVAL);
}
END_TEST

/* N6: rate limits per key, on a driven clock */
START_TEST(test_ratelimit_burst_and_refill)
{
	struct cds_ratelimit *rl = cds_ratelimit_new(2, 3, 16);
	int64_t t = 1000000;

	ck_assert_ptr_nonnull(rl);
	for (int i = 0; i < 3; i++)
		ck_assert(cds_ratelimit_take(rl, "a", 1, t));
	ck_assert(!cds_ratelimit_take(rl, "a", 1, t));
	ck_assert(!cds_ratelimit_take(rl, "a", 1, t + 499));
	ck_assert(cds_ratelimit_take(rl, "a", 1, t + 500)); /* 2/s */
	ck_assert(!cds_ratelimit_take(rl, "a", 1, t + 500));
	/* another key is not touched by a's flood */
	ck_assert(cds_ratelimit_take(rl, "b", 1, t + 500));
	/* a long pause refills to the burst, no more */
	for (int i = 0; i < 3; i++)
		ck_assert(cds_ratelimit_take(rl, "a", 1, t + 100000));
	ck_assert(!cds_ratelimit_take(rl, "a", 1, t + 100000));
	/* a clock that goes back refills nothing */
	ck_assert(!cds_ratelimit_take(rl, "a", 1, t));
	/* keys are bytes: "a" and "a\0" differ */
	ck_assert(cds_ratelimit_take(rl, "a\0", 2, t + 100000));
	ck_assert_uint_eq(cds_ratelimit_size(rl), 3);
	cds_ratelimit_free(rl);
}
END_TEST

START_TEST(test_ratelimit_lru_reuse)
{
	struct cds_ratelimit *rl = cds_ratelimit_new(1, 1, 2);

	ck_assert(cds_ratelimit_take(rl, "a", 1, 0));
	ck_assert(cds_ratelimit_take(rl, "b", 1, 0));
	ck_assert(!cds_ratelimit_take(rl, "a", 1, 0)); /* a newest now */
	ck_assert(cds_ratelimit_take(rl, "c", 1, 0));  /* b forgotten */
	ck_assert_uint_eq(cds_ratelimit_size(rl), 2);
	ck_assert(!cds_ratelimit_take(rl, "a", 1, 0)); /* still held */
	ck_assert(!cds_ratelimit_take(rl, "c", 1, 0));
	ck_assert(cds_ratelimit_take(rl, "b", 1, 0)); /* starts full */
	cds_ratelimit_free(rl);
	ck_assert_ptr_null(cds_ratelimit_new(0, 1, 1));
	ck_assert_ptr_null(cds_ratelimit_new(1, 0.5, 1));
	ck_assert_ptr_null(cds_ratelimit_new(1, 1, 0));
	cds_ratelimit_free(NULL);
}
END_TEST

/* A flood of distinct keys (addresses of a spoofed flood) stays within
   max_keys, and the keys of the last max_keys takes are all held. */
START_TEST(test_ratelimit_many_keys_bounded)
{
	struct cds_ratelimit *rl = cds_ratelimit_new(1, 1, 1000);
	uint8_t key[255];

	memset(key, 0xab, sizeof key);
	for (uint32_t i = 0; i < 100000; i++) {
		memcpy(key, &i, sizeof i);
		ck_assert(cds_ratelimit_take(rl, key, sizeof key, 5));
		ck_assert_uint_le(cds_ratelimit_size(rl), 1000);
	}
	ck_assert_uint_eq(cds_ratelimit_size(rl), 1000);
	for (uint32_t i = 100000 - 1000; i < 100000; i++) {
		memcpy(key, &i, sizeof i);
		ck_assert(!cds_ratelimit_take(rl, key, sizeof key, 5));
	}
	cds_ratelimit_free(rl);
}
END_TEST

static Suite *notify_suite(void)
{
	Suite *s = suite_create("notify");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_notify_cds_ok);
	tcase_add_test(tc, test_notify_csync_bare);
	tcase_add_test(tc, test_notify_kinds);
	tcase_add_test(tc, test_notify_naming_two_zones_dropped);
	tcase_add_test(tc, test_notify_compression_refused);
	tcase_add_test(tc, test_notify_names);
	tcase_add_test(tc, test_notify_edns);
	tcase_add_test(tc, test_notify_truncated_everywhere);
	suite_add_tcase(s, tc);
	tc = tcase_create("answer");
	tcase_add_test(tc, test_notify_answer_plain);
	tcase_add_test(tc, test_notify_answer_ede_exact);
	tcase_add_test(tc, test_notify_answer_refuses);
	suite_add_tcase(s, tc);
	tc = tcase_create("ratelimit");
	tcase_add_test(tc, test_ratelimit_burst_and_refill);
	tcase_add_test(tc, test_ratelimit_lru_reuse);
	tcase_add_test(tc, test_ratelimit_many_keys_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(notify_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
