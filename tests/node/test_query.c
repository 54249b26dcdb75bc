/*
 * tests/node/test_query.c - the query language end to end: compile, local
 * evaluation on three in-memory "sites", slot-wise summing (what the
 * network does), pooled results compared with statistics computed here
 * directly from the generated rows (counts and sums exact, means and
 * variances two-pass in double within 1e-9); layouts and limbs; every
 * error class; a mutation fuzz loop; stats known values; timing.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "node/query.h"
#include "node/stats.h"
#include "crypto/noise.h"
#include "test.h"

#define NSITES 3
#define R_LIMIT 10000000u
#define BIG53 9007199254740992LL /* 2^53 */

static const mcn_query_limits LIM = { R_LIMIT, NSITES, 0 };

/* ---------------------------------------------------------------- */
/* test data */

typedef struct {
	int has_age, has_bmi, has_lab, has_big, has_diag, has_adm;
	int64_t age, bmi, lab, big;    /* bmi, lab: exact X (x * 10^d) */
	int sex, smoker, region, ward; /* level index, -1 missing */
	char diag[8];
	char adm[11];
	/* analyses: sbp depends on age, bmi and smoker; fu (follow-up,
	 * 0..400) and dead (0/1) depend on sex */
	int has_sbp, has_fu, has_dead;
	int64_t sbp, fu, dead;
} row;

static const char *const SEX[] = { "F", "M" };
static const char *const SMOKER[] = { "never", "former", "current" };
static const char *const REGION[] = { "north", "south", "east", "west" };
static const char *const DIAG[] = { "E11.9", "E11.65", "E10.1", "I10",
	"J45.909", "C50.911" };

static mcn_dict *g_dict;
static sqlite3 *g_site[NSITES];
static row *g_rows;
static size_t g_nrows;
static size_t g_site_rows[NSITES];

static const char SCHEMA[] =
    "CREATE TABLE patients (age INTEGER, "
    "bmi REAL, lab REAL, big INTEGER, sex TEXT, smoker TEXT, region TEXT, "
    "ward TEXT, diagnosis TEXT, admitted TEXT, sbp INTEGER, fu INTEGER, "
    "dead INTEGER)";

static char *
dict_json(void)
{
	size_t cap = 64 * 1024, k = 0;
	char *s = malloc(cap);

	k += (size_t)snprintf(s + k, cap - k,
	    "{\"name\": \"test\", "
	    "\"version\": 1, \"table\": \"patients\", \"columns\": ["
	    "{\"name\": \"age\", \"type\": \"integer\", \"min\": 0, "
	    "\"max\": 120, \"sensitivity\": 2},"
	    "{\"name\": \"bmi\", \"type\": \"real\", \"min\": 10, "
	    "\"max\": 80, \"decimals\": 1, \"sensitivity\": 2},"
	    "{\"name\": \"lab\", \"type\": \"real\", \"min\": -50, "
	    "\"max\": 50, \"decimals\": 3, \"sensitivity\": 2},"
	    "{\"name\": \"big\", \"type\": \"integer\", "
	    "\"min\": -9007199254740992, \"max\": 9007199254740992, "
	    "\"sensitivity\": 2},"
	    "{\"name\": \"sex\", \"type\": \"categorical\", "
	    "\"levels\": [\"F\", \"M\"], \"sensitivity\": 2},"
	    "{\"name\": \"smoker\", \"type\": \"categorical\", "
	    "\"levels\": [\"never\", \"former\", \"current\"], "
	    "\"sensitivity\": 2},"
	    "{\"name\": \"region\", \"type\": \"categorical\", "
	    "\"levels\": [\"north\", \"south\", \"east\", \"west\"], "
	    "\"sensitivity\": 1},"
	    "{\"name\": \"ward\", \"type\": \"categorical\", \"levels\": [");
	for (int i = 0; i < 1000; i++) {
		k += (size_t)snprintf(s + k, cap - k, "%s\"w%03d\"",
		    i ? ", " : "", i);
	}
	snprintf(s + k, cap - k,
	    "], \"sensitivity\": 1},"
	    "{\"name\": \"diagnosis\", \"type\": \"code\", "
	    "\"code_system\": \"ICD-10\", \"sensitivity\": 4},"
	    "{\"name\": \"admitted\", \"type\": \"date\", "
	    "\"min\": \"2000-01-01\", \"max\": \"2030-12-31\", "
	    "\"sensitivity\": 3},"
	    "{\"name\": \"sbp\", \"type\": \"integer\", \"min\": 40, "
	    "\"max\": 300, \"sensitivity\": 2},"
	    "{\"name\": \"fu\", \"type\": \"integer\", \"min\": 0, "
	    "\"max\": 400, \"sensitivity\": 2},"
	    "{\"name\": \"dead\", \"type\": \"integer\", \"min\": 0, "
	    "\"max\": 1, \"sensitivity\": 2}]}");
	return s;
}

static uint32_t
rnd(mcn_rng *rng)
{
	uint32_t v = 0;

	if (mcn_rng_bytes(rng, &v, sizeof(v)) != MCN_OK) {
		abort();
	}
	return v;
}

static int64_t
rnd_range(mcn_rng *rng, int64_t lo, int64_t hi) /* inclusive */
{
	uint64_t span = (uint64_t)(hi - lo) + 1, v;

	v = ((uint64_t)rnd(rng) << 32) | rnd(rng);
	return lo + (int64_t)(span ? v % span : v);
}

static void
gen_row(mcn_rng *rng, row *w)
{
	memset(w, 0, sizeof(*w));
	w->has_age = rnd(rng) % 10 != 0;
	w->age = rnd_range(rng, 0, 120);
	w->has_bmi = rnd(rng) % 10 != 0;
	w->bmi = rnd_range(rng, 100, 800);
	w->has_lab = rnd(rng) % 8 != 0;
	w->lab = rnd_range(rng, -50000, 50000);
	w->has_big = rnd(rng) % 10 != 0;
	/* near the extremes, both signs, so that S1 and S2 need limbs */
	w->big = rnd(rng) % 2 ? BIG53 - rnd_range(rng, 0, 1000000) :
	                        -BIG53 + rnd_range(rng, 0, 3000000000LL);
	w->sex = rnd(rng) % 12 == 0 ? -1 : (int)(rnd(rng) % 2);
	w->smoker = rnd(rng) % 12 == 0 ? -1 : (int)(rnd(rng) % 3);
	w->region = rnd(rng) % 15 == 0 ? -1 : (int)(rnd(rng) % 4);
	w->ward = rnd(rng) % 20 == 0 ? -1 : (int)(rnd(rng) % 1000);
	w->has_diag = rnd(rng) % 9 != 0;
	snprintf(w->diag, sizeof(w->diag), "%s", DIAG[rnd(rng) % 6]);
	w->has_adm = rnd(rng) % 10 != 0;
	mcn_date_format(w->adm, (int32_t)rnd_range(rng, 10957, 22279));
}

static void
gen_analysis(mcn_rng *rng, row *w)
{
	int64_t noise = rnd_range(rng, -15, 15);
	int m = w->sex == 1;

	w->has_sbp = rnd(rng) % 10 != 0;
	w->sbp = 90 + (w->age / 2) + (w->bmi / 20) + 4 * (w->smoker > 0) +
	    9 * (w->smoker == 2) + noise;
	w->has_fu = rnd(rng) % 11 != 0;
	w->fu = rnd_range(rng, 0, m ? 250 : 400);
	w->has_dead = rnd(rng) % 13 != 0;
	w->dead = rnd(rng) % (m ? 2 : 3) == 0;
}

static int
db_insert(sqlite3 *db, const row *rows, size_t n)
{
	sqlite3_stmt *st = NULL;
	char ward[16];
	int ok = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db,
	        "INSERT INTO patients VALUES (?, ?, ?, ?, "
	        "?, ?, ?, ?, ?, ?, ?, ?, ?)",
	        -1, &st, NULL) == SQLITE_OK;

	for (size_t i = 0; ok && i < n; i++) {
		const row *w = &rows[i];
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		if (w->has_age)
			sqlite3_bind_int64(st, 1, w->age);
		if (w->has_bmi)
			sqlite3_bind_double(st, 2, (double)w->bmi / 10.0);
		if (w->has_lab)
			sqlite3_bind_double(st, 3, (double)w->lab / 1000.0);
		if (w->has_big)
			sqlite3_bind_int64(st, 4, w->big);
		if (w->sex >= 0)
			sqlite3_bind_text(st, 5, SEX[w->sex], -1,
			    SQLITE_STATIC);
		if (w->smoker >= 0)
			sqlite3_bind_text(st, 6, SMOKER[w->smoker], -1,
			    SQLITE_STATIC);
		if (w->region >= 0)
			sqlite3_bind_text(st, 7, REGION[w->region], -1,
			    SQLITE_STATIC);
		if (w->ward >= 0) {
			snprintf(ward, sizeof(ward), "w%03d", w->ward);
			sqlite3_bind_text(st, 8, ward, -1, SQLITE_TRANSIENT);
		}
		if (w->has_diag)
			sqlite3_bind_text(st, 9, w->diag, -1, SQLITE_STATIC);
		if (w->has_adm)
			sqlite3_bind_text(st, 10, w->adm, -1, SQLITE_STATIC);
		if (w->has_sbp)
			sqlite3_bind_int64(st, 11, w->sbp);
		if (w->has_fu)
			sqlite3_bind_int64(st, 12, w->fu);
		if (w->has_dead)
			sqlite3_bind_int64(st, 13, w->dead);
		ok = sqlite3_step(st) == SQLITE_DONE;
	}
	sqlite3_finalize(st);
	return ok && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
}

static sqlite3 *
db_new(void)
{
	sqlite3 *db = NULL;

	if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
	    sqlite3_exec(db, SCHEMA, NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "cannot create test db\n");
		exit(1);
	}
	return db;
}

static int
setup(void)
{
	static int done;
	char err[512];
	char *js;
	mcn_rng *rng;

	if (done) {
		return g_dict != NULL;
	}
	done = 1;
	js = dict_json();
	if (mcn_dict_parse(&g_dict, js, strlen(js), err, sizeof(err)) !=
	    MCN_OK) {
		fprintf(stderr, "dictionary: %s\n", err);
		free(js);
		return 0;
	}
	free(js);
	rng = mcnt_rng(42);
	g_nrows = 0;
	for (int s = 0; s < NSITES; s++) {
		g_site_rows[s] = 200 + 60 * (size_t)s;
		g_nrows += g_site_rows[s];
	}
	g_rows = calloc(g_nrows, sizeof(*g_rows));
	for (size_t i = 0; i < g_nrows; i++) {
		gen_row(rng, &g_rows[i]);
	}
	mcn_rng_free(rng);
	rng = mcnt_rng(43); /* separate stream: the rows above are unchanged */
	for (size_t i = 0; i < g_nrows; i++) {
		gen_analysis(rng, &g_rows[i]);
	}
	mcn_rng_free(rng);
	size_t off = 0;
	for (int s = 0; s < NSITES; s++) {
		g_site[s] = db_new();
		if (!db_insert(g_site[s], g_rows + off, g_site_rows[s])) {
			fprintf(stderr, "insert failed\n");
			return 0;
		}
		off += g_site_rows[s];
	}
	return 1;
}

/* ---------------------------------------------------------------- */
/* running a query over the three sites */

/* Compiles text, evaluates it at every site, sums slot-wise and builds
 * the result. NULL (after a failed check) on any error. */
static struct mcn_query_result *
run3(const char *text, const mcn_query_limits *lim, mcn_query **qout)
{
	mcn_query *q = NULL;
	struct mcn_query_result *r = NULL;
	const mcn_agg_layout *L;
	int64_t *v = NULL;
	mpz_t *sums = NULL;
	char err[512];
	mcn_err rv;

	rv = mcn_query_compile(&q, text, g_dict, lim, err, sizeof(err));
	CHECK_OK(rv);
	if (rv != MCN_OK) {
		fprintf(stderr, "  query: %s\n  error: %s\n", text, err);
		return NULL;
	}
	L = mcn_query_layout(q);
	v = calloc(L->nvalues, sizeof(*v));
	sums = calloc(L->nvalues, sizeof(*sums));
	for (size_t i = 0; i < L->nvalues; i++) {
		mpz_init(sums[i]);
	}
	for (int s = 0; s < NSITES; s++) {
		rv = mcn_query_local(q, g_site[s], v, err, sizeof(err));
		CHECK_OK(rv);
		if (rv != MCN_OK) {
			fprintf(stderr, "  query: %s\n  local: %s\n", text,
			    err);
			goto out;
		}
		/* every slot inside its field's range */
		size_t k = 0;
		for (size_t f = 0; f < L->nfields; f++) {
			for (size_t c = 0; c < L->fields[f].count; c++, k++) {
				if (v[k] < L->fields[f].lo ||
				    v[k] > L->fields[f].hi) {
					MCNT_FAIL("slot %zu out of range", k);
				}
			}
		}
		CHECK(k == L->nvalues);
		for (size_t i = 0; i < L->nvalues; i++) {
			if (v[i] >= 0) {
				mpz_add_ui(sums[i], sums[i],
				    (unsigned long)v[i]);
			} else {
				mpz_sub_ui(sums[i], sums[i],
				    (unsigned long)-v[i]);
			}
		}
	}
	CHECK_OK(
	    mcn_query_result(&r, q, (const mpz_t *)sums, L->nvalues, NSITES));
out:
	for (size_t i = 0; i < L->nvalues; i++) {
		mpz_clear(sums[i]);
	}
	free(sums);
	free(v);
	if (qout != NULL && r != NULL) {
		*qout = q;
	} else {
		mcn_query_free(q);
	}
	return r;
}

/* ---------------------------------------------------------------- */
/* the reference: direct computation over the generated rows */

typedef int (*pred_fn)(const row *w);

static int
col_num(const row *w, const char *col, int64_t *x, unsigned *d)
{
	*d = 0;
	if (strcmp(col, "age") == 0) {
		*x = w->age;
		return w->has_age;
	}
	if (strcmp(col, "bmi") == 0) {
		*x = w->bmi;
		*d = 1;
		return w->has_bmi;
	}
	if (strcmp(col, "lab") == 0) {
		*x = w->lab;
		*d = 3;
		return w->has_lab;
	}
	if (strcmp(col, "big") == 0) {
		*x = w->big;
		return w->has_big;
	}
	abort();
}

static int
col_cat(const row *w, const char *col)
{
	if (strcmp(col, "sex") == 0)
		return w->sex;
	if (strcmp(col, "smoker") == 0)
		return w->smoker;
	if (strcmp(col, "region") == 0)
		return w->region;
	if (strcmp(col, "ward") == 0)
		return w->ward;
	abort();
}

static int
col_present(const row *w, const char *col)
{
	int64_t x;
	unsigned d;

	if (strcmp(col, "diagnosis") == 0)
		return w->has_diag;
	if (strcmp(col, "admitted") == 0)
		return w->has_adm;
	if (strcmp(col, "sex") == 0 || strcmp(col, "smoker") == 0 ||
	    strcmp(col, "region") == 0 || strcmp(col, "ward") == 0)
		return col_cat(w, col) >= 0;
	return col_num(w, col, &x, &d);
}

/* group index of w under r's GROUP BY, or -1 */
static long
row_group(const struct mcn_query_result *r, const row *w)
{
	long g = 0;

	for (size_t j = 0; j < r->ngroup_cols; j++) {
		const mcn_column *c = mcn_dict_find(g_dict, r->group_cols[j]);
		int k = col_cat(w, r->group_cols[j]);
		if (k < 0) {
			return -1;
		}
		g = g * (long)c->nlevels + k;
	}
	return g;
}

static int
close_to(double a, double b)
{
	return fabs(a - b) <= 1e-9 * fabs(b) + 1e-12;
}

static void
i128_text(char *out, size_t len, __int128 v, unsigned d)
{
	char tmp[64];
	int k = 0, neg = v < 0;
	unsigned __int128 u =
	    neg ? -(unsigned __int128)v : (unsigned __int128)v;

	do {
		tmp[k++] = (char)('0' + (int)(u % 10));
		u /= 10;
	} while (u != 0 || k <= (int)d);
	size_t o = 0;
	if (neg)
		out[o++] = '-';
	while (k > 0) {
		out[o++] = tmp[--k];
		if (k == (int)d && d > 0)
			out[o++] = '.';
	}
	out[o] = '\0';
	(void)len;
}

static void
check_output(const struct mcn_query_result *r, size_t oi, pred_fn pred)
{
	const mcn_query_output *o = &r->outputs[oi];

	for (size_t g = 0; g < r->ngroups; g++) {
		const mcn_query_cell *c = &o->cells[g];
		int64_t n = 0, nx = 0;
		__int128 s1 = 0;
		double sum = 0, ss = 0;
		unsigned d = 0;
		int64_t *cnt = NULL;
		size_t ncnt = 0;

		if (o->kind == MCN_QUERY_HISTOGRAM) {
			ncnt = o->bins + 2;
		} else if (o->kind == MCN_QUERY_TABLE) {
			ncnt = o->nrows * o->ncols;
		}
		cnt = calloc(ncnt + 1, sizeof(*cnt));
		/* pass 1 */
		for (size_t i = 0; i < g_nrows; i++) {
			const row *w = &g_rows[i];
			int64_t x;
			if (!pred(w) || row_group(r, w) != (long)g)
				continue;
			n++;
			switch (o->kind) {
			case MCN_QUERY_COUNT: break;
			case MCN_QUERY_COUNT_X:
				nx += col_present(w, o->column);
				break;
			case MCN_QUERY_SUM:
			case MCN_QUERY_MEAN:
			case MCN_QUERY_VAR:
			case MCN_QUERY_SD:
				if (col_num(w, o->column, &x, &d)) {
					nx++;
					s1 += x;
					sum += (double)x / pow(10, d);
				}
				break;
			case MCN_QUERY_HISTOGRAM:
				if (col_num(w, o->column, &x, &d)) {
					double sc = pow(10, d);
					int64_t lo = llround(o->lo * sc);
					int64_t hi = llround(o->hi * sc);
					size_t k;
					nx++;
					if (x < lo)
						k = o->bins;
					else if (x >= hi)
						k = o->bins + 1;
					else
						k = (size_t)((__int128)(x -
						                 lo) *
						    o->bins / (hi - lo));
					cnt[k]++;
				}
				break;
			case MCN_QUERY_TABLE: {
				int a = col_cat(w, o->column);
				int b = o->column2 ? col_cat(w, o->column2) : 0;
				if (a >= 0 && b >= 0) {
					nx++;
					cnt[(size_t)a * o->ncols + (size_t)b]++;
				}
				break;
			}
			default: break; /* analyses: tested separately */
			}
		}
		double mean = nx ? sum / (double)nx : 0;
		/* pass 2 */
		for (size_t i = 0; i < g_nrows &&
		     (o->kind == MCN_QUERY_VAR || o->kind == MCN_QUERY_SD);
		     i++) {
			const row *w = &g_rows[i];
			int64_t x;
			if (!pred(w) || row_group(r, w) != (long)g)
				continue;
			if (col_num(w, o->column, &x, &d)) {
				double dx = (double)x / pow(10, d) - mean;
				ss += dx * dx;
			}
		}
		switch (o->kind) {
		case MCN_QUERY_COUNT:
			CHECK_U64_EQ(c->n, n);
			CHECK(c->value == (double)n);
			break;
		case MCN_QUERY_COUNT_X: CHECK_U64_EQ(c->n, nx); break;
		case MCN_QUERY_SUM: {
			char want[64];
			CHECK_U64_EQ(c->n, nx);
			i128_text(want, sizeof(want), s1, d);
			CHECK(c->exact != NULL && strcmp(c->exact, want) == 0);
			if (c->exact == NULL || strcmp(c->exact, want) != 0)
				fprintf(stderr, "  sum %s: %s != %s\n", o->name,
				    c->exact ? c->exact : "(null)", want);
			CHECK(close_to(c->value, sum));
			break;
		}
		case MCN_QUERY_MEAN:
			CHECK_U64_EQ(c->n, nx);
			CHECK(c->null == (nx == 0));
			if (nx > 0) {
				CHECK(close_to(c->value, mean));
			}
			break;
		case MCN_QUERY_VAR:
		case MCN_QUERY_SD:
			CHECK_U64_EQ(c->n, nx);
			CHECK(c->null == (nx < 2));
			if (nx >= 2) {
				double var = ss / (double)(nx - 1);
				double want =
				    o->kind == MCN_QUERY_VAR ? var : sqrt(var);
				CHECK(close_to(c->value, want));
				if (!close_to(c->value, want))
					fprintf(stderr,
					    "  %s: %.17g != %.17g\n", o->name,
					    c->value, want);
			}
			break;
		case MCN_QUERY_HISTOGRAM:
		case MCN_QUERY_TABLE:
			CHECK_U64_EQ(c->n, nx);
			CHECK(memcmp(c->counts, cnt, ncnt * sizeof(*cnt)) == 0);
			if (o->kind == MCN_QUERY_TABLE && o->cols != NULL) {
				double st, p;
				unsigned df;
				int ok = mcn_stats_chi2_indep(cnt, o->nrows,
				    o->ncols, &st, &df, &p);
				CHECK(c->has_chi2 == ok);
				/* the statistic by hand, in double */
				double tot = 0, x2 = 0;
				for (size_t k = 0; k < ncnt; k++)
					tot += (double)cnt[k];
				for (size_t a = 0; a < o->nrows && ok; a++) {
					double ra = 0;
					for (size_t b = 0; b < o->ncols; b++)
						ra += (double)
						    cnt[a * o->ncols + b];
					for (size_t b = 0; b < o->ncols; b++) {
						double cb = 0, e, ob;
						for (size_t k = 0; k < o->nrows;
						     k++)
							cb += (double)
							    cnt[k * o->ncols +
							        b];
						e = ra * cb / tot;
						ob = (double)
						    cnt[a * o->ncols + b];
						if (e > 0)
							x2 += (ob - e) *
							    (ob - e) / e;
					}
				}
				if (ok) {
					CHECK(close_to(c->chi2, x2));
					CHECK(c->chi2_df == df);
					CHECK(close_to(c->chi2_p,
					    mcn_stats_chi2_sf(x2, df)));
				}
			}
			break;
		default: break;
		}
		free(cnt);
	}
}

/* ---------------------------------------------------------------- */
/* predicates of the test queries (SQL three-valued logic: a comparison
 * with a missing value is never true, nor is its negation) */

static int
p_all(const row *w)
{
	(void)w;
	return 1;
}
static int
p_q2(const row *w)
{
	return w->has_age && w->age >= 40 && w->sex == 0;
}
static int
p_q3(const row *w)
{
	return w->has_bmi && w->bmi < 255;
}
static int
p_q4(const row *w)
{
	return w->smoker == 0 || w->smoker == 1;
}
static int
p_q5(const row *w)
{
	return w->has_diag && strncmp(w->diag, "E11", 3) == 0;
}
static int
p_q6(const row *w)
{
	return w->has_age && w->age >= 30 && w->age <= 60 && w->has_adm &&
	    strcmp(w->adm, "2010-01-01") >= 0;
}
static int
p_q7(const row *w)
{
	/* NOT (age > 50) OR region <> 'north' */
	return (w->has_age && !(w->age > 50)) ||
	    (w->region >= 0 && w->region != 0);
}
static int
p_q8(const row *w)
{
	return w->sex < 0 || (w->smoker >= 0 && w->smoker != 2);
}
static int
p_q9(const row *w)
{
	return w->has_age && (w->age <= 20 || w->age >= 100);
}
static int
p_q10(const row *w)
{
	/* age = 42 OR (age != 43 AND age <= 10) */
	return w->has_age && (w->age == 42 || (w->age != 43 && w->age <= 10));
}
static int
p_q11(const row *w)
{
	return (w->has_diag && strcmp(w->diag, "I10") == 0) ||
	    (w->has_adm && strcmp(w->adm, "2005-01-01") >= 0 &&
	        strcmp(w->adm, "2006-12-31") <= 0);
}
static int
p_q12(const row *w)
{
	return w->has_age && (w->age < 20 || w->age > 80) && w->has_diag &&
	    w->diag[0] != 'E';
}
static int
p_q14(const row *w)
{
	return !w->has_age;
}
static int
p_q15(const row *w)
{
	return w->has_lab && w->lab > -10500 && w->lab <= 20250;
}
static int
p_q16(const row *w)
{
	/* NOT (sex = 'F' OR age > 60): both parts known and false */
	return w->sex == 1 && w->has_age && w->age <= 60;
}
static int
p_q17(const row *w)
{
	return w->has_adm &&
	    (strcmp(w->adm, "2001-02-03") == 0 ||
	        strcmp(w->adm, "2010-10-10") == 0 ||
	        strcmp(w->adm, "2001-01-01") < 0);
}
static int
p_q18(const row *w)
{
	return ((w->ward >= 100 && w->ward < 200) || w->ward == 999) &&
	    w->has_big;
}
static int
p_q19(const row *w)
{
	return w->has_age && w->age > 118;
}

static const struct {
	const char *text;
	pred_fn pred;
	size_t ngroups;
} QUERIES[] = {
	{ "SELECT count(), count(age), sum(age), mean(age), var(age), "
	  "sd(age) FROM patients",
	    p_all, 1 },
	{ "select COUNT(*), Mean(bmi), var(bmi), sum(bmi), sum(lab), "
	  "mean(lab), sd(lab) from patients where age >= 40 and sex = 'F'",
	    p_q2, 1 },
	{ "SELECT mean(age) AS m, count() FROM patients WHERE bmi < 25.5 "
	  "GROUP BY smoker",
	    p_q3, 3 },
	{ "SELECT count(), histogram(age, 0, 100, 10), histogram(bmi, 15, "
	  "40.5, 5) FROM patients WHERE smoker IN ('never', 'former') "
	  "GROUP BY sex",
	    p_q4, 2 },
	{ "SELECT table(sex, smoker), table(region) FROM patients WHERE "
	  "diagnosis LIKE 'e11%'",
	    p_q5, 1 },
	{ "SELECT count() FROM patients WHERE age BETWEEN 30 AND 60 AND "
	  "admitted >= '2010-01-01'",
	    p_q6, 1 },
	{ "SELECT count(), mean(age) FROM patients WHERE NOT (age > 50) OR "
	  "region <> 'north' GROUP BY region, sex",
	    p_q7, 8 },
	{ "SELECT count(), var(big), mean(big), sum(big), sd(big) FROM "
	  "patients WHERE sex IS NULL OR smoker NOT IN ('current')",
	    p_q8, 1 },
	{ "SELECT count(age), count(sex), count(diagnosis), count() FROM "
	  "patients WHERE age < 20.5 OR age > 99.5",
	    p_q9, 1 },
	{ "SELECT count() FROM patients WHERE age = 42 OR age != 43 AND "
	  "age <= 10",
	    p_q10, 1 },
	{ "SELECT count(), count(admitted) FROM patients WHERE diagnosis = "
	  "'I10' OR admitted BETWEEN '2005-01-01' AND '2006-12-31'",
	    p_q11, 1 },
	{ "SELECT count() FROM patients WHERE age NOT BETWEEN 20 AND 80 AND "
	  "diagnosis NOT LIKE 'E%';",
	    p_q12, 1 },
	{ "SELECT histogram(lab, -50, 50, 7), table(region, smoker) FROM "
	  "patients GROUP BY sex, smoker",
	    p_all, 6 },
	{ "SELECT count(), count(bmi), mean(bmi) FROM patients WHERE age IS "
	  "NULL",
	    p_q14, 1 },
	{ "SELECT sum(lab), mean(lab), var(lab) FROM patients WHERE lab > "
	  "-10.5 AND lab <= 20.25",
	    p_q15, 1 },
	{ "SELECT count(), mean(bmi) FROM patients WHERE NOT (sex = 'F' OR "
	  "age > 60)",
	    p_q16, 1 },
	{ "SELECT count() FROM patients WHERE admitted IN ('2001-02-03', "
	  "'2010-10-10') OR admitted < '2001-01-01'",
	    p_q17, 1 },
	{ "SELECT count(), mean(age), var(bmi) FROM patients GROUP BY sex, "
	  "smoker, region",
	    p_all, 24 },
	{ "SELECT sum(big), var(big) FROM patients WHERE (ward LIKE 'w1%' OR "
	  "ward = 'w999') AND big IS NOT NULL",
	    p_q18, 1 },
	{ "SELECT mean(age), var(age), sd(age), sum(age) FROM patients "
	  "WHERE age > 118 GROUP BY smoker",
	    p_q19, 3 },
};

