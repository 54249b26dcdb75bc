/*
 * node/cmd_network.c - `mcn network init`: a complete local consortium in
 * one directory, the way a new user and the tests get a network with one
 * command. It runs the same steps an operator runs by hand (README):
 *
 *   DIR/ca/ca.crt, ca.key              mcn ca init
 *   DIR/siteK/siteK.crt, .key          mcn ca issue --role node
 *   DIR/siteK/siteK.mask               mcn consortium maskkey
 *   DIR/consortium.pub, siteK.share    mcn consortium keygen
 *   DIR/querier/querier.crt, .key      mcn ca issue --role querier
 *   DIR/dictionary.json                mcn synth --dictionary (demo schema)
 *   DIR/consortium.json, siteK/node.json, querier/querier.json
 *
 * All secrets are files of mode 0600; the dealer's secret is forgotten.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "crypto/mask.h"
#include "crypto/mem.h"
#include "crypto/rng.h"
#include "crypto/threshold.h"
#include "node/cmd.h"
#include "node/pki.h"
#include "node/policy.h"
#include "node/synth.h"
#include "node/util.h"

#define NET_MAX_SITES 64

static void
network_usage(void)
{
	fprintf(stderr,
	    "usage: mcn network init --sites N --dir DIR [--threshold T] [--bits 2048]\n"
	    "                        [--base-port 7100] [--name demo] [--allow-plain]\n"
	    "Creates a consortium of N hospital nodes on 127.0.0.1 ports BASE+1..BASE+N\n"
	    "and one querier: CA, certificates, threshold key, mask keys, configs.\n");
}

static int
net_path(char *out, size_t len, const char *dir, const char *a, const char *b)
{
	int n = b != NULL ? snprintf(out, len, "%s/%s/%s", dir, a, b)
	                  : snprintf(out, len, "%s/%s", dir, a);
	return (n > 0 && (size_t)n < len);
}

static mcn_err
net_write_json(const char *path, json_t *doc)
{
	char *s = json_dumps(doc, JSON_INDENT(2));
	if (s == NULL)
		return (MCN_ENOMEM);
	size_t n = strlen(s);
	char *t = malloc(n + 2);
	if (t == NULL) {
		free(s);
		return (MCN_ENOMEM);
	}
	memcpy(t, s, n);
	t[n] = '\n';
	free(s);
	mcn_err rv = mcn_file_write(path, t, n + 1, 0644, 1);
	free(t);
	return (rv);
}

/* dir/<id>/: a querier certificate with a policy role, and querier.json
 * (with "epsilon" when the role asks with differential privacy). */
static mcn_err
net_querier(const char *dir, const char *id, const char *prole, double eps,
    char *err, size_t errlen)
{
	char path[4096], crt[4096], key[4096], cacrt[4096], cakey[4096];
	mcn_err rv;

	net_path(path, sizeof(path), dir, id, NULL);
	if (mkdir(path, 0700) != 0) {
		mcn_msg(err, errlen, "%s: %s", path, strerror(errno));
		return (MCN_ESYS | errno);
	}
	net_path(cacrt, sizeof(cacrt), dir, "ca", "ca.crt");
	net_path(cakey, sizeof(cakey), dir, "ca", "ca.key");
	net_path(crt, sizeof(crt), dir, id, "querier.crt");
	net_path(key, sizeof(key), dir, id, "querier.key");
	if ((rv = mcn_pki_issue_role(cacrt, cakey, id, MCN_ROLE_QUERIER, prole, 825,
	         crt, key, err, errlen)) != MCN_OK)
		return (rv);
	json_t *qc = json_object();
	json_object_set_new(qc, "id", json_string(id));
	json_object_set_new(qc, "role", json_string("querier"));
	json_object_set_new(qc, "ca", json_string("../ca/ca.crt"));
	json_object_set_new(qc, "cert", json_string("querier.crt"));
	json_object_set_new(qc, "key", json_string("querier.key"));
	json_object_set_new(qc, "consortium", json_string("../consortium.json"));
	json_object_set_new(qc, "dictionary", json_string("../dictionary.json"));
	json_object_set_new(qc, "min_sites", json_integer(2));
	json_object_set_new(qc, "timeout_ms", json_integer(30000));
	if (eps > 0)
		json_object_set_new(qc, "epsilon", json_real(eps));
	net_path(path, sizeof(path), dir, id, "querier.json");
	rv = net_write_json(path, qc);
	json_decref(qc);
	if (rv != MCN_OK) {
		mcn_msg(err, errlen, "%s: %s", path, mcn_strerror(rv));
		return (rv);
	}
	printf("querier %-10s %s/%s/querier.json  (policy role %s)\n", id, dir, id, prole);
	return (MCN_OK);
}


