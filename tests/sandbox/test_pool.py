"""Attacks on warm pools with real containers: sharing, tenant data, reach, failures, crashes."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import textwrap
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import docker
import pytest
from docker.errors import NotFound

from sandbox import labels
from sandbox.config import ENV_ALLOWLIST, SandboxConfig
from sandbox.envelope import Envelope, StepContext
from sandbox.hardening import RUNNER_COMMAND
from sandbox.janitor import collect_containers
from sandbox.launcher import Sandbox
from sandbox.pool_keys import PoolKey
from tests.sandbox.conftest import make_bundle

REPO = Path(__file__).resolve().parents[2]
SECRET = "pool-secret-value-4711"
WHO_AM_I = """
import os, secrets
def main(probe=None):
    seen = {}
    for path in ("/tmp/marker", "/work/marker"):
        seen[path] = os.path.exists(path)
        with open(path, "w") as handle:
            handle.write("earlier tenant")
    return {"seen": seen, "token": secrets.token_hex(8)}
"""


@pytest.fixture
def pooled(
    docker_client: docker.DockerClient, sandbox_config: SandboxConfig, base_image: str
) -> Iterator[Sandbox]:
    """A sandbox whose pools are only what a test pins with ``warm`` (pool_size 0)."""
    sandbox = Sandbox(docker_client, replace(sandbox_config, pool_size=0, pool_idle_s=600))
    yield sandbox
    sandbox.close()
    assert _pooled_containers(docker_client) == [], "close() drains every pool"


def _pooled_containers(client: docker.DockerClient, owner: str | None = None) -> list[str]:
    label = f"{labels.OWNER}={owner or labels.owner_id()}"
    found = client.api.containers(
        all=True, filters={"label": [f"{labels.ROLE}={labels.ROLE_POOLED}", label]}
    )
    return [str(c["Id"]) for c in found]


def _warm(sandbox: Sandbox, key: PoolKey, count: int) -> list[str]:
    sandbox.pools.warm(key, count)
    assert sandbox.pools.wait_ready(120), sandbox.pools.stats()
    return _pooled_containers(sandbox._client)


def _envelope(run_id: str, payload: Any = None, secrets: dict[str, str] | None = None) -> Envelope:
    return Envelope(input=payload or {}, secrets=secrets or {}, context=StepContext(run_id=run_id))


def _gone(client: docker.DockerClient, container_id: str) -> bool:
    try:
        client.api.inspect_container(container_id)
    except NotFound:
        return True
    return False


def test_two_executions_never_share_a_container(
    pooled: Sandbox, docker_client: docker.DockerClient, run_id: str
) -> None:
    bundle = make_bundle(WHO_AM_I)
    waiting = _warm(pooled, pooled.pool_key(bundle), 2)
    results = [pooled.run(bundle, _envelope(run_id)) for _ in range(4)]
    for result in results:
        assert result.ok, (result.error, result.logs)
        # nothing an earlier execution wrote is there
        assert result.output["seen"] == {"/tmp/marker": False, "/work/marker": False}
    ids = [result.container_id for result in results]
    assert len(set(ids)) == 4
    assert set(waiting) <= set(ids), "the first executions were served by the warm pool"
    assert pooled.pools.stats()["hits"] >= 2
    pooled.flush()
    assert all(_gone(docker_client, container_id) for container_id in ids)


def test_a_pooled_container_holds_no_tenant_data_before_handoff(
    pooled: Sandbox, docker_client: docker.DockerClient, run_id: str
) -> None:
    bundle = make_bundle("def main(text):\n    return {'echo': text}\n")
    key = pooled.pool_key(bundle)
    first = _warm(pooled, key, 1)
    result = pooled.run(bundle, _envelope(run_id, {"text": "tenant input"}, {"TOKEN": SECRET}))
    assert result.ok and result.container_id == first[0]
    assert pooled.pools.wait_ready(120)
    (waiting,) = _pooled_containers(docker_client)
    assert waiting != first[0]
    info = docker_client.api.inspect_container(waiting)
    config, host = info["Config"], info["HostConfig"]
    assert sorted(config["Env"]) == sorted(f"{k}={v}" for k, v in ENV_ALLOWLIST.items())
    assert config["Cmd"] == RUNNER_COMMAND
    assert labels.RUN_ID not in config["Labels"] and labels.STEP_ID not in config["Labels"]
    assert config["Labels"][labels.ROLE] == labels.ROLE_POOLED
    assert info["Mounts"] == [] and not host.get("Binds")
    assert info["Image"] == key.image
    for directory in ("/opt/stepwell/bundle", "/tmp", "/work"):
        assert _files_in(docker_client, waiting, directory) == [], directory
    dump = json.dumps(info)
    for tenant_value in (SECRET, "tenant input", run_id, bundle.digest):
        assert tenant_value not in dump


def _files_in(client: docker.DockerClient, container_id: str, directory: str) -> list[str]:
    stream, _ = client.api.get_archive(container_id, directory)
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        root = directory.rstrip("/").rsplit("/", 1)[-1]
        return [m.name for m in tar.getmembers() if m.name != root]


def test_a_step_cannot_see_signal_or_write_to_pooled_containers(
    pooled: Sandbox, docker_client: docker.DockerClient, run_id: str
) -> None:
    probe = make_bundle(
        """
        import os, signal
        def main():
            pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
            text = []
            for pid in pids:
                for name in ("cmdline", "cgroup", "mountinfo", "environ"):
                    try:
                        with open(f"/proc/{pid}/{name}", "rb") as handle:
                            text.append(handle.read().decode("utf-8", "replace"))
                    except OSError:
                        pass
            signalled = []
            for pid in range(2, 32768):
                if pid in pids:
                    continue
                try:
                    os.kill(pid, signal.SIGKILL)
                    signalled.append(pid)
                except OSError:
                    pass
            written = []
            for path in ("/var/lib/docker/x", "/run/x", "/proc/sysrq-trigger"):
                try:
                    with open(path, "w") as handle:
                        handle.write("x")
                    written.append(path)
                except OSError:
                    pass
            return {"pids": pids, "text": "\\n".join(text), "signalled": signalled,
                    "written": written}
        """
    )
    waiting = _warm(pooled, pooled.pool_key(probe), 3)
    before = {c: docker_client.api.inspect_container(c)["State"]["StartedAt"] for c in waiting}
    result = pooled.run(probe, _envelope(run_id))
    assert result.ok, (result.error, result.logs)
    out = result.output
    assert out["signalled"] == [] and out["written"] == []
    assert len(out["pids"]) < 10, "only its own processes are visible"
    others = [c for c in waiting if c != result.container_id]
    assert len(others) == 2
    for other in others:
        assert other not in out["text"] and other[:12] not in out["text"]
        state = docker_client.api.inspect_container(other)["State"]
        assert state["Running"] and state["StartedAt"] == before[other]
    # and they still work: each serves one more execution, untouched
    echo = make_bundle("def main():\n    return 'fine'\n")
    served = {pooled.run(echo, _envelope(run_id)).container_id for _ in others}
    assert served == set(others)


def test_handoff_to_a_container_that_died_while_idle_falls_back_cold(
    pooled: Sandbox, docker_client: docker.DockerClient, run_id: str
) -> None:
    bundle = make_bundle("def main():\n    return 'served'\n")
    (dead,) = _warm(pooled, pooled.pool_key(bundle), 1)
    docker_client.api.kill(dead, signal="SIGKILL")
    docker_client.api.wait(dead, timeout=30)
    result = pooled.run(bundle, _envelope(run_id))
    assert result.ok and result.output == "served"
    assert result.container_id != dead
    pooled.flush()
    assert _gone(docker_client, dead)


def test_a_container_that_exits_before_reading_its_envelope_falls_back_cold(
    docker_client: docker.DockerClient, sandbox_config: SandboxConfig, base_image: str, run_id: str
) -> None:
    sandbox = Sandbox(docker_client, replace(sandbox_config, pool_size=0))
    # A runner that says READY, then dies at the first byte of its envelope, without RECEIVED.
    sandbox.filler.command = (
        "python3",
        "-c",
        "import os, sys; os.write(1, b'stepwell:ready\\n'); sys.stdin.buffer.read(1); os._exit(3)",
    )
    try:
        bundle = make_bundle("def main():\n    return 'served'\n")
        (broken,) = _warm(sandbox, sandbox.pool_key(bundle), 1)
        result = sandbox.run(bundle, _envelope(run_id, secrets={"TOKEN": SECRET}))
        assert result.ok and result.output == "served", (result.error, result.logs)
        assert result.container_id != broken
        sandbox.flush()
        assert _gone(docker_client, broken)
    finally:
        sandbox.close()


def test_a_killed_worker_leaves_no_pooled_container_after_the_next_janitor_pass(
    docker_client: docker.DockerClient, sandbox_config: SandboxConfig, base_image: str
) -> None:
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        import docker
        from sandbox.config import SandboxConfig
        from sandbox.launcher import Sandbox
        from sandbox.pool_keys import PoolKey
        from step_sdk.manifest import Limits
        config = SandboxConfig(cache_dir=Path({str(sandbox_config.cache_dir)!r}))
        sandbox = Sandbox(docker.from_env(), config)
        sandbox.pools.warm(PoolKey.of({base_image!r}, Limits(), egress=False), 2)
        assert sandbox.pools.wait_ready(120)
        print("ready", flush=True)
        time.sleep(600)
        """
    )
    worker = subprocess.Popen(
        [sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    try:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
        owner = f"{labels.owner_id().rpartition(':')[0]}:{worker.pid}"
        left = _pooled_containers(docker_client, owner)
        assert len(left) == 2
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    removed = collect_containers(docker_client)
    assert set(left) <= set(removed)
    assert _pooled_containers(docker_client, owner) == []


def test_pool_size_zero_is_the_cold_path(
    docker_client: docker.DockerClient, sandbox: Sandbox, run_id: str
) -> None:
    assert sandbox.config.pool_size == 0
    result = sandbox.run(make_bundle("def main():\n    return 1\n"), _envelope(run_id))
    assert result.ok
    assert sandbox.pools.stats()["hits"] == 0 and sandbox.pools.keeps_warm() == {}
    assert _pooled_containers(docker_client) == []
    assert _gone(docker_client, result.container_id)  # removed before run() returned


def test_the_deadline_starts_at_handoff_not_when_the_container_started(
    pooled: Sandbox, docker_client: docker.DockerClient, run_id: str
) -> None:
    bundle = make_bundle(
        "import time\ndef main():\n    time.sleep(2)\n    return 'done'\n", timeout_s=5
    )
    (waiting,) = _warm(pooled, pooled.pool_key(bundle), 1)
    # Let the container wait longer than the step's whole time limit before it is handed over.
    time.sleep(6)
    result = pooled.run(bundle, _envelope(run_id))
    assert result.container_id == waiting
    assert result.ok and result.output == "done", (result.error, result.logs)
