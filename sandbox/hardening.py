"""The container configuration every step runs with. One place, so it can be read and audited.

Nothing here is optional: a step cannot ask for the network, a capability, a writable root or a
host mount. Per-step limits only choose numbers within the host's caps.
"""

from __future__ import annotations

from typing import Any

from docker.types import LogConfig, Mount, Ulimit

from sandbox.config import ENV_ALLOWLIST, SANDBOX_USER, SandboxConfig
from step_sdk.manifest import Limits
from step_sdk.runtimes import NODE, PYTHON, PYTHON_BROWSER

RUNNER_COMMAND = ["python3", "-I", "-B", "-u", "/opt/stepwell/runner.py"]
# A container created for one execution (the cold path) skips the runner's preload of the SDK:
# its envelope follows at once, and a step that never imports the SDK should not pay for it.
COLD_FLAG = "--cold"
COLD_RUNNER_COMMAND = (*RUNNER_COMMAND, COLD_FLAG)
# The JavaScript runner (step_sdk/runner.mjs). Node cannot dup2, so the shell does it before node
# starts: descriptor 3 becomes the result channel (the runner reopens it close-on-exec and closes
# 3) and descriptor 1 the log, for node and for every child process it starts. V8's heap limit is
# set to the container's memory limit, so the kernel's OOM killer (which Docker reports) always
# comes first: V8's own "heap out of memory" abort would be an anonymous exit code instead. The
# shell's own PWD is dropped: the step sees the allowlisted environment and nothing else.
NODE_RUNNER_SCRIPT = (
    "unset PWD OLDPWD; exec 3>&1 1>&2; "
    'exec node --max-old-space-size="$0" /opt/stepwell/runner.mjs "$@"'
)


def runner_command(runtime: str, limits: Limits, *, cold: bool) -> list[str]:
    """The container command that starts ``runtime``'s runner (``cold``: created for one
    execution, its envelope on the way; a pooled container waits for it instead)."""
    flag = [COLD_FLAG] if cold else []
    if runtime == NODE:
        return ["/bin/sh", "-c", NODE_RUNNER_SCRIPT, str(limits.memory_mb), *flag]
    return [*RUNNER_COMMAND, *flag]


WORK_DIR = "/work"
# The runner unpacks the envelope's bundle here (contract 2): a tmpfs of its own, owned by the
# step's user, so the image needs no per-step layer and a started container can take any step.
BUNDLE_DIR = "/opt/stepwell/bundle"
# Run artifacts (step_sdk.artifacts): a tmpfs of its own, as large as the total cap, so a step
# that writes more there gets ENOSPC instead of filling the host.
ARTIFACTS_DIR = "/opt/stepwell/artifacts"
HOSTNAME = "stepwell-sandbox"
_TMPFS_FLAGS = "rw,noexec,nosuid,nodev"
# Egress (docs/egress.md): where a step with egress finds its lease's proxy socket, and the
# environment that points standard HTTP clients at the runner's forwarder on loopback.
EGRESS_DIR = "/run/stepwell/egress"
EGRESS_PROXY_URL = "http://127.0.0.1:3128"
EGRESS_ENV = {
    "HTTP_PROXY": EGRESS_PROXY_URL,
    "HTTPS_PROXY": EGRESS_PROXY_URL,
    "http_proxy": EGRESS_PROXY_URL,
    "https_proxy": EGRESS_PROXY_URL,
    "NO_PROXY": "",
    "no_proxy": "",
}
# The proxy container: it holds many connections (threads count against pids), little memory.
PROXY_PIDS_LIMIT = 1024
PROXY_MEMORY = "256m"
# Two descriptors per proxied connection; kept under what engines commonly allow their children.
PROXY_NOFILE = 8192


def _owner() -> str:
    uid, _, gid = SANDBOX_USER.partition(":")
    return f"uid={uid},gid={gid}"


