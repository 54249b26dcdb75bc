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

#include <openssl/sha.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "crypto/mem.h"
#include "crypto/rng.h"
#include "node/cmd.h"
#include "node/config.h"
#include "node/dict.h"
#include "node/net.h"
#include "node/audit.h"
#include "node/pki.h"
#include "node/policy.h"
#include "node/query.h"
#include "node/state.h"
#include "node/store.h"
#include "node/util.h"
#include "protocols/agg.h"

_Static_assert(MCN_CONFIG_MAX_IN_PROGRESS == MCN_AGG_MAX_ACTIVE,
    "node config and protocol engine agree on the slot limit");

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
	const mcn_policy *policy;
	mcn_state *state;
	mcn_audit *audit;
	uint8_t secret[MCN_STATE_SECRET_BYTES]; /* seeds the noise */
	/* what the last QUERY's plan decided, for its audit record */
	char norm[MCN_QUERY_MAX_TEXT + 1];
	char role[MCN_POLICY_NAME_MAX + 1];
	int has_epsilon;
	double epsilon, spent;
	uint64_t suppressed;
	/* cache: consenting population of data generation pop_gen for the
	 * consent column set pop_key */
	int pop_valid;
	uint64_t pop_gen, pop_key, pop;
} serve_ctx;

/* The policy role of a querier certificate; one without is "querier". */
static const char *
serve_role(const char *policy_role)
{
	return (policy_role != NULL && policy_role[0] != '\0' ? policy_role :
	                                                         "querier");
}

/* The policy request of a compiled query: analyses and column uses. */
static mcn_err
serve_policy(const serve_ctx *s, const mcn_query *q, const char *role,
    const mcn_policy_role **pr, char *why, size_t whylen)
{
	const char *an[MCN_QUERY_MAX_AGGS];
	mcn_policy_use uses[MCN_QUERY_MAX_SCAN + MCN_QUERY_MAX_GROUP_COLS + 8];
	size_t na = mcn_query_naggs(q), nc = mcn_query_ncolumns(q);
	if (na > MCN_QUERY_MAX_AGGS || nc > sizeof(uses) / sizeof(*uses))
		return (MCN_EQUERY);
	for (size_t i = 0; i < na; i++)
		an[i] = mcn_query_agg_kind_name(mcn_query_agg(q, i, NULL));
	for (size_t i = 0; i < nc; i++) {
		unsigned u = mcn_query_column_uses(q, i), pu = 0;
		uses[i].col = mcn_query_column(q, i);
		pu |= (u & MCN_QUERY_USE_WHERE) ? MCN_POLICY_WHERE : 0;
		pu |= (u & MCN_QUERY_USE_AGGREGATE) ? MCN_POLICY_AGGREGATE : 0;
		pu |= (u & MCN_QUERY_USE_GROUP_BY) ? MCN_POLICY_GROUP_BY : 0;
		uses[i].uses = pu;
	}
	mcn_policy_request r = { role, an, na, uses, nc };
	return (mcn_policy_check(s->policy, &r, pr, why, whylen));
}

/* The plan callback: compile the query against our dictionary, check it
 * against the hospital's policy (role, analyses, columns, sensitivity,
 * differential privacy, rate limit), make its query id single-use for
 * good, compute our local vector under disclosure control (consent,
 * complement, small cells, noise), then apply the differencing rule and
 * charge the privacy budget. Reasons go back to the querier, so they
 * describe the query and the rule, never the data. */
