"""The base runtime image: a Python 3.11 root filesystem plus the Stepwell runner.

Where a registry is reachable the root filesystem comes from ``python:3.11-slim``; otherwise it
is built offline with ``debootstrap`` (Debian bookworm minbase with python3); see
``sandbox.rootfs``, shared with the Node.js image (``sandbox.node_image``). The same Dockerfile
adds the runner on top, so both paths give the same layout.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from importlib import resources
from importlib.metadata import version

import docker
from docker.errors import APIError, BuildError, ImageNotFound

from sandbox import labels
from sandbox.config import ENV_ALLOWLIST, REGISTRY_IMAGE, ROOTFS_IMAGE, RUNTIME, SandboxConfig
from sandbox.errors import DependencyError, ImageBuildError
from sandbox.rootfs import Log, RootfsSource, ensure_rootfs
from sandbox.wheels import download_wheels, engine_platform, pip_wheel
from step_sdk.requirements import Requirement, normalize_name

PYTHON_ROOTFS = RootfsSource(
    image=ROOTFS_IMAGE,
    registry_image=REGISTRY_IMAGE,
    suite="bookworm",
    include="python3",
    archive="rootfs-bookworm.tar",
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


def _dockerfile(
    rootfs: str,
    content: str,
    installer: str = "pip.whl",
    *,
    runtime: str = RUNTIME,
    extra_pins: tuple[Requirement, ...] = (),
    extra_env: dict[str, str] | None = None,
    checks: tuple[str, ...] = (),
) -> str:
    """The Dockerfile of a Python runtime image; ``extra_pins`` are installed next to the SDK's
    libraries, ``extra_env`` joins the allowlisted environment, ``checks`` are ``RUN`` lines
    (JSON arrays) that must succeed on the finished image (as the step user)."""
    env = " ".join(f"{k}={v}" for k, v in sorted({**ENV_ALLOWLIST, **(extra_env or {})}.items()))
    pins = " ".join(str(r) for r in [*sdk_runtime_pins(), *extra_pins])
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
            *(f"RUN {check}" for check in checks),
            f'LABEL {labels.ROLE}="{labels.ROLE_BASE}" {labels.CONTENT}="{content}" '
            f'stepwell.runtime="{runtime}"',
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


class RuntimeImage:
    """What the runtime images' builders share: the tag (the repository and a digest of what
    Stepwell adds), finding the image by it, and building it from a tar context with no
    network. Subclasses give :meth:`repository`, :meth:`digest` and ``ensure``."""

    what = "the runtime image"

    def __init__(self, client: docker.DockerClient, config: SandboxConfig, log: Log = print):
        self._client = client
        self._config = config
        self._log = log

    def repository(self) -> str:
        raise NotImplementedError

    def digest(self) -> str:
        raise NotImplementedError

    @property
    def tag(self) -> str:
        """The tag of the image matching this installation's runner."""
        return f"{self.repository()}:{self.digest()}"

    def find(self) -> str | None:
        """The id of the current image, or None when it has not been built."""
        try:
            return str(self._client.images.get(self.tag).id)
        except ImageNotFound:
            return None

    def _build(self, rootfs: str, context: bytes) -> str:
        """Build :attr:`tag` from ``context`` (a tar with its Dockerfile) without network, tag
        it ``latest`` too; its id.

        Raises:
            ImageBuildError: the engine refused the build.
        """
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
            raise ImageBuildError(f"building {self.what} failed: {exc}") from exc
        image.tag(self.repository(), "latest")
        return str(image.id)


class ImageBuilder(RuntimeImage):
    """Builds (once) and finds the base runtime image."""

    what = "the base image"

    def repository(self) -> str:
        return self._config.base_image

    def digest(self) -> str:
        return content_digest()

    def ensure(self, *, rebuild: bool = False, source: str = "auto") -> str:
        """Return the base image id, building whatever is missing.

        Args:
            rebuild: build again even when an image for this runner exists.
            source: ``auto`` (pull, else debootstrap), ``pull`` or ``debootstrap``.
        """
        if not rebuild and (found := self.find()):
            return found
        rootfs = self._ensure_rootfs(source=source, rebuild=rebuild)
        wheels = self._sdk_wheels()
        installer = pip_wheel(self._config.cache_dir, self._config.pip_index_url)
        wheels[f"wheels/{installer.name}"] = installer.read_bytes()
        dockerfile = self._dockerfile(rootfs, installer.name)
        context = _tar({**_context_files(), **wheels, "Dockerfile": dockerfile.encode()})
        return self._build(rootfs, context)

    def _dockerfile(self, rootfs: str, installer: str) -> str:
        return _dockerfile(rootfs, self.digest(), installer)

    def _pins(self) -> list[Requirement]:
        """What the image installs next to the SDK: its runtime libraries, pinned."""
        return sdk_runtime_pins()

    def _sdk_wheels(self) -> dict[str, bytes | None]:
        pins = self._pins()
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
        return ensure_rootfs(
            self._client,
            self._config.cache_dir,
            PYTHON_ROOTFS,
            self._log,
            source=source,
            rebuild=rebuild,
        )
