/* tests/crypto/test_paillier.c - Paillier: known answers, homomorphic
 * properties, the fast path, validation, serialization, batches. */
#include "test.h"

#include "crypto/paillier.h"

/* ---- fixtures ---- */

struct kat {
	mpz_t p, q, h, hs;
	char fp[65];
	int nv;
	mpz_t m[16], r[16], c[16];
};

static int
kat_load(struct kat *k)
{
	char line[4096], tag[8], a[2048], b[2048], c[2048];
	FILE *f = fopen(MCN_TEST_DATA_DIR "/paillier_kat.txt", "r");

	if (f == NULL) {
		return -1;
	}
	mpz_inits(k->p, k->q, k->h, k->hs, NULL);
	k->nv = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (line[0] == '#') {
			continue;
		}
		if (sscanf(line, "%7s %2047s %2047s %2047s", tag, a, b, c) <
		    2) {
			continue;
		}
		if (strcmp(tag, "p") == 0) {
			mpz_set_str(k->p, a, 16);
		} else if (strcmp(tag, "q") == 0) {
			mpz_set_str(k->q, a, 16);
		} else if (strcmp(tag, "h") == 0) {
			mpz_set_str(k->h, a, 16);
		} else if (strcmp(tag, "hs") == 0) {
			mpz_set_str(k->hs, a, 16);
		} else if (strcmp(tag, "fp") == 0) {
			memcpy(k->fp, a, sizeof(k->fp) - 1);
			k->fp[sizeof(k->fp) - 1] = '\0';
		} else if (strcmp(tag, "v") == 0 && k->nv < 16) {
			mpz_init_set_str(k->m[k->nv], a, 16);
			mpz_init_set_str(k->r[k->nv], b, 16);
			mpz_init_set_str(k->c[k->nv], c, 16);
			k->nv++;
		}
	}
	fclose(f);
	return 0;
}

static void
kat_free(struct kat *k)
{
	for (int i = 0; i < k->nv; i++) {
		mpz_clears(k->m[i], k->r[i], k->c[i], NULL);
	}
	mpz_clears(k->p, k->q, k->h, k->hs, NULL);
}

/* A small key for fast tests (keygen itself is tested elsewhere). */
static mcn_paillier_sk *
small_key(unsigned bits)
{
	mcn_paillier_pk *pk = NULL;
	mcn_paillier_sk *sk = NULL;
	mcn_rng *r = mcnt_rng(bits);

	if (mcn_paillier_keygen(&pk, &sk, bits, r) != MCN_OK) {
		fprintf(stderr, "keygen %u failed\n", bits);
		exit(1);
	}
	mcn_rng_free(r);
	return sk;
}

/* ---- tests ---- */

static void
test_known_answers(void)
{
	struct kat k;
	mcn_paillier_pk *pk = NULL;
	mcn_paillier_sk *sk = NULL;
	char hex[65];
	mpz_t c, m;

	REQUIRE_OK(kat_load(&k) == 0 ? MCN_OK : MCN_EINVAL);
	CHECK(k.nv == 8);
	REQUIRE_OK(mcn_paillier_from_primes(&pk, &sk, k.p, k.q, k.h, NULL));
	CHECK_MPZ_EQ(mcn_paillier_hs(pk), k.hs);
	for (int i = 0; i < 32; i++) {
		snprintf(hex + 2 * i, 3, "%02x",
		    mcn_paillier_fingerprint(pk)[i]);
	}
	CHECK(strcmp(hex, k.fp) == 0);
	CHECK(mcn_paillier_bits(pk) == 2048);
	mpz_inits(c, m, NULL);
	for (int i = 0; i < k.nv; i++) {
		CHECK_OK(mcn_paillier_encrypt_r(pk, c, k.m[i], k.r[i]));
		CHECK_MPZ_EQ(c, k.c[i]);
		CHECK_OK(mcn_paillier_decrypt(sk, m, k.c[i]));
		CHECK_MPZ_EQ(m, k.m[i]);
	}
	mpz_clears(c, m, NULL);
	mcn_paillier_sk_free(sk);
	kat_free(&k);
}

