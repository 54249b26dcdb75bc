/*
 * node/store.c - the local SQLite store: open/create, CSV import, summary.
 *
 * Import is one pass over the file inside one BEGIN IMMEDIATE transaction.
 * Each record is validated field by field against the dictionary and, as
 * long as no error has been seen, inserted through one prepared statement
 * with bound parameters. After the first error nothing more is inserted but
 * the rest of the file is still checked, so the operator gets every bad
 * line in one run; any error (or too many rows) rolls back, which leaves
 * the table exactly as it was, including the rows a replace deleted.
 *
 * Reals: a field is read as an exact decimal D * 10^e (digits D without
 * leading or trailing zeros), so "1.50" has 1 decimal and "125e-1" is 12.5.
 * With at most `decimals` decimals, S = D * 10^(e + decimals) is an integer
 * below 2^53 (the dictionary guarantees |min|, |max| * 10^decimals <= 2^53),
 * and the stored double is S / 10^decimals: one IEEE division of two exact
 * values, hence the double nearest the decimal (what strtod would give,
 * without its locale dependence), and round(x * 10^decimals) == S again.
 */
#define _POSIX_C_SOURCE 200809L
#include "node/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "crypto/mem.h"
#include "node/csv.h"
#include "node/util.h"

#define STORE_FORMAT 1
#define STORE_INT_LIMIT 9007199254740992ull /* 2^53 */

struct mcn_store {
	sqlite3 *db;
	const mcn_dict *d;
	char *path;
};

/* ---- small helpers ------------------------------------------------------- */

mcn_err
mcn_sqlite_err(sqlite3 *db, int rc, mcn_err other)
{
	int e;

	switch (rc & 0xff) {
	case SQLITE_NOMEM: return (MCN_ENOMEM);
	case SQLITE_BUSY:
	case SQLITE_LOCKED: return (MCN_ESTATE);
	case SQLITE_FULL: return (MCN_ESYS | ENOSPC);
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
	case SQLITE_PERM:
		e = db != NULL ? sqlite3_system_errno(db) : 0;
		return (MCN_ESYS | (e != 0 ? e : EACCES));
	default: /* NOTADB, CORRUPT, ERROR (schema), ... */
		return (other);
	}
}

/* Sets err to "<path>: <what> (<sqlite message>)" and maps rc. */
static mcn_err
store_fail(const mcn_store *s, int rc, const char *what, char *err,
    size_t errlen)
{
	mcn_msg(err, errlen, "%s: %s (%s)", s->path, what,
	    s->db != NULL ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
	return (mcn_sqlite_err(s->db, rc, MCN_EFORMAT));
}

static int
store_exec(mcn_store *s, const char *sql)
{
	return (sqlite3_exec(s->db, sql, NULL, NULL, NULL));
}

/* Runs sql (one statement, no parameters) and reads one int64 column. */
static int
store_int(mcn_store *s, const char *sql, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			*out = sqlite3_column_int64(st, 0);
			rc = SQLITE_OK;
		} else if (rc == SQLITE_DONE) {
			rc = SQLITE_NOTFOUND;
		}
	}
	sqlite3_finalize(st);
	return (rc);
}


static const char *
store_sqltype(mcn_col_type t)
{
	switch (t) {
	case MCN_COL_INTEGER: return ("INTEGER");
	case MCN_COL_REAL: return ("REAL");
	default: return ("TEXT");
	}
}

sqlite3 *
mcn_store_db(mcn_store *s)
{
	MCN_MUST(s != NULL);
	return (s->db);
}

const mcn_dict *
mcn_store_dict(const mcn_store *s)
{
	MCN_MUST(s != NULL);
	return (s->d);
}

const char *
mcn_store_path(const mcn_store *s)
{
	MCN_MUST(s != NULL);
	return (s->path);
}

void
mcn_store_close(mcn_store *s)
{
	if (s == NULL)
		return;
	if (s->db != NULL)
		sqlite3_close_v2(s->db);
	if (s->path != NULL)
		mcn_strfree(s->path);
	mcn_free(s, sizeof(*s));
}

mcn_err
mcn_store_count(mcn_store *s, uint64_t *rows)
{
	int64_t n = 0;
	int rc;

	MCN_MUST(s != NULL && rows != NULL);
	char *sql = sqlite3_mprintf("SELECT count(*) FROM \"%w\"", s->d->table);
	if (sql == NULL)
		return (MCN_ENOMEM);
	rc = store_int(s, sql, &n);
	sqlite3_free(sql);
	if (rc != SQLITE_OK)
		return (mcn_sqlite_err(s->db, rc, MCN_EFORMAT));
	*rows = (uint64_t)n;
	return (MCN_OK);
}

/* ---- open / create ------------------------------------------------------- */

static int
store_meta_put(mcn_store *s, const char *key, const char *value)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db,
	    "INSERT INTO mcn_meta(key, value) VALUES (?1, ?2)", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
	}
	sqlite3_finalize(st);
	return (rc);
}

/* Copies mcn_meta[key] as text into out ("" if absent). */
static int
store_meta_get(mcn_store *s, const char *key, char *out, size_t outlen)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db,
	    "SELECT CAST(value AS TEXT) FROM mcn_meta WHERE key = ?1", -1, &st,
	    NULL);
	out[0] = '\0';
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			const unsigned char *v = sqlite3_column_text(st, 0);
			snprintf(out, outlen, "%s",
			    v != NULL ? (const char *)v : "");
			rc = SQLITE_OK;
		} else if (rc == SQLITE_DONE) {
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(st);
	return (rc);
}

uint64_t
mcn_store_generation(mcn_store *s)
{
	char v[32];
	if (store_meta_get(s, "generation", v, sizeof(v)) != SQLITE_OK)
		return (0);
	return ((uint64_t)strtoll(v, NULL, 10));
}

