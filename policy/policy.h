/*
 * Registry policy: the pure function from (delegation, observations,
 * configuration, now) to a decision with its reason. No I/O, no clock, no
 * sockets: everything it needs is an argument, so tests can drive every
 * rule from a table.
 *
 * Rules implemented here cite ../shared/docs/STANDARDS.md (§1–4, §7, §8)
 * and the RFC sections behind them.
 */
#ifndef CDS_POLICY_POLICY_H
#define CDS_POLICY_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/decision.h"
#include "core/obs.h"

#define POLICY_STATUS_MAX 16 /* blocking status names kept */
#define POLICY_STATUS_LEN 48

/* Which published type drives the decision (RFC 7344 §6, STANDARDS §13.1) */
enum policy_input {
	POLICY_INPUT_BOTH = 0, /* use what the child publishes; when it
	                          publishes both they must agree (9975 §3.1) */
	POLICY_INPUT_CDS,      /* CDS only; CDNSKEY ignored */
	POLICY_INPUT_CDNSKEY,  /* CDNSKEY only; CDS ignored */
};

/* Bootstrap methods (policy.bootstrap, STANDARDS §5): a bit set. */
#define POLICY_BOOT_RFC9615 0x1u /* RFC 9615 authenticated signals */
#define POLICY_BOOT_DELAY 0x2u   /* RFC 8078 §3 accept after delay */

struct policy_config {
	/* Accepted DS digest types: bit n set = type n accepted (RFC 9904).
	   Default: 2 and 4. Types 0, 1 and 3 are never accepted. */
	uint32_t digest_types;
	/* Digest type computed from CDNSKEY. Default 2 (SHA-256). */
	uint8_t cdnskey_digest;
	/* Accepted DNSKEY algorithms: accept_alg[a] for algorithm a.
	   Default 8, 10, 13, 14, 15, 16 (RFC 9904, RFC 9905). 1, 3, 5, 6, 7,
	   12, 253 and 254 are never accepted. */
	bool accept_alg[256];
	/* Largest DS set we install. Default 8. */
	unsigned max_ds;
	enum policy_input input;
	/* Reject when a child publishes only one of CDS/CDNSKEY. Default off. */
	bool require_both;
	/* RFC 7344 §4.1 switch: accept CDS/CDNSKEY signed by any key of the
	   proven DNSKEY set, not only by one in both DS and DNSKEY. Off. */
	bool accept_any_dnskey;
	/* Q4: a server silent for at least this many seconds (per the
	   history in obs.unreachable_since) is left out of the agreement
	   check instead of holding the delegation pending. 0 = never. */
	uint32_t exclude_unreachable_after;
	/* Domain status flags (EPP RFC 5731 §2.3 names) that stop
	   automation. Default serverUpdateProhibited, clientUpdateProhibited. */
	size_t n_blocking;
	char blocking[POLICY_STATUS_MAX][POLICY_STATUS_LEN];
	/* Initial enrollment of a delegation without DS: POLICY_BOOT_*
	   bits. Default RFC9615; 0 = off (reason bootstrap-disabled). */
	unsigned bootstrap;
	/* Accept after delay: the same request on this many consecutive
	   scans (default 3) spanning at least this many seconds (72 h). */
	unsigned bootstrap_delay_scans;
	uint32_t bootstrap_delay;
	/* Registry rules (STANDARDS §14, policy_apply_registry). Minimum
	   seconds between two DS changes cdscan applies to one domain
	   (RFC 7344 §6.1 allows holding a change). Default 0 = off. */
	uint32_t hold_down;
	/* Ignore a CDS/CDNSKEY RRset whose RRSIG is not newer than the last
	   change applied (RFC 7344 §6.2). Default true. */
	bool replay_protection;
	/* Carry out a delete request (RFC 8078 §4). Default true. */
	bool allow_delete;
	/* Rejected on this many scans in a row → one event. 0 = never.
	   Default 3. */
	unsigned notify_rejected_after;
	/* CSYNC (RFC 7477, STANDARDS §6; policy/csync.c). Act on CSYNC at
	   all (policy.csync, default true); act at once when the immediate
	   flag is set (policy.csync-immediate, default true; off: every
	   change is held for approval, Y3 [MAY]); NS set size bounds
	   (policy.csync-min-ns 2, policy.csync-max-ns 13; Y6 [MAY]). */
	bool csync;
	bool csync_immediate;
	unsigned csync_min_ns, csync_max_ns;
};

/* What the registry holds about a domain beyond its DS set. */
struct policy_domain {
	bool optout;                  /* the registrant opted out */
	const char *registrar;        /* borrowed; NULL or "" when unknown */
	bool registrar_optout;        /* the registrar opted all its domains out */
	size_t n_statuses;
	const char *const *statuses;  /* borrowed; EPP status names */
	const struct cds_history *hist; /* borrowed; NULL: nothing known */
};

