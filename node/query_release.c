/*
 * node/query_release.c - release control: the rule on the pooled release
 * (query.h, "release control"), from the protocol layout to the decision
 * and back to the querier's result.
 *
 * The local vector (query_plan.c: per group, per block its slots) is cut
 * into the protocol's parts: the count-like slots become control cells,
 * the sums become value units. The nodes pool the control, decide, and
 * release only the units of released cells (protocols/agg.h); the
 * decision carries the released counts. Everything here depends only on
 * the query, so querier and nodes agree on every index.
 */
#define _POSIX_C_SOURCE 200809L
#define MCN_QUERY_INTERNAL

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "crypto/mem.h"
#include "node/query.h"

/* The k ladder: a site's k is rounded up to the next rung (stricter),
 * and the pooled rule takes the highest rung any contributor asks for. */
static const int64_t k_ladder[] = { 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15,
	20, 25, 30, 40, 50, 75, 100, 150, 200, 300, 500, 1000, 2000, 5000,
	10000, 50000, 100000, 500000, 1000000 };
#define NKL (sizeof(k_ladder) / sizeof(k_ladder[0]))

/* Control per ordinary cell: count, has (0/1), veto (0/1): separate 0/1
 * fields, so no site can count as several (the packing checks each
 * site's value against its field's range). */
#define CELL_SLOTS 3

/* Does block b have a value unit (slots after its count)? */
static int
has_unit(const mcnq_block *b)
{
	return (b->kind == MCNQ_B_MOMENTS && b->need_s1) ||
	    b->kind == MCNQ_B_CROSS || b->kind == MCNQ_B_LOGIT;
}

/* A column with two or three values lo, lo + 1 (, lo + 2) on its
 * integer grid (a 0/1 column, a 1/2 code, a -1/0/1 score, a real column
 * declared [0, 0.2] with one decimal): its sums give its per-value counts
 * away - with n, S1 gives them for two values, S1 and S2 for three.
 * Returns the number of values (2 or 3; 0 for any other column) and *lo
 * (on the grid: x times 10^decimals). The range is the declared one: a
 * wider declared range whose data happen to take two values is not
 * caught (README, release control). */
static int
small_vals(const mcn_column *c, int64_t *lo)
{
	int64_t l, h;
	if ((c->type != MCN_COL_INTEGER && c->type != MCN_COL_REAL) ||
	    mcnq_x_range(c, &l, &h, NULL, 0) != MCN_OK || h - l < 1 ||
	    h - l > 2) {
		return 0;
	}
	if (lo != NULL) {
		*lo = l;
	}
	return (int)(h - l + 1);
}

/* The query-language literal of grid value v of column c (v / 10^d). */
static void
grid_text(const mcn_column *c, int64_t v, char *buf, size_t len)
{
	unsigned d = c->type == MCN_COL_REAL ? c->decimals : 0;
	uint64_t p = 1, a = v < 0 ? -(uint64_t)v : (uint64_t)v;
	for (unsigned i = 0; i < d; i++) {
		p *= 10;
	}
	if (d == 0) {
		snprintf(buf, len, "%s%llu", v < 0 ? "-" : "",
		    (unsigned long long)a);
	} else {
		snprintf(buf, len, "%s%llu.%0*llu", v < 0 ? "-" : "",
		    (unsigned long long)(a / p), (int)d,
		    (unsigned long long)(a % p));
	}
}

/* The sum held in nl limbs at s (query_plan.c, limbs_put). */
static __int128
limbs_get(const int64_t *s, unsigned nl)
{
	__int128 v = s[nl - 1];
	for (unsigned i = nl - 1; i-- > 0;) {
		v = v * ((__int128)1 << MCN_QUERY_LIMB_BITS) + s[i];
	}
	return v;
}

static int64_t
clamp_count(__int128 v, int64_t n)
{
	return v < 0 ? 0 : v > n ? n : (int64_t)v;
}

/* The per-value cells of a small column from its moments slots m (n, S1
 * limbs[, S2 limbs]), in value order, into c[0..nval-1] (level_cells
 * order). With only S1 of a three-valued column, whose counts it does
 * not fix, the cells are its two distance sums sum (x - lo) and
 * sum (hi - x) - one patient at lo + 1 or lo + 2 alone would make one of
 * them small. Sums with noise (EPSILON) give noisy cells, clamped to
 * [0, n]. */
static size_t
small_cells(const mcnq_block *b, int nval, int64_t lo, const int64_t *m,
    int64_t *c)
{
	const int64_t n = m[0];
	const __int128 s1 = limbs_get(m + 1, b->s1.nlimbs);
	const __int128 sy = s1 - (__int128)lo * n;

	if (nval == 2) {
		c[0] = clamp_count(n - sy, n);
		c[1] = clamp_count(sy, n);
		return 2;
	}
	if (!b->need_s2) {
		c[0] = clamp_count(sy, 2 * n);
		c[1] = clamp_count(2 * (__int128)n - sy, 2 * n);
		return 2;
	}
	const __int128 s2 = limbs_get(m + 1 + b->s1.nlimbs, b->s2.nlimbs);
	const __int128 sy2 = s2 - 2 * (__int128)lo * s1 + (__int128)lo * lo * n;
	const __int128 n2 = (sy2 - sy) / 2, n1 = sy - 2 * n2;
	c[2] = clamp_count(n2, n);
	c[1] = clamp_count(n1, n);
	c[0] = clamp_count(n - n1 - n2, n);
	return 3;
}

/* The count cells that a block's released sums would give away beyond
 * its n (DataSHIELD's rule for glm, extended to the joint cells that the
 * cross products S_ij expose): for linear, cor, logistic over the
 * complete cases, in this order -
 *   per variable: each level of a categorical one, the his and los of a
 *     two-valued one (small_vals: lo and hi = lo + 1, as 0 and 1), the
 *     three values of a three-valued one (S_i and S_ii fix them);
 *   per pair of categorical variables: every joint cell;
 *   per two-valued variable i: per categorical variable, (level, hi)
 *     and (level, lo) of every level; per later two-valued variable j,
 *     (hi,hi) (hi,lo) (lo,hi) (lo,lo) of (i, j);
 * and for a sum or mean of a small column, small_cells. A three-valued
 * variable's joint counts with another variable are not fixed by the
 * cross products (they give sum x_i per level of j, not sum x_i^2) and
 * get no cells; README, release control. */
static int
fit_var(const mcn_query *q, int col, size_t *nlev)
{
	const mcn_column *c = &q->dict->cols[col];
	if (c->type == MCN_COL_CATEGORICAL) {
		*nlev = c->nlevels;
		return 1; /* categorical */
	}
	int nv = small_vals(c, NULL);
	*nlev = (size_t)nv;
	return nv; /* 2: two-valued, 3: three-valued, 0: neither */
}

