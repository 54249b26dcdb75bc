/*
 * node/net.c - NNG req/rep over mutually authenticated TLS (see net.h).
 *
 * Shape. A server is one rep0 socket with one listener and one nng_aio that
 * the server thread uses synchronously (start, nng_aio_wait) for both recv
 * and reply, so every wait carries a timeout. A client is one req0 socket
 * with one dialer. mcn_net_exchange drives one nng_aio per client as a small
 * state machine run from NNG's callbacks:
 *
 *     SEND --ok--> RECV --ok--> done (reply kept)
 *       \--err--> done    \--err--> done
 *
 * The send is started at once for every client; each callback starts its
 * own receive, with the time left to the common deadline as its timeout,
 * so one slow or dead node never delays the others. The caller waits on a
 * condition variable for the count of unfinished clients to reach zero (a
 * safety bound past the deadline backs up NNG's own timers), then stops
 * every aio before the shared state is freed.
 *
 * TLS (NNG 1.5.2, mbedTLS 2.28 engine). The CA, certificate and key are
 * loaded into an nng_tls_config before the listener or dialer starts, and
 * the config is attached with NNG_OPT_TLS_CONFIG; the endpoint holds its
 * own reference. NNG's nng_tls_config_cert_key_file wants certificate and
 * key in one file, so we read the two PEM files ourselves and use
 * nng_tls_config_own_cert. We first parse them with OpenSSL to give a
 * precise error (which file is bad, key not matching certificate): mbedTLS
 * would accept a mismatched pair here and fail every handshake later.
 * No server name is set on the client config (see net.h).
 *
 * Sizes. NNG_OPT_RECVMAXSZ covers the whole wire message, which besides
 * the body carries the req/rep header (a 4-byte request id per hop), so
 * NNG's limit is max_message + NET_HDR_SLACK and we check the body against
 * max_message exactly ourselves.
 *
 * Requests are resent by NNG only if NNG_OPT_REQ_RESENDTIME is finite; we
 * set it to NNG_DURATION_INFINITE, because the node refuses a repeated
 * request as a replay.
 *
 * Message buffers we own are wiped before release; copies inside NNG and
 * mbedTLS (including the parsed private key) are outside our reach.
 */
#define _POSIX_C_SOURCE 200809L

#include "node/net.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>
#include <nng/supplemental/util/platform.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "crypto/mem.h"
#include "node/util.h"

#define NET_HDR_SLACK 64       /* room for the req/rep header on the wire */
#define NET_PEM_MAX (1u << 20) /* largest PEM file we read */
#define NET_SAFETY_MS 2000     /* exchange: wait past the deadline at most */

struct mcn_net_server {
	nng_socket sock;
	nng_listener listener;
	nng_aio *aio; /* used synchronously by recv and reply */
	size_t max_message;
	atomic_bool shut;
	_Atomic uint64_t msgs_sent, msgs_recv, bytes_sent, bytes_recv;
};

struct mcn_net_client {
	nng_socket sock;
	nng_dialer dialer;
	size_t max_message;
	atomic_bool busy; /* inside an exchange (misuse check) */
	_Atomic uint64_t msgs_sent, msgs_recv, bytes_sent, bytes_recv;
};

/* NNG result -> mcn_err. */
static mcn_err
net_err(int rv)
{
	switch (rv) {
	case 0: return (MCN_OK);
	case NNG_ETIMEDOUT: return (MCN_ETIMEDOUT);
	case NNG_ECLOSED: return (MCN_ECLOSED);
	case NNG_ENOMEM: return (MCN_ENOMEM);
	case NNG_ESTATE: return (MCN_ESTATE);
	default: return ((mcn_err)(MCN_ENNG | rv));
	}
}

/* Wipes and frees an nng message (NULL is a no-op). */
static void
net_msg_free(nng_msg *m)
{
	if (m == NULL)
		return;
	mcn_wipe(nng_msg_body(m), nng_msg_len(m));
	nng_msg_free(m);
}

/* Copies body of m into a new mcn_alloc'd buffer (non-NULL even if empty). */
static mcn_err
net_msg_copy(uint8_t **out, size_t *len, nng_msg *m)
{
	size_t n = nng_msg_len(m);
	uint8_t *b = mcn_alloc(n);

	if (b == NULL)
		return (MCN_ENOMEM);
	if (n > 0)
		memcpy(b, nng_msg_body(m), n);
	*out = b;
	*len = n;
	return (MCN_OK);
}

