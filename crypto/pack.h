/*
 * crypto/pack.h - fixed-point encoding and slot packing of Paillier plaintexts.
 *
 * Two independent tools that turn a party's numbers into Paillier plaintexts
 * whose homomorphic sum can be decoded exactly:
 *
 *  - Fixed point. A real x is carried as the integer round(x * 2^f), f frac
 *    bits (MCN_FIXED_FRAC_BITS = 32 by default, 0..62 allowed). Rounding is
 *    to nearest, ties away from zero (C's round()), independent of the FPU
 *    rounding mode. Encoded values are in (-2^63, 2^63): the range is kept
 *    symmetric so negation never overflows. Sums of many encodings are
 *    decoded from an mpz_t with the same scale.
 *
 *  - Packing. Many small integers ("slots") share one plaintext. A layout is
 *    a list of fields; a field is `count` slots whose per-party values lie in
 *    [lo, hi]. A party stores v - lo (in [0, hi - lo]), so all slots are
 *    non-negative. A slot is w = bits(max_parties * (hi - lo)) + guard_bits
 *    wide (at least 1), so the sum of up to max_parties honest contributions
 *    never carries into the next slot, and a sum above the declared bound
 *    shows up as a slot value above nparties * (hi - lo) or as a set guard
 *    bit (MCN_EOVERFLOW, never a wrong number). Slots go little end first,
 *    fields in order, each plaintext filled greedily, and a slot never
 *    straddles two plaintexts. The caller passes plaintext_bits =
 *    bitlength(n) - 1, so every packed value and every sum is < 2^bits < n
 *    and the sum never wraps modulo n.
 *
 * Capacity of one 2048-bit modulus (plaintext_bits = 2047, guard 8 bits),
 * from mcn_pack_slots_per_plaintext and asserted in tests/crypto/test_pack.c:
 *  (a) counts, per party [0, 10^7], N = 100 parties: 100 * 10^7 = 10^9 needs
 *      30 bits (2^29 < 10^9 < 2^30), w = 38, 2047 / 38 -> 53 slots.
 *      If instead the network-wide total is known to be <= 10^7, the bound is
 *      on the sum itself: build the layout with max_parties = 1 and unpack
 *      with nparties = 1 (valid because lo = 0, so no per-party offset has
 *      to be removed). 10^7 needs 24 bits (2^23 < 10^7 < 2^24), w = 32,
 *      2047 / 32 -> 63 slots (64 * 32 = 2048 misses by one bit).
 *  (b) 64-bit fixed-point sums, per party the full int64 range, N = 100:
 *      100 * (2^64 - 1) needs 71 bits (64 < 100 < 128), w = 79,
 *      2047 / 79 -> 25 slots. Declaring a tighter range pays: |x| < 2^20
 *      with f = 32, i.e. [-2^52, 2^52], gives 60 + 8 = 68 bits -> 30 slots.
 *
 * Security model: mcn_pack refuses values outside [lo, hi], so honest
 * slots cannot overflow. The unpack checks catch aggregation mistakes (more
 * ciphertexts summed than nparties, a ciphertext added twice) and a party
 * that bypasses mcn_pack only when the aggregate leaves [0, nparties *
 * (hi - lo)] in some slot. They do not stop a malicious party, which can
 * encrypt any element of Z_n (a carry into a neighbouring slot, n - x to
 * subtract, an excess hidden under the bound); that needs a range proof.
 * Values given to mcn_pack are secret (one party's data); its scratch
 * memory is wiped. Layouts and decrypted aggregates are public.
 */
#ifndef MCN_CRYPTO_PACK_H
#define MCN_CRYPTO_PACK_H

#include <stddef.h>
#include <stdint.h>
#include <gmp.h>

#include "crypto/err.h"

#define MCN_FIXED_FRAC_BITS 32     /* default scale 2^32 */
#define MCN_FIXED_FRAC_BITS_MAX 62 /* largest allowed frac_bits */
#define MCN_PACK_GUARD_BITS 8      /* default guard bits per slot */

/* *out = round(x * 2^frac_bits), ties away from zero. MCN_ERANGE if x is
 * NaN or infinite or |x * 2^frac_bits| >= 2^63 (before rounding);
 * MCN_EINVAL if frac_bits > MCN_FIXED_FRAC_BITS_MAX. On error *out = 0.
 * x is a party's own data, encoded locally: not constant-time. Thread-safe. */
mcn_err mcn_fixed_encode(int64_t *out, double x, unsigned frac_bits) MCN_WUR;

