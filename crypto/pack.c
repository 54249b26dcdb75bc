/*
 * crypto/pack.c - fixed-point encoding and slot packing of Paillier plaintexts.
 *
 * Fixed point. encode computes y = x * 2^f, which is exact in binary floating
 * point (a power-of-two scale only moves the exponent; overflow gives inf,
 * caught by the range test), rejects |y| >= 2^63 and NaN with one comparison
 * pair, then rounds by hand: t = trunc(y) is exact, y - t is exact (it is
 * made of y's own bits below the binary point), and t moves one step away
 * from zero when that fraction is >= 1/2. No libm call is needed (the
 * library does not link -lm), and the FPU rounding mode does not matter.
 * decode divides by 2^f, again exact, so the only rounding is the
 * int64 -> double conversion (to nearest even in the default floating-point
 * environment, as for decode_mpz). decode_mpz takes the top 64 bits of
 * |sum| with a sticky bit ORed into bit 0 (set when any lower bit is set);
 * converting those 64 bits to double rounds correctly because the sticky
 * bit sits below the round bit (bit 10), and scaling by 2^(shift - f) is
 * exact until overflow.
 *
 * Packing. Per field with per-party range [lo, hi], span s = hi - lo < 2^64
 * (computed in uint64: hi - lo mod 2^64 is exact since hi >= lo). The slot
 * holds sum_i (v_i - lo) <= P * s for P <= max_parties contributions, which
 * needs value_bits = bits(max_parties * s) <= 96 bits (a 128-bit product),
 * and the slot is value_bits + guard_bits wide. A plaintext is
 *
 *     sum over slots j in the plaintext of (v_j - lo_j) * 2^(off_j)
 *
 * and, since every slot sum stays below 2^(slot width), adding plaintexts
 * adds slot by slot. Unpacking a sum of P plaintexts reads each slot as an
 * integer t = sum_i v_i - P * lo and accepts it iff t <= P * s (this also
 * proves the guard bits are zero when the slot is at most 128 bits wide;
 * wider slots get an explicit zero test of the bits above 128), then
 * returns sum_i v_i = t + P * lo, which fits in a signed 128-bit integer
 * (0 <= t < 2^96, |P * lo| < 2^95).
 *
 * Placement is computed once, in the layout, as "runs": maximal stretches of
 * consecutive slots of one field inside one plaintext. There are at most
 * nfields + nplaintexts - 1 runs, so pack/unpack loop over runs and slots
 * without per-slot bookkeeping. pack writes each slot into a little-endian
 * uint64 buffer with two shifted ORs and converts the buffer with one
 * mpz_import per plaintext; unpack does one mpz_export per plaintext and
 * reads slots with 128-bit shifts. The buffer has two spare zero words so a
 * slot near the top can be read or written without bounds branches.
 *
 * Secrets: values passed to mcn_pack are one party's private data. They
 * live only in the scratch buffer (wiped by mcn_free) and in the caller's
 * mpz outputs (GMP reallocations are wiped by the mcn_crypto_init
 * allocator). Layouts and decrypted aggregates are public.
 */
#include "crypto/pack.h"

#include <float.h>
#include <string.h>

#include "crypto/mem.h"

__extension__ typedef unsigned __int128 pack_u128;
__extension__ typedef __int128 pack_i128;

typedef struct pack_field {
	size_t count;        /* slots in this field */
	int64_t lo;          /* per-party lower bound, subtracted by pack */
	int64_t hi;          /* per-party upper bound */
	uint64_t span;       /* hi - lo, exact in uint64 */
	unsigned value_bits; /* bits(max_parties * span) */
	unsigned slot_bits;  /* max(1, value_bits + guard_bits) */
} pack_field;

typedef struct pack_run {
	size_t field;  /* index into fields */
	size_t first;  /* index of the run's first slot in the value vector */
	size_t nslots; /* consecutive slots of that field */
	size_t pt;     /* plaintext holding the run */
	size_t bit;    /* bit offset of the first slot in that plaintext */
} pack_run;

