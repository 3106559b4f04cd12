/* PLACEHOLDER, replaced by the owner of `cdscan export`. */
#include <stdio.h>
#include "cli/cli.h"
int cmd_export(int argc, char **argv, const struct cli_global *g)
{
	(void)argc; (void)argv; (void)g;
	fprintf(stderr, "cdscan export: not built yet\n");
	return CLI_EXIT_FAIL;
}
