"""A bundle store in an S3 bucket (AWS S3 or any S3-compatible server), through boto3.

Objects are named ``<prefix><hex>.tgz``. Credentials come from boto3's standard chain
(``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, a profile, an instance role, ...). boto3 is the
optional extra ``s3``: ``pip install 'stepwell[s3]'``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from activities.bundles import BundleNotFound, BundleStoreError, hex_of, verified
from step_sdk.bundle import digest_of

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MISSING_KEY = {"NoSuchKey", "404", "NotFound"}
MISSING_BUCKET = {"NoSuchBucket"}
REFUSED = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AccessDenied",
    "ExpiredToken",
    "InvalidToken",
    "InvalidClientTokenId",
    "403",
}
CREDENTIALS = (
    "the credentials in boto3's chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
    "AWS_PROFILE, or the instance role)"
)


class S3BundleStore:
    """Bundles as objects ``s3://<bucket>/<prefix><hex>.tgz``.

    ``put`` uploads (an object write is atomic and the same digest always carries the same bytes,
    so concurrent and repeated puts are harmless); ``get`` checks the bytes against the digest.

    Raises (from every method):
        BundleStoreError: the bucket does not exist, the credentials are missing or refused, or
            the endpoint cannot be reached; the message names the setting.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "bundles/",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        client: S3Client | None = None,
    ) -> None:
        if not bucket:
            raise BundleStoreError("STEPWELL_S3_BUCKET must be set when STEPWELL_BUNDLE_STORE=s3")
        self.bucket = bucket
        self.prefix = prefix
        self._where = f"bucket {bucket!r}" + (f" at {endpoint_url}" if endpoint_url else "")
        if client is None:
            try:
                import boto3
            except ImportError:
                raise BundleStoreError(
                    "STEPWELL_BUNDLE_STORE=s3 needs boto3: pip install 'stepwell[s3]'"
                ) from None
            from botocore.config import Config

            # A session of its own: the credentials are looked up for this store, not cached
            # process-wide. Checksums only where S3 requires them (several S3-compatible servers
            # refuse the newer default ones; the digest check covers integrity end to end).
            config = Config(
                connect_timeout=10,
                read_timeout=60,
                retries={"max_attempts": 3, "mode": "standard"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            )
            client = boto3.session.Session().client(
                "s3", endpoint_url=endpoint_url, region_name=region, config=config
            )
        self._client = client

    def key(self, digest: str) -> str:
        """The object key of ``digest`` (:class:`BundleNotFound` if it is not a sha256 digest)."""
        return f"{self.prefix}{hex_of(digest)}.tgz"

    def check(self) -> None:
        """Fail now, with the setting to fix, if the bucket cannot be reached (used at start)."""
        self._call(lambda: self._client.head_bucket(Bucket=self.bucket))

    def put(self, data: bytes) -> str:
        digest = digest_of(data)
        key = self.key(digest)
        self._call(
            lambda: self._client.put_object(
                Bucket=self.bucket, Key=key, Body=data, ContentType="application/gzip"
            )
        )
        return digest

    def get(self, digest: str) -> bytes:
        key = self.key(digest)

        def fetch() -> bytes:
            return self._client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

        data = self._call(fetch, missing=f"no bundle {digest} ({key} in {self._where})")
        return verified(data, digest, f"{key} in {self._where}")

    def delete(self, digest: str) -> None:
        key = self.key(digest)  # S3 answers a delete of a missing key with success
        self._call(lambda: self._client.delete_object(Bucket=self.bucket, Key=key))

    def _call(self, work: Any, missing: str | None = None) -> Any:
        """``work()``, with S3's failures turned into errors that say what to fix."""
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            EndpointConnectionError,
            NoCredentialsError,
        )

        try:
            return work()
        except NoCredentialsError:
            raise BundleStoreError(
                f"no S3 credentials for the bundle store ({self._where}): set {CREDENTIALS}"
            ) from None
        except EndpointConnectionError as exc:
            raise BundleStoreError(
                f"cannot reach the bundle store's S3 endpoint (STEPWELL_S3_ENDPOINT_URL, "
                f"STEPWELL_S3_REGION): {exc}"
            ) from None
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in MISSING_BUCKET or (code in {"404", "NotFound"} and missing is None):
                raise BundleStoreError(
                    f"STEPWELL_S3_BUCKET: {self._where} does not exist (create it, or fix "
                    "STEPWELL_S3_BUCKET / STEPWELL_S3_ENDPOINT_URL)"
                ) from None
            if code in MISSING_KEY and missing is not None:
                raise BundleNotFound(missing) from None
            if code in REFUSED:
                raise BundleStoreError(
                    f"S3 refused the bundle store's credentials for {self._where} ({code}): "
                    f"check {CREDENTIALS} and that they may read and write STEPWELL_S3_BUCKET"
                ) from None
            raise BundleStoreError(f"S3 bundle store ({self._where}): {exc}") from None
        except BotoCoreError as exc:
            raise BundleStoreError(f"S3 bundle store ({self._where}): {exc}") from None
