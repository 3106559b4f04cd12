/*
 * Unit tests for epp/: framing (RFC 5734 §4) over reads of any size,
 * every command document valid against the IETF schemas (the same check
 * the test registry makes), user data escaped, greetings and responses
 * parsed, and the secDNS diff of STANDARDS E8. Run from the top of the
 * tree (the schemas are read from tests/data/epp-xsd/).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/xmlschemas.h>

#include "core/dnssec.h"
#include "core/errors.h"
#include "epp/epp.h"

/* ---- framing over a scripted byte stream ------------------------------ */

struct stream {
	uint8_t buf[4096];
	size_t len, pos;
	size_t chunk;   /* largest read handed out */
	unsigned reads; /* how many reads it took */
};

static int st_read(void *ctx, uint8_t *p, size_t len, size_t *got)
{
	struct stream *s = ctx;
	size_t n = s->len - s->pos;

	if (n > len)
		n = len;
	if (n > s->chunk)
		n = s->chunk;
	memcpy(p, s->buf + s->pos, n);
	s->pos += n;
	*got = n;
	s->reads++;
	return CDS_OK;
}

static int st_write(void *ctx, const uint8_t *p, size_t len)
{
	struct stream *s = ctx;

	ck_assert_uint_le(s->len + len, sizeof s->buf);
	memcpy(s->buf + s->len, p, len);
	s->len += len;
	return CDS_OK;
}

START_TEST(frame_split_across_reads_is_reassembled)
{
	/* STANDARDS §10 T: a frame split across reads is reassembled */
	static const char doc[] = "<?xml version=\"1.0\"?><epp/>";
	static const size_t chunks[] = {1, 2, 3, 5, 4096};
	struct stream s = {0};
	char *out;
	size_t len;

	ck_assert_int_eq(epp_frame_write(st_write, &s, doc, strlen(doc)), 0);
	ck_assert_uint_eq(s.len, strlen(doc) + 4);
	/* the length counts its own four octets, big-endian */
	ck_assert_uint_eq(s.buf[3], strlen(doc) + 4);
	for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
		s.pos = 0;
		s.reads = 0;
		s.chunk = chunks[i];
		ck_assert_int_eq(epp_frame_read(st_read, &s, 0, &out, &len), 0);
		ck_assert_uint_eq(len, strlen(doc));
		ck_assert_str_eq(out, doc);
		if (chunks[i] == 1)
			ck_assert_uint_eq(s.reads, strlen(doc) + 4);
		free(out);
	}
}
END_TEST

START_TEST(frame_two_in_one_read_stay_apart)
{
	struct stream s = {.chunk = 4096};
	char *a, *b;
	size_t la, lb;

	epp_frame_write(st_write, &s, "<a/>", 4);
	epp_frame_write(st_write, &s, "<bb/>", 5);
	ck_assert_int_eq(epp_frame_read(st_read, &s, 0, &a, &la), 0);
	ck_assert_int_eq(epp_frame_read(st_read, &s, 0, &b, &lb), 0);
	ck_assert_str_eq(a, "<a/>");
	ck_assert_str_eq(b, "<bb/>");
	free(a);
	free(b);
}
END_TEST

