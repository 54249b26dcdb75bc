/*
 * tests/e2e/probe.c - an adversarial querier for the end-to-end tests.
 *
 * It holds a valid querier certificate of the consortium (so it gets past
 * TLS and signature checks) and sends real nodes, over the real transport,
 * what an honest client never sends. Every check states the exact refusal
 * it expects; the exit code is the number of checks that did not get it.
 *
 *   replay      the same signed QUERY twice          -> MCN_EREPLAY
 *   tamper      one bit flipped in a signed QUERY    -> MCN_ESIG/EPROTO/ECERT
 *   single      DECRYPT of one site's ciphertext     -> MCN_EREFUSED (< min_sites)
 *   product     DECRYPT listing all contributions but
 *               asking for one site's ciphertext     -> MCN_EREFUSED (mismatch)
 *   honest      the correct DECRYPT still works      -> PARTIALS
 *   again       a second DECRYPT of the same query   -> MCN_EROUND (the query is finished)
 *   oversize    a message above max_message          -> dropped unread (no reply)
 *   alive       the node still answers afterwards    -> CONTRIBUTION
 *
 * usage: probe --config QUERIER.json [--timeout-ms N]
 * Needs at least 2 running nodes (uses the first two of the consortium).
 * N (default 10000) bounds each exchange that must get a reply; it returns
 * as soon as the reply is in, so a generous N costs nothing.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/mem.h"
#include "crypto/paillier.h"
#include "crypto/rng.h"
#include "node/config.h"
#include "node/dict.h"
#include "node/net.h"
#include "node/pki.h"
#include "node/query.h"
#include "node/util.h"
#include "proto/codec.h"
#include "protocols/agg.h"

static int failures;

static void
report(const char *name, int ok, const char *detail)
{
	printf("%s %-9s %s\n", ok ? "ok  " : "FAIL", name, detail);
	if (!ok)
		failures++;
}

typedef struct probe {
	mcn_config cfg;
	mcn_pki *pki;
	mcn_tpaillier_pub *tpub;
	mcn_net_client *cl[2];
	int timeout_ms;
	mcn_party_id deciders[2]; /* nodes 1 and 2 */
} probe;

/* One request to node i; *reply is the opened answer (type in m->h.type),
 * or the function returns the transport status (e.g. MCN_ETIMEDOUT). */
static mcn_err
probe_send(probe *p, int i, const uint8_t *req, size_t len, mcn_message *m,
    uint8_t **raw, size_t *rawlen)
{
	uint8_t *reqs[1] = { (uint8_t *)req };
	size_t lens[1] = { len };
	uint8_t *resp[1] = { NULL };
	size_t rl[1] = { 0 };
	mcn_err st[1] = { MCN_OK };
	mcn_err rv = mcn_net_exchange(&p->cl[i], 1, reqs, lens, resp, rl, st, p->timeout_ms);
	if (rv != MCN_OK)
		return (rv);
	if (st[0] != MCN_OK)
		return (st[0]);
	mcn_open_opts o = {
		.max_len = p->cfg.max_message,
		.verifier = mcn_pki_verifier(p->pki),
		.role = MCN_ROLE_NODE,
		.sender = p->cfg.consortium.nodes[i].id,
		.tpub = p->tpub,
		.now_ms = mcn_now_ms(),
		.max_skew_ms = p->cfg.max_skew_ms,
	};
	char err[256];
	memset(m, 0, sizeof(*m));
	rv = mcn_msg_open(m, resp[0], rl[0], &o, err, sizeof(err));
	if (raw != NULL && rv == MCN_OK) {
		*raw = resp[0];
		*rawlen = rl[0];
	} else {
		mcn_net_free(resp[0], rl[0]);
	}
	return (rv);
}

static void
expect_error3(probe *p, const char *name, int node, const uint8_t *req, size_t len,
    mcn_err want1, mcn_err want2, mcn_err want3)
{
	mcn_message m;
	char d[512];
	mcn_err rv = probe_send(p, node, req, len, &m, NULL, NULL);
	if (rv != MCN_OK) {
		snprintf(d, sizeof(d), "expected an ERROR reply, got transport/open status %s",
		    mcn_strerror(rv));
		report(name, 0, d);
		return;
	}
	if (m.h.type != MCN_MSG_ERROR) {
		snprintf(d, sizeof(d), "expected an ERROR reply, got message type %d", (int)m.h.type);
		report(name, 0, d);
	} else {
		int ok = m.u.error.code == want1 || m.u.error.code == want2 ||
		    m.u.error.code == want3;
		snprintf(d, sizeof(d), "node refused: %s (%s)", mcn_strerror(m.u.error.code),
		    m.u.error.reason);
		report(name, ok, d);
	}
	mcn_msg_clear(&m);
}