static mcn_err
net_msg_new(nng_msg **out, const uint8_t *data, size_t len)
{
	int rv;

	if ((rv = nng_msg_alloc(out, len)) != 0)
		return (net_err(rv));
	if (len > 0)
		memcpy(nng_msg_body(*out), data, len);
	return (MCN_OK);
}

/* 1 if url ends in ":<port>" with a decimal port 0..65535 after a host. */
static int
net_port_ok(const char *url)
{
	const char *hp = strstr(url, "://") + 3;
	const char *colon = strrchr(hp, ':');
	unsigned long port = 0;

	if (colon == NULL || colon == hp || colon[1] == '\0' ||
	    strlen(colon + 1) > 5)
		return (0);
	for (const char *p = colon + 1; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return (0);
		port = port * 10 + (unsigned long)(*p - '0');
	}
	return (port <= 65535);
}

/*
 * Checks url against tls: "tls+tcp://" needs tls, "tcp://" needs tls == NULL,
 * and max_message is in range.
 */
static mcn_err
net_check_args(const char *url, const mcn_net_tls *tls, size_t max_message,
    char *err, size_t errlen)
{
	static const char tlsp[] = "tls+tcp://", tcpp[] = "tcp://";

	if (max_message == 0 || max_message > MCN_NET_MAX_MESSAGE) {
		mcn_msg(err, errlen, "max_message %zu outside 1..%zu",
		    max_message, MCN_NET_MAX_MESSAGE);
		return (MCN_EINVAL);
	}
	if (!(tls != NULL && strncmp(url, tlsp, sizeof(tlsp) - 1) == 0) &&
	    !(tls == NULL && strncmp(url, tcpp, sizeof(tcpp) - 1) == 0)) {
		mcn_msg(err, errlen, "%s: %s", url,
		    tls != NULL ? "TLS needs a tls+tcp:// url" :
		                  "without TLS only tcp:// urls are allowed");
		return (MCN_EINVAL);
	}
	/* NNG resolves a non-numeric or out-of-range port only when it
	 * dials, in the background; catch the mistake here. */
	if (!net_port_ok(url)) {
		mcn_msg(err, errlen, "%s: expected host:port, port 0..65535",
		    url);
		return (MCN_EINVAL);
	}
	return (MCN_OK);
}

static mcn_err
net_read_pem(uint8_t **buf, size_t *len, const char *path, const char *what,
    char *err, size_t errlen)
{
	mcn_err rv = mcn_file_read(path, NET_PEM_MAX, buf, len);

	if (rv == MCN_ERANGE)
		mcn_msg(err, errlen, "%s file %s: larger than %u bytes", what,
		    path, NET_PEM_MAX);
	else if (rv != MCN_OK)
		mcn_msg(err, errlen, "%s file %s: cannot read (%s)", what, path,
		    mcn_strerror(rv));
	return (rv);
}

/*
 * Parses the PEM texts with OpenSSL: the CA file must hold at least one
 * certificate, the certificate file one certificate, the key file a private
 * key matching that certificate. Only for precise error messages: mbedTLS
 * parses them again for use.
 */
