/*
 * tests/node/test_net.c - the NNG tls+tcp transport on loopback.
 *
 * Servers bind port 0 and report the port they got. Each runs an echo
 * thread that answers request r with "<tag>:" || (r XOR 0x5a) so a reply
 * proves which server saw which request. Certificates are the test-only ones
 * in tests/data/net (see make-certs.sh there).
 *
 * Tests that make NNG drop a connection mid-message, or close one while it
 * writes, run in a child process of their own (--isolated) against a server
 * in another child (--echo-server), as in a deployment; NNG 1.5.2 may leave
 * its reaper blocked in such a process (net.h, "Closing").
 */
#define _GNU_SOURCE /* pipe2 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <spawn.h>

#include <nng/nng.h>

#include "node/net.h"
#include "node/util.h"
#include "test.h"

#define NETDIR MCN_TEST_DATA_DIR "/net/"
#define MAXMSG (64u * 1024)

/* Time limits (test.h, "Time limits"). An exchange that must succeed
 * returns as soon as its reply is in, so its timeout OK_MS only stops a
 * hang. A wait that must time out is checked to last its timeout and to
 * end within SLACK_MS after it: "bounded", whatever the load. */
#define OK_MS mcnt_ms(60000)
#define SLACK_MS ((uint64_t)mcnt_ms(10000))

static const mcn_net_tls tls_site1 = { NETDIR "test/ca.crt",
	NETDIR "test/site1.crt", NETDIR "test/site1.key" };
static const mcn_net_tls tls_alice = { NETDIR "test/ca.crt",
	NETDIR "test/alice.crt", NETDIR "test/alice.key" };
/* Clients that trust the right CA but hold a foreign certificate. */
static const mcn_net_tls tls_mallory = { NETDIR "test/ca.crt",
	NETDIR "other/mallory.crt", NETDIR "other/mallory.key" };
static const mcn_net_tls tls_fake_site1 = { NETDIR "test/ca.crt",
	NETDIR "other/site1.crt", NETDIR "other/site1.key" };
/* The CA with its CRL, which revokes eve. */
static const mcn_net_tls tls_site1_crl = { NETDIR "test/ca-crl.pem",
	NETDIR "test/site1.crt", NETDIR "test/site1.key" };
static const mcn_net_tls tls_alice_crl = { NETDIR "test/ca-crl.pem",
	NETDIR "test/alice.crt", NETDIR "test/alice.key" };
static const mcn_net_tls tls_eve = { NETDIR "test/ca.crt",
	NETDIR "test/eve.crt", NETDIR "test/eve.key" };

