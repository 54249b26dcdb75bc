/*
 * tests/proto/test_codec.c - seal/open round trips for every message type,
 * every refusal code of mcn_msg_open, the replay memory, and a mutation
 * loop over valid messages that must never crash or accept a change.
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

#include "crypto/mem.h"
#include "crypto/paillier.h"
#include "crypto/threshold.h"
#include "proto/codec.h"

#include "fake_sign.h"

/* ---- a hand-written protobuf encoder, to craft what seal never makes ---- */

struct pb {
	uint8_t *b;
	size_t n, cap;
};

static void
pb_init(struct pb *p)
{
	p->cap = 1 << 16;
	p->n = 0;
	p->b = malloc(p->cap);
}

static void
pb_byte(struct pb *p, uint8_t v)
{
	if (p->n < p->cap) {
		p->b[p->n++] = v;
	}
}

static void
pb_varint(struct pb *p, uint64_t v)
{
	while (v >= 0x80) {
		pb_byte(p, (uint8_t)(v | 0x80));
		v >>= 7;
	}
	pb_byte(p, (uint8_t)v);
}

static void
pb_u64(struct pb *p, unsigned field, uint64_t v)
{
	pb_varint(p, (uint64_t)field << 3);
	pb_varint(p, v);
}

static void
pb_bytes(struct pb *p, unsigned field, const void *d, size_t n)
{
	pb_varint(p, ((uint64_t)field << 3) | 2);
	pb_varint(p, n);
	for (size_t i = 0; i < n; i++) {
		pb_byte(p, ((const uint8_t *)d)[i]);
	}
}

/* Header fields of a crafted Signed message (defaults: a valid one). */
struct craft {
	uint32_t version;
	uint8_t qid[32];
	size_t qidlen;
	uint32_t round, type;
	char sender[64];
	uint32_t role;
	uint8_t cert[64];
	size_t certlen;
	uint8_t nonce[32];
	size_t noncelen;
	uint64_t ts;
	struct pb body;
	int extra_field; /* an unknown field in Signed */
	int empty_sig;
};

static void
craft_init(struct craft *c, uint32_t type)
{
	memset(c, 0, sizeof(*c));
	c->version = MCN_PROTO_VERSION;
	memset(c->qid, 0x51, 16);
	c->qidlen = 16;
	c->round = 1;
	c->type = type;
	snprintf(c->sender, sizeof(c->sender), "alice");
	c->role = MCN_ROLE_QUERIER;
	c->certlen =
	    (size_t)snprintf((char *)c->cert, sizeof(c->cert), "alice|querier");
	memset(c->nonce, 0x77, 16);
	c->noncelen = 16;
	c->ts = 1000000;
	pb_init(&c->body);
}

/* Builds the envelope, signed with the key of the certificate's id. */
static void
craft_seal(struct pb *env, struct craft *c)
{
	struct pb s;
	uint8_t sig[32];
	const char *bar = memchr(c->cert, '|', c->certlen);
	size_t idlen =
	    bar != NULL ? (size_t)(bar - (char *)c->cert) : c->certlen;
	static const char ctx[] = "mcn/envelope/v1\n";
	uint8_t *tbs;

	pb_init(&s);
	pb_u64(&s, 1, c->version);
	pb_bytes(&s, 2, c->qid, c->qidlen);
	pb_u64(&s, 3, c->round);
	pb_u64(&s, 4, c->type);
	pb_bytes(&s, 5, c->sender, strlen(c->sender));
	pb_u64(&s, 6, c->role);
	pb_bytes(&s, 7, c->cert, c->certlen);
	pb_bytes(&s, 8, c->nonce, c->noncelen);
	pb_u64(&s, 9, c->ts);
	pb_bytes(&s, 10, c->body.b, c->body.n);
	if (c->extra_field) {
		pb_u64(&s, 15, 7);
	}
	tbs = malloc(sizeof(ctx) - 1 + s.n);
	memcpy(tbs, ctx, sizeof(ctx) - 1);
	memcpy(tbs + sizeof(ctx) - 1, s.b, s.n);
	mcnt_hmac(sig, (const char *)c->cert, idlen, tbs,
	    sizeof(ctx) - 1 + s.n);
	free(tbs);
	pb_init(env);
	pb_bytes(env, 1, s.b, s.n);
	pb_bytes(env, 2, sig, c->empty_sig ? 0 : 32);
	free(s.b);
	free(c->body.b);
}

/* ---- fixture ---- */

static mcn_tpaillier_pub *fx_pub;
static mcn_tpaillier_share *fx_sh[3];

static int
fixture(void)
{
	mcn_rng *rng;

	if (fx_pub != NULL) {
		return 0;
	}
	rng = mcnt_rng(11);
	if (mcn_tpaillier_deal(&fx_pub, fx_sh, 512, 2, 3, rng) != MCN_OK) {
		mcn_rng_free(rng);
		return -1;
	}
	mcn_rng_free(rng);
	return 0;
}

static mcn_open_opts
opts_default(void)
{
	mcn_open_opts o;

	memset(&o, 0, sizeof(o));
	o.max_len = 1 << 20;
	o.verifier = &mcnt_verifier;
	o.role = MCN_ROLE_ANY;
	o.tpub = fx_pub;
	o.now_ms = 1000000;
	o.max_skew_ms = 60000;
	return o;
}

static void
hdr_init(mcn_message *m, mcn_msg_type type, uint32_t round)
{
	memset(m, 0, sizeof(*m));
	m->h.type = type;
	m->h.round = round;
	m->h.timestamp_ms = 1000000;
	for (int i = 0; i < MCN_MSG_QUERY_ID_BYTES; i++) {
		m->h.query_id[i] = (uint8_t)(0xa0 + i);
	}
}

static mcn_party_id mcnt_ids[3] = { "site1", "site2", "site-3.x_y" };
static const char mcnt_text[] = "SELECT count() FROM patients WHERE age > 40";

/* A valid sealed QUERY by alice (querier). Caller frees. */
static void
seal_query(uint8_t **out, size_t *outlen, const struct mcnt_party *q,
    mcn_rng *rng, uint64_t ts, uint32_t version)
{
	mcn_message m;

	hdr_init(&m, MCN_MSG_QUERY, 1);
	m.h.timestamp_ms = ts;
	m.h.version = version;
	m.u.query.text = (char *)mcnt_text;
	m.u.query.mode = MCN_MSG_MODE_PAILLIER;
	memset(m.u.query.dict_fp, 0xd1, 32);
	m.u.query.participants = mcnt_ids;
	m.u.query.nparticipants = 3;
	m.u.query.has_key_fp = 1;
	memcpy(m.u.query.key_fp,
	    mcn_paillier_fingerprint(mcn_tpaillier_pk(fx_pub)), 32);
	*out = NULL;
	CHECK_OK(mcn_msg_seal(out, outlen, &m, &q->signer, NULL, rng));
}

/* ---- round trips ---- */

