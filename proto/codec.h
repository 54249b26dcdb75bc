/*
 * proto/codec.h - sealing and opening signed mcn messages (proto/mcn.proto).
 *
 * This is the only code that calls protobuf-c. A message is a header
 * (version, query id, round, type, sender, role, nonce, timestamp) and one
 * body per type, carried as plain C structs (mcn_message); on the wire it is an
 * Envelope whose signed_data holds the serialized header + body together
 * with the sender's certificate, and whose signature covers
 * "mcn/envelope/v1\n" || signed_data (the received bytes, never a
 * re-serialization; the prefix keeps these signatures apart from anything
 * else the same key signs).
 *
 * mcn_msg_open checks, in this order, each with its own code:
 *   len > max_len                        MCN_ETOOBIG (before any decoding)
 *   outer envelope does not decode       MCN_EPROTO
 *   signature empty or > MCN_SIG_MAX     MCN_ESIG
 *   signed part does not decode          MCN_EPROTO
 *   version != MCN_PROTO_VERSION         MCN_EVERSION
 *   header field sizes/values            MCN_EPROTO
 *   sender or role not the expected one  MCN_ECERT
 *   verifier callback                    MCN_ECERT / MCN_ESIG / MCN_ENOMEM
 *   |timestamp - now| > max_skew         MCN_ESTALE
 *   (sender, nonce) already seen         MCN_EREPLAY
 *   body does not decode or is invalid   MCN_EPROTO, and for ciphertexts and
 *                                        partials the crypto import codes
 *                                        (MCN_EFORMAT, MCN_EKEYMISMATCH,
 *                                        MCN_ECIPHERTEXT, MCN_EPARTY)
 * Nothing is trusted before the signature verifies except what is needed to
 * verify it; the body is decoded only after. Arbitrary input bytes never
 * crash it (fuzzed in tests/proto/test_codec.c).
 *
 * Nothing secret travels in clear in these messages (ciphertexts, masked
 * values, partial decryptions are public), so protobuf-c's default
 * allocator is used; the codec's own arrays come from mcn_alloc.
 * Thread-safety: functions are reentrant; an mcn_replay must not be used
 * by two threads at once.
 */
#ifndef MCN_PROTO_CODEC_H
#define MCN_PROTO_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <gmp.h>

#include "crypto/err.h"
#include "crypto/rng.h"
#include "crypto/threshold.h"
#include "proto/sign.h"

#define MCN_PROTO_VERSION 2
#define MCN_MSG_QUERY_ID_BYTES 16
#define MCN_MSG_NONCE_BYTES 16
#define MCN_MSG_FP_BYTES 32           /* dictionary/key fingerprints, digests */
#define MCN_MSG_TEXT_MAX 16384        /* query text bytes */
#define MCN_MSG_REASON_MAX 256        /* error reason bytes */
#define MCN_MSG_MAX_PARTIES 128       /* participants, contributions */
#define MCN_MSG_MAX_VALUES (1u << 20) /* slots, ciphertexts, partials */

/* Message types (wire values). */
typedef enum {
	MCN_MSG_QUERY = 1,
	MCN_MSG_CONTRIBUTION = 2,
	MCN_MSG_DECRYPT = 3,
	MCN_MSG_PARTIALS = 4,
	MCN_MSG_ERROR = 5,
	MCN_MSG_RELEASE = 6,
} mcn_msg_type;

#define MCN_MSG_BOX_MIN 28 /* crypto/box.h MCN_BOX_OVERHEAD */
#define MCN_MSG_MAX_DECISION (4u << 20) /* entries of a release decision */

/* Aggregation modes (wire values; equal to protocols/agg.h mcn_agg_mode). */
#define MCN_MSG_MODE_PAILLIER 1
#define MCN_MSG_MODE_MASKED 2
#define MCN_MSG_MODE_PLAIN 3

typedef struct mcn_msg_hdr {
	uint32_t version; /* seal: 0 means MCN_PROTO_VERSION */
	uint8_t query_id[MCN_MSG_QUERY_ID_BYTES];
	uint32_t round;
	mcn_msg_type type;
	char sender[MCN_PARTY_ID_MAX + 1];  /* seal: taken from the signer */
	mcn_role role;                      /* seal: taken from the signer */
	uint8_t nonce[MCN_MSG_NONCE_BYTES]; /* seal: drawn from rng if given */
	uint64_t timestamp_ms;
	/* open: the sender certificate's policy role (mcn_verifier
	 * policy_role), "" if the verifier has no such hook or the
	 * certificate none */
	char policy_role[MCN_PARTY_ID_MAX + 1];
} mcn_msg_hdr;

