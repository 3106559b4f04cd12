/*
 * Subcommands of the cdscan binary. Each parses its own options, wires the
 * modules together and prints. Exit codes: 0 ran, 1 could not run, 2
 * usage error.
 */
#ifndef CDS_CLI_CLI_H
#define CDS_CLI_CLI_H

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

/* Options shared by every subcommand, parsed by main(). */
struct cli_global {
	const char *config_path; /* -c FILE, or NULL for the default */
	int verbose;             /* -v count */
};

/* argv[0] is the subcommand name. */
int cmd_check(int argc, char **argv, const struct cli_global *g);
int cmd_config(int argc, char **argv, const struct cli_global *g);

/*
 * Load the configuration named by -c (or the default path; a missing
 * default file means built-in defaults). Prints the error and returns
 * NULL on failure.
 */
struct conf;
struct conf *cli_load_conf(const struct cli_global *g);

#endif
