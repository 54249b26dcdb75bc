/* tests/crypto/test_share.c - additive shares mod 2^64 and Shamir t-of-n. */
#include "test.h"

#include "crypto/share.h"

/* ---- additive ------------------------------------------------------------ */

#define MCNT_MAXP 7

static void
mcnt_random_vec(mcn_rng *r, uint64_t *v, size_t len)
{
	if (mcn_rng_bytes(r, v, len * sizeof(uint64_t)) != MCN_OK) {
		fprintf(stderr, "rng failed\n");
		exit(1);
	}
}

static void
test_additive_roundtrip(void)
{
	static const unsigned parties[] = { 2, 7 };
	static const size_t lens[] = { 1, 2, 17, 1000 };
	mcn_rng *r = mcnt_rng(11);

	for (size_t pi = 0; pi < 2; pi++) {
		for (size_t li = 0; li < 4; li++) {
			unsigned n = parties[pi];
			size_t len = lens[li];
			uint64_t *sh[MCNT_MAXP], *secret, *out;

			secret = calloc(len, sizeof(uint64_t));
			out = calloc(len, sizeof(uint64_t));
			for (unsigned i = 0; i < n; i++) {
				sh[i] = calloc(len, sizeof(uint64_t));
			}
			mcnt_random_vec(r, secret, len);
			secret[0] = 0;
			if (len > 1) {
				secret[1] = UINT64_MAX;
			}
			CHECK_OK(mcn_additive_split(sh, secret, len, n, r));
			mcn_additive_combine(out, (const uint64_t *const *)sh,
			    len, n);
			CHECK(memcmp(out, secret, len * sizeof(uint64_t)) == 0);
			/* Leave out each party in turn: the other n - 1
			 * shares must not add up to the secret. */
			for (unsigned o = 0; o < n; o++) {
				const uint64_t *rest[MCNT_MAXP];
				unsigned k = 0;
				for (unsigned i = 0; i < n; i++) {
					if (i != o) {
						rest[k++] = sh[i];
					}
				}
				mcn_additive_combine(out, rest, len, k);
				CHECK(memcmp(out, secret,
				          len * sizeof(uint64_t)) != 0);
			}
			for (unsigned i = 0; i < n; i++) {
				free(sh[i]);
			}
			free(secret);
			free(out);
		}
	}
	mcn_rng_free(r);
}

static void
test_additive_alias(void)
{
	mcn_rng *r = mcnt_rng(12);
	uint64_t a[8], b[8], c[8], want[8];
	uint64_t *sh[3] = { a, b, c };

	mcnt_random_vec(r, want, 8);
	memcpy(c, want, sizeof(want));
	/* secret is the last share's own buffer */
	CHECK_OK(mcn_additive_split(sh, c, 8, 3, r));
	CHECK(memcmp(c, want, sizeof(want)) != 0);
	/* out is one of the shares */
	mcn_additive_combine(b, (const uint64_t *const *)sh, 8, 3);
	CHECK(memcmp(b, want, sizeof(want)) == 0);
	mcn_rng_free(r);
}

static void
test_additive_errors(void)
{
	mcn_rng *r = mcnt_rng(13);
	uint64_t a[2] = { 5, 6 }, s[2] = { 1, 2 };
	uint64_t *sh[2] = { a, a };

	CHECK_ERR(mcn_additive_split(sh, s, 2, 0, r), MCN_EINVAL);
	CHECK_ERR(mcn_additive_split(sh, s, 2, 1, r), MCN_EINVAL);
	CHECK(a[0] == 5 && a[1] == 6); /* untouched on EINVAL */
	CHECK_OK(mcn_additive_split(sh, s, 0, 2, r));
	mcn_rng_free(r);
}

