/*
 * node/state.c - the node's persistent governance state in SQLite.
 *
 * Schema (version MCN_STATE_VERSION):
 *   mcn_state_meta(key, value)   format = 'mcn-node-state', version,
 *                                secret (32-byte blob)
 *   query_id(qid, t)             used query ids and when (ms)
 *   budget(querier, role, spent) privacy budget spent
 *   budget_charge(querier, role, key, epsilon)  charge keys already paid
 *   rate(querier, role, t)       admitted queries (ms) inside the window
 *   cohort(id, querier, role, generation, nbits, digest, bits)
 *                                recent cohorts; id orders them by recency,
 *                                digest = SHA-256(bits) finds an identical
 *                                one without reading every blob
 *
 * Each mutating call runs in one BEGIN IMMEDIATE transaction and rolls it
 * back on any error or refusal, so the database is either fully updated
 * or untouched. With journal_mode=WAL and synchronous=FULL a COMMIT that
 * returned is on disk.
 *
 * Differencing: the symmetric difference of two cohorts is popcount(A xor
 * B) over 64-bit words (the "tracker" defence of Denning et al., "The
 * tracker: a threat to statistical database security", ACM TODS 1979,
 * restricted to near-identical query sets as in Adam and Wortmann's
 * survey of query-set-overlap control, ACM Computing Surveys 1989).
 */
#define _POSIX_C_SOURCE 200809L
#include "node/state.h"
#include "node/store.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "crypto/mem.h"
#include "crypto/rng.h"
#include "node/util.h"

#define ST_FORMAT "mcn-node-state"

struct mcn_state {
	sqlite3 *db;
	char *path;
	uint8_t secret[MCN_STATE_SECRET_BYTES]; /* SECRET */
	uint64_t retention_ms;
	pthread_mutex_t mu;
};

/* ---- helpers ------------------------------------------------------------- */

/* "<path>: <what> (<sqlite message>)" into err (may be NULL). */
static mcn_err
st_fail(mcn_state *st, int rc, const char *what, char *err, size_t errlen)
{
	if (err != NULL)
		mcn_msg(err, errlen, "%s: %s (%s)", st->path, what,
		    st->db != NULL ? sqlite3_errmsg(st->db) :
		                     sqlite3_errstr(rc));
	return (mcn_sqlite_err(st->db, rc, MCN_EDATA));
}

static int
st_exec(mcn_state *st, const char *sql)
{
	return (sqlite3_exec(st->db, sql, NULL, NULL, NULL));
}

static void
st_rollback(mcn_state *st)
{
	if (!sqlite3_get_autocommit(st->db))
		(void)st_exec(st, "ROLLBACK");
}

static int
st_prep(mcn_state *st, sqlite3_stmt **s, const char *sql)
{
	return (sqlite3_prepare_v2(st->db, sql, -1, s, NULL));
}

/* Steps a statement that returns no row (or whose rows are ignored). */
static int
st_done(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	return (rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc);
}

static mcn_err
st_ids(const char *querier, const char *role)
{
	if (querier == NULL || role == NULL || !mcn_id_valid(querier) ||
	    !mcn_id_valid(role))
		return (MCN_EINVAL);
	return (MCN_OK);
}

/* Binds querier and role as parameters 1 and 2. */
static void
st_bind_qr(sqlite3_stmt *s, const char *querier, const char *role)
{
	sqlite3_bind_text(s, 1, querier, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, role, -1, SQLITE_STATIC);
}

/* ---- open / close -------------------------------------------------------- */

static int
st_meta_put_blob(mcn_state *st, const char *key, const void *v, int n)
{
	sqlite3_stmt *s = NULL;
	int rc = st_prep(st, &s,
	    "INSERT INTO mcn_state_meta(key, value) VALUES (?1, ?2)");
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
		if (n < 0)
			sqlite3_bind_text(s, 2, v, -1, SQLITE_STATIC);
		else
			sqlite3_bind_blob(s, 2, v, n, SQLITE_STATIC);
		rc = st_done(s);
	}
	sqlite3_finalize(s);
	return (rc);
}

