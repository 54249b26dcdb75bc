/*
 * proto/codec.c - the only code that packs or unpacks protobuf-c messages.
 *
 * Wire layout (proto/mcn.proto): Envelope { signed_data, signature }, where
 * signed_data = Signed { version, query_id, round, type, sender, role,
 * cert, nonce, timestamp_ms, body } and body is the serialized Query,
 * Contribution, Decrypt, Partials, Error or Release. The signature covers
 * MCN_ENV_CONTEXT || signed_data as received.
 *
 * Opening proceeds from cheap to expensive and from untrusted to trusted:
 * size limit, outer decode, header decode and field checks, signature,
 * clock window, replay memory, and only then the body, which is converted
 * at once into mcn_message structs (ciphertexts imported and validated under
 * the consortium key) before the protobuf-c message is freed. protobuf-c
 * messages with unknown fields are refused: version 2 accepts nothing it
 * cannot check.
 */
#define _POSIX_C_SOURCE 200809L /* strnlen */

#include "proto/codec.h"

#include <string.h>

#include "crypto/mem.h"
#include "crypto/paillier.h"
#include "proto/mcn.pb-c.h"

#define MCN_ENV_CONTEXT "mcn/envelope/v1\n"
#define MCN_ENV_CONTEXT_LEN (sizeof(MCN_ENV_CONTEXT) - 1)

/* ---- small helpers ---- */

static void
codec_msg(char *err, size_t errlen, const char *what)
{
	if (err != NULL && errlen > 0) {
		size_t n = strlen(what);
		if (n >= errlen) {
			n = errlen - 1;
		}
		memcpy(err, what, n);
		err[n] = '\0';
	}
}

static mcn_err
codec_fail(mcn_err rv, char *err, size_t errlen, const char *what)
{
	codec_msg(err, errlen, what);
	return rv;
}

int
mcn_msg_id_valid(const char *id, size_t len)
{
	if (id == NULL || len < 1 || len > MCN_PARTY_ID_MAX || id[0] == '.' ||
	    id[0] == '-') {
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		        (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		        c == '-')) {
			return 0;
		}
	}
	return 1;
}

mcn_err
mcn_msg_check_time(uint64_t ts_ms, uint64_t now_ms, uint64_t max_skew_ms)
{
	uint64_t d = ts_ms > now_ms ? ts_ms - now_ms : now_ms - ts_ms;

	return d <= max_skew_ms ? MCN_OK : MCN_ESTALE;
}

static int
codec_has_unknown(const ProtobufCMessage *m)
{
	return m->n_unknown_fields != 0;
}

static mpz_t *
codec_mpz_array(size_t n)
{
	mpz_t *a = mcn_alloc(n * sizeof(mpz_t));

	if (a != NULL) {
		for (size_t i = 0; i < n; i++) {
			mpz_init(a[i]);
		}
	}
	return a;
}

static void
codec_mpz_array_free(mpz_t *a, size_t n)
{
	if (a == NULL) {
		return;
	}
	for (size_t i = 0; i < n; i++) {
		mpz_clear(a[i]);
	}
	mcn_free(a, n * sizeof(mpz_t));
}

/* Exports count ciphertexts into one buffer and points bd[i] into it. */
static mcn_err
codec_export_cts(uint8_t **bufp, ProtobufCBinaryData *bd,
    const mcn_paillier_pk *pk, const mpz_t *cts, size_t count)
{
	size_t L = mcn_paillier_ct_len(pk);
	uint8_t *buf = mcn_alloc(count * L);
	mcn_err rv;

	if (buf == NULL) {
		return MCN_ENOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		if ((rv = mcn_paillier_ct_export(pk, buf + i * L, L, cts[i])) !=
		    MCN_OK) {
			mcn_free(buf, count * L);
			return MCN_EINVAL;
		}
		bd[i].data = buf + i * L;
		bd[i].len = L;
	}
	*bufp = buf;
	return MCN_OK;
}

/* Imports count ciphertexts of exactly ct_len bytes each. */
static mcn_err
codec_import_cts(mpz_t **out, const ProtobufCBinaryData *bd, size_t count,
    const mcn_tpaillier_pub *tpub, char *err, size_t errlen)
{
	const mcn_paillier_pk *pk;
	size_t L;
	mpz_t *a;
	mcn_err rv;

	if (tpub == NULL) {
		return codec_fail(MCN_EPROTO, err, errlen,
		    "ciphertexts received but no consortium key configured");
	}
	pk = mcn_tpaillier_pk(tpub);
	L = mcn_paillier_ct_len(pk);
	for (size_t i = 0; i < count; i++) {
		if (bd[i].len != L) {
			return codec_fail(MCN_EPROTO, err, errlen,
			    "ciphertext has the wrong length for the key");
		}
	}
	if ((a = codec_mpz_array(count)) == NULL) {
		return MCN_ENOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		if ((rv = mcn_paillier_ct_import(pk, a[i], bd[i].data, L)) !=
		    MCN_OK) {
			codec_mpz_array_free(a, count);
			return codec_fail(rv, err, errlen,
			    "ciphertext rejected by the consortium key");
		}
	}
	*out = a;
	return MCN_OK;
}

/* ---- boxes, id lists and partials, shared by several bodies ---- */

static void
codec_boxes_free(mcn_msg_box *b, size_t n)
{
	if (b == NULL) {
		return;
	}
	for (size_t i = 0; i < n; i++) {
		mcn_free(b[i].data.data, b[i].data.len);
	}
	mcn_free(b, n * sizeof(*b));
}

static int
codec_box_ok(const mcn_msg_box *b)
{
	return mcn_msg_id_valid(b->sender,
	           strnlen(b->sender, MCN_PARTY_ID_MAX + 1)) &&
	    mcn_msg_id_valid(b->recipient,
	        strnlen(b->recipient, MCN_PARTY_ID_MAX + 1)) &&
	    b->data.len >= MCN_MSG_BOX_MIN && b->data.data != NULL;
}

/* Seal side: protobuf views of n boxes (pointers into b); *store and
 * *ptrs are freed with codec_pb_boxes_free. */
static mcn_err
codec_pb_boxes(const mcn_msg_box *b, size_t n, Mcn__Box **store,
    Mcn__Box ***ptrs)
{
	*store = NULL;
	*ptrs = NULL;
	if (n == 0) {
		return MCN_OK;
	}
	if (n > MCN_MSG_MAX_PARTIES) {
		return MCN_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (!codec_box_ok(&b[i])) {
			return MCN_EINVAL;
		}
	}
	if ((*store = mcn_alloc(n * sizeof(**store))) == NULL ||
	    (*ptrs = mcn_alloc(n * sizeof(**ptrs))) == NULL) {
		mcn_free(*store, n * sizeof(**store));
		*store = NULL;
		return MCN_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		Mcn__Box init = MCN__BOX__INIT;
		(*store)[i] = init;
		(*store)[i].sender.data = (uint8_t *)b[i].sender;
		(*store)[i].sender.len = strlen(b[i].sender);
		(*store)[i].recipient.data = (uint8_t *)b[i].recipient;
		(*store)[i].recipient.len = strlen(b[i].recipient);
		(*store)[i].data.data = b[i].data.data;
		(*store)[i].data.len = b[i].data.len;
		(*ptrs)[i] = &(*store)[i];
	}
	return MCN_OK;
}

static void
codec_pb_boxes_free(Mcn__Box *store, Mcn__Box **ptrs, size_t n)
{
	if (store != NULL) {
		mcn_free(store, n * sizeof(*store));
		mcn_free(ptrs, n * sizeof(*ptrs));
	}
}

