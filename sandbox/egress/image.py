"""The egress proxy's image: the base runtime image plus the proxy program, built without network.

The proxy is standard library + h11 + ``step_sdk/egress.py``. Those files are copied from this
installation (h11's pure-Python package from the host's own install, so no download happens) into
``PROXY_ROOT`` inside the image, laid out as ``sandbox/egress/proxy.py`` says (with an empty
``step_sdk/__init__.py``: the proxy needs the entry grammar, never pydantic). The tag is a digest
of everything that goes in (the base image id, the files, the Dockerfile), so a new proxy or a
new base gives a new image, and an unchanged one is never rebuilt.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Callable
from importlib import resources

import docker
from docker.errors import APIError, BuildError, ImageNotFound

from sandbox import labels
from sandbox.egress import PROXY_MODULES
from sandbox.errors import ImageBuildError

Log = Callable[[str], None]
IMAGE = "stepwell/egress-proxy"
PROXY_ROOT = "/opt/stepwell-egress"
# Where the proxy keeps one directory per lease (the named volume is mounted here).
VOLUME_TARGET = "/egress"
# Non-root, and not 65534 (the steps' user), so a step owns nothing the proxy owns.
PROXY_USER = "10001:10001"
PROXY_COMMAND = [
    "python3",
    "-I",
    "-B",
    f"{PROXY_ROOT}/sandbox/egress/proxy.py",
    "--root",
    VOLUME_TARGET,
]


def proxy_files() -> dict[str, bytes]:
    """The files below ``PROXY_ROOT``: relative path -> content."""
    egress = resources.files("sandbox.egress")
    files: dict[str, bytes] = {"sandbox/__init__.py": b"", "step_sdk/__init__.py": b""}
    for name in PROXY_MODULES:
        files[f"sandbox/egress/{name}"] = egress.joinpath(name).read_bytes()
    files["step_sdk/egress.py"] = resources.files("step_sdk").joinpath("egress.py").read_bytes()
    for entry in resources.files("h11").iterdir():
        if entry.is_file() and entry.name.endswith(".py"):
            files[f"h11/{entry.name}"] = entry.read_bytes()
    return files


def _dockerfile(base_image_id: str, content: str) -> str:
    uid, _, gid = PROXY_USER.partition(":")
    return "\n".join(
        [
            f"FROM {base_image_id}",
            f"COPY egress/ {PROXY_ROOT}/",
            "USER 0:0",  # the base image ends as the steps' user; the proxy gets its own
            # A fresh named volume takes this directory's owner and mode on its first mount.
            f"RUN mkdir -p {VOLUME_TARGET} && chown {uid}:{gid} {VOLUME_TARGET} "
            f"&& chmod 0755 {VOLUME_TARGET}",
            f"USER {PROXY_USER}",
            "WORKDIR /",
            f'LABEL {labels.ROLE}="{labels.ROLE_EGRESS}" {labels.CONTENT}="{content}"',
            "CMD " + json.dumps(PROXY_COMMAND),
            "",
        ]
    )


def _tar(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.mtime = 0
            info.mode = 0o644
            info.size = len(files[name])
            tar.addfile(info, io.BytesIO(files[name]))
    return out.getvalue()


def content_digest(base_image_id: str) -> str:
    """16 hex digits identifying the proxy image built on ``base_image_id`` from these files."""
    files = {f"egress/{name}": data for name, data in proxy_files().items()}
    body = _tar(files) + _dockerfile(base_image_id, "").encode()
    return hashlib.sha256(body).hexdigest()[:16]


class ProxyImage:
    """Builds (once per content digest) and finds the proxy image on one engine."""

    def __init__(self, client: docker.DockerClient, log: Log = print) -> None:
        self._client = client
        self._log = log

    @staticmethod
    def tag(base_image_id: str) -> str:
        return f"{IMAGE}:{content_digest(base_image_id)}"

    def ensure(self, base_image_id: str) -> str:
        """The tag of the proxy image for ``base_image_id``, built if missing.

        Raises:
            ImageBuildError: the engine refused the build.
        """
        tag = self.tag(base_image_id)
        try:
            self._client.images.get(tag)
            return tag
        except ImageNotFound:
            pass
        digest = tag.rpartition(":")[2]
        files = {f"egress/{name}": data for name, data in proxy_files().items()}
        files["Dockerfile"] = _dockerfile(base_image_id, digest).encode()
        self._log(f"building {tag}")
        try:
            self._client.images.build(
                fileobj=io.BytesIO(_tar(files)),
                custom_context=True,
                tag=tag,
                rm=True,
                forcerm=True,
                network_mode="none",
                pull=False,
            )
        except (BuildError, APIError) as exc:
            raise ImageBuildError(f"building the egress proxy image failed: {exc}") from exc
        return tag