static void
test_roundtrip_query(void)
{
	struct mcnt_party alice;
	mcn_rng *rng = mcnt_rng(1);
	mcn_open_opts o;
	uint8_t *buf;
	size_t len;
	mcn_message m;
	char err[128];

	REQUIRE_OK(fixture() == 0 ? MCN_OK : MCN_EINVAL);
	o = opts_default();
	mcnt_party_init(&alice, "alice", MCN_ROLE_QUERIER, NULL);
	seal_query(&buf, &len, &alice, rng, 1000000, 0);
	REQUIRE_OK(buf != NULL ? MCN_OK : MCN_EINVAL);
	o.role = MCN_ROLE_QUERIER;
	o.sender = "alice";
	CHECK_OK(mcn_msg_open(&m, buf, len, &o, err, sizeof(err)));
	CHECK_U64_EQ(m.h.version, MCN_PROTO_VERSION);
	CHECK_U64_EQ(m.h.type, MCN_MSG_QUERY);
	CHECK_U64_EQ(m.h.round, 1);
	CHECK(strcmp(m.h.sender, "alice") == 0);
	CHECK_U64_EQ(m.h.role, MCN_ROLE_QUERIER);
	CHECK_U64_EQ(m.h.timestamp_ms, 1000000);
	CHECK(m.h.query_id[0] == 0xa0 && m.h.query_id[15] == 0xaf);
	CHECK(strcmp(m.u.query.text, mcnt_text) == 0);
	CHECK_U64_EQ(m.u.query.mode, MCN_MSG_MODE_PAILLIER);
	CHECK(m.u.query.dict_fp[0] == 0xd1 && m.u.query.dict_fp[31] == 0xd1);
	CHECK_U64_EQ(m.u.query.nparticipants, 3);
	CHECK(strcmp(m.u.query.participants[0], "site1") == 0);
	CHECK(strcmp(m.u.query.participants[2], "site-3.x_y") == 0);
	CHECK(m.u.query.has_key_fp == 1);
	CHECK(memcmp(m.u.query.key_fp,
	          mcn_paillier_fingerprint(mcn_tpaillier_pk(fx_pub)), 32) == 0);
	mcn_msg_clear(&m);
	/* Two seals draw two nonces. */
	{
		uint8_t *b2;
		size_t l2;
		mcn_message m1, m2;
		seal_query(&b2, &l2, &alice, rng, 1000000, 0);
		CHECK_OK(mcn_msg_open(&m1, buf, len, &o, NULL, 0));
		CHECK_OK(mcn_msg_open(&m2, b2, l2, &o, NULL, 0));
		CHECK(memcmp(m1.h.nonce, m2.h.nonce, 16) != 0);
		mcn_msg_clear(&m1);
		mcn_msg_clear(&m2);
		mcn_free(b2, l2);
	}
	mcn_free(buf, len);
	mcn_rng_free(rng);
}

static void
test_roundtrip_contribution(void)
{
	struct mcnt_party site;
	const mcn_paillier_pk *pk;
	mcn_rng *rng = mcnt_rng(2);
	mcn_open_opts o;
	mpz_t cts[2], v;
	uint64_t masked[4] = { 0, 1, UINT64_MAX, 0x8000000000000000ULL };
	int64_t plain[4] = { INT64_MIN, -1, 0, INT64_MAX };
	uint8_t *buf;
	size_t len;
	mcn_message m, r;

	REQUIRE_OK(fixture() == 0 ? MCN_OK : MCN_EINVAL);
	pk = mcn_tpaillier_pk(fx_pub);
	o = opts_default();
	mcnt_party_init(&site, "site1", MCN_ROLE_NODE, NULL);
	mpz_inits(cts[0], cts[1], v, NULL);
	mpz_set_ui(v, 12345);
	REQUIRE_OK(mcn_paillier_encrypt(pk, cts[0], v, rng));
	mpz_set_ui(v, 0);
	REQUIRE_OK(mcn_paillier_encrypt(pk, cts[1], v, rng));

	/* paillier */
	hdr_init(&m, MCN_MSG_CONTRIBUTION, 1);
	m.u.contribution.mode = MCN_MSG_MODE_PAILLIER;
	m.u.contribution.nvalues = 7;
	memset(m.u.contribution.layout_digest, 0x3c, 32);
	m.u.contribution.cts = cts;
	m.u.contribution.ncts = 2;
	CHECK_ERR(mcn_msg_seal(&buf, &len, &m, &site.signer, NULL, rng),
	    MCN_EINVAL); /* ciphertexts need the key */
	REQUIRE_OK(mcn_msg_seal(&buf, &len, &m, &site.signer, fx_pub, rng));
	o.role = MCN_ROLE_NODE;
	REQUIRE_OK(mcn_msg_open(&r, buf, len, &o, NULL, 0));
	CHECK_U64_EQ(r.h.type, MCN_MSG_CONTRIBUTION);
	CHECK_U64_EQ(r.u.contribution.mode, MCN_MSG_MODE_PAILLIER);
	CHECK_U64_EQ(r.u.contribution.nvalues, 7);
	CHECK(r.u.contribution.layout_digest[31] == 0x3c);
	CHECK_U64_EQ(r.u.contribution.ncts, 2);
	CHECK_MPZ_EQ(r.u.contribution.cts[0], cts[0]);
	CHECK_MPZ_EQ(r.u.contribution.cts[1], cts[1]);
	CHECK(
	    r.u.contribution.masked == NULL && r.u.contribution.plain == NULL);
	mcn_msg_clear(&r);
	/* Without the key, ciphertexts are refused. */
	o.tpub = NULL;
	CHECK_ERR(mcn_msg_open(&r, buf, len, &o, NULL, 0), MCN_EPROTO);
	o.tpub = fx_pub;
	mcn_free(buf, len);

	/* masked */
	hdr_init(&m, MCN_MSG_CONTRIBUTION, 1);
	m.u.contribution.mode = MCN_MSG_MODE_MASKED;
	m.u.contribution.nvalues = 4;
	m.u.contribution.masked = masked;
	m.u.contribution.nmasked = 4;
	REQUIRE_OK(mcn_msg_seal(&buf, &len, &m, &site.signer, NULL, rng));
	REQUIRE_OK(mcn_msg_open(&r, buf, len, &o, NULL, 0));
	CHECK_U64_EQ(r.u.contribution.nmasked, 4);
	CHECK(memcmp(r.u.contribution.masked, masked, sizeof(masked)) == 0);
	CHECK(r.u.contribution.ncts == 0 && r.u.contribution.nplain == 0);
	mcn_msg_clear(&r);
	mcn_free(buf, len);
	m.u.contribution.nmasked = 3; /* count != nvalues */
	CHECK_ERR(mcn_msg_seal(&buf, &len, &m, &site.signer, NULL, rng),
	    MCN_EINVAL);

	/* plain */
	hdr_init(&m, MCN_MSG_CONTRIBUTION, 1);
	m.u.contribution.mode = MCN_MSG_MODE_PLAIN;
	m.u.contribution.nvalues = 4;
	m.u.contribution.plain = plain;
	m.u.contribution.nplain = 4;
	REQUIRE_OK(mcn_msg_seal(&buf, &len, &m, &site.signer, NULL, rng));
	REQUIRE_OK(mcn_msg_open(&r, buf, len, &o, NULL, 0));
	CHECK_U64_EQ(r.u.contribution.nplain, 4);
	CHECK(memcmp(r.u.contribution.plain, plain, sizeof(plain)) == 0);
	mcn_msg_clear(&r);
	mcn_free(buf, len);

	mpz_clears(cts[0], cts[1], v, NULL);
	mcn_rng_free(rng);
}