static int
store_create_schema(mcn_store *s)
{
	const mcn_dict *d = s->d;
	char fp[65], ver[32];
	int rc;

	rc = store_exec(s,
	    "CREATE TABLE mcn_meta(key TEXT PRIMARY KEY, "
	    "value)");
	if (rc != SQLITE_OK)
		return (rc);
	mcn_hex_encode(fp, d->fingerprint, sizeof(d->fingerprint));
	snprintf(ver, sizeof(ver), "%lld", (long long)d->version);
	if ((rc = store_meta_put(s, "format", "1")) != SQLITE_OK ||
	    (rc = store_meta_put(s, "dictionary_fingerprint", fp)) !=
	        SQLITE_OK ||
	    (rc = store_meta_put(s, "dictionary_name", d->name)) != SQLITE_OK ||
	    (rc = store_meta_put(s, "dictionary_version", ver)) != SQLITE_OK)
		return (rc);

	sqlite3_str *q = sqlite3_str_new(s->db);
	sqlite3_str_appendf(q, "CREATE TABLE \"%w\" (", d->table);
	for (size_t i = 0; i < d->ncols; i++)
		sqlite3_str_appendf(q, "%s\"%w\" %s", i ? ", " : "",
		    d->cols[i].name, store_sqltype(d->cols[i].type));
	sqlite3_str_appendall(q, ") STRICT");
	char *sql = sqlite3_str_finish(q);
	if (sql == NULL)
		return (SQLITE_NOMEM);
	rc = store_exec(s, sql);
	sqlite3_free(sql);
	return (rc);
}

/* The stored fingerprint must be d's and the table must be the one the
 * dictionary describes (columns, order, types). */
static mcn_err
store_check(mcn_store *s, char *err, size_t errlen)
{
	const mcn_dict *d = s->d;
	char fp[65], sfp[80], sname[160], sver[32];
	sqlite3_stmt *st = NULL;
	mcn_err rv = MCN_EFORMAT;
	size_t i = 0;
	int rc;

	mcn_hex_encode(fp, d->fingerprint, sizeof(d->fingerprint));
	if ((rc = store_meta_get(s, "dictionary_fingerprint", sfp,
	         sizeof(sfp))) != SQLITE_OK ||
	    (rc = store_meta_get(s, "dictionary_name", sname, sizeof(sname))) !=
	        SQLITE_OK ||
	    (rc = store_meta_get(s, "dictionary_version", sver,
	         sizeof(sver))) != SQLITE_OK)
		return (store_fail(s, rc, "cannot read mcn_meta", err, errlen));
	if (strcmp(sfp, fp) != 0) {
		mcn_msg(err, errlen,
		    "%s: store was created with another data dictionary "
		    "(store: '%s' version %s, fingerprint %.16s; dictionary: "
		    "'%s' version %lld, fingerprint %.16s)",
		    s->path, sname, sver, sfp, d->name, (long long)d->version,
		    fp);
		return (MCN_EFORMAT);
	}
	char *sql = sqlite3_mprintf("PRAGMA table_info(\"%w\")", d->table);
	if (sql == NULL)
		return (MCN_ENOMEM);
	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	sqlite3_free(sql);
	if (rc != SQLITE_OK) {
		rv = store_fail(s, rc, "cannot read the table schema", err,
		    errlen);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 1);
		const char *type = (const char *)sqlite3_column_text(st, 2);
		if (i >= d->ncols || name == NULL || type == NULL ||
		    strcmp(name, d->cols[i].name) != 0 ||
		    strcmp(type, store_sqltype(d->cols[i].type)) != 0) {
			mcn_msg(err, errlen,
			    "%s: table '%s' does not match "
			    "the data dictionary (column %zu)",
			    s->path, d->table, i + 1);
			goto out;
		}
		i++;
	}
	if (rc != SQLITE_DONE) {
		rv = store_fail(s, rc, "cannot read the table schema", err,
		    errlen);
		goto out;
	}
	if (i != d->ncols) {
		mcn_msg(err, errlen,
		    "%s: table '%s' does not match the data "
		    "dictionary (%zu of %zu columns)",
		    s->path, d->table, i, d->ncols);
		goto out;
	}
	rv = MCN_OK;
out:
	sqlite3_finalize(st);
	return (rv);
}

/* Checks or creates the schema; with create, inside one write transaction
 * so that two processes creating the same store cannot interleave. */
static mcn_err
store_setup(mcn_store *s, int create, char *err, size_t errlen)
{
	int64_t nmeta = 0, ntables = 0;
	mcn_err rv;
	int rc;

	if (create && (rc = store_exec(s, "BEGIN IMMEDIATE")) != SQLITE_OK)
		return (store_fail(s, rc,
		    rc == SQLITE_NOTADB ? "not an SQLite database" :
		                          "cannot open the store",
		    err, errlen));
	rc = store_int(s,
	    "SELECT count(*) FROM sqlite_master WHERE "
	    "type = 'table' AND name = 'mcn_meta'",
	    &nmeta);
	if (rc == SQLITE_OK)
		rc = store_int(s,
		    "SELECT count(*) FROM sqlite_master WHERE "
		    "name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
		    &ntables);
	if (rc != SQLITE_OK) {
		rv = store_fail(s, rc,
		    rc == SQLITE_NOTADB ? "not an SQLite database" :
		                          "cannot read the store",
		    err, errlen);
		goto out;
	}
	if (nmeta == 0) {
		if (!create || ntables != 0) {
			mcn_msg(err, errlen,
			    "%s: not an mcn store (no "
			    "mcn_meta table)",
			    s->path);
			rv = MCN_EFORMAT;
			goto out;
		}
		if ((rc = store_create_schema(s)) != SQLITE_OK) {
			rv = store_fail(s, rc, "cannot create the store", err,
			    errlen);
			goto out;
		}
	} else if ((rv = store_check(s, err, errlen)) != MCN_OK) {
		goto out;
	}
	if (create && (rc = store_exec(s, "COMMIT")) != SQLITE_OK) {
		rv = store_fail(s, rc, "cannot create the store", err, errlen);
		goto out;
	}
	return (MCN_OK);
out:
	if (create)
		(void)store_exec(s, "ROLLBACK");
	return (rv);
}

