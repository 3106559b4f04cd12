/*
 * NOTIFY(CDS) and NOTIFY(CSYNC) on the wire (RFC 9859 §4–5, RFC 1996,
 * STANDARDS §9): the daemon hands every datagram and TCP message a
 * stranger sent to scan_notify_parse, which says what the packet is
 * without trusting a single count or pointer in it, and writes the answer
 * with scan_notify_answer. Both work over bytes by hand (no ldns): the
 * parser reads only what it needs — the header, one question, and the
 * record headers on the way to an OPT in the additional section — and
 * every read is checked against the length first.
 */
#include <stdio.h>
#include <string.h>

#include "core/errors.h"
#include "scanner/notify.h"

#define HDR_LEN 12
#define OPCODE_NOTIFY 4
#define TYPE_OPT 41
#define TYPE_CDS 59
#define TYPE_CSYNC 62
#define CLASS_IN 1
#define EDNS_OPT_EDE 15 /* RFC 8914 §2 */
#define ANSWER_UDP_SIZE 1232 /* the DNS flag day 2020 figure */
/* A name of 255 octets has at most 127 labels; more jumps than labels
   can only be a loop, which the rule in name_read already refuses. */
#define NAME_JUMPS_MAX 128

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/*
 * Read the (possibly compressed) name at *pos into `wire`, uncompressed
 * and with the case it was sent in. A compression pointer must point
 * to a prior occurrence (RFC 1035 §4.1.4) after the header: before the
 * name's start, and each further one before the previous target. The
 * targets strictly decrease, so no loop can be built; the jump count and
 * the 255-octet limit (RFC 1035 §2.3.4) bound the work anyway. *pos moves
 * past the name as it stands in the packet. Returns the wire length, or
 * CDS_EMALFORMED.
 */
static int name_read(const uint8_t *pkt, size_t len, size_t *pos,
		     uint8_t wire[CDS_WIRE_NAME_MAX])
{
	size_t p = *pos, out = 0, end = 0, limit = *pos;
	int jumps = 0;

	for (;;) {
		uint8_t c;

		if (p >= len)
			return CDS_EMALFORMED;
		c = pkt[p];
		if ((c & 0xc0) == 0xc0) {
			size_t to;

			if (p + 1 >= len || ++jumps > NAME_JUMPS_MAX)
				return CDS_EMALFORMED;
			to = (size_t)(c & 0x3f) << 8 | pkt[p + 1];
			if (to < HDR_LEN || to >= limit)
				return CDS_EMALFORMED;
			if (!end)
				end = p + 2;
			p = limit = to;
			continue;
		}
		if (c & 0xc0) /* 0x40 and 0x80: extended labels, none defined */
			return CDS_EMALFORMED;
		if (out + 1 + c > CDS_WIRE_NAME_MAX || p + 1 + c > len)
			return CDS_EMALFORMED;
		memcpy(wire + out, pkt + p, 1 + (size_t)c);
		out += 1 + (size_t)c;
		p += 1 + (size_t)c;
		if (c == 0)
			break;
	}
	*pos = end ? end : p;
	return (int)out;
}

/*
 * Presentation form of a wire name, lower case, trailing dot; bytes other
 * than letters, digits, '-', '_' and '*' as \DDD (RFC 4343 §2.1) so that
 * cds_name_to_wire reads it back. CDS_ELIMIT when it does not fit: no
 * delegation we hold has such a name.
 */
static int name_text(const uint8_t *wire, char out[CDS_NAME_MAX])
{
	size_t o = 0, p = 0;

	if (wire[0] == 0) {
		strcpy(out, ".");
		return 0;
	}
	while (wire[p]) {
		uint8_t n = wire[p++];

		for (uint8_t i = 0; i < n; i++) {
			uint8_t c = wire[p++];

			if (c >= 'A' && c <= 'Z')
				c = (uint8_t)(c - 'A' + 'a');
			if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			    c == '-' || c == '_' || c == '*') {
				if (o + 1 >= CDS_NAME_MAX)
					return CDS_ELIMIT;
				out[o++] = (char)c;
			} else {
				if (o + 4 >= CDS_NAME_MAX)
					return CDS_ELIMIT;
				snprintf(out + o, 5, "\\%03u", c);
				o += 4;
			}
		}
		if (o + 1 >= CDS_NAME_MAX)
			return CDS_ELIMIT;
		out[o++] = '.';
	}
	out[o] = '\0';
	return 0;
}

