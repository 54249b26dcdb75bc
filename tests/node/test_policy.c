/*
 * tests/node/test_policy.c - the disclosure policy: strict parsing of every
 * rule, and the check with its exact refusal reasons.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "node/dict.h"
#include "node/policy.h"
#include "node/query.h"
#include "node/util.h"

static const char dict_json[] =
    "{\"name\": \"test-dict\", \"version\": 1, \"table\": \"patients\","
    " \"columns\": ["
    " {\"name\": \"age\", \"type\": \"integer\", \"min\": 0, \"max\": 120,"
    "  \"sensitivity\": 2},"
    " {\"name\": \"sex\", \"type\": \"categorical\", \"levels\": [\"F\", "
    "\"M\"],"
    "  \"sensitivity\": 2},"
    " {\"name\": \"smoker\", \"type\": \"categorical\","
    "  \"levels\": [\"no\", \"yes\"], \"sensitivity\": 3},"
    " {\"name\": \"bmi\", \"type\": \"real\", \"min\": 10, \"max\": 80,"
    "  \"decimals\": 1, \"sensitivity\": 2},"
    " {\"name\": \"diagnosis\", \"type\": \"code\", \"code_system\": "
    "\"ICD-10\","
    "  \"sensitivity\": 4},"
    " {\"name\": \"hiv_status\", \"type\": \"categorical\","
    "  \"levels\": [\"neg\", \"pos\"], \"sensitivity\": 5}"
    "]}";

/* The example of node/policy.h plus two roles for the remaining rules. */
static const char example[] =
    "{\n"
    "  \"version\": 1,\n"
    "  \"roles\": {\n"
    "    \"feasibility\": {\n"
    "      \"analyses\": [\"count\", \"histogram\", \"table\"],\n"
    "      \"columns\": {\"where\": [\"*\"], \"aggregate\": [\"age\", \"sex\"],"
    " \"group_by\": [\"sex\", \"smoker\"]},\n"
    "      \"max_sensitivity\": 3,\n"
    "      \"grant\": [],\n"
    "      \"min_cell\": 10,\n"
    "      \"min_difference\": 10,\n"
    "      \"dp\": {\"epsilon\": 0.5, \"budget\": 20.0},\n"
    "      \"rate_limit\": {\"queries\": 100, \"per_seconds\": 3600},\n"
    "      \"purpose\": \"feasibility\"\n"
    "    },\n"
    "    \"researcher\": { \"analyses\": [\"*\"], \"columns\": {\"where\": "
    "[\"*\"], \"aggregate\": [\"*\"], \"group_by\": [\"*\"]},\n"
    "      \"max_sensitivity\": 4, \"grant\": [\"hiv_status\"], \"min_cell\": "
    "5, \"dp\": null,\n"
    "      \"rate_limit\": {\"queries\": 1000, \"per_seconds\": 3600}, "
    "\"purpose\": \"research\" },\n"
    "    \"admin\": { \"analyses\": [\"count\"], \"columns\": {\"where\": "
    "[\"*\"], \"aggregate\": [\"*\"], \"group_by\": [\"*\"]},\n"
    "      \"max_sensitivity\": 5 },\n"
    "    \"narrow\": { \"analyses\": [\"count\", \"mean\"], \"columns\": "
    "{\"where\": [\"sex\"], \"aggregate\": [\"age\"]},\n"
    "      \"max_sensitivity\": 2, \"min_cell\": 20 }\n"
    "  }\n"
    "}\n";

static mcn_dict *
mcnt_dict(void)
{
	char err[MCN_ERRMSG];
	mcn_dict *d = NULL;

	if (mcn_dict_parse(&d, dict_json, strlen(dict_json), err,
	        sizeof(err)) != MCN_OK) {
		fprintf(stderr, "dictionary: %s\n", err);
		exit(1);
	}
	return (d);
}

static mcn_policy *
mcnt_example(const mcn_dict *d)
{
	char err[MCN_ERRMSG];
	mcn_policy *p = NULL;

	if (mcn_policy_parse(&p, example, strlen(example), d, "example.json",
	        err, sizeof(err)) != MCN_OK) {
		fprintf(stderr, "example: %s\n", err);
		exit(1);
	}
	return (p);
}