mcn_err
mcn_store_open(mcn_store **out, const char *path, const mcn_dict *d, int mode,
    char *err, size_t errlen)
{
	mcn_store *s = NULL;
	mcn_err rv = MCN_ENOMEM;
	int rc;

	MCN_MUST(out != NULL && path != NULL && d != NULL && err != NULL);
	MCN_MUST(mode == MCN_STORE_OPEN || mode == MCN_STORE_CREATE ||
	    mode == MCN_STORE_QUERY_ONLY);
	*out = NULL;
	if ((s = mcn_zalloc(sizeof(*s))) == NULL ||
	    (s->path = mcn_strdup(path)) == NULL) {
		mcn_msg(err, errlen, "out of memory");
		goto out;
	}
	s->d = d;
	/* a new store: owner-only from the first byte */
	if ((rv = mcn_file_private(path, mode == MCN_STORE_CREATE,
	         "no such store (create it with mcn import)", err, errlen)) !=
	    MCN_OK)
		goto out;
	rc = sqlite3_open_v2(path, &s->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		rv = store_fail(s, rc, "cannot open", err, errlen);
		goto out;
	}
	sqlite3_busy_timeout(s->db, 5000);
	rc = store_exec(s, "PRAGMA journal_mode=WAL");
	if (rc == SQLITE_OK)
		rc = store_exec(s,
		    "PRAGMA foreign_keys=OFF; "
		    "PRAGMA secure_delete=ON; "
		    "PRAGMA trusted_schema=OFF");
	if (rc != SQLITE_OK) {
		rv = store_fail(s, rc,
		    rc == SQLITE_NOTADB ? "not an SQLite database" :
		                          "cannot open",
		    err, errlen);
		goto out;
	}
	if ((rv = store_setup(s, mode == MCN_STORE_CREATE, err, errlen)) !=
	    MCN_OK)
		goto out;
	if (mode == MCN_STORE_QUERY_ONLY &&
	    (rc = store_exec(s, "PRAGMA query_only=ON")) != SQLITE_OK) {
		rv = store_fail(s, rc, "cannot open", err, errlen);
		goto out;
	}
	*out = s;
	return (MCN_OK);
out:
	mcn_store_close(s);
	return (rv);
}

/* ---- import: field validation -------------------------------------------- */

/* Shortest fixed-point decimal that reads back as x (dictionary bounds in
 * messages): 120, 0.05, -100. */
static void
store_fmt_num(char *buf, size_t n, double x)
{
	for (int p = 0; p <= 17; p++) {
		snprintf(buf, n, "%.*f", p, x);
		if (strtod(buf, NULL) == x)
			return;
	}
	snprintf(buf, n, "%.17g", x);
}

static int
store_isdigit(char c)
{
	return (c >= '0' && c <= '9');
}

typedef struct {
	mcn_store *s;
	sqlite3_stmt *ins;
	size_t ncsv;          /* fields per record */
	size_t *map;          /* csv field -> dictionary column */
	const char ***sorted; /* per column: levels sorted (categorical) */
	char why[160];
} imp_ctx;

static int
imp_cmp(const void *a, const void *b)
{
	return (strcmp(*(const char *const *)a, *(const char *const *)b));
}

static const char *
imp_range(imp_ctx *ic, const mcn_column *c, int below)
{
	char num[40];
	store_fmt_num(num, sizeof(num), below ? c->min : c->max);
	snprintf(ic->why, sizeof(ic->why), "%s %s",
	    below ? "below minimum" : "above maximum", num);
	return (ic->why);
}

static const char *
imp_integer(imp_ctx *ic, const mcn_column *c, const char *f, int bind)
{
	const char *p = f;
	uint64_t v = 0;
	int neg = 0, big = 0;

	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (!store_isdigit(*p))
		return ("not an integer");
	for (; store_isdigit(*p); p++) {
		if (v > STORE_INT_LIMIT)
			big = 1;
		else
			v = v * 10 + (uint64_t)(*p - '0');
	}
	if (*p != '\0')
		return ("not an integer");
	if (big || v > STORE_INT_LIMIT)
		return (imp_range(ic, c, neg));
	int64_t x = neg ? -(int64_t)v : (int64_t)v;
	if ((double)x < c->min)
		return (imp_range(ic, c, 1));
	if ((double)x > c->max)
		return (imp_range(ic, c, 0));
	if (bind)
		sqlite3_bind_int64(ic->ins, (int)(c - ic->s->d->cols) + 1, x);
	return (NULL);
}

static const char *
imp_real(imp_ctx *ic, const mcn_column *c, const char *f, int bind)
{
	const char *p = f, *ds = NULL;
	int64_t nint = 0, nfrac = 0, ex = 0, first = -1, last = -1, k = 0;
	int neg = 0;

	/* [+-]? (D+ ('.' D*)? | '.' D+) ([eE] [+-]? D+)? */
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	ds = p;
	for (; store_isdigit(*p); p++, k++, nint++) {
		if (*p != '0') {
			first = first < 0 ? k : first;
			last = k;
		}
	}
	if (*p == '.') {
		for (p++; store_isdigit(*p); p++, k++, nfrac++) {
			if (*p != '0') {
				first = first < 0 ? k : first;
				last = k;
			}
		}
	}
	if (nint + nfrac == 0)
		return ("not a number");
	if (*p == 'e' || *p == 'E') {
		int eneg = 0;
		p++;
		if (*p == '+' || *p == '-')
			eneg = *p++ == '-';
		if (!store_isdigit(*p))
			return ("not a number");
		for (; store_isdigit(*p); p++) {
			if (ex < 1000000)
				ex = ex * 10 + (*p - '0');
		}
		ex = eneg ? -ex : ex;
	}
	if (*p != '\0')
		return ("not a number");

	uint64_t S = 0;
	if (first >= 0) {
		/* value = D * 10^e, D = digits first..last */
		int64_t e = nint - 1 - last + ex;
		if (-e > (int64_t)c->decimals) {
			if (c->decimals == 0)
				return ("not a whole number");
			snprintf(ic->why, sizeof(ic->why),
			    "more than %u "
			    "decimal%s",
			    c->decimals, c->decimals == 1 ? "" : "s");
			return (ic->why);
		}
		int64_t nd = last - first + 1, shift = e + c->decimals;
		if (nd + shift > 16)
			return (imp_range(ic, c, neg));
		for (int64_t j = 0, dk = 0; dk <= last; j++) {
			if (ds[j] == '.')
				continue;
			if (dk >= first)
				S = S * 10 + (uint64_t)(ds[j] - '0');
			dk++;
		}
		for (int64_t i = 0; i < shift; i++)
			S *= 10;
		if (S > STORE_INT_LIMIT)
			return (imp_range(ic, c, neg));
	}
	static const double pow10[] = { 1, 10, 100, 1e3, 1e4, 1e5, 1e6 };
	double x = (double)S / pow10[c->decimals];
	if (neg && S != 0)
		x = -x;
	if (x < c->min)
		return (imp_range(ic, c, 1));
	if (x > c->max)
		return (imp_range(ic, c, 0));
	if (bind)
		sqlite3_bind_double(ic->ins, (int)(c - ic->s->d->cols) + 1, x);
	return (NULL);
}