/* Open side: copies and checks n protobuf boxes. */
static mcn_err
codec_open_boxes(mcn_msg_box **out, Mcn__Box *const *pb, size_t n,
    const char **why)
{
	mcn_msg_box *b;

	*out = NULL;
	if (n == 0) {
		return MCN_OK;
	}
	if (n > MCN_MSG_MAX_PARTIES) {
		*why = "too many boxes";
		return MCN_EPROTO;
	}
	for (size_t i = 0; i < n; i++) {
		if (codec_has_unknown(&pb[i]->base) ||
		    !mcn_msg_id_valid((const char *)pb[i]->sender.data,
		        pb[i]->sender.len) ||
		    !mcn_msg_id_valid((const char *)pb[i]->recipient.data,
		        pb[i]->recipient.len) ||
		    pb[i]->data.len < MCN_MSG_BOX_MIN) {
			*why = "malformed box";
			return MCN_EPROTO;
		}
	}
	if ((b = mcn_zalloc(n * sizeof(*b))) == NULL) {
		*why = "out of memory";
		return MCN_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		memcpy(b[i].sender, pb[i]->sender.data, pb[i]->sender.len);
		memcpy(b[i].recipient, pb[i]->recipient.data,
		    pb[i]->recipient.len);
		if ((b[i].data.data = mcn_alloc(pb[i]->data.len)) == NULL) {
			codec_boxes_free(b, n);
			*why = "out of memory";
			return MCN_ENOMEM;
		}
		memcpy(b[i].data.data, pb[i]->data.data, pb[i]->data.len);
		b[i].data.len = pb[i]->data.len;
	}
	*out = b;
	return MCN_OK;
}

/* Seal side: n partials exported into one buffer, bd[i] pointing into it
 * (*bufp freed by the caller with n * mcn_tpaillier_partial_len). */
static mcn_err
codec_export_partials(uint8_t **bufp, ProtobufCBinaryData **bdp,
    const mcn_tpaillier_pub *tpub, const mcn_tpaillier_partial *parts,
    size_t n)
{
	size_t L;
	uint8_t *buf;
	ProtobufCBinaryData *bd;

	*bufp = NULL;
	*bdp = NULL;
	if (n == 0) {
		return MCN_OK;
	}
	if (tpub == NULL || n > MCN_MSG_MAX_VALUES) {
		return MCN_EINVAL;
	}
	L = mcn_tpaillier_partial_len(tpub);
	bd = mcn_alloc(n * sizeof(*bd));
	buf = mcn_alloc(n * L);
	if (bd == NULL || buf == NULL) {
		mcn_free(bd, n * sizeof(*bd));
		mcn_free(buf, n * L);
		return MCN_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if (mcn_tpaillier_partial_export(tpub, &parts[i], buf + i * L,
		        L) != MCN_OK) {
			mcn_free(bd, n * sizeof(*bd));
			mcn_free(buf, n * L);
			return MCN_EINVAL;
		}
		bd[i].data = buf + i * L;
		bd[i].len = L;
	}
	*bufp = buf;
	*bdp = bd;
	return MCN_OK;
}

static void
codec_partials_free(mcn_tpaillier_partial *p, size_t n)
{
	if (p == NULL) {
		return;
	}
	for (size_t i = 0; i < n; i++) {
		mcn_tpaillier_partial_clear(&p[i]);
	}
	mcn_free(p, n * sizeof(*p));
}

/* Open side: imports n partials (each exactly the key's length). */
static mcn_err
codec_import_partials(mcn_tpaillier_partial **out,
    const ProtobufCBinaryData *bd, size_t n, const mcn_tpaillier_pub *tpub,
    const char **why)
{
	mcn_tpaillier_partial *p;
	size_t L;
	mcn_err rv;

	*out = NULL;
	if (n == 0) {
		return MCN_OK;
	}
	if (n > MCN_MSG_MAX_VALUES) {
		*why = "too many partial decryptions";
		return MCN_EPROTO;
	}
	if (tpub == NULL) {
		*why = "partials received but no consortium key configured";
		return MCN_EPROTO;
	}
	L = mcn_tpaillier_partial_len(tpub);
	for (size_t i = 0; i < n; i++) {
		if (bd[i].len != L) {
			*why = "partial decryption has the wrong length";
			return MCN_EPROTO;
		}
	}
	if ((p = mcn_alloc(n * sizeof(*p))) == NULL) {
		*why = "out of memory";
		return MCN_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		mcn_tpaillier_partial_init(&p[i]);
	}
	for (size_t i = 0; i < n; i++) {
		if ((rv = mcn_tpaillier_partial_import(tpub, &p[i], bd[i].data,
		         L)) != MCN_OK) {
			codec_partials_free(p, n);
			*why = "partial decryption rejected by the consortium key";
			return rv;
		}
	}
	*out = p;
	return MCN_OK;
}

/* ---- clear ---- */

void
mcn_msg_clear(mcn_message *m)
{
	if (m == NULL) {
		return;
	}
	switch (m->h.type) {
	case MCN_MSG_QUERY:
		if (m->u.query.text != NULL) {
			mcn_free(m->u.query.text, strlen(m->u.query.text) + 1);
		}
		mcn_free(m->u.query.participants,
		    m->u.query.nparticipants * sizeof(mcn_party_id));
		break;
	case MCN_MSG_CONTRIBUTION:
		codec_mpz_array_free(m->u.contribution.cts,
		    m->u.contribution.ncts);
		mcn_free(m->u.contribution.masked,
		    m->u.contribution.nmasked * sizeof(uint64_t));
		mcn_free(m->u.contribution.plain,
		    m->u.contribution.nplain * sizeof(int64_t));
		codec_boxes_free(m->u.contribution.boxes,
		    m->u.contribution.nboxes);
		break;
	case MCN_MSG_DECRYPT:
		if (m->u.decrypt.contributions != NULL) {
			for (size_t i = 0; i < m->u.decrypt.ncontributions;
			     i++) {
				mcn_free(m->u.decrypt.contributions[i].data,
				    m->u.decrypt.contributions[i].len);
			}
			mcn_free(m->u.decrypt.contributions,
			    m->u.decrypt.ncontributions * sizeof(mcn_blob));
		}
		codec_mpz_array_free(m->u.decrypt.products,
		    m->u.decrypt.nproducts);
		mcn_free(m->u.decrypt.decrypters,
		    m->u.decrypt.ndecrypters * sizeof(mcn_party_id));
		codec_boxes_free(m->u.decrypt.boxes, m->u.decrypt.nboxes);
		break;
	case MCN_MSG_PARTIALS:
		codec_partials_free(m->u.partials.parts, m->u.partials.nparts);
		codec_boxes_free(m->u.partials.boxes, m->u.partials.nboxes);
		break;
	case MCN_MSG_RELEASE:
		mcn_free(m->u.release.decision,
		    m->u.release.ndecision * sizeof(int64_t));
		mcn_free(m->u.release.released,
		    m->u.release.nreleased * sizeof(uint32_t));
		codec_partials_free(m->u.release.parts, m->u.release.nparts);
		mcn_free(m->u.release.masked,
		    m->u.release.nmasked * sizeof(uint64_t));
		break;
	default: break;
	}
	memset(m, 0, sizeof(*m));
}

/* ---- seal ---- */

/* Packs a protobuf-c message into a new mcn_alloc'd buffer with `pre`
 * bytes of room in front. */
static mcn_err
codec_pack(uint8_t **out, size_t *outlen, const ProtobufCMessage *pm,
    size_t pre)
{
	size_t n = protobuf_c_message_get_packed_size(pm);
	uint8_t *buf = mcn_alloc(pre + n);

	if (buf == NULL) {
		return MCN_ENOMEM;
	}
	if (protobuf_c_message_pack(pm, buf + pre) != n) {
		mcn_free(buf, pre + n);
		return MCN_EINVAL;
	}
	*out = buf;
	*outlen = pre + n;
	return MCN_OK;
}