static size_t
level_cells(const mcn_query *q, const mcnq_block *b)
{
	const mcnq_agg *a = &q->aggs[b->agg];
	size_t n = 0, li, lj;

	if (b->kind == MCNQ_B_MOMENTS) {
		int nv = b->need_s1 ? small_vals(&q->dict->cols[b->col], NULL) : 0;
		return nv == 3 && !b->need_s2 ? 2 : (size_t)nv;
	}
	if (b->kind != MCNQ_B_CROSS && b->kind != MCNQ_B_LOGIT) {
		return 0;
	}
	for (size_t v = 0; v < a->nvars; v++) {
		if (fit_var(q, a->vars[v], &li)) {
			n += li;
		}
	}
	for (size_t v = 0; v < a->nvars; v++) {
		for (size_t w = v + 1; w < a->nvars; w++) {
			if (fit_var(q, a->vars[v], &li) == 1 &&
			    fit_var(q, a->vars[w], &lj) == 1) {
				n += li * lj;
			}
		}
	}
	for (size_t v = 0; v < a->nvars; v++) {
		if (fit_var(q, a->vars[v], &li) != 2) {
			continue;
		}
		for (size_t w = 0; w < a->nvars; w++) {
			int kw = fit_var(q, a->vars[w], &lj);
			if (w != v && kw == 1) {
				n += 2 * lj;
			} else if (w > v && kw == 2) {
				n += 4;
			}
		}
	}
	return n;
}

/* The weight cells of a logistic block, after its level cells. The
 * querier chooses the coefficients of every Newton step, and a step can
 * put nearly all the weight of the fit on one patient: with eta = a'x
 * large except where x is extreme, the sums g = sum x (y - p) and H =
 * sum p (1 - p) x x' come from that patient alone. The released sums
 * are weighted sums with weights p, 1 - p (in g and the log-likelihood)
 * and w = p (1 - p) <= 1/4 (in H); each is released only if its weights
 * add up to those of k whole patients: sum p >= k, sum (1 - p) >= k and
 * 4 sum w >= k, pooled (each site sends the floor of its own sums, so
 * the pooled test is conservative by less than one patient per site).
 * At the start (a = 0: p = 1/2) this asks n >= 2k, which the outcome's
 * two classes ask already; at the maximum, sum p = sum y. */
#define WEIGHT_CELLS 3

static size_t
weight_cells(const mcnq_block *b)
{
	return b->kind == MCNQ_B_LOGIT ? WEIGHT_CELLS : 0;
}

static size_t
extra_cells(const mcn_query *q, const mcnq_block *b)
{
	return level_cells(q, b) + weight_cells(b);
}

/* Count cells of block b (survival: grid points). */
static size_t
ncells(const mcn_query *q, const mcnq_block *b)
{
	switch (b->kind) {
	case MCNQ_B_HIST:
	case MCNQ_B_TABLE: return b->nslots;
	case MCNQ_B_SURV: return b->npts;
	default: return 1 + extra_cells(q, b);
	}
}

/* Decision entries of block b in one group. */
static size_t
ndec_block(const mcn_query *q, const mcnq_block *b)
{
	return b->kind == MCNQ_B_SURV ? 3 + 4 * b->npts : 3 * ncells(q, b);
}

static size_t
nms(const mcn_query *q)
{
	return q->lim.nsites > 1 ? q->lim.nsites - 1 : 0;
}

const char *
mcnq_rel_reason(int st, int64_t k, int64_t m, char *buf, size_t len)
{
	switch (st) {
	case MCNQ_REL_OK: snprintf(buf, len, "released"); break;
	case MCNQ_REL_BELOW_K:
		snprintf(buf, len, "pooled count below %lld", (long long)k);
		break;
	case MCNQ_REL_FEW_SITES:
		snprintf(buf, len, "fewer than %lld sites", (long long)m);
		break;
	case MCNQ_REL_VETO: snprintf(buf, len, "site veto"); break;
	case MCNQ_REL_SECONDARY:
		snprintf(buf, len,
		    "withheld with a small cell (the total would reveal it)");
		break;
	case MCNQ_REL_AT_RISK:
		snprintf(buf, len,
		    "fewer than %lld at risk (or fewer than %lld sites)",
		    (long long)k, (long long)m);
		break;
	case MCNQ_REL_NOT_TESTED:
		snprintf(buf, len, "not computed: the data has withheld parts");
		break;
	case MCNQ_REL_LEVEL:
		snprintf(buf, len,
		    "a category level, outcome class or value of a two- or "
		    "three-valued column has a pooled count below %lld (or "
		    "from fewer than %lld sites)",
		    (long long)k, (long long)m);
		break;
	case MCNQ_REL_WEIGHT:
		snprintf(buf, len,
		    "the coefficients of this step put the fit's weight on "
		    "fewer than %lld patients (start from 0, or from the "
		    "previous step's estimate)",
		    (long long)k);
		break;
	case MCNQ_REL_DP:
		snprintf(buf, len,
		    "withheld (under differential privacy the reason is not "
		    "released)");
		break;
	default: snprintf(buf, len, "withheld"); break;
	}
	return buf;
}

/* ---- plan ---- */

/* The two passes of building the fields (count, then fill) share this
 * walk: units first (vf, units), then the control (cf). */
static void
release_walk(const mcn_query *q, const int64_t *plo, const int64_t *phi,
    mcn_pack_field *vf, size_t *nvf, size_t *units, size_t *nunits,
    mcn_pack_field *cf, size_t *ncf, size_t *nvalues, size_t *ncontrol)
{
	/* field runs: to count exactly in pass 0, keep the last range */
	int64_t vlo = 0, vhi = -1, clo = 0, chi = -1;
	int vopen = 0, copen = 0;
	size_t nv = 0, nc = 0, nu = 0;

#define VADD(cnt, lo_, hi_)                                              \
	do {                                                             \
		if (vopen && vlo == (lo_) && vhi == (hi_)) {             \
			if (vf != NULL) {                                \
				vf[*nvf - 1].count += (cnt);             \
			}                                                \
		} else {                                                 \
			if (vf != NULL) {                                \
				vf[*nvf].count = (cnt);                  \
				vf[*nvf].lo = (lo_);                     \
				vf[*nvf].hi = (hi_);                     \
			}                                                \
			(*nvf)++;                                        \
			ufields++;                                       \
			vopen = 1;                                       \
			vlo = (lo_);                                     \
			vhi = (hi_);                                     \
		}                                                        \
		nv += (cnt);                                             \
	} while (0)
#define CADD(cnt, lo_, hi_)                                              \
	do {                                                             \
		if (copen && clo == (lo_) && chi == (hi_)) {             \
			if (cf != NULL) {                                \
				cf[*ncf - 1].count += (cnt);             \
			}                                                \
		} else {                                                 \
			if (cf != NULL) {                                \
				cf[*ncf].count = (cnt);                  \
				cf[*ncf].lo = (lo_);                     \
				cf[*ncf].hi = (hi_);                     \
			}                                                \
			(*ncf)++;                                        \
			copen = 1;                                       \
			clo = (lo_);                                     \
			chi = (hi_);                                     \
		}                                                        \
		nc += (cnt);                                             \
	} while (0)

	*nvf = *ncf = 0;
	/* value units: per group, per block with sums; a unit never shares
	 * a field with the next one */
	for (size_t g = 0; g < q->ngroups; g++) {
		for (size_t i = 0; i < q->nblocks; i++) {
			const mcnq_block *b = &q->blocks[i];
			size_t ufields = 0;
			if (!has_unit(b)) {
				continue;
			}
			vopen = 0;
			for (size_t s = 1; s < b->nslots; s++) {
				VADD(1, plo[b->off + s], phi[b->off + s]);
			}
			if (units != NULL) {
				units[nu] = ufields;
			}
			nu++;
		}
	}
	/* control: params, then cells */
	CADD(NKL + nms(q), 0, 1);
	for (size_t g = 0; g < q->ngroups; g++) {
		for (size_t i = 0; i < q->nblocks; i++) {
			const mcnq_block *b = &q->blocks[i];
			if (b->kind == MCNQ_B_SURV) {
				for (size_t j = 0; j < b->npts; j++) {
					CADD(1, plo[b->off + j], phi[b->off + j]);
					CADD(1, plo[b->off + b->npts + j],
					    phi[b->off + b->npts + j]);
					CADD(1, 0, 1);
				}
				continue;
			}
			for (size_t c = 0; c < ncells(q, b); c++) {
				/* extra cells: counts like n */
				size_t sl = has_unit(b) ? b->off : b->off + c;
				CADD(1, plo[sl], phi[sl]);
				CADD(2, 0, 1);
			}
		}
	}
	*nunits = nu;
	*nvalues = nv;
	*ncontrol = nc;
#undef VADD
#undef CADD
}

