"""One hardened step container: created, attached and started, before any tenant data exists.

The cold path and the warm pools (``sandbox.pool``) make containers the same way, here: the
configuration comes from ``sandbox.hardening`` only, the attach happens before the start (so no
output is missed), and nothing of a tenant is known yet: the envelope, with the step's code,
goes in later, at handoff (``sandbox.launcher``).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import select
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from docker import APIClient
from docker.errors import APIError, DockerException, NotFound
from requests.exceptions import RequestException

from sandbox.attach import AttachedStreams
from sandbox.config import SandboxConfig
from sandbox.egress.gateway import Lease
from sandbox.errors import SandboxError
from sandbox.hardening import container_kwargs, host_config_kwargs
from sandbox.preamble import Preamble
from sandbox.streams import STDOUT, Demultiplexer
from step_sdk.manifest import Limits
from step_sdk.runtimes import PYTHON

DOCKER_ERRORS = (APIError, RequestException, DockerException)


@dataclass(frozen=True)
class ContainerSpec:
    """What a container is created with; none of it can change once it exists.

    ``command`` replaces the runner's default one: the cold path's (no preload), or a broken
    runner's in tests.
    """

    image: str
    limits: Limits
    labels: dict[str, str]
    lease: Lease | None = None
    command: tuple[str, ...] | None = None
    # the step's runtime: browser steps get their own pids and /tmp caps (sandbox.hardening)
    runtime: str = PYTHON


@dataclass
class StartedContainer:
    """A started container with its attach stream, and the stdout bytes read so far."""

    id: str
    streams: AttachedStreams
    lease: Lease | None
    started_at: float = field(default_factory=time.monotonic)
    demux: Demultiplexer = field(default_factory=Demultiplexer)
    preamble: Preamble = field(default_factory=Preamble)
    # (stream, payload) pieces read while waiting for READY that come after it
    pending: list[tuple[int, bytes]] = field(default_factory=list)
    ended: bool = False

    def wait_ready(self, timeout_s: float) -> bool:
        """Read until the runner says ``READY``; False if it ends, errs or stays silent.

        Whatever the container wrote on stderr meanwhile is the runner's own start-up output
        (no tenant code exists yet) and is dropped.
        """
        give_up = time.monotonic() + timeout_s
        while not self.preamble.ready:
            now = time.monotonic()
            if now >= give_up or self.ended:
                return False
            chunk = self.streams.read(give_up - now)
            if chunk is None:
                continue
            if not chunk:
                self.ended = True
                return False
            for stream, data in self.demux.feed(chunk):
                if stream != STDOUT:
                    continue
                rest = self.preamble.feed(data) if not self.preamble.violated else data
                if self.preamble.violated:
                    return False
                if rest:
                    self.pending.append((stream, rest))
        return True

    def idle_and_alive(self) -> bool:
        """True if the container has said nothing since ``READY`` and its stream is open.

        A local check (no engine call): a container that died while idle has closed its
        attach stream, and one that talks while waiting is not what a runner does.
        """
        if self.ended or self.pending:
            return False
        readable, _, _ = select.select([self.streams.socket], [], [], 0)
        return not readable

    def drain(self) -> Iterator[tuple[int, bytes]]:
        """The pieces read ahead of time, once."""
        pending, self.pending = self.pending, []
        yield from pending


def start_container(api: APIClient, config: SandboxConfig, spec: ContainerSpec) -> StartedContainer:
    """Create (hardened, labelled), attach and start a container; remove it if any step fails.

    Raises:
        SandboxError: the engine refused or failed.
    """
    try:
        host_config = api.create_host_config(
            **host_config_kwargs(
                config,
                spec.limits,
                spec.lease.source if spec.lease is not None else None,
                runtime=spec.runtime,
            )
        )
        container_config = api.create_container_config(
            host_config=host_config,
            **container_kwargs(
                spec.image,
                spec.labels,
                list(spec.command) if spec.command else None,
                egress=spec.lease is not None,
            ),
        )
        # Close the step's stdin once the host half-closes the attach stream (docker-py has
        # no keyword for it).
        container_config["StdinOnce"] = True
        created = api.create_container_from_config(container_config)  # type: ignore[no-untyped-call]
    except DOCKER_ERRORS as exc:
        raise SandboxError(f"cannot create the step container: {exc}") from exc
    container_id = str(created["Id"])
    try:
        streams = AttachedStreams(
            api.attach_socket(
                container_id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
            )
        )
    except DOCKER_ERRORS as exc:
        remove_container(api, container_id)
        raise SandboxError(f"cannot attach to the step container: {exc}") from exc
    try:
        api.start(container_id)
    except DOCKER_ERRORS as exc:
        streams.close()
        remove_container(api, container_id)
        raise SandboxError(f"cannot start the step container: {exc}") from exc
    return StartedContainer(id=container_id, streams=streams, lease=spec.lease)


def remove_container(api: APIClient, container_id: str) -> None:
    """Force-remove a container (and its anonymous volumes); a missing one is fine."""
    for _ in range(3):
        try:
            api.remove_container(container_id, force=True, v=True)
            return
        except NotFound:
            return
        except (APIError, RequestException):
            time.sleep(0.2)


def discard(api: APIClient, container: StartedContainer) -> None:
    """Close the stream and remove the container: used or failed containers never go back."""
    container.streams.close()
    with contextlib.suppress(Exception):
        remove_container(api, container.id)


class Reaper:
    """Runs removals on a background thread, so they are off an execution's critical path.
    :meth:`flush` waits until everything handed over so far is done."""

    def __init__(self, api: APIClient) -> None:
        self._api = api
        self._queue: queue.Queue[Callable[[], None]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def remove(self, container: StartedContainer, then: Callable[[], None] | None = None) -> None:
        """Close ``container``'s stream now, remove it soon, then call ``then``."""
        container.streams.close()

        def work() -> None:
            discard(self._api, container)
            if then is not None:
                then()

        self.submit(work)

    def submit(self, work: Callable[[], None]) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="stepwell-reaper", daemon=True
                )
                self._thread.start()
        self._queue.put(work)

    def flush(self) -> None:
        """Block until everything submitted so far has run."""
        self._queue.join()

    def _run(self) -> None:
        while True:
            work = self._queue.get()
            try:
                work()
            except Exception:  # best effort: the janitor removes what is left
                logging.getLogger("stepwell.sandbox").exception("removing a container failed")
            finally:
                self._queue.task_done()