static void
test_roundtrip_decrypt_partials_error(void)
{
	struct mcnt_party alice, site;
	const mcn_paillier_pk *pk;
	mcn_rng *rng = mcnt_rng(3);
	mcn_open_opts o;
	mpz_t prod[1], v;
	mcn_blob envs[2];
	uint8_t e1[40], e2[3] = { 1, 2, 3 };
	mcn_tpaillier_partial part[1];
	uint8_t *buf;
	size_t len;
	mcn_message m, r;

	REQUIRE_OK(fixture() == 0 ? MCN_OK : MCN_EINVAL);
	pk = mcn_tpaillier_pk(fx_pub);
	o = opts_default();
	mcnt_party_init(&alice, "alice", MCN_ROLE_QUERIER, NULL);
	mcnt_party_init(&site, "site2", MCN_ROLE_NODE, NULL);
	mpz_inits(prod[0], v, NULL);
	mpz_set_ui(v, 99);
	REQUIRE_OK(mcn_paillier_encrypt(pk, prod[0], v, rng));
	memset(e1, 0xee, sizeof(e1));
	envs[0].data = e1;
	envs[0].len = sizeof(e1);
	envs[1].data = e2;
	envs[1].len = sizeof(e2);

	hdr_init(&m, MCN_MSG_DECRYPT, 2);
	m.u.decrypt.contributions = envs;
	m.u.decrypt.ncontributions = 2;
	m.u.decrypt.products = prod;
	m.u.decrypt.nproducts = 1;
	REQUIRE_OK(mcn_msg_seal(&buf, &len, &m, &alice.signer, fx_pub, rng));
	REQUIRE_OK(mcn_msg_open(&r, buf, len, &o, NULL, 0));
	CHECK_U64_EQ(r.h.round, 2);
	CHECK_U64_EQ(r.u.decrypt.ncontributions, 2);
	CHECK(r.u.decrypt.contributions[0].len == sizeof(e1) &&
	    memcmp(r.u.decrypt.contributions[0].data, e1, sizeof(e1)) == 0);
	CHECK(r.u.decrypt.contributions[1].len == 3 &&
	    memcmp(r.u.decrypt.contributions[1].data, e2, 3) == 0);
	CHECK_U64_EQ(r.u.decrypt.nproducts, 1);
	CHECK_MPZ_EQ(r.u.decrypt.products[0], prod[0]);
	mcn_msg_clear(&r);
	mcn_free(buf, len);

	/* PARTIALS: open, then the proof still verifies. */
	mcn_tpaillier_partial_init(&part[0]);
	REQUIRE_OK(mcn_tpaillier_partial_decrypt(fx_pub, fx_sh[1], &part[0],
	    prod[0], rng));
	hdr_init(&m, MCN_MSG_PARTIALS, 2);
	m.u.partials.parts = part;
	m.u.partials.nparts = 1;
	REQUIRE_OK(mcn_msg_seal(&buf, &len, &m, &site.signer, fx_pub, rng));
	REQUIRE_OK(mcn_msg_open(&r, buf, len, &o, NULL, 0));
	CHECK_U64_EQ(r.u.partials.nparts, 1);
	CHECK_U64_EQ(r.u.partials.parts[0].index, 2);
	CHECK_MPZ_EQ(r.u.partials.parts[0].ci, part[0].ci);
	CHECK_MPZ_EQ(r.u.partials.parts[0].z, part[0].z);
	CHECK_OK(mcn_tpaillier_verify(fx_pub, prod[0], &r.u.partials.parts[0]));
	mcn_msg_clear(&r);
	mcn_free(buf, len);
	mcn_tpaillier_partial_clear(&part[0]);

	/* ERROR: code and reason; control characters come out as '?'. */
	hdr_init(&m, MCN_MSG_ERROR, 1);
	m.u.error.code = MCN_EREFUSED;
	snprintf(m.u.error.reason, sizeof(m.u.error.reason),
	    "plain mode is not allowed\x01\n");
	REQUIRE_OK(mcn_msg_seal(&buf, &len, &m, &site.signer, NULL, rng));
	REQUIRE_OK(mcn_msg_open(&r, buf, len, &o, NULL, 0));
	CHECK_ERR(r.u.error.code, MCN_EREFUSED);
	CHECK(strcmp(r.u.error.reason, "plain mode is not allowed??") == 0);
	mcn_msg_clear(&r);
	mcn_free(buf, len);
	m.u.error.code = MCN_OK;
	CHECK_ERR(mcn_msg_seal(&buf, &len, &m, &site.signer, NULL, rng),
	    MCN_EINVAL);

	mpz_clears(prod[0], v, NULL);
	mcn_rng_free(rng);
}

/* Release control: boxes in a masked CONTRIBUTION, DECRYPT with decrypters
 * and with boxes only, PARTIALS with boxes, RELEASE; and what open and
 * seal refuse about them. */
static void
test_roundtrip_release_control(void)
{
	struct mcnt_party alice, site;
	mcn_rng *rng = mcnt_rng(5);
	mcn_open_opts o;
	uint8_t bd[2][40], *buf;
	size_t len;
	mcn_msg_box boxes[2];
	int64_t dec[4] = { 0, -1, INT64_MAX, INT64_MIN };
	uint32_t rel[2] = { 0, 7 }, badrel[2] = { 3, 3 };
	uint64_t masked[3] = { 1, 2, UINT64_MAX };
	mcn_tpaillier_partial part[1];
	mpz_t ct, v;
	mcn_message m, r;

	REQUIRE_OK(fixture() == 0 ? MCN_OK : MCN_EINVAL);
	o = opts_default();
	mcnt_party_init(&alice, "alice", MCN_ROLE_QUERIER, NULL);
	mcnt_party_init(&site, "site2", MCN_ROLE_NODE, NULL);
	memset(bd, 0x5b, sizeof(bd));
	memset(boxes, 0, sizeof(boxes));
	for (int i = 0; i < 2; i++) {
		snprintf(boxes[i].sender, sizeof(boxes[i].sender), "site2");
		snprintf(boxes[i].recipient, sizeof(boxes[i].recipient),
		    "site%d", i == 0 ? 1 : 3);
		boxes[i].data.data = bd[i];
		boxes[i].data.len = sizeof(bd[i]);
	}
	bd[1][0] = 7;

	/* masked CONTRIBUTION with control: no values, two boxes */
	hdr_init(&m, MCN_MSG_CONTRIBUTION, 1);
	m.u.contribution.mode = MCN_MSG_MODE_MASKED;
	m.u.contribution.nvalues = 3;
	m.u.contribution.ncontrol = 5;
	m.u.contribution.boxes = boxes;
	m.u.contribution.nboxes = 2;
	REQUIRE_OK(mcn_msg_seal(&buf, &len, &m, &site.signer, NULL, rng));
	REQUIRE_OK(mcn_msg_open(&r, buf, len, &o, NULL, 0));
	CHECK_U64_EQ(r.u.contribution.ncontrol, 5);
	CHECK_U64_EQ(r.u.contribution.nmasked, 0);
	CHECK_U64_EQ(r.u.contribution.nboxes, 2);
	CHECK(strcmp(r.u.contribution.boxes[1].sender, "site2") == 0 &&
	    strcmp(r.u.contribution.boxes[1].recipient, "site3") == 0 &&
	    r.u.contribution.boxes[1].data.len == 40 &&
	    r.u.contribution.boxes[1].data.data[0] == 7);
	mcn_msg_clear(&r);
	mcn_free(buf, len);
	/* boxes need masked mode with control; a short box is refused */
	m.u.contribution.ncontrol = 0;
	CHECK_ERR(mcn_msg_seal(&buf, &len, &m, &site.signer, NULL, rng),
	    MCN_EINVAL);
	m.u.contribution.ncontrol = 5;
	boxes[0].data.len = MCN_MSG_BOX_MIN - 1;
	CHECK_ERR(mcn_msg_seal(&buf, &len, &m, &site.signer, NULL, rng),
	    MCN_EINVAL);
	boxes[0].data.len = sizeof(bd[0]);
	/* plain with control: values then control */
	int64_t pv[4] = { 1, 2, 3, 4 };
	hdr_init(&m, MCN_MSG_CONTRIBUTION, 1);
	m.u.contribution.mode = MCN_MSG_MODE_PLAIN;
	m.u.contribution.nvalues = 0;
	m.u.contribution.ncontrol = 4;
	m.u.contribution.plain = pv;
	m.u.contribution.nplain = 4;
	REQUIRE_OK(mcn_msg_seal(&buf, &len, &m, &site.signer, NULL, rng));
	REQUIRE_OK(mcn_msg_open(&r, buf, len, &o, NULL, 0));
	CHECK_U64_EQ(r.u.contribution.nplain, 4);
	CHECK_U64_EQ(r.u.contribution.nvalues, 0);
	CHECK(r.u.contribution.plain[3] == 4);
	mcn_msg_clear(&r);
	mcn_free(buf, len);
	m.u.contribution.ncontrol = 3;
	CHECK_ERR(mcn_msg_seal(&buf, &len, &m, &site.signer, NULL, rng),
	    MCN_EINVAL);

	/* DECRYPT with boxes only (round 3) */
	hdr_init(&m, MCN_MSG_DECRYPT, 3);
	m.u.decrypt.boxes = boxes;
	m.u.decrypt.nboxes = 2;
	REQUIRE_OK(mcn_msg_seal(&buf, &len, &m, &alice.signer, NULL, rng));
	REQUIRE_OK(mcn_msg_open(&r, buf, len, &o, NULL, 0));
	CHECK_U64_EQ(r.u.decrypt.ncontributions, 0);
	CHECK_U64_EQ(r.u.decrypt.nboxes, 2);
	CHECK(strcmp(r.u.decrypt.boxes[0].recipient, "site1") == 0);
	mcn_msg_clear(&r);
	mcn_free(buf, len);
	/* decrypters without contributions: refused */
	mcn_party_id ids[2] = { "site1", "site2" };
	m.u.decrypt.decrypters = ids;
	m.u.decrypt.ndecrypters = 2;
	CHECK_ERR(mcn_msg_seal(&buf, &len, &m, &alice.signer, NULL, rng),
	    MCN_EINVAL);

	/* DECRYPT round 2 with decrypters */
	mpz_inits(ct, v, NULL);
	mpz_set_ui(v, 5);
	REQUIRE_OK(mcn_paillier_encrypt(mcn_tpaillier_pk(fx_pub), ct, v, rng));
	mcn_blob env = { bd[0], sizeof(bd[0]) };
	hdr_init(&m, MCN_MSG_DECRYPT, 2);
	m.u.decrypt.contributions = &env;
	m.u.decrypt.ncontributions = 1;
	m.u.decrypt.products = &ct;
	m.u.decrypt.nproducts = 1;
	m.u.decrypt.decrypters = ids;
	m.u.decrypt.ndecrypters = 2;
	REQUIRE_OK(mcn_msg_seal(&buf, &len, &m, &alice.signer, fx_pub, rng));
	REQUIRE_OK(mcn_msg_open(&r, buf, len, &o, NULL, 0));
	CHECK_U64_EQ(r.u.decrypt.ndecrypters, 2);
	CHECK(strcmp(r.u.decrypt.decrypters[1], "site2") == 0);
	CHECK_MPZ_EQ(r.u.decrypt.products[0], ct);
	mcn_msg_clear(&r);
	mcn_free(buf, len);

	/* PARTIALS with boxes only */
	hdr_init(&m, MCN_MSG_PARTIALS, 2);
	m.u.partials.boxes = boxes;
	m.u.partials.nboxes = 1;
	REQUIRE_OK(mcn_msg_seal(&buf, &len, &m, &site.signer, fx_pub, rng));
	REQUIRE_OK(mcn_msg_open(&r, buf, len, &o, NULL, 0));
	CHECK_U64_EQ(r.u.partials.nparts, 0);
	CHECK_U64_EQ(r.u.partials.nboxes, 1);
	mcn_msg_clear(&r);
	mcn_free(buf, len);
	m.u.partials.nboxes = 0; /* neither partials nor boxes */
	CHECK_ERR(mcn_msg_seal(&buf, &len, &m, &site.signer, fx_pub, rng),
	    MCN_EINVAL);

	/* RELEASE: decision, released units, a partial, masked values */
	mcn_tpaillier_partial_init(&part[0]);
	REQUIRE_OK(mcn_tpaillier_partial_decrypt(fx_pub, fx_sh[1], &part[0],
	    ct, rng));
	hdr_init(&m, MCN_MSG_RELEASE, 3);
	m.u.release.decision = dec;
	m.u.release.ndecision = 4;
	m.u.release.released = rel;
	m.u.release.nreleased = 2;
	m.u.release.parts = part;
	m.u.release.nparts = 1;
	m.u.release.masked = masked;
	m.u.release.nmasked = 3;
	REQUIRE_OK(mcn_msg_seal(&buf, &len, &m, &site.signer, fx_pub, rng));
	REQUIRE_OK(mcn_msg_open(&r, buf, len, &o, NULL, 0));
	CHECK_U64_EQ(r.u.release.ndecision, 4);
	CHECK(memcmp(r.u.release.decision, dec, sizeof(dec)) == 0);
	CHECK_U64_EQ(r.u.release.nreleased, 2);
	CHECK(r.u.release.released[1] == 7);
	CHECK_U64_EQ(r.u.release.nparts, 1);
	CHECK_OK(mcn_tpaillier_verify(fx_pub, ct, &r.u.release.parts[0]));
	CHECK(r.u.release.nmasked == 3 && r.u.release.masked[2] == UINT64_MAX);
	mcn_msg_clear(&r);
	mcn_free(buf, len);
	/* an empty release (everything withheld) is valid */
	hdr_init(&m, MCN_MSG_RELEASE, 3);
	REQUIRE_OK(mcn_msg_seal(&buf, &len, &m, &site.signer, NULL, rng));
	REQUIRE_OK(mcn_msg_open(&r, buf, len, &o, NULL, 0));
	CHECK_U64_EQ(r.u.release.ndecision + r.u.release.nreleased, 0);
	mcn_msg_clear(&r);
	mcn_free(buf, len);
	m.u.release.released = badrel; /* not increasing */
	m.u.release.nreleased = 2;
	CHECK_ERR(mcn_msg_seal(&buf, &len, &m, &site.signer, NULL, rng),
	    MCN_EINVAL);
	/* partials without a key */
	hdr_init(&m, MCN_MSG_RELEASE, 3);
	m.u.release.parts = part;
	m.u.release.nparts = 1;
	CHECK_ERR(mcn_msg_seal(&buf, &len, &m, &site.signer, NULL, rng),
	    MCN_EINVAL);
	mcn_tpaillier_partial_clear(&part[0]);
	mpz_clears(ct, v, NULL);
	mcn_rng_free(rng);
}