struct mcn_pack_layout {
	unsigned plaintext_bits; /* every plaintext is < 2^plaintext_bits */
	unsigned max_parties;
	unsigned guard_bits;
	size_t nwords;  /* ceil(plaintext_bits / 64) */
	size_t nvalues; /* total slots */
	size_t nplaintexts;
	size_t nfields;
	pack_field *fields;
	size_t nruns;
	pack_run *runs; /* ordered by plaintext, then bit offset */
};

/* ---- fixed point ---------------------------------------------------- */

static double
pack_pow2(unsigned k) /* 2^k for k <= 63, exact */
{
	return (double)((uint64_t)1 << k);
}

mcn_err
mcn_fixed_encode(int64_t *out, double x, unsigned frac_bits)
{
	double y, frac;
	int64_t t;

	MCN_MUST(out != NULL);
	*out = 0;
	if (frac_bits > MCN_FIXED_FRAC_BITS_MAX) {
		return MCN_EINVAL;
	}
	y = x * pack_pow2(frac_bits);
	if (!(y > -0x1p63 && y < 0x1p63)) { /* also false for NaN */
		return MCN_ERANGE;
	}
	t = (int64_t)y; /* truncation toward zero, in range */
	frac = y - (double)t;
	/* |y| >= 2^52 means y is already an integer and frac is 0, so the
	 * step below cannot overflow. */
	if (frac >= 0.5) {
		t++;
	} else if (frac <= -0.5) {
		t--;
	}
	*out = t;
	return MCN_OK;
}

double
mcn_fixed_decode(int64_t v, unsigned frac_bits)
{
	MCN_MUST(frac_bits <= MCN_FIXED_FRAC_BITS_MAX);
	return (double)v / pack_pow2(frac_bits);
}

mcn_err
mcn_fixed_decode_mpz(double *out, const mpz_t sum, unsigned frac_bits)
{
	mpz_t top;
	uint64_t m = 0;
	size_t nbits, shift, cnt;
	long e;
	double d;

	MCN_MUST(out != NULL && sum != NULL);
	*out = 0.0;
	if (frac_bits > MCN_FIXED_FRAC_BITS_MAX) {
		return MCN_EINVAL;
	}
	if (mpz_sgn(sum) == 0) {
		return MCN_OK;
	}
	nbits = mpz_sizeinbase(sum, 2);
	shift = nbits > 64 ? nbits - 64 : 0;
	/* A double cannot exceed 2^1024, and the top word is >= 2^63, so a
	 * total exponent above 1024 - 63 overflows whatever the rounding. */
	if (shift > (size_t)frac_bits + (1024 - 63)) {
		return MCN_ERANGE;
	}
	mpz_init(top);
	mpz_abs(top, sum);
	if (shift > 0) {
		int sticky = mpz_scan1(top, 0) < shift;

		mpz_tdiv_q_2exp(top, top, shift);
		mpz_export(&m, &cnt, -1, sizeof(m), 0, 0, top);
		m |= (uint64_t)sticky;
	} else {
		mpz_export(&m, &cnt, -1, sizeof(m), 0, 0, top);
	}
	mcn_mpz_wipe(top);
	mpz_clear(top);

	d = (double)m; /* the one rounding: 64 -> 53 bits, to nearest even */
	/* Scale by 2^e in steps of at most 2^63: each step is exact until it
	 * overflows to inf. e >= -62 and d >= 1, so there is no underflow. */
	e = (long)shift - (long)frac_bits;
	while (e > 0) {
		unsigned k = e > 63 ? 63 : (unsigned)e;

		d *= pack_pow2(k);
		e -= (long)k;
	}
	if (e < 0) {
		d /= pack_pow2((unsigned)-e);
	}
	if (d > DBL_MAX) {
		return MCN_ERANGE;
	}
	*out = mpz_sgn(sum) < 0 ? -d : d;
	return MCN_OK;
}

