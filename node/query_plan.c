/*
 * node/query_plan.c - from a checked query to the vector layout, and the
 * local evaluation of that vector on a node.
 *
 * Plan. The aggregates are grouped into per-group blocks (one "rows" slot
 * shared by every count(), one moments block per variable shared by
 * count(x)/sum/mean/var/sd of x, one block per distinct histogram and
 * table). Each block holds quantities with a per-site range derived from R
 * = max_rows_per_site and the dictionary range [Xmin, Xmax] of the exact
 * integer encoding X of the variable:
 *
 *   counts  [0, R]
 *   S1      [R * min(0, Xmin), R * max(0, Xmax)]
 *   S2      [0, R * max(Xmin^2, Xmax^2)]
 *
 * A quantity whose bound B (largest magnitude in its range) has
 * N * B <= 2^62 (N = nsites) is one slot, so that the sum over N sites
 * stays far inside int64. Otherwise it is written in base 2^40 ("limbs",
 * the multi-precision representation of Knuth, TAOCP vol. 2, 4.3.1, with a
 * signed top digit): V = sum_i l_i 2^(40 i), lower limbs l_i in
 * [0, 2^40), top limb floor(V / 2^(40 (k-1))) with the range that floor
 * gives to [L, H]; k is the smallest count whose top limb satisfies the
 * same N * B <= 2^62 test. Limb sums never overflow (N <= 128), and the
 * querier recombines sum_i (sum of l_i) 2^(40 i) exactly in GMP.
 *
 * Cross-product blocks (linear, cor) hold, over the complete cases, n and
 * for terms T_i with per-row range [a_i, b_i] (X of a numeric column, or
 * a 0/1 indicator of one level of a categorical column):
 *
 *   S_i     [R * min(0, a_i), R * max(0, b_i)]
 *   S_ij    [R * min(0, m_ij), R * max(0, M_ij)], m_ij and M_ij the least
 *           and greatest of a_i a_j, a_i b_j, b_i a_j, b_i b_j (S_ii >= 0)
 *
 * Survival blocks count events and censored rows per grid point: [0, R].
 *
 * Logistic blocks (one per query, ungrouped) hold n, then at the step's
 * coefficients b the gradient g_j, the information H_jk (j <= k) and the
 * log-likelihood over the complete cases (query.h). These are real
 * numbers: each site accumulates them in long double over its rows (x
 * decoded from X as the double X / 10^decimals, so equal to the decimal
 * text), then rounds each site total once to a multiple of 2^-32 (more
 * precise than rounding every row, and nothing more leaves the node). The
 * ranges, with A_j = max |x_j| from the dictionary (1 for the intercept
 * and indicators), |y - p| < 1 and p (1 - p) <= 1/4, are
 *
 *   g_j     [-R A_j 2^32, R A_j 2^32]
 *   H_jk    [-R A_j A_k 2^30, R A_j A_k 2^30] (H_jj >= 0)
 *   loglik  [-35 R 2^32, 0] (each row's term is clamped at -35)
 *
 * rounded outwards; a site total is clamped into its range, which only
 * rounding could leave.
 *
 * Evaluation. One parameterized statement scans the rows matching WHERE
 * and returns the group columns and the variables; C accumulates every
 * slot of every group in that single pass: counts in int64 (bounded by R),
 * S1 in __int128 (|S1| <= 2^40 * 2^53), S2 in a 192-bit accumulator
 * (<= 2^40 * 2^106), then splits them into limbs. SQLite's own SUM is not
 * used, so there is no integer-overflow failure to handle, and real
 * columns are converted to X = llround(x * 10^decimals) per row, exactly.
 *
 * Parallel blocks. The per-row arithmetic of cross-product (linear, cor)
 * and logistic blocks (products x_j x_k, exp, the long double X'WX) is
 * what costs with many terms, so those blocks are not updated in the
 * reading loop: the rows' group, null flags and values are buffered in
 * batches of SCAN_BATCH rows, and each batch is cut into chunks of
 * SCAN_CHUNK rows, a partition that depends on the row order only. With
 * OpenMP and more than one thread, the SQLite scan runs in one thread of
 * a parallel region (SQLite is read by one thread) and hands each full
 * batch's chunks to the others as tasks, then fills a second buffer
 * while they run (double buffering: reading and arithmetic overlap);
 * before it reuses a buffer it waits for that buffer's chunks. Logistic
 * sums are long double, so their order matters: each chunk sums its rows
 * in order into its own accumulators and the chunks are added in chunk
 * order, whatever thread ran them (in one thread, the same partition and
 * the same order); a site's vector is therefore bit-identical for any
 * thread count. Cross-product sums are exact integers (order-free): each
 * thread accumulates into its own copy, added at the end.
 */
#define _POSIX_C_SOURCE 200809L
#define MCN_QUERY_INTERNAL

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "crypto/mem.h"
#include "crypto/noise.h"
#include "node/query.h"

_Static_assert(sizeof(long) == 8, "mpz_get_si must return 64 bits");

#define LIMB_MASK ((UINT64_C(1) << MCN_QUERY_LIMB_BITS) - 1)
#define TWO53 9007199254740992.0

static const int64_t ipow10[] = { 1, 10, 100, 1000, 10000, 100000, 1000000,
	10000000, 100000000, 1000000000 };

static const double dpow10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6 };

/* ---------------------------------------------------------------- */
/* bounds */

/* v = m * 10^d within float noise of an integer? Then that integer; else
 * the floor (up = 0) or ceiling (up = 1), a safe outer bound. */
static double
x_snap(double v, int up)
{
	double r = round(v);

	if (fabs(v - r) <= 8 * DBL_EPSILON * fabs(v) + 1e-9) {
		return r;
	}
	return up ? ceil(v) : floor(v);
}

mcn_err
mcnq_x_range(const mcn_column *c, int64_t *xmin, int64_t *xmax, char *err,
    size_t errlen)
{
	double lo, hi;

	if (c->type == MCN_COL_INTEGER) {
		lo = ceil(c->min);
		hi = floor(c->max);
	} else {
		MCN_MUST(c->type == MCN_COL_REAL &&
		    c->decimals <= MCN_DICT_MAX_DECIMALS);
		lo = x_snap(c->min * dpow10[c->decimals], 0);
		hi = x_snap(c->max * dpow10[c->decimals], 1);
	}
	if (!(fabs(lo) <= TWO53 && fabs(hi) <= TWO53) || lo > hi) {
		mcnq_msg(err, errlen,
		    "column '%s': its declared range is too "
		    "large for exact aggregation (|x * 10^decimals| must be at "
		    "most 2^53)",
		    c->name);
		return MCN_EQUERY;
	}
	*xmin = (int64_t)lo;
	*xmax = (int64_t)hi;
	return MCN_OK;
}

/* The slot(s) of a quantity with per-site range [L, H] (see the top). */
static void
qty_make(mcnq_qty *out, const mpz_t L, const mpz_t H, unsigned nsites)
{
	mpz_t lim, tl, th, b;
	unsigned k;

	mpz_inits(lim, tl, th, b, NULL);
	mpz_set_ui(lim, 1);
	mpz_mul_2exp(lim, lim, 62);
	for (k = 1;; k++) {
		unsigned s = MCN_QUERY_LIMB_BITS * (k - 1);
		mpz_fdiv_q_2exp(tl, L, s);
		mpz_fdiv_q_2exp(th, H, s);
		if (mpz_cmpabs(tl, th) > 0) {
			mpz_abs(b, tl);
		} else {
			mpz_abs(b, th);
		}
		mpz_mul_ui(b, b, nsites);
		if (mpz_cmp(b, lim) <= 0) {
			break;
		}
	}
	out->nlimbs = k;
	out->lo = mpz_get_si(tl);
	out->hi = mpz_get_si(th);
	mpz_clears(lim, tl, th, b, NULL);
}

static void
moments_bounds(mcnq_block *b, int64_t xmin, int64_t xmax,
    const mcn_query_limits *lim)
{
	mpz_t L, H, t;

	mpz_inits(L, H, t, NULL);
	/* S1 in [R min(0, Xmin), R max(0, Xmax)], widened by the noise */
	mpz_set_si(L, xmin < 0 ? xmin : 0);
	mpz_mul_ui(L, L, lim->max_rows_per_site);
	mpz_sub_ui(L, L, (unsigned long)b->dp_bound[1]);
	mpz_set_si(H, xmax > 0 ? xmax : 0);
	mpz_mul_ui(H, H, lim->max_rows_per_site);
	mpz_add_ui(H, H, (unsigned long)b->dp_bound[1]);
	qty_make(&b->s1, L, H, lim->nsites);
	/* S2 in [0, R max(Xmin^2, Xmax^2)] */
	mpz_set_si(H, xmin);
	mpz_mul(H, H, H);
	mpz_set_si(t, xmax);
	mpz_mul(t, t, t);
	if (mpz_cmp(t, H) > 0) {
		mpz_set(H, t);
	}
	mpz_mul_ui(H, H, lim->max_rows_per_site);
	mpz_add_ui(H, H, (unsigned long)b->dp_bound[2]);
	mpz_set_si(L, -b->dp_bound[2]);
	qty_make(&b->s2, L, H, lim->nsites);
	mpz_clears(L, H, t, NULL);
}

/* ---------------------------------------------------------------- */
/* plan */

static int
level_cmp(const void *a, const void *b)
{
	return strcmp(((const mcnq_level *)a)->s, ((const mcnq_level *)b)->s);
}

static size_t
scol_add(mcn_query *q, int col)
{
	for (size_t i = 0; i < q->nscols; i++) {
		if (q->scols[i].col == col) {
			return i;
		}
	}
	q->scols[q->nscols].col = col;
	return q->nscols++;
}

static int
dec_eq(mcnq_dec a, mcnq_dec b)
{
	return a.mant == b.mant && a.scale == b.scale;
}

