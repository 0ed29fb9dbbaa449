"""The production shape on loopback, as docs/deployment.md starts it: the nginx gateway (installed
by ``deploy/nginx/install.sh``), the page server and the socket server (gunicorn with
``gunicorn.conf.py``) and, when asked, the RQ worker, each a subprocess with its log in ``logs``.

Only the gateway's port is the site's address (``BASE_URL``); the servers listen on ports of their
own, as they would behind a real gateway.
"""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def install_gateway(prefix: Path, *, listen: int, web: str, sockets: str) -> Path:
    """Install the gateway's configuration into ``prefix`` with ``deploy/nginx/install.sh``, as the
    deployment page does into /etc/nginx. Returns the main configuration file."""
    addresses = {"TMS_LISTEN": f"127.0.0.1:{listen}", "TMS_WEB_UPSTREAM": web, "TMS_SOCKETS_UPSTREAM": sockets}
    subprocess.run(
        ["sh", str(ROOT / "deploy/nginx/install.sh"), str(prefix)],
        env={**os.environ, **addresses},
        check=True,
        capture_output=True,
    )
    (prefix / "logs").mkdir(exist_ok=True)
    return prefix / "nginx.conf"


class Stack:
    """Processes started in order and stopped together."""

    def __init__(self, env: dict[str, str], logs: Path):
        self.logs = logs
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.web_port, self.sockets_port = free_port(), free_port()
        self.env = {"BASE_URL": self.url, "PYTHONUNBUFFERED": "1", **env}
        self.processes: dict[str, subprocess.Popen] = {}

    def flask(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def spawn(self, name: str, *command: str, env: dict[str, str] | None = None) -> None:
        with (self.logs / f"{name}.log").open("w") as log:
            self.processes[name] = subprocess.Popen(
                command, cwd=ROOT, env={**self.env, **(env or {})}, stdout=log, stderr=subprocess.STDOUT
            )

    def gunicorn(self, server: str, port: int) -> None:
        env = {"TMS_SERVER": server, "GUNICORN_BIND": f"127.0.0.1:{port}"}
        self.spawn(server, sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app", env=env)

    def start(self, *, worker: bool = True) -> Stack:
        """The page server, the socket server, the gateway and (``worker``) an RQ worker."""
        try:
            self.gunicorn("pages", self.web_port)
            self.gunicorn("sockets", self.sockets_port)
            prefix = self.logs / "gateway"
            config = install_gateway(
                prefix, listen=self.port, web=f"127.0.0.1:{self.web_port}", sockets=f"127.0.0.1:{self.sockets_port}"
            )
            # As root nginx hands requests to unprivileged workers unless told otherwise; this user
            # can read the checkout and write the gateway's temporary files.
            user = f"user {getpass.getuser()};" if os.geteuid() == 0 else ""
            self.spawn(
                "gateway", NGINX, "-p", str(prefix), "-c", str(config), "-g", f"daemon off; pid nginx.pid; {user}"
            )
            if worker:
                self.spawn("worker", sys.executable, "worker.py")
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until the page and socket servers answer through the gateway."""
        deadline = time.monotonic() + timeout
        pending = [f"{self.url}/readyz", f"http://127.0.0.1:{self.sockets_port}/healthz"]
        while pending and time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited early; see {self.logs / name}.log")
            try:
                with urllib.request.urlopen(pending[0], timeout=2) as response:  # noqa: S310  (our loopback server)
                    if response.status == 200:
                        pending.pop(0)
                        continue
            except OSError:
                pass
            time.sleep(0.2)
        if pending:
            raise RuntimeError(f"{pending[0]} did not answer; see {self.logs}")

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()
