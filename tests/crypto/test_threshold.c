/* tests/crypto/test_threshold.c - threshold Paillier: every t-subset
 * decrypts, proofs catch tampering, errors are specific, a full 2048-bit
 * round trip with the checked-in test primes. */
#include "test.h"

#include "crypto/fbexp.h"
#include "crypto/threshold.h"

enum { NP = 5, T = 3 };

struct fixture {
	mcn_tpaillier_pub *pub;
	mcn_tpaillier_share *sh[NP];
};

static int
load_primes(mpz_t p, mpz_t q)
{
	char line[1024], tag[8], val[600];
	int got = 0;
	FILE *f = fopen(MCN_TEST_DATA_DIR "/tkey2048_test.txt", "r");

	if (f == NULL) {
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (line[0] == '#' ||
		    sscanf(line, "%7s %599s", tag, val) != 2) {
			continue;
		}
		if (strcmp(tag, "p") == 0 && mpz_set_str(p, val, 16) == 0) {
			got |= 1;
		} else if (strcmp(tag, "q") == 0 &&
		    mpz_set_str(q, val, 16) == 0) {
			got |= 2;
		}
	}
	fclose(f);
	return got == 3 ? 0 : -1;
}

static mcn_err
fixture_2048(struct fixture *fx, mcn_rng *rng)
{
	mpz_t p, q;
	mcn_err rv;

	mpz_inits(p, q, NULL);
	rv = load_primes(p, q) == 0 ?
	    mcn_tpaillier_deal_from_primes(&fx->pub, fx->sh, p, q, T, NP, rng) :
	    MCN_EINVAL;
	mcn_mpz_clear_secret(p, q, NULL);
	return rv;
}

static void
fixture_free(struct fixture *fx)
{
	for (int i = 0; i < NP; i++) {
		mcn_tpaillier_share_free(fx->sh[i]);
	}
	mcn_tpaillier_pub_free(fx->pub);
}

/* Each of NP parties encrypts a value; the product is partially decrypted
 * by all; every t-subset combines to the sum. */
static void
check_all_subsets(struct fixture *fx, mcn_rng *rng)
{
	const mcn_paillier_pk *pk = mcn_tpaillier_pk(fx->pub);
	mcn_tpaillier_partial parts[NP], sub[T];
	mpz_t c, ci, m, want;
	int subsets = 0;

	mpz_inits(c, ci, m, want, NULL);
	mpz_set_ui(want, 0);
	for (int i = 0; i < NP; i++) {
		mpz_set_ui(m, 1000u * (unsigned)i + 17);
		if (i == 3) {
			mpz_sub_ui(m, mcn_paillier_n(pk), 1); /* n - 1 */
		}
		mpz_add(want, want, m);
		CHECK_OK(mcn_paillier_encrypt(pk, ci, m, rng));
		if (i == 0) {
			mpz_set(c, ci);
		} else {
			mcn_paillier_ee_add(pk, c, c, ci);
		}
	}
	mpz_mod(want, want, mcn_paillier_n(pk));
	for (int i = 0; i < NP; i++) {
		mcn_tpaillier_partial_init(&parts[i]);
		CHECK_OK(mcn_tpaillier_partial_decrypt(fx->pub, fx->sh[i],
		    &parts[i], c, rng));
		CHECK(parts[i].index == (uint32_t)i + 1);
		CHECK_OK(mcn_tpaillier_verify(fx->pub, c, &parts[i]));
	}
	for (int a = 0; a < NP; a++) {
		for (int b = a + 1; b < NP; b++) {
			for (int d = b + 1; d < NP; d++) {
				sub[0] = parts[d]; /* order must not matter */
				sub[1] = parts[a];
				sub[2] = parts[b];
				mpz_set_ui(m, 0);
				CHECK_OK(mcn_tpaillier_combine(fx->pub, m, c,
				    sub, T, 0, NULL, NULL));
				CHECK_MPZ_EQ(m, want);
				subsets++;
			}
		}
	}
	CHECK(subsets == 10);
	/* all five at once: uses the first t valid */
	CHECK_OK(
	    mcn_tpaillier_combine(fx->pub, m, c, parts, NP, 0, NULL, NULL));
	CHECK_MPZ_EQ(m, want);
	for (int i = 0; i < NP; i++) {
		mcn_tpaillier_partial_clear(&parts[i]);
	}
	mpz_clears(c, ci, m, want, NULL);
}

static void
test_subsets_2048(void)
{
	struct fixture fx;
	mcn_rng *rng = mcnt_rng(21);

	REQUIRE_OK(fixture_2048(&fx, rng));
	CHECK(mcn_paillier_bits(mcn_tpaillier_pk(fx.pub)) == 2048);
	CHECK(mcn_tpaillier_threshold(fx.pub) == T);
	CHECK(mcn_tpaillier_parties(fx.pub) == NP);
	REQUIRE_OK(mcn_paillier_precompute(mcn_tpaillier_pk_mut(fx.pub),
	    MCN_PAILLIER_COMB_H, MCN_PAILLIER_COMB_V));
	check_all_subsets(&fx, rng);
	fixture_free(&fx);
	mcn_rng_free(rng);
}

