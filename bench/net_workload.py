"""Workload 8 of bench/run: network servers (bench/README.md, "Workload 8").

Every server runs as a fresh process per measurement: bench/run starts it
with HOST PORT = 127.0.0.1 0, reads the port from its first stdout line
("listening 127.0.0.1 PORT"), loads it with bench/net_client (echo servers)
or wrk (HTTP servers), and stops it with SIGTERM (SIGKILL after 5 s). The
load client reads the server's CPU time from /proc over its timed part, so
the figure compared is the server's CPU per operation: on a 2-core machine
the client and the server share the cores, and throughput is mostly the
client's.

One round = every measurement below, each over every server in turn; the
server order rotates by one each round (A B C, B C A, ...). Ratios to the
reference server (the floor, or libuv) are taken round by round, and the
tables give each round's ratio beside the median.

    c100      C=100 connections, 64-byte ping-pong
    c1-same   C=1, client and server pinned to the same CPU
    c1-diff   C=1, client and server on different CPUs
    stream    one connection, 1 GiB echoed in 64 KiB writes
    idle      10,000 idle connections: the server's RSS growth
    http      wrk -t1 -c100 against the HTTP servers

Then, once per server and outside the timed runs (perf's tracepoint costs
the server time), the server's system calls per round trip / request with
`perf stat -e raw_syscalls:sys_enter` ("–" when perf cannot count here).
"""
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import time

HOST = "127.0.0.1"
IDLE_CONNS = 10000
GIB = 1 << 30


def log(*a):
    import sys
    print(*a, file=sys.stderr, flush=True)


# ------------------------------------------------------------- servers --
class Server:
    """A system under test: argv without HOST PORT."""

    def __init__(self, system, kind, argv, shown):
        self.system, self.kind, self.argv, self.shown = system, kind, argv, shown


def find_servers(root, build, bin_dir, py):
    """(echo servers, HTTP servers) present on this machine. libaio's are
    build-bench/examples/echo_server and http_hello (or the paths in
    $AIO_BENCH_ECHO_SERVER / $AIO_BENCH_HTTP_SERVER) when they exist."""
    echo, http = [], []

    def exe(path):
        return path and os.path.isfile(path) and os.access(path, os.X_OK)

    def rel(path):
        return os.path.relpath(path, root) if path.startswith(root) else path

    aio_echo = os.environ.get("AIO_BENCH_ECHO_SERVER") or os.path.join(build, "examples", "echo_server")
    aio_http = os.environ.get("AIO_BENCH_HTTP_SERVER") or os.path.join(build, "examples", "http_hello")
    if exe(aio_echo):
        echo.append(Server("libaio streams", "echo", [aio_echo], rel(aio_echo)))
    for name, system, lst, kind in (("floor_echo", "floor", echo, "echo"), ("uv_echo", "libuv", echo, "echo"),
                                    ("ev_echo", "libev", echo, "echo")):
        path = os.path.join(bin_dir, name)
        if exe(path):
            lst.append(Server(system, kind, [path], rel(path)))
    peer = os.path.join(root, "bench", "peers", "asyncio_net.py")
    if exe(py) and subprocess.run([py, "-c", "import uvloop"], capture_output=True).returncode == 0:
        for loop in ("asyncio", "uvloop"):
            for kind, label in (("streams", "streams"), ("protocol", "Protocol")):
                echo.append(Server("%s %s" % (loop, label), "echo", [py, peer, loop, kind],
                                   "python3 bench/peers/asyncio_net.py %s %s" % (loop, kind)))
    if exe(aio_http):
        http.append(Server("libaio", "http", [aio_http], rel(aio_http)))
    for name, system in (("floor_http", "floor"), ("uv_http", "libuv")):
        path = os.path.join(bin_dir, name)
        if exe(path):
            http.append(Server(system, "http", [path], rel(path)))
    if exe(py) and subprocess.run([py, "-c", "import uvloop"], capture_output=True).returncode == 0:
        for loop in ("asyncio", "uvloop"):
            http.append(Server("%s Protocol" % loop, "http", [py, peer, loop, "http"],
                               "python3 bench/peers/asyncio_net.py %s http" % loop))
    return echo, http


