/* tests/crypto/test_mem_rng.c - allocator, wiping and the random generators. */
#include "test.h"

static void
test_alloc_injection(void)
{
	void *a, *b, *c;

	mcn_alloc_fail_at(2);
	a = mcn_alloc(16);
	b = mcn_alloc(16);
	c = mcn_alloc(16);
	CHECK(a != NULL);
	CHECK(b == NULL);
	CHECK(c != NULL);
	CHECK_U64_EQ(mcn_alloc_fail_at(0), 3);
	mcn_free(a, 16);
	mcn_free(c, 16);
}

static void
test_mpz_wipe(void)
{
	mpz_t x;

	mpz_init_set_str(x, "123456789012345678901234567890123456789", 10);
	mcn_mpz_wipe(x);
	CHECK(mpz_sgn(x) == 0);
	for (int i = 0; i < x->_mp_alloc; i++) {
		CHECK(x->_mp_d[i] == 0);
	}
	mpz_clear(x);
}

static void
test_ct_memeq(void)
{
	uint8_t a[5] = { 1, 2, 3, 4, 5 }, b[5] = { 1, 2, 3, 4, 5 };

	CHECK(mcn_ct_memeq(a, b, 5) == 1);
	b[4] ^= 1;
	CHECK(mcn_ct_memeq(a, b, 5) == 0);
}

static void
test_rng_deterministic(void)
{
	mcn_rng *r1 = mcnt_rng(7), *r2 = mcnt_rng(7), *r3 = mcnt_rng(8);
	uint8_t a[64], b[64], c[64];

	CHECK_OK(mcn_rng_bytes(r1, a, sizeof(a)));
	CHECK_OK(mcn_rng_bytes(r2, b, sizeof(b)));
	CHECK_OK(mcn_rng_bytes(r3, c, sizeof(c)));
	CHECK(memcmp(a, b, sizeof(a)) == 0);
	CHECK(memcmp(a, c, sizeof(a)) != 0);
	CHECK(mcn_rng_is_test(r1));
	CHECK(!mcn_rng_is_test(mcn_rng_system()));
	mcn_rng_free(r1);
	mcn_rng_free(r2);
	mcn_rng_free(r3);
}

static void
test_rng_ranges(void)
{
	mcn_rng *r = mcnt_rng(1);
	mpz_t x, bound, n;

	mpz_inits(x, bound, n, NULL);
	mpz_set_ui(bound, 1000);
	mpz_set_ui(n, 15); /* units mod 15: gcd(x, 15) == 1 */
	for (int i = 0; i < 200; i++) {
		CHECK_OK(mcn_rng_mpz_below(r, x, bound));
		CHECK(mpz_cmp(x, bound) < 0 && mpz_sgn(x) >= 0);
		CHECK_OK(mcn_rng_mpz_bits(mcn_rng_system(), x, 13));
		CHECK(mpz_sizeinbase(x, 2) <= 13);
		CHECK_OK(mcn_rng_mpz_unit(r, x, n));
		CHECK(mpz_cmp_ui(x, 1) >= 0 && mpz_cmp(x, n) < 0);
		CHECK(mpz_gcd_ui(NULL, x, 15) == 1);
	}
	mpz_clears(x, bound, n, NULL);
	mcn_rng_free(r);
}

static void
test_rng_pool(void)
{
	mcn_rng *r = mcnt_rng(3);
	mcn_rng_pool *p = NULL;
	uint8_t a[8], b[8];

	REQUIRE_OK(mcn_rng_pool_new(&p, r, 3));
	CHECK(mcn_rng_pool_size(p) == 3);
	CHECK_OK(mcn_rng_bytes(mcn_rng_pool_get(p, 0), a, 8));
	CHECK_OK(mcn_rng_bytes(mcn_rng_pool_get(p, 1), b, 8));
	CHECK(memcmp(a, b, 8) != 0); /* children are independent streams */
	mcn_rng_pool_free(p);
	REQUIRE_OK(mcn_rng_pool_new(&p, mcn_rng_system(), 2));
	CHECK(mcn_rng_pool_get(p, 1) == mcn_rng_system());
	mcn_rng_pool_free(p);
	mcn_rng_free(r);
}

static void
test_strerror(void)
{
	CHECK(strcmp(mcn_strerror(MCN_OK), "success") == 0);
	CHECK(strstr(mcn_strerror(MCN_EPROOF), "proof") != NULL);
	CHECK(strstr(mcn_strerror((mcn_err)12345), "unknown") != NULL);
}

MCNT_MAIN({ "alloc_injection", test_alloc_injection },
    { "mpz_wipe", test_mpz_wipe }, { "ct_memeq", test_ct_memeq },
    { "rng_deterministic", test_rng_deterministic },
    { "rng_ranges", test_rng_ranges }, { "rng_pool", test_rng_pool },
    { "strerror", test_strerror }, )
