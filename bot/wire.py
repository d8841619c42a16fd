"""A small HTTP/1.1 client for the sender's Bot API posts: keep-alive connections over asyncio
streams, each request written in one piece.

Why: measured against the fake server, httpx spent about 0.8 ms of CPU per ``sendMessage``
(URL and header models, h11, anyio cancel scopes, the pool's checks) and PTB 0.3 ms more; this
spends about 0.1 ms. It does only what the Bot API needs: POST a body to ``http`` or ``https``,
read an answer framed by Content-Length, chunks or the connection's end, keep the connection
for the next request. Behind a proxy from the environment (``HTTPS_PROXY``...), which httpx
honours and this does not, :func:`open_wire` gives an httpx client instead.

Failures are raised as the httpx exceptions httpx raises for them, so the Bot API layer
(:mod:`bot.botapi`) maps both clients to PTB's errors alike, and the sender tells "never left"
from "may have arrived" the same way::

    no free connection within the pool timeout   -> httpx.PoolTimeout    (never left)
    connecting timed out / failed                -> httpx.ConnectTimeout / httpx.ConnectError
    writing timed out / failed                   -> httpx.WriteTimeout / httpx.WriteError
    no answer within the read timeout            -> httpx.ReadTimeout    (may have arrived)
    connection dropped before or during the answer -> httpx.RemoteProtocolError / httpx.ReadError
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import urllib.request
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import certifi
import httpx

KEEPALIVE = 5.0  # seconds an idle connection is kept (httpx's default)
USER_AGENT = "ldn-bot (Bot API over HTTP/1.1)"


@dataclass(frozen=True, slots=True)
class Timeouts:
    connect: float = 5.0
    read: float = 5.0
    write: float = 5.0
    pool: float = 10.0


class Wire(Protocol):
    async def post(self, method: str, body: bytes) -> tuple[int, bytes]:
        """POST a JSON ``body`` to ``<base>/<method>``: the status and the answer's bytes."""
        ...

    async def aclose(self) -> None: ...


def open_wire(base_url: str, *, connections: int, timeouts: Timeouts) -> Wire:
    """The small client, or httpx when the environment routes ``base_url`` through a proxy."""
    host = urlsplit(base_url).hostname or ""
    if urllib.request.getproxies() and not urllib.request.proxy_bypass(host):
        return HttpxWire(base_url, connections=connections, timeouts=timeouts)
    return StreamWire(base_url, connections=connections, timeouts=timeouts)


class HttpxWire:
    """The same posts through httpx (proxies and all)."""

    def __init__(self, base_url: str, *, connections: int, timeouts: Timeouts) -> None:
        self._base = base_url
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(
                connect=timeouts.connect,
                read=timeouts.read,
                write=timeouts.write,
                pool=timeouts.pool,
            ),
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )

    async def post(self, method: str, body: bytes) -> tuple[int, bytes]:
        headers = {"User-Agent": USER_AGENT, "Content-Type": "application/json"}
        response = await self._client.post(f"{self._base}/{method}", content=body, headers=headers)
        return response.status_code, response.content

    async def aclose(self) -> None:
        await self._client.aclose()


@dataclass(slots=True)
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = 0.0

    def usable(self, now: float) -> bool:
        # The loop reads a server's close as it comes: an idle connection that saw one is
        # dropped here instead of failing a request that then "may have arrived".
        fresh = now - self.idle_since < KEEPALIVE
        return fresh and not self.writer.is_closing() and not self.reader.at_eof()

    def close(self) -> None:
        self.writer.close()


class StreamWire:
    """Up to ``connections`` keep-alive connections to one Bot API server."""

    def __init__(self, base_url: str, *, connections: int, timeouts: Timeouts) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the Bot API URL must be http:// or https://")
        self._tls = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._tls else 80)
        default = self._port == (443 if self._tls else 80)
        netloc = self._host if default else f"{self._host}:{self._port}"
        self._path = parts.path.rstrip("/")
        self._head = f"Host: {netloc}\r\nUser-Agent: {USER_AGENT}\r\n".encode()
        self._timeouts = timeouts
        self._slots = asyncio.Semaphore(connections)
        self._idle: list[_Connection] = []
        self._ssl: ssl.SSLContext | None = None

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()
            with contextlib.suppress(OSError):
                await connection.writer.wait_closed()

    async def post(self, method: str, body: bytes) -> tuple[int, bytes]:
        try:
            async with asyncio.timeout(self._timeouts.pool):
                await self._slots.acquire()
        except TimeoutError as exc:
            raise httpx.PoolTimeout("no free connection") from exc
        try:
            connection = await self._connection()
            try:
                status, content, keep = await self._exchange(connection, method, body)
            except BaseException:
                connection.close()
                raise
            if keep:
                connection.idle_since = asyncio.get_running_loop().time()
                self._idle.append(connection)
            else:
                connection.close()
            return status, content
        finally:
            self._slots.release()

    async def _connection(self) -> _Connection:
        now = asyncio.get_running_loop().time()
        while self._idle:
            connection = self._idle.pop()
            if connection.usable(now):
                return connection
            connection.close()
        if self._tls and self._ssl is None:
            self._ssl = ssl.create_default_context(cafile=certifi.where())
        try:
            async with asyncio.timeout(self._timeouts.connect):
                reader, writer = await asyncio.open_connection(
                    self._host, self._port, ssl=self._ssl if self._tls else None
                )
        except TimeoutError as exc:
            raise httpx.ConnectTimeout("connecting timed out") from exc
        except OSError as exc:  # refused, unreachable, DNS, TLS (ssl.SSLError is an OSError)
            raise httpx.ConnectError(str(exc)) from exc
        return _Connection(reader, writer)

    async def _exchange(
        self, connection: _Connection, method: str, body: bytes
    ) -> tuple[int, bytes, bool]:
        request = b"".join(
            (
                f"POST {self._path}/{method} HTTP/1.1\r\n".encode(),
                self._head,
                b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body),
                body,
            )
        )
        writer, reader = connection.writer, connection.reader
        try:
            writer.write(request)
            async with asyncio.timeout(self._timeouts.write):
                await writer.drain()
        except TimeoutError as exc:
            raise httpx.WriteTimeout("writing timed out") from exc
        except OSError as exc:
            raise httpx.WriteError(str(exc)) from exc
        try:
            async with asyncio.timeout(self._timeouts.read):
                return await _read_response(reader)
        except TimeoutError as exc:
            raise httpx.ReadTimeout("no answer within the read timeout") from exc
        except asyncio.IncompleteReadError as exc:
            if not exc.partial:
                raise httpx.RemoteProtocolError(
                    "Server disconnected without sending a response."
                ) from exc
            raise httpx.RemoteProtocolError("the connection closed mid-answer") from exc
        except asyncio.LimitOverrunError as exc:
            raise httpx.RemoteProtocolError("answer headers too long") from exc
        except (ValueError, IndexError) as exc:
            raise httpx.RemoteProtocolError("malformed answer") from exc
        except OSError as exc:
            raise httpx.ReadError(str(exc)) from exc


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status, body and whether the connection may be used again."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    version, code, *_ = lines[0].split(" ", 2)
    status = int(code)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    keep = headers.get("connection", "").lower() != "close" and version == "HTTP/1.1"
    if status in (204, 304) or 100 <= status < 200:
        return status, b"", keep
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return status, await _read_chunks(reader), keep
    length = headers.get("content-length")
    if length is not None:
        return status, await reader.readexactly(int(length)), keep
    return status, await reader.read(), False  # framed by the connection's end


async def _read_chunks(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
