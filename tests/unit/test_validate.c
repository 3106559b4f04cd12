/*
 * Unit tests of scanner/validate: keys, DNSKEY/CDS/CDNSKEY RRsets and
 * their RRSIGs are made in-process with ldns, with chosen signature
 * windows, and judged at one fixed time NOW. DS records are computed with
 * ldns (not with core/dnssec) so that the two sides check each other.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "scanner/validate.h"

#define ZONE "child.test."
#define NOW INT64_C(1750000000) /* 2025-06-15, the same in every test */
#define INC ((uint32_t)(NOW - 3600))
#define EXP ((uint32_t)(NOW + 14 * 86400))
#define TTL 3600

struct tkey {
	ldns_key *key;
	ldns_rr *rr; /* its DNSKEY record */
	uint16_t tag;
};

/* ksk/zsk: operator A (ECDSA P-256); b_*: operator B (multi-signer);
   stray: a KSK never published in any DNSKEY RRset; rsa: RSASHA256;
   sha1: RSASHA1 (alg 5, for algorithm rollovers away from it). */
static struct tkey ksk, zsk, b_ksk, b_zsk, stray, rsa, sha1;
/* a key without the Zone Key flag (RFC 4034 §2.1.1): cannot sign */
static struct tkey nonzone;

#define KEYS(...) ((struct tkey *const[]){__VA_ARGS__, NULL})
#define NONE ((struct tkey *const[]){NULL})

static struct scan_rrset dk, cds, cdk;
static struct cds_server_obs obs;

static void make_key(struct tkey *k, ldns_signing_algorithm alg,
		     uint16_t bits, uint16_t flags)
{
	k->key = ldns_key_new_frm_algorithm(alg, bits);
	if (!k->key)
		abort();
	ldns_key_set_pubkey_owner(k->key, ldns_dname_new_frm_str(ZONE));
	ldns_key_set_flags(k->key, flags);
	k->rr = ldns_key2rr(k->key);
	ldns_rr_set_ttl(k->rr, TTL);
	k->tag = ldns_calc_keytag(k->rr);
	ldns_key_set_keytag(k->key, k->tag);
}

static void free_key(struct tkey *k)
{
	ldns_key_deep_free(k->key);
	ldns_rr_free(k->rr);
}

/* The DS (SHA-256) of a key as an ldns record. */
static ldns_rr *ds_rr(const struct tkey *k)
{
	ldns_rr *ds = ldns_key_rr2ds(k->rr, LDNS_SHA256);

	ck_assert_ptr_nonnull(ds);
	return ds;
}

static struct cds_ds ds_of(const struct tkey *k)
{
	ldns_rr *rr = ds_rr(k);
	const ldns_rdf *dig = ldns_rr_rdf(rr, 3);
	struct cds_ds ds = {
		.keytag = ldns_rdf2native_int16(ldns_rr_rdf(rr, 0)),
		.alg = ldns_rdf2native_int8(ldns_rr_rdf(rr, 1)),
		.digest_type = ldns_rdf2native_int8(ldns_rr_rdf(rr, 2)),
		.digest_len = (uint8_t)ldns_rdf_size(dig),
	};

	memcpy(ds.digest, ldns_rdf_data(dig), ldns_rdf_size(dig));
	ldns_rr_free(rr);
	return ds;
}

/* DNSKEY, CDNSKEY or CDS records for keys, at the apex, TTL 3600. */
static ldns_rr_list *rrs_of(ldns_rr_type type, struct tkey *const keys[])
{
	ldns_rr_list *l = ldns_rr_list_new();

	for (size_t i = 0; keys[i]; i++) {
		ldns_rr *rr = type == LDNS_RR_TYPE_CDS ? ds_rr(keys[i])
						       : ldns_rr_clone(keys[i]->rr);
		ldns_rr_set_type(rr, type);
		ldns_rr_set_ttl(rr, TTL);
		ldns_rr_list_push_rr(l, rr);
	}
	return l;
}

static ldns_rr_list *sign(ldns_rr_list *rrs, uint32_t inc, uint32_t exp,
			  struct tkey *const signers[])
{
	ldns_key_list *kl = ldns_key_list_new();
	ldns_rr_list *sigs;

	for (size_t i = 0; signers[i]; i++) {
		ldns_key_set_inception(signers[i]->key, inc);
		ldns_key_set_expiration(signers[i]->key, exp);
		ldns_key_list_push_key(kl, signers[i]->key);
	}
	sigs = signers[0] ? ldns_sign_public(rrs, kl) : ldns_rr_list_new();
	ck_assert_ptr_nonnull(sigs);
	/* the keys are borrowed: empty the list before freeing it
	   (ldns_key_list_pop_key shrinks the array to size 0 with realloc,
	   which frees it, and then it is freed again) */
	ldns_key_list_set_key_count(kl, 0);
	ldns_key_list_free(kl);
	return sigs;
}

/* Replace *s by the RRset of `keys` signed by `signers` over [inc, exp]. */
static void set_rrset(struct scan_rrset *s, ldns_rr_type type,
		      struct tkey *const keys[], struct tkey *const signers[],
		      uint32_t inc, uint32_t exp)
{
	scan_rrset_free(s);
	s->rrs = rrs_of(type, keys);
	s->sigs = sign(s->rrs, inc, exp, signers);
}

/* Add signatures by `signers` over [inc, exp] to *s. */
static void add_sigs(struct scan_rrset *s, struct tkey *const signers[],
		     uint32_t inc, uint32_t exp)
{
	ldns_rr_list *more = sign(s->rrs, inc, exp, signers);

	ldns_rr_list_cat(s->sigs, more);
	ldns_rr_list_free(more);
}

static int validate(const struct cds_ds *ds, size_t n_ds)
{
	cds_server_obs_clear(&obs);
	return scan_validate_server(ZONE, ds, n_ds, &dk, &cds, &cdk, NOW,
				    &obs);
}

/* Index of key k in obs.dnskey, or -1. */
static int key_index(const struct tkey *k)
{
	for (size_t i = 0; i < obs.n_dnskey; i++)
		if (cds_keytag(&obs.dnskey[i]) == k->tag)
			return (int)i;
	return -1;
}

static bool signs(const struct tkey *k)
{
	int i = key_index(k);

	ck_assert_int_ge(i, 0);
	return obs.dnskey_signs[i];
}

static void setup(void)
{
	memset(&obs, 0, sizeof(obs));
	memset(&dk, 0, sizeof(dk));
	memset(&cds, 0, sizeof(cds));
	memset(&cdk, 0, sizeof(cdk));
}

static void teardown(void)
{
	scan_rrset_free(&dk);
	scan_rrset_free(&cds);
	scan_rrset_free(&cdk);
	cds_server_obs_clear(&obs);
}

/* Flip one bit in the signature field of every RRSIG in the list. */
static void tamper(ldns_rr_list *sigs)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(sigs); i++) {
		ldns_rdf *f = ldns_rr_rdf(ldns_rr_list_rr(sigs, i), 8);

		ldns_rdf_data(f)[ldns_rdf_size(f) / 2] ^= 0x01;
	}
}

/* ---- DNSKEY RRset proven by the current DS (RFC 4035 §5.2) ---- */

START_TEST(dnskey_signed_by_ksk_in_ds_is_proven)
{
	struct cds_ds ds = ds_of(&ksk);

	set_rrset(&dk, LDNS_RR_TYPE_DNSKEY, KEYS(&ksk, &zsk), KEYS(&ksk), INC,
		  EXP);
	ck_assert_int_eq(validate(&ds, 1), CDS_OK);
	ck_assert(obs.dnskey_proven);
	ck_assert_int_eq(obs.dnskey_rr.sig, CDS_SIG_VALID_DS_KEY);
	ck_assert_uint_eq(obs.n_dnskey, 2);
	ck_assert_uint_eq(obs.dnskey_rr.count, 2);
	ck_assert_uint_eq(obs.dnskey_rr.ttl, TTL);
	ck_assert(!obs.dnskey_rr.overflow);
	ck_assert(signs(&ksk));
	ck_assert(!signs(&zsk));
	ck_assert_uint_eq(obs.dnskey[key_index(&ksk)].flags, 257);
	ck_assert_uint_eq(obs.dnskey[key_index(&zsk)].flags, 256);
	ck_assert_uint_eq(obs.dnskey_rr.sig_inception, INC);
	ck_assert_uint_eq(obs.dnskey_rr.sig_expiration, EXP);
	ck_assert_uint_eq(obs.dnskey_rr.sig_keytag, ksk.tag);
}
END_TEST