mcn_err
mcnq_release_plan(mcn_query *q, const int64_t *plo, const int64_t *phi,
    char *err, size_t errlen)
{
	mcn_agg_layout *L = &q->rel;
	size_t nvf, ncf, nu, nv, nc;

	release_walk(q, plo, phi, NULL, &nvf, NULL, &nu, NULL, &ncf, &nv, &nc);
	if (nc > MCN_AGG_MAX_VALUES || nv > MCN_AGG_MAX_VALUES) {
		mcnq_msg(err, errlen,
		    "query needs %zu values and %zu release-control values, "
		    "more than the limit of %u",
		    nv, nc, (unsigned)MCN_AGG_MAX_VALUES);
		return MCN_EQUERY;
	}
	L->fields = nvf ? mcnq_alloc(&q->arena, nvf * sizeof(*L->fields)) :
	                  NULL;
	L->cfields = mcnq_alloc(&q->arena, ncf * sizeof(*L->cfields));
	L->units = nu ? mcnq_alloc(&q->arena, nu * sizeof(*L->units)) : NULL;
	if ((nvf && L->fields == NULL) || L->cfields == NULL ||
	    (nu && L->units == NULL)) {
		return MCN_ENOMEM;
	}
	release_walk(q, plo, phi, L->fields, &L->nfields, L->units, &L->nunits,
	    L->cfields, &L->ncfields, &L->nvalues, &L->ncontrol);
	q->nrelparams = NKL + nms(q);
	q->ncells = 0;
	q->ndec = 2;
	for (size_t i = 0; i < q->nblocks; i++) {
		q->ncells += ncells(q, &q->blocks[i]);
		q->ndec += q->ngroups * ndec_block(q, &q->blocks[i]) +
		    (q->blocks[i].kind == MCNQ_B_SURV ? 3 : 0);
	}
	q->ncells *= q->ngroups;
	return MCN_OK;
}

const mcn_agg_layout *
mcn_query_release_layout(const mcn_query *q)
{
	return &q->rel;
}

mcn_err
mcn_query_release_layout_copy(mcn_agg_layout *out, const mcn_query *q)
{
	return mcn_agg_layout_copy(out, &q->rel);
}

/* Runs one companion count query (internal: no refusal of overlapping
 * outputs) on db over the query's own rows and consent rules; *vout
 * receives its local vector (mcn_alloc'd, (*cq)->layout.nvalues + 1). */
static mcn_err
companion(const mcn_query *q, const char *text, sqlite3 *db,
    const mcn_query_gov *gov, mcn_query **cq, int64_t **vout, char *err,
    size_t errlen)
{
	mcn_query_gov g0 = *gov;
	mcn_err rv;

	*vout = NULL;
	if ((rv = mcnq_compile_internal(cq, text, q->dict, &q->lim, 1, err,
	         errlen)) != MCN_OK) {
		return rv;
	}
	MCN_MUST((*cq)->ngroups == q->ngroups);
	if ((*vout = mcn_zalloc(((*cq)->layout.nvalues + 1) *
	         sizeof(**vout))) == NULL) {
		return MCN_ENOMEM;
	}
	g0.min_cell = 0; /* the query's own rules ran already */
	g0.want_cohort = 0;
	g0.exact = NULL;
	g0.logit_weight = NULL;
	return mcn_query_local_gov(*cq, db, &g0, *vout, NULL, err, errlen);
}

static void
companion_free(mcn_query *cq, int64_t *v)
{
	if (v != NULL) {
		mcn_free(v, (cq->layout.nvalues + 1) * sizeof(*v));
	}
	mcn_query_free(cq);
}

/* The block of a companion query: kind, columns. */
static const mcnq_block *
cblock(const mcn_query *cq, mcnq_bkind kind, int col, int col2)
{
	for (size_t j = 0; j < cq->nblocks; j++) {
		const mcnq_block *x = &cq->blocks[j];
		if (x->kind == kind && (kind == MCNQ_B_ROWS ||
		                           (x->col == col &&
		                               (kind != MCNQ_B_TABLE ||
		                                   x->col2 == col2)))) {
			return x;
		}
	}
	MCN_MUST(0);
	return NULL;
}

/* The text "SELECT count()<outputs> FROM t WHERE (w) AND v IS NOT NULL
 * ... [AND extra] [GROUP BY ...]" into t. */
static void
companion_text(mcnq_sbuf *t, const mcn_query *q, const mcnq_agg *a,
    const char *outputs, const char *extra)
{
	const mcn_dict *d = q->dict;

	mcnq_sb_puts(t, "SELECT count()");
	mcnq_sb_puts(t, outputs);
	mcnq_sb_puts(t, " FROM ");
	mcnq_sb_puts(t, d->table);
	mcnq_sb_puts(t, " WHERE ");
	if (q->where_text != NULL) {
		mcnq_sb_puts(t, "(");
		mcnq_sb_puts(t, q->where_text);
		mcnq_sb_puts(t, ") AND ");
	}
	for (size_t i = 0; i < a->nvars; i++) {
		mcnq_sb_puts(t, i > 0 ? " AND " : "");
		mcnq_sb_puts(t, d->cols[a->vars[i]].name);
		mcnq_sb_puts(t, " IS NOT NULL");
	}
	if (extra != NULL) {
		mcnq_sb_puts(t, " AND ");
		mcnq_sb_puts(t, extra);
	}
	for (size_t j = 0; j < q->ngcols; j++) {
		mcnq_sb_puts(t, j == 0 ? " GROUP BY " : ", ");
		mcnq_sb_puts(t, d->cols[q->gcols[j]].name);
	}
	mcnq_sb_add(t, "", 1);
}