/* ---- slot geometry -------------------------------------------------- */

static unsigned
pack_bitlen128(pack_u128 x)
{
	uint64_t h = (uint64_t)(x >> 64), l = (uint64_t)x;

	if (h != 0) {
		return 128 - (unsigned)__builtin_clzll(h);
	}
	return l != 0 ? 64 - (unsigned)__builtin_clzll(l) : 0;
}

/* Value bits and slot width (64-bit so value_bits + guard_bits cannot wrap)
 * of a field; 0 if the arguments are invalid. */
static int
pack_width(unsigned *value_bits, uint64_t *slot_bits, int64_t lo, int64_t hi,
    unsigned max_parties, unsigned guard_bits)
{
	uint64_t span, w;

	if (lo > hi || max_parties == 0) {
		return 0;
	}
	span = (uint64_t)hi - (uint64_t)lo;
	*value_bits = pack_bitlen128((pack_u128)span * max_parties);
	w = (uint64_t)*value_bits + guard_bits;
	*slot_bits = w == 0 ? 1 : w; /* lo == hi with no guard: 1 bit */
	return 1;
}

unsigned
mcn_pack_slots_per_plaintext(unsigned plaintext_bits, int64_t lo, int64_t hi,
    unsigned max_parties, unsigned guard_bits)
{
	unsigned vb;
	uint64_t w;

	if (!pack_width(&vb, &w, lo, hi, max_parties, guard_bits) ||
	    w > plaintext_bits) {
		return 0;
	}
	return (unsigned)(plaintext_bits / w);
}

/* Counts runs and plaintexts in O(1) per field (a field may span millions
 * of plaintexts; this runs before anything is allocated). */
static void
pack_count(const mcn_pack_layout *L, size_t *nruns, size_t *npt)
{
	size_t runs = 0, pts = 0, bit = 0;

	for (size_t f = 0; f < L->nfields; f++) {
		size_t c = L->fields[f].count, w = L->fields[f].slot_bits;
		size_t per = L->plaintext_bits / w, room, full;

		if (c == 0) {
			continue;
		}
		room = pts > 0 ? (L->plaintext_bits - bit) / w : 0;
		if (room >= c) {
			runs++;
			bit += c * w;
			continue;
		}
		if (room > 0) {
			runs++;
			c -= room;
		}
		/* c > 0 slots left, in fresh plaintexts of per slots each. */
		full = (c - 1) / per;
		runs += full + 1;
		pts += full + 1;
		bit = (c - full * per) * w;
	}
	*nruns = runs;
	*npt = pts;
}

/* Fills L->runs by walking the placement run by run. */
static void
pack_place(mcn_pack_layout *L)
{
	size_t r = 0, pts = 0, bit = 0, first = 0;

	for (size_t f = 0; f < L->nfields; f++) {
		size_t c = L->fields[f].count, w = L->fields[f].slot_bits;

		while (c > 0) {
			size_t room = 0, take;

			if (pts > 0) {
				room = (L->plaintext_bits - bit) / w;
			}
			if (room == 0) {
				pts++;
				bit = 0;
				room = L->plaintext_bits / w;
			}
			take = room < c ? room : c;
			MCN_MUST(r < L->nruns);
			L->runs[r].field = f;
			L->runs[r].first = first;
			L->runs[r].nslots = take;
			L->runs[r].pt = pts - 1;
			L->runs[r].bit = bit;
			r++;
			bit += take * w;
			first += take;
			c -= take;
		}
	}
	MCN_MUST(r == L->nruns && pts == L->nplaintexts && first == L->nvalues);
}

