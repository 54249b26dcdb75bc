/*
 * node/policy.c - the disclosure policy: strict JSON parsing (jansson) and
 * the per-query check. See node/policy.h for the file rules and the check
 * order; this file implements exactly those.
 *
 * Messages name the file, the role and the key. Names taken from the file
 * (role names, keys, column names) are printed only when they are short
 * printable ASCII, so that a mangled file cannot garble the log.
 */
#define _POSIX_C_SOURCE 200809L
#include "node/policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto/mem.h"
#include "node/query.h"
#include "node/util.h"

struct mcn_policy {
	mcn_policy_role *roles;
	size_t nroles;
};

/* Known analysis names; bit i of mcn_policy_role.analyses is name i. The
 * first eleven are what mcn_query_agg_kind_name() returns. */
static const char *const pol_analyses[] = { "count", "sum", "mean", "var", "sd",
	"histogram", "table", "linear", "cor", "survival", "logistic",
	"quantile" };
#define POL_NANALYSES (sizeof(pol_analyses) / sizeof(pol_analyses[0]))
#define POL_ALL_ANALYSES ((uint32_t)((1u << POL_NANALYSES) - 1))

static const char *const pol_pos_key[3] = { "where", "aggregate", "group_by" };
static const char *const pol_pos_text[3] = { "in WHERE", "in aggregates",
	"in GROUP BY" };

/* ---- small helpers ------------------------------------------------------- */

static int
pol_analysis_index(const char *s)
{
	for (size_t i = 0; i < POL_NANALYSES; i++)
		if (strcmp(s, pol_analyses[i]) == 0)
			return ((int)i);
	return (-1);
}


/* A name fit to print: itself if short printable ASCII, else a marker. */
static const char *
pol_safe(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return ("(invalid name)");
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return ("(invalid name)");
	return (s);
}



static void
pol_list_clear(mcn_policy_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		mcn_strfree(l->names[i]);
	if (l->names != NULL)
		mcn_free(l->names, l->n * sizeof(*l->names));
	memset(l, 0, sizeof(*l));
}

static int
pol_list_has(const mcn_policy_list *l, const char *name)
{
	if (l->all)
		return (1);
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->names[i], name) == 0)
			return (1);
	return (0);
}

static void
pol_role_clear(mcn_policy_role *r)
{
	mcn_strfree(r->name);
	mcn_strfree(r->purpose);
	for (int i = 0; i < 3; i++)
		pol_list_clear(&r->cols[i]);
	pol_list_clear(&r->grant);
	memset(r, 0, sizeof(*r));
}

void
mcn_policy_free(mcn_policy *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->nroles; i++)
		pol_role_clear(&p->roles[i]);
	if (p->roles != NULL)
		mcn_free(p->roles, p->nroles * sizeof(*p->roles));
	mcn_free(p, sizeof(*p));
}

/* ---- parsing ------------------------------------------------------------- */

typedef struct {
	const char *file; /* for messages */
	const char *role; /* for messages: the role being parsed, or NULL */
	const mcn_dict *d;
	char *err;
	size_t errlen;
} pol_ctx;

/* "file: role 'r': " or "file: " */
static void
pol_where(const pol_ctx *c, char *buf, size_t n)
{
	if (c->role != NULL)
		snprintf(buf, n, "%s: role '%s': ", c->file, c->role);
	else
		snprintf(buf, n, "%s: ", c->file);
}

static mcn_err pol_fail(const pol_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static mcn_err
pol_fail(const pol_ctx *c, const char *fmt, ...)
{
	char pre[160], msg[384];
	va_list ap;

	pol_where(c, pre, sizeof(pre));
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mcn_msg(c->err, c->errlen, "%s%s", pre, msg);
	return (MCN_EFORMAT);
}

/* Refuses keys of obj that are not in allowed (NULL-terminated). ctx names
 * the object the key is in ("" for the role/top level). */
static mcn_err
pol_check_keys(const pol_ctx *c, json_t *obj, const char *const *allowed,
    const char *in)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v)
	{
		int ok = 0;
		for (size_t i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				ok = 1;
		if (!ok)
			return (pol_fail(c, "unknown key \"%s\"%s",
			    pol_safe(key), in));
	}
	return (MCN_OK);
}

