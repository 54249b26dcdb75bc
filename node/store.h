/*
 * node/store.h - the node's local store: one SQLite 3 database file.
 *
 * Raw rows never leave this module except to the query engine, which gets
 * the sqlite3 handle (mcn_store_db) and runs its aggregate SQL on it.
 *
 * Schema (the query engine relies on it exactly):
 *   - one STRICT table named dict->table with one column per dictionary
 *     column, same name, dictionary order:
 *       integer     -> INTEGER  the value
 *       real        -> REAL     the value as parsed (at most `decimals`
 *                               decimals, so round(x * 10^decimals) is exact)
 *       categorical -> TEXT     the level string exactly
 *       code        -> TEXT     as given, trimmed, upper-cased
 *       date        -> TEXT     'YYYY-MM-DD' (canonical)
 *     a missing value is NULL;
 *   - mcn_meta(key TEXT PRIMARY KEY, value) with the keys 'format' (1),
 *     'dictionary_fingerprint' (64 lower-case hex), 'dictionary_name',
 *     'dictionary_version'.
 * The file is created with mode 0600 (SQLite gives its -wal/-shm files the
 * same mode). Connections use journal_mode=WAL, foreign_keys=OFF,
 * secure_delete=ON, trusted_schema=OFF and a 5 s busy timeout.
 *
 * A store object is used by one thread at a time (SQLITE_OPEN_NOMUTEX).
 * Messages name the file and the problem, never a data value.
 */
#ifndef MCN_NODE_STORE_H
#define MCN_NODE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "crypto/err.h"
#include "node/dict.h"

typedef struct mcn_store mcn_store;

/* mode for mcn_store_open */
#define MCN_STORE_OPEN 0       /* an existing store, read-write */
#define MCN_STORE_CREATE 1     /* create the file and schema if missing */
#define MCN_STORE_QUERY_ONLY 2 /* an existing store; PRAGMA query_only=ON */

/* Opens (or with MCN_STORE_CREATE creates) the store at path for the
 * dictionary d, which is borrowed and must outlive the store. Errors:
 * MCN_ESYS|ENOENT no such store (modes OPEN and QUERY_ONLY); MCN_EFORMAT
 * not an SQLite file, not an mcn store, a table that does not match the
 * dictionary, or "store was created with another data dictionary (...)"
 * when the stored fingerprint differs from d's; MCN_ESYS|errno, MCN_ENOMEM,
 * MCN_ESTATE (database busy). */
mcn_err mcn_store_open(mcn_store **out, const char *path, const mcn_dict *d,
    int mode, char *err, size_t errlen) MCN_WUR;
/* Closes the database; NULL is a no-op. */
void mcn_store_close(mcn_store *s);

/* The open connection (owned by the store) and the dictionary. */
sqlite3 *mcn_store_db(mcn_store *s);
/* The data generation: a random 64-bit value every successful import
 * writes (mcn_meta 'generation'); 0 for a store never imported into (or
 * unreadable). Differencing memory and deterministic noise are per
 * generation. */
uint64_t mcn_store_generation(mcn_store *s);

/* An SQLite result code as an mcn_err: MCN_ENOMEM, MCN_ESTATE (busy,
 * locked), MCN_ESYS|ENOSPC (full), MCN_ESYS|errno (I/O, cannot open,
 * read-only, permission), else `other` (corrupt, not a database, schema:
 * each caller's own "bad file" code). */
mcn_err mcn_sqlite_err(sqlite3 *db, int rc, mcn_err other);
const mcn_dict *mcn_store_dict(const mcn_store *s);
const char *mcn_store_path(const mcn_store *s);

/* Number of rows in the analysis table. *rows is left unchanged on error
 * (not warn_unused_result: callers that only log the count may ignore a
 * failure). MCN_ESTATE (busy), MCN_EFORMAT, MCN_ENOMEM. */
mcn_err mcn_store_count(mcn_store *s, uint64_t *rows);

/* ---- import ------------------------------------------------------------- */

#define MCN_IMPORT_MAX_REPORTED 100 /* errors passed to on_error */

