/*
 * Unit tests for core/dnssec.c: key tags and DS digests against the
 * published RFC examples (RFC 4034 §5.4, RFC 4509 §2.3, RFC 6605 §6.1 and
 * §6.2), each also checked with `ldns-key2ds -f -n -1|-2|-4` when the
 * vectors were written; the delete record in both spellings (RFC 8078 §4,
 * Errata 5049); presentation and wire parsing; ordering and set equality;
 * name helpers. STANDARDS.md §1 W1, W2, W5.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/dnssec.h"
#include "core/errors.h"

/* RFC 4034 §5.4 / RFC 4509 §2.3: dskey.example.com., key tag 60485. */
#define RFC4034_KEY                                                        \
	"256 3 5 AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822a" \
	"J5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLU" \
	"Uh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw=="
/* RFC 6605 §6.1: example.net., ECDSA P-256, key tag 55648. */
#define RFC6605_P256                                                        \
	"257 3 13 GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edb"             \
	"krSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA=="
/* RFC 6605 §6.2: example.net., ECDSA P-384, key tag 10771. */
#define RFC6605_P384                                                        \
	"257 3 14 xKYaNhWdGOfJ+nPrL8/arkwf2EY3MDJ+SErKivBVSum1w/eg"         \
	"sXvSADtNJhyem5RCOpgQ6K8X1DRSEkrbYQ+OB+v8/uX45NBwY8rp65F6"          \
	"Glur8I/mlVNgF6W/qTI37m40"
/* Made once with ldns-keygen -a 13 -k child.example (public part only),
   served as a CDNSKEY in the policy tests. */
#define CHILD_KSK                                                           \
	"257 3 13 LdK+06aZQMYnFD68wj61VRIpVfwSS3ZYSH4qrIhmaJ+7JDHorbNlxs9P" \
	"cDZQiGrRfgJb/U524YEUt0ip1o4iCA=="

struct kat {
	const char *what;
	const char *owner;
	const char *dnskey;
	uint8_t digest_type;
	const char *ds; /* expected, lower-case hex as cds_ds_format writes */
};

/* STANDARDS W5 T: known-answer DS vectors computed from CDNSKEY,
   including an upper-case owner name. */
static const struct kat kats[] = {
	{.what = "RFC 4034 §5.4 SHA-1",
	 .owner = "dskey.example.com.",
	 .dnskey = RFC4034_KEY,
	 .digest_type = 1,
	 .ds = "60485 5 1 2bb183af5f22588179a53b0a98631fad1a292118"},
	{.what = "RFC 4509 §2.3 SHA-256",
	 .owner = "dskey.example.com.",
	 .dnskey = RFC4034_KEY,
	 .digest_type = 2,
	 .ds = "60485 5 2 d4b7d520e7bb5f0f67674a0cceb1e3e0614b93c4f9e99b8383"
	       "f6a1e4469da50a"},
	{.what = "upper-case owner, SHA-256 (canonical form lower-cases)",
	 .owner = "DSKEY.Example.COM.",
	 .dnskey = RFC4034_KEY,
	 .digest_type = 2,
	 .ds = "60485 5 2 d4b7d520e7bb5f0f67674a0cceb1e3e0614b93c4f9e99b8383"
	       "f6a1e4469da50a"},
	{.what = "upper-case owner without trailing dot, SHA-1",
	 .owner = "DSKEY.EXAMPLE.COM",
	 .dnskey = RFC4034_KEY,
	 .digest_type = 1,
	 .ds = "60485 5 1 2bb183af5f22588179a53b0a98631fad1a292118"},
	{.what = "RFC 4034 key, SHA-384 (ldns-key2ds -4)",
	 .owner = "dskey.example.com.",
	 .dnskey = RFC4034_KEY,
	 .digest_type = 4,
	 .ds = "60485 5 4 ab64dbebe13c0b6bae558b78ccab93b836f8ada4cbed2d4484"
	       "a8715a819de7b9e846315e70ea5d884b377394bdaf16a3"},
	{.what = "RFC 6605 §6.1 P-256 SHA-256",
	 .owner = "example.net.",
	 .dnskey = RFC6605_P256,
	 .digest_type = 2,
	 .ds = "55648 13 2 b4c8c1fe2e7477127b27115656ad6256f424625bf5c1e277"
	       "0ce6d6e37df61d17"},
	{.what = "RFC 6605 §6.2 P-384 SHA-384",
	 .owner = "example.net.",
	 .dnskey = RFC6605_P384,
	 .digest_type = 4,
	 .ds = "10771 14 4 72d7b62976ce06438e9c0bf319013cf801f09ecc84b8d7e9"
	       "495f27e305c6a9b0563a9b5f4d288405c3008a946df983d6"},
	{.what = "CDNSKEY of child.example., SHA-256 (ldns-key2ds -2)",
	 .owner = "Child.Example",
	 .dnskey = CHILD_KSK,
	 .digest_type = 2,
	 .ds = "26056 13 2 b3f8bcf32801302ea608579a4620c9496e627aadce7c2de8"
	       "3ea223288cfec4a1"},
};