/* A JSON string without embedded NUL, or NULL. */
static const char *
pol_str(json_t *v)
{
	if (!json_is_string(v) ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return (NULL);
	return (json_string_value(v));
}

/* Optional integer key in [lo, hi]; dflt if absent. */
static mcn_err
pol_uint(const pol_ctx *c, json_t *obj, const char *key, const char *in,
    uint64_t lo, uint64_t hi, uint64_t dflt, int required, uint64_t *out)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL) {
		if (required)
			return (pol_fail(c, "missing \"%s\"%s", key, in));
		*out = dflt;
		return (MCN_OK);
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) < lo ||
	    (uint64_t)json_integer_value(v) > hi)
		return (pol_fail(c,
		    "\"%s\"%s must be an integer in [%llu, %llu]", key, in,
		    (unsigned long long)lo, (unsigned long long)hi));
	*out = (uint64_t)json_integer_value(v);
	return (MCN_OK);
}

/* Parses a list of column names (or ["*"] if star_ok). */
static mcn_err
pol_list(const pol_ctx *c, json_t *v, const char *key, int star_ok,
    mcn_policy_list *l)
{
	size_t n;

	memset(l, 0, sizeof(*l));
	if (v == NULL)
		return (MCN_OK);
	if (!json_is_array(v))
		return (pol_fail(c, "\"%s\" must be a list of column names%s",
		    key, star_ok ? " or [\"*\"]" : ""));
	n = json_array_size(v);
	if (n == 0)
		return (MCN_OK);
	for (size_t i = 0; i < n; i++) {
		const char *s = pol_str(json_array_get(v, i));
		if (s == NULL)
			return (pol_fail(c, "\"%s\"[%zu] must be a string", key,
			    i));
		if (strcmp(s, "*") == 0) {
			if (!star_ok)
				return (pol_fail(c,
				    "\"%s\" must name columns; \"*\" is not "
				    "allowed here",
				    key));
			if (n != 1)
				return (pol_fail(c,
				    "\"%s\": \"*\" must be alone in its list",
				    key));
			l->all = 1;
			return (MCN_OK);
		}
		if (mcn_dict_find(c->d, s) == NULL)
			return (pol_fail(c,
			    "\"%s\": unknown column '%s' (not in dictionary "
			    "'%s')",
			    key, pol_safe(s), c->d->name));
		for (size_t j = 0; j < i; j++)
			if (strcmp(s,
			        json_string_value(json_array_get(v, j))) == 0)
				return (pol_fail(c,
				    "\"%s\": column '%s' is listed twice", key,
				    s));
	}
	if ((l->names = mcn_zalloc(n * sizeof(*l->names))) == NULL)
		return (MCN_ENOMEM);
	for (size_t i = 0; i < n; i++) {
		l->names[i] =
		    mcn_strdup(json_string_value(json_array_get(v, i)));
		if (l->names[i] == NULL) {
			l->n = n;
			pol_list_clear(l);
			return (MCN_ENOMEM);
		}
	}
	l->n = n;
	return (MCN_OK);
}

