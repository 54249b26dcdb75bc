/*
 * node/policy.h - the hospital's disclosure policy.
 *
 * Every node's data officer owns one policy file. The node checks every
 * query against it before touching any data; anything the policy does not
 * allow is refused (default deny). Example:
 *
 *   {
 *     "version": 1,
 *     "roles": {
 *       "feasibility": {
 *         "analyses": ["count", "histogram", "table"],
 *         "columns": {"where": ["*"], "aggregate": ["age", "sex"],
 *                     "group_by": ["sex", "smoker"]},
 *         "max_sensitivity": 3,
 *         "grant": [],
 *         "min_cell": 10,
 *         "min_difference": 10,
 *         "dp": {"epsilon": 0.5, "budget": 20.0},
 *         "rate_limit": {"queries": 100, "per_seconds": 3600},
 *         "purpose": "feasibility"
 *       },
 *       "researcher": {
 *         "analyses": ["*"],
 *         "columns": {"where": ["*"], "aggregate": ["*"], "group_by": ["*"]},
 *         "max_sensitivity": 4, "grant": ["hiv_status"], "min_cell": 5,
 *         "dp": null, "rate_limit": {"queries": 1000, "per_seconds": 3600},
 *         "purpose": "research"
 *       }
 *     }
 *   }
 *
 * File rules. The top level has exactly "version" (must be 1) and "roles"
 * (an object of 1..64 roles). Unknown keys at any level, a key given twice,
 * and values of the wrong type are errors (MCN_EFORMAT, with a message that
 * names the file, the role and the key). Per role:
 *  - name: [a-z][a-z0-9_-]{0,31}. A querier whose certificate role is not
 *    listed is refused.
 *  - "analyses": names as mcn_query_agg_kind_name() spells them (count,
 *    sum, mean, var, sd, histogram, table, linear, cor, survival,
 *    logistic) or "quantile" (reserved for an upcoming aggregate), each at
 *    most once; or ["*"] alone = every analysis. Absent = none.
 *  - "columns": an object with optional "where", "aggregate" and
 *    "group_by", each a list of dictionary column names (each at most once,
 *    and each must exist in the dictionary) or ["*"] alone = every column.
 *    An absent list (or an absent "columns") is empty: no column may be
 *    used in that position.
 *  - "max_sensitivity": 1..5, required. A column whose dictionary
 *    sensitivity is above it cannot be used in any position, even if
 *    listed, unless it is named in "grant". A sensitivity-5 column can be
 *    used only if granted, whatever max_sensitivity says: "*" never
 *    reaches level 5 by itself.
 *  - "grant": dictionary column names (each must exist, at most once) that
 *    escape the sensitivity ceiling. A grant does not list a column in any
 *    position; it must still be allowed by "columns" (a "*" list does).
 *    Absent = none.
 *  - "min_cell": integer 1..1000000, default 10: the minimum cell size k,
 *    applied to the POOLED cell (node/query.h, release control): a cell,
 *    bin, group or curve point is released only with a pooled count of at
 *    least k from at least min_sites sites; the strictest k of the
 *    contributing hospitals applies.
 *  - "site_min_cell": integer 0..1000000, default 0 (off): the explicit
 *    per-site rule, as a veto: a pooled cell in which this hospital has
 *    between 1 and site_min_cell - 1 patients is withheld for everyone
 *    (never zeroed in the sum).
 *  - "min_difference": integer 0..1000000, default min_cell: a cohort that
 *    differs from one of the querier's earlier cohorts by fewer than this
 *    many patients, but not zero, is refused (0 disables the rule).
 *  - "dp": null or absent = no noise and no budget; else an object with
 *    exactly "epsilon" (per query, 0 < epsilon <= 10) and "budget" (total
 *    per querier and role, 0 < budget <= 1e6 and budget >= epsilon).
 *  - "rate_limit": an object with exactly "queries" (1..1000000) and
 *    "per_seconds" (1..31536000); absent = 1000 queries per 3600 s.
 *  - "purpose": optional, [a-z][a-z0-9_-]{0,31}; selects purpose-specific
 *    consent columns (the dictionary's business, only stored here).
 *
 * Check order (mcn_policy_check), the first violation is reported:
 *  1. the role must be listed;
 *  2. every requested analysis, in request order, must be a known name and
 *     allowed for the role;
 *  3. every requested column, in request order: first its sensitivity
 *     (level 5 needs a grant; a level above max_sensitivity needs a
 *     grant), then each position it is used in, in the order WHERE,
 *     aggregate, GROUP BY, must be allowed by the matching list.
 * Thresholds (min_cell, min_difference, dp, rate_limit) are not checked
 * here: they are values the query engine and mcn_state enforce, read from
 * the role that mcn_policy_check returns.
 *
 * A parsed policy is immutable and may be shared by threads. It does not
 * keep a reference to the dictionary it was validated against.
 */
#ifndef MCN_NODE_POLICY_H
#define MCN_NODE_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/err.h"
#include "node/dict.h"

