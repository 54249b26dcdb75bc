/*
 * tests/crypto/test_noise.c - distributed discrete-Laplace noise shares.
 *
 * Every generator here is seeded from a fixed key and label, so every
 * statistic below is a fixed number: the tolerances (6 standard errors,
 * chi-square p > 1e-4) are chosen to be meaningful, and the outcome is
 * reproducible, not flaky. The reference distributions (pmfs, moments,
 * chi-square p-values) are computed in this file from their closed forms.
 *
 * mcn_crypto does not link libm, and neither may this test: it uses the
 * module's portable mcn_noise_exp/mcn_noise_log (checked first against
 * known constants) plus the helpers below.
 */
#include "test.h"

#include "crypto/noise.h"

/* ---- helpers ------------------------------------------------------------ */

#define T_LOG_2PI_HALF 0.91893853320467274178 /* log(2 pi) / 2 */

static double
t_abs(double x)
{
	return x < 0 ? -x : x;
}

static double
t_sqrt(double x)
{
	double y;

	if (x <= 0) {
		return 0;
	}
	y = mcn_noise_exp(0.5 * mcn_noise_log(x));
	for (int i = 0; i < 3; i++) {
		y = 0.5 * (y + x / y);
	}
	return y;
}

/* |got - want| <= rel * |want| */
static int
t_near(double got, double want, double rel)
{
	return t_abs(got - want) <= rel * t_abs(want);
}

static void
t_key(uint8_t key[32], unsigned i)
{
	memset(key, 0, 32);
	key[0] = (uint8_t)i;
	key[1] = (uint8_t)(i >> 8);
	key[31] = 0x5a;
}

/* A generator for key index i and a NUL-terminated label; NULL on error. */
static mcn_noise *
t_gen(unsigned i, const char *label)
{
	uint8_t key[32];
	mcn_noise *g = NULL;

	t_key(key, i);
	if (mcn_noise_new(&g, key, (const uint8_t *)label, strlen(label)) !=
	    MCN_OK) {
		return NULL;
	}
	return g;
}

/* log Gamma(x), x > 0: recurrence up to x >= 10, then Stirling's series. */
static double
t_lgamma(double x)
{
	static const double s1 = 1.0 / 12, s3 = 1.0 / 360, s5 = 1.0 / 1260;
	static const double s7 = 1.0 / 1680, s9 = 1.0 / 1188;
	double acc = 0, r;

	while (x < 20) {
		acc -= mcn_noise_log(x);
		x += 1;
	}
	r = 1.0 / (x * x);
	return acc + (x - 0.5) * mcn_noise_log(x) - x + T_LOG_2PI_HALF +
	    (s1 - (s3 - (s5 - (s7 - s9 * r) * r) * r) * r) / x;
}

/* Q(a, x) = Gamma(a, x) / Gamma(a), the regularized upper incomplete gamma
 * function: the power series of P = 1 - Q for x < a + 1, else Legendre's
 * continued fraction for Q evaluated by the modified Lentz method. */
static double
t_gamma_q(double a, double x)
{
	double pref, sum, term, b, c, d, h, an, del;
	const double tiny = 1e-300;

	if (x <= 0) {
		return 1.0;
	}
	pref = mcn_noise_exp(-x + a * mcn_noise_log(x) - t_lgamma(a));
	if (x < a + 1) {
		sum = term = 1.0 / a;
		for (int n = 1; n < 10000; n++) {
			term *= x / (a + n);
			sum += term;
			if (term < sum * 1e-16) {
				break;
			}
		}
		return 1.0 - pref * sum;
	}
	b = x + 1 - a;
	c = 1 / tiny;
	d = 1 / b;
	h = d;
	for (int i = 1; i < 10000; i++) {
		an = -i * (i - a);
		b += 2;
		d = an * d + b;
		if (t_abs(d) < tiny) {
			d = tiny;
		}
		c = b + an / c;
		if (t_abs(c) < tiny) {
			c = tiny;
		}
		d = 1 / d;
		del = d * c;
		h *= del;
		if (t_abs(del - 1) < 1e-16) {
			break;
		}
	}
	return pref * h;
}

/* Upper tail P(chi2_df >= stat). */
static double
t_chisq_p(double stat, unsigned df)
{
	return t_gamma_q(df / 2.0, stat / 2.0);
}

/* A histogram of integer samples on [lo, hi]; samples outside are counted
 * in the end cells (the tests choose [lo, hi] so that the mass outside is
 * below 1e-12). */
struct t_hist {
	int64_t lo, hi;
	uint64_t n;
	uint64_t *cnt;
};

static int
t_hist_init(struct t_hist *h, int64_t lo, int64_t hi)
{
	h->lo = lo;
	h->hi = hi;
	h->n = 0;
	h->cnt = calloc((size_t)(hi - lo + 1), sizeof(*h->cnt));
	return h->cnt != NULL;
}