static mcn_err
pol_analyses_parse(const pol_ctx *c, json_t *v, uint32_t *mask)
{
	size_t n;

	*mask = 0;
	if (v == NULL)
		return (MCN_OK);
	if (!json_is_array(v))
		return (pol_fail(c,
		    "\"analyses\" must be a list of analysis "
		    "names or [\"*\"]"));
	n = json_array_size(v);
	for (size_t i = 0; i < n; i++) {
		const char *s = pol_str(json_array_get(v, i));
		if (s == NULL)
			return (pol_fail(c,
			    "\"analyses\"[%zu] must be a string", i));
		if (strcmp(s, "*") == 0) {
			if (n != 1)
				return (pol_fail(c,
				    "\"analyses\": \"*\" must "
				    "be alone in its list"));
			*mask = POL_ALL_ANALYSES;
			return (MCN_OK);
		}
		int k = pol_analysis_index(s);
		if (k < 0)
			return (pol_fail(c,
			    "\"analyses\": unknown analysis "
			    "'%s'",
			    pol_safe(s)));
		if (*mask & (1u << k))
			return (pol_fail(c,
			    "\"analyses\": '%s' is listed twice", s));
		*mask |= 1u << k;
	}
	return (MCN_OK);
}

static mcn_err
pol_dp(const pol_ctx *c, json_t *v, mcn_policy_role *r)
{
	static const char *const keys[] = { "epsilon", "budget", NULL };
	mcn_err rv;

	r->dp_epsilon = 0;
	r->dp_budget = 0;
	if (v == NULL || json_is_null(v))
		return (MCN_OK);
	if (!json_is_object(v))
		return (pol_fail(c,
		    "\"dp\" must be null or an object with "
		    "\"epsilon\" and \"budget\""));
	if ((rv = pol_check_keys(c, v, keys, " in \"dp\"")) != MCN_OK)
		return (rv);
	json_t *e = json_object_get(v, "epsilon");
	json_t *b = json_object_get(v, "budget");
	if (e == NULL || !json_is_number(e) || !(json_number_value(e) > 0) ||
	    !(json_number_value(e) <= 10))
		return (pol_fail(c,
		    "\"epsilon\" in \"dp\" must be a number "
		    "in (0, 10]"));
	if (b == NULL || !json_is_number(b) || !(json_number_value(b) > 0) ||
	    !(json_number_value(b) <= 1e6))
		return (pol_fail(c,
		    "\"budget\" in \"dp\" must be a number "
		    "in (0, 1000000]"));
	if (json_number_value(b) < json_number_value(e))
		return (pol_fail(c,
		    "\"budget\" in \"dp\" must be at least "
		    "\"epsilon\""));
	r->dp_epsilon = json_number_value(e);
	r->dp_budget = json_number_value(b);
	return (MCN_OK);
}

static mcn_err
pol_rate(const pol_ctx *c, json_t *v, mcn_policy_role *r)
{
	static const char *const keys[] = { "queries", "per_seconds", NULL };
	mcn_err rv;

	if (v == NULL) {
		r->rate_queries = 1000;
		r->rate_seconds = 3600;
		return (MCN_OK);
	}
	if (!json_is_object(v))
		return (pol_fail(c,
		    "\"rate_limit\" must be an object with "
		    "\"queries\" and \"per_seconds\""));
	if ((rv = pol_check_keys(c, v, keys, " in \"rate_limit\"")) != MCN_OK ||
	    (rv = pol_uint(c, v, "queries", " in \"rate_limit\"", 1, 1000000, 0,
	         1, &r->rate_queries)) != MCN_OK ||
	    (rv = pol_uint(c, v, "per_seconds", " in \"rate_limit\"", 1,
	         31536000, 0, 1, &r->rate_seconds)) != MCN_OK)
		return (rv);
	return (MCN_OK);
}

