/*
 * node/cmd_serve.c - `mcn serve --config NODE.json`: run a hospital node.
 *
 * The node is a pump (STYLE 6): NNG delivers a request, the protocol
 * instance (protocols/agg.c) checks and answers it, NNG sends the answer.
 * The only things this file adds are the wiring - keys, store, query engine
 * as the plan callback - and a log line per request that names the
 * querier, the outcome and the reason, never data.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "crypto/mem.h"
#include "crypto/rng.h"
#include "node/cmd.h"
#include "node/config.h"
#include "node/dict.h"
#include "node/net.h"
#include "node/pki.h"
#include "node/query.h"
#include "node/store.h"
#include "node/util.h"
#include "protocols/agg.h"

static volatile sig_atomic_t serve_stop;

static void
serve_on_signal(int sig)
{
	(void)sig;
	serve_stop = 1;
}

typedef struct serve_ctx {
	const mcn_config *cfg;
	const mcn_dict *dict;
	mcn_store *store;
} serve_ctx;

/* The plan callback: compile the query against our dictionary and compute
 * our local vector from the store. Reasons go back to the querier, so they
 * describe the query, never the data. */
static mcn_err
serve_plan(void *ctx, const char *text, mcn_agg_mode mode, const char *querier,
    mcn_agg_layout *layout, int64_t **values, char *why, size_t whylen)
{
	serve_ctx *s = ctx;
	mcn_query *q = NULL;
	mcn_err rv;
	mcn_query_limits lim = { s->cfg->consortium.max_rows_per_site,
		(unsigned)s->cfg->consortium.nnodes };
	*values = NULL;
	memset(layout, 0, sizeof(*layout));
	if ((rv = mcn_query_compile(&q, text, s->dict, &lim, why, whylen)) != MCN_OK)
		return (rv);
	const mcn_agg_layout *L = mcn_query_layout(q);
	layout->fields = mcn_alloc(L->nfields * sizeof(*L->fields));
	int64_t *v = mcn_zalloc(L->nvalues * sizeof(*v) + 1);
	if (layout->fields == NULL || v == NULL) {
		rv = MCN_ENOMEM;
		mcn_msg(why, whylen, "out of memory");
		goto out;
	}
	memcpy(layout->fields, L->fields, L->nfields * sizeof(*L->fields));
	layout->nfields = L->nfields;
	layout->nvalues = L->nvalues;
	uint64_t t0 = mcn_mono_ms();
	if ((rv = mcn_query_local(q, mcn_store_db(s->store), v, why, whylen)) != MCN_OK)
		goto out;
	mcn_log(MCN_LOG_INFO, "query", "%s query from %s: %zu values, local scan %llu ms",
	    mcn_agg_mode_name(mode), querier, L->nvalues,
	    (unsigned long long)(mcn_mono_ms() - t0));
	*values = v;
	v = NULL;
out:
	if (v != NULL)
		mcn_free(v, L->nvalues * sizeof(*v) + 1);
	if (rv != MCN_OK)
		mcn_agg_layout_clear(layout);
	mcn_query_free(q);
	return (rv);
}

static void
serve_usage(void)
{
	fprintf(stderr,
	    "usage: mcn serve --config NODE.json [--log-level debug|info|warn|error]\n"
	    "Runs the node in the foreground until SIGINT/SIGTERM.\n");
}

