/*
 * tests/node/test_dict.c - the data dictionary: parsing, every validation
 * rule, the fingerprint, dates, allocation failures.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>

#include "node/dict.h"
#include "node/util.h"
#include "test.h"

#define DATA MCN_TEST_DATA_DIR "/store/"
#define FULL_DICT_FP \
	"d372f0d093a009ee7704d758000026651cab972e5fcd68772902e25afdf0c7de"

static const char full_dict[] =
    "{\"name\": \"demo-consortium\", \"version\": 7, \"table\": \"patients\","
    " \"columns\": ["
    "  {\"name\": \"age\", \"type\": \"integer\", \"unit\": \"years\","
    "   \"min\": 0, \"max\": 120, \"sensitivity\": 2},"
    "  {\"name\": \"bmi\", \"type\": \"real\", \"unit\": \"kg/m2\", \"min\": "
    "10,"
    "   \"max\": 80.5, \"decimals\": 1, \"sensitivity\": 2,"
    "   \"description\": \"body mass index\"},"
    "  {\"name\": \"sex\", \"type\": \"categorical\", \"levels\": [\"F\", "
    "\"M\"],"
    "   \"sensitivity\": 2},"
    "  {\"name\": \"diagnosis\", \"type\": \"code\", \"code_system\": "
    "\"ICD-10\","
    "   \"sensitivity\": 4},"
    "  {\"name\": \"admitted\", \"type\": \"date\", \"min\": \"2000-01-01\","
    "   \"max\": \"2030-12-31\", \"sensitivity\": 3, \"required\": true},"
    "  {\"name\": \"born\", \"type\": \"date\", \"sensitivity\": 5,"
    "   \"required\": false}"
    "]}";

/* The same dictionary: other whitespace, other key order, 10.0 for 10. */
static const char full_dict_reordered[] =
    "{\"columns\":[{\"sensitivity\":2,\"max\":120,\"min\":0,\"unit\":\"years\","
    "\"type\":\"integer\",\"name\":\"age\"},{\"description\":\"body mass "
    "index\",\"sensitivity\":2,\"decimals\":1,\"max\":80.50,\"min\":10.0,"
    "\"unit\":\"kg/m2\",\"type\":\"real\",\"name\":\"bmi\"},{\"sensitivity\":2,"
    "\"levels\":[\"F\",\"M\"],\"type\":\"categorical\",\"name\":\"sex\"},"
    "{\"sensitivity\":4,\"code_system\":\"ICD-10\",\"type\":\"code\",\"name\":"
    "\"diagnosis\"},{\"required\":true,\"sensitivity\":3,\"max\":\"2030-12-"
    "31\","
    "\"min\":\"2000-01-01\",\"type\":\"date\",\"name\":\"admitted\"},"
    "{\"required\":false,\"sensitivity\":5,\"type\":\"date\",\"name\":\"born\"}"
    "],"
    "\"table\":\"patients\",\"version\":7,\"name\":\"demo-consortium\"}";

