/*
 * CSYNC (RFC 7477, RFC 9975 §3.2, STANDARDS §6): what a child's CSYNC
 * record asks of the delegation's NS set and glue, decided from what
 * every server said, beside the DS decision. All or nothing: the child's
 * servers must serve the same signed CSYNC and the same signed data it
 * names, the record must ask only for what we synchronise (NS, A, AAAA),
 * and the new delegation must still reach every in-bailiwick server.
 * Anything less changes nothing. Pure: no I/O, no clock.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/errors.h"
#include "policy/policy.h"
#include "policy/policy_int.h"

#define T_A 1
#define T_NS 2
#define T_AAAA 28


static void set(struct cds_csync_decision *out, enum cds_verdict v,
		enum cds_reason r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void set(struct cds_csync_decision *out, enum cds_verdict v,
		enum cds_reason r, const char *fmt, ...)
{
	va_list ap;

	out->verdict = v;
	out->reason = r;
	va_start(ap, fmt);
	vsnprintf(out->detail, sizeof out->detail, fmt, ap);
	va_end(ap);
}

static void clear_decision(struct cds_csync_decision *out)
{
	out->verdict = CDS_DEC_UNCHANGED;
	out->reason = CDS_R_NONE;
	out->detail[0] = '\0';
	out->serial = 0;
	out->flags = 0;
	out->set_ns = false;
	out->n_ns = 0;
	out->n_glue = 0;
}

/*
 * RFC 1982 serial arithmetic: -1 when a < b, 0 equal, 1 when a > b, 2
 * when undefined (the two are exactly 2^31 apart).
 */
static int serial_cmp(uint32_t a, uint32_t b)
{
	uint32_t d = a - b;

	if (d == 0)
		return 0;
	if (d == UINT32_C(0x80000000))
		return 2;
	return d < UINT32_C(0x80000000) ? 1 : -1;
}

static bool has_type(const struct cds_csync_obs *c, uint16_t t)
{
	for (size_t i = 0; i < c->n_types; i++)
		if (c->types[i] == t)
			return true;
	return false;
}

static bool secure(const struct cds_rrset_obs *rr)
{
	return rr->sig == CDS_SIG_VALID_DS_KEY || rr->sig == CDS_SIG_VALID_OTHER;
}

static const char *type_name(uint16_t t, char *buf, size_t len)
{
	switch (t) {
	case 1: return "A";
	case 2: return "NS";
	case 28: return "AAAA";
	case 43: return "DS";
	case 48: return "DNSKEY";
	case 59: return "CDS";
	case 60: return "CDNSKEY";
	case 62: return "CSYNC";
	default: snprintf(buf, len, "TYPE%u", t); return buf;
	}
}

/* "A NS AAAA" for details. */
static void types_text(const struct cds_csync_obs *c, char *buf, size_t len)
{
	char tb[16];

	buf[0] = '\0';
	for (size_t i = 0; i < c->n_types; i++)
		policy_text_add(buf, len, "%s%s", i ? " " : "",
		    type_name(c->types[i], tb, sizeof tb));
	if (c->n_types == 0)
		policy_text_add(buf, len, "(none)");
}

/* Canonical comparison form of an address text: AAAA through
   inet_pton/inet_ntop, so "2001:DB8:0::1" equals "2001:db8::1". */
