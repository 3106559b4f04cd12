/*
 * The per-delegation probe, an explicit state machine driven by the
 * engine's and the resolver's callbacks:
 *
 *   start ─ early stop? ─ one address (glue, else resolve its name):
 *     │                   CDS, CDNSKEY → status quo? ─ yes → callback
 *     │                                      └ no ─┐ (+ SOA, DNSKEY there)
 *     ├──── NS with glue ──────────────────────────┤
 *     └──── NS without glue → resolve ─────────────┴→ per address: SOA,
 *                                  DNSKEY, CDS, CDNSKEY in flight at once
 *                                           └→ all four back → validate
 *   every name resolved and every address validated → callback
 *
 * Without early stop every address is asked (RFC 9975 §3, STANDARDS
 * Q1): consistency is the policy's check, over all of them. With it, one
 * answer that confirms the status quo is enough (Q6): the decision is
 * "unchanged" whatever the others say. Each server's answers are
 * validated against that server's own DNSKEY RRset (STANDARDS M2).
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <string.h>
#include <strings.h>

#include "core/errors.h"
#include "core/log.h"
#include "policy/policy.h"
#include "scanner/probe.h"
#include "scanner/validate.h"

/* Queries at the apex (one answer set each per server), then the two
   asked per in-bailiwick NS name for CSYNC (per host, struct host). */
enum {
	Q_SOA = 0, Q_DNSKEY, Q_CDS, Q_CDNSKEY, Q_CSYNC, Q_NS, Q_SOA2,
	Q__COUNT,
	Q_A = Q__COUNT, Q_AAAA, Q__ALL
};

static const uint16_t qtypes[Q__ALL] = {
	[Q_SOA] = LDNS_RR_TYPE_SOA,
	[Q_DNSKEY] = LDNS_RR_TYPE_DNSKEY,
	[Q_CDS] = LDNS_RR_TYPE_CDS,
	[Q_CDNSKEY] = LDNS_RR_TYPE_CDNSKEY,
	[Q_CSYNC] = LDNS_RR_TYPE_CSYNC,
	[Q_NS] = LDNS_RR_TYPE_NS,
	[Q_SOA2] = LDNS_RR_TYPE_SOA,
	[Q_A] = LDNS_RR_TYPE_A,
	[Q_AAAA] = LDNS_RR_TYPE_AAAA,
};
static const char *const qnames[Q__ALL] = {
	"SOA", "DNSKEY", "CDS", "CDNSKEY", "CSYNC", "NS", "SOA (after CSYNC)",
	"A", "AAAA"};

/* Results kept by the verification cache (about 40 bytes each). */
#define SIGCACHE_CAP 16384

/*
 * Signature verifications one delegation may cost (issue 9 item 4). The
 * per-RRset bounds of validate.c (16 RRSIGs, 4 keys each, 3 RRsets) cap a
 * server address at 192, but a delegation has up to 32 NS names × 16
 * addresses: 98,304 for one zone whose every name points at one hostile
 * address. A server is charged, before anything is verified, the most its
 * answers can cost (sig_cost); when the charge would pass the budget its
 * signatures are not verified at all and it fails with CDS_ELIMIT, so the
 * delegation changes nothing (policy: a failed server is a rejection).
 * 512 is ample for real operators: 13 NS × 2 addresses with a rollover's
 * 2 RRSIGs per RRset cost 156.
 */
#define SCAN_SIGS_PER_DELEGATION 512
/* validate.c's SCAN_SIGS_PER_RRSET and SCAN_KEYS_PER_SIG, which the
   charge mirrors (a larger charge only spends the budget sooner). */
#define COST_SIGS_PER_RRSET 16
#define COST_KEYS_PER_SIG 4

struct scanner {
	struct event_base *base;
	struct scan_engine *eng;
	struct scan_resolver *res;
	struct scan_sigcache *cache; /* one per run: see validate.h */
	/* probes started and not yet finished: those a stopped run cuts
	   short never call back, and scanner_free frees them */
	struct probe *live;
};

struct probe;

/* RFC 9615 §4.2 step 3 for one NS name outside the child: the CDS and
   CDNSKEY lookups at its signaling name, joined. */
struct signal {
	struct probe *p;
	char ns[CDS_NAME_MAX];
	char qname[2 * CDS_NAME_MAX + 24];
	struct cds_signal_obs obs; /* arrays owned here until copied out */
	struct signal_type {
		struct signal *sig;
		int qi; /* Q_CDS or Q_CDNSKEY */
	} t[2];
};

/* One query to one server: the engine callback's argument. */
struct query {
	struct server *srv;
	int qi;
	size_t host; /* for Q_A and Q_AAAA: index into srv->hosts */
};

/* CSYNC (STANDARDS §6): the A/AAAA of one in-bailiwick NS name at one
   server, while they come in; obs.csync.hosts[i] is its observation. */
struct host {
	struct query q[2];         /* Q_A, Q_AAAA */
	struct scan_rrset set[2];
	ldns_rr_list *auth[2];     /* authority section of a NODATA answer */
};

/* Where a server stands in the CSYNC steps (RFC 7477 §3.1, Y5): SOA
   (with the other apex queries), CSYNC, NS, A/AAAA, SOA again. */
enum csync_stage { CS_NONE = 0, CS_CSYNC, CS_NS, CS_HOSTS, CS_SOA2,
		   CS_DONE };

/* One server address of the delegation, while its answers come in. */
struct server {
	struct probe *p;
	size_t idx; /* into p->obs */
	unsigned pending;
	bool early; /* asked for CDS and CDNSKEY only, so far */
	struct sockaddr_storage sa; /* kept to ask again after early stop */
	socklen_t salen;
	struct query q[Q__COUNT];
	struct scan_rrset sets[Q__COUNT];
	/* CSYNC (req->csync) */
	enum csync_stage stage;
	bool csync_absent;         /* the early answer had no CSYNC */
	ldns_rr_list *auth_ns;     /* authority section of an NS NODATA */
	size_t n_hosts;
	struct host *hosts;        /* parallel to obs.csync.hosts */
};

#define Q_ALL (1u << Q_SOA | 1u << Q_DNSKEY | 1u << Q_CDS | 1u << Q_CDNSKEY)
#define Q_EARLY (1u << Q_CDS | 1u << Q_CDNSKEY)

/* The address lookup done for the early server, kept for the full probe
   so that the name is not looked up twice. */
struct early_lookup {
	int status;
	enum scan_dnssec dnssec;
	size_t n;
	struct sockaddr_storage *addrs;
};

struct probe {
	struct scanner *sc;
	struct probe *live_prev, *live_next; /* scanner.live */
	char zone[CDS_NAME_MAX];
	ldns_rdf *apex;      /* zone as a name, made once */
	struct cds_ns *ns;
	size_t n_ns;
	struct cds_ds *ds;
	size_t n_ds;
	int64_t now;
	uint16_t port;
	struct cds_server_obs *obs;
	struct server **srv; /* parallel to obs; NULL for name-only entries */
	size_t n_obs, cap_obs;
	unsigned pending; /* name lookups + servers not finished */
	bool starting;    /* inside scan_probe_start: do not finish yet */
	unsigned queries;
	unsigned sig_charged; /* SCAN_SIGS_PER_DELEGATION spent so far */
	bool csync;           /* ask CSYNC and its data too */
	scan_probe_cb cb;
	void *arg;