/* Fill `cfg` with the defaults above. */
void policy_config_default(struct policy_config *cfg);

/*
 * Decide what the DS set of `deleg` should become, from what every server
 * said (`obs[0..n_obs)`). `now` is unix time (used only with
 * exclude_unreachable_after). Always fills `out`; never fails.
 *
 * `obs` may be the single observation of a probe that stopped early
 * (see policy_early_stop): the decision is then UNCHANGED with the
 * early reason, or PENDING if that answer does not confirm the status
 * quo under `cfg` (e.g. a different configuration than the probe had).
 */
void policy_decide_ds(const struct cds_delegation *deleg,
		      const struct cds_server_obs *obs, size_t n_obs,
		      const struct policy_config *cfg, int64_t now,
		      struct cds_decision *out);

/*
 * Early stop (STANDARDS Q6 [MAY], RFC 9975 §3; policy/early.c): does the
 * answer of this one server `obs` confirm the status quo of `deleg`, so
 * that the decision is "unchanged" whatever the other servers say?
 * True, with *reason set, when for the types policy.input reads:
 *   - neither CDS nor CDNSKEY is published (NODATA) → CDS_R_NO_CDS;
 *   - the parent holds no DS and the child serves only the delete
 *     record(s) → CDS_R_ALREADY_INSECURE;
 *   - the DS set policy_decide_ds would build from them (eligible digest
 *     types, accepted algorithms, DS computed from CDNSKEY, CDS and
 *     CDNSKEY naming the same keys) equals the current one as a set →
 *     CDS_R_SAME_AS_CURRENT.
 * False otherwise, and whenever the server failed or an RRset was too
 * large or held a record we could not read: then every server must be
 * asked (full probe).
 *
 * Reads only obs->error, obs->{cds,cdnskey}_rr.{state,count,overflow}
 * and the cds/cdnskey arrays: signatures are not needed, since only "no
 * change" stops. Pure; never fails.
 *
 * How it is used: the probe (scanner/probe.h, scan_request.early_stop)
 * calls it on the first server's CDS/CDNSKEY answer; when true it stops
 * and hands back that one observation (DNSKEY and SOA not queried).
 * policy_decide_ds recognises such an observation (an answering server
 * whose DNSKEY state is CDS_RR_NOT_QUERIED), calls this again and
 * decides UNCHANGED with the same reason — so the caller just calls
 * policy_decide_ds on whatever the probe returned, early or not.
 */
bool policy_early_stop(const struct cds_delegation *deleg,
		       const struct cds_server_obs *obs,
		       const struct policy_config *cfg, enum cds_reason *reason);

/* The digest types (C5, RFC 9904) and DNSKEY algorithms (A2, A3, RFC
   9905) for which this registry installs a DS. */
bool policy_digest_accepted(const struct policy_config *cfg, uint8_t digest_type);
bool policy_alg_accepted(const struct policy_config *cfg, uint8_t alg);

/*
 * The registry's own rules on top of what the child asked (STANDARDS
 * §14), for a change (update or delete) policy_decide_ds accepted, in
 * this order; the first that applies decides, and the detail keeps what
 * the child asked:
 *   - the domain opted out, or its registrar did → REJECTED opted-out;
 *   - a blocking status → REJECTED locked;
 *   - a delete while cfg->allow_delete is off → REJECTED delete-refused;
 *   - with cfg->replay_protection, a CDS or CDNSKEY RRSIG (at any server
 *     whose RRset policy read) with
 *     an inception not newer than dom->hist->last_change → REJECTED
 *     replayed-signature (RFC 7344 §6.2, STANDARDS C6; .se practice);
 *   - now before dom->hist->last_change + cfg->hold_down → PENDING
 *     hold-down, the detail saying when it becomes eligible.
 * Other verdicts are left as they are. Then, whatever rule decided, a
 * REJECTED verdict that makes dom->hist->rejected_streak + 1 reach
 * cfg->notify_rejected_after sets dec->rejected_event.
 *
 * `obs` are the observations the decision was made on (read for the
 * signature inceptions); `now` is unix time. Pure; never fails.
 */
void policy_apply_registry(const struct policy_domain *dom,
			   const struct cds_server_obs *obs, size_t n_obs,
			   const struct policy_config *cfg, int64_t now,
			   struct cds_decision *dec);

