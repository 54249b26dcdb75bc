/*
 * tests/protocols/test_agg.c - secure aggregation, all parties in one
 * process: NN node instances and one coordinator wired by an in-memory
 * router (seeded shuffles, duplicated and dropped replies, nodes down),
 * plus hand-made hostile requests against a node, each refused with its
 * exact code.
 *
 * TEST DOUBLE: the signer/verifier (tests/fake_sign.h) are not X.509: a
 * "certificate" is
 * the ASCII string "id|role" and a signature is HMAC-SHA256 over the
 * message with a key derived from the id (SHA-256("mcnt-key|" || id)); the
 * verifier recomputes it and checks the id and role of the "certificate".
 * node/pki.c implements the real callbacks.
 */
#define _GNU_SOURCE /* memmem */
#include "test.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "crypto/mask.h"
#include "crypto/mem.h"
#include "crypto/paillier.h"
#include "crypto/threshold.h"
#include "proto/codec.h"
#include "protocols/agg.h"

#include "fake_sign.h"

/* ---- the query: a layout with several fields, negative lo ---- */

enum { NN = 4, T = 2, NF = 5 };

static const mcn_pack_field layout_fields[NF] = {
	{ 3, 0, 1000 },
	{ 2, -500, 500 },
	{ 4, -((int64_t)1 << 40), (int64_t)1 << 40 },
	{ 20, 0, (int64_t)1 << 50 },
	{ 2, INT64_MIN, INT64_MAX },
};
#define NV (3 + 2 + 4 + 20 + 2)

/* Node i's (0-based) value in slot k. */
static int64_t
val(unsigned i, size_t k)
{
	if (k < 3) {
		return 100 * (int64_t)i + (int64_t)k;
	} else if (k < 5) {
		return -100 + 37 * (int64_t)i - (int64_t)k;
	} else if (k < 9) {
		return -((int64_t)1 << 39) + 12345 * (int64_t)i + (int64_t)k;
	} else if (k < 29) {
		return ((int64_t)1 << 49) + (int64_t)(i * k) * 1000;
	} else if (k == 29) {
		return -1000000000000000000LL + (int64_t)i;
	}
	return 2000000000000000000LL - 3 * (int64_t)i;
}

struct plan_ctx {
	unsigned index; /* 0-based */
	unsigned calls;
	/* commit hook: events seen, and whether recording fails */
	unsigned commits[3];
	size_t last_nvalues;
	char last_querier[MCN_PARTY_ID_MAX + 1];
	int fail_commit;
};

static mcn_err
commit(void *ctx, const mcn_agg_event *ev, char *why, size_t whylen)
{
	struct plan_ctx *p = ctx;
	if (p->fail_commit) {
		snprintf(why, whylen, "audit log unavailable");
		return MCN_ESYS;
	}
	p->commits[ev->type]++;
	p->last_nvalues = ev->nvalues;
	snprintf(p->last_querier, sizeof(p->last_querier), "%s", ev->querier);
	return MCN_OK;
}

/* Release control (the control tests set ctl_on): the values are two
 * units, fields 0-1 and 2-4; the control holds per unit a count, site i
 * adding 10 i + 1 to unit 0's and 1 to unit 1's, then 1 ("I have rows"). */
static int ctl_on;
static const mcn_pack_field ctl_fields[1] = { { 3, 0, 1000 } };
static const size_t ctl_units[2] = { 2, 3 };
static int64_t
ctl_val(unsigned i, size_t k)
{
	return k == 0 ? 10 * (int64_t)i + 1 : 1;
}

static mcn_err
plan(void *ctx, const mcn_agg_request *rq, mcn_agg_layout *L,
    int64_t **values, char *why, size_t whylen)
{
	struct plan_ctx *p = ctx;
	const char *text = rq->text, *querier = rq->querier;
	int64_t *v;

	p->calls++;
	if (strcmp(querier, "alice") != 0 && strcmp(querier, "bob") != 0) {
		snprintf(why, whylen, "unknown querier");
		return MCN_EREFUSED;
	}
	if (strncmp(text, "REFUSE", 6) == 0) {
		snprintf(why, whylen, "column not allowed for this role");
		return MCN_EQUERY;
	}
	if ((L->fields = mcn_alloc(sizeof(layout_fields))) == NULL ||
	    (v = mcn_alloc(NV * sizeof(int64_t))) == NULL) {
		mcn_free(L->fields, sizeof(layout_fields));
		return MCN_ENOMEM;
	}
	memcpy(L->fields, layout_fields, sizeof(layout_fields));
	L->nfields = NF;
	L->nvalues = NV;
	for (size_t k = 0; k < NV; k++) {
		v[k] = val(p->index, k);
	}
	if (ctl_on) {
		int64_t *v2 = mcn_alloc((NV + 3) * sizeof(int64_t));
		L->cfields = mcn_alloc(sizeof(ctl_fields));
		L->units = mcn_alloc(sizeof(ctl_units));
		if (v2 == NULL || L->cfields == NULL || L->units == NULL) {
			mcn_free(v2, (NV + 3) * sizeof(int64_t));
			mcn_free(v, NV * sizeof(int64_t));
			mcn_agg_layout_clear(L);
			return MCN_ENOMEM;
		}
		memcpy(v2, v, NV * sizeof(int64_t));
		mcn_free(v, NV * sizeof(int64_t));
		v = v2;
		for (size_t k = 0; k < 3; k++) {
			v[NV + k] = ctl_val(p->index, k);
		}
		memcpy(L->cfields, ctl_fields, sizeof(ctl_fields));
		memcpy(L->units, ctl_units, sizeof(ctl_units));
		L->ncfields = 1;
		L->ncontrol = 3;
		L->nunits = 2;
	}
	*values = v;
	return MCN_OK;
}

/* The test's release rule: unit u is released when its pooled count
 * reaches ctl_k; the decision is (count 0, count 1 if released else -1,
 * sites with rows, ncontrib). */
static int64_t ctl_k = 10;
static int64_t *ctl_node0_k; /* site1's own threshold (NULL: ctl_k) */
static unsigned decide_calls;
static mcn_err
decide(void *ctx, const mcn_agg_request *rq, const int64_t *control,
    size_t ncontrol, unsigned ncontrib, uint8_t *release, size_t nunits,
    int64_t **decision, size_t *ndecision, char *why, size_t whylen)
{
	const int64_t k = ctx != NULL ? *(const int64_t *)ctx : ctl_k;
	(void)why;
	(void)whylen;
	decide_calls++;
	if (ncontrol != 3 || nunits != 2 || strcmp(rq->querier, "alice") != 0) {
		return MCN_EINVAL;
	}
	int64_t *d = mcn_alloc(4 * sizeof(int64_t));
	if (d == NULL) {
		return MCN_ENOMEM;
	}
	release[0] = control[0] >= k;
	release[1] = control[1] >= k;
	d[0] = control[0];
	d[1] = release[1] ? control[1] : -1;
	d[2] = control[2];
	d[3] = ncontrib;
	*decision = d;
	*ndecision = 4;
	return MCN_OK;
}

/* ---- fixture: one threshold key for the whole file ---- */

static mcn_tpaillier_pub *fx_pub;
static mcn_tpaillier_share *fx_sh[NN];
static mcn_x25519_keypair fx_kp[NN];

static int
fixture(void)
{
	mcn_rng *rng;
	int rv = 0;

	if (fx_pub != NULL) {
		return 0;
	}
	rng = mcnt_rng(1234);
	if (mcn_tpaillier_deal(&fx_pub, fx_sh, 1024, T, NN, rng) != MCN_OK) {
		rv = -1;
	}
	for (int i = 0; i < NN && rv == 0; i++) {
		if (mcn_x25519_keygen(&fx_kp[i], rng) != MCN_OK) {
			rv = -1;
		}
	}
	mcn_rng_free(rng);
	return rv;
}

#define NOW 1700000000000ULL

static unsigned world_seed;
/* decrypt_spare of the coordinator: most tests ask every contributor in
 * round 2 (so each can be checked); the "asks t" tests set 0. */
static unsigned world_spare = NN;
/* the nodes' slot limits (0: defaults) and the clock offset of world_run */
static size_t world_max_active, world_per_querier;
static uint64_t world_t;

struct world {
	mcn_agg_peer peers[NN];
	struct mcnt_party np[NN], alice, bob;
	struct plan_ctx pc[NN];
	mcn_rng *rng;
	mcn_rng_pool *pool;
	mcn_agg_node_cfg ncfg[NN];
	mcn_agg_node *node[NN];
	mcn_agg_layout layout;
	uint8_t dict_fp[32];
	mcn_agg_coord_cfg ccfg;
	mcn_agg_coord *coord;
	/* router behaviour */
	int down[NN];     /* never answers */
	int drop_r2[NN];  /* its round-2 reply is lost */
	int dup;          /* every reply delivered twice */
	mcn_rng *shuffle; /* NULL: in order */
	mcn_err last_node_rv[NN];
};

static mcn_err
world_init(struct world *w, mcn_agg_mode mode, int allow_plain)
{
	mcn_err rv;

	memset(w, 0, sizeof(*w));
	if (fixture() != 0) {
		return MCN_EINVAL;
	}
	w->rng = mcnt_rng(77 + world_seed++); /* distinct query ids */
	if ((rv = mcn_rng_pool_new(&w->pool, w->rng, mcn_threads_max())) !=
	    MCN_OK) {
		return rv;
	}
	mcnt_party_init(&w->alice, "alice", MCN_ROLE_QUERIER, NULL);
	mcnt_party_init(&w->bob, "bob", MCN_ROLE_QUERIER, NULL);
	memset(w->dict_fp, 0xd1, sizeof(w->dict_fp));
	for (unsigned i = 0; i < NN; i++) {
		snprintf(w->peers[i].id, sizeof(w->peers[i].id), "site%u",
		    i + 1);
		memcpy(w->peers[i].x25519, fx_kp[i].pub, MCN_X25519_BYTES);
	}
	for (unsigned i = 0; i < NN; i++) {
		mcn_agg_node_cfg *c = &w->ncfg[i];
		mcnt_party_init(&w->np[i], w->peers[i].id, MCN_ROLE_NODE, NULL);
		w->pc[i].index = i;
		c->peers = w->peers;
		c->npeers = NN;
		c->my_index = i + 1;
		c->tpub = fx_pub;
		c->share = fx_sh[i];
		c->x25519 = &fx_kp[i];
		c->min_sites = 2;
		c->allow_plain = allow_plain;
		c->signer = &w->np[i].signer;
		c->verifier = &mcnt_verifier;
		c->max_message = 1 << 22;
		c->max_skew_ms = 60000;
		c->query_ttl_ms = 600000;
		c->plan = plan;
		c->plan_ctx = &w->pc[i];
		c->commit = commit;
		c->commit_ctx = &w->pc[i];
		c->rngs = w->pool;
		c->dict_fingerprint = w->dict_fp;
		c->decide = decide;
		c->decide_ctx = i == 0 ? ctl_node0_k : NULL;
		c->max_active = world_max_active;
		c->max_per_querier = world_per_querier;
		if ((rv = mcn_agg_node_new(&w->node[i], c)) != MCN_OK) {
			return rv;
		}
	}
	w->layout.fields = (mcn_pack_field *)layout_fields;
	w->layout.nfields = NF;
	w->layout.nvalues = NV;
	if (ctl_on) {
		w->layout.cfields = (mcn_pack_field *)ctl_fields;
		w->layout.ncfields = 1;
		w->layout.ncontrol = 3;
		w->layout.units = (size_t *)ctl_units;
		w->layout.nunits = 2;
		w->ccfg.decide = decide;
	}
	w->ccfg.mode = mode;
	w->ccfg.query_text = "SELECT sum(x) FROM patients";
	w->ccfg.dict_fingerprint = w->dict_fp;
	w->ccfg.peers = w->peers;
	w->ccfg.npeers = NN;
	w->ccfg.tpub = fx_pub;
	w->ccfg.min_sites = 2;
	w->ccfg.layout = &w->layout;
	w->ccfg.signer = &w->alice.signer;
	w->ccfg.verifier = &mcnt_verifier;
	w->ccfg.max_message = 1 << 22;
	w->ccfg.rng = w->rng;
	w->ccfg.decrypt_spare = world_spare;
	return mcn_agg_coord_new(&w->coord, &w->ccfg);
}