static void
test_example(void)
{
	mcn_dict *d = mcnt_dict();
	mcn_policy *p = mcnt_example(d);
	const mcn_policy_role *r;

	CHECK(mcn_policy_nroles(p) == 4);
	CHECK(strcmp(mcn_policy_role_at(p, 0)->name, "feasibility") == 0);
	CHECK(strcmp(mcn_policy_role_at(p, 1)->name, "researcher") == 0);
	CHECK(strcmp(mcn_policy_role_at(p, 2)->name, "admin") == 0);
	CHECK(strcmp(mcn_policy_role_at(p, 3)->name, "narrow") == 0);
	CHECK(mcn_policy_role_find(p, "nobody") == NULL);
	CHECK(mcn_policy_role_find(p, "Feasibility") == NULL);

	r = mcn_policy_role_find(p, "feasibility");
	CHECK(r == mcn_policy_role_at(p, 0));
	CHECK(r->max_sensitivity == 3);
	CHECK_U64_EQ(r->min_cell, 10);
	CHECK_U64_EQ(r->min_difference, 10);
	CHECK(r->dp_epsilon == 0.5);
	CHECK(r->dp_budget == 20.0);
	CHECK_U64_EQ(r->rate_queries, 100);
	CHECK_U64_EQ(r->rate_seconds, 3600);
	CHECK(r->purpose != NULL && strcmp(r->purpose, "feasibility") == 0);

	r = mcn_policy_role_find(p, "researcher");
	CHECK(r->max_sensitivity == 4);
	CHECK_U64_EQ(r->min_cell, 5);
	CHECK_U64_EQ(r->min_difference, 5); /* default: min_cell */
	CHECK(r->dp_epsilon == 0 && r->dp_budget == 0);
	CHECK_U64_EQ(r->rate_queries, 1000);
	CHECK(r->purpose != NULL && strcmp(r->purpose, "research") == 0);

	r = mcn_policy_role_find(p, "admin");
	CHECK(r->max_sensitivity == 5);
	CHECK_U64_EQ(r->min_cell, 10);       /* default */
	CHECK_U64_EQ(r->min_difference, 10); /* default: min_cell */
	CHECK_U64_EQ(r->rate_queries, 1000); /* default */
	CHECK_U64_EQ(r->rate_seconds, 3600);
	CHECK(r->purpose == NULL);
	CHECK(r->dp_epsilon == 0);

	r = mcn_policy_role_find(p, "narrow");
	CHECK_U64_EQ(r->min_cell, 20);
	CHECK_U64_EQ(r->min_difference, 20);

	mcn_policy_free(p);
	mcn_policy_free(NULL);
	mcn_dict_free(d);
}

/* Every name mcn_query_agg_kind_name() gives, plus "quantile", parses. */
static void
test_analysis_names(void)
{
	mcn_dict *d = mcnt_dict();
	char json[1024], err[MCN_ERRMSG], list[512] = "";
	mcn_policy *p = NULL;
	const char *names[16];
	size_t n = 0;

	for (int k = MCN_QUERY_COUNT; k <= MCN_QUERY_LOGISTIC; k++) {
		const char *s = mcn_query_agg_kind_name((mcn_query_agg_kind)k);
		CHECK(strcmp(s, "?") != 0);
		if (k == MCN_QUERY_COUNT_X)
			continue; /* also "count" */
		names[n++] = s;
	}
	names[n++] = "quantile";
	CHECK(n == 12);
	for (size_t i = 0; i < n; i++) {
		strcat(list, i ? ", \"" : "\"");
		strcat(list, names[i]);
		strcat(list, "\"");
	}
	snprintf(json, sizeof(json),
	    "{\"version\": 1, \"roles\": {\"r\": {\"analyses\": [%s], "
	    "\"max_sensitivity\": 1}}}",
	    list);
	CHECK_OK(mcn_policy_parse(&p, json, strlen(json), d, "p.json", err,
	    sizeof(err)));
	if (p != NULL) {
		const mcn_policy_role *r = NULL;
		mcn_policy_request req = { "r", names, n, NULL, 0 };
		CHECK_OK(mcn_policy_check(p, &req, &r, err, sizeof(err)));
		CHECK(r == mcn_policy_role_at(p, 0));
	}
	mcn_policy_free(p);
	mcn_dict_free(d);
}

struct bad_case {
	const char *json;
	mcn_err want;
	const char *msg1, *msg2; /* substrings the message must contain */
};

#define ROLE(body) "{\"version\": 1, \"roles\": {\"r1\": {" body "}}}"
#define MS "\"max_sensitivity\": 3"

