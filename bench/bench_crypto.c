/*
 * bench/bench_crypto.c - crypto micro-benchmarks: figures, not pass/fail.
 *
 *   bench_crypto [--json] [--bits 2048,3072] [--threads 1,N] [--time S]
 *                [--ops a,b,...] [--parties P] [--threshold T] [--quick]
 *
 * For every key size and thread count it measures each operation for at
 * least --time seconds and prints ops/s and us/op, plus the ratio to
 * `limit_powm` (one raw mpz_powm with an |n|-bit exponent mod n^2, the
 * yardstick that makes the targets machine-independent). With --json, one
 * JSON object per line: {"op", "bits", "threads", "ops_per_s", "us_per_op",
 * "ratio_to_limit", ...}. With T > 1 the batch (OpenMP) APIs run on vectors
 * so the figure is throughput over T threads. Randomness comes from the
 * deterministic test generator so runs are repeatable; keys from OpenSSL.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "crypto/mask.h"
#include "crypto/mem.h"
#include "crypto/pack.h"
#include "crypto/paillier.h"
#include "crypto/rng.h"
#include "crypto/threshold.h"

#ifndef MCN_GIT_REV
#define MCN_GIT_REV "unknown"
#endif

static struct {
	int json;
	unsigned bits[4], nbits;
	unsigned threads[4], nthreads;
	double min_time;
	const char *ops;
	unsigned parties, t;
	unsigned max_keygen;
} opt;

/* Parallel loop over a batch when running with T > 1 threads. */
#ifdef _OPENMP
#define OMP_FOR _Pragma("omp parallel for schedule(dynamic, 1) if (T > 1)")
#else
#define OMP_FOR
#endif

static unsigned
thread_id(void)
{
#ifdef _OPENMP
	return (unsigned)omp_get_thread_num();
#else
	return 0;
#endif
}

static char machine[160];
static double limit_ops; /* limit_powm ops/s for the current bits/threads */

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int
want(const char *op)
{
	const char *p;
	size_t l = strlen(op);

	if (opt.ops == NULL) {
		return 1;
	}
	for (p = opt.ops; (p = strstr(p, op)) != NULL; p += l) {
		if ((p == opt.ops || p[-1] == ',') &&
		    (p[l] == ',' || p[l] == 0)) {
			return 1;
		}
	}
	return 0;
}

static void
set_threads(unsigned t)
{
#ifdef _OPENMP
	omp_set_num_threads((int)t);
#else
	(void)t;
#endif
}

static void
report(const char *op, unsigned bits, unsigned threads, double ops, double secs,
    const char *extra)
{
	double ps = ops / secs;

	if (strcmp(op, "limit_powm") == 0) {
		limit_ops = ps;
	}
	if (opt.json) {
		printf("{\"op\":\"%s\",\"bits\":%u,\"threads\":%u,"
		       "\"ops_per_s\":%.3f,\"us_per_op\":%.3f,"
		       "\"ratio_to_limit\":%.3f%s%s,\"git\":\"%s\","
		       "\"machine\":\"%s\"}\n",
		    op, bits, threads, ps, 1e6 / ps,
		    limit_ops > 0 ? ps / limit_ops : 0.0, extra ? "," : "",
		    extra ? extra : "", MCN_GIT_REV, machine);
	} else {
		printf("%-16s %5u %3u %14.1f %12.1f %10.2f  %s\n", op, bits,
		    threads, ps, 1e6 / ps, limit_ops > 0 ? ps / limit_ops : 0.0,
		    extra ? extra : "");
	}
	fflush(stdout);
}

static void
die(const char *what, mcn_err rv)
{
	fprintf(stderr, "bench_crypto: %s: %s\n", what, mcn_strerror(rv));
	exit(1);
}

#define RUN(expr)                        \
	do {                             \
		mcn_err rv_ = (expr);    \
		if (rv_ != MCN_OK)       \
			die(#expr, rv_); \
	} while (0)

/* Runs body (which performs `per` operations) until min_time elapsed. */
#define TIMED(op, bits, threads, per, extra, body)            \
	do {                                                  \
		double t0_ = now(), el_;                      \
		double n_ = 0;                                \
		do {                                          \
			body;                                 \
			n_ += (per);                          \
		} while ((el_ = now() - t0_) < opt.min_time); \
		report(op, bits, threads, n_, el_, extra);    \
	} while (0)

static mpz_t *
vec_new(size_t n)
{
	mpz_t *v = malloc(n * sizeof(mpz_t));
	for (size_t i = 0; i < n; i++) {
		mpz_init(v[i]);
	}
	return v;
}

static void
vec_free(mpz_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		mpz_clear(v[i]);
	}
	free(v);
}

