/* tests/crypto/test_pack.c - fixed-point encoding and slot packing. */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h> /* before gmp.h (via pack.h), for gmp_fprintf */

#include "crypto/pack.h"
#include "test.h"

/* ---- helpers -------------------------------------------------------- */

static uint64_t
mcnt_u64(mcn_rng *rng)
{
	uint64_t r = 0;

	if (mcn_rng_bytes(rng, &r, sizeof(r)) != MCN_OK) {
		fprintf(stderr, "rng failed\n");
		exit(1);
	}
	return r;
}

/* Uniform-ish value in [lo, hi] (modulo bias is irrelevant here). */
static int64_t
mcnt_in_range(mcn_rng *rng, int64_t lo, int64_t hi)
{
	uint64_t span = (uint64_t)hi - (uint64_t)lo, r = mcnt_u64(rng);

	if (span != UINT64_MAX) {
		r %= span + 1;
	}
	return (int64_t)((uint64_t)lo + r);
}

static void
mcnt_mpz_set_i64(mpz_t z, int64_t v)
{
	uint64_t m = v < 0 ? -(uint64_t)v : (uint64_t)v;

	mpz_import(z, 1, -1, sizeof(m), 0, 0, &m);
	if (v < 0) {
		mpz_neg(z, z);
	}
}

static mpz_t *
mcnt_mpz_array(size_t n)
{
	mpz_t *a = calloc(n == 0 ? 1 : n, sizeof(mpz_t));

	if (a == NULL) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < n; i++) {
		mpz_init(a[i]);
	}
	return a;
}

static void
mcnt_mpz_array_free(mpz_t *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		mpz_clear(a[i]);
	}
	free(a);
}

/* value index -> field index, for a field list */
static size_t
mcnt_field_of(const mcn_pack_field *fields, size_t nfields, size_t i)
{
	for (size_t f = 0; f < nfields; f++) {
		if (i < fields[f].count) {
			return f;
		}
		i -= fields[f].count;
	}
	return nfields;
}

/*
 * The property test: nparties parties pack vectors (with 3 or more parties,
 * party 0 all at lo and party 1 all at hi; the rest random with about a
 * quarter of the values at a bound), the
 * packed plaintexts are added as integers (what the homomorphic sum of the
 * ciphertexts decrypts to), and unpacking must give exactly the plain sums.
 */
static void
mcnt_sum_case(unsigned pb, unsigned maxp, unsigned guard,
    const mcn_pack_field *fields, size_t nfields, unsigned nparties,
    unsigned seed, size_t want_npt)
{
	mcn_pack_layout *L = NULL;
	mcn_rng *rng = mcnt_rng(seed);
	size_t nv, npt, bad = 0, bad_at = 0;
	int64_t *vals, *got_i;
	mpz_t *pt, *acc, *want, *got;
	int fits = 1;

	REQUIRE_OK(mcn_pack_layout_new(&L, pb, maxp, guard, fields, nfields));
	nv = mcn_pack_layout_nvalues(L);
	npt = mcn_pack_layout_nplaintexts(L);
	CHECK_U64_EQ(npt, want_npt);
	vals = calloc(nv, sizeof(*vals));
	got_i = calloc(nv, sizeof(*got_i));
	if (vals == NULL || got_i == NULL) {
		exit(1);
	}
	pt = mcnt_mpz_array(npt);
	acc = mcnt_mpz_array(npt);
	want = mcnt_mpz_array(nv);
	got = mcnt_mpz_array(nv);

	for (unsigned p = 0; p < nparties; p++) {
		for (size_t i = 0; i < nv; i++) {
			const mcn_pack_field *fd =
			    &fields[mcnt_field_of(fields, nfields, i)];
			uint64_t pick = mcnt_u64(rng) % 8;
			int all_lo = nparties >= 3 && p == 0;
			int all_hi = nparties >= 3 && p == 1;
			mpz_t t;

			if (all_lo || (!all_hi && pick == 0)) {
				vals[i] = fd->lo;
			} else if (all_hi || pick == 1) {
				vals[i] = fd->hi;
			} else {
				vals[i] = mcnt_in_range(rng, fd->lo, fd->hi);
			}
			mpz_init(t);
			mcnt_mpz_set_i64(t, vals[i]);
			mpz_add(want[i], want[i], t);
			mpz_clear(t);
		}
		CHECK_OK(mcn_pack(L, pt, vals, nv));
		for (size_t k = 0; k < npt; k++) {
			CHECK(mpz_sgn(pt[k]) >= 0 &&
			    mpz_sizeinbase(pt[k], 2) <= pb);
			mpz_add(acc[k], acc[k], pt[k]);
		}
	}
	for (size_t k = 0; k < npt; k++) {
		CHECK(mpz_sizeinbase(acc[k], 2) <= pb);
	}
	CHECK_OK(mcn_unpack(L, got, acc, nv, nparties));
	for (size_t i = 0; i < nv; i++) {
		if (mpz_cmp(got[i], want[i]) != 0 && bad++ == 0) {
			bad_at = i;
		}
		if (!mpz_fits_slong_p(want[i]) ||
		    sizeof(long) < sizeof(int64_t)) {
			fits = 0;
		}
	}
	CHECK_U64_EQ(bad, 0);
	if (bad != 0) {
		gmp_fprintf(stderr, "  first mismatch at %zu: %Zd != %Zd\n",
		    bad_at, got[bad_at], want[bad_at]);
	}
	if (fits) {
		CHECK_OK(mcn_unpack_i64(L, got_i, acc, nv, nparties));
		bad = 0;
		for (size_t i = 0; i < nv; i++) {
			bad += mpz_cmp_si(want[i], (long)got_i[i]) != 0;
		}
		CHECK_U64_EQ(bad, 0);
	} else {
		CHECK_ERR(mcn_unpack_i64(L, got_i, acc, nv, nparties),
		    MCN_ERANGE);
	}

	mcnt_mpz_array_free(pt, npt);
	mcnt_mpz_array_free(acc, npt);
	mcnt_mpz_array_free(want, nv);
	mcnt_mpz_array_free(got, nv);
	free(vals);
	free(got_i);
	mcn_pack_layout_free(L);
	mcn_rng_free(rng);
}

/* ---- fixed point ---------------------------------------------------- */

