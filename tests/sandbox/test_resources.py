"""Attacks on the host's resources: processes, memory, CPU, time, disk and descriptors."""

from __future__ import annotations

import errno
import shutil
import subprocess

import docker

from sandbox.config import SandboxConfig
from sandbox.errors import ErrorType
from tests.sandbox.conftest import RunStep


def _host_can_still_fork() -> None:
    assert subprocess.run(["true"], check=False).returncode == 0


def test_fork_bomb_is_contained(run_step: RunStep, sandbox_config: SandboxConfig) -> None:
    result = run_step(
        """
        import os, time
        def main():
            forked = 0
            while True:
                try:
                    pid = os.fork()
                except OSError as exc:
                    return {"forked": forked, "errno": exc.errno}
                if pid == 0:
                    while True:          # every child keeps forking too
                        try:
                            os.fork()
                        except OSError:
                            time.sleep(60)
                forked += 1
        """
    )
    assert result.error is None, result.error
    assert result.output["errno"] == errno.EAGAIN
    assert result.output["forked"] < sandbox_config.pids_limit
    _host_can_still_fork()


def test_thread_bomb_is_contained(run_step: RunStep, sandbox_config: SandboxConfig) -> None:
    result = run_step(
        """
        import threading, time
        def main():
            started = 0
            try:
                while True:
                    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
                    started += 1
            except RuntimeError as exc:
                return {"threads": started, "error": str(exc)}
        """
    )
    assert result.error is None, result.error
    assert result.output["threads"] < sandbox_config.pids_limit
    assert "can't start new thread" in result.output["error"]
    _host_can_still_fork()


def test_memory_bomb_is_memory_limit_exceeded_without_swap(run_step: RunStep) -> None:
    result = run_step(
        """
        def main():
            hoard = []
            while True:
                hoard.append(bytearray(8 * 1024 * 1024))
        """,
        memory_mb=64,
    )
    assert result.error is not None
    assert result.error.type is ErrorType.MEMORY
    assert not result.error.retryable
    assert result.oom_killed
    assert result.exit_code == 137


def test_memory_limit_leaves_no_swap(run_step: RunStep) -> None:
    result = run_step(
        """
        import os
        def read(path):
            try:
                with open(path) as f:
                    return f.read().strip()
            except OSError:
                return None
        def main():
            v1 = "/sys/fs/cgroup/memory/"
            return {
                "v1_limit": read(v1 + "memory.limit_in_bytes"),
                "v1_memsw": read(v1 + "memory.memsw.limit_in_bytes"),
                "v2_max": read("/sys/fs/cgroup/memory.max"),
                "v2_swap": read("/sys/fs/cgroup/memory.swap.max"),
            }
        """,
        memory_mb=96,
    )
    limits = result.output
    if limits["v2_max"] is not None:
        assert int(limits["v2_max"]) == 96 * 1024 * 1024
        assert limits["v2_swap"] == "0"
    else:
        assert int(limits["v1_limit"]) == 96 * 1024 * 1024
        assert limits["v1_memsw"] == limits["v1_limit"]


def test_cpu_spin_is_killed_at_the_deadline(run_step: RunStep) -> None:
    result = run_step("def main():\n    while True:\n        pass\n", timeout_s=2)
    assert result.error is not None
    assert result.error.type is ErrorType.TIMEOUT
    assert result.timed_out
    assert 2000 <= result.duration_ms < 6000


def test_sleeping_forever_is_killed_at_the_deadline(run_step: RunStep) -> None:
    result = run_step("import time\ndef main():\n    time.sleep(10**6)\n", timeout_s=1.5)
    assert result.error is not None
    assert result.error.type is ErrorType.TIMEOUT
    assert 1500 <= result.duration_ms < 5000


def test_ignoring_sigterm_does_not_survive_the_deadline(run_step: RunStep) -> None:
    result = run_step(
        """
        import signal, subprocess, time
        def main():
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            subprocess.Popen(["sh", "-c", "trap '' TERM; while :; do sleep 1; done"])
            while True:
                time.sleep(1)
        """,
        timeout_s=2,
    )
    assert result.error is not None
    assert result.error.type is ErrorType.TIMEOUT
    assert result.exit_code == 137
    assert result.duration_ms < 6000


def test_filling_tmp_stops_at_its_cap_and_spares_the_host_disk(
    run_step: RunStep, sandbox_config: SandboxConfig, docker_client: docker.DockerClient
) -> None:
    docker_root = docker_client.info()["DockerRootDir"]
    free_before = shutil.disk_usage(docker_root).free
    result = run_step(
        """
        def main():
            written, index = 0, 0
            block = b"d" * (1024 * 1024)
            while True:
                try:
                    with open(f"/tmp/fill-{index}", "wb") as f:
                        for _ in range(8):
                            f.write(block)
                            f.flush()
                            written += 1
                except OSError as exc:
                    return {"mb": written, "errno": exc.errno}
                index += 1
        """,
        memory_mb=256,
    )
    assert result.error is None, result.error
    assert result.output["errno"] == errno.ENOSPC
    assert result.output["mb"] <= sandbox_config.tmp_mb
    free_after = shutil.disk_usage(docker_root).free
    assert abs(free_before - free_after) < 32 * 1024 * 1024


def test_writing_past_fsize_fails(run_step: RunStep, sandbox_config: SandboxConfig) -> None:
    result = run_step(
        """
        import os
        def main():
            written = 0
            fd = os.open("/tmp/big", os.O_WRONLY | os.O_CREAT)
            try:
                while True:
                    written += os.write(fd, b"f" * 65536)
            except OSError as exc:
                return {"bytes": written, "errno": exc.errno}
        """,
        memory_mb=256,
    )
    assert result.error is None, result.error
    assert result.output["errno"] in (errno.EFBIG, errno.ENOSPC)
    assert result.output["bytes"] <= sandbox_config.fsize_mb * 1024 * 1024


def test_opening_thousands_of_files_hits_nofile(
    run_step: RunStep, sandbox_config: SandboxConfig
) -> None:
    result = run_step(
        """
        def main():
            handles = []
            try:
                while True:
                    handles.append(open("/dev/null"))
            except OSError as exc:
                return {"opened": len(handles), "errno": exc.errno}
        """
    )
    assert result.error is None, result.error
    assert result.output["errno"] == 24  # EMFILE
    assert result.output["opened"] < sandbox_config.nofile


def test_a_child_oom_killed_while_the_step_succeeds_is_memory_limit_exceeded(
    run_step: RunStep,
) -> None:
    # The step survives its child's OOM kill and reports success: the host's count of OOM
    # kills in the container (not the step's word) makes it MemoryLimitExceeded.
    result = run_step(
        """
        import subprocess, sys
        HOG = "hoard = []\\nwhile True: hoard.append(bytearray(8 << 20))"
        def main():
            child = subprocess.run([sys.executable, "-c", HOG], check=False)
            return {"child": child.returncode}
        """,
        memory_mb=64,
    )
    assert result.error is not None, result.output
    assert result.error.type is ErrorType.MEMORY
    assert result.oom_killed
    assert result.output is None
