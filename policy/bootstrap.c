/*
 * Bootstrapping: how a delegation without DS gets its first DS set
 * (STANDARDS §5). Two methods, either or both on (policy.bootstrap):
 * RFC 9615 authenticated signals — the child's CDS/CDNSKEY also
 * published, DNSSEC-signed, under each out-of-child NS name's signaling
 * zone — and RFC 8078 §3 "accept after delay" — the same consistent
 * request seen on K consecutive scans spanning D (the registry practice
 * of SWITCH and .se, STANDARDS §14). policy.c runs every common check
 * first; what is here is what only bootstrapping needs: the DS set a
 * server's own answer proposes (the probe validates each server against
 * it), the signature check against it, the RFC 9615 §4.2 steps and the
 * delay's streak. Pure like the rest of policy/: `now` is an argument.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/errors.h"
#include "policy/policy.h"

static void set(struct cds_decision *out, enum cds_verdict v,
		enum cds_reason r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void set(struct cds_decision *out, enum cds_verdict v,
		enum cds_reason r, const char *fmt, ...)
{
	va_list ap;

	out->verdict = v;
	out->reason = r;
	va_start(ap, fmt);
	vsnprintf(out->detail, sizeof out->detail, fmt, ap);
	va_end(ap);
}

/* ISO 8601 UTC; gmtime_r reads no clock. */
static const char *iso(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) ||
	    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "%lld", (long long)t);
	return buf;
}

static bool use_cds(const struct policy_config *cfg)
{
	return cfg->input != POLICY_INPUT_CDNSKEY;
}

static bool use_cdnskey(const struct policy_config *cfg)
{
	return cfg->input != POLICY_INPUT_CDS;
}

static int ds_cmp(const void *a, const void *b)
{
	return cds_ds_cmp(a, b);
}

int policy_bootstrap_ds(const char *zone, const struct cds_server_obs *o,
			const struct policy_config *cfg, struct cds_ds *out,
			size_t *n)
{
	size_t i, m = 0, k = 0;
	bool any_cds = false;

	*n = 0;
	if (use_cds(cfg) && o->cds_rr.state == CDS_RR_PRESENT) {
		for (i = 0; i < o->n_cds; i++) {
			if (cds_ds_is_delete(&o->cds[i]))
				continue;
			any_cds = true;
			if (!policy_digest_accepted(cfg, o->cds[i].digest_type))
				continue;
			if (m == CDS_DS_MAX)
				return CDS_ELIMIT;
			out[m++] = o->cds[i];
		}
	}
	/* C3: CDS first; CDNSKEY only when no CDS drives (as step_propose). */
	if (!any_cds && use_cdnskey(cfg) &&
	    o->cdnskey_rr.state == CDS_RR_PRESENT) {
		for (i = 0; i < o->n_cdnskey; i++) {
			if (cds_dnskey_is_delete(&o->cdnskey[i]))
				continue;
			if (m == CDS_DS_MAX)
				return CDS_ELIMIT;
			if (cds_ds_from_dnskey(zone, &o->cdnskey[i],
					       cfg->cdnskey_digest,
					       &out[m]) == CDS_OK)
				m++;
		}
	}
	qsort(out, m, sizeof out[0], ds_cmp);
	for (i = 0; i < m; i++)
		if (k == 0 || !cds_ds_equal(&out[k - 1], &out[i]))
			out[k++] = out[i];
	*n = k;
	return CDS_OK;
}

bool policy_ns_in_child(const char *child, const char *ns)
{
	size_t lc = strlen(child), ln = strlen(ns);

	/* compare without the trailing dots */
	if (lc > 0 && child[lc - 1] == '.')
		lc--;
	if (ln > 0 && ns[ln - 1] == '.')
		ln--;
	if (lc == 0) /* the root: everything is below it */
		return true;
	if (ln < lc || strncasecmp(ns + ln - lc, child, lc) != 0)
		return false;
	return ln == lc || ns[ln - lc - 1] == '.';
}

