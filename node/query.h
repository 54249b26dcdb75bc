/*
 * node/query.h - the aggregate-only query language: parser, checker,
 * planner, local evaluation on a node, and pooled results.
 *
 * Grammar (keywords and aggregate names case-insensitive; identifiers are
 * dictionary names, case-sensitive):
 *
 *   query  := SELECT agg [AS name] {, agg [AS name]} FROM table
 *             [WHERE cond] [GROUP BY col {, col}] [;]
 *   agg    := count() | count(*) | count(col) | sum(col) | mean(col)
 *           | var(col) | sd(col) | histogram(col, num, num, int)
 *           | table(col) | table(col, col)
 *           | linear(col ~ col {+ col}) | cor(col, col {, col})
 *           | survival(col, col [, int])
 *           | logistic(col ~ col {+ col})
 *           | logistic_step(col ~ col {+ col}; hex {, hex})
 *           | quantile(col, num) | median(col)
 *   cond   := cond OR cond | cond AND cond | NOT cond | ( cond )
 *           | col (= | <> | != | < | <= | > | >=) literal
 *           | col [NOT] BETWEEN literal AND literal
 *           | col [NOT] IN ( literal {, literal} )
 *           | col [NOT] LIKE 'prefix%' | col IS [NOT] NULL
 *   literal:= 'string' ('' escapes a quote) | [+-]digits[.digits]
 *
 * Nothing that could return a row is expressible: every output is an
 * aggregate over the rows that match WHERE, per group of GROUP BY.
 *
 * Checking: literals must fit their column. integer: numbers (a non-integer
 * number only with < <= > >= and BETWEEN); real: numbers; categorical: a
 * declared level (=, <>, !=, IN, LIKE); code: strings, upper-cased before
 * comparison (all comparisons, IN, LIKE); date: 'YYYY-MM-DD' (comparisons,
 * BETWEEN, IN). LIKE takes only a prefix pattern: literal characters (no
 * '_' and no '%') then one trailing '%'. IS [NOT] NULL works on any column.
 * Missing values follow SQL: a comparison with a missing value is not true,
 * and neither is its negation. sum/mean/var/sd/histogram need an integer or
 * real column, table needs categorical columns (two different ones for a
 * two-way table), GROUP BY takes at most 3 distinct categorical columns
 * and at most MCN_QUERY_MAX_GROUPS groups. Output names (AS alias, or the
 * canonical text such as "mean(age)", "histogram(age,0,100,10)",
 * "table(sex,smoker)") must be unique.
 *
 * Analyses. linear(y ~ x1 + ...): OLS with an intercept; y integer or
 * real, each x integer, real or categorical (nlevels - 1 indicator
 * columns, the first declared level is the reference); at most
 * MCN_QUERY_MAX_PREDICTORS predictor columns after expansion, no column
 * twice. cor(x, y, ...): Pearson correlations of 2..MCN_QUERY_MAX_COR
 * distinct integer or real columns. Both use complete cases only (rows
 * with every named column present). survival(time, event [, step]): time
 * an integer column, event an integer column whose declared range lies in
 * [0, 1]; the grid is tmin, tmin + step, ... up to tmax (the time column's
 * declared range, step 1 by default); a time t is counted at the grid
 * point tmin + step * floor((t - tmin) / step), so with step > 1 the
 * estimate is Kaplan-Meier on those binned times. Groups come from GROUP
 * BY; grid points times groups at most MCN_QUERY_MAX_GRID.
 *
 * logistic(y ~ x1 + ...): logistic regression by maximum likelihood with
 * an intercept, y an integer column declared 0..1, predictors as in
 * linear, complete cases; it must be the only output of its query and
 * takes no GROUP BY. It is iterative (mcn_query_is_iterative): the
 * querier runs Newton-Raphson (mcn_query_fit below) and every iteration
 * is one aggregation of a step query logistic_step(y ~ x1 + ...; b_0,
 * b_1, ...) carrying the current coefficients (intercept first) as C99
 * hexadecimal floating literals ("-0x1.8p-3", as printf's %a writes
 * them), so every node evaluates at bit-identical coefficients. A step
 * query is checked like any other: exactly one coefficient per parameter,
 * each finite with |b| <= MCN_QUERY_MAX_COEF. logistic(...) itself is
 * the step at b = 0. Both have the canonical name "logistic(y~x1+...)".
 *
 * quantile(x, p), median(x) = quantile(x, 0.5): x an integer or real
 * column, p a decimal literal with 0 < p < 1 and at most 6 decimals
 * (canonical names "quantile(x,0.25)", "median(x)"; policy analysis
 * "quantile"). The lower empirical quantile of the pooled data (the
 * non-missing x of the rows matching WHERE at every site): Q(p) = the
 * smallest value v in the data with #{x <= v} >= ceil(p n), R's type 1
 * (for the median of an even n, the lower middle value). Values lie on
 * the dictionary grid (integer: 1, real: 10^-decimals), so Q is a grid
 * value. Like logistic it must be the only output, takes no GROUP BY
 * and no WITH EPSILON, and is iterative: the querier (mcn_query_fit)
 * runs rounds of ordinary queries "SELECT count(x), histogram(x, lo,
 * hi, B) FROM t [WHERE ...]", each one secure aggregation to which every
 * node applies its own disclosure control. In grid units (X), with W
 * grid values in the current range starting at a: bins of w = ceil(W /
 * 100) grid values, B = ceil(W / w) <= 100 bins on [a, a + B w). Round 1
 * covers the declared range [min, max] of x and gives n; each later
 * round covers the bin that holds rank ceil(p n); the answer is exact
 * when a bin one grid value wide holds it (bins are cut to the range
 * known so far). Rounds: max(1, ceil(log_100 W1)), W1 = the number of
 * grid values in the declared range (age 0..120: 2; a real 10..80 with 1
 * decimal: 2; -50..50 with 3 decimals: 3); fewer when the quantile falls
 * in a last bin that the range cuts short (age 0..120: the maximum 120,
 * in round 1's last bin [120, 122), takes one round).
 *
 * Disclosure control: every round is an ordinary histogram, so each node
 * withholds the cells below its min_cell k (the flags say how many sites
 * withheld each cell). The rounds go on only while the bin holding the
 * rank is certain whatever the withheld counts are (a withheld cell
 * holds at least one row per withholding site; their total is n minus
 * the released cells, n being the exact count(x) - unbounded only when a
 * site withheld its whole histogram, having fewer than k values) and has
 * no withheld count; otherwise they stop and report the interval [lower,
 * upper) that holds the quantile in every case. So the answer is exact
 * when every cell of every round, tails included, holds 0 or at least k
 * of each site's patients, else (mostly) an interval; n is round 1's
 * (the released values when round 1 withheld some). The plan of a
 * quantile query itself is the histogram of its round 1.
 *
 * Plan: per group (all combinations of declared levels, first GROUP BY
 * column outermost), per block, the slots of the node's vector:
 *   count()                          1 slot: rows matching WHERE
 *   count(x)/sum/mean/var/sd of x    one shared "moments" block per x:
 *                                    n (non-missing), then S1 = sum X if a
 *                                    sum/mean/var/sd needs it, then
 *                                    S2 = sum X^2 if a var/sd needs it
 *   histogram(x, lo, hi, bins)       bins slots, then below, above
 *   table(a) / table(a, b)           nlevels(a) / nlevels(a)*nlevels(b)
 *   linear / cor over terms t_1..t_k  n (complete cases), then S_i = sum
 *                                    T_i for each term, then S_ij = sum
 *                                    T_i T_j for i <= j (row-major upper
 *                                    triangle); linear: term 1 is y, then
 *                                    the predictors (an indicator term is
 *                                    0/1); each S is one or more limbs
 *   survival(time, event, step)      events at each grid point, then
 *                                    censored rows at each grid point
 *   logistic over parameters 1..P    n (complete cases), then fixed-point
 *   (intercept, then predictor       sums (resolution 2^-32, limbs when
 *   terms)                           wide): gradient g_j = sum x_j (y -
 *                                    p), information H_jk = sum w x_j x_k
 *                                    (j <= k, row-major upper triangle),
 *                                    log-likelihood sum y log p + (1 - y)
 *                                    log(1 - p) (each row's term clamped
 *                                    at -35); p = 1 / (1 + exp(-b'x)), w
 *                                    = p (1 - p), x_j the real values
 *                                    (X / 10^decimals). Each site
 *                                    accumulates in long double and
 *                                    rounds its totals once; per-site
 *                                    bounds R max|x_j|, R max|x_j x_k| / 4
 *                                    and 35 R.
 *   quantile(x, p) / median(x)       as the histogram of its first round
 * X is the exact integer encoding of x (integer: x; real: x * 10^decimals).
 * Per-site bounds come from max_rows_per_site R and the dictionary ranges;
 * a quantity whose bound B has nsites * B > 2^62 is split into 40-bit limbs
 * (lower limbs in [0, 2^40), a signed top limb) that the querier recombines
 * exactly. The layout (fields of equal [lo, hi] runs) depends only on the
 * text, the dictionary and the limits, so querier and nodes agree on it.
 *
 * Error messages (err, errlen) name the problem and its position in the
 * query text; they never contain data values (the dictionary and the
 * query text are public).
 */
