"""Removing what a crashed worker left behind: step containers and stale image layers.

Every container the sandbox creates carries ``stepwell.expires``: no live worker lets a container
live past it, so anything older is a leftover and safe to remove, even on a Docker host shared by
several workers. Containers whose creating process (``stepwell.owner``) ran on this host and has
died are leftovers too, and go at once.

The egress proxy (``stepwell.role=egress``) lives as long as its worker, so it never expires: it
goes only when its owner is gone (it normally exits by itself then, when its control channel's
stdin ends; this catches one that hangs). Proxies of workers on other hosts are left to them.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field

import docker
from docker.errors import APIError, NotFound

from sandbox import labels
from sandbox.config import SandboxConfig
from sandbox.layers import layer_marker_age


@dataclass
class GcReport:
    """What a janitor pass removed."""

    containers: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)


def _owner_is_gone(container_labels: dict[str, str]) -> bool:
    """True if the container's creator ran on this host and that process no longer exists."""
    host, _, pid = container_labels.get(labels.OWNER, "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _is_leftover(container_labels: dict[str, str], expires: float, now: float) -> bool:
    if _owner_is_gone(container_labels):
        return True
    if container_labels.get(labels.ROLE) == labels.ROLE_EGRESS:
        return False
    return expires <= now


def collect_containers(client: docker.DockerClient, *, everything: bool = False) -> list[str]:
    """Remove expired Stepwell containers (all of them with ``everything``); return their ids."""
    now = time.time()
    removed = []
    for summary in client.api.containers(all=True, filters={"label": labels.ROLE}):
        container_labels = summary.get("Labels") or {}
        try:
            expires = float(container_labels.get(labels.EXPIRES, "0"))
        except ValueError:
            expires = 0.0
        if not everything and not _is_leftover(container_labels, expires, now):
            continue
        try:
            client.api.remove_container(summary["Id"], force=True, v=True)
            removed.append(str(summary["Id"]))
        except NotFound:
            continue
    return removed


def collect_layers(
    client: docker.DockerClient, config: SandboxConfig, *, max_age_s: float
) -> list[str]:
    """Remove bundle and dependency layers not used for ``max_age_s``; return their tags.

    Bundle layers go first, since a dependency layer cannot go while a bundle layer stands on it.
    An image still in use by a container is left alone.
    """
    state_dir = config.cache_dir / "layers"
    removed = []
    for role in (labels.ROLE_BUNDLE, labels.ROLE_DEPS):
        for image in client.images.list(filters={"label": f"{labels.ROLE}={role}"}):
            key = (image.labels or {}).get(labels.LAYER_KEY, "")
            age = layer_marker_age(state_dir, key)
            if age is not None and age < max_age_s:
                continue
            for tag in image.tags or [str(image.id)]:
                try:
                    client.images.remove(tag, noprune=False)
                    removed.append(tag)
                except (APIError, NotFound):
                    continue
    return removed


def collect(
    client: docker.DockerClient,
    config: SandboxConfig,
    *,
    everything: bool = False,
    layer_max_age_s: float | None = None,
) -> GcReport:
    """One janitor pass: leftover containers, then (optionally) stale layers."""
    report = GcReport(containers=collect_containers(client, everything=everything))
    if layer_max_age_s is not None:
        report.images = collect_layers(client, config, max_age_s=layer_max_age_s)
    return report
