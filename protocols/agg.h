/*
 * protocols/agg.h - secure aggregation of one integer vector per node.
 *
 * Every analysis reduces to: each node computes a local vector of int64
 * values (counts, scaled sums, bins), each slot with a declared per-node
 * range [lo, hi] (mcn_pack_field), and the network releases only the sum
 * over nodes. Three modes share one interface:
 *
 *   paillier  round 1: the coordinator sends QUERY to every node; each node
 *             computes its vector (plan callback), packs it (crypto/pack.h),
 *             encrypts it under the consortium threshold key and replies
 *             with a signed CONTRIBUTION. round 2: the coordinator
 *             multiplies the contributions it got and sends DECRYPT, which
 *             carries every signed contribution envelope and the product,
 *             to every node that contributed. Each node checks the
 *             signatures, query id and round of every contribution, that
 *             the senders are distinct consortium nodes, that there are at
 *             least min_sites of them, and that the product it is asked to
 *             decrypt is exactly the product of those contributions; it
 *             decrypts at most once per query (so a querier cannot ask it
 *             for two different subsets and difference them; across nodes
 *             this needs t > n/2, which node/config.c enforces, and no
 *             collusion: see agg.c). It replies with
 *             PARTIALS (partial decryptions with proofs). The coordinator
 *             verifies, combines any t, unpacks. Nodes that time out or
 *             fail in round 1 are reported missing; the query still
 *             answers if at least max(t, min_sites) contributed and t
 *             answer round 2.
 *   masked    one round: each node adds pairwise zero-sum masks (crypto/
 *             mask.h, X25519 keys of all participants, label =
 *             "mcn-agg-mask-v1" || query id) to its vector mod 2^64. A node
 *             answers a query id once, ever (same masks twice would let the
 *             querier difference two vectors). n-of-n: a missing node fails
 *             the query with an error naming it. The coordinator lifts each
 *             sum mod 2^64 into [n lo, n hi] (exact when n (hi - lo) <
 *             2^64; wider fields are read as int64).
 *   plain     one round: plaintext vectors (benchmark baseline). A node
 *             refuses unless its config allows plain.
 *
 * Release control. A layout may carry a control part (mcn_agg_layout
 * cfields): per-site counts and flags from which the NODES decide what is
 * released, before any value reaches the querier; the values are then cut
 * into units (each packed into its own ciphertexts), and only released
 * units are ever decrypted or unmasked. The control itself is never
 * released to the querier: only the decision (the decide callback's
 * public output) is.
 *   paillier  round 1 as above, the contribution's first ciphertexts hold
 *             the control. round 2: DECRYPT (with the list D of deciding
 *             nodes: exactly the t earliest contributors) to D; each
 *             checks it as above, partially decrypts only the control
 *             ciphertexts and seals the partials (with proofs) to every
 *             other member of D (crypto/box.h; the querier relays but
 *             cannot open them): PARTIALS{boxes}. round 3: DECRYPT{boxes
 *             addressed to it}; each member verifies the others' proofs
 *             against the control product it computed itself, combines t,
 *             gets the pooled control, calls decide, and partially
 *             decrypts the ciphertexts of the released units only:
 *             RELEASE{decision, released units, partials}. It does each
 *             round once. The coordinator needs t RELEASEs with the same
 *             decision and combines the released units.
 *   masked    round 1: each node masks its control (zero-sum masks, label
 *             "mcn-agg-ctl-v1") and seals the masked control to every
 *             other node: CONTRIBUTION{boxes}. round 2: DECRYPT{the boxes
 *             addressed to the node}; every node sums all n masked
 *             controls (the masks cancel), calls decide, and masks its
 *             values with withheld units zeroed under masks whose label
 *             ("mcn-agg-val-v1") binds a digest of the decision, so they
 *             cancel only if every node decided the same: RELEASE{
 *             decision, released, masked values}. All n decisions must be
 *             equal.
 *   plain     the control travels after the values; the coordinator calls
 *             its own decide callback (no protection: the baseline).
 * The decision depends only on the pooled control and the query text, so
 * every deciding node computes the same one (decide must be deterministic).
 *
 * Nodes are identified by their index in the consortium list (1-based:
 * the threshold share index and the mask id) and by their party id.
 * No function blocks, reads a clock or does I/O: now_ms is passed in; the
 * node/ pump moves the bytes and calls on_timeout.
 */
#ifndef MCN_PROTOCOLS_AGG_H
#define MCN_PROTOCOLS_AGG_H