static void
test_fixed_encode_exact(void)
{
	int64_t v;

	CHECK_OK(mcn_fixed_encode(&v, 0.0, MCN_FIXED_FRAC_BITS));
	CHECK(v == 0);
	CHECK_OK(mcn_fixed_encode(&v, -0.0, MCN_FIXED_FRAC_BITS));
	CHECK(v == 0);
	CHECK_OK(mcn_fixed_encode(&v, 1.0, 32));
	CHECK(v == INT64_C(4294967296));
	CHECK_OK(mcn_fixed_encode(&v, -1.0, 32));
	CHECK(v == -INT64_C(4294967296));
	CHECK_OK(mcn_fixed_encode(&v, 123.375, 32));
	CHECK(v == INT64_C(123375) * 4294967296 / 1000);
	CHECK_OK(mcn_fixed_encode(&v, -1.5, 32));
	CHECK(v == -INT64_C(6442450944));
	CHECK_OK(mcn_fixed_encode(&v, 0x1p-32, 32)); /* smallest step */
	CHECK(v == 1);
	CHECK_OK(mcn_fixed_encode(&v, 0x1p30, 32)); /* 2^62 */
	CHECK(v == INT64_C(1) << 62);
	/* The largest double below 2^31 scales to 2^63 - 2^10. */
	CHECK_OK(mcn_fixed_encode(&v, 0x1p31 - 0x1p-22, 32));
	CHECK(v == INT64_MAX - 1023);
	CHECK_OK(mcn_fixed_encode(&v, -(0x1p31 - 0x1p-22), 32));
	CHECK(v == -(INT64_MAX - 1023));
	CHECK_OK(mcn_fixed_encode(&v, 9223372036854774784.0, 0));
	CHECK(v == INT64_C(9223372036854774784));
	CHECK_OK(mcn_fixed_encode(&v, 1.0, 62));
	CHECK(v == INT64_C(1) << 62);
	CHECK_OK(mcn_fixed_encode(&v, 1e-300, 62)); /* rounds to 0 */
	CHECK(v == 0);
}

static void
test_fixed_rounding(void)
{
	int64_t v;
	/* x, frac_bits, expected: ties go away from zero (to-even would give
	 * 2 for 2.5 and 0 for 0.5). */
	static const struct {
		double x;
		unsigned f;
		int64_t want;
	} tab[] = {
		{ 0.5, 0, 1 },
		{ -0.5, 0, -1 },
		{ 1.5, 0, 2 },
		{ -1.5, 0, -2 },
		{ 2.5, 0, 3 },
		{ -2.5, 0, -3 },
		{ 0.75, 0, 1 },
		{ -0.75, 0, -1 },
		{ 0.49999999999999994, 0, 0 },
		{ -0.49999999999999994, 0, 0 },
		{ 0.25, 1, 1 },
		{ 0.24, 1, 0 },
		{ -0.25, 1, -1 },
		{ 0x1p-33, 32, 1 },
		{ -0x1p-33, 32, -1 },
		{ 0x1p-34, 32, 0 },
		{ 3 * 0x1p-34, 32, 1 },
		{ 0x1p51 + 0.5, 0, 2251799813685249 },
		{ 1e15 + 0.5, 0, 1000000000000001 },
	};

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		CHECK_OK(mcn_fixed_encode(&v, tab[i].x, tab[i].f));
		if (v != tab[i].want) {
			MCNT_FAIL("encode(%.17g, %u) = %lld, want %lld",
			    tab[i].x, tab[i].f, (long long)v,
			    (long long)tab[i].want);
		}
	}
}

static void
test_fixed_range_errors(void)
{
	int64_t v = 5;

	CHECK_ERR(mcn_fixed_encode(&v, NAN, 32), MCN_ERANGE);
	CHECK(v == 0);
	CHECK_ERR(mcn_fixed_encode(&v, INFINITY, 32), MCN_ERANGE);
	CHECK_ERR(mcn_fixed_encode(&v, -INFINITY, 0), MCN_ERANGE);
	CHECK_ERR(mcn_fixed_encode(&v, 0x1p31, 32), MCN_ERANGE); /* 2^63 */
	/* -2^63 is an int64 but |x 2^f| >= 2^63: the range is symmetric. */
	CHECK_ERR(mcn_fixed_encode(&v, -0x1p31, 32), MCN_ERANGE);
	CHECK_ERR(mcn_fixed_encode(&v, 0x1p63, 0), MCN_ERANGE);
	CHECK_ERR(mcn_fixed_encode(&v, 1e300, 32), MCN_ERANGE);
	CHECK_ERR(mcn_fixed_encode(&v, 2.0, 62), MCN_ERANGE);
	CHECK_ERR(mcn_fixed_encode(&v, DBL_MAX, 0), MCN_ERANGE);
	CHECK_ERR(mcn_fixed_encode(&v, 1.0, 63), MCN_EINVAL);
	CHECK(v == 0);
}

static void
test_fixed_decode(void)
{
	mcn_rng *rng = mcnt_rng(11);
	size_t bad = 0;

	CHECK(mcn_fixed_decode(INT64_C(4294967296), 32) == 1.0);
	CHECK(mcn_fixed_decode(-INT64_C(6442450944), 32) == -1.5);
	CHECK(mcn_fixed_decode(1, 62) == 0x1p-62);
	CHECK(mcn_fixed_decode(0, 0) == 0.0);
	CHECK(mcn_fixed_decode(INT64_MAX, 0) == 0x1p63); /* rounded */
	CHECK(mcn_fixed_decode(INT64_MIN, 63 - 1) == -2.0);
	/* x = k / 2^33 encodes to round_half_away(k / 2) and decodes back to
	 * that multiple of 2^-32 exactly (|v| < 2^53). */
	for (int i = 0; i < 2000; i++) {
		int64_t k = (int64_t)mcnt_u64(rng) >> 20, v, want;
		double x = (double)k / 0x1p33;

		if (k % 2 == 0) {
			want = k / 2;
		} else {
			want = k > 0 ? (k + 1) / 2 : (k - 1) / 2;
		}
		if (mcn_fixed_encode(&v, x, 32) != MCN_OK || v != want ||
		    mcn_fixed_decode(v, 32) != (double)want / 0x1p32) {
			bad++;
		}
	}
	CHECK_U64_EQ(bad, 0);
	mcn_rng_free(rng);
}