static mcn_err
net_check_pem(const mcn_net_tls *tls, const uint8_t *ca, size_t calen,
    const uint8_t *cert, size_t certlen, const uint8_t *key, size_t keylen,
    char *err, size_t errlen)
{
	BIO *bio = NULL;
	X509 *x = NULL;
	EVP_PKEY *pk = NULL;
	mcn_err rv = MCN_ECERT;

	if ((bio = BIO_new_mem_buf(ca, (int)calen)) == NULL ||
	    (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		mcn_msg(err, errlen, "CA file %s: no PEM certificate",
		    tls->ca_path);
		goto out;
	}
	X509_free(x);
	BIO_free(bio);
	x = NULL;
	if ((bio = BIO_new_mem_buf(cert, (int)certlen)) == NULL ||
	    (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		mcn_msg(err, errlen, "certificate file %s: no PEM certificate",
		    tls->cert_path);
		goto out;
	}
	BIO_free(bio);
	rv = MCN_EKEY;
	/* Passphrase "" and no prompt: an encrypted key fails here. */
	if ((bio = BIO_new_mem_buf(key, (int)keylen)) == NULL ||
	    (pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"")) ==
	        NULL) {
		mcn_msg(err, errlen,
		    "key file %s: no unencrypted PEM private key",
		    tls->key_path);
		goto out;
	}
	if (X509_check_private_key(x, pk) != 1) {
		mcn_msg(err, errlen, "key file %s: not the key of %s",
		    tls->key_path, tls->cert_path);
		goto out;
	}
	rv = MCN_OK;
out:
	ERR_clear_error();
	EVP_PKEY_free(pk);
	X509_free(x);
	BIO_free(bio);
	return (rv);
}

/*
 * Builds a TLS config for mode: peer certificate required against the CA
 * file, our certificate and key presented. Caller frees with
 * nng_tls_config_free.
 */
static mcn_err
net_tls_config(nng_tls_config **out, nng_tls_mode mode, const mcn_net_tls *tls,
    char *err, size_t errlen)
{
	nng_tls_config *cfg = NULL;
	uint8_t *ca = NULL, *cert = NULL, *key = NULL;
	size_t calen = 0, certlen = 0, keylen = 0;
	const char *crl;
	mcn_err rv;
	int nrv;

	MCN_MUST(tls->ca_path != NULL && tls->cert_path != NULL &&
	    tls->key_path != NULL);
	*out = NULL;
	if ((rv = net_read_pem(&ca, &calen, tls->ca_path, "CA", err, errlen)) !=
	        MCN_OK ||
	    (rv = net_read_pem(&cert, &certlen, tls->cert_path, "certificate",
	         err, errlen)) != MCN_OK ||
	    (rv = net_read_pem(&key, &keylen, tls->key_path, "key", err,
	         errlen)) != MCN_OK)
		goto out;
	if ((rv = net_check_pem(tls, ca, calen, cert, certlen, key, keylen, err,
	         errlen)) != MCN_OK)
		goto out;

	if ((nrv = nng_tls_config_alloc(&cfg, mode)) != 0) {
		rv = net_err(nrv);
		mcn_msg(err, errlen, "TLS config: %s", nng_strerror(nrv));
		goto out;
	}
	if ((nrv = nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED)) !=
	    0) {
		rv = net_err(nrv);
		mcn_msg(err, errlen, "TLS auth mode: %s", nng_strerror(nrv));
		goto out;
	}
	/* TLS 1.2 at least; 1.3 where the engine has it (mbedTLS 2.28 does
	 * not, and clamps). */
	if ((nrv = nng_tls_config_version(cfg, NNG_TLS_1_2, NNG_TLS_1_3)) !=
	    0) {
		rv = net_err(nrv);
		mcn_msg(err, errlen, "TLS version: %s", nng_strerror(nrv));
		goto out;
	}
	/* mcn_file_read NUL-terminates, as nng wants ASCIIZ PEM. mbedTLS
	 * picks the CRL blocks out of the same text (as nng_tls_config_ca_file
	 * does). */
	crl = strstr((const char *)ca, "-----BEGIN X509 CRL-----") != NULL ?
	    (const char *)ca :
	    NULL;
	if ((nrv = nng_tls_config_ca_chain(cfg, (const char *)ca, crl)) != 0) {
		rv = MCN_ECERT;
		mcn_msg(err, errlen, "CA file %s: rejected by TLS engine (%s)",
		    tls->ca_path, nng_strerror(nrv));
		goto out;
	}
	if ((nrv = nng_tls_config_own_cert(cfg, (const char *)cert,
	         (const char *)key, NULL)) != 0) {
		rv = MCN_ECERT;
		mcn_msg(err, errlen,
		    "certificate %s / key %s: rejected by TLS engine (%s)",
		    tls->cert_path, tls->key_path, nng_strerror(nrv));
		goto out;
	}
	*out = cfg;
	cfg = NULL;
	rv = MCN_OK;
out:
	if (cfg != NULL)
		nng_tls_config_free(cfg);
	mcn_file_free(key, keylen);
	mcn_file_free(cert, certlen);
	mcn_file_free(ca, calen);
	return (rv);
}