START_TEST(frame_bounds_and_truncation)
{
	struct stream s = {.chunk = 7};
	char *out = NULL;
	size_t len;

	/* too long for the limit: refused before anything is allocated */
	epp_frame_write(st_write, &s, "<too-long/>", 11);
	ck_assert_int_eq(epp_frame_read(st_read, &s, 10, &out, &len),
			 CDS_EPROTO);
	ck_assert_ptr_null(out);
	/* a length below 5 cannot hold a document */
	memset(&s, 0, sizeof s);
	s.chunk = 100;
	memcpy(s.buf, "\0\0\0\4", 4);
	s.len = 4;
	ck_assert_int_eq(epp_frame_read(st_read, &s, 0, &out, &len),
			 CDS_EPROTO);
	/* the peer closes in the middle of a frame */
	memset(&s, 0, sizeof s);
	s.chunk = 3;
	epp_frame_write(st_write, &s, "<cut-short/>", 12);
	s.len -= 4;
	ck_assert_int_eq(epp_frame_read(st_read, &s, 0, &out, &len), CDS_ENET);
	ck_assert_ptr_null(out);
	/* a 4 GiB claim */
	memset(&s, 0, sizeof s);
	s.chunk = 100;
	memcpy(s.buf, "\xff\xff\xff\xff<x/>", 8);
	s.len = 8;
	ck_assert_int_eq(epp_frame_read(st_read, &s, 0, &out, &len),
			 CDS_EPROTO);
}
END_TEST

/* ---- documents against the schemas ------------------------------------ */

static xmlSchemaPtr schema;

static void schema_setup(void)
{
	xmlSchemaParserCtxtPtr pc =
		xmlSchemaNewParserCtxt("tests/data/epp-xsd/all-epp.xsd");

	ck_assert_ptr_nonnull(pc);
	schema = xmlSchemaParse(pc);
	xmlSchemaFreeParserCtxt(pc);
	ck_assert_ptr_nonnull(schema);
}

static void schema_teardown(void)
{
	xmlSchemaFree(schema);
}

static void assert_valid(const char *xml, size_t len)
{
	xmlDocPtr d = xmlReadMemory(xml, (int)len, "t.xml", NULL,
				    XML_PARSE_NONET);
	xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(schema);

	ck_assert_ptr_nonnull(d);
	ck_assert_msg(xmlSchemaValidateDoc(vc, d) == 0, "not valid: %s", xml);
	xmlSchemaFreeValidCtxt(vc);
	xmlFreeDoc(d);
}

static const char KSK[] = "257 3 13 GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7b"
			  "R6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==";
static const char ZSK[] = "256 3 13 7Q8nM6uEVyZ6sQ0ylkf58WF/HjhV3c46VY41GFA"
			  "2aYkzm/1fAFo5S/Ex3iDqkd8U8bJ5mtiWUq3C1iS+e7A9Zg==";

static void key_ds(const char *text, struct cds_dnskey *k, struct cds_ds *ds)
{
	ck_assert_int_eq(cds_dnskey_parse(text, k), 0);
	ck_assert_int_eq(cds_ds_from_dnskey("example.net.", k, 2, ds), 0);
}

