#!/usr/bin/python3
"""Signpost's benchmark: starts a fake webapp, Signpost and the reference
servers on loopback, loads them, and prints a markdown table. Run it with
bench/run (which installs nginx and wrk and builds Signpost first); see
docs/performance.md for what each row means.

Environment:
  SIGNPOST_BIN    the daemon to measure (bench/run sets it)
  SYDENT_DIR      a sydent checkout; without it the sydent rows are skipped
  BENCH_DURATION  seconds per measured load run (default 10)
  BENCH_PIN       0: do not pin servers and load generator to CPUs

Progress goes to stderr, the tables to stdout; raw outputs stay in a
temporary folder whose path is printed at the end.
"""

import base64
import ctypes
import http.client
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

# No __pycache__ folder in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures  # noqa: E402
import report  # noqa: E402

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
DURATION = int(os.environ.get("BENCH_DURATION", "10"))  # seconds per run
ROUNDS = 2                  # interleaved rounds a run's seconds are cut in
WARMUP = 1                  # seconds of unmeasured load before each run
CONNECTIONS = 64            # wrk connections, as in dependencies.md
HIT_ADDRESSES = [fixtures.directory_address(i) for i in range(10)]
LARGE_REPS = 5              # measured repetitions of a 10,000-entry request
SYDENT_LARGE_REPS = 3       # sydent takes seconds per request
IDLE_CONNECTIONS = 10000
V2 = "/_matrix/identity/v2"
START_TIMEOUT = 30          # seconds for a server to listen
INDEX_TIMEOUT = 120         # seconds for Signpost's sha256 index
SETTLE_TIMEOUT = 30         # seconds for a server to go idle after a run
RUN_DEADLINE = 600          # the whole run; beyond it something hangs

CLK_TCK = os.sysconf("SC_CLK_TCK")
# Descriptors a server may open: the hard limit its parent allows.
NOFILE = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
# urllib without any proxy from the environment: everything is loopback.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


T0 = time.monotonic()


def log(msg):
    print("bench: [%3.0f s] %s" % (time.monotonic() - T0, msg),
          file=sys.stderr, flush=True)


class Abort(Exception):
    pass


# ---- processes -----------------------------------------------------------

RUNNING = []  # every process started, stopped at exit whatever happens


LIBC = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1


def child_setup():
    """In the child, before exec: as many descriptors as allowed (10,000
    idle connections need more than the default 1,024), and a SIGTERM if
    the harness itself dies without cleaning up (kill -9). SIGTERM, not
    SIGKILL: nginx's master then stops its workers too."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Proc:
    """A process started in its own session, so that it and its children
    (nginx's workers) form one process group: measured together, stopped
    together."""

    def __init__(self, name, argv, cpu, cwd, log_path, env=None,
                 stdin=subprocess.DEVNULL, stdout=None):
        self.name = name
        if cpu is not None:
            argv = ["taskset", "-c", str(cpu)] + argv  # taskset execs argv
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdin=stdin,
            stdout=stdout if stdout is not None else self.log,
            stderr=self.log, start_new_session=True, preexec_fn=child_setup)
        self.pid = self.proc.pid
        RUNNING.append(self)

    def group(self):
        """Pids in this process group, with their /proc/<pid>/stat fields
        after the command name."""
        out = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % entry) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[2]) == self.pid:
                out.append((int(entry), fields))
        return out

    def cpu_seconds(self):
        # utime and stime, fields 14 and 15 of stat: all threads, in ticks.
        return sum(int(f[11]) + int(f[12]) for _, f in self.group()) / CLK_TCK

    def memory_kb(self):
        """(VmRSS, VmHWM) summed over the group, in kB."""
        rss = hwm = 0
        for pid, _ in self.group():
            try:
                with open("/proc/%d/status" % pid) as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            rss += int(line.split()[1])
                        elif line.startswith("VmHWM:"):
                            hwm += int(line.split()[1])
            except OSError:
                pass
        return rss, hwm

    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=10):
        if self.proc.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGTERM)
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.proc.wait()
            except ProcessLookupError:
                pass
        if self in RUNNING:
            RUNNING.remove(self)
        self.log.close()


def stop_all():
    for p in list(reversed(RUNNING)):
        try:
            p.stop()
        except Exception as e:  # keep stopping the others
            log("could not stop %s: %s" % (p.name, e))


def on_signal(signum, _frame):
    raise Abort("signal %d" % signum)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, log_path):
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if not proc.alive():
            raise Abort("%s exited at start; see %s" % (proc.name, log_path))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise Abort("%s did not listen on %d; see %s"
                            % (proc.name, port, log_path))
            time.sleep(0.05)


# ---- HTTP ------------------------------------------------------------------

def request(port, method, path, body=None, headers=None, timeout=30):
    """Returns (status, parsed JSON or raw bytes)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path),
                                 data=data, method=method,
                                 headers=headers or {})
    try:
        with OPENER.open(req, timeout=timeout) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw


def count_mappings(answer):
    """Matches in a v2 lookup answer."""
    return len(answer.get("mappings", {}))


def bearer(token):
    return {"Authorization": "Bearer " + token,
            "Content-Type": "application/json"}


def v1_path(address):
    return "/_matrix/identity/api/v1/lookup?medium=email&address=" + address


def v2_body(algorithm, pepper, items):
    if algorithm == "none":
        items = [a + " email" for a in items]
    return {"algorithm": algorithm, "pepper": pepper, "addresses": items}


# ---- the run ---------------------------------------------------------------

class Bench:
    def __init__(self, signpost_bin, sydent_dir, tmp):
        self.bin = signpost_bin
        self.sydent_dir = sydent_dir
        self.tmp = tmp
        self.raw = os.path.join(tmp, "raw")
        self.data = os.path.join(tmp, "webapp")
        os.makedirs(self.raw)
        os.makedirs(os.path.join(tmp, "nginx-tmp"))
        cpus = sorted(os.sched_getaffinity(0))
        if os.environ.get("BENCH_PIN", "1") != "0" and len(cpus) >= 2:
            # The "server machine" (the server under test, its webapp, the
            # references) on one CPU, the clients on another: runs do not
            # fight over a core, and every server gets the same one.
            self.server_cpu, self.client_cpu = cpus[-1], cpus[0]
            self.workers, self.threads = 1, 1
        else:
            self.server_cpu = self.client_cpu = None
            self.workers, self.threads = "auto", 0  # one per CPU
        self.results = {}     # wrk runs by key
        self.bulk = {}        # 10,000-entry requests by key
        self.idle = {}        # idle-connection memory by server
        self.webapp_log_offset = 0
        self.params = {"connections": CONNECTIONS, "duration": DURATION,
                       "rounds": ROUNDS, "warmup": WARMUP,
                       "large_reps": LARGE_REPS, "idle": IDLE_CONNECTIONS}

    # -- servers

    def start(self, name, argv, port, cwd=None, env=None):
        log_path = os.path.join(self.raw, name + ".log")
        p = Proc(name, argv, self.server_cpu, cwd or self.tmp, log_path, env)
        wait_port(port, p, log_path)
        return p

    def nginx_conf(self, template, name, values):
        with open(os.path.join(BENCH, "nginx", template)) as f:
            text = f.read()
        for key, value in values.items():
            text = text.replace("@%s@" % key, str(value))
        left = re.findall(r"@[A-Z_0-9]+@", text)
        if left:
            raise Abort("%s: unfilled placeholders %s" % (template, left))
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def start_webapp(self):
        log("writing the webapp's answers")
        fixtures.write_list_pages(self.data)
        self.gens = {}
        for prefix in ("n", "o"):  # v2 none, v1 bulk_lookup
            for g in range(LARGE_REPS + 1):  # +1: the warm-up request
                gen = "%s%d" % (prefix, g)
                self.gens[gen] = fixtures.write_bulk_chunks(self.data, gen)
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
             "-subj", "/CN=127.0.0.1", "-keyout",
             os.path.join(self.tmp, "hs.key"), "-out",
             os.path.join(self.tmp, "hs.crt")],
            check=True, capture_output=True)
        self.webapp_port, self.slow_port = free_port(), free_port()
        self.hs_port = free_port()
        with open(os.path.join(BENCH, "nginx",
                               "webapp-locations.conf.in")) as f:
            locations = f.read()
        conf = self.nginx_conf("webapp.conf.in", "webapp.conf", {
            "LOCATIONS_FAST": locations.replace("@SLEEP@", ""),
            "LOCATIONS_SLOW": locations.replace("@SLEEP@",
                                                "echo_sleep 0.1;"),
            "DIR": self.tmp, "NOFILE": NOFILE, "WORKERS": self.workers,
            "WEBAPP_PORT": self.webapp_port, "SLOW_PORT": self.slow_port,
            "HS_PORT": self.hs_port})
        self.webapp = self.start("webapp", ["nginx", "-c", conf, "-p",
                                            self.tmp], self.webapp_port)
        wait_port(self.slow_port, self.webapp, "webapp-error.log")
        wait_port(self.hs_port, self.webapp, "webapp-error.log")

    def start_signpost(self, name, webapp_port, extra=""):
        folder = os.path.join(self.tmp, name)
        os.makedirs(folder)
        port = free_port()
        with open(os.path.join(folder, "signpost.yaml"), "w") as f:
            f.write("""\
matrix.domain: %s
server:
  address: 127.0.0.1
  port: %d
  threads: %d              # 1 when pinned to one CPU, like nginx's workers
  maxConnections: 20000    # room for the 10,000 idle connections
  connectionTimeout: 600
key.path: signing.key
storage.provider.sqlite.database: signpost.db
rest:
  enabled: true
  host: http://127.0.0.1:%d
  endpoints.identity.list: /_signpost/identity/api/v1/list
federation: {tlsVerify: false, allowPrivateAddresses: true}
lookup:
  bulkChunkSize: %d        # the webapp's prepared answers are cut so
  cache: {enabled: true, ttl: 300, negativeTtl: 60, maxEntries: 100000}
  # One webapp call per missed lookup, like the proxy_pass reference: the
  # fake webapp's bulk answer binds only the first address of a request
  # it has no file for, so batched misses would mostly come back "not
  # found" (unsigned, cheaper) and flatter Signpost.
  batchAfter: 0
logging.level: warn        # no line per request, like nginx's access_log off
%s""" % (fixtures.DOMAIN, port, self.threads, webapp_port,
         fixtures.CHUNK_SIZE, extra))
        p = self.start(name, [self.bin, "-c", "signpost.yaml"], port,
                       cwd=folder)
        p.port = port
        # A v2 account through the fake homeserver's OpenID userinfo.
        status, body = request(port, "POST", V2 + "/account/register", {
            "access_token": "bench-openid", "token_type": "Bearer",
            "matrix_server_name": "127.0.0.1:%d" % self.hs_port,
            "expires_in": 3600})
        if status != 200:
            raise Abort("%s: register answered %s %s" % (name, status, body))
        p.token = body["token"]
        status, body = request(port, "GET", V2 + "/hash_details",
                               headers=bearer(p.token))
        if status != 200 or "sha256" not in body.get("algorithms", []):
            raise Abort("%s: hash_details answered %s %s"
                        % (name, status, body))
        p.pepper = body["lookup_pepper"]
        # sha256 is offered before the first listing is read; the index is
        # there once a directory address is found by its hash.
        probe = v2_body("sha256", p.pepper, [fixtures.sha256_hash(
            HIT_ADDRESSES[0], "email", p.pepper)])
        deadline = time.monotonic() + INDEX_TIMEOUT
        while True:
            status, body = request(port, "POST", V2 + "/lookup", probe,
                                   bearer(p.token))
            if status == 200 and body.get("mappings"):
                return p
            if time.monotonic() > deadline:
                raise Abort("%s: no sha256 index after %d s"
                            % (name, INDEX_TIMEOUT))
            time.sleep(0.1)

    def start_reference(self, v1_answer, v2_answer):
        self.ceil_port, self.proxy_port = free_port(), free_port()
        conf = self.nginx_conf("reference.conf.in", "reference.conf", {
            "DIR": self.tmp, "NOFILE": NOFILE, "WORKERS": self.workers,
            "CEIL_PORT": self.ceil_port,
            "PROXY_PORT": self.proxy_port, "WEBAPP_PORT": self.webapp_port,
            "V1_ANSWER": v1_answer, "V2_ANSWER": v2_answer})
        self.reference = self.start("reference", ["nginx", "-c", conf, "-p",
                                                  self.tmp], self.ceil_port)
        wait_port(self.proxy_port, self.reference, "reference-error.log")

    def start_sydent(self):
        """Sydent creates its schema and pepper on a first start; it is then
        stopped, filled with the directory and started again."""
        folder = os.path.join(self.tmp, "sydent")
        os.makedirs(folder)
        port = free_port()
        conf = os.path.join(folder, "sydent.conf")
        seed = os.urandom(32)
        fixtures.sydent_config(conf, port, os.path.join(folder, "sydent.db"),
                               self.sydent_dir,
                               base64.b64encode(seed).rstrip(b"=").decode())
        env = dict(os.environ, SYDENT_CONF=conf, PYTHONPATH=self.sydent_dir)
        argv = ["/usr/bin/python3", "-m", "sydent.sydent"]
        first = self.start("sydent-init", argv, port, cwd=folder, env=env)
        first.stop()
        log("filling sydent's database with %d associations"
            % fixtures.DIRECTORY_SIZE)
        token = "bench-sydent-token"
        pepper = fixtures.seed_sydent(os.path.join(folder, "sydent.db"),
                                      seed, token)
        p = self.start("sydent", argv, port, cwd=folder, env=env)
        p.port, p.token, p.pepper = port, token, pepper
        return p

    # -- checks before load: never benchmark an error path

    def check_answers(self, port, token, pepper, who):
        a = HIT_ADDRESSES[0]
        status, body = request(port, "GET", v1_path(a))
        if status != 200 or body.get("mxid") != "@u0:" + fixtures.DOMAIN:
            raise Abort("%s: v1 lookup answered %s %s" % (who, status, body))
        for alg, item in (("none", a),
                          ("sha256", fixtures.sha256_hash(a, "email",
                                                          pepper))):
            status, body = request(port, "POST", V2 + "/lookup",
                                   v2_body(alg, pepper, [item]),
                                   bearer(token))
            if status != 200 or len(body.get("mappings", {})) != 1:
                raise Abort("%s: v2 %s lookup answered %s %s"
                            % (who, alg, status, body))

    # -- load runs

    @staticmethod
    def settle(server):
        """Waits until the server stops using CPU: a slow server may still
        be working through requests whose clients wrk has closed (sydent
        does), and that must not count against the next run."""
        deadline = time.monotonic() + SETTLE_TIMEOUT
        last = server.cpu_seconds()
        while time.monotonic() < deadline:
            time.sleep(0.2)
            now = server.cpu_seconds()
            if now - last < 0.02:  # under 10% of a CPU
                return
            last = now
        log("%s still busy %d s after a run" % (server.name, SETTLE_TIMEOUT))

    def wrk_once(self, key, run, phase, seconds):
        """One wrk run; returns its counts, latency percentiles, and the
        server's CPU per request and memory."""
        env = dict(os.environ, BENCH_KIND=run["kind"],
                   BENCH_ITEMS=",".join(run.get("items", ())),
                   BENCH_TOKEN=run.get("token", ""),
                   BENCH_PEPPER=run.get("pepper", ""))
        env.pop("BENCH_MISS", None)
        if run.get("miss"):
            # A new prefix for every phase: no address is ever asked twice.
            env["BENCH_MISS"] = "%s%s-" % (run["miss"], phase)
        server = run["server"]
        out_path = os.path.join(self.raw, "wrk-%s-%s.txt" % (key, phase))
        argv = ["wrk", "-t1", "-c%d" % CONNECTIONS, "-d%ds" % seconds,
                "--timeout", "30s", "--latency", "-s",
                os.path.join(BENCH, "wrk", "lookup.lua"),
                "http://127.0.0.1:%d" % run["port"]]
        cpu0, web0 = server.cpu_seconds(), self.webapp.cpu_seconds()
        t0 = time.monotonic()
        with open(out_path, "wb") as out:
            p = Proc("wrk", argv, self.client_cpu, self.tmp,
                     out_path + ".err", env, stdout=out)
            # wait4 gives wrk's own CPU time: a saturated load generator
            # caps the numbers, and the table says so.
            _, status, usage = os.wait4(p.pid, 0)
            p.proc.returncode = os.waitstatus_to_exitcode(status)
            p.stop()
        wall = time.monotonic() - t0
        cpu1, web1 = server.cpu_seconds(), self.webapp.cpu_seconds()
        if p.proc.returncode != 0:
            raise Abort("wrk failed for %s; see %s" % (key, out_path))
        with open(out_path) as f:
            m = re.search(r"^BENCH (\{.*\})$", f.read(), re.M)
        if not m:
            raise Abort("no BENCH line in %s" % out_path)
        r = json.loads(m.group(1))
        r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
        r["errors"] = (r["connect_errors"] + r["read_errors"] +
                       r["write_errors"] + r["status_errors"] + r["timeouts"])
        r["cpu_us"] = (cpu1 - cpu0) * 1e6 / max(r["requests"], 1)
        r["webapp_us"] = (web1 - web0) * 1e6 / max(r["requests"], 1)
        r["client_cpu"] = (usage.ru_utime + usage.ru_stime) / wall
        r["rss_kb"], r["hwm_kb"] = server.memory_kb()
        self.settle(server)
        return r

    def load(self, group):
        """Measures a group of runs that are compared with each other
        (a reference and the Signpost runs held against it): each is
        warmed up, then the group is measured in ROUNDS interleaved rounds
        of DURATION / ROUNDS seconds, and each run keeps its best round,
        so that a burst of outside load during one round does not decide a
        ratio. A run may ask for one round ("rounds": 1) and no warm-up."""
        rounds = {key: [] for key, _ in group}
        for rnd in range(ROUNDS):
            for key, run in group:
                n = run.get("rounds", ROUNDS)
                if rnd >= n:
                    continue
                if rnd == 0 and run.get("warmup", True):
                    self.wrk_once(key, run, "warmup", WARMUP)
                rounds[key].append(self.wrk_once(
                    key, run, "round%d" % rnd, max(1, DURATION // n)))
        for key, _ in group:
            best = max(rounds[key], key=lambda r: r["rps"])
            best["rounds_rps"] = [r["rps"] for r in rounds[key]]
            self.results[key] = best
            log("%-16s %8.0f req/s (rounds: %s)  p50 %6.2f ms  p99 %7.2f ms"
                "  %6.1f us/req%s" % (
                    key, best["rps"], ", ".join(
                        "%.0f" % x for x in best["rounds_rps"]),
                    best["p50_us"] / 1e3, best["p99_us"] / 1e3,
                    best["cpu_us"], "  %d errors" % best["errors"]
                    if best["errors"] else ""))

    # -- large requests

    def webapp_calls(self):
        """The chunk calls logged since the last look: (start, end, status,
        chunk) in seconds since the epoch."""
        path = os.path.join(self.tmp, "webapp-access.log")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            f.seek(self.webapp_log_offset)
            text = f.read()
            self.webapp_log_offset = f.tell()
        calls = []
        for line in text.splitlines():
            msec, rt, status, chunk = line.split()
            calls.append((float(msec) - float(rt), float(msec), int(status),
                          chunk))
        return calls

    @staticmethod
    def union_seconds(calls):
        """Time during which at least one webapp call was in progress: what
        Signpost waited for, however the chunks overlapped."""
        total, end = 0.0, None
        for s, e, _, _ in sorted(calls):
            if end is None or s > end:
                total += e - s
                end = e
            elif e > end:
                total += e - end
                end = e
        return total

    def large_request(self, key, server, path, bodies, count_answer,
                      headers=None):
        """Sends each body once, in order, on one keep-alive connection;
        the first is a warm-up. Stores the median total time, the median
        webapp time and the server's CPU per request."""
        conn = http.client.HTTPConnection("127.0.0.1", server.port,
                                          timeout=120)
        hdrs = {"Content-Type": "application/json"}
        hdrs.update(headers or {})
        totals, webapp, matched, statuses, ncalls = [], [], [], set(), []
        cpu0 = None
        for i, body in enumerate(bodies):
            data = json.dumps(body).encode()
            if i == 1:
                cpu0 = server.cpu_seconds()
            self.webapp_calls()  # skip anything logged before
            t0 = time.perf_counter()
            conn.request("POST", path, data, hdrs)
            r = conn.getresponse()
            raw = r.read()
            t1 = time.perf_counter()
            calls = self.webapp_calls()
            if i == 0:
                continue
            statuses.add(r.status)
            totals.append((t1 - t0) * 1e3)
            webapp.append(self.union_seconds(calls) * 1e3)
            ncalls.append(len(calls))
            matched.append(count_answer(json.loads(raw))
                           if r.status == 200 else 0)
            if any(c[2] != 200 for c in calls):
                statuses.add("webapp %s" % sorted({c[2] for c in calls}))
        cpu = (server.cpu_seconds() - cpu0) * 1e3 / (len(bodies) - 1)
        conn.close()

        def median(xs):
            return sorted(xs)[len(xs) // 2]

        last = bodies[-1]
        res = {"total_ms": median(totals), "webapp_ms": median(webapp),
               "own_ms": median([t - w for t, w in zip(totals, webapp)]),
               "cpu_ms": cpu, "calls": max(ncalls), "matched": min(matched),
               "expected": len(last.get("addresses",
                                        last.get("threepids", []))),
               "statuses": statuses, "totals": totals, "webapps": webapp}
        self.bulk[key] = res
        with open(os.path.join(self.raw, "large-%s.json" % key), "w") as f:
            json.dump(dict(res, statuses=sorted(map(str, statuses))), f,
                      indent=1)
        log("%-16s total %7.1f ms  webapp %5.1f ms  own %7.1f ms  "
            "CPU %6.1f ms  matched %d/%d" % (
                key, res["total_ms"], res["webapp_ms"], res["own_ms"], cpu,
                res["matched"], res["expected"]))
        return res

    # -- idle connections

    def idle_memory(self, key, server, port, path):
        rss0, _ = server.memory_kb()
        out_path = os.path.join(self.raw, "idle-%s.txt" % key)
        p = Proc("idle-clients", ["/usr/bin/python3",
                                  os.path.join(BENCH, "idle.py"), str(port),
                                  str(IDLE_CONNECTIONS), path],
                 self.client_cpu, self.tmp, out_path,
                 stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        line = p.proc.stdout.readline().decode().split(None, 3)
        if not line or line[0] != "ready":
            p.stop()
            raise Abort("idle client failed; see %s" % out_path)
        time.sleep(1)  # let the server settle after the last answer
        rss1, hwm = server.memory_kb()
        p.proc.stdin.close()
        p.stop()
        self.idle[key] = {"rss0_kb": rss0, "rss_kb": rss1, "hwm_kb": hwm,
                          "open": int(line[1]), "failed": int(line[2]),
                          "error": line[3].strip() if len(line) > 3 else ""}
        log("%-22s %d open, %d failed: RSS %.1f -> %.1f MB" % (
            key, int(line[1]), int(line[2]), rss0 / 1024, rss1 / 1024))

    # -- scenarios

    def run(self):
        t_start = time.monotonic()
        self.start_webapp()
        sp = self.start_signpost("signpost", self.webapp_port)
        self.check_answers(sp.port, sp.token, sp.pepper, "signpost")
        # The ceiling answers exactly what Signpost answered.
        _, v1_answer = request(sp.port, "GET", v1_path(HIT_ADDRESSES[0]))
        _, v2_answer = request(sp.port, "POST", V2 + "/lookup",
                               v2_body("none", sp.pepper, HIT_ADDRESSES[:1]),
                               bearer(sp.token))
        self.start_reference(json.dumps(v1_answer, separators=(",", ":")),
                             json.dumps(v2_answer, separators=(",", ":")))
        self.run_throughput(sp)
        self.run_large(sp)
        self.run_idle()
        if self.sydent_dir:
            self.run_sydent()
        self.elapsed = time.monotonic() - t_start

    def run_throughput(self, sp):
        # The Signpost whose webapp takes 100 ms, its cache warmed, is
        # measured alongside the first so that both see the same machine.
        slow = self.start_signpost("signpost-slow", self.slow_port)
        self.check_answers(slow.port, slow.token, slow.pepper,
                           "signpost-slow")
        for a in HIT_ADDRESSES:
            request(slow.port, "GET", v1_path(a))
            request(slow.port, "POST", V2 + "/lookup",
                    v2_body("none", slow.pepper, [a]), bearer(slow.token))

        log("load: %d s per run in %d rounds, after %d s of warm-up"
            % (DURATION, ROUNDS, WARMUP))
        hashes = [fixtures.sha256_hash(a, "email", sp.pepper)
                  for a in HIT_ADDRESSES]
        ref, ceil, proxy = self.reference, self.ceil_port, self.proxy_port
        v1_hit = {"kind": "v1", "items": HIT_ADDRESSES}
        v2_hit = {"kind": "v2none", "items": HIT_ADDRESSES}
        sp_auth = {"token": sp.token, "pepper": sp.pepper}
        self.load([
            ("ceil-v1", dict(v1_hit, port=ceil, server=ref)),
            ("sp-v1-hit", dict(v1_hit, port=sp.port, server=sp)),
            ("slow-v1-hit", dict(v1_hit, port=slow.port, server=slow))])
        self.load([
            ("ceil-v2", dict(v2_hit, port=ceil, server=ref, **sp_auth)),
            ("sp-v2none-hit", dict(v2_hit, port=sp.port, server=sp,
                                   **sp_auth)),
            ("slow-v2none-hit", dict(v2_hit, port=slow.port, server=slow,
                                     token=slow.token, pepper=slow.pepper)),
            ("sp-v2sha-hit", dict(kind="v2sha", items=hashes, port=sp.port,
                                  server=sp, **sp_auth))])
        slow.stop()
        self.load([
            ("proxy-v1", dict(kind="v1", miss="p1", port=proxy, server=ref)),
            ("sp-v1-miss", dict(kind="v1", miss="m1", port=sp.port,
                                server=sp))])
        self.load([
            ("proxy-v2", dict(kind="v2none", miss="p2", port=proxy,
                              server=ref, **sp_auth)),
            ("sp-v2none-miss", dict(kind="v2none", miss="m2", port=sp.port,
                                    server=sp, **sp_auth))])

    def run_large(self, sp):
        log("10,000-entry requests")
        auth = {"Authorization": "Bearer " + sp.token}
        v2_path = V2 + "/lookup"
        gens = range(LARGE_REPS + 1)  # the first is the warm-up
        self.large_request(
            "sp-none-miss", sp, v2_path,
            [v2_body("none", sp.pepper, self.gens["n%d" % g]) for g in gens],
            count_mappings, auth)
        self.large_request(
            "sp-none-hit", sp, v2_path,
            [v2_body("none", sp.pepper, self.gens["n%d" % LARGE_REPS])] *
            len(gens), count_mappings, auth)
        self.large_request(
            "sp-bulk-miss", sp, "/_matrix/identity/api/v1/bulk_lookup",
            [{"threepids": [["email", a] for a in self.gens["o%d" % g]]}
             for g in gens],
            lambda b: len(b.get("threepids", [])))
        sha = [fixtures.sha256_hash(fixtures.directory_address(i), "email",
                                    sp.pepper)
               for i in range(fixtures.BULK_SIZE)]
        self.large_request(
            "sp-sha", sp, v2_path,
            [v2_body("sha256", sp.pepper, sha)] * len(gens), count_mappings,
            auth)
        self.results["sp-final"] = {"hwm_kb": sp.memory_kb()[1]}

    def run_idle(self):
        # On a fresh Signpost: the one above keeps what the load runs left
        # in its cache and allocator.
        log("idle connections")
        fresh = self.start_signpost("signpost-idle", self.webapp_port)
        self.idle_memory("signpost", fresh, fresh.port,
                         "/_matrix/identity/versions")
        fresh.stop()
        # The per-connection buffer is server.maxHeaderSize (3 KiB by
        # default): the same with 4 KiB shows what more header room costs.
        roomy = self.start_signpost("signpost-idle-4k", self.webapp_port,
                                    "server.maxHeaderSize: 4096\n")
        self.idle_memory("signpost-4k", roomy, roomy.port,
                         "/_matrix/identity/versions")
        roomy.stop()
        self.idle_memory("nginx", self.reference, self.ceil_port,
                         "/_matrix/identity/versions")

    def run_sydent(self):
        log("sydent from %s" % self.sydent_dir)
        sy = self.start_sydent()
        self.check_answers(sy.port, sy.token, sy.pepper, "sydent")
        self.load([("sydent-v1", dict(port=sy.port, server=sy, kind="v1",
                                      items=HIT_ADDRESSES))])
        # Sydent's v2 lookups scan its association table (a fraction of a
        # second each with 100,000 rows): one round, no warm-up (the v1
        # run has warmed its code), or it would spend minutes on queued
        # requests. Its sha256 lookups are slower still: only the
        # 10,000-hash request below measures them.
        self.load([("sydent-v2none", dict(
            port=sy.port, server=sy, kind="v2none", items=HIT_ADDRESSES,
            token=sy.token, pepper=sy.pepper, rounds=1, warmup=False))])
        auth = {"Authorization": "Bearer " + sy.token}
        addresses = [fixtures.directory_address(i)
                     for i in range(fixtures.BULK_SIZE)]
        hashes = [fixtures.sha256_hash(a, "email", sy.pepper)
                  for a in addresses]
        reps = SYDENT_LARGE_REPS + 1  # the first is the warm-up
        self.large_request(
            "sydent-none", sy, V2 + "/lookup",
            [v2_body("none", sy.pepper, addresses)] * reps, count_mappings,
            auth)
        self.large_request(
            "sydent-sha", sy, V2 + "/lookup",
            [v2_body("sha256", sy.pepper, hashes)] * reps, count_mappings,
            auth)
        sy.stop()


def main():
    signpost_bin = os.environ.get("SIGNPOST_BIN") or os.path.join(
        ROOT, "build", "signpost")
    if not os.access(signpost_bin, os.X_OK):
        sys.exit("bench: no Signpost binary at %s (run bench/run)"
                 % signpost_bin)
    sydent_dir = os.environ.get("SYDENT_DIR") or None
    if sydent_dir:
        sydent_dir = os.path.abspath(sydent_dir)
        check = subprocess.run(
            ["/usr/bin/python3", "-c", "import sydent.sydent"],
            env=dict(os.environ, PYTHONPATH=sydent_dir),
            capture_output=True, text=True)
        if check.returncode != 0:
            sys.exit("bench: SYDENT_DIR=%s: cannot import sydent.sydent:\n%s"
                     % (sydent_dir, check.stderr.strip()[-2000:]))
    else:
        log("SYDENT_DIR not set: the sydent rows are skipped")
    for tool in ("nginx", "wrk", "taskset", "openssl"):
        if shutil.which(tool) is None:
            sys.exit("bench: %s is missing (bench/install-deps.sh installs"
                     " it)" % tool)
    version = subprocess.run([signpost_bin, "-V"], capture_output=True,
                             text=True).stdout.strip() or "?"
    # Which source was measured: the commit, "-dirty" with local changes.
    commit = subprocess.run(["git", "-C", ROOT, "describe", "--always",
                             "--dirty"], capture_output=True,
                            text=True).stdout.strip()
    if commit:
        version += " (%s)" % commit

    tmp = tempfile.mkdtemp(prefix="signpost-bench-")
    # nginx's workers run as nobody when started by root: they must be able
    # to read the prepared answers. Nothing secret lives here.
    os.chmod(tmp, 0o755)
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGALRM):
        signal.signal(s, on_signal)
    signal.alarm(RUN_DEADLINE)
    b = Bench(signpost_bin, sydent_dir, tmp)
    ok = False
    try:
        b.run()
        ok = True
    except Abort as e:
        log("stopped: %s" % e)
    finally:
        signal.alarm(0)
        stop_all()
        # The webapp's prepared answers and sydent's database are big and
        # made anew each run; configs, logs and raw outputs stay.
        shutil.rmtree(b.data, ignore_errors=True)
        for suffix in ("", "-wal", "-shm"):
            path = os.path.join(tmp, "sydent", "sydent.db" + suffix)
            if os.path.exists(path):
                os.unlink(path)
        log("raw outputs and logs: %s" % b.raw)
    if not ok:
        sys.exit(1)
    text = report.markdown(b, version)
    with open(os.path.join(b.raw, "table.md"), "w") as f:
        f.write(text)
    sys.stdout.write(text)

if __name__ == "__main__":
    main()