/* A fresh dealing with safe primes from OpenSSL (small, for speed). */
static void
test_fresh_deal(void)
{
	struct fixture fx;
	mcn_rng *rng = mcn_rng_system();

	CHECK_ERR(mcn_tpaillier_deal(&fx.pub, fx.sh, 512, 0, NP, rng),
	    MCN_EINVAL);
	CHECK_ERR(mcn_tpaillier_deal(&fx.pub, fx.sh, 512, NP + 1, NP, rng),
	    MCN_EINVAL);
	REQUIRE_OK(mcn_tpaillier_deal(&fx.pub, fx.sh, 512, T, NP, rng));
	CHECK(mcn_paillier_bits(mcn_tpaillier_pk(fx.pub)) == 512);
	check_all_subsets(&fx, rng);
	fixture_free(&fx);
}

static void
test_not_safe_primes(void)
{
	struct fixture fx;
	mcn_rng *rng = mcnt_rng(22);
	mpz_t p, q;

	mpz_inits(p, q, NULL);
	/* 2^255 + ... next primes: almost surely not safe primes */
	mpz_setbit(p, 255);
	mpz_nextprime(p, p);
	while (1) {
		mpz_t h;
		mpz_init(h);
		mpz_sub_ui(h, p, 1);
		mpz_fdiv_q_2exp(h, h, 1);
		int safe = mpz_probab_prime_p(h, 20) != 0;
		mpz_clear(h);
		if (!safe) {
			break;
		}
		mpz_nextprime(p, p);
	}
	mpz_nextprime(q, p);
	CHECK_ERR(
	    mcn_tpaillier_deal_from_primes(&fx.pub, fx.sh, p, q, T, NP, rng),
	    MCN_EKEY);
	CHECK(fx.pub == NULL && fx.sh[0] == NULL);
	mpz_clears(p, q, NULL);
	mcn_rng_free(rng);
}

static void
test_tampered_and_too_few(void)
{
	struct fixture fx;
	mcn_rng *rng = mcnt_rng(23);
	const mcn_paillier_pk *pk;
	mcn_tpaillier_partial parts[NP], bad;
	uint32_t badidx[NP];
	size_t nbad = 99;
	mpz_t c, m, want;

	REQUIRE_OK(
	    mcn_tpaillier_deal(&fx.pub, fx.sh, 512, T, NP, mcn_rng_system()));
	pk = mcn_tpaillier_pk(fx.pub);
	mpz_inits(c, m, want, NULL);
	mpz_set_ui(want, 777);
	CHECK_OK(mcn_paillier_encrypt(pk, c, want, rng));
	for (int i = 0; i < NP; i++) {
		mcn_tpaillier_partial_init(&parts[i]);
		CHECK_OK(mcn_tpaillier_partial_decrypt(fx.pub, fx.sh[i],
		    &parts[i], c, rng));
	}
	mcn_tpaillier_partial_init(&bad);
	/* tampered c_i (still a valid unit) */
	mpz_set(bad.ci, parts[1].ci);
	mpz_set(bad.e, parts[1].e);
	mpz_set(bad.z, parts[1].z);
	bad.index = parts[1].index;
	mpz_mul_ui(bad.ci, bad.ci, 4);
	mpz_mod(bad.ci, bad.ci, mcn_paillier_n2(pk));
	CHECK_ERR(mcn_tpaillier_verify(fx.pub, c, &bad), MCN_EPROOF);
	/* tampered z, e */
	mpz_set(bad.ci, parts[1].ci);
	mpz_add_ui(bad.z, bad.z, 1);
	CHECK_ERR(mcn_tpaillier_verify(fx.pub, c, &bad), MCN_EPROOF);
	mpz_set(bad.z, parts[1].z);
	mpz_add_ui(bad.e, bad.e, 1);
	CHECK_ERR(mcn_tpaillier_verify(fx.pub, c, &bad), MCN_EPROOF);
	mpz_set(bad.e, parts[1].e);
	CHECK_OK(mcn_tpaillier_verify(fx.pub, c, &bad));
	/* a partial claimed for another party */
	bad.index = 3;
	CHECK_ERR(mcn_tpaillier_verify(fx.pub, c, &bad), MCN_EPROOF);
	bad.index = 0;
	CHECK_ERR(mcn_tpaillier_verify(fx.pub, c, &bad), MCN_EPARTY);
	bad.index = NP + 1;
	CHECK_ERR(mcn_tpaillier_verify(fx.pub, c, &bad), MCN_EPARTY);
	/* a valid partial for a different ciphertext */
	{
		mpz_t c2;
		mpz_init(c2);
		CHECK_OK(mcn_paillier_rerandomize(pk, c2, c, rng));
		CHECK_ERR(mcn_tpaillier_verify(fx.pub, c2, &parts[0]),
		    MCN_EPROOF);
		mpz_clear(c2);
	}
	/* combine with one tampered partial among four: still decrypts and
	 * names the bad one */
	mpz_mul_ui(parts[1].ci, parts[1].ci, 4);
	mpz_mod(parts[1].ci, parts[1].ci, mcn_paillier_n2(pk));
	CHECK_OK(
	    mcn_tpaillier_combine(fx.pub, m, c, parts, 4, 0, badidx, &nbad));
	CHECK_MPZ_EQ(m, want);
	CHECK(nbad == 1 && badidx[0] == 2);
	/* with only t-1 valid left: MCN_ETOOFEW, and the bad one named */
	CHECK_ERR(
	    mcn_tpaillier_combine(fx.pub, m, c, parts, 3, 0, badidx, &nbad),
	    MCN_ETOOFEW);
	CHECK(nbad == 1 && badidx[0] == 2);
	/* t-1 partials */
	CHECK_ERR(mcn_tpaillier_combine(fx.pub, m, c, &parts[2], T - 1, 0, NULL,
	              NULL),
	    MCN_ETOOFEW);
	CHECK_ERR(mcn_tpaillier_combine(fx.pub, m, c, parts, 0, 0, NULL, NULL),
	    MCN_ETOOFEW);
	/* a forged partial claiming an honest party's index does not block
	 * decryption: it is skipped and named */
	{
		mcn_tpaillier_partial set[4] = { parts[1], parts[0], parts[2],
			parts[3] };
		set[0].index = 1; /* tampered, and claims to be party 1 */
		CHECK_OK(mcn_tpaillier_combine(fx.pub, m, c, set, 4, 0, badidx,
		    &nbad));
		CHECK_MPZ_EQ(m, want);
		CHECK(nbad == 1 && badidx[0] == 1);
	}
	/* duplicate index among valid partials */
	{
		mcn_tpaillier_partial dup[3] = { parts[0], parts[2], parts[0] };
		CHECK_ERR(
		    mcn_tpaillier_combine(fx.pub, m, c, dup, 3, 0, NULL, NULL),
		    MCN_EDUPLICATE);
	}
	/* a bad ciphertext is refused before any work */
	mpz_set(m, mcn_paillier_n(pk));
	CHECK_ERR(mcn_tpaillier_partial_decrypt(fx.pub, fx.sh[0], &bad, m, rng),
	    MCN_ECIPHERTEXT);
	CHECK_ERR(
	    mcn_tpaillier_combine(fx.pub, want, m, &parts[2], T, 0, NULL, NULL),
	    MCN_ECIPHERTEXT);
	for (int i = 0; i < NP; i++) {
		mcn_tpaillier_partial_clear(&parts[i]);
	}
	mcn_tpaillier_partial_clear(&bad);
	mpz_clears(c, m, want, NULL);
	fixture_free(&fx);
	mcn_rng_free(rng);
}

