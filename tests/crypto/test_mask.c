/* tests/crypto/test_mask.c - X25519, HKDF, the ChaCha20 PRG and zero-sum masks. */
#include "test.h"

#include <openssl/err.h>

#include "crypto/box.h"
#include "crypto/mask.h"
#include "crypto/share.h"

/* Decodes a hex string into exactly n bytes; exits on malformed input. */
static void
mcnt_hex(uint8_t *out, size_t n, const char *hex)
{
	if (strlen(hex) != 2 * n) {
		fprintf(stderr, "bad hex length\n");
		exit(1);
	}
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1) {
			fprintf(stderr, "bad hex\n");
			exit(1);
		}
		out[i] = (uint8_t)v;
	}
}

/* Word i of a PRG output as the 8 little-endian bytes it stands for. */
static void
mcnt_le64(uint8_t out[8], uint64_t w)
{
	for (int i = 0; i < 8; i++) {
		out[i] = (uint8_t)(w >> (8 * i));
	}
}

static int
mcnt_all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++) {
		if (b[i] != 0) {
			return 0;
		}
	}
	return 1;
}

/* ---- RFC 7748 section 6.1 ------------------------------------------------ */

#define RFC7748_A_PRIV \
	"77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
#define RFC7748_A_PUB \
	"8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
#define RFC7748_B_PRIV \
	"5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"
#define RFC7748_B_PUB \
	"de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
#define RFC7748_K \
	"4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"

static void
mcnt_rfc7748_keys(mcn_x25519_keypair *alice, mcn_x25519_keypair *bob)
{
	mcnt_hex(alice->priv, 32, RFC7748_A_PRIV);
	mcnt_hex(alice->pub, 32, RFC7748_A_PUB);
	mcnt_hex(bob->priv, 32, RFC7748_B_PRIV);
	mcnt_hex(bob->pub, 32, RFC7748_B_PUB);
}

static void
test_x25519_rfc7748(void)
{
	mcn_x25519_keypair a, b;
	uint8_t pub[32], k[32], ka[32], kb[32];

	mcnt_rfc7748_keys(&a, &b);
	mcnt_hex(k, 32, RFC7748_K);
	CHECK_OK(mcn_x25519_public(pub, a.priv));
	CHECK(memcmp(pub, a.pub, 32) == 0);
	CHECK_OK(mcn_x25519_public(pub, b.priv));
	CHECK(memcmp(pub, b.pub, 32) == 0);
	CHECK_OK(mcn_x25519_shared(ka, a.priv, b.pub));
	CHECK_OK(mcn_x25519_shared(kb, b.priv, a.pub));
	CHECK(memcmp(ka, k, 32) == 0);
	CHECK(memcmp(kb, k, 32) == 0);
}

static void
test_x25519_small_order(void)
{
	mcn_x25519_keypair a, b;
	uint8_t peer[32], out[32];

	mcnt_rfc7748_keys(&a, &b);
	ERR_clear_error();
	/* u = 0 (order 2 point / identity) and u = 1 (order 4): X25519 of
	 * any clamped scalar (a multiple of 8) is the all-zero value. */
	memset(peer, 0, sizeof(peer));
	memset(out, 0xaa, sizeof(out));
	CHECK_ERR(mcn_x25519_shared(out, a.priv, peer), MCN_EKEY);
	CHECK(mcnt_all_zero(out, sizeof(out)));
	peer[0] = 1;
	memset(out, 0xaa, sizeof(out));
	CHECK_ERR(mcn_x25519_shared(out, a.priv, peer), MCN_EKEY);
	CHECK(mcnt_all_zero(out, sizeof(out)));
	/* the expected rejection leaves OpenSSL's error queue clean */
	CHECK(ERR_peek_error() == 0);
}

