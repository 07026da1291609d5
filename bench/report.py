"""The markdown tables bench/bench.py prints: one row per scenario and
reference, each measurement with its ratio to the reference, the target
and whether it was met. docs/performance.md explains the rows."""

import os
import platform
import subprocess

# Issue 5's targets, as ratios or absolute limits.
TARGET_HIT_CEILING = 0.8    # cache-hit req/s ÷ nginx `return 200`
TARGET_MISS_PROXY = 0.8     # cache-miss req/s ÷ nginx `proxy_pass`
TARGET_HIT_SYDENT = 15.0    # cache-hit req/s ÷ sydent
TARGET_SLOW_WEBAPP = 0.8    # cached req/s, 100 ms webapp ÷ fast webapp
TARGET_BULK_OWN_MS = 50.0   # 10,000 addresses, `none`: total − webapp
TARGET_SHA_OWN_MS = 20.0    # 10,000 hashes, `sha256`
TARGET_IDLE_RSS_MB = 64.0   # RSS with 10,000 idle connections


def k(n):
    return "%.1fk" % (n / 1000) if n >= 1000 else "%.0f" % n


def ms(us):
    return "%.2f ms" % (us / 1000)


def ratio(a, b):
    if not b:
        return "—"
    x = a / b
    return "%.0f×" % x if x >= 100 else "%.2f×" % x if x >= 0.1 else \
        "%.2g×" % x


def met(ok):
    return "yes" if ok else "**no**"


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) / 1024 / 1024
    try:
        with open("/etc/debian_version") as f:
            debian = "Debian " + f.read().strip()
    except OSError:
        debian = platform.platform()
    nginx = subprocess.run(["nginx", "-v"], capture_output=True,
                           text=True).stderr.strip().replace(
                               "nginx version: ", "")
    wrk = subprocess.run(["wrk", "-v"], capture_output=True,
                         text=True).stdout.split("\n")[0].split(" [")[0]
    return ("%s, %d CPUs, %.0f GiB; %s, Linux %s; %s, %s"
            % (model, os.cpu_count(), mem, debian, platform.release(),
               nginx, wrk))


CEIL, PROXY = "nginx `return 200`", "nginx `proxy_pass`"

# (key, server, traffic) of every load run, in the order of the tables.
RUNS = (
    ("sp-v1-hit", "Signpost", "v1 lookup, cache hit"),
    ("sp-v2none-hit", "Signpost", "v2 `none` lookup, cache hit"),
    ("sp-v2sha-hit", "Signpost", "v2 `sha256` lookup, 1 hash"),
    ("sp-v1-miss", "Signpost", "v1 lookup, cache miss"),
    ("sp-v2none-miss", "Signpost", "v2 `none` lookup, cache miss"),
    ("slow-v1-hit", "Signpost, 100 ms webapp", "v1 lookup, cache hit"),
    ("slow-v2none-hit", "Signpost, 100 ms webapp",
     "v2 `none` lookup, cache hit"),
    ("ceil-v1", CEIL, "Signpost's v1 answer"),
    ("ceil-v2", CEIL, "Signpost's v2 answer"),
    ("proxy-v1", PROXY, "v1 lookup → webapp single lookup"),
    ("proxy-v2", PROXY, "v2 lookup → webapp bulk lookup"),
    ("sydent-v1", "sydent", "v1 lookup"),
    ("sydent-v2none", "sydent", "v2 `none` lookup"),
)

# (scenario, Signpost's run, reference run, reference name, target).
COMPARISONS = (
    ("v1 lookup, cache hit", "sp-v1-hit", "ceil-v1", CEIL,
     TARGET_HIT_CEILING),
    ("v1 lookup, cache hit", "sp-v1-hit", "sydent-v1", "sydent",
     TARGET_HIT_SYDENT),
    ("v2 `none` lookup, cache hit", "sp-v2none-hit", "ceil-v2", CEIL,
     TARGET_HIT_CEILING),
    ("v2 `none` lookup, cache hit", "sp-v2none-hit", "sydent-v2none",
     "sydent", TARGET_HIT_SYDENT),
    ("v1 lookup, cache miss", "sp-v1-miss", "proxy-v1", PROXY,
     TARGET_MISS_PROXY),
    ("v2 `none` lookup, cache miss", "sp-v2none-miss", "proxy-v2", PROXY,
     TARGET_MISS_PROXY),
    ("v2 `sha256` lookup, 1 hash, from the index", "sp-v2sha-hit",
     "ceil-v2", CEIL, None),
    ("v1 lookup, cache hit, webapp takes 100 ms", "slow-v1-hit",
     "sp-v1-hit", "Signpost, fast webapp", TARGET_SLOW_WEBAPP),
    ("v2 `none` lookup, cache hit, webapp takes 100 ms", "slow-v2none-hit",
     "sp-v2none-hit", "Signpost, fast webapp", TARGET_SLOW_WEBAPP),
)