static const char *
imp_code(imp_ctx *ic, const mcn_column *c, char *f, int bind)
{
	size_t n = strlen(f);
	while (n > 0 && (f[n - 1] == ' ' || f[n - 1] == '\t'))
		f[--n] = '\0';
	while (*f == ' ' || *f == '\t') {
		f++;
		n--;
	}
	if (n == 0 || n > 16)
		return ("not a valid code (1-16 letters, digits, '.' or '-')");
	for (size_t i = 0; i < n; i++) {
		char ch = f[i];
		if (ch >= 'a' && ch <= 'z')
			f[i] = (char)(ch - 'a' + 'A');
		else if (!((ch >= 'A' && ch <= 'Z') || store_isdigit(ch) ||
		             ch == '.' || ch == '-'))
			return ("not a valid code (1-16 letters, digits, '.' "
			        "or '-')");
	}
	if (bind)
		sqlite3_bind_text(ic->ins, (int)(c - ic->s->d->cols) + 1, f,
		    (int)n, SQLITE_TRANSIENT);
	return (NULL);
}

static const char *
imp_date(imp_ctx *ic, const mcn_column *c, const char *f, int bind)
{
	char lim[11];
	int32_t days;

	if (mcn_date_parse(f, &days) != MCN_OK)
		return ("not a date (YYYY-MM-DD)");
	if (c->has_range && (days < c->min || days > c->max)) {
		int below = days < c->min;
		mcn_date_format(lim, (int32_t)(below ? c->min : c->max));
		snprintf(ic->why, sizeof(ic->why), "%s %s",
		    below ? "before minimum" : "after maximum", lim);
		return (ic->why);
	}
	/* mcn_date_parse accepts only the canonical spelling */
	if (bind)
		sqlite3_bind_text(ic->ins, (int)(c - ic->s->d->cols) + 1, f, 10,
		    SQLITE_TRANSIENT);
	return (NULL);
}

/* Validates one field (and binds it when bind). NULL if valid, else the
 * reason. f may be modified in place. */
static const char *
imp_field(imp_ctx *ic, size_t ci, char *f, int bind)
{
	const mcn_column *c = &ic->s->d->cols[ci];

	if (f[0] == '\0' || strcmp(f, "NA") == 0) {
		if (c->required)
			return ("missing (the column is required)");
		if (bind)
			sqlite3_bind_null(ic->ins, (int)ci + 1);
		return (NULL);
	}
	switch (c->type) {
	case MCN_COL_INTEGER: return (imp_integer(ic, c, f, bind));
	case MCN_COL_REAL: return (imp_real(ic, c, f, bind));
	case MCN_COL_CATEGORICAL:
		if (bsearch(&f, ic->sorted[ci], c->nlevels, sizeof(char *),
		        imp_cmp) == NULL)
			return ("not one of the declared levels");
		if (bind)
			sqlite3_bind_text(ic->ins, (int)ci + 1, f, -1,
			    SQLITE_TRANSIENT);
		return (NULL);
	case MCN_COL_CODE: return (imp_code(ic, c, f, bind));
	case MCN_COL_DATE: return (imp_date(ic, c, f, bind));
	}
	return ("unknown column type");
}

/* ---- import: the file ---------------------------------------------------- */

typedef struct {
	mcn_import_report rep;
	mcn_import_error_fn fn;
	void *ctx;
} imp_out;

static void
imp_error(imp_out *o, uint64_t line, const char *column, const char *reason)
{
	if (o->rep.errors++ < MCN_IMPORT_MAX_REPORTED && o->fn != NULL)
		o->fn(o->ctx, line, column, reason);
}

/* Maps header fields to dictionary columns; reports every mismatch. Header
 * names that are not dictionary columns are named by position only: a file
 * without a header would otherwise put its first data row in a message. */
static void
imp_header(imp_ctx *ic, imp_out *o, char **h, size_t n, uint64_t line)
{
	const mcn_dict *d = ic->s->d;
	char why[160];

	ic->ncsv = n;
	for (size_t i = 0; i < n; i++) {
		const mcn_column *c = mcn_dict_find(d, h[i]);
		if (c == NULL) {
			const mcn_column *near = NULL;
			for (size_t k = 0; k < d->ncols && near == NULL; k++) {
				if (strcasecmp(d->cols[k].name, h[i]) == 0)
					near = &d->cols[k];
			}
			if (near != NULL)
				snprintf(why, sizeof(why),
				    "header field %zu "
				    "is not a dictionary column (names are "
				    "case-sensitive: '%s'?)",
				    i + 1, near->name);
			else
				snprintf(why, sizeof(why),
				    "header field %zu "
				    "is not a dictionary column",
				    i + 1);
			imp_error(o, line, NULL, why);
			ic->map[i] = SIZE_MAX;
			continue;
		}
		ic->map[i] = (size_t)(c - d->cols);
		for (size_t k = 0; k < i; k++) {
			if (ic->map[k] == ic->map[i]) {
				snprintf(why, sizeof(why),
				    "appears twice in "
				    "the header (fields %zu and %zu)",
				    k + 1, i + 1);
				imp_error(o, line, c->name, why);
				ic->map[i] = SIZE_MAX;
				break;
			}
		}
	}
	for (size_t ci = 0; ci < d->ncols; ci++) {
		size_t i;
		for (i = 0; i < n && ic->map[i] != ci; i++)
			;
		if (i == n)
			imp_error(o, line, d->cols[ci].name,
			    "missing from the header");
	}
}

