"""What replaces Chromium's own sandbox in a browser step (docs/browser.md), checked from the
host: the container's hardening as the engine holds it, the browser's processes as the host's
kernel sees them, and what file:///, /proc and chrome:// pages show of the host (nothing)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from sandbox.config import SANDBOX_USER, SandboxConfig
from sandbox.errors import ErrorType
from tests.sandbox.browser_fixtures import RunBrowser, step_containers, while_running

# Holds a browser with a page open until the deadline; its browser process carries ``marker``
# on its command line so the host can find it.
HOLD_OPEN = """
import time
from step_sdk.browser import browser

def main(marker: str):
    with browser(args=[f"--stepwell-test-marker={marker}"]) as chromium:
        page = chromium.new_page()
        page.set_content("<p>open</p>")
        while True:
            page.wait_for_timeout(1000)
"""


def _status(pid: str) -> dict[str, str]:
    fields = {}
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def _descendants(root: str) -> list[str]:
    children: dict[str, list[str]] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            children.setdefault(_status(pid)["PPid"], []).append(pid)
        except OSError:
            continue
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _browser_pid(marker: str) -> str | None:
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                command = handle.read().split(b"\0")
        except OSError:
            continue
        if f"--stepwell-test-marker={marker}".encode() in command and b"--type" not in b"".join(
            a[:6] for a in command
        ):
            return pid
    return None


def test_the_browser_runs_in_a_hardened_container_under_seccomp_without_privileges(
    run_browser: RunBrowser,
    docker_client: docker.DockerClient,
    sandbox_config: SandboxConfig,
    run_id: str,
) -> None:
    marker = uuid.uuid4().hex
    seen: dict[str, object] = {}

    def probe() -> bool:
        containers = step_containers(docker_client, run_id)
        pid = _browser_pid(marker)
        if not containers or pid is None:
            return False
        processes = _descendants(pid)
        if len(processes) < 3:  # the browser, its zygotes/utilities and a renderer
            return False
        seen["host_config"] = containers[0]["HostConfig"]
        seen["config"] = containers[0]["Config"]
        seen["processes"] = {p: _status(p) for p in processes}
        return True

    result = while_running(lambda: run_browser(HOLD_OPEN, {"marker": marker}, timeout_s=5), probe)
    assert result.error is not None and result.error.type is ErrorType.TIMEOUT

    host = seen["host_config"]
    assert isinstance(host, dict)
    assert host["Privileged"] is False
    assert host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"] and not host["CapAdd"]
    assert host["SecurityOpt"] == ["no-new-privileges:true"]  # Docker's default seccomp, no other
    assert host["NetworkMode"] == "none"
    assert host["PidsLimit"] == sandbox_config.browser_pids_limit
    assert host["Memory"] == 1024 * 1024 * 1024 == host["MemorySwap"]
    assert not host.get("Binds") and not host.get("Devices")
    config = seen["config"]
    assert isinstance(config, dict) and config["User"] == SANDBOX_USER
    uid = SANDBOX_USER.split(":")[0]
    processes = seen["processes"]
    assert isinstance(processes, dict)
    for pid, status in processes.items():
        # every Chromium process, as the host's kernel sees it: the step's user, no
        # capabilities, no way to gain privileges, and Docker's seccomp filter
        assert status["Uid"].split()[0] != "0", (pid, status["Uid"])
        assert status["CapEff"] == "0000000000000000", (pid, status["CapEff"])
        assert status["NoNewPrivs"] == "1", pid
        assert status["Seccomp"] == "2", pid
    # the host sees the step user's uid as-is (no user namespace): it is not root anywhere
    assert all(s["Uid"].split()[0] == uid for s in processes.values())


@pytest.fixture
def canary() -> Iterator[tuple[Path, str]]:
    """A file on the host with a secret only the host knows."""
    secret = f"stepwell-canary-{uuid.uuid4().hex}"
    path = Path("/tmp") / f"stepwell-canary-{uuid.uuid4().hex}.txt"
    path.write_text(secret)
    yield path, secret
    path.unlink(missing_ok=True)


LOOK = """
from step_sdk.browser import browser

def main(urls: list[str]):
    seen = {}
    with browser() as chromium:
        for url in urls:
            page = chromium.new_page()  # a failed navigation must not interrupt the next
            try:
                page.goto(url, timeout=10_000)
                seen[url] = page.content()[:200_000]
            except Exception as exc:
                seen[url] = f"refused: {type(exc).__name__}: {str(exc)[:200]}"
            page.close()
    return seen
"""


def test_file_urls_show_nothing_of_the_host(
    run_browser: RunBrowser, canary: tuple[Path, str]
) -> None:
    path, secret = canary
    host_hostname = Path("/etc/hostname").read_text().strip()
    urls = [
        f"file://{path}",
        "file:///tmp/",
        "file:///",
        "file:///proc/1/cmdline",
        "file:///proc/self/mountinfo",
        "file:///etc/hostname",
        "file:///var/run/docker.sock",
    ]
    result = run_browser(LOOK, {"urls": urls}, output_kb=1536)
    assert result.error is None, (result.error, result.logs[-2000:])
    seen = result.output
    everything = "\n".join(seen.values())
    assert secret not in everything
    assert path.name not in seen["file:///tmp/"]  # the container's own /tmp, not the host's
    assert "stepwell-sandbox" in seen["file:///etc/hostname"]
    if host_hostname != "stepwell-sandbox":
        assert host_hostname not in seen["file:///etc/hostname"]
    # the root listing is the image's (it lists /opt), without the host's own top-level folders
    assert 'addRow("opt"' in seen["file:///"]
    for name in os.listdir("/"):
        if name not in _IMAGE_ROOT:
            assert f'addRow("{name}"' not in seen["file:///"], name
    assert 'addRow("docker.sock"' not in seen["file:///tmp/"]
    # /proc reads as empty pages (Chromium reads files by their size, 0 there); whatever shows
    # is the container's: never the host's init or mounts
    host_init = Path("/proc/1/cmdline").read_bytes().split(b"\0")[0].decode()
    assert host_init not in seen["file:///proc/1/cmdline"]
    assert "/var/lib/docker" not in seen["file:///proc/self/mountinfo"]


# Top-level entries a Debian root filesystem has too (their presence in the listing says nothing).
_IMAGE_ROOT = {
    "bin", "boot", "dev", "etc", "home", "lib", "lib32", "lib64", "libx32", "media", "mnt",
    "opt", "proc", "root", "run", "sbin", "srv", "sys", "tmp", "usr", "var", "work", ".dockerenv",
}  # fmt: skip


def test_chrome_pages_show_nothing_of_the_host(
    run_browser: RunBrowser, canary: tuple[Path, str]
) -> None:
    _path, secret = canary
    urls = ["chrome://version", "chrome://gpu", "chrome://net-internals", "chrome://settings"]
    result = run_browser(LOOK, {"urls": urls}, output_kb=1536)
    assert result.error is None, (result.error, result.logs[-2000:])
    version = result.output["chrome://version"]
    everything = "\n".join(result.output.values())
    assert secret not in everything
    # what chrome://version reports is the container's browser: Debian's binary, no sandbox
    assert "/usr/lib/chromium/chromium" in version or "/usr/bin/chromium" in version
    assert "--no-sandbox" in version
    assert "/work/" not in everything.replace("/work/ ", "")