static void
test_queries(void)
{
	if (!setup()) {
		CHECK(0);
		return;
	}
	for (size_t i = 0; i < sizeof(QUERIES) / sizeof(QUERIES[0]); i++) {
		mcn_query *q = NULL;
		struct mcn_query_result *r = run3(QUERIES[i].text, &LIM, &q);
		if (r == NULL) {
			fprintf(stderr, "  query %zu failed\n", i);
			continue;
		}
		unsigned long f0 = mcnt_failures;
		CHECK(r->ngroups == QUERIES[i].ngroups);
		CHECK(r->nsites == NSITES);
		CHECK(r->noutputs == mcn_query_naggs(q));
		for (size_t o = 0; o < r->noutputs; o++) {
			check_output(r, o, QUERIES[i].pred);
		}
		if (mcnt_failures != f0) {
			fprintf(stderr, "  in query %zu: %s\n", i,
			    QUERIES[i].text);
		}
		mcn_query_result_free(r);
		mcn_query_free(q);
	}
}

/* Names, group order and the notes. */
static void
test_names_groups(void)
{
	mcn_query *q = NULL;
	struct mcn_query_result *r;

	if (!setup()) {
		CHECK(0);
		return;
	}
	r = run3("SELECT count(*), count(age), mean(bmi) AS avg_bmi, "
	         "histogram(bmi, 10.0, +40.50, 3), table(sex,smoker), "
	         "table(region) FROM patients GROUP BY smoker, sex",
	    &LIM, &q);
	if (r == NULL) {
		return;
	}
	static const char *const names[] = { "count()", "count(age)", "avg_bmi",
		"histogram(bmi,10,40.5,3)", "table(sex,smoker)",
		"table(region)" };
	CHECK(r->noutputs == 6);
	for (size_t i = 0; i < 6 && i < r->noutputs; i++) {
		CHECK(strcmp(r->outputs[i].name, names[i]) == 0);
	}
	CHECK(r->outputs[0].kind == MCN_QUERY_COUNT);
	CHECK(r->outputs[0].column == NULL);
	CHECK(r->outputs[1].kind == MCN_QUERY_COUNT_X);
	CHECK(r->outputs[2].kind == MCN_QUERY_MEAN);
	CHECK(strcmp(r->outputs[2].column, "bmi") == 0);
	CHECK(strcmp(r->outputs[4].column2, "smoker") == 0);
	CHECK(r->outputs[3].bins == 3 && r->outputs[3].lo == 10.0 &&
	    r->outputs[3].hi == 40.5);
	CHECK(r->outputs[3].edges[1] == 20.166666666666668 ||
	    fabs(r->outputs[3].edges[1] - 20.1666666666667) < 1e-9);
	/* groups: smoker outermost, sex inner */
	CHECK(r->ngroups == 6 && r->ngroup_cols == 2);
	CHECK(strcmp(r->group_cols[0], "smoker") == 0);
	CHECK(strcmp(r->group_levels[0], "never") == 0 &&
	    strcmp(r->group_levels[1], "F") == 0);
	CHECK(strcmp(r->group_levels[2], "never") == 0 &&
	    strcmp(r->group_levels[3], "M") == 0);
	CHECK(strcmp(r->group_levels[10], "current") == 0 &&
	    strcmp(r->group_levels[11], "M") == 0);
	for (size_t o = 0; o < r->noutputs; o++) {
		check_output(r, o, p_all);
	}
	/* introspection */
	CHECK(mcn_query_ncolumns(q) == 5); /* age bmi sex smoker region */
	CHECK(strcmp(mcn_query_column(q, 0)->name, "age") == 0);
	CHECK(strcmp(mcn_query_column(q, 4)->name, "region") == 0);
	const char *nm = NULL;
	CHECK(mcn_query_agg(q, 2, &nm) == MCN_QUERY_MEAN &&
	    strcmp(nm, "avg_bmi") == 0);
	CHECK(mcn_query_ngroups(q) == 6);
	CHECK(!mcn_query_has_where(q));
	int found = 0;
	for (size_t i = 0; i < r->nnotes; i++) {
		found |= strstr(r->notes[i], "GROUP BY") != NULL;
	}
	CHECK(found);
	mcn_query_result_free(r);
	mcn_query_free(q);
}

/* Plain text and JSON renderings. */
static void
test_print_json(void)
{
	mcn_query *q = NULL;
	struct mcn_query_result *r;
	char *buf = NULL;
	size_t len = 0;

	if (!setup()) {
		CHECK(0);
		return;
	}
	r = run3("SELECT count(), sum(bmi), mean(age), var(age), "
	         "histogram(age, 0, 120, 4), table(sex, smoker), table(region) "
	         "FROM patients WHERE age > 118 OR age < 3 GROUP BY sex",
	    &LIM, &q);
	if (r == NULL) {
		return;
	}
	FILE *f = open_memstream(&buf, &len);
	mcn_query_result_print(r, f);
	fclose(f);
	CHECK(strstr(buf, "count()") != NULL);
	CHECK(strstr(buf, "sum(bmi)") != NULL);
	CHECK(strstr(buf, "[0, 30)") != NULL);
	CHECK(strstr(buf, ">= 120") != NULL);
	CHECK(strstr(buf, "[sex=M]") != NULL);
	CHECK(strstr(buf, "chi-square") != NULL);
	CHECK(strstr(buf, "notes:") != NULL);
	CHECK(strstr(buf, r->outputs[1].cells[0].exact) != NULL);
	if (getenv("MCNT_VERBOSE") != NULL) {
		fputs(buf, stderr);
	}
	free(buf);

	json_t *j = mcn_query_result_json(r);
	CHECK(j != NULL);
	if (j != NULL) {
		json_t *res = json_object_get(j, "results");
		CHECK(
		    json_integer_value(json_object_get(j, "sites")) == NSITES);
		CHECK(json_array_size(res) == 7);
		json_t *o0 = json_array_get(res, 0);
		CHECK(strcmp(json_string_value(json_object_get(o0, "name")),
		          "count()") == 0);
		CHECK(json_is_null(json_object_get(o0, "column")));
		json_t *g1 = json_array_get(json_object_get(o0, "groups"), 1);
		CHECK(strcmp(json_string_value(json_object_get(
		                 json_object_get(g1, "group"), "sex")),
		          "M") == 0);
		CHECK(json_integer_value(json_object_get(g1, "value")) ==
		    r->outputs[0].cells[1].n);
		json_t *o2 = json_array_get(res, 2);
		CHECK(
		    strcmp(json_string_value(json_object_get(o2, "aggregate")),
		        "mean") == 0);
		CHECK(strcmp(json_string_value(json_object_get(o2, "column")),
		          "age") == 0);
		json_t *v2 = json_object_get(
		    json_array_get(json_object_get(o2, "groups"), 0), "value");
		CHECK(json_is_real(v2) &&
		    json_real_value(v2) == r->outputs[2].cells[0].value);
		json_t *h = json_object_get(
		    json_array_get(
		        json_object_get(json_array_get(res, 4), "groups"), 0),
		    "value");
		CHECK(json_array_size(json_object_get(h, "edges")) == 5);
		CHECK(json_array_size(json_object_get(h, "counts")) == 4);
		CHECK(json_integer_value(json_object_get(h, "above")) ==
		    r->outputs[4].cells[0].counts[5]);
		json_t *t = json_object_get(
		    json_array_get(
		        json_object_get(json_array_get(res, 5), "groups"), 0),
		    "value");
		CHECK(json_array_size(json_object_get(t, "rows")) == 2);
		CHECK(json_array_size(json_object_get(t, "cols")) == 3);
		CHECK(json_integer_value(json_array_get(
		          json_array_get(json_object_get(t, "counts"), 1),
		          2)) == r->outputs[5].cells[0].counts[5]);
		json_t *cs = json_object_get(t, "chi_square");
		CHECK(json_is_null(cs) ||
		    json_is_real(json_object_get(cs, "p_value")));
		json_t *t1 = json_object_get(
		    json_array_get(
		        json_object_get(json_array_get(res, 6), "groups"), 0),
		    "value");
		CHECK(json_array_size(json_object_get(t1, "rows")) == 4);
		char *s = json_dumps(j, JSON_COMPACT);
		CHECK(s != NULL && strstr(s, "\"notes\"") != NULL);
		free(s);
		json_decref(j);
	}
	mcn_query_result_free(r);
	mcn_query_free(q);
}

/* ---------------------------------------------------------------- */
/* layouts and limbs */

static void
test_layout(void)
{
	mcn_query *a = NULL, *b = NULL;
	char err[512];
	const char *text =
	    "SELECT count(), mean(age), var(bmi), "
	    "histogram(age, 0, 100, 10), table(sex, smoker), sum(lab) FROM "
	    "patients WHERE age > 10 GROUP BY region";

	if (!setup()) {
		CHECK(0);
		return;
	}
	REQUIRE_OK(mcn_query_compile(&a, text, g_dict, &LIM, err, sizeof(err)));
	REQUIRE_OK(mcn_query_compile(&b,
	    "select count( ) , mean ( age ),var("
	    "bmi),histogram(age,0.0,100,10),table(sex,smoker),sum(lab) from "
	    "patients where age>10 group by region",
	    g_dict, &LIM, err, sizeof(err)));
	const mcn_agg_layout *la = mcn_query_layout(a),
	                     *lb = mcn_query_layout(b);
	CHECK(la->nfields == lb->nfields && la->nvalues == lb->nvalues);
	CHECK(la->nfields > 0 &&
	    memcmp(la->fields, lb->fields, la->nfields * sizeof(*la->fields)) ==
	        0);
	/* per group: 1 + (n, S1) + (n, S1, S2) + 12 + 6 + (n, S1) (no
	 * suppression flags: disclosure control is on the pooled release) */
	CHECK(la->nvalues == 4 * (1 + 2 + 3 + 12 + 6 + 2));
	size_t tot = 0;
	for (size_t i = 0; i < la->nfields; i++) {
		tot += la->fields[i].count;
		if (i > 0) {
			CHECK(la->fields[i].lo != la->fields[i - 1].lo ||
			    la->fields[i].hi != la->fields[i - 1].hi);
		}
	}
	CHECK(tot == la->nvalues);
	/* first group: count, then n_age [0,R], S1_age [0, 120 R] */
	CHECK(la->fields[0].count == 2 && la->fields[0].lo == 0 &&
	    la->fields[0].hi == (int64_t)R_LIMIT);
	CHECK(la->fields[1].count == 1 && la->fields[1].lo == 0 &&
	    la->fields[1].hi == 120LL * R_LIMIT);
	/* then n_bmi, S1_bmi [0, 800 R], S2_bmi [0, 640000 R] */
	CHECK(la->fields[2].count == 1 && la->fields[2].hi == (int64_t)R_LIMIT);
	CHECK(la->fields[3].count == 1 && la->fields[3].hi == 800LL * R_LIMIT);
	CHECK(
	    la->fields[4].count == 1 && la->fields[4].hi == 640000LL * R_LIMIT);
	/* 12 bins + 6 cells + n_lab: one run of counts */
	CHECK(la->fields[5].count == 19 && la->fields[5].lo == 0 &&
	    la->fields[5].hi == (int64_t)R_LIMIT);
	/* S1_lab [-50000 R, 50000 R] */
	CHECK(la->fields[6].count == 1 &&
	    la->fields[6].lo == -50000LL * R_LIMIT &&
	    la->fields[6].hi == 50000LL * R_LIMIT);

	mcn_agg_layout cp;
	REQUIRE_OK(mcn_query_layout_copy(&cp, a));
	CHECK(cp.nfields == la->nfields && cp.nvalues == la->nvalues &&
	    memcmp(cp.fields, la->fields, cp.nfields * sizeof(*cp.fields)) ==
	        0);
	mcn_free(cp.fields, cp.nfields * sizeof(*cp.fields));
	mcn_query_free(a);
	mcn_query_free(b);

	/* count() alone: one slot; the scan is a plain count(*) */
	REQUIRE_OK(mcn_query_compile(&a, "SELECT count() FROM patients", g_dict,
	    &LIM, err, sizeof(err)));
	la = mcn_query_layout(a);
	CHECK(la->nfields == 1 && la->nvalues == 1 &&
	    la->fields[0].count == 1 && la->fields[0].lo == 0 &&
	    la->fields[0].hi == (int64_t)R_LIMIT);
	int64_t vv[2] = { -1, -1 };
	CHECK_OK(mcn_query_local(a, g_site[0], vv, err, sizeof(err)));
	int64_t v = vv[0];
	CHECK(vv[1] == -1);
	CHECK_U64_EQ(v, g_site_rows[0]);
	mcn_query_free(a);
}

static void
test_limbs(void)
{
	mcn_query *q = NULL;
	char err[512];
	const int64_t R = R_LIMIT, M40 = (1LL << 40) - 1;

	if (!setup()) {
		CHECK(0);
		return;
	}
	/* |X| <= 2^53: S1 bound R 2^53 ~ 2^76 and S2 bound R 2^106 exceed
	 * 2^62 / N: S1 takes 2 limbs (top in [-R 2^13, R 2^13]), S2 takes 3
	 * (top in [0, R 2^26]). */
	REQUIRE_OK(mcn_query_compile(&q,
	    "SELECT sum(big), var(big) FROM "
	    "patients",
	    g_dict, &LIM, err, sizeof(err)));
	const mcn_agg_layout *L = mcn_query_layout(q);
	CHECK(L->nvalues == 6);
	CHECK(L->nfields == 5);
	if (L->nfields == 5) {
		CHECK(L->fields[0].count == 1 && L->fields[0].lo == 0 &&
		    L->fields[0].hi == R);
		CHECK(L->fields[1].count == 1 && L->fields[1].lo == 0 &&
		    L->fields[1].hi == M40);
		CHECK(L->fields[2].count == 1 && L->fields[2].lo == -R * 8192 &&
		    L->fields[2].hi == R * 8192);
		CHECK(L->fields[3].count == 2 && L->fields[3].lo == 0 &&
		    L->fields[3].hi == M40);
		CHECK(L->fields[4].count == 1 && L->fields[4].lo == 0 &&
		    L->fields[4].hi == R << 26);
	}
	/* one site's vector: the limbs are its exact sums */
	int64_t v[7];
	__int128 s1 = 0;
	unsigned __int128 s2 = 0;
	int64_t n = 0;
	CHECK_OK(mcn_query_local(q, g_site[0], v, err, sizeof(err)));
	for (size_t i = 0; i < g_site_rows[0]; i++) {
		if (g_rows[i].has_big) {
			n++;
			s1 += g_rows[i].big;
			s2 += (unsigned __int128)((__int128)g_rows[i].big *
			    g_rows[i].big);
		}
	}
	CHECK(v[0] == n);
	CHECK(v[1] >= 0 && v[1] <= M40);
	CHECK((__int128)v[1] + ((__int128)v[2] << 40) == s1);
	unsigned __int128 r2 =
	    (unsigned __int128)v[3] + ((unsigned __int128)v[4] << 40);
	CHECK(v[5] > 0); /* S2 ~ 2^106 * n: its top limb is in use */
	/* S2 may exceed 2^128 only with > 4 rows at 2^62; here it fits */
	r2 += (unsigned __int128)v[5] << 80;
	CHECK(r2 == s2);
	mcn_query_free(q);

	/* pooled: exact sums and variance through the limbs, in
	 * test_queries; here once more with few sites so that S1 is one slot */
	mcn_query_limits small = { 1000, 3, 0 };
	REQUIRE_OK(mcn_query_compile(&q, "SELECT sum(age) FROM patients",
	    g_dict, &small, err, sizeof(err)));
	L = mcn_query_layout(q);
	CHECK(L->nvalues == 2 && L->nfields == 2 && L->fields[1].hi == 120000);
	mcn_query_free(q);
}

/* ---------------------------------------------------------------- */
/* local evaluation: refusals and data checks */

static void
test_local_errors(void)
{
	mcn_query *q = NULL;
	mcn_query_limits small = { 100, 3, 0 };
	char err[512];
	int64_t v[64];

	if (!setup()) {
		CHECK(0);
		return;
	}
	/* more rows than max_rows_per_site */
	REQUIRE_OK(mcn_query_compile(&q,
	    "SELECT count(), mean(age) FROM "
	    "patients",
	    g_dict, &small, err, sizeof(err)));
	memset(v, 0x55, sizeof(v));
	CHECK_ERR(mcn_query_local(q, g_site[0], v, err, sizeof(err)),
	    MCN_EREFUSED);
	CHECK(strstr(err, "more rows than") != NULL);
	CHECK(v[0] == 0 && v[1] == 0 && v[2] == 0);
	mcn_query_free(q);

	/* values that break the dictionary */
	REQUIRE_OK(mcn_query_compile(&q,
	    "SELECT mean(age) FROM patients "
	    "GROUP BY sex",
	    g_dict, &LIM, err, sizeof(err)));
	sqlite3 *db = db_new();
	CHECK(sqlite3_exec(db,
	          "INSERT INTO patients (age, sex) VALUES "
	          "(30, 'F'), (200, 'M')",
	          NULL, NULL, NULL) == SQLITE_OK);
	CHECK_ERR(mcn_query_local(q, db, v, err, sizeof(err)), MCN_EDATA);
	CHECK(strstr(err, "'age'") != NULL && strstr(err, "range") != NULL);
	CHECK(strstr(err, "200") == NULL);
	CHECK(v[0] == 0 && v[1] == 0);
	CHECK(sqlite3_exec(db,
	          "UPDATE patients SET age = 40 WHERE age = 200;"
	          " UPDATE patients SET sex = 'X' WHERE sex = 'M'",
	          NULL, NULL, NULL) == SQLITE_OK);
	CHECK_ERR(mcn_query_local(q, db, v, err, sizeof(err)), MCN_EDATA);
	CHECK(strstr(err, "'sex'") != NULL && strstr(err, "level") != NULL);
	CHECK(sqlite3_exec(db,
	          "UPDATE patients SET sex = 'M' WHERE sex = 'X';"
	          " UPDATE patients SET age = 'abc' WHERE age = 40",
	          NULL, NULL, NULL) == SQLITE_OK);
	CHECK_ERR(mcn_query_local(q, db, v, err, sizeof(err)), MCN_EDATA);
	CHECK(strstr(err, "non-numeric") != NULL);
	CHECK(sqlite3_exec(db,
	          "UPDATE patients SET age = 40 WHERE age = "
	          "'abc'",
	          NULL, NULL, NULL) == SQLITE_OK);
	CHECK_OK(mcn_query_local(q, db, v, err, sizeof(err)));
	/* groups F, M: n, S1 each */
	CHECK(v[0] == 1 && v[1] == 30 && v[2] == 1 && v[3] == 40);
	sqlite3_close(db);

	/* no such table / column */
	db = NULL;
	CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK);
	CHECK_ERR(mcn_query_local(q, db, v, err, sizeof(err)), MCN_EDATA);
	CHECK(strstr(err, "patients") != NULL);
	CHECK(sqlite3_exec(db, "CREATE TABLE patients (age INTEGER)", NULL,
	          NULL, NULL) == SQLITE_OK);
	CHECK_ERR(mcn_query_local(q, db, v, err, sizeof(err)), MCN_EDATA);
	CHECK(strstr(err, "sex") != NULL);
	sqlite3_close(db);
	mcn_query_free(q);
}

/* ---------------------------------------------------------------- */
/* compile errors */

static const struct {
	const char *text;
	mcn_err code;
	const char *msg;
} ERRORS[] = {
	{ "", MCN_EQUERY,
	    "syntax error at position 1 (near end of query): "
	    "expected SELECT" },
	{ "SELECT", MCN_EQUERY,
	    "syntax error at position 7 (near end of "
	    "query): expected an aggregate" },
	{ "SELECT age FROM patients", MCN_EQUERY,
	    "syntax error at position "
	    "8 (near 'age'): expected an aggregate" },
	{ "SELECT max(age) FROM patients", MCN_EQUERY,
	    "position 8 (near "
	    "'max')" },
	{ "SELECT count( FROM patients", MCN_EQUERY,
	    "syntax error at "
	    "position 15 (near 'FROM'): expected a column name, '*' or ')'" },
	{ "SELECT count() patients", MCN_EQUERY,
	    "position 16 (near "
	    "'patients'): expected ',' or FROM" },
	{ "SELECT count() FROM patients WHERE", MCN_EQUERY,
	    "position 35 "
	    "(near end of query): expected a column name, NOT or '('" },
	{ "SELECT count() FROM patients WHERE age > 1 extra", MCN_EQUERY,
	    "position 44 (near 'extra'): expected AND, OR, GROUP BY or end of "
	    "query" },
	{ "SELECT count() FROM patients WHERE age @ 1", MCN_EQUERY,
	    "position 40 (near '@'): unexpected character" },
	{ "SELECT count() FROM patients WHERE diagnosis = 'E11", MCN_EQUERY,
	    "position 48: unterminated string" },
	{ "SELECT count() FROM patients WHERE age 1", MCN_EQUERY,
	    "position 40 (near '1'): expected a comparison operator" },
	{ "SELECT count() FROM patients WHERE age NOT 1", MCN_EQUERY,
	    "expected BETWEEN, IN or LIKE after NOT" },
	{ "SELECT count() FROM patients WHERE age BETWEEN 1 OR 2", MCN_EQUERY,
	    "position 50 (near 'OR'): expected AND (of BETWEEN)" },
	{ "SELECT count() FROM patients WHERE (age > 1", MCN_EQUERY,
	    "position 44 (near end of query): expected ')', AND or OR" },
	{ "SELECT count() FROM patients GROUP sex", MCN_EQUERY,
	    "position 36 (near 'sex'): expected BY" },
	{ "SELECT count() FROM patients GROUP BY sex smoker", MCN_EQUERY,
	    "position 43 (near 'smoker'): expected ',' or end of query" },
	{ "SELECT count() AS FROM patients", MCN_EQUERY,
	    "expected an output name after AS" },
	{ "SELECT mean(agee) FROM patients", MCN_EQUERY,
	    "unknown column 'agee' at position 13" },
	{ "SELECT mean(AGE) FROM patients", MCN_EQUERY,
	    "unknown column 'AGE' at position 13 (column names are "
	    "lower-case)" },
	{ "SELECT count() FROM people", MCN_EQUERY,
	    "unknown table 'people' at position 21 (the dictionary's table is "
	    "'patients')" },
	{ "SELECT mean(sex) FROM patients", MCN_EQUERY,
	    "mean needs an integer or real column; 'sex' (position 13) is "
	    "categorical" },
	{ "SELECT histogram(diagnosis, 0, 1, 2) FROM patients", MCN_EQUERY,
	    "histogram needs an integer or real column" },
	{ "SELECT count() FROM patients WHERE sex = 'Q'", MCN_EQUERY,
	    "'Q' is not a level of column 'sex' (levels: F, M)" },
	{ "SELECT count() FROM patients WHERE smoker IN ('never', 'Never')",
	    MCN_EQUERY,
	    "'Never' is not a level of column 'smoker' (levels: "
	    "never, former, current)" },
	{ "SELECT count() FROM patients WHERE age = 'x'", MCN_EQUERY,
	    "column 'age' is integer: expected a number at position 42" },
	{ "SELECT count() FROM patients WHERE age = 12.5", MCN_EQUERY,
	    "the number at position 42 is not an integer" },
	{ "SELECT count() FROM patients WHERE age IN (1, 2.5)", MCN_EQUERY,
	    "the number at position 47 is not an integer" },
	{ "SELECT count() FROM patients WHERE sex = 1", MCN_EQUERY,
	    "column 'sex' is categorical: expected a quoted level" },
	{ "SELECT count() FROM patients WHERE bmi > 'a'", MCN_EQUERY,
	    "column 'bmi' is real: expected a number" },
	{ "SELECT count() FROM patients WHERE sex < 'F'", MCN_EQUERY,
	    "operator '<' cannot be used with categorical column 'sex'" },
	{ "SELECT count() FROM patients WHERE sex BETWEEN 'F' AND 'M'",
	    MCN_EQUERY, "operator 'BETWEEN' cannot be used with categorical" },
	{ "SELECT count() FROM patients WHERE admitted = '2020-02-30'",
	    MCN_EQUERY,
	    "column 'admitted' is a date: expected 'YYYY-MM-DD' at "
	    "position 47" },
	{ "SELECT count() FROM patients WHERE admitted < 2020", MCN_EQUERY,
	    "expected 'YYYY-MM-DD'" },
	{ "SELECT count() FROM patients WHERE diagnosis = 11", MCN_EQUERY,
	    "column 'diagnosis' is a code: expected a quoted string" },
	{ "SELECT count() FROM patients WHERE age LIKE '1%'", MCN_EQUERY,
	    "LIKE needs a code or categorical column; 'age' is integer" },
	{ "SELECT count() FROM patients WHERE diagnosis LIKE 'E1_%'",
	    MCN_EQUERY,
	    "LIKE pattern at position 51 must be literal characters"
	    " followed by one trailing '%'" },
	{ "SELECT count() FROM patients WHERE diagnosis LIKE 'E%1'", MCN_EQUERY,
	    "LIKE pattern at position 51" },
	{ "SELECT count() FROM patients WHERE diagnosis LIKE 'E11'", MCN_EQUERY,
	    "LIKE pattern at position 51" },
	{ "SELECT count() FROM patients WHERE diagnosis LIKE E", MCN_EQUERY,
	    "position 51 (near 'E'): expected a quoted pattern" },
	{ "SELECT histogram(age, 10, 0, 5) FROM patients", MCN_EQUERY,
	    "histogram lower bound (position 23) must be less than its upper "
	    "bound" },
	{ "SELECT histogram(age, 1, 1.0, 5) FROM patients", MCN_EQUERY,
	    "must be less than its upper bound" },
	{ "SELECT histogram(age, 0, 10, 0) FROM patients", MCN_EQUERY,
	    "histogram bins at position 30 must be an integer from 1 to 1000" },
	{ "SELECT histogram(age, 0, 10, 1001) FROM patients", MCN_EQUERY,
	    "must be an integer from 1 to 1000" },
	{ "SELECT histogram(age, 0, 10, 2.5) FROM patients", MCN_EQUERY,
	    "must be an integer from 1 to 1000" },
	{ "SELECT histogram(age, 0.0000000001, 10, 2) FROM patients",
	    MCN_EQUERY, "histogram bound at position 23 has too many digits" },
	{ "SELECT histogram(age, 0, 10) FROM patients", MCN_EQUERY,
	    "position 28 (near ')'): expected ','" },
	{ "SELECT histogram(age, 'a', 10, 2) FROM patients", MCN_EQUERY,
	    "expected a number (histogram lower bound)" },
	{ "SELECT quantile(age, 1) FROM patients", MCN_EQUERY,
	    "quantile probability at position 22 must be a number between 0 "
	    "and 1 (both excluded) with at most 6 decimals" },
	{ "SELECT quantile(age, 0) FROM patients", MCN_EQUERY,
	    "quantile probability at position 22 must be a number between 0 "
	    "and 1 (both excluded) with at most 6 decimals" },
	{ "SELECT quantile(age, 1.5) FROM patients", MCN_EQUERY,
	    "quantile probability at position 22 must be a number between 0 "
	    "and 1 (both excluded) with at most 6 decimals" },
	{ "SELECT quantile(age, 0.0000001) FROM patients", MCN_EQUERY,
	    "quantile probability at position 22 must be a number between 0 "
	    "and 1 (both excluded) with at most 6 decimals" },
	{ "SELECT quantile(age, -0.5) FROM patients", MCN_EQUERY,
	    "quantile probability at position 22 must be a number between 0 "
	    "and 1 (both excluded) with at most 6 decimals" },
	{ "SELECT quantile(age, 'a') FROM patients", MCN_EQUERY,
	    "syntax error at position 22 (near ''a''): expected a number (the "
	    "probability)" },
	{ "SELECT quantile(age) FROM patients", MCN_EQUERY,
	    "syntax error at position 20 (near ')'): expected ','" },
	{ "SELECT median(age, 0.5) FROM patients", MCN_EQUERY,
	    "syntax error at position 18 (near ','): expected ')'" },
	{ "SELECT quantile(sex, 0.5) FROM patients", MCN_EQUERY,
	    "quantile needs an integer or real column; 'sex' (position 17) "
	    "is categorical" },
	{ "SELECT median(diagnosis) FROM patients", MCN_EQUERY,
	    "median needs an integer or real column; 'diagnosis' (position "
	    "15) is code" },
	{ "SELECT median(age) FROM patients GROUP BY sex", MCN_EQUERY,
	    "median must be the only output of its query and takes no GROUP "
	    "BY (use WHERE to select a subgroup)" },
	{ "SELECT count(), quantile(age, 0.5) FROM patients", MCN_EQUERY,
	    "quantile must be the only output of its query and takes no "
	    "GROUP BY (use WHERE to select a subgroup)" },
	{ "SELECT median(age), median(bmi) FROM patients", MCN_EQUERY,
	    "median must be the only output of its query" },
	{ "SELECT median(age) FROM patients WITH EPSILON 1", MCN_EQUERY,
	    "WITH EPSILON applies to count, sum, mean, var, sd, histogram and "
	    "table; 'median(age)' is quantile" },
	{ "SELECT quantile(bmi, 0.25) AS q FROM patients WITH EPSILON 0.5",
	    MCN_EQUERY,
	    "WITH EPSILON applies to count, sum, mean, var, sd, histogram and "
	    "table; 'q' is quantile" },
	{ "SELECT count() FROM patients GROUP BY age", MCN_EQUERY,
	    "GROUP BY column 'age' (position 39) is integer; only categorical "
	    "columns can be grouped on" },
	{ "SELECT count() FROM patients GROUP BY sex, sex", MCN_EQUERY,
	    "GROUP BY column 'sex' given twice (position 44)" },
	{ "SELECT count() FROM patients GROUP BY ward, region, smoker",
	    MCN_EQUERY, "GROUP BY gives more than 10000 groups (position 53)" },
	{ "SELECT count() FROM patients GROUP BY sex, smoker, region, ward",
	    MCN_EQUERY, "GROUP BY takes at most 3 columns (position 60)" },
	{ "SELECT mean(age), count(), mean(age) FROM patients", MCN_EQUERY,
	    "duplicate output name 'mean(age)' (outputs 1 and 3" },
	{ "SELECT count() AS x, mean(age) AS x FROM patients", MCN_EQUERY,
	    "duplicate output name 'x'" },
	{ "SELECT count(*), count() FROM patients", MCN_EQUERY,
	    "duplicate output name 'count()'" },
	{ "SELECT table(age) FROM patients", MCN_EQUERY,
	    "table needs categorical columns; 'age' is integer" },
	{ "SELECT table(sex, sex) FROM patients", MCN_EQUERY,
	    "table needs two different columns (position 19)" },
	{ "SELECT table(ward, region) FROM patients GROUP BY ward, smoker",
	    MCN_EQUERY,
	    "query needs 12000000 values, more than the limit of "
	    "1048576" },
	{ "SELECT histogram(age, 0, 1, 1000), histogram(bmi, 10, 11, 1000), "
	  "histogram(lab, 0, 1, 1000) FROM patients GROUP BY ward",
	    MCN_EQUERY, "query needs 3006000 values" },
};