static void
test_x25519_keygen(void)
{
	mcn_rng *r1 = mcnt_rng(31), *r2 = mcnt_rng(31);
	mcn_x25519_keypair a, a2, b;
	uint8_t pub[32], kab[32], kba[32];

	CHECK_OK(mcn_x25519_keygen(&a, r1));
	CHECK_OK(mcn_x25519_keygen(&b, r1));
	CHECK_OK(mcn_x25519_keygen(&a2, r2));
	CHECK(memcmp(&a, &a2, sizeof(a)) == 0); /* same seed, same key */
	CHECK(memcmp(a.priv, b.priv, 32) != 0);
	CHECK_OK(mcn_x25519_public(pub, a.priv));
	CHECK(memcmp(pub, a.pub, 32) == 0);
	CHECK_OK(mcn_x25519_shared(kab, a.priv, b.pub));
	CHECK_OK(mcn_x25519_shared(kba, b.priv, a.pub));
	CHECK(memcmp(kab, kba, 32) == 0);
	CHECK_OK(mcn_x25519_keygen(&a, mcn_rng_system()));
	CHECK(!mcnt_all_zero(a.priv, 32));
	mcn_wipe(&a, sizeof(a));
	mcn_wipe(&a2, sizeof(a2));
	mcn_wipe(&b, sizeof(b));
	mcn_rng_free(r1);
	mcn_rng_free(r2);
}

/* ---- RFC 5869 ------------------------------------------------------------ */

static void
test_hkdf_rfc5869(void)
{
	uint8_t ikm[22], salt[13], info[10], okm[42], want[42];
	uint8_t big[MCN_HKDF_INFO_MAX + 1] = { 0 }, out8160[255 * 32];

	memset(ikm, 0x0b, sizeof(ikm));
	for (int i = 0; i < 13; i++) {
		salt[i] = (uint8_t)i;
	}
	for (int i = 0; i < 10; i++) {
		info[i] = (uint8_t)(0xf0 + i);
	}
	/* Test case 1 (A.1): SHA-256, 22-byte IKM, 13-byte salt, L = 42. */
	mcnt_hex(want, 42,
	    "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c"
	    "5db02d56ecc4c5bf34007208d5b887185865");
	CHECK_OK(mcn_hkdf_sha256(okm, 42, ikm, 22, salt, 13, info, 10));
	CHECK(memcmp(okm, want, 42) == 0);
	/* Test case 3 (A.3): empty salt and info. */
	mcnt_hex(want, 42,
	    "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879e"
	    "c3454e5f3c738d2d9d201395faa4b61a96c8");
	CHECK_OK(mcn_hkdf_sha256(okm, 42, ikm, 22, NULL, 0, NULL, 0));
	CHECK(memcmp(okm, want, 42) == 0);
	/* Limits. */
	CHECK_ERR(mcn_hkdf_sha256(okm, 0, ikm, 22, NULL, 0, NULL, 0),
	    MCN_EINVAL);
	CHECK_ERR(mcn_hkdf_sha256(out8160, sizeof(out8160) + 1, ikm, 22, NULL,
	              0, NULL, 0),
	    MCN_EINVAL);
	CHECK_OK(mcn_hkdf_sha256(out8160, sizeof(out8160), ikm, 22, NULL, 0,
	    NULL, 0));
	CHECK(memcmp(out8160, want, 42) == 0); /* a prefix of T(1)..T(255) */
	CHECK_ERR(mcn_hkdf_sha256(okm, 42, ikm, 0, NULL, 0, NULL, 0),
	    MCN_EINVAL);
	CHECK_OK(
	    mcn_hkdf_sha256(okm, 42, ikm, 22, NULL, 0, big, MCN_HKDF_INFO_MAX));
	CHECK_ERR(mcn_hkdf_sha256(okm, 42, ikm, 22, NULL, 0, big,
	              MCN_HKDF_INFO_MAX + 1),
	    MCN_EINVAL);
}

/* ---- RFC 8439 ChaCha20 PRG ----------------------------------------------- */

static void
test_prg_chacha20(void)
{
	/* RFC 8439 A.1 test vectors #1 and #2: key 0, nonce 0, block
	 * counter 0 and 1, i.e. the first 128 bytes of our PRG at seed 0. */
	static const char *want_hex =
	    "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
	    "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586"
	    "9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed"
	    "29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f";
	uint8_t seed[32] = { 0 }, want[128], got[128];
	uint64_t w[16];

	mcnt_hex(want, 128, want_hex);
	CHECK_OK(mcn_prg_u64(w, 16, seed));
	for (int i = 0; i < 16; i++) {
		mcnt_le64(got + 8 * i, w[i]);
	}
	CHECK(memcmp(got, want, 64) == 0);           /* A.1 #1 */
	CHECK(memcmp(got + 64, want + 64, 64) == 0); /* A.1 #2 */
	CHECK_U64_EQ(w[0], 0x903df1a0ade0b876ULL);   /* read little-endian */
}

