/* PLACEHOLDER, replaced by the owner of `cdscan history`. */
#include <stdio.h>
#include "cli/cli.h"
int cmd_history(int argc, char **argv, const struct cli_global *g)
{
	(void)argc; (void)argv; (void)g;
	fprintf(stderr, "cdscan history: not built yet\n");
	return CLI_EXIT_FAIL;
}
