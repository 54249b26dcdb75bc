/*
 * node/query_result.c - from the pooled sums of a query's vector to
 * statistics, and their text and JSON forms.
 *
 * Limbs are recombined exactly in GMP (V = sum_i L_i 2^(40 i)). From the
 * exact pooled n, S1 = sum X and S2 = sum X^2 (X = x * 10^d):
 *   sum  = S1 / 10^d
 *   mean = S1 / (n 10^d)
 *   var  = (n S2 - S1^2) / (n (n - 1) 10^(2d))
 * are formed as exact rationals and rounded to double once (mpq_get_d), so
 * there is no cancellation in the variance: it agrees with a two-pass
 * computation on the pooled data to double precision.
 *
 * Logistic regression is fitted here too (mcn_query_fit): each step's
 * pooled gradient, information and log-likelihood (fixed point, 2^-32)
 * give the Newton update; the caller runs one aggregation per step.
 */
#define _POSIX_C_SOURCE 200809L
#define MCN_QUERY_INTERNAL

#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/mem.h"
#include "node/query.h"
#include "node/stats.h"

static void
recombine(mpz_t out, const mpz_t *s, const mcnq_qty *qt)
{
	mpz_set_ui(out, 0);
	for (unsigned i = qt->nlimbs; i-- > 0;) {
		mpz_mul_2exp(out, out, MCN_QUERY_LIMB_BITS);
		mpz_add(out, out, s[i]);
	}
}

/* num / den rounded to a double (den > 0). */
static double
ratio(const mpz_t num, const mpz_t den)
{
	mpq_t r;
	double v;

	mpq_init(r);
	mpq_set_num(r, num);
	mpq_set_den(r, den);
	mpq_canonicalize(r);
	v = mpq_get_d(r);
	mpq_clear(r);
	return v;
}

/* The exact decimal text of v / 10^d, in the arena. */
static char *
exact_text(mcnq_arena **a, const mpz_t v, unsigned d)
{
	size_t n = mpz_sizeinbase(v, 10) + 2;
	char *digits = mcnq_alloc(a, n + d + 2), *out;
	size_t len, k = 0;
	int neg = mpz_sgn(v) < 0;

	if (digits == NULL) {
		return NULL;
	}
	mpz_get_str(digits, 10, v);
	if (neg) {
		memmove(digits, digits + 1, strlen(digits));
	}
	len = strlen(digits);
	out = mcnq_alloc(a, len + d + 4);
	if (out == NULL) {
		return NULL;
	}
	if (neg) {
		out[k++] = '-';
	}
	if (d == 0) {
		memcpy(out + k, digits, len + 1);
		return out;
	}
	if (len <= d) {
		out[k++] = '0';
		out[k++] = '.';
		for (size_t i = len; i < d; i++) {
			out[k++] = '0';
		}
		memcpy(out + k, digits, len + 1);
		return out;
	}
	memcpy(out + k, digits, len - d);
	k += len - d;
	out[k++] = '.';
	memcpy(out + k, digits + len - d, d + 1);
	return out;
}

static char *
dup(mcnq_arena **a, const char *s)
{
	return mcnq_strndup(a, s, strlen(s));
}

static double
dec_value(mcnq_dec v)
{
	long double x = (long double)v.mant;

	for (unsigned i = 0; i < v.scale; i++) {
		x /= 10;
	}
	return (double)x;
}

#define NOTES_CAP 16 /* notes of a result, at most */

static int
add_note(struct mcn_query_result *r, size_t cap, const char *text)
{
	if (r->nnotes >= cap) {
		return 0;
	}
	r->notes[r->nnotes] = dup(&r->arena_, text);
	return r->notes[r->nnotes++] != NULL;
}

/* ---------------------------------------------------------------- */
/* analyses: linear, cor, survival */

#define COLLINEAR_TOL 1e-10L /* Cholesky pivot / diagonal */
#define LOGRANK_MAX_GROUPS 100

/* Index of S_ij (i <= j) among a cross block's quantities. */
static size_t
tri(size_t nt, size_t i, size_t j)
{
	return nt + i * (2 * nt - i + 1) / 2 + (j - i);
}

/* Cholesky factorization A = L L' of the m x m symmetric matrix a
 * (row-major; the lower triangle is overwritten by L). 0 if a pivot falls
 * to COLLINEAR_TOL of its diagonal or below (singular in practice). */
static int
cholesky(long double *a, size_t m)
{
	for (size_t j = 0; j < m; j++) {
		long double dj = a[j * m + j], s = dj;
		for (size_t k = 0; k < j; k++) {
			s -= a[j * m + k] * a[j * m + k];
		}
		if (!(dj > 0) || !(s > COLLINEAR_TOL * dj)) {
			return 0;
		}
		a[j * m + j] = sqrtl(s);
		for (size_t i = j + 1; i < m; i++) {
			long double t = a[i * m + j];
			for (size_t k = 0; k < j; k++) {
				t -= a[i * m + k] * a[j * m + k];
			}
			a[i * m + j] = t / a[j * m + j];
		}
	}
	return 1;
}

/* inv = A^-1 from the Cholesky factor l of A (m x m, row-major). */
static void
chol_inverse(long double *inv, const long double *l, size_t m)
{
	for (size_t c = 0; c < m; c++) {
		long double *x = inv + c * m;    /* column c, stored as a row */
		for (size_t i = 0; i < m; i++) { /* L y = e_c */
			long double t = i == c ? 1.0L : 0.0L;
			for (size_t k = 0; k < i; k++) {
				t -= l[i * m + k] * x[k];
			}
			x[i] = t / l[i * m + i];
		}
		for (size_t i = m; i-- > 0;) { /* L' x = y */
			long double t = x[i];
			for (size_t k = i + 1; k < m; k++) {
				t -= l[k * m + i] * x[k];
			}
			x[i] = t / l[i * m + i];
		}
	}
}

/* The exact pooled S_i and S_ij of a cross block (recombined limbs). */
static mpz_t *
cross_load(const mcnq_block *b, const mpz_t *s)
{
	mpz_t *S = mcn_alloc(b->nxq * sizeof(*S));

	if (S == NULL) {
		return NULL;
	}
	for (size_t x = 0; x < b->nxq; x++) {
		mpz_init(S[x]);
		recombine(S[x], s + b->xoff[x], &b->xq[x]);
	}
	return S;
}

static void
cross_free(mpz_t *S, size_t n)
{
	if (S == NULL) {
		return;
	}
	for (size_t x = 0; x < n; x++) {
		mpz_clear(S[x]);
	}
	mcn_free(S, n * sizeof(*S));
}

/* n S_ij - S_i S_j as a double (exact integer, rounded once). */
static double
cross_centered(mpz_t t, const mpz_t *S, size_t nt, int64_t n, size_t i,
    size_t j)
{
	mpz_mul_si(t, S[tri(nt, i < j ? i : j, i < j ? j : i)], n);
	mpz_submul(t, S[i], S[j]);
	return mpz_get_d(t);
}

static double *
dvec(mcnq_arena **a, size_t n)
{
	return mcnq_alloc(a, (n ? n : 1) * sizeof(double));
}

/* OLS from the complete-case sums, centered exactly: with
 * C_ij = (n S_ij - S_i S_j) / (n 10^(d_i + d_j)) (centered cross products
 * in the data's units) and means m_i, the slopes solve C_xx b = C_xy
 * (Cholesky), b_0 = m_y - b'm_x, RSS = C_yy - b'C_xy, s^2 = RSS / (n - k),
 * Var(b) = s^2 C_xx^-1, Var(b_0) = s^2 (1/n + m_x' C_xx^-1 m_x). */
static mcn_err
fill_linear(struct mcn_query_result *r, const mcnq_block *b, mcn_query_cell *c,
    const mpz_t *s)
{
	const size_t nt = b->nterms, p = nt - 1, k = nt;
	int64_t n = c->n = mpz_get_si(s[0]);
	long double *A = NULL, *Ai = NULL,
	            m[MCN_QUERY_MAX_PREDICTORS + 1] = { 0 };
	long double cxy[MCN_QUERY_MAX_PREDICTORS + 1] = { 0 }, cyy, rss;
	long double beta[MCN_QUERY_MAX_PREDICTORS + 1] = { 0 };
	size_t asz = p * p * sizeof(long double);
	mpz_t *S = NULL, t, den;
	mcn_err rv = MCN_ENOMEM;

	c->null = 1;
	if (n <= (int64_t)k) {
		c->problem = "too few complete cases";
		return MCN_OK;
	}
	if ((double)k > 0.33 * (double)n) {
		c->problem = "too many parameters for the number of complete "
		             "cases (at most 0.33 n, DataSHIELD's rule)";
		return MCN_OK;
	}
	c->coef = dvec(&r->arena_, k);
	c->se = dvec(&r->arena_, k);
	c->tstat = dvec(&r->arena_, k);
	c->pval = dvec(&r->arena_, k);
	A = mcn_alloc(asz);
	Ai = mcn_alloc(asz);
	S = cross_load(b, s);
	mpz_inits(t, den, NULL);
	if (c->coef == NULL || c->se == NULL || c->tstat == NULL ||
	    c->pval == NULL || A == NULL || Ai == NULL || S == NULL) {
		goto out;
	}
	for (size_t i = 0; i < nt; i++) {
		mpz_ui_pow_ui(den, 10, b->terms[i].dec);
		mpz_mul_si(den, den, n);
		m[i] = (long double)ratio(S[i], den);
	}
	/* centered products scaled to data units */
#define CSCALE(i, j)                                         \
	(cross_centered(t, S, nt, n, (i), (j)) / (double)n / \
	    pow(10.0, (double)(b->terms[i].dec + b->terms[j].dec)))
	cyy = CSCALE(0, 0);
	for (size_t i = 1; i < nt; i++) {
		cxy[i - 1] = CSCALE(i, 0);
		for (size_t j = 1; j < nt; j++) {
			A[(i - 1) * p + (j - 1)] = CSCALE(i, j);
		}
	}
#undef CSCALE
	if (!cholesky(A, p)) {
		c->problem = "predictors are collinear";
		rv = MCN_OK;
		goto out;
	}
	chol_inverse(Ai, A, p);
	rss = cyy;
	long double b0 = m[0], v0 = 0;
	for (size_t i = 0; i < p; i++) {
		beta[i] = 0;
		for (size_t j = 0; j < p; j++) {
			beta[i] += Ai[i * p + j] * cxy[j];
		}
		rss -= beta[i] * cxy[i];
		b0 -= beta[i] * m[i + 1];
		for (size_t j = 0; j < p; j++) {
			v0 += m[i + 1] * Ai[i * p + j] * m[j + 1];
		}
	}
	if (rss < 0) {
		rss = 0;
	}
	c->df = n - (int64_t)k;
	long double s2 = rss / (long double)c->df;
	c->null = 0;
	c->sigma = (double)sqrtl(s2);
	c->r2 = cyy > 0 ? (double)(1 - rss / cyy) : NAN;
	c->adj_r2 = cyy > 0 ?
	    (double)(1 -
	        (rss / (long double)c->df) / (cyy / (long double)(n - 1))) :
	    NAN;
	c->coef[0] = (double)b0;
	c->se[0] = (double)sqrtl(s2 * (1.0L / (long double)n + v0));
	for (size_t i = 0; i < p; i++) {
		c->coef[i + 1] = (double)beta[i];
		c->se[i + 1] = (double)sqrtl(s2 * Ai[i * p + i]);
	}
	for (size_t i = 0; i < k; i++) {
		c->tstat[i] = c->se[i] > 0 ? c->coef[i] / c->se[i] : NAN;
		c->pval[i] = mcn_stats_t_p2(c->tstat[i], (double)c->df);
	}
	rv = MCN_OK;
out:
	mpz_clears(t, den, NULL);
	cross_free(S, b->nxq);
	mcn_free(A, asz);
	mcn_free(Ai, asz);
	return rv;
}

/* The pooled logistic sums of block b at s: n, then g[np], H[np x np]
 * (full, row-major), *ll, in units (fixed point / 2^32). */
static void
logit_load(const mcnq_block *b, const mpz_t *s, int64_t *n, long double *g,
    long double *H, long double *ll)
{
	const size_t np = MCNQ_LOGIT_NP(b);
	size_t k = 0;
	mpz_t t;

	mpz_init(t);
	*n = mpz_get_si(s[0]);
#define LOAD()                                         \
	(recombine(t, s + b->xoff[k], &b->xq[k]), k++, \
	    ldexpl((long double)mpz_get_d(t), -MCNQ_LOGIT_FRAC))
	for (size_t j = 0; j < np; j++) {
		g[j] = LOAD();
	}
	for (size_t i = 0; i < np; i++) {
		for (size_t j = i; j < np; j++) {
			H[i * np + j] = H[j * np + i] = LOAD();
		}
	}
	*ll = LOAD();
#undef LOAD
	mpz_clear(t);
}

