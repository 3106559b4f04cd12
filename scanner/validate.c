/*
 * DNSSEC checks of one server's apex data. The parent trusts nothing a
 * child's server says until it is chained to the DS set the parent holds:
 * the server's DNSKEY RRset must be signed by a key a current DS refers to
 * (RFC 4035 §5.2, §5.3), and only then can its CDS and CDNSKEY RRsets be
 * judged, preferably signed by such a key (RFC 7344 §4.1, STANDARDS C1).
 * Each server is judged against its own DNSKEY RRset, since multi-signer
 * providers serve different ones (RFC 8901, STANDARDS M2). Time is an
 * argument so that tests and replays see the same verdicts; the one
 * cryptographic step, scan_sig_verify_crypto(), depends on its three
 * inputs only, so that a later cache can remember it.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <pthread.h>

#include "core/errors.h"
#include "scanner/validate.h"

/*
 * KeyTrap (CVE-2023-50387): colliding key tags let a hostile zone make a
 * validator try every key for every signature. Key tags collide rarely by
 * chance, so a few tries per RRSIG and a bounded number of RRSIGs per
 * RRset cost nothing to honest zones.
 */
#define SCAN_KEYS_PER_SIG 4
#define SCAN_SIGS_PER_RRSET 16

/* What one server's DNSKEY RRset gives the checks of the other RRsets. */
struct keyset {
	const ldns_rdf *zone;
	int64_t now;
	struct scan_sigcache *cache; /* may be NULL */
	size_t n;                     /* usable keys: zone keys, protocol 3 */
	const ldns_rr *rr[CDS_RRSET_MAX];  /* borrowed records */
	size_t obs_idx[CDS_RRSET_MAX];     /* its index in obs->dnskey */
	uint16_t tag[CDS_RRSET_MAX];
	bool ds_key[CDS_RRSET_MAX];   /* some current DS refers to it */
	bool signs[CDS_RRSET_MAX];    /* it validly signs the DNSKEY RRset */
	bool any_ds_key;
	bool proven;
};

/* What the RRSIGs over one RRset showed. */
struct sigsum {
	bool any_sig;      /* some RRSIG covers the RRset */
	bool valid_ds;     /* one by a DS-referenced key verifies at now */
	bool valid_any;    /* one by any key of the set verifies at now */
	bool window_ds;    /* one by a DS key verifies, now outside window */
	bool window_any;
	uint32_t inception; /* newest inception among those valid at now */
	uint32_t expiration;
	uint16_t keytag;
};

static bool name_is(const ldns_rr *rr, const ldns_rdf *name)
{
	return ldns_dname_compare(ldns_rr_owner(rr), name) == 0;
}

/* The type an RRSIG covers, or 0 when the record is too short. */
static ldns_rr_type sig_covers(const ldns_rr *sig)
{
	const ldns_rdf *f = ldns_rr_rrsig_typecovered(sig);

	return f ? ldns_rdf2rr_type(f) : 0;
}

static int push_clone(ldns_rr_list *list, const ldns_rr *rr)
{
	ldns_rr *c = ldns_rr_clone(rr);

	if (!c)
		return CDS_ENOMEM;
	if (!ldns_rr_list_push_rr(list, c)) {
		ldns_rr_free(c);
		return CDS_ENOMEM;
	}
	return CDS_OK;
}

/*
 * Collect the RRset and its RRSIGs from the answer section. With `take`
 * the records are moved out of the packet, the section compacted to what
 * is left, so nothing is copied: cloning costs a dozen allocations a
 * record, and a 100k rescan made 10.5M allocator calls with clones, 8.4M
 * without (docs/BENCH.md). Without `take` the packet is only read.
 */
static int rrset_collect(ldns_pkt *pkt, const ldns_rdf *name,
			 ldns_rr_type type, struct scan_rrset *out, bool take)
{
	ldns_rr_list *ans = ldns_pkt_answer(pkt);
	size_t kept = 0, n = ans ? ldns_rr_list_rr_count(ans) : 0;
	int rc = CDS_ENOMEM;

	out->rrs = ldns_rr_list_new();
	out->sigs = ldns_rr_list_new();
	if (!out->rrs || !out->sigs)
		goto out;
	rc = CDS_OK;
	for (size_t i = 0; i < n; i++) {
		ldns_rr *rr = ldns_rr_list_rr(ans, i);
		ldns_rr_list *to = NULL;

		if (rc == CDS_OK && name_is(rr, name)) {
			if (ldns_rr_get_type(rr) == type)
				to = out->rrs;
			else if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG &&
				 sig_covers(rr) == type)
				to = out->sigs;
		}
		if (!to) {
			if (take)
				ldns_rr_list_set_rr(ans, rr, kept++);
		} else if (!take) {
			rc = push_clone(to, rr);
		} else if (!ldns_rr_list_push_rr(to, rr)) {
			rc = CDS_ENOMEM; /* rr stays in the packet */
			ldns_rr_list_set_rr(ans, rr, kept++);
		}
	}
	if (take && ans) {
		ldns_rr_list_set_rr_count(ans, kept);
		ldns_pkt_set_ancount(pkt, (uint16_t)kept);
	}
out:
	if (rc)
		scan_rrset_free(out);
	return rc;
}

int scan_rrset_from_pkt(const ldns_pkt *pkt, const char *owner,
			ldns_rr_type type, struct scan_rrset *out)
{
	ldns_rdf *name = ldns_dname_new_frm_str(owner);
	int rc;

	if (!name) {
		out->rrs = out->sigs = NULL;
		return CDS_EINVAL;
	}
	/* without take the packet is only read */
	rc = rrset_collect((ldns_pkt *)pkt, name, type, out, false);
	ldns_rdf_deep_free(name);
	return rc;
}

int scan_rrset_take_from_pkt(ldns_pkt *pkt, const ldns_rdf *name,
			     ldns_rr_type type, struct scan_rrset *out)
{
	return rrset_collect(pkt, name, type, out, true);
}

void scan_rrset_free(struct scan_rrset *set)
{
	ldns_rr_list_deep_free(set->rrs);
	ldns_rr_list_deep_free(set->sigs);
	set->rrs = NULL;
	set->sigs = NULL;
}

/*
 * RFC 4034 §3.1.5: the times are serial numbers (RFC 1982), so that they
 * keep working after 2106; now must lie in [inception, expiration].
 */
bool scan_sig_in_window(const ldns_rr *rrsig, int64_t now)
{
	const ldns_rdf *inc = ldns_rr_rrsig_inception(rrsig);
	const ldns_rdf *exp = ldns_rr_rrsig_expiration(rrsig);
	uint32_t t = (uint32_t)now;

	if (!inc || !exp)
		return false;
	return (int32_t)(t - ldns_rdf2native_int32(inc)) >= 0 &&
	       (int32_t)(ldns_rdf2native_int32(exp) - t) >= 0;
}

/* Verification by ldns, for the algorithms not handled below. */
static int verify_ldns(const ldns_rr_list *rrset, const ldns_rr *rrsig,
		       const ldns_rr *key, bool *ok)
{
	ldns_rr_list *keys = ldns_rr_list_new();
	ldns_status st;
	int rc = CDS_ENOMEM;

	*ok = false;
	/* ldns wants a key list; the list only borrows the record. */
	if (!keys || !ldns_rr_list_push_rr(keys, (ldns_rr *)key))
		goto out;
	/* ldns restores the original TTL and the owner of a wildcard
	   expansion from the RRSIG (RFC 4035 §5.3.2) before hashing. */
	st = ldns_verify_rrsig_keylist_notime(rrset, rrsig, keys, NULL);
	if (st == LDNS_STATUS_MEM_ERR)
		goto out;
	*ok = st == LDNS_STATUS_OK;
	rc = CDS_OK;
out:
	ldns_rr_list_free(keys);
	return rc;
}