/* A byte string. In opened messages, data is mcn_alloc'd. */
typedef struct mcn_blob {
	uint8_t *data;
	size_t len;
} mcn_blob;

typedef char mcn_party_id[MCN_PARTY_ID_MAX + 1];

typedef struct mcn_msg_query {
	char *text;    /* NUL-terminated, no NUL inside, 1..TEXT_MAX */
	uint32_t mode; /* MCN_MSG_MODE_* */
	uint8_t dict_fp[MCN_MSG_FP_BYTES];
	mcn_party_id *participants; /* valid ids, 1..MCN_MSG_MAX_PARTIES */
	size_t nparticipants;
	int has_key_fp;
	uint8_t key_fp[MCN_MSG_FP_BYTES];
} mcn_msg_query;

/* A box from one node to another (crypto/box.h), relayed by the querier.
 * On open: ids valid, data >= MCN_MSG_BOX_MIN bytes (mcn_alloc'd). */
typedef struct mcn_msg_box {
	mcn_party_id sender, recipient;
	mcn_blob data;
} mcn_msg_box;

typedef struct mcn_msg_contribution {
	uint32_t mode;
	uint64_t nvalues; /* <= MCN_MSG_MAX_VALUES; 0 only with ncontrol */
	uint8_t layout_digest[MCN_MSG_FP_BYTES];
	/* By mode, exactly one is used (open guarantees the others are empty;
	 * masked and plain have nvalues entries, paillier >= 1 ciphertexts). */
	mpz_t *cts; /* validated ciphertexts under opts->tpub */
	size_t ncts;
	uint64_t *masked;
	size_t nmasked;
	int64_t *plain;
	size_t nplain;
	/* Release control: ncontrol slots (<= MCN_MSG_MAX_VALUES). paillier:
	 * cts begin with the control ciphertexts; plain: nplain = nvalues +
	 * ncontrol (control after the values); masked: nmasked is nvalues or,
	 * with control, 0, and boxes (<= MCN_MSG_MAX_PARTIES) carry the
	 * masked control to the other nodes. */
	uint64_t ncontrol;
	mcn_msg_box *boxes;
	size_t nboxes;
} mcn_msg_contribution;

/* Either contributions and products (both >= 1; paillier round 2, with
 * decrypters when the query has release control), or neither, and then
 * boxes only (paillier round 3, masked round 2 with release control). */
typedef struct mcn_msg_decrypt {
	mcn_blob *contributions; /* signed CONTRIBUTION envelopes, verbatim */
	size_t ncontributions;   /* 0..MCN_MSG_MAX_PARTIES */
	mpz_t *products;         /* validated ciphertexts */
	size_t nproducts;
	mcn_party_id *decrypters; /* 0..MCN_MSG_MAX_PARTIES valid ids */
	size_t ndecrypters;
	mcn_msg_box *boxes;       /* 0..MCN_MSG_MAX_PARTIES */
	size_t nboxes;
} mcn_msg_decrypt;

/* parts and/or boxes, at least one of them nonempty. */
typedef struct mcn_msg_partials {
	mcn_tpaillier_partial *parts; /* imported (not yet proof-verified) */
	size_t nparts;
	mcn_msg_box *boxes; /* <= MCN_MSG_MAX_PARTIES */
	size_t nboxes;
} mcn_msg_partials;

/* The release of a query with release control: the decision (opaque to
 * the codec, <= MCN_MSG_MAX_DECISION entries), the value units released
 * (strictly increasing, <= MCN_MSG_MAX_VALUES), and paillier partials or
 * masked values (<= MCN_MSG_MAX_VALUES each; any may be empty). */
typedef struct mcn_msg_release {
	int64_t *decision;
	size_t ndecision;
	uint32_t *released;
	size_t nreleased;
	mcn_tpaillier_partial *parts;
	size_t nparts;
	uint64_t *masked;
	size_t nmasked;
} mcn_msg_release;

typedef struct mcn_msg_error {
	mcn_err code;                        /* nonzero */
	char reason[MCN_MSG_REASON_MAX + 1]; /* printable ASCII on open */
} mcn_msg_error;

typedef struct mcn_message {
	mcn_msg_hdr h;
	union {
		mcn_msg_query query;
		mcn_msg_contribution contribution;
		mcn_msg_decrypt decrypt;
		mcn_msg_partials partials;
		mcn_msg_error error;
		mcn_msg_release release;
	} u;
} mcn_message;