/*
 * Closes an nng socket, waiting at most MCN_NET_CLOSE_TIMEOUT_MS.
 *
 * NNG 1.5.2 can hang in nng_close when a pipe of the socket is in the
 * middle of writing a message: its reaper thread waits forever for an aio
 * task (net.h, "Closing"). The close runs in a detached thread; if it has
 * not finished in time we give up on it and return, so the caller's
 * shutdown stays bounded. The stuck thread keeps only the socket id and
 * its own state, never caller memory.
 */
struct net_closer {
	nng_socket sock;
	nng_mtx *mtx;
	nng_cv *cv;
	bool done;
	int refs; /* the closing thread and the waiter; under mtx */
};

static void
net_closer_unref(struct net_closer *k)
{
	bool last;

	nng_mtx_lock(k->mtx);
	last = --k->refs == 0;
	nng_mtx_unlock(k->mtx);
	if (last) {
		nng_cv_free(k->cv);
		nng_mtx_free(k->mtx);
		free(k);
	}
}

static void *
net_closer_main(void *arg)
{
	struct net_closer *k = arg;

	nng_close(k->sock);
	nng_mtx_lock(k->mtx);
	k->done = true;
	nng_cv_wake(k->cv);
	nng_mtx_unlock(k->mtx);
	net_closer_unref(k);
	return (NULL);
}

static void
net_close_socket(nng_socket sock)
{
	struct net_closer *k;
	pthread_attr_t attr;
	pthread_t th;
	nng_time deadline;
	int started = 0;

	/* Plain malloc: the closing thread may outlive the caller. */
	if ((k = calloc(1, sizeof(*k))) == NULL)
		goto direct;
	k->sock = sock;
	k->refs = 2;
	if (nng_mtx_alloc(&k->mtx) != 0)
		goto direct;
	if (nng_cv_alloc(&k->cv, k->mtx) != 0)
		goto direct;
	if (pthread_attr_init(&attr) == 0) {
		if (pthread_attr_setdetachstate(&attr,
		        PTHREAD_CREATE_DETACHED) == 0 &&
		    pthread_create(&th, &attr, net_closer_main, k) == 0)
			started = 1;
		pthread_attr_destroy(&attr);
	}
	if (!started)
		goto direct;
	deadline = nng_clock() + MCN_NET_CLOSE_TIMEOUT_MS;
	nng_mtx_lock(k->mtx);
	while (!k->done && nng_cv_until(k->cv, deadline) != NNG_ETIMEDOUT)
		;
	nng_mtx_unlock(k->mtx);
	net_closer_unref(k);
	return;
direct:
	/* No thread: close in line (may block, see above). */
	if (k != NULL) {
		if (k->cv != NULL)
			nng_cv_free(k->cv);
		if (k->mtx != NULL)
			nng_mtx_free(k->mtx);
		free(k);
	}
	nng_close(sock);
}

/* ---- server ---------------------------------------------------------- */

mcn_err
mcn_net_server_open(mcn_net_server **out, const char *url,
    const mcn_net_tls *tls, size_t max_message, char *err, size_t errlen)
{
	mcn_net_server *s = NULL;
	nng_tls_config *cfg = NULL;
	mcn_err rv;
	int nrv;
	bool sock_open = false;

	MCN_MUST(out != NULL && url != NULL);
	*out = NULL;
	if ((rv = net_check_args(url, tls, max_message, err, errlen)) != MCN_OK)
		return (rv);
	if (tls != NULL &&
	    (rv = net_tls_config(&cfg, NNG_TLS_MODE_SERVER, tls, err,
	         errlen)) != MCN_OK)
		return (rv);

	rv = MCN_ENOMEM;
	if ((s = mcn_zalloc(sizeof(*s))) == NULL) {
		mcn_msg(err, errlen, "out of memory");
		goto out;
	}
	s->max_message = max_message;
	atomic_init(&s->shut, false);
	if ((nrv = nng_rep0_open(&s->sock)) != 0) {
		rv = net_err(nrv);
		mcn_msg(err, errlen, "rep socket: %s", nng_strerror(nrv));
		goto out;
	}
	sock_open = true;
	if ((nrv = nng_aio_alloc(&s->aio, NULL, NULL)) != 0 ||
	    (nrv = nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ,
	         max_message + NET_HDR_SLACK)) != 0 ||
	    (nrv = nng_listener_create(&s->listener, s->sock, url)) != 0 ||
	    (nrv = nng_listener_set_size(s->listener, NNG_OPT_RECVMAXSZ,
	         max_message + NET_HDR_SLACK)) != 0 ||
	    (cfg != NULL &&
	        (nrv = nng_listener_set_ptr(s->listener, NNG_OPT_TLS_CONFIG,
	             cfg)) != 0)) {
		rv = nrv == NNG_EADDRINVAL || nrv == NNG_EINVAL ? MCN_EINVAL :
		                                                  net_err(nrv);
		mcn_msg(err, errlen, "%s: %s", url, nng_strerror(nrv));
		goto out;
	}
	if ((nrv = nng_listener_start(s->listener, 0)) != 0) {
		rv = net_err(nrv);
		mcn_msg(err, errlen, "cannot listen on %s: %s", url,
		    nng_strerror(nrv));
		goto out;
	}
	*out = s;
	s = NULL;
	rv = MCN_OK;