#ifndef MCN_NODE_QUERY_H
#define MCN_NODE_QUERY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <gmp.h>
#include <jansson.h>
#include <sqlite3.h>

#include "crypto/err.h"
#include "node/dict.h"
#include "protocols/agg.h"

#define MCN_QUERY_MAX_TEXT MCN_QUERY_TEXT_MAX /* bytes of query text */
#define MCN_QUERY_MAX_AGGS 100                /* outputs per query */
#define MCN_QUERY_MAX_GROUP_COLS 3
#define MCN_QUERY_MAX_GROUPS 10000
#define MCN_QUERY_MAX_BINS 1000
#define MCN_QUERY_MAX_IN 1000      /* values in one IN list */
#define MCN_QUERY_MAX_CONDS 256    /* predicates in WHERE */
#define MCN_QUERY_MAX_PARAMS 10000 /* literals in WHERE */
#define MCN_QUERY_MAX_DEPTH 64     /* nesting of NOT and parentheses */
#define MCN_QUERY_MAX_ROWS (UINT64_C(1) << 40) /* largest max_rows_per_site */
#define MCN_QUERY_LIMB_BITS 40
#define MCN_QUERY_MAX_PREDICTORS 20 /* linear: columns after expansion */
#define MCN_QUERY_MAX_COR 10        /* cor: columns */
#define MCN_QUERY_MAX_GRID 100000   /* survival: grid points x groups */
#define MCN_QUERY_MAX_SCAN 204      /* distinct columns one query reads */
#define MCN_QUERY_MAX_COEF 1e6      /* logistic_step: |coefficient| */
#define MCN_QUERY_FIT_MAX_ITER 25   /* logistic: aggregations at most */
#define MCN_QUERY_RELEASE_MIN 10    /* noisy counts below are printed "<10" */

/* Consortium parameters every party compiles with. max_rows_per_site:
 * 1..MCN_QUERY_MAX_ROWS; nsites: the most sites that can contribute,
 * 1..MCN_AGG_MAX_NODES. */
typedef struct mcn_query_limits {
	uint64_t max_rows_per_site;
	unsigned nsites;
	/* WITH EPSILON: the fewest sites whose noise shares make up the full
	 * noise (each site adds 1/noise_shares of it); 0 = nsites. The
	 * consortium sets it to the fewest contributors an answer can have,
	 * max(threshold, min_sites), so the released noise is never less
	 * than the stated distribution. */
	unsigned noise_shares;
} mcn_query_limits;