	/* early stop (STANDARDS Q6) */
	const struct policy_config *policy; /* borrowed; NULL: no early stop */
	uint32_t early_seed;
	bool early_asked;   /* some address was asked first */
	size_t early_ns;    /* which NS name ... */
	size_t early_addr;  /* ... and which of its addresses */
	bool early_looked_up; /* early_ns's addresses are in `lookup` */
	struct early_lookup lookup;
	bool stopped_early;
	enum cds_reason early_reason;

	/* bootstrapping (STANDARDS §5): no current DS and a method on */
	const struct policy_config *cfg; /* borrowed; NULL: none */
	bool signals_started;
	size_t n_sig;
	struct signal *sig; /* one per NS name outside the child */
};

int scanner_new(struct event_base *base, struct scan_engine *eng,
		struct scan_resolver *res, struct scanner **out)
{
	struct scanner *sc = calloc(1, sizeof *sc);

	if (!sc || scan_sigcache_new(SIGCACHE_CAP, &sc->cache) != CDS_OK) {
		free(sc);
		return CDS_ENOMEM;
	}
	sc->base = base;
	sc->eng = eng;
	sc->res = res;
	*out = sc;
	return CDS_OK;
}

static void probe_free(struct probe *p);

void scanner_free(struct scanner *sc)
{
	if (!sc)
		return;
	/* No callback of the engine or the resolver reaches a probe once
	   the loop has stopped: their teardown frees only their own. */
	while (sc->live)
		probe_free(sc->live);
	scan_sigcache_free(sc->cache);
	free(sc);
}

void scan_result_free(struct scan_result *res)
{
	if (!res)
		return;
	for (size_t i = 0; i < res->n_obs; i++)
		cds_server_obs_clear(&res->obs[i]);
	free(res->obs);
	free(res);
}

static void server_sets_free(struct server *s)
{
	for (int q = 0; q < Q__COUNT; q++)
		scan_rrset_free(&s->sets[q]);
	for (size_t h = 0; h < s->n_hosts; h++)
		for (int t = 0; t < 2; t++) {
			scan_rrset_free(&s->hosts[h].set[t]);
			ldns_rr_list_deep_free(s->hosts[h].auth[t]);
		}
	free(s->hosts);
	s->hosts = NULL;
	s->n_hosts = 0;
	ldns_rr_list_deep_free(s->auth_ns);
	s->auth_ns = NULL;
}

static void probe_free(struct probe *p)
{
	if (p->live_prev)
		p->live_prev->live_next = p->live_next;
	else if (p->sc && p->sc->live == p)
		p->sc->live = p->live_next;
	if (p->live_next)
		p->live_next->live_prev = p->live_prev;
	for (size_t i = 0; p->obs && i < p->n_obs; i++)
		cds_server_obs_clear(&p->obs[i]);
	free(p->obs);
	for (size_t i = 0; i < p->n_obs; i++) {
		if (p->srv[i]) {
			server_sets_free(p->srv[i]);
			free(p->srv[i]);
		}
	}
	free(p->srv);
	for (size_t i = 0; i < p->n_sig; i++) {
		free(p->sig[i].obs.cds);
		free(p->sig[i].obs.cdnskey);
	}
	free(p->sig);
	free(p->lookup.addrs);
	free(p->ns);
	free(p->ds);
	ldns_rdf_deep_free(p->apex);
	free(p);
}

/* Servers in a stable order, whatever order the answers came in. */
static int obs_cmp(const void *a, const void *b)
{
	const struct cds_server_obs *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->addr, y->addr);
}

/* Every observation of an NS name gets its own copy of that name's
   signal: observations are released one by one. */
static void signals_attach(struct probe *p)
{
	for (size_t i = 0; i < p->n_obs; i++) {
		struct cds_server_obs *o = &p->obs[i];

		for (size_t k = 0; k < p->n_sig; k++) {
			const struct cds_signal_obs *sg = &p->sig[k].obs;
			struct cds_signal_obs *d = &o->signal;

			if (strcasecmp(o->name, p->sig[k].ns) != 0)
				continue;
			*d = *sg;
			d->cds = NULL;
			d->cdnskey = NULL;
			d->n_cds = d->n_cdnskey = 0;
			if (sg->n_cds &&
			    (d->cds = malloc(sg->n_cds * sizeof *d->cds))) {
				memcpy(d->cds, sg->cds, sg->n_cds * sizeof *d->cds);
				d->n_cds = sg->n_cds;
			}
			if (sg->n_cdnskey &&
			    (d->cdnskey = malloc(sg->n_cdnskey *
						 sizeof *d->cdnskey))) {
				memcpy(d->cdnskey, sg->cdnskey,
				       sg->n_cdnskey * sizeof *d->cdnskey);
				d->n_cdnskey = sg->n_cdnskey;
			}
			/* out of memory: say so rather than hand on less */
			if (d->n_cds != sg->n_cds)
				d->cds_rr = (struct cds_signal_rr){
					CDS_RR_FAILED, sg->cds_rr.sec, CDS_ENOMEM};
			if (d->n_cdnskey != sg->n_cdnskey)
				d->cdnskey_rr = (struct cds_signal_rr){
					CDS_RR_FAILED, sg->cdnskey_rr.sec,
					CDS_ENOMEM};
		}
	}
}

/* Hand the observations over and free the probe. */
static void probe_finish(struct probe *p)
{
	struct scan_result *res = calloc(1, sizeof *res);

	if (res) {
		signals_attach(p);
		/* The server structs are done: only obs travels on. Not
		   for one: glibc's qsort mallocs a buffer for elements of
		   this size even then, and a rescan with early stop has
		   one observation per delegation (docs/BENCH.md). */
		if (p->n_obs > 1)
			qsort(p->obs, p->n_obs, sizeof *p->obs, obs_cmp);
		snprintf(res->zone, sizeof res->zone, "%s", p->zone);
		res->obs = p->obs;
		res->n_obs = p->n_obs;
		res->queries = p->queries;
		res->stopped_early = p->stopped_early;
		res->early_reason = p->early_reason;
		p->obs = NULL;
	}
	/* res is NULL only when out of memory; the receiver reports it. */
	p->cb(res, p->arg);
	probe_free(p);
}

static void finish_deferred(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	probe_finish(arg);
}

static void step_done(struct probe *p)
{
	if (--p->pending == 0 && !p->starting)
		probe_finish(p);
}

/* A new observation slot for (name, addr); returns its index or -1. */
static ssize_t obs_add(struct probe *p, const char *name, const char *addr)
{
	struct cds_server_obs *o;

	if (p->n_obs == p->cap_obs) {
		/* most delegations have two server addresses: an
		   observation is ~1 KB, and all of a probe's stay until
		   its scan is recorded */
		size_t cap = p->cap_obs ? 2 * p->cap_obs : 2;
		void *no = realloc(p->obs, cap * sizeof *p->obs);
		void *ns;

		if (!no)
			return -1;
		p->obs = no;
		ns = realloc(p->srv, cap * sizeof *p->srv);
		if (!ns)
			return -1;
		p->srv = ns;
		p->cap_obs = cap;
	}
	o = &p->obs[p->n_obs];
	memset(o, 0, sizeof *o);
	snprintf(o->name, sizeof o->name, "%s", name);
	snprintf(o->addr, sizeof o->addr, "%s", addr);
	o->csync.asked = p->csync;
	p->srv[p->n_obs] = NULL;
	return (ssize_t)p->n_obs++;
}

