/*
 * node/net.h - the transport: NNG req/rep over mutually authenticated TLS.
 *
 * A node runs one server (an nng rep0 socket listening on tls+tcp://); a
 * querier, or a node coordinating a query, holds one client (an nng req0
 * socket dialing one node) per peer and sends one request to each of them
 * concurrently with mcn_net_exchange(). Messages are opaque byte strings
 * here: framing, signatures and replay checks belong to the layers above.
 *
 * Authentication. Both sides present a certificate and require the peer's
 * certificate to chain to the consortium CA (NNG_TLS_AUTH_MODE_REQUIRED);
 * a peer with a certificate from another CA never gets a request through.
 * The TLS layer does NOT check which party the peer is: clients set no
 * server name, because NNG 1.5.2 (mbedTLS engine) can neither match IP
 * subjectAltNames nor expose the peer certificate. Identity (party id and
 * role) is bound at the application layer from signed envelopes.
 *
 * Sizes. max_message bounds the body of a received message. NNG drops a
 * wire message above its receive limit before we see it (it closes the
 * connection), and this layer discards bodies above max_message, so an
 * oversized request is never delivered and its sender times out or sees
 * the connection reset. A client also refuses to send a request above its
 * own max_message, so parties configured with one consortium-wide limit
 * never put an oversized message on the wire.
 *
 * Closing: NNG 1.5.2 defects. Seen while testing this module; upstream
 * reports such as nng issue #1543 describe the same stuck reaper thread,
 * fixed in later NNG releases. (1) nng_close can hang for good while a
 * connection of the socket is in the middle of writing a message, e.g.
 * when closing a client whose large request to a stuck node timed out.
 * (2) A connection reset while writing, after an earlier request on it
 * timed out, can block NNG's reaper thread for good. Either way the
 * process's reaper stays blocked: later closes hang, and dropped
 * connections are no longer re-dialed, while new sockets still connect.
 * The close functions here therefore wait at most MCN_NET_CLOSE_TIMEOUT_MS
 * and then abandon the socket (a detached thread stays in nng_close).
 * Callers should open clients per query rather than for the life of the
 * process, give every party the same max_message, and never connect a
 * node to itself over the network.
 *
 * Threads. NNG runs its own threads; SIGPIPE is not raised (NNG sends with
 * MSG_NOSIGNAL). Each server and each client is used by one thread at a time
 * except for the functions marked thread-safe. All waits are bounded by the
 * timeouts given. Buffers returned here are owned by the caller and are
 * released with mcn_net_free(), which wipes them.
 */
#ifndef MCN_NODE_NET_H
#define MCN_NODE_NET_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/err.h"

/* Largest max_message accepted by the open functions (1 GiB). */
#define MCN_NET_MAX_MESSAGE ((size_t)1 << 30)
/* How long mcn_net_server_reply waits for the reply to be queued. */
#define MCN_NET_REPLY_TIMEOUT_MS 10000
/* Longest wait in a close or shutdown (see mcn_net_server_shutdown). */
#define MCN_NET_CLOSE_TIMEOUT_MS 3000
/* Client reconnect back-off after a failed dial or a dropped connection. */
#define MCN_NET_RECONNECT_MIN_MS 50
#define MCN_NET_RECONNECT_MAX_MS 500

/* PEM files of the party's TLS identity: the consortium CA certificate(s)
 * (may also hold CRLs, which are then enforced), the party certificate and
 * its unencrypted private key. Read when a server or client is opened. */
typedef struct mcn_net_tls {
	const char *ca_path;
	const char *cert_path;
	const char *key_path;
} mcn_net_tls;

/* Traffic counters: message bodies only (no TLS or NNG framing). */
typedef struct mcn_net_stats {
	uint64_t msgs_sent;
	uint64_t msgs_recv;
	uint64_t bytes_sent;
	uint64_t bytes_recv;
} mcn_net_stats;

typedef struct mcn_net_server mcn_net_server; /* opaque */
typedef struct mcn_net_client mcn_net_client; /* opaque */

/*
 * Opens a rep0 server listening on url. With tls, url must be
 * "tls+tcp://host:port": the listener presents tls->cert_path/key_path and
 * requires every client to present a certificate issued by tls->ca_path.
 * tls == NULL is allowed only with "tcp://host:port" (plain, unauthenticated;
 * for tests of the layers above). Port 0 binds an ephemeral port (see
 * mcn_net_server_port). max_message (1..MCN_NET_MAX_MESSAGE) bounds request
 * bodies. Returns MCN_EINVAL (bad url, scheme/tls mismatch, bad max_message),
 * MCN_ESYS|errno or MCN_ERANGE (a PEM file cannot be read), MCN_ECERT (CA or
 * certificate not parseable), MCN_EKEY (key not parseable or not the
 * certificate's key), MCN_ENNG|NNG_EADDRINUSE (port taken), other
 * MCN_ENNG|code, MCN_ENOMEM; err names the file or url. No secret reaches err.
 */
mcn_err mcn_net_server_open(mcn_net_server **out, const char *url,
    const mcn_net_tls *tls, size_t max_message, char *err,
    size_t errlen) MCN_WUR;