static void
test_parse_full(void)
{
	char err[MCN_ERRMSG] = "";
	mcn_dict *d = NULL;
	const mcn_column *c;

	REQUIRE_OK(
	    mcn_dict_parse(&d, full_dict, strlen(full_dict), err, sizeof(err)));
	CHECK(strcmp(d->name, "demo-consortium") == 0);
	CHECK(d->version == 7);
	CHECK(strcmp(d->table, "patients") == 0);
	CHECK_U64_EQ(d->ncols, 6);

	c = &d->cols[0];
	CHECK(strcmp(c->name, "age") == 0 && c->type == MCN_COL_INTEGER);
	CHECK(strcmp(c->unit, "years") == 0 && c->description == NULL);
	CHECK(c->code_system == NULL && c->levels == NULL && c->nlevels == 0);
	CHECK(c->sensitivity == 2 && c->required == 0);
	CHECK(c->has_range == 1 && c->min == 0 && c->max == 120);

	c = &d->cols[1];
	CHECK(strcmp(c->name, "bmi") == 0 && c->type == MCN_COL_REAL);
	CHECK(strcmp(c->unit, "kg/m2") == 0);
	CHECK(strcmp(c->description, "body mass index") == 0);
	CHECK(c->has_range == 1 && c->min == 10 && c->max == 80.5);
	CHECK(c->decimals == 1 && c->sensitivity == 2);

	c = &d->cols[2];
	CHECK(strcmp(c->name, "sex") == 0 && c->type == MCN_COL_CATEGORICAL);
	CHECK_U64_EQ(c->nlevels, 2);
	CHECK(strcmp(c->levels[0], "F") == 0 && strcmp(c->levels[1], "M") == 0);
	CHECK(c->has_range == 0 && c->unit == NULL);

	c = &d->cols[3];
	CHECK(strcmp(c->name, "diagnosis") == 0 && c->type == MCN_COL_CODE);
	CHECK(strcmp(c->code_system, "ICD-10") == 0 && c->sensitivity == 4);

	c = &d->cols[4];
	CHECK(strcmp(c->name, "admitted") == 0 && c->type == MCN_COL_DATE);
	CHECK(c->has_range == 1 && c->min == 10957 && c->max == 22279);
	CHECK(c->required == 1 && c->sensitivity == 3);

	c = &d->cols[5];
	CHECK(strcmp(c->name, "born") == 0 && c->type == MCN_COL_DATE);
	CHECK(c->has_range == 0 && c->required == 0 && c->sensitivity == 5);

	CHECK(mcn_dict_find(d, "sex") == &d->cols[2]);
	CHECK(mcn_dict_find(d, "Sex") == NULL);
	CHECK(mcn_dict_find(d, "patients") == NULL);
	CHECK(mcn_dict_level_index(&d->cols[2], "M") == 1);
	CHECK(mcn_dict_level_index(&d->cols[2], "F") == 0);
	CHECK(mcn_dict_level_index(&d->cols[2], "f") == -1);
	CHECK(mcn_dict_level_index(&d->cols[0], "F") == -1);
	CHECK(strcmp(mcn_col_type_name(MCN_COL_INTEGER), "integer") == 0);
	CHECK(strcmp(mcn_col_type_name(MCN_COL_REAL), "real") == 0);
	CHECK(
	    strcmp(mcn_col_type_name(MCN_COL_CATEGORICAL), "categorical") == 0);
	CHECK(strcmp(mcn_col_type_name(MCN_COL_DATE), "date") == 0);
	CHECK(strcmp(mcn_col_type_name(MCN_COL_CODE), "code") == 0);
	mcn_dict_free(d);
}

/* One column in a minimal dictionary. */
static char *
wrap(char *buf, size_t len, const char *cols)
{
	snprintf(buf, len,
	    "{\"name\": \"t\", \"version\": 1, \"table\": "
	    "\"patients\", \"columns\": [%s]}",
	    cols);
	return (buf);
}

struct bad_case {
	const char *cols;  /* the columns array content */
	const char *want1; /* substrings the message must contain */
	const char *want2;
};

