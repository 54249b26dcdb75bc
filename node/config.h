/*
 * node/config.h - node and querier configuration, and the consortium file.
 *
 * Parsing only: no sockets, no keys loaded, no side effects (so a fuzzer
 * can reach it). Relative paths inside a file are resolved against the
 * directory of that file. Unknown keys are errors.
 *
 * node.json:
 *   {"id": "site1", "role": "node",
 *    "listen": "tls+tcp://127.0.0.1:7101",
 *    "ca": "../ca/ca.crt", "cert": "site1.crt", "key": "site1.key",
 *    "consortium": "../consortium.json", "key_share": "site1.share",
 *    "mask_key": "site1.mask", "store": "site1.db",
 *    "dictionary": "../dictionary.json",
 *    "allow_plain": false, "min_sites": 2, "threads": 0,
 *    "timeout_ms": 30000, "max_message_bytes": 16777216,
 *    "max_skew_ms": 300000, "log": null,
 *    "policy": "policy.json", "audit_log": "audit.log", "state": "state.db",
 *    "max_queries_in_progress": 1024, "max_queries_per_querier": 64}
 *   (policy: the hospital's disclosure policy, node/policy.h - required,
 *   default deny; audit_log: the hash-chained signed audit log,
 *   node/audit.h; state: budgets, rate limits, used query ids and
 *   remembered cohorts, node/state.h.)
 * querier.json:
 *   {"id": "alice", "role": "querier", "ca": ..., "cert": ..., "key": ...,
 *    "consortium": ..., "dictionary": ..., "min_sites": 2,
 *    "timeout_ms": 30000, "max_message_bytes": 16777216,
 *    "decrypt_spare": 0, "epsilon": null}
 *   (decrypt_spare: how many contributors beyond the threshold t are asked
 *   for partial decryptions at once; 0 asks exactly t and falls back to
 *   the others only if one fails, n asks all of them.)
 * consortium.json:
 *   {"name": "demo", "threshold": 2, "min_sites": 2,
 *    "max_rows_per_site": 10000000, "public_key": "consortium.pub",
 *    "nodes": [{"id": "site1", "url": "tls+tcp://127.0.0.1:7101",
 *               "mask_public": "<64 hex>"}, ...]}
 */
#ifndef MCN_NODE_CONFIG_H
#define MCN_NODE_CONFIG_H

#include <stddef.h>

/* The most queries a node holds between rounds (protocols/agg.h,
 * MCN_AGG_MAX_ACTIVE; config.c knows nothing of the protocol layer). */
#define MCN_CONFIG_MAX_IN_PROGRESS 1024
#include <stdint.h>

#include "crypto/err.h"
#include "crypto/mask.h"
#include "node/util.h"
#include "proto/sign.h"

#define MCN_URL_MAX 256

typedef struct mcn_consortium_node {
	char id[MCN_ID_MAX + 1];
	char url[MCN_URL_MAX];
	uint8_t mask_public[MCN_X25519_BYTES];
} mcn_consortium_node;

typedef struct mcn_consortium {
	char *name;
	unsigned threshold;
	unsigned min_sites;
	uint64_t max_rows_per_site;
	char *public_key; /* path, resolved */
	mcn_consortium_node *nodes;
	size_t nnodes;
} mcn_consortium;

/* The fewest contributions an answer can have: max(threshold, min_sites)
 * (mcn_query_limits.noise_shares). */
#define MCN_CONSORTIUM_NOISE_SHARES(c)                                   \
	((c)->threshold > (c)->min_sites ? (c)->threshold : (c)->min_sites)

typedef struct mcn_config {
	char id[MCN_ID_MAX + 1];
	mcn_role role;       /* MCN_ROLE_NODE or MCN_ROLE_QUERIER */
	char *dir;           /* directory of the config file */
	char *listen;        /* node only */
	char *ca, *cert, *key;
	char *consortium_path;
	char *key_share;     /* node only */
	char *mask_key;      /* node only */
	char *store;         /* node only */
	char *dictionary;
	char *log;           /* NULL: stderr */
	char *policy;        /* node only */
	char *audit_log;     /* node only */
	char *state;         /* node only */
	int allow_plain;
	unsigned min_sites;
	unsigned threads;    /* 0: all cores */
	unsigned timeout_ms;
	size_t max_message;
	uint64_t max_skew_ms;
	unsigned max_in_progress; /* node: queries held between rounds */
	unsigned max_per_querier; /* node: of them, one querier's */
	unsigned decrypt_spare; /* querier: round-2 nodes asked beyond t (0) */
	double epsilon;         /* querier: WITH EPSILON added to queries (0: no) */
	mcn_consortium consortium; /* loaded from consortium_path */
} mcn_config;

/* Loads a node or querier config and the consortium file it names. err
 * names the file and the problem. MCN_EFORMAT, MCN_ESYS|errno, MCN_ENOMEM. */
mcn_err mcn_config_load(mcn_config *cfg, const char *path, char *err, size_t errlen) MCN_WUR;
void mcn_config_clear(mcn_config *cfg);

mcn_err mcn_consortium_load(mcn_consortium *c, const char *path, char *err, size_t errlen) MCN_WUR;
void mcn_consortium_clear(mcn_consortium *c);
/* Index (0-based) of a node id in the consortium, or -1. */
int mcn_consortium_find(const mcn_consortium *c, const char *id);

#endif
