/*
 * DNSSEC value functions over DS/CDS and DNSKEY/CDNSKEY rdata: key tags
 * (RFC 4034 Appendix B), DS digests (RFC 4034 §5.1.4, RFC 4509 §2.1,
 * RFC 6605 §6), owner names in canonical wire form, the RFC 8078 delete
 * record in both spellings, canonical comparison and set equality, and the
 * presentation forms the CLI, the database and the EPP sink exchange.
 * Everything here is pure: no I/O, no clock, no allocation. The scanner
 * feeds it what servers sent, so every parser bounds-checks its input.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/dnssec.h"
#include "core/errors.h"

size_t cds_digest_len(uint8_t digest_type)
{
	switch (digest_type) {
	case CDS_DIGEST_SHA1: return 20;
	case CDS_DIGEST_SHA256: return 32;
	case CDS_DIGEST_GOST: return 32;
	case CDS_DIGEST_SHA384: return 48;
	case 5: return 32; /* GOST R 34.11-2012, 256 bit (RFC 9558) */
	case 6: return 32; /* SM3 (RFC 9563) */
	}
	return 0;
}

/* DNSKEY rdata header (flags, protocol, alg) in wire order. */
static void dnskey_header(const struct cds_dnskey *key, uint8_t hdr[4])
{
	hdr[0] = (uint8_t)(key->flags >> 8);
	hdr[1] = (uint8_t)(key->flags & 0xff);
	hdr[2] = key->protocol;
	hdr[3] = key->alg;
}

uint16_t cds_keytag(const struct cds_dnskey *key)
{
	uint8_t hdr[4];
	uint32_t ac = 0;
	size_t i;

	/* RFC 4034 Appendix B.1: algorithm 1 takes the tag from the
	   modulus' least significant 16 bits. */
	if (key->alg == 1) {
		if (key->key_len < 3)
			return 0;
		return (uint16_t)((key->key[key->key_len - 3] << 8) |
				  key->key[key->key_len - 2]);
	}
	dnskey_header(key, hdr);
	for (i = 0; i < 4; i++)
		ac += (i & 1) ? hdr[i] : (uint32_t)hdr[i] << 8;
	/* The key starts at rdata offset 4, so its parity matches i. */
	for (i = 0; i < key->key_len; i++)
		ac += (i & 1) ? key->key[i] : (uint32_t)key->key[i] << 8;
	ac += (ac >> 16) & 0xffff;
	return (uint16_t)(ac & 0xffff);
}

/* One label of a presentation name, escapes resolved, into lab[64]. */
static int parse_label(const char **pp, uint8_t lab[64], size_t *llen)
{
	const char *p = *pp;
	size_t n = 0;
	unsigned v;

	while (*p != '\0' && *p != '.') {
		if (*p == '\\') {
			p++;
			if (isdigit((unsigned char)p[0]) &&
			    isdigit((unsigned char)p[1]) &&
			    isdigit((unsigned char)p[2])) {
				v = (unsigned)(p[0] - '0') * 100 +
				    (unsigned)(p[1] - '0') * 10 +
				    (unsigned)(p[2] - '0');
				if (v > 255)
					return CDS_EINVAL;
				p += 3;
			} else if (*p != '\0') {
				v = (unsigned char)*p++;
			} else {
				return CDS_EINVAL;
			}
		} else {
			v = (unsigned char)*p++;
		}
		if (n == 63)
			return CDS_EINVAL; /* RFC 1035 §2.3.4: 63 octets */
		lab[n++] = (uint8_t)tolower((int)v);
	}
	*pp = p;
	*llen = n;
	return CDS_OK;
}

