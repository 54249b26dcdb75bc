#!/usr/bin/env python3
"""The multi-hospital benchmark harness (Python 3 standard library only).

    python3 bench/harness.py --mcn build/node/mcn \\
        --scenario bench/scenarios/feasibility.json \\
        [--sites N] [--rows R] [--runs K] [--modes paillier,masked,plain] \\
        [--out DIR] [--quick] [--netns] [--bits 2048] [--keep]

For every configuration (sites x rows) of the scenario it generates the
sites' synthetic patients (`mcn synth`, in parallel), creates the consortium
(`mcn network init`, plain mode enabled in each node.json when 'plain' is
requested), imports, starts one `mcn serve` per site on loopback (or, with
--netns, each in its own network namespace on a bridge), waits until every
node answers, then runs every query of the scenario in every mode: one
warm-up, then K measured runs. Nodes run with OMP_NUM_THREADS=1 and
"threads": 1 in node.json: all of them share this machine's cores, whereas
deployed each hospital has its own machine.

Per measured run it records (DIR/results.jsonl, one JSON object a line):
wall-clock latency as the querier sees it (process start to exit), the
querier's own JSON timings, the querier's bytes, per node the bytes in/out,
local-scan and request-handling time parsed from the node's log (handling
minus scan = the crypto and protocol share), per node CPU time used during
the run (/proc/PID/stat utime+stime) and peak RSS so far (VmHWM), the
querier's CPU and peak RSS (wait4), the numeric answer (the "results" array
of `mcn query --json`; full on run 1, a SHA-256 of its canonical JSON on
every run), the source revision (git when there is a checkout, else the
CMake project version) and a machine description. Failures (non-zero
exit, a refusal by policy, a missing site) are recorded with their message,
never hidden. DIR/report.md summarises per scenario and configuration
(p50/p95 per mode, secure/plain ratio, bytes and peak RSS per node) with SVG
charts drawn by the small SVG writer below.

Clean-up runs on success, on failure and on SIGINT/SIGTERM/SIGHUP: nodes get
SIGTERM (then SIGKILL), namespaces and links are deleted, and the harness
checks that no process of its work directory survives. Nodes also get
PR_SET_PDEATHSIG, so they die with the harness even on SIGKILL.
"""
import argparse
import concurrent.futures
import ctypes
import hashlib
import itertools
import json
import math
import os
import platform
import re
import shutil
import faulthandler
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import xml.sax.saxutils

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
MODES_ALL = ("paillier", "masked", "plain")
CLK_TCK = os.sysconf("SC_CLK_TCK")


class HarnessError(Exception):
    pass


class PortInUse(HarnessError):
    pass


class Interrupted(BaseException):
    """Raised from the signal handler so every finally block runs."""