/* ---- signature verification ------------------------------------------ */

/*
 * ldns verifies by turning the DNSKEY into an OpenSSL key anew for every
 * signature, through the deprecated EC_KEY/RSA types: building the curve
 * (EC_GROUP_new_by_curve_name) and converting the legacy key for the
 * provider cost about as much as the ECDSA verification itself. Here a
 * DNSKEY becomes a provider-native EVP_PKEY once, with a verify context
 * already set up for its digest, and a scanner keeps those per key
 * (struct keycache). The signed data is built as ldns builds it (RFC
 * 4034 §3.1.8.1, RFC 4035 §5.3.2: the RRSIG rdata without the signature,
 * then the RRset in canonical form and order with the original TTL and
 * the wildcard owner restored), so the results are the same; algorithms
 * not handled here (DSA, GOST) still go through ldns.
 */

/* A DNSKEY made into an OpenSSL key. */
struct vkey {
	uint8_t alg;
	EVP_PKEY *pkey;
	EVP_PKEY_CTX *vctx; /* RSA, ECDSA: verify-initialised with md */
	const EVP_MD *md;   /* RSA, ECDSA: the digest; NULL for EdDSA */
};

/* The digests, fetched once (see core/dnssec.c for why). */
static EVP_MD *vmd_md5, *vmd_sha1, *vmd_sha256, *vmd_sha384, *vmd_sha512;
static pthread_once_t vmd_once = PTHREAD_ONCE_INIT;

static void vmd_fetch(void)
{
	vmd_md5 = EVP_MD_fetch(NULL, "MD5", NULL);
	vmd_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
	vmd_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	vmd_sha384 = EVP_MD_fetch(NULL, "SHA384", NULL);
	vmd_sha512 = EVP_MD_fetch(NULL, "SHA512", NULL);
}

/* Algorithms verified here (RFC 8624 §3.1 numbers); others go to ldns. */
static bool alg_native(uint8_t alg)
{
	switch (alg) {
	case LDNS_RSAMD5:
	case LDNS_RSASHA1:
	case LDNS_RSASHA1_NSEC3:
	case LDNS_RSASHA256:
	case LDNS_RSASHA512:
	case LDNS_ECDSAP256SHA256:
	case LDNS_ECDSAP384SHA384:
	case LDNS_ED25519:
	case LDNS_ED448:
		return true;
	default:
		return false;
	}
}

static const EVP_MD *alg_md(uint8_t alg)
{
	pthread_once(&vmd_once, vmd_fetch);
	switch (alg) {
	case LDNS_RSAMD5: return vmd_md5;
	case LDNS_RSASHA1:
	case LDNS_RSASHA1_NSEC3: return vmd_sha1;
	case LDNS_RSASHA256:
	case LDNS_ECDSAP256SHA256: return vmd_sha256;
	case LDNS_ECDSAP384SHA384: return vmd_sha384;
	case LDNS_RSASHA512: return vmd_sha512;
	default: return NULL;
	}
}

static void vkey_free(struct vkey *k)
{
	if (!k)
		return;
	EVP_PKEY_CTX_free(k->vctx);
	EVP_PKEY_free(k->pkey);
	free(k);
}

/* RFC 3110 §2: exponent length (1 octet, or 0 and 2 octets), exponent,
   modulus. */
static EVP_PKEY *rsa_pkey(const uint8_t *p, size_t n)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *e = NULL, *m = NULL;
	size_t elen, off = 1;

	if (n < 1)
		goto out;
	elen = p[0];
	if (elen == 0) {
		if (n < 3)
			goto out;
		elen = (size_t)p[1] << 8 | p[2];
		off = 3;
	}
	if (elen == 0 || off + elen >= n)
		goto out;
	e = BN_bin2bn(p + off, (int)elen, NULL);
	m = BN_bin2bn(p + off + elen, (int)(n - off - elen), NULL);
	bld = OSSL_PARAM_BLD_new();
	if (!e || !m || !bld || !OSSL_PARAM_BLD_push_BN(bld, "n", m) ||
	    !OSSL_PARAM_BLD_push_BN(bld, "e", e) ||
	    !(params = OSSL_PARAM_BLD_to_param(bld)))
		goto out;
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(e);
	BN_free(m);
	return pkey;
}