static void
test_errors(void)
{
	mcn_query *q = NULL;
	char err[512];

	if (!setup()) {
		CHECK(0);
		return;
	}
	for (size_t i = 0; i < sizeof(ERRORS) / sizeof(ERRORS[0]); i++) {
		memset(err, 0, sizeof(err));
		mcn_err rv = mcn_query_compile(&q, ERRORS[i].text, g_dict, &LIM,
		    err, sizeof(err));
		CHECK_ERR(rv, ERRORS[i].code);
		CHECK(q == NULL);
		CHECK(strstr(err, ERRORS[i].msg) != NULL);
		if (rv != ERRORS[i].code ||
		    strstr(err, ERRORS[i].msg) == NULL) {
			fprintf(stderr,
			    "  query: %s\n  got:   %s\n  want:  %s\n",
			    ERRORS[i].text, err, ERRORS[i].msg);
		}
		mcn_query_free(q);
		q = NULL;
	}

	/* generated texts: limits on size, nesting, IN lists, conditions */
	size_t cap = MCN_QUERY_MAX_TEXT + 64;
	char *t = malloc(cap);
	size_t k;

	memset(t, ' ', cap);
	memcpy(t, "SELECT count() FROM patients", 28);
	t[MCN_QUERY_MAX_TEXT + 1] = '\0';
	CHECK_ERR(mcn_query_compile(&q, t, g_dict, &LIM, err, sizeof(err)),
	    MCN_EQUERY);
	CHECK(strstr(err, "longer than 16384 bytes") != NULL);
	t[MCN_QUERY_MAX_TEXT] = '\0'; /* exactly at the limit: fine */
	CHECK_OK(mcn_query_compile(&q, t, g_dict, &LIM, err, sizeof(err)));
	mcn_query_free(q);
	q = NULL;

	k = (size_t)snprintf(t, cap, "SELECT count() FROM patients WHERE ");
	for (int i = 0; i < 70; i++)
		t[k++] = '(';
	snprintf(t + k, cap - k, "age > 1");
	CHECK_ERR(mcn_query_compile(&q, t, g_dict, &LIM, err, sizeof(err)),
	    MCN_EQUERY);
	CHECK(strstr(err, "nested too deeply at position") != NULL);

	k = (size_t)snprintf(t, cap, "SELECT count() FROM patients WHERE ");
	for (int i = 0; i < 70; i++)
		k += (size_t)snprintf(t + k, cap - k, "NOT ");
	snprintf(t + k, cap - k, "age > 1");
	CHECK_ERR(mcn_query_compile(&q, t, g_dict, &LIM, err, sizeof(err)),
	    MCN_EQUERY);
	CHECK(strstr(err, "nested too deeply") != NULL);

	k = (size_t)snprintf(t, cap,
	    "SELECT count() FROM patients WHERE "
	    "age IN (0");
	for (int i = 1; i <= 1000; i++)
		k += (size_t)snprintf(t + k, cap - k, ",%d", i % 10);
	snprintf(t + k, cap - k, ")");
	CHECK_ERR(mcn_query_compile(&q, t, g_dict, &LIM, err, sizeof(err)),
	    MCN_EQUERY);
	CHECK(strstr(err, "too many values in the IN list") != NULL);

	k = (size_t)snprintf(t, cap,
	    "SELECT count() FROM patients WHERE "
	    "age > 0");
	for (int i = 0; i < 256; i++)
		k += (size_t)snprintf(t + k, cap - k, " OR age=%d", i % 100);
	CHECK_ERR(mcn_query_compile(&q, t, g_dict, &LIM, err, sizeof(err)),
	    MCN_EQUERY);
	CHECK(strstr(err, "too many conditions in WHERE (more than 256)") !=
	    NULL);

	k = (size_t)snprintf(t, cap, "SELECT count()");
	for (int i = 0; i < 100; i++)
		k += (size_t)snprintf(t + k, cap - k, ", count() AS c%d", i);
	snprintf(t + k, cap - k, " FROM patients");
	CHECK_ERR(mcn_query_compile(&q, t, g_dict, &LIM, err, sizeof(err)),
	    MCN_EQUERY);
	CHECK(strstr(err, "more than 100 outputs") != NULL);

	/* a 64-character alias is one too many */
	k = (size_t)snprintf(t, cap, "SELECT count() AS ");
	for (int i = 0; i < 64; i++)
		t[k++] = 'a';
	snprintf(t + k, cap - k, " FROM patients");
	CHECK_ERR(mcn_query_compile(&q, t, g_dict, &LIM, err, sizeof(err)),
	    MCN_EQUERY);
	CHECK(strstr(err, "longer than 63 characters") != NULL);
	free(t);

	/* limits */
	mcn_query_limits bad = { 0, 3, 0 };
	CHECK_ERR(mcn_query_compile(&q, "SELECT count() FROM patients", g_dict,
	              &bad, err, sizeof(err)),
	    MCN_EINVAL);
	bad.max_rows_per_site = (UINT64_C(1) << 40) + 1;
	CHECK_ERR(mcn_query_compile(&q, "SELECT count() FROM patients", g_dict,
	              &bad, err, sizeof(err)),
	    MCN_EINVAL);
	bad.max_rows_per_site = 10;
	bad.nsites = 0;
	CHECK_ERR(mcn_query_compile(&q, "SELECT count() FROM patients", g_dict,
	              &bad, err, sizeof(err)),
	    MCN_EINVAL);
	bad.nsites = MCN_AGG_MAX_NODES + 1;
	CHECK_ERR(mcn_query_compile(&q, "SELECT count() FROM patients", g_dict,
	              &bad, err, sizeof(err)),
	    MCN_EINVAL);
	CHECK(q == NULL);
	/* a NULL message buffer is allowed */
	CHECK_ERR(mcn_query_compile(&q, "SELECT", g_dict, &LIM, NULL, 0),
	    MCN_EQUERY);
}

/* mcn_query_result's own checks. */
static void
test_result_errors(void)
{
	mcn_query *q = NULL;
	struct mcn_query_result *r = NULL;
	char err[256];
	mpz_t s[5];

	if (!setup()) {
		CHECK(0);
		return;
	}
	REQUIRE_OK(mcn_query_compile(&q,
	    "SELECT count(), mean(age) FROM "
	    "patients",
	    g_dict, &LIM, err, sizeof(err)));
	/* count, then n and S1 of age */
	CHECK_U64_EQ(mcn_query_layout(q)->nvalues, 3);
	for (int i = 0; i < 5; i++)
		mpz_init_set_ui(s[i], i < 3 ? 5 : 0);
	CHECK_ERR(mcn_query_result(&r, q, (const mpz_t *)s, 2, 3), MCN_EINVAL);
	CHECK_ERR(mcn_query_result(&r, q, (const mpz_t *)s, 3, 0), MCN_EINVAL);
	CHECK_ERR(mcn_query_result(&r, q, (const mpz_t *)s, 3, 4), MCN_EINVAL);
	mpz_set_si(s[0], -1);
	CHECK_ERR(mcn_query_result(&r, q, (const mpz_t *)s, 3, 3), MCN_ERANGE);
	mpz_set_ui(s[0], 3 * (unsigned long)R_LIMIT + 1);
	CHECK_ERR(mcn_query_result(&r, q, (const mpz_t *)s, 3, 3), MCN_ERANGE);
	CHECK(r == NULL);
	/* n = 0: mean is null */
	mpz_set_ui(s[0], 7);
	mpz_set_ui(s[1], 0);
	mpz_set_ui(s[2], 0);
	REQUIRE_OK(mcn_query_result(&r, q, (const mpz_t *)s, 3, 2));
	CHECK(r->nsites == 2);
	CHECK(r->outputs[0].cells[0].n == 7);
	CHECK(
	    r->outputs[1].cells[0].null == 1 && r->outputs[1].cells[0].n == 0);
	json_t *j = mcn_query_result_json(r);
	json_t *v = json_object_get(
	    json_array_get(
	        json_object_get(
	            json_array_get(json_object_get(j, "results"), 1), "groups"),
	        0),
	    "value");
	CHECK(json_is_null(v));
	json_decref(j);
	mcn_query_result_free(r);
	for (int i = 0; i < 5; i++)
		mpz_clear(s[i]);
	mcn_query_free(q);
}

/* ---------------------------------------------------------------- */
/* fuzz: random mutations of valid queries never crash and give OK or
 * MCN_EQUERY; those that compile also evaluate and pool. */

static const char *const FUZZ_TOKENS[] = {
	"(",
	")",
	"'",
	"''",
	",",
	" AND ",
	" OR ",
	" NOT ",
	" IN ",
	"%",
	"-",
	"+",
	".",
	"1",
	"-0.5",
	"99999999999999999999",
	"count(",
	"*",
	" GROUP BY ",
	"sex",
	"age",
	"'F'",
	"'E11%'",
	" BETWEEN ",
	"=",
	"<>",
	"!=",
	"<=",
	">",
	" IS NULL",
	";",
	"\x01",
	"\xc3\xa9",
	"\"",
	" LIKE ",
	" WHERE ",
	"table(",
	"histogram(",
	"ward",
	"'2010-01-01'",
	"quantile(",
	"median(",
	"0.25",
};

static void
test_fuzz(void)
{
	mcn_rng *rng;
	char buf[1024], err[512];
	unsigned long ok = 0, bad = 0;
	int iters =
	    getenv("MCNT_FUZZ_ITERS") ? atoi(getenv("MCNT_FUZZ_ITERS")) : 20000;

	if (!setup()) {
		CHECK(0);
		return;
	}
	rng = mcnt_rng(7);
	for (int it = 0; it < iters; it++) {
		size_t qi = rnd(rng) % (sizeof(QUERIES) / sizeof(QUERIES[0]));
		size_t n = strlen(QUERIES[qi].text);
		memcpy(buf, QUERIES[qi].text, n + 1);
		int nmut = 1 + (int)(rnd(rng) % 2);
		if (rnd(rng) % 4 == 0) {
			/* splice: this query up to a space, another from a
			 * space (mostly valid, differently combined) */
			const char *o = QUERIES[rnd(rng) %
			    (sizeof(QUERIES) / sizeof(QUERIES[0]))]
			                    .text;
			const char *sp = strchr(o + rnd(rng) % strlen(o), ' ');
			size_t at = rnd(rng) % n;
			while (at > 0 && buf[at] != ' ')
				at--;
			if (sp != NULL && at + strlen(sp) + 1 < sizeof(buf)) {
				memcpy(buf + at, sp, strlen(sp) + 1);
				n = strlen(buf);
			}
			nmut = (int)(rnd(rng) % 2);
		}
		for (int m = 0; m < nmut && n > 0; m++) {
			size_t at = rnd(rng) % n;
			switch (rnd(rng) % 5) {
			case 0: /* replace a byte, mostly printable */
				buf[at] =
				    (char)(rnd(rng) % 8 ? 32 + rnd(rng) % 95 :
				                          1 + rnd(rng) % 255);
				break;
			case 1: /* delete a span */ {
				size_t l = 1 + rnd(rng) % 8;
				if (at + l > n)
					l = n - at;
				memmove(buf + at, buf + at + l, n - at - l + 1);
				n -= l;
				break;
			}
			case 2: /* insert a token */ {
				const char *tk = FUZZ_TOKENS[rnd(rng) %
				    (sizeof(FUZZ_TOKENS) /
				        sizeof(FUZZ_TOKENS[0]))];
				size_t l = strlen(tk);
				if (n + l + 1 < sizeof(buf)) {
					memmove(buf + at + l, buf + at,
					    n - at + 1);
					memcpy(buf + at, tk, l);
					n += l;
				}
				break;
			}
			case 3: /* truncate */
				buf[at] = '\0';
				n = at;
				break;
			default: /* duplicate a span */ {
				size_t l = 1 + rnd(rng) % 16;
				if (at + l > n)
					l = n - at;
				if (n + l + 1 < sizeof(buf)) {
					memmove(buf + at + l, buf + at,
					    n - at + 1);
					n += l;
				}
				break;
			}
			}
		}
		mcn_query *q = NULL;
		mcn_err rv =
		    mcn_query_compile(&q, buf, g_dict, &LIM, err, sizeof(err));
		if (rv != MCN_OK && rv != MCN_EQUERY) {
			MCNT_FAIL("fuzz: %s -> %d (%s)", buf, (int)rv, err);
		}
		if (rv == MCN_EQUERY && err[0] == '\0') {
			MCNT_FAIL("fuzz: no message for %s", buf);
		}
		if (rv != MCN_OK) {
			bad++;
			continue;
		}
		ok++;
		const mcn_agg_layout *L = mcn_query_layout(q);
		int64_t *v = calloc(L->nvalues, sizeof(*v));
		mcn_err lr = mcn_query_local(q, g_site[it % NSITES], v, err,
		    sizeof(err));
		if (lr != MCN_OK) {
			MCNT_FAIL("fuzz local: %s -> %d (%s)", buf, (int)lr,
			    err);
		} else {
			mpz_t *s = malloc(L->nvalues * sizeof(*s));
			struct mcn_query_result *r = NULL;
			for (size_t i = 0; i < L->nvalues; i++)
				mpz_init_set_si(s[i], v[i]);
			mcn_err rr = mcn_query_result(&r, q, (const mpz_t *)s,
			    L->nvalues, 1);
			if (rr != MCN_OK) {
				MCNT_FAIL("fuzz result: %s -> %d", buf,
				    (int)rr);
			}
			mcn_query_result_free(r);
			for (size_t i = 0; i < L->nvalues; i++)
				mpz_clear(s[i]);
			free(s);
		}
		free(v);
		mcn_query_free(q);
	}
	mcn_rng_free(rng);
	fprintf(stderr, "  fuzz: %lu compiled, %lu refused\n", ok, bad);
	CHECK(ok > 0 && bad > 0);
}

/* Allocation failure at every mcn_alloc of compile and result: a clean
 * MCN_ENOMEM and no leak (ASan's leak checker). */
static void
alloc_failures_one(const char *text)
{
	char err[256];
	unsigned long n, total;
	int nomem = 0;

	if (!setup()) {
		CHECK(0);
		return;
	}
	mcn_alloc_fail_at(0);
	mcn_query *q = NULL;
	CHECK_OK(mcn_query_compile(&q, text, g_dict, &LIM, err, sizeof(err)));
	mcn_query_free(q);
	total = mcn_alloc_fail_at(0);
	for (n = 1; n <= total + 1; n++) {
		mcn_alloc_fail_at(n);
		mcn_err rv =
		    mcn_query_compile(&q, text, g_dict, &LIM, err, sizeof(err));
		mcn_alloc_fail_at(0);
		if (rv == MCN_ENOMEM) {
			nomem++;
			CHECK(q == NULL);
		} else {
			CHECK_OK(rv);
			mcn_query_free(q);
		}
	}
	CHECK(nomem > 0);

	/* local and result */
	REQUIRE_OK(mcn_query_compile(&q, text, g_dict, &LIM, err, sizeof(err)));
	const mcn_agg_layout *L = mcn_query_layout(q);
	int64_t *v = calloc(L->nvalues, sizeof(*v));
	mpz_t *s = malloc(L->nvalues * sizeof(*s));
	mcn_alloc_fail_at(0);
	CHECK_OK(mcn_query_local(q, g_site[1], v, err, sizeof(err)));
	total = mcn_alloc_fail_at(0);
	for (n = 1; n <= total; n++) {
		mcn_alloc_fail_at(n);
		mcn_err rv = mcn_query_local(q, g_site[1], v, err, sizeof(err));
		mcn_alloc_fail_at(0);
		CHECK(rv == MCN_ENOMEM || rv == MCN_OK);
	}
	CHECK_OK(mcn_query_local(q, g_site[1], v, err, sizeof(err)));
	for (size_t i = 0; i < L->nvalues; i++)
		mpz_init_set_si(s[i], v[i]);
	struct mcn_query_result *r = NULL;
	CHECK_OK(mcn_query_result(&r, q, (const mpz_t *)s, L->nvalues, 1));
	mcn_query_result_free(r);
	total = mcn_alloc_fail_at(0);
	nomem = 0;
	for (n = 1; n <= total + 1; n++) {
		r = NULL;
		mcn_alloc_fail_at(n);
		mcn_err rv =
		    mcn_query_result(&r, q, (const mpz_t *)s, L->nvalues, 1);
		mcn_alloc_fail_at(0);
		if (rv == MCN_ENOMEM) {
			nomem++;
			CHECK(r == NULL);
		} else {
			CHECK_OK(rv);
		}
		mcn_query_result_free(r);
	}
	CHECK(nomem > 0);
	for (size_t i = 0; i < L->nvalues; i++)
		mpz_clear(s[i]);
	free(s);
	free(v);
	mcn_query_free(q);
}

static void
test_alloc_failures(void)
{
	alloc_failures_one("SELECT count(), mean(age), var(big), "
	                   "histogram(bmi, 10, 80, 7), table(sex, smoker) "
	                   "FROM patients WHERE age > 10 AND diagnosis LIKE "
	                   "'E1%' GROUP BY region");
	alloc_failures_one("SELECT linear(sbp ~ age + bmi + smoker), cor(age, "
	                   "big), survival(fu, dead, 10) FROM patients GROUP "
	                   "BY sex");
	alloc_failures_one("SELECT logistic_step(dead ~ age + bmi + smoker; "
	                   "-0x1.8p-3, 0x1p-6, -0x1.2p-4, 0x1p-1, 0x0p+0) AS m "
	                   "FROM patients WHERE age > 10");
	alloc_failures_one("SELECT quantile(bmi, 0.25) FROM patients WHERE "
	                   "age > 10");

	/* a quantile fit with an allocation failure at every point of
	 * fit_new and update: MCN_ENOMEM or the right answer, no leak */
	mcn_query *q = NULL;
	char err[256];
	int nomem = 0, done_ok = 0;
	REQUIRE_OK(mcn_query_compile(&q,
	    "SELECT median(lab) FROM patients WHERE age > 10", g_dict, &LIM,
	    err, sizeof(err)));
	for (unsigned long n = 1; n < 400; n++) {
		mcn_query_fit *f = NULL;
		unsigned long seen = 0;
		int done = 0;
		mcn_err rv;
		mcn_alloc_fail_at(n);
		rv = mcn_query_fit_new(&f, q);
		seen += mcn_alloc_fail_at(0);
		while (rv == MCN_OK && !done) {
			mcn_query *sq = NULL;
			REQUIRE_OK(mcn_query_compile(&sq, mcn_query_fit_text(f),
			    g_dict, &LIM, err, sizeof(err)));
			size_t nv = mcn_query_layout(sq)->nvalues;
			int64_t *v = calloc(nv, sizeof(*v));
			mpz_t *sums = calloc(nv, sizeof(*sums));
			for (size_t i = 0; i < nv; i++)
				mpz_init(sums[i]);
			for (int st = 0; st < NSITES; st++) {
				CHECK_OK(mcn_query_local(sq, g_site[st], v, err,
				    sizeof(err)));
				for (size_t i = 0; i < nv; i++) {
					mpz_t t;
					mpz_init_set_si(t, v[i]);
					mpz_add(sums[i], sums[i], t);
					mpz_clear(t);
				}
			}
			mcn_alloc_fail_at(n > seen ? n - seen : 0);
			rv = mcn_query_fit_update(f, sq, (const mpz_t *)sums,
			    nv, NSITES, &done);
			seen += mcn_alloc_fail_at(0);
			for (size_t i = 0; i < nv; i++)
				mpz_clear(sums[i]);
			free(sums);
			free(v);
			mcn_query_free(sq);
		}
		if (rv == MCN_ENOMEM) {
			nomem++;
		} else {
			CHECK_OK(rv);
			struct mcn_query_result *r = NULL;
			CHECK_OK(mcn_query_fit_result(&r, f));
			CHECK(r != NULL && r->outputs[0].cells[0].is_exact);
			mcn_query_result_free(r);
			done_ok = 1;
		}
		mcn_query_fit_free(f);
		if (done_ok)
			break;
	}
	CHECK(nomem > 0 && done_ok);
	mcn_query_free(q);
}

/* ---------------------------------------------------------------- */
/* stats */

static void
test_stats(void)
{
	double st, p;
	unsigned df;

	CHECK(fabs(mcn_stats_chi2_sf(3.841458820694124, 1) - 0.05) < 1e-9);
	CHECK(fabs(mcn_stats_chi2_sf(10, 4) - 0.040427681994512805) < 1e-9);
	CHECK(mcn_stats_chi2_sf(0, 3) == 1.0);
	/* df = 2: exp(-x/2); df = 1: erfc(sqrt(x/2)); df = 10: Poisson sum */
	static const double xs[] = { 0.01, 0.5, 1, 2.5, 7, 19.3, 50, 120 };
	for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++) {
		double x = xs[i], e = exp(-x / 2), t = 1, s = 0;
		CHECK(fabs(mcn_stats_chi2_sf(x, 2) - e) <= 1e-13 * e);
		double w = erfc(sqrt(x / 2));
		CHECK(fabs(mcn_stats_chi2_sf(x, 1) - w) <= 1e-12 * w);
		for (int k = 0; k < 5; k++) {
			s += t;
			t *= (x / 2) / (k + 1);
		}
		CHECK(fabs(mcn_stats_chi2_sf(x, 10) - e * s) <= 1e-12 * e * s);
		CHECK(fabs(mcn_stats_gamma_p(5, x / 2) +
		          mcn_stats_gamma_q(5, x / 2) - 1) < 1e-14);
	}
	CHECK(fabs(mcn_stats_gamma_p(1, 1) - (1 - exp(-1))) < 1e-15);
	CHECK(isnan(mcn_stats_gamma_q(0, 1)));
	CHECK(isnan(mcn_stats_gamma_q(1, -1)));
	CHECK(isnan(mcn_stats_chi2_sf(1, 0)));
	/* large df stays accurate: mean df, p near 1/2 */
	double pm = mcn_stats_chi2_sf(999999, 1000000);
	CHECK(pm > 0.49 && pm < 0.51);

	/* [[10, 20], [30, 40]]: X^2 = 4 (1/12 + 1/18 + 1/28 + 1/42) */
	const int64_t t1[] = { 10, 20, 30, 40 };
	CHECK(mcn_stats_chi2_indep(t1, 2, 2, &st, &df, &p) == 1);
	CHECK(fabs(st - 4.0 * (1.0 / 12 + 1.0 / 18 + 1.0 / 28 + 1.0 / 42)) <
	    1e-12);
	CHECK(df == 1);
	CHECK(fabs(p - erfc(sqrt(st / 2))) < 1e-12);
	/* an empty row and column drop out of df; E = 0 cells skipped */
	const int64_t t2[] = { 10, 0, 20, 0, 0, 0, 30, 0, 40 };
	CHECK(mcn_stats_chi2_indep(t2, 3, 3, &st, &df, &p) == 1);
	CHECK(df == 1);
	CHECK(fabs(st - 4.0 * (1.0 / 12 + 1.0 / 18 + 1.0 / 28 + 1.0 / 42)) <
	    1e-12);
	const int64_t t3[] = { 5, 7, 0, 0 };
	st = -1;
	CHECK(mcn_stats_chi2_indep(t3, 2, 2, &st, &df, &p) == 0);
	CHECK(st == -1);
}

/* ---------------------------------------------------------------- */
/* analyses: linear, cor, survival against references on pooled rows */

static int
rel_ok(double got, double want, double scale, double tol)
{
	double s = fabs(want) > scale ? fabs(want) : scale;

	if (isnan(want)) {
		return isnan(got);
	}
	return fabs(got - want) <= tol * s;
}

