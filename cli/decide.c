/* From observations to a decision, with the registry's rules and history. */
#include <stdio.h>
#include <time.h>

#include "cli/cli.h"
#include "core/obs.h"
#include "db/db.h"
#include "policy/policy.h"

int64_t cli_now(const struct cli_global *g)
{
	return g && g->now > 0 ? g->now : (int64_t)time(NULL);
}

/* What policy needs of the registry's delegation: its name and DS set,
   and the domain's flags and history (statuses points into d). */
static void policy_view(const struct db_delegation *d,
			struct cds_delegation *deleg,
			struct policy_domain *dom, const char **statuses)
{
	for (size_t i = 0; i < d->n_statuses; i++)
		statuses[i] = d->statuses[i];
	*dom = (struct policy_domain){.optout = d->optout,
				      .registrar = d->registrar,
				      .registrar_optout = d->registrar_optout,
				      .n_statuses = d->n_statuses,
				      .statuses = statuses,
				      .hist = &d->hist};
	snprintf(deleg->name, sizeof deleg->name, "%s", d->name);
	deleg->ds = d->ds;
	deleg->n_ds = d->n_ds;
}

void cli_decide_csync(const struct db_delegation *d,
		      const struct cds_server_obs *obs, size_t n_obs,
		      const struct policy_config *pol,
		      struct cds_csync_decision *out)
{
	struct cds_delegation deleg;
	const char *statuses[DB_STATUS_MAX];
	struct policy_domain dom;

	policy_view(d, &deleg, &dom, statuses);
	policy_decide_csync(&deleg, d->ns, d->n_ns, obs, n_obs, pol, &dom, out);
}

void cli_decide(const struct db_delegation *d, const struct cds_server_obs *obs,
		size_t n_obs, const struct policy_config *pol, int64_t now,
		struct cds_decision *dec)
{
	struct cds_delegation deleg;
	const char *statuses[DB_STATUS_MAX];
	struct policy_domain dom;

	policy_view(d, &deleg, &dom, statuses);
	policy_decide_ds(&deleg, obs, n_obs, pol, now, dec);
	/* accept-after-delay bootstrapping counts scans over history */
	policy_bootstrap_progress(&dom, pol, now, dec);
	policy_apply_registry(&dom, obs, n_obs, pol, now, dec);
}