/* ---- signatures against the proposed DS set ----------------------- */

static bool proof_fails(const struct cds_server_obs *o, const char *type,
			const struct cds_rrset_obs *rr,
			const struct policy_config *cfg,
			struct cds_decision *out)
{
	switch (rr->sig) {
	case CDS_SIG_VALID_DS_KEY:
		return false;
	case CDS_SIG_VALID_OTHER:
		if (cfg->accept_any_dnskey)
			return false;
		set(out, CDS_DEC_REJECTED, CDS_R_BOOTSTRAP_UNPROVEN,
		    "%s/%s: the %s RRset is signed only by key %u, to which "
		    "none of the DS records it proposes points; the proposed "
		    "DS must authenticate the request (RFC 7344 §4.1, RFC 9615 "
		    "§4.2; sign %s with the KSK)", o->name, o->addr, type,
		    rr->sig_keytag, type);
		return true;
	case CDS_SIG_UNPROVEN:
		set(out, CDS_DEC_REJECTED, CDS_R_BOOTSTRAP_UNPROVEN,
		    "%s/%s: its DNSKEY RRset is not signed by any key the DS "
		    "set proposed by its own CDS/CDNSKEY refers to; installing "
		    "it would break the delegation (RFC 8078 §5, RFC 9615 §4.2)",
		    o->name, o->addr);
		return true;
	case CDS_SIG_EXPIRED:
		set(out, CDS_DEC_REJECTED, CDS_R_SIG_INVALID,
		    "%s/%s: the %s signature is outside its validity "
		    "(inception %u, expiration %u)", o->name, o->addr, type,
		    rr->sig_inception, rr->sig_expiration);
		return true;
	default:
		set(out, CDS_DEC_REJECTED, CDS_R_SIG_INVALID,
		    "%s/%s: the %s RRset does not validate (%s)", o->name,
		    o->addr, type, cds_sigstate_name(rr->sig));
		return true;
	}
}

bool policy_bootstrap_proof(const struct cds_delegation *deleg,
			    const struct cds_server_obs *obs, size_t n_obs,
			    const struct policy_config *cfg,
			    struct cds_decision *out)
{
	(void)deleg;
	for (size_t i = 0; i < n_obs; i++) {
		const struct cds_server_obs *o = &obs[i];

		if (o->error != CDS_OK)
			continue;
		/* A server that asks for nothing has nothing to prove; it
		   disagrees with the others, which step_agreement reports. */
		if (!(use_cds(cfg) && o->cds_rr.state == CDS_RR_PRESENT) &&
		    !(use_cdnskey(cfg) && o->cdnskey_rr.state == CDS_RR_PRESENT))
			continue;
		/* Without a check against the proposed set the signature
		   states speak of the (empty) current DS: nothing proven. */
		if (!o->checked_proposed || !o->dnskey_proven) {
			set(out, CDS_DEC_REJECTED, CDS_R_BOOTSTRAP_UNPROVEN,
			    "%s/%s: its DNSKEY RRset is not %s by the DS set "
			    "its own CDS/CDNSKEY propose; installing it would "
			    "break the delegation (RFC 8078 §5, RFC 9615 §4.2)",
			    o->name, o->addr,
			    o->checked_proposed ? "proven" : "checked");
			return true;
		}
		if (use_cds(cfg) && o->cds_rr.state == CDS_RR_PRESENT &&
		    o->n_cds > 0 && proof_fails(o, "CDS", &o->cds_rr, cfg, out))
			return true;
		if (use_cdnskey(cfg) && o->cdnskey_rr.state == CDS_RR_PRESENT &&
		    o->n_cdnskey > 0 &&
		    proof_fails(o, "CDNSKEY", &o->cdnskey_rr, cfg, out))
			return true;
	}
	return false;
}

/* ---- RFC 9615 §4.2 ------------------------------------------------ */

