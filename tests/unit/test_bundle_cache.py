"""The worker's bundle cache: bytes fetched once are kept on disk under the worker's own home,
checked against the digest on every read; a damaged cache file is fetched again, never trusted."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from activities.bundles import BundleCache, BundleNotFound, LocalBundleStore
from step_sdk.bundle import build_bundle, digest_of
from step_sdk.manifest import Manifest


class CountingStore(LocalBundleStore):
    """A real directory store that counts fetches (to see when the cache went to the store)."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.fetches: list[str] = []

    def get(self, digest: str) -> bytes:
        self.fetches.append(digest)
        return super().get(digest)


def _bundle(name: str) -> bytes:
    manifest = Manifest(name=name, version="1.0.0", entrypoint="step:main")
    return build_bundle(manifest, {"step.py": b"def main():\n    return 1\n"}).data


def test_a_fetched_bundle_is_cached_on_disk_and_a_restarted_worker_reads_it_from_there(
    tmp_path: Path,
) -> None:
    store = CountingStore(tmp_path / "store")
    data = _bundle("test.cached")
    digest = store.put(data)
    cache_dir = tmp_path / "home" / "cache" / "bundles"
    assert BundleCache(store, cache_dir).get(digest).data == data
    assert (cache_dir / f"{digest.removeprefix('sha256:')}.tgz").read_bytes() == data
    assert [p.name for p in cache_dir.iterdir()] == [f"{digest.removeprefix('sha256:')}.tgz"]
    restarted = BundleCache(store, cache_dir)  # a new process: nothing in memory
    assert restarted.get(digest).data == data
    assert store.fetches == [digest]


@pytest.mark.parametrize("damage", ["truncated", "flipped", "empty", "other-bundle"])
def test_a_damaged_cache_file_is_fetched_again_and_rewritten(tmp_path: Path, damage: str) -> None:
    store = CountingStore(tmp_path / "store")
    data = _bundle("test.damaged")
    digest = store.put(data)
    cache_dir = tmp_path / "cache"
    BundleCache(store, cache_dir).get(digest)
    cached = cache_dir / f"{digest.removeprefix('sha256:')}.tgz"
    cached.write_bytes(
        {
            "truncated": data[:-20],
            "flipped": data[:100] + bytes([data[100] ^ 0xFF]) + data[101:],
            "empty": b"",
            "other-bundle": _bundle("test.impostor"),
        }[damage]
    )
    bundle = BundleCache(store, cache_dir).get(digest)
    assert bundle.data == data and bundle.manifest.name == "test.damaged"
    assert store.fetches == [digest, digest]
    assert cached.read_bytes() == data


def test_the_disk_cache_keeps_to_its_size_dropping_the_least_recently_used(tmp_path: Path) -> None:
    store = CountingStore(tmp_path / "store")
    bundles = [_bundle(f"test.size{i}") for i in range(4)]
    digests = [store.put(data) for data in bundles]
    biggest = max(len(data) for data in bundles)
    cache_dir = tmp_path / "cache"
    cache = BundleCache(store, cache_dir, disk_max_bytes=2 * biggest)
    for i, digest in enumerate(digests):
        cache.get(digest)
        path = cache_dir / f"{digest.removeprefix('sha256:')}.tgz"
        os.utime(path, (1_000_000 + i, 1_000_000 + i))  # distinct ages on coarse clocks
    on_disk = sum(path.stat().st_size for path in cache_dir.iterdir())
    assert on_disk <= 2 * biggest
    assert len(list(cache_dir.iterdir())) == 2
    assert (cache_dir / f"{digests[-1].removeprefix('sha256:')}.tgz").exists()
    assert not (cache_dir / f"{digests[0].removeprefix('sha256:')}.tgz").exists()


def test_a_bundle_the_store_does_not_have_is_not_found_and_nothing_is_cached(
    tmp_path: Path,
) -> None:
    cache_dir = tmp_path / "cache"
    cache = BundleCache(LocalBundleStore(tmp_path / "store"), cache_dir)
    with pytest.raises(BundleNotFound):
        cache.get(digest_of(b"never stored"))
    with pytest.raises(BundleNotFound, match="not a sha256 digest"):
        cache.get("sha256:../../escape")
    assert not cache_dir.exists() or list(cache_dir.iterdir()) == []
