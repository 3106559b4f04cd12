/*
 * The DS decision: from what every nameserver address of a child said
 * (CDS, CDNSKEY, DNSKEY and how their signatures checked out), the
 * delegation's current DS set and the registry's configuration, decide
 * whether the DS set stays, is replaced, or is removed — and say why in
 * words an operator can act on, naming which server said what.
 *
 * The rules run in a fixed order (STANDARDS.md §2–4, §7, §8); the first
 * that decides ends the run. Failed servers come first, then "nothing
 * asked for", then per-server trust (signatures), then agreement across
 * servers, then the content of the agreed request. Signatures come before
 * agreement so that data no one can trust is never quoted as one side of
 * a disagreement; either way nothing changes.
 *
 * Pure: no I/O, no clock (`now` is an argument), no allocation.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/errors.h"
#include "policy/policy.h"
#include "policy/policy_int.h"

/* Records listed per set in a detail line before "+N more". */
#define SHOW_MAX 4
/* Hex or base64 characters shown of a digest or key. */
#define SHOW_CHARS 8
#define SET_STR_MAX 320
#define REC_STR_MAX 64
#define NOTE_MAX 384

enum ptype { T_CDS = 0, T_CDNSKEY };

/* Everything one decision needs; lives on the stack of policy_decide_ds. */
struct pctx {
	const struct cds_delegation *deleg;
	const struct cds_server_obs *obs;
	size_t n;
	const struct policy_config *cfg;
	int64_t now;
	struct cds_decision *out;
	bool use[2];     /* which types the input setting lets us read */
	bool present[2]; /* some answering server has that RRset */
	/* After the agreement check: a server whose RRset of that type is
	   the agreed one (NULL when the type is absent everywhere). */
	const struct cds_server_obs *ref[2];
	size_t n_answering;
	char note[NOTE_MAX]; /* servers left out (Q4), added to every detail */
	size_t n_elig;
	struct cds_ds elig[CDS_RRSET_MAX];
	size_t n_prop;
	struct cds_ds prop[CDS_RRSET_MAX];
	/* No DS at the parent and a bootstrap method on (STANDARDS §5):
	   signatures are judged against the proposed set, and the outcome
	   is policy_bootstrap_decide's (policy/bootstrap.c). */
	bool boot;
};

void policy_config_default(struct policy_config *cfg)
{
	static const uint8_t algs[] = {8, 10, 13, 14, 15, 16};
	size_t i;

	memset(cfg, 0, sizeof *cfg);
	/* RFC 9904 Table 3: SHA-256 MUST, SHA-384 MAY; SHA-1 MUST NOT. */
	cfg->digest_types = 1u << CDS_DIGEST_SHA256 | 1u << CDS_DIGEST_SHA384;
	cfg->cdnskey_digest = CDS_DIGEST_SHA256;
	/* RFC 8624 §3.1 levels kept by RFC 9904; RFC 9905 drops 5 and 7. */
	for (i = 0; i < sizeof algs; i++)
		cfg->accept_alg[algs[i]] = true;
	cfg->max_ds = 8;
	cfg->input = POLICY_INPUT_BOTH;
	cfg->exclude_unreachable_after = 0;
	cfg->n_blocking = 2;
	snprintf(cfg->blocking[0], POLICY_STATUS_LEN, "serverUpdateProhibited");
	snprintf(cfg->blocking[1], POLICY_STATUS_LEN, "clientUpdateProhibited");
	/* STANDARDS B2: support RFC 9615; accept-after-delay is opt-in. */
	cfg->bootstrap = POLICY_BOOT_RFC9615;
	cfg->bootstrap_delay_scans = 3;
	cfg->bootstrap_delay = 72 * 3600;
	cfg->hold_down = 0;
	cfg->replay_protection = true;
	cfg->allow_delete = true;
	cfg->notify_rejected_after = 3;
	/* STANDARDS §6: CSYNC on; Y6 [MAY] bounds on the NS set. */
	cfg->csync = true;
	cfg->csync_immediate = true;
	cfg->csync_min_ns = 2;
	cfg->csync_max_ns = 13;
}

/* ---- text for people -------------------------------------------------- */