static void
test_serialization(void)
{
	struct fixture fx, other;
	mcn_rng *rng = mcnt_rng(24);
	mcn_tpaillier_pub *pub2 = NULL, *badpub = NULL;
	mcn_tpaillier_share *sh2 = NULL, *badsh = NULL;
	mcn_tpaillier_partial part, part2;
	uint8_t *buf;
	size_t len, cap = 1 << 16;
	mpz_t c, m;

	REQUIRE_OK(
	    mcn_tpaillier_deal(&fx.pub, fx.sh, 512, T, NP, mcn_rng_system()));
	REQUIRE_OK(mcn_tpaillier_deal(&other.pub, other.sh, 512, T, NP,
	    mcn_rng_system()));
	buf = malloc(cap);
	mpz_inits(c, m, NULL);
	mcn_tpaillier_partial_init(&part);
	mcn_tpaillier_partial_init(&part2);
	/* pub */
	len = mcn_tpaillier_pub_len(fx.pub);
	CHECK(len == 8 + 8 + 32 + 5 * 64 + NP * 128);
	REQUIRE_OK(mcn_tpaillier_pub_export(fx.pub, buf, cap));
	REQUIRE_OK(mcn_tpaillier_pub_import(&pub2, buf, len));
	CHECK(mcn_tpaillier_threshold(pub2) == T);
	CHECK_ERR(mcn_tpaillier_pub_import(&badpub, buf, len - 1), MCN_EFORMAT);
	buf[3] = 9;
	CHECK_ERR(mcn_tpaillier_pub_import(&badpub, buf, len), MCN_EVERSION);
	buf[3] = 1;
	buf[16 + 3] ^= 1; /* fingerprint */
	CHECK_ERR(mcn_tpaillier_pub_import(&badpub, buf, len),
	    MCN_EKEYMISMATCH);
	buf[16 + 3] ^= 1;
	{
		/* v = 1 would make every proof verify */
		uint8_t *v = buf + 8 + 8 + 32 + 3 * 64;
		uint8_t save[128];
		memcpy(save, v, 128);
		memset(v, 0, 128);
		v[127] = 1;
		CHECK_ERR(mcn_tpaillier_pub_import(&badpub, buf, len),
		    MCN_EKEY);
		memcpy(v, save, 128);
		REQUIRE_OK(mcn_tpaillier_pub_import(&badpub, buf, len));
		mcn_tpaillier_pub_free(badpub);
		badpub = NULL;
	}
	memset(buf + len - 128, 0, 128); /* v_5 = 0 */
	CHECK_ERR(mcn_tpaillier_pub_import(&badpub, buf, len), MCN_EKEY);
	CHECK(badpub == NULL);
	/* shares, checked against the verification keys */
	len = mcn_tpaillier_share_len(fx.pub);
	REQUIRE_OK(mcn_tpaillier_share_export(fx.pub, fx.sh[1], buf, cap));
	REQUIRE_OK(mcn_tpaillier_share_import(pub2, &sh2, buf, len));
	CHECK(mcn_tpaillier_share_index(sh2) == 2);
	CHECK_ERR(mcn_tpaillier_share_import(other.pub, &badsh, buf, len),
	    MCN_EKEYMISMATCH);
	buf[len - 1] ^= 1; /* corrupted share value */
	CHECK_ERR(mcn_tpaillier_share_import(pub2, &badsh, buf, len), MCN_EKEY);
	buf[len - 1] ^= 1;
	buf[8 + 7] = 4; /* claims to be party 4: v_4 does not match */
	CHECK_ERR(mcn_tpaillier_share_import(pub2, &badsh, buf, len), MCN_EKEY);
	buf[8 + 7] = 9;
	CHECK_ERR(mcn_tpaillier_share_import(pub2, &badsh, buf, len),
	    MCN_EPARTY);
	CHECK(badsh == NULL);
	CHECK_ERR(mcn_tpaillier_share_export(other.pub, fx.sh[0], buf, cap),
	    MCN_EINVAL);
	/* a share of another key cannot decrypt under this one */
	mpz_set_ui(m, 5);
	CHECK_OK(mcn_paillier_encrypt(mcn_tpaillier_pk(fx.pub), c, m, rng));
	CHECK_ERR(
	    mcn_tpaillier_partial_decrypt(fx.pub, other.sh[0], &part, c, rng),
	    MCN_EKEYMISMATCH);
	/* partials */
	REQUIRE_OK(mcn_tpaillier_partial_decrypt(pub2, sh2, &part, c, rng));
	len = mcn_tpaillier_partial_len(fx.pub);
	REQUIRE_OK(mcn_tpaillier_partial_export(fx.pub, &part, buf, cap));
	REQUIRE_OK(mcn_tpaillier_partial_import(fx.pub, &part2, buf, len));
	CHECK(part2.index == 2);
	CHECK_MPZ_EQ(part2.ci, part.ci);
	CHECK_MPZ_EQ(part2.z, part.z);
	CHECK_OK(mcn_tpaillier_verify(fx.pub, c, &part2));
	CHECK_ERR(mcn_tpaillier_partial_import(other.pub, &part2, buf, len),
	    MCN_EKEYMISMATCH);
	CHECK_ERR(mcn_tpaillier_partial_import(fx.pub, &part2, buf, len + 1),
	    MCN_EFORMAT);
	buf[len - 1] ^= 1; /* z tampered in transit */
	REQUIRE_OK(mcn_tpaillier_partial_import(fx.pub, &part2, buf, len));
	CHECK_ERR(mcn_tpaillier_verify(fx.pub, c, &part2), MCN_EPROOF);
	buf[8 + 16 + 1] = 0; /* index 0 */
	CHECK_ERR(mcn_tpaillier_partial_import(fx.pub, &part2, buf, len),
	    MCN_EPARTY);
	mcn_tpaillier_partial_clear(&part);
	mcn_tpaillier_partial_clear(&part2);
	mpz_clears(c, m, NULL);
	free(buf);
	mcn_tpaillier_share_free(sh2);
	mcn_tpaillier_pub_free(pub2);
	fixture_free(&fx);
	fixture_free(&other);
	mcn_rng_free(rng);
}