static void obs_error(struct cds_server_obs *o, int code, const char *fmt,
		      ...) __attribute__((format(printf, 3, 4)));

/* Keep the first error of a server: later ones are usually its echo. */
static void obs_error(struct cds_server_obs *o, int code, const char *fmt, ...)
{
	va_list ap;

	if (o->error != CDS_OK)
		return;
	o->error = code;
	va_start(ap, fmt);
	vsnprintf(o->error_text, sizeof o->error_text, fmt, ap);
	va_end(ap);
}

static struct cds_rrset_obs *rrobs(struct cds_server_obs *o,
				   const struct query *q)
{
	switch (q->qi) {
	case Q_SOA: return &o->soa;
	case Q_DNSKEY: return &o->dnskey_rr;
	case Q_CDS: return &o->cds_rr;
	case Q_CDNSKEY: return &o->cdnskey_rr;
	case Q_CSYNC: return &o->csync.rr;
	case Q_NS: return &o->csync.ns_rr;
	case Q_SOA2: return &o->csync.soa_after;
	case Q_A: return &o->csync.hosts[q->host].a_rr;
	default: return &o->csync.hosts[q->host].aaaa_rr;
	}
}

/* The name a query asks: the apex, or an in-bailiwick NS name. */
static const char *qowner(const struct server *s, const struct query *q)
{
	if (q->qi == Q_A || q->qi == Q_AAAA)
		return s->p->obs[s->idx].csync.hosts[q->host].name;
	return s->p->zone;
}

static struct scan_rrset *qset(struct server *s, const struct query *q)
{
	if (q->qi == Q_A || q->qi == Q_AAAA)
		return &s->hosts[q->host].set[q->qi - Q_A];
	return &s->sets[q->qi];
}

/* Where the authority section of a NODATA answer is kept: only for the
   CSYNC data whose absence must be proven (Y6, Y7). */
static ldns_rr_list **qauth(struct server *s, const struct query *q)
{
	if (q->qi == Q_A || q->qi == Q_AAAA)
		return &s->hosts[q->host].auth[q->qi - Q_A];
	return q->qi == Q_NS ? &s->auth_ns : NULL;
}

/*
 * Classify one answer: an authoritative NOERROR is data or NODATA; an
 * error RCODE, a referral or a non-authoritative answer is a failure of
 * that server (never data we could act on).
 */
/*
 * A CNAME owned by the apex in the answer: a zone apex holds SOA and NS,
 * and a CNAME shares its owner with nothing (RFC 1034 §3.6.2, RFC 2181
 * §10.1), so the server is broken or hostile. Its answer must not read as
 * a NODATA that an early stop would take for the status quo.
 */
static bool cname_at(const ldns_pkt *pkt, const ldns_rdf *owner)
{
	const ldns_rr_list *ans = ldns_pkt_answer(pkt);

	for (size_t i = 0; i < ldns_rr_list_rr_count(ans); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(ans, i);

		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME &&
		    ldns_dname_compare(ldns_rr_owner(rr), owner) == 0)
			return true;
	}
	return false;
}

/* Records are moved out of `pkt` (the engine's, freed after the
   callback) into the server's sets: nothing is cloned. */
static void take_answer(struct server *s, const struct query *q,
			ldns_pkt *pkt)
{
	struct probe *p = s->p;
	struct cds_server_obs *o = &p->obs[s->idx];
	struct cds_rrset_obs *ro = rrobs(o, q);
	struct scan_rrset *set = qset(s, q);
	ldns_rr_list **auth = qauth(s, q);
	const char *owner = qowner(s, q);
	ldns_rdf *own_tmp = NULL;
	const ldns_rdf *own;
	ldns_pkt_rcode rc = ldns_pkt_get_rcode(pkt);
	int qi = q->qi;

	if (rc != LDNS_RCODE_NOERROR) {
		ldns_lookup_table *lt =
			ldns_lookup_by_id(ldns_rcodes, (int)rc);

		ro->state = CDS_RR_FAILED;
		ro->error = CDS_ERCODE;
		obs_error(o, CDS_ERCODE, "%s: rcode %s", qnames[qi],
			  lt ? lt->name : "?");
		return;
	}
	if (!ldns_pkt_aa(pkt)) {
		ro->state = CDS_RR_FAILED;
		ro->error = CDS_ELAME;
		obs_error(o, CDS_ELAME, "%s: not authoritative (AA=0%s)",
			  qnames[qi],
			  ldns_pkt_nscount(pkt) ? ", referral" : "");
		return;
	}
	/* the apex is made once per delegation, not once per answer (a
	   measurable part of a rescan's CPU, docs/BENCH.md) */
	if (owner == p->zone && !p->apex)
		p->apex = ldns_dname_new_frm_str(p->zone);
	own = owner == p->zone ? p->apex
			       : (own_tmp = ldns_dname_new_frm_str(owner));
	if (own && cname_at(pkt, own)) {
		ro->state = CDS_RR_FAILED;
		ro->error = CDS_EPROTO;
		obs_error(o, CDS_EPROTO, "%s: CNAME at %s", qnames[qi],
			  owner == p->zone ? "the apex" : owner);
		ldns_rdf_deep_free(own_tmp);
		return;
	}
	/* A type asked twice (CSYNC after an early stop) keeps the last. */
	scan_rrset_free(set);
	if (!own || scan_rrset_take_from_pkt(pkt, own, qtypes[qi], set) != 0) {
		ro->state = CDS_RR_FAILED;
		ro->error = CDS_ENOMEM;
		obs_error(o, CDS_ENOMEM, "%s: out of memory", qnames[qi]);
		ldns_rdf_deep_free(own_tmp);
		return;
	}
	ldns_rdf_deep_free(own_tmp);
	if (set->rrs && ldns_rr_list_rr_count(set->rrs) > 0) {
		ro->state = CDS_RR_PRESENT;
		if (qi == Q_SOA || qi == Q_SOA2) {
			ldns_rr *soa = ldns_rr_list_rr(set->rrs, 0);
			uint32_t serial = ldns_rdf2native_int32(
				ldns_rr_rdf(soa, 2));

			if (qi == Q_SOA)
				o->soa_serial = serial;
			else
				o->csync.soa_serial_after = serial;
		}
	} else {
		ro->state = CDS_RR_NODATA;
		if (auth && ldns_pkt_authority(pkt)) {
			/* the packet's section itself, an empty one in
			   its place; *auth is left NULL when memory runs
			   out, as a failed clone left it */
			ldns_rr_list *fresh = ldns_rr_list_new();

			ldns_rr_list_deep_free(*auth);
			*auth = NULL;
			if (fresh) {
				*auth = ldns_pkt_authority(pkt);
				ldns_pkt_set_authority(pkt, fresh);
				ldns_pkt_set_nscount(pkt, 0);
			}
		}
	}
}

/*
 * Bootstrapping (no current DS): the DS set this server's own CDS/CDNSKEY
 * propose, as policy will build it. Validating the server against it
 * shows whether the request is self-consistent — signed by a key the new
 * DS points to, whose DNSKEY RRset that DS proves (RFC 8078 §5, RFC 9615
 * §4.2) — before any of it is trusted. Policy then requires every server
 * to agree, so each was checked against the one set that is installed.
 * False (nothing to check against) when the server proposes nothing.
 */
