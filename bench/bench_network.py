#!/usr/bin/env python3
"""Network benchmark: a 3-node consortium on loopback, N synthetic patients
per site, repeated runs of one query per aggregation mode; reports p50/p95
latency (end to end, as the querier sees it: process start to result) and
bytes per node. Run through scripts/bench-network.sh, or directly:

  python3 bench/bench_network.py --mcn build/node/mcn --rows 100000 --runs 20

Output: a table on stdout, and with --json FILE one JSON document with every
run. Figures are honest wall-clock numbers on this machine; nothing is
hard-coded.
"""
import argparse
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

QUERY = ("SELECT count(), mean(sbp), var(sbp), histogram(sbp, 80, 200, 12) "
         "FROM patients WHERE age >= 50 AND diabetes <> 'no'")


def free_base(n):
    for _ in range(200):
        base = 20000 + int.from_bytes(os.urandom(2), "big") % 30000
        ok = True
        for k in range(1, n + 1):
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", base + k))
            except OSError:
                ok = False
            finally:
                s.close()
        if ok:
            return base
    raise RuntimeError("no free port range")


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mcn", required=True)
    ap.add_argument("--rows", default="100000",
                    help="patients per site; a comma list runs several sizes")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--modes", default="plain,masked,paillier")
    ap.add_argument("--bits", type=int, default=2048)
    ap.add_argument("--sites", type=int, default=3)
    ap.add_argument("--node-threads", type=int, default=1,
                    help="OpenMP threads per node (default 1: all the nodes "
                    "share this machine's cores; deployed, each has its own)")
    ap.add_argument("--json", help="write all measurements to this file")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    mcn = os.path.abspath(a.mcn)
    modes = a.modes.split(",")
    report = {"query": QUERY, "sites": a.sites, "bits": a.bits,
              "node_threads": a.node_threads,
              "runs": a.runs, "machine": platform.node(),
              "cpus": os.cpu_count(), "sizes": []}
    for rows in [int(r) for r in a.rows.split(",")]:
        work = tempfile.mkdtemp(prefix="mcn-bench.")
        procs = []
        try:
            base = free_base(a.sites)
            net = os.path.join(work, "net")
            run([mcn, "network", "init", "--sites", str(a.sites), "--dir", net,
                 "--base-port", str(base), "--bits", str(a.bits),
                 "--allow-plain"])
            for k in range(1, a.sites + 1):
                ncfg = os.path.join(net, f"site{k}", "node.json")
                with open(ncfg) as f:
                    doc = json.load(f)
                doc["threads"] = a.node_threads
                with open(ncfg, "w") as f:
                    json.dump(doc, f, indent=2)
                csv = os.path.join(work, f"site{k}.csv")
                run([mcn, "synth", "--site", str(k), "--rows", str(rows),
                     "--seed", "7", "--out", csv])
                run([mcn, "import", "--config",
                     os.path.join(net, f"site{k}", "node.json"), "--csv", csv])
            for k in range(1, a.sites + 1):
                log = open(os.path.join(work, f"site{k}.log"), "w")
                procs.append(subprocess.Popen(
                    [mcn, "serve", "--config",
                     os.path.join(net, f"site{k}", "node.json")],
                    stdout=subprocess.DEVNULL, stderr=log))
            qcfg = os.path.join(net, "querier", "querier.json")
            deadline = time.time() + 60
            while True:
                r = subprocess.run([mcn, "query", "--config", qcfg, "--mode",
                                    "masked", "--timeout-ms", "2000", "--json",
                                    "SELECT count() FROM patients"],
                                   capture_output=True, text=True)
                if r.returncode == 0:
                    break
                if time.time() > deadline:
                    raise RuntimeError("nodes did not start: " + r.stderr)
                time.sleep(0.2)
            size = {"rows_per_site": rows, "modes": {}}
            for mode in modes:
                wall, total, rounds_ms, bytes_in, bytes_out = [], [], [], [], []
                for i in range(a.runs + 1):
                    t0 = time.perf_counter()
                    r = run([mcn, "query", "--config", qcfg, "--mode", mode,
                             "--json", QUERY])
                    t1 = time.perf_counter()
                    doc = json.loads(r.stdout)
                    if i == 0:
                        continue  # warm-up (page cache, first TLS sessions)
                    wall.append((t1 - t0) * 1000.0)
                    total.append(doc["timings_ms"]["total"])
                    bytes_in.append(doc["bytes"]["received"])
                    bytes_out.append(doc["bytes"]["sent"])
                    rounds_ms.append({k: v for k, v in doc["timings_ms"].items()
                                      if k.startswith("round")})
                size["modes"][mode] = {
                    "wall_ms": wall, "total_ms": total,
                    "p50_ms": pct(wall, 50), "p95_ms": pct(wall, 95),
                    "bytes_sent_per_node": statistics.mean(bytes_in) / a.sites,
                    "bytes_received_per_node": statistics.mean(bytes_out) / a.sites,
                    "rounds_ms": rounds_ms,
                }
            report["sizes"].append(size)
        finally:
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
            if a.keep:
                print("kept", work, file=sys.stderr)
            else:
                shutil.rmtree(work, ignore_errors=True)

    print(f"query: {QUERY}")
    print(f"{a.sites} nodes on loopback, {a.bits}-bit threshold key, "
          f"{a.runs} runs per mode after one warm-up, {os.cpu_count()} cores, "
          f"{a.node_threads} thread(s) per node")
    print(f"{'rows/site':>10} {'mode':>9} {'p50 ms':>9} {'p95 ms':>9} "
          f"{'bytes/node':>11} {'vs plain':>9}")
    for size in report["sizes"]:
        plain = size["modes"].get("plain", {}).get("p50_ms")
        for mode, m in size["modes"].items():
            ratio = f"{m['p50_ms'] / plain:.2f}x" if plain else "-"
            print(f"{size['rows_per_site']:>10} {mode:>9} {m['p50_ms']:>9.1f} "
                  f"{m['p95_ms']:>9.1f} {m['bytes_sent_per_node']:>11.0f} "
                  f"{ratio:>9}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
