/*
 * DNSSEC value types shared by every module: DS and DNSKEY rdata as plain
 * structs (CDS uses the DS format, CDNSKEY the DNSKEY format, RFC 7344
 * §3.1–3.2), and the pure functions over them: key tag, DS digest, the
 * delete-record test, wire and presentation conversions.
 *
 * Pure: no I/O, no clock. Digests use libcrypto's EVP interface.
 */
#ifndef CDS_CORE_DNSSEC_H
#define CDS_CORE_DNSSEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CDS_NAME_MAX 256    /* presentation name incl. trailing dot + NUL */
#define CDS_WIRE_NAME_MAX 255
#define CDS_DIGEST_MAX 64   /* largest digest we keep (SHA-512 size) */
#define CDS_KEY_MAX 1040    /* largest public key we keep (RSA-8192 + exp) */
#define CDS_DS_STR_MAX (32 + 2 * CDS_DIGEST_MAX)

/* DNSKEY flags (RFC 4034 §2.1.1) */
#define CDS_DNSKEY_ZONE 0x0100
#define CDS_DNSKEY_SEP 0x0001
#define CDS_DNSKEY_REVOKE 0x0080

/* DS digest types (RFC 8624 §3.3, RFC 9904) */
#define CDS_DIGEST_DELETE 0
#define CDS_DIGEST_SHA1 1
#define CDS_DIGEST_SHA256 2
#define CDS_DIGEST_GOST 3
#define CDS_DIGEST_SHA384 4

/* DS or CDS rdata. */
struct cds_ds {
	uint16_t keytag;
	uint8_t alg;
	uint8_t digest_type;
	uint8_t digest_len;
	uint8_t digest[CDS_DIGEST_MAX];
};

/* DNSKEY or CDNSKEY rdata. */
struct cds_dnskey {
	uint16_t flags;
	uint8_t protocol;
	uint8_t alg;
	uint16_t key_len;
	uint8_t key[CDS_KEY_MAX];
};

/*
 * Expected digest length in octets for a digest type: 20 for 1, 32 for 2
 * and 3(GOST 32), 48 for 4, 32 for 5 and 6; 0 when unknown.
 */
size_t cds_digest_len(uint8_t digest_type);

/* Key tag of a DNSKEY/CDNSKEY (RFC 4034 Appendix B). */
uint16_t cds_keytag(const struct cds_dnskey *key);

/*
 * Owner name in canonical (lower-case, uncompressed) wire form
 * (RFC 4034 §6.2). `name` is presentation form, absolute or not ("a.b"
 * and "a.b." are the same name; "." is the root). Escapes (\. \DDD) are
 * understood.
 * Returns 0, or CDS_EINVAL for a bad name; *len gets the wire length.
 */
int cds_name_to_wire(const char *name, uint8_t out[CDS_WIRE_NAME_MAX],
		     size_t *len);

/*
 * Normalise a presentation name: lower case, trailing dot. `out` has
 * CDS_NAME_MAX bytes. Returns 0 or CDS_EINVAL.
 */
int cds_name_normalize(const char *name, char out[CDS_NAME_MAX]);

/*
 * True when `sub` equals `zone` or lies below it (both presentation form,
 * compared case-insensitively, trailing dot optional).
 */
bool cds_name_is_subdomain(const char *sub, const char *zone);

/*
 * Compute the DS of `key` owned by `owner` with `digest_type` (1, 2 or 4)
 * (RFC 4034 §5.1.4, RFC 4509 §2.1, RFC 6605 §6). Fills `out` including
 * the key tag. The key must have the Zone Key flag (RFC 4034 §5.2) and
 * protocol 3, else CDS_EINVAL. CDS_EINVAL also for an unsupported digest.
 */
int cds_ds_from_dnskey(const char *owner, const struct cds_dnskey *key,
		       uint8_t digest_type, struct cds_ds *out);

/*
 * True when `ds` (from the current DS set or a CDS) refers to `key` under
 * `owner`: same key tag and algorithm, and the digest recomputed with
 * ds->digest_type equals ds->digest. False for unsupported digest types.
 */
bool cds_ds_matches_dnskey(const char *owner, const struct cds_ds *ds,
			   const struct cds_dnskey *key);

/*
 * RFC 8078 §4 with Errata 5049: the delete record. Both spellings are
 * understood: CDS "0 0 0 00" (digest one zero octet) and "0 0 0 0"
 * (empty digest); CDNSKEY "0 3 0 AA==" (key one zero octet) and "0 3 0 0"
 * (empty key).
 */
bool cds_ds_is_delete(const struct cds_ds *ds);
bool cds_dnskey_is_delete(const struct cds_dnskey *key);

/* Byte-wise equality of rdata (RFC 4034 §6.3 canonical comparison). */
bool cds_ds_equal(const struct cds_ds *a, const struct cds_ds *b);
bool cds_dnskey_equal(const struct cds_dnskey *a, const struct cds_dnskey *b);
/* Canonical order of rdata (memcmp of wire rdata), for qsort. */
int cds_ds_cmp(const void *a, const void *b);
int cds_dnskey_cmp(const void *a, const void *b);

/*
 * Equality of two RRsets as sets (order and duplicates ignored, as the
 * DNS treats them; RFC 2181 §5).
 */
bool cds_ds_set_equal(const struct cds_ds *a, size_t na,
		      const struct cds_ds *b, size_t nb);
bool cds_dnskey_set_equal(const struct cds_dnskey *a, size_t na,
			  const struct cds_dnskey *b, size_t nb);

/*
 * Wire rdata <-> struct. *_from_rdata returns CDS_EMALFORMED when the
 * rdata is too short, or CDS_ELIMIT when a digest or key exceeds what we
 * keep. The digest length is not checked against the type here (policy
 * does that, so it can say why).
 */
int cds_ds_from_rdata(const uint8_t *rdata, size_t len, struct cds_ds *out);
int cds_dnskey_from_rdata(const uint8_t *rdata, size_t len,
			  struct cds_dnskey *out);

/*
 * Presentation form "KEYTAG ALG DIGESTTYPE HEX" (hex may contain blanks).
 * cds_ds_parse returns CDS_EINVAL on bad text; cds_ds_format writes into
 * buf (CDS_DS_STR_MAX bytes) and returns buf. The empty digest formats as
 * "0" (RFC 8078's original spelling).
 */
int cds_ds_parse(const char *text, struct cds_ds *out);
char *cds_ds_format(const struct cds_ds *ds, char *buf, size_t size);

/*
 * "FLAGS PROTOCOL ALG BASE64" for a DNSKEY; parse accepts blanks inside
 * the base64. Buffer size needed for format: cds_dnskey_str_size().
 */
int cds_dnskey_parse(const char *text, struct cds_dnskey *out);
size_t cds_dnskey_str_size(const struct cds_dnskey *key);
char *cds_dnskey_format(const struct cds_dnskey *key, char *buf, size_t size);

/* Mnemonic for a DNSSEC algorithm number ("ECDSAP256SHA256"), or NULL. */
const char *cds_alg_name(uint8_t alg);

#endif
