/*
 * Unit tests for CSYNC (STANDARDS §6, RFC 7477, RFC 9975 §3.2): the pure
 * policy (policy/csync.c), table-driven over hand-built observations,
 * one test per §6 T line (named after it), plus RFC 1982 wrap-around,
 * several CSYNC records, out-of-bailiwick glue, the result and the
 * sanity check of the new delegation; the CSYNC rdata parser (W3) and
 * the checks of RRsets below the apex and of NSEC/NSEC3 denials
 * (scanner/validate.c), with keys made by ldns at test time.
 *
 * The scene: child example.test. delegated to ns1.example.test. (glue
 * 192.0.2.1 and 2001:db8::1) and ns.example.net. (outside, no glue),
 * three server addresses. By default every server serves a signed
 * CSYNC 100 with immediate + soaminimum naming A NS AAAA, SOA 100 before
 * and after, NS {ns1.example.test., ns2.example.test.} and addresses
 * for both in-bailiwick names; each test changes what its T line needs.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "policy/policy.h"
#include "scanner/validate.h"

#define CHILD "example.test."

struct scene {
	struct cds_ns cur[2];
	size_t n_cur;
	struct cds_delegation deleg;
	struct cds_ds ds;
	struct policy_config cfg;
	struct cds_server_obs obs[3];
	char ns[3][CDS_CSYNC_NS_MAX][CDS_NAME_MAX];
	struct cds_csync_host hosts[3][4];
	size_t n_obs;
	struct cds_csync_decision dec;
};

static struct scene *sc;

static const struct cds_rrset_obs signed_rr = {
	.state = CDS_RR_PRESENT, .sig = CDS_SIG_VALID_OTHER, .count = 1};
static const struct cds_rrset_obs proven_nodata = {
	.state = CDS_RR_NODATA, .sig = CDS_SIG_VALID_OTHER};

static void host(struct cds_csync_host *h, const char *name, const char *a,
		 const char *aaaa)
{
	memset(h, 0, sizeof *h);
	snprintf(h->name, sizeof h->name, "%s", name);
	h->a_rr = a ? signed_rr : proven_nodata;
	h->aaaa_rr = aaaa ? signed_rr : proven_nodata;
	if (a)
		snprintf(h->a[h->n_a++], CDS_ADDR_STR_MAX, "%s", a);
	if (aaaa)
		snprintf(h->aaaa[h->n_aaaa++], CDS_ADDR_STR_MAX, "%s", aaaa);
}

static void server(size_t i, const char *name, const char *addr)
{
	struct cds_server_obs *o = &sc->obs[i];
	struct cds_csync_obs *c = &o->csync;

	memset(o, 0, sizeof *o);
	snprintf(o->name, sizeof o->name, "%s", name);
	snprintf(o->addr, sizeof o->addr, "%s", addr);
	o->soa = signed_rr;
	o->soa_serial = 100;
	o->dnskey_proven = true;
	c->asked = true;
	c->rr = signed_rr;
	c->serial = 100;
	c->flags = CDS_CSYNC_IMMEDIATE | CDS_CSYNC_SOAMINIMUM;
	c->n_types = 3;
	c->types[0] = 1;
	c->types[1] = 2;
	c->types[2] = 28;
	c->soa_after = signed_rr;
	c->soa_serial_after = 100;
	c->ns_rr = signed_rr;
	c->ns_rr.count = 2;
	c->ns = sc->ns[i];
	snprintf(c->ns[0], CDS_NAME_MAX, "ns1.example.test.");
	snprintf(c->ns[1], CDS_NAME_MAX, "ns2.example.test.");
	c->n_ns = 2;
	c->hosts = sc->hosts[i];
	host(&c->hosts[0], "ns1.example.test.", "192.0.2.1", "2001:db8::1");
	host(&c->hosts[1], "ns2.example.test.", "192.0.2.2", NULL);
	c->n_hosts = 2;
}

static void setup(void)
{
	free(sc); /* tests that start over call setup() again */
	sc = calloc(1, sizeof *sc);
	ck_assert_ptr_nonnull(sc);
	policy_config_default(&sc->cfg);
	snprintf(sc->deleg.name, sizeof sc->deleg.name, CHILD);
	sc->deleg.ds = &sc->ds;
	sc->deleg.n_ds = 1;
	snprintf(sc->cur[0].name, CDS_NAME_MAX, "ns1.example.test.");
	snprintf(sc->cur[0].glue[0], CDS_ADDR_STR_MAX, "192.0.2.1");
	snprintf(sc->cur[0].glue[1], CDS_ADDR_STR_MAX, "2001:DB8:0::1");
	sc->cur[0].n_glue = 2;
	snprintf(sc->cur[1].name, CDS_NAME_MAX, "NS.example.net");
	sc->n_cur = 2;
	server(0, "ns1.example.test.", "192.0.2.1");
	server(1, "ns1.example.test.", "2001:db8::1");
	server(2, "ns.example.net.", "198.51.100.7");
	sc->n_obs = 3;
}

static void teardown(void)
{
	free(sc);
	sc = NULL;
}

static void decide_dom(const struct policy_domain *dom)
{
	policy_decide_csync(&sc->deleg, sc->cur, sc->n_cur, sc->obs, sc->n_obs,
			    &sc->cfg, dom, &sc->dec);
}

static void decide(void)
{
	decide_dom(NULL);
}