/* RFC 6605 §4: the point's two coordinates, uncompressed. */
static EVP_PKEY *ec_pkey(uint8_t alg, const uint8_t *p, size_t n)
{
	const char *group = alg == LDNS_ECDSAP256SHA256 ? "prime256v1"
						       : "secp384r1";
	size_t want = alg == LDNS_ECDSAP256SHA256 ? 64 : 96;
	uint8_t pt[1 + 96];
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;

	if (n != want)
		return NULL;
	pt[0] = 0x04; /* POINT_CONVERSION_UNCOMPRESSED */
	memcpy(pt + 1, p, n);
	params[0] = OSSL_PARAM_construct_utf8_string("group", (char *)group, 0);
	params[1] = OSSL_PARAM_construct_octet_string("pub", pt, n + 1);
	params[2] = OSSL_PARAM_construct_end();
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

/* The public key field of a DNSKEY as an OpenSSL key; NULL when it does
   not make one (the signature then counts as not verifying). */
static struct vkey *vkey_new(const ldns_rr *key)
{
	const ldns_rdf *a = ldns_rr_dnskey_algorithm(key);
	const ldns_rdf *k = ldns_rr_dnskey_key(key);
	struct vkey *v;
	const uint8_t *p;
	size_t n;

	if (!a || !k || !(v = calloc(1, sizeof(*v))))
		return NULL;
	v->alg = ldns_rdf2native_int8(a);
	p = ldns_rdf_data(k);
	n = ldns_rdf_size(k);
	switch (v->alg) {
	case LDNS_ECDSAP256SHA256:
	case LDNS_ECDSAP384SHA384:
		v->pkey = ec_pkey(v->alg, p, n);
		break;
	case LDNS_ED25519:
	case LDNS_ED448:
		v->pkey = EVP_PKEY_new_raw_public_key(
			v->alg == LDNS_ED25519 ? EVP_PKEY_ED25519
					       : EVP_PKEY_ED448,
			NULL, p, n);
		break;
	default:
		v->pkey = rsa_pkey(p, n);
		break;
	}
	if (!v->pkey)
		goto fail;
	v->md = alg_md(v->alg);
	if (v->md) {
		/* One verify context per key, reused for each signature. */
		v->vctx = EVP_PKEY_CTX_new_from_pkey(NULL, v->pkey, NULL);
		if (!v->vctx || EVP_PKEY_verify_init(v->vctx) != 1 ||
		    EVP_PKEY_CTX_set_signature_md(v->vctx, v->md) != 1)
			goto fail;
	} else if (v->alg != LDNS_ED25519 && v->alg != LDNS_ED448) {
		goto fail;
	}
	return v;
fail:
	ERR_clear_error();
	vkey_free(v);
	return NULL;
}

/*
 * Keys made so far, by algorithm and public key octets; emptied when
 * full, like the result cache. Owned by a scan_sigcache.
 */
#define KEYCACHE_CAP 256

struct keycache_entry {
	uint8_t *wire; /* algorithm, then the public key */
	size_t len;
	struct vkey *v;
};

struct keycache {
	size_t count;
	struct keycache_entry e[KEYCACHE_CAP];
};

static void keycache_clear(struct keycache *kc)
{
	for (size_t i = 0; i < KEYCACHE_CAP; i++) {
		free(kc->e[i].wire);
		vkey_free(kc->e[i].v);
		kc->e[i] = (struct keycache_entry){0};
	}
	kc->count = 0;
}

/* The key for a DNSKEY, made once per cache; borrowed from the cache. */
static struct vkey *keycache_get(struct keycache *kc, const ldns_rr *key)
{
	const ldns_rdf *a = ldns_rr_dnskey_algorithm(key);
	const ldns_rdf *k = ldns_rr_dnskey_key(key);
	uint8_t alg;
	uint32_t h = 2166136261u; /* FNV-1a */
	size_t n, at;
	const uint8_t *p;
	struct keycache_entry *e;

	if (!a || !k)
		return NULL;
	alg = ldns_rdf2native_int8(a);
	p = ldns_rdf_data(k);
	n = ldns_rdf_size(k);
	h = (h ^ alg) * 16777619u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	for (at = h % KEYCACHE_CAP;; at = (at + 1) % KEYCACHE_CAP) {
		e = &kc->e[at];
		if (!e->wire)
			break;
		if (e->len == n + 1 && e->wire[0] == alg &&
		    memcmp(e->wire + 1, p, n) == 0)
			return e->v;
	}
	if (kc->count + 1 > KEYCACHE_CAP / 4 * 3) {
		keycache_clear(kc);
		return keycache_get(kc, key);
	}
	/* A key that does not make one is remembered as such (v NULL). */
	if (!(e->wire = malloc(n + 1)))
		return NULL;
	e->wire[0] = alg;
	memcpy(e->wire + 1, p, n);
	e->len = n + 1;
	e->v = vkey_new(key);
	kc->count++;
	return e->v;
}

/* RFC 6605 §4: r | s, each as long as the curve, into DER for OpenSSL. */
static int ecdsa_der(const uint8_t *sig, size_t n, uint8_t *der,
		     size_t *der_len)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *out = der;
	int len, rc = CDS_EMALFORMED;

	if (!es)
		return CDS_ENOMEM;
	if (n != 64 && n != 96)
		goto out;
	r = BN_bin2bn(sig, (int)n / 2, NULL);
	s = BN_bin2bn(sig + n / 2, (int)n / 2, NULL);
	if (!r || !s || ECDSA_SIG_set0(es, r, s) != 1) {
		rc = CDS_ENOMEM;
		goto out;
	}
	r = s = NULL; /* owned by es now */
	len = i2d_ECDSA_SIG(es, NULL);
	if (len <= 0 || (size_t)len > *der_len)
		goto out;
	len = i2d_ECDSA_SIG(es, &out);
	*der_len = (size_t)len;
	rc = CDS_OK;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return rc;
}

/*
 * The data an RRSIG signs (RFC 4034 §3.1.8.1) into buf, built with the
 * same steps as ldns' verifier, on a clone of the RRset.
 */
static int signed_data(const ldns_rr_list *rrset, const ldns_rr *rrsig,
		       ldns_buffer *buf)
{
	ldns_rr_list *c = ldns_rr_list_clone(rrset);
	uint32_t ttl;
	uint8_t labels;
	int rc = CDS_ENOMEM;

	if (!c)
		goto out;
	rc = CDS_EMALFORMED;
	if (ldns_rr_rd_count(rrsig) < 9 || ldns_rr_list_rr_count(c) == 0 ||
	    ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rrsig)) !=
		    ldns_rr_get_type(ldns_rr_list_rr(c, 0)))
		goto out;
	labels = ldns_rdf2native_int8(ldns_rr_rdf(rrsig, 2));
	ttl = ldns_rdf2native_int32(ldns_rr_rdf(rrsig, 3));
	for (size_t i = 0; i < ldns_rr_list_rr_count(c); i++) {
		ldns_rr *rr = ldns_rr_list_rr(c, i);
		ldns_rdf *owner = ldns_rr_owner(rr);

		/* RFC 4035 §5.3.2: an expanded wildcard is verified as the
		   "*." + the rightmost `labels` labels of the owner. */
		if (labels < ldns_dname_label_count(owner)) {
			ldns_rdf *w = ldns_dname_new_frm_str("*");
			ldns_rdf *chop = ldns_rdf_clone(owner);

			while (chop && labels < ldns_dname_label_count(chop)) {
				ldns_rdf *t = ldns_dname_left_chop(chop);

				ldns_rdf_deep_free(chop);
				chop = t;
			}
			if (!w || !chop ||
			    ldns_dname_cat(w, chop) != LDNS_STATUS_OK) {
				ldns_rdf_deep_free(w);
				ldns_rdf_deep_free(chop);
				rc = CDS_ENOMEM;
				goto out;
			}
			ldns_rdf_deep_free(chop);
			ldns_rdf_deep_free(owner);
			ldns_rr_set_owner(rr, w);
		}
		ldns_rr_set_ttl(rr, ttl);
		ldns_rr2canonical(rr);
	}
	ldns_rr_list_sort(c);
	rc = CDS_ENOMEM;
	if (ldns_rrsig2buffer_wire(buf, rrsig) != LDNS_STATUS_OK ||
	    ldns_rr_list2buffer_wire(buf, c) != LDNS_STATUS_OK ||
	    !ldns_buffer_status_ok(buf))
		goto out;
	rc = CDS_OK;
out:
	ldns_rr_list_deep_free(c);
	return rc;
}

/* The signature with key v over data: true when it verifies. */
static bool vkey_verify(const struct vkey *v, const uint8_t *sig, size_t n,
			const uint8_t *data, size_t len)
{
	uint8_t der[2 * 48 + 16], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t dlen = sizeof(der);
	EVP_MD_CTX *mctx;
	bool ok = false;

	if (v->md) {
		if (v->alg == LDNS_ECDSAP256SHA256 ||
		    v->alg == LDNS_ECDSAP384SHA384) {
			if (ecdsa_der(sig, n, der, &dlen) != CDS_OK)
				return false;
			sig = der;
			n = dlen;
		}
		ok = EVP_Digest(data, len, md, &mdlen, v->md, NULL) == 1 &&
		     EVP_PKEY_verify(v->vctx, sig, n, md, mdlen) == 1;
	} else {
		/* EdDSA signs the message itself (RFC 8080 §4). */
		mctx = EVP_MD_CTX_new();
		ok = mctx &&
		     EVP_DigestVerifyInit(mctx, NULL, NULL, NULL, v->pkey) ==
			     1 &&
		     EVP_DigestVerify(mctx, sig, n, data, len) == 1;
		EVP_MD_CTX_free(mctx);
	}
	if (!ok)
		ERR_clear_error();
	return ok;
}

/*
 * scan_sig_verify_crypto with keys from `kc` (NULL: a key made for this
 * one verification). Same answers as ldns_verify_rrsig_keylist_notime:
 * the key tag and algorithm must be the RRSIG's, then the signature must
 * verify over the signed data.
 */