static mcn_err
imp_prepare(imp_ctx *ic)
{
	const mcn_dict *d = ic->s->d;

	if ((ic->map = mcn_alloc(MCN_CSV_MAX_COLUMNS * sizeof(size_t))) ==
	        NULL ||
	    (ic->sorted = mcn_zalloc(d->ncols * sizeof(char **))) == NULL)
		return (MCN_ENOMEM);
	for (size_t i = 0; i < d->ncols; i++) {
		const mcn_column *c = &d->cols[i];
		if (c->type != MCN_COL_CATEGORICAL)
			continue;
		if ((ic->sorted[i] = mcn_alloc(c->nlevels * sizeof(char *))) ==
		    NULL)
			return (MCN_ENOMEM);
		memcpy(ic->sorted[i], c->levels, c->nlevels * sizeof(char *));
		qsort(ic->sorted[i], c->nlevels, sizeof(char *), imp_cmp);
	}
	sqlite3_str *q = sqlite3_str_new(ic->s->db);
	sqlite3_str_appendf(q, "INSERT INTO \"%w\" (", d->table);
	for (size_t i = 0; i < d->ncols; i++)
		sqlite3_str_appendf(q, "%s\"%w\"", i ? ", " : "",
		    d->cols[i].name);
	sqlite3_str_appendall(q, ") VALUES (");
	for (size_t i = 0; i < d->ncols; i++)
		sqlite3_str_appendf(q, "%s?%d", i ? ", " : "", (int)i + 1);
	sqlite3_str_appendall(q, ")");
	char *sql = sqlite3_str_finish(q);
	if (sql == NULL)
		return (MCN_ENOMEM);
	int rc = sqlite3_prepare_v2(ic->s->db, sql, -1, &ic->ins, NULL);
	sqlite3_free(sql);
	return (rc == SQLITE_OK ? MCN_OK : mcn_sqlite_err(ic->s->db, rc, MCN_EFORMAT));
}

static void
imp_release(imp_ctx *ic)
{
	const mcn_dict *d = ic->s->d;

	sqlite3_finalize(ic->ins);
	mcn_free(ic->map, MCN_CSV_MAX_COLUMNS * sizeof(size_t));
	if (ic->sorted != NULL) {
		for (size_t i = 0; i < d->ncols; i++) {
			if (ic->sorted[i] != NULL)
				mcn_free(ic->sorted[i],
				    d->cols[i].nlevels * sizeof(char *));
		}
		mcn_free(ic->sorted, d->ncols * sizeof(char **));
	}
}

mcn_err
mcn_store_import_csv(mcn_store *s, const char *csv_path, int replace,
    uint64_t max_rows, mcn_import_report *rep, mcn_import_error_fn on_error,
    void *ctx, char *err, size_t errlen)
{
	imp_ctx ic;
	imp_out o;
	mcn_csv *r = NULL;
	char msg[160];
	char **fields;
	size_t nf;
	uint64_t line = 0, base = 0;
	int in_tx = 0, rc;
	mcn_err rv;

	MCN_MUST(s != NULL && csv_path != NULL && err != NULL);
	memset(&ic, 0, sizeof(ic));
	memset(&o, 0, sizeof(o));
	ic.s = s;
	o.fn = on_error;
	o.ctx = ctx;
	if (errlen > 0)
		err[0] = '\0';

	if ((rv = mcn_csv_open(&r, csv_path, err, errlen)) != MCN_OK)
		goto out;
	if ((rv = imp_prepare(&ic)) != MCN_OK) {
		mcn_msg(err, errlen, "%s: cannot prepare the import (%s)",
		    s->path, mcn_strerror(rv));
		goto out;
	}
	if ((rc = store_exec(s, "BEGIN IMMEDIATE")) != SQLITE_OK) {
		rv = store_fail(s, rc,
		    rc == SQLITE_BUSY ? "the store is busy" :
		                        "cannot start the import",
		    err, errlen);
		goto out;
	}
	in_tx = 1;
	if (replace) {
		char *sql = sqlite3_mprintf("DELETE FROM \"%w\"", s->d->table);
		rc = sql != NULL ? store_exec(s, sql) : SQLITE_NOMEM;
		sqlite3_free(sql);
		if (rc != SQLITE_OK) {
			rv = store_fail(s, rc, "cannot delete the old rows",
			    err, errlen);
			goto out;
		}
	} else if ((rv = mcn_store_count(s, &base)) != MCN_OK) {
		mcn_msg(err, errlen, "%s: cannot count rows (%s)", s->path,
		    sqlite3_errmsg(s->db));
		goto out;
	}

	rv = mcn_csv_header(r, &fields, &nf, &line, msg, sizeof(msg));
	if (rv == MCN_OK) {
		imp_header(&ic, &o, fields, nf, line);
		if (o.rep.errors != 0) {
			mcn_msg(err, errlen,
			    "%s: the header does not match "
			    "the data dictionary (%llu error%s)",
			    csv_path, (unsigned long long)o.rep.errors,
			    o.rep.errors == 1 ? "" : "s");
			rv = MCN_EDATA;
			goto out;
		}
	}
	while (rv == MCN_OK) {
		rv = mcn_csv_next(r, &fields, &nf, &line, msg, sizeof(msg));
		if (rv != MCN_OK || nf == 0)
			break;
		o.rep.rows++;
		if (max_rows != 0 && base + o.rep.rows > max_rows) {
			mcn_msg(err, errlen,
			    "%s: the store would exceed its "
			    "limit of %llu rows",
			    csv_path, (unsigned long long)max_rows);
			rv = MCN_EREFUSED;
			goto out;
		}
		if (nf != ic.ncsv) {
			snprintf(ic.why, sizeof(ic.why),
			    "has %zu field%s, the "
			    "header has %zu",
			    nf, nf == 1 ? "" : "s", ic.ncsv);
			imp_error(&o, line, NULL, ic.why);
			o.rep.bad_rows++;
			continue;
		}
		int bind = o.rep.errors == 0, bad = 0;
		for (size_t i = 0; i < nf; i++) {
			const char *why =
			    imp_field(&ic, ic.map[i], fields[i], bind);
			if (why != NULL) {
				imp_error(&o, line, s->d->cols[ic.map[i]].name,
				    why);
				bad = 1;
			}
		}
		if (bad) {
			o.rep.bad_rows++;
			continue;
		}
		if (!bind)
			continue;
		rc = sqlite3_step(ic.ins);
		sqlite3_reset(ic.ins);
		if (rc != SQLITE_DONE) {
			rv = store_fail(s, rc, "cannot insert", err, errlen);
			goto out;
		}
	}
	if (rv == MCN_EDATA) {
		/* a syntax error: the rest of the file cannot be read */
		imp_error(&o, line, NULL, msg);
	} else if (rv != MCN_OK) {
		mcn_msg(err, errlen, "%s: %s", csv_path, msg);
		goto out;
	}
	if (o.rep.errors != 0) {
		if (o.rep.bad_rows != 0)
			mcn_msg(err, errlen, "%llu error%s in %llu row%s",
			    (unsigned long long)o.rep.errors,
			    o.rep.errors == 1 ? "" : "s",
			    (unsigned long long)o.rep.bad_rows,
			    o.rep.bad_rows == 1 ? "" : "s");
		else
			mcn_msg(err, errlen, "%s: line %llu: %s", csv_path,
			    (unsigned long long)line, msg);
		rv = MCN_EDATA;
		goto out;
	}
	if ((rv = mcn_store_count(s, &o.rep.total)) != MCN_OK) {
		mcn_msg(err, errlen, "%s: cannot count rows (%s)", s->path,
		    sqlite3_errmsg(s->db));
		goto out;
	}
	/* a new data generation: cohorts remembered for the differencing
	 * rule and deterministic noise belong to the data they came from */
	if ((rc = store_exec(s, "INSERT OR REPLACE INTO mcn_meta(key, value) "
	         "VALUES ('generation', random())")) != SQLITE_OK) {
		rv = store_fail(s, rc, "cannot record the import", err, errlen);
		goto out;
	}
	if ((rc = store_exec(s, "COMMIT")) != SQLITE_OK) {
		rv = store_fail(s, rc, "cannot commit the import", err, errlen);
		goto out;
	}
	in_tx = 0;
	o.rep.imported = o.rep.rows;
	rv = MCN_OK;
out:
	if (in_tx)
		(void)store_exec(s, "ROLLBACK");
	if (rv != MCN_OK) {
		o.rep.imported = 0;
		if (mcn_store_count(s, &o.rep.total) != MCN_OK)
			o.rep.total = 0;
	}
	imp_release(&ic);
	mcn_csv_close(r);
	mcn_wipe(msg, sizeof(msg));
	if (rep != NULL)
		*rep = o.rep;
	return (rv);
}