/* Finds the block an aggregate shares, or creates it. */
static mcnq_block *
block_for(mcn_query *q, const mcnq_agg *a)
{
	mcnq_bkind kind;
	mcnq_block *b;

	switch (a->kind) {
	case MCN_QUERY_COUNT: kind = MCNQ_B_ROWS; break;
	case MCN_QUERY_HISTOGRAM:
	case MCN_QUERY_QUANTILE: kind = MCNQ_B_HIST; break;
	case MCN_QUERY_TABLE: kind = MCNQ_B_TABLE; break;
	case MCN_QUERY_LINEAR:
	case MCN_QUERY_COR: kind = MCNQ_B_CROSS; break;
	case MCN_QUERY_SURVIVAL: kind = MCNQ_B_SURV; break;
	case MCN_QUERY_LOGISTIC: kind = MCNQ_B_LOGIT; break;
	default: kind = MCNQ_B_MOMENTS; break;
	}
	for (size_t i = 0; i < q->nblocks; i++) {
		if (kind == MCNQ_B_CROSS || kind == MCNQ_B_SURV ||
		    kind == MCNQ_B_LOGIT) {
			break; /* never shared */
		}
		b = &q->blocks[i];
		if (b->kind != kind || b->col != a->col) {
			continue;
		}
		if (kind == MCNQ_B_HIST &&
		    (b->bins != a->bins || !dec_eq(q->aggs[b->agg].lo, a->lo) ||
		        !dec_eq(q->aggs[b->agg].hi, a->hi))) {
			continue;
		}
		if (kind == MCNQ_B_TABLE && b->col2 != a->col2) {
			continue;
		}
		return b;
	}
	b = &q->blocks[q->nblocks++];
	b->kind = kind;
	b->col = a->col;
	b->col2 = kind == MCNQ_B_TABLE || kind == MCNQ_B_SURV ? a->col2 : -1;
	if (kind == MCNQ_B_HIST) {
		b->bins = a->bins;
	}
	b->agg = (size_t)(a - q->aggs);
	return b;
}

/* The terms of a linear or cor block: every variable numeric (its X)
 * or categorical (indicators of levels 1..nlevels-1). */
static mcn_err
cross_terms(mcn_query *q, const mcnq_agg *a, mcnq_block *b)
{
	const mcn_dict *d = q->dict;
	size_t nt = 0;

	for (size_t v = 0; v < a->nvars; v++) {
		const mcn_column *c = &d->cols[a->vars[v]];
		nt += c->type == MCN_COL_CATEGORICAL ? c->nlevels - 1 : 1;
	}
	b->terms = mcnq_alloc(&q->arena, nt * sizeof(*b->terms));
	b->need = mcnq_alloc(&q->arena, a->nvars * sizeof(*b->need));
	if (b->terms == NULL || b->need == NULL) {
		return MCN_ENOMEM;
	}
	for (size_t v = 0; v < a->nvars; v++) {
		const mcn_column *c = &d->cols[a->vars[v]];
		size_t s = scol_add(q, a->vars[v]);
		b->need[b->nneed++] = s;
		if (c->type != MCN_COL_CATEGORICAL) {
			q->scols[s].need_x = 1;
			b->terms[b->nterms].scol = s;
			b->terms[b->nterms].level = -1;
			b->terms[b->nterms++].dec =
			    c->type == MCN_COL_REAL ? c->decimals : 0;
			continue;
		}
		for (size_t l = 1; l < c->nlevels; l++) {
			b->terms[b->nterms].scol = s;
			b->terms[b->nterms].level = (int)l;
			b->terms[b->nterms++].dec = 0;
		}
	}
	return MCN_OK;
}

/* Per-site ranges of n, S_i and S_ij of a cross block, their limbs and
 * slot offsets; sets nslots and the accumulator offset. */
static mcn_err
cross_bounds(mcn_query *q, mcnq_block *b)
{
	const uint64_t R = q->lim.max_rows_per_site;
	size_t nt = b->nterms, off = 1, k = 0;
	mpz_t L, H, t;

	for (size_t i = 0; i < nt; i++) {
		mcnq_term *tm = &b->terms[i];
		if (tm->level < 0) {
			tm->lo = q->scols[tm->scol].xmin;
			tm->hi = q->scols[tm->scol].xmax;
		} else {
			tm->lo = 0;
			tm->hi = 1;
		}
	}
	b->nxq = nt + nt * (nt + 1) / 2;
	b->xq = mcnq_alloc(&q->arena, b->nxq * sizeof(*b->xq));
	b->xoff = mcnq_alloc(&q->arena, b->nxq * sizeof(*b->xoff));
	if (b->xq == NULL || b->xoff == NULL) {
		return MCN_ENOMEM;
	}
	b->acc = q->nxacc;
	q->nxacc += b->nxq;
	mpz_inits(L, H, t, NULL);
	for (size_t i = 0; i < nt; i++, k++) {
		mpz_set_si(L, b->terms[i].lo < 0 ? b->terms[i].lo : 0);
		mpz_mul_ui(L, L, R);
		mpz_set_si(H, b->terms[i].hi > 0 ? b->terms[i].hi : 0);
		mpz_mul_ui(H, H, R);
		qty_make(&b->xq[k], L, H, q->lim.nsites);
		b->xoff[k] = off;
		off += b->xq[k].nlimbs;
	}
	for (size_t i = 0; i < nt; i++) {
		for (size_t j = i; j < nt; j++, k++) {
			int64_t ei[2] = { b->terms[i].lo, b->terms[i].hi };
			int64_t ej[2] = { b->terms[j].lo, b->terms[j].hi };
			mpz_set_ui(L, 0);
			mpz_set_ui(H, 0);
			for (int u = 0; u < 4; u++) {
				mpz_set_si(t, ei[u / 2]);
				mpz_mul_si(t, t, ej[u % 2]);
				if (mpz_cmp(t, L) < 0 && i != j) {
					mpz_set(L, t);
				}
				if (mpz_cmp(t, H) > 0) {
					mpz_set(H, t);
				}
			}
			mpz_mul_ui(L, L, R);
			mpz_mul_ui(H, H, R);
			qty_make(&b->xq[k], L, H, q->lim.nsites);
			b->xoff[k] = off;
			off += b->xq[k].nlimbs;
		}
	}
	mpz_clears(L, H, t, NULL);
	b->nslots = off;
	return MCN_OK;
}

/* Largest |x| of logistic parameter j as a rational num / 10^dec:
 * intercept 1, indicator 1, numeric max(|Xmin|, |Xmax|). */
static void
logit_ax(mpz_t num, unsigned *dec, const mcnq_block *b, size_t j)
{
	const mcnq_term *tm = &b->terms[j];

	*dec = 0;
	if (j == 0 || tm->level >= 0) {
		mpz_set_ui(num, 1);
		return;
	}
	mpz_set_si(num, tm->lo);
	mpz_abs(num, num);
	if (mpz_cmp_si(num, tm->hi < 0 ? -tm->hi : tm->hi) < 0) {
		mpz_set_si(num, tm->hi < 0 ? -tm->hi : tm->hi);
	}
	*dec = tm->dec;
}

/* Per-site ranges of a logistic block (see query.h): n, then g_j
 * in +-R max|x_j|, H_jk in +-R max|x_j| max|x_k| / 4 (H_jj >= 0) and the
 * log-likelihood in [-35 R, 0], all times 2^32 and rounded outwards.
 * Parameter 0 is the intercept; terms[j] (j >= 1) the predictors (terms[0]
 * is the outcome). MCN_EQUERY if a bound reaches 2^124 (the site totals
 * are rounded through __int128). */
static mcn_err
logit_bounds(mcn_query *q, mcnq_block *b, char *err, size_t errlen)
{
	const uint64_t R = q->lim.max_rows_per_site;
	const size_t np = MCNQ_LOGIT_NP(b);
	size_t off = 1, k = 0;
	unsigned di, dj;
	mpz_t L, H, ai, aj, den;
	mcn_err rv = MCN_OK;

	for (size_t i = 0; i < b->nterms; i++) {
		mcnq_term *tm = &b->terms[i];
		if (tm->level < 0) {
			tm->lo = q->scols[tm->scol].xmin;
			tm->hi = q->scols[tm->scol].xmax;
		} else {
			tm->lo = 0;
			tm->hi = 1;
		}
	}
	b->nxq = np + np * (np + 1) / 2 + 1;
	b->xq = mcnq_alloc(&q->arena, b->nxq * sizeof(*b->xq));
	b->xoff = mcnq_alloc(&q->arena, b->nxq * sizeof(*b->xoff));
	if (b->xq == NULL || b->xoff == NULL) {
		return MCN_ENOMEM;
	}
	mpz_inits(L, H, ai, aj, den, NULL);
	for (size_t i = 0; i < np; i++, k++) {
		logit_ax(ai, &di, b, i);
		mpz_mul_ui(H, ai, R);
		mpz_mul_2exp(H, H, MCNQ_LOGIT_FRAC);
		mpz_ui_pow_ui(den, 10, di);
		mpz_cdiv_q(H, H, den);
		mpz_neg(L, H);
		if (mpz_sizeinbase(H, 2) >= 124) {
			goto wide;
		}
		qty_make(&b->xq[k], L, H, q->lim.nsites);
		b->xoff[k] = off;
		off += b->xq[k].nlimbs;
	}
	for (size_t i = 0; i < np; i++) {
		for (size_t j = i; j < np; j++, k++) {
			logit_ax(ai, &di, b, i);
			logit_ax(aj, &dj, b, j);
			mpz_mul(H, ai, aj);
			mpz_mul_ui(H, H, R);
			mpz_mul_2exp(H, H, MCNQ_LOGIT_FRAC - 2);
			mpz_ui_pow_ui(den, 10, di + dj);
			mpz_cdiv_q(H, H, den);
			if (i == j) {
				mpz_set_ui(L, 0);
			} else {
				mpz_neg(L, H);
			}
			if (mpz_sizeinbase(H, 2) >= 124) {
				goto wide;
			}
			qty_make(&b->xq[k], L, H, q->lim.nsites);
			b->xoff[k] = off;
			off += b->xq[k].nlimbs;
		}
	}
	mpz_set_ui(L, R);
	mpz_mul_ui(L, L, 35);
	mpz_mul_2exp(L, L, MCNQ_LOGIT_FRAC);
	mpz_neg(L, L);
	mpz_set_ui(H, 0);
	qty_make(&b->xq[k], L, H, q->lim.nsites);
	b->xoff[k] = off;
	off += b->xq[k].nlimbs;
	b->nslots = off;
	goto out;
wide:
	mcnq_msg(err, errlen,
	    "%s: the predictor ranges of the dictionary are too "
	    "wide for the fixed-point sums",
	    q->aggs[b->agg].name);
	rv = MCN_EQUERY;
out:
	mpz_clears(L, H, ai, aj, den, NULL);
	return rv;
}