static int
st_create_schema(mcn_state *st)
{
	char ver[16];
	int rc;

	rc = st_exec(st,
	    "CREATE TABLE mcn_state_meta(key TEXT PRIMARY KEY, value);"
	    "CREATE TABLE query_id(qid BLOB PRIMARY KEY, t INTEGER NOT NULL)"
	    " WITHOUT ROWID;"
	    "CREATE INDEX query_id_t ON query_id(t);"
	    "CREATE TABLE budget(querier TEXT NOT NULL, role TEXT NOT NULL,"
	    " spent REAL NOT NULL, PRIMARY KEY(querier, role)) WITHOUT ROWID;"
	    "CREATE TABLE budget_charge(querier TEXT NOT NULL,"
	    " role TEXT NOT NULL, key BLOB NOT NULL, epsilon REAL NOT NULL,"
	    " PRIMARY KEY(querier, role, key)) WITHOUT ROWID;"
	    "CREATE TABLE rate(querier TEXT NOT NULL, role TEXT NOT NULL,"
	    " t INTEGER NOT NULL);"
	    "CREATE INDEX rate_qrt ON rate(querier, role, t);"
	    "CREATE TABLE cohort(id INTEGER PRIMARY KEY, querier TEXT NOT NULL,"
	    " role TEXT NOT NULL, generation INTEGER NOT NULL,"
	    " nbits INTEGER NOT NULL, digest BLOB NOT NULL,"
	    " bits BLOB NOT NULL);"
	    "CREATE INDEX cohort_qg ON cohort(querier, generation);"
	    "CREATE INDEX cohort_qrd ON cohort(querier, role, digest);");
	if (rc != SQLITE_OK)
		return (rc);
	snprintf(ver, sizeof(ver), "%d", MCN_STATE_VERSION);
	if ((rc = st_meta_put_blob(st, "format", ST_FORMAT, -1)) != SQLITE_OK ||
	    (rc = st_meta_put_blob(st, "version", ver, -1)) != SQLITE_OK ||
	    (rc = st_meta_put_blob(st, "secret", st->secret,
	         (int)sizeof(st->secret))) != SQLITE_OK)
		return (rc);
	return (SQLITE_OK);
}

/* Reads format, version and secret; MCN_EDATA if any is wrong. */
static mcn_err
st_check_meta(mcn_state *st, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int have_format = 0, have_secret = 0;
	long long version = -1;
	mcn_err rv = MCN_EDATA;
	int rc;

	rc = st_prep(st, &s, "SELECT key, value FROM mcn_state_meta");
	if (rc != SQLITE_OK)
		return (st_fail(st, rc, "cannot read the state database", err,
		    errlen));
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(s, 0);
		if (k == NULL)
			continue;
		if (strcmp(k, "format") == 0) {
			const char *v = (const char *)sqlite3_column_text(s, 1);
			have_format = v != NULL && strcmp(v, ST_FORMAT) == 0;
		} else if (strcmp(k, "version") == 0) {
			const char *v = (const char *)sqlite3_column_text(s, 1);
			char *end;
			if (v != NULL) {
				errno = 0;
				version = strtoll(v, &end, 10);
				if (*end != 0 || errno != 0 || end == v)
					version = -1;
			}
		} else if (strcmp(k, "secret") == 0 &&
		    sqlite3_column_type(s, 1) == SQLITE_BLOB &&
		    sqlite3_column_bytes(s, 1) == (int)sizeof(st->secret)) {
			memcpy(st->secret, sqlite3_column_blob(s, 1),
			    sizeof(st->secret));
			have_secret = 1;
		}
	}
	if (rc != SQLITE_DONE) {
		rv = st_fail(st, rc, "cannot read the state database", err,
		    errlen);
		goto out;
	}
	if (!have_format) {
		mcn_msg(err, errlen, "%s: not an mcn node state database",
		    st->path);
		goto out;
	}
	if (version != MCN_STATE_VERSION) {
		mcn_msg(err, errlen,
		    "%s: state database version %lld, this program needs %d",
		    st->path, version, MCN_STATE_VERSION);
		goto out;
	}
	if (!have_secret) {
		mcn_msg(err, errlen,
		    "%s: state database has no valid node "
		    "secret",
		    st->path);
		goto out;
	}
	rv = MCN_OK;
out:
	sqlite3_finalize(s);
	return (rv);
}