out:
	if (cfg != NULL)
		nng_tls_config_free(cfg); /* the listener holds its own */
	if (s != NULL) {
		if (sock_open)
			net_close_socket(s->sock);
		if (s->aio != NULL)
			nng_aio_free(s->aio);
		mcn_free(s, sizeof(*s));
	}
	return (rv);
}

mcn_err
mcn_net_server_port(const mcn_net_server *s, int *port)
{
	int nrv;

	MCN_MUST(s != NULL && port != NULL);
	*port = 0;
	nrv = nng_listener_get_int(s->listener, NNG_OPT_TCP_BOUND_PORT, port);
	return (net_err(nrv));
}

mcn_err
mcn_net_server_recv(mcn_net_server *s, uint8_t **msg, size_t *len,
    int timeout_ms)
{
	nng_time deadline;
	nng_msg *m;
	mcn_err rv;
	int nrv;

	MCN_MUST(s != NULL && msg != NULL && len != NULL && timeout_ms >= 0);
	*msg = NULL;
	*len = 0;
	deadline = nng_clock() + (nng_time)timeout_ms;
	for (;;) {
		nng_time now = nng_clock();

		/* NNG_DURATION_ZERO polls: fails at once if nothing waits. */
		nng_aio_set_timeout(s->aio,
		    now >= deadline ? NNG_DURATION_ZERO :
		                      (nng_duration)(deadline - now));
		nng_recv_aio(s->sock, s->aio);
		nng_aio_wait(s->aio);
		if ((nrv = nng_aio_result(s->aio)) != 0)
			return (net_err(nrv));
		m = nng_aio_get_msg(s->aio);
		nng_aio_set_msg(s->aio, NULL);
		if (nng_msg_len(m) <= s->max_message)
			break;
		/* Within NNG's slack but above our limit: as if NNG had
		 * dropped it. The client times out. */
		net_msg_free(m);
	}
	rv = net_msg_copy(msg, len, m);
	if (rv == MCN_OK) {
		atomic_fetch_add(&s->msgs_recv, 1);
		atomic_fetch_add(&s->bytes_recv, (uint64_t)*len);
	}
	net_msg_free(m);
	return (rv);
}

mcn_err
mcn_net_server_reply(mcn_net_server *s, const uint8_t *msg, size_t len)
{
	nng_msg *m;
	mcn_err rv;
	int nrv;

	MCN_MUST(s != NULL && (msg != NULL || len == 0));
	if ((rv = net_msg_new(&m, msg, len)) != MCN_OK)
		return (rv);
	nng_aio_set_msg(s->aio, m);
	nng_aio_set_timeout(s->aio, MCN_NET_REPLY_TIMEOUT_MS);
	nng_send_aio(s->sock, s->aio);
	nng_aio_wait(s->aio);
	if ((nrv = nng_aio_result(s->aio)) != 0) {
		/* On failure the message is still ours. */
		net_msg_free(nng_aio_get_msg(s->aio));
		nng_aio_set_msg(s->aio, NULL);
		return (net_err(nrv));
	}
	atomic_fetch_add(&s->msgs_sent, 1);
	atomic_fetch_add(&s->bytes_sent, (uint64_t)len);
	return (MCN_OK);
}

