#!/usr/bin/env python3
"""CI test of the benchmark harness (bench/harness.py) and of the synthetic
hospitals' later columns (node/synth.h).

    python3 tests/e2e/test_harness.py --mcn build/node/mcn [--keep]

1. Generator: same (site, seed, options) -> same bytes; another seed or
   site -> other bytes; prefix-stable; --overlap 0 keeps the first twelve
   columns of the default; pool patients share id, age and sex across
   sites; --opt-out 0 / 1; --truth lists the 12 true coefficients.
2. The harness on a tiny scenario (3 sites x 2000 rows, 2 runs, all three
   modes, 3 queries): every (query, mode, run) record with every field,
   its revision git's HEAD in a git checkout, else "v" + `mcn version`;
   answers identical between modes and runs and equal to counts computed
   from the CSVs; the logistic fit near the true coefficients; report.md
   and well-formed SVGs; no `mcn serve` left running.
3. A refused query is recorded as a failure with its message (exit 1), and
   SIGTERM to the harness in the middle of a run cleans up every node.
Runs in about a minute on two cores.
"""
import argparse
import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
HARNESS = os.path.join(REPO, "bench", "harness.py")
MODES = ["paillier", "masked", "plain"]
RUNS = 2
SITES = 3
ROWS = 2000
SEED = 77
# Time limits: no correct run reaches one, however loaded the machine, so
# they only stop a hung run; MCN_TEST_TIME_SCALE=N multiplies them.
TIME_SCALE = max(1.0, float(os.environ.get("MCN_TEST_TIME_SCALE") or 1))
RUN_TIMEOUT_S = 600 * TIME_SCALE      # one mcn synth
HARNESS_TIMEOUT_S = 1800 * TIME_SCALE  # one harness run

QUERIES = [
    {"name": "e11_by_sex",
     "text": "SELECT count() FROM patients WHERE diagnosis LIKE 'E11%' "
             "AND age BETWEEN 30 AND 90 GROUP BY sex"},
    {"name": "moments_hist",
     "text": "SELECT count(), mean(egfr), var(sbp), histogram(hba1c, 4, 14, "
             "10) FROM patients GROUP BY arm"},
    # (no smoker beside diabetes: at 3 x 2000 patients their joint cell
    # (current, type1) holds 3, and a fit over both is withheld, since its
    # cross products would give that cell away)
    {"name": "logistic",
     "check": "logistic",
     "text": "SELECT logistic(outcome ~ age + sex + bmi + sbp + hba1c + egfr "
             "+ diabetes + arm) FROM patients"},
]

RECORD_FIELDS = ["scenario", "query", "mode", "sites", "rows", "run",
                 "latency_ms", "bytes", "cpu_per_node_s", "rss_per_node_kb",
                 "git", "machine", "nodes", "timings_ms", "answer_sha256",
                 "ok", "querier", "suppressed"]


class Failed(Exception):
    pass


class T:
    def __init__(self):
        self.failures = []
        self.n = 0

    def check(self, cond, what):
        self.n += 1
        if not cond:
            self.failures.append(what)
            print("FAIL " + what, flush=True)
        return cond


def synth(mcn, *args):
    r = subprocess.run([mcn, "synth"] + [str(a) for a in args],
                       capture_output=True, timeout=RUN_TIMEOUT_S)
    if r.returncode != 0:
        raise Failed("mcn synth %s: %s" % (args, r.stderr.decode()))
    return r.stdout