static mcn_err
codec_seal_query(uint8_t **body, size_t *bodylen, const mcn_msg_query *q)
{
	Mcn__Query pq = MCN__QUERY__INIT;
	ProtobufCBinaryData *ids;
	size_t tl;
	mcn_err rv;

	if (q->text == NULL || (tl = strlen(q->text)) == 0 ||
	    tl > MCN_MSG_TEXT_MAX || q->mode < MCN_MSG_MODE_PAILLIER ||
	    q->mode > MCN_MSG_MODE_PLAIN || q->nparticipants == 0 ||
	    q->nparticipants > MCN_MSG_MAX_PARTIES) {
		return MCN_EINVAL;
	}
	for (size_t i = 0; i < q->nparticipants; i++) {
		if (!mcn_msg_id_valid(q->participants[i],
		        strnlen(q->participants[i], MCN_PARTY_ID_MAX + 1))) {
			return MCN_EINVAL;
		}
	}
	if ((ids = mcn_alloc(q->nparticipants * sizeof(*ids))) == NULL) {
		return MCN_ENOMEM;
	}
	for (size_t i = 0; i < q->nparticipants; i++) {
		ids[i].data = (uint8_t *)q->participants[i];
		ids[i].len = strlen(q->participants[i]);
	}
	pq.text.data = (uint8_t *)q->text;
	pq.text.len = tl;
	pq.mode = q->mode;
	pq.dict_fingerprint.data = (uint8_t *)q->dict_fp;
	pq.dict_fingerprint.len = MCN_MSG_FP_BYTES;
	pq.n_participants = q->nparticipants;
	pq.participants = ids;
	if (q->has_key_fp) {
		pq.has_key_fingerprint = 1;
		pq.key_fingerprint.data = (uint8_t *)q->key_fp;
		pq.key_fingerprint.len = MCN_MSG_FP_BYTES;
	}
	rv = codec_pack(body, bodylen, &pq.base, 0);
	mcn_free(ids, q->nparticipants * sizeof(*ids));
	return rv;
}

static mcn_err
codec_seal_contribution(uint8_t **body, size_t *bodylen,
    const mcn_msg_contribution *c, const mcn_tpaillier_pub *tpub)
{
	Mcn__Contribution pc = MCN__CONTRIBUTION__INIT;
	ProtobufCBinaryData *bd = NULL;
	uint8_t *ctbuf = NULL;
	size_t ctlen = 0;
	Mcn__Box *bstore = NULL, **bptrs = NULL;
	mcn_err rv;

	if (c->nvalues > MCN_MSG_MAX_VALUES ||
	    c->ncontrol > MCN_MSG_MAX_VALUES ||
	    (c->nvalues == 0 && c->ncontrol == 0) ||
	    (c->nboxes != 0 &&
	        (c->mode != MCN_MSG_MODE_MASKED || c->ncontrol == 0))) {
		return MCN_EINVAL;
	}
	pc.mode = c->mode;
	pc.nvalues = c->nvalues;
	if (c->ncontrol != 0) {
		pc.has_ncontrol = 1;
		pc.ncontrol = c->ncontrol;
	}
	pc.layout_digest.data = (uint8_t *)c->layout_digest;
	pc.layout_digest.len = MCN_MSG_FP_BYTES;
	switch (c->mode) {
	case MCN_MSG_MODE_PAILLIER:
		if (tpub == NULL || c->ncts == 0 ||
		    c->ncts > MCN_MSG_MAX_VALUES) {
			return MCN_EINVAL;
		}
		if ((bd = mcn_alloc(c->ncts * sizeof(*bd))) == NULL) {
			return MCN_ENOMEM;
		}
		if ((rv = codec_export_cts(&ctbuf, bd, mcn_tpaillier_pk(tpub),
		         (const mpz_t *)c->cts, c->ncts)) != MCN_OK) {
			mcn_free(bd, c->ncts * sizeof(*bd));
			return rv;
		}
		ctlen = c->ncts * mcn_paillier_ct_len(mcn_tpaillier_pk(tpub));
		pc.n_ciphertexts = c->ncts;
		pc.ciphertexts = bd;
		break;
	case MCN_MSG_MODE_MASKED:
		if (c->nmasked != c->nvalues &&
		    !(c->ncontrol != 0 && c->nmasked == 0)) {
			return MCN_EINVAL;
		}
		if ((rv = codec_pb_boxes(c->boxes, c->nboxes, &bstore,
		         &bptrs)) != MCN_OK) {
			return rv;
		}
		pc.n_masked = c->nmasked;
		pc.masked = c->masked;
		pc.n_boxes = c->nboxes;
		pc.boxes = bptrs;
		break;
	case MCN_MSG_MODE_PLAIN:
		if (c->nplain != c->nvalues + c->ncontrol) {
			return MCN_EINVAL;
		}
		pc.n_plain = c->nplain;
		pc.plain = c->plain;
		break;
	default: return MCN_EINVAL;
	}
	rv = codec_pack(body, bodylen, &pc.base, 0);
	if (bd != NULL) {
		mcn_free(ctbuf, ctlen);
		mcn_free(bd, c->ncts * sizeof(*bd));
	}
	codec_pb_boxes_free(bstore, bptrs, c->nboxes);
	return rv;
}

static mcn_err
codec_seal_decrypt(uint8_t **body, size_t *bodylen, const mcn_msg_decrypt *d,
    const mcn_tpaillier_pub *tpub)
{
	Mcn__Decrypt pd = MCN__DECRYPT__INIT;
	ProtobufCBinaryData *envs = NULL, *prods = NULL, *ids = NULL;
	Mcn__Box *bstore = NULL, **bptrs = NULL;
	uint8_t *ctbuf = NULL;
	size_t ctlen = 0;
	mcn_err rv = MCN_EINVAL;

	if ((d->ncontributions == 0) != (d->nproducts == 0) ||
	    (d->ncontributions == 0 && d->ndecrypters != 0) ||
	    d->ncontributions > MCN_MSG_MAX_PARTIES ||
	    d->nproducts > MCN_MSG_MAX_VALUES ||
	    d->ndecrypters > MCN_MSG_MAX_PARTIES ||
	    (d->nproducts != 0 && tpub == NULL)) {
		return MCN_EINVAL;
	}
	for (size_t i = 0; i < d->ndecrypters; i++) {
		if (!mcn_msg_id_valid(d->decrypters[i],
		        strnlen(d->decrypters[i], MCN_PARTY_ID_MAX + 1))) {
			return MCN_EINVAL;
		}
	}
	if ((rv = codec_pb_boxes(d->boxes, d->nboxes, &bstore, &bptrs)) !=
	    MCN_OK) {
		return rv;
	}
	rv = MCN_ENOMEM;
	if ((d->ncontributions != 0 &&
	        (envs = mcn_alloc(d->ncontributions * sizeof(*envs))) == NULL) ||
	    (d->nproducts != 0 &&
	        (prods = mcn_alloc(d->nproducts * sizeof(*prods))) == NULL) ||
	    (d->ndecrypters != 0 &&
	        (ids = mcn_alloc(d->ndecrypters * sizeof(*ids))) == NULL)) {
		goto out;
	}
	for (size_t i = 0; i < d->ncontributions; i++) {
		if (d->contributions[i].len == 0) {
			rv = MCN_EINVAL;
			goto out;
		}
		envs[i].data = d->contributions[i].data;
		envs[i].len = d->contributions[i].len;
	}
	for (size_t i = 0; i < d->ndecrypters; i++) {
		ids[i].data = (uint8_t *)d->decrypters[i];
		ids[i].len = strlen(d->decrypters[i]);
	}
	if (d->nproducts != 0) {
		ctlen = d->nproducts *
		    mcn_paillier_ct_len(mcn_tpaillier_pk(tpub));
		if ((rv = codec_export_cts(&ctbuf, prods,
		         mcn_tpaillier_pk(tpub), (const mpz_t *)d->products,
		         d->nproducts)) != MCN_OK) {
			goto out;
		}
	}
	pd.n_contributions = d->ncontributions;
	pd.contributions = envs;
	pd.n_products = d->nproducts;
	pd.products = prods;
	pd.n_decrypters = d->ndecrypters;
	pd.decrypters = ids;
	pd.n_boxes = d->nboxes;
	pd.boxes = bptrs;
	rv = codec_pack(body, bodylen, &pd.base, 0);
out:
	if (ctbuf != NULL) {
		mcn_free(ctbuf, ctlen);
	}
	mcn_free(envs, d->ncontributions * sizeof(*envs));
	mcn_free(prods, d->nproducts * sizeof(*prods));
	mcn_free(ids, d->ndecrypters * sizeof(*ids));
	codec_pb_boxes_free(bstore, bptrs, d->nboxes);
	return rv;
}

