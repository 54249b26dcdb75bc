/*
 * node/audit.h - the node's append-only, hash-chained, signed audit log.
 *
 * Every query event a node sees (who asked, when, the normalized query,
 * the policy decision, the privacy budget charged, how much the node
 * contributed -- sizes, never values -- and what was released or refused)
 * becomes one record. Records are written with write(2) + fsync(2) before
 * the node acts on them, and the node fails closed: if a record cannot be
 * written, the node does not contribute.
 *
 * File format (version 1). One JSON object per line, UTF-8, each line
 * terminated by '\n', so that a data officer can read it with
 * `jq . audit.log`. Members appear in this fixed order; optional ones are
 * omitted when unset:
 *
 *   seq          integer, 1 for the first record, +1 for each next one
 *   time         "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC, writer's clock)
 *   node         the node's party id (certificate CN), same on every line
 *   event        "start", "stop", "query", "decrypt", "refused", ...
 *   prev         64 hex: "hash" of the previous record, 64 zeros for seq 1
 *   querier      party id of the querier            (optional)
 *   role         the querier's policy role          (optional)
 *   query_id     query id, hex                      (optional)
 *   mode         "paillier", "masked", "plain"      (optional)
 *   query        the normalized query text (public; contains no data)
 *   decision     "contributed", "released", "refused", "suppressed", ...
 *   reason       data-free text                     (optional)
 *   epsilon      privacy budget charged by this event  (number, optional)
 *   budget_spent the querier's budget spent after it   (number, optional)
 *   values       slots contributed                  (integer, optional)
 *   bytes        reply size in bytes                (integer, optional)
 *   elapsed_ms   integer                            (optional)
 *   cert         "start" records only: the node's X.509 certificate,
 *                DER in standard base64 (with padding)
 *   hash         64 hex, see below
 *   sig          standard base64 of the DER ECDSA signature over hash
 *
 * Strings are JSON-escaped ('"', '\\' and control characters; other
 * UTF-8 is written as is; invalid UTF-8 in a field is replaced by U+FFFD so
 * that a record is always writable). Numbers: integers in decimal, epsilon
 * and budget_spent in the shortest "%.15g"/"%.17g" form that reads back
 * exactly.
 *
 * Hash and signature. The writer forms the line prefix P, which is the
 * line from its '{' up to and including the last member before "hash"
 * (no trailing comma), and ends the line with
 *     ,"hash":"H","sig":"S"}\n
 * where H = hex(SHA-256("mcn/audit/v1\n" || P)) and S is the signature by
 * the node's certificate key (ECDSA P-256 with SHA-256, proto/sign.h
 * signer) over the 32 raw bytes of SHA-256 above. A verifier splits the
 * line at `,"hash":"` (that byte sequence cannot occur inside a JSON string,
 * where every '"' is escaped), recomputes H from the bytes before it, and
 * checks S with the certificate of the most recent "start" record (a start
 * record is checked with its own certificate). Because each record names
 * the hash of the one before, any edit, insertion, deletion or reordering
 * breaks the chain at the first affected line.
 *
 * Deleting records at the END of the log cannot be seen from the log
 * alone: the shortened file is a valid log. The head hash (the last
 * record's hash, mcn_audit_head) must therefore be anchored outside the
 * log: the node writes it to its server log at every start and stop, and
 * an operator can compare it with `mcn audit verify`'s output.
 *
 * Certificates are checked against the consortium CA as of now (the
 * proto/sign.h verifier has no "as of" time), so a log whose start
 * records carry expired certificates no longer verifies; renew before
 * expiry and keep the CA file that issued them.
 *
 * Nothing here prints. Messages (err, errlen) name the file and line and
 * never contain field values.
 */
#ifndef MCN_NODE_AUDIT_H
#define MCN_NODE_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "crypto/err.h"
#include "proto/sign.h"

#define MCN_AUDIT_LINE_MAX (256 * 1024) /* longest record line, bytes */
#define MCN_AUDIT_TAG "mcn/audit/v1\n"  /* domain tag of the record hash */

typedef struct mcn_audit mcn_audit;

/* One event to record. All pointers are borrowed for the call. */
typedef struct mcn_audit_event {
	const char *event; /* "query", "decrypt", "refused", "stop", ...
	                      (required; not "start", which only
	                      mcn_audit_open writes) */
	/* NULL: omitted */
	const char *querier, *role, *query_id_hex, *mode, *query, *decision,
	    *reason;
	int has_epsilon; /* 1: epsilon and budget_spent are written */
	double epsilon, budget_spent;
	uint64_t values, bytes, elapsed_ms; /* 0: omitted */
} mcn_audit_event;

/* Opens (creating with mode 0600, O_APPEND) the log at path for the node
 * whose signer is given (id, certificate and sign callback; borrowed, must
 * outlive the instance; role must be MCN_ROLE_NODE). The file is locked
 * (flock, exclusive) so a second process cannot write the same log:
 * MCN_ESYS|EWOULDBLOCK.
 *
 * An existing log is checked before anything is appended. The whole file
 * is read once (line count, no line over MCN_AUDIT_LINE_MAX, newline at
 * the end) but only the tail is checked cryptographically: the latest
 * "start" record and the last record must parse, their hashes must
 * recompute, their signatures must verify under the certificate of that
 * start record (its public key; the CA chain is verify's job), their seq
 * must equal their line number, and the node must be signer->id. The chain
 * continues from the last record. A log that ends in a partial line, or
 * whose tail fails, is refused with MCN_EDATA and a message naming the file
 * and line: the node must not start on a log it cannot extend (an operator
 * runs `mcn audit verify`). An empty file is a new log.
 *
 * Then appends a "start" record carrying signer->cert (fsync'd; for a new
 * file the directory is fsync'd too). Errors: MCN_EINVAL (signer not a
 * node's, bad id), MCN_ESYS|errno, MCN_EDATA, MCN_ECRYPTO, MCN_ENOMEM, or
 * the append's errors. *out is NULL on error. */