static int verify_crypto(struct keycache *kc, const ldns_rr_list *rrset,
			 const ldns_rr *rrsig, const ldns_rr *key, bool *ok)
{
	const ldns_rdf *salg = ldns_rr_rrsig_algorithm(rrsig);
	const ldns_rdf *kalg = ldns_rr_dnskey_algorithm(key);
	const ldns_rdf *stag = ldns_rr_rrsig_keytag(rrsig);
	const ldns_rdf *sig = ldns_rr_rrsig_sig(rrsig);
	ldns_buffer *buf = NULL;
	struct vkey *v = NULL, *own = NULL;
	int rc;

	*ok = false;
	if (!salg || !kalg || !stag || !sig || !rrset)
		return CDS_OK;
	if (!alg_native(ldns_rdf2native_int8(salg)))
		return verify_ldns(rrset, rrsig, key, ok);
	if (ldns_rdf2native_int8(salg) != ldns_rdf2native_int8(kalg) ||
	    ldns_calc_keytag(key) != ldns_rdf2native_int16(stag))
		return CDS_OK;
	rc = CDS_ENOMEM;
	if (!(buf = ldns_buffer_new(LDNS_MAX_PACKETLEN)))
		goto out;
	rc = signed_data(rrset, rrsig, buf);
	if (rc != CDS_OK) {
		/* A record that does not serialise cannot verify. */
		rc = rc == CDS_ENOMEM ? CDS_ENOMEM : CDS_OK;
		goto out;
	}
	v = kc ? keycache_get(kc, key) : (own = vkey_new(key));
	if (v)
		*ok = vkey_verify(v, ldns_rdf_data(sig), ldns_rdf_size(sig),
				  ldns_buffer_begin(buf),
				  ldns_buffer_position(buf));
	rc = CDS_OK;
out:
	vkey_free(own);
	ldns_buffer_free(buf);
	return rc;
}

int scan_sig_verify_crypto(const ldns_rr_list *rrset, const ldns_rr *rrsig,
			   const ldns_rr *key, bool *ok)
{
	return verify_crypto(NULL, rrset, rrsig, key, ok);
}

int scan_sig_verify(const ldns_rr_list *rrset, const ldns_rr *rrsig,
		    const ldns_rr *key, int64_t now, enum scan_sigcheck *out)
{
	bool ok;
	int rc = scan_sig_verify_crypto(rrset, rrsig, key, &ok);

	if (rc)
		return rc;
	if (!ok)
		*out = SCAN_SIGCHECK_BAD;
	else if (!scan_sig_in_window(rrsig, now))
		*out = SCAN_SIGCHECK_WINDOW;
	else
		*out = SCAN_SIGCHECK_VALID;
	return CDS_OK;
}

/*
 * The records of `type` owned by the apex, as a list that borrows them:
 * the checks must not be fooled by records a caller put in from elsewhere
 * (RFC 7344 §4.1: CDS/CDNSKEY count only at the child apex).
 */
static ldns_rr_list *apex_subset(const ldns_rr_list *in, const ldns_rdf *zone,
				 ldns_rr_type type)
{
	ldns_rr_list *out = ldns_rr_list_new();

	for (size_t i = 0; out && in && i < ldns_rr_list_rr_count(in); i++) {
		ldns_rr *rr = ldns_rr_list_rr(in, i);

		if (ldns_rr_get_type(rr) != type || !name_is(rr, zone))
			continue;
		if (!ldns_rr_list_push_rr(out, rr)) {
			ldns_rr_list_free(out);
			return NULL;
		}
	}
	return out;
}

/* Wire rdata of `rr` into `buf`; false when it does not serialise. */
static bool rdata_wire(ldns_buffer *buf, const ldns_rr *rr)
{
	ldns_buffer_clear(buf);
	return ldns_rr_rdata2buffer_wire(buf, rr) == LDNS_STATUS_OK &&
	       ldns_buffer_status_ok(buf);
}

static int to_dnskey(ldns_buffer *buf, const ldns_rr *rr,
		     struct cds_dnskey *out)
{
	if (!rdata_wire(buf, rr))
		return CDS_EMALFORMED;
	return cds_dnskey_from_rdata(ldns_buffer_begin(buf),
				     ldns_buffer_position(buf), out);
}

static int to_ds(ldns_buffer *buf, const ldns_rr *rr, struct cds_ds *out)
{
	if (!rdata_wire(buf, rr))
		return CDS_EMALFORMED;
	return cds_ds_from_rdata(ldns_buffer_begin(buf),
				 ldns_buffer_position(buf), out);
}

int scan_ds_from_rr(const ldns_rr *rr, struct cds_ds *out)
{
	ldns_buffer *buf = ldns_buffer_new(4 + CDS_DIGEST_MAX);
	int rc;

	if (!buf)
		return CDS_ENOMEM;
	rc = to_ds(buf, rr, out);
	ldns_buffer_free(buf);
	return rc;
}

/* count, ttl (the smallest: RFC 2181 §5.2) and overflow of an RRset. */
static void rrset_shape(const ldns_rr_list *rrs, struct cds_rrset_obs *o)
{
	size_t n = ldns_rr_list_rr_count(rrs);

	o->count = (unsigned)n;
	o->overflow = n > CDS_RRSET_MAX;
	o->ttl = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t ttl = ldns_rr_ttl(ldns_rr_list_rr(rrs, i));

		if (i == 0 || ttl < o->ttl)
			o->ttl = ttl;
	}
}

/* An RRSIG that claims to be over `type` at the apex. */
static bool sig_covers_apex(const ldns_rr *sig, const ldns_rdf *zone,
			    ldns_rr_type type)
{
	return ldns_rr_get_type(sig) == LDNS_RR_TYPE_RRSIG &&
	       name_is(sig, zone) && sig_covers(sig) == type;
}

/*
 * Could key i have made `sig`? RFC 4035 §5.3.1: the signer is the zone,
 * key tag and algorithm match, and the key is a zone key of protocol 3
 * (RFC 4034 §2.1.1, §2.1.2).
 */
static bool sig_by_key(const struct keyset *ks, size_t i, const ldns_rr *sig)
{
	const ldns_rr *key = ks->rr[i];
	const ldns_rdf *tag = ldns_rr_rrsig_keytag(sig);
	const ldns_rdf *alg = ldns_rr_rrsig_algorithm(sig);
	const ldns_rdf *signer = ldns_rr_rrsig_signame(sig);
	const ldns_rdf *kalg = ldns_rr_dnskey_algorithm(key);

	if (!tag || !alg || !signer || !kalg)
		return false;
	return ldns_rdf2native_int16(tag) == ks->tag[i] &&
	       ldns_rdf2native_int8(alg) == ldns_rdf2native_int8(kalg) &&
	       ldns_dname_compare(signer, ks->zone) == 0;
}

static void note_result(struct sigsum *s, const struct keyset *ks, size_t i,
			const ldns_rr *sig, enum scan_sigcheck r)
{
	uint32_t inc;

	if (r == SCAN_SIGCHECK_WINDOW) {
		s->window_any = true;
		s->window_ds |= ks->ds_key[i];
		return;
	}
	if (r != SCAN_SIGCHECK_VALID)
		return;
	s->valid_any = true;
	s->valid_ds |= ks->ds_key[i];
	inc = ldns_rdf2native_int32(ldns_rr_rrsig_inception(sig));
	/* The newest signature proves the freshest data (RFC 7344 §6.2
	   replay protection, STANDARDS C6); serial arithmetic as §3.1.5. */
	if (s->inception == 0 || (int32_t)(inc - s->inception) > 0) {
		s->inception = inc;
		s->expiration =
			ldns_rdf2native_int32(ldns_rr_rrsig_expiration(sig));
		s->keytag = ks->tag[i];
	}
}