static bool proposed_ds(struct probe *p, struct server *s,
			struct cds_ds *prop, size_t *n_prop)
{
	const struct cds_server_obs *o = &p->obs[s->idx];
	struct cds_server_obs tmp;
	bool ok;

	*n_prop = 0;
	if (p->n_ds > 0 || !p->cfg || p->cfg->bootstrap == 0)
		return false;
	memset(&tmp, 0, sizeof tmp);
	ok = scan_read_records(p->zone, &s->sets[Q_CDS], &s->sets[Q_CDNSKEY],
			       &tmp) == CDS_OK;
	tmp.cds_rr.state = o->cds_rr.state;
	tmp.cdnskey_rr.state = o->cdnskey_rr.state;
	ok = ok && policy_bootstrap_ds(p->zone, &tmp, p->cfg, prop, n_prop) ==
			   CDS_OK;
	cds_server_obs_clear(&tmp);
	return ok && *n_prop > 0;
}

/* The keys of a server's DNSKEY RRset by tag and algorithm, for the
   charge (sig_cost). */
struct keytags {
	size_t n;
	uint16_t tag[CDS_RRSET_MAX];
	uint8_t alg[CDS_RRSET_MAX];
};

/* What the RRSIGs in `sigs` (other records ignored) can cost: its first
   COST_SIGS_PER_RRSET RRSIGs, each with the keys sharing its key tag and
   algorithm, at most COST_KEYS_PER_SIG of them. */
static unsigned list_cost(const ldns_rr_list *sigs, const struct keytags *kt)
{
	size_t n = sigs ? ldns_rr_list_rr_count(sigs) : 0, seen = 0;
	unsigned cost = 0;

	for (size_t j = 0; j < n && seen < COST_SIGS_PER_RRSET; j++) {
		const ldns_rr *sig = ldns_rr_list_rr(sigs, j);
		const ldns_rdf *st, *sa;
		unsigned m = 0;

		if (ldns_rr_get_type(sig) != LDNS_RR_TYPE_RRSIG)
			continue;
		seen++;
		st = ldns_rr_rrsig_keytag(sig);
		sa = ldns_rr_rrsig_algorithm(sig);
		if (!st || !sa)
			continue;
		for (size_t k = 0; k < kt->n; k++)
			m += kt->tag[k] == ldns_rdf2native_int16(st) &&
			     kt->alg[k] == ldns_rdf2native_int8(sa);
		cost += m < COST_KEYS_PER_SIG ? m : COST_KEYS_PER_SIG;
	}
	return cost;
}

/*
 * The most verifications validate.c can make for this server's answers:
 * per RRset (and per CSYNC denial), what list_cost says. Counted from
 * the records, not from what the verification did, so that the charge
 * does not depend on the cache or on which server answered first; a
 * DNSKEY RRset over CDS_RRSET_MAX is never verified (validate.c) and
 * costs nothing.
 */
static unsigned sig_cost(const struct server *s)
{
	static const int typed[] = {Q_DNSKEY, Q_CDS, Q_CDNSKEY, Q_CSYNC, Q_NS};
	const ldns_rr_list *keys = s->sets[Q_DNSKEY].rrs;
	struct keytags kt;
	unsigned cost = 0;

	kt.n = keys ? ldns_rr_list_rr_count(keys) : 0;
	if (kt.n == 0 || kt.n > CDS_RRSET_MAX)
		return 0;
	for (size_t k = 0; k < kt.n; k++) {
		const ldns_rr *rr = ldns_rr_list_rr(keys, k);
		const ldns_rdf *a = ldns_rr_dnskey_algorithm(rr);

		kt.tag[k] = ldns_calc_keytag(rr);
		kt.alg[k] = a ? ldns_rdf2native_int8(a) : 0;
	}
	for (size_t t = 0; t < sizeof typed / sizeof typed[0]; t++)
		cost += list_cost(s->sets[typed[t]].sigs, &kt);
	cost += list_cost(s->auth_ns, &kt);
	for (size_t h = 0; h < s->n_hosts; h++)
		for (int t = 0; t < 2; t++)
			cost += list_cost(s->hosts[h].set[t].sigs, &kt) +
				list_cost(s->hosts[h].auth[t], &kt);
	return cost;
}

static int csync_validate(struct server *s, const struct cds_ds *ds,
			  size_t n_ds);
static void server_ask(struct server *s, unsigned mask);

static void server_done(struct server *s)
{
	struct probe *p = s->p;
	struct cds_server_obs *o = &p->obs[s->idx];
	struct cds_ds prop[CDS_DS_MAX];
	const struct cds_ds *ds = p->ds;
	size_t n_ds = p->n_ds;
	unsigned cost = sig_cost(s);
	int rc;

	if (p->sig_charged + cost > SCAN_SIGS_PER_DELEGATION) {
		/* Records read for the scan's record, nothing verified: the
		   server fails, so the delegation cannot change this run. */
		rc = scan_read_records(p->zone, &s->sets[Q_CDS],
				       &s->sets[Q_CDNSKEY], o);
		obs_error(o, CDS_ELIMIT, "signatures not verified: the "
			  "delegation's budget of %d verifications is spent "
			  "(%u charged, %u more here)",
			  SCAN_SIGS_PER_DELEGATION, p->sig_charged, cost);
		if (rc != CDS_OK)
			obs_error(o, rc, "records: %s", cds_strerror(rc));
		goto done;
	}
	p->sig_charged += cost;
	if (proposed_ds(p, s, prop, &n_ds)) {
		ds = prop;
		o->checked_proposed = true;
	} else {
		n_ds = p->n_ds;
	}
	rc = scan_validate_server_cached(p->sc->cache, p->zone, ds, n_ds,
					 &s->sets[Q_DNSKEY], &s->sets[Q_CDS],
					 &s->sets[Q_CDNSKEY], p->now, o);
	if (rc != CDS_OK)
		obs_error(o, rc, "validation: %s", cds_strerror(rc));
	if (o->soa.state != CDS_RR_PRESENT && o->error == CDS_OK)
		obs_error(o, CDS_ELAME, "SOA: no SOA at the apex");
	if (p->csync && o->csync.rr.state == CDS_RR_PRESENT &&
	    (rc = csync_validate(s, ds, n_ds)) != CDS_OK)
		obs_error(o, rc, "CSYNC validation: %s", cds_strerror(rc));
done:
	server_sets_free(s);
	log_debug("%s: %s/%s done: %s", p->zone, o->name, o->addr,
		  o->error ? o->error_text : "ok");
	step_done(p);
}

static void early_done(struct server *s);
static void csync_step(struct server *s);

static void queries_done(struct server *s)
{
	if (s->early)
		early_done(s);
	else if (s->p->csync && s->stage != CS_DONE)
		csync_step(s);
	else
		server_done(s);
}

static void on_answer(const struct scan_answer *ans, void *arg)
{
	struct query *q = arg;
	struct server *s = q->srv;
	struct cds_server_obs *o = &s->p->obs[s->idx];

	if (ans->transport == CDS_TRANSPORT_TCP)
		o->transport = CDS_TRANSPORT_TCP;
	if (ans->status == CDS_OK) {
		take_answer(s, q, ans->pkt);
	} else {
		struct cds_rrset_obs *ro = rrobs(o, q);

		ro->state = CDS_RR_FAILED;
		ro->error = ans->status;
		obs_error(o, ans->status, "%s: %s after %u %s", qnames[q->qi],
			  cds_strerror(ans->status), ans->attempts,
			  ans->attempts == 1 ? "try" : "tries");
	}
	if (--s->pending == 0)
		queries_done(s);
}