/* The level, class and joint counts of a linear, cor or logistic block
 * (extra_cells order), per group, into ex[g * stride + k], k from 1:
 * companion count queries on the same rows - one with every one-way and
 * two-way table and 0/1 sum, and one per 0/1 variable i restricted to
 * i = 1. */
static mcn_err
fit_levels(const mcn_query *q, const mcnq_block *b, sqlite3 *db,
    const mcn_query_gov *gov, int64_t *ex, size_t stride, char *err,
    size_t errlen)
{
	const mcnq_agg *a = &q->aggs[b->agg];
	const mcn_dict *d = q->dict;
	const size_t nv = a->nvars, G = q->ngroups;
	mcnq_sbuf t = { 0 }, o = { 0 };
	mcn_query *cq = NULL;
	int64_t *v = NULL;
	size_t *kk = NULL, li, lj;
	mcn_err rv = MCN_ENOMEM;

	/* the first companion: singles and categorical pairs */
	for (size_t i = 0; i < nv; i++) {
		int ki = fit_var(q, a->vars[i], &li);
		if (ki != 0) {
			mcnq_sb_puts(&o, ki == 1 ? ", table(" :
			        ki == 2 ? ", sum(" : ", var(");
			mcnq_sb_puts(&o, d->cols[a->vars[i]].name);
			mcnq_sb_puts(&o, ")");
		}
	}
	for (size_t i = 0; i < nv; i++) {
		for (size_t j = i + 1; j < nv; j++) {
			if (fit_var(q, a->vars[i], &li) == 1 &&
			    fit_var(q, a->vars[j], &lj) == 1) {
				mcnq_sb_puts(&o, ", table(");
				mcnq_sb_puts(&o, d->cols[a->vars[i]].name);
				mcnq_sb_puts(&o, ", ");
				mcnq_sb_puts(&o, d->cols[a->vars[j]].name);
				mcnq_sb_puts(&o, ")");
			}
		}
	}
	mcnq_sb_add(&o, "", 1);
	if (o.oom) {
		goto out;
	}
	companion_text(&t, q, a, o.p, NULL);
	if (t.oom) {
		goto out;
	}
	if ((rv = companion(q, t.p, db, gov, &cq, &v, err, errlen)) != MCN_OK) {
		goto out;
	}
	rv = MCN_ENOMEM;
	if ((kk = mcn_zalloc(G * sizeof(*kk))) == NULL) {
		goto out;
	}
	/* per group: n, then the ones of each 0/1 variable (for the pairs) */
	int64_t *n = mcn_zalloc(G * sizeof(*n));
	int64_t *ones = mcn_zalloc((G * nv + 1) * sizeof(*ones));
	int64_t *lev = NULL; /* level counts per group, variable, level */
	size_t levstride = 0;
	for (size_t i = 0; i < nv; i++) {
		if (fit_var(q, a->vars[i], &li) == 1 && li > levstride) {
			levstride = li;
		}
	}
	lev = mcn_zalloc((G * nv * (levstride + 1) + 1) * sizeof(*lev));
	if (n == NULL || ones == NULL || lev == NULL) {
		mcn_free(n, G * sizeof(*n));
		mcn_free(ones, (G * nv + 1) * sizeof(*ones));
		mcn_free(lev, (G * nv * (levstride + 1) + 1) * sizeof(*lev));
		goto out;
	}
#define LEV(g, i, l) lev[((g) * nv + (i)) * (levstride + 1) + (l)]
	for (size_t g = 0; g < G; g++) {
		const int64_t *gv = v + g * cq->per_group;
		size_t k = 1;
		n[g] = gv[cblock(cq, MCNQ_B_ROWS, -1, -1)->off];
		for (size_t i = 0; i < nv; i++) {
			int ki = fit_var(q, a->vars[i], &li);
			if (ki == 1) {
				const mcnq_block *tb =
				    cblock(cq, MCNQ_B_TABLE, a->vars[i], -1);
				for (size_t l = 0; l < li; l++) {
					LEV(g, i, l) = gv[tb->off + l];
					ex[g * stride + k++] = gv[tb->off + l];
				}
			} else if (ki != 0) {
				const mcnq_block *mb =
				    cblock(cq, MCNQ_B_MOMENTS, a->vars[i], -1);
				int64_t lo = 0, c3[3];
				(void)small_vals(&d->cols[a->vars[i]], &lo);
				MCN_MUST(small_cells(mb, ki, lo, gv + mb->off,
				             c3) == (size_t)ki);
				if (ki == 2) {
					ones[g * nv + i] = c3[1];
					ex[g * stride + k++] = c3[1];
					ex[g * stride + k++] = c3[0];
				} else {
					for (int l = 0; l < 3; l++) {
						ex[g * stride + k++] = c3[l];
					}
				}
			}
		}
		for (size_t i = 0; i < nv; i++) {
			for (size_t j = i + 1; j < nv; j++) {
				if (fit_var(q, a->vars[i], &li) != 1 ||
				    fit_var(q, a->vars[j], &lj) != 1) {
					continue;
				}
				const mcnq_block *tb = cblock(cq, MCNQ_B_TABLE,
				    a->vars[i], a->vars[j]);
				for (size_t c = 0; c < li * lj; c++) {
					ex[g * stride + k++] = gv[tb->off + c];
				}
			}
		}
		kk[g] = k;
	}
	companion_free(cq, v);
	cq = NULL;
	v = NULL;
	/* one companion per 0/1 variable i, on its 1s */
	rv = MCN_OK;
	for (size_t i = 0; rv == MCN_OK && i < nv; i++) {
		if (fit_var(q, a->vars[i], &li) != 2) {
			continue;
		}
		mcnq_sbuf o2 = { 0 }, t2 = { 0 }, w = { 0 };
		for (size_t j = 0; j < nv; j++) {
			int kj = fit_var(q, a->vars[j], &lj);
			if (j != i && kj == 1) {
				mcnq_sb_puts(&o2, ", table(");
				mcnq_sb_puts(&o2, d->cols[a->vars[j]].name);
				mcnq_sb_puts(&o2, ")");
			} else if (j > i && kj == 2) {
				mcnq_sb_puts(&o2, ", sum(");
				mcnq_sb_puts(&o2, d->cols[a->vars[j]].name);
				mcnq_sb_puts(&o2, ")");
			}
		}
		mcnq_sb_add(&o2, "", 1);
		int64_t loi = 0;
		char hv[32];
		(void)small_vals(&d->cols[a->vars[i]], &loi);
		mcnq_sb_puts(&w, d->cols[a->vars[i]].name);
		mcnq_sb_puts(&w, " = ");
		grid_text(&d->cols[a->vars[i]], loi + 1, hv, sizeof(hv));
		mcnq_sb_puts(&w, hv);
		mcnq_sb_add(&w, "", 1);
		if (!o2.oom && !w.oom) {
			companion_text(&t2, q, a, o2.p, w.p);
		}
		mcn_err r2 = o2.oom || w.oom || t2.oom ? MCN_ENOMEM :
		    companion(q, t2.p, db, gov, &cq, &v, err, errlen);
		mcnq_sb_free(&o2);
		mcnq_sb_free(&t2);
		mcnq_sb_free(&w);
		if (r2 != MCN_OK) {
			rv = r2;
			break;
		}
		for (size_t g = 0; g < G; g++) {
			const int64_t *gv = v + g * cq->per_group;
			size_t k = kk[g];
			int64_t n1 = ones[g * nv + i];
			for (size_t j = 0; j < nv; j++) {
				int kj = fit_var(q, a->vars[j], &lj);
				if (j != i && kj == 1) {
					const mcnq_block *tb = cblock(cq,
					    MCNQ_B_TABLE, a->vars[j], -1);
					for (size_t l = 0; l < lj; l++) {
						int64_t x1 = gv[tb->off + l];
						ex[g * stride + k++] = x1;
						ex[g * stride + k++] =
						    LEV(g, j, l) - x1;
					}
				} else if (j > i && kj == 2) {
					const mcnq_block *mb = cblock(cq,
					    MCNQ_B_MOMENTS, a->vars[j], -1);
					int64_t loj = 0, c2[2];
					(void)small_vals(&d->cols[a->vars[j]], &loj);
					MCN_MUST(small_cells(mb, 2, loj,
					             gv + mb->off, c2) == 2);
					int64_t b11 = c2[1];
					int64_t nj = ones[g * nv + j];
					ex[g * stride + k++] = b11;
					ex[g * stride + k++] = n1 - b11;
					ex[g * stride + k++] = nj - b11;
					ex[g * stride + k++] =
					    n[g] - n1 - nj + b11;
				}
			}
			kk[g] = k;
			MCN_MUST(k <= stride);
		}
		companion_free(cq, v);
		cq = NULL;
		v = NULL;
	}
#undef LEV
	for (size_t g = 0; rv == MCN_OK && g < G; g++) {
		MCN_MUST(kk[g] == 1 + level_cells(q, b));
	}
	mcn_free(n, G * sizeof(*n));
	mcn_free(ones, (G * nv + 1) * sizeof(*ones));
	mcn_free(lev, (G * nv * (levstride + 1) + 1) * sizeof(*lev));
out:
	if (cq != NULL) {
		companion_free(cq, v);
	}
	mcn_free(kk, G * sizeof(*kk));
	mcnq_sb_free(&t);
	mcnq_sb_free(&o);
	return rv;
}