RUNNING = []  # every server process started and not yet stopped


def _child_setup(cpu):
    """In the server's (or client's) process before exec: its CPU, and room
    for IDLE_CONNS sockets (soft RLIMIT_NOFILE up to the hard one; the hard
    one too when root)."""
    def setup():
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})
        need = IDLE_CONNS + 256
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard != resource.RLIM_INFINITY and hard < need:
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (need, need))
                return
            except (ValueError, OSError):
                pass
        if soft != hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return setup


class Running:
    """A started server (context manager: stopped on exit, errors included)."""

    def __init__(self, server, cpu):
        self.server = server
        self.err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(server.argv + [HOST, "0"], stdout=subprocess.PIPE, stderr=self.err,
                                     stdin=subprocess.DEVNULL, preexec_fn=_child_setup(cpu))
        RUNNING.append(self)
        self.port = self._read_port()

    def _read_port(self):
        box = []
        t = threading.Thread(target=lambda: box.append(self.proc.stdout.readline()), daemon=True)
        t.start()
        t.join(15)
        line = box[0].decode(errors="replace").split() if box else []
        if len(line) < 3 or line[0] != "listening" or not line[-1].isdigit():
            self.stop()
            raise RuntimeError("%s did not print 'listening HOST PORT' (got %r)%s" %
                               (self.server.shown, " ".join(line), self.stderr_tail()))
        # Keep reading its stdout so that a chatty server never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()
        return int(line[-1])

    def stderr_tail(self):
        self.err.seek(0)
        tail = self.err.read()[-1500:].decode(errors="replace").strip()
        return ("\n" + tail) if tail else ""

    def stop(self):
        """SIGTERM, then SIGKILL after 5 s. Returns the exit status."""
        if self in RUNNING:
            RUNNING.remove(self)
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                log("bench/run: %s ignored SIGTERM for 5 s: killed" % self.server.shown)
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        rc = self.stop()
        if exc[0] is None and rc not in (0, -signal.SIGTERM):
            log("bench/run: %s exited with %s on SIGTERM (expected 0)%s" %
                (self.server.shown, rc, self.stderr_tail()))
        self.err.close()
        return False


def stop_all():
    for r in list(RUNNING):
        try:
            r.stop()
        except Exception:  # keep stopping the others
            pass


# ---------------------------------------------------------- measuring --
def proc_cpu_ns(pid):
    """CPU ns of every live thread of pid (schedstat), as net_client reads it."""
    total = 0
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                    total += int(f.read().split()[0])
            except OSError:
                pass
    except OSError:
        return None
    return total


def run_client(bin_dir, srv, args, cpu, timeout=900):
    """net_client against a running server: its JSON line, or None."""
    cmd = [os.path.join(bin_dir, "net_client"), "-p", str(srv.proc.pid), "-l", srv.server.system] + args
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, preexec_fn=_child_setup(cpu))
    except subprocess.TimeoutExpired:
        log("bench/run: TIMEOUT net_client %s against %s" % (" ".join(args), srv.server.shown))
        return None
    if p.returncode != 0:
        log("bench/run: net_client %s against %s failed:\n%s%s" %
            (" ".join(args), srv.server.shown, p.stderr.strip()[-1000:], srv.stderr_tail()))
        return None
    for line in p.stdout.splitlines():
        if line.startswith("{"):
            return json.loads(line)
    return None


WRK_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def parse_wrk(out):
    d = {}
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
    if m:
        d["requests"] = int(m.group(1))
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if m:
        d["ops_per_s"] = float(m.group(1))
    m = re.search(r"Latency\s+([\d.]+)(us|ms|s)\b", out)
    if m:
        d["latency_avg_ms"] = float(m.group(1)) * WRK_UNITS[m.group(2)]
    errors = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        errors += sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        errors += int(m.group(1))
    d["errors"] = errors
    return d


