/*
 * node/stats.h - the few distribution functions query results need.
 *
 * Pure functions of their arguments: no allocation, no state, thread-safe
 * except that libm's lgamma may set the global signgam (harmless here).
 */
#ifndef MCN_NODE_STATS_H
#define MCN_NODE_STATS_H

#include <stddef.h>
#include <stdint.h>

#define MCN_STATS_CHI2_MAX_COLS 1000

/* Regularized lower and upper incomplete gamma functions P(a, x) and
 * Q(a, x) = 1 - P(a, x), for a > 0, x >= 0 (NaN otherwise). Relative
 * accuracy about 1e-14 in the tail each one is computed for. */
double mcn_stats_gamma_p(double a, double x);
double mcn_stats_gamma_q(double a, double x);

/* Upper tail of the chi-square distribution with df > 0 degrees of
 * freedom: P(X >= x) = Q(df / 2, x / 2). NaN for invalid arguments. */
double mcn_stats_chi2_sf(double x, double df);

/* Pearson's chi-square test of independence on an nrows x ncols table of
 * counts (row-major, counts >= 0): statistic sum (O - E)^2 / E over the
 * cells with E > 0, df = (r' - 1)(c' - 1) over the r' non-empty rows and
 * c' non-empty columns, p = Q(df / 2, statistic / 2). Returns 1 and fills
 * the outputs if df >= 1, else 0 (outputs untouched; also when ncols >
 * MCN_STATS_CHI2_MAX_COLS). */
int mcn_stats_chi2_indep(const int64_t *counts, size_t nrows, size_t ncols,
    double *stat, unsigned *df, double *p);

/* Regularized incomplete beta function I_x(a, b) for a, b > 0 and
 * 0 <= x <= 1 (NaN otherwise); relative accuracy about 1e-13. */
double mcn_stats_beta_inc(double a, double b, double x);

/* Two-sided p-value of Student's t: P(|T| >= |t|) with df > 0 degrees of
 * freedom, = I_{df / (df + t^2)}(df / 2, 1 / 2). NaN for invalid
 * arguments. */
double mcn_stats_t_p2(double t, double df);

#endif
