/*
 * DNSSEC checks of what one server said about the child apex (ldns):
 * is its DNSKEY RRset proven by the parent's current DS set, and are its
 * CDS and CDNSKEY RRsets validly signed (RFC 7344 §4.1)? The results go
 * into an observation for policy; nothing here decides.
 */
#ifndef CDS_SCANNER_VALIDATE_H
#define CDS_SCANNER_VALIDATE_H

#include <stdbool.h>
#include <stdint.h>

#include <ldns/ldns.h>

#include "core/obs.h"

/* One RRset as received, with the RRSIGs that cover it. */
struct scan_rrset {
	ldns_rr_list *rrs;  /* records of the type at the owner; may be NULL */
	ldns_rr_list *sigs; /* RRSIGs covering that type; may be NULL */
};

/*
 * Take the RRset of `type` owned by `owner` (and the RRSIGs covering it)
 * out of the answer section of `pkt`. Records are cloned: free with
 * scan_rrset_free(). Records of other owners or types are ignored; the
 * owner is compared case-insensitively. Both lists are always allocated
 * (possibly empty) on success; on failure *out holds nothing to free.
 * Returns 0, or CDS_ENOMEM (CDS_EINVAL when `owner` is not a name).
 */
int scan_rrset_from_pkt(const ldns_pkt *pkt, const char *owner,
			ldns_rr_type type, struct scan_rrset *out);
/* The same with the owner already a name (the prober makes its apex once
   per delegation, not once per answer), and the records moved out of the
   packet's answer section instead of cloned; what is left stays there, in
   order. */
int scan_rrset_take_from_pkt(ldns_pkt *pkt, const ldns_rdf *owner,
			     ldns_rr_type type, struct scan_rrset *out);
void scan_rrset_free(struct scan_rrset *set);

/*
 * A DS (or CDS) record as a struct. Returns 0, CDS_EMALFORMED when the
 * rdata is short, CDS_ELIMIT when the digest is longer than we keep, or
 * CDS_ENOMEM.
 */
int scan_ds_from_rr(const ldns_rr *rr, struct cds_ds *out);

/*
 * Check one server's DNSKEY, CDS and CDNSKEY RRsets (any may be empty)
 * for zone `zone` against the DS set `ds[0..n_ds)` at time `now` (unix
 * seconds; signature windows per RFC 4034 §3.1.5 with serial arithmetic).
 *
 * Fills in `obs`: dnskey/n_dnskey/dnskey_signs/dnskey_proven and
 * dnskey_rr.{sig,ttl,count,overflow,sig_*}; cds/n_cds and
 * cds_rr.{sig,ttl,count,overflow,sig_*}; the same for cdnskey. It does
 * not touch the .state fields, name, addr or error. Arrays are allocated
 * (release with cds_server_obs_clear). At most CDS_RRSET_MAX records of a
 * type are kept; more sets .overflow and keeps none.
 *
 * sig states: a CDS/CDNSKEY RRset is VALID_DS_KEY when an RRSIG made by a
 * key that is in the server's DNSKEY RRset and matches a DS in `ds`
 * verifies at `now`; VALID_OTHER when only a key of the proven DNSKEY
 * RRset (not matched by DS) makes one; UNPROVEN when the DNSKEY RRset is
 * not proven; otherwise UNSIGNED, EXPIRED or BOGUS as they describe.
 * dnskey_rr.sig is VALID_DS_KEY when proven, else the best failure.
 *
 * The exact mapping of failures to states is documented at
 * dnskey_verdict() and child_verdict() in validate.c. A DNSKEY RRset of
 * more than CDS_RRSET_MAX records is not checked at all (KeyTrap): it is
 * BOGUS and not proven. `obs` must come with empty arrays (zeroed, or
 * after cds_server_obs_clear); on error the caller still clears it.
 *
 * Returns 0 or CDS_ENOMEM (CDS_EINVAL when `zone` is not a name).
 */
int scan_validate_server(const char *zone, const struct cds_ds *ds, size_t n_ds,
			 const struct scan_rrset *dnskey,
			 const struct scan_rrset *cds,
			 const struct scan_rrset *cdnskey, int64_t now,
			 struct cds_server_obs *obs);

/*
 * A verification cache (per scanner, i.e. per run): remembers whether an
 * RRSIG over an RRset verifies with a key, keyed by a SHA-256 of the
 * three, so that byte-identical answers from several addresses are
 * verified once. Holds at most `cap` * 3/4 results (about 40 bytes
 * each) and is emptied when full. The signature window is checked on
 * every use, so results hold at any time. scan_sigcache_new returns 0,
 * CDS_EINVAL (cap < 4) or CDS_ENOMEM.
 */
struct scan_sigcache;
int scan_sigcache_new(size_t cap, struct scan_sigcache **out);
void scan_sigcache_free(struct scan_sigcache *c);
void scan_sigcache_stats(const struct scan_sigcache *c, unsigned long *hits,
			 unsigned long *misses);

/* scan_validate_server with a cache (NULL: none). Same results. */
int scan_validate_server_cached(struct scan_sigcache *cache, const char *zone,
				const struct cds_ds *ds, size_t n_ds,
				const struct scan_rrset *dnskey,
				const struct scan_rrset *cds,
				const struct scan_rrset *cdnskey, int64_t now,
				struct cds_server_obs *obs);