#include <stddef.h>
#include <stdint.h>
#include <gmp.h>

#include "crypto/err.h"
#include "crypto/mask.h"
#include "crypto/pack.h"
#include "crypto/rng.h"
#include "crypto/threshold.h"
#include "proto/sign.h"

#define MCN_AGG_MAX_NODES 128
#define MCN_AGG_MAX_VALUES (1u << 20) /* slots per vector */
#define MCN_QUERY_ID_BYTES 16
#define MCN_QUERY_TEXT_MAX 16384

typedef enum {
	MCN_AGG_PAILLIER = 1,
	MCN_AGG_MASKED = 2,
	MCN_AGG_PLAIN = 3,
} mcn_agg_mode;

const char *mcn_agg_mode_name(mcn_agg_mode m);          /* "paillier" ... */
mcn_err mcn_agg_mode_parse(const char *s, mcn_agg_mode *m) MCN_WUR;

/* A consortium node as every party knows it (from the consortium file). */
typedef struct mcn_agg_peer {
	char id[MCN_PARTY_ID_MAX + 1];
	uint8_t x25519[MCN_X25519_BYTES]; /* public mask key */
} mcn_agg_peer;

/* The layout of one query's vector: fields[i].count slots with per-node
 * values in [lo, hi]; nvalues = sum of counts. Owned by whoever made it.
 * Release control (optional; all zero: none, every value is released):
 * cfields with ncontrol slots in all, and the value fields cut into
 * nunits units of units[u] >= 1 consecutive fields each (sum = nfields).
 * With control, nvalues may be 0 (then nunits = 0). */
typedef struct mcn_agg_layout {
	mcn_pack_field *fields;
	size_t nfields;
	size_t nvalues;
	mcn_pack_field *cfields;
	size_t ncfields;
	size_t ncontrol;
	size_t *units;
	size_t nunits;
} mcn_agg_layout;
/* Frees fields, cfields and units (mcn_free) and zeroes L. */
void mcn_agg_layout_clear(mcn_agg_layout *L);
/* A deep copy (mcn_alloc'd; free with mcn_agg_layout_clear). MCN_ENOMEM. */
mcn_err mcn_agg_layout_copy(mcn_agg_layout *dst, const mcn_agg_layout *src) MCN_WUR;

/* SHA-256 over "mcn/agg/layout/v1" || be64 nfields || (be64 count, be64 lo,
 * be64 hi) per field, and with release control also "control" || be64
 * ncfields || the control fields likewise || be64 nunits || be64 per unit. A CONTRIBUTION carries SHA-256("mcn/agg/contribution/
 * v1" || this digest || be64 len || query text), so the coordinator and
 * every decrypting node can check that all contributions were made for the
 * same query text and layout (a querier cannot pair one site's real answer
 * with zeros from the others). */
#define MCN_AGG_LAYOUT_DIGEST_BYTES 32
void mcn_agg_layout_digest(uint8_t out[MCN_AGG_LAYOUT_DIGEST_BYTES],
    const mcn_agg_layout *L);

/* The node's question to the query engine: compute this node's vector for
 * the query text. On success fills *layout (fields allocated with
 * mcn_alloc) and *values (mcn_alloc'd, layout->nvalues entries followed
 * by layout->ncontrol control entries, secret: wiped and freed by the
 * protocol). On refusal returns MCN_EQUERY /
 * MCN_EREFUSED / ... with a data-free reason in why (sent back to the
 * querier). querier_id is the verified id of the asking querier. */
typedef struct mcn_agg_request {
	const char *text;        /* the query text */
	mcn_agg_mode mode;
	const char *querier;     /* verified querier party id */
	const char *policy_role; /* its certificate's policy role ("" none) */
	const uint8_t *query_id; /* MCN_QUERY_ID_BYTES */
} mcn_agg_request;
typedef mcn_err (*mcn_agg_plan_fn)(void *ctx, const mcn_agg_request *rq,
    mcn_agg_layout *layout, int64_t **values, char *why, size_t whylen);

/* The release rule: from the pooled control (control[ncontrol], the sums
 * over the ncontrib contributing sites; secret to the deciding nodes)
 * sets release[u] = 1 for every value unit u (< nunits) that may be
 * released, 0 otherwise, and returns the public decision (*decision,
 * mcn_alloc'd, *ndecision <= MCN_AGG_MAX_DECISION entries; the protocol
 * frees it), which reaches the querier. Must be a deterministic function
 * of its inputs: every deciding node must get the same decision. An error
 * refuses the release (with a data-free reason in why). */