static void expect(enum cds_verdict v, enum cds_reason r)
{
	ck_assert_msg(sc->dec.verdict == v && sc->dec.reason == r,
		      "got %s %s (%s), want %s %s",
		      cds_verdict_name(sc->dec.verdict),
		      cds_reason_name(sc->dec.reason), sc->dec.detail,
		      cds_verdict_name(v), cds_reason_name(r));
}

static void each(void (*fn)(struct cds_csync_obs *c))
{
	for (size_t i = 0; i < sc->n_obs; i++)
		fn(&sc->obs[i].csync);
}

static void only_types(struct cds_csync_obs *c, size_t n, const uint16_t *t)
{
	c->n_types = n;
	memcpy(c->types, t, n * sizeof *t);
}

/* ---- the T lines of §6 -------------------------------------------- */

/* T: NS sets equal everywhere → NS RRset replaced. */
START_TEST(t6_ns_sets_equal_ns_replaced)
{
	decide();
	expect(CDS_DEC_UPDATE, CDS_R_CSYNC_APPLY);
	ck_assert(sc->dec.set_ns);
	ck_assert_uint_eq(sc->dec.n_ns, 2);
	ck_assert_str_eq(sc->dec.ns[0], "ns1.example.test.");
	ck_assert_str_eq(sc->dec.ns[1], "ns2.example.test.");
	ck_assert_uint_eq(sc->dec.serial, 100);
	/* glue for both in-bailiwick names, both types replaced */
	ck_assert_uint_eq(sc->dec.n_glue, 2);
	ck_assert_str_eq(sc->dec.glue[1].name, "ns2.example.test.");
	ck_assert(sc->dec.glue[1].set_a && sc->dec.glue[1].set_aaaa);
	ck_assert_uint_eq(sc->dec.glue[1].n_a, 1);
	ck_assert_uint_eq(sc->dec.glue[1].n_aaaa, 0);
	ck_assert_str_eq(sc->dec.glue[1].a[0], "192.0.2.2");
}
END_TEST

/* T: one server answers NODATA for CSYNC → no change. */
START_TEST(t6_one_server_nodata_no_change)
{
	sc->obs[1].csync.rr = (struct cds_rrset_obs){.state = CDS_RR_NODATA};
	decide();
	expect(CDS_DEC_REJECTED, CDS_R_CSYNC_DISAGREE);
	ck_assert_ptr_nonnull(strstr(sc->dec.detail, "2001:db8::1"));
}
END_TEST

/* T: the immediate flag differs → no change. */
START_TEST(t6_immediate_differs_no_change)
{
	sc->obs[2].csync.flags = CDS_CSYNC_SOAMINIMUM;
	decide();
	expect(CDS_DEC_REJECTED, CDS_R_CSYNC_DISAGREE);
	ck_assert_ptr_nonnull(strstr(sc->dec.detail, "flags"));
	ck_assert_ptr_nonnull(strstr(sc->dec.detail, "198.51.100.7"));
}
END_TEST

static void add_ds_bit(struct cds_csync_obs *c)
{
	static const uint16_t t[] = {2, 43};

	only_types(c, 2, t);
}

static void add_flag4(struct cds_csync_obs *c)
{
	c->flags |= 0x0004;
}

/* T: the bit map includes DS, or flag 0x0004 is set → no change. */
START_TEST(t6_bitmap_ds_or_flag4_no_change)
{
	each(add_ds_bit);
	decide();
	expect(CDS_DEC_REJECTED, CDS_R_CSYNC_UNSUPPORTED);
	ck_assert_ptr_nonnull(strstr(sc->dec.detail, "DS"));
	setup();
	each(add_flag4);
	decide();
	expect(CDS_DEC_REJECTED, CDS_R_CSYNC_UNSUPPORTED);
	ck_assert_ptr_nonnull(strstr(sc->dec.detail, "0x0004"));
}
END_TEST

static void never_synced(struct cds_csync_obs *c)
{
	static const uint16_t t[] = {2, 0};

	only_types(c, 2, t);
}

/* Y2: DNSKEY, CDS, CDNSKEY, CSYNC and unknown types all refuse. */
START_TEST(t6_never_synchronised_types)
{
	static const uint16_t bad[] = {48, 59, 60, 62, 99, 65};

	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		setup();
		each(never_synced);
		for (size_t i = 0; i < sc->n_obs; i++)
			sc->obs[i].csync.types[1] = bad[k];
		decide();
		expect(CDS_DEC_REJECTED, CDS_R_CSYNC_UNSUPPORTED);
		teardown();
	}
	setup();
}
END_TEST

static void flags0(struct cds_csync_obs *c)
{
	c->flags = 0;
}

/* T: flags = 0 → queued for approval. */
START_TEST(t6_flags_zero_queued_for_approval)
{
	each(flags0);
	decide();
	expect(CDS_DEC_PENDING, CDS_R_CSYNC_HELD);
	/* the held change is filled in, for approval to apply */
	ck_assert(sc->dec.set_ns);
	ck_assert_uint_eq(sc->dec.n_ns, 2);
	/* policy.csync-immediate off holds an immediate one too */
	setup();
	sc->cfg.csync_immediate = false;
	decide();
	expect(CDS_DEC_PENDING, CDS_R_CSYNC_HELD);
}
END_TEST