static void addr_canon(const char *in, char *out, size_t len)
{
	unsigned char bin[16];
	int af = strchr(in, ':') ? AF_INET6 : AF_INET;

	if (inet_pton(af, in, bin) != 1 || !inet_ntop(af, bin, out, (socklen_t)len))
		snprintf(out, len, "%s", in);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* ---- comparing servers (Y8) ----------------------------------------- */

static bool same_addrs(size_t na, const char (*a)[CDS_ADDR_STR_MAX], size_t nb,
		       const char (*b)[CDS_ADDR_STR_MAX])
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

static bool same_rr(const struct cds_rrset_obs *a, const struct cds_rrset_obs *b)
{
	return a->state == b->state && a->count == b->count &&
	       a->overflow == b->overflow;
}

static const struct cds_csync_host *host_of(const struct cds_csync_obs *c,
					    const char *name)
{
	for (size_t i = 0; i < c->n_hosts; i++)
		if (strcasecmp(c->hosts[i].name, name) == 0)
			return &c->hosts[i];
	return NULL;
}

/* What differs between two servers' CSYNC and data; NULL when equal.
   `what` gets a word or two for the detail. */
static const char *csync_differs(const struct cds_csync_obs *x,
				 const struct cds_csync_obs *y)
{
	if (x->rr.count != y->rr.count || x->malformed != y->malformed)
		return "the CSYNC RRset";
	if (x->flags != y->flags)
		return "the flags";
	if (x->n_types != y->n_types || x->types_overflow != y->types_overflow ||
	    memcmp(x->types, y->types, x->n_types * sizeof x->types[0]) != 0)
		return "the type bit map";
	if (!same_rr(&x->ns_rr, &y->ns_rr) || x->n_ns != y->n_ns ||
	    x->ns_overflow != y->ns_overflow)
		return "the NS RRset";
	for (size_t i = 0; i < x->n_ns; i++)
		if (strcmp(x->ns[i], y->ns[i]) != 0)
			return "the NS RRset";
	if (x->n_hosts != y->n_hosts)
		return "the in-bailiwick NS names";
	for (size_t i = 0; i < x->n_hosts; i++) {
		const struct cds_csync_host *a = &x->hosts[i];
		const struct cds_csync_host *b = host_of(y, a->name);

		if (!b)
			return "the in-bailiwick NS names";
		if (!same_rr(&a->a_rr, &b->a_rr) ||
		    !same_addrs(a->n_a, a->a, b->n_a, b->a))
			return "the A RRset of an NS name";
		if (!same_rr(&a->aaaa_rr, &b->aaaa_rr) ||
		    !same_addrs(a->n_aaaa, a->aaaa, b->n_aaaa, b->aaaa))
			return "the AAAA RRset of an NS name";
	}
	return NULL;
}

/* ---- the steps, in the order policy.h documents ---------------------- */

static const char *blocking_status(const struct policy_domain *dom,
				   const struct policy_config *cfg)
{
	for (size_t i = 0; dom && i < dom->n_statuses; i++)
		for (size_t j = 0; j < cfg->n_blocking; j++)
			if (strcasecmp(dom->statuses[i], cfg->blocking[j]) == 0)
				return dom->statuses[i];
	return NULL;
}

static bool disabled(const struct policy_config *cfg,
		     const struct policy_domain *dom, char *why, size_t len)
{
	const char *st;

	if (!cfg->csync)
		snprintf(why, len, "policy.csync is off");
	else if (dom && dom->optout)
		snprintf(why, len, "the domain opted out of automation");
	else if (dom && dom->registrar_optout)
		snprintf(why, len, "registrar %.60s opted out of automation",
			 dom->registrar && *dom->registrar ? dom->registrar
							   : "(unnamed)");
	else if ((st = blocking_status(dom, cfg)) != NULL)
		snprintf(why, len, "status %.40s blocks automation", st);
	else
		return false;
	return true;
}

/* Y1: the CSYNC RRset and every RRset (or proven absence) it names must
   be Secure. NULL when so, else the first that is not, in `what`. */
static const struct cds_rrset_obs *
insecure_part(const struct cds_csync_obs *c, char *what, size_t len)
{
	if (!secure(&c->rr)) {
		snprintf(what, len, "CSYNC");
		return &c->rr;
	}
	if (c->ns_rr.state != CDS_RR_NOT_QUERIED && !secure(&c->ns_rr)) {
		snprintf(what, len, "NS%s",
			 c->ns_rr.state == CDS_RR_NODATA ? " (denial)" : "");
		return &c->ns_rr;
	}
	for (size_t i = 0; i < c->n_hosts; i++) {
		const struct cds_csync_host *h = &c->hosts[i];

		if (h->a_rr.state != CDS_RR_NOT_QUERIED && !secure(&h->a_rr)) {
			snprintf(what, len, "%s A%s", h->name,
				 h->a_rr.state == CDS_RR_NODATA ? " (denial)"
								: "");
			return &h->a_rr;
		}
		if (h->aaaa_rr.state != CDS_RR_NOT_QUERIED &&
		    !secure(&h->aaaa_rr)) {
			snprintf(what, len, "%s AAAA%s", h->name,
				 h->aaaa_rr.state == CDS_RR_NODATA
					 ? " (denial)" : "");
			return &h->aaaa_rr;
		}
	}
	return NULL;
}

/* Y2: false with `why` when the record asks for something we do not do. */
static bool supported(const struct cds_csync_obs *c, char *why, size_t len)
{
	char tb[16];
	bool acts = false;

	if (c->rr.count > 1) {
		snprintf(why, len, "%u CSYNC records: several are ignored "
			 "(RFC 7477 §2.1.1.2)", c->rr.count);
		return false;
	}
	if (c->malformed) {
		snprintf(why, len, "the CSYNC record cannot be read (bad type "
			 "bit map or short rdata)");
		return false;
	}
	if (c->flags & ~(CDS_CSYNC_IMMEDIATE | CDS_CSYNC_SOAMINIMUM)) {
		snprintf(why, len, "unknown flags 0x%04x (RFC 7477 §2.1.1.2.1)",
			 c->flags & ~(CDS_CSYNC_IMMEDIATE | CDS_CSYNC_SOAMINIMUM));
		return false;
	}
	if (c->types_overflow) {
		snprintf(why, len, "more than %d types in the bit map",
			 CDS_CSYNC_TYPES_MAX);
		return false;
	}
	for (size_t i = 0; i < c->n_types; i++) {
		uint16_t t = c->types[i];

		if (t == T_A || t == T_NS || t == T_AAAA) {
			acts = true;
			continue;
		}
		/* RFC 7477 §2.1.1.2 and §5: DS, DNSKEY, CDS, CDNSKEY and
		   CSYNC are never synchronised this way; unknown bits stop
		   the whole record (all or nothing). */
		snprintf(why, len, "the bit map names %s, which is never "
			 "synchronised", type_name(t, tb, sizeof tb));
		return false;
	}
	if (!acts) {
		snprintf(why, len, "the bit map names no type we act on");
		return false;
	}
	return true;
}

/* ---- the resulting delegation ---------------------------------------- */

static const struct cds_ns *cur_of(const struct cds_ns *cur, size_t n_cur,
				   const char *name)
{
	char a[CDS_NAME_MAX];

	for (size_t i = 0; i < n_cur; i++)
		if (cds_name_normalize(cur[i].name, a) == 0 &&
		    strcmp(a, name) == 0)
			return &cur[i];
	return NULL;
}

/* The current glue of `ns` of one family (AAAA when v6), canonical and
   sorted. */
static size_t cur_glue(const struct cds_ns *ns, bool v6,
		       char (*out)[CDS_ADDR_STR_MAX])
{
	size_t n = 0;

	for (size_t i = 0; ns && i < ns->n_glue && i < CDS_GLUE_MAX; i++)
		if ((strchr(ns->glue[i], ':') != NULL) == v6)
			addr_canon(ns->glue[i], out[n++], CDS_ADDR_STR_MAX);
	qsort(out, n, CDS_ADDR_STR_MAX, str_cmp);
	return n;
}

/* The new NS set and glue into `out` (Y6, Y7). Returns the reason that
   refuses it, or CDS_R_NONE with `out` filled. */
static enum cds_reason build(const struct cds_delegation *deleg,
			     const struct cds_ns *cur, size_t n_cur,
			     const struct cds_csync_obs *c,
			     const struct policy_config *cfg,
			     struct cds_csync_decision *out, char *why,
			     size_t len)
{
	bool bit_a = has_type(c, T_A), bit_aaaa = has_type(c, T_AAAA);

	out->set_ns = has_type(c, T_NS);
	out->n_ns = 0;
	if (out->set_ns) {
		/* Y6 [M]: a child that proves it has no NS changes nothing. */
		if (c->ns_rr.state != CDS_RR_PRESENT || c->n_ns == 0) {
			snprintf(why, len, "the child proves it has no NS RRset "
				 "(RFC 7477 §3.2.1)");
			return CDS_R_CSYNC_NO_NS;
		}
		if (c->ns_overflow || c->n_ns > CDS_CSYNC_NS_MAX ||
		    c->n_ns < cfg->csync_min_ns || c->n_ns > cfg->csync_max_ns) {
			snprintf(why, len, "the new NS set has %zu%s names; "
				 "policy allows %u to %u", c->n_ns,
				 c->ns_overflow ? "+" : "", cfg->csync_min_ns,
				 cfg->csync_max_ns);
			return CDS_R_CSYNC_NS_COUNT;
		}
		for (size_t i = 0; i < c->n_ns; i++)
			snprintf(out->ns[out->n_ns++], CDS_NAME_MAX, "%s",
				 c->ns[i]);
	} else {
		for (size_t i = 0; i < n_cur && out->n_ns < CDS_CSYNC_NS_MAX;
		     i++)
			if (cds_name_normalize(cur[i].name,
					       out->ns[out->n_ns]) == 0)
				out->n_ns++;
		qsort(out->ns, out->n_ns, CDS_NAME_MAX, str_cmp);
	}
	/* Y7: glue only for in-bailiwick names, after NS, against the
	   resulting NS set; out-of-bailiwick glue is never touched. */
	out->n_glue = 0;
	for (size_t i = 0; i < out->n_ns; i++) {
		const char *name = out->ns[i];
		const struct cds_ns *old = cur_of(cur, n_cur, name);
		const struct cds_csync_host *h = host_of(c, name);
		struct cds_csync_glue *g;
		char keep[CDS_GLUE_MAX][CDS_ADDR_STR_MAX];
		size_t n_addr = 0;

		if (!policy_ns_in_child(deleg->name, name))
			continue;
		if (bit_a || bit_aaaa) {
			if (!h) {
				snprintf(why, len, "no A/AAAA answer was asked "
					 "for %s", name);
				return CDS_R_CSYNC_INSECURE;
			}
			if (out->n_glue == CDS_CSYNC_GLUE_MAX)
				break;
			g = &out->glue[out->n_glue++];
			memset(g, 0, sizeof *g);
			snprintf(g->name, sizeof g->name, "%s", name);
			if ((g->set_a = bit_a)) {
				if (h->a_rr.overflow || h->a_rr.count > CDS_GLUE_MAX)
					goto too_many;
				g->n_a = h->n_a;
				memcpy(g->a, h->a, sizeof g->a);
			}
			if ((g->set_aaaa = bit_aaaa)) {
				if (h->aaaa_rr.overflow ||
				    h->aaaa_rr.count > CDS_GLUE_MAX)
					goto too_many;
				g->n_aaaa = h->n_aaaa;
				memcpy(g->aaaa, h->aaaa, sizeof g->aaaa);
			}
		}
		n_addr = (bit_a ? h->n_a : cur_glue(old, false, keep)) +
			 (bit_aaaa ? h->n_aaaa : cur_glue(old, true, keep));
		/* Y7 [M]: never leave an in-bailiwick NS without address. */
		if (n_addr == 0) {
			snprintf(why, len, "%s lies inside the child and would "
				 "be left without any address", name);
			return CDS_R_CSYNC_GLUE_EMPTY;
		}
		continue;
too_many:
		snprintf(why, len, "%s has more than %d addresses", name,
			 CDS_GLUE_MAX);
		return CDS_R_CSYNC_UNSUPPORTED;
	}
	return CDS_R_NONE;
}

/* Would `out` leave the delegation as it is? */
static bool no_change(const struct cds_ns *cur, size_t n_cur,
		      const struct cds_csync_decision *out)
{
	char names[CDS_CSYNC_NS_MAX][CDS_NAME_MAX];
	size_t n = 0;

	if (out->set_ns) {
		if (n_cur != out->n_ns)
			return false;
		for (size_t i = 0; i < n_cur; i++)
			if (cds_name_normalize(cur[i].name, names[n]) == 0)
				n++;
		qsort(names, n, CDS_NAME_MAX, str_cmp);
		/* duplicates in cur: compare as sets */
		for (size_t i = 0; i < n; i++)
			if (strcmp(names[i], out->ns[i]) != 0)
				return false;
	}
	for (size_t i = 0; i < out->n_glue; i++) {
		const struct cds_csync_glue *g = &out->glue[i];
		const struct cds_ns *old = cur_of(cur, n_cur, g->name);
		char have[CDS_GLUE_MAX][CDS_ADDR_STR_MAX];
		size_t k;

		if (g->set_a) {
			k = cur_glue(old, false, have);
			if (!same_addrs(k, (const char(*)[CDS_ADDR_STR_MAX])have,
					g->n_a, g->a))
				return false;
		}
		if (g->set_aaaa) {
			k = cur_glue(old, true, have);
			if (!same_addrs(k, (const char(*)[CDS_ADDR_STR_MAX])have,
					g->n_aaaa, g->aaaa))
				return false;
		}
	}
	return true;
}

/* "ns1.example./192.0.2.1" of server i, for details. */
#define SRV(o) (o)->name, (o)->addr[0] ? "/" : "", (o)->addr

/* Y4 (per server) and Y5 (SOA before and after). */
static bool serial_checks(const struct cds_server_obs *obs, size_t n_obs,
			  struct cds_csync_decision *out)
{
	for (size_t i = 0; i < n_obs; i++) {
		const struct cds_server_obs *o = &obs[i];
		const struct cds_csync_obs *c = &o->csync;

		if ((c->flags & CDS_CSYNC_SOAMINIMUM) &&
		    (o->soa.state != CDS_RR_PRESENT ||
		     serial_cmp(o->soa_serial, c->serial) < 0 ||
		     serial_cmp(o->soa_serial, c->serial) == 2)) {
			set(out, CDS_DEC_PENDING, CDS_R_CSYNC_SOAMINIMUM,
			    "%s%s%s serves SOA serial %u, below the CSYNC "
			    "soaminimum serial %u (RFC 7477 §2.1.1.2.1, RFC "
			    "1982): wait until it has the new zone", SRV(o),
			    o->soa_serial, c->serial);
			return false;
		}
	}
	for (size_t i = 0; i < n_obs; i++) {
		const struct cds_server_obs *o = &obs[i];
		const struct cds_csync_obs *c = &o->csync;

		if (c->soa_after.state != CDS_RR_PRESENT ||
		    o->soa.state != CDS_RR_PRESENT ||
		    c->soa_serial_after != o->soa_serial) {
			set(out, CDS_DEC_PENDING, CDS_R_CSYNC_SERIAL_MOVED,
			    "%s%s%s: SOA serial %u before the CSYNC queries, "
			    "%s%u after (RFC 7477 §3.1): the zone changed "
			    "while we asked; retry", SRV(o), o->soa_serial,
			    c->soa_after.state == CDS_RR_PRESENT ? "" : "none ",
			    c->soa_serial_after);
			return false;
		}
	}
	return true;
}

/* The smallest CSYNC serial among the servers (RFC 1982), the one that
   is recorded as acted on: a later scan never sees an older one from an
   honest server. */
static uint32_t oldest_serial(const struct cds_server_obs *obs, size_t n_obs)
{
	uint32_t s = obs[0].csync.serial;

	for (size_t i = 1; i < n_obs; i++)
		if (serial_cmp(obs[i].csync.serial, s) < 0)
			s = obs[i].csync.serial;
	return s;
}

/* Which servers to look at, and did the probe ask at all? Every failure
   is checked before anything else (no Q4 exclusion for CSYNC). */
static bool servers_answered(const struct cds_server_obs *obs, size_t n_obs,
			     struct cds_csync_decision *out)
{
	for (size_t i = 0; i < n_obs; i++) {
		const struct cds_server_obs *o = &obs[i];

		if (o->error != CDS_OK || o->csync.rr.state == CDS_RR_FAILED) {
			set(out, CDS_DEC_PENDING,
			    CDS_R_CSYNC_SERVER_UNREACHABLE,
			    "%s%s%s gave no usable answer (%s): CSYNC needs "
			    "every server", SRV(o),
			    o->error_text[0] ? o->error_text
					     : cds_strerror(o->error));
			return false;
		}
	}
	return true;
}

void policy_decide_csync(const struct cds_delegation *deleg,
			 const struct cds_ns *cur, size_t n_cur,
			 const struct cds_server_obs *obs, size_t n_obs,
			 const struct policy_config *cfg,
			 const struct policy_domain *dom,
			 struct cds_csync_decision *out)
{
	const struct cds_server_obs *first = NULL, *absent = NULL;
	const struct cds_csync_obs *c;
	const struct cds_history *h = dom ? dom->hist : NULL;
	char why[512], types[256];
	const char *diff;
	enum cds_reason r;
	bool same_serial = false, asked = false;
	int cmp;

	/* The header only: ns[] and glue[] (32 KB) are read up to n_ns and
	   n_glue, and clearing all of it for every delegation, nearly all
	   without CSYNC, was 4% of a rescan's CPU (docs/BENCH.md). */
	clear_decision(out);
	for (size_t i = 0; i < n_obs; i++) {
		if (obs[i].csync.rr.state == CDS_RR_PRESENT && !first)
			first = &obs[i];
		if (obs[i].csync.rr.state != CDS_RR_PRESENT && !absent)
			absent = &obs[i];
	}
	if (first && disabled(cfg, dom, why, sizeof why)) {
		set(out, CDS_DEC_REJECTED, CDS_R_CSYNC_DISABLED,
		    "%s%s%s serves CSYNC, but %s", SRV(first), why);
		return;
	}
	for (size_t i = 0; i < n_obs; i++)
		asked |= obs[i].csync.asked;
	if (!asked) {
		set(out, CDS_DEC_UNCHANGED, CDS_R_CSYNC_NONE,
		    n_obs ? "CSYNC was not asked for" : "no server was asked");
		return;
	}
	if (!servers_answered(obs, n_obs, out))
		return;
	if (!first) {
		set(out, CDS_DEC_UNCHANGED, CDS_R_CSYNC_NONE,
		    "no CSYNC at any of %zu server%s", n_obs,
		    n_obs == 1 ? "" : "s");
		return;
	}
	/* Y8: CSYNC at every server, with the same flags, bit map and
	   data (RFC 9975 §3.2). */
	if (absent) {
		set(out, CDS_DEC_REJECTED, CDS_R_CSYNC_DISAGREE,
		    "%s%s%s serves CSYNC but %s%s%s has none (RFC 9975 §3.2)",
		    SRV(first), SRV(absent));
		return;
	}
	for (size_t i = 0; i < n_obs; i++) {
		if ((diff = csync_differs(&first->csync, &obs[i].csync))) {
			set(out, CDS_DEC_REJECTED, CDS_R_CSYNC_DISAGREE,
			    "%s%s%s and %s%s%s differ in %s (RFC 9975 §3.2)",
			    SRV(first), SRV(&obs[i]), diff);
			return;
		}
	}
	/* Y1: CSYNC and its data Secure at every server. */
	for (size_t i = 0; i < n_obs; i++) {
		const struct cds_rrset_obs *bad =
			insecure_part(&obs[i].csync, why, sizeof why);

		if (bad) {
			set(out, CDS_DEC_REJECTED, CDS_R_CSYNC_INSECURE,
			    "%s%s%s: %s is not proven secure (%s; RFC 7477 "
			    "§3)", SRV(&obs[i]), why, cds_sigstate_name(bad->sig));
			return;
		}
	}
	c = &first->csync;
	out->flags = c->flags;
	out->serial = oldest_serial(obs, n_obs);
	types_text(c, types, sizeof types);
	/* Y2: all or nothing. */
	if (!supported(c, why, sizeof why)) {
		set(out, CDS_DEC_REJECTED, CDS_R_CSYNC_UNSUPPORTED,
		    "CSYNC %u 0x%x %s: %s", c->serial, c->flags, types, why);
		return;
	}
	if (!serial_checks(obs, n_obs, out))
		return;
	/* Y5 with stored state: an older serial than one acted on is never
	   processed. The same serial again is the change already made (no
	   change) or the child changed data without a new serial, which is
	   refused below like a regression. */
	if (h && h->has_csync_serial) {
		for (size_t i = 0; i < n_obs; i++) {
			cmp = serial_cmp(obs[i].csync.serial, h->csync_serial);
			if (cmp < 0 || cmp == 2) {
				set(out, CDS_DEC_REJECTED,
				    CDS_R_CSYNC_SERIAL_REGRESSED,
				    "%s%s%s serves CSYNC serial %u, older than "
				    "serial %u already acted on (RFC 7477 §3.1)",
				    SRV(&obs[i]), obs[i].csync.serial,
				    h->csync_serial);
				return;
			}
			same_serial |= cmp == 0;
		}
	}
	r = build(deleg, cur, n_cur, c, cfg, out, why, sizeof why);
	if (r != CDS_R_NONE) {
		set(out, CDS_DEC_REJECTED, r, "CSYNC %u 0x%x %s: %s", c->serial,
		    c->flags, types, why);
		return;
	}
	if (no_change(cur, n_cur, out)) {
		set(out, CDS_DEC_UNCHANGED, CDS_R_CSYNC_NO_CHANGE,
		    "CSYNC %u 0x%x %s at %zu server%s: the delegation already "
		    "matches", c->serial, c->flags, types, n_obs,
		    n_obs == 1 ? "" : "s");
		return;
	}
	if (same_serial) {
		set(out, CDS_DEC_REJECTED, CDS_R_CSYNC_SERIAL_REGRESSED,
		    "CSYNC serial %u was already acted on, yet the data "
		    "differs from the delegation: a new change needs a new "
		    "serial (RFC 7477 §3.1)", h->csync_serial);
		return;
	}
	if ((c->flags & CDS_CSYNC_IMMEDIATE) && cfg->csync_immediate)
		set(out, CDS_DEC_UPDATE, CDS_R_CSYNC_APPLY,
		    "CSYNC %u 0x%x %s at all %zu servers, signed and "
		    "consistent: apply", c->serial, c->flags, types, n_obs);
	else
		/* Y3 [M]: without the immediate flag, wait for approval. */
		set(out, CDS_DEC_PENDING, CDS_R_CSYNC_HELD,
		    "CSYNC %u 0x%x %s at all %zu servers, signed and "
		    "consistent: held for approval (%s)", c->serial, c->flags,
		    types, n_obs,
		    (c->flags & CDS_CSYNC_IMMEDIATE)
			    ? "policy.csync-immediate is off"
			    : "immediate flag not set, RFC 7477 §3");
}

int policy_csync_result(const struct cds_csync_decision *dec,
			const struct cds_ns *cur, size_t n_cur,
			struct cds_ns *out, size_t *n_out)
{
	size_t n_names = dec->set_ns ? dec->n_ns : n_cur;

	*n_out = 0;
	if (n_names > CDS_CSYNC_NS_MAX)
		return CDS_ELIMIT;
	for (size_t i = 0; i < n_names; i++) {
		struct cds_ns *ns = &out[(*n_out)++];
		const struct cds_ns *old;
		const struct cds_csync_glue *g = NULL;
		char a[CDS_GLUE_MAX][CDS_ADDR_STR_MAX], x[CDS_GLUE_MAX][CDS_ADDR_STR_MAX];
		size_t na, nx;

		memset(ns, 0, sizeof *ns);
		if (dec->set_ns)
			snprintf(ns->name, sizeof ns->name, "%s", dec->ns[i]);
		else if (cds_name_normalize(cur[i].name, ns->name) != 0)
			snprintf(ns->name, sizeof ns->name, "%s", cur[i].name);
		old = cur_of(cur, n_cur, ns->name);
		for (size_t k = 0; k < dec->n_glue && !g; k++)
			if (strcmp(dec->glue[k].name, ns->name) == 0)
				g = &dec->glue[k];
		if (!g) {
			/* out-of-bailiwick (or not named): as it was */
			if (old) {
				memcpy(ns->glue, old->glue, sizeof ns->glue);
				ns->n_glue = old->n_glue;
			}
			continue;
		}
		na = g->set_a ? g->n_a : cur_glue(old, false, a);
		nx = g->set_aaaa ? g->n_aaaa : cur_glue(old, true, x);
		if (na + nx > CDS_GLUE_MAX)
			return CDS_ELIMIT;
		for (size_t k = 0; k < na; k++)
			memcpy(ns->glue[ns->n_glue++], g->set_a ? g->a[k] : a[k],
			       CDS_ADDR_STR_MAX);
		for (size_t k = 0; k < nx; k++)
			memcpy(ns->glue[ns->n_glue++],
			       g->set_aaaa ? g->aaaa[k] : x[k], CDS_ADDR_STR_MAX);
	}
	return CDS_OK;
}

void policy_csync_sanity(const struct cds_delegation *deleg,
			 const struct cds_server_obs *obs, size_t n_obs,
			 struct cds_csync_decision *dec)
{
	const struct cds_server_obs *silent = NULL;
	char prev[CDS_DETAIL_MAX];

	if (dec->verdict != CDS_DEC_UPDATE &&
	    !(dec->verdict == CDS_DEC_PENDING && dec->reason == CDS_R_CSYNC_HELD))
		return;
	snprintf(prev, sizeof prev, "%s", dec->detail);
	if (n_obs == 0) {
		set(dec, CDS_DEC_REJECTED, CDS_R_CSYNC_NEW_NS_BROKEN,
		    "the new delegation has no server to ask; the child asks: "
		    "%.600s", prev);
		return;
	}
	for (size_t i = 0; i < n_obs; i++) {
		const struct cds_server_obs *o = &obs[i];
		const char *what = NULL;

		if (o->error == CDS_ETIMEOUT) {
			silent = silent ? silent : o;
			continue;
		}
		if (o->error != CDS_OK)
			what = o->error_text[0] ? o->error_text
						: cds_strerror(o->error);
		else if (o->soa.state != CDS_RR_PRESENT)
			what = "no SOA at the child apex";
		else if (deleg->n_ds > 0 && !o->dnskey_proven)
			what = "its DNSKEY RRset is not proven by the current DS";
		if (what) {
			/* Y8 [S]: confirm the new delegation will work. */
			set(dec, CDS_DEC_REJECTED, CDS_R_CSYNC_NEW_NS_BROKEN,
			    "new delegation: %s%s%s: %s; the child asks: %.600s",
			    SRV(o), what, prev);
			return;
		}
	}
	if (silent)
		set(dec, CDS_DEC_PENDING, CDS_R_CSYNC_NEW_NS_BROKEN,
		    "new delegation: %s%s%s did not answer (%s); retry; the "
		    "child asks: %.600s", SRV(silent),
		    silent->error_text[0] ? silent->error_text : "timeout",
		    prev);
}

/* ---- DS and NS in one scan (STANDARDS §7, RFC 8901 §8) ------------------ */

/* Put `why` before what `detail` says. */
static void prefix_detail(char *detail, size_t size, const char *why)
{
	char old[CDS_DETAIL_MAX];
	int n;

	snprintf(old, sizeof old, "%s", detail);
	n = snprintf(detail, size, "%s%s", why, old[0] ? "; " : "");
	if (n > 0 && (size_t)n < size)
		snprintf(detail + n, size - (size_t)n, "%.*s",
			 (int)(size - (size_t)n - 1), old);
}

/* Does the DS change drop a DS record the parent holds now? That is a
   signer leaving (STANDARDS §7 T: leaving runs NS, then DS). */
static bool ds_drops_one(const struct cds_delegation *cur,
			 const struct cds_decision *ds)
{
	if (ds->verdict == CDS_DEC_DELETE)
		return true;
	for (size_t i = 0; i < cur->n_ds; i++) {
		bool kept = false;

		for (size_t k = 0; k < ds->n_proposed && !kept; k++)
			kept = cds_ds_equal(&cur->ds[i], &ds->proposed[k]);
		if (!kept)
			return true;
	}
	return false;
}

void policy_one_change_per_scan(const struct cds_delegation *cur,
				struct cds_decision *ds,
				struct cds_csync_decision *cs)
{
	if (!cs || cs->verdict != CDS_DEC_UPDATE ||
	    (ds->verdict != CDS_DEC_UPDATE && ds->verdict != CDS_DEC_DELETE))
		return;
	if (ds_drops_one(cur, ds)) {
		ds->verdict = CDS_DEC_PENDING;
		prefix_detail(ds->detail, sizeof ds->detail,
			      "waits for the next scan: the CSYNC NS change "
			      "goes first when a DS record is removed "
			      "(RFC 8901 §8)");
	} else {
		cs->verdict = CDS_DEC_PENDING;
		prefix_detail(cs->detail, sizeof cs->detail,
			      "waits for the next scan: the DS change goes "
			      "first when DS records are added (RFC 8901 §8)");
	}
}