/* Two-sided normal p-value of z: erfc(|z| / sqrt 2). */
static double
normal_p2(double z)
{
	return isfinite(z) ? erfc(fabs(z) / sqrt(2.0)) : NAN;
}

/* One logistic step: estimates are the step's coefficients, standard
 * errors sqrt(diag(H^-1)) from the information at them, z, p (normal),
 * the deviance -2 ll; a problem when n <= parameters, parameters > 0.33
 * n or H is singular. */
static mcn_err
fill_logistic(struct mcn_query_result *r, const mcnq_agg *a,
    const mcnq_block *b, mcn_query_cell *c, const mpz_t *s)
{
	const size_t np = MCNQ_LOGIT_NP(b);
	size_t asz = np * np * sizeof(long double);
	long double g[MCN_QUERY_MAX_PREDICTORS + 1], ll;
	long double *H = mcn_alloc(asz), *Hi = mcn_alloc(asz);
	int64_t n;
	mcn_err rv = MCN_ENOMEM;

	c->null = 1;
	c->null_deviance = NAN;
	c->iterations = 1;
	if (H == NULL || Hi == NULL) {
		goto out;
	}
	logit_load(b, s, &n, g, H, &ll);
	c->n = n;
	c->deviance = (double)(-2 * ll);
	rv = MCN_OK;
	if (n <= (int64_t)np) {
		c->problem = "too few complete cases";
		goto out;
	}
	if ((double)np > 0.33 * (double)n) {
		c->problem = "too many parameters for the number of complete "
		             "cases (at most 0.33 n, DataSHIELD's rule)";
		goto out;
	}
	if (!cholesky(H, np)) {
		c->problem = "predictors are collinear or the information "
		             "matrix is singular";
		goto out;
	}
	chol_inverse(Hi, H, np);
	rv = MCN_ENOMEM;
	c->coef = dvec(&r->arena_, np);
	c->se = dvec(&r->arena_, np);
	c->tstat = dvec(&r->arena_, np);
	c->pval = dvec(&r->arena_, np);
	if (c->coef == NULL || c->se == NULL || c->tstat == NULL ||
	    c->pval == NULL) {
		goto out;
	}
	for (size_t j = 0; j < np; j++) {
		c->coef[j] = a->coef != NULL ? a->coef[j] : 0.0;
		c->se[j] = (double)sqrtl(Hi[j * np + j]);
		c->tstat[j] = c->se[j] > 0 ? c->coef[j] / c->se[j] : NAN;
		c->pval[j] = normal_p2(c->tstat[j]);
	}
	c->df = n - (int64_t)np;
	c->null = 0;
	rv = MCN_OK;
out:
	mcn_free(H, asz);
	mcn_free(Hi, asz);
	return rv;
}

/* Pearson r_ij = N_ij / sqrt(N_ii N_jj), N_ij = n S_ij - S_i S_j exact. */
static mcn_err
fill_cor(struct mcn_query_result *r, const mcnq_block *b, mcn_query_cell *c,
    const mpz_t *s)
{
	const size_t nt = b->nterms;
	int64_t n = c->n = mpz_get_si(s[0]);
	double dg[MCN_QUERY_MAX_COR] = { 0 };
	mpz_t *S = NULL, t;
	mcn_err rv = MCN_ENOMEM;

	c->cor = dvec(&r->arena_, nt * nt);
	if (c->cor == NULL || (S = cross_load(b, s)) == NULL) {
		return MCN_ENOMEM;
	}
	mpz_init(t);
	for (size_t i = 0; i < nt; i++) {
		dg[i] = cross_centered(t, S, nt, n, i, i);
	}
	for (size_t i = 0; i < nt; i++) {
		for (size_t j = 0; j < nt; j++) {
			double v = NAN;
			if (n >= 2 && dg[i] > 0 && dg[j] > 0) {
				v = i == j ? 1.0 :
				             cross_centered(t, S, nt, n, i, j) /
				        (sqrt(dg[i]) * sqrt(dg[j]));
			}
			c->cor[i * nt + j] = v;
		}
	}
	rv = MCN_OK;
	mpz_clear(t);
	cross_free(S, b->nxq);
	return rv;
}

/* Kaplan-Meier (Kaplan and Meier 1958) with Greenwood's variance
 * (Greenwood 1926): at grid point j with n_j at risk (N minus everything
 * that happened at earlier points; events count before censoring at the
 * same time) and d_j events, S *= 1 - d_j / n_j and
 * V += d_j / (n_j (n_j - d_j)); se = S sqrt(V). */
static mcn_err fill_survival_rel(struct mcn_query_result *r,
    const mcnq_block *b, const mcn_query_output *o, mcn_query_cell *c,
    const mpz_t *s, int64_t N, const uint8_t *ss);

/* A survival cell with every point released: N is the sum of the cells. */
static mcn_err
fill_survival(struct mcn_query_result *r, const mcnq_block *b,
    const mcn_query_output *o, mcn_query_cell *c, const mpz_t *s)
{
	int64_t N = 0;

	for (size_t i = 0; i < 2 * b->npts; i++) {
		N += mpz_get_si(s[i]);
	}
	return fill_survival_rel(r, b, o, c, s, N, NULL);
}

/* The log-rank test (Mantel 1966; Peto and Peto 1972) across the groups
 * of a survival output that have rows: at each grid point with D events
 * among N at risk, group g expects D n_g / N events, and the covariance of
 * the observed counts is V_gh = D (N - D) / (N - 1) * n_g / N *
 * (delta_gh - n_h / N). Statistic (O - E)' V^-1 (O - E) over all groups
 * but the last, df = groups - 1. */
int
mcnq_logrank(const int64_t *ev, const int64_t *ce, const int64_t *N0,
    size_t G, size_t np, double *stat, unsigned *df, double *obs, double *exv)
{
	int64_t at[LOGRANK_MAX_GROUPS];
	long double *V = NULL, z[LOGRANK_MAX_GROUPS], x, ex[LOGRANK_MAX_GROUPS];
	size_t m, vsz;
	int rc = -1;

	if (G < 2 || G > LOGRANK_MAX_GROUPS) {
		return -1;
	}
	m = G - 1;
	vsz = m * m * sizeof(*V);
	if ((V = mcn_zalloc(vsz)) == NULL) {
		return -1;
	}
	for (size_t g = 0; g < G; g++) {
		at[g] = N0[g];
		ex[g] = 0;
	}
	for (size_t j = 0; j < np; j++) {
		int64_t D = 0, N = 0;
		for (size_t g = 0; g < G; g++) {
			D += ev[g * np + j];
			N += at[g];
		}
		if (D > 0) {
			long double f = N > 1 ? (long double)D *
			        (long double)(N - D) / (long double)(N - 1) :
			                        0;
			for (size_t g = 0; g < G; g++) {
				long double pg = (long double)at[g] / N;
				ex[g] += (long double)D * pg;
				for (size_t h = 0; g < m && h < m; h++) {
					long double ph = (long double)at[h] / N;
					V[g * m + h] += f * pg *
					    ((g == h ? 1.0L : 0.0L) - ph);
				}
			}
		}
		for (size_t g = 0; g < G; g++) {
			at[g] -= ev[g * np + j] + ce[g * np + j];
		}
	}
	for (size_t g = 0; g < G; g++) {
		long double o = 0;
		for (size_t j = 0; j < np; j++) {
			o += (long double)ev[g * np + j];
		}
		if (obs != NULL) {
			obs[g] = (double)o;
		}
		if (exv != NULL) {
			exv[g] = (double)ex[g];
		}
		z[g] = o - ex[g];
	}
	if (cholesky(V, m)) {
		/* x = z' V^-1 z = |L^-1 z|^2 */
		x = 0;
		for (size_t i = 0; i < m; i++) {
			long double t = z[i];
			for (size_t k = 0; k < i; k++) {
				t -= V[i * m + k] * z[k];
			}
			z[i] = t / V[i * m + i];
			x += z[i] * z[i];
		}
		*stat = (double)x;
		*df = (unsigned)m;
		rc = 0;
	}
	mcn_free(V, vsz);
	return rc;
}

/* The log-rank test (Mantel 1966; Peto and Peto 1972) across the groups
 * of a survival output that have rows: at each grid point with D events
 * among N at risk, group g expects D n_g / N events, and the covariance of
 * the observed counts is V_gh = D (N - D) / (N - 1) * n_g / N *
 * (delta_gh - n_h / N). Statistic (O - E)' V^-1 (O - E) over all groups
 * but the last, df = groups - 1 (mcnq_logrank). */
static mcn_err
logrank(mcn_query_output *o, size_t ngroups)
{
	size_t gi[LOGRANK_MAX_GROUPS], G = 0;
	const size_t np = o->npts;
	int64_t N[LOGRANK_MAX_GROUPS], *ev, *ce;
	double obs[LOGRANK_MAX_GROUPS], ex[LOGRANK_MAX_GROUPS], stat = 0;
	unsigned df = 0;

	for (size_t g = 0; g < ngroups; g++) {
		if (o->cells[g].n > 0) {
			if (G == LOGRANK_MAX_GROUPS) {
				return MCN_OK; /* not computed */
			}
			gi[G] = g;
			N[G++] = o->cells[g].n;
		}
	}
	if (G < 2) {
		return MCN_OK;
	}
	ev = mcn_alloc(G * np * sizeof(*ev));
	ce = mcn_alloc(G * np * sizeof(*ce));
	if (ev == NULL || ce == NULL) {
		mcn_free(ev, G * np * sizeof(*ev));
		mcn_free(ce, G * np * sizeof(*ce));
		return MCN_ENOMEM;
	}
	for (size_t g = 0; g < G; g++) {
		const mcn_query_cell *c = &o->cells[gi[g]];
		memcpy(ev + g * np, c->counts, np * sizeof(*ev));
		memcpy(ce + g * np, c->counts + np, np * sizeof(*ce));
	}
	int rc = mcnq_logrank(ev, ce, N, G, np, &stat, &df, obs, ex);
	for (size_t g = 0; g < G; g++) {
		o->cells[gi[g]].lr_obs = obs[g];
		o->cells[gi[g]].lr_exp = ex[g];
	}
	if (rc == 0) {
		o->has_logrank = 1;
		o->logrank = stat;
		o->logrank_df = df;
		o->logrank_p = mcn_stats_chi2_sf(stat, (double)df);
	}
	mcn_free(ev, G * np * sizeof(*ev));
	mcn_free(ce, G * np * sizeof(*ce));
	return MCN_OK;
}

/* Names and grid of an analysis output. */
static mcn_err
fill_analysis_output(struct mcn_query_result *r, const mcn_query *q,
    const mcnq_agg *a, mcn_query_output *o)
{
	const mcn_dict *d = q->dict;
	const mcnq_block *b = &q->blocks[a->block];
	char buf[MCN_DICT_NAME_MAX + MCN_DICT_LEVEL_MAX + 8];

	if (a->kind == MCN_QUERY_SURVIVAL) {
		o->npts = b->npts;
		o->step = b->step;
		o->grid = mcnq_alloc(&r->arena_, b->npts * sizeof(*o->grid));
		if (o->grid == NULL) {
			return MCN_ENOMEM;
		}
		for (size_t j = 0; j < b->npts; j++) {
			o->grid[j] = b->tmin + (int64_t)j * b->step;
		}
		return MCN_OK;
	}
	if ((a->kind == MCN_QUERY_LINEAR || a->kind == MCN_QUERY_LOGISTIC) &&
	    (o->column = dup(&r->arena_, d->cols[a->vars[0]].name)) == NULL) {
		return MCN_ENOMEM;
	}
	o->nvars = b->nterms;
	o->vars = mcnq_alloc(&r->arena_, o->nvars * sizeof(char *));
	if (o->vars == NULL) {
		return MCN_ENOMEM;
	}
	for (size_t i = 0; i < b->nterms; i++) {
		const mcnq_term *tm = &b->terms[i];
		const mcn_column *c = &d->cols[q->scols[tm->scol].col];
		if ((a->kind == MCN_QUERY_LINEAR ||
		        a->kind == MCN_QUERY_LOGISTIC) &&
		    i == 0) {
			snprintf(buf, sizeof(buf), "(intercept)");
		} else if (tm->level >= 0) {
			snprintf(buf, sizeof(buf), "%s=%s", c->name,
			    c->levels[tm->level]);
		} else {
			snprintf(buf, sizeof(buf), "%s", c->name);
		}
		if ((o->vars[i] = dup(&r->arena_, buf)) == NULL) {
			return MCN_ENOMEM;
		}
	}
	return MCN_OK;
}