static void
world_free(struct world *w)
{
	mcn_agg_coord_free(w->coord);
	for (int i = 0; i < NN; i++) {
		mcn_agg_node_free(w->node[i]);
	}
	mcn_rng_pool_free(w->pool);
	mcn_rng_free(w->rng);
	mcn_rng_free(w->shuffle);
}

static size_t
rnd_below(mcn_rng *r, size_t n)
{
	uint32_t x = 0;

	if (mcn_rng_bytes(r, &x, sizeof(x)) != MCN_OK) {
		return 0;
	}
	return x % n;
}

struct reply {
	size_t from;
	uint8_t *b;
	size_t len;
	int lost;
};

/* A querier that ignores the protocol: world_run adds up the masked
 * values of every RELEASE it sees when capture_release is set. */
static int capture_release;
static uint64_t captured[NV];
static unsigned ncaptured;

/* Runs the query to completion: each round's requests go to the nodes (in
 * shuffled order if asked), replies come back (shuffled, maybe twice),
 * then the silent nodes time out. */
static void
world_run(struct world *w)
{
	mcn_agg_outbox ob = { 0 }, next = { 0 };
	unsigned round = 0;

	CHECK_OK(mcn_agg_coord_start(w->coord, NOW + world_t, &ob));
	while (ob.n > 0) {
		struct reply rep[2 * NN];
		size_t nrep = 0, order[NN];
		round++;
		for (size_t i = 0; i < ob.n; i++) {
			order[i] = i;
		}
		for (size_t i = ob.n; w->shuffle != NULL && i > 1; i--) {
			size_t j = rnd_below(w->shuffle, i), t = order[i - 1];
			order[i - 1] = order[j];
			order[j] = t;
		}
		for (size_t q = 0; q < ob.n; q++) {
			const mcn_agg_out *o = &ob.msgs[order[q]];
			struct reply *r = &rep[nrep];
			if (w->down[o->to]) {
				continue;
			}
			w->last_node_rv[o->to] =
			    mcn_agg_node_handle(w->node[o->to], o->bytes,
			        o->len, NOW + world_t + round, &r->b, &r->len, NULL, 0);
			CHECK(r->b != NULL);
			r->from = o->to;
			r->lost = round == 2 && w->drop_r2[o->to];
			nrep++;
			if (w->dup) {
				rep[nrep] = *r;
				rep[nrep].b = mcn_alloc(r->len);
				memcpy(rep[nrep].b, r->b, r->len);
				nrep++;
			}
		}
		for (size_t i = nrep; w->shuffle != NULL && i > 1; i--) {
			size_t j = rnd_below(w->shuffle, i);
			struct reply t = rep[i - 1];
			rep[i - 1] = rep[j];
			rep[j] = t;
		}
		for (size_t i = 0; capture_release && i < nrep; i++) {
			mcn_open_opts o;
			mcn_message m;
			memset(&o, 0, sizeof(o));
			o.max_len = 1 << 22;
			o.verifier = &mcnt_verifier;
			o.role = MCN_ROLE_NODE;
			o.tpub = fx_pub;
			o.max_skew_ms = UINT64_MAX;
			if (mcn_msg_open(&m, rep[i].b, rep[i].len, &o, NULL, 0) ==
			        MCN_OK &&
			    m.h.type == MCN_MSG_RELEASE &&
			    m.u.release.nmasked == NV) {
				for (size_t k = 0; k < NV; k++) {
					captured[k] += m.u.release.masked[k];
				}
				ncaptured++;
			}
			mcn_msg_clear(&m);
		}
		for (size_t i = 0; i < nrep; i++) {
			if (!rep[i].lost) {
				CHECK_OK(mcn_agg_coord_on_reply(w->coord,
				    rep[i].from, rep[i].b, rep[i].len,
				    NOW + world_t + round, &next));
			}
		}
		for (size_t i = 0; i < nrep; i++) {
			mcn_free(rep[i].b, rep[i].len);
		}
		for (size_t i = 0; i < ob.n; i++) {
			size_t to = ob.msgs[i].to;
			if (w->down[to] || (round == 2 && w->drop_r2[to])) {
				CHECK_OK(mcn_agg_coord_on_timeout(w->coord, to,
				    NOW + world_t + round, &next));
			}
		}
		mcn_agg_outbox_clear(&ob);
		ob = next;
		memset(&next, 0, sizeof(next));
	}
	mcn_agg_outbox_clear(&ob);
}

/* The expected sum over the sites with in[i] set. */
static void
check_sums(struct world *w, const int *in)
{
	size_t nv = 0;
	const mpz_t *s = mcn_agg_coord_sums(w->coord, &nv);
	mpz_t want, t;
	int bad = 0;

	CHECK_U64_EQ(nv, NV);
	if (s == NULL || nv != NV) {
		return;
	}
	mpz_inits(want, t, NULL);
	for (size_t k = 0; k < NV; k++) {
		mpz_set_ui(want, 0);
		for (unsigned i = 0; i < NN; i++) {
			if (in[i]) {
				mpz_set_si(t, val(i, k));
				mpz_add(want, want, t);
			}
		}
		if (mpz_cmp(want, s[k]) != 0) {
			gmp_fprintf(stderr, "slot %zu: got %Zd want %Zd\n", k,
			    s[k], want);
			bad++;
		}
	}
	CHECK(bad == 0);
	mpz_clears(want, t, NULL);
}

static const int all_in[NN] = { 1, 1, 1, 1 };

static void
run_mode_all_up(mcn_agg_mode mode)
{
	struct world w;
	uint64_t bo, bi;
	unsigned rounds;
	mcn_agg_stats st;

	REQUIRE_OK(world_init(&w, mode, 1));
	world_run(&w);
	CHECK_U64_EQ(mcn_agg_coord_phase(w.coord), MCN_AGG_DONE);
	CHECK_OK(mcn_agg_coord_error(w.coord, NULL));
	CHECK_U64_EQ(mcn_agg_coord_ncontributors(w.coord), NN);
	for (size_t i = 0; i < NN; i++) {
		mcn_err code = MCN_EINVAL;
		CHECK_U64_EQ(mcn_agg_coord_site(w.coord, i, &code, NULL),
		    MCN_AGG_SITE_CONTRIBUTED);
		CHECK_ERR(code, MCN_OK);
		CHECK(mcn_agg_coord_site_in_sum(w.coord, i) == 1);
		CHECK_U64_EQ(w.pc[i].calls, 1);
	}
	check_sums(&w, all_in);
	mcn_agg_coord_stats(w.coord, &bo, &bi, &rounds);
	CHECK_U64_EQ(rounds, mode == MCN_AGG_PAILLIER ? 2 : 1);
	CHECK(bo > 0 && bi > 0);
	mcn_agg_node_stats(w.node[0], &st);
	CHECK_U64_EQ(st.requests, mode == MCN_AGG_PAILLIER ? 2 : 1);
	CHECK_U64_EQ(st.refusals, 0);
	CHECK(st.bytes_in > 0 && st.bytes_out > 0);
	world_free(&w);
}

static void
test_paillier_sum(void)
{
	run_mode_all_up(MCN_AGG_PAILLIER);
}

static void
test_masked_sum(void)
{
	run_mode_all_up(MCN_AGG_MASKED);
}

static void
test_plain_sum(void)
{
	run_mode_all_up(MCN_AGG_PLAIN);
}

/* A masked contribution hides the vector; masks differ per query. */
static void
test_masked_values_hidden(void)
{
	struct world w;
	uint64_t first[NV];
	int same_as_plain = 0, same_as_before = 0;
	mcn_open_opts o;

	REQUIRE_OK(world_init(&w, MCN_AGG_MASKED, 0));
	memset(&o, 0, sizeof(o));
	o.max_len = 1 << 22;
	o.verifier = &mcnt_verifier;
	o.role = MCN_ROLE_NODE;
	o.max_skew_ms = UINT64_MAX;
	for (int q = 0; q < 2; q++) {
		mcn_agg_outbox ob = { 0 };
		uint8_t *b;
		size_t l;
		mcn_message m;
		if (q == 1) {
			mcn_agg_coord_free(w.coord);
			REQUIRE_OK(mcn_agg_coord_new(&w.coord, &w.ccfg));
		}
		REQUIRE_OK(mcn_agg_coord_start(w.coord, NOW, &ob));
		REQUIRE_OK(mcn_agg_node_handle(w.node[0], ob.msgs[0].bytes,
		    ob.msgs[0].len, NOW, &b, &l, NULL, 0));
		REQUIRE_OK(mcn_msg_open(&m, b, l, &o, NULL, 0));
		CHECK_U64_EQ(m.u.contribution.nmasked, NV);
		for (size_t k = 0; k < NV && m.u.contribution.nmasked == NV;
		     k++) {
			uint64_t x = m.u.contribution.masked[k];
			same_as_plain += x == (uint64_t)val(0, k);
			if (q == 0) {
				first[k] = x;
			} else {
				same_as_before += x == first[k];
			}
		}
		mcn_msg_clear(&m);
		mcn_free(b, l);
		mcn_agg_outbox_clear(&ob);
	}
	CHECK(same_as_plain == 0);
	CHECK(same_as_before == 0);
	world_free(&w);
}

/* A node restart forgets the query ids it has seen. A querier re-using an
 * id with another query must then get fresh masks (the label binds the
 * text), or it could difference the two masked vectors. The plan gives the
 * same values for any text, so equal masks would mean equal replies. */