int cds_name_to_wire(const char *name, uint8_t out[CDS_WIRE_NAME_MAX],
		     size_t *len)
{
	uint8_t lab[64];
	size_t pos = 0, llen;
	const char *p = name;

	if (name == NULL || *name == '\0')
		return CDS_EINVAL;
	if (strcmp(name, ".") == 0)
		goto root;
	while (*p != '\0') {
		if (parse_label(&p, lab, &llen) != CDS_OK || llen == 0)
			return CDS_EINVAL; /* empty label: "a..b" or ".a" */
		if (pos + 1 + llen + 1 > CDS_WIRE_NAME_MAX)
			return CDS_EINVAL; /* RFC 1035 §2.3.4: 255 octets */
		out[pos++] = (uint8_t)llen;
		memcpy(out + pos, lab, llen);
		pos += llen;
		if (*p == '.')
			p++;
	}
root:
	out[pos++] = 0;
	*len = pos;
	return CDS_OK;
}

/* Append one wire label in presentation form, escaping what must be. */
static size_t format_label(const uint8_t *lab, size_t llen, char *out)
{
	size_t i, n = 0;

	for (i = 0; i < llen; i++) {
		uint8_t c = lab[i];

		if (c == '.' || c == '\\' || c == '"' || c == '(' ||
		    c == ')' || c == ';' || c == '@' || c == '$') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c <= 0x20 || c >= 0x7f) {
			n += (size_t)sprintf(out + n, "\\%03u", c);
		} else {
			out[n++] = (char)c;
		}
	}
	return n;
}

int cds_name_normalize(const char *name, char out[CDS_NAME_MAX])
{
	uint8_t wire[CDS_WIRE_NAME_MAX];
	/* Worst case: every octet escaped as \DDD. */
	char tmp[CDS_WIRE_NAME_MAX * 4 + 2];
	size_t len, pos = 0, n = 0;

	if (cds_name_to_wire(name, wire, &len) != CDS_OK)
		return CDS_EINVAL;
	if (len == 1) {
		strcpy(out, ".");
		return CDS_OK;
	}
	while (wire[pos] != 0) {
		n += format_label(wire + pos + 1, wire[pos], tmp + n);
		tmp[n++] = '.';
		pos += 1 + wire[pos];
	}
	if (n >= CDS_NAME_MAX)
		return CDS_EINVAL; /* legal on the wire, too long escaped */
	memcpy(out, tmp, n);
	out[n] = '\0';
	return CDS_OK;
}

bool cds_name_is_subdomain(const char *sub, const char *zone)
{
	uint8_t ws[CDS_WIRE_NAME_MAX], wz[CDS_WIRE_NAME_MAX];
	size_t ls, lz, pos = 0;

	if (cds_name_to_wire(sub, ws, &ls) != CDS_OK ||
	    cds_name_to_wire(zone, wz, &lz) != CDS_OK)
		return false;
	/* Walk label boundaries of `sub` so "xample.com" never matches
	   "example.com" by a byte suffix. */
	while (ls - pos > lz)
		pos += 1 + ws[pos];
	return ls - pos == lz && memcmp(ws + pos, wz, lz) == 0;
}

/*
 * The digests, fetched from the provider once: with OpenSSL 3 the
 * EVP_sha256() kind of handle is looked up again on every
 * EVP_DigestInit_ex, which cost more than hashing a DNSKEY (a scan
 * computes a DS per key it sees). Fetched under pthread_once, since the
 * database may run on a thread of its own; never freed (process-wide).
 */
static EVP_MD *md_sha1, *md_sha256, *md_sha384;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void md_fetch(void)
{
	md_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
	md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	md_sha384 = EVP_MD_fetch(NULL, "SHA384", NULL);
}

static const EVP_MD *digest_md(uint8_t digest_type)
{
	const EVP_MD *md = NULL;

	pthread_once(&md_once, md_fetch);
	switch (digest_type) {
	case CDS_DIGEST_SHA1: md = md_sha1 ? md_sha1 : EVP_sha1(); break;
	case CDS_DIGEST_SHA256: md = md_sha256 ? md_sha256 : EVP_sha256(); break;
	case CDS_DIGEST_SHA384: md = md_sha384 ? md_sha384 : EVP_sha384(); break;
	}
	return md;
}

