"""Start the test MCP server as a real subprocess: over stdio (by ``MCPServer.stdio``) or HTTP."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

TOOL_SERVER = str(Path(__file__).with_name("tool_server.py"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class HTTPServerProcess:
    """``tool_server.py http PORT`` as a child process; ``start()``, ``kill()``, ``url``."""

    def __init__(self, path: str = "/mcp", bearer: str | None = None) -> None:
        self.port = free_port()
        self.path = path
        self.bearer = bearer
        self.url = f"http://127.0.0.1:{self.port}{path}"
        self.base = f"http://127.0.0.1:{self.port}"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        args = [sys.executable, TOOL_SERVER, "http", str(self.port), "--path", self.path]
        if self.bearer is not None:
            args += ["--bearer", self.bearer]
        self._proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"the MCP test server exited with {self._proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.kill()
        raise RuntimeError("the MCP test server did not start listening in time")

    def kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(timeout=10)
        self._proc = None