static const struct bad_case bad_cases[] = {
	/* consent columns */
	{ "{\"name\": \"c\", \"type\": \"integer\", \"min\": 0, \"max\": 1, "
	  "\"sensitivity\": 1, \"consent\": true}",
	    "column 'c'", "applies only to categorical columns" },
	{ "{\"name\": \"c\", \"type\": \"categorical\", \"levels\": [\"y\", "
	  "\"n\"], \"sensitivity\": 1, \"consent\": true}",
	    "column 'c'", "needs the level \"yes\"" },
	{ "{\"name\": \"c\", \"type\": \"categorical\", \"levels\": [\"yes\"], "
	  "\"sensitivity\": 1, \"consent\": 1}",
	    "column 'c'", "\"consent\" must be true or false" },
	{ "{\"name\": \"c\", \"type\": \"categorical\", \"levels\": [\"yes\"], "
	  "\"sensitivity\": 1, \"consent_purpose\": \"research\"}",
	    "column 'c'", "needs \"consent\": true" },
	{ "{\"name\": \"c\", \"type\": \"categorical\", \"levels\": [\"yes\"], "
	  "\"sensitivity\": 1, \"consent\": true, \"consent_purpose\": \"Res\"}",
	    "column 'c'", "consent_purpose" },
	/* names */
	{ "{\"name\": \"Age\", \"type\": \"integer\", \"min\": 0, \"max\": 1, "
	  "\"sensitivity\": 1}",
	    "column 1", "'Age'" },
	{ "{\"name\": \"9lives\", \"type\": \"integer\", \"min\": 0, \"max\": "
	  "1, \"sensitivity\": 1}",
	    "column 1", "'9lives'" },
	{ "{\"name\": \"a_name_that_is_far_too_long_for_the_dictionary_rules"
	  "_0123456789xyz\", \"type\": \"code\", \"code_system\": \"x\", "
	  "\"sensitivity\": 1}",
	    "column 1", "not valid" },
	{ "{\"name\": \"histogram\", \"type\": \"integer\", \"min\": 0, "
	  "\"max\": 1, \"sensitivity\": 1}",
	    "'histogram'", "reserved" },
	{ "{\"name\": \"rowid\", \"type\": \"integer\", \"min\": 0, "
	  "\"max\": 1, \"sensitivity\": 1}",
	    "'rowid'", "reserved" },
	{ "{\"name\": \"_rowid_\", \"type\": \"integer\", \"min\": 0, "
	  "\"max\": 1, \"sensitivity\": 1}",
	    "'_rowid_'", "reserved" },
	{ "{\"name\": \"between\", \"type\": \"integer\", \"min\": 0, "
	  "\"max\": 1, \"sensitivity\": 1}",
	    "'between'", "reserved" },
	{ "{\"type\": \"integer\", \"min\": 0, \"max\": 1, \"sensitivity\": 1}",
	    "column 1", "\"name\"" },
	{ "{\"name\": \"age\", \"type\": \"integer\", \"min\": 0, \"max\": 1, "
	  "\"sensitivity\": 1}, {\"name\": \"age\", \"type\": \"code\", "
	  "\"code_system\": \"x\", \"sensitivity\": 1}",
	    "column 'age'", "twice" },
	{ "{\"name\": \"patients\", \"type\": \"integer\", \"min\": 0, "
	  "\"max\": 1, \"sensitivity\": 1}",
	    "column 'patients'", "table" },
	{ "7", "column 1", "not a JSON object" },
	/* keys and types */
	{ "{\"name\": \"age\", \"type\": \"integer\", \"mn\": 0, \"max\": 1, "
	  "\"sensitivity\": 1}",
	    "column 'age'", "unknown key \"mn\"" },
	{ "{\"name\": \"age\", \"type\": \"int\", \"sensitivity\": 1}",
	    "column 'age'", "unknown type" },
	{ "{\"name\": \"age\", \"min\": 0, \"max\": 1, \"sensitivity\": 1}",
	    "column 'age'", "\"type\"" },
	{ "{\"name\": \"age\", \"type\": \"integer\", \"min\": 0, \"max\": 1, "
	  "\"sensitivity\": 1, \"levels\": [\"a\"]}",
	    "column 'age'", "\"levels\"" },
	{ "{\"name\": \"age\", \"type\": \"integer\", \"min\": 0, \"max\": 1, "
	  "\"sensitivity\": 1, \"decimals\": 1}",
	    "column 'age'", "\"decimals\"" },
	{ "{\"name\": \"bmi\", \"type\": \"real\", \"min\": 0, \"max\": 1, "
	  "\"decimals\": 1, \"sensitivity\": 1, \"code_system\": \"x\"}",
	    "column 'bmi'", "\"code_system\"" },
	{ "{\"name\": \"sex\", \"type\": \"categorical\", \"levels\": [\"F\"], "
	  "\"min\": 0, \"sensitivity\": 1}",
	    "column 'sex'", "\"min\"" },
	/* sensitivity, required, optional strings */
	{ "{\"name\": \"age\", \"type\": \"integer\", \"min\": 0, \"max\": 1}",
	    "column 'age'", "\"sensitivity\"" },
	{ "{\"name\": \"age\", \"type\": \"integer\", \"min\": 0, \"max\": 1, "
	  "\"sensitivity\": 0}",
	    "column 'age'", "1..5" },
	{ "{\"name\": \"age\", \"type\": \"integer\", \"min\": 0, \"max\": 1, "
	  "\"sensitivity\": 6}",
	    "column 'age'", "1..5" },
	{ "{\"name\": \"age\", \"type\": \"integer\", \"min\": 0, \"max\": 1, "
	  "\"sensitivity\": \"2\"}",
	    "column 'age'", "\"sensitivity\"" },
	{ "{\"name\": \"age\", \"type\": \"integer\", \"min\": 0, \"max\": 1, "
	  "\"sensitivity\": 1, \"required\": 1}",
	    "column 'age'", "\"required\"" },
	{ "{\"name\": \"age\", \"type\": \"integer\", \"min\": 0, \"max\": 1, "
	  "\"sensitivity\": 1, \"unit\": 5}",
	    "column 'age'", "\"unit\"" },
	{ "{\"name\": \"age\", \"type\": \"integer\", \"min\": 0, \"max\": 1, "
	  "\"sensitivity\": 1, \"description\": [\"x\"]}",
	    "column 'age'", "\"description\"" },
	/* integer */
	{ "{\"name\": \"age\", \"type\": \"integer\", \"min\": 0, "
	  "\"sensitivity\": 1}",
	    "column 'age'", "\"max\"" },
	{ "{\"name\": \"age\", \"type\": \"integer\", \"min\": 5, \"max\": 4, "
	  "\"sensitivity\": 1}",
	    "column 'age'", "greater than" },
	{ "{\"name\": \"age\", \"type\": \"integer\", \"min\": 0.5, \"max\": "
	  "4, \"sensitivity\": 1}",
	    "column 'age'", "integers" },
	{ "{\"name\": \"age\", \"type\": \"integer\", \"min\": 0, \"max\": "
	  "9007199254740993, \"sensitivity\": 1}",
	    "column 'age'", "2^53" },
	/* real */
	{ "{\"name\": \"bmi\", \"type\": \"real\", \"min\": 0, \"max\": 1, "
	  "\"sensitivity\": 1}",
	    "column 'bmi'", "real column needs \"decimals\" (0..6)" },
	{ "{\"name\": \"bmi\", \"type\": \"real\", \"min\": 0, \"max\": 1, "
	  "\"decimals\": 7, \"sensitivity\": 1}",
	    "column 'bmi'", "0..6" },
	{ "{\"name\": \"bmi\", \"type\": \"real\", \"max\": 1, "
	  "\"decimals\": 2, \"sensitivity\": 1}",
	    "column 'bmi'", "\"min\"" },
	{ "{\"name\": \"bmi\", \"type\": \"real\", \"min\": 2, \"max\": 1, "
	  "\"decimals\": 2, \"sensitivity\": 1}",
	    "column 'bmi'", "greater than" },
	{ "{\"name\": \"bmi\", \"type\": \"real\", \"min\": 0, \"max\": 1e15, "
	  "\"decimals\": 2, \"sensitivity\": 1}",
	    "column 'bmi'", "2^53" },
	{ "{\"name\": \"bmi\", \"type\": \"real\", \"min\": \"0\", \"max\": 1, "
	  "\"decimals\": 2, \"sensitivity\": 1}",
	    "column 'bmi'", "numbers" },
	/* categorical */
	{ "{\"name\": \"sex\", \"type\": \"categorical\", \"sensitivity\": 1}",
	    "column 'sex'", "\"levels\"" },
	{ "{\"name\": \"sex\", \"type\": \"categorical\", \"levels\": [], "
	  "\"sensitivity\": 1}",
	    "column 'sex'", "1..1000" },
	{ "{\"name\": \"sex\", \"type\": \"categorical\", \"levels\": [\"F\", "
	  "\"F\"], \"sensitivity\": 1}",
	    "column 'sex'", "twice" },
	{ "{\"name\": \"sex\", \"type\": \"categorical\", \"levels\": [\"F\", "
	  "\"\"], \"sensitivity\": 1}",
	    "column 'sex'", "level 2" },
	{ "{\"name\": \"sex\", \"type\": \"categorical\", \"levels\": [\"F\", "
	  "3], \"sensitivity\": 1}",
	    "column 'sex'", "level 2" },
	{ "{\"name\": \"sex\", \"type\": \"categorical\", \"levels\": "
	  "[\"NA\"], "
	  "\"sensitivity\": 1}",
	    "column 'sex'", "\"NA\"" },
	{ "{\"name\": \"sex\", \"type\": \"categorical\", \"levels\": "
	  "[\"a\\tb\"], \"sensitivity\": 1}",
	    "column 'sex'", "control" },
	{ "{\"name\": \"sex\", \"type\": \"categorical\", \"levels\": "
	  "[\"0123456789012345678901234567890123456789012345678901234567890123"
	  "4\"], \"sensitivity\": 1}",
	    "column 'sex'", "1..64 bytes" },
	/* code */
	{ "{\"name\": \"dx\", \"type\": \"code\", \"sensitivity\": 1}",
	    "column 'dx'", "\"code_system\"" },
	{ "{\"name\": \"dx\", \"type\": \"code\", \"code_system\": \"\", "
	  "\"sensitivity\": 1}",
	    "column 'dx'", "empty" },
	/* date */
	{ "{\"name\": \"adm\", \"type\": \"date\", \"min\": \"2023-02-29\", "
	  "\"max\": \"2024-01-01\", \"sensitivity\": 1}",
	    "column 'adm'", "\"min\"" },
	{ "{\"name\": \"adm\", \"type\": \"date\", \"min\": \"2023-01-01\", "
	  "\"sensitivity\": 1}",
	    "column 'adm'", "neither" },
	{ "{\"name\": \"adm\", \"type\": \"date\", \"min\": \"2023-01-02\", "
	  "\"max\": \"2023-01-01\", \"sensitivity\": 1}",
	    "column 'adm'", "after" },
	{ "{\"name\": \"adm\", \"type\": \"date\", \"min\": 20230101, "
	  "\"max\": \"2024-01-01\", \"sensitivity\": 1}",
	    "column 'adm'", "\"min\"" },
};