/* Fills one cell of output o for group g. */
static mcn_err
fill_cell(struct mcn_query_result *r, const mcn_query *q, const mcnq_agg *a,
    mcn_query_output *o, mcn_query_cell *c, const mpz_t *s, mpz_t t1, mpz_t t2,
    mpz_t t3)
{
	const mcnq_block *b = &q->blocks[a->block];
	const mcn_column *col = a->col >= 0 ? &q->dict->cols[a->col] : NULL;
	unsigned d =
	    col != NULL && col->type == MCN_COL_REAL ? col->decimals : 0;
	int64_t n = 0;

	switch (a->kind) {
	case MCN_QUERY_COUNT:
	case MCN_QUERY_COUNT_X:
		c->n = mpz_get_si(s[0]);
		c->value = (double)c->n;
		return MCN_OK;
	case MCN_QUERY_SUM:
	case MCN_QUERY_MEAN:
	case MCN_QUERY_VAR:
	case MCN_QUERY_SD:
		n = c->n = mpz_get_si(s[0]);
		recombine(t1, s + 1, &b->s1); /* S1 */
		mpz_ui_pow_ui(t3, 10, d);
		if (a->kind == MCN_QUERY_SUM) {
			c->value = ratio(t1, t3);
			c->exact = exact_text(&r->arena_, t1, d);
			return c->exact == NULL ? MCN_ENOMEM : MCN_OK;
		}
		if (a->kind == MCN_QUERY_MEAN) {
			if (n == 0) {
				c->null = 1;
				return MCN_OK;
			}
			mpz_mul_si(t3, t3, n);
			c->value = ratio(t1, t3);
			return MCN_OK;
		}
		if (n < 2) {
			c->null = 1;
			return MCN_OK;
		}
		recombine(t2, s + 1 + b->s1.nlimbs, &b->s2); /* S2 */
		mpz_mul_si(t2, t2, n);
		mpz_submul(t2, t1, t1); /* n S2 - S1^2 >= 0 (unless noisy) */
		if (mpz_sgn(t2) < 0) {
			mpz_set_ui(t2, 0);
		}
		mpz_mul(t3, t3, t3);    /* 10^2d */
		mpz_mul_si(t3, t3, n);
		mpz_mul_si(t3, t3, n - 1);
		c->value = ratio(t2, t3);
		if (a->kind == MCN_QUERY_SD) {
			c->value = sqrt(c->value);
		}
		return MCN_OK;
	case MCN_QUERY_HISTOGRAM:
	case MCN_QUERY_QUANTILE:
	case MCN_QUERY_TABLE: {
		size_t k = b->nslots;
		c->counts = mcnq_alloc(&r->arena_, k * sizeof(*c->counts));
		if (c->counts == NULL) {
			return MCN_ENOMEM;
		}
		for (size_t i = 0; i < k; i++) {
			c->counts[i] = mpz_get_si(s[i]);
			c->n += c->counts[i];
		}
		c->value = (double)c->n;
		if (a->kind == MCN_QUERY_QUANTILE) {
			/* the first round only: mcn_query_fit gives the
			 * quantile */
			c->null = 1;
			c->value = NAN;
			c->lower = c->upper = NAN;
			c->p = dec_value(a->p);
		}
		if (a->kind == MCN_QUERY_TABLE && a->col2 >= 0) {
			c->has_chi2 = mcn_stats_chi2_indep(c->counts, o->nrows,
			    o->ncols, &c->chi2, &c->chi2_df, &c->chi2_p);
		}
		return MCN_OK;
	}
	case MCN_QUERY_LINEAR: return fill_linear(r, b, c, s);
	case MCN_QUERY_COR: return fill_cor(r, b, c, s);
	case MCN_QUERY_SURVIVAL: return fill_survival(r, b, o, c, s);
	case MCN_QUERY_LOGISTIC: return fill_logistic(r, a, b, c, s);
	}
	return MCN_EINVAL;
}

static mcn_err
fill_output(struct mcn_query_result *r, const mcn_query *q, const mcnq_agg *a,
    mcn_query_output *o)
{
	const mcn_dict *d = q->dict;

	o->name = dup(&r->arena_, a->name);
	o->kind = a->kind;
	if (o->name == NULL) {
		return MCN_ENOMEM;
	}
	if (a->col >= 0 &&
	    (o->column = dup(&r->arena_, d->cols[a->col].name)) == NULL) {
		return MCN_ENOMEM;
	}
	if (a->col2 >= 0 &&
	    (o->column2 = dup(&r->arena_, d->cols[a->col2].name)) == NULL) {
		return MCN_ENOMEM;
	}
	if (a->kind == MCN_QUERY_HISTOGRAM || a->kind == MCN_QUERY_QUANTILE) {
		long double lo = dec_value(a->lo), hi = dec_value(a->hi);
		o->bins = a->bins;
		o->lo = (double)lo;
		o->hi = (double)hi;
		o->edges = mcnq_alloc(&r->arena_,
		    ((size_t)a->bins + 1) * sizeof(*o->edges));
		if (o->edges == NULL) {
			return MCN_ENOMEM;
		}
		for (unsigned i = 0; i <= a->bins; i++) {
			o->edges[i] = (double)(lo + (hi - lo) * i / a->bins);
		}
		o->edges[a->bins] = o->hi;
	}
	if (a->kind == MCN_QUERY_TABLE) {
		const mcn_column *c1 = &d->cols[a->col];
		o->nrows = c1->nlevels;
		o->ncols = 1;
		o->rows = mcnq_alloc(&r->arena_, o->nrows * sizeof(char *));
		if (o->rows == NULL) {
			return MCN_ENOMEM;
		}
		for (size_t i = 0; i < o->nrows; i++) {
			if ((o->rows[i] = dup(&r->arena_, c1->levels[i])) ==
			    NULL) {
				return MCN_ENOMEM;
			}
		}
		if (a->col2 >= 0) {
			const mcn_column *c2 = &d->cols[a->col2];
			o->ncols = c2->nlevels;
			o->cols =
			    mcnq_alloc(&r->arena_, o->ncols * sizeof(char *));
			if (o->cols == NULL) {
				return MCN_ENOMEM;
			}
			for (size_t i = 0; i < o->ncols; i++) {
				o->cols[i] = dup(&r->arena_, c2->levels[i]);
				if (o->cols[i] == NULL) {
					return MCN_ENOMEM;
				}
			}
		}
	}
	if ((a->kind == MCN_QUERY_LINEAR || a->kind == MCN_QUERY_COR ||
	        a->kind == MCN_QUERY_SURVIVAL ||
	        a->kind == MCN_QUERY_LOGISTIC) &&
	    fill_analysis_output(r, q, a, o) != MCN_OK) {
		return MCN_ENOMEM;
	}
	o->cells = mcnq_alloc(&r->arena_, q->ngroups * sizeof(*o->cells));
	return o->cells == NULL ? MCN_ENOMEM : MCN_OK;
}

/* Every pooled sum within [nsites lo, nsites hi] of its slot? */
static int
sums_in_range(const mcn_query *q, const mpz_t *sums, unsigned nsites)
{
	size_t k = 0;

	for (size_t f = 0; f < q->layout.nfields; f++) {
		const mcn_pack_field *fd = &q->layout.fields[f];
		/* |lo|, |hi| <= 2^62 / nsites by construction: no overflow */
		long lo = (long)fd->lo * (long)nsites;
		long hi = (long)fd->hi * (long)nsites;
		for (size_t i = 0; i < fd->count; i++, k++) {
			if (mpz_cmp_si(sums[k], lo) < 0 ||
			    mpz_cmp_si(sums[k], hi) > 0) {
				return 0;
			}
		}
	}
	return 1;
}

mcn_err
mcn_query_result(struct mcn_query_result **out, const mcn_query *q,
    const mpz_t *sums, size_t nvalues, unsigned nsites)
{
	return mcnq_result_build(out, q, sums, nvalues, nsites, NULL);
}

/* A survival cell: Kaplan-Meier with Greenwood SE from the group's N and
 * the released points (ss: status per point, withheld ones are 0 in s;
 * NULL: all released, no per-point status kept). */
static mcn_err
fill_survival_rel(struct mcn_query_result *r, const mcnq_block *b,
    const mcn_query_output *o, mcn_query_cell *c, const mpz_t *s, int64_t N,
    const uint8_t *ss)
{
	const size_t np = b->npts;
	int64_t at = N;
	long double S = 1, V = 0;

	c->counts = mcnq_alloc(&r->arena_, 2 * np * sizeof(*c->counts));
	c->surv = dvec(&r->arena_, np);
	c->surv_se = dvec(&r->arena_, np);
	if (ss != NULL) {
		c->cell_suppressed = mcnq_alloc(&r->arena_, np * sizeof(int64_t));
	}
	if (c->counts == NULL || c->surv == NULL || c->surv_se == NULL ||
	    (ss != NULL && c->cell_suppressed == NULL)) {
		return MCN_ENOMEM;
	}
	c->n = N;
	c->value = (double)N;
	for (size_t j = 0; j < np; j++) {
		int64_t d = mpz_get_si(s[j]), cz = mpz_get_si(s[np + j]);
		c->counts[j] = d;
		c->counts[np + j] = cz;
		if (ss != NULL) {
			c->cell_suppressed[j] = ss[j];
		}
		if (ss != NULL && ss[j] != MCNQ_REL_OK) {
			c->surv[j] = NAN;
			c->surv_se[j] = NAN;
			continue;
		}
		c->nevents += d;
		if (d > 0) {
			S *= 1.0L - (long double)d / (long double)at;
			if (at > d) {
				V += (long double)d /
				    ((long double)at * (long double)(at - d));
			} else {
				V = INFINITY;
			}
		}
		c->surv[j] = (double)S;
		c->surv_se[j] = S > 0 ? (double)(S * sqrtl(V)) : NAN;
		if (!c->has_median && d > 0 && S <= 0.5L) {
			c->has_median = 1;
			c->median = o->grid[j];
		}
		at -= d + cz;
	}
	return MCN_OK;
}