/* ---- CSYNC (RFC 7477 §3, RFC 9975 §3.2, STANDARDS §6) ----------------- */

static int name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Sort and drop duplicates of n names; returns how many are left. */
static size_t names_unique(char (*v)[CDS_NAME_MAX], size_t n)
{
	size_t k = 0;

	qsort(v, n, CDS_NAME_MAX, name_cmp);
	for (size_t i = 0; i < n; i++)
		if (k == 0 || strcmp(v[k - 1], v[i]) != 0)
			memmove(v[k++], v[i], CDS_NAME_MAX);
	return k;
}

static int addr_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The addresses of an A or AAAA RRset as text (inet_ntop: the canonical
   form for AAAA, RFC 5952), sorted, duplicates dropped, at most
   CDS_GLUE_MAX (rr->count says how many there were). */
static size_t addrs_text(const ldns_rr_list *rrs, bool v6,
			 char (*out)[CDS_ADDR_STR_MAX])
{
	size_t n = 0, k = 0;

	for (size_t i = 0; rrs && i < ldns_rr_list_rr_count(rrs) &&
			   n < CDS_GLUE_MAX; i++) {
		const ldns_rdf *f = ldns_rr_rdf(ldns_rr_list_rr(rrs, i), 0);

		if (!f || ldns_rdf_size(f) != (v6 ? 16u : 4u) ||
		    !inet_ntop(v6 ? AF_INET6 : AF_INET, ldns_rdf_data(f), out[n],
			       CDS_ADDR_STR_MAX))
			continue;
		n++;
	}
	qsort(out, n, CDS_ADDR_STR_MAX, addr_cmp);
	for (size_t i = 0; i < n; i++)
		if (k == 0 || strcmp(out[k - 1], out[i]) != 0)
			memmove(out[k++], out[i], CDS_ADDR_STR_MAX);
	return k;
}

/* Every RRset the CSYNC steps brought in, checked against this server's
   DNSKEY RRset like the CDS RRset (Y1); NODATA data through its denial
   (CSYNC NODATA needs none: it changes nothing). */
static int csync_validate(struct server *s, const struct cds_ds *ds,
			  size_t n_ds)
{
	struct probe *p = s->p;
	struct cds_csync_obs *c = &p->obs[s->idx].csync;
	struct scan_keys *k = NULL;
	int rc;

	rc = scan_keys_new(p->sc->cache, p->zone, ds, n_ds, &s->sets[Q_DNSKEY],
			   p->now, &k);
	if (rc != CDS_OK)
		goto out;
	rc = scan_check_rrset(k, p->zone, LDNS_RR_TYPE_CSYNC,
			      &s->sets[Q_CSYNC], &c->rr);
	if (rc == CDS_OK && c->ns_rr.state == CDS_RR_PRESENT)
		rc = scan_check_rrset(k, p->zone, LDNS_RR_TYPE_NS,
				      &s->sets[Q_NS], &c->ns_rr);
	else if (rc == CDS_OK && c->ns_rr.state == CDS_RR_NODATA)
		rc = scan_check_denial(k, p->zone, LDNS_RR_TYPE_NS, s->auth_ns,
				       &c->ns_rr);
	for (size_t h = 0; rc == CDS_OK && h < s->n_hosts; h++) {
		struct cds_csync_host *ho = &c->hosts[h];

		for (int t = 0; rc == CDS_OK && t < 2; t++) {
			struct cds_rrset_obs *ro = t ? &ho->aaaa_rr : &ho->a_rr;
			uint16_t type = qtypes[Q_A + t];

			if (ro->state == CDS_RR_PRESENT)
				rc = scan_check_rrset(k, ho->name, type,
						      &s->hosts[h].set[t], ro);
			else if (ro->state == CDS_RR_NODATA)
				rc = scan_check_denial(k, ho->name, type,
						       s->hosts[h].auth[t], ro);
		}
	}
out:
	scan_keys_free(k);
	return rc;
}

/* Read the CSYNC RRset the server gave: count, then the one record's
   rdata (W3). More than one record is kept as a count: policy ignores
   the lot (Y2). */
static void csync_read(struct server *s)
{
	struct cds_csync_obs *c = &s->p->obs[s->idx].csync;
	const ldns_rr_list *rrs = s->sets[Q_CSYNC].rrs;
	ldns_buffer *buf;

	c->rr.count = rrs ? (unsigned)ldns_rr_list_rr_count(rrs) : 0;
	if (c->rr.state != CDS_RR_PRESENT || c->rr.count == 0)
		return;
	buf = ldns_buffer_new(512);
	if (buf && ldns_rr_rdata2buffer_wire(buf, ldns_rr_list_rr(rrs, 0)) ==
			   LDNS_STATUS_OK && ldns_buffer_status_ok(buf))
		(void)scan_csync_parse(ldns_buffer_begin(buf),
				       ldns_buffer_position(buf), c);
	else
		c->malformed = true;
	ldns_buffer_free(buf);
}

static bool csync_names(const struct cds_csync_obs *c, uint16_t type)
{
	for (size_t i = 0; i < c->n_types; i++)
		if (c->types[i] == type)
			return true;
	return false;
}

/* The server's NS RRset into obs.csync.ns: lower case, trailing dot,
   sorted, duplicates dropped. */
static int csync_take_ns(struct server *s)
{
	struct cds_csync_obs *c = &s->p->obs[s->idx].csync;
	const ldns_rr_list *rrs = s->sets[Q_NS].rrs;
	size_t n = rrs ? ldns_rr_list_rr_count(rrs) : 0;

	if (c->ns_rr.state != CDS_RR_PRESENT || n == 0)
		return CDS_OK;
	c->ns = calloc(n, CDS_NAME_MAX);
	if (!c->ns)
		return CDS_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const ldns_rdf *f = ldns_rr_rdf(ldns_rr_list_rr(rrs, i), 0);
		char *txt = f ? ldns_rdf2str(f) : NULL;

		if (txt && cds_name_normalize(txt, c->ns[c->n_ns]) == CDS_OK)
			c->n_ns++;
		free(txt);
	}
	c->n_ns = names_unique(c->ns, c->n_ns);
	if (c->n_ns > CDS_CSYNC_NS_MAX) {
		c->ns_overflow = true;
		c->n_ns = CDS_CSYNC_NS_MAX;
	}
	return CDS_OK;
}

/* The in-bailiwick NS names whose A/AAAA the bit map asks for: of the
   server's own NS RRset when the NS bit is set, else of the parent's NS
   set (Y7: after NS, against the new set). Sorted, no duplicates. */