int cds_ds_from_dnskey(const char *owner, const struct cds_dnskey *key,
		       uint8_t digest_type, struct cds_ds *out)
{
	uint8_t wire[CDS_WIRE_NAME_MAX], hdr[4];
	unsigned mdlen = 0;
	size_t wlen;
	const EVP_MD *md = digest_md(digest_type);
	EVP_MD_CTX *ctx = NULL;
	int ret = CDS_EINVAL;

	/* RFC 4034 §5.2: a DS refers only to a zone key, protocol 3. */
	if (md == NULL || !(key->flags & CDS_DNSKEY_ZONE) ||
	    key->protocol != 3 || key->key_len > CDS_KEY_MAX)
		goto out;
	if (cds_name_to_wire(owner, wire, &wlen) != CDS_OK)
		goto out;
	ret = CDS_ENOMEM;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	dnskey_header(key, hdr);
	/* RFC 4034 §5.1.4: digest = H(owner | DNSKEY rdata) */
	if (EVP_DigestInit_ex(ctx, md, NULL) != 1 ||
	    EVP_DigestUpdate(ctx, wire, wlen) != 1 ||
	    EVP_DigestUpdate(ctx, hdr, sizeof hdr) != 1 ||
	    EVP_DigestUpdate(ctx, key->key, key->key_len) != 1 ||
	    EVP_DigestFinal_ex(ctx, out->digest, &mdlen) != 1)
		goto out;
	out->keytag = cds_keytag(key);
	out->alg = key->alg;
	out->digest_type = digest_type;
	out->digest_len = (uint8_t)mdlen;
	ret = CDS_OK;
out:
	EVP_MD_CTX_free(ctx);
	return ret;
}

bool cds_ds_matches_dnskey(const char *owner, const struct cds_ds *ds,
			   const struct cds_dnskey *key)
{
	struct cds_ds calc;

	if (ds->alg != key->alg || ds->keytag != cds_keytag(key))
		return false;
	if (cds_ds_from_dnskey(owner, key, ds->digest_type, &calc) != CDS_OK)
		return false;
	return calc.digest_len == ds->digest_len &&
	       memcmp(calc.digest, ds->digest, ds->digest_len) == 0;
}

bool cds_ds_is_delete(const struct cds_ds *ds)
{
	/* RFC 8078 §4 with Errata 5049: "0 0 0 00"; "0 0 0 0" read as the
	   empty digest. */
	return ds->keytag == 0 && ds->alg == 0 && ds->digest_type == 0 &&
	       (ds->digest_len == 0 ||
		(ds->digest_len == 1 && ds->digest[0] == 0));
}

bool cds_dnskey_is_delete(const struct cds_dnskey *key)
{
	/* RFC 8078 §4 with Errata 5049: "0 3 0 AA=="; "0 3 0 0" read as
	   the empty key. */
	return key->flags == 0 && key->protocol == 3 && key->alg == 0 &&
	       (key->key_len == 0 || (key->key_len == 1 && key->key[0] == 0));
}

int cds_ds_cmp(const void *a, const void *b)
{
	const struct cds_ds *x = a, *y = b;
	size_t n = x->digest_len < y->digest_len ? x->digest_len
						 : y->digest_len;
	int c;

	/* RFC 4034 §6.3: rdata compared as left-justified octet strings;
	   the header fields are fixed width, so field order is byte order. */
	if (x->keytag != y->keytag)
		return x->keytag < y->keytag ? -1 : 1;
	if (x->alg != y->alg)
		return x->alg < y->alg ? -1 : 1;
	if (x->digest_type != y->digest_type)
		return x->digest_type < y->digest_type ? -1 : 1;
	if ((c = memcmp(x->digest, y->digest, n)) != 0)
		return c < 0 ? -1 : 1;
	return (x->digest_len > y->digest_len) - (x->digest_len < y->digest_len);
}