/* CHECK, and return from the test function when false. */
#define REQUIRE(cond)                                     \
	do {                                              \
		if (!(cond)) {                            \
			MCNT_FAIL("required: %s", #cond); \
			return;                           \
		}                                         \
	} while (0)

#define CHECK_REL(got, want, scale, tol)                                       \
	do {                                                                   \
		double g_ = (got), w_ = (want);                                \
		CHECK(rel_ok(g_, w_, (scale), (tol)));                         \
		if (!rel_ok(g_, w_, (scale), (tol)))                           \
			fprintf(stderr, "  %s:%d: %.17g != %.17g\n", __FILE__, \
			    __LINE__, g_, w_);                                 \
	} while (0)

/* Gauss-Jordan inverse with partial pivoting of the k x k matrix a (in
 * place into inv). 0 if singular. */
static int
ref_inverse(double *inv, double *a, size_t k)
{
	for (size_t i = 0; i < k; i++)
		for (size_t j = 0; j < k; j++)
			inv[i * k + j] = i == j;
	for (size_t c = 0; c < k; c++) {
		size_t piv = c;
		for (size_t i = c + 1; i < k; i++)
			if (fabs(a[i * k + c]) > fabs(a[piv * k + c]))
				piv = i;
		if (a[piv * k + c] == 0)
			return 0;
		for (size_t j = 0; j < k; j++) {
			double t = a[c * k + j];
			a[c * k + j] = a[piv * k + j];
			a[piv * k + j] = t;
			t = inv[c * k + j];
			inv[c * k + j] = inv[piv * k + j];
			inv[piv * k + j] = t;
		}
		double d = a[c * k + c];
		for (size_t j = 0; j < k; j++) {
			a[c * k + j] /= d;
			inv[c * k + j] /= d;
		}
		for (size_t i = 0; i < k; i++) {
			if (i == c)
				continue;
			double f = a[i * k + c];
			for (size_t j = 0; j < k; j++) {
				a[i * k + j] -= f * a[c * k + j];
				inv[i * k + j] -= f * inv[c * k + j];
			}
		}
	}
	return 1;
}

/* sbp ~ age + bmi + smoker: the design row of w (1, age, bmi, former,
 * current); 0 if w is not a complete case. */
static int
lin_row(const row *w, double *x, double *y)
{
	if (!w->has_sbp || !w->has_age || !w->has_bmi || w->smoker < 0)
		return 0;
	x[0] = 1;
	x[1] = (double)w->age;
	x[2] = (double)w->bmi / 10.0;
	x[3] = w->smoker == 1;
	x[4] = w->smoker == 2;
	*y = (double)w->sbp;
	return 1;
}

/* The pooled OLS by the textbook normal equations on the raw rows. */
static void
check_linear_cell(const mcn_query_output *o, const mcn_query_cell *c,
    const struct mcn_query_result *r, long g, pred_fn pred)
{
	enum { K = 5 };
	double xtx[K * K] = { 0 }, xty[K] = { 0 }, inv[K * K], b[K] = { 0 };
	double x[K], y, ysum = 0, rss = 0, tss = 0;
	int64_t n = 0;

	for (size_t i = 0; i < g_nrows; i++) {
		const row *w = &g_rows[i];
		if (!pred(w) || (r->ngroup_cols && row_group(r, w) != g) ||
		    !lin_row(w, x, &y))
			continue;
		n++;
		ysum += y;
		for (size_t a = 0; a < K; a++) {
			xty[a] += x[a] * y;
			for (size_t bb = 0; bb < K; bb++)
				xtx[a * K + bb] += x[a] * x[bb];
		}
	}
	CHECK_U64_EQ(c->n, n);
	REQUIRE(ref_inverse(inv, xtx, K));
	for (size_t a = 0; a < K; a++)
		for (size_t bb = 0; bb < K; bb++)
			b[a] += inv[a * K + bb] * xty[bb];
	for (size_t i = 0; i < g_nrows; i++) {
		const row *w = &g_rows[i];
		double f = 0;
		if (!pred(w) || (r->ngroup_cols && row_group(r, w) != g) ||
		    !lin_row(w, x, &y))
			continue;
		for (size_t a = 0; a < K; a++)
			f += b[a] * x[a];
		rss += (y - f) * (y - f);
		tss += (y - ysum / (double)n) * (y - ysum / (double)n);
	}
	double s2 = rss / (double)(n - K);
	REQUIRE(c->problem == NULL && c->null == 0 && o->nvars == K);
	CHECK(strcmp(o->vars[0], "(intercept)") == 0);
	CHECK(strcmp(o->vars[1], "age") == 0);
	CHECK(strcmp(o->vars[3], "smoker=former") == 0);
	CHECK(strcmp(o->vars[4], "smoker=current") == 0);
	CHECK_U64_EQ(c->df, n - K);
	for (size_t a = 0; a < K; a++) {
		double se = sqrt(s2 * inv[a * K + a]);
		CHECK_REL(c->coef[a], b[a], se, 1e-9);
		CHECK_REL(c->se[a], se, 0, 1e-9);
		CHECK_REL(c->tstat[a], b[a] / se, 1, 1e-8);
		CHECK_REL(c->pval[a],
		    mcn_stats_t_p2(b[a] / se, (double)(n - K)), 1e-300, 1e-6);
	}
	CHECK_REL(c->r2, 1 - rss / tss, 0, 1e-9);
	CHECK_REL(c->adj_r2,
	    1 - (rss / (double)(n - K)) / (tss / (double)(n - 1)), 0, 1e-9);
	CHECK_REL(c->sigma, sqrt(s2), 0, 1e-9);
}

static int
p_age_ge_30(const row *w)
{
	return w->has_age && w->age >= 30;
}

/* Pearson r on the complete cases of the columns, two-pass in double. */
static double
ref_cor(const char *const *cols, size_t ncols, size_t a, size_t b,
    int64_t *nout)
{
	double sa = 0, sb = 0, ma, mb, saa = 0, sbb = 0, sab = 0;
	int64_t n = 0;

	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < g_nrows; i++) {
			const row *w = &g_rows[i];
			double v[8];
			int ok = 1;
			for (size_t k = 0; k < ncols && ok; k++) {
				int64_t x;
				unsigned d;
				if (strcmp(cols[k], "sbp") == 0) {
					ok = w->has_sbp;
					v[k] = (double)w->sbp;
					continue;
				}
				ok = col_num(w, cols[k], &x, &d);
				v[k] = (double)x / pow(10, d);
			}
			if (!ok)
				continue;
			if (pass == 0) {
				n++;
				sa += v[a];
				sb += v[b];
				continue;
			}
			ma = sa / (double)n;
			mb = sb / (double)n;
			saa += (v[a] - ma) * (v[a] - ma);
			sbb += (v[b] - mb) * (v[b] - mb);
			sab += (v[a] - ma) * (v[b] - mb);
		}
	}
	*nout = n;
	return sab / sqrt(saa * sbb);
}

/* Kaplan-Meier and Greenwood on pooled rows of one sex (-1: all), with
 * times binned to step; checks every grid point of cell c. Returns the
 * number at risk / events per time through at/ev (npts). */
static void
check_km_cell(const mcn_query_output *o, const mcn_query_cell *c, int sex,
    int64_t step, int64_t *at, int64_t *ev)
{
	const size_t np = o->npts;
	int64_t *cz = calloc(np, sizeof(*cz)), n = 0, nev = 0;
	double S = 1, V = 0;

	memset(at, 0, np * sizeof(*at));
	memset(ev, 0, np * sizeof(*ev));
	for (size_t i = 0; i < g_nrows; i++) {
		const row *w = &g_rows[i];
		if (!w->has_fu || !w->has_dead || (sex >= 0 && w->sex != sex))
			continue;
		size_t k = (size_t)(w->fu / step);
		n++;
		nev += w->dead;
		if (w->dead)
			ev[k]++;
		else
			cz[k]++;
		/* at risk at every grid point up to its own */
		for (size_t j = 0; j <= k; j++)
			at[j]++;
	}
	CHECK_U64_EQ(c->n, n);
	CHECK_U64_EQ(c->nevents, nev);
	int median_seen = 0;
	for (size_t j = 0; j < np; j++) {
		CHECK_U64_EQ(c->counts[j], ev[j]);
		CHECK_U64_EQ(c->counts[np + j], cz[j]);
		if (ev[j] > 0) {
			S *= 1.0 - (double)ev[j] / (double)at[j];
			V += (double)ev[j] /
			    ((double)at[j] * (double)(at[j] - ev[j]));
			CHECK_REL(c->surv[j], S, 0, 1e-9);
			CHECK_REL(c->surv_se[j], S * sqrt(V), 0, 1e-9);
			if (!median_seen && S <= 0.5) {
				median_seen = 1;
				CHECK(c->has_median && c->median == o->grid[j]);
			}
		}
	}
	CHECK(c->has_median == median_seen);
	free(cz);
}

static void
test_analyses(void)
{
	struct mcn_query_result *r;
	mcn_query *q = NULL;
	char err[512];

	if (!setup()) {
		CHECK(0);
		return;
	}

	/* linear: numeric and categorical predictors, complete cases */
	r = run3("SELECT linear(sbp ~ age + bmi + smoker) FROM patients", &LIM,
	    NULL);
	REQUIRE(r != NULL);
	CHECK(strcmp(r->outputs[0].name, "linear(sbp~age+bmi+smoker)") == 0);
	CHECK(strcmp(r->outputs[0].column, "sbp") == 0);
	check_linear_cell(&r->outputs[0], &r->outputs[0].cells[0], r, 0, p_all);
	/* the signal is found: age ~ 0.5, bmi ~ 0.5 (X / 20 with X = 10 x) */
	CHECK(fabs(r->outputs[0].cells[0].coef[1] - 0.5) < 0.05);
	CHECK(r->outputs[0].cells[0].r2 > 0.5);
	mcn_query_result_free(r);

	/* per group, with WHERE */
	r = run3("SELECT linear(sbp ~ age + bmi + smoker) AS m FROM patients "
	         "WHERE age >= 30 GROUP BY sex",
	    &LIM, NULL);
	REQUIRE(r != NULL);
	for (long g = 0; g < 2; g++)
		check_linear_cell(&r->outputs[0], &r->outputs[0].cells[g], r, g,
		    p_age_ge_30);
	mcn_query_result_free(r);

	/* collinear: a constant predictor, an all-zero indicator */
	r = run3("SELECT linear(sbp ~ age + sex) FROM patients WHERE sex = "
	         "'F'",
	    &LIM, NULL);
	REQUIRE(r != NULL);
	CHECK(r->outputs[0].cells[0].null == 1);
	CHECK(r->outputs[0].cells[0].problem != NULL &&
	    strcmp(r->outputs[0].cells[0].problem,
	        "predictors are collinear") == 0);
	mcn_query_result_free(r);
	r = run3("SELECT linear(sbp ~ age + smoker) FROM patients WHERE "
	         "smoker = 'never'",
	    &LIM, NULL);
	REQUIRE(r != NULL);
	CHECK(r->outputs[0].cells[0].problem != NULL &&
	    strcmp(r->outputs[0].cells[0].problem,
	        "predictors are collinear") == 0);
	mcn_query_result_free(r);
	/* too few complete cases; DataSHIELD's 0.33 rule */
	r = run3("SELECT linear(sbp ~ age) FROM patients WHERE age > 500", &LIM,
	    NULL);
	REQUIRE(r != NULL);
	CHECK(r->outputs[0].cells[0].n == 0);
	CHECK(r->outputs[0].cells[0].problem != NULL &&
	    strcmp(r->outputs[0].cells[0].problem, "too few complete cases") ==
	        0);
	mcn_query_result_free(r);
	r = run3("SELECT linear(sbp ~ bmi + smoker + region) FROM patients "
	         "WHERE age BETWEEN 50 AND 52",
	    &LIM, NULL);
	REQUIRE(r != NULL);
	{
		const mcn_query_cell *c = &r->outputs[0].cells[0];
		CHECK(c->n > 7 && 7 > 0.33 * (double)c->n);
		CHECK(c->problem != NULL &&
		    strncmp(c->problem, "too many parameters", 19) == 0);
		json_t *j = mcn_query_result_json(r);
		json_t *g0 = json_array_get(
		    json_object_get(
		        json_array_get(json_object_get(j, "results"), 0),
		        "groups"),
		    0);
		CHECK(json_is_null(json_object_get(g0, "value")));
		CHECK(json_is_string(json_object_get(g0, "error")));
		json_decref(j);
	}
	mcn_query_result_free(r);

	/* cor, including a column whose sums need limbs */
	{
		static const char *const cols[] = { "age", "bmi", "lab",
			"sbp" };
		r = run3("SELECT cor(age, bmi, lab, sbp) FROM patients", &LIM,
		    NULL);
		REQUIRE(r != NULL);
		const mcn_query_output *o = &r->outputs[0];
		CHECK(strcmp(o->name, "cor(age,bmi,lab,sbp)") == 0);
		REQUIRE(o->nvars == 4);
		for (size_t a = 0; a < 4; a++) {
			CHECK(strcmp(o->vars[a], cols[a]) == 0);
			for (size_t b = 0; b < 4; b++) {
				int64_t n;
				double want =
				    a == b ? 1.0 : ref_cor(cols, 4, a, b, &n);
				(void)ref_cor(cols, 4, a, b, &n);
				CHECK_U64_EQ(o->cells[0].n, n);
				CHECK_REL(o->cells[0].cor[a * 4 + b], want, 0,
				    1e-9);
			}
		}
		CHECK(o->cells[0].cor[1] == o->cells[0].cor[4]);
		CHECK(fabs(o->cells[0].cor[3]) > 0.5); /* age ~ sbp */
		mcn_query_result_free(r);
		static const char *const cols2[] = { "big", "age" };
		r = run3("SELECT cor(big, age) FROM patients", &LIM, &q);
		REQUIRE(r != NULL);
		/* n, S_big (2 limbs), S_age, S_bb (3), S_ba (2), S_aa */
		CHECK_U64_EQ(mcn_query_layout(q)->nvalues, 10);
		int64_t n;
		CHECK_REL(r->outputs[0].cells[0].cor[1],
		    ref_cor(cols2, 2, 0, 1, &n), 0, 1e-9);
		CHECK_U64_EQ(r->outputs[0].cells[0].n, n);
		mcn_query_result_free(r);
		mcn_query_free(q);
		q = NULL;
	}

	/* survival by sex, exact grid */
	{
		r = run3("SELECT survival(fu, dead) FROM patients GROUP BY sex",
		    &LIM, &q);
		REQUIRE(r != NULL);
		const mcn_query_output *o = &r->outputs[0];
		CHECK(strcmp(o->name, "survival(fu,dead)") == 0);
		CHECK_U64_EQ(o->npts, 401);
		/* per group: events, censored */
		CHECK_U64_EQ(mcn_query_layout(q)->nvalues, 2 * 2 * 401);
		CHECK_U64_EQ(mcn_query_layout(q)->nfields, 1);
		mcn_query_free(q);
		q = NULL;
		int64_t *at[2], *ev[2];
		for (int g = 0; g < 2; g++) {
			at[g] = calloc(o->npts, sizeof(int64_t));
			ev[g] = calloc(o->npts, sizeof(int64_t));
			check_km_cell(o, &o->cells[g], g, 1, at[g], ev[g]);
		}
		/* log-rank, 2 groups: (O1 - E1)^2 / V1 */
		double O1 = 0, E1 = 0, V1 = 0;
		for (size_t j = 0; j < o->npts; j++) {
			double D = (double)(ev[0][j] + ev[1][j]);
			double N = (double)(at[0][j] + at[1][j]);
			if (D == 0)
				continue;
			double p1 = (double)at[0][j] / N;
			O1 += (double)ev[0][j];
			E1 += D * p1;
			if (N > 1)
				V1 += D * (N - D) / (N - 1) * p1 * (1 - p1);
		}
		CHECK(o->has_logrank && o->logrank_df == 1);
		CHECK_REL(o->logrank, (O1 - E1) * (O1 - E1) / V1, 0, 1e-6);
		CHECK_REL(o->logrank_p,
		    mcn_stats_chi2_sf((O1 - E1) * (O1 - E1) / V1, 1), 0, 1e-6);
		CHECK_REL(o->cells[0].lr_exp, E1, 0, 1e-9);
		CHECK(o->logrank > 3.84); /* the groups differ by design */
		for (int g = 0; g < 2; g++) {
			free(at[g]);
			free(ev[g]);
		}
		/* JSON: only points where something happens */
		json_t *j = mcn_query_result_json(r);
		json_t *ro = json_array_get(json_object_get(j, "results"), 0);
		json_t *pts = json_object_get(
		    json_object_get(
		        json_array_get(json_object_get(ro, "groups"), 0),
		        "value"),
		    "points");
		size_t nact = 0;
		for (size_t k = 0; k < o->npts; k++)
			nact += o->cells[0].counts[k] +
			        o->cells[0].counts[o->npts + k] >
			    0;
		CHECK_U64_EQ(json_array_size(pts), nact);
		CHECK(json_is_object(json_object_get(ro, "log_rank")));
		json_decref(j);
		char *buf = NULL;
		size_t blen = 0;
		FILE *f = open_memstream(&buf, &blen);
		mcn_query_result_print(r, f);
		fclose(f);
		CHECK(strstr(buf, "log-rank chi-square = ") != NULL);
		CHECK(strstr(buf, "(20 of ") != NULL);
		free(buf);
		mcn_query_result_free(r);
	}
	/* binned grid */
	{
		r = run3("SELECT survival(fu, dead, 30) FROM patients", &LIM,
		    NULL);
		REQUIRE(r != NULL);
		const mcn_query_output *o = &r->outputs[0];
		CHECK_U64_EQ(o->npts, 14);
		CHECK(o->grid[13] == 390);
		int64_t at[14], ev[14];
		check_km_cell(o, &o->cells[0], -1, 30, at, ev);
		CHECK(!o->has_logrank);
		mcn_query_result_free(r);
	}

	/* identical layouts between compiles */
	{
		static const char *const texts[] = {
			"SELECT linear(sbp ~ age + bmi + smoker), cor(age, "
			"big) FROM patients GROUP BY sex",
			"SELECT survival(fu, dead, 7) FROM patients GROUP BY "
			"smoker",
		};
		for (size_t t = 0; t < 2; t++) {
			mcn_query *q1 = NULL, *q2 = NULL;
			REQUIRE_OK(mcn_query_compile(&q1, texts[t], g_dict,
			    &LIM, err, sizeof(err)));
			REQUIRE_OK(mcn_query_compile(&q2, texts[t], g_dict,
			    &LIM, err, sizeof(err)));
			const mcn_agg_layout *l1 = mcn_query_layout(q1);
			const mcn_agg_layout *l2 = mcn_query_layout(q2);
			CHECK(l1->nvalues == l2->nvalues &&
			    l1->nfields == l2->nfields &&
			    memcmp(l1->fields, l2->fields,
			        l1->nfields * sizeof(*l1->fields)) == 0);
			mcn_query_free(q1);
			mcn_query_free(q2);
		}
	}

	/* errors */
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "SELECT linear(sbp ~ ward) FROM patients",
		    "linear takes at most 20 predictors" },
		{ "SELECT linear(sbp ~ age + bmi + lab + big + region + smoker "
		  "+ sex + fu + dead + sbp) FROM patients",
		    "appears twice" },
		{ "SELECT linear(sex ~ age) FROM patients",
		    "linear (outcome) needs an integer or real column" },
		{ "SELECT linear(sbp ~ diagnosis) FROM patients",
		    "linear predictors must be integer, real or categorical" },
		{ "SELECT linear(sbp age) FROM patients",
		    "syntax error at position 19 (near 'age'): expected '~'" },
		{ "SELECT linear(sbp ~ age, bmi) FROM patients",
		    "expected '+' or ')'" },
		{ "SELECT cor(age) FROM patients", "cor needs at least 2" },
		{ "SELECT cor(age, sex) FROM patients",
		    "cor needs an integer or real column" },
		{ "SELECT cor(age, age) FROM patients", "given twice" },
		{ "SELECT survival(bmi, dead) FROM patients",
		    "survival time must be an integer column" },
		{ "SELECT survival(fu, age) FROM patients",
		    "survival event must be an integer column declared with "
		    "range 0..1" },
		{ "SELECT survival(fu, sex) FROM patients",
		    "survival event must be an integer" },
		{ "SELECT survival(fu, dead, 0) FROM patients",
		    "must be a positive integer" },
		{ "SELECT survival(fu, dead, 2.5) FROM patients",
		    "must be a positive integer" },
		{ "SELECT survival(big, dead) FROM patients",
		    "more than 100000" },
		{ "SELECT survival(fu, dead) FROM patients GROUP BY ward",
		    "401 points x 1000 groups, more than 100000" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_ERR(mcn_query_compile(&q, bad[i].text, g_dict, &LIM, err,
		              sizeof(err)),
		    MCN_EQUERY);
		CHECK(q == NULL && strstr(err, bad[i].msg) != NULL);
		if (strstr(err, bad[i].msg) == NULL)
			fprintf(stderr, "  %s\n  -> %s\n", bad[i].text, err);
	}
	/* 20 predictors exactly is fine; a coarser grid is accepted */
	REQUIRE_OK(mcn_query_compile(&q,
	    "SELECT linear(sbp ~ age + bmi + lab + smoker + region + fu + "
	    "dead + big) FROM patients",
	    g_dict, &LIM, err, sizeof(err)));
	mcn_query_free(q);
	REQUIRE_OK(mcn_query_compile(&q,
	    "SELECT survival(fu, dead, 10) FROM patients GROUP BY ward", g_dict,
	    &LIM, err, sizeof(err)));
	mcn_query_free(q);
	q = NULL;
	/* the t distribution: df = 1 is Cauchy, df = 2 closed form */
	CHECK(fabs(mcn_stats_t_p2(1.0, 1) - 0.5) < 1e-14);
	CHECK(fabs(mcn_stats_t_p2(3.0, 2) - (1 - 3 / sqrt(11.0))) < 1e-14);
	CHECK(fabs(mcn_stats_t_p2(1.959963984540054, 1e7) - 0.05) < 1e-6);
	CHECK(mcn_stats_t_p2(0, 5) == 1.0);
	CHECK(fabs(mcn_stats_beta_inc(2, 3, 0.4) - 0.5248) < 1e-14);
	CHECK(isnan(mcn_stats_beta_inc(0, 1, 0.5)));
}

/* ---------------------------------------------------------------- */
/* logistic regression: the Newton-Raphson driver over the sites */

/* Fits text over dbs[0..nd) in-process as the querier does over the
 * network: every step query compiled, evaluated at each site, summed
 * slot-wise, fed to the fit. NULL on a failed check. */
static struct mcn_query_result *
fit_sites(const char *text, sqlite3 *const *dbs, unsigned nd)
{
	mcn_query *q = NULL;
	mcn_query_fit *f = NULL;
	struct mcn_query_result *r = NULL;
	char err[512];
	int done = 0;

	if (mcn_query_compile(&q, text, g_dict, &LIM, err, sizeof(err)) !=
	    MCN_OK) {
		MCNT_FAIL("compile: %s", err);
		return NULL;
	}
	CHECK(mcn_query_is_iterative(q));
	if (mcn_query_fit_new(&f, q) != MCN_OK) {
		MCNT_FAIL("fit_new");
		mcn_query_free(q);
		return NULL;
	}
	while (!done) {
		const char *st = mcn_query_fit_text(f);
		mcn_query *sq = NULL;
		if (st == NULL ||
		    mcn_query_compile(&sq, st, g_dict, &LIM, err,
		        sizeof(err)) != MCN_OK) {
			MCNT_FAIL("step: %s", st ? err : "no text");
			break;
		}
		CHECK(!mcn_query_is_iterative(sq));
		const mcn_agg_layout *L = mcn_query_layout(sq);
		int64_t *v = calloc(L->nvalues, sizeof(*v));
		mpz_t *sums = calloc(L->nvalues, sizeof(*sums));
		for (size_t i = 0; i < L->nvalues; i++)
			mpz_init(sums[i]);
		for (unsigned s = 0; s < nd; s++) {
			CHECK_OK(
			    mcn_query_local(sq, dbs[s], v, err, sizeof(err)));
			for (size_t i = 0; i < L->nvalues; i++) {
				if (v[i] >= 0)
					mpz_add_ui(sums[i], sums[i],
					    (unsigned long)v[i]);
				else
					mpz_sub_ui(sums[i], sums[i],
					    (unsigned long)-v[i]);
			}
		}
		mcn_err rv = mcn_query_fit_update(f, sq, (const mpz_t *)sums,
		    L->nvalues, nd, &done);
		CHECK_OK(rv);
		if (rv == MCN_OK && !done) {
			/* the old step is no longer the current one */
			int d2 = 0;
			CHECK_ERR(mcn_query_fit_update(f, sq,
			              (const mpz_t *)sums, L->nvalues, nd, &d2),
			    MCN_EINVAL);
		}
		for (size_t i = 0; i < L->nvalues; i++)
			mpz_clear(sums[i]);
		free(sums);
		free(v);
		mcn_query_free(sq);
		if (rv != MCN_OK)
			break;
	}
	if (done) {
		CHECK(mcn_query_fit_text(f) == NULL);
		CHECK_OK(mcn_query_fit_result(&r, f));
		CHECK(r != NULL &&
		    r->outputs[0].cells[0].iterations ==
		        mcn_query_fit_iterations(f));
	}
	mcn_query_fit_free(f);
	mcn_query_free(q);
	return r;
}

/* Reference: Newton-Raphson in double on the design rows x (n x k), y;
 * b, se at convergence (|dev change| < 1e-13 relative), the deviance.
 * Returns iterations, 0 if no convergence within 60. */
static int
ref_logistic(const double *x, const double *y, size_t n, size_t k, double *b,
    double *se, double *dev)
{
	double H[25 * 25], Hc[25 * 25], inv[25 * 25], g[25], prev = 0;

	for (size_t j = 0; j < k; j++)
		b[j] = 0;
	for (int it = 1; it <= 60; it++) {
		double d = 0;
		memset(H, 0, sizeof(H));
		memset(g, 0, sizeof(g));
		for (size_t i = 0; i < n; i++) {
			const double *xi = x + i * k;
			double eta = 0;
			for (size_t j = 0; j < k; j++)
				eta += b[j] * xi[j];
			double p = 1 / (1 + exp(-eta));
			d += -2 * (y[i] ? log(p) : log(1 - p));
			for (size_t j = 0; j < k; j++) {
				g[j] += xi[j] * (y[i] - p);
				for (size_t l = 0; l < k; l++)
					H[j * k + l] +=
					    p * (1 - p) * xi[j] * xi[l];
			}
		}
		memcpy(Hc, H, sizeof(H));
		if (!ref_inverse(inv, Hc, k))
			return 0;
		if (it > 1 && fabs(d - prev) < 1e-13 * d) {
			for (size_t j = 0; j < k; j++)
				se[j] = sqrt(inv[j * k + j]);
			*dev = d;
			return it;
		}
		prev = d;
		for (size_t j = 0; j < k; j++)
			for (size_t l = 0; l < k; l++)
				b[j] += inv[j * k + l] * g[l];
	}
	return 0;
}

static void
check_logit_fit(const struct mcn_query_result *r, const double *x,
    const double *y, size_t n, size_t k)
{
	double b[25], se[25], dev;

	REQUIRE(ref_logistic(x, y, n, k, b, se, &dev) > 0);
	const mcn_query_cell *c = &r->outputs[0].cells[0];
	REQUIRE(c->problem == NULL && !c->null);
	CHECK(c->n == (int64_t)n && c->df == (int64_t)(n - k));
	CHECK(c->iterations >= 3 && c->iterations <= 10);
	CHECK(r->outputs[0].nvars == k);
	for (size_t j = 0; j < k; j++) {
		CHECK_REL(c->coef[j], b[j], 1e-3, 1e-6);
		CHECK_REL(c->se[j], se[j], 0, 1e-6);
		CHECK_REL(c->tstat[j], c->coef[j] / c->se[j], 0, 1e-12);
		CHECK_REL(c->pval[j], erfc(fabs(c->tstat[j]) / sqrt(2.0)), 0,
		    1e-12);
	}
	CHECK_REL(c->deviance, dev, 0, 1e-8);
	/* null deviance from the outcome total */
	double m = 0;
	for (size_t i = 0; i < n; i++)
		m += y[i];
	CHECK_REL(c->null_deviance,
	    -2 * (m * log(m / (double)n) + (n - m) * log(1 - m / (double)n)), 0,
	    1e-9);
}