typedef enum {
	MCN_QUERY_COUNT = 1, /* count(): rows matching WHERE */
	MCN_QUERY_COUNT_X,   /* count(x): non-missing x */
	MCN_QUERY_SUM,
	MCN_QUERY_MEAN,
	MCN_QUERY_VAR, /* sample variance (n - 1) */
	MCN_QUERY_SD,
	MCN_QUERY_HISTOGRAM,
	MCN_QUERY_TABLE,
	MCN_QUERY_LINEAR,   /* linear(y ~ x1 + ...) */
	MCN_QUERY_COR,      /* cor(x, y, ...) */
	MCN_QUERY_SURVIVAL, /* survival(time, event [, step]) */
	MCN_QUERY_LOGISTIC, /* logistic(y ~ x1 + ...), logistic_step(...) */
	MCN_QUERY_QUANTILE, /* quantile(x, p), median(x) */
} mcn_query_agg_kind;

/* "count", "sum", ..., "table", ..., "quantile" (also for median); "?"
 * for an unknown value. */
const char *mcn_query_agg_kind_name(mcn_query_agg_kind k);

typedef struct mcn_query mcn_query; /* opaque, immutable after compile */

/* Parses, checks and plans text against dictionary d with the consortium
 * limits. d must outlive *out. On success *out is a new query; otherwise
 * *out = NULL and a message goes to err: MCN_EQUERY (syntax: "syntax error
 * at position P (near 'tok'): expected X"; names, types, levels, values,
 * limits, "query needs N values, more than the limit ..."), MCN_EINVAL
 * (limits out of range), MCN_ENOMEM. Positions are 1-based byte offsets.
 * Thread-safe (no shared state). */
mcn_err mcn_query_compile(mcn_query **out, const char *text, const mcn_dict *d,
    const mcn_query_limits *lim, char *err, size_t errlen) MCN_WUR;

/* Frees a query. NULL is a no-op. */
void mcn_query_free(mcn_query *q);

/* The vector layout of q (owned by q, valid until mcn_query_free). */
const mcn_agg_layout *mcn_query_layout(const mcn_query *q);

/* A copy of the layout for the aggregation protocol: out->fields is
 * mcn_alloc'd (free with mcn_agg_layout_clear). MCN_ENOMEM. */
mcn_err mcn_query_layout_copy(mcn_agg_layout *out, const mcn_query *q) MCN_WUR;

/* Introspection for policy checks. Columns: every dictionary column the
 * query reads (outputs, WHERE, GROUP BY), each once, in dictionary order.
 * Outputs: kind and output name of output i (< mcn_query_naggs). */
size_t mcn_query_ncolumns(const mcn_query *q);
const mcn_column *mcn_query_column(const mcn_query *q, size_t i);
size_t mcn_query_naggs(const mcn_query *q);
mcn_query_agg_kind mcn_query_agg(const mcn_query *q, size_t i,
    const char **name);
size_t mcn_query_ngroups(const mcn_query *q);
int mcn_query_has_where(const mcn_query *q);
/* How column i (as mcn_query_column) is used: OR of these. */
#define MCN_QUERY_USE_WHERE 1u
#define MCN_QUERY_USE_AGGREGATE 2u
#define MCN_QUERY_USE_GROUP_BY 4u
unsigned mcn_query_column_uses(const mcn_query *q, size_t i);
/* The query text with whitespace runs outside string literals collapsed
 * to one space, trimmed, without a final ';' (audit records, the seed of
 * the deterministic noise, the budget's charge key). */
const char *mcn_query_normalized(const mcn_query *q);
/* The epsilon of WITH EPSILON, 0 without it. */
double mcn_query_epsilon(const mcn_query *q);

/* Node side: computes this site's vector into values[layout nvalues]
 * (secret) with one parameterized scan of table d->table in db (literals
 * are bound, never spliced; identifiers come from the dictionary). Returns
 * MCN_EREFUSED if the table has more than max_rows_per_site rows, MCN_EDATA
 * if the table does not match the dictionary (missing table or column, a
 * non-numeric or out-of-range value, an undeclared level), MCN_ENOMEM. On
 * error every value is 0. The message never contains data values. One
 * caller per db connection at a time; q may be shared. */
mcn_err mcn_query_local(const mcn_query *q, sqlite3 *db, int64_t *values,
    char *err, size_t errlen) MCN_WUR;

/* Node side with the hospital's disclosure control (node/policy.h):
 * consent_cols (dictionary indexes of the consent columns that apply):
 * only rows holding 'yes' in each take part, in every count, sum, the
 * population and the cohort. min_cell = k (0 or 1: off): the query is
 * refused (MCN_EREFUSED) when it has a WHERE that leaves out between 1
 * and k - 1 of the site's (consenting) population; a block (one output's
 * values in one group) whose denominator - rows, non-missing values,
 * complete cases, histogram or table total, survival rows - is between 1
 * and k - 1 is zeroed and its flag slot set to 1; in histograms and
 * tables a cell between 1 and k - 1 is zeroed and its cell flag set; a
 * survival block with any grid cell (events or censored rows at a point)
 * between 1 and k - 1 is zeroed whole (a Kaplan-Meier curve needs every
 * cell). Flags sum over sites, so the querier learns how many sites
 * suppressed something, not which. With WITH EPSILON, noise_key (32
 * secret bytes) and noise_label seed the deterministic noise shares
 * (crypto/noise.h) added after suppression. With want_cohort, rep
 * receives the cohort (rows matching WHERE and consent) as a bitmap of
 * rowids folded modulo MCN_QUERY_COHORT_BITS, for the differencing rule.
 * rep (may be NULL) gets the population (consenting rows), the cohort
 * size and the number of suppressions; free its bitmap with
 * mcn_query_gov_report_clear. Errors as mcn_query_local, plus
 * MCN_EREFUSED (complement rule). */