/* dec(op(E(a), ...)) for 0, 1, n-1 and random values. */
static void
check_homomorphic(mcn_paillier_sk *sk, mcn_rng *rng)
{
	const mcn_paillier_pk *pk = mcn_paillier_sk_pk(sk);
	mpz_srcptr n = mcn_paillier_n(pk);
	mpz_t vals[6], ca, cb, cs, m, want, k;

	mpz_inits(ca, cb, cs, m, want, k, NULL);
	for (int i = 0; i < 6; i++) {
		mpz_init(vals[i]);
	}
	mpz_set_ui(vals[0], 0);
	mpz_set_ui(vals[1], 1);
	mpz_sub_ui(vals[2], n, 1);
	for (int i = 3; i < 6; i++) {
		CHECK_OK(mcn_rng_mpz_below(rng, vals[i], n));
	}
	for (int i = 0; i < 6; i++) {
		for (int j = 0; j < 6; j++) {
			CHECK_OK(mcn_paillier_encrypt(pk, ca, vals[i], rng));
			CHECK_OK(
			    mcn_paillier_encrypt_plain(pk, cb, vals[j], rng));
			/* ct + ct */
			mcn_paillier_ee_add(pk, cs, ca, cb);
			CHECK_OK(mcn_paillier_decrypt(sk, m, cs));
			mpz_add(want, vals[i], vals[j]);
			mpz_mod(want, want, n);
			CHECK_MPZ_EQ(m, want);
			/* ct + pt */
			mcn_paillier_ep_add(pk, cs, ca, vals[j]);
			CHECK_OK(mcn_paillier_decrypt(sk, m, cs));
			CHECK_MPZ_EQ(m, want);
			/* ct * scalar (scalar = vals[j]) */
			mcn_paillier_ep_mul(pk, cs, ca, vals[j]);
			CHECK_OK(mcn_paillier_decrypt(sk, m, cs));
			mpz_mul(want, vals[i], vals[j]);
			mpz_mod(want, want, n);
			CHECK_MPZ_EQ(m, want);
		}
		/* negative scalar: E(a)^-3 = E(-3a) */
		mpz_set_si(k, -3);
		mcn_paillier_ep_mul(pk, cs, ca, k);
		CHECK_OK(mcn_paillier_decrypt(sk, m, cs));
		mpz_mul_si(want, vals[i], -3);
		mpz_mod(want, want, n);
		CHECK_MPZ_EQ(m, want);
		/* rerandomize: new ciphertext, same plaintext */
		CHECK_OK(mcn_paillier_rerandomize(pk, cs, ca, rng));
		CHECK(mpz_cmp(cs, ca) != 0);
		CHECK_OK(mcn_paillier_decrypt(sk, m, cs));
		CHECK_MPZ_EQ(m, vals[i]);
	}
	for (int i = 0; i < 6; i++) {
		mpz_clear(vals[i]);
	}
	mpz_clears(ca, cb, cs, m, want, k, NULL);
}

static void
test_homomorphic_small(void)
{
	mcn_paillier_sk *sk = small_key(512);
	mcn_rng *rng = mcnt_rng(11);

	check_homomorphic(sk, rng);
	REQUIRE_OK(mcn_paillier_precompute(
	    (mcn_paillier_pk *)mcn_paillier_sk_pk(sk), 4, 3));
	check_homomorphic(sk, rng);
	mcn_rng_free(rng);
	mcn_paillier_sk_free(sk);
}

static void
test_homomorphic_2048(void)
{
	struct kat k;
	mcn_paillier_pk *pk = NULL;
	mcn_paillier_sk *sk = NULL;
	mcn_rng *rng = mcnt_rng(12);

	REQUIRE_OK(kat_load(&k) == 0 ? MCN_OK : MCN_EINVAL);
	REQUIRE_OK(mcn_paillier_from_primes(&pk, &sk, k.p, k.q, k.h, NULL));
	REQUIRE_OK(mcn_paillier_precompute(pk, MCN_PAILLIER_COMB_H,
	    MCN_PAILLIER_COMB_V));
	check_homomorphic(sk, rng);
	mcn_rng_free(rng);
	mcn_paillier_sk_free(sk);
	kat_free(&k);
}