static void
test_fixed_decode_mpz(void)
{
	mcn_rng *rng = mcnt_rng(12);
	mpz_t s;
	double d = 7.0;
	size_t bad = 0;

	mpz_init(s);
	CHECK_OK(mcn_fixed_decode_mpz(&d, s, 32));
	CHECK(d == 0.0);
	mpz_set_ui(s, 5);
	mpz_mul_2exp(s, s, 32);
	CHECK_OK(mcn_fixed_decode_mpz(&d, s, 32));
	CHECK(d == 5.0);
	mpz_neg(s, s);
	CHECK_OK(mcn_fixed_decode_mpz(&d, s, 33));
	CHECK(d == -2.5);

	/* 100 parties at INT64_MAX with f = 32: 100 * (2^31 - 2^-32), whose
	 * nearest double is 214748364800 (ulp there is 2^-15). */
	mcnt_mpz_set_i64(s, INT64_MAX);
	mpz_mul_ui(s, s, 100);
	CHECK_OK(mcn_fixed_decode_mpz(&d, s, 32));
	CHECK(d == 214748364800.0);

	/* Correct rounding, ties to even, 64-bit and wider sums. */
	mpz_set_ui(s, 1);
	mpz_mul_2exp(s, s, 53);
	mpz_add_ui(s, s, 1); /* 2^53 + 1: tie -> even */
	CHECK_OK(mcn_fixed_decode_mpz(&d, s, 0));
	CHECK(d == 0x1p53);
	mpz_add_ui(s, s, 2); /* 2^53 + 3: tie -> up */
	CHECK_OK(mcn_fixed_decode_mpz(&d, s, 0));
	CHECK(d == 0x1p53 + 4);
	mpz_set_ui(s, 1);
	mpz_mul_2exp(s, s, 64);
	mpz_add_ui(s, s, 2048); /* 2^64 + 2^11: tie */
	CHECK_OK(mcn_fixed_decode_mpz(&d, s, 0));
	CHECK(d == 0x1p64);
	mpz_add_ui(s, s, 1); /* just above: sticky bit */
	CHECK_OK(mcn_fixed_decode_mpz(&d, s, 0));
	CHECK(d == 0x1p64 + 0x1p12);
	mpz_neg(s, s);
	CHECK_OK(mcn_fixed_decode_mpz(&d, s, 0));
	CHECK(d == -(0x1p64 + 0x1p12));
	CHECK_OK(mcn_fixed_decode_mpz(&d, s, 62));
	CHECK(d == -(0x1p2 + 0x1p-50));

	/* Overflow: 2^1024 is not a double; 2^1024 / 2 is. */
	mpz_set_ui(s, 1);
	mpz_mul_2exp(s, s, 1024);
	CHECK_ERR(mcn_fixed_decode_mpz(&d, s, 0), MCN_ERANGE);
	CHECK(d == 0.0);
	CHECK_OK(mcn_fixed_decode_mpz(&d, s, 1));
	CHECK(d == 0x1p1023);
	mpz_sub_ui(s, s, 1); /* rounds up to 2^1024 */
	CHECK_ERR(mcn_fixed_decode_mpz(&d, s, 0), MCN_ERANGE);
	mpz_set_d(s, DBL_MAX);
	CHECK_OK(mcn_fixed_decode_mpz(&d, s, 0));
	CHECK(d == DBL_MAX);
	mpz_mul_2exp(s, s, 5000);
	CHECK_ERR(mcn_fixed_decode_mpz(&d, s, 62), MCN_ERANGE);
	CHECK_ERR(mcn_fixed_decode_mpz(&d, s, 63), MCN_EINVAL);

	/* Agrees with the hardware int64 -> double rounding at every size. */
	for (int i = 0; i < 5000; i++) {
		int64_t v = (int64_t)mcnt_u64(rng) >> (mcnt_u64(rng) % 64);
		unsigned f = (unsigned)(mcnt_u64(rng) % 63);

		mcnt_mpz_set_i64(s, v);
		if (mcn_fixed_decode_mpz(&d, s, f) != MCN_OK ||
		    d != mcn_fixed_decode(v, f)) {
			bad++;
		}
	}
	CHECK_U64_EQ(bad, 0);
	mpz_clear(s);
	mcn_rng_free(rng);
}

/* ---- layout geometry ------------------------------------------------ */

static void
test_capacity_2048(void)
{
	mcn_pack_layout *L = NULL;
	mcn_pack_field f = { 1000, 0, 10000000 };

	/* (a) counts, per party [0, 10^7], N = 100: 100 * 10^7 = 10^9 and
	 * 2^29 = 536870912 < 10^9 < 2^30 = 1073741824, so 30 value bits,
	 * + 8 guard = 38; 53 * 38 = 2014 <= 2047 < 2052 = 54 * 38. */
	CHECK_U64_EQ(mcn_pack_slots_per_plaintext(2047, 0, 10000000, 100,
	                 MCN_PACK_GUARD_BITS),
	    53);
	/* (a') network total <= 10^7: one "party" of range [0, 10^7]:
	 * 2^23 = 8388608 < 10^7 < 2^24, 24 + 8 = 32 bits;
	 * 63 * 32 = 2016 <= 2047 < 2048 = 64 * 32. */
	CHECK_U64_EQ(mcn_pack_slots_per_plaintext(2047, 0, 10000000, 1,
	                 MCN_PACK_GUARD_BITS),
	    63);
	/* (b) full int64 per party, N = 100: span 2^64 - 1, and
	 * 2^70 = 64 * 2^64 < 100 * (2^64 - 1) < 128 * 2^64 = 2^71, so 71
	 * bits, + 8 = 79; 25 * 79 = 1975 <= 2047 < 2054 = 26 * 79. */
	CHECK_U64_EQ(mcn_pack_slots_per_plaintext(2047, INT64_MIN, INT64_MAX,
	                 100, MCN_PACK_GUARD_BITS),
	    25);
	/* (c) fixed point with |x| < 2^20 at f = 32: [-2^52, 2^52], span
	 * 2^53, 100 * 2^53 in [2^59, 2^60): 60 + 8 = 68; 30 * 68 = 2040. */
	CHECK_U64_EQ(mcn_pack_slots_per_plaintext(2047, -(INT64_C(1) << 52),
	                 INT64_C(1) << 52, 100, MCN_PACK_GUARD_BITS),
	    30);

	/* Edges: a slot exactly plaintext_bits wide fits once, one more bit
	 * does not; invalid arguments give 0. [0, 255], 1 party: 8 + g. */
	CHECK_U64_EQ(mcn_pack_slots_per_plaintext(64, 0, 255, 1, 56), 1);
	CHECK_U64_EQ(mcn_pack_slots_per_plaintext(64, 0, 255, 1, 57), 0);
	CHECK_U64_EQ(mcn_pack_slots_per_plaintext(64, 5, 4, 1, 8), 0);
	CHECK_U64_EQ(mcn_pack_slots_per_plaintext(64, 0, 4, 0, 8), 0);
	CHECK_U64_EQ(mcn_pack_slots_per_plaintext(64, 0, 0, 1, 0), 64);
	CHECK_U64_EQ(mcn_pack_slots_per_plaintext(64, 0, 255, 1, UINT_MAX), 0);

	/* 1000 count slots at 53 per plaintext: 18 * 53 = 954, 46 more. */
	REQUIRE_OK(
	    mcn_pack_layout_new(&L, 2047, 100, MCN_PACK_GUARD_BITS, &f, 1));
	CHECK_U64_EQ(mcn_pack_layout_slot_bits(L, 0), 38);
	CHECK_U64_EQ(mcn_pack_layout_nvalues(L), 1000);
	CHECK_U64_EQ(mcn_pack_layout_nplaintexts(L), 19);
	mcn_pack_layout_free(L);
}