#define MCN_QUERY_COHORT_BITS (UINT64_C(1) << 24)
typedef struct mcn_query_gov {
	const int *consent_cols;
	size_t nconsent;
	uint64_t min_cell;
	const uint8_t *noise_key;
	const uint8_t *noise_label;
	size_t noise_labellen;
	int want_cohort;
	/* the consenting population if already known (a node caches it per
	 * data generation and consent set); else it is counted */
	int population_known;
	uint64_t population;
	/* mcn_query_local_release: the site's release parameters, sent in
	 * the control vector (the pooled rule takes the strictest over the
	 * contributors): min_cell (k, above), min_sites (>= 2), and
	 * site_min_cell (0: off): the explicit per-site rule, a veto that
	 * withholds a pooled cell where this site's own count is between 1
	 * and site_min_cell - 1. */
	unsigned min_sites;
	uint64_t site_min_cell;
	/* internal: receives the exact local vector before noise */
	int64_t *exact;
	/* internal: a logistic block's weight cells at the query's
	 * coefficients (3: floor of sum p, sum 1 - p, sum 4 p (1 - p)) */
	int64_t *logit_weight;
} mcn_query_gov;
typedef struct mcn_query_gov_report {
	uint64_t population, cohort, suppressed;
	uint8_t *bitmap;
	size_t nbits;
} mcn_query_gov_report;
mcn_err mcn_query_local_gov(const mcn_query *q, sqlite3 *db,
    const mcn_query_gov *gov, int64_t *values, mcn_query_gov_report *rep,
    char *err, size_t errlen) MCN_WUR;
void mcn_query_gov_report_clear(mcn_query_gov_report *rep);

struct mcn_query_result;

/* ---- release control: the rule on the pooled release ----
 *
 * With secure aggregation nobody sees a site's cell, so disclosure
 * control applies to what is released, and the nodes enforce it
 * (protocols/agg.h, release control). The protocol vector of a query
 * (mcn_query_release_layout) is:
 *   values   one unit per group and block that has sums (the S1/S2 limbs
 *            of mean/var/sd/sum, the cross products of linear/cor, the
 *            logistic sums): released only with its cell
 *   control  params: per k of the ladder mcnq k_ladder "this site's k is
 *            at least it", per m = 2..nsites "this site's min_sites is
 *            at least m" (the pooled rule takes the strictest of the
 *            contributors); then per group, block and cell: its count
 *            has (0/1: this site has rows in the cell) and veto (0/1:
 *            the site's own rule, site_min_cell); survival per
 *            grid point: events, censored, at risk here (0/1).
 * The decision (mcn_query_decide, taken by the nodes from the pooled
 * control): a cell is released when its pooled count is 0 (no site has
 * rows), or at least k from at least min_sites sites with no veto;
 * withheld otherwise, for everyone. In a histogram or table with a
 * withheld cell, the smallest released non-zero cell is withheld too
 * (the block total would give the withheld part away otherwise; then it
 * holds at least k patients of at least min_sites sites). A mean,
 * variance, sum, regression or correlation is released with its cell
 * (n). A Kaplan-Meier curve is released point by point from the start
 * while the pooled number at risk is at least k at that point and after
 * it (or 0 after it) from at least min_sites sites; the group's N with
 * the same rule; the log-rank test is computed by the nodes on the
 * complete pooled data and released when every group with rows is. A
 * chi-square is computed only on a table with no withheld cell.
 * Decision entries: k, m, then per group, block and cell (status, count,
 * sites) - survival: (status, N, sites) per group, then (status, events,
 * censored, sites) per grid point - then per survival block (status,
 * statistic as IEEE bits, df). */
const mcn_agg_layout *mcn_query_release_layout(const mcn_query *q);
/* A copy for the protocol (free with mcn_agg_layout_clear). MCN_ENOMEM. */
mcn_err mcn_query_release_layout_copy(mcn_agg_layout *out,
    const mcn_query *q) MCN_WUR;
/* Node side: out[nvalues + ncontrol of the release layout] (secret), from
 * one scan with the hospital's rules of mcn_query_local_gov (consent,
 * complement, differencing cohort, noise) and its release parameters
 * (gov min_cell, min_sites, site_min_cell). Errors as
 * mcn_query_local_gov. */
mcn_err mcn_query_local_release(const mcn_query *q, sqlite3 *db,
    const mcn_query_gov *gov, int64_t *out, mcn_query_gov_report *rep,
    char *err, size_t errlen) MCN_WUR;
/* The release rule (the body of an mcn_agg_decide_fn for q). MCN_EINVAL
 * if ncontrol or nunits are not q's, MCN_ENOMEM. Deterministic. */
mcn_err mcn_query_decide(const mcn_query *q, const int64_t *control,
    size_t ncontrol, unsigned ncontrib, uint8_t *release, size_t nunits,
    int64_t **decision, size_t *ndecision, char *why, size_t whylen) MCN_WUR;
/* Querier side: the result from the released value sums (vsums[nv],
 * withheld units 0) and the decision. Withheld cells have no value and
 * say why. Errors as mcn_query_result, MCN_ERANGE for a decision that
 * does not fit q. */
mcn_err mcn_query_result_release(struct mcn_query_result **out,
    const mcn_query *q, const mpz_t *vsums, size_t nv, const int64_t *dec,
    size_t ndec, unsigned nsites) MCN_WUR;

/* ---- results (querier side) ---- */

/* Why a cell is withheld (mcn_query_cell suppressed, cell_suppressed; 0:
 * released). */