static void
test_prg_stream(void)
{
	/* A long output (1 MiB + 24 bytes) spans many 64 KiB internal chunks
	 * and ends in a partial one; a short output must be its prefix, and
	 * another seed gives another stream. */
	const size_t n = ((size_t)1 << 17) + 3, m = 1000;
	uint64_t *a = calloc(n, sizeof(uint64_t)), *b = calloc(n, 8);
	uint8_t seed[32];
	size_t same = 0;

	for (int i = 0; i < 32; i++) {
		seed[i] = (uint8_t)(i * 7 + 1);
	}
	CHECK_OK(mcn_prg_u64(a, n, seed));
	CHECK_OK(mcn_prg_u64(b, m, seed));
	CHECK(memcmp(a, b, m * sizeof(uint64_t)) == 0);
	CHECK_OK(mcn_prg_u64(b, n, seed));
	CHECK(memcmp(a, b, n * sizeof(uint64_t)) == 0);
	seed[31] ^= 1;
	CHECK_OK(mcn_prg_u64(b, n, seed));
	for (size_t i = 0; i < n; i++) {
		same += a[i] == b[i];
	}
	CHECK(same == 0);
	CHECK_OK(mcn_prg_u64(NULL, 0, seed));
	CHECK_ERR(mcn_prg_u64(a, (size_t)MCN_PRG_MAX_WORDS + 1, seed),
	    MCN_EINVAL);
	free(a);
	free(b);
}

/* ---- pair seeds ---------------------------------------------------------- */

static const uint8_t mcnt_label1[] = "query-1";
#define MCNT_LABEL1_LEN (sizeof(mcnt_label1) - 1)

/*
 * Known answer, computed independently (Python: cryptography's X25519 and
 * hmac/hashlib HKDF) for the RFC 7748 keys with Bob as id 3 and Alice as
 * id 7, label "query-1":
 *   ikm  = K of RFC 7748 6.1
 *   salt = "mcn-mask-v1"
 *   info = "query-1" || 00000003 || 00000007 || Bob's pub || Alice's pub
 *   seed = c8e5ddd1...c99602a5, and its ChaCha20 stream starts with the
 *   words 0xc2d7f017e2b579e9, 0xd90017dbf8317e1b.
 */
#define MCNT_PAIR_SEED \
	"c8e5ddd13bcb9aa86b618a7c2e0beeaa425e5707d75fd04d8f16b1f3c99602a5"

static void
test_pair_seed(void)
{
	mcn_x25519_keypair a, b;
	uint8_t sa[32], sb[32], want[32], s2[32];
	uint8_t longlabel[MCN_MASK_LABEL_MAX + 1] = { 0 };

	mcnt_rfc7748_keys(&a, &b);
	mcnt_hex(want, 32, MCNT_PAIR_SEED);
	CHECK_OK(mcn_mask_pair_seed(sa, &a, 7, b.pub, 3, mcnt_label1,
	    MCNT_LABEL1_LEN));
	CHECK_OK(mcn_mask_pair_seed(sb, &b, 3, a.pub, 7, mcnt_label1,
	    MCNT_LABEL1_LEN));
	CHECK(memcmp(sa, want, 32) == 0);
	CHECK(memcmp(sb, want, 32) == 0); /* symmetric */
	/* label, ids and empty label all change the seed */
	CHECK_OK(mcn_mask_pair_seed(s2, &a, 7, b.pub, 3,
	    (const uint8_t *)"query-2", 7));
	CHECK(memcmp(s2, want, 32) != 0);
	CHECK_OK(mcn_mask_pair_seed(s2, &a, 8, b.pub, 3, mcnt_label1,
	    MCNT_LABEL1_LEN));
	CHECK(memcmp(s2, want, 32) != 0);
	CHECK_OK(mcn_mask_pair_seed(s2, &a, 7, b.pub, 3, NULL, 0));
	CHECK(memcmp(s2, want, 32) != 0);
	/* limits and errors */
	CHECK_OK(mcn_mask_pair_seed(s2, &a, 7, b.pub, 3, longlabel,
	    MCN_MASK_LABEL_MAX));
	CHECK_ERR(mcn_mask_pair_seed(s2, &a, 7, b.pub, 3, longlabel,
	              MCN_MASK_LABEL_MAX + 1),
	    MCN_EINVAL);
	CHECK_ERR(mcn_mask_pair_seed(s2, &a, 7, b.pub, 7, mcnt_label1,
	              MCNT_LABEL1_LEN),
	    MCN_EINVAL);
	memset(b.pub, 0, 32);
	CHECK_ERR(mcn_mask_pair_seed(s2, &a, 7, b.pub, 3, mcnt_label1,
	              MCNT_LABEL1_LEN),
	    MCN_EKEY);
	CHECK(mcnt_all_zero(s2, 32));
}

