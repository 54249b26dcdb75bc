/*
 * node/config.c - node/querier configuration and the consortium file
 * (JSON via jansson). Parsing only: nothing is opened besides the two JSON
 * files, no key is read. See node/config.h for the formats.
 */
#define _POSIX_C_SOURCE 200809L
#include "node/config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define CFG_FILE_MAX (1u << 20)

/* path relative to dir unless absolute; new malloc'd string or NULL. */
static char *
cfg_resolve(const char *dir, const char *p)
{
	if (p[0] == '/' || dir == NULL || dir[0] == 0)
		return (strdup(p));
	size_t n = strlen(dir) + strlen(p) + 2;
	char *s = malloc(n);
	if (s != NULL)
		snprintf(s, n, "%s/%s", dir, p);
	return (s);
}

static char *
cfg_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (slash == NULL)
		return (strdup("."));
	if (slash == path)
		return (strdup("/"));
	return (strndup(path, (size_t)(slash - path)));
}

static json_t *
cfg_load_json(const char *path, char *err, size_t errlen, mcn_err *rv)
{
	uint8_t *buf;
	size_t len;
	*rv = mcn_file_read(path, CFG_FILE_MAX, &buf, &len);
	if (*rv != MCN_OK) {
		mcn_msg(err, errlen, "%s: cannot read: %s", path, mcn_strerror(*rv));
		return (NULL);
	}
	json_error_t je;
	json_t *root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &je);
	mcn_file_free(buf, len);
	if (root == NULL) {
		mcn_msg(err, errlen, "%s:%d:%d: invalid JSON: %s", path, je.line,
		    je.column, je.text);
		*rv = MCN_EFORMAT;
		return (NULL);
	}
	if (!json_is_object(root)) {
		mcn_msg(err, errlen, "%s: top level must be a JSON object", path);
		json_decref(root);
		*rv = MCN_EFORMAT;
		return (NULL);
	}
	return (root);
}

/* Refuses keys not in the allowed list (typos must not pass silently). */
static mcn_err
cfg_check_keys(json_t *obj, const char *const *allowed, const char *path,
    const char *where, char *err, size_t errlen)
{
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v) {
		int ok = 0;
		for (size_t i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				ok = 1;
		if (!ok) {
			mcn_msg(err, errlen, "%s: unknown key \"%.64s\"%s", path, key, where);
			return (MCN_EFORMAT);
		}
	}
	return (MCN_OK);
}

static mcn_err
cfg_str(json_t *obj, const char *key, int required, const char *dir, int resolve,
    char **out, const char *path, char *err, size_t errlen)
{
	*out = NULL;
	json_t *v = json_object_get(obj, key);
	if (v == NULL || json_is_null(v)) {
		if (required) {
			mcn_msg(err, errlen, "%s: missing \"%s\"", path, key);
			return (MCN_EFORMAT);
		}
		return (MCN_OK);
	}
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > 4096 || strlen(json_string_value(v)) != json_string_length(v)) {
		mcn_msg(err, errlen, "%s: \"%s\" must be a non-empty string", path, key);
		return (MCN_EFORMAT);
	}
	*out = resolve ? cfg_resolve(dir, json_string_value(v)) : strdup(json_string_value(v));
	return (*out == NULL ? MCN_ENOMEM : MCN_OK);
}

static mcn_err
cfg_uint(json_t *obj, const char *key, uint64_t lo, uint64_t hi, uint64_t dflt,
    uint64_t *out, const char *path, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);
	if (v == NULL || json_is_null(v)) {
		*out = dflt;
		return (MCN_OK);
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) < lo || (uint64_t)json_integer_value(v) > hi) {
		mcn_msg(err, errlen, "%s: \"%s\" must be an integer in [%llu, %llu]",
		    path, key, (unsigned long long)lo, (unsigned long long)hi);
		return (MCN_EFORMAT);
	}
	*out = (uint64_t)json_integer_value(v);
	return (MCN_OK);
}