static void
test_rules(void)
{
	char json[2048], err[MCN_ERRMSG];
	mcn_dict *d;

	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(*bad_cases); i++) {
		const struct bad_case *bc = &bad_cases[i];
		wrap(json, sizeof(json), bc->cols);
		d = NULL;
		err[0] = '\0';
		CHECK_ERR(
		    mcn_dict_parse(&d, json, strlen(json), err, sizeof(err)),
		    MCN_EFORMAT);
		CHECK(d == NULL);
		int ok = strstr(err, bc->want1) != NULL &&
		    (bc->want2 == NULL || strstr(err, bc->want2) != NULL);
		CHECK(ok);
		if (!ok)
			fprintf(stderr, "  case %zu: message \"%s\"\n", i, err);
	}
}

static void
test_rules_toplevel(void)
{
	static const struct {
		const char *json;
		const char *want;
	} cases[] = {
		{ "[1]", "not a JSON object" },
		{ "{\"name\": \"t\", \"version\": 1, \"table\": \"p\", "
		  "\"columns\": [], \"extra\": 1}",
		    "unknown key \"extra\"" },
		{ "{\"name\": \"t\", \"version\": 1, \"table\": \"p\", "
		  "\"columns\": []}",
		    "1..1000 columns" },
		{ "{\"name\": \"t\", \"version\": 1, \"table\": \"table\", "
		  "\"columns\": []}",
		    "table name 'table' is a reserved word" },
		{ "{\"name\": \"t\", \"version\": 1, \"table\": \"Patients\", "
		  "\"columns\": []}",
		    "table name 'Patients' is not valid" },
		{ "{\"name\": \"t\", \"version\": 1, \"table\": \"mcn_meta\", "
		  "\"columns\": []}",
		    "reserved prefix" },
		{ "{\"name\": \"\", \"version\": 1, \"table\": \"p\", "
		  "\"columns\": []}",
		    "\"name\"" },
		{ "{\"name\": \"t\", \"version\": -1, \"table\": \"p\", "
		  "\"columns\": []}",
		    "\"version\"" },
		{ "{\"name\": \"t\", \"version\": 1, \"columns\": []}",
		    "\"table\"" },
		{ "{\"name\": \"t\", \"name\": \"u\", \"version\": 1, "
		  "\"table\": \"p\", \"columns\": []}",
		    "duplicate" },
		{ "{\"name\": \"t\", \"version\": 1,",
		    "invalid JSON at line 1" },
		{ "{\"name\": \"a\\u0000b\", \"version\": 1, \"table\": \"p\", "
		  "\"columns\": []}",
		    "invalid JSON" },
	};
	char err[MCN_ERRMSG];
	mcn_dict *d = NULL;

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		err[0] = '\0';
		CHECK_ERR(mcn_dict_parse(&d, cases[i].json,
		              strlen(cases[i].json), err, sizeof(err)),
		    MCN_EFORMAT);
		CHECK(d == NULL);
		int ok = strstr(err, cases[i].want) != NULL;
		CHECK(ok);
		if (!ok)
			fprintf(stderr, "  case %zu: message \"%s\"\n", i, err);
	}

	/* 1000 levels are fine, 1001 are not */
	size_t cap = 16384;
	char *cols = malloc(cap), *json = malloc(cap + 256);
	REQUIRE_OK(cols != NULL && json != NULL ? MCN_OK : MCN_ENOMEM);
	for (int nl = 1000; nl <= 1001; nl++) {
		size_t n = (size_t)snprintf(cols, cap,
		    "{\"name\": \"lv\", "
		    "\"type\": \"categorical\", \"sensitivity\": 1, "
		    "\"levels\": [");
		for (int i = 0; i < nl; i++)
			n += (size_t)snprintf(cols + n, cap - n, "%s\"l%d\"",
			    i ? "," : "", i);
		snprintf(cols + n, cap - n, "]}");
		wrap(json, cap + 256, cols);
		mcn_err rv =
		    mcn_dict_parse(&d, json, strlen(json), err, sizeof(err));
		if (nl == 1000) {
			CHECK_OK(rv);
			if (rv == MCN_OK) {
				CHECK_U64_EQ(d->cols[0].nlevels, 1000);
				CHECK(mcn_dict_level_index(&d->cols[0],
				          "l999") == 999);
			}
			mcn_dict_free(d);
			d = NULL;
		} else {
			CHECK_ERR(rv, MCN_EFORMAT);
			CHECK(strstr(err, "column 'lv'") != NULL);
		}
	}
	free(cols);
	free(json);
}

