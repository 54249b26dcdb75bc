/*
 * node/cmd_query.c - `mcn query`: the querier's client and coordinator.
 *
 * The querier's client is the coordinator of the aggregation (DESIGN:
 * "the coordinator multiplies ciphertexts"): it compiles the query locally
 * (so syntax, names, types and levels are checked before any node is
 * contacted), drives protocols/agg.c's coordinator round by round over one
 * NNG req socket per node, and turns the released sums into statistics.
 * It never sees a site's vector: only ciphertexts (paillier), masked
 * vectors (masked) or, if a node allows it, plain vectors (plain).
 *
 * An iterative analysis runs one aggregation per step: logistic one per
 * Newton step (the step query carries the current coefficients), quantile
 * and median one histogram per round (mcn_query_fit). Each step's text
 * is compiled here and driven like any query, under a new query id; the
 * set of sites must stay the same across the steps. Timings and bytes are
 * totals.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto/mem.h"
#include "crypto/rng.h"
#include "node/cmd.h"
#include "node/config.h"
#include "node/dict.h"
#include "node/net.h"
#include "node/pki.h"
#include "node/query.h"
#include "node/util.h"
#include "protocols/agg.h"

static void
query_usage(void)
{
	fprintf(stderr,
	    "usage: mcn query --config QUERIER.json [--mode paillier|masked|plain]\n"
	    "                 [--timeout-ms N] [--json]\n"
	    "                 \"SELECT ... FROM ... [WHERE ...] [GROUP BY ...] [WITH EPSILON e]\"\n"
	    "With \"epsilon\" in the querier config (a role whose policy requires\n"
	    "differential privacy), WITH EPSILON e is added to queries without it.\n");
}

/* 1 if text contains word (ASCII, case-insensitive). */
static int
query_has_word(const char *text, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = text; *p != '\0'; p++) {
		size_t k = 0;
		while (k < n && p[k] != '\0' &&
		    (p[k] | 0x20) == (word[k] | 0x20))
			k++;
		if (k == n)
			return (1);
	}
	return (0);
}

/* plain mode: the querier's copy of the release rule (the baseline has
 * no protection; the nodes decide in the secure modes). */
static mcn_err
query_decide(void *ctx, const mcn_agg_request *rq, const int64_t *control,
    size_t ncontrol, unsigned ncontrib, uint8_t *release, size_t nunits,
    int64_t **decision, size_t *ndecision, char *why, size_t whylen)
{
	(void)rq;
	return (mcn_query_decide(ctx, control, ncontrol, ncontrib, release,
	    nunits, decision, ndecision, why, whylen));
}

static const char *
query_status_name(mcn_agg_site_status s)
{
	switch (s) {
	case MCN_AGG_SITE_CONTRIBUTED: return "contributed";
	case MCN_AGG_SITE_TIMEOUT: return "timeout";
	case MCN_AGG_SITE_REFUSED: return "refused";
	case MCN_AGG_SITE_INVALID: return "invalid";
	default: return "pending";
	}
}

/* Runs the coordinator to completion: each round, send what the outbox
 * holds to the nodes concerned at once, wait (bounded) for all replies,
 * feed them back; nodes that did not answer in time are timeouts. */