enum {
	MCNQ_REL_OK = 0,
	MCNQ_REL_BELOW_K,    /* pooled count below k */
	MCNQ_REL_FEW_SITES,  /* fewer than min_sites sites */
	MCNQ_REL_VETO,       /* a site's own rule */
	MCNQ_REL_SECONDARY,  /* would make another withheld cell derivable */
	MCNQ_REL_AT_RISK,    /* survival: too few at risk from here on */
	MCNQ_REL_NOT_TESTED, /* a test on data with withheld parts */
	MCNQ_REL_DP,         /* WITH EPSILON: withheld, reason not released */
	MCNQ_REL_LEVEL,      /* a fit: a level or class below the rule */
	MCNQ_REL_WEIGHT,     /* logistic: the coefficients put the fit's
	                        weight on fewer than k patients */
	MCNQ_REL_MAX
};

/* One group of one output. */
typedef struct mcn_query_cell {
	int64_t n;       /* count(): matching rows; count(x), sum, mean, var,
	                    sd: non-missing values; histogram: non-missing
	                    values (bins + below + above); table: rows with no
	                    missing value in its columns */
	int null;        /* 1: no value (mean: n = 0; var, sd: n < 2) */
	double value;    /* count, count(x), sum, mean, var, sd */
	char *exact;     /* sum: the exact pooled sum as a decimal string */
	int64_t *counts; /* histogram: bins, then below, above; table:
	                    nrows * ncols counts, row-major; else NULL */
	int has_chi2;    /* two-way table with df >= 1 */
	double chi2, chi2_p;
	unsigned chi2_df;
	/* linear (n: complete cases). problem != NULL (and null = 1): no
	 * estimates, e.g. "predictors are collinear", "too few complete
	 * cases". Otherwise per coefficient (output nvars, intercept first):
	 * estimate, standard error, t and two-sided p; r2, adj_r2, sigma
	 * (residual standard error) and the residual df = n - parameters. */
	const char *problem;
	double *coef, *se, *tstat, *pval;
	double r2, adj_r2, sigma;
	int64_t df;
	/* cor (n: complete cases): nvars x nvars, row-major; NaN where a
	 * column has no variance or n < 2 */
	double *cor;
	/* survival (n: rows with time and event): counts = events[npts] then
	 * censored[npts] per grid point; surv, surv_se: the Kaplan-Meier
	 * estimate and its Greenwood standard error just after each grid
	 * point (se NaN once the estimate is 0); median: the first grid time
	 * with S <= 0.5 (has_median); lr_obs, lr_exp: observed and expected
	 * events of the log-rank test */
	double *surv, *surv_se;
	int has_median;
	int64_t median;
	int64_t nevents;
	double lr_obs, lr_exp;
	/* logistic (n: complete cases; coef, se, pval as linear, tstat holds
	 * z = coef / se, p two-sided from the normal; df = n - parameters;
	 * problem != NULL: no estimates, e.g. no convergence): deviance
	 * -2 log-likelihood at coef, null_deviance of the intercept-only
	 * model (NaN if unknown), iterations (aggregations run) */
	double deviance, null_deviance;
	unsigned iterations;
	/* disclosure control: 0 when released, else why this output is
	 * withheld in this group (MCNQ_REL_*; reason: its text); for
	 * histograms and tables per cell (same order as counts; NULL
	 * otherwise); sites: how many sites the released cell covers (0 if
	 * unknown), cell_sites per cell */
	int64_t suppressed;
	int64_t *cell_suppressed;
	const char *reason;
	int64_t sites;
	int64_t *cell_sites;
	/* quantile (n: non-missing values in round 1; iterations: the
	 * aggregations run; null with problem when there is no answer):
	 * value = the quantile when exact, else lower; the quantile lies in
	 * [lower, upper) (is_exact: upper = value + one grid step); p the
	 * probability */
	int is_exact;
	double lower, upper, p;
} mcn_query_cell;

/* One output (aggregate) over all groups. */
typedef struct mcn_query_output {
	char *name; /* AS alias or canonical text */
	mcn_query_agg_kind kind;
	char *column;        /* NULL for count() */
	char *column2;       /* two-way table only */
	unsigned bins;       /* histogram */
	double lo, hi;       /* histogram: bins equal-width on [lo, hi) */
	double *edges;       /* histogram: bins + 1 edges */
	char **rows;         /* table: levels of column (nrows) */
	char **cols;         /* two-way table: levels of column2 (ncols) */
	size_t nrows, ncols; /* one-way table: ncols = 1, cols = NULL */
	char **vars;         /* linear: coefficient names ("(intercept)",
	                          "age", "sex=M"); cor: column names */
	size_t nvars;
	int64_t *grid; /* survival: the npts grid times */
	size_t npts;
	int64_t step;
	int has_logrank; /* survival: >= 2 groups with rows */
	double logrank, logrank_p;
	unsigned logrank_df;
	mcn_query_cell *cells; /* ngroups cells */
} mcn_query_output;

/* A pooled result; self-contained (no pointer into q or its dictionary).
 * Read-only for callers. Named by its struct tag only: C does not allow a
 * typedef and the function mcn_query_result() to share the name. */
struct mcn_query_result {
	unsigned nsites; /* sites whose vectors are in the sums */
	size_t ngroup_cols;
	char **group_cols;   /* GROUP BY column names */
	size_t ngroups;      /* 1 without GROUP BY */
	char **group_levels; /* [g * ngroup_cols + j]: level of column j */
	mcn_query_output *outputs;
	size_t noutputs;
	char **notes; /* plain-text remarks (missing values, ...) */
	size_t nnotes;
	double epsilon; /* WITH EPSILON: every count and sum is noisy; else 0 */
	uint64_t suppressions; /* cells withheld */
	int64_t rel_k, rel_m;  /* the release rule applied (0: not known) */
	struct mcnq_arena *arena_; /* private */
};