static int csync_hosts(struct server *s)
{
	struct probe *p = s->p;
	struct cds_csync_obs *c = &p->obs[s->idx].csync;
	char names[CDS_CSYNC_NS_MAX][CDS_NAME_MAX];
	size_t n = 0;

	if (csync_names(c, LDNS_RR_TYPE_NS)) {
		for (size_t i = 0; i < c->n_ns; i++)
			if (policy_ns_in_child(p->zone, c->ns[i]))
				memcpy(names[n++], c->ns[i], CDS_NAME_MAX);
	} else {
		for (size_t i = 0; i < p->n_ns && n < CDS_CSYNC_NS_MAX; i++)
			if (policy_ns_in_child(p->zone, p->ns[i].name) &&
			    cds_name_normalize(p->ns[i].name, names[n]) ==
				    CDS_OK)
				n++;
		n = names_unique(names, n);
	}
	if (n == 0)
		return CDS_OK;
	c->hosts = calloc(n, sizeof *c->hosts);
	s->hosts = calloc(n, sizeof *s->hosts);
	if (!c->hosts || !s->hosts)
		return CDS_ENOMEM;
	c->n_hosts = s->n_hosts = n;
	for (size_t i = 0; i < n; i++)
		memcpy(c->hosts[i].name, names[i], CDS_NAME_MAX);
	return CDS_OK;
}

static void ask_one(struct server *s, struct query *q)
{
	struct probe *p = s->p;
	int rc;

	s->pending++;
	rc = scan_engine_query(p->sc->eng, (struct sockaddr *)&s->sa, s->salen,
			       qowner(s, q), qtypes[q->qi], on_answer, q);
	if (rc != CDS_OK) {
		s->pending--;
		rrobs(&p->obs[s->idx], q)->state = CDS_RR_FAILED;
		obs_error(&p->obs[s->idx], rc, "%s: %s", qnames[q->qi],
			  cds_strerror(rc));
		return;
	}
	p->queries++;
}

/* A and/or AAAA, as the bit map names them, of every host at once. */
static void hosts_ask(struct server *s)
{
	struct cds_csync_obs *c = &s->p->obs[s->idx].csync;
	bool want[2] = {csync_names(c, LDNS_RR_TYPE_A),
			csync_names(c, LDNS_RR_TYPE_AAAA)};

	s->pending = 1;
	for (size_t h = 0; h < s->n_hosts; h++)
		for (int t = 0; t < 2; t++) {
			if (!want[t])
				continue;
			s->hosts[h].q[t] = (struct query){s, Q_A + t, h};
			ask_one(s, &s->hosts[h].q[t]);
		}
	if (--s->pending == 0)
		queries_done(s);
}

/* Fill in the addresses of the hosts once their answers are in. */
static void hosts_take(struct server *s)
{
	struct cds_csync_obs *c = &s->p->obs[s->idx].csync;

	for (size_t h = 0; h < s->n_hosts; h++) {
		struct cds_csync_host *ho = &c->hosts[h];

		ho->n_a = addrs_text(s->hosts[h].set[0].rrs, false, ho->a);
		ho->n_aaaa = addrs_text(s->hosts[h].set[1].rrs, true, ho->aaaa);
	}
}

/*
 * The next CSYNC step of a server whose previous step is back (RFC
 * 7477 §3.1: SOA, CSYNC, the data, SOA again; Y5). A failure anywhere
 * ends the steps: the server's error then decides (policy: pending).
 */
static void csync_step(struct server *s)
{
	struct cds_server_obs *o = &s->p->obs[s->idx];
	struct cds_csync_obs *c = &o->csync;
	bool hosts;
	int rc = CDS_OK;

	if (o->error != CDS_OK) {
		s->stage = CS_DONE;
		server_done(s);
		return;
	}
	switch (s->stage) {
	case CS_NONE:
		if (s->csync_absent)
			break;
		s->stage = CS_CSYNC;
		server_ask(s, 1u << Q_CSYNC);
		return;
	case CS_CSYNC:
		csync_read(s);
		/* Nothing to follow: absent, several, or unreadable. */
		if (c->rr.state != CDS_RR_PRESENT || c->rr.count != 1 ||
		    c->malformed)
			break;
		if (csync_names(c, LDNS_RR_TYPE_NS)) {
			s->stage = CS_NS;
			server_ask(s, 1u << Q_NS);
			return;
		}
		/* no NS step */
		__attribute__((fallthrough));
	case CS_NS:
		if ((rc = csync_take_ns(s)) != CDS_OK)
			break;
		hosts = csync_names(c, LDNS_RR_TYPE_A) ||
			csync_names(c, LDNS_RR_TYPE_AAAA);
		if (hosts && (rc = csync_hosts(s)) != CDS_OK)
			break;
		if (hosts && s->n_hosts > 0) {
			s->stage = CS_HOSTS;
			hosts_ask(s);
			return;
		}
		__attribute__((fallthrough));
	case CS_HOSTS:
		hosts_take(s);
		s->stage = CS_SOA2;
		server_ask(s, 1u << Q_SOA2);
		return;
	case CS_SOA2:
	case CS_DONE:
		break;
	}
	if (rc != CDS_OK)
		obs_error(o, rc, "CSYNC: %s", cds_strerror(rc));
	s->stage = CS_DONE;
	server_done(s);
}

/* Send the queries of `mask` to server s; queries_done() when all are
   back (at once if none could be sent). */
static void server_ask(struct server *s, unsigned mask)
{
	s->pending = 1; /* held until every query is issued */
	for (int qi = 0; qi < Q__COUNT; qi++) {
		if (!(mask & 1u << qi))
			continue;
		s->q[qi] = (struct query){s, qi, 0};
		ask_one(s, &s->q[qi]);
	}
	if (--s->pending == 0)
		queries_done(s);
}

/* Start asking one address of one NS name: everything, or (early) CDS
   and CDNSKEY only. */
static void server_start(struct probe *p, const char *name,
			 const struct sockaddr *sa, socklen_t salen, bool early)
{
	char addr[CDS_ADDR_STR_MAX];
	ssize_t idx;
	struct server *s;

	scan_addr_str(sa, addr, sizeof addr);
	idx = obs_add(p, name, addr);
	if (idx < 0)
		return;
	s = calloc(1, sizeof *s);
	if (!s) {
		obs_error(&p->obs[idx], CDS_ENOMEM, "out of memory");
		return;
	}
	s->p = p;
	s->idx = (size_t)idx;
	s->early = early;
	memcpy(&s->sa, sa, salen);
	s->salen = salen;
	p->srv[idx] = s;
	p->pending++;
	/* With CSYNC the early server is asked for it too: only its
	   absence lets the probe stop (Y8, probe.h). */
	server_ask(s, early ? Q_EARLY | (p->csync ? 1u << Q_CSYNC : 0)
			    : Q_ALL);
}

static void name_failed(struct probe *p, const char *name, int code,
			const char *why)
{
	ssize_t idx = obs_add(p, name, "");

	if (idx >= 0)
		obs_error(&p->obs[idx], code, "no address: %s", why);
}

static socklen_t ss_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					 : sizeof(struct sockaddr_in);
}

/* The addresses of one NS name are known: ask each, except address
   `skip` (the early server, already asked; SIZE_MAX for none). */
static void name_addrs(struct probe *p, const char *name, int status,
		       const struct sockaddr_storage *addrs, size_t n,
		       enum scan_dnssec dnssec, size_t skip)
{
	if (status != CDS_OK)
		name_failed(p, name, status,
			    status == CDS_EBOGUS ? "address lookup is bogus"
						 : cds_strerror(status));
	else if (n == 0)
		name_failed(p, name, CDS_ERESOLVE, "no A or AAAA records");
	for (size_t i = 0; status == CDS_OK && i < n; i++)
		if (i != skip)
			server_start(p, name, (const struct sockaddr *)&addrs[i],
				     ss_len(&addrs[i]), false);
	log_debug("%s: NS %s: %zu addresses (%s)", p->zone, name, n,
		  scan_dnssec_name(dnssec));
}

