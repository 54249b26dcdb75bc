/* tests/node/test_config.c - node/config.c: the node's limits on queries
 * in progress (defaults, bounds, consistency, node-only keys). */
#define _POSIX_C_SOURCE 200809L
#include "test.h"

#include <stdlib.h>
#include <unistd.h>

#include "node/config.h"
#include "node/util.h"

static char dir[64];
static char cpath[128], npath[128];

static const char consortium[] =
    "{\"name\": \"t\", \"threshold\": 2, \"min_sites\": 2, "
    "\"max_rows_per_site\": 1000, \"public_key\": \"c.pub\", \"nodes\": ["
    "{\"id\": \"site1\", \"url\": \"tls+tcp://127.0.0.1:7101\", "
    "\"mask_public\": \"" "0101010101010101010101010101010101010101010101010101010101010101" "\"},"
    "{\"id\": \"site2\", \"url\": \"tls+tcp://127.0.0.1:7102\", "
    "\"mask_public\": \"" "0202020202020202020202020202020202020202020202020202020202020202" "\"},"
    "{\"id\": \"site3\", \"url\": \"tls+tcp://127.0.0.1:7103\", "
    "\"mask_public\": \"" "0303030303030303030303030303030303030303030303030303030303030303" "\"}]}";

/* Writes node.json (role "node" or "querier") with the extra keys. */
static void
write_cfg(const char *role, const char *extra)
{
	char buf[2048];
	int node = strcmp(role, "node") == 0;
	snprintf(buf, sizeof(buf),
	    "{\"id\": \"%s\", \"role\": \"%s\", \"ca\": \"ca.crt\", "
	    "\"cert\": \"x.crt\", \"key\": \"x.key\", \"consortium\": "
	    "\"consortium.json\", \"dictionary\": \"d.json\"%s%s}",
	    node ? "site1" : "alice", role,
	    node ? ", \"listen\": \"tls+tcp://127.0.0.1:7101\", \"key_share\": "
	           "\"s\", \"mask_key\": \"m\", \"store\": \"st.db\", "
	           "\"policy\": \"p.json\", \"audit_log\": \"a.log\", "
	           "\"state\": \"state.db\"" :
	           "",
	    extra);
	REQUIRE_OK(mcn_file_write(npath, buf, strlen(buf), 0600, 0));
}

static void
test_in_progress(void)
{
	mcn_config c;
	char err[512];

	snprintf(dir, sizeof(dir), "/tmp/mcn-config-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		MCNT_FAIL("mkdtemp");
		return;
	}
	snprintf(cpath, sizeof(cpath), "%s/consortium.json", dir);
	snprintf(npath, sizeof(npath), "%s/node.json", dir);
	REQUIRE_OK(mcn_file_write(cpath, consortium, strlen(consortium), 0600,
	    1));

	/* defaults: every slot of the engine, 64 per querier */
	write_cfg("node", "");
	REQUIRE_OK(mcn_config_load(&c, npath, err, sizeof(err)));
	CHECK_U64_EQ(c.max_in_progress, 1024);
	CHECK_U64_EQ(c.max_per_querier, 64);
	mcn_config_clear(&c);

	write_cfg("node", ", \"max_queries_in_progress\": 100, "
	                  "\"max_queries_per_querier\": 10");
	REQUIRE_OK(mcn_config_load(&c, npath, err, sizeof(err)));
	CHECK_U64_EQ(c.max_in_progress, 100);
	CHECK_U64_EQ(c.max_per_querier, 10);
	mcn_config_clear(&c);

	/* a small node: the per-querier default follows it down */
	write_cfg("node", ", \"max_queries_in_progress\": 8");
	REQUIRE_OK(mcn_config_load(&c, npath, err, sizeof(err)));
	CHECK_U64_EQ(c.max_in_progress, 8);
	CHECK_U64_EQ(c.max_per_querier, 8);
	mcn_config_clear(&c);

	write_cfg("node", ", \"max_queries_in_progress\": 8, "
	                  "\"max_queries_per_querier\": 9");
	CHECK_ERR(mcn_config_load(&c, npath, err, sizeof(err)), MCN_EFORMAT);
	CHECK(strstr(err, "\"max_queries_per_querier\" (9) is above "
	                  "\"max_queries_in_progress\" (8): lower it or raise "
	                  "the other") != NULL);

	write_cfg("node", ", \"max_queries_in_progress\": 1025");
	CHECK_ERR(mcn_config_load(&c, npath, err, sizeof(err)), MCN_EFORMAT);
	CHECK(strstr(err, "\"max_queries_in_progress\" must be an integer in "
	                  "[1, 1024]") != NULL);
	write_cfg("node", ", \"max_queries_per_querier\": 0");
	CHECK_ERR(mcn_config_load(&c, npath, err, sizeof(err)), MCN_EFORMAT);
	CHECK(strstr(err, "\"max_queries_per_querier\" must be an integer in "
	                  "[1, 1024]") != NULL);

	/* a querier has no such limits */
	write_cfg("querier", ", \"max_queries_per_querier\": 4");
	CHECK_ERR(mcn_config_load(&c, npath, err, sizeof(err)), MCN_EFORMAT);
	CHECK(strstr(err, "\"max_queries_per_querier\" is for node configs, "
	                  "not a querier's") != NULL);

	CHECK(unlink(npath) == 0 && unlink(cpath) == 0 && rmdir(dir) == 0);
}

MCNT_MAIN({ "in_progress", test_in_progress })
