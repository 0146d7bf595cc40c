"""Labels on everything the sandbox creates, so a janitor can find leftovers after a crash."""

from __future__ import annotations

import os
import socket

PREFIX = "stepwell."
ROLE = "stepwell.role"
RUN_ID = "stepwell.run_id"
STEP_ID = "stepwell.step_id"
CREATED = "stepwell.created"
EXPIRES = "stepwell.expires"
# "<hostname>:<pid>" of the process that created the container: a janitor on the same host
# removes containers whose creator is gone without waiting for them to expire.
OWNER = "stepwell.owner"
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
    """Identity of this process on this host, as stored in the ``stepwell.owner`` label."""
    return f"{socket.gethostname()}:{os.getpid()}"