static mcn_err
pol_role(pol_ctx *c, const char *name, json_t *o, mcn_policy_role *r)
{
	static const char *const keys[] = { "analyses", "columns",
		"max_sensitivity", "grant", "min_cell", "site_min_cell",
		"min_difference", "dp", "rate_limit", "purpose", NULL };
	static const char *const ckeys[] = { "where", "aggregate", "group_by",
		NULL };
	uint64_t v;
	mcn_err rv;

	if (!mcn_rolename_valid(name)) {
		c->role = NULL;
		return (pol_fail(c,
		    "role name '%s' is invalid (must be "
		    "[a-z][a-z0-9_-]{0,31})",
		    pol_safe(name)));
	}
	c->role = name;
	if (!json_is_object(o))
		return (pol_fail(c, "must be an object"));
	if ((r->name = mcn_strdup(name)) == NULL)
		return (MCN_ENOMEM);
	if ((rv = pol_check_keys(c, o, keys, "")) != MCN_OK ||
	    (rv = pol_analyses_parse(c, json_object_get(o, "analyses"),
	         &r->analyses)) != MCN_OK)
		return (rv);
	json_t *cols = json_object_get(o, "columns");
	if (cols != NULL) {
		if (!json_is_object(cols))
			return (pol_fail(c,
			    "\"columns\" must be an object "
			    "with \"where\", \"aggregate\", \"group_by\""));
		if ((rv = pol_check_keys(c, cols, ckeys, " in \"columns\"")) !=
		    MCN_OK)
			return (rv);
		for (int i = 0; i < 3; i++)
			if ((rv = pol_list(c,
			         json_object_get(cols, pol_pos_key[i]),
			         pol_pos_key[i], 1, &r->cols[i])) != MCN_OK)
				return (rv);
	}
	if ((rv = pol_uint(c, o, "max_sensitivity", "", 1, 5, 0, 1, &v)) !=
	    MCN_OK)
		return (rv);
	r->max_sensitivity = (int)v;
	if ((rv = pol_list(c, json_object_get(o, "grant"), "grant", 0,
	         &r->grant)) != MCN_OK ||
	    (rv = pol_uint(c, o, "min_cell", "", 1, 1000000, 10, 0,
	         &r->min_cell)) != MCN_OK ||
	    (rv = pol_uint(c, o, "site_min_cell", "", 0, 1000000, 0, 0,
	         &r->site_min_cell)) != MCN_OK ||
	    (rv = pol_uint(c, o, "min_difference", "", 0, 1000000, r->min_cell,
	         0, &r->min_difference)) != MCN_OK ||
	    (rv = pol_dp(c, json_object_get(o, "dp"), r)) != MCN_OK ||
	    (rv = pol_rate(c, json_object_get(o, "rate_limit"), r)) != MCN_OK)
		return (rv);
	json_t *pv = json_object_get(o, "purpose");
	if (pv != NULL) {
		const char *s = pol_str(pv);
		if (s == NULL || !mcn_rolename_valid(s))
			return (pol_fail(c,
			    "\"purpose\" must be a string of "
			    "[a-z][a-z0-9_-]{0,31}"));
		if ((r->purpose = mcn_strdup(s)) == NULL)
			return (MCN_ENOMEM);
	}
	return (MCN_OK);
}