/* Signed values as residues mod n: v < 0 encodes as n + v; a decrypted
 * m > n/2 reads as m - n. Sums of negative fixed-point values work. */
static void
test_negative_values(void)
{
	mcn_paillier_sk *sk = small_key(512);
	const mcn_paillier_pk *pk = mcn_paillier_sk_pk(sk);
	mpz_srcptr n = mcn_paillier_n(pk);
	mcn_rng *rng = mcnt_rng(13);
	const long vals[] = { -5, 3, -1000000, 250,
		-1 }; /* fixed-point, scale 2^8 */
	long want = 0;
	mpz_t acc, c, m, half;

	mpz_inits(acc, c, m, half, NULL);
	mpz_fdiv_q_2exp(half, n, 1);
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		mpz_set_si(m, vals[i] * 256);
		mpz_mod(m, m, n);
		CHECK_OK(mcn_paillier_encrypt(pk, c, m, rng));
		if (i == 0) {
			mpz_set(acc, c);
		} else {
			mcn_paillier_ee_add(pk, acc, acc, c);
		}
		want += vals[i] * 256;
	}
	CHECK_OK(mcn_paillier_decrypt(sk, m, acc));
	if (mpz_cmp(m, half) > 0) {
		mpz_sub(m, m, n);
	}
	CHECK(mpz_cmp_si(m, want) == 0);
	CHECK(want == (-5 + 3 - 1000000 + 250 - 1) * 256);
	mpz_clears(acc, c, m, half, NULL);
	mcn_rng_free(rng);
	mcn_paillier_sk_free(sk);
}

/* The comb table computes exactly hs^a: with the same randomness, the
 * table path and the powm_sec path give the same ciphertext. */
static void
test_table_matches_powm(void)
{
	mcn_paillier_sk *sk = small_key(768);
	mcn_paillier_pk *pk = (mcn_paillier_pk *)mcn_paillier_sk_pk(sk);
	const unsigned hv[][2] = { { 1, 1 }, { 3, 2 }, { 5, 3 }, { 7, 7 },
		{ 8, 5 }, { 12, 8 } };
	mpz_t m, c1, c2;

	mpz_inits(m, c1, c2, NULL);
	mpz_set_ui(m, 424242);
	for (size_t t = 0; t < sizeof(hv) / sizeof(hv[0]); t++) {
		for (unsigned s = 0; s < 5; s++) {
			mcn_rng *r1 = mcnt_rng(100 + s),
			        *r2 = mcnt_rng(100 + s);
			CHECK(!mcn_paillier_has_table(pk));
			CHECK_OK(mcn_paillier_encrypt(pk, c1, m, r1));
			REQUIRE_OK(
			    mcn_paillier_precompute(pk, hv[t][0], hv[t][1]));
			CHECK(mcn_paillier_has_table(pk));
			CHECK_OK(mcn_paillier_encrypt(pk, c2, m, r2));
			CHECK_MPZ_EQ(c1, c2);
			mcn_rng_free(r1);
			mcn_rng_free(r2);
			/* back to the no-table path for the next c1 */
			mcn_paillier_drop_table(pk);
			CHECK_ERR(mcn_paillier_precompute(pk, 0, 1),
			    MCN_EINVAL);
			CHECK_ERR(mcn_paillier_precompute(pk, 15, 1),
			    MCN_EINVAL);
		}
	}
	mpz_clears(m, c1, c2, NULL);
	mcn_paillier_sk_free(sk);
}