static void
test_vec_add_sub(void)
{
	uint64_t acc[3] = { UINT64_MAX, 0, 5 };
	uint64_t one[3] = { 1, 1, 7 };

	mcn_u64_vec_add(acc, one, 3);
	CHECK_U64_EQ(acc[0], 0);
	CHECK_U64_EQ(acc[1], 1);
	CHECK_U64_EQ(acc[2], 12);
	mcn_u64_vec_sub(acc, one, 3);
	mcn_u64_vec_sub(acc, one, 3);
	CHECK_U64_EQ(acc[0], UINT64_MAX - 1); /* 0 - 2 wraps */
	CHECK_U64_EQ(acc[1], UINT64_MAX);
	CHECK_U64_EQ(acc[2], UINT64_MAX - 1); /* 12 - 14 wraps */
	mcn_u64_vec_add(acc, acc, 3);         /* x may be acc: doubling */
	CHECK_U64_EQ(acc[0], UINT64_MAX - 3);
	CHECK_U64_EQ(acc[1], UINT64_MAX - 1);
}

/* ---- Shamir -------------------------------------------------------------- */

#define MCNT_N 5
#define MCNT_T 3

static void
mcnt_ys_init(mpz_t *ys, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		mpz_init(ys[i]);
	}
}

static void
mcnt_ys_clear(mpz_t *ys, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		mpz_clear(ys[i]);
	}
}

/* Every 3-subset of {0..4}, as share positions. */
static const unsigned mcnt_subsets[10][3] = {
	{ 0, 1, 2 },
	{ 0, 1, 3 },
	{ 0, 1, 4 },
	{ 0, 2, 3 },
	{ 0, 2, 4 },
	{ 0, 3, 4 },
	{ 1, 2, 3 },
	{ 1, 2, 4 },
	{ 1, 3, 4 },
	{ 2, 3, 4 },
};

/* Combines the shares at positions pos[0..k) (indices pos+1), optionally
 * in reverse order, and compares with want. */
static void
mcnt_check_combine(mpz_t *ys, const unsigned *pos, unsigned k, unsigned t,
    const mpz_t prime, const mpz_t want, int reverse)
{
	uint32_t idx[MCNT_N];
	mpz_t sub[MCNT_N], got;

	mpz_init(got);
	for (unsigned j = 0; j < k; j++) {
		unsigned p = pos[reverse ? k - 1 - j : j];
		idx[j] = p + 1;
		mpz_init_set(sub[j], ys[p]);
	}
	CHECK_OK(mcn_shamir_combine(got, idx, (const mpz_t *)sub, k, t, prime));
	CHECK_MPZ_EQ(got, want);
	mcnt_ys_clear(sub, k);
	mpz_clear(got);
}

/*
 * Known answer over p = 257 with f(x) = 200 + 100 x + 150 x^2 (t = 3):
 *   f(1) =  450 =  1*257 + 193  -> 193
 *   f(2) = 1000 =  3*257 + 229  -> 229
 *   f(3) = 1850 =  7*257 +  51  ->  51
 *   f(4) = 3000 = 11*257 + 173  -> 173
 *   f(5) = 4450 = 17*257 +  81  ->  81
 * and by hand from x = 2, 4, 5: L_2(0) = 4*5/((4-2)(5-2)) = 20/6,
 * L_4(0) = 2*5/((2-4)(5-4)) = -5, L_5(0) = 2*4/((2-5)(4-5)) = 8/3, so
 * f(0) = 229*20/6 - 5*173 + 81*8/3 = (4580 - 5190 + 1296)/6 = 686/6,
 * which is 200 mod 257 because 6 * 200 = 1200 = 686 + 2*257.
 */
static void
test_shamir_kat(void)
{
	static const unsigned long want[MCNT_N] = { 193, 229, 51, 173, 81 };
	static const unsigned all[MCNT_N] = { 0, 1, 2, 3, 4 };
	mpz_t prime, coeffs[MCNT_T], ys[MCNT_N], secret;

	mpz_init_set_ui(prime, 257);
	mpz_init_set_ui(secret, 200);
	mpz_init_set_ui(coeffs[0], 200);
	mpz_init_set_ui(coeffs[1], 100);
	mpz_init_set_ui(coeffs[2], 150);
	mcnt_ys_init(ys, MCNT_N);
	CHECK_OK(mcn_shamir_split_poly(ys, (const mpz_t *)coeffs, MCNT_T,
	    MCNT_N, prime));
	for (unsigned i = 0; i < MCNT_N; i++) {
		CHECK(mpz_cmp_ui(ys[i], want[i]) == 0);
	}
	for (unsigned s = 0; s < 10; s++) {
		mcnt_check_combine(ys, mcnt_subsets[s], MCNT_T, MCNT_T, prime,
		    secret, 0);
	}
	mcnt_check_combine(ys, all, MCNT_N, MCNT_T, prime, secret, 1);
	/* t = 1: every share is the secret; t = n = 5 from all shares. */
	CHECK_OK(
	    mcn_shamir_split_poly(ys, (const mpz_t *)coeffs, 1, MCNT_N, prime));
	for (unsigned i = 0; i < MCNT_N; i++) {
		CHECK(mpz_cmp_ui(ys[i], 200) == 0);
	}
	mcnt_ys_clear(coeffs, MCNT_T);
	mpz_clears(prime, secret, NULL);
	mcnt_ys_clear(ys, MCNT_N);
}

