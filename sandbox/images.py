"""The base runtime image: a Python 3.11 root filesystem plus the Stepwell runner.

Where a registry is reachable the root filesystem comes from ``python:3.11-slim``; otherwise it
is built offline with ``debootstrap`` (Debian bookworm minbase with python3). Either way it is
flattened into one image without configuration (so no inherited environment) and the same
Dockerfile adds the runner on top, so both paths give the same layout.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from importlib import resources
from importlib.metadata import version
from pathlib import Path

import docker
from docker.errors import APIError, BuildError, ImageNotFound

from sandbox import labels
from sandbox.config import ENV_ALLOWLIST, REGISTRY_IMAGE, ROOTFS_IMAGE, RUNTIME, SandboxConfig
from sandbox.errors import DependencyError, ImageBuildError
from sandbox.wheels import download_wheels, engine_platform, pip_wheel
from step_sdk.requirements import Requirement, normalize_name

Log = Callable[[str], None]
DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
# Trimmed from the root filesystem: documentation and package-manager state a step never needs.
_PRUNE = (
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "var/cache/apt",
    "var/lib/apt/lists",
    "var/log",
)


# What step code can import besides its own requirements: the SDK and the libraries it needs,
# pinned to the versions installed next to this worker so host and container agree.
SDK_RUNTIME = ("pydantic", "jsonschema")
SDK_DIR = "/opt/stepwell/sdk"
# Bytecode compiled ahead of time, in the image: the root filesystem is read-only and the runner
# runs with -B, so a module without a .pyc here is compiled again by every container that imports
# it (step_sdk alone cost ~35 ms per start). The standard library's test suites are skipped: they
# hold files that fail to compile on purpose and no step needs them. Any other failure fails the
# build.
PRECOMPILE = "\n".join(
    [
        "import compileall, re, sys, sysconfig",
        "skip = re.compile(r'/(test|tests|idle_test|lib2to3|idlelib|tkinter|turtledemo)/')",
        "ok = compileall.compile_dir(sysconfig.get_path('stdlib'), quiet=1, rx=skip, workers=0)",
        "ok = compileall.compile_dir('/opt/stepwell', quiet=1, workers=0) and ok",
        "sys.exit(0 if ok else 1)",
    ]
)


def runner_source() -> bytes:
    """The in-container runner, read from the installed ``step_sdk`` package."""
    return resources.files("step_sdk").joinpath("runner.py").read_bytes()


def sdk_sources() -> dict[str, bytes]:
    """The ``step_sdk`` package's modules, as shipped into the image."""
    package = resources.files("step_sdk")
    return {
        entry.name: entry.read_bytes()
        for entry in package.iterdir()
        if entry.name.endswith(".py") and entry.is_file()
    }


def sdk_runtime_pins() -> list[Requirement]:
    """The SDK's runtime libraries, pinned to the host's installed versions."""
    return [Requirement(normalize_name(name), version(name)) for name in SDK_RUNTIME]


def _dockerfile(rootfs: str, content: str, installer: str = "pip.whl") -> str:
    env = " ".join(f"{k}={v}" for k, v in sorted(ENV_ALLOWLIST.items()))
    pins = " ".join(str(r) for r in sdk_runtime_pins())
    return "\n".join(
        [
            # Stage 1 installs the SDK's libraries from host-downloaded wheels, without network;
            # only the installed files are carried over, never the wheels.
            f"FROM {rootfs} AS sdk",
            "COPY wheels/ /tmp/wheels/",
            f"RUN python3 /tmp/wheels/{installer}/pip install --no-index --find-links "
            f"/tmp/wheels --target {SDK_DIR} --disable-pip-version-check "
            f"--no-warn-script-location --root-user-action=ignore {pins}",
            f"FROM {rootfs}",
            f"COPY --from=sdk {SDK_DIR}/ {SDK_DIR}/",
            "COPY opt/ /opt/",
            f"RUN {json.dumps(['python3', '-I', '-c', PRECOMPILE])}",
            # The tmpfs mounted on /work takes this directory's mode, so make it writable.
            "RUN mkdir -p -m 1777 /work",
            f"ENV {env}",
            "WORKDIR /work",
            "USER 65534:65534",
            f'LABEL {labels.ROLE}="{labels.ROLE_BASE}" {labels.CONTENT}="{content}" '
            f'stepwell.runtime="{RUNTIME}"',
            'CMD ["python3", "-I", "/opt/stepwell/runner.py"]',
            "",
        ]
    )


