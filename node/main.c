/*
 * node/main.c - the mcn program: a table of subcommands (wg style), each in
 * its own node/cmd_<name>.c.
 */
#include <stdio.h>
#include <string.h>

#include "crypto/mem.h"
#include "node/cmd.h"

#ifndef MCN_VERSION
#define MCN_VERSION "0.1.0"
#endif

static int cmd_version_main(int argc, const char *argv[]);
static int cmd_help_main(int argc, const char *argv[]);

static const struct {
	const char *name;
	int (*fn)(int argc, const char *argv[]);
	const char *summary;
} cmds[] = {
	{ "network", cmd_network_main, "network init: a complete local test network in one directory" },
	{ "ca", cmd_ca_main, "ca init | ca issue: the consortium certificate authority" },
	{ "consortium", cmd_consortium_main, "consortium keygen | maskkey: the threshold-key ceremony, mask keys" },
	{ "import", cmd_import_main, "import a CSV into the node's local store (validated, all-or-nothing)" },
	{ "store", cmd_store_main, "store info: rows and data quality of the local store" },
	{ "serve", cmd_serve_main, "run a hospital node" },
	{ "query", cmd_query_main, "ask the network an aggregate question" },
	{ "audit", cmd_audit_main, "audit verify | show: the node's hash-chained, signed audit log" },
	{ "synth", cmd_synth_main, "write synthetic demo patients or the demo data dictionary" },
	{ "version", cmd_version_main, "print the version" },
	{ "help", cmd_help_main, "this list" },
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: mcn <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-11s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\n'mcn <command> --help' describes one command.\n");
}

static int
cmd_version_main(int argc, const char *argv[])
{
	(void)argc;
	(void)argv;
	printf("mcn %s\n", MCN_VERSION);
	return (MCN_EXIT_OK);
}

static int
cmd_help_main(int argc, const char *argv[])
{
	(void)argc;
	(void)argv;
	usage(stdout);
	return (MCN_EXIT_OK);
}

int
main(int argc, char *argv[])
{
	if (argc < 2) {
		usage(stderr);
		return (MCN_EXIT_USAGE);
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return (cmd_help_main(0, NULL));
	if (strcmp(argv[1], "--version") == 0)
		return (cmd_version_main(0, NULL));
	if (mcn_crypto_init() != MCN_OK) {
		fprintf(stderr, "mcn: cannot initialize the crypto library\n");
		return (MCN_EXIT_FAIL);
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[1], cmds[i].name) == 0)
			return (cmds[i].fn(argc - 1, (const char **)(argv + 1)));
	}
	fprintf(stderr, "mcn: unknown command '%.64s'\n\n", argv[1]);
	usage(stderr);
	return (MCN_EXIT_USAGE);
}