static void
bench_bits(unsigned bits, mcn_rng *rng)
{
	mcn_paillier_pk *pk = NULL;
	mcn_paillier_sk *sk = NULL;
	mcn_tpaillier_pub *pub = NULL;
	mcn_tpaillier_share **shares = calloc(opt.parties, sizeof(*shares));
	char extra[200];

	/* keys: timed once per size (serial operations) */
	{
		double t0 = now();
		unsigned n = 0;
		do {
			mcn_paillier_sk_free(sk);
			RUN(mcn_paillier_keygen(&pk, &sk, bits, rng));
			n++;
		} while (now() - t0 < opt.min_time && n < 20);
		if (want("keygen")) {
			report("keygen", bits, 1, n, now() - t0, NULL);
		}
	}
	{
		double t0 = now();
		unsigned n = 0;
		do {
			for (unsigned i = 0; i < opt.parties; i++) {
				mcn_tpaillier_share_free(shares[i]);
			}
			mcn_tpaillier_pub_free(pub);
			RUN(mcn_tpaillier_deal(&pub, shares, bits, opt.t,
			    opt.parties, rng));
			n++;
		} while (now() - t0 < opt.min_time && n < opt.max_keygen);
		snprintf(extra, sizeof(extra), "\"parties\":%u,\"t\":%u",
		    opt.parties, opt.t);
		if (want("threshold_keygen")) {
			report("threshold_keygen", bits, 1, n, now() - t0,
			    extra);
		}
	}
	{
		double t0 = now();
		RUN(mcn_paillier_precompute(pk, MCN_PAILLIER_COMB_H,
		    MCN_PAILLIER_COMB_V));
		RUN(mcn_paillier_precompute(mcn_tpaillier_pk_mut(pub),
		    MCN_PAILLIER_COMB_H, MCN_PAILLIER_COMB_V));
		if (!opt.json) {
			printf("# comb table h=%u v=%u: %.1f MiB, built in "
			       "%.2f s\n",
			    MCN_PAILLIER_COMB_H, MCN_PAILLIER_COMB_V,
			    (double)mcn_paillier_table_bytes(pk) / 1048576.0,
			    (now() - t0) / 2);
		}
	}

	for (unsigned ti = 0; ti < opt.nthreads; ti++) {
		unsigned T = opt.threads[ti];
		size_t B = T == 1 ? 1 : 4 * (size_t)T;
		mcn_rng_pool *pool = NULL;
		mpz_t *m = vec_new(B), *c = vec_new(B), *d = vec_new(B);
		mpz_t e, k;

		set_threads(T);
		RUN(mcn_rng_pool_new(&pool, rng, T));
		mpz_inits(e, k, NULL);
		limit_ops = 0;
		for (size_t i = 0; i < B; i++) {
			RUN(mcn_rng_mpz_below(rng, m[i], mcn_paillier_n(pk)));
			RUN(mcn_paillier_encrypt(pk, c[i], m[i], rng));
		}
		RUN(mcn_rng_mpz_bits(rng, e, bits));
		mpz_setbit(e, bits - 1);

		/* the yardstick: raw powm, |n|-bit exponent, modulus n^2 */
		TIMED("limit_powm", bits, T, B, NULL, {
			OMP_FOR
			for (long i = 0; i < (long)B; i++) {
				mpz_powm(d[i], c[i], e, mcn_paillier_n2(pk));
			}
		});
		if (want("encrypt")) {
			TIMED("encrypt", bits, T, B, NULL, {
				if (T == 1) {
					RUN(mcn_paillier_encrypt(pk, d[0], m[0],
					    rng));
				} else {
					RUN(mcn_paillier_encrypt_vec(pk, d,
					    (const mpz_t *)m, B, pool));
				}
			});
		}
		if (want("encrypt_plain")) {
			TIMED("encrypt_plain", bits, T, B, NULL, {
				OMP_FOR
				for (long i = 0; i < (long)B; i++) {
					mcn_rng *r =
					    mcn_rng_pool_get(pool, thread_id());
					RUN(mcn_paillier_encrypt_plain(pk, d[i],
					    m[i], r));
				}
			});
		}
		if (want("decrypt")) {
			TIMED("decrypt", bits, T, B, NULL, {
				if (T == 1) {
					RUN(mcn_paillier_decrypt(sk, d[0],
					    c[0]));
				} else {
					RUN(mcn_paillier_decrypt_vec(sk, d,
					    (const mpz_t *)c, B));
				}
			});
		}
		if (want("add")) {
			size_t A = 4096;
			mpz_t *x = vec_new(A), *y = vec_new(A);
			for (size_t i = 0; i < A; i++) {
				mpz_set(x[i], c[i % B]);
				mpz_set(y[i], c[(i + 1) % B]);
			}
			TIMED("add", bits, T, A, NULL, {
				if (T == 1) {
					for (size_t i = 0; i < A; i++) {
						mcn_paillier_ee_add(pk, x[i],
						    x[i], y[i]);
					}
				} else {
					mcn_paillier_ee_add_vec(pk, x,
					    (const mpz_t *)x, (const mpz_t *)y,
					    A);
				}
			});
			vec_free(x, A);
			vec_free(y, A);
		}
		if (want("mul_scalar")) {
			RUN(mcn_rng_mpz_bits(rng, k, 64));
			TIMED("mul_scalar", bits, T, B, "\"scalar_bits\":64", {
				OMP_FOR
				for (long i = 0; i < (long)B; i++) {
					mcn_paillier_ep_mul(pk, d[i], c[i], k);
				}
			});
		}
		if (want("partial_decrypt") || want("verify_partial") ||
		    want("combine")) {
			const mcn_paillier_pk *tpk = mcn_tpaillier_pk(pub);
			mcn_tpaillier_partial *parts =
			    malloc(opt.t * B * sizeof(*parts));
			mcn_err *st = malloc(B * sizeof(*st));
			for (size_t i = 0; i < opt.t * B; i++) {
				mcn_tpaillier_partial_init(&parts[i]);
			}
			for (size_t i = 0; i < B; i++) {
				/* the threshold key has its own, maybe smaller, n */
				mpz_mod(m[i], m[i], mcn_paillier_n(tpk));
				RUN(mcn_paillier_encrypt(tpk, c[i], m[i], rng));
			}
			for (unsigned p = 1; p < opt.t; p++) {
				RUN(mcn_tpaillier_partial_decrypt_vec(pub,
				    shares[p], parts + p * B, (const mpz_t *)c,
				    B, pool));
			}
			snprintf(extra, sizeof(extra),
			    "\"parties\":%u,\"t\":%u,\"with_proof\":true",
			    opt.parties, opt.t);
			TIMED("partial_decrypt", bits, T, B, extra, {
				RUN(mcn_tpaillier_partial_decrypt_vec(pub,
				    shares[0], parts, (const mpz_t *)c, B,
				    pool));
			});
			/* latency of one ciphertext (a small query): with
			 * T > 1 the batch call splits its exponentiations */
			TIMED("partial_decrypt_1ct", bits, T, 1, extra, {
				RUN(mcn_tpaillier_partial_decrypt_vec(pub,
				    shares[0], parts, (const mpz_t *)c, 1,
				    pool));
			});
			TIMED("verify_partial", bits, T, B, extra, {
				RUN(mcn_tpaillier_verify_vec(pub,
				    (const mpz_t *)c, parts, B, st));
			});
			snprintf(extra, sizeof(extra),
			    "\"parties\":%u,\"t\":%u,\"verified\":true",
			    opt.parties, opt.t);
			TIMED("combine", bits, T, B, extra, {
				OMP_FOR
				for (long i = 0; i < (long)B; i++) {
					mcn_tpaillier_partial set[64];
					for (unsigned p = 0; p < opt.t; p++) {
						set[p] =
						    parts[p * B + (size_t)i];
					}
					RUN(mcn_tpaillier_combine(pub, d[i],
					    c[i], set, opt.t, 1, NULL, NULL));
				}
			});
			for (size_t i = 0; i < B; i++) {
				if (mpz_cmp(d[i], m[i]) != 0) {
					die("combine gave a wrong plaintext",
					    MCN_EINVAL);
				}
			}
			for (size_t i = 0; i < opt.t * B; i++) {
				mcn_tpaillier_partial_clear(&parts[i]);
			}
			free(parts);
			free(st);
		}
		if (want("verify_vec_48")) {
			/* the querier's batch: VP parties' proofs for each of
			 * VC ciphertexts, laid out party-major as
			 * protocols/agg.c does (so each ciphertext appears VP
			 * times) */
			enum { VP = 6, VC = 8, VN = VP * VC };
			const mcn_paillier_pk *tpk = mcn_tpaillier_pk(pub);
			mcn_tpaillier_partial *vp = malloc(VN * sizeof(*vp));
			mcn_err *st = malloc(VN * sizeof(*st));
			mpz_t *vc = vec_new(VN), *ct = vec_new(VC);
			for (size_t j = 0; j < VC; j++) {
				RUN(mcn_rng_mpz_below(rng, k,
				    mcn_paillier_n(tpk)));
				RUN(mcn_paillier_encrypt(tpk, ct[j], k, rng));
			}
			for (size_t p = 0; p < VP; p++) {
				for (size_t j = 0; j < VC; j++) {
					mcn_tpaillier_partial_init(
					    &vp[p * VC + j]);
					mpz_set(vc[p * VC + j], ct[j]);
				}
				RUN(mcn_tpaillier_partial_decrypt_vec(pub,
				    shares[p % opt.parties], vp + p * VC,
				    (const mpz_t *)ct, VC, pool));
			}
			snprintf(extra, sizeof(extra),
			    "\"parties\":%d,\"ciphertexts\":%d,"
			    "\"proofs\":%d",
			    VP, VC, VN);
			TIMED("verify_vec_48", bits, T, 1, extra, {
				RUN(mcn_tpaillier_verify_vec(pub,
				    (const mpz_t *)vc, vp, VN, st));
			});
			for (size_t i = 0; i < VN; i++) {
				mcn_tpaillier_partial_clear(&vp[i]);
			}
			free(vp);
			free(st);
			vec_free(vc, VN);
			vec_free(ct, VC);
		}
		if (want("pack")) {
			/* counts in [0, 10^7] per site, 100 sites: one op packs
			 * one full 2047-bit (or |n|-1) plaintext */
			mcn_pack_field f = { 0, 0, 10000000 };
			unsigned spp = mcn_pack_slots_per_plaintext(
			    mcn_paillier_plaintext_bits(pk), 0, 10000000, 100,
			    MCN_PACK_GUARD_BITS);
			size_t nct = 64;
			mcn_pack_layout *L = NULL;
			int64_t *vals;
			mpz_t *out = vec_new(nct);
			f.count = spp * nct;
			vals = malloc(f.count * sizeof(*vals));
			for (size_t i = 0; i < f.count; i++) {
				vals[i] = (int64_t)(i * 7919 % 10000001);
			}
			RUN(mcn_pack_layout_new(&L,
			    mcn_paillier_plaintext_bits(pk), 100,
			    MCN_PACK_GUARD_BITS, &f, 1));
			snprintf(extra, sizeof(extra),
			    "\"slots_per_plaintext\":%u", spp);
			TIMED("pack", bits, T, nct, extra,
			    { RUN(mcn_pack(L, out, vals, f.count)); });
			mcn_pack_layout_free(L);
			vec_free(out, nct);
			free(vals);
		}
		if (want("mask_gen")) {
			/* one party's zero-sum mask against 9 peers, 65536 words */
			enum { PEERS = 9, WORDS = 65536 };
			mcn_x25519_keypair me, peer[PEERS];
			uint8_t pubs[PEERS][32];
			uint32_t ids[PEERS];
			uint64_t *mask = malloc(WORDS * sizeof(uint64_t));
			RUN(mcn_x25519_keygen(&me, rng));
			for (unsigned i = 0; i < PEERS; i++) {
				RUN(mcn_x25519_keygen(&peer[i], rng));
				memcpy(pubs[i], peer[i].pub, 32);
				ids[i] = i + 2;
			}
			double t0 = now(), el;
			double n = 0;
			do {
				RUN(mcn_mask_zero_sum(mask, WORDS, &me, 1, ids,
				    (const uint8_t(*)[32])pubs, PEERS,
				    (const uint8_t *)"bench", 5));
				n++;
			} while ((el = now() - t0) < opt.min_time);
			snprintf(extra, sizeof(extra),
			    "\"peers\":%d,\"words\":%d,\"bytes_per_s\":%.0f",
			    PEERS, WORDS, n * WORDS * 8.0 * PEERS / el);
			report("mask_gen", bits, T, n, el, extra);
			mcn_wipe(&me, sizeof(me));
			free(mask);
		}
		mpz_clears(e, k, NULL);
		vec_free(m, B);
		vec_free(c, B);
		vec_free(d, B);
		mcn_rng_pool_free(pool);
	}
	for (unsigned i = 0; i < opt.parties; i++) {
		mcn_tpaillier_share_free(shares[i]);
	}
	free(shares);
	mcn_tpaillier_pub_free(pub);
	mcn_paillier_sk_free(sk);
}

