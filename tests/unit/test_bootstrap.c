/*
 * Unit tests for bootstrapping (policy/bootstrap.c, STANDARDS §5): the
 * RFC 9615 §4.2 steps and every abort condition of B3, named after the
 * T lines of §5 (child example.co.uk with NS ns1.example.net,
 * ns2.example.org, ns3.example.co.uk), accept-after-delay with its
 * streak (B1, §14), and the small helpers the probe shares with policy.
 *
 * Observations are built by hand with real keys: the child's KSK K and
 * ZSK Z (algorithm 13, made once with ldns-keygen; public parts only),
 * its DS computed by cds_ds_from_dnskey. Each server serves CDS {K}
 * and CDNSKEY {K}, with its DNSKEY RRset {K, Z} signed by K, as the probe
 * reports it after validating against the proposed set.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "policy/policy.h"

#define CHILD "example.co.uk."
#define NOW 1700000000
#define HOUR 3600

static const char *const ksk_text =
	"257 3 13 LdK+06aZQMYnFD68wj61VRIpVfwSS3ZYSH4qrIhmaJ+7JDHo"
	"rbNlxs9PcDZQiGrRfgJb/U524YEUt0ip1o4iCA==";
static const char *const zsk_text =
	"256 3 13 iCNttSGbtv965hdqjCt9SkKT3XIy0zKY3pSrjS2OXmvYgdRD"
	"TWiOXZTGS9DP7fr4IIWdkL9FiOYy1piWmjvSug==";
static const char *const other_text =
	"257 3 13 oq5hLAuyz/KtH5ztoZ79iOn/Tz8RWkPJaV7Ry/GPWiouKmRe"
	"aVLP8tO7gDjkznIf1OwqZLdbRase2KWYitlA9g==";

/* One scene: three servers and their signals; tests change parts. */
struct scene {
	struct cds_dnskey ksk, zsk, other;
	struct cds_ds ds_k, ds_other;
	struct cds_dnskey dnskey[2];
	bool signs[2];
	struct cds_server_obs obs[3];
	size_t n;
	struct cds_delegation deleg;
	struct policy_config cfg;
};

static struct scene *sc;

static void signal_ok(struct cds_signal_obs *s)
{
	memset(s, 0, sizeof *s);
	s->looked_up = true;
	s->cds_rr = (struct cds_signal_rr){CDS_RR_PRESENT, CDS_SEC_SECURE, 0};
	s->cdnskey_rr =
		(struct cds_signal_rr){CDS_RR_PRESENT, CDS_SEC_SECURE, 0};
	s->cds = &sc->ds_k;
	s->n_cds = 1;
	s->cdnskey = &sc->ksk;
	s->n_cdnskey = 1;
}

static void server(struct cds_server_obs *o, const char *name,
		   const char *addr)
{
	memset(o, 0, sizeof *o);
	snprintf(o->name, sizeof o->name, "%s", name);
	snprintf(o->addr, sizeof o->addr, "%s", addr);
	o->soa.state = CDS_RR_PRESENT;
	o->dnskey_rr = (struct cds_rrset_obs){.state = CDS_RR_PRESENT,
					      .sig = CDS_SIG_VALID_DS_KEY,
					      .count = 2};
	o->dnskey = sc->dnskey;
	o->dnskey_signs = sc->signs;
	o->n_dnskey = 2;
	o->dnskey_proven = true;
	o->checked_proposed = true;
	o->cds_rr = (struct cds_rrset_obs){.state = CDS_RR_PRESENT,
					   .sig = CDS_SIG_VALID_DS_KEY,
					   .count = 1};
	o->cds = &sc->ds_k;
	o->n_cds = 1;
	o->cdnskey_rr = o->cds_rr;
	o->cdnskey = &sc->ksk;
	o->n_cdnskey = 1;
	if (!policy_ns_in_child(CHILD, name))
		signal_ok(&o->signal);
}