/*
 * plaintext_bits = 64, max_parties = 1, guard 8. By hand:
 *   A: 3 x [0, 255]          8 + 8 = 16 bits: pt0 @ 0, 16, 32 (ends 48)
 *   B: 2 x [-2^20, 2^20 - 1] 21 + 8 = 29: 48 + 29 > 64 -> pt1 @ 0, 29 (58)
 *   C: 2 x [0, 1]            1 + 8 = 9: 58 + 9 > 64 -> pt2 @ 0, 9 (18)
 *   D: 1 x [0, 255]          16: pt2 @ 18 (34), shares pt2 with C
 *   E: 1 x [0, 2^22 - 1]     22 + 8 = 30: 34 + 30 = 64 fits exactly @ 34
 *   F: 1 x [0, 0]            0 + 8 = 8: pt2 full -> pt3 @ 0
 * so 10 values in 4 plaintexts, and no slot crosses a plaintext boundary.
 */
static void
test_layout_by_hand(void)
{
	static const mcn_pack_field fields[] = {
		{ 3, 0, 255 },
		{ 2, -(INT64_C(1) << 20), (INT64_C(1) << 20) - 1 },
		{ 2, 0, 1 },
		{ 1, 0, 255 },
		{ 1, 0, (INT64_C(1) << 22) - 1 },
		{ 1, 0, 0 },
	};
	static const unsigned want_bits[] = { 16, 29, 9, 16, 30, 8 };
	const int64_t vals[10] = { 1, 2, 255, -(INT64_C(1) << 20),
		(INT64_C(1) << 20) - 1, 1, 0, 7, (INT64_C(1) << 22) - 1, 0 };
	mcn_pack_layout *L = NULL;
	mpz_t *pt = mcnt_mpz_array(4), *got = mcnt_mpz_array(10);
	mpz_t want, t;

	mpz_inits(want, t, NULL);
	REQUIRE_OK(mcn_pack_layout_new(&L, 64, 1, 8, fields, 6));
	CHECK_U64_EQ(mcn_pack_layout_nvalues(L), 10);
	CHECK_U64_EQ(mcn_pack_layout_nplaintexts(L), 4);
	for (size_t f = 0; f < 6; f++) {
		CHECK_U64_EQ(mcn_pack_layout_slot_bits(L, f), want_bits[f]);
	}
	CHECK_OK(mcn_pack(L, pt, vals, 10));

	/* pt0 = 1 + 2 * 2^16 + 255 * 2^32 */
	mpz_set_ui(want, 255);
	mpz_mul_2exp(want, want, 32);
	mpz_set_ui(t, 2);
	mpz_mul_2exp(t, t, 16);
	mpz_add(want, want, t);
	mpz_add_ui(want, want, 1);
	CHECK_MPZ_EQ(pt[0], want);
	/* pt1 = (-2^20 + 2^20) + (2^20 - 1 + 2^20) * 2^29 */
	mpz_set_ui(want, (1UL << 21) - 1);
	mpz_mul_2exp(want, want, 29);
	CHECK_MPZ_EQ(pt[1], want);
	/* pt2 = 1 + 0 * 2^9 + 7 * 2^18 + (2^22 - 1) * 2^34 */
	mpz_set_ui(want, (1UL << 22) - 1);
	mpz_mul_2exp(want, want, 34);
	mpz_set_ui(t, 7);
	mpz_mul_2exp(t, t, 18);
	mpz_add(want, want, t);
	mpz_add_ui(want, want, 1);
	CHECK_MPZ_EQ(pt[2], want);
	CHECK(mpz_sgn(pt[3]) == 0);

	CHECK_OK(mcn_unpack(L, got, pt, 10, 1));
	for (size_t i = 0; i < 10; i++) {
		CHECK(mpz_cmp_si(got[i], (long)vals[i]) == 0);
	}
	mcn_pack_layout_free(L);
	mpz_clears(want, t, NULL);
	mcnt_mpz_array_free(pt, 4);
	mcnt_mpz_array_free(got, 10);
}

/* ---- sums ----------------------------------------------------------- */

static void
test_sum_counts(void)
{
	mcn_pack_field f = { 2000, 0, 10000000 };

	/* 53 slots per plaintext: ceil(2000 / 53) = 38 */
	mcnt_sum_case(2047, 100, MCN_PACK_GUARD_BITS, &f, 1, 100, 1, 38);
}

/* pack.h (a'): the network-wide total is bounded by 10^7, so the layout is
 * built for one "party" of range [0, 10^7] and unpacked with nparties = 1
 * (correct because lo = 0). Five parties each in [0, 2 * 10^6]. */
static void
test_sum_network_total(void)
{
	mcn_pack_field f = { 126, 0, 10000000 };
	mcn_pack_layout *L = NULL;
	mcn_rng *rng = mcnt_rng(2);
	int64_t vals[126], got_i[126], want[126] = { 0 };
	mpz_t *pt = mcnt_mpz_array(2), *acc = mcnt_mpz_array(2);
	size_t bad = 0;

	REQUIRE_OK(
	    mcn_pack_layout_new(&L, 2047, 1, MCN_PACK_GUARD_BITS, &f, 1));
	CHECK_U64_EQ(mcn_pack_layout_slot_bits(L, 0), 32);
	CHECK_U64_EQ(mcn_pack_layout_nplaintexts(L), 2); /* 63 + 63 */
	for (int p = 0; p < 5; p++) {
		for (size_t i = 0; i < 126; i++) {
			vals[i] =
			    i == 5 ? 2000000 : mcnt_in_range(rng, 0, 2000000);
			want[i] += vals[i];
		}
		CHECK_OK(mcn_pack(L, pt, vals, 126));
		mpz_add(acc[0], acc[0], pt[0]);
		mpz_add(acc[1], acc[1], pt[1]);
	}
	CHECK_OK(mcn_unpack_i64(L, got_i, acc, 126, 1));
	for (size_t i = 0; i < 126; i++) {
		bad += got_i[i] != want[i];
	}
	CHECK_U64_EQ(bad, 0);
	CHECK(got_i[5] == 10000000);
	/* The assumption broken: one more unit in slot 5 (plaintext 0). */
	mpz_setbit(acc[0], 5 * 32);
	CHECK_ERR(mcn_unpack_i64(L, got_i, acc, 126, 1), MCN_EOVERFLOW);
	CHECK_ERR(mcn_unpack_i64(L, got_i, acc, 126, 2), MCN_EINVAL);
	mcn_pack_layout_free(L);
	mcnt_mpz_array_free(pt, 2);
	mcnt_mpz_array_free(acc, 2);
	mcn_rng_free(rng);
}

