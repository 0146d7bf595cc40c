"""Prometheus metrics of one API process (its own registry, so several apps can coexist)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client import generate_latest as _generate


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
        """Count and time every request under its route template (not its raw path)."""

        @app.middleware("http")
        async def _measure(
            request: Request, call_next: Callable[[Request], Awaitable[Response]]
        ) -> Response:
            started = time.perf_counter()
            status = 500
            try:
                response = await call_next(request)
                status = response.status_code
                return response
            finally:
                route = request.scope.get("route")
                template = getattr(route, "path", "unmatched")
                self.requests.labels(request.method, template, str(status)).inc()
                self.latency.labels(request.method, template).observe(time.perf_counter() - started)