def log(msg):
    print("harness: " + msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Machine, revision, statistics


def machine_info():
    info = {"hostname": platform.node(), "kernel": platform.release(),
            "python": platform.python_version(), "cores": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    info["memory_mb"] = int(line.split()[1]) // 1024
                    break
    except OSError:
        pass
    return info


def project_version():
    """The version in the top-level CMakeLists.txt (project(mcn VERSION
    x.y.z)), or None."""
    try:
        with open(os.path.join(REPO, "CMakeLists.txt")) as f:
            m = re.search(r"^\s*project\s*\(\s*mcn\s+VERSION\s+([0-9.]+)",
                          f.read(), re.M | re.I)
        return m.group(1) if m else None
    except OSError:
        return None


def git_revision():
    """The source revision: `git rev-parse HEAD` (+ "-dirty") when REPO is
    the top of a git checkout and git is installed; otherwise (a source
    tarball, a vendored copy, no git program) "v" + the CMake project
    version; "unknown" only when neither is there."""
    try:
        top = subprocess.run(["git", "-C", REPO, "rev-parse",
                              "--show-toplevel"],
                             capture_output=True, text=True, timeout=30)
        if top.returncode == 0 and os.path.realpath(
                top.stdout.strip()) == os.path.realpath(REPO):
            rev = subprocess.run(["git", "-C", REPO, "rev-parse", "HEAD"],
                                 capture_output=True, text=True, timeout=30)
            dirty = subprocess.run(["git", "-C", REPO, "status",
                                    "--porcelain", "--untracked-files=no"],
                                   capture_output=True, text=True,
                                   timeout=60)
            r = rev.stdout.strip()
            if rev.returncode == 0 and r:
                return r + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        pass   # no git program, or it hung: use the version below
    v = project_version()
    return "v" + v if v else "unknown"


def pct(xs, p):
    """Percentile with linear interpolation (numpy's default method)."""
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    k = (len(xs) - 1) * p / 100.0
    lo = int(math.floor(k))
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def mean(xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None


def count_suppressed(obj):
    """Pooled cells withheld by the release rule anywhere in an answer: a
    withheld group output ("withheld": reason) counts 1, a histogram or
    table counts its withheld cells ("withheld_cells")."""
    n = 0
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "withheld" and isinstance(v, str):
                n += 1
            elif k == "withheld_cells" and isinstance(v, list):
                n += sum(1 for x in v if x is not None)
            else:
                n += count_suppressed(v)
    elif isinstance(obj, list):
        for v in obj:
            n += count_suppressed(v)
    return n


def canonical_sha(obj):
    s = json.dumps(obj, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(s.encode()).hexdigest()


# ---------------------------------------------------------------------------
# Processes: /proc, parent-death signal, stray check


def proc_stats(pid):
    """(cpu seconds, VmHWM kB, VmRSS kB) of a live process, or Nones."""
    cpu = hwm = rss = None
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
        fields = s[s.rindex(")") + 2:].split()
        # fields[0] is field 3 (state): utime = field 14, stime = field 15
        cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
                elif line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return cpu, hwm, rss


_libc = None


def _pdeathsig():
    """preexec_fn: SIGTERM to the child when the harness dies."""
    global _libc
    try:
        if _libc is None:
            _libc = ctypes.CDLL(None, use_errno=True)
        _libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:   # noqa: BLE001 - best effort only
        pass


def processes_mentioning(text):
    """PIDs (other than ours) whose command line contains text."""
    out = []
    me = os.getpid()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8",
                                                            "replace")
        except OSError:
            continue
        if text in cmd:
            out.append(int(d))
    return out


def run(cmd, timeout=600, env=None, check=True):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                       env=env)
    if check and r.returncode != 0:
        raise HarnessError("%s: exit %d: %s" % (
            " ".join(str(c) for c in cmd[:3]), r.returncode,
            (r.stderr or r.stdout).strip()[-2000:]))
    return r


def free_base_port(n, host="127.0.0.1"):
    for _ in range(300):
        base = 20000 + int.from_bytes(os.urandom(2), "big") % 38000
        ok = True
        for k in range(1, n + 1):
            s = socket.socket()
            try:
                s.bind((host, base + k))
            except OSError:
                ok = False
            finally:
                s.close()
            if not ok:
                break
        if ok:
            return base
    raise HarnessError("no free range of %d ports" % n)


# ---------------------------------------------------------------------------
# Network namespaces (--netns, root only)


class NetNS:
    """One bridge in the root namespace, one namespace per node with a veth
    pair; node k gets 10.(77).X.Y derived from k on a /16. The querier
    stays in the root namespace and reaches the nodes over the bridge:
    real TCP through the kernel's IP stack between hosts."""

    def __init__(self, tag, n):
        self.tag = tag
        self.n = n
        self.bridge = "mcnbr%s" % tag
        self.created_ns = []
        self.created_links = []
        self.bridge_up = False

    def addr(self, k):
        return "10.77.%d.%d" % (k // 250, k % 250 + 2)

    def ns(self, k):
        return "mcn%ss%d" % (self.tag, k)

    def _ip(self, *args):
        r = subprocess.run(["ip"] + list(args), capture_output=True,
                           text=True, timeout=30)
        if r.returncode != 0:
            raise HarnessError("ip %s: %s" % (" ".join(args),
                                             r.stderr.strip()))

    def setup(self):
        self._ip("link", "add", self.bridge, "type", "bridge")
        self.bridge_up = True
        self._ip("addr", "add", "10.77.255.1/16", "dev", self.bridge)
        self._ip("link", "set", self.bridge, "up")
        for k in range(1, self.n + 1):
            ns = self.ns(k)
            host, peer = "mh%s_%d" % (self.tag, k), "mp%s_%d" % (self.tag, k)
            self._ip("netns", "add", ns)
            self.created_ns.append(ns)
            self._ip("link", "add", host, "type", "veth", "peer", "name",
                     peer)
            self.created_links.append(host)
            self._ip("link", "set", host, "master", self.bridge)
            self._ip("link", "set", host, "up")
            self._ip("link", "set", peer, "netns", ns)
            self._ip("-n", ns, "addr", "add", self.addr(k) + "/16", "dev",
                     peer)
            self._ip("-n", ns, "link", "set", peer, "up")
            self._ip("-n", ns, "link", "set", "lo", "up")

    def teardown(self):
        for ns in reversed(self.created_ns):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        for link in self.created_links:
            subprocess.run(["ip", "link", "del", link], capture_output=True)
        if self.bridge_up:
            subprocess.run(["ip", "link", "del", self.bridge],
                           capture_output=True)
        self.created_ns, self.created_links = [], []
        self.bridge_up = False


def netns_available():
    if os.geteuid() != 0:
        return "--netns needs root"
    tag = "chk%d" % (os.getpid() % 100000)
    r = subprocess.run(["ip", "netns", "add", "mcn" + tag],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return "ip netns failed: " + r.stderr.strip()
    subprocess.run(["ip", "netns", "del", "mcn" + tag], capture_output=True)
    return None


# ---------------------------------------------------------------------------
# The consortium


class Consortium:
    def __init__(self, mcn, work, sites, modes, bits, seed, synth_opts,
                 netns=False, threads=1):
        self.mcn = mcn
        self.work = work
        self.sites = sites
        self.modes = modes
        self.bits = bits
        self.seed = seed
        self.synth_opts = synth_opts
        self.threads = threads
        self.net = os.path.join(work, "net")
        self.procs = {}     # k -> Popen
        self.logs = {}      # k -> path
        self.logfiles = {}
        self.log_start = {}
        self.rows = None
        self.netns = NetNS("%d" % (os.getpid() % 100000), sites) \
            if netns else None
        self.qcfg = os.path.join(self.net, "querier", "querier.json")
        self.env = dict(os.environ, OMP_NUM_THREADS=str(threads))

    def node_cfg(self, k):
        return os.path.join(self.net, "site%d" % k, "node.json")

    def init(self):
        t0 = time.time()
        base = free_base_port(self.sites)
        cmd = [self.mcn, "network", "init", "--sites", str(self.sites),
               "--dir", self.net, "--base-port", str(base), "--bits",
               str(self.bits)]
        if "plain" in self.modes:
            cmd.append("--allow-plain")
        run(cmd, timeout=1800)
        for k in range(1, self.sites + 1):
            with open(self.node_cfg(k)) as f:
                doc = json.load(f)
            doc["threads"] = self.threads
            if "plain" in self.modes:
                doc["allow_plain"] = True
            with open(self.node_cfg(k), "w") as f:
                json.dump(doc, f, indent=2)
        self.set_ports(base)
        if self.netns is not None:
            self.netns.setup()
        return time.time() - t0

    def host(self, k):
        return self.netns.addr(k) if self.netns is not None else \
            "127.0.0.1"

    def set_ports(self, base):
        """Node k listens on host(k):base+k (node.json and the consortium's
        url, which the querier dials)."""
        for k in range(1, self.sites + 1):
            with open(self.node_cfg(k)) as f:
                doc = json.load(f)
            doc["listen"] = "tls+tcp://%s:%d" % (self.host(k), base + k)
            with open(self.node_cfg(k), "w") as f:
                json.dump(doc, f, indent=2)
        cpath = os.path.join(self.net, "consortium.json")
        with open(cpath) as f:
            cons = json.load(f)
        for k, node in enumerate(cons.get("nodes", []), start=1):
            node["url"] = "tls+tcp://%s:%d" % (self.host(k), base + k)
        with open(cpath, "w") as f:
            json.dump(cons, f, indent=2)

    def load(self, rows, jobs):
        """Generates and imports `rows` patients per site into fresh
        stores, `jobs` sites at a time (synth, import, delete the CSV)."""
        self.rows = rows
        t0 = time.time()

        def one(k):
            store = os.path.join(self.net, "site%d" % k, "store.db")
            for suffix in ("", "-wal", "-shm", "-journal"):
                if os.path.exists(store + suffix):
                    os.unlink(store + suffix)
            csv = os.path.join(self.work, "site%d.csv" % k)
            ts = time.perf_counter()
            run([self.mcn, "synth", "--site", str(k), "--rows", str(rows),
                 "--seed", str(self.seed)] + self.synth_opts +
                ["--out", csv], timeout=3600)
            tg = time.perf_counter() - ts
            run([self.mcn, "import", "--config", self.node_cfg(k), "--csv",
                 csv], timeout=7200)
            os.unlink(csv)
            return tg

        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
            gen = list(ex.map(one, range(1, self.sites + 1)))
        return time.time() - t0, sum(gen)

    def start(self, timeout=600, attempts=4):
        """Starts the nodes and waits until all answer. Another program
        may take a port between the choice and the start (tests run in
        parallel): then the nodes are stopped, moved to fresh ports and
        started again."""
        for attempt in range(attempts):
            try:
                return self._start(timeout)
            except PortInUse as e:
                self.stop()
                if attempt == attempts - 1 or self.netns is not None:
                    raise HarnessError(str(e))
                log("%s; moving the nodes to other ports" % e)
                self.set_ports(free_base_port(self.sites))

    def _start(self, timeout):
        for k in range(1, self.sites + 1):
            path = os.path.join(self.work, "site%d.log" % k)
            lf = open(path, "ab")
            self.logs[k], self.logfiles[k] = path, lf
            self.log_start[k] = lf.tell()
            cmd = [self.mcn, "serve", "--config", self.node_cfg(k)]
            if self.netns is not None:
                cmd = ["ip", "netns", "exec", self.netns.ns(k)] + cmd
            self.procs[k] = subprocess.Popen(
                cmd, stdout=subprocess.DEVNULL, stderr=lf, env=self.env,
                preexec_fn=_pdeathsig)
        deadline = time.time() + timeout
        pending = set(self.procs)
        while pending:
            for k in sorted(pending):
                if self.procs[k].poll() is not None:
                    tail = self.log_tail(k)
                    msg = "site%d exited with %d: %s" % (
                        k, self.procs[k].returncode, tail.strip())
                    if "Address in use" in tail or \
                            "address already in use" in tail.lower():
                        raise PortInUse(msg)
                    raise HarnessError(msg)
                with open(self.logs[k], "rb") as f:
                    f.seek(self.log_start[k])
                    if b"listening on" in f.read():
                        pending.discard(k)
            if time.time() > deadline:
                raise HarnessError("nodes %s did not start" % sorted(pending))
            time.sleep(0.1)
        # one real query proves every node answers; every node listens,
        # so it returns as soon as they have (a loaded machine may be slow)
        while True:
            r = subprocess.run(
                [self.mcn, "query", "--config", self.qcfg, "--mode",
                 "masked", "--timeout-ms", "300000", "--json",
                 "SELECT count() FROM patients"],
                capture_output=True, text=True, timeout=1800)
            if r.returncode == 0:
                doc = json.loads(r.stdout)
                if not doc.get("sites", {}).get("missing"):
                    return doc
            if time.time() > deadline:
                raise HarnessError("consortium not ready: %s" % (
                    r.stderr.strip() or r.stdout[-500:]))
            time.sleep(0.5)

    def log_tail(self, k, n=1500):
        try:
            with open(self.logs[k], "rb") as f:
                f.seek(self.log_start.get(k, 0))
                return f.read()[-n:].decode("utf-8", "replace")
        except (OSError, KeyError):
            return ""

    def log_offsets(self):
        return {k: os.path.getsize(p) for k, p in self.logs.items()}

    def log_delta(self, before):
        """Per node: parsed log lines written since `before`."""
        out = {}
        for k, p in self.logs.items():
            d = {"scan_ms": 0, "handle_ms": 0, "bytes_in": 0, "bytes_out": 0,
                 "requests": 0, "refused": []}
            with open(p, "rb") as f:
                f.seek(before.get(k, 0))
                text = f.read().decode("utf-8", "replace")
            for line in text.splitlines():
                parse_node_log_line(line, d)
            out[k] = d
        return out

    def stats(self):
        return {k: proc_stats(p.pid) for k, p in self.procs.items()}

    def stop(self):
        for p in self.procs.values():
            if p.poll() is None:
                try:
                    p.send_signal(signal.SIGTERM)
                except OSError:
                    pass
        deadline = time.time() + 60
        codes = {}
        for k, p in self.procs.items():
            try:
                p.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            codes[k] = p.returncode
        for lf in self.logfiles.values():
            lf.close()
        self.procs, self.logfiles = {}, {}
        return codes

    def teardown(self):
        """Stops the nodes and removes the namespaces; returns the nodes'
        exit codes."""
        try:
            return self.stop()
        finally:
            if self.netns is not None:
                self.netns.teardown()


def parse_node_log_line(line, d):
    """Accumulates one `mcn serve` log line into d. Formats (cmd_serve.c):
    '... local scan N ms', 'request answered in N ms (A bytes in, B out)',
    'request refused: ...'. Unknown lines are ignored."""
    if "local scan " in line:
        try:
            d["scan_ms"] += int(line.split("local scan ", 1)[1].split()[0])
        except (ValueError, IndexError):
            pass
    elif "request answered in " in line:
        try:
            rest = line.split("request answered in ", 1)[1]
            d["handle_ms"] += int(rest.split()[0])
            inner = rest.split("(", 1)[1]
            d["bytes_in"] += int(inner.split(" bytes in")[0].strip())
            d["bytes_out"] += int(inner.split(", ", 1)[1].split()[0])
            d["requests"] += 1
        except (ValueError, IndexError):
            pass
    elif "refused" in line or " WARN " in line or " ERROR " in line:
        msg = line.split("]", 1)[-1].strip()
        if msg and len(d["refused"]) < 5:
            d["refused"].append(msg[:300])


def run_query(mcn, qcfg, mode, text, timeout_s, env=None):
    """Runs one `mcn query --json`; returns (wall_ms, rc, doc or None,
    stderr, querier cpu s, querier max rss kB)."""
    t0 = time.perf_counter()
    p = subprocess.Popen([mcn, "query", "--config", qcfg, "--mode", mode,
                          "--timeout-ms", str(int(timeout_s * 1000)),
                          "--json", text],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env, preexec_fn=_pdeathsig)
    # read both pipes on threads, reap with wait4 for the rusage (CPU and
    # peak RSS of the querier process); a timer kills a hung query
    bufs = {}

    def reader(name, stream):
        bufs[name] = stream.read()

    ts = [threading.Thread(target=reader, args=("out", p.stdout),
                           daemon=True),
          threading.Thread(target=reader, args=("err", p.stderr),
                           daemon=True)]
    for t in ts:
        t.start()
    killer = threading.Timer(timeout_s + 30, p.kill)
    killer.start()
    try:
        _, status, ru = os.wait4(p.pid, 0)
    except BaseException:
        # interrupted (SIGTERM to the harness): the query must not
        # outlive us, nor keep our reader threads (and exit) waiting
        p.kill()
        p.wait()
        raise
    finally:
        killer.cancel()
    rc = os.waitstatus_to_exitcode(status)
    p.returncode = rc
    for t in ts:
        t.join()
    p.stdout.close()
    p.stderr.close()
    wall = (time.perf_counter() - t0) * 1000.0
    ru_cpu, ru_rss = ru.ru_utime + ru.ru_stime, ru.ru_maxrss
    out, err = bufs.get("out", b""), bufs.get("err", b"")
    doc = None
    if rc == 0:
        try:
            doc = json.loads(out.decode("utf-8", "replace"))
        except ValueError:
            doc = None
    return wall, rc, doc, err.decode("utf-8", "replace").strip(), ru_cpu, \
        ru_rss


# ---------------------------------------------------------------------------
# Scenarios


def load_scenario(path):
    with open(path) as f:
        s = json.load(f)
    for key in ("name", "queries"):
        if key not in s:
            raise HarnessError("%s: no %r" % (path, key))
    for q in s["queries"]:
        if not isinstance(q, dict) or "name" not in q or "text" not in q:
            raise HarnessError("%s: every query needs name and text" % path)
    return s


def plan(scn, a):
    """The configurations [(sites, rows)], runs and modes to use."""
    quick = scn.get("quick", {}) if a.quick else {}
    sweeps = dict(scn.get("sweeps", {}))
    sweeps.update(quick.get("sweeps", {}))
    sites = [a.sites] if a.sites else \
        sweeps.get("sites") or [quick.get("sites", scn.get("sites", 3))]
    rows = [a.rows] if a.rows else \
        sweeps.get("rows") or [quick.get("rows", scn.get("rows", 10000))]
    runs = a.runs if a.runs is not None else \
        quick.get("runs", scn.get("runs", 5))
    modes = a.modes.split(",") if a.modes else \
        scn.get("modes", list(MODES_ALL))
    for m in modes:
        if m not in MODES_ALL:
            raise HarnessError("unknown mode %r" % m)
    return [(s, r) for s in sites for r in rows], runs, modes


def truth(mcn):
    r = run([mcn, "synth", "--truth"])
    return json.loads(r.stdout)


def logistic_check(doc, tr):
    """Estimated vs true coefficients: [{term, true, estimate, se, diff,
    z}] from a logistic answer, or None."""
    try:
        val = doc["results"][0]["groups"][0]["value"]
        coefs = val["coefficients"]
    except (KeyError, IndexError, TypeError):
        return None
    true = tr["outcome"]["coefficients"]
    out = []
    for c in coefs:
        t = true.get(c.get("term"))
        est, se = c.get("estimate"), c.get("se")
        if t is None or not isinstance(est, (int, float)):
            continue
        z = (est - t) / se if isinstance(se, (int, float)) and se > 0 \
            else None
        out.append({"term": c["term"], "true": t, "estimate": est, "se": se,
                    "diff": est - t, "z": z})
    return {"terms": out, "iterations": val.get("iterations"),
            "n_terms": len(coefs)}


def survival_check(doc, tr, times=(365, 1825, 3647)):
    """KM estimates per arm at a few times vs the true Weibull curves."""
    sv = tr["survival"]
    k, lam = sv["shape"], sv["scale_days"]
    hr = sv["hazard_ratio"]["arm=treatment"]
    out = []
    try:
        res = doc["results"][0]
        groups = res["groups"]
    except (KeyError, IndexError, TypeError):
        return None
    npts = None
    for g in groups:
        arm = g.get("group", {}).get("arm")
        pts = (g.get("value") or {}).get("points") or []
        npts = len(pts)
        for t in times:
            # the estimate just after the last grid point <= t
            best = None
            for p in pts:
                if p.get("time", 1 << 62) <= t:
                    best = p
            if best is None:
                continue
            h = hr if arm == "treatment" else 1.0
            # the grid point at time g covers t in [g, g + step): the true
            # curve is taken at the end of that bin
            step = res.get("step") or (pts[1]["time"] - pts[0]["time"]
                                       if len(pts) > 1 else 1)
            tt = min(best["time"] + step, sv["admin_censoring_days"] + 1)
            s_true = math.exp(-h * (tt / lam) ** k)
            out.append({"arm": arm, "time": best["time"],
                        "km": best.get("survival"), "se": best.get("se"),
                        "true": s_true})
    return {"grid_points": npts, "points": out}


# ---------------------------------------------------------------------------
# The benchmark loop


class Bench:
    def __init__(self, a):
        self.a = a
        self.mcn = os.path.abspath(a.mcn)
        self.out = os.path.abspath(a.out)
        os.makedirs(self.out, exist_ok=True)
        self.results_path = os.path.join(self.out, "results.jsonl")
        self.machine = machine_info()
        self.rev = git_revision()
        self.records = []
        self.setup_records = []
        self.checks = []
        self.consortium = None
        self.work = None
        self.current = None   # (scenario, sites, rows) being measured

    def emit(self, rec):
        self.records.append(rec)
        with open(self.results_path, "a") as f:
            f.write(json.dumps(rec, sort_keys=True) + "\n")

    def run_scenario(self, scn, tr):
        a = self.a
        configs, runs, modes = plan(scn, a)
        log("scenario %s: %d configuration(s) %s, %d run(s) per mode, modes "
            "%s" % (scn["name"], len(configs), configs, runs,
                    ",".join(modes)))
        # one consortium per site count; the row counts reuse it with
        # fresh stores (nodes restarted)
        for sites in sorted(set(s for s, _ in configs),
                            key=[s for s, _ in configs].index):
            rows_list = [r for s, r in configs if s == sites]
            self.run_sites(scn, tr, sites, rows_list, runs, modes)

    def run_sites(self, scn, tr, sites, rows_list, runs, modes):
        a = self.a
        self.work = tempfile.mkdtemp(prefix="mcn-harness.", dir=a.workdir)
        c = Consortium(self.mcn, self.work, sites, modes, a.bits, a.seed,
                       a.synth_opts, netns=a.netns, threads=a.node_threads)
        self.consortium = c
        try:
            init_s = None
            for rows in rows_list:
                setup = {"kind": "setup", "scenario": scn["name"],
                         "sites": sites, "rows": rows, "git": self.rev,
                         "ok": False}
                try:
                    if init_s is None:
                        log("%s: %d sites: network init" % (scn["name"],
                                                             sites))
                        init_s = round(c.init(), 3)
                        setup["init_s"] = init_s
                    self.node_exits(c, c.stop())
                    self.current = (scn["name"], sites, rows)
                    log("%s: generating and importing %d x %d rows" % (
                        scn["name"], sites, rows))
                    load_s, gen_s = c.load(rows, a.jobs)
                    setup["load_s"] = round(load_s, 3)
                    setup["synth_cpu_s_sum"] = round(gen_s, 3)
                    t0 = time.time()
                    ready = c.start()
                    setup["start_s"] = round(time.time() - t0, 3)
                    setup["ready_count"] = (ready.get("results") or [{}])[
                        0].get("groups", [{}])[0].get("value")
                    setup["ok"] = True
                    self.setup_records.append(setup)
                    self.emit(setup)
                except HarnessError as e:
                    setup["error"] = str(e)
                    self.setup_records.append(setup)
                    self.emit(setup)
                    log("FAILED: %s" % e)
                    if init_s is None:
                        return   # no consortium: nothing else can run
                    continue
                for q, mode in itertools.product(scn["queries"], modes):
                    self.measure(scn, tr, c, q, mode, sites, rows, runs)
        finally:
            self.cleanup()

    def measure(self, scn, tr, c, q, mode, sites, rows, runs):
        a = self.a
        env = dict(os.environ)
        timeout_s = a.query_timeout
        answers = []
        for run_i in range(0, runs + 1):
            before = c.log_offsets()
            st0 = c.stats()
            wall, rc, doc, err, qcpu, qrss = run_query(
                self.mcn, c.qcfg, mode, q["text"], timeout_s, env)
            st1 = c.stats()
            time.sleep(0.02)   # let the nodes flush their last log line
            nodes = c.log_delta(before)
            if run_i == 0:
                if rc != 0:
                    log("warm-up of %s/%s failed: %s" % (q["name"], mode,
                                                         err[-300:]))
                continue
            rec = {"kind": "measurement", "scenario": scn["name"],
                   "query": q["name"], "text": q["text"], "mode": mode,
                   "sites": sites, "rows": rows, "run": run_i,
                   "ok": rc == 0 and doc is not None, "exit": rc,
                   "latency_ms": round(wall, 3), "git": self.rev,
                   "machine": self.machine, "netns": bool(a.netns),
                   "node_threads": a.node_threads, "bits": a.bits,
                   "load_1m": round(os.getloadavg()[0], 2)}
            if rc != 0 or doc is None:
                rec["error"] = err[-1000:] or "no JSON output"
            missing = (doc or {}).get("sites", {}).get("missing") or []
            if missing:
                rec["ok"] = False
                rec["error"] = "sites missing: " + json.dumps(missing)[:1000]
            tm = (doc or {}).get("timings_ms") or {}
            rec["timings_ms"] = tm
            rec["iterations"] = (doc or {}).get("iterations")
            by = (doc or {}).get("bytes") or {}
            rec["bytes"] = {"querier_sent": by.get("sent"),
                            "querier_received": by.get("received"),
                            "rounds": by.get("rounds")}
            per_node = []
            for k in sorted(nodes):
                d = nodes[k]
                cpu0, _, _ = st0.get(k, (None, None, None))
                cpu1, hwm, rss = st1.get(k, (None, None, None))
                per_node.append({
                    "site": k, "bytes_in": d["bytes_in"],
                    "bytes_out": d["bytes_out"], "requests": d["requests"],
                    "scan_ms": d["scan_ms"], "handle_ms": d["handle_ms"],
                    "crypto_ms": d["handle_ms"] - d["scan_ms"],
                    "cpu_s": round(cpu1 - cpu0, 3)
                    if cpu0 is not None and cpu1 is not None else None,
                    "rss_peak_kb": hwm, "rss_kb": rss,
                    "log_problems": d["refused"]})
                if d["refused"] and rec["ok"]:
                    rec.setdefault("warnings", []).extend(d["refused"])
            rec["nodes"] = per_node
            rec["bytes"]["per_node_mean"] = mean(
                [n["bytes_in"] + n["bytes_out"] for n in per_node])
            rec["cpu_per_node_s"] = [n["cpu_s"] for n in per_node]
            rec["rss_per_node_kb"] = [n["rss_peak_kb"] for n in per_node]
            rec["querier"] = {"cpu_s": qcpu, "rss_peak_kb": qrss}
            res = (doc or {}).get("results")
            rec["answer_sha256"] = canonical_sha(res) if res is not None \
                else None
            rec["suppressed"] = count_suppressed(res)
            if rec["suppressed"]:
                rec.setdefault("warnings", []).append(
                    "answer partly withheld by the nodes' small-cell rule "
                    "(%d pooled cells withheld)" % rec["suppressed"])
            if run_i == 1 or a.keep_answers:
                rec["answer"] = res
            if doc is not None and q.get("check") == "logistic" and tr:
                rec["check"] = logistic_check(doc, tr)
            if doc is not None and q.get("check") == "survival" and tr:
                rec["check"] = survival_check(doc, tr)
            answers.append(rec["answer_sha256"])
            self.emit(rec)
            if not rec["ok"]:
                log("%s %s run %d FAILED: %s" % (q["name"], mode, run_i,
                                                 rec.get("error", "")[:300]))
        lat = [r["latency_ms"] for r in self.records
               if r.get("kind") == "measurement" and r["query"] == q["name"]
               and r["mode"] == mode and r["sites"] == sites
               and r["rows"] == rows and r["scenario"] == scn["name"]
               and r["ok"]]
        log("%-12s %-9s %3d sites x %8d rows: p50 %8.1f ms  p95 %8.1f ms "
            "(%d ok of %d)" % (q["name"][:12], mode, sites, rows,
                               pct(lat, 50) or -1, pct(lat, 95) or -1,
                               len(lat), runs))
        if len(set(x for x in answers if x)) > 1:
            self.checks.append("%s/%s %s: answers differ between runs" % (
                scn["name"], q["name"], mode))

    def node_exits(self, c, codes):
        """A "teardown" record: how the nodes of the last configuration
        exited (0 expected on SIGTERM; a sanitizer report or a crash shows
        here), with the end of the log of any node that did not exit 0."""
        if not codes or self.current is None:
            return
        bad = {k: v for k, v in codes.items() if v != 0}
        rec = {"kind": "teardown", "scenario": self.current[0],
               "sites": self.current[1], "rows": self.current[2],
               "git": self.rev, "ok": not bad,
               "exit_codes": [codes[k] for k in sorted(codes)]}
        if bad:
            rec["error"] = "; ".join(
                "site%d exited with %s: %s" % (k, v, c.log_tail(k, 600))
                for k, v in sorted(bad.items()))[:4000]
            log("nodes did not exit cleanly: %s" % rec["error"][:500])
        self.emit(rec)

    def cleanup(self):
        c, self.consortium = self.consortium, None
        work, self.work = self.work, None
        if c is not None:
            try:
                self.node_exits(c, c.teardown())
            except Exception as e:   # noqa: BLE001 - keep cleaning up
                log("teardown: %s" % e)
        self.current = None
        if work is not None:
            strays = processes_mentioning(work)
            for pid in strays:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            if strays:
                log("killed %d stray process(es) of %s" % (len(strays),
                                                            work))
            if self.a.keep:
                log("kept %s" % work)
            else:
                shutil.rmtree(work, ignore_errors=True)


# ---------------------------------------------------------------------------
# SVG charts (a deliberately small writer: axes, ticks, lines, bars, legend)

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
           "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


def esc(s):
    return xml.sax.saxutils.escape(str(s), {'"': "&quot;"})


def nice_ticks(lo, hi, n=5):
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw),
               default=10 * mag)
    start = math.floor(lo / step) * step
    ticks, t = [], start
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 10))
        t += step
    return ticks


