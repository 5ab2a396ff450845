"""A real ``redis-server`` for the tests that claim sharing through Redis.

The fixture ``redis_url`` (registered in ``conftest.py``) starts the Debian package's
``redis-server`` on 127.0.0.1 on a free port, in a temporary directory, with persistence off, and
stops it after the test. Tests that kill the server mid-run use :class:`RedisProcess` directly.

``redis-server`` must be installed (``apt-get install redis-server``; ``.ci/run`` does). Where it
is missing the test is skipped with what to install, except under ``CI=true``, where it fails.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REQUIRED = os.environ.get("CI") == "true"


def redis_server_binary() -> str:
    path = shutil.which("redis-server")
    if path is None:
        message = "redis-server is not installed (apt-get install redis-server)"
        if REQUIRED:
            pytest.fail(message + "; it is required when CI=true")
        pytest.skip(message)
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class RedisProcess:
    """One ``redis-server`` child process on 127.0.0.1; ``start()``, ``stop()``, ``url``."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._dir = tempfile.TemporaryDirectory(prefix="aclarifai-redis-")
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> None:
        binary = redis_server_binary()
        args = [
            binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self._dir.name,
            "--save", "", "--appendonly", "no", "--protected-mode", "no", "--daemonize", "no",
        ]
        log = open(Path(self._dir.name) / "redis.log", "wb")  # noqa: SIM115 - closed in stop()
        self._log = log
        self._proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self._proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on port {self.port} within {timeout} s")

    def kill(self) -> None:
        """Stop the server abruptly (SIGKILL), as a crash would; ``start()`` may follow."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(timeout=10)
        if getattr(self, "_log", None) is not None:
            self._log.close()  # start() opens a new one

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)
        self._proc = None
        if getattr(self, "_log", None) is not None:
            self._log.close()

    def cleanup(self) -> None:
        self.stop()
        self._dir.cleanup()