static void
test_validation(void)
{
	mcn_paillier_sk *sk = small_key(512);
	const mcn_paillier_pk *pk = mcn_paillier_sk_pk(sk);
	mpz_srcptr n = mcn_paillier_n(pk), n2 = mcn_paillier_n2(pk);
	mcn_rng *rng = mcnt_rng(14);
	mpz_t c, m;

	mpz_inits(c, m, NULL);
	mpz_set_ui(c, 0);
	CHECK_ERR(mcn_paillier_decrypt(sk, m, c), MCN_ECIPHERTEXT);
	mpz_set_si(c, -7);
	CHECK_ERR(mcn_paillier_decrypt(sk, m, c), MCN_ECIPHERTEXT);
	mpz_set(c, n2);
	CHECK_ERR(mcn_paillier_decrypt(sk, m, c), MCN_ECIPHERTEXT);
	mpz_add_ui(c, n2, 1);
	CHECK_ERR(mcn_paillier_ct_validate(pk, c), MCN_ECIPHERTEXT);
	mpz_set(c, n); /* gcd(c, n) = n */
	CHECK_ERR(mcn_paillier_decrypt(sk, m, c), MCN_ECIPHERTEXT);
	mpz_mul_ui(c, n, 3);
	mpz_add(c, c, n); /* 4n: a multiple of p and q */
	CHECK_ERR(mcn_paillier_ct_validate(pk, c), MCN_ECIPHERTEXT);
	mpz_set_ui(c, 1); /* E(0; r=1): a valid ciphertext */
	CHECK_OK(mcn_paillier_ct_validate(pk, c));
	CHECK_OK(mcn_paillier_decrypt(sk, m, c));
	CHECK(mpz_sgn(m) == 0);
	mpz_set(m, n);
	CHECK_ERR(mcn_paillier_encrypt(pk, c, m, rng), MCN_EPLAINTEXT);
	CHECK_ERR(mcn_paillier_encrypt_plain(pk, c, m, rng), MCN_EPLAINTEXT);
	mpz_set_si(m, -1);
	CHECK_ERR(mcn_paillier_encrypt(pk, c, m, rng), MCN_EPLAINTEXT);
	mpz_set_ui(m, 5);
	CHECK_ERR(mcn_paillier_encrypt_r(pk, c, m, n), MCN_EINVAL);
	mpz_clears(c, m, NULL);
	mcn_rng_free(rng);
	mcn_paillier_sk_free(sk);
}

static void
test_bad_keys(void)
{
	mcn_paillier_pk *pk = NULL;
	mcn_paillier_sk *sk = NULL;
	mcn_rng *rng = mcnt_rng(15);
	mpz_t n, hs, p, q;

	mpz_inits(n, hs, p, q, NULL);
	CHECK_ERR(mcn_paillier_keygen(&pk, &sk, 100, rng), MCN_EINVAL);
	CHECK_ERR(mcn_paillier_keygen(&pk, &sk, 2050, rng), MCN_EINVAL);
	CHECK(pk == NULL && sk == NULL);
	mpz_set_ui(hs, 4);
	mpz_setbit(n, 511);
	mpz_add_ui(n, n, 2); /* even */
	CHECK_ERR(mcn_paillier_pk_new(&pk, n, hs), MCN_EKEY);
	mpz_nextprime(n, n); /* prime, not a product */
	CHECK_ERR(mcn_paillier_pk_new(&pk, n, hs), MCN_EKEY);
	mpz_set_ui(p, 1);
	mpz_mul_2exp(p, p, 255);
	mpz_nextprime(p, p);
	mpz_mul(n, p, p); /* a square */
	CHECK_ERR(mcn_paillier_pk_new(&pk, n, hs), MCN_EKEY);
	mpz_set_ui(q, 3);
	mpz_mul(n, p, q); /* small factor, wrong size */
	CHECK_ERR(mcn_paillier_pk_new(&pk, n, hs), MCN_EKEY);
	CHECK_ERR(mcn_paillier_from_primes(&pk, &sk, p, p, NULL, rng),
	    MCN_EKEY);
	mpz_add_ui(q, p,
	    2); /* not prime (p odd prime => p + 2 may be); force */
	mpz_mul_ui(q, p, 1);
	mpz_add_ui(q, q, 1); /* even */
	CHECK_ERR(mcn_paillier_from_primes(&pk, &sk, p, q, NULL, rng),
	    MCN_EKEY);
	CHECK(pk == NULL && sk == NULL);
	/* 260-bit primes: n has 520 bits, not a multiple of 16, so p and q
	 * would not fit the serialized layout */
	mpz_set_ui(p, 3);
	mpz_mul_2exp(p, p, 258);
	mpz_nextprime(p, p);
	mpz_nextprime(q, p);
	CHECK(mpz_sizeinbase(p, 2) == 260);
	CHECK_ERR(mcn_paillier_from_primes(&pk, &sk, p, q, NULL, rng),
	    MCN_EKEY);
	CHECK(pk == NULL && sk == NULL);
	mpz_clears(n, hs, p, q, NULL);
	mcn_rng_free(rng);
}