def fmt_num(v):
    if v == 0:
        return "0"
    if abs(v) >= 1e6:
        return "%gM" % (v / 1e6)
    if abs(v) >= 1e3:
        return "%gk" % (v / 1e3)
    return "%g" % v


class Svg:
    W, H = 720, 420
    L, R, T, B = 80, 190, 40, 60

    def __init__(self, title, xlabel, ylabel):
        self.parts = []
        self.title, self.xlabel, self.ylabel = title, xlabel, ylabel

    def text(self, x, y, s, size=12, anchor="start", rotate=None):
        tr = ' transform="rotate(%d %.1f %.1f)"' % (rotate, x, y) \
            if rotate else ""
        self.parts.append('<text x="%.1f" y="%.1f" font-size="%d" '
                          'text-anchor="%s"%s>%s</text>' % (
                              x, y, size, anchor, tr, esc(s)))

    def frame(self):
        pw, ph = self.W - self.L - self.R, self.H - self.T - self.B
        self.parts.append('<rect x="%d" y="%d" width="%d" height="%d" '
                          'fill="none" stroke="#333"/>' % (self.L, self.T,
                                                           pw, ph))
        self.text(self.W / 2 - self.R / 2 + self.L / 2, 22, self.title, 15,
                  "middle")
        self.text(self.L + pw / 2, self.H - 15, self.xlabel, 12, "middle")
        self.text(18, self.T + ph / 2, self.ylabel, 12, "middle", -90)
        return pw, ph

    def legend(self, names):
        for i, n in enumerate(names):
            y = self.T + 10 + 18 * i
            x = self.W - self.R + 15
            self.parts.append('<rect x="%d" y="%d" width="12" height="12" '
                              'fill="%s"/>' % (x, y - 10,
                                               PALETTE[i % len(PALETTE)]))
            self.text(x + 18, y, n, 11)

    def render(self):
        return ('<?xml version="1.0" encoding="UTF-8"?>\n'
                '<svg xmlns="http://www.w3.org/2000/svg" width="%d" '
                'height="%d" viewBox="0 0 %d %d" font-family="sans-serif">\n'
                '<rect width="100%%" height="100%%" fill="white"/>\n%s\n'
                '</svg>\n' % (self.W, self.H, self.W, self.H,
                              "\n".join(self.parts)))