/* Frees what mcn_msg_open allocated in m's body and zeroes m. Safe on a
 * zeroed or partially opened message. Not for messages built by the caller
 * for mcn_msg_seal (their arrays are the caller's). */
void mcn_msg_clear(mcn_message *m);

/* Serializes and signs m: version (0 -> MCN_PROTO_VERSION), sender, role and
 * certificate from signer, nonce drawn from rng (rng NULL: m->h.nonce is
 * used as given, for tests), the rest from m (the body of m->h.type; its
 * arrays are read only). Ciphertexts and partials are exported under tpub
 * (required for CONTRIBUTION with ciphertexts, DECRYPT and PARTIALS). On
 * success *out is mcn_alloc'd (free with mcn_free(*out, *outlen)).
 * MCN_EINVAL for a body that open would refuse (bad sizes, counts, ids,
 * text), MCN_ECRYPTO (signer), MCN_ERANDOM, MCN_ENOMEM. */
mcn_err mcn_msg_seal(uint8_t **out, size_t *outlen, const mcn_message *m,
    const mcn_signer *signer, const mcn_tpaillier_pub *tpub,
    mcn_rng *rng) MCN_WUR;

typedef struct mcn_replay mcn_replay;

typedef struct mcn_open_opts {
	size_t max_len;               /* refuse larger buffers unread */
	const mcn_verifier *verifier; /* required */
	mcn_role role;      /* expected sender role, or MCN_ROLE_ANY */
	const char *sender; /* expected sender id, or NULL: any */
	const mcn_tpaillier_pub *tpub; /* key for ciphertexts/partials; NULL:
	                                  bodies carrying them are MCN_EPROTO */
	mcn_replay *replay;            /* NULL: no replay check */
	uint64_t now_ms;
	uint64_t max_skew_ms; /* UINT64_MAX: no timestamp check */
} mcn_open_opts;

/* Opens a received buffer into m (see the check order above). On success
 * m holds the verified header and the decoded body; free with
 * mcn_msg_clear. On failure the body is empty, but m->h holds whatever of
 * the header could be decoded (zeroes otherwise; UNTRUSTED unless the
 * error came after the signature check), so a reply can echo the query id.
 * err (may be NULL) gets a data-free message naming the failed check.
 * If opts->replay is given, the (sender, nonce) pair is recorded once the
 * signature and timestamp are good, kept until timestamp + max_skew. */
mcn_err mcn_msg_open(mcn_message *m, const uint8_t *buf, size_t len,
    const mcn_open_opts *opts, char *err, size_t errlen) MCN_WUR;

/* MCN_OK if |ts - now| <= max_skew, else MCN_ESTALE. */
mcn_err mcn_msg_check_time(uint64_t ts_ms, uint64_t now_ms,
    uint64_t max_skew_ms) MCN_WUR;

/* 1 if id is a valid party id: 1..32 of [A-Za-z0-9_.-], not starting with
 * '.' or '-' (the rule of node/util.h mcn_id_valid). */
int mcn_msg_id_valid(const char *id, size_t len);

/*
 * Replay guard: remembers (sender, 16-byte nonce) pairs, each until its own
 * expiry time. Memory is bounded by max_entries: when that many unexpired
 * pairs are held, new pairs are REFUSED (MCN_EREPLAY) rather than an old
 * one forgotten, so a flood can deny service but never re-open a replay
 * window. Expired pairs are purged when the table fills. Lookup is a hash
 * table with a random per-instance salt (open addressing).
 * Used for envelope nonces (expiry = timestamp + max_skew) and, by
 * protocols/agg.c, for query ids that must never be used twice.
 */
mcn_err mcn_replay_new(mcn_replay **out, size_t max_entries) MCN_WUR;
void mcn_replay_free(mcn_replay *r); /* NULL is a no-op */
/* Records (sender, nonce) until expires_ms (> now_ms). MCN_EREPLAY if the
 * pair is held and unexpired at now_ms, or if the table is full of
 * unexpired pairs; MCN_ENOMEM. sender: at most MCN_PARTY_ID_MAX chars. */
mcn_err mcn_replay_add(mcn_replay *r, const char *sender,
    const uint8_t nonce[MCN_MSG_NONCE_BYTES], uint64_t expires_ms,
    uint64_t now_ms) MCN_WUR;
/* 1 if the pair is held and unexpired at now_ms. */
int mcn_replay_seen(const mcn_replay *r, const char *sender,
    const uint8_t nonce[MCN_MSG_NONCE_BYTES], uint64_t now_ms);
/* Entries currently held (expired ones not yet purged included). */
size_t mcn_replay_count(const mcn_replay *r);

#endif