static const struct bad_case bad_cases[] = {
	/* unknown keys at every level */
	{ "{\"version\": 1, \"roles\": {\"r1\": {" MS "}}, \"extra\": 1}",
	    MCN_EFORMAT, "p.json: unknown key \"extra\"", NULL },
	{ ROLE(MS ", \"min_cels\": 5"), MCN_EFORMAT,
	    "p.json: role 'r1': unknown key \"min_cels\"", NULL },
	{ ROLE(MS ", \"columns\": {\"wher\": []}"), MCN_EFORMAT,
	    "role 'r1': unknown key \"wher\" in \"columns\"", NULL },
	{ ROLE(MS ", \"dp\": {\"epsilon\": 1, \"budget\": 2, \"delta\": 0}"),
	    MCN_EFORMAT, "role 'r1': unknown key \"delta\" in \"dp\"", NULL },
	{ ROLE(MS ", \"rate_limit\": {\"queries\": 1, \"per_second\": 2}"),
	    MCN_EFORMAT,
	    "role 'r1': unknown key \"per_second\" in "
	    "\"rate_limit\"",
	    NULL },
	/* duplicates */
	{ ROLE(MS ", \"min_cell\": 5, \"min_cell\": 6"), MCN_EFORMAT,
	    "p.json:1:", "duplicate object key near '\"min_cell\"'" },
	{ "{\"version\": 1, \"roles\": {\"r1\": {" MS "}, \"r1\": {" MS "}}}",
	    MCN_EFORMAT, "p.json:1:", "duplicate object key near '\"r1\"'" },
	/* role names, role count */
	{ "{\"version\": 1, \"roles\": {\"Researcher\": {" MS "}}}",
	    MCN_EFORMAT, "role name 'Researcher' is invalid", NULL },
	{ "{\"version\": 1, \"roles\": {\"1r\": {" MS "}}}", MCN_EFORMAT,
	    "role name '1r' is invalid", NULL },
	{ "{\"version\": 1, \"roles\": {\"abcdefghijabcdefghijabcdefghijabc\":"
	  " {" MS "}}}",
	    MCN_EFORMAT,
	    "role name 'abcdefghijabcdefghijabcdefghijabc' is invalid", NULL },
	{ "{\"version\": 1, \"roles\": {}}", MCN_EFORMAT,
	    "p.json: \"roles\" must be an object of 1..64 roles", NULL },
	{ "{\"version\": 1, \"roles\": []}", MCN_EFORMAT,
	    "\"roles\" must be an object", NULL },
	{ "{\"version\": 1, \"roles\": {\"r1\": 5}}", MCN_EFORMAT,
	    "role 'r1': must be an object", NULL },
	/* analyses */
	{ ROLE(MS ", \"analyses\": [\"count\", \"regression\"]"), MCN_EFORMAT,
	    "role 'r1': \"analyses\": unknown analysis 'regression'", NULL },
	{ ROLE(MS ", \"analyses\": [\"*\", \"count\"]"), MCN_EFORMAT,
	    "role 'r1': \"analyses\": \"*\" must be alone", NULL },
	{ ROLE(MS ", \"analyses\": \"count\""), MCN_EFORMAT,
	    "role 'r1': \"analyses\" must be a list", NULL },
	{ ROLE(MS ", \"analyses\": [\"sum\", \"sum\"]"), MCN_EFORMAT,
	    "role 'r1': \"analyses\": 'sum' is listed twice", NULL },
	/* column lists */
	{ ROLE(MS ", \"columns\": {\"where\": [\"weight\"]}"), MCN_EFORMAT,
	    "role 'r1': \"where\": unknown column 'weight'", NULL },
	{ ROLE(MS ", \"columns\": {\"aggregate\": [\"age\", \"height\"]}"),
	    MCN_EFORMAT, "role 'r1': \"aggregate\": unknown column 'height'",
	    NULL },
	{ ROLE(MS ", \"columns\": {\"group_by\": [\"Sex\"]}"), MCN_EFORMAT,
	    "role 'r1': \"group_by\": unknown column 'Sex'", NULL },
	{ ROLE(MS ", \"grant\": [\"hiv\"]"), MCN_EFORMAT,
	    "role 'r1': \"grant\": unknown column 'hiv'", NULL },
	{ ROLE(MS ", \"grant\": [\"*\"]"), MCN_EFORMAT,
	    "role 'r1': \"grant\" must name columns", NULL },
	{ ROLE(MS ", \"columns\": {\"where\": [\"age\", \"age\"]}"),
	    MCN_EFORMAT, "role 'r1': \"where\": column 'age' is listed twice",
	    NULL },
	{ ROLE(MS ", \"columns\": {\"where\": [\"*\", \"age\"]}"), MCN_EFORMAT,
	    "role 'r1': \"where\": \"*\" must be alone", NULL },
	{ ROLE(MS ", \"columns\": {\"where\": [3]}"), MCN_EFORMAT,
	    "role 'r1': \"where\"[0] must be a string", NULL },
	{ ROLE(MS ", \"columns\": [\"age\"]"), MCN_EFORMAT,
	    "role 'r1': \"columns\" must be an object", NULL },
	/* numbers */
	{ ROLE("\"max_sensitivity\": 0"), MCN_EFORMAT,
	    "role 'r1': \"max_sensitivity\" must be an integer in [1, 5]",
	    NULL },
	{ ROLE("\"max_sensitivity\": 6"), MCN_EFORMAT,
	    "role 'r1': \"max_sensitivity\" must be an integer in [1, 5]",
	    NULL },
	{ ROLE("\"max_sensitivity\": 3.5"), MCN_EFORMAT,
	    "role 'r1': \"max_sensitivity\" must be an integer", NULL },
	{ ROLE("\"min_cell\": 5"), MCN_EFORMAT,
	    "role 'r1': missing \"max_sensitivity\"", NULL },
	{ ROLE(MS ", \"min_cell\": 0"), MCN_EFORMAT,
	    "role 'r1': \"min_cell\" must be an integer in [1, 1000000]",
	    NULL },
	{ ROLE(MS ", \"min_cell\": 1000001"), MCN_EFORMAT,
	    "role 'r1': \"min_cell\" must be an integer in [1, 1000000]",
	    NULL },
	{ ROLE(MS ", \"min_difference\": -1"), MCN_EFORMAT,
	    "role 'r1': \"min_difference\" must be an integer in [0, 1000000]",
	    NULL },
	{ ROLE(MS ", \"min_cell\": \"10\""), MCN_EFORMAT,
	    "role 'r1': \"min_cell\" must be an integer", NULL },
	/* dp */
	{ ROLE(MS ", \"dp\": {\"epsilon\": 0, \"budget\": 1}"), MCN_EFORMAT,
	    "role 'r1': \"epsilon\" in \"dp\" must be a number in (0, 10]",
	    NULL },
	{ ROLE(MS ", \"dp\": {\"epsilon\": -1, \"budget\": 1}"), MCN_EFORMAT,
	    "role 'r1': \"epsilon\" in \"dp\" must be a number in (0, 10]",
	    NULL },
	{ ROLE(MS ", \"dp\": {\"epsilon\": 11, \"budget\": 100}"), MCN_EFORMAT,
	    "role 'r1': \"epsilon\" in \"dp\" must be a number in (0, 10]",
	    NULL },
	{ ROLE(MS ", \"dp\": {\"epsilon\": 1, \"budget\": 0.5}"), MCN_EFORMAT,
	    "role 'r1': \"budget\" in \"dp\" must be at least \"epsilon\"",
	    NULL },
	{ ROLE(MS ", \"dp\": {\"epsilon\": 1, \"budget\": 1000001}"),
	    MCN_EFORMAT,
	    "role 'r1': \"budget\" in \"dp\" must be a number in "
	    "(0, 1000000]",
	    NULL },
	{ ROLE(MS ", \"dp\": {\"epsilon\": 1}"), MCN_EFORMAT,
	    "role 'r1': \"budget\" in \"dp\"", NULL },
	{ ROLE(MS ", \"dp\": 0.5"), MCN_EFORMAT,
	    "role 'r1': \"dp\" must be null or an object", NULL },
	/* rate limit */
	{ ROLE(MS ", \"rate_limit\": {\"queries\": 0, \"per_seconds\": 60}"),
	    MCN_EFORMAT,
	    "role 'r1': \"queries\" in \"rate_limit\" must be an "
	    "integer in [1, 1000000]",
	    NULL },
	{ ROLE(MS ", \"rate_limit\": {\"queries\": 1, \"per_seconds\": "
	          "31536001}"),
	    MCN_EFORMAT,
	    "role 'r1': \"per_seconds\" in "
	    "\"rate_limit\" must be an integer in [1, 31536000]",
	    NULL },
	{ ROLE(MS ", \"rate_limit\": {\"queries\": 5}"), MCN_EFORMAT,
	    "role 'r1': missing \"per_seconds\" in \"rate_limit\"", NULL },
	{ ROLE(MS ", \"rate_limit\": null"), MCN_EFORMAT,
	    "role 'r1': \"rate_limit\" must be an object", NULL },
	/* purpose */
	{ ROLE(MS ", \"purpose\": \"Research\""), MCN_EFORMAT,
	    "role 'r1': \"purpose\" must be a string of", NULL },
	{ ROLE(MS ", \"purpose\": 7"), MCN_EFORMAT,
	    "role 'r1': \"purpose\" must be a string of", NULL },
	{ ROLE(MS ", \"purpose\": \"\""), MCN_EFORMAT,
	    "role 'r1': \"purpose\" must be a string of", NULL },
	/* top level */
	{ "{\"version\": 2, \"roles\": {\"r1\": {" MS "}}}", MCN_EFORMAT,
	    "p.json: \"version\" must be 1", NULL },
	{ "{\"roles\": {\"r1\": {" MS "}}}", MCN_EFORMAT,
	    "p.json: \"version\" must be 1", NULL },
	{ "{\"version\": 1}", MCN_EFORMAT, "p.json: \"roles\" must be", NULL },
	{ "this is not json", MCN_EFORMAT, "p.json:1:", "invalid JSON" },
	{ "{\"version\": 1, \"roles\": {\"r1\": {" MS "}}} x", MCN_EFORMAT,
	    "p.json:1:", "end of file expected" },
	{ "[1, 2]", MCN_EFORMAT, "p.json: top level must be a JSON object",
	    NULL },
	{ "", MCN_EFORMAT, "p.json:", "invalid JSON" },
};