/* WITH EPSILON e: every count-like slot, S1 and S2 gets a noise share
 * (crypto/noise.h). Neighbouring data sets differ by one patient, who
 * lies in one group and changes, per block, one count-like value by 1
 * (rows; a moments block's n; one histogram bin or table cell: L1
 * sensitivity 1), S1 by at most max|X| and S2 by at most max X^2. With C
 * such components per group, each gets e / C, so its noise scale is
 * sensitivity * C / e and the whole vector is e-differentially private
 * (sequential composition over components, parallel over groups). */
static mcn_err
dp_plan(mcn_query *q, char *err, size_t errlen)
{
	unsigned C = 0;
	for (size_t i = 0; i < q->nblocks; i++) {
		const mcnq_block *b = &q->blocks[i];
		C += 1 + (b->kind == MCNQ_B_MOMENTS ? b->need_s1 + b->need_s2 : 0);
	}
	for (size_t i = 0; i < q->nblocks; i++) {
		mcnq_block *b = &q->blocks[i];
		double sens[3] = { 1, 0, 0 };
		if (b->kind == MCNQ_B_MOMENTS && b->need_s1) {
			const mcnq_scol *sc = &q->scols[b->scol];
			double a = fabs((double)sc->xmin), c = fabs((double)sc->xmax);
			double m = a > c ? a : c;
			sens[1] = m;
			sens[2] = b->need_s2 ? m * m : 0;
		}
		for (int j = 0; j < 3; j++) {
			double sc = sens[j] * C / q->epsilon;
			if (sens[j] == 0) {
				continue;
			}
			if (!(sc <= MCN_NOISE_MAX_SCALE)) {
				mcnq_msg(err, errlen,
				    "the range of column '%s' is too wide for "
				    "differential privacy at epsilon %g",
				    q->dict->cols[b->col].name, q->epsilon);
				return MCN_EQUERY;
			}
			b->dp_scale[j] = sc;
			b->dp_bound[j] = mcn_noise_share_bound(sc);
		}
	}
	return MCN_OK;
}

mcn_err
mcnq_plan(mcn_query *q, char *err, size_t errlen)
{
	const mcn_dict *d = q->dict;
	const uint64_t R = q->lim.max_rows_per_site;
	mcnq_sbuf sql = { 0 };
	int64_t *plo = NULL, *phi = NULL;
	size_t psz = 0;
	mcn_err rv = MCN_ENOMEM;

	q->blocks = mcnq_alloc(&q->arena, (q->naggs + 1) * sizeof(*q->blocks));
	/* scol_add never repeats a column */
	q->scols = mcnq_alloc(&q->arena, (d->ncols + 1) * sizeof(*q->scols));
	if (q->blocks == NULL || q->scols == NULL) {
		goto out;
	}
	for (size_t j = 0; j < q->ngcols; j++) {
		(void)scol_add(q, q->gcols[j]);
	}

	/* blocks */
	for (size_t i = 0; i < q->naggs; i++) {
		mcnq_agg *a = &q->aggs[i];
		mcnq_block *b = block_for(q, a);
		a->block = (size_t)(b - q->blocks);
		if (a->col >= 0) {
			b->scol = scol_add(q, a->col);
		}
		if (a->col2 >= 0) {
			b->scol2 = scol_add(q, a->col2);
		}
		switch (a->kind) {
		case MCN_QUERY_VAR:
		case MCN_QUERY_SD:
			b->need_s2 = 1;
			/* FALLTHROUGH */
		case MCN_QUERY_SUM:
		case MCN_QUERY_MEAN:
			b->need_s1 = 1;
			q->scols[b->scol].need_x = 1;
			break;
		case MCN_QUERY_HISTOGRAM:
		case MCN_QUERY_QUANTILE: q->scols[b->scol].need_x = 1; break;
		case MCN_QUERY_SURVIVAL:
			q->scols[b->scol].need_x = 1;
			q->scols[b->scol2].need_x = 1;
			break;
		case MCN_QUERY_LINEAR:
		case MCN_QUERY_COR:
		case MCN_QUERY_LOGISTIC:
			if ((rv = cross_terms(q, a, b)) != MCN_OK) {
				goto out;
			}
			break;
		default: break;
		}
	}
	/* Outputs whose cells are sums of another output's cells would give
	 * withheld cells away by subtraction within one answer (the
	 * release rule suppresses within each histogram or table): two
	 * histograms of one column, a two-way table beside another table of
	 * one of its columns. */
	for (size_t i = 0; !q->internal && i < q->nblocks; i++) {
		const mcnq_block *b = &q->blocks[i];
		for (size_t j = 0; j < q->nblocks; j++) {
			const mcnq_block *c = &q->blocks[j];
			int clash = 0;
			if (j > i && b->kind == MCNQ_B_HIST &&
			    c->kind == MCNQ_B_HIST && b->col == c->col) {
				clash = 1;
			}
			if (b->kind == MCNQ_B_TABLE && b->col2 >= 0 && j != i &&
			    c->kind == MCNQ_B_TABLE &&
			    (c->col == b->col || c->col == b->col2 ||
			        c->col2 == b->col || c->col2 == b->col2)) {
				clash = 1;
			}
			if (clash) {
				mcnq_msg(err, errlen,
				    "%s and %s in one query: the cells of one "
				    "are sums of the other's, so cells withheld "
				    "by disclosure control could be derived; ask "
				    "them in separate queries",
				    q->aggs[b->agg].name, q->aggs[c->agg].name);
				rv = MCN_EQUERY;
				goto out;
			}
		}
	}
	if (q->nscols > MCN_QUERY_MAX_SCAN) {
		mcnq_msg(err, errlen,
		    "query reads %zu columns, more than the "
		    "limit of %d",
		    q->nscols, MCN_QUERY_MAX_SCAN);
		rv = MCN_EQUERY;
		goto out;
	}

	/* columns read by the scan */
	for (size_t s = 0; s < q->nscols; s++) {
		mcnq_scol *sc = &q->scols[s];
		const mcn_column *c = &d->cols[sc->col];
		if (sc->need_x &&
		    (rv = mcnq_x_range(c, &sc->xmin, &sc->xmax, err, errlen)) !=
		        MCN_OK) {
			goto out;
		}
		if (c->type == MCN_COL_CATEGORICAL) {
			sc->sorted = mcnq_alloc(&q->arena,
			    c->nlevels * sizeof(*sc->sorted));
			if (sc->sorted == NULL) {
				rv = MCN_ENOMEM;
				goto out;
			}
			for (size_t i = 0; i < c->nlevels; i++) {
				sc->sorted[i].s = c->levels[i];
				sc->sorted[i].idx = i;
			}
			qsort(sc->sorted, c->nlevels, sizeof(*sc->sorted),
			    level_cmp);
		}
	}

	if (q->has_epsilon && (rv = dp_plan(q, err, errlen)) != MCN_OK) {
		goto out;
	}

	/* slots per block and offsets within a group */
	q->per_group = 0;
	for (size_t i = 0; i < q->nblocks; i++) {
		mcnq_block *b = &q->blocks[i];
		const mcnq_scol *sc = &q->scols[b->scol];
		b->off = q->per_group;
		switch (b->kind) {
		case MCNQ_B_ROWS: b->nslots = 1; break;
		case MCNQ_B_MOMENTS:
			b->nslots = 1;
			b->moment = q->nmoments++;
			if (b->need_s1) {
				moments_bounds(b, sc->xmin, sc->xmax, &q->lim);
				b->nslots += b->s1.nlimbs;
				if (b->need_s2) {
					b->nslots += b->s2.nlimbs;
				}
			}
			break;
		case MCNQ_B_HIST: {
			const mcnq_agg *a = &q->aggs[b->agg];
			const mcn_column *c = &d->cols[b->col];
			unsigned dd = c->type == MCN_COL_REAL ? c->decimals : 0;
			unsigned D = dd;
			if (a->lo.scale > D) {
				D = a->lo.scale;
			}
			if (a->hi.scale > D) {
				D = a->hi.scale;
			}
			b->xmul = ipow10[D - dd];
			b->lo_s =
			    (__int128)a->lo.mant * ipow10[D - a->lo.scale];
			b->hi_s =
			    (__int128)a->hi.mant * ipow10[D - a->hi.scale];
			b->nslots = (size_t)b->bins + 2;
			break;
		}
		case MCNQ_B_TABLE:
			b->nr = d->cols[b->col].nlevels;
			b->nc = b->col2 >= 0 ? d->cols[b->col2].nlevels : 1;
			b->nslots = b->nr * b->nc;
			break;
		case MCNQ_B_CROSS:
			if ((rv = cross_bounds(q, b)) != MCN_OK) {
				goto out;
			}
			break;
		case MCNQ_B_LOGIT:
			if ((rv = logit_bounds(q, b, err, errlen)) != MCN_OK) {
				goto out;
			}
			break;
		case MCNQ_B_SURV: {
			const mcnq_agg *a = &q->aggs[b->agg];
			uint64_t npts;
			b->tmin = sc->xmin;
			b->step = a->step;
			npts = (uint64_t)(sc->xmax - sc->xmin) /
			        (uint64_t)a->step +
			    1;
			if (npts > MCN_QUERY_MAX_GRID / q->ngroups) {
				mcnq_msg(err, errlen,
				    "%s: the grid has %llu points "
				    "x %zu groups, more than %d; give a "
				    "coarser "
				    "step: survival(time, event, step)",
				    a->name, (unsigned long long)npts,
				    q->ngroups, MCN_QUERY_MAX_GRID);
				rv = MCN_EQUERY;
				goto out;
			}
			b->npts = (size_t)npts;
			b->nslots = 2 * b->npts;
			break;
		}
		}
		q->per_group += b->nslots;
	}
	if ((uint64_t)q->per_group * q->ngroups > MCN_AGG_MAX_VALUES) {
		mcnq_msg(err, errlen,
		    "query needs %llu values, more than the "
		    "limit of %u",
		    (unsigned long long)q->per_group * q->ngroups,
		    (unsigned)MCN_AGG_MAX_VALUES);
		rv = MCN_EQUERY;
		goto out;
	}

	/* per-group slot ranges, then fields = runs of equal ranges */
	psz = q->per_group * sizeof(int64_t);
	plo = mcn_alloc(psz);
	phi = mcn_alloc(psz);
	if (plo == NULL || phi == NULL) {
		rv = MCN_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < q->nblocks; i++) {
		const mcnq_block *b = &q->blocks[i];
		size_t k = b->off;
		int64_t w = b->dp_bound[0]; /* noise on count slots */
		for (size_t s = 0; s < b->nslots; s++) {
			int cnt = b->kind == MCNQ_B_ROWS ||
			    b->kind == MCNQ_B_HIST || b->kind == MCNQ_B_TABLE ||
			    (b->kind == MCNQ_B_MOMENTS && s == 0);
			plo[k + s] = cnt ? -w : 0;
			phi[k + s] = (int64_t)R + (cnt ? w : 0);
		}
		if (b->kind == MCNQ_B_MOMENTS && b->need_s1) {
			const mcnq_qty *qs[2] = { &b->s1, &b->s2 };
			k++;
			for (int j = 0; j < 1 + b->need_s2; j++) {
				for (unsigned l = 0; l + 1 < qs[j]->nlimbs;
				     l++) {
					plo[k] = 0;
					phi[k++] = (int64_t)LIMB_MASK;
				}
				plo[k] = qs[j]->lo;
				phi[k++] = qs[j]->hi;
			}
		}
		for (size_t x = 0;
		     (b->kind == MCNQ_B_CROSS || b->kind == MCNQ_B_LOGIT) &&
		     x < b->nxq;
		     x++) {
			const mcnq_qty *qt = &b->xq[x];
			k = b->off + b->xoff[x];
			for (unsigned l = 0; l + 1 < qt->nlimbs; l++) {
				plo[k] = 0;
				phi[k++] = (int64_t)LIMB_MASK;
			}
			plo[k] = qt->lo;
			phi[k] = qt->hi;
		}
	}
	for (int pass = 0; pass < 2; pass++) {
		mcn_pack_field *f = q->layout.fields;
		size_t nf = 0;
		for (size_t g = 0; g < q->ngroups; g++) {
			for (size_t s = 0; s < q->per_group; s++) {
				if (nf > 0 && f != NULL &&
				    f[nf - 1].lo == plo[s] &&
				    f[nf - 1].hi == phi[s]) {
					f[nf - 1].count++;
					continue;
				}
				if (pass == 0 && nf > 0 &&
				    plo[s] ==
				        plo[s > 0 ? s - 1 : q->per_group - 1] &&
				    phi[s] ==
				        phi[s > 0 ? s - 1 : q->per_group - 1]) {
					continue; /* same run as the slot before */
				}
				if (f != NULL) {
					f[nf].count = 1;
					f[nf].lo = plo[s];
					f[nf].hi = phi[s];
				}
				nf++;
			}
		}
		if (pass == 0) {
			q->layout.fields = mcnq_alloc(&q->arena,
			    nf * sizeof(*q->layout.fields));
			if (q->layout.fields == NULL) {
				rv = MCN_ENOMEM;
				goto out;
			}
		} else {
			q->layout.nfields = nf;
		}
	}
	q->layout.nvalues = q->per_group * q->ngroups;
	if ((rv = mcnq_release_plan(q, plo, phi, err, errlen)) != MCN_OK) {
		goto out;
	}

	/* the scan */
	q->count_only = q->ngcols == 0;
	for (size_t i = 0; i < q->nblocks; i++) {
		q->count_only &= q->blocks[i].kind == MCNQ_B_ROWS;
	}
	mcnq_sb_puts(&sql, "SELECT count(*) FROM ");
	mcnq_sb_ident(&sql, d->table);
	if (!sql.oom) {
		q->count_sql = mcnq_strndup(&q->arena, sql.p, sql.len);
	}
	sql.len = 0;
	mcnq_sb_puts(&sql, "SELECT ");
	if (q->count_only) {
		mcnq_sb_puts(&sql, "count(*)");
	}
	for (size_t s = 0; !q->count_only && s < q->nscols; s++) {
		if (s > 0) {
			mcnq_sb_puts(&sql, ", ");
		}
		mcnq_sb_ident(&sql, d->cols[q->scols[s].col].name);
	}
	mcnq_sb_puts(&sql, " FROM ");
	mcnq_sb_ident(&sql, d->table);
	if (!sql.oom) {
		q->scan_head = mcnq_strndup(&q->arena, sql.p, sql.len);
	}
	if (q->where_sql != NULL) {
		mcnq_sb_puts(&sql, " WHERE ");
		mcnq_sb_puts(&sql, q->where_sql);
	}
	if (sql.oom || q->count_sql == NULL || q->scan_head == NULL) {
		rv = MCN_ENOMEM;
		goto out;
	}
	q->sql = mcnq_strndup(&q->arena, sql.p, sql.len);
	rv = q->sql == NULL ? MCN_ENOMEM : MCN_OK;
out:
	mcn_free(plo, psz);
	mcn_free(phi, psz);
	mcnq_sb_free(&sql);
	return rv;
}