mcn_err
mcnq_result_build(struct mcn_query_result **out, const mcn_query *q,
    const mpz_t *sums, size_t nvalues, unsigned nsites,
    const mcnq_status *st)
{
	mcnq_arena *arena = NULL;
	struct mcn_query_result *r = NULL;
	const mcn_dict *d;
	mcn_err rv = MCN_ENOMEM;
	mpz_t t1, t2, t3;
	char note[512];
	int has_stat = 0, has_var = 0, has_hist = 0, has_chi = 0;
	int has_lin = 0, has_cor = 0, has_surv = 0, has_logit = 0;
	int has_quant = 0;
	const size_t ncap = NOTES_CAP;

	MCN_MUST(out != NULL && q != NULL && (sums != NULL || nvalues == 0));
	*out = NULL;
	d = q->dict;
	if (nvalues != q->layout.nvalues || nsites == 0 ||
	    nsites > q->lim.nsites) {
		return MCN_EINVAL;
	}
	if (!sums_in_range(q, sums, nsites)) {
		return MCN_ERANGE;
	}
	mpz_inits(t1, t2, t3, NULL);
	r = mcnq_alloc(&arena, sizeof(*r));
	if (r == NULL) {
		goto out;
	}
	r->arena_ = arena;
	r->nsites = nsites;
	r->ngroup_cols = q->ngcols;
	r->ngroups = q->ngroups;
	r->group_cols =
	    mcnq_alloc(&r->arena_, (q->ngcols + 1) * sizeof(char *));
	r->group_levels = mcnq_alloc(&r->arena_,
	    (q->ngroups * q->ngcols + 1) * sizeof(char *));
	r->outputs = mcnq_alloc(&r->arena_, q->naggs * sizeof(*r->outputs));
	r->notes = mcnq_alloc(&r->arena_, ncap * sizeof(char *));
	if (r->group_cols == NULL || r->group_levels == NULL ||
	    r->outputs == NULL || r->notes == NULL) {
		goto out;
	}

	/* groups: level copies per column, then pointers per group */
	for (size_t j = 0; j < q->ngcols; j++) {
		const mcn_column *c = &d->cols[q->gcols[j]];
		char **lv = mcnq_alloc(&r->arena_, c->nlevels * sizeof(char *));
		size_t stride = 1;
		if ((r->group_cols[j] = dup(&r->arena_, c->name)) == NULL ||
		    lv == NULL) {
			goto out;
		}
		for (size_t i = 0; i < c->nlevels; i++) {
			if ((lv[i] = dup(&r->arena_, c->levels[i])) == NULL) {
				goto out;
			}
		}
		for (size_t k = j + 1; k < q->ngcols; k++) {
			stride *= d->cols[q->gcols[k]].nlevels;
		}
		for (size_t g = 0; g < q->ngroups; g++) {
			r->group_levels[g * q->ngcols + j] =
			    lv[(g / stride) % c->nlevels];
		}
	}

	r->noutputs = q->naggs;
	for (size_t i = 0; i < q->naggs; i++) {
		const mcnq_agg *a = &q->aggs[i];
		const mcnq_block *b = &q->blocks[a->block];
		mcn_query_output *o = &r->outputs[i];
		if ((rv = fill_output(r, q, a, o)) != MCN_OK) {
			goto out;
		}
		for (size_t g = 0; g < q->ngroups; g++) {
			const mpz_t *gs = sums + g * q->per_group;
			mcn_query_cell *c = &o->cells[g];
			char why[160];
			if (st == NULL) {
				rv = fill_cell(r, q, a, o, c, gs + b->off, t1, t2,
				    t3);
				if (rv != MCN_OK) {
					goto out;
				}
				continue;
			}
			const uint8_t *ss =
			    st->slot + g * q->per_group + b->off;
			const int64_t *sw =
			    st->sites + g * q->per_group + b->off;
			size_t gb = g * q->nblocks + a->block;
			uint8_t s0 = b->kind == MCNQ_B_SURV ? st->survst[gb] :
			    b->kind == MCNQ_B_HIST || b->kind == MCNQ_B_TABLE ?
			                                      MCNQ_REL_OK :
			                                      ss[0];
			if (s0 != MCNQ_REL_OK) {
				/* withheld for everyone: no value */
				c->suppressed = s0;
				c->null = 1;
				c->value = NAN;
				c->reason = c->problem = dup(&r->arena_,
				    mcnq_rel_reason(s0, st->k, st->m, why,
				        sizeof(why)));
				if (c->reason == NULL) {
					goto out;
				}
				r->suppressions++;
				continue;
			}
			if (b->kind == MCNQ_B_SURV) {
				rv = fill_survival_rel(r, b, o, c, gs + b->off,
				    st->survN[gb], ss);
				for (size_t j = 0; rv == MCN_OK && j < b->npts;
				     j++) {
					r->suppressions += ss[j] != 0;
				}
				c->sites = sw[0];
			} else {
				rv = fill_cell(r, q, a, o, c, gs + b->off, t1,
				    t2, t3);
				c->sites = sw[0];
			}
			if (rv != MCN_OK) {
				goto out;
			}
			if (b->kind == MCNQ_B_HIST || b->kind == MCNQ_B_TABLE) {
				int any = 0;
				c->cell_suppressed = mcnq_alloc(&r->arena_,
				    b->nslots * sizeof(int64_t));
				c->cell_sites = mcnq_alloc(&r->arena_,
				    b->nslots * sizeof(int64_t));
				if (c->cell_suppressed == NULL ||
				    c->cell_sites == NULL) {
					goto out;
				}
				for (size_t k = 0; k < b->nslots; k++) {
					c->cell_suppressed[k] = ss[k];
					c->cell_sites[k] = sw[k];
					any |= ss[k] != 0;
					r->suppressions += ss[k] != 0;
				}
				if (any) {
					/* exact or absent: no total, no test on
					 * a table with withheld parts */
					c->has_chi2 = 0;
					c->sites = 0;
					if (a->kind == MCN_QUERY_TABLE &&
					    a->col2 >= 0) {
						c->reason = dup(&r->arena_,
						    mcnq_rel_reason(
						        MCNQ_REL_NOT_TESTED,
						        st->k, st->m, why,
						        sizeof(why)));
					}
				}
			}
		}
		if (a->kind == MCN_QUERY_SURVIVAL && st == NULL &&
		    (rv = logrank(o, q->ngroups)) != MCN_OK) {
			goto out;
		}
		if (a->kind == MCN_QUERY_SURVIVAL && st != NULL &&
		    st->lrst[a->block] == MCNQ_REL_OK) {
			o->has_logrank = 1;
			o->logrank = st->lr[a->block];
			o->logrank_df = st->lrdf[a->block];
			o->logrank_p =
			    mcn_stats_chi2_sf(o->logrank, (double)o->logrank_df);
		}
		has_lin |= a->kind == MCN_QUERY_LINEAR;
		has_cor |= a->kind == MCN_QUERY_COR;
		has_logit |= a->kind == MCN_QUERY_LOGISTIC;
		has_surv |= a->kind == MCN_QUERY_SURVIVAL;
		has_quant |= a->kind == MCN_QUERY_QUANTILE;
		has_stat |=
		    a->kind != MCN_QUERY_COUNT && a->kind < MCN_QUERY_LINEAR;
		has_var |= a->kind == MCN_QUERY_VAR ||
		    a->kind == MCN_QUERY_SD || a->kind == MCN_QUERY_MEAN;
		has_hist |= a->kind == MCN_QUERY_HISTOGRAM;
		has_chi |= a->kind == MCN_QUERY_TABLE && a->col2 >= 0;
	}

	rv = MCN_ENOMEM;
	snprintf(note, sizeof(note), "%u site%s contributed", nsites,
	    nsites == 1 ? "" : "s");
	if (!add_note(r, ncap, note)) {
		goto out;
	}
	r->epsilon = q->has_epsilon ? q->epsilon : 0;
	if (q->has_epsilon) {
		snprintf(note, sizeof(note),
		    "differential privacy (epsilon %g for this query): every "
		    "count, sum and sum of squares carries discrete Laplace "
		    "noise added in shares by the sites; means and variances "
		    "come from the noisy sums; counts below %d are shown as "
		    "'<%d'",
		    q->epsilon, MCN_QUERY_RELEASE_MIN, MCN_QUERY_RELEASE_MIN);
		if (!add_note(r, ncap, note)) {
			goto out;
		}
	}
	if (st != NULL) {
		r->rel_k = st->k;
		r->rel_m = st->m;
	}
	if (r->suppressions > 0) {
		snprintf(note, sizeof(note),
		    "disclosure control: %llu pooled cell%s withheld for "
		    "everyone (a released cell has a pooled count of at least "
		    "%lld from at least %lld sites; 'withheld <k': pooled count "
		    "below k, '<m sites': from fewer sites, 'veto': a site's "
		    "own rule, '2nd': withheld with a small cell so that the "
		    "total does not reveal it, 'level': a category level or "
		    "0/1 class of the variables below the rule); statistics "
		    "are computed only where nothing is withheld",
		    (unsigned long long)r->suppressions,
		    r->suppressions == 1 ? " is" : "s are", (long long)r->rel_k,
		    (long long)r->rel_m);
		if (!add_note(r, ncap, note)) {
			goto out;
		}
	}
	if (q->ngcols > 0 &&
	    !add_note(r, ncap,
	        "rows with a missing value "
	        "in a GROUP BY column are in no group")) {
		goto out;
	}
	if (has_stat &&
	    !add_note(r, ncap,
	        "missing values are excluded per "
	        "aggregate; n is the number of values used")) {
		goto out;
	}
	if (has_var &&
	    !add_note(r, ncap,
	        "var and sd are sample statistics "
	        "(denominator n - 1), NA when n < 2; mean is NA when n = 0")) {
		goto out;
	}
	if (has_hist &&
	    !add_note(r, ncap,
	        "histogram bins are [lower, upper);"
	        " values below the first edge are counted in 'below', values "
	        "at "
	        "or above the last edge in 'above'")) {
		goto out;
	}
	if (has_chi &&
	    !add_note(r, ncap,
	        "chi-square: Pearson's test of "
	        "independence on the pooled table; cells with expected count 0 "
	        "are skipped and df counts only non-empty rows and columns")) {
		goto out;
	}
	if (has_lin &&
	    !add_note(r, ncap,
	        "linear: least squares with an intercept on the complete "
	        "cases (n); a categorical predictor enters as indicators "
	        "'col=level' against its first declared level; p-values are "
	        "two-sided from Student's t with n - parameters df")) {
		goto out;
	}
	if (has_logit &&
	    !add_note(r, ncap,
	        "logistic: maximum likelihood (Newton-Raphson) with an "
	        "intercept on the complete cases (n); categorical predictors "
	        "as in linear; standard errors from the information at the "
	        "estimates; z and two-sided normal p-values; deviance = -2 "
	        "log-likelihood")) {
		goto out;
	}
	if (has_quant &&
	    !add_note(r, ncap,
	        "quantile: the lower empirical quantile (the smallest value "
	        "with at least ceil(p n) values at or below it; median: the "
	        "lower middle value), found by rounds of histograms; exact "
	        "unless pooled histogram cells were withheld, else the interval "
	        "[lower, upper) that holds it")) {
		goto out;
	}
	if (has_cor &&
	    !add_note(r, ncap,
	        "cor: Pearson correlations on the complete cases (n)")) {
		goto out;
	}
	if (has_surv &&
	    !add_note(r, ncap,
	        "survival: Kaplan-Meier on the grid (events before "
	        "censoring at equal times), Greenwood standard errors; the "
	        "log-rank test compares the groups that have rows")) {
		goto out;
	}
	*out = r;
	r = NULL;
	rv = MCN_OK;
out:
	mpz_clears(t1, t2, t3, NULL);
	if (r != NULL) {
		mcnq_arena_free(r->arena_);
	}
	return rv;
}

void
mcn_query_result_free(struct mcn_query_result *r)
{
	if (r != NULL) {
		mcnq_arena_free(r->arena_);
	}
}

/* ---------------------------------------------------------------- */
/* text */

#define CELL_MAX 160

typedef struct {
	const struct mcn_query_result *r;
	const mcn_query_output *o;
	size_t g; /* histogram / table: the group */
} tctx;

typedef void (*cell_fn)(const tctx *t, size_t row, size_t col, char *buf);

static void
fmt_stat(char *buf, const mcn_query_cell *c)
{
	if (c->null) {
		snprintf(buf, CELL_MAX, "NA");
	} else {
		snprintf(buf, CELL_MAX, "%.6g", c->value);
	}
}

/* Prints a table of nrows x ncols cells (row 0 is the header), columns
 * padded to their widest cell; the first nleft columns left-aligned. */
static void
print_table(FILE *f, const tctx *t, size_t nrows, size_t ncols, size_t nleft,
    cell_fn fn)
{
	char buf[CELL_MAX];
	size_t w[MCN_QUERY_MAX_GROUP_COLS + MCN_DICT_MAX_LEVELS + 2];

	if (ncols > sizeof(w) / sizeof(w[0])) {
		ncols = sizeof(w) / sizeof(w[0]);
	}
	for (size_t c = 0; c < ncols; c++) {
		w[c] = 0;
		for (size_t r = 0; r < nrows; r++) {
			fn(t, r, c, buf);
			size_t n = strlen(buf);
			w[c] = n > w[c] ? n : w[c];
		}
	}
	for (size_t r = 0; r < nrows; r++) {
		fputs("  ", f);
		for (size_t c = 0; c < ncols; c++) {
			fn(t, r, c, buf);
			fprintf(f, c < nleft ? "%-*s" : "%*s", (int)w[c], buf);
			fputs(c + 1 < ncols ? "  " : "\n", f);
		}
	}
}

/* count/sum/mean/...: group columns, n, value */
/* A count as released: with noise, values below MCN_QUERY_RELEASE_MIN
 * print as "<10"; a cell some site withheld gets a '*'. */
static void
fmt_count(char *buf, const struct mcn_query_result *r, int64_t v,
    int64_t withheld)
{
	if (withheld > 0) {
		/* short forms of the reasons (the notes explain them) */
		switch (withheld) {
		case MCNQ_REL_BELOW_K:
			snprintf(buf, CELL_MAX, "withheld <%lld",
			    (long long)r->rel_k);
			break;
		case MCNQ_REL_FEW_SITES:
			snprintf(buf, CELL_MAX, "withheld <%lld sites",
			    (long long)r->rel_m);
			break;
		case MCNQ_REL_VETO: snprintf(buf, CELL_MAX, "withheld veto"); break;
		case MCNQ_REL_LEVEL:
			snprintf(buf, CELL_MAX, "withheld level");
			break;
		case MCNQ_REL_WEIGHT:
			snprintf(buf, CELL_MAX, "withheld weight");
			break;
		case MCNQ_REL_SECONDARY:
			snprintf(buf, CELL_MAX, "withheld 2nd");
			break;
		default: snprintf(buf, CELL_MAX, "withheld"); break;
		}
	} else if (r->epsilon > 0 && v < MCN_QUERY_RELEASE_MIN) {
		snprintf(buf, CELL_MAX, "<%d", MCN_QUERY_RELEASE_MIN);
	} else {
		snprintf(buf, CELL_MAX, "%" PRId64, v);
	}
}