START_TEST(documents_are_schema_valid)
{
	struct epp_greeting g = {.version = "1.0", .lang = "en", .domain = true,
				 .host = true, .secdns11 = true};
	struct epp_ds_update *u = calloc(1, sizeof *u);
	struct epp_ns_update *n = calloc(1, sizeof *n);
	struct epp_ns h = {.name = "ns1.example.net.", .n_addr = 2,
			   .addr = {"192.0.2.1", "2001:db8::1"}};
	char *x;
	size_t len;

	ck_assert_int_eq(epp_xml_hello(&x, &len), 0);
	assert_valid(x, len);
	free(x);
	ck_assert_int_eq(epp_xml_login(&g, "reg-1", "pass-word-1", "ABC-1", &x,
				       &len), 0);
	assert_valid(x, len);
	ck_assert_ptr_nonnull(strstr(x, EPP_NS_HOST));
	ck_assert_ptr_nonnull(strstr(x, EPP_NS_SECDNS));
	free(x);
	g.host = false;
	ck_assert_int_eq(epp_xml_login(&g, "reg-1", "pass-word-1", "ABC-1", &x,
				       &len), 0);
	assert_valid(x, len);
	ck_assert_ptr_null(strstr(x, EPP_NS_HOST));
	free(x);
	ck_assert_int_eq(epp_xml_logout("ABC-2", &x, &len), 0);
	assert_valid(x, len);
	free(x);
	ck_assert_int_eq(epp_xml_domain_info("example.net.", "ABC-3", &x,
					     &len), 0);
	assert_valid(x, len);
	ck_assert_ptr_nonnull(strstr(x, ">example.net<"));
	free(x);
	/* dsData rem + add, NS as host objects */
	key_ds(KSK, &u->add_key[0], &u->add_ds[0]);
	key_ds(ZSK, &u->rem_key[0], &u->rem_ds[0]);
	u->n_add = u->n_rem = 1;
	n->n_add = 1;
	n->add[0] = h;
	snprintf(n->rem[0].name, CDS_NAME_MAX, "ns2.example.org.");
	n->n_rem = 1;
	ck_assert_int_eq(epp_xml_domain_update("example.net.", u, n, "ABC-4",
					       &x, &len), 0);
	assert_valid(x, len);
	/* rem comes before add in secDNS (RFC 5910 §5.2.5) */
	ck_assert_ptr_nonnull(strstr(x, "secDNS:rem"));
	ck_assert(strstr(x, "secDNS:rem") < strstr(x, "secDNS:add"));
	free(x);
	/* keyData, hostAttr with both address families */
	u->key_data = true;
	n->host_attr = true;
	ck_assert_int_eq(epp_xml_domain_update("example.net.", u, n, "ABC-5",
					       &x, &len), 0);
	assert_valid(x, len);
	ck_assert_ptr_nonnull(strstr(x, "ip=\"v6\""));
	ck_assert_ptr_nonnull(strstr(x, "secDNS:pubKey"));
	free(x);
	/* rem all, DS only */
	memset(u, 0, sizeof *u);
	u->rem_all = true;
	ck_assert_int_eq(epp_xml_domain_update("example.net.", u, NULL,
					       "ABC-6", &x, &len), 0);
	assert_valid(x, len);
	ck_assert_ptr_nonnull(strstr(x, "<secDNS:all>true</secDNS:all>"));
	free(x);
	ck_assert_int_eq(epp_xml_host_check("ns1.example.net.", "ABC-7", &x,
					    &len), 0);
	assert_valid(x, len);
	free(x);
	ck_assert_int_eq(epp_xml_host_create(&h, "ABC-8", &x, &len), 0);
	assert_valid(x, len);
	free(x);
	ck_assert_int_eq(epp_xml_host_update("ns1.example.net.", &h, &h,
					     "ABC-9", &x, &len), 0);
	assert_valid(x, len);
	free(x);
	/* RFC 5732 §3.2.2: the name alone, without the trailing dot */
	ck_assert_int_eq(epp_xml_host_delete("ns1.example.net.", "ABC-12", &x,
					     &len), 0);
	assert_valid(x, len);
	ck_assert_ptr_nonnull(strstr(x, "<host:delete"));
	ck_assert_ptr_nonnull(strstr(x, "<host:name>ns1.example.net</host:name>"));
	free(x);
	ck_assert_int_eq(epp_xml_poll(NULL, "ABC-10", &x, &len), 0);
	assert_valid(x, len);
	free(x);
	ck_assert_int_eq(epp_xml_poll("12345", "ABC-11", &x, &len), 0);
	assert_valid(x, len);
	free(x);
	free(u);
	free(n);
}
END_TEST

START_TEST(user_data_is_escaped)
{
	struct epp_greeting g = {.version = "1.0", .lang = "en", .domain = true,
				 .secdns11 = true};
	static const char pw[] = "<pw>&\"x'</pw>";
	xmlDocPtr d;
	xmlChar *got;
	char *x;
	size_t len;

	ck_assert_int_eq(epp_xml_login(&g, "reg&1", pw, "ABC-1", &x, &len), 0);
	ck_assert_ptr_null(strstr(x, pw));
	d = xmlReadMemory(x, (int)len, "t.xml", NULL, XML_PARSE_NONET);
	ck_assert_ptr_nonnull(d);
	/* <epp><command><login><clID/><pw/>: the text reads back as given */
	xmlNodePtr login = xmlDocGetRootElement(d)->children->children;
	got = xmlNodeGetContent(login->children->next);
	ck_assert_str_eq((const char *)got, pw);
	xmlFree(got);
	xmlFreeDoc(d);
	free(x);
	/* a clTRID out of 3-64 characters is refused, not sent */
	ck_assert_int_eq(epp_xml_logout("ab", &x, &len), CDS_EINVAL);
	ck_assert_ptr_null(x);
}
END_TEST

