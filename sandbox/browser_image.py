"""The browser runtime image, ``stepwell/runtime-python3.11-browser``: the Python runtime plus
Debian's Chromium, fonts and the ``playwright`` Python package (docs/browser.md).

Its root filesystem is the Python runtime's (``stepwell/rootfs-python3.11``, pulled or
debootstrapped, see ``sandbox.rootfs``) with Debian bookworm's ``chromium`` (from
bookworm-security, where Chromium's fixes land) and fonts installed by ``apt-get`` in a chroot
on the host, as root, the way ``debootstrap`` builds the Python one: only Debian's signed
packages are fetched, nothing of a step's. The tree is pruned like every root filesystem (no
setuid bits: Chromium runs with ``--no-sandbox``, see docs/browser.md), cached as a tar below the
cache directory and imported, so a later build (or another checkout sharing the cache) needs no
network and no root.

On top, the Python image's Dockerfile (``sandbox.images``) with ``playwright`` (pinned,
``PLAYWRIGHT``) installed from a wheel downloaded on the host, without network in the build.
Playwright never downloads a browser: the image sets ``PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD`` and
points ``PLAYWRIGHT_BROWSERS_PATH`` at a directory that does not exist, and ``step_sdk.browser``
always launches ``/usr/bin/chromium``. The build fails unless Chromium starts and Playwright
imports as the step user.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import docker
from docker.errors import APIError, ImageNotFound

from sandbox.config import BROWSER_ROOTFS_IMAGE
from sandbox.errors import ImageBuildError
from sandbox.images import PYTHON_ROOTFS, ImageBuilder, _context_files, _dockerfile, _tar
from sandbox.rootfs import Log, ensure_rootfs, prune
from step_sdk.requirements import Requirement
from step_sdk.runtimes import PYTHON_BROWSER

# Pinned; Playwright 1.65 drives Debian bookworm's Chromium 15x over CDP (the console tests use
# the same pairing on the host). Keep in step with pyproject's dev extra.
PLAYWRIGHT = Requirement("playwright", "1.65.2")
CHROMIUM = "/usr/bin/chromium"
# Debian packages added to the Python root filesystem (no recommends); libatomic1 is what
# Playwright's bundled Node.js driver needs besides libc.
PACKAGES = ("chromium", "fonts-liberation", "fonts-dejavu-core", "libatomic1")
# The root filesystem's tag and cached archive are named after the package list, so changing
# it builds a new one instead of reusing a tree without the new package.
PACKAGES_KEY = hashlib.sha256(" ".join(PACKAGES).encode()).hexdigest()[:12]
ROOTFS_TAG = f"{BROWSER_ROOTFS_IMAGE}:{PACKAGES_KEY}"
APT_SOURCES = "\n".join(
    [
        "deb http://deb.debian.org/debian bookworm main",
        "deb http://deb.debian.org/debian bookworm-updates main",
        "deb http://deb.debian.org/debian-security bookworm-security main",
        "",
    ]
)
ARCHIVE = f"rootfs-bookworm-chromium-{PACKAGES_KEY}.tar"
BROWSER_ENV = {
    "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1",
    "PLAYWRIGHT_BROWSERS_PATH": "/nonexistent",
}
# Run as the step user on the finished image: the browser starts, Playwright imports.
CHECKS = (
    json.dumps([CHROMIUM, "--headless", "--no-sandbox", "--version"]),
    json.dumps(
        [
            "python3",
            "-I",
            "-c",
            "import sys; sys.path.insert(0, '/opt/stepwell/sdk'); import playwright.sync_api",
        ]
    ),
)
_CHROOT_ENV = {
    "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
    "DEBIAN_FRONTEND": "noninteractive",
    "LANG": "C.UTF-8",
}


def browser_dockerfile(rootfs: str, content: str, installer: str = "pip.whl") -> str:
    """The browser image's Dockerfile (the Python one with Playwright and the checks)."""
    return _dockerfile(
        rootfs,
        content,
        installer,
        runtime=PYTHON_BROWSER,
        extra_pins=(PLAYWRIGHT,),
        extra_env=BROWSER_ENV,
        checks=CHECKS,
    )


def content_digest() -> str:
    """Digest of what Stepwell adds on top of the browser root filesystem."""
    body = _tar(_context_files()) + browser_dockerfile(ROOTFS_TAG, "").encode()
    return hashlib.sha256(body).hexdigest()[:16]