static void
test_batch(void)
{
	enum { N = 9 };
	struct fixture fx;
	mcn_rng *rng = mcnt_rng(25);
	mcn_rng_pool *pool = NULL;
	mcn_tpaillier_partial parts[T][N];
	mcn_err status[N];
	mpz_t c[N], m[N], out;

	REQUIRE_OK(
	    mcn_tpaillier_deal(&fx.pub, fx.sh, 512, T, NP, mcn_rng_system()));
	REQUIRE_OK(mcn_rng_pool_new(&pool, rng, mcn_threads_max()));
	mpz_init(out);
	for (int i = 0; i < N; i++) {
		mpz_inits(c[i], m[i], NULL);
		mpz_set_ui(m[i], (unsigned long)i * i + 1);
	}
	CHECK_OK(mcn_paillier_encrypt_vec(mcn_tpaillier_pk(fx.pub), c,
	    (const mpz_t *)m, N, pool));
	for (int p = 0; p < T; p++) {
		for (int i = 0; i < N; i++) {
			mcn_tpaillier_partial_init(&parts[p][i]);
		}
		/* parties 2, 4, 5 */
		CHECK_OK(mcn_tpaillier_partial_decrypt_vec(fx.pub,
		    fx.sh[p == 0 ? 1 : p + 2], parts[p], (const mpz_t *)c, N,
		    pool));
		CHECK_OK(mcn_tpaillier_verify_vec(fx.pub, (const mpz_t *)c,
		    parts[p], N, status));
	}
	for (int i = 0; i < N; i++) {
		mcn_tpaillier_partial set[T] = { parts[0][i], parts[1][i],
			parts[2][i] };
		CHECK_OK(mcn_tpaillier_combine(fx.pub, out, c[i], set, T, 1,
		    NULL, NULL));
		CHECK_MPZ_EQ(out, m[i]);
	}
	/* verify_vec reports per element */
	mpz_add_ui(parts[0][4].z, parts[0][4].z, 2);
	CHECK_ERR(mcn_tpaillier_verify_vec(fx.pub, (const mpz_t *)c, parts[0],
	              N, status),
	    MCN_EPROOF);
	CHECK(status[4] == MCN_EPROOF && status[3] == MCN_OK);
	for (int p = 0; p < T; p++) {
		for (int i = 0; i < N; i++) {
			mcn_tpaillier_partial_clear(&parts[p][i]);
		}
	}
	for (int i = 0; i < N; i++) {
		mpz_clears(c[i], m[i], NULL);
	}
	mpz_clear(out);
	mcn_rng_pool_free(pool);
	fixture_free(&fx);
	mcn_rng_free(rng);
}

