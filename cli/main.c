/* cdscan: main() — global options and dispatch to the subcommands. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/log.h"

#define CDSCAN_VERSION "0.1.0"

static const struct {
	const char *name;
	int (*fn)(int, char **, const struct cli_global *);
	const char *help;
} commands[] = {
	{"check", cmd_check, "check DOMAIN: ask every server, decide the DS set"},
	{"config", cmd_config, "config check: validate and print the configuration"},
	{"init", cmd_init, "init: create or upgrade the database schema"},
	{"import", cmd_import, "import ZONEFILE: load delegations from a parent zone"},
	{"export", cmd_export, "export: print delegations as zone-file text"},
	{"scan", cmd_scan, "scan [--all | DOMAIN...]: scan, decide, apply"},
	{"status", cmd_status, "status DOMAIN: last scan, decision, pending work"},
	{"history", cmd_history, "history DOMAIN: applied changes with evidence"},
	{"runs", cmd_runs, "runs: past runs with counts and rates"},
	{"prune", cmd_prune, "prune --older-than D: delete old scans"},
	{"epp", cmd_epp, "epp send|info|ns: talk to the registry over EPP"},
	{"outbox", cmd_outbox, "outbox: EPP changes queued, in flight, refused"},
	{"approve", cmd_approve, "approve DOMAIN: apply a held CSYNC change"},
	{"reject", cmd_reject, "reject DOMAIN: refuse a held CSYNC change"},
	{"notify", cmd_notify, "notify: hand due events to notify.hook"},
	{"events", cmd_events, "events [DOMAIN]: notifications and their delivery"},
	{"daemon", cmd_daemon, "daemon: schedule, NOTIFY listener, metrics"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: cdscan [-c FILE] [-v] [--now T] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n  -c FILE  configuration (default /etc/cdscan/cdscan.yaml)\n"
		   "  -v       more log output (repeat for debug)\n"
		   "  --now T  act as if the time were T (unix seconds; also\n"
		   "           CDSCAN_NOW): for tests and replays\n"
		   "  -V       print the version\n");
}

/* A time given by --now or CDSCAN_NOW: unix seconds, positive. */
static int parse_now(const char *s, const char *what, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v <= 0) {
		fprintf(stderr, "cdscan: %s: '%s' is not a time in unix "
				"seconds\n", what, s);
		return -1;
	}
	*out = (int64_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"now", required_argument, NULL, 'N'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0, 0, 0, 0},
	};
	struct cli_global g = {0};
	const char *env = getenv("CDSCAN_NOW");
	int c;

	if (env && *env && parse_now(env, "CDSCAN_NOW", &g.now) != 0)
		return CLI_EXIT_USAGE;
	while ((c = getopt_long(argc, argv, "+c:vVh", longopts, NULL)) != -1) {
		switch (c) {
		case 'N':
			if (parse_now(optarg, "--now", &g.now) != 0)
				return CLI_EXIT_USAGE;
			break;
		case 'c': g.config_path = optarg; break;
		case 'v': g.verbose++; break;
		case 'V': printf("cdscan %s\n", CDSCAN_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return CLI_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	log_set_level(g.verbose >= 2 ? LOG_LVL_DEBUG
		      : g.verbose ? LOG_LVL_INFO : LOG_LVL_WARN);
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		if (strcmp(argv[optind], commands[i].name) == 0) {
			int sub_argc = argc - optind;
			char **sub_argv = argv + optind;

			optind = 0; /* glibc: full reset for the subcommand */
			return commands[i].fn(sub_argc, sub_argv, &g);
		}
	}
	fprintf(stderr, "cdscan: unknown command '%s'\n", argv[optind]);
	usage(stderr);
	return CLI_EXIT_USAGE;
}