static void
cell_simple(const tctx *t, size_t row, size_t col, char *buf)
{
	const struct mcn_query_result *r = t->r;
	const mcn_query_output *o = t->o;
	size_t ng = r->ngroup_cols;

	if (row == 0) {
		snprintf(buf, CELL_MAX, "%s",
		    col < ng ? r->group_cols[col] :
		        col == ng && o->kind != MCN_QUERY_COUNT ?
		               "n" :
		               mcn_query_agg_kind_name(o->kind));
		return;
	}
	const mcn_query_cell *c = &o->cells[row - 1];
	if (col < ng) {
		snprintf(buf, CELL_MAX, "%s",
		    r->group_levels[(row - 1) * ng + col]);
	} else if (col == ng && o->kind != MCN_QUERY_COUNT) {
		fmt_count(buf, r, c->n, c->suppressed);
	} else if (o->kind == MCN_QUERY_COUNT || o->kind == MCN_QUERY_COUNT_X) {
		fmt_count(buf, r, c->n, c->suppressed);
	} else if (o->kind == MCN_QUERY_SUM) {
		snprintf(buf, CELL_MAX, "%s", c->exact != NULL ? c->exact : "NA");
	} else {
		fmt_stat(buf, c);
	}
}

static void
cell_hist(const tctx *t, size_t row, size_t col, char *buf)
{
	const mcn_query_output *o = t->o;
	const mcn_query_cell *c = &o->cells[t->g];

	/* rows: header, below, bins..., above */
	size_t k = row == 1            ? o->bins :
	    row == (size_t)o->bins + 2 ? (size_t)o->bins + 1 :
	                                 row - 2;

	if (row == 0) {
		snprintf(buf, CELL_MAX, "%s", col == 0 ? o->column : "count");
	} else if (col == 1) {
		fmt_count(buf, t->r, c->counts[k],
		    c->cell_suppressed != NULL ? c->cell_suppressed[k] : 0);
	} else if (row == 1) {
		snprintf(buf, CELL_MAX, "< %.6g", o->lo);
	} else if (k < o->bins) {
		snprintf(buf, CELL_MAX, "[%.6g, %.6g)", o->edges[k],
		    o->edges[k + 1]);
	} else {
		snprintf(buf, CELL_MAX, ">= %.6g", o->hi);
	}
}

static void
cell_table(const tctx *t, size_t row, size_t col, char *buf)
{
	const mcn_query_output *o = t->o;
	const mcn_query_cell *c = &o->cells[t->g];

	if (row == 0 && col == 0) {
		if (o->cols != NULL) {
			snprintf(buf, CELL_MAX, "%s \\ %s", o->column,
			    o->column2);
		} else {
			snprintf(buf, CELL_MAX, "%s", o->column);
		}
	} else if (row == 0) {
		snprintf(buf, CELL_MAX, "%s",
		    o->cols != NULL ? o->cols[col - 1] : "count");
	} else if (col == 0) {
		snprintf(buf, CELL_MAX, "%s", o->rows[row - 1]);
	} else {
		size_t k = (row - 1) * o->ncols + (col - 1);
		fmt_count(buf, t->r, c->counts[k],
		    c->cell_suppressed != NULL ? c->cell_suppressed[k] : 0);
	}
}

static void
print_group_heading(FILE *f, const struct mcn_query_result *r, size_t g)
{
	if (r->ngroup_cols == 0) {
		return;
	}
	fputs("  [", f);
	for (size_t j = 0; j < r->ngroup_cols; j++) {
		fprintf(f, "%s%s=%s", j ? ", " : "", r->group_cols[j],
		    r->group_levels[g * r->ngroup_cols + j]);
	}
	fputs("]\n", f);
}

static void
fmt_num(char *buf, size_t len, double v)
{
	if (isfinite(v)) {
		snprintf(buf, len, "%.6g", v);
	} else {
		snprintf(buf, len, "NA");
	}
}

static void
print_linear(FILE *f, const struct mcn_query_result *r,
    const mcn_query_output *o)
{
	char e[32], se[32], t[32], p[32];
	int w = 11;

	for (size_t i = 0; i < o->nvars; i++) {
		int l = (int)strlen(o->vars[i]);
		w = l > w ? l : w;
	}
	for (size_t g = 0; g < r->ngroups; g++) {
		const mcn_query_cell *c = &o->cells[g];
		print_group_heading(f, r, g);
		if (c->problem != NULL) {
			fprintf(f, "  n = %" PRId64 ": no estimates: %s\n",
			    c->n, c->problem);
			continue;
		}
		fprintf(f, "  %-*s  %12s  %12s  %9s  %10s\n", w, "term",
		    "estimate", "std.error", "t", "p");
		for (size_t i = 0; i < o->nvars; i++) {
			fmt_num(e, sizeof(e), c->coef[i]);
			fmt_num(se, sizeof(se), c->se[i]);
			fmt_num(t, sizeof(t), c->tstat[i]);
			fmt_num(p, sizeof(p), c->pval[i]);
			fprintf(f, "  %-*s  %12s  %12s  %9s  %10s\n", w,
			    o->vars[i], e, se, t, p);
		}
		fmt_num(e, sizeof(e), c->r2);
		fmt_num(se, sizeof(se), c->adj_r2);
		fmt_num(t, sizeof(t), c->sigma);
		fprintf(f,
		    "  n = %" PRId64 ", R-squared = %s, adjusted = %s, "
		    "residual SE = %s on %" PRId64 " df\n",
		    c->n, e, se, t, c->df);
	}
}

static void
print_logistic(FILE *f, const struct mcn_query_result *r,
    const mcn_query_output *o)
{
	char e[32], se[32], z[32], p[32];
	int w = 11;
	const mcn_query_cell *c = &o->cells[0];

	(void)r;
	for (size_t i = 0; i < o->nvars; i++) {
		int l = (int)strlen(o->vars[i]);
		w = l > w ? l : w;
	}
	if (c->problem != NULL) {
		fprintf(f, "  n = %" PRId64 ": no estimates: %s\n", c->n,
		    c->problem);
		return;
	}
	fprintf(f, "  %-*s  %12s  %12s  %9s  %10s\n", w, "term", "estimate",
	    "std.error", "z", "p");
	for (size_t i = 0; i < o->nvars; i++) {
		fmt_num(e, sizeof(e), c->coef[i]);
		fmt_num(se, sizeof(se), c->se[i]);
		fmt_num(z, sizeof(z), c->tstat[i]);
		fmt_num(p, sizeof(p), c->pval[i]);
		fprintf(f, "  %-*s  %12s  %12s  %9s  %10s\n", w, o->vars[i], e,
		    se, z, p);
	}
	fmt_num(e, sizeof(e), c->deviance);
	fmt_num(se, sizeof(se), c->null_deviance);
	fprintf(f,
	    "  n = %" PRId64 ", deviance = %s on %" PRId64
	    " df, null deviance = %s, iterations = %u\n",
	    c->n, e, c->df, se, c->iterations);
}

/* quantile: one row (n, p, value, lower, upper, exact) */
static void
print_quantile(FILE *f, const mcn_query_output *o)
{
	const mcn_query_cell *c = &o->cells[0];
	char v[4][40];
	const double x[4] = { c->p, c->value, c->lower, c->upper };
	int w[4];

	if (c->null) {
		fprintf(f, "  n = %" PRId64 ": no value: %s\n", c->n,
		    c->problem != NULL ? c->problem :
		                         "the rounds were not run");
		return;
	}
	for (int i = 0; i < 4; i++) {
		snprintf(v[i], sizeof(v[i]), "%.15g", x[i]);
		w[i] = (int)strlen(v[i]);
		w[i] = w[i] < 5 ? 5 : w[i];
	}
	fprintf(f, "  %10s  %*s  %*s  %*s  %*s  %5s\n", "n", w[0], "p", w[1],
	    "value", w[2], "lower", w[3], "upper", "exact");
	fprintf(f, "  %10" PRId64 "  %*s  %*s  %*s  %*s  %5s\n", c->n, w[0],
	    v[0], w[1], v[1], w[2], v[2], w[3], v[3],
	    c->is_exact ? "yes" : "no");
	fprintf(f, "  %s; %u aggregation%s\n",
	    c->is_exact ? "exact" :
	               "withheld cells: the quantile lies in [lower, upper)",
	    c->iterations, c->iterations == 1 ? "" : "s");
}

static void
print_cor(FILE *f, const struct mcn_query_result *r, const mcn_query_output *o)
{
	char v[32];
	int w = 9;

	for (size_t i = 0; i < o->nvars; i++) {
		int l = (int)strlen(o->vars[i]);
		w = l > w ? l : w;
	}
	for (size_t g = 0; g < r->ngroups; g++) {
		const mcn_query_cell *c = &o->cells[g];
		print_group_heading(f, r, g);
		if (c->suppressed > 0 || c->cor == NULL) {
			fprintf(f, "  withheld: %s\n",
			    c->reason != NULL ? c->reason : "no estimates");
			continue;
		}
		fprintf(f, "  %-*s", w, "");
		for (size_t j = 0; j < o->nvars; j++) {
			fprintf(f, "  %*s", w, o->vars[j]);
		}
		fputc('\n', f);
		for (size_t i = 0; i < o->nvars; i++) {
			fprintf(f, "  %-*s", w, o->vars[i]);
			for (size_t j = 0; j < o->nvars; j++) {
				fmt_num(v, sizeof(v), c->cor[i * o->nvars + j]);
				fprintf(f, "  %*s", w, v);
			}
			fputc('\n', f);
		}
		fprintf(f, "  n = %" PRId64 "\n", c->n);
	}
}

#define SURV_PRINT_ROWS 20

static void
print_survival(FILE *f, const struct mcn_query_result *r,
    const mcn_query_output *o)
{
	const size_t np = o->npts;
	char sv[32], se[32];

	for (size_t g = 0; g < r->ngroups; g++) {
		const mcn_query_cell *c = &o->cells[g];
		size_t nact = 0, shown = 0;
		int64_t at = c->n;
		print_group_heading(f, r, g);
		if (c->suppressed > 0 || c->counts == NULL) {
			fprintf(f, "  withheld: %s\n",
			    c->reason != NULL ? c->reason : "no curve");
			continue;
		}
		for (size_t j = 0; j < np; j++) {
			nact += c->counts[j] + c->counts[np + j] > 0;
		}
		fprintf(f, "  %10s  %8s  %7s  %8s  %10s  %10s\n", "time",
		    "at_risk", "events", "censored", "survival", "se");
		/* at most SURV_PRINT_ROWS of the nact active points, evenly
		 * spread, the first and last included */
		for (size_t j = 0, a = 0; j < np; j++) {
			int64_t d = c->counts[j], cz = c->counts[np + j];
			if (d + cz == 0) {
				continue;
			}
			size_t want = nact <= SURV_PRINT_ROWS ?
			    a :
			    shown * (nact - 1) / (SURV_PRINT_ROWS - 1);
			if (a == want) {
				fmt_num(sv, sizeof(sv), c->surv[j]);
				fmt_num(se, sizeof(se), c->surv_se[j]);
				fprintf(f,
				    "  %10" PRId64 "  %8" PRId64 "  %7" PRId64
				    "  %8" PRId64 "  %10s  %10s\n",
				    o->grid[j], at, d, cz, sv, se);
				shown++;
			}
			a++;
			at -= d + cz;
		}
		if (nact > SURV_PRINT_ROWS) {
			fprintf(f,
			    "  (%zu of %zu time points with events or "
			    "censoring shown)\n",
			    shown, nact);
		}
		if (c->cell_suppressed != NULL) {
			size_t last = 0;
			int any = 0;
			while (last < np && c->cell_suppressed[last] == 0) {
				last++;
			}
			any = last < np;
			if (any && last > 0) {
				fprintf(f,
				    "  (released up to time %" PRId64
				    "; after it fewer than %lld remain at risk, or "
				    "fewer than %lld sites)\n",
				    o->grid[last - 1], (long long)r->rel_k,
				    (long long)r->rel_m);
			}
		}
		fprintf(f, "  n = %" PRId64 ", events = %" PRId64, c->n,
		    c->nevents);
		if (c->has_median) {
			fprintf(f, ", median survival = %" PRId64 "\n",
			    c->median);
		} else {
			fputs(", median survival not reached\n", f);
		}
	}
	if (o->has_logrank) {
		fprintf(f, "  log-rank chi-square = %.6g, df = %u, p = %.6g\n",
		    o->logrank, o->logrank_df, o->logrank_p);
	} else if (r->ngroups > 1) {
		fputs("  log-rank: NA (fewer than 2 groups with rows, or no "
		      "events)\n",
		    f);
	}
}