static void setup(void)
{
	sc = calloc(1, sizeof *sc);
	ck_assert_ptr_nonnull(sc);
	ck_assert_int_eq(cds_dnskey_parse(ksk_text, &sc->ksk), CDS_OK);
	ck_assert_int_eq(cds_dnskey_parse(zsk_text, &sc->zsk), CDS_OK);
	ck_assert_int_eq(cds_dnskey_parse(other_text, &sc->other), CDS_OK);
	ck_assert_int_eq(cds_ds_from_dnskey(CHILD, &sc->ksk, 2, &sc->ds_k),
			 CDS_OK);
	ck_assert_int_eq(cds_ds_from_dnskey(CHILD, &sc->other, 2,
					    &sc->ds_other), CDS_OK);
	sc->dnskey[0] = sc->ksk;
	sc->dnskey[1] = sc->zsk;
	sc->signs[0] = true;
	server(&sc->obs[0], "ns1.example.net.", "192.0.2.1");
	server(&sc->obs[1], "ns2.example.org.", "192.0.2.2");
	server(&sc->obs[2], "ns3.example.co.uk.", "192.0.2.3");
	sc->n = 3;
	snprintf(sc->deleg.name, sizeof sc->deleg.name, "%s", CHILD);
	sc->deleg.ds = NULL;
	sc->deleg.n_ds = 0;
	policy_config_default(&sc->cfg);
}

static void teardown(void)
{
	free(sc);
	sc = NULL;
}

static void decide(struct cds_decision *d)
{
	memset(d, 0xee, sizeof *d); /* policy must fill every field */
	policy_decide_ds(&sc->deleg, sc->obs, sc->n, &sc->cfg, NOW, d);
	ck_assert(strnlen(d->detail, sizeof d->detail) < sizeof d->detail);
}

#define ck_decision(d, v, r)                                                   \
	ck_assert_msg((d)->verdict == (v) && (d)->reason == (r),               \
		      "got %s/%s, want %s/%s: %s",                             \
		      cds_verdict_name((d)->verdict),                          \
		      cds_reason_name((d)->reason), cds_verdict_name(v),       \
		      cds_reason_name(r), (d)->detail)

#define ck_detail(d, s)                                                        \
	ck_assert_msg(strstr((d)->detail, (s)) != NULL,                       \
		      "detail lacks \"%s\": %s", (s), (d)->detail)

/* ---- RFC 9615 (§5 T lines) ---------------------------------------- */

/* T: signaling records at ns1 and ns2 → success. */
START_TEST(t5_signals_at_ns1_and_ns2_success)
{
	struct cds_decision d;

	decide(&d);
	ck_decision(&d, CDS_DEC_UPDATE, CDS_R_BOOTSTRAP_RFC9615);
	ck_assert_uint_eq(d.n_proposed, 1);
	ck_assert(cds_ds_equal(&d.proposed[0], &sc->ds_k));
	ck_detail(&d, "2 out-of-zone NS");
}
END_TEST

/* T: missing at ns2 → abort. */
START_TEST(t5_signal_missing_at_ns2_abort)
{
	struct cds_signal_obs *s = &sc->obs[1].signal;
	struct cds_decision d;

	s->cds_rr.state = s->cdnskey_rr.state = CDS_RR_NODATA;
	s->n_cds = s->n_cdnskey = 0;
	decide(&d);
	ck_decision(&d, CDS_DEC_REJECTED, CDS_R_BOOTSTRAP_SIGNAL_MISSING);
	ck_detail(&d, "_dsboot.example.co.uk._signal.ns2.example.org.");
	ck_assert_uint_eq(d.n_proposed, 0);
}
END_TEST

/* T: ns2's signaling zone insecure → abort. */
START_TEST(t5_signaling_zone_insecure_abort)
{
	struct cds_decision d;

	sc->obs[1].signal.cds_rr.sec = CDS_SEC_INSECURE;
	sc->obs[1].signal.cdnskey_rr.sec = CDS_SEC_INSECURE;
	decide(&d);
	ck_decision(&d, CDS_DEC_REJECTED, CDS_R_BOOTSTRAP_SIGNAL_INSECURE);
	ck_detail(&d, "ns2.example.org.");
	ck_detail(&d, "insecure");
}
END_TEST