static void
test_seal_refuses_bad_input(void)
{
	struct mcnt_party alice, bad;
	mcn_rng *rng = mcnt_rng(4);
	mcn_party_id ids[2] = { "ok", "not ok" };
	uint8_t *buf = NULL;
	size_t len = 0;
	mcn_message m;

	REQUIRE_OK(fixture() == 0 ? MCN_OK : MCN_EINVAL);
	mcnt_party_init(&alice, "alice", MCN_ROLE_QUERIER, NULL);
	mcnt_party_init(&bad, "-bad", MCN_ROLE_QUERIER, NULL);
	hdr_init(&m, MCN_MSG_QUERY, 1);
	m.u.query.text = (char *)"";
	m.u.query.mode = MCN_MSG_MODE_PLAIN;
	m.u.query.participants = ids;
	m.u.query.nparticipants = 1;
	CHECK_ERR(mcn_msg_seal(&buf, &len, &m, &alice.signer, NULL, rng),
	    MCN_EINVAL); /* empty text */
	m.u.query.text = (char *)"x";
	m.u.query.nparticipants = 2;
	CHECK_ERR(mcn_msg_seal(&buf, &len, &m, &alice.signer, NULL, rng),
	    MCN_EINVAL); /* "not ok" is not an id */
	m.u.query.nparticipants = 1;
	m.u.query.mode = 4;
	CHECK_ERR(mcn_msg_seal(&buf, &len, &m, &alice.signer, NULL, rng),
	    MCN_EINVAL);
	m.u.query.mode = MCN_MSG_MODE_PLAIN;
	CHECK_ERR(mcn_msg_seal(&buf, &len, &m, &bad.signer, NULL, rng),
	    MCN_EINVAL); /* signer id */
	CHECK(buf == NULL && len == 0);
	CHECK_OK(mcn_msg_seal(&buf, &len, &m, &alice.signer, NULL, rng));
	mcn_free(buf, len);
	m.h.type = (mcn_msg_type)9;
	CHECK_ERR(mcn_msg_seal(&buf, &len, &m, &alice.signer, NULL, rng),
	    MCN_EINVAL);
	mcn_rng_free(rng);
}

/* ---- refusals ---- */

