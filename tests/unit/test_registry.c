/*
 * Unit tests for the registry rules (policy_apply_registry, STANDARDS
 * §14 and C6) and for splitting notify.hook into words. One table row
 * per rule and per boundary: hold-down, replay protection (§3 T "an
 * older, replayed RRset → ignored"), locked, opt-out of the domain and
 * of its registrar, delete refused, the order in which they apply, and
 * the one event per streak of rejected scans.
 *
 * The observations are built by hand: these rules read only the
 * verdict policy_decide_ds reached, the signature inceptions of the
 * RRsets it read, the history and the clock given as `now`.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "policy/policy.h"

#define NOW 1700000000
#define HOUR 3600
#define DAY 86400

struct row {
	const char *name;
	/* the decision coming in */
	enum cds_verdict in;
	/* the domain */
	bool optout, reg_optout;
	const char *status;
	/* history */
	int64_t last_change;
	int64_t last_inc; /* hist.last_change_inception */
	unsigned streak;
	/* configuration */
	uint32_t hold_down;
	bool no_delete, no_replay;
	enum policy_input input;
	unsigned notify_after; /* 0: the default (3) */
	bool notify_never;
	/* RRSIG inceptions at two servers; 0 = no valid signature */
	uint32_t cds_inc[2], cdnskey_inc[2];
	/* expected */
	enum cds_verdict verdict;
	enum cds_reason reason;
	const char *detail[3]; /* substrings the detail must hold */
	unsigned event;
};