void
mcn_query_result_print(const struct mcn_query_result *r, FILE *f)
{
	MCN_MUST(r != NULL && f != NULL);
	for (size_t i = 0; i < r->noutputs; i++) {
		const mcn_query_output *o = &r->outputs[i];
		tctx t = { r, o, 0 };
		fprintf(f, "%s%s\n", i ? "\n" : "", o->name);
		if (o->kind == MCN_QUERY_LINEAR) {
			print_linear(f, r, o);
			continue;
		}
		if (o->kind == MCN_QUERY_COR) {
			print_cor(f, r, o);
			continue;
		}
		if (o->kind == MCN_QUERY_LOGISTIC) {
			print_logistic(f, r, o);
			continue;
		}
		if (o->kind == MCN_QUERY_SURVIVAL) {
			print_survival(f, r, o);
			continue;
		}
		if (o->kind == MCN_QUERY_QUANTILE) {
			print_quantile(f, o);
			continue;
		}
		if (o->kind != MCN_QUERY_HISTOGRAM &&
		    o->kind != MCN_QUERY_TABLE) {
			print_table(f, &t, r->ngroups + 1,
			    r->ngroup_cols +
			        (o->kind == MCN_QUERY_COUNT ? 1 : 2),
			    r->ngroup_cols, cell_simple);
			continue;
		}
		for (size_t g = 0; g < r->ngroups; g++) {
			const mcn_query_cell *c = &o->cells[g];
			t.g = g;
			print_group_heading(f, r, g);
			if (o->kind == MCN_QUERY_HISTOGRAM) {
				print_table(f, &t, (size_t)o->bins + 3, 2, 1,
				    cell_hist);
				continue;
			}
			print_table(f, &t, o->nrows + 1, o->ncols + 1, 1,
			    cell_table);
			if (o->cols == NULL) {
				continue;
			}
			if (c->has_chi2) {
				fprintf(f,
				    "  chi-square = %.6g, df = %u, "
				    "p = %.6g\n",
				    c->chi2, c->chi2_df, c->chi2_p);
			} else {
				fputs("  chi-square: NA (fewer than 2 "
				      "non-empty rows or columns)\n",
				    f);
			}
		}
	}
	if (r->nnotes > 0) {
		fputs("\nnotes:\n", f);
	}
	for (size_t i = 0; i < r->nnotes; i++) {
		fprintf(f, "  - %s\n", r->notes[i]);
	}
}

/* ---------------------------------------------------------------- */
/* JSON */

/* Sets/appends v, remembering any failure (v NULL or jansson error). */
static void
jset(json_t *o, const char *k, json_t *v, int *bad)
{
	/* json_object_set_new releases v itself when o is NULL */
	if (v == NULL || json_object_set_new(o, k, v) != 0) {
		*bad = 1;
	}
}

static void
jpush(json_t *a, json_t *v, int *bad)
{
	if (v == NULL || json_array_append_new(a, v) != 0) {
		*bad = 1;
	}
}

static json_t *
jstrings(char *const *s, size_t n, int *bad)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		jpush(a, json_string(s[i]), bad);
	}
	if (a == NULL) {
		*bad = 1;
	}
	return a;
}

/* A number, or null when not finite (JSON has no NaN). */
static json_t *
jnum(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

/* [{"term", "estimate", "se", <stat>, "p_value"}] of a regression */
static json_t *
jcoefs(const mcn_query_output *o, const mcn_query_cell *c, const char *stat,
    int *bad)
{
	json_t *co = json_array();
	for (size_t i = 0; i < o->nvars; i++) {
		json_t *e = json_object();
		jset(e, "term", json_string(o->vars[i]), bad);
		jset(e, "estimate", jnum(c->coef[i]), bad);
		jset(e, "se", jnum(c->se[i]), bad);
		jset(e, stat, jnum(c->tstat[i]), bad);
		jset(e, "p_value", jnum(c->pval[i]), bad);
		jpush(co, e, bad);
	}
	return co;
}

static json_t *
jlinear(const mcn_query_output *o, const mcn_query_cell *c, int *bad)
{
	json_t *v;

	if (c->problem != NULL) {
		return json_null();
	}
	v = json_object();
	jset(v, "coefficients", jcoefs(o, c, "t", bad), bad);
	jset(v, "r_squared", jnum(c->r2), bad);
	jset(v, "adj_r_squared", jnum(c->adj_r2), bad);
	jset(v, "sigma", jnum(c->sigma), bad);
	jset(v, "df", json_integer((json_int_t)c->df), bad);
	return v;
}

static json_t *
jlogistic(const mcn_query_output *o, const mcn_query_cell *c, int *bad)
{
	json_t *v;

	if (c->problem != NULL) {
		return json_null();
	}
	v = json_object();
	jset(v, "coefficients", jcoefs(o, c, "z", bad), bad);
	jset(v, "deviance", jnum(c->deviance), bad);
	jset(v, "null_deviance", jnum(c->null_deviance), bad);
	jset(v, "df", json_integer((json_int_t)c->df), bad);
	jset(v, "iterations", json_integer(c->iterations), bad);
	return v;
}

/* A grid value: an integer when it is one (exactly representable). */
static json_t *
jgrid(double v)
{
	if (isfinite(v) && v == floor(v) && fabs(v) <= 9007199254740992.0) {
		return json_integer((json_int_t)v);
	}
	return jnum(v);
}

static json_t *
jquantile(const mcn_query_cell *c, int *bad)
{
	json_t *v;

	if (c->null || c->problem != NULL) {
		return json_null();
	}
	v = json_object();
	jset(v, "value", jgrid(c->value), bad);
	jset(v, "lower", jgrid(c->lower), bad);
	jset(v, "upper", jgrid(c->upper), bad);
	jset(v, "exact", json_boolean(c->is_exact), bad);
	jset(v, "n", json_integer((json_int_t)c->n), bad);
	jset(v, "p", json_real(c->p), bad);
	return v;
}

static json_t *
jcor(const mcn_query_output *o, const mcn_query_cell *c, int *bad)
{
	json_t *v = json_object(), *m = json_array();

	jset(v, "columns", jstrings(o->vars, o->nvars, bad), bad);
	for (size_t i = 0; i < o->nvars; i++) {
		json_t *row = json_array();
		for (size_t j = 0; j < o->nvars; j++) {
			jpush(row, jnum(c->cor[i * o->nvars + j]), bad);
		}
		jpush(m, row, bad);
	}
	jset(v, "matrix", m, bad);
	return v;
}

static json_t *
jsurvival(const mcn_query_output *o, const mcn_query_cell *c, int *bad)
{
	json_t *v = json_object(), *pts = json_array();
	const size_t np = o->npts;
	int64_t at = c->n;

	for (size_t j = 0; j < np && !*bad; j++) {
		int64_t d = c->counts[j], cz = c->counts[np + j];
		if (d + cz == 0) {
			continue;
		}
		json_t *e = json_object();
		jset(e, "time", json_integer((json_int_t)o->grid[j]), bad);
		jset(e, "at_risk", json_integer((json_int_t)at), bad);
		jset(e, "events", json_integer((json_int_t)d), bad);
		jset(e, "censored", json_integer((json_int_t)cz), bad);
		jset(e, "survival", jnum(c->surv[j]), bad);
		jset(e, "se", jnum(c->surv_se[j]), bad);
		jpush(pts, e, bad);
		at -= d + cz;
	}
	jset(v, "points", pts, bad);
	if (c->cell_suppressed != NULL) {
		/* release control: the curve is released up to a point */
		int64_t cens = 0, last = -1;
		for (size_t j = 0; j < np; j++) {
			if (c->cell_suppressed[j] != 0) {
				break;
			}
			cens += c->counts[np + j];
			last = (int64_t)j;
		}
		jset(v, "events", json_integer((json_int_t)c->nevents), bad);
		jset(v, "censored", json_integer((json_int_t)cens), bad);
		jset(v, "released_until",
		    last >= 0 ? json_integer((json_int_t)o->grid[last]) :
		                json_null(),
		    bad);
		jset(v, "withheld_after",
		    (size_t)(last + 1) < np ?
		        json_integer((json_int_t)(c->n - c->nevents - cens)) :
		        json_integer(0),
		    bad);
	} else {
		jset(v, "events", json_integer((json_int_t)c->nevents), bad);
		jset(v, "censored",
		    json_integer((json_int_t)(c->n - c->nevents)), bad);
	}
	jset(v, "median",
	    c->has_median ? json_integer((json_int_t)c->median) : json_null(),
	    bad);
	if (o->has_logrank && c->cell_suppressed == NULL) {
		jset(v, "observed", jnum(c->lr_obs), bad);
		jset(v, "expected", jnum(c->lr_exp), bad);
	}
	return v;
}

/* counts with null where withheld (w NULL: none withheld) */
static json_t *
jcounts_w(const int64_t *v, const int64_t *w, size_t n, int *bad)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		jpush(a, w != NULL && w[i] ? json_null() :
		                             json_integer((json_int_t)v[i]),
		    bad);
	}
	if (a == NULL) {
		*bad = 1;
	}
	return a;
}

static json_t *
jvalue(const mcn_query_output *o, const mcn_query_cell *c, int *bad)
{
	json_t *v;
	const int64_t *w = o->kind == MCN_QUERY_SURVIVAL ? NULL :
	                                                   c->cell_suppressed;

	if (c->suppressed > 0) {
		return json_null(); /* withheld: see "withheld" */
	}
	switch (o->kind) {
	case MCN_QUERY_COUNT:
	case MCN_QUERY_COUNT_X: return json_integer((json_int_t)c->n);
	case MCN_QUERY_SUM: {
		const char *e = c->exact;
		char *end = NULL;
		if (strchr(e, '.') == NULL) {
			long long x = strtoll(e, &end, 10);
			if (end != NULL && *end == '\0' && x != LLONG_MAX &&
			    x != LLONG_MIN) {
				return json_integer((json_int_t)x);
			}
		}
		return json_real(c->value);
	}
	case MCN_QUERY_MEAN:
	case MCN_QUERY_VAR:
	case MCN_QUERY_SD: return c->null ? json_null() : json_real(c->value);
	case MCN_QUERY_HISTOGRAM: {
		json_t *edges = json_array();
		v = json_object();
		for (unsigned i = 0; i <= o->bins; i++) {
			jpush(edges, json_real(o->edges[i]), bad);
		}
		jset(v, "edges", edges, bad);
		jset(v, "counts", jcounts_w(c->counts, w, o->bins, bad), bad);
		jset(v, "below",
		    w != NULL && w[o->bins] ? json_null() :
		                              json_integer(c->counts[o->bins]),
		    bad);
		jset(v, "above",
		    w != NULL && w[o->bins + 1] ?
		        json_null() :
		        json_integer(c->counts[o->bins + 1]),
		    bad);
		return v;
	}
	case MCN_QUERY_TABLE:
		v = json_object();
		if (o->cols == NULL) {
			jset(v, "rows", jstrings(o->rows, o->nrows, bad), bad);
			jset(v, "counts",
			    jcounts_w(c->counts, w, o->nrows, bad), bad);
			return v;
		}
		jset(v, "rows", jstrings(o->rows, o->nrows, bad), bad);
		jset(v, "cols", jstrings(o->cols, o->ncols, bad), bad);
		json_t *m = json_array();
		for (size_t i = 0; i < o->nrows; i++) {
			jpush(m,
			    jcounts_w(c->counts + i * o->ncols,
			        w != NULL ? w + i * o->ncols : NULL, o->ncols,
			        bad),
			    bad);
		}
		jset(v, "counts", m, bad);
		if (c->has_chi2) {
			json_t *x = json_object();
			jset(x, "statistic", json_real(c->chi2), bad);
			jset(x, "df", json_integer(c->chi2_df), bad);
			jset(x, "p_value", json_real(c->chi2_p), bad);
			jset(v, "chi_square", x, bad);
		} else {
			jset(v, "chi_square", json_null(), bad);
		}
		return v;
	case MCN_QUERY_LINEAR: return jlinear(o, c, bad);
	case MCN_QUERY_LOGISTIC: return jlogistic(o, c, bad);
	case MCN_QUERY_COR: return jcor(o, c, bad);
	case MCN_QUERY_SURVIVAL: return jsurvival(o, c, bad);
	case MCN_QUERY_QUANTILE: return jquantile(c, bad);
	}
	return NULL;
}