static mcn_err
serve_plan(void *ctx, const mcn_agg_request *rq, mcn_agg_layout *layout,
    int64_t **values, char *why, size_t whylen)
{
	serve_ctx *s = ctx;
	const mcn_config *cfg = s->cfg;
	mcn_query *q = NULL;
	const mcn_policy_role *pr = NULL;
	mcn_query_gov_report rep;
	uint8_t label[16 + 8 + MCN_QUERY_MAX_TEXT], charge_key[32];
	size_t labellen = 0;
	int consent[MCN_DICT_MAX_COLUMNS];
	size_t nconsent = 0;
	uint64_t now = mcn_now_ms(), gen;
	mcn_err rv;
	mcn_query_limits lim = { cfg->consortium.max_rows_per_site,
		(unsigned)cfg->consortium.nnodes,
		MCN_CONSORTIUM_NOISE_SHARES(&cfg->consortium) };
	const char *role = serve_role(rq->policy_role);

	memset(&rep, 0, sizeof(rep));
	*values = NULL;
	memset(layout, 0, sizeof(*layout));
	s->norm[0] = '\0';
	s->has_epsilon = 0;
	s->epsilon = s->spent = 0;
	s->suppressed = 0;
	snprintf(s->role, sizeof(s->role), "%s", role);
	if ((rv = mcn_query_compile(&q, rq->text, s->dict, &lim, why, whylen)) != MCN_OK)
		return (rv);
	snprintf(s->norm, sizeof(s->norm), "%s", mcn_query_normalized(q));
	if ((rv = serve_policy(s, q, role, &pr, why, whylen)) != MCN_OK)
		goto out;
	double eps = mcn_query_epsilon(q);
	if (pr->dp_epsilon > 0 && eps == 0) {
		mcn_msg(why, whylen, "policy: role '%s' must ask with differential "
		    "privacy: end the query with WITH EPSILON e (e <= %g)", role,
		    pr->dp_epsilon);
		rv = MCN_EREFUSED;
		goto out;
	}
	if (pr->dp_epsilon > 0 && eps > pr->dp_epsilon) {
		mcn_msg(why, whylen, "policy: epsilon %g is above the %g per query "
		    "that role '%s' may spend", eps, pr->dp_epsilon, role);
		rv = MCN_EREFUSED;
		goto out;
	}
	if ((rv = mcn_state_rate_admit(s->state, rq->querier, role, now,
	         pr->rate_queries, pr->rate_seconds * 1000, why, whylen)) != MCN_OK)
		goto out;
	if ((rv = mcn_state_query_id_use(s->state, rq->query_id, now)) != MCN_OK) {
		mcn_msg(why, whylen, rv == MCN_EREPLAY ? "query id already used" :
		    "cannot record the query id");
		goto out;
	}
	/* consent columns for everyone, and those of the role's purpose */
	for (size_t i = 0; i < s->dict->ncols; i++) {
		const mcn_column *c = &s->dict->cols[i];
		if (c->consent && (c->consent_purpose == NULL ||
		        (pr->purpose != NULL &&
		            strcmp(pr->purpose, c->consent_purpose) == 0)))
			consent[nconsent++] = (int)i;
	}
	/* the noise: one seed per (node secret, data generation, normalized
	 * query), so asking again gives the same answer */
	gen = mcn_store_generation(s->store);
	memcpy(label, "mcn-dp-label-v1\n", 16);
	for (int i = 0; i < 8; i++)
		label[16 + i] = (uint8_t)(gen >> (56 - 8 * i));
	labellen = 24 + strlen(s->norm);
	memcpy(label + 24, s->norm, strlen(s->norm));
	/* the consenting population changes only with the data */
	uint64_t ckey = 1469598103934665603ull; /* FNV-1a over the columns */
	for (size_t i = 0; i < nconsent; i++)
		ckey = (ckey ^ (uint64_t)consent[i]) * 1099511628211ull;
	int pop_known = s->pop_valid && s->pop_gen == gen && s->pop_key == ckey;
	mcn_query_gov gov = { consent, nconsent, pr->min_cell, s->secret, label,
		labellen, pr->min_difference > 0, pop_known,
		pop_known ? s->pop : 0, cfg->min_sites, pr->site_min_cell, NULL,
		NULL };

	/* the protocol vector: value units, then the release control (the
	 * nodes decide on the pooled cells: serve_decide) */
	const mcn_agg_layout *L = mcn_query_release_layout(q);
	const size_t nall = L->nvalues + L->ncontrol;
	int64_t *v = mcn_zalloc(nall * sizeof(*v));
	if (v == NULL || mcn_query_release_layout_copy(layout, q) != MCN_OK) {
		rv = MCN_ENOMEM;
		mcn_msg(why, whylen, "out of memory");
		goto out_v;
	}
	uint64_t t0 = mcn_mono_ms();
	if ((rv = mcn_query_local_release(q, mcn_store_db(s->store), &gov, v,
	         &rep, why, whylen)) != MCN_OK)
		goto out_v;
	if (gov.want_cohort &&
	    (rv = mcn_state_cohort_check(s->state, rq->querier, role, gen,
	         rep.bitmap, rep.nbits, pr->min_difference, NULL, why, whylen)) !=
	        MCN_OK)
		goto out_v;
	if (eps > 0 && pr->dp_epsilon > 0) {
		int charged = 0;
		if (SHA256(label, labellen, charge_key) == NULL) {
			rv = MCN_ECRYPTO;
			mcn_msg(why, whylen, "cannot hash the query");
			goto out_v;
		}
		if ((rv = mcn_state_budget_charge(s->state, rq->querier, role,
		         charge_key, eps, pr->dp_budget, &s->spent, &charged, why,
		         whylen)) != MCN_OK)
			goto out_v;
		s->has_epsilon = 1;
		s->epsilon = charged ? eps : 0;
	}
	if (gov.want_cohort &&
	    (rv = mcn_state_cohort_record(s->state, rq->querier, role, gen,
	         rep.bitmap, rep.nbits)) != MCN_OK) {
		mcn_msg(why, whylen, "cannot record the cohort");
		goto out_v;
	}
	s->suppressed = rep.suppressed;
	s->pop_valid = 1;
	s->pop_gen = gen;
	s->pop_key = ckey;
	s->pop = rep.population;
	mcn_log(MCN_LOG_INFO, "query", "%s query from %s (role %s): %zu values "
	    "and %zu release-control values, local scan %llu ms",
	    mcn_agg_mode_name(rq->mode), rq->querier, role, L->nvalues,
	    L->ncontrol, (unsigned long long)(mcn_mono_ms() - t0));
	*values = v;
	v = NULL;
out_v:
	if (v != NULL)
		mcn_free(v, nall * sizeof(*v));
out:
	mcn_query_gov_report_clear(&rep);
	mcn_wipe(label, sizeof(label));
	if (rv != MCN_OK)
		mcn_agg_layout_clear(layout);
	mcn_query_free(q);
	return (rv);
}