def line_chart(path, title, xlabel, ylabel, series, logx=False, logy=False):
    """series: [(name, [(x, y), ...])]. Writes path; returns True if there
    was anything to draw."""
    pts = [(x, y) for _, s in series for x, y in s
           if x is not None and y is not None and
           (not logx or x > 0) and (not logy or y > 0)]
    if not pts:
        return False
    g = Svg(title, xlabel, ylabel)
    pw, ph = g.frame()
    fx = (lambda v: math.log10(v)) if logx else (lambda v: v)
    fy = (lambda v: math.log10(v)) if logy else (lambda v: v)
    xs, ys = [fx(x) for x, _ in pts], [fy(y) for _, y in pts]
    x0, x1 = min(xs), max(xs)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    if logy:
        y0, y1 = math.floor(min(ys)), math.ceil(max(ys))
        if y1 == y0:
            y1 = y0 + 1
        yt = list(range(int(y0), int(y1) + 1))
    else:
        yt = nice_ticks(0, max(ys) * 1.05)
        y0, y1 = 0, yt[-1]

    def X(v):
        return g.L + (fx(v) - x0) / (x1 - x0) * pw

    def Y(v):
        return g.T + ph - (fy(v) - y0) / (y1 - y0) * ph

    for t in yt:
        val = 10 ** t if logy else t
        yy = g.T + ph - (t - y0) / (y1 - y0) * ph
        g.parts.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" '
                       'stroke="#ddd"/>' % (g.L, yy, g.L + pw, yy))
        g.text(g.L - 6, yy + 4, fmt_num(val), 11, "end")
    xvals = sorted(set(x for x, _ in pts))
    for v in xvals:
        g.text(X(v), g.T + ph + 18, fmt_num(v), 11, "middle")
    names = []
    for i, (name, s) in enumerate(series):
        s = sorted((x, y) for x, y in s if x is not None and y is not None
                   and (not logx or x > 0) and (not logy or y > 0))
        if not s:
            continue
        col = PALETTE[len(names) % len(PALETTE)]
        names.append(name)
        d = " ".join("%s%.1f,%.1f" % ("M" if j == 0 else "L", X(x), Y(y))
                     for j, (x, y) in enumerate(s))
        g.parts.append('<path d="%s" fill="none" stroke="%s" '
                       'stroke-width="2"/>' % (d, col))
        for x, y in s:
            g.parts.append('<circle cx="%.1f" cy="%.1f" r="3.5" '
                           'fill="%s"><title>%s: %s, %s</title></circle>' % (
                               X(x), Y(y), col, esc(name), fmt_num(x),
                               "%.4g" % y))
    g.legend(names)
    with open(path, "w") as f:
        f.write(g.render())
    return True


