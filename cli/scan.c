/* PLACEHOLDER, replaced by the owner of `cdscan scan`. */
#include <stdio.h>
#include "cli/cli.h"
int cmd_scan(int argc, char **argv, const struct cli_global *g)
{
	(void)argc; (void)argv; (void)g;
	fprintf(stderr, "cdscan scan: not built yet\n");
	return CLI_EXIT_FAIL;
}
