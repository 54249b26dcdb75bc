/*
 * node/state.h - the node's persistent governance state.
 *
 * One SQLite database per node (created 0600 if absent, WAL journal,
 * synchronous=FULL, secure_delete) holding everything the node's
 * governance must remember across restarts:
 *  - a 32-byte random node secret, created once from mcn_rng_system()
 *    (it seeds deterministic DP noise, so the same query gets the same
 *    noise and repeating it reveals nothing new);
 *  - the query ids already used (replay protection), kept at least
 *    retention_ms (default MCN_STATE_RETENTION_MS), pruned lazily;
 *  - the privacy budget spent per (querier, role), and which charge keys
 *    (hashes of noise labels) were already charged;
 *  - the rate-limit log per (querier, role);
 *  - the last MCN_STATE_MAX_COHORTS cohorts per (querier, role), as
 *    bitmaps over local row ids, for the differencing rule. These reveal
 *    which local rows matched earlier queries: the file is patient-derived
 *    data at rest and must stay as protected as the store.
 *
 * Every mutating call is one BEGIN IMMEDIATE transaction: it is durable
 * when it returns MCN_OK and leaves the database unchanged when it returns
 * anything else. A database written by another program or another schema
 * version is refused (MCN_EDATA). Querier ids must satisfy mcn_id_valid
 * and so must role names (MCN_EINVAL otherwise).
 *
 * Errors: MCN_ESYS|errno (cannot create/open/write), MCN_EDATA (not an
 * SQLite database, corrupt, foreign or other version; the message names
 * the file), MCN_ENOMEM, MCN_ESTATE (database locked by another process
 * for more than 5 s), MCN_EINVAL (arguments), and the refusals
 * MCN_EREFUSED and MCN_EREPLAY. Messages name the rule and never contain
 * data values.
 *
 * Thread-safety: an mcn_state has its own mutex; every call may be made
 * from any thread. Two processes may share the file (SQLite locking), but
 * a node normally owns its state alone.
 */
#ifndef MCN_NODE_STATE_H
#define MCN_NODE_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/err.h"

#define MCN_STATE_VERSION 1
#define MCN_STATE_SECRET_BYTES 32
#define MCN_STATE_QID_BYTES 16
#define MCN_STATE_CHARGE_KEY_BYTES 32
#define MCN_STATE_MAX_COHORTS 256 /* per querier and role */
#define MCN_STATE_MAX_COHORT_BITS (1ul << 24)
#define MCN_STATE_RETENTION_MS (30ull * 24 * 3600 * 1000) /* 30 days */
#define MCN_STATE_BUDGET_TOLERANCE 1e-12

typedef struct mcn_state mcn_state;

/* Opens the state database at path, creating it (mode 0600, with a new
 * secret) if absent. Messages name the path: MCN_ESYS|errno ("cannot
 * create" in a missing or read-only directory, a directory at path),
 * MCN_EDATA ("not an mcn node state database", "state database version N,
 * this program needs 1"), MCN_ENOMEM, MCN_ESTATE (locked). */
mcn_err mcn_state_open(mcn_state **out, const char *path, char *err,
    size_t errlen) MCN_WUR;

/* Closes and frees (wipes the secret). NULL is a no-op. */
void mcn_state_close(mcn_state *st);

/* How long used query ids are kept at least (default
 * MCN_STATE_RETENTION_MS). Not persisted: set it after every open. */
void mcn_state_set_retention(mcn_state *st, uint64_t retention_ms);

/* Copies the node secret (SECRET) into out. */
void mcn_state_secret(const mcn_state *st, uint8_t out[MCN_STATE_SECRET_BYTES]);

/* Records query id qid as used at now_ms: MCN_OK the first time,
 * MCN_EREPLAY if it was used before (and not yet pruned: ids older than
 * now_ms - retention are dropped here). */
mcn_err mcn_state_query_id_use(mcn_state *st,
    const uint8_t qid[MCN_STATE_QID_BYTES], uint64_t now_ms) MCN_WUR;

/* 1 if qid was used, 0 if not; a negative value on a database error
 * (truthy, so `if (seen)` fails closed). */