static mcn_err
st_setup(mcn_state *st, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int64_t nmeta = 0, ntables = 0;
	mcn_err rv;
	int rc;

	if ((rc = st_exec(st, "BEGIN IMMEDIATE")) != SQLITE_OK)
		return (st_fail(st, rc,
		    (rc & 0xff) == SQLITE_NOTADB ?
		        "not an mcn node state database" :
		        "cannot open",
		    err, errlen));
	rc = st_prep(st, &s,
	    "SELECT sum(name = 'mcn_state_meta'), count(*) FROM sqlite_master");
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			nmeta = sqlite3_column_int64(s, 0);
			ntables = sqlite3_column_int64(s, 1);
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_OK) {
		rv = st_fail(st, rc,
		    (rc & 0xff) == SQLITE_NOTADB ?
		        "not an mcn node state database" :
		        "cannot read the state database",
		    err, errlen);
		goto out;
	}
	if (nmeta == 0 && ntables != 0) {
		mcn_msg(err, errlen, "%s: not an mcn node state database",
		    st->path);
		rv = MCN_EDATA;
		goto out;
	}
	if (nmeta == 0) {
		if ((rv = mcn_rng_bytes(mcn_rng_system(), st->secret,
		         sizeof(st->secret))) != MCN_OK) {
			mcn_msg(err, errlen, "%s: cannot draw the node secret",
			    st->path);
			goto out;
		}
		if ((rc = st_create_schema(st)) != SQLITE_OK) {
			rv = st_fail(st, rc, "cannot create the state database",
			    err, errlen);
			goto out;
		}
	} else if ((rv = st_check_meta(st, err, errlen)) != MCN_OK) {
		goto out;
	}
	if ((rc = st_exec(st, "COMMIT")) != SQLITE_OK) {
		rv = st_fail(st, rc, "cannot create the state database", err,
		    errlen);
		goto out;
	}
	return (MCN_OK);
out:
	st_rollback(st);
	return (rv);
}

mcn_err
mcn_state_open(mcn_state **out, const char *path, char *err, size_t errlen)
{
	mcn_state *st = NULL;
	mcn_err rv = MCN_ENOMEM;
	size_t n;
	int rc;

	MCN_MUST(out != NULL && path != NULL && err != NULL);
	*out = NULL;
	if ((st = mcn_zalloc(sizeof(*st))) == NULL) {
		mcn_msg(err, errlen, "%s: out of memory", path);
		return (MCN_ENOMEM);
	}
	pthread_mutex_init(&st->mu, NULL);
	st->retention_ms = MCN_STATE_RETENTION_MS;
	n = strlen(path) + 1;
	if ((st->path = mcn_alloc(n)) == NULL) {
		mcn_msg(err, errlen, "%s: out of memory", path);
		goto out;
	}
	memcpy(st->path, path, n);
	/* new state: owner-only from the first byte */
	if ((rv = mcn_file_private(path, 1, NULL, err, errlen)) != MCN_OK)
		goto out;
	rc = sqlite3_open_v2(path, &st->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		rv = st_fail(st, rc, "cannot open", err, errlen);
		goto out;
	}
	sqlite3_busy_timeout(st->db, 5000);
	rc = st_exec(st, "PRAGMA journal_mode=WAL");
	if (rc == SQLITE_OK)
		rc = st_exec(st,
		    "PRAGMA synchronous=FULL; "
		    "PRAGMA foreign_keys=OFF; "
		    "PRAGMA secure_delete=ON; "
		    "PRAGMA trusted_schema=OFF");
	if (rc != SQLITE_OK) {
		rv = st_fail(st, rc,
		    (rc & 0xff) == SQLITE_NOTADB ?
		        "not an mcn node state database" :
		        "cannot open",
		    err, errlen);
		goto out;
	}
	if ((rv = st_setup(st, err, errlen)) != MCN_OK)
		goto out;
	*out = st;
	return (MCN_OK);
out:
	mcn_state_close(st);
	return (rv);
}

void
mcn_state_close(mcn_state *st)
{
	if (st == NULL)
		return;
	if (st->db != NULL)
		sqlite3_close_v2(st->db);
	if (st->path != NULL)
		mcn_free(st->path, strlen(st->path) + 1);
	pthread_mutex_destroy(&st->mu);
	mcn_free(st, sizeof(*st)); /* wipes the secret */
}

void
mcn_state_set_retention(mcn_state *st, uint64_t retention_ms)
{
	MCN_MUST(st != NULL);
	pthread_mutex_lock(&st->mu);
	st->retention_ms = retention_ms;
	pthread_mutex_unlock(&st->mu);
}

void
mcn_state_secret(const mcn_state *st, uint8_t out[MCN_STATE_SECRET_BYTES])
{
	MCN_MUST(st != NULL && out != NULL);
	memcpy(out, st->secret, sizeof(st->secret));
}

/* ---- query ids ----------------------------------------------------------- */

