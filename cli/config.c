/*
 * `cdscan config check`: load the configuration the other subcommands
 * would load, run every check they would run (the schema's and the
 * policy's), and print the effective configuration with where each value
 * came from (OpenBSD rad's printconf). Also home of cli_load_conf, the one
 * way subcommands get their configuration.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "core/conf.h"
#include "core/errors.h"
#include "core/log.h"
#include "policy/policy.h"

static enum log_level level_of(const char *word)
{
	static const char *const names[] = {"error", "warning", "info",
					    "debug"};

	for (int i = 0; i < 4; i++)
		if (strcmp(word, names[i]) == 0)
			return (enum log_level)i;
	return LOG_LVL_WARN;
}

struct conf *cli_load_conf(const struct cli_global *g)
{
	const char *path = g->config_path;
	struct conf *conf = NULL;
	struct stat st;
	char err[512];

	/* Only the default file may be absent: a named one is a typo. */
	if (!path && stat(CONF_DEFAULT_PATH, &st) != 0 && errno == ENOENT) {
		log_info("%s not found, using built-in defaults",
			 CONF_DEFAULT_PATH);
	} else if (!path) {
		path = CONF_DEFAULT_PATH;
	}
	if (conf_load(path, &conf, err, sizeof err) != 0) {
		fprintf(stderr, "cdscan: %s\n", err);
		return NULL;
	}
	/* -v on the command line wins over log.level in the file. */
	if (g->verbose == 0)
		log_set_level(level_of(conf_enum(conf, "log.level")));
	return conf;
}

static void config_usage(void)
{
	fprintf(stderr, "usage: cdscan [-c FILE] config check\n");
}

static int config_check(const struct cli_global *g)
{
	struct policy_config pc;
	struct conf *conf = cli_load_conf(g);
	char err[512];
	int rc = CLI_EXIT_FAIL;

	if (!conf)
		goto out;
	/* Rules that join two keys live in the policy: check them too. */
	if (policy_config_from_conf(conf, &pc, err, sizeof err) != 0) {
		fprintf(stderr, "cdscan: %s: %s\n", conf_path(conf), err);
		goto out;
	}
	fprintf(stderr, "%s: ok\n", conf_path(conf));
	conf_print(conf, stdout);
	rc = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
out:
	conf_free(conf);
	return rc;
}

int cmd_config(int argc, char **argv, const struct cli_global *g)
{
	if (argc != 2 || strcmp(argv[1], "check") != 0) {
		if (argc > 2 && strcmp(argv[1], "check") == 0)
			fprintf(stderr, "cdscan: config check: unexpected "
				"argument '%s'\n", argv[2]);
		else if (argc >= 2)
			fprintf(stderr, "cdscan: config: unknown request '%s'\n",
				argv[1]);
		config_usage();
		return CLI_EXIT_USAGE;
	}
	return config_check(g);
}
