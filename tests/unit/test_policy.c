/*
 * Unit tests for policy_decide_ds: one table row per T line of
 * ../shared/docs/STANDARDS.md that a single decision can show (§2, §3,
 * §4, §7, §8, and the §1 W lines about record values), plus the policy
 * switches (accept_any_dnskey, require_both, input, cdnskey_digest,
 * max_ds, exclude_unreachable_after) and an algorithm rollover 8 → 13.
 *
 * Rows describe servers compactly (key names, digest types, states);
 * build_case() turns them into real observations with real keys and DS
 * records computed by cds_ds_from_dnskey. The keys were made once with
 * `ldns-keygen -a 13|8|5 [-k] child.example`; only their public parts are
 * here.
 *
 * T lines not covered here, and why:
 *  - §2 "3 NS names with IPv4 and IPv6 → 6 queries": the scanner's job
 *    (which addresses are asked), not a decision.
 *  - §3 "an older, replayed RRset → ignored" (C6): needs the last accepted
 *    RRSIG inception, which struct cds_delegation does not carry yet; the
 *    registry pipeline covers it (issue 4). obs.cds_rr.sig_inception is
 *    already there for it.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "policy/policy.h"

#define OWNER "child.example."
#define NOW 1700000000

enum key_id { K_NONE = 0, K_A, K_B, K_N, Z_A, K_8, K_5, K__COUNT };

static const char *const key_text[K__COUNT] = {
	/* provider/operator A's KSK, 26056 */
	[K_A] = "257 3 13 LdK+06aZQMYnFD68wj61VRIpVfwSS3ZYSH4qrIhmaJ+7JDHo"
		"rbNlxs9PcDZQiGrRfgJb/U524YEUt0ip1o4iCA==",
	/* provider B's KSK, 17493 */
	[K_B] = "257 3 13 dH9ixZJ5/kNHo3kU71cgMBf/nW5lgV2Yb/NLJJCQOE+a/zjD"
		"L/+lh0It1/g9tlWbe3Iuu+bVHJrsDzZ0qV87Qw==",
	/* A's next KSK, 58706 */
	[K_N] = "257 3 13 oq5hLAuyz/KtH5ztoZ79iOn/Tz8RWkPJaV7Ry/GPWiouKmRe"
		"aVLP8tO7gDjkznIf1OwqZLdbRase2KWYitlA9g==",
	/* A's ZSK, 31875 */
	[Z_A] = "256 3 13 iCNttSGbtv965hdqjCt9SkKT3XIy0zKY3pSrjS2OXmvYgdRD"
		"TWiOXZTGS9DP7fr4IIWdkL9FiOYy1piWmjvSug==",
	/* RSASHA256 KSK, 10300 */
	[K_8] = "257 3 8 AwEAAZmeuFWRH0e91hRea5QnUM9qb+Jhy7ZbBIWJdA49luQPmm"
		"omKTvG9qOM+pj9F2/gFIB4IdpVuycAD40oKfTkE3H/k5EqL9SJDc9ELstv"
		"pv+hu2GFFJUupsHMpzkqaFgaQoKzCVhYX3kj0tLo6agqlerzg82sNOZX2EO"
		"jCFtEoOzP",
	/* RSASHA1 KSK, 6811 (RFC 9905: no new DS) */
	[K_5] = "257 3 5 AwEAAdYFQsFZ0cqh30if08GHKojEENd9cfGKLB9pAv09hKT/LL"
		"T/5Am2vl1xmWW9sZezUuRAANZ/4XfdhnDxmQMPCwSBlNEBL38nHjulGgzyg"
		"peOJL/hDY3d49kPL4CaGA+/DNqdDKwQ8zfl4vk+EFsbIV6Die3jZvBz8TsE"
		"QMRdot/z",
};

/* How a record in a row is made from a key. */
enum rec_kind {
	R_KEY = 0,   /* DS of key with digest dt, or the key itself */
	R_DEL,       /* CDS 0 0 0 00 / CDNSKEY 0 3 0 AA== */
	R_DEL_EMPTY, /* CDS 0 0 0 0 / CDNSKEY 0 3 0 0 (RFC 8078 original) */
	R_SHORT,     /* DS digest one octet short */
	R_DT0,       /* DS with digest type 0 but a real digest */
	R_NOZONE,    /* CDNSKEY with the Zone Key flag cleared */
	R_PROTO2,    /* CDNSKEY with protocol 2 */
};

struct rec {
	enum key_id key;
	uint8_t dt;
	enum rec_kind kind;
};

#define DS(k, d) {.key = (k), .dt = (d)}
#define KEY(k) {.key = (k)}
#define DEL {.kind = R_DEL}
#define DEL_EMPTY {.kind = R_DEL_EMPTY}

static bool rec_end(const struct rec *r)
{
	return r->key == K_NONE && r->kind == R_KEY;
}

/* Row states; 0 means "PRESENT when records are listed, else NODATA". */
enum st { ST_AUTO = 0, ST_NOTQ, ST_FAILED };
/* Row signature states; 0 means valid by a key of the DS set. */
enum sg { SG_DS = 0, SG_OTHER, SG_UNPROVEN, SG_UNSIGNED, SG_EXPIRED, SG_BOGUS };

#define MAXREC 8
#define MAXKEY 6
#define MAXSRV 4

struct srv {
	const char *name, *addr;
	int error;
	const char *error_text;
	int64_t unreachable_since;
	/* DNSKEY RRset and the keys whose RRSIG over it verifies; both
	   empty means {K_A, Z_A} signed by K_A. */
	enum key_id dnskey[MAXKEY], signs[MAXKEY];
	enum st dnskey_st;
	enum st cds_st;
	enum sg cds_sig;
	bool cds_overflow;
	struct rec cds[MAXREC];
	enum st key_st;
	enum sg key_sig;
	struct rec cdnskey[MAXREC];
};

#define NS1 .name = "ns1.example.net.", .addr = "192.0.2.1"
#define NS2 .name = "ns2.example.org.", .addr = "2001:db8::2"
#define NS3 .name = "ns3.example.com.", .addr = "192.0.2.3"
#define PA1 .name = "ns1.provider-a.example.", .addr = "192.0.2.11"
#define PA2 .name = "ns2.provider-a.example.", .addr = "192.0.2.12"
#define PB1 .name = "ns1.provider-b.example.", .addr = "198.51.100.21"
#define PB2 .name = "ns2.provider-b.example.", .addr = "198.51.100.22"

struct pcase {
	const char *name;
	struct rec ds[MAXREC]; /* current DS set; empty = unsigned child */
	struct srv srv[MAXSRV];
	/* policy switches; zero values keep the defaults */
	enum policy_input input;
	bool require_both, accept_any;
	uint32_t exclude_after;
	unsigned max_ds;
	uint8_t cdnskey_digest;
	uint32_t digest_types;
	bool bootstrap_off; /* policy.bootstrap: [] */
	/* expected */
	enum cds_verdict verdict;
	enum cds_reason reason;
	struct rec proposed[MAXREC];
	const char *detail[3]; /* substrings the detail must hold */
};

/* Everything one row turns into; big, so on the heap. */
struct built {
	struct cds_delegation deleg;
	struct cds_ds ds[MAXREC];
	struct cds_server_obs obs[MAXSRV];
	struct cds_dnskey dnskey[MAXSRV][MAXKEY];
	bool signs[MAXSRV][MAXKEY];
	struct cds_ds cds[MAXSRV][MAXREC];
	struct cds_dnskey cdnskey[MAXSRV][MAXREC];
	size_t n_obs;
};

static struct cds_dnskey keys[K__COUNT];

static void load_keys(void)
{
	int k;

	for (k = K_A; k < K__COUNT; k++)
		ck_assert_int_eq(cds_dnskey_parse(key_text[k], &keys[k]), CDS_OK);
}