static mcn_err
cfg_bool(json_t *obj, const char *key, int dflt, int *out, const char *path,
    char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);
	if (v == NULL || json_is_null(v)) {
		*out = dflt;
		return (MCN_OK);
	}
	if (!json_is_boolean(v)) {
		mcn_msg(err, errlen, "%s: \"%s\" must be true or false", path, key);
		return (MCN_EFORMAT);
	}
	*out = json_is_true(v);
	return (MCN_OK);
}

static mcn_err
cfg_id(json_t *obj, const char *key, char out[MCN_ID_MAX + 1], const char *path,
    const char *where, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);
	if (v == NULL || !json_is_string(v)) {
		mcn_msg(err, errlen, "%s: missing \"%s\"%s", path, key, where);
		return (MCN_EFORMAT);
	}
	const char *s = json_string_value(v);
	if (strlen(s) != json_string_length(v) || !mcn_id_valid(s)) {
		mcn_msg(err, errlen,
		    "%s: \"%s\"%s must be 1..%d characters of A-Z a-z 0-9 _ . -",
		    path, key, where, MCN_ID_MAX);
		return (MCN_EFORMAT);
	}
	memcpy(out, s, strlen(s) + 1);
	return (MCN_OK);
}

void
mcn_consortium_clear(mcn_consortium *c)
{
	free(c->name);
	free(c->public_key);
	free(c->nodes);
	memset(c, 0, sizeof(*c));
}

int
mcn_consortium_find(const mcn_consortium *c, const char *id)
{
	for (size_t i = 0; i < c->nnodes; i++)
		if (strcmp(c->nodes[i].id, id) == 0)
			return ((int)i);
	return (-1);
}