int
cmd_serve_main(int argc, const char *argv[])
{
	const char *config = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config = argv[++i];
		else if (strcmp(argv[i], "--log-level") == 0 && i + 1 < argc) {
			const char *l = argv[++i];
			if (strcmp(l, "debug") == 0)
				mcn_log_set_level(MCN_LOG_DEBUG);
			else if (strcmp(l, "info") == 0)
				mcn_log_set_level(MCN_LOG_INFO);
			else if (strcmp(l, "warn") == 0)
				mcn_log_set_level(MCN_LOG_WARN);
			else if (strcmp(l, "error") == 0)
				mcn_log_set_level(MCN_LOG_ERROR);
			else {
				serve_usage();
				return (MCN_EXIT_USAGE);
			}
		} else {
			serve_usage();
			return (MCN_EXIT_USAGE);
		}
	}
	if (config == NULL) {
		serve_usage();
		return (MCN_EXIT_USAGE);
	}

	int code = MCN_EXIT_FAIL;
	char err[MCN_ERRMSG] = "";
	mcn_err rv;
	mcn_config cfg;
	mcn_pki *pki = NULL;
	mcn_dict *dict = NULL;
	mcn_store *store = NULL;
	mcn_tpaillier_pub *tpub = NULL;
	mcn_tpaillier_share *share = NULL;
	mcn_x25519_keypair mask;
	mcn_agg_peer *peers = NULL;
	mcn_rng_pool *rngs = NULL;
	mcn_agg_node *agg = NULL;
	mcn_net_server *srv = NULL;
	memset(&mask, 0, sizeof(mask));

	if ((rv = mcn_config_load(&cfg, config, err, sizeof(err))) != MCN_OK) {
		fprintf(stderr, "mcn serve: %s\n", err);
		return (MCN_EXIT_FAIL);
	}
	if (cfg.role != MCN_ROLE_NODE) {
		fprintf(stderr, "mcn serve: %s is not a node config (role \"querier\")\n", config);
		goto out;
	}
	if (cfg.log != NULL && (rv = mcn_log_open(cfg.log)) != MCN_OK) {
		fprintf(stderr, "mcn serve: cannot open log %s: %s\n", cfg.log, mcn_strerror(rv));
		goto out;
	}
#ifdef _OPENMP
	if (cfg.threads > 0)
		omp_set_num_threads((int)cfg.threads);