static void make_ds(const struct rec *r, struct cds_ds *out)
{
	memset(out, 0, sizeof *out);
	if (r->kind == R_DEL || r->kind == R_DEL_EMPTY) {
		out->digest_len = r->kind == R_DEL ? 1 : 0;
		return;
	}
	if (cds_ds_from_dnskey(OWNER, &keys[r->key], r->dt, out) != CDS_OK) {
		/* A digest type we do not compute (GOST): right length,
		   made-up digest, real key tag. */
		out->keytag = cds_keytag(&keys[r->key]);
		out->alg = keys[r->key].alg;
		out->digest_type = r->dt;
		out->digest_len = (uint8_t)cds_digest_len(r->dt);
		memset(out->digest, 0x5a, out->digest_len);
	}
	if (r->kind == R_SHORT)
		out->digest_len--;
	if (r->kind == R_DT0)
		out->digest_type = 0;
}

static void make_key(const struct rec *r, struct cds_dnskey *out)
{
	memset(out, 0, sizeof *out);
	if (r->kind == R_DEL || r->kind == R_DEL_EMPTY) {
		out->protocol = 3;
		out->key_len = r->kind == R_DEL ? 1 : 0;
		return;
	}
	*out = keys[r->key];
	if (r->kind == R_NOZONE)
		out->flags &= (uint16_t)~CDS_DNSKEY_ZONE;
	if (r->kind == R_PROTO2)
		out->protocol = 2;
}

static enum cds_sigstate sig_of(enum sg s)
{
	static const enum cds_sigstate map[] = {
		[SG_DS] = CDS_SIG_VALID_DS_KEY, [SG_OTHER] = CDS_SIG_VALID_OTHER,
		[SG_UNPROVEN] = CDS_SIG_UNPROVEN, [SG_UNSIGNED] = CDS_SIG_UNSIGNED,
		[SG_EXPIRED] = CDS_SIG_EXPIRED, [SG_BOGUS] = CDS_SIG_BOGUS,
	};
	return map[s];
}

static void fill_rr(struct cds_rrset_obs *rr, enum st st, enum sg sig,
		    size_t n)
{
	if (st == ST_NOTQ) {
		rr->state = CDS_RR_NOT_QUERIED;
		return;
	}
	if (st == ST_FAILED) {
		rr->state = CDS_RR_FAILED;
		rr->error = CDS_ETIMEOUT;
		return;
	}
	rr->state = n > 0 ? CDS_RR_PRESENT : CDS_RR_NODATA;
	rr->sig = n > 0 ? sig_of(sig) : CDS_SIG_NA;
	rr->count = (unsigned)n;
	rr->ttl = 3600;
	if (n > 0) {
		rr->sig_inception = NOW - 86400;
		rr->sig_expiration = sig == SG_EXPIRED ? NOW - 3600 : NOW + 86400;
		rr->sig_keytag = sig == SG_OTHER ? cds_keytag(&keys[Z_A])
						 : cds_keytag(&keys[K_A]);
	}
}

static void build_dnskey(const struct srv *s, struct built *b, size_t i)
{
	static const enum key_id def_keys[] = {K_A, Z_A}, def_signs[] = {K_A};
	const enum key_id *ks = s->dnskey, *sg = s->signs;
	size_t nk, ns, j, m;
	struct cds_server_obs *o = &b->obs[i];

	for (nk = 0; nk < MAXKEY && ks[nk] != K_NONE; nk++)
		;
	for (ns = 0; ns < MAXKEY && sg[ns] != K_NONE; ns++)
		;
	if (nk == 0 && ns == 0) {
		ks = def_keys;
		sg = def_signs;
		nk = 2;
		ns = 1;
	}
	for (j = 0; j < nk; j++) {
		b->dnskey[i][j] = keys[ks[j]];
		for (m = 0; m < ns; m++)
			b->signs[i][j] |= sg[m] == ks[j];
	}
	o->dnskey = b->dnskey[i];
	o->dnskey_signs = b->signs[i];
	o->n_dnskey = nk;
	fill_rr(&o->dnskey_rr, s->dnskey_st, SG_DS, nk);
	o->dnskey_proven = true;
}

static void build_server(const struct srv *s, struct built *b, size_t i)
{
	struct cds_server_obs *o = &b->obs[i];
	size_t n;

	snprintf(o->name, sizeof o->name, "%s", s->name);
	snprintf(o->addr, sizeof o->addr, "%s", s->addr);
	o->error = s->error;
	snprintf(o->error_text, sizeof o->error_text, "%s",
		 s->error_text ? s->error_text : "");
	o->unreachable_since = s->unreachable_since;
	if (s->error != CDS_OK)
		return;
	build_dnskey(s, b, i);
	for (n = 0; n < MAXREC && !rec_end(&s->cds[n]); n++)
		make_ds(&s->cds[n], &b->cds[i][n]);
	o->cds = b->cds[i];
	o->n_cds = n;
	fill_rr(&o->cds_rr, s->cds_st, s->cds_sig, n);
	if (s->cds_overflow) {
		o->cds_rr.overflow = true;
		o->cds_rr.count = 40;
		o->n_cds = 0;
	}
	for (n = 0; n < MAXREC && !rec_end(&s->cdnskey[n]); n++)
		make_key(&s->cdnskey[n], &b->cdnskey[i][n]);
	o->cdnskey = b->cdnskey[i];
	o->n_cdnskey = n;
	fill_rr(&o->cdnskey_rr, s->key_st, s->key_sig, n);
}

static struct built *build_case(const struct pcase *c)
{
	struct built *b = calloc(1, sizeof *b);
	size_t n;

	ck_assert_ptr_nonnull(b);
	snprintf(b->deleg.name, sizeof b->deleg.name, "%s", OWNER);
	for (n = 0; n < MAXREC && !rec_end(&c->ds[n]); n++)
		make_ds(&c->ds[n], &b->ds[n]);
	b->deleg.ds = b->ds;
	b->deleg.n_ds = n;
	for (n = 0; n < MAXSRV && c->srv[n].name != NULL; n++)
		build_server(&c->srv[n], b, n);
	b->n_obs = n;
	return b;
}

static void config_for(const struct pcase *c, struct policy_config *cfg)
{
	policy_config_default(cfg);
	cfg->input = c->input;
	cfg->require_both = c->require_both;
	cfg->accept_any_dnskey = c->accept_any;
	cfg->exclude_unreachable_after = c->exclude_after;
	if (c->max_ds != 0)
		cfg->max_ds = c->max_ds;
	if (c->cdnskey_digest != 0)
		cfg->cdnskey_digest = c->cdnskey_digest;
	if (c->digest_types != 0)
		cfg->digest_types = c->digest_types;
	if (c->bootstrap_off)
		cfg->bootstrap = 0;
}

static void check_proposed(const struct pcase *c, const struct cds_decision *d)
{
	struct cds_ds want[MAXREC];
	size_t n, i;

	for (n = 0; n < MAXREC && !rec_end(&c->proposed[n]); n++)
		make_ds(&c->proposed[n], &want[n]);
	qsort(want, n, sizeof want[0], cds_ds_cmp);
	ck_assert_msg(d->n_proposed == n, "%s: %zu DS proposed, want %zu",
		      c->name, d->n_proposed, n);
	/* Canonical order, so element-wise. */
	for (i = 0; i < n; i++)
		ck_assert_msg(cds_ds_equal(&d->proposed[i], &want[i]),
			      "%s: proposed[%zu] differs", c->name, i);
}

static void run_case(const struct pcase *c)
{
	struct policy_config cfg;
	struct cds_decision d;
	struct built *b = build_case(c);
	size_t i;

	config_for(c, &cfg);
	memset(&d, 0xee, sizeof d); /* policy must fill every field */
	policy_decide_ds(&b->deleg, b->obs, b->n_obs, &cfg, NOW, &d);
	ck_assert_msg(strnlen(d.detail, sizeof d.detail) < sizeof d.detail,
		      "%s: detail not NUL-terminated", c->name);
	ck_assert_msg(d.verdict == c->verdict && d.reason == c->reason,
		      "%s: got %s/%s, want %s/%s: %s", c->name,
		      cds_verdict_name(d.verdict), cds_reason_name(d.reason),
		      cds_verdict_name(c->verdict), cds_reason_name(c->reason),
		      d.detail);
	for (i = 0; i < 3 && c->detail[i] != NULL; i++)
		ck_assert_msg(strstr(d.detail, c->detail[i]) != NULL,
			      "%s: detail lacks \"%s\": %s", c->name,
			      c->detail[i], d.detail);
	check_proposed(c, &d);
	free(b);
}