/* ---- summary ------------------------------------------------------------- */

void
mcn_store_summary_free(mcn_store_summary *sum)
{
	if (sum == NULL)
		return;
	for (size_t i = 0; i < sum->ncols; i++) {
		mcn_store_colinfo *ci = &sum->cols[i];
		if (ci->level_counts != NULL)
			mcn_free(ci->level_counts,
			    ci->col->nlevels * sizeof(uint64_t));
	}
	mcn_free(sum->cols, sum->ncols * sizeof(mcn_store_colinfo));
	mcn_free(sum, sizeof(*sum));
}

/* SQL that is true for a non-NULL value that is valid for column c;
 * parameters ?1, ?2 (range) or ?1..?n (levels) are bound by the caller. */
static void
sum_valid_expr(sqlite3_str *q, const mcn_column *c)
{
	const char *n = c->name;

	switch (c->type) {
	case MCN_COL_INTEGER:
		sqlite3_str_appendf(q,
		    "typeof(\"%w\") = 'integer' AND \"%w\" "
		    "BETWEEN ?1 AND ?2",
		    n, n);
		break;
	case MCN_COL_REAL:
		sqlite3_str_appendf(q,
		    "typeof(\"%w\") IN ('real', 'integer') "
		    "AND \"%w\" BETWEEN ?1 AND ?2",
		    n, n);
		break;
	case MCN_COL_CATEGORICAL:
		sqlite3_str_appendf(q,
		    "typeof(\"%w\") = 'text' AND \"%w\" IN (", n, n);
		for (size_t i = 0; i < c->nlevels; i++)
			sqlite3_str_appendf(q, "%s?%d", i ? ", " : "",
			    (int)i + 1);
		sqlite3_str_appendall(q, ")");
		break;
	case MCN_COL_CODE:
		sqlite3_str_appendf(q,
		    "typeof(\"%w\") = 'text' AND "
		    "length(\"%w\") BETWEEN 1 AND 16 AND \"%w\" NOT GLOB "
		    "'*[^A-Z0-9.-]*'",
		    n, n, n);
		break;
	case MCN_COL_DATE:
		/* date(x) alone passes '2023-02-30'; the round trip through
		 * a day number normalizes it, so only real dates compare
		 * equal */
		sqlite3_str_appendf(q,
		    "typeof(\"%w\") = 'text' AND "
		    "date(julianday(\"%w\")) IS \"%w\" AND \"%w\" >= "
		    "'1000-01-01'",
		    n, n, n, n);
		if (c->has_range)
			sqlite3_str_appendf(q, " AND \"%w\" BETWEEN ?1 AND ?2",
			    n);
		break;
	}
}

static int
sum_bind_valid(sqlite3_stmt *st, const mcn_column *c)
{
	char a[11], b[11];
	int rc = SQLITE_OK;

	switch (c->type) {
	case MCN_COL_INTEGER:
		if ((rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)c->min)) ==
		    SQLITE_OK)
			rc = sqlite3_bind_int64(st, 2, (sqlite3_int64)c->max);
		break;
	case MCN_COL_REAL:
		if ((rc = sqlite3_bind_double(st, 1, c->min)) == SQLITE_OK)
			rc = sqlite3_bind_double(st, 2, c->max);
		break;
	case MCN_COL_CATEGORICAL:
		for (size_t i = 0; i < c->nlevels && rc == SQLITE_OK; i++)
			rc = sqlite3_bind_text(st, (int)i + 1, c->levels[i], -1,
			    SQLITE_STATIC);
		break;
	case MCN_COL_DATE:
		if (c->has_range) {
			mcn_date_format(a, (int32_t)c->min);
			mcn_date_format(b, (int32_t)c->max);
			if ((rc = sqlite3_bind_text(st, 1, a, 10,
			         SQLITE_TRANSIENT)) == SQLITE_OK)
				rc = sqlite3_bind_text(st, 2, b, 10,
				    SQLITE_TRANSIENT);
		}
		break;
	case MCN_COL_CODE: break;
	}
	return (rc);
}