def bar_chart(path, title, ylabel, categories, series, ref=None):
    """Grouped bars: categories on x, series = [(name, [value per
    category])]; ref draws a dashed horizontal line at that value."""
    vals = [v for _, s in series for v in s if v is not None]
    if not vals or not categories:
        return False
    g = Svg(title, "", ylabel)
    g.B = 110
    pw, ph = g.frame()
    top = max(vals + ([ref] if ref else [])) * 1.08
    yt = nice_ticks(0, top)
    y1 = yt[-1]

    def Y(v):
        return g.T + ph - v / y1 * ph

    for t in yt:
        g.parts.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" '
                       'stroke="#ddd"/>' % (g.L, Y(t), g.L + pw, Y(t)))
        g.text(g.L - 6, Y(t) + 4, fmt_num(t), 11, "end")
    n = max(1, len(series))
    slot = pw / len(categories)
    bw = slot * 0.8 / n
    for ci, cat in enumerate(categories):
        cx = g.L + slot * ci + slot * 0.1
        for si, (name, s) in enumerate(series):
            v = s[ci] if ci < len(s) else None
            if v is None:
                continue
            x = cx + bw * si
            g.parts.append('<rect x="%.1f" y="%.1f" width="%.1f" '
                           'height="%.1f" fill="%s"><title>%s %s: %.4g'
                           '</title></rect>' % (
                               x, Y(v), max(bw - 1, 1), g.T + ph - Y(v),
                               PALETTE[si % len(PALETTE)], esc(cat),
                               esc(name), v))
        lx = g.L + slot * ci + slot / 2
        g.text(lx, g.T + ph + 14, cat[:22], 10, "end", -35)
    if ref:
        g.parts.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" '
                       'stroke="#555" stroke-dasharray="5,4"/>' % (
                           g.L, Y(ref), g.L + pw, Y(ref)))
    g.legend([name for name, _ in series])
    with open(path, "w") as f:
        f.write(g.render())
    return True