static mcn_err
st_qid_use(mcn_state *st, const uint8_t *qid, uint64_t now_ms)
{
	sqlite3_stmt *s = NULL;
	mcn_err rv;
	int rc;

	if ((rc = st_exec(st, "BEGIN IMMEDIATE")) != SQLITE_OK)
		return (mcn_sqlite_err(st->db, rc, MCN_EDATA));
	if (now_ms > st->retention_ms) {
		rc = st_prep(st, &s, "DELETE FROM query_id WHERE t < ?1");
		if (rc == SQLITE_OK) {
			sqlite3_bind_int64(s, 1,
			    (sqlite3_int64)(now_ms - st->retention_ms));
			rc = st_done(s);
		}
		sqlite3_finalize(s);
		s = NULL;
		if (rc != SQLITE_OK)
			goto fail;
	}
	rc = st_prep(st, &s,
	    "INSERT OR IGNORE INTO query_id(qid, t) VALUES (?1, ?2)");
	if (rc == SQLITE_OK) {
		sqlite3_bind_blob(s, 1, qid, MCN_STATE_QID_BYTES,
		    SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)now_ms);
		rc = st_done(s);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_OK)
		goto fail;
	if (sqlite3_changes(st->db) == 0) {
		st_rollback(st);
		return (MCN_EREPLAY);
	}
	if ((rc = st_exec(st, "COMMIT")) != SQLITE_OK)
		goto fail;
	return (MCN_OK);
fail:
	rv = mcn_sqlite_err(st->db, rc, MCN_EDATA);
	st_rollback(st);
	return (rv);
}

mcn_err
mcn_state_query_id_use(mcn_state *st, const uint8_t qid[MCN_STATE_QID_BYTES],
    uint64_t now_ms)
{
	mcn_err rv;

	MCN_MUST(st != NULL && qid != NULL);
	if (now_ms > (uint64_t)INT64_MAX)
		return (MCN_EINVAL);
	pthread_mutex_lock(&st->mu);
	rv = st_qid_use(st, qid, now_ms);
	pthread_mutex_unlock(&st->mu);
	return (rv);
}

int
mcn_state_query_id_seen(mcn_state *st, const uint8_t qid[MCN_STATE_QID_BYTES])
{
	sqlite3_stmt *s = NULL;
	int rc, seen = -1;

	MCN_MUST(st != NULL && qid != NULL);
	pthread_mutex_lock(&st->mu);
	rc = st_prep(st, &s, "SELECT 1 FROM query_id WHERE qid = ?1");
	if (rc == SQLITE_OK) {
		sqlite3_bind_blob(s, 1, qid, MCN_STATE_QID_BYTES,
		    SQLITE_STATIC);
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW)
			seen = 1;
		else if (rc == SQLITE_DONE)
			seen = 0;
	}
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->mu);
	return (seen);
}

mcn_err
mcn_state_query_ids_since(mcn_state *st, uint64_t since_ms, mcn_state_qid_fn cb,
    void *ctx)
{
	sqlite3_stmt *s = NULL;
	mcn_err rv = MCN_OK;
	int rc;

	MCN_MUST(st != NULL && cb != NULL);
	if (since_ms > (uint64_t)INT64_MAX)
		return (MCN_OK);
	pthread_mutex_lock(&st->mu);
	rc = st_prep(st, &s,
	    "SELECT qid, t FROM query_id WHERE t >= ?1 ORDER BY t, qid");
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, (sqlite3_int64)since_ms);
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			if (sqlite3_column_bytes(s, 0) != MCN_STATE_QID_BYTES) {
				rc = SQLITE_CORRUPT;
				break;
			}
			uint8_t q[MCN_STATE_QID_BYTES];
			memcpy(q, sqlite3_column_blob(s, 0), sizeof(q));
			rv = cb(ctx, q, (uint64_t)sqlite3_column_int64(s, 1));
			if (rv != MCN_OK)
				break;
		}
	}
	if (rv == MCN_OK && rc != SQLITE_DONE)
		rv = mcn_sqlite_err(st->db, rc, MCN_EDATA);
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->mu);
	return (rv);
}

/* ---- privacy budget ------------------------------------------------------ */

