"""A real ``stepwell up`` for the browser tests: its own home and free ports, the output it
prints collected as it comes, an API client with the key it printed, and a clean stop."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import docker
import httpx

from stepwell.leases import owner_prefix
from tests.cli.test_up import STEPWELL, children, free_port, is_alive, up_env

READY = "Ctrl-C stops everything"
START_TIMEOUT_S = 240
STOP_TIMEOUT_S = 90


@dataclass
class Output:
    """What the process printed so far, appended by a reader thread."""

    lines: list[str] = field(default_factory=list)
    ready: threading.Event = field(default_factory=threading.Event)
    ended: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            with self._lock:
                self.lines.append(line)
            if READY in line:
                self.ready.set()
        self.ended.set()

    def text(self) -> str:
        with self._lock:
            return "".join(self.lines)


@dataclass
class ConsoleStack:
    """A running ``stepwell up``.

    Attributes:
        base_url: the console's and the API's origin, e.g. ``http://127.0.0.1:41234``.
        api_key: the key of the ``default`` workspace that ``stepwell up`` printed.
        home: its STEPWELL_HOME.
        api: an httpx client on ``base_url`` sending ``Authorization: Bearer <api_key>``.
        started_in_s: how long it took until ``stepwell up`` printed its summary.
    """

    base_url: str
    api_key: str
    home: Path
    api: httpx.Client
    process: subprocess.Popen[str]
    started_in_s: float
    _output: Output

    def output(self) -> str:
        """Everything ``stepwell up`` printed so far (stdout and stderr)."""
        return self._output.text()

    def output_after_summary(self) -> str:
        """What it printed after the summary's last line (``Ctrl-C stops everything.``)."""
        text = self.output()
        return text[text.index(READY) + len(READY) :]


def _descendants(pid: int) -> list[int]:
    found = []
    for child, _name in children(pid):
        found += [child, *_descendants(child)]
    return found


def _containers_of(engine: docker.DockerClient, pid: int) -> list[str]:
    """Containers whose ``stepwell.owner`` label names this process: its worker's owner id
    (stepwell.leases) or, for a process without a lease, ``<hostname>:<pid>``."""
    legacy, prefix = f"{socket.gethostname()}:{pid}", owner_prefix(pid=pid)
    found = [
        container
        for container in engine.containers.list(all=True, filters={"label": "stepwell.owner"})
        if (owner := container.labels.get("stepwell.owner", "")) == legacy
        or owner.startswith(prefix)
    ]
    return [f"{container.name} ({container.status})" for container in found]


@contextmanager
def running_stack(home: Path, engine: docker.DockerClient) -> Iterator[ConsoleStack]:
    """Start ``stepwell up`` with ``home`` as its home; on exit stop it with SIGINT and check
    that it exited with 0 and left no process and no container of its own behind."""
    api_port = free_port()
    env = up_env(home, api_port, free_port(), free_port())
    started = time.monotonic()
    process = subprocess.Popen(
        [STEPWELL, "up"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        bufsize=1,
    )  # fmt: skip
    output = Output()
    reader = threading.Thread(target=output.read, args=(process.stdout,), daemon=True)
    reader.start()
    spawned: list[int] = []
    try:
        while not output.ready.wait(0.2):
            if output.ended.is_set() or time.monotonic() - started > START_TIMEOUT_S:
                raise AssertionError(f"stepwell up did not start:\n{output.text()}")
        started_in_s = time.monotonic() - started
        spawned = _descendants(process.pid)
        key = re.search(r"API key\s+(sw_\S+)", output.text())
        assert key, output.text()
        base_url = f"http://127.0.0.1:{api_port}"
        headers = {"Authorization": f"Bearer {key.group(1)}"}
        with httpx.Client(base_url=base_url, headers=headers, timeout=30) as api:
            yield ConsoleStack(base_url, key.group(1), home, api, process, started_in_s, output)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            code = process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise AssertionError(
                f"stepwell up did not stop on SIGINT in {STOP_TIMEOUT_S} s:\n{output.text()}"
            ) from None
        reader.join(10)
    assert code == 0, f"stepwell up exited with {code}:\n{output.text()}"
    left = [pid for pid in spawned if is_alive(pid)]
    assert not left, f"processes of stepwell up outlived it: {left}\n{output.text()}"
    containers = _containers_of(engine, process.pid)
    assert not containers, f"containers of stepwell up outlived it: {containers}"