# ---------------------------------------------------------------------------
# The report


def fmt(v, spec="%.1f"):
    return "-" if v is None else spec % v


def summarize(records):
    """(scenario, sites, rows, query, mode) -> summary dict."""
    groups = {}
    for r in records:
        if r.get("kind") != "measurement":
            continue
        key = (r["scenario"], r["sites"], r["rows"], r["query"], r["mode"])
        groups.setdefault(key, []).append(r)
    out = {}
    for key, rs in groups.items():
        ok = [r for r in rs if r["ok"]]
        nodes = [n for r in ok for n in r.get("nodes", [])]
        s = {"n": len(rs), "ok": len(ok),
             "errors": sorted(set(r.get("error", "")[:200]
                                  for r in rs if not r["ok"])),
             "p50": pct([r["latency_ms"] for r in ok], 50),
             "p95": pct([r["latency_ms"] for r in ok], 95),
             "json_p50": pct([r["timings_ms"].get("total") for r in ok], 50),
             "bytes_node": mean([n["bytes_in"] + n["bytes_out"]
                                 for n in nodes]),
             "bytes_querier": mean([(r["bytes"]["querier_sent"] or 0) +
                                    (r["bytes"]["querier_received"] or 0)
                                    for r in ok]),
             "rss_node_max": max([n["rss_peak_kb"] for n in nodes
                                  if n["rss_peak_kb"]], default=None),
             "cpu_node": mean([n["cpu_s"] for n in nodes]),
             "scan_ms": mean([n["scan_ms"] for n in nodes]),
             "crypto_ms": mean([n["crypto_ms"] for n in nodes]),
             "iterations": mean([r.get("iterations") for r in ok]),
             "querier_cpu": mean([(r.get("querier") or {}).get("cpu_s")
                                  for r in ok]),
             # CPU on the critical path if every party had its own core:
             # the querier's CPU plus the busiest node's (a lower bound of
             # a deployment's latency without network delays)
             "dedicated_ms": pct([1000.0 * (
                 ((r.get("querier") or {}).get("cpu_s") or 0) +
                 max([n["cpu_s"] or 0 for n in r.get("nodes", [])],
                     default=0)) for r in ok], 50),
             "shas": sorted(set(r.get("answer_sha256") for r in ok)),
             "suppressed": max([r.get("suppressed") or 0 for r in ok],
                               default=0),
             "checks": [r["check"] for r in ok if r.get("check")],
             "warnings": sorted(set(w for r in rs
                                    for w in r.get("warnings", [])))[:5]}
        out[key] = s
    return out