def run_wrk(srv, seconds, cpu, count_syscalls=False):
    """wrk -t1 -c100 against a running HTTP server, the server's CPU read
    around it: a row dict, or None."""
    url = "http://%s:%d/" % (HOST, srv.port)
    cmd = ["wrk", "-t1", "-c100", "-d%ds" % seconds, url]
    perf = None
    if count_syscalls:
        perf = subprocess.Popen(["perf", "stat", "-x,", "-e", "raw_syscalls:sys_enter", "-p", str(srv.proc.pid)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)  # attached by then; the server is idle meanwhile
    c0, t0 = proc_cpu_ns(srv.proc.pid), time.monotonic()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60,
                           preexec_fn=_child_setup(cpu))
    except subprocess.TimeoutExpired:
        p = None
    c1, t1 = proc_cpu_ns(srv.proc.pid), time.monotonic()
    calls = None
    if perf:
        perf.send_signal(signal.SIGINT)
        err = perf.communicate(timeout=30)[1]
        for line in err.splitlines():
            if ",raw_syscalls:sys_enter" in line and line.split(",")[0].isdigit():
                calls = int(line.split(",")[0])
    if p is None or p.returncode != 0:
        log("bench/run: wrk against %s failed%s" % (srv.server.shown, srv.stderr_tail()))
        return None
    d = parse_wrk(p.stdout)
    if not d.get("requests"):
        log("bench/run: wrk output not understood:\n" + p.stdout[-500:])
        return None
    d.update({"workload": "net", "system": srv.server.system, "variant": "http-wrk-c100", "seconds": seconds})
    if c0 is not None and c1 is not None:
        d["server_cpu_ns_per_op"] = (c1 - c0) / d["requests"]
        d["server_cpu_pct"] = 100.0 * (c1 - c0) / 1e9 / (t1 - t0)
    if calls is not None:
        d["syscalls_per_op"] = calls / d["requests"]
    return d


# ---------------------------------------------------------------- plan --
def sizes(quick):
    if quick:
        return {"c100_rounds": 1000, "c1_rounds": 5000, "stream_bytes": GIB // 4, "wrk_s": 2,
                "sys_rounds": 300, "sys_wrk_s": 1, "idle_every_round": False}
    return {"c100_rounds": 10000, "c1_rounds": 100000, "stream_bytes": GIB, "wrk_s": 10,
            "sys_rounds": 2000, "sys_wrk_s": 3, "idle_every_round": True}


def placements(pin_choice, pick_cpu):
    """(server CPU, client CPU on another one, probe) or (None, None, {})."""
    allowed = sorted(os.sched_getaffinity(0))
    if pin_choice == "none" or len(allowed) < 2:
        return None, None, {}
    cpu, probe = pick_cpu(pin_choice)
    if cpu is None:
        return None, None, {}
    return cpu, next(c for c in allowed if c != cpu), probe


def measurements(z, pinned):
    """[(key, title, kind, client args or wrk seconds, server on, client on)]
    with "S"/"O" meaning the server's CPU / the other CPU."""
    m = [("c100", "C=100 connections, 64 B ping-pong (%s round trips each)" % f"{z['c100_rounds']:,}",
          "echo", ["pingpong", None, "100", str(z["c100_rounds"]), "64"], "S", "O")]
    if pinned:
        m.append(("c1-same", "C=1, 64 B ping-pong, client and server on the same CPU (%s round trips)"
                  % f"{z['c1_rounds']:,}", "echo", ["pingpong", None, "1", str(z["c1_rounds"]), "64"], "S", "S"))
        m.append(("c1-diff", "C=1, 64 B ping-pong, client and server on different CPUs (%s round trips)"
                  % f"{z['c1_rounds']:,}", "echo", ["pingpong", None, "1", str(z["c1_rounds"]), "64"], "S", "O"))
    else:
        m.append(("c1", "C=1, 64 B ping-pong, unpinned (%s round trips)" % f"{z['c1_rounds']:,}", "echo",
                  ["pingpong", None, "1", str(z["c1_rounds"]), "64"], "S", "O"))
    m.append(("stream", "one connection streaming %s MiB (64 KiB writes, echo read back at once)"
              % f"{z['stream_bytes'] >> 20:,}", "echo", ["stream", None, str(z["stream_bytes"])], "S", "O"))
    m.append(("idle", "memory for %s idle connections (server RSS growth)" % f"{IDLE_CONNS:,}", "echo",
              ["idle", None, str(IDLE_CONNS)], "S", "O"))
    m.append(("http", "HTTP keep-alive, wrk -t1 -c100 -d%ds" % z["wrk_s"], "http", z["wrk_s"], "S", "O"))
    return m