START_TEST(t5_signaling_zone_bogus_abort)
{
	struct cds_decision d;

	sc->obs[0].signal.cdnskey_rr.sec = CDS_SEC_BOGUS;
	decide(&d);
	ck_decision(&d, CDS_DEC_REJECTED, CDS_R_BOOTSTRAP_SIGNAL_BOGUS);
	ck_detail(&d, "_signal.ns1.example.net. CDNSKEY");
}
END_TEST

/* No trust anchor: nothing is proven, so nothing is bootstrapped. */
START_TEST(t5_signal_indeterminate_abort)
{
	struct cds_decision d;

	sc->obs[0].signal.cds_rr.sec = CDS_SEC_INDETERMINATE;
	decide(&d);
	ck_decision(&d, CDS_DEC_REJECTED, CDS_R_BOOTSTRAP_SIGNAL_INSECURE);
}
END_TEST

/* T: ns3 unreachable → abort (no exclusion, unlike Q4): even with a
   history that would let Q4 leave it out. */
START_TEST(t5_ns3_unreachable_abort_no_exclusion)
{
	struct cds_server_obs *o = &sc->obs[2];
	struct cds_decision d;

	o->error = CDS_ETIMEOUT;
	snprintf(o->error_text, sizeof o->error_text, "CDS: timeout");
	o->unreachable_since = NOW - 7200;
	sc->cfg.exclude_unreachable_after = 3600;
	decide(&d);
	ck_decision(&d, CDS_DEC_PENDING,
		    CDS_R_BOOTSTRAP_SERVER_UNREACHABLE);
	ck_detail(&d, "ns3.example.co.uk./192.0.2.3");
	/* the same without Q4 history: the usual pending */
	o->unreachable_since = 0;
	decide(&d);
	ck_decision(&d, CDS_DEC_PENDING, CDS_R_SERVER_UNREACHABLE);
}
END_TEST

/* T: all NS in-domain → never bootstrapped. */
START_TEST(t5_all_ns_in_domain_never_bootstrapped)
{
	struct cds_decision d;

	server(&sc->obs[0], "ns1.example.co.uk.", "192.0.2.1");
	server(&sc->obs[1], "ns2.example.co.uk.", "192.0.2.2");
	decide(&d);
	ck_decision(&d, CDS_DEC_REJECTED, CDS_R_BOOTSTRAP_NS_IN_CHILD);
	ck_assert_uint_eq(d.n_proposed, 0);
}
END_TEST

/* Already secure: the rollover rules, never a bootstrap. */
START_TEST(t5_already_secure_not_a_bootstrap)
{
	struct cds_decision d;

	sc->deleg.ds = &sc->ds_other;
	sc->deleg.n_ds = 1;
	for (size_t i = 0; i < sc->n; i++) {
		sc->obs[i].checked_proposed = false;
		sc->obs[i].dnskey_proven = false;
		sc->obs[i].cds_rr.sig = CDS_SIG_UNPROVEN;
		sc->obs[i].cdnskey_rr.sig = CDS_SIG_UNPROVEN;
	}
	decide(&d);
	ck_decision(&d, CDS_DEC_REJECTED, CDS_R_DNSKEY_UNPROVEN);
	{
		char why[256];

		ck_assert_int_eq(policy_rfc9615_check(&sc->deleg, sc->obs,
						      sc->n, why, sizeof why),
				 CDS_R_NONE);
		ck_assert(strstr(why, "already has a DS set") != NULL);
	}
}
END_TEST

