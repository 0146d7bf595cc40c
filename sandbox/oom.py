"""Whether the kernel's OOM killer killed any process of a running container, read on the host.

Docker (20.10) sets ``State.OOMKilled`` only once the container has exited, and only the exit is
slow to wait for; the kernel counts every OOM kill in the container's memory cgroup at once:
``oom_kill N`` in ``memory.events`` (cgroup v2) or ``memory.oom_control`` (cgroup v1, kernel >=
4.13). Those files are the host's, under ``/sys/fs/cgroup``; the container cannot write them.
A worker that cannot see them (a worker in a container without the host's cgroup tree) gets
``None`` and the caller falls back to Docker's flag after the exit.
"""

from __future__ import annotations

from pathlib import Path

_ROOT = Path("/sys/fs/cgroup")
# (cgroup directory relative to the root, file) for each driver and version, v2 first.
_LAYOUTS = (
    ("system.slice/docker-{id}.scope", "memory.events"),
    ("docker/{id}", "memory.events"),
    ("memory/system.slice/docker-{id}.scope", "memory.oom_control"),
    ("memory/docker/{id}", "memory.oom_control"),
)


def oom_kills(container_id: str, root: Path = _ROOT) -> int | None:
    """The number of OOM kills in the container's memory cgroup so far, or ``None`` when the
    host's cgroup files for it are not visible here (``container_id``: the full 64-hex id)."""
    for directory, name in _LAYOUTS:
        path = root / directory.format(id=container_id) / name
        try:
            text = path.read_text()
        except OSError:
            continue
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit():
                return int(value)
    return None
