#!/usr/bin/env python3
"""End-to-end checks of the release rule on the pooled cells (issue 11),
on real nodes, in paillier and masked modes: the reproductions that failed
under per-site suppression.

  1. One big and two tiny hospitals (20,000 / 500 / 500 patients): a
     "pooled" answer must never be the big hospital's own figures.
  2. Trial-sized hospitals (3 x 140): a two-way table whose per-site cells
     are small gives the exact pooled chi-square.
  3. The same trial at k = 3: Kaplan-Meier curves by sex released while 3
     or more are at risk, equal to the pooled computation, and the
     log-rank test on all the data.

Every answer is compared with the pooled plaintext computation on the
union of the CSVs under the same rule (e2e.py, release_model).

    python3 tests/e2e/release.py --mcn build/node/mcn [--keep] [--verbose]
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402  (the battery's harness, references and model)

MODES = ("paillier", "masked")


def policy(h, k):
    """Every site: the researcher role with min_cell k and no
    differencing rule (the rule under test is the release rule)."""
    for s in range(1, e2e.NSITES + 1):
        with open(os.path.join(h.net, "site%d" % s, "policy.json"),
                  "w") as f:
            json.dump({"version": 1, "roles": {"researcher": {
                "analyses": ["*"],
                "columns": {"where": ["*"], "aggregate": ["*"],
                            "group_by": ["*"]},
                "max_sensitivity": 4, "grant": [], "min_cell": k,
                "min_difference": 0, "dp": None,
                "rate_limit": {"queries": 1000000,
                               "per_seconds": 3600}}}}, f)


def load(h, rows, seed0):
    """Synthesizes rows[s] patients for site s, imports them (replacing
    the store) and returns the pooled reference data."""
    for s in range(1, e2e.NSITES + 1):
        h.run_ok(["synth", "--site", s, "--rows", rows[s], "--seed",
                  seed0 + s, "--out", h.csv_path(s)])
        h.run_ok(["import", "--config", h.node_config(s), "--csv",
                  h.csv_path(s), "--replace"])
    return e2e.Pool(h.dictionary, [h.csv_path(s)
                                   for s in range(1, e2e.NSITES + 1)])


def restart(h):
    for s in list(h.nodes):
        h.stop_node(s)
    e2e.start_all(h, check_name=None)


def check_battery(h, pool, queries, extra=None):
    everyone = list(range(1, e2e.NSITES + 1))
    for mode in MODES:
        for q in queries:
            with h.check("%s: %s" % (mode, q.label)) as diffs:
                doc = h.query_doc(q.text, mode)
                e2e.compare_results(doc.get("results"), pool.expected(q),
                                    diffs)
                if sorted(doc["sites"]["contributed"]) != sorted(
                        h.site_ids[s] for s in everyone):
                    diffs.append("contributed: %r" % doc["sites"])
                if extra is not None:
                    extra(q, doc, diffs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mcn", required=True)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    mcn = os.path.abspath(args.mcn)
    tmp = tempfile.mkdtemp(prefix="mcn-release-")
    h = e2e.Harness(mcn, tmp, args.verbose)
    t0 = time.monotonic()
    fatal = None
    try:
        with h.check("setup: demo dictionary, network, policies",
                     fatal=True):
            out, _ = h.run_ok(["synth", "--dictionary"])
            h.dictionary = json.loads(out)
            base = e2e.free_base_port()
            h.run_ok(["network", "init", "--sites", e2e.NSITES, "--dir",
                      h.net, "--threshold", e2e.THRESHOLD, "--bits",
                      e2e.BITS, "--base-port", base])
            for s in range(1, e2e.NSITES + 1):
                with open(h.node_config(s)) as f:
                    h.site_ids[s] = json.load(f)["id"]

        # 1. never one hospital's own figures
        e2e.REL_K, e2e.REL_M = 5, 2
        policy(h, 5)
        with h.check("data: 20,000 / 500 / 500 patients", fatal=True):
            pool = load(h, {1: 20000, 2: 500, 3: 500}, 7100)
            restart(h)
        site1 = e2e.Pool(h.dictionary, [h.csv_path(1)])
        q1 = e2e.Query("one big and two tiny sites: count and mean by sex",
                       [("count",), ("mean", "age")],
                       where="diabetes = 'type1'", group=["sex"])
        q2 = e2e.Query("one big and two tiny sites: histogram and table",
                       [("histogram", "age", 18, 98, 8),
                        ("table", "smoker", "diabetes")],
                       where="sbp >= 170")

        def not_site1(q, doc, diffs):
            own = site1.expected(q)
            for got, mine in zip(doc["results"], own):
                for g, m in zip(got["groups"], mine["groups"]):
                    if m.get("withheld") or g.get("withheld"):
                        continue
                    if got["aggregate"] in ("count", "mean") and \
                            g["value"] == m["value"] and m["value"]:
                        diffs.append("%s %s: released %r = site1's own" % (
                            got["name"], g["group"], g["value"]))
        check_battery(h, pool, [q1, q2], not_site1)
        with h.check("one big and two tiny sites: the answer withholds "
                     "something (the scenario exercises the rule)") as diffs:
            doc = h.query_doc(q1.text + ", smoker", "paillier")
            if not doc.get("suppressions"):
                diffs.append("nothing withheld: %r" % doc.get("results"))

        # 2. and 3. trial-sized hospitals
        e2e.REL_K = 5
        with h.check("data: 3 x 140 patients", fatal=True):
            pool = load(h, {1: 140, 2: 140, 3: 140}, 7200)
            restart(h)
        qt = e2e.Query("trial: smoker x diabetes with chi-square",
                       [("table", "smoker", "diabetes")])
        qs = e2e.Query("trial: sex x smoker with chi-square",
                       [("table", "sex", "smoker")])

        def chi_present(q, doc, diffs):
            v = doc["results"][0]["groups"][0]["value"]
            if q is qs and not isinstance(v.get("chi_square"), dict):
                diffs.append("no chi-square on a table with every pooled "
                             "cell >= k: %r" % v)
        check_battery(h, pool, [qt, qs], chi_present)

        e2e.REL_K = 3
        policy(h, 3)
        restart(h)
        qk = e2e.Query("trial at k = 3: Kaplan-Meier by sex, log-rank",
                       [("survival", "followup_days", "death")],
                       group=["sex"])

        def km_released(q, doc, diffs):
            r = doc["results"][0]
            if not isinstance(r.get("log_rank"), dict):
                diffs.append("no log-rank: %r" % r.get("log_rank"))
            for g in r["groups"]:
                v = g["value"]
                if not isinstance(v, dict) or len(v["points"]) < 20:
                    diffs.append("%s: curve not released: %r" % (
                        g["group"], v if not isinstance(v, dict) else
                        len(v["points"])))
        check_battery(h, pool, [qk], km_released)
    except e2e.Fatal as e:
        fatal = str(e)
    finally:
        h.teardown()
        if h.failures and h.logs:
            h.dump_logs()
        if args.keep:
            print("release: kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if fatal:
        print("release: stopped after a fatal failure: %s" % fatal)
    print("release: %d checks, %d failed, %.1f s" % (
        h.nchecks, len(h.failures), time.monotonic() - t0))
    return 1 if h.failures or fatal else 0


if __name__ == "__main__":
    sys.exit(main())