/* ---- parsing ---------------------------------------------------------- */

#define GREETING(objs)                                                       \
	"<?xml version=\"1.0\"?><epp xmlns=\"" EPP_NS_EPP "\"><greeting>"   \
	"<svID>Example</svID><svDate>2026-01-01T00:00:00Z</svDate>"          \
	"<svcMenu><version>1.0</version><lang>fr</lang><lang>en</lang>"      \
	objs "<svcExtension><extURI>" EPP_NS_SECDNS "</extURI>"              \
	"</svcExtension></svcMenu><dcp><access><all/></access><statement>"   \
	"<purpose><prov/></purpose><recipient><ours/></recipient>"           \
	"<retention><stated/></retention></statement></dcp></greeting></epp>"

START_TEST(greeting_with_or_without_host_objects)
{
	static const char with[] = GREETING(
		"<objURI>" EPP_NS_DOMAIN "</objURI><objURI>" EPP_NS_HOST
		"</objURI>");
	static const char without[] = GREETING(
		"<objURI>" EPP_NS_DOMAIN "</objURI>");
	struct epp_greeting g;
	char err[200];

	ck_assert_int_eq(epp_xml_parse_greeting(with, strlen(with), &g, err,
						sizeof err), 0);
	ck_assert(g.domain && g.host && g.secdns11 && !g.secdns10);
	ck_assert_str_eq(g.version, "1.0");
	ck_assert_str_eq(g.lang, "en"); /* offered, though not first */
	ck_assert_int_eq(epp_xml_parse_greeting(without, strlen(without), &g,
						err, sizeof err), 0);
	ck_assert(g.domain && !g.host);
	ck_assert_int_eq(epp_xml_parse_greeting("<epp/>", 6, &g, err,
						sizeof err), CDS_EPROTO);
	ck_assert_int_eq(epp_xml_parse_greeting("<epp", 4, &g, err,
						sizeof err), CDS_EPROTO);
}
END_TEST