static mcn_err
codec_seal_partials(uint8_t **body, size_t *bodylen, const mcn_msg_partials *p,
    const mcn_tpaillier_pub *tpub)
{
	Mcn__Partials pp = MCN__PARTIALS__INIT;
	ProtobufCBinaryData *bd = NULL;
	Mcn__Box *bstore = NULL, **bptrs = NULL;
	uint8_t *buf = NULL;
	mcn_err rv;

	if (p->nparts == 0 && p->nboxes == 0) {
		return MCN_EINVAL;
	}
	if ((rv = codec_export_partials(&buf, &bd, tpub, p->parts,
	         p->nparts)) != MCN_OK) {
		return rv;
	}
	if ((rv = codec_pb_boxes(p->boxes, p->nboxes, &bstore, &bptrs)) ==
	    MCN_OK) {
		pp.n_partials = p->nparts;
		pp.partials = bd;
		pp.n_boxes = p->nboxes;
		pp.boxes = bptrs;
		rv = codec_pack(body, bodylen, &pp.base, 0);
	}
	if (buf != NULL) {
		mcn_free(buf, p->nparts * mcn_tpaillier_partial_len(tpub));
		mcn_free(bd, p->nparts * sizeof(*bd));
	}
	codec_pb_boxes_free(bstore, bptrs, p->nboxes);
	return rv;
}

static mcn_err
codec_seal_release(uint8_t **body, size_t *bodylen, const mcn_msg_release *r,
    const mcn_tpaillier_pub *tpub)
{
	Mcn__Release pr = MCN__RELEASE__INIT;
	ProtobufCBinaryData *bd = NULL;
	uint8_t *buf = NULL;
	mcn_err rv;

	if (r->ndecision > MCN_MSG_MAX_DECISION ||
	    r->nreleased > MCN_MSG_MAX_VALUES ||
	    r->nmasked > MCN_MSG_MAX_VALUES) {
		return MCN_EINVAL;
	}
	for (size_t i = 1; i < r->nreleased; i++) {
		if (r->released[i] <= r->released[i - 1]) {
			return MCN_EINVAL;
		}
	}
	if ((rv = codec_export_partials(&buf, &bd, tpub, r->parts,
	         r->nparts)) != MCN_OK) {
		return rv;
	}
	pr.n_decision = r->ndecision;
	pr.decision = r->decision;
	pr.n_released = r->nreleased;
	pr.released = r->released;
	pr.n_partials = r->nparts;
	pr.partials = bd;
	pr.n_masked = r->nmasked;
	pr.masked = r->masked;
	rv = codec_pack(body, bodylen, &pr.base, 0);
	if (buf != NULL) {
		mcn_free(buf, r->nparts * mcn_tpaillier_partial_len(tpub));
		mcn_free(bd, r->nparts * sizeof(*bd));
	}
	return rv;
}

static mcn_err
codec_seal_error(uint8_t **body, size_t *bodylen, const mcn_msg_error *e)
{
	Mcn__Error pe = MCN__ERROR__INIT;
	size_t n = strnlen(e->reason, sizeof(e->reason));

	if (e->code == MCN_OK || n > MCN_MSG_REASON_MAX) {
		return MCN_EINVAL;
	}
	pe.code = (uint32_t)e->code;
	pe.reason.data = (uint8_t *)e->reason;
	pe.reason.len = n;
	return codec_pack(body, bodylen, &pe.base, 0);
}

mcn_err
mcn_msg_seal(uint8_t **out, size_t *outlen, const mcn_message *m,
    const mcn_signer *signer, const mcn_tpaillier_pub *tpub, mcn_rng *rng)
{
	Mcn__Signed ps = MCN__SIGNED__INIT;
	Mcn__Envelope pe = MCN__ENVELOPE__INIT;
	uint8_t nonce[MCN_MSG_NONCE_BYTES];
	uint8_t sig[MCN_SIG_MAX];
	size_t siglen = sizeof(sig);
	uint8_t *body = NULL, *sd = NULL;
	size_t bodylen = 0, sdlen = 0;
	mcn_err rv;

	MCN_MUST(out != NULL && outlen != NULL && m != NULL && signer != NULL);
	*out = NULL;
	*outlen = 0;
	if (signer->id == NULL ||
	    !mcn_msg_id_valid(signer->id,
	        strnlen(signer->id, MCN_PARTY_ID_MAX + 1)) ||
	    signer->cert == NULL || signer->certlen == 0 ||
	    signer->certlen > MCN_CERT_MAX) {
		return MCN_EINVAL;
	}
	switch (m->h.type) {
	case MCN_MSG_QUERY:
		rv = codec_seal_query(&body, &bodylen, &m->u.query);
		break;
	case MCN_MSG_CONTRIBUTION:
		rv = codec_seal_contribution(&body, &bodylen,
		    &m->u.contribution, tpub);
		break;
	case MCN_MSG_DECRYPT:
		rv = codec_seal_decrypt(&body, &bodylen, &m->u.decrypt, tpub);
		break;
	case MCN_MSG_PARTIALS:
		rv = codec_seal_partials(&body, &bodylen, &m->u.partials, tpub);
		break;
	case MCN_MSG_RELEASE:
		rv = codec_seal_release(&body, &bodylen, &m->u.release, tpub);
		break;
	case MCN_MSG_ERROR:
		rv = codec_seal_error(&body, &bodylen, &m->u.error);
		break;
	default: rv = MCN_EINVAL; break;
	}
	if (rv != MCN_OK) {
		goto out;
	}
	if (rng != NULL) {
		if ((rv = mcn_rng_bytes(rng, nonce, sizeof(nonce))) != MCN_OK) {
			goto out;
		}
	} else {
		memcpy(nonce, m->h.nonce, sizeof(nonce));
	}
	ps.version = m->h.version != 0 ? m->h.version : MCN_PROTO_VERSION;
	ps.query_id.data = (uint8_t *)m->h.query_id;
	ps.query_id.len = MCN_MSG_QUERY_ID_BYTES;
	ps.round = m->h.round;
	ps.type = (uint32_t)m->h.type;
	ps.sender.data = (uint8_t *)signer->id;
	ps.sender.len = strlen(signer->id);
	ps.role = (uint32_t)signer->role;
	ps.cert.data = (uint8_t *)signer->cert;
	ps.cert.len = signer->certlen;
	ps.nonce.data = nonce;
	ps.nonce.len = sizeof(nonce);
	ps.timestamp_ms = m->h.timestamp_ms;
	ps.body.data = body;
	ps.body.len = bodylen;
	/* Room for the context prefix in front, so the signed string is
	 * built without a second copy. */
	if ((rv = codec_pack(&sd, &sdlen, &ps.base, MCN_ENV_CONTEXT_LEN)) !=
	    MCN_OK) {
		goto out;
	}
	memcpy(sd, MCN_ENV_CONTEXT, MCN_ENV_CONTEXT_LEN);
	if (signer->sign(signer->ctx, sd, sdlen, sig, &siglen) != MCN_OK ||
	    siglen == 0 || siglen > MCN_SIG_MAX) {
		rv = MCN_ECRYPTO;
		goto out;
	}
	pe.signed_data.data = sd + MCN_ENV_CONTEXT_LEN;
	pe.signed_data.len = sdlen - MCN_ENV_CONTEXT_LEN;
	pe.signature.data = sig;
	pe.signature.len = siglen;
	rv = codec_pack(out, outlen, &pe.base, 0);
out:
	mcn_free(body, bodylen);
	mcn_free(sd, sdlen);
	mcn_wipe(sig, sizeof(sig));
	return rv;
}

