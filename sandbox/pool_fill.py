"""Making and discarding the containers of warm pools, exactly as the cold path makes them.

A pooled container is created by ``sandbox.containers.start_container`` with the hardening of
every step container; only its labels differ: ``stepwell.role=pooled`` and the owner, no run or
step id (it belongs to no execution yet). An egress-wired one gets a lease opened with **no
rules** (its socket lets nothing through) that the launcher grants the execution's rules at
handoff.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from docker import APIClient

from sandbox import labels
from sandbox.config import SandboxConfig
from sandbox.containers import ContainerSpec, Reaper, StartedContainer, start_container
from sandbox.egress.gateway import EgressGateway, Lease
from sandbox.errors import SandboxError
from sandbox.hardening import runner_command
from sandbox.pool import PoolSettings
from sandbox.pool_keys import PoolKey

# The longest a step may run (contract 1's timeout_s maximum): a pooled container's expiry label
# must cover its idle life and the longest execution it may be handed.
MAX_STEP_S = 900
_LEASE_MARGIN_S = 30.0


def pool_settings(config: SandboxConfig) -> PoolSettings:
    """The pool settings a sandbox configuration asks for."""
    return PoolSettings(
        size=config.pool_size,
        idle_s=config.pool_idle_s,
        refill_concurrency=config.pool_refill_concurrency,
        keep_warm_s=config.pool_keep_warm_s,
        max_keys=config.pool_max_keys,
    )


def pooled_labels(config: SandboxConfig) -> dict[str, str]:
    """Labels of a pooled container: what the janitor needs, nothing of any tenant."""
    now = int(time.time())
    lifetime = config.pool_idle_s + config.pool_ready_timeout_s + MAX_STEP_S
    return {
        labels.ROLE: labels.ROLE_POOLED,
        labels.CREATED: str(now),
        labels.EXPIRES: str(now + int(lifetime + config.kill_grace_s) + 60),
        **labels.owned_by(config),
    }


class PoolFiller:
    """The ``fill`` and ``discard`` of a sandbox's :class:`~sandbox.pool.WarmPools`.

    ``command`` replaces the runner's, for tests of broken runners only.
    """

    def __init__(
        self,
        api: APIClient,
        config: SandboxConfig,
        egress: Callable[[], EgressGateway],
        reaper: Reaper,
        command: tuple[str, ...] | None = None,
    ) -> None:
        self._api = api
        self._config = config
        self._egress = egress
        self._reaper = reaper
        self.command = command

    def fill(self, key: PoolKey) -> StartedContainer:
        """One started container for ``key`` whose runner said READY.

        Raises:
            SandboxError: it could not be made, or did not become ready in time.
        """
        config = self._config
        lease = None
        if key.egress:
            idle_life = config.pool_idle_s + config.pool_ready_timeout_s + _LEASE_MARGIN_S
            lease = self._egress().lease([], idle_life)
        spec = ContainerSpec(
            image=key.image,
            limits=key.limits(),
            labels=pooled_labels(config),
            lease=lease,
            command=self.command or tuple(runner_command(key.runtime, key.limits(), cold=False)),
            runtime=key.runtime,
        )
        try:
            container = start_container(self._api, config, spec)
        except BaseException:
            self._release(lease)
            raise
        if not container.wait_ready(config.pool_ready_timeout_s):
            self.discard(container)
            raise SandboxError(
                f"a pooled container of {key.describe()} did not become ready within "
                f"{config.pool_ready_timeout_s:g} s"
            )
        return container

    def discard(self, container: StartedContainer) -> None:
        """Remove a container that will never be used, and close its lease (in the background)."""
        lease = container.lease
        self._reaper.remove(container, then=lambda: self._release(lease))

    def _release(self, lease: Lease | None) -> None:
        if lease is not None:
            with contextlib.suppress(SandboxError):
                self._egress().release(lease)