def write_report(bench, scenarios):
    out = bench.out
    recs = [r for r in read_jsonl(bench.results_path)]
    summ = summarize(recs)
    setups = [r for r in recs if r.get("kind") == "setup"]
    L = []
    L.append("# mcn benchmark report\n")
    revs = sorted(set(r.get("git") for r in recs if r.get("git")))
    L.append("- revision: `%s`" % (", ".join(revs) or bench.rev))
    m = next((r["machine"] for r in recs if r.get("machine")),
             bench.machine)
    L.append("- machine: %s, %s cores, %s MB RAM, kernel %s" % (
        m.get("cpu", "?"), m.get("cores"), m.get("memory_mb"),
        m.get("kernel")))
    L.append("- nodes: %s thread(s) each (OMP_NUM_THREADS), %s network, "
             "%d-bit threshold Paillier key" % (
                 bench.a.node_threads,
                 "namespaces + bridge" if bench.a.netns else "loopback",
                 bench.a.bits))
    L.append("- command: `%s`" % " ".join(sys.argv))
    L.append("- latency: wall clock of one `mcn query` process (start to "
             "exit), p50/p95 over the measured runs after one warm-up; "
             "bytes/node: bytes in + out of one node for the whole query "
             "(from the node logs); scan/crypto: per node, local scan time "
             "and request handling minus scan (from the node logs), wall "
             "clock, so they include waiting for a core; CPU s/node: "
             "utime+stime of a node during the query; CPU path: querier CPU "
             "+ the busiest node's CPU, the latency floor if every party "
             "had its own core (network delays excluded)\n")
    loads = [r["load_1m"] for r in recs if r.get("load_1m") is not None]
    if loads:
        L.append("- 1-minute load average during the measurements: median "
                 "%.1f, max %.1f (the nodes' own work counts in it; a load "
                 "well above the core count means other programs competed "
                 "for the CPU)\n" % (pct(loads, 50), max(loads)))
    failures = [r for r in recs if not r.get("ok")]
    L.append("Failures: %d%s\n" % (len(failures), "" if not failures else
                                   " (see below)"))
    charts = []
    for scn in scenarios:
        name = scn["name"]
        L.append("## %s\n" % name)
        if scn.get("description"):
            L.append(scn["description"] + "\n")
        for st in [s for s in setups if s["scenario"] == name]:
            L.append("- %d sites x %d rows: network init %ss, synth+import "
                     "%ss, start %ss%s" % (
                         st["sites"], st["rows"], st.get("init_s", "-"),
                         st.get("load_s", "-"), st.get("start_s", "-"),
                         "" if st.get("ok") else
                         " **SETUP FAILED: %s**" % st.get("error", "")))
        L.append("")
        qorder = {q["name"]: i for i, q in enumerate(scn["queries"])}
        keys = sorted((k for k in summ if k[0] == name),
                      key=lambda k: (k[1], k[2], qorder.get(k[3], 99),
                                     MODES_ALL.index(k[4])))
        if not keys:
            L.append("(no measurements)\n")
            continue
        L.append("| sites | rows | query | mode | ok | p50 ms | p95 ms | "
                 "querier total p50 ms | vs plain | bytes/node | "
                 "scan ms/node | crypto ms/node | CPU s/node | "
                 "querier CPU s | CPU path ms | peak RSS/node MB | "
                 "iterations |")
        L.append("|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|"
                 "---:|---:|---:|---:|---:|---:|")
        for k in keys:
            s = summ[k]
            plain = summ.get(k[:4] + ("plain",), {}).get("p50")
            ratio = s["p50"] / plain if plain and s["p50"] else None
            L.append("| %d | %d | %s | %s | %d/%d | %s | %s | %s | %s | %s "
                     "| %s | %s | %s | %s | %s | %s | %s |" % (
                         k[1], k[2], k[3], k[4], s["ok"], s["n"],
                         fmt(s["p50"]), fmt(s["p95"]), fmt(s["json_p50"],
                                                           "%.0f"),
                         fmt(ratio, "%.2fx"), fmt(s["bytes_node"], "%.0f"),
                         fmt(s["scan_ms"], "%.0f"), fmt(s["crypto_ms"],
                                                        "%.0f"),
                         fmt(s["cpu_node"], "%.3f"),
                         fmt(s["querier_cpu"], "%.3f"),
                         fmt(s["dedicated_ms"], "%.0f"),
                         fmt(s["rss_node_max"] / 1024.0
                             if s["rss_node_max"] else None, "%.1f"),
                         fmt(s["iterations"], "%.0f")))
        L.append("")
        # exactness across modes
        byq = {}
        for k in keys:
            byq.setdefault(k[:4], {})[k[4]] = summ[k]["shas"]
        diff = [q for q, ms in byq.items()
                if len(set(sha for v in ms.values() for sha in v)) > 1]
        L.append("Answers identical across modes and runs: %s\n" % (
            "yes" if not diff else "**no** for %s" % ", ".join(
                "%s (%d sites, %d rows)" % (q[3], q[1], q[2])
                for q in diff)))
        for k in keys:
            s = summ[k]
            if s["errors"]:
                L.append("- **%s %s (%d sites x %d rows) failed**: %s" % (
                    k[3], k[4], k[1], k[2], "; ".join(s["errors"])))
            if s["suppressed"]:
                L.append("- **%s %s (%d sites x %d rows): answer partly "
                         "suppressed** by the nodes' minimum cell size "
                         "(%d site-blocks/cells withheld): the figures "
                         "measure a query whose answer is incomplete" % (
                             k[3], k[4], k[1], k[2], s["suppressed"]))
            if s["warnings"]:
                L.append("- %s %s: warnings: %s" % (
                    k[3], k[4], "; ".join(s["warnings"])))
        L.append("")
        L.extend(check_sections(summ, keys))
        charts.extend(scenario_charts(out, name, summ, keys, L))
    L.append("## Charts\n")
    for c in charts:
        L.append("![%s](%s)\n" % (c, c))
    if bench.checks:
        L.append("## Problems\n")
        L.extend("- " + c for c in bench.checks)
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write("\n".join(L) + "\n")


def check_sections(summ, keys):
    """The truth comparisons; one table per configuration and query when
    every mode gave the same answer (the usual case), else one per mode."""
    L = []
    done = set()
    for k in keys:
        s = summ[k]
        if not s["checks"] or k[:4] in done:
            continue
        same = [m for m in MODES_ALL
                if summ.get(k[:4] + (m,), {}).get("shas") == s["shas"]]
        if len(same) > 1:
            done.add(k[:4])
            k = k[:4] + ("/".join(same) + " (identical answers)",)
        c = s["checks"][0]
        if c and "terms" in c:
            L.append("Logistic regression, %s, %d sites x %d rows, %s: %d "
                     "parameters (intercept + %d terms), %s iterations; "
                     "estimate - truth:\n" % (
                         k[3], k[1], k[2], k[4], c["n_terms"],
                         c["n_terms"] - 1, c.get("iterations")))
            L.append("| term | true | estimate | diff | SE | z |")
            L.append("|---|---:|---:|---:|---:|---:|")
            for t in c["terms"]:
                L.append("| %s | %.4f | %.4f | %+.4f | %s | %s |" % (
                    t["term"], t["true"], t["estimate"], t["diff"],
                    fmt(t["se"], "%.4f"), fmt(t["z"], "%+.2f")))
            zs = [abs(t["z"]) for t in c["terms"] if t["z"] is not None]
            L.append("\nmax |z| = %s (|z| < 4 expected if the fit recovers "
                     "the true model)\n" % fmt(max(zs) if zs else None,
                                               "%.2f"))
        elif c and "points" in c and not c["points"]:
            L.append("Kaplan-Meier, %s, %d sites x %d rows, %s: **no "
                     "curve to compare: every group was suppressed** (a "
                     "site zeroes a whole curve when any grid cell has 1 "
                     "to k-1 events or censored rows)\n" % (
                         k[3], k[1], k[2], k[4]))
        elif c and "points" in c:
            L.append("Kaplan-Meier, %s, %d sites x %d rows, %s: %s grid "
                     "points per arm; estimate vs true Weibull curve:\n" % (
                         k[3], k[1], k[2], k[4], c.get("grid_points")))
            L.append("| arm | day | KM | SE | true S |")
            L.append("|---|---:|---:|---:|---:|")
            for p in c["points"]:
                L.append("| %s | %d | %s | %s | %.4f |" % (
                    p["arm"], p["time"], fmt(p["km"], "%.4f"),
                    fmt(p["se"], "%.4f"), p["true"]))
            L.append("")
    return L