/* Step 4: equal contents per type; empty against non-empty too. */
START_TEST(t5_signal_mismatch_per_type)
{
	struct cds_signal_obs *s = &sc->obs[0].signal;
	struct cds_decision d;

	s->cds = &sc->ds_other;
	decide(&d);
	ck_decision(&d, CDS_DEC_REJECTED, CDS_R_BOOTSTRAP_SIGNAL_MISMATCH);
	ck_detail(&d, "CDS");
	signal_ok(s);
	s->cdnskey_rr.state = CDS_RR_NODATA;
	s->n_cdnskey = 0;
	decide(&d);
	ck_decision(&d, CDS_DEC_REJECTED, CDS_R_BOOTSTRAP_SIGNAL_MISMATCH);
	ck_detail(&d, "CDNSKEY (0 records)");
}
END_TEST

START_TEST(t5_signal_lookup_failed_pending)
{
	struct cds_decision d;

	sc->obs[1].signal.cds_rr.state = CDS_RR_FAILED;
	sc->obs[1].signal.cds_rr.error = CDS_ETIMEOUT;
	decide(&d);
	ck_decision(&d, CDS_DEC_PENDING, CDS_R_BOOTSTRAP_SIGNAL_FAILED);
	sc->obs[1].signal.looked_up = false;
	decide(&d);
	ck_decision(&d, CDS_DEC_PENDING, CDS_R_BOOTSTRAP_SIGNAL_FAILED);
	ck_detail(&d, "not looked up");
}
END_TEST

/* Self-consistency: the proposed DS must prove every server's DNSKEY
   RRset, and sign the request. */
START_TEST(t5_proposed_ds_does_not_prove_dnskey)
{
	struct cds_decision d;

	sc->obs[2].dnskey_proven = false;
	sc->obs[2].cds_rr.sig = CDS_SIG_UNPROVEN;
	decide(&d);
	ck_decision(&d, CDS_DEC_REJECTED, CDS_R_BOOTSTRAP_UNPROVEN);
	ck_detail(&d, "ns3.example.co.uk./192.0.2.3");
	sc->obs[2].dnskey_proven = true;
	sc->obs[2].cds_rr.sig = CDS_SIG_VALID_OTHER;
	decide(&d);
	ck_decision(&d, CDS_DEC_REJECTED, CDS_R_BOOTSTRAP_UNPROVEN);
	sc->obs[2].cds_rr.sig = CDS_SIG_VALID_DS_KEY;
	sc->obs[2].checked_proposed = false;
	decide(&d);
	ck_decision(&d, CDS_DEC_REJECTED, CDS_R_BOOTSTRAP_UNPROVEN);
}
END_TEST

START_TEST(t5_servers_disagree_while_bootstrapping)
{
	struct cds_decision d;

	sc->obs[2].cds = &sc->ds_other;
	decide(&d);
	ck_decision(&d, CDS_DEC_REJECTED, CDS_R_SERVERS_DISAGREE);
}
END_TEST

START_TEST(t5_bootstrap_off_disabled)
{
	struct cds_decision d;

	sc->cfg.bootstrap = 0;
	decide(&d);
	ck_decision(&d, CDS_DEC_REJECTED, CDS_R_BOOTSTRAP_DISABLED);
}
END_TEST

/* ---- accept after delay (B1, RFC 8078 §3) --------------------------- */

static void delay_only(void)
{
	sc->cfg.bootstrap = POLICY_BOOT_DELAY;
	/* no signals needed: all NS may even be in the child */
	for (size_t i = 0; i < sc->n; i++)
		memset(&sc->obs[i].signal, 0, sizeof sc->obs[i].signal);
}

static void scan_with(const struct cds_history *h, int64_t now,
		      struct cds_decision *d)
{
	struct policy_domain dom = {.hist = h};

	memset(d, 0, sizeof *d);
	policy_decide_ds(&sc->deleg, sc->obs, sc->n, &sc->cfg, now, d);
	policy_bootstrap_progress(&dom, &sc->cfg, now, d);
}

