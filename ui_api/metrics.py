"""Prometheus metrics of one API process (its own registry, so several apps can coexist)."""

from __future__ import annotations

import time

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client import generate_latest as _generate
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "stepwell_http_requests",
            "HTTP requests by route template, method and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "stepwell_http_request_duration_seconds",
            "HTTP request latency by route template",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.runs_started = Counter(
            "stepwell_runs_started",
            "Runs started by trigger kind",
            ["trigger"],
            registry=self.registry,
        )
        self.webhook_deliveries = Counter(
            "stepwell_webhook_deliveries",
            "Webhook deliveries by outcome (accepted, duplicate, rejected, rate_limited)",
            ["outcome"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "stepwell_rate_limited",
            "Requests refused by a rate limit, by limiter",
            ["limiter"],
            registry=self.registry,
        )

        self.event_streams = Gauge(
            "stepwell_run_event_streams",
            "Open run event streams (Server-Sent Events), each polling Temporal",
            registry=self.registry,
        )

    def exposition(self) -> Response:
        return Response(_generate(self.registry), media_type=CONTENT_TYPE_LATEST)

    def install(self, app: FastAPI) -> None:
        """Count and time every request under its route template (not its raw path).

        A plain ASGI middleware: it sees the response start go by and adds no task, queue or
        body copy per request (Starlette's ``BaseHTTPMiddleware`` does all three)."""
        app.add_middleware(_Measure, metrics=self)


class _Measure:
    """ASGI middleware behind :meth:`Metrics.install`."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self._app = app
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self._app(scope, receive, record_status)
        finally:
            template = getattr(scope.get("route"), "path", "unmatched")
            method = str(scope.get("method", ""))
            self._metrics.requests.labels(method, template, str(status)).inc()
            self._metrics.latency.labels(method, template).observe(time.perf_counter() - started)