mcn_err
mcn_pack_layout_new(mcn_pack_layout **out, unsigned plaintext_bits,
    unsigned max_parties, unsigned guard_bits, const mcn_pack_field *fields,
    size_t nfields)
{
	mcn_pack_layout *L = NULL;
	mcn_err rv = MCN_EINVAL;
	size_t total = 0;

	MCN_MUST(out != NULL && (fields != NULL || nfields == 0));
	*out = NULL;
	if (nfields == 0 || max_parties == 0 || plaintext_bits == 0) {
		return MCN_EINVAL;
	}
	for (size_t f = 0; f < nfields; f++) {
		unsigned vb;
		uint64_t w;

		if (!pack_width(&vb, &w, fields[f].lo, fields[f].hi,
		        max_parties, guard_bits) ||
		    w > plaintext_bits || fields[f].count > SIZE_MAX - total) {
			return MCN_EINVAL;
		}
		total += fields[f].count;
	}
	if (total == 0) {
		return MCN_EINVAL;
	}
	if (nfields > SIZE_MAX / sizeof(pack_field)) {
		return MCN_ENOMEM;
	}

	rv = MCN_ENOMEM;
	if ((L = mcn_zalloc(sizeof(*L))) == NULL) {
		goto out;
	}
	L->plaintext_bits = plaintext_bits;
	L->max_parties = max_parties;
	L->guard_bits = guard_bits;
	L->nwords = ((size_t)plaintext_bits + 63) / 64;
	L->nvalues = total;
	if ((L->fields = mcn_alloc(nfields * sizeof(pack_field))) == NULL) {
		goto out;
	}
	L->nfields = nfields;
	for (size_t f = 0; f < nfields; f++) {
		pack_field *pf = &L->fields[f];
		uint64_t w = 0;
		int ok;

		pf->count = fields[f].count;
		pf->lo = fields[f].lo;
		pf->hi = fields[f].hi;
		pf->span = (uint64_t)pf->hi - (uint64_t)pf->lo;
		ok = pack_width(&pf->value_bits, &w, pf->lo, pf->hi,
		    max_parties, guard_bits);
		MCN_MUST(ok && w <= plaintext_bits); /* validated above */
		pf->slot_bits = (unsigned)w;
	}
	pack_count(L, &L->nruns, &L->nplaintexts);
	if (L->nruns > SIZE_MAX / sizeof(pack_run) ||
	    (L->runs = mcn_alloc(L->nruns * sizeof(pack_run))) == NULL) {
		L->nruns = 0;
		goto out;
	}
	pack_place(L);
	*out = L;
	L = NULL;
	rv = MCN_OK;
out:
	mcn_pack_layout_free(L);
	return rv;
}

void
mcn_pack_layout_free(mcn_pack_layout *L)
{
	if (L == NULL) {
		return;
	}
	mcn_free(L->runs, L->nruns * sizeof(pack_run));
	mcn_free(L->fields, L->nfields * sizeof(pack_field));
	mcn_free(L, sizeof(*L));
}

size_t
mcn_pack_layout_nvalues(const mcn_pack_layout *L)
{
	MCN_MUST(L != NULL);
	return L->nvalues;
}

size_t
mcn_pack_layout_nplaintexts(const mcn_pack_layout *L)
{
	MCN_MUST(L != NULL);
	return L->nplaintexts;
}

unsigned
mcn_pack_layout_slot_bits(const mcn_pack_layout *L, size_t field)
{
	MCN_MUST(L != NULL && field < L->nfields);
	return L->fields[field].slot_bits;
}

/* ---- packing -------------------------------------------------------- */

/* Scratch words for one plaintext: nwords plus two zero words of slack. */
static size_t
pack_buf_words(const mcn_pack_layout *L)
{
	return L->nwords + 2;
}

/* ORs v (< 2^64) into buf at bit offset bit. */
static void
pack_put(uint64_t *buf, size_t bit, uint64_t v)
{
	size_t i = bit / 64;
	unsigned s = (unsigned)(bit % 64);

	buf[i] |= v << s;
	if (s != 0) {
		buf[i + 1] |= v >> (64 - s);
	}
}