/* The threshold-key ceremony for the network (mcn_ceremony_write: deal,
 * write, wipe, re-read), then each share moves into its node's directory. */
static mcn_err
net_ceremony(const char *dir, unsigned sites, unsigned t, unsigned bits, char *err,
    size_t errlen)
{
	char ids[NET_MAX_SITES][16];
	const char *idp[NET_MAX_SITES];
	mcn_err rv;
	for (unsigned i = 0; i < sites; i++) {
		snprintf(ids[i], sizeof(ids[i]), "site%u", i + 1);
		idp[i] = ids[i];
	}
	if ((rv = mcn_ceremony_write(dir, idp, sites, t, bits, mcn_rng_system(), err,
	         errlen)) != MCN_OK)
		return (rv);
	for (unsigned i = 0; i < sites; i++) {
		char from[4096], to[4096], file[32];
		snprintf(file, sizeof(file), "site%u.share", i + 1);
		net_path(from, sizeof(from), dir, file, NULL);
		net_path(to, sizeof(to), dir, ids[i], file);
		if (rename(from, to) != 0) {
			mcn_msg(err, errlen, "%s: %s", to, strerror(errno));
			return (MCN_ESYS | errno);
		}
	}
	return (MCN_OK);
}

static int
net_init(int argc, const char *argv[])
{
	const char *dir = NULL, *name = "demo";
	unsigned long sites = 0, t = 0, bits = 2048, base = 7100;
	int allow_plain = 0;
	for (int i = 1; i < argc; i++) {
		char *end = NULL;
		if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
			name = argv[++i];
		else if (strcmp(argv[i], "--allow-plain") == 0)
			allow_plain = 1;
		else if (i + 1 < argc && (strcmp(argv[i], "--sites") == 0 ||
		             strcmp(argv[i], "--threshold") == 0 ||
		             strcmp(argv[i], "--bits") == 0 ||
		             strcmp(argv[i], "--base-port") == 0)) {
			const char *opt = argv[i];
			unsigned long v = strtoul(argv[++i], &end, 10);
			if (*argv[i] == 0 || *end != 0 || argv[i][0] == '-') {
				fprintf(stderr, "mcn network: %s needs a number\n", opt);
				return (MCN_EXIT_USAGE);
			}
			if (strcmp(opt, "--sites") == 0)
				sites = v;
			else if (strcmp(opt, "--threshold") == 0)
				t = v;
			else if (strcmp(opt, "--bits") == 0)
				bits = v;
			else
				base = v;
		} else {
			network_usage();
			return (MCN_EXIT_USAGE);
		}
	}
	if (dir == NULL || sites == 0) {
		network_usage();
		return (MCN_EXIT_USAGE);
	}
	if (sites < 2 || sites > NET_MAX_SITES) {
		fprintf(stderr, "mcn network: --sites must be 2..%d\n", NET_MAX_SITES);
		return (MCN_EXIT_USAGE);
	}
	if (t == 0)
		t = sites / 2 + 1; /* a majority of the hospitals releases a result */
	if (t < 1 || t > sites) {
		fprintf(stderr, "mcn network: --threshold must be 1..%lu\n", sites);
		return (MCN_EXIT_USAGE);
	}
	if (bits < 1024 || bits > 8192 || bits % 16 != 0) {
		fprintf(stderr, "mcn network: --bits must be a multiple of 16 in 1024..8192\n");
		return (MCN_EXIT_USAGE);
	}
	if (base < 1024 || base + sites > 65535) {
		fprintf(stderr, "mcn network: --base-port must leave ports 1025..65535\n");
		return (MCN_EXIT_USAGE);
	}
	if (!mcn_id_valid(name)) {
		fprintf(stderr, "mcn network: --name must be a valid id (A-Z a-z 0-9 _ . -)\n");
		return (MCN_EXIT_USAGE);
	}
	if (bits < 2048)
		fprintf(stderr, "mcn network: warning: %lu-bit key is for tests only; use 2048 or more\n", bits);

	char err[MCN_ERRMSG] = "";
	char path[4096], path2[4096], path3[4096];
	mcn_err rv;
	json_t *cons = NULL, *nodes = NULL;

	if ((rv = mcn_dir_make(dir, 0755)) != MCN_OK) {
		mcn_msg(err, sizeof(err), "%s: cannot create: %s", dir, mcn_strerror(rv));
		goto fail;
	}
	net_path(path, sizeof(path), dir, "consortium.json", NULL);
	if (access(path, F_OK) == 0) {
		mcn_msg(err, sizeof(err), "%s already holds a network (consortium.json exists); use another --dir", dir);
		goto fail;
	}
	net_path(path, sizeof(path), dir, "ca", NULL);
	if (mkdir(path, 0700) != 0) {
		mcn_msg(err, sizeof(err), "%s: %s", path, strerror(errno));
		goto fail;
	}
	net_path(path, sizeof(path), dir, "ca", "ca.crt");
	net_path(path2, sizeof(path2), dir, "ca", "ca.key");
	if ((rv = mcn_pki_ca_init(path, path2, name, 3650, err, sizeof(err))) != MCN_OK)
		goto fail;
	printf("CA               %s/ca/ca.crt\n", dir);

	cons = json_object();
	nodes = json_array();
	for (unsigned long k = 1; k <= sites; k++) {
		char id[32], file[64], url[64], hex[2 * MCN_X25519_BYTES + 1];
		snprintf(id, sizeof(id), "site%lu", k);
		net_path(path, sizeof(path), dir, id, NULL);
		if (mkdir(path, 0700) != 0) {
			mcn_msg(err, sizeof(err), "%s: %s", path, strerror(errno));
			goto fail;
		}
		snprintf(file, sizeof(file), "%s.crt", id);
		net_path(path2, sizeof(path2), dir, id, file);
		snprintf(file, sizeof(file), "%s.key", id);
		net_path(path3, sizeof(path3), dir, id, file);
		net_path(path, sizeof(path), dir, "ca", "ca.crt");
		char cakey[4096];
		net_path(cakey, sizeof(cakey), dir, "ca", "ca.key");
		if ((rv = mcn_pki_issue(path, cakey, id, MCN_ROLE_NODE, 825, path2, path3, err,
		         sizeof(err))) != MCN_OK)
			goto fail;
		uint8_t mpub[MCN_X25519_BYTES];
		snprintf(file, sizeof(file), "%s.mask", id);
		net_path(path, sizeof(path), dir, id, file);
		if ((rv = mcn_maskkey_create(mpub, path, mcn_rng_system(), err, sizeof(err))) != MCN_OK)
			goto fail;
		mcn_hex_encode(hex, mpub, MCN_X25519_BYTES);
		snprintf(url, sizeof(url), "tls+tcp://127.0.0.1:%lu", base + k);
		json_t *n = json_object();
		json_object_set_new(n, "id", json_string(id));
		json_object_set_new(n, "url", json_string(url));
		json_object_set_new(n, "mask_public", json_string(hex));
		json_array_append_new(nodes, n);

		json_t *nc = json_object();
		json_object_set_new(nc, "id", json_string(id));
		json_object_set_new(nc, "role", json_string("node"));
		json_object_set_new(nc, "listen", json_string(url));
		json_object_set_new(nc, "ca", json_string("../ca/ca.crt"));
		snprintf(file, sizeof(file), "%s.crt", id);
		json_object_set_new(nc, "cert", json_string(file));
		snprintf(file, sizeof(file), "%s.key", id);
		json_object_set_new(nc, "key", json_string(file));
		json_object_set_new(nc, "consortium", json_string("../consortium.json"));
		snprintf(file, sizeof(file), "%s.share", id);
		json_object_set_new(nc, "key_share", json_string(file));
		snprintf(file, sizeof(file), "%s.mask", id);
		json_object_set_new(nc, "mask_key", json_string(file));
		json_object_set_new(nc, "store", json_string("store.db"));
		json_object_set_new(nc, "policy", json_string("policy.json"));
		json_object_set_new(nc, "audit_log", json_string("audit.log"));
		json_object_set_new(nc, "state", json_string("state.db"));
		{
			char *pj = mcn_policy_default_json();
			net_path(path, sizeof(path), dir, id, "policy.json");
			rv = pj == NULL ? MCN_ENOMEM :
			    mcn_file_write(path, pj, strlen(pj), 0644, 1);
			free(pj);
			if (rv != MCN_OK) {
				mcn_msg(err, sizeof(err), "%s: %s", path, mcn_strerror(rv));
				json_decref(nc);
				goto fail;
			}
		}
		json_object_set_new(nc, "dictionary", json_string("../dictionary.json"));
		json_object_set_new(nc, "allow_plain", json_boolean(allow_plain));
		json_object_set_new(nc, "min_sites", json_integer(2));
		json_object_set_new(nc, "timeout_ms", json_integer(30000));
		net_path(path, sizeof(path), dir, id, "node.json");
		rv = net_write_json(path, nc);
		json_decref(nc);
		if (rv != MCN_OK) {
			mcn_msg(err, sizeof(err), "%s: %s", path, mcn_strerror(rv));
			goto fail;
		}
		printf("node %-11s %s/%s/node.json  (%s)\n", id, dir, id, url);
	}

	/* two queriers: a researcher (no noise) and a feasibility analyst
	 * (differential privacy), the roles of the default policy */
	if ((rv = net_querier(dir, "querier", "researcher", 0, err, sizeof(err))) != MCN_OK ||
	    (rv = net_querier(dir, "analyst", "feasibility", 0.5, err, sizeof(err))) != MCN_OK)
		goto fail;

	fprintf(stderr, "mcn network: generating a %lu-bit threshold key (%lu of %lu), this takes a few seconds...\n",
	    bits, t, sites);
	if ((rv = net_ceremony(dir, (unsigned)sites, (unsigned)t, (unsigned)bits, err, sizeof(err))) != MCN_OK)
		goto fail;
	printf("threshold key    %s/consortium.pub (%lu-bit, %lu of %lu)\n", dir, bits, t, sites);

	const char *dj = mcn_synth_dictionary_json();
	net_path(path, sizeof(path), dir, "dictionary.json", NULL);
	if ((rv = mcn_file_write(path, dj, strlen(dj), 0644, 1)) != MCN_OK) {
		mcn_msg(err, sizeof(err), "%s: %s", path, mcn_strerror(rv));
		goto fail;
	}
	printf("dictionary       %s/dictionary.json (demo schema)\n", dir);

	json_object_set_new(cons, "name", json_string(name));
	json_object_set_new(cons, "threshold", json_integer((json_int_t)t));
	json_object_set_new(cons, "min_sites", json_integer(2));
	json_object_set_new(cons, "max_rows_per_site", json_integer(10000000));
	json_object_set_new(cons, "public_key", json_string("consortium.pub"));
	json_object_set(cons, "nodes", nodes);
	net_path(path, sizeof(path), dir, "consortium.json", NULL);
	if ((rv = net_write_json(path, cons)) != MCN_OK) {
		mcn_msg(err, sizeof(err), "%s: %s", path, mcn_strerror(rv));
		goto fail;
	}
	printf("consortium       %s/consortium.json\n", dir);
	json_decref(nodes);
	json_decref(cons);
	return (MCN_EXIT_OK);
fail:
	json_decref(nodes);
	json_decref(cons);
	fprintf(stderr, "mcn network: %s\n", err);
	return (MCN_EXIT_FAIL);
}

int
cmd_network_main(int argc, const char *argv[])
{
	if (argc >= 2 && strcmp(argv[1], "init") == 0)
		return (net_init(argc - 1, argv + 1));
	network_usage();
	return (MCN_EXIT_USAGE);
}