static void
t_hist_add(struct t_hist *h, int64_t z)
{
	z = z < h->lo ? h->lo : z > h->hi ? h->hi : z;
	h->cnt[z - h->lo]++;
	h->n++;
}

/*
 * Pearson's chi-square goodness of fit of h against pmf: cells are scanned
 * from lo upwards and merged until each has expected count >= 5 (a short
 * last cell joins the one before). Returns the p-value; *dfout = cells - 1.
 */
static double
t_hist_chisq(const struct t_hist *h, double (*pmf)(int64_t, const void *),
    const void *ctx, unsigned *dfout)
{
	double stat = 0, e = 0, o = 0, le = 0, lo_ = 0;
	unsigned cells = 0;

	for (int64_t z = h->lo; z <= h->hi; z++) {
		e += (double)h->n * pmf(z, ctx);
		o += (double)h->cnt[z - h->lo];
		if (e >= 5 || z == h->hi) {
			if (e < 5 && cells > 0) {
				/* fold the short tail into the last cell */
				stat -= (lo_ - le) * (lo_ - le) / le;
				e += le;
				o += lo_;
				cells--;
			}
			stat += (o - e) * (o - e) / e;
			cells++;
			le = e;
			lo_ = o;
			e = o = 0;
		}
	}
	*dfout = cells - 1;
	return t_chisq_p(stat, cells - 1);
}

/* Running moments of samples x, centred at a reference value c (the
 * expected mean) so that huge means keep their precision. */
struct t_mom {
	double c, s1, s2;
	uint64_t n;
};

static void
t_mom_add(struct t_mom *m, double x)
{
	double d = x - m->c;

	m->s1 += d;
	m->s2 += d * d;
	m->n++;
}

static double
t_mom_mean(const struct t_mom *m)
{
	return m->c + m->s1 / (double)m->n;
}

static double
t_mom_var(const struct t_mom *m)
{
	double n = (double)m->n, d = m->s1 / n;

	return (m->s2 / n - d * d) * n / (n - 1);
}

/* The sample mean and variance are within 6 standard errors of mean and
 * var, given the distribution's fourth central moment mu4. */
static int
t_mom_ok(const struct t_mom *m, double mean, double var, double mu4)
{
	double n = (double)m->n;
	double se_mean = t_sqrt(var / n);
	double se_var = t_sqrt((mu4 - var * var) / n);
	double gm = t_mom_mean(m), gv = t_mom_var(m);

	if (t_abs(gm - mean) > 6 * se_mean || t_abs(gv - var) > 6 * se_var) {
		fprintf(stderr,
		    "  mean %.10g (want %.10g, se %.3g), "
		    "var %.10g (want %.10g, se %.3g)\n",
		    gm, mean, se_mean, gv, var, se_var);
		return 0;
	}
	return 1;
}

/* Discrete Laplace / share moments. A share is P1 - P2 with P ~ NB(r, a);
 * the cumulants of NB(r, a) are r times those of Geometric: k2 = a/(1-a)^2,
 * k4 = a (1 + 4a + a^2)/(1-a)^4. The difference doubles even cumulants; the
 * fourth central moment is k4 + 3 k2^2. r = 1 is the discrete Laplace. */
static void
t_dlap_moments(double scale, double r, double *var, double *mu4)
{
	double a = mcn_noise_exp(-1.0 / scale), q = 1 - a;
	double k2 = 2 * r * a / (q * q);
	double k4 = 2 * r * a * (1 + 4 * a + a * a) / (q * q * q * q);

	*var = k2;
	*mu4 = k4 + 3 * k2 * k2;
}

static double
t_dlap_pmf(int64_t z, const void *ctx)
{
	double a = *(const double *)ctx;
	double az =
	    mcn_noise_exp((z < 0 ? (double)-z : (double)z) * mcn_noise_log(a));

	return (1 - a) / (1 + a) * az;
}

static double
t_poisson_pmf(int64_t k, const void *ctx)
{
	double lambda = *(const double *)ctx;

	if (k < 0) {
		return 0;
	}
	return mcn_noise_exp(-lambda + (double)k * mcn_noise_log(lambda) -
	    t_lgamma((double)k + 1));
}

/* ---- tests -------------------------------------------------------------- */