static void on_addrs(int status, const char *name,
		     const struct sockaddr_storage *addrs, size_t n,
		     enum scan_dnssec dnssec, void *arg)
{
	struct probe *p = arg;

	name_addrs(p, name, status, addrs, n, dnssec, SIZE_MAX);
	step_done(p);
}

/* Every address of NS name i, except the early server's. */
static void ns_start(struct probe *p, size_t i)
{
	const struct cds_ns *ns = &p->ns[i];
	bool early_here = p->early_asked && p->early_ns == i;

	for (size_t g = 0; g < ns->n_glue; g++) {
		struct sockaddr_storage ss;
		socklen_t len;

		if (early_here && p->early_addr == g)
			continue;
		if (scan_parse_addr(ns->glue[g], p->port, &ss, &len) != 0) {
			name_failed(p, ns->name, CDS_EINVAL, "bad glue address");
			continue;
		}
		server_start(p, ns->name, (struct sockaddr *)&ss, len, false);
	}
	if (ns->n_glue)
		return;
	if (p->early_looked_up && p->early_ns == i) {
		name_addrs(p, ns->name, p->lookup.status, p->lookup.addrs,
			   p->lookup.n, p->lookup.dnssec,
			   early_here ? p->early_addr : SIZE_MAX);
		return;
	}
	if (!p->sc->res) {
		name_failed(p, ns->name, CDS_ERESOLVE,
			    "no glue and no resolver configured");
		return;
	}
	p->pending++;
	if (scan_resolve_addrs(p->sc->res, ns->name, on_addrs, p) != CDS_OK) {
		p->pending--;
		name_failed(p, ns->name, CDS_ERESOLVE, "lookup not started");
	}
}

/* ---- RFC 9615 signals (STANDARDS B3, B5) ---------------------------- */

static enum cds_secstate sec_of(enum scan_dnssec d)
{
	switch (d) {
	case SCAN_DNSSEC_SECURE: return CDS_SEC_SECURE;
	case SCAN_DNSSEC_INSECURE: return CDS_SEC_INSECURE;
	case SCAN_DNSSEC_BOGUS: return CDS_SEC_BOGUS;
	default: return CDS_SEC_INDETERMINATE;
	}
}

/* One type of one signal is back: keep its records and what the
   validator said. The records are read as the probe reads an apex
   answer, with the signaling name as owner. */
static void on_signal(int status, const ldns_rr_list *rrs,
		      enum scan_dnssec dnssec, void *arg)
{
	struct signal_type *st = arg;
	struct signal *sg = st->sig;
	bool is_cds = st->qi == Q_CDS;
	struct cds_signal_rr *rr = is_cds ? &sg->obs.cds_rr
					  : &sg->obs.cdnskey_rr;
	struct scan_rrset set = {(ldns_rr_list *)rrs, NULL}, none = {0};
	struct cds_server_obs tmp;

	rr->sec = sec_of(dnssec);
	memset(&tmp, 0, sizeof tmp);
	if (status == CDS_OK)
		status = scan_read_records(sg->qname, is_cds ? &set : &none,
					   is_cds ? &none : &set, &tmp);
	if (status != CDS_OK) {
		rr->state = CDS_RR_FAILED;
		rr->error = status;
	} else {
		rr->state = ldns_rr_list_rr_count(rrs) ? CDS_RR_PRESENT
						       : CDS_RR_NODATA;
		if (is_cds) {
			sg->obs.cds = tmp.cds;
			sg->obs.n_cds = tmp.n_cds;
			tmp.cds = NULL;
		} else {
			sg->obs.cdnskey = tmp.cdnskey;
			sg->obs.n_cdnskey = tmp.n_cdnskey;
			tmp.cdnskey = NULL;
		}
	}
	cds_server_obs_clear(&tmp);
	log_debug("%s: signal %s %s: %s, %s", sg->p->zone, sg->qname,
		  qnames[st->qi], cds_strerror(status),
		  scan_dnssec_name(dnssec));
	step_done(sg->p);
}

/* Look up _dsboot.<child>._signal.<ns> (CDS and CDNSKEY) for every NS
   name outside the child, when the parent holds no DS and policy wants
   RFC 9615 (§4.2 step 3). The lookups go through the validating
   resolver (getdns, which validates itself: the AD bit of an upstream
   is not trusted). A signal not looked up stays looked_up = false and
   policy refuses the RFC 9615 path. */
static void signals_start(struct probe *p)
{
	if (p->signals_started || !p->cfg || p->n_ds > 0 ||
	    !(p->cfg->bootstrap & POLICY_BOOT_RFC9615))
		return;
	p->signals_started = true;
	p->sig = calloc(p->n_ns ? p->n_ns : 1, sizeof *p->sig);
	if (!p->sig || !p->sc->res)
		return;
	for (size_t i = 0; i < p->n_ns; i++) {
		const char *ns = p->ns[i].name;
		struct signal *sg;

		if (policy_ns_in_child(p->zone, ns))
			continue;
		sg = &p->sig[p->n_sig++];
		sg->p = p;
		snprintf(sg->ns, sizeof sg->ns, "%s", ns);
		snprintf(sg->qname, sizeof sg->qname, "_dsboot.%s_signal.%s",
			 p->zone, ns);
		sg->obs.looked_up = true;
		for (int t = 0; t < 2; t++) {
			struct cds_signal_rr *rr = t ? &sg->obs.cdnskey_rr
						     : &sg->obs.cds_rr;
			int rc;

			sg->t[t] = (struct signal_type){sg, t ? Q_CDNSKEY
							      : Q_CDS};
			p->pending++;
			/* a name over 255 octets is refused here */
			rc = scan_resolve_lookup(p->sc->res, sg->qname,
						 qtypes[sg->t[t].qi], on_signal,
						 &sg->t[t]);
			if (rc != CDS_OK) {
				p->pending--;
				rr->state = CDS_RR_FAILED;
				rr->error = rc;
			}
		}
	}
}

/* The full probe: every address of every NS name (and the RFC 9615
   signals when bootstrapping). Callers hold a pending count of their
   own, so the probe cannot finish in here. */
static void full_start(struct probe *p)
{
	signals_start(p);
	for (size_t i = 0; i < p->n_ns; i++)
		ns_start(p, i);
}

/* ---- early stop (STANDARDS Q6) ---------------------------------------- */

/*
 * The early server answered CDS and CDNSKEY. Stop when the answer
 * confirms the status quo; else go on with the full probe, and ask this
 * server for the rest (SOA, DNSKEY) unless it failed: a failed server
 * keeps its failure, which decides the outcome anyway (RFC 9975 §3).
 */