/* ---- open ---- */

static mcn_err
codec_open_query(mcn_msg_query *q, const ProtobufCBinaryData *body, char *err,
    size_t errlen)
{
	Mcn__Query *pq = mcn__query__unpack(NULL, body->len, body->data);
	mcn_err rv = MCN_EPROTO;
	const char *why = "query body does not decode";

	if (pq == NULL) {
		goto out;
	}
	if (codec_has_unknown(&pq->base)) {
		why = "query body has unknown fields";
		goto out;
	}
	if (pq->text.len == 0 || pq->text.len > MCN_MSG_TEXT_MAX ||
	    memchr(pq->text.data, '\0', pq->text.len) != NULL) {
		why = "query text is empty, too long or contains NUL";
		goto out;
	}
	if (pq->mode < MCN_MSG_MODE_PAILLIER || pq->mode > MCN_MSG_MODE_PLAIN) {
		why = "unknown aggregation mode";
		goto out;
	}
	if (pq->dict_fingerprint.len != MCN_MSG_FP_BYTES ||
	    (pq->has_key_fingerprint &&
	        pq->key_fingerprint.len != MCN_MSG_FP_BYTES)) {
		why = "fingerprint is not 32 bytes";
		goto out;
	}
	if (pq->n_participants == 0 ||
	    pq->n_participants > MCN_MSG_MAX_PARTIES) {
		why = "participant count out of range";
		goto out;
	}
	for (size_t i = 0; i < pq->n_participants; i++) {
		if (!mcn_msg_id_valid((const char *)pq->participants[i].data,
		        pq->participants[i].len)) {
			why = "participant id is not a valid party id";
			goto out;
		}
	}
	rv = MCN_ENOMEM;
	why = "out of memory";
	/* The text is terminated at once: mcn_msg_clear takes its size from
	 * strlen, also when the next allocation fails. */
	if ((q->text = mcn_alloc(pq->text.len + 1)) == NULL) {
		goto out;
	}
	memcpy(q->text, pq->text.data, pq->text.len);
	q->text[pq->text.len] = '\0';
	q->participants = mcn_zalloc(pq->n_participants * sizeof(mcn_party_id));
	if (q->participants == NULL) {
		goto out;
	}
	q->nparticipants = pq->n_participants;
	for (size_t i = 0; i < pq->n_participants; i++) {
		memcpy(q->participants[i], pq->participants[i].data,
		    pq->participants[i].len);
	}
	q->mode = pq->mode;
	memcpy(q->dict_fp, pq->dict_fingerprint.data, MCN_MSG_FP_BYTES);
	if (pq->has_key_fingerprint) {
		q->has_key_fp = 1;
		memcpy(q->key_fp, pq->key_fingerprint.data, MCN_MSG_FP_BYTES);
	}
	rv = MCN_OK;
out:
	if (pq != NULL) {
		mcn__query__free_unpacked(pq, NULL);
	}
	return rv == MCN_OK ? rv : codec_fail(rv, err, errlen, why);
}

static mcn_err
codec_open_contribution(mcn_msg_contribution *c,
    const ProtobufCBinaryData *body, const mcn_tpaillier_pub *tpub, char *err,
    size_t errlen)
{
	Mcn__Contribution *pc =
	    mcn__contribution__unpack(NULL, body->len, body->data);
	mcn_err rv = MCN_EPROTO;
	const char *why = "contribution body does not decode";

	if (pc == NULL) {
		goto out;
	}
	why = "contribution body is inconsistent with its mode";
	uint64_t ncontrol = pc->has_ncontrol ? pc->ncontrol : 0;
	if (codec_has_unknown(&pc->base) ||
	    (pc->nvalues == 0 && ncontrol == 0) ||
	    pc->nvalues > MCN_MSG_MAX_VALUES ||
	    ncontrol > MCN_MSG_MAX_VALUES ||
	    pc->layout_digest.len != MCN_MSG_FP_BYTES ||
	    (pc->n_boxes != 0 &&
	        (pc->mode != MCN_MSG_MODE_MASKED || ncontrol == 0))) {
		goto out;
	}
	c->mode = pc->mode;
	c->nvalues = pc->nvalues;
	c->ncontrol = ncontrol;
	memcpy(c->layout_digest, pc->layout_digest.data, MCN_MSG_FP_BYTES);
	switch (pc->mode) {
	case MCN_MSG_MODE_PAILLIER:
		if (pc->n_masked != 0 || pc->n_plain != 0 ||
		    pc->n_ciphertexts == 0 ||
		    pc->n_ciphertexts > MCN_MSG_MAX_VALUES) {
			goto out;
		}
		rv = codec_import_cts(&c->cts, pc->ciphertexts,
		    pc->n_ciphertexts, tpub, err, errlen);
		if (rv != MCN_OK) {
			mcn__contribution__free_unpacked(pc, NULL);
			return rv; /* message already set */
		}
		c->ncts = pc->n_ciphertexts;
		break;
	case MCN_MSG_MODE_MASKED:
		if (pc->n_ciphertexts != 0 || pc->n_plain != 0 ||
		    (pc->n_masked != pc->nvalues &&
		        !(ncontrol != 0 && pc->n_masked == 0))) {
			goto out;
		}
		if ((rv = codec_open_boxes(&c->boxes, pc->boxes, pc->n_boxes,
		         &why)) != MCN_OK) {
			goto out;
		}
		c->nboxes = pc->n_boxes;
		rv = MCN_ENOMEM;
		if (pc->n_masked != 0 &&
		    (c->masked = mcn_alloc(pc->n_masked * sizeof(uint64_t))) ==
		        NULL) {
			goto out;
		}
		if (pc->n_masked != 0) {
			memcpy(c->masked, pc->masked,
			    pc->n_masked * sizeof(uint64_t));
		}
		c->nmasked = pc->n_masked;
		break;
	case MCN_MSG_MODE_PLAIN:
		if (pc->n_ciphertexts != 0 || pc->n_masked != 0 ||
		    pc->n_plain != pc->nvalues + ncontrol) {
			goto out;
		}
		rv = MCN_ENOMEM;
		if ((c->plain = mcn_alloc(pc->n_plain * sizeof(int64_t))) ==
		    NULL) {
			goto out;
		}
		memcpy(c->plain, pc->plain, pc->n_plain * sizeof(int64_t));
		c->nplain = pc->n_plain;
		break;
	default: why = "unknown aggregation mode"; goto out;
	}
	rv = MCN_OK;
out:
	if (pc != NULL) {
		mcn__contribution__free_unpacked(pc, NULL);
	}
	if (rv == MCN_ENOMEM) {
		why = "out of memory";
	}
	if (rv != MCN_OK) { /* the caller clears only complete bodies */
		codec_boxes_free(c->boxes, c->nboxes);
		c->boxes = NULL;
		c->nboxes = 0;
	}
	return rv == MCN_OK ? rv : codec_fail(rv, err, errlen, why);
}