/* ---- zero-sum masks ------------------------------------------------------ */

#define MCNT_P 5

static void
test_mask_two_party(void)
{
	/* Lower id adds PRG(seed), higher id subtracts it; checked against
	 * the known pair seed above and over several 8192-word chunks. */
	const size_t len = 100003;
	mcn_x25519_keypair a, b;
	uint64_t *ma = calloc(len, 8), *mb = calloc(len, 8);
	uint64_t *prg = calloc(len, 8);
	uint8_t seed[32];
	const uint32_t id_a = 7, id_b = 3;

	mcnt_rfc7748_keys(&a, &b);
	mcnt_hex(seed, 32, MCNT_PAIR_SEED);
	CHECK_OK(mcn_prg_u64(prg, len, seed));
	CHECK_U64_EQ(prg[0], 0xc2d7f017e2b579e9ULL);
	CHECK_U64_EQ(prg[1], 0xd90017dbf8317e1bULL);
	CHECK_OK(mcn_mask_zero_sum(mb, len, &b, id_b, &id_a,
	    (const uint8_t(*)[32]) & a.pub, 1, mcnt_label1, MCNT_LABEL1_LEN));
	CHECK_OK(mcn_mask_zero_sum(ma, len, &a, id_a, &id_b,
	    (const uint8_t(*)[32]) & b.pub, 1, mcnt_label1, MCNT_LABEL1_LEN));
	CHECK(memcmp(mb, prg, len * 8) == 0);
	for (size_t i = 0; i < len; i++) {
		prg[i] = (uint64_t)0 - prg[i];
	}
	CHECK(memcmp(ma, prg, len * 8) == 0);
	free(ma);
	free(mb);
	free(prg);
}

/* Five parties with ids out of order; party u's peers are all the others. */
struct mcnt_parties {
	mcn_x25519_keypair kp[MCNT_P];
	uint32_t id[MCNT_P];
	uint8_t pub[MCNT_P][32];
};

static void
mcnt_parties_init(struct mcnt_parties *ps, unsigned seed)
{
	static const uint32_t ids[MCNT_P] = { 10, 3, 42, 7, 1000 };
	mcn_rng *r = mcnt_rng(seed);

	for (int u = 0; u < MCNT_P; u++) {
		if (mcn_x25519_keygen(&ps->kp[u], r) != MCN_OK) {
			fprintf(stderr, "keygen failed\n");
			exit(1);
		}
		ps->id[u] = ids[u];
		memcpy(ps->pub[u], ps->kp[u].pub, 32);
	}
	mcn_rng_free(r);
}

/* mask of party u against all others. */
static mcn_err
mcnt_party_mask(uint64_t *mask, size_t len, const struct mcnt_parties *ps,
    int u, const uint8_t *label, size_t label_len)
{
	uint32_t ids[MCNT_P - 1];
	uint8_t pubs[MCNT_P - 1][32];
	size_t k = 0;

	for (int v = 0; v < MCNT_P; v++) {
		if (v != u) {
			ids[k] = ps->id[v];
			memcpy(pubs[k], ps->pub[v], 32);
			k++;
		}
	}
	return mcn_mask_zero_sum(mask, len, &ps->kp[u], ps->id[u], ids,
	    (const uint8_t(*)[32])pubs, k, label, label_len);
}