/* ---- node side: the protocol vector ---- */

mcn_err
mcn_query_local_release(const mcn_query *q, sqlite3 *db,
    const mcn_query_gov *gov, int64_t *out, mcn_query_gov_report *rep,
    char *err, size_t errlen)
{
	const size_t nf = q->layout.nvalues;
	const mcn_agg_layout *L = &q->rel;
	int64_t *v = NULL, *x = NULL, *ex = NULL;
	int64_t lw[WEIGHT_CELLS] = { 0 };
	size_t MAXX = 1, nex = 0;
	mcn_query_gov g2;
	size_t o = 0, c = L->nvalues;
	mcn_err rv = MCN_ENOMEM;

	MCN_MUST(gov != NULL && out != NULL);
	memset(out, 0, (L->nvalues + L->ncontrol) * sizeof(*out));
	if (gov->min_sites > q->lim.nsites) {
		mcnq_msg(err, errlen,
		    "this node's min_sites (%u) is above the number of "
		    "consortium nodes (%u): no answer can satisfy it",
		    gov->min_sites, q->lim.nsites);
		return MCN_EREFUSED;
	}
	if ((v = mcn_zalloc(nf * sizeof(*v))) == NULL ||
	    (x = mcn_zalloc(nf * sizeof(*x))) == NULL) {
		goto out;
	}
	g2 = *gov;
	g2.exact = x;
	g2.logit_weight = lw;
	if ((rv = mcn_query_local_gov(q, db, &g2, v, rep, err, errlen)) !=
	    MCN_OK) {
		goto out;
	}
	/* the level and class counts of the fits */
	for (size_t i = 0; i < q->nblocks; i++) {
		const mcnq_block *b = &q->blocks[i];
		size_t nc = ncells(q, b);
		if ((b->kind == MCNQ_B_CROSS || b->kind == MCNQ_B_LOGIT) &&
		    nc > MAXX) {
			MAXX = nc;
		}
	}
	if (MAXX > 1) {
		nex = q->ngroups * q->nblocks * MAXX;
		rv = MCN_ENOMEM;
		if ((ex = mcn_zalloc(nex * sizeof(*ex))) == NULL) {
			goto out;
		}
		for (size_t i = 0; i < q->nblocks; i++) {
			const mcnq_block *b = &q->blocks[i];
			if ((b->kind != MCNQ_B_CROSS && b->kind != MCNQ_B_LOGIT) ||
			    level_cells(q, b) == 0) {
				continue;
			}
			int64_t *tmp = mcn_zalloc(q->ngroups * MAXX * sizeof(*tmp));
			if (tmp == NULL) {
				goto out;
			}
			rv = fit_levels(q, b, db, gov, tmp, MAXX, err, errlen);
			for (size_t g = 0; rv == MCN_OK && g < q->ngroups; g++) {
				memcpy(ex + (g * q->nblocks + i) * MAXX,
				    tmp + g * MAXX, MAXX * sizeof(*tmp));
			}
			mcn_free(tmp, q->ngroups * MAXX * sizeof(*tmp));
			if (rv != MCN_OK) {
				goto out;
			}
		}
	}
	/* values: the units */
	for (size_t g = 0; g < q->ngroups; g++) {
		const int64_t *gv = v + g * q->per_group;
		for (size_t i = 0; i < q->nblocks; i++) {
			const mcnq_block *b = &q->blocks[i];
			if (!has_unit(b)) {
				continue;
			}
			for (size_t s = 1; s < b->nslots; s++) {
				out[o++] = gv[b->off + s];
			}
		}
	}
	/* control: the site's k on the ladder, its min_sites, then cells */
	{
		int64_t k = (int64_t)gov->min_cell, K = 0;
		for (size_t j = 0; j < NKL && k > 1; j++) {
			if (k_ladder[j] >= k) {
				K = k_ladder[j];
				break;
			}
		}
		if (k > 1 && K == 0) {
			K = k_ladder[NKL - 1];
		}
		for (size_t j = 0; j < NKL; j++) {
			out[c++] = K != 0 && k_ladder[j] <= K;
		}
		for (size_t m = 2; m < 2 + nms(q); m++) {
			out[c++] = gov->min_sites >= m;
		}
	}
	for (size_t g = 0; g < q->ngroups; g++) {
		const int64_t *gv = v + g * q->per_group;
		const int64_t *gx = x + g * q->per_group;
		for (size_t i = 0; i < q->nblocks; i++) {
			const mcnq_block *b = &q->blocks[i];
			if (b->kind == MCNQ_B_SURV) {
				/* at risk at point j: rows with time >= t_j */
				int64_t at = 0;
				for (size_t j = 0; j < b->npts; j++) {
					at += gx[b->off + j] +
					    gx[b->off + b->npts + j];
				}
				for (size_t j = 0; j < b->npts; j++) {
					out[c++] = gv[b->off + j];
					out[c++] = gv[b->off + b->npts + j];
					out[c++] = at > 0;
					at -= gx[b->off + j] +
					    gx[b->off + b->npts + j];
				}
				continue;
			}
			size_t nc = ncells(q, b);
			for (size_t k = 0; k < nc; k++) {
				int64_t n, val;
				if (!has_unit(b) || k == 0) {
					n = gx[b->off + k];
					val = gv[b->off + k];
				} else if (b->kind == MCNQ_B_MOMENTS) {
					/* a small column: its per-value cells
					 * from the sums as sent (with noise under
					 * EPSILON, where the exact copy is taken
					 * before the sums are written) */
					int64_t lo = 0, c3[3];
					int nv = small_vals(
					    &q->dict->cols[b->col], &lo);
					MCN_MUST(small_cells(b, nv, lo,
					             gv + b->off, c3) == nc - 1);
					n = val = c3[k - 1];
				} else if (k > level_cells(q, b)) {
					/* a weight cell: its sites are those with
					 * rows, so a small weight is never "nobody" */
					val = lw[k - 1 - level_cells(q, b)];
					n = gx[b->off];
				} else {
					n = val =
					    ex[(g * q->nblocks + i) * MAXX + k];
				}
				out[c++] = val;
				out[c++] = n > 0;
				out[c++] = gov->site_min_cell > 1 && n >= 1 &&
				    (uint64_t)n < gov->site_min_cell;
			}
		}
	}
	MCN_MUST(o == L->nvalues && c == L->nvalues + L->ncontrol);
	rv = MCN_OK;
out:
	if (v != NULL) {
		mcn_free(v, nf * sizeof(*v)); /* wipes */
	}
	if (x != NULL) {
		mcn_free(x, nf * sizeof(*x));
	}
	if (ex != NULL) {
		mcn_free(ex, nex * sizeof(*ex));
	}
	mcn_wipe(lw, sizeof(lw));
	if (rv != MCN_OK) {
		mcn_wipe(out, (L->nvalues + L->ncontrol) * sizeof(*out));
	}
	return rv;
}