class BrowserImageBuilder(ImageBuilder):
    """Builds (once) and finds the browser runtime image; the interface of ``ImageBuilder``."""

    what = "the browser image"

    def repository(self) -> str:
        return self._config.browser_image

    def digest(self) -> str:
        return content_digest()

    def _dockerfile(self, rootfs: str, installer: str) -> str:
        return browser_dockerfile(rootfs, self.digest(), installer)

    def _pins(self) -> list[Requirement]:
        return [*super()._pins(), PLAYWRIGHT]

    def _ensure_rootfs(self, *, source: str, rebuild: bool) -> str:
        tag = ROOTFS_TAG
        if not rebuild:
            with contextlib.suppress(ImageNotFound):
                self._client.images.get(tag)
                return tag
        archive = self._config.cache_dir / ARCHIVE
        if rebuild or not archive.exists():
            python_rootfs = ensure_rootfs(
                self._client, self._config.cache_dir, PYTHON_ROOTFS, self._log, source=source
            )
            build_browser_rootfs(self._client, python_rootfs, archive, self._log)
        self._log(f"importing {archive} as {tag}")
        try:
            self._client.api.import_image_from_file(
                str(archive), repository=BROWSER_ROOTFS_IMAGE, tag=PACKAGES_KEY
            )
        except APIError as exc:
            raise ImageBuildError(f"importing {archive} failed: {exc}") from exc
        return tag


def build_browser_rootfs(
    client: docker.DockerClient, python_rootfs: str, archive: Path, log: Log
) -> None:
    """Write ``archive``: ``python_rootfs``'s tree with ``PACKAGES`` installed, pruned.

    Raises:
        ImageBuildError: not root, or ``apt-get`` failed (its last lines are in the message).
    """
    if os.geteuid() != 0:
        raise ImageBuildError(
            "building the browser image's root filesystem needs root (apt-get in a chroot): run "
            "'sudo stepwell images build --runtime python3.11-browser' once; the result is cached "
            f"as {archive}"
        )
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=archive.parent, prefix="browser-rootfs-") as work:
        root = Path(work) / "root"
        root.mkdir()
        log(f"unpacking {python_rootfs}")
        _export(client, python_rootfs, root)
        (root / "etc/apt/sources.list").write_text(APT_SOURCES)
        for directory in ("var/log/apt", "var/lib/apt/lists/partial", "var/cache/apt/archives"):
            (root / directory).mkdir(parents=True, exist_ok=True)
        resolv = root / "etc/resolv.conf"
        resolv.unlink(missing_ok=True)
        shutil.copyfile("/etc/resolv.conf", resolv)
        log(f"apt-get install {' '.join(PACKAGES)} (bookworm-security; a minute or two)")
        try:
            _chroot(root, ["apt-get", "update", "-qq"])
            _chroot(
                root,
                ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *PACKAGES],
            )
            _chroot(root, ["apt-get", "clean"])
        finally:
            resolv.write_text("")
        prune(root)
        log(f"packing {archive}")
        partial = archive.with_suffix(".tar.partial")
        subprocess.run(
            ["tar", "--numeric-owner", "-C", str(root), "-cf", str(partial), "."], check=True
        )
        partial.rename(archive)


def _export(client: docker.DockerClient, image: str, root: Path) -> None:
    container = client.containers.create(image, command=["true"])
    try:
        with subprocess.Popen(["tar", "-x", "-C", str(root)], stdin=subprocess.PIPE) as untar:
            stdin = untar.stdin
            if stdin is None:  # not reached: stdin is a pipe
                raise ImageBuildError("tar has no standard input")
            chunks: Iterator[bytes] = container.export()  # type: ignore[assignment]
            for chunk in chunks:
                stdin.write(chunk)
            stdin.close()
        if untar.returncode != 0:
            raise ImageBuildError(f"unpacking {image} failed (tar exited {untar.returncode})")
    finally:
        container.remove(force=True)


def _chroot(root: Path, command: list[str]) -> None:
    done = subprocess.run(
        ["chroot", str(root), *command],
        env=_CHROOT_ENV,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
        raise ImageBuildError(f"{' '.join(command[:2])} in the browser rootfs failed:\n{tail}")