START_TEST(test_ds_known_answers)
{
	const struct kat *k = &kats[_i];
	struct cds_dnskey key;
	struct cds_ds ds, want;
	char buf[CDS_DS_STR_MAX];

	ck_assert_int_eq(cds_dnskey_parse(k->dnskey, &key), CDS_OK);
	ck_assert_int_eq(cds_ds_parse(k->ds, &want), CDS_OK);
	ck_assert_int_eq(cds_ds_from_dnskey(k->owner, &key, k->digest_type, &ds),
			 CDS_OK);
	ck_assert_msg(cds_ds_equal(&ds, &want), "%s: got %s", k->what,
		      cds_ds_format(&ds, buf, sizeof buf));
	ck_assert_str_eq(cds_ds_format(&ds, buf, sizeof buf), k->ds);
	ck_assert_uint_eq(cds_keytag(&key), want.keytag);
	ck_assert(cds_ds_matches_dnskey(k->owner, &want, &key));
	/* Another owner name gives another digest. */
	ck_assert(!cds_ds_matches_dnskey("other.example.", &want, &key));
}
END_TEST

START_TEST(test_ds_match_refuses_wrong_digest_or_type)
{
	struct cds_dnskey key;
	struct cds_ds ds;

	ck_assert_int_eq(cds_dnskey_parse(RFC6605_P256, &key), CDS_OK);
	ck_assert_int_eq(cds_ds_from_dnskey("example.net", &key, 2, &ds),
			 CDS_OK);
	ds.digest[31] ^= 1;
	ck_assert(!cds_ds_matches_dnskey("example.net", &ds, &key));
	ds.digest[31] ^= 1;
	ds.digest_len = 31; /* truncated digest */
	ck_assert(!cds_ds_matches_dnskey("example.net", &ds, &key));
	ds.digest_len = 32;
	ds.digest_type = 3; /* GOST: not computed, never matches */
	ck_assert(!cds_ds_matches_dnskey("example.net", &ds, &key));
	ds.digest_type = 2;
	ds.keytag++;
	ck_assert(!cds_ds_matches_dnskey("example.net", &ds, &key));
}
END_TEST

/* Key tags: RFC examples, a CDNSKEY-shaped key (flags 257), the delete
   CDNSKEY, and algorithm 1's special rule (RFC 4034 Appendix B.1). */
START_TEST(test_keytags)
{
	static const struct {
		const char *key;
		uint16_t tag;
	} t[] = {
		{RFC4034_KEY, 60485},
		{RFC6605_P256, 55648},
		{RFC6605_P384, 10771},
		{CHILD_KSK, 26056},
		/* 0x0003 + 0x0000 (header 00 00 03 00, key 00) */
		{"0 3 0 AA==", 0x0300},
		/* alg 1: tag is octets n-3 and n-2 of the key: 0x1234 */
		{"256 3 1 AAAAEjRW", 0x1234},
	};
	struct cds_dnskey key;
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		ck_assert_int_eq(cds_dnskey_parse(t[i].key, &key), CDS_OK);
		ck_assert_msg(cds_keytag(&key) == t[i].tag, "%s: %u != %u",
			      t[i].key, cds_keytag(&key), t[i].tag);
	}
}
END_TEST

/* STANDARDS W5 T: protocol != 3 or Zone Key bit clear → reject; also
   digest types we do not compute. */