static void
test_shamir_every_subset(void)
{
	static const unsigned all[MCNT_N] = { 0, 1, 2, 3, 4 };
	mcn_rng *r = mcnt_rng(21);
	mpz_t prime, secret, ys[MCNT_N];

	mpz_inits(prime, secret, NULL);
	mcn_shamir_prime_default(prime);
	mcnt_ys_init(ys, MCNT_N);
	for (int round = 0; round < 3; round++) {
		if (round == 0) {
			REQUIRE_OK(mcn_rng_mpz_below(r, secret, prime));
		} else if (round == 1) {
			mpz_set_ui(secret, 0);
		} else {
			mpz_sub_ui(secret, prime, 1);
		}
		CHECK_OK(
		    mcn_shamir_split(ys, secret, MCNT_T, MCNT_N, prime, r));
		for (unsigned s = 0; s < 10; s++) {
			mcnt_check_combine(ys, mcnt_subsets[s], MCNT_T, MCNT_T,
			    prime, secret, 0);
			mcnt_check_combine(ys, mcnt_subsets[s], MCNT_T, MCNT_T,
			    prime, secret, 1);
		}
		mcnt_check_combine(ys, all, MCNT_N, MCNT_T, prime, secret, 0);
		mcnt_check_combine(ys, all + 1, 4, MCNT_T, prime, secret, 1);
	}
	/* t = n and t = 1 over the default prime. */
	CHECK_OK(mcn_shamir_split(ys, secret, MCNT_N, MCNT_N, prime, r));
	mcnt_check_combine(ys, all, MCNT_N, MCNT_N, prime, secret, 1);
	CHECK_OK(mcn_shamir_split(ys, secret, 1, MCNT_N, prime, r));
	mcnt_check_combine(ys, all + 3, 1, 1, prime, secret, 0);
	mcnt_ys_clear(ys, MCNT_N);
	mpz_clears(prime, secret, NULL);
	mcn_rng_free(r);
}

static void
test_shamir_default_prime(void)
{
	mpz_t p, m;

	mpz_inits(p, m, NULL);
	mcn_shamir_prime_default(p);
	mpz_ui_pow_ui(m, 2, 521);
	mpz_sub_ui(m, m, 1);
	CHECK_MPZ_EQ(p, m);
	CHECK(mpz_probab_prime_p(p, 30) != 0);
	CHECK(mcn_shamir_max_parties() == MCN_SHAMIR_MAX_PARTIES);
	mpz_clears(p, m, NULL);
}

static void
test_shamir_fresh_randomness(void)
{
	mcn_rng *r = mcnt_rng(22);
	mpz_t prime, secret, a[MCNT_N], b[MCNT_N];

	mpz_init(prime);
	mcn_shamir_prime_default(prime);
	mpz_init_set_ui(secret, 42);
	mcnt_ys_init(a, MCNT_N);
	mcnt_ys_init(b, MCNT_N);
	CHECK_OK(mcn_shamir_split(a, secret, MCNT_T, MCNT_N, prime, r));
	CHECK_OK(mcn_shamir_split(b, secret, MCNT_T, MCNT_N, prime, r));
	for (unsigned i = 0; i < MCNT_N; i++) {
		CHECK(mpz_cmp(a[i], b[i]) != 0);
		CHECK(mpz_cmp(a[i], secret) != 0);
	}
	mcnt_ys_clear(a, MCNT_N);
	mcnt_ys_clear(b, MCNT_N);
	mpz_clears(prime, secret, NULL);
	mcn_rng_free(r);
}

