"""Run a tradestream worker as a child process and know when it is ready (demo, tests, bench)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import aiohttp


class WorkerProcess:
    """A ``tradestream worker`` child with its own web port and log file."""

    def __init__(
        self,
        web_port: int,
        log_path: Path,
        env: dict[str, str] | None = None,
        python_flags: tuple[str, ...] = (),
    ) -> None:
        self.web_port = web_port
        self.log_path = log_path
        self._env = {**os.environ, **(env or {}), "TRADESTREAM_WEB_PORT": str(web_port)}
        self._python_flags = python_flags
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def env(self) -> dict[str, str]:
        """Return the environment the worker runs with (to start another like it)."""
        return dict(self._env)

    @property
    def pid(self) -> int | None:
        """Return the worker's process id once started (the bench reads its CPU and memory)."""
        return self._proc.pid if self._proc is not None else None

    def exit_code(self) -> int | None:
        """Return the worker's exit code if it has exited, else None."""
        return self._proc.poll() if self._proc is not None else None

    @property
    def url(self) -> str:
        """Return the base URL of the worker's web views."""
        return f"http://127.0.0.1:{self.web_port}"

    def start(self) -> None:
        """Start the worker; its output goes to ``log_path``."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self._proc = subprocess.Popen(  # noqa: S603  (our interpreter and flags, no shell)
            [sys.executable, *self._python_flags, "-m", "tradestream.cli.main", "worker"],
            env=self._env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    async def get_json(self, path: str) -> Any:
        """GET one of the worker's JSON views."""
        timeout = aiohttp.ClientTimeout(total=5)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(self.url + path) as response,
        ):
            response.raise_for_status()
            return await response.json()

    async def wait_ready(self, timeout_s: float = 90.0) -> None:
        """Wait until the worker answers on its health view; fail early if it exits."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise RuntimeError(
                    f"worker exited with {self._proc.returncode}; see {self.log_path}"
                )
            try:
                await self.get_json("/health/")
            except (aiohttp.ClientError, OSError):
                await asyncio.sleep(0.3)
                continue
            return
        raise TimeoutError(f"worker not ready after {timeout_s}s; see {self.log_path}")

    def kill(self) -> int | None:
        """Kill the worker at once (SIGKILL): a crash, for the tests that need one."""
        if self._proc is None:
            return None
        self._proc.kill()
        self._proc.wait()
        if self._log is not None:
            self._log.close()
        return self._proc.returncode

    def stop(self, timeout_s: float = 30.0) -> int | None:
        """Stop the worker gracefully (SIGTERM), killing it only if it hangs."""
        if self._proc is None:
            return None
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._log is not None:
            self._log.close()
        return self._proc.returncode