#define MCN_POLICY_MAX_ROLES 64
#define MCN_POLICY_NAME_MAX 32 /* role and purpose names */
#define MCN_POLICY_FILE_MAX (1u << 20)

typedef struct mcn_policy mcn_policy;

/* private: one column list of a role */
typedef struct mcn_policy_list {
	int all;      /* "*" */
	char **names; /* dictionary column names, mcn_alloc'd */
	size_t n;
} mcn_policy_list;

typedef struct mcn_policy_role {
	const char *name;
	int max_sensitivity;     /* 1..5 */
	uint64_t min_cell;       /* k */
	uint64_t site_min_cell;  /* per-site veto rule; 0: off */
	uint64_t min_difference; /* 0: no differencing rule */
	double dp_epsilon;       /* per query; 0: no noise */
	double dp_budget;        /* per querier and role; 0 when no noise */
	uint64_t rate_queries;   /* at most this many queries ... */
	uint64_t rate_seconds;   /* ... per this many seconds */
	const char *purpose;     /* NULL if none */

	/* private: use mcn_policy_check */
	uint32_t analyses;       /* bit i: analysis i of the known names */
	mcn_policy_list cols[3]; /* where, aggregate, group_by */
	mcn_policy_list grant;   /* all is always 0 */
} mcn_policy_role;

/* Parses policy JSON (len bytes) and validates every column name against
 * dictionary d. name_for_messages (e.g. the path) prefixes messages. On
 * success *out is a new policy; otherwise *out = NULL and err says what is
 * wrong: MCN_EFORMAT (syntax, keys, types, values, unknown columns),
 * MCN_ENOMEM. */
mcn_err mcn_policy_parse(mcn_policy **out, const char *json, size_t len,
    const mcn_dict *d, const char *name_for_messages, char *err,
    size_t errlen) MCN_WUR;

/* Reads path (at most MCN_POLICY_FILE_MAX bytes) and parses it; messages
 * name the path. Also MCN_ESYS|errno (cannot read), MCN_ETOOBIG. */
mcn_err mcn_policy_load(mcn_policy **out, const char *path, const mcn_dict *d,
    char *err, size_t errlen) MCN_WUR;

/* Frees a policy. NULL is a no-op. */
void mcn_policy_free(mcn_policy *p);

/* The role with this exact name, or NULL. Pointers stay valid until
 * mcn_policy_free. */
const mcn_policy_role *mcn_policy_role_find(const mcn_policy *p,
    const char *role);
/* Roles in file order; i < mcn_policy_nroles(p). */
size_t mcn_policy_nroles(const mcn_policy *p);
const mcn_policy_role *mcn_policy_role_at(const mcn_policy *p, size_t i);

/* Where a query uses a column (OR of the flags). */
enum {
	MCN_POLICY_WHERE = 1,
	MCN_POLICY_AGGREGATE = 2,
	MCN_POLICY_GROUP_BY = 4
};

typedef struct mcn_policy_use {
	const mcn_column *col; /* a column of the dictionary */
	unsigned uses;         /* OR of MCN_POLICY_*; 0: sensitivity only */
} mcn_policy_use;

typedef struct mcn_policy_request {
	const char *role;            /* from the querier's certificate */
	const char *const *analyses; /* names as in the file rules */
	size_t nanalyses;
	const mcn_policy_use *cols;
	size_t ncols;
} mcn_policy_request;

/* Checks a request in the order documented above. MCN_OK and *role_out
 * (may be NULL) set to the role, or MCN_EREFUSED, *role_out = NULL and a
 * reason in why that names the rule and never data, e.g.
 *   "policy: no policy for role 'x'"
 *   "policy: role 'feasibility' may not run 'linear'"
 *   "policy: unknown analysis 'foo'"
 *   "policy: role 'feasibility' may not use column 'bmi' in aggregates"
 *   (positions: "in WHERE", "in aggregates", "in GROUP BY")
 *   "policy: column 'hiv_status' has sensitivity 5, above what role
 *    'researcher' may use (4), and is not granted"
 *   "policy: column 'hiv_status' has sensitivity 5, which role 'r' may use
 *    only if granted, and it is not granted"
 * Thread-safe. */
mcn_err mcn_policy_check(const mcn_policy *p, const mcn_policy_request *r,
    const mcn_policy_role **role_out, char *why, size_t whylen) MCN_WUR;

/* The default policy `mcn network init` writes for a demo network, as
 * JSON text valid for any dictionary ("*" column lists): role
 * "feasibility" (count, histogram, table; sensitivity <= 3; k = 10; DP
 * epsilon 0.5 per query, budget 20; 100 queries per hour) and role
 * "researcher" (every analysis; sensitivity <= 4; k = 5; no noise; 1000
 * queries per hour). malloc'd; the caller frees it with free(). NULL if
 * out of memory. */
char *mcn_policy_default_json(void);

#endif