/* Skip one resource record; an OPT (RFC 6891 §6.1) is noted in *n.
   CDS_EMALFORMED for anything that does not fit or a second OPT. */
static int rr_skip(const uint8_t *pkt, size_t len, size_t *pos,
		   bool additional, struct scan_notify *n)
{
	uint8_t wire[CDS_WIRE_NAME_MAX];
	int wl = name_read(pkt, len, pos, wire);
	size_t p = *pos, rdlen;
	uint16_t type;

	if (wl < 0 || p + 10 > len)
		return CDS_EMALFORMED;
	type = get16(pkt + p);
	rdlen = get16(pkt + p + 8);
	if (p + 10 + rdlen > len)
		return CDS_EMALFORMED;
	if (type == TYPE_OPT) {
		/* RFC 6891 §6.1.1: only in the additional section, owner
		   the root, at most one: FORMERR otherwise */
		if (!additional || n->has_edns || wl != 1)
			return CDS_EMALFORMED;
		/* its options must tile the rdata exactly */
		for (size_t o = 0; o < rdlen;) {
			if (o + 4 > rdlen ||
			    o + 4 + get16(pkt + p + 10 + o + 2) > rdlen)
				return CDS_EMALFORMED;
			o += 4 + get16(pkt + p + 10 + o + 2);
		}
		n->has_edns = true;
		n->edns_size = get16(pkt + p + 2);
	}
	*pos = p + 10 + rdlen;
	return 0;
}

static int parse_question(const uint8_t *pkt, size_t len,
			  struct scan_notify *out, uint16_t *qclass)
{
	uint8_t wire[CDS_WIRE_NAME_MAX];
	size_t pos = HDR_LEN;
	char zone[CDS_NAME_MAX];

	if (name_read(pkt, len, &pos, wire) < 0 || pos + 4 > len)
		return CDS_EMALFORMED;
	if (name_text(wire, zone) != 0)
		return CDS_EMALFORMED;
	memcpy(out->zone, zone, sizeof zone);
	out->qtype = get16(pkt + pos);
	*qclass = get16(pkt + pos + 2);
	out->question_len = pos + 4 - HDR_LEN;
	return 0;
}

int scan_notify_parse(const uint8_t *pkt, size_t len, struct scan_notify *out)
{
	uint16_t qclass = 0, counts[3];
	size_t pos;
	int opcode;

	memset(out, 0, sizeof *out);
	out->kind = SCAN_NOTIFY_DROP;
	if (len >= 2)
		out->id = get16(pkt);
	/* RFC 1035 §4.1.1: without a whole header there is nothing to answer;
	   a response (QR=1) is never answered, or two servers could play
	   ping-pong through us */
	if (len < HDR_LEN || (pkt[2] & 0x80))
		return CDS_EMALFORMED;
	opcode = (pkt[2] >> 3) & 0x0f;
	out->qdcount = get16(pkt + 4);
	for (int i = 0; i < 3; i++)
		counts[i] = get16(pkt + 6 + 2 * i);

	if (out->qdcount != 1) {
		/* RFC 9859 §4.3 (N3): the caller drops one naming several
		   zones; with none there is no zone to talk about */
		out->kind = opcode == OPCODE_NOTIFY ? SCAN_NOTIFY_FORMERR
						    : SCAN_NOTIFY_NOTIMP;
		return 0;
	}
	if (parse_question(pkt, len, out, &qclass) != 0) {
		memset(out->zone, 0, sizeof out->zone);
		out->question_len = 0;
		out->qtype = 0;
		out->kind = opcode == OPCODE_NOTIFY ? SCAN_NOTIFY_FORMERR
						    : SCAN_NOTIFY_NOTIMP;
		return 0;
	}
	/* RFC 1996 §3.7 allows an SOA in the answer section: walk past the
	   answer and authority records to reach the OPT (an answer carries
	   one when the query did, RFC 6891 §7). Each record takes at least
	   11 octets, so the walk ends within len/11 steps. */
	pos = HDR_LEN + out->question_len;
	for (int s = 0; s < 3; s++)
		for (unsigned i = 0; i < counts[s]; i++)
			if (rr_skip(pkt, len, &pos, s == 2, out) != 0) {
				out->kind = opcode == OPCODE_NOTIFY
						    ? SCAN_NOTIFY_FORMERR
						    : SCAN_NOTIFY_NOTIMP;
				out->has_edns = false;
				out->edns_size = 0;
				return 0;
			}
	if (opcode != OPCODE_NOTIFY) {
		out->kind = SCAN_NOTIFY_NOTIMP;
		return 0;
	}
	/* RFC 9859 §4 (N2): only CDS (which covers CDNSKEY) and CSYNC are
	   ours; a NOTIFY(SOA) or another class is a misdirected one */
	if (qclass != CLASS_IN ||
	    (out->qtype != TYPE_CDS && out->qtype != TYPE_CSYNC))
		out->kind = SCAN_NOTIFY_WRONG_TYPE;
	else
		out->kind = SCAN_NOTIFY_OK;
	return 0;
}