static void
test_shamir_alias(void)
{
	static const uint32_t idx[MCNT_T] = { 5, 1, 3 };
	mcn_rng *r = mcnt_rng(23);
	mpz_t prime, want, ys[MCNT_N], sub[MCNT_T];

	mpz_init(prime);
	mcn_shamir_prime_default(prime);
	mpz_init_set_ui(want, 123456789);
	mcnt_ys_init(ys, MCNT_N);
	mpz_set(ys[2], want);
	/* The secret is read from ys[2], which the split overwrites. */
	CHECK_OK(mcn_shamir_split(ys, ys[2], MCNT_T, MCNT_N, prime, r));
	mpz_init_set(sub[0], ys[4]);
	mpz_init_set(sub[1], ys[0]);
	mpz_init_set(sub[2], ys[2]);
	/* The result lands in one of the input shares. */
	CHECK_OK(mcn_shamir_combine(sub[1], idx, (const mpz_t *)sub, MCNT_T,
	    MCNT_T, prime));
	CHECK_MPZ_EQ(sub[1], want);
	mcnt_ys_clear(sub, MCNT_T);
	mcnt_ys_clear(ys, MCNT_N);
	mpz_clears(prime, want, NULL);
	mcn_rng_free(r);
}

/* Shares of f(x) = 200 + 100 x + 150 x^2 over 257 (see test_shamir_kat). */
static void
mcnt_kat_shares(mpz_t *ys, mpz_t prime)
{
	static const unsigned long v[MCNT_N] = { 193, 229, 51, 173, 81 };

	mpz_init_set_ui(prime, 257);
	for (unsigned i = 0; i < MCNT_N; i++) {
		mpz_init_set_ui(ys[i], v[i]);
	}
}

static void
test_shamir_combine_errors(void)
{
	mpz_t prime, ys[MCNT_N], out;
	uint32_t idx[MCNT_N] = { 1, 2, 3, 4, 5 };

	mcnt_kat_shares(ys, prime);
	mpz_init_set_ui(out, 77);

	/* k < t */
	CHECK_ERR(mcn_shamir_combine(out, idx, (const mpz_t *)ys, 2, 3, prime),
	    MCN_ETOOFEW);
	CHECK_ERR(mcn_shamir_combine(out, idx, (const mpz_t *)ys, 0, 1, prime),
	    MCN_ETOOFEW);
	/* t = 0, prime < 2 */
	CHECK_ERR(mcn_shamir_combine(out, idx, (const mpz_t *)ys, 3, 0, prime),
	    MCN_EINVAL);
	mpz_set_ui(prime, 1);
	CHECK_ERR(mcn_shamir_combine(out, idx, (const mpz_t *)ys, 3, 3, prime),
	    MCN_EINVAL);
	mpz_set_ui(prime, 257);
	/* duplicate among the first t, and beyond t (all k are checked) */
	idx[2] = 1;
	CHECK_ERR(mcn_shamir_combine(out, idx, (const mpz_t *)ys, 3, 3, prime),
	    MCN_EDUPLICATE);
	idx[2] = 3;
	idx[4] = 2;
	CHECK_ERR(mcn_shamir_combine(out, idx, (const mpz_t *)ys, 5, 3, prime),
	    MCN_EDUPLICATE);
	idx[4] = 5;
	/* index 0 and index >= prime */
	idx[1] = 0;
	CHECK_ERR(mcn_shamir_combine(out, idx, (const mpz_t *)ys, 3, 3, prime),
	    MCN_EPARTY);
	idx[1] = 257;
	CHECK_ERR(mcn_shamir_combine(out, idx, (const mpz_t *)ys, 3, 3, prime),
	    MCN_EPARTY);
	idx[1] = 2;
	/* share value outside [0, prime) */
	mpz_set_ui(ys[1], 257);
	CHECK_ERR(mcn_shamir_combine(out, idx, (const mpz_t *)ys, 3, 3, prime),
	    MCN_EINVAL);
	mpz_set_si(ys[1], -1);
	CHECK_ERR(mcn_shamir_combine(out, idx, (const mpz_t *)ys, 3, 3, prime),
	    MCN_EINVAL);
	mpz_set_ui(ys[1], 229);
	/* out untouched by every failure above */
	CHECK(mpz_cmp_ui(out, 77) == 0);
	CHECK_OK(mcn_shamir_combine(out, idx, (const mpz_t *)ys, 3, 3, prime));
	CHECK(mpz_cmp_ui(out, 200) == 0);
	/* composite "prime" 15, indices 1 and 4: D_1 = 1 * 3 has no
	 * inverse mod 15 */
	mpz_set_ui(prime, 15);
	idx[0] = 1;
	idx[1] = 4;
	mpz_set_ui(ys[0], 1);
	mpz_set_ui(ys[1], 2);
	CHECK_ERR(mcn_shamir_combine(out, idx, (const mpz_t *)ys, 2, 2, prime),
	    MCN_EINVAL);
	mcnt_ys_clear(ys, MCNT_N);
	mpz_clears(prime, out, NULL);
}