static mcn_err
codec_open_decrypt(mcn_msg_decrypt *d, const ProtobufCBinaryData *body,
    const mcn_tpaillier_pub *tpub, char *err, size_t errlen)
{
	Mcn__Decrypt *pd = mcn__decrypt__unpack(NULL, body->len, body->data);
	mcn_err rv = MCN_EPROTO;
	const char *why = "decrypt body does not decode";

	if (pd == NULL) {
		goto out;
	}
	why = "decrypt body has bad counts";
	if (codec_has_unknown(&pd->base) ||
	    (pd->n_contributions == 0) != (pd->n_products == 0) ||
	    (pd->n_contributions == 0 && pd->n_decrypters != 0) ||
	    pd->n_contributions > MCN_MSG_MAX_PARTIES ||
	    pd->n_products > MCN_MSG_MAX_VALUES ||
	    pd->n_decrypters > MCN_MSG_MAX_PARTIES) {
		goto out;
	}
	for (size_t i = 0; i < pd->n_contributions; i++) {
		if (pd->contributions[i].len == 0) {
			why = "empty contribution envelope";
			goto out;
		}
	}
	for (size_t i = 0; i < pd->n_decrypters; i++) {
		if (!mcn_msg_id_valid((const char *)pd->decrypters[i].data,
		        pd->decrypters[i].len)) {
			why = "decrypter id is not a valid party id";
			goto out;
		}
	}
	if ((rv = codec_open_boxes(&d->boxes, pd->boxes, pd->n_boxes, &why)) !=
	    MCN_OK) {
		goto out;
	}
	d->nboxes = pd->n_boxes;
	rv = MCN_ENOMEM;
	why = "out of memory";
	if (pd->n_decrypters != 0) {
		d->decrypters =
		    mcn_zalloc(pd->n_decrypters * sizeof(mcn_party_id));
		if (d->decrypters == NULL) {
			goto out;
		}
		d->ndecrypters = pd->n_decrypters;
		for (size_t i = 0; i < pd->n_decrypters; i++) {
			memcpy(d->decrypters[i], pd->decrypters[i].data,
			    pd->decrypters[i].len);
		}
	}
	if (pd->n_contributions != 0) {
		d->contributions =
		    mcn_zalloc(pd->n_contributions * sizeof(mcn_blob));
		if (d->contributions == NULL) {
			goto out;
		}
		d->ncontributions = pd->n_contributions;
		for (size_t i = 0; i < pd->n_contributions; i++) {
			size_t n = pd->contributions[i].len;
			if ((d->contributions[i].data = mcn_alloc(n)) == NULL) {
				goto out;
			}
			memcpy(d->contributions[i].data,
			    pd->contributions[i].data, n);
			d->contributions[i].len = n;
		}
		rv = codec_import_cts(&d->products, pd->products,
		    pd->n_products, tpub, err, errlen);
		if (rv != MCN_OK) {
			mcn__decrypt__free_unpacked(pd, NULL);
			return rv;
		}
		d->nproducts = pd->n_products;
	}
	rv = MCN_OK;
out:
	if (pd != NULL) {
		mcn__decrypt__free_unpacked(pd, NULL);
	}
	return rv == MCN_OK ? rv : codec_fail(rv, err, errlen, why);
}

static mcn_err
codec_open_partials(mcn_msg_partials *p, const ProtobufCBinaryData *body,
    const mcn_tpaillier_pub *tpub, char *err, size_t errlen)
{
	Mcn__Partials *pp = mcn__partials__unpack(NULL, body->len, body->data);
	mcn_err rv = MCN_EPROTO;
	const char *why = "partials body does not decode";

	if (pp == NULL) {
		goto out;
	}
	why = "partials body has bad counts";
	if (codec_has_unknown(&pp->base) ||
	    (pp->n_partials == 0 && pp->n_boxes == 0)) {
		goto out;
	}
	if ((rv = codec_import_partials(&p->parts, pp->partials,
	         pp->n_partials, tpub, &why)) != MCN_OK) {
		goto out;
	}
	p->nparts = pp->n_partials;
	if ((rv = codec_open_boxes(&p->boxes, pp->boxes, pp->n_boxes, &why)) !=
	    MCN_OK) {
		goto out;
	}
	p->nboxes = pp->n_boxes;
out:
	if (pp != NULL) {
		mcn__partials__free_unpacked(pp, NULL);
	}
	return rv == MCN_OK ? rv : codec_fail(rv, err, errlen, why);
}

static mcn_err
codec_open_release(mcn_msg_release *r, const ProtobufCBinaryData *body,
    const mcn_tpaillier_pub *tpub, char *err, size_t errlen)
{
	Mcn__Release *pr = mcn__release__unpack(NULL, body->len, body->data);
	mcn_err rv = MCN_EPROTO;
	const char *why = "release body does not decode";

	if (pr == NULL) {
		goto out;
	}
	why = "release body has bad counts";
	if (codec_has_unknown(&pr->base) ||
	    pr->n_decision > MCN_MSG_MAX_DECISION ||
	    pr->n_released > MCN_MSG_MAX_VALUES ||
	    pr->n_masked > MCN_MSG_MAX_VALUES) {
		goto out;
	}
	for (size_t i = 1; i < pr->n_released; i++) {
		if (pr->released[i] <= pr->released[i - 1]) {
			why = "released units are not increasing";
			goto out;
		}
	}
	if ((rv = codec_import_partials(&r->parts, pr->partials,
	         pr->n_partials, tpub, &why)) != MCN_OK) {
		goto out;
	}
	r->nparts = pr->n_partials;
	rv = MCN_ENOMEM;
	why = "out of memory";
	if ((pr->n_decision != 0 &&
	        (r->decision = mcn_alloc(pr->n_decision * sizeof(int64_t))) ==
	            NULL) ||
	    (pr->n_released != 0 &&
	        (r->released = mcn_alloc(pr->n_released * sizeof(uint32_t))) ==
	            NULL) ||
	    (pr->n_masked != 0 &&
	        (r->masked = mcn_alloc(pr->n_masked * sizeof(uint64_t))) ==
	            NULL)) {
		mcn_free(r->decision, pr->n_decision * sizeof(int64_t));
		mcn_free(r->released, pr->n_released * sizeof(uint32_t));
		r->decision = NULL;
		r->released = NULL;
		codec_partials_free(r->parts, r->nparts);
		r->parts = NULL;
		r->nparts = 0;
		goto out;
	}
	if (pr->n_decision != 0) {
		memcpy(r->decision, pr->decision,
		    pr->n_decision * sizeof(int64_t));
	}
	if (pr->n_released != 0) {
		memcpy(r->released, pr->released,
		    pr->n_released * sizeof(uint32_t));
	}
	if (pr->n_masked != 0) {
		memcpy(r->masked, pr->masked, pr->n_masked * sizeof(uint64_t));
	}
	r->ndecision = pr->n_decision;
	r->nreleased = pr->n_released;
	r->nmasked = pr->n_masked;
	rv = MCN_OK;
out:
	if (pr != NULL) {
		mcn__release__free_unpacked(pr, NULL);
	}
	return rv == MCN_OK ? rv : codec_fail(rv, err, errlen, why);
}

