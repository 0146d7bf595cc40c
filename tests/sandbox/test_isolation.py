"""Attacks on isolation: network, Docker, secrets, privileges, the filesystem, other tenants."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from sandbox.config import ENV_ALLOWLIST
from sandbox.envelope import Envelope, StepContext
from sandbox.launcher import Sandbox
from tests.sandbox.conftest import RunStep, make_bundle


def test_outbound_http_is_unreachable(run_step: RunStep) -> None:
    result = run_step(
        """
        import socket
        def main():
            outcomes = {}
            for host in ("1.1.1.1", "151.101.0.223", "8.8.8.8"):
                try:
                    socket.create_connection((host, 443), timeout=3).close()
                    outcomes[host] = "connected"
                except OSError as exc:
                    outcomes[host] = exc.errno
            return outcomes
        """
    )
    assert result.error is None, result.error
    assert "connected" not in result.output.values()


def test_dns_lookup_fails(run_step: RunStep) -> None:
    result = run_step(
        """
        import socket
        def main():
            try:
                return socket.getaddrinfo("pypi.org", 443)
            except OSError as exc:
                return "failed: " + str(exc)
        """
    )
    assert isinstance(result.output, str) and result.output.startswith("failed")


def test_only_loopback_exists_and_the_bridge_gateway_is_unreachable(run_step: RunStep) -> None:
    result = run_step(
        """
        import socket
        def main():
            with open("/proc/net/dev") as f:
                interfaces = [line.split(":")[0].strip() for line in f.readlines()[2:]]
            reached = []
            for port in (2375, 2376, 22, 80, 8000, 7233):
                try:
                    socket.create_connection(("172.17.0.1", port), timeout=2).close()
                    reached.append(port)
                except OSError:
                    pass
            return {"interfaces": interfaces, "reached": reached}
        """
    )
    assert result.output == {"interfaces": ["lo"], "reached": []}


def test_no_docker_socket_is_reachable(run_step: RunStep) -> None:
    result = run_step(
        """
        import glob, os
        def main():
            found = [p for p in ("/var/run/docker.sock", "/run/docker.sock",
                                 "/run/containerd/containerd.sock") if os.path.exists(p)]
            for top in os.listdir("/"):
                if top not in ("proc", "sys"):
                    found += glob.glob(f"/{top}/**/*.sock", recursive=True)
            return {"sockets": found, "docker_env": [k for k in os.environ if "DOCKER" in k]}
        """
    )
    assert result.output == {"sockets": [], "docker_env": []}


@pytest.fixture
def canary() -> Iterator[str]:
    value = "canary-" + os.urandom(8).hex()
    os.environ["STEPWELL_CANARY_SECRET"] = value
    os.environ["AWS_SECRET_ACCESS_KEY"] = value
    yield value
    del os.environ["STEPWELL_CANARY_SECRET"], os.environ["AWS_SECRET_ACCESS_KEY"]


def test_worker_environment_canaries_do_not_reach_the_step(run_step: RunStep, canary: str) -> None:
    result = run_step(
        """
        import os
        def main():
            pid1 = open("/proc/1/environ", "rb").read().decode(errors="replace")
            own = open("/proc/self/environ", "rb").read().decode(errors="replace")
            return {"environ": dict(os.environ), "pid1": pid1, "own": own}
        """
    )
    assert result.error is None, result.error
    assert canary not in str(result.output)
    assert set(result.output["environ"]) <= set(ENV_ALLOWLIST) | {"HOSTNAME"}


def test_effective_capabilities_are_zero(run_step: RunStep) -> None:
    result = run_step(
        """
        import os
        def main():
            status = dict(
                line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines()
                if ":\\t" in line
            )
            keys = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp")
            return {k: status.get(k, "").strip() for k in keys} | {"uid": os.getuid()}
        """
    )
    caps = result.output
    for key in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(caps[key], 16) == 0, key
    assert caps["NoNewPrivs"] == "1"
    assert caps["Seccomp"] == "2"  # filter mode: Docker's default profile is loaded
    assert caps["uid"] == 65534


def test_setuid_su_mount_and_unshare_gain_nothing(run_step: RunStep) -> None:
    result = run_step(
        """
        import os, subprocess
        def attempt(command):
            done = subprocess.run(command, capture_output=True, text=True, input="",
                                  timeout=10)
            return done.returncode
        def main():
            try:
                os.setuid(0)
                setuid = "gained"
            except PermissionError:
                setuid = "refused"
            os.makedirs("/tmp/m", exist_ok=True)
            return {
                "setuid": setuid,
                "su": attempt(["su", "-c", "id -u", "root"]),
                "mount": attempt(["mount", "-t", "tmpfs", "none", "/tmp/m"]),
                "unshare": attempt(["unshare", "-r", "id", "-u"]),
                "unshare_mount": attempt(["unshare", "-m", "true"]),
                "uid_after": os.getuid(),
                "euid_after": os.geteuid(),
            }
        """
    )
    out = result.output
    assert out["setuid"] == "refused"
    for tool in ("su", "mount", "unshare", "unshare_mount"):
        assert out[tool] != 0, tool
    assert out["uid_after"] == out["euid_after"] == 65534


def test_root_filesystem_is_read_only(run_step: RunStep) -> None:
    result = run_step(
        """
        import os
        def main():
            outcomes = {}
            for path in ("/evil", "/etc/evil", "/usr/evil", "/usr/lib/evil",
                         "/opt/stepwell/bundle/evil", "/opt/stepwell/runner.py"):
                try:
                    with open(path, "a") as f:
                        f.write("x")
                    outcomes[path] = "written"
                except OSError as exc:
                    outcomes[path] = exc.errno
            root = [m.split() for m in open("/proc/mounts") if m.split()[1] == "/"][0]
            return {"outcomes": outcomes, "root_options": root[3].split(",")}
        """
    )
    assert "written" not in result.output["outcomes"].values()
    assert "ro" in result.output["root_options"]


def test_tmp_is_noexec(run_step: RunStep) -> None:
    result = run_step(
        """
        import os, shutil, subprocess
        def main():
            shutil.copy("/bin/true", "/tmp/true")
            os.chmod("/tmp/true", 0o755)
            try:
                subprocess.run(["/tmp/true"], check=True)
                return "executed"
            except PermissionError:
                return "refused"
        """
    )
    assert result.output == "refused"


def test_files_left_in_tmp_are_gone_on_the_next_run(run_step: RunStep) -> None:
    first = run_step(
        """
        import os
        def main():
            open("/tmp/leftover", "w").write("from run one")
            open("/work/leftover", "w").write("from run one")
            return sorted(os.listdir("/tmp"))
        """
    )
    assert "leftover" in first.output
    second = run_step(
        """
        import os
        def main():
            return sorted(os.listdir("/tmp")) + sorted(os.listdir("/work"))
        """
    )
    assert second.output == []


def test_two_tenants_in_a_row_share_nothing(sandbox: Sandbox, run_id: str) -> None:
    writer = make_bundle(
        """
        import os
        def main():
            os.makedirs("/dev/shm", exist_ok=True)
            open("/dev/shm/tenant-a", "w").write("secret of tenant a")
            open("/tmp/tenant-a", "w").write("secret of tenant a")
            return {"boot": open("/proc/sys/kernel/random/boot_id").read(),
                    "cgroup": open("/proc/self/cgroup").read()}
        """
    )
    reader = make_bundle(
        """
        import os
        def main():
            return {"shm": os.listdir("/dev/shm"), "tmp": os.listdir("/tmp"),
                    "cgroup": open("/proc/self/cgroup").read()}
        """
    )
    a = sandbox.run(
        writer,
        Envelope(
            input={}, secrets={"TOKEN": "a-token"}, context=StepContext(run_id=run_id, step_id="a")
        ),
    )
    b = sandbox.run(reader, Envelope(input={}, context=StepContext(run_id=run_id, step_id="b")))
    assert a.error is None and b.error is None
    assert b.output["shm"] == [] and b.output["tmp"] == []
    assert a.container_id != b.container_id
    assert a.output["cgroup"] != b.output["cgroup"]
    assert "a-token" not in str(b.output)
