/* tests/crypto/test_threshold.c - threshold Paillier: every t-subset
 * decrypts, proofs catch tampering, errors are specific, a full 2048-bit
 * round trip with the checked-in test primes. */
#include "test.h"

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

MCNT_MAIN({ "subsets_2048", test_subsets_2048 },
    { "fresh_deal", test_fresh_deal },
    { "not_safe_primes", test_not_safe_primes },
    { "tampered_and_too_few", test_tampered_and_too_few },
    { "serialization", test_serialization }, { "batch", test_batch },
    { "batch_split", test_batch_split }, )