/* The release rule on the pooled control (protocols/agg.h): the query
 * engine's, on the query as every node compiles it. */
static mcn_err
serve_decide(void *ctx, const mcn_agg_request *rq, const int64_t *control,
    size_t ncontrol, unsigned ncontrib, uint8_t *release, size_t nunits,
    int64_t **decision, size_t *ndecision, char *why, size_t whylen)
{
	serve_ctx *s = ctx;
	const mcn_config *cfg = s->cfg;
	mcn_query *q = NULL;
	mcn_query_limits lim = { cfg->consortium.max_rows_per_site,
		(unsigned)cfg->consortium.nnodes,
		MCN_CONSORTIUM_NOISE_SHARES(&cfg->consortium) };
	mcn_err rv;

	if ((rv = mcn_query_compile(&q, rq->text, s->dict, &lim, why, whylen)) !=
	    MCN_OK)
		return (rv);
	rv = mcn_query_decide(q, control, ncontrol, ncontrib, release, nunits,
	    decision, ndecision, why, whylen);
	mcn_query_free(q);
	return (rv);
}

/* The commit hook: the audit record of an answer is durable before the
 * answer leaves (fail closed). */
static mcn_err
serve_commit(void *ctx, const mcn_agg_event *ev, char *why, size_t whylen)
{
	serve_ctx *s = ctx;
	char qid[2 * MCN_QUERY_ID_BYTES + 1], err[MCN_ERRMSG];
	mcn_hex_encode(qid, ev->query_id, MCN_QUERY_ID_BYTES);
	int isq = ev->type == MCN_AGG_EV_QUERY;
	mcn_audit_event a = {
		.event = isq ? "query" : "decrypt",
		.querier = ev->querier,
		.role = serve_role(ev->policy_role),
		.query_id_hex = qid,
		.mode = mcn_agg_mode_name(ev->mode),
		.query = isq ? s->norm : NULL,
		.decision = isq ? (s->suppressed > 0 ? "contributed-suppressed" :
		                                       "contributed") :
		                  "released",
		.has_epsilon = isq && s->has_epsilon,
		.epsilon = s->epsilon,
		.budget_spent = s->spent,
		.values = ev->nvalues,
		.bytes = ev->reply_bytes,
	};
	mcn_err rv = mcn_audit_append(s->audit, &a, mcn_now_ms(), err, sizeof(err));
	if (rv != MCN_OK) {
		mcn_log(MCN_LOG_ERROR, "audit", "cannot write the audit record, "
		    "answer withheld: %s", err);
		mcn_msg(why, whylen, "the node cannot write its audit log and "
		    "does not contribute");
		return (MCN_EREFUSED);
	}
	return (MCN_OK);
}