/* ---- the decision ---- */

/* Status of an ordinary cell from its pooled count, has and veto. */
static int
cell_status(int64_t n, int64_t has, int64_t veto, int64_t k, int64_t m)
{
	if (n == 0 && has == 0) {
		return MCNQ_REL_OK; /* nobody has rows here */
	}
	if (n < k) {
		return MCNQ_REL_BELOW_K;
	}
	if (has < m) {
		return MCNQ_REL_FEW_SITES;
	}
	return veto > 0 ? MCNQ_REL_VETO : MCNQ_REL_OK;
}

/* Secondary suppression on the lines of a two-way table, cells e[3 (r nc
 * + c)] = (status, count, sites): while a row or column has exactly one
 * withheld cell and a released non-zero one, withhold the smallest such. */
static void
secondary_lines(int64_t *e, size_t nr, size_t nc)
{
	int changed = 1;

	while (changed) {
		changed = 0;
		for (int dir = 0; dir < 2; dir++) {
			size_t nl = dir == 0 ? nr : nc, len = dir == 0 ? nc : nr;
			for (size_t l = 0; l < nl; l++) {
				size_t nw = 0, best = SIZE_MAX;
				for (size_t x = 0; x < len; x++) {
					size_t i = dir == 0 ? l * nc + x : x * nc + l;
					int64_t *c = e + 3 * i;
					if (c[0] != MCNQ_REL_OK) {
						nw++;
					} else if (c[1] > 0 &&
					    (best == SIZE_MAX ||
					        c[1] < e[3 * best + 1])) {
						best = i;
					}
				}
				if (nw == 1 && best != SIZE_MAX) {
					e[3 * best] = MCNQ_REL_SECONDARY;
					e[3 * best + 1] = e[3 * best + 2] = 0;
					changed = 1;
				}
			}
		}
	}
}

static uint64_t
dbits(double d)
{
	uint64_t u;
	memcpy(&u, &d, sizeof(u));
	return u;
}

static double
bitsd(uint64_t u)
{
	double d;
	memcpy(&d, &u, sizeof(d));
	return d;
}