static void
test_elementary(void)
{
	static const struct {
		double x, e;
	} ex[] = {
		{ 1.0, 2.718281828459045 },
		{ -1.0, 0.36787944117144233 },
		{ 0.5, 1.6487212707001282 },
		{ 1e-10, 1.0000000001 },
		{ 10.0, 22026.465794806718 },
		{ -20.0, 2.061153622438558e-09 },
		{ 100.0, 2.6881171418161356e+43 },
		{ 709.0, 8.218407461554972e+307 },
		{ -700.0, 9.85967654375977e-305 },
		{ -1.0 / 2.5, 0.6703200460356393 },
	};
	static const struct {
		double x, l;
	} lx[] = {
		{ 2.0, 0.6931471805599453 },
		{ 10.0, 2.302585092994046 },
		{ 0.5, -0.6931471805599453 },
		{ 1.0000001, 9.999999505838704e-08 },
		{ 0.9999999, -1.0000000494736474e-07 },
		{ 1.4142, 0.3465640001880033 },
		{ 1e-300, -690.7755278982137 },
		{ 1e300, 690.7755278982137 },
		{ 3e-320, -735.7286286023058 }, /* subnormal */
		{ 1e15, 34.538776394910684 },
	};

	CHECK(mcn_noise_exp(0.0) == 1.0);
	CHECK(mcn_noise_log(1.0) == 0.0);
	for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		CHECK(t_near(mcn_noise_exp(ex[i].x), ex[i].e, 1e-15));
	}
	for (size_t i = 0; i < sizeof(lx) / sizeof(lx[0]); i++) {
		CHECK(t_near(mcn_noise_log(lx[i].x), lx[i].l, 1e-15));
	}
	CHECK(mcn_noise_exp(710.0) == __builtin_inf());
	CHECK(mcn_noise_exp(-746.0) == 0.0);
	CHECK(mcn_noise_exp(-745.0) > 0.0); /* the smallest subnormal */
	CHECK(mcn_noise_log(0.0) == -__builtin_inf());
	CHECK(mcn_noise_log(__builtin_inf()) == __builtin_inf());
	CHECK(mcn_noise_log(-1.0) != mcn_noise_log(-1.0)); /* NaN */
	CHECK(mcn_noise_exp(__builtin_nan("")) !=
	    mcn_noise_exp(__builtin_nan("")));
	/* Round trips over a grid. */
	for (double x = -700; x < 700; x += 0.37) {
		double y = mcn_noise_log(mcn_noise_exp(x));
		if (!(t_abs(y - x) <= 4e-16 * (t_abs(x) > 1 ? t_abs(x) : 1))) {
			MCNT_FAIL("log(exp(%.17g)) = %.17g", x, y);
			break;
		}
	}
	CHECK(1);
	/* The helpers built on them. */
	CHECK(t_near(t_sqrt(2.0), 1.4142135623730951, 3e-16));
	CHECK(t_near(t_lgamma(0.5), 0.5723649429247001, 1e-14));
	CHECK(t_near(t_lgamma(101.0), 363.73937555556347, 1e-15));
	CHECK(t_near(t_chisq_p(2.0, 2), 0.36787944117144233, 1e-13));
	CHECK(t_near(t_chisq_p(3.841458820694124, 1), 0.05, 1e-10));
	CHECK(t_near(t_chisq_p(18.307038053275146, 10), 0.05, 1e-10));
	CHECK(t_near(t_chisq_p(124.34211340400407, 100), 0.05, 1e-9));
}

static void
test_determinism(void)
{
	mcn_noise *g1 = t_gen(1, "q1"), *g2 = t_gen(1, "q1");
	mcn_noise *g3 = t_gen(1, "q2"), *g4 = t_gen(2, "q1");
	mcn_noise *g5 = NULL, *g6 = NULL;
	uint8_t key[32];
	double u1, u2, u3, u4;
	int64_t s1, s2, s3, s4;
	int same12 = 1, same13 = 0, same14 = 0, same34 = 0, shares12 = 1;
	int shares13 = 0;

	if (g1 == NULL || g2 == NULL || g3 == NULL || g4 == NULL) {
		MCNT_FAIL("mcn_noise_new");
		goto out;
	}
	for (int i = 0; i < 1000; i++) {
		REQUIRE_OK(mcn_noise_uniform(g1, &u1));
		REQUIRE_OK(mcn_noise_uniform(g2, &u2));
		REQUIRE_OK(mcn_noise_uniform(g3, &u3));
		REQUIRE_OK(mcn_noise_uniform(g4, &u4));
		same12 &= u1 == u2;
		same13 += u1 == u3;
		same14 += u1 == u4;
		same34 += u3 == u4;
	}
	CHECK(same12);
	CHECK(same13 == 0 && same14 == 0 && same34 == 0);
	for (int i = 0; i < 1000; i++) {
		REQUIRE_OK(mcn_noise_dlap_share(g1, 40.0, 3, &s1));
		REQUIRE_OK(mcn_noise_dlap_share(g2, 40.0, 3, &s2));
		REQUIRE_OK(mcn_noise_dlap_share(g3, 40.0, 3, &s3));
		REQUIRE_OK(mcn_noise_dlap_share(g4, 40.0, 3, &s4));
		shares12 &= s1 == s2;
		shares13 += s1 == s3 && s1 == s4;
	}
	CHECK(shares12);
	CHECK(shares13 < 100); /* P(s1 == s3) is about 0.04 */

	/* An empty label is allowed, with or without a pointer, and is not
	 * the same as a one-byte label. */
	t_key(key, 1);
	REQUIRE_OK(mcn_noise_new(&g5, key, NULL, 0));
	REQUIRE_OK(mcn_noise_new(&g6, key, (const uint8_t *)"", 0));
	REQUIRE_OK(mcn_noise_uniform(g5, &u1));
	REQUIRE_OK(mcn_noise_uniform(g6, &u2));
	CHECK(u1 == u2);
	mcn_noise_free(g6);
	g6 = t_gen(1, "x");
	REQUIRE_OK(mcn_noise_uniform(g6, &u3));
	CHECK(u1 != u3);
out:
	mcn_noise_free(g1);
	mcn_noise_free(g2);
	mcn_noise_free(g3);
	mcn_noise_free(g4);
	mcn_noise_free(g5);
	mcn_noise_free(g6);
}

