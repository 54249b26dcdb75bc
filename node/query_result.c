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

static int
add_note(struct mcn_query_result *r, size_t cap, const char *text)
{
	if (r->nnotes >= cap) {
		return 0;
	}
	r->notes[r->nnotes] = dup(&r->arena_, text);
	return r->notes[r->nnotes++] != NULL;
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
		mpz_submul(t2, t1, t1); /* n S2 - S1^2 >= 0 */
		mpz_mul(t3, t3, t3);    /* 10^2d */
		mpz_mul_si(t3, t3, n);
		mpz_mul_si(t3, t3, n - 1);
		c->value = ratio(t2, t3);
		if (a->kind == MCN_QUERY_SD) {
			c->value = sqrt(c->value);
		}
		return MCN_OK;
	case MCN_QUERY_HISTOGRAM:
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
		if (a->kind == MCN_QUERY_TABLE && a->col2 >= 0) {
			c->has_chi2 = mcn_stats_chi2_indep(c->counts, o->nrows,
			    o->ncols, &c->chi2, &c->chi2_df, &c->chi2_p);
		}
		return MCN_OK;
	}
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
	if (a->kind == MCN_QUERY_HISTOGRAM) {
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
	mcnq_arena *arena = NULL;
	struct mcn_query_result *r = NULL;
	const mcn_dict *d;
	mcn_err rv = MCN_ENOMEM;
	mpz_t t1, t2, t3;
	char note[256];
	int has_stat = 0, has_var = 0, has_hist = 0, has_chi = 0;
	const size_t ncap = 8;

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
			rv = fill_cell(r, q, a, o, &o->cells[g],
			    sums + g * q->per_group + b->off, t1, t2, t3);
			if (rv != MCN_OK) {
				goto out;
			}
		}
		has_stat |= a->kind != MCN_QUERY_COUNT;
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
		snprintf(buf, CELL_MAX, "%" PRId64, c->n);
	} else if (o->kind == MCN_QUERY_COUNT || o->kind == MCN_QUERY_COUNT_X) {
		snprintf(buf, CELL_MAX, "%" PRId64, c->n);
	} else if (o->kind == MCN_QUERY_SUM) {
		snprintf(buf, CELL_MAX, "%s", c->exact);
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
		snprintf(buf, CELL_MAX, "%" PRId64, c->counts[k]);
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
		snprintf(buf, CELL_MAX, "%" PRId64,
		    c->counts[(row - 1) * o->ncols + (col - 1)]);
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

void
mcn_query_result_print(const struct mcn_query_result *r, FILE *f)
{
	MCN_MUST(r != NULL && f != NULL);
	for (size_t i = 0; i < r->noutputs; i++) {
		const mcn_query_output *o = &r->outputs[i];
		tctx t = { r, o, 0 };
		fprintf(f, "%s%s\n", i ? "\n" : "", o->name);
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
jcounts(const int64_t *v, size_t n, int *bad)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		jpush(a, json_integer((json_int_t)v[i]), bad);
	}
	if (a == NULL) {
		*bad = 1;
	}
	return a;
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

static json_t *
jvalue(const mcn_query_output *o, const mcn_query_cell *c, int *bad)
{
	json_t *v;

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
		jset(v, "counts", jcounts(c->counts, o->bins, bad), bad);
		jset(v, "below", json_integer(c->counts[o->bins]), bad);
		jset(v, "above", json_integer(c->counts[o->bins + 1]), bad);
		return v;
	}
	case MCN_QUERY_TABLE:
		v = json_object();
		if (o->cols == NULL) {
			jset(v, "rows", jstrings(o->rows, o->nrows, bad),
			    bad);
			jset(v, "counts", jcounts(c->counts, o->nrows, bad),
			    bad);
			return v;
		}
		jset(v, "rows", jstrings(o->rows, o->nrows, bad), bad);
		jset(v, "cols", jstrings(o->cols, o->ncols, bad), bad);
		json_t *m = json_array();
		for (size_t i = 0; i < o->nrows; i++) {
			jpush(m,
			    jcounts(c->counts + i * o->ncols, o->ncols, bad),
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
			jset(jg, "n", json_integer(o->cells[g].n), &bad);
			jpush(groups, jg, &bad);
		}
		jset(jo, "groups", groups, &bad);
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