/*
 * Shamir by itself has no integrity: a modified share is interpolated like
 * any other and yields a different "secret" with MCN_OK. Detecting it needs
 * commitments (Feldman/Pedersen VSS) or redundant shares.
 */
static void
test_shamir_tamper(void)
{
	static const uint32_t idx[MCNT_T] = { 1, 2, 3 };
	mpz_t prime, ys[MCNT_N], out;

	mcnt_kat_shares(ys, prime);
	mpz_init(out);
	mpz_set_ui(ys[1], 230); /* was 229 */
	CHECK_OK(mcn_shamir_combine(out, idx, (const mpz_t *)ys, 3, 3, prime));
	CHECK(mpz_cmp_ui(out, 200) != 0);
	/* L_2(0) = 1*3/((1-2)(3-2)) = -3: the secret moves by -3. */
	CHECK(mpz_cmp_ui(out, 197) == 0);
	mcnt_ys_clear(ys, MCNT_N);
	mpz_clears(prime, out, NULL);
}

static void
test_shamir_split_errors(void)
{
	mcn_rng *r = mcnt_rng(24);
	mpz_t prime, secret, ys[MCN_SHAMIR_MAX_PARTIES + 1], coeffs[3];
	const unsigned nys = MCN_SHAMIR_MAX_PARTIES + 1;

	mpz_init_set_ui(prime, 257);
	mpz_init_set_ui(secret, 257);
	mcnt_ys_init(ys, nys);
	mcnt_ys_init(coeffs, 3);
	/* secret outside [0, prime) */
	CHECK_ERR(mcn_shamir_split(ys, secret, 3, 5, prime, r), MCN_EINVAL);
	mpz_set_si(secret, -1);
	CHECK_ERR(mcn_shamir_split(ys, secret, 3, 5, prime, r), MCN_EINVAL);
	mpz_set_ui(secret, 256);
	CHECK_OK(mcn_shamir_split(ys, secret, 3, 5, prime, r));
	/* t and n */
	CHECK_ERR(mcn_shamir_split(ys, secret, 0, 5, prime, r), MCN_EINVAL);
	CHECK_ERR(mcn_shamir_split(ys, secret, 6, 5, prime, r), MCN_EINVAL);
	CHECK_ERR(mcn_shamir_split(ys, secret, 1, 0, prime, r), MCN_EINVAL);
	CHECK_OK(mcn_shamir_split(ys, secret, 2, 255, prime, r));
	CHECK_ERR(mcn_shamir_split(ys, secret, 2, 256, prime, r),
	    MCN_EINVAL); /* > MCN_SHAMIR_MAX_PARTIES */
	/* n must be below the prime: party n would have index n */
	mpz_set_ui(prime, 5);
	mpz_set_ui(secret, 1);
	CHECK_ERR(mcn_shamir_split(ys, secret, 2, 5, prime, r), MCN_EINVAL);
	CHECK_OK(mcn_shamir_split(ys, secret, 2, 4, prime, r));
	/* split_poly: every coefficient must be in the field */
	mpz_set_ui(coeffs[0], 1);
	mpz_set_ui(coeffs[1], 5);
	mpz_set_ui(coeffs[2], 2);
	CHECK_ERR(mcn_shamir_split_poly(ys, (const mpz_t *)coeffs, 3, 4, prime),
	    MCN_EINVAL);
	mpz_set_ui(coeffs[1], 4);
	CHECK_OK(mcn_shamir_split_poly(ys, (const mpz_t *)coeffs, 3, 4, prime));
	/* f(x) = 1 + 4x + 2x^2 mod 5: f(1..4) = 2, 2, 1, 4 */
	CHECK(mpz_cmp_ui(ys[0], 2) == 0 && mpz_cmp_ui(ys[1], 2) == 0 &&
	    mpz_cmp_ui(ys[2], 1) == 0 && mpz_cmp_ui(ys[3], 4) == 0);
	mcnt_ys_clear(ys, nys);
	mcnt_ys_clear(coeffs, 3);
	mpz_clears(prime, secret, NULL);
	mcn_rng_free(r);
}

