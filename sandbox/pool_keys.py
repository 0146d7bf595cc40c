"""What a warm pool is keyed by, and which pools recent use asks to keep warm.

A pooled container can serve any step whose container would have been created the same way:
same image (a runtime's base image or a dependency layer, never a step's own; the runtime
comes with the image, and the key names it for the runner's command), same network wiring
(none, or an egress lease socket) and the same limits class. The runtime and every hardening
option come from the sandbox's configuration, which is fixed for the life of a
:class:`~sandbox.pool.WarmPools`, so they need not be in the key.

Limits are classes (exact ``memory_mb`` and ``cpus``), not applied at handoff with
``update_container``: an update is one more engine round trip on the critical path, and lowering
a running container's memory can fail or reclaim mid-call, which would make a handoff's outcome
depend on the engine's state. Steps keep the defaults almost always, so one class serves most.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from step_sdk.manifest import Limits
from step_sdk.runtimes import PYTHON


@dataclass(frozen=True, order=True)
class PoolKey:
    """The creation-time facts a pooled container has and a step needs."""

    image: str
    egress: bool
    memory_mb: int
    cpus: float
    # which runner the container starts (the image implies it; the command needs it)
    runtime: str = PYTHON

    @classmethod
    def of(cls, image: str, limits: Limits, *, egress: bool, runtime: str = PYTHON) -> PoolKey:
        return cls(
            image=image,
            egress=egress,
            memory_mb=limits.memory_mb,
            cpus=limits.cpus,
            runtime=runtime,
        )

    def limits(self) -> Limits:
        """The container limits of this class (time and output limits stay per execution)."""
        return Limits(memory_mb=self.memory_mb, cpus=self.cpus)

    def describe(self) -> str:
        """One line for logs: short image id, network wiring and limits class."""
        image = self.image.removeprefix("sha256:")[:12]
        network = "egress" if self.egress else "no network"
        runtime = f"{self.runtime}, " if self.runtime != PYTHON else ""
        return f"{image} ({runtime}{network}, {self.memory_mb} MB, {self.cpus:g} cpu)"


class RecentUse:
    """Which keys were used lately, and how much: those are the pools worth keeping warm.

    A key stays wanted while it has uses within the last ``keep_warm_s`` seconds; at most
    ``max_keys`` keys are wanted at once, the most used first (then the most recently used), so
    a burst of rarely used keys (one step per memory size, say) cannot push the pools everyone
    uses out. Not thread-safe: the pools call it under their lock.
    """

    # Uses remembered per key: enough to rank keys, bounded whatever the traffic.
    MAX_USES = 256

    def __init__(
        self, keep_warm_s: float, max_keys: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.keep_warm_s = keep_warm_s
        self.max_keys = max_keys
        self._clock = clock
        self._uses: dict[PoolKey, deque[float]] = {}

    def record(self, key: PoolKey) -> None:
        self._uses.setdefault(key, deque(maxlen=self.MAX_USES)).append(self._clock())

    def wanted(self) -> list[PoolKey]:
        """Keys used within ``keep_warm_s``, most used first; forgets older uses."""
        since = self._clock() - self.keep_warm_s
        for key, uses in list(self._uses.items()):
            while uses and uses[0] < since:
                uses.popleft()
            if not uses:
                del self._uses[key]
        ranked = sorted(self._uses, key=lambda k: (len(self._uses[k]), self._uses[k][-1]))
        return list(reversed(ranked))[: self.max_keys]