static mcn_err
codec_open_error(mcn_msg_error *e, const ProtobufCBinaryData *body, char *err,
    size_t errlen)
{
	Mcn__Error *pe = mcn__error__unpack(NULL, body->len, body->data);
	mcn_err rv = MCN_EPROTO;

	if (pe == NULL || codec_has_unknown(&pe->base) || pe->code == 0 ||
	    pe->reason.len > MCN_MSG_REASON_MAX) {
		goto out;
	}
	e->code = (mcn_err)pe->code;
	/* The reason ends up in logs: printable ASCII only. */
	for (size_t i = 0; i < pe->reason.len; i++) {
		uint8_t ch = pe->reason.data[i];
		e->reason[i] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
	}
	e->reason[pe->reason.len] = '\0';
	rv = MCN_OK;
out:
	if (pe != NULL) {
		mcn__error__free_unpacked(pe, NULL);
	}
	return rv == MCN_OK ?
	    rv :
	    codec_fail(rv, err, errlen, "error body does not decode");
}

/* Copies the decodable header fields into h (before they are trusted). */
static void
codec_fill_hdr(mcn_msg_hdr *h, const Mcn__Signed *ps)
{
	h->version = ps->version;
	if (ps->query_id.len == MCN_MSG_QUERY_ID_BYTES) {
		memcpy(h->query_id, ps->query_id.data, MCN_MSG_QUERY_ID_BYTES);
	}
	h->round = ps->round;
	if (ps->nonce.len == MCN_MSG_NONCE_BYTES) {
		memcpy(h->nonce, ps->nonce.data, MCN_MSG_NONCE_BYTES);
	}
	h->timestamp_ms = ps->timestamp_ms;
	if (mcn_msg_id_valid((const char *)ps->sender.data, ps->sender.len)) {
		memcpy(h->sender, ps->sender.data, ps->sender.len);
		h->sender[ps->sender.len] = '\0';
	}
}

mcn_err
mcn_msg_open(mcn_message *m, const uint8_t *buf, size_t len, const mcn_open_opts *o,
    char *err, size_t errlen)
{
	Mcn__Envelope *pe = NULL;
	Mcn__Signed *ps = NULL;
	uint8_t *tbs = NULL;
	size_t tbslen = 0;
	mcn_role role_out = MCN_ROLE_ANY;
	mcn_msg_type type;
	mcn_err rv;

	MCN_MUST(m != NULL && o != NULL && o->verifier != NULL &&
	    o->verifier->verify != NULL);
	memset(m, 0, sizeof(*m));
	codec_msg(err, errlen, "");
	if (buf == NULL || len == 0) {
		return codec_fail(MCN_EPROTO, err, errlen, "empty message");
	}
	if (len > o->max_len) {
		return codec_fail(MCN_ETOOBIG, err, errlen,
		    "message larger than the configured maximum");
	}
	if ((pe = mcn__envelope__unpack(NULL, len, buf)) == NULL ||
	    codec_has_unknown(&pe->base)) {
		rv = codec_fail(MCN_EPROTO, err, errlen,
		    "envelope does not decode");
		goto out;
	}
	if (pe->signature.len == 0 || pe->signature.len > MCN_SIG_MAX) {
		rv = codec_fail(MCN_ESIG, err, errlen,
		    "signature missing or too long");
		goto out;
	}
	if (pe->signed_data.len == 0 ||
	    (ps = mcn__signed__unpack(NULL, pe->signed_data.len,
	         pe->signed_data.data)) == NULL ||
	    codec_has_unknown(&ps->base)) {
		rv = codec_fail(MCN_EPROTO, err, errlen,
		    "signed header does not decode");
		goto out;
	}
	codec_fill_hdr(&m->h, ps);
	if (ps->version != MCN_PROTO_VERSION) {
		rv = codec_fail(MCN_EVERSION, err, errlen,
		    "unsupported protocol version");
		goto out;
	}
	rv = MCN_EPROTO;
	if (ps->query_id.len != MCN_MSG_QUERY_ID_BYTES ||
	    ps->nonce.len != MCN_MSG_NONCE_BYTES) {
		codec_msg(err, errlen, "query id or nonce is not 16 bytes");
		goto out;
	}
	if (m->h.sender[0] == '\0') {
		codec_msg(err, errlen, "sender is not a valid party id");
		goto out;
	}
	if (ps->cert.len == 0 || ps->cert.len > MCN_CERT_MAX) {
		codec_msg(err, errlen, "certificate missing or too large");
		goto out;
	}
	if (ps->type < MCN_MSG_QUERY || ps->type > MCN_MSG_RELEASE ||
	    ps->role < MCN_ROLE_NODE || ps->role > MCN_ROLE_ADMIN) {
		codec_msg(err, errlen, "unknown message type or role");
		goto out;
	}
	type = (mcn_msg_type)ps->type;
	m->h.type = type;
	m->h.role = (mcn_role)ps->role;
	rv = MCN_ECERT;
	if (o->sender != NULL && strcmp(o->sender, m->h.sender) != 0) {
		codec_msg(err, errlen,
		    "message is not from the expected party");
		goto out;
	}
	if (o->role != MCN_ROLE_ANY && o->role != m->h.role) {
		codec_msg(err, errlen, "sender role not allowed here");
		goto out;
	}
	tbslen = MCN_ENV_CONTEXT_LEN + pe->signed_data.len;
	if ((tbs = mcn_alloc(tbslen)) == NULL) {
		rv = codec_fail(MCN_ENOMEM, err, errlen, "out of memory");
		goto out;
	}
	memcpy(tbs, MCN_ENV_CONTEXT, MCN_ENV_CONTEXT_LEN);
	memcpy(tbs + MCN_ENV_CONTEXT_LEN, pe->signed_data.data,
	    pe->signed_data.len);
	rv = o->verifier->verify(o->verifier->ctx, m->h.sender, m->h.role,
	    ps->cert.data, ps->cert.len, tbs, tbslen, pe->signature.data,
	    pe->signature.len, &role_out);
	if (rv != MCN_OK) {
		if (rv != MCN_ECERT && rv != MCN_ENOMEM) {
			rv = MCN_ESIG;
		}
		codec_msg(err, errlen,
		    rv == MCN_ECERT ? "certificate not valid for the sender" :
		        rv == MCN_ESIG ? "signature does not verify" :
		                         "out of memory");
		goto out;
	}
	if (role_out != m->h.role) {
		rv = codec_fail(MCN_ECERT, err, errlen,
		    "certificate role differs from the claimed role");
		goto out;
	}
	m->h.policy_role[0] = '\0';
	if (o->verifier->policy_role != NULL &&
	    (rv = o->verifier->policy_role(o->verifier->ctx, ps->cert.data,
	         ps->cert.len, m->h.policy_role,
	         sizeof(m->h.policy_role))) != MCN_OK) {
		codec_msg(err, errlen, "certificate policy role is malformed");
		goto out;
	}
	if (o->max_skew_ms != UINT64_MAX &&
	    (rv = mcn_msg_check_time(m->h.timestamp_ms, o->now_ms,
	         o->max_skew_ms)) != MCN_OK) {
		codec_msg(err, errlen, "timestamp outside the accepted window");
		goto out;
	}
	if (o->replay != NULL) {
		uint64_t exp = o->max_skew_ms == UINT64_MAX ||
		        m->h.timestamp_ms > UINT64_MAX - o->max_skew_ms ?
		    UINT64_MAX :
		    m->h.timestamp_ms + o->max_skew_ms;
		/* A message can be replayed only while it is fresh: remember
		 * it until then, and at least until a moment after now. */
		if (exp <= o->now_ms) {
			exp = o->now_ms + 1;
		}
		if ((rv = mcn_replay_add(o->replay, m->h.sender, m->h.nonce,
		         exp, o->now_ms)) != MCN_OK) {
			codec_msg(err, errlen,
			    rv == MCN_EREPLAY ?
			        "message already seen (or replay memory full)" :
			        "out of memory");
			goto out;
		}
	}
	/* From here the header is trusted; the body is the sender's. */
	switch (type) {
	case MCN_MSG_QUERY:
		rv = codec_open_query(&m->u.query, &ps->body, err, errlen);
		break;
	case MCN_MSG_CONTRIBUTION:
		rv = codec_open_contribution(&m->u.contribution, &ps->body,
		    o->tpub, err, errlen);
		break;
	case MCN_MSG_DECRYPT:
		rv = codec_open_decrypt(&m->u.decrypt, &ps->body, o->tpub, err,
		    errlen);
		break;
	case MCN_MSG_PARTIALS:
		rv = codec_open_partials(&m->u.partials, &ps->body, o->tpub,
		    err, errlen);
		break;
	case MCN_MSG_ERROR:
		rv = codec_open_error(&m->u.error, &ps->body, err, errlen);
		break;
	case MCN_MSG_RELEASE:
		rv = codec_open_release(&m->u.release, &ps->body, o->tpub, err,
		    errlen);
		break;
	}
	if (rv != MCN_OK) {
		mcn_msg_hdr keep = m->h;
		mcn_msg_clear(m);
		m->h = keep;
	}
out:
	mcn_free(tbs, tbslen);
	if (ps != NULL) {
		mcn__signed__free_unpacked(ps, NULL);
	}
	if (pe != NULL) {
		mcn__envelope__free_unpacked(pe, NULL);
	}
	return rv;
}