START_TEST(test_ds_from_dnskey_refuses)
{
	static const struct {
		const char *key;
		uint8_t digest_type;
	} t[] = {
		{"1 3 13 " "GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edb"
		 "krSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==", 2},
		{"257 2 13 " "GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edb"
		 "krSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==", 2},
		{RFC6605_P256, 0},
		{RFC6605_P256, 3},
		{RFC6605_P256, 5},
		{"0 3 0 AA==", 2}, /* the delete CDNSKEY has no zone bit */
	};
	struct cds_dnskey key;
	struct cds_ds ds;
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		ck_assert_int_eq(cds_dnskey_parse(t[i].key, &key), CDS_OK);
		ck_assert_msg(cds_ds_from_dnskey("example.net.", &key,
						 t[i].digest_type,
						 &ds) == CDS_EINVAL,
			      "case %zu accepted", i);
	}
	ck_assert_int_eq(cds_dnskey_parse(RFC6605_P256, &key), CDS_OK);
	ck_assert_int_eq(cds_ds_from_dnskey("a..b", &key, 2, &ds), CDS_EINVAL);
}
END_TEST

/* STANDARDS W2 and §14: both spellings of both delete records. */
START_TEST(test_delete_records)
{
	static const struct {
		const char *text;
		bool is_delete;
	} ds[] = {
		{"0 0 0 00", true},  {"0 0 0 0", true},
		{"0 0 0 01", false}, {"1 0 0 00", false},
		{"0 1 0 00", false}, {"0 0 1 00", false},
		{"0 0 0 0000", false},
	}, key[] = {
		{"0 3 0 AA==", true},  {"0 3 0 0", true},
		{"0 3 0 AQ==", false}, {"1 3 0 AA==", false},
		{"0 2 0 AA==", false}, {"0 3 13 AA==", false},
		{"0 3 0 AAA=", false},
	};
	struct cds_ds d;
	struct cds_dnskey k;
	size_t i;

	for (i = 0; i < sizeof ds / sizeof ds[0]; i++) {
		ck_assert_int_eq(cds_ds_parse(ds[i].text, &d), CDS_OK);
		ck_assert_msg(cds_ds_is_delete(&d) == ds[i].is_delete, "%s",
			      ds[i].text);
	}
	for (i = 0; i < sizeof key / sizeof key[0]; i++) {
		ck_assert_int_eq(cds_dnskey_parse(key[i].text, &k), CDS_OK);
		ck_assert_msg(cds_dnskey_is_delete(&k) == key[i].is_delete,
			      "%s", key[i].text);
	}
}
END_TEST

START_TEST(test_delete_from_rdata)
{
	static const uint8_t cds5[] = {0, 0, 0, 0, 0};
	static const uint8_t cds4[] = {0, 0, 0, 0};
	static const uint8_t cdnskey5[] = {0, 0, 3, 0, 0};
	static const uint8_t cdnskey4[] = {0, 0, 3, 0};
	struct cds_ds d;
	struct cds_dnskey k;

	ck_assert_int_eq(cds_ds_from_rdata(cds5, sizeof cds5, &d), CDS_OK);
	ck_assert(cds_ds_is_delete(&d));
	ck_assert_int_eq(cds_ds_from_rdata(cds4, sizeof cds4, &d), CDS_OK);
	ck_assert(cds_ds_is_delete(&d));
	ck_assert_int_eq(cds_dnskey_from_rdata(cdnskey5, 5, &k), CDS_OK);
	ck_assert(cds_dnskey_is_delete(&k));
	ck_assert_int_eq(cds_dnskey_from_rdata(cdnskey4, 4, &k), CDS_OK);
	ck_assert(cds_dnskey_is_delete(&k));
}
END_TEST

START_TEST(test_rdata_parse)
{
	uint8_t buf[4 + CDS_KEY_MAX + 1];
	struct cds_ds d;
	struct cds_dnskey k;

	memset(buf, 0xab, sizeof buf);
	buf[0] = 0xec;
	buf[1] = 0x45;
	buf[2] = 5;
	buf[3] = 1;
	ck_assert_int_eq(cds_ds_from_rdata(buf, 3, &d), CDS_EMALFORMED);
	ck_assert_int_eq(cds_ds_from_rdata(buf, 4 + 20, &d), CDS_OK);
	ck_assert_uint_eq(d.keytag, 60485);
	ck_assert_uint_eq(d.alg, 5);
	ck_assert_uint_eq(d.digest_type, 1);
	ck_assert_uint_eq(d.digest_len, 20);
	ck_assert_uint_eq(d.digest[19], 0xab);
	ck_assert_int_eq(cds_ds_from_rdata(buf, 4 + CDS_DIGEST_MAX, &d),
			 CDS_OK);
	ck_assert_int_eq(cds_ds_from_rdata(buf, 4 + CDS_DIGEST_MAX + 1, &d),
			 CDS_ELIMIT);
	ck_assert_int_eq(cds_dnskey_from_rdata(buf, 0, &k), CDS_EMALFORMED);
	ck_assert_int_eq(cds_dnskey_from_rdata(buf, 4 + CDS_KEY_MAX, &k),
			 CDS_OK);
	ck_assert_uint_eq(k.flags, 0xec45);
	ck_assert_uint_eq(k.key_len, CDS_KEY_MAX);
	ck_assert_int_eq(cds_dnskey_from_rdata(buf, 4 + CDS_KEY_MAX + 1, &k),
			 CDS_ELIMIT);
}
END_TEST

