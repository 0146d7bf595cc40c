"""Tunables of the sandbox, injected by whoever builds a :class:`~sandbox.launcher.Sandbox`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

RUNTIME = "python3.11"
BASE_IMAGE = "stepwell/runtime-python3.11"
ROOTFS_IMAGE = "stepwell/rootfs-python3.11"
REGISTRY_IMAGE = "python:3.11-slim"
# The Node.js runtime (sandbox.node_image): its base image, root filesystem and registry image.
NODE_IMAGE = "stepwell/runtime-node20"
NODE_ROOTFS_IMAGE = "stepwell/rootfs-node20"
NODE_REGISTRY_IMAGE = "node:20-slim"
# The browser runtime (sandbox.browser_image): its image and root filesystem (no registry image:
# the root filesystem is the Python one with Debian's chromium added).
BROWSER_IMAGE = "stepwell/runtime-python3.11-browser"
BROWSER_ROOTFS_IMAGE = "stepwell/rootfs-python3.11-browser"
SANDBOX_USER = "65534:65534"
# An OCI runtime name as registered with Docker (sandbox.runtimes), never anything option-like.
RUNTIME_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# The only environment a step sees; nothing of the worker's environment is ever passed on.
ENV_ALLOWLIST = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "STEPWELL_ARTIFACTS_DIR": "/opt/stepwell/artifacts",
    "LANG": "C.UTF-8",
    "HOME": "/tmp",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
}


@dataclass(frozen=True)
class SandboxConfig:
    """Hardening and capacity settings shared by every container the sandbox starts.

    Per-step limits (time, memory, CPU, output) come from the manifest; these are the limits that
    protect the host whatever a manifest says.
    """

    cache_dir: Path = field(default_factory=lambda: Path(".stepwell/cache"))
    # Who owns the containers this sandbox creates (the ``stepwell.owner`` label): a worker's
    # owner id (stepwell.leases), with the installation id of the database its lease lives in.
    # None: "<hostname>:<pid>" of this process, judged by a janitor on the same host by whether
    # that process lives (``stepwell step run``, tests using the sandbox directly).
    owner: str | None = None
    installation: str | None = None
    base_image: str = BASE_IMAGE
    node_image: str = NODE_IMAGE
    browser_image: str = BROWSER_IMAGE
    # The OCI runtime of step containers (see sandbox.runtimes): "runc" or a registered other.
    container_runtime: str = "runc"
    pids_limit: int = 128
    # Browser steps (python3.11-browser, docs/browser.md): Chromium's processes and threads
    # count against pids (~150 for one page), and it keeps its profile, cache and downloads
    # in /tmp.
    browser_pids_limit: int = 512
    browser_tmp_mb: int = 256
    nofile: int = 1024
    fsize_mb: int = 32
    tmp_mb: int = 64
    work_mb: int = 16
    shm_mb: int = 16
    log_kb: int = 1024
    # A log stream that keeps flowing past this many times its cap is killed, not drained.
    log_flood_factor: int = 16
    max_input_bytes: int = 8 * 1024 * 1024
    max_output_depth: int = 64
    kill_grace_s: float = 5.0
    build_memory_mb: int = 1024
    build_timeout_s: float = 600.0
    pip_index_url: str | None = None
    # The npm registry node20 dependencies are resolved and fetched from (None: registry.npmjs.org).
    npm_registry: str | None = None
    # Egress (docs/egress.md): which declared hosts are honoured, and the per-execution caps.
    # "declared": listed hosts only ("*" is ignored); "any-public": "*" too; "off": no network.
    egress_mode: str = "declared"
    egress_max_connections: int = 256
    egress_max_bytes: int = 128 * 1024 * 1024
    egress_connect_timeout_s: float = 10.0
    # DNS servers the egress proxy resolves with (empty: the engine's default).
    egress_dns: tuple[str, ...] = ()
    # Development and tests only: "ip:port" pairs the proxy treats as public (a local test server).
    # Settings refuse them in production mode, and so does the proxy itself.
    egress_test_public: tuple[str, ...] = ()
    production: bool = False
    # The tmpfs the runner unpacks the step's bundle into (contract 2): the bundle's 64 MiB
    # unpacked cap plus room for a page per small file.
    bundle_mb: int = 80
    # Run artifacts (step_sdk.artifacts): how many an execution may save, bytes each, bytes in
    # all; the artifacts tmpfs is ``artifact_total_bytes`` large.
    artifact_max_count: int = 20
    artifact_max_bytes: int = 10 * 1024 * 1024
    artifact_total_bytes: int = 50 * 1024 * 1024

    def artifact_caps(self) -> dict[str, int]:
        """The caps as the envelope carries them to the step's SDK."""
        return {
            "max_count": self.artifact_max_count,
            "max_bytes": self.artifact_max_bytes,
            "total_bytes": self.artifact_total_bytes,
        }

    # Warm pools (sandbox.pool, README "Warm pools"): containers kept started per pool key.
    # 0 keeps none: every execution creates its container, as before pools existed.
    pool_size: int = 0
    pool_idle_s: float = 300.0
    pool_refill_concurrency: int = 1
    # a key (image, network wiring, limits class) keeps its pool this long after its last use
    pool_keep_warm_s: float = 900.0
    pool_max_keys: int = 4
    # how long a new container may take to say READY before the refill counts as failed
    pool_ready_timeout_s: float = 30.0