static void
test_keygen_sizes(void)
{
	const unsigned sizes[] = { 2048, 3072, 4096 };
	mcn_rng *rng = mcnt_rng(16);
	mpz_t m, c, d;

	mpz_inits(m, c, d, NULL);
	mpz_set_str(m, "123456789abcdef0123456789abcdef", 16);
	for (size_t i = 0; i < 3; i++) {
		mcn_paillier_pk *pk = NULL;
		mcn_paillier_sk *sk = NULL;
		REQUIRE_OK(mcn_paillier_keygen(&pk, &sk, sizes[i], rng));
		CHECK(mcn_paillier_bits(pk) == sizes[i]);
		CHECK(mpz_sizeinbase(mcn_paillier_n(pk), 2) == sizes[i]);
		CHECK(mcn_paillier_plaintext_bits(pk) == sizes[i] - 1);
		CHECK(mcn_paillier_djn_exp_bits(pk) == sizes[i] / 2);
		CHECK_OK(mcn_paillier_encrypt(pk, c, m, rng));
		CHECK_OK(mcn_paillier_decrypt(sk, d, c));
		CHECK_MPZ_EQ(d, m);
		mcn_paillier_sk_free(sk);
	}
	mpz_clears(m, c, d, NULL);
	mcn_rng_free(rng);
}