struct echo {
	mcn_net_server *s;
	pthread_t th;
	atomic_bool stop;
	atomic_uint delivered; /* requests the server saw */
	atomic_bool silent;    /* receive but never reply */
	char tag[16];
	int port;
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/* The reply the echo server sends for req. Caller frees with free(). */
static uint8_t *
echo_expect(const char *tag, const uint8_t *req, size_t len, size_t *outlen)
{
	size_t tl = strlen(tag);
	uint8_t *r = malloc(tl + 1 + len + 1);

	memcpy(r, tag, tl);
	r[tl] = ':';
	for (size_t i = 0; i < len; i++)
		r[tl + 1 + i] = req[i] ^ 0x5a;
	*outlen = tl + 1 + len;
	return (r);
}

static void *
echo_main(void *arg)
{
	struct echo *e = arg;

	while (!atomic_load(&e->stop)) {
		uint8_t *m, *r;
		size_t len, rl;
		mcn_err rv = mcn_net_server_recv(e->s, &m, &len, 50);

		if (rv == MCN_ETIMEDOUT)
			continue;
		if (rv != MCN_OK)
			break;
		atomic_fetch_add(&e->delivered, 1);
		if (!atomic_load(&e->silent)) {
			r = echo_expect(e->tag, m, len, &rl);
			if (mcn_net_server_reply(e->s, r, rl) != MCN_OK)
				fprintf(stderr, "echo: reply failed\n");
			free(r);
		}
		mcn_net_free(m, len);
	}
	return (NULL);
}

/* Starts an echo server on port (0: an ephemeral one) and its thread. */
static mcn_err
echo_start_port(struct echo *e, const mcn_net_tls *tls, size_t max,
    const char *tag, int port)
{
	char err[MCN_ERRMSG] = "", url[64];
	mcn_err rv;

	memset(e, 0, sizeof(*e));
	snprintf(e->tag, sizeof(e->tag), "%s", tag);
	snprintf(url, sizeof(url), "%s://127.0.0.1:%d",
	    tls != NULL ? "tls+tcp" : "tcp", port);
	rv = mcn_net_server_open(&e->s, url, tls, max, err, sizeof(err));
	if (rv != MCN_OK) {
		fprintf(stderr, "server open: %s\n", err);
		return (rv);
	}
	if ((rv = mcn_net_server_port(e->s, &e->port)) != MCN_OK ||
	    e->port <= 0) {
		mcn_net_server_close(e->s);
		return (rv != MCN_OK ? rv : MCN_EINVAL);
	}
	if (pthread_create(&e->th, NULL, echo_main, e) != 0) {
		mcn_net_server_close(e->s);
		return (MCN_ESYS);
	}
	return (MCN_OK);
}

static mcn_err
echo_start(struct echo *e, const mcn_net_tls *tls, size_t max, const char *tag)
{
	return (echo_start_port(e, tls, max, tag, 0));
}

static void
echo_stop(struct echo *e)
{
	atomic_store(&e->stop, true);
	pthread_join(e->th, NULL);
	mcn_net_server_close(e->s);
	e->s = NULL;
}

static mcn_err
client_to(mcn_net_client **c, int port, const mcn_net_tls *tls, size_t max)
{
	char url[64], err[MCN_ERRMSG] = "";
	mcn_err rv;

	snprintf(url, sizeof(url), "%s://127.0.0.1:%d",
	    tls != NULL ? "tls+tcp" : "tcp", port);
	rv = mcn_net_client_open(c, url, tls, max, err, sizeof(err));
	if (rv != MCN_OK)
		fprintf(stderr, "client open: %s\n", err);
	return (rv);
}

/* One request to one client; checks the reply against the echo rule. */
static void
check_one(mcn_net_client *c, const char *tag, const uint8_t *req, size_t len,
    int timeout_ms)
{
	uint8_t *resp = NULL, *want;
	size_t resplen = 0, wantlen;
	mcn_err st = MCN_EINVAL;
	uint8_t *const reqs[1] = { (uint8_t *)req };

	CHECK_OK(mcn_net_exchange(&c, 1, reqs, &len, &resp, &resplen, &st,
	    timeout_ms));
	CHECK_ERR(st, MCN_OK);
	want = echo_expect(tag, req, len, &wantlen);
	CHECK_U64_EQ(resplen, wantlen);
	CHECK(resp != NULL && resplen == wantlen &&
	    memcmp(resp, want, wantlen) == 0);
	free(want);
	mcn_net_free(resp, resplen);
}

/* One request expected to fail; returns its status and the elapsed ms. */
static mcn_err
fail_one(mcn_net_client *c, const uint8_t *req, size_t len, int timeout_ms,
    uint64_t *elapsed)
{
	uint8_t *resp = (uint8_t *)"x";
	size_t resplen = 99;
	mcn_err st = MCN_OK;
	uint8_t *const reqs[1] = { (uint8_t *)req };
	uint64_t t0 = now_ms();

	CHECK_OK(mcn_net_exchange(&c, 1, reqs, &len, &resp, &resplen, &st,
	    timeout_ms));
	*elapsed = now_ms() - t0;
	CHECK(resp == NULL);
	CHECK_U64_EQ(resplen, 0);
	return (st);
}

/* ---- echo server in a child process ---------------------------------- */

extern char **environ;

/* Child side: serve until stdin reaches EOF (the parent closed it or died).
 * "?count" is answered with the number of other requests delivered,
 * "?big<n>" with n bytes. */
static int
echo_child_main(int usetls, size_t max, const char *tag)
{
	char err[MCN_ERRMSG] = "";
	mcn_net_server *s = NULL;
	unsigned delivered = 0;
	int port = 0;

	if (mcn_net_server_open(&s,
	        usetls ? "tls+tcp://127.0.0.1:0" : "tcp://127.0.0.1:0",
	        usetls ? &tls_site1 : NULL, max, err, sizeof(err)) != MCN_OK ||
	    mcn_net_server_port(s, &port) != MCN_OK) {
		fprintf(stderr, "echo child: %s\n", err);
		mcn_net_server_close(s);
		return (1);
	}
	printf("%d\n", port);
	fflush(stdout);
	for (;;) {
		struct pollfd pfd = { .fd = 0, .events = POLLIN };
		uint8_t *m, *r;
		size_t len, rl;
		char cnt[32];
		mcn_err rv;

		if (poll(&pfd, 1, 0) > 0) {
			char c;
			if (read(0, &c, 1) <= 0)
				break;
		}
		rv = mcn_net_server_recv(s, &m, &len, 50);
		if (rv == MCN_ETIMEDOUT)
			continue;
		if (rv != MCN_OK)
			break;
		if (len == 6 && memcmp(m, "?count", 6) == 0) {
			snprintf(cnt, sizeof(cnt), "%u", delivered);
			(void)!mcn_net_server_reply(s, (uint8_t *)cnt,
			    strlen(cnt));
		} else if (len > 4 && len < 16 && memcmp(m, "?big", 4) == 0) {
			/* "?big<n>": a reply of n bytes. */
			memcpy(cnt, m + 4, len - 4);
			cnt[len - 4] = '\0';
			rl = (size_t)atol(cnt);
			r = calloc(1, rl + 1);
			(void)!mcn_net_server_reply(s, r, rl);
			free(r);
		} else {
			delivered++;
			r = echo_expect(tag, m, len, &rl);
			(void)!mcn_net_server_reply(s, r, rl);
			free(r);
		}
		mcn_net_free(m, len);
	}
	mcn_net_server_close(s);
	return (0);
}

struct child {
	pid_t pid;
	int in; /* child's stdin; closing it stops the child */
	int port;
};

static mcn_err
child_start(struct child *ch, int usetls, size_t max, const char *tag)
{
	int in[2], out[2];
	char maxs[32], tlss[4], buf[32];
	char *argv[] = { "test_net", "--echo-server", tlss, maxs, (char *)tag,
		NULL };
	posix_spawn_file_actions_t fa;
	struct pollfd pfd;
	size_t got = 0;
	int rv;

	memset(ch, 0, sizeof(*ch));
	snprintf(maxs, sizeof(maxs), "%zu", max);
	snprintf(tlss, sizeof(tlss), "%d", usetls);
	if (pipe2(in, O_CLOEXEC) != 0)
		return (MCN_ESYS);
	if (pipe2(out, O_CLOEXEC) != 0) {
		close(in[0]);
		close(in[1]);
		return (MCN_ESYS);
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	rv = posix_spawn(&ch->pid, "/proc/self/exe", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	ch->in = in[1];
	if (rv != 0) {
		close(in[1]);
		close(out[0]);
		return (MCN_ESYS);
	}
	/* The first line is the port. */
	pfd.fd = out[0];
	pfd.events = POLLIN;
	while (got < sizeof(buf) - 1 && memchr(buf, '\n', got) == NULL &&
	    poll(&pfd, 1, OK_MS) > 0) {
		ssize_t n = read(out[0], buf + got, sizeof(buf) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(out[0]);
	buf[got] = '\0';
	ch->port = atoi(buf);
	if (ch->port <= 0) {
		close(ch->in);
		kill(ch->pid, SIGKILL);
		waitpid(ch->pid, NULL, 0);
		return (MCN_EPEER);
	}
	return (MCN_OK);
}

/* Stops the child; 1 if it exited cleanly (within OK_MS). */
static int
child_stop(struct child *ch)
{
	int st = 0;
	uint64_t t0 = now_ms();

	close(ch->in);
	while (now_ms() - t0 < (uint64_t)OK_MS) {
		struct timespec ts = { 0, 10 * 1000000 };

		if (waitpid(ch->pid, &st, WNOHANG) == ch->pid)
			return (WIFEXITED(st) && WEXITSTATUS(st) == 0);
		nanosleep(&ts, NULL);
	}
	kill(ch->pid, SIGKILL);
	waitpid(ch->pid, NULL, 0);
	return (0);
}

/* Requests the child delivered so far (-1 if it did not answer). */
static long
child_count(mcn_net_client *c)
{
	uint8_t *const req[1] = { (uint8_t *)"?count" };
	size_t len = 6, rl = 0;
	uint8_t *resp = NULL;
	mcn_err st = MCN_EINVAL;
	char buf[32];
	long n = -1;

	if (mcn_net_exchange(&c, 1, req, &len, &resp, &rl, &st, OK_MS) ==
	        MCN_OK &&
	    st == MCN_OK && rl < sizeof(buf)) {
		memcpy(buf, resp, rl);
		buf[rl] = '\0';
		n = atol(buf);
	}
	mcn_net_free(resp, rl);
	return (n);
}

static void
test_roundtrip(void)
{
	struct echo e;
	mcn_net_client *c = NULL;
	mcn_net_stats cs;
	static const uint8_t hello[] = "hello";

	REQUIRE_OK(echo_start(&e, &tls_site1, MAXMSG, "site1"));
	if (client_to(&c, e.port, &tls_alice, MAXMSG) != MCN_OK) {
		CHECK(0);
		echo_stop(&e);
		return;
	}
	check_one(c, "site1", hello, 5, OK_MS);
	/* The same client again, and an empty request. */
	check_one(c, "site1", hello + 1, 3, OK_MS);
	check_one(c, "site1", hello, 0, OK_MS);
	CHECK_U64_EQ(atomic_load(&e.delivered), 3);

	mcn_net_client_stats(c, &cs);
	CHECK_U64_EQ(cs.msgs_sent, 3);
	CHECK_U64_EQ(cs.bytes_sent, 8);
	CHECK_U64_EQ(cs.msgs_recv, 3);
	CHECK_U64_EQ(cs.bytes_recv, 8 + 3 * 6); /* "site1:" per reply */
	echo_stop(&e);
	mcn_net_client_close(c);
}

static void
test_server_stats(void)
{
	struct echo e;
	mcn_net_client *c = NULL;
	mcn_net_stats ss;
	static const uint8_t abc[] = "abc";

	REQUIRE_OK(echo_start(&e, &tls_site1, MAXMSG, "s"));
	if (client_to(&c, e.port, &tls_alice, MAXMSG) == MCN_OK) {
		check_one(c, "s", abc, 3, OK_MS);
		check_one(c, "s", abc, 2, OK_MS);
	}
	atomic_store(&e.stop, true);
	pthread_join(e.th, NULL);
	mcn_net_server_stats(e.s, &ss);
	CHECK_U64_EQ(ss.msgs_recv, 2);
	CHECK_U64_EQ(ss.bytes_recv, 5);
	CHECK_U64_EQ(ss.msgs_sent, 2);
	CHECK_U64_EQ(ss.bytes_sent, 5 + 2 * 2);
	mcn_net_server_close(e.s);
	mcn_net_client_close(c);
}

/* Three servers, one exchange to all of them at once. */
static void
test_three(void)
{
	struct echo e[3];
	mcn_net_client *c[3] = { NULL, NULL, NULL };
	uint8_t r0[] = "to-a", r1[] = "to-bb", r2[2000];
	uint8_t *const req[3] = { r0, r1, r2 };
	const size_t reqlen[3] = { 4, 5, sizeof(r2) };
	uint8_t *resp[3];
	size_t resplen[3];
	mcn_err st[3];
	const char *tags[3] = { "a", "b", "c" };
	int up = 0;

	for (size_t i = 0; i < sizeof(r2); i++)
		r2[i] = (uint8_t)(i * 7);
	for (int i = 0; i < 3; i++) {
		if (echo_start(&e[i], &tls_site1, MAXMSG, tags[i]) != MCN_OK)
			break;
		up++;
		if (client_to(&c[i], e[i].port, &tls_alice, MAXMSG) != MCN_OK)
			break;
	}
	CHECK(up == 3 && c[2] != NULL);
	if (up == 3 && c[2] != NULL) {
		/* Twice: first dials, second reuses the connections. */
		for (int round = 0; round < 2; round++) {
			uint64_t t0 = now_ms();

			CHECK_OK(mcn_net_exchange(c, 3, req, reqlen, resp,
			    resplen, st, OK_MS));
			CHECK(now_ms() - t0 < (uint64_t)OK_MS);
			for (int i = 0; i < 3; i++) {
				size_t wl;
				uint8_t *w = echo_expect(tags[i], req[i],
				    reqlen[i], &wl);

				CHECK_ERR(st[i], MCN_OK);
				CHECK_U64_EQ(resplen[i], wl);
				CHECK(resp[i] != NULL && resplen[i] == wl &&
				    memcmp(resp[i], w, wl) == 0);
				free(w);
				mcn_net_free(resp[i], resplen[i]);
			}
		}
		for (int i = 0; i < 3; i++)
			CHECK_U64_EQ(atomic_load(&e[i].delivered), 2);
	}
	for (int i = 0; i < up; i++)
		echo_stop(&e[i]);
	for (int i = 0; i < 3; i++)
		mcn_net_client_close(c[i]);
}

/* A node that is down: its slot times out, the others succeed, and the
 * whole exchange takes about the timeout. Also a skipped slot and a NULL
 * client. */
static void
test_one_down(void)
{
	struct echo e[2], dead;
	mcn_net_client *c[5] = { NULL, NULL, NULL, NULL, NULL };
	uint8_t r[] = "ping";
	uint8_t *const req[5] = { r, r, r, NULL, r };
	const size_t reqlen[5] = { 4, 4, 4, 0, 4 };
	uint8_t *resp[5];
	size_t resplen[5];
	mcn_err st[5];
	int dead_port;
	const int timeout = mcnt_ms(1500);

	/* A port nobody listens on: bind one, then close it. */
	REQUIRE_OK(echo_start(&dead, &tls_site1, MAXMSG, "dead"));
	dead_port = dead.port;
	echo_stop(&dead);
	REQUIRE_OK(echo_start(&e[0], &tls_site1, MAXMSG, "a"));
	if (echo_start(&e[1], &tls_site1, MAXMSG, "b") != MCN_OK) {
		CHECK(0);
		echo_stop(&e[0]);
		return;
	}
	CHECK_OK(client_to(&c[0], e[0].port, &tls_alice, MAXMSG));
	CHECK_OK(client_to(&c[1], dead_port, &tls_alice, MAXMSG));
	CHECK_OK(client_to(&c[2], e[1].port, &tls_alice, MAXMSG));
	CHECK_OK(client_to(&c[3], e[1].port, &tls_alice, MAXMSG));
	/* c[4] stays NULL: no connection to that node. The live ones are
	 * connected first, so that the timed exchange waits only for the
	 * node that is down. */
	check_one(c[0], "a", r, 4, OK_MS);
	check_one(c[2], "b", r, 4, OK_MS);

	uint64_t t0 = now_ms();
	CHECK_OK(
	    mcn_net_exchange(c, 5, req, reqlen, resp, resplen, st, timeout));
	uint64_t el = now_ms() - t0;
	CHECK(el + 50 >= (uint64_t)timeout);
	CHECK(el < (uint64_t)timeout + SLACK_MS);
	CHECK_ERR(st[0], MCN_OK);
	CHECK_ERR(st[1], MCN_ETIMEDOUT);
	CHECK_ERR(st[2], MCN_OK);
	CHECK_ERR(st[3], MCN_OK); /* skipped */
	CHECK_ERR(st[4], MCN_ECLOSED);
	CHECK(resp[0] != NULL && resplen[0] == 6 &&
	    memcmp(resp[0], "a:", 2) == 0);
	CHECK(resp[1] == NULL && resplen[1] == 0);
	CHECK(resp[2] != NULL && resplen[2] == 6 &&
	    memcmp(resp[2], "b:", 2) == 0);
	CHECK(resp[3] == NULL && resplen[3] == 0);
	CHECK(resp[4] == NULL && resplen[4] == 0);
	for (int i = 0; i < 5; i++)
		mcn_net_free(resp[i], resplen[i]);
	CHECK_U64_EQ(atomic_load(&e[1].delivered), 2);

	/* The node comes back on its port: the client, which has kept
	 * re-dialing in the background, reaches it. (Skipped if another
	 * program took the port meanwhile.) */
	if (echo_start_port(&dead, &tls_site1, MAXMSG, "back", dead_port) ==
	    MCN_OK) {
		check_one(c[1], "back", r, 4, OK_MS);
		echo_stop(&dead);
	}
	echo_stop(&e[0]);
	echo_stop(&e[1]);
	for (int i = 0; i < 5; i++)
		mcn_net_client_close(c[i]);
}

/* Clients whose certificate comes from another CA never get through. */
static void
test_foreign_client(void)
{
	struct echo e;
	mcn_net_client *c = NULL, *ok = NULL;
	static const uint8_t r[] = "let me in";
	uint64_t el;

	REQUIRE_OK(echo_start(&e, &tls_site1, MAXMSG, "site1"));
	CHECK_OK(client_to(&c, e.port, &tls_mallory, MAXMSG));
	if (c != NULL) {
		CHECK_ERR(fail_one(c, r, 9, 1000, &el), MCN_ETIMEDOUT);
		CHECK(el < 1000 + SLACK_MS);
		mcn_net_client_close(c);
		c = NULL;
	}
	/* Same subject as the real site1, wrong issuer. */
	CHECK_OK(client_to(&c, e.port, &tls_fake_site1, MAXMSG));
	if (c != NULL) {
		CHECK_ERR(fail_one(c, r, 9, 1000, &el), MCN_ETIMEDOUT);
		CHECK(el < 1000 + SLACK_MS);
	}
	CHECK_U64_EQ(atomic_load(&e.delivered), 0);
	/* The server is still fine for a proper client. */
	CHECK_OK(client_to(&ok, e.port, &tls_alice, MAXMSG));
	if (ok != NULL)
		check_one(ok, "site1", r, 9, OK_MS);
	CHECK_U64_EQ(atomic_load(&e.delivered), 1);
	echo_stop(&e);
	mcn_net_client_close(c);
	mcn_net_client_close(ok);
}

/* A server whose certificate comes from another CA: the client refuses it
 * (the server itself would accept the client, so only the client's check
 * is at work). */
static void
test_foreign_server(void)
{
	struct echo e;
	mcn_net_client *c = NULL;
	static const uint8_t r[] = "secret-ish";
	uint64_t el;

	REQUIRE_OK(echo_start(&e, &tls_fake_site1, MAXMSG, "fake"));
	CHECK_OK(client_to(&c, e.port, &tls_alice, MAXMSG));
	if (c != NULL) {
		CHECK_ERR(fail_one(c, r, 10, 1000, &el), MCN_ETIMEDOUT);
		CHECK(el < 1000 + SLACK_MS);
	}
	CHECK_U64_EQ(atomic_load(&e.delivered), 0);
	echo_stop(&e);
	mcn_net_client_close(c);
}

/* An allocation failure inside an exchange gives MCN_ENOMEM, no reply
 * buffers and no leak, and leaves the client usable. The server is a child
 * process so that only the exchange allocates in this process. */
static void
test_enomem(void)
{
	struct child ch;
	mcn_net_client *c = NULL;
	uint8_t *const req[1] = { (uint8_t *)"abc" };
	size_t len = 3, rl;
	uint8_t *resp;
	mcn_err st, rv;
	unsigned long k, made = 0;

	if (child_start(&ch, 1, MAXMSG, "s") != MCN_OK) {
		CHECK(0);
		return;
	}
	CHECK_OK(client_to(&c, ch.port, &tls_alice, MAXMSG));
	if (c != NULL) {
		check_one(c, "s", req[0], 3, OK_MS);
		/* Allocations: 1 = exchange state, 2 = the reply copy. */
		for (k = 1; k <= 3; k++) {
			(void)mcn_alloc_fail_at(k);
			rv = mcn_net_exchange(&c, 1, req, &len, &resp, &rl, &st,
			    OK_MS);
			made = mcn_alloc_fail_at(0);
			if (k <= 2) {
				CHECK_ERR(rv, MCN_ENOMEM);
				CHECK_ERR(st, MCN_ENOMEM);
				CHECK(resp == NULL && rl == 0);
			} else {
				CHECK_OK(rv);
				CHECK_ERR(st, MCN_OK);
				CHECK(resp != NULL && rl == 5 &&
				    memcmp(resp, "s:", 2) == 0);
				mcn_net_free(resp, rl);
			}
		}
		CHECK_U64_EQ(made, 2);
		check_one(c, "s", req[0], 3, OK_MS);
		CHECK(child_count(c) == 4); /* k = 2 was delivered */
	}
	mcn_net_client_close(c);
	CHECK(child_stop(&ch));
}

/* A CRL in the CA file is enforced: the revoked eve gets nowhere, as a
 * client or as a server; alice still does. */
static void
test_revoked(void)
{
	struct echo e, ev;
	mcn_net_client *c = NULL, *ok = NULL, *toeve = NULL;
	static const uint8_t r[] = "hello";
	uint64_t el;

	REQUIRE_OK(echo_start(&e, &tls_site1_crl, MAXMSG, "site1"));
	if (echo_start(&ev, &tls_eve, MAXMSG, "eve") != MCN_OK) {
		CHECK(0);
		echo_stop(&e);
		return;
	}
	CHECK_OK(client_to(&c, e.port, &tls_eve, MAXMSG));
	if (c != NULL)
		CHECK_ERR(fail_one(c, r, 5, 1000, &el), MCN_ETIMEDOUT);
	CHECK_U64_EQ(atomic_load(&e.delivered), 0);
	CHECK_OK(client_to(&ok, e.port, &tls_alice_crl, MAXMSG));
	if (ok != NULL)
		check_one(ok, "site1", r, 5, OK_MS);
	CHECK_U64_EQ(atomic_load(&e.delivered), 1);
	/* With the CRL eve's server is refused; without it, accepted (her
	 * certificate is otherwise fine). */
	CHECK_OK(client_to(&toeve, ev.port, &tls_alice_crl, MAXMSG));
	if (toeve != NULL)
		CHECK_ERR(fail_one(toeve, r, 5, 1000, &el), MCN_ETIMEDOUT);
	CHECK_U64_EQ(atomic_load(&ev.delivered), 0);
	mcn_net_client_close(toeve);
	toeve = NULL;
	CHECK_OK(client_to(&toeve, ev.port, &tls_alice, MAXMSG));
	if (toeve != NULL)
		check_one(toeve, "eve", r, 5, OK_MS);
	CHECK_U64_EQ(atomic_load(&ev.delivered), 1);
	echo_stop(&e);
	echo_stop(&ev);
	mcn_net_client_close(c);
	mcn_net_client_close(ok);
	mcn_net_client_close(toeve);
}

/* Requests above the server's max_message are never delivered. The server
 * runs in a child process, and the request that makes NNG reset the
 * connection goes through a client of its own, so that the other client's
 * connection (used for the counts) is never reset. */
static void
test_too_big(void)
{
	struct child ch;
	mcn_net_client *c = NULL, *c2 = NULL;
	const size_t max = 1000;
	uint8_t *big = malloc(100000);
	uint64_t el;
	mcn_err st;

	memset(big, 0xab, 100000);
	if (child_start(&ch, 1, max, "s") != MCN_OK) {
		CHECK(0);
		free(big);
		return;
	}
	CHECK_OK(client_to(&c, ch.port, &tls_alice, 1u << 20));
	CHECK_OK(client_to(&c2, ch.port, &tls_alice, 1u << 20));
	if (c != NULL && c2 != NULL) {
		check_one(c, "s", big, max, OK_MS); /* exactly at the limit */
		CHECK(child_count(c) == 1);
		/* One byte over: within NNG's header slack, dropped by us;
		 * the connection stays up and the client times out. */
		CHECK_ERR(fail_one(c, big, max + 1, 800, &el), MCN_ETIMEDOUT);
		CHECK(el + 50 >= 800 && el < 800 + SLACK_MS);
		CHECK(child_count(c) == 1);
		/* Far over: NNG drops it and resets the connection. */
		st = fail_one(c2, big, 100000, 800, &el);
		CHECK(st == MCN_ETIMEDOUT ||
		    st == (mcn_err)(MCN_ENNG | NNG_ECONNRESET));
		CHECK(el < 800 + SLACK_MS);
		/* Never delivered; the server keeps serving. */
		CHECK(child_count(c) == 1);
		check_one(c, "s", big, 10, OK_MS);
		CHECK(child_count(c) == 2);
	}
	mcn_net_client_close(c);
	mcn_net_client_close(c2);
	CHECK(child_stop(&ch));
	free(big);
}

/* A client refuses to send a request above its own max_message. */
static void
test_client_limit(void)
{
	struct echo e;
	mcn_net_client *c = NULL;
	uint8_t buf[101];
	uint64_t el;

	memset(buf, 7, sizeof(buf));
	REQUIRE_OK(echo_start(&e, &tls_site1, MAXMSG, "s"));
	CHECK_OK(client_to(&c, e.port, &tls_alice, 100));
	if (c != NULL) {
		mcn_net_stats cs;

		CHECK_ERR(fail_one(c, buf, 101, OK_MS, &el), MCN_ETOOBIG);
		CHECK(el < SLACK_MS); /* at once, not after the timeout */
		mcn_net_client_stats(c, &cs);
		CHECK_U64_EQ(cs.msgs_sent, 0);
		/* 100 bytes go; the reply ("s:" + 90) fits too. */
		check_one(c, "s", buf, 98, OK_MS);
		CHECK_U64_EQ(atomic_load(&e.delivered), 1);
	}
	echo_stop(&e);
	mcn_net_client_close(c);
}

/* Replies above the client's max_message are refused. */
static void
test_reply_too_big(void)
{
	struct child ch;
	mcn_net_client *c = NULL;
	uint8_t r[3000];
	uint8_t *const req[1] = { r };
	uint8_t *resp;
	size_t len, resplen;
	mcn_err st;
	uint64_t el;

	memset(r, 'q', sizeof(r));
	if (child_start(&ch, 1, MAXMSG, "s") != MCN_OK) {
		CHECK(0);
		return;
	}
	CHECK_OK(client_to(&c, ch.port, &tls_alice, 20));
	if (c != NULL) {
		/* "s:" + 18 bytes = 20: at the limit. */
		len = 18;
		CHECK_OK(mcn_net_exchange(&c, 1, req, &len, &resp, &resplen,
		    &st, OK_MS));
		CHECK_ERR(st, MCN_OK);
		CHECK_U64_EQ(resplen, 20);
		mcn_net_free(resp, resplen);
		/* 21 bytes: within NNG's slack, refused by us. */
		CHECK_ERR(fail_one(c, r, 19, OK_MS, &el), MCN_ETOOBIG);
	}
	mcn_net_client_close(c);
	c = NULL;
	/* Far over: NNG drops the reply and resets the connection. */
	CHECK_OK(client_to(&c, ch.port, &tls_alice, 100));
	if (c != NULL) {
		st = fail_one(c, (const uint8_t *)"?big10000", 9, 800, &el);
		CHECK(st == MCN_ETIMEDOUT ||
		    st == (mcn_err)(MCN_ENNG | NNG_ECONNRESET));
		CHECK(el < 800 + SLACK_MS);
		/* Reconnects; a fitting reply still comes through. */
		len = 7;
		CHECK_OK(mcn_net_exchange(&c, 1,
		    (uint8_t *const[]){ (uint8_t *)"?big100" }, &len, &resp,
		    &resplen, &st, OK_MS));
		CHECK_ERR(st, MCN_OK);
		CHECK_U64_EQ(resplen, 100);
		mcn_net_free(resp, resplen);
	}
	mcn_net_client_close(c);
	CHECK(child_stop(&ch));
}

/* Closing a client whose large request is still being written returns
 * within MCN_NET_CLOSE_TIMEOUT_MS even where NNG 1.5.2's nng_close hangs,
 * and new sockets keep working. */
static void
test_close_bounded(void)
{
	struct child ch;
	mcn_net_client *c = NULL;
	const size_t big = 8u << 20;
	uint8_t *buf = calloc(1, big);
	uint64_t el, t0;

	if (child_start(&ch, 1, big, "s") != MCN_OK) {
		CHECK(0);
		free(buf);
		return;
	}
	CHECK_OK(client_to(&c, ch.port, &tls_alice, big));
	if (c != NULL) {
		check_one(c, "s", buf, 10, OK_MS); /* connected */
		(void)fail_one(c, buf, big, 5, &el);
		t0 = now_ms();
		mcn_net_client_close(c);
		el = now_ms() - t0;
		CHECK(el < MCN_NET_CLOSE_TIMEOUT_MS + SLACK_MS);
		c = NULL;
	}
	CHECK_OK(client_to(&c, ch.port, &tls_alice, MAXMSG));
	if (c != NULL)
		check_one(c, "s", buf, 10, OK_MS);
	mcn_net_client_close(c);
	CHECK(child_stop(&ch));
	free(buf);
}

/* A server that receives and never answers: the wait is bounded. */
static void
test_timeout(void)
{
	struct echo e;
	mcn_net_client *c = NULL;
	static const uint8_t r[] = "q";
	uint64_t el;

	REQUIRE_OK(echo_start(&e, &tls_site1, MAXMSG, "s"));
	atomic_store(&e.silent, true);
	CHECK_OK(client_to(&c, e.port, &tls_alice, MAXMSG));
	if (c != NULL) {
		CHECK_ERR(fail_one(c, r, 1, 700, &el), MCN_ETIMEDOUT);
		CHECK(el + 50 >= 700);
		CHECK(el < 700 + SLACK_MS);
		CHECK_U64_EQ(atomic_load(&e.delivered), 1);
		/* timeout 0: fails at once. */
		CHECK_ERR(fail_one(c, r, 1, 0, &el), MCN_ETIMEDOUT);
		CHECK(el < SLACK_MS);
		/* A late reply to an abandoned request is not taken for the
		 * answer to the next one. */
		atomic_store(&e.silent, false);
		check_one(c, "s", (const uint8_t *)"next", 4, OK_MS);
	}
	echo_stop(&e);
	mcn_net_client_close(c);
}

static void
test_plain_tcp(void)
{
	struct echo e;
	mcn_net_client *c = NULL;

	REQUIRE_OK(echo_start(&e, NULL, MAXMSG, "plain"));
	CHECK_OK(client_to(&c, e.port, NULL, MAXMSG));
	if (c != NULL)
		check_one(c, "plain", (const uint8_t *)"xyz", 3, OK_MS);
	echo_stop(&e);
	mcn_net_client_close(c);
}

static void *
shutdown_later(void *arg)
{
	struct timespec ts = { 0, 200 * 1000000 };

	nanosleep(&ts, NULL);
	mcn_net_server_shutdown(arg);
	return (NULL);
}

static void
test_server_api(void)
{
	mcn_net_server *s = NULL;
	char err[MCN_ERRMSG];
	uint8_t *m = (uint8_t *)"x";
	size_t len = 7;
	pthread_t th;
	uint64_t t0;

	REQUIRE_OK(mcn_net_server_open(&s, "tls+tcp://127.0.0.1:0", &tls_site1,
	    MAXMSG, err, sizeof(err)));
	CHECK_ERR(mcn_net_server_reply(s, (const uint8_t *)"r", 1), MCN_ESTATE);
	t0 = now_ms();
	CHECK_ERR(mcn_net_server_recv(s, &m, &len, 0), MCN_ETIMEDOUT);
	CHECK(m == NULL && len == 0);
	CHECK_ERR(mcn_net_server_recv(s, &m, &len, 100), MCN_ETIMEDOUT);
	CHECK(now_ms() - t0 >= 95 && now_ms() - t0 < 100 + SLACK_MS);
	/* Shutdown from another thread wakes a blocked recv. */
	CHECK(pthread_create(&th, NULL, shutdown_later, s) == 0);
	t0 = now_ms();
	CHECK_ERR(mcn_net_server_recv(s, &m, &len, OK_MS), MCN_ECLOSED);
	CHECK(now_ms() - t0 < (uint64_t)OK_MS); /* woken, not timed out */
	pthread_join(th, NULL);
	mcn_net_server_shutdown(s); /* idempotent */
	CHECK_ERR(mcn_net_server_recv(s, &m, &len, 10), MCN_ECLOSED);
	mcn_net_server_close(s);
	mcn_net_server_close(NULL);
	mcn_net_client_close(NULL);
	mcn_net_server_shutdown(NULL);
	CHECK_OK(mcn_net_exchange(NULL, 0, NULL, NULL, NULL, NULL, NULL, 0));
}

static void
test_open_errors(void)
{
	mcn_net_server *s = NULL, *s2 = NULL;
	mcn_net_client *c = NULL;
	char err[MCN_ERRMSG], url[64];
	int port = 0;
	mcn_net_tls bad;

	CHECK_ERR(mcn_net_server_open(&s, "tcp://127.0.0.1:0", &tls_site1,
	              MAXMSG, err, sizeof(err)),
	    MCN_EINVAL);
	CHECK(strstr(err, "tcp://127.0.0.1:0") != NULL);
	CHECK_ERR(mcn_net_server_open(&s, "tls+tcp://127.0.0.1:0", NULL, MAXMSG,
	              err, sizeof(err)),
	    MCN_EINVAL);
	CHECK_ERR(mcn_net_client_open(&c, "ws://127.0.0.1:1", &tls_alice,
	              MAXMSG, err, sizeof(err)),
	    MCN_EINVAL);
	CHECK_ERR(mcn_net_server_open(&s, "tls+tcp://127.0.0.1:0", &tls_site1,
	              0, err, sizeof(err)),
	    MCN_EINVAL);
	CHECK_ERR(mcn_net_client_open(&c, "tls+tcp://127.0.0.1:1", &tls_alice,
	              MCN_NET_MAX_MESSAGE + 1, err, sizeof(err)),
	    MCN_EINVAL);
	CHECK_ERR(mcn_net_client_open(&c, "tls+tcp://127.0.0.1:notaport",
	              &tls_alice, MAXMSG, err, sizeof(err)),
	    MCN_EINVAL);
	CHECK(strstr(err, "notaport") != NULL);
	CHECK_ERR(mcn_net_client_open(&c, "tls+tcp://127.0.0.1:65536",
	              &tls_alice, MAXMSG, err, sizeof(err)),
	    MCN_EINVAL);
	CHECK_ERR(mcn_net_client_open(&c, "tls+tcp://127.0.0.1", &tls_alice,
	              MAXMSG, err, sizeof(err)),
	    MCN_EINVAL);
	CHECK_ERR(mcn_net_server_open(&s, "tcp://:80", NULL, MAXMSG, err,
	              sizeof(err)),
	    MCN_EINVAL);
	CHECK_ERR(mcn_net_server_open(&s, "tls+tcp://[::1", &tls_site1, MAXMSG,
	              err, sizeof(err)),
	    MCN_EINVAL);
	CHECK(c == NULL && s == NULL);

	bad = tls_site1;
	bad.ca_path = NETDIR "test/missing.crt";
	CHECK_ERR(mcn_net_server_open(&s, "tls+tcp://127.0.0.1:0", &bad, MAXMSG,
	              err, sizeof(err)),
	    (mcn_err)(MCN_ESYS | ENOENT));
	CHECK(strstr(err, "missing.crt") != NULL);
	bad = tls_site1;
	bad.ca_path = NETDIR "test/ca.key"; /* a key, not a certificate */
	CHECK_ERR(mcn_net_server_open(&s, "tls+tcp://127.0.0.1:0", &bad, MAXMSG,
	              err, sizeof(err)),
	    MCN_ECERT);
	CHECK(strstr(err, "test/ca.key") != NULL);
	CHECK(strstr(err, "PRIVATE") == NULL);
	bad = tls_site1;
	bad.cert_path = NETDIR "test/site1.key";
	CHECK_ERR(mcn_net_client_open(&c, "tls+tcp://127.0.0.1:1", &bad, MAXMSG,
	              err, sizeof(err)),
	    MCN_ECERT);
	bad = tls_site1;
	bad.key_path = NETDIR "test/site1.crt";
	CHECK_ERR(mcn_net_server_open(&s, "tls+tcp://127.0.0.1:0", &bad, MAXMSG,
	              err, sizeof(err)),
	    MCN_EKEY);
	CHECK(strstr(err, "site1.crt") != NULL);
	bad = tls_site1;
	bad.key_path = NETDIR "test/alice.key"; /* valid key, wrong one */
	CHECK_ERR(mcn_net_client_open(&c, "tls+tcp://127.0.0.1:1", &bad, MAXMSG,
	              err, sizeof(err)),
	    MCN_EKEY);
	CHECK(strstr(err, "alice.key") != NULL &&
	    strstr(err, "site1.crt") != NULL);
	CHECK(c == NULL && s == NULL);

	/* A port in use. */
	REQUIRE_OK(mcn_net_server_open(&s, "tls+tcp://127.0.0.1:0", &tls_site1,
	    MAXMSG, err, sizeof(err)));
	CHECK_OK(mcn_net_server_port(s, &port));
	snprintf(url, sizeof(url), "tls+tcp://127.0.0.1:%d", port);
	CHECK_ERR(
	    mcn_net_server_open(&s2, url, &tls_site1, MAXMSG, err, sizeof(err)),
	    (mcn_err)(MCN_ENNG | NNG_EADDRINUSE));
	CHECK(s2 == NULL);
	CHECK(strstr(err, url) != NULL);
	mcn_net_server_close(s);
}

/*
 * Cases that make NNG reset a connection mid-message, or close one while it
 * writes, run in a child process of their own (this binary with
 * --isolated <name>): NNG 1.5.2 may leave its reaper blocked in that
 * process (net.h, "Closing"), which must not slow down or hang the others.
 */
static const struct mcnt_case isolated[] = {
	{ "too_big", test_too_big },
	{ "reply_too_big", test_reply_too_big },
	{ "close_bounded", test_close_bounded },
};

static void
run_isolated(const char *name)
{
	char *argv[] = { "test_net", "--isolated", (char *)name, NULL };
	uint64_t t0 = now_ms();
	pid_t pid;
	int st = 0, done = 0;

	if (posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, environ) !=
	    0) {
		CHECK(0);
		return;
	}
	while (now_ms() - t0 < (uint64_t)mcnt_ms(300000)) {
		struct timespec ts = { 0, 20 * 1000000 };

		if (waitpid(pid, &st, WNOHANG) == pid) {
			done = 1;
			break;
		}
		nanosleep(&ts, NULL);
	}
	if (!done) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	CHECK(done);
	CHECK(done && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void
test_too_big_isolated(void)
{
	run_isolated("too_big");
}

static void
test_reply_too_big_isolated(void)
{
	run_isolated("reply_too_big");
}

static void
test_close_bounded_isolated(void)
{
	run_isolated("close_bounded");
}

static const struct mcnt_case cases[] = {
	{ "roundtrip", test_roundtrip },
	{ "server_stats", test_server_stats },
	{ "three", test_three },
	{ "one_down", test_one_down },
	{ "foreign_client", test_foreign_client },
	{ "foreign_server", test_foreign_server },
	{ "revoked", test_revoked },
	{ "enomem", test_enomem },
	{ "too_big", test_too_big_isolated },
	{ "client_limit", test_client_limit },
	{ "reply_too_big", test_reply_too_big_isolated },
	{ "timeout", test_timeout },
	{ "plain_tcp", test_plain_tcp },
	{ "server_api", test_server_api },
	{ "open_errors", test_open_errors },
	{ "close_bounded", test_close_bounded_isolated },
};

int
main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "--echo-server") == 0)
		return (echo_child_main(atoi(argv[2]),
		    (size_t)strtoull(argv[3], NULL, 10), argv[4]));
	if (argc == 3 && strcmp(argv[1], "--isolated") == 0)
		return (mcnt_run(isolated,
		    sizeof(isolated) / sizeof(isolated[0]), 2, argv + 1));
	return (mcnt_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv));
}