/*
 * The CDS and CDNSKEY records of one server into `obs` (cds/n_cds,
 * cdnskey/n_cdnskey and {cds,cdnskey}_rr.{ttl,count,overflow}), as
 * scan_validate_server reads them, but without any signature check:
 * the .sig fields stay CDS_SIG_NA ("not checked") and the DNSKEY fields
 * are left empty. For the probe's early stop (STANDARDS Q6), which acts
 * only on answers that confirm the status quo. Same contract on `obs`
 * and the same returns as scan_validate_server.
 */
int scan_read_records(const char *zone, const struct scan_rrset *cds,
		      const struct scan_rrset *cdnskey,
		      struct cds_server_obs *obs);

/* ---- CSYNC (RFC 7477, STANDARDS §6) --------------------------------- */

/*
 * The rdata of one CSYNC record (W3, RFC 7477 §2.1.1): Serial(32),
 * Flags(16), then the type bit map in NSEC encoding (RFC 4034 §4.1.2):
 * windows in strictly ascending order, each 1 to 32 octets long. Fills
 * out->serial, flags, types/n_types (ascending; types_overflow past
 * CDS_CSYNC_TYPES_MAX) and malformed. Returns 0, or CDS_EMALFORMED
 * (out->malformed set) for short rdata, a window of length 0 or more
 * than 32, windows out of order, or a window past the end.
 */
int scan_csync_parse(const uint8_t *rdata, size_t len,
		     struct cds_csync_obs *out);

/*
 * One server's DNSKEY RRset checked once against the DS set, for the
 * checks of further RRsets of the zone (CSYNC and the data it names,
 * STANDARDS Y1): exactly what scan_validate_server concludes about it.
 * `dnskey` is copied; `cache` (may be NULL) is borrowed and must outlive
 * the keys. Returns 0, CDS_EINVAL (bad zone name) or CDS_ENOMEM.
 */
struct scan_keys;
int scan_keys_new(struct scan_sigcache *cache, const char *zone,
		  const struct cds_ds *ds, size_t n_ds,
		  const struct scan_rrset *dnskey, int64_t now,
		  struct scan_keys **out);
void scan_keys_free(struct scan_keys *k);
bool scan_keys_proven(const struct scan_keys *k);

/*
 * The RRset of `type` owned by `owner` (a name at or below the zone) in
 * `set`: its shape into o->{count,ttl,overflow} and its signatures into
 * o->sig and o->sig_*, judged like a CDS RRset (VALID_DS_KEY,
 * VALID_OTHER, UNPROVEN, UNSIGNED, EXPIRED, BOGUS); NA when empty.
 * o->state is left alone. Returns 0, CDS_EINVAL or CDS_ENOMEM.
 */
int scan_check_rrset(const struct scan_keys *k, const char *owner,
		     uint16_t type, const struct scan_rrset *set,
		     struct cds_rrset_obs *o);

/*
 * The proof that `qname` has no RRset of `type` (a NODATA answer,
 * RFC 4035 §5.4), from the authority section records `auth` (may be
 * NULL): an NSEC owned by qname, or an NSEC3 whose owner is the hash of
 * qname (RFC 5155 §8.5), whose bit map has neither `type` nor CNAME, and
 * whose RRSIG verifies with a key of the proven DNSKEY set. o->sig:
 * VALID_DS_KEY / VALID_OTHER when so; UNPROVEN when the DNSKEY set is
 * not proven; UNSIGNED when there is no proof at all, or only NSEC3
 * with iterations above 0 or an unknown hash (treated as insecure, RFC
 * 9276 §3.2: never hashed); BOGUS when the record names the type or its
 * signatures fail; EXPIRED. Returns 0, CDS_EINVAL or CDS_ENOMEM.
 */
int scan_check_denial(const struct scan_keys *k, const char *qname,
		      uint16_t type, const ldns_rr_list *auth,
		      struct cds_rrset_obs *o);

/*
 * The building blocks, exposed for a verification cache and for tests.
 *
 * scan_sig_verify_crypto: does `rrsig` over `rrset` verify with `key`
 * (DNSKEY record), time aside? Depends on its three inputs only, so its
 * result may be memoised per (RRset, RRSIG, key). *ok gets the answer.
 * All three are borrowed. Returns 0 or CDS_ENOMEM.
 *
 * scan_sig_in_window: is `now` within the RRSIG's inception..expiration
 * (RFC 4034 §3.1.5, serial arithmetic)?
 *
 * scan_sig_verify: both, at time `now`: VALID, WINDOW (verifies, but now
 * is outside the window) or BAD. Returns 0 or CDS_ENOMEM.
 */
enum scan_sigcheck {
	SCAN_SIGCHECK_VALID = 0,
	SCAN_SIGCHECK_WINDOW,
	SCAN_SIGCHECK_BAD,
};

int scan_sig_verify_crypto(const ldns_rr_list *rrset, const ldns_rr *rrsig,
			   const ldns_rr *key, bool *ok);
bool scan_sig_in_window(const ldns_rr *rrsig, int64_t now);
int scan_sig_verify(const ldns_rr_list *rrset, const ldns_rr *rrsig,
		    const ldns_rr *key, int64_t now, enum scan_sigcheck *out);

#endif