/* ---- verification cache ------------------------------------------------ */

/*
 * The servers of one operator serve byte-identical RRsets and RRSIGs, so
 * a full probe of a zone on four addresses verifies the same signatures
 * four times. Measured here (one zone, 4 addresses, DNSKEY + CDS +
 * CDNSKEY signed by the KSK, cache emptied per zone): 1344 -> 365 us
 * per zone for ECDSA P-256, 413 -> 141 us for RSA-2048, 2239 -> 613 us
 * for Ed25519 (66-73% less CPU); a cache key costs about 4 us. The cryptographic result depends only on the RRset, the
 * RRSIG and the key (scan_sig_verify_crypto), so the key is a SHA-256
 * over their wire forms; time is not part of it because the window is
 * checked on every use. The RRset is hashed as received (owner, type,
 * class, rdata; not the TTL, which the RRSIG's original TTL replaces):
 * that is finer than the canonical form, so it can only miss, never
 * confuse two inputs. Bounded: when 3/4 full it is emptied, which
 * costs one re-verification per entry at worst.
 */
#define SIGCACHE_DIGEST 32

struct sigcache_entry {
	uint8_t digest[SIGCACHE_DIGEST];
	bool used;
	bool ok;
};

struct scan_sigcache {
	size_t cap, count;
	unsigned long hits, misses;
	struct sigcache_entry *e;
	struct keycache *keys; /* the DNSKEYs seen, as OpenSSL keys */
};

int scan_sigcache_new(size_t cap, struct scan_sigcache **out)
{
	struct scan_sigcache *c = calloc(1, sizeof *c);

	if (!c || cap < 4)
		goto fail;
	c->cap = cap;
	c->e = calloc(cap, sizeof *c->e);
	c->keys = calloc(1, sizeof *c->keys);
	if (!c->e || !c->keys)
		goto fail;
	*out = c;
	return CDS_OK;
fail:
	if (c) {
		free(c->e);
		free(c->keys);
	}
	free(c);
	return cap < 4 ? CDS_EINVAL : CDS_ENOMEM;
}

void scan_sigcache_free(struct scan_sigcache *c)
{
	if (!c)
		return;
	if (c->keys)
		keycache_clear(c->keys);
	free(c->keys);
	free(c->e);
	free(c);
}

void scan_sigcache_stats(const struct scan_sigcache *c, unsigned long *hits,
			 unsigned long *misses)
{
	*hits = c ? c->hits : 0;
	*misses = c ? c->misses : 0;
}

/* Rdata with its length in front, so that concatenations are unique. */
static bool rdata_len_wire(ldns_buffer *buf, const ldns_rr *rr)
{
	ldns_buffer_clear(buf);
	if (!ldns_buffer_reserve(buf, 2))
		return false;
	ldns_buffer_write_u16(buf, 0);
	if (ldns_rr_rdata2buffer_wire(buf, rr) != LDNS_STATUS_OK ||
	    !ldns_buffer_status_ok(buf))
		return false;
	ldns_buffer_write_u16_at(buf, 0, (uint16_t)(ldns_buffer_position(buf) - 2));
	return true;
}

static bool digest_add(EVP_MD_CTX *md, ldns_buffer *buf)
{
	return ldns_buffer_status_ok(buf) &&
	       EVP_DigestUpdate(md, ldns_buffer_begin(buf),
				ldns_buffer_position(buf)) == 1;
}

/* SHA-256 over the RRset (each record: owner, type, class, rdata), the
   RRSIG rdata and the key rdata, each length-prefixed by ldns' wire. */
static bool sigcache_key(const ldns_rr_list *rrs, const ldns_rr *sig,
			 const ldns_rr *key, uint8_t out[SIGCACHE_DIGEST])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	ldns_buffer *buf = ldns_buffer_new(1024);
	unsigned int len = SIGCACHE_DIGEST;
	bool ok = false;

	if (!md || !buf || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto out;
	for (size_t i = 0; i < ldns_rr_list_rr_count(rrs); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(rrs, i);

		ldns_buffer_clear(buf);
		if (ldns_rdf2buffer_wire(buf, ldns_rr_owner(rr)) !=
			    LDNS_STATUS_OK ||
		    !ldns_buffer_reserve(buf, 4))
			goto out;
		ldns_buffer_write_u16(buf, (uint16_t)ldns_rr_get_type(rr));
		ldns_buffer_write_u16(buf, (uint16_t)ldns_rr_get_class(rr));
		if (!digest_add(md, buf) || !rdata_len_wire(buf, rr) ||
		    !digest_add(md, buf))
			goto out;
	}
	ok = rdata_len_wire(buf, sig) && digest_add(md, buf) &&
	     rdata_len_wire(buf, key) && digest_add(md, buf) &&
	     EVP_DigestFinal_ex(md, out, &len) == 1;
out:
	ldns_buffer_free(buf);
	EVP_MD_CTX_free(md);
	return ok;
}

static struct sigcache_entry *sigcache_slot(struct scan_sigcache *c,
					    const uint8_t *d)
{
	size_t h;

	memcpy(&h, d, sizeof h);
	for (size_t i = 0, at = h % c->cap;; i++, at = (at + 1) % c->cap)
		if (!c->e[at].used ||
		    memcmp(c->e[at].digest, d, SIGCACHE_DIGEST) == 0)
			return &c->e[at];
}

/* scan_sig_verify, remembering the cryptographic part in `c`. */
static int sigcache_verify(struct scan_sigcache *c, const ldns_rr_list *rrs,
			   const ldns_rr *sig, const ldns_rr *key, int64_t now,
			   enum scan_sigcheck *out)
{
	uint8_t d[SIGCACHE_DIGEST];
	struct sigcache_entry *e;
	bool ok;
	int rc;

	if (!c || !sigcache_key(rrs, sig, key, d))
		return scan_sig_verify(rrs, sig, key, now, out);
	e = sigcache_slot(c, d);
	if (e->used) {
		c->hits++;
		ok = e->ok;
	} else {
		c->misses++;
		rc = verify_crypto(c->keys, rrs, sig, key, &ok);
		if (rc != CDS_OK)
			return rc;
		if (c->count + 1 > c->cap / 4 * 3) {
			memset(c->e, 0, c->cap * sizeof *c->e);
			c->count = 0;
			e = sigcache_slot(c, d);
		}
		memcpy(e->digest, d, SIGCACHE_DIGEST);
		e->used = true;
		e->ok = ok;
		c->count++;
	}
	if (!ok)
		*out = SCAN_SIGCHECK_BAD;
	else if (!scan_sig_in_window(sig, now))
		*out = SCAN_SIGCHECK_WINDOW;
	else
		*out = SCAN_SIGCHECK_VALID;
	return CDS_OK;
}

/*
 * Try every RRSIG over `rrs` with the keys that could have made it.
 * `signs`, when given, gets which keys made a signature valid at now.
 */
static int check_sigs_at(const struct keyset *ks, const ldns_rdf *owner,
			 const ldns_rr_list *rrs, const ldns_rr_list *sigs,
			 ldns_rr_type type, struct sigsum *s, bool *signs);

static int check_sigs(const struct keyset *ks, const ldns_rr_list *rrs,
		      const ldns_rr_list *sigs, ldns_rr_type type,
		      struct sigsum *s, bool *signs)
{
	return check_sigs_at(ks, ks->zone, rrs, sigs, type, s, signs);
}