/* ---------------------------------------------------------------- */
/* local evaluation */

/* A 192-bit two's complement integer, least significant word first. */
typedef struct {
	uint64_t w[3];
} i192;

static void
i192_add_i128(i192 *a, __int128 x)
{
	unsigned __int128 lo = ((unsigned __int128)a->w[1] << 64) | a->w[0];
	unsigned __int128 s = lo + (unsigned __int128)x;

	a->w[0] = (uint64_t)s;
	a->w[1] = (uint64_t)(s >> 64);
	a->w[2] += (uint64_t)(s < lo) + (x < 0 ? UINT64_MAX : 0);
}

static void
i192_add_u128(i192 *a, unsigned __int128 x)
{
	unsigned __int128 lo = ((unsigned __int128)a->w[1] << 64) | a->w[0];
	unsigned __int128 s = lo + x;

	a->w[0] = (uint64_t)s;
	a->w[1] = (uint64_t)(s >> 64);
	a->w[2] += s < lo;
}

static i192
i192_from_i128(__int128 v)
{
	i192 r;

	r.w[0] = (uint64_t)v;
	r.w[1] = (uint64_t)((unsigned __int128)v >> 64);
	r.w[2] = v < 0 ? UINT64_MAX : 0;
	return r;
}

/* Arithmetic shift right by MCN_QUERY_LIMB_BITS (< 64). */
static void
i192_sar_limb(i192 *a)
{
	const unsigned s = MCN_QUERY_LIMB_BITS;
	uint64_t sign = (a->w[2] >> 63) ? UINT64_MAX : 0;

	a->w[0] = (a->w[0] >> s) | (a->w[1] << (64 - s));
	a->w[1] = (a->w[1] >> s) | (a->w[2] << (64 - s));
	a->w[2] = (a->w[2] >> s) | (sign << (64 - s));
}

/* Writes v as q->nlimbs slots; MCN_ERANGE if the top limb is outside its
 * planned range (cannot happen when the data respect the dictionary). */
static mcn_err
limbs_put(int64_t *out, i192 v, const mcnq_qty *qt)
{
	int64_t top;

	for (unsigned i = 0; i + 1 < qt->nlimbs; i++) {
		out[i] = (int64_t)(v.w[0] & LIMB_MASK);
		i192_sar_limb(&v);
	}
	top = (int64_t)v.w[0];
	if (v.w[1] != (top < 0 ? UINT64_MAX : 0) || v.w[2] != v.w[1] ||
	    top < qt->lo || top > qt->hi) {
		return MCN_ERANGE;
	}
	out[qt->nlimbs - 1] = top;
	return MCN_OK;
}

static int
level_find(const mcnq_scol *sc, size_t nlevels, const char *v)
{
	size_t lo = 0, hi = nlevels;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(v, sc->sorted[mid].s);
		if (c == 0) {
			return (int)sc->sorted[mid].idx;
		}
		if (c < 0) {
			hi = mid;
		} else {
			lo = mid + 1;
		}
	}
	return -1;
}

static mcn_err
bind_params(const mcn_query *q, sqlite3_stmt *st)
{
	for (size_t i = 0; i < q->nparams; i++) {
		const mcnq_param *p = &q->params[i];
		int r = SQLITE_OK, k = (int)i + 1;
		switch (p->type) {
		case MCNQ_P_INT: r = sqlite3_bind_int64(st, k, p->i); break;
		case MCNQ_P_REAL: r = sqlite3_bind_double(st, k, p->d); break;
		case MCNQ_P_TEXT:
			r = sqlite3_bind_text(st, k, p->s, p->slen,
			    SQLITE_STATIC);
			break;
		}
		if (r != SQLITE_OK) {
			return r == SQLITE_NOMEM ? MCN_ENOMEM : MCN_EDATA;
		}
	}
	return MCN_OK;
}