/* One scan per column: counts, out-of-range, min/max/mean, distinct. */
static int
sum_column(mcn_store *s, mcn_store_colinfo *ci, uint64_t *rows)
{
	const mcn_column *c = ci->col;
	const char *n = c->name;
	sqlite3_stmt *st = NULL;
	int rc;

	sqlite3_str *q = sqlite3_str_new(s->db);
	sqlite3_str_appendf(q,
	    "SELECT count(*), count(\"%w\"), min(\"%w\"), "
	    "max(\"%w\"), avg(\"%w\"), ",
	    n, n, n, n);
	if (c->type == MCN_COL_CODE)
		sqlite3_str_appendf(q, "count(DISTINCT \"%w\"), ", n);
	else
		sqlite3_str_appendall(q, "0, ");
	sqlite3_str_appendf(q, "coalesce(sum(\"%w\" IS NOT NULL AND NOT (", n);
	sum_valid_expr(q, c);
	sqlite3_str_appendf(q, ")), 0) FROM \"%w\"", s->d->table);
	char *sql = sqlite3_str_finish(q);
	if (sql == NULL)
		return (SQLITE_NOMEM);
	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	sqlite3_free(sql);
	if (rc == SQLITE_OK)
		rc = sum_bind_valid(st, c);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		*rows = (uint64_t)sqlite3_column_int64(st, 0);
		uint64_t present = (uint64_t)sqlite3_column_int64(st, 1);
		ci->missing = *rows - present;
		ci->out_of_range = (uint64_t)sqlite3_column_int64(st, 6);
		ci->distinct = (uint64_t)sqlite3_column_int64(st, 5);
		if (present > 0 &&
		    (c->type == MCN_COL_INTEGER || c->type == MCN_COL_REAL)) {
			ci->has_stats = 1;
			ci->min = sqlite3_column_double(st, 2);
			ci->max = sqlite3_column_double(st, 3);
			ci->mean = sqlite3_column_double(st, 4);
		} else if (present > 0 && c->type == MCN_COL_DATE) {
			const char *a =
			    (const char *)sqlite3_column_text(st, 2);
			const char *b =
			    (const char *)sqlite3_column_text(st, 3);
			int32_t da, db;
			if (a != NULL && b != NULL &&
			    mcn_date_parse(a, &da) == MCN_OK &&
			    mcn_date_parse(b, &db) == MCN_OK) {
				ci->has_stats = 1;
				ci->min = da;
				ci->max = db;
			}
		}
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK || c->type != MCN_COL_CATEGORICAL)
		return (rc);

	if ((ci->level_counts = mcn_zalloc(c->nlevels * sizeof(uint64_t))) ==
	    NULL)
		return (SQLITE_NOMEM);
	sql = sqlite3_mprintf("SELECT \"%w\", count(*) FROM \"%w\" WHERE "
	                      "\"%w\" IS NOT NULL GROUP BY \"%w\"",
	    n, s->d->table, n, n);
	if (sql == NULL)
		return (SQLITE_NOMEM);
	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	sqlite3_free(sql);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *lv = (const char *)sqlite3_column_text(st, 0);
		int k =
		    lv != NULL && sqlite3_column_type(st, 0) == SQLITE_TEXT ?
		    mcn_dict_level_index(c, lv) :
		    -1;
		if (k >= 0)
			ci->level_counts[k] =
			    (uint64_t)sqlite3_column_int64(st, 1);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return (rc == SQLITE_DONE ? SQLITE_OK : rc);
}

mcn_err
mcn_store_summarize(mcn_store_summary **out, mcn_store *s)
{
	mcn_store_summary *sum = NULL;
	const mcn_dict *d;
	mcn_err rv = MCN_ENOMEM;
	int rc = SQLITE_OK;

	MCN_MUST(out != NULL && s != NULL);
	*out = NULL;
	d = s->d;
	if ((sum = mcn_zalloc(sizeof(*sum))) == NULL ||
	    (sum->cols = mcn_zalloc(d->ncols * sizeof(mcn_store_colinfo))) ==
	        NULL)
		goto out;
	sum->ncols = d->ncols;
	for (size_t i = 0; i < d->ncols; i++)
		sum->cols[i].col = &d->cols[i];
	/* one read transaction: every column sees the same rows */
	if ((rc = store_exec(s, "BEGIN")) != SQLITE_OK)
		goto out;
	for (size_t i = 0; i < d->ncols && rc == SQLITE_OK; i++)
		rc = sum_column(s, &sum->cols[i], &sum->rows);
	(void)store_exec(s, "COMMIT");
	if (rc != SQLITE_OK)
		goto out;
	*out = sum;
	return (MCN_OK);
out:
	if (rc != SQLITE_OK)
		rv = mcn_sqlite_err(s->db, rc, MCN_EFORMAT);
	mcn_store_summary_free(sum);
	return (rv);
}

/* ---- summary output ------------------------------------------------------ */

static double
sum_pct(uint64_t part, uint64_t whole)
{
	return (whole == 0 ? 0.0 : 100.0 * (double)part / (double)whole);
}