static const struct row rows[] = {
	/* ---- hold-down (RFC 7344 §6.1, STANDARDS C7) ---- */
	{"hold-down: a change an hour after the last one is held",
	 .in = CDS_DEC_UPDATE, .last_change = NOW - HOUR, .hold_down = DAY,
	 .cds_inc = {NOW - 60, NOW - 60},
	 .verdict = CDS_DEC_PENDING, .reason = CDS_R_HOLD_DOWN,
	 .detail = {"2023-11-14T21:13:20Z", "2023-11-15T21:13:20Z",
		    "asks for update"}},
	{"hold-down: a delete is held too", .in = CDS_DEC_DELETE,
	 .last_change = NOW - HOUR, .hold_down = DAY,
	 .cds_inc = {NOW - 60, NOW - 60},
	 .verdict = CDS_DEC_PENDING, .reason = CDS_R_HOLD_DOWN},
	{"hold-down: eligible exactly when it ends", .in = CDS_DEC_UPDATE,
	 .last_change = NOW - DAY, .hold_down = DAY,
	 .cds_inc = {NOW - 60, NOW - 60},
	 .verdict = CDS_DEC_UPDATE, .reason = CDS_R_APPLY_UPDATE},
	{"hold-down: off (0) lets the next change through",
	 .in = CDS_DEC_UPDATE, .last_change = NOW - 60,
	 .cds_inc = {NOW - 30, NOW - 30},
	 .verdict = CDS_DEC_UPDATE, .reason = CDS_R_APPLY_UPDATE},
	{"hold-down: never changed before → no hold", .in = CDS_DEC_UPDATE,
	 .hold_down = DAY, .cds_inc = {NOW - 30, NOW - 30},
	 .verdict = CDS_DEC_UPDATE, .reason = CDS_R_APPLY_UPDATE},

	/* ---- replay protection (C6, RFC 7344 §6.2; .se) ---- */
	{"replay: CDS signed before the last change → ignored",
	 .in = CDS_DEC_UPDATE, .last_change = NOW - DAY,
	 .cds_inc = {NOW - 2 * DAY, NOW - 2 * DAY},
	 .verdict = CDS_DEC_REJECTED, .reason = CDS_R_REPLAYED,
	 .detail = {"ns1.child.example./192.0.2.1", "CDS RRset signed at "
		    "2023-11-12T22:13:20Z", "2023-11-13T22:13:20Z"}},
	{"replay: inception equal to the last change is not newer",
	 .in = CDS_DEC_UPDATE, .last_change = NOW - DAY,
	 .cds_inc = {NOW - DAY, NOW - DAY},
	 .verdict = CDS_DEC_REJECTED, .reason = CDS_R_REPLAYED},
	{"replay: one server re-serves the old signature",
	 .in = CDS_DEC_UPDATE, .last_change = NOW - DAY,
	 .cds_inc = {NOW - 60, NOW - 2 * DAY},
	 .verdict = CDS_DEC_REJECTED, .reason = CDS_R_REPLAYED,
	 .detail = {"ns2.child.example./192.0.2.2"}},
	{"replay: an old CDNSKEY signature counts with input both",
	 .in = CDS_DEC_UPDATE, .last_change = NOW - DAY,
	 .cds_inc = {NOW - 60, NOW - 60},
	 .cdnskey_inc = {NOW - 2 * DAY, NOW - 60},
	 .verdict = CDS_DEC_REJECTED, .reason = CDS_R_REPLAYED,
	 .detail = {"CDNSKEY RRset"}},
	{"replay: ... but not with input cds, which never reads it",
	 .in = CDS_DEC_UPDATE, .last_change = NOW - DAY,
	 .input = POLICY_INPUT_CDS, .cds_inc = {NOW - 60, NOW - 60},
	 .cdnskey_inc = {NOW - 2 * DAY, NOW - 60},
	 .verdict = CDS_DEC_UPDATE, .reason = CDS_R_APPLY_UPDATE},
	{"replay: signed after the last change → applied",
	 .in = CDS_DEC_UPDATE, .last_change = NOW - DAY,
	 .cds_inc = {NOW - DAY + 1, NOW - 60},
	 .verdict = CDS_DEC_UPDATE, .reason = CDS_R_APPLY_UPDATE},
	{"replay: a delete signed before the last change → ignored",
	 .in = CDS_DEC_DELETE, .last_change = NOW - DAY,
	 .cds_inc = {NOW - 2 * DAY, NOW - 2 * DAY},
	 .verdict = CDS_DEC_REJECTED, .reason = CDS_R_REPLAYED},
	{"replay: no valid signature, nothing to replay",
	 .in = CDS_DEC_UPDATE, .last_change = NOW - DAY,
	 .verdict = CDS_DEC_UPDATE, .reason = CDS_R_APPLY_UPDATE},
	{"replay: protection off", .in = CDS_DEC_UPDATE, .no_replay = true,
	 .last_change = NOW - DAY, .cds_inc = {NOW - 2 * DAY, NOW - 2 * DAY},
	 .verdict = CDS_DEC_UPDATE, .reason = CDS_R_APPLY_UPDATE},
	/* The history knows the signatures that drove the last change
	   (audit evidence): compare with those, not the change's time. */
	{"replay: Knot back-dates inception 90 min; a fresh RRset signed "
	 "after the last change's RRsets is applied",
	 .in = CDS_DEC_UPDATE, .last_change = NOW - HOUR,
	 .last_inc = NOW - 2 * DAY, .cds_inc = {NOW - 90 * 60, NOW - 90 * 60},
	 .verdict = CDS_DEC_UPDATE, .reason = CDS_R_APPLY_UPDATE},
	{"replay: the RRsets the last change acted on → ignored",
	 .in = CDS_DEC_UPDATE, .last_change = NOW - HOUR,
	 .last_inc = NOW - 2 * DAY,
	 .cds_inc = {NOW - 2 * DAY, NOW - 2 * DAY},
	 .verdict = CDS_DEC_REJECTED, .reason = CDS_R_REPLAYED,
	 .detail = {"CDS RRset signed at 2023-11-12T22:13:20Z",
		    "applied at 2023-11-14T21:13:20Z",
		    "were signed (2023-11-12T22:13:20Z)"}},
	{"replay: older than the last change's RRsets → ignored",
	 .in = CDS_DEC_UPDATE, .last_change = NOW - HOUR,
	 .last_inc = NOW - 2 * DAY, .cds_inc = {NOW - 60, NOW - 3 * DAY},
	 .verdict = CDS_DEC_REJECTED, .reason = CDS_R_REPLAYED,
	 .detail = {"ns2.child.example./192.0.2.2"}},
	{"replay wins over hold-down", .in = CDS_DEC_UPDATE,
	 .last_change = NOW - HOUR, .hold_down = DAY,
	 .cds_inc = {NOW - DAY, NOW - DAY},
	 .verdict = CDS_DEC_REJECTED, .reason = CDS_R_REPLAYED},

	/* ---- locked, opt-out ---- */
	{"locked: serverUpdateProhibited", .in = CDS_DEC_UPDATE,
	 .status = "serverUpdateProhibited", .cds_inc = {NOW, NOW},
	 .verdict = CDS_DEC_REJECTED, .reason = CDS_R_LOCKED,
	 .detail = {"status serverUpdateProhibited blocks automation",
		    "asks for update"}},
	{"locked: status names compare without case", .in = CDS_DEC_DELETE,
	 .status = "clientupdateprohibited", .cds_inc = {NOW, NOW},
	 .verdict = CDS_DEC_REJECTED, .reason = CDS_R_LOCKED},
	{"locked: other statuses do not block", .in = CDS_DEC_UPDATE,
	 .status = "clientTransferProhibited", .cds_inc = {NOW, NOW},
	 .verdict = CDS_DEC_UPDATE, .reason = CDS_R_APPLY_UPDATE},
	{"opt-out: the domain", .in = CDS_DEC_UPDATE, .optout = true,
	 .cds_inc = {NOW, NOW},
	 .verdict = CDS_DEC_REJECTED, .reason = CDS_R_OPTED_OUT,
	 .detail = {"the domain opted out"}},
	{"opt-out: its registrar", .in = CDS_DEC_UPDATE, .reg_optout = true,
	 .cds_inc = {NOW, NOW},
	 .verdict = CDS_DEC_REJECTED, .reason = CDS_R_OPTED_OUT,
	 .detail = {"registrar reg-a opted out", "asks for update"}},
	{"opt-out wins over locked and replay", .in = CDS_DEC_UPDATE,
	 .reg_optout = true, .status = "serverUpdateProhibited",
	 .last_change = NOW - DAY, .cds_inc = {NOW - 2 * DAY, 0},
	 .verdict = CDS_DEC_REJECTED, .reason = CDS_R_OPTED_OUT},

	/* ---- delete allowed or not ---- */
	{"delete refused: policy.allow-delete off", .in = CDS_DEC_DELETE,
	 .no_delete = true, .cds_inc = {NOW, NOW},
	 .verdict = CDS_DEC_REJECTED, .reason = CDS_R_DELETE_REFUSED,
	 .detail = {"policy.allow-delete", "asks for delete"}},
	{"delete refused: updates still go through", .in = CDS_DEC_UPDATE,
	 .no_delete = true, .cds_inc = {NOW, NOW},
	 .verdict = CDS_DEC_UPDATE, .reason = CDS_R_APPLY_UPDATE},
	{"delete allowed by default", .in = CDS_DEC_DELETE,
	 .cds_inc = {NOW, NOW},
	 .verdict = CDS_DEC_DELETE, .reason = CDS_R_APPLY_DELETE},

	/* ---- one event per streak of rejections ---- */
	{"streak: the third rejection in a row gives an event",
	 .in = CDS_DEC_REJECTED, .streak = 2,
	 .verdict = CDS_DEC_REJECTED, .reason = CDS_R_SIG_INVALID, .event = 3},
	{"streak: the second does not", .in = CDS_DEC_REJECTED, .streak = 1,
	 .verdict = CDS_DEC_REJECTED, .reason = CDS_R_SIG_INVALID},
	{"streak: nor the fourth (one per streak)", .in = CDS_DEC_REJECTED,
	 .streak = 3, .verdict = CDS_DEC_REJECTED, .reason = CDS_R_SIG_INVALID},
	{"streak: a registry rule's rejection counts", .in = CDS_DEC_UPDATE,
	 .streak = 4, .notify_after = 5, .status = "serverUpdateProhibited",
	 .verdict = CDS_DEC_REJECTED, .reason = CDS_R_LOCKED, .event = 5},
	{"streak: the first rejection with notify-rejected-after 1",
	 .in = CDS_DEC_REJECTED, .notify_after = 1,
	 .verdict = CDS_DEC_REJECTED, .reason = CDS_R_SIG_INVALID, .event = 1},
	{"streak: notify-rejected-after 0 never", .in = CDS_DEC_REJECTED,
	 .streak = 2, .notify_never = true,
	 .verdict = CDS_DEC_REJECTED, .reason = CDS_R_SIG_INVALID},
	{"streak: a pending verdict is no rejection", .in = CDS_DEC_PENDING,
	 .streak = 2, .verdict = CDS_DEC_PENDING,
	 .reason = CDS_R_SERVER_UNREACHABLE},
};