static void early_done(struct server *s)
{
	struct probe *p = s->p;
	struct cds_server_obs *o = &p->obs[s->idx];
	struct cds_delegation deleg;
	enum cds_reason r;
	bool failed;
	int rc;

	s->early = false;
	if (o->error == CDS_OK) {
		snprintf(deleg.name, sizeof deleg.name, "%s", p->zone);
		deleg.ds = p->ds;
		deleg.n_ds = p->n_ds;
		rc = scan_read_records(p->zone, &s->sets[Q_CDS],
				       &s->sets[Q_CDNSKEY], o);
		if (rc != CDS_OK)
			obs_error(o, rc, "reading CDS/CDNSKEY: %s",
				  cds_strerror(rc));
		else if (policy_early_stop(&deleg, o, p->policy, &r) &&
			 (!p->csync || o->csync.rr.state == CDS_RR_NODATA)) {
			log_debug("%s: %s/%s confirms the status quo (%s): "
				  "stopped early", p->zone, o->name, o->addr,
				  cds_reason_name(r));
			p->stopped_early = true;
			p->early_reason = r;
			server_sets_free(s);
			step_done(p);
			return;
		}
		/* Read again, with the signatures, once DNSKEY is in. */
		cds_server_obs_clear(o);
		/* No CSYNC: nothing to follow, so no need to ask it again
		   after SOA (a CSYNC that is there is asked again, so that
		   SOA comes first, Y5). */
		s->csync_absent = p->csync &&
				  o->csync.rr.state == CDS_RR_NODATA;
	}
	log_debug("%s: %s/%s does not confirm the status quo: full probe",
		  p->zone, o->name, o->addr);
	failed = o->error != CDS_OK;
	/* o is not read past here: the other servers' slots may move
	   p->obs (obs_add grows it) */
	full_start(p);
	if (!failed)
		server_ask(s, 1u << Q_SOA | 1u << Q_DNSKEY);
	else
		server_done(s);
}

/* Among NS names with glue (else all), in name order, number k. */
static size_t pick_ns(const struct probe *p, uint32_t seed)
{
	size_t n_glued = 0, n_cand, k, best = 0;
	bool glued;

	for (size_t i = 0; i < p->n_ns; i++)
		n_glued += p->ns[i].n_glue > 0;
	glued = n_glued > 0;
	n_cand = glued ? n_glued : p->n_ns;
	k = seed % n_cand;
	/* The k-th smallest name among candidates: n is a handful, and a
	   name order makes the choice independent of the order given. */
	for (size_t i = 0; i < p->n_ns; i++) {
		size_t rank = 0;

		if (glued && p->ns[i].n_glue == 0)
			continue;
		for (size_t j = 0; j < p->n_ns; j++)
			if ((!glued || p->ns[j].n_glue > 0) &&
			    (strcmp(p->ns[j].name, p->ns[i].name) < 0 ||
			     (strcmp(p->ns[j].name, p->ns[i].name) == 0 &&
			      j < i)))
				rank++;
		if (rank == k)
			best = i;
	}
	return best;
}

static size_t names_eligible(const struct probe *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n_ns; i++)
		n += p->ns[i].n_glue > 0;
	return n ? n : p->n_ns;
}

static void on_early_addrs(int status, const char *name,
			   const struct sockaddr_storage *addrs, size_t n,
			   enum scan_dnssec dnssec, void *arg)
{
	struct probe *p = arg;
	size_t k = 0;

	p->early_looked_up = true;
	p->lookup.status = status;
	p->lookup.dnssec = dnssec;
	if (status == CDS_OK && n > 0) {
		p->lookup.addrs = calloc(n, sizeof *addrs);
		if (p->lookup.addrs) {
			memcpy(p->lookup.addrs, addrs, n * sizeof *addrs);
			p->lookup.n = n;
		} else {
			p->lookup.status = CDS_ENOMEM;
		}
	}
	if (p->lookup.status == CDS_OK && p->lookup.n > 0) {
		k = (p->early_seed / names_eligible(p)) % p->lookup.n;
		p->early_asked = true;
		p->early_addr = k;
		server_start(p, name, (struct sockaddr *)&p->lookup.addrs[k],
			     ss_len(&p->lookup.addrs[k]), true);
	} else {
		/* Nothing to ask first: the full probe reports this name. */
		full_start(p);
	}
	step_done(p);
}

/* Ask one address first; false when there is none to ask at once or
   by lookup (the caller then starts the full probe). */
static bool early_start(struct probe *p)
{
	const struct cds_ns *ns;
	struct sockaddr_storage ss;
	socklen_t len;
	size_t g;

	if (p->n_ns == 0)
		return false;
	p->early_ns = pick_ns(p, p->early_seed);
	ns = &p->ns[p->early_ns];
	if (ns->n_glue > 0) {
		g = (p->early_seed / names_eligible(p)) % ns->n_glue;
		if (scan_parse_addr(ns->glue[g], p->port, &ss, &len) != 0)
			return false;
		p->early_asked = true;
		p->early_addr = g;
		server_start(p, ns->name, (struct sockaddr *)&ss, len, true);
		return true;
	}
	if (!p->sc->res)
		return false;
	p->pending++;
	if (scan_resolve_addrs(p->sc->res, ns->name, on_early_addrs, p) !=
	    CDS_OK) {
		p->pending--;
		return false;
	}
	return true;
}

static int probe_copy(struct probe *p, const struct scan_request *req)
{
	if (cds_name_normalize(req->zone, p->zone) != 0)
		return CDS_EINVAL;
	if (req->early_stop && !req->policy)
		return CDS_EINVAL;
	for (size_t i = 0; i < req->n_ns; i++)
		if (req->ns[i].n_glue > CDS_GLUE_MAX)
			return CDS_EINVAL;
	/* Not zeroed, and of each name only the glue it has: a cds_ns is
	   ~1 KB of slots for 16 addresses, and zeroing and copying all of
	   it for every delegation was ~1.4% of the loop thread's time in
	   a rescan (docs/BENCH.md). Nothing reads past n_glue. */
	p->ns = malloc((req->n_ns ? req->n_ns : 1) * sizeof *p->ns);
	p->ds = calloc(req->n_ds ? req->n_ds : 1, sizeof *p->ds);
	if (!p->ns || !p->ds)
		return CDS_ENOMEM;
	for (size_t i = 0; i < req->n_ns; i++)
		memcpy(&p->ns[i], &req->ns[i],
		       offsetof(struct cds_ns, glue) +
			       req->ns[i].n_glue * sizeof req->ns[i].glue[0]);
	if (req->n_ds)
		memcpy(p->ds, req->ds, req->n_ds * sizeof *p->ds);
	p->n_ns = req->n_ns;
	p->n_ds = req->n_ds;
	p->now = req->now;
	p->port = req->port ? req->port : 53;
	p->policy = req->early_stop ? req->policy : NULL;
	p->csync = req->csync;
	p->cfg = req->policy;
	p->early_seed = req->early_seed;
	return CDS_OK;
}

int scan_probe_start(struct scanner *sc, const struct scan_request *req,
		     scan_probe_cb cb, void *arg)
{
	struct probe *p = calloc(1, sizeof *p);
	int rc;

	if (!p)
		return CDS_ENOMEM;
	p->sc = sc;
	p->cb = cb;
	p->arg = arg;
	p->live_next = sc->live;
	if (sc->live)
		sc->live->live_prev = p;
	sc->live = p;
	if ((rc = probe_copy(p, req)) != CDS_OK) {
		probe_free(p);
		return rc;
	}
	/* Callbacks may run synchronously from the resolver; `starting`
	   keeps the probe alive until every NS has been started. */
	p->starting = true;
	if (!p->policy || !early_start(p))
		full_start(p);
	p->starting = false;
	if (p->pending == 0 &&
	    event_base_once(sc->base, -1, EV_TIMEOUT, finish_deferred, p,
			    NULL) != 0) {
		probe_free(p);
		return CDS_ENOMEM;
	}
	return CDS_OK;
}