START_TEST(response_info_poll_and_refusal)
{
	static const char info[] =
		"<epp xmlns=\"" EPP_NS_EPP "\" xmlns:d=\"" EPP_NS_DOMAIN
		"\" xmlns:s=\"" EPP_NS_SECDNS "\"><response><result code=\"1000\">"
		"<msg>ok</msg></result><resData><d:infData><d:name>Example.NET"
		"</d:name><d:status s=\"clientUpdateProhibited\"/><d:ns>"
		"<d:hostAttr><d:hostName>ns1.example.net</d:hostName>"
		"<d:hostAddr ip=\"v4\">192.0.2.1</d:hostAddr></d:hostAttr>"
		"</d:ns></d:infData></resData><extension><s:infData><s:dsData>"
		"<s:keyTag>12345</s:keyTag><s:alg>13</s:alg><s:digestType>2"
		"</s:digestType><s:digest>0123456789ABCDEF0123456789ABCDEF"
		"0123456789ABCDEF0123456789ABCDEF</s:digest></s:dsData>"
		"</s:infData></extension><trID><clTRID>ABC-1</clTRID><svTRID>"
		"SV-1</svTRID></trID></response></epp>";
	static const char refused[] =
		"<epp xmlns=\"" EPP_NS_EPP "\"><response><result code=\"2304\">"
		"<msg>Object status prohibits operation</msg><extValue><value>"
		"<x/></value><reason>locked by the registrant</reason>"
		"</extValue></result><trID><svTRID>SV-2</svTRID></trID>"
		"</response></epp>";
	static const char pan[] =
		"<epp xmlns=\"" EPP_NS_EPP "\"><response><result code=\"1301\">"
		"<msg>ack</msg></result><msgQ count=\"2\" id=\"77\"><qDate>"
		"2026-01-01T00:00:00Z</qDate><msg>done</msg></msgQ><resData>"
		"<domain:panData xmlns:domain=\"" EPP_NS_DOMAIN "\">"
		"<domain:name paResult=\"1\">example.net</domain:name>"
		"<domain:paTRID><clTRID>cdscan-1</clTRID><svTRID>SV-3</svTRID>"
		"</domain:paTRID><domain:paDate>2026-01-01T00:00:00Z"
		"</domain:paDate></domain:panData></resData><trID><svTRID>SV-4"
		"</svTRID></trID></response></epp>";
	struct epp_response *r = calloc(1, sizeof *r);
	char err[200];

	ck_assert_int_eq(epp_xml_parse_response(info, strlen(info), r, err,
						sizeof err), 0);
	ck_assert_int_eq(r->code, 1000);
	ck_assert(r->has_info && !r->info.key_data);
	ck_assert_str_eq(r->info.name, "example.net.");
	ck_assert_uint_eq(r->info.n_ds, 1);
	ck_assert_uint_eq(r->info.ds[0].keytag, 12345);
	ck_assert_uint_eq(r->info.ds[0].digest_len, 32);
	ck_assert_uint_eq(r->info.n_ns, 1);
	ck_assert_str_eq(r->info.ns[0].name, "ns1.example.net.");
	ck_assert_str_eq(r->info.ns[0].addr[0], "192.0.2.1");
	ck_assert_str_eq(r->info.status[0], "clientUpdateProhibited");
	ck_assert_str_eq(r->cl_trid, "ABC-1");
	ck_assert_int_eq(epp_xml_parse_response(refused, strlen(refused), r,
						err, sizeof err), 0);
	ck_assert_int_eq(r->code, 2304);
	ck_assert_str_eq(r->msg, "Object status prohibits operation: locked "
				 "by the registrant");
	ck_assert_int_eq(epp_xml_parse_response(pan, strlen(pan), r, err,
						sizeof err), 0);
	ck_assert(r->has_pan && r->pan.result);
	ck_assert_int_eq(r->msgq_count, 2);
	ck_assert_str_eq(r->msgq_id, "77");
	ck_assert_str_eq(r->pan.name, "example.net.");
	ck_assert_str_eq(r->pan.cl_trid, "cdscan-1");
	/* a greeting is not a response; nor is garbage */
	static const char greeting[] =
		"<epp xmlns=\"" EPP_NS_EPP "\"><greeting/></epp>";
	ck_assert_int_eq(epp_xml_parse_response(greeting, sizeof greeting - 1,
						r, err, sizeof err),
			 CDS_EPROTO);
	ck_assert_int_eq(epp_xml_parse_response("\x01\x02", 2, r, err,
						sizeof err), CDS_EPROTO);
	free(r);
}
END_TEST

/* ---- the diff (E8) ----------------------------------------------------- */

/* Bytes that do not match the declared encoding are refused, and
   nothing the registry sent reaches stderr (libxml2 reports such faults
   through its generic error function whatever the parse options say). */
START_TEST(bad_encoding_refused_quietly)
{
	static const char bad[] = "<?xml version=\"1.0\" encoding=\"SHIFT_JIS\"?>"
				  "<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\">"
				  "<greeting><svID>\xff\xfe\x80\x1b</svID></greeting>"
				  "</epp>";
	struct epp_greeting g;
	char err[200], path[] = "/tmp/test_epp_stderr.XXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	struct stat st;

	ck_assert(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, 2);
	ck_assert_int_eq(epp_xml_parse_greeting(bad, sizeof bad - 1, &g, err,
						sizeof err), CDS_EPROTO);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	ck_assert_int_eq(fstat(fd, &st), 0);
	close(fd);
	unlink(path);
	ck_assert_int_eq(st.st_size, 0);
}
END_TEST