/*
 * Whether the domain's history (policy_domain.hist) could change what
 * was decided without one: `dec` is the decision policy_decide_ds,
 * policy_bootstrap_progress and policy_apply_registry reached with no
 * history (hist NULL or zeroed), `obs` what it was decided on. The
 * history is read by four rules only:
 *   - the registry rules (hold-down, replay protection), which act on
 *     UPDATE and DELETE, and can leave REJECTED or PENDING hold-down;
 *   - the rejected streak (one event per streak), on REJECTED;
 *   - accept-after-delay, on PENDING bootstrap-waiting, which it may
 *     turn into UPDATE (or, through the registry rules, REJECTED);
 *   - CSYNC's serial already acted on, when some server serves CSYNC.
 * A decision outside those (UNCHANGED, PENDING for any other reason, no
 * CSYNC) is the same whatever the history: `cdscan scan` reads history
 * only for the delegations where this says true. Pure.
 */
bool policy_history_matters(const struct cds_decision *dec,
			    const struct cds_server_obs *obs, size_t n_obs);

/* ---- bootstrapping (policy/bootstrap.c, STANDARDS §5) ------------ */

/*
 * How a delegation without DS gets one. policy_decide_ds runs the usual
 * checks (every server answering, signatures, agreement across servers,
 * CDS = CDNSKEY, digest types, algorithms, the new DS proving every
 * server's DNSKEY RRset) with one difference: signatures are checked
 * against the DS set the child proposes (the probe validates each
 * server against policy_bootstrap_ds of its own answer and says so in
 * obs.checked_proposed). Then:
 *   - policy.bootstrap has rfc9615 and RFC 9615 §4.2 holds
 *     (policy_rfc9615_check) → UPDATE, bootstrap-rfc9615;
 *   - else with delay → PENDING, bootstrap-waiting, `proposed` set: the
 *     scan counts towards the delay (policy_bootstrap_progress);
 *   - else the RFC 9615 failure: REJECTED (PENDING for a server or a
 *     signal lookup that got no answer) with its bootstrap-* reason.
 */

/*
 * The DS set server `o`'s CDS/CDNSKEY propose for `zone`, built as
 * policy_decide_ds builds a new DS set: the CDS records of accepted
 * digest types when policy.input reads CDS and the server has any, else
 * a DS (policy.cdnskey-digest) per CDNSKEY; sorted, duplicates dropped.
 * Delete records and RRsets in a state other than PRESENT give nothing.
 * `out` holds CDS_DS_MAX. Returns 0 (*n may be 0) or CDS_ELIMIT when the
 * set would be larger than CDS_DS_MAX.
 */
int policy_bootstrap_ds(const char *zone, const struct cds_server_obs *o,
			const struct policy_config *cfg, struct cds_ds *out,
			size_t *n);

/* Is `ns` the child `child` or a name below it (case-insensitive
   presentation names, trailing dot optional)? */
bool policy_ns_in_child(const char *child, const char *ns);

/*
 * Bootstrapping's signature check, per answering server, in place of
 * the check against the current DS (C1 with the proposed set): the
 * DNSKEY RRset must be proven by the server's proposed DS and each
 * CDS/CDNSKEY RRset that policy.input reads must be signed by a key it
 * refers to (any proven key with accept_any_dnskey). True when it
 * refused (`out` filled: bootstrap-unproven or signature-invalid).
 */
bool policy_bootstrap_proof(const struct cds_delegation *deleg,
			    const struct cds_server_obs *obs, size_t n_obs,
			    const struct policy_config *cfg,
			    struct cds_decision *out);

/*
 * RFC 9615 §4.2 (STANDARDS B3) over what the probe saw, for a delegation
 * without DS whose servers agree: at least one NS name outside the
 * child; every server answered (no Q4 exclusion); for every NS name
 * outside the child a signal that was looked up, SECURE for both types,
 * and per type equal to the servers' CDS and CDNSKEY (empty against
 * non-empty is a mismatch). Returns CDS_R_BOOTSTRAP_RFC9615 when all
 * hold, else the first failure's reason with `why` naming the NS name
 * and what was wrong.
 */
enum cds_reason policy_rfc9615_check(const struct cds_delegation *deleg,
				     const struct cds_server_obs *obs,
				     size_t n_obs, char *why, size_t whylen);

/*
 * The decision for a bootstrap request that passed every common check
 * (the proposed set `prop`): RFC 9615, else waiting for the delay, else
 * the RFC 9615 failure, as above. Fills `out`.
 */
void policy_bootstrap_decide(const struct cds_delegation *deleg,
			     const struct cds_server_obs *obs, size_t n_obs,
			     const struct policy_config *cfg,
			     const struct cds_ds *prop, size_t n_prop,
			     struct cds_decision *out);

/*
 * Accept after delay (RFC 8078 §3, STANDARDS B1, §14): `dec` is this
 * scan's decision. When it is PENDING bootstrap-waiting, count this scan
 * into the streak of dom->hist (consecutive earlier bootstrap-waiting
 * scans with the same proposed DS set, none older than a change made by
 * other means, hist.last_change_other): with this one at least
 * policy.bootstrap-delay-scans scans spanning policy.bootstrap-delay
 * since the first → UPDATE bootstrap-delay; else the detail says "scan
 * N of K, eligible after TIME". Either way dec->boot_scan, boot_needed
 * and boot_eligible hold N, K and TIME (stored with the scan for
 * `cdscan status`). Other decisions are left alone. Pure.
 */
