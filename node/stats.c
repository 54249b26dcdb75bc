/*
 * node/stats.c - incomplete gamma function and the chi-square test.
 *
 * P(a, x) and Q(a, x) follow Numerical Recipes (Press, Teukolsky,
 * Vetterling, Flannery, "Numerical Recipes in C", 2nd ed., section 6.2,
 * gser/gcf): for x < a + 1 the series
 *     P(a, x) = e^-x x^a / Gamma(a) * sum_n x^n / (a (a+1) ... (a+n)),
 * otherwise the continued fraction for Q(a, x),
 *     Q(a, x) = e^-x x^a / Gamma(a) * 1/(x+1-a- 1(1-a)/(x+3-a- 2(2-a)/...)),
 * evaluated with the modified Lentz method (Lentz 1976; Thompson and
 * Barnett 1986). Each is used on the side where it converges fast and
 * where its result does not suffer cancellation; the other function is
 * 1 minus it. Tolerance is DBL_EPSILON instead of NR's 3e-7.
 *
 * I_x(a, b) follows Numerical Recipes section 6.4 (betai/betacf): the
 * continued fraction
 *     I_x(a, b) = x^a (1-x)^b / (a B(a, b)) * 1/(1+ d1/(1+ d2/(1+ ...)))
 * with d_{2m+1} = -(a+m)(a+b+m) x / ((a+2m)(a+2m+1)) and
 * d_{2m} = m(b-m) x / ((a+2m-1)(a+2m)), evaluated by modified Lentz, used
 * directly for x < (a+1)/(a+b+2) and through I_x(a,b) = 1 - I_{1-x}(b,a)
 * otherwise.
 */
#define _POSIX_C_SOURCE 200809L

#include <float.h>
#include <math.h>

#include "node/stats.h"

#define GAMMA_ITMAX 100000
#define GAMMA_FPMIN (DBL_MIN / DBL_EPSILON)

/* log of the common prefactor e^-x x^a / Gamma(a) */
static double
gamma_logpre(double a, double x)
{
	return -x + a * log(x) - lgamma(a);
}

/* P(a, x) by the series; x < a + 1. */
static double
gamma_series(double a, double x)
{
	double ap = a, del = 1.0 / a, sum = del;

	for (int n = 0; n < GAMMA_ITMAX; n++) {
		ap += 1.0;
		del *= x / ap;
		sum += del;
		if (fabs(del) < fabs(sum) * DBL_EPSILON) {
			break;
		}
	}
	return sum * exp(gamma_logpre(a, x));
}

/* Q(a, x) by the continued fraction; x >= a + 1. */
static double
gamma_cfrac(double a, double x)
{
	double b = x + 1.0 - a, c = 1.0 / GAMMA_FPMIN, d = 1.0 / b, h = d;

	for (int i = 1; i < GAMMA_ITMAX; i++) {
		double an = -i * (i - a), del;
		b += 2.0;
		d = an * d + b;
		if (fabs(d) < GAMMA_FPMIN) {
			d = GAMMA_FPMIN;
		}
		c = b + an / c;
		if (fabs(c) < GAMMA_FPMIN) {
			c = GAMMA_FPMIN;
		}
		d = 1.0 / d;
		del = d * c;
		h *= del;
		if (fabs(del - 1.0) < DBL_EPSILON) {
			break;
		}
	}
	return exp(gamma_logpre(a, x)) * h;
}

double
mcn_stats_gamma_p(double a, double x)
{
	if (!(a > 0) || !(x >= 0) || isinf(a)) {
		return NAN;
	}
	if (x == 0) {
		return 0.0;
	}
	if (isinf(x)) {
		return 1.0;
	}
	if (x < a + 1.0) {
		return gamma_series(a, x);
	}
	return 1.0 - gamma_cfrac(a, x);
}

double
mcn_stats_gamma_q(double a, double x)
{
	if (!(a > 0) || !(x >= 0) || isinf(a)) {
		return NAN;
	}
	if (x == 0) {
		return 1.0;
	}
	if (isinf(x)) {
		return 0.0;
	}
	if (x < a + 1.0) {
		return 1.0 - gamma_series(a, x);
	}
	return gamma_cfrac(a, x);
}