static void
test_masked_id_reuse_after_restart(void)
{
	struct world w;
	uint64_t first[NV];
	int same = 0;
	mcn_open_opts o;
	const char *texts[2] = { "SELECT count() FROM t", "SELECT sum(x) FROM t" };

	REQUIRE_OK(world_init(&w, MCN_AGG_MASKED, 0));
	memset(&o, 0, sizeof(o));
	o.max_len = 1 << 22;
	o.verifier = &mcnt_verifier;
	o.role = MCN_ROLE_NODE;
	o.max_skew_ms = UINT64_MAX;
	uint8_t qid0[MCN_QUERY_ID_BYTES];
	for (int q = 0; q < 2; q++) {
		mcn_agg_outbox ob = { 0 };
		mcn_agg_coord_cfg cc = w.ccfg;
		mcn_agg_coord *co = NULL;
		uint8_t *b;
		size_t l;
		mcn_message m;
		/* same seed: the same query id both times */
		mcn_rng *r = mcnt_rng(777);
		cc.rng = r;
		cc.query_text = texts[q];
		if (q == 1) {
			/* restart node 0 */
			mcn_agg_node_free(w.node[0]);
			w.node[0] = NULL;
			REQUIRE_OK(mcn_agg_node_new(&w.node[0], &w.ncfg[0]));
		}
		REQUIRE_OK(mcn_agg_coord_new(&co, &cc));
		REQUIRE_OK(mcn_agg_coord_start(co, NOW, &ob));
		if (q == 0) {
			memcpy(qid0, mcn_agg_coord_query_id(co), sizeof(qid0));
		} else {
			CHECK(memcmp(qid0, mcn_agg_coord_query_id(co), sizeof(qid0)) == 0);
		}
		REQUIRE_OK(mcn_agg_node_handle(w.node[0], ob.msgs[0].bytes,
		    ob.msgs[0].len, NOW, &b, &l, NULL, 0));
		REQUIRE_OK(mcn_msg_open(&m, b, l, &o, NULL, 0));
		CHECK(m.h.type == MCN_MSG_CONTRIBUTION);
		CHECK_U64_EQ(m.u.contribution.nmasked, NV);
		for (size_t k = 0; k < NV && m.u.contribution.nmasked == NV; k++) {
			if (q == 0) {
				first[k] = m.u.contribution.masked[k];
			} else {
				same += m.u.contribution.masked[k] == first[k];
			}
		}
		mcn_msg_clear(&m);
		mcn_free(b, l);
		mcn_agg_outbox_clear(&ob);
		mcn_agg_coord_free(co);
		mcn_rng_free(r);
	}
	CHECK(same == 0);
	world_free(&w);
}

static void
test_paillier_node_down(void)
{
	struct world w;
	const int in[NN] = { 1, 1, 0, 1 };
	mcn_err code;

	REQUIRE_OK(world_init(&w, MCN_AGG_PAILLIER, 0));
	w.down[2] = 1;
	world_run(&w);
	CHECK_U64_EQ(mcn_agg_coord_phase(w.coord), MCN_AGG_DONE);
	CHECK_U64_EQ(mcn_agg_coord_ncontributors(w.coord), 3);
	CHECK_U64_EQ(mcn_agg_coord_site(w.coord, 2, &code, NULL),
	    MCN_AGG_SITE_TIMEOUT);
	CHECK_ERR(code, MCN_ETIMEDOUT);
	CHECK(mcn_agg_coord_site_in_sum(w.coord, 2) == 0);
	CHECK(mcn_agg_coord_site_in_sum(w.coord, 3) == 1);
	check_sums(&w, in);
	world_free(&w);
}

static void
test_masked_node_down(void)
{
	struct world w;
	const char *msg = NULL;

	REQUIRE_OK(world_init(&w, MCN_AGG_MASKED, 0));
	w.down[1] = 1;
	world_run(&w);
	CHECK_U64_EQ(mcn_agg_coord_phase(w.coord), MCN_AGG_FAILED);
	CHECK_ERR(mcn_agg_coord_error(w.coord, &msg), MCN_ETOOFEW);
	CHECK(
	    msg != NULL && strstr(msg, "masked mode needs every site") != NULL);
	CHECK(msg != NULL && strstr(msg, "site2 (timeout)") != NULL);
	CHECK(msg != NULL && strstr(msg, "site1") == NULL);
	CHECK(mcn_agg_coord_sums(w.coord, NULL) == NULL);
	CHECK_U64_EQ(mcn_agg_coord_site(w.coord, 1, NULL, NULL),
	    MCN_AGG_SITE_TIMEOUT);
	world_free(&w);
}

static void
test_plain_refused(void)
{
	struct world w;
	const int in[NN] = { 0, 1, 1, 1 };
	const char *reason = NULL;
	mcn_err code;
	mcn_agg_stats st;

	REQUIRE_OK(world_init(&w, MCN_AGG_PLAIN, 1));
	/* site1 does not allow plain mode */
	mcn_agg_node_free(w.node[0]);
	w.ncfg[0].allow_plain = 0;
	REQUIRE_OK(mcn_agg_node_new(&w.node[0], &w.ncfg[0]));
	world_run(&w);
	CHECK_ERR(w.last_node_rv[0], MCN_EREFUSED);
	CHECK_U64_EQ(mcn_agg_coord_phase(w.coord), MCN_AGG_DONE);
	CHECK_U64_EQ(mcn_agg_coord_site(w.coord, 0, &code, &reason),
	    MCN_AGG_SITE_REFUSED);
	CHECK_ERR(code, MCN_EREFUSED);
	CHECK(reason != NULL &&
	    strcmp(reason, "plain mode is not allowed by this node") == 0);
	CHECK_U64_EQ(w.pc[0].calls, 0); /* refused before any data is read */
	CHECK_U64_EQ(mcn_agg_coord_ncontributors(w.coord), 3);
	check_sums(&w, in);
	mcn_agg_node_stats(w.node[0], &st);
	CHECK_U64_EQ(st.refusals, 1);
	world_free(&w);
}

static void
test_plan_refusal(void)
{
	struct world w;
	const char *reason = NULL, *msg = NULL;
	mcn_err code;

	REQUIRE_OK(world_init(&w, MCN_AGG_PAILLIER, 0));
	mcn_agg_coord_free(w.coord);
	w.ccfg.query_text = "REFUSE this";
	REQUIRE_OK(mcn_agg_coord_new(&w.coord, &w.ccfg));
	world_run(&w);
	CHECK_ERR(w.last_node_rv[3], MCN_EQUERY);
	CHECK_U64_EQ(mcn_agg_coord_phase(w.coord), MCN_AGG_FAILED);
	CHECK_ERR(mcn_agg_coord_error(w.coord, &msg), MCN_ETOOFEW);
	CHECK(msg != NULL && strstr(msg, "fewer than 2 sites") != NULL);
	CHECK(msg != NULL &&
	    strstr(msg,
	        "site4 (refused: column not "
	        "allowed for this role)") != NULL);
	CHECK_U64_EQ(mcn_agg_coord_site(w.coord, 3, &code, &reason),
	    MCN_AGG_SITE_REFUSED);
	CHECK_ERR(code, MCN_EQUERY);
	CHECK(reason != NULL &&
	    strcmp(reason, "column not allowed for this role") == 0);
	world_free(&w);
}

/* Slots: a finished query gives its slot back at once, so queries in a
 * row never run out (3 x max_active of them here); a querier that
 * abandons queries after round 1 fills only its own share of the slots
 * (refused with the reason, before its query is even planned) while
 * another querier's queries go through; the abandoned slots come back
 * when they expire. */
static void
test_slots(void)
{
	struct world w;
	char why[256];

	world_max_active = 6;
	world_per_querier = 4;
	REQUIRE_OK(world_init(&w, MCN_AGG_PAILLIER, 0));
	for (int i = 0; i < 18; i++) {
		mcn_agg_coord_free(w.coord);
		REQUIRE_OK(mcn_agg_coord_new(&w.coord, &w.ccfg));
		world_run(&w);
		CHECK_U64_EQ(mcn_agg_coord_phase(w.coord), MCN_AGG_DONE);
		check_sums(&w, all_in);
	}
	/* alice abandons 4 queries after round 1 at every node */
	unsigned calls0 = w.pc[0].calls;
	for (int i = 0; i < 5; i++) {
		mcn_agg_outbox ob = { 0 };
		mcn_agg_coord_free(w.coord);
		REQUIRE_OK(mcn_agg_coord_new(&w.coord, &w.ccfg));
		REQUIRE_OK(mcn_agg_coord_start(w.coord, NOW, &ob));
		for (size_t k = 0; k < ob.n; k++) {
			uint8_t *r = NULL;
			size_t rl = 0;
			why[0] = 0;
			mcn_err rv = mcn_agg_node_handle(w.node[ob.msgs[k].to],
			    ob.msgs[k].bytes, ob.msgs[k].len, NOW + 1, &r, &rl,
			    why, sizeof(why));
			if (i < 4) {
				CHECK_OK(rv);
			} else {
				CHECK_ERR(rv, MCN_EREFUSED);
				CHECK(strcmp(why, "you have 4 queries in progress "
				                  "at this node (the limit per "
				                  "querier): let them finish, or "
				                  "wait until they expire") == 0);
			}
			mcn_free(r, rl);
		}
		mcn_agg_outbox_clear(&ob);
	}
	CHECK_U64_EQ(w.pc[0].calls, calls0 + 4); /* the 5th never planned */
	/* bob's queries are answered, and fill the last 2 slots only while
	 * in progress */
	w.ccfg.signer = &w.bob.signer;
	for (int i = 0; i < 8; i++) {
		mcn_agg_coord_free(w.coord);
		REQUIRE_OK(mcn_agg_coord_new(&w.coord, &w.ccfg));
		world_run(&w);
		CHECK_U64_EQ(mcn_agg_coord_phase(w.coord), MCN_AGG_DONE);
		check_sums(&w, all_in);
	}
	/* after the ttl, alice's slots are free again */
	w.ccfg.signer = &w.alice.signer;
	world_t = w.ncfg[0].query_ttl_ms + 10;
	mcn_agg_coord_free(w.coord);
	REQUIRE_OK(mcn_agg_coord_new(&w.coord, &w.ccfg));
	world_run(&w);
	CHECK_U64_EQ(mcn_agg_coord_phase(w.coord), MCN_AGG_DONE);
	world_free(&w);
	world_t = 0;
	world_max_active = world_per_querier = 0;
	/* limits above what a node holds are refused */
	mcn_agg_node_cfg c;
	REQUIRE_OK(world_init(&w, MCN_AGG_PAILLIER, 0));
	mcn_agg_node *bad = NULL;
	c = w.ncfg[0];
	c.max_active = MCN_AGG_MAX_ACTIVE + 1;
	CHECK_ERR(mcn_agg_node_new(&bad, &c), MCN_EINVAL);
	c.max_active = 4;
	c.max_per_querier = 5;
	CHECK_ERR(mcn_agg_node_new(&bad, &c), MCN_EINVAL);
	CHECK(bad == NULL);
	world_free(&w);
}

/* Fail closed: a node that cannot record its answer (the commit hook
 * fails, e.g. the audit log is unwritable) sends a signed refusal
 * instead; the others' answers are recorded with what went out. */
static void
test_commit_fail_closed(void)
{
	struct world w;
	const char *reason = NULL;
	mcn_err code;
	static const int in[NN] = { 0, 1, 1, 1 };

	REQUIRE_OK(world_init(&w, MCN_AGG_PAILLIER, 0));
	w.pc[0].fail_commit = 1;
	world_run(&w);
	CHECK_U64_EQ(mcn_agg_coord_phase(w.coord), MCN_AGG_DONE);
	CHECK_U64_EQ(mcn_agg_coord_site(w.coord, 0, &code, &reason),
	    MCN_AGG_SITE_REFUSED);
	CHECK_ERR(code, MCN_ESYS);
	CHECK(reason != NULL && strcmp(reason, "audit log unavailable") == 0);
	CHECK(!mcn_agg_coord_site_in_sum(w.coord, 0));
	check_sums(&w, in);
	CHECK_U64_EQ(w.pc[0].commits[MCN_AGG_EV_QUERY], 0);
	unsigned nq = 0, nd = 0;
	for (unsigned i = 1; i < NN; i++) {
		nq += w.pc[i].commits[MCN_AGG_EV_QUERY];
		nd += w.pc[i].commits[MCN_AGG_EV_DECRYPT];
		CHECK(strcmp(w.pc[i].last_querier, "alice") == 0);
	}
	CHECK_U64_EQ(nq, 3);
	unsigned asked = 0; /* nodes that handled a DECRYPT */
	for (unsigned i = 1; i < NN; i++) {
		mcn_agg_stats st;
		mcn_agg_node_stats(w.node[i], &st);
		asked += st.requests == 2;
	}
	CHECK(nd >= T && nd == asked);
	mcn_agg_event ev;
	mcn_agg_node_last(w.node[0], &ev);
	CHECK(ev.type == MCN_AGG_EV_QUERY && ev.has_query_id &&
	    ev.reply_bytes == 0 && ev.nvalues == NV &&
	    memcmp(ev.query_id, mcn_agg_coord_query_id(w.coord),
	        MCN_QUERY_ID_BYTES) == 0);
	world_free(&w);
}