void policy_bootstrap_progress(const struct policy_domain *dom,
			       const struct policy_config *cfg, int64_t now,
			       struct cds_decision *dec);

/*
 * For reports and tests: this scan's number in the streak of `hist`
 * (1 = the first) when it proposes `prop`, and when the first was made
 * (*since). A NULL `hist` knows no streak.
 */
unsigned policy_bootstrap_streak(const struct cds_history *hist,
				 const struct cds_ds *prop, size_t n_prop,
				 int64_t now, int64_t *since);

/* ---- CSYNC (policy/csync.c, STANDARDS §6, RFC 7477, RFC 9975 §3.2) -- */

/*
 * Decide what CSYNC asks of the delegation, from what every server said
 * (obs[i].csync, filled by a probe with scan_request.csync), against the
 * parent's current NS set `cur` (with glue). Y1–Y8 in this order: any
 * server without an answer → PENDING csync-server-unreachable (no Q4
 * exclusion for CSYNC); no CSYNC at any server → UNCHANGED csync-none;
 * CSYNC at some only, or flags / bit map / data that differ → REJECTED
 * csync-servers-disagree; unproven → csync-insecure; unknown flag or
 * bit, or a type we never synchronize → csync-unsupported; soaminimum
 * (per server, RFC 1982) → PENDING csync-soaminimum; SOA moved during
 * the queries → PENDING csync-serial-moved; serial not newer than
 * dom->hist's last acted-on one → REJECTED csync-serial-regressed; the
 * new NS set empty, out of bounds, or an in-bailiwick NS left without an
 * address → REJECTED; the result equal to the delegation → UNCHANGED
 * csync-no-change; otherwise UPDATE csync-apply when the immediate flag
 * is set and cfg->csync_immediate, else PENDING csync-held with the
 * change filled. Locks and opt-outs (dom) → REJECTED csync-disabled, as
 * does cfg->csync off when any server has CSYNC. Pure; always fills out.
 */
void policy_decide_csync(const struct cds_delegation *deleg,
			 const struct cds_ns *cur, size_t n_cur,
			 const struct cds_server_obs *obs, size_t n_obs,
			 const struct policy_config *cfg,
			 const struct policy_domain *dom,
			 struct cds_csync_decision *out);

/*
 * The delegation `dec` (UPDATE or held) would leave: its NS set (or `cur`
 * when the NS bit was not set), each in-bailiwick name with the glue the
 * decision gives it, other names with cur's glue (out-of-bailiwick glue
 * is never touched). For the sanity probe and for the database.
 * `out` holds CDS_CSYNC_NS_MAX. Returns 0 or CDS_ELIMIT.
 */
int policy_csync_result(const struct cds_csync_decision *dec,
			const struct cds_ns *cur, size_t n_cur,
			struct cds_ns *out, size_t *n_out);

/*
 * Sanity of the new delegation (issue 5 item 2, Y8 [S]): `obs` are what
 * a probe of the delegation policy_csync_result builds said (SOA and
 * DNSKEY of every new server, against the current DS). Every new NS name
 * must have an address and answer authoritatively with the child's SOA,
 * and when the parent holds DS every server's DNSKEY set must be proven
 * by it. Otherwise `dec` becomes REJECTED csync-new-ns-broken (PENDING
 * when a server only timed out) with the detail naming the server.
 */
void policy_csync_sanity(const struct cds_delegation *deleg,
			 const struct cds_server_obs *obs, size_t n_obs,
			 struct cds_csync_decision *dec);

/*
 * At most one of a DS change `ds` and a CSYNC change `cs` (both UPDATE;
 * a DS delete counts) per scan, so that resolvers never see a DS set and
 * an NS set that do not belong together (RFC 8901 §8, STANDARDS §7): a
 * signer joining (DS records only added to `cur`'s) gets its DS first
 * and its NS with the next scan; one leaving (a DS record of `cur`
 * dropped) loses its NS first and its DS with the next scan. The change
 * that waits becomes PENDING, its reason kept and its detail saying
 * why. Anything else is left alone; `cs` may be NULL. Pure.
 */
void policy_one_change_per_scan(const struct cds_delegation *cur,
				struct cds_decision *ds,
				struct cds_csync_decision *cs);

/*
 * Fill `out` from the policy.* keys of `conf` (starting from the
 * defaults). Returns 0, or CDS_ECONFIG with a message naming the key when
 * a value is refused (e.g. digest type 1 or algorithm 5).
 */
struct conf;
int policy_config_from_conf(const struct conf *conf, struct policy_config *out,
			    char *err, size_t errlen);

#endif