static void fill_obs(struct cds_server_obs *o, int i, const struct row *r)
{
	memset(o, 0, sizeof *o);
	snprintf(o->name, sizeof o->name, "ns%d.child.example.", i + 1);
	snprintf(o->addr, sizeof o->addr, "192.0.2.%d", i + 1);
	o->cds_rr.state = CDS_RR_PRESENT;
	o->cdnskey_rr.state = CDS_RR_PRESENT;
	o->cds_rr.sig_inception = r->cds_inc[i];
	o->cdnskey_rr.sig_inception = r->cdnskey_inc[i];
	o->cds_rr.sig = r->cds_inc[i] ? CDS_SIG_VALID_DS_KEY : CDS_SIG_UNSIGNED;
	o->cdnskey_rr.sig =
		r->cdnskey_inc[i] ? CDS_SIG_VALID_DS_KEY : CDS_SIG_NA;
	if (!r->cdnskey_inc[i])
		o->cdnskey_rr.state = CDS_RR_NODATA;
}

static const enum cds_reason reason_in[] = {
	[CDS_DEC_UPDATE] = CDS_R_APPLY_UPDATE,
	[CDS_DEC_DELETE] = CDS_R_APPLY_DELETE,
	[CDS_DEC_REJECTED] = CDS_R_SIG_INVALID,
	[CDS_DEC_PENDING] = CDS_R_SERVER_UNREACHABLE,
};

