/*
 * tests/test.h - a tiny table-driven test harness (nng NUTS style).
 *
 * A test file defines `static void test_xxx(void)` functions, lists them in
 * `MCNT_MAIN({ "name", test_xxx }, ...)`, and uses the CHECK macros, which
 * print file:line and the failing expression and count the failure. A test
 * passes only if at least one check ran and none failed.
 */
#ifndef MCN_TESTS_TEST_H
#define MCN_TESTS_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gmp.h>

#include "crypto/err.h"
#include "crypto/mem.h"
#include "crypto/rng.h"

struct mcnt_case {
	const char *name;
	void (*fn)(void);
};

static unsigned long mcnt_checks;
static unsigned long mcnt_failures;

#define MCNT_FAIL(...)                                                   \
	do {                                                             \
		fprintf(stderr, "%s:%d: FAIL: ", __FILE__, __LINE__);    \
		fprintf(stderr, __VA_ARGS__);                            \
		fprintf(stderr, "\n");                                   \
		mcnt_failures++;                                         \
	} while (0)

#define CHECK(cond)                                                      \
	do {                                                             \
		mcnt_checks++;                                           \
		if (!(cond)) {                                           \
			MCNT_FAIL("%s", #cond);                          \
		}                                                        \
	} while (0)

/* Expression must return exactly the mcn_err `want`. */
#define CHECK_ERR(expr, want)                                            \
	do {                                                             \
		mcn_err mcnt_got_ = (expr);                              \
		mcnt_checks++;                                           \
		if (mcnt_got_ != (want)) {                               \
			MCNT_FAIL("%s returned %d (%s), expected %d (%s)", \
			    #expr, (int)mcnt_got_,                       \
			    mcn_strerror(mcnt_got_), (int)(want),        \
			    mcn_strerror(want));                         \
		}                                                        \
	} while (0)

#define CHECK_OK(expr) CHECK_ERR(expr, MCN_OK)

/* Abort the current test function when an essential step fails. */
#define REQUIRE_OK(expr)                                                 \
	do {                                                             \
		mcn_err mcnt_got_ = (expr);                              \
		mcnt_checks++;                                           \
		if (mcnt_got_ != MCN_OK) {                               \
			MCNT_FAIL("%s returned %s", #expr,               \
			    mcn_strerror(mcnt_got_));                    \
			return;                                          \
		}                                                        \
	} while (0)

#define CHECK_MPZ_EQ(a, b)                                               \
	do {                                                             \
		mcnt_checks++;                                           \
		if (mpz_cmp((a), (b)) != 0) {                            \
			MCNT_FAIL("%s != %s", #a, #b);                   \
			gmp_fprintf(stderr, "  left : %Zd\n  right: %Zd\n", \
			    (a), (b));                                   \
		}                                                        \
	} while (0)

#define CHECK_U64_EQ(a, b)                                               \
	do {                                                             \
		uint64_t mcnt_a_ = (uint64_t)(a), mcnt_b_ = (uint64_t)(b); \
		mcnt_checks++;                                           \
		if (mcnt_a_ != mcnt_b_) {                                \
			MCNT_FAIL("%s (%llu) != %s (%llu)", #a,          \
			    (unsigned long long)mcnt_a_, #b,             \
			    (unsigned long long)mcnt_b_);                \
		}                                                        \
	} while (0)

/*
 * Time limits. A test never asserts that a correct operation is fast: a
 * limit only stops a hang, and is generous for a loaded 2-core machine and
 * sanitizer builds. MCN_TEST_TIME_SCALE=N (N >= 1, default 1) multiplies
 * every limit on a machine slower still. mcnt_ms(ms) is ms scaled (capped
 * at 1 hour); mcnt_time_scale() is the factor.
 */
static inline double
mcnt_time_scale(void)
{
	const char *v = getenv("MCN_TEST_TIME_SCALE");
	double f = v != NULL ? strtod(v, NULL) : 1.0;

	return (f >= 1.0 && f <= 1000.0 ? f : 1.0);
}

static inline int
mcnt_ms(int ms)
{
	double v = ms * mcnt_time_scale();

	return (v < 3600000.0 ? (int)v : 3600000);
}

/* A deterministic test rng from a small integer seed; caller frees. */
static inline mcn_rng *
mcnt_rng(unsigned seed)
{
	uint8_t s[32] = { 0 };
	mcn_rng *r = NULL;

	memcpy(s, &seed, sizeof(seed));
	if (mcn_rng_test_new(&r, s) != MCN_OK) {
		fprintf(stderr, "cannot create test rng\n");
		exit(1);
	}
	return r;
}

static inline int
mcnt_run(const struct mcnt_case *cases, size_t ncases, int argc, char **argv)
{
	int failed = 0;

	if (mcn_crypto_init() != MCN_OK) {
		fprintf(stderr, "mcn_crypto_init failed\n");
		return 1;
	}
	for (size_t i = 0; i < ncases; i++) {
		unsigned long f0 = mcnt_failures, c0 = mcnt_checks;
		if (argc > 1 && strcmp(argv[1], cases[i].name) != 0) {
			continue;
		}
		cases[i].fn();
		if (mcnt_failures != f0 || mcnt_checks == c0) {
			fprintf(stderr, "[FAIL] %s (%lu failed, %lu checks)\n",
			    cases[i].name, mcnt_failures - f0,
			    mcnt_checks - c0);
			failed++;
		} else {
			fprintf(stderr, "[ OK ] %s (%lu checks)\n",
			    cases[i].name, mcnt_checks - c0);
		}
	}
	return failed == 0 ? 0 : 1;
}

#define MCNT_MAIN(...)                                                   \
	int main(int argc, char **argv)                                  \
	{                                                                \
		static const struct mcnt_case cases_[] = { __VA_ARGS__ }; \
		return mcnt_run(cases_, sizeof(cases_) / sizeof(cases_[0]), \
		    argc, argv);                                         \
	}

#endif