void policy_text_add(char *buf, size_t size, const char *fmt, ...)
{
	size_t len = strnlen(buf, size);
	va_list ap;

	if (len + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

/* Bounded copy that says so: details are for people, a cut is fine. */
static void copy_str(char *dst, size_t size, const char *src, size_t n)
{
	if (n > strlen(src))
		n = strlen(src);
	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static const char *tname(enum ptype t)
{
	return t == T_CDS ? "CDS" : "CDNSKEY";
}

static const char *alg_str(uint8_t alg)
{
	const char *s = cds_alg_name(alg);

	return s != NULL ? s : "unknown";
}

/* "12345 13 2 ab12cd34..." */
static void fmt_ds(const struct cds_ds *d, char *buf, size_t size)
{
	char full[CDS_DS_STR_MAX];
	size_t head;

	cds_ds_format(d, full, sizeof full);
	head = strlen(full) - (d->digest_len > 0 ? 2u * d->digest_len : 1u);
	if (strlen(full) > head + SHOW_CHARS) {
		copy_str(buf, size, full, head + SHOW_CHARS);
		policy_text_add(buf, size, "...");
	} else {
		copy_str(buf, size, full, strlen(full));
	}
}

/* "257 3 13 LdK+06aZ... (tag 26056)"; the delete record in full. */
static void fmt_key(const struct cds_dnskey *k, char *buf, size_t size)
{
	char full[16 + (CDS_KEY_MAX + 2) / 3 * 4 + 1];
	size_t head;

	cds_dnskey_format(k, full, sizeof full);
	if (cds_dnskey_is_delete(k)) {
		copy_str(buf, size, full, strlen(full));
		return;
	}
	head = strlen(full) - (k->key_len > 0 ? (k->key_len + 2u) / 3 * 4 : 1u);
	copy_str(buf, size, full, head + SHOW_CHARS);
	policy_text_add(buf, size, "... (tag %u)", cds_keytag(k));
}

static void fmt_ds_list(const struct cds_ds *d, size_t n, char *buf,
			size_t size)
{
	char one[REC_STR_MAX];
	size_t i;

	snprintf(buf, size, "{");
	for (i = 0; i < n && i < SHOW_MAX; i++) {
		fmt_ds(&d[i], one, sizeof one);
		policy_text_add(buf, size, "%s%s", i > 0 ? ", " : "", one);
	}
	if (n > SHOW_MAX)
		policy_text_add(buf, size, ", +%zu more", n - SHOW_MAX);
	policy_text_add(buf, size, "}");
}

static void fmt_key_list(const struct cds_dnskey *k, size_t n, char *buf,
			 size_t size)
{
	char one[REC_STR_MAX];
	size_t i;

	snprintf(buf, size, "{");
	for (i = 0; i < n && i < SHOW_MAX; i++) {
		fmt_key(&k[i], one, sizeof one);
		policy_text_add(buf, size, "%s%s", i > 0 ? ", " : "", one);
	}
	if (n > SHOW_MAX)
		policy_text_add(buf, size, ", +%zu more", n - SHOW_MAX);
	policy_text_add(buf, size, "}");
}

/* What one server said for one type, as a short phrase. */
static void fmt_said(const struct cds_server_obs *o, enum ptype t, char *buf,
		     size_t size)
{
	const struct cds_rrset_obs *rr = t == T_CDS ? &o->cds_rr
						    : &o->cdnskey_rr;

	char set[SET_STR_MAX];

	if (rr->state != CDS_RR_PRESENT) {
		snprintf(buf, size, "no %s (%s)", tname(t),
			 cds_rrstate_name(rr->state));
		return;
	}
	if (t == T_CDS)
		fmt_ds_list(o->cds, o->n_cds, set, sizeof set);
	else
		fmt_key_list(o->cdnskey, o->n_cdnskey, set, sizeof set);
	snprintf(buf, size, "%s ", tname(t));
	policy_text_add(buf, size, "%s", set);
}

/* Fill the decision; the Q4 note on left-out servers goes last. */
static bool decide(struct pctx *c, enum cds_verdict v, enum cds_reason r,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static bool decide(struct pctx *c, enum cds_verdict v, enum cds_reason r,
		   const char *fmt, ...)
{
	va_list ap;

	c->out->verdict = v;
	c->out->reason = r;
	va_start(ap, fmt);
	vsnprintf(c->out->detail, sizeof c->out->detail, fmt, ap);
	va_end(ap);
	if (c->note[0] != '\0')
		policy_text_add(c->out->detail, sizeof c->out->detail, " [%s]", c->note);
	return true;
}

/* ---- views of one observation ---------------------------------------- */

static const struct cds_rrset_obs *rr_of(const struct cds_server_obs *o,
					 enum ptype t)
{
	return t == T_CDS ? &o->cds_rr : &o->cdnskey_rr;
}

static size_t count_of(const struct cds_server_obs *o, enum ptype t)
{
	if (rr_of(o, t)->state != CDS_RR_PRESENT)
		return 0;
	return t == T_CDS ? o->n_cds : o->n_cdnskey;
}

/* The server gave a usable answer for that type: an RRset or NODATA. */
static bool known(const struct cds_server_obs *o, enum ptype t)
{
	enum cds_rrstate s = rr_of(o, t)->state;

	return s == CDS_RR_PRESENT || s == CDS_RR_NODATA;
}

static bool answering(const struct cds_server_obs *o)
{
	return o->error == CDS_OK;
}

/* RFC 9975 §3.1 and Q3: NODATA is the empty set. */
static bool same_set(const struct cds_server_obs *a,
		     const struct cds_server_obs *b, enum ptype t)
{
	if (t == T_CDS)
		return cds_ds_set_equal(a->cds, count_of(a, T_CDS), b->cds,
					count_of(b, T_CDS));
	return cds_dnskey_set_equal(a->cdnskey, count_of(a, T_CDNSKEY),
				    b->cdnskey, count_of(b, T_CDNSKEY));
}

static bool has_delete(const struct cds_server_obs *o, enum ptype t)
{
	size_t i, n = count_of(o, t);

	for (i = 0; i < n; i++)
		if (t == T_CDS ? cds_ds_is_delete(&o->cds[i])
			       : cds_dnskey_is_delete(&o->cdnskey[i]))
			return true;
	return false;
}

/* ---- servers that did not answer (Q4) ----------------------------- */

static bool is_silence(int err)
{
	return err == CDS_ETIMEOUT || err == CDS_ENET;
}

/* STANDARDS Q4: retried for long enough, then excluded. */
static bool excludable(const struct pctx *c, const struct cds_server_obs *o)
{
	uint32_t after = c->cfg->exclude_unreachable_after;

	return after > 0 && is_silence(o->error) && o->unreachable_since != 0 &&
	       c->now - o->unreachable_since >= (int64_t)after;
}

static bool step_servers(struct pctx *c)
{
	const struct cds_server_obs *silent = NULL, *broken = NULL;
	size_t i;

	for (i = 0; i < c->n; i++) {
		const struct cds_server_obs *o = &c->obs[i];

		if (answering(o)) {
			c->n_answering++;
		} else if (excludable(c, o)) {
			policy_text_add(c->note, sizeof c->note,
			       "%sleft out %s/%s: silent for %lld s (%s), "
			       "policy excludes after %u s, STANDARDS Q4",
			       c->note[0] ? "; " : "", o->name, o->addr,
			       (long long)(c->now - o->unreachable_since),
			       o->error_text, c->cfg->exclude_unreachable_after);
		} else if (is_silence(o->error)) {
			silent = silent ? silent : o;
		} else {
			broken = broken ? broken : o;
		}
	}
	/* A lame or garbled answer is the child's to fix: report it before
	   a timeout that may go away by itself. */
	if (broken != NULL)
		return decide(c, CDS_DEC_REJECTED, CDS_R_SERVER_ERROR,
			      "%s/%s failed: %s (%s); every server must answer "
			      "consistently before the DS set changes "
			      "(RFC 9975 §3)", broken->name, broken->addr,
			      broken->error_text, cds_strerror(broken->error));
	if (silent != NULL)
		return decide(c, CDS_DEC_PENDING, CDS_R_SERVER_UNREACHABLE,
			      "%s/%s did not answer: %s; will ask again "
			      "(RFC 9975 §3, STANDARDS Q4)", silent->name,
			      silent->addr, silent->error_text);
	if (c->n_answering == 0)
		return decide(c, CDS_DEC_PENDING, CDS_R_SERVER_UNREACHABLE,
			      "no server of %s answered", c->deleg->name);
	return false;
}

/* ---- a probe that stopped early (STANDARDS Q6, RFC 9975 §3) -------- */

/*
 * An answering server that was not asked for its DNSKEY set comes from a
 * probe that stopped after it (a full probe asks every answering server
 * for everything). Its answer decides on its own when it confirms the
 * status quo, by the very test the probe used; otherwise it cannot be
 * judged (no signatures were checked) and a full probe is needed.
 *
 * The detail is written into every such scan row, most rows of a
 * nightly run: it says what the server said and that the others were
 * not asked, and leaves the why (whatever they say, nothing may change)
 * to the reason and the README.
 */
static bool step_early(struct pctx *c)
{
	enum cds_reason r;
	size_t i;

	for (i = 0; i < c->n; i++) {
		const struct cds_server_obs *o = &c->obs[i];

		if (!answering(o) || o->dnskey_rr.state != CDS_RR_NOT_QUERIED)
			continue;
		if (policy_early_stop(c->deleg, o, c->cfg, &r))
			return decide(c, CDS_DEC_UNCHANGED, r,
				      "%s/%s %s; the other servers were not "
				      "asked (early stop, RFC 9975 §3)",
				      o->name, o->addr,
				      r == CDS_R_NO_CDS
					      ? "publishes no CDS or CDNSKEY"
				      : r == CDS_R_ALREADY_INSECURE
					      ? "asks for DS removal and the "
						"parent holds no DS"
					      : "asks for exactly the current "
						"DS set");
		return decide(c, CDS_DEC_PENDING, CDS_R_SERVER_UNREACHABLE,
			      "%s/%s was asked only for CDS and CDNSKEY and "
			      "its answer does not confirm the current DS set; "
			      "a change needs every server and the signatures "
			      "(full probe)", o->name, o->addr);
	}
	return false;
}

/* ---- nothing asked for (C2) ---------------------------------------- */

static bool step_nothing(struct pctx *c)
{
	bool any_known = false;
	size_t i;
	int t;

	for (i = 0; i < c->n; i++) {
		if (!answering(&c->obs[i]))
			continue;
		for (t = T_CDS; t <= T_CDNSKEY; t++) {
			if (!c->use[t])
				continue;
			any_known |= known(&c->obs[i], t);
			c->present[t] |= count_of(&c->obs[i], t) > 0;
		}
	}
	if (c->present[T_CDS] || c->present[T_CDNSKEY])
		return false;
	if (!any_known)
		return decide(c, CDS_DEC_PENDING, CDS_R_SERVER_UNREACHABLE,
			      "no server was asked for %s",
			      c->use[T_CDS] ? "CDS" : "CDNSKEY");
	/* RFC 7344 §6.1.1: no CDS and no CDNSKEY, the DS RRset stays. */
	return decide(c, CDS_DEC_UNCHANGED, CDS_R_NO_CDS,
		      "no %s at any of the %zu answering servers%s",
		      c->use[T_CDS] && c->use[T_CDNSKEY] ? "CDS or CDNSKEY"
		      : c->use[T_CDS]                    ? "CDS"
							 : "CDNSKEY",
		      c->n_answering,
		      c->use[T_CDS] && c->use[T_CDNSKEY]
			      ? ""
			      : " (the other type is ignored by policy.input)");
}

/* ---- RRsets larger than we keep ------------------------------------ */

static bool step_overflow(struct pctx *c)
{
	size_t i;
	int t;

	for (i = 0; i < c->n; i++) {
		const struct cds_server_obs *o = &c->obs[i];

		for (t = T_CDS; t <= T_CDNSKEY; t++)
			if (answering(o) && c->use[t] &&
			    (rr_of(o, t)->overflow ||
			     count_of(o, t) > CDS_RRSET_MAX))
				return decide(c, CDS_DEC_REJECTED,
					      CDS_R_TOO_MANY_RECORDS,
					      "%s/%s serves %u %s records, more "
					      "than the %d we accept",
					      o->name, o->addr,
					      rr_of(o, t)->count > count_of(o, t)
						      ? rr_of(o, t)->count
						      : (unsigned)count_of(o, t),
					      tname(t),
					      CDS_RRSET_MAX);
	}
	return false;
}

/* ---- no DS at the parent (D T "child has no DS → no-op") ------------- */

/* Every RRset present is exactly the delete record (D1). */
static bool only_deletes(const struct pctx *c)
{
	size_t i;
	int t;

	for (i = 0; i < c->n; i++)
		for (t = T_CDS; t <= T_CDNSKEY; t++)
			if (answering(&c->obs[i]) && c->use[t] &&
			    count_of(&c->obs[i], t) > 0 &&
			    !(count_of(&c->obs[i], t) == 1 &&
			      has_delete(&c->obs[i], t)))
				return false;
	return true;
}

static bool step_no_ds(struct pctx *c)
{
	if (c->deleg->n_ds > 0)
		return false;
	if (only_deletes(c))
		return decide(c, CDS_DEC_UNCHANGED, CDS_R_ALREADY_INSECURE,
			      "the child asks for DS removal, but %s has no "
			      "DS at the parent: nothing to do",
			      c->deleg->name);
	/* Nothing signs for an unsecured child: initial enrollment needs
	   RFC 9615 or another bootstrap policy (STANDARDS §5). */
	if (c->cfg->bootstrap != 0) {
		c->boot = true;
		return false;
	}
	return decide(c, CDS_DEC_REJECTED, CDS_R_BOOTSTRAP_DISABLED,
		      "%s has no DS at the parent and publishes CDS/CDNSKEY; "
		      "initial enrollment (bootstrapping, RFC 9615) is not "
		      "enabled, so the records cannot be authenticated",
		      c->deleg->name);
}

/* ---- signatures, per server (C1, RFC 7344 §4.1) -------------------- */

static bool sig_fails(struct pctx *c, const struct cds_server_obs *o,
		      enum ptype t)
{
	const struct cds_rrset_obs *rr = rr_of(o, t);

	switch (rr->sig) {
	case CDS_SIG_VALID_DS_KEY:
		return false;
	case CDS_SIG_VALID_OTHER:
		if (c->cfg->accept_any_dnskey)
			return false;
		return decide(c, CDS_DEC_REJECTED, CDS_R_SIG_NOT_DS_KEY,
			      "%s/%s: the %s RRset is signed only by key %u, "
			      "which no current DS refers to; RFC 7344 §4.1 "
			      "needs a signature by a key in both the DS and "
			      "the DNSKEY RRset (sign %s with the KSK)",
			      o->name, o->addr, tname(t), rr->sig_keytag,
			      tname(t));
	case CDS_SIG_UNPROVEN:
		return decide(c, CDS_DEC_REJECTED, CDS_R_DNSKEY_UNPROVEN,
			      "%s/%s: its DNSKEY RRset is not signed by any "
			      "key the current DS refers to, so its %s cannot "
			      "be trusted (RFC 7344 §4.1)",
			      o->name, o->addr, tname(t));
	case CDS_SIG_EXPIRED:
		return decide(c, CDS_DEC_REJECTED, CDS_R_SIG_INVALID,
			      "%s/%s: the %s signature is outside its "
			      "validity (inception %u, expiration %u, now "
			      "%lld)", o->name, o->addr, tname(t),
			      rr->sig_inception, rr->sig_expiration,
			      (long long)c->now);
	default:
		/* UNSIGNED, BOGUS, or never checked: STANDARDS §13.2 aborts
		   on any bogus answer. */
		return decide(c, CDS_DEC_REJECTED, CDS_R_SIG_INVALID,
			      "%s/%s: the %s RRset does not validate (%s)",
			      o->name, o->addr, tname(t),
			      cds_sigstate_name(rr->sig));
	}
}

static bool step_signatures(struct pctx *c)
{
	size_t i;
	int t;

	if (c->boot)
		return policy_bootstrap_proof(c->deleg, c->obs, c->n, c->cfg,
					      c->out);

	for (i = 0; i < c->n; i++)
		for (t = T_CDS; t <= T_CDNSKEY; t++)
			if (answering(&c->obs[i]) && c->use[t] &&
			    count_of(&c->obs[i], t) > 0 &&
			    sig_fails(c, &c->obs[i], t))
				return true;
	return false;
}

/* ---- agreement across servers (RFC 9975 §3.1, Q5, D3) ------------- */

static bool disagree(struct pctx *c, const struct cds_server_obs *a,
		     const struct cds_server_obs *b, enum ptype t)
{
	char sa[SET_STR_MAX], sb[SET_STR_MAX];
	bool partial = has_delete(a, t) != has_delete(b, t);

	fmt_said(a, t, sa, sizeof sa);
	fmt_said(b, t, sb, sizeof sb);
	return decide(c, CDS_DEC_REJECTED,
		      partial ? CDS_R_DELETE_PARTIAL : CDS_R_SERVERS_DISAGREE,
		      "%s/%s serves %s but %s/%s serves %s; %s "
		      "(RFC 9975 §3.1)", b->name, b->addr, sb, a->name,
		      a->addr, sa,
		      partial ? "a delete must be served by every server"
			      : "all servers must serve the same set");
}

static bool step_agreement(struct pctx *c)
{
	const struct cds_server_obs *first;
	size_t i;
	int t;

	for (t = T_CDS; t <= T_CDNSKEY; t++) {
		if (!c->use[t])
			continue;
		first = NULL;
		for (i = 0; i < c->n; i++) {
			const struct cds_server_obs *o = &c->obs[i];

			/* Q3: only answers received count; a server not
			   asked (early stop) is held back in step_complete. */
			if (!answering(o) || !known(o, t))
				continue;
			if (first == NULL)
				first = o;
			else if (!same_set(first, o, t))
				return disagree(c, first, o, t);
			if (c->ref[t] == NULL && count_of(o, t) > 0)
				c->ref[t] = o;
		}
	}
	return false;
}

/* A change needs every remaining server's answer, and its DNSKEY RRset
   for the continuity check (RFC 9975 §3; Q6 allows stopping early only
   when the answer confirms the status quo). */
static bool step_complete(struct pctx *c, bool need_dnskey)
{
	size_t i;
	int t;

	for (i = 0; i < c->n; i++) {
		const struct cds_server_obs *o = &c->obs[i];

		if (!answering(o))
			continue;
		for (t = T_CDS; t <= T_CDNSKEY; t++)
			if (c->use[t] && !known(o, t))
				return decide(c, CDS_DEC_PENDING,
					      CDS_R_SERVER_UNREACHABLE,
					      "%s/%s gave no answer for %s "
					      "(%s); a change needs every "
					      "server's answer (RFC 9975 §3)",
					      o->name, o->addr, tname(t),
					      cds_rrstate_name(
						      rr_of(o, t)->state));
		if (need_dnskey && o->dnskey_rr.state != CDS_RR_PRESENT &&
		    o->dnskey_rr.state != CDS_RR_NODATA)
			return decide(c, CDS_DEC_PENDING,
				      CDS_R_SERVER_UNREACHABLE,
				      "%s/%s gave no DNSKEY answer (%s); "
				      "cannot check the new DS set against it",
				      o->name, o->addr,
				      cds_rrstate_name(o->dnskey_rr.state));
	}
	return false;
}

/* ---- delete (D1, D2, RFC 8078 §4) ---------------------------------- */

static bool step_delete(struct pctx *c)
{
	bool del[2] = {false, false};
	int t;

	for (t = T_CDS; t <= T_CDNSKEY; t++) {
		if (c->ref[t] == NULL || !has_delete(c->ref[t], t))
			continue;
		if (count_of(c->ref[t], t) > 1)
			return decide(c, CDS_DEC_REJECTED,
				      CDS_R_DELETE_MALFORMED,
				      "the %s RRset holds the delete record "
				      "next to %zu other record(s); a delete "
				      "request is exactly one record "
				      "(RFC 8078 §4)", tname(t),
				      count_of(c->ref[t], t) - 1);
		del[t] = true;
	}
	if (!del[T_CDS] && !del[T_CDNSKEY])
		return false;
	for (t = T_CDS; t <= T_CDNSKEY; t++)
		if (c->ref[t] != NULL && !del[t])
			return decide(c, CDS_DEC_REJECTED,
				      CDS_R_CDS_CDNSKEY_MISMATCH,
				      "%s asks for DS removal but %s lists "
				      "keys; both must agree (RFC 9975 §3.1)",
				      tname(!t), tname(t));
	if (step_complete(c, false))
		return true;
	return decide(c, CDS_DEC_DELETE, CDS_R_APPLY_DELETE,
		      "%zu of %zu servers serve the delete %s; the whole "
		      "DS RRset of %s is removed (RFC 8078 §4)",
		      c->n_answering, c->n,
		      del[T_CDS] && del[T_CDNSKEY] ? "CDS and CDNSKEY"
						   : tname(del[T_CDS] ? T_CDS
								      : T_CDNSKEY),
		      c->deleg->name);
}

/* ---- malformed records (W1, W5) ------------------------------------ */

static bool step_malformed(struct pctx *c)
{
	const struct cds_server_obs *o;
	char s[REC_STR_MAX];
	size_t i;

	if ((o = c->ref[T_CDS]) != NULL)
		for (i = 0; i < o->n_cds; i++) {
			const struct cds_ds *d = &o->cds[i];
			size_t want = cds_digest_len(d->digest_type);

			if (d->digest_type != 0 &&
			    (want == 0 || want == d->digest_len))
				continue;
			fmt_ds(d, s, sizeof s);
			return decide(c, CDS_DEC_REJECTED,
				      CDS_R_MALFORMED_RECORD,
				      "CDS %s: %s", s,
				      d->digest_type == 0
					      ? "digest type 0 is only for the "
						"delete record (RFC 8078 §4)"
					      : "digest length does not match "
						"its digest type");
		}
	if ((o = c->ref[T_CDNSKEY]) != NULL)
		for (i = 0; i < o->n_cdnskey; i++) {
			const struct cds_dnskey *k = &o->cdnskey[i];

			if (k->protocol == 3 && (k->flags & CDS_DNSKEY_ZONE))
				continue;
			fmt_key(k, s, sizeof s);
			return decide(c, CDS_DEC_REJECTED,
				      CDS_R_MALFORMED_RECORD,
				      "CDNSKEY %s: %s (RFC 4034 §2.1, §5.2)",
				      s,
				      k->protocol != 3
					      ? "protocol must be 3"
					      : "the Zone Key flag is clear");
		}
	return false;
}

/* ---- both types required (STANDARDS §13.1) ------------------------- */

static bool step_require_both(struct pctx *c)
{
	if (!c->cfg->require_both || c->cfg->input != POLICY_INPUT_BOTH ||
	    c->present[T_CDS] == c->present[T_CDNSKEY])
		return false;
	return decide(c, CDS_DEC_REJECTED, CDS_R_INPUT_MISSING,
		      "the child publishes %s but no %s; this registry "
		      "requires both", c->present[T_CDS] ? "CDS" : "CDNSKEY",
		      c->present[T_CDS] ? "CDNSKEY" : "CDS");
}

/* ---- eligible CDS (RFC 9975 §3.1, C5, A1) ------------------------- */

/* Shared with policy_early_stop (early.c), so that the two agree. */
static bool digest_accepted(const struct policy_config *cfg, uint8_t dt)
{
	return policy_digest_accepted(cfg, dt);
}

static void list_accepted_digests(const struct policy_config *cfg, char *buf,
				  size_t size)
{
	uint8_t dt;

	buf[0] = '\0';
	for (dt = 0; dt < 32; dt++)
		if (digest_accepted(cfg, dt))
			policy_text_add(buf, size, "%s%u", buf[0] ? ", " : "", dt);
	if (buf[0] == '\0')
		snprintf(buf, size, "none");
}

static bool step_eligible(struct pctx *c)
{
	const struct cds_server_obs *o = c->ref[T_CDS];
	char have[SET_STR_MAX], acc[64];
	size_t i;

	if (!c->use[T_CDS] || o == NULL)
		return false;
	for (i = 0; i < o->n_cds; i++)
		if (digest_accepted(c->cfg, o->cds[i].digest_type))
			c->elig[c->n_elig++] = o->cds[i];
	if (c->n_elig > 0)
		return false;
	fmt_ds_list(o->cds, o->n_cds, have, sizeof have);
	list_accepted_digests(c->cfg, acc, sizeof acc);
	return decide(c, CDS_DEC_REJECTED, CDS_R_NO_ELIGIBLE_DIGEST,
		      "CDS %s uses only digest types this registry does not "
		      "accept (accepted: %s; SHA-1 is never accepted, RFC "
		      "9904); publish a SHA-256 CDS", have, acc);
}

/* ---- CDS and CDNSKEY name the same keys (C4, RFC 9975 §3.1) ------- */

static bool key_in_elig(const struct pctx *c, const struct cds_dnskey *k)
{
	size_t i;

	for (i = 0; i < c->n_elig; i++)
		if (cds_ds_matches_dnskey(c->deleg->name, &c->elig[i], k))
			return true;
	return false;
}

static bool ds_in_cdnskey(const struct pctx *c, const struct cds_ds *d)
{
	const struct cds_server_obs *o = c->ref[T_CDNSKEY];
	size_t i;

	for (i = 0; i < o->n_cdnskey; i++)
		if (cds_ds_matches_dnskey(c->deleg->name, d, &o->cdnskey[i]))
			return true;
	return false;
}

static bool step_key_match(struct pctx *c)
{
	const struct cds_server_obs *o = c->ref[T_CDNSKEY];
	char s[REC_STR_MAX];
	size_t i;

	if (!c->use[T_CDS] || !c->use[T_CDNSKEY] || o == NULL ||
	    c->ref[T_CDS] == NULL)
		return false;
	for (i = 0; i < o->n_cdnskey; i++) {
		if (key_in_elig(c, &o->cdnskey[i]))
			continue;
		fmt_key(&o->cdnskey[i], s, sizeof s);
		return decide(c, CDS_DEC_REJECTED, CDS_R_CDS_CDNSKEY_MISMATCH,
			      "CDNSKEY %s has no matching CDS of an accepted "
			      "digest type; CDS and CDNSKEY must name the "
			      "same keys (RFC 9975 §3.1)", s);
	}
	for (i = 0; i < c->n_elig; i++) {
		if (ds_in_cdnskey(c, &c->elig[i]))
			continue;
		fmt_ds(&c->elig[i], s, sizeof s);
		return decide(c, CDS_DEC_REJECTED, CDS_R_CDS_CDNSKEY_MISMATCH,
			      "CDS %s matches no CDNSKEY; CDS and CDNSKEY "
			      "must name the same keys (RFC 9975 §3.1)", s);
	}
	return false;
}

/* ---- algorithms (A2, A3, RFC 9905) -------------------------------- */

static bool alg_accepted(const struct policy_config *cfg, uint8_t alg)
{
	return policy_alg_accepted(cfg, alg);
}

static bool refuse_alg(struct pctx *c, uint8_t alg, const char *what)
{
	return decide(c, CDS_DEC_REJECTED, CDS_R_ALGORITHM_REFUSED,
		      "%s uses algorithm %u (%s), for which this registry "
		      "creates no DS (RFC 9904, RFC 9905); without it the key "
		      "set would be incomplete, so nothing changes", what, alg,
		      alg_str(alg));
}

static bool step_algorithms(struct pctx *c)
{
	const struct cds_server_obs *o = c->ref[T_CDNSKEY];
	char s[REC_STR_MAX], what[REC_STR_MAX + 16];
	size_t i;

	for (i = 0; i < c->n_elig; i++) {
		if (alg_accepted(c->cfg, c->elig[i].alg))
			continue;
		fmt_ds(&c->elig[i], s, sizeof s);
		snprintf(what, sizeof what, "CDS %s", s);
		return refuse_alg(c, c->elig[i].alg, what);
	}
	if (!c->use[T_CDNSKEY] || o == NULL)
		return false;
	for (i = 0; i < o->n_cdnskey; i++) {
		if (alg_accepted(c->cfg, o->cdnskey[i].alg))
			continue;
		fmt_key(&o->cdnskey[i], s, sizeof s);
		snprintf(what, sizeof what, "CDNSKEY %s", s);
		return refuse_alg(c, o->cdnskey[i].alg, what);
	}
	return false;
}

/* ---- the proposed DS set ------------------------------------------ */

/* Sort canonically and drop duplicates (RFC 2181 §5: an RRset is a set). */
static size_t sort_unique(struct cds_ds *d, size_t n)
{
	size_t i, m = 0;

	qsort(d, n, sizeof d[0], cds_ds_cmp);
	for (i = 0; i < n; i++)
		if (m == 0 || !cds_ds_equal(&d[m - 1], &d[i]))
			d[m++] = d[i];
	return m;
}

static bool step_propose(struct pctx *c)
{
	const struct cds_server_obs *o = c->ref[T_CDNSKEY];
	unsigned max = c->cfg->max_ds < CDS_DS_MAX ? c->cfg->max_ds : CDS_DS_MAX;
	size_t i;

	if (c->use[T_CDS] && c->ref[T_CDS] != NULL) {
		/* C5: publish only the accepted digest types. */
		memcpy(c->prop, c->elig, c->n_elig * sizeof c->elig[0]);
		c->n_prop = c->n_elig;
	} else {
		/* C3: with CDNSKEY, compute the DS. */
		for (i = 0; i < o->n_cdnskey; i++)
			if (cds_ds_from_dnskey(c->deleg->name, &o->cdnskey[i],
					       c->cfg->cdnskey_digest,
					       &c->prop[c->n_prop++]) != CDS_OK)
				return decide(c, CDS_DEC_REJECTED,
					      CDS_R_NO_ELIGIBLE_DIGEST,
					      "cannot compute a DS of digest "
					      "type %u from CDNSKEY (check "
					      "policy.cdnskey-digest)",
					      c->cfg->cdnskey_digest);
	}
	c->n_prop = sort_unique(c->prop, c->n_prop);
	if (c->n_prop <= max)
		return false;
	return decide(c, CDS_DEC_REJECTED, CDS_R_TOO_MANY_DS,
		      "the child asks for %zu DS records; this registry "
		      "installs at most %u", c->n_prop, max);
}

/* ---- the delegation must keep working (C1, A4, M2) ---------------- */

/* Some proposed DS of `alg` refers to a key that signs this server's own
   DNSKEY RRset (M2: each server against its own set). */
static bool alg_anchored(const struct pctx *c, const struct cds_server_obs *o,
			 uint8_t alg)
{
	size_t i, j;

	for (i = 0; i < c->n_prop; i++) {
		if (c->prop[i].alg != alg)
			continue;
		for (j = 0; j < o->n_dnskey; j++)
			if (o->dnskey_signs != NULL && o->dnskey_signs[j] &&
			    cds_ds_matches_dnskey(c->deleg->name, &c->prop[i],
						  &o->dnskey[j]))
				return true;
	}
	return false;
}

static void list_signers(const struct cds_server_obs *o, char *buf,
			 size_t size)
{
	size_t j;

	buf[0] = '\0';
	for (j = 0; j < o->n_dnskey; j++)
		if (o->dnskey_signs != NULL && o->dnskey_signs[j])
			policy_text_add(buf, size, "%s%u/%u", buf[0] ? ", " : "",
			       cds_keytag(&o->dnskey[j]), o->dnskey[j].alg);
	if (buf[0] == '\0')
		snprintf(buf, size, "none");
}

static bool step_continuity(struct pctx *c)
{
	char prop[SET_STR_MAX], signers[128];
	size_t i, k;

	for (i = 0; i < c->n; i++) {
		const struct cds_server_obs *o = &c->obs[i];

		/* A server not asked for DNSKEY is held back by
		   step_complete; NODATA is checked (and fails) here. */
		if (!answering(o) || (o->dnskey_rr.state != CDS_RR_PRESENT &&
				      o->dnskey_rr.state != CDS_RR_NODATA))
			continue;
		for (k = 0; k < c->n_prop; k++) {
			/* RFC 6840 §5.11, STANDARDS A4: every algorithm in
			   the DS set must sign the DNSKEY RRset. C8: other
			   DS records may point at keys not (yet) there. */
			if (alg_anchored(c, o, c->prop[k].alg))
				continue;
			fmt_ds_list(c->prop, c->n_prop, prop, sizeof prop);
			list_signers(o, signers, sizeof signers);
			return decide(c, CDS_DEC_REJECTED,
				      CDS_R_BREAKS_DELEGATION,
				      "with DS %s, no %s (%u) key that signs "
				      "the DNSKEY RRset at %s/%s would be "
				      "referenced (its DNSKEY RRset is "
				      "signed by tag/alg: %s); the delegation "
				      "would break (RFC 7344 §4.1, RFC 6840 "
				      "§5.11)", prop, alg_str(c->prop[k].alg),
				      c->prop[k].alg, o->name, o->addr,
				      signers);
		}
	}
	return false;
}

/* ---- the outcome (M3) --------------------------------------------- */

static bool step_same(struct pctx *c)
{
	char prop[SET_STR_MAX];

	/* M3: signers may leave CDS in place; equal means nothing to do. */
	if (!cds_ds_set_equal(c->prop, c->n_prop, c->deleg->ds,
			      c->deleg->n_ds))
		return false;
	fmt_ds_list(c->prop, c->n_prop, prop, sizeof prop);
	return decide(c, CDS_DEC_UNCHANGED, CDS_R_SAME_AS_CURRENT,
		      "the requested DS set %s equals the current one", prop);
}

static bool step_update(struct pctx *c)
{
	char prop[SET_STR_MAX], cur[SET_STR_MAX];

	if (step_complete(c, true))
		return true;
	if (c->boot) {
		policy_bootstrap_decide(c->deleg, c->obs, c->n, c->cfg, c->prop,
					c->n_prop, c->out);
		if (c->note[0] != '\0')
			policy_text_add(c->out->detail, sizeof c->out->detail, " [%s]",
			       c->note);
		return true;
	}
	fmt_ds_list(c->prop, c->n_prop, prop, sizeof prop);
	fmt_ds_list(c->deleg->ds, c->deleg->n_ds, cur, sizeof cur);
	memcpy(c->out->proposed, c->prop, c->n_prop * sizeof c->prop[0]);
	c->out->n_proposed = c->n_prop;
	return decide(c, CDS_DEC_UPDATE, CDS_R_APPLY_UPDATE,
		      "%zu of %zu servers agree on %s; DS %s becomes %s",
		      c->n_answering, c->n,
		      c->use[T_CDS] && c->ref[T_CDS] ? "CDS" : "CDNSKEY", cur,
		      prop);
}

/* The rules in the order they decide; the first that decides ends the
   run. step_update always decides, so `out` is always filled. */
static bool (*const steps[])(struct pctx *) = {
	step_servers,      /* failed servers; Q4 exclusion */
	step_overflow,     /* stored empty when too large: before "nothing" */
	step_early,        /* Q6: a probe that stopped on the status quo */
	step_nothing,      /* C2: no CDS/CDNSKEY anywhere */
	step_no_ds,        /* unsigned child: delete is a no-op, else bootstrap */
	step_signatures,   /* C1: per server, before quoting its data */
	step_agreement,    /* RFC 9975 §3.1, Q5, D3 */
	step_delete,       /* D1, D2 */
	step_malformed,    /* W1, W5 */
	step_require_both, /* §13.1 */
	step_eligible,     /* C5, A1 */
	step_key_match,    /* C4 */
	step_algorithms,   /* A2, A3 */
	step_propose,      /* C3, C5, max DS */
	step_same,         /* M3 */
	step_continuity,   /* C1, A4, M2 */
	step_update,
};

void policy_decide_ds(const struct cds_delegation *deleg,
		      const struct cds_server_obs *obs, size_t n_obs,
		      const struct policy_config *cfg, int64_t now,
		      struct cds_decision *out)
{
	struct pctx c;
	size_t i;

	memset(&c, 0, sizeof c);
	memset(out, 0, sizeof *out);
	c.deleg = deleg;
	c.obs = obs;
	c.n = n_obs;
	c.cfg = cfg;
	c.now = now;
	c.out = out;
	/* RFC 7344 §6: the input setting decides what we read at all. */
	c.use[T_CDS] = cfg->input != POLICY_INPUT_CDNSKEY;
	c.use[T_CDNSKEY] = cfg->input != POLICY_INPUT_CDS;
	for (i = 0; i < sizeof steps / sizeof steps[0]; i++)
		if (steps[i](&c))
			return;
}

/* ---- registry rules (STANDARDS §14) -------------------------------------- */

static const char *blocking_status(const struct policy_domain *dom,
				   const struct policy_config *cfg)
{
	for (size_t i = 0; i < dom->n_statuses; i++)
		for (size_t j = 0; j < cfg->n_blocking; j++)
			if (strcasecmp(dom->statuses[i], cfg->blocking[j]) == 0)
				return dom->statuses[i];
	return NULL;
}

/* ISO 8601 UTC of a unix time; gmtime_r reads no clock. */
static const char *iso_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) ||
	    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "%lld", (long long)t);
	return buf;
}

/* The first RRset policy read (per policy.input) whose newest valid
   RRSIG was made at or before `last`: the oldest signature among those
   that drove the last change cdscan applied (or, when the history does
   not know them, that change's time). An RRset
   without a valid signature has nothing to replay and is not looked at
   (policy_decide_ds has judged its trust already). */
static bool find_replayed(const struct cds_server_obs *obs, size_t n_obs,
			  const struct policy_config *cfg, int64_t last,
			  const struct cds_server_obs **o_out,
			  const char **type_out, uint32_t *inception)
{
	for (size_t i = 0; i < n_obs; i++) {
		const struct cds_server_obs *o = &obs[i];
		const struct cds_rrset_obs *rr[2] = {&o->cds_rr,
						     &o->cdnskey_rr};
		static const char *const names[2] = {"CDS", "CDNSKEY"};
		bool use[2] = {cfg->input != POLICY_INPUT_CDNSKEY,
			       cfg->input != POLICY_INPUT_CDS};

		for (int t = 0; t < 2; t++) {
			if (!use[t] || rr[t]->state != CDS_RR_PRESENT ||
			    rr[t]->sig_inception == 0 ||
			    (int64_t)rr[t]->sig_inception > last)
				continue;
			*o_out = o;
			*type_out = names[t];
			*inception = rr[t]->sig_inception;
			return true;
		}
	}
	return false;
}

/* Which rule turns an accepted change into something else; the new
   verdict and reason in *verdict and *reason, why in words in `why`. */
static bool registry_rule(const struct policy_domain *dom,
			  const struct cds_server_obs *obs, size_t n_obs,
			  const struct policy_config *cfg, int64_t now,
			  const struct cds_decision *dec,
			  enum cds_verdict *verdict, enum cds_reason *reason,
			  char *why, size_t size)
{
	const struct cds_history *h = dom->hist;
	const struct cds_server_obs *o;
	const char *status, *type;
	char t1[32], t2[32], t3[32];
	uint32_t inc;

	*verdict = CDS_DEC_REJECTED;
	/* Opt-out first: it is the registrant's (or its registrar's) word. */
	if (dom->optout) {
		*reason = CDS_R_OPTED_OUT;
		snprintf(why, size, "the domain opted out of automation");
	} else if (dom->registrar_optout) {
		*reason = CDS_R_OPTED_OUT;
		snprintf(why, size, "registrar %.60s opted out of automation",
			 dom->registrar && *dom->registrar ? dom->registrar
							   : "(unnamed)");
	} else if ((status = blocking_status(dom, cfg)) != NULL) {
		*reason = CDS_R_LOCKED;
		snprintf(why, size, "status %.40s blocks automation", status);
	} else if (dec->verdict == CDS_DEC_DELETE && !cfg->allow_delete) {
		*reason = CDS_R_DELETE_REFUSED;
		snprintf(why, size, "this registry does not carry out delete "
			 "requests (policy.allow-delete is off); remove the DS "
			 "through the registrar");
	} else if (cfg->replay_protection && h && h->last_change > 0 &&
		   find_replayed(obs, n_obs, cfg,
				 h->last_change_inception > 0
					 ? h->last_change_inception
					 : h->last_change,
				 &o, &type, &inc)) {
		/* RFC 7344 §6.2 (C6): an older CDS must never overwrite a
		   newer one. An RRSIG made no later than the signatures that
		   drove the last change we applied is data that change
		   already acted on, or older: a replay. (Compared with the
		   change's
		   own time, a signer that back-dates inception — Knot by 90
		   minutes — would have its next change refused.) */
		*reason = CDS_R_REPLAYED;
		if (h->last_change_inception > 0)
			snprintf(why, size, "%s/%s serves a %s RRset signed at "
				 "%s, not after the RRsets the last DS change "
				 "(applied at %s) acted on were signed (%s): a "
				 "replayed older RRset is ignored (RFC 7344 "
				 "§6.2); re-sign it",
				 o->name, o->addr, type,
				 iso_time(inc, t1, sizeof t1),
				 iso_time(h->last_change, t2, sizeof t2),
				 iso_time(h->last_change_inception, t3,
					  sizeof t3));
		else
			snprintf(why, size, "%s/%s serves a %s RRset signed at "
				 "%s, not after the last DS change applied at "
				 "%s: a replayed older RRset is ignored (RFC "
				 "7344 §6.2); re-sign it",
				 o->name, o->addr, type,
				 iso_time(inc, t1, sizeof t1),
				 iso_time(h->last_change, t2, sizeof t2));
	} else if (h && h->last_change > 0 && cfg->hold_down > 0 &&
		   now < h->last_change + (int64_t)cfg->hold_down) {
		/* RFC 7344 §6.1 [MAY]: hold a change for a period. */
		*verdict = CDS_DEC_PENDING;
		*reason = CDS_R_HOLD_DOWN;
		snprintf(why, size, "the last DS change was applied at %s; "
			 "the hold-down allows the next one from %s",
			 iso_time(h->last_change, t1, sizeof t1),
			 iso_time(h->last_change + cfg->hold_down, t2,
				  sizeof t2));
	} else {
		return false;
	}
	return true;
}

bool policy_history_matters(const struct cds_decision *dec,
			    const struct cds_server_obs *obs, size_t n_obs)
{
	switch (dec->verdict) {
	case CDS_DEC_UPDATE:
	case CDS_DEC_DELETE:
	case CDS_DEC_REJECTED:
		return true;
	case CDS_DEC_PENDING:
		if (dec->reason == CDS_R_BOOTSTRAP_WAITING ||
		    dec->reason == CDS_R_HOLD_DOWN)
			return true;
		break;
	default:
		break;
	}
	for (size_t i = 0; i < n_obs; i++)
		if (obs[i].csync.rr.state == CDS_RR_PRESENT)
			return true;
	return false;
}

void policy_apply_registry(const struct policy_domain *dom,
			   const struct cds_server_obs *obs, size_t n_obs,
			   const struct policy_config *cfg, int64_t now,
			   struct cds_decision *dec)
{
	char asked[CDS_DETAIL_MAX], why[512];
	enum cds_verdict verdict;
	enum cds_reason reason;
	unsigned streak;

	if ((dec->verdict == CDS_DEC_UPDATE || dec->verdict == CDS_DEC_DELETE) &&
	    registry_rule(dom, obs, n_obs, cfg, now, dec, &verdict, &reason,
			  why, sizeof why)) {
		snprintf(asked, sizeof asked, "%s", dec->detail);
		snprintf(dec->detail, sizeof dec->detail,
			 "%s; the child asks for %s: %.*s", why,
			 cds_verdict_name(dec->verdict),
			 (int)(sizeof dec->detail - strlen(why) - 40), asked);
		/* a held change keeps its proposal, for status to show */
		if (verdict == CDS_DEC_REJECTED)
			dec->n_proposed = 0;
		dec->verdict = verdict;
		dec->reason = reason;
	}
	/* One event per streak: only the scan that reaches the threshold. */
	dec->rejected_event = 0;
	streak = (dom->hist ? dom->hist->rejected_streak : 0) + 1;
	if (dec->verdict == CDS_DEC_REJECTED && cfg->notify_rejected_after &&
	    streak == cfg->notify_rejected_after)
		dec->rejected_event = streak;
}