def problems(run, who, duration):
    """What makes a run's numbers doubtful, in words."""
    out = []
    if run["requests"] == 0:
        out.append("%s finished no request in %d s" % (who, duration))
    elif run["errors"]:
        out.append("%s: %d errors or timeouts" % (who, run["errors"]))
    if run["client_cpu"] > 0.95:
        out.append("wrk used all of its CPU on %s: a higher %s is possible"
                   % (who, "ceiling" if who != "Signpost" else "rate"))
    return out


def throughput(w, R, p):
    w("### Throughput, one address per request")
    w("")
    w("Each cell: Signpost's value (ratio to the reference). Cache hit: ten"
      " directory addresses in turn, after the warm-up. Cache miss: every"
      " request asks for an address never asked before (a counter in the"
      " wrk script), which the webapp binds; the cache stays on.")
    w("")
    w("| scenario | reference | req/s | p50 | p99 | CPU µs/req | RSS MB |"
      " target | met? |")
    w("|---|---|---|---|---|---|---|---|---|")
    for name, key, ref_key, ref_name, target in COMPARISONS:
        s, r = R.get(key), R.get(ref_key)
        if s is None:
            continue
        if r is None:
            if ref_name == "sydent":
                w("| %s | sydent: not run (no SYDENT_DIR) | | | | | | %s |"
                  " not measured |" % (name, "req/s ≥ %g×" % target
                                        if target else "—"))
            continue
        notes = problems(s, "Signpost", p["duration"]) + \
            problems(r, ref_name, p["duration"])
        if target is None:
            verdict = "—"
        elif r["rps"] == 0:
            verdict = met(s["rps"] > 0)
        else:
            verdict = met(s["rps"] / r["rps"] >= target)
        if notes:
            verdict += " (%s)" % "; ".join(notes)
        w("| %s | %s %s | %s (%s) | %s (%s) | %s (%s) | %.1f (%s) |"
          " %.1f (%s) | %s | %s |" % (
              name, ref_name, k(r["rps"]), k(s["rps"]),
              ratio(s["rps"], r["rps"]),
              ms(s["p50_us"]), ratio(s["p50_us"], r["p50_us"]),
              ms(s["p99_us"]), ratio(s["p99_us"], r["p99_us"]),
              s["cpu_us"], ratio(s["cpu_us"], r["cpu_us"]),
              s["rss_kb"] / 1024, ratio(s["rss_kb"], r["rss_kb"]),
              "req/s ≥ %g×" % target if target else "—", verdict))
    w("")


def large(w, L, p):
    w("### 10,000 addresses in one request")
    w("")
    w("Median of %d requests, one at a time, after one warm-up request."
      " Webapp: the time during which at least one of Signpost's calls to"
      " the fake webapp was in progress (nginx's `$msec` and"
      " `$request_time`, 1 ms resolution: each 1,000-address chunk takes"
      " nginx well under 1 ms). Own: total minus webapp. Every cache-miss"
      " request asks for 10,000 addresses never asked before, of the"
      " Signpost that served the load runs (its cache full)." %
      p["large_reps"])
    w("")
    w("| request | total | webapp | Signpost's own | CPU ms/req | matched |"
      " sydent total | target | met? |")
    w("|---|---|---|---|---|---|---|---|---|")
    for name, key, sydent_key, target in (
            ("v2 `none`, every address new (cache miss)", "sp-none-miss",
             "sydent-none", TARGET_BULK_OWN_MS),
            ("v2 `none`, the same 10,000 again (cached)", "sp-none-hit",
             None, None),
            ("v1 `bulk_lookup`, every address new", "sp-bulk-miss", None,
             None),
            ("v2 `sha256`, 10,000 hashes from the index", "sp-sha",
             "sydent-sha", TARGET_SHA_OWN_MS)):
        s = L.get(key)
        if s is None:
            continue
        y = L.get(sydent_key) if sydent_key else None
        bad = bool(s["statuses"] - {200}) or s["matched"] != s["expected"]
        verdict = "—" if target is None else \
            met(s["own_ms"] < target and not bad)
        if bad:
            verdict += " (answers %s, %d of %d matched)" % (
                sorted(map(str, s["statuses"])), s["matched"], s["expected"])
        syd = "%.0f ms (%s)" % (y["total_ms"], ratio(
            s["total_ms"], y["total_ms"])) if y else "—"
        w("| %s | %.1f ms | %.1f ms (%d calls) | %.1f ms | %.1f | %d/%d |"
          " %s | %s | %s |"
          % (name, s["total_ms"], s["webapp_ms"], s["calls"], s["own_ms"],
             s["cpu_ms"],
             s["matched"], s["expected"], syd,
             "own < %g ms" % target if target else "—", verdict))
    w("")