/* v / 2^frac_bits as the nearest double (exact when |v| <= 2^53; otherwise
 * one rounding of v to 53 bits, ties to even under the default rounding
 * mode). frac_bits > MCN_FIXED_FRAC_BITS_MAX is misuse and aborts. */
double mcn_fixed_decode(int64_t v, unsigned frac_bits);

/* *out = sum / 2^frac_bits for a pooled sum of any size: an exact exponent
 * shift, and the result is the double nearest to that quotient (ties to
 * even; exact when |sum| <= 2^53, else relative error <= 2^-53).
 * MCN_ERANGE if it rounds beyond DBL_MAX; MCN_EINVAL if frac_bits >
 * MCN_FIXED_FRAC_BITS_MAX. On error *out = 0. sum (public) is only read. */
mcn_err mcn_fixed_decode_mpz(double *out, const mpz_t sum,
    unsigned frac_bits) MCN_WUR;

/* One field of a layout: count slots, each party's value in [lo, hi]. */
typedef struct mcn_pack_field {
	size_t count;
	int64_t lo;
	int64_t hi;
} mcn_pack_field;

typedef struct mcn_pack_layout mcn_pack_layout; /* opaque, immutable */

/* Builds a layout for plaintexts of plaintext_bits bits (bitlength(n) - 1),
 * at most max_parties contributors and guard_bits guard bits per slot. The
 * fields array is copied. MCN_EINVAL: nfields 0, no slot at all, lo > hi,
 * max_parties 0, or one slot wider than plaintext_bits; MCN_ENOMEM. On error
 * *out = NULL. The layout is read-only afterwards: share it across threads. */
mcn_err mcn_pack_layout_new(mcn_pack_layout **out, unsigned plaintext_bits,
    unsigned max_parties, unsigned guard_bits, const mcn_pack_field *fields,
    size_t nfields) MCN_WUR;

/* Frees a layout. NULL is a no-op. */
void mcn_pack_layout_free(mcn_pack_layout *L);

/* Total number of slots (the length of the value vector). */
size_t mcn_pack_layout_nvalues(const mcn_pack_layout *L);

/* Number of plaintexts (so ciphertexts) one party's vector packs into. */
size_t mcn_pack_layout_nplaintexts(const mcn_pack_layout *L);

/* Slot width in bits of field `field` (< nfields, else misuse: abort). */
unsigned mcn_pack_layout_slot_bits(const mcn_pack_layout *L, size_t field);

/* How many slots of one field with range [lo, hi] fit in one plaintext of
 * plaintext_bits bits: plaintext_bits / w. 0 if one slot does not fit or
 * the arguments are invalid (lo > hi, max_parties 0). Pure; thread-safe. */
unsigned mcn_pack_slots_per_plaintext(unsigned plaintext_bits, int64_t lo,
    int64_t hi, unsigned max_parties, unsigned guard_bits);

/* One party: values[nvalues] (secret; field 0's values, then field 1's, ...)
 * -> out[nplaintexts] (caller-initialized mpz_t), each in [0, 2^bits).
 * MCN_ERANGE if a value is outside its field's [lo, hi]; MCN_EINVAL if
 * nvalues != mcn_pack_layout_nvalues(L); MCN_ENOMEM. On error out[] is
 * untouched. Scratch memory is wiped. Thread-safe on a shared layout. */
mcn_err mcn_pack(const mcn_pack_layout *L, mpz_t *out, const int64_t *values,
    size_t nvalues) MCN_WUR;

/* packed[nplaintexts], the decrypted sum of nparties packed vectors ->
 * out[nvalues] (caller-initialized mpz_t): the exact sums slot + nparties*lo.
 * MCN_EINVAL: nparties 0 or > max_parties, nvalues mismatch (out untouched).
 * MCN_EPLAINTEXT: a plaintext < 0 or >= 2^plaintext_bits; MCN_EOVERFLOW: a
 * slot above nparties * (hi - lo), a set guard bit or bit above the last
 * slot; MCN_ENOMEM. After these, every out[i] is 0 (never a partial sum). */
mcn_err mcn_unpack(const mcn_pack_layout *L, mpz_t *out, const mpz_t *packed,
    size_t nvalues, unsigned nparties) MCN_WUR;

/* As mcn_unpack, into int64_t; also MCN_ERANGE if a sum does not fit in
 * int64_t (then, as after every non-EINVAL error, every out[i] is 0). */
mcn_err mcn_unpack_i64(const mcn_pack_layout *L, int64_t *out,
    const mpz_t *packed, size_t nvalues, unsigned nparties) MCN_WUR;

#endif