/* The usual scene: DS {A}, A's DNSKEY RRset signed by A, A rolling to N. */
#define DNSKEY_A_N .dnskey = {K_A, K_N, Z_A}, .signs = {K_A}
#define CDS_A_N .cds = {DS(K_A, 2), DS(K_N, 2)}
#define CDNSKEY_A_N .cdnskey = {KEY(K_A), KEY(K_N)}

/* ---- §2 querying (RFC 9975 §3) ---------------------------------------- */
static const struct pcase q_cases[] = {
	{
		/* T: one server silent → retried, then excluded → update
		   goes ahead if the rest agree. */
		.name = "t2_one_server_silent_excluded_then_update_goes_ahead",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N, CDS_A_N, CDNSKEY_A_N},
			{NS2, DNSKEY_A_N, CDS_A_N, CDNSKEY_A_N},
			{NS3, .error = CDS_ETIMEOUT,
			 .error_text = "CDS: timeout after 3 tries",
			 .unreachable_since = NOW - 7200}},
		.exclude_after = 3600,
		.verdict = CDS_DEC_UPDATE, .reason = CDS_R_APPLY_UPDATE,
		.proposed = {DS(K_A, 2), DS(K_N, 2)},
		.detail = {"2 of 3 servers agree on CDS",
			   "left out ns3.example.com./192.0.2.3",
			   "timeout after 3 tries"},
	},
	{
		/* Same, but no history yet: retry first (Q4 [S]). */
		.name = "t2_one_server_silent_without_history_pending",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N, CDS_A_N, CDNSKEY_A_N},
			{NS2, DNSKEY_A_N, CDS_A_N, CDNSKEY_A_N},
			{NS3, .error = CDS_ETIMEOUT,
			 .error_text = "CDS: timeout after 3 tries"}},
		.exclude_after = 3600,
		.verdict = CDS_DEC_PENDING, .reason = CDS_R_SERVER_UNREACHABLE,
		.detail = {"ns3.example.com./192.0.2.3 did not answer"},
	},
	{
		.name = "t2_one_server_silent_not_long_enough_pending",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N, CDS_A_N, CDNSKEY_A_N},
			{NS3, .error = CDS_ENET, .error_text = "unreachable",
			 .unreachable_since = NOW - 600}},
		.exclude_after = 3600,
		.verdict = CDS_DEC_PENDING, .reason = CDS_R_SERVER_UNREACHABLE,
	},
	{
		.name = "t2_silent_server_never_excluded_when_policy_off",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N, CDS_A_N, CDNSKEY_A_N},
			{NS3, .error = CDS_ETIMEOUT, .error_text = "timeout",
			 .unreachable_since = NOW - 86400 * 30}},
		.verdict = CDS_DEC_PENDING, .reason = CDS_R_SERVER_UNREACHABLE,
	},
	{
		/* Only silence is excluded; a lame server is the child's
		   misconfiguration and holds everything. */
		.name = "t2_lame_server_not_excluded_server_error",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N, CDS_A_N, CDNSKEY_A_N},
			{NS2, .error = CDS_ELAME,
			 .error_text = "CDS: referral, AA=0",
			 .unreachable_since = NOW - 86400}},
		.exclude_after = 3600,
		.verdict = CDS_DEC_REJECTED, .reason = CDS_R_SERVER_ERROR,
		.detail = {"ns2.example.org./2001:db8::2", "referral, AA=0"},
	},
	{
		.name = "t2_servfail_server_error",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N, CDS_A_N},
			{NS2, .error = CDS_ERCODE,
			 .error_text = "CDNSKEY: rcode SERVFAIL"}},
		.verdict = CDS_DEC_REJECTED, .reason = CDS_R_SERVER_ERROR,
		.detail = {"SERVFAIL"},
	},
	{
		.name = "t2_every_server_excluded_pending",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, .error = CDS_ETIMEOUT, .error_text = "timeout",
			 .unreachable_since = NOW - 7200}},
		.exclude_after = 3600,
		.verdict = CDS_DEC_PENDING, .reason = CDS_R_SERVER_UNREACHABLE,
		.detail = {"no server"},
	},
	{
		/* T: one server gives a different CDS → no change. */
		.name = "t2_one_server_gives_a_different_cds_no_change",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N, CDS_A_N},
			{NS2, DNSKEY_A_N, .cds = {DS(K_A, 2)}}},
		.verdict = CDS_DEC_REJECTED, .reason = CDS_R_SERVERS_DISAGREE,
		.detail = {"ns2.example.org./2001:db8::2 serves CDS {26056 13 2",
			   "ns1.example.net./192.0.2.1 serves CDS {"},
	},
	{
		/* Q3: NODATA is a response, and the empty set. */
		.name = "t2_nodata_at_one_server_counts_as_empty_set",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N, CDS_A_N}, {NS2, DNSKEY_A_N}},
		.verdict = CDS_DEC_REJECTED, .reason = CDS_R_SERVERS_DISAGREE,
		.detail = {"serves no CDS (nodata) but"},
	},
	{
		/* T: all NODATA → no-op. */
		.name = "t2_all_nodata_noop",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1}, {NS2}, {NS3}},
		.verdict = CDS_DEC_UNCHANGED, .reason = CDS_R_NO_CDS,
	},
	{
		/* T: one bogus answer → [D] abort. */
		.name = "t2_one_bogus_answer_abort",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N, CDS_A_N},
			{NS2, DNSKEY_A_N, CDS_A_N, .cds_sig = SG_BOGUS}},
		.verdict = CDS_DEC_REJECTED, .reason = CDS_R_SIG_INVALID,
		.detail = {"ns2.example.org./2001:db8::2", "bogus"},
	},
	{
		/* Q6: the first answer confirms the status quo, the scanner
		   stopped early. */
		.name = "t2_early_stop_after_nodata_noop",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1}, {NS2, .cds_st = ST_NOTQ, .key_st = ST_NOTQ}},
		.verdict = CDS_DEC_UNCHANGED, .reason = CDS_R_NO_CDS,
	},
	{
		.name = "t2_early_stop_same_as_current_noop",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, .cds = {DS(K_A, 2)}},
			{NS2, .cds_st = ST_NOTQ, .key_st = ST_NOTQ}},
		.verdict = CDS_DEC_UNCHANGED, .reason = CDS_R_SAME_AS_CURRENT,
	},
	{
		/* A change needs every server's answer. */
		.name = "t2_change_with_a_server_not_asked_pending",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N, CDS_A_N},
			{NS2, .cds_st = ST_NOTQ, .key_st = ST_NOTQ}},
		.verdict = CDS_DEC_PENDING, .reason = CDS_R_SERVER_UNREACHABLE,
		.detail = {"ns2.example.org./2001:db8::2"},
	},
	{
		.name = "t2_change_with_dnskey_not_asked_pending",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N, CDS_A_N},
			{NS2, DNSKEY_A_N, CDS_A_N, .dnskey_st = ST_FAILED}},
		.verdict = CDS_DEC_PENDING, .reason = CDS_R_SERVER_UNREACHABLE,
		.detail = {"no DNSKEY answer"},
	},
};