int mcn_state_query_id_seen(mcn_state *st,
    const uint8_t qid[MCN_STATE_QID_BYTES]);

/* Calls cb for every query id used at or after since_ms, oldest first. A
 * callback result other than MCN_OK stops the walk and is returned. The
 * callback must not call back into st. */
typedef mcn_err (*mcn_state_qid_fn)(void *ctx,
    const uint8_t qid[MCN_STATE_QID_BYTES], uint64_t used_ms);
mcn_err mcn_state_query_ids_since(mcn_state *st, uint64_t since_ms,
    mcn_state_qid_fn cb, void *ctx) MCN_WUR;

/* Privacy budget spent so far by (querier, role); 0 if never charged. */
mcn_err mcn_state_budget_spent(mcn_state *st, const char *querier,
    const char *role, double *spent) MCN_WUR;

/* Charges epsilon (> 0) to (querier, role) under the role's total limit,
 * atomically. If charge_key was already charged for this querier and role,
 * nothing is charged (the same noisy answer is released again, which
 * costs no budget): MCN_OK with *charged = 0. Otherwise MCN_EREFUSED if
 * spent + epsilon > limit (1 + 1e-12) + 1e-12, with a reason in why
 *   "privacy budget: querier 'q' (role 'feasibility') has spent 19.5 of 20
 *    (this query costs 0.5)"
 * else records it: MCN_OK, *charged = 1. *spent_after (may be NULL) is the
 * total after the call (unchanged on refusal). charged may be NULL. */
mcn_err mcn_state_budget_charge(mcn_state *st, const char *querier,
    const char *role, const uint8_t charge_key[MCN_STATE_CHARGE_KEY_BYTES],
    double epsilon, double limit, double *spent_after, int *charged, char *why,
    size_t whylen) MCN_WUR;

/* Sliding-window rate limit: MCN_EREFUSED if max_queries queries of
 * (querier, role) were already admitted with a time in
 * (now_ms - window_ms, now_ms], with a reason
 *   "rate limit: querier 'q' has asked 100 queries in the last 3600 s
 *    (role 'feasibility' allows 100)"
 * else records this one at now_ms (and forgets entries that left the
 * window): MCN_OK. max_queries and window_ms must be >= 1. */
mcn_err mcn_state_rate_admit(mcn_state *st, const char *querier,
    const char *role, uint64_t now_ms, uint64_t max_queries, uint64_t window_ms,
    char *why, size_t whylen) MCN_WUR;

/* Differencing rule. A cohort is a bitmap over local row ids: bit i (byte
 * i / 8, bit i % 8, least significant first) is row i; bits at or beyond
 * nbits (<= MCN_STATE_MAX_COHORT_BITS) are ignored. Compares cohort A with
 * every recorded cohort B of the same querier (under any role, so that
 * holding two roles does not help) and the same data generation (cohorts
 * of other generations are ignored); MCN_EREFUSED if some B has
 * 0 < |A xor B| < min_difference, with the reason
 *   "differencing: this cohort differs from an earlier one of querier 'q'
 *    by fewer than 10 patients"
 * else MCN_OK. *closest (may be NULL) is the smallest nonzero |A xor B|,
 * UINT64_MAX if there is none. Read-only. */
mcn_err mcn_state_cohort_check(mcn_state *st, const char *querier,
    const char *role, uint64_t generation, const uint8_t *bitmap, size_t nbits,
    uint64_t min_difference, uint64_t *closest, char *why,
    size_t whylen) MCN_WUR;

/* Records cohort A for (querier, role, generation): drops this querier and
 * role's cohorts of other generations, stores A unless an identical cohort
 * is already stored (that one becomes the newest instead), and keeps only
 * the newest MCN_STATE_MAX_COHORTS. Also MCN_ECRYPTO (SHA-256 of the
 * bitmap, used to find an identical one, failed). */
mcn_err mcn_state_cohort_record(mcn_state *st, const char *querier,
    const char *role, uint64_t generation, const uint8_t *bitmap,
    size_t nbits) MCN_WUR;

#endif