/* How many nodes were asked to decrypt (handled 2 requests). */
static unsigned
nodes_decrypting(struct world *w)
{
	unsigned k = 0;
	for (unsigned i = 0; i < NN; i++) {
		mcn_agg_stats st;
		mcn_agg_node_stats(w->node[i], &st);
		k += st.requests == 2;
	}
	return k;
}

/* By default round 2 asks exactly t contributors, the earliest answers. */
static void
test_decrypt_asks_t(void)
{
	struct world w;
	uint64_t bo, bi;
	unsigned rounds = 0;

	world_spare = 0;
	REQUIRE_OK(world_init(&w, MCN_AGG_PAILLIER, 0));
	world_spare = NN;
	world_run(&w);
	CHECK_U64_EQ(mcn_agg_coord_phase(w.coord), MCN_AGG_DONE);
	CHECK_U64_EQ(mcn_agg_coord_ncontributors(w.coord), NN);
	check_sums(&w, all_in);
	CHECK_U64_EQ(nodes_decrypting(&w), T);
	mcn_agg_coord_stats(w.coord, &bo, &bi, &rounds);
	CHECK_U64_EQ(rounds, 2);
	world_free(&w);
}

/* One of the t asked fails in round 2: the coordinator asks another
 * contributor in a further round; the failed one stays in the sum. */
static void
test_decrypt_fallback(void)
{
	struct world w;
	uint64_t bo, bi;
	unsigned rounds = 0;
	mcn_err code;

	world_spare = 0;
	REQUIRE_OK(world_init(&w, MCN_AGG_PAILLIER, 0));
	world_spare = NN;
	w.drop_r2[0] = 1; /* site1 answered first in round 1, so it is asked */
	world_run(&w);
	CHECK_U64_EQ(mcn_agg_coord_phase(w.coord), MCN_AGG_DONE);
	check_sums(&w, all_in);
	CHECK_U64_EQ(nodes_decrypting(&w), T + 1);
	mcn_agg_coord_stats(w.coord, &bo, &bi, &rounds);
	CHECK_U64_EQ(rounds, 3);
	CHECK_U64_EQ(mcn_agg_coord_site(w.coord, 0, &code, NULL),
	    MCN_AGG_SITE_TIMEOUT);
	CHECK_ERR(code, MCN_ETIMEDOUT);
	CHECK(mcn_agg_coord_site_in_sum(w.coord, 0) == 1);
	world_free(&w);
}

/* Shuffled delivery, every reply twice, a lost DECRYPT reply. */
static void
test_shuffle_duplicate_drop(void)
{
	for (unsigned seed = 1; seed <= 3; seed++) {
		for (int mode = MCN_AGG_PAILLIER; mode <= MCN_AGG_PLAIN;
		     mode++) {
			struct world w;
			mcn_err code;
			REQUIRE_OK(world_init(&w, (mcn_agg_mode)mode, 1));
			w.shuffle = mcnt_rng(1000 + seed);
			w.dup = 1;
			if (mode == MCN_AGG_PAILLIER) {
				w.drop_r2[seed % NN] = 1;
			}
			world_run(&w);
			CHECK_U64_EQ(mcn_agg_coord_phase(w.coord),
			    MCN_AGG_DONE);
			CHECK_U64_EQ(mcn_agg_coord_ncontributors(w.coord), NN);
			check_sums(&w, all_in);
			if (mode == MCN_AGG_PAILLIER) {
				/* reported, but its vector is in the sum */
				CHECK_U64_EQ(mcn_agg_coord_site(w.coord,
				                 seed % NN, &code, NULL),
				    MCN_AGG_SITE_TIMEOUT);
				CHECK_ERR(code, MCN_ETIMEDOUT);
				CHECK(mcn_agg_coord_site_in_sum(w.coord,
				          seed % NN) == 1);
			}
			world_free(&w);
		}
	}
}

/* Too many lost DECRYPT replies: fewer than t partials. */
static void
test_paillier_too_few_partials(void)
{
	struct world w;
	const char *msg = NULL;

	REQUIRE_OK(world_init(&w, MCN_AGG_PAILLIER, 0));
	w.drop_r2[0] = w.drop_r2[1] = w.drop_r2[2] = 1;
	world_run(&w);
	CHECK_U64_EQ(mcn_agg_coord_phase(w.coord), MCN_AGG_FAILED);
	CHECK_ERR(mcn_agg_coord_error(w.coord, &msg), MCN_ETOOFEW);
	CHECK(msg != NULL &&
	    strstr(msg, "fewer than 2 valid partial decryptions") != NULL);
	CHECK(msg != NULL && strstr(msg, "site1 (timeout)") != NULL);
	CHECK(msg != NULL && strstr(msg, "site4") == NULL);
	world_free(&w);
}

/* A reply from the wrong node is INVALID; the query still completes. */
static void
test_reply_from_wrong_node(void)
{
	struct world w;
	mcn_agg_outbox ob = { 0 }, next = { 0 };
	uint8_t *rep[NN];
	size_t len[NN];
	const int in[NN] = { 0, 1, 1, 1 };
	mcn_err code;

	REQUIRE_OK(world_init(&w, MCN_AGG_PAILLIER, 0));
	REQUIRE_OK(mcn_agg_coord_start(w.coord, NOW, &ob));
	REQUIRE_OK(ob.n == NN ? MCN_OK : MCN_EINVAL);
	for (size_t i = 0; i < NN; i++) {
		CHECK_OK(
		    mcn_agg_node_handle(w.node[ob.msgs[i].to], ob.msgs[i].bytes,
		        ob.msgs[i].len, NOW, &rep[i], &len[i], NULL, 0));
	}
	/* site2's reply arrives as if from site1 */
	CHECK_OK(
	    mcn_agg_coord_on_reply(w.coord, 0, rep[1], len[1], NOW, &next));
	CHECK_U64_EQ(mcn_agg_coord_site(w.coord, 0, &code, NULL),
	    MCN_AGG_SITE_INVALID);
	CHECK_ERR(code, MCN_ECERT);
	for (size_t i = 0; i < NN; i++) {
		CHECK_OK(mcn_agg_coord_on_reply(w.coord, i, rep[i], len[i], NOW,
		    &next));
		mcn_free(rep[i], len[i]);
	}
	CHECK_U64_EQ(mcn_agg_coord_site(w.coord, 0, NULL, NULL),
	    MCN_AGG_SITE_INVALID); /* the genuine late reply is ignored */
	CHECK_U64_EQ(mcn_agg_coord_phase(w.coord), MCN_AGG_ROUND2);
	CHECK_U64_EQ(next.n, 3); /* DECRYPT to the three contributors */
	mcn_agg_outbox_clear(&ob);
	ob = next;
	memset(&next, 0, sizeof(next));
	for (size_t i = 0; i < ob.n; i++) {
		uint8_t *b;
		size_t l;
		CHECK(ob.msgs[i].to != 0);
		CHECK_OK(
		    mcn_agg_node_handle(w.node[ob.msgs[i].to], ob.msgs[i].bytes,
		        ob.msgs[i].len, NOW + 5, &b, &l, NULL, 0));
		CHECK_OK(mcn_agg_coord_on_reply(w.coord, ob.msgs[i].to, b, l,
		    NOW + 5, &next));
		mcn_free(b, l);
	}
	CHECK_U64_EQ(mcn_agg_coord_phase(w.coord), MCN_AGG_DONE);
	CHECK_U64_EQ(mcn_agg_coord_ncontributors(w.coord), 3);
	check_sums(&w, in);
	mcn_agg_outbox_clear(&ob);
	mcn_agg_outbox_clear(&next);
	world_free(&w);
}

/* Round 2 by hand: site1's partials are forged (bad proof), site2's are
 * made with site3's share; both are INVALID and named, the sum still
 * comes from the other two. */
static void
test_invalid_partials(void)
{
	struct world w;
	mcn_agg_outbox ob = { 0 }, next = { 0 };
	mcn_open_opts o;
	mcn_err code;
	const char *reason;

	REQUIRE_OK(world_init(&w, MCN_AGG_PAILLIER, 0));
	REQUIRE_OK(mcn_agg_coord_start(w.coord, NOW, &ob));
	for (size_t i = 0; i < ob.n; i++) {
		uint8_t *b;
		size_t l;
		CHECK_OK(mcn_agg_node_handle(w.node[ob.msgs[i].to],
		    ob.msgs[i].bytes, ob.msgs[i].len, NOW, &b, &l, NULL, 0));
		CHECK_OK(mcn_agg_coord_on_reply(w.coord, ob.msgs[i].to, b, l,
		    NOW, &next));
		mcn_free(b, l);
	}
	mcn_agg_outbox_clear(&ob);
	ob = next;
	memset(&next, 0, sizeof(next));
	REQUIRE_OK(ob.n == NN ? MCN_OK : MCN_EINVAL);
	memset(&o, 0, sizeof(o));
	o.max_len = 1 << 22;
	o.verifier = &mcnt_verifier;
	o.role = MCN_ROLE_NODE;
	o.tpub = fx_pub;
	o.max_skew_ms = UINT64_MAX;
	for (size_t i = 0; i < ob.n; i++) {
		size_t to = ob.msgs[i].to;
		uint8_t *b;
		size_t l;
		CHECK_OK(mcn_agg_node_handle(w.node[to], ob.msgs[i].bytes,
		    ob.msgs[i].len, NOW + 1, &b, &l, NULL, 0));
		if (to == 0 || to == 1) {
			mcn_message m;
			REQUIRE_OK(mcn_msg_open(&m, b, l, &o, NULL, 0));
			mcn_free(b, l);
			if (to == 0) {
				mpz_add_ui(m.u.partials.parts[1].z,
				    m.u.partials.parts[1].z, 1);
			} else {
				mcn_message d;
				mcn_open_opts oq = o;
				oq.role = MCN_ROLE_QUERIER;
				REQUIRE_OK(mcn_msg_open(&d, ob.msgs[i].bytes,
				    ob.msgs[i].len, &oq, NULL, 0));
				for (size_t j = 0; j < m.u.partials.nparts;
				     j++) {
					CHECK_OK(mcn_tpaillier_partial_decrypt(
					    fx_pub, fx_sh[2],
					    &m.u.partials.parts[j],
					    d.u.decrypt.products[j], w.rng));
				}
				mcn_msg_clear(&d);
			}
			m.h.version = 0;
			REQUIRE_OK(mcn_msg_seal(&b, &l, &m, &w.np[to].signer,
			    fx_pub, w.rng));
			mcn_msg_clear(&m);
		}
		CHECK_OK(
		    mcn_agg_coord_on_reply(w.coord, to, b, l, NOW + 1, &next));
		mcn_free(b, l);
	}
	CHECK_U64_EQ(mcn_agg_coord_phase(w.coord), MCN_AGG_DONE);
	CHECK_U64_EQ(mcn_agg_coord_site(w.coord, 0, &code, &reason),
	    MCN_AGG_SITE_INVALID);
	CHECK_ERR(code, MCN_EPROOF);
	CHECK(strcmp(reason,
	          "round 2: partial decryption proof does not "
	          "verify") == 0);
	CHECK_U64_EQ(mcn_agg_coord_site(w.coord, 1, &code, &reason),
	    MCN_AGG_SITE_INVALID);
	CHECK_ERR(code, MCN_EPARTY);
	CHECK(mcn_agg_coord_site_in_sum(w.coord, 0) == 1);
	CHECK_U64_EQ(mcn_agg_coord_ncontributors(w.coord), NN);
	check_sums(&w, all_in);
	mcn_agg_outbox_clear(&ob);
	mcn_agg_outbox_clear(&next);
	world_free(&w);
}