#define MCN_AGG_MAX_DECISION (4u << 20)
typedef mcn_err (*mcn_agg_decide_fn)(void *ctx, const mcn_agg_request *rq,
    const int64_t *control, size_t ncontrol, unsigned ncontrib,
    uint8_t *release, size_t nunits, int64_t **decision, size_t *ndecision,
    char *why, size_t whylen);

/* What the node instance last did (mcn_agg_node_last), and what the
 * commit hook is asked to make durable before an answer leaves. */
typedef enum {
	MCN_AGG_EV_NONE = 0, /* the request could not be opened */
	MCN_AGG_EV_QUERY,    /* a QUERY: contribution */
	MCN_AGG_EV_DECRYPT,  /* a DECRYPT: partial decryptions */
} mcn_agg_ev_type;
typedef struct mcn_agg_event {
	mcn_agg_ev_type type;
	int has_query_id;
	uint8_t query_id[MCN_QUERY_ID_BYTES];
	char querier[MCN_PARTY_ID_MAX + 1];     /* "" if unknown */
	char policy_role[MCN_PARTY_ID_MAX + 1]; /* "" if none */
	mcn_agg_mode mode;      /* QUERY: its mode; else 0 */
	size_t nvalues;         /* QUERY: values contributed; DECRYPT:
	                           ciphertexts decrypted */
	size_t reply_bytes;     /* size of the answer (0 on refusal) */
} mcn_agg_event;
/* Called once per answer that is not a refusal, after it is built and
 * before mcn_agg_node_handle returns it: e.g. to write an audit record.
 * A code other than MCN_OK turns the answer into a signed ERROR with
 * that code and why (fail closed: nothing leaves that was not
 * recorded). */
typedef mcn_err (*mcn_agg_commit_fn)(void *ctx, const mcn_agg_event *ev,
    char *why, size_t whylen);

/* ---- node side ---- */

typedef struct mcn_agg_node_cfg {
	const mcn_agg_peer *peers; /* the consortium's nodes, index i+1 */
	size_t npeers;
	uint32_t my_index;         /* 1..npeers: me */
	const mcn_tpaillier_pub *tpub;     /* consortium key (NULL: no paillier) */
	const mcn_tpaillier_share *share;  /* my share (secret) */
	const mcn_x25519_keypair *x25519;  /* my mask key (secret) */
	unsigned min_sites;        /* >= 2: fewest contributions we decrypt */
	int allow_plain;           /* 0: plain mode refused */
	const mcn_signer *signer;  /* signs my replies */
	const mcn_verifier *verifier;
	size_t max_message;        /* bytes; larger requests refused unread */
	uint64_t max_skew_ms;      /* accepted |timestamp - now| */
	uint64_t query_ttl_ms;     /* how long round-1 state is kept */
	mcn_agg_plan_fn plan;
	void *plan_ctx;
	mcn_rng_pool *rngs;        /* encryption randomness (per thread) */
	/* optional (zero/NULL: default or unchecked): */
	const uint8_t *dict_fingerprint; /* 32 bytes: queries made against
	                                    another dictionary are refused */
	size_t query_memory;       /* query ids remembered (default
	                              MCN_AGG_QUERY_MEMORY); when full, new
	                              queries are refused (MCN_EREPLAY) */
	uint64_t (*clock_us)(void); /* for the *_us statistics only */
	mcn_agg_commit_fn commit;   /* NULL: none */
	void *commit_ctx;
	mcn_agg_decide_fn decide;   /* NULL: layouts with control refused */
	void *decide_ctx;
	/* Queries held between rounds (paillier, masked with control): at
	 * most max_active in all (0: MCN_AGG_MAX_ACTIVE, the most allowed)
	 * and max_per_querier of one querier (0: MCN_AGG_MAX_PER_QUERIER;
	 * at most max_active). A query gives its slot back when its last
	 * round is answered, refused or expired (query_ttl_ms), so a
	 * querier that abandons queries blocks only itself. */
	size_t max_active;
	size_t max_per_querier;
} mcn_agg_node_cfg;

#define MCN_AGG_QUERY_MEMORY (1u << 17) /* default query_memory */
#define MCN_AGG_NONCE_MEMORY (1u << 16) /* envelope nonces remembered */
#define MCN_AGG_MAX_ACTIVE 1024 /* queries held between rounds, at most */
#define MCN_AGG_MAX_PER_QUERIER 64 /* default max_per_querier */

