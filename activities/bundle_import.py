"""The upgrade path from the shared directory: bundles that an older API stored as files in
``STEPWELL_HOME/bundles`` are copied into the configured store when the API starts."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from activities.bundles import BundleStore
from step_sdk.bundle import digest_of

log = logging.getLogger("stepwell.bundles")
HEX = frozenset("0123456789abcdef")


@dataclass
class ImportReport:
    copied: list[str] = field(default_factory=list)  # digests now in the store
    skipped: list[Path] = field(default_factory=list)  # files whose bytes do not match their name


def import_bundle_directory(directory: Path, store: BundleStore) -> ImportReport:
    """Put every ``<hex>.tgz`` of ``directory`` whose bytes hash to its name into ``store``.

    Idempotent (a store's put is), never fatal: a corrupt or unreadable file is logged and
    skipped, a store that fails is logged and the rest left for the next start. The directory is
    only read; delete it once the store holds its bundles (and is backed up).
    """
    report = ImportReport()
    if not directory.is_dir():
        return report
    for path in sorted(directory.glob("*.tgz")):
        hexdigest = path.name.removesuffix(".tgz")
        if len(hexdigest) != 64 or not set(hexdigest) <= HEX:
            continue
        try:
            data = path.read_bytes()
        except OSError as exc:
            log.warning("old bundle %s cannot be read, skipped: %s", path, exc)
            report.skipped.append(path)
            continue
        digest = digest_of(data)
        if digest != f"sha256:{hexdigest}":
            log.warning("old bundle %s is corrupt (its bytes hash to %s), skipped", path, digest)
            report.skipped.append(path)
            continue
        try:
            store.put(data)
        except Exception as exc:  # the API starts anyway: the copy is retried on the next start
            log.warning(
                "cannot copy old bundles into the bundle store, next start retries: %s", exc
            )
            return report
        report.copied.append(digest)
    if report.copied:
        log.info("%d bundles from %s are in the bundle store", len(report.copied), directory)
    return report