/* spent of (querier, role) inside the current transaction (0 if none). */
static int
st_spent(mcn_state *st, const char *querier, const char *role, double *spent)
{
	sqlite3_stmt *s = NULL;
	int rc = st_prep(st, &s,
	    "SELECT spent FROM budget WHERE querier = ?1 AND role = ?2");

	*spent = 0;
	if (rc == SQLITE_OK) {
		st_bind_qr(s, querier, role);
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			*spent = sqlite3_column_double(s, 0);
			rc = SQLITE_OK;
		} else if (rc == SQLITE_DONE) {
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(s);
	return (rc);
}

mcn_err
mcn_state_budget_spent(mcn_state *st, const char *querier, const char *role,
    double *spent)
{
	mcn_err rv;
	int rc;

	MCN_MUST(st != NULL && spent != NULL);
	if ((rv = st_ids(querier, role)) != MCN_OK)
		return (rv);
	pthread_mutex_lock(&st->mu);
	rc = st_spent(st, querier, role, spent);
	pthread_mutex_unlock(&st->mu);
	return (rc == SQLITE_OK ? MCN_OK : mcn_sqlite_err(st->db, rc, MCN_EDATA));
}

static mcn_err
st_charge(mcn_state *st, const char *querier, const char *role,
    const uint8_t *key, double epsilon, double limit, double *spent_after,
    int *charged, char *why, size_t whylen)
{
	sqlite3_stmt *s = NULL;
	double spent = 0;
	int rc, seen = 0;
	mcn_err rv;

	if ((rc = st_exec(st, "BEGIN IMMEDIATE")) != SQLITE_OK)
		return (
		    st_fail(st, rc, "cannot charge the budget", why, whylen));
	rc = st_prep(st, &s,
	    "SELECT 1 FROM budget_charge WHERE querier = ?1 AND role = ?2 "
	    "AND key = ?3");
	if (rc == SQLITE_OK) {
		st_bind_qr(s, querier, role);
		sqlite3_bind_blob(s, 3, key, MCN_STATE_CHARGE_KEY_BYTES,
		    SQLITE_STATIC);
		rc = sqlite3_step(s);
		seen = rc == SQLITE_ROW;
		rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
	}
	sqlite3_finalize(s);
	s = NULL;
	if (rc != SQLITE_OK ||
	    (rc = st_spent(st, querier, role, &spent)) != SQLITE_OK)
		goto fail;
	*spent_after = spent;
	if (seen) {
		/* the same noisy answer again: no new disclosure */
		st_rollback(st);
		*charged = 0;
		return (MCN_OK);
	}
	if (spent + epsilon > limit * (1 + MCN_STATE_BUDGET_TOLERANCE) +
	        MCN_STATE_BUDGET_TOLERANCE) {
		mcn_msg(why, whylen,
		    "privacy budget: querier '%s' (role '%s') has spent %g of "
		    "%g (this query costs %g)",
		    querier, role, spent, limit, epsilon);
		st_rollback(st);
		return (MCN_EREFUSED);
	}
	rc = st_prep(st, &s,
	    "INSERT INTO budget(querier, role, spent) VALUES (?1, ?2, ?3) "
	    "ON CONFLICT(querier, role) DO UPDATE SET spent = excluded.spent");
	if (rc == SQLITE_OK) {
		st_bind_qr(s, querier, role);
		sqlite3_bind_double(s, 3, spent + epsilon);
		rc = st_done(s);
	}
	sqlite3_finalize(s);
	s = NULL;
	if (rc != SQLITE_OK)
		goto fail;
	rc = st_prep(st, &s,
	    "INSERT INTO budget_charge(querier, role, key, epsilon) "
	    "VALUES (?1, ?2, ?3, ?4)");
	if (rc == SQLITE_OK) {
		st_bind_qr(s, querier, role);
		sqlite3_bind_blob(s, 3, key, MCN_STATE_CHARGE_KEY_BYTES,
		    SQLITE_STATIC);
		sqlite3_bind_double(s, 4, epsilon);
		rc = st_done(s);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_OK || (rc = st_exec(st, "COMMIT")) != SQLITE_OK)
		goto fail;
	*spent_after = spent + epsilon;
	*charged = 1;
	return (MCN_OK);
fail:
	rv = st_fail(st, rc, "cannot charge the budget", why, whylen);
	st_rollback(st);
	*spent_after = spent;
	return (rv);
}

mcn_err
mcn_state_budget_charge(mcn_state *st, const char *querier, const char *role,
    const uint8_t charge_key[MCN_STATE_CHARGE_KEY_BYTES], double epsilon,
    double limit, double *spent_after, int *charged, char *why, size_t whylen)
{
	double sa = 0;
	int ch = 0;
	mcn_err rv;

	MCN_MUST(st != NULL && charge_key != NULL && why != NULL);
	if ((rv = st_ids(querier, role)) != MCN_OK || !isfinite(epsilon) ||
	    !(epsilon > 0) || !isfinite(limit) || !(limit >= 0)) {
		mcn_msg(why, whylen, "privacy budget: invalid arguments");
		rv = MCN_EINVAL;
	} else {
		pthread_mutex_lock(&st->mu);
		rv = st_charge(st, querier, role, charge_key, epsilon, limit,
		    &sa, &ch, why, whylen);
		pthread_mutex_unlock(&st->mu);
	}
	if (spent_after != NULL)
		*spent_after = sa;
	if (charged != NULL)
		*charged = ch;
	return (rv);
}

/* ---- rate limit ---------------------------------------------------------- */

static mcn_err
st_rate(mcn_state *st, const char *querier, const char *role, uint64_t now_ms,
    uint64_t max_queries, uint64_t window_ms, char *why, size_t whylen)
{
	sqlite3_stmt *s = NULL;
	int64_t lower = (int64_t)now_ms - (int64_t)window_ms;
	int64_t count = 0;
	mcn_err rv;
	int rc;

	if ((rc = st_exec(st, "BEGIN IMMEDIATE")) != SQLITE_OK)
		return (st_fail(st, rc, "cannot check the rate limit", why,
		    whylen));
	/* forget what left the window */
	rc = st_prep(st, &s,
	    "DELETE FROM rate WHERE querier = ?1 AND role = ?2 AND t <= ?3");
	if (rc == SQLITE_OK) {
		st_bind_qr(s, querier, role);
		sqlite3_bind_int64(s, 3, lower);
		rc = st_done(s);
	}
	sqlite3_finalize(s);
	s = NULL;
	if (rc != SQLITE_OK)
		goto fail;
	rc = st_prep(st, &s,
	    "SELECT count(*) FROM rate WHERE querier = ?1 AND role = ?2 "
	    "AND t > ?3 AND t <= ?4");
	if (rc == SQLITE_OK) {
		st_bind_qr(s, querier, role);
		sqlite3_bind_int64(s, 3, lower);
		sqlite3_bind_int64(s, 4, (sqlite3_int64)now_ms);
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			count = sqlite3_column_int64(s, 0);
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(s);
	s = NULL;
	if (rc != SQLITE_OK)
		goto fail;
	if ((uint64_t)count >= max_queries) {
		char win[32];
		if (window_ms % 1000 == 0)
			snprintf(win, sizeof(win), "%llu",
			    (unsigned long long)(window_ms / 1000));
		else
			snprintf(win, sizeof(win), "%.3f",
			    (double)window_ms / 1000);
		mcn_msg(why, whylen,
		    "rate limit: querier '%s' has asked %lld queries in the "
		    "last %s s (role '%s' allows %llu)",
		    querier, (long long)count, win, role,
		    (unsigned long long)max_queries);
		st_rollback(st);
		return (MCN_EREFUSED);
	}
	rc = st_prep(st, &s,
	    "INSERT INTO rate(querier, role, t) VALUES (?1, ?2, ?3)");
	if (rc == SQLITE_OK) {
		st_bind_qr(s, querier, role);
		sqlite3_bind_int64(s, 3, (sqlite3_int64)now_ms);
		rc = st_done(s);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_OK || (rc = st_exec(st, "COMMIT")) != SQLITE_OK)
		goto fail;
	return (MCN_OK);
fail:
	rv = st_fail(st, rc, "cannot check the rate limit", why, whylen);
	st_rollback(st);
	return (rv);
}

mcn_err
mcn_state_rate_admit(mcn_state *st, const char *querier, const char *role,
    uint64_t now_ms, uint64_t max_queries, uint64_t window_ms, char *why,
    size_t whylen)
{
	mcn_err rv;

	MCN_MUST(st != NULL && why != NULL);
	if ((rv = st_ids(querier, role)) != MCN_OK || max_queries == 0 ||
	    window_ms == 0 || now_ms > (uint64_t)INT64_MAX ||
	    window_ms > (uint64_t)INT64_MAX) {
		mcn_msg(why, whylen, "rate limit: invalid arguments");
		return (MCN_EINVAL);
	}
	pthread_mutex_lock(&st->mu);
	rv = st_rate(st, querier, role, now_ms, max_queries, window_ms, why,
	    whylen);
	pthread_mutex_unlock(&st->mu);
	return (rv);
}

/* ---- differencing -------------------------------------------------------- */

/* A normalized copy of a cohort: ceil(nbits / 64) words (bits at and beyond
 * nbits zero), of which the first ceil(nbits / 8) bytes are stored. */
typedef struct {
	uint64_t *w;
	size_t nwords, nbytes;
	uint8_t digest[32]; /* SHA-256 of the stored bytes (record only) */
} st_cohort;

static mcn_err
st_cohort_make(st_cohort *c, const uint8_t *bitmap, size_t nbits)
{
	memset(c, 0, sizeof(*c));
	c->nbytes = (nbits + 7) / 8;
	c->nwords = (nbits + 63) / 64;
	if (c->nwords == 0)
		return (MCN_OK);
	if ((c->w = mcn_zalloc(c->nwords * 8)) == NULL)
		return (MCN_ENOMEM);
	memcpy(c->w, bitmap, c->nbytes);
	if (nbits % 8 != 0)
		((uint8_t *)c->w)[c->nbytes - 1] &=
		    (uint8_t)((1u << (nbits % 8)) - 1);
	return (MCN_OK);
}

static void
st_cohort_clear(st_cohort *c)
{
	if (c->w != NULL)
		mcn_free(c->w, c->nwords * 8);
	memset(c, 0, sizeof(*c));
}

/* |A xor B| where B is nb stored bytes (bits beyond them are zero). The
 * in-memory byte order of A's words is the stored byte order, so loading
 * B's bytes the same way (memcpy) pairs the same rows. */
static uint64_t
st_xor_count(const st_cohort *a, const uint8_t *b, size_t nb)
{
	size_t full = nb / 8, i;
	uint64_t d = 0, x;

	for (i = 0; i < full && i < a->nwords; i++) {
		memcpy(&x, b + 8 * i, 8);
		d += (uint64_t)__builtin_popcountll(a->w[i] ^ x);
	}
	for (size_t j = i; j < a->nwords; j++) {
		x = 0;
		if (j == full && j * 8 < nb)
			memcpy(&x, b + 8 * j, nb - 8 * j);
		d += (uint64_t)__builtin_popcountll(a->w[j] ^ x);
	}
	for (; i * 8 < nb && i >= a->nwords; i++) {
		x = 0;
		memcpy(&x, b + 8 * i, nb - 8 * i < 8 ? nb - 8 * i : 8);
		d += (uint64_t)__builtin_popcountll(x);
	}
	return (d);
}

static mcn_err
st_cohort_check(mcn_state *st, const char *querier, const st_cohort *a,
    uint64_t generation, uint64_t *closest, char *why, size_t whylen)
{
	sqlite3_stmt *s = NULL;
	uint64_t best = UINT64_MAX;
	mcn_err rv = MCN_OK;
	int rc;

	rc = st_prep(st, &s,
	    "SELECT bits FROM cohort WHERE querier = ?1 AND generation = ?2");
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(s, 1, querier, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)generation);
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			const uint8_t *b = sqlite3_column_blob(s, 0);
			size_t nb = (size_t)sqlite3_column_bytes(s, 0);
			uint64_t d = st_xor_count(a, nb ? b : NULL, nb);
			if (d != 0 && d < best)
				best = d;
		}
		rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_OK)
		rv =
		    st_fail(st, rc, "cannot read earlier cohorts", why, whylen);
	*closest = best;
	return (rv);
}

