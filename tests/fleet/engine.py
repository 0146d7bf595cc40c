"""A second Docker engine next to the set-up's, for tests that need two engines on one host.

Debian's ``docker.io`` (20.10) runs its own containerd under the daemon's exec root unless told
to use the system one, so a second ``dockerd`` with its own socket, data root, exec root,
pidfile and an empty config file gets its own containerd too: nothing is shared with the first
engine. It runs in a network namespace of its own (``unshare --net``), gets no bridge and touches
no iptables (``--bridge none --iptables=false --ip6tables=false --ip-masq=false``): Stepwell's
step containers need no network (``network_mode=none``). The namespace is not optional: a dockerd
started with ``--bridge none`` deletes the interface ``docker0`` as it starts (moby's
``removeDefaultBridgeInterface``), which in the host's namespace is the FIRST engine's bridge,
and every later container on its default network fails. ``stop`` checks that every bridge of the
host that existed before the start still exists. Storage is overlay2 on the host's ext4, like the
first engine's.

Teardown removes every container, stops the daemon with SIGTERM, and reports what was left:
processes of its session (dockerd, containerd, shims) and mounts under its root; both are then
swept (SIGKILL, lazy unmount) so a failing test leaves nothing behind either.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import docker

from tests.fleet.processes import Child, wait_for

START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 60


def host_bridges() -> set[str]:
    """The names of the bridge interfaces of this (the host's) network namespace."""
    return {link.name for link in Path("/sys/class/net").iterdir() if (link / "bridge").is_dir()}


def mounts_under(root: Path) -> list[str]:
    """Mount points below ``root``, deepest first (from /proc/mounts)."""
    prefix = str(root) + "/"
    points = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    return sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True)


@dataclass
class SecondEngine:
    """A running second ``dockerd``.

    Attributes:
        root: its directory (short, under /tmp: containerd's socket paths must stay under the
            108-byte limit of a unix socket path).
        host: its ``DOCKER_HOST`` value, ``unix://<root>/docker.sock``.
        client: a Docker client on it.
        engine_id: ``docker info``'s ID.
    """

    root: Path
    daemon: Child
    client: docker.DockerClient | None
    engine_id: str = ""
    leftovers: list[str] = field(default_factory=list)
    host_bridges: set[str] = field(default_factory=set)

    @property
    def host(self) -> str:
        return f"unix://{self.root / 'docker.sock'}"

    @classmethod
    def start(cls) -> SecondEngine:
        """Start the daemon and wait until it answers.

        Raises:
            AssertionError: with the end of its log when it does not answer in time.
        """
        bridges = host_bridges()  # before the start: that is when a bridge could go
        root = Path(tempfile.mkdtemp(prefix="swf-", dir="/tmp"))
        (root / "daemon.json").write_text("{}")
        argv = [
            "unshare", "--net", "--",  # execs dockerd: the same pid, in a network namespace
            "dockerd",
            "--config-file", str(root / "daemon.json"),
            "--host", f"unix://{root / 'docker.sock'}",
            "--data-root", str(root / "data"),
            "--exec-root", str(root / "x"),
            "--pidfile", str(root / "docker.pid"),
            "--storage-driver", "overlay2",
            "--bridge", "none",
            "--iptables=false",
            "--ip6tables=false",
            "--ip-masq=false",
        ]  # fmt: skip
        daemon = Child.start("the second dockerd", argv, {"PATH": _path()}, root / "dockerd.log")
        clients: list[docker.DockerClient] = []

        def answers() -> bool:
            daemon.check_alive()
            try:  # the client asks for the server's version as it is made
                clients.append(docker.DockerClient(base_url=f"unix://{root}/docker.sock"))
            except docker.errors.DockerException:
                return False
            return True

        try:
            wait_for("the second dockerd answering", answers, START_TIMEOUT_S, every_s=0.2)
            return cls(root, daemon, clients[0], str(clients[0].info()["ID"]), host_bridges=bridges)
        except BaseException:
            cls(root, daemon, None, host_bridges=bridges).stop()
            raise AssertionError(f"the second dockerd did not start:\n{daemon.log()}") from None

    def load_image(self, tag: str, *extra_tags: str) -> None:
        """Copy ``tag`` (and ``extra_tags``) from the first engine (``docker save | docker
        load``, a few seconds for the 130 MB base image).

        Raises:
            AssertionError: either side failed (its stderr).
        """
        save = subprocess.Popen(
            ["docker", "save", tag, *extra_tags], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        load = subprocess.run(
            ["docker", "-H", self.host, "load", "--quiet"], stdin=save.stdout,
            capture_output=True, check=False,
        )  # fmt: skip
        assert save.stdout is not None
        save.stdout.close()
        _, save_err = save.communicate()
        assert save.returncode == 0, f"docker save {tag}: {save_err.decode()}"
        assert load.returncode == 0, f"docker load: {load.stderr.decode()}"

    def stop(self) -> None:
        """Remove every container, stop the daemon, sweep and record what it left behind
        (``leftovers``), and delete its root."""
        if self.client is not None:
            try:
                for summary in self.client.api.containers(all=True):
                    self.client.api.remove_container(summary["Id"], force=True, v=True)
            except docker.errors.DockerException:
                pass  # a daemon that does not answer is stopped below all the same
            self.client.close()
        left = self.daemon.stop(grace_s=STOP_TIMEOUT_S)
        self.leftovers = [f"process {pid}" for pid in left]
        self.leftovers += [f"mount {point}" for point in mounts_under(self.root)]
        self.leftovers += [
            f"the host's bridge {name} is gone" for name in self.host_bridges - host_bridges()
        ]
        for point in mounts_under(self.root):
            subprocess.run(["umount", "-l", point], check=False, capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)


def _path() -> str:
    return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
