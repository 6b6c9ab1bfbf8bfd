"""Two app hosts on one machine (issue 21): Redis, two gunicorns with the project's gunicorn.conf.py and separate
instance folders (as two machines would have: their own uploads folder, their own copy of the signing keys), and
nginx in front with one upstream of both. Used by tests/web/test_multihost_two_hosts.py and ``python -m
bench.multihost``. Every process is started here and stopped here, by its own pid; ports are free ones on 127.0.0.1.

nginx adds ``X-Upstream`` (which host answered) to every response, and routes a request carrying ``X-LMS-Host: a``
or ``b`` to that host alone, so a test can say "log in on one, continue on the other"; without the header the
upstream balances round-robin like production.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
REDIS = shutil.which("redis-server") or ("/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nginx_config(work: Path, port: int, hosts: dict[str, int]) -> str:
    """A minimal nginx in front of the hosts: one upstream of all, one per host for the X-LMS-Host header."""
    temp = {n: work / f"nginx-{n}" for n in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for p in temp.values():
        p.mkdir(exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""
    ups = "".join(f"    upstream lms_{name} {{ server 127.0.0.1:{p}; }}\n" for name, p in hosts.items())
    every = "".join(f"server 127.0.0.1:{p}; " for p in hosts.values())
    routes = "".join(f"        {name} lms_{name};\n" for name in hosts)
    return f"""{user}daemon off;
worker_processes 1;
pid {work / 'nginx.pid'};
error_log {work / 'nginx-error.log'} warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {temp['client_body']};
    proxy_temp_path {temp['proxy']};
    fastcgi_temp_path {temp['fastcgi']};
    uwsgi_temp_path {temp['uwsgi']};
    scgi_temp_path {temp['scgi']};
    client_max_body_size 64m;
    upstream lms_hosts {{ {every}keepalive 32; }}
{ups}    map $http_x_lms_host $lms_upstream {{
        default lms_hosts;
{routes}    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://$lms_upstream;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_next_upstream off;
            add_header X-Upstream $upstream_addr always;
        }}
    }}
}}
"""


@dataclass
class Cluster:
    """Redis + hosts a and b + nginx. ``env`` is what both hosts share (DATABASE_URL, secrets, PUBLIC_BASE_URL…);
    ``keys`` is a signing-key folder copied into each host's instance folder."""

    work: Path
    env: dict
    keys: Path | None = None
    target: str = "wsgi:app"
    workers: int = 1
    port: int = 0
    redis_port: int = 0
    hosts: dict[str, int] = field(default_factory=dict)
    procs: list[tuple[str, subprocess.Popen]] = field(default_factory=list)
    _logs: list = field(default_factory=list)

    def host_env(self, name: str) -> dict:
        """The environment of host ``name`` (also what its `flask scheduler` gets)."""
        inst = self.work / f"host-{name}" / "instance"
        return {**os.environ, **self.env, "LMS_INSTANCE_PATH": str(inst), "UPLOAD_DIR": str(inst / "uploads"),
                "CERT_KEY_DIR": str(inst / "keys"), "APP_HOSTS": "2", "FILE_STORAGE": "database",
                "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{self.redis_port}/0", "TRUSTED_PROXIES": "1",
                "GUNICORN_WORKERS": str(self.workers), "PYTHONPATH": str(REPO)}

    def start(self) -> "Cluster":
        missing = [n for n, p in (("nginx", NGINX), ("redis-server", REDIS)) if p is None]
        if missing:
            raise FileNotFoundError(f"not installed: {', '.join(missing)} (apt-get install {' '.join(missing)})")
        self.work.mkdir(parents=True, exist_ok=True)
        self.redis_port, self.port = free_port(), free_port()
        self.hosts = {"a": free_port(), "b": free_port()}
        self._spawn("redis", [REDIS, "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no", "--dir", str(self.work)], os.environ)
        self._wait(self.redis_port, b"PING\r\n", b"+PONG", "redis")
        for name, port in self.hosts.items():
            inst = self.work / f"host-{name}" / "instance"
            inst.mkdir(parents=True, exist_ok=True)
            if self.keys is not None:
                shutil.copytree(self.keys, inst / "keys", dirs_exist_ok=True)
            env = {**self.host_env(name), "GUNICORN_BIND": f"127.0.0.1:{port}"}
            env.pop("RUNTIME_DIRECTORY", None)
            self._spawn(f"host-{name}", [sys.executable, "-m", "gunicorn", "-c", str(REPO / "gunicorn.conf.py"),
                                         self.target], env)
        conf = self.work / "nginx.conf"
        conf.write_text(nginx_config(self.work, self.port, self.hosts))
        self._spawn("nginx", [NGINX, "-c", str(conf), "-p", str(self.work)], os.environ)
        for name, port in self.hosts.items():
            self._wait(port, b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", b" 200 ", f"host-{name}")
        self._wait(self.port, b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", b" 200 ", "nginx")
        return self

    def _spawn(self, name: str, argv: list[str], env) -> None:
        log = open(self.work / f"{name}.log", "ab")
        self._logs.append(log)
        self.procs.append((name, subprocess.Popen(argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)))

    def _wait(self, port: int, hello: bytes, expect: bytes, name: str, seconds: float = 90) -> None:
        deadline = time.monotonic() + seconds
        while True:
            for pname, proc in self.procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"{pname} exited ({proc.returncode}): {self.log(pname)[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                    s.sendall(hello)
                    if expect in s.recv(64):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not answer on port {port} within {seconds} s")
            time.sleep(0.3)

    def log(self, name: str) -> str:
        path = self.work / f"{name}.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def stop(self) -> None:
        """Stop every process started here (nginx first, Redis last), by pid."""
        for _name, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(40)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)
        for log in self._logs:
            log.close()
        self.procs.clear()
        self._logs.clear()

    def __enter__(self) -> "Cluster":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()