/*
 * Split and combine allocate nothing through mcn_alloc for ordinary primes
 * (GMP's memory cannot be failed; see crypto/mem.h). Over a prime of more
 * than 8192 bits the rng takes a heap buffer per coefficient, so every
 * such allocation is failed in turn and must give a clean MCN_ENOMEM with
 * all shares zeroed (ASan reports any leak).
 */
static void
test_shamir_alloc_failure(void)
{
	static const uint32_t idx[MCNT_T] = { 1, 2, 3 };
	mcn_rng *r = mcnt_rng(25);
	mpz_t prime, secret, big, ys[MCNT_N];
	unsigned long injected = 0;
	mcn_err rv;

	mpz_inits(prime, secret, big, NULL);
	mcnt_ys_init(ys, MCNT_N);
	mcn_shamir_prime_default(prime);
	mpz_set_ui(secret, 99);
	mcn_alloc_fail_at(0);
	CHECK_OK(mcn_shamir_split(ys, secret, MCNT_T, MCNT_N, prime, r));
	CHECK_OK(mcn_shamir_combine(secret, idx, (const mpz_t *)ys, MCNT_T,
	    MCNT_T, prime));
	CHECK_U64_EQ(mcn_alloc_fail_at(0), 0);
	CHECK(mpz_cmp_ui(secret, 99) == 0);

	/* 2^9000 - 1 need not be prime for split: only n < p matters. */
	mpz_ui_pow_ui(big, 2, 9000);
	mpz_sub_ui(big, big, 1);
	for (unsigned long n = 1;; n++) {
		mcn_alloc_fail_at(n);
		rv = mcn_shamir_split(ys, secret, MCNT_T, MCNT_N, big, r);
		mcn_alloc_fail_at(0);
		if (rv == MCN_OK) {
			break;
		}
		injected++;
		CHECK_ERR(rv, MCN_ENOMEM);
		for (unsigned i = 0; i < MCNT_N; i++) {
			CHECK(mpz_sgn(ys[i]) == 0);
		}
		if (n > 100) {
			MCNT_FAIL("split never succeeded");
			break;
		}
	}
	CHECK_U64_EQ(injected, MCNT_T - 1); /* one per random coefficient */
	mcnt_ys_clear(ys, MCNT_N);
	mpz_clears(prime, secret, big, NULL);
	mcn_rng_free(r);
}

MCNT_MAIN({ "additive_roundtrip", test_additive_roundtrip },
    { "additive_alias", test_additive_alias },
    { "additive_errors", test_additive_errors },
    { "vec_add_sub", test_vec_add_sub }, { "shamir_kat", test_shamir_kat },
    { "shamir_every_subset", test_shamir_every_subset },
    { "shamir_default_prime", test_shamir_default_prime },
    { "shamir_fresh_randomness", test_shamir_fresh_randomness },
    { "shamir_alias", test_shamir_alias },
    { "shamir_combine_errors", test_shamir_combine_errors },
    { "shamir_tamper", test_shamir_tamper },
    { "shamir_split_errors", test_shamir_split_errors },
    { "shamir_alloc_failure", test_shamir_alloc_failure }, )
