"""An S3-compatible server for the bundle store tests (moto's, as a process)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest

from tests.api.bundles.moto import CREDENTIALS, REGION, start_moto, stop_moto

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@pytest.fixture(scope="session")
def s3_url() -> Iterator[str]:
    process, url = start_moto()
    yield url
    stop_moto(process)


@pytest.fixture
def s3_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Test credentials in the environment, nothing from the machine's own AWS files."""
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def s3(s3_url: str, s3_credentials: None) -> S3Client:
    return boto3.session.Session().client("s3", endpoint_url=s3_url, region_name=REGION)


@pytest.fixture
def bucket(s3: S3Client) -> str:
    name = f"stepwell-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name