void
mcn_net_server_stats(const mcn_net_server *s, mcn_net_stats *out)
{
	MCN_MUST(s != NULL && out != NULL);
	out->msgs_sent = atomic_load(&s->msgs_sent);
	out->msgs_recv = atomic_load(&s->msgs_recv);
	out->bytes_sent = atomic_load(&s->bytes_sent);
	out->bytes_recv = atomic_load(&s->bytes_recv);
}

void
mcn_net_server_shutdown(mcn_net_server *s)
{
	if (s == NULL || atomic_exchange(&s->shut, true))
		return;
	/* Closes the listener and all connections too, and completes a
	 * pending recv with NNG_ECLOSED. */
	net_close_socket(s->sock);
}

void
mcn_net_server_close(mcn_net_server *s)
{
	if (s == NULL)
		return;
	mcn_net_server_shutdown(s);
	nng_aio_free(s->aio); /* waits for any operation to finish */
	mcn_free(s, sizeof(*s));
}

/* ---- client ---------------------------------------------------------- */

mcn_err
mcn_net_client_open(mcn_net_client **out, const char *url,
    const mcn_net_tls *tls, size_t max_message, char *err, size_t errlen)
{
	mcn_net_client *c = NULL;
	nng_tls_config *cfg = NULL;
	mcn_err rv;
	int nrv;
	bool sock_open = false;

	MCN_MUST(out != NULL && url != NULL);
	*out = NULL;
	if ((rv = net_check_args(url, tls, max_message, err, errlen)) != MCN_OK)
		return (rv);
	if (tls != NULL &&
	    (rv = net_tls_config(&cfg, NNG_TLS_MODE_CLIENT, tls, err,
	         errlen)) != MCN_OK)
		return (rv);

	rv = MCN_ENOMEM;
	if ((c = mcn_zalloc(sizeof(*c))) == NULL) {
		mcn_msg(err, errlen, "out of memory");
		goto out;
	}
	c->max_message = max_message;
	atomic_init(&c->busy, false);
	if ((nrv = nng_req0_open(&c->sock)) != 0) {
		rv = net_err(nrv);
		mcn_msg(err, errlen, "req socket: %s", nng_strerror(nrv));
		goto out;
	}
	sock_open = true;
	if ((nrv = nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME,
	         NNG_DURATION_INFINITE)) != 0 ||
	    (nrv = nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ,
	         max_message + NET_HDR_SLACK)) != 0 ||
	    (nrv = nng_dialer_create(&c->dialer, c->sock, url)) != 0 ||
	    (nrv = nng_dialer_set_size(c->dialer, NNG_OPT_RECVMAXSZ,
	         max_message + NET_HDR_SLACK)) != 0 ||
	    (nrv = nng_dialer_set_ms(c->dialer, NNG_OPT_RECONNMINT,
	         MCN_NET_RECONNECT_MIN_MS)) != 0 ||
	    (nrv = nng_dialer_set_ms(c->dialer, NNG_OPT_RECONNMAXT,
	         MCN_NET_RECONNECT_MAX_MS)) != 0 ||
	    (cfg != NULL &&
	        (nrv = nng_dialer_set_ptr(c->dialer, NNG_OPT_TLS_CONFIG,
	             cfg)) != 0)) {
		rv = nrv == NNG_EADDRINVAL || nrv == NNG_EINVAL ? MCN_EINVAL :
		                                                  net_err(nrv);
		mcn_msg(err, errlen, "%s: %s", url, nng_strerror(nrv));
		goto out;
	}
	/* Non-blocking: a node that is down is retried in the background. */
	if ((nrv = nng_dialer_start(c->dialer, NNG_FLAG_NONBLOCK)) != 0) {
		rv = nrv == NNG_EADDRINVAL || nrv == NNG_EINVAL ? MCN_EINVAL :
		                                                  net_err(nrv);
		mcn_msg(err, errlen, "cannot dial %s: %s", url,
		    nng_strerror(nrv));
		goto out;
	}
	*out = c;
	c = NULL;
	rv = MCN_OK;
out:
	if (cfg != NULL)
		nng_tls_config_free(cfg); /* the dialer holds its own */
	if (c != NULL) {
		if (sock_open)
			net_close_socket(c->sock);
		mcn_free(c, sizeof(*c));
	}
	return (rv);
}