mcn_err
mcn_policy_parse(mcn_policy **out, const char *json, size_t len,
    const mcn_dict *d, const char *name_for_messages, char *err, size_t errlen)
{
	static const char *const keys[] = { "version", "roles", NULL };
	pol_ctx c = { name_for_messages, NULL, d, err, errlen };
	mcn_policy *p = NULL;
	json_error_t je;
	json_t *root = NULL;
	mcn_err rv = MCN_EFORMAT;

	MCN_MUST(out != NULL && json != NULL && d != NULL &&
	    name_for_messages != NULL && err != NULL);
	*out = NULL;
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		mcn_msg(err, errlen, "%s:%d:%d: invalid JSON: %s",
		    name_for_messages, je.line, je.column, je.text);
		goto out;
	}
	if (!json_is_object(root)) {
		(void)pol_fail(&c, "top level must be a JSON object");
		goto out;
	}
	if ((rv = pol_check_keys(&c, root, keys, "")) != MCN_OK)
		goto out;
	json_t *ver = json_object_get(root, "version");
	if (ver == NULL || !json_is_integer(ver) ||
	    json_integer_value(ver) != 1) {
		rv = pol_fail(&c, "\"version\" must be 1");
		goto out;
	}
	json_t *roles = json_object_get(root, "roles");
	if (roles == NULL || !json_is_object(roles) ||
	    json_object_size(roles) == 0 ||
	    json_object_size(roles) > MCN_POLICY_MAX_ROLES) {
		rv = pol_fail(&c, "\"roles\" must be an object of 1..%d roles",
		    MCN_POLICY_MAX_ROLES);
		goto out;
	}
	rv = MCN_ENOMEM;
	if ((p = mcn_zalloc(sizeof(*p))) == NULL ||
	    (p->roles = mcn_zalloc(
	         json_object_size(roles) * sizeof(*p->roles))) == NULL) {
		mcn_msg(err, errlen, "%s: out of memory", name_for_messages);
		goto out;
	}
	p->nroles = json_object_size(roles);
	size_t i = 0;
	const char *name;
	json_t *o;
	json_object_foreach(roles, name, o)
	{
		/* a key with an embedded NUL cannot be a valid name */
		if ((rv = pol_role(&c, name, o, &p->roles[i])) != MCN_OK) {
			if (rv == MCN_ENOMEM)
				mcn_msg(err, errlen, "%s: out of memory",
				    name_for_messages);
			goto out;
		}
		i++;
	}
	*out = p;
	p = NULL;
	rv = MCN_OK;
out:
	mcn_policy_free(p);
	json_decref(root);
	return (rv);
}

mcn_err
mcn_policy_load(mcn_policy **out, const char *path, const mcn_dict *d,
    char *err, size_t errlen)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	mcn_err rv;

	MCN_MUST(out != NULL && path != NULL && d != NULL && err != NULL);
	*out = NULL;
	rv = mcn_file_read(path, MCN_POLICY_FILE_MAX, &buf, &len);
	if (rv == MCN_ERANGE) {
		mcn_msg(err, errlen, "%s: policy file is larger than %u bytes",
		    path, MCN_POLICY_FILE_MAX);
		return (MCN_ETOOBIG);
	}
	if (rv != MCN_OK) {
		mcn_msg(err, errlen, "%s: cannot read: %s", path,
		    (rv & MCN_ESYS) ? strerror(rv & ~MCN_ESYS) :
		                      mcn_strerror(rv));
		return (rv);
	}
	rv =
	    mcn_policy_parse(out, (const char *)buf, len, d, path, err, errlen);
	mcn_file_free(buf, len);
	return (rv);
}

/* ---- lookup and check ---------------------------------------------------- */

const mcn_policy_role *
mcn_policy_role_find(const mcn_policy *p, const char *role)
{
	MCN_MUST(p != NULL && role != NULL);
	for (size_t i = 0; i < p->nroles; i++)
		if (strcmp(p->roles[i].name, role) == 0)
			return (&p->roles[i]);
	return (NULL);
}

size_t
mcn_policy_nroles(const mcn_policy *p)
{
	MCN_MUST(p != NULL);
	return (p->nroles);
}

const mcn_policy_role *
mcn_policy_role_at(const mcn_policy *p, size_t i)
{
	MCN_MUST(p != NULL && i < p->nroles);
	return (&p->roles[i]);
}