def serve_processes(text):
    """PIDs of `mcn serve` processes whose command line contains text."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if b"serve" in argv and any(text.encode() in a for a in argv):
            out.append(int(d))
    return out


def generator_checks(t, mcn):
    a = synth(mcn, "--site", 1, "--rows", 3000, "--seed", SEED)
    b = synth(mcn, "--site", 1, "--rows", 3000, "--seed", SEED)
    t.check(a == b, "synth: same site and seed gave different bytes")
    c = synth(mcn, "--site", 1, "--rows", 3000, "--seed", SEED + 1)
    t.check(a != c, "synth: another seed gave the same bytes")
    d = synth(mcn, "--site", 2, "--rows", 3000, "--seed", SEED)
    t.check(a != d, "synth: another site gave the same bytes")
    p = synth(mcn, "--site", 1, "--rows", 100, "--seed", SEED)
    t.check(a.startswith(p), "synth: 100 rows are not a prefix of 3000")
    e = synth(mcn, "--site", 1, "--rows", 3000, "--seed", SEED,
              "--opt-out", 0.3, "--overlap", 0.2)
    f = synth(mcn, "--site", 1, "--rows", 3000, "--seed", SEED,
              "--opt-out", 0.3, "--overlap", 0.2)
    t.check(e == f and e != a, "synth: options not deterministic or ignored")

    def rows(data):
        return list(csv.DictReader(io.StringIO(data.decode())))

    ra, rd = rows(a), rows(d)
    t.check(list(ra[0].keys())[-8:] == [
        "hospital_type", "egfr", "arm", "outcome", "surv_days",
        "surv_event", "consent", "patient_id"], "synth: later columns")
    t.check({r["hospital_type"] for r in ra} == {"tertiary"} and
            {r["hospital_type"] for r in rd} == {"secondary"} and
            {r["hospital_type"] for r in rows(synth(
                mcn, "--site", 3, "--rows", 50))} == {"primary"},
            "synth: hospital type is not k mod 3")
    # overlap: the default 5 % pool; shared ids have the same age and sex
    ia = {r["patient_id"]: r for r in ra}
    idd = {r["patient_id"]: r for r in rd}
    shared = set(ia) & set(idd)
    t.check(len(ia) == len(ra) and len(idd) == len(rd),
            "synth: duplicate patient ids within a site")
    t.check(90 <= len(shared) <= 220,
            "synth: %d shared ids of 3000 at overlap 0.05" % len(shared))
    t.check(all((ia[k]["age"], ia[k]["sex"]) == (idd[k]["age"],
                                                   idd[k]["sex"])
                for k in shared), "synth: shared patients differ in age/sex")
    z0 = rows(synth(mcn, "--site", 1, "--rows", 3000, "--seed", SEED,
                    "--overlap", 0))
    z1 = rows(synth(mcn, "--site", 2, "--rows", 3000, "--seed", SEED,
                    "--overlap", 0))
    t.check(not ({r["patient_id"] for r in z0} &
                 {r["patient_id"] for r in z1}),
            "synth: --overlap 0 still shares ids")
    first12 = list(ra[0].keys())[:12]
    same = sum(1 for x, y in zip(ra, z0)
               if all(x[c] == y[c] for c in first12))
    pool = sum(1 for r in ra if r["patient_id"] in shared)
    t.check(same >= len(ra) - pool and same < len(ra),
            "synth: non-pool rows changed with the overlap (%d same, %d "
            "pool)" % (same, pool))
    no = [r["consent"] for r in rows(synth(mcn, "--site", 1, "--rows", 500,
                                           "--opt-out", 0))]
    t.check(set(no) == {"yes"}, "synth: --opt-out 0 has opted-out rows")
    no = [r["consent"] for r in rows(synth(mcn, "--site", 1, "--rows", 500,
                                           "--opt-out", 1))]
    t.check(set(no) == {"no"}, "synth: --opt-out 1 has consenting rows")
    tr = json.loads(synth(mcn, "--truth"))
    coef = tr["outcome"]["coefficients"]
    t.check(len(coef) == 12 and coef["arm=treatment"] == -0.4 and
            coef["(intercept)"] == -5.5 and
            tr["outcome"]["terms"][0] == "(intercept)",
            "synth --truth: coefficients %r" % coef)
    t.check(tr["survival"]["hazard_ratio"]["arm=treatment"] == 0.75 and
            tr["survival"]["shape"] == 1.3 and
            tr["survival"]["admin_censoring_days"] == 3650,
            "synth --truth: survival %r" % tr["survival"])
    r = subprocess.run([mcn, "synth", "--site", "1", "--rows", "5",
                        "--overlap", "1.5"], capture_output=True)
    t.check(r.returncode == 2 and b"overlap" in r.stderr,
            "synth --overlap 1.5: exit %d" % r.returncode)
    r = subprocess.run([mcn, "synth", "--truth", "--site", "1"],
                       capture_output=True)
    t.check(r.returncode == 2, "synth --truth --site: exit %d" %
            r.returncode)


def expected_counts(mcn, tmp):
    """count() WHERE diagnosis LIKE 'E11%' AND age BETWEEN 30 AND 90 GROUP
    BY sex, from the same CSVs the harness generates."""
    n = {"F": 0, "M": 0}
    for k in range(1, SITES + 1):
        data = synth(mcn, "--site", k, "--rows", ROWS, "--seed", SEED,
                     "--opt-out", 0)
        for r in csv.DictReader(io.StringIO(data.decode())):
            if r["diagnosis"].startswith("E11") and 30 <= int(r["age"]) <= 90:
                n[r["sex"]] += 1
    return n


def expected_revision(mcn):
    """The revision the harness must record: with git installed and the
    repository a git checkout, HEAD (+ "-dirty" with modified tracked
    files); otherwise (a source tarball, a copy without .git, no git
    program) "v" + the version `mcn version` prints."""
    git = shutil.which("git")
    if git and os.path.exists(os.path.join(REPO, ".git")):
        head = subprocess.run([git, "-C", REPO, "rev-parse", "HEAD"],
                              capture_output=True, text=True)
        if head.returncode == 0 and head.stdout.strip():
            dirty = subprocess.run([git, "-C", REPO, "status", "--porcelain",
                                    "--untracked-files=no"],
                                   capture_output=True, text=True)
            return head.stdout.strip() + ("-dirty" if dirty.stdout.strip()
                                          else "")
    out = subprocess.run([mcn, "version"], capture_output=True,
                         text=True).stdout.split()
    if len(out) != 2 or out[0] != "mcn":
        raise Failed("mcn version printed %r" % out)
    return "v" + out[1]


def harness(mcn, out, scenario, work, extra=()):
    return subprocess.Popen(
        [sys.executable, HARNESS, "--mcn", mcn, "--scenario", scenario,
         "--out", out, "--workdir", work, "--seed", str(SEED),
         "--opt-out", "0"] + list(extra),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def harness_checks(t, mcn, tmp):
    scn = os.path.join(tmp, "ci.json")
    with open(scn, "w") as f:
        json.dump({"name": "ci", "sites": SITES, "rows": ROWS,
                   "modes": MODES, "runs": RUNS, "queries": QUERIES}, f)
    out, work = os.path.join(tmp, "out"), os.path.join(tmp, "work")
    os.makedirs(work)
    t0 = time.time()
    p = harness(mcn, out, scn, work)
    log, _ = p.communicate(timeout=HARNESS_TIMEOUT_S)
    log = log.decode("utf-8", "replace")
    print("     harness: exit %d in %.1f s" % (p.returncode, time.time() - t0))
    if not t.check(p.returncode == 0, "harness exit %d:\n%s" % (
            p.returncode, log[-3000:])):
        return
    t.check(not serve_processes(work), "mcn serve left running")
    t.check(os.listdir(work) == [], "work directory not cleaned: %r" %
            os.listdir(work))
    with open(os.path.join(out, "results.jsonl")) as f:
        recs = [json.loads(line) for line in f if line.strip()]
    meas = [r for r in recs if r.get("kind") == "measurement"]
    td = [r for r in recs if r.get("kind") == "teardown"]
    rev = expected_revision(mcn)
    t.check(len(td) == 1 and td[0]["exit_codes"] == [0] * SITES and
            td[0]["ok"] is True, "nodes' exit codes: %r" % td)
    t.check(len(meas) == len(QUERIES) * len(MODES) * RUNS,
            "%d measurements, expected %d" % (
                len(meas), len(QUERIES) * len(MODES) * RUNS))
    for q in QUERIES:
        for m in MODES:
            for run in range(1, RUNS + 1):
                rs = [r for r in meas if r["query"] == q["name"] and
                      r["mode"] == m and r["run"] == run]
                if not t.check(len(rs) == 1, "%s %s run %d: %d records" % (
                        q["name"], m, run, len(rs))):
                    continue
                r = rs[0]
                miss = [k for k in RECORD_FIELDS if k not in r]
                t.check(not miss, "%s %s %d: missing %r" % (q["name"], m,
                                                            run, miss))
                t.check(isinstance(r.get("suppressed"), int),
                        "suppressed %r" % r.get("suppressed"))
                t.check(r.get("ok") is True, "%s %s %d: not ok: %s" % (
                    q["name"], m, run, r.get("error")))
                t.check(r.get("sites") == SITES and r.get("rows") == ROWS and
                        r.get("scenario") == "ci", "%s: sites/rows" %
                        q["name"])
                t.check(isinstance(r.get("latency_ms"), float) and
                        r["latency_ms"] > 0, "latency %r" %
                        r.get("latency_ms"))
                t.check(len(r.get("cpu_per_node_s") or []) == SITES and
                        all(isinstance(x, float) and x >= 0
                            for x in r["cpu_per_node_s"]),
                        "cpu per node %r" % r.get("cpu_per_node_s"))
                t.check(len(r.get("rss_per_node_kb") or []) == SITES and
                        all(isinstance(x, int) and x > 1000
                            for x in r["rss_per_node_kb"]),
                        "rss per node %r" % r.get("rss_per_node_kb"))
                nodes = r.get("nodes") or []
                t.check(len(nodes) == SITES and all(
                    n["bytes_in"] > 0 and n["bytes_out"] > 0 and
                    n["requests"] >= 1 for n in nodes),
                    "%s %s: per-node bytes %r" % (q["name"], m, nodes))
                t.check(r["bytes"].get("querier_sent", 0) > 0 and
                        r["bytes"].get("querier_received", 0) > 0,
                        "querier bytes %r" % r.get("bytes"))
                t.check(r.get("git") == rev and
                        r["machine"].get("cores", 0) >= 1 and
                        r["machine"].get("memory_mb", 0) > 0,
                        "git/machine %r %r (expected revision %r)" % (
                            r.get("git"), r.get("machine"), rev))
                if run == 1:
                    t.check(isinstance(r.get("answer"), list),
                            "%s %s: no answer kept" % (q["name"], m))
        # exact agreement between modes and runs
        rs = [r for r in meas if r["query"] == q["name"]]
        shas = {r.get("answer_sha256") for r in rs}
        t.check(len(shas) == 1, "%s: answers differ between modes/runs" %
                q["name"])
        first = [r["answer"] for r in rs if r["run"] == 1]
        t.check(all(a == first[0] for a in first),
                "%s: run-1 answers differ between modes" % q["name"])
    # the numbers are right
    e11 = [r for r in meas if r["query"] == "e11_by_sex" and r["run"] == 1]
    if e11:
        want = expected_counts(mcn, tmp)
        got = {g["group"]["sex"]: g["value"]
               for g in e11[0]["answer"][0]["groups"]}
        t.check(got == want, "e11 counts %r, expected %r" % (got, want))
    lg = [r for r in meas if r["query"] == "logistic" and r["run"] == 1]
    if lg:
        c = lg[0].get("check") or {}
        terms = c.get("terms") or []
        t.check(c.get("n_terms") == 10 and len(terms) == 10,
                "logistic: %r terms" % c.get("n_terms"))
        t.check(all(x["z"] is not None and abs(x["z"]) < 5 for x in terms),
                "logistic: far from the truth: %r" % [
                    (x["term"], x["z"]) for x in terms])
        t.check(all(r["iterations"] >= 3 for r in meas
                    if r["query"] == "logistic"), "logistic iterations")
    # the report and its charts
    rp = os.path.join(out, "report.md")
    if t.check(os.path.exists(rp), "no report.md"):
        with open(rp) as f:
            text = f.read()
        for q in QUERIES:
            t.check(q["name"] in text, "report lacks %s" % q["name"])
        t.check("| 3 | 2000 | e11_by_sex | paillier | 2/2 |" in text,
                "report: no paillier row for e11_by_sex")
        t.check("Answers identical across modes and runs: yes" in text,
                "report: answers not identical")
        svgs = [line.split("(", 1)[1].rstrip(")") for line in
                text.splitlines() if line.startswith("![")]
        t.check(len(svgs) >= 2, "report references %d charts" % len(svgs))
        for s in svgs:
            path = os.path.join(out, s)
            try:
                root = ET.parse(path).getroot()
                t.check(root.tag.endswith("svg") and
                        len(list(root.iter())) > 10,
                        "%s: not a drawn SVG" % s)
            except (OSError, ET.ParseError) as e:
                t.check(False, "%s: %s" % (s, e))


def failure_checks(t, mcn, tmp):
    """A refused query is a recorded failure; SIGTERM cleans up."""
    scn = os.path.join(tmp, "bad.json")
    with open(scn, "w") as f:
        json.dump({"name": "bad", "sites": 3, "rows": 300,
                   "modes": ["masked"], "runs": 1, "queries": [
                       {"name": "unknown_column",
                        "text": "SELECT mean(nosuchcol) FROM patients"},
                       {"name": "count", "text":
                        "SELECT count() FROM patients"}]}, f)
    out, work = os.path.join(tmp, "out-bad"), os.path.join(tmp, "work-bad")
    os.makedirs(work)
    p = harness(mcn, out, scn, work, ["--bits", "1024"])
    log, _ = p.communicate(timeout=HARNESS_TIMEOUT_S)
    t.check(p.returncode == 1, "harness with a bad query: exit %d\n%s" % (
        p.returncode, log.decode()[-2000:]))
    with open(os.path.join(out, "results.jsonl")) as f:
        recs = [json.loads(line) for line in f if line.strip()]
    bad = [r for r in recs if r.get("query") == "unknown_column"]
    t.check(len(bad) == 1 and bad[0]["ok"] is False and
            "nosuchcol" in bad[0].get("error", ""),
            "bad query record %r" % bad)
    good = [r for r in recs if r.get("query") == "count"]
    t.check(len(good) == 1 and good[0]["ok"] is True,
            "count after a failure: %r" % good)
    t.check(not serve_processes(work), "mcn serve left after a failure")

    # SIGTERM in the middle of the measurements
    scn = os.path.join(tmp, "long.json")
    with open(scn, "w") as f:
        json.dump({"name": "long", "sites": 3, "rows": 300,
                   "modes": ["masked"], "runs": 100000, "queries": [
                       {"name": "count", "text":
                        "SELECT count() FROM patients"}]}, f)
    out, work = os.path.join(tmp, "out-long"), os.path.join(tmp, "work-long")
    os.makedirs(work)
    p = harness(mcn, out, scn, work, ["--bits", "1024"])
    deadline = time.time() + HARNESS_TIMEOUT_S
    res = os.path.join(out, "results.jsonl")
    while time.time() < deadline and p.poll() is None:
        if os.path.exists(res) and os.path.getsize(res) > 0 and \
                len(serve_processes(work)) == 3:
            with open(res) as f:
                if sum(1 for _ in f) >= 3:
                    break
        time.sleep(0.2)
    t.check(len(serve_processes(work)) == 3, "nodes of the long run never "
            "started")
    p.send_signal(signal.SIGTERM)
    try:
        p.communicate(timeout=300 * TIME_SCALE)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
    t.check(p.returncode == 130, "harness after SIGTERM: exit %d" %
            p.returncode)
    time.sleep(0.3)
    t.check(not serve_processes(work), "mcn serve left after SIGTERM")
    t.check(os.listdir(work) == [], "work dir left after SIGTERM")
    t.check(os.path.exists(os.path.join(out, "report.md")),
            "no report after SIGTERM")
    with open(res) as f:
        td = [json.loads(line) for line in f if '"teardown"' in line]
    t.check(len(td) == 1 and td[0]["exit_codes"] == [0, 0, 0],
            "nodes' exit codes after SIGTERM: %r" % td)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mcn", required=True)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    mcn = os.path.abspath(a.mcn)
    tmp = tempfile.mkdtemp(prefix="mcn-test-harness.")
    t = T()
    t0 = time.time()
    try:
        for name, fn in (("generator", lambda: generator_checks(t, mcn)),
                         ("harness", lambda: harness_checks(t, mcn, tmp)),
                         ("failures", lambda: failure_checks(t, mcn, tmp))):
            n0, f0, t1 = t.n, len(t.failures), time.time()
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - report, go on
                t.check(False, "%s: %s: %s" % (name, type(e).__name__, e))
            print("%s %s: %d checks (%.1f s)" % (
                "ok  " if len(t.failures) == f0 else "FAIL", name,
                t.n - n0, time.time() - t1), flush=True)
    finally:
        strays = serve_processes(tmp)
        for pid in strays:
            os.kill(pid, signal.SIGKILL)
        if a.keep:
            print("kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    t.check(not strays, "stray mcn serve processes: %r" % strays)
    print("test_harness: %d checks, %d failed, %.1f s" % (
        t.n, len(t.failures), time.time() - t0))
    return 1 if t.failures else 0


if __name__ == "__main__":
    sys.exit(main())