void
mcn_net_client_stats(const mcn_net_client *c, mcn_net_stats *out)
{
	MCN_MUST(c != NULL && out != NULL);
	out->msgs_sent = atomic_load(&c->msgs_sent);
	out->msgs_recv = atomic_load(&c->msgs_recv);
	out->bytes_sent = atomic_load(&c->bytes_sent);
	out->bytes_recv = atomic_load(&c->bytes_recv);
}

void
mcn_net_client_close(mcn_net_client *c)
{
	if (c == NULL)
		return;
	MCN_MUST(!atomic_load(&c->busy));
	net_close_socket(c->sock);
	mcn_free(c, sizeof(*c));
}

/* ---- exchange -------------------------------------------------------- */

enum net_xch_state { NET_XCH_IDLE, NET_XCH_SEND, NET_XCH_RECV, NET_XCH_DONE };

struct net_group {
	nng_mtx *mtx;
	nng_cv *cv;
	size_t pending; /* exchanges started and not DONE; under mtx */
	nng_time deadline;
};

struct net_xch {
	struct net_group *g;
	mcn_net_client *c;
	nng_aio *aio;
	nng_msg *req;   /* until handed to nng_send_aio */
	nng_msg *reply; /* set when DONE with rv == 0 */
	size_t reqlen;
	int state; /* enum net_xch_state; owned by the callback */
	int rv;    /* NNG result when DONE */
	bool sent;
};

/* The aio callback: SEND -> RECV -> DONE (see the top of the file). */
static void
net_xch_cb(void *arg)
{
	struct net_xch *x = arg;
	struct net_group *g = x->g;
	int rv = nng_aio_result(x->aio);

	if (x->state == NET_XCH_SEND) {
		if (rv != 0) {
			/* A failed send leaves the message with us. */
			net_msg_free(nng_aio_get_msg(x->aio));
			nng_aio_set_msg(x->aio, NULL);
		} else {
			nng_time now = nng_clock();

			x->sent = true;
			if (now < g->deadline) {
				x->state = NET_XCH_RECV;
				nng_aio_set_timeout(x->aio,
				    (nng_duration)(g->deadline - now));
				nng_recv_aio(x->c->sock, x->aio);
				return;
			}
			rv = NNG_ETIMEDOUT;
		}
	} else if (x->state == NET_XCH_RECV && rv == 0) {
		x->reply = nng_aio_get_msg(x->aio);
		nng_aio_set_msg(x->aio, NULL);
	}
	x->rv = rv;
	x->state = NET_XCH_DONE;
	nng_mtx_lock(g->mtx);
	if (--g->pending == 0)
		nng_cv_wake(g->cv);
	nng_mtx_unlock(g->mtx);
}

/* Status of one finished exchange; a canceled one ran out of time. */
static mcn_err
net_xch_status(const struct net_xch *x)
{
	if (x->rv == NNG_ECANCELED)
		return (MCN_ETIMEDOUT);
	return (net_err(x->rv));
}

