"""The container configuration every step runs with. One place, so it can be read and audited.

Nothing here is optional: a step cannot ask for the network, a capability, a writable root or a
host mount. Per-step limits only choose numbers within the host's caps.
"""

from __future__ import annotations

from typing import Any

from docker.types import LogConfig, Ulimit

from sandbox.config import ENV_ALLOWLIST, SANDBOX_USER, SandboxConfig
from step_sdk.manifest import Limits

RUNNER_COMMAND = ["python3", "-I", "-B", "-u", "/opt/stepwell/runner.py"]
WORK_DIR = "/work"
HOSTNAME = "stepwell-sandbox"
_TMPFS_FLAGS = "rw,noexec,nosuid,nodev"


def host_config_kwargs(config: SandboxConfig, limits: Limits) -> dict[str, Any]:
    """Keyword arguments for ``APIClient.create_host_config`` of a step container."""
    memory = f"{limits.memory_mb}m"
    fsize = config.fsize_mb * 1024 * 1024
    return {
        "network_mode": "none",
        "read_only": True,
        "tmpfs": {
            "/tmp": f"{_TMPFS_FLAGS},size={config.tmp_mb}m,mode=1777",
            WORK_DIR: f"{_TMPFS_FLAGS},size={config.work_mb}m,mode=1777",
        },
        "shm_size": f"{config.shm_mb}m",
        "ipc_mode": "private",
        "cap_drop": ["ALL"],
        # Docker applies its default seccomp profile unless told otherwise; we never tell it.
        "security_opt": ["no-new-privileges:true"],
        "privileged": False,
        "pids_limit": config.pids_limit,
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


def container_kwargs(
    image: str, labels: dict[str, str], command: list[str] | None = None
) -> dict[str, Any]:
    """Keyword arguments for ``APIClient.create_container`` (besides ``host_config``)."""
    return {
        "image": image,
        "command": command or RUNNER_COMMAND,
        "user": SANDBOX_USER,
        "working_dir": WORK_DIR,
        "environment": dict(ENV_ALLOWLIST),
        "hostname": HOSTNAME,
        "labels": labels,
        "stdin_open": True,
        "tty": False,
        "network_disabled": True,
    }
