/*
 * Early stop (STANDARDS Q6 [MAY], RFC 9975 §3): may the scanner stop
 * after one server's CDS and CDNSKEY answer? Only when that answer
 * confirms the status quo, because then the decision is "no change"
 * whatever the other servers say: either they agree, or they disagree
 * and nothing may change anyway (RFC 9975 §3.1, STANDARDS Q5). The probe
 * asks this before it goes on to every address, the DNSKEY set and the
 * signatures, and policy_decide_ds asks it again of the observation the
 * probe hands back, so that the two cannot disagree.
 *
 * "Equals the current DS" is judged by the very rules policy_decide_ds
 * uses to build the DS set it would propose (eligible digest types,
 * accepted algorithms, the DS computed from CDNSKEY, CDS and CDNSKEY
 * naming the same keys, the largest DS set): whenever this says stop,
 * a full probe whose servers all agree with this one ends in the same
 * "unchanged" with the same reason. Anything it is not sure of goes on
 * to the full probe, which can only be more careful.
 *
 * Signatures are not looked at: the DNSKEY set was not asked for. That
 * is safe in one direction only, which is why only "no change" stops:
 * a forged answer can at worst hold a change back, which a forged
 * disagreeing answer at any server could do anyway.
 *
 * Pure: no I/O, no clock, no allocation.
 */
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "policy/policy.h"

bool policy_digest_accepted(const struct policy_config *cfg, uint8_t dt)
{
	/* RFC 9904 Table 3: 0 (delete only), 1 and 3 never in a new DS. */
	if (dt == 0 || dt == CDS_DIGEST_SHA1 || dt == CDS_DIGEST_GOST || dt >= 32)
		return false;
	return (cfg->digest_types >> dt) & 1;
}

bool policy_alg_accepted(const struct policy_config *cfg, uint8_t alg)
{
	/* STANDARDS A3: never, whatever the configuration says. */
	switch (alg) {
	case 0: case 1: case 3: case 5: case 6: case 7: case 12: case 253:
	case 254:
		return false;
	}
	return cfg->accept_alg[alg];
}

/* One type's answer, read the way policy reads it. */
struct early_set {
	bool used;    /* policy.input lets policy read this type */
	bool known;   /* RRset or NODATA */
	size_t n;     /* records (0 for NODATA) */
};

static bool read_set(const struct cds_rrset_obs *rr, size_t stored,
		     bool used, struct early_set *out)
{
	out->used = used;
	out->known = rr->state == CDS_RR_PRESENT || rr->state == CDS_RR_NODATA;
	out->n = rr->state == CDS_RR_PRESENT ? stored : 0;
	if (!used)
		return true;
	/* A record we could not hold might be the one asking for a change. */
	return out->known && !rr->overflow &&
	       (rr->state != CDS_RR_PRESENT || rr->count == stored);
}

/* W1, W5, D1: records policy would refuse outright are not the status
   quo, even next to records that are. */
static bool cds_wellformed(const struct cds_ds *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t want = cds_digest_len(d[i].digest_type);

		if (d[i].digest_type == 0 || (want != 0 && want != d[i].digest_len))
			return false;
	}
	return true;
}

static bool cdnskey_wellformed(const struct policy_config *cfg,
			       const struct cds_dnskey *k, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (cds_dnskey_is_delete(&k[i]) || k[i].protocol != 3 ||
		    !(k[i].flags & CDS_DNSKEY_ZONE) ||
		    !policy_alg_accepted(cfg, k[i].alg))
			return false;
	return true;
}

/* Every delete record and nothing else (D1): "remove the DS". */
static bool only_delete(const struct cds_server_obs *o,
			const struct early_set *cds,
			const struct early_set *cdnskey)
{
	bool any = false;

	if (cds->used && cds->n > 0) {
		if (cds->n != 1 || !cds_ds_is_delete(&o->cds[0]))
			return false;
		any = true;
	}
	if (cdnskey->used && cdnskey->n > 0) {
		if (cdnskey->n != 1 || !cds_dnskey_is_delete(&o->cdnskey[0]))
			return false;
		any = true;
	}
	return any;
}

/* C5, A2: the CDS records of accepted digest types and algorithms, the
   set policy would propose from CDS. False when policy would refuse. */
static bool cds_proposal(const struct policy_config *cfg,
			 const struct cds_server_obs *o, size_t n,
			 struct cds_ds *prop, size_t *n_prop)
{
	*n_prop = 0;
	if (!cds_wellformed(o->cds, n))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!policy_digest_accepted(cfg, o->cds[i].digest_type))
			continue;
		if (!policy_alg_accepted(cfg, o->cds[i].alg))
			return false;
		prop[(*n_prop)++] = o->cds[i];
	}
	return *n_prop > 0;
}

