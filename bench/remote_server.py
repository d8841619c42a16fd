"""The fake Bot API server in a child process, so that its own CPU time (parsing HTML,
checking every call against the spec) does not count against the bot being measured, as a
real Telegram server's would not. Controlled over a multiprocessing pipe."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
from multiprocessing.connection import Connection
from typing import Any

from tests.fakebotapi import FakeBotApi
from tests.fakebotapi.faults import RateLimits


async def _serve(token: str, conn: Connection) -> None:
    async with FakeBotApi(token=token) as server:
        conn.send((server.base_url, server.base_file_url))
        loop = asyncio.get_running_loop()
        while True:
            command, *args = await loop.run_in_executor(None, conn.recv)
            if command == "stop":
                conn.send(server.violations)
                return
            if command == "mark":
                conn.send(server.mark())
            elif command == "push":
                for update in args[0]:
                    server.push_update(update)
                conn.send(None)
            elif command == "configure":
                limits, latency = args
                server.limits = RateLimits(**limits) if limits else None
                server.latency = latency
                conn.send(None)
            elif command == "calls":
                since = args[0]
                conn.send(
                    [
                        # A silent message (a check-in under its reminder) is told apart.
                        (
                            c.method + (":silent" if c.params.get("disable_notification") else ""),
                            c.params.get("chat_id"),
                            c.status,
                            c.time,
                        )
                        for c in server.calls[since:]
                    ]
                )
            elif command == "wait":
                method, count, since = args
                await server.wait_for_all(method, count=count, since=since, timeout=120)
                conn.send(None)


def _main(token: str, conn: Connection) -> None:
    asyncio.run(_serve(token, conn))


class RemoteServer:
    """Start with `with RemoteServer(token) as remote:`; every method blocks, so call it
    through asyncio.to_thread from async code."""

    def __init__(self, token: str) -> None:
        self._conn, child = mp.Pipe()
        self._process = mp.get_context("spawn").Process(
            target=_main, args=(token, child), daemon=True
        )
        self.base_url = self.base_file_url = ""

    def __enter__(self) -> RemoteServer:
        self._process.start()
        self.base_url, self.base_file_url = self._conn.recv()
        return self

    def __exit__(self, *exc: object) -> None:
        self._conn.send(("stop",))
        violations = self._conn.recv()
        self._process.join(10)
        if violations:
            raise AssertionError(f"Bot API violations: {violations}")

    @property
    def pid(self) -> int:
        assert self._process.pid is not None
        return self._process.pid

    def call(self, *command: Any) -> Any:
        self._conn.send(command)
        return self._conn.recv()