static mcn_err
query_drive(mcn_agg_coord *co, mcn_net_client **clients, size_t n, int timeout_ms,
    uint64_t *round_ms, unsigned *nrounds)
{
	mcn_agg_outbox ob = { 0 };
	uint8_t **req = calloc(n, sizeof(*req));
	size_t *reqlen = calloc(n, sizeof(*reqlen));
	uint8_t **resp = calloc(n, sizeof(*resp));
	size_t *resplen = calloc(n, sizeof(*resplen));
	mcn_err *status = calloc(n, sizeof(*status));
	mcn_err rv = MCN_ENOMEM;
	if (req == NULL || reqlen == NULL || resp == NULL || resplen == NULL || status == NULL)
		goto out;
	if ((rv = mcn_agg_coord_start(co, mcn_now_ms(), &ob)) != MCN_OK)
		goto out;
	*nrounds = 0;
	/* The coordinator makes progress every round: at most one round 1
	 * and one decryption round per node. */
	while (ob.n > 0 && *nrounds < n + 2) {
		uint64_t t0 = mcn_mono_ms();
		memset(req, 0, n * sizeof(*req));
		for (size_t i = 0; i < ob.n; i++) {
			req[ob.msgs[i].to] = ob.msgs[i].bytes;
			reqlen[ob.msgs[i].to] = ob.msgs[i].len;
		}
		int sent[MCN_AGG_MAX_NODES] = { 0 };
		for (size_t i = 0; i < n; i++)
			sent[i] = req[i] != NULL;
		rv = mcn_net_exchange(clients, n, req, reqlen, resp, resplen, status, timeout_ms);
		if (rv != MCN_OK)
			goto out;
		mcn_agg_outbox next = { 0 };
		for (size_t i = 0; i < n && rv == MCN_OK; i++) {
			if (!sent[i])
				continue;
			if (status[i] == MCN_OK)
				rv = mcn_agg_coord_on_reply(co, i, resp[i], resplen[i], mcn_now_ms(), &next);
			else
				rv = mcn_agg_coord_on_timeout(co, i, mcn_now_ms(), &next);
			if (resp[i] != NULL) {
				mcn_net_free(resp[i], resplen[i]);
				resp[i] = NULL;
			}
		}
		mcn_agg_outbox_clear(&ob);
		ob = next;
		if (*nrounds < 4)
			round_ms[*nrounds] = mcn_mono_ms() - t0;
		(*nrounds)++;
		if (rv != MCN_OK)
			goto out;
	}
	rv = MCN_OK;
out:
	mcn_agg_outbox_clear(&ob);
	if (resp != NULL)
		for (size_t i = 0; i < n; i++)
			if (resp[i] != NULL)
				mcn_net_free(resp[i], resplen[i]);
	free(req);
	free(reqlen);
	free(resp);
	free(resplen);
	free(status);
	return (rv);
}