typedef struct mcn_import_report {
	uint64_t rows;     /* data records read (header excluded) */
	uint64_t bad_rows; /* records with at least one error */
	uint64_t errors;   /* all errors, header and syntax errors included */
	uint64_t imported; /* rows inserted (0 unless MCN_OK) */
	uint64_t total;    /* rows in the table afterwards */
} mcn_import_report;

/* Called for each of the first MCN_IMPORT_MAX_REPORTED errors: line is the
 * CSV line (the header is line 1 in an ordinary file), column the dictionary
 * or header column concerned or NULL for a whole-record problem, reason a
 * short text that never quotes the value ("not an integer", "above maximum
 * 120", "not one of the declared levels", "more than 1 decimal"). */
typedef void (*mcn_import_error_fn)(void *ctx, uint64_t line,
    const char *column, const char *reason);

/* Imports a CSV file into the table, all or nothing, in one transaction
 * (BEGIN IMMEDIATE); replace != 0 first deletes every existing row in the
 * same transaction. The header must hold each dictionary column exactly
 * once, in any order. Each field is validated against its column: ""
 * or NA is missing (refused if the column is required); integer: optional
 * sign and digits within [min, max]; real: decimal notation (exponent
 * allowed) whose exact value has at most `decimals` decimals, within
 * [min, max]; categorical: one of the levels exactly; code: after trimming
 * blanks 1..16 of [A-Za-z0-9.-], stored upper-cased; date: a real
 * 'YYYY-MM-DD' within the declared range. Every record is checked (so all
 * errors are counted) but nothing is kept if any is bad.
 *
 * Returns MCN_OK and fills rep; MCN_EDATA if any header, syntax or field
 * error was found (the store is unchanged); MCN_EREFUSED if the table would
 * hold more than max_rows rows (0: no limit), found as soon as the file has
 * too many rows; MCN_ESYS|errno if the file cannot be read; MCN_ENOMEM;
 * MCN_ESTATE if the database is busy. err gets a one-line summary. on_error
 * may be NULL; rep may be NULL. */
mcn_err mcn_store_import_csv(mcn_store *s, const char *csv_path, int replace,
    uint64_t max_rows, mcn_import_report *rep, mcn_import_error_fn on_error,
    void *ctx, char *err, size_t errlen) MCN_WUR;

/* ---- the hospital's own view of its data (never leaves the node) -------- */

typedef struct mcn_store_colinfo {
	const mcn_column *col; /* borrowed from the dictionary */
	uint64_t missing;      /* NULL values */
	uint64_t out_of_range; /* non-NULL values outside the dictionary's
	                          type, range, levels or code syntax */
	/* integer, real: min, max, mean of present values; date: min and max
	 * as days since 1970 (mean 0); has_stats 0 if no value is present */
	int has_stats;
	double min, max, mean;
	uint64_t distinct;      /* code columns: distinct codes */
	uint64_t *level_counts; /* categorical: count per level, in order */
} mcn_store_colinfo;

typedef struct mcn_store_summary {
	uint64_t rows;
	size_t ncols;
	mcn_store_colinfo *cols; /* dictionary order */
} mcn_store_summary;

/* Computes the summary by SQL over the table. MCN_ENOMEM, MCN_EFORMAT
 * (SQL failure on a damaged store). Free with mcn_store_summary_free. */
mcn_err mcn_store_summarize(mcn_store_summary **out, mcn_store *s) MCN_WUR;
void mcn_store_summary_free(mcn_store_summary *sum);

/* Formats the summary as a human table (json == 0) or as a JSON document
 * (json != 0):
 *   {"store": path, "table": t, "dictionary": {"name", "version",
 *    "fingerprint"}, "rows": N, "columns": [{"name", "type", "missing",
 *    "missing_pct", "out_of_range", ["min", "max", "mean"] | ["levels":
 *    {level: count, ...}] | ["distinct"]}, ...]}
 * *out is a new NUL-terminated string; free it with free(). MCN_ENOMEM. */
mcn_err mcn_store_summary_format(char **out, const mcn_store *s,
    const mcn_store_summary *sum, int json) MCN_WUR;

#endif