static void
test_open_refusals(void)
{
	struct mcnt_party alice, mallory;
	mcn_rng *rng = mcnt_rng(5);
	mcn_open_opts o;
	uint8_t *buf, *b2;
	size_t len, l2;
	mcn_message m;
	char err[128];

	REQUIRE_OK(fixture() == 0 ? MCN_OK : MCN_EINVAL);
	o = opts_default();
	mcnt_party_init(&alice, "alice", MCN_ROLE_QUERIER, NULL);
	seal_query(&buf, &len, &alice, rng, 1000000, 0);
	REQUIRE_OK(buf != NULL ? MCN_OK : MCN_EINVAL);

	/* Oversized: refused before decoding (garbage of that size too). */
	o.max_len = len - 1;
	CHECK_ERR(mcn_msg_open(&m, buf, len, &o, err, sizeof(err)),
	    MCN_ETOOBIG);
	CHECK(strstr(err, "larger") != NULL);
	{
		uint8_t *junk = calloc(1, len);
		CHECK_ERR(mcn_msg_open(&m, junk, len, &o, NULL, 0),
		    MCN_ETOOBIG);
		o.max_len = 1 << 20;
		CHECK_ERR(mcn_msg_open(&m, junk, len, &o, NULL, 0), MCN_EPROTO);
		free(junk);
	}
	o.max_len = 1 << 20;
	CHECK_ERR(mcn_msg_open(&m, buf, 0, &o, NULL, 0), MCN_EPROTO);

	/* Every truncation is malformed. */
	{
		int bad = 0;
		for (size_t n = 1; n < len; n++) {
			if (mcn_msg_open(&m, buf, n, &o, NULL, 0) !=
			    MCN_EPROTO) {
				bad++;
			}
		}
		CHECK(bad == 0);
	}
	/* Garbage. */
	CHECK_ERR(
	    mcn_msg_open(&m, (const uint8_t *)"hello, world", 12, &o, NULL, 0),
	    MCN_EPROTO);

	/* Signature byte flipped (the signature is the last field). */
	buf[len - 1] ^= 1;
	CHECK_ERR(mcn_msg_open(&m, buf, len, &o, err, sizeof(err)), MCN_ESIG);
	CHECK(strstr(err, "signature") != NULL);
	buf[len - 1] ^= 1;
	/* A byte of the signed text flipped. */
	{
		uint8_t *t = memmem(buf, len, "patients", 8);
		REQUIRE_OK(t != NULL ? MCN_OK : MCN_EINVAL);
		t[0] = 'P';
		CHECK_ERR(mcn_msg_open(&m, buf, len, &o, NULL, 0), MCN_ESIG);
		t[0] = 'p';
	}
	CHECK_OK(mcn_msg_open(&m, buf, len, &o, NULL, 0));
	mcn_msg_clear(&m);

	/* Version 3. */
	seal_query(&b2, &l2, &alice, rng, 1000000, 3);
	CHECK_ERR(mcn_msg_open(&m, b2, l2, &o, NULL, 0), MCN_EVERSION);
	CHECK_U64_EQ(m.h.version, 3);
	CHECK(m.h.query_id[0] == 0xa0); /* echoed for the error reply */
	mcn_free(b2, l2);

	/* A sender presenting another party's certificate. */
	mcnt_party_init(&mallory, "mallory", MCN_ROLE_QUERIER, "alice");
	seal_query(&b2, &l2, &mallory, rng, 1000000, 0);
	CHECK_ERR(mcn_msg_open(&m, b2, l2, &o, NULL, 0), MCN_ECERT);
	mcn_free(b2, l2);
	/* Expected sender / role. */
	o.sender = "bob";
	CHECK_ERR(mcn_msg_open(&m, buf, len, &o, NULL, 0), MCN_ECERT);
	o.sender = "alice";
	o.role = MCN_ROLE_NODE;
	CHECK_ERR(mcn_msg_open(&m, buf, len, &o, NULL, 0), MCN_ECERT);
	o.role = MCN_ROLE_QUERIER;
	CHECK_OK(mcn_msg_open(&m, buf, len, &o, NULL, 0));
	mcn_msg_clear(&m);
	/* A node certificate claiming the querier role. */
	mcnt_party_init(&mallory, "site1", MCN_ROLE_NODE, NULL);
	mallory.signer.role = MCN_ROLE_QUERIER;
	o.sender = NULL;
	seal_query(&b2, &l2, &mallory, rng, 1000000, 0);
	CHECK_ERR(mcn_msg_open(&m, b2, l2, &o, NULL, 0), MCN_ECERT);
	o.role = MCN_ROLE_ANY;
	CHECK_ERR(mcn_msg_open(&m, b2, l2, &o, NULL, 0), MCN_ECERT);
	mcn_free(b2, l2);

	/* Timestamps: the window is inclusive, both directions. */
	o.now_ms = 1000000 + 60000;
	CHECK_OK(mcn_msg_open(&m, buf, len, &o, NULL, 0));
	mcn_msg_clear(&m);
	o.now_ms = 1000000 + 60001;
	CHECK_ERR(mcn_msg_open(&m, buf, len, &o, NULL, 0), MCN_ESTALE);
	o.now_ms = 1000000 - 60001;
	CHECK_ERR(mcn_msg_open(&m, buf, len, &o, NULL, 0), MCN_ESTALE);
	o.max_skew_ms = UINT64_MAX;
	o.now_ms = 0;
	CHECK_OK(mcn_msg_open(&m, buf, len, &o, NULL, 0));
	mcn_msg_clear(&m);
	o = opts_default();

	/* Replay: the same envelope twice; a fresh one is fine. */
	REQUIRE_OK(mcn_replay_new(&o.replay, 100));
	CHECK_OK(mcn_msg_open(&m, buf, len, &o, NULL, 0));
	mcn_msg_clear(&m);
	CHECK_ERR(mcn_msg_open(&m, buf, len, &o, err, sizeof(err)),
	    MCN_EREPLAY);
	CHECK(strstr(err, "already seen") != NULL);
	seal_query(&b2, &l2, &alice, rng, 1000000, 0);
	CHECK_OK(mcn_msg_open(&m, b2, l2, &o, NULL, 0));
	mcn_msg_clear(&m);
	/* A stale replay is refused as stale; a forged copy (bad
	 * signature) is not recorded, so it cannot block the real one. */
	o.now_ms += 60001;
	CHECK_ERR(mcn_msg_open(&m, buf, len, &o, NULL, 0), MCN_ESTALE);
	o.now_ms -= 60001;
	CHECK_U64_EQ(mcn_replay_count(o.replay), 2);
	mcn_free(b2, l2);
	seal_query(&b2, &l2, &alice, rng, 1000000, 0);
	b2[l2 - 1] ^= 1;
	CHECK_ERR(mcn_msg_open(&m, b2, l2, &o, NULL, 0), MCN_ESIG);
	CHECK_U64_EQ(mcn_replay_count(o.replay), 2);
	b2[l2 - 1] ^= 1;
	CHECK_OK(mcn_msg_open(&m, b2, l2, &o, NULL, 0));
	mcn_msg_clear(&m);
	CHECK_U64_EQ(mcn_replay_count(o.replay), 3);
	mcn_replay_free(o.replay);
	mcn_free(b2, l2);

	mcn_free(buf, len);
	mcn_rng_free(rng);
}