int
cmd_query_main(int argc, const char *argv[])
{
	const char *config = NULL, *text = NULL, *mode_s = "paillier";
	int json = 0;
	long timeout_ms = -1;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config = argv[++i];
		else if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc)
			mode_s = argv[++i];
		else if (strcmp(argv[i], "--timeout-ms") == 0 && i + 1 < argc) {
			char *end;
			timeout_ms = strtol(argv[++i], &end, 10);
			if (*end != 0 || timeout_ms < 100 || timeout_ms > 3600000) {
				fprintf(stderr, "mcn query: --timeout-ms must be 100..3600000\n");
				return (MCN_EXIT_USAGE);
			}
		} else if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (argv[i][0] == '-' && argv[i][1] == '-') {
			query_usage();
			return (MCN_EXIT_USAGE);
		} else if (text == NULL)
			text = argv[i];
		else {
			query_usage();
			return (MCN_EXIT_USAGE);
		}
	}
	mcn_agg_mode mode;
	if (config == NULL || text == NULL) {
		query_usage();
		return (MCN_EXIT_USAGE);
	}
	if (mcn_agg_mode_parse(mode_s, &mode) != MCN_OK) {
		fprintf(stderr, "mcn query: unknown mode '%.32s' (paillier, masked or plain)\n", mode_s);
		return (MCN_EXIT_USAGE);
	}

	int code = MCN_EXIT_FAIL;
	char err[MCN_ERRMSG] = "";
	mcn_err rv = MCN_OK;
	mcn_config cfg;
	mcn_pki *pki = NULL;
	mcn_dict *dict = NULL;
	mcn_query *q = NULL;
	struct mcn_query_result *res = NULL;
	mcn_tpaillier_pub *tpub = NULL;
	mcn_agg_peer *peers = NULL;
	mcn_net_client **clients = NULL;
	mcn_agg_coord *co = NULL;
	mcn_query_fit *fit = NULL;
	mcn_query *sq = NULL;
	size_t np = 0;
	static char etext[MCN_QUERY_MAX_TEXT + 64];
	uint64_t t_start = mcn_mono_ms();

	if ((rv = mcn_config_load(&cfg, config, err, sizeof(err))) != MCN_OK) {
		fprintf(stderr, "mcn query: %s\n", err);
		return (MCN_EXIT_FAIL);
	}
	if (cfg.role != MCN_ROLE_QUERIER) {
		mcn_msg(err, sizeof(err), "%s is not a querier config", config);
		goto fail;
	}
	if (timeout_ms < 0)
		timeout_ms = cfg.timeout_ms;
	/* Check the question before anything else: no node is contacted for a
	 * query that cannot be answered. */
	if ((rv = mcn_dict_load(&dict, cfg.dictionary, err, sizeof(err))) != MCN_OK)
		goto fail;
	np = cfg.consortium.nnodes;
	mcn_query_limits lim = { cfg.consortium.max_rows_per_site, (unsigned)np,
		MCN_CONSORTIUM_NOISE_SHARES(&cfg.consortium) };
	const char *argtext = text;
	if (cfg.epsilon > 0 && !query_has_word(text, "epsilon")) {
		size_t tl = strlen(text);
		while (tl > 0 && (text[tl - 1] == ';' || text[tl - 1] == ' ' ||
		    text[tl - 1] == '\n' || text[tl - 1] == '\t'))
			tl--;
		if (snprintf(etext, sizeof(etext), "%.*s WITH EPSILON %g", (int)tl,
		        text, cfg.epsilon) >= (int)sizeof(etext)) {
			mcn_msg(err, sizeof(err), "query text too long");
			goto fail;
		}
		text = etext;
	}
	if ((rv = mcn_query_compile(&q, text, dict, &lim, err, sizeof(err))) != MCN_OK &&
	    text == etext && strstr(err, "WITH EPSILON applies to") != NULL) {
		/* an analysis without noise: ask as written, the nodes'
		 * policies decide */
		text = argtext;
		rv = mcn_query_compile(&q, text, dict, &lim, err, sizeof(err));
	}
	if (rv != MCN_OK)
		goto fail;
	uint64_t t_compiled = mcn_mono_ms();
	if ((rv = mcn_pki_load(&pki, cfg.ca, cfg.cert, cfg.key, err, sizeof(err))) != MCN_OK)
		goto fail;
	if (mcn_pki_role(pki) != MCN_ROLE_QUERIER) {
		mcn_msg(err, sizeof(err), "%s: certificate role is %s, a querier certificate is needed",
		    cfg.cert, mcn_role_name(mcn_pki_role(pki)));
		goto fail;
	}
	if (mode == MCN_AGG_PAILLIER &&
	    (rv = mcn_tpub_load(&tpub, cfg.consortium.public_key, err, sizeof(err))) != MCN_OK)
		goto fail;
	peers = calloc(np, sizeof(*peers));
	clients = calloc(np, sizeof(*clients));
	if (peers == NULL || clients == NULL) {
		rv = MCN_ENOMEM;
		goto fail_rv;
	}
	mcn_net_tls tls = { cfg.ca, cfg.cert, cfg.key };
	for (size_t i = 0; i < np; i++) {
		memcpy(peers[i].id, cfg.consortium.nodes[i].id, sizeof(peers[i].id));
		memcpy(peers[i].x25519, cfg.consortium.nodes[i].mask_public, MCN_X25519_BYTES);
		if ((rv = mcn_net_client_open(&clients[i], cfg.consortium.nodes[i].url, &tls,
		         cfg.max_message, err, sizeof(err))) != MCN_OK)
			goto fail;
	}
	/* One aggregation, or for an iterative analysis one per step (a
	 * logistic Newton step, a quantile round): each step query is compiled
	 * here with the same checks, gets its own query id, and is driven
	 * exactly like a single query. Timings and bytes are summed over the
	 * aggregations. */
	if (mcn_query_is_iterative(q) && (rv = mcn_query_fit_new(&fit, q)) != MCN_OK)
		goto fail_rv;
	uint64_t round_ms[4] = { 0 };
	unsigned nrounds = 0, ncontrib = 0, iters = 0;
	uint64_t bout = 0, bin = 0;
	unsigned prounds = 0;
	unsigned char first_set[MCN_AGG_MAX_NODES] = { 0 };
	uint64_t t_net = mcn_mono_ms(), t_stats = 0;
	for (;;) {
		const mcn_query *aq = q;
		const char *atext = text;
		if (fit != NULL) {
			atext = mcn_query_fit_text(fit);
			mcn_query_free(sq);
			sq = NULL;
			if ((rv = mcn_query_compile(&sq, atext, dict, &lim, err, sizeof(err))) !=
			    MCN_OK) {
				char e2[MCN_ERRMSG];
				memcpy(e2, err, sizeof(e2));
				mcn_msg(err, sizeof(err), "iteration %u: %s", iters + 1, e2);
				goto fail;
			}
			aq = sq;
		}
		mcn_agg_coord_cfg ccfg = {
			.mode = mode,
			.query_text = atext,
			.dict_fingerprint = dict->fingerprint,
			.peers = peers,
			.npeers = np,
			.tpub = tpub,
			.min_sites = cfg.min_sites,
			.layout = mcn_query_release_layout(aq),
			.signer = mcn_pki_signer(pki),
			.verifier = mcn_pki_verifier(pki),
			.max_message = cfg.max_message,
			.rng = mcn_rng_system(),
			.decrypt_spare = cfg.decrypt_spare,
			.decide = query_decide, /* plain mode: the rule applied here */
			.decide_ctx = (void *)aq,
		};
		mcn_agg_coord_free(co);
		co = NULL;
		if ((rv = mcn_agg_coord_new(&co, &ccfg)) != MCN_OK)
			goto fail_rv;
		uint64_t rms[4] = { 0 };
		unsigned nr = 0;
		if ((rv = query_drive(co, clients, np, (int)timeout_ms, rms, &nr)) != MCN_OK)
			goto fail_rv;
		for (unsigned r = 0; r < 4; r++)
			round_ms[r] += rms[r];
		nrounds = nr > nrounds ? nr : nrounds;
		iters++;

		/* Which sites are in, which are not and why. */
		const char *emsg = NULL;
		if (mcn_agg_coord_phase(co) != MCN_AGG_DONE) {
			(void)mcn_agg_coord_error(co, &emsg);
			if (fit != NULL)
				mcn_msg(err, sizeof(err), "query failed (iteration %u): %s", iters,
				    emsg != NULL ? emsg : "no result");
			else
				mcn_msg(err, sizeof(err), "query failed: %s",
				    emsg != NULL ? emsg : "no result");
			goto fail;
		}
		uint64_t bo = 0, bi = 0;
		unsigned pr = 0;
		mcn_agg_coord_stats(co, &bo, &bi, &pr);
		bout += bo;
		bin += bi;
		prounds += pr;
		/* an iterative fit must sum the same sites every time */
		for (size_t i = 0; fit != NULL && i < np; i++) {
			unsigned char in =
			    mcn_agg_coord_site(co, i, NULL, NULL) == MCN_AGG_SITE_CONTRIBUTED;
			if (iters == 1) {
				first_set[i] = in;
			} else if (first_set[i] != in) {
				mcn_msg(err, sizeof(err),
				    "query failed: site %s %s the fit at iteration %u; the "
				    "estimates would mix cohorts",
				    peers[i].id, in ? "joined" : "left", iters);
				goto fail;
			}
		}
		size_t nvalues = 0, ndec = 0;
		const mpz_t *sums = mcn_agg_coord_sums(co, &nvalues);
		const int64_t *dec = mcn_agg_coord_decision(co, &ndec);
		ncontrib = mcn_agg_coord_ncontributors(co);
		uint64_t t_s0 = mcn_mono_ms();
		if (fit == NULL) {
			rv = mcn_query_result_release(&res, q, sums, nvalues, dec, ndec,
			    ncontrib);
		} else {
			int done = 0;
			rv = mcn_query_fit_update_release(fit, sq, sums, nvalues, dec,
			    ndec, ncontrib, &done);
			if (rv == MCN_OK && done)
				rv = mcn_query_fit_result(&res, fit);
		}
		t_stats += mcn_mono_ms() - t_s0;
		if (rv != MCN_OK) {
			mcn_msg(err, sizeof(err), "cannot compute the statistics: %s", mcn_strerror(rv));
			goto fail;
		}
		if (res != NULL)
			break;
	}
	uint64_t t_end = mcn_mono_ms();
	uint64_t t_done = t_end - t_stats;
	char qid[2 * MCN_QUERY_ID_BYTES + 1];
	mcn_hex_encode(qid, mcn_agg_coord_query_id(co), MCN_QUERY_ID_BYTES);

	if (json) {
		json_t *doc = json_object();
		json_t *contributed = json_array(), *missing = json_array();
		for (size_t i = 0; i < np; i++) {
			mcn_err sc = MCN_OK;
			const char *reason = NULL;
			mcn_agg_site_status st = mcn_agg_coord_site(co, i, &sc, &reason);
			if (st == MCN_AGG_SITE_CONTRIBUTED) {
				json_array_append_new(contributed, json_string(peers[i].id));
				continue;
			}
			json_t *m = json_object();
			json_object_set_new(m, "id", json_string(peers[i].id));
			json_object_set_new(m, "status", json_string(query_status_name(st)));
			if (reason != NULL)
				json_object_set_new(m, "reason", json_string(reason));
			else if (sc != MCN_OK)
				json_object_set_new(m, "reason", json_string(mcn_strerror(sc)));
			json_array_append_new(missing, m);
		}
		json_t *sites = json_object();
		json_object_set_new(sites, "contributed", contributed);
		json_object_set_new(sites, "missing", missing);
		json_t *tm = json_object();
		json_object_set_new(tm, "compile", json_integer((json_int_t)(t_compiled - t_start)));
		json_object_set_new(tm, "setup", json_integer((json_int_t)(t_net - t_compiled)));
		for (unsigned r = 0; r < nrounds && r < 4; r++) {
			char k[16];
			snprintf(k, sizeof(k), "round%u", r + 1);
			json_object_set_new(tm, k, json_integer((json_int_t)round_ms[r]));
		}
		json_object_set_new(tm, "network_total", json_integer((json_int_t)(t_done - t_net)));
		json_object_set_new(tm, "statistics", json_integer((json_int_t)(t_end - t_done)));
		json_object_set_new(tm, "total", json_integer((json_int_t)(t_end - t_start)));
		json_t *by = json_object();
		json_object_set_new(by, "sent", json_integer((json_int_t)bout));
		json_object_set_new(by, "received", json_integer((json_int_t)bin));
		json_object_set_new(by, "rounds", json_integer(prounds));
		json_object_set_new(doc, "iterations", json_integer(iters));
		json_object_set_new(doc, "query", json_string(text));
		json_object_set_new(doc, "mode", json_string(mcn_agg_mode_name(mode)));
		json_object_set_new(doc, "query_id", json_string(qid));
		json_object_set_new(doc, "sites", sites);
		json_object_set_new(doc, "timings_ms", tm);
		json_object_set_new(doc, "bytes", by);
		json_t *r = mcn_query_result_json(res);
		json_t *arr = r != NULL ? json_object_get(r, "results") : NULL;
		json_object_set(doc, "results", arr != NULL ? arr : json_array());
		json_t *notes = r != NULL ? json_object_get(r, "notes") : NULL;
		if (notes != NULL)
			json_object_set(doc, "notes", notes);
		if (res != NULL) {
			json_object_set_new(doc, "epsilon", res->epsilon > 0 ?
			    json_real(res->epsilon) : json_null());
			json_object_set_new(doc, "suppressions",
			    json_integer((json_int_t)res->suppressions));
		}
		json_decref(r);
		char *s = json_dumps(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
		json_decref(doc);
		if (s == NULL) {
			rv = MCN_ENOMEM;
			goto fail_rv;
		}
		printf("%s\n", s);
		free(s);
	} else {
		printf("query    %s\n", text);
		printf("mode     %s   query id %.16s   %llu ms (network %llu ms, %u rounds",
		    mcn_agg_mode_name(mode), qid, (unsigned long long)(t_end - t_start),
		    (unsigned long long)(t_done - t_net), prounds);
		if (fit != NULL)
			printf(", %u aggregations", iters);
		printf(")\n");
		printf("sites    %u of %zu contributed:", ncontrib, np);
		for (size_t i = 0; i < np; i++)
			if (mcn_agg_coord_site(co, i, NULL, NULL) == MCN_AGG_SITE_CONTRIBUTED)
				printf(" %s", peers[i].id);
		printf("\n");
		for (size_t i = 0; i < np; i++) {
			mcn_err sc = MCN_OK;
			const char *reason = NULL;
			mcn_agg_site_status st = mcn_agg_coord_site(co, i, &sc, &reason);
			if (st != MCN_AGG_SITE_CONTRIBUTED)
				printf("missing  %s: %s%s%s\n", peers[i].id, query_status_name(st),
				    reason != NULL || sc != MCN_OK ? " - " : "",
				    reason != NULL ? reason : (sc != MCN_OK ? mcn_strerror(sc) : ""));
		}
		printf("\n");
		mcn_query_result_print(res, stdout);
	}
	code = MCN_EXIT_OK;
	goto out;

fail_rv:
	if (err[0] == 0)
		mcn_msg(err, sizeof(err), "%s", mcn_strerror(rv));
fail:
	fprintf(stderr, "mcn query: %s\n", err);
out:
	mcn_agg_coord_free(co);
	if (clients != NULL)
		for (size_t i = 0; i < np; i++)
			mcn_net_client_close(clients[i]);
	free(clients);
	free(peers);
	mcn_tpaillier_pub_free(tpub);
	mcn_query_result_free(res);
	mcn_query_fit_free(fit);
	mcn_query_free(sq);
	mcn_query_free(q);
	mcn_dict_free(dict);
	mcn_pki_free(pki);
	mcn_config_clear(&cfg);
	return (code);
}