START_TEST(dnskey_not_proven_when_ds_names_unknown_key)
{
	struct cds_ds ds = ds_of(&stray);

	set_rrset(&dk, LDNS_RR_TYPE_DNSKEY, KEYS(&ksk, &zsk), KEYS(&ksk), INC,
		  EXP);
	ck_assert_int_eq(validate(&ds, 1), CDS_OK);
	ck_assert(!obs.dnskey_proven);
	ck_assert_int_eq(obs.dnskey_rr.sig, CDS_SIG_UNPROVEN);
	/* the signature itself is good: the key still counts as signing */
	ck_assert(signs(&ksk));
	ck_assert_uint_eq(obs.dnskey_rr.sig_inception, 0);
}
END_TEST

START_TEST(dnskey_not_proven_when_no_ds)
{
	set_rrset(&dk, LDNS_RR_TYPE_DNSKEY, KEYS(&ksk, &zsk), KEYS(&ksk), INC,
		  EXP);
	ck_assert_int_eq(validate(NULL, 0), CDS_OK);
	ck_assert(!obs.dnskey_proven);
	ck_assert_int_eq(obs.dnskey_rr.sig, CDS_SIG_UNPROVEN);
}
END_TEST

START_TEST(dnskey_signed_only_by_key_without_ds_is_bogus)
{
	struct cds_ds ds = ds_of(&ksk);

	set_rrset(&dk, LDNS_RR_TYPE_DNSKEY, KEYS(&ksk, &zsk), KEYS(&zsk), INC,
		  EXP);
	ck_assert_int_eq(validate(&ds, 1), CDS_OK);
	ck_assert(!obs.dnskey_proven);
	ck_assert_int_eq(obs.dnskey_rr.sig, CDS_SIG_BOGUS);
	ck_assert(signs(&zsk));
	ck_assert(!signs(&ksk));
}
END_TEST

START_TEST(dnskey_expired_signature_is_expired)
{
	struct cds_ds ds = ds_of(&ksk);

	set_rrset(&dk, LDNS_RR_TYPE_DNSKEY, KEYS(&ksk, &zsk), KEYS(&ksk),
		  (uint32_t)(NOW - 30 * 86400), (uint32_t)(NOW - 1));
	ck_assert_int_eq(validate(&ds, 1), CDS_OK);
	ck_assert(!obs.dnskey_proven);
	ck_assert_int_eq(obs.dnskey_rr.sig, CDS_SIG_EXPIRED);
	ck_assert(!signs(&ksk));
}
END_TEST

START_TEST(dnskey_not_yet_valid_signature_is_expired)
{
	struct cds_ds ds = ds_of(&ksk);

	set_rrset(&dk, LDNS_RR_TYPE_DNSKEY, KEYS(&ksk, &zsk), KEYS(&ksk),
		  (uint32_t)(NOW + 1), (uint32_t)(NOW + 30 * 86400));
	ck_assert_int_eq(validate(&ds, 1), CDS_OK);
	ck_assert(!obs.dnskey_proven);
	ck_assert_int_eq(obs.dnskey_rr.sig, CDS_SIG_EXPIRED);
}
END_TEST

START_TEST(dnskey_window_edges_are_inclusive)
{
	struct cds_ds ds = ds_of(&ksk);

	set_rrset(&dk, LDNS_RR_TYPE_DNSKEY, KEYS(&ksk, &zsk), KEYS(&ksk),
		  (uint32_t)NOW, (uint32_t)NOW);
	ck_assert_int_eq(validate(&ds, 1), CDS_OK);
	ck_assert(obs.dnskey_proven);
}
END_TEST

START_TEST(dnskey_tampered_signature_is_bogus)
{
	struct cds_ds ds = ds_of(&ksk);

	set_rrset(&dk, LDNS_RR_TYPE_DNSKEY, KEYS(&ksk, &zsk), KEYS(&ksk), INC,
		  EXP);
	tamper(dk.sigs);
	ck_assert_int_eq(validate(&ds, 1), CDS_OK);
	ck_assert(!obs.dnskey_proven);
	ck_assert_int_eq(obs.dnskey_rr.sig, CDS_SIG_BOGUS);
	ck_assert(!signs(&ksk));
}
END_TEST

START_TEST(dnskey_tampered_record_is_bogus)
{
	struct cds_ds ds = ds_of(&ksk);
	ldns_rr *z;

	set_rrset(&dk, LDNS_RR_TYPE_DNSKEY, KEYS(&ksk, &zsk), KEYS(&ksk), INC,
		  EXP);
	/* the ZSK record changes after signing: the KSK is still
	   DS-matched, but its signature no longer covers this RRset */
	z = ldns_rr_list_rr(dk.rrs, 1);
	ldns_rdf_data(ldns_rr_rdf(z, 3))[5] ^= 0x40;
	ck_assert_int_eq(validate(&ds, 1), CDS_OK);
	ck_assert(!obs.dnskey_proven);
	ck_assert_int_eq(obs.dnskey_rr.sig, CDS_SIG_BOGUS);
}
END_TEST

START_TEST(dnskey_unsigned_is_unsigned)
{
	struct cds_ds ds = ds_of(&ksk);

	set_rrset(&dk, LDNS_RR_TYPE_DNSKEY, KEYS(&ksk, &zsk), NONE, INC, EXP);
	ck_assert_int_eq(validate(&ds, 1), CDS_OK);
	ck_assert(!obs.dnskey_proven);
	ck_assert_int_eq(obs.dnskey_rr.sig, CDS_SIG_UNSIGNED);
	ck_assert_uint_eq(obs.n_dnskey, 2);
}
END_TEST

START_TEST(dnskey_signer_name_must_be_zone)
{
	struct cds_ds ds = ds_of(&ksk);
	ldns_rr *sig;

	set_rrset(&dk, LDNS_RR_TYPE_DNSKEY, KEYS(&ksk, &zsk), KEYS(&ksk), INC,
		  EXP);
	sig = ldns_rr_list_rr(dk.sigs, 0);
	ldns_rdf_deep_free(
		ldns_rr_set_rdf(sig, ldns_dname_new_frm_str("test."), 7));
	ck_assert_int_eq(validate(&ds, 1), CDS_OK);
	ck_assert(!obs.dnskey_proven);
	ck_assert_int_eq(obs.dnskey_rr.sig, CDS_SIG_BOGUS);
}
END_TEST

START_TEST(dnskey_non_zone_key_cannot_prove)
{
	struct cds_ds ds = ds_of(&nonzone);

	set_rrset(&dk, LDNS_RR_TYPE_DNSKEY, KEYS(&nonzone, &zsk),
		  KEYS(&nonzone, &zsk), INC, EXP);
	ck_assert_int_eq(validate(&ds, 1), CDS_OK);
	ck_assert_uint_eq(obs.n_dnskey, 2);
	ck_assert(!obs.dnskey_proven);
	ck_assert(!signs(&nonzone));
	ck_assert(signs(&zsk));
	ck_assert_int_eq(obs.dnskey_rr.sig, CDS_SIG_UNPROVEN);
}
END_TEST

START_TEST(dnskey_absent_is_na)
{
	struct cds_ds ds = ds_of(&ksk);

	ck_assert_int_eq(validate(&ds, 1), CDS_OK);
	ck_assert(!obs.dnskey_proven);
	ck_assert_int_eq(obs.dnskey_rr.sig, CDS_SIG_NA);
	ck_assert_uint_eq(obs.dnskey_rr.count, 0);
	ck_assert_uint_eq(obs.n_dnskey, 0);
}
END_TEST

START_TEST(dnskey_decremented_ttl_still_verifies)
{
	struct cds_ds ds = ds_of(&ksk);

	set_rrset(&dk, LDNS_RR_TYPE_DNSKEY, KEYS(&ksk, &zsk), KEYS(&ksk), INC,
		  EXP);
	/* RFC 4035 §5.3.2: the RRSIG's original TTL is what was signed */
	for (size_t i = 0; i < ldns_rr_list_rr_count(dk.rrs); i++)
		ldns_rr_set_ttl(ldns_rr_list_rr(dk.rrs, i), 1234 - i);
	ck_assert_int_eq(validate(&ds, 1), CDS_OK);
	ck_assert(obs.dnskey_proven);
	ck_assert_uint_eq(obs.dnskey_rr.ttl, 1233);
}
END_TEST

START_TEST(dnskey_overflow_is_refused_unchecked)
{
	struct cds_ds ds = ds_of(&ksk);
	struct tkey *many[CDS_RRSET_MAX + 2];

	for (size_t i = 0; i <= CDS_RRSET_MAX; i++)
		many[i] = i == 0 ? &ksk : &zsk;
	many[CDS_RRSET_MAX + 1] = NULL;
	set_rrset(&dk, LDNS_RR_TYPE_DNSKEY, many, KEYS(&ksk), INC, EXP);
	ck_assert_int_eq(validate(&ds, 1), CDS_OK);
	ck_assert(obs.dnskey_rr.overflow);
	ck_assert_uint_eq(obs.dnskey_rr.count, CDS_RRSET_MAX + 1);
	ck_assert_uint_eq(obs.n_dnskey, 0);
	ck_assert(!obs.dnskey_proven);
	ck_assert_int_eq(obs.dnskey_rr.sig, CDS_SIG_BOGUS);
}
END_TEST

/* ---- multi-signer (RFC 8901 model 2, STANDARDS M2) ---- */

START_TEST(multisigner_each_server_proven_by_own_ksk)
{
	struct cds_ds ds[2] = {ds_of(&ksk), ds_of(&b_ksk)};

	/* operator A's server: own KSK, both ZSKs, signed by A's KSK */
	set_rrset(&dk, LDNS_RR_TYPE_DNSKEY, KEYS(&ksk, &zsk, &b_zsk),
		  KEYS(&ksk), INC, EXP);
	ck_assert_int_eq(validate(ds, 2), CDS_OK);
	ck_assert(obs.dnskey_proven);
	ck_assert_uint_eq(obs.n_dnskey, 3);
	ck_assert(signs(&ksk));
	ck_assert_uint_eq(obs.dnskey_rr.sig_keytag, ksk.tag);

	/* operator B's server: a different DNSKEY RRset, also proven */
	set_rrset(&dk, LDNS_RR_TYPE_DNSKEY, KEYS(&b_ksk, &b_zsk, &zsk),
		  KEYS(&b_ksk), INC, EXP);
	ck_assert_int_eq(validate(ds, 2), CDS_OK);
	ck_assert(obs.dnskey_proven);
	ck_assert(signs(&b_ksk));
	ck_assert_int_eq(key_index(&ksk), -1);
	ck_assert_uint_eq(obs.dnskey_rr.sig_keytag, b_ksk.tag);
}
END_TEST

/* ---- algorithms (STANDARDS A2, A4) ---- */

START_TEST(algorithm_rollover_both_algorithms_sign)
{
	struct cds_ds ds = ds_of(&rsa);

	set_rrset(&dk, LDNS_RR_TYPE_DNSKEY, KEYS(&rsa, &ksk, &zsk),
		  KEYS(&rsa, &ksk), INC, EXP);
	ck_assert_int_eq(validate(&ds, 1), CDS_OK);
	ck_assert(obs.dnskey_proven);
	ck_assert(signs(&rsa));
	ck_assert(signs(&ksk));
	ck_assert(!signs(&zsk));
	ck_assert_uint_eq(obs.dnskey[key_index(&rsa)].alg, LDNS_RSASHA256);
	ck_assert_uint_eq(obs.dnskey[key_index(&ksk)].alg,
			  LDNS_ECDSAP256SHA256);
}
END_TEST

START_TEST(algorithm_rsasha1_still_validates)
{
	struct cds_ds ds = ds_of(&sha1);

	/* rolling away from alg 5: its DS is the only one the parent has */
	set_rrset(&dk, LDNS_RR_TYPE_DNSKEY, KEYS(&sha1, &ksk),
		  KEYS(&sha1, &ksk), INC, EXP);
	ck_assert_int_eq(validate(&ds, 1), CDS_OK);
	ck_assert(obs.dnskey_proven);
	ck_assert(signs(&sha1));
	ck_assert(signs(&ksk));
	ck_assert_uint_eq(obs.dnskey[key_index(&sha1)].alg, LDNS_RSASHA1);
}
END_TEST

#if LDNS_BUILD_CONFIG_USE_ED25519
START_TEST(algorithm_ed25519_validates)
{
	struct tkey ed;
	struct cds_ds ds;

	make_key(&ed, LDNS_SIGN_ED25519, 256, 257);
	ds = ds_of(&ed);
	set_rrset(&dk, LDNS_RR_TYPE_DNSKEY, KEYS(&ed, &zsk), KEYS(&ed), INC,
		  EXP);
	set_rrset(&cds, LDNS_RR_TYPE_CDS, KEYS(&ed), KEYS(&ed), INC, EXP);
	ck_assert_int_eq(validate(&ds, 1), CDS_OK);
	ck_assert(obs.dnskey_proven);
	ck_assert_int_eq(obs.cds_rr.sig, CDS_SIG_VALID_DS_KEY);
	free_key(&ed);
}
END_TEST
#endif

START_TEST(algorithm_mismatch_in_rrsig_is_bogus)
{
	struct cds_ds ds = ds_of(&ksk);
	ldns_rr *sig;

	set_rrset(&dk, LDNS_RR_TYPE_DNSKEY, KEYS(&ksk, &zsk), KEYS(&ksk), INC,
		  EXP);
	/* same key tag, other algorithm: not made by this key */
	sig = ldns_rr_list_rr(dk.sigs, 0);
	ldns_rdf_deep_free(ldns_rr_set_rdf(
		sig, ldns_native2rdf_int8(LDNS_RDF_TYPE_ALG, LDNS_RSASHA256), 1));
	ck_assert_int_eq(validate(&ds, 1), CDS_OK);
	ck_assert(!obs.dnskey_proven);
	ck_assert_int_eq(obs.dnskey_rr.sig, CDS_SIG_BOGUS);
}
END_TEST

/* ---- CDS/CDNSKEY signatures (RFC 7344 §4.1, STANDARDS C1) ---- */

static void proven_dnskey(void)
{
	set_rrset(&dk, LDNS_RR_TYPE_DNSKEY, KEYS(&ksk, &zsk), KEYS(&ksk), INC,
		  EXP);
}

START_TEST(cds_signed_by_ds_key_is_valid_ds_key)
{
	struct cds_ds ds = ds_of(&ksk);
	struct cds_ds want = ds_of(&zsk);

	proven_dnskey();
	set_rrset(&cds, LDNS_RR_TYPE_CDS, KEYS(&zsk), KEYS(&ksk), INC, EXP);
	ck_assert_int_eq(validate(&ds, 1), CDS_OK);
	ck_assert_int_eq(obs.cds_rr.sig, CDS_SIG_VALID_DS_KEY);
	ck_assert_uint_eq(obs.cds_rr.count, 1);
	ck_assert_uint_eq(obs.cds_rr.ttl, TTL);
	ck_assert_uint_eq(obs.n_cds, 1);
	ck_assert(cds_ds_equal(&obs.cds[0], &want));
	ck_assert_uint_eq(obs.cds_rr.sig_inception, INC);
	ck_assert_uint_eq(obs.cds_rr.sig_expiration, EXP);
	ck_assert_uint_eq(obs.cds_rr.sig_keytag, ksk.tag);
	ck_assert_int_eq(obs.cdnskey_rr.sig, CDS_SIG_NA);
	ck_assert_uint_eq(obs.n_cdnskey, 0);
	ck_assert_ptr_null(obs.cdnskey);
}
END_TEST

START_TEST(cds_signed_only_by_zsk_is_valid_other)
{
	struct cds_ds ds = ds_of(&ksk);

	proven_dnskey();
	set_rrset(&cds, LDNS_RR_TYPE_CDS, KEYS(&ksk), KEYS(&zsk), INC, EXP);
	ck_assert_int_eq(validate(&ds, 1), CDS_OK);
	ck_assert_int_eq(obs.cds_rr.sig, CDS_SIG_VALID_OTHER);
	ck_assert_uint_eq(obs.cds_rr.sig_keytag, zsk.tag);
}
END_TEST

START_TEST(cds_signed_by_key_outside_dnskey_is_bogus)
{
	struct cds_ds ds = ds_of(&ksk);

	proven_dnskey();
	set_rrset(&cds, LDNS_RR_TYPE_CDS, KEYS(&ksk), KEYS(&stray), INC, EXP);
	ck_assert_int_eq(validate(&ds, 1), CDS_OK);
	ck_assert_int_eq(obs.cds_rr.sig, CDS_SIG_BOGUS);
	ck_assert_uint_eq(obs.cds_rr.sig_inception, 0);
	/* the records are kept for diagnostics all the same */
	ck_assert_uint_eq(obs.n_cds, 1);
}
END_TEST

START_TEST(cds_expired_signature_is_expired)
{
	struct cds_ds ds = ds_of(&ksk);

	proven_dnskey();
	set_rrset(&cds, LDNS_RR_TYPE_CDS, KEYS(&ksk), KEYS(&ksk),
		  (uint32_t)(NOW - 30 * 86400), (uint32_t)(NOW - 86400));
	ck_assert_int_eq(validate(&ds, 1), CDS_OK);
	ck_assert_int_eq(obs.cds_rr.sig, CDS_SIG_EXPIRED);
	ck_assert_uint_eq(obs.cds_rr.sig_inception, 0);
}
END_TEST

START_TEST(cds_unsigned_is_unsigned)
{
	struct cds_ds ds = ds_of(&ksk);

	proven_dnskey();
	set_rrset(&cds, LDNS_RR_TYPE_CDS, KEYS(&ksk), NONE, INC, EXP);
	ck_assert_int_eq(validate(&ds, 1), CDS_OK);
	ck_assert_int_eq(obs.cds_rr.sig, CDS_SIG_UNSIGNED);
}
END_TEST

START_TEST(cds_tampered_is_bogus)
{
	struct cds_ds ds = ds_of(&ksk);

	proven_dnskey();
	set_rrset(&cds, LDNS_RR_TYPE_CDS, KEYS(&ksk), KEYS(&ksk, &zsk), INC,
		  EXP);
	tamper(cds.sigs);
	ck_assert_int_eq(validate(&ds, 1), CDS_OK);
	ck_assert_int_eq(obs.cds_rr.sig, CDS_SIG_BOGUS);
}
END_TEST

START_TEST(cds_under_unproven_dnskey_is_unproven)
{
	proven_dnskey();
	set_rrset(&cds, LDNS_RR_TYPE_CDS, KEYS(&ksk), KEYS(&ksk), INC, EXP);
	ck_assert_int_eq(validate(NULL, 0), CDS_OK);
	ck_assert_int_eq(obs.dnskey_rr.sig, CDS_SIG_UNPROVEN);
	ck_assert_int_eq(obs.cds_rr.sig, CDS_SIG_UNPROVEN);
	ck_assert_uint_eq(obs.n_cds, 1);
}
END_TEST

START_TEST(cds_newest_valid_signature_is_reported)
{
	struct cds_ds ds = ds_of(&ksk);
	uint32_t newer = INC + 600;

	proven_dnskey();
	set_rrset(&cds, LDNS_RR_TYPE_CDS, KEYS(&ksk), KEYS(&ksk), INC, EXP);
	add_sigs(&cds, KEYS(&zsk), newer, EXP + 1);
	/* newer still, but not valid yet: must not count */
	add_sigs(&cds, KEYS(&ksk), (uint32_t)(NOW + 60), EXP);
	ck_assert_int_eq(validate(&ds, 1), CDS_OK);
	ck_assert_int_eq(obs.cds_rr.sig, CDS_SIG_VALID_DS_KEY);
	ck_assert_uint_eq(obs.cds_rr.sig_inception, newer);
	ck_assert_uint_eq(obs.cds_rr.sig_expiration, EXP + 1);
	ck_assert_uint_eq(obs.cds_rr.sig_keytag, zsk.tag);
}
END_TEST

START_TEST(cds_overflow_keeps_no_records)
{
	struct cds_ds ds = ds_of(&ksk);
	ldns_rr *extra;

	proven_dnskey();
	scan_rrset_free(&cds);
	cds.rrs = ldns_rr_list_new();
	for (int i = 0; i <= CDS_RRSET_MAX; i++) {
		extra = ds_rr(&ksk);
		ldns_rr_set_type(extra, LDNS_RR_TYPE_CDS);
		/* distinct records: vary the last digest octet */
		ldns_rdf_data(ldns_rr_rdf(extra, 3))[31] = (uint8_t)i;
		ldns_rr_list_push_rr(cds.rrs, extra);
	}
	cds.sigs = sign(cds.rrs, INC, EXP, KEYS(&ksk));
	ck_assert_int_eq(validate(&ds, 1), CDS_OK);
	ck_assert(obs.cds_rr.overflow);
	ck_assert_uint_eq(obs.cds_rr.count, CDS_RRSET_MAX + 1);
	ck_assert_uint_eq(obs.n_cds, 0);
	ck_assert_ptr_null(obs.cds);
	ck_assert_int_eq(obs.cds_rr.sig, CDS_SIG_VALID_DS_KEY);
}
END_TEST

START_TEST(cds_records_off_apex_are_ignored)
{
	struct cds_ds ds = ds_of(&ksk);
	ldns_rr *off = ds_rr(&zsk);

	proven_dnskey();
	set_rrset(&cds, LDNS_RR_TYPE_CDS, KEYS(&ksk), KEYS(&ksk), INC, EXP);
	ldns_rdf_deep_free(ldns_rr_owner(off));
	ldns_rr_set_owner(off, ldns_dname_new_frm_str("www.child.test."));
	ldns_rr_set_type(off, LDNS_RR_TYPE_CDS);
	ldns_rr_list_push_rr(cds.rrs, off);
	ck_assert_int_eq(validate(&ds, 1), CDS_OK);
	ck_assert_uint_eq(obs.cds_rr.count, 1);
	ck_assert_uint_eq(obs.n_cds, 1);
	ck_assert_int_eq(obs.cds_rr.sig, CDS_SIG_VALID_DS_KEY);
}
END_TEST

START_TEST(cdnskey_signed_by_ds_key_is_valid_ds_key)
{
	struct cds_ds ds = ds_of(&ksk);

	proven_dnskey();
	set_rrset(&cdk, LDNS_RR_TYPE_CDNSKEY, KEYS(&ksk, &rsa), KEYS(&ksk),
		  INC, EXP);
	ck_assert_int_eq(validate(&ds, 1), CDS_OK);
	ck_assert_int_eq(obs.cdnskey_rr.sig, CDS_SIG_VALID_DS_KEY);
	ck_assert_uint_eq(obs.n_cdnskey, 2);
	ck_assert_uint_eq(cds_keytag(&obs.cdnskey[0]), ksk.tag);
	ck_assert_uint_eq(cds_keytag(&obs.cdnskey[1]), rsa.tag);
	ck_assert(cds_ds_matches_dnskey(ZONE, &ds, &obs.cdnskey[0]));
	ck_assert_int_eq(obs.cds_rr.sig, CDS_SIG_NA);
}
END_TEST

START_TEST(cdnskey_signed_by_other_signers_ksk_is_valid_ds_key)
{
	struct cds_ds ds[2] = {ds_of(&ksk), ds_of(&b_ksk)};

	/* operator B's server, signing the shared CDNSKEY with its KSK */
	set_rrset(&dk, LDNS_RR_TYPE_DNSKEY, KEYS(&b_ksk, &b_zsk, &zsk),
		  KEYS(&b_ksk), INC, EXP);
	set_rrset(&cdk, LDNS_RR_TYPE_CDNSKEY, KEYS(&ksk, &b_ksk), KEYS(&b_ksk),
		  INC, EXP);
	ck_assert_int_eq(validate(ds, 2), CDS_OK);
	ck_assert_int_eq(obs.cdnskey_rr.sig, CDS_SIG_VALID_DS_KEY);
	ck_assert_uint_eq(obs.cdnskey_rr.sig_keytag, b_ksk.tag);
}
END_TEST

/* ---- the signature window (RFC 4034 §3.1.5) ---- */

static ldns_rr *rrsig_with(uint32_t inc, uint32_t exp)
{
	ldns_rr *rr = NULL;
	char text[256];

	snprintf(text, sizeof(text),
		 ZONE " 3600 IN RRSIG DNSKEY 13 2 3600 %u %u 1 " ZONE " AAAA",
		 exp, inc);
	ck_assert_int_eq(ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL),
			 LDNS_STATUS_OK);
	return rr;
}

static const struct {
	const char *what;
	uint32_t inc, exp;
	int64_t now;
	bool in;
} windows[] = {
	{.what = "inside", .inc = 100, .exp = 200, .now = 150, .in = true},
	{.what = "at inception", .inc = 100, .exp = 200, .now = 100, .in = true},
	{.what = "at expiration", .inc = 100, .exp = 200, .now = 200, .in = true},
	{.what = "before", .inc = 100, .exp = 200, .now = 99, .in = false},
	{.what = "after", .inc = 100, .exp = 200, .now = 201, .in = false},
	/* after 2106 the 32-bit fields wrap; serial arithmetic keeps going */
	{.what = "across wrap",
	 .inc = 0xffffff00u,
	 .exp = 0x00000100u,
	 .now = INT64_C(0x100000010),
	 .in = true},
	{.what = "after wrap, expired",
	 .inc = 0xffffff00u,
	 .exp = 0x00000100u,
	 .now = INT64_C(0x100000200),
	 .in = false},
	{.what = "before wrap",
	 .inc = 0xffffff00u,
	 .exp = 0x00000100u,
	 .now = INT64_C(0xfffffff0),
	 .in = true},
};

START_TEST(window_serial_arithmetic)
{
	ldns_rr *sig = rrsig_with(windows[_i].inc, windows[_i].exp);

	ck_assert_msg(scan_sig_in_window(sig, windows[_i].now) ==
			      windows[_i].in,
		      "%s", windows[_i].what);
	ldns_rr_free(sig);
}
END_TEST

/* The one step a verification cache would remember, on its own. */
START_TEST(sig_verify_distinguishes_valid_window_bad)
{
	enum scan_sigcheck r;
	bool ok;

	set_rrset(&dk, LDNS_RR_TYPE_DNSKEY, KEYS(&rsa, &zsk), KEYS(&rsa),
		  INC, EXP);
	ck_assert_int_eq(scan_sig_verify(dk.rrs, ldns_rr_list_rr(dk.sigs, 0),
					 rsa.rr, NOW, &r),
			 CDS_OK);
	ck_assert_int_eq(r, SCAN_SIGCHECK_VALID);
	ck_assert_int_eq(scan_sig_verify(dk.rrs, ldns_rr_list_rr(dk.sigs, 0),
					 rsa.rr, (int64_t)EXP + 1, &r),
			 CDS_OK);
	ck_assert_int_eq(r, SCAN_SIGCHECK_WINDOW);
	/* time plays no part in the cryptographic step */
	ck_assert_int_eq(scan_sig_verify_crypto(dk.rrs,
						ldns_rr_list_rr(dk.sigs, 0),
						rsa.rr, &ok),
			 CDS_OK);
	ck_assert(ok);
	ck_assert_int_eq(scan_sig_verify(dk.rrs, ldns_rr_list_rr(dk.sigs, 0),
					 zsk.rr, NOW, &r),
			 CDS_OK);
	ck_assert_int_eq(r, SCAN_SIGCHECK_BAD);
}
END_TEST


/* ---- the OpenSSL verifier against ldns' (the test vectors) ---- */

/* ldns' own answer: the verifier validate.c used before its own. */
static bool ldns_says(const ldns_rr_list *rrs, const ldns_rr *sig,
		      const ldns_rr *key)
{
	ldns_rr_list *keys = ldns_rr_list_new();
	ldns_status st;

	ldns_rr_list_push_rr(keys, (ldns_rr *)key);
	st = ldns_verify_rrsig_keylist_notime(rrs, sig, keys, NULL);
	ldns_rr_list_free(keys);
	return st == LDNS_STATUS_OK;
}

static bool we_say(const ldns_rr_list *rrs, const ldns_rr *sig,
		   const ldns_rr *key)
{
	bool ok = false;

	ck_assert_int_eq(scan_sig_verify_crypto(rrs, sig, key, &ok), CDS_OK);
	return ok;
}

/* Both verifiers on rrs/sig/key; they must agree, and on `want`. */
static void agree(const ldns_rr_list *rrs, const ldns_rr *sig,
		  const ldns_rr *key, bool want, const char *what)
{
	bool l = ldns_says(rrs, sig, key), w = we_say(rrs, sig, key);

	ck_assert_msg(l == want, "%s: ldns says %d", what, l);
	ck_assert_msg(w == want, "%s: we say %d", what, w);
}

static struct tkey p384, ed, ed448;
static struct tkey *const verify_keys[] = {&ksk, &p384, &rsa, &sha1,
					   &ed, &ed448};

/* Every algorithm: valid, tampered signature, tampered record, another
   key of the same algorithm, a decremented TTL: same verdict as ldns. */
START_TEST(native_verify_agrees_with_ldns)
{
	struct tkey *k = verify_keys[_i];
	struct tkey *other = k == &ksk ? &zsk : &stray;
	ldns_rr *rr;

	if (!k->key)
		return; /* algorithm not in this ldns build */
	set_rrset(&dk, LDNS_RR_TYPE_DNSKEY, KEYS(k, &zsk), KEYS(k), INC, EXP);
	agree(dk.rrs, ldns_rr_list_rr(dk.sigs, 0), k->rr, true, "valid");
	if (k == &ksk || k == &rsa || k == &sha1)
		agree(dk.rrs, ldns_rr_list_rr(dk.sigs, 0), other->rr, false,
		      "other key");
	for (size_t i = 0; i < ldns_rr_list_rr_count(dk.rrs); i++)
		ldns_rr_set_ttl(ldns_rr_list_rr(dk.rrs, i), TTL - 100);
	agree(dk.rrs, ldns_rr_list_rr(dk.sigs, 0), k->rr, true,
	      "decremented TTL");
	rr = ldns_rr_list_rr(dk.rrs, 1);
	ldns_rdf_data(ldns_rr_rdf(rr, 3))[4] ^= 0x01;
	agree(dk.rrs, ldns_rr_list_rr(dk.sigs, 0), k->rr, false,
	      "tampered record");
	ldns_rdf_data(ldns_rr_rdf(rr, 3))[4] ^= 0x01;
	tamper(dk.sigs);
	agree(dk.rrs, ldns_rr_list_rr(dk.sigs, 0), k->rr, false,
	      "tampered signature");
}
END_TEST

/* RFC 4035 §5.3.2: records from a wildcard verify as the wildcard. */
START_TEST(native_verify_wildcard_expansion_agrees_with_ldns)
{
	ldns_rr_list *rrs = rrs_of(LDNS_RR_TYPE_CDS, KEYS(&ksk));
	ldns_rr_list *sigs;
	ldns_rr *rr = ldns_rr_list_rr(rrs, 0);

	ldns_rdf_deep_free(ldns_rr_owner(rr));
	ldns_rr_set_owner(rr, ldns_dname_new_frm_str("*." ZONE));
	sigs = sign(rrs, INC, EXP, KEYS(&ksk));
	ldns_rdf_deep_free(ldns_rr_owner(rr));
	ldns_rr_set_owner(rr, ldns_dname_new_frm_str("a.b." ZONE));
	agree(rrs, ldns_rr_list_rr(sigs, 0), ksk.rr, true, "expanded");
	ldns_rdf_deep_free(ldns_rr_owner(rr));
	ldns_rr_set_owner(rr, ldns_dname_new_frm_str("a." ZONE));
	agree(rrs, ldns_rr_list_rr(sigs, 0), ksk.rr, true, "one label");
	ldns_rdf_deep_free(ldns_rr_owner(rr));
	ldns_rr_set_owner(rr, ldns_dname_new_frm_str(ZONE));
	agree(rrs, ldns_rr_list_rr(sigs, 0), ksk.rr, false, "not expanded");
	ldns_rr_list_deep_free(rrs);
	ldns_rr_list_deep_free(sigs);
}
END_TEST

/*
 * A cache keeps each DNSKEY as an OpenSSL key: verdicts through one cache
 * over many RRsets and algorithms, tampered ones in between, are those
 * without a cache.
 */
START_TEST(cache_keys_verify_same_as_uncached)
{
	struct scan_sigcache *c;
	struct cds_server_obs plain;
	unsigned long hits, misses;

	ck_assert_int_eq(scan_sigcache_new(64, &c), CDS_OK);
	for (int round = 0; round < 3; round++)
		for (size_t i = 0; i < sizeof(verify_keys) /
					   sizeof(verify_keys[0]); i++) {
			struct tkey *k = verify_keys[i];
			struct cds_ds ds;

			if (!k->key)
				continue;
			ds = ds_of(k);
			set_rrset(&dk, LDNS_RR_TYPE_DNSKEY, KEYS(k, &zsk),
				  KEYS(k), INC, EXP - (uint32_t)round);
			set_rrset(&cds, LDNS_RR_TYPE_CDS, KEYS(k), KEYS(k),
				  INC, EXP - (uint32_t)round);
			if (round == 1)
				tamper(cds.sigs);
			ck_assert_int_eq(validate(&ds, 1), CDS_OK);
			plain = obs;
			memset(&obs, 0, sizeof(obs));
			ck_assert_int_eq(scan_validate_server_cached(
						 c, ZONE, &ds, 1, &dk, &cds,
						 &cdk, NOW, &obs),
					 CDS_OK);
			ck_assert(obs.dnskey_proven);
			ck_assert_int_eq(obs.dnskey_proven,
					 plain.dnskey_proven);
			ck_assert_int_eq(obs.cds_rr.sig, plain.cds_rr.sig);
			ck_assert_int_eq(obs.cds_rr.sig,
					 round == 1 ? CDS_SIG_BOGUS
						    : CDS_SIG_VALID_DS_KEY);
			cds_server_obs_clear(&plain);
		}
	scan_sigcache_stats(c, &hits, &misses);
	ck_assert_uint_gt(misses, 0);
	scan_sigcache_free(c);
}
END_TEST

/* ---- scan_rrset_from_pkt ---- */

static void answer(ldns_pkt *p, ldns_pkt_section sec, const char *text)
{
	ldns_rr *rr = NULL;

	ck_assert_int_eq(ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL),
			 LDNS_STATUS_OK);
	ck_assert(ldns_pkt_push_rr(p, sec, rr));
}

#define SIG_TAIL " 13 2 3600 20250701000000 20250601000000 1 child.test. AAAA"

START_TEST(rrset_from_pkt_takes_owner_type_and_covering_sigs)
{
	ldns_pkt *p = ldns_pkt_new();
	struct scan_rrset s = {0};
	const ldns_rr *rr;

	answer(p, LDNS_SECTION_ANSWER, "child.test. 60 IN CDS 1 13 2 00ff");
	answer(p, LDNS_SECTION_ANSWER, "CHILD.Test. 60 IN CDS 2 13 2 00ff");
	answer(p, LDNS_SECTION_ANSWER, "www.child.test. 60 IN CDS 3 13 2 00");
	answer(p, LDNS_SECTION_ANSWER, "other.test. 60 IN CDS 4 13 2 00");
	answer(p, LDNS_SECTION_ANSWER,
	       "child.test. 60 IN CDNSKEY 257 3 13 AAAA");
	answer(p, LDNS_SECTION_ANSWER, "child.test. 60 IN RRSIG CDS" SIG_TAIL);
	answer(p, LDNS_SECTION_ANSWER,
	       "child.test. 60 IN RRSIG CDNSKEY" SIG_TAIL);
	answer(p, LDNS_SECTION_ANSWER, "other.test. 60 IN RRSIG CDS" SIG_TAIL);
	answer(p, LDNS_SECTION_AUTHORITY, "child.test. 60 IN CDS 5 13 2 00");
	answer(p, LDNS_SECTION_ADDITIONAL,
	       "child.test. 60 IN RRSIG CDS" SIG_TAIL);

	ck_assert_int_eq(scan_rrset_from_pkt(p, "child.test", LDNS_RR_TYPE_CDS,
					     &s),
			 CDS_OK);
	ck_assert_uint_eq(ldns_rr_list_rr_count(s.rrs), 2);
	for (size_t i = 0; i < 2; i++) {
		rr = ldns_rr_list_rr(s.rrs, i);
		ck_assert_int_eq(ldns_rr_get_type(rr), LDNS_RR_TYPE_CDS);
		ck_assert_uint_eq(ldns_rdf2native_int16(ldns_rr_rdf(rr, 0)),
				  i + 1);
	}
	ck_assert_uint_eq(ldns_rr_list_rr_count(s.sigs), 1);
	rr = ldns_rr_list_rr(s.sigs, 0);
	ck_assert_int_eq(ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)),
			 LDNS_RR_TYPE_CDS);
	/* clones: the packet can go first */
	ldns_pkt_free(p);
	ck_assert_uint_eq(ldns_rr_ttl(ldns_rr_list_rr(s.rrs, 1)), 60);
	scan_rrset_free(&s);
	ck_assert_ptr_null(s.rrs);
	ck_assert_ptr_null(s.sigs);
}
END_TEST

/* The prober's way: the same records, moved out of the packet, which
   keeps the rest in order and then frees only those (ASan: no record
   freed twice, none lost). */
START_TEST(rrset_take_moves_records_and_leaves_the_rest)
{
	ldns_pkt *p = ldns_pkt_new();
	ldns_rdf *owner = ldns_dname_new_frm_str("child.test.");
	struct scan_rrset s = {0};
	const ldns_rr_list *ans;

	answer(p, LDNS_SECTION_ANSWER, "child.test. 60 IN CDS 1 13 2 00ff");
	answer(p, LDNS_SECTION_ANSWER, "other.test. 60 IN CDS 4 13 2 00");
	answer(p, LDNS_SECTION_ANSWER, "CHILD.Test. 60 IN CDS 2 13 2 00ff");
	answer(p, LDNS_SECTION_ANSWER,
	       "child.test. 60 IN CDNSKEY 257 3 13 AAAA");
	answer(p, LDNS_SECTION_ANSWER, "child.test. 60 IN RRSIG CDS" SIG_TAIL);
	answer(p, LDNS_SECTION_AUTHORITY, "child.test. 60 IN CDS 5 13 2 00");

	ck_assert_int_eq(scan_rrset_take_from_pkt(p, owner, LDNS_RR_TYPE_CDS,
						  &s),
			 CDS_OK);
	ck_assert_uint_eq(ldns_rr_list_rr_count(s.rrs), 2);
	for (size_t i = 0; i < 2; i++)
		ck_assert_uint_eq(ldns_rdf2native_int16(ldns_rr_rdf(
					  ldns_rr_list_rr(s.rrs, i), 0)),
				  i + 1);
	ck_assert_uint_eq(ldns_rr_list_rr_count(s.sigs), 1);
	/* what was not taken is still there, in order */
	ans = ldns_pkt_answer(p);
	ck_assert_uint_eq(ldns_rr_list_rr_count(ans), 2);
	ck_assert_uint_eq(ldns_pkt_ancount(p), 2);
	ck_assert_int_eq(ldns_rr_get_type(ldns_rr_list_rr(ans, 0)),
			 LDNS_RR_TYPE_CDS);
	ck_assert_int_eq(ldns_rr_get_type(ldns_rr_list_rr(ans, 1)),
			 LDNS_RR_TYPE_CDNSKEY);
	ck_assert_uint_eq(ldns_rr_list_rr_count(ldns_pkt_authority(p)), 1);
	/* a second take finds nothing more of the type */
	scan_rrset_free(&s);
	ck_assert_int_eq(scan_rrset_take_from_pkt(p, owner, LDNS_RR_TYPE_CDS,
						  &s),
			 CDS_OK);
	ck_assert_uint_eq(ldns_rr_list_rr_count(s.rrs), 0);
	ck_assert_uint_eq(ldns_rr_list_rr_count(s.sigs), 0);
	ldns_pkt_free(p);
	ldns_rdf_deep_free(owner);
	scan_rrset_free(&s);
}
END_TEST

START_TEST(rrset_from_pkt_empty_answer_gives_empty_lists)
{
	ldns_pkt *p = ldns_pkt_new();
	struct scan_rrset s = {0};

	ck_assert_int_eq(scan_rrset_from_pkt(p, ZONE, LDNS_RR_TYPE_CDNSKEY,
					     &s),
			 CDS_OK);
	ck_assert_uint_eq(ldns_rr_list_rr_count(s.rrs), 0);
	ck_assert_uint_eq(ldns_rr_list_rr_count(s.sigs), 0);
	scan_rrset_free(&s);
	ldns_pkt_free(p);
}
END_TEST

START_TEST(rrset_from_pkt_feeds_validation)
{
	struct cds_ds ds = ds_of(&ksk);
	ldns_pkt *p = ldns_pkt_new();
	ldns_rr_list *rrs = rrs_of(LDNS_RR_TYPE_DNSKEY, KEYS(&ksk, &zsk));
	ldns_rr_list *sigs = sign(rrs, INC, EXP, KEYS(&ksk));

	ldns_pkt_push_rr_list(p, LDNS_SECTION_ANSWER, rrs);
	ldns_pkt_push_rr_list(p, LDNS_SECTION_ANSWER, sigs);
	ldns_rr_list_free(rrs);
	ldns_rr_list_free(sigs);
	ck_assert_int_eq(scan_rrset_from_pkt(p, "Child.Test.",
					     LDNS_RR_TYPE_DNSKEY, &dk),
			 CDS_OK);
	ldns_pkt_free(p);
	ck_assert_int_eq(validate(&ds, 1), CDS_OK);
	ck_assert(obs.dnskey_proven);
}
END_TEST

/* The parent's DS as `cdscan check` reads it: whole, or refused. */
START_TEST(ds_from_rr_keeps_digest_and_refuses_oversize)
{
	char big[200], text[300];
	ldns_rr *rr = NULL;
	struct cds_ds ds;

	ck_assert_int_eq(ldns_rr_new_frm_str(&rr,
			"child.test. 3600 IN DS 12345 13 2 "
			"0123456789abcdef0123456789abcdef"
			"0123456789abcdef0123456789abcdef", 0, NULL, NULL),
			 LDNS_STATUS_OK);
	ck_assert_int_eq(scan_ds_from_rr(rr, &ds), CDS_OK);
	ck_assert_uint_eq(ds.keytag, 12345);
	ck_assert_uint_eq(ds.alg, 13);
	ck_assert_uint_eq(ds.digest_type, 2);
	ck_assert_uint_eq(ds.digest_len, 32);
	ck_assert_uint_eq(ds.digest[31], 0xef);
	ldns_rr_free(rr);

	/* 80 octets of digest: more than CDS_DIGEST_MAX, never truncated */
	memset(big, 'a', 160);
	big[160] = '\0';
	snprintf(text, sizeof text, "child.test. 3600 IN DS 1 13 2 %s", big);
	ck_assert_int_eq(ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL),
			 LDNS_STATUS_OK);
	ck_assert_int_eq(scan_ds_from_rr(rr, &ds), CDS_ELIMIT);
	ldns_rr_free(rr);
}
END_TEST

/* ---- verification cache ---- */

static int validate_cached(struct scan_sigcache *c, const struct cds_ds *ds,
			   size_t n_ds, int64_t now)
{
	cds_server_obs_clear(&obs);
	return scan_validate_server_cached(c, ZONE, ds, n_ds, &dk, &cds, &cdk,
					   now, &obs);
}

/* The same answers at a second address: verified once, same verdicts. */
START_TEST(cache_second_address_hits_same_verdicts)
{
	struct cds_ds ds = ds_of(&ksk);
	struct scan_sigcache *c;
	unsigned long h, m, h2, m2;

	ck_assert_int_eq(scan_sigcache_new(64, &c), CDS_OK);
	proven_dnskey();
	set_rrset(&cds, LDNS_RR_TYPE_CDS, KEYS(&ksk, &zsk), KEYS(&ksk), INC, EXP);
	ck_assert_int_eq(validate_cached(c, &ds, 1, NOW), CDS_OK);
	scan_sigcache_stats(c, &h, &m);
	ck_assert_uint_eq(h, 0);
	ck_assert_uint_gt(m, 0);
	ck_assert_int_eq(validate_cached(c, &ds, 1, NOW), CDS_OK);
	scan_sigcache_stats(c, &h2, &m2);
	ck_assert_uint_eq(m2, m);
	ck_assert_uint_eq(h2, m);
	ck_assert(obs.dnskey_proven);
	ck_assert_int_eq(obs.cds_rr.sig, CDS_SIG_VALID_DS_KEY);
	/* the window is checked on every use, not remembered */
	ck_assert_int_eq(validate_cached(c, &ds, 1, (int64_t)EXP + 10), CDS_OK);
	ck_assert_int_eq(obs.dnskey_rr.sig, CDS_SIG_EXPIRED);
	scan_sigcache_free(c);
}
END_TEST

/* A tampered RRSIG or record is another input: never a cached "valid". */
START_TEST(cache_tampered_is_still_bogus)
{
	struct cds_ds ds = ds_of(&ksk);
	struct scan_sigcache *c;

	ck_assert_int_eq(scan_sigcache_new(64, &c), CDS_OK);
	proven_dnskey();
	set_rrset(&cds, LDNS_RR_TYPE_CDS, KEYS(&zsk), KEYS(&ksk), INC, EXP);
	ck_assert_int_eq(validate_cached(c, &ds, 1, NOW), CDS_OK);
	ck_assert_int_eq(obs.cds_rr.sig, CDS_SIG_VALID_DS_KEY);
	tamper(cds.sigs);
	ck_assert_int_eq(validate_cached(c, &ds, 1, NOW), CDS_OK);
	ck_assert_int_eq(obs.cds_rr.sig, CDS_SIG_BOGUS);
	tamper(cds.sigs); /* back */
	ldns_rdf_data(ldns_rr_rdf(ldns_rr_list_rr(cds.rrs, 0), 3))[0] ^= 1;
	ck_assert_int_eq(validate_cached(c, &ds, 1, NOW), CDS_OK);
	ck_assert_int_eq(obs.cds_rr.sig, CDS_SIG_BOGUS);
	ck_assert_int_eq(obs.dnskey_rr.sig, CDS_SIG_VALID_DS_KEY);
	scan_sigcache_free(c);
}
END_TEST