/* ---- hostile requests against one node ---- */

/* Opens a node's reply; returns its type, *code the ERROR code. */
static mcn_msg_type
reply_type(const uint8_t *b, size_t len, mcn_err *code, char *reason,
    size_t rlen)
{
	mcn_open_opts o;
	mcn_message m;
	mcn_msg_type t;

	memset(&o, 0, sizeof(o));
	o.max_len = 1 << 22;
	o.verifier = &mcnt_verifier;
	o.role = MCN_ROLE_NODE;
	o.tpub = fx_pub;
	o.max_skew_ms = UINT64_MAX;
	if (mcn_msg_open(&m, b, len, &o, NULL, 0) != MCN_OK) {
		return (mcn_msg_type)0;
	}
	t = m.h.type;
	*code = t == MCN_MSG_ERROR ? m.u.error.code : MCN_OK;
	if (reason != NULL) {
		snprintf(reason, rlen, "%s",
		    t == MCN_MSG_ERROR ? m.u.error.reason : "");
	}
	mcn_msg_clear(&m);
	return t;
}

static int
has_sub(const char *s, const char *sub)
{
	return sub == NULL || strstr(s, sub) != NULL;
}

/* Sends req to node i; checks the returned code, the code in the signed
 * reply and (if given) a substring of the reason. */
#define EXPECT(w, i, req, reqlen, when, want, substr)                       \
	do {                                                                \
		uint8_t *rb_;                                               \
		size_t rl_;                                                 \
		char why_[300], rr_[300];                                   \
		mcn_err got_, code_ = MCN_EINVAL;                           \
		got_ = mcn_agg_node_handle((w)->node[i], (req), (reqlen),   \
		    (when), &rb_, &rl_, why_, sizeof(why_));                \
		CHECK_ERR(got_, (want));                                    \
		CHECK(rb_ != NULL);                                         \
		if (rb_ != NULL) {                                          \
			mcn_msg_type t_ =                                   \
			    reply_type(rb_, rl_, &code_, rr_, sizeof(rr_)); \
			CHECK_U64_EQ(t_,                                    \
			    (want) == MCN_OK ? MCN_MSG_PARTIALS :           \
			                       MCN_MSG_ERROR);              \
			CHECK_ERR(code_, (want));                           \
			CHECK(has_sub(rr_, (substr)));                      \
			CHECK(has_sub(why_, (substr)));                     \
			mcn_free(rb_, rl_);                                 \
		}                                                           \
	} while (0)

/* Round 1 run by hand: the QUERY bytes, every contribution envelope and
 * ciphertexts. */
struct r1 {
	uint8_t *query[NN];
	size_t qlen[NN];
	uint8_t *env[NN];
	size_t elen[NN];
	mpz_t *cts[NN];
	size_t ncts;
	uint8_t qid[16];
	uint64_t ts; /* timestamp of hand-made DECRYPTs */
};

static void
r1_run(struct world *w, struct r1 *r)
{
	mcn_agg_outbox ob = { 0 };
	mcn_open_opts o;

	memset(r, 0, sizeof(*r));
	CHECK_OK(mcn_agg_coord_start(w->coord, NOW + world_t, &ob));
	memcpy(r->qid, mcn_agg_coord_query_id(w->coord), 16);
	r->ts = NOW + 10;
	memset(&o, 0, sizeof(o));
	o.max_len = 1 << 22;
	o.verifier = &mcnt_verifier;
	o.role = MCN_ROLE_NODE;
	o.tpub = fx_pub;
	o.max_skew_ms = UINT64_MAX;
	for (size_t i = 0; i < ob.n; i++) {
		size_t to = ob.msgs[i].to;
		mcn_message m;
		r->qlen[to] = ob.msgs[i].len;
		r->query[to] = malloc(r->qlen[to]);
		memcpy(r->query[to], ob.msgs[i].bytes, r->qlen[to]);
		CHECK_OK(mcn_agg_node_handle(w->node[to], r->query[to],
		    r->qlen[to], NOW, &r->env[to], &r->elen[to], NULL, 0));
		CHECK_OK(
		    mcn_msg_open(&m, r->env[to], r->elen[to], &o, NULL, 0));
		r->cts[to] = m.u.contribution.cts;
		r->ncts = m.u.contribution.ncts;
		m.u.contribution.cts = NULL; /* keep them */
		m.u.contribution.ncts = 0;
		mcn_msg_clear(&m);
	}
	mcn_agg_outbox_clear(&ob);
}

static void
r1_free(struct r1 *r)
{
	for (int i = 0; i < NN; i++) {
		free(r->query[i]);
		mcn_free(r->env[i], r->elen[i]);
		if (r->cts[i] != NULL) {
			for (size_t j = 0; j < r->ncts; j++) {
				mpz_clear(r->cts[i][j]);
			}
			mcn_free(r->cts[i], r->ncts * sizeof(mpz_t));
		}
	}
}

/* Seals a DECRYPT for r's query by `who` listing the given envelopes, with
 * products over the sites in `prod_of` (NULL: the listed ones). */
static void
seal_decrypt(uint8_t **out, size_t *outlen, struct r1 *r,
    const struct mcnt_party *who, const mcn_blob *envs, size_t nenv,
    const int *prod_of, mcn_rng *rng)
{
	const mcn_paillier_pk *pk = mcn_tpaillier_pk(fx_pub);
	mpz_t prod[8];
	int first = 1;
	mcn_message m;

	REQUIRE_OK(r->ncts <= 8 ? MCN_OK : MCN_EINVAL);
	for (size_t j = 0; j < r->ncts; j++) {
		mpz_init_set_ui(prod[j], 1);
	}
	for (int i = 0; i < NN; i++) {
		int use = prod_of != NULL ? prod_of[i] : 0;
		if (prod_of == NULL) {
			for (size_t e = 0; e < nenv; e++) {
				use |= envs[e].data == r->env[i];
			}
		}
		if (!use) {
			continue;
		}
		for (size_t j = 0; j < r->ncts; j++) {
			if (first) {
				mpz_set(prod[j], r->cts[i][j]);
			} else {
				mcn_paillier_ee_add(pk, prod[j], prod[j],
				    r->cts[i][j]);
			}
		}
		first = 0;
	}
	memset(&m, 0, sizeof(m));
	memcpy(m.h.query_id, r->qid, 16);
	m.h.round = 2;
	m.h.type = MCN_MSG_DECRYPT;
	m.h.timestamp_ms = r->ts;
	m.u.decrypt.contributions = (mcn_blob *)envs;
	m.u.decrypt.ncontributions = nenv;
	m.u.decrypt.products = prod;
	m.u.decrypt.nproducts = r->ncts;
	*out = NULL;
	CHECK_OK(mcn_msg_seal(out, outlen, &m, &who->signer, fx_pub, rng));
	for (size_t j = 0; j < r->ncts; j++) {
		mpz_clear(prod[j]);
	}
}

static void
all_envs(mcn_blob *envs, struct r1 *r)
{
	for (int i = 0; i < NN; i++) {
		envs[i].data = r->env[i];
		envs[i].len = r->elen[i];
	}
}