/* One ciphertext through the batch call, which splits its three
 * exponentiations over the threads, equals the single call with the same
 * randomness, and verifies. */
static void
test_batch_split(void)
{
	struct fixture fx;
	mcn_rng *ra = mcnt_rng(31), *rb = mcnt_rng(31);
	mcn_rng_pool *pa = NULL, *pb = NULL;
	mcn_tpaillier_partial x, y;
	mcn_err status[1];
	mpz_t c[1], m;

	REQUIRE_OK(
	    mcn_tpaillier_deal(&fx.pub, fx.sh, 512, T, NP, mcn_rng_system()));
	REQUIRE_OK(mcn_rng_pool_new(&pa, ra, mcn_threads_max()));
	REQUIRE_OK(mcn_rng_pool_new(&pb, rb, mcn_threads_max()));
	mpz_inits(c[0], m, NULL);
	mpz_set_ui(m, 4242);
	CHECK_OK(mcn_paillier_encrypt(mcn_tpaillier_pk(fx.pub), c[0], m,
	    mcn_rng_system()));
	mcn_tpaillier_partial_init(&x);
	mcn_tpaillier_partial_init(&y);
	CHECK_OK(mcn_tpaillier_partial_decrypt_vec(fx.pub, fx.sh[1], &x,
	    (const mpz_t *)c, 1, pa));
	CHECK_OK(mcn_tpaillier_partial_decrypt(fx.pub, fx.sh[1], &y, c[0],
	    mcn_rng_pool_get(pb, 0)));
	CHECK(x.index == y.index && x.index == 2);
	CHECK_MPZ_EQ(x.ci, y.ci);
	CHECK_MPZ_EQ(x.e, y.e);
	CHECK_MPZ_EQ(x.z, y.z);
	CHECK_OK(mcn_tpaillier_verify_vec(fx.pub, (const mpz_t *)c, &x, 1,
	    status));
	/* a ciphertext outside Z*_{n^2} is refused on this path too */
	mpz_set_ui(c[0], 0);
	CHECK_ERR(mcn_tpaillier_partial_decrypt_vec(fx.pub, fx.sh[1], &x,
	              (const mpz_t *)c, 1, pa),
	    MCN_ECIPHERTEXT);
	mcn_tpaillier_partial_clear(&x);
	mcn_tpaillier_partial_clear(&y);
	mpz_clears(c[0], m, NULL);
	mcn_rng_pool_free(pa);
	mcn_rng_pool_free(pb);
	fixture_free(&fx);
	mcn_rng_free(ra);
	mcn_rng_free(rb);
}

/* The Lim-Lee table gives mpz_powm's result for every exponent shape,
 * modulus size (odd and even), base (also >= mod) and (h, v). */
