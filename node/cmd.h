/*
 * node/cmd.h - the subcommands of the mcn program (node/main.c's table).
 *
 * Each is int cmd_<name>_main(int argc, const char *argv[]) in its own
 * node/cmd_<name>.c; argv[0] is the subcommand name. The return value is
 * the exit code: 0 success, 1 failure (message on stderr naming the
 * problem), 2 usage error (usage on stderr).
 */
#ifndef MCN_NODE_CMD_H
#define MCN_NODE_CMD_H

#define MCN_EXIT_OK 0
#define MCN_EXIT_FAIL 1
#define MCN_EXIT_USAGE 2

int cmd_ca_main(int argc, const char *argv[]);         /* ca init | ca issue */
int cmd_consortium_main(int argc, const char *argv[]); /* consortium keygen | maskkey */
int cmd_network_main(int argc, const char *argv[]);    /* network init */
int cmd_import_main(int argc, const char *argv[]);     /* import CSV -> store */
int cmd_store_main(int argc, const char *argv[]);      /* store info */
int cmd_serve_main(int argc, const char *argv[]);      /* run a node */
int cmd_query_main(int argc, const char *argv[]);      /* the querier client */
int cmd_synth_main(int argc, const char *argv[]);      /* synthetic demo data */
int cmd_audit_main(int argc, const char *argv[]);      /* audit verify | show */

#endif