/* The TCP port the server listens on (useful after binding port 0). */
mcn_err mcn_net_server_port(const mcn_net_server *s, int *port) MCN_WUR;

/*
 * Waits up to timeout_ms (>= 0) for the next request. On MCN_OK *msg is a
 * new buffer of *len bytes (free with mcn_net_free(*msg, *len); non-NULL
 * even when *len is 0) and the request is the one the next
 * mcn_net_server_reply answers; receiving again abandons an unanswered
 * request (its client times out). Returns MCN_ETIMEDOUT when nothing came,
 * so that a server loop can check for shutdown, MCN_ECLOSED after
 * mcn_net_server_shutdown, MCN_ENOMEM, or MCN_ENNG|code. Requests with a body
 * above max_message are discarded silently. On error *msg = NULL, *len = 0.
 */
mcn_err mcn_net_server_recv(mcn_net_server *s, uint8_t **msg, size_t *len,
    int timeout_ms) MCN_WUR;

/*
 * Sends msg (len bytes, copied) as the reply to the request last returned by
 * mcn_net_server_recv. Returns MCN_ESTATE if there is no request to answer
 * (none received, or already answered), MCN_ETIMEDOUT if the reply could
 * not be queued within MCN_NET_REPLY_TIMEOUT_MS, MCN_ECLOSED, MCN_ENOMEM or
 * MCN_ENNG|code. A reply to a client that has gone away is dropped silently
 * (MCN_OK): req/rep has no delivery receipt.
 */
mcn_err mcn_net_server_reply(mcn_net_server *s, const uint8_t *msg,
    size_t len) MCN_WUR;

/* Counters since open. Thread-safe. */
void mcn_net_server_stats(const mcn_net_server *s, mcn_net_stats *out);

/*
 * Closes the socket without freeing s, so that a mcn_net_server_recv blocked
 * in another thread returns MCN_ECLOSED promptly. Thread-safe and
 * idempotent; NULL is a no-op. Bounded by MCN_NET_CLOSE_TIMEOUT_MS.
 */
void mcn_net_server_shutdown(mcn_net_server *s);

/* Shuts down (if not done yet) and frees s. NULL is a no-op. Must not run
 * while another thread is inside a function on s. Bounded by
 * MCN_NET_CLOSE_TIMEOUT_MS (see "Closing" above). */
void mcn_net_server_close(mcn_net_server *s);

/*
 * Opens a req0 client for one node at url ("tls+tcp://host:port" with tls,
 * "tcp://host:port" only with tls == NULL). The dial is non-blocking: this
 * returns at once even if the node is down, and NNG keeps reconnecting in
 * the background (MCN_NET_RECONNECT_MIN_MS..MAX_MS). With tls the client
 * presents its certificate (mutual TLS) and requires the server's to be
 * issued by tls->ca_path; no server-name check (see the top of this file).
 * Requests are never resent by NNG (resend time infinite): a resent request
 * would be refused as a replay by the node. max_message bounds request
 * and reply bodies. Errors as for mcn_net_server_open (no EADDRINUSE).
 */
mcn_err mcn_net_client_open(mcn_net_client **out, const char *url,
    const mcn_net_tls *tls, size_t max_message, char *err,
    size_t errlen) MCN_WUR;

/* Counters since open. Thread-safe. */
void mcn_net_client_stats(const mcn_net_client *c, mcn_net_stats *out);

/* Closes the socket and frees c; an exchange must not be running on it.
 * NULL is a no-op. Bounded by MCN_NET_CLOSE_TIMEOUT_MS (see "Closing"). */
void mcn_net_client_close(mcn_net_client *c);

/*
 * Sends req[i] (reqlen[i] bytes, copied) to clients[i] for every i < n with
 * req[i] != NULL, all concurrently, and waits until every reply arrived or
 * timeout_ms (>= 0, total for the whole exchange, not per node) elapsed.
 * For each i: status[i] is MCN_OK with resp[i]/resplen[i] the reply (free
 * with mcn_net_free), or MCN_ETIMEDOUT (node down, TLS refused, request or
 * reply dropped, or too slow), MCN_ECLOSED (client NULL), MCN_ETOOBIG
 * (request above the client's max_message: not sent; or reply body above
 * it by less than NNG's header slack), MCN_ENNG|code (e.g. NNG_ECONNRESET:
 * connection lost after sending, as when the peer or NNG dropped an
 * oversized message) with resp[i] = NULL, resplen[i] = 0. A skipped slot
 * (req[i] == NULL) gets MCN_OK with resp[i] = NULL. Returns MCN_OK unless
 * a local failure (MCN_ENOMEM) spoiled the exchange; then every status[i]
 * is that error and no resp[i] is allocated, though requests may have been
 * delivered.
 * The same client must not appear twice, nor be in two exchanges at once.
 * Thread-safe for disjoint sets of clients.
 */
mcn_err mcn_net_exchange(mcn_net_client *const *clients, size_t n,
    uint8_t *const *req, const size_t *reqlen, uint8_t **resp, size_t *resplen,
    mcn_err *status, int timeout_ms) MCN_WUR;

/* Wipes and frees a buffer returned by this module. NULL is a no-op. */
void mcn_net_free(uint8_t *msg, size_t len);

#endif
