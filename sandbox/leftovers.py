"""Which Stepwell containers are leftovers: the janitor's rules, apart from any Docker call.

- A container of our installation (``stepwell.installation`` = the view's) is a leftover as soon
  as its owner has no live lease in our database (the worker died, or lost its lease). The janitor
  lists the containers *before* it reads the leases, and a worker registers its lease before it
  creates any container: so a container it sees has an owner whose lease was there to be read.
- A container of another installation (another database sharing this engine) is judged by its
  ``stepwell.expires`` label only: our leases say nothing about its owner.
- A container without an installation label belongs to a process without a lease
  (``<hostname>:<pid>``, sandbox.labels): a leftover once that process, on this host, is gone.
- Anything else is a leftover once ``stepwell.expires`` has passed, except an egress proxy
  (``stepwell.role=egress``), which lives as long as its owner and never expires.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sandbox import labels


@dataclass(frozen=True)
class LeaseView:
    """What our database says about owners on this engine: who still holds a live lease."""

    installation: str
    live_owners: frozenset[str]


def process_is_gone(pid: int) -> bool:
    """True if no process ``pid`` exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def is_leftover(
    container_labels: Mapping[str, str],
    *,
    now: float,
    leases: LeaseView | None,
    hostname: str | None = None,
    gone: Callable[[int], bool] = process_is_gone,
) -> bool:
    """Whether a container with these labels may be removed at Unix time ``now``.

    ``leases`` is None when the caller has no database (``stepwell sandbox gc`` without one):
    then containers of every installation are judged by expiry only.
    """
    owner = container_labels.get(labels.OWNER, "")
    installation = container_labels.get(labels.INSTALLATION)
    if installation:
        ours = leases is not None and installation == leases.installation
        if ours and leases is not None and owner not in leases.live_owners:
            return True
    else:
        host, _, pid = owner.rpartition(":")
        if host == (hostname or socket.gethostname()) and pid.isdigit() and gone(int(pid)):
            return True
    if container_labels.get(labels.ROLE) == labels.ROLE_EGRESS:
        return False
    try:
        expires = float(container_labels.get(labels.EXPIRES, "0"))
    except ValueError:
        expires = 0.0
    return expires <= now