def run(bin_dir, root, build, py, quick, rounds, pin_choice, pick_cpu):
    """Runs workload 8. Returns (results, info): results[key][system] =
    list of row dicts (each with "round"); info has the plan's facts."""
    echo, http = find_servers(root, build, bin_dir, py)
    have_client = os.access(os.path.join(bin_dir, "net_client"), os.X_OK)
    if not have_client or not echo:
        log("bench/run: 8. network: net_client or the echo servers are not built: skipped")
        return {}, {}
    if not shutil.which("wrk"):
        log("bench/run: 8. network: wrk is not installed: no HTTP rows (apt-get install wrk)")
        http = []
    z = sizes(quick)
    scpu, ocpu, probe = placements(pin_choice, pick_cpu)
    where = {"S": scpu, "O": ocpu}
    plan = measurements(z, scpu is not None)
    info = {"sizes": z, "server_cpu": scpu, "client_cpu": ocpu, "probe": probe, "rounds": rounds,
            "servers": [(s.system, s.kind, s.shown) for s in echo + http], "titles": {}}
    log("bench/run: 8. network (%d echo and %d HTTP servers x %d rounds)%s" %
        (len(echo), len(http), rounds, "; servers on CPU %s, clients on CPU %s" % (scpu, ocpu)
         if scpu is not None else ""))
    results = {}
    # SIGTERM to bench/run unwinds like Ctrl-C, so the finally below stops the servers.
    old_term = signal.signal(signal.SIGTERM, _interrupted)
    try:
        for r in range(rounds):
            for key, title, kind, what, s_on, c_on in plan:
                info["titles"][key] = title
                if key == "idle" and r > 0 and not z["idle_every_round"]:
                    continue
                servers = echo if kind == "echo" else http
                for s in servers[r % len(servers):] + servers[:r % len(servers)] if servers else []:
                    if kind == "echo":
                        row = measure(s, where[s_on], lambda srv: run_client(
                            bin_dir, srv, [a if a is not None else "%s:%d" % (HOST, srv.port) for a in what],
                            where[c_on]))
                    else:
                        row = measure(s, where[s_on], lambda srv: run_wrk(srv, what, where[c_on]))
                    if row:
                        row["round"] = r
                        results.setdefault(key, {}).setdefault(s.system, []).append(row)
            log("bench/run:   round %d of %d done" % (r + 1, rounds))
        # System calls: once per server, perf attached, not a timed run.
        if shutil.which("perf"):
            for s in echo:
                row = measure(s, scpu, lambda srv: run_client(bin_dir, srv, [
                    "-y", "pingpong", "%s:%d" % (HOST, srv.port), "100", str(z["sys_rounds"]), "64"], ocpu))
                if row and row.get("syscalls_per_op") is not None:
                    results.setdefault("syscalls", {})[s.system] = row["syscalls_per_op"]
            for s in http:
                row = measure(s, scpu, lambda srv: run_wrk(srv, z["sys_wrk_s"], ocpu, count_syscalls=True))
                if row and row.get("syscalls_per_op") is not None:
                    results.setdefault("http_syscalls", {})[s.system] = row["syscalls_per_op"]
    finally:
        stop_all()
        signal.signal(signal.SIGTERM, old_term)
    return results, info


def _interrupted(signum, frame):
    raise KeyboardInterrupt