/* Parse then format gives the canonical text; format then parse gives
   the same struct back. */
START_TEST(test_presentation_round_trips)
{
	static const struct {
		const char *in, *out;
	} ds[] = {
		{"60485 5 1 2BB183AF5F22588179A53B0A 98631FAD1A292118",
		 "60485 5 1 2bb183af5f22588179a53b0a98631fad1a292118"},
		{"  1 2 3   0a ", "1 2 3 0a"},
		{"0 0 0 0", "0 0 0 0"},
		{"0 0 0 00", "0 0 0 00"},
	}, key[] = {
		{"257 3 13 GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edb "
		 "krSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==",
		 RFC6605_P256},
		{"0 3 0 0", "0 3 0 0"},
		{"0 3 0 AA==", "0 3 0 AA=="},
		{"256 3 8 AQID", "256 3 8 AQID"},
		{"256 3 8 AQ I=", "256 3 8 AQI="},
	};
	struct cds_ds d, d2;
	struct cds_dnskey k, k2;
	char buf[CDS_DS_STR_MAX], *kbuf;
	size_t i;

	for (i = 0; i < sizeof ds / sizeof ds[0]; i++) {
		ck_assert_int_eq(cds_ds_parse(ds[i].in, &d), CDS_OK);
		ck_assert_str_eq(cds_ds_format(&d, buf, sizeof buf), ds[i].out);
		ck_assert_int_eq(cds_ds_parse(buf, &d2), CDS_OK);
		ck_assert(cds_ds_equal(&d, &d2));
	}
	for (i = 0; i < sizeof key / sizeof key[0]; i++) {
		ck_assert_int_eq(cds_dnskey_parse(key[i].in, &k), CDS_OK);
		kbuf = malloc(cds_dnskey_str_size(&k));
		ck_assert_ptr_nonnull(kbuf);
		cds_dnskey_format(&k, kbuf, cds_dnskey_str_size(&k));
		ck_assert_str_eq(kbuf, key[i].out);
		ck_assert_int_eq(cds_dnskey_parse(kbuf, &k2), CDS_OK);
		ck_assert(cds_dnskey_equal(&k, &k2));
		free(kbuf);
	}
}
END_TEST

START_TEST(test_format_full_size_and_short_buffer)
{
	struct cds_ds d = {.keytag = 65535, .alg = 255, .digest_type = 255,
			   .digest_len = CDS_DIGEST_MAX};
	struct cds_dnskey k = {.flags = 65535, .protocol = 255, .alg = 255,
			       .key_len = CDS_KEY_MAX};
	char buf[CDS_DS_STR_MAX], small[8];
	char *kbuf;

	memset(d.digest, 0xff, sizeof d.digest);
	cds_ds_format(&d, buf, sizeof buf);
	ck_assert_uint_eq(strlen(buf), 14 + 2 * CDS_DIGEST_MAX);
	cds_ds_format(&d, small, sizeof small);
	ck_assert_str_eq(small, "65535 2");
	kbuf = malloc(cds_dnskey_str_size(&k));
	ck_assert_ptr_nonnull(kbuf);
	cds_dnskey_format(&k, kbuf, cds_dnskey_str_size(&k));
	ck_assert_uint_eq(strlen(kbuf) + 1, cds_dnskey_str_size(&k));
	free(kbuf);
}
END_TEST

