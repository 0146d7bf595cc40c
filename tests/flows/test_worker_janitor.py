"""The worker's janitor outlives an unreachable Docker engine, says so, and cleans up afterwards.

The engine is made unreachable for the janitor only: its Docker client talks to the real engine
through a socket proxy that the test stops and starts again (the shared engine keeps running).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import docker
import pytest

from sandbox import labels
from stepwell.worker import janitor

pytestmark = [pytest.mark.docker]


class EngineProxy:
    """A unix-socket proxy to the real engine that can be switched off and on."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        engine = urlsplit(os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock"))
        self._open: Callable[[], Coroutine[Any, Any, Any]]
        if engine.scheme == "unix":
            self._open = lambda: asyncio.open_unix_connection(engine.path)
        else:
            self._open = lambda: asyncio.open_connection(engine.hostname, engine.port)

    async def start(self) -> None:
        self._server = await asyncio.start_unix_server(self._serve, str(self.path))

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await self._open()
        self._writers |= {writer, upstream_writer}
        try:
            await asyncio.gather(
                self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
            )
        finally:
            self._writers -= {writer, upstream_writer}

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while chunk := await source.read(65536):
                sink.write(chunk)
                await sink.drain()
        sink.close()


async def _until(condition: Callable[[], bool], what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        await asyncio.sleep(0.05)


async def test_janitor_survives_an_unreachable_engine_logs_it_and_cleans_up_after(
    tmp_path: Path,
    docker_client: docker.DockerClient,
    base_image: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="stepwell.worker")
    proxy = EngineProxy(tmp_path / "engine.sock")
    await proxy.start()
    # the docker SDK blocks: call it from a thread, so the proxy (on this loop) can answer
    through_proxy = await asyncio.to_thread(
        docker.DockerClient, base_url=f"unix://{proxy.path}", timeout=10
    )
    assert await asyncio.to_thread(through_proxy.ping)
    await proxy.stop()

    cleanup = asyncio.create_task(janitor(through_proxy, every_s=0.2))
    leftover = docker_client.api.create_container(
        base_image,
        command=["true"],
        # expires in a moment: a leftover from then on (another worker's janitor on this
        # shared engine could only take it in the short time between expiry and our removal)
        labels={labels.ROLE: labels.ROLE_STEP, labels.EXPIRES: str(time.time() + 1.0)},
    )["Id"]
    try:
        await _until(lambda: "janitor: pass failed" in caplog.text, "the failure is logged")
        await asyncio.sleep(1.5)  # several failed passes, and the container has expired
        assert not cleanup.done(), "the janitor stopped after a failure"
        assert docker_client.api.containers(all=True, filters={"id": leftover})
        failures = [r for r in caplog.records if "pass failed" in r.getMessage()]
        assert len(failures) == 1, "an outage is logged once, not once per pass"

        await proxy.start()
        await _until(
            lambda: not docker_client.api.containers(all=True, filters={"id": leftover}),
            "the expired container is removed once the engine is back",
        )
        await _until(lambda: leftover[:12] in caplog.text, "the removal is logged")
        assert "janitor: works again after" in caplog.text
        assert not cleanup.done()
    finally:
        cleanup.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await cleanup
        await proxy.stop()
        through_proxy.close()
        with contextlib.suppress(docker.errors.NotFound):
            docker_client.api.remove_container(leftover, force=True)