static int
sum_text(FILE *f, const mcn_store *s, const mcn_store_summary *sum)
{
	const mcn_dict *d = s->d;
	char fp[65], a[11], b[11];

	mcn_hex_encode(fp, d->fingerprint, sizeof(d->fingerprint));
	fprintf(f, "store       %s\n", s->path);
	fprintf(f, "dictionary  %s version %lld, fingerprint %.16s\n", d->name,
	    (long long)d->version, fp);
	fprintf(f, "table       %s, %llu rows\n\n", d->table,
	    (unsigned long long)sum->rows);
	fprintf(f, "%-20s %-11s %16s %12s  %s\n", "column", "type", "missing",
	    "out of range", "values");
	for (size_t i = 0; i < sum->ncols; i++) {
		const mcn_store_colinfo *ci = &sum->cols[i];
		const mcn_column *c = ci->col;
		char miss[40];
		snprintf(miss, sizeof(miss), "%llu (%.1f%%)",
		    (unsigned long long)ci->missing,
		    sum_pct(ci->missing, sum->rows));
		fprintf(f, "%-20s %-11s %16s %12llu  ", c->name,
		    mcn_col_type_name(c->type), miss,
		    (unsigned long long)ci->out_of_range);
		switch (c->type) {
		case MCN_COL_INTEGER:
		case MCN_COL_REAL: {
			int dec =
			    c->type == MCN_COL_REAL ? (int)c->decimals : 0;
			if (ci->has_stats)
				fprintf(f, "min %.*f, max %.*f, mean %.*f", dec,
				    ci->min, dec, ci->max, dec + 2, ci->mean);
			else
				fprintf(f, "-");
			break;
		}
		case MCN_COL_DATE:
			if (ci->has_stats) {
				mcn_date_format(a, (int32_t)ci->min);
				mcn_date_format(b, (int32_t)ci->max);
				fprintf(f, "%s .. %s", a, b);
			} else {
				fprintf(f, "-");
			}
			break;
		case MCN_COL_CODE:
			fprintf(f, "%llu distinct",
			    (unsigned long long)ci->distinct);
			break;
		case MCN_COL_CATEGORICAL:
			for (size_t k = 0; k < c->nlevels; k++) {
				if (c->nlevels > 6)
					fprintf(f, "\n%47s", "");
				fprintf(f, "%s%s %llu (%.1f%%)",
				    k && c->nlevels <= 6 ? ", " : "",
				    c->levels[k],
				    (unsigned long long)ci->level_counts[k],
				    sum_pct(ci->level_counts[k], sum->rows));
			}
			break;
		}
		fprintf(f, "\n");
	}
	return (ferror(f) ? -1 : 0);
}

static json_t *
sum_json_col(const mcn_store_colinfo *ci, uint64_t rows)
{
	const mcn_column *c = ci->col;
	char a[11];
	json_t *o = json_object(), *lv;
	int bad = o == NULL;

	if (bad)
		return (NULL);
	bad |= json_object_set_new(o, "name", json_string(c->name));
	bad |= json_object_set_new(o, "type",
	    json_string(mcn_col_type_name(c->type)));
	bad |= json_object_set_new(o, "missing",
	    json_integer((json_int_t)ci->missing));
	bad |= json_object_set_new(o, "missing_pct",
	    json_real(sum_pct(ci->missing, rows)));
	bad |= json_object_set_new(o, "out_of_range",
	    json_integer((json_int_t)ci->out_of_range));
	switch (c->type) {
	case MCN_COL_INTEGER:
	case MCN_COL_REAL:
		if (!ci->has_stats) {
			bad |= json_object_set_new(o, "min", json_null());
			bad |= json_object_set_new(o, "max", json_null());
			bad |= json_object_set_new(o, "mean", json_null());
		} else if (c->type == MCN_COL_INTEGER) {
			bad |= json_object_set_new(o, "min",
			    json_integer((json_int_t)ci->min));
			bad |= json_object_set_new(o, "max",
			    json_integer((json_int_t)ci->max));
			bad |=
			    json_object_set_new(o, "mean", json_real(ci->mean));
		} else {
			bad |=
			    json_object_set_new(o, "min", json_real(ci->min));
			bad |=
			    json_object_set_new(o, "max", json_real(ci->max));
			bad |=
			    json_object_set_new(o, "mean", json_real(ci->mean));
		}
		break;
	case MCN_COL_DATE:
		if (!ci->has_stats) {
			bad |= json_object_set_new(o, "min", json_null());
			bad |= json_object_set_new(o, "max", json_null());
			break;
		}
		mcn_date_format(a, (int32_t)ci->min);
		bad |= json_object_set_new(o, "min", json_string(a));
		mcn_date_format(a, (int32_t)ci->max);
		bad |= json_object_set_new(o, "max", json_string(a));
		break;
	case MCN_COL_CODE:
		bad |= json_object_set_new(o, "distinct",
		    json_integer((json_int_t)ci->distinct));
		break;
	case MCN_COL_CATEGORICAL:
		lv = json_object();
		bad |= json_object_set_new(o, "levels", lv);
		for (size_t k = 0; lv != NULL && k < c->nlevels; k++)
			bad |= json_object_set_new(lv, c->levels[k],
			    json_integer((json_int_t)ci->level_counts[k]));
		break;
	}
	if (bad) {
		json_decref(o);
		return (NULL);
	}
	return (o);
}

static char *
sum_json(const mcn_store *s, const mcn_store_summary *sum)
{
	const mcn_dict *d = s->d;
	char fp[65];
	char *text = NULL;
	json_t *cols = json_array();
	json_t *root = json_object();
	int bad = cols == NULL || root == NULL;

	mcn_hex_encode(fp, d->fingerprint, sizeof(d->fingerprint));
	for (size_t i = 0; !bad && i < sum->ncols; i++)
		bad |= json_array_append_new(cols,
		    sum_json_col(&sum->cols[i], sum->rows));
	if (!bad) {
		bad |= json_object_set_new(root, "store", json_string(s->path));
		bad |=
		    json_object_set_new(root, "table", json_string(d->table));
		bad |= json_object_set_new(root, "dictionary",
		    json_pack("{s:s, s:I, s:s}", "name", d->name, "version",
		        (json_int_t)d->version, "fingerprint", fp));
		bad |= json_object_set_new(root, "rows",
		    json_integer((json_int_t)sum->rows));
		bad |= json_object_set(root, "columns", cols);
	}
	if (!bad)
		text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(cols);
	json_decref(root);
	return (text);
}

mcn_err
mcn_store_summary_format(char **out, const mcn_store *s,
    const mcn_store_summary *sum, int json)
{
	MCN_MUST(out != NULL && s != NULL && sum != NULL);
	*out = NULL;
	if (json) {
		*out = sum_json(s, sum);
		return (*out != NULL ? MCN_OK : MCN_ENOMEM);
	}
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL)
		return (MCN_ENOMEM);
	int bad = sum_text(f, s, sum);
	if (fclose(f) != 0 || bad) {
		free(buf);
		return (MCN_ENOMEM);
	}
	*out = buf;
	return (MCN_OK);
}