/* ---- §3 CDS/CDNSKEY acceptance ---------------------------------------- */
static const struct pcase c_cases[] = {
	{
		/* T: CDS signed only by a ZSK not in the DS RRset →
		   rejected and logged. */
		.name = "t3_cds_signed_only_by_zsk_not_in_ds_rejected",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N, CDS_A_N, .cds_sig = SG_OTHER}},
		.verdict = CDS_DEC_REJECTED, .reason = CDS_R_SIG_NOT_DS_KEY,
		.detail = {"signed only by key 31875", "KSK"},
	},
	{
		.name = "t3_accept_any_dnskey_takes_zsk_signed_cds",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N, CDS_A_N, .cds_sig = SG_OTHER}},
		.accept_any = true,
		.verdict = CDS_DEC_UPDATE, .reason = CDS_R_APPLY_UPDATE,
		.proposed = {DS(K_A, 2), DS(K_N, 2)},
	},
	{
		.name = "t3_accept_any_dnskey_still_needs_a_proven_dnskey_set",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N, CDS_A_N, .cds_sig = SG_UNPROVEN}},
		.accept_any = true,
		.verdict = CDS_DEC_REJECTED, .reason = CDS_R_DNSKEY_UNPROVEN,
		.detail = {"ns1.example.net./192.0.2.1"},
	},
	{
		.name = "t3_cdnskey_unsigned_rejected",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N, CDS_A_N, CDNSKEY_A_N,
			 .key_sig = SG_UNSIGNED}},
		.verdict = CDS_DEC_REJECTED, .reason = CDS_R_SIG_INVALID,
		.detail = {"CDNSKEY", "unsigned"},
	},
	{
		.name = "t3_expired_signature_rejected",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N, CDS_A_N, .cds_sig = SG_EXPIRED}},
		.verdict = CDS_DEC_REJECTED, .reason = CDS_R_SIG_INVALID,
		.detail = {"outside its validity"},
	},
	{
		/* T: CDS {old, new} → DS replaced. */
		.name = "t3_cds_old_new_ds_replaced",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N, CDS_A_N, CDNSKEY_A_N},
			{NS2, DNSKEY_A_N, CDS_A_N, CDNSKEY_A_N}},
		.verdict = CDS_DEC_UPDATE, .reason = CDS_R_APPLY_UPDATE,
		.proposed = {DS(K_A, 2), DS(K_N, 2)},
		.detail = {"2 of 2 servers agree on CDS"},
	},
	{
		/* The rollover's last step: the new key signs, the old DS
		   goes. Signed by N, which the current DS refers to. */
		.name = "t3_rollover_completes_old_ds_removed",
		.ds = {DS(K_A, 2), DS(K_N, 2)},
		.srv = {{NS1, .dnskey = {K_N, Z_A}, .signs = {K_N},
			 .cds = {DS(K_N, 2)}, .cdnskey = {KEY(K_N)}}},
		.verdict = CDS_DEC_UPDATE, .reason = CDS_R_APPLY_UPDATE,
		.proposed = {DS(K_N, 2)},
	},
	{
		/* T: CDS {new}, new not in DNSKEY → rejected. */
		.name = "t3_cds_new_not_in_dnskey_rejected",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, .cds = {DS(K_N, 2)}}},
		.verdict = CDS_DEC_REJECTED, .reason = CDS_R_BREAKS_DELEGATION,
		.detail = {"ns1.example.net./192.0.2.1", "ECDSAP256SHA256",
			   "26056/13"},
	},
	{
		/* C1 "must not break": in DNSKEY is not enough, it must
		   sign it. */
		.name = "t3_cds_new_in_dnskey_but_not_signing_rejected",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N, .cds = {DS(K_N, 2)}}},
		.verdict = CDS_DEC_REJECTED, .reason = CDS_R_BREAKS_DELEGATION,
	},
	{
		/* C8: a spare key not yet in DNSKEY is fine next to one
		   that signs. */
		.name = "t3_spare_key_not_in_dnskey_accepted",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, .cds = {DS(K_A, 2), DS(K_N, 2)}}},
		.verdict = CDS_DEC_UPDATE, .reason = CDS_R_APPLY_UPDATE,
		.proposed = {DS(K_A, 2), DS(K_N, 2)},
	},
	{
		/* T: CDS and CDNSKEY disagree → no change. */
		.name = "t3_cds_and_cdnskey_disagree_no_change",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N, CDS_A_N, .cdnskey = {KEY(K_A)}}},
		.verdict = CDS_DEC_REJECTED,
		.reason = CDS_R_CDS_CDNSKEY_MISMATCH,
		.detail = {"CDS 58706 13 2", "matches no CDNSKEY"},
	},
	{
		.name = "t3_cdnskey_key_without_cds_no_change",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N, .cds = {DS(K_A, 2)}, CDNSKEY_A_N}},
		.verdict = CDS_DEC_REJECTED,
		.reason = CDS_R_CDS_CDNSKEY_MISMATCH,
		.detail = {"CDNSKEY 257 3 13 oq5hLAuy... (tag 58706)"},
	},
	{
		.name = "t3_cdnskey_differs_between_servers_no_change",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N, CDS_A_N, CDNSKEY_A_N},
			{NS2, DNSKEY_A_N, CDS_A_N, .cdnskey = {KEY(K_A)}}},
		.verdict = CDS_DEC_REJECTED, .reason = CDS_R_SERVERS_DISAGREE,
		.detail = {"serves CDNSKEY {257 3 13 LdK+06aZ... (tag 26056)}"},
	},
	{
		/* T: a key offered as SHA-1 and SHA-256 → publish SHA-256
		   only. */
		.name = "t3_key_offered_as_sha1_and_sha256_publish_sha256_only",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N,
			 .cds = {DS(K_A, 1), DS(K_A, 2), DS(K_N, 1),
				 DS(K_N, 2)},
			 CDNSKEY_A_N}},
		.verdict = CDS_DEC_UPDATE, .reason = CDS_R_APPLY_UPDATE,
		.proposed = {DS(K_A, 2), DS(K_N, 2)},
	},
	{
		/* T: a key offered only as a SHA-1 CDS → no change. */
		.name = "t3_key_offered_only_as_sha1_cds_no_change",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N, .cds = {DS(K_N, 1)}}},
		.verdict = CDS_DEC_REJECTED, .reason = CDS_R_NO_ELIGIBLE_DIGEST,
		.detail = {"accepted: 2, 4"},
	},
	{
		/* RFC 9975 §3.1 "eligible": N offered only as SHA-1 is not
		   referenced, so CDNSKEY naming it does not match. */
		.name = "t3_sha1_only_key_in_cdnskey_is_unmatched",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N, .cds = {DS(K_A, 2), DS(K_N, 1)},
			 CDNSKEY_A_N}},
		.verdict = CDS_DEC_REJECTED,
		.reason = CDS_R_CDS_CDNSKEY_MISMATCH,
		.detail = {"tag 58706"},
	},
	{
		.name = "t3_input_cds_ignores_disagreeing_cdnskey",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N, CDS_A_N, .cdnskey = {KEY(K_B)}},
			{NS2, DNSKEY_A_N, CDS_A_N, .cdnskey = {KEY(K_8)}}},
		.input = POLICY_INPUT_CDS,
		.verdict = CDS_DEC_UPDATE, .reason = CDS_R_APPLY_UPDATE,
		.proposed = {DS(K_A, 2), DS(K_N, 2)},
	},
	{
		.name = "t3_input_cdnskey_ignores_cds",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N, .cds = {DS(K_B, 2)}, CDNSKEY_A_N}},
		.input = POLICY_INPUT_CDNSKEY,
		.verdict = CDS_DEC_UPDATE, .reason = CDS_R_APPLY_UPDATE,
		.proposed = {DS(K_A, 2), DS(K_N, 2)},
		.detail = {"agree on CDNSKEY"},
	},
	{
		.name = "t3_input_cds_child_with_cdnskey_only_noop",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N, CDNSKEY_A_N}},
		.input = POLICY_INPUT_CDS,
		.verdict = CDS_DEC_UNCHANGED, .reason = CDS_R_NO_CDS,
		.detail = {"ignored by policy.input"},
	},
	{
		/* C3: with CDNSKEY, compute the DS (SHA-256 by default). */
		.name = "t3_cdnskey_only_child_ds_computed_sha256",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N, CDNSKEY_A_N},
			{NS2, DNSKEY_A_N, CDNSKEY_A_N}},
		.verdict = CDS_DEC_UPDATE, .reason = CDS_R_APPLY_UPDATE,
		.proposed = {DS(K_A, 2), DS(K_N, 2)},
	},
	{
		.name = "t3_cdnskey_only_child_ds_computed_sha384_by_config",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N, CDNSKEY_A_N}},
		.cdnskey_digest = 4,
		.verdict = CDS_DEC_UPDATE, .reason = CDS_R_APPLY_UPDATE,
		.proposed = {DS(K_A, 4), DS(K_N, 4)},
	},
	{
		/* STANDARDS §13.1 switch. */
		.name = "t13_require_both_with_cds_only_rejected",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N, CDS_A_N}},
		.require_both = true,
		.verdict = CDS_DEC_REJECTED, .reason = CDS_R_INPUT_MISSING,
		.detail = {"publishes CDS but no CDNSKEY"},
	},
	{
		.name = "t13_require_both_with_cdnskey_only_rejected",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N, CDNSKEY_A_N}},
		.require_both = true,
		.verdict = CDS_DEC_REJECTED, .reason = CDS_R_INPUT_MISSING,
	},
	{
		.name = "t13_cds_only_child_accepted_by_default",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N, CDS_A_N}},
		.verdict = CDS_DEC_UPDATE, .reason = CDS_R_APPLY_UPDATE,
		.proposed = {DS(K_A, 2), DS(K_N, 2)},
	},
	{
		.name = "t3_duplicate_cds_records_collapse",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N,
			 .cds = {DS(K_N, 2), DS(K_A, 2), DS(K_N, 2)}}},
		.verdict = CDS_DEC_UPDATE, .reason = CDS_R_APPLY_UPDATE,
		.proposed = {DS(K_A, 2), DS(K_N, 2)},
	},
	{
		.name = "t3_more_ds_than_max_ds_rejected",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N, CDS_A_N}},
		.max_ds = 1,
		.verdict = CDS_DEC_REJECTED, .reason = CDS_R_TOO_MANY_DS,
		.detail = {"at most 1"},
	},
	{
		.name = "t3_rrset_larger_than_we_keep_rejected",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N, .cds = {DS(K_A, 2)},
			 .cds_overflow = true}},
		.verdict = CDS_DEC_REJECTED, .reason = CDS_R_TOO_MANY_RECORDS,
		.detail = {"serves 40 CDS records"},
	},
	{
		/* M3: signers may leave CDS in place. */
		.name = "t7_cds_equal_to_current_ds_noop",
		.ds = {DS(K_A, 2), DS(K_N, 2)},
		.srv = {{NS1, DNSKEY_A_N, .cds = {DS(K_N, 2), DS(K_A, 2)},
			 CDNSKEY_A_N}},
		.verdict = CDS_DEC_UNCHANGED, .reason = CDS_R_SAME_AS_CURRENT,
	},
};

