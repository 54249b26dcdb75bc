/* node/cli.c - option parsing and output directories for the subcommands. */
#define _POSIX_C_SOURCE 200809L
#include "node/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/pki.h"

int
mcn_cli_parse(const char *cmd, mcn_cli_opt *opts, size_t nopts, int argc,
    const char *argv[], int first)
{
	for (int i = first; i < argc; i += 2) {
		size_t k;
		for (k = 0; k < nopts; k++) {
			if (strcmp(argv[i], opts[k].name) == 0)
				break;
		}
		if (k == nopts) {
			fprintf(stderr, "mcn %s: unknown option '%.64s'\n", cmd, argv[i]);
			return (-1);
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "mcn %s: %s needs a value\n", cmd, argv[i]);
			return (-1);
		}
		if (opts[k].val != NULL) {
			fprintf(stderr, "mcn %s: %s given twice\n", cmd, argv[i]);
			return (-1);
		}
		opts[k].val = argv[i + 1];
	}
	return (0);
}

int
mcn_cli_uint(const char *s, unsigned dflt, unsigned long max, unsigned *out)
{
	char *end;
	unsigned long v;

	if (s == NULL) {
		*out = dflt;
		return (0);
	}
	if (*s < '0' || *s > '9')
		return (-1);
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != 0 || v > max)
		return (-1);
	*out = (unsigned)v;
	return (0);
}

int
mcn_cli_mkdir(const char *cmd, const char *dir, int *made)
{
	struct stat st;
	mcn_err rv;

	*made = stat(dir, &st) != 0;
	if ((rv = mcn_dir_make(dir, 0700)) != MCN_OK) {
		fprintf(stderr, "mcn %s: %s: %s\n", cmd, dir, mcn_strerror(rv));
		return (-1);
	}
	return (0);
}

void
mcn_cli_unmkdir(const char *dir, int made)
{
	if (made)
		(void)rmdir(dir);
}