mcn_err
mcn_query_decide(const mcn_query *q, const int64_t *control,
    size_t ncontrol, unsigned ncontrib, uint8_t *release, size_t nunits,
    int64_t **decision, size_t *ndecision, char *why, size_t whylen)
{
	const mcn_agg_layout *L = &q->rel;
	int64_t k = 1, m = 1, *d;
	size_t c = 0, o = 2, u = 0;
	/* survival: per block the pooled events/censored/N of every group
	 * and the groups' N status, for the log-rank test */
	int64_t *sev = NULL, *sce = NULL, *sN = NULL;
	uint8_t *sok = NULL;
	size_t smax = 0;
	mcn_err rv = MCN_ENOMEM;

	const int dp = q->has_epsilon;

	(void)ncontrib;
	*decision = NULL;
	*ndecision = 0;
	if (ncontrol != L->ncontrol || nunits != L->nunits) {
		mcnq_msg(why, whylen, "the control does not fit the query");
		return MCN_EINVAL;
	}
	for (size_t j = 0; j < NKL; j++) {
		if (control[j] > 0) {
			k = k_ladder[j];
		}
	}
	for (size_t j = 0; j < nms(q); j++) {
		if (control[NKL + j] > 0) {
			m = (int64_t)j + 2;
		}
	}
	c = q->nrelparams;
	for (size_t i = 0; i < q->nblocks; i++) {
		if (q->blocks[i].kind == MCNQ_B_SURV &&
		    q->blocks[i].npts * q->ngroups > smax) {
			smax = q->blocks[i].npts * q->ngroups;
		}
	}
	if ((d = mcn_zalloc(q->ndec * sizeof(*d))) == NULL) {
		return MCN_ENOMEM;
	}
	if (smax > 0 &&
	    ((sev = mcn_zalloc(smax * sizeof(*sev))) == NULL ||
	        (sce = mcn_zalloc(smax * sizeof(*sce))) == NULL ||
	        (sN = mcn_zalloc(q->ngroups * sizeof(*sN))) == NULL ||
	        (sok = mcn_zalloc(q->ngroups * q->nblocks)) == NULL)) {
		goto out;
	}
	d[0] = k;
	d[1] = m;
	/* per group, block: cells (control order) */
	size_t *cstart = mcn_zalloc((q->ngroups * q->nblocks + 1) *
	    sizeof(*cstart));
	if (cstart == NULL) {
		goto out;
	}
	for (size_t g = 0; g < q->ngroups; g++) {
		for (size_t i = 0; i < q->nblocks; i++) {
			const mcnq_block *b = &q->blocks[i];
			cstart[g * q->nblocks + i] = c;
			if (b->kind == MCNQ_B_SURV) {
				const int64_t *p = control + c;
				int64_t N = 0, h0 = b->npts ? p[2] : 0;
				for (size_t j = 0; j < b->npts; j++) {
					N += p[3 * j] + p[3 * j + 1];
				}
				int st = N == 0 && h0 == 0 ? MCNQ_REL_OK :
				    N < k                  ? MCNQ_REL_BELOW_K :
				    h0 < m                 ? MCNQ_REL_FEW_SITES :
				                             MCNQ_REL_OK;
				sok[g * q->nblocks + i] = (uint8_t)st;
				d[o++] = st;
				d[o++] = st == MCNQ_REL_OK ? N : 0;
				d[o++] = st == MCNQ_REL_OK ? h0 : 0;
				int64_t at = N;
				int open = st == MCNQ_REL_OK;
				for (size_t j = 0; j < b->npts; j++) {
					int64_t e = p[3 * j], z = p[3 * j + 1],
						h = p[3 * j + 2];
					int64_t after = at - e - z;
					int64_t ha = j + 1 < b->npts ?
					    p[3 * (j + 1) + 2] :
					    0;
					if (open &&
					    !(at >= k && h >= m &&
					        (after == 0 ||
					            (after >= k && ha >= m)))) {
						open = 0;
					}
					d[o++] = open ? MCNQ_REL_OK :
					                (st == MCNQ_REL_OK ?
					                        MCNQ_REL_AT_RISK :
					                        st);
					d[o++] = open ? e : 0;
					d[o++] = open ? z : 0;
					d[o++] = open ? h : 0;
					at = after;
				}
				c += 3 * b->npts;
				continue;
			}
			size_t n = ncells(q, b), first = o;
			int withheld = 0;
			for (size_t j = 0; j < n; j++) {
				const int64_t *e = control + c + CELL_SLOTS * j;
				int st = cell_status(e[0], e[1], e[2], k, m);
				withheld |= st != MCNQ_REL_OK;
				d[o++] = st;
				d[o++] = st == MCNQ_REL_OK ? e[0] : 0;
				d[o++] = st == MCNQ_REL_OK && !dp ? e[1] : 0;
			}
			if (withheld && b->kind == MCNQ_B_TABLE && b->nc > 1) {
				/* two-way table: every row and column with a
				 * withheld cell gets a second one (the smallest
				 * released non-zero cell of that line), so one
				 * line's margin never gives a cell away; until
				 * nothing changes */
				secondary_lines(d + first, b->nr, b->nc);
			}
			int has_sec = 0;
			for (size_t j = 0; j < n; j++) {
				has_sec |= d[first + 3 * j] == MCNQ_REL_SECONDARY;
			}
			int xwith = 0, wwith = 0;
			const size_t nlev = has_unit(b) ? level_cells(q, b) : 0;
			for (size_t j = 1; has_unit(b) && j < n; j++) {
				/* levels and classes decide; nothing of them
				 * is released, not even which one failed (nor
				 * which weight cell) */
				if (j <= nlev) {
					xwith |= d[first + 3 * j] != MCNQ_REL_OK;
				} else {
					wwith |= d[first + 3 * j] != MCNQ_REL_OK;
				}
				d[first + 3 * j] = MCNQ_REL_OK;
				d[first + 3 * j + 1] = d[first + 3 * j + 2] = 0;
			}
			if (has_unit(b) && (xwith || wwith) &&
			    d[first] == MCNQ_REL_OK) {
				d[first] = xwith ? MCNQ_REL_LEVEL : MCNQ_REL_WEIGHT;
				d[first + 1] = d[first + 2] = 0;
			}
			if (withheld && has_unit(b)) {
				/* the unit goes only with all its cells: n, and
				 * every level or class it would give away */
				if (d[first] == MCNQ_REL_OK) {
					d[first] = MCNQ_REL_LEVEL;
					d[first + 1] = d[first + 2] = 0;
				}
			} else if (withheld && n > 1 && !has_sec) {
				/* secondary: the smallest released non-zero
				 * cell (lowest index on ties), unless a released-
				 * size cell is withheld already */
				size_t best = SIZE_MAX;
				for (size_t j = 0; j < n; j++) {
					const int64_t *e = d + first + 3 * j;
					if (e[0] == MCNQ_REL_OK && e[1] > 0 &&
					    (best == SIZE_MAX ||
					        e[1] < d[first + 3 * best + 1])) {
						best = j;
					}
				}
				if (best != SIZE_MAX) {
					int64_t *e = d + first + 3 * best;
					e[0] = MCNQ_REL_SECONDARY;
					e[1] = e[2] = 0;
				}
			}
			if (has_unit(b)) {
				release[u++] = d[first] == MCNQ_REL_OK;
			}
			c += CELL_SLOTS * n;
		}
	}
	cstart[q->ngroups * q->nblocks] = c;
	/* log-rank per survival block, from the complete pooled data */
	for (size_t i = 0; i < q->nblocks; i++) {
		const mcnq_block *b = &q->blocks[i];
		if (b->kind != MCNQ_B_SURV) {
			continue;
		}
		size_t G = 0;
		int all = 1;
		for (size_t g = 0; g < q->ngroups; g++) {
			const int64_t *p = control + cstart[g * q->nblocks + i];
			int64_t N = 0;
			for (size_t j = 0; j < b->npts; j++) {
				N += p[3 * j] + p[3 * j + 1];
			}
			if (N == 0) {
				continue;
			}
			all &= sok[g * q->nblocks + i] == MCNQ_REL_OK;
			for (size_t j = 0; j < b->npts; j++) {
				sev[G * b->npts + j] = p[3 * j];
				sce[G * b->npts + j] = p[3 * j + 1];
			}
			sN[G++] = N;
		}
		double stat = 0;
		unsigned df = 0;
		int ok = all && G >= 2 &&
		    mcnq_logrank(sev, sce, sN, G, b->npts, &stat, &df, NULL,
		        NULL) == 0;
		d[o++] = ok ? MCNQ_REL_OK : MCNQ_REL_NOT_TESTED;
		d[o++] = ok ? (int64_t)dbits(stat) : 0;
		d[o++] = ok ? df : 0;
	}
	mcn_free(cstart, (q->ngroups * q->nblocks + 1) * sizeof(*cstart));
	MCN_MUST(o == q->ndec && u == L->nunits);
	if (dp) {
		/* WITH EPSILON: the contributor counts are exact, so neither
		 * they nor the reasons that name them are released (which
		 * cells are withheld still depends on them: outside epsilon,
		 * see README) */
		size_t e = 2;
		for (size_t g = 0; g < q->ngroups; g++) {
			for (size_t i = 0; i < q->nblocks; i++) {
				const mcnq_block *b = &q->blocks[i];
				size_t n = b->kind == MCNQ_B_SURV ? 1 + b->npts :
				                                    ncells(q, b);
				for (size_t j = 0; j < n; j++) {
					size_t w = b->kind == MCNQ_B_SURV && j > 0 ?
					    4 :
					    3;
					if (d[e] == MCNQ_REL_FEW_SITES ||
					    d[e] == MCNQ_REL_VETO ||
					    d[e] == MCNQ_REL_AT_RISK) {
						d[e] = MCNQ_REL_DP;
					}
					d[e + w - 1] = 0; /* sites */
					e += w;
				}
			}
		}
	}
	*decision = d;
	*ndecision = q->ndec;
	d = NULL;
	rv = MCN_OK;
out:
	if (d != NULL) {
		mcn_free(d, q->ndec * sizeof(*d));
	}
	mcn_free(sev, smax * sizeof(*sev));
	mcn_free(sce, smax * sizeof(*sce));
	mcn_free(sN, q->ngroups * sizeof(*sN));
	mcn_free(sok, q->ngroups * q->nblocks);
	return rv;
}

