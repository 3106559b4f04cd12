/*
 * The policy.* keys of the configuration mapped into struct
 * policy_config. core/conf.c has already refused what RFC 9904/9905 rule
 * out (with file and line); what is left here are the limits of the
 * struct itself and rules that join two keys, which a single schema row
 * cannot see.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/conf.h"
#include "core/errors.h"
#include "policy/policy.h"

/* digest_types is a bit set of 32 bits. */
#define DIGEST_BITS 32

static int map_digests(const struct conf *conf, struct policy_config *out,
		       char *err, size_t errlen)
{
	const int64_t *types;
	size_t n = conf_int_list(conf, "policy.digest-types", &types);

	out->digest_types = 0;
	for (size_t i = 0; i < n; i++) {
		if (types[i] < 0 || types[i] >= DIGEST_BITS) {
			snprintf(err, errlen,
				 "policy.digest-types: digest type %" PRId64
				 " is not supported", types[i]);
			return CDS_ECONFIG;
		}
		out->digest_types |= UINT32_C(1) << types[i];
	}
	out->cdnskey_digest = (uint8_t)conf_int(conf, "policy.cdnskey-digest");
	/* A DS we compute from CDNSKEY must be one we accept (STANDARDS C5). */
	if (!(out->digest_types & (UINT32_C(1) << out->cdnskey_digest))) {
		snprintf(err, errlen,
			 "policy.cdnskey-digest: digest type %u is not in "
			 "policy.digest-types", out->cdnskey_digest);
		return CDS_ECONFIG;
	}
	return 0;
}

static void map_algorithms(const struct conf *conf, struct policy_config *out)
{
	const int64_t *algs;
	size_t n = conf_int_list(conf, "policy.algorithms", &algs);

	/* The list replaces the default set, it does not add to it. */
	memset(out->accept_alg, 0, sizeof out->accept_alg);
	for (size_t i = 0; i < n; i++)
		out->accept_alg[(uint8_t)algs[i]] = true;
}

static enum policy_input map_input(const char *word)
{
	if (strcmp(word, "cds") == 0)
		return POLICY_INPUT_CDS;
	if (strcmp(word, "cdnskey") == 0)
		return POLICY_INPUT_CDNSKEY;
	return POLICY_INPUT_BOTH;
}

static int map_blocking(const struct conf *conf, struct policy_config *out,
			char *err, size_t errlen)
{
	const char *const *names;
	size_t n = conf_list(conf, "policy.blocking-statuses", &names);

	if (n > POLICY_STATUS_MAX) {
		snprintf(err, errlen, "policy.blocking-statuses: more than %d "
			 "names", POLICY_STATUS_MAX);
		return CDS_ECONFIG;
	}
	out->n_blocking = 0;
	for (size_t i = 0; i < n; i++) {
		if (strlen(names[i]) >= POLICY_STATUS_LEN) {
			snprintf(err, errlen, "policy.blocking-statuses: '%s' "
				 "is too long", names[i]);
			return CDS_ECONFIG;
		}
		snprintf(out->blocking[out->n_blocking++], POLICY_STATUS_LEN,
			 "%s", names[i]);
	}
	return 0;
}

/* policy.bootstrap: the words were checked by the schema (core/conf.c). */
static void map_bootstrap(const struct conf *conf, struct policy_config *out)
{
	const char *const *words;
	size_t n = conf_list(conf, "policy.bootstrap", &words);

	out->bootstrap = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(words[i], "rfc9615") == 0)
			out->bootstrap |= POLICY_BOOT_RFC9615;
		else if (strcmp(words[i], "delay") == 0)
			out->bootstrap |= POLICY_BOOT_DELAY;
	}
	out->bootstrap_delay_scans =
		(unsigned)conf_int(conf, "policy.bootstrap-delay-scans");
	/* whole seconds; the schema caps it at 365 days */
	out->bootstrap_delay = (uint32_t)(
		conf_duration_ms(conf, "policy.bootstrap-delay") / 1000);
}

int policy_config_from_conf(const struct conf *conf, struct policy_config *out,
			    char *err, size_t errlen)
{
	int rc;

	policy_config_default(out);
	rc = map_digests(conf, out, err, errlen);
	if (rc != 0)
		goto out;
	map_algorithms(conf, out);
	out->max_ds = (unsigned)conf_int(conf, "policy.max-ds");
	out->input = map_input(conf_enum(conf, "policy.input"));
	out->require_both = conf_bool(conf, "policy.require-both");
	out->accept_any_dnskey = conf_bool(conf, "policy.accept-any-dnskey");
	/* Round up: 500ms must not turn into 0, which means "never". The
	   schema caps this at 365 days, well inside uint32_t seconds. */
	out->exclude_unreachable_after = (uint32_t)(
		(conf_duration_ms(conf, "policy.exclude-unreachable-after") +
		 999) / 1000);
	map_bootstrap(conf, out);
	rc = map_blocking(conf, out, err, errlen);
	if (rc != 0)
		goto out;
	/* Registry rules. The schema caps hold-down at 365 days. */
	out->hold_down = (uint32_t)((conf_duration_ms(conf, "policy.hold-down") +
				     999) / 1000);
	out->replay_protection = conf_bool(conf, "policy.replay-protection");
	out->allow_delete = conf_bool(conf, "policy.allow-delete");
	out->notify_rejected_after =
		(unsigned)conf_int(conf, "policy.notify-rejected-after");
	/* CSYNC (RFC 7477, STANDARDS §6) */
	out->csync = conf_bool(conf, "policy.csync");
	out->csync_immediate = conf_bool(conf, "policy.csync-immediate");
	out->csync_min_ns = (unsigned)conf_int(conf, "policy.csync-min-ns");
	out->csync_max_ns = (unsigned)conf_int(conf, "policy.csync-max-ns");
	if (out->csync_min_ns > out->csync_max_ns) {
		snprintf(err, errlen, "policy.csync-min-ns: %u is more than "
			 "policy.csync-max-ns (%u)", out->csync_min_ns,
			 out->csync_max_ns);
		rc = CDS_ECONFIG;
	}
out:
	return rc;
}
