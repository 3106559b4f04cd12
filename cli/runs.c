/* PLACEHOLDER, replaced by the owner of `cdscan runs`. */
#include <stdio.h>
#include "cli/cli.h"
int cmd_runs(int argc, char **argv, const struct cli_global *g)
{
	(void)argc; (void)argv; (void)g;
	fprintf(stderr, "cdscan runs: not built yet\n");
	return CLI_EXIT_FAIL;
}
