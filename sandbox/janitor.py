"""Removing what a dead worker left behind: step containers and stale image layers.

Which containers are leftovers is decided in sandbox.leftovers (no Docker there): a container of
our installation whose owner's lease is missing or expired goes at once, whatever kind it is (step,
pooled, build, egress proxy); one of another installation only once its ``stepwell.expires`` has
passed; one of a process without a lease once that process (on this host) is gone. The leases come
from the caller (``leases``: stepwell.worker reads them from the database), so the sandbox stays
free of any database. Containers are listed *before* the leases are read (see sandbox.leftovers).

Layers (bundle and dependency images) go once nobody has used them for the maximum age: not on
this machine (the ``.used`` markers under the cache directory) and not, when the caller knows it
(``recently_used``: the ``layer_use`` table), on any worker of this installation on this engine;
and only once the image itself is older than that age (its ``Created`` time on the engine), since
a layer nobody here knows of may be one another installation sharing the engine, a worker whose
use is not written yet, or a version before ``layer_use`` just built. An image a container still
uses is refused by the engine (kept).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import docker
from docker.errors import APIError, NotFound

from sandbox import labels
from sandbox.config import SandboxConfig
from sandbox.layers import layer_marker_age
from sandbox.leftovers import LeaseView, is_leftover


@dataclass
class GcReport:
    """What a janitor pass removed."""

    containers: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)


def collect_containers(
    client: docker.DockerClient,
    *,
    everything: bool = False,
    leases: Callable[[], LeaseView] | None = None,
) -> list[str]:
    """Remove leftover Stepwell containers (all of them with ``everything``); return their ids.

    ``leases()`` is called once per pass, after the containers are listed; what it raises (the
    database is unreachable) ends the pass before anything is removed.
    """
    summaries = client.api.containers(all=True, filters={"label": labels.ROLE})
    view = leases() if leases is not None and not everything else None
    now = time.time()
    removed = []
    for summary in summaries:
        container_labels = summary.get("Labels") or {}
        if not everything and not is_leftover(container_labels, now=now, leases=view):
            continue
        try:
            client.api.remove_container(summary["Id"], force=True, v=True)
            removed.append(str(summary["Id"]))
        except NotFound:
            continue
        except APIError as exc:
            if exc.status_code == 409:  # another janitor on this engine is removing it
                continue
            raise
    return removed


def collect_layers(
    client: docker.DockerClient,
    config: SandboxConfig,
    *,
    max_age_s: float,
    recently_used: Callable[[float], set[str]] | None = None,
    only_label: str | None = None,
    now: float | None = None,
) -> list[str]:
    """Remove bundle and dependency layers not used for ``max_age_s``; return their tags.

    A layer is kept if its local marker is younger than ``max_age_s``, or its key is in
    ``recently_used(max_age_s)`` (the keys any worker of this installation used on this engine
    within that age), or the image was created (Docker's ``Created``, by the engine's clock) less
    than ``max_age_s`` before ``now`` (Unix seconds; the current time unless given: tests pass a
    later one to make an image old). ``only_label`` (``key=value``) limits the pass to images
    carrying it. Bundle layers go first, since a dependency layer cannot go while a bundle layer
    stands on it. An image still in use by a container is left alone (the engine refuses).
    """
    state_dir = config.cache_dir / "layers"
    now = time.time() if now is None else now
    shared = recently_used(max_age_s) if recently_used is not None else set()
    removed = []
    for role in (labels.ROLE_BUNDLE, labels.ROLE_DEPS):
        wanted = [f"{labels.ROLE}={role}"] + ([only_label] if only_label else [])
        for image in client.images.list(filters={"label": wanted}):
            key = (image.labels or {}).get(labels.LAYER_KEY, "")
            if key in shared:
                continue
            age = layer_marker_age(state_dir, key)
            if age is not None and age < max_age_s:
                continue
            if now - created_at(image.attrs.get("Created")) < max_age_s:
                continue  # new: a use nobody recorded here (another installation, a late write)
            for tag in image.tags or [str(image.id)]:
                try:
                    client.images.remove(tag, noprune=False)
                    removed.append(tag)
                except (APIError, NotFound):
                    continue
    return removed


def created_at(value: object) -> float:
    """Unix seconds of an image's ``Created`` (RFC 3339 with nanoseconds, ``...Z``); ``inf``
    (the image counts as new: kept) when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return float("inf")
    text = value.replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:  # Python reads at most microseconds: drop the further digits, keep the offset
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{head}.{rest[: min(digits, 6)]}{rest[digits:]}"
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return float("inf")


def collect(
    client: docker.DockerClient,
    config: SandboxConfig,
    *,
    everything: bool = False,
    layer_max_age_s: float | None = None,
    leases: Callable[[], LeaseView] | None = None,
    recently_used: Callable[[float], set[str]] | None = None,
) -> GcReport:
    """One janitor pass: leftover containers, then (optionally) stale layers."""
    report = GcReport(containers=collect_containers(client, everything=everything, leases=leases))
    if layer_max_age_s is not None:
        report.images = collect_layers(
            client, config, max_age_s=layer_max_age_s, recently_used=recently_used
        )
    return report