/* Messages seal never makes: crafted by hand. */
static void
test_open_crafted(void)
{
	struct craft c;
	struct pb env;
	mcn_open_opts o;
	mcn_message m;
	char err[128];

	REQUIRE_OK(fixture() == 0 ? MCN_OK : MCN_EINVAL);
	o = opts_default();

#define QUERY_BODY(cc, text, tlen, mode, pid)                \
	do {                                                 \
		uint8_t fp_[32];                             \
		memset(fp_, 1, 32);                          \
		pb_bytes(&(cc).body, 1, (text), (tlen));     \
		pb_u64(&(cc).body, 2, (mode));               \
		pb_bytes(&(cc).body, 3, fp_, 32);            \
		pb_bytes(&(cc).body, 4, (pid), strlen(pid)); \
	} while (0)
#define OPEN_CRAFT(cc, want)                                              \
	do {                                                              \
		craft_seal(&env, &(cc));                                  \
		CHECK_ERR(                                                \
		    mcn_msg_open(&m, env.b, env.n, &o, err, sizeof(err)), \
		    (want));                                              \
		if ((want) == MCN_OK) {                                   \
			mcn_msg_clear(&m);                                \
		}                                                         \
		free(env.b);                                              \
	} while (0)

	/* The crafted baseline is accepted. */
	craft_init(&c, MCN_MSG_QUERY);
	QUERY_BODY(c, "q", 1, 1, "site1");
	OPEN_CRAFT(c, MCN_OK);

	/* Header field checks. */
	craft_init(&c, MCN_MSG_QUERY);
	QUERY_BODY(c, "q", 1, 1, "site1");
	c.qidlen = 15;
	OPEN_CRAFT(c, MCN_EPROTO);
	CHECK(strstr(err, "16 bytes") != NULL);
	craft_init(&c, MCN_MSG_QUERY);
	QUERY_BODY(c, "q", 1, 1, "site1");
	c.noncelen = 17;
	OPEN_CRAFT(c, MCN_EPROTO);
	craft_init(&c, MCN_MSG_QUERY);
	QUERY_BODY(c, "q", 1, 1, "site1");
	snprintf(c.sender, sizeof(c.sender), "al ice");
	OPEN_CRAFT(c, MCN_EPROTO);
	craft_init(&c, MCN_MSG_QUERY);
	QUERY_BODY(c, "q", 1, 1, "site1");
	snprintf(c.sender, sizeof(c.sender), "%s",
	    "a23456789012345678901234567890123"); /* 33 chars */
	OPEN_CRAFT(c, MCN_EPROTO);
	craft_init(&c, MCN_MSG_QUERY);
	QUERY_BODY(c, "q", 1, 1, "site1");
	c.type = 6;
	OPEN_CRAFT(c, MCN_EPROTO);
	craft_init(&c, MCN_MSG_QUERY);
	QUERY_BODY(c, "q", 1, 1, "site1");
	c.role = 0;
	OPEN_CRAFT(c, MCN_EPROTO);
	craft_init(&c, MCN_MSG_QUERY);
	QUERY_BODY(c, "q", 1, 1, "site1");
	c.certlen = 0;
	OPEN_CRAFT(c, MCN_EPROTO);
	craft_init(&c, MCN_MSG_QUERY);
	QUERY_BODY(c, "q", 1, 1, "site1");
	c.extra_field = 1;
	OPEN_CRAFT(c, MCN_EPROTO);
	craft_init(&c, MCN_MSG_QUERY);
	QUERY_BODY(c, "q", 1, 1, "site1");
	c.empty_sig = 1;
	OPEN_CRAFT(c, MCN_ESIG);
	craft_init(&c, MCN_MSG_QUERY);
	QUERY_BODY(c, "q", 1, 1, "site1");
	c.version = 0;
	OPEN_CRAFT(c, MCN_EVERSION);

	/* Body checks, after a good signature. */
	craft_init(&c, MCN_MSG_QUERY);
	QUERY_BODY(c, "q\0x", 3, 1, "site1");
	OPEN_CRAFT(c, MCN_EPROTO);
	CHECK(strstr(err, "NUL") != NULL);
	craft_init(&c, MCN_MSG_QUERY);
	QUERY_BODY(c, "q", 1, 4, "site1");
	OPEN_CRAFT(c, MCN_EPROTO);
	craft_init(&c, MCN_MSG_QUERY);
	QUERY_BODY(c, "q", 1, 1, ".site1");
	OPEN_CRAFT(c, MCN_EPROTO);
	craft_init(&c, MCN_MSG_QUERY);
	pb_bytes(&c.body, 1, "q", 1); /* required fields missing */
	OPEN_CRAFT(c, MCN_EPROTO);
	craft_init(&c, MCN_MSG_QUERY);
	QUERY_BODY(c, "q", 1, 1, "site1");
	pb_bytes(&c.body, 5, "short", 5); /* key fingerprint of 5 bytes */
	OPEN_CRAFT(c, MCN_EPROTO);
	{
		static char big[MCN_MSG_TEXT_MAX + 1];
		memset(big, 'a', sizeof(big));
		craft_init(&c, MCN_MSG_QUERY);
		QUERY_BODY(c, big, sizeof(big), 1, "site1");
		OPEN_CRAFT(c, MCN_EPROTO);
		craft_init(&c, MCN_MSG_QUERY);
		QUERY_BODY(c, big, sizeof(big) - 1, 1, "site1");
		OPEN_CRAFT(c, MCN_OK);
	}
	/* Contributions. */
	{
		const mcn_paillier_pk *pk = mcn_tpaillier_pk(fx_pub);
		size_t L = mcn_paillier_ct_len(pk);
		uint8_t *ct = malloc(L);
		uint8_t dg[32] = { 0 };
		mpz_t c0, v;
		mcn_rng *rng = mcnt_rng(6);

		mpz_inits(c0, v, NULL);
		mpz_set_ui(v, 5);
		REQUIRE_OK(mcn_paillier_encrypt(pk, c0, v, rng));
		REQUIRE_OK(mcn_paillier_ct_export(pk, ct, L, c0));
#define CONTRIB_HDR(cc, mode, nv)                        \
	do {                                             \
		craft_init(&(cc), MCN_MSG_CONTRIBUTION); \
		pb_u64(&(cc).body, 1, (mode));           \
		pb_u64(&(cc).body, 2, (nv));             \
		pb_bytes(&(cc).body, 3, dg, 32);         \
	} while (0)
		CONTRIB_HDR(c, 1, 1);
		pb_bytes(&c.body, 4, ct, L);
		OPEN_CRAFT(c, MCN_OK);
		CONTRIB_HDR(c, 1, 1);
		pb_bytes(&c.body, 4, ct, L - 1);
		OPEN_CRAFT(c, MCN_EPROTO);
		CHECK(strstr(err, "wrong length") != NULL);
		CONTRIB_HDR(c, 1, 1); /* no ciphertext at all */
		OPEN_CRAFT(c, MCN_EPROTO);
		CONTRIB_HDR(c, 1, 0); /* nvalues 0 */
		pb_bytes(&c.body, 4, ct, L);
		OPEN_CRAFT(c, MCN_EPROTO);
		CONTRIB_HDR(c, 1, 1); /* paillier with masked values too */
		pb_bytes(&c.body, 4, ct, L);
		pb_bytes(&c.body, 5, "\1\0\0\0\0\0\0\0", 8);
		OPEN_CRAFT(c, MCN_EPROTO);
		CONTRIB_HDR(c, 2, 2); /* masked: 1 value for nvalues 2 */
		pb_bytes(&c.body, 5, "\1\0\0\0\0\0\0\0", 8);
		OPEN_CRAFT(c, MCN_EPROTO);
		CONTRIB_HDR(c, 2, 1);
		pb_bytes(&c.body, 5, "\1\0\0\0\0\0\0\0", 8);
		OPEN_CRAFT(c, MCN_OK);
		CONTRIB_HDR(c, 3, 2); /* plain: sint64 -1, 1 */
		pb_bytes(&c.body, 6, "\1\2", 2);
		OPEN_CRAFT(c, MCN_OK);
		CONTRIB_HDR(c, 7, 1);
		pb_bytes(&c.body, 6, "\1", 1);
		OPEN_CRAFT(c, MCN_EPROTO);
		/* ciphertext c >= n^2 */
		memset(ct + MCN_SER_HDR_BYTES + MCN_PAILLIER_CT_FP_BYTES, 0xff,
		    L - MCN_SER_HDR_BYTES - MCN_PAILLIER_CT_FP_BYTES);
		CONTRIB_HDR(c, 1, 1);
		pb_bytes(&c.body, 4, ct, L);
		OPEN_CRAFT(c, MCN_ECIPHERTEXT);
		/* ciphertext with another key's fingerprint */
		REQUIRE_OK(mcn_paillier_ct_export(pk, ct, L, c0));
		ct[MCN_SER_HDR_BYTES] ^= 1;
		CONTRIB_HDR(c, 1, 1);
		pb_bytes(&c.body, 4, ct, L);
		OPEN_CRAFT(c, MCN_EKEYMISMATCH);
		/* PARTIALS: wrong length, index out of range */
		{
			size_t PL = mcn_tpaillier_partial_len(fx_pub);
			uint8_t *pp = malloc(PL);
			mcn_tpaillier_partial part;
			mcn_tpaillier_partial_init(&part);
			REQUIRE_OK(mcn_tpaillier_partial_decrypt(fx_pub,
			    fx_sh[0], &part, c0, rng));
			REQUIRE_OK(mcn_tpaillier_partial_export(fx_pub, &part,
			    pp, PL));
			craft_init(&c, MCN_MSG_PARTIALS);
			pb_bytes(&c.body, 1, pp, PL);
			OPEN_CRAFT(c, MCN_OK);
			craft_init(&c, MCN_MSG_PARTIALS);
			pb_bytes(&c.body, 1, pp, PL - 1);
			OPEN_CRAFT(c, MCN_EPROTO);
			craft_init(&c, MCN_MSG_PARTIALS);
			OPEN_CRAFT(c, MCN_EPROTO); /* none */
			pp[MCN_SER_HDR_BYTES + MCN_PAILLIER_CT_FP_BYTES + 1] =
			    9;
			craft_init(&c, MCN_MSG_PARTIALS);
			pb_bytes(&c.body, 1, pp, PL);
			OPEN_CRAFT(c, MCN_EPARTY);
			mcn_tpaillier_partial_clear(&part);
			free(pp);
		}
		/* DECRYPT: no products; an empty envelope */
		craft_init(&c, MCN_MSG_DECRYPT);
		pb_bytes(&c.body, 1, "x", 1);
		OPEN_CRAFT(c, MCN_EPROTO);
		REQUIRE_OK(mcn_paillier_ct_export(pk, ct, L, c0));
		craft_init(&c, MCN_MSG_DECRYPT);
		pb_bytes(&c.body, 1, "", 0);
		pb_bytes(&c.body, 2, ct, L);
		OPEN_CRAFT(c, MCN_EPROTO);
		craft_init(&c, MCN_MSG_DECRYPT);
		pb_bytes(&c.body, 1, "x", 1);
		pb_bytes(&c.body, 2, ct, L);
		OPEN_CRAFT(c, MCN_OK);
		mpz_clears(c0, v, NULL);
		free(ct);
		mcn_rng_free(rng);
	}
	/* ERROR: code 0, reason too long, unknown field in the body. */
	craft_init(&c, MCN_MSG_ERROR);
	pb_u64(&c.body, 1, 0);
	pb_bytes(&c.body, 2, "x", 1);
	OPEN_CRAFT(c, MCN_EPROTO);
	{
		char r[MCN_MSG_REASON_MAX + 1];
		memset(r, 'r', sizeof(r));
		craft_init(&c, MCN_MSG_ERROR);
		pb_u64(&c.body, 1, MCN_EREFUSED);
		pb_bytes(&c.body, 2, r, sizeof(r));
		OPEN_CRAFT(c, MCN_EPROTO);
		craft_init(&c, MCN_MSG_ERROR);
		pb_u64(&c.body, 1, MCN_EREFUSED);
		pb_bytes(&c.body, 2, r, sizeof(r) - 1);
		OPEN_CRAFT(c, MCN_OK);
	}
	craft_init(&c, MCN_MSG_ERROR);
	pb_u64(&c.body, 1, MCN_EREFUSED);
	pb_bytes(&c.body, 2, "x", 1);
	pb_u64(&c.body, 9, 1);
	OPEN_CRAFT(c, MCN_EPROTO);
	/* An unknown field in the outer envelope. */
	craft_init(&c, MCN_MSG_ERROR);
	pb_u64(&c.body, 1, MCN_EREFUSED);
	pb_bytes(&c.body, 2, "x", 1);
	craft_seal(&env, &c);
	pb_u64(&env, 3, 1);
	CHECK_ERR(mcn_msg_open(&m, env.b, env.n, &o, NULL, 0), MCN_EPROTO);
	free(env.b);
#undef QUERY_BODY
#undef OPEN_CRAFT
#undef CONTRIB_HDR
}