/* The audit record of a refusal (best effort: a refusal carries no data,
 * so it is sent even if the record cannot be written). */
static void
serve_audit_refusal(serve_ctx *s, const mcn_agg_node *agg, mcn_err code,
    const char *why)
{
	mcn_agg_event ev;
	char qid[2 * MCN_QUERY_ID_BYTES + 1], err[MCN_ERRMSG], reason[512];
	mcn_agg_node_last(agg, &ev);
	if (ev.has_query_id)
		mcn_hex_encode(qid, ev.query_id, MCN_QUERY_ID_BYTES);
	snprintf(reason, sizeof(reason), "%s", why[0] ? why : mcn_strerror(code));
	mcn_audit_event a = {
		.event = ev.type == MCN_AGG_EV_DECRYPT ? "decrypt" : "query",
		.querier = ev.querier[0] ? ev.querier : NULL,
		.role = ev.querier[0] ? serve_role(ev.policy_role) : NULL,
		.query_id_hex = ev.has_query_id ? qid : NULL,
		.mode = ev.mode != 0 ? mcn_agg_mode_name(ev.mode) : NULL,
		.query = ev.type == MCN_AGG_EV_QUERY && s->norm[0] ? s->norm : NULL,
		.decision = "refused",
		.reason = reason,
	};
	if (mcn_audit_append(s->audit, &a, mcn_now_ms(), err, sizeof(err)) != MCN_OK)
		mcn_log(MCN_LOG_ERROR, "audit", "cannot write the audit record of a "
		    "refusal: %s", err);
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
	mcn_policy *policy = NULL;
	mcn_state *state = NULL;
	mcn_audit *audit = NULL;
	serve_ctx *sctx = NULL;
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

	if ((rv = mcn_policy_load(&policy, cfg.policy, dict, err, sizeof(err))) != MCN_OK)
		goto fail;
	if ((rv = mcn_state_open(&state, cfg.state, err, sizeof(err))) != MCN_OK)
		goto fail;
	if ((rv = mcn_audit_open(&audit, cfg.audit_log, mcn_pki_signer(pki),
	         mcn_now_ms(), err, sizeof(err))) != MCN_OK)
		goto fail;
	sctx = calloc(1, sizeof(*sctx));
	if (sctx == NULL) {
		rv = MCN_ENOMEM;
		goto fail_rv;
	}
	sctx->cfg = &cfg;
	sctx->dict = dict;
	sctx->store = store;
	sctx->policy = policy;
	sctx->state = state;
	sctx->audit = audit;
	mcn_state_secret(state, sctx->secret);
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
		.max_active = cfg.max_in_progress,
		.max_per_querier = cfg.max_per_querier,
		.dict_fingerprint = dict->fingerprint,
		.plan = serve_plan,
		.plan_ctx = sctx,
		.decide = serve_decide,
		.decide_ctx = sctx,
		.rngs = rngs,
		.commit = serve_commit,
		.commit_ctx = sctx,
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
	{
		char head[65];
		mcn_audit_head(audit, head);
		mcn_log(MCN_LOG_INFO, "audit", "audit log %s at record %llu, head %s",
		    cfg.audit_log, (unsigned long long)mcn_audit_seq(audit), head);
	}

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
		else {
			mcn_log(MCN_LOG_WARN, "agg", "request refused: %s%s%s", mcn_strerror(hr),
			    why[0] ? ": " : "", why);
			serve_audit_refusal(sctx, agg, hr, why);
		}
		if (reply != NULL) {
			if ((rv = mcn_net_server_reply(srv, reply, replylen)) != MCN_OK)
				mcn_log(MCN_LOG_WARN, "net", "reply failed: %s", mcn_strerror(rv));
			mcn_free(reply, replylen);
		}
	}
	char head[65];
	mcn_audit_head(audit, head);
	mcn_log(MCN_LOG_INFO, "node", "%s stopping; audit log %s at record %llu, head %s",
	    cfg.id, cfg.audit_log, (unsigned long long)mcn_audit_seq(audit), head);
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
	mcn_audit_close(audit, mcn_now_ms());
	mcn_state_close(state);
	mcn_policy_free(policy);
	if (sctx != NULL) {
		mcn_wipe(sctx, sizeof(*sctx));
		free(sctx);
	}
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