/* ---- §4 delete (RFC 8078 §4, Errata 5049) ----------------------------- */
static const struct pcase d_cases[] = {
	{
		/* T: every server serves the delete records → DS removed. */
		.name = "t4_every_server_serves_delete_ds_removed",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, .cds = {DEL}, .cdnskey = {DEL}},
			{NS2, .cds = {DEL}, .cdnskey = {DEL}}},
		.verdict = CDS_DEC_DELETE, .reason = CDS_R_APPLY_DELETE,
		.detail = {"2 of 2 servers serve the delete CDS and CDNSKEY"},
	},
	{
		.name = "t4_delete_in_rfc8078_original_spelling_understood",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, .cds = {DEL_EMPTY}, .cdnskey = {DEL_EMPTY}}},
		.verdict = CDS_DEC_DELETE, .reason = CDS_R_APPLY_DELETE,
	},
	{
		.name = "t4_delete_cds_only_child_ds_removed",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, .cds = {DEL}}, {NS2, .cds = {DEL}}},
		.verdict = CDS_DEC_DELETE, .reason = CDS_R_APPLY_DELETE,
	},
	{
		/* T: one server still serves the old CDS → no change. */
		.name = "t4_one_server_still_serves_old_cds_no_change",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, .cds = {DEL}},
			{NS2, .cds = {DS(K_A, 2)}}},
		.verdict = CDS_DEC_REJECTED, .reason = CDS_R_DELETE_PARTIAL,
		.detail = {"ns2.example.org./2001:db8::2 serves CDS {26056",
			   "serves CDS {0 0 0 00}"},
	},
	{
		/* D3: delete at one server, NODATA at another. */
		.name = "t4_delete_at_one_server_nodata_at_another_no_change",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, .cdnskey = {DEL}}, {NS2}},
		.verdict = CDS_DEC_REJECTED, .reason = CDS_R_DELETE_PARTIAL,
		.detail = {"serves no CDNSKEY (nodata) but"},
	},
	{
		/* The two spellings are different rdata: servers of one zone
		   serve the same bytes, so a mix is a disagreement. */
		.name = "t4_two_delete_spellings_across_servers_disagree",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, .cds = {DEL}}, {NS2, .cds = {DEL_EMPTY}}},
		.verdict = CDS_DEC_REJECTED, .reason = CDS_R_SERVERS_DISAGREE,
	},
	{
		/* T: child has no DS → no-op. */
		.name = "t4_child_has_no_ds_noop",
		.srv = {{NS1, .cds = {DEL}, .cdnskey = {DEL},
			 .cds_sig = SG_UNPROVEN, .key_sig = SG_UNPROVEN}},
		.verdict = CDS_DEC_UNCHANGED, .reason = CDS_R_ALREADY_INSECURE,
	},
	{
		.name = "t4_no_ds_and_keys_offered_bootstrap_disabled",
		.srv = {{NS1, .cds = {DS(K_A, 2)}, .cds_sig = SG_UNPROVEN}},
		.bootstrap_off = true,
		.verdict = CDS_DEC_REJECTED, .reason = CDS_R_BOOTSTRAP_DISABLED,
		.detail = {"RFC 9615"},
	},
	{
		/* T: a delete record next to other records → ignored. */
		.name = "t4_delete_record_next_to_other_records_ignored",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, .cds = {DEL, DS(K_A, 2)}}},
		.verdict = CDS_DEC_REJECTED, .reason = CDS_R_DELETE_MALFORMED,
		.detail = {"next to 1 other record(s)"},
	},
	{
		.name = "t4_delete_in_cds_keys_in_cdnskey_mismatch",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, .cds = {DEL}, .cdnskey = {KEY(K_A)}}},
		.verdict = CDS_DEC_REJECTED,
		.reason = CDS_R_CDS_CDNSKEY_MISMATCH,
	},
	{
		/* D2: the delete must validate under the current DS. */
		.name = "t4_unsigned_delete_rejected",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, .cds = {DEL}, .cds_sig = SG_UNSIGNED}},
		.verdict = CDS_DEC_REJECTED, .reason = CDS_R_SIG_INVALID,
	},
	{
		.name = "t4_delete_with_a_server_not_asked_pending",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, .cds = {DEL}}, {NS2, .cds_st = ST_NOTQ}},
		.verdict = CDS_DEC_PENDING, .reason = CDS_R_SERVER_UNREACHABLE,
	},
};