/* The width (1..128) bits of buf starting at bit offset bit. */
static pack_u128
pack_get(const uint64_t *buf, size_t bit, unsigned width)
{
	size_t i = bit / 64;
	unsigned s = (unsigned)(bit % 64);
	pack_u128 v = (((pack_u128)buf[i + 1] << 64) | buf[i]) >> s;

	if (s != 0) {
		v |= (pack_u128)buf[i + 2] << (128 - s);
	}
	if (width < 128) {
		v &= ((pack_u128)1 << width) - 1;
	}
	return v;
}

/* 1 if bits [from, to) of buf are all zero. */
static int
pack_zero(const uint64_t *buf, size_t from, size_t to)
{
	while (from < to) {
		unsigned s = (unsigned)(from % 64);
		size_t n = 64 - s < to - from ? 64 - s : to - from;
		uint64_t mask =
		    (n == 64 ? ~(uint64_t)0 : (((uint64_t)1 << n) - 1)) << s;

		if ((buf[from / 64] & mask) != 0) {
			return 0;
		}
		from += n;
	}
	return 1;
}

mcn_err
mcn_pack(const mcn_pack_layout *L, mpz_t *out, const int64_t *values,
    size_t nvalues)
{
	size_t nb, r = 0;
	uint64_t *buf;

	MCN_MUST(L != NULL && out != NULL && values != NULL);
	if (nvalues != L->nvalues) {
		return MCN_EINVAL;
	}
	/* Check everything first so that out[] is untouched on error. */
	for (size_t i = 0; i < L->nruns; i++) {
		const pack_run *run = &L->runs[i];
		const pack_field *pf = &L->fields[run->field];

		for (size_t j = 0; j < run->nslots; j++) {
			int64_t v = values[run->first + j];

			if (v < pf->lo || v > pf->hi) {
				return MCN_ERANGE;
			}
		}
	}
	nb = pack_buf_words(L);
	if ((buf = mcn_alloc(nb * sizeof(uint64_t))) == NULL) {
		return MCN_ENOMEM;
	}
	for (size_t pt = 0; pt < L->nplaintexts; pt++) {
		memset(buf, 0, nb * sizeof(uint64_t));
		for (; r < L->nruns && L->runs[r].pt == pt; r++) {
			const pack_run *run = &L->runs[r];
			const pack_field *pf = &L->fields[run->field];
			const int64_t *v = values + run->first;
			size_t bit = run->bit;

			/* v - lo in [0, span], exact mod 2^64 */
			for (size_t j = 0; j < run->nslots; j++) {
				pack_put(buf, bit,
				    (uint64_t)v[j] - (uint64_t)pf->lo);
				bit += pf->slot_bits;
			}
		}
		mpz_import(out[pt], L->nwords, -1, sizeof(uint64_t), 0, 0, buf);
	}
	mcn_free(buf, nb * sizeof(uint64_t));
	return MCN_OK;
}

/* Stores the sum s as value idx of whichever output is in use;
 * MCN_ERANGE if the output is int64 and s does not fit. */
static mcn_err
pack_store(mpz_t *out_z, int64_t *out_i, size_t idx, pack_i128 s)
{
	pack_u128 m = s < 0 ? -(pack_u128)s : (pack_u128)s;
	uint64_t wd[2] = { (uint64_t)m, (uint64_t)(m >> 64) };

	if (out_i != NULL) {
		if (s < INT64_MIN || s > INT64_MAX) {
			return MCN_ERANGE;
		}
		out_i[idx] = (int64_t)s;
		return MCN_OK;
	}
	mpz_import(out_z[idx], 2, -1, sizeof(uint64_t), 0, 0, wd);
	if (s < 0) {
		mpz_neg(out_z[idx], out_z[idx]);
	}
	return MCN_OK;
}

