/* PLACEHOLDER, replaced by the owner of `cdscan status`. */
#include <stdio.h>
#include "cli/cli.h"
int cmd_status(int argc, char **argv, const struct cli_global *g)
{
	(void)argc; (void)argv; (void)g;
	fprintf(stderr, "cdscan status: not built yet\n");
	return CLI_EXIT_FAIL;
}