static void
test_consent(void)
{
	char err[MCN_ERRMSG], buf[1024];
	mcn_dict *a = NULL, *b = NULL, *c = NULL;
	static const char *const col =
	    "{\"name\": \"consent_research\", \"type\": \"categorical\", "
	    "\"levels\": [\"yes\", \"no\"], \"sensitivity\": 1%s}";
	char c1[256], c2[256], c3[256];
	snprintf(c1, sizeof(c1), col, ", \"consent\": true");
	snprintf(c2, sizeof(c2), col,
	    ", \"consent\": true, \"consent_purpose\": \"research\"");
	snprintf(c3, sizeof(c3), col, "");
	wrap(buf, sizeof(buf), c1);
	REQUIRE_OK(mcn_dict_parse(&a, buf, strlen(buf), err, sizeof(err)));
	CHECK(a->cols[0].consent == 1 && a->cols[0].consent_purpose == NULL);
	wrap(buf, sizeof(buf), c2);
	REQUIRE_OK(mcn_dict_parse(&b, buf, strlen(buf), err, sizeof(err)));
	CHECK(b->cols[0].consent == 1 &&
	    strcmp(b->cols[0].consent_purpose, "research") == 0);
	wrap(buf, sizeof(buf), c3);
	REQUIRE_OK(mcn_dict_parse(&c, buf, strlen(buf), err, sizeof(err)));
	CHECK(c->cols[0].consent == 0);
	/* consent and its purpose are part of the fingerprint */
	CHECK(memcmp(a->fingerprint, b->fingerprint, 32) != 0);
	CHECK(memcmp(a->fingerprint, c->fingerprint, 32) != 0);
	CHECK(memcmp(b->fingerprint, c->fingerprint, 32) != 0);
	mcn_dict_free(a);
	mcn_dict_free(b);
	mcn_dict_free(c);
}

