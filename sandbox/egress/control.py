"""The control channel: JSON lines on the proxy's stdin, replies on its stdout.

Only the worker that started the proxy container reaches these streams (through the Docker attach
API); no step and no network does. One request per line, each with an ``"id"`` that its reply
echoes; requests are handled one at a time, in order. Every reply is ``{"id", "ok": bool}`` plus
``"error"`` (a sentence, starting with the field's JSON pointer where one is at fault) or the
op's result::

    {"op": "configure", "id": 1, "production": false, "test_public": ["172.17.0.1:8443"],
     "max_connections": 100, "max_bytes": 104857600, "connect_timeout_s": 10}
    {"op": "open", "id": 2, "token": "<32 hex>", "rules": ["api.github.com", "*:80"],
     "ttl_s": 900}                                   -> {"id": 2, "ok": true, "socket": "<path>"}
    {"op": "grant", "id": 3, "token": "<32 hex>", "rules": ["api.github.com"], "ttl_s": 60}
                                                     -> {"id": 3, "ok": true}
    {"op": "close", "id": 3, "token": "<32 hex>"}    -> {"id": 3, "ok": true, "connections": [...]}
    {"op": "ping", "id": 4}         -> {"id": 4, "ok": true, "leases": 1, "connections": 0}

``configure`` comes first, once; in production mode a non-empty ``test_public`` gets an error
reply and the proxy exits with status 2. ``close`` of an unknown or already collected token
replies ``ok`` with no connections; a lease that expired (its ``ttl_s`` ran out) keeps its
records until its ``close``. ``ping`` counts open leases and their live connections. End of
input (the worker went away) closes every lease and exits 0, as does SIGTERM. Standard library
and ``step_sdk.egress`` only: this runs inside the proxy container.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
import signal
import sys
import threading
from pathlib import Path
from typing import Any, BinaryIO

from sandbox.egress.lease import Lease
from sandbox.egress.settings import ProxySettings, SettingsError
from step_sdk.egress import MAX_ENTRIES, EgressEntryError, EgressRule, parse_entry

TOKEN = re.compile(r"^[0-9a-f]{32}$")
MAX_LINE_BYTES = 1024 * 1024
# Expired leases wait for their "close" to collect their records; a worker that never collects
# them cannot grow the proxy's memory beyond this many.
MAX_UNCOLLECTED = 1000
EXIT_REFUSED_CONFIGURATION = 2


class ControlError(ValueError):
    """A control request the proxy refuses; the message is the reply's ``error``."""