static void
test_fbexp(void)
{
	static const unsigned mbits[] = { 2, 64, 521, 4096 };
	static const unsigned ebits[] = { 1, 7, 64, 300, 4488 };
	static const unsigned hv[][2] = { { 1, 1 }, { 2, 3 }, { 5, 1 },
		{ 8, 4 }, { 4, 16 } };
	const size_t nhv = sizeof(hv) / sizeof(hv[0]);
	mcn_rng *rng = mcnt_rng(41);
	unsigned long compared = 0;
	mcn_fbexp tab;
	mpz_t mod, base, e, got, want;

	mpz_inits(mod, base, e, got, want, NULL);
	for (size_t mi = 0; mi < sizeof(mbits) / sizeof(mbits[0]); mi++) {
		REQUIRE_OK(mcn_rng_mpz_bits(rng, mod, mbits[mi]));
		mpz_setbit(mod, mbits[mi] - 1);
		if (mi == 1) {
			mpz_clrbit(mod, 0); /* an even modulus */
		} else {
			mpz_setbit(mod, 0);
		}
		for (size_t ei = 0; ei < sizeof(ebits) / sizeof(ebits[0]);
		     ei++) {
			unsigned L = ebits[ei];
			if ((L == 4488) != (mbits[mi] == 4096) && L != 64) {
				continue; /* the long ones only where used */
			}
			for (size_t k = 0; k < nhv; k++) {
				REQUIRE_OK(mcn_rng_mpz_below(rng, base, mod));
				if (k == 2) {
					mpz_add_ui(base, mod, 5); /* >= mod */
				} else if (k == 4 && mi == 2) {
					mpz_set_ui(base, 0);
				}
				REQUIRE_OK(mcn_fbexp_init(&tab, base, mod, L,
				    hv[k][0], hv[k][1]));
				CHECK(tab.v >= 1 && tab.v <= hv[k][1] &&
				    (tab.v - 1) * tab.b < tab.a);
				CHECK_U64_EQ(mcn_fbexp_bytes(&tab),
				    ((size_t)tab.v << tab.h) * (sizeof(mpz_t) +
				        mpz_size(mod) * sizeof(mp_limb_t)));
				for (int x = 0; x < 7; x++) {
					switch (x) {
					case 0:
						mpz_set_ui(e, 0);
						break;
					case 1:
						mpz_set_ui(e, 1);
						break;
					case 2: /* all ones, max_bits long */
						mpz_set_ui(e, 0);
						mpz_setbit(e, L);
						mpz_sub_ui(e, e, 1);
						break;
					case 3:
						mpz_set_ui(e, 0);
						mpz_setbit(e, L - 1);
						break;
					default: {
						mpz_t r;
						mpz_init(r);
						REQUIRE_OK(mcn_rng_mpz_bits(rng,
						    r, 16));
						REQUIRE_OK(mcn_rng_mpz_bits(rng,
						    e,
						    1 + mpz_get_ui(r) % L));
						mpz_clear(r);
					}
					}
					mcn_fbexp_pow(&tab, got, e);
					mpz_powm(want, base, e, mod);
					CHECK_MPZ_EQ(got, want);
					compared++;
				}
				mcn_fbexp_clear(&tab);
			}
		}
	}
	CHECK(compared == 7 * 5 * (3 * 4 + 2));
	/* sub-blocks that would be empty are dropped: a = 4, b = 2 */
	mpz_set_ui(mod, 1000003);
	mpz_set_ui(base, 7);
	REQUIRE_OK(mcn_fbexp_init(&tab, base, mod, 7, 2, 3));
	CHECK(tab.a == 4 && tab.b == 2 && tab.v == 2);
	mpz_set_ui(e, 127);
	mcn_fbexp_pow(&tab, got, e);
	mpz_powm(want, base, e, mod);
	CHECK_MPZ_EQ(got, want);
	mcn_fbexp_clear(&tab);
	/* allocation failure */
	mcn_alloc_fail_at(1);
	CHECK_ERR(mcn_fbexp_init(&tab, base, mod, 64, 4, 2), MCN_ENOMEM);
	mcn_alloc_fail_at(0);
	mcn_fbexp_clear(&tab);
	mpz_clears(mod, base, e, got, want, NULL);
	mcn_rng_free(rng);
}

/* The cost model: at 2048 bits (z of 4488 bits with 5 parties, residues
 * mod n^2 of 4096) a table pays from 2 powers on; at 512 bits from 3. */
static void
test_fbexp_plan(void)
{
	unsigned h = 0, v = 0;
	size_t bytes = 0;

	CHECK(!mcn_fbexp_plan(&h, &v, &bytes, 4488, 4096, 0, 1 << 20));
	CHECK(!mcn_fbexp_plan(&h, &v, &bytes, 4488, 4096, 1, 1 << 20));
	CHECK(mcn_fbexp_plan(&h, &v, &bytes, 4488, 4096, 2, 1 << 20));
	CHECK(h == 7 && v == 2 && bytes == (2u << 7) * (sizeof(mpz_t) + 512));
	CHECK(mcn_fbexp_plan(&h, &v, &bytes, 4488, 4096, 48, 1 << 20));
	CHECK(h == 8 && v == 4 && bytes <= (1u << 20));
	CHECK(mcn_fbexp_plan(&h, &v, &bytes, 4488, 4096, 48, 2 << 20));
	CHECK(h == 9 && v == 4 && bytes == (4u << 9) * (sizeof(mpz_t) + 512));
	/* no room for any table */
	CHECK(!mcn_fbexp_plan(&h, &v, &bytes, 4488, 4096, 48, 1000));
	CHECK(!mcn_fbexp_plan(&h, &v, &bytes, 1265, 1024, 2, 1 << 20));
	CHECK(mcn_fbexp_plan(&h, &v, &bytes, 1265, 1024, 3, 1 << 20));
}

/* One entry of a verify_vec batch: ciphertext, partial, expected status. */
struct vv_item {
	mpz_srcptr c;
	mcn_tpaillier_partial p; /* deep copy */
	mcn_err want;
};