mcn_err
mcn_consortium_load(mcn_consortium *c, const char *path, char *err, size_t errlen)
{
	static const char *const keys[] = { "name", "threshold", "min_sites",
		"max_rows_per_site", "public_key", "nodes", NULL };
	static const char *const nkeys[] = { "id", "url", "mask_public", NULL };
	memset(c, 0, sizeof(*c));
	mcn_err rv;
	char *dir = NULL;
	json_t *root = cfg_load_json(path, err, errlen, &rv);
	if (root == NULL)
		return (rv);
	if ((dir = cfg_dirname(path)) == NULL) {
		rv = MCN_ENOMEM;
		goto out;
	}
	if ((rv = cfg_check_keys(root, keys, path, "", err, errlen)) != MCN_OK)
		goto out;
	if ((rv = cfg_str(root, "name", 1, dir, 0, &c->name, path, err, errlen)) != MCN_OK)
		goto out;
	if ((rv = cfg_str(root, "public_key", 1, dir, 1, &c->public_key, path, err, errlen)) != MCN_OK)
		goto out;
	uint64_t v;
	json_t *nodes = json_object_get(root, "nodes");
	if (!json_is_array(nodes) || json_array_size(nodes) < 2 ||
	    json_array_size(nodes) > 128) {
		mcn_msg(err, errlen, "%s: \"nodes\" must be an array of 2..128 nodes", path);
		rv = MCN_EFORMAT;
		goto out;
	}
	c->nnodes = json_array_size(nodes);
	if ((rv = cfg_uint(root, "threshold", 1, c->nnodes, 0, &v, path, err, errlen)) != MCN_OK)
		goto out;
	if (v == 0) {
		mcn_msg(err, errlen, "%s: missing \"threshold\"", path);
		rv = MCN_EFORMAT;
		goto out;
	}
	c->threshold = (unsigned)v;
	if (2 * (size_t)c->threshold <= c->nnodes) {
		/* A node decrypts once per query, but two disjoint groups of t
		 * nodes could each be asked to decrypt a different subset of
		 * the same contributions, and the difference is one site. */
		mcn_msg(err, errlen,
		    "%s: \"threshold\" must be a majority of the %zu nodes (at least %zu)",
		    path, c->nnodes, c->nnodes / 2 + 1);
		rv = MCN_EFORMAT;
		goto out;
	}
	if ((rv = cfg_uint(root, "min_sites", 2, c->nnodes, 2, &v, path, err, errlen)) != MCN_OK)
		goto out;
	c->min_sites = (unsigned)v;
	if ((rv = cfg_uint(root, "max_rows_per_site", 1, 1000000000000ull, 10000000,
	         &v, path, err, errlen)) != MCN_OK)
		goto out;
	c->max_rows_per_site = v;
	c->nodes = calloc(c->nnodes, sizeof(*c->nodes));
	if (c->nodes == NULL) {
		rv = MCN_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < c->nnodes; i++) {
		json_t *n = json_array_get(nodes, i);
		char where[48];
		snprintf(where, sizeof(where), " in nodes[%zu]", i);
		if (!json_is_object(n)) {
			mcn_msg(err, errlen, "%s: nodes[%zu] must be an object", path, i);
			rv = MCN_EFORMAT;
			goto out;
		}
		if ((rv = cfg_check_keys(n, nkeys, path, where, err, errlen)) != MCN_OK ||
		    (rv = cfg_id(n, "id", c->nodes[i].id, path, where, err, errlen)) != MCN_OK)
			goto out;
		json_t *u = json_object_get(n, "url");
		if (!json_is_string(u) || json_string_length(u) >= MCN_URL_MAX ||
		    strncmp(json_string_value(u), "tls+tcp://", 10) != 0) {
			mcn_msg(err, errlen, "%s: \"url\"%s must be a tls+tcp:// URL", path, where);
			rv = MCN_EFORMAT;
			goto out;
		}
		strcpy(c->nodes[i].url, json_string_value(u));
		json_t *m = json_object_get(n, "mask_public");
		if (!json_is_string(m) ||
		    mcn_hex_decode(c->nodes[i].mask_public, MCN_X25519_BYTES,
		        json_string_value(m)) != MCN_OK) {
			mcn_msg(err, errlen, "%s: \"mask_public\"%s must be 64 hex digits", path, where);
			rv = MCN_EFORMAT;
			goto out;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(c->nodes[j].id, c->nodes[i].id) == 0) {
				mcn_msg(err, errlen, "%s: node id \"%s\" appears twice", path, c->nodes[i].id);
				rv = MCN_EFORMAT;
				goto out;
			}
		}
	}
	if (c->min_sites < 2) {
		mcn_msg(err, errlen, "%s: \"min_sites\" must be at least 2", path);
		rv = MCN_EFORMAT;
		goto out;
	}
	rv = MCN_OK;
out:
	free(dir);
	json_decref(root);
	if (rv != MCN_OK)
		mcn_consortium_clear(c);
	return (rv);
}

void
mcn_config_clear(mcn_config *cfg)
{
	free(cfg->dir);
	free(cfg->listen);
	free(cfg->ca);
	free(cfg->cert);
	free(cfg->key);
	free(cfg->consortium_path);
	free(cfg->key_share);
	free(cfg->mask_key);
	free(cfg->store);
	free(cfg->dictionary);
	free(cfg->log);
	free(cfg->policy);
	free(cfg->audit_log);
	free(cfg->state);
	mcn_consortium_clear(&cfg->consortium);
	memset(cfg, 0, sizeof(*cfg));
}