static void
test_sum_negative(void)
{
	static const mcn_pack_field f1[] = { { 300, -1000, -1 } };
	static const mcn_pack_field f2[] = { { 300, -50, 50 } };
	static const mcn_pack_field f3[] = { { 10, INT64_MIN, INT64_MIN + 5 } };

	/* 7 * 999 = 6993 -> 13 + 8 = 21 bits, 97 per 2047 -> 4 plaintexts */
	mcnt_sum_case(2047, 7, 8, f1, 1, 7, 3, 4);
	/* 7 * 100 = 700 -> 10 + 8 = 18 bits, 113 per 2047 -> 3 */
	mcnt_sum_case(2047, 7, 8, f2, 1, 5, 4, 3);
	/* sums near 7 * INT64_MIN need mpz; unpack_i64 says ERANGE.
	 * 7 * 5 = 35 -> 6 + 8 = 14 bits; 10 slots fit in 256 bits. */
	mcnt_sum_case(256, 7, 8, f3, 1, 7, 5, 1);
}

static void
test_sum_full_int64(void)
{
	static const mcn_pack_field f[] = { { 100, INT64_MIN, INT64_MAX } };

	/* 100 parties: 79-bit slots, 25 per plaintext -> 4 plaintexts */
	mcnt_sum_case(2047, 100, MCN_PACK_GUARD_BITS, f, 1, 100, 6, 4);
	/* 5 parties of at most 2^17: 81 + 8 = 89 bits, 2047 = 23 * 89 */
	mcnt_sum_case(2047, 1u << 17, 8, f, 1, 5, 7, 5);
	/* a single party: 64 + 8 = 72 bits, 28 per 2047 */
	mcnt_sum_case(2047, 1, 8, f, 1, 1, 8, 4);
}

static void
test_sum_multi_field(void)
{
	/* widths with N = 9 and guard 8: 9 -> 4+8 = 12, 9*2^40 -> 44+8 = 52,
	 * 9*2000 -> 15+8 = 23, 9*(2^64-1) -> 68+8 = 76, 0 -> 8,
	 * 9*(2^63-1) -> 67+8 = 75 */
	static const mcn_pack_field f[] = {
		{ 500, 0, 1 },
		{ 37, -(INT64_C(1) << 39), INT64_C(1) << 39 },
		{ 101, -1000, 1000 },
		{ 13, INT64_MIN, INT64_MAX },
		{ 3, 42, 42 },
		{ 40, 0, INT64_MAX },
	};
	mcn_pack_layout *L = NULL;
	static const unsigned want_bits[] = { 12, 52, 23, 76, 8, 75 };

	REQUIRE_OK(mcn_pack_layout_new(&L, 1023, 9, 8, f, 6));
	for (size_t i = 0; i < 6; i++) {
		CHECK_U64_EQ(mcn_pack_layout_slot_bits(L, i), want_bits[i]);
	}
	mcn_pack_layout_free(L);
	/* Greedy fill, 1023-bit plaintexts:
	 *  A 500 x 12, 85 per pt: pt0..pt4 full (5 * 85 = 425), pt5 holds
	 *    the other 75 (900 bits)
	 *  B 37 x 52: pt5 has 123 bits = 2 slots (104 -> 1004); 35 left,
	 *    19 per pt -> pt6 full (988), pt7 16 (832)
	 *  C 101 x 23: pt7 has 191 = 8 slots (1016); 93 left, 44 per pt
	 *    -> pt8, pt9 full (1012), pt10 5 (115)
	 *  D 13 x 76: pt10 has 908 = 11 slots (951); 2 left -> pt11 (152)
	 *  E 3 x 8: pt11 (176)
	 *  F 40 x 75: pt11 has 847 = 11 slots (1001); 29 left, 13 per pt
	 *    -> pt12, pt13 full, pt14 3
	 * = 15 plaintexts. */
	mcnt_sum_case(1023, 9, 8, f, 6, 9, 9, 15);
	mcnt_sum_case(1023, 9, 8, f, 6, 3, 10, 15);
}

static void
test_sum_exact_fill(void)
{
	/* 8 * 4095 = 32760 < 2^15 -> 15 + 8 = 23 bits, 89 * 23 = 2047:
	 * 89 slots fill one plaintext to its last bit, 90 need two. */
	mcn_pack_field f = { 89, 0, 4095 };

	CHECK_U64_EQ(mcn_pack_slots_per_plaintext(2047, 0, 4095, 8, 8), 89);
	mcnt_sum_case(2047, 8, 8, &f, 1, 8, 11, 1);
	f.count = 90;
	mcnt_sum_case(2047, 8, 8, &f, 1, 8, 12, 2);
	f.count = 178;
	mcnt_sum_case(2047, 8, 8, &f, 1, 8, 13, 2);
	/* 64-bit plaintexts, 4 x 16-bit slots: 255 * 1 + 8 guard */
	f.count = 8;
	f.hi = 255;
	mcnt_sum_case(64, 1, 8, &f, 1, 1, 14, 2);
}

/* Exactly max_parties contributions at hi (the declared bound) and at lo. */
static void
test_sum_at_bounds(void)
{
	static const mcn_pack_field f[] = {
		{ 30, -7, 1000 },
		{ 30, INT64_MIN, INT64_MAX },
	};
	mcn_pack_layout *L = NULL;
	int64_t vals[60];
	mpz_t *pt = NULL, *acc = NULL, *got = mcnt_mpz_array(60), want;
	size_t npt;

	mpz_init(want);
	REQUIRE_OK(mcn_pack_layout_new(&L, 2047, 10, 8, f, 2));
	npt = mcn_pack_layout_nplaintexts(L);
	pt = mcnt_mpz_array(npt);
	acc = mcnt_mpz_array(npt);
	for (int side = 0; side < 2; side++) {
		for (size_t i = 0; i < 60; i++) {
			vals[i] = side ? f[i / 30].hi : f[i / 30].lo;
		}
		for (size_t k = 0; k < npt; k++) {
			mpz_set_ui(acc[k], 0);
		}
		for (int p = 0; p < 10; p++) {
			CHECK_OK(mcn_pack(L, pt, vals, 60));
			for (size_t k = 0; k < npt; k++) {
				mpz_add(acc[k], acc[k], pt[k]);
			}
		}
		CHECK_OK(mcn_unpack(L, got, acc, 60, 10));
		for (size_t i = 0; i < 60; i++) {
			mcnt_mpz_set_i64(want, vals[i]);
			mpz_mul_ui(want, want, 10);
			CHECK_MPZ_EQ(got[i], want);
		}
	}
	mcn_pack_layout_free(L);
	mpz_clear(want);
	mcnt_mpz_array_free(pt, npt);
	mcnt_mpz_array_free(acc, npt);
	mcnt_mpz_array_free(got, 60);
}

