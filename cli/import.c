/* PLACEHOLDER, replaced by the owner of `cdscan import`. */
#include <stdio.h>
#include "cli/cli.h"
int cmd_import(int argc, char **argv, const struct cli_global *g)
{
	(void)argc; (void)argv; (void)g;
	fprintf(stderr, "cdscan import: not built yet\n");
	return CLI_EXIT_FAIL;
}