typedef struct mcn_agg_node mcn_agg_node; /* opaque; one per node process */

/* cfg and everything it points to must outlive the instance. If tpub's
 * public key has no fast-encryption table yet, one is built here
 * (mcn_paillier_precompute with the default comb): the only write to
 * *tpub, so create nodes before sharing tpub between threads.
 * MCN_EINVAL for an inconsistent configuration (indices, key parties,
 * min_sites < 2, duplicate or invalid peer ids), MCN_ENOMEM. */
mcn_err mcn_agg_node_new(mcn_agg_node **out, const mcn_agg_node_cfg *cfg) MCN_WUR;
void mcn_agg_node_free(mcn_agg_node *n); /* wipes */

/* Handles one request (a sealed envelope) and produces exactly one reply
 * (*reply, mcn_alloc'd, free with mcn_free(*reply, *replylen)): the
 * protocol answer, or a signed ERROR message with a code and a data-free
 * reason. Returns the error code that the reply carries (MCN_OK if the
 * reply is a normal answer) so node/ can log it; *reply is NULL only if
 * even an error reply could not be made (MCN_ENOMEM, signing failure).
 * Refusals: MCN_ETOOBIG, MCN_EPROTO, MCN_EVERSION, MCN_ESIG, MCN_ECERT
 * (also: an embedded contribution from outside the consortium),
 * MCN_EREPLAY (envelope nonce seen, or query id already used),
 * MCN_ESTALE, MCN_EROUND (unknown/expired query, another querier's,
 * wrong round), MCN_EREFUSED (participants differ, plain not allowed,
 * mode not configured, dictionary differs, fewer than min_sites, own
 * contribution missing or altered, another layout, product mismatch,
 * already decrypted), MCN_EKEYMISMATCH (threshold key fingerprint),
 * MCN_EDUPLICATE (a site twice in DECRYPT), MCN_ERANGE (plan value
 * outside its range), the plan callback's own code (MCN_EQUERY ...), and
 * crypto codes for bad ciphertexts. Every refusal is answered with a
 * signed ERROR carrying the code and the same data-free reason that why
 * (may be NULL) receives for the log; requests that fail to open get one
 * too (echoing whatever query id could be decoded). Not thread-safe: one
 * caller at a time. */
mcn_err mcn_agg_node_handle(mcn_agg_node *n, const uint8_t *req, size_t reqlen,
    uint64_t now_ms, uint8_t **reply, size_t *replylen, char *why,
    size_t whylen);

/* The last request handled: what it was, from whom, what went out. */
void mcn_agg_node_last(const mcn_agg_node *n, mcn_agg_event *ev);

/* Per-instance counters for logs and benchmarks. */
typedef struct mcn_agg_stats {
	uint64_t requests, refusals, bytes_in, bytes_out;
	uint64_t encrypt_us, decrypt_us, plan_us; /* cumulative CPU-ish wall time */
} mcn_agg_stats;
void mcn_agg_node_stats(const mcn_agg_node *n, mcn_agg_stats *st);

/* ---- coordinator side (the querier's client) ---- */

typedef struct mcn_agg_coord_cfg {
	mcn_agg_mode mode;
	const char *query_text;
	const uint8_t *dict_fingerprint; /* 32 bytes, sent so nodes can check */
	const mcn_agg_peer *peers;       /* the consortium's nodes */
	size_t npeers;
	const mcn_tpaillier_pub *tpub;   /* paillier mode */
	unsigned min_sites;              /* the querier's own floor (>= 2) */
	const mcn_agg_layout *layout;    /* the querier's own plan of the vector */
	const mcn_signer *signer;        /* signs requests (role querier) */
	const mcn_verifier *verifier;    /* checks node replies */
	size_t max_message;
	mcn_rng *rng;                    /* query id and nonces */
	/* paillier: contributors asked for partial decryptions in round 2
	 * beyond the t needed (0: exactly t, the earliest round-1 answers;
	 * the others are asked in a further round only if some of those fail
	 * or time out). */
	unsigned decrypt_spare;
	/* plain mode with release control: the querier's own copy of the
	 * rule (NULL: plain queries with control fail) */
	mcn_agg_decide_fn decide;
	void *decide_ctx;
	const char *policy_role; /* passed to decide ("" or NULL: none) */
} mcn_agg_coord_cfg;