/* Known answers: the stream of (key 7, "golden") is pinned, so a change to
 * the key schedule, the uniform mapping or any sampler shows up here. The
 * four uniforms were checked against an independent implementation
 * (Python hmac/hashlib HKDF-SHA256 and a from-scratch ChaCha20 block). */
static void
test_golden(void)
{
	static const uint64_t want_u[4] = {
		0x3fe8af5dac2a1c7dULL, /* 0.77140697122457846 */
		0x3fbb66782a31ccf0ULL, /* 0.1070323088659284 */
		0x3fefd6dbfa50a19dULL, /* 0.99497794046060373 */
		0x3fea2e5759d3bd6aULL, /* 0.81815688652379248 */
	};
	static const int64_t want_s[10] = { -1, 0, -1, 0, 0, 1, -7, 0, 2, 5 };
	static const double scales[5] = { 2.5, 0, 1000.0, 1e12, 0.7 };
	static const int64_t want_v[5] = { 0, 0, -36, -991903832, 0 };
	mcn_noise *g = t_gen(7, "golden");
	double u;
	int64_t s, v[5];

	if (g == NULL) {
		MCNT_FAIL("mcn_noise_new");
		return;
	}
	for (int i = 0; i < 4; i++) {
		uint64_t bits;
		CHECK_OK(mcn_noise_uniform(g, &u));
		memcpy(&bits, &u, sizeof(bits));
		CHECK_U64_EQ(bits, want_u[i]);
	}
	for (int i = 0; i < 10; i++) {
		CHECK_OK(mcn_noise_dlap_share(g, 2.5, 3, &s));
		CHECK_U64_EQ(s, want_s[i]);
	}
	CHECK_OK(mcn_noise_dlap_shares(g, scales, 5, 4, v));
	for (int i = 0; i < 5; i++) {
		CHECK_U64_EQ(v[i], want_v[i]);
	}
	mcn_noise_free(g);
}

static void
test_uniform(void)
{
	mcn_noise *g = t_gen(3, "uniform");
	struct t_mom m = { 0.5, 0, 0, 0 };
	double u, umin = 1, umax = 0;

	if (g == NULL) {
		MCNT_FAIL("mcn_noise_new");
		return;
	}
	for (int i = 0; i < 200000; i++) {
		REQUIRE_OK(mcn_noise_uniform(g, &u));
		umin = u < umin ? u : umin;
		umax = u > umax ? u : umax;
		t_mom_add(&m, u);
	}
	CHECK(umin > 0 && umax < 1);
	/* U(0,1): var 1/12, fourth central moment 1/80. */
	CHECK(t_mom_ok(&m, 0.5, 1.0 / 12, 1.0 / 80));
	mcn_noise_free(g);
}

static void
test_gamma(void)
{
	static const struct {
		double shape, scale;
	} cs[] = {
		{ 0.1, 1 },
		{ 0.5, 1 },
		{ 1, 1 },
		{ 3.7, 1 },
		{ 50, 1 },
		{ 3.7, 2.0 },
		{ 1.0 / 1024, 1 },
	};
	mcn_noise *g = t_gen(4, "gamma");
	double x;

	if (g == NULL) {
		MCNT_FAIL("mcn_noise_new");
		return;
	}
	for (size_t c = 0; c < sizeof(cs) / sizeof(cs[0]); c++) {
		double k = cs[c].shape, th = cs[c].scale;
		/* Gamma(k, th): mean k th, var k th^2, mu4 (3k^2 + 6k) th^4. */
		double var = k * th * th;
		double mu4 = (3 * k * k + 6 * k) * th * th * th * th;
		struct t_mom m = { k * th, 0, 0, 0 };
		int neg = 0;

		for (int i = 0; i < 200000; i++) {
			REQUIRE_OK(mcn_noise_gamma(g, k, th, &x));
			neg += !(x >= 0);
			t_mom_add(&m, x);
		}
		CHECK(neg == 0);
		if (!t_mom_ok(&m, k * th, var, mu4)) {
			MCNT_FAIL("gamma shape %g scale %g", k, th);
		}
	}
	CHECK_ERR(mcn_noise_gamma(g, 0, 1, &x), MCN_EINVAL);
	CHECK_ERR(mcn_noise_gamma(g, -1, 1, &x), MCN_EINVAL);
	CHECK_ERR(mcn_noise_gamma(g, __builtin_nan(""), 1, &x), MCN_EINVAL);
	CHECK_ERR(mcn_noise_gamma(g, __builtin_inf(), 1, &x), MCN_EINVAL);
	CHECK_ERR(mcn_noise_gamma(g, 1, 0, &x), MCN_EINVAL);
	CHECK_ERR(mcn_noise_gamma(g, 1, -2, &x), MCN_EINVAL);
	CHECK_ERR(mcn_noise_gamma(g, 1, __builtin_inf(), &x), MCN_EINVAL);
	x = 5;
	CHECK_ERR(mcn_noise_gamma(g, 1e300, 1e300, &x), MCN_ERANGE);
	CHECK(x == 0);
	mcn_noise_free(g);
}