START_TEST(test_presentation_refuses_bad_text)
{
	static const char *const ds[] = {
		"", "1 2", "1 2 3", "70000 1 1 aa", "1 256 1 aa", "1 1 1 abc",
		"1 1 1 zz", "-1 1 1 aa", "1x 1 1 aa", "1 1 1 0x",
		/* 65 octets: more than CDS_DIGEST_MAX */
		"1 1 1 000000000000000000000000000000000000000000000000000000"
		"000000000000000000000000000000000000000000000000000000000000"
		"00000000000000000000",
	};
	static const char *const key[] = {
		"", "256 3", "256 3 8", "256 3 8 A", "256 3 8 AAA",
		"256 3 8 AA=A", "256 3 8 ====", "256 3 8 AAAA=", "256 3 8 AA*A",
		"256 4294967296 8 AA==",
	};
	struct cds_ds d;
	struct cds_dnskey k;
	size_t i;

	for (i = 0; i < sizeof ds / sizeof ds[0]; i++)
		ck_assert_msg(cds_ds_parse(ds[i], &d) == CDS_EINVAL, "'%s'",
			      ds[i]);
	for (i = 0; i < sizeof key / sizeof key[0]; i++)
		ck_assert_msg(cds_dnskey_parse(key[i], &k) == CDS_EINVAL, "'%s'",
			      key[i]);
}
END_TEST

START_TEST(test_set_equality_ignores_order_and_duplicates)
{
	struct cds_ds a[3], b[4], c[2];
	struct cds_dnskey ka[2], kb[3];

	ck_assert_int_eq(cds_ds_parse("1 13 2 aa", &a[0]), CDS_OK);
	ck_assert_int_eq(cds_ds_parse("2 13 2 bb", &a[1]), CDS_OK);
	ck_assert_int_eq(cds_ds_parse("3 8 2 cc", &a[2]), CDS_OK);
	b[0] = a[2];
	b[1] = a[0];
	b[2] = a[1];
	b[3] = a[0];
	ck_assert(cds_ds_set_equal(a, 3, b, 4));
	ck_assert(cds_ds_set_equal(b, 4, a, 3));
	c[0] = a[0];
	c[1] = a[1];
	ck_assert(!cds_ds_set_equal(a, 3, c, 2));
	ck_assert(!cds_ds_set_equal(c, 2, a, 3));
	ck_assert(cds_ds_set_equal(NULL, 0, NULL, 0));
	ck_assert(!cds_ds_set_equal(a, 1, NULL, 0));
	/* Same key, other digest length: different records. */
	ck_assert_int_eq(cds_ds_parse("1 13 2 aa00", &c[0]), CDS_OK);
	ck_assert(!cds_ds_set_equal(a, 1, c, 1));

	ck_assert_int_eq(cds_dnskey_parse(RFC6605_P256, &ka[0]), CDS_OK);
	ck_assert_int_eq(cds_dnskey_parse(RFC6605_P384, &ka[1]), CDS_OK);
	kb[0] = ka[1];
	kb[1] = ka[0];
	kb[2] = ka[1];
	ck_assert(cds_dnskey_set_equal(ka, 2, kb, 3));
	kb[1].flags = 256;
	ck_assert(!cds_dnskey_set_equal(ka, 2, kb, 3));
}
END_TEST

START_TEST(test_canonical_order)
{
	static const char *const sorted[] = {
		"0 0 0 0", "0 0 0 00", "1 13 2 00", "1 13 2 0000", "1 13 2 01",
		"1 13 4 00", "1 14 1 00", "256 1 1 00",
	};
	enum { N = sizeof sorted / sizeof sorted[0] };
	struct cds_ds d[N], want[N];
	size_t i;

	for (i = 0; i < N; i++) {
		ck_assert_int_eq(cds_ds_parse(sorted[i], &want[i]), CDS_OK);
		d[N - 1 - i] = want[i];
	}
	qsort(d, N, sizeof d[0], cds_ds_cmp);
	for (i = 0; i < N; i++)
		ck_assert_msg(cds_ds_equal(&d[i], &want[i]), "at %zu", i);
}
END_TEST