static void
test_logistic(void)
{
	char err[512];
	mcn_query *q = NULL;
	REQUIRE(setup());

	/* dead ~ age + bmi + sex + smoker over the 3 sites, complete cases */
	{
		enum { K = 5 };
		double *x = calloc(g_nrows * K, sizeof(double));
		double *y = calloc(g_nrows, sizeof(double));
		size_t n = 0;
		for (size_t i = 0; i < g_nrows; i++) {
			const row *w = &g_rows[i];
			if (!w->has_dead || !w->has_age || !w->has_bmi ||
			    w->sex < 0 || w->smoker < 0)
				continue;
			double *xi = x + n * K;
			xi[0] = 1;
			xi[1] = (double)w->age;
			xi[2] = (double)w->bmi / 10.0;
			xi[3] = w->sex == 1;
			xi[4] = w->smoker == 1;
			y[n++] = (double)w->dead;
		}
		/* smoker = current as a 6th column */
		double *x6 = calloc(n * 6, sizeof(double));
		size_t m = 0;
		for (size_t i = 0; i < g_nrows; i++) {
			const row *w = &g_rows[i];
			if (!w->has_dead || !w->has_age || !w->has_bmi ||
			    w->sex < 0 || w->smoker < 0)
				continue;
			memcpy(x6 + m * 6, x + m * K, K * sizeof(double));
			x6[m * 6 + 5] = w->smoker == 2;
			m++;
		}
		struct mcn_query_result *r = fit_sites(
		    "SELECT logistic(dead ~ age + bmi + sex + smoker) FROM "
		    "patients",
		    g_site, NSITES);
		REQUIRE(r != NULL);
		CHECK(strcmp(r->outputs[0].name,
		          "logistic(dead~age+bmi+sex+smoker)") == 0);
		CHECK(r->outputs[0].kind == MCN_QUERY_LOGISTIC);
		CHECK(strcmp(r->outputs[0].column, "dead") == 0);
		static const char *const terms[] = { "(intercept)", "age",
			"bmi", "sex=M", "smoker=former", "smoker=current" };
		for (size_t j = 0; j < 6 && j < r->outputs[0].nvars; j++)
			CHECK(strcmp(r->outputs[0].vars[j], terms[j]) == 0);
		check_logit_fit(r, x6, y, n, 6);
		/* text and JSON forms */
		char *buf = NULL;
		size_t blen = 0;
		FILE *mf = open_memstream(&buf, &blen);
		mcn_query_result_print(r, mf);
		fclose(mf);
		if (getenv("MCNT_VERBOSE") != NULL)
			fputs(buf, stderr);
		CHECK(strstr(buf, "smoker=current") != NULL &&
		    strstr(buf, "null deviance") != NULL &&
		    strstr(buf, "iterations =") != NULL);
		free(buf);
		json_t *js = mcn_query_result_json(r);
		REQUIRE(js != NULL);
		json_t *v = json_object_get(
		    json_array_get(
		        json_object_get(
		            json_array_get(json_object_get(js, "results"), 0),
		            "groups"),
		        0),
		    "value");
		CHECK(json_array_size(json_object_get(v, "coefficients")) == 6);
		CHECK(json_real_value(json_object_get(
		          json_array_get(json_object_get(v, "coefficients"), 1),
		          "estimate")) == r->outputs[0].cells[0].coef[1]);
		CHECK(json_integer_value(json_object_get(v, "iterations")) ==
		    r->outputs[0].cells[0].iterations);
		json_decref(js);
		mcn_query_result_free(r);
		free(x);
		free(x6);
		free(y);
	}

	/* WHERE carried into the steps; alias kept */
	{
		REQUIRE_OK(mcn_query_compile(&q,
		    "SELECT logistic(dead ~ age + smoker) AS m FROM patients "
		    "WHERE age > 20 AND sex = 'F' ;",
		    g_dict, &LIM, err, sizeof(err)));
		mcn_query_fit *f = NULL;
		REQUIRE_OK(mcn_query_fit_new(&f, q));
		CHECK(strcmp(mcn_query_fit_text(f),
		          "SELECT logistic_step(dead ~ age + smoker; 0x0p+0, "
		          "0x0p+0, 0x0p+0, 0x0p+0) AS m FROM patients WHERE "
		          "age > 20 AND "
		          "sex = 'F'") == 0);
		CHECK(mcn_query_fit_iterations(f) == 0);
		struct mcn_query_result *r = NULL;
		CHECK_ERR(mcn_query_fit_result(&r, f), MCN_EINVAL);
		/* a step of another model is refused */
		mcn_query *sq = NULL;
		REQUIRE_OK(mcn_query_compile(&sq,
		    "SELECT logistic_step(dead ~ age; 0x0p+0, 0x0p+0) FROM "
		    "patients",
		    g_dict, &LIM, err, sizeof(err)));
		int done = 0;
		CHECK_ERR(mcn_query_fit_update(f, sq, NULL, 0, 1, &done),
		    MCN_EINVAL);
		CHECK(!mcn_query_is_iterative(sq));
		mcn_query_fit *f2 = NULL;
		CHECK_ERR(mcn_query_fit_new(&f2, sq), MCN_EINVAL);
		CHECK(f2 == NULL);
		mcn_query_free(sq);
		mcn_query_fit_free(f);
		mcn_query_free(q);
		q = NULL;
		/* the subgroup fit equals the reference on the subgroup */
		struct mcn_query_result *rr = fit_sites(
		    "SELECT logistic(dead ~ age + smoker) AS m FROM patients "
		    "WHERE age > 20 AND sex = 'F'",
		    g_site, NSITES);
		REQUIRE(rr != NULL);
		CHECK(strcmp(rr->outputs[0].name, "m") == 0);
		double *x = calloc(g_nrows * 4, sizeof(double));
		double *y = calloc(g_nrows, sizeof(double));
		size_t n = 0;
		for (size_t i = 0; i < g_nrows; i++) {
			const row *w = &g_rows[i];
			if (!w->has_dead || !w->has_age || w->smoker < 0 ||
			    !(w->age > 20) || w->sex != 0)
				continue;
			double *xi = x + n * 4;
			xi[0] = 1;
			xi[1] = (double)w->age;
			xi[2] = w->smoker == 1;
			xi[3] = w->smoker == 2;
			y[n++] = (double)w->dead;
		}
		check_logit_fit(rr, x, y, n, 4);
		mcn_query_result_free(rr);
		free(x);
		free(y);
	}

	/* separation at one site only: site 0 has dead = (age > 60)
	 * exactly; sites 1 and 2 overlap. Site 0 alone does not converge,
	 * the pooled fit does. */
	{
		sqlite3 *dbs[3];
		row *rows = calloc(400, sizeof(*rows));
		size_t cnt[3] = { 80, 150, 170 }, off = 0;
		mcn_rng *rng = mcnt_rng(77);
		double *x = calloc(400 * 2, sizeof(double));
		double *y = calloc(400, sizeof(double));
		size_t n = 0;
		for (int s = 0; s < 3; s++) {
			for (size_t i = 0; i < cnt[s]; i++) {
				row *w = &rows[off + i];
				w->sex = w->smoker = w->region = w->ward = -1;
				w->has_age = w->has_dead = 1;
				w->age = rnd_range(rng, 20, 100);
				if (s == 0) {
					w->dead = w->age > 60;
				} else {
					double p = 1 /
					    (1 +
					        exp(-(-3 +
					            0.05 * (double)w->age)));
					w->dead = rnd(rng) / 4294967296.0 < p;
				}
				x[n * 2] = 1;
				x[n * 2 + 1] = (double)w->age;
				y[n++] = (double)w->dead;
			}
			dbs[s] = db_new();
			REQUIRE(db_insert(dbs[s], rows + off, cnt[s]));
			off += cnt[s];
		}
		mcn_rng_free(rng);
		struct mcn_query_result *r = fit_sites(
		    "SELECT logistic(dead ~ age) FROM patients", dbs, 3);
		REQUIRE(r != NULL);
		check_logit_fit(r, x, y, n, 2);
		mcn_query_result_free(r);
		r = fit_sites("SELECT logistic(dead ~ age) FROM patients", dbs,
		    1);
		REQUIRE(r != NULL);
		const mcn_query_cell *c = &r->outputs[0].cells[0];
		CHECK(c->problem != NULL && c->null && c->n == 80);
		CHECK(c->problem != NULL &&
		    (strstr(c->problem, "separation") != NULL));
		CHECK(c->iterations >= 2 &&
		    c->iterations <= MCN_QUERY_FIT_MAX_ITER);
		json_t *js = mcn_query_result_json(r);
		CHECK(js != NULL);
		json_decref(js);
		mcn_query_result_free(r);
		for (int s = 0; s < 3; s++)
			sqlite3_close(dbs[s]);
		free(rows);
		free(x);
		free(y);
	}

	/* a step query evaluated directly: SE at the given coefficients */
	{
		struct mcn_query_result *r = run3(
		    "SELECT logistic_step(dead ~ sex; -0x1p-1, 0x1p-2) FROM "
		    "patients",
		    &LIM, NULL);
		REQUIRE(r != NULL);
		const mcn_query_cell *c = &r->outputs[0].cells[0];
		REQUIRE(c->problem == NULL);
		CHECK(c->coef[0] == -0.5 && c->coef[1] == 0.25);
		/* reference: information and log-likelihood at b */
		double h00 = 0, h01 = 0, h11 = 0, ll = 0;
		int64_t n = 0;
		for (size_t i = 0; i < g_nrows; i++) {
			const row *w = &g_rows[i];
			if (!w->has_dead || w->sex < 0)
				continue;
			double p = 1 / (1 + exp(-(-0.5 + 0.25 * w->sex)));
			h00 += p * (1 - p);
			h01 += p * (1 - p) * w->sex;
			h11 += p * (1 - p) * w->sex * w->sex;
			ll += w->dead ? log(p) : log(1 - p);
			n++;
		}
		double det = h00 * h11 - h01 * h01;
		CHECK(c->n == n);
		CHECK_REL(c->se[0], sqrt(h11 / det), 0, 1e-9);
		CHECK_REL(c->se[1], sqrt(h00 / det), 0, 1e-9);
		CHECK_REL(c->deviance, -2 * ll, 0, 1e-9);
		mcn_query_result_free(r);
	}

	/* too many parameters for the cohort: DataSHIELD's 0.33 rule */
	{
		struct mcn_query_result *r = fit_sites(
		    "SELECT logistic(dead ~ age + smoker + region) FROM "
		    "patients WHERE age < 3",
		    g_site, NSITES);
		REQUIRE(r != NULL);
		const mcn_query_cell *c = &r->outputs[0].cells[0];
		CHECK(c->problem != NULL && strstr(c->problem, "0.33") != NULL);
		CHECK(c->iterations == 1);
		mcn_query_result_free(r);
	}

	/* errors */
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "SELECT logistic(age ~ bmi) FROM patients",
		    "logistic outcome must be an integer column declared with "
		    "range 0..1; 'age' (position 17)" },
		{ "SELECT logistic(bmi ~ age) FROM patients",
		    "logistic outcome must be an integer column" },
		{ "SELECT logistic(dead ~ age) FROM patients GROUP BY sex",
		    "logistic must be the only output of its query and takes "
		    "no GROUP BY" },
		{ "SELECT count(), logistic(dead ~ age) FROM patients",
		    "logistic must be the only output" },
		{ "SELECT logistic(dead ~ diagnosis) FROM patients",
		    "logistic predictors must be integer, real or "
		    "categorical" },
		{ "SELECT logistic(dead ~ age + age) FROM patients",
		    "logistic: column 'age' (position 30) appears twice" },
		{ "SELECT logistic(dead ~ ward) FROM patients",
		    "logistic takes at most 20 predictors" },
		{ "SELECT logistic(dead ~ age; 0x0p+0, 0x0p+0) FROM patients",
		    "expected '+' or ')'" },
		{ "SELECT logistic_step(dead ~ age) FROM patients",
		    "expected '+' or ';' (coefficients)" },
		{ "SELECT logistic_step(dead ~ age; 0x0p+0) FROM patients",
		    "logistic_step: 1 coefficients for 2 parameters" },
		{ "SELECT logistic_step(dead ~ age + smoker; 0x0p+0, 0x1p+0) "
		  "FROM patients",
		    "logistic_step: 2 coefficients for 4 parameters" },
		{ "SELECT logistic_step(dead ~ age; 0x0p+0, 0x0p+0, 0x0p+0) "
		  "FROM patients",
		    "more than 2 coefficients (position 50)" },
		{ "SELECT logistic_step(dead ~ age; 0x0p+0, 0x1p+2000) FROM "
		  "patients",
		    "coefficient at position 42 is not finite or beyond "
		    "+-1e+06" },
		{ "SELECT logistic_step(dead ~ age; -0x1p+20, 0x0p+0) FROM "
		  "patients",
		    "coefficient at position 34 is not finite" },
		{ "SELECT logistic_step(dead ~ age; 0, 1) FROM patients",
		    "expected a hexadecimal floating literal" },
		{ "SELECT logistic_step(dead ~ age; 0x1.8, 0x0p+0) FROM "
		  "patients",
		    "expected a hexadecimal floating literal" },
		{ "SELECT logistic_step(dead ~ age; nan, 0x0p+0) FROM patients",
		    "expected a hexadecimal floating literal" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_ERR(mcn_query_compile(&q, bad[i].text, g_dict, &LIM, err,
		              sizeof(err)),
		    MCN_EQUERY);
		CHECK(q == NULL && strstr(err, bad[i].msg) != NULL);
		if (strstr(err, bad[i].msg) == NULL)
			fprintf(stderr, "  %s\n  -> %s\n", bad[i].text, err);
	}
	/* y not 0/1 in the data: the node refuses the scan */
	{
		sqlite3 *db = db_new();
		row w;
		memset(&w, 0, sizeof(w));
		w.sex = w.smoker = w.region = w.ward = -1;
		w.has_age = w.has_dead = 1;
		w.age = 50;
		w.dead = 2;
		REQUIRE(db_insert(db, &w, 1));
		REQUIRE_OK(mcn_query_compile(&q,
		    "SELECT logistic(dead ~ age) FROM patients", g_dict, &LIM,
		    err, sizeof(err)));
		int64_t v[64];
		REQUIRE(mcn_query_layout(q)->nvalues <= 64);
		CHECK_ERR(mcn_query_local(q, db, v, err, sizeof(err)),
		    MCN_EDATA);
		CHECK(strstr(err,
		          "column 'dead' holds a value outside its "
		          "dictionary range") != NULL);
		CHECK(v[0] == 0);
		mcn_query_free(q);
		q = NULL;
		sqlite3_close(db);
	}
	/* allocation failures in the fit: new, then one update */
	{
		REQUIRE_OK(mcn_query_compile(&q,
		    "SELECT logistic(dead ~ age + sex) FROM patients", g_dict,
		    &LIM, err, sizeof(err)));
		mcn_query_fit *f = NULL;
		int nomem = 0;
		mcn_alloc_fail_at(0);
		REQUIRE_OK(mcn_query_fit_new(&f, q));
		unsigned long total = mcn_alloc_fail_at(0);
		mcn_query_fit_free(f);
		for (unsigned long k = 1; k <= total + 1; k++) {
			mcn_alloc_fail_at(k);
			mcn_err rv = mcn_query_fit_new(&f, q);
			mcn_alloc_fail_at(0);
			if (rv == MCN_ENOMEM) {
				nomem++;
				CHECK(f == NULL);
			} else {
				CHECK_OK(rv);
			}
			mcn_query_fit_free(f);
			f = NULL;
		}
		CHECK(nomem > 0);
		mcn_query *sq = NULL;
		REQUIRE_OK(mcn_query_fit_new(&f, q));
		REQUIRE_OK(mcn_query_compile(&sq, mcn_query_fit_text(f), g_dict,
		    &LIM, err, sizeof(err)));
		const mcn_agg_layout *L = mcn_query_layout(sq);
		int64_t v[64];
		mpz_t sums[64];
		REQUIRE(L->nvalues <= 64);
		CHECK_OK(mcn_query_local(sq, g_site[0], v, err, sizeof(err)));
		for (size_t i = 0; i < L->nvalues; i++)
			mpz_init_set_si(sums[i], v[i]);
		/* failures before the state changes leave the fit retryable */
		int done = 0;
		mcn_err rv;
		unsigned long k = 1;
		do {
			mcn_alloc_fail_at(k++);
			rv = mcn_query_fit_update(f, sq, (const mpz_t *)sums,
			    L->nvalues, 1, &done);
			mcn_alloc_fail_at(0);
			CHECK(rv == MCN_OK || rv == MCN_ENOMEM);
		} while (rv == MCN_ENOMEM && mcn_query_fit_iterations(f) == 0);
		CHECK(k > 2);
		CHECK(mcn_query_fit_iterations(f) == 1);
		for (size_t i = 0; i < L->nvalues; i++)
			mpz_clear(sums[i]);
		mcn_query_free(sq);
		mcn_query_fit_free(f);
		mcn_query_free(q);
		q = NULL;
	}
	/* layout: n, g (2), H (3), log-likelihood; with R = 10^7 the
	 * age sums g_age (R 120 2^32) and H_age,age (R 120^2 / 4 2^32) need
	 * two limbs each, H_0,age (R 30 2^32) and 35 R 2^32 stay below
	 * 2^62 / 3 */
	REQUIRE_OK(
	    mcn_query_compile(&q, "SELECT logistic(dead ~ age) FROM patients",
	        g_dict, &LIM, err, sizeof(err)));
	CHECK(mcn_query_layout(q)->nvalues == 9);
	CHECK(mcn_query_layout(q)->fields[0].lo == 0 &&
	    mcn_query_layout(q)->fields[0].hi == (int64_t)R_LIMIT);
	mcn_query_free(q);
}

/* ---------------------------------------------------------------- */

/* ---------------------------------------------------------------- */
/* quantile and median: rounds of histograms */

/* Runs the iterative query text over the sites dbs (with disclosure
 * control gov, may be NULL) and returns the result; *rounds gets the
 * aggregations and first (may be NULL, 256 bytes) the text of round 1. */
static int release_pool(const mcn_query *q, sqlite3 *const *dbs,
    unsigned nd, const mcn_query_gov *gov, mpz_t **vs, int64_t **dec,
    size_t *ndec, uint8_t *rel_out);
static void release_free(const mcn_query *q, mpz_t *s, int64_t *dec,
    size_t ndec);

static struct mcn_query_result *
fit_gov(const char *text, const mcn_dict *d, const mcn_query_limits *lim,
    sqlite3 *const *dbs, unsigned nd, const mcn_query_gov *gov,
    unsigned *rounds, char *first)
{
	mcn_query *q = NULL;
	mcn_query_fit *f = NULL;
	struct mcn_query_result *r = NULL;
	char err[512];
	int done = 0;

	*rounds = 0;
	if (mcn_query_compile(&q, text, d, lim, err, sizeof(err)) != MCN_OK) {
		MCNT_FAIL("compile %s: %s", text, err);
		return NULL;
	}
	CHECK(mcn_query_is_iterative(q));
	if (mcn_query_fit_new(&f, q) != MCN_OK) {
		MCNT_FAIL("fit_new");
		mcn_query_free(q);
		return NULL;
	}
	while (!done && *rounds < 40) {
		const char *st = mcn_query_fit_text(f);
		mcn_query *sq = NULL;
		if (st == NULL ||
		    mcn_query_compile(&sq, st, d, lim, err, sizeof(err)) !=
		        MCN_OK) {
			MCNT_FAIL("round: %s: %s", st ? st : "no text",
			    st ? err : "");
			break;
		}
		if (*rounds == 0 && first != NULL)
			snprintf(first, 256, "%s", st);
		CHECK(!mcn_query_is_iterative(sq));
		CHECK(mcn_query_agg(sq, 0, NULL) == MCN_QUERY_COUNT_X &&
		    mcn_query_agg(sq, 1, NULL) == MCN_QUERY_HISTOGRAM);
		/* each round under the release rule (gov NULL: none) */
		mcn_query_gov gs[8];
		for (unsigned s = 0; s < nd && s < 8; s++) {
			if (gov != NULL) {
				gs[s] = *gov;
			} else {
				memset(&gs[s], 0, sizeof(gs[s]));
			}
		}
		mpz_t *sums = NULL;
		int64_t *dec = NULL;
		size_t ndec = 0;
		const size_t nv = mcn_query_release_layout(sq)->nvalues;
		mcn_err rv = MCN_EINVAL;
		if (release_pool(sq, dbs, nd, gs, &sums, &dec, &ndec, NULL)) {
			rv = mcn_query_fit_update_release(f, sq,
			    (const mpz_t *)sums, nv, dec, ndec, nd, &done);
		}
		CHECK_OK(rv);
		if (rv == MCN_OK && !done) {
			/* the old round is no longer the current one */
			int d2 = 0;
			CHECK_ERR(mcn_query_fit_update_release(f, sq,
			              (const mpz_t *)sums, nv, dec, ndec, nd, &d2),
			    MCN_EINVAL);
		}
		(*rounds)++;
		if (sums != NULL)
			release_free(sq, sums, dec, ndec);
		mcn_query_free(sq);
		if (rv != MCN_OK)
			break;
	}
	if (done) {
		CHECK(mcn_query_fit_text(f) == NULL);
		CHECK_OK(mcn_query_fit_result(&r, f));
		CHECK(*rounds == mcn_query_fit_iterations(f));
	} else {
		CHECK_ERR(mcn_query_fit_result(&r, f), MCN_EINVAL);
	}
	mcn_query_fit_free(f);
	mcn_query_free(q);
	return r;
}

/* x of the test rows as exact grid integers (sbp too) */
static int
quant_x(const row *w, const char *col, int64_t *x, unsigned *d)
{
	if (strcmp(col, "sbp") == 0) {
		*x = w->sbp;
		*d = 0;
		return w->has_sbp;
	}
	return col_num(w, col, x, d);
}

static int
i64_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* The reference: the ceil(p n)-th smallest x (p = pm / 10^ps) of the
 * rows matching pred, as its grid integer; *n the values. */
static int64_t
ref_quantile(const char *col, pred_fn pred, int64_t pm, unsigned ps,
    int64_t *n, unsigned *d)
{
	int64_t *xs = calloc(g_nrows + 1, sizeof(*xs)), x, q = 0;
	size_t k = 0;
	__int128 den = 1;

	for (size_t i = 0; i < g_nrows; i++) {
		if ((pred == NULL || pred(&g_rows[i])) &&
		    quant_x(&g_rows[i], col, &x, d))
			xs[k++] = x;
	}
	qsort(xs, k, sizeof(*xs), i64_cmp);
	for (unsigned i = 0; i < ps; i++)
		den *= 10;
	if (k > 0) {
		int64_t r = (int64_t)(((__int128)pm * (int64_t)k + den - 1) /
		    den);
		q = xs[r - 1];
	}
	*n = (int64_t)k;
	free(xs);
	return q;
}

static int
p_female(const row *w)
{
	return w->sex == 0;
}

static int
p_current(const row *w)
{
	return w->smoker == 2;
}

static const struct {
	const char *text, *name, *col;
	pred_fn pred;
	int64_t pm;
	unsigned ps, rounds;
	const char *first; /* round 1's query */
} QUANT[] = {
	{ "SELECT median(age) FROM patients", "median(age)", "age", NULL, 5,
	    1, 2, "SELECT count(age), histogram(age, 0, 122, 61) FROM patients" },
	{ "SELECT quantile(age, 0.1) FROM patients WHERE sex = 'F'",
	    "quantile(age,0.1)", "age", p_female, 1, 1, 2,
	    "SELECT count(age), histogram(age, 0, 122, 61) FROM patients WHERE sex = "
	    "'F'" },
	{ "select QUANTILE(age, 0.250) from patients where sex = 'F'",
	    "quantile(age,0.25)", "age", p_female, 25, 2, 2,
	    "SELECT count(age), histogram(age, 0, 122, 61) FROM patients WHERE sex = "
	    "'F'" },
	{ "SELECT quantile(age, 0.9) AS p90 FROM patients WHERE sex = 'F'",
	    "p90", "age", p_female, 9, 1, 2, NULL },
	{ "SELECT median(bmi) FROM patients WHERE age >= 30", "median(bmi)",
	    "bmi", p_age_ge_30, 5, 1, 2,
	    "SELECT count(bmi), histogram(bmi, 10, 80.4, 88) FROM patients WHERE age >= "
	    "30" },
	{ "SELECT quantile(bmi, 0.25) FROM patients", "quantile(bmi,0.25)",
	    "bmi", NULL, 25, 2, 2, NULL },
	{ "SELECT quantile(lab, 0.9) FROM patients", "quantile(lab,0.9)",
	    "lab", NULL, 9, 1, 3,
	    "SELECT count(lab), histogram(lab, -50, 50.1, 100) FROM patients" },
	{ "SELECT quantile(lab, 0.1) FROM patients WHERE age >= 30",
	    "quantile(lab,0.1)", "lab", p_age_ge_30, 1, 1, 3, NULL },
	{ "SELECT quantile(sbp, 0.9) FROM patients WHERE smoker = 'current'",
	    "quantile(sbp,0.9)", "sbp", p_current, 9, 1, 2,
	    "SELECT count(sbp), histogram(sbp, 40, 301, 87) FROM patients WHERE smoker = "
	    "'current'" },
	{ "SELECT quantile(age, 0.000001) FROM patients",
	    "quantile(age,0.000001)", "age", NULL, 1, 6, 2, NULL },
	{ "SELECT quantile(age, 0.999999) FROM patients",
	    "quantile(age,0.999999)", "age", NULL, 999999, 6, 1, NULL },
	{ "SELECT median(big) FROM patients", "median(big)", "big", NULL, 5,
	    1, 9,
	    "SELECT count(big), histogram(big, -9007199254740992, 9007199254741008, 100) "
	    "FROM patients" },
};

/* a small dictionary and three sites for disclosure control: per site 20
 * rows at 100, 12 in 500..509 (500 and 509 twice), 20 at 900 */
static const char QDICT[] =
    "{\"name\": \"q\", \"version\": 1, \"table\": \"patients\", "
    "\"columns\": [{\"name\": \"x\", \"type\": \"integer\", \"min\": 0, "
    "\"max\": 999, \"sensitivity\": 2}]}";

static sqlite3 *
quant_db(void)
{
	sqlite3 *db = NULL;
	char sql[128];

	if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
	    sqlite3_exec(db, "CREATE TABLE patients (x INTEGER); BEGIN", NULL,
	        NULL, NULL) != SQLITE_OK)
		return db;
	for (int i = 0; i < 52; i++) {
		int x = i < 20 ? 100 : i < 30 ? 500 + (i - 20) :
		    i == 30    ? 500 :
		    i == 31    ? 509 :
		                 900;
		snprintf(sql, sizeof(sql), "INSERT INTO patients VALUES (%d)",
		    x);
		CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
	}
	CHECK(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
	return db;
}