static void
test_bad(void)
{
	mcn_dict *d = mcnt_dict();
	char err[MCN_ERRMSG];

	CHECK(sizeof(bad_cases) / sizeof(bad_cases[0]) >= 25);
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		mcn_policy *p = (mcn_policy *)1;
		err[0] = 0;
		CHECK_ERR(mcn_policy_parse(&p, c->json, strlen(c->json), d,
		              "p.json", err, sizeof(err)),
		    c->want);
		CHECK(p == NULL);
		CHECK(strstr(err, c->msg1) != NULL);
		CHECK(c->msg2 == NULL || strstr(err, c->msg2) != NULL);
		if (strstr(err, c->msg1) == NULL ||
		    (c->msg2 != NULL && strstr(err, c->msg2) == NULL))
			fprintf(stderr, "  case %zu: message \"%s\"\n", i, err);
		mcn_policy_free(p);
	}
	mcn_dict_free(d);
}

/* 64 roles are fine, 65 are not. */
static void
test_role_count(void)
{
	mcn_dict *d = mcnt_dict();
	char err[MCN_ERRMSG];
	size_t cap = 8192, len;
	char *json = malloc(cap);
	mcn_policy *p = NULL;

	for (int nroles = 64; nroles <= 65; nroles++) {
		len = (size_t)snprintf(json, cap,
		    "{\"version\": 1, \"roles\": {");
		for (int i = 0; i < nroles; i++)
			len += (size_t)snprintf(json + len, cap - len,
			    "%s\"role%d\": {\"max_sensitivity\": 1}",
			    i ? ", " : "", i);
		len += (size_t)snprintf(json + len, cap - len, "}}");
		mcn_err rv = mcn_policy_parse(&p, json, len, d, "p.json", err,
		    sizeof(err));
		if (nroles == 64) {
			CHECK_OK(rv);
			CHECK(p != NULL && mcn_policy_nroles(p) == 64);
			CHECK(p != NULL &&
			    strcmp(mcn_policy_role_at(p, 63)->name, "role63") ==
			        0);
		} else {
			CHECK_ERR(rv, MCN_EFORMAT);
			CHECK(strcmp(err,
			          "p.json: \"roles\" must be an object "
			          "of 1..64 roles") == 0);
		}
		mcn_policy_free(p);
		p = NULL;
	}
	free(json);
	mcn_dict_free(d);
}