static void
test_replay_memory(void)
{
	mcn_replay *r;
	uint8_t n[16];

	CHECK_ERR(mcn_replay_new(&r, 0), MCN_EINVAL);
	REQUIRE_OK(mcn_replay_new(&r, 4));
	memset(n, 0, sizeof(n));
	for (int i = 0; i < 4; i++) {
		n[0] = (uint8_t)i;
		CHECK_OK(mcn_replay_add(r, "a", n, 100 + (uint64_t)i, 10));
	}
	n[0] = 1;
	CHECK(mcn_replay_seen(r, "a", n, 10));
	CHECK(!mcn_replay_seen(r, "b", n, 10)); /* sender is part of the key */
	CHECK_ERR(mcn_replay_add(r, "a", n, 200, 10), MCN_EREPLAY);
	/* full: a new pair is refused, nothing is forgotten */
	CHECK_ERR(mcn_replay_add(r, "b", n, 200, 10), MCN_EREPLAY);
	n[0] = 9;
	CHECK_ERR(mcn_replay_add(r, "a", n, 200, 10), MCN_EREPLAY);
	CHECK_U64_EQ(mcn_replay_count(r), 4);
	/* At 101 the entries expiring at 100 and 101 are gone. */
	CHECK_OK(mcn_replay_add(r, "a", n, 200, 101));
	CHECK_U64_EQ(mcn_replay_count(r), 3);
	n[0] = 0;
	CHECK(!mcn_replay_seen(r, "a", n, 101));
	n[0] = 3;
	CHECK(mcn_replay_seen(r, "a", n, 101));
	CHECK_ERR(mcn_replay_add(r, "a", n, 300, 101), MCN_EREPLAY);
	/* Once expired, the same pair may be recorded again. */
	CHECK_OK(mcn_replay_add(r, "a", n, 300, 103));
	/* Already stale: nothing to record. */
	CHECK_OK(mcn_replay_add(r, "z", n, 5, 10));
	CHECK(!mcn_replay_seen(r, "z", n, 4));
	mcn_replay_free(r);

	/* Many entries: growth keeps every one. */
	REQUIRE_OK(mcn_replay_new(&r, 5000));
	{
		int bad = 0;
		for (uint32_t i = 0; i < 5000; i++) {
			memcpy(n, &i, 4);
			bad += mcn_replay_add(r, "site1", n, UINT64_MAX, 0) !=
			    MCN_OK;
		}
		for (uint32_t i = 0; i < 5000; i++) {
			memcpy(n, &i, 4);
			bad += !mcn_replay_seen(r, "site1", n, 0);
		}
		CHECK(bad == 0);
		memcpy(n, &(uint32_t){ 5000 }, 4);
		CHECK_ERR(mcn_replay_add(r, "site1", n, UINT64_MAX, 0),
		    MCN_EREPLAY);
	}
	mcn_replay_free(r);

	CHECK_OK(mcn_msg_check_time(10, 15, 5));
	CHECK_OK(mcn_msg_check_time(20, 15, 5));
	CHECK_ERR(mcn_msg_check_time(21, 15, 5), MCN_ESTALE);
	CHECK_ERR(mcn_msg_check_time(9, 15, 5), MCN_ESTALE);
	CHECK_ERR(mcn_msg_check_time(0, UINT64_MAX, 5), MCN_ESTALE);
	CHECK(mcn_msg_id_valid("a", 1));
	CHECK(mcn_msg_id_valid("Site_1.b-2", 10));
	CHECK(!mcn_msg_id_valid("", 0));
	CHECK(!mcn_msg_id_valid("-a", 2));
	CHECK(!mcn_msg_id_valid("a/b", 3));
	CHECK(!mcn_msg_id_valid("a\0b", 3));
}

/* Random mutations of valid messages and random buffers: never a crash,
 * never an accepted change. */