static void hist_of(struct cds_history *h, unsigned streak, int64_t since,
		    struct cds_ds *ds)
{
	memset(h, 0, sizeof *h);
	h->boot_streak = streak;
	h->boot_since = since;
	h->n_boot_ds = 1;
	h->boot_ds = ds;
}

START_TEST(t5_delay_first_scan_waits)
{
	struct cds_decision d;

	delay_only();
	scan_with(NULL, NOW, &d);
	ck_decision(&d, CDS_DEC_PENDING, CDS_R_BOOTSTRAP_WAITING);
	ck_assert_uint_eq(d.n_proposed, 1);
	ck_assert(cds_ds_equal(&d.proposed[0], &sc->ds_k));
	ck_detail(&d, "scan 1 of 3");
	ck_detail(&d, "eligible after 2023-11-17T22:13:20Z");
}
END_TEST

START_TEST(t5_delay_third_scan_after_72h_completes)
{
	struct cds_history h;
	struct cds_decision d;

	delay_only();
	hist_of(&h, 2, NOW - 72 * HOUR, &sc->ds_k);
	scan_with(&h, NOW, &d);
	ck_decision(&d, CDS_DEC_UPDATE, CDS_R_BOOTSTRAP_DELAY);
	ck_assert_uint_eq(d.n_proposed, 1);
	ck_detail(&d, "scan 3 of 3");
}
END_TEST

START_TEST(t5_delay_third_scan_too_early_waits)
{
	struct cds_history h;
	struct cds_decision d;

	delay_only();
	hist_of(&h, 2, NOW - 71 * HOUR, &sc->ds_k);
	scan_with(&h, NOW, &d);
	ck_decision(&d, CDS_DEC_PENDING, CDS_R_BOOTSTRAP_WAITING);
	ck_detail(&d, "scan 3 of 3");
}
END_TEST

START_TEST(t5_delay_enough_time_too_few_scans_waits)
{
	struct cds_history h;
	struct cds_decision d;

	delay_only();
	hist_of(&h, 1, NOW - 100 * HOUR, &sc->ds_k);
	scan_with(&h, NOW, &d);
	ck_decision(&d, CDS_DEC_PENDING, CDS_R_BOOTSTRAP_WAITING);
	ck_detail(&d, "scan 2 of 3");
}
END_TEST

/* A change of the request resets the count. */
START_TEST(t5_delay_changed_request_resets)
{
	struct cds_history h;
	struct cds_decision d;

	delay_only();
	hist_of(&h, 2, NOW - 80 * HOUR, &sc->ds_other);
	scan_with(&h, NOW, &d);
	ck_decision(&d, CDS_DEC_PENDING, CDS_R_BOOTSTRAP_WAITING);
	ck_detail(&d, "scan 1 of 3");
}
END_TEST

/* A change by other means (EPP, import) since the streak began. */
START_TEST(t5_delay_change_by_other_means_resets)
{
	struct cds_history h;
	struct cds_decision d;
	int64_t since;

	delay_only();
	hist_of(&h, 2, NOW - 80 * HOUR, &sc->ds_k);
	h.last_change_other = NOW - 79 * HOUR;
	scan_with(&h, NOW, &d);
	ck_decision(&d, CDS_DEC_PENDING, CDS_R_BOOTSTRAP_WAITING);
	ck_detail(&d, "scan 1 of 3");
	/* a change before the streak began does not matter */
	h.last_change_other = NOW - 81 * HOUR;
	ck_assert_uint_eq(policy_bootstrap_streak(&h, &sc->ds_k, 1, NOW,
						  &since), 3);
	ck_assert_int_eq(since, NOW - 80 * HOUR);
}
END_TEST

/*
 * The numbers of the "scan N of K, eligible after TIME" detail are in
 * the decision too (boot_scan, boot_needed, boot_eligible), for the
 * recorder to store: status reads them, not the text. Other decisions
 * carry none.
 */
