/*
 * node/cmd_import.c - `mcn import`: validate a CSV against the data
 * dictionary and load it into the node's local store, all or nothing.
 *
 *   mcn import --config NODE.json --csv FILE [--replace]
 *   mcn import --db PATH --dictionary FILE --csv FILE [--replace]
 *              [--max-rows N]
 *
 * With --config the store, the dictionary and the row limit (the
 * consortium's max_rows_per_site) come from the node configuration; the
 * second form is for standalone use (no limit unless --max-rows). Bad
 * fields are listed on stderr as "line 17, column 'age': above maximum 120"
 * (never the value itself); then nothing is imported and the exit code is 1.
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

static const char import_usage_text[] =
    "usage: mcn import --config NODE.json --csv FILE [--replace]\n"
    "       mcn import --db PATH --dictionary FILE --csv FILE [--replace]\n"
    "                  [--max-rows N]\n"
    "\n"
    "Validates every row of FILE against the data dictionary and adds the\n"
    "rows to the node's store (--replace: replaces its rows). If any row is\n"
    "bad, the errors are listed and nothing is imported.\n";

static int
import_usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "mcn import: %s\n", why);
	fputs(import_usage_text, stderr);
	return (MCN_EXIT_USAGE);
}

static void
import_on_error(void *ctx, uint64_t line, const char *column,
    const char *reason)
{
	(void)ctx;
	if (column != NULL)
		fprintf(stderr, "line %llu, column '%s': %s\n",
		    (unsigned long long)line, column, reason);
	else
		fprintf(stderr, "line %llu: %s\n", (unsigned long long)line,
		    reason);
}

int
cmd_import_main(int argc, const char *argv[])
{
	const char *config = NULL, *db = NULL, *dictionary = NULL, *csv = NULL;
	const char *maxrows_s = NULL;
	char err[MCN_ERRMSG];
	mcn_config cfg;
	mcn_dict *dict = NULL;
	mcn_store *store = NULL;
	mcn_import_report rep;
	uint64_t max_rows = 0;
	int replace = 0, have_cfg = 0, code = MCN_EXIT_FAIL;
	mcn_err rv;

	for (int i = 1; i < argc; i++) {
		const char **slot = NULL;
		if (strcmp(argv[i], "--replace") == 0) {
			replace = 1;
			continue;
		}
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			fputs(import_usage_text, stdout);
			return (MCN_EXIT_OK);
		}
		if (strcmp(argv[i], "--config") == 0)
			slot = &config;
		else if (strcmp(argv[i], "--db") == 0)
			slot = &db;
		else if (strcmp(argv[i], "--dictionary") == 0)
			slot = &dictionary;
		else if (strcmp(argv[i], "--csv") == 0)
			slot = &csv;
		else if (strcmp(argv[i], "--max-rows") == 0)
			slot = &maxrows_s;
		else
			return (import_usage("unknown argument"));
		if (i + 1 >= argc)
			return (import_usage("option without a value"));
		if (*slot != NULL)
			return (import_usage("option given twice"));
		*slot = argv[++i];
	}
	if (csv == NULL)
		return (import_usage("--csv is required"));
	if ((config != NULL) == (db != NULL || dictionary != NULL))
		return (import_usage("give either --config or both --db and "
		                     "--dictionary"));
	if (config == NULL && (db == NULL || dictionary == NULL))
		return (import_usage("--db and --dictionary go together"));
	if (config != NULL && maxrows_s != NULL)
		return (import_usage("--max-rows comes from the consortium "
		                     "file with --config"));
	if (maxrows_s != NULL) {
		char *end;
		if (maxrows_s[0] < '0' || maxrows_s[0] > '9')
			return (import_usage("--max-rows needs a number"));
		max_rows = strtoull(maxrows_s, &end, 10);
		if (*end != '\0')
			return (import_usage("--max-rows needs a number"));
	}

	memset(&cfg, 0, sizeof(cfg));
	if (config != NULL) {
		if ((rv = mcn_config_load(&cfg, config, err, sizeof(err))) !=
		    MCN_OK) {
			fprintf(stderr, "mcn import: %s\n", err);
			return (MCN_EXIT_FAIL);
		}
		have_cfg = 1;
		if (cfg.store == NULL || cfg.dictionary == NULL) {
			fprintf(stderr,
			    "mcn import: %s: not a node "
			    "configuration (no store or dictionary)\n",
			    config);
			goto out;
		}
		db = cfg.store;
		dictionary = cfg.dictionary;
		max_rows = cfg.consortium.max_rows_per_site;
	}
	if ((rv = mcn_dict_load(&dict, dictionary, err, sizeof(err))) !=
	    MCN_OK) {
		fprintf(stderr, "mcn import: %s\n", err);
		goto out;
	}
	if ((rv = mcn_store_open(&store, db, dict, MCN_STORE_CREATE, err,
	         sizeof(err))) != MCN_OK) {
		fprintf(stderr, "mcn import: %s\n", err);
		goto out;
	}
	rv = mcn_store_import_csv(store, csv, replace, max_rows, &rep,
	    import_on_error, NULL, err, sizeof(err));
	if (rv == MCN_EDATA) {
		if (rep.errors > MCN_IMPORT_MAX_REPORTED)
			fprintf(stderr,
			    "(only the first %d errors are shown)\n",
			    MCN_IMPORT_MAX_REPORTED);
		if (rep.bad_rows > 0)
			fprintf(stderr,
			    "import refused: %llu error%s in %llu "
			    "row%s; nothing was imported\n",
			    (unsigned long long)rep.errors,
			    rep.errors == 1 ? "" : "s",
			    (unsigned long long)rep.bad_rows,
			    rep.bad_rows == 1 ? "" : "s");
		else
			fprintf(stderr,
			    "import refused: %s; nothing was "
			    "imported\n",
			    err);
		goto out;
	}
	if (rv != MCN_OK) {
		fprintf(stderr, "import refused: %s; nothing was imported\n",
		    err);
		goto out;
	}
	printf("imported %llu rows into %s (total %llu)\n",
	    (unsigned long long)rep.imported, db,
	    (unsigned long long)rep.total);
	code = MCN_EXIT_OK;
out:
	mcn_store_close(store);
	mcn_dict_free(dict);
	if (have_cfg)
		mcn_config_clear(&cfg);
	return (code);
}