/* Slots wider than 128 bits (huge guard) still unpack and check guards. */
static void
test_sum_wide_guard(void)
{
	static const mcn_pack_field f[] = { { 20, -3, 3 } };
	mcn_pack_layout *L = NULL;
	int64_t vals[20];
	mpz_t *pt, *got = mcnt_mpz_array(20);

	/* 4 * 6 = 24 -> 5 + 200 = 205 bits, 9 per 2047 -> 3 plaintexts */
	mcnt_sum_case(2047, 4, 200, f, 1, 4, 15, 3);
	/* 4 per 1024 bits -> 5 plaintexts */
	REQUIRE_OK(mcn_pack_layout_new(&L, 1024, 4, 200, f, 1));
	CHECK_U64_EQ(mcn_pack_layout_slot_bits(L, 0), 205);
	CHECK_U64_EQ(mcn_pack_layout_nplaintexts(L), 5);
	pt = mcnt_mpz_array(5);
	for (size_t i = 0; i < 20; i++) {
		vals[i] = 3;
	}
	CHECK_OK(mcn_pack(L, pt, vals, 20));
	CHECK_OK(mcn_unpack(L, got, pt, 20, 1));
	CHECK(mpz_cmp_si(got[19], 3) == 0);
	/* a guard bit far above bit 128 of slot 1 */
	mpz_setbit(pt[0], 205 + 180);
	CHECK_ERR(mcn_unpack(L, got, pt, 20, 1), MCN_EOVERFLOW);
	CHECK(mpz_sgn(got[19]) == 0);
	mcn_pack_layout_free(L);
	mcnt_mpz_array_free(pt, 5);
	mcnt_mpz_array_free(got, 20);
}

/* ---- errors --------------------------------------------------------- */

static void
test_pack_errors(void)
{
	static const mcn_pack_field f[] = { { 2, -5, 5 }, { 1, 0, 9 } };
	mcn_pack_layout *L = NULL;
	int64_t vals[3] = { -5, 5, 9 };
	mpz_t *pt = mcnt_mpz_array(1);

	REQUIRE_OK(mcn_pack_layout_new(&L, 128, 3, 8, f, 2));
	mpz_set_ui(pt[0], 12345);
	vals[0] = -6;
	CHECK_ERR(mcn_pack(L, pt, vals, 3), MCN_ERANGE);
	vals[0] = -5;
	vals[1] = 6;
	CHECK_ERR(mcn_pack(L, pt, vals, 3), MCN_ERANGE);
	vals[1] = 5;
	vals[2] = 10;
	CHECK_ERR(mcn_pack(L, pt, vals, 3), MCN_ERANGE);
	vals[2] = INT64_MIN;
	CHECK_ERR(mcn_pack(L, pt, vals, 3), MCN_ERANGE);
	vals[2] = 9;
	CHECK_ERR(mcn_pack(L, pt, vals, 2), MCN_EINVAL);
	CHECK_ERR(mcn_pack(L, pt, vals, 4), MCN_EINVAL);
	CHECK(mpz_cmp_ui(pt[0], 12345) == 0); /* untouched on error */
	CHECK_OK(mcn_pack(L, pt, vals, 3));
	mcn_pack_layout_free(L);
	mcnt_mpz_array_free(pt, 1);
}

/* Builds [0, 100] x 4 for max_parties 3, packs the given per-party vectors
 * and returns their sum in acc[0]. */
static void
mcnt_sum_of(const mcn_pack_layout *L, mpz_t acc, const int64_t (*vals)[4],
    int nparties)
{
	mpz_t pt[1];

	mpz_init(pt[0]);
	mpz_set_ui(acc, 0);
	for (int p = 0; p < nparties; p++) {
		CHECK_OK(mcn_pack(L, pt, vals[p], 4));
		mpz_add(acc, acc, pt[0]);
	}
	mpz_clear(pt[0]);
}

static void
test_unpack_overflow(void)
{
	static const mcn_pack_field f = { 4, 0, 100 };
	static const int64_t at_hi[4][4] = {
		{ 100, 100, 100, 100 },
		{ 100, 100, 100, 100 },
		{ 100, 100, 100, 100 },
		{ 100, 100, 100, 100 },
	};
	static const int64_t low[3][4] = { { 0 }, { 0 }, { 0, 0, 100, 0 } };
	mcn_pack_layout *L = NULL;
	mpz_t acc[1], *got = mcnt_mpz_array(4);
	int64_t got_i[4];
	unsigned w;

	mpz_init(acc[0]);
	/* 3 * 100 = 300 -> 9 + 8 = 17-bit slots at 0, 17, 34, 51 */
	REQUIRE_OK(mcn_pack_layout_new(&L, 2047, 3, 8, &f, 1));
	w = mcn_pack_layout_slot_bits(L, 0);
	CHECK_U64_EQ(w, 17);

	/* The bound itself: 3 parties at hi sum to exactly 300. */
	mcnt_sum_of(L, acc[0], at_hi, 3);
	CHECK_OK(mcn_unpack(L, got, acc, 4, 3));
	CHECK(mpz_cmp_ui(got[3], 300) == 0);
	/* The same sum claimed to come from 2 parties exceeds 2 * 100. */
	CHECK_ERR(mcn_unpack(L, got, acc, 4, 2), MCN_EOVERFLOW);
	CHECK(mpz_sgn(got[0]) == 0 && mpz_sgn(got[3]) == 0);
	/* A fourth contribution beyond max_parties: 400 > 300, no carry. */
	mcnt_sum_of(L, acc[0], at_hi, 4);
	CHECK_ERR(mcn_unpack(L, got, acc, 4, 3), MCN_EOVERFLOW);
	CHECK_ERR(mcn_unpack_i64(L, got_i, acc, 4, 3), MCN_EOVERFLOW);
	CHECK(got_i[0] == 0 && got_i[3] == 0);
	/* Cheater writes 101 into slot 2 of its own plaintext while the two
	 * others are at hi: 301 > 300. */
	mcnt_sum_of(L, acc[0], at_hi, 3);
	mpz_setbit(acc[0], 2 * w); /* +1 in slot 2 */
	CHECK_ERR(mcn_unpack(L, got, acc, 4, 3), MCN_EOVERFLOW);
	/* A guard bit of slot 1 (bit 9 of the slot: 2^9 > 300). */
	mcnt_sum_of(L, acc[0], at_hi, 3);
	mpz_setbit(acc[0], 1 * w + 9);
	CHECK_ERR(mcn_unpack(L, got, acc, 4, 3), MCN_EOVERFLOW);
	mcnt_sum_of(L, acc[0], at_hi, 3);
	mpz_setbit(acc[0], 1 * w + 16); /* the top guard bit */
	CHECK_ERR(mcn_unpack(L, got, acc, 4, 3), MCN_EOVERFLOW);
	/* Bits above the last slot (it ends at bit 68), up to bit 2046. */
	mcnt_sum_of(L, acc[0], at_hi, 3);
	mpz_setbit(acc[0], 4 * w);
	CHECK_ERR(mcn_unpack(L, got, acc, 4, 3), MCN_EOVERFLOW);
	mcnt_sum_of(L, acc[0], at_hi, 3);
	mpz_setbit(acc[0], 2046);
	CHECK_ERR(mcn_unpack(L, got, acc, 4, 3), MCN_EOVERFLOW);
	/* Known limit (see pack.h): an excess that keeps the aggregate within
	 * nparties * (hi - lo) is indistinguishable from honest data. */
	mcnt_sum_of(L, acc[0], low, 3);
	mpz_add_ui(acc[0], acc[0], 1); /* party 3 wrote 1 in slot 0 */
	mpz_setbit(acc[0], 2 * w + 7); /* and 100 + 128 in slot 2 */
	CHECK_OK(mcn_unpack(L, got, acc, 4, 3));
	CHECK(mpz_cmp_ui(got[0], 1) == 0);
	CHECK(mpz_cmp_ui(got[2], 228) == 0);

	mcn_pack_layout_free(L);
	mpz_clear(acc[0]);
	mcnt_mpz_array_free(got, 4);
}