/* ---- querier side: back to the local vector's terms ---- */

void
mcnq_status_free(mcnq_status *st)
{
	if (st == NULL) {
		return;
	}
	mcn_free(st->slot, st->nslots);
	mcn_free(st->sites, st->nslots * sizeof(*st->sites));
	mcn_free(st->survN, st->ngb * sizeof(*st->survN));
	mcn_free(st->survst, st->ngb);
	mcn_free(st->lr, st->nb * sizeof(*st->lr));
	mcn_free(st->lrdf, st->nb * sizeof(*st->lrdf));
	mcn_free(st->lrst, st->nb);
	memset(st, 0, sizeof(*st));
}

void
mcnq_full_free(const mcn_query *q, mpz_t *full)
{
	if (full == NULL) {
		return;
	}
	for (size_t i = 0; i < q->layout.nvalues; i++) {
		mpz_clear(full[i]);
	}
	mcn_free(full, q->layout.nvalues * sizeof(mpz_t));
}

mcn_err
mcnq_release_unpack(const mcn_query *q, const mpz_t *vsums, size_t nv,
    const int64_t *dec, size_t ndec, unsigned nsites, mpz_t **full,
    mcnq_status *st)
{
	const size_t nf = q->layout.nvalues;
	const int64_t R = (int64_t)q->lim.max_rows_per_site * nsites;
	mpz_t *F = NULL;
	size_t o = 2, vi = 0;
	mcn_err rv = MCN_ENOMEM;

	memset(st, 0, sizeof(*st));
	*full = NULL;
	if (nv != q->rel.nvalues || ndec != q->ndec || nsites == 0) {
		return MCN_EINVAL;
	}
	if (dec[0] < 1 || dec[0] > k_ladder[NKL - 1] || dec[1] < 1 ||
	    dec[1] > (int64_t)q->lim.nsites) {
		return MCN_ERANGE;
	}
	st->k = dec[0];
	st->m = dec[1];
	st->nslots = nf;
	st->ngb = q->ngroups * q->nblocks;
	st->nb = q->nblocks;
	if ((F = mcn_alloc(nf * sizeof(*F))) == NULL) {
		return MCN_ENOMEM;
	}
	for (size_t i = 0; i < nf; i++) {
		mpz_init(F[i]);
	}
	if ((st->slot = mcn_zalloc(nf)) == NULL ||
	    (st->sites = mcn_zalloc(nf * sizeof(*st->sites))) == NULL ||
	    (st->survN = mcn_zalloc(st->ngb * sizeof(*st->survN))) == NULL ||
	    (st->survst = mcn_zalloc(st->ngb)) == NULL ||
	    (st->lr = mcn_zalloc(st->nb * sizeof(*st->lr))) == NULL ||
	    (st->lrdf = mcn_zalloc(st->nb * sizeof(*st->lrdf))) == NULL ||
	    (st->lrst = mcn_zalloc(st->nb)) == NULL) {
		goto fail;
	}
	rv = MCN_ERANGE;
#define STATUS_OK(x) ((x) >= 0 && (x) < MCNQ_REL_MAX)
#define COUNT_OK(x) ((x) >= -R - (int64_t)1000000000 && (x) <= 2 * R + 1000000000)
	for (size_t g = 0; g < q->ngroups; g++) {
		mpz_t *gF = F + g * q->per_group;
		uint8_t *gs = st->slot + g * q->per_group;
		int64_t *gw = st->sites + g * q->per_group;
		for (size_t i = 0; i < q->nblocks; i++) {
			const mcnq_block *b = &q->blocks[i];
			if (b->kind == MCNQ_B_SURV) {
				const int64_t *e = dec + o;
				if (!STATUS_OK(e[0]) || !COUNT_OK(e[1])) {
					goto fail;
				}
				st->survst[g * q->nblocks + i] = (uint8_t)e[0];
				st->survN[g * q->nblocks + i] = e[1];
				o += 3;
				for (size_t j = 0; j < b->npts; j++, o += 4) {
					e = dec + o;
					if (!STATUS_OK(e[0]) || !COUNT_OK(e[1]) ||
					    !COUNT_OK(e[2])) {
						goto fail;
					}
					mpz_set_si(gF[b->off + j], e[1]);
					mpz_set_si(gF[b->off + b->npts + j],
					    e[2]);
					gs[b->off + j] = (uint8_t)e[0];
					gs[b->off + b->npts + j] = (uint8_t)e[0];
					gw[b->off + j] = e[3];
				}
				continue;
			}
			for (size_t j = 0; j < ncells(q, b); j++, o += 3) {
				const int64_t *e = dec + o;
				if (!STATUS_OK(e[0]) || !COUNT_OK(e[1])) {
					goto fail;
				}
				if (has_unit(b) && j > 0) {
					continue; /* levels and classes: checked by
					             the nodes, not shown */
				}
				mpz_set_si(gF[b->off + j], e[1]);
				gs[b->off + j] = (uint8_t)e[0];
				gw[b->off + j] = e[2];
			}
			if (has_unit(b)) {
				for (size_t s = 1; s < b->nslots; s++, vi++) {
					mpz_set(gF[b->off + s], vsums[vi]);
					gs[b->off + s] = gs[b->off];
				}
			}
		}
	}
	for (size_t i = 0; i < q->nblocks; i++) {
		if (q->blocks[i].kind != MCNQ_B_SURV) {
			continue;
		}
		const int64_t *e = dec + o;
		if (!STATUS_OK(e[0]) || e[2] < 0 ||
		    e[2] > (int64_t)q->ngroups) {
			goto fail;
		}
		st->lrst[i] = (uint8_t)e[0];
		st->lr[i] = bitsd((uint64_t)e[1]);
		st->lrdf[i] = (unsigned)e[2];
		o += 3;
	}
#undef STATUS_OK
#undef COUNT_OK
	MCN_MUST(o == ndec && vi == nv);
	*full = F;
	return MCN_OK;
fail:
	mcnq_full_free(q, F);
	mcnq_status_free(st);
	return rv;
}

mcn_err
mcn_query_result_release(struct mcn_query_result **out, const mcn_query *q,
    const mpz_t *vsums, size_t nv, const int64_t *dec, size_t ndec,
    unsigned nsites)
{
	mcnq_status st;
	mpz_t *F = NULL;
	mcn_err rv;

	*out = NULL;
	if ((rv = mcnq_release_unpack(q, vsums, nv, dec, ndec, nsites, &F,
	         &st)) != MCN_OK) {
		return rv;
	}
	rv = mcnq_result_build(out, q, (const mpz_t *)F, q->layout.nvalues,
	    nsites, &st);
	mcnq_full_free(q, F);
	mcnq_status_free(&st);
	return rv;
}
