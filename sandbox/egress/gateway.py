"""The host side of egress: one proxy container per worker process, and per-execution leases.

The gateway builds the proxy image (FROM the base runtime image), creates the shared named
volume ``stepwell-egress``, starts the proxy on the engine that runs the steps (so a remote
engine works: everything goes through the Docker API, nothing touches the engine host's
filesystem), attaches to its stdin/stdout as the control channel and configures it.

A lease is one execution's credential: the proxy opens ``/egress/<token>/proxy.sock`` for the
execution's rules, and the step container gets ``<volume mountpoint>/<token>`` bind-mounted
read-only. The token is 32 random hex characters, the directory exists only while the lease
does, and the proxy closes it by itself after its time to live. If the proxy dies, the next
lease starts a new one; if the worker dies, the proxy's stdin ends and it exits (and the janitor
removes any proxy whose owner is gone).
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import docker
from docker.errors import APIError, DockerException, NotFound
from requests.exceptions import RequestException

from sandbox import labels
from sandbox.config import SandboxConfig
from sandbox.egress.channel import ControlChannel, ProxyUnavailable
from sandbox.egress.image import PROXY_COMMAND, PROXY_USER, VOLUME_TARGET, ProxyImage
from sandbox.errors import SandboxError
from sandbox.hardening import proxy_container_kwargs, proxy_host_config_kwargs
from sandbox.images import ImageBuilder

VOLUME = "stepwell-egress"
SOCKET_NAME = "proxy.sock"
# How long the proxy may take to answer a control request before it is considered broken.
CONTROL_TIMEOUT_S = 15.0
_DOCKER_ERRORS = (APIError, RequestException, DockerException)


@dataclass(frozen=True)
class Lease:
    """One execution's egress credential.

    ``source`` is the engine-host directory holding the lease's ``proxy.sock``: bind-mount it
    read-only into the step container (``sandbox.hardening.EGRESS_DIR``).
    """

    token: str
    source: str
    rules: tuple[str, ...]
    proxy_id: str


@dataclass
class _Proxy:
    container_id: str
    channel: ControlChannel
    mountpoint: str


class EgressGateway:
    """Starts and supervises the egress proxy and hands out leases. Thread-safe.

    Nothing starts until the first :meth:`lease`.
    """

    def __init__(
        self,
        client: docker.DockerClient,
        config: SandboxConfig,
        *,
        volume: str = VOLUME,
        log: Callable[[str], None] = lambda _message: None,
    ) -> None:
        self._client = client
        self._api = client.api
        self._config = config
        self._volume = volume
        self._log = log
        self._lock = threading.Lock()
        self._proxy: _Proxy | None = None
        self._closed = False

    @property
    def proxy_container_id(self) -> str | None:
        """The running proxy's container id, if one runs."""
        proxy = self._proxy
        return proxy.container_id if proxy is not None and proxy.channel.alive else None

    def lease(self, rules: Sequence[str], ttl_s: float) -> Lease:
        """Open a lease for ``rules`` (normalized egress entries) lasting at most ``ttl_s`` s.

        Raises:
            SandboxError: the proxy cannot be built, started or reached, or refused the lease.
        """
        token = secrets.token_hex(16)
        try:
            return self._open(self._running(), token, rules, ttl_s)
        except ProxyUnavailable:
            pass  # it died since it was last used, or hangs: once more, on a fresh one
        return self._open(self._running(), token, rules, ttl_s)

    def _open(self, proxy: _Proxy, token: str, rules: Sequence[str], ttl_s: float) -> Lease:
        try:
            proxy.channel.request(
                "open", CONTROL_TIMEOUT_S, token=token, rules=list(rules), ttl_s=float(ttl_s)
            )
        except ProxyUnavailable:
            self._discard(proxy)
            raise
        return Lease(
            token=token,
            source=f"{proxy.mountpoint}/{token}",
            rules=tuple(rules),
            proxy_id=proxy.container_id,
        )

    def grant(self, lease: Lease, rules: Sequence[str], ttl_s: float) -> Lease:
        """Give ``lease``, opened with no rules for a warm pool's container, the rules of the
        execution it is handed to, and ``ttl_s`` seconds to live from now. Until this call its
        socket lets nothing through.

        Raises:
            SandboxError: the proxy that holds the lease is gone, or refused (the lease expired,
                or had its rules already): the pooled container must not be used.
        """
        proxy = self._proxy
        if proxy is None or proxy.container_id != lease.proxy_id or not proxy.channel.alive:
            raise SandboxError("the egress proxy that holds this lease is gone")
        try:
            proxy.channel.request(
                "grant", CONTROL_TIMEOUT_S, token=lease.token, rules=list(rules), ttl_s=float(ttl_s)
            )
        except ProxyUnavailable:
            self._discard(proxy)
            raise
        return Lease(
            token=lease.token, source=lease.source, rules=tuple(rules), proxy_id=lease.proxy_id
        )

    def release(self, lease: Lease) -> list[dict[str, Any]]:
        """Close ``lease`` (its socket goes, live connections are cut) and return its records.

        Raises:
            SandboxError: the proxy that held the lease is gone (the execution's connections
                were cut with it, and its records are lost) or did not answer.
        """
        proxy = self._proxy
        if proxy is None or proxy.container_id != lease.proxy_id or not proxy.channel.alive:
            raise SandboxError("the egress proxy stopped during the execution")
        try:
            reply = proxy.channel.request("close", CONTROL_TIMEOUT_S, token=lease.token)
        except ProxyUnavailable:
            self._discard(proxy)
            raise
        records = reply.get("connections")
        if not isinstance(records, list):
            raise SandboxError("the egress proxy's close reply has no connection list")
        return [record for record in records if isinstance(record, dict)]

    def close(self) -> None:
        """Stop the proxy (every open lease ends with it). Idempotent."""
        with self._lock:
            self._closed = True
            proxy, self._proxy = self._proxy, None
        if proxy is not None:
            self._stop(proxy)

    def _running(self) -> _Proxy:
        with self._lock:
            if self._closed:
                raise SandboxError("the egress gateway is closed")
            if self._proxy is not None and self._proxy.channel.alive:
                return self._proxy
            if self._proxy is not None:
                self._stop(self._proxy)
                self._proxy = None
            self._proxy = self._start()
            return self._proxy

    def _discard(self, proxy: _Proxy) -> None:
        with self._lock:
            if self._proxy is proxy:
                self._proxy = None
        self._stop(proxy)

    def _start(self) -> _Proxy:
        try:
            base = ImageBuilder(self._client, self._config, log=self._log).ensure()
            image = ProxyImage(self._client, log=self._log).ensure(base)
            mountpoint = self._ensure_volume()
            container_id = self._create(image)
        except _DOCKER_ERRORS as exc:
            raise SandboxError(f"cannot start the egress proxy: {exc}") from exc
        try:
            handle = self._api.attach_socket(
                container_id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
            )
            channel = ControlChannel(handle, container_id[:12])
            self._api.start(container_id)
        except _DOCKER_ERRORS as exc:
            self._remove(container_id)
            raise SandboxError(f"cannot start the egress proxy: {exc}") from exc
        proxy = _Proxy(container_id, channel, mountpoint)
        config = self._config
        try:
            channel.request(
                "configure",
                CONTROL_TIMEOUT_S,
                production=config.production,
                test_public=list(config.egress_test_public),
                max_connections=config.egress_max_connections,
                max_bytes=config.egress_max_bytes,
                connect_timeout_s=config.egress_connect_timeout_s,
            )
        except SandboxError:
            self._stop(proxy)
            raise
        return proxy

    def _ensure_volume(self) -> str:
        try:
            volume = self._api.inspect_volume(self._volume)
        except NotFound:
            volume = self._api.create_volume(self._volume, labels={labels.ROLE: labels.ROLE_EGRESS})
        return str(volume["Mountpoint"]).rstrip("/")

    def _create(self, image: str) -> str:
        container_labels = {
            labels.ROLE: labels.ROLE_EGRESS,
            **labels.owned_by(self._config),
            labels.CREATED: str(int(time.time())),
        }
        host_config = self._api.create_host_config(
            **proxy_host_config_kwargs(self._config, self._volume, VOLUME_TARGET)
        )
        container_config = self._api.create_container_config(
            host_config=host_config,
            **proxy_container_kwargs(image, container_labels, PROXY_USER, PROXY_COMMAND),
        )
        # The proxy's stdin closes when this process's attach ends (docker-py has no keyword).
        container_config["StdinOnce"] = True
        created = self._api.create_container_from_config(container_config)  # type: ignore[no-untyped-call]
        return str(created["Id"])

    def _stop(self, proxy: _Proxy) -> None:
        proxy.channel.close()
        self._remove(proxy.container_id)

    def _remove(self, container_id: str) -> None:
        with contextlib.suppress(*_DOCKER_ERRORS):
            self._api.remove_container(container_id, force=True)
