/*
 * tests/node/test_store.c - CSV reader, local store, import validation,
 * all-or-nothing semantics, store summary.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "node/csv.h"
#include "node/dict.h"
#include "node/store.h"
#include "node/util.h"
#include "test.h"

#define DATA MCN_TEST_DATA_DIR "/store/"

static char tmpdir[256];
static void cleanup(void);

/* A file in this run's temporary directory (made on first use). */
static const char *
tpath(char *buf, size_t len, const char *name)
{
	if (tmpdir[0] == '\0') {
		const char *base = getenv("TMPDIR");
		snprintf(tmpdir, sizeof(tmpdir), "%s/mcn-store-XXXXXX",
		    base != NULL && base[0] != '\0' ? base : "/tmp");
		if (mkdtemp(tmpdir) == NULL) {
			perror("mkdtemp");
			exit(1);
		}
		atexit(cleanup);
	}
	snprintf(buf, len, "%s/%s", tmpdir, name);
	return (buf);
}

static int
write_text(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (f == NULL)
		return (-1);
	size_t n = fwrite(text, 1, len, f);
	return (fclose(f) == 0 && n == len ? 0 : -1);
}

static void
rm_store(const char *path)
{
	char p[600];
	unlink(path);
	if (strlen(path) > 512)
		return;
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

/* ---- CSV reader ---------------------------------------------------------- */

static void
test_csv_records(void)
{
	static const char text[] = "a,b,c\r\n"
	                           "1,\"x,y\",\"he said \"\"hi\"\"\"\n"
	                           "\n"
	                           "\"multi\r\nline\",,\n"
	                           "\r\n"
	                           "4,5,6";
	char err[128];
	char **f;
	size_t n;
	uint64_t line;
	mcn_csv *r = NULL;

	REQUIRE_OK(mcn_csv_open_buf(&r, text, sizeof(text) - 1));
	CHECK_OK(mcn_csv_header(r, &f, &n, &line, err, sizeof(err)));
	CHECK_U64_EQ(n, 3);
	CHECK_U64_EQ(line, 1);
	CHECK(n == 3 && strcmp(f[0], "a") == 0 && strcmp(f[2], "c") == 0);
	CHECK_OK(mcn_csv_next(r, &f, &n, &line, err, sizeof(err)));
	CHECK_U64_EQ(line, 2);
	CHECK(n == 3 && strcmp(f[0], "1") == 0 && strcmp(f[1], "x,y") == 0 &&
	    strcmp(f[2], "he said \"hi\"") == 0);
	CHECK_OK(mcn_csv_next(r, &f, &n, &line, err, sizeof(err)));
	CHECK_U64_EQ(line, 4);
	CHECK(n == 3 && strcmp(f[0], "multi\r\nline") == 0 && f[1][0] == '\0' &&
	    f[2][0] == '\0');
	CHECK_OK(mcn_csv_next(r, &f, &n, &line, err, sizeof(err)));
	CHECK_U64_EQ(line, 7);
	CHECK(n == 3 && strcmp(f[0], "4") == 0 && strcmp(f[2], "6") == 0);
	CHECK_OK(mcn_csv_next(r, &f, &n, &line, err, sizeof(err)));
	CHECK_U64_EQ(n, 0);
	CHECK(f == NULL);
	CHECK_OK(mcn_csv_next(r, &f, &n, &line, err, sizeof(err)));
	CHECK_U64_EQ(n, 0);
	mcn_csv_close(r);

	/* BOM skipped; "" is one empty field; a trailing comma adds one */
	static const char bom[] = "\xef\xbb\xbf"
	                          "a\n\"\"\nx,\n";
	REQUIRE_OK(mcn_csv_open_buf(&r, bom, sizeof(bom) - 1));
	CHECK_OK(mcn_csv_header(r, &f, &n, &line, err, sizeof(err)));
	CHECK(n == 1 && strcmp(f[0], "a") == 0);
	CHECK_OK(mcn_csv_next(r, &f, &n, &line, err, sizeof(err)));
	CHECK(n == 1 && f[0][0] == '\0' && line == 2);
	CHECK_OK(mcn_csv_next(r, &f, &n, &line, err, sizeof(err)));
	CHECK(n == 2 && strcmp(f[0], "x") == 0 && f[1][0] == '\0');
	mcn_csv_close(r);

	/* an empty input has no header */
	REQUIRE_OK(mcn_csv_open_buf(&r, "", 0));
	CHECK_ERR(mcn_csv_header(r, &f, &n, &line, err, sizeof(err)),
	    MCN_EDATA);
	CHECK(strcmp(err, "no header line") == 0);
	mcn_csv_close(r);
}

static void
test_csv_errors(void)
{
	static const struct {
		const char *text;
		size_t len; /* 0: strlen */
		uint64_t line;
		const char *msg;
	} cases[] = {
		{ "a,b\n1,\"x\n2\n", 0, 2, "unterminated quoted field" },
		{ "a,b\n1,x\"y\n", 0, 2,
		    "quote character inside an unquoted "
		    "field" },
		{ "a,b\n1,\"x\"y\n", 0, 2,
		    "unexpected character after a "
		    "closing quote" },
		{ "a,b\n1,2\r3\n", 0, 2,
		    "carriage return not followed by a "
		    "line feed" },
		{ "a,b\n\r\n\r", 0, 3,
		    "carriage return not followed by a "
		    "line feed" },
		{ "a,b\n1,\"x\ny\"z\n", 0, 3,
		    "unexpected character after a "
		    "closing quote" },
		{ "a,b\n\n1,\0\n", 9, 3, "NUL byte" },
		{ "a,b\n\"\0\"\n", 8, 2, "NUL byte" },
	};
	char err[128];
	char **f;
	size_t n;
	uint64_t line;
	mcn_csv *r = NULL;

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		size_t len =
		    cases[i].len ? cases[i].len : strlen(cases[i].text);
		REQUIRE_OK(mcn_csv_open_buf(&r, cases[i].text, len));
		CHECK_OK(mcn_csv_header(r, &f, &n, &line, err, sizeof(err)));
		mcn_err rv;
		do {
			rv = mcn_csv_next(r, &f, &n, &line, err, sizeof(err));
		} while (rv == MCN_OK && n > 0);
		CHECK_ERR(rv, MCN_EDATA);
		CHECK_U64_EQ(line, cases[i].line);
		CHECK(strcmp(err, cases[i].msg) == 0);
		if (strcmp(err, cases[i].msg) != 0)
			fprintf(stderr, "  case %zu: \"%s\"\n", i, err);
		/* sticky */
		err[0] = '\0';
		CHECK_ERR(mcn_csv_next(r, &f, &n, &line, err, sizeof(err)),
		    MCN_EDATA);
		CHECK(strcmp(err, cases[i].msg) == 0 && n == 0);
		mcn_csv_close(r);
	}
}