static void
test_mask_zero_sum(void)
{
	static const size_t lens[] = { 1, 1000, 100003 };
	struct mcnt_parties ps;
	mcn_rng *r = mcnt_rng(41);

	mcnt_parties_init(&ps, 40);
	for (size_t li = 0; li < 3; li++) {
		size_t len = lens[li];
		uint64_t *sum = calloc(len, 8), *msum = calloc(len, 8);
		uint64_t *xsum = calloc(len, 8);
		uint64_t *mask = calloc(len, 8), *x = calloc(len, 8);
		uint64_t *other = calloc(len, 8);

		for (int u = 0; u < MCNT_P; u++) {
			size_t hidden = 0, fresh = 0;

			CHECK_OK(mcnt_party_mask(mask, len, &ps, u, mcnt_label1,
			    MCNT_LABEL1_LEN));
			mcn_u64_vec_add(sum, mask, len);
			/* the party's input, masked */
			CHECK_OK(mcn_rng_bytes(r, x, len * 8));
			mcn_u64_vec_add(xsum, x, len);
			for (size_t i = 0; i < len; i++) {
				hidden += x[i] + mask[i] != x[i];
			}
			CHECK(hidden == len);
			mcn_u64_vec_add(x, mask, len);
			mcn_u64_vec_add(msum, x, len);
			/* another query label: an unrelated mask */
			CHECK_OK(mcnt_party_mask(other, len, &ps, u,
			    (const uint8_t *)"query-2", 7));
			for (size_t i = 0; i < len; i++) {
				fresh += other[i] != mask[i];
			}
			CHECK(fresh == len);
		}
		CHECK(mcnt_all_zero(sum, len * 8));
		CHECK(memcmp(msum, xsum, len * 8) == 0);
		free(sum);
		free(msum);
		free(xsum);
		free(mask);
		free(x);
		free(other);
	}
	mcn_wipe(&ps, sizeof(ps));
	mcn_rng_free(r);
}

static void
test_mask_pair_symmetry(void)
{
	struct mcnt_parties ps;

	mcnt_parties_init(&ps, 42);
	for (int u = 0; u < MCNT_P; u++) {
		for (int v = 0; v < MCNT_P; v++) {
			uint8_t suv[32], svu[32];
			if (u == v) {
				continue;
			}
			CHECK_OK(mcn_mask_pair_seed(suv, &ps.kp[u], ps.id[u],
			    ps.pub[v], ps.id[v], mcnt_label1, MCNT_LABEL1_LEN));
			CHECK_OK(mcn_mask_pair_seed(svu, &ps.kp[v], ps.id[v],
			    ps.pub[u], ps.id[u], mcnt_label1, MCNT_LABEL1_LEN));
			CHECK(memcmp(suv, svu, 32) == 0);
		}
	}
	mcn_wipe(&ps, sizeof(ps));
}