/* Querier side: turns the pooled sums (sums[nvalues], the slot-wise sum
 * over nsites site vectors of q's layout) into statistics: recombines
 * limbs exactly, computes count, n, sum, mean, var (exact rational, then
 * double), sd, histograms, tables and the chi-square test of independence
 * for two-way tables; linear (exactly centered normal equations solved
 * by Cholesky in long double; no estimates, with cell->problem, when the
 * predictors are collinear, n <= parameters or parameters > 0.33 n),
 * cor, and survival (Kaplan-Meier, Greenwood, log-rank over the groups
 * with rows, up to 100 of them). MCN_EINVAL if nvalues is not the layout's or nsites
 * is 0 or above the compile limit; MCN_ERANGE if a sum is outside
 * [nsites * lo, nsites * hi] of its slot; MCN_ENOMEM. *out = NULL on
 * error. The result is public (aggregates only). */
mcn_err mcn_query_result(struct mcn_query_result **out, const mcn_query *q,
    const mpz_t *sums, size_t nvalues, unsigned nsites) MCN_WUR;

/* Plain-text tables, one per output (groups as rows), then the notes.
 * Counts and sums exact, statistics %.6g, "NA" for null. */
void mcn_query_result_print(const struct mcn_query_result *r, FILE *f);

/* {"sites": N, "group_by": [...], "results": [{"name", "aggregate",
 * "column", ["column2"], "groups": [{"group": {"col": "level"}, "value":
 * v, "n": n}, ...]}, ...], "notes": [...]}. value is null when undefined;
 * histogram value = {"edges", "counts", "below", "above"}; one-way table
 * value = {"levels", "counts"}; two-way table value = {"rows", "cols",
 * "counts": [[...]], "chi_square": {"statistic", "df", "p_value"} or
 * null}; linear value = {"coefficients": [{"term", "estimate", "se", "t",
 * "p_value"}], "r_squared", "adj_r_squared", "sigma", "df"} or null with
 * "error" beside "n" in the group; cor value = {"columns", "matrix"};
 * survival value = {"points": [{"time", "at_risk", "events", "censored",
 * "survival", "se"}] at the grid points with events or censoring,
 * "events", "censored", "median", and with a test "observed",
 * "expected"}, and the output has "log_rank": {"statistic", "df",
 * "p_value"} or null (and "step" when not 1). Non-finite numbers are
 * null. NULL on allocation failure. Caller owns the reference. */
json_t *mcn_query_result_json(const struct mcn_query_result *r);

void mcn_query_result_free(struct mcn_query_result *r); /* NULL is a no-op */

/* ---- iterative analyses (logistic, quantile) ---- */

/* 1 if q is a logistic(...) or quantile/median query that the querier
 * must run in iterations (mcn_query_fit), else 0 (logistic_step queries
 * are not). */
int mcn_query_is_iterative(const mcn_query *q);

/* Newton-Raphson for logistic regression (see e.g. McCullagh and Nelder,
 * Generalized Linear Models, 2nd ed., 2.5: Fisher scoring, which is
 * Newton's method for the canonical logit link). Start b = 0; per
 * iteration k the network sums n, g, H and the log-likelihood at b_k
 * (one aggregation of mcn_query_fit_text). Stop and report b_k when
 * k >= 2 and |D_k - D_(k-1)| / (|D_k| + 0.1) < 1e-10 (D = deviance, the
 * rule of R's glm.fit with epsilon 1e-10), or when the Newton step
 * H^-1 g has max |delta_j| < 1e-8; otherwise b_(k+1) = b_k + H^-1 g
 * (Cholesky in long double). Standard errors sqrt(diag(H^-1)), z, p and
 * the deviance are those at the reported b_k (the information of the
 * last aggregation, no extra round). Ends with a problem (no estimates)
 * when the first aggregation gives too few complete cases, more
 * parameters than 0.33 n, collinear predictors; when H becomes singular
 * or a coefficient leaves [-1e6, 1e6] (separation); or after
 * MCN_QUERY_FIT_MAX_ITER aggregations without convergence. */
typedef struct mcn_query_fit mcn_query_fit;

/* Quantiles run through the same API: mcn_query_fit_text gives each
 * round's histogram query (see the grammar notes above), update feeds
 * its pooled sums and the result holds one quantile output. A round
 * whose counts contradict the earlier ones (the data changed between
 * rounds) ends the fit with a problem and no value.
 *
 * A fit of the iterative query q (q must outlive it). MCN_EINVAL if q is
 * not iterative, MCN_ENOMEM. */
mcn_err mcn_query_fit_new(mcn_query_fit **out, const mcn_query *q) MCN_WUR;

/* The text of the next step query (owned by f, valid until the next
 * update); NULL once the fit is done. */
const char *mcn_query_fit_text(const mcn_query_fit *f);

/* Feeds the pooled sums of the step query step (compiled from
 * mcn_query_fit_text(f) with the same dictionary and limits) over nsites
 * sites. *done = 1 when the fit has ended (mcn_query_fit_result).
 * MCN_EINVAL if step is not the current step (other coefficients or
 * model), the fit is done, or the sums do not fit the layout;
 * MCN_ERANGE, MCN_ENOMEM as mcn_query_result (the fit is unchanged and
 * the call may be repeated), except that MCN_ENOMEM while writing the
 * next step text leaves the fit usable only for mcn_query_fit_free. */
mcn_err mcn_query_fit_update(mcn_query_fit *f, const mcn_query *step,
    const mpz_t *sums, size_t nvalues, unsigned nsites, int *done) MCN_WUR;

/* As mcn_query_fit_update, from the released value sums and the
 * decision of a query with release control (mcn_query_result_release);
 * a withheld fit ends with the reason. */
mcn_err mcn_query_fit_update_release(mcn_query_fit *f, const mcn_query *step,
    const mpz_t *vsums, size_t nv, const int64_t *dec, size_t ndec,
    unsigned nsites, int *done) MCN_WUR;

/* Aggregations fed so far. */
unsigned mcn_query_fit_iterations(const mcn_query_fit *f);

/* Moves the final result out of a done fit (one logistic or quantile
 * output, see mcn_query_result). MCN_EINVAL if not done. */