/* T: soaminimum serial 100 while NS2's SOA is 99 → no change. */
START_TEST(t6_soaminimum_above_soa_no_change)
{
	sc->obs[2].soa_serial = 99;
	sc->obs[2].csync.soa_serial_after = 99;
	decide();
	expect(CDS_DEC_PENDING, CDS_R_CSYNC_SOAMINIMUM);
	ck_assert_ptr_nonnull(strstr(sc->dec.detail, "ns.example.net."));
	/* without soaminimum the serial is ignored (Y4) */
	for (size_t i = 0; i < sc->n_obs; i++)
		sc->obs[i].csync.flags = CDS_CSYNC_IMMEDIATE;
	decide();
	expect(CDS_DEC_UPDATE, CDS_R_CSYNC_APPLY);
}
END_TEST

static void aaaa_only(struct cds_csync_obs *c)
{
	static const uint16_t t[] = {28};

	only_types(c, 1, t);
	c->ns_rr = (struct cds_rrset_obs){0};
	c->n_ns = 0;
	c->n_hosts = 1; /* only ns1.example.test. is in the parent's set */
	c->hosts[0].a_rr = (struct cds_rrset_obs){0};
	c->hosts[0].n_a = 0;
	snprintf(c->hosts[0].aaaa[0], CDS_ADDR_STR_MAX, "2001:db8::53");
}