static void
expect_error(probe *p, const char *name, int node, const uint8_t *req, size_t len,
    mcn_err want)
{
	expect_error3(p, name, node, req, len, want, want, want);
}

/* A QUERY for both nodes through the real coordinator (so it is exactly
 * what an honest querier sends), returned as the raw sealed requests. */
static mcn_err
probe_queries(probe *p, const mcn_dict *dict, const mcn_agg_layout *L,
    mcn_agg_coord **co, mcn_agg_outbox *ob, mcn_agg_peer *peers, const char *text)
{
	mcn_agg_coord_cfg c = {
		.mode = MCN_AGG_PAILLIER,
		.query_text = text,
		.dict_fingerprint = dict->fingerprint,
		.peers = peers,
		.npeers = p->cfg.consortium.nnodes,
		.tpub = p->tpub,
		.min_sites = p->cfg.min_sites,
		.layout = L,
		.signer = mcn_pki_signer(p->pki),
		.verifier = mcn_pki_verifier(p->pki),
		.max_message = p->cfg.max_message,
		.rng = mcn_rng_system(),
	};
	mcn_err rv = mcn_agg_coord_new(co, &c);
	if (rv == MCN_OK)
		rv = mcn_agg_coord_start(*co, mcn_now_ms(), ob);
	return (rv);
}

static const uint8_t *
probe_req_for(const mcn_agg_outbox *ob, size_t to, size_t *len)
{
	for (size_t i = 0; i < ob->n; i++)
		if (ob->msgs[i].to == to) {
			*len = ob->msgs[i].len;
			return (ob->msgs[i].bytes);
		}
	return (NULL);
}

/* DECRYPT for query qid listing contributions raw[0..nraw) and asking for
 * product prod (ncts ciphertexts). */
static mcn_err
probe_decrypt(probe *p, const uint8_t *qid, mcn_blob *raw, size_t nraw, mpz_t *prod,
    size_t ncts, uint8_t **out, size_t *outlen)
{
	mcn_message m;
	memset(&m, 0, sizeof(m));
	memcpy(m.h.query_id, qid, MCN_MSG_QUERY_ID_BYTES);
	m.h.round = 2;
	m.h.type = MCN_MSG_DECRYPT;
	m.h.timestamp_ms = mcn_now_ms();
	m.u.decrypt.contributions = raw;
	m.u.decrypt.ncontributions = nraw;
	m.u.decrypt.products = prod;
	m.u.decrypt.nproducts = ncts;
	/* the deciding nodes of the release control: both contributors */
	m.u.decrypt.decrypters = p->deciders;
	m.u.decrypt.ndecrypters = 2;
	return (mcn_msg_seal(out, outlen, &m, mcn_pki_signer(p->pki), p->tpub, mcn_rng_system()));
}

