"""gunicorn on loopback for the page benchmarks, started and stopped by the benchmark itself."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

HOST = "127.0.0.1"  # never anything but loopback


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(*, executable: Path, app: str, cwd: Path, env: dict[str, str], workers: int, log_file: Path,
             ready_path: str = "/", timeout: float = 60.0) -> Iterator[str]:
    """Run `gunicorn app` with sync workers on 127.0.0.1:<free port>; yields the base URL; stops it after."""
    port = free_port()
    command = [str(executable), app, "--bind", f"{HOST}:{port}", "--workers", str(workers), "--worker-class", "sync",
               "--timeout", "120", "--log-level", "warning", "--error-logfile", str(log_file), "--chdir", str(cwd)]
    process = subprocess.Popen(command, cwd=cwd, env={**os.environ, **env},  # noqa: S603 - fixed argv, no shell
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {process.returncode}; see {log_file}")
            try:
                urllib.request.urlopen(base + ready_path, timeout=5).close()  # noqa: S310 - loopback http only
                break
            except urllib.error.HTTPError:
                break  # it answers: a redirect to the login page or a 404 is fine here
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not answer on {base} within {timeout:.0f} s") from None
                time.sleep(0.2)
        yield base
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # its own session: the master and its workers, nothing else
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def fetch(url: str, cookie: str) -> tuple[int, int]:
    """One GET with the session cookie, no redirects followed: (status, bytes)."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            return None

    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, headers={"Cookie": cookie})  # noqa: S310 - loopback http only
    try:
        with opener.open(request, timeout=60) as response:
            return response.status, len(response.read())
    except urllib.error.HTTPError as error:
        return error.code, 0
