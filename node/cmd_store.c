/*
 * node/cmd_store.c - `mcn store info`: the hospital's own view of its store.
 *
 *   mcn store info --config NODE.json [--json]
 *   mcn store info --db PATH --dictionary FILE [--json]
 *
 * Prints the row count and, per column, missing values, values outside the
 * dictionary (normally 0 after a validated import), min/max/mean of numeric
 * columns, the date span, distinct codes and per-level counts. This is
 * local information for the operator; none of it is sent anywhere.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/cmd.h"
#include "node/config.h"
#include "node/dict.h"
#include "node/store.h"
#include "node/util.h"

static const char store_usage_text[] =
    "usage: mcn store info --config NODE.json [--json]\n"
    "       mcn store info --db PATH --dictionary FILE [--json]\n"
    "\n"
    "Shows the local store: rows, missing and out-of-range values per\n"
    "column, ranges, means and level counts (local only).\n";

static int
store_usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "mcn store: %s\n", why);
	fputs(store_usage_text, stderr);
	return (MCN_EXIT_USAGE);
}

static int
store_info(int argc, const char *argv[])
{
	const char *config = NULL, *db = NULL, *dictionary = NULL;
	char err[MCN_ERRMSG];
	mcn_config cfg;
	mcn_dict *dict = NULL;
	mcn_store *store = NULL;
	mcn_store_summary *sum = NULL;
	char *text = NULL;
	int json = 0, have_cfg = 0, code = MCN_EXIT_FAIL;
	mcn_err rv;

	for (int i = 2; i < argc; i++) {
		const char **slot = NULL;
		if (strcmp(argv[i], "--json") == 0) {
			json = 1;
			continue;
		}
		if (strcmp(argv[i], "--config") == 0)
			slot = &config;
		else if (strcmp(argv[i], "--db") == 0)
			slot = &db;
		else if (strcmp(argv[i], "--dictionary") == 0)
			slot = &dictionary;
		else
			return (store_usage("unknown argument"));
		if (i + 1 >= argc)
			return (store_usage("option without a value"));
		if (*slot != NULL)
			return (store_usage("option given twice"));
		*slot = argv[++i];
	}
	if ((config != NULL) == (db != NULL || dictionary != NULL) ||
	    (config == NULL && (db == NULL || dictionary == NULL)))
		return (store_usage("give either --config or both --db and "
		                    "--dictionary"));

	memset(&cfg, 0, sizeof(cfg));
	if (config != NULL) {
		if ((rv = mcn_config_load(&cfg, config, err, sizeof(err))) !=
		    MCN_OK) {
			fprintf(stderr, "mcn store: %s\n", err);
			return (MCN_EXIT_FAIL);
		}
		have_cfg = 1;
		if (cfg.store == NULL || cfg.dictionary == NULL) {
			fprintf(stderr,
			    "mcn store: %s: not a node "
			    "configuration (no store or dictionary)\n",
			    config);
			goto out;
		}
		db = cfg.store;
		dictionary = cfg.dictionary;
	}
	if ((rv = mcn_dict_load(&dict, dictionary, err, sizeof(err))) !=
	    MCN_OK) {
		fprintf(stderr, "mcn store: %s\n", err);
		goto out;
	}
	if ((rv = mcn_store_open(&store, db, dict, MCN_STORE_QUERY_ONLY, err,
	         sizeof(err))) != MCN_OK) {
		fprintf(stderr, "mcn store: %s\n", err);
		goto out;
	}
	if ((rv = mcn_store_summarize(&sum, store)) != MCN_OK ||
	    (rv = mcn_store_summary_format(&text, store, sum, json)) !=
	        MCN_OK) {
		fprintf(stderr, "mcn store: %s: cannot summarize (%s)\n", db,
		    mcn_strerror(rv));
		goto out;
	}
	fputs(text, stdout);
	if (json)
		fputc('\n', stdout);
	code = fflush(stdout) == 0 ? MCN_EXIT_OK : MCN_EXIT_FAIL;
out:
	free(text);
	mcn_store_summary_free(sum);
	mcn_store_close(store);
	mcn_dict_free(dict);
	if (have_cfg)
		mcn_config_clear(&cfg);
	return (code);
}

int
cmd_store_main(int argc, const char *argv[])
{
	if (argc >= 2 && strcmp(argv[1], "info") == 0)
		return (store_info(argc, argv));
	if (argc >= 2 &&
	    (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		fputs(store_usage_text, stdout);
		return (MCN_EXIT_OK);
	}
	return (store_usage(
	    argc < 2 ? "missing subcommand" : "unknown subcommand"));
}