static bool same_cds(const struct cds_server_obs *o)
{
	size_t a = o->cds_rr.state == CDS_RR_PRESENT ? o->n_cds : 0;
	size_t b = o->signal.cds_rr.state == CDS_RR_PRESENT ? o->signal.n_cds
							     : 0;

	return cds_ds_set_equal(o->cds, a, o->signal.cds, b);
}

static bool same_cdnskey(const struct cds_server_obs *o)
{
	size_t a = o->cdnskey_rr.state == CDS_RR_PRESENT ? o->n_cdnskey : 0;
	size_t b = o->signal.cdnskey_rr.state == CDS_RR_PRESENT
			   ? o->signal.n_cdnskey
			   : 0;

	return cds_dnskey_set_equal(o->cdnskey, a, o->signal.cdnskey, b);
}

static bool signal_empty(const struct cds_signal_obs *s)
{
	return (s->cds_rr.state != CDS_RR_PRESENT || s->n_cds == 0) &&
	       (s->cdnskey_rr.state != CDS_RR_PRESENT || s->n_cdnskey == 0);
}

/* One NS name's signal, checked against its server's direct answer
   (the servers agree by now, so any one of that name will do). */
static enum cds_reason check_signal(const struct cds_server_obs *o,
				    const char *child, char *why,
				    size_t whylen)
{
	const struct cds_signal_obs *s = &o->signal;
	const struct cds_signal_rr *rr[2] = {&s->cds_rr, &s->cdnskey_rr};
	static const char *const tn[2] = {"CDS", "CDNSKEY"};
	char q[2 * CDS_NAME_MAX + 24];

	snprintf(q, sizeof q, "_dsboot.%s_signal.%s", child, o->name);
	if (!s->looked_up) {
		snprintf(why, whylen, "the signal %s was not looked up (no "
			 "validating resolver configured)", q);
		return CDS_R_BOOTSTRAP_SIGNAL_FAILED;
	}
	for (int t = 0; t < 2; t++)
		if (rr[t]->state == CDS_RR_FAILED ||
		    rr[t]->state == CDS_RR_NOT_QUERIED) {
			snprintf(why, whylen, "%s %s: no answer (%s)", q, tn[t],
				 cds_strerror(rr[t]->error));
			return CDS_R_BOOTSTRAP_SIGNAL_FAILED;
		}
	/* RFC 9615 §4.2 step 3: the AD bit (here, our own validation) is
	   required; bogus first, it is the louder fault. */
	for (int t = 0; t < 2; t++)
		if (rr[t]->sec == CDS_SEC_BOGUS) {
			snprintf(why, whylen, "%s %s fails DNSSEC validation "
				 "(bogus)", q, tn[t]);
			return CDS_R_BOOTSTRAP_SIGNAL_BOGUS;
		}
	for (int t = 0; t < 2; t++)
		if (rr[t]->sec != CDS_SEC_SECURE) {
			snprintf(why, whylen, "%s %s is %s, not secure: the "
				 "signaling zone of %s must be signed and "
				 "delegated with DS", q, tn[t],
				 cds_secstate_name(rr[t]->sec), o->name);
			return CDS_R_BOOTSTRAP_SIGNAL_INSECURE;
		}
	if (signal_empty(s)) {
		snprintf(why, whylen, "%s has no CDS or CDNSKEY (the operator "
			 "of %s publishes no signal for %s)", q, o->name,
			 child);
		return CDS_R_BOOTSTRAP_SIGNAL_MISSING;
	}
	/* Step 4: equal contents per type, empty against non-empty too. */
	if (!same_cds(o) || !same_cdnskey(o)) {
		bool cds_bad = !same_cds(o);

		snprintf(why, whylen, "%s %s (%zu records) differs from the %s "
			 "at %s/%s (%zu records)", q, cds_bad ? "CDS" : "CDNSKEY",
			 cds_bad ? (s->cds_rr.state == CDS_RR_PRESENT ? s->n_cds : 0)
				 : (s->cdnskey_rr.state == CDS_RR_PRESENT
					    ? s->n_cdnskey : 0),
			 cds_bad ? "CDS" : "CDNSKEY", o->name, o->addr,
			 cds_bad ? (o->cds_rr.state == CDS_RR_PRESENT ? o->n_cds : 0)
				 : (o->cdnskey_rr.state == CDS_RR_PRESENT
					    ? o->n_cdnskey : 0));
		return CDS_R_BOOTSTRAP_SIGNAL_MISMATCH;
	}
	return CDS_R_BOOTSTRAP_RFC9615;
}