START_TEST(test_name_to_wire)
{
	static const struct {
		const char *name;
		size_t len;
		const char *wire;
	} t[] = {
		{".", 1, ""},
		{"Example.COM", 13, "\007example\003com"},
		{"example.com.", 13, "\007example\003com"},
		{"a\\.b.c", 7, "\003a.b\001c"},
		{"\\065B.c", 6, "\002ab\001c"},
	};
	static const char *const bad[] = {
		"", "a..b", ".a", "a\\", "a\\256.b",
		/* 64-octet label */
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	uint8_t wire[CDS_WIRE_NAME_MAX];
	char longname[300];
	size_t len, i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		ck_assert_int_eq(cds_name_to_wire(t[i].name, wire, &len), CDS_OK);
		ck_assert_uint_eq(len, t[i].len);
		ck_assert(memcmp(wire, t[i].wire, len) == 0);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(cds_name_to_wire(bad[i], wire, &len) == CDS_EINVAL,
			      "'%s'", bad[i]);
	/* 127 labels "a." = 254 octets on the wire with the root: legal;
	   one octet more is not. */
	for (i = 0; i < 127; i++)
		memcpy(longname + 2 * i, "a.", 2);
	longname[254] = '\0';
	ck_assert_int_eq(cds_name_to_wire(longname, wire, &len), CDS_OK);
	ck_assert_uint_eq(len, 255);
	memcpy(longname + 254, "bb.", 4);
	ck_assert_int_eq(cds_name_to_wire(longname, wire, &len), CDS_EINVAL);
}
END_TEST

START_TEST(test_name_normalize_and_subdomain)
{
	char out[CDS_NAME_MAX];

	ck_assert_int_eq(cds_name_normalize("Example.COM", out), CDS_OK);
	ck_assert_str_eq(out, "example.com.");
	ck_assert_int_eq(cds_name_normalize(".", out), CDS_OK);
	ck_assert_str_eq(out, ".");
	ck_assert_int_eq(cds_name_normalize("A\\.b.C.", out), CDS_OK);
	ck_assert_str_eq(out, "a\\.b.c.");
	ck_assert_int_eq(cds_name_normalize("x\\032y.", out), CDS_OK);
	ck_assert_str_eq(out, "x\\032y.");
	ck_assert_int_eq(cds_name_normalize("a..", out), CDS_EINVAL);

	ck_assert(cds_name_is_subdomain("ns1.Example.com", "example.COM."));
	ck_assert(cds_name_is_subdomain("example.com.", "example.com"));
	ck_assert(cds_name_is_subdomain("example.com.", "."));
	ck_assert(!cds_name_is_subdomain("xexample.com", "example.com"));
	ck_assert(!cds_name_is_subdomain("example.com", "ns1.example.com"));
	ck_assert(!cds_name_is_subdomain("a\\.example.com", "example.com.x"));
	ck_assert(!cds_name_is_subdomain("a..b", "b"));
}
END_TEST

START_TEST(test_digest_len_and_alg_names)
{
	ck_assert_uint_eq(cds_digest_len(0), 0);
	ck_assert_uint_eq(cds_digest_len(1), 20);
	ck_assert_uint_eq(cds_digest_len(2), 32);
	ck_assert_uint_eq(cds_digest_len(4), 48);
	ck_assert_uint_eq(cds_digest_len(7), 0);
	ck_assert_str_eq(cds_alg_name(13), "ECDSAP256SHA256");
	ck_assert_str_eq(cds_alg_name(8), "RSASHA256");
	ck_assert_str_eq(cds_alg_name(15), "ED25519");
	ck_assert_ptr_null(cds_alg_name(99));
}
END_TEST

static Suite *dnssec_suite(void)
{
	Suite *s = suite_create("dnssec");
	TCase *tc;

	tc = tcase_create("digests");
	tcase_add_loop_test(tc, test_ds_known_answers, 0,
			    sizeof kats / sizeof kats[0]);
	tcase_add_test(tc, test_ds_match_refuses_wrong_digest_or_type);
	tcase_add_test(tc, test_keytags);
	tcase_add_test(tc, test_ds_from_dnskey_refuses);
	tcase_add_test(tc, test_digest_len_and_alg_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("delete");
	tcase_add_test(tc, test_delete_records);
	tcase_add_test(tc, test_delete_from_rdata);
	suite_add_tcase(s, tc);

	tc = tcase_create("conversions");
	tcase_add_test(tc, test_rdata_parse);
	tcase_add_test(tc, test_presentation_round_trips);
	tcase_add_test(tc, test_format_full_size_and_short_buffer);
	tcase_add_test(tc, test_presentation_refuses_bad_text);
	suite_add_tcase(s, tc);

	tc = tcase_create("sets");
	tcase_add_test(tc, test_set_equality_ignores_order_and_duplicates);
	tcase_add_test(tc, test_canonical_order);
	suite_add_tcase(s, tc);

	tc = tcase_create("names");
	tcase_add_test(tc, test_name_to_wire);
	tcase_add_test(tc, test_name_normalize_and_subdomain);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(dnssec_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