static void
test_fingerprint(void)
{
	char err[MCN_ERRMSG], hex[65], *alt;
	mcn_dict *a = NULL, *b = NULL, *c = NULL;

	REQUIRE_OK(
	    mcn_dict_parse(&a, full_dict, strlen(full_dict), err, sizeof(err)));
	REQUIRE_OK(mcn_dict_parse(&b, full_dict_reordered,
	    strlen(full_dict_reordered), err, sizeof(err)));
	CHECK(memcmp(a->fingerprint, b->fingerprint, 32) == 0);
	/* pinned: nodes of different builds must agree on this value */
	mcn_hex_encode(hex, a->fingerprint, 32);
	CHECK(strcmp(hex, FULL_DICT_FP) == 0);
	if (strcmp(hex, FULL_DICT_FP) != 0)
		fprintf(stderr, "  fingerprint %s\n", hex);
	mcn_dict_free(b);

	/* any semantic change moves it */
	static const char *const edits[][2] = {
		{ "[\"F\", \"M\"]", "[\"F\", \"X\"]" }, /* a level */
		{ "[\"F\", \"M\"]", "[\"M\", \"F\"]" }, /* level order */
		{ "\"max\": 120", "\"max\": 121" },     /* a range */
		{ "\"max\": 80.5", "\"max\": 80.4" },
		{ "\"decimals\": 1", "\"decimals\": 2" },
		{ "\"version\": 7", "\"version\": 8" },
		{ "\"sensitivity\": 4", "\"sensitivity\": 5" },
		{ "\"required\": true", "\"required\": false" },
		{ "\"ICD-10\"", "\"ICD-9\"" },
		{ "\"years\"", "\"months\"" },
		{ "body mass index", "body mass" },
		{ "\"2030-12-31\"", "\"2030-12-30\"" },
		{ "\"patients\"", "\"cohort\"" },
	};
	for (size_t i = 0; i < sizeof(edits) / sizeof(*edits); i++) {
		const char *at = strstr(full_dict, edits[i][0]);
		REQUIRE_OK(at != NULL ? MCN_OK : MCN_EINVAL);
		size_t pre = (size_t)(at - full_dict);
		size_t len = strlen(full_dict) + strlen(edits[i][1]) + 1;
		alt = malloc(len);
		REQUIRE_OK(alt != NULL ? MCN_OK : MCN_ENOMEM);
		snprintf(alt, len, "%.*s%s%s", (int)pre, full_dict, edits[i][1],
		    at + strlen(edits[i][0]));
		c = NULL;
		CHECK_OK(
		    mcn_dict_parse(&c, alt, strlen(alt), err, sizeof(err)));
		if (c != NULL)
			CHECK(memcmp(a->fingerprint, c->fingerprint, 32) != 0);
		mcn_dict_free(c);
		free(alt);
	}
	mcn_dict_free(a);
}