typedef enum {
	MCN_AGG_ROUND1 = 1, /* waiting for contributions */
	MCN_AGG_ROUND2,     /* paillier: waiting for partial decryptions (with
	                       control: sealed control partials); masked with
	                       control: waiting for the releases */
	MCN_AGG_ROUND3,     /* paillier with control: waiting for releases */
	MCN_AGG_DONE,
	MCN_AGG_FAILED,
} mcn_agg_phase;

/* Per-node status after the query. */
typedef enum {
	MCN_AGG_SITE_PENDING = 0,
	MCN_AGG_SITE_CONTRIBUTED, /* its vector is in the sum */
	MCN_AGG_SITE_TIMEOUT,     /* no answer in time */
	MCN_AGG_SITE_REFUSED,     /* answered with an error (see site_error) */
	MCN_AGG_SITE_INVALID,     /* answered with something unacceptable */
} mcn_agg_site_status;

typedef struct mcn_agg_coord mcn_agg_coord;

/* A message to send: to peers[to] (0-based). bytes owned by the outbox. */
typedef struct mcn_agg_out {
	size_t to;
	uint8_t *bytes;
	size_t len;
} mcn_agg_out;
typedef struct mcn_agg_outbox {
	mcn_agg_out *msgs;
	size_t n, cap;
} mcn_agg_outbox;
/* Frees the messages and the array; the outbox is then empty (all zero)
 * and can be reused. A zeroed outbox is a valid empty one. */
void mcn_agg_outbox_clear(mcn_agg_outbox *ob);

mcn_err mcn_agg_coord_new(mcn_agg_coord **out, const mcn_agg_coord_cfg *cfg) MCN_WUR;
void mcn_agg_coord_free(mcn_agg_coord *c);

/* Round 1: appends one QUERY request per node to ob. */
mcn_err mcn_agg_coord_start(mcn_agg_coord *c, uint64_t now_ms, mcn_agg_outbox *ob) MCN_WUR;
/* A reply from peers[from]. May append the next round's requests to ob
 * once every node of the current round has answered or timed out.
 * Duplicate and late replies are ignored (MCN_OK). Errors in a reply mark
 * that site, they do not fail the query unless the mode requires it. */
mcn_err mcn_agg_coord_on_reply(mcn_agg_coord *c, size_t from,
    const uint8_t *msg, size_t len, uint64_t now_ms, mcn_agg_outbox *ob) MCN_WUR;
/* peers[from] did not answer the current round in time. */
mcn_err mcn_agg_coord_on_timeout(mcn_agg_coord *c, size_t from, uint64_t now_ms,
    mcn_agg_outbox *ob) MCN_WUR;

mcn_agg_phase mcn_agg_coord_phase(const mcn_agg_coord *c);
/* In DONE: the summed vector (layout->nvalues exact sums; mpz so nothing
 * overflows; the slots of withheld units are 0) and the number of
 * contributing sites. */
const mpz_t *mcn_agg_coord_sums(const mcn_agg_coord *c, size_t *nvalues);
/* In DONE with release control: the decision all deciding nodes agreed on
 * (NULL with *n = 0 without control), and whether unit u was released. */
const int64_t *mcn_agg_coord_decision(const mcn_agg_coord *c, size_t *n);
int mcn_agg_coord_unit_released(const mcn_agg_coord *c, size_t u);
unsigned mcn_agg_coord_ncontributors(const mcn_agg_coord *c);
/* Per-site status and, for TIMEOUT/REFUSED/INVALID, the code and a
 * reason (code/reason may be NULL). The status names the worst thing that
 * happened with the site in either round: a paillier site that
 * contributed but then timed out, refused or sent invalid partial
 * decryptions in round 2 is reported so, while its vector is still in
 * the sum (see mcn_agg_coord_site_in_sum). */
mcn_agg_site_status mcn_agg_coord_site(const mcn_agg_coord *c, size_t i,
    mcn_err *code, const char **reason);
/* 1 if site i's vector is part of the sums (in DONE), else 0. */
int mcn_agg_coord_site_in_sum(const mcn_agg_coord *c, size_t i);
/* In FAILED: why (names the sites concerned). */
mcn_err mcn_agg_coord_error(const mcn_agg_coord *c, const char **message);
const uint8_t *mcn_agg_coord_query_id(const mcn_agg_coord *c);
/* bytes sent/received and rounds, for reports. */
void mcn_agg_coord_stats(const mcn_agg_coord *c, uint64_t *bytes_out,
    uint64_t *bytes_in, unsigned *rounds);

#endif