/* T: only the AAAA bit set → A glue unchanged. */
START_TEST(t6_only_aaaa_bit_a_glue_unchanged)
{
	struct cds_ns res[CDS_CSYNC_NS_MAX];
	size_t n;

	each(aaaa_only);
	decide();
	expect(CDS_DEC_UPDATE, CDS_R_CSYNC_APPLY);
	ck_assert(!sc->dec.set_ns);
	ck_assert_uint_eq(sc->dec.n_glue, 1);
	ck_assert(!sc->dec.glue[0].set_a);
	ck_assert(sc->dec.glue[0].set_aaaa);
	ck_assert_int_eq(policy_csync_result(&sc->dec, sc->cur, sc->n_cur, res,
					     &n), CDS_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(res[0].name, "ns1.example.test.");
	ck_assert_uint_eq(res[0].n_glue, 2);
	ck_assert_str_eq(res[0].glue[0], "192.0.2.1");
	ck_assert_str_eq(res[0].glue[1], "2001:db8::53");
	/* the outside name keeps what it had: nothing */
	ck_assert_str_eq(res[1].name, "ns.example.net.");
	ck_assert_uint_eq(res[1].n_glue, 0);
}
END_TEST

static void ns2_no_address(struct cds_csync_obs *c)
{
	c->hosts[1].a_rr = proven_nodata;
	c->hosts[1].n_a = 0;
}

/* T: glue would end up empty → glue unchanged. */
START_TEST(t6_glue_would_be_empty_unchanged)
{
	each(ns2_no_address);
	decide();
	expect(CDS_DEC_REJECTED, CDS_R_CSYNC_GLUE_EMPTY);
	ck_assert_ptr_nonnull(strstr(sc->dec.detail, "ns2.example.test."));
}
END_TEST

/* T: serial changes during the transaction → retry. */
START_TEST(t6_serial_changes_retry)
{
	sc->obs[1].csync.soa_serial_after = 101;
	decide();
	expect(CDS_DEC_PENDING, CDS_R_CSYNC_SERIAL_MOVED);
	ck_assert_ptr_nonnull(strstr(sc->dec.detail, "101"));
}
END_TEST

/* T: CSYNC data insecure (NSEC3 iterations > 0 treated as insecure) →
   abort. The probe reports such a denial as UNSIGNED. */
START_TEST(t6_data_insecure_abort)
{
	for (size_t i = 0; i < sc->n_obs; i++)
		sc->obs[i].csync.hosts[1].aaaa_rr.sig = CDS_SIG_UNSIGNED;
	decide();
	expect(CDS_DEC_REJECTED, CDS_R_CSYNC_INSECURE);
	ck_assert_ptr_nonnull(strstr(sc->dec.detail, "ns2.example.test. AAAA"));
	/* the CSYNC record itself unproven */
	setup();
	sc->obs[0].csync.rr.sig = CDS_SIG_UNPROVEN;
	decide();
	expect(CDS_DEC_REJECTED, CDS_R_CSYNC_INSECURE);
}
END_TEST

/* ---- beyond the T lines ------------------------------------------- */

START_TEST(csync_absent_everywhere_none)
{
	for (size_t i = 0; i < sc->n_obs; i++)
		sc->obs[i].csync.rr = (struct cds_rrset_obs){
			.state = CDS_RR_NODATA};
	decide();
	expect(CDS_DEC_UNCHANGED, CDS_R_CSYNC_NONE);
}
END_TEST

START_TEST(csync_server_silent_pending)
{
	sc->obs[2].error = CDS_ETIMEOUT;
	snprintf(sc->obs[2].error_text, CDS_ERRTEXT_MAX, "CSYNC: timeout");
	decide();
	expect(CDS_DEC_PENDING, CDS_R_CSYNC_SERVER_UNREACHABLE);
	ck_assert_ptr_nonnull(strstr(sc->dec.detail, "CSYNC: timeout"));
}
END_TEST

static void wrap(struct cds_csync_obs *c)
{
	c->serial = 5; /* 5 is after 0xfffffff0 in RFC 1982 arithmetic */
}

START_TEST(csync_rfc1982_wraparound)
{
	each(wrap);
	for (size_t i = 0; i < sc->n_obs; i++) {
		sc->obs[i].soa_serial = 0xfffffff0u;
		sc->obs[i].csync.soa_serial_after = 0xfffffff0u;
	}
	decide(); /* SOA 0xfffffff0 is before CSYNC 5 */
	expect(CDS_DEC_PENDING, CDS_R_CSYNC_SOAMINIMUM);
	for (size_t i = 0; i < sc->n_obs; i++) {
		sc->obs[i].soa_serial = 7;
		sc->obs[i].csync.soa_serial_after = 7;
	}
	decide(); /* 7 is after 5 */
	expect(CDS_DEC_UPDATE, CDS_R_CSYNC_APPLY);
}
END_TEST

START_TEST(csync_stored_serial_regressed)
{
	struct cds_history h = {.has_csync_serial = true,
				.csync_serial = 0xfffffffeu};
	struct policy_domain dom = {.hist = &h};

	decide_dom(&dom); /* 100 is after 0xfffffffe: fine */
	expect(CDS_DEC_UPDATE, CDS_R_CSYNC_APPLY);
	h.csync_serial = 101;
	decide_dom(&dom);
	expect(CDS_DEC_REJECTED, CDS_R_CSYNC_SERIAL_REGRESSED);
	/* the same serial: a change needs a new one */
	h.csync_serial = 100;
	decide_dom(&dom);
	expect(CDS_DEC_REJECTED, CDS_R_CSYNC_SERIAL_REGRESSED);
}
END_TEST

START_TEST(csync_same_serial_already_applied_no_change)
{
	struct cds_history h = {.has_csync_serial = true, .csync_serial = 100};
	struct policy_domain dom = {.hist = &h};

	/* the delegation already is what CSYNC 100 asked for */
	snprintf(sc->cur[1].name, CDS_NAME_MAX, "ns2.example.test.");
	snprintf(sc->cur[1].glue[0], CDS_ADDR_STR_MAX, "192.0.2.2");
	sc->cur[1].n_glue = 1;
	decide_dom(&dom);
	expect(CDS_DEC_UNCHANGED, CDS_R_CSYNC_NO_CHANGE);
}
END_TEST

static void two_records(struct cds_csync_obs *c)
{
	c->rr.count = 2;
}

START_TEST(csync_several_records_ignored)
{
	each(two_records);
	decide();
	expect(CDS_DEC_REJECTED, CDS_R_CSYNC_UNSUPPORTED);
	ck_assert_ptr_nonnull(strstr(sc->dec.detail, "2 CSYNC records"));
}
END_TEST

static void ns_outside(struct cds_csync_obs *c)
{
	snprintf(c->ns[0], CDS_NAME_MAX, "ns.example.net.");
	snprintf(c->ns[1], CDS_NAME_MAX, "ns1.example.test.");
	c->n_hosts = 1; /* ns1.example.test. only */
}

/* Out-of-bailiwick names get no glue from CSYNC and keep theirs. */
START_TEST(csync_out_of_bailiwick_glue_untouched)
{
	struct cds_ns res[CDS_CSYNC_NS_MAX];
	size_t n;

	snprintf(sc->cur[1].glue[0], CDS_ADDR_STR_MAX, "203.0.113.9");
	sc->cur[1].n_glue = 1;
	/* the NS set stays, ns1's AAAA changes */
	each(ns_outside);
	for (size_t i = 0; i < sc->n_obs; i++)
		snprintf(sc->obs[i].csync.hosts[0].aaaa[0], CDS_ADDR_STR_MAX,
			 "2001:db8::2");
	decide();
	expect(CDS_DEC_UPDATE, CDS_R_CSYNC_APPLY);
	ck_assert_uint_eq(sc->dec.n_glue, 1);
	ck_assert_str_eq(sc->dec.glue[0].name, "ns1.example.test.");
	ck_assert_int_eq(policy_csync_result(&sc->dec, sc->cur, sc->n_cur, res,
					     &n), CDS_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(res[0].name, "ns.example.net.");
	ck_assert_uint_eq(res[0].n_glue, 1);
	ck_assert_str_eq(res[0].glue[0], "203.0.113.9");
	ck_assert_str_eq(res[1].glue[1], "2001:db8::2");
}
END_TEST

static void unchanged_data(struct cds_csync_obs *c)
{
	ns_outside(c);
}

START_TEST(csync_data_equal_no_change)
{
	each(unchanged_data);
	decide();
	expect(CDS_DEC_UNCHANGED, CDS_R_CSYNC_NO_CHANGE);
}
END_TEST

static void no_ns(struct cds_csync_obs *c)
{
	c->ns_rr = proven_nodata;
	c->n_ns = 0;
}

START_TEST(csync_child_proves_no_ns)
{
	each(no_ns);
	decide();
	expect(CDS_DEC_REJECTED, CDS_R_CSYNC_NO_NS);
}
END_TEST

static void one_ns(struct cds_csync_obs *c)
{
	c->n_ns = 1;
	c->ns_rr.count = 1;
	c->n_hosts = 1;
}

START_TEST(csync_ns_count_bounds)
{
	each(one_ns);
	decide();
	expect(CDS_DEC_REJECTED, CDS_R_CSYNC_NS_COUNT);
	sc->cfg.csync_min_ns = 1;
	decide();
	expect(CDS_DEC_UPDATE, CDS_R_CSYNC_APPLY);
}
END_TEST

START_TEST(csync_disabled_or_locked)
{
	static const char *const st[] = {"serverUpdateProhibited"};
	struct policy_domain dom = {.statuses = st, .n_statuses = 1};

	decide_dom(&dom);
	expect(CDS_DEC_REJECTED, CDS_R_CSYNC_DISABLED);
	sc->cfg.csync = false;
	decide();
	expect(CDS_DEC_REJECTED, CDS_R_CSYNC_DISABLED);
	/* without CSYNC anywhere it is simply none */
	for (size_t i = 0; i < sc->n_obs; i++)
		sc->obs[i].csync.rr = (struct cds_rrset_obs){
			.state = CDS_RR_NODATA};
	decide();
	expect(CDS_DEC_UNCHANGED, CDS_R_CSYNC_NONE);
}
END_TEST

START_TEST(csync_data_differs)
{
	snprintf(sc->obs[1].csync.hosts[1].a[0], CDS_ADDR_STR_MAX, "192.0.2.3");
	decide();
	expect(CDS_DEC_REJECTED, CDS_R_CSYNC_DISAGREE);
	ck_assert_ptr_nonnull(strstr(sc->dec.detail, "A RRset"));
}
END_TEST

/* ---- sanity of the new delegation ---------------------------------- */

static void new_servers(void)
{
	decide();
	expect(CDS_DEC_UPDATE, CDS_R_CSYNC_APPLY);
	for (size_t i = 0; i < 2; i++) {
		memset(&sc->obs[i], 0, sizeof sc->obs[i]);
		snprintf(sc->obs[i].name, CDS_NAME_MAX, "ns%zu.example.test.",
			 i + 1);
		snprintf(sc->obs[i].addr, CDS_ADDR_STR_MAX, "192.0.2.%zu", i + 1);
		sc->obs[i].soa = signed_rr;
		sc->obs[i].dnskey_proven = true;
	}
}

START_TEST(sanity_ok_keeps_decision)
{
	new_servers();
	policy_csync_sanity(&sc->deleg, sc->obs, 2, &sc->dec);
	expect(CDS_DEC_UPDATE, CDS_R_CSYNC_APPLY);
}
END_TEST

START_TEST(sanity_lame_new_ns_rejected)
{
	new_servers();
	sc->obs[1].error = CDS_ELAME;
	snprintf(sc->obs[1].error_text, CDS_ERRTEXT_MAX, "SOA: not "
		 "authoritative (AA=0)");
	policy_csync_sanity(&sc->deleg, sc->obs, 2, &sc->dec);
	expect(CDS_DEC_REJECTED, CDS_R_CSYNC_NEW_NS_BROKEN);
	ck_assert_ptr_nonnull(strstr(sc->dec.detail, "ns2.example.test."));
}
END_TEST

START_TEST(sanity_dnskey_unproven_rejected)
{
	new_servers();
	sc->obs[0].dnskey_proven = false;
	policy_csync_sanity(&sc->deleg, sc->obs, 2, &sc->dec);
	expect(CDS_DEC_REJECTED, CDS_R_CSYNC_NEW_NS_BROKEN);
	/* without DS at the parent nothing needs proving */
	setup();
	new_servers();
	sc->obs[0].dnskey_proven = false;
	sc->deleg.n_ds = 0;
	policy_csync_sanity(&sc->deleg, sc->obs, 2, &sc->dec);
	expect(CDS_DEC_UPDATE, CDS_R_CSYNC_APPLY);
}
END_TEST

START_TEST(sanity_timeout_pending)
{
	new_servers();
	sc->obs[0].error = CDS_ETIMEOUT;
	policy_csync_sanity(&sc->deleg, sc->obs, 2, &sc->dec);
	expect(CDS_DEC_PENDING, CDS_R_CSYNC_NEW_NS_BROKEN);
}
END_TEST

/* ---- W3: the CSYNC rdata ------------------------------------------- */

/* W3 example: `66 3 A NS AAAA` → 00000042 0003 0004 60000008. */
START_TEST(w3_csync_example_parsed)
{
	static const uint8_t rd[] = {0, 0, 0, 0x42, 0, 3, 0, 4,
				     0x60, 0, 0, 8};
	struct cds_csync_obs c;

	memset(&c, 0, sizeof c);
	ck_assert_int_eq(scan_csync_parse(rd, sizeof rd, &c), CDS_OK);
	ck_assert(!c.malformed);
	ck_assert_uint_eq(c.serial, 66);
	ck_assert_uint_eq(c.flags, 3);
	ck_assert_uint_eq(c.n_types, 3);
	ck_assert_uint_eq(c.types[0], 1);
	ck_assert_uint_eq(c.types[1], 2);
	ck_assert_uint_eq(c.types[2], 28);
}
END_TEST

/* T: bit map window length 0 or >32, or out of order → malformed. */
START_TEST(t1_bitmap_window_bad_malformed)
{
	static const struct {
		const char *what;
		uint8_t rd[48];
		size_t len;
	} bad[] = {
		{"window length 0", {0, 0, 0, 1, 0, 0, 0, 0}, 8},
		{"window length 33", {0, 0, 0, 1, 0, 0, 0, 33}, 8 + 33},
		{"out of order", {0, 0, 0, 1, 0, 0, 1, 1, 0x80, 0, 1, 0x80}, 12},
		{"same window twice", {0, 0, 0, 1, 0, 0, 0, 1, 0x40, 0, 1, 0x40},
		 12},
		{"window past the end", {0, 0, 0, 1, 0, 0, 0, 4, 0x60}, 9},
		{"short rdata", {0, 0, 0, 1, 0}, 5},
		{"lone window byte", {0, 0, 0, 1, 0, 0, 0}, 7},
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct cds_csync_obs c;

		memset(&c, 0, sizeof c);
		ck_assert_int_eq(scan_csync_parse(bad[i].rd, bad[i].len, &c),
				 CDS_EMALFORMED);
		ck_assert_msg(c.malformed, "%s not malformed", bad[i].what);
	}
}
END_TEST

START_TEST(w3_csync_high_window_and_empty_map)
{
	/* window 1 (types 256..511): bit 0 = type 256; and no bit map */
	static const uint8_t rd[] = {0, 0, 0, 1, 0, 1, 0, 1, 0x40, 1, 1, 0x80};
	static const uint8_t none[] = {0, 0, 0, 9, 0, 1};
	struct cds_csync_obs c;

	memset(&c, 0, sizeof c);
	ck_assert_int_eq(scan_csync_parse(rd, sizeof rd, &c), CDS_OK);
	ck_assert_uint_eq(c.n_types, 2);
	ck_assert_uint_eq(c.types[0], 1);
	ck_assert_uint_eq(c.types[1], 256);
	memset(&c, 0, sizeof c);
	ck_assert_int_eq(scan_csync_parse(none, sizeof none, &c), CDS_OK);
	ck_assert_uint_eq(c.serial, 9);
	ck_assert_uint_eq(c.n_types, 0);
}
END_TEST

/* ---- Y1: RRsets below the apex and denial proofs (validate.c) ------ */

#define NOW 1700000000u

static ldns_key *ksk_key, *zsk_key;
static ldns_rr *ksk_rr, *zsk_rr;

static ldns_key *make_key(uint16_t flags, ldns_rr **rr)
{
	ldns_key *k = ldns_key_new_frm_algorithm(LDNS_SIGN_ECDSAP256SHA256,
						 256);

	ck_assert_ptr_nonnull(k);
	ldns_key_set_pubkey_owner(k, ldns_dname_new_frm_str(CHILD));
	ldns_key_set_flags(k, flags);
	*rr = ldns_key2rr(k);
	ldns_key_set_keytag(k, ldns_calc_keytag(*rr));
	ldns_key_set_inception(k, NOW - 3600);
	ldns_key_set_expiration(k, NOW + 86400);
	return k;
}

static ldns_rr_list *sign_with(ldns_rr_list *rrs, ldns_key *key)
{
	ldns_key_list *kl = ldns_key_list_new();
	ldns_rr_list *sigs;

	ldns_key_list_push_key(kl, key);
	sigs = ldns_sign_public(rrs, kl);
	ck_assert_ptr_nonnull(sigs);
	ldns_key_list_set_key_count(kl, 0); /* keys are borrowed */
	ldns_key_list_free(kl);
	return sigs;
}

static ldns_rr_list *rrs_text(const char *const *lines)
{
	ldns_rr_list *l = ldns_rr_list_new();

	for (size_t i = 0; lines[i]; i++) {
		ldns_rr *rr = NULL;

		ck_assert_int_eq(ldns_rr_new_frm_str(&rr, lines[i], 3600, NULL,
						     NULL), LDNS_STATUS_OK);
		ldns_rr_list_push_rr(l, rr);
	}
	return l;
}

/* The keys of the child: DNSKEY {KSK, ZSK} signed by the KSK, proven by
   the KSK's DS (or, with `wrong_ds`, by nothing). */
static struct scan_keys *child_keys(bool wrong_ds)
{
	struct scan_rrset dk;
	struct cds_ds ds;
	struct scan_keys *k = NULL;
	ldns_rr *dsrr = ldns_key_rr2ds(ksk_rr, LDNS_SHA256);

	ck_assert_ptr_nonnull(dsrr);
	ck_assert_int_eq(scan_ds_from_rr(dsrr, &ds), CDS_OK);
	ldns_rr_free(dsrr);
	if (wrong_ds)
		ds.digest[0] ^= 0xff;
	dk.rrs = ldns_rr_list_new();
	ldns_rr_list_push_rr(dk.rrs, ldns_rr_clone(ksk_rr));
	ldns_rr_list_push_rr(dk.rrs, ldns_rr_clone(zsk_rr));
	dk.sigs = sign_with(dk.rrs, ksk_key);
	ck_assert_int_eq(scan_keys_new(NULL, CHILD, &ds, 1, &dk, NOW, &k),
			 CDS_OK);
	scan_rrset_free(&dk);
	return k;
}

static void keys_setup(void)
{
	ksk_key = make_key(257, &ksk_rr);
	zsk_key = make_key(256, &zsk_rr);
}

static void keys_teardown(void)
{
	ldns_key_deep_free(ksk_key);
	ldns_key_deep_free(zsk_key);
	ldns_rr_free(ksk_rr);
	ldns_rr_free(zsk_rr);
}

START_TEST(y1_glue_rrset_signed_below_apex)
{
	static const char *const a[] = {"ns1.example.test. A 192.0.2.1", NULL};
	struct scan_keys *k = child_keys(false);
	struct scan_rrset set = {rrs_text(a), NULL};
	struct cds_rrset_obs o = {0};

	set.sigs = sign_with(set.rrs, zsk_key);
	ck_assert_int_eq(scan_check_rrset(k, "ns1.example.test.",
					  LDNS_RR_TYPE_A, &set, &o), CDS_OK);
	ck_assert_int_eq(o.count, 1);
	ck_assert_int_eq(o.sig, CDS_SIG_VALID_OTHER); /* the ZSK signs */
	/* tampered data: the signature no longer verifies */
	ldns_rdf_data(ldns_rr_rdf(ldns_rr_list_rr(set.rrs, 0), 0))[3] ^= 1;
	ck_assert_int_eq(scan_check_rrset(k, "ns1.example.test.",
					  LDNS_RR_TYPE_A, &set, &o), CDS_OK);
	ck_assert_int_eq(o.sig, CDS_SIG_BOGUS);
	scan_rrset_free(&set);
	scan_keys_free(k);
	/* keys the DS does not prove: nothing they sign counts */
	k = child_keys(true);
	ck_assert(!scan_keys_proven(k));
	set.rrs = rrs_text(a);
	set.sigs = sign_with(set.rrs, zsk_key);
	ck_assert_int_eq(scan_check_rrset(k, "ns1.example.test.",
					  LDNS_RR_TYPE_A, &set, &o), CDS_OK);
	ck_assert_int_eq(o.sig, CDS_SIG_UNPROVEN);
	scan_rrset_free(&set);
	scan_keys_free(k);
}
END_TEST

START_TEST(y7_nsec_denial_of_aaaa)
{
	static const char *const nsec[] = {
		"ns2.example.test. NSEC ns3.example.test. A RRSIG NSEC", NULL};
	struct scan_keys *k = child_keys(false);
	ldns_rr_list *auth = rrs_text(nsec), *sigs;
	struct cds_rrset_obs o = {0};

	sigs = sign_with(auth, zsk_key);
	ldns_rr_list_cat(auth, sigs);
	ldns_rr_list_free(sigs);
	ck_assert_int_eq(scan_check_denial(k, "ns2.example.test.",
					   LDNS_RR_TYPE_AAAA, auth, &o), CDS_OK);
	ck_assert_int_eq(o.sig, CDS_SIG_VALID_OTHER);
	/* the NSEC names A: it proves nothing about A */
	ck_assert_int_eq(scan_check_denial(k, "ns2.example.test.",
					   LDNS_RR_TYPE_A, auth, &o), CDS_OK);
	ck_assert_int_eq(o.sig, CDS_SIG_BOGUS);
	/* another name's NSEC is no proof for this one */
	ck_assert_int_eq(scan_check_denial(k, "ns1.example.test.",
					   LDNS_RR_TYPE_AAAA, auth, &o), CDS_OK);
	ck_assert_int_eq(o.sig, CDS_SIG_BOGUS);
	/* no proof at all */
	ck_assert_int_eq(scan_check_denial(k, "ns2.example.test.",
					   LDNS_RR_TYPE_AAAA, NULL, &o), CDS_OK);
	ck_assert_int_eq(o.sig, CDS_SIG_UNSIGNED);
	ldns_rr_list_deep_free(auth);
	scan_keys_free(k);
}
END_TEST

/* An NSEC3 record at the hash of `name` with `iterations`, signed. */
static ldns_rr_list *nsec3_auth(const char *name, unsigned iterations)
{
	ldns_rdf *qn = ldns_dname_new_frm_str(name);
	ldns_rdf *h = ldns_nsec3_hash_name(qn, 1, (uint16_t)iterations, 0,
					   NULL);
	char *label = ldns_rdf2str(h), line[512];
	const char *lines[] = {line, NULL};
	ldns_rr_list *auth, *sigs;

	label[strlen(label) - 1] = '\0'; /* "hash." → "hash" */
	snprintf(line, sizeof line, "%s.%s NSEC3 1 0 %u - %s A RRSIG", label,
		 CHILD, iterations, label);
	auth = rrs_text(lines);
	sigs = sign_with(auth, zsk_key);
	ldns_rr_list_cat(auth, sigs);
	ldns_rr_list_free(sigs);
	free(label);
	ldns_rdf_deep_free(h);
	ldns_rdf_deep_free(qn);
	return auth;
}

/* T: CSYNC data insecure (NSEC3 iterations > 0 treated as insecure,
   RFC 9276 §3.2) → abort: here, the probe's half. */
START_TEST(t6_nsec3_iterations_insecure)
{
	struct scan_keys *k = child_keys(false);
	ldns_rr_list *auth = nsec3_auth("ns2.example.test.", 0);
	struct cds_rrset_obs o = {0};

	ck_assert_int_eq(scan_check_denial(k, "ns2.example.test.",
					   LDNS_RR_TYPE_AAAA, auth, &o), CDS_OK);
	ck_assert_int_eq(o.sig, CDS_SIG_VALID_OTHER);
	ldns_rr_list_deep_free(auth);
	auth = nsec3_auth("ns2.example.test.", 5);
	ck_assert_int_eq(scan_check_denial(k, "ns2.example.test.",
					   LDNS_RR_TYPE_AAAA, auth, &o), CDS_OK);
	ck_assert_int_eq(o.sig, CDS_SIG_UNSIGNED);
	ldns_rr_list_deep_free(auth);
	scan_keys_free(k);
}
END_TEST


/* STANDARDS §7 T lines: a signer joining gets its DS first, then (next
   scan) the CSYNC that adds its NS; leaving runs in reverse. */
static void two_ds(struct cds_ds *a, struct cds_ds *b)
{
	memset(a, 0, sizeof *a);
	memset(b, 0, sizeof *b);
	a->keytag = 1;
	a->alg = 13;
	a->digest_type = 2;
	a->digest_len = 32;
	*b = *a;
	b->keytag = 2;
	b->digest[0] = 1;
}

START_TEST(t7_join_ds_first_then_ns)
{
	struct cds_ds d[2];
	struct cds_delegation cur = {.name = "child.example.", .ds = d,
				     .n_ds = 1};
	struct cds_decision ds = {.verdict = CDS_DEC_UPDATE,
				  .reason = CDS_R_APPLY_UPDATE,
				  .n_proposed = 2};
	static struct cds_csync_decision cs;

	two_ds(&d[0], &d[1]);
	ds.proposed[0] = d[0];
	ds.proposed[1] = d[1];
	memset(&cs, 0, sizeof cs);
	cs.verdict = CDS_DEC_UPDATE;
	cs.reason = CDS_R_CSYNC_APPLY;
	policy_one_change_per_scan(&cur, &ds, &cs);
	ck_assert_int_eq(ds.verdict, CDS_DEC_UPDATE);
	ck_assert_int_eq(cs.verdict, CDS_DEC_PENDING);
	ck_assert_int_eq(cs.reason, CDS_R_CSYNC_APPLY);
	ck_assert_ptr_nonnull(strstr(cs.detail, "DS change goes first"));
}
END_TEST

START_TEST(t7_leave_ns_first_then_ds)
{
	struct cds_ds d[2];
	struct cds_delegation cur = {.name = "child.example.", .ds = d,
				     .n_ds = 2};
	struct cds_decision ds = {.verdict = CDS_DEC_UPDATE,
				  .reason = CDS_R_APPLY_UPDATE,
				  .n_proposed = 1};
	static struct cds_csync_decision cs;

	two_ds(&d[0], &d[1]);
	ds.proposed[0] = d[0];
	memset(&cs, 0, sizeof cs);
	cs.verdict = CDS_DEC_UPDATE;
	policy_one_change_per_scan(&cur, &ds, &cs);
	ck_assert_int_eq(ds.verdict, CDS_DEC_PENDING);
	ck_assert_ptr_nonnull(strstr(ds.detail, "CSYNC NS change goes first"));
	ck_assert_int_eq(cs.verdict, CDS_DEC_UPDATE);
	/* a delete is a signer leaving too; one change alone is left be */
	ds.verdict = CDS_DEC_DELETE;
	cs.verdict = CDS_DEC_UPDATE;
	policy_one_change_per_scan(&cur, &ds, &cs);
	ck_assert_int_eq(ds.verdict, CDS_DEC_PENDING);
	cs.verdict = CDS_DEC_PENDING;
	ds.verdict = CDS_DEC_UPDATE;
	policy_one_change_per_scan(&cur, &ds, &cs);
	ck_assert_int_eq(ds.verdict, CDS_DEC_UPDATE);
	policy_one_change_per_scan(&cur, &ds, NULL);
	ck_assert_int_eq(ds.verdict, CDS_DEC_UPDATE);
}
END_TEST

static Suite *csync_suite(void)
{
	Suite *s = suite_create("csync");
	TCase *tc = tcase_create("t6");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, t6_ns_sets_equal_ns_replaced);
	tcase_add_test(tc, t6_one_server_nodata_no_change);
	tcase_add_test(tc, t6_immediate_differs_no_change);
	tcase_add_test(tc, t6_bitmap_ds_or_flag4_no_change);
	tcase_add_test(tc, t6_never_synchronised_types);
	tcase_add_test(tc, t6_flags_zero_queued_for_approval);
	tcase_add_test(tc, t6_soaminimum_above_soa_no_change);
	tcase_add_test(tc, t6_only_aaaa_bit_a_glue_unchanged);
	tcase_add_test(tc, t6_glue_would_be_empty_unchanged);
	tcase_add_test(tc, t6_serial_changes_retry);
	tcase_add_test(tc, t6_data_insecure_abort);
	suite_add_tcase(s, tc);

	tc = tcase_create("policy");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, csync_absent_everywhere_none);
	tcase_add_test(tc, csync_server_silent_pending);
	tcase_add_test(tc, csync_rfc1982_wraparound);
	tcase_add_test(tc, csync_stored_serial_regressed);
	tcase_add_test(tc, csync_same_serial_already_applied_no_change);
	tcase_add_test(tc, csync_several_records_ignored);
	tcase_add_test(tc, csync_out_of_bailiwick_glue_untouched);
	tcase_add_test(tc, csync_data_equal_no_change);
	tcase_add_test(tc, csync_child_proves_no_ns);
	tcase_add_test(tc, csync_ns_count_bounds);
	tcase_add_test(tc, csync_disabled_or_locked);
	tcase_add_test(tc, csync_data_differs);
	tcase_add_test(tc, t7_join_ds_first_then_ns);
	tcase_add_test(tc, t7_leave_ns_first_then_ds);
	suite_add_tcase(s, tc);

	tc = tcase_create("sanity");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, sanity_ok_keeps_decision);
	tcase_add_test(tc, sanity_lame_new_ns_rejected);
	tcase_add_test(tc, sanity_dnskey_unproven_rejected);
	tcase_add_test(tc, sanity_timeout_pending);
	suite_add_tcase(s, tc);

	tc = tcase_create("w3");
	tcase_add_test(tc, w3_csync_example_parsed);
	tcase_add_test(tc, t1_bitmap_window_bad_malformed);
	tcase_add_test(tc, w3_csync_high_window_and_empty_map);
	suite_add_tcase(s, tc);

	tc = tcase_create("denial");
	tcase_add_checked_fixture(tc, keys_setup, keys_teardown);
	tcase_add_test(tc, y1_glue_rrset_signed_below_apex);
	tcase_add_test(tc, y7_nsec_denial_of_aaaa);
	tcase_add_test(tc, t6_nsec3_iterations_insecure);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(csync_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