mcn_err
mcn_state_cohort_check(mcn_state *st, const char *querier, const char *role,
    uint64_t generation, const uint8_t *bitmap, size_t nbits,
    uint64_t min_difference, uint64_t *closest, char *why, size_t whylen)
{
	st_cohort a;
	uint64_t best = UINT64_MAX;
	mcn_err rv;

	MCN_MUST(st != NULL && why != NULL && (nbits == 0 || bitmap != NULL));
	if (closest != NULL)
		*closest = UINT64_MAX;
	if ((rv = st_ids(querier, role)) != MCN_OK ||
	    nbits > MCN_STATE_MAX_COHORT_BITS) {
		mcn_msg(why, whylen, "differencing: invalid arguments");
		return (MCN_EINVAL);
	}
	if ((rv = st_cohort_make(&a, bitmap, nbits)) != MCN_OK) {
		mcn_msg(why, whylen, "differencing: out of memory");
		return (rv);
	}
	pthread_mutex_lock(&st->mu);
	rv = st_cohort_check(st, querier, &a, generation, &best, why, whylen);
	pthread_mutex_unlock(&st->mu);
	st_cohort_clear(&a);
	if (rv != MCN_OK)
		return (rv);
	if (closest != NULL)
		*closest = best;
	if (best < min_difference) {
		mcn_msg(why, whylen,
		    "differencing: this cohort differs from an earlier one of "
		    "querier '%s' by fewer than %llu patients",
		    querier, (unsigned long long)min_difference);
		return (MCN_EREFUSED);
	}
	return (MCN_OK);
}