START_TEST(t5_delay_progress_fields_set)
{
	struct cds_history h;
	struct cds_decision d;

	delay_only();
	sc->cfg.bootstrap_delay_scans = 4;
	sc->cfg.bootstrap_delay = 50 * HOUR;
	scan_with(NULL, NOW, &d);
	ck_decision(&d, CDS_DEC_PENDING, CDS_R_BOOTSTRAP_WAITING);
	ck_assert_uint_eq(d.boot_scan, 1);
	ck_assert_uint_eq(d.boot_needed, 4);
	ck_assert_int_eq(d.boot_eligible, NOW + 50 * HOUR);
	ck_detail(&d, "scan 1 of 4");

	hist_of(&h, 2, NOW - 30 * HOUR, &sc->ds_k);
	scan_with(&h, NOW, &d);
	ck_decision(&d, CDS_DEC_PENDING, CDS_R_BOOTSTRAP_WAITING);
	ck_assert_uint_eq(d.boot_scan, 3);
	ck_assert_uint_eq(d.boot_needed, 4);
	ck_assert_int_eq(d.boot_eligible, NOW + 20 * HOUR);
	ck_detail(&d, "scan 3 of 4");

	/* the scan that completes the streak says where it stood */
	hist_of(&h, 3, NOW - 60 * HOUR, &sc->ds_k);
	scan_with(&h, NOW, &d);
	ck_decision(&d, CDS_DEC_UPDATE, CDS_R_BOOTSTRAP_DELAY);
	ck_assert_uint_eq(d.boot_scan, 4);
	ck_assert_uint_eq(d.boot_needed, 4);
	ck_assert_int_eq(d.boot_eligible, NOW - 10 * HOUR);

	/* no streak counted: nothing to store */
	sc->cfg.bootstrap = 0;
	scan_with(&h, NOW, &d);
	ck_decision(&d, CDS_DEC_REJECTED, CDS_R_BOOTSTRAP_DISABLED);
	ck_assert_uint_eq(d.boot_scan, 0);
	ck_assert_uint_eq(d.boot_needed, 0);
	ck_assert_int_eq(d.boot_eligible, 0);
}
END_TEST

/* Silence breaks the streak: no Q4 exclusion while bootstrapping. */
START_TEST(t5_delay_silent_server_not_counted)
{
	struct cds_history h;
	struct cds_decision d;

	delay_only();
	sc->obs[1].error = CDS_ETIMEOUT;
	sc->obs[1].unreachable_since = NOW - 7200;
	sc->cfg.exclude_unreachable_after = 3600;
	hist_of(&h, 2, NOW - 80 * HOUR, &sc->ds_k);
	scan_with(&h, NOW, &d);
	ck_decision(&d, CDS_DEC_PENDING,
		    CDS_R_BOOTSTRAP_SERVER_UNREACHABLE);
	ck_assert_uint_eq(d.n_proposed, 0);
}
END_TEST

/* Both methods: a valid signal skips the wait; a failed one waits, and
   says why RFC 9615 did not apply. */
START_TEST(t5_both_methods)
{
	struct cds_decision d;

	sc->cfg.bootstrap = POLICY_BOOT_RFC9615 | POLICY_BOOT_DELAY;
	scan_with(NULL, NOW, &d);
	ck_decision(&d, CDS_DEC_UPDATE, CDS_R_BOOTSTRAP_RFC9615);
	sc->obs[1].signal.cds_rr.sec = CDS_SEC_INSECURE;
	scan_with(NULL, NOW, &d);
	ck_decision(&d, CDS_DEC_PENDING, CDS_R_BOOTSTRAP_WAITING);
	ck_detail(&d, "RFC 9615: ");
	ck_detail(&d, "insecure");
}
END_TEST

/* ---- helpers -------------------------------------------------------- */