static void
test_poisson(void)
{
	static const struct {
		double lambda;
		int n;
	} cs[] = {
		{ 0.3, 200000 }, { 4, 200000 }, { 9.99, 100000 },
		{ 10, 100000 }, { 37, 200000 }, { 1e3, 200000 },
		{ 1e6, 200000 }, { 1e12, 200000 },
		{ 1e15, 20000 }, /* above 2^48: a sum of 4 parts */
	};
	mcn_noise *g = t_gen(5, "poisson");
	struct t_hist h;
	unsigned df;
	double lambda = 4, p;
	int64_t k;

	if (g == NULL) {
		MCNT_FAIL("mcn_noise_new");
		return;
	}
	for (size_t c = 0; c < sizeof(cs) / sizeof(cs[0]); c++) {
		double l = cs[c].lambda;
		struct t_mom m = { l, 0, 0, 0 };
		int neg = 0;

		for (int i = 0; i < cs[c].n; i++) {
			REQUIRE_OK(mcn_noise_poisson(g, l, &k));
			neg += k < 0;
			t_mom_add(&m, (double)k);
		}
		CHECK(neg == 0);
		/* Poisson: var lambda, mu4 = lambda (1 + 3 lambda). */
		if (!t_mom_ok(&m, l, l, l * (1 + 3 * l))) {
			MCNT_FAIL("poisson lambda %g", l);
		}
	}

	/* Goodness of fit at lambda = 4 against the exact pmf. */
	if (!t_hist_init(&h, 0, 60)) {
		MCNT_FAIL("calloc");
		goto out;
	}
	for (int i = 0; i < 200000; i++) {
		REQUIRE_OK(mcn_noise_poisson(g, lambda, &k));
		t_hist_add(&h, k);
	}
	p = t_hist_chisq(&h, t_poisson_pmf, &lambda, &df);
	fprintf(stderr, "  poisson(4) chi2 p = %.4g, df %u\n", p, df);
	CHECK(df >= 12);
	CHECK(p > 1e-4);
	free(h.cnt);

	/* Domain. */
	k = 5;
	CHECK_OK(mcn_noise_poisson(g, 0, &k));
	CHECK(k == 0);
	CHECK_ERR(mcn_noise_poisson(g, -1, &k), MCN_EINVAL);
	CHECK_ERR(mcn_noise_poisson(g, __builtin_nan(""), &k), MCN_EINVAL);
	k = 5;
	CHECK_ERR(mcn_noise_poisson(g, __builtin_inf(), &k), MCN_ERANGE);
	CHECK(k == 0);
	CHECK_ERR(mcn_noise_poisson(g, 5e18, &k), MCN_ERANGE);
	/* The largest accepted mean: 2^14 parts, all summed. */
	CHECK_OK(mcn_noise_poisson(g, MCN_NOISE_MAX_POISSON, &k));
	CHECK(t_abs((double)k - MCN_NOISE_MAX_POISSON) <
	    6 * t_sqrt(MCN_NOISE_MAX_POISSON));
out:
	mcn_noise_free(g);
}

/*
 * The main property: m parties with different keys each add one share;
 * the totals are discrete Laplace(scale).
 */
