"""The OCI runtime step containers run under, chosen by a setting (``runc`` by default).

``runc`` is registered with every Docker engine; ``crun`` (Debian's ``crun`` package) must be
registered in the engine's ``daemon.json`` under ``"runtimes"`` (``scripts/setup.sh`` does it
when ``STEPWELL_SANDBOX_RUNTIME=crun``). A registered runtime can still be unable to start
containers on a given host (crun 1.8 refuses hosts with a cgroup v1/v2 hybrid hierarchy), so the
worker checks the runtime once at start-up with :func:`check_runtime` instead of failing every
step later.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import docker
from docker.errors import APIError, DockerException
from requests.exceptions import RequestException

from sandbox import labels
from sandbox.config import RUNTIME_NAME, SandboxConfig
from sandbox.errors import SandboxError
from sandbox.hardening import container_kwargs, host_config_kwargs
from step_sdk.manifest import Limits

__all__ = ["RUNTIME_NAME", "SETTING", "check_runtime", "engine_runtimes"]
SETTING = "STEPWELL_SANDBOX_RUNTIME"
_PROBE_RUN_ID = "stepwell-runtime-check"


def engine_runtimes(client: docker.DockerClient) -> list[str]:
    """Names of the OCI runtimes registered with the engine, sorted.

    Raises:
        SandboxError: the engine cannot be asked.
    """
    try:
        info: dict[str, Any] = client.info()
    except (APIError, RequestException, DockerException) as exc:
        raise SandboxError(f"cannot reach the Docker engine: {exc}") from exc
    return sorted(info.get("Runtimes") or {})


def check_runtime(
    client: docker.DockerClient, config: SandboxConfig, image: str | None = None
) -> None:
    """Make sure step containers can run under ``config.container_runtime``.

    The engine must list the runtime; with ``image`` (the base image id) one hardened
    ``true`` container is also started under it and removed, which costs one container start.

    Raises:
        SandboxError: the runtime is not registered, or a container cannot run under it; the
            message names the setting and says what to do.
    """
    name = config.container_runtime
    registered = engine_runtimes(client)
    if name not in registered:
        raise SandboxError(
            f"{SETTING}={name}: the Docker engine has no runtime of that name (it has: "
            f"{', '.join(registered) or 'none'}); register it in the engine's daemon.json "
            f'under "runtimes" (scripts/setup.sh does it for crun) or choose another'
        )
    if image is not None:
        _probe(client, config, image)


def _probe(client: docker.DockerClient, config: SandboxConfig, image: str) -> None:
    api, now = client.api, int(time.time())
    probe_labels = {
        labels.ROLE: labels.ROLE_STEP,
        labels.RUN_ID: _PROBE_RUN_ID,
        labels.CREATED: str(now),
        labels.EXPIRES: str(now + 120),
        **labels.owned_by(config),
    }
    container_id = None
    try:
        created = api.create_container(
            host_config=api.create_host_config(**host_config_kwargs(config, Limits())),
            **container_kwargs(image, probe_labels, ["true"]),
        )
        container_id = str(created["Id"])
        api.start(container_id)
        status = api.wait(container_id, timeout=60)
    except (APIError, RequestException, DockerException) as exc:
        raise SandboxError(
            f"{SETTING}={config.container_runtime}: a step container cannot run under it on "
            f"this engine: {exc}"
        ) from exc
    finally:
        if container_id is not None:
            # labelled: should the removal fail, the janitor removes it
            with contextlib.suppress(APIError, RequestException):
                api.remove_container(container_id, force=True)
    if status.get("StatusCode") != 0:
        raise SandboxError(
            f"{SETTING}={config.container_runtime}: a test container exited with "
            f"{status.get('StatusCode')} under it"
        )