/* ---- §7 multi-signer (RFC 8901 model 2) ------------------------------- */
#define SIGNER_A .dnskey = {K_A, Z_A}, .signs = {K_A}
#define SIGNER_B .dnskey = {K_B, Z_A}, .signs = {K_B}
static const struct pcase m_cases[] = {
	{
		/* T: provider B joins → CDS {A, B} at both → DS gets both.
		   B's NS come later (CSYNC), so only A's servers are in
		   the delegation; B's key is not in A's DNSKEY set (C8). */
		.name = "t7_provider_b_joins_cds_a_b_ds_gets_both",
		.ds = {DS(K_A, 2)},
		.srv = {{PA1, SIGNER_A, .cds = {DS(K_A, 2), DS(K_B, 2)},
			 .cdnskey = {KEY(K_A), KEY(K_B)}},
			{PA2, SIGNER_A, .cds = {DS(K_A, 2), DS(K_B, 2)},
			 .cdnskey = {KEY(K_A), KEY(K_B)}}},
		.verdict = CDS_DEC_UPDATE, .reason = CDS_R_APPLY_UPDATE,
		.proposed = {DS(K_A, 2), DS(K_B, 2)},
	},
	{
		/* T: B's CDS lists only its own key → no change
		   (RFC 9975 App. A.3.1, A.4). */
		.name = "t7_b_cds_lists_only_its_own_key_no_change",
		.ds = {DS(K_A, 2), DS(K_B, 2)},
		.srv = {{PA1, SIGNER_A, .cds = {DS(K_A, 2), DS(K_B, 2)}},
			{PB1, SIGNER_B, .cds = {DS(K_B, 2)}}},
		.verdict = CDS_DEC_REJECTED, .reason = CDS_R_SERVERS_DISAGREE,
		.detail = {"ns1.provider-b.example./198.51.100.21 serves CDS "
			   "{17493"},
	},
	{
		/* T: leaving runs in reverse: NS removed first, then DS.
		   B's NS are gone; A's servers ask for A only. */
		.name = "t7_leaving_ds_shrinks_after_b_ns_removed",
		.ds = {DS(K_A, 2), DS(K_B, 2)},
		.srv = {{PA1, SIGNER_A, .cds = {DS(K_A, 2)}},
			{PA2, SIGNER_A, .cds = {DS(K_A, 2)}}},
		.verdict = CDS_DEC_UPDATE, .reason = CDS_R_APPLY_UPDATE,
		.proposed = {DS(K_A, 2)},
	},
	{
		/* M2: each server against its own DNSKEY RRset; the sets
		   differ between providers and that is fine. */
		.name = "t7_each_server_checked_against_its_own_dnskey_set",
		.ds = {DS(K_A, 2), DS(K_B, 2)},
		.srv = {{PA1, SIGNER_A,
			 .cds = {DS(K_A, 2), DS(K_B, 2), DS(K_N, 2)}},
			{PB1, SIGNER_B,
			 .cds = {DS(K_A, 2), DS(K_B, 2), DS(K_N, 2)}}},
		.verdict = CDS_DEC_UPDATE, .reason = CDS_R_APPLY_UPDATE,
		.proposed = {DS(K_A, 2), DS(K_B, 2), DS(K_N, 2)},
	},
	{
		/* Dropping A's signing KSK leaves A's servers with no DS
		   for a key that signs their DNSKEY RRset (A4). */
		.name = "t7_dropping_a_providers_signing_key_breaks_it",
		.ds = {DS(K_A, 2), DS(K_B, 2)},
		.srv = {{PA1, .dnskey = {K_A, K_N, Z_A}, .signs = {K_A},
			 .cds = {DS(K_N, 2), DS(K_B, 2)}},
			{PB1, SIGNER_B, .cds = {DS(K_N, 2), DS(K_B, 2)}}},
		.verdict = CDS_DEC_REJECTED, .reason = CDS_R_BREAKS_DELEGATION,
		.detail = {"ns1.provider-a.example./192.0.2.11"},
	},
};

/* ---- §8 algorithms and digests; §1 record values ---------------------- */
static const struct pcase a_cases[] = {
	{
		/* T: alg 13 with digest 2 → accepted. */
		.name = "t8_alg13_with_digest2_accepted",
		.ds = {DS(K_8, 2)},
		.srv = {{NS1, .dnskey = {K_8, K_A}, .signs = {K_8, K_A},
			 .cds = {DS(K_A, 2)}}},
		.verdict = CDS_DEC_UPDATE, .reason = CDS_R_APPLY_UPDATE,
		.proposed = {DS(K_A, 2)},
	},
	{
		/* T: CDNSKEY alg 5 → no DS created. */
		.name = "t8_cdnskey_alg5_no_ds_created",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, .dnskey = {K_A, K_5}, .signs = {K_A, K_5},
			 .cdnskey = {KEY(K_A), KEY(K_5)}}},
		.verdict = CDS_DEC_REJECTED, .reason = CDS_R_ALGORITHM_REFUSED,
		.detail = {"algorithm 5 (RSASHA1)"},
	},
	{
		.name = "t8_cds_alg5_refused_whole_update",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, .dnskey = {K_A, K_5}, .signs = {K_A, K_5},
			 .cds = {DS(K_A, 2), DS(K_5, 2)}}},
		.verdict = CDS_DEC_REJECTED, .reason = CDS_R_ALGORITHM_REFUSED,
		.detail = {"CDS 6811 5 2"},
	},
	{
		/* RFC 9904: GOST (3) is never accepted. */
		.name = "t8_gost_digest_never_accepted",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N, .cds = {DS(K_N, 3)}}},
		.verdict = CDS_DEC_REJECTED, .reason = CDS_R_NO_ELIGIBLE_DIGEST,
	},
	{
		.name = "t8_sha384_cds_accepted",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N, .cds = {DS(K_A, 4), DS(K_N, 4)}}},
		.verdict = CDS_DEC_UPDATE, .reason = CDS_R_APPLY_UPDATE,
		.proposed = {DS(K_A, 4), DS(K_N, 4)},
	},
	{
		/* C5: policy may limit the digest types it publishes. */
		.name = "t8_sha384_cds_refused_when_policy_takes_sha256_only",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N, .cds = {DS(K_A, 4), DS(K_N, 4)}}},
		.digest_types = 1u << 2,
		.verdict = CDS_DEC_REJECTED, .reason = CDS_R_NO_ELIGIBLE_DIGEST,
		.detail = {"accepted: 2;"},
	},
	/* Algorithm rollover 8 → 13 (RFC 6781 §4.1.4, RFC 6840 §5.11). */
	{
		.name = "t8_alg_rollover_8_to_13_step1_add_new_alg",
		.ds = {DS(K_8, 2)},
		.srv = {{NS1, .dnskey = {K_8, K_A, Z_A}, .signs = {K_8, K_A},
			 .cds = {DS(K_8, 2), DS(K_A, 2)},
			 .cdnskey = {KEY(K_8), KEY(K_A)}}},
		.verdict = CDS_DEC_UPDATE, .reason = CDS_R_APPLY_UPDATE,
		.proposed = {DS(K_8, 2), DS(K_A, 2)},
	},
	{
		.name = "t8_alg_rollover_8_to_13_new_alg_not_yet_signing_rejected",
		.ds = {DS(K_8, 2)},
		.srv = {{NS1, .dnskey = {K_8, K_A, Z_A}, .signs = {K_8},
			 .cds = {DS(K_8, 2), DS(K_A, 2)}}},
		.verdict = CDS_DEC_REJECTED, .reason = CDS_R_BREAKS_DELEGATION,
		.detail = {"no ECDSAP256SHA256 (13) key", "10300/8"},
	},
	{
		.name = "t8_alg_rollover_8_to_13_step2_drop_old_alg",
		.ds = {DS(K_8, 2), DS(K_A, 2)},
		.srv = {{NS1, .dnskey = {K_8, K_A, Z_A}, .signs = {K_8, K_A},
			 .cds = {DS(K_A, 2)}, .cdnskey = {KEY(K_A)}}},
		.verdict = CDS_DEC_UPDATE, .reason = CDS_R_APPLY_UPDATE,
		.proposed = {DS(K_A, 2)},
	},
	{
		.name = "t8_alg_rollover_8_to_13_step3_done_noop",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, .cds = {DS(K_A, 2)}, .cdnskey = {KEY(K_A)}}},
		.verdict = CDS_DEC_UNCHANGED, .reason = CDS_R_SAME_AS_CURRENT,
	},
	{
		/* W1 T: digest length ≠ type → reject. */
		.name = "t1_digest_length_not_matching_type_rejected",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N,
			 .cds = {DS(K_A, 2), {.key = K_N, .dt = 2,
					      .kind = R_SHORT}}}},
		.verdict = CDS_DEC_REJECTED, .reason = CDS_R_MALFORMED_RECORD,
		.detail = {"digest length does not match"},
	},
	{
		.name = "t1_cds_digest_type_0_outside_delete_rejected",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N,
			 .cds = {{.key = K_N, .dt = 2, .kind = R_DT0}}}},
		.verdict = CDS_DEC_REJECTED, .reason = CDS_R_MALFORMED_RECORD,
		.detail = {"digest type 0"},
	},
	{
		/* W5 T: protocol ≠ 3 or Zone Key bit clear → reject. */
		.name = "t1_cdnskey_zone_key_bit_clear_rejected",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N,
			 .cdnskey = {KEY(K_A), {.key = K_N, .kind = R_NOZONE}}}},
		.verdict = CDS_DEC_REJECTED, .reason = CDS_R_MALFORMED_RECORD,
		.detail = {"Zone Key flag is clear"},
	},
	{
		.name = "t1_cdnskey_protocol_not_3_rejected",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N,
			 .cdnskey = {{.key = K_N, .kind = R_PROTO2}}}},
		.verdict = CDS_DEC_REJECTED, .reason = CDS_R_MALFORMED_RECORD,
		.detail = {"protocol must be 3"},
	},
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

START_TEST(test_querying)
{
	run_case(&q_cases[_i]);
}
END_TEST

START_TEST(test_acceptance)
{
	run_case(&c_cases[_i]);
}
END_TEST