/* ---- replay memory ---- */

#define REPLAY_KEY (MCN_PARTY_ID_MAX + MCN_MSG_NONCE_BYTES)
#define REPLAY_MIN_CAP 64

struct replay_ent {
	uint64_t expires; /* 0: empty slot */
	uint8_t key[REPLAY_KEY];
};

struct mcn_replay {
	struct replay_ent *tab;
	size_t cap;          /* power of two, >= 2 * count */
	size_t count;        /* occupied slots, expired ones included */
	size_t max;          /* most unexpired entries held */
	uint64_t min_expiry; /* earliest expiry held (purge hint) */
	uint8_t salt[16];
};

mcn_err
mcn_replay_new(mcn_replay **out, size_t max_entries)
{
	mcn_replay *r;
	mcn_err rv;

	MCN_MUST(out != NULL);
	*out = NULL;
	if (max_entries == 0 || max_entries > ((size_t)1 << 30)) {
		return MCN_EINVAL;
	}
	if ((r = mcn_zalloc(sizeof(*r))) == NULL) {
		return MCN_ENOMEM;
	}
	if ((rv = mcn_rng_bytes(mcn_rng_system(), r->salt, sizeof(r->salt))) !=
	    MCN_OK) {
		mcn_free(r, sizeof(*r));
		return rv;
	}
	r->max = max_entries;
	r->min_expiry = UINT64_MAX;
	*out = r;
	return MCN_OK;
}

void
mcn_replay_free(mcn_replay *r)
{
	if (r == NULL) {
		return;
	}
	mcn_free(r->tab, r->cap * sizeof(*r->tab));
	mcn_free(r, sizeof(*r));
}

size_t
mcn_replay_count(const mcn_replay *r)
{
	return r->count;
}

static void
replay_key(uint8_t key[REPLAY_KEY], const char *sender,
    const uint8_t nonce[MCN_MSG_NONCE_BYTES])
{
	size_t n = strnlen(sender, MCN_PARTY_ID_MAX);

	memset(key, 0, REPLAY_KEY);
	memcpy(key, sender, n);
	memcpy(key + MCN_PARTY_ID_MAX, nonce, MCN_MSG_NONCE_BYTES);
}

/* FNV-1a over salt || key. Keys are chosen by authenticated senders only;
 * the salt keeps them from aiming at one probe chain. */
static uint64_t
replay_hash(const mcn_replay *r, const uint8_t key[REPLAY_KEY])
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < sizeof(r->salt); i++) {
		h = (h ^ r->salt[i]) * 0x100000001b3ULL;
	}
	for (size_t i = 0; i < REPLAY_KEY; i++) {
		h = (h ^ key[i]) * 0x100000001b3ULL;
	}
	return h ^ (h >> 29);
}

/* Slot holding key, or the empty slot where it would go. */
static size_t
replay_find(const mcn_replay *r, const struct replay_ent *tab, size_t cap,
    const uint8_t key[REPLAY_KEY])
{
	size_t i = (size_t)replay_hash(r, key) & (cap - 1);

	while (
	    tab[i].expires != 0 && memcmp(tab[i].key, key, REPLAY_KEY) != 0) {
		i = (i + 1) & (cap - 1);
	}
	return i;
}

/* Rebuilds the table with capacity cap, keeping entries unexpired at now. */
static mcn_err
replay_rebuild(mcn_replay *r, size_t cap, uint64_t now_ms)
{
	struct replay_ent *tab = mcn_zalloc(cap * sizeof(*tab));
	size_t count = 0;
	uint64_t min = UINT64_MAX;

	if (tab == NULL) {
		return MCN_ENOMEM;
	}
	for (size_t i = 0; i < r->cap; i++) {
		const struct replay_ent *e = &r->tab[i];
		if (e->expires == 0 || e->expires <= now_ms) {
			continue;
		}
		tab[replay_find(r, tab, cap, e->key)] = *e;
		count++;
		if (e->expires < min) {
			min = e->expires;
		}
	}
	mcn_free(r->tab, r->cap * sizeof(*r->tab));
	r->tab = tab;
	r->cap = cap;
	r->count = count;
	r->min_expiry = min;
	return MCN_OK;
}

int
mcn_replay_seen(const mcn_replay *r, const char *sender,
    const uint8_t nonce[MCN_MSG_NONCE_BYTES], uint64_t now_ms)
{
	uint8_t key[REPLAY_KEY];
	size_t i;

	if (r->cap == 0) {
		return 0;
	}
	replay_key(key, sender, nonce);
	i = replay_find(r, r->tab, r->cap, key);
	return r->tab[i].expires != 0 && r->tab[i].expires > now_ms;
}

mcn_err
mcn_replay_add(mcn_replay *r, const char *sender,
    const uint8_t nonce[MCN_MSG_NONCE_BYTES], uint64_t expires_ms,
    uint64_t now_ms)
{
	uint8_t key[REPLAY_KEY];
	size_t i;
	mcn_err rv;

	MCN_MUST(r != NULL && sender != NULL && nonce != NULL);
	if (expires_ms <= now_ms) {
		return MCN_OK; /* nothing to remember: already stale */
	}
	replay_key(key, sender, nonce);
	if (r->cap == 0 &&
	    (rv = replay_rebuild(r, REPLAY_MIN_CAP, now_ms)) != MCN_OK) {
		return rv;
	}
	i = replay_find(r, r->tab, r->cap, key);
	if (r->tab[i].expires != 0) {
		if (r->tab[i].expires > now_ms) {
			return MCN_EREPLAY;
		}
		r->tab[i].expires = expires_ms; /* reuse an expired slot */
		if (expires_ms < r->min_expiry) {
			r->min_expiry = expires_ms;
		}
		return MCN_OK;
	}
	if (r->count >= r->max && r->min_expiry <= now_ms) {
		if ((rv = replay_rebuild(r, r->cap, now_ms)) != MCN_OK) {
			return rv;
		}
	}
	if (r->count >= r->max) {
		return MCN_EREPLAY; /* full: refuse rather than forget */
	}
	if ((r->count + 1) * 2 > r->cap) {
		if ((rv = replay_rebuild(r, r->cap * 2, now_ms)) != MCN_OK) {
			return rv;
		}
	}
	i = replay_find(r, r->tab, r->cap, key);
	r->tab[i].expires = expires_ms;
	memcpy(r->tab[i].key, key, REPLAY_KEY);
	r->count++;
	if (expires_ms < r->min_expiry) {
		r->min_expiry = expires_ms;
	}
	return MCN_OK;
}