static void
test_load(void)
{
	mcn_dict *d = mcnt_dict();
	char dir[] = "/tmp/mcnt_policy_XXXXXX", path[128], err[MCN_ERRMSG];
	mcn_policy *p = NULL;

	if (mkdtemp(dir) == NULL) {
		CHECK(0);
		mcn_dict_free(d);
		return;
	}
	snprintf(path, sizeof(path), "%s/policy.json", dir);
	CHECK_ERR(mcn_policy_load(&p, path, d, err, sizeof(err)),
	    MCN_ESYS | ENOENT);
	CHECK(p == NULL && strstr(err, path) != NULL);

	CHECK_OK(mcn_file_write(path, example, strlen(example), 0644, 0));
	CHECK_OK(mcn_policy_load(&p, path, d, err, sizeof(err)));
	CHECK(p != NULL && mcn_policy_nroles(p) == 4);
	mcn_policy_free(p);
	p = NULL;

	/* a bad file: the message names the path */
	const char *bad =
	    "{\"version\": 1, \"roles\": {\"x\": {\"max_sensitivity\": 9}}}";
	CHECK_OK(mcn_file_write(path, bad, strlen(bad), 0644, 0));
	CHECK_ERR(mcn_policy_load(&p, path, d, err, sizeof(err)), MCN_EFORMAT);
	CHECK(strncmp(err, path, strlen(path)) == 0);
	CHECK(strstr(err, "role 'x': \"max_sensitivity\"") != NULL);

	/* larger than 1 MiB: spaces after a valid document */
	size_t big = MCN_POLICY_FILE_MAX + 1;
	char *buf = malloc(big);
	memset(buf, ' ', big);
	memcpy(buf, example, strlen(example));
	CHECK_OK(mcn_file_write(path, buf, big, 0644, 0));
	CHECK_ERR(mcn_policy_load(&p, path, d, err, sizeof(err)), MCN_ETOOBIG);
	CHECK(p == NULL && strstr(err, path) != NULL);
	/* exactly 1 MiB is fine */
	CHECK_OK(mcn_file_write(path, buf, big - 1, 0644, 0));
	CHECK_OK(mcn_policy_load(&p, path, d, err, sizeof(err)));
	mcn_policy_free(p);
	free(buf);

	unlink(path);
	rmdir(dir);
	mcn_dict_free(d);
}

