/* placeholder: being written */
#include <stdio.h>
#include "node/cmd.h"
int
cmd_audit_main(int argc, const char *argv[])
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "mcn audit: not available yet\n");
	return (MCN_EXIT_FAIL);
}