enum cds_reason policy_rfc9615_check(const struct cds_delegation *deleg,
				     const struct cds_server_obs *obs,
				     size_t n_obs, char *why, size_t whylen)
{
	size_t i, outside = 0;
	enum cds_reason r;

	why[0] = '\0';
	/* B3 step 1: the child has no DS ... */
	if (deleg->n_ds > 0) {
		snprintf(why, whylen, "%s already has a DS set: not a "
			 "bootstrap (RFC 9615 §4.2)", deleg->name);
		return CDS_R_NONE;
	}
	/* ... and at least one NS outside the child domain. */
	for (i = 0; i < n_obs; i++)
		outside += !policy_ns_in_child(deleg->name, obs[i].name);
	if (outside == 0) {
		snprintf(why, whylen, "every NS of %s lies inside it, so no "
			 "signaling zone can vouch for its CDS (RFC 9615 §4.2 "
			 "step 1)", deleg->name);
		return CDS_R_BOOTSTRAP_NS_IN_CHILD;
	}
	/* Step 2: every server must answer, no Q4 exclusion. */
	for (i = 0; i < n_obs; i++)
		if (obs[i].error != CDS_OK) {
			snprintf(why, whylen, "%s/%s did not answer (%s); RFC "
				 "9615 §4.2 needs every nameserver", obs[i].name,
				 obs[i].addr, obs[i].error_text);
			return CDS_R_BOOTSTRAP_SERVER_UNREACHABLE;
		}
	/* Steps 3 and 4, per NS name outside the child. */
	for (i = 0; i < n_obs; i++) {
		if (policy_ns_in_child(deleg->name, obs[i].name))
			continue;
		r = check_signal(&obs[i], deleg->name, why, whylen);
		if (r != CDS_R_BOOTSTRAP_RFC9615)
			return r;
	}
	snprintf(why, whylen, "the signals of all %zu out-of-zone NS "
		 "name(s) are secure and equal to what every server serves "
		 "(RFC 9615 §4.2)", outside);
	return CDS_R_BOOTSTRAP_RFC9615;
}

/* The 9615 failures that may heal by themselves wait; the others are
   the child's (or its operator's) to fix. */
static enum cds_verdict failure_verdict(enum cds_reason r)
{
	return r == CDS_R_BOOTSTRAP_SERVER_UNREACHABLE ||
			       r == CDS_R_BOOTSTRAP_SIGNAL_FAILED
		       ? CDS_DEC_PENDING
		       : CDS_DEC_REJECTED;
}

void policy_bootstrap_decide(const struct cds_delegation *deleg,
			     const struct cds_server_obs *obs, size_t n_obs,
			     const struct policy_config *cfg,
			     const struct cds_ds *prop, size_t n_prop,
			     struct cds_decision *out)
{
	char why[CDS_DETAIL_MAX / 2] = "";
	enum cds_reason r = CDS_R_NONE;
	size_t silent = 0;