static void
t_dlap_case(double scale, unsigned m, int n, int64_t range, unsigned mindf)
{
	mcn_noise *g[10] = { NULL };
	double a = mcn_noise_exp(-1.0 / scale), var, mu4, svar, smu4, p;
	struct t_mom tm = { 0, 0, 0, 0 }, sm = { 0, 0, 0, 0 };
	struct t_hist th = { 0, 0, 0, NULL }, sh = { 0, 0, 0, NULL };
	int64_t bound = mcn_noise_share_bound(scale), s, tot;
	unsigned df;
	int over = 0;

	MCN_MUST(m <= 10);
	for (unsigned j = 0; j < m; j++) {
		if ((g[j] = t_gen(100 + j, "dlap")) == NULL) {
			MCNT_FAIL("mcn_noise_new");
			goto out;
		}
	}
	if (!t_hist_init(&th, -range, range) ||
	    !t_hist_init(&sh, -range, range)) {
		MCNT_FAIL("calloc");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		tot = 0;
		for (unsigned j = 0; j < m; j++) {
			if (mcn_noise_dlap_share(g[j], scale, m, &s) !=
			    MCN_OK) {
				MCNT_FAIL("dlap_share");
				goto out;
			}
			over += s > bound || s < -bound;
			if (j == 0) {
				t_mom_add(&sm, (double)s);
				t_hist_add(&sh, s);
			}
			tot += s;
		}
		t_mom_add(&tm, (double)tot);
		t_hist_add(&th, tot);
	}
	CHECK(over == 0);
	t_dlap_moments(scale, 1.0, &var, &mu4);
	t_dlap_moments(scale, 1.0 / m, &svar, &smu4);
	if (!t_mom_ok(&tm, 0, var, mu4)) {
		MCNT_FAIL("totals: scale %g m %u", scale, m);
	}
	if (!t_mom_ok(&sm, 0, svar, smu4)) {
		MCNT_FAIL("shares: scale %g m %u", scale, m);
	}
	p = t_hist_chisq(&th, t_dlap_pmf, &a, &df);
	fprintf(stderr, "  scale %g m %u: totals chi2 p = %.4g (df %u)", scale,
	    m, p, df);
	CHECK(df >= mindf);
	CHECK(p > 1e-4);
	p = t_hist_chisq(&sh, t_dlap_pmf, &a, &df);
	fprintf(stderr, ", one party's shares p = %.4g\n", p);
	if (m == 1) {
		CHECK(p > 1e-4); /* one share is the whole noise */
	} else {
		CHECK(p < 1e-30); /* a share alone is not discrete Laplace */
		CHECK(t_mom_var(&sm) < 0.6 * var);
	}
out:
	for (unsigned j = 0; j < m; j++) {
		mcn_noise_free(g[j]);
	}
	free(th.cnt);
	free(sh.cnt);
}

static void
test_dlap_sum(void)
{
	t_dlap_case(2.5, 1, 100000, 200, 40);
	t_dlap_case(2.5, 3, 100000, 200, 40);
	t_dlap_case(2.5, 10, 100000, 200, 40);
	t_dlap_case(0.4, 5, 50000, 100, 6);
	t_dlap_case(30.0, 4, 50000, 2000, 300);
}

/* Large scales: moments only (the chi-square would need huge tables). */
static void
test_dlap_large(void)
{
	static const double scales[] = { 1e6, 1e12, 1e15 };
	mcn_noise *g[3] = { NULL, NULL, NULL };
	int64_t s, tot;

	for (unsigned j = 0; j < 3; j++) {
		if ((g[j] = t_gen(200 + j, "large")) == NULL) {
			MCNT_FAIL("mcn_noise_new");
			goto out;
		}
	}
	for (size_t c = 0; c < sizeof(scales) / sizeof(scales[0]); c++) {
		double var, mu4;
		int64_t bound = mcn_noise_share_bound(scales[c]);
		struct t_mom m = { 0, 0, 0, 0 };
		int over = 0;

		for (int i = 0; i < 5000; i++) {
			tot = 0;
			for (unsigned j = 0; j < 3; j++) {
				REQUIRE_OK(mcn_noise_dlap_share(g[j], scales[c],
				    3, &s));
				over += s > bound || s < -bound;
				tot += s;
			}
			t_mom_add(&m, (double)tot);
		}
		CHECK(over == 0);
		t_dlap_moments(scales[c], 1.0, &var, &mu4);
		if (!t_mom_ok(&m, 0, var, mu4)) {
			MCNT_FAIL("large scale %g", scales[c]);
		}
	}
out:
	for (unsigned j = 0; j < 3; j++) {
		mcn_noise_free(g[j]);
	}
}

/* P(|Z| > b) for discrete Laplace(scale): 2 a^(b+1) / (1 + a), as log2. */
static double
t_tail_log2(double scale, int64_t b)
{
	double a = mcn_noise_exp(-1.0 / scale);

	return (mcn_noise_log(2.0 / (1 + a)) - ((double)b + 1) / scale) /
	    0.6931471805599453;
}