def measure(server, cpu, load):
    """Starts a fresh `server` on `cpu`, runs load(running server), stops
    it. Returns load's row, or None if the server would not start."""
    try:
        with Running(server, cpu) as srv:
            return load(srv)
    except RuntimeError as e:
        log("bench/run: " + str(e))
        return None


CG_ROUNDS = (10000, 30000)  # C=1 round trips of the two callgrind runs
CG_SYSTEMS = ("libaio streams", "floor", "libuv", "libev")  # C servers: Python's would count the interpreter


def callgrind_rows(root, build, bin_dir):
    """The echo servers' user-space instructions per round trip (C=1, 64 B)
    under callgrind: (Ir(30,000) - Ir(10,000)) / 20,000, so start-up, the
    accept and the shutdown cancel out. Deterministic, unlike the CPU
    figures (which the kernel dominates): the stream layer's own cost,
    comparable across commits. Rows: (name, instructions, command)."""
    if not shutil.which("valgrind") or not os.access(os.path.join(bin_dir, "net_client"), os.X_OK):
        return []
    echo, _ = find_servers(root, build, bin_dir, None)
    rows = []
    old_term = signal.signal(signal.SIGTERM, _interrupted)  # as run(): a SIGTERM stops the servers too
    try:
        _callgrind_servers(echo, bin_dir, rows)
    finally:
        stop_all()
        signal.signal(signal.SIGTERM, old_term)
    return rows


def _callgrind_servers(echo, bin_dir, rows):
    for s in echo:
        if s.system not in CG_SYSTEMS:
            continue
        irs = []
        for n in CG_ROUNDS:
            with tempfile.NamedTemporaryFile(prefix="aio-cg-", suffix=".log") as logf:
                vg = Server(s.system, s.kind, ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                                               "--log-file=" + logf.name] + s.argv, "valgrind " + s.shown)
                row = measure(vg, None, lambda srv: run_client(bin_dir, srv, ["pingpong", "%s:%d" % (HOST, srv.port),
                                                                              "1", str(n), "64"], None))
                m = re.search(r"Collected : (\d+)", open(logf.name).read())
                if row and not m:
                    log("bench/run: callgrind gave no count for %s (%d round trips)" % (s.shown, n))
                irs.append(int(m.group(1)) if row and m else None)
        if None not in irs:
            rows.append(("echo round trip, server side, C=1 64 B: %s" % s.system,
                         (irs[1] - irs[0]) / (CG_ROUNDS[1] - CG_ROUNDS[0]), "%s (net_client pingpong)" % s.shown))


# -------------------------------------------------------------- tables --
def med(rows, field):
    vals = [r[field] for r in rows if r.get(field) is not None]
    return statistics.median(vals) if vals else None


def fmt(x, digits=None):
    if x is None:
        return "–"
    if digits is None:
        digits = 0 if abs(x) >= 100 else (1 if abs(x) >= 10 else 2)
    return f"{x:,.{digits}f}"


def spread(rows, field, scale=1.0, digits=None):
    vals = [r[field] * scale for r in rows if r.get(field) is not None]
    if not vals:
        return "–"
    return "**%s** (%s–%s)" % (fmt(statistics.median(vals), digits), fmt(min(vals), digits),
                                fmt(max(vals), digits))


def per_round(rows, ref_rows, field):
    """(median of the per-round ratios, "r1 / r2 / ..."), rounds where both ran."""
    ref = {r["round"]: r.get(field) for r in ref_rows}
    ratios = [r[field] / ref[r["round"]] for r in sorted(rows, key=lambda r: r["round"])
              if r.get(field) is not None and ref.get(r["round"])]
    if not ratios:
        return None, "–"
    return statistics.median(ratios), " / ".join("%.2f" % x for x in ratios)


ORDER = ["libaio streams", "libaio", "floor", "libuv", "libev", "asyncio streams", "asyncio Protocol",
         "uvloop streams", "uvloop Protocol"]


def ordered(d):
    return sorted(d.items(), key=lambda kv: ORDER.index(kv[0]) if kv[0] in ORDER else 99)


