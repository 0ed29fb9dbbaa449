"""The app under gunicorn for the HTTP benches, as it is deployed: ``gunicorn.conf.py``, real
PostgreSQL and Redis."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def gunicorn(port: int, **settings: str) -> Iterator[int]:
    """Serve on 127.0.0.1:``port`` with ``settings`` (environment variables such as DATABASE_URL,
    REDIS_URL, WEB_CONCURRENCY) over this process's environment; answers /healthz on entry (and
    yields the master's pid), stopped on exit."""
    env = {**os.environ, "GUNICORN_BIND": f"127.0.0.1:{port}", **settings}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(os.environ["BENCH_SERVER_LOG"], "w") if os.environ.get("BENCH_SERVER_LOG") else subprocess.DEVNULL,  # noqa: SIM115
    )
    try:
        for _ in range(150):
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("gunicorn did not answer /healthz within 30 s")
        time.sleep(1)
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({server.returncode}): is port {port} taken by another server?")
        yield server.pid
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def worker_pids(master: int) -> list[int]:
    """The processes ``master`` forked (gunicorn's workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                found.append(int(entry.name))
    return found


def resident_kb(pids: list[int]) -> int:
    """Resident memory of ``pids`` together, in KB."""
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total
