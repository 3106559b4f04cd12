/*
 * The probe: everything the scanner does for one delegation. It finds the
 * address of every NS name (glue, else a validated lookup), asks every
 * address for SOA, DNSKEY, CDS and CDNSKEY through the engine, checks the
 * DNSSEC signatures of each server's answers against the current DS, and
 * hands back one observation per server address. It decides nothing:
 * that is policy's job.
 *
 * Early stop (STANDARDS Q6 [MAY], RFC 9975 §3), when asked for: one
 * address is asked for CDS and CDNSKEY only. If policy_early_stop() says
 * its answer confirms the status quo, the probe ends there: one
 * observation, no DNSKEY, no signatures, 2 queries. Otherwise (the
 * server failed, or it asks for a change) the probe goes on as without
 * early stop, reusing what was asked: that server is then asked for SOA
 * and DNSKEY (not again for CDS/CDNSKEY; not at all when it failed), every
 * other address for everything, and an NS name already looked up is not
 * looked up again.
 *
 * Bootstrapping (STANDARDS §5), when the parent holds no DS and
 * req->policy enables it: each server's DNSKEY RRset and CDS/CDNSKEY
 * signatures are checked against the DS set that server's own answer
 * proposes (policy_bootstrap_ds), and with RFC 9615 the CDS and CDNSKEY
 * at _dsboot.<child>._signal.<ns> of every NS name outside the child are
 * looked up through the validating resolver; every observation of that
 * NS name carries the result (cds_server_obs.signal).
 *
 * The caller needs no special case: policy_decide_ds() recognises the
 * single early observation and decides UNCHANGED with the same reason;
 * scan_result.stopped_early and .early_reason say so for records and
 * counts (the other servers were not asked).
 */
#ifndef CDS_SCANNER_PROBE_H
#define CDS_SCANNER_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "core/decision.h"
#include "core/obs.h"
#include "scanner/engine.h"
#include "scanner/resolve.h"

struct policy_config; /* policy/policy.h */

struct scan_request {
	const char *zone;           /* copied */
	const struct cds_ns *ns;    /* copied */
	size_t n_ns;
	const struct cds_ds *ds;    /* current DS set; copied */
	size_t n_ds;
	int64_t now;                /* validation time, unix seconds */
	uint16_t port;              /* server port; 0 means 53 */

	/* STANDARDS Q6: try one address first and stop when it confirms
	   the status quo (see above). Needs `policy`. */
	bool early_stop;
	/* Also ask every server for CSYNC and the data it names, with SOA
	   before and after (struct cds_csync_obs). With early_stop the first
	   server is asked CSYNC too, and the probe stops early only when it
	   has none (NODATA), since then no CSYNC change can agree (Y8). */
	bool csync;
	/* Which address is asked first: NS names with glue (all NS names
	   when none has glue) in name order, seed % their number; then that
	   name's address (seed / number of names) % its addresses. 0: the
	   first address of the first such name. A scan driver should pass
	   something that varies per delegation (its id, a hash of the name)
	   so that an operator's zones spread over all of its addresses
	   instead of all landing on ns1; it is deterministic per value, so a
	   rerun asks the same server. */
	uint32_t early_seed;
	/* Policy for the early-stop test and for bootstrapping; borrowed,
	   must outlive the probe (normally the run's one configuration).
	   With no current DS and policy->bootstrap set, each server is
	   validated against the DS set its own CDS/CDNSKEY propose
	   (obs.checked_proposed), and with rfc9615 the signals of every NS
	   name outside the child are looked up (obs.signal). NULL: neither. */
	const struct policy_config *policy;
};

/* What a probe hands back. Owned by the callback's receiver: free with
   scan_result_free(). */
struct scan_result {
	char zone[CDS_NAME_MAX];
	size_t n_obs;
	struct cds_server_obs *obs; /* one per (NS name, address); an NS name
	                               without any address gets one entry with
	                               an empty addr and error set */
	unsigned queries;           /* queries sent for this delegation
	                               (address lookups not counted) */
	/* The probe stopped after one server (scan_request.early_stop):
	   obs holds that one server, its DNSKEY and SOA not queried, its
	   CDS/CDNSKEY signatures not checked (sig CDS_SIG_NA); early_reason
	   is CDS_R_NO_CDS, CDS_R_SAME_AS_CURRENT or CDS_R_ALREADY_INSECURE,
	   what policy_decide_ds will also say. */
	bool stopped_early;
	enum cds_reason early_reason;
};

typedef void (*scan_probe_cb)(struct scan_result *res, void *arg);

/* The scanner: engine and resolver on one loop, shared by all probes. */
struct scanner;

/*
 * New scanner on `base` (borrowed). `eng` and `res` are borrowed and must
 * outlive it; `res` may be NULL when every NS has glue.
 */
int scanner_new(struct event_base *base, struct scan_engine *eng,
		struct scan_resolver *res, struct scanner **out);
void scanner_free(struct scanner *sc);

/*
 * Start probing one delegation. Returns 0 when started (cb is called
 * exactly once, later, from the loop), CDS_EINVAL (also: early_stop
 * without policy) or CDS_ENOMEM.
 */
int scan_probe_start(struct scanner *sc, const struct scan_request *req,
		     scan_probe_cb cb, void *arg);

void scan_result_free(struct scan_result *res);

#endif
