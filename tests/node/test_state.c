/*
 * tests/node/test_state.c - the node's persistent state: secret, replay,
 * privacy budget, rate limit, differencing, persistence, corrupt files.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "node/state.h"
#include "node/util.h"

static char tdir[64];

/* Every test writes into one mkdtemp directory, removed at exit (each test
 * removes its own files). */
__attribute__((constructor)) static void
mcnt_setup(void)
{
	snprintf(tdir, sizeof(tdir), "/tmp/mcnt_state_XXXXXX");
	if (mkdtemp(tdir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
}

__attribute__((destructor)) static void
mcnt_teardown(void)
{
	if (rmdir(tdir) != 0)
		fprintf(stderr, "%s: not empty after the tests\n", tdir);
}

static void
mcnt_path(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", tdir, name);
}

/* Removes the database and its WAL companions. */
static void
mcnt_rm(const char *path)
{
	char p[160];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

static mcn_state *
mcnt_open(const char *path)
{
	char err[MCN_ERRMSG];
	mcn_state *st = NULL;

	if (mcn_state_open(&st, path, err, sizeof(err)) != MCN_OK)
		fprintf(stderr, "open: %s\n", err);
	return (st);
}

static void
test_create_reopen(void)
{
	char path[128], path2[128], err[MCN_ERRMSG];
	uint8_t s1[32], s2[32], s3[32], zero[32] = { 0 };
	struct stat sb;
	mcn_state *st;

	mcnt_path(path, sizeof(path), "create.db");
	mcnt_path(path2, sizeof(path2), "create2.db");
	REQUIRE_OK(mcn_state_open(&st, path, err, sizeof(err)));
	mcn_state_secret(st, s1);
	CHECK(memcmp(s1, zero, 32) != 0);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	mcn_state_close(st);
	mcn_state_close(NULL);

	REQUIRE_OK(mcn_state_open(&st, path, err, sizeof(err)));
	mcn_state_secret(st, s2);
	CHECK(memcmp(s1, s2, 32) == 0);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	mcn_state_close(st);

	/* another node's state has another secret */
	REQUIRE_OK(mcn_state_open(&st, path2, err, sizeof(err)));
	mcn_state_secret(st, s3);
	CHECK(memcmp(s1, s3, 32) != 0);
	mcn_state_close(st);
	mcnt_rm(path);
	mcnt_rm(path2);
}

struct qid_list {
	uint8_t q[8][16];
	uint64_t t[8];
	size_t n;
	size_t stop_after;
};

static mcn_err
qid_cb(void *ctx, const uint8_t qid[16], uint64_t t)
{
	struct qid_list *l = ctx;
	if (l->n >= 8)
		return (MCN_ERANGE);
	memcpy(l->q[l->n], qid, 16);
	l->t[l->n++] = t;
	return (l->n == l->stop_after ? MCN_EPEER : MCN_OK);
}

static void
test_query_ids(void)
{
	char path[128];
	uint8_t q1[16], q2[16], q3[16];
	struct qid_list l;
	mcn_state *st;

	memset(q1, 1, 16);
	memset(q2, 2, 16);
	memset(q3, 3, 16);
	mcnt_path(path, sizeof(path), "qid.db");
	REQUIRE_OK((st = mcnt_open(path)) != NULL ? MCN_OK : MCN_EINVAL);
	CHECK(mcn_state_query_id_seen(st, q1) == 0);
	CHECK_OK(mcn_state_query_id_use(st, q1, 1000));
	CHECK(mcn_state_query_id_seen(st, q1) == 1);
	CHECK(mcn_state_query_id_seen(st, q2) == 0);
	CHECK_ERR(mcn_state_query_id_use(st, q1, 1500), MCN_EREPLAY);
	CHECK_OK(mcn_state_query_id_use(st, q2, 2000));
	mcn_state_close(st);

	/* across a restart */
	REQUIRE_OK((st = mcnt_open(path)) != NULL ? MCN_OK : MCN_EINVAL);
	CHECK_ERR(mcn_state_query_id_use(st, q1, 3000), MCN_EREPLAY);
	CHECK_ERR(mcn_state_query_id_use(st, q2, 3000), MCN_EREPLAY);
	CHECK(mcn_state_query_id_seen(st, q2) == 1);
	memset(&l, 0, sizeof(l));
	CHECK_OK(mcn_state_query_ids_since(st, 0, qid_cb, &l));
	CHECK(l.n == 2);
	CHECK(memcmp(l.q[0], q1, 16) == 0 &&
	    l.t[0] == 1000); /* replay did not touch it */
	CHECK(memcmp(l.q[1], q2, 16) == 0 && l.t[1] == 2000);
	memset(&l, 0, sizeof(l));
	CHECK_OK(mcn_state_query_ids_since(st, 1001, qid_cb, &l));
	CHECK(l.n == 1 && memcmp(l.q[0], q2, 16) == 0);
	memset(&l, 0, sizeof(l));
	CHECK_OK(mcn_state_query_ids_since(st, 2001, qid_cb, &l));
	CHECK(l.n == 0);
	memset(&l, 0, sizeof(l));
	l.stop_after = 1;
	CHECK_ERR(mcn_state_query_ids_since(st, 0, qid_cb, &l), MCN_EPEER);
	CHECK(l.n == 1);

	/* retention: ids older than now - retention are forgotten */
	mcn_state_set_retention(st, 1500);
	CHECK_OK(mcn_state_query_id_use(st, q3, 3000)); /* prunes t < 1500 */
	CHECK(mcn_state_query_id_seen(st, q1) == 0);
	CHECK(mcn_state_query_id_seen(st, q2) == 1);
	CHECK(mcn_state_query_id_seen(st, q3) == 1);
	/* default retention keeps them 30 days */
	mcn_state_set_retention(st, MCN_STATE_RETENTION_MS);
	CHECK_OK(mcn_state_query_id_use(st, q1, MCN_STATE_RETENTION_MS + 2000));
	CHECK(mcn_state_query_id_seen(st, q2) == 1);
	CHECK(mcn_state_query_id_seen(st, q3) == 1);
	mcn_state_close(st);
	mcnt_rm(path);
}

static void
test_budget(void)
{
	char path[128], why[MCN_ERRMSG];
	uint8_t k[6][32];
	double spent = -1;
	int charged = -1;
	mcn_state *st;

	for (int i = 0; i < 6; i++)
		memset(k[i], i + 1, 32);
	mcnt_path(path, sizeof(path), "budget.db");
	REQUIRE_OK((st = mcnt_open(path)) != NULL ? MCN_OK : MCN_EINVAL);
	CHECK_OK(mcn_state_budget_spent(st, "q1", "feasibility", &spent));
	CHECK(spent == 0);
	for (int i = 0; i < 4; i++) {
		CHECK_OK(mcn_state_budget_charge(st, "q1", "feasibility", k[i],
		    0.5, 2.0, &spent, &charged, why, sizeof(why)));
		CHECK(spent == 0.5 * (i + 1) && charged == 1);
	}
	/* exactly at the limit: the next one is refused, nothing changes */
	CHECK_ERR(mcn_state_budget_charge(st, "q1", "feasibility", k[4], 0.5,
	              2.0, &spent, &charged, why, sizeof(why)),
	    MCN_EREFUSED);
	CHECK(strcmp(why,
	          "privacy budget: querier 'q1' (role 'feasibility') "
	          "has spent 2 of 2 (this query costs 0.5)") == 0);
	CHECK(spent == 2.0 && charged == 0);
	CHECK_OK(mcn_state_budget_spent(st, "q1", "feasibility", &spent));
	CHECK(spent == 2.0);
	/* the same charge key again costs nothing, even when exhausted */
	CHECK_OK(mcn_state_budget_charge(st, "q1", "feasibility", k[1], 0.5,
	    2.0, &spent, &charged, why, sizeof(why)));
	CHECK(spent == 2.0 && charged == 0);
	/* other queriers and roles have their own budget */
	CHECK_OK(mcn_state_budget_charge(st, "q2", "feasibility", k[0], 0.5,
	    2.0, &spent, &charged, why, sizeof(why)));
	CHECK(spent == 0.5 && charged == 1);
	CHECK_OK(mcn_state_budget_charge(st, "q1", "researcher", k[0], 1.5, 2.0,
	    &spent, NULL, why, sizeof(why)));
	CHECK(spent == 1.5);
	/* invalid arguments */
	CHECK_ERR(mcn_state_budget_charge(st, "q1", "feasibility", k[5], 0, 2.0,
	              &spent, &charged, why, sizeof(why)),
	    MCN_EINVAL);
	CHECK_ERR(mcn_state_budget_charge(st, "bad id!", "feasibility", k[5],
	              0.5, 2.0, &spent, &charged, why, sizeof(why)),
	    MCN_EINVAL);
	CHECK_ERR(mcn_state_budget_charge(st,
	              "q23456789012345678901234567890123", "feasibility", k[5],
	              0.5, 2.0, &spent, &charged, why, sizeof(why)),
	    MCN_EINVAL);
	CHECK_ERR(mcn_state_budget_spent(st, "q1", "", &spent), MCN_EINVAL);
	mcn_state_close(st);

	/* persistence */
	REQUIRE_OK((st = mcnt_open(path)) != NULL ? MCN_OK : MCN_EINVAL);
	CHECK_OK(mcn_state_budget_spent(st, "q1", "feasibility", &spent));
	CHECK(spent == 2.0);
	CHECK_OK(mcn_state_budget_spent(st, "q2", "feasibility", &spent));
	CHECK(spent == 0.5);
	CHECK_OK(mcn_state_budget_charge(st, "q2", "feasibility", k[0], 0.5,
	    2.0, &spent, &charged, why, sizeof(why)));
	CHECK(spent == 0.5 && charged == 0);
	CHECK_ERR(mcn_state_budget_charge(st, "q1", "feasibility", k[5], 0.5,
	              2.0, &spent, &charged, why, sizeof(why)),
	    MCN_EREFUSED);
	/* a raised limit (policy change) lets it continue */
	CHECK_OK(mcn_state_budget_charge(st, "q1", "feasibility", k[5], 0.5,
	    3.0, &spent, &charged, why, sizeof(why)));
	CHECK(spent == 2.5 && charged == 1);

	/* 0.1 is not exact in binary: ten of them still fit in 1.0 */
	uint8_t kk[32] = { 0 };
	for (int i = 0; i < 10; i++) {
		kk[0] = (uint8_t)i;
		CHECK_OK(mcn_state_budget_charge(st, "q3", "feasibility", kk,
		    0.1, 1.0, &spent, &charged, why, sizeof(why)));
	}
	kk[0] = 10;
	CHECK_ERR(mcn_state_budget_charge(st, "q3", "feasibility", kk, 0.1, 1.0,
	              &spent, &charged, why, sizeof(why)),
	    MCN_EREFUSED);
	mcn_state_close(st);
	mcnt_rm(path);
}

static void
test_rate(void)
{
	char path[128], why[MCN_ERRMSG];
	mcn_state *st;

	mcnt_path(path, sizeof(path), "rate.db");
	REQUIRE_OK((st = mcnt_open(path)) != NULL ? MCN_OK : MCN_EINVAL);
	CHECK_OK(mcn_state_rate_admit(st, "q1", "feasibility", 100, 3, 1000,
	    why, sizeof(why)));
	CHECK_OK(mcn_state_rate_admit(st, "q1", "feasibility", 200, 3, 1000,
	    why, sizeof(why)));
	CHECK_OK(mcn_state_rate_admit(st, "q1", "feasibility", 300, 3, 1000,
	    why, sizeof(why)));
	CHECK_ERR(mcn_state_rate_admit(st, "q1", "feasibility", 400, 3, 1000,
	              why, sizeof(why)),
	    MCN_EREFUSED);
	CHECK(strcmp(why,
	          "rate limit: querier 'q1' has asked 3 queries in the "
	          "last 1 s (role 'feasibility' allows 3)") == 0);
	/* (100, 1100]: 100 has left the window */
	CHECK_OK(mcn_state_rate_admit(st, "q1", "feasibility", 1100, 3, 1000,
	    why, sizeof(why)));
	/* (150, 1150]: 200, 300, 1100 */
	CHECK_ERR(mcn_state_rate_admit(st, "q1", "feasibility", 1150, 3, 1000,
	              why, sizeof(why)),
	    MCN_EREFUSED);
	/* (200, 1200]: 300, 1100 - the refused 1150 was not recorded */
	CHECK_OK(mcn_state_rate_admit(st, "q1", "feasibility", 1200, 3, 1000,
	    why, sizeof(why)));
	/* other querier, other role: own windows */
	CHECK_OK(mcn_state_rate_admit(st, "q2", "feasibility", 1200, 3, 1000,
	    why, sizeof(why)));
	CHECK_OK(mcn_state_rate_admit(st, "q1", "researcher", 1200, 1, 1000,
	    why, sizeof(why)));
	CHECK_ERR(mcn_state_rate_admit(st, "q1", "researcher", 1201, 1, 1500,
	              why, sizeof(why)),
	    MCN_EREFUSED);
	CHECK(strcmp(why,
	          "rate limit: querier 'q1' has asked 1 queries in the "
	          "last 1.500 s (role 'researcher' allows 1)") == 0);
	CHECK_ERR(mcn_state_rate_admit(st, "q1", "researcher", 1201, 0, 1500,
	              why, sizeof(why)),
	    MCN_EINVAL);
	CHECK_ERR(mcn_state_rate_admit(st, "q1", "researcher", 1201, 1, 0, why,
	              sizeof(why)),
	    MCN_EINVAL);
	mcn_state_close(st);

	/* persisted: (250, 1250]: 300, 1100, 1200 */
	REQUIRE_OK((st = mcnt_open(path)) != NULL ? MCN_OK : MCN_EINVAL);
	CHECK_ERR(mcn_state_rate_admit(st, "q1", "feasibility", 1250, 3, 1000,
	              why, sizeof(why)),
	    MCN_EREFUSED);
	CHECK_OK(mcn_state_rate_admit(st, "q1", "feasibility", 1300, 3, 1000,
	    why, sizeof(why)));
	/* a larger window sees what is still kept (entries that left an
	 * earlier window were forgotten): 1100, 1200, 1300 */
	CHECK_OK(mcn_state_rate_admit(st, "q1", "feasibility", 1301, 4, 3600000,
	    why, sizeof(why)));
	CHECK_ERR(mcn_state_rate_admit(st, "q1", "feasibility", 1302, 4,
	              3600000, why, sizeof(why)),
	    MCN_EREFUSED);
	CHECK(strcmp(why,
	          "rate limit: querier 'q1' has asked 4 queries in the "
	          "last 3600 s (role 'feasibility' allows 4)") == 0);
	mcn_state_close(st);
	mcnt_rm(path);
}

static void
bits_set(uint8_t *b, size_t i)
{
	b[i / 8] |= (uint8_t)(1u << (i % 8));
}

static void
test_cohort(void)
{
	char path[128], why[MCN_ERRMSG];
	uint8_t a[16], b[16];
	uint64_t closest = 0;
	mcn_state *st;

	mcnt_path(path, sizeof(path), "cohort.db");
	REQUIRE_OK((st = mcnt_open(path)) != NULL ? MCN_OK : MCN_EINVAL);
	memset(a, 0, sizeof(a));
	for (size_t i = 0; i < 50; i++)
		bits_set(a, i);
	/* nothing recorded yet */
	CHECK_OK(mcn_state_cohort_check(st, "q1", "feasibility", 7, a, 100, 10,
	    &closest, why, sizeof(why)));
	CHECK(closest == UINT64_MAX);
	CHECK_OK(mcn_state_cohort_record(st, "q1", "feasibility", 7, a, 100));
	/* identical: 0 is fine */
	CHECK_OK(mcn_state_cohort_check(st, "q1", "feasibility", 7, a, 100, 10,
	    &closest, why, sizeof(why)));
	CHECK(closest == UINT64_MAX);
	/* 1..9 more rows: refused */
	for (size_t extra = 1; extra <= 10; extra++) {
		memcpy(b, a, sizeof(b));
		for (size_t i = 0; i < extra; i++)
			bits_set(b, 60 + i);
		mcn_err rv = mcn_state_cohort_check(st, "q1", "feasibility", 7,
		    b, 100, 10, &closest, why, sizeof(why));
		CHECK_U64_EQ(closest, extra);
		CHECK_ERR(rv, extra < 10 ? MCN_EREFUSED : MCN_OK);
	}
	/* fewer rows counts the same */
	memcpy(b, a, sizeof(b));
	b[0] = 0xf0; /* rows 0..3 out */
	CHECK_ERR(mcn_state_cohort_check(st, "q1", "feasibility", 7, b, 100, 10,
	              &closest, why, sizeof(why)),
	    MCN_EREFUSED);
	CHECK_U64_EQ(closest, 4);
	CHECK(strcmp(why,
	          "differencing: this cohort differs from an earlier "
	          "one of querier 'q1' by fewer than 10 patients") == 0);
	/* min_difference 0 disables, 4 allows exactly 4 */
	CHECK_OK(mcn_state_cohort_check(st, "q1", "feasibility", 7, b, 100, 0,
	    NULL, why, sizeof(why)));
	CHECK_OK(mcn_state_cohort_check(st, "q1", "feasibility", 7, b, 100, 4,
	    &closest, why, sizeof(why)));
	CHECK_ERR(mcn_state_cohort_check(st, "q1", "feasibility", 7, b, 100, 5,
	              &closest, why, sizeof(why)),
	    MCN_EREFUSED);
	/* other generation, other querier: ignored */
	CHECK_OK(mcn_state_cohort_check(st, "q1", "feasibility", 8, b, 100, 10,
	    &closest, why, sizeof(why)));
	CHECK(closest == UINT64_MAX);
	CHECK_OK(mcn_state_cohort_check(st, "q2", "feasibility", 7, b, 100, 10,
	    &closest, why, sizeof(why)));
	CHECK(closest == UINT64_MAX);
	/* the same querier under another role is compared too */
	CHECK_ERR(mcn_state_cohort_check(st, "q1", "researcher", 7, b, 100, 10,
	              &closest, why, sizeof(why)),
	    MCN_EREFUSED);
	/* bits at and beyond nbits are ignored; a longer bitmap compares
	 * with zeros */
	memcpy(b, a, sizeof(b));
	b[12] |= 0xf0; /* rows 100..103 */
	CHECK_OK(mcn_state_cohort_check(st, "q1", "feasibility", 7, b, 100, 10,
	    &closest, why, sizeof(why)));
	CHECK(closest == UINT64_MAX);
	memcpy(b, a, sizeof(b));
	CHECK_OK(mcn_state_cohort_check(st, "q1", "feasibility", 7, b, 128, 10,
	    &closest, why, sizeof(why)));
	CHECK(closest == UINT64_MAX);
	bits_set(b, 127);
	CHECK_ERR(mcn_state_cohort_check(st, "q1", "feasibility", 7, b, 128, 10,
	              &closest, why, sizeof(why)),
	    MCN_EREFUSED);
	CHECK_U64_EQ(closest, 1);
	/* and a shorter one: rows 40..49 missing */
	CHECK_OK(mcn_state_cohort_check(st, "q1", "feasibility", 7, a, 40, 10,
	    &closest, why, sizeof(why)));
	CHECK_U64_EQ(closest, 10);
	CHECK_ERR(mcn_state_cohort_check(st, "q1", "feasibility", 7, a, 45, 10,
	              &closest, why, sizeof(why)),
	    MCN_EREFUSED);
	CHECK_U64_EQ(closest, 5);
	/* empty cohorts */
	CHECK_OK(mcn_state_cohort_check(st, "q1", "feasibility", 7, NULL, 0, 10,
	    &closest, why, sizeof(why)));
	CHECK_U64_EQ(closest, 50);
	CHECK_ERR(mcn_state_cohort_check(st, "q1", "feasibility", 7, a,
	              MCN_STATE_MAX_COHORT_BITS + 1, 10, &closest, why,
	              sizeof(why)),
	    MCN_EINVAL);
	mcn_state_close(st);

	/* persisted; recording a new generation drops the old ones */
	REQUIRE_OK((st = mcnt_open(path)) != NULL ? MCN_OK : MCN_EINVAL);
	memcpy(b, a, sizeof(b));
	bits_set(b, 99);
	CHECK_ERR(mcn_state_cohort_check(st, "q1", "feasibility", 7, b, 100, 10,
	              &closest, why, sizeof(why)),
	    MCN_EREFUSED);
	CHECK_OK(mcn_state_cohort_record(st, "q1", "feasibility", 8, a, 100));
	CHECK_OK(mcn_state_cohort_check(st, "q1", "feasibility", 7, b, 100, 10,
	    &closest, why, sizeof(why)));
	CHECK(closest == UINT64_MAX);
	CHECK_ERR(mcn_state_cohort_check(st, "q1", "feasibility", 8, b, 100, 10,
	              &closest, why, sizeof(why)),
	    MCN_EREFUSED);
	mcn_state_close(st);
	mcnt_rm(path);
}

static int64_t
mcnt_sql_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int64_t v = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) ==
	        SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return (v);
}

/* At most 256 cohorts per querier and role, oldest dropped; identical
 * cohorts stored once (and refreshed). */
static void
test_cohort_keep(void)
{
	char path[128], why[MCN_ERRMSG];
	uint8_t b[64];
	uint64_t closest;
	mcn_state *st;

	mcnt_path(path, sizeof(path), "keep.db");
	REQUIRE_OK((st = mcnt_open(path)) != NULL ? MCN_OK : MCN_EINVAL);
	/* cohort i = {i}, i = 0..255 */
	for (size_t i = 0; i < 256; i++) {
		memset(b, 0, sizeof(b));
		bits_set(b, i);
		CHECK_OK(mcn_state_cohort_record(st, "q1", "r", 1, b, 512));
	}
	/* {0} again: stored once, becomes the newest */
	memset(b, 0, sizeof(b));
	bits_set(b, 0);
	CHECK_OK(mcn_state_cohort_record(st, "q1", "r", 1, b, 512));
	CHECK(mcnt_sql_int(path, "SELECT count(*) FROM cohort") == 256);
	/* {256}: {1}, now the oldest, is dropped */
	memset(b, 0, sizeof(b));
	bits_set(b, 256);
	CHECK_OK(mcn_state_cohort_record(st, "q1", "r", 1, b, 512));
	CHECK(mcnt_sql_int(path, "SELECT count(*) FROM cohort") == 256);
	/* {0, 1}: differs from {0} and {1} by 1, from every other by 3 */
	memset(b, 0, sizeof(b));
	bits_set(b, 0);
	bits_set(b, 1);
	CHECK_ERR(mcn_state_cohort_check(st, "q1", "r", 1, b, 512, 2, &closest,
	              why, sizeof(why)),
	    MCN_EREFUSED);
	CHECK_U64_EQ(closest, 1);
	/* {1, 2}: {1} is gone, {2} is there */
	memset(b, 0, sizeof(b));
	bits_set(b, 1);
	bits_set(b, 2);
	CHECK_ERR(mcn_state_cohort_check(st, "q1", "r", 1, b, 512, 2, &closest,
	              why, sizeof(why)),
	    MCN_EREFUSED);
	/* {1, 300}: neither stored: 3 from everything */
	memset(b, 0, sizeof(b));
	bits_set(b, 1);
	bits_set(b, 300);
	CHECK_OK(mcn_state_cohort_check(st, "q1", "r", 1, b, 512, 3, &closest,
	    why, sizeof(why)));
	CHECK_U64_EQ(closest, 3);
	/* a failed record (out of memory) leaves everything as it was */
	memset(b, 0, sizeof(b));
	bits_set(b, 400);
	(void)mcn_alloc_fail_at(1);
	CHECK_ERR(mcn_state_cohort_record(st, "q1", "r", 1, b, 512),
	    MCN_ENOMEM);
	(void)mcn_alloc_fail_at(0);
	CHECK(mcnt_sql_int(path, "SELECT count(*) FROM cohort") == 256);
	CHECK(mcnt_sql_int(path,
	          "SELECT min(id) FROM cohort WHERE "
	          "nbits = 512") > 0);
	bits_set(b, 401);
	CHECK_OK(mcn_state_cohort_check(st, "q1", "r", 1, b, 512, 3, &closest,
	    why, sizeof(why)));
	CHECK_U64_EQ(closest, 3);
	mcn_state_close(st);
	mcnt_rm(path);
}

/* 2^20 rows x 256 cohorts: report how long a check takes. */
static void
test_cohort_speed(void)
{
	char path[128], why[MCN_ERRMSG];
	size_t nbits = 1u << 20, nbytes = nbits / 8;
	uint8_t *b = malloc(nbytes);
	mcn_rng *rng = mcnt_rng(5);
	uint64_t closest = 0;
	struct timespec t0, t1, t2;
	mcn_state *st;

	mcnt_path(path, sizeof(path), "speed.db");
	st = mcnt_open(path);
	CHECK(st != NULL && b != NULL);
	if (st == NULL || b == NULL)
		goto out;
	REQUIRE_OK(mcn_rng_bytes(rng, b, nbytes));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < MCN_STATE_MAX_COHORTS; i++) {
		b[i % nbytes] ^= 0xff; /* 8 rows apart from the previous one */
		CHECK_OK(mcn_state_cohort_record(st, "q1", "r", 3, b, nbits));
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	b[5000] ^= 1;
	CHECK_ERR(mcn_state_cohort_check(st, "q1", "r", 3, b, nbits, 10,
	              &closest, why, sizeof(why)),
	    MCN_EREFUSED);
	clock_gettime(CLOCK_MONOTONIC, &t2);
	CHECK_U64_EQ(closest, 1);
	double rec = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	double chk = (double)(t2.tv_sec - t1.tv_sec) +
	    (double)(t2.tv_nsec - t1.tv_nsec) / 1e9;
	fprintf(stderr,
	    "  cohort: %zu rows x %d cohorts: record %.2f ms each, "
	    "check %.1f ms\n",
	    nbits, MCN_STATE_MAX_COHORTS, rec * 1000 / MCN_STATE_MAX_COHORTS,
	    chk * 1000);
	/* only a hang (test.h, "Time limits"): ~20 ms in Release */
	CHECK(chk < 30.0 * mcnt_time_scale());
out:
	mcn_state_close(st);
	mcn_rng_free(rng);
	free(b);
	mcnt_rm(path);
}

static void
test_bad_files(void)
{
	char path[128], bad[MCN_ERRMSG], err[MCN_ERRMSG];
	uint8_t junk[4096];
	mcn_rng *rng = mcnt_rng(9);
	mcn_state *st = NULL;
	sqlite3 *db = NULL;

	/* random bytes */
	mcnt_path(path, sizeof(path), "junk.db");
	REQUIRE_OK(mcn_rng_bytes(rng, junk, sizeof(junk)));
	mcn_rng_free(rng);
	REQUIRE_OK(mcn_file_write(path, junk, sizeof(junk), 0600, 0));
	CHECK_ERR(mcn_state_open(&st, path, err, sizeof(err)), MCN_EDATA);
	CHECK(st == NULL && strstr(err, path) != NULL);
	CHECK(strstr(err, "not an mcn node state database") != NULL);
	mcnt_rm(path);

	/* an SQLite database of someone else */
	mcnt_path(path, sizeof(path), "foreign.db");
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL) ==
	    SQLITE_OK);
	sqlite3_close(db);
	CHECK_ERR(mcn_state_open(&st, path, err, sizeof(err)), MCN_EDATA);
	snprintf(bad, sizeof(bad), "%s: not an mcn node state database", path);
	CHECK(strcmp(err, bad) == 0);
	mcnt_rm(path);

	/* another schema version */
	mcnt_path(path, sizeof(path), "version.db");
	REQUIRE_OK(mcn_state_open(&st, path, err, sizeof(err)));
	mcn_state_close(st);
	st = NULL;
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db,
	          "UPDATE mcn_state_meta SET value = '2' WHERE "
	          "key = 'version'",
	          NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	CHECK_ERR(mcn_state_open(&st, path, err, sizeof(err)), MCN_EDATA);
	snprintf(bad, sizeof(bad),
	    "%s: state database version 2, this "
	    "program needs 1",
	    path);
	CHECK(strcmp(err, bad) == 0);
	mcnt_rm(path);

	/* a missing directory */
	mcnt_path(path, sizeof(path), "nodir/state.db");
	CHECK_ERR(mcn_state_open(&st, path, err, sizeof(err)),
	    MCN_ESYS | ENOENT);
	CHECK(st == NULL && strstr(err, path) != NULL);
	/* a directory */
	mcnt_path(path, sizeof(path), "adir");
	CHECK(mkdir(path, 0700) == 0);
	CHECK_ERR(mcn_state_open(&st, path, err, sizeof(err)),
	    MCN_ESYS | EISDIR);
	CHECK(strstr(err, path) != NULL);
	/* a directory we may not write (root may write anywhere) */
	if (geteuid() != 0) {
		CHECK(chmod(path, 0500) == 0);
		snprintf(bad, sizeof(bad), "%s/state.db", path);
		CHECK_ERR(mcn_state_open(&st, bad, err, sizeof(err)),
		    MCN_ESYS | EACCES);
		CHECK(strstr(err, bad) != NULL);
		CHECK(chmod(path, 0700) == 0);
	}
	rmdir(path);
}

MCNT_MAIN({ "create_reopen", test_create_reopen },
    { "query_ids", test_query_ids }, { "budget", test_budget },
    { "rate", test_rate }, { "cohort", test_cohort },
    { "cohort_keep", test_cohort_keep }, { "cohort_speed", test_cohort_speed },
    { "bad_files", test_bad_files })