START_TEST(diff_rollover_delete_and_nothing)
{
	struct epp_domain *cur = calloc(1, sizeof *cur);
	struct epp_ds_update *u = calloc(1, sizeof *u);
	struct cds_dnskey ksk, zsk;
	struct cds_ds dk, dz;
	bool nothing;

	key_ds(KSK, &ksk, &dk);
	key_ds(ZSK, &zsk, &dz);
	snprintf(cur->name, sizeof cur->name, "example.net.");
	/* STANDARDS §10 T: key rollover → one rem plus add */
	cur->n_ds = 1;
	cur->ds[0] = dz;
	ck_assert_int_eq(epp_ds_diff(cur, &dk, 1, NULL, 0, u, &nothing), 0);
	ck_assert(!nothing && !u->rem_all && !u->key_data);
	ck_assert_uint_eq(u->n_rem, 1);
	ck_assert_uint_eq(u->n_add, 1);
	ck_assert(cds_ds_equal(&u->rem_ds[0], &dz));
	ck_assert(cds_ds_equal(&u->add_ds[0], &dk));
	/* already there: nothing to send (the crash-recovery case) */
	cur->ds[0] = dk;
	ck_assert_int_eq(epp_ds_diff(cur, &dk, 1, NULL, 0, u, &nothing), 0);
	ck_assert(nothing);
	ck_assert(epp_domain_ds_equal(cur, &dk, 1));
	ck_assert(!epp_domain_ds_equal(cur, &dz, 1));
	/* E8: delete → rem all */
	ck_assert_int_eq(epp_ds_diff(cur, NULL, 0, NULL, 0, u, &nothing), 0);
	ck_assert(!nothing && u->rem_all);
	/* keyData registry: keys, found behind the DS */
	cur->n_ds = 0;
	cur->key_data = true;
	cur->n_keys = 1;
	cur->keys[0] = zsk;
	struct cds_dnskey keys[2] = {zsk, ksk};

	ck_assert_int_eq(epp_ds_diff(cur, &dk, 1, keys, 2, u, &nothing), 0);
	ck_assert(u->key_data && !nothing);
	ck_assert_uint_eq(u->n_rem, 1);
	ck_assert_uint_eq(u->n_add, 1);
	ck_assert(cds_dnskey_equal(&u->add_key[0], &ksk));
	ck_assert(epp_domain_ds_equal(cur, &dz, 1));
	/* a DS without its key cannot be sent as keyData */
	ck_assert_int_eq(epp_ds_diff(cur, &dk, 1, &zsk, 1, u, &nothing),
			 CDS_ENOTFOUND);
	free(cur);
	free(u);
}
END_TEST

static Suite *epp_suite(void)
{
	Suite *s = suite_create("epp");
	TCase *tc;

	tc = tcase_create("framing");
	tcase_add_test(tc, frame_split_across_reads_is_reassembled);
	tcase_add_test(tc, bad_encoding_refused_quietly);
	tcase_add_test(tc, frame_two_in_one_read_stay_apart);
	tcase_add_test(tc, frame_bounds_and_truncation);
	suite_add_tcase(s, tc);

	tc = tcase_create("xml");
	tcase_add_checked_fixture(tc, schema_setup, schema_teardown);
	tcase_add_test(tc, documents_are_schema_valid);
	tcase_add_test(tc, user_data_is_escaped);
	tcase_add_test(tc, greeting_with_or_without_host_objects);
	tcase_add_test(tc, response_info_poll_and_refusal);
	suite_add_tcase(s, tc);

	tc = tcase_create("diff");
	tcase_add_test(tc, diff_rollover_delete_and_nothing);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(epp_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