int cds_dnskey_cmp(const void *a, const void *b)
{
	const struct cds_dnskey *x = a, *y = b;
	size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
	int c;

	if (x->flags != y->flags)
		return x->flags < y->flags ? -1 : 1;
	if (x->protocol != y->protocol)
		return x->protocol < y->protocol ? -1 : 1;
	if (x->alg != y->alg)
		return x->alg < y->alg ? -1 : 1;
	if ((c = memcmp(x->key, y->key, n)) != 0)
		return c < 0 ? -1 : 1;
	return (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

bool cds_ds_equal(const struct cds_ds *a, const struct cds_ds *b)
{
	return cds_ds_cmp(a, b) == 0;
}

bool cds_dnskey_equal(const struct cds_dnskey *a, const struct cds_dnskey *b)
{
	return cds_dnskey_cmp(a, b) == 0;
}

/* Every element of a is in b. Quadratic: RRsets here are at most
   CDS_RRSET_MAX records. */
static bool ds_subset(const struct cds_ds *a, size_t na,
		      const struct cds_ds *b, size_t nb)
{
	size_t i, j;

	for (i = 0; i < na; i++) {
		for (j = 0; j < nb && !cds_ds_equal(&a[i], &b[j]); j++)
			;
		if (j == nb)
			return false;
	}
	return true;
}

static bool dnskey_subset(const struct cds_dnskey *a, size_t na,
			  const struct cds_dnskey *b, size_t nb)
{
	size_t i, j;

	for (i = 0; i < na; i++) {
		for (j = 0; j < nb && !cds_dnskey_equal(&a[i], &b[j]); j++)
			;
		if (j == nb)
			return false;
	}
	return true;
}

bool cds_ds_set_equal(const struct cds_ds *a, size_t na,
		      const struct cds_ds *b, size_t nb)
{
	return ds_subset(a, na, b, nb) && ds_subset(b, nb, a, na);
}

bool cds_dnskey_set_equal(const struct cds_dnskey *a, size_t na,
			  const struct cds_dnskey *b, size_t nb)
{
	return dnskey_subset(a, na, b, nb) && dnskey_subset(b, nb, a, na);
}

int cds_ds_from_rdata(const uint8_t *rdata, size_t len, struct cds_ds *out)
{
	if (len < 4)
		return CDS_EMALFORMED;
	if (len - 4 > CDS_DIGEST_MAX)
		return CDS_ELIMIT;
	memset(out, 0, sizeof *out);
	out->keytag = (uint16_t)(rdata[0] << 8 | rdata[1]);
	out->alg = rdata[2];
	out->digest_type = rdata[3];
	out->digest_len = (uint8_t)(len - 4);
	memcpy(out->digest, rdata + 4, len - 4);
	return CDS_OK;
}

int cds_dnskey_from_rdata(const uint8_t *rdata, size_t len,
			  struct cds_dnskey *out)
{
	if (len < 4)
		return CDS_EMALFORMED;
	if (len - 4 > CDS_KEY_MAX)
		return CDS_ELIMIT;
	memset(out, 0, sizeof *out);
	out->flags = (uint16_t)(rdata[0] << 8 | rdata[1]);
	out->protocol = rdata[2];
	out->alg = rdata[3];
	out->key_len = (uint16_t)(len - 4);
	memcpy(out->key, rdata + 4, len - 4);
	return CDS_OK;
}

/* Read one unsigned decimal field no larger than max; skips blanks. */
static int parse_uint(const char **pp, unsigned long max, unsigned long *v)
{
	const char *p = *pp;
	char *end;

	while (isspace((unsigned char)*p))
		p++;
	if (!isdigit((unsigned char)*p))
		return CDS_EINVAL;
	errno = 0;
	*v = strtoul(p, &end, 10);
	if (errno != 0 || *v > max ||
	    (*end != '\0' && !isspace((unsigned char)*end)))
		return CDS_EINVAL;
	*pp = end;
	return CDS_OK;
}

/* Read three fields: 16-bit, 8-bit, 8-bit; the shared head of DS and
   DNSKEY presentation. */
static int parse_head(const char **pp, unsigned long f[3])
{
	if (parse_uint(pp, 0xffff, &f[0]) != CDS_OK ||
	    parse_uint(pp, 0xff, &f[1]) != CDS_OK ||
	    parse_uint(pp, 0xff, &f[2]) != CDS_OK)
		return CDS_EINVAL;
	while (isspace((unsigned char)**pp))
		(*pp)++;
	return CDS_OK;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Hex with blanks allowed between digits; `max` octets at most. */
static int hex_decode(const char *p, uint8_t *out, size_t max, size_t *len)
{
	size_t n = 0;
	int hi = -1, v;

	for (; *p != '\0'; p++) {
		if (isspace((unsigned char)*p))
			continue;
		if ((v = hexval((unsigned char)*p)) < 0)
			return CDS_EINVAL;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n == max)
			return CDS_EINVAL;
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	if (hi >= 0)
		return CDS_EINVAL; /* odd number of digits */
	*len = n;
	return CDS_OK;
}

/* True when the rest of the text is exactly "0" (blanks around it): the
   empty digest or key in RFC 8078's original delete spelling. */
static bool is_lone_zero(const char *p)
{
	size_t n = strlen(p);

	while (n > 0 && isspace((unsigned char)p[n - 1]))
		n--;
	return n == 1 && p[0] == '0';
}

int cds_ds_parse(const char *text, struct cds_ds *out)
{
	unsigned long f[3];
	size_t len = 0;
	const char *p = text;

	if (text == NULL || parse_head(&p, f) != CDS_OK || *p == '\0')
		return CDS_EINVAL;
	memset(out, 0, sizeof *out);
	if (!is_lone_zero(p) &&
	    hex_decode(p, out->digest, CDS_DIGEST_MAX, &len) != CDS_OK)
		return CDS_EINVAL;
	out->keytag = (uint16_t)f[0];
	out->alg = (uint8_t)f[1];
	out->digest_type = (uint8_t)f[2];
	out->digest_len = (uint8_t)len;
	return CDS_OK;
}

char *cds_ds_format(const struct cds_ds *ds, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t n, i;
	int w;

	if (size == 0)
		return buf;
	w = snprintf(buf, size, "%u %u %u ", ds->keytag, ds->alg,
		     ds->digest_type);
	n = w < 0 ? 0 : (size_t)w;
	if (ds->digest_len == 0 && n < size)
		snprintf(buf + n, size - n, "0");
	/* Truncates silently when buf is short; CDS_DS_STR_MAX is enough.
	   By table, not "%02x" per octet: the database layer formats every
	   DS of every delegation it records. */
	for (i = 0; i < ds->digest_len && n + 2 < size; i++, n += 2) {
		buf[n] = hex[ds->digest[i] >> 4];
		buf[n + 1] = hex[ds->digest[i] & 0x0f];
		buf[n + 2] = '\0';
	}
	return buf;
}

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64val(int c)
{
	const char *p = c != '\0' ? strchr(b64chars, c) : NULL;

	return p != NULL ? (int)(p - b64chars) : -1;
}

/* Strict RFC 4648 base64 with blanks allowed anywhere; `max` octets. */
static int b64_decode(const char *p, uint8_t *out, size_t max, size_t *len)
{
	uint32_t acc = 0;
	size_t n = 0, q = 0, pad = 0;
	int v;

	for (; *p != '\0'; p++) {
		if (isspace((unsigned char)*p))
			continue;
		if (*p == '=') {
			if (q < 2 || ++pad + q > 4)
				return CDS_EINVAL;
			continue;
		}
		if (pad > 0 || (v = b64val((unsigned char)*p)) < 0)
			return CDS_EINVAL; /* data after padding, or junk */
		acc = acc << 6 | (uint32_t)v;
		if (++q < 4)
			continue;
		if (n + 3 > max)
			return CDS_EINVAL;
		out[n++] = (uint8_t)(acc >> 16);
		out[n++] = (uint8_t)(acc >> 8);
		out[n++] = (uint8_t)acc;
		acc = 0;
		q = 0;
	}
	/* A final group of 2 or 3 characters must be padded to 4. */
	if (q == 1 || (q > 0 && q + pad != 4) || (q == 0 && pad > 0))
		return CDS_EINVAL;
	if (q > 0 && n + (q - 1) > max)
		return CDS_EINVAL;
	if (q == 2) {
		out[n++] = (uint8_t)(acc >> 4);
	} else if (q == 3) {
		out[n++] = (uint8_t)(acc >> 10);
		out[n++] = (uint8_t)(acc >> 2);
	}
	*len = n;
	return CDS_OK;
}

int cds_dnskey_parse(const char *text, struct cds_dnskey *out)
{
	unsigned long f[3];
	size_t len = 0;
	const char *p = text;

	if (text == NULL || parse_head(&p, f) != CDS_OK || *p == '\0')
		return CDS_EINVAL;
	memset(out, 0, sizeof *out);
	if (!is_lone_zero(p) &&
	    b64_decode(p, out->key, CDS_KEY_MAX, &len) != CDS_OK)
		return CDS_EINVAL;
	out->flags = (uint16_t)f[0];
	out->protocol = (uint8_t)f[1];
	out->alg = (uint8_t)f[2];
	out->key_len = (uint16_t)len;
	return CDS_OK;
}

size_t cds_dnskey_str_size(const struct cds_dnskey *key)
{
	size_t b64 = (key->key_len + 2) / 3 * 4;

	/* "65535 255 255 " + base64 (or "0") + NUL */
	return 14 + (b64 > 0 ? b64 : 1) + 1;
}

/* Encode `len` octets as base64 into out (room for 4*ceil(len/3)+1). */
static void b64_encode(const uint8_t *in, size_t len, char *out)
{
	size_t i, n = 0;
	uint32_t v;

	for (i = 0; i < len; i += 3) {
		v = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		out[n++] = b64chars[v >> 18 & 63];
		out[n++] = b64chars[v >> 12 & 63];
		out[n++] = i + 1 < len ? b64chars[v >> 6 & 63] : '=';
		out[n++] = i + 2 < len ? b64chars[v & 63] : '=';
	}
	out[n] = '\0';
}

char *cds_dnskey_format(const struct cds_dnskey *key, char *buf, size_t size)
{
	char b64[(CDS_KEY_MAX + 2) / 3 * 4 + 1];

	if (size == 0)
		return buf;
	b64_encode(key->key, key->key_len, b64);
	/* Truncates when buf is smaller than cds_dnskey_str_size(). */
	snprintf(buf, size, "%u %u %u %s", key->flags, key->protocol,
		 key->alg, key->key_len > 0 ? b64 : "0");
	return buf;
}

const char *cds_alg_name(uint8_t alg)
{
	/* IANA "DNS Security Algorithm Numbers" (RFC 9904 moved the
	   requirement levels there). */
	switch (alg) {
	case 1: return "RSAMD5";
	case 2: return "DH";
	case 3: return "DSA";
	case 5: return "RSASHA1";
	case 6: return "DSA-NSEC3-SHA1";
	case 7: return "RSASHA1-NSEC3-SHA1";
	case 8: return "RSASHA256";
	case 10: return "RSASHA512";
	case 12: return "ECC-GOST";
	case 13: return "ECDSAP256SHA256";
	case 14: return "ECDSAP384SHA384";
	case 15: return "ED25519";
	case 16: return "ED448";
	case 17: return "SM2SM3";
	case 23: return "ECC-GOST12";
	case 252: return "INDIRECT";
	case 253: return "PRIVATEDNS";
	case 254: return "PRIVATEOID";
	}
	return NULL;
}