	memcpy(out->proposed, prop, n_prop * sizeof prop[0]);
	out->n_proposed = n_prop;
	if (cfg->bootstrap & POLICY_BOOT_RFC9615) {
		r = policy_rfc9615_check(deleg, obs, n_obs, why, sizeof why);
		if (r == CDS_R_BOOTSTRAP_RFC9615) {
			set(out, CDS_DEC_UPDATE, r,
			    "bootstrapping %s: %zu DS record(s) from CDS/"
			    "CDNSKEY that every server serves; %s", deleg->name,
			    n_prop, why);
			return;
		}
	}
	if (cfg->bootstrap & POLICY_BOOT_DELAY) {
		/* RFC 8078 §3: silence is no consistency; a server left
		   out under Q4 breaks the streak too. */
		for (size_t i = 0; i < n_obs; i++)
			silent += obs[i].error != CDS_OK;
		if (silent > 0) {
			set(out, CDS_DEC_PENDING,
			    CDS_R_BOOTSTRAP_SERVER_UNREACHABLE,
			    "%zu server(s) of %s did not answer; accept after "
			    "delay needs every server on every scan",
			    silent, deleg->name);
			out->n_proposed = 0;
			return;
		}
		set(out, CDS_DEC_PENDING, CDS_R_BOOTSTRAP_WAITING,
		    "every server of %s serves the same CDS/CDNSKEY, which "
		    "prove its DNSKEY RRset; accepted after %u consistent "
		    "scans over %u h (RFC 8078 §3)%s%s", deleg->name,
		    cfg->bootstrap_delay_scans, cfg->bootstrap_delay / 3600,
		    why[0] ? "; RFC 9615: " : "", why);
		return;
	}
	out->n_proposed = 0;
	set(out, failure_verdict(r), r, "bootstrapping %s refused: %s",
	    deleg->name, why);
}

/* ---- accept after delay ------------------------------------------- */

unsigned policy_bootstrap_streak(const struct cds_history *hist,
				 const struct cds_ds *prop, size_t n_prop,
				 int64_t now, int64_t *since)
{
	*since = now;
	if (hist == NULL || hist->boot_streak == 0 ||
	    !cds_ds_set_equal(hist->boot_ds, hist->n_boot_ds, prop, n_prop))
		return 1;
	/* A change by other means (EPP, import, the registry's tools)
	   since the streak began takes precedence and resets it (SWITCH
	   practice, STANDARDS §14). */
	if (hist->last_change_other != 0 &&
	    hist->last_change_other >= hist->boot_since)
		return 1;
	*since = hist->boot_since;
	return hist->boot_streak + 1;
}

void policy_bootstrap_progress(const struct policy_domain *dom,
			       const struct policy_config *cfg, int64_t now,
			       struct cds_decision *dec)
{
	char first[32], after[32], asked[CDS_DETAIL_MAX];
	unsigned nth, k = cfg->bootstrap_delay_scans;
	int64_t since, at;

	if (dec->verdict != CDS_DEC_PENDING ||
	    dec->reason != CDS_R_BOOTSTRAP_WAITING)
		return;
	nth = policy_bootstrap_streak(dom ? dom->hist : NULL, dec->proposed,
				      dec->n_proposed, now, &since);
	at = since + (int64_t)cfg->bootstrap_delay;
	/* The same numbers as the detail, for the recorder to store:
	   status reads them from columns, never from the text. */
	dec->boot_scan = nth;
	dec->boot_needed = k;
	dec->boot_eligible = at;
	snprintf(asked, sizeof asked, "%s", dec->detail);
	if (nth >= k && now >= at) {
		dec->verdict = CDS_DEC_UPDATE;
		dec->reason = CDS_R_BOOTSTRAP_DELAY;
		snprintf(dec->detail, sizeof dec->detail,
			 "scan %u of %u with the same request since %s (at "
			 "least %u h): accepted after delay (RFC 8078 §3); "
			 "%.700s", nth, k, iso(since, first, sizeof first),
			 cfg->bootstrap_delay / 3600, asked);
		return;
	}
	snprintf(dec->detail, sizeof dec->detail,
		 "scan %u of %u with the same request, first seen %s; "
		 "eligible after %s; %.700s", nth, k,
		 iso(since, first, sizeof first), iso(at, after, sizeof after),
		 asked);
}