/* One check; *reason gets the message. */
static mcn_err
mcnt_check(const mcn_policy *p, const char *role, const char *analysis,
    const mcn_column *col, unsigned uses, char *why, size_t whylen)
{
	const char *an[1] = { analysis };
	mcn_policy_use u = { col, uses };
	mcn_policy_request r = { role, an, analysis ? 1 : 0, &u, col ? 1 : 0 };
	const mcn_policy_role *out = (const mcn_policy_role *)1;
	mcn_err rv = mcn_policy_check(p, &r, &out, why, whylen);
	if ((rv == MCN_OK) != (out != NULL))
		return (MCN_ESTATE); /* role_out must follow the result */
	return (rv);
}

static void
test_check(void)
{
	mcn_dict *d = mcnt_dict();
	mcn_policy *p = mcnt_example(d);
	const mcn_column *age = mcn_dict_find(d, "age");
	const mcn_column *sex = mcn_dict_find(d, "sex");
	const mcn_column *smoker = mcn_dict_find(d, "smoker");
	const mcn_column *bmi = mcn_dict_find(d, "bmi");
	const mcn_column *diag = mcn_dict_find(d, "diagnosis");
	const mcn_column *hiv = mcn_dict_find(d, "hiv_status");
	char why[MCN_ERRMSG];

	/* an allowed query: count and histogram(age) by sex where smoker */
	{
		const char *an[] = { "count", "histogram" };
		mcn_policy_use u[] = { { age, MCN_POLICY_AGGREGATE },
			{ sex, MCN_POLICY_GROUP_BY | MCN_POLICY_AGGREGATE },
			{ smoker, MCN_POLICY_WHERE | MCN_POLICY_GROUP_BY } };
		mcn_policy_request r = { "feasibility", an, 2, u, 3 };
		const mcn_policy_role *role = NULL;
		CHECK_OK(mcn_policy_check(p, &r, &role, why, sizeof(why)));
		CHECK(role == mcn_policy_role_find(p, "feasibility"));
		CHECK_OK(mcn_policy_check(p, &r, NULL, why, sizeof(why)));
	}
	/* unknown role */
	CHECK_ERR(mcnt_check(p, "x", "count", NULL, 0, why, sizeof(why)),
	    MCN_EREFUSED);
	CHECK(strcmp(why, "policy: no policy for role 'x'") == 0);
	CHECK_ERR(
	    mcnt_check(p, "bad\nrole", "count", NULL, 0, why, sizeof(why)),
	    MCN_EREFUSED);
	CHECK(strcmp(why, "policy: no policy for role '(invalid name)'") == 0);
	/* forbidden analysis */
	CHECK_ERR(
	    mcnt_check(p, "feasibility", "linear", NULL, 0, why, sizeof(why)),
	    MCN_EREFUSED);
	CHECK(strcmp(why, "policy: role 'feasibility' may not run 'linear'") ==
	    0);
	CHECK_ERR(
	    mcnt_check(p, "researcher", "median", NULL, 0, why, sizeof(why)),
	    MCN_EREFUSED);
	CHECK(strcmp(why, "policy: unknown analysis 'median'") == 0);
	CHECK_OK(
	    mcnt_check(p, "researcher", "quantile", NULL, 0, why, sizeof(why)));
	/* forbidden column, per position */
	CHECK_ERR(mcnt_check(p, "feasibility", "count", bmi,
	              MCN_POLICY_AGGREGATE, why, sizeof(why)),
	    MCN_EREFUSED);
	CHECK(strcmp(why,
	          "policy: role 'feasibility' may not use column 'bmi' "
	          "in aggregates") == 0);
	CHECK_OK(mcnt_check(p, "feasibility", "count", bmi, MCN_POLICY_WHERE,
	    why, sizeof(why)));
	CHECK_ERR(mcnt_check(p, "feasibility", "count", age,
	              MCN_POLICY_GROUP_BY, why, sizeof(why)),
	    MCN_EREFUSED);
	CHECK(strcmp(why,
	          "policy: role 'feasibility' may not use column 'age' "
	          "in GROUP BY") == 0);
	CHECK_ERR(mcnt_check(p, "narrow", "mean", age,
	              MCN_POLICY_WHERE | MCN_POLICY_AGGREGATE, why,
	              sizeof(why)),
	    MCN_EREFUSED);
	CHECK(strcmp(why,
	          "policy: role 'narrow' may not use column 'age' "
	          "in WHERE") == 0);
	CHECK_OK(mcnt_check(p, "narrow", "mean", age, MCN_POLICY_AGGREGATE, why,
	    sizeof(why)));
	/* no group_by list at all: nothing may be grouped */
	CHECK_ERR(mcnt_check(p, "narrow", "count", sex, MCN_POLICY_GROUP_BY,
	              why, sizeof(why)),
	    MCN_EREFUSED);
	CHECK(strcmp(why,
	          "policy: role 'narrow' may not use column 'sex' "
	          "in GROUP BY") == 0);
	/* sensitivity above the role's level, even with "*" */
	CHECK_ERR(mcnt_check(p, "feasibility", "count", diag, MCN_POLICY_WHERE,
	              why, sizeof(why)),
	    MCN_EREFUSED);
	CHECK(strcmp(why,
	          "policy: column 'diagnosis' has sensitivity 4, above "
	          "what role 'feasibility' may use (3), and is not granted") ==
	    0);
	/* ... checked even when the column is used nowhere listed */
	CHECK_ERR(mcnt_check(p, "narrow", "count", smoker, 0, why, sizeof(why)),
	    MCN_EREFUSED);
	CHECK(strcmp(why,
	          "policy: column 'smoker' has sensitivity 3, above "
	          "what role 'narrow' may use (2), and is not granted") == 0);
	CHECK_OK(mcnt_check(p, "researcher", "count", diag, MCN_POLICY_WHERE,
	    why, sizeof(why)));
	/* level 5: "*" and max_sensitivity 5 are not enough */
	CHECK_ERR(mcnt_check(p, "admin", "count", hiv, MCN_POLICY_WHERE, why,
	              sizeof(why)),
	    MCN_EREFUSED);
	CHECK(strcmp(why,
	          "policy: column 'hiv_status' has sensitivity 5, which "
	          "role 'admin' may use only if granted, and it is not "
	          "granted") == 0);
	CHECK_OK(mcnt_check(p, "admin", "count", diag, MCN_POLICY_WHERE, why,
	    sizeof(why)));
	CHECK_ERR(mcnt_check(p, "feasibility", "count", hiv, MCN_POLICY_WHERE,
	              why, sizeof(why)),
	    MCN_EREFUSED);
	CHECK(strcmp(why,
	          "policy: column 'hiv_status' has sensitivity 5, above "
	          "what role 'feasibility' may use (3), and is not granted") ==
	    0);
	/* level 5 granted (above max_sensitivity 4) */
	CHECK_OK(mcnt_check(p, "researcher", "table", hiv,
	    MCN_POLICY_WHERE | MCN_POLICY_AGGREGATE | MCN_POLICY_GROUP_BY, why,
	    sizeof(why)));
	/* order: analyses before columns, columns in request order */
	{
		const char *an[] = { "count", "cor" };
		mcn_policy_use u[] = { { bmi, MCN_POLICY_AGGREGATE },
			{ diag, MCN_POLICY_WHERE } };
		mcn_policy_request r = { "feasibility", an, 2, u, 2 };
		CHECK_ERR(mcn_policy_check(p, &r, NULL, why, sizeof(why)),
		    MCN_EREFUSED);
		CHECK(strcmp(why,
		          "policy: role 'feasibility' may not run "
		          "'cor'") == 0);
		r.nanalyses = 1;
		CHECK_ERR(mcn_policy_check(p, &r, NULL, why, sizeof(why)),
		    MCN_EREFUSED);
		CHECK(strcmp(why,
		          "policy: role 'feasibility' may not use "
		          "column 'bmi' in aggregates") == 0);
		u[0].uses = MCN_POLICY_WHERE;
		CHECK_ERR(mcn_policy_check(p, &r, NULL, why, sizeof(why)),
		    MCN_EREFUSED);
		CHECK(strstr(why, "column 'diagnosis' has sensitivity 4") !=
		    NULL);
	}
	mcn_policy_free(p);
	mcn_dict_free(d);
}