START_TEST(test_delete)
{
	run_case(&d_cases[_i]);
}
END_TEST

START_TEST(test_multi_signer)
{
	run_case(&m_cases[_i]);
}
END_TEST

START_TEST(test_algorithms)
{
	run_case(&a_cases[_i]);
}
END_TEST

/* ---- early stop (STANDARDS Q6, RFC 9975 §3) ------------------------- */

/*
 * One server's answer, and whether it confirms the status quo. Each row
 * is checked three ways: policy_early_stop itself; policy_decide_ds on
 * that answer as an early-stopped probe hands it back (DNSKEY not asked,
 * signatures not checked) — UNCHANGED with the same reason, else
 * no decision (PENDING, or REJECTED when refused anyway); and, for the rows that stop, policy_decide_ds on a full probe
 * where two servers validly say the same — the same UNCHANGED and
 * reason, so that stopping early never changes the outcome.
 */
struct ecase {
	const char *name;
	struct rec ds[MAXREC];
	struct srv srv;
	enum policy_input input;
	bool require_both;
	unsigned max_ds;
	uint32_t digest_types;
	bool stop;
	enum cds_reason reason;
};

static const struct ecase e_cases[] = {
	{"q6-nodata-both-stops", .ds = {DS(K_A, 2)}, .srv = {NS1},
	 .stop = true, .reason = CDS_R_NO_CDS},
	{"q6-cds-equal-stops", .ds = {DS(K_A, 2)},
	 .srv = {NS1, .cds = {DS(K_A, 2)}},
	 .stop = true, .reason = CDS_R_SAME_AS_CURRENT},
	{"q6-cds-and-cdnskey-equal-stop", .ds = {DS(K_A, 2)},
	 .srv = {NS1, .cds = {DS(K_A, 2)}, .cdnskey = {KEY(K_A)}},
	 .stop = true, .reason = CDS_R_SAME_AS_CURRENT},
	{"q6-cds-equal-as-a-set-stops", .ds = {DS(K_N, 2), DS(K_A, 2)},
	 .srv = {NS1, DNSKEY_A_N, .cds = {DS(K_A, 2), DS(K_N, 2), DS(K_A, 2)}},
	 .stop = true, .reason = CDS_R_SAME_AS_CURRENT},
	{"q6-cds-differs-goes-on", .ds = {DS(K_A, 2)},
	 .srv = {NS1, DNSKEY_A_N, CDS_A_N, CDNSKEY_A_N}},
	{"q6-cds-subset-goes-on", .ds = {DS(K_A, 2), DS(K_N, 2)},
	 .srv = {NS1, DNSKEY_A_N, .cds = {DS(K_N, 2)}}},
	{"q6-only-cdnskey-equal-stops", .ds = {DS(K_A, 2)},
	 .srv = {NS1, .cdnskey = {KEY(K_A)}},
	 .stop = true, .reason = CDS_R_SAME_AS_CURRENT},
	{"q6-only-cdnskey-other-digest-goes-on", .ds = {DS(K_A, 4)},
	 .srv = {NS1, .cdnskey = {KEY(K_A)}}},
	{"q6-delete-goes-on", .ds = {DS(K_A, 2)},
	 .srv = {NS1, .cds = {DEL}, .cdnskey = {DEL}}},
	{"q6-delete-cdnskey-only-goes-on", .ds = {DS(K_A, 2)},
	 .srv = {NS1, .cdnskey = {DEL}}},
	{"q6-server-timeout-goes-on", .ds = {DS(K_A, 2)},
	 .srv = {NS1, .error = CDS_ETIMEOUT, .error_text = "CDS: timeout"}},
	{"q6-server-lame-goes-on", .ds = {DS(K_A, 2)},
	 .srv = {NS1, .error = CDS_ELAME, .error_text = "CDS: AA=0"}},
	{"q6-cdnskey-failed-goes-on", .ds = {DS(K_A, 2)},
	 .srv = {NS1, .cds = {DS(K_A, 2)}, .key_st = ST_FAILED}},
	{"q6-cds-equal-cdnskey-differs-goes-on", .ds = {DS(K_A, 2)},
	 .srv = {NS1, DNSKEY_A_N, .cds = {DS(K_A, 2)}, CDNSKEY_A_N}},
	{"q6-cdnskey-equal-cds-differs-goes-on", .ds = {DS(K_A, 2)},
	 .srv = {NS1, DNSKEY_A_N, CDS_A_N, .cdnskey = {KEY(K_A)}}},
	{"q6-two-keys-cds-and-cdnskey-equal-stop",
	 .ds = {DS(K_A, 2), DS(K_N, 2)},
	 .srv = {NS1, DNSKEY_A_N, .cds = {DS(K_N, 2), DS(K_A, 2)},
		 .cdnskey = {KEY(K_A), KEY(K_N)}},
	 .stop = true, .reason = CDS_R_SAME_AS_CURRENT},
	{"q6-cds-equal-cdnskey-names-one-of-two-goes-on",
	 .ds = {DS(K_A, 2), DS(K_N, 2)},
	 .srv = {NS1, DNSKEY_A_N, .cds = {DS(K_A, 2), DS(K_N, 2)},
		 .cdnskey = {KEY(K_A)}}},
	{"q6-sha1-next-to-equal-sha256-stops", .ds = {DS(K_A, 2)},
	 .srv = {NS1, .cds = {DS(K_A, 1), DS(K_A, 2)}},
	 .stop = true, .reason = CDS_R_SAME_AS_CURRENT},
	{"q6-sha1-only-goes-on", .ds = {DS(K_A, 2)},
	 .srv = {NS1, .cds = {DS(K_A, 1)}}},
	{"q6-extra-sha384-goes-on", .ds = {DS(K_A, 2)},
	 .srv = {NS1, .cds = {DS(K_A, 2), DS(K_A, 4)}}},
	{"q6-sha384-not-accepted-stops", .ds = {DS(K_A, 2)},
	 .srv = {NS1, .cds = {DS(K_A, 2), DS(K_A, 4)}},
	 .digest_types = 1u << 2, .stop = true,
	 .reason = CDS_R_SAME_AS_CURRENT},
	{"q6-malformed-next-to-equal-goes-on", .ds = {DS(K_A, 2)},
	 .srv = {NS1, .cds = {DS(K_A, 2), {.key = K_N, .dt = 2,
					    .kind = R_SHORT}}}},
	{"q6-cdnskey-protocol-2-goes-on", .ds = {DS(K_A, 2)},
	 .srv = {NS1, .cds = {DS(K_A, 2)},
		 .cdnskey = {{.key = K_A, .kind = R_PROTO2}}}},
	{"q6-refused-algorithm-goes-on", .ds = {DS(K_5, 2)},
	 .srv = {NS1, .dnskey = {K_5}, .signs = {K_5},
		 .cds = {DS(K_5, 2)}, .cdnskey = {KEY(K_5)}}},
	{"q6-too-many-ds-goes-on", .ds = {DS(K_A, 2), DS(K_N, 2)},
	 .srv = {NS1, DNSKEY_A_N, CDS_A_N}, .max_ds = 1},
	{"q6-overflow-goes-on", .ds = {DS(K_A, 2)},
	 .srv = {NS1, .cds_overflow = true}},
	{"q6-require-both-one-alone-goes-on", .ds = {DS(K_A, 2)},
	 .srv = {NS1, .cds = {DS(K_A, 2)}}, .require_both = true},
	{"q6-input-cds-ignores-cdnskey", .ds = {DS(K_A, 2)},
	 .srv = {NS1, DNSKEY_A_N, .cds = {DS(K_A, 2)}, CDNSKEY_A_N},
	 .input = POLICY_INPUT_CDS, .stop = true,
	 .reason = CDS_R_SAME_AS_CURRENT},
	{"q6-input-cdnskey-ignores-cds", .ds = {DS(K_A, 2)},
	 .srv = {NS1, DNSKEY_A_N, CDS_A_N, .cdnskey = {KEY(K_A)}},
	 .input = POLICY_INPUT_CDNSKEY, .stop = true,
	 .reason = CDS_R_SAME_AS_CURRENT},
	{"q6-unsigned-child-nodata-stops", .srv = {NS1},
	 .stop = true, .reason = CDS_R_NO_CDS},
	{"q6-unsigned-child-delete-stops", .srv = {NS1, .cds = {DEL},
						   .cdnskey = {DEL}},
	 .stop = true, .reason = CDS_R_ALREADY_INSECURE},
	{"q6-unsigned-child-cds-goes-on", .srv = {NS1, .cds = {DS(K_A, 2)}}},
};

