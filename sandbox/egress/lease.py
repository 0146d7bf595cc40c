"""One execution's lease: its socket, rules, caps, live connections and records.

A lease listens on ``<root>/<token>/proxy.sock`` (directory 0755, socket 0666: the step's user
is not the proxy's). Closing it, or its TTL running out, stops the listener, aborts every live
connection (recorded with reason ``"lease closed"`` or ``"lease expired"``) and deletes the
directory, so a copy of the socket path is worth nothing afterwards. Standard library only: this
runs inside the proxy container.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sys
from pathlib import Path
from typing import Any

from sandbox.egress.connection import serve_connection
from sandbox.egress.records import ConnectionRecord, RecordLog
from sandbox.egress.settings import ProxySettings
from step_sdk.egress import EgressRule

SOCKET_NAME = "proxy.sock"
LISTEN_BACKLOG = 128


class Lease:
    """The proxy side of one execution's egress permission.

    Attributes:
        token: 32 lower-case hex characters, the directory name under the socket root.
        rules: the execution's parsed egress entries.
        settings: caps and address checks.
    """

    def __init__(
        self, root: Path, token: str, rules: tuple[EgressRule, ...], settings: ProxySettings
    ) -> None:
        self.token = token
        self.rules = rules
        self.settings = settings
        self.directory = root / token
        self.records = RecordLog()
        self.closed = False
        self.close_reason = ""
        self.tasks: set[asyncio.Task[None]] = set()
        self._listener: socket.socket | None = None
        self._acceptor: asyncio.Task[None] | None = None
        # Each live connection's socket, so close() can release one whose task never started.
        self._accepted: dict[int, tuple[socket.socket, asyncio.Task[None]]] = {}
        self._attempts = 0
        self._bytes = 0
        self._expiry: asyncio.TimerHandle | None = None
        self._closing: asyncio.Task[None] | None = None
        self.granted = False

    async def open(self, ttl_s: float) -> None:
        """Create the directory and the listening socket; close by itself after ``ttl_s``.

        Raises:
            OSError: the directory exists already or cannot be made.
        """
        os.mkdir(self.directory, 0o755)
        try:
            os.chmod(self.directory, 0o755)  # noqa: S103 (whatever the umask; steps run as another user)
            path = self.directory / SOCKET_NAME
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._listener = listener
            listener.bind(str(path))
            os.chmod(path, 0o666)  # noqa: S103 (the step connects as another user)
            listener.listen(LISTEN_BACKLOG)
            listener.setblocking(False)
        except BaseException:
            if self._listener is not None:
                self._listener.close()
            shutil.rmtree(self.directory, ignore_errors=True)
            raise
        loop = asyncio.get_running_loop()
        self._acceptor = loop.create_task(self._accept_loop(listener))
        self._expiry = loop.call_later(ttl_s, self._expire)

    def grant(self, rules: tuple[EgressRule, ...], ttl_s: float) -> None:
        """Give a lease opened without rules (a warm pool's) its execution's rules, once, and
        a new time to live counted from now.

        Raises:
            ValueError: the lease is closed, or was granted rules already.
        """
        if self.closed:
            raise ValueError("the lease is closed")
        if self.granted or self.rules:
            raise ValueError("the lease has its rules already")
        self.granted = True
        self.rules = rules
        # The execution starts now: its records and caps count from here (before, the socket
        # refused everything, and nothing of the tenant was in the container anyway).
        self.records = RecordLog()
        self._attempts = 0
        self._bytes = 0
        if self._expiry is not None:
            self._expiry.cancel()
        self._expiry = asyncio.get_running_loop().call_later(ttl_s, self._expire)

    def _expire(self) -> None:
        self._start_closing("lease expired")

    def _start_closing(self, reason: str) -> asyncio.Task[None]:
        if self._closing is None:
            # Kept here: the loop holds tasks only weakly.
            self._closing = asyncio.get_running_loop().create_task(self._shut(reason))
        return self._closing

    async def close(self, reason: str = "lease closed") -> list[dict[str, Any]]:
        """Stop listening, abort live connections (recorded with ``reason``), delete the
        directory; return the lease's records. Closing again (or while the TTL is closing it)
        waits for that to finish and returns the same records."""
        # Shielded: a cancelled caller must not leave the lease half closed.
        await asyncio.shield(self._start_closing(reason))
        return self.records.as_json()

    async def _shut(self, reason: str) -> None:
        self.closed = True
        self.close_reason = reason
        if self._expiry is not None:
            self._expiry.cancel()
        if self._acceptor is not None:
            self._acceptor.cancel()
            await asyncio.gather(self._acceptor, return_exceptions=True)
        if self._listener is not None:
            self._listener.close()
        live = list(self.tasks)
        for task in live:
            task.cancel()
        await asyncio.gather(*live, return_exceptions=True)
        for connection, _task in self._accepted.values():
            # A task cancelled before its first step never ran serve_connection's cleanup.
            if connection.fileno() != -1:
                connection.close()
                unserved = ConnectionRecord(reason=reason)
                unserved.finish()
                self.records.add(unserved)
        self._accepted.clear()
        shutil.rmtree(self.directory, ignore_errors=True)
        print(f"egress: lease {self.token[:8]}... {reason}", file=sys.stderr, flush=True)

    def admit(self) -> bool:
        """Count one more connection attempt; ``False`` once the cap is reached."""
        if self._attempts >= self.settings.max_connections:
            return False
        self._attempts += 1
        return True

    def live_connections(self) -> int:
        return len(self.tasks)

    def bytes_left(self) -> int:
        """Bytes the lease may still move before its byte cap is reached."""
        return max(0, self.settings.max_bytes - self._bytes)

    def take_bytes(self, wanted: int) -> int:
        """Charge up to ``wanted`` bytes to the lease's byte cap; return how many fit."""
        granted = max(0, min(wanted, self.settings.max_bytes - self._bytes))
        self._bytes += granted
        return granted

    async def _accept_loop(self, listener: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                connection, _address = await loop.sock_accept(listener)
            except OSError as exc:  # e.g. out of file descriptors: the lease stays open
                print(f"egress: accept failed: {exc}", file=sys.stderr, flush=True)
                await asyncio.sleep(0.1)
                continue
            connection.setblocking(False)
            task = loop.create_task(serve_connection(self, connection))
            self.tasks.add(task)
            self._accepted[id(task)] = (connection, task)
            task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        self._accepted.pop(id(task), None)