static void
test_dates(void)
{
	static const struct {
		const char *s;
		int32_t days;
	} good[] = {
		{ "1970-01-01", 0 },
		{ "1970-01-02", 1 },
		{ "1969-12-31", -1 },
		{ "2000-01-01", 10957 },
		{ "2000-02-29", 11016 },
		{ "2000-03-01", 11017 },
		{ "2024-02-29", 19782 },
		{ "2023-12-31", 19722 },
		{ "1600-02-29", -135081 },
		{ "1000-01-01", -354285 },
		{ "9999-12-31", 2932896 },
		{ "2030-12-31", 22279 },
	};
	static const char *const bad[] = {
		"2023-02-29",
		"1900-02-29",
		"2100-02-29",
		"2023-04-31",
		"2023-13-01",
		"2023-00-10",
		"2023-01-00",
		"2023-01-32",
		"0999-12-31",
		"2023-1-01",
		"2023-01-1",
		"2023-01-01x",
		"2023/01/01",
		" 2023-01-01",
		"",
		"20230101",
		"2023-01-01 ",
		"+023-01-01",
		"2023-0a-01",
	};
	char out[11];
	int32_t days;

	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
		days = 12345;
		CHECK_OK(mcn_date_parse(good[i].s, &days));
		CHECK(days == good[i].days);
		mcn_date_format(out, good[i].days);
		CHECK(strcmp(out, good[i].s) == 0);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		days = 12345;
		CHECK_ERR(mcn_date_parse(bad[i], &days), MCN_EFORMAT);
		CHECK(days == 12345);
	}
	/* every day of 1999..2001 round-trips */
	for (int32_t x = 10592; x < 11688; x++) {
		mcn_date_format(out, x);
		if (mcn_date_parse(out, &days) != MCN_OK || days != x) {
			CHECK(0);
			break;
		}
	}
	CHECK(1);
	mcn_date_format(out, 2932897); /* 10000-01-01 */
	CHECK(strcmp(out, "0000-00-00") == 0);
}