static void
test_csv_limits(void)
{
	size_t cap = 2 * MCN_CSV_MAX_COLUMNS * 2 + 70000;
	char *buf = malloc(cap);
	char err[128];
	char **f;
	size_t n;
	uint64_t line;
	mcn_csv *r = NULL;

	REQUIRE_OK(buf != NULL ? MCN_OK : MCN_ENOMEM);
	/* a field of exactly 64 KiB is fine, one more byte is not */
	for (size_t extra = 0; extra <= 1; extra++) {
		size_t len = MCN_CSV_MAX_FIELD + extra;
		memcpy(buf, "h\n", 2);
		memset(buf + 2, 'x', len);
		REQUIRE_OK(mcn_csv_open_buf(&r, buf, len + 2));
		CHECK_OK(mcn_csv_header(r, &f, &n, &line, err, sizeof(err)));
		mcn_err rv = mcn_csv_next(r, &f, &n, &line, err, sizeof(err));
		if (extra == 0) {
			CHECK_OK(rv);
			CHECK(n == 1 && strlen(f[0]) == MCN_CSV_MAX_FIELD);
		} else {
			CHECK_ERR(rv, MCN_EDATA);
			CHECK(
			    strcmp(err, "field longer than 65536 bytes") == 0);
		}
		mcn_csv_close(r);
	}
	/* 10000 fields are fine, 10001 are not */
	for (size_t nf = MCN_CSV_MAX_COLUMNS; nf <= MCN_CSV_MAX_COLUMNS + 1;
	     nf++) {
		size_t len = 0;
		for (size_t i = 0; i < nf; i++) {
			buf[len++] = 'x';
			buf[len++] = i + 1 < nf ? ',' : '\n';
		}
		REQUIRE_OK(mcn_csv_open_buf(&r, buf, len));
		mcn_err rv = mcn_csv_header(r, &f, &n, &line, err, sizeof(err));
		if (nf == MCN_CSV_MAX_COLUMNS) {
			CHECK_OK(rv);
			CHECK_U64_EQ(n, MCN_CSV_MAX_COLUMNS);
		} else {
			CHECK_ERR(rv, MCN_EDATA);
			CHECK(strcmp(err, "more than 10000 fields") == 0);
			CHECK_U64_EQ(line, 1);
		}
		mcn_csv_close(r);
	}
	free(buf);
}

/* File mode (64 KiB window) and buffer mode read the same records from a
 * random valid CSV of ~1 MB whose quoted fields cross window edges. */
static void
test_csv_file_vs_buffer(void)
{
	mcn_rng *rng = mcnt_rng(7);
	size_t cap = 1 << 21, len = 0;
	char *text = malloc(cap);
	char err[128];
	mcn_csv *a = NULL, *b = NULL;

	REQUIRE_OK(text != NULL ? MCN_OK : MCN_ENOMEM);
	while (len < cap - 4096) {
		uint8_t rb[64];
		REQUIRE_OK(mcn_rng_bytes(rng, rb, sizeof(rb)));
		int nf = 1 + rb[0] % 6;
		for (int i = 0; i < nf; i++) {
			int quoted = rb[1 + i] & 1, fl = rb[8 + i] % 40;
			if (quoted)
				text[len++] = '"';
			for (int k = 0; k < fl; k++) {
				uint8_t c = rb[(16 + i * 7 + k) % 64];
				char ch = (char)('a' + c % 26);
				if (quoted && c % 11 == 0)
					ch = ',';
				else if (quoted && c % 13 == 0)
					text[len++] = '"', ch = '"';
				else if (quoted && c % 17 == 0)
					ch = '\n';
				text[len++] = ch;
			}
			if (quoted)
				text[len++] = '"';
			if (i + 1 < nf)
				text[len++] = ',';
		}
		if (rb[63] & 1)
			text[len++] = '\r';
		text[len++] = '\n';
	}
	FILE *f = tmpfile();
	REQUIRE_OK(f != NULL ? MCN_OK : MCN_ESYS);
	CHECK(fwrite(text, 1, len, f) == len);
	rewind(f);
	REQUIRE_OK(mcn_csv_open_buf(&a, text, len));
	REQUIRE_OK(mcn_csv_open_file(&b, f));
	uint64_t records = 0, mismatches = 0;
	for (;;) {
		char **fa, **fb;
		size_t na, nb;
		uint64_t la, lb;
		mcn_err ra = mcn_csv_next(a, &fa, &na, &la, err, sizeof(err));
		mcn_err rb2 = mcn_csv_next(b, &fb, &nb, &lb, err, sizeof(err));
		if (ra != MCN_OK || rb2 != MCN_OK) {
			fprintf(stderr, "  line %llu: %s\n",
			    (unsigned long long)la, err);
			CHECK_OK(ra);
			CHECK_OK(rb2);
			break;
		}
		if (na != nb || la != lb) {
			mismatches++;
			break;
		}
		if (na == 0)
			break;
		for (size_t i = 0; i < na; i++)
			mismatches += strcmp(fa[i], fb[i]) != 0;
		records++;
	}
	CHECK(records > 10000);
	CHECK_U64_EQ(mismatches, 0);
	mcn_csv_close(a);
	mcn_csv_close(b);
	fclose(f);
	free(text);
	mcn_rng_free(rng);

	CHECK_ERR(mcn_csv_open(&a, DATA "missing.csv", err, sizeof(err)),
	    MCN_ESYS | ENOENT);
	CHECK(a == NULL && strstr(err, "missing.csv") != NULL);
}

/* ---- store --------------------------------------------------------------- */

struct triple {
	uint64_t line;
	char column[64];
	char reason[160];
};

struct errlog {
	size_t n;
	struct triple t[128];
};

static void
collect(void *ctx, uint64_t line, const char *column, const char *reason)
{
	struct errlog *log = ctx;
	if (log->n >= sizeof(log->t) / sizeof(*log->t))
		return;
	struct triple *t = &log->t[log->n++];
	t->line = line;
	snprintf(t->column, sizeof(t->column), "%s", column ? column : "");
	snprintf(t->reason, sizeof(t->reason), "%s", reason);
}

static int
check_triples(const struct errlog *log, const struct triple *want, size_t n)
{
	int ok = log->n == n;
	for (size_t i = 0; ok && i < n; i++) {
		ok = log->t[i].line == want[i].line &&
		    strcmp(log->t[i].column, want[i].column) == 0 &&
		    strcmp(log->t[i].reason, want[i].reason) == 0;
	}
	if (!ok) {
		for (size_t i = 0; i < log->n; i++)
			fprintf(stderr, "  got  %llu '%s' %s\n",
			    (unsigned long long)log->t[i].line,
			    log->t[i].column, log->t[i].reason);
	}
	return (ok);
}