START_TEST(test_rules)
{
	const struct row *r = &rows[_i];
	struct cds_server_obs obs[2];
	struct cds_history hist = {.last_change = r->last_change,
				   .last_change_inception = r->last_inc,
				   .rejected_streak = r->streak};
	const char *statuses[1] = {r->status};
	struct policy_domain dom = {.optout = r->optout,
				    .registrar = "reg-a",
				    .registrar_optout = r->reg_optout,
				    .n_statuses = r->status ? 1 : 0,
				    .statuses = statuses,
				    .hist = &hist};
	struct policy_config cfg;
	struct cds_decision dec;

	policy_config_default(&cfg);
	cfg.hold_down = r->hold_down;
	cfg.allow_delete = !r->no_delete;
	cfg.replay_protection = !r->no_replay;
	cfg.input = r->input;
	if (r->notify_after)
		cfg.notify_rejected_after = r->notify_after;
	if (r->notify_never)
		cfg.notify_rejected_after = 0;
	fill_obs(&obs[0], 0, r);
	fill_obs(&obs[1], 1, r);
	memset(&dec, 0, sizeof dec);
	dec.verdict = r->in;
	dec.reason = reason_in[r->in];
	snprintf(dec.detail, sizeof dec.detail, "2 of 2 servers agree");
	dec.n_proposed = r->in == CDS_DEC_UPDATE ? 1 : 0;

	policy_apply_registry(&dom, obs, 2, &cfg, NOW, &dec);

	ck_assert_msg(dec.verdict == r->verdict && dec.reason == r->reason,
		      "%s: got %s (%s), expected %s (%s): %s", r->name,
		      cds_verdict_name(dec.verdict),
		      cds_reason_name(dec.reason),
		      cds_verdict_name(r->verdict), cds_reason_name(r->reason),
		      dec.detail);
	for (int k = 0; k < 3 && r->detail[k]; k++)
		ck_assert_msg(strstr(dec.detail, r->detail[k]) != NULL,
			      "%s: detail '%s' lacks '%s'", r->name,
			      dec.detail, r->detail[k]);
	if (r->verdict != r->in)
		ck_assert_msg(strstr(dec.detail, "2 of 2 servers agree"),
			      "%s: the detail lost what the child asked: %s",
			      r->name, dec.detail);
	if (r->verdict == CDS_DEC_REJECTED)
		ck_assert_uint_eq(dec.n_proposed, 0);
	ck_assert_msg(dec.rejected_event == r->event,
		      "%s: rejected_event %u, expected %u", r->name,
		      dec.rejected_event, r->event);
}
END_TEST