def host_config_kwargs(
    config: SandboxConfig,
    limits: Limits,
    egress_source: str | None = None,
    *,
    runtime: str = PYTHON,
) -> dict[str, Any]:
    """Keyword arguments for ``APIClient.create_host_config`` of a step container.

    ``egress_source`` is the engine-host directory of the execution's egress lease (see
    ``sandbox.egress.gateway``); it is bind-mounted read-only at ``EGRESS_DIR``. The network
    stays ``none`` either way: the socket in that directory is the step's only way out.

    A ``python3.11-browser`` step gets the same options with two numbers raised
    (docs/browser.md): ``config.browser_pids_limit`` (Chromium's processes and threads) and a
    ``config.browser_tmp_mb`` /tmp (its profile, cache and downloads; tmpfs pages count
    against the memory limit like any other).
    """
    memory = f"{limits.memory_mb}m"
    fsize = config.fsize_mb * 1024 * 1024
    browser = runtime == PYTHON_BROWSER
    pids_limit = config.browser_pids_limit if browser else config.pids_limit
    tmp_mb = config.browser_tmp_mb if browser else config.tmp_mb
    kwargs: dict[str, Any] = {
        # Named even when it is the engine's default: an engine whose default is another
        # runtime must not silently change what every step runs under.
        "runtime": config.container_runtime,
        "network_mode": "none",
        "read_only": True,
        "tmpfs": {
            "/tmp": f"{_TMPFS_FLAGS},size={tmp_mb}m,mode=1777",
            WORK_DIR: f"{_TMPFS_FLAGS},size={config.work_mb}m,mode=1777",
            BUNDLE_DIR: f"{_TMPFS_FLAGS},size={config.bundle_mb}m,mode=0755,{_owner()}",
            ARTIFACTS_DIR: (
                f"{_TMPFS_FLAGS},size={max(1, config.artifact_total_bytes // 1024)}k,"
                f"mode=0755,{_owner()}"
            ),
        },
        "shm_size": f"{config.shm_mb}m",
        "ipc_mode": "private",
        "cap_drop": ["ALL"],
        # Docker applies its default seccomp profile unless told otherwise; we never tell it.
        "security_opt": ["no-new-privileges:true"],
        "privileged": False,
        "pids_limit": pids_limit,
        "mem_limit": memory,
        "memswap_limit": memory,
        "nano_cpus": int(limits.cpus * 1e9),
        "ulimits": [
            Ulimit(name="nofile", soft=config.nofile, hard=config.nofile),
            Ulimit(name="fsize", soft=fsize, hard=fsize),
            Ulimit(name="core", soft=0, hard=0),
        ],
        "init": True,
        "log_config": LogConfig(type=LogConfig.types.NONE),
        "auto_remove": False,
    }
    if egress_source is not None:
        # A bind mount of a missing source is an error (never created empty, as -v would be).
        kwargs["mounts"] = [Mount(EGRESS_DIR, egress_source, type="bind", read_only=True)]
    return kwargs


def container_kwargs(
    image: str,
    labels: dict[str, str],
    command: list[str] | None = None,
    *,
    egress: bool = False,
) -> dict[str, Any]:
    """Keyword arguments for ``APIClient.create_container`` (besides ``host_config``).

    With ``egress`` the environment also points HTTP clients at the forwarder (``EGRESS_ENV``).
    """
    return {
        "image": image,
        "command": command or RUNNER_COMMAND,
        "user": SANDBOX_USER,
        "working_dir": WORK_DIR,
        "environment": {**ENV_ALLOWLIST, **(EGRESS_ENV if egress else {})},
        "hostname": HOSTNAME,
        "labels": labels,
        "stdin_open": True,
        "tty": False,
        # Without a network stack at all the start is ~140 ms shorter than with network_mode
        # "none" alone (no network namespace set-up by the engine; measured in issue 12).
        "network_disabled": True,
    }


def proxy_host_config_kwargs(
    config: SandboxConfig, volume: str, volume_target: str
) -> dict[str, Any]:
    """Keyword arguments for ``APIClient.create_host_config`` of the egress proxy container.

    It is on the default bridge network (it must reach the internet) and nothing else: no port
    is published, no host path is mounted, only the named socket volume.
    """
    return {
        "network_mode": "bridge",
        "dns": list(config.egress_dns) or None,
        "read_only": True,
        "tmpfs": {"/tmp": f"{_TMPFS_FLAGS},size=16m,mode=1777"},
        "mounts": [Mount(volume_target, volume, type="volume", read_only=False)],
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
        "privileged": False,
        "pids_limit": PROXY_PIDS_LIMIT,
        "mem_limit": PROXY_MEMORY,
        "memswap_limit": PROXY_MEMORY,
        "ulimits": [
            Ulimit(name="nofile", soft=PROXY_NOFILE, hard=PROXY_NOFILE),
            Ulimit(name="core", soft=0, hard=0),
        ],
        "init": True,
        "log_config": LogConfig(type=LogConfig.types.NONE),
        # The proxy exits when its control channel's stdin ends; the engine then removes it.
        "auto_remove": True,
    }


def proxy_container_kwargs(
    image: str, labels: dict[str, str], user: str, command: list[str]
) -> dict[str, Any]:
    """Keyword arguments for ``APIClient.create_container`` of the egress proxy."""
    return {
        "image": image,
        "command": command,
        "user": user,
        "environment": dict(ENV_ALLOWLIST),
        "labels": labels,
        "stdin_open": True,
        "tty": False,
    }
