/*
 * The engine's options from the scanner.* configuration keys. Kept apart
 * from engine.c so that programs using the engine without a configuration
 * (tests, tools) do not pull in the config module. The schema in
 * core/conf.c range-checks each key; here values are only clamped to what
 * the option fields can hold.
 */
#include <stdint.h>

#include "core/conf.h"
#include "scanner/engine.h"

static unsigned clamp_uint(int64_t v, unsigned lo, unsigned hi)
{
	if (v < (int64_t)lo)
		return lo;
	if (v > (int64_t)hi)
		return hi;
	return (unsigned)v;
}

void scan_engine_opts_from_conf(const struct conf *conf,
                                struct scan_engine_opts *opts)
{
	scan_engine_opts_default(opts);
	opts->timeout_ms = clamp_uint(conf_duration_ms(conf, "scanner.timeout"),
	                              1, 3600000);
	opts->timeout_min_ms = clamp_uint(
	        conf_duration_ms(conf, "scanner.timeout-min"), 0, 3600000);
	opts->retries = clamp_uint(conf_int(conf, "scanner.retries"), 0, 100);
	opts->backoff = conf_rate(conf, "scanner.backoff");
	if (!(opts->backoff >= 1.0))
		opts->backoff = 1.0;
	opts->max_inflight =
	        clamp_uint(conf_int(conf, "scanner.max-inflight"), 1, 1000000);
	opts->rate_per_server = conf_rate(conf, "scanner.rate-per-server");
	opts->rate_global = conf_rate(conf, "scanner.rate-global");
	opts->tcp_only = conf_bool(conf, "scanner.tcp-only");
	opts->edns_bufsize = (uint16_t)clamp_uint(
	        conf_int(conf, "scanner.edns-bufsize"), 512, 65535);
	opts->max_answer =
	        clamp_uint(conf_int(conf, "scanner.max-answer"), 512, 65535);
}
