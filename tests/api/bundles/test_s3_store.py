"""The S3 bundle store against a real S3-compatible server speaking HTTP: moto's standalone
server (``moto_server``), started as a process on 127.0.0.1 (tests/api/bundles/moto.py)."""

from __future__ import annotations

import dataclasses
import threading
import uuid
from typing import TYPE_CHECKING

import httpx
import pytest
from pydantic import ValidationError

from activities.bundle_s3 import S3BundleStore
from activities.bundle_store import check_bundle_store, open_bundle_store
from activities.bundles import BundleNotFound, BundleStoreError
from step_sdk.bundle import digest_of
from stepwell_settings import Settings, settings_problems
from tests.api.bundles.moto import REGION, start_moto, stop_moto
from tests.api.helpers import new_workspace
from tests.api.step_bundles import bundle_bytes
from ui_api.app import create_app
from ui_api.services import Services

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

pytestmark = pytest.mark.usefixtures("s3_credentials")


def _settings(url: str, bucket: str, **more: str) -> Settings:
    return Settings.model_validate(
        {
            "bundle_store": "s3",
            "s3_bucket": bucket,
            "s3_endpoint_url": url,
            "s3_region": REGION,
            **more,
        }
    )


def test_a_bundle_comes_back_as_it_went_in_under_its_prefix(
    s3_url: str, s3: S3Client, bucket: str
) -> None:
    store = open_bundle_store(_settings(s3_url, bucket, s3_prefix="tenant-a/bundles/"))
    check_bundle_store(store)
    data = bundle_bytes(name="test.s3roundtrip")
    digest = store.put(data)
    assert digest == digest_of(data)
    assert store.get(digest) == data
    assert store.put(data) == digest  # again: the same object
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == [f"tenant-a/bundles/{digest.removeprefix('sha256:')}.tgz"]


def test_an_unknown_digest_is_not_found_and_odd_strings_are_refused(
    s3_url: str, bucket: str
) -> None:
    store = open_bundle_store(_settings(s3_url, bucket))
    with pytest.raises(BundleNotFound, match="no bundle"):
        store.get("sha256:" + "0" * 64)
    for odd in ("sha256:../../x" + "a" * 50, "md5:" + "a" * 32, "sha256:" + "A" * 64):
        with pytest.raises(BundleNotFound, match="not a sha256 digest"):
            store.get(odd)


def test_a_damaged_object_is_refused_and_the_next_put_repairs_it(
    s3_url: str, s3: S3Client, bucket: str
) -> None:
    store = open_bundle_store(_settings(s3_url, bucket))
    data = bundle_bytes(name="test.s3damaged")
    digest = store.put(data)
    key = f"bundles/{digest.removeprefix('sha256:')}.tgz"
    s3.put_object(Bucket=bucket, Key=key, Body=data[:-7])
    with pytest.raises(BundleNotFound, match="corrupt"):
        store.get(digest)
    store.put(data)
    assert store.get(digest) == data


def test_threads_pushing_the_same_bundle_at_once_all_succeed(s3_url: str, bucket: str) -> None:
    store = open_bundle_store(_settings(s3_url, bucket))
    data = bundle_bytes(name="test.s3race")
    start = threading.Barrier(6)
    answers: list[str] = []
    failures: list[BaseException] = []

    def push() -> None:
        start.wait(30)
        try:
            answers.append(store.put(data))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=push) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert (failures, answers) == ([], [digest_of(data)] * 6)
    assert store.get(digest_of(data)) == data


def test_a_missing_bucket_is_an_error_naming_the_setting(s3_url: str) -> None:
    store = open_bundle_store(_settings(s3_url, f"missing-{uuid.uuid4().hex[:8]}"))
    with pytest.raises(BundleStoreError, match=r"STEPWELL_S3_BUCKET.*does not exist"):
        check_bundle_store(store)
    with pytest.raises(BundleStoreError, match=r"STEPWELL_S3_BUCKET.*does not exist"):
        store.put(bundle_bytes(name="test.nobucket"))
    with pytest.raises(BundleStoreError, match=r"STEPWELL_S3_BUCKET.*does not exist"):
        store.get("sha256:" + "1" * 64)


def test_no_credentials_is_an_error_naming_them(
    s3_url: str, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    store = open_bundle_store(_settings(s3_url, bucket))
    with pytest.raises(BundleStoreError, match=r"no S3 credentials.*AWS_ACCESS_KEY_ID"):
        store.put(bundle_bytes(name="test.nocredentials"))


def test_refused_credentials_are_an_error_naming_them(monkeypatch: pytest.MonkeyPatch) -> None:
    # this server checks access keys (moto's IAM enforcement from the first request on)
    process, url = start_moto({"INITIAL_NO_AUTH_ACTION_COUNT": "0"})
    try:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUNKNOWNKEY000000")
        store = open_bundle_store(_settings(url, "any-bucket"))
        with pytest.raises(BundleStoreError, match=r"refused.*AWS_ACCESS_KEY_ID") as refused:
            store.put(bundle_bytes(name="test.badcredentials"))
        assert "STEPWELL_S3_BUCKET" in str(refused.value)
    finally:
        stop_moto(process)


def test_s3_without_a_bucket_is_refused_naming_the_setting() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings.model_validate({"bundle_store": "s3"})
    assert "STEPWELL_S3_BUCKET must be set" in settings_problems(refused.value)
    unchecked = Settings.model_construct(bundle_store="s3", s3_bucket=None)
    with pytest.raises(BundleStoreError, match="STEPWELL_S3_BUCKET must be set"):
        open_bundle_store(unchecked)
    with pytest.raises(BundleStoreError, match="STEPWELL_S3_BUCKET must be set"):
        S3BundleStore("")


async def test_a_push_while_the_bucket_is_unusable_is_a_503_and_nothing_is_registered(
    s3_url: str, api_services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    missing = f"missing-{uuid.uuid4().hex[:8]}"
    services = dataclasses.replace(
        api_services, bundles=open_bundle_store(_settings(s3_url, missing))
    )
    workspace = new_workspace(services)
    transport = httpx.ASGITransport(app=create_app(services))
    name = f"test.s3down{uuid.uuid4().hex[:6]}"
    async with httpx.AsyncClient(transport=transport, base_url="http://stepwell.test") as http:
        pushed = await http.post(
            "/v1/steps",
            files={"bundle": ("bundle.tgz", bundle_bytes(name=name), "application/gzip")},
            headers=workspace.headers,
        )
        assert pushed.status_code == 503, pushed.text
        assert pushed.json()["error"]["code"] == "bundle_store_unavailable"
        assert missing not in pushed.text  # the operator's details stay in the log
        assert pushed.headers["Retry-After"]
        versions = await http.get(f"/v1/steps/{name}/versions", headers=workspace.headers)
        assert versions.status_code == 404, versions.text
    assert f"bucket {missing!r}" in caplog.text


def test_delete_removes_the_object_and_a_missing_one_is_fine(
    s3_url: str, s3: S3Client, bucket: str
) -> None:
    store = open_bundle_store(_settings(s3_url, bucket))
    digest = store.put(bundle_bytes(name="test.s3delete"))
    store.delete(digest)
    assert s3.list_objects_v2(Bucket=bucket).get("Contents", []) == []
    with pytest.raises(BundleNotFound):
        store.get(digest)
    store.delete(digest)