START_TEST(test_ns_in_child)
{
	ck_assert(policy_ns_in_child("example.co.uk.", "ns3.example.co.uk."));
	ck_assert(policy_ns_in_child("example.co.uk.", "NS3.Example.CO.uk"));
	ck_assert(policy_ns_in_child("example.co.uk", "example.co.uk."));
	ck_assert(!policy_ns_in_child("example.co.uk.", "ns1.example.net."));
	ck_assert(!policy_ns_in_child("example.co.uk.", "ns.badexample.co.uk."));
	ck_assert(!policy_ns_in_child("example.co.uk.", "co.uk."));
}
END_TEST

START_TEST(test_bootstrap_ds_builds_like_a_rollover)
{
	struct cds_server_obs *o = &sc->obs[0];
	struct cds_ds out[CDS_DS_MAX], sha1;
	size_t n;

	/* CDS first, accepted digest types only */
	ck_assert_int_eq(cds_ds_from_dnskey(CHILD, &sc->other, 1, &sha1),
			 CDS_OK);
	{
		struct cds_ds two[2] = {sc->ds_k, sha1};

		o->cds = two;
		o->n_cds = 2;
		ck_assert_int_eq(policy_bootstrap_ds(CHILD, o, &sc->cfg, out,
						     &n), CDS_OK);
		ck_assert_uint_eq(n, 1);
		ck_assert(cds_ds_equal(&out[0], &sc->ds_k));
	}
	/* no CDS: computed from CDNSKEY */
	o->cds_rr.state = CDS_RR_NODATA;
	o->cdnskey = &sc->other;
	ck_assert_int_eq(policy_bootstrap_ds(CHILD, o, &sc->cfg, out, &n),
			 CDS_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert(cds_ds_equal(&out[0], &sc->ds_other));
	/* policy.input cds: CDNSKEY ignored, nothing proposed */
	sc->cfg.input = POLICY_INPUT_CDS;
	ck_assert_int_eq(policy_bootstrap_ds(CHILD, o, &sc->cfg, out, &n),
			 CDS_OK);
	ck_assert_uint_eq(n, 0);
}
END_TEST

static Suite *bootstrap_suite(void)
{
	Suite *s = suite_create("bootstrap");
	TCase *tc = tcase_create("rfc9615");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, t5_signals_at_ns1_and_ns2_success);
	tcase_add_test(tc, t5_signal_missing_at_ns2_abort);
	tcase_add_test(tc, t5_signaling_zone_insecure_abort);
	tcase_add_test(tc, t5_signaling_zone_bogus_abort);
	tcase_add_test(tc, t5_signal_indeterminate_abort);
	tcase_add_test(tc, t5_ns3_unreachable_abort_no_exclusion);
	tcase_add_test(tc, t5_all_ns_in_domain_never_bootstrapped);
	tcase_add_test(tc, t5_already_secure_not_a_bootstrap);
	tcase_add_test(tc, t5_signal_mismatch_per_type);
	tcase_add_test(tc, t5_signal_lookup_failed_pending);
	tcase_add_test(tc, t5_proposed_ds_does_not_prove_dnskey);
	tcase_add_test(tc, t5_servers_disagree_while_bootstrapping);
	tcase_add_test(tc, t5_bootstrap_off_disabled);
	suite_add_tcase(s, tc);

	tc = tcase_create("delay");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, t5_delay_first_scan_waits);
	tcase_add_test(tc, t5_delay_third_scan_after_72h_completes);
	tcase_add_test(tc, t5_delay_third_scan_too_early_waits);
	tcase_add_test(tc, t5_delay_enough_time_too_few_scans_waits);
	tcase_add_test(tc, t5_delay_changed_request_resets);
	tcase_add_test(tc, t5_delay_change_by_other_means_resets);
	tcase_add_test(tc, t5_delay_progress_fields_set);
	tcase_add_test(tc, t5_delay_silent_server_not_counted);
	tcase_add_test(tc, t5_both_methods);
	suite_add_tcase(s, tc);

	tc = tcase_create("helpers");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_ns_in_child);
	tcase_add_test(tc, test_bootstrap_ds_builds_like_a_rollover);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(bootstrap_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
