"""Labels on everything the sandbox creates, so a janitor can find leftovers after a crash."""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox.config import SandboxConfig

PREFIX = "stepwell."
ROLE = "stepwell.role"
RUN_ID = "stepwell.run_id"
STEP_ID = "stepwell.step_id"
CREATED = "stepwell.created"
EXPIRES = "stepwell.expires"
# Who created the container (SandboxConfig.owner). A worker's owner id (stepwell.leases) names
# its row in the ``worker_lease`` table: any janitor of the same installation on the same engine
# removes its containers once that lease has expired. A process without a lease (``stepwell step
# run``, tests) is "<hostname>:<pid>": a janitor on the same host removes its containers once that
# process has died.
OWNER = "stepwell.owner"
# The ``installation`` row's id of the database the owner's lease lives in (only with a lease):
# a janitor judges owners by its own database's leases only.
INSTALLATION = "stepwell.installation"
LAYER_KEY = "stepwell.layer_key"
CONTENT = "stepwell.content"
# The runtime (step_sdk.runtimes) of a base image or dependency layer.
RUNTIME = "stepwell.runtime"

ROLE_STEP = "step"
ROLE_BUILD = "build"
ROLE_BASE = "base"
ROLE_DEPS = "deps"
ROLE_BUNDLE = "bundle"
# A started container waiting in a warm pool (sandbox.pool): it belongs to no execution yet, so it
# carries no run or step id; once handed over it is that execution's, and is removed after it.
ROLE_POOLED = "pooled"
# The egress proxy (container, its image and the shared socket volume): never removed by expiry,
# only when its owner is gone (see sandbox.janitor).
ROLE_EGRESS = "egress"


def owner_id() -> str:
    """``<hostname>:<pid>``: the owner of a process without a lease (``SandboxConfig.owner``
    None)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def owned_by(config: SandboxConfig) -> dict[str, str]:
    """The owner labels of a container created under ``config``: ``stepwell.owner`` always,
    ``stepwell.installation`` when the owner holds a lease."""
    found = {OWNER: config.owner or owner_id()}
    if config.installation:
        found[INSTALLATION] = config.installation
    return found