def _context_files() -> dict[str, bytes | None]:
    """Files (bytes) and empty directories (None) of the image context below the Dockerfile."""
    files: dict[str, bytes | None] = {
        "opt/stepwell/runner.py": runner_source(),
        "opt/stepwell/bundle/": None,
        "opt/stepwell/deps/": None,
    }
    for name, source in sdk_sources().items():
        files[f"opt/stepwell/sdk/step_sdk/{name}"] = source
    return files


def _tar(files: dict[str, bytes | None]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name in sorted(files):
            content = files[name]
            info = tarfile.TarInfo(name.rstrip("/"))
            info.mtime = 0
            if content is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            else:
                info.size = len(content)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(content))
    return out.getvalue()


def content_digest() -> str:
    """Digest of what Stepwell adds on top of the root filesystem; a new runner gives a new tag."""
    files = _context_files()
    body = _tar(files) + _dockerfile(ROOTFS_IMAGE, "").encode()
    return hashlib.sha256(body).hexdigest()[:16]


class ImageBuilder:
    """Builds (once) and finds the base runtime image."""

    def __init__(self, client: docker.DockerClient, config: SandboxConfig, log: Log = print):
        self._client = client
        self._config = config
        self._log = log

    @property
    def tag(self) -> str:
        """The tag of the base image matching this installation's runner."""
        return f"{self._config.base_image}:{content_digest()}"

    def find(self) -> str | None:
        """The id of the current base image, or None when it has not been built."""
        try:
            return str(self._client.images.get(self.tag).id)
        except ImageNotFound:
            return None

    def ensure(self, *, rebuild: bool = False, source: str = "auto") -> str:
        """Return the base image id, building whatever is missing.

        Args:
            rebuild: build again even when an image for this runner exists.
            source: ``auto`` (pull, else debootstrap), ``pull`` or ``debootstrap``.
        """
        if not rebuild and (found := self.find()):
            return found
        rootfs = self._ensure_rootfs(source=source, rebuild=rebuild)
        digest = content_digest()
        wheels = self._sdk_wheels()
        installer = pip_wheel(self._config.cache_dir, self._config.pip_index_url)
        wheels[f"wheels/{installer.name}"] = installer.read_bytes()
        dockerfile = _dockerfile(rootfs, digest, installer.name)
        context = _tar({**_context_files(), **wheels, "Dockerfile": dockerfile.encode()})
        self._log(f"building {self.tag} on {rootfs}")
        try:
            image, _ = self._client.images.build(
                fileobj=io.BytesIO(context),
                custom_context=True,
                tag=self.tag,
                rm=True,
                forcerm=True,
                network_mode="none",
                pull=False,
            )
        except (BuildError, APIError) as exc:
            raise ImageBuildError(f"building the base image failed: {exc}") from exc
        image.tag(self._config.base_image, "latest")
        return str(image.id)

    def _sdk_wheels(self) -> dict[str, bytes | None]:
        pins = sdk_runtime_pins()
        key = hashlib.sha256(" ".join(map(str, pins)).encode()).hexdigest()[:16]
        target = self._config.cache_dir / "sdk-wheels" / key
        if not any(target.glob("*.whl")):
            self._log(f"downloading wheels for {', '.join(map(str, pins))}")
            try:
                download_wheels(
                    pins,
                    target,
                    engine_platform(self._client),
                    index_url=self._config.pip_index_url,
                )
            except DependencyError as exc:
                raise ImageBuildError(f"cannot get the SDK's libraries: {exc}") from exc
        return {f"wheels/{wheel.name}": wheel.read_bytes() for wheel in target.glob("*.whl")}

    def _ensure_rootfs(self, *, source: str, rebuild: bool) -> str:
        tag = f"{ROOTFS_IMAGE}:latest"
        if not rebuild:
            try:
                self._client.images.get(tag)
                return tag
            except ImageNotFound:
                pass
        if source in ("auto", "pull"):
            try:
                self._rootfs_from_registry(tag)
                return tag
            except APIError as exc:
                if source == "pull":
                    raise ImageBuildError(f"pulling {REGISTRY_IMAGE} failed: {exc}") from exc
                self._log(f"cannot pull {REGISTRY_IMAGE} ({_first_line(exc)}); using debootstrap")
        self._rootfs_from_debootstrap(tag)
        return tag

    def _rootfs_from_registry(self, tag: str) -> None:
        repository, _, version = REGISTRY_IMAGE.partition(":")
        self._log(f"pulling {REGISTRY_IMAGE}")
        self._client.images.pull(repository, tag=version)
        container = self._client.containers.create(REGISTRY_IMAGE, command=["true"])
        try:
            # Export + import flattens the image and drops its configuration (ENV, CMD, ...).
            stream = container.export()
            self._client.api.import_image_from_stream(
                _IterStream(stream), repository=ROOTFS_IMAGE, tag=tag.rpartition(":")[2]
            )
        finally:
            container.remove(force=True)

    def _rootfs_from_debootstrap(self, tag: str) -> None:
        target = self._config.cache_dir / "rootfs-bookworm"
        archive = self._config.cache_dir / "rootfs-bookworm.tar"
        if not archive.exists():
            _debootstrap(target, self._log)
            _prune(target)
            self._log(f"packing {target}")
            partial = archive.with_suffix(".tar.partial")
            subprocess.run(
                ["tar", "--numeric-owner", "-C", str(target), "-cf", str(partial), "."],
                check=True,
            )
            partial.rename(archive)
            shutil.rmtree(target, ignore_errors=True)
        self._log(f"importing {archive} as {tag}")
        self._client.api.import_image_from_file(
            str(archive), repository=ROOTFS_IMAGE, tag=tag.rpartition(":")[2]
        )