static void
test_bound(void)
{
	static const double sc[] = { 1e-3, 0.05, 0.5, 1, 2.5, 7, 100, 12345.6,
		1e6, 1e9, 1e12, 1e15 };
	mcn_noise *g = t_gen(6, "bound");
	int64_t b, prev = 0, s, maxabs = 0, slack;
	int mono = 1;

	if (g == NULL) {
		MCNT_FAIL("mcn_noise_new");
		return;
	}
	/* B meets the 2^-60 target and is within 3 + B/1e9 of the least
	 * integer that does. */
	for (size_t i = 0; i < sizeof(sc) / sizeof(sc[0]); i++) {
		b = mcn_noise_share_bound(sc[i]);
		CHECK(b >= 1);
		CHECK(t_tail_log2(sc[i], b) < -60);
		slack = 3 + b / 1000000000;
		if (b > slack) {
			CHECK(t_tail_log2(sc[i], b - slack) >= -60);
		}
	}
	CHECK(mcn_noise_share_bound(0.5) == 23);
	CHECK(mcn_noise_share_bound(2.5) == 106);
	CHECK(mcn_noise_share_bound(1e-3) == 2);
	/* About 60 ln 2 * scale = 41.59 scale for large scales. */
	CHECK(mcn_noise_share_bound(1e12) > 41588830833596 &&
	    mcn_noise_share_bound(1e12) < 41588830833596 + 100);
	CHECK(mcn_noise_share_bound(1e15) > 41588830833596000 &&
	    mcn_noise_share_bound(1e15) < 41588830833596000 + 100000);
	CHECK(mcn_noise_share_bound(1e15) < INT64_MAX / 128);
	CHECK(mcn_noise_share_bound(0) == 0);
	CHECK(mcn_noise_share_bound(-1) == MCN_NOISE_BOUND_CAP);
	CHECK(mcn_noise_share_bound(__builtin_nan("")) == MCN_NOISE_BOUND_CAP);
	CHECK(mcn_noise_share_bound(__builtin_inf()) == MCN_NOISE_BOUND_CAP);
	CHECK(mcn_noise_share_bound(2e15) == MCN_NOISE_BOUND_CAP);
	/* Non-decreasing in scale over a fine log grid. */
	for (double x = 1e-4; x <= 1e15; x *= 1.01) {
		b = mcn_noise_share_bound(x);
		mono &= b >= prev;
		prev = b;
	}
	CHECK(mono);

	/* 1M one-party draws at a small scale stay within B = 23, and the
	 * largest seen is plausible: P(|Z| > 9) is about 5e-10, P(|Z| > 3)
	 * about 6e-4. */
	for (int i = 0; i < 1000000; i++) {
		REQUIRE_OK(mcn_noise_dlap_share(g, 0.5, 1, &s));
		s = s < 0 ? -s : s;
		maxabs = s > maxabs ? s : maxabs;
	}
	CHECK(maxabs <= 23);
	CHECK(maxabs >= 4 && maxabs < 10);

	/* Tiny scales: a = exp(-1000) = 0, so no noise at all. */
	s = 99;
	CHECK_OK(mcn_noise_dlap_share(g, 1e-3, 1, &s));
	CHECK(s == 0);
	CHECK_OK(mcn_noise_dlap_share(g, 1e-300, 7, &s));
	CHECK(s == 0);
	mcn_noise_free(g);
}

static void
test_shares_vector(void)
{
	static const double scales[6] = { 2.5, 0, 10.0, 1e9, 0, 0.3 };
	static const double bad[3] = { 1.0, -1.0, 2.0 };
	mcn_noise *g1 = t_gen(8, "vec"), *g2 = t_gen(8, "vec");
	int64_t v[6], w;
	int same = 1;

	if (g1 == NULL || g2 == NULL) {
		MCNT_FAIL("mcn_noise_new");
		goto out;
	}
	/* The vector call equals the sequential single calls. */
	CHECK_OK(mcn_noise_dlap_shares(g1, scales, 6, 5, v));
	for (int i = 0; i < 6; i++) {
		if (scales[i] == 0) {
			CHECK(v[i] == 0);
			continue;
		}
		CHECK_OK(mcn_noise_dlap_share(g2, scales[i], 5, &w));
		same &= v[i] == w;
	}
	CHECK(same);
	CHECK(v[3] != 0); /* P(0) at scale 1e9 is negligible */
	/* Checked before drawing: no output, no stream consumed. */
	memset(v, 0x55, sizeof(v));
	CHECK_ERR(mcn_noise_dlap_shares(g1, bad, 3, 5, v), MCN_EINVAL);
	CHECK(v[0] == 0 && v[1] == 0 && v[2] == 0);
	CHECK_ERR(mcn_noise_dlap_shares(g1, scales, 6, 0, v), MCN_EINVAL);
	CHECK_ERR(mcn_noise_dlap_shares(g1, scales, 6, 1025, v), MCN_EINVAL);
	CHECK_OK(mcn_noise_dlap_shares(g1, scales, 0, 5, v));
	CHECK_OK(mcn_noise_dlap_shares(g1, NULL, 0, 5, NULL));
	CHECK_OK(mcn_noise_dlap_share(g1, 3.0, 2, &v[0]));
	CHECK_OK(mcn_noise_dlap_share(g2, 3.0, 2, &w));
	CHECK(v[0] == w);
out:
	mcn_noise_free(g1);
	mcn_noise_free(g2);
}

