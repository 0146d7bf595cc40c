"""Choosing the bundle store from the settings: the one place the API, the worker and
``stepwell flow run --steps`` get theirs from.

``STEPWELL_BUNDLE_STORE=database`` (the default): the ``bundle`` table of ``STEPWELL_DATABASE_URL``.
``STEPWELL_BUNDLE_STORE=s3``: ``STEPWELL_S3_BUCKET`` (required), ``STEPWELL_S3_PREFIX``
(``bundles/``), ``STEPWELL_S3_ENDPOINT_URL`` and ``STEPWELL_S3_REGION`` (optional), credentials
from boto3's standard chain.
"""

from __future__ import annotations

import sqlalchemy as sa

from activities.bundle_db import DatabaseBundleStore
from activities.bundle_s3 import S3BundleStore
from activities.bundles import BundleStore, BundleStoreError
from stepwell_settings import Settings
from ui_api.db import create_engine


def open_bundle_store(settings: Settings, engine: sa.Engine | None = None) -> BundleStore:
    """The configured store. ``engine``: the database's, if the caller has one already (else one
    is created for ``settings.database``; only the database store uses it).

    Raises:
        BundleStoreError: ``s3`` without ``STEPWELL_S3_BUCKET``, or without boto3 installed.
    """
    if settings.bundle_store == "s3":
        if not settings.s3_bucket:
            raise BundleStoreError("STEPWELL_S3_BUCKET must be set when STEPWELL_BUNDLE_STORE=s3")
        return S3BundleStore(
            settings.s3_bucket,
            settings.s3_prefix,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
        )
    return DatabaseBundleStore(engine or create_engine(settings.database))


def check_bundle_store(store: BundleStore) -> None:
    """At start: fail with the setting to fix if the store cannot be reached (a missing bucket,
    refused credentials). The database store needs no check: the API migrated its table.

    Raises:
        BundleStoreError: what is wrong, naming the setting.
    """
    if isinstance(store, S3BundleStore):
        store.check()