/* check_sigs for an RRset owned by `owner` (the apex or below it). */
static int check_sigs_at(const struct keyset *ks, const ldns_rdf *owner,
			 const ldns_rr_list *rrs, const ldns_rr_list *sigs,
			 ldns_rr_type type, struct sigsum *s, bool *signs)
{
	size_t nsig = sigs ? ldns_rr_list_rr_count(sigs) : 0;
	size_t tried = 0;

	memset(s, 0, sizeof(*s));
	for (size_t j = 0; j < nsig; j++) {
		const ldns_rr *sig = ldns_rr_list_rr(sigs, j);
		unsigned tries = 0;

		if (!sig_covers_apex(sig, owner, type))
			continue;
		s->any_sig = true;
		if (++tried > SCAN_SIGS_PER_RRSET)
			break;
		for (size_t i = 0; i < ks->n; i++) {
			enum scan_sigcheck r;
			int rc;

			if (!sig_by_key(ks, i, sig))
				continue;
			if (++tries > SCAN_KEYS_PER_SIG)
				break;
			rc = sigcache_verify(ks->cache, rrs, sig, ks->rr[i],
					     ks->now, &r);
			if (rc)
				return rc;
			note_result(s, ks, i, sig, r);
			if (signs && r == SCAN_SIGCHECK_VALID)
				signs[i] = true;
		}
	}
	return CDS_OK;
}

static void sig_report(struct cds_rrset_obs *o, const struct sigsum *s)
{
	o->sig_inception = s->inception;
	o->sig_expiration = s->expiration;
	o->sig_keytag = s->keytag;
}

/*
 * The DNSKEY RRset's verdict, most trusted first:
 *   VALID_DS_KEY  a key a current DS refers to signs it, valid at now;
 *   UNSIGNED      no RRSIG covers it;
 *   UNPROVEN      no key of the set is referred to by any current DS
 *                 (also n_ds == 0): nothing could prove it;
 *   EXPIRED       a DS-referenced key's signature verifies but now lies
 *                 outside its window (expired or not yet incepted);
 *   BOGUS         RRSIGs present, but none by a DS-referenced key
 *                 verifies (tampered, or signed only by other keys).
 */
static enum cds_sigstate dnskey_verdict(const struct keyset *ks,
					const struct sigsum *s)
{
	if (ks->proven)
		return CDS_SIG_VALID_DS_KEY;
	if (!s->any_sig)
		return CDS_SIG_UNSIGNED;
	if (!ks->any_ds_key)
		return CDS_SIG_UNPROVEN;
	if (s->window_ds)
		return CDS_SIG_EXPIRED;
	return CDS_SIG_BOGUS;
}

/* Which usable keys a current DS refers to (RFC 4035 §5.2). */
static void match_ds(struct keyset *ks, const char *zone,
		     const struct cds_dnskey *keys, const struct cds_ds *ds,
		     size_t n_ds)
{
	for (size_t i = 0; i < ks->n; i++) {
		const struct cds_dnskey *key = &keys[ks->obs_idx[i]];

		for (size_t j = 0; j < n_ds && !ks->ds_key[i]; j++)
			ks->ds_key[i] = cds_ds_matches_dnskey(zone, &ds[j], key);
		ks->any_ds_key |= ks->ds_key[i];
	}
}

/*
 * Convert the (1..CDS_RRSET_MAX) DNSKEY records into obs->dnskey and keep, in ks, those
 * that can sign: a zone key of protocol 3. A record we cannot hold
 * (malformed, key too long) is counted but neither stored nor used.
 */
static int load_dnskeys(struct keyset *ks, ldns_buffer *buf,
			const ldns_rr_list *rrs, struct cds_server_obs *obs)
{
	size_t n = ldns_rr_list_rr_count(rrs);

	obs->dnskey = calloc(n, sizeof(*obs->dnskey));
	obs->dnskey_signs = calloc(n, sizeof(*obs->dnskey_signs));
	if (!obs->dnskey || !obs->dnskey_signs)
		return CDS_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		ldns_rr *rr = ldns_rr_list_rr(rrs, i);
		struct cds_dnskey *k = &obs->dnskey[obs->n_dnskey];

		if (to_dnskey(buf, rr, k) != CDS_OK)
			continue;
		obs->n_dnskey++;
		if (!(k->flags & CDS_DNSKEY_ZONE) || k->protocol != 3)
			continue;
		ks->rr[ks->n] = rr;
		ks->obs_idx[ks->n] = obs->n_dnskey - 1;
		ks->tag[ks->n] = cds_keytag(k);
		ks->n++;
	}
	return CDS_OK;
}

static int check_dnskey(struct keyset *ks, ldns_buffer *buf, const char *zone,
			const struct cds_ds *ds, size_t n_ds,
			const struct scan_rrset *set, struct cds_server_obs *obs)
{
	ldns_rr_list *rrs = apex_subset(set ? set->rrs : NULL, ks->zone,
					LDNS_RR_TYPE_DNSKEY);
	struct sigsum s;
	int rc = CDS_ENOMEM;

	if (!rrs)
		goto out;
	rrset_shape(rrs, &obs->dnskey_rr);
	obs->dnskey_rr.sig = CDS_SIG_NA;
	rc = CDS_OK;
	if (obs->dnskey_rr.count == 0)
		goto out;
	/* An oversized key set is refused unread: checking it is what a
	   KeyTrap-style attack wants us to do. It proves nothing. */
	if (obs->dnskey_rr.overflow) {
		obs->dnskey_rr.sig = CDS_SIG_BOGUS;
		goto out;
	}
	rc = load_dnskeys(ks, buf, rrs, obs);
	if (rc)
		goto out;
	match_ds(ks, zone, obs->dnskey, ds, n_ds);
	rc = check_sigs(ks, rrs, set->sigs, LDNS_RR_TYPE_DNSKEY, &s,
			ks->signs);
	if (rc)
		goto out;
	for (size_t i = 0; i < ks->n; i++) {
		obs->dnskey_signs[ks->obs_idx[i]] = ks->signs[i];
		ks->proven |= ks->signs[i] && ks->ds_key[i];
	}
	obs->dnskey_proven = ks->proven;
	obs->dnskey_rr.sig = dnskey_verdict(ks, &s);
	if (ks->proven)
		sig_report(&obs->dnskey_rr, &s);
out:
	ldns_rr_list_free(rrs);
	return rc;
}

/*
 * A CDS or CDNSKEY RRset's verdict. Nothing a server signs is trusted
 * unless its DNSKEY RRset is proven (RFC 4035 §5), so that comes first.
 * Then RFC 7344 §4.1 wants a key in both DS and DNSKEY (VALID_DS_KEY);
 * a signature only by another key of the proven set is kept apart
 * (VALID_OTHER) so that policy can say why it refuses (STANDARDS C1).
 */
static enum cds_sigstate child_verdict(const struct keyset *ks,
				       const struct sigsum *s)
{
	if (!ks->proven)
		return CDS_SIG_UNPROVEN;
	if (s->valid_ds)
		return CDS_SIG_VALID_DS_KEY;
	if (s->valid_any)
		return CDS_SIG_VALID_OTHER;
	if (!s->any_sig)
		return CDS_SIG_UNSIGNED;
	if (s->window_any)
		return CDS_SIG_EXPIRED;
	return CDS_SIG_BOGUS;
}