static void run_early(const struct ecase *e)
{
	struct pcase pc = {.name = e->name, .input = e->input,
			   .require_both = e->require_both,
			   .max_ds = e->max_ds,
			   .digest_types = e->digest_types};
	struct policy_config cfg;
	struct cds_decision d;
	struct built *b;
	enum cds_reason r = CDS_R_NONE;
	bool stop;

	memcpy(pc.ds, e->ds, sizeof pc.ds);
	pc.srv[0] = e->srv;
	b = build_case(&pc);
	config_for(&pc, &cfg);

	stop = policy_early_stop(&b->deleg, &b->obs[0], &cfg, &r);
	ck_assert_msg(stop == e->stop, "%s: early stop %d, want %d", e->name,
		      stop, e->stop);
	if (stop)
		ck_assert_msg(r == e->reason, "%s: reason %s, want %s",
			      e->name, cds_reason_name(r),
			      cds_reason_name(e->reason));

	/* A full probe where a second server says the same, validly. */
	if (stop) {
		b->obs[1] = b->obs[0];
		snprintf(b->obs[1].addr, sizeof b->obs[1].addr, "192.0.2.99");
		policy_decide_ds(&b->deleg, b->obs, 2, &cfg, NOW, &d);
		ck_assert_msg(d.verdict == CDS_DEC_UNCHANGED && d.reason == r,
			      "%s: full probe says %s/%s: %s", e->name,
			      cds_verdict_name(d.verdict),
			      cds_reason_name(d.reason), d.detail);
	}

	/* The same answer as an early-stopped probe hands it back. */
	b->obs[0].dnskey_rr = (struct cds_rrset_obs){0};
	b->obs[0].n_dnskey = 0;
	b->obs[0].dnskey_proven = false;
	b->obs[0].soa = (struct cds_rrset_obs){0};
	b->obs[0].cds_rr.sig = CDS_SIG_NA;
	b->obs[0].cdnskey_rr.sig = CDS_SIG_NA;
	policy_decide_ds(&b->deleg, b->obs, 1, &cfg, NOW, &d);
	if (stop)
		ck_assert_msg(d.verdict == CDS_DEC_UNCHANGED && d.reason == r &&
				      strstr(d.detail, "(early stop, RFC 9975 §3)"),
			      "%s: early observation decided %s/%s: %s",
			      e->name, cds_verdict_name(d.verdict),
			      cds_reason_name(d.reason), d.detail);
	else /* the probe never hands such a one back alone; if it did,
		it must not pass for a decision (a failed server or an
		oversized RRset is refused before, as in a full probe) */
		ck_assert_msg(d.verdict == CDS_DEC_PENDING ||
				      d.verdict == CDS_DEC_REJECTED,
			      "%s: early observation that does not stop "
			      "decided %s/%s: %s", e->name,
			      cds_verdict_name(d.verdict),
			      cds_reason_name(d.reason), d.detail);
	free(b);
}

START_TEST(test_early_stop)
{
	run_early(&e_cases[_i]);
}
END_TEST

START_TEST(test_config_defaults)
{
	struct policy_config cfg;
	static const uint8_t never[] = {0, 1, 3, 5, 6, 7, 12, 253, 254};
	size_t i;

	policy_config_default(&cfg);
	ck_assert_uint_eq(cfg.digest_types, 1u << 2 | 1u << 4);
	ck_assert_uint_eq(cfg.cdnskey_digest, 2);
	ck_assert(cfg.accept_alg[8] && cfg.accept_alg[10] &&
		  cfg.accept_alg[13] && cfg.accept_alg[14] &&
		  cfg.accept_alg[15] && cfg.accept_alg[16]);
	for (i = 0; i < sizeof never; i++)
		ck_assert(!cfg.accept_alg[never[i]]);
	ck_assert_uint_eq(cfg.max_ds, 8);
	ck_assert_int_eq(cfg.input, POLICY_INPUT_BOTH);
	ck_assert(!cfg.require_both && !cfg.accept_any_dnskey);
	ck_assert_uint_eq(cfg.exclude_unreachable_after, 0);
}
END_TEST

/* A3: refused algorithms stay refused even if the configuration lists
   them; SHA-1 digests likewise. */
START_TEST(test_never_accepted_even_if_configured)
{
	static const struct pcase c = {
		.name = "alg5_and_sha1_enabled_in_config",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, .dnskey = {K_A, K_5}, .signs = {K_A, K_5},
			 .cds = {DS(K_A, 2), DS(K_5, 2)}}},
	};
	struct policy_config cfg;
	struct cds_decision d;
	struct built *b = build_case(&c);

	policy_config_default(&cfg);
	cfg.accept_alg[5] = true;
	cfg.digest_types |= 1u << 1;
	policy_decide_ds(&b->deleg, b->obs, b->n_obs, &cfg, NOW, &d);
	ck_assert_int_eq(d.verdict, CDS_DEC_REJECTED);
	ck_assert_int_eq(d.reason, CDS_R_ALGORITHM_REFUSED);
	free(b);
}
END_TEST

/* The detail stays bounded and names servers even with long names and
   many records. */
START_TEST(test_detail_bounded)
{
	static struct pcase c = {
		.name = "long_detail",
		.ds = {DS(K_A, 2)},
		.srv = {{NS1, DNSKEY_A_N,
			 .cds = {DS(K_A, 1), DS(K_A, 2), DS(K_A, 4), DS(K_N, 1),
				 DS(K_N, 2), DS(K_N, 4), DS(K_B, 2)}},
			{NS2, DNSKEY_A_N, .cds = {DS(K_A, 2)}}},
	};
	struct policy_config cfg;
	struct cds_decision d;
	struct built *b = build_case(&c);
	char longname[CDS_NAME_MAX];

	memset(longname, 'n', sizeof longname - 2);
	longname[sizeof longname - 2] = '.';
	longname[sizeof longname - 1] = '\0';
	memcpy(b->obs[0].name, longname, sizeof longname);
	memcpy(b->obs[1].name, longname, sizeof longname);
	memset(b->obs[1].error_text, 'e', sizeof b->obs[1].error_text - 1);
	policy_config_default(&cfg);
	policy_decide_ds(&b->deleg, b->obs, b->n_obs, &cfg, NOW, &d);
	ck_assert_int_eq(d.reason, CDS_R_SERVERS_DISAGREE);
	ck_assert_uint_lt(strnlen(d.detail, sizeof d.detail), sizeof d.detail);
	ck_assert_ptr_nonnull(strstr(d.detail, "+3 more"));
	free(b);
}
END_TEST

static Suite *policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc;

	tc = tcase_create("querying");
	tcase_add_unchecked_fixture(tc, load_keys, NULL);
	tcase_add_loop_test(tc, test_querying, 0, N_OF(q_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("acceptance");
	tcase_add_unchecked_fixture(tc, load_keys, NULL);
	tcase_add_loop_test(tc, test_acceptance, 0, N_OF(c_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("delete");
	tcase_add_unchecked_fixture(tc, load_keys, NULL);
	tcase_add_loop_test(tc, test_delete, 0, N_OF(d_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("multi_signer");
	tcase_add_unchecked_fixture(tc, load_keys, NULL);
	tcase_add_loop_test(tc, test_multi_signer, 0, N_OF(m_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("algorithms");
	tcase_add_unchecked_fixture(tc, load_keys, NULL);
	tcase_add_loop_test(tc, test_algorithms, 0, N_OF(a_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("early_stop");
	tcase_add_unchecked_fixture(tc, load_keys, NULL);
	tcase_add_loop_test(tc, test_early_stop, 0, N_OF(e_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("config");
	tcase_add_unchecked_fixture(tc, load_keys, NULL);
	tcase_add_test(tc, test_config_defaults);
	tcase_add_test(tc, test_never_accepted_even_if_configured);
	tcase_add_test(tc, test_detail_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(policy_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