static void
test_quantile(void)
{
	char err[512], first[256];
	unsigned rounds;
	REQUIRE(setup());

	for (size_t i = 0; i < sizeof(QUANT) / sizeof(QUANT[0]); i++) {
		int64_t n = 0;
		unsigned d = 0;
		int64_t want = ref_quantile(QUANT[i].col, QUANT[i].pred,
		    QUANT[i].pm, QUANT[i].ps, &n, &d);
		double p10 = d == 0 ? 1 : d == 1 ? 10 : 1000;
		double pw = (double)QUANT[i].pm /
		    (QUANT[i].ps == 1 ? 10 : QUANT[i].ps == 2 ? 100 : 1e6);
		struct mcn_query_result *r = fit_gov(QUANT[i].text, g_dict,
		    &LIM, g_site, NSITES, NULL, &rounds, first);
		if (r == NULL) {
			MCNT_FAIL("%s: no result", QUANT[i].text);
			continue;
		}
		const mcn_query_output *o = &r->outputs[0];
		const mcn_query_cell *c = &o->cells[0];
		CHECK(r->noutputs == 1 && r->ngroups == 1);
		CHECK(o->kind == MCN_QUERY_QUANTILE);
		CHECK(strcmp(o->name, QUANT[i].name) == 0);
		CHECK(strcmp(o->column, QUANT[i].col) == 0);
		CHECK(n > 20);
		CHECK(c->n == n);
		CHECK(!c->null && c->problem == NULL && c->is_exact == 1);
		CHECK(c->value == (double)want / p10);
		CHECK(c->lower == (double)want / p10);
		CHECK(c->upper == (double)(want + 1) / p10);
		CHECK(c->p == pw);
		CHECK(rounds == QUANT[i].rounds);
		CHECK(c->iterations == QUANT[i].rounds);
		CHECK(r->suppressions == 0);
		if (QUANT[i].first != NULL)
			CHECK(strcmp(first, QUANT[i].first) == 0);
		if (c->value != (double)want / p10 ||
		    rounds != QUANT[i].rounds)
			fprintf(stderr,
			    "  %s: got %.17g (%u rounds), want %.17g (%u)\n",
			    QUANT[i].text, c->value, rounds,
			    (double)want / p10, QUANT[i].rounds);
		if (QUANT[i].first != NULL &&
		    strcmp(first, QUANT[i].first) != 0)
			fprintf(stderr, "  round 1: %s\n", first);
		mcn_query_result_free(r);
	}

	/* the extremes: p = 0.000001 is the minimum, 0.999999 the maximum
	 * (n < 10^6) */
	{
		int64_t n, lo, hi, mn = INT64_MAX, mx = INT64_MIN, x;
		unsigned d;
		lo = ref_quantile("age", NULL, 1, 6, &n, &d);
		hi = ref_quantile("age", NULL, 999999, 6, &n, &d);
		for (size_t i = 0; i < g_nrows; i++) {
			if (quant_x(&g_rows[i], "age", &x, &d)) {
				mn = x < mn ? x : mn;
				mx = x > mx ? x : mx;
			}
		}
		CHECK(lo == mn && hi == mx);
	}

	/* text and JSON forms */
	{
		struct mcn_query_result *r = fit_gov(
		    "SELECT median(bmi) FROM patients WHERE age >= 30", g_dict,
		    &LIM, g_site, NSITES, NULL, &rounds, NULL);
		REQUIRE(r != NULL);
		int64_t n;
		unsigned d;
		int64_t want = ref_quantile("bmi", p_age_ge_30, 5, 1, &n, &d);
		char *buf = NULL, line[256];
		size_t blen = 0;
		FILE *mf = open_memstream(&buf, &blen);
		mcn_query_result_print(r, mf);
		fclose(mf);
		if (getenv("MCNT_VERBOSE") != NULL)
			fputs(buf, stderr);
		snprintf(line, sizeof(line),
		    "  %10lld    0.5  %5.15g  %5.15g  %5.15g    yes\n",
		    (long long)n, (double)want / 10, (double)want / 10,
		    (double)(want + 1) / 10);
		CHECK(strncmp(buf, "median(bmi)\n", 12) == 0);
		CHECK(strstr(buf, line) != NULL);
		CHECK(strstr(buf, "  exact; 2 aggregations\n") != NULL);
		CHECK(strstr(buf, "quantile: the lower empirical quantile") !=
		    NULL);
		if (strstr(buf, line) == NULL)
			fprintf(stderr, "  want line: %s  got:\n%s", line, buf);
		free(buf);
		json_t *js = mcn_query_result_json(r);
		REQUIRE(js != NULL);
		json_t *res = json_array_get(json_object_get(js, "results"), 0);
		json_t *g = json_array_get(json_object_get(res, "groups"), 0);
		json_t *v = json_object_get(g, "value");
		CHECK(strcmp(json_string_value(json_object_get(res,
		                 "aggregate")),
		          "quantile") == 0);
		CHECK(json_real_value(json_object_get(v, "value")) ==
		    (double)want / 10);
		CHECK(json_real_value(json_object_get(v, "lower")) ==
		    (double)want / 10);
		CHECK(json_real_value(json_object_get(v, "upper")) ==
		    (double)(want + 1) / 10);
		CHECK(json_is_true(json_object_get(v, "exact")));
		CHECK(json_integer_value(json_object_get(v, "n")) == n);
		CHECK(json_real_value(json_object_get(v, "p")) == 0.5);
		CHECK(json_integer_value(json_object_get(g, "iterations")) ==
		    2);
		json_decref(js);
		mcn_query_result_free(r);
	}

	/* an integer column gives JSON integers */
	{
		struct mcn_query_result *r = fit_gov(
		    "SELECT median(age) FROM patients", g_dict, &LIM, g_site,
		    NSITES, NULL, &rounds, NULL);
		REQUIRE(r != NULL);
		int64_t n;
		unsigned d;
		int64_t want = ref_quantile("age", NULL, 5, 1, &n, &d);
		json_t *js = mcn_query_result_json(r);
		REQUIRE(js != NULL);
		json_t *v = json_object_get(
		    json_array_get(
		        json_object_get(json_array_get(
		                            json_object_get(js, "results"), 0),
		            "groups"),
		        0),
		    "value");
		CHECK(json_is_integer(json_object_get(v, "value")) &&
		    json_integer_value(json_object_get(v, "value")) == want);
		CHECK(json_integer_value(json_object_get(v, "upper")) ==
		    want + 1);
		json_decref(js);
		mcn_query_result_free(r);
	}

	/* no values: one round, no value */
	{
		struct mcn_query_result *r = fit_gov(
		    "SELECT median(age) FROM patients WHERE age > 500", g_dict,
		    &LIM, g_site, NSITES, NULL, &rounds, NULL);
		REQUIRE(r != NULL);
		const mcn_query_cell *c = &r->outputs[0].cells[0];
		CHECK(rounds == 1 && c->n == 0 && c->null == 1);
		CHECK(c->problem != NULL && strcmp(c->problem, "no values") == 0);
		json_t *js = mcn_query_result_json(r);
		REQUIRE(js != NULL);
		json_t *g = json_array_get(
		    json_object_get(json_array_get(json_object_get(js,
		                                       "results"),
		                        0),
		        "groups"),
		    0);
		CHECK(json_is_null(json_object_get(g, "value")));
		CHECK(strcmp(json_string_value(json_object_get(g, "error")),
		          "no values") == 0);
		json_decref(js);
		mcn_query_result_free(r);
	}

	/* the API: kind name, iterative, a round fed to the wrong fit */
	{
		mcn_query *q = NULL, *h = NULL;
		mcn_query_fit *f = NULL;
		const char *nm = NULL;
		CHECK(strcmp(mcn_query_agg_kind_name(MCN_QUERY_QUANTILE),
		          "quantile") == 0);
		REQUIRE_OK(mcn_query_compile(&q,
		    "SELECT quantile(age, 0.5) FROM patients WHERE sex = 'F'",
		    g_dict, &LIM, err, sizeof(err)));
		CHECK(mcn_query_agg(q, 0, &nm) == MCN_QUERY_QUANTILE &&
		    strcmp(nm, "quantile(age,0.5)") == 0);
		CHECK(mcn_query_is_iterative(q) == 1);
		/* round 1: the exact count and the histogram */
		REQUIRE_OK(mcn_query_compile(&h,
		    "SELECT count(age), histogram(age, 0, 122, 61) FROM "
		    "patients WHERE sex = 'F'",
		    g_dict, &LIM, err, sizeof(err)));
		REQUIRE_OK(mcn_query_fit_new(&f, q));
		mpz_t *sums = calloc(mcn_query_layout(h)->nvalues,
		    sizeof(*sums));
		for (size_t i = 0; i < mcn_query_layout(h)->nvalues; i++)
			mpz_init(sums[i]);
		int done = 0;
		/* the same histogram without the WHERE is not this round */
		mcn_query *h2 = NULL;
		REQUIRE_OK(mcn_query_compile(&h2,
		    "SELECT count(age), histogram(age, 0, 122, 61) FROM "
		    "patients", g_dict, &LIM, err, sizeof(err)));
		CHECK_ERR(mcn_query_fit_update(f, h2, (const mpz_t *)sums,
		              mcn_query_layout(h2)->nvalues, NSITES, &done),
		    MCN_EINVAL);
		CHECK_ERR(mcn_query_fit_update(f, q, (const mpz_t *)sums,
		              mcn_query_layout(q)->nvalues, NSITES, &done),
		    MCN_EINVAL);
		/* all zero: no values */
		CHECK_OK(mcn_query_fit_update(f, h, (const mpz_t *)sums,
		    mcn_query_layout(h)->nvalues, NSITES, &done));
		CHECK(done == 1 && mcn_query_fit_text(f) == NULL);
		for (size_t i = 0; i < mcn_query_layout(h)->nvalues; i++)
			mpz_clear(sums[i]);
		free(sums);
		mcn_query_fit_free(f);
		mcn_query_free(h2);
		mcn_query_free(h);
		mcn_query_free(q);
	}

	/* disclosure control on the pooled histograms (3 identical sites of
	 * 52: 20 at 100, 500..509 once each plus 500 and 509 again, 20 at
	 * 900). min_cell 5: round 1 (bins of 10: 60, 36, 60 pooled) passes;
	 * round 2 in [500, 510) has 6 at 500 and 509 and 3 at 501..508: the
	 * 3s are withheld and so is the smallest released cell (500, so the
	 * withheld part of the total cannot be read off); the median (rank
	 * 78 of 156: 504) is known to lie in [500, 509) */
	{
		mcn_dict *d = NULL;
		sqlite3 *db[3];
		const mcn_query_limits lim = { 1000, 3, 0 };
		mcn_query_gov gov = { 0 };
		REQUIRE_OK(mcn_dict_parse(&d, QDICT, strlen(QDICT), err,
		    sizeof(err)));
		for (int i = 0; i < 3; i++)
			db[i] = quant_db();
		/* without disclosure control: exact */
		struct mcn_query_result *r = fit_gov(
		    "SELECT median(x) FROM patients", d, &lim, db, 3, NULL,
		    &rounds, first);
		REQUIRE(r != NULL);
		CHECK(strcmp(first,
		          "SELECT count(x), histogram(x, 0, 1000, 100) FROM "
		          "patients") == 0);
		CHECK(rounds == 2 && r->outputs[0].cells[0].is_exact == 1 &&
		    r->outputs[0].cells[0].value == 504 &&
		    r->outputs[0].cells[0].n == 156);
		mcn_query_result_free(r);

		gov.min_cell = 5;
		r = fit_gov("SELECT median(x) FROM patients", d, &lim, db, 3,
		    &gov, &rounds, NULL);
		REQUIRE(r != NULL);
		const mcn_query_cell *c = &r->outputs[0].cells[0];
		CHECK(rounds == 2);
		CHECK(c->is_exact == 0 && c->null == 0 && c->problem == NULL);
		CHECK(c->lower == 500 && c->upper == 509 && c->value == 500);
		CHECK(c->lower <= 504 && 504 < c->upper);
		CHECK(c->n == 156);
		CHECK(r->suppressions == 9); /* pooled cells 500..508 */
		char *buf = NULL;
		size_t blen = 0;
		FILE *mf = open_memstream(&buf, &blen);
		mcn_query_result_print(r, mf);
		fclose(mf);
		CHECK(strstr(buf, "withheld cells: the quantile lies in "
		                  "[lower, upper); 2 aggregations") != NULL);
		CHECK(strstr(buf, "9 pooled histogram cells were withheld") !=
		    NULL);
		free(buf);
		json_t *js = mcn_query_result_json(r);
		json_t *v = json_object_get(
		    json_array_get(
		        json_object_get(json_array_get(
		                            json_object_get(js, "results"), 0),
		            "groups"),
		        0),
		    "value");
		CHECK(json_is_false(json_object_get(v, "exact")));
		CHECK(json_integer_value(json_object_get(v, "lower")) == 500);
		CHECK(json_integer_value(json_object_get(v, "upper")) == 509);
		json_decref(js);
		mcn_query_result_free(r);

		/* the 0.1 quantile (rank 16: 100): round 2 refines [100,
		 * 110), where no site withholds a cell: exact */
		r = fit_gov("SELECT quantile(x, 0.1) FROM patients", d, &lim,
		    db, 3, &gov, &rounds, NULL);
		REQUIRE(r != NULL);
		c = &r->outputs[0].cells[0];
		CHECK(rounds == 2 && c->is_exact == 1 && c->value == 100);
		mcn_query_result_free(r);

		/* min_cell 13: round 1 passes (36 >= 13); round 2 withholds
		 * every bin of [500, 510) (6 and 3) and the smaller tail:
		 * [500, 510) */
		gov.min_cell = 13;
		r = fit_gov("SELECT median(x) FROM patients", d, &lim, db, 3,
		    &gov, &rounds, NULL);
		REQUIRE(r != NULL);
		c = &r->outputs[0].cells[0];
		CHECK(rounds == 2 && c->is_exact == 0);
		CHECK(c->lower == 500 && c->upper == 510);
		CHECK(c->n == 156); /* count(x): exact although cells are
		                       withheld */
		mcn_query_result_free(r);
		/* ... but the 0.1 quantile is still exact: the exact count
		 * places rank 16 in [100, 110) whatever the withheld cell
		 * above holds */
		r = fit_gov("SELECT quantile(x, 0.1) FROM patients", d, &lim,
		    db, 3, &gov, &rounds, NULL);
		REQUIRE(r != NULL);
		c = &r->outputs[0].cells[0];
		CHECK(rounds == 2 && c->is_exact == 1 && c->value == 100 &&
		    c->n == 156);
		mcn_query_result_free(r);

		/* min_cell 40 withholds [500, 510) (36) in round 1, and
		 * [100, 110) (60, the smallest released) with it: the median
		 * lies in [100, 510) */
		gov.min_cell = 40;
		r = fit_gov("SELECT median(x) FROM patients", d, &lim, db, 3,
		    &gov, &rounds, NULL);
		REQUIRE(r != NULL);
		c = &r->outputs[0].cells[0];
		CHECK(rounds == 1 && c->is_exact == 0);
		CHECK(c->lower == 100 && c->upper == 510);
		mcn_query_result_free(r);
		for (int i = 0; i < 3; i++)
			sqlite3_close(db[i]);
		mcn_dict_free(d);
	}
}

/* speed: 100,000 rows */

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void
test_speed(void)
{
	const size_t N = 100000;
	mcn_query *q = NULL;
	char err[256];
	row *rows = calloc(N, sizeof(*rows));
	mcn_rng *rng = mcnt_rng(9);
	sqlite3 *db = db_new();

	if (!setup()) {
		CHECK(0);
		return;
	}
	for (size_t i = 0; i < N; i++)
		gen_row(rng, &rows[i]);
	mcn_rng_free(rng);
	CHECK(db_insert(db, rows, N));
	REQUIRE_OK(mcn_query_compile(&q,
	    "SELECT count(), mean(age), "
	    "var(bmi), histogram(age, 0, 120, 12) FROM patients WHERE "
	    "sex = 'F' AND age >= 18 GROUP BY smoker",
	    g_dict, &LIM, err, sizeof(err)));
	const mcn_agg_layout *L = mcn_query_layout(q);
	int64_t *v = calloc(L->nvalues, sizeof(*v));
	double best = 1e9;
	for (int rep = 0; rep < 5; rep++) {
		double t0 = now_ms();
		CHECK_OK(mcn_query_local(q, db, v, err, sizeof(err)));
		double t = now_ms() - t0;
		best = t < best ? t : best;
	}
	int64_t want = 0;
	for (size_t i = 0; i < N; i++)
		want += rows[i].sex == 0 && rows[i].has_age &&
		    rows[i].age >= 18 && rows[i].smoker == 1;
	/* group 'former': slot 0 of the second group */
	CHECK_U64_EQ(v[L->nvalues / 3], want);
	fprintf(stderr, "  local evaluation, %zu rows: %.1f ms\n", N, best);
	CHECK(best < 2000); /* generous: sanitizer builds are slow */
	free(v);
	mcn_query_free(q);
	sqlite3_close(db);
	free(rows);
}

/* The parallel blocks (query_plan.c): a site's vector is bit-identical
 * for 1, 2 and 3 threads (logistic: long double sums in fixed chunks;
 * cross products: exact), over 100,000 rows (two batches); prints the
 * local time of a logistic step with 10 predictor terms. */
static void
test_threads(void)
{
	const size_t N = 100000;
	static const char *const texts[] = {
		"SELECT logistic_step(dead ~ age + bmi + sbp + fu + sex + "
		"smoker + region; -0x1p+1, 0x1p-6, -0x1p-5, 0x1p-7, -0x1p-8, "
		"0x1p-2, -0x1p-3, 0x1.8p-2, 0x1p-4, -0x1p-4, 0x1p-5) FROM "
		"patients WHERE age >= 18",
		"SELECT linear(sbp ~ age + bmi + lab + smoker + region), "
		"cor(age, bmi, lab, sbp, big) FROM patients GROUP BY sex",
		"SELECT logistic(dead ~ age + bmi + lab + smoker) FROM "
		"patients WHERE sex = 'M'",
		/* the same scan without the parallel blocks (timing) */
		"SELECT count(dead), count(age), count(bmi), count(sbp), "
		"count(fu), table(sex), table(smoker), table(region) FROM "
		"patients WHERE age >= 18",
	};
	char err[256];
	row *rows = calloc(N, sizeof(*rows));
	mcn_rng *rng = mcnt_rng(9), *rng2 = mcnt_rng(10);
	sqlite3 *db = db_new();

	REQUIRE(setup());
	for (size_t i = 0; i < N; i++) {
		gen_row(rng, &rows[i]);
		gen_analysis(rng2, &rows[i]);
	}
	mcn_rng_free(rng);
	mcn_rng_free(rng2);
	CHECK(db_insert(db, rows, N));
	for (size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++) {
		mcn_query *q = NULL;
		REQUIRE_OK(mcn_query_compile(&q, texts[t], g_dict, &LIM, err,
		    sizeof(err)));
		size_t nv = mcn_query_layout(q)->nvalues;
		int64_t *v1 = calloc(nv, sizeof(*v1));
		int64_t *v2 = calloc(nv, sizeof(*v2));
		double best[4] = { 1e9, 1e9, 1e9, 1e9 };
		for (int th = 1; th <= 3; th++) {
#ifdef _OPENMP
			omp_set_num_threads(th);
#endif
			for (int rep = 0; rep < (t == 0 || t == 3 ? 3 : 1);
			     rep++) {
				double t0 = now_ms();
				CHECK_OK(mcn_query_local(q, db,
				    th == 1 ? v1 : v2, err, sizeof(err)));
				double dt = now_ms() - t0;
				best[th] = dt < best[th] ? dt : best[th];
			}
			if (th > 1) {
				CHECK(memcmp(v1, v2, nv * sizeof(*v1)) == 0);
			}
		}
		/* complete cases (group F for linear) */
		CHECK(v1[0] > 20000 && v1[0] < 80000);
		if (t == 0 || t == 3) {
			fprintf(stderr,
			    "  %s, %zu rows: %.1f ms (1 thread), %.1f ms (2), "
			    "%.1f ms (3)\n",
			    t == 0 ? "logistic step, 11 parameters" :
			             "the same scan without logistic",
			    N, best[1], best[2], best[3]);
		}
		free(v1);
		free(v2);
		mcn_query_free(q);
	}
#ifdef _OPENMP
	omp_set_num_threads(omp_get_num_procs());
#endif
	sqlite3_close(db);
	free(rows);
}

static void
test_teardown(void)
{
	for (int s = 0; s < NSITES; s++) {
		CHECK(
		    g_site[s] == NULL || sqlite3_close(g_site[s]) == SQLITE_OK);
		g_site[s] = NULL;
	}
	mcn_dict_free(g_dict);
	g_dict = NULL;
	free(g_rows);
	g_rows = NULL;
}


/* ---------------------------------------------------------------- */
/* disclosure control on the node side (mcn_query_local_gov) */

/* ---- release control: the rule on the pooled release ---- */

/* The release path as plain mode runs it (and as the nodes do in the
 * secure modes): every site's protocol vector, pooled; the rule decides
 * on the pooled control; withheld units are zero. gov[s] per site. */
static int
release_pool(const mcn_query *q, sqlite3 *const *dbs, unsigned nd,
    const mcn_query_gov *gov, mpz_t **vs, int64_t **dec, size_t *ndec,
    uint8_t *rel_out)
{
	const mcn_agg_layout *L = mcn_query_release_layout(q);
	size_t nall = L->nvalues + L->ncontrol;
	int64_t *v = calloc(nall + 1, sizeof(*v));
	int64_t *ctl = calloc(L->ncontrol + 1, sizeof(*ctl));
	uint8_t *rel = calloc(L->nunits + 1, 1);
	mpz_t *s = calloc(L->nvalues + 1, sizeof(*s));
	char err[512];
	int ok = 1;

	for (size_t i = 0; i < L->nvalues; i++) {
		mpz_init(s[i]);
	}
	for (unsigned j = 0; j < nd && ok; j++) {
		mcn_err rv = mcn_query_local_release(q, dbs[j], &gov[j], v, NULL,
		    err, sizeof(err));
		CHECK_OK(rv);
		if (rv != MCN_OK) {
			fprintf(stderr, "  local_release: %s\n", err);
			ok = 0;
			break;
		}
		/* every entry inside its declared range */
		size_t k = 0;
		for (int part = 0; part < 2; part++) {
			const mcn_pack_field *F = part ? L->cfields : L->fields;
			size_t nf = part ? L->ncfields : L->nfields;
			for (size_t f = 0; f < nf; f++) {
				for (size_t c = 0; c < F[f].count; c++, k++) {
					if (v[k] < F[f].lo || v[k] > F[f].hi) {
						MCNT_FAIL("entry %zu out of range",
						    k);
						ok = 0;
					}
				}
			}
		}
		for (size_t i = 0; i < L->nvalues; i++) {
			if (v[i] >= 0)
				mpz_add_ui(s[i], s[i], (unsigned long)v[i]);
			else
				mpz_sub_ui(s[i], s[i], (unsigned long)-v[i]);
		}
		for (size_t i = 0; i < L->ncontrol; i++) {
			ctl[i] += v[L->nvalues + i];
		}
	}
	*dec = NULL;
	*ndec = 0;
	if (ok) {
		char why[256] = "";
		CHECK_OK(mcn_query_decide(q, ctl, L->ncontrol, nd, rel,
		    L->nunits, dec, ndec, why, sizeof(why)));
		/* withheld units reach the querier as zeros */
		size_t f = 0, vi = 0;
		for (size_t u = 0; u < L->nunits; u++) {
			size_t cnt = 0;
			for (size_t j = 0; j < L->units[u]; j++) {
				cnt += L->fields[f + j].count;
			}
			for (size_t j = 0; !rel[u] && j < cnt; j++) {
				mpz_set_ui(s[vi + j], 0);
			}
			vi += cnt;
			f += L->units[u];
		}
		if (rel_out != NULL) {
			memcpy(rel_out, rel, L->nunits);
		}
	}
	free(v);
	free(ctl);
	free(rel);
	*vs = s;
	return ok && *dec != NULL;
}

static void
release_free(const mcn_query *q, mpz_t *s, int64_t *dec, size_t ndec)
{
	for (size_t i = 0; i < mcn_query_release_layout(q)->nvalues; i++) {
		mpz_clear(s[i]);
	}
	free(s);
	mcn_free(dec, ndec * sizeof(*dec));
}

/* The result of text over the sites under the release rule. */
static struct mcn_query_result *
release_run(const char *text, const mcn_dict *d, const mcn_query_limits *lim,
    sqlite3 *const *dbs, unsigned nd, const mcn_query_gov *gov,
    mcn_query **qout)
{
	mcn_query *q = NULL;
	struct mcn_query_result *r = NULL;
	mpz_t *s = NULL;
	int64_t *dec = NULL;
	size_t ndec = 0;
	char err[512];

	if (mcn_query_compile(&q, text, d, lim, err, sizeof(err)) != MCN_OK) {
		MCNT_FAIL("compile %s: %s", text, err);
		return NULL;
	}
	if (release_pool(q, dbs, nd, gov, &s, &dec, &ndec, NULL)) {
		CHECK_OK(mcn_query_result_release(&r, q, (const mpz_t *)s,
		    mcn_query_release_layout(q)->nvalues, dec, ndec, nd));
	}
	if (s != NULL) {
		release_free(q, s, dec, ndec);
	}
	if (qout != NULL) {
		*qout = q;
	} else {
		mcn_query_free(q);
	}
	return r;
}

static const char REL_DICT[] =
    "{\"name\": \"rel\", \"version\": 1, \"table\": \"patients\", "
    "\"columns\": ["
    "{\"name\": \"grp\", \"type\": \"categorical\", \"levels\": [\"a\", "
    "\"b\", \"c\"], \"sensitivity\": 2},"
    "{\"name\": \"arm\", \"type\": \"categorical\", \"levels\": [\"x\", "
    "\"y\"], \"sensitivity\": 2},"
    "{\"name\": \"stage\", \"type\": \"categorical\", \"levels\": [\"s1\", "
    "\"s2\", \"s3\"], \"sensitivity\": 2},"
    "{\"name\": \"age\", \"type\": \"integer\", \"min\": 0, \"max\": 120, "
    "\"sensitivity\": 2},"
    "{\"name\": \"t\", \"type\": \"integer\", \"min\": 0, \"max\": 400, "
    "\"sensitivity\": 2},"
    "{\"name\": \"ev\", \"type\": \"integer\", \"min\": 0, \"max\": 1, "
    "\"sensitivity\": 2}]}";

/* A site's table from rows "grp arm stage age t ev". */
static sqlite3 *
rel_db(const char *const *rows, size_t n)
{
	sqlite3 *db = NULL;
	char sql[256], g[8], a[8], st[8];
	int age, t, ev;

	CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db,
	          "CREATE TABLE patients (grp TEXT, arm TEXT, stage TEXT, age "
	          "INTEGER, t INTEGER, ev INTEGER); BEGIN",
	          NULL, NULL, NULL) == SQLITE_OK);
	for (size_t i = 0; i < n; i++) {
		if (sscanf(rows[i], "%7s %7s %7s %d %d %d", g, a, st, &age, &t,
		        &ev) != 6) {
			MCNT_FAIL("bad row %s", rows[i]);
			continue;
		}
		snprintf(sql, sizeof(sql),
		    "INSERT INTO patients VALUES ('%s', '%s', '%s', %d, %d, %d)",
		    g, a, st, age, t, ev);
		CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
	}
	CHECK(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
	return db;
}

/* n generated rows: grp g, arms alternating, stage i % 3, age 40 + i %
 * 30, t = t0 + 3 i, ev = (i / 2) % 2 (every other patient of each arm
 * has the event). */