/* Decodes one run of slots of an exported plaintext. */
static mcn_err
pack_unpack_run(const mcn_pack_layout *L, const pack_run *run,
    const uint64_t *buf, unsigned nparties, mpz_t *out_z, int64_t *out_i)
{
	const pack_field *pf = &L->fields[run->field];
	pack_u128 bound = (pack_u128)pf->span * nparties;
	pack_i128 base = (pack_i128)pf->lo * nparties;
	unsigned w = pf->slot_bits, rw = w < 128 ? w : 128;
	size_t bit = run->bit;
	mcn_err rv;

	for (size_t j = 0; j < run->nslots; j++, bit += w) {
		pack_u128 t = pack_get(buf, bit, rw);

		/* t <= bound < 2^value_bits also clears the guard bits
		 * of a slot of up to 128 bits; wider ones check the rest. */
		if (t > bound ||
		    (w > 128 && !pack_zero(buf, bit + 128, bit + w))) {
			return MCN_EOVERFLOW;
		}
		rv = pack_store(out_z, out_i, run->first + j,
		    (pack_i128)t + base);
		if (rv != MCN_OK) {
			return rv;
		}
	}
	return MCN_OK;
}

/* Unpacks into out_z (mpz) or out_i (int64), whichever is not NULL. */
static mcn_err
pack_unpack(const mcn_pack_layout *L, mpz_t *out_z, int64_t *out_i,
    const mpz_t *packed, unsigned nparties)
{
	mcn_err rv = MCN_ENOMEM;
	size_t nb = pack_buf_words(L), r = 0;
	uint64_t *buf;

	if ((buf = mcn_alloc(nb * sizeof(uint64_t))) == NULL) {
		goto out;
	}
	for (size_t pt = 0; pt < L->nplaintexts; pt++) {
		size_t cnt, end = 0;

		if (mpz_sgn(packed[pt]) < 0 ||
		    mpz_sizeinbase(packed[pt], 2) > L->plaintext_bits) {
			rv = MCN_EPLAINTEXT;
			goto out;
		}
		memset(buf, 0, nb * sizeof(uint64_t));
		mpz_export(buf, &cnt, -1, sizeof(uint64_t), 0, 0, packed[pt]);
		for (; r < L->nruns && L->runs[r].pt == pt; r++) {
			const pack_run *run = &L->runs[r];

			rv = pack_unpack_run(L, run, buf, nparties, out_z,
			    out_i);
			if (rv != MCN_OK) {
				goto out;
			}
			end = run->bit +
			    run->nslots * L->fields[run->field].slot_bits;
		}
		if (!pack_zero(buf, end, L->plaintext_bits)) {
			rv = MCN_EOVERFLOW;
			goto out;
		}
	}
	rv = MCN_OK;
out:
	if (buf != NULL) {
		mcn_free(buf, nb * sizeof(uint64_t));
	}
	if (rv != MCN_OK) {
		for (size_t i = 0; i < L->nvalues; i++) {
			if (out_i != NULL) {
				out_i[i] = 0;
			} else {
				mpz_set_ui(out_z[i], 0);
			}
		}
	}
	return rv;
}

mcn_err
mcn_unpack(const mcn_pack_layout *L, mpz_t *out, const mpz_t *packed,
    size_t nvalues, unsigned nparties)
{
	MCN_MUST(L != NULL && out != NULL && packed != NULL);
	if (nvalues != L->nvalues || nparties == 0 ||
	    nparties > L->max_parties) {
		return MCN_EINVAL;
	}
	return pack_unpack(L, out, NULL, packed, nparties);
}

mcn_err
mcn_unpack_i64(const mcn_pack_layout *L, int64_t *out, const mpz_t *packed,
    size_t nvalues, unsigned nparties)
{
	MCN_MUST(L != NULL && out != NULL && packed != NULL);
	if (nvalues != L->nvalues || nparties == 0 ||
	    nparties > L->max_parties) {
		return MCN_EINVAL;
	}
	return pack_unpack(L, NULL, out, packed, nparties);
}