mcn_err
mcn_net_exchange(mcn_net_client *const *clients, size_t n, uint8_t *const *req,
    const size_t *reqlen, uint8_t **resp, size_t *resplen, mcn_err *status,
    int timeout_ms)
{
	struct net_group g = { 0 };
	struct net_xch *xs = NULL;
	size_t i, j, started = 0;
	mcn_err rv = MCN_ENOMEM;
	int nrv;

	MCN_MUST(n == 0 ||
	    (clients != NULL && req != NULL && reqlen != NULL && resp != NULL &&
	        resplen != NULL && status != NULL));
	MCN_MUST(timeout_ms >= 0);
	for (i = 0; i < n; i++) {
		resp[i] = NULL;
		resplen[i] = 0;
		status[i] = MCN_OK;
		for (j = 0; j < i; j++)
			MCN_MUST(clients[i] == NULL || req[i] == NULL ||
			    req[j] == NULL || clients[i] != clients[j]);
	}
	if (n == 0)
		return (MCN_OK);
	if (n > SIZE_MAX / sizeof(*xs) ||
	    (xs = mcn_zalloc(n * sizeof(*xs))) == NULL) {
		for (i = 0; i < n; i++)
			status[i] = MCN_ENOMEM;
		return (MCN_ENOMEM);
	}
	if ((nrv = nng_mtx_alloc(&g.mtx)) != 0 ||
	    (nrv = nng_cv_alloc(&g.cv, g.mtx)) != 0) {
		rv = net_err(nrv);
		goto out;
	}

	/* Allocate everything first, so that a local failure leaves nothing
	 * in flight. */
	for (i = 0; i < n; i++) {
		struct net_xch *x = &xs[i];

		x->g = &g;
		x->c = clients[i];
		x->state = NET_XCH_IDLE;
		if (req[i] == NULL)
			continue;
		if (clients[i] == NULL) {
			status[i] = MCN_ECLOSED;
			continue;
		}
		if (reqlen[i] > clients[i]->max_message) {
			/* The peer would drop it; never put it on the wire
			 * (see net.h on oversized messages). */
			status[i] = MCN_ETOOBIG;
			continue;
		}
		if ((nrv = nng_aio_alloc(&x->aio, net_xch_cb, x)) != 0) {
			rv = net_err(nrv);
			goto out;
		}
		if ((rv = net_msg_new(&x->req, req[i], reqlen[i])) != MCN_OK)
			goto out;
		x->reqlen = reqlen[i];
	}
	for (i = 0; i < n; i++)
		if (xs[i].req != NULL) {
			MCN_MUST(!atomic_exchange(&xs[i].c->busy, true));
			started++;
		}

	g.pending = started;
	g.deadline = nng_clock() + (nng_time)timeout_ms;
	for (i = 0; i < n; i++) {
		struct net_xch *x = &xs[i];

		if (x->req == NULL)
			continue;
		x->state = NET_XCH_SEND;
		nng_aio_set_msg(x->aio, x->req);
		x->req = NULL;
		nng_aio_set_timeout(x->aio, (nng_duration)timeout_ms);
		nng_send_aio(x->c->sock, x->aio);
	}

	/* NNG's timers end every operation by the deadline; the safety bound
	 * only guards against a lost completion. */
	nng_mtx_lock(g.mtx);
	while (g.pending > 0)
		if (nng_cv_until(g.cv, g.deadline + NET_SAFETY_MS) ==
		    NNG_ETIMEDOUT)
			break;
	nng_mtx_unlock(g.mtx);
	for (i = 0; i < n; i++)
		if (xs[i].aio != NULL)
			nng_aio_stop(xs[i].aio); /* cancels, waits for cb */

	rv = MCN_OK;
	for (i = 0; i < n; i++) {
		struct net_xch *x = &xs[i];

		if (x->state == NET_XCH_IDLE)
			continue;
		atomic_store(&x->c->busy, false);
		if (x->sent) {
			atomic_fetch_add(&x->c->msgs_sent, 1);
			atomic_fetch_add(&x->c->bytes_sent,
			    (uint64_t)x->reqlen);
		}
		if (x->state != NET_XCH_DONE) {
			status[i] = MCN_ETIMEDOUT;
			continue;
		}
		if (x->rv != 0) {
			status[i] = net_xch_status(x);
			continue;
		}
		if (nng_msg_len(x->reply) > x->c->max_message) {
			status[i] = MCN_ETOOBIG;
			continue;
		}
		if (rv == MCN_OK &&
		    net_msg_copy(&resp[i], &resplen[i], x->reply) != MCN_OK)
			rv = MCN_ENOMEM; /* keep going: clear busy flags */
		if (rv == MCN_OK) {
			atomic_fetch_add(&x->c->msgs_recv, 1);
			atomic_fetch_add(&x->c->bytes_recv,
			    (uint64_t)resplen[i]);
		}
	}
out:
	for (i = 0; rv != MCN_OK && i < n; i++) {
		mcn_net_free(resp[i], resplen[i]);
		resp[i] = NULL;
		resplen[i] = 0;
		status[i] = rv;
	}
	for (i = 0; i < n; i++) {
		if (xs[i].aio != NULL)
			nng_aio_free(xs[i].aio);
		net_msg_free(xs[i].req);
		net_msg_free(xs[i].reply);
	}
	if (g.cv != NULL)
		nng_cv_free(g.cv);
	if (g.mtx != NULL)
		nng_mtx_free(g.mtx);
	mcn_free(xs, n * sizeof(*xs));
	return (rv);
}

void
mcn_net_free(uint8_t *msg, size_t len)
{
	mcn_free(msg, len);
}