static void
test_default(void)
{
	mcn_dict *d = mcnt_dict();
	char err[MCN_ERRMSG], why[MCN_ERRMSG];
	char *json = mcn_policy_default_json();
	mcn_policy *p = NULL;

	CHECK(json != NULL);
	if (json == NULL) {
		mcn_dict_free(d);
		return;
	}
	CHECK_OK(mcn_policy_parse(&p, json, strlen(json), d, "default", err,
	    sizeof(err)));
	free(json);
	if (p == NULL) {
		mcn_dict_free(d);
		return;
	}
	CHECK(mcn_policy_nroles(p) == 2);
	const mcn_policy_role *f = mcn_policy_role_find(p, "feasibility");
	const mcn_policy_role *r = mcn_policy_role_find(p, "researcher");
	CHECK(f != NULL && r != NULL);
	if (f != NULL && r != NULL) {
		CHECK(f->dp_epsilon == 0.5 && f->dp_budget == 20);
		CHECK(r->dp_epsilon == 0);
		CHECK(f->max_sensitivity == 3 && r->max_sensitivity == 4);
		CHECK_U64_EQ(f->min_cell, 10);
		CHECK_U64_EQ(r->min_cell, 5);
	}
	CHECK_OK(mcnt_check(p, "feasibility", "table", mcn_dict_find(d, "sex"),
	    MCN_POLICY_AGGREGATE, why, sizeof(why)));
	CHECK_ERR(mcnt_check(p, "feasibility", "mean", mcn_dict_find(d, "age"),
	              MCN_POLICY_AGGREGATE, why, sizeof(why)),
	    MCN_EREFUSED);
	CHECK_OK(mcnt_check(p, "researcher", "logistic",
	    mcn_dict_find(d, "diagnosis"), MCN_POLICY_WHERE, why, sizeof(why)));
	CHECK_ERR(mcnt_check(p, "researcher", "count",
	              mcn_dict_find(d, "hiv_status"), MCN_POLICY_WHERE, why,
	              sizeof(why)),
	    MCN_EREFUSED);
	mcn_policy_free(p);
	mcn_dict_free(d);
}