static void
test_node_refuses_bad_decrypt(void)
{
	struct world w;
	struct r1 r;
	mcn_blob envs[NN + 1];
	uint8_t *b;
	size_t len;
	const uint64_t T2 = NOW + 10;

	REQUIRE_OK(world_init(&w, MCN_AGG_PAILLIER, 0));
	r1_run(&w, &r);
	REQUIRE_OK(r.ncts == 2 ? MCN_OK : MCN_EINVAL);

	/* Only site1's own contribution. */
	envs[0].data = r.env[0];
	envs[0].len = r.elen[0];
	seal_decrypt(&b, &len, &r, &w.alice, envs, 1, NULL, w.rng);
	EXPECT(&w, 0, b, len, T2, MCN_EREFUSED,
	    "fewer than 2 contributing sites");
	mcn_free(b, len);

	/* All four listed, but the product is site2's ciphertext alone. */
	all_envs(envs, &r);
	{
		const int only2[NN] = { 0, 1, 0, 0 };
		seal_decrypt(&b, &len, &r, &w.alice, envs, NN, only2, w.rng);
		EXPECT(&w, 0, b, len, T2, MCN_EREFUSED,
		    "product does not match the signed contributions");
		mcn_free(b, len);
	}
	/* Its own contribution missing. */
	seal_decrypt(&b, &len, &r, &w.alice, envs + 1, NN - 1, NULL, w.rng);
	EXPECT(&w, 0, b, len, T2, MCN_EREFUSED,
	    "my own contribution is missing");
	mcn_free(b, len);

	/* A tampered contribution: one byte of site3's ciphertext. */
	{
		uint8_t *copy = malloc(r.elen[2]);
		size_t L = mcn_paillier_ct_len(mcn_tpaillier_pk(fx_pub));
		uint8_t *ct = malloc(L), *at;
		memcpy(copy, r.env[2], r.elen[2]);
		REQUIRE_OK(mcn_paillier_ct_export(mcn_tpaillier_pk(fx_pub), ct,
		    L, r.cts[2][1]));
		at = memmem(copy, r.elen[2], ct, L);
		REQUIRE_OK(at != NULL ? MCN_OK : MCN_EINVAL);
		at[L - 5] ^= 0x10;
		envs[2].data = copy;
		seal_decrypt(&b, &len, &r, &w.alice, envs, NN,
		    (const int[]){ 1, 1, 1, 1 }, w.rng);
		EXPECT(&w, 0, b, len, T2, MCN_ESIG,
		    "contribution 2: signature does not verify");
		mcn_free(b, len);
		envs[2].data = r.env[2];
		free(copy);
		free(ct);
	}
	/* The same site twice. */
	envs[NN] = envs[1];
	seal_decrypt(&b, &len, &r, &w.alice, envs, NN + 1, all_in, w.rng);
	EXPECT(&w, 0, b, len, T2, MCN_EDUPLICATE, NULL);
	mcn_free(b, len);
	{
		mcn_blob two[3] = { envs[0], envs[1], envs[1] };
		const int p01[NN] = { 1, 1, 0, 0 };
		seal_decrypt(&b, &len, &r, &w.alice, two, 3, p01, w.rng);
		EXPECT(&w, 0, b, len, T2, MCN_EDUPLICATE,
		    "two contributions from site site2");
		mcn_free(b, len);
	}
	/* A contribution from a node outside the consortium, otherwise
	 * well-formed (same query, layout and a ciphertext of the key). */
	{
		struct mcnt_party out;
		mcn_open_opts o;
		mcn_message m, c;
		uint8_t *ob;
		size_t ol;
		mcnt_party_init(&out, "site9", MCN_ROLE_NODE, NULL);
		memset(&o, 0, sizeof(o));
		o.max_len = 1 << 22;
		o.verifier = &mcnt_verifier;
		o.role = MCN_ROLE_NODE;
		o.tpub = fx_pub;
		o.max_skew_ms = UINT64_MAX;
		REQUIRE_OK(mcn_msg_open(&m, r.env[3], r.elen[3], &o, NULL, 0));
		c = m;
		c.h.version = 0;
		REQUIRE_OK(
		    mcn_msg_seal(&ob, &ol, &c, &out.signer, fx_pub, w.rng));
		envs[3].data = ob;
		envs[3].len = ol;
		seal_decrypt(&b, &len, &r, &w.alice, envs, NN, all_in, w.rng);
		EXPECT(&w, 0, b, len, T2, MCN_ECERT,
		    "comes from a party outside the consortium");
		mcn_free(b, len);
		mcn_free(ob, ol);
		mcn_msg_clear(&m);
		envs[3].data = r.env[3];
		envs[3].len = r.elen[3];
	}
	/* DECRYPT by another querier; for an unknown query. */
	seal_decrypt(&b, &len, &r, &w.bob, envs, NN, NULL, w.rng);
	EXPECT(&w, 0, b, len, T2, MCN_EROUND,
	    "the query belongs to another querier");
	mcn_free(b, len);
	r.qid[0] ^= 1;
	seal_decrypt(&b, &len, &r, &w.alice, envs, NN, NULL, w.rng);
	EXPECT(&w, 0, b, len, T2, MCN_EROUND, "unknown or expired query");
	mcn_free(b, len);
	r.qid[0] ^= 1;
	/* A DECRYPT made long ago is stale; after the query's time to
	 * live, the state is gone (node 3 here: time only moves forward, and
	 * an expired query's state is released at the next request). */
	seal_decrypt(&b, &len, &r, &w.alice, envs, NN, NULL, w.rng);
	EXPECT(&w, 3, b, len, NOW + 600000, MCN_ESTALE, NULL);
	mcn_free(b, len);
	r.ts = NOW + 600000;
	seal_decrypt(&b, &len, &r, &w.alice, envs, NN, NULL, w.rng);
	EXPECT(&w, 3, b, len, NOW + 600000, MCN_EROUND,
	    "unknown or expired query");
	mcn_free(b, len);
	r.ts = NOW + 10;

	/* The genuine request works once; a second one (fresh envelope) is
	 * refused (the query's state is released once it is decrypted), and
	 * the replayed envelope too. */
	seal_decrypt(&b, &len, &r, &w.alice, envs, NN, NULL, w.rng);
	EXPECT(&w, 0, b, len, T2, MCN_OK, NULL);
	EXPECT(&w, 0, b, len, T2, MCN_EREPLAY, NULL);
	mcn_free(b, len);
	seal_decrypt(&b, &len, &r, &w.alice, envs, NN, NULL, w.rng);
	EXPECT(&w, 0, b, len, T2, MCN_EROUND, "already finished");
	/* Another node still decrypts the same request. */
	EXPECT(&w, 1, b, len, T2, MCN_OK, NULL);
	mcn_free(b, len);

	r1_free(&r);
	world_free(&w);
}

/* Differencing by text: the querier sends site1 the real query and the
 * other sites, under the SAME query id, another text with the same layout
 * (say one whose WHERE matches nobody, so they contribute zeros). If site1
 * decrypted the product of those contributions, the "sum over >= min_sites
 * sites" would be site1's vector alone. Every contribution is bound to
 * the query text, so site1 refuses; the honest request still works. */
static void
test_decrypt_binds_query_text(void)
{
	static const char other[] = "SELECT sum(x) FROM patients WHERE x < 0";
	struct world w;
	struct r1 r;
	mcn_agg_outbox ob = { 0 };
	mcn_party_id ids[NN];
	mcn_blob envs[NN];
	mcn_open_opts o;
	uint8_t *b;
	size_t len;

	REQUIRE_OK(world_init(&w, MCN_AGG_PAILLIER, 0));
	memset(&r, 0, sizeof(r));
	CHECK_OK(mcn_agg_coord_start(w.coord, NOW, &ob));
	memcpy(r.qid, mcn_agg_coord_query_id(w.coord), 16);
	r.ts = NOW + 10;
	for (int i = 0; i < NN; i++) {
		memcpy(ids[i], w.peers[i].id, sizeof(ids[i]));
	}
	memset(&o, 0, sizeof(o));
	o.max_len = 1 << 22;
	o.verifier = &mcnt_verifier;
	o.role = MCN_ROLE_NODE;
	o.tpub = fx_pub;
	o.max_skew_ms = UINT64_MAX;
	for (size_t i = 0; i < ob.n; i++) {
		size_t to = ob.msgs[i].to;
		mcn_message m;
		if (to == 0) { /* the coordinator's own QUERY */
			r.qlen[0] = ob.msgs[i].len;
			r.query[0] = malloc(r.qlen[0]);
			memcpy(r.query[0], ob.msgs[i].bytes, r.qlen[0]);
		} else { /* same id, another text */
			memset(&m, 0, sizeof(m));
			memcpy(m.h.query_id, r.qid, 16);
			m.h.round = 1;
			m.h.type = MCN_MSG_QUERY;
			m.h.timestamp_ms = NOW;
			m.u.query.text = (char *)other;
			m.u.query.mode = MCN_MSG_MODE_PAILLIER;
			memset(m.u.query.dict_fp, 0xd1, 32);
			m.u.query.participants = ids;
			m.u.query.nparticipants = NN;
			m.u.query.has_key_fp = 1;
			memcpy(m.u.query.key_fp,
			    mcn_paillier_fingerprint(mcn_tpaillier_pk(fx_pub)),
			    32);
			r.query[to] = NULL;
			CHECK_OK(mcn_msg_seal(&b, &len, &m, &w.alice.signer,
			    NULL, w.rng));
			r.query[to] = malloc(len);
			memcpy(r.query[to], b, len);
			r.qlen[to] = len;
			mcn_free(b, len);
		}
		CHECK_OK(mcn_agg_node_handle(w.node[to], r.query[to],
		    r.qlen[to], NOW, &r.env[to], &r.elen[to], NULL, 0));
		CHECK_OK(mcn_msg_open(&m, r.env[to], r.elen[to], &o, NULL, 0));
		r.cts[to] = m.u.contribution.cts;
		r.ncts = m.u.contribution.ncts;
		m.u.contribution.cts = NULL;
		m.u.contribution.ncts = 0;
		mcn_msg_clear(&m);
	}
	mcn_agg_outbox_clear(&ob);

	/* site1 with the three others: refused, and the query not spent */
	all_envs(envs, &r);
	seal_decrypt(&b, &len, &r, &w.alice, envs, NN, NULL, w.rng);
	EXPECT(&w, 0, b, len, NOW + 10, MCN_EREFUSED,
	    "contribution of site site2 was made for another query");
	mcn_free(b, len);
	/* the others among themselves (all made for `other`): fine, they
	 * are a genuine sum over three sites of one query */
	seal_decrypt(&b, &len, &r, &w.alice, envs + 1, NN - 1, NULL, w.rng);
	EXPECT(&w, 1, b, len, NOW + 10, MCN_OK, NULL);
	mcn_free(b, len);
	/* the coordinator also refuses the others' contributions */
	for (size_t i = 0; i < NN; i++) {
		CHECK_OK(mcn_agg_coord_on_reply(w.coord, i, r.env[i], r.elen[i],
		    NOW + 1, &ob));
	}
	CHECK_U64_EQ(mcn_agg_coord_phase(w.coord), MCN_AGG_FAILED);
	CHECK_U64_EQ(mcn_agg_coord_site(w.coord, 0, NULL, NULL),
	    MCN_AGG_SITE_CONTRIBUTED);
	for (size_t i = 1; i < NN; i++) {
		mcn_err code = MCN_OK;
		CHECK_U64_EQ(mcn_agg_coord_site(w.coord, i, &code, NULL),
		    MCN_AGG_SITE_INVALID);
		CHECK_ERR(code, MCN_EPROTO);
	}
	CHECK_U64_EQ(ob.n, 0);
	mcn_agg_outbox_clear(&ob);
	r1_free(&r);
	world_free(&w);
}