static void
test_serialization(void)
{
	mcn_paillier_sk *sk = small_key(512), *sk2 = small_key(528),
	                *sk3 = NULL;
	const mcn_paillier_pk *pk = mcn_paillier_sk_pk(sk);
	const mcn_paillier_pk *other = mcn_paillier_sk_pk(sk2);
	mcn_paillier_pk *pk2 = NULL, *bad = NULL;
	mcn_rng *rng = mcnt_rng(17);
	uint8_t buf[4096], buf2[4096];
	size_t len;
	mpz_t m, c, c2, d;

	mpz_inits(m, c, c2, d, NULL);
	/* public key round trip */
	len = mcn_paillier_pk_len(pk);
	CHECK(len == 8 + 4 + 32 + 3 * 64);
	CHECK_ERR(mcn_paillier_pk_export(pk, buf, len - 1), MCN_EINVAL);
	REQUIRE_OK(mcn_paillier_pk_export(pk, buf, len));
	REQUIRE_OK(mcn_paillier_pk_import(&pk2, buf, len));
	CHECK_MPZ_EQ(mcn_paillier_n(pk2), mcn_paillier_n(pk));
	CHECK_MPZ_EQ(mcn_paillier_hs(pk2), mcn_paillier_hs(pk));
	CHECK(memcmp(mcn_paillier_fingerprint(pk2),
	          mcn_paillier_fingerprint(pk), 32) == 0);
	/* error cases on the public key */
	CHECK_ERR(mcn_paillier_pk_import(&bad, buf, len - 1), MCN_EFORMAT);
	memcpy(buf2, buf, len);
	buf2[0] = 'X';
	CHECK_ERR(mcn_paillier_pk_import(&bad, buf2, len), MCN_EFORMAT);
	memcpy(buf2, buf, len);
	buf2[3] = 2;
	CHECK_ERR(mcn_paillier_pk_import(&bad, buf2, len), MCN_EVERSION);
	memcpy(buf2, buf, len);
	buf2[4] = 0x02; /* a secret-key type tag */
	CHECK_ERR(mcn_paillier_pk_import(&bad, buf2, len), MCN_EFORMAT);
	memcpy(buf2, buf, len);
	buf2[12 + 5] ^= 1; /* fingerprint */
	CHECK_ERR(mcn_paillier_pk_import(&bad, buf2, len), MCN_EKEYMISMATCH);
	memcpy(buf2, buf, len);
	buf2[12 + 32 + 63] ^= 1; /* n made even */
	CHECK_ERR(mcn_paillier_pk_import(&bad, buf2, len), MCN_EKEY);
	CHECK(bad == NULL);
	/* secret key round trip */
	len = mcn_paillier_sk_len(sk);
	REQUIRE_OK(mcn_paillier_sk_export(sk, buf, len));
	REQUIRE_OK(mcn_paillier_sk_import(&sk3, buf, len));
	CHECK(memcmp(mcn_paillier_fingerprint(mcn_paillier_sk_pk(sk3)),
	          mcn_paillier_fingerprint(pk), 32) == 0);
	buf[12 + 32 + 10] ^= 0x40; /* corrupt p */
	{
		mcn_paillier_sk *sk4 = NULL;
		mcn_err rv = mcn_paillier_sk_import(&sk4, buf, len);
		CHECK(rv == MCN_EKEY || rv == MCN_EKEYMISMATCH);
		CHECK(sk4 == NULL);
	}
	/* ciphertext round trip, and rejection under another key */
	mpz_set_ui(m, 99);
	CHECK_OK(mcn_paillier_encrypt(pk, c, m, rng));
	len = mcn_paillier_ct_len(pk);
	CHECK(len == 8 + 16 + 128);
	REQUIRE_OK(mcn_paillier_ct_export(pk, buf, len, c));
	CHECK_OK(mcn_paillier_ct_import(pk2, c2, buf, len));
	CHECK_MPZ_EQ(c2, c);
	CHECK_OK(mcn_paillier_decrypt(sk3, d, c2));
	CHECK_MPZ_EQ(d, m);
	CHECK_ERR(mcn_paillier_ct_import(other, c2, buf, len),
	    MCN_EKEYMISMATCH);
	CHECK_ERR(mcn_paillier_ct_import(pk, c2, buf, len + 1), MCN_EFORMAT);
	memset(buf + 24, 0, len - 24); /* c = 0 */
	CHECK_ERR(mcn_paillier_ct_import(pk, c2, buf, len), MCN_ECIPHERTEXT);
	memset(buf + 24, 0xff, len - 24); /* c >= n^2 */
	CHECK_ERR(mcn_paillier_ct_import(pk, c2, buf, len), MCN_ECIPHERTEXT);
	mpz_clears(m, c, c2, d, NULL);
	mcn_paillier_pk_free(pk2);
	mcn_paillier_sk_free(sk3);
	mcn_paillier_sk_free(sk);
	mcn_paillier_sk_free(sk2);
	mcn_rng_free(rng);
}