/* The OPT record (RFC 6891 §6.1.2) with an Extended DNS Error option
   (RFC 8914 §2) when ede ≥ 0. Returns its length or CDS_ELIMIT. */
static int opt_write(uint8_t *buf, size_t cap, int ede, const char *text)
{
	size_t tlen = text && ede >= 0 ? strlen(text) : 0;
	size_t rdlen = ede >= 0 ? 4 + 2 + tlen : 0;

	if (rdlen > 0xffff || 11 + rdlen > cap)
		return CDS_ELIMIT;
	buf[0] = 0;                       /* owner: the root */
	put16(buf + 1, TYPE_OPT);
	put16(buf + 3, ANSWER_UDP_SIZE);  /* class: our UDP size */
	memset(buf + 5, 0, 4);            /* ext. RCODE, version 0, flags */
	put16(buf + 9, (uint16_t)rdlen);
	if (ede >= 0) {
		put16(buf + 11, EDNS_OPT_EDE);
		put16(buf + 13, (uint16_t)(2 + tlen));
		put16(buf + 15, (uint16_t)ede);
		/* EXTRA-TEXT is UTF-8 without a terminating NUL (§2) */
		memcpy(buf + 17, text ? text : "", tlen);
	}
	return (int)(11 + rdlen);
}

int scan_notify_answer(const uint8_t *pkt, size_t len,
		       const struct scan_notify *n, int rcode, int ede,
		       const char *ede_text, uint8_t *buf, size_t cap)
{
	uint8_t wire[CDS_WIRE_NAME_MAX];
	size_t o = HDR_LEN, pos = HDR_LEN;
	int wl = 0, ol;
	bool opt = ede >= 0 || n->has_edns;

	if (n->kind == SCAN_NOTIFY_DROP || len < HDR_LEN || rcode < 0 ||
	    rcode > 15 || ede > 0xffff)
		return CDS_EINVAL;
	if (n->question_len > 0) {
		/* RFC 1996 §4.7: the question echoed. Written uncompressed
		   from the name as read, so no pointer of theirs is copied
		   into an answer where it would point elsewhere. */
		wl = name_read(pkt, len, &pos, wire);
		if (wl < 0 || pos + 4 > len)
			return CDS_EINVAL;
	}
	if (cap < HDR_LEN + (size_t)(wl ? wl + 4 : 0))
		return CDS_ELIMIT;
	put16(buf, n->id);
	/* QR=1, the opcode and RD copied, AA=1 (RFC 1996 §4.7); TC=0 */
	buf[2] = (uint8_t)(0x80 | (pkt[2] & 0x78) | 0x04 | (pkt[2] & 0x01));
	buf[3] = (uint8_t)rcode;
	put16(buf + 4, wl ? 1 : 0);
	put16(buf + 6, 0);
	put16(buf + 8, 0);
	put16(buf + 10, opt ? 1 : 0);
	if (wl) {
		memcpy(buf + o, wire, (size_t)wl);
		memcpy(buf + o + (size_t)wl, pkt + pos, 4);
		o += (size_t)wl + 4;
	}
	if (opt) {
		if ((ol = opt_write(buf + o, cap - o, ede, ede_text)) < 0)
			return ol;
		o += (size_t)ol;
	}
	return (int)o;
}
