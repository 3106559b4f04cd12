/*
 * NOTIFY(CDS) and NOTIFY(CSYNC) on the wire (RFC 9859 §4–5, RFC 1996,
 * STANDARDS §9): reading a packet a child's operator sent and writing
 * the answer. Pure functions over bytes, no sockets and no clock, so the
 * fuzz target and unit tests drive them directly; the daemon
 * (cli/daemon.c) owns the sockets and decides what to do.
 */
#ifndef CDS_SCANNER_NOTIFY_H
#define CDS_SCANNER_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dnssec.h"

#define SCAN_NOTIFY_MAX 65535 /* largest message read (TCP) */
#define SCAN_EDE_BLOCKED 15   /* RFC 8914 §4.16, N5 */
#define SCAN_EDE_NOT_AUTH 20  /* RFC 8914 "Not Authoritative" */

/* What a packet is, after scan_notify_parse. */
enum scan_notify_kind {
	SCAN_NOTIFY_OK = 0,     /* one NOTIFY, qtype CDS or CSYNC, class IN */
	SCAN_NOTIFY_DROP,       /* not worth an answer: QR=1, too short to
	                           carry an ID, or garbage (RFC 1035 §4.1.1) */
	SCAN_NOTIFY_FORMERR,    /* a query we can answer FORMERR: bad
	                           question section, QDCOUNT ≠ 1 (N3: a NOTIFY
	                           naming several zones is discarded — the
	                           caller drops it rather than answers) */
	SCAN_NOTIFY_NOTIMP,     /* opcode other than NOTIFY */
	SCAN_NOTIFY_WRONG_TYPE, /* NOTIFY for a type other than CDS/CSYNC
	                           (e.g. SOA): answered REFUSED */
};

struct scan_notify {
	enum scan_notify_kind kind;
	uint16_t id;
	uint16_t qtype;              /* 59 CDS or 62 CSYNC when OK */
	uint16_t qdcount;
	char zone[CDS_NAME_MAX];     /* lower case, trailing dot; "" unless
	                                the question could be read */
	bool has_edns;               /* OPT in the additional section */
	uint16_t edns_size;          /* its UDP size */
	size_t question_len;         /* bytes of the question section, for
	                                echoing it in the answer */
};

/*
 * Read a packet. Always fills *out (kind says what it is); never reads
 * past len. Returns 0, or CDS_EMALFORMED when kind is DROP.
 */
int scan_notify_parse(const uint8_t *pkt, size_t len, struct scan_notify *out);

/*
 * Write the answer to the packet `pkt` that parsed as `n`: the same ID
 * and question, QR=1, AA=1, opcode copied, `rcode` (0 NOERROR,
 * 1 FORMERR, 4 NOTIMP, 5 REFUSED), and when `ede` ≥ 0 an OPT with that
 * Extended DNS Error (RFC 8914) and `ede_text` (may be NULL); an OPT is
 * also added when the query had one. Returns the length written into
 * `buf` (size `cap`), or CDS_ELIMIT when it does not fit, CDS_EINVAL for
 * a kind DROP.
 */
int scan_notify_answer(const uint8_t *pkt, size_t len,
		       const struct scan_notify *n, int rcode, int ede,
		       const char *ede_text, uint8_t *buf, size_t cap);

#endif