#endif
	if ((rv = mcn_pki_load(&pki, cfg.ca, cfg.cert, cfg.key, err, sizeof(err))) != MCN_OK)
		goto fail;
	if (strcmp(mcn_pki_id(pki), cfg.id) != 0 || mcn_pki_role(pki) != MCN_ROLE_NODE) {
		mcn_msg(err, sizeof(err), "%s: certificate is for '%s' (%s), config says node '%s'",
		    cfg.cert, mcn_pki_id(pki), mcn_role_name(mcn_pki_role(pki)), cfg.id);
		goto fail;
	}
	if ((rv = mcn_dict_load(&dict, cfg.dictionary, err, sizeof(err))) != MCN_OK)
		goto fail;
	if ((rv = mcn_store_open(&store, cfg.store, dict, MCN_STORE_QUERY_ONLY, err, sizeof(err))) != MCN_OK)
		goto fail;
	if ((rv = mcn_tpub_load(&tpub, cfg.consortium.public_key, err, sizeof(err))) != MCN_OK)
		goto fail;
	if ((rv = mcn_share_load(tpub, &share, cfg.key_share, err, sizeof(err))) != MCN_OK)
		goto fail;
	if ((rv = mcn_maskkey_load(&mask, cfg.mask_key, err, sizeof(err))) != MCN_OK)
		goto fail;
	size_t np = cfg.consortium.nnodes;
	int me = mcn_consortium_find(&cfg.consortium, cfg.id);
	if (memcmp(cfg.consortium.nodes[me].mask_public, mask.pub, MCN_X25519_BYTES) != 0) {
		mcn_msg(err, sizeof(err), "%s: mask key does not match this node's mask_public in %s",
		    cfg.mask_key, cfg.consortium_path);
		goto fail;
	}
	if (mcn_tpaillier_parties(tpub) != np) {
		mcn_msg(err, sizeof(err), "%s: key is for %u parties, consortium lists %zu nodes",
		    cfg.consortium.public_key, mcn_tpaillier_parties(tpub), np);
		goto fail;
	}
	peers = calloc(np, sizeof(*peers));
	if (peers == NULL) {
		rv = MCN_ENOMEM;
		goto fail_rv;
	}
	for (size_t i = 0; i < np; i++) {
		memcpy(peers[i].id, cfg.consortium.nodes[i].id, sizeof(peers[i].id));
		memcpy(peers[i].x25519, cfg.consortium.nodes[i].mask_public, MCN_X25519_BYTES);
	}
	unsigned nthreads = cfg.threads > 0 ? cfg.threads : mcn_threads_max();
	if ((rv = mcn_rng_pool_new(&rngs, mcn_rng_system(), nthreads)) != MCN_OK)
		goto fail_rv;

	serve_ctx sctx = { &cfg, dict, store };
	mcn_agg_node_cfg ncfg = {
		.peers = peers,
		.npeers = np,
		.my_index = (uint32_t)me + 1,
		.tpub = tpub,
		.share = share,
		.x25519 = &mask,
		.min_sites = cfg.min_sites,
		.allow_plain = cfg.allow_plain,
		.signer = mcn_pki_signer(pki),
		.verifier = mcn_pki_verifier(pki),
		.max_message = cfg.max_message,
		.max_skew_ms = cfg.max_skew_ms,
		.query_ttl_ms = 10u * 60u * 1000u,
		.dict_fingerprint = dict->fingerprint,
		.plan = serve_plan,
		.plan_ctx = &sctx,
		.rngs = rngs,
	};
	if ((rv = mcn_agg_node_new(&agg, &ncfg)) != MCN_OK) {
		mcn_msg(err, sizeof(err), "cannot start the protocol engine");
		goto fail_rv;
	}
	mcn_net_tls tls = { cfg.ca, cfg.cert, cfg.key };
	if ((rv = mcn_net_server_open(&srv, cfg.listen, &tls, cfg.max_message, err, sizeof(err))) != MCN_OK)
		goto fail;

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = serve_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	uint64_t rows = 0;
	if (mcn_store_count(store, &rows) != MCN_OK)
		rows = 0;
	mcn_log(MCN_LOG_INFO, "node", "%s listening on %s (%zu-node consortium, t=%u, min_sites=%u, plain %s, %u threads, %llu rows)",
	    cfg.id, cfg.listen, np, mcn_tpaillier_threshold(tpub), cfg.min_sites,
	    cfg.allow_plain ? "allowed" : "refused", nthreads, (unsigned long long)rows);

	while (!serve_stop) {
		uint8_t *req = NULL, *reply = NULL;
		size_t reqlen = 0, replylen = 0;
		rv = mcn_net_server_recv(srv, &req, &reqlen, 200);
		if (rv == MCN_ETIMEDOUT)
			continue;
		if (rv != MCN_OK) {
			if (serve_stop)
				break;
			mcn_log(MCN_LOG_WARN, "net", "receive failed: %s", mcn_strerror(rv));
			continue;
		}
		char why[256] = "";
		uint64_t t0 = mcn_mono_ms();
		mcn_err hr = mcn_agg_node_handle(agg, req, reqlen, mcn_now_ms(), &reply,
		    &replylen, why, sizeof(why));
		mcn_net_free(req, reqlen);
		if (hr == MCN_OK)
			mcn_log(MCN_LOG_INFO, "agg", "request answered in %llu ms (%zu bytes in, %zu out)%s%s",
			    (unsigned long long)(mcn_mono_ms() - t0), reqlen, replylen,
			    why[0] ? ": " : "", why);
		else
			mcn_log(MCN_LOG_WARN, "agg", "request refused: %s%s%s", mcn_strerror(hr),
			    why[0] ? ": " : "", why);
		if (reply != NULL) {
			if ((rv = mcn_net_server_reply(srv, reply, replylen)) != MCN_OK)
				mcn_log(MCN_LOG_WARN, "net", "reply failed: %s", mcn_strerror(rv));
			mcn_free(reply, replylen);
		}
	}
	mcn_log(MCN_LOG_INFO, "node", "%s stopping", cfg.id);
	code = MCN_EXIT_OK;
	goto out;

fail_rv:
	if (err[0] == 0)
		mcn_msg(err, sizeof(err), "%s", mcn_strerror(rv));
fail:
	fprintf(stderr, "mcn serve: %s\n", err);
out:
	mcn_net_server_close(srv);
	mcn_agg_node_free(agg);
	mcn_rng_pool_free(rngs);
	free(peers);
	mcn_wipe(&mask, sizeof(mask));
	mcn_tpaillier_share_free(share);
	mcn_tpaillier_pub_free(tpub);
	mcn_store_close(store);
	mcn_dict_free(dict);
	mcn_pki_free(pki);
	mcn_config_clear(&cfg);
	return (code);
}