class Controller:
    """The proxy's state: its settings and its leases by token."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.settings: ProxySettings | None = None
        self.leases: dict[str, Lease] = {}
        self.exit_code: int | None = None

    async def handle(self, message: dict[str, Any]) -> dict[str, Any]:
        """The reply to one request (never raises for a bad request)."""
        reply: dict[str, Any] = {"id": message.get("id"), "ok": True}
        try:
            op = message.get("op")
            if op == "configure":
                self._configure(message)
            elif op == "ping":
                live = [lease for lease in self.leases.values() if not lease.closed]
                reply["leases"] = len(live)
                reply["connections"] = sum(lease.live_connections() for lease in live)
            elif self.settings is None:
                raise ControlError("/op: the proxy is not configured yet: send configure first")
            elif op == "open":
                reply["socket"] = await self._open(message, self.settings)
            elif op == "grant":
                self._grant(message)
            elif op == "close":
                reply["connections"] = await self._close(message)
            else:
                raise ControlError(f"/op: unknown op {op!r} (configure, open, grant, close, ping)")
        except (ControlError, SettingsError) as exc:
            return {"id": message.get("id"), "ok": False, "error": str(exc)}
        return reply

    def _configure(self, message: dict[str, Any]) -> None:
        if self.settings is not None:
            raise ControlError("/op: the proxy is configured already")
        try:
            self.settings = ProxySettings.from_message(message)
        except SettingsError:
            if message.get("production") is True and message.get("test_public"):
                self.exit_code = EXIT_REFUSED_CONFIGURATION
            raise
        print("egress: configured", file=sys.stderr, flush=True)

    async def _open(self, message: dict[str, Any], settings: ProxySettings) -> str:
        token = _token(message)
        rules = _rules(message)
        ttl_s = _ttl(message)
        if token in self.leases:
            raise ControlError("/token: this token is in use already")
        lease = Lease(self.root, token, rules, settings)
        try:
            await lease.open(float(ttl_s))
        except OSError as exc:
            raise ControlError(f"/token: cannot create the lease socket: {exc}") from None
        self.leases[token] = lease
        self._forget_uncollected()
        print(f"egress: lease {token[:8]}... open", file=sys.stderr, flush=True)
        return str(lease.directory / "proxy.sock")

    def _grant(self, message: dict[str, Any]) -> None:
        """Rules for a lease opened without any (a pooled container's), applied at handoff."""
        token = _token(message)
        rules = _rules(message)
        ttl_s = _ttl(message)
        lease = self.leases.get(token)
        if lease is None:
            raise ControlError("/token: no open lease has this token")
        try:
            lease.grant(rules, ttl_s)
        except ValueError as exc:
            raise ControlError(f"/token: {exc}") from None
        print(f"egress: lease {token[:8]}... granted", file=sys.stderr, flush=True)

    async def _close(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        lease = self.leases.pop(_token(message), None)
        if lease is None:
            return []
        return await lease.close()

    def _forget_uncollected(self) -> None:
        expired = [token for token, lease in self.leases.items() if lease.closed]
        for token in expired[: max(0, len(expired) - MAX_UNCOLLECTED)]:
            del self.leases[token]

    async def shutdown(self) -> None:
        """Close every lease (their directories go away with them)."""
        for lease in list(self.leases.values()):
            await lease.close("proxy shutting down")
        self.leases.clear()


def _rules(message: dict[str, Any]) -> tuple[EgressRule, ...]:
    raw_rules = message.get("rules")
    if not isinstance(raw_rules, list) or len(raw_rules) > MAX_ENTRIES:
        raise ControlError(f"/rules: must be a list of at most {MAX_ENTRIES} egress entries")
    rules: list[EgressRule] = []
    for index, entry in enumerate(raw_rules):
        try:
            rules.append(parse_entry(entry))
        except EgressEntryError as exc:
            raise ControlError(f"/rules/{index}: {exc}") from None
    return tuple(rules)


def _ttl(message: dict[str, Any]) -> float:
    ttl_s = message.get("ttl_s")
    if (
        isinstance(ttl_s, bool)
        or not isinstance(ttl_s, int | float)
        or not math.isfinite(ttl_s)
        or ttl_s <= 0
    ):
        raise ControlError(f"/ttl_s: must be a positive number of seconds, got {ttl_s!r}")
    return float(ttl_s)


def _token(message: dict[str, Any]) -> str:
    token = message.get("token")
    if not isinstance(token, str) or not TOKEN.match(token):
        raise ControlError("/token: must be 32 lower-case hex characters")
    return token


async def serve(root: Path, stdin: BinaryIO, stdout: BinaryIO) -> int:
    """Run the control loop until end of input or SIGTERM; return the exit status."""
    controller = Controller(root)
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[bytes | None] = asyncio.Queue()

    def read_lines() -> None:
        # A thread, not connect_read_pipe: stdin may be a pipe, a socket or a terminal.
        oversized = False
        while True:
            line = stdin.readline(MAX_LINE_BYTES + 1)
            if not line:
                break
            if not line.endswith(b"\n") and len(line) > MAX_LINE_BYTES:
                oversized = True
                continue
            if not oversized and not line.strip():
                continue
            loop.call_soon_threadsafe(lines.put_nowait, b"" if oversized else line)
            oversized = False
        loop.call_soon_threadsafe(lines.put_nowait, None)

    threading.Thread(target=read_lines, name="control-stdin", daemon=True).start()
    # Not possible outside the main thread (a test driving serve() directly).
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGTERM, lines.put_nowait, None)
    try:
        while True:
            line = await lines.get()
            if line is None:
                return 0
            reply = await _reply(controller, line)
            stdout.write(json.dumps(reply).encode("utf-8") + b"\n")
            stdout.flush()
            if controller.exit_code is not None:
                return controller.exit_code
    finally:
        await controller.shutdown()


async def _reply(controller: Controller, line: bytes) -> dict[str, Any]:
    if not line:
        error = f"a request is one JSON object per line of at most {MAX_LINE_BYTES} bytes"
        return {"id": None, "ok": False, "error": error}
    try:
        message = json.loads(line)
    except ValueError as exc:
        return {"id": None, "ok": False, "error": f"the request is not JSON: {exc}"}
    if not isinstance(message, dict):
        return {"id": None, "ok": False, "error": "a request must be a JSON object"}
    return await controller.handle(message)