static void
test_bad_input(void)
{
	static uint8_t label[MCN_NOISE_MAX_LABEL + 1];
	mcn_noise *g = NULL;
	uint8_t key[32];
	int64_t s;
	double sc;

	t_key(key, 9);
	g = (mcn_noise *)1;
	CHECK_ERR(mcn_noise_new(&g, NULL, label, 4), MCN_EINVAL);
	CHECK(g == NULL);
	CHECK_ERR(mcn_noise_new(&g, key, NULL, 4), MCN_EINVAL);
	CHECK_ERR(mcn_noise_new(&g, key, label, MCN_NOISE_MAX_LABEL + 1),
	    MCN_EINVAL);
	CHECK(g == NULL);
	REQUIRE_OK(mcn_noise_new(&g, key, label, MCN_NOISE_MAX_LABEL));

	s = 7;
	CHECK_ERR(mcn_noise_dlap_share(g, 0, 3, &s), MCN_EINVAL);
	CHECK(s == 0);
	CHECK_ERR(mcn_noise_dlap_share(g, -1, 3, &s), MCN_EINVAL);
	CHECK_ERR(mcn_noise_dlap_share(g, __builtin_nan(""), 3, &s),
	    MCN_EINVAL);
	CHECK_ERR(mcn_noise_dlap_share(g, __builtin_inf(), 3, &s), MCN_EINVAL);
	CHECK_ERR(mcn_noise_dlap_share(g, -__builtin_inf(), 3, &s), MCN_EINVAL);
	CHECK_ERR(mcn_noise_dlap_share(g, 1.0000001e15, 3, &s), MCN_EINVAL);
	CHECK_ERR(mcn_noise_dlap_share(g, 2.5, 0, &s), MCN_EINVAL);
	CHECK_ERR(mcn_noise_dlap_share(g, 2.5, 1025, &s), MCN_EINVAL);
	CHECK_OK(mcn_noise_dlap_share(g, MCN_NOISE_MAX_SCALE, 1024, &s));
	CHECK_OK(mcn_noise_dlap_share(g, 2.5, 1024, &s));

	CHECK_OK(mcn_noise_scale(1, 0.5, &sc));
	CHECK(sc == 2.0);
	CHECK_OK(mcn_noise_scale(3, 0.1, &sc));
	CHECK(sc == 3 / 0.1);
	sc = 1;
	CHECK_ERR(mcn_noise_scale(1, 0, &sc), MCN_EINVAL);
	CHECK(sc == 0);
	CHECK_ERR(mcn_noise_scale(0, 1, &sc), MCN_EINVAL);
	CHECK_ERR(mcn_noise_scale(-1, 1, &sc), MCN_EINVAL);
	CHECK_ERR(mcn_noise_scale(1, -1, &sc), MCN_EINVAL);
	CHECK_ERR(mcn_noise_scale(__builtin_nan(""), 1, &sc), MCN_EINVAL);
	CHECK_ERR(mcn_noise_scale(1, __builtin_nan(""), &sc), MCN_EINVAL);
	CHECK_ERR(mcn_noise_scale(__builtin_inf(), 1, &sc), MCN_EINVAL);
	CHECK_ERR(mcn_noise_scale(1, __builtin_inf(), &sc), MCN_EINVAL);
	CHECK_ERR(mcn_noise_scale(1e16, 1, &sc), MCN_EINVAL);
	CHECK_ERR(mcn_noise_scale(1e300, 1e-300, &sc), MCN_EINVAL);
	CHECK_ERR(mcn_noise_scale(1e-300, 1e300, &sc), MCN_EINVAL);
	mcn_noise_free(g);
	mcn_noise_free(NULL);
}

static void
test_alloc_failure(void)
{
	uint8_t key[32];
	mcn_noise *g;
	unsigned long injected = 0;
	double u1, u2;
	mcn_noise *ref = t_gen(10, "oom");
	mcn_err rv;

	t_key(key, 10);
	for (unsigned long n = 1;; n++) {
		g = (mcn_noise *)1;
		mcn_alloc_fail_at(n);
		rv = mcn_noise_new(&g, key, (const uint8_t *)"oom", 3);
		mcn_alloc_fail_at(0);
		if (rv == MCN_OK) {
			break;
		}
		injected++;
		CHECK_ERR(rv, MCN_ENOMEM);
		CHECK(g == NULL);
		if (n > 100) {
			MCNT_FAIL("never succeeded");
			return;
		}
	}
	CHECK_U64_EQ(injected, 1);
	/* The generator made after the failures is the usual one. */
	if (ref != NULL) {
		CHECK_OK(mcn_noise_uniform(g, &u1));
		CHECK_OK(mcn_noise_uniform(ref, &u2));
		CHECK(u1 == u2);
	}
	/* Drawing allocates nothing. */
	mcn_alloc_fail_at(0);
	for (int i = 0; i < 1000; i++) {
		int64_t s;
		CHECK_OK(mcn_noise_dlap_share(g, 1e13, 3, &s));
	}
	CHECK_U64_EQ(mcn_alloc_fail_at(0), 0);
	mcn_noise_free(g);
	mcn_noise_free(ref);
}

MCNT_MAIN({ "elementary", test_elementary },
    { "determinism", test_determinism }, { "golden", test_golden },
    { "uniform", test_uniform }, { "gamma", test_gamma },
    { "poisson", test_poisson }, { "dlap_sum", test_dlap_sum },
    { "dlap_large", test_dlap_large }, { "bound", test_bound },
    { "shares_vector", test_shares_vector }, { "bad_input", test_bad_input },
    { "alloc_failure", test_alloc_failure })