/* Reads row values of the scan into nul[] / xv[] (X or level index). */
static mcn_err
read_row(const mcn_query *q, sqlite3_stmt *st, unsigned char *nul, int64_t *xv,
    char *err, size_t errlen)
{
	for (size_t s = 0; s < q->nscols; s++) {
		const mcnq_scol *sc = &q->scols[s];
		const mcn_column *c = &q->dict->cols[sc->col];
		int t = sqlite3_column_type(st, (int)s);
		nul[s] = t == SQLITE_NULL;
		if (nul[s]) {
			continue;
		}
		if (c->type == MCN_COL_CATEGORICAL) {
			const char *v =
			    (const char *)sqlite3_column_text(st, (int)s);
			int idx;
			if (v == NULL) {
				return MCN_ENOMEM;
			}
			idx = level_find(sc, c->nlevels, v);
			if (idx < 0) {
				mcnq_msg(err, errlen,
				    "column '%s' holds a "
				    "value that is not a declared level",
				    c->name);
				return MCN_EDATA;
			}
			xv[s] = idx;
		} else if (sc->need_x) {
			int64_t x;
			if (t != SQLITE_INTEGER && t != SQLITE_FLOAT) {
				mcnq_msg(err, errlen,
				    "column '%s' holds a "
				    "non-numeric value",
				    c->name);
				return MCN_EDATA;
			}
			if (c->type == MCN_COL_INTEGER && t == SQLITE_INTEGER) {
				x = sqlite3_column_int64(st, (int)s);
			} else {
				double v = sqlite3_column_double(st, (int)s);
				if (c->type == MCN_COL_INTEGER) {
					if (v != floor(v)) {
						mcnq_msg(err, errlen,
						    "column "
						    "'%s' holds a non-integer "
						    "value",
						    c->name);
						return MCN_EDATA;
					}
				} else {
					v *= dpow10[c->decimals];
				}
				if (!(fabs(v) <= TWO53 * 2)) {
					goto range;
				}
				x = llround(v);
			}
			if (x < sc->xmin || x > sc->xmax) {
				goto range;
			}
			xv[s] = x;
			continue;
range:
			mcnq_msg(err, errlen,
			    "column '%s' holds a value "
			    "outside its dictionary range",
			    c->name);
			return MCN_EDATA;
		}
	}
	return MCN_OK;
}

/* One row's contribution to a cross block (complete cases only). */
static void
cross_row(const mcn_query *q, const mcnq_block *b, const unsigned char *nul,
    const int64_t *xv, int64_t *v, i192 *acc)
{
	int64_t tv[MCN_QUERY_MAX_PREDICTORS + MCN_QUERY_MAX_COR + 1];
	size_t nt = b->nterms, k = nt;

	(void)q;
	for (size_t i = 0; i < b->nneed; i++) {
		if (nul[b->need[i]]) {
			return;
		}
	}
	v[0]++;
	for (size_t i = 0; i < nt; i++) {
		const mcnq_term *tm = &b->terms[i];
		tv[i] =
		    tm->level < 0 ? xv[tm->scol] : xv[tm->scol] == tm->level;
		i192_add_i128(&acc[i], tv[i]);
	}
	for (size_t i = 0; i < nt; i++) {
		for (size_t j = i; j < nt; j++, k++) {
			if (tv[i] != 0 && tv[j] != 0) {
				i192_add_i128(&acc[k], (__int128)tv[i] * tv[j]);
			}
		}
	}
	mcn_wipe(tv, sizeof(tv));
}

/* One row's contribution to a logistic block at coefficients a->coef
 * (NULL: 0): acc[] = g (np), H (upper triangle), log-likelihood, sum of
 * p, in long double; p and log p computed without overflow on either
 * side. */
static void
logit_row(const mcn_query *q, const mcnq_block *b, const unsigned char *nul,
    const int64_t *xv, int64_t *v, long double *acc)
{
	static const long double p10[] = { 1e0L, 1e1L, 1e2L, 1e3L, 1e4L, 1e5L,
		1e6L };
	const mcnq_agg *a = &q->aggs[b->agg];
	const size_t np = MCNQ_LOGIT_NP(b);
	long double x[MCN_QUERY_MAX_PREDICTORS + 1], eta = 0, p, pq, lp, lq;
	long double y, r, ll;
	size_t k = np;

	for (size_t i = 0; i < b->nneed; i++) {
		if (nul[b->need[i]]) {
			return;
		}
	}
	v[0]++;
	y = (long double)xv[b->terms[0].scol];
	x[0] = 1;
	for (size_t j = 1; j < np; j++) {
		const mcnq_term *tm = &b->terms[j];
		x[j] = tm->level < 0 ?
		    (long double)((double)xv[tm->scol] / (double)p10[tm->dec]) :
		    (long double)(xv[tm->scol] == tm->level);
	}
	for (size_t j = 0; a->coef != NULL && j < np; j++) {
		eta += (long double)a->coef[j] * x[j];
	}
	if (eta >= 0) {
		long double e = expl(-eta);
		p = 1 / (1 + e);
		pq = e / (1 + e); /* 1 - p */
		lp = -log1pl(e);
		lq = -eta - log1pl(e);
	} else {
		long double e = expl(eta);
		p = e / (1 + e);
		pq = 1 / (1 + e);
		lp = eta - log1pl(e);
		lq = -log1pl(e);
	}
	r = y - p;
	for (size_t j = 0; j < np; j++) {
		acc[j] += x[j] * r;
	}
	long double w = p * pq;
	for (size_t i = 0; i < np; i++) {
		for (size_t j = i; j < np; j++, k++) {
			acc[k] += w * x[i] * x[j];
		}
	}
	ll = y > 0 ? lp : lq;
	acc[k] += ll < MCNQ_LOGIT_LLMIN ? MCNQ_LOGIT_LLMIN : ll;
	acc[k + 1] += p;
	mcn_wipe(x, sizeof(x));
}

/* A logistic site total t (in units) as fixed point, clamped to the
 * planned range of its quantity (rounding can only nudge it past). */
static i192
logit_fixed(long double t, const mcnq_qty *qt)
{
	long double s = ldexpl(t, MCNQ_LOGIT_FRAC), lo, hi;
	int sh = MCN_QUERY_LIMB_BITS * (int)(qt->nlimbs - 1);

	lo = ldexpl((long double)qt->lo, sh);
	hi = ldexpl((long double)qt->hi + 1, sh) - 1;
	s = roundl(s);
	if (!(s >= lo)) {
		s = lo;
	}
	if (s > hi) {
		s = hi;
	}
	return i192_from_i128((__int128)s);
}

/* ---------------------------------------------------------------- */
/* the parallel blocks (cross products, logistic) over row batches */

#define SCAN_BATCH 8192 /* rows buffered, at most */
#define SCAN_BATCH_BYTES (8u << 20) /* ... and at most about this much */
#define SCAN_CHUNK 1024  /* rows per chunk (fixed: see the top comment) */
#define SCAN_THREAD_BYTES (64u << 20) /* per-thread copies, at most */
/* logistic accumulators: g (P), H (P (P + 1) / 2), log-likelihood, and
 * the sum of p (for the release rule's weight cells, never sent) */
#define LOGIT_MAX_P (MCN_QUERY_MAX_PREDICTORS + 1)
#define LOGIT_MAX_ACC (LOGIT_MAX_P + LOGIT_MAX_P * (LOGIT_MAX_P + 1) / 2 + 2)

typedef struct { /* one buffer of rows */
	size_t n;
	size_t *g;          /* group of each row */
	unsigned char *nul; /* [row * ns + s] */
	int64_t *xv;        /* [row * ns + s] */
	long double *lch;   /* logistic: per-chunk sums [chunk * nla + x] */
	int64_t *nch;       /* logistic: per-chunk complete cases */
} scan_buf;

typedef struct {
	size_t cap, ns, nchk;
	scan_buf buf[2];
	int cur;     /* the buffer being filled */
	int pending; /* the other buffer has chunks running (tasks) */
	size_t nla, la_block;
	int has_cross;
	/* threads: 0 = no tasks (the batch is processed by the reader);
	 * else tasks, and the cross blocks go to per-thread copies of the
	 * values and accumulators, added up at the end */
	size_t nthr, nv, nxa;
	int64_t *tv;
	i192 *txa;
} scan_batch;

static void
i192_add(i192 *a, const i192 *b)
{
	uint64_t c0, c1;

	a->w[0] += b->w[0];
	c0 = a->w[0] < b->w[0];
	a->w[1] += c0;
	c1 = a->w[1] < c0;
	a->w[1] += b->w[1];
	c1 += a->w[1] < b->w[1];
	a->w[2] += b->w[2] + c1;
}

static void
batch_free(scan_batch *bt)
{
	for (int i = 0; i < 2; i++) {
		scan_buf *b = &bt->buf[i];
		mcn_free(b->g, bt->cap * sizeof(*b->g));
		mcn_free(b->nul, bt->cap * bt->ns);
		mcn_free(b->xv, bt->cap * bt->ns * sizeof(*b->xv));
		mcn_free(b->lch, bt->nchk * bt->nla * sizeof(*b->lch));
		mcn_free(b->nch, bt->nchk * sizeof(*b->nch));
	}
	mcn_free(bt->tv, bt->nthr * bt->nv * sizeof(*bt->tv));
	mcn_free(bt->txa, bt->nthr * bt->nxa * sizeof(*bt->txa));
	memset(bt, 0, sizeof(*bt));
}

/* Sets up the batches of q (nla: logistic accumulators, nxa: cross
 * accumulators over all groups, nv: values). MCN_ENOMEM. */