static unsigned
parse_list(unsigned *out, unsigned max, const char *s)
{
	unsigned n = 0;
	char *end;

	while (*s != 0 && n < max) {
		unsigned long v = strtoul(s, &end, 10);
		if (end == s || v == 0 || v > 65536) {
			fprintf(stderr, "bench_crypto: bad number list '%s'\n",
			    s);
			exit(2);
		}
		out[n++] = (unsigned)v;
		s = *end == ',' ? end + 1 : end;
	}
	return n;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: bench_crypto [--json] [--bits 2048,3072] [--threads 1,N]\n"
	    "                    [--time SECONDS] [--ops op1,op2,...]\n"
	    "                    [--parties P] [--threshold T] [--quick]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	unsigned ncpu = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	mcn_rng *rng = NULL;
	uint8_t seed[32] = { 'm', 'c', 'n', 'b', 'e', 'n', 'c', 'h' };
	FILE *f;

	opt.bits[0] = 2048;
	opt.bits[1] = 3072;
	opt.nbits = 2;
	opt.threads[0] = 1;
	opt.threads[1] = ncpu;
	opt.nthreads = ncpu > 1 ? 2 : 1;
	opt.min_time = 1.0;
	opt.parties = 10;
	opt.t = 6;
	opt.max_keygen = 3;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--json") == 0) {
			opt.json = 1;
		} else if (strcmp(a, "--quick") == 0) {
			opt.bits[0] = 512;
			opt.nbits = 1;
			opt.min_time = 0.02;
			opt.max_keygen = 1;
			opt.parties = 3;
			opt.t = 2;
		} else if (v == NULL) {
			usage();
		} else if (strcmp(a, "--bits") == 0) {
			opt.nbits = parse_list(opt.bits, 4, v);
			i++;
		} else if (strcmp(a, "--threads") == 0) {
			opt.nthreads = parse_list(opt.threads, 4, v);
			i++;
		} else if (strcmp(a, "--time") == 0) {
			opt.min_time = atof(v);
			i++;
		} else if (strcmp(a, "--ops") == 0) {
			opt.ops = v;
			i++;
		} else if (strcmp(a, "--parties") == 0) {
			opt.parties = (unsigned)atoi(v);
			i++;
		} else if (strcmp(a, "--threshold") == 0) {
			opt.t = (unsigned)atoi(v);
			i++;
		} else {
			usage();
		}
	}
	if (opt.t < 1 || opt.t > opt.parties || opt.t > 64 ||
	    opt.parties > MCN_TPAILLIER_MAX_PARTIES || opt.nbits == 0 ||
	    opt.nthreads == 0 || opt.min_time < 0) {
		usage();
	}
	snprintf(machine, sizeof(machine), "%u cpus", ncpu);
	if ((f = fopen("/proc/cpuinfo", "r")) != NULL) {
		char line[256];
		while (fgets(line, sizeof(line), f) != NULL) {
			char *p = strstr(line, "model name");
			if (p != NULL && (p = strchr(line, ':')) != NULL) {
				p += 2;
				p[strcspn(p, "\n\"\\")] = 0;
				snprintf(machine, sizeof(machine),
				    "%s, %u cpus", p, ncpu);
				break;
			}
		}
		fclose(f);
	}
	RUN(mcn_crypto_init());
	RUN(mcn_rng_test_new(&rng, seed));
	if (!opt.json) {
		printf("# mcn bench_crypto, git %s, %s\n", MCN_GIT_REV,
		    machine);
		printf("%-16s %5s %3s %14s %12s %10s\n", "op", "bits", "thr",
		    "ops/s", "us/op", "x limit");
	}
	for (unsigned b = 0; b < opt.nbits; b++) {
		bench_bits(opt.bits[b], rng);
	}
	mcn_rng_free(rng);
	return 0;
}