static void
vv_add(struct vv_item *it, size_t *n, mpz_srcptr c,
    const mcn_tpaillier_partial *p, mcn_err want)
{
	struct vv_item *x = &it[(*n)++];
	x->c = c;
	mcn_tpaillier_partial_init(&x->p);
	x->p.index = p->index;
	mpz_set(x->p.ci, p->ci);
	mpz_set(x->p.e, p->e);
	mpz_set(x->p.z, p->z);
	x->want = want;
}

/* verify_vec on items sel[0..k): statuses equal those of
 * mcn_tpaillier_verify one by one and the expected ones, and the result
 * is the first error. */
static void
vv_check(const mcn_tpaillier_pub *pub, const struct vv_item *it,
    const size_t *sel, size_t k)
{
	mpz_t *c = malloc((k + 1) * sizeof(mpz_t));
	mcn_tpaillier_partial *p = calloc(k + 1, sizeof(*p));
	mcn_err *st = malloc((k + 1) * sizeof(*st)), first = MCN_OK;

	for (size_t i = 0; i < k; i++) {
		const struct vv_item *x = &it[sel[i]];
		memcpy(&c[i], x->c, sizeof(mpz_t)); /* shallow, read only */
		p[i] = x->p;
		st[i] = MCN_EINVAL;
		CHECK_ERR(mcn_tpaillier_verify(pub, x->c, &x->p), x->want);
		if (first == MCN_OK) {
			first = x->want;
		}
	}
	CHECK_ERR(mcn_tpaillier_verify_vec(pub, (const mpz_t *)c, p, k, st),
	    first);
	for (size_t i = 0; i < k; i++) {
		if (st[i] != it[sel[i]].want) {
			MCNT_FAIL("batch of %zu, item %zu (entry %zu): %s, "
			          "expected %s",
			    k, i, sel[i], mcn_strerror(st[i]),
			    mcn_strerror(it[sel[i]].want));
		}
		mcnt_checks++;
	}
	free(c);
	free(p);
	free(st);
}

/* verify_vec with tables (one of v; one of c^4 per ciphertext with at
 * least 2 proofs that pass the checks) gives exactly the statuses of
 * mcn_tpaillier_verify, on batches that mix valid and tampered proofs,
 * bad indices and ciphertexts, repeated and distinct ciphertexts, in any
 * order, and of sizes around the thresholds. */