mcn_err mcn_query_fit_result(struct mcn_query_result **out,
    mcn_query_fit *f) MCN_WUR;

void mcn_query_fit_free(mcn_query_fit *f); /* NULL is a no-op */

/* ------------------------------------------------------------------ */
/* Internal to node/query*.c (shared between the files of this module;
 * not an API). */
#ifdef MCN_QUERY_INTERNAL

typedef struct mcnq_arena mcnq_arena;
/* Zeroed memory from an arena of mcn_alloc'd chunks (NULL: out of memory;
 * 16-byte aligned). Everything is wiped and freed by mcnq_arena_free. */
void *mcnq_alloc(mcnq_arena **a, size_t size);
char *mcnq_strndup(mcnq_arena **a, const char *s, size_t len);
void mcnq_arena_free(mcnq_arena *a);

/* A growable string of mcn_alloc'd memory; on allocation failure oom is
 * set and further appends are ignored. */
typedef struct mcnq_sbuf {
	char *p;
	size_t len, cap;
	int oom;
} mcnq_sbuf;
void mcnq_sb_add(mcnq_sbuf *b, const char *s, size_t n);
void mcnq_sb_puts(mcnq_sbuf *b, const char *s);
void mcnq_sb_ident(mcnq_sbuf *b, const char *name); /* [name] */
void mcnq_sb_free(mcnq_sbuf *b);