static void
test_mask_errors(void)
{
	struct mcnt_parties ps;
	uint64_t mask[4];
	uint32_t ids[3];
	uint8_t pubs[3][32];
	uint8_t longlabel[MCN_MASK_LABEL_MAX + 1] = { 0 };

	mcnt_parties_init(&ps, 43);
	memcpy(pubs[0], ps.pub[1], 32);
	memcpy(pubs[1], ps.pub[2], 32);
	memcpy(pubs[2], ps.pub[3], 32);
	/* a repeated peer id */
	ids[0] = ps.id[1];
	ids[1] = ps.id[2];
	ids[2] = ps.id[1];
	CHECK_ERR(mcn_mask_zero_sum(mask, 4, &ps.kp[0], ps.id[0], ids,
	              (const uint8_t(*)[32])pubs, 3, NULL, 0),
	    MCN_EDUPLICATE);
	/* a peer with my own id */
	ids[2] = ps.id[0];
	CHECK_ERR(mcn_mask_zero_sum(mask, 4, &ps.kp[0], ps.id[0], ids,
	              (const uint8_t(*)[32])pubs, 3, NULL, 0),
	    MCN_EDUPLICATE);
	ids[2] = ps.id[3];
	/* label too long */
	CHECK_ERR(mcn_mask_zero_sum(mask, 4, &ps.kp[0], ps.id[0], ids,
	              (const uint8_t(*)[32])pubs, 3, longlabel,
	              MCN_MASK_LABEL_MAX + 1),
	    MCN_EINVAL);
	/* a small-order key from the last peer: error, and no partial mask */
	memset(pubs[2], 0, 32);
	memset(mask, 0xaa, sizeof(mask));
	CHECK_ERR(mcn_mask_zero_sum(mask, 4, &ps.kp[0], ps.id[0], ids,
	              (const uint8_t(*)[32])pubs, 3, NULL, 0),
	    MCN_EKEY);
	CHECK(mcnt_all_zero(mask, sizeof(mask)));
	/* no peers: the zero mask (a lone party has nothing to hide behind) */
	memset(mask, 0xaa, sizeof(mask));
	CHECK_OK(mcn_mask_zero_sum(mask, 4, &ps.kp[0], ps.id[0], NULL, NULL, 0,
	    NULL, 0));
	CHECK(mcnt_all_zero(mask, sizeof(mask)));
	mcn_wipe(&ps, sizeof(ps));
}

/*
 * mcn_mask_zero_sum is the only function here that takes memory from
 * mcn_alloc (the keystream chunk); every allocation is failed in turn.
 * X25519, HKDF and the PRG allocate only inside OpenSSL, which cannot be
 * failed from here: the test checks they make no mcn_alloc call at all.
 */
static void
test_mask_alloc_failure(void)
{
	struct mcnt_parties ps;
	const size_t len = 20000;
	uint64_t *mask = calloc(len, 8), *want = calloc(len, 8);
	unsigned long injected = 0;
	uint8_t seed[32], out[32];
	mcn_err rv;

	mcnt_parties_init(&ps, 44);
	REQUIRE_OK(
	    mcnt_party_mask(want, len, &ps, 2, mcnt_label1, MCNT_LABEL1_LEN));
	for (unsigned long n = 1;; n++) {
		memset(mask, 0xaa, len * 8);
		mcn_alloc_fail_at(n);
		rv = mcnt_party_mask(mask, len, &ps, 2, mcnt_label1,
		    MCNT_LABEL1_LEN);
		mcn_alloc_fail_at(0);
		if (rv == MCN_OK) {
			break;
		}
		injected++;
		CHECK_ERR(rv, MCN_ENOMEM);
		CHECK(mcnt_all_zero(mask, len * 8));
		if (n > 100) {
			MCNT_FAIL("mask never succeeded");
			break;
		}
	}
	CHECK_U64_EQ(injected, 1);
	CHECK(memcmp(mask, want, len * 8) == 0);

	mcn_alloc_fail_at(0);
	CHECK_OK(mcn_x25519_keygen(&ps.kp[0], mcn_rng_system()));
	CHECK_OK(mcn_x25519_shared(out, ps.kp[0].priv, ps.pub[1]));
	CHECK_OK(mcn_mask_pair_seed(seed, &ps.kp[0], 1, ps.pub[1], 2, NULL, 0));
	CHECK_OK(mcn_prg_u64(mask, len, seed));
	CHECK_U64_EQ(mcn_alloc_fail_at(0), 0);
	mcn_wipe(&ps, sizeof(ps));
	mcn_wipe(seed, sizeof(seed));
	mcn_wipe(out, sizeof(out));
	free(mask);
	free(want);
}

/* Boxes between two mask keys: round trip; any other direction, label,
 * recipient or a flipped bit fails with MCN_ECIPHERTEXT and a zeroed
 * output. */