static void
test_verify_vec_tables(void)
{
	enum { NCT = 5, MAXI = 32 };
	static const unsigned nparties[NCT - 1] = { NP, 3, 2, 1 };
	struct fixture fx;
	mcn_rng *rng = mcnt_rng(42);
	mcn_rng_pool *pool = NULL;
	const mcn_paillier_pk *pk;
	mcn_tpaillier_partial parts[NP][NCT - 1];
	struct vv_item it[MAXI];
	size_t n = 0, sel[MAXI] = { 0 }, nsel;
	mpz_t ct[NCT], m, badc;
	mcn_err st[4];

	REQUIRE_OK(fixture_2048(&fx, rng));
	REQUIRE_OK(mcn_rng_pool_new(&pool, rng, mcn_threads_max()));
	pk = mcn_tpaillier_pk(fx.pub);
	mpz_inits(m, badc, NULL);
	for (int j = 0; j < NCT; j++) {
		mpz_init(ct[j]);
		mpz_set_ui(m, 10u * (unsigned)j + 10);
		REQUIRE_OK(mcn_paillier_encrypt(pk, ct[j], m, rng));
	}
	mpz_set(badc, mcn_paillier_n(pk)); /* not a unit */
	/* party p decrypts ct[0..k) with k = 4, 3, 2, 1, 1: ct0 by all five,
	 * ct1 by three, ct2 by two, ct3 by one, ct4 by none */
	for (unsigned p = 0; p < NP; p++) {
		unsigned k = 0;
		for (unsigned j = 0; j < NCT - 1; j++) {
			mcn_tpaillier_partial_init(&parts[p][j]);
			k += p < nparties[j];
		}
		REQUIRE_OK(mcn_tpaillier_partial_decrypt_vec(fx.pub,
		    fx.sh[p], parts[p], (const mpz_t *)ct, k, pool));
	}
	/* the valid ones: 11 */
	for (unsigned j = 0; j < NCT - 1; j++) {
		for (unsigned p = 0; p < nparties[j]; p++) {
			vv_add(it, &n, ct[j], &parts[p][j], MCN_OK);
		}
	}
	CHECK(n == 11);
	/* tampered, but passing the checks: they join their groups (ct0
	 * has 8 such proofs, ct1 4, ct2 2, ct3 1, ct4 1) */
	vv_add(it, &n, ct[0], &parts[2][0], MCN_EPROOF);
	mpz_add_ui(it[n - 1].p.z, it[n - 1].p.z, 1);
	vv_add(it, &n, ct[1], &parts[1][1], MCN_EPROOF);
	mpz_add_ui(it[n - 1].p.e, it[n - 1].p.e, 1);
	vv_add(it, &n, ct[0], &parts[4][0], MCN_EPROOF);
	mpz_mul_ui(it[n - 1].p.ci, it[n - 1].p.ci, 4);
	mpz_mod(it[n - 1].p.ci, it[n - 1].p.ci, mcn_paillier_n2(pk));
	vv_add(it, &n, ct[0], &parts[1][0], MCN_EPROOF);
	it[n - 1].p.index = 4; /* another party's */
	vv_add(it, &n, ct[4], &parts[0][0], MCN_EPROOF); /* wrong c */
	/* refused by the checks */
	vv_add(it, &n, ct[0], &parts[0][0], MCN_EPARTY);
	it[n - 1].p.index = 0;
	vv_add(it, &n, ct[1], &parts[0][1], MCN_EPARTY);
	it[n - 1].p.index = NP + 1;
	vv_add(it, &n, ct[2], &parts[0][2], MCN_ECIPHERTEXT);
	mpz_set_ui(it[n - 1].p.ci, 0);
	vv_add(it, &n, badc, &parts[0][0], MCN_ECIPHERTEXT);
	vv_add(it, &n, ct[0], &parts[3][0], MCN_EPROOF);
	mpz_mul_2exp(it[n - 1].p.z, it[n - 1].p.z, 64); /* z too long */
	vv_add(it, &n, ct[1], &parts[2][1], MCN_EPROOF);
	mpz_neg(it[n - 1].p.e, it[n - 1].p.e);
	CHECK(n == 22);
	/* the whole batch, in a shuffled order (stride 7 mod 22) */
	for (size_t i = 0; i < n; i++) {
		sel[i] = (i * 7) % n;
	}
	vv_check(fx.pub, it, sel, n);
	/* and in entry order */
	for (size_t i = 0; i < n; i++) {
		sel[i] = i;
	}
	vv_check(fx.pub, it, sel, n);
	/* around the table of v: 1 checked proof (no table), 2 (tables of
	 * v and of ct1), 3 (and a lone ct2 proof) */
	for (size_t k = 1; k <= 3; k++) {
		vv_check(fx.pub, it, (const size_t[]){ 5, 12, 8 }, k);
	}
	/* around the table of one c^4: ct2's two proofs (a table) with the
	 * lone ct4 one; ct3's single valid proof with a refused one (1
	 * checked: no table at all) */
	vv_check(fx.pub, it, (const size_t[]){ 8, 15, 9 }, 3);
	vv_check(fx.pub, it, (const size_t[]){ 17, 10 }, 2);
	/* only refused proofs */
	vv_check(fx.pub, it, (const size_t[]){ 18, 17, 19 }, 3);
	/* allocation failures inside: MCN_ENOMEM everywhere, no leak; then
	 * success. 3 ct1 proofs (a table) and 1 ct3 proof (none). */
	nsel = 0;
	{
		static const size_t pick[4] = { 5, 6, 7, 10 };
		mpz_t cs[4];
		mcn_tpaillier_partial ps[4];
		unsigned long tabfail = 0, prooffail = 0;
		for (size_t i = 0; i < 4; i++) {
			memcpy(&cs[i], it[pick[i]].c, sizeof(mpz_t));
			ps[i] = it[pick[i]].p;
		}
		for (unsigned long at = 1; at < 50; at++) {
			mcn_err rv;
			unsigned nomem = 0, ok = 0;
			mcn_alloc_fail_at(at);
			rv = mcn_tpaillier_verify_vec(fx.pub, (const mpz_t *)cs,
			    ps, 4, st);
			mcn_alloc_fail_at(0);
			for (size_t i = 0; i < 4; i++) {
				nomem += st[i] == MCN_ENOMEM;
				ok += st[i] == MCN_OK;
			}
			if (rv == MCN_OK) {
				CHECK(ok == 4);
				nsel = 1;
				break;
			}
			CHECK_ERR(rv, MCN_ENOMEM);
			/* a table (every status), or one proof's challenge
			 * buffer (that proof's status) */
			CHECK((nomem == 4) || (nomem == 1 && ok == 3));
			tabfail += nomem == 4;
			prooffail += nomem == 1;
		}
		/* refs, groups, 2 tables; 4 challenges */
		CHECK(nsel == 1 && tabfail == 4 && prooffail == 4);
	}
	for (size_t i = 0; i < n; i++) {
		mcn_tpaillier_partial_clear(&it[i].p);
	}
	for (unsigned p = 0; p < NP; p++) {
		for (unsigned j = 0; j < NCT - 1; j++) {
			mcn_tpaillier_partial_clear(&parts[p][j]);
		}
	}
	for (int j = 0; j < NCT; j++) {
		mpz_clear(ct[j]);
	}
	mpz_clears(m, badc, NULL);
	mcn_rng_pool_free(pool);
	fixture_free(&fx);
	mcn_rng_free(rng);
}

MCNT_MAIN({ "subsets_2048", test_subsets_2048 },
    { "fresh_deal", test_fresh_deal },
    { "not_safe_primes", test_not_safe_primes },
    { "tampered_and_too_few", test_tampered_and_too_few },
    { "serialization", test_serialization }, { "batch", test_batch },
    { "batch_split", test_batch_split }, { "fbexp", test_fbexp },
    { "fbexp_plan", test_fbexp_plan },
    { "verify_vec_tables", test_verify_vec_tables }, )