def scenario_charts(out, name, summ, keys, L):
    files = []
    confs = sorted(set((k[1], k[2]) for k in keys))
    queries = []
    for k in keys:
        if k[3] not in queries:
            queries.append(k[3])
    modes = [m for m in MODES_ALL if any(k[4] == m for k in keys)]
    sites_vals = sorted(set(c[0] for c in confs))
    rows_vals = sorted(set(c[1] for c in confs))
    if len(sites_vals) > 1:
        for q in queries:
            series = []
            for m, r in itertools.product(modes, rows_vals):
                series.append(("%s, %s rows" % (m, fmt_num(r)), [
                    (s, summ.get((name, s, r, q, m), {}).get("p50"))
                    for s in sites_vals]))
            f = "%s-%s-latency-vs-sites.svg" % (name, slug(q))
            if line_chart(os.path.join(out, f), "%s: p50 latency vs sites"
                          % q, "sites", "p50 latency (ms, log)", series,
                          logy=True):
                files.append(f)
            series = []
            for m, r in itertools.product(modes, rows_vals):
                series.append(("%s, %s rows" % (m, fmt_num(r)), [
                    (s, summ.get((name, s, r, q, m), {}).get("bytes_node"))
                    for s in sites_vals]))
            f = "%s-%s-bytes-vs-sites.svg" % (name, slug(q))
            if line_chart(os.path.join(out, f), "%s: bytes per node" % q,
                          "sites", "bytes per node per query", series):
                files.append(f)
    if len(rows_vals) > 1:
        for q in queries:
            series = []
            for m, s in itertools.product(modes, sites_vals):
                series.append(("%s, %d sites" % (m, s), [
                    (r, summ.get((name, s, r, q, m), {}).get("p50"))
                    for r in rows_vals]))
            f = "%s-%s-latency-vs-rows.svg" % (name, slug(q))
            if line_chart(os.path.join(out, f), "%s: p50 latency vs rows "
                          "per site" % q, "rows per site (log)",
                          "p50 latency (ms, log)", series, logx=True,
                          logy=True):
                files.append(f)
    # secure/plain ratio and bytes per node, per query and configuration
    cats, ratio_series, bytes_series = [], {}, {}
    for (s, r), q in itertools.product(confs, queries):
        cat = q if len(confs) == 1 else "%s %ds %s" % (q, s, fmt_num(r))
        cats.append(cat)
        plain = summ.get((name, s, r, q, "plain"), {}).get("p50")
        for m in modes:
            v = summ.get((name, s, r, q, m), {})
            if m != "plain":
                ratio_series.setdefault(m, []).append(
                    v["p50"] / plain if plain and v.get("p50") else None)
            bytes_series.setdefault(m, []).append(v.get("bytes_node"))
    if ratio_series:
        f = "%s-secure-plain-ratio.svg" % name
        if bar_chart(os.path.join(out, f), "%s: secure / plain p50 latency"
                     % name, "ratio", cats, sorted(ratio_series.items()),
                     ref=1.0):
            files.append(f)
    f = "%s-bytes-per-node.svg" % name
    if bar_chart(os.path.join(out, f), "%s: bytes per node per query" % name,
                 "bytes", cats, [(m, bytes_series[m]) for m in modes
                                 if m in bytes_series]):
        files.append(f)
    return files


def slug(s):
    return "".join(c if c.isalnum() else "-" for c in s).strip("-")[:40]


def read_jsonl(path):
    out = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    out.append(json.loads(line))
    return out


# ---------------------------------------------------------------------------
# main


def parse_args(argv):
    ap = argparse.ArgumentParser(
        description="multi-hospital benchmark harness for mcn")
    ap.add_argument("--mcn", required=True, help="path to the mcn binary")
    ap.add_argument("--scenario", action="append", required=True,
                    help="scenario JSON file (repeatable)")
    ap.add_argument("--sites", type=int, help="override the sites")
    ap.add_argument("--rows", type=int, help="override rows per site")
    ap.add_argument("--runs", type=int, help="measured runs per query and "
                    "mode (after one warm-up)")
    ap.add_argument("--modes", help="comma list of paillier,masked,plain")
    ap.add_argument("--out", default="bench-out", help="output directory")
    ap.add_argument("--quick", action="store_true",
                    help="the scenario's cut-down 'quick' variant")
    ap.add_argument("--netns", action="store_true",
                    help="each node in its own network namespace (root)")
    ap.add_argument("--bits", type=int, default=2048,
                    help="Paillier modulus bits (default 2048)")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--opt-out", type=float, default=None)
    ap.add_argument("--overlap", type=float, default=None)
    ap.add_argument("--node-threads", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2,
                    help="parallel synth+import jobs")
    ap.add_argument("--query-timeout", type=float, default=600,
                    help="seconds per query")
    ap.add_argument("--workdir", default=None,
                    help="where the temporary consortia go (default TMPDIR)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the consortium directories")
    ap.add_argument("--keep-answers", action="store_true",
                    help="full answer on every run, not just run 1")
    ap.add_argument("--append", action="store_true",
                    help="append to an existing results.jsonl")
    ap.add_argument("--report-only", action="store_true",
                    help="only rewrite report.md and the charts from "
                    "DIR/results.jsonl")
    a = ap.parse_args(argv)
    a.synth_opts = []
    if a.opt_out is not None:
        a.synth_opts += ["--opt-out", str(a.opt_out)]
    if a.overlap is not None:
        a.synth_opts += ["--overlap", str(a.overlap)]
    return a


def main(argv=None):
    a = parse_args(argv if argv is not None else sys.argv[1:])
    if not os.access(a.mcn, os.X_OK):
        print("harness: %s is not an executable" % a.mcn, file=sys.stderr)
        return 2
    if a.netns:
        why = netns_available()
        if why:
            print("harness: skipping: %s" % why, file=sys.stderr)
            return 0
    scenarios = [load_scenario(p) for p in a.scenario]
    bench = Bench(a)
    if a.report_only:
        write_report(bench, scenarios)
        return 0
    if not a.append and os.path.exists(bench.results_path):
        os.unlink(bench.results_path)

    def on_signal(signum, _frame):
        raise Interrupted("signal %d" % signum)

    # SIGUSR1 writes every thread's stack to OUT/stacks.txt (to diagnose
    # a hung run)
    os.makedirs(bench.out, exist_ok=True)
    stacks = open(os.path.join(bench.out, "stacks.txt"), "a")
    faulthandler.register(signal.SIGUSR1, file=stacks, all_threads=True)

    old = {s: signal.signal(s, on_signal)
           for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    rc = 0
    t0 = time.time()
    try:
        tr = truth(bench.mcn)
        for scn in scenarios:
            bench.run_scenario(scn, tr)
    except Interrupted as e:
        log("interrupted (%s): cleaning up" % e)
        rc = 130
    except HarnessError as e:
        log("error: %s" % e)
        rc = 1
    finally:
        # signals during clean-up must not interrupt it
        for s in old:
            signal.signal(s, signal.SIG_IGN)
        bench.cleanup()
        for s, h in old.items():
            signal.signal(s, h)
    write_report(bench, scenarios)
    fails = [r for r in read_jsonl(bench.results_path) if not r.get("ok")]
    log("%d records, %d failed, %.0f s; results in %s, report %s" % (
        len(read_jsonl(bench.results_path)), len(fails), time.time() - t0,
        bench.results_path, os.path.join(bench.out, "report.md")))
    if rc == 0 and (fails or bench.checks):
        rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