/*
 * Shape and signatures of the CDS or CDNSKEY RRset; the apex records go
 * to *out (a list borrowing them) for conversion.
 */
static int check_child(const struct keyset *ks, const struct scan_rrset *set,
		       ldns_rr_type type, struct cds_rrset_obs *o,
		       ldns_rr_list **out)
{
	struct sigsum s;
	int rc;

	*out = apex_subset(set ? set->rrs : NULL, ks->zone, type);
	if (!*out)
		return CDS_ENOMEM;
	rrset_shape(*out, o);
	o->sig = CDS_SIG_NA;
	if (o->count == 0)
		return CDS_OK;
	if (!ks->proven) {
		o->sig = CDS_SIG_UNPROVEN;
		return CDS_OK;
	}
	rc = check_sigs(ks, *out, set->sigs, type, &s, NULL);
	if (rc)
		return rc;
	o->sig = child_verdict(ks, &s);
	if (o->sig == CDS_SIG_VALID_DS_KEY || o->sig == CDS_SIG_VALID_OTHER)
		sig_report(o, &s);
	return CDS_OK;
}

/* Records that do not convert (malformed, too long) are not stored. */
static int load_cds(ldns_buffer *buf, const ldns_rr_list *rrs,
		    struct cds_server_obs *obs)
{
	size_t n = ldns_rr_list_rr_count(rrs);

	if (n == 0 || obs->cds_rr.overflow)
		return CDS_OK;
	obs->cds = calloc(n, sizeof(*obs->cds));
	if (!obs->cds)
		return CDS_ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (to_ds(buf, ldns_rr_list_rr(rrs, i), &obs->cds[obs->n_cds]) ==
		    CDS_OK)
			obs->n_cds++;
	return CDS_OK;
}

static int load_cdnskey(ldns_buffer *buf, const ldns_rr_list *rrs,
			struct cds_server_obs *obs)
{
	size_t n = ldns_rr_list_rr_count(rrs);

	if (n == 0 || obs->cdnskey_rr.overflow)
		return CDS_OK;
	obs->cdnskey = calloc(n, sizeof(*obs->cdnskey));
	if (!obs->cdnskey)
		return CDS_ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (to_dnskey(buf, ldns_rr_list_rr(rrs, i),
			      &obs->cdnskey[obs->n_cdnskey]) == CDS_OK)
			obs->n_cdnskey++;
	return CDS_OK;
}

static int check_cds_cdnskey(const struct keyset *ks, ldns_buffer *buf,
			     const struct scan_rrset *cds,
			     const struct scan_rrset *cdnskey,
			     struct cds_server_obs *obs)
{
	ldns_rr_list *a = NULL, *b = NULL;
	int rc;

	rc = check_child(ks, cds, LDNS_RR_TYPE_CDS, &obs->cds_rr, &a);
	if (!rc)
		rc = load_cds(buf, a, obs);
	if (!rc)
		rc = check_child(ks, cdnskey, LDNS_RR_TYPE_CDNSKEY,
				 &obs->cdnskey_rr, &b);
	if (!rc)
		rc = load_cdnskey(buf, b, obs);
	ldns_rr_list_free(a);
	ldns_rr_list_free(b);
	return rc;
}

int scan_validate_server(const char *zone, const struct cds_ds *ds, size_t n_ds,
			 const struct scan_rrset *dnskey,
			 const struct scan_rrset *cds,
			 const struct scan_rrset *cdnskey, int64_t now,
			 struct cds_server_obs *obs)
{
	return scan_validate_server_cached(NULL, zone, ds, n_ds, dnskey, cds,
					   cdnskey, now, obs);
}

int scan_validate_server_cached(struct scan_sigcache *cache, const char *zone,
				const struct cds_ds *ds, size_t n_ds,
				const struct scan_rrset *dnskey,
				const struct scan_rrset *cds,
				const struct scan_rrset *cdnskey, int64_t now,
				struct cds_server_obs *obs)
{
	struct keyset ks = {.now = now, .cache = cache};
	ldns_rdf *zname = ldns_dname_new_frm_str(zone);
	ldns_buffer *buf = ldns_buffer_new(1024);
	int rc = CDS_ENOMEM;

	obs->n_dnskey = obs->n_cds = obs->n_cdnskey = 0;
	obs->dnskey_proven = false;
	if (!zname || !buf) {
		rc = zname ? CDS_ENOMEM : CDS_EINVAL;
		goto out;
	}
	ks.zone = zname;
	rc = check_dnskey(&ks, buf, zone, ds, n_ds, dnskey, obs);
	if (!rc)
		rc = check_cds_cdnskey(&ks, buf, cds, cdnskey, obs);
out:
	ldns_buffer_free(buf);
	ldns_rdf_deep_free(zname);
	return rc;
}

int scan_read_records(const char *zone, const struct scan_rrset *cds,
		      const struct scan_rrset *cdnskey,
		      struct cds_server_obs *obs)
{
	int rc;

	/* With no DNSKEY set nothing is proven, so no signature is tried:
	   the records are read and shaped exactly as a full check would. */
	rc = scan_validate_server(zone, NULL, 0, NULL, cds, cdnskey, 0, obs);
	obs->dnskey_rr = (struct cds_rrset_obs){.state = obs->dnskey_rr.state};
	obs->cds_rr.sig = CDS_SIG_NA;
	obs->cdnskey_rr.sig = CDS_SIG_NA;
	return rc;
}

/* ---- CSYNC (RFC 7477, STANDARDS §6, Y1) ------------------------------- */

int scan_csync_parse(const uint8_t *rd, size_t len, struct cds_csync_obs *out)
{
	size_t pos = 6;
	int last = -1;

	out->malformed = true;
	out->n_types = 0;
	out->types_overflow = false;
	if (len < 6)
		return CDS_EMALFORMED;
	out->serial = (uint32_t)rd[0] << 24 | (uint32_t)rd[1] << 16 |
		      (uint32_t)rd[2] << 8 | rd[3];
	out->flags = (uint16_t)(rd[4] << 8 | rd[5]);
	while (pos < len) {
		uint8_t win, wl;

		if (pos + 2 > len)
			return CDS_EMALFORMED;
		win = rd[pos];
		wl = rd[pos + 1];
		/* RFC 4034 §4.1.2: 1..32 octets, windows ascending, once. */
		if (wl == 0 || wl > 32 || (int)win <= last || pos + 2 + wl > len)
			return CDS_EMALFORMED;
		last = win;
		for (size_t i = 0; i < wl; i++)
			for (unsigned b = 0; b < 8; b++) {
				if (!(rd[pos + 2 + i] & (0x80u >> b)))
					continue;
				if (out->n_types == CDS_CSYNC_TYPES_MAX) {
					out->types_overflow = true;
					continue;
				}
				out->types[out->n_types++] =
					(uint16_t)(win * 256 + i * 8 + b);
			}
		pos += 2u + wl;
	}
	out->malformed = false;
	return CDS_OK;
}

struct scan_keys {
	struct keyset ks;
	ldns_rdf *zone;
	ldns_rr_list *keys;         /* copy of the DNSKEY records ks points to */
	struct cds_server_obs obs;  /* what check_dnskey fills; kept for it */
};

int scan_keys_new(struct scan_sigcache *cache, const char *zone,
		  const struct cds_ds *ds, size_t n_ds,
		  const struct scan_rrset *dnskey, int64_t now,
		  struct scan_keys **out)
{
	struct scan_keys *k = calloc(1, sizeof *k);
	ldns_buffer *buf = ldns_buffer_new(1024);
	struct scan_rrset set = {NULL, NULL};
	int rc = CDS_ENOMEM;