int
main(int argc, char **argv)
{
	long timeout_ms = 10000;
	char *end = NULL;
	if (argc == 5 && strcmp(argv[3], "--timeout-ms") == 0)
		timeout_ms = strtol(argv[4], &end, 10);
	if ((argc != 3 && argc != 5) || strcmp(argv[1], "--config") != 0 ||
	    (argc == 5 && (end == NULL || *end != '\0' || timeout_ms < 100 ||
	                      timeout_ms > 3600000))) {
		fprintf(stderr, "usage: probe --config QUERIER.json [--timeout-ms 100..3600000]\n");
		return (2);
	}
	if (mcn_crypto_init() != MCN_OK)
		return (2);
	probe p;
	memset(&p, 0, sizeof(p));
	char err[MCN_ERRMSG];
	mcn_dict *dict = NULL;
	mcn_query *q = NULL;
	if (mcn_config_load(&p.cfg, argv[2], err, sizeof(err)) != MCN_OK ||
	    mcn_pki_load(&p.pki, p.cfg.ca, p.cfg.cert, p.cfg.key, err, sizeof(err)) != MCN_OK ||
	    mcn_tpub_load(&p.tpub, p.cfg.consortium.public_key, err, sizeof(err)) != MCN_OK ||
	    mcn_dict_load(&dict, p.cfg.dictionary, err, sizeof(err)) != MCN_OK) {
		fprintf(stderr, "probe: %s\n", err);
		return (2);
	}
	p.timeout_ms = (int)timeout_ms;
	mcn_net_tls tls = { p.cfg.ca, p.cfg.cert, p.cfg.key };
	/* The client's own limit is raised so that it will send the
	 * oversized message: the check under test is the node's. */
	for (int i = 0; i < 2; i++)
		if (mcn_net_client_open(&p.cl[i], p.cfg.consortium.nodes[i].url, &tls,
		        4 * p.cfg.max_message, err, sizeof(err)) != MCN_OK) {
			fprintf(stderr, "probe: %s\n", err);
			return (2);
		}
	size_t np = p.cfg.consortium.nnodes;
	mcn_agg_peer *peers = calloc(np, sizeof(*peers));
	for (size_t i = 0; i < np; i++) {
		memcpy(peers[i].id, p.cfg.consortium.nodes[i].id, sizeof(peers[i].id));
		if (i < 2)
			memcpy(p.deciders[i], p.cfg.consortium.nodes[i].id,
			    sizeof(p.deciders[i]));
		memcpy(peers[i].x25519, p.cfg.consortium.nodes[i].mask_public, MCN_X25519_BYTES);
	}
	const char *text = "SELECT count() FROM patients";
	mcn_query_limits lim = { p.cfg.consortium.max_rows_per_site, (unsigned)np,
		MCN_CONSORTIUM_NOISE_SHARES(&p.cfg.consortium) };
	if (mcn_query_compile(&q, text, dict, &lim, err, sizeof(err)) != MCN_OK) {
		fprintf(stderr, "probe: %s\n", err);
		return (2);
	}
	mcn_agg_coord *co = NULL;
	mcn_agg_outbox ob = { 0 };
	if (probe_queries(&p, dict, mcn_query_release_layout(q), &co, &ob, peers, text) != MCN_OK) {
		fprintf(stderr, "probe: cannot build queries\n");
		return (2);
	}
	const uint8_t *q0, *q1;
	size_t l0 = 0, l1 = 0;
	q0 = probe_req_for(&ob, 0, &l0);
	q1 = probe_req_for(&ob, 1, &l1);

	/* Round 1 at both nodes, honestly, keeping the signed contributions. */
	mcn_message m;
	mcn_blob raw[2] = { { NULL, 0 }, { NULL, 0 } };
	mpz_t cts[2][8];
	size_t ncts = 0;
	char d[512];
	for (int i = 0; i < 2; i++) {
		const uint8_t *rq = i == 0 ? q0 : q1;
		size_t rl = i == 0 ? l0 : l1;
		if (i == 1) {
			/* Tamper first: a flipped bit in the signed part of node 2's
			 * QUERY must be refused, and must not burn its nonce. */
			uint8_t *t = malloc(rl);
			memcpy(t, rq, rl);
			t[rl / 2] ^= 0x04;
			/* where the flip lands decides which check fires first:
			 * the signature, the certificate or the encoding */
			expect_error3(&p, "tamper", 1, t, rl, MCN_ESIG, MCN_EPROTO, MCN_ECERT);
			free(t);
		}
		mcn_err rv = probe_send(&p, i, rq, rl, &m, &raw[i].data, &raw[i].len);
		int ok = rv == MCN_OK && m.h.type == MCN_MSG_CONTRIBUTION &&
		    m.u.contribution.ncts > 0 && m.u.contribution.ncts <= 8;
		snprintf(d, sizeof(d), "round 1 at %s: %s", p.cfg.consortium.nodes[i].id,
		    rv != MCN_OK ? mcn_strerror(rv) :
		    (m.h.type == MCN_MSG_ERROR ? m.u.error.reason : "contribution"));
		report(i == 0 ? "query1" : "query2", ok, d);
		if (!ok) {
			if (rv == MCN_OK)
				mcn_msg_clear(&m);
			return (1 + failures);
		}
		ncts = m.u.contribution.ncts;
		for (size_t k = 0; k < ncts; k++) {
			mpz_init_set(cts[i][k], m.u.contribution.cts[k]);
		}
		mcn_msg_clear(&m);
	}
	expect_error(&p, "replay", 0, q0, l0, MCN_EREPLAY);

	const uint8_t *qid = mcn_agg_coord_query_id(co);
	uint8_t *dec = NULL;
	size_t declen = 0;
	/* A single site's ciphertext, listed alone. */
	if (probe_decrypt(&p, qid, &raw[0], 1, cts[0], ncts, &dec, &declen) == MCN_OK) {
		expect_error(&p, "single", 0, dec, declen, MCN_EREFUSED);
		mcn_free(dec, declen);
	} else
		report("single", 0, "cannot seal");
	/* Both contributions listed, one site's ciphertext asked for. */
	if (probe_decrypt(&p, qid, raw, 2, cts[1], ncts, &dec, &declen) == MCN_OK) {
		expect_error(&p, "product", 0, dec, declen, MCN_EREFUSED);
		mcn_free(dec, declen);
	} else
		report("product", 0, "cannot seal");
	/* The honest product is still decrypted: the refusals above were the
	 * checks, not a broken query. */
	mpz_t prod[8];
	const mcn_paillier_pk *pk = mcn_tpaillier_pk(p.tpub);
	for (size_t k = 0; k < ncts; k++) {
		mpz_init(prod[k]);
		mcn_paillier_ee_add(pk, prod[k], cts[0][k], cts[1][k]);
	}
	if (probe_decrypt(&p, qid, raw, 2, prod, ncts, &dec, &declen) == MCN_OK) {
		mcn_err rv = probe_send(&p, 0, dec, declen, &m, NULL, NULL);
		int ok = rv == MCN_OK && m.h.type == MCN_MSG_PARTIALS;
		snprintf(d, sizeof(d), "%s", rv != MCN_OK ? mcn_strerror(rv) :
		    (m.h.type == MCN_MSG_ERROR ? m.u.error.reason : "partial decryptions returned"));
		report("honest", ok, d);
		if (rv == MCN_OK)
			mcn_msg_clear(&m);
		mcn_free(dec, declen);
	} else
		report("honest", 0, "cannot seal");
	if (probe_decrypt(&p, qid, raw, 2, prod, ncts, &dec, &declen) == MCN_OK) {
		expect_error(&p, "again", 0, dec, declen, MCN_EROUND);
		mcn_free(dec, declen);
	} else
		report("again", 0, "cannot seal");

	/* Oversized: nng drops it before the node reads it; no reply. */
	{
		size_t big = p.cfg.max_message + 4096;
		uint8_t *b = calloc(1, big);
		int save = p.timeout_ms;
		p.timeout_ms = 1500;
		mcn_err rv = probe_send(&p, 1, b, big, &m, NULL, NULL);
		p.timeout_ms = save;
		snprintf(d, sizeof(d), "status %s", mcn_strerror(rv));
		/* Either the node never answers (timeout) or nng drops the
		 * connection (closed/reset): in no case is it read or answered. */
		snprintf(d, sizeof(d), "no reply, transport status: %s", mcn_strerror(rv));
		report("oversize", rv == MCN_ETIMEDOUT || rv == MCN_ECLOSED ||
		    (rv & MCN_ENNG) != 0, d);
		if (rv == MCN_OK)
			mcn_msg_clear(&m);
		free(b);
	}
	/* The node is still alive and serving: a fresh honest query. */
	{
		mcn_agg_coord *co2 = NULL;
		mcn_agg_outbox ob2 = { 0 };
		mcn_net_client_close(p.cl[1]);
		p.cl[1] = NULL;
		if (mcn_net_client_open(&p.cl[1], p.cfg.consortium.nodes[1].url, &tls,
		        p.cfg.max_message, err, sizeof(err)) != MCN_OK ||
		    probe_queries(&p, dict, mcn_query_release_layout(q), &co2, &ob2, peers, text) != MCN_OK) {
			report("alive", 0, "cannot build the query");
		} else {
			size_t l = 0;
			const uint8_t *r = probe_req_for(&ob2, 1, &l);
			mcn_err rv = probe_send(&p, 1, r, l, &m, NULL, NULL);
			report("alive", rv == MCN_OK && m.h.type == MCN_MSG_CONTRIBUTION,
			    rv == MCN_OK ? "contribution after the oversized message" : mcn_strerror(rv));
			if (rv == MCN_OK)
				mcn_msg_clear(&m);
		}
		mcn_agg_outbox_clear(&ob2);
		mcn_agg_coord_free(co2);
	}

	for (size_t k = 0; k < ncts; k++) {
		mpz_clear(prod[k]);
		mpz_clear(cts[0][k]);
		mpz_clear(cts[1][k]);
	}
	for (int i = 0; i < 2; i++) {
		if (raw[i].data != NULL)
			mcn_net_free(raw[i].data, raw[i].len);
		mcn_net_client_close(p.cl[i]);
	}
	mcn_agg_outbox_clear(&ob);
	mcn_agg_coord_free(co);
	free(peers);
	mcn_query_free(q);
	mcn_dict_free(dict);
	mcn_tpaillier_pub_free(p.tpub);
	mcn_pki_free(p.pki);
	mcn_config_clear(&p.cfg);
	printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
	return (failures);
}