static mcn_err
batch_init(scan_batch *bt, const mcn_query *q, size_t nla, size_t nxa,
    size_t nv)
{
	size_t per;
	int nthr = 1;

	memset(bt, 0, sizeof(*bt));
	bt->ns = q->nscols;
	per = sizeof(size_t) + bt->ns * (1 + sizeof(int64_t));
	bt->cap = SCAN_BATCH_BYTES / per / SCAN_CHUNK * SCAN_CHUNK;
	bt->cap = bt->cap < SCAN_CHUNK ? SCAN_CHUNK :
	    bt->cap > SCAN_BATCH       ? SCAN_BATCH :
	                                 bt->cap;
	bt->nchk = bt->cap / SCAN_CHUNK;
	MCN_MUST(nla <= LOGIT_MAX_ACC);
	bt->nla = nla;
	bt->nv = nv;
	bt->nxa = nxa;
	for (size_t i = 0; i < q->nblocks; i++) {
		bt->has_cross |= q->blocks[i].kind == MCNQ_B_CROSS;
		if (q->blocks[i].kind == MCNQ_B_LOGIT) {
			bt->la_block = i;
		}
	}
#ifdef _OPENMP
	nthr = omp_get_max_threads();
#endif
	bt->nthr = nthr > 1 ? (size_t)nthr : 0;
	if (bt->nthr > 0 && bt->has_cross) {
		/* per-thread copies within a memory budget, else no tasks */
		size_t tb = nv * sizeof(*bt->tv) + nxa * sizeof(*bt->txa);
		if (bt->nthr > SCAN_THREAD_BYTES / tb) {
			bt->nthr = 0;
		}
	}
	for (int i = 0; i < 2; i++) {
		scan_buf *b = &bt->buf[i];
		if (i == 1 && bt->nthr == 0) {
			break; /* one buffer is enough without tasks */
		}
		b->g = mcn_alloc(bt->cap * sizeof(*b->g));
		b->nul = mcn_alloc(bt->cap * bt->ns);
		b->xv = mcn_alloc(bt->cap * bt->ns * sizeof(*b->xv));
		if (b->g == NULL || b->nul == NULL || b->xv == NULL) {
			return MCN_ENOMEM;
		}
		if (nla > 0) {
			b->lch = mcn_alloc(bt->nchk * nla * sizeof(*b->lch));
			b->nch = mcn_alloc(bt->nchk * sizeof(*b->nch));
			if (b->lch == NULL || b->nch == NULL) {
				return MCN_ENOMEM;
			}
		}
	}
	if (bt->nthr > 0 && bt->has_cross) {
		bt->tv = mcn_zalloc(bt->nthr * nv * sizeof(*bt->tv));
		bt->txa = mcn_zalloc(bt->nthr * nxa * sizeof(*bt->txa));
		if (bt->tv == NULL || bt->txa == NULL) {
			return MCN_ENOMEM;
		}
	}
	return MCN_OK;
}

static void cross_row(const mcn_query *q, const mcnq_block *b,
    const unsigned char *nul, const int64_t *xv, int64_t *v, i192 *acc);
static void logit_row(const mcn_query *q, const mcnq_block *b,
    const unsigned char *nul, const int64_t *xv, int64_t *v,
    long double *acc);

/* Chunk c of buffer b: the logistic block into the chunk's own sums, the
 * cross blocks into v / xa. */
static void
batch_chunk(const mcn_query *q, const scan_batch *bt, scan_buf *b, size_t c,
    int64_t *v, i192 *xa)
{
	size_t r1 = (c + 1) * SCAN_CHUNK;

	r1 = r1 < b->n ? r1 : b->n;
	if (bt->nla > 0) {
		/* on this thread's stack (no false sharing), then stored */
		const mcnq_block *lb = &q->blocks[bt->la_block];
		long double acc[LOGIT_MAX_ACC];
		int64_t n = 0;
		memset(acc, 0, bt->nla * sizeof(*acc));
		for (size_t r = c * SCAN_CHUNK; r < r1; r++) {
			logit_row(q, lb, b->nul + r * bt->ns,
			    b->xv + r * bt->ns, &n, acc);
		}
		memcpy(b->lch + c * bt->nla, acc, bt->nla * sizeof(*acc));
		b->nch[c] = n;
		mcn_wipe(acc, bt->nla * sizeof(*acc));
	}
	for (size_t r = c * SCAN_CHUNK; bt->has_cross && r < r1; r++) {
		const unsigned char *nul = b->nul + r * bt->ns;
		const int64_t *xv = b->xv + r * bt->ns;
		size_t g = b->g[r];
		for (size_t i = 0; i < q->nblocks; i++) {
			const mcnq_block *cb = &q->blocks[i];
			if (cb->kind == MCNQ_B_CROSS) {
				cross_row(q, cb, nul, xv,
				    v + g * q->per_group + cb->off,
				    xa + g * q->nxacc + cb->acc);
			}
		}
	}
}

/* Adds the logistic chunk sums of a processed buffer in chunk order and
 * empties it. */
static void
batch_combine(const mcn_query *q, const scan_batch *bt, scan_buf *b,
    int64_t *values, long double *la)
{
	size_t nc = (b->n + SCAN_CHUNK - 1) / SCAN_CHUNK;

	for (size_t c = 0; bt->nla > 0 && c < nc; c++) {
		values[q->blocks[bt->la_block].off] += b->nch[c];
		for (size_t x = 0; x < bt->nla; x++) {
			la[x] += b->lch[c * bt->nla + x];
		}
	}
	b->n = 0;
}

/* The reader's buffer is full (or the scan ended): without tasks it is
 * processed here; with tasks (inside a parallel region's single), the
 * chunks of the buffer before are waited for and combined, the chunks of
 * this one are handed to the other threads and the reader goes on with
 * the other buffer. */
static void
batch_submit(const mcn_query *q, scan_batch *bt, int64_t *values, i192 *xa,
    long double *la)
{
	scan_buf *b = &bt->buf[bt->cur];
	size_t nc = (b->n + SCAN_CHUNK - 1) / SCAN_CHUNK;

	if (bt->nthr == 0) {
		for (size_t c = 0; c < nc; c++) {
			batch_chunk(q, bt, b, c, values, xa);
		}
		batch_combine(q, bt, b, values, la);
		return;
	}
#ifdef _OPENMP
#pragma omp taskwait
#endif
	if (bt->pending) {
		batch_combine(q, bt, &bt->buf[!bt->cur], values, la);
		bt->pending = 0;
	}
	for (size_t c = 0; c < nc; c++) {
#ifdef _OPENMP
#pragma omp task firstprivate(c)
#endif
		{
			size_t t = 0;
#ifdef _OPENMP
			t = (size_t)omp_get_thread_num();
#endif
			batch_chunk(q, bt, b, c, bt->tv + t * bt->nv,
			    bt->txa + t * bt->nxa);
		}
	}
	bt->pending = nc > 0;
	bt->cur = !bt->cur;
}

/* Waits for the running chunks and adds everything up: the last buffer
 * in chunk order, then the per-thread cross copies (exact). */
static void
batch_drain(const mcn_query *q, scan_batch *bt, int64_t *values, i192 *xa,
    long double *la)
{
	if (bt->nthr == 0) {
		return;
	}
#ifdef _OPENMP
#pragma omp taskwait
#endif
	if (bt->pending) {
		batch_combine(q, bt, &bt->buf[!bt->cur], values, la);
		bt->pending = 0;
	}
	for (size_t t = 0; bt->has_cross && t < bt->nthr; t++) {
		for (size_t i = 0; i < bt->nv; i++) {
			values[i] += bt->tv[t * bt->nv + i];
		}
		for (size_t i = 0; i < bt->nxa; i++) {
			i192_add(&xa[i], &bt->txa[t * bt->nxa + i]);
		}
	}
}