static void
test_node_refuses_bad_query(void)
{
	struct world w;
	struct r1 r;
	mcn_message m;
	uint8_t *b;
	size_t len;
	mcn_party_id ids[NN];

	REQUIRE_OK(world_init(&w, MCN_AGG_PAILLIER, 0));
	r1_run(&w, &r);

	/* The same QUERY envelope again. */
	EXPECT(&w, 0, r.query[0], r.qlen[0], NOW + 1, MCN_EREPLAY,
	    "already seen");
	/* site2's QUERY (another nonce) at site1: same query id. */
	EXPECT(&w, 0, r.query[1], r.qlen[1], NOW + 1, MCN_EREPLAY,
	    "query id already used");

	for (int i = 0; i < NN; i++) {
		memcpy(ids[i], w.peers[i].id, sizeof(ids[i]));
	}
#define QUERY_INIT(mm, qid0, text_)                                          \
	do {                                                                 \
		memset(&(mm), 0, sizeof(mm));                                \
		memcpy((mm).h.query_id, r.qid, 16);                          \
		(mm).h.query_id[0] = (qid0);                                 \
		/* never r.qid itself, whatever its first byte */            \
		(mm).h.query_id[1] = (uint8_t)~r.qid[1];                     \
		(mm).h.round = 1;                                            \
		(mm).h.type = MCN_MSG_QUERY;                                 \
		(mm).h.timestamp_ms = NOW;                                   \
		(mm).u.query.text = (char *)(text_);                         \
		(mm).u.query.mode = MCN_MSG_MODE_PAILLIER;                   \
		memset((mm).u.query.dict_fp, 0xd1, 32);                      \
		(mm).u.query.participants = ids;                             \
		(mm).u.query.nparticipants = NN;                             \
		(mm).u.query.has_key_fp = 1;                                 \
		memcpy((mm).u.query.key_fp,                                  \
		    mcn_paillier_fingerprint(mcn_tpaillier_pk(fx_pub)), 32); \
	} while (0)
#define SEND(who, mm, node, when, want, substr)                         \
	do {                                                            \
		REQUIRE_OK(mcn_msg_seal(&b, &len, &(mm), &(who).signer, \
		    fx_pub, w.rng));                                    \
		EXPECT(&w, node, b, len, when, want, substr);           \
		mcn_free(b, len);                                       \
	} while (0)

	/* Re-used query id, different text. */
	QUERY_INIT(m, r.qid[0], "SELECT count() FROM patients");
	memcpy(m.h.query_id, r.qid, 16);
	SEND(w.alice, m, 0, NOW + 1, MCN_EREPLAY, "query id already used");
	/* Signed by a node, not a querier. */
	QUERY_INIT(m, 0x01, "q");
	SEND(w.np[1], m, 0, NOW + 1, MCN_ECERT, NULL);
	/* Participants not the consortium (order swapped; one missing). */
	QUERY_INIT(m, 0x02, "q");
	memcpy(ids[0], "site2", 6);
	memcpy(ids[1], "site1", 6);
	SEND(w.alice, m, 0, NOW + 1, MCN_EREFUSED, "participant list differs");
	memcpy(ids[0], "site1", 6);
	memcpy(ids[1], "site2", 6);
	QUERY_INIT(m, 0x03, "q");
	m.u.query.nparticipants = NN - 1;
	SEND(w.alice, m, 0, NOW + 1, MCN_EREFUSED, "participant list differs");
	/* Another threshold key; another data dictionary. */
	QUERY_INIT(m, 0x04, "q");
	m.u.query.key_fp[5] ^= 1;
	SEND(w.alice, m, 0, NOW + 1, MCN_EKEYMISMATCH, "fingerprint");
	QUERY_INIT(m, 0x05, "q");
	m.u.query.has_key_fp = 0;
	SEND(w.alice, m, 0, NOW + 1, MCN_EKEYMISMATCH, "fingerprint");
	QUERY_INIT(m, 0x06, "q");
	m.u.query.dict_fp[0] ^= 1;
	SEND(w.alice, m, 0, NOW + 1, MCN_EREFUSED, "dictionary");
	/* Plain mode at a node that does not allow it. */
	QUERY_INIT(m, 0x07, "q");
	m.u.query.mode = MCN_MSG_MODE_PLAIN;
	SEND(w.alice, m, 0, NOW + 1, MCN_EREFUSED,
	    "plain mode is not allowed by this node");
	/* Wrong round; stale and future timestamps. */
	QUERY_INIT(m, 0x08, "q");
	m.h.round = 2;
	SEND(w.alice, m, 0, NOW + 1, MCN_EROUND, "round 1");
	QUERY_INIT(m, 0x09, "q");
	m.h.timestamp_ms = NOW - 60001;
	SEND(w.alice, m, 0, NOW, MCN_ESTALE, NULL);
	QUERY_INIT(m, 0x0a, "q");
	m.h.timestamp_ms = NOW + 60001;
	SEND(w.alice, m, 0, NOW, MCN_ESTALE, NULL);
	/* A DECRYPT for a masked query (no decryption state). */
	QUERY_INIT(m, 0x0b, "q");
	m.u.query.mode = MCN_MSG_MODE_MASKED;
	REQUIRE_OK(mcn_msg_seal(&b, &len, &m, &w.alice.signer, NULL, w.rng));
	{
		uint8_t *rb;
		size_t rl;
		mcn_err code = MCN_EINVAL;
		CHECK_OK(mcn_agg_node_handle(w.node[0], b, len, NOW, &rb, &rl,
		    NULL, 0));
		CHECK_U64_EQ(reply_type(rb, rl, &code, NULL, 0),
		    MCN_MSG_CONTRIBUTION);
		mcn_free(rb, rl);
	}
	mcn_free(b, len);
	{
		mcn_blob envs[NN];
		uint8_t save = r.qid[0];
		all_envs(envs, &r);
		r.qid[0] = 0x0b;
		seal_decrypt(&b, &len, &r, &w.alice, envs, NN, NULL, w.rng);
		EXPECT(&w, 0, b, len, NOW + 1, MCN_EROUND,
		    "unknown or expired query");
		mcn_free(b, len);
		r.qid[0] = save;
	}
	/* A node's own reply type sent to a node. */
	EXPECT(&w, 1, r.env[0], r.elen[0], NOW, MCN_ECERT, NULL);

	/* Oversized: refused unread, with an ERROR (zero query id). */
	{
		size_t big = w.ncfg[0].max_message + 1;
		uint8_t *junk = calloc(1, big);
		EXPECT(&w, 0, junk, big, NOW, MCN_ETOOBIG, "larger");
		EXPECT(&w, 0, junk, 100, NOW, MCN_EPROTO, NULL);
		free(junk);
	}
	/* Unreadable requests never consume a query id. */
	QUERY_INIT(m, 0x0c, "q");
	m.h.version = 7;
	SEND(w.alice, m, 0, NOW, MCN_EVERSION, NULL);
	QUERY_INIT(m, 0x0c, "q");
	REQUIRE_OK(mcn_msg_seal(&b, &len, &m, &w.alice.signer, NULL, w.rng));
	{
		uint8_t *rb;
		size_t rl;
		mcn_err code = MCN_EINVAL;
		CHECK_OK(mcn_agg_node_handle(w.node[0], b, len, NOW, &rb, &rl,
		    NULL, 0));
		CHECK_U64_EQ(reply_type(rb, rl, &code, NULL, 0),
		    MCN_MSG_CONTRIBUTION);
		mcn_free(rb, rl);
	}
	mcn_free(b, len);
#undef QUERY_INIT
#undef SEND
	r1_free(&r);
	world_free(&w);
}

/* The coordinator drops what does not belong to its query. */
static void
test_coord_checks_replies(void)
{
	struct world w, w2;
	struct r1 r;
	mcn_agg_outbox ob = { 0 };
	mcn_err code;
	const char *reason;

	REQUIRE_OK(world_init(&w, MCN_AGG_PAILLIER, 0));
	REQUIRE_OK(world_init(&w2, MCN_AGG_PAILLIER, 0));
	r1_run(&w2, &r); /* another query's contributions */
	CHECK_OK(mcn_agg_coord_start(w.coord, NOW, &ob));
	/* A contribution for another query. */
	CHECK_OK(
	    mcn_agg_coord_on_reply(w.coord, 0, r.env[0], r.elen[0], NOW, &ob));
	CHECK_U64_EQ(mcn_agg_coord_site(w.coord, 0, &code, &reason),
	    MCN_AGG_SITE_INVALID);
	CHECK_ERR(code, MCN_EROUND);
	CHECK(strcmp(reason, "reply for another query") == 0);
	/* Garbage. */
	CHECK_OK(mcn_agg_coord_on_reply(w.coord, 1, (const uint8_t *)"xx", 2,
	    NOW, &ob));
	CHECK_U64_EQ(mcn_agg_coord_site(w.coord, 1, &code, &reason),
	    MCN_AGG_SITE_INVALID);
	CHECK_ERR(code, MCN_EPROTO);
	CHECK(strncmp(reason, "reply rejected: ", 16) == 0);
	/* A timeout for a site that answered changes nothing. */
	CHECK_OK(mcn_agg_coord_on_timeout(w.coord, 1, NOW, &ob));
	CHECK_U64_EQ(mcn_agg_coord_site(w.coord, 1, NULL, NULL),
	    MCN_AGG_SITE_INVALID);
	CHECK_OK(mcn_agg_coord_on_timeout(w.coord, 2, NOW, &ob));
	CHECK_U64_EQ(mcn_agg_coord_phase(w.coord), MCN_AGG_ROUND1);
	CHECK_OK(mcn_agg_coord_on_timeout(w.coord, 3, NOW, &ob));
	CHECK_U64_EQ(mcn_agg_coord_phase(w.coord), MCN_AGG_FAILED);
	CHECK_ERR(mcn_agg_coord_error(w.coord, NULL), MCN_ETOOFEW);
	CHECK_U64_EQ(ob.n, NN); /* only the QUERYs */
	CHECK_ERR(mcn_agg_coord_start(w.coord, NOW, &ob), MCN_ESTATE);
	/* Late replies after the end are ignored. */
	CHECK_OK(
	    mcn_agg_coord_on_reply(w.coord, 2, r.env[2], r.elen[2], NOW, &ob));
	mcn_agg_outbox_clear(&ob);
	r1_free(&r);
	world_free(&w);
	world_free(&w2);
}

static void
test_config_checks(void)
{
	struct world w;
	mcn_agg_node *n = NULL;
	mcn_agg_coord *c = NULL;
	mcn_agg_node_cfg nc;
	mcn_agg_coord_cfg cc;
	mcn_agg_mode md;
	mcn_agg_layout bad = { .fields = (mcn_pack_field *)layout_fields,
		.nfields = NF, .nvalues = NV + 1 };

	REQUIRE_OK(world_init(&w, MCN_AGG_PAILLIER, 0));
	nc = w.ncfg[0];
	nc.min_sites = 1;
	CHECK_ERR(mcn_agg_node_new(&n, &nc), MCN_EINVAL);
	nc = w.ncfg[0];
	nc.my_index = 2; /* share and signer are site1's */
	CHECK_ERR(mcn_agg_node_new(&n, &nc), MCN_EINVAL);
	nc = w.ncfg[0];
	nc.npeers = 3; /* key has 4 parties */
	CHECK_ERR(mcn_agg_node_new(&n, &nc), MCN_EINVAL);
	CHECK(n == NULL);
	cc = w.ccfg;
	cc.layout = &bad;
	CHECK_ERR(mcn_agg_coord_new(&c, &cc), MCN_EINVAL);
	cc = w.ccfg;
	cc.query_text = "";
	CHECK_ERR(mcn_agg_coord_new(&c, &cc), MCN_EINVAL);
	cc = w.ccfg;
	cc.tpub = NULL;
	CHECK_ERR(mcn_agg_coord_new(&c, &cc), MCN_EINVAL);
	CHECK(c == NULL);
	CHECK_OK(mcn_agg_mode_parse("masked", &md));
	CHECK_U64_EQ(md, MCN_AGG_MASKED);
	CHECK_ERR(mcn_agg_mode_parse("Paillier", &md), MCN_EINVAL);
	CHECK(strcmp(mcn_agg_mode_name(MCN_AGG_PLAIN), "plain") == 0);
	{
		uint8_t d1[32], d2[32];
		mcn_pack_field f2[NF];
		mcn_agg_layout L2 = { .fields = f2, .nfields = NF, .nvalues = NV };
		memcpy(f2, layout_fields, sizeof(f2));
		mcn_agg_layout_digest(d1, &w.layout);
		mcn_agg_layout_digest(d2, &L2);
		CHECK(memcmp(d1, d2, 32) == 0);
		f2[1].lo = -501;
		mcn_agg_layout_digest(d2, &L2);
		CHECK(memcmp(d1, d2, 32) != 0);
	}
	world_free(&w);
}

static void
test_cleanup(void)
{
	for (int i = 0; i < NN; i++) {
		mcn_tpaillier_share_free(fx_sh[i]);
		fx_sh[i] = NULL;
	}
	mcn_tpaillier_pub_free(fx_pub);
	fx_pub = NULL;
	mcn_wipe(fx_kp, sizeof(fx_kp));
	CHECK(fx_pub == NULL);
}

/* Release control, every mode: unit 0 (pooled count 1 + 11 + 21 + 31 =
 * 64 >= 10) is released exactly, unit 1 (count 4 < 10) is withheld: its
 * sums are 0 for the querier, and the decision is what the rule says. */
