"""The one settings class. Every value can be set with a ``STEPWELL_`` environment variable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from sandbox.config import RUNTIME_NAME, SandboxConfig

DEVELOPMENT_SECRET_KEY = "development-only-secret-key-do-not-use-in-production"  # noqa: S105


class Settings(BaseSettings):
    """Process-wide settings of the CLI, the worker and the API."""

    # An empty variable means "not set" (the default): compose passes optional settings as
    # ``${NAME:-}``, and STEPWELL_S3_ENDPOINT_URL="" must not become an endpoint "".
    model_config = SettingsConfigDict(env_prefix="STEPWELL_", extra="ignore", env_ignore_empty=True)

    mode: Literal["development", "production"] = "development"
    home: Path = Field(Path(".stepwell"), description="state directory (caches, logs, databases)")
    base_image_source: Literal["auto", "pull", "debootstrap"] = "auto"
    pip_index_url: str | None = None
    npm_registry: str | None = Field(
        None, description="npm registry for JavaScript steps' dependencies (default: npmjs.org)"
    )
    sandbox_log_kb: int = Field(1024, ge=16, le=65536)
    sandbox_pids_limit: int = Field(128, ge=16, le=4096)
    sandbox_browser_pids_limit: int = Field(
        512,
        ge=64,
        le=4096,
        description="pids cap of python3.11-browser step containers (Chromium's processes and "
        "threads; docs/browser.md)",
    )
    sandbox_browser_tmp_mb: int = Field(
        256,
        ge=64,
        le=4096,
        description="size of a browser step's /tmp tmpfs in MiB (Chromium's profile, cache and "
        "downloads; counts against the step's memory limit)",
    )
    sandbox_runtime: str = Field(
        "runc",
        pattern=RUNTIME_NAME.pattern,
        description="OCI runtime of step containers: 'runc' (every engine has it) or another "
        "registered with the engine, e.g. 'crun' (scripts/setup.sh registers it)",
    )
    layer_max_age_days: float = Field(14, gt=0)
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    temporal_ui_url: str = "http://localhost:8233"
    task_queue: str = "stepwell"
    max_concurrent_steps: int = Field(4, ge=1, le=256)
    worker_shutdown_grace_s: float = Field(30, ge=0)
    heartbeat_timeout_s: float = Field(20, ge=2)
    database_wait_s: float = Field(
        120,
        ge=0,
        le=86400,
        description="how long a starting worker waits for an unreachable database (seconds) "
        "before it exits with code 1; errors waiting cannot fix exit at once",
    )
    worker_lease_s: float = Field(
        30,
        ge=1,
        le=3600,
        description="a worker's lease (seconds), renewed every third of it: once it has expired, "
        "a janitor of any worker on the same engine removes that worker's containers",
    )
    janitor_every_s: float = Field(
        60, ge=0.5, le=86400, description="seconds between two janitor passes of a worker"
    )
    run_timeout_max_s: float = Field(
        24 * 3600,
        ge=1,
        le=366 * 24 * 3600,
        description="longest run a flow may ask for with its timeout_s (seconds); "
        "flows saved earlier with more run with this",
    )
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default: a SQLite file under the home directory"
    )
    secret_key: str = Field(
        DEVELOPMENT_SECRET_KEY,
        description="encrypts workspace secrets at rest; must be set outside development mode",
    )
    api_host: str = "127.0.0.1"
    api_port: int = Field(8000, ge=1, le=65535)
    public_url: str = Field(
        "",
        description="base URL the API is reached at, for webhook URLs "
        "(default: http://localhost:<api_port>)",
    )
    api_rate_per_s: float = Field(20, gt=0, description="requests per second per API key")
    api_burst: int = Field(60, ge=1, description="token bucket size per API key")
    webhook_rate_per_s: float = Field(10, gt=0, description="deliveries per second per webhook")
    webhook_burst: int = Field(30, ge=1, description="token bucket size per webhook")
    webhook_max_body_kb: int = Field(256, ge=1, le=10240)
    webhook_tolerance_s: int = Field(300, ge=1, description="signature timestamp tolerance")
    bundle_max_kb: int = Field(5120, ge=16, le=102400, description="largest step bundle accepted")
    bundle_store: Literal["database", "s3"] = Field(
        "database",
        description="where pushed bundles live, for the API and every worker: 'database' (the "
        "bundle table of STEPWELL_DATABASE_URL) or 's3' (STEPWELL_S3_BUCKET)",
    )
    s3_bucket: str | None = Field(None, description="the bucket of STEPWELL_BUNDLE_STORE=s3")
    s3_prefix: str = Field("bundles/", description="object keys are <prefix><sha256 hex>.tgz")
    s3_endpoint_url: str | None = Field(
        None, description="an S3-compatible server's URL (default: AWS S3 of STEPWELL_S3_REGION)"
    )
    s3_region: str | None = Field(None, description="the bucket's region (default: boto3's)")
    egress: Literal["declared", "any-public", "off"] = Field(
        "declared",
        description="which step egress is honoured: 'declared' (listed hosts only; '*' refused at "
        "push), 'any-public' ('*' allowed), 'off' (no step gets network; egress refused at push)",
    )
    egress_max_connections: int = Field(
        256, ge=1, le=10000, description="connections per execution (refused ones count too)"
    )
    egress_max_mb: int = Field(128, ge=1, le=65536, description="bytes both ways, per execution")
    egress_connect_timeout_s: float = Field(10, gt=0, le=300)
    # Run artifacts (step_sdk.artifacts), per step execution
    artifact_max_count: int = Field(20, ge=0, le=1000, description="artifacts per execution")
    artifact_max_mb: int = Field(10, ge=1, le=1024, description="MiB per artifact")
    artifact_total_mb: int = Field(
        50, ge=1, le=4096, description="MiB per execution (the size of the artifacts tmpfs)"
    )
    artifact_retention_every_s: float = Field(
        3600, gt=0, description="how often the API forgets artifacts of runs Temporal forgot"
    )
    egress_dns: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="DNS servers the egress proxy uses (default: the engine's); "
        "comma-separated or a JSON list",
    )
    egress_test_public: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="development and tests only: 'ip:port' the egress proxy treats as public "
        "(comma-separated or a JSON list); refused in production mode",
    )

    @field_validator("egress_dns", "egress_test_public", mode="before")
    @classmethod
    def _list_of_words(cls, value: object) -> object:
        """``a,b`` or ``["a", "b"]`` from the environment; a list as it is."""
        if not isinstance(value, str):
            return value
        if value.lstrip().startswith("["):
            try:
                return json.loads(value)
            except ValueError:
                raise ValueError("not a JSON list; write the values comma-separated") from None
        return [part.strip() for part in value.split(",") if part.strip()]

    pool_size: int = Field(
        2,
        ge=0,
        le=64,
        description="started containers kept waiting per warm pool (image, network wiring, "
        "limits class); 0: none, every step creates its container when it runs",
    )
    pool_idle_s: float = Field(
        300, gt=0, le=86400, description="a pooled container waiting longer is replaced"
    )
    pool_refill_concurrency: int = Field(
        1, ge=1, le=16, description="pooled containers being created at once"
    )
    pool_keep_warm_s: float = Field(
        900, gt=0, le=7 * 86400, description="a pool is kept this long after its last use"
    )
    pool_max_keys: int = Field(4, ge=1, le=64, description="pools kept warm at once")

    @model_validator(mode="after")
    def _egress_checks_stay_on(self) -> Settings:
        if self.mode == "production" and self.egress_test_public:
            raise ValueError(
                "egress_test_public exempts addresses from the egress address checks and is for "
                "tests only: it cannot be set in production mode"
            )
        return self

    @model_validator(mode="after")
    def _s3_has_a_bucket(self) -> Settings:
        if self.bundle_store == "s3" and not self.s3_bucket:
            raise ValueError("STEPWELL_S3_BUCKET must be set when STEPWELL_BUNDLE_STORE=s3")
        return self

    @model_validator(mode="after")
    def _default_public_url(self) -> Settings:
        if not self.public_url:
            self.public_url = f"http://localhost:{self.api_port}"
        self.public_url = self.public_url.rstrip("/")
        return self

    @property
    def legacy_bundle_dir(self) -> Path:
        """Where an API before the shared bundle store kept bundles; copied into the configured
        store when the API starts (:mod:`activities.bundle_import`), never read otherwise."""
        return self.home / "bundles"

    @property
    def database(self) -> str:
        """The database URL in effect (SQLite under the home directory unless set)."""
        return self.database_url or f"sqlite:///{self.home / 'stepwell.db'}"

    def sandbox_config(
        self, *, owner: str | None = None, installation: str | None = None
    ) -> SandboxConfig:
        """The sandbox's tunables, derived from these settings; ``owner`` and ``installation``
        label its containers (a worker's lease, stepwell.leases; None: this process)."""
        return SandboxConfig(
            cache_dir=self.home / "cache",
            owner=owner,
            installation=installation,
            log_kb=self.sandbox_log_kb,
            pids_limit=self.sandbox_pids_limit,
            browser_pids_limit=self.sandbox_browser_pids_limit,
            browser_tmp_mb=self.sandbox_browser_tmp_mb,
            container_runtime=self.sandbox_runtime,
            pip_index_url=self.pip_index_url,
            npm_registry=self.npm_registry,
            egress_mode=self.egress,
            egress_max_connections=self.egress_max_connections,
            egress_max_bytes=self.egress_max_mb * 1024 * 1024,
            egress_connect_timeout_s=self.egress_connect_timeout_s,
            artifact_max_count=self.artifact_max_count,
            artifact_max_bytes=self.artifact_max_mb * 1024 * 1024,
            artifact_total_bytes=self.artifact_total_mb * 1024 * 1024,
            egress_dns=tuple(self.egress_dns),
            egress_test_public=tuple(self.egress_test_public),
            production=self.mode == "production",
            pool_size=self.pool_size,
            pool_idle_s=self.pool_idle_s,
            pool_refill_concurrency=self.pool_refill_concurrency,
            pool_keep_warm_s=self.pool_keep_warm_s,
            pool_max_keys=self.pool_max_keys,
        )

    def describe_pools(self) -> str:
        """One line saying what the worker keeps warm, for ``stepwell up`` and the worker."""
        if self.pool_size == 0:
            return "none (STEPWELL_POOL_SIZE=0): every step creates its container when it runs"
        return (
            f"{self.pool_size} started containers per pool for the base image and the "
            f"dependency layers used in the last {self.pool_keep_warm_s:g} s (at most "
            f"{self.pool_max_keys} pools); idle ones are replaced after {self.pool_idle_s:g} s, "
            f"{self.pool_refill_concurrency} refilled at a time"
        )


def settings_problems(exc: Exception) -> str:
    """One line naming each bad setting by its environment variable and the problem."""
    if not isinstance(exc, ValidationError):
        return str(exc)
    problems = []
    for error in exc.errors():
        name = "_".join(str(part) for part in error["loc"] if isinstance(part, str))
        where = f"STEPWELL_{name.upper()}: " if name else ""
        problems.append(where + error["msg"].removeprefix("Value error, "))
    return "; ".join(problems)