static void
test_unpack_errors(void)
{
	static const mcn_pack_field f[] = { { 4, -10, 10 } };
	mcn_pack_layout *L = NULL;
	mpz_t acc[1], *got = mcnt_mpz_array(4);
	int64_t got_i[4] = { 7, 7, 7, 7 }, vals[4] = { -10, 10, 0, 3 };

	mpz_init(acc[0]);
	REQUIRE_OK(mcn_pack_layout_new(&L, 100, 5, 8, f, 1));
	CHECK_OK(mcn_pack(L, acc, vals, 4));
	mpz_set_ui(got[0], 99);
	CHECK_ERR(mcn_unpack(L, got, acc, 4, 0), MCN_EINVAL);
	CHECK_ERR(mcn_unpack(L, got, acc, 4, 6), MCN_EINVAL);
	CHECK_ERR(mcn_unpack(L, got, acc, 3, 1), MCN_EINVAL);
	CHECK_ERR(mcn_unpack_i64(L, got_i, acc, 4, 0), MCN_EINVAL);
	CHECK_ERR(mcn_unpack_i64(L, got_i, acc, 4, 6), MCN_EINVAL);
	CHECK_ERR(mcn_unpack_i64(L, got_i, acc, 5, 1), MCN_EINVAL);
	CHECK(mpz_cmp_ui(got[0], 99) == 0 && got_i[0] == 7); /* untouched */
	/* Unpacking one contribution as if from 5 parties is accepted (slots
	 * 0, 20, 10, 13 are within 5 * 20) and adds 5 * lo = -50 to each. */
	CHECK_OK(mcn_unpack_i64(L, got_i, acc, 4, 5));
	CHECK(got_i[0] == -50 && got_i[1] == -30 && got_i[2] == -40 &&
	    got_i[3] == -37);
	CHECK_OK(mcn_unpack_i64(L, got_i, acc, 4, 1));
	CHECK(got_i[0] == -10 && got_i[1] == 10 && got_i[2] == 0 &&
	    got_i[3] == 3);

	mpz_neg(acc[0], acc[0]);
	CHECK_ERR(mcn_unpack(L, got, acc, 4, 1), MCN_EPLAINTEXT);
	CHECK(mpz_sgn(got[1]) == 0);
	mpz_set_ui(acc[0], 1);
	mpz_mul_2exp(acc[0], acc[0], 100); /* 2^plaintext_bits */
	CHECK_ERR(mcn_unpack(L, got, acc, 4, 1), MCN_EPLAINTEXT);
	CHECK_ERR(mcn_unpack_i64(L, got_i, acc, 4, 1), MCN_EPLAINTEXT);
	CHECK(got_i[1] == 0);
	mpz_set_ui(acc[0], 1);
	mpz_mul_2exp(acc[0], acc[0], 99); /* 2^99 < 2^100: above slots */
	CHECK_ERR(mcn_unpack(L, got, acc, 4, 1), MCN_EOVERFLOW);
	mcn_pack_layout_free(L);
	mpz_clear(acc[0]);
	mcnt_mpz_array_free(got, 4);
}

static void
test_unpack_i64_range(void)
{
	static const mcn_pack_field f[] = { { 2, INT64_MIN, INT64_MAX } };
	mcn_pack_layout *L = NULL;
	mpz_t pt[1], acc[1], *got = mcnt_mpz_array(2), want;
	int64_t vals[2] = { INT64_MAX, INT64_MIN }, got_i[2];

	mpz_inits(pt[0], acc[0], want, NULL);
	REQUIRE_OK(mcn_pack_layout_new(&L, 512, 3, 8, f, 1));
	CHECK_OK(mcn_pack(L, pt, vals, 2));
	CHECK_OK(mcn_unpack_i64(L, got_i, pt, 2, 1));
	CHECK(got_i[0] == INT64_MAX && got_i[1] == INT64_MIN);
	mpz_mul_ui(acc[0], pt[0], 2); /* two identical parties */
	CHECK_ERR(mcn_unpack_i64(L, got_i, acc, 2, 2), MCN_ERANGE);
	CHECK(got_i[0] == 0 && got_i[1] == 0);
	CHECK_OK(mcn_unpack(L, got, acc, 2, 2));
	mcnt_mpz_set_i64(want, INT64_MAX);
	mpz_mul_ui(want, want, 2);
	CHECK_MPZ_EQ(got[0], want);
	mcnt_mpz_set_i64(want, INT64_MIN);
	mpz_mul_ui(want, want, 2);
	CHECK_MPZ_EQ(got[1], want);
	mcn_pack_layout_free(L);
	mpz_clears(pt[0], acc[0], want, NULL);
	mcnt_mpz_array_free(got, 2);
}

