"""Start an example chat server in its own process, as a user would, for the tests that talk to it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@contextlib.asynccontextmanager
async def chat_server(app: Path, timeout: float) -> AsyncIterator[str]:
    """Start the example ``app`` offline on a free port; yield its URL; stop it with Ctrl-C.

    ``timeout``: seconds it may take to start, and again to stop. It must exit with status 0.
    """
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(app), "--offline", "--port", "0", cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        url = await asyncio.wait_for(_serving_url(process), timeout)
        yield url
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode == 0, stderr.decode()


async def _serving_url(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    while line := (await process.stdout.readline()).decode():
        if line.startswith("Serving on "):
            return line.split()[-1]
    raise AssertionError("the example exited before serving")
