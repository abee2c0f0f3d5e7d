"""A TCP proxy for outage tests: point a client at it, then cut the server away and bring it back.

The shared servers of the stack (Redis, PostgreSQL) must never be stopped by a test, so a test
that needs one of them to vanish puts this proxy between the worker and the server:

```python
async with TcpProxy.in_front_of("redis://127.0.0.1:6379/0") as proxy:
    url = proxy.through("redis://127.0.0.1:6379/0")   # redis://127.0.0.1:<proxy port>/0
    await proxy.cut()        # open connections are reset, new ones refused
    await proxy.restore()    # the same port accepts and forwards again
```

``cut`` stops listening (a new connection is refused, as from a server that is down) and resets
every open connection on both sides; ``restore`` listens again on the same port. The proxy runs
on the test's event loop: a test that blocks the loop (a ``subprocess.run``) stalls the traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

_CHUNK = 64 * 1024
_LINGER_RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST, not FIN


class TcpProxy:
    """Forward connections from 127.0.0.1:``port`` to ``target_host``:``target_port``."""

    def __init__(self, target_host: str, target_port: int, host: str = "127.0.0.1") -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.host = host
        self.port = 0
        self.connections_served = 0
        self._server: asyncio.Server | None = None
        self._links: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    def in_front_of(cls, url: str) -> TcpProxy:
        """Return a proxy (not started) to the server of ``url`` (redis://, postgresql://...)."""
        parts = urlsplit(url)
        if parts.hostname is None or parts.port is None:
            raise ValueError(f"{parts.scheme} URL without host and port")
        return cls(parts.hostname, parts.port)

    def through(self, url: str) -> str:
        """Return ``url`` (credentials, database and all) pointed at this proxy."""
        parts = urlsplit(url)
        credentials = parts.netloc.rpartition("@")[0]
        prefix = f"{credentials}@" if credentials else ""
        return urlunsplit(parts._replace(netloc=f"{prefix}{self.host}:{self.port}"))

    @property
    def is_cut(self) -> bool:
        """Tell whether the proxy refuses connections."""
        return self._server is None

    async def start(self) -> None:
        """Listen (on a free port the first time, on the same port after a cut)."""
        if self._server is not None:
            return
        self._server = await asyncio.start_server(
            self._accept, self.host, self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Refuse new connections and reset the open ones, as if the server went down."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()
        for client, upstream in list(self._links):
            _reset(client)
            _reset(upstream)
        await self._settle()

    async def restore(self) -> None:
        """Accept and forward connections again, on the same port."""
        await self.start()

    async def close(self) -> None:
        """Stop for good: cut, and wait for every forwarding task to end."""
        await self.cut()

    async def __aenter__(self) -> TcpProxy:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self._forward(reader, writer)
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.is_cut:
            _reset(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            _reset(writer)
            return
        self.connections_served += 1
        link = (writer, up_writer)
        self._links.add(link)
        try:
            pumps = [
                asyncio.ensure_future(_pump(reader, up_writer)),
                asyncio.ensure_future(_pump(up_reader, writer)),
            ]
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
        finally:
            self._links.discard(link)
            await _close(writer)
            await _close(up_writer)

    # Let the forwarding tasks of the reset connections run to their end.
    async def _settle(self) -> None:
        while self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5)


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while chunk := await reader.read(_CHUNK):
            writer.write(chunk)
            await writer.drain()


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
    writer.transport.abort()


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