/* A detail as long as policy_decide_ds can make stays terminated and
   keeps the rule's words in front. */
START_TEST(test_detail_bounded)
{
	struct cds_history hist = {.last_change = NOW - DAY};
	struct policy_domain dom = {.registrar = "reg-a", .hist = &hist};
	struct cds_server_obs obs[1];
	struct policy_config cfg;
	struct cds_decision dec;
	const struct row r = {.cds_inc = {NOW - 2 * DAY}};

	policy_config_default(&cfg);
	fill_obs(&obs[0], 0, &r);
	memset(obs[0].name, 'n', sizeof obs[0].name - 1);
	obs[0].name[sizeof obs[0].name - 1] = '\0';
	memset(&dec, 0, sizeof dec);
	dec.verdict = CDS_DEC_UPDATE;
	memset(dec.detail, 'x', sizeof dec.detail - 1);
	policy_apply_registry(&dom, obs, 1, &cfg, NOW, &dec);
	ck_assert_int_eq(dec.reason, CDS_R_REPLAYED);
	ck_assert_uint_lt(strnlen(dec.detail, sizeof dec.detail),
			  sizeof dec.detail);
	ck_assert_ptr_nonnull(strstr(dec.detail, "serves a CDS RRset"));
}
END_TEST

/*
 * cdscan scan decides without history first and reads it only where
 * policy_history_matters says it could change the decision. Over every
 * verdict and reason a decision can come in with, and histories that
 * each change some decision (a recent change under hold-down, a replay,
 * a rejected streak one short of the event, a bootstrap streak that
 * makes the delay), whenever the decision with history differs from the
 * one without, policy_history_matters must have said so.
 */
START_TEST(test_history_matters_when_it_changes_the_decision)
{
	struct cds_ds ds;
	struct cds_history hists[4] = {
		{.last_change = NOW - HOUR},
		{.last_change = NOW - 10 * DAY, .last_change_inception = NOW},
		{.rejected_streak = 2},
		{.boot_streak = 5, .boot_since = NOW - 10 * DAY, .n_boot_ds = 1},
	};
	const struct row r = {.cds_inc = {NOW - 60, NOW - 60}};
	struct cds_server_obs obs[2];
	struct policy_config cfg;
	unsigned changed[4] = {0};

	ck_assert_int_eq(cds_ds_parse("12345 13 2 "
				      "0123456789abcdef0123456789abcdef"
				      "0123456789abcdef0123456789abcdef",
				      &ds), 0);
	hists[3].boot_ds = &ds;
	policy_config_default(&cfg);
	cfg.hold_down = DAY;
	fill_obs(&obs[0], 0, &r);
	fill_obs(&obs[1], 1, &r);
	for (int v = CDS_DEC_UNCHANGED; v <= CDS_DEC_PENDING; v++) {
		for (int why = 0; why < CDS_R__COUNT; why++) {
			for (int h = 0; h < 4; h++) {
				struct policy_domain none = {.registrar = "r"};
				struct policy_domain dom = {.registrar = "r",
							    .hist = &hists[h]};
				struct cds_decision a, b;

				memset(&a, 0, sizeof a);
				a.verdict = (enum cds_verdict)v;
				a.reason = (enum cds_reason)why;
				a.n_proposed = 1;
				a.proposed[0] = ds;
				b = a;
				policy_bootstrap_progress(&none, &cfg, NOW, &a);
				policy_apply_registry(&none, obs, 2, &cfg, NOW,
						      &a);
				policy_bootstrap_progress(&dom, &cfg, NOW, &b);
				policy_apply_registry(&dom, obs, 2, &cfg, NOW,
						      &b);
				if (a.verdict == b.verdict &&
				    a.reason == b.reason &&
				    a.rejected_event == b.rejected_event &&
				    a.boot_scan == b.boot_scan &&
				    strcmp(a.detail, b.detail) == 0)
					continue;
				changed[h]++;
				ck_assert_msg(policy_history_matters(&a, obs, 2),
					      "%s %s: history %d makes it %s %s,"
					      " but it was decided without",
					      cds_verdict_name(a.verdict),
					      cds_reason_name(a.reason), h,
					      cds_verdict_name(b.verdict),
					      cds_reason_name(b.reason));
			}
		}
	}
	/* every history changed something: the test can fail */
	for (int h = 0; h < 4; h++)
		ck_assert_msg(changed[h] > 0, "history %d changed nothing", h);
	/* no CDS, no CSYNC: nothing to read */
	{
		struct cds_decision d = {.verdict = CDS_DEC_UNCHANGED,
					 .reason = CDS_R_NO_CDS};

		ck_assert(!policy_history_matters(&d, obs, 2));
		obs[1].csync.rr.state = CDS_RR_PRESENT;
		ck_assert(policy_history_matters(&d, obs, 2));
	}
}
END_TEST