mcn_err
mcn_config_load(mcn_config *cfg, const char *path, char *err, size_t errlen)
{
	static const char *const keys[] = { "id", "role", "listen", "ca", "cert",
		"key", "consortium", "key_share", "mask_key", "store", "dictionary",
		"allow_plain", "min_sites", "threads", "timeout_ms",
		"max_message_bytes", "max_skew_ms", "log", "decrypt_spare", "policy",
		"audit_log", "state", "epsilon", "max_queries_in_progress",
		"max_queries_per_querier", NULL };
	memset(cfg, 0, sizeof(*cfg));
	mcn_err rv;
	json_t *root = cfg_load_json(path, err, errlen, &rv);
	if (root == NULL)
		return (rv);
	const char *d;
	uint64_t v;
	if ((cfg->dir = cfg_dirname(path)) == NULL) {
		rv = MCN_ENOMEM;
		goto out;
	}
	d = cfg->dir;
	if ((rv = cfg_check_keys(root, keys, path, "", err, errlen)) != MCN_OK ||
	    (rv = cfg_id(root, "id", cfg->id, path, "", err, errlen)) != MCN_OK)
		goto out;
	json_t *role = json_object_get(root, "role");
	if (json_is_string(role) && strcmp(json_string_value(role), "node") == 0)
		cfg->role = MCN_ROLE_NODE;
	else if (json_is_string(role) && strcmp(json_string_value(role), "querier") == 0)
		cfg->role = MCN_ROLE_QUERIER;
	else {
		mcn_msg(err, errlen, "%s: \"role\" must be \"node\" or \"querier\"", path);
		rv = MCN_EFORMAT;
		goto out;
	}
	int node = cfg->role == MCN_ROLE_NODE;
	if ((rv = cfg_str(root, "ca", 1, d, 1, &cfg->ca, path, err, errlen)) != MCN_OK ||
	    (rv = cfg_str(root, "cert", 1, d, 1, &cfg->cert, path, err, errlen)) != MCN_OK ||
	    (rv = cfg_str(root, "key", 1, d, 1, &cfg->key, path, err, errlen)) != MCN_OK ||
	    (rv = cfg_str(root, "consortium", 1, d, 1, &cfg->consortium_path, path, err, errlen)) != MCN_OK ||
	    (rv = cfg_str(root, "dictionary", 1, d, 1, &cfg->dictionary, path, err, errlen)) != MCN_OK ||
	    (rv = cfg_str(root, "log", 0, d, 1, &cfg->log, path, err, errlen)) != MCN_OK ||
	    (rv = cfg_str(root, "listen", node, d, 0, &cfg->listen, path, err, errlen)) != MCN_OK ||
	    (rv = cfg_str(root, "key_share", node, d, 1, &cfg->key_share, path, err, errlen)) != MCN_OK ||
	    (rv = cfg_str(root, "mask_key", node, d, 1, &cfg->mask_key, path, err, errlen)) != MCN_OK ||
	    (rv = cfg_str(root, "store", node, d, 1, &cfg->store, path, err, errlen)) != MCN_OK ||
	    (rv = cfg_str(root, "policy", node, d, 1, &cfg->policy, path, err, errlen)) != MCN_OK ||
	    (rv = cfg_str(root, "audit_log", node, d, 1, &cfg->audit_log, path, err, errlen)) != MCN_OK ||
	    (rv = cfg_str(root, "state", node, d, 1, &cfg->state, path, err, errlen)) != MCN_OK)
		goto out;
	if (!node) {
		const char *nodeonly[] = { "listen", "key_share", "mask_key", "store", "allow_plain",
			"policy", "audit_log", "state", "max_queries_in_progress",
			"max_queries_per_querier" };
		for (size_t i = 0; i < sizeof(nodeonly) / sizeof(nodeonly[0]); i++) {
			if (json_object_get(root, nodeonly[i]) != NULL) {
				mcn_msg(err, errlen, "%s: \"%s\" is for node configs, not a querier's",
				    path, nodeonly[i]);
				rv = MCN_EFORMAT;
				goto out;
			}
		}
	}
	if (cfg->listen != NULL && strncmp(cfg->listen, "tls+tcp://", 10) != 0) {
		mcn_msg(err, errlen, "%s: \"listen\" must be a tls+tcp:// URL", path);
		rv = MCN_EFORMAT;
		goto out;
	}
	if ((rv = cfg_bool(root, "allow_plain", 0, &cfg->allow_plain, path, err, errlen)) != MCN_OK)
		goto out;
	if ((rv = cfg_uint(root, "min_sites", 2, 128, 2, &v, path, err, errlen)) != MCN_OK)
		goto out;
	cfg->min_sites = (unsigned)v;
	if ((rv = cfg_uint(root, "threads", 0, 256, 0, &v, path, err, errlen)) != MCN_OK)
		goto out;
	cfg->threads = (unsigned)v;
	if ((rv = cfg_uint(root, "timeout_ms", 100, 3600000, 30000, &v, path, err, errlen)) != MCN_OK)
		goto out;
	cfg->timeout_ms = (unsigned)v;
	if ((rv = cfg_uint(root, "max_message_bytes", 4096, 1u << 30, 16u << 20, &v, path, err, errlen)) != MCN_OK)
		goto out;
	cfg->max_message = (size_t)v;
	if ((rv = cfg_uint(root, "max_skew_ms", 1000, 86400000, 300000, &v, path, err, errlen)) != MCN_OK)
		goto out;
	cfg->max_skew_ms = v;
	if ((rv = cfg_uint(root, "max_queries_in_progress", 1, MCN_CONFIG_MAX_IN_PROGRESS,
	         MCN_CONFIG_MAX_IN_PROGRESS, &v, path, err, errlen)) != MCN_OK)
		goto out;
	cfg->max_in_progress = (unsigned)v;
	if ((rv = cfg_uint(root, "max_queries_per_querier", 1, MCN_CONFIG_MAX_IN_PROGRESS,
	         v < 64 ? v : 64, &v, path, err, errlen)) != MCN_OK)
		goto out;
	cfg->max_per_querier = (unsigned)v;
	if (cfg->max_per_querier > cfg->max_in_progress) {
		mcn_msg(err, errlen, "%s: \"max_queries_per_querier\" (%u) is above "
		    "\"max_queries_in_progress\" (%u): lower it or raise the other",
		    path, cfg->max_per_querier, cfg->max_in_progress);
		rv = MCN_EFORMAT;
		goto out;
	}
	if ((rv = cfg_uint(root, "decrypt_spare", 0, 128, 0, &v, path, err, errlen)) != MCN_OK)
		goto out;
	cfg->decrypt_spare = (unsigned)v;
	{
		json_t *e = json_object_get(root, "epsilon");
		if (e != NULL && !json_is_null(e)) {
			double ev = json_is_number(e) ? json_number_value(e) : -1;
			if (node || !(ev > 0 && ev <= 10)) {
				mcn_msg(err, errlen, "%s: \"epsilon\" is a querier's, a number in (0, 10]",
				    path);
				rv = MCN_EFORMAT;
				goto out;
			}
			cfg->epsilon = ev;
		}
	}
	if (node && json_object_get(root, "decrypt_spare") != NULL) {
		mcn_msg(err, errlen, "%s: \"decrypt_spare\" is for querier configs, not a node's", path);
		rv = MCN_EFORMAT;
		goto out;
	}
	if ((rv = mcn_consortium_load(&cfg->consortium, cfg->consortium_path, err, errlen)) != MCN_OK)
		goto out;
	if (node && mcn_consortium_find(&cfg->consortium, cfg->id) < 0) {
		mcn_msg(err, errlen, "%s: node \"%s\" is not listed in %s", path, cfg->id,
		    cfg->consortium_path);
		rv = MCN_EFORMAT;
		goto out;
	}
	/* The stricter of the node's and the consortium's floors applies. */
	if (cfg->min_sites < cfg->consortium.min_sites)
		cfg->min_sites = cfg->consortium.min_sites;
	rv = MCN_OK;
out:
	json_decref(root);
	if (rv != MCN_OK)
		mcn_config_clear(cfg);
	return (rv);
}