double
mcn_stats_chi2_sf(double x, double df)
{
	if (!(df > 0) || !(x >= 0)) {
		return NAN;
	}
	return mcn_stats_gamma_q(df / 2.0, x / 2.0);
}

int
mcn_stats_chi2_indep(const int64_t *counts, size_t nrows, size_t ncols,
    double *stat, unsigned *df, double *p)
{
	long double csum[MCN_STATS_CHI2_MAX_COLS];
	long double total = 0, x2 = 0;
	size_t rne = 0, cne = 0;

	if (ncols > MCN_STATS_CHI2_MAX_COLS) {
		return 0;
	}
	for (size_t j = 0; j < ncols; j++) {
		csum[j] = 0;
		for (size_t i = 0; i < nrows; i++) {
			csum[j] += (long double)counts[i * ncols + j];
		}
		cne += csum[j] > 0;
		total += csum[j];
	}
	for (size_t i = 0; i < nrows; i++) {
		long double r = 0;
		for (size_t j = 0; j < ncols; j++) {
			r += (long double)counts[i * ncols + j];
		}
		rne += r > 0;
	}
	if (rne < 2 || cne < 2 || total <= 0) {
		return 0;
	}
	for (size_t i = 0; i < nrows; i++) {
		long double r = 0;
		for (size_t j = 0; j < ncols; j++) {
			r += (long double)counts[i * ncols + j];
		}
		for (size_t j = 0; j < ncols && r > 0; j++) {
			long double e = r * csum[j] / total, o;
			if (e > 0) {
				o = (long double)counts[i * ncols + j];
				x2 += (o - e) * (o - e) / e;
			}
		}
	}
	*stat = (double)x2;
	*df = (unsigned)((rne - 1) * (cne - 1));
	*p = mcn_stats_chi2_sf(*stat, (double)*df);
	return 1;
}

/* The continued fraction of I_x(a, b) (without its prefactor). */
static double
beta_cfrac(double a, double b, double x)
{
	double qab = a + b, qap = a + 1.0, qam = a - 1.0;
	double c = 1.0, d = 1.0 - qab * x / qap, h;

	if (fabs(d) < GAMMA_FPMIN) {
		d = GAMMA_FPMIN;
	}
	d = 1.0 / d;
	h = d;
	for (int m = 1; m < GAMMA_ITMAX; m++) {
		int m2 = 2 * m;
		double aa = m * (b - m) * x / ((qam + m2) * (a + m2)), del;
		d = 1.0 + aa * d;
		if (fabs(d) < GAMMA_FPMIN) {
			d = GAMMA_FPMIN;
		}
		c = 1.0 + aa / c;
		if (fabs(c) < GAMMA_FPMIN) {
			c = GAMMA_FPMIN;
		}
		d = 1.0 / d;
		h *= d * c;
		aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
		d = 1.0 + aa * d;
		if (fabs(d) < GAMMA_FPMIN) {
			d = GAMMA_FPMIN;
		}
		c = 1.0 + aa / c;
		if (fabs(c) < GAMMA_FPMIN) {
			c = GAMMA_FPMIN;
		}
		d = 1.0 / d;
		del = d * c;
		h *= del;
		if (fabs(del - 1.0) < DBL_EPSILON) {
			break;
		}
	}
	return h;
}

double
mcn_stats_beta_inc(double a, double b, double x)
{
	double lbt;

	if (!(a > 0) || !(b > 0) || !(x >= 0 && x <= 1) || isinf(a) ||
	    isinf(b)) {
		return NAN;
	}
	if (x == 0 || x == 1) {
		return x;
	}
	lbt =
	    lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
	if (x < (a + 1.0) / (a + b + 2.0)) {
		return exp(lbt) * beta_cfrac(a, b, x) / a;
	}
	return 1.0 - exp(lbt) * beta_cfrac(b, a, 1.0 - x) / b;
}

double
mcn_stats_t_p2(double t, double df)
{
	if (!(df > 0) || isnan(t)) {
		return NAN;
	}
	if (isinf(t)) {
		return 0.0;
	}
	return mcn_stats_beta_inc(df / 2.0, 0.5, df / (df + t * t));
}