static mcn_err
st_record(mcn_state *st, const char *querier, const char *role,
    uint64_t generation, const st_cohort *a, size_t nbits)
{
	sqlite3_stmt *s = NULL;
	int64_t same = -1;
	mcn_err rv;
	int rc;

	if ((rc = st_exec(st, "BEGIN IMMEDIATE")) != SQLITE_OK)
		return (mcn_sqlite_err(st->db, rc, MCN_EDATA));
	rc = st_prep(st, &s,
	    "DELETE FROM cohort WHERE querier = ?1 AND role = ?2 "
	    "AND generation <> ?3");
	if (rc == SQLITE_OK) {
		st_bind_qr(s, querier, role);
		sqlite3_bind_int64(s, 3, (sqlite3_int64)generation);
		rc = st_done(s);
	}
	sqlite3_finalize(s);
	s = NULL;
	if (rc != SQLITE_OK)
		goto fail;
	rc = st_prep(st, &s,
	    "SELECT id FROM cohort WHERE querier = ?1 AND role = ?2 "
	    "AND digest = ?6 AND generation = ?3 AND nbits = ?4 AND bits = ?5");
	if (rc == SQLITE_OK) {
		st_bind_qr(s, querier, role);
		sqlite3_bind_int64(s, 3, (sqlite3_int64)generation);
		sqlite3_bind_int64(s, 4, (sqlite3_int64)nbits);
		sqlite3_bind_blob(s, 5, a->nbytes ? (const void *)a->w : "",
		    (int)a->nbytes, SQLITE_STATIC);
		sqlite3_bind_blob(s, 6, a->digest, (int)sizeof(a->digest),
		    SQLITE_STATIC);
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW)
			same = sqlite3_column_int64(s, 0);
		rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
	}
	sqlite3_finalize(s);
	s = NULL;
	if (rc != SQLITE_OK)
		goto fail;
	if (same >= 0) {
		/* identical cohort: make it the newest */
		rc = st_prep(st, &s,
		    "UPDATE cohort SET id = (SELECT max(id) + 1 FROM cohort) "
		    "WHERE id = ?1");
		if (rc == SQLITE_OK) {
			sqlite3_bind_int64(s, 1, same);
			rc = st_done(s);
		}
	} else {
		rc = st_prep(st, &s,
		    "INSERT INTO cohort(querier, role, generation, nbits, "
		    "digest, bits) VALUES (?1, ?2, ?3, ?4, ?6, ?5)");
		if (rc == SQLITE_OK) {
			st_bind_qr(s, querier, role);
			sqlite3_bind_int64(s, 3, (sqlite3_int64)generation);
			sqlite3_bind_int64(s, 4, (sqlite3_int64)nbits);
			sqlite3_bind_blob(s, 5,
			    a->nbytes ? (const void *)a->w : "", (int)a->nbytes,
			    SQLITE_STATIC);
			sqlite3_bind_blob(s, 6, a->digest,
			    (int)sizeof(a->digest), SQLITE_STATIC);
			rc = st_done(s);
		}
	}
	sqlite3_finalize(s);
	s = NULL;
	if (rc != SQLITE_OK)
		goto fail;
	rc = st_prep(st, &s,
	    "DELETE FROM cohort WHERE querier = ?1 AND role = ?2 AND id NOT IN "
	    "(SELECT id FROM cohort WHERE querier = ?1 AND role = ?2 "
	    "ORDER BY id DESC LIMIT ?3)");
	if (rc == SQLITE_OK) {
		st_bind_qr(s, querier, role);
		sqlite3_bind_int(s, 3, MCN_STATE_MAX_COHORTS);
		rc = st_done(s);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_OK || (rc = st_exec(st, "COMMIT")) != SQLITE_OK)
		goto fail;
	return (MCN_OK);
