"""The load clients: wrk (with a Lua script that varies each request) for the read-only verification pages, and a
small threaded HTTP/1.1 client for everything that needs a login, a CSRF token and a check of each answer.
Whichever client drives a workload also drives its bare-WSGI baseline. Loopback only; every loop is bounded by a
count and a deadline."""
from __future__ import annotations

import http.client
import json
import queue
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
USER_AGENT = "cqo-bench/1"
LUA = Path(__file__).resolve().parent / "lua" / "paths.lua"


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(p / 100 * (len(s) - 1)))))
    return s[k]


@dataclass
class Req:
    method: str
    path: str
    body: bytes | None = None
    headers: dict = field(default_factory=dict)
    tag: object = None  # handed back with the response (what to check afterwards)


@dataclass
class Resp:
    req: Req
    status: int
    body: bytes
    latency: float  # seconds, from the scheduled (or actual) send time to the last byte
    headers: dict = field(default_factory=dict)
    error: str = ""


class Conn:
    """One keep-alive connection; reconnects (once per request) when the server closed it between requests, as
    gunicorn does at keepalive expiry or a worker's max_requests restart. Every workload's requests are idempotent."""

    def __init__(self, port: int, timeout: float = 60):
        self.port, self.timeout, self.c = port, timeout, None

    def send(self, req: Req, t0: float | None = None) -> Resp:
        t0 = time.perf_counter() if t0 is None else t0
        headers = {"User-Agent": USER_AGENT, **req.headers}
        for attempt in (0, 1):
            if self.c is None:
                self.c = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
            try:
                self.c.request(req.method, req.path, body=req.body, headers=headers)
                r = self.c.getresponse()
                body = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.close()
                return Resp(req, r.status, body, time.perf_counter() - t0, dict(r.getheaders()))
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                    http.client.CannotSendRequest, http.client.BadStatusLine) as exc:
                self.close()
                if attempt == 1:
                    return Resp(req, 0, b"", time.perf_counter() - t0, error=type(exc).__name__)
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                return Resp(req, 0, b"", time.perf_counter() - t0, error=type(exc).__name__)
        raise AssertionError("unreachable")

    def close(self):
        if self.c is not None:
            self.c.close()
            self.c = None


def burst(port: int, reqs: list[Req], timeout: float = 120) -> tuple[list[Resp], float]:
    """Every request on its own connection, all released at the same instant (a barrier): the exam bell.
    Returns the responses and the seconds from the release to the last response."""
    out: list[Resp | None] = [None] * len(reqs)
    gate = threading.Barrier(len(reqs) + 1)
    t_release = [0.0]

    def run(i):
        c = Conn(port, timeout)
        c.c = http.client.HTTPConnection(HOST, port, timeout=timeout)
        try:
            c.c.connect()
        except OSError:
            pass
        gate.wait()
        out[i] = c.send(reqs[i], t_release[0] or None)
        c.close()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(reqs))]
    for t in threads:
        t.start()
    t_release[0] = time.perf_counter()
    gate.wait()
    for t in threads:
        t.join(timeout)
    elapsed = time.perf_counter() - t_release[0]
    return [r for r in out if r is not None], elapsed


def closed_loop(port: int, make: "callable", concurrency: int, duration: float, max_requests: int = 10**7) -> tuple[list[Resp], float]:
    """``concurrency`` users each sending the next request as soon as the previous answered, for ``duration``
    seconds (or ``max_requests`` in all). ``make(user_index, n)`` builds a user's n-th request, or None to stop."""
    results: list[list[Resp]] = [[] for _ in range(concurrency)]
    deadline = time.perf_counter() + duration
    counter = [0]
    lock = threading.Lock()

    def run(u):
        c = Conn(port)
        n = 0
        while time.perf_counter() < deadline:
            with lock:
                if counter[0] >= max_requests:
                    break
                counter[0] += 1
            req = make(u, n)
            if req is None:
                break
            results[u].append(c.send(req))
            n += 1
        c.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=run, args=(u,), daemon=True) for u in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration + 120)
    return [r for rs in results for r in rs], time.perf_counter() - t0


def paced(port: int, schedule: list[tuple[float, Req]], concurrency: int = 64) -> tuple[list[Resp], float]:
    """Open loop: each request sent at its offset (seconds from start) by a pool of connections; latency counts
    from the scheduled time, so a server that falls behind shows it (no coordinated omission)."""
    q: queue.Queue = queue.Queue()
    for item in sorted(schedule, key=lambda x: x[0]):
        q.put(item)
    out: list[Resp] = []
    lock = threading.Lock()
    t0 = time.perf_counter()

    def run():
        c = Conn(port)
        while True:
            try:
                offset, req = q.get_nowait()
            except queue.Empty:
                break
            due = t0 + offset
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            r = c.send(req, t0=due)
            with lock:
                out.append(r)
        c.close()

    threads = [threading.Thread(target=run, daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    return out, time.perf_counter() - t0


def summary(resps: list[Resp], elapsed: float, ok=lambda r: 200 <= r.status < 400) -> dict:
    lat = [r.latency for r in resps]
    good = [r for r in resps if ok(r)]
    return {"requests": len(resps), "ok": len(good), "errors": len(resps) - len(good),
            "seconds": round(elapsed, 3), "rps": round(len(good) / elapsed, 1) if elapsed > 0 else 0.0,
            "p50_ms": round(percentile(lat, 50) * 1000, 1), "p95_ms": round(percentile(lat, 95) * 1000, 1),
            "p99_ms": round(percentile(lat, 99) * 1000, 1), "max_ms": round(max(lat, default=0) * 1000, 1),
            "statuses": _count(r.status for r in resps)}


def _count(values) -> dict:
    out: dict = {}
    for v in values:
        out[str(v)] = out.get(str(v), 0) + 1
    return out


# ------------------------------------------------------------------ wrk
def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def wrk(port: int, paths_file: Path, connections: int, duration: int, threads: int = 2) -> dict:
    """Run wrk against ``paths_file`` (one path a line, picked at random per request); p95 from wrk's own
    histogram (``--latency`` prints only a few percentiles, the Lua ``done`` hook prints the rest)."""
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "10s", "-s", str(LUA),
           f"http://{HOST}:{port}/", "--", str(paths_file)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("BENCHJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result: {proc.stdout[-500:]} {proc.stderr[-500:]}")
    d = json.loads(line[len("BENCHJSON "):])
    secs = d["duration_us"] / 1e6
    errors = d["errors_connect"] + d["errors_read"] + d["errors_write"] + d["errors_status"] + d["errors_timeout"]
    return {"requests": d["requests"], "errors": errors, "seconds": round(secs, 2),
            "rps": round((d["requests"] - errors) / secs, 1), "p50_ms": round(d["p50_us"] / 1000, 1),
            "p95_ms": round(d["p95_us"] / 1000, 1), "p99_ms": round(d["p99_us"] / 1000, 1),
            "max_ms": round(d["max_us"] / 1000, 1), "connections": connections, "client": "wrk"}
