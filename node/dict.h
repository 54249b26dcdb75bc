/*
 * node/dict.h - the consortium data dictionary.
 *
 * One JSON file, shared by every node and querier of a consortium, declares
 * the analysis table and each of its columns. Every node validates its
 * imports against it; the query checker resolves names, types and levels
 * against it; the packing bounds of every aggregate are derived from its
 * ranges (which is why integer and real columns must declare min and max).
 *
 *   {
 *     "name": "demo-consortium", "version": 1, "table": "patients",
 *     "columns": [
 *       {"name": "age", "type": "integer", "unit": "years",
 *        "min": 0, "max": 120, "sensitivity": 2},
 *       {"name": "bmi", "type": "real", "unit": "kg/m2", "min": 10,
 *        "max": 80, "decimals": 1, "sensitivity": 2},
 *       {"name": "sex", "type": "categorical", "levels": ["F", "M"],
 *        "sensitivity": 2},
 *       {"name": "diagnosis", "type": "code", "code_system": "ICD-10",
 *        "sensitivity": 4},
 *       {"name": "admitted", "type": "date", "min": "2000-01-01",
 *        "max": "2030-12-31", "sensitivity": 3, "required": true}
 *     ]
 *   }
 *
 * Rules: top-level keys are exactly name (1..128 bytes), version (an
 * integer >= 0), table and columns (1..1000). Names are
 * [a-z_][a-z0-9_]{0,62} and unique (table name too; keywords of the query
 * language - select from where group by and or not in is null like between
 * as count sum mean var sd histogram table - and SQLite's rowid, oid,
 * _rowid_ are refused, case-insensitively; table names may not start with
 * mcn_ or sqlite_); type is one of integer, real, categorical, date, code;
 * sensitivity is an integer 1..5 (required); integer and real need
 * min <= max (integers: JSON integers within +-2^53; reals: |min| and
 * |max| times 10^decimals within 2^53); real needs decimals 0..6 (values
 * are held exactly as round(x * 10^decimals)); categorical needs 1..1000
 * unique levels of 1..64 bytes without control characters, and "NA" is
 * not a level (it marks a missing value in CSV files); code needs a
 * non-empty code_system; date min/max are optional "YYYY-MM-DD", both or
 * neither; unit, description optional strings (at most 4096 bytes);
 * "required" (default false) forbids missing values. "consent": true marks a
 * categorical column (which must have the level "yes") as a consent
 * column: a patient takes part in a computation only if every consent
 * column that applies holds "yes" (missing = no consent); with
 * "consent_purpose": "p" ([a-z][a-z0-9_-]{0,31}) the column applies only to
 * queriers whose policy role has purpose p (node/policy.h), without it to
 * everyone. Consent columns cannot be named in a query. Unknown keys, and keys
 * of another type (levels on an integer column, ...), are errors (typos
 * must not pass silently); so is a key given twice. Strings must not
 * contain NUL.
 */
#ifndef MCN_NODE_DICT_H
#define MCN_NODE_DICT_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/err.h"

#define MCN_DICT_NAME_MAX 63
#define MCN_DICT_MAX_COLUMNS 1000
#define MCN_DICT_MAX_LEVELS 1000
#define MCN_DICT_LEVEL_MAX 64
#define MCN_DICT_MAX_DECIMALS 6

typedef enum {
	MCN_COL_INTEGER = 1,
	MCN_COL_REAL,
	MCN_COL_CATEGORICAL,
	MCN_COL_DATE,
	MCN_COL_CODE,
} mcn_col_type;

typedef struct mcn_column {
	char *name;
	mcn_col_type type;
	char *unit;        /* NULL if none */
	char *description; /* NULL if none */
	char *code_system; /* code columns only, else NULL */
	int sensitivity;   /* 1..5 */
	int required;      /* 1: missing values refused at import */
	/* integer: [min, max] as given; real: as given (not scaled);
	 * date: days since 1970-01-01 (has_range 0 if not declared). */
	int has_range;
	double min, max;
	unsigned decimals;  /* real only */
	char **levels;      /* categorical only, in declared order */
	size_t nlevels;
	int consent;           /* 1: a consent column (categorical, has "yes") */
	char *consent_purpose; /* NULL: applies to every purpose */
} mcn_column;

typedef struct mcn_dict {
	char *name;     /* consortium dictionary name */
	int64_t version;
	char *table;    /* the one analysis table */
	mcn_column *cols;
	size_t ncols;
	uint8_t fingerprint[32]; /* SHA-256 of the canonical form (see below) */
} mcn_dict;

/* Parses a dictionary from JSON text (len bytes). On error returns
 * MCN_EFORMAT and writes a message to err naming the column and the
 * problem (e.g. "column 'bmi': real column needs \"decimals\" (0..6)");
 * a column whose name is itself invalid is named by position ("column 3").
 * Also MCN_ENOMEM, MCN_ECRYPTO (SHA-256 failed). *out is NULL on error.
 * The dictionary is immutable once parsed and may be shared by threads. */
mcn_err mcn_dict_parse(mcn_dict **out, const char *json, size_t len, char *err,
    size_t errlen) MCN_WUR;
/* Reads the file (max 4 MiB) and parses it; the message names the path.
 * MCN_EFORMAT, MCN_ESYS|errno (cannot read), MCN_ETOOBIG (> 4 MiB),
 * MCN_ENOMEM. */
mcn_err mcn_dict_load(mcn_dict **out, const char *path, char *err, size_t errlen) MCN_WUR;
void mcn_dict_free(mcn_dict *d);

/* Column by name (exact, case-sensitive), or NULL. */
const mcn_column *mcn_dict_find(const mcn_dict *d, const char *name);
/* Index of a level in a categorical column, or -1. */
int mcn_dict_level_index(const mcn_column *c, const char *level);
const char *mcn_col_type_name(mcn_col_type t);

/* "YYYY-MM-DD" (exactly this spelling; a real proleptic Gregorian date,
 * years 1000..9999) -> days since 1970-01-01. MCN_EFORMAT otherwise, and
 * *days is untouched. And back (out: 11 bytes, NUL-terminated); days
 * outside years 0000..9999 give "0000-00-00". Thread-safe. */
mcn_err mcn_date_parse(const char *s, int32_t *days) MCN_WUR;
void mcn_date_format(char out[11], int32_t days);

/* The fingerprint is SHA-256 over a canonical serialization of the parsed
 * dictionary (name, version, table, and every column field in order; the
 * byte layout is documented at the top of node/dict.c), so whitespace, key
 * order and number spelling in the file do not matter but any semantic
 * change does. Nodes refuse queries made against another fingerprint. */

#endif
