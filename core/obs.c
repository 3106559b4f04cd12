/* Observations: release and names for their states. */
#include <stdlib.h>
#include <string.h>

#include "core/obs.h"

void cds_server_obs_clear(struct cds_server_obs *obs)
{
	free(obs->dnskey);
	free(obs->dnskey_signs);
	free(obs->cds);
	free(obs->cdnskey);
	obs->dnskey = NULL;
	obs->dnskey_signs = NULL;
	obs->cds = NULL;
	obs->cdnskey = NULL;
	obs->n_dnskey = obs->n_cds = obs->n_cdnskey = 0;
	free(obs->signal.cds);
	free(obs->signal.cdnskey);
	obs->signal.cds = NULL;
	obs->signal.cdnskey = NULL;
	obs->signal.n_cds = obs->signal.n_cdnskey = 0;
	free(obs->csync.ns);
	free(obs->csync.hosts);
	obs->csync.ns = NULL;
	obs->csync.hosts = NULL;
	obs->csync.n_ns = obs->csync.n_hosts = 0;
}

const char *cds_rrstate_name(enum cds_rrstate s)
{
	switch (s) {
	case CDS_RR_NOT_QUERIED: return "not-queried";
	case CDS_RR_PRESENT: return "present";
	case CDS_RR_NODATA: return "nodata";
	case CDS_RR_FAILED: return "failed";
	}
	return "?";
}

const char *cds_sigstate_name(enum cds_sigstate s)
{
	switch (s) {
	case CDS_SIG_NA: return "none";
	case CDS_SIG_VALID_DS_KEY: return "valid";
	case CDS_SIG_VALID_OTHER: return "valid-non-ds-key";
	case CDS_SIG_UNPROVEN: return "dnskey-unproven";
	case CDS_SIG_UNSIGNED: return "unsigned";
	case CDS_SIG_EXPIRED: return "expired";
	case CDS_SIG_BOGUS: return "bogus";
	}
	return "?";
}

const char *cds_secstate_name(enum cds_secstate s)
{
	switch (s) {
	case CDS_SEC_NONE: return "none";
	case CDS_SEC_SECURE: return "secure";
	case CDS_SEC_INSECURE: return "insecure";
	case CDS_SEC_BOGUS: return "bogus";
	case CDS_SEC_INDETERMINATE: return "indeterminate";
	}
	return "?";
}

const char *cds_transport_name(enum cds_transport t)
{
	return t == CDS_TRANSPORT_TCP ? "tcp" : "udp";
}