START_TEST(test_config_keys)
{
	struct policy_config cfg;

	policy_config_default(&cfg);
	ck_assert_uint_eq(cfg.hold_down, 0);
	ck_assert(cfg.allow_delete);
	ck_assert(cfg.replay_protection);
	ck_assert_uint_eq(cfg.notify_rejected_after, 3);
}
END_TEST

/* ---- notify.hook words ---- */

static const struct {
	const char *line;
	int n;
	const char *words[5];
} splits[] = {
	{"/usr/bin/mail-hook", 1, {"/usr/bin/mail-hook"}},
	{"  hook  -a\tb  ", 3, {"hook", "-a", "b"}},
	{"hook 'two words' \"and $HOME\"", 3, {"hook", "two words", "and $HOME"}},
	{"hook a\\ b 'x\\y' \"q\\\"\"", 4, {"hook", "a b", "x\\y", "q\""}},
	{"hook ''", 2, {"hook", ""}},
	{"hook; rm -rf /", 4, {"hook;", "rm", "-rf", "/"}},
	{"hook 'open", -1, {NULL}},
	{"   ", -1, {NULL}},
};

START_TEST(test_hook_split)
{
	char buf[128], *argv[8], err[64];
	int n = cli_hook_split(splits[_i].line, buf, argv, 8, err, sizeof err);

	ck_assert_msg(n == splits[_i].n, "'%s': %d words, expected %d",
		      splits[_i].line, n, splits[_i].n);
	for (int k = 0; k < n; k++)
		ck_assert_str_eq(argv[k], splits[_i].words[k]);
	if (n > 0)
		ck_assert_ptr_null(argv[n]);
}
END_TEST

START_TEST(test_hook_split_too_many)
{
	char buf[64], *argv[4], err[64];

	ck_assert_int_eq(cli_hook_split("a b c d", buf, argv, 4, err,
					sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "more than 3"));
	ck_assert_int_eq(cli_hook_split("a b c", buf, argv, 4, err,
					sizeof err), 3);
}
END_TEST

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *registry_suite(void)
{
	Suite *s = suite_create("registry");
	TCase *tc;

	tc = tcase_create("rules");
	tcase_add_loop_test(tc, test_rules, 0, N_OF(rows));
	tcase_add_test(tc, test_detail_bounded);
	tcase_add_test(tc, test_history_matters_when_it_changes_the_decision);
	tcase_add_test(tc, test_config_keys);
	suite_add_tcase(s, tc);

	tc = tcase_create("hook");
	tcase_add_loop_test(tc, test_hook_split, 0, N_OF(splits));
	tcase_add_test(tc, test_hook_split_too_many);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(registry_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
