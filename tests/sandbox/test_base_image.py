"""What the base image holds for a fast start: bytecode for everything the runner imports."""

from __future__ import annotations

import json

import docker

from sandbox import labels
from sandbox.config import ENV_ALLOWLIST, SANDBOX_USER

# Run inside the container: import what a step execution imports (the runner's modules, the SDK
# and its libraries), then list every imported module whose source has no valid .pyc next to it
# (the read-only root filesystem means such a module is compiled again by every container).
PROBE = r"""
import importlib.util, json, os, sys
sys.path[:0] = ["/opt/stepwell", "/opt/stepwell/sdk"]
import runner, step_sdk, step_sdk.validation, step_sdk.json_values, pydantic, jsonschema
missing = []
for name, module in sorted(sys.modules.items()):
    spec = getattr(module, "__spec__", None)
    origin = getattr(spec, "origin", None) or ""
    if not origin.endswith(".py"):
        continue
    cached = spec.cached or ""
    try:
        with open(cached, "rb") as handle:
            header = handle.read(16)
    except OSError:
        missing.append([name, "no .pyc"])
        continue
    flags = int.from_bytes(header[4:8], "little")
    if header[:4] != importlib.util.MAGIC_NUMBER:
        missing.append([name, "stale magic"])
    elif flags == 0:
        stat = os.stat(origin)
        mtime = int.from_bytes(header[8:12], "little")
        size = int.from_bytes(header[12:16], "little")
        if (mtime, size) != (int(stat.st_mtime) & 0xFFFFFFFF, stat.st_size & 0xFFFFFFFF):
            missing.append([name, "stale timestamp"])
    elif flags & 0b10:
        with open(origin, "rb") as handle:
            if header[8:16] != importlib.util.source_hash(handle.read()):
                missing.append([name, "stale hash"])
print(json.dumps({"checked": len(sys.modules), "missing": missing}))
"""


def test_every_module_a_step_execution_imports_has_valid_bytecode(
    docker_client: docker.DockerClient, base_image: str
) -> None:
    # As a step runs: read-only root filesystem, the sandbox user, no network (the hardened
    # configuration's log driver is "none", so this container keeps the default one to answer).
    output = docker_client.containers.run(
        base_image,
        ["python3", "-I", "-B", "-c", PROBE],
        network_disabled=True,
        network_mode="none",
        read_only=True,
        user=SANDBOX_USER,
        environment=ENV_ALLOWLIST,
        labels={labels.ROLE: labels.ROLE_STEP, labels.RUN_ID: "test-base-image"},
        remove=True,
        stdout=True,
        stderr=False,
    )
    report = json.loads(output)
    assert report["checked"] > 100
    assert report["missing"] == []