mcn_err mcn_audit_open(mcn_audit **out, const char *path,
    const mcn_signer *signer, uint64_t now_ms, char *err,
    size_t errlen) MCN_WUR;

/* Appends one record: the whole line with write(2) (short writes are
 * continued, EINTR retried), then fsync(2). On any failure (ENOSPC, EIO,
 * fsync error, ...) the error is returned and the file is truncated back
 * to its previous length (ftruncate + fsync) so that no partial line
 * remains and the next append can succeed; if that also fails, the
 * instance becomes failed and every later append returns MCN_EDATA (the
 * node then refuses every query). Errors: MCN_ESYS|errno, MCN_EDATA
 * (failed instance), MCN_ETOOBIG (line over MCN_AUDIT_LINE_MAX),
 * MCN_EINVAL (epsilon or budget not finite), MCN_ECRYPTO (signing),
 * MCN_ENOMEM. ev->event must be a non-empty string other than "start"
 * (misuse aborts). Thread-safe (an internal mutex orders records). */
mcn_err mcn_audit_append(mcn_audit *a, const mcn_audit_event *ev,
    uint64_t now_ms, char *err, size_t errlen) MCN_WUR;

/* The seq of the last record written (or found at open). */
uint64_t mcn_audit_seq(const mcn_audit *a);

/* The hash of the last record (64 hex + NUL): the anchor to record in
 * the server log or elsewhere outside the audit log. */
void mcn_audit_head(const mcn_audit *a, char hex[65]);

/* Appends a "stop" record (best effort: an error is ignored), unlocks
 * and closes. NULL is a no-op. */
void mcn_audit_close(mcn_audit *a, uint64_t now_ms);

/* Verifies a whole log against the consortium CA (v from mcn_pki_load
 * with the CA only, or any pki of the consortium): every line parses as a
 * JSON object with the members above, seq = previous + 1 (1 first),
 * prev = previous hash (zeros first), the first record is a "start", the
 * hash recomputes, the signature verifies under the certificate of the
 * most recent start record (which must verify as MCN_ROLE_NODE with CN =
 * the record's node), and the node id never changes. On the first failure:
 * MCN_EDATA, *bad_seq = its line number (1-based), and a message
 * "FILE: line L: <what is wrong>" (e.g. "hash does not match its content
 * (record edited?)", "seq 9 follows 7 (record deleted or reordered?)",
 * "bad signature", "not JSON", "partial line at end of file").
 * On success MCN_OK, *nrecords and head (64 zeros for an empty file),
 * *bad_seq = 0. MCN_ESYS|errno if the file cannot be read, MCN_ENOMEM.
 * Any output pointer may be NULL. */
mcn_err mcn_audit_verify(const char *path, const mcn_verifier *v,
    uint64_t *nrecords, uint64_t *bad_seq, char head[65], char *err,
    size_t errlen) MCN_WUR;

/* Reads records without verifying anything (for `mcn audit show`): fn
 * gets the line number and the parsed object of each record, borrowed for
 * the call (json_incref to keep it). fn returns 0 to continue, non-zero
 * to stop (mcn_audit_each then returns MCN_OK). MCN_EDATA with a message
 * naming the line for a line that is not a JSON object, too long, or
 * partial at the end; MCN_ESYS|errno; MCN_ENOMEM. */
mcn_err mcn_audit_each(const char *path,
    int (*fn)(void *ctx, uint64_t line, json_t *rec), void *ctx, char *err,
    size_t errlen) MCN_WUR;

/* ---- selecting records (mcn audit show) ------------------------------ */

/* NULL members select everything. since/until are inclusive UTC dates
 * "YYYY-MM-DD" compared with the record's time. */
typedef struct mcn_audit_filter {
	const char *querier, *decision, *event;
	const char *since, *until;
} mcn_audit_filter;

/* 1 if s is a valid date "YYYY-MM-DD" (month 1..12, day valid in that
 * month, leap years included), else 0. */
int mcn_audit_date_valid(const char *s);

/* 1 if record rec (an object from mcn_audit_each) passes f, else 0. A
 * record without the member a filter names does not pass it. */
int mcn_audit_match(const mcn_audit_filter *f, const json_t *rec);

/* ---- failure injection (tests only) ----------------------------------- */

enum {
	MCN_AUDIT_FAIL_WRITE = 1, /* next write(2) fails with errno_value */
	MCN_AUDIT_FAIL_SHORT,     /* next write(2) writes half, then the
	                             following one fails with errno_value */
	MCN_AUDIT_FAIL_FSYNC,     /* next fsync(2) of a record fails */
	MCN_AUDIT_FAIL_TRUNCATE,  /* next write fails and the ftruncate
	                             that undoes it fails too */
};

/* Arms one injected failure for the next append of any instance (process
 * wide, not thread-safe: for tests). what = 0 disarms. */
void mcn_audit_test_fail(int what, int errno_value);

#endif