json_t *
mcn_query_result_json(const struct mcn_query_result *r)
{
	json_t *root = json_object(), *results = json_array();
	int bad = 0;

	MCN_MUST(r != NULL);
	jset(root, "sites", json_integer(r->nsites), &bad);
	jset(root, "group_by", jstrings(r->group_cols, r->ngroup_cols, &bad),
	    &bad);
	for (size_t i = 0; i < r->noutputs && !bad; i++) {
		const mcn_query_output *o = &r->outputs[i];
		json_t *jo = json_object(), *groups = json_array();
		jset(jo, "name", json_string(o->name), &bad);
		jset(jo, "aggregate",
		    json_string(mcn_query_agg_kind_name(o->kind)), &bad);
		jset(jo, "column",
		    o->column != NULL ? json_string(o->column) : json_null(),
		    &bad);
		if (o->column2 != NULL) {
			jset(jo, "column2", json_string(o->column2), &bad);
		}
		for (size_t g = 0; g < r->ngroups && !bad; g++) {
			json_t *jg = json_object(), *key = json_object();
			for (size_t j = 0; j < r->ngroup_cols; j++) {
				jset(key, r->group_cols[j],
				    json_string(
				        r->group_levels[g * r->ngroup_cols +
				            j]),
				    &bad);
			}
			jset(jg, "group", key, &bad);
			jset(jg, "value", jvalue(o, &o->cells[g], &bad), &bad);
			const mcn_query_cell *cc = &o->cells[g];
			int hist_any = 0;
			size_t nk = o->kind == MCN_QUERY_HISTOGRAM ||
			        o->kind == MCN_QUERY_QUANTILE ?
			    (size_t)o->bins + 2 :
			    o->nrows * o->ncols;
			for (size_t k = 0; cc->cell_suppressed != NULL &&
			     o->kind != MCN_QUERY_SURVIVAL && k < nk;
			     k++) {
				hist_any |= cc->cell_suppressed[k] != 0;
			}
			jset(jg, "n",
			    cc->suppressed > 0 || hist_any ? json_null() :
			                                     json_integer(cc->n),
			    &bad);
			if (cc->suppressed > 0) {
				jset(jg, "withheld", json_string(cc->reason),
				    &bad);
			}
			if (cc->sites > 0) {
				jset(jg, "sites", json_integer(cc->sites), &bad);
			}
			if (cc->cell_suppressed != NULL &&
			    o->kind != MCN_QUERY_SURVIVAL) {
				char why[160];
				json_t *arr = json_array(), *sarr = json_array();
				for (size_t k = 0; k < nk; k++) {
					int64_t w = cc->cell_suppressed[k];
					jpush(arr, w == 0 ? json_null() :
					    json_string(mcnq_rel_reason((int)w,
					        r->rel_k, r->rel_m, why,
					        sizeof(why))),
					    &bad);
					jpush(sarr, json_integer(
					    cc->cell_sites != NULL ?
					        cc->cell_sites[k] : 0),
					    &bad);
				}
				if (hist_any) {
					jset(jg, "withheld_cells", arr, &bad);
				} else {
					json_decref(arr);
				}
				jset(jg, "cell_sites", sarr, &bad);
			}
			if (o->cells[g].problem != NULL) {
				jset(jg, "error",
				    json_string(o->cells[g].problem), &bad);
			}
			if (o->kind == MCN_QUERY_LOGISTIC ||
			    o->kind == MCN_QUERY_QUANTILE) {
				jset(jg, "iterations",
				    json_integer(o->cells[g].iterations), &bad);
			}
			jpush(groups, jg, &bad);
		}
		jset(jo, "groups", groups, &bad);
		if (o->kind == MCN_QUERY_SURVIVAL) {
			json_t *lr = json_null();
			if (o->has_logrank) {
				lr = json_object();
				jset(lr, "statistic", json_real(o->logrank),
				    &bad);
				jset(lr, "df", json_integer(o->logrank_df),
				    &bad);
				jset(lr, "p_value", jnum(o->logrank_p), &bad);
			}
			jset(jo, "log_rank", lr, &bad);
		}
		if (o->kind == MCN_QUERY_SURVIVAL && o->step != 1) {
			jset(jo, "step", json_integer((json_int_t)o->step),
			    &bad);
		}
		jpush(results, jo, &bad);
	}
	jset(root, "results", results, &bad);
	jset(root, "notes", jstrings(r->notes, r->nnotes, &bad), &bad);
	if (bad) {
		json_decref(root);
		return NULL;
	}
	return root;
}

/* ---------------------------------------------------------------- */
/* the logistic fit (Newton-Raphson over step queries; see query.h) */

#define FIT_DEV_TOL 1e-10L
#define FIT_STEP_TOL 1e-8L

/* The quantile rounds (query.h): in grid units X, the current histogram
 * has bins of w values on [lo, lo + bins w); the quantile is known to lie
 * in [klo, khi). */
typedef struct {
	int64_t xmin, xmax; /* the column's declared range */
	unsigned dec;
	int64_t lo, w;
	unsigned bins;
	int64_t klo, khi;
	int64_t n, rank;  /* n of round 1, rank ceil(p n) */
	uint64_t suppressions;
} fit_quant;

struct mcn_query_fit {
	const mcn_query *q;
	double b[MCN_QUERY_MAX_PREDICTORS + 1];
	size_t np;
	unsigned iter;
	int done;
	long double dev_prev, null_dev;
	mcnq_sbuf text;
	struct mcn_query_result *res;
	int quantile;
	fit_quant qt;
};

static mcn_err
fit_text(mcn_query_fit *f)
{
	f->text.len = 0;
	if (f->quantile) {
		mcnq_quant_text(&f->text, f->q, f->qt.lo, f->qt.w, f->qt.bins);
	} else {
		mcnq_step_text(&f->text, f->q, f->b);
	}
	mcnq_sb_add(&f->text, "", 1); /* NUL */
	return f->text.oom ? MCN_ENOMEM : MCN_OK;
}

/* Sets the next round to cover [lo, hi) (grid units). */
static void
quant_range(fit_quant *t, int64_t lo, int64_t hi)
{
	t->klo = lo;
	t->khi = hi;
	t->lo = lo;
	mcnq_quant_bins(hi - lo, &t->w, &t->bins);
}

mcn_err
mcn_query_fit_new(mcn_query_fit **out, const mcn_query *q)
{
	mcn_query_fit *f;
	mcn_err rv;

	MCN_MUST(out != NULL && q != NULL);
	*out = NULL;
	if (!mcn_query_is_iterative(q)) {
		return MCN_EINVAL;
	}
	if ((f = mcn_zalloc(sizeof(*f))) == NULL) {
		return MCN_ENOMEM;
	}
	f->q = q;
	f->null_dev = NAN;
	if (q->aggs[0].kind == MCN_QUERY_QUANTILE) {
		const mcn_column *c = &q->dict->cols[q->aggs[0].col];
		f->quantile = 1;
		f->qt.dec = c->type == MCN_COL_REAL ? c->decimals : 0;
		/* the column compiled, so its range is representable */
		MCN_MUST(mcnq_x_range(c, &f->qt.xmin, &f->qt.xmax, NULL, 0) ==
		    MCN_OK);
		quant_range(&f->qt, f->qt.xmin, f->qt.xmax + 1);
	} else {
		f->np = MCNQ_LOGIT_NP(&q->blocks[q->aggs[0].block]);
	}
	if ((rv = fit_text(f)) != MCN_OK) {
		mcn_query_fit_free(f);
		return rv;
	}
	*out = f;
	return MCN_OK;
}

const char *
mcn_query_fit_text(const mcn_query_fit *f)
{
	MCN_MUST(f != NULL);
	return f->done ? NULL : f->text.p;
}

unsigned
mcn_query_fit_iterations(const mcn_query_fit *f)
{
	MCN_MUST(f != NULL);
	return f->iter;
}

/* Ends the fit on the current result; problem != NULL: no estimates. */
static void
fit_finish(mcn_query_fit *f, const char *problem)
{
	mcn_query_cell *c = &f->res->outputs[0].cells[0];

	f->done = 1;
	c->iterations = f->iter;
	c->null_deviance = (double)f->null_dev;
	if (problem != NULL) {
		c->problem = problem;
		c->null = 1;
	}
}

/* The grid value X as a double: X / 10^dec, correctly rounded (both
 * operands are exact doubles when |X| <= 2^53, dec <= 22). */
static double
quant_value(const fit_quant *t, int64_t X)
{
	double d = 1;

	for (unsigned i = 0; i < t->dec; i++) {
		d *= 10;
	}
	return (double)X / d;
}

/* Ends a quantile fit: the quantile lies in [lo, hi) (grid units), or
 * problem != NULL. */
static void
quant_finish(mcn_query_fit *f, int64_t lo, int64_t hi, const char *problem)
{
	mcn_query_cell *c = &f->res->outputs[0].cells[0];
	char note[256];

	f->done = 1;
	c->iterations = f->iter;
	c->n = f->qt.n;
	double p10 = 1;
	for (unsigned i = 0; i < f->q->aggs[0].p.scale; i++) {
		p10 *= 10;
	}
	c->p = (double)f->q->aggs[0].p.mant / p10; /* correctly rounded */
	f->res->suppressions = f->qt.suppressions;
	if (problem != NULL) {
		c->problem = problem;
		c->null = 1;
		c->value = c->lower = c->upper = NAN;
		c->is_exact = 0;
		return;
	}
	c->null = 0;
	c->is_exact = hi - lo == 1;
	c->lower = quant_value(&f->qt, lo);
	c->upper = quant_value(&f->qt, hi);
	c->value = c->lower;
	if (f->qt.suppressions > 0) {
		snprintf(note, sizeof(note),
		    "disclosure control: over the %u rounds %llu pooled "
		    "histogram cell%s withheld",
		    f->iter, (unsigned long long)f->qt.suppressions,
		    f->qt.suppressions == 1 ? " was" : "s were");
		(void)add_note(f->res, NOTES_CAP, note); /* best effort */
	}
}

/* One quantile round: locates the bin of rank ceil(p n) in the pooled
 * histogram, allowing for withheld cells (query.h), then ends the fit or
 * sets the next round. */