static void
test_batch(void)
{
	enum { N = 37 };
	mcn_paillier_sk *sk = small_key(512);
	mcn_paillier_pk *pk = (mcn_paillier_pk *)mcn_paillier_sk_pk(sk);
	mcn_rng *rng = mcnt_rng(18);
	mcn_rng_pool *pool = NULL;
	mpz_t m[N], c[N], s[N], d[N], want;

	REQUIRE_OK(mcn_paillier_precompute(pk, 6, 4));
	REQUIRE_OK(mcn_rng_pool_new(&pool, rng, mcn_threads_max()));
	mpz_init(want);
	for (int i = 0; i < N; i++) {
		mpz_inits(m[i], c[i], s[i], d[i], NULL);
		mpz_set_ui(m[i], (unsigned long)i * 1000003u);
	}
	CHECK_OK(mcn_paillier_encrypt_vec(pk, c, (const mpz_t *)m, N, pool));
	CHECK_OK(mcn_paillier_ct_validate_vec(pk, (const mpz_t *)c, N));
	mcn_paillier_ee_add_vec(pk, s, (const mpz_t *)c, (const mpz_t *)c, N);
	CHECK_OK(mcn_paillier_decrypt_vec(sk, d, (const mpz_t *)s, N));
	for (int i = 0; i < N; i++) {
		mpz_mul_ui(want, m[i], 2);
		CHECK_MPZ_EQ(d[i], want);
	}
	mpz_set_ui(c[5], 0);
	CHECK_ERR(mcn_paillier_ct_validate_vec(pk, (const mpz_t *)c, N),
	    MCN_ECIPHERTEXT);
	CHECK_ERR(mcn_paillier_decrypt_vec(sk, d, (const mpz_t *)c, N),
	    MCN_ECIPHERTEXT);
	mpz_set(m[7], mcn_paillier_n(pk));
	CHECK_ERR(mcn_paillier_encrypt_vec(pk, c, (const mpz_t *)m, N, pool),
	    MCN_EPLAINTEXT);
	for (int i = 0; i < N; i++) {
		mpz_clears(m[i], c[i], s[i], d[i], NULL);
	}
	mpz_clear(want);
	mcn_rng_pool_free(pool);
	mcn_rng_free(rng);
	mcn_paillier_sk_free(sk);
}

/* Every allocation failure in keygen, precompute and import is a clean
 * MCN_ENOMEM (ASan checks that nothing leaks). */
static void
test_alloc_failures(void)
{
	mcn_paillier_sk *sk = small_key(512);
	mcn_rng *rng = mcnt_rng(19);
	uint8_t buf[1024];
	size_t len = mcn_paillier_pk_len(mcn_paillier_sk_pk(sk));
	unsigned long total;
	int saw_enomem = 0;

	REQUIRE_OK(mcn_paillier_pk_export(mcn_paillier_sk_pk(sk), buf, len));
	mcn_alloc_fail_at(0);
	{
		mcn_paillier_pk *pk = NULL;
		REQUIRE_OK(mcn_paillier_pk_import(&pk, buf, len));
		total = mcn_alloc_fail_at(0);
		REQUIRE_OK(mcn_paillier_precompute(pk, 4, 2));
		total += mcn_alloc_fail_at(0);
		mcn_paillier_pk_free(pk);
	}
	CHECK(total >= 2);
	for (unsigned long i = 1; i <= total; i++) {
		mcn_paillier_pk *pk = NULL;
		mcn_err rv;
		mcn_alloc_fail_at(i);
		rv = mcn_paillier_pk_import(&pk, buf, len);
		if (rv == MCN_OK) {
			rv = mcn_paillier_precompute(pk, 4, 2);
		}
		mcn_alloc_fail_at(0);
		CHECK(rv == MCN_OK || rv == MCN_ENOMEM);
		saw_enomem |= rv == MCN_ENOMEM;
		mcn_paillier_pk_free(pk);
	}
	CHECK(saw_enomem);
	mcn_rng_free(rng);
	mcn_paillier_sk_free(sk);
}

MCNT_MAIN({ "known_answers", test_known_answers },
    { "homomorphic_small", test_homomorphic_small },
    { "homomorphic_2048", test_homomorphic_2048 },
    { "negative_values", test_negative_values },
    { "table_matches_powm", test_table_matches_powm },
    { "validation", test_validation }, { "bad_keys", test_bad_keys },
    { "keygen_sizes", test_keygen_sizes },
    { "serialization", test_serialization }, { "batch", test_batch },
    { "alloc_failures", test_alloc_failures }, )