static void
run_control(mcn_agg_mode mode, const int *down)
{
	struct world w;
	int in[NN];
	unsigned n = 0, rounds = 0;
	int64_t cnt0 = 0;

	ctl_on = 1;
	decide_calls = 0;
	REQUIRE_OK(world_init(&w, mode, 1));
	for (unsigned i = 0; i < NN; i++) {
		w.down[i] = down != NULL && down[i];
		in[i] = !w.down[i];
		if (in[i]) {
			n++;
			cnt0 += ctl_val(i, 0);
		}
	}
	world_run(&w);
	CHECK_U64_EQ(mcn_agg_coord_phase(w.coord), MCN_AGG_DONE);
	if (mcn_agg_coord_phase(w.coord) != MCN_AGG_DONE) {
		const char *msg = "";
		(void)mcn_agg_coord_error(w.coord, &msg);
		fprintf(stderr, "  query failed: %s\n", msg);
	}
	CHECK_U64_EQ(mcn_agg_coord_ncontributors(w.coord), n);
	CHECK(mcn_agg_coord_unit_released(w.coord, 0) == 1);
	CHECK(mcn_agg_coord_unit_released(w.coord, 1) == 0);
	size_t nd = 0, nv = 0;
	const int64_t *d = mcn_agg_coord_decision(w.coord, &nd);
	CHECK_U64_EQ(nd, 4);
	if (d != NULL && nd == 4) {
		CHECK(d[0] == cnt0 && d[1] == -1 && d[2] == (int64_t)n &&
		    d[3] == (int64_t)n);
	}
	const mpz_t *sums = mcn_agg_coord_sums(w.coord, &nv);
	CHECK_U64_EQ(nv, NV);
	for (size_t k = 0; sums != NULL && k < NV; k++) {
		mpz_t want, t;
		mpz_inits(want, t, NULL);
		for (unsigned i = 0; k < 5 && i < NN; i++) {
			if (in[i]) {
				mpz_set_si(t, val(i, k));
				mpz_add(want, want, t);
			}
		}
		if (mpz_cmp(want, sums[k]) != 0) {
			MCNT_FAIL("slot %zu", k);
		}
		mpz_clears(want, t, NULL);
	}
	mcn_agg_coord_stats(w.coord, NULL, NULL, &rounds);
	CHECK_U64_EQ(rounds, mode == MCN_AGG_PAILLIER ? 3 :
	                     mode == MCN_AGG_MASKED   ? 2 :
	                                                1);
	/* paillier: exactly t deciders (decrypt_spare does not apply: each
	 * decider sees the pooled control); masked: every node; plain: the
	 * querier itself */
	CHECK(decide_calls == (mode == MCN_AGG_PAILLIER ? T :
	                       mode == MCN_AGG_MASKED   ? NN :
	                                                  1));
	world_free(&w);
	ctl_on = 0;
}

static void
test_control_paillier(void)
{
	static const int down[NN] = { 0, 0, 1, 0 };
	run_control(MCN_AGG_PAILLIER, NULL);
	run_control(MCN_AGG_PAILLIER, down);
}

static void
test_control_masked(void)
{
	run_control(MCN_AGG_MASKED, NULL);
}

static void
test_control_plain(void)
{
	run_control(MCN_AGG_PLAIN, NULL);
}

/* A querier that tries to get more than the decision releases: after the
 * release, a second round-3 DECRYPT, a second round-2 DECRYPT and a
 * round-3 DECRYPT whose boxes come from a non-decider are refused, and a
 * node never answers round 3 before it has sealed its control partials. */
static void
test_control_attacks(void)
{
	struct world w;
	mcn_agg_outbox ob = { 0 }, next = { 0 };
	uint8_t *rep = NULL;
	size_t replen = 0;

	ctl_on = 1;
	world_spare = 0; /* D = the first t contributors */
	REQUIRE_OK(world_init(&w, MCN_AGG_PAILLIER, 0));
	world_spare = NN;
	/* round 1 */
	REQUIRE_OK(mcn_agg_coord_start(w.coord, NOW, &ob));
	for (size_t i = 0; i < ob.n; i++) {
		REQUIRE_OK(mcn_agg_node_handle(w.node[ob.msgs[i].to],
		    ob.msgs[i].bytes, ob.msgs[i].len, NOW + 1, &rep, &replen,
		    NULL, 0));
		REQUIRE_OK(mcn_agg_coord_on_reply(w.coord, ob.msgs[i].to, rep,
		    replen, NOW + 1, &next));
		mcn_free(rep, replen);
	}
	mcn_agg_outbox_clear(&ob);
	ob = next;
	memset(&next, 0, sizeof(next));
	CHECK_U64_EQ(ob.n, T); /* round 2 to the t deciders */
	/* a round-2 DECRYPT is answered once: keep a copy to replay */
	uint8_t *r2 = mcn_alloc(ob.msgs[0].len);
	size_t r2len = ob.msgs[0].len, r2to = ob.msgs[0].to;
	memcpy(r2, ob.msgs[0].bytes, r2len);
	for (size_t i = 0; i < ob.n; i++) {
		CHECK_OK(mcn_agg_node_handle(w.node[ob.msgs[i].to],
		    ob.msgs[i].bytes, ob.msgs[i].len, NOW + 2, &rep, &replen,
		    NULL, 0));
		CHECK_OK(mcn_agg_coord_on_reply(w.coord, ob.msgs[i].to, rep,
		    replen, NOW + 2, &next));
		mcn_free(rep, replen);
	}
	/* the same node asked round 2 again (replayed envelope: replay;
	 * so the node's own state is what refuses a fresh one, see below) */
	CHECK_ERR(mcn_agg_node_handle(w.node[r2to], r2, r2len, NOW + 2, &rep,
	    &replen, NULL, 0), MCN_EREPLAY);
	mcn_free(rep, replen);
	mcn_free(r2, r2len);
	/* a node outside D gets a round-3 DECRYPT: it never sealed
	 * anything, so it is refused */
	size_t outsider = SIZE_MAX;
	for (size_t i = 0; i < NN && outsider == SIZE_MAX; i++) {
		int asked = 0;
		for (size_t j = 0; j < next.n; j++) {
			asked |= next.msgs[j].to == i;
		}
		if (!asked) {
			outsider = i;
		}
	}
	REQUIRE_OK(outsider != SIZE_MAX ? MCN_OK : MCN_EINVAL);
	CHECK_ERR(mcn_agg_node_handle(w.node[outsider], next.msgs[0].bytes,
	    next.msgs[0].len, NOW + 3, &rep, &replen, NULL, 0), MCN_EROUND);
	mcn_free(rep, replen);
	/* round 3: the deciders release; a second round 3 is refused */
	mcn_agg_outbox_clear(&ob);
	ob = next;
	memset(&next, 0, sizeof(next));
	for (size_t i = 0; i < ob.n; i++) {
		CHECK_OK(mcn_agg_node_handle(w.node[ob.msgs[i].to],
		    ob.msgs[i].bytes, ob.msgs[i].len, NOW + 3, &rep, &replen,
		    NULL, 0));
		CHECK_OK(mcn_agg_coord_on_reply(w.coord, ob.msgs[i].to, rep,
		    replen, NOW + 3, &next));
		mcn_free(rep, replen);
	}
	CHECK_U64_EQ(mcn_agg_coord_phase(w.coord), MCN_AGG_DONE);
	CHECK(mcn_agg_coord_unit_released(w.coord, 1) == 0);
	/* the same round-3 request sealed afresh by the querier */
	mcn_message m;
	memset(&m, 0, sizeof(m));
	memcpy(m.h.query_id, mcn_agg_coord_query_id(w.coord),
	    MCN_QUERY_ID_BYTES);
	m.h.round = 3;
	m.h.type = MCN_MSG_DECRYPT;
	m.h.timestamp_ms = NOW + 4;
	uint8_t *b = NULL;
	size_t blen = 0;
	REQUIRE_OK(mcn_msg_seal(&b, &blen, &m, &w.alice.signer, NULL, w.rng));
	CHECK_ERR(mcn_agg_node_handle(w.node[ob.msgs[0].to], b, blen, NOW + 4,
	    &rep, &replen, NULL, 0), MCN_EROUND);
	mcn_free(rep, replen);
	mcn_free(b, blen);
	mcn_agg_outbox_clear(&ob);
	mcn_agg_outbox_clear(&next);
	world_free(&w);
	ctl_on = 0;
}

/* Masked mode with nodes whose rules differ: site1 would release unit 1
 * (its own threshold is 1), the others withhold it. The query fails, and
 * a querier that adds up every RELEASE anyway gets no sum of unit 1: the
 * value masks are bound to the decision, so they cancel only when every
 * node decided the same (before that binding, the querier got site1's own
 * values of unit 1 here). */
static void
test_control_masked_disagree(void)
{
	struct world w;
	static int64_t lax = 1;

	ctl_on = 1;
	ctl_node0_k = &lax;
	REQUIRE_OK(world_init(&w, MCN_AGG_MASKED, 0));
	ctl_node0_k = NULL;
	memset(captured, 0, sizeof(captured));
	ncaptured = 0;
	capture_release = 1;
	world_run(&w);
	capture_release = 0;
	CHECK_U64_EQ(mcn_agg_coord_phase(w.coord), MCN_AGG_FAILED);
	const char *msg = "";
	CHECK_ERR(mcn_agg_coord_error(w.coord, &msg), MCN_EREFUSED);
	CHECK(strstr(msg, "disagree") != NULL);
	CHECK_U64_EQ(ncaptured, NN);
	/* unit 1 = slots 5.. : site1's values would be the whole sum */
	int leaked = 0;
	for (size_t k = 5; k < NV; k++) {
		int64_t lo = layout_fields[k < 9 ? 2 : k < 29 ? 3 : 4].lo;
		uint64_t want = (uint64_t)val(0, k) + 3 * (uint64_t)lo;
		leaked += captured[k] == want;
	}
	CHECK(leaked == 0);
	/* unit 0 too: with the masks bound to different decisions nothing
	 * adds up */
	uint64_t s0 = 0;
	for (unsigned i = 0; i < NN; i++) {
		s0 += (uint64_t)val(i, 0);
	}
	CHECK(captured[0] != s0);
	world_free(&w);
	ctl_on = 0;
}

MCNT_MAIN(
    { "masked_id_reuse_after_restart", test_masked_id_reuse_after_restart },
    { "decrypt_asks_t", test_decrypt_asks_t },
    { "decrypt_fallback", test_decrypt_fallback },
    { "paillier_sum", test_paillier_sum },
    { "masked_sum", test_masked_sum }, { "plain_sum", test_plain_sum },
    { "masked_values_hidden", test_masked_values_hidden },
    { "paillier_node_down", test_paillier_node_down },
    { "masked_node_down", test_masked_node_down },
    { "plain_refused", test_plain_refused },
    { "plan_refusal", test_plan_refusal }, { "slots", test_slots },
    { "commit_fail_closed", test_commit_fail_closed },
    { "shuffle_duplicate_drop", test_shuffle_duplicate_drop },
    { "paillier_too_few_partials", test_paillier_too_few_partials },
    { "reply_from_wrong_node", test_reply_from_wrong_node },
    { "invalid_partials", test_invalid_partials },
    { "node_refuses_bad_decrypt", test_node_refuses_bad_decrypt },
    { "node_refuses_bad_query", test_node_refuses_bad_query },
    { "decrypt_binds_query_text", test_decrypt_binds_query_text },
    { "coord_checks_replies", test_coord_checks_replies },
    { "config_checks", test_config_checks },
    { "control_paillier", test_control_paillier },
    { "control_masked", test_control_masked },
    { "control_plain", test_control_plain },
    { "control_attacks", test_control_attacks },
    { "control_masked_disagree", test_control_masked_disagree },
    { "cleanup", test_cleanup })