static sqlite3 *
rel_gen(const char *g, int n, int t0, int extra_age)
{
	char **rows = calloc((size_t)n + 1, sizeof(*rows));
	for (int i = 0; i < n; i++) {
		rows[i] = malloc(64);
		snprintf(rows[i], 64, "%s %s s%d %d %d %d", g,
		    i % 2 ? "y" : "x", i % 3 + 1, 40 + i % 30 + extra_age,
		    t0 + 3 * i, (i / 2) % 2);
	}
	sqlite3 *db = rel_db((const char *const *)rows, (size_t)n);
	for (int i = 0; i < n; i++)
		free(rows[i]);
	free(rows);
	return db;
}

static void
test_release(void)
{
	char err[512];
	mcn_dict *d = NULL;
	mcn_query *q = NULL;
	const mcn_query_limits lim = { 100000, 3, 0 };
	mcn_query_gov gov[3];
	sqlite3 *db[3];
	struct mcn_query_result *r;

	REQUIRE_OK(mcn_dict_parse(&d, REL_DICT, strlen(REL_DICT), err,
	    sizeof(err)));
	memset(gov, 0, sizeof(gov));
	for (int i = 0; i < 3; i++) {
		gov[i].min_cell = 5;
		gov[i].min_sites = 2;
	}

	/* R1, never one site: site1 has 20 patients in group b and 30 in
	 * group c; site2 one in b; site3 none. Group b (21 from 2 sites) is
	 * released exactly, pooled; group c (30 from 1 site) is withheld for
	 * everyone, values included: no figure equals site1's own. */
	{
		const char *s2rows[] = { "b x s1 70 10 1", "a y s2 50 20 0",
			"a x s1 51 30 1", "a x s2 52 31 0", "a y s3 53 32 1",
			"a x s1 54 33 0" };
		const char *s3rows[] = { "a y s2 60 40 1", "a x s3 61 41 0",
			"a y s1 62 42 1" };
		sqlite3 *b1 = rel_gen("b", 20, 0, 0), *c1 = NULL;
		(void)c1;
		/* site1: group b 20 rows + group c 30 rows */
		db[0] = rel_gen("b", 20, 0, 0);
		sqlite3_close(b1);
		CHECK(sqlite3_exec(db[0],
		          "INSERT INTO patients SELECT 'c', arm, stage, age + 1, "
		          "t, ev FROM patients; INSERT INTO patients SELECT 'c', "
		          "arm, stage, age + 2, t, ev FROM patients WHERE grp = "
		          "'b' LIMIT 10",
		          NULL, NULL, NULL) == SQLITE_OK);
		db[1] = rel_db(s2rows, 6);
		db[2] = rel_db(s3rows, 3);
		r = release_run("SELECT count(), mean(age) FROM patients GROUP "
		                "BY grp",
		    d, &lim, db, 3, gov, NULL);
		REQUIRE(r != NULL);
		const mcn_query_output *cnt = &r->outputs[0], *mean =
		    &r->outputs[1];
		/* a: 5 + 3 = 8 from 2 sites */
		CHECK(cnt->cells[0].suppressed == 0 && cnt->cells[0].n == 8 &&
		    cnt->cells[0].sites == 2);
		CHECK_REL(mean->cells[0].value,
		    (50 + 51 + 52 + 53 + 54 + 60 + 61 + 62) / 8.0, 0, 1e-12);
		/* b: 20 + 1 = 21 from 2 sites; mean of all 21 */
		CHECK(cnt->cells[1].suppressed == 0 && cnt->cells[1].n == 21 &&
		    cnt->cells[1].sites == 2);
		double sb = 70;
		for (int i = 0; i < 20; i++)
			sb += 40 + i % 30;
		CHECK_REL(mean->cells[1].value, sb / 21, 0, 1e-12);
		/* c: site1's alone: withheld, no value */
		CHECK(cnt->cells[2].suppressed == MCNQ_REL_FEW_SITES &&
		    cnt->cells[2].null == 1 && cnt->cells[2].n == 0);
		CHECK(mean->cells[2].suppressed == MCNQ_REL_FEW_SITES &&
		    mean->cells[2].null == 1 && isnan(mean->cells[2].value));
		CHECK(strcmp(cnt->cells[2].reason, "fewer than 2 sites") == 0);
		CHECK(r->rel_k == 5 && r->rel_m == 2 && r->suppressions == 2);
		/* JSON: null value and n, the reason, the sites */
		json_t *j = mcn_query_result_json(r);
		json_t *g2 = json_array_get(json_object_get(json_array_get(
		    json_object_get(j, "results"), 1), "groups"), 2);
		CHECK(json_is_null(json_object_get(g2, "value")) &&
		    json_is_null(json_object_get(g2, "n")));
		CHECK(strcmp(json_string_value(json_object_get(g2,
		          "withheld")), "fewer than 2 sites") == 0);
		json_t *g1 = json_array_get(json_object_get(json_array_get(
		    json_object_get(j, "results"), 0), "groups"), 1);
		CHECK(json_integer_value(json_object_get(g1, "sites")) == 2 &&
		    json_integer_value(json_object_get(g1, "n")) == 21);
		json_decref(j);
		char *txt = NULL;
		size_t tl = 0;
		FILE *f = open_memstream(&txt, &tl);
		mcn_query_result_print(r, f);
		fclose(f);
		CHECK(strstr(txt, "withheld") != NULL &&
		    strstr(txt, "2 pooled cells are withheld") != NULL);
		free(txt);
		mcn_query_result_free(r);

		/* the strictest k of the contributors applies: site3 asks 9
		 * (rounded up to the ladder: 9): group a (8) is withheld */
		gov[2].min_cell = 9;
		r = release_run("SELECT count() FROM patients GROUP BY grp", d,
		    &lim, db, 3, gov, NULL);
		REQUIRE(r != NULL);
		CHECK(r->rel_k == 9);
		CHECK(r->outputs[0].cells[0].suppressed == MCNQ_REL_BELOW_K);
		CHECK(strcmp(r->outputs[0].cells[0].reason,
		          "pooled count below 9") == 0);
		CHECK(r->outputs[0].cells[1].n == 21);
		mcn_query_result_free(r);
		gov[2].min_cell = 5;

		/* the explicit per-site rule is a veto, never a zeroed
		 * contribution: site2 (1 patient in b) withholds b */
		gov[1].site_min_cell = 3;
		r = release_run("SELECT count() FROM patients GROUP BY grp", d,
		    &lim, db, 3, gov, NULL);
		REQUIRE(r != NULL);
		CHECK(r->outputs[0].cells[1].suppressed == MCNQ_REL_VETO);
		CHECK(strcmp(r->outputs[0].cells[1].reason, "site veto") == 0);
		CHECK(r->outputs[0].cells[0].n == 8); /* a: 5 and 3, >= 3 */
		mcn_query_result_free(r);
		gov[1].site_min_cell = 0;

		/* the site's vector keeps its small cell (1 row in b): no
		 * per-site zeroing */
		REQUIRE_OK(mcn_query_compile(&q,
		    "SELECT count() FROM patients GROUP BY grp", d, &lim, err,
		    sizeof(err)));
		int64_t v[16];
		CHECK_OK(mcn_query_local_gov(q, db[1], &gov[1], v, NULL, err,
		    sizeof(err)));
		CHECK(v[0] == 5 && v[1] == 1 && v[2] == 0);
		mcn_query_free(q);
		q = NULL;
		for (int i = 0; i < 3; i++)
			sqlite3_close(db[i]);
	}

	/* R2, R3: a table some sites hold only a few patients of: every
	 * pooled cell >= k, so the exact pooled chi-square; and with a small
	 * pooled cell, that cell and the smallest other are withheld and no
	 * test is computed */
	{
		db[0] = rel_gen("a", 12, 0, 0);
		db[1] = rel_gen("a", 13, 100, 0);
		db[2] = rel_gen("a", 14, 200, 0);
		r = release_run("SELECT table(arm, stage) FROM patients", d,
		    &lim, db, 3, gov, NULL);
		REQUIRE(r != NULL);
		const mcn_query_cell *c = &r->outputs[0].cells[0];
		/* pooled: arm x (i odd) by stage i % 3 over i < 12, 13, 14 */
		int64_t want[6] = { 0 };
		int ns[3] = { 12, 13, 14 };
		for (int s = 0; s < 3; s++)
			for (int i = 0; i < ns[s]; i++)
				want[(i % 2) * 3 + i % 3]++;
		int pool_ok = 1;
		for (int k = 0; k < 6; k++) {
			pool_ok &= c->counts[k] == want[k] &&
			    c->cell_suppressed[k] == 0 && c->cell_sites[k] == 3;
		}
		CHECK(pool_ok);
		double chi2, p;
		unsigned df;
		CHECK(mcn_stats_chi2_indep(want, 2, 3, &chi2, &df, &p));
		CHECK(c->has_chi2 && c->chi2_df == df);
		CHECK_REL(c->chi2, chi2, 0, 1e-12);
		CHECK_REL(c->chi2_p, p, 0, 1e-12);
		mcn_query_result_free(r);
		/* site1's first 3 patients and all of sites 2 and 3: pooled
		 * (x, y) x (s1, s2, s3) = 7 4 5 / 4 6 4; the three 4s are below
		 * k = 5; every row and column with a withheld cell gets a
		 * second one (row x: 5; column s1: 7; column s2: 6), so no
		 * margin gives a cell away: here nothing is left; no test on
		 * such a table */
		r = release_run("SELECT table(arm, stage) FROM patients WHERE "
		                "t < 9 OR t >= 100",
		    d, &lim, db, 3, gov, NULL);
		REQUIRE(r != NULL);
		c = &r->outputs[0].cells[0];
		static const int64_t wst[6] = { MCNQ_REL_SECONDARY,
			MCNQ_REL_BELOW_K, MCNQ_REL_SECONDARY, MCNQ_REL_BELOW_K,
			MCNQ_REL_SECONDARY, MCNQ_REL_BELOW_K };
		static const int64_t wcnt[6] = { 0, 0, 0, 0, 0, 0 };
		int t_ok = 1;
		for (int k = 0; k < 6; k++) {
			t_ok &= c->cell_suppressed[k] == wst[k] &&
			    c->counts[k] == wcnt[k];
		}
		CHECK(t_ok);
		CHECK(c->cell_sites[0] == 0 && c->cell_sites[4] == 0);
		CHECK(c->has_chi2 == 0 && c->reason != NULL &&
		    strstr(c->reason, "withheld parts") != NULL);
		json_t *jt = mcn_query_result_json(r);
		json_t *jg = json_array_get(json_object_get(json_array_get(
		    json_object_get(jt, "results"), 0), "groups"), 0);
		json_t *wc = json_object_get(jg, "withheld_cells");
		CHECK(json_array_size(wc) == 6 &&
		    strcmp(json_string_value(json_array_get(wc, 0)),
		        "withheld with a small cell (the total would reveal "
		        "it)") == 0 &&
		    strcmp(json_string_value(json_array_get(wc, 1)),
		        "pooled count below 5") == 0);
		mcn_query_result_free(r);
		/* 10 more patients at site3 in (y, s1) and (x, s2): 7 14 5 /
		 * 14 6 4: only (y, s3) is below k; row y gets (y, s2) = 6 as a
		 * second withheld cell, then column s2 (x, s2) = 14 and column
		 * s3 (x, s3) = 5; every line then holds 0 or 2 withheld cells,
		 * and the withheld part holds released-size cells: nothing
		 * more */
		CHECK(sqlite3_exec(db[2],
		          "INSERT INTO patients VALUES ('a', 'y', 's1', 50, 300, "
		          "0), ('a', 'y', 's1', 51, 301, 0), ('a', 'y', 's1', 52, "
		          "302, 0), ('a', 'y', 's1', 53, 303, 0), ('a', 'y', 's1', "
		          "54, 304, 0), ('a', 'y', 's1', 55, 305, 0), ('a', 'y', "
		          "'s1', 56, 306, 0), ('a', 'y', 's1', 57, 307, 0), ('a', "
		          "'y', 's1', 58, 308, 0), ('a', 'y', 's1', 59, 309, 0), "
		          "('a', 'x', 's2', 50, 310, 0), ('a', 'x', 's2', 51, 311, "
		          "0), ('a', 'x', 's2', 52, 312, 0), ('a', 'x', 's2', 53, "
		          "313, 0), ('a', 'x', 's2', 54, 314, 0), ('a', 'x', 's2', "
		          "55, 315, 0), ('a', 'x', 's2', 56, 316, 0), ('a', 'x', "
		          "'s2', 57, 317, 0), ('a', 'x', 's2', 58, 318, 0), ('a', "
		          "'x', 's2', 59, 319, 0)",
		          NULL, NULL, NULL) == SQLITE_OK);
		r = release_run("SELECT table(arm, stage) FROM patients WHERE "
		                "t < 9 OR t >= 100",
		    d, &lim, db, 3, gov, NULL);
		REQUIRE(r != NULL);
		c = &r->outputs[0].cells[0];
		static const int64_t wst2[6] = { MCNQ_REL_OK,
			MCNQ_REL_SECONDARY, MCNQ_REL_SECONDARY, MCNQ_REL_OK,
			MCNQ_REL_SECONDARY, MCNQ_REL_BELOW_K };
		static const int64_t wcnt2[6] = { 7, 0, 0, 14, 0, 0 };
		t_ok = 1;
		for (int k = 0; k < 6; k++) {
			t_ok &= c->cell_suppressed[k] == wst2[k] &&
			    c->counts[k] == wcnt2[k];
		}
		CHECK(t_ok);
		CHECK(json_is_null(json_object_get(jg, "n")));
		json_decref(jt);
		mcn_query_result_free(r);
		for (int i = 0; i < 3; i++)
			sqlite3_close(db[i]);
	}

	/* R4: Kaplan-Meier as papers publish it. Three sites of 40, about
	 * one event per distinct time; k = 3: every site has cells of 1,
	 * yet the pooled curves by arm are released while 3 or more are at
	 * risk, equal to the pooled computation, and the log-rank test is
	 * the one on all the data (nodes compute it) */
	{
		db[0] = rel_gen("a", 40, 0, 0);
		db[1] = rel_gen("a", 40, 1, 0);
		db[2] = rel_gen("a", 40, 2, 0);
		for (int i = 0; i < 3; i++)
			gov[i].min_cell = 3;
		mcn_query *qf = NULL;
		r = release_run("SELECT survival(t, ev) FROM patients GROUP BY "
		                "arm",
		    d, &lim, db, 3, gov, &q);
		REQUIRE(r != NULL);
		/* the same data with everything released (the pooled truth) */
		struct mcn_query_result *full = NULL;
		{
			const mcn_agg_layout *L = mcn_query_layout(q);
			int64_t *v = calloc(L->nvalues, sizeof(*v));
			mpz_t *s = calloc(L->nvalues, sizeof(*s));
			for (size_t i = 0; i < L->nvalues; i++)
				mpz_init(s[i]);
			for (int j = 0; j < 3; j++) {
				CHECK_OK(mcn_query_local(q, db[j], v, err,
				    sizeof(err)));
				for (size_t i = 0; i < L->nvalues; i++)
					mpz_add_ui(s[i], s[i],
					    (unsigned long)v[i]);
			}
			CHECK_OK(mcn_query_result(&full, q, (const mpz_t *)s,
			    L->nvalues, 3));
			for (size_t i = 0; i < L->nvalues; i++)
				mpz_clear(s[i]);
			free(s);
			free(v);
		}
		REQUIRE(full != NULL);
		const mcn_query_output *o = &r->outputs[0], *fo =
		    &full->outputs[0];
		for (int g = 0; g < 2; g++) {
			const mcn_query_cell *c = &o->cells[g],
					     *fc = &fo->cells[g];
			CHECK(c->suppressed == 0 && c->n == 60 && fc->n == 60);
			int64_t at = 60;
			size_t last = 0;
			int same = 1, rule = 1;
			for (size_t j = 0; j < o->npts; j++) {
				int64_t e = fc->counts[j],
					z = fc->counts[o->npts + j];
				if (c->cell_suppressed[j] == 0) {
					same &= c->surv[j] == fc->surv[j] &&
					    c->counts[j] == e;
					rule &= at >= 3 &&
					    (at - e - z == 0 || at - e - z >= 3);
					last = j;
				}
				at -= e + z;
			}
			CHECK(same && rule);
			/* released until 3 remain at risk after the point */
			int64_t after = 60;
			for (size_t j = 0; j <= last; j++)
				after -= fc->counts[j] + fc->counts[o->npts + j];
			CHECK(after >= 3 && after <= 5);
			/* events of 1 at a time are released */
			int ones = 0;
			for (size_t j = 0; j <= last; j++)
				ones += c->counts[j] == 1;
			CHECK(ones > 10);
		}
		CHECK(o->has_logrank && fo->has_logrank);
		CHECK_REL(o->logrank, fo->logrank, 0, 1e-12);
		CHECK(o->logrank_df == fo->logrank_df);
		CHECK_REL(o->logrank_p, fo->logrank_p, 0, 1e-12);
		json_t *j = mcn_query_result_json(r);
		json_t *v0 = json_object_get(json_array_get(json_object_get(
		    json_array_get(json_object_get(j, "results"), 0), "groups"),
		    0), "value");
		CHECK(json_is_integer(json_object_get(v0, "released_until")));
		json_decref(j);
		{
			char *txt = NULL;
			size_t tl = 0;
			FILE *f = open_memstream(&txt, &tl);
			mcn_query_result_print(r, f);
			fclose(f);
			CHECK(strstr(txt, "(released up to time ") != NULL &&
			    strstr(txt, "log-rank chi-square") != NULL);
			free(txt);
		}
		mcn_query_result_free(full);
		mcn_query_result_free(r);
		mcn_query_free(q);
		q = NULL;
		(void)qf;
		/* a curve of one site only: withheld whole, and no test */
		r = release_run("SELECT survival(t, ev) FROM patients GROUP BY "
		                "arm",
		    d, &lim, db, 1, gov, NULL);
		REQUIRE(r != NULL);
		CHECK(r->outputs[0].cells[0].suppressed == MCNQ_REL_FEW_SITES &&
		    r->outputs[0].cells[1].suppressed == MCNQ_REL_FEW_SITES);
		CHECK(!r->outputs[0].has_logrank);
		{
			char *txt = NULL;
			size_t tl = 0;
			FILE *f = open_memstream(&txt, &tl);
			mcn_query_result_print(r, f);
			fclose(f);
			CHECK(strstr(txt, "withheld: fewer than 2 sites") != NULL);
			free(txt);
			json_t *jw = mcn_query_result_json(r);
			CHECK(jw != NULL);
			json_decref(jw);
		}
		mcn_query_result_free(r);
		for (int i = 0; i < 3; i++)
			sqlite3_close(db[i]);
	}

	/* fits and sums that would give a small count away: a level of a
	 * categorical predictor held by 1 patient (the sums of
	 * linear(age ~ stage) contain that patient's count and age), an
	 * outcome class of 1, the 1s of a 0/1 column: withheld, with the
	 * reason; balanced ones are released */
	{
		for (int i = 0; i < 3; i++) {
			db[i] = rel_gen("a", 30, 100 * i, 0);
			CHECK(sqlite3_exec(db[i],
			          "UPDATE patients SET stage = 's1' WHERE stage = "
			          "'s3'; UPDATE patients SET ev = 0",
			          NULL, NULL, NULL) == SQLITE_OK);
		}
		CHECK(sqlite3_exec(db[0],
		          "INSERT INTO patients VALUES ('a', 'x', 's3', 97, 5, 1)",
		          NULL, NULL, NULL) == SQLITE_OK);
		for (int i = 0; i < 3; i++)
			gov[i].min_cell = 5;
		static const char *const leaky[] = {
			"SELECT linear(age ~ stage) FROM patients",
			"SELECT linear(age ~ arm + stage) FROM patients",
			"SELECT sum(ev), mean(ev) FROM patients",
			"SELECT cor(age, ev) FROM patients",
		};
		for (size_t i = 0; i < 4; i++) {
			r = release_run(leaky[i], d, &lim, db, 3, gov, NULL);
			REQUIRE(r != NULL);
			{
				char *txt = NULL;
				size_t tl = 0;
				FILE *f = open_memstream(&txt, &tl);
				mcn_query_result_print(r, f);
				fclose(f);
				CHECK(strstr(txt, "outcome class") != NULL ||
				    strstr(txt, "withheld level") != NULL);
				CHECK(strstr(txt, "(null)") == NULL);
				free(txt);
				json_t *jl = mcn_query_result_json(r);
				CHECK(jl != NULL);
				json_decref(jl);
			}
			for (size_t o = 0; o < r->noutputs; o++) {
				const mcn_query_cell *c = &r->outputs[o].cells[0];
				CHECK(c->suppressed == MCNQ_REL_LEVEL && c->null);
				if (c->suppressed != MCNQ_REL_LEVEL) {
					fprintf(stderr, "  %s: output %zu released\n",
					    leaky[i], o);
				}
			}
			mcn_query_result_free(r);
		}
		r = release_run("SELECT linear(age ~ arm), sum(t) FROM patients",
		    d, &lim, db, 3, gov, NULL);
		REQUIRE(r != NULL);
		CHECK(r->outputs[0].cells[0].suppressed == 0 &&
		    r->outputs[0].cells[0].coef != NULL &&
		    r->outputs[1].cells[0].suppressed == 0);
		mcn_query_result_free(r);
		/* logistic: the outcome class "1" holds 1 patient */
		mcn_query *lq = NULL;
		mcn_query_fit *fit = NULL;
		REQUIRE_OK(mcn_query_compile(&lq,
		    "SELECT logistic(ev ~ age) FROM patients", d, &lim, err,
		    sizeof(err)));
		REQUIRE_OK(mcn_query_fit_new(&fit, lq));
		mcn_query *sq = NULL;
		REQUIRE_OK(mcn_query_compile(&sq, mcn_query_fit_text(fit), d,
		    &lim, err, sizeof(err)));
		mpz_t *vs = NULL;
		int64_t *dec = NULL;
		size_t ndec = 0;
		int done = 0;
		REQUIRE(release_pool(sq, db, 3, gov, &vs, &dec, &ndec, NULL));
		CHECK_OK(mcn_query_fit_update_release(fit, sq, (const mpz_t *)vs,
		    mcn_query_release_layout(sq)->nvalues, dec, ndec, 3, &done));
		CHECK(done == 1);
		REQUIRE_OK(mcn_query_fit_result(&r, fit));
		CHECK(r->outputs[0].cells[0].coef == NULL &&
		    r->outputs[0].cells[0].problem != NULL &&
		    strstr(r->outputs[0].cells[0].problem, "outcome class") !=
		        NULL);
		mcn_query_result_free(r);
		release_free(sq, vs, dec, ndec);
		mcn_query_free(sq);
		mcn_query_fit_free(fit);
		mcn_query_free(lq);
		for (int i = 0; i < 3; i++)
			sqlite3_close(db[i]);
	}

	/* the joint cells that a fit's cross products expose: every level
	 * and class passes, but (arm y, stage s3) holds 1 patient, and so
	 * does (stage s3, ev 1): the fits over both are withheld; the fit
	 * without the pair is released */
	{
		for (int i = 0; i < 3; i++) {
			db[i] = rel_gen("a", 30, 100 * i, 0);
			CHECK(sqlite3_exec(db[i],
			          "UPDATE patients SET stage = 's1' WHERE arm = 'y' "
			          "AND stage = 's3'; UPDATE patients SET ev = 0 "
			          "WHERE stage = 's3'",
			          NULL, NULL, NULL) == SQLITE_OK);
		}
		CHECK(sqlite3_exec(db[0],
		          "INSERT INTO patients VALUES ('a', 'y', 's3', 97, 5, 0); "
		          "UPDATE patients SET ev = 1 WHERE rowid = (SELECT "
		          "min(rowid) FROM patients WHERE stage = 's3' AND arm = "
		          "'x')",
		          NULL, NULL, NULL) == SQLITE_OK);
		static const char *const joint[] = {
			"SELECT linear(age ~ arm + stage) FROM patients",
			"SELECT linear(age ~ stage + ev) FROM patients",
			"SELECT logistic(ev ~ stage) FROM patients",
		};
		for (size_t i = 0; i < 2; i++) {
			r = release_run(joint[i], d, &lim, db, 3, gov, NULL);
			REQUIRE(r != NULL);
			CHECK(r->outputs[0].cells[0].suppressed == MCNQ_REL_LEVEL);
			mcn_query_result_free(r);
		}
		(void)joint[2];
		r = release_run("SELECT linear(age ~ arm + ev) FROM patients", d,
		    &lim, db, 3, gov, NULL);
		REQUIRE(r != NULL);
		CHECK(r->outputs[0].cells[0].suppressed == 0);
		mcn_query_result_free(r);
		/* the decision says nothing about which cell failed */
		mcn_query *jq = NULL;
		REQUIRE_OK(mcn_query_compile(&jq, joint[0], d, &lim, err,
		    sizeof(err)));
		mpz_t *vs = NULL;
		int64_t *dec = NULL;
		size_t ndec = 0;
		REQUIRE(release_pool(jq, db, 3, gov, &vs, &dec, &ndec, NULL));
		CHECK(dec[2] == MCNQ_REL_LEVEL);
		int quiet = 1;
		for (size_t e = 5; e < ndec; e++) {
			quiet &= dec[e] == 0;
		}
		CHECK(quiet);
		release_free(jq, vs, dec, ndec);
		mcn_query_free(jq);
		for (int i = 0; i < 3; i++)
			sqlite3_close(db[i]);
	}

	/* columns of two or three values other than 0/1 (a 1/2 code, a
	 * -1/0/1 score, a real dose of 0.0 or 0.1): their sums give their
	 * per-value counts away as those of a 0/1 column do, so a value held
	 * by 1 patient withholds the mean, the variance and the fits over
	 * them (and, for a two-valued one, its joint cells with a
	 * categorical predictor); balanced ones are released exactly */
	{
		mcn_dict *d2 = NULL;
		static const char d2txt[] =
		    "{\"name\": \"rel2\", \"version\": 1, \"table\": "
		    "\"patients\", \"columns\": ["
		    "{\"name\": \"arm\", \"type\": \"categorical\", "
		    "\"levels\": [\"x\", \"y\"], \"sensitivity\": 2},"
		    "{\"name\": \"age\", \"type\": \"integer\", \"min\": 0, "
		    "\"max\": 120, \"sensitivity\": 2},"
		    "{\"name\": \"code\", \"type\": \"integer\", \"min\": 1, "
		    "\"max\": 2, \"sensitivity\": 2},"
		    "{\"name\": \"score\", \"type\": \"integer\", \"min\": -1, "
		    "\"max\": 1, \"sensitivity\": 2},"
		    "{\"name\": \"dose\", \"type\": \"real\", \"min\": 0, "
		    "\"max\": 0.1, \"decimals\": 1, \"sensitivity\": 2}]}";
		REQUIRE_OK(mcn_dict_parse(&d2, d2txt, strlen(d2txt), err,
		    sizeof(err)));
		for (int i = 0; i < 3; i++) {
			db[i] = rel_gen("a", 30, 100 * i, 0);
			/* code 1, score 1, dose 0.0 everywhere but one patient
			 * at site 1 (code 2, score -1, dose 0.1); at site 2,
			 * code 2 for every arm x patient */
			CHECK(sqlite3_exec(db[i],
			          "ALTER TABLE patients ADD COLUMN code INTEGER; "
			          "ALTER TABLE patients ADD COLUMN score INTEGER; "
			          "ALTER TABLE patients ADD COLUMN dose REAL; "
			          "UPDATE patients SET code = 1, score = 1, dose = "
			          "0.0",
			          NULL, NULL, NULL) == SQLITE_OK);
		}
		CHECK(sqlite3_exec(db[0],
		          "UPDATE patients SET code = 2, score = -1, dose = 0.1 "
		          "WHERE rowid = 1",
		          NULL, NULL, NULL) == SQLITE_OK);
		static const char *const leaky[] = {
			"SELECT mean(code) FROM patients",
			"SELECT sum(code), var(code) FROM patients",
			"SELECT var(score) FROM patients",
			"SELECT mean(score) FROM patients",
			"SELECT mean(dose) FROM patients",
			"SELECT linear(age ~ code) FROM patients",
			"SELECT linear(age ~ arm + score) FROM patients",
			"SELECT linear(age ~ dose) FROM patients",
			"SELECT cor(age, code) FROM patients",
		};
		for (size_t i = 0; i < sizeof(leaky) / sizeof(*leaky); i++) {
			r = release_run(leaky[i], d2, &lim, db, 3, gov, NULL);
			REQUIRE(r != NULL);
			for (size_t o = 0; o < r->noutputs; o++) {
				const mcn_query_cell *c = &r->outputs[o].cells[0];
				CHECK(c->suppressed == MCNQ_REL_LEVEL && c->null);
				if (c->suppressed != MCNQ_REL_LEVEL) {
					fprintf(stderr, "  %s: output %zu released\n",
					    leaky[i], o);
				}
			}
			mcn_query_result_free(r);
		}
		/* balanced marginals, but code 2 is arm x only at sites 2
		 * and 3 (17 patients): (arm y, code 2) holds the 1 patient of
		 * site 1 (rowid 1 is arm x: move her to y) */
		for (int i = 0; i < 3; i++) {
			CHECK(sqlite3_exec(db[i],
			          i == 2 ? "UPDATE patients SET code = 2 WHERE arm = "
			                   "'x'" :
			          i == 1 ? "UPDATE patients SET code = 1; UPDATE "
			                   "patients SET code = 2 WHERE rowid IN "
			                   "(1, 3)" :
			                   "UPDATE patients SET code = 1",
			          NULL, NULL, NULL) == SQLITE_OK);
		}
		CHECK(sqlite3_exec(db[0],
		          "UPDATE patients SET code = 2, arm = 'y' WHERE rowid = 1",
		          NULL, NULL, NULL) == SQLITE_OK);
		r = release_run("SELECT mean(code) FROM patients", d2, &lim, db,
		    3, gov, NULL);
		REQUIRE(r != NULL);
		/* 15 + 2 + 1 of 90 at 2: released, exact */
		CHECK(r->outputs[0].cells[0].suppressed == 0);
		CHECK_REL(r->outputs[0].cells[0].value, (72 + 2 * 18) / 90.0, 0,
		    1e-12);
		mcn_query_result_free(r);
		r = release_run("SELECT linear(age ~ arm + code) FROM patients",
		    d2, &lim, db, 3, gov, NULL);
		REQUIRE(r != NULL);
		CHECK(r->outputs[0].cells[0].suppressed == MCNQ_REL_LEVEL);
		mcn_query_result_free(r);
		/* with (arm y, code 2) at 5 patients, the fit is released */
		CHECK(sqlite3_exec(db[1],
		          "UPDATE patients SET code = 2 WHERE rowid IN (2, 4, 6, "
		          "8)",
		          NULL, NULL, NULL) == SQLITE_OK);
		r = release_run("SELECT linear(age ~ arm + code), var(score), "
		                "mean(dose) FROM patients",
		    d2, &lim, db, 3, gov, NULL);
		REQUIRE(r != NULL);
		CHECK(r->outputs[0].cells[0].suppressed == 0 &&
		    r->outputs[0].cells[0].coef != NULL);
		CHECK(r->outputs[1].cells[0].suppressed == MCNQ_REL_LEVEL);
		CHECK(r->outputs[2].cells[0].suppressed == MCNQ_REL_LEVEL);
		mcn_query_result_free(r);
		for (int i = 0; i < 3; i++)
			sqlite3_close(db[i]);
		mcn_dict_free(d2);
	}

	/* logistic steps with chosen coefficients: eta = age - 96 puts the
	 * whole weight of the step on the one patient aged 97 (p = 0.73;
	 * everyone else below 2e-12), so H_01 / H_00 would be her age and g
	 * her outcome: the weight cells withhold it (sum p < k); the first
	 * step (coefficients 0) and the fit itself are released */
	{
		for (int i = 0; i < 3; i++)
			db[i] = rel_gen("a", 30, 100 * i, 0);
		CHECK(sqlite3_exec(db[0],
		          "INSERT INTO patients VALUES ('a', 'y', 's2', 97, 5, 1)",
		          NULL, NULL, NULL) == SQLITE_OK);
		static const char *const steps[] = {
			"SELECT logistic_step(ev ~ age; -0x1.8p+6, 0x1p+0) FROM "
			"patients",
			"SELECT logistic_step(ev ~ age; 0x1.8p+6, -0x1p+0) FROM "
			"patients",
			"SELECT logistic_step(ev ~ age; -0x1.8p+8, 0x1p+2) FROM "
			"patients",
		};
		for (size_t i = 0; i < 3; i++) {
			r = release_run(steps[i], d, &lim, db, 3, gov, NULL);
			REQUIRE(r != NULL);
			CHECK(r->outputs[0].cells[0].suppressed ==
			    MCNQ_REL_WEIGHT);
			if (r->outputs[0].cells[0].suppressed != MCNQ_REL_WEIGHT) {
				fprintf(stderr, "  %s: status %d\n", steps[i],
				    (int)r->outputs[0].cells[0].suppressed);
			}
			char *txt = NULL;
			size_t tl = 0;
			FILE *f = open_memstream(&txt, &tl);
			mcn_query_result_print(r, f);
			fclose(f);
			CHECK(strstr(txt, "weight") != NULL);
			free(txt);
			mcn_query_result_free(r);
		}
		r = release_run("SELECT logistic_step(ev ~ age; 0x0p+0, 0x0p+0) "
		                "FROM patients",
		    d, &lim, db, 3, gov, NULL);
		REQUIRE(r != NULL);
		CHECK(r->outputs[0].cells[0].suppressed == 0);
		mcn_query_result_free(r);
		/* the whole fit, step by step from 0, is never withheld */
		mcn_query *lq = NULL;
		mcn_query_fit *fit = NULL;
		REQUIRE_OK(mcn_query_compile(&lq,
		    "SELECT logistic(ev ~ age + arm) FROM patients", d, &lim, err,
		    sizeof(err)));
		REQUIRE_OK(mcn_query_fit_new(&fit, lq));
		int done = 0;
		for (int it = 0; it < 30 && !done; it++) {
			mcn_query *sq = NULL;
			REQUIRE_OK(mcn_query_compile(&sq, mcn_query_fit_text(fit),
			    d, &lim, err, sizeof(err)));
			mpz_t *vs = NULL;
			int64_t *dec = NULL;
			size_t ndec = 0;
			REQUIRE(release_pool(sq, db, 3, gov, &vs, &dec, &ndec,
			    NULL));
			CHECK(dec[2] == MCNQ_REL_OK);
			CHECK_OK(mcn_query_fit_update_release(fit, sq,
			    (const mpz_t *)vs,
			    mcn_query_release_layout(sq)->nvalues, dec, ndec, 3,
			    &done));
			release_free(sq, vs, dec, ndec);
			mcn_query_free(sq);
		}
		CHECK(done == 1);
		REQUIRE_OK(mcn_query_fit_result(&r, fit));
		CHECK(r->outputs[0].cells[0].coef != NULL &&
		    r->outputs[0].cells[0].suppressed == 0);
		mcn_query_result_free(r);
		mcn_query_fit_free(fit);
		mcn_query_free(lq);
		for (int i = 0; i < 3; i++)
			sqlite3_close(db[i]);
	}

	/* outputs whose cells are sums of another's in one answer are
	 * refused: two histograms of one column, a two-way table beside a
	 * one-way table of its column */
	{
		static const char *const clash[] = {
			"SELECT histogram(age, 40, 50, 1), histogram(age, 40, 51, "
			"1) FROM patients",
			"SELECT table(arm, stage), table(arm) FROM patients",
			"SELECT table(stage), table(arm, stage) FROM patients",
		};
		for (size_t i = 0; i < 3; i++) {
			CHECK_ERR(mcn_query_compile(&q, clash[i], d, &lim, err,
			              sizeof(err)),
			    MCN_EQUERY);
			CHECK(strstr(err, "could be derived") != NULL);
		}
		REQUIRE_OK(mcn_query_compile(&q,
		    "SELECT table(arm, stage), table(grp) FROM patients", d, &lim,
		    err, sizeof(err)));
		mcn_query_free(q);
		q = NULL;
		/* the control of one cell: count, then has and veto as 0/1
		 * fields, so no site can count as several */
		REQUIRE_OK(mcn_query_compile(&q,
		    "SELECT count() FROM patients GROUP BY grp", d, &lim, err,
		    sizeof(err)));
		const mcn_agg_layout *RL = mcn_query_release_layout(q);
		CHECK(RL->nvalues == 0 && RL->nunits == 0 && RL->ncfields == 7);
		if (RL->ncfields == 7) {
			CHECK(RL->cfields[0].count == 31 + 2 &&
			    RL->cfields[0].lo == 0 && RL->cfields[0].hi == 1);
			for (size_t f = 1; f < 7; f += 2) {
				CHECK(RL->cfields[f].count == 1 &&
				    RL->cfields[f].hi == 100000);
				CHECK(RL->cfields[f + 1].count == 2 &&
				    RL->cfields[f + 1].lo == 0 &&
				    RL->cfields[f + 1].hi == 1);
			}
		}
		mcn_query_free(q);
		q = NULL;
	}

	/* the decision depends on the pooled control only, and a unit is
	 * released only with its cell */
	{
		db[0] = rel_gen("a", 10, 0, 0);
		db[1] = rel_gen("b", 10, 0, 0);
		db[2] = rel_gen("a", 2, 0, 0);
		for (int i = 0; i < 3; i++)
			gov[i].min_cell = 5;
		REQUIRE_OK(mcn_query_compile(&q,
		    "SELECT mean(age) FROM patients GROUP BY grp", d, &lim, err,
		    sizeof(err)));
		mpz_t *s = NULL;
		int64_t *dec = NULL, *dec2 = NULL;
		size_t ndec = 0, ndec2 = 0;
		uint8_t rel[3], rel2[3];
		REQUIRE(release_pool(q, db, 3, gov, &s, &dec, &ndec, rel));
		/* a: 12 of 2 sites; b: 10 of 1 site; c: nobody (0 released) */
		CHECK(rel[0] == 1 && rel[1] == 0 && rel[2] == 1);
		/* same data, same decision (deterministic) */
		mpz_t *s2 = NULL;
		REQUIRE(release_pool(q, db, 3, gov, &s2, &dec2, &ndec2, rel2));
		CHECK(ndec == ndec2 &&
		    memcmp(dec, dec2, ndec * sizeof(*dec)) == 0 &&
		    memcmp(rel, rel2, 3) == 0);
		/* a decision of another size is refused by the querier */
		CHECK_ERR(mcn_query_result_release(&r, q, (const mpz_t *)s,
		              mcn_query_release_layout(q)->nvalues, dec, ndec - 1,
		              3),
		    MCN_EINVAL);
		dec[0] = 0; /* k out of range */
		CHECK_ERR(mcn_query_result_release(&r, q, (const mpz_t *)s,
		              mcn_query_release_layout(q)->nvalues, dec, ndec, 3),
		    MCN_ERANGE);
		release_free(q, s, dec, ndec);
		release_free(q, s2, dec2, ndec2);
		mcn_query_free(q);
		q = NULL;
		for (int i = 0; i < 3; i++)
			sqlite3_close(db[i]);
	}
	mcn_dict_free(d);
}