/* Bounded: a tiny cache empties itself and still answers right. */
START_TEST(cache_bounded_still_right)
{
	struct cds_ds ds = ds_of(&ksk);
	struct scan_sigcache *c;

	ck_assert_int_eq(scan_sigcache_new(3, &c), CDS_EINVAL);
	ck_assert_int_eq(scan_sigcache_new(4, &c), CDS_OK);
	proven_dnskey();
	set_rrset(&cds, LDNS_RR_TYPE_CDS, KEYS(&zsk), KEYS(&ksk), INC, EXP);
	set_rrset(&cdk, LDNS_RR_TYPE_CDNSKEY, KEYS(&zsk), KEYS(&ksk), INC, EXP);
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(validate_cached(c, &ds, 1, NOW), CDS_OK);
		ck_assert(obs.dnskey_proven);
		ck_assert_int_eq(obs.cds_rr.sig, CDS_SIG_VALID_DS_KEY);
		ck_assert_int_eq(obs.cdnskey_rr.sig, CDS_SIG_VALID_DS_KEY);
	}
	scan_sigcache_free(c);
}
END_TEST

static TCase *tcase(const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	return tc;
}

static Suite *validate_suite(void)
{
	Suite *s = suite_create("validate");
	TCase *tc;

	tc = tcase("dnskey");
	tcase_add_test(tc, dnskey_signed_by_ksk_in_ds_is_proven);
	tcase_add_test(tc, dnskey_not_proven_when_ds_names_unknown_key);
	tcase_add_test(tc, dnskey_not_proven_when_no_ds);
	tcase_add_test(tc, dnskey_signed_only_by_key_without_ds_is_bogus);
	tcase_add_test(tc, dnskey_expired_signature_is_expired);
	tcase_add_test(tc, dnskey_not_yet_valid_signature_is_expired);
	tcase_add_test(tc, dnskey_window_edges_are_inclusive);
	tcase_add_test(tc, dnskey_tampered_signature_is_bogus);
	tcase_add_test(tc, dnskey_tampered_record_is_bogus);
	tcase_add_test(tc, dnskey_unsigned_is_unsigned);
	tcase_add_test(tc, dnskey_signer_name_must_be_zone);
	tcase_add_test(tc, dnskey_non_zone_key_cannot_prove);
	tcase_add_test(tc, dnskey_absent_is_na);
	tcase_add_test(tc, dnskey_decremented_ttl_still_verifies);
	tcase_add_test(tc, dnskey_overflow_is_refused_unchecked);
	suite_add_tcase(s, tc);

	tc = tcase("multisigner");
	tcase_add_test(tc, multisigner_each_server_proven_by_own_ksk);
	tcase_add_test(tc, cdnskey_signed_by_other_signers_ksk_is_valid_ds_key);
	suite_add_tcase(s, tc);

	tc = tcase("algorithms");
	tcase_add_test(tc, algorithm_rollover_both_algorithms_sign);
	tcase_add_test(tc, algorithm_rsasha1_still_validates);
	tcase_add_test(tc, algorithm_mismatch_in_rrsig_is_bogus);
#if LDNS_BUILD_CONFIG_USE_ED25519
	tcase_add_test(tc, algorithm_ed25519_validates);
#endif
	suite_add_tcase(s, tc);

	tc = tcase("cache");
	tcase_add_test(tc, cache_second_address_hits_same_verdicts);
	tcase_add_test(tc, cache_tampered_is_still_bogus);
	tcase_add_test(tc, cache_bounded_still_right);
	suite_add_tcase(s, tc);

	tc = tcase("cds_cdnskey");
	tcase_add_test(tc, cds_signed_by_ds_key_is_valid_ds_key);
	tcase_add_test(tc, cds_signed_only_by_zsk_is_valid_other);
	tcase_add_test(tc, cds_signed_by_key_outside_dnskey_is_bogus);
	tcase_add_test(tc, cds_expired_signature_is_expired);
	tcase_add_test(tc, cds_unsigned_is_unsigned);
	tcase_add_test(tc, cds_tampered_is_bogus);
	tcase_add_test(tc, cds_under_unproven_dnskey_is_unproven);
	tcase_add_test(tc, cds_newest_valid_signature_is_reported);
	tcase_add_test(tc, cds_overflow_keeps_no_records);
	tcase_add_test(tc, cds_records_off_apex_are_ignored);
	tcase_add_test(tc, cdnskey_signed_by_ds_key_is_valid_ds_key);
	suite_add_tcase(s, tc);

	tc = tcase("signature");
	tcase_add_loop_test(tc, window_serial_arithmetic, 0,
			    (int)(sizeof(windows) / sizeof(windows[0])));
	tcase_add_test(tc, sig_verify_distinguishes_valid_window_bad);
	tcase_add_loop_test(tc, native_verify_agrees_with_ldns, 0,
			    (int)(sizeof(verify_keys) / sizeof(verify_keys[0])));
	tcase_add_test(tc, native_verify_wildcard_expansion_agrees_with_ldns);
	tcase_add_test(tc, cache_keys_verify_same_as_uncached);
	suite_add_tcase(s, tc);

	tc = tcase("rrset_from_pkt");
	tcase_add_test(tc, rrset_from_pkt_takes_owner_type_and_covering_sigs);
	tcase_add_test(tc, rrset_take_moves_records_and_leaves_the_rest);
	tcase_add_test(tc, rrset_from_pkt_empty_answer_gives_empty_lists);
	tcase_add_test(tc, rrset_from_pkt_feeds_validation);
	tcase_add_test(tc, ds_from_rr_keeps_digest_and_refuses_oversize);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	/* keys once, before Check forks: RSA key generation is slow */
	make_key(&ksk, LDNS_SIGN_ECDSAP256SHA256, 256, 257);
	make_key(&zsk, LDNS_SIGN_ECDSAP256SHA256, 256, 256);
	make_key(&b_ksk, LDNS_SIGN_ECDSAP256SHA256, 256, 257);
	make_key(&b_zsk, LDNS_SIGN_ECDSAP256SHA256, 256, 256);
	make_key(&stray, LDNS_SIGN_ECDSAP256SHA256, 256, 257);
	make_key(&rsa, LDNS_SIGN_RSASHA256, 2048, 257);
	make_key(&sha1, LDNS_SIGN_RSASHA1, 1024, 257);
	make_key(&nonzone, LDNS_SIGN_ECDSAP256SHA256, 256, 0);
	make_key(&p384, LDNS_SIGN_ECDSAP384SHA384, 384, 257);
#if LDNS_BUILD_CONFIG_USE_ED25519
	make_key(&ed, LDNS_SIGN_ED25519, 256, 257);
#endif
#if LDNS_BUILD_CONFIG_USE_ED448
	make_key(&ed448, LDNS_SIGN_ED448, 456, 257);
#endif

	sr = srunner_create(validate_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);

	free_key(&ksk);
	free_key(&zsk);
	free_key(&b_ksk);
	free_key(&b_zsk);
	free_key(&stray);
	free_key(&rsa);
	free_key(&sha1);
	free_key(&nonzone);
	free_key(&p384);
	if (ed.key)
		free_key(&ed);
	if (ed448.key)
		free_key(&ed448);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