static void
test_load(void)
{
	char err[MCN_ERRMSG];
	mcn_dict *d = NULL;

	REQUIRE_OK(mcn_dict_load(&d, DATA "dict.json", err, sizeof(err)));
	CHECK(strcmp(d->name, "test-dict") == 0 && d->ncols == 7);
	mcn_dict_free(d);
	d = NULL;
	CHECK_ERR(mcn_dict_load(&d, DATA "no-such.json", err, sizeof(err)),
	    MCN_ESYS | ENOENT);
	CHECK(strstr(err, "no-such.json") != NULL);
	CHECK_ERR(mcn_dict_load(&d, DATA "valid.csv", err, sizeof(err)),
	    MCN_EFORMAT);
	CHECK(strstr(err, "valid.csv: invalid JSON") != NULL);
	CHECK(d == NULL);
}

/* Every allocation of a parse fails once: clean MCN_ENOMEM, no leak. */
static void
test_enomem(void)
{
	char err[MCN_ERRMSG];
	mcn_dict *d = NULL;

	(void)mcn_alloc_fail_at(0);
	REQUIRE_OK(
	    mcn_dict_parse(&d, full_dict, strlen(full_dict), err, sizeof(err)));
	mcn_dict_free(d);
	unsigned long count = mcn_alloc_fail_at(0);
	CHECK(count > 10);
	for (unsigned long n = 1; n <= count; n++) {
		d = NULL;
		(void)mcn_alloc_fail_at(n);
		mcn_err rv = mcn_dict_parse(&d, full_dict, strlen(full_dict),
		    err, sizeof(err));
		(void)mcn_alloc_fail_at(0);
		CHECK_ERR(rv, MCN_ENOMEM);
		CHECK(d == NULL);
		mcn_dict_free(d);
	}
}

MCNT_MAIN({ "parse_full", test_parse_full }, { "rules", test_rules },
    { "rules_toplevel", test_rules_toplevel },
    { "fingerprint", test_fingerprint }, { "consent", test_consent }, { "dates", test_dates },
    { "load", test_load }, { "enomem", test_enomem })