	*out = NULL;
	if (!k || !buf)
		goto fail;
	k->zone = ldns_dname_new_frm_str(zone);
	if (!k->zone) {
		rc = CDS_EINVAL;
		goto fail;
	}
	k->keys = dnskey && dnskey->rrs ? ldns_rr_list_clone(dnskey->rrs)
					: ldns_rr_list_new();
	if (!k->keys)
		goto fail;
	k->ks.zone = k->zone;
	k->ks.now = now;
	k->ks.cache = cache;
	set.rrs = k->keys;
	set.sigs = dnskey ? dnskey->sigs : NULL;
	rc = check_dnskey(&k->ks, buf, zone, ds, n_ds, &set, &k->obs);
	if (rc)
		goto fail;
	ldns_buffer_free(buf);
	*out = k;
	return CDS_OK;
fail:
	ldns_buffer_free(buf);
	scan_keys_free(k);
	return rc;
}

void scan_keys_free(struct scan_keys *k)
{
	if (!k)
		return;
	cds_server_obs_clear(&k->obs);
	ldns_rr_list_deep_free(k->keys);
	ldns_rdf_deep_free(k->zone);
	free(k);
}

bool scan_keys_proven(const struct scan_keys *k)
{
	return k && k->ks.proven;
}

int scan_check_rrset(const struct scan_keys *k, const char *owner,
		     uint16_t type, const struct scan_rrset *set,
		     struct cds_rrset_obs *o)
{
	ldns_rdf *name = ldns_dname_new_frm_str(owner);
	ldns_rr_list *rrs = NULL;
	struct sigsum s;
	int rc = CDS_EINVAL;

	if (!name)
		goto out;
	rc = CDS_ENOMEM;
	rrs = apex_subset(set ? set->rrs : NULL, name, type);
	if (!rrs)
		goto out;
	rrset_shape(rrs, o);
	o->sig = CDS_SIG_NA;
	rc = CDS_OK;
	if (o->count == 0)
		goto out;
	/* Data outside the zone is not the zone's to sign. */
	if (!k->ks.proven) {
		o->sig = CDS_SIG_UNPROVEN;
		goto out;
	}
	if (ldns_dname_compare(name, k->zone) != 0 &&
	    !ldns_dname_is_subdomain(name, k->zone)) {
		o->sig = CDS_SIG_BOGUS;
		goto out;
	}
	rc = check_sigs_at(&k->ks, name, rrs, set->sigs, type, &s, NULL);
	if (rc)
		goto out;
	o->sig = child_verdict(&k->ks, &s);
	if (o->sig == CDS_SIG_VALID_DS_KEY || o->sig == CDS_SIG_VALID_OTHER)
		sig_report(o, &s);
out:
	ldns_rr_list_free(rrs);
	ldns_rdf_deep_free(name);
	return rc;
}

/* Proof records considered per answer: an honest NODATA needs one. */
#define DENIAL_RECORDS_MAX 8

/* Does the bit map deny `type` (and CNAME, RFC 4035 §5.4)? */
static bool bitmap_denies(const ldns_rdf *bm, ldns_rr_type type)
{
	return !bm || (!ldns_nsec_bitmap_covers_type(bm, type) &&
		       !ldns_nsec_bitmap_covers_type(bm, LDNS_RR_TYPE_CNAME));
}

/* Is NSEC3 `rr` owned by the hash of `qname` in the zone? Iterations
   and the hash algorithm were checked by the caller. */
static bool nsec3_matches(const struct scan_keys *k, const ldns_rr *rr,
			  const ldns_rdf *qname)
{
	ldns_rdf *hash = ldns_nsec3_hash_name_frm_nsec3(rr, qname);
	ldns_rdf *label = hash ? ldns_dname_label(hash, 0) : NULL;
	ldns_rdf *own = ldns_dname_label(ldns_rr_owner(rr), 0);
	ldns_rdf *rest = ldns_dname_left_chop(ldns_rr_owner(rr));
	bool ok = label && own && rest &&
		  ldns_dname_compare(label, own) == 0 &&
		  ldns_dname_compare(rest, k->zone) == 0;

	ldns_rdf_deep_free(hash);
	ldns_rdf_deep_free(label);
	ldns_rdf_deep_free(own);
	ldns_rdf_deep_free(rest);
	return ok;
}

/* The signatures over the proof record's RRset. */
static int denial_sigs(const struct scan_keys *k, const ldns_rr *proof,
		       const ldns_rr_list *auth, struct cds_rrset_obs *o)
{
	ldns_rr_type t = ldns_rr_get_type(proof);
	ldns_rr_list *rrs = apex_subset(auth, ldns_rr_owner(proof), t);
	struct sigsum s;
	int rc;

	if (!rrs)
		return CDS_ENOMEM;
	rc = check_sigs_at(&k->ks, ldns_rr_owner(proof), rrs, auth, t, &s,
			   NULL);
	if (!rc) {
		o->sig = child_verdict(&k->ks, &s);
		if (o->sig == CDS_SIG_VALID_DS_KEY ||
		    o->sig == CDS_SIG_VALID_OTHER)
			sig_report(o, &s);
	}
	ldns_rr_list_free(rrs);
	return rc;
}

int scan_check_denial(const struct scan_keys *k, const char *qname,
		      uint16_t type, const ldns_rr_list *auth,
		      struct cds_rrset_obs *o)
{
	ldns_rdf *name = ldns_dname_new_frm_str(qname);
	const ldns_rr *proof = NULL;
	size_t n = auth ? ldns_rr_list_rr_count(auth) : 0, seen = 0;
	bool weak_nsec3 = false;
	int rc = CDS_EINVAL;

	if (!name)
		goto out;
	rc = CDS_OK;
	o->sig = CDS_SIG_UNSIGNED;
	if (!k->ks.proven) {
		o->sig = CDS_SIG_UNPROVEN;
		goto out;
	}
	for (size_t i = 0; i < n && !proof && seen < DENIAL_RECORDS_MAX; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(auth, i);

		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NSEC) {
			seen++;
			if (ldns_dname_compare(ldns_rr_owner(rr), name) == 0)
				proof = rr;
		} else if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NSEC3 &&
			   ldns_rr_rd_count(rr) >= 6) {
			seen++;
			/* RFC 9276 §3.2: iterations above 0 may be treated as
			   insecure; and hashing them is what a hostile zone
			   would want us to spend time on. */
			if (ldns_nsec3_algorithm(rr) != 1 ||
			    ldns_nsec3_iterations(rr) > 0) {
				weak_nsec3 = true;
				continue;
			}
			if (nsec3_matches(k, rr, name))
				proof = rr;
		}
	}
	if (!proof) {
		/* nothing that could prove it: insecure, or not shown */
		o->sig = weak_nsec3 || seen == 0 ? CDS_SIG_UNSIGNED
						 : CDS_SIG_BOGUS;
		goto out;
	}
	if (!bitmap_denies(ldns_rr_get_type(proof) == LDNS_RR_TYPE_NSEC
				   ? ldns_nsec_get_bitmap(proof)
				   : ldns_nsec3_bitmap(proof),
			   type)) {
		o->sig = CDS_SIG_BOGUS;
		goto out;
	}
	rc = denial_sigs(k, proof, auth, o);
out:
	ldns_rdf_deep_free(name);
	return rc;
}