mcn_err
mcn_policy_check(const mcn_policy *p, const mcn_policy_request *r,
    const mcn_policy_role **role_out, char *why, size_t whylen)
{
	const mcn_policy_role *role;

	MCN_MUST(p != NULL && r != NULL && r->role != NULL && why != NULL);
	MCN_MUST(r->nanalyses == 0 || r->analyses != NULL);
	MCN_MUST(r->ncols == 0 || r->cols != NULL);
	if (role_out != NULL)
		*role_out = NULL;
	if ((role = mcn_policy_role_find(p, r->role)) == NULL) {
		mcn_msg(why, whylen, "policy: no policy for role '%s'",
		    mcn_rolename_valid(r->role) ? r->role : "(invalid name)");
		return (MCN_EREFUSED);
	}
	for (size_t i = 0; i < r->nanalyses; i++) {
		const char *a = r->analyses[i];
		MCN_MUST(a != NULL);
		int k = pol_analysis_index(a);
		if (k < 0) {
			mcn_msg(why, whylen, "policy: unknown analysis '%s'",
			    pol_safe(a));
			return (MCN_EREFUSED);
		}
		if (!(role->analyses & (1u << k))) {
			mcn_msg(why, whylen,
			    "policy: role '%s' may not run '%s'", role->name,
			    a);
			return (MCN_EREFUSED);
		}
	}
	for (size_t i = 0; i < r->ncols; i++) {
		const mcn_column *col = r->cols[i].col;
		unsigned uses = r->cols[i].uses;
		MCN_MUST(col != NULL && col->name != NULL);
		MCN_MUST((uses & ~7u) == 0);
		int granted = pol_list_has(&role->grant, col->name);
		if (col->sensitivity >= 5 && !granted &&
		    role->max_sensitivity >= 5) {
			mcn_msg(why, whylen,
			    "policy: column '%s' has sensitivity %d, which "
			    "role '%s' may use only if granted, and it is not "
			    "granted",
			    col->name, col->sensitivity, role->name);
			return (MCN_EREFUSED);
		}
		if (col->sensitivity > role->max_sensitivity && !granted) {
			mcn_msg(why, whylen,
			    "policy: column '%s' has sensitivity %d, above "
			    "what role '%s' may use (%d), and is not granted",
			    col->name, col->sensitivity, role->name,
			    role->max_sensitivity);
			return (MCN_EREFUSED);
		}
		for (int pos = 0; pos < 3; pos++) {
			if ((uses & (1u << pos)) &&
			    !pol_list_has(&role->cols[pos], col->name)) {
				mcn_msg(why, whylen,
				    "policy: role '%s' may not use column '%s' "
				    "%s",
				    role->name, col->name, pol_pos_text[pos]);
				return (MCN_EREFUSED);
			}
		}
	}
	if (role_out != NULL)
		*role_out = role;
	return (MCN_OK);
}

/* ---- default ------------------------------------------------------------- */

static const char pol_default[] =
    "{\n"
    "  \"version\": 1,\n"
    "  \"roles\": {\n"
    "    \"feasibility\": {\n"
    "      \"analyses\": [\"count\", \"histogram\", \"table\"],\n"
    "      \"columns\": {\"where\": [\"*\"], \"aggregate\": [\"*\"], "
    "\"group_by\": [\"*\"]},\n"
    "      \"max_sensitivity\": 3,\n"
    "      \"grant\": [],\n"
    "      \"min_cell\": 10,\n"
    "      \"min_difference\": 10,\n"
    "      \"dp\": {\"epsilon\": 0.5, \"budget\": 20.0},\n"
    "      \"rate_limit\": {\"queries\": 100, \"per_seconds\": 3600},\n"
    "      \"purpose\": \"feasibility\"\n"
    "    },\n"
    "    \"researcher\": {\n"
    "      \"analyses\": [\"*\"],\n"
    "      \"columns\": {\"where\": [\"*\"], \"aggregate\": [\"*\"], "
    "\"group_by\": [\"*\"]},\n"
    "      \"max_sensitivity\": 4,\n"
    "      \"grant\": [],\n"
    "      \"min_cell\": 5,\n"
    "      \"min_difference\": 5,\n"
    "      \"dp\": null,\n"
    "      \"rate_limit\": {\"queries\": 1000, \"per_seconds\": 3600},\n"
    "      \"purpose\": \"research\"\n"
    "    }\n"
    "  }\n"
    "}\n";

char *
mcn_policy_default_json(void)
{
	return (strdup(pol_default));
}