def _debootstrap(target: Path, log: Log) -> None:
    binary = shutil.which("debootstrap")
    if binary is None:
        raise ImageBuildError(
            "no registry is reachable and debootstrap is not installed: run "
            "'apt-get install -y debootstrap' as root (or make python:3.11-slim pullable)"
        )
    if os.geteuid() != 0:
        raise ImageBuildError(
            "building the base image offline needs root (debootstrap): run "
            "'sudo stepwell images build', or make python:3.11-slim pullable"
        )
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    log(f"debootstrap {DEBIAN_SUITE} minbase with python3 into {target} (about a minute)")
    result = subprocess.run(
        [
            binary,
            "--variant=minbase",
            "--include=python3",
            DEBIAN_SUITE,
            str(target),
            DEBIAN_MIRROR,
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-15:])
        raise ImageBuildError(f"debootstrap failed:\n{tail}")


def _prune(root: Path) -> None:
    for relative in _PRUNE:
        shutil.rmtree(root / relative, ignore_errors=True)
    # No setuid or setgid programs in a step's image: no-new-privileges already makes them inert.
    for directory, _, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            if os.path.islink(path):
                continue
            mode = os.lstat(path).st_mode
            if mode & 0o6000:
                os.chmod(path, mode & ~0o6000 & 0o7777)


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


class _IterStream(io.RawIOBase):
    """A file-like view of an iterator of byte chunks (for streaming an export into an import)."""

    def __init__(self, chunks: object) -> None:
        self._chunks = iter(chunks)  # type: ignore[call-overload]
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: bytearray) -> int:  # type: ignore[override]
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size