/* Every row, every column, as SQL literals with their storage type. */
static char *
dump(mcn_store *s)
{
	const mcn_dict *d = mcn_store_dict(s);
	sqlite3_stmt *st = NULL;
	size_t cap = 1 << 16, len = 0;
	char *out = malloc(cap);
	char sql[1024];
	size_t k = (size_t)snprintf(sql, sizeof(sql), "SELECT ");

	for (size_t i = 0; i < d->ncols; i++)
		k += (size_t)snprintf(sql + k, sizeof(sql) - k,
		    "%squote(\"%s\")", i ? " || '|' || " : "", d->cols[i].name);
	snprintf(sql + k, sizeof(sql) - k, " FROM \"%s\" ORDER BY rowid",
	    d->table);
	if (out == NULL ||
	    sqlite3_prepare_v2(mcn_store_db(s), sql, -1, &st, NULL) !=
	        SQLITE_OK) {
		free(out);
		return (NULL);
	}
	out[0] = '\0';
	while (sqlite3_step(st) == SQLITE_ROW && len + 512 < cap)
		len += (size_t)snprintf(out + len, cap - len, "%s\n",
		    (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return (out);
}

static const char valid_dump[] =
    "1|34|22.5|'F'|'never'|'E11.9'|'2020-01-15'\n"
    "2|61|31.0|'M'|'former'|'I10'|'2019-12-31'\n"
    "3|NULL|NULL|'F'|NULL|NULL|'2021-02-28'\n"
    "4|70|27.0|'M'|'current'|'C50.9'|'2024-02-29'\n"
    "5|0|10.0|'F'|'never'|'J45.9'|'2000-01-01'\n"
    "6|120|80.0|'M'|NULL|NULL|'2030-12-31'\n"
    "7|45|24.5|'M'|'former'|'A00'|'2010-06-30'\n";

static mcn_dict *
load_dict(void)
{
	char err[MCN_ERRMSG];
	mcn_dict *d = NULL;
	if (mcn_dict_load(&d, DATA "dict.json", err, sizeof(err)) != MCN_OK)
		fprintf(stderr, "dict: %s\n", err);
	return (d);
}

static void
test_import_valid(void)
{
	char db[512], err[MCN_ERRMSG];
	mcn_dict *d = load_dict();
	mcn_store *s = NULL;
	mcn_import_report rep;
	struct errlog log = { 0 };
	struct stat st;
	uint64_t rows = 99;

	REQUIRE_OK(d != NULL ? MCN_OK : MCN_EFORMAT);
	tpath(db, sizeof(db), "valid.db");
	rm_store(db);
	REQUIRE_OK(
	    mcn_store_open(&s, db, d, MCN_STORE_CREATE, err, sizeof(err)));
	CHECK(stat(db, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK_OK(mcn_store_count(s, &rows));
	CHECK_U64_EQ(rows, 0);
	CHECK(strcmp(mcn_store_path(s), db) == 0);

	CHECK_OK(mcn_store_import_csv(s, DATA "valid.csv", 0, 0, &rep, collect,
	    &log, err, sizeof(err)));
	CHECK_U64_EQ(log.n, 0);
	CHECK_U64_EQ(rep.rows, 7);
	CHECK_U64_EQ(rep.imported, 7);
	CHECK_U64_EQ(rep.total, 7);
	CHECK_U64_EQ(rep.errors, 0);
	CHECK_U64_EQ(rep.bad_rows, 0);
	char *text = dump(s);
	CHECK(text != NULL && strcmp(text, valid_dump) == 0);
	if (text != NULL && strcmp(text, valid_dump) != 0)
		fprintf(stderr, "%s", text);
	free(text);

	/* storage types are the schema's */
	sqlite3_stmt *q = NULL;
	CHECK(sqlite3_prepare_v2(mcn_store_db(s),
	          "SELECT typeof(id), typeof(age), typeof(bmi), typeof(sex), "
	          "typeof(diagnosis), typeof(admitted) FROM patients WHERE id "
	          "= 1",
	          -1, &q, NULL) == SQLITE_OK);
	CHECK(sqlite3_step(q) == SQLITE_ROW);
	static const char *const types[] = { "integer", "integer", "real",
		"text", "text", "text" };
	for (int i = 0; i < 6; i++)
		CHECK(strcmp((const char *)sqlite3_column_text(q, i),
		          types[i]) == 0);
	sqlite3_finalize(q);
	mcn_store_close(s);

	/* reopen (no create): same rows; query-only refuses writes */
	REQUIRE_OK(
	    mcn_store_open(&s, db, d, MCN_STORE_QUERY_ONLY, err, sizeof(err)));
	CHECK_OK(mcn_store_count(s, &rows));
	CHECK_U64_EQ(rows, 7);
	CHECK(sqlite3_exec(mcn_store_db(s), "DELETE FROM patients", NULL, NULL,
	          NULL) == SQLITE_READONLY);
	mcn_store_close(s);
	mcn_dict_free(d);
}

static void
test_import_bad(void)
{
	static const struct triple want[] = {
		{ 3, "age", "not an integer" },
		{ 4, "age", "above maximum 120" },
		{ 4, "bmi", "more than 1 decimal" },
		{ 4, "sex", "not one of the declared levels" },
		{ 5, "bmi", "below minimum 10" },
		{ 5, "diagnosis",
		    "not a valid code (1-16 letters, digits, "
		    "'.' or '-')" },
		{ 5, "admitted", "not a date (YYYY-MM-DD)" },
		{ 6, "id", "missing (the column is required)" },
		{ 6, "admitted", "before minimum 2000-01-01" },
		{ 7, "", "has 4 fields, the header has 7" },
		{ 8, "age", "below minimum 0" },
		{ 8, "bmi", "above maximum 80" },
		{ 8, "admitted", "after maximum 2030-12-31" },
		{ 9, "age", "not an integer" },
		{ 9, "diagnosis",
		    "not a valid code (1-16 letters, digits, "
		    "'.' or '-')" },
		{ 9, "admitted", "missing (the column is required)" },
	};
	char db[512], err[MCN_ERRMSG];
	mcn_dict *d = load_dict();
	mcn_store *s = NULL;
	mcn_import_report rep;
	struct errlog log = { 0 };

	REQUIRE_OK(d != NULL ? MCN_OK : MCN_EFORMAT);
	tpath(db, sizeof(db), "bad.db");
	rm_store(db);
	REQUIRE_OK(
	    mcn_store_open(&s, db, d, MCN_STORE_CREATE, err, sizeof(err)));
	REQUIRE_OK(mcn_store_import_csv(s, DATA "valid.csv", 0, 0, &rep, NULL,
	    NULL, err, sizeof(err)));
	char *before = dump(s);

	for (int replace = 0; replace <= 1; replace++) {
		memset(&log, 0, sizeof(log));
		CHECK_ERR(mcn_store_import_csv(s, DATA "bad.csv", replace, 0,
		              &rep, collect, &log, err, sizeof(err)),
		    MCN_EDATA);
		CHECK(check_triples(&log, want, sizeof(want) / sizeof(*want)));
		CHECK_U64_EQ(rep.rows, 8);
		CHECK_U64_EQ(rep.bad_rows, 7);
		CHECK_U64_EQ(rep.errors, 16);
		CHECK_U64_EQ(rep.imported, 0);
		CHECK_U64_EQ(rep.total, 7);
		CHECK(strcmp(err, "16 errors in 7 rows") == 0);
		char *after = dump(s);
		CHECK(before != NULL && after != NULL &&
		    strcmp(before, after) == 0);
		free(after);
	}
	free(before);
	mcn_store_close(s);
	mcn_dict_free(d);
}

static void
test_import_header(void)
{
	static const struct triple want[] = {
		{ 1, "",
		    "header field 2 is not a dictionary column (names "
		    "are case-sensitive: 'age'?)" },
		{ 1, "", "header field 8 is not a dictionary column" },
		{ 1, "bmi", "appears twice in the header (fields 3 and 9)" },
		{ 1, "age", "missing from the header" },
	};
	static const char csv[] =
	    "id,Age,bmi,sex,smoker,diagnosis,admitted,extra,bmi\n"
	    "1,34,22.5,F,never,E11.9,2020-01-15,x,22.5\n";
	char db[512], path[512], err[MCN_ERRMSG];
	mcn_dict *d = load_dict();
	mcn_store *s = NULL;
	mcn_import_report rep;
	struct errlog log = { 0 };

	REQUIRE_OK(d != NULL ? MCN_OK : MCN_EFORMAT);
	tpath(db, sizeof(db), "header.db");
	rm_store(db);
	tpath(path, sizeof(path), "header.csv");
	REQUIRE_OK(
	    write_text(path, csv, sizeof(csv) - 1) == 0 ? MCN_OK : MCN_ESYS);
	REQUIRE_OK(
	    mcn_store_open(&s, db, d, MCN_STORE_CREATE, err, sizeof(err)));
	CHECK_ERR(mcn_store_import_csv(s, path, 0, 0, &rep, collect, &log, err,
	              sizeof(err)),
	    MCN_EDATA);
	CHECK(check_triples(&log, want, sizeof(want) / sizeof(*want)));
	CHECK_U64_EQ(rep.errors, 4);
	CHECK_U64_EQ(rep.rows, 0);
	CHECK(strstr(err,
	          "the header does not match the data dictionary "
	          "(4 errors)") != NULL);

	/* empty file */
	REQUIRE_OK(write_text(path, "", 0) == 0 ? MCN_OK : MCN_ESYS);
	memset(&log, 0, sizeof(log));
	CHECK_ERR(mcn_store_import_csv(s, path, 0, 0, &rep, collect, &log, err,
	              sizeof(err)),
	    MCN_EDATA);
	CHECK(log.n == 1 && log.t[0].line == 1 &&
	    strcmp(log.t[0].reason, "no header line") == 0);

	/* a syntax error stops the import; rows before it are not kept */
	static const char broken[] =
	    "id,age,bmi,sex,smoker,diagnosis,admitted\n"
	    "1,34,22.5,F,never,E11.9,2020-01-15\n"
	    "2,34,22.5,F,never,\"E11.9,2020-01-15\n"
	    "3,34,22.5,F,never,E11.9,2020-01-15\n";
	REQUIRE_OK(write_text(path, broken, sizeof(broken) - 1) == 0 ?
	        MCN_OK :
	        MCN_ESYS);
	memset(&log, 0, sizeof(log));
	CHECK_ERR(mcn_store_import_csv(s, path, 0, 0, &rep, collect, &log, err,
	              sizeof(err)),
	    MCN_EDATA);
	static const struct triple want2[] = {
		{ 3, "", "unterminated quoted field" },
	};
	CHECK(check_triples(&log, want2, 1));
	CHECK_U64_EQ(rep.total, 0);
	CHECK(strstr(err, "line 3: unterminated quoted field") != NULL);

	/* missing file */
	CHECK_ERR(mcn_store_import_csv(s, DATA "nope.csv", 0, 0, &rep, collect,
	              &log, err, sizeof(err)),
	    MCN_ESYS | ENOENT);
	CHECK(strstr(err, "nope.csv") != NULL);
	mcn_store_close(s);
	mcn_dict_free(d);
}

static void
test_replace_max_rows(void)
{
	char db[512], err[MCN_ERRMSG];
	mcn_dict *d = load_dict();
	mcn_store *s = NULL;
	mcn_import_report rep;
	uint64_t rows = 0;

	REQUIRE_OK(d != NULL ? MCN_OK : MCN_EFORMAT);
	tpath(db, sizeof(db), "replace.db");
	rm_store(db);
	REQUIRE_OK(
	    mcn_store_open(&s, db, d, MCN_STORE_CREATE, err, sizeof(err)));
	CHECK_OK(mcn_store_import_csv(s, DATA "valid.csv", 0, 7, &rep, NULL,
	    NULL, err, sizeof(err)));
	CHECK_OK(mcn_store_import_csv(s, DATA "valid.csv", 0, 0, &rep, NULL,
	    NULL, err, sizeof(err)));
	CHECK_U64_EQ(rep.imported, 7);
	CHECK_U64_EQ(rep.total, 14);
	CHECK_OK(mcn_store_import_csv(s, DATA "valid.csv", 1, 0, &rep, NULL,
	    NULL, err, sizeof(err)));
	CHECK_U64_EQ(rep.total, 7);
	char *text = dump(s);
	CHECK(text != NULL && strcmp(text, valid_dump) == 0);
	free(text);

	/* 7 + 7 > 10: refused, nothing changes */
	CHECK_ERR(mcn_store_import_csv(s, DATA "valid.csv", 0, 10, &rep, NULL,
	              NULL, err, sizeof(err)),
	    MCN_EREFUSED);
	CHECK(
	    strstr(err, "the store would exceed its limit of 10 rows") != NULL);
	CHECK_U64_EQ(rep.total, 7);
	CHECK_U64_EQ(rep.imported, 0);
	/* replace: 7 <= 7 fine, 7 > 6 refused (old rows kept) */
	CHECK_OK(mcn_store_import_csv(s, DATA "valid.csv", 1, 7, &rep, NULL,
	    NULL, err, sizeof(err)));
	CHECK_ERR(mcn_store_import_csv(s, DATA "valid.csv", 1, 6, &rep, NULL,
	              NULL, err, sizeof(err)),
	    MCN_EREFUSED);
	CHECK_OK(mcn_store_count(s, &rows));
	CHECK_U64_EQ(rows, 7);
	/* a header-only file with replace empties the table */
	char path[512];
	static const char hdr[] = "id,age,bmi,sex,smoker,diagnosis,admitted\n";
	tpath(path, sizeof(path), "empty.csv");
	REQUIRE_OK(
	    write_text(path, hdr, sizeof(hdr) - 1) == 0 ? MCN_OK : MCN_ESYS);
	CHECK_OK(mcn_store_import_csv(s, path, 1, 0, &rep, NULL, NULL, err,
	    sizeof(err)));
	CHECK_U64_EQ(rep.total, 0);
	mcn_store_close(s);
	mcn_dict_free(d);
}

static void
test_open_errors(void)
{
	char db[512], other[512], err[MCN_ERRMSG];
	mcn_dict *d = load_dict(), *d2 = NULL;
	mcn_store *s = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;

	REQUIRE_OK(d != NULL ? MCN_OK : MCN_EFORMAT);
	tpath(db, sizeof(db), "open.db");
	rm_store(db);
	CHECK_ERR(mcn_store_open(&s, db, d, MCN_STORE_OPEN, err, sizeof(err)),
	    MCN_ESYS | ENOENT);
	CHECK(s == NULL && strstr(err, "no such store") != NULL);
	CHECK_ERR(
	    mcn_store_open(&s, db, d, MCN_STORE_QUERY_ONLY, err, sizeof(err)),
	    MCN_ESYS | ENOENT);
	REQUIRE_OK(
	    mcn_store_open(&s, db, d, MCN_STORE_CREATE, err, sizeof(err)));
	mcn_store_close(s);
	s = NULL;

	/* another dictionary: one level changed */
	REQUIRE_OK(mcn_file_read(DATA "dict.json", 1 << 20, &buf, &len));
	char *at = strstr((char *)buf, "\"current\"");
	REQUIRE_OK(at != NULL ? MCN_OK : MCN_EINVAL);
	memcpy(at, "\"CURRENT\"", 9);
	REQUIRE_OK(mcn_dict_parse(&d2, (char *)buf, len, err, sizeof(err)));
	mcn_file_free(buf, len);
	CHECK_ERR(
	    mcn_store_open(&s, db, d2, MCN_STORE_CREATE, err, sizeof(err)),
	    MCN_EFORMAT);
	CHECK(s == NULL);
	CHECK(strstr(err, "store was created with another data dictionary (") !=
	    NULL);
	CHECK_ERR(mcn_store_open(&s, db, d2, MCN_STORE_OPEN, err, sizeof(err)),
	    MCN_EFORMAT);
	mcn_dict_free(d2);

	/* not an SQLite file */
	tpath(other, sizeof(other), "junk.db");
	rm_store(other);
	static const char junk[] = "this is not a database, just some text "
	                           "long enough to be read as a header....."
	                           "..............................\n";
	REQUIRE_OK(
	    write_text(other, junk, sizeof(junk) - 1) == 0 ? MCN_OK : MCN_ESYS);
	CHECK_ERR(
	    mcn_store_open(&s, other, d, MCN_STORE_CREATE, err, sizeof(err)),
	    MCN_EFORMAT);
	CHECK(strstr(err, "not an SQLite database") != NULL);

	/* an SQLite database that is not a store */
	rm_store(other);
	sqlite3 *raw = NULL;
	CHECK(sqlite3_open(other, &raw) == SQLITE_OK);
	CHECK(sqlite3_exec(raw, "CREATE TABLE x(a)", NULL, NULL, NULL) ==
	    SQLITE_OK);
	sqlite3_close(raw);
	CHECK_ERR(
	    mcn_store_open(&s, other, d, MCN_STORE_CREATE, err, sizeof(err)),
	    MCN_EFORMAT);
	CHECK(strstr(err, "not an mcn store") != NULL);
	rm_store(other);

	/* a tampered table schema */
	raw = NULL;
	CHECK(sqlite3_open(db, &raw) == SQLITE_OK);
	CHECK(sqlite3_exec(raw, "ALTER TABLE patients ADD COLUMN extra TEXT",
	          NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(raw);
	CHECK_ERR(mcn_store_open(&s, db, d, MCN_STORE_OPEN, err, sizeof(err)),
	    MCN_EFORMAT);
	CHECK(strstr(err, "does not match the data dictionary") != NULL);
	mcn_dict_free(d);
}

/* Field syntax edge cases, one row per case. */
static void
test_field_rules(void)
{
	static const char dict_json[] =
	    "{\"name\": \"f\", \"version\": 1, \"table\": \"t\", \"columns\": ["
	    "{\"name\": \"n\", \"type\": \"integer\", \"min\": 1, \"max\": "
	    "999, "
	    "\"sensitivity\": 1, \"required\": true},"
	    "{\"name\": \"r\", \"type\": \"real\", \"min\": -100, \"max\": "
	    "100, "
	    "\"decimals\": 2, \"sensitivity\": 1},"
	    "{\"name\": \"w\", \"type\": \"real\", \"min\": 0, \"max\": 5, "
	    "\"decimals\": 0, \"sensitivity\": 1},"
	    "{\"name\": \"i\", \"type\": \"integer\", \"min\": -5, "
	    "\"max\": 9007199254740992, \"sensitivity\": 1},"
	    "{\"name\": \"c\", \"type\": \"code\", \"code_system\": \"x\", "
	    "\"sensitivity\": 1},"
	    "{\"name\": \"d\", \"type\": \"date\", \"sensitivity\": 1}]}";
	static const struct {
		const char *col; /* r, w, i, c or d */
		const char *field;
		const char *stored; /* quote() of the stored value, or NULL */
		const char *reason; /* or the reason */
	} cases[] = {
		{ "r", "1.5", "1.5", NULL },
		{ "r", "-0", "0.0", NULL },
		{ "r", "+3.25", "3.25", NULL },
		{ "r", ".5", "0.5", NULL },
		{ "r", "5.", "5.0", NULL },
		{ "r", "1.250", "1.25", NULL },
		{ "r", "125e-2", "1.25", NULL },
		{ "r", "0.0125e2", "1.25", NULL },
		{ "r", "1e2", "100.0", NULL },
		{ "r", "-1E+2", "-100.0", NULL },
		{ "r", "0e999999999", "0.0", NULL },
		{ "r", "000000000000000000000012.5", "12.5", NULL },
		{ "r", "12.500000000000000000000000", "12.5", NULL },
		{ "r", "0.07", "0.07", NULL },
		{ "r", "-99.99", "-99.99", NULL },
		{ "r", "1.255", NULL, "more than 2 decimals" },
		{ "r", "1e-3", NULL, "more than 2 decimals" },
		{ "r", "100.01", NULL, "above maximum 100" },
		{ "r", "-100.5", NULL, "below minimum -100" },
		{ "r", "1e999999999", NULL, "above maximum 100" },
		{ "r", "-1e400", NULL, "below minimum -100" },
		{ "r", "abc", NULL, "not a number" },
		{ "r", "1.2.3", NULL, "not a number" },
		{ "r", "1e", NULL, "not a number" },
		{ "r", ".", NULL, "not a number" },
		{ "r", " 1", NULL, "not a number" },
		{ "r", "inf", NULL, "not a number" },
		{ "r", "nan", NULL, "not a number" },
		{ "r", "0x10", NULL, "not a number" },
		{ "r", "1,5", NULL, "has 7 fields, the header has 6" },
		{ "w", "3", "3.0", NULL },
		{ "w", "3.0", "3.0", NULL },
		{ "w", "3.5", NULL, "not a whole number" },
		{ "i", "9007199254740992", "9007199254740992", NULL },
		{ "i", "+7", "7", NULL },
		{ "i", "007", "7", NULL },
		{ "i", "-5", "-5", NULL },
		{ "i", "NA", "NULL", NULL },
		{ "i", "", "NULL", NULL },
		{ "i", "9007199254740993", NULL,
		    "above maximum 9007199254740992" },
		{ "i", "99999999999999999999999", NULL,
		    "above maximum 9007199254740992" },
		{ "i", "-99999999999999999999", NULL, "below minimum -5" },
		{ "i", "-6", NULL, "below minimum -5" },
		{ "i", "1.0", NULL, "not an integer" },
		{ "i", "1e3", NULL, "not an integer" },
		{ "i", "na", NULL, "not an integer" },
		{ "i", "- 1", NULL, "not an integer" },
		{ "i", "+", NULL, "not an integer" },
		{ "c", "  e11.9\t", "'E11.9'", NULL },
		{ "c", "abcdefghijklmnop", "'ABCDEFGHIJKLMNOP'", NULL },
		{ "c", "Z-1.a", "'Z-1.A'", NULL },
		{ "c", "abcdefghijklmnopq", NULL,
		    "not a valid code (1-16 "
		    "letters, digits, '.' or "
		    "'-')" },
		{ "c", "E11 9", NULL,
		    "not a valid code (1-16 letters, digits, "
		    "'.' or '-')" },
		{ "c", "   ", NULL,
		    "not a valid code (1-16 letters, digits, "
		    "'.' or '-')" },
		{ "c", "\xc3\xa9", NULL,
		    "not a valid code (1-16 letters, "
		    "digits, '.' or '-')" },
		{ "d", "1000-01-01", "'1000-01-01'", NULL },
		{ "d", "2024-02-29", "'2024-02-29'", NULL },
		{ "d", "2023-02-29", NULL, "not a date (YYYY-MM-DD)" },
		{ "d", "2023-2-28", NULL, "not a date (YYYY-MM-DD)" },
	};
	const size_t ncases = sizeof(cases) / sizeof(*cases);
	static const char *const cols[] = { "r", "w", "i", "c", "d" };
	char db[512], path[512], err[MCN_ERRMSG];
	mcn_dict *d = NULL;
	mcn_store *s = NULL;
	mcn_import_report rep;
	struct errlog log = { 0 };
	size_t cap = 16384, len = 0;
	char *csv = malloc(cap);

	REQUIRE_OK(csv != NULL ? MCN_OK : MCN_ENOMEM);
	REQUIRE_OK(
	    mcn_dict_parse(&d, dict_json, strlen(dict_json), err, sizeof(err)));
	len += (size_t)snprintf(csv, cap, "n,r,w,i,c,d\n");
	for (size_t k = 0; k < ncases; k++) {
		len += (size_t)snprintf(csv + len, cap - len, "%zu", k + 1);
		for (size_t j = 0; j < 5; j++)
			len += (size_t)snprintf(csv + len, cap - len, ",%s",
			    strcmp(cols[j], cases[k].col) == 0 ?
			        cases[k].field :
			        "");
		csv[len++] = '\n';
	}
	tpath(path, sizeof(path), "fields.csv");
	REQUIRE_OK(write_text(path, csv, len) == 0 ? MCN_OK : MCN_ESYS);
	tpath(db, sizeof(db), "fields.db");
	rm_store(db);
	REQUIRE_OK(
	    mcn_store_open(&s, db, d, MCN_STORE_CREATE, err, sizeof(err)));

	/* all at once: exactly the bad cases are reported, in order */
	struct triple want[64];
	size_t nwant = 0;
	for (size_t k = 0; k < ncases; k++) {
		if (cases[k].reason == NULL)
			continue;
		want[nwant].line = k + 2;
		snprintf(want[nwant].column, sizeof(want[nwant].column), "%s",
		    strncmp(cases[k].reason, "has ", 4) == 0 ? "" :
		                                               cases[k].col);
		snprintf(want[nwant].reason, sizeof(want[nwant].reason), "%s",
		    cases[k].reason);
		nwant++;
	}
	CHECK_ERR(mcn_store_import_csv(s, path, 0, 0, &rep, collect, &log, err,
	              sizeof(err)),
	    MCN_EDATA);
	CHECK(check_triples(&log, want, nwant));
	CHECK_U64_EQ(rep.bad_rows, nwant);

	/* only the good rows: stored values */
	len = (size_t)snprintf(csv, cap, "n,r,w,i,c,d\n");
	for (size_t k = 0; k < ncases; k++) {
		if (cases[k].reason != NULL)
			continue;
		len += (size_t)snprintf(csv + len, cap - len, "%zu", k + 1);
		for (size_t j = 0; j < 5; j++)
			len += (size_t)snprintf(csv + len, cap - len, ",%s",
			    strcmp(cols[j], cases[k].col) == 0 ?
			        cases[k].field :
			        "");
		csv[len++] = '\n';
	}
	REQUIRE_OK(write_text(path, csv, len) == 0 ? MCN_OK : MCN_ESYS);
	CHECK_OK(mcn_store_import_csv(s, path, 0, 0, &rep, NULL, NULL, err,
	    sizeof(err)));
	for (size_t k = 0; k < ncases; k++) {
		if (cases[k].reason != NULL)
			continue;
		char sql[128];
		sqlite3_stmt *st = NULL;
		snprintf(sql, sizeof(sql),
		    "SELECT quote(\"%s\") FROM t "
		    "WHERE n = %zu",
		    cases[k].col, k + 1);
		CHECK(sqlite3_prepare_v2(mcn_store_db(s), sql, -1, &st, NULL) ==
		    SQLITE_OK);
		int ok = sqlite3_step(st) == SQLITE_ROW &&
		    strcmp((const char *)sqlite3_column_text(st, 0),
		        cases[k].stored) == 0;
		CHECK(ok);
		if (!ok)
			fprintf(stderr, "  case %zu (%s)\n", k, cases[k].field);
		sqlite3_finalize(st);
	}
	/* reals round-trip exactly: round(x * 100) is the decimal */
	sqlite3_stmt *st = NULL;
	CHECK(sqlite3_prepare_v2(mcn_store_db(s),
	          "SELECT count(*) FROM t "
	          "WHERE r IS NOT NULL AND CAST(round(r * 100) AS INTEGER) "
	          "* 1.0 / 100 != r",
	          -1, &st, NULL) == SQLITE_OK);
	CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 0);
	sqlite3_finalize(st);

	/* more than 100 errors: all counted, the first 100 reported */
	len = (size_t)snprintf(csv, cap, "n,r,w,i,c,d\n");
	for (int k = 0; k < 150; k++)
		len += (size_t)snprintf(csv + len, cap - len, "x,,,,,\n");
	REQUIRE_OK(write_text(path, csv, len) == 0 ? MCN_OK : MCN_ESYS);
	memset(&log, 0, sizeof(log));
	CHECK_ERR(mcn_store_import_csv(s, path, 0, 0, &rep, collect, &log, err,
	              sizeof(err)),
	    MCN_EDATA);
	CHECK_U64_EQ(log.n, MCN_IMPORT_MAX_REPORTED);
	CHECK_U64_EQ(rep.errors, 150);
	CHECK_U64_EQ(rep.bad_rows, 150);
	CHECK(log.t[99].line == 101 && strcmp(log.t[99].column, "n") == 0);

	free(csv);
	mcn_store_close(s);
	mcn_dict_free(d);
}

static void
test_summary(void)
{
	char db[512], err[MCN_ERRMSG];
	mcn_dict *d = load_dict();
	mcn_store *s = NULL;
	mcn_store_summary *sum = NULL;
	mcn_import_report rep;
	char *text = NULL;

	REQUIRE_OK(d != NULL ? MCN_OK : MCN_EFORMAT);
	tpath(db, sizeof(db), "summary.db");
	rm_store(db);
	REQUIRE_OK(
	    mcn_store_open(&s, db, d, MCN_STORE_CREATE, err, sizeof(err)));
	REQUIRE_OK(mcn_store_import_csv(s, DATA "valid.csv", 0, 0, &rep, NULL,
	    NULL, err, sizeof(err)));
	REQUIRE_OK(mcn_store_summarize(&sum, s));
	CHECK_U64_EQ(sum->rows, 7);
	CHECK_U64_EQ(sum->ncols, 7);
	const mcn_store_colinfo *c = sum->cols;
	/* id */
	CHECK(c[0].missing == 0 && c[0].out_of_range == 0 && c[0].has_stats &&
	    c[0].min == 1 && c[0].max == 7 && c[0].mean == 4);
	/* age: 34 61 70 0 120 45 */
	CHECK(c[1].missing == 1 && c[1].out_of_range == 0 && c[1].has_stats &&
	    c[1].min == 0 && c[1].max == 120 && c[1].mean == 55);
	/* bmi: 22.5 31 27 10 80 24.5 */
	CHECK(c[2].missing == 1 && c[2].out_of_range == 0 && c[2].min == 10 &&
	    c[2].max == 80 && c[2].mean == 32.5);
	/* sex */
	CHECK(c[3].missing == 0 && c[3].out_of_range == 0);
	CHECK(c[3].level_counts[0] == 3 && c[3].level_counts[1] == 4);
	/* smoker: never 2, former 2, current 1, missing 2 */
	CHECK(c[4].missing == 2 && c[4].level_counts[0] == 2 &&
	    c[4].level_counts[1] == 2 && c[4].level_counts[2] == 1);
	/* diagnosis: 5 distinct, 2 missing */
	CHECK(
	    c[5].missing == 2 && c[5].distinct == 5 && c[5].out_of_range == 0);
	/* admitted: 2000-01-01 .. 2030-12-31 */
	CHECK(c[6].missing == 0 && c[6].has_stats && c[6].min == 10957 &&
	    c[6].max == 22279 && c[6].out_of_range == 0);

	REQUIRE_OK(mcn_store_summary_format(&text, s, sum, 0));
	CHECK(strstr(text, "patients, 7 rows") != NULL);
	CHECK(strstr(text, "min 0, max 120, mean 55.00") != NULL);
	CHECK(strstr(text, "min 10.0, max 80.0, mean 32.500") != NULL);
	CHECK(strstr(text, "F 3 (42.9%), M 4 (57.1%)") != NULL);
	CHECK(strstr(text, "5 distinct") != NULL);
	CHECK(strstr(text, "2000-01-01 .. 2030-12-31") != NULL);
	free(text);
	text = NULL;
	REQUIRE_OK(mcn_store_summary_format(&text, s, sum, 1));
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	CHECK(j != NULL);
	if (j != NULL) {
		CHECK(json_integer_value(json_object_get(j, "rows")) == 7);
		json_t *cols = json_object_get(j, "columns");
		CHECK(json_array_size(cols) == 7);
		json_t *sm = json_array_get(cols, 4);
		CHECK(strcmp(json_string_value(json_object_get(sm, "name")),
		          "smoker") == 0);
		CHECK(json_integer_value(json_object_get(sm, "missing")) == 2);
		json_t *lv = json_object_get(sm, "levels");
		CHECK(json_integer_value(json_object_get(lv, "current")) == 1);
		json_t *adm = json_array_get(cols, 6);
		CHECK(strcmp(json_string_value(json_object_get(adm, "max")),
		          "2030-12-31") == 0);
		json_t *age = json_array_get(cols, 1);
		CHECK(json_integer_value(json_object_get(age, "max")) == 120);
		CHECK(json_real_value(json_object_get(age, "mean")) == 55);
		CHECK(strlen(json_string_value(json_object_get(
		          json_object_get(j, "dictionary"), "fingerprint"))) ==
		    64);
	}
	json_decref(j);
	free(text);
	mcn_store_summary_free(sum);
	sum = NULL;

	/* values written behind the importer's back are out of range */
	CHECK(
	    sqlite3_exec(mcn_store_db(s),
	        "UPDATE patients SET age = 150, bmi = 9.5, sex = 'X', "
	        "smoker = 'Never', diagnosis = 'e11', admitted = '2023-02-30' "
	        "WHERE id = 1; UPDATE patients SET admitted = '1999-12-31', "
	        "diagnosis = 'ABCDEFGHIJKLMNOPQ' WHERE id = 2",
	        NULL, NULL, NULL) == SQLITE_OK);
	REQUIRE_OK(mcn_store_summarize(&sum, s));
	CHECK_U64_EQ(sum->cols[0].out_of_range, 0);
	CHECK_U64_EQ(sum->cols[1].out_of_range, 1);
	CHECK_U64_EQ(sum->cols[2].out_of_range, 1);
	CHECK_U64_EQ(sum->cols[3].out_of_range, 1);
	CHECK_U64_EQ(sum->cols[4].out_of_range, 1);
	CHECK_U64_EQ(sum->cols[5].out_of_range, 2);
	CHECK_U64_EQ(sum->cols[6].out_of_range, 2);
	CHECK_U64_EQ(sum->cols[3].level_counts[0], 2);
	mcn_store_summary_free(sum);
	mcn_store_close(s);
	mcn_dict_free(d);
}

/* 100,000 rows x 10 columns must import well under 2 s. */
static void
test_speed(void)
{
	static const char dict_json[] =
	    "{\"name\": \"s\", \"version\": 1, \"table\": \"t\", \"columns\": ["
	    "{\"name\": \"a\", \"type\": \"integer\", \"min\": 0, \"max\": "
	    "1000000, \"sensitivity\": 1},"
	    "{\"name\": \"b\", \"type\": \"integer\", \"min\": 0, \"max\": "
	    "120, "
	    "\"sensitivity\": 1},"
	    "{\"name\": \"c\", \"type\": \"real\", \"min\": 0, \"max\": 100, "
	    "\"decimals\": 1, \"sensitivity\": 1},"
	    "{\"name\": \"d\", \"type\": \"real\", \"min\": 0, \"max\": 20, "
	    "\"decimals\": 2, \"sensitivity\": 1},"
	    "{\"name\": \"e\", \"type\": \"categorical\", \"levels\": [\"F\", "
	    "\"M\"], \"sensitivity\": 1},"
	    "{\"name\": \"f\", \"type\": \"categorical\", \"levels\": "
	    "[\"never\", \"former\", \"current\"], \"sensitivity\": 1},"
	    "{\"name\": \"g\", \"type\": \"code\", \"code_system\": \"x\", "
	    "\"sensitivity\": 1},"
	    "{\"name\": \"h\", \"type\": \"date\", \"min\": \"2000-01-01\", "
	    "\"max\": \"2030-12-31\", \"sensitivity\": 1},"
	    "{\"name\": \"i\", \"type\": \"integer\", \"min\": 0, \"max\": "
	    "3650, \"sensitivity\": 1},"
	    "{\"name\": \"j\", \"type\": \"integer\", \"min\": 0, \"max\": 1, "
	    "\"sensitivity\": 1}]}";
	static const char *const smoke[] = { "never", "former", "current" };
	static const char *const codes[] = { "E11.9", "I10", "C50.9", "J45.9" };
	const int rows = 100000;
	char db[512], path[512], err[MCN_ERRMSG];
	mcn_dict *d = NULL;
	mcn_store *s = NULL;
	mcn_import_report rep;

	REQUIRE_OK(
	    mcn_dict_parse(&d, dict_json, strlen(dict_json), err, sizeof(err)));
	tpath(path, sizeof(path), "speed.csv");
	FILE *f = fopen(path, "wb");
	REQUIRE_OK(f != NULL ? MCN_OK : MCN_ESYS);
	fprintf(f, "a,b,c,d,e,f,g,h,i,j\n");
	for (int k = 0; k < rows; k++) {
		char date[11];
		mcn_date_format(date, 10957 + k % 11000);
		fprintf(f, "%d,%d,%d.%d,%d.%02d,%s,%s,%s,%s,%d,%d\n", k,
		    k % 121, k % 100, k % 10, k % 20, k % 100,
		    k & 1 ? "F" : "M", smoke[k % 3], codes[k % 4], date,
		    k % 3651, k & 1);
	}
	CHECK(fclose(f) == 0);
	tpath(db, sizeof(db), "speed.db");
	rm_store(db);
	REQUIRE_OK(
	    mcn_store_open(&s, db, d, MCN_STORE_CREATE, err, sizeof(err)));
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_OK(mcn_store_import_csv(s, path, 0, 0, &rep, NULL, NULL, err,
	    sizeof(err)));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	fprintf(stderr, "  imported %llu rows x 10 columns in %.3f s\n",
	    (unsigned long long)rep.imported, secs);
	CHECK_U64_EQ(rep.total, (uint64_t)rows);
	/* only a hang (test.h, "Time limits"): ~0.1 s in Release */
	CHECK(secs < 60.0 * mcnt_time_scale());
	mcn_store_close(s);
	mcn_dict_free(d);
	rm_store(db);
	unlink(path);
}

/* Every mcn_alloc of open + import fails once: clean MCN_ENOMEM, the
 * table unchanged, no leak (ASan). */
static void
test_enomem(void)
{
	char db[512], err[MCN_ERRMSG];
	mcn_dict *d = load_dict();
	mcn_store *s = NULL;
	mcn_import_report rep;
	uint64_t rows = 0;

	REQUIRE_OK(d != NULL ? MCN_OK : MCN_EFORMAT);
	tpath(db, sizeof(db), "enomem.db");
	rm_store(db);
	(void)mcn_alloc_fail_at(0);
	REQUIRE_OK(
	    mcn_store_open(&s, db, d, MCN_STORE_CREATE, err, sizeof(err)));
	REQUIRE_OK(mcn_store_import_csv(s, DATA "valid.csv", 0, 0, &rep, NULL,
	    NULL, err, sizeof(err)));
	mcn_store_close(s);
	unsigned long count = mcn_alloc_fail_at(0);
	CHECK(count >= 8);
	for (unsigned long n = 1; n <= count; n++) {
		s = NULL;
		(void)mcn_alloc_fail_at(n);
		mcn_err rv = mcn_store_open(&s, db, d, MCN_STORE_CREATE, err,
		    sizeof(err));
		if (rv == MCN_OK)
			rv = mcn_store_import_csv(s, DATA "valid.csv", 0, 0,
			    &rep, NULL, NULL, err, sizeof(err));
		(void)mcn_alloc_fail_at(0);
		CHECK_ERR(rv, MCN_ENOMEM);
		if (s != NULL) {
			CHECK_OK(mcn_store_count(s, &rows));
			CHECK_U64_EQ(rows, 7);
		}
		mcn_store_close(s);
	}
	mcn_dict_free(d);
}

static void
cleanup(void)
{
	static const char *const names[] = { "valid.db", "bad.db", "header.db",
		"replace.db", "open.db", "enomem.db", "fields.db", "summary.db",
		"header.csv", "empty.csv", "fields.csv" };
	char p[512];
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		rm_store(tpath(p, sizeof(p), names[i]));
	rmdir(tmpdir);
}

MCNT_MAIN({ "csv_records", test_csv_records },
    { "csv_errors", test_csv_errors }, { "csv_limits", test_csv_limits },
    { "csv_file_vs_buffer", test_csv_file_vs_buffer },
    { "import_valid", test_import_valid }, { "import_bad", test_import_bad },
    { "import_header", test_import_header },
    { "replace_max_rows", test_replace_max_rows },
    { "open_errors", test_open_errors }, { "field_rules", test_field_rules },
    { "summary", test_summary }, { "enomem", test_enomem },
    { "speed", test_speed })