static void
test_box(void)
{
	mcn_x25519_keypair a, b, c;
	uint8_t pt[100], out[100], box[100 + MCN_BOX_OVERHEAD];
	const uint8_t lab[] = "mcn-test-box", lab2[] = "mcn-test-boy";

	REQUIRE_OK(mcn_x25519_keygen(&a, mcn_rng_system()));
	REQUIRE_OK(mcn_x25519_keygen(&b, mcn_rng_system()));
	REQUIRE_OK(mcn_x25519_keygen(&c, mcn_rng_system()));
	for (size_t i = 0; i < sizeof(pt); i++) {
		pt[i] = (uint8_t)(i * 7 + 1);
	}
	REQUIRE_OK(mcn_box_seal(box, pt, sizeof(pt), &a, 1, b.pub, 2, lab,
	    sizeof(lab) - 1, mcn_rng_system()));
	CHECK(memcmp(box + MCN_BOX_NONCE_BYTES, pt, sizeof(pt)) != 0);
	CHECK_OK(mcn_box_open(out, box, sizeof(box), &b, 2, a.pub, 1, lab,
	    sizeof(lab) - 1));
	CHECK(memcmp(out, pt, sizeof(pt)) == 0);
	/* the sender itself can open what it sealed (same key) */
	memset(out, 0xAA, sizeof(out));
	CHECK_ERR(mcn_box_open(out, box, sizeof(box), &a, 1, b.pub, 2, lab,
	    sizeof(lab) - 1), MCN_ECIPHERTEXT); /* as if b -> a: other key */
	CHECK(mcnt_all_zero(out, sizeof(out)));
	CHECK_ERR(mcn_box_open(out, box, sizeof(box), &b, 2, a.pub, 1, lab2,
	    sizeof(lab2) - 1), MCN_ECIPHERTEXT);
	CHECK_ERR(mcn_box_open(out, box, sizeof(box), &c, 2, a.pub, 1, lab,
	    sizeof(lab) - 1), MCN_ECIPHERTEXT);
	CHECK_ERR(mcn_box_open(out, box, sizeof(box), &b, 3, a.pub, 1, lab,
	    sizeof(lab) - 1), MCN_ECIPHERTEXT);
	CHECK_ERR(mcn_box_open(out, box, sizeof(box), &b, 2, c.pub, 1, lab,
	    sizeof(lab) - 1), MCN_ECIPHERTEXT);
	for (size_t i = 0; i < sizeof(box); i += 17) {
		box[i] ^= 0x10;
		CHECK_ERR(mcn_box_open(out, box, sizeof(box), &b, 2, a.pub, 1,
		    lab, sizeof(lab) - 1), MCN_ECIPHERTEXT);
		box[i] ^= 0x10;
	}
	CHECK_ERR(mcn_box_open(out, box, MCN_BOX_OVERHEAD - 1, &b, 2, a.pub, 1,
	    lab, sizeof(lab) - 1), MCN_EFORMAT);
	CHECK_ERR(mcn_box_seal(box, pt, sizeof(pt), &a, 1, b.pub, 1, lab,
	    sizeof(lab) - 1, mcn_rng_system()), MCN_EINVAL);
	CHECK_ERR(mcn_box_seal(box, pt, sizeof(pt), &a, 1, b.pub, 2, lab, 0,
	    mcn_rng_system()), MCN_EINVAL);
	/* empty plaintext: a bare tag */
	CHECK_OK(mcn_box_seal(box, NULL, 0, &a, 1, b.pub, 2, lab,
	    sizeof(lab) - 1, mcn_rng_system()));
	CHECK_OK(mcn_box_open(NULL, box, MCN_BOX_OVERHEAD, &b, 2, a.pub, 1, lab,
	    sizeof(lab) - 1));
	mcn_wipe(&a, sizeof(a));
	mcn_wipe(&b, sizeof(b));
	mcn_wipe(&c, sizeof(c));
}

MCNT_MAIN({ "x25519_rfc7748", test_x25519_rfc7748 },
    { "x25519_small_order", test_x25519_small_order },
    { "x25519_keygen", test_x25519_keygen },
    { "hkdf_rfc5869", test_hkdf_rfc5869 },
    { "prg_chacha20", test_prg_chacha20 }, { "prg_stream", test_prg_stream },
    { "pair_seed", test_pair_seed }, { "mask_two_party", test_mask_two_party },
    { "mask_zero_sum", test_mask_zero_sum },
    { "mask_pair_symmetry", test_mask_pair_symmetry },
    { "mask_errors", test_mask_errors },
    { "mask_alloc_failure", test_mask_alloc_failure },
    { "box", test_box }, )