def tables(results, info):
    """Markdown lines for workload 8, and the ratios libaio is judged by."""
    if not results:
        return [], []
    L = []
    titles = info["titles"]
    sysc, hsysc = results.get("syscalls", {}), results.get("http_syscalls", {})
    for key in ("c100", "c1-same", "c1-diff", "c1"):
        rows = results.get(key)
        if not rows:
            continue
        ref_name, field, what = ("floor", "server_cpu_ns_per_op", "server CPU per round trip") \
            if key == "c100" else ("libuv", "p50_us", "p50 latency")
        sys_col = key == "c100"  # system calls were counted at C=100
        L += ["#### %s" % titles[key], "",
              "| server | round trips/s | p50 µs | p99 µs | p99.9 µs | server CPU µs/rt | server CPU % | "
              "client CPU % |" + (" syscalls/rt |" if sys_col else "") + " %s × %s | per round | runs |"
              % (what, ref_name), "|---" * (11 + sys_col) + "|"]
        for system, rs in ordered(rows):
            ratio, rounds = per_round(rs, rows.get(ref_name, []), field)
            cells = [system, spread(rs, "ops_per_s"),
                     fmt(med(rs, "p50_us")) if sys_col else spread(rs, "p50_us", digits=1),
                     fmt(med(rs, "p99_us")), fmt(med(rs, "p999_us")), spread(rs, "server_cpu_ns_per_op", 1e-3),
                     fmt(med(rs, "server_cpu_pct"), 0), fmt(med(rs, "client_cpu_pct"), 0)]
            if sys_col:
                cells.append(fmt(sysc.get(system)))
            cells += [fmt(ratio), rounds, str(len(rs))]
            L.append("| " + " | ".join(cells) + " |")
        L.append("")
    rows = results.get("stream")
    if rows:
        L += ["#### %s" % titles["stream"], "",
              "| server | MB/s (10^6 B/s) | server CPU s per GiB | server CPU % | client CPU % | "
              "CPU × floor | per round | runs |", "|---|---|---|---|---|---|---|---|"]
        for system, rs in ordered(rows):
            ratio, rounds = per_round(rs, rows.get("floor", []), "server_cpu_s_per_gib")
            L.append("| %s | %s | %s | %s | %s | %s | %s | %d |" % (
                system, spread(rs, "mb_per_s"), spread(rs, "server_cpu_s_per_gib", digits=3),
                fmt(med(rs, "server_cpu_pct"), 0), fmt(med(rs, "client_cpu_pct"), 0), fmt(ratio), rounds,
                len(rs)))
        L.append("")
    rows = results.get("idle")
    if rows:
        L += ["#### %s" % titles["idle"], "",
              "| server | RSS growth MiB | bytes per connection | × libuv | per round | runs |",
              "|---|---|---|---|---|---|"]
        for system, rs in ordered(rows):
            ratio, rounds = per_round(rs, rows.get("libuv", []), "bytes_per_conn")
            L.append("| %s | %s | %s | %s | %s | %d |" % (
                system, fmt(med(rs, "rss_delta_bytes") / 1048576, 1), spread(rs, "bytes_per_conn"),
                fmt(ratio), rounds, len(rs)))
        L.append("")
    rows = results.get("http")
    if rows:
        L += ["#### %s" % titles["http"], "",
              "| server | requests/s | wrk avg latency ms | server CPU µs/request | server CPU % | syscalls/request "
              "| CPU × libuv | per round | CPU × raw responder | per round | errors | runs |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for system, rs in ordered(rows):
            r_uv, pr_uv = per_round(rs, rows.get("libuv", []), "server_cpu_ns_per_op")
            r_fl, pr_fl = per_round(rs, rows.get("floor", []), "server_cpu_ns_per_op")
            L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d | %d |" % (
                system, spread(rs, "ops_per_s"), fmt(med(rs, "latency_avg_ms")),
                spread(rs, "server_cpu_ns_per_op", 1e-3), fmt(med(rs, "server_cpu_pct"), 0),
                fmt(hsysc.get(system)), fmt(r_uv), pr_uv, fmt(r_fl), pr_fl, sum(r["errors"] for r in rs),
                len(rs)))
        L.append("")
    return L, libaio_ratios(results)


