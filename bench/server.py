"""gunicorn on loopback with the project's gunicorn.conf.py, for the platform and for the bare baseline."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """``gunicorn -c gunicorn.conf.py <target>`` bound to 127.0.0.1:<free port>; stopped by its own pid."""

    def __init__(self, target: str, env: dict, log_path: Path, settle_s: float = 4.0):
        self.target, self.env, self.log_path, self.settle_s = target, env, log_path, settle_s
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "Gunicorn":
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        time.sleep(self.settle_s)  # let every worker finish booting and warming up (lms.app.warm_up)
        return self

    def start(self) -> None:
        """Start the server without waiting for it (``wait_ready``): several servers then boot at once."""
        env = {**os.environ, **self.env, "GUNICORN_BIND": f"127.0.0.1:{self.port}",
               "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(REPO / "gunicorn.conf.py"), self.target],
                                     cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 60) -> None:
        """Until the server answers ``GET /healthz`` (any HTTP answer); an error if it exits or stays silent."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn {self.target} exited; see {self.log_path}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                    if s.recv(12).startswith(b"HTTP/"):
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"gunicorn {self.target} did not answer within {timeout:g} s")

    def stop(self) -> None:
        """Ask the master to stop (SIGTERM: it stops its own workers), without waiting."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.stop()
            try:
                self.proc.wait(40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if getattr(self, "_log", None) is not None:
            self._log.close()

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


class Servers:
    """Several ``Gunicorn`` started at once and settled together (issue 20: one settling pause instead of one
    each): ``with Servers(a, b, c, settle_s=4) as (a, b, c):``. Each gets at least ``settle_s`` after its first
    answer, as a lone ``with Gunicorn(...)`` does; on leaving, all are asked to stop at once, then waited for.
    ``while_booting``: called once they are started, before waiting for their first answers."""

    def __init__(self, *servers: Gunicorn, settle_s: float = 4.0, while_booting=None):
        self.servers, self.settle_s, self.while_booting = servers, settle_s, while_booting

    def __enter__(self) -> tuple[Gunicorn, ...]:
        try:
            for s in self.servers:
                s.start()
            if self.while_booting is not None:  # e.g. wait for the other databases' preparation (bench/__main__.py)
                self.while_booting()
            for s in self.servers:
                s.wait_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        time.sleep(self.settle_s)
        return self.servers

    def __exit__(self, *exc) -> None:
        for s in self.servers:
            s.stop()
        for s in self.servers:
            s.__exit__(None, None, None)