static mcn_err
count_rows(const mcn_query *q, sqlite3 *db, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	mcn_err rv = MCN_EDATA;
	int64_t n;

	if (sqlite3_prepare_v2(db, q->count_sql, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		mcnq_msg(err, errlen, "cannot read table '%s': %s",
		    q->dict->table, sqlite3_errmsg(db));
		goto out;
	}
	n = sqlite3_column_int64(st, 0);
	if ((uint64_t)n > q->lim.max_rows_per_site) {
		mcnq_msg(err, errlen,
		    "table '%s' has more rows than the "
		    "consortium's max_rows_per_site (%llu)",
		    q->dict->table,
		    (unsigned long long)q->lim.max_rows_per_site);
		rv = MCN_EREFUSED;
		goto out;
	}
	rv = MCN_OK;
out:
	sqlite3_finalize(st);
	return rv;
}

/* " WHERE (w) AND [c] = 'yes' ..." for the consent columns of gov, or
 * just q's WHERE. */
static void
gov_where(mcnq_sbuf *sb, const mcn_query *q, const mcn_query_gov *gov)
{
	size_t nc = gov != NULL ? gov->nconsent : 0;
	if (q->where_sql == NULL && nc == 0) {
		return;
	}
	mcnq_sb_puts(sb, " WHERE ");
	if (q->where_sql != NULL) {
		mcnq_sb_puts(sb, "(");
		mcnq_sb_puts(sb, q->where_sql);
		mcnq_sb_puts(sb, ")");
	}
	for (size_t i = 0; i < nc; i++) {
		if (i > 0 || q->where_sql != NULL) {
			mcnq_sb_puts(sb, " AND ");
		}
		mcnq_sb_ident(sb, q->dict->cols[gov->consent_cols[i]].name);
		mcnq_sb_puts(sb, " = 'yes'");
	}
}

/* One integer from a statement built from head and the governed WHERE. */
static mcn_err
gov_count(const mcn_query *q, sqlite3 *db, const char *head,
    const mcn_query_gov *gov, int bind, uint64_t *n)
{
	mcnq_sbuf sb = { 0 };
	sqlite3_stmt *st = NULL;
	mcn_err rv = MCN_EDATA;
	mcnq_sb_puts(&sb, head);
	mcnq_sb_ident(&sb, q->dict->table);
	if (bind) {
		gov_where(&sb, q, gov);
	} else if (gov->nconsent > 0) {
		mcn_query tmp = *q;
		tmp.where_sql = NULL;
		gov_where(&sb, &tmp, gov);
	}
	mcnq_sb_add(&sb, "", 1);
	if (sb.oom) {
		rv = MCN_ENOMEM;
		goto out;
	}
	if (sqlite3_prepare_v2(db, sb.p, -1, &st, NULL) != SQLITE_OK ||
	    (bind && bind_params(q, st) != MCN_OK) ||
	    sqlite3_step(st) != SQLITE_ROW) {
		goto out;
	}
	*n = (uint64_t)sqlite3_column_int64(st, 0);
	rv = MCN_OK;
out:
	sqlite3_finalize(st);
	mcnq_sb_free(&sb);
	return rv;
}

/* The cohort as a bitmap over rowids (folded modulo 2^24). */
static mcn_err
gov_bitmap(const mcn_query *q, sqlite3 *db, const mcn_query_gov *gov,
    mcn_query_gov_report *rep)
{
	mcnq_sbuf sb = { 0 };
	sqlite3_stmt *st = NULL;
	mcn_err rv = MCN_EDATA;
	uint64_t maxid = 0;
	int sr;

	if ((rv = gov_count(q, db, "SELECT coalesce(max(rowid), 0) FROM ",
	         gov, 0, &maxid)) != MCN_OK) {
		return rv;
	}
	rep->nbits = maxid + 1 > MCN_QUERY_COHORT_BITS ? MCN_QUERY_COHORT_BITS :
	                                                 (size_t)maxid + 1;
	rep->bitmap = mcn_zalloc((rep->nbits + 7) / 8);
	if (rep->bitmap == NULL) {
		return MCN_ENOMEM;
	}
	mcnq_sb_puts(&sb, "SELECT rowid FROM ");
	mcnq_sb_ident(&sb, q->dict->table);
	gov_where(&sb, q, gov);
	mcnq_sb_add(&sb, "", 1);
	rv = MCN_EDATA;
	if (sb.oom) {
		rv = MCN_ENOMEM;
		goto out;
	}
	if (sqlite3_prepare_v2(db, sb.p, -1, &st, NULL) != SQLITE_OK ||
	    bind_params(q, st) != MCN_OK) {
		goto out;
	}
	while ((sr = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t id = (uint64_t)sqlite3_column_int64(st, 0) %
		    MCN_QUERY_COHORT_BITS;
		if (id < rep->nbits) {
			rep->bitmap[id / 8] |= (uint8_t)(1u << (id % 8));
		}
	}
	rv = sr == SQLITE_DONE ? MCN_OK : MCN_EDATA;
out:
	sqlite3_finalize(st);
	mcnq_sb_free(&sb);
	return rv;
}

/* The denominator of block b in group values v (see mcn_query_local_gov). */
/* Disclosure control on a computed vector, before any limb is written
 * (see mcn_query_local_gov): the complement rule, the cohort bitmap,
 * small-cell suppression (on the slots and the accumulators behind
 * them), then the noise shares. */
static mcn_err
gov_apply(const mcn_query *q, sqlite3 *db, const mcn_query_gov *gov,
    int64_t *values, __int128 *s1, i192 *s2, i192 *xa, long double *la,
    uint64_t cohort, mcn_query_gov_report *rep, mcn_noise **noise, char *err,
    size_t errlen)
{
	const uint64_t k = gov->min_cell;
	uint64_t pop = 0;
	mcn_err rv;

	(void)s1;
	(void)s2;
	(void)xa;
	(void)la;
	if (gov->population_known) {
		pop = gov->population;
	} else if ((rv = gov_count(q, db, "SELECT count(*) FROM ", gov, 0,
	                &pop)) != MCN_OK) {
		mcnq_msg(err, errlen, "cannot count the population of table '%s'",
		    q->dict->table);
		return rv;
	}
	if (q->where_sql != NULL && k > 1 && pop > cohort && pop - cohort < k) {
		mcnq_msg(err, errlen,
		    "disclosure control: the WHERE of this query leaves out "
		    "fewer than %llu patients of this site (min_cell), so its "
		    "complement could be identified",
		    (unsigned long long)k);
		return MCN_EREFUSED;
	}
	if (rep != NULL && gov->want_cohort && rep->bitmap == NULL &&
	    (rv = gov_bitmap(q, db, gov, rep)) != MCN_OK) {
		mcnq_msg(err, errlen, "cannot read the cohort of table '%s'",
		    q->dict->table);
		return rv;
	}
	/* No per-site suppression: a site's small cell is no disclosure
	 * under secure aggregation; the release rule applies to the pooled
	 * cell (query_release.c), from the exact counts kept here. */
	if (gov->exact != NULL) {
		memcpy(gov->exact, values, q->layout.nvalues * sizeof(*values));
	}
	if (q->has_epsilon) {
		unsigned m = q->lim.noise_shares != 0 ? q->lim.noise_shares :
		                                         q->lim.nsites;
		MCN_MUST(gov->noise_key != NULL);
		if ((rv = mcn_noise_new(noise, gov->noise_key, gov->noise_label,
		         gov->noise_labellen)) != MCN_OK) {
			mcnq_msg(err, errlen, "cannot seed the noise");
			return rv;
		}
		for (size_t g = 0; g < q->ngroups; g++) {
			int64_t *v = values + g * q->per_group;
			for (size_t i = 0; i < q->nblocks; i++) {
				const mcnq_block *b = &q->blocks[i];
				int64_t z;
				size_t nc = b->kind == MCNQ_B_MOMENTS ? 1 : b->nslots;
				for (size_t c = 0; c < nc; c++) {
					if ((rv = mcn_noise_dlap_share(*noise,
					         b->dp_scale[0], m, &z)) != MCN_OK) {
						goto noise_failed;
					}
					v[b->off + c] += z;
				}
				if (b->kind != MCNQ_B_MOMENTS || !b->need_s1) {
					continue;
				}
				size_t mi = g * q->nmoments + b->moment;
				if (b->dp_scale[1] > 0) {
					if ((rv = mcn_noise_dlap_share(*noise,
					         b->dp_scale[1], m, &z)) != MCN_OK) {
						goto noise_failed;
					}
					s1[mi] += z;
				}
				if (b->need_s2 && b->dp_scale[2] > 0) {
					if ((rv = mcn_noise_dlap_share(*noise,
					         b->dp_scale[2], m, &z)) != MCN_OK) {
						goto noise_failed;
					}
					i192_add_i128(&s2[mi], z);
				}
			}
		}
	}
	if (rep != NULL) {
		rep->population = pop;
		rep->cohort = cohort;
		rep->suppressed = 0;
	}
	return MCN_OK;
noise_failed:
	mcnq_msg(err, errlen, "cannot draw the noise");
	return rv;
}

void
mcn_query_gov_report_clear(mcn_query_gov_report *rep)
{
	if (rep->bitmap != NULL) {
		mcn_free(rep->bitmap, (rep->nbits + 7) / 8);
	}
	memset(rep, 0, sizeof(*rep));
}

/* The scan: reads the rows of st and updates every block of their group
 * (the parallel blocks through bt, NULL if there are none); counts the
 * rows in *cohort and leaves the last sqlite3_step code in *sr_out.
 * MCN_EDATA (message), MCN_ENOMEM from read_row. */
static mcn_err
scan_rows(const mcn_query *q, sqlite3_stmt *st, int64_t *values,
    __int128 *s1, i192 *s2, i192 *xa, long double *la, scan_batch *bt,
    uint64_t *cohort, int *sr_out, char *err, size_t errlen)
{
	enum { MAXS = MCN_QUERY_MAX_SCAN };
	unsigned char nul[MAXS];
	int64_t xv[MAXS];
	mcn_err rv = MCN_OK;
	int sr;

	while ((sr = sqlite3_step(st)) == SQLITE_ROW) {
		size_t g = 0;
		int skip = 0;
		(*cohort)++;
		if ((rv = read_row(q, st, nul, xv, err, errlen)) != MCN_OK) {
			break;
		}
		for (size_t j = 0; j < q->ngcols; j++) {
			if (nul[j]) {
				skip = 1; /* a missing group column: no group */
				break;
			}
			g = g * q->dict->cols[q->gcols[j]].nlevels +
			    (size_t)xv[j];
		}
		if (skip) {
			continue;
		}
		int64_t *v = values + g * q->per_group;
		for (size_t i = 0; i < q->nblocks; i++) {
			const mcnq_block *b = &q->blocks[i];
			switch (b->kind) {
			case MCNQ_B_ROWS: v[b->off]++; break;
			case MCNQ_B_MOMENTS: {
				if (nul[b->scol]) {
					break;
				}
				v[b->off]++;
				if (!b->need_s1) {
					break;
				}
				int64_t x = xv[b->scol];
				size_t m = g * q->nmoments + b->moment;
				s1[m] += x;
				if (b->need_s2) {
					i192_add_u128(&s2[m],
					    (unsigned __int128)((__int128)x *
					        x));
				}
				break;
			}
			case MCNQ_B_HIST: {
				if (nul[b->scol]) {
					break;
				}
				__int128 x = (__int128)xv[b->scol] * b->xmul;
				size_t k;
				if (x < b->lo_s) {
					k = b->bins;
				} else if (x >= b->hi_s) {
					k = (size_t)b->bins + 1;
				} else {
					/* floor((x - lo) bins / (hi - lo)),
					 * exact: both operands >= 0 */
					k = (size_t)((x - b->lo_s) * b->bins /
					    (b->hi_s - b->lo_s));
				}
				v[b->off + k]++;
				break;
			}
			case MCNQ_B_TABLE:
				if (nul[b->scol] ||
				    (b->col2 >= 0 && nul[b->scol2])) {
					break;
				}
				v[b->off + (size_t)xv[b->scol] * b->nc +
				    (b->col2 >= 0 ? (size_t)xv[b->scol2] :
				                    0)]++;
				break;
			case MCNQ_B_CROSS:
			case MCNQ_B_LOGIT: break; /* batched */
			case MCNQ_B_SURV: {
				if (nul[b->scol] || nul[b->scol2]) {
					break;
				}
				size_t k =
				    (size_t)((uint64_t)(xv[b->scol] - b->tmin) /
				        (uint64_t)b->step);
				v[b->off + k + (xv[b->scol2] ? 0 : b->npts)]++;
				break;
			}
			}
		}
		if (bt != NULL) {
			scan_buf *b = &bt->buf[bt->cur];
			b->g[b->n] = g;
			memcpy(b->nul + b->n * bt->ns, nul, bt->ns);
			memcpy(b->xv + b->n * bt->ns, xv, bt->ns * sizeof(*xv));
			if (++b->n == bt->cap) {
				batch_submit(q, bt, values, xa, la);
			}
		}
	}
	if (bt != NULL) {
		if (rv == MCN_OK) {
			batch_submit(q, bt, values, xa, la);
		}
		batch_drain(q, bt, values, xa, la);
	}
	*sr_out = sr;
	mcn_wipe(nul, sizeof(nul));
	mcn_wipe(xv, sizeof(xv));
	return rv;
}

mcn_err
mcn_query_local(const mcn_query *q, sqlite3 *db, int64_t *values, char *err,
    size_t errlen)
{
	return mcn_query_local_gov(q, db, NULL, values, NULL, err, errlen);
}

mcn_err
mcn_query_local_gov(const mcn_query *q, sqlite3 *db, const mcn_query_gov *gov,
    int64_t *values, mcn_query_gov_report *rep, char *err, size_t errlen)
{
	enum { MAXS = MCN_QUERY_MAX_SCAN };
	sqlite3_stmt *st = NULL;
	mcnq_sbuf sql = { 0 };
	mcn_noise *noise = NULL;
	uint64_t cohort = 0;
	__int128 *s1 = NULL;
	i192 *s2 = NULL, *xa = NULL;
	long double *la = NULL;
	size_t nacc = 0, nxa = 0, nla = 0, nv;
	scan_batch bt;
	int batched = 0;
	mcn_err rv = MCN_EDATA;
	int sr = SQLITE_DONE;

	MCN_MUST(q != NULL && db != NULL && values != NULL);
	MCN_MUST(q->nscols <= MAXS);
	memset(&bt, 0, sizeof(bt));
	nv = q->layout.nvalues;
	memset(values, 0, nv * sizeof(*values));
	if (err != NULL && errlen > 0) {
		err[0] = '\0';
	}
	if (rep != NULL) {
		memset(rep, 0, sizeof(*rep));
	}
	if ((rv = count_rows(q, db, err, errlen)) != MCN_OK) {
		goto out;
	}
	mcnq_sb_puts(&sql, q->scan_head);
	gov_where(&sql, q, gov);
	mcnq_sb_add(&sql, "", 1);
	if (sql.oom) {
		rv = MCN_ENOMEM;
		goto out;
	}
	if (sqlite3_prepare_v2(db, sql.p, -1, &st, NULL) != SQLITE_OK) {
		mcnq_msg(err, errlen, "cannot run the query on table '%s': %s",
		    q->dict->table, sqlite3_errmsg(db));
		rv = MCN_EDATA;
		goto out;
	}
	if ((rv = bind_params(q, st)) != MCN_OK) {
		mcnq_msg(err, errlen, "cannot bind query values: %s",
		    sqlite3_errmsg(db));
		goto out;
	}
	if (q->count_only && gov != NULL && gov->want_cohort && rep != NULL) {
		/* the cohort's rowids give its count too: one scan */
		if ((rv = gov_bitmap(q, db, gov, rep)) != MCN_OK) {
			mcnq_msg(err, errlen, "cannot read the cohort of table '%s'",
			    q->dict->table);
			goto out;
		}
		cohort = 0;
		for (size_t i = 0; i < (rep->nbits + 7) / 8; i++) {
			cohort += (uint64_t)__builtin_popcount(rep->bitmap[i]);
		}
		values[0] = (int64_t)cohort;
		goto governed;
	}
	if (q->count_only) {
		if (sqlite3_step(st) != SQLITE_ROW) {
			rv = MCN_EDATA;
			goto scan_failed;
		}
		values[0] = sqlite3_column_int64(st, 0);
		cohort = (uint64_t)values[0];
		goto governed;
	}
	nacc = q->ngroups * q->nmoments;
	if (nacc > 0) {
		s1 = mcn_zalloc(nacc * sizeof(*s1));
		s2 = mcn_zalloc(nacc * sizeof(*s2));
		if (s1 == NULL || s2 == NULL) {
			rv = MCN_ENOMEM;
			goto out;
		}
	}
	for (size_t i = 0; i < q->nblocks; i++) {
		if (q->blocks[i].kind == MCNQ_B_LOGIT) {
			/* logistic is alone and ungrouped: one block;
			 * its sums, then the sum of p */
			nla = q->blocks[i].nxq + 1;
		}
	}
	if (nla > 0 && (la = mcn_zalloc(nla * sizeof(*la))) == NULL) {
		rv = MCN_ENOMEM;
		goto out;
	}
	nxa = q->ngroups * q->nxacc;
	if (nxa > 0 && (xa = mcn_zalloc(nxa * sizeof(*xa))) == NULL) {
		rv = MCN_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < q->nblocks; i++) {
		batched |= q->blocks[i].kind == MCNQ_B_CROSS ||
		    q->blocks[i].kind == MCNQ_B_LOGIT;
	}
	if (batched && (rv = batch_init(&bt, q, nla, nxa, nv)) != MCN_OK) {
		goto out;
	}
	if (!batched || bt.nthr == 0) {
		rv = scan_rows(q, st, values, s1, s2, xa, la,
		    batched ? &bt : NULL, &cohort, &sr, err, errlen);
	} else {
#ifdef _OPENMP
#pragma omp parallel num_threads((int)bt.nthr)
#pragma omp single
#endif
		rv = scan_rows(q, st, values, s1, s2, xa, la, &bt, &cohort,
		    &sr, err, errlen);
	}
	if (rv != MCN_OK) {
		goto out;
	}
	if (sr != SQLITE_DONE) {
		rv = sr == SQLITE_NOMEM ? MCN_ENOMEM : MCN_EDATA;
		goto scan_failed;
	}
governed:
	if (gov != NULL &&
	    (rv = gov_apply(q, db, gov, values, s1, s2, xa, la, cohort, rep,
	         &noise, err, errlen)) != MCN_OK) {
		goto out;
	}
	if (q->count_only) {
		rv = MCN_OK;
		goto out;
	}
	for (size_t i = 0; i < q->nblocks && nla > 0; i++) {
		const mcnq_block *b = &q->blocks[i];
		if (b->kind == MCNQ_B_LOGIT && gov != NULL &&
		    gov->logit_weight != NULL) {
			/* the weight cells (query_release.c): floor of the sum
			 * of p, of 1 - p and of 4 p (1 - p) = 4 H_00 */
			long double n = (long double)values[b->off];
			long double sp = la[b->nxq];
			long double w[3] = { sp, n - sp,
				4 * la[MCNQ_LOGIT_NP(b)] };
			for (size_t j = 0; j < 3; j++) {
				long double f = floorl(w[j]);
				f = f < 0 ? 0 : (f > n ? n : f);
				gov->logit_weight[j] = (int64_t)f;
			}
			mcn_wipe(w, sizeof(w));
		}
		for (size_t x = 0; b->kind == MCNQ_B_LOGIT && x < b->nxq; x++) {
			rv = limbs_put(values + b->off + b->xoff[x],
			    logit_fixed(la[x], &b->xq[x]), &b->xq[x]);
			if (rv != MCN_OK) {
				mcnq_msg(err, errlen,
				    "a sum of '%s' is outside its "
				    "planned range",
				    q->aggs[b->agg].name);
				goto out;
			}
		}
	}
	for (size_t g = 0; g < q->ngroups && nxa > 0; g++) {
		int64_t *v = values + g * q->per_group;
		for (size_t i = 0; i < q->nblocks; i++) {
			const mcnq_block *b = &q->blocks[i];
			for (size_t x = 0;
			     b->kind == MCNQ_B_CROSS && x < b->nxq; x++) {
				rv = limbs_put(v + b->off + b->xoff[x],
				    xa[g * q->nxacc + b->acc + x], &b->xq[x]);
				if (rv != MCN_OK) {
					mcnq_msg(err, errlen,
					    "a cross-product sum of '%s' is "
					    "outside its planned range",
					    q->aggs[b->agg].name);
					goto out;
				}
			}
		}
	}
	for (size_t g = 0; g < q->ngroups && nacc > 0; g++) {
		int64_t *v = values + g * q->per_group;
		for (size_t i = 0; i < q->nblocks; i++) {
			const mcnq_block *b = &q->blocks[i];
			size_t m = g * q->nmoments + b->moment;
			if (b->kind != MCNQ_B_MOMENTS || !b->need_s1) {
				continue;
			}
			rv = limbs_put(v + b->off + 1, i192_from_i128(s1[m]),
			    &b->s1);
			if (rv == MCN_OK && b->need_s2) {
				rv = limbs_put(v + b->off + 1 + b->s1.nlimbs,
				    s2[m], &b->s2);
			}
			if (rv != MCN_OK) {
				mcnq_msg(err, errlen,
				    "a sum of column '%s' "
				    "is outside its planned range",
				    q->dict->cols[b->col].name);
				goto out;
			}
		}
	}
	rv = MCN_OK;
	goto out;
scan_failed:
	mcnq_msg(err, errlen, "scan of table '%s' failed: %s", q->dict->table,
	    sqlite3_errmsg(db));
out:
	sqlite3_finalize(st);
	mcnq_sb_free(&sql);
	mcn_noise_free(noise);
	mcn_free(s1, nacc * sizeof(*s1));
	mcn_free(s2, nacc * sizeof(*s2));
	mcn_free(xa, nxa * sizeof(*xa));
	mcn_free(la, nla * sizeof(*la));
	batch_free(&bt);
	if (rv != MCN_OK) {
		mcn_wipe(values, nv * sizeof(*values));
		if (rep != NULL) {
			mcn_query_gov_report_clear(rep);
		}
	}
	return rv;
}
