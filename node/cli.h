/*
 * node/cli.h - option parsing and output-directory helpers shared by the
 * subcommands (cmd_*.c). They print their own messages, prefixed with
 * "mcn <cmd>: ", on stderr; nothing else in node/ libraries prints.
 */
#ifndef MCN_NODE_CLI_H
#define MCN_NODE_CLI_H

#include <stddef.h>

typedef struct mcn_cli_opt {
	const char *name; /* "--dir" */
	const char *val;  /* NULL until given */
} mcn_cli_opt;

/* "--opt value" pairs from argv[first..argc) into opts. Returns 0, or -1
 * after printing why (unknown, repeated or valueless option). */
int mcn_cli_parse(const char *cmd, mcn_cli_opt *opts, size_t nopts, int argc,
    const char *argv[], int first);

/* A decimal number 0..max (digits only); dflt if s is NULL. 0 or -1. */
int mcn_cli_uint(const char *s, unsigned dflt, unsigned long max, unsigned *out);

/* Creates dir (0700, with parents) for a command's outputs; *made says
 * whether it is new, so a failing command can remove it again with
 * mcn_cli_unmkdir (which removes it only if it is still empty). */
int mcn_cli_mkdir(const char *cmd, const char *dir, int *made);
void mcn_cli_unmkdir(const char *dir, int made);

#endif