static const char GOV_DICT[] =
    "{\"name\": \"gov\", \"version\": 1, \"table\": \"patients\", "
    "\"columns\": ["
    "{\"name\": \"age\", \"type\": \"integer\", \"min\": 0, \"max\": 120, "
    "\"sensitivity\": 2},"
    "{\"name\": \"rare\", \"type\": \"categorical\", \"levels\": [\"a\", "
    "\"b\"], \"sensitivity\": 2},"
    "{\"name\": \"t\", \"type\": \"integer\", \"min\": 0, \"max\": 9, "
    "\"sensitivity\": 2},"
    "{\"name\": \"ev\", \"type\": \"integer\", \"min\": 0, \"max\": 1, "
    "\"sensitivity\": 2},"
    "{\"name\": \"consent\", \"type\": \"categorical\", \"levels\": "
    "[\"yes\", \"no\"], \"sensitivity\": 1, \"consent\": true},"
    "{\"name\": \"consent_research\", \"type\": \"categorical\", "
    "\"levels\": [\"yes\", \"no\"], \"sensitivity\": 1, \"consent\": true, "
    "\"consent_purpose\": \"research\"}]}";

#define GOV_ROWS 400

/* Row i: age i % 100, rare 'b' for i < 3, t i % 10, ev i % 3 == 0,
 * consent 'no' when i % 10 == 7 (missing when i % 50 == 1), research
 * consent 'no' when i % 4 == 0. */
static int
gov_consents(int i, int research)
{
	if (i % 10 == 7 || i % 50 == 1) {
		return 0;
	}
	return !research || i % 4 != 0;
}

static sqlite3 *
gov_db(void)
{
	sqlite3 *db = NULL;
	char sql[256];
	if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
	    sqlite3_exec(db,
	        "CREATE TABLE patients (age INTEGER, rare TEXT, t INTEGER, "
	        "ev INTEGER, consent TEXT, consent_research TEXT); BEGIN",
	        NULL, NULL, NULL) != SQLITE_OK) {
		return db;
	}
	for (int i = 0; i < GOV_ROWS; i++) {
		snprintf(sql, sizeof(sql),
		    "INSERT INTO patients VALUES (%d, '%s', %d, %d, %s, '%s')",
		    i % 100, i < 3 ? "b" : "a", i % 10, i % 3 == 0,
		    i % 50 == 1 ? "NULL" : i % 10 == 7 ? "'no'" : "'yes'",
		    i % 4 == 0 ? "no" : "yes");
		CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
	}
	CHECK(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
	return db;
}

static void
test_governance(void)
{
	char err[512];
	mcn_dict *d = NULL;
	mcn_query *q = NULL;
	sqlite3 *db = NULL;
	int64_t v[64];
	mcn_query_gov_report rep;
	const mcn_query_limits lim = { 1000, 3, 2 };
	const int consent1[] = { 4 }, consent2[] = { 4, 5 };
	uint8_t key[32];
	memset(key, 7, sizeof(key));

	REQUIRE_OK(mcn_dict_parse(&d, GOV_DICT, strlen(GOV_DICT), err,
	    sizeof(err)));
	db = gov_db();
	REQUIRE(db != NULL);

	/* consent columns cannot be named */
	CHECK_ERR(mcn_query_compile(&q,
	              "SELECT count() FROM patients WHERE consent = 'no'", d,
	              &lim, err, sizeof(err)),
	    MCN_EQUERY);
	CHECK(strstr(err, "column 'consent' at position 36 is a consent "
	                  "column") != NULL);
	CHECK_ERR(mcn_query_compile(&q,
	              "SELECT table(consent_research) FROM patients", d, &lim,
	              err, sizeof(err)),
	    MCN_EQUERY);

	/* consent: only consenting rows count, in every aggregate */
	REQUIRE_OK(mcn_query_compile(&q,
	    "SELECT count(), sum(age) FROM patients WHERE age >= 0", d, &lim,
	    err, sizeof(err)));
	int64_t n1 = 0, s1 = 0, n2 = 0, s2 = 0;
	for (int i = 0; i < GOV_ROWS; i++) {
		if (gov_consents(i, 0)) {
			n1++;
			s1 += i % 100;
		}
		if (gov_consents(i, 1)) {
			n2++;
			s2 += i % 100;
		}
	}
	mcn_query_gov gov = { .consent_cols = consent1, .nconsent = 1 };
	CHECK_OK(mcn_query_local_gov(q, db, &gov, v, &rep, err, sizeof(err)));
	/* count, n, S1 */
	CHECK(v[0] == n1 && v[1] == n1 && v[2] == s1);
	CHECK(rep.population == (uint64_t)n1 && rep.cohort == (uint64_t)n1);
	gov.consent_cols = consent2;
	gov.nconsent = 2;
	CHECK_OK(mcn_query_local_gov(q, db, &gov, v, &rep, err, sizeof(err)));
	CHECK(v[0] == n2 && v[1] == n2 && v[2] == s2);
	CHECK_OK(mcn_query_local(q, db, v, err, sizeof(err)));
	CHECK(v[0] == GOV_ROWS); /* without governance: every row */
	mcn_query_free(q);
	q = NULL;

	/* small cells are NOT withheld by the site (that would bias the
	 * pooled sum and flag one site's figures): group 'b' (3 rows, 2
	 * consenting) goes into the vector as it is; the rule applies to the
	 * pooled cell (test_release) */
	REQUIRE_OK(mcn_query_compile(&q,
	    "SELECT count(), mean(age) FROM patients GROUP BY rare", d, &lim,
	    err, sizeof(err)));
	gov.consent_cols = consent1;
	gov.nconsent = 1;
	gov.min_cell = 10;
	CHECK_OK(mcn_query_local_gov(q, db, &gov, v, &rep, err, sizeof(err)));
	/* per group: count, n, S1 */
	CHECK_U64_EQ(mcn_query_layout(q)->nvalues, 6);
	int64_t na = 0, sa = 0;
	for (int i = 3; i < GOV_ROWS; i++) {
		if (gov_consents(i, 0)) {
			na++;
			sa += i % 100;
		}
	}
	CHECK(v[0] == na && v[1] == na && v[2] == sa);
	CHECK(v[3] == 2 && v[4] == 2 && v[5] == 0 + 2); /* rows 0 and 2 */
	CHECK_U64_EQ(rep.suppressed, 0);
	mcn_query_free(q);
	q = NULL;

	/* per cell likewise: table(rare) keeps cell b's 2 */
	REQUIRE_OK(mcn_query_compile(&q, "SELECT table(rare) FROM patients", d,
	    &lim, err, sizeof(err)));
	gov.min_cell = 10;
	CHECK_OK(mcn_query_local_gov(q, db, &gov, v, &rep, err, sizeof(err)));
	CHECK(v[0] == na && v[1] == 2);
	mcn_query_free(q);
	q = NULL;

	/* the complement rule: WHERE rare = 'a' leaves out 2 patients */
	REQUIRE_OK(mcn_query_compile(&q,
	    "SELECT count() FROM patients WHERE rare = 'a'", d, &lim, err,
	    sizeof(err)));
	CHECK_ERR(mcn_query_local_gov(q, db, &gov, v, &rep, err, sizeof(err)),
	    MCN_EREFUSED);
	CHECK(strstr(err, "leaves out fewer than 10 patients") != NULL);
	CHECK(v[0] == 0 && rep.bitmap == NULL);
	gov.min_cell = 2;
	CHECK_OK(mcn_query_local_gov(q, db, &gov, v, &rep, err, sizeof(err)));
	CHECK(v[0] == na);
	mcn_query_free(q);
	q = NULL;

	/* survival: the site's curve is never withheld by the site (a
	 * curve was withheld whole for any cell below k) */
	REQUIRE_OK(mcn_query_compile(&q,
	    "SELECT survival(t, ev) FROM patients", d, &lim, err,
	    sizeof(err)));
	gov.min_cell = 14; /* cells hold ~13 events and ~27 censored */
	CHECK_OK(mcn_query_local_gov(q, db, &gov, v, &rep, err, sizeof(err)));
	int64_t tot = 0;
	for (int i = 0; i < 20; i++) {
		tot += v[i];
	}
	CHECK(tot == n1 && v[1] > 0 && v[1] < 14); /* a cell below k, kept */
	mcn_query_free(q);
	q = NULL;

	/* the cohort bitmap: bit rowid set for each row in the cohort */
	REQUIRE_OK(mcn_query_compile(&q,
	    "SELECT count() FROM patients WHERE age < 10", d, &lim, err,
	    sizeof(err)));
	gov.min_cell = 0;
	gov.want_cohort = 1;
	CHECK_OK(mcn_query_local_gov(q, db, &gov, v, &rep, err, sizeof(err)));
	CHECK_U64_EQ(rep.nbits, GOV_ROWS + 1);
	uint64_t pop = 0;
	int bits_ok = 1;
	for (int i = 0; i < GOV_ROWS; i++) {
		int in = i % 100 < 10 && gov_consents(i, 0);
		int bit = (rep.bitmap[(i + 1) / 8] >> ((i + 1) % 8)) & 1;
		bits_ok &= in == bit;
		pop += in;
	}
	CHECK(bits_ok && rep.cohort == pop && v[0] == (int64_t)pop);
	mcn_query_gov_report_clear(&rep);
	CHECK(rep.bitmap == NULL);
	gov.want_cohort = 0;
	mcn_query_free(q);
	q = NULL;

	/* WITH EPSILON: layout widened by the share bound, noise
	 * deterministic in (key, label) */
	CHECK_ERR(mcn_query_compile(&q,
	              "SELECT cor(age, t) FROM patients WITH EPSILON 1", d,
	              &lim, err, sizeof(err)),
	    MCN_EQUERY);
	CHECK(strstr(err, "WITH EPSILON applies to count") != NULL);
	static const char *const bad_eps[] = { "0", "10.5", "0.0000001",
		"-1" };
	for (size_t i = 0; i < sizeof(bad_eps) / sizeof(*bad_eps); i++) {
		char t[128];
		snprintf(t, sizeof(t),
		    "SELECT count() FROM patients WITH EPSILON %s", bad_eps[i]);
		CHECK_ERR(mcn_query_compile(&q, t, d, &lim, err, sizeof(err)),
		    MCN_EQUERY);
	}
	REQUIRE_OK(mcn_query_compile(&q,
	    "SELECT  count(),\n mean(age) FROM patients WITH EPSILON 0.5;", d,
	    &lim, err, sizeof(err)));
	CHECK(strcmp(mcn_query_normalized(q),
	          "SELECT count(), mean(age) FROM patients WITH EPSILON "
	          "0.5") == 0);
	CHECK(mcn_query_epsilon(q) == 0.5);
	/* C = 3 components (count, n, S1): scale 3 / 0.5 = 6 for counts,
	 * 120 * 6 = 720 for S1 */
	int64_t b6 = mcn_noise_share_bound(6.0), b720 = mcn_noise_share_bound(720.0);
	const mcn_agg_layout *L = mcn_query_layout(q);
	CHECK(L->fields[0].count == 2 && L->fields[0].lo == -b6 &&
	    L->fields[0].hi == 1000 + b6);
	CHECK(L->fields[1].lo == -b720 && L->fields[1].hi == 120000 + b720);
	gov.noise_key = key;
	gov.noise_label = (const uint8_t *)"label-1";
	gov.noise_labellen = 7;
	int64_t w[8], w2[8];
	CHECK_OK(mcn_query_local_gov(q, db, &gov, w, &rep, err, sizeof(err)));
	CHECK_OK(mcn_query_local_gov(q, db, &gov, w2, &rep, err, sizeof(err)));
	CHECK(memcmp(w, w2, 3 * sizeof(*w)) == 0);
	CHECK(llabs(w[0] - n1) <= b6 && llabs(w[1] - n1) <= b6 &&
	    llabs(w[2] - s1) <= b720);
	CHECK(w[0] != n1 || w[1] != n1 || w[2] != s1); /* noise was added */
	int differs = 0;
	for (int i = 0; i < 5; i++) {
		char lab[16];
		snprintf(lab, sizeof(lab), "label-%d", i + 2);
		gov.noise_label = (const uint8_t *)lab;
		CHECK_OK(mcn_query_local_gov(q, db, &gov, w2, &rep, err,
		    sizeof(err)));
		differs += memcmp(w, w2, 3 * sizeof(*w)) != 0;
	}
	CHECK(differs == 5);
	mcn_query_free(q);
	q = NULL;

	/* querier side: noisy counts print as <10 */
	REQUIRE_OK(mcn_query_compile(&q,
	    "SELECT count() FROM patients GROUP BY rare WITH EPSILON 1", d,
	    &lim, err, sizeof(err)));
	mpz_t sums[2];
	mpz_init_set_si(sums[0], 500);
	mpz_init_set_si(sums[1], 3);
	struct mcn_query_result *r = NULL;
	REQUIRE_OK(mcn_query_result(&r, q, (const mpz_t *)sums, 2, 3));
	CHECK(r->outputs[0].cells[0].n == 500 && r->outputs[0].cells[1].n == 3);
	CHECK(r->epsilon == 1 && r->suppressions == 0);
	char *txt = NULL;
	size_t tlen = 0;
	FILE *f = open_memstream(&txt, &tlen);
	REQUIRE(f != NULL);
	mcn_query_result_print(r, f);
	fclose(f);
	CHECK(strstr(txt, "<10") != NULL && strstr(txt, "500") != NULL);
	free(txt);
	mcn_query_result_free(r);
	mpz_clear(sums[0]);
	mpz_clear(sums[1]);

	/* R6: WITH EPSILON under the release rule: the nodes decide on the
	 * noisy pooled counts (post-processing of the noisy release), the
	 * released count is the noisy pooled one; contributor counts are
	 * exact */
	{
		sqlite3 *dbs[3] = { db, db, db };
		mcn_query_gov g3[3];
		const char *labs[3] = { "s1", "s2", "s3" };
		for (int i = 0; i < 3; i++) {
			g3[i] = gov;
			g3[i].min_cell = 10;
			g3[i].min_sites = 2;
			g3[i].noise_key = key;
			g3[i].noise_label = (const uint8_t *)labs[i];
			g3[i].noise_labellen = 2;
		}
		const mcn_agg_layout *RL = mcn_query_release_layout(q);
		int64_t pooled[2] = { 0, 0 }, *pv = calloc(RL->nvalues +
		    RL->ncontrol, sizeof(*pv));
		/* params: 31 rungs of k, m = 2..3; then per group (count,
		 * has, veto) */
		const size_t c0 = RL->ncontrol - 6;
		for (int i = 0; i < 3; i++) {
			CHECK_OK(mcn_query_local_release(q, db, &g3[i], pv, NULL,
			    err, sizeof(err)));
			pooled[0] += pv[RL->nvalues + c0];
			pooled[1] += pv[RL->nvalues + c0 + 3];
			CHECK(pv[RL->nvalues + c0 + 1] == 1 &&
			    pv[RL->nvalues + c0 + 2] == 0 &&
			    pv[RL->nvalues + c0 + 4] == 1 &&
			    pv[RL->nvalues + c0 + 5] == 0);
		}
		free(pv);
		mpz_t *vs = NULL;
		int64_t *dec = NULL;
		size_t ndec = 0;
		REQUIRE(release_pool(q, dbs, 3, g3, &vs, &dec, &ndec, NULL));
		CHECK(ndec == 8 && dec[0] == 10 && dec[1] == 2);
		/* the exact contributor counts are not released under DP */
		CHECK(dec[2] == MCNQ_REL_OK && dec[3] == pooled[0] &&
		    dec[4] == 0);
		CHECK(dec[5] == (pooled[1] >= 10 ? MCNQ_REL_OK :
		                                   MCNQ_REL_BELOW_K));
		CHECK(pooled[0] != 3 * na || pooled[1] != 6); /* noisy */
		release_free(q, vs, dec, ndec);
	}
	mcn_query_free(q);
	sqlite3_close(db);
	mcn_dict_free(d);
}

MCNT_MAIN({ "stats", test_stats }, { "release", test_release }, { "queries", test_queries },
    { "names_groups", test_names_groups }, { "print_json", test_print_json },
    { "layout", test_layout }, { "limbs", test_limbs },
    { "local_errors", test_local_errors }, { "errors", test_errors },
    { "result_errors", test_result_errors }, { "fuzz", test_fuzz },
    { "alloc_failures", test_alloc_failures }, { "analyses", test_analyses },
    { "logistic", test_logistic }, { "governance", test_governance },
    { "quantile", test_quantile }, { "threads", test_threads },
    { "speed", test_speed },
    { "teardown", test_teardown })