fail:
	rv = mcn_sqlite_err(st->db, rc, MCN_EDATA);
	st_rollback(st);
	return (rv);
}

mcn_err
mcn_state_cohort_record(mcn_state *st, const char *querier, const char *role,
    uint64_t generation, const uint8_t *bitmap, size_t nbits)
{
	st_cohort a;
	mcn_err rv;

	MCN_MUST(st != NULL && (nbits == 0 || bitmap != NULL));
	if ((rv = st_ids(querier, role)) != MCN_OK ||
	    nbits > MCN_STATE_MAX_COHORT_BITS)
		return (MCN_EINVAL);
	if ((rv = st_cohort_make(&a, bitmap, nbits)) != MCN_OK)
		return (rv);
	unsigned int dl = 0;
	if (EVP_Digest(a.nbytes ? (const void *)a.w : "", a.nbytes, a.digest,
	        &dl, EVP_sha256(), NULL) != 1 ||
	    dl != sizeof(a.digest)) {
		st_cohort_clear(&a);
		return (MCN_ECRYPTO);
	}
	pthread_mutex_lock(&st->mu);
	rv = st_record(st, querier, role, generation, &a, nbits);
	pthread_mutex_unlock(&st->mu);
	st_cohort_clear(&a);
	return (rv);
}