/* Every allocation of a parse may fail: a clean MCN_ENOMEM, no leak. */
static void
test_nomem(void)
{
	mcn_dict *d = mcnt_dict();
	char err[MCN_ERRMSG];
	mcn_policy *p = NULL;
	unsigned long count, n, failed = 0;

	(void)mcn_alloc_fail_at(0);
	CHECK_OK(mcn_policy_parse(&p, example, strlen(example), d, "p", err,
	    sizeof(err)));
	mcn_policy_free(p);
	count = mcn_alloc_fail_at(0);
	CHECK(count > 10);
	for (n = 1; n <= count; n++) {
		p = NULL;
		(void)mcn_alloc_fail_at(n);
		mcn_err rv = mcn_policy_parse(&p, example, strlen(example), d,
		    "p", err, sizeof(err));
		(void)mcn_alloc_fail_at(0);
		if (rv != MCN_ENOMEM || p != NULL)
			failed++;
		mcn_policy_free(p);
	}
	CHECK_U64_EQ(failed, 0);
	mcn_dict_free(d);
}

MCNT_MAIN({ "example", test_example },
    { "analysis_names", test_analysis_names }, { "bad", test_bad },
    { "role_count", test_role_count }, { "load", test_load },
    { "check", test_check }, { "default", test_default },
    { "nomem", test_nomem })
