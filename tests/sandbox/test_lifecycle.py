"""Containers are used once and always removed: leftovers, zombies, cancellation, the janitor."""

from __future__ import annotations

import os
import threading
import time

import docker
import pytest

from sandbox import labels
from sandbox.config import SandboxConfig
from sandbox.envelope import Envelope, StepContext
from sandbox.hardening import container_kwargs, host_config_kwargs
from sandbox.janitor import collect_containers
from sandbox.launcher import Sandbox, StepCancelled
from step_sdk.manifest import Limits
from tests.sandbox.conftest import RunStep, host_processes_with, make_bundle


def test_daemonised_grandchild_does_not_outlive_the_step(run_step: RunStep) -> None:
    marker = str(31_000 + os.getpid() % 1000)
    result = run_step(
        f"""
        import os
        def main():
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    os.execv("/bin/sleep", ["sleep", "{marker}"])
                os._exit(0)
            os.wait()
            return "parent done"
        """
    )
    assert result.output == "parent done"
    assert result.duration_ms < 5000
    time.sleep(0.5)
    assert host_processes_with(f"sleep\x00{marker}") == []


def test_zombies_are_reaped_by_init(run_step: RunStep) -> None:
    result = run_step(
        """
        import os, time
        def zombies():
            states = []
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    states.append(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0])
                except OSError:
                    pass
            return states.count("Z")
        def main():
            for _ in range(20):
                if os.fork() == 0:          # child: orphan a grandchild that exits at once
                    if os.fork() == 0:
                        time.sleep(0.2)
                        os._exit(0)
                    os._exit(0)
            for _ in range(20):
                os.wait()
            time.sleep(1)
            return {"zombies": zombies(), "pid1": open("/proc/1/comm").read().strip()}
        """
    )
    assert result.output["zombies"] == 0
    assert result.output["pid1"] != "python3"  # an init process is PID 1


def test_cancelling_a_running_step_kills_and_removes_its_container(
    sandbox: Sandbox, run_id: str, docker_client: docker.DockerClient
) -> None:
    bundle = make_bundle("import time\ndef main():\n    time.sleep(600)\n", timeout_s=600)
    cancel = threading.Event()
    threading.Timer(1.0, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(StepCancelled):
        sandbox.run(bundle, Envelope(input={}, context=StepContext(run_id=run_id)), cancel=cancel)
    assert time.monotonic() - started < 10


def test_live_log_lines_reach_the_callback_while_running(sandbox: Sandbox, run_id: str) -> None:
    bundle = make_bundle(
        """
        import time
        def main():
            for i in range(3):
                print("tick", i)
                time.sleep(0.3)
            return "ok"
        """
    )
    seen: list[tuple[float, bytes]] = []
    result = sandbox.run(
        bundle,
        Envelope(input={}, context=StepContext(run_id=run_id)),
        on_log=lambda text: seen.append((time.monotonic(), text)),
    )
    assert result.output == "ok"
    assert b"tick 0" in b"".join(data for _, data in seen)
    assert seen[-1][0] - seen[0][0] > 0.4  # lines arrived over time, not all at the end


def test_janitor_removes_containers_a_crashed_worker_left_behind(
    docker_client: docker.DockerClient, sandbox_config: SandboxConfig, base_image: str, run_id: str
) -> None:
    api = docker_client.api
    crashed_labels = {
        labels.ROLE: labels.ROLE_STEP,
        labels.RUN_ID: run_id,
        labels.CREATED: str(int(time.time()) - 3600),
        labels.EXPIRES: str(int(time.time()) - 60),
    }
    alive_labels = {**crashed_labels, labels.EXPIRES: str(int(time.time()) + 3600)}
    ids = []
    for container_labels in (crashed_labels, alive_labels):
        host_config = api.create_host_config(**host_config_kwargs(sandbox_config, Limits()))
        created = api.create_container(
            host_config=host_config,
            **container_kwargs(base_image, container_labels, ["sleep", "600"]),
        )
        api.start(created["Id"])
        ids.append(created["Id"])
    try:
        removed = collect_containers(docker_client)
        assert ids[0] in removed
        assert ids[1] not in removed
        remaining = [c["Id"] for c in api.containers(all=True, filters={"label": labels.ROLE})]
        assert ids[0] not in remaining and ids[1] in remaining
    finally:
        api.remove_container(ids[1], force=True)


def test_janitor_removes_containers_of_a_dead_worker_at_once(
    docker_client: docker.DockerClient, sandbox_config: SandboxConfig, base_image: str, run_id: str
) -> None:
    import socket

    gone_pid = _a_dead_pid()
    api = docker_client.api
    container_labels = {
        labels.ROLE: labels.ROLE_STEP,
        labels.RUN_ID: run_id,
        labels.CREATED: str(int(time.time())),
        labels.EXPIRES: str(int(time.time()) + 3600),
        labels.OWNER: f"{socket.gethostname()}:{gone_pid}",
    }
    host_config = api.create_host_config(**host_config_kwargs(sandbox_config, Limits()))
    created = api.create_container(
        host_config=host_config, **container_kwargs(base_image, container_labels, ["sleep", "600"])
    )
    api.start(created["Id"])
    assert created["Id"] in collect_containers(docker_client)


def _a_dead_pid() -> int:
    import subprocess

    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid
