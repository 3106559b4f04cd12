/* cdscan: main() — global options and dispatch to the subcommands. */
#include <getopt.h>
#include <stdio.h>
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
};

static void usage(FILE *f)
{
	fprintf(f, "usage: cdscan [-c FILE] [-v] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n  -c FILE  configuration (default /etc/cdscan/cdscan.yaml)\n"
		   "  -v       more log output (repeat for debug)\n"
		   "  -V       print the version\n");
}

int main(int argc, char **argv)
{
	struct cli_global g = {0};
	int c;

	while ((c = getopt(argc, argv, "+c:vVh")) != -1) {
		switch (c) {
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