static void
test_layout_errors(void)
{
	mcn_pack_layout *L = (mcn_pack_layout *)&L; /* must become NULL */
	mcn_pack_field f[2] = { { 3, 0, 255 }, { 2, 0, 1 } };

	CHECK_ERR(mcn_pack_layout_new(&L, 64, 1, 8, f, 0), MCN_EINVAL);
	CHECK(L == NULL);
	CHECK_ERR(mcn_pack_layout_new(&L, 64, 0, 8, f, 2), MCN_EINVAL);
	CHECK_ERR(mcn_pack_layout_new(&L, 0, 1, 8, f, 2), MCN_EINVAL);
	/* [0,255] with 1 party is 8 bits: 8 + 56 = 64 fits, 8 + 57 not. */
	CHECK_OK(mcn_pack_layout_new(&L, 64, 1, 56, f, 1));
	CHECK_U64_EQ(mcn_pack_layout_nplaintexts(L), 3);
	mcn_pack_layout_free(L);
	CHECK_ERR(mcn_pack_layout_new(&L, 64, 1, 57, f, 1), MCN_EINVAL);
	CHECK_ERR(mcn_pack_layout_new(&L, 64, 1, UINT_MAX, f, 1), MCN_EINVAL);
	CHECK_ERR(mcn_pack_layout_new(&L, 15, 1, 8, f, 2), MCN_EINVAL);
	f[1].lo = 2; /* lo > hi */
	CHECK_ERR(mcn_pack_layout_new(&L, 64, 1, 8, f, 2), MCN_EINVAL);
	f[1].lo = 0;
	f[0].count = 0;
	f[1].count = 0; /* no slot at all */
	CHECK_ERR(mcn_pack_layout_new(&L, 64, 1, 8, f, 2), MCN_EINVAL);
	f[1].count = 1; /* an empty field next to a non-empty one is fine */
	CHECK_OK(mcn_pack_layout_new(&L, 64, 1, 8, f, 2));
	CHECK_U64_EQ(mcn_pack_layout_nvalues(L), 1);
	mcn_pack_layout_free(L);
	f[0].count = SIZE_MAX; /* total count overflows size_t */
	CHECK_ERR(mcn_pack_layout_new(&L, 64, 1, 8, f, 2), MCN_EINVAL);
	CHECK(L == NULL);
	/* Full int64 with 2^32 - 1 parties: 96 + 8 bits fit in 104 only. */
	f[0].count = 1;
	f[0].lo = INT64_MIN;
	f[0].hi = INT64_MAX;
	CHECK_U64_EQ(mcn_pack_slots_per_plaintext(104, INT64_MIN, INT64_MAX,
	                 UINT_MAX, 8),
	    1);
	CHECK_ERR(mcn_pack_layout_new(&L, 103, UINT_MAX, 8, f, 1), MCN_EINVAL);
	CHECK_OK(mcn_pack_layout_new(&L, 104, UINT_MAX, 8, f, 1));
	mcn_pack_layout_free(L);
	mcn_pack_layout_free(NULL);
}

/* An absurd slot count must fail cleanly (ENOMEM), not hang. */
static void
test_layout_huge(void)
{
	mcn_pack_layout *L = NULL;
	mcn_pack_field f = { SIZE_MAX / 2, 0, 1 };

	CHECK_ERR(mcn_pack_layout_new(&L, 64, 1, 8, &f, 1), MCN_ENOMEM);
	CHECK(L == NULL);
}

static void
test_alloc_failures(void)
{
	static const mcn_pack_field f[] = {
		{ 100, 0, 10 },
		{ 7, -3, 3 },
		{ 50, INT64_MIN, INT64_MAX },
	};
	mcn_pack_layout *L = NULL;
	unsigned long count, n;
	int64_t vals[157] = { 0 };
	mpz_t *pt, *got = mcnt_mpz_array(157);
	size_t npt;

	mcn_alloc_fail_at(0);
	REQUIRE_OK(mcn_pack_layout_new(&L, 512, 10, 8, f, 3));
	count = mcn_alloc_fail_at(0);
	mcn_pack_layout_free(L);
	L = NULL;
	CHECK(count >= 1);
	for (n = 1; n <= count + 1; n++) {
		mcn_err rv;

		mcn_alloc_fail_at(n);
		rv = mcn_pack_layout_new(&L, 512, 10, 8, f, 3);
		mcn_alloc_fail_at(0);
		if (n <= count) {
			/* every allocation is needed: each failure shows */
			CHECK_ERR(rv, MCN_ENOMEM);
			CHECK(L == NULL);
		} else {
			CHECK_OK(rv);
		}
		mcn_pack_layout_free(L);
		L = NULL;
	}

	REQUIRE_OK(mcn_pack_layout_new(&L, 512, 10, 8, f, 3));
	npt = mcn_pack_layout_nplaintexts(L);
	pt = mcnt_mpz_array(npt);
	mpz_set_ui(pt[0], 77);
	mcn_alloc_fail_at(1);
	CHECK_ERR(mcn_pack(L, pt, vals, 157), MCN_ENOMEM);
	mcn_alloc_fail_at(0);
	CHECK(mpz_cmp_ui(pt[0], 77) == 0);
	CHECK_OK(mcn_pack(L, pt, vals, 157));
	mcn_alloc_fail_at(1);
	CHECK_ERR(mcn_unpack(L, got, pt, 157, 1), MCN_ENOMEM);
	mcn_alloc_fail_at(1);
	CHECK_ERR(mcn_unpack_i64(L, vals, pt, 157, 1), MCN_ENOMEM);
	mcn_alloc_fail_at(0);
	CHECK_OK(mcn_unpack_i64(L, vals, pt, 157, 1));
	CHECK(vals[0] == 0 && vals[156] == 0);
	mcn_pack_layout_free(L);
	mcnt_mpz_array_free(pt, npt);
	mcnt_mpz_array_free(got, 157);
}

MCNT_MAIN({ "fixed_encode_exact", test_fixed_encode_exact },
    { "fixed_rounding", test_fixed_rounding },
    { "fixed_range_errors", test_fixed_range_errors },
    { "fixed_decode", test_fixed_decode },
    { "fixed_decode_mpz", test_fixed_decode_mpz },
    { "capacity_2048", test_capacity_2048 },
    { "layout_by_hand", test_layout_by_hand },
    { "sum_counts", test_sum_counts },
    { "sum_network_total", test_sum_network_total },
    { "sum_negative", test_sum_negative },
    { "sum_full_int64", test_sum_full_int64 },
    { "sum_multi_field", test_sum_multi_field },
    { "sum_exact_fill", test_sum_exact_fill },
    { "sum_at_bounds", test_sum_at_bounds },
    { "sum_wide_guard", test_sum_wide_guard },
    { "pack_errors", test_pack_errors },
    { "unpack_overflow", test_unpack_overflow },
    { "unpack_errors", test_unpack_errors },
    { "unpack_i64_range", test_unpack_i64_range },
    { "layout_errors", test_layout_errors },
    { "layout_huge", test_layout_huge },
    { "alloc_failures", test_alloc_failures }, )
