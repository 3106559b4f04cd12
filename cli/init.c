/* PLACEHOLDER, replaced by the owner of `cdscan init`. */
#include <stdio.h>
#include "cli/cli.h"
int cmd_init(int argc, char **argv, const struct cli_global *g)
{
	(void)argc; (void)argv; (void)g;
	fprintf(stderr, "cdscan init: not built yet\n");
	return CLI_EXIT_FAIL;
}