static void
test_mutation_loop(void)
{
	struct mcnt_party alice, site;
	mcn_rng *rng = mcnt_rng(7);
	mcn_open_opts o;
	uint8_t *msgs[4];
	size_t lens[4];
	unsigned long accepted_changed = 0, opened = 0;
	mcn_message m;

	REQUIRE_OK(fixture() == 0 ? MCN_OK : MCN_EINVAL);
	o = opts_default();
	o.max_skew_ms = UINT64_MAX;
	mcnt_party_init(&alice, "alice", MCN_ROLE_QUERIER, NULL);
	mcnt_party_init(&site, "site1", MCN_ROLE_NODE, NULL);
	seal_query(&msgs[0], &lens[0], &alice, rng, 1000000, 0);
	{
		mcn_message s;
		mpz_t cts[2], v;
		int64_t plain[3] = { -5, 0, 5 };
		mcn_tpaillier_partial part;

		mpz_inits(cts[0], cts[1], v, NULL);
		mpz_set_ui(v, 42);
		REQUIRE_OK(mcn_paillier_encrypt(mcn_tpaillier_pk(fx_pub),
		    cts[0], v, rng));
		REQUIRE_OK(mcn_paillier_encrypt(mcn_tpaillier_pk(fx_pub),
		    cts[1], v, rng));
		hdr_init(&s, MCN_MSG_CONTRIBUTION, 1);
		s.u.contribution.mode = MCN_MSG_MODE_PAILLIER;
		s.u.contribution.nvalues = 3;
		s.u.contribution.cts = cts;
		s.u.contribution.ncts = 2;
		REQUIRE_OK(mcn_msg_seal(&msgs[1], &lens[1], &s, &site.signer,
		    fx_pub, rng));
		hdr_init(&s, MCN_MSG_CONTRIBUTION, 1);
		s.u.contribution.mode = MCN_MSG_MODE_PLAIN;
		s.u.contribution.nvalues = 3;
		s.u.contribution.plain = plain;
		s.u.contribution.nplain = 3;
		REQUIRE_OK(mcn_msg_seal(&msgs[2], &lens[2], &s, &site.signer,
		    NULL, rng));
		mcn_tpaillier_partial_init(&part);
		REQUIRE_OK(mcn_tpaillier_partial_decrypt(fx_pub, fx_sh[0],
		    &part, cts[0], rng));
		hdr_init(&s, MCN_MSG_PARTIALS, 2);
		s.u.partials.parts = &part;
		s.u.partials.nparts = 1;
		REQUIRE_OK(mcn_msg_seal(&msgs[3], &lens[3], &s, &site.signer,
		    fx_pub, rng));
		mcn_tpaillier_partial_clear(&part);
		mpz_clears(cts[0], cts[1], v, NULL);
	}
	for (unsigned it = 0; it < 6000; it++) {
		uint8_t r[8];
		unsigned k = it % 4;
		size_t len = lens[k];
		uint8_t *b = malloc(len + 16);
		mcn_err rv;

		REQUIRE_OK(mcn_rng_bytes(rng, r, sizeof(r)));
		memcpy(b, msgs[k], len);
		switch (r[0] % 4) {
		case 0: /* 1-3 byte flips */
		case 1:
			for (unsigned j = 0; j <= r[1] % 3; j++) {
				size_t at =
				    ((size_t)r[2 + j] << 8 | r[5]) % len;
				b[at] ^= (uint8_t)(1u << (r[6 + (j & 1)] % 8));
			}
			break;
		case 2: /* truncate */
			len = ((size_t)r[1] << 8 | r[2]) % len;
			break;
		case 3: /* set one byte to a random value, append bytes */
			b[((size_t)r[1] << 8 | r[2]) % len] = r[3];
			memcpy(b + len, r + 4, 4);
			len += r[5] % 5;
			break;
		}
		rv = mcn_msg_open(&m, b, len, &o, NULL, 0);
		if (rv == MCN_OK) {
			opened++;
			if (len != lens[k] || memcmp(b, msgs[k], len) != 0) {
				accepted_changed++;
			}
			mcn_msg_clear(&m);
		}
		free(b);
	}
	/* Pure random buffers. */
	for (unsigned it = 0; it < 2000; it++) {
		uint8_t b[300];
		size_t len = 1 + it % sizeof(b);
		REQUIRE_OK(mcn_rng_bytes(rng, b, len));
		if (it % 3 == 0) {
			b[0] = 0x0a; /* looks like an envelope */
		}
		if (mcn_msg_open(&m, b, len, &o, NULL, 0) == MCN_OK) {
			accepted_changed++;
			mcn_msg_clear(&m);
		}
	}
	CHECK_U64_EQ(accepted_changed, 0);
	CHECK(opened < 6000);
	for (int k = 0; k < 4; k++) {
		mcn_free(msgs[k], lens[k]);
	}
	mcn_rng_free(rng);
}

/* Every allocation of seal and open may fail: a clean MCN_ENOMEM, no
 * leak (ASan), and success once the injection is past. */
static void
test_alloc_failures(void)
{
	struct mcnt_party alice;
	mcn_rng *rng = mcnt_rng(8);
	mcn_open_opts o;
	mpz_t prod[2], v;
	uint8_t e1[20];
	mcn_blob envs[1] = { { e1, sizeof(e1) } };
	unsigned long n, count;
	int bad = 0, seal_ok = 0, open_ok = 0;
	mcn_message m, r;

	REQUIRE_OK(fixture() == 0 ? MCN_OK : MCN_EINVAL);
	o = opts_default();
	memset(e1, 1, sizeof(e1));
	mcnt_party_init(&alice, "alice", MCN_ROLE_QUERIER, NULL);
	mpz_inits(prod[0], prod[1], v, NULL);
	mpz_set_ui(v, 7);
	REQUIRE_OK(
	    mcn_paillier_encrypt(mcn_tpaillier_pk(fx_pub), prod[0], v, rng));
	REQUIRE_OK(
	    mcn_paillier_encrypt(mcn_tpaillier_pk(fx_pub), prod[1], v, rng));
	hdr_init(&m, MCN_MSG_DECRYPT, 2);
	m.u.decrypt.contributions = envs;
	m.u.decrypt.ncontributions = 1;
	m.u.decrypt.products = prod;
	m.u.decrypt.nproducts = 2;
	for (n = 1; n < 200 && !seal_ok; n++) {
		uint8_t *buf = NULL;
		size_t len = 0;
		mcn_err rv;

		(void)mcn_alloc_fail_at(n);
		rv = mcn_msg_seal(&buf, &len, &m, &alice.signer, fx_pub, rng);
		count = mcn_alloc_fail_at(0);
		if (rv == MCN_OK) {
			seal_ok = 1;
			bad += n <= count; /* the n-th allocation must fail */
			mcn_free(buf, len);
		} else {
			bad += rv != MCN_ENOMEM || buf != NULL;
		}
	}
	{
		uint8_t *buf = NULL;
		size_t len = 0;
		REQUIRE_OK(
		    mcn_msg_seal(&buf, &len, &m, &alice.signer, fx_pub, rng));
		for (n = 1; n < 200 && !open_ok; n++) {
			mcn_err rv;
			(void)mcn_alloc_fail_at(n);
			rv = mcn_msg_open(&r, buf, len, &o, NULL, 0);
			count = mcn_alloc_fail_at(0);
			if (rv == MCN_OK) {
				open_ok = 1;
				bad += n <= count;
				mcn_msg_clear(&r);
			} else {
				bad += rv != MCN_ENOMEM;
			}
		}
		mcn_free(buf, len);
	}
	{
		/* QUERY: an allocation failure after the text was allocated
		 * must leave a message that mcn_msg_clear frees cleanly (the
		 * text was once left unterminated, and clear's strlen ran past
		 * it under ASan's 0xbe fill). */
		uint8_t *buf = NULL;
		size_t len = 0;
		int qok = 0;
		seal_query(&buf, &len, &alice, rng, 1000000, 0);
		for (unsigned long k = 1; k < 200 && !qok; k++) {
			mcn_err rv;
			(void)mcn_alloc_fail_at(k);
			rv = mcn_msg_open(&r, buf, len, &o, NULL, 0);
			count = mcn_alloc_fail_at(0);
			if (rv == MCN_OK) {
				qok = 1;
				bad += k <= count;
				bad += strcmp(r.u.query.text, mcnt_text) != 0;
			} else {
				bad += rv != MCN_ENOMEM ||
				    r.u.query.text != NULL ||
				    r.u.query.participants != NULL;
			}
			mcn_msg_clear(&r);
		}
		CHECK(qok);
		mcn_free(buf, len);
	}
	CHECK(bad == 0);
	CHECK(seal_ok && open_ok);
	CHECK(n > 5); /* some allocations were exercised */
	mpz_clears(prod[0], prod[1], v, NULL);
	mcn_rng_free(rng);
}

static void
test_cleanup(void)
{
	for (int i = 0; i < 3; i++) {
		mcn_tpaillier_share_free(fx_sh[i]);
		fx_sh[i] = NULL;
	}
	mcn_tpaillier_pub_free(fx_pub);
	fx_pub = NULL;
	CHECK(fx_pub == NULL);
}

MCNT_MAIN({ "roundtrip_query", test_roundtrip_query },
    { "roundtrip_release_control", test_roundtrip_release_control },
    { "roundtrip_contribution", test_roundtrip_contribution },
    { "roundtrip_decrypt_partials_error",
        test_roundtrip_decrypt_partials_error },
    { "seal_refuses_bad_input", test_seal_refuses_bad_input },
    { "open_refusals", test_open_refusals },
    { "open_crafted", test_open_crafted },
    { "replay_memory", test_replay_memory },
    { "mutation_loop", test_mutation_loop },
    { "alloc_failures", test_alloc_failures }, { "cleanup", test_cleanup })