static mcn_err
quant_update(mcn_query_fit *f, const mcn_query *step, const mpz_t *sums,
    size_t nvalues, unsigned nsites, const mcnq_status *st, int *done)
{
	fit_quant *t = &f->qt;
	const mcnq_agg *sa = &step->aggs[step->naggs > 1 ? 1 : 0],
		       *qa = &f->q->aggs[0];
	struct mcn_query_result *r = NULL;
	const mcn_query_cell *c;
	mcn_err rv;
	const unsigned B = t->bins;
	const size_t nc = (size_t)B + 2; /* below, bins, above */
	int64_t cnt[MCNQ_QUANT_BINS + 2], lb[MCNQ_QUANT_BINS + 2];
	int hid[MCNQ_QUANT_BINS + 2];
	int64_t ca[MCNQ_QUANT_BINS + 2], cb[MCNQ_QUANT_BINS + 2];
	int64_t n_rel = 0, lb_tot = 0;
	int any_hid = 0;

	if (step->naggs != 2 || step->aggs[0].kind != MCN_QUERY_COUNT_X ||
	    step->aggs[0].col != qa->col ||
	    sa->kind != MCN_QUERY_HISTOGRAM || sa->col != qa->col ||
	    sa->bins != B ||
	    !(sa->lo.mant == mcnq_dec_make(t->lo, t->dec).mant &&
	        sa->lo.scale == mcnq_dec_make(t->lo, t->dec).scale) ||
	    !(sa->hi.mant == mcnq_dec_make(t->lo + B * t->w, t->dec).mant &&
	        sa->hi.scale ==
	            mcnq_dec_make(t->lo + B * t->w, t->dec).scale) ||
	    step->ngcols != 0 ||
	    (step->where_text == NULL) != (f->q->where_text == NULL) ||
	    (step->where_text != NULL &&
	        strcmp(step->where_text, f->q->where_text) != 0)) {
		return MCN_EINVAL;
	}
	if ((rv = mcnq_result_build(&r, step, sums, nvalues, nsites, st)) !=
	    MCN_OK) {
		return rv;
	}
	if (f->iter == 0) {
		/* the shell of the quantile query's result (names, notes): its
		 * cell is filled by quant_finish */
		struct mcn_query_result *r0 = NULL;
		size_t nz = f->q->layout.nvalues;
		mpz_t *z = mcn_alloc((nz + 1) * sizeof(mpz_t));
		if (z == NULL) {
			mcn_query_result_free(r);
			return MCN_ENOMEM;
		}
		for (size_t i = 0; i < nz; i++) {
			mpz_init(z[i]);
		}
		rv = mcn_query_result(&r0, f->q, (const mpz_t *)z, nz, nsites);
		for (size_t i = 0; i < nz; i++) {
			mpz_clear(z[i]);
		}
		mcn_free(z, (nz + 1) * sizeof(mpz_t));
		if (rv != MCN_OK) {
			mcn_query_result_free(r);
			return rv;
		}
		f->res = r0;
	}
	f->iter++;
	/* count(x): exact unless a site withheld all its values */
	const mcn_query_cell *cc = &r->outputs[0].cells[0];
	int64_t ncount = cc->suppressed == 0 ? cc->n : -1;
	c = &r->outputs[1].cells[0];
	if (c->suppressed > 0) {
		ncount = -1;
	}
	t->suppressions += r->suppressions;
	/* cells in value order: below, bins, above, and their ranges [ca,
	 * cb) in grid units */
	for (size_t j = 0; j < nc; j++) {
		size_t slot = j == 0 ? B : j == nc - 1 ? (size_t)B + 1 : j - 1;
		int64_t a = j == 0 ? t->xmin : t->lo + (int64_t)(j - 1) * t->w;
		int64_t b = j == 0 ? t->lo :
		    j == nc - 1    ? t->xmax + 1 :
		                     a + t->w;
		if (j == nc - 1) {
			a = t->lo + (int64_t)B * t->w;
		}
		ca[j] = a;
		cb[j] = b;
		cnt[j] = c->counts[slot];
		lb[j] = c->cell_suppressed != NULL && c->cell_suppressed[slot] != 0;
		hid[j] = lb[j] > 0 || c->suppressed > 0;
		any_hid |= hid[j];
		n_rel += cnt[j];
		lb_tot += lb[j];
	}
	mcn_query_result_free(r);

	int64_t H, N, rank;
	if (f->iter == 1 && ncount >= 0) {
		/* the exact count: the withheld total is known */
		t->n = N = ncount;
		H = N - n_rel;
		if (N == 0) {
			quant_finish(f, 0, 0, "no values");
			goto out;
		}
		if (H < lb_tot || (!any_hid && H != 0)) {
			quant_finish(f, 0, 0,
			    "the data changed between the rounds");
			goto out;
		}
	} else if (f->iter == 1) {
		t->n = n_rel;
		if (!any_hid && n_rel == 0) {
			quant_finish(f, 0, 0, "no values");
			goto out;
		}
		/* a site withheld all its values: the withheld counts are
		 * unbounded; rank from the least total, the bins with
		 * withheld counts widen it */
		N = n_rel + lb_tot;
		H = any_hid ? -1 : 0;
	} else {
		N = t->n;
		H = N - n_rel; /* withheld in this round, exactly */
		if (H < lb_tot || (!any_hid && H != 0)) {
			quant_finish(f, 0, 0,
			    "the data changed between the rounds");
			goto out;
		}
	}
	rank = 0;
	if (N > 0) {
		/* ceil(p N), p = mant / 10^scale, exactly */
		unsigned __int128 m = (unsigned __int128)qa->p.mant *
		    (uint64_t)N;
		uint64_t d = 1;
		for (unsigned i = 0; i < qa->p.scale; i++) {
			d *= 10;
		}
		rank = (int64_t)((m + d - 1) / d);
	}
	if (f->iter == 1) {
		t->rank = rank;
	}
	rank = t->rank;

	/* the least and greatest cell that can hold the rank */
	size_t jmin = nc, jmax = nc;
	if (H < 0) {
		/* round 1 with withheld cells: the cell at the least counts,
		 * widened to every cell with withheld counts */
		int64_t cum = 0;
		size_t j0 = nc;
		for (size_t j = 0; j < nc && rank > 0; j++) {
			cum += cnt[j] + lb[j];
			if (cum >= rank) {
				j0 = j;
				break;
			}
		}
		jmin = jmax = j0;
		for (size_t j = 0; j < nc; j++) {
			if (hid[j] || j0 == nc) {
				jmin = j < jmin || jmin == nc ? j : jmin;
				jmax = j > jmax || jmax == nc ? j : jmax;
			}
		}
	} else {
		/* known total H withheld: each withheld cell holds at least
		 * lb, together H */
		int64_t cum = 0, lb_le = 0;
		int hid_le = 0;
		for (size_t j = 0; j < nc; j++) {
			cum += cnt[j];
			lb_le += lb[j];
			hid_le |= hid[j];
			int hid_gt = 0;
			for (size_t k = j + 1; k < nc; k++) {
				hid_gt |= hid[k];
			}
			int64_t most = hid_le ? H - (lb_tot - lb_le) : 0;
			int64_t least = hid_gt ? lb_le : H;
			if (jmin == nc && cum + most >= rank) {
				jmin = j;
			}
			if (jmax == nc && cum + least >= rank) {
				jmax = j;
			}
		}
	}
	if (jmin == nc || jmax == nc) {
		quant_finish(f, 0, 0, "the data changed between the rounds");
		goto out;
	}
	/* the cells' hull, cut to what earlier rounds established */
	int64_t lo = ca[jmin] > t->klo ? ca[jmin] : t->klo;
	int64_t hi = cb[jmax] < t->khi ? cb[jmax] : t->khi;
	if (lo >= hi) {
		quant_finish(f, 0, 0, "the data changed between the rounds");
		goto out;
	}
	if (hi - lo == 1 || jmin != jmax || hid[jmin]) {
		quant_finish(f, lo, hi, NULL); /* exact when one grid value */
		goto out;
	}
	quant_range(t, lo, hi);
	rv = fit_text(f);
out:
	*done = f->done;
	return rv;
}

static mcn_err fit_update_st(mcn_query_fit *f, const mcn_query *step,
    const mpz_t *sums, size_t nvalues, unsigned nsites,
    const mcnq_status *st, int *done);

mcn_err
mcn_query_fit_update(mcn_query_fit *f, const mcn_query *step, const mpz_t *sums,
    size_t nvalues, unsigned nsites, int *done)
{
	return fit_update_st(f, step, sums, nvalues, nsites, NULL, done);
}

mcn_err
mcn_query_fit_update_release(mcn_query_fit *f, const mcn_query *step,
    const mpz_t *vsums, size_t nv, const int64_t *dec, size_t ndec,
    unsigned nsites, int *done)
{
	mcnq_status st;
	mpz_t *F = NULL;
	mcn_err rv;

	MCN_MUST(f != NULL && step != NULL && done != NULL);
	*done = f->done;
	if (f->done) {
		return MCN_EINVAL;
	}
	if ((rv = mcnq_release_unpack(step, vsums, nv, dec, ndec, nsites, &F,
	         &st)) != MCN_OK) {
		return rv;
	}
	rv = fit_update_st(f, step, (const mpz_t *)F, step->layout.nvalues,
	    nsites, &st, done);
	mcnq_full_free(step, F);
	mcnq_status_free(&st);
	return rv;
}

static mcn_err
fit_update_st(mcn_query_fit *f, const mcn_query *step, const mpz_t *sums,
    size_t nvalues, unsigned nsites, const mcnq_status *st, int *done)
{
	const mcnq_agg *sa;
	const mcnq_block *b;
	struct mcn_query_result *r = NULL;
	long double g[MCN_QUERY_MAX_PREDICTORS + 1], ll, dev;
	long double d[MCN_QUERY_MAX_PREDICTORS + 1];
	long double *H = NULL;
	size_t asz = f->np * f->np * sizeof(long double);
	int64_t n;
	mcn_err rv;

	MCN_MUST(f != NULL && step != NULL && done != NULL);
	*done = f->done;
	if (f->done) {
		return MCN_EINVAL;
	}
	if (f->quantile) {
		return quant_update(f, step, sums, nvalues, nsites, st, done);
	}
	if (step->naggs != 1) {
		return MCN_EINVAL;
	}
	sa = &step->aggs[0];
	b = &step->blocks[sa->block];
	if (sa->kind != MCN_QUERY_LOGISTIC || !sa->is_step ||
	    sa->ncoef != f->np || sa->nvars != f->q->aggs[0].nvars ||
	    memcmp(sa->vars, f->q->aggs[0].vars,
	        sa->nvars * sizeof(*sa->vars)) != 0 ||
	    memcmp(sa->coef, f->b, f->np * sizeof(double)) != 0) {
		return MCN_EINVAL;
	}
	if ((H = mcn_alloc(asz)) == NULL) {
		return MCN_ENOMEM;
	}
	if ((rv = mcnq_result_build(&r, step, sums, nvalues, nsites, st)) !=
	    MCN_OK) {
		mcn_free(H, asz);
		return rv;
	}
	mcn_query_result_free(f->res);
	f->res = r;
	f->iter++;
	logit_load(b, sums + b->off, &n, g, H, &ll);
	dev = -2 * ll;
	if (f->iter == 1 && n > 0) {
		/* at b = 0, g_0 = sum (y - 1/2): the outcome total */
		long double m = g[0] + (long double)n / 2, nl = (long double)n;
		long double t = 0;
		if (m > 0.5L) {
			t += m * logl(m / nl);
		}
		if (nl - m > 0.5L) {
			t += (nl - m) * logl((nl - m) / nl);
		}
		f->null_dev = -2 * t;
	}
	mcn_query_cell *c = &r->outputs[0].cells[0];
	if (c->suppressed > 0) {
		fit_finish(f, c->reason); /* withheld: no estimates */
		goto out;
	}
	if (c->problem != NULL) {
		fit_finish(f,
		    f->iter == 1 ? NULL :
		                   "the fit diverged: the information "
		                   "matrix became singular (complete "
		                   "or quasi-complete separation?)");
		goto out;
	}
	if (f->iter > 1 &&
	    fabsl(dev - f->dev_prev) / (fabsl(dev) + 0.1L) < FIT_DEV_TOL) {
		fit_finish(f, NULL);
		goto out;
	}
	f->dev_prev = dev;
	/* delta = H^-1 g by Cholesky (H was positive definite above) */
	if (!cholesky(H, f->np)) {
		fit_finish(f, "the information matrix is singular");
		goto out;
	}
	for (size_t i = 0; i < f->np; i++) { /* L y = g */
		long double t = g[i];
		for (size_t k = 0; k < i; k++) {
			t -= H[i * f->np + k] * d[k];
		}
		d[i] = t / H[i * f->np + i];
	}
	long double dmax = 0;
	for (size_t i = f->np; i-- > 0;) { /* L' d = y */
		long double t = d[i];
		for (size_t k = i + 1; k < f->np; k++) {
			t -= H[k * f->np + i] * d[k];
		}
		d[i] = t / H[i * f->np + i];
		dmax = fabsl(d[i]) > dmax ? fabsl(d[i]) : dmax;
	}
	if (dmax < FIT_STEP_TOL) {
		fit_finish(f, NULL);
		goto out;
	}
	for (size_t j = 0; j < f->np; j++) {
		double nb = (double)((long double)f->b[j] + d[j]);
		if (!isfinite(nb) || fabs(nb) > MCN_QUERY_MAX_COEF) {
			fit_finish(f,
			    "the coefficients diverge (complete or "
			    "quasi-complete separation?)");
			goto out;
		}
		f->b[j] = nb;
	}
	if (f->iter >= MCN_QUERY_FIT_MAX_ITER) {
		fit_finish(f,
		    "no convergence within the iteration limit "
		    "(separation?)");
		goto out;
	}
	rv = fit_text(f);
out:
	mcn_free(H, asz);
	*done = f->done;
	return rv;
}

mcn_err
mcn_query_fit_result(struct mcn_query_result **out, mcn_query_fit *f)
{
	MCN_MUST(out != NULL && f != NULL);
	*out = NULL;
	if (!f->done || f->res == NULL) {
		return MCN_EINVAL;
	}
	*out = f->res;
	f->res = NULL;
	return MCN_OK;
}

void
mcn_query_fit_free(mcn_query_fit *f)
{
	if (f == NULL) {
		return;
	}
	mcnq_sb_free(&f->text);
	mcn_query_result_free(f->res);
	mcn_free(f, sizeof(*f));
}