def idle(w, b, p):
    w("### Memory with %d idle keep-alive connections" % p["idle"])
    w("")
    w("Each connection made one request (`GET /_matrix/identity/versions`)"
      " and stays open; RSS is read a second after the last one opened, on"
      " a Signpost started for this (its index built, its cache empty).")
    w("")
    w("| server | connections open | RSS before | RSS with them open |"
      " added per connection | target | met? |")
    w("|---|---|---|---|---|---|---|")
    for key, name, target in (
            ("signpost", "Signpost (default `server.maxHeaderSize: 3072`)",
             TARGET_IDLE_RSS_MB),
            ("signpost-4k", "Signpost, `server.maxHeaderSize: 4096`",
             None),
            ("nginx", "nginx (reference)", None)):
        i = b.idle.get(key)
        if not i:
            continue
        complete = i["open"] == p["idle"]
        verdict = "—" if target is None else \
            met(complete and i["rss_kb"] / 1024 < target)
        if not complete:
            verdict += " (%d failed: %s)" % (i["failed"], i["error"])
        w("| %s | %d | %.1f MB | %.1f MB | %.1f KB | %s | %s |" % (
            name, i["open"], i["rss0_kb"] / 1024, i["rss_kb"] / 1024,
            (i["rss_kb"] - i["rss0_kb"]) / max(i["open"], 1),
            "< %g MB" % target if target else "—", verdict))
    w("")
    if "sp-final" in b.results:
        w("Peak RSS (VmHWM) of the Signpost that served the load runs and"
          " the 10,000-address requests, its cache full of misses: %.1f MB."
          % (b.results["sp-final"]["hwm_kb"] / 1024))
        w("")


def every_run(w, R):
    w("### Every load run")
    w("")
    w("| server | traffic | req/s | rounds | p50 | p99 | CPU µs/req |"
      " RSS MB | webapp CPU µs/req | wrk CPU | errors |")
    w("|---|---|---|---|---|---|---|---|---|---|---|")
    for key, name, traffic in RUNS:
        r = R.get(key)
        if r:
            w("| %s | %s | %s | %s | %s | %s | %.1f | %.1f | %.1f | %.0f%% |"
              " %d |" % (name, traffic, k(r["rps"]),
                         " / ".join(k(x) for x in r["rounds_rps"]),
                         ms(r["p50_us"]), ms(r["p99_us"]), r["cpu_us"],
                         r["rss_kb"] / 1024, r["webapp_us"],
                         r["client_cpu"] * 100, r["errors"]))
    w("")


def markdown(b, signpost_version):
    out, p = [], b.params
    w = out.append
    w("## Signpost benchmark")
    w("")
    w("Machine: %s. Measured: `%s`." % (machine(), signpost_version))
    if b.server_cpu is not None:
        w("Servers (Signpost, its webapp, nginx, sydent) pinned to CPU %d,"
          " clients (wrk, Python) to CPU %d; Signpost `server.threads: 1`,"
          " nginx one worker." % (b.server_cpu, b.client_cpu))
    else:
        w("Nothing pinned (fewer than 2 CPUs, or BENCH_PIN=0): Signpost"
          " one thread per CPU, nginx one worker per CPU.")
    w("wrk: 1 thread, %d connections. Each run: %d s of warm-up, then %d s"
      " measured in %d rounds interleaved with the runs it is compared"
      " with; the round with the most req/s is kept (all rounds under"
      " \"Every load run\"). Ratios are Signpost ÷ reference: above 1 is"
      " better for req/s, below 1 is better for latency, CPU and memory." % (
          p["connections"], p["warmup"], p["duration"], p["rounds"]))
    w("")
    throughput(w, b.results, p)
    large(w, b.bulk, p)
    idle(w, b, p)
    every_run(w, b.results)
    w("Whole run: %.0f s." % b.elapsed)
    return "\n".join(out) + "\n"