/* C4, RFC 9975 §3.1: CDS and CDNSKEY name the same keys: every key a
   record of the other set matches, both ways. Each pair's digest is
   computed once (it was twice, one per direction). */
static bool keys_match(const char *zone, const struct cds_ds *prop,
		       size_t n_prop, const struct cds_dnskey *k, size_t nk)
{
	bool prop_hit[CDS_RRSET_MAX] = {false};
	size_t i, j;

	if (n_prop > CDS_RRSET_MAX)
		return false;
	for (i = 0; i < nk; i++) {
		bool hit = false;

		for (j = 0; j < n_prop; j++) {
			/* a record already matched only needs to be
			   looked at while this key has no match yet */
			if (hit && prop_hit[j])
				continue;
			if (cds_ds_matches_dnskey(zone, &prop[j], &k[i]))
				hit = prop_hit[j] = true;
		}
		if (!hit)
			return false;
	}
	for (j = 0; j < n_prop; j++)
		if (!prop_hit[j])
			return false;
	return true;
}

/* C3: with CDNSKEY only, the DS policy would compute. */
static bool cdnskey_proposal(const char *zone, const struct policy_config *cfg,
			     const struct cds_dnskey *k, size_t nk,
			     struct cds_ds *prop, size_t *n_prop)
{
	for (*n_prop = 0; *n_prop < nk; (*n_prop)++)
		if (cds_ds_from_dnskey(zone, &k[*n_prop], cfg->cdnskey_digest,
				       &prop[*n_prop]) != CDS_OK)
			return false;
	return nk > 0;
}

bool policy_early_stop(const struct cds_delegation *deleg,
		       const struct cds_server_obs *obs,
		       const struct policy_config *cfg, enum cds_reason *reason)
{
	struct early_set cds, cdnskey;
	struct cds_ds prop[CDS_RRSET_MAX];
	size_t n_prop = 0;
	unsigned max = cfg->max_ds < CDS_DS_MAX ? cfg->max_ds : CDS_DS_MAX;

	/* Q3, Q4: a server that failed confirms nothing. */
	if (obs->error != CDS_OK ||
	    !read_set(&obs->cds_rr, obs->n_cds, cfg->input != POLICY_INPUT_CDNSKEY,
		      &cds) ||
	    !read_set(&obs->cdnskey_rr, obs->n_cdnskey,
		      cfg->input != POLICY_INPUT_CDS, &cdnskey))
		return false;
	/* C2, RFC 7344 §6.1.1: nothing published, nothing to do. */
	if ((!cds.used || cds.n == 0) && (!cdnskey.used || cdnskey.n == 0)) {
		*reason = CDS_R_NO_CDS;
		return true;
	}
	/* An unsigned child asking to stay unsigned (RFC 8078 §4). Any
	   other request of an unsigned child is for the full rules. */
	if (deleg->n_ds == 0) {
		if (!only_delete(obs, &cds, &cdnskey))
			return false;
		*reason = CDS_R_ALREADY_INSECURE;
		return true;
	}
	/* §13.1: a registry that wants both refuses one alone. */
	if (cfg->require_both && cfg->input == POLICY_INPUT_BOTH &&
	    (cds.n > 0) != (cdnskey.n > 0))
		return false;
	if (cdnskey.used && !cdnskey_wellformed(cfg, obs->cdnskey, cdnskey.n))
		return false;
	if (cds.used && cds.n > 0) {
		if (!cds_proposal(cfg, obs, cds.n, prop, &n_prop))
			return false;
	} else if (!cdnskey_proposal(deleg->name, cfg, obs->cdnskey, cdnskey.n,
				     prop, &n_prop)) {
		return false;
	}
	/* M3: exactly the current DS set, as a set (RFC 2181 §5). Before
	   C4, which computes digests: a request for a change goes on to
	   the full probe whatever C4 says. */
	if (deleg->n_ds > max ||
	    !cds_ds_set_equal(prop, n_prop, deleg->ds, deleg->n_ds))
		return false;
	if (cds.used && cds.n > 0 && cdnskey.used && cdnskey.n > 0 &&
	    !keys_match(deleg->name, prop, n_prop, obs->cdnskey, cdnskey.n))
		return false;
	*reason = CDS_R_SAME_AS_CURRENT;
	return true;
}