/* snprintf into err (err may be NULL or errlen 0). */
void mcnq_msg(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* An exact decimal mant / 10^scale (trailing fraction zeros stripped). */
typedef struct mcnq_dec {
	int64_t mant;
	unsigned scale;
} mcnq_dec;
/* Writes the canonical text of a decimal ("-12.5", "0", "100"). */
void mcnq_dec_format(char *out, size_t outlen, mcnq_dec v);

typedef struct mcnq_agg {
	mcn_query_agg_kind kind;
	int col, col2;   /* dictionary column indexes, -1 if none */
	mcnq_dec lo, hi; /* histogram */
	unsigned bins;
	int *vars; /* linear: y, then predictors; cor: its columns */
	size_t nvars;
	int64_t step;     /* survival (col: time, col2: event) */
	double *coef;     /* logistic: the coefficients (NULL: 0) */
	size_t ncoef;     /* logistic_step: parameters */
	int is_step;      /* logistic_step(...) */
	mcnq_dec p;       /* quantile: the probability (lo, hi, bins: the
	                     histogram of round 1) */
	int median;       /* quantile written as median(x) */
	int alias;        /* name from AS */
	const char *name; /* output name */
	size_t block;     /* per-group block holding its values */
} mcnq_agg;

typedef enum { MCNQ_P_INT = 1, MCNQ_P_REAL, MCNQ_P_TEXT } mcnq_ptype;
typedef struct mcnq_param { /* a bound WHERE literal */
	mcnq_ptype type;
	int64_t i;
	double d;
	const char *s;
	int slen;
} mcnq_param;

/* A quantity split into nlimbs slots; [lo, hi] is the per-site range of
 * the single slot, or of the top limb (lower limbs: [0, 2^40 - 1]). */
typedef struct mcnq_qty {
	unsigned nlimbs;
	int64_t lo, hi;
} mcnq_qty;

typedef enum {
	MCNQ_B_ROWS = 1,
	MCNQ_B_MOMENTS,
	MCNQ_B_HIST,
	MCNQ_B_TABLE,
	MCNQ_B_CROSS, /* linear, cor */
	MCNQ_B_SURV,
	MCNQ_B_LOGIT /* logistic: terms y, then predictors */
} mcnq_bkind;

typedef struct mcnq_term { /* a column of a cross-product block */
	size_t scol;
	int level;      /* -1: the value X; else 1 if the level index is this */
	int64_t lo, hi; /* range of the term */
	unsigned dec;   /* decimals of X */
} mcnq_term;

typedef struct mcnq_block {
	mcnq_bkind kind;
	size_t agg;         /* the first aggregate that uses it */
	int col, col2;      /* dictionary column indexes (-1: none) */
	size_t scol, scol2; /* positions in the scan's select list */
	size_t off, nslots; /* first slot and slot count within a group */
	/* moments: n, then S1 limbs, then S2 limbs */
	int need_s1, need_s2;
	mcnq_qty s1, s2;
	size_t moment; /* index among moments blocks */
	/* histogram on X' = X * xmul: below lo_s, bins on [lo_s, hi_s) */
	unsigned bins;
	__int128 lo_s, hi_s;
	int64_t xmul;
	/* table: nr x nc (one-way: nc = 1) */
	size_t nr, nc;
	/* cross: terms, the scan columns that must be present, and the
	 * quantities (S_i, then S_ij) with their slot offsets after n */
	mcnq_term *terms;
	size_t nterms;
	size_t *need;
	size_t nneed;
	mcnq_qty *xq;
	size_t *xoff;
	size_t nxq, acc; /* acc: first accumulator within a group */
	/* survival: grid tmin + k step, k < npts */
	int64_t tmin, step;
	size_t npts;
	/* WITH EPSILON: noise scale and per-site share bound of the count
	 * slots (0), of S1 (1) and of S2 (2) */
	double dp_scale[3];
	int64_t dp_bound[3];
} mcnq_block;

typedef struct mcnq_level { /* a categorical level and its index */
	const char *s;
	size_t idx;
} mcnq_level;

typedef struct mcnq_scol { /* a column read by the local scan */
	int col;
	int need_x;         /* read the exact integer X and check its range */
	int64_t xmin, xmax; /* range of X from the dictionary */
	mcnq_level *sorted; /* categorical: levels in strcmp order */
} mcnq_scol;

struct mcn_query {
	mcnq_arena *arena;
	const mcn_dict *dict;
	mcn_query_limits lim;
	mcnq_agg *aggs;
	size_t naggs;
	int gcols[MCN_QUERY_MAX_GROUP_COLS];
	size_t ngcols, ngroups;
	const char *where_sql;  /* NULL: no WHERE */
	const char *where_text; /* the WHERE condition as written, or NULL */
	mcnq_param *params;
	size_t nparams;
	unsigned char *used; /* per dictionary column: referenced */
	size_t nused;
	mcnq_block *blocks;
	size_t nblocks, per_group, nmoments, nxacc;
	mcnq_scol *scols;
	size_t nscols;
	int count_only;        /* scan is SELECT count(*) */
	const char *sql;       /* the scan */
	const char *count_sql; /* SELECT count(*) of the whole table */
	const char *scan_head; /* the scan without its WHERE */
	mcn_agg_layout layout;
	int has_epsilon;   /* WITH EPSILON */
	double epsilon;
	const char *norm;  /* mcn_query_normalized */
	/* release control (query_release.c): the protocol layout - the
	 * value units, then the control (params, then per group, block and
	 * cell its control slots) - and the size of the decision */
	mcn_agg_layout rel;
	size_t nrelparams, ncells, ndec;
	int internal; /* a node's own companion query (mcnq_compile_internal) */
};

/* mcn_query_compile for the node's own companion count queries
 * (query_release.c): internal = 1 skips the refusal of outputs whose
 * cells sum another's, which protects released answers only. */
mcn_err mcnq_compile_internal(mcn_query **out, const char *text,
    const mcn_dict *d, const mcn_query_limits *lim, int internal, char *err,
    size_t errlen);

/* Release control (query_release.c). Builds q->rel from the per-slot
 * ranges plo/phi (q->per_group entries) of the local vector. */
mcn_err mcnq_release_plan(mcn_query *q, const int64_t *plo,
    const int64_t *phi, char *err, size_t errlen);

const char *mcnq_rel_reason(int st, int64_t k, int64_t m, char *buf,
    size_t len);

/* The release as the querier sees it, in the local vector's terms. */
typedef struct mcnq_status {
	int64_t k, m;     /* the rule applied */
	uint8_t *slot;    /* per slot of the local vector: status */
	int64_t *sites;   /* per slot: sites the released cell covers */
	int64_t *survN;   /* per group x block: survival rows N */
	uint8_t *survst;  /* per group x block: status of N */
	double *lr;       /* per block: log-rank statistic (survival) */
	unsigned *lrdf;
	uint8_t *lrst;
	size_t nslots, ngb, nb;
} mcnq_status;
void mcnq_status_free(mcnq_status *st);
/* The pooled local-vector sums (*full, q->layout.nvalues, mcn_alloc'd
 * mpz array) and status from the released value sums and the decision.
 * MCN_EINVAL (sizes), MCN_ERANGE (a decision entry out of range),
 * MCN_ENOMEM. */
mcn_err mcnq_release_unpack(const mcn_query *q, const mpz_t *vsums,
    size_t nv, const int64_t *dec, size_t ndec, unsigned nsites,
    mpz_t **full, mcnq_status *st);
void mcnq_full_free(const mcn_query *q, mpz_t *full);
/* The result builder shared by mcn_query_result (st NULL: everything
 * released) and mcn_query_result_release. */
mcn_err mcnq_result_build(struct mcn_query_result **out, const mcn_query *q,
    const mpz_t *sums, size_t nvalues, unsigned nsites,
    const mcnq_status *st);
/* The log-rank statistic over G groups of np grid points (events ev[g *
 * np + j], censored ce[g * np + j], rows N[g]): 0 and *stat, *df, and
 * the observed and expected events per group (may be NULL); -1 when
 * there is no test (fewer than 2 groups, degenerate variance). */
int mcnq_logrank(const int64_t *ev, const int64_t *ce, const int64_t *N,
    size_t G, size_t np, double *stat, unsigned *df, double *obs,
    double *ex);

/* Builds blocks, bounds, limbs, the layout and the scan SQL of a checked
 * query (query_plan.c). MCN_EQUERY (too many values, range too large),
 * MCN_ENOMEM. */
mcn_err mcnq_plan(mcn_query *q, char *err, size_t errlen);

/* Exact integer encoding bounds of a numeric column: [*xmin, *xmax].
 * MCN_EQUERY (message) if beyond +-2^53. */
mcn_err mcnq_x_range(const mcn_column *c, int64_t *xmin, int64_t *xmax,
    char *err, size_t errlen);

/* Appends the text of q's logistic step query at coefficients b (one per
 * parameter) to sb (query.c). */
void mcnq_step_text(mcnq_sbuf *sb, const mcn_query *q, const double *b);

/* Quantile rounds (query.h, quantile): the most bins of a round; for a
 * range of W >= 1 grid values, *w = ceil(W / MCNQ_QUANT_BINS) grid values
 * per bin and *bins = ceil(W / *w). */
#define MCNQ_QUANT_BINS 100
void mcnq_quant_bins(int64_t W, int64_t *w, unsigned *bins);
/* The exact decimal X / 10^dec with trailing fraction zeros stripped. */
mcnq_dec mcnq_dec_make(int64_t X, unsigned dec);
/* Appends the text of the histogram query of a quantile round of q over
 * [lo, lo + bins w) in grid units (X) to sb (query.c). */
void mcnq_quant_text(mcnq_sbuf *sb, const mcn_query *q, int64_t lo,
    int64_t w, unsigned bins);

/* Parameters of a logistic block: intercept plus predictor terms. */
#define MCNQ_LOGIT_NP(b) ((b)->nterms)
/* Fixed-point scale of the logistic sums. */
#define MCNQ_LOGIT_FRAC 32
#define MCNQ_LOGIT_LLMIN (-35.0L) /* clamp of one row's log-likelihood */

#endif /* MCN_QUERY_INTERNAL */

#endif