def libaio_ratios(results):
    """The issue's ratios for libaio's servers, when they ran:
    [(figure, median ratio, per round)]."""
    out = []

    def add(label, key, system, ref, field):
        rows = results.get(key, {})
        if system in rows and ref in rows:
            ratio, rounds = per_round(rows[system], rows[ref], field)
            if ratio is not None:
                out.append((label, ratio, rounds))

    add("C=100 64 B: server CPU per round trip × floor", "c100", "libaio streams", "floor",
        "server_cpu_ns_per_op")
    add("C=1: p50 latency × libuv, same CPU", "c1-same", "libaio streams", "libuv", "p50_us")
    add("C=1: p50 latency × libuv, different CPUs", "c1-diff", "libaio streams", "libuv", "p50_us")
    add("C=1: p50 latency × libuv (unpinned)", "c1", "libaio streams", "libuv", "p50_us")
    add("1 GiB stream: server CPU × floor", "stream", "libaio streams", "floor", "server_cpu_s_per_gib")
    add("HTTP keep-alive: server CPU per request × libuv", "http", "libaio", "libuv", "server_cpu_ns_per_op")
    add("HTTP keep-alive: server CPU per request × raw responder", "http", "libaio", "floor",
        "server_cpu_ns_per_op")
    add("10,000 idle connections: RSS growth × libuv", "idle", "libaio streams", "libuv", "bytes_per_conn")
    return out


def section(results, info):
    """The whole workload-8 section for docs/benchmarks.md (markdown lines)."""
    L, ratios = tables(results, info)
    if not L:
        return []
    z = info["sizes"]
    head = ["## 8. Network servers", "",
            "Each measurement is a fresh server process (`HOST PORT` = `127.0.0.1 0`) loaded by "
            "`build-bench/bench/net_client` (echo) or `wrk` (HTTP); %d round(s), the servers in rotated order "
            "each round, medians with min–max; the ratios are taken round by round (\"per round\"). "
            "**Server CPU per operation is the figure that counts**: client and server share 2 cores, so "
            "throughput is mostly the client's. System calls per operation come from a separate run with "
            "`perf stat -e raw_syscalls:sys_enter` attached (C=100, %s round trips per connection; wrk %d s)."
            % (info["rounds"], f"{z['sys_rounds']:,}", z["sys_wrk_s"]), ""]
    if info.get("server_cpu") is not None:
        head += ["Servers pinned to CPU %d (the faster in a probe: %s), clients to CPU %d, except in the "
                 "\"same CPU\" rows." % (info["server_cpu"], ", ".join("CPU %d %.0f ns" % kv for kv in
                                                                      sorted(info["probe"].items())) or "–",
                                         info["client_cpu"]), ""]
    head += ["Servers: " + "; ".join("%s (%s): `%s HOST PORT`" % (s, k, cmd) for s, k, cmd in info["servers"])
             + ". Client: `net_client -p SERVER_PID pingpong 127.0.0.1:PORT C R 64`, "
             "`net_client -p PID stream 127.0.0.1:PORT %d`, `net_client -p PID idle 127.0.0.1:PORT %d`; "
             "`wrk -t1 -c100 -d%ds http://127.0.0.1:PORT/`." % (z["stream_bytes"], IDLE_CONNS, z["wrk_s"]), ""]
    if ratios:
        head += ["libaio's servers against the network targets: median of the per-round ratios, and each round's:",
                 "", "| figure | ratio | per round |", "|---|---|---|"]
        head += ["| %s | **%.2f** | %s |" % (label, r, rounds) for label, r, rounds in ratios] + [""]
    else:
        head += ["No libaio rows: `build-bench/examples/echo_server` and `http_hello` were not built "
                 "(bench/README.md, workload 8).", ""]
    return head + L
