"""Run artifacts: files a step saves for people to download (a screenshot, a CSV report).

A step saves one with ``ctx.artifacts.save(name, data, content_type)`` or by writing a file into
the folder ``$STEPWELL_ARTIFACTS_DIR`` (``/opt/stepwell/artifacts`` in the sandbox, a tmpfs whose
size is the total cap). After the step, the runner sends every regular file of that folder to the
host on the result channel (``sandbox.artifacts`` documents the framing); the host stores the
bytes by digest and lists them with the run.

The rules here are the host's as well as the SDK's (the host checks everything again: the
container is not trusted):

- a name is one relative file name: not empty, not ``.`` or ``..``, no ``/``, no NUL or other
  control character, at most :data:`MAX_NAME_BYTES` bytes of UTF-8;
- a content type is a media type (``type/subtype``, lower case, parameters dropped); anything
  else is stored as ``application/octet-stream``;
- caps: :data:`DEFAULT_MAX_COUNT` artifacts, :data:`DEFAULT_MAX_BYTES` each and
  :data:`DEFAULT_TOTAL_BYTES` in all per execution (the host's settings
  ``STEPWELL_ARTIFACT_MAX_COUNT``, ``STEPWELL_ARTIFACT_MAX_MB``, ``STEPWELL_ARTIFACT_TOTAL_MB``).
  Over a cap the step fails with ``ArtifactLimitExceeded`` (not retried): a report that silently
  lost a file would be worse than a failed step that says which cap it hit.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

ARTIFACTS_DIR_ENV = "STEPWELL_ARTIFACTS_DIR"
SANDBOX_ARTIFACTS_DIR = "/opt/stepwell/artifacts"
MAX_NAME_BYTES = 255
DEFAULT_MAX_COUNT = 20
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_TOTAL_BYTES = 50 * 1024 * 1024
OCTET_STREAM = "application/octet-stream"
LIMIT_ERROR = "ArtifactLimitExceeded"
# RFC 6838 restricted-name characters, lower case; no parameters (a charset is not needed to
# download bytes, and a parameter is one more thing to smuggle into a header).
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")


class ArtifactLimitExceeded(Exception):
    """Saving would pass a cap (count, size of one, or total). Not retried."""

    stepwell_error_type = LIMIT_ERROR


# Characters that hide or reorder text where a name is shown (lists, tables, a download's file
# name): controls (Cc: NUL, newline, ESC), format characters (Cf: bidi overrides such as U+202E
# that make "\u202egnp.exe" display as "exe.png", zero-width characters, U+FEFF), line and
# paragraph separators (Zl U+2028, Zp U+2029) and lone surrogates (Cs). The same rule as flow
# names (ui_api/flows/service.py name_problems) plus Zl/Zp/Cs; runner.mjs mirrors it.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot name an artifact, or ``None`` if it can."""
    if not isinstance(name, str):
        return f"a name must be a string, not {type(name).__name__}"
    if name in ("", ".", ".."):
        return f"{name!r} is not a file name"
    if "/" in name or "\\" in name:
        return "a name is one file name: no '/' or '\\'"
    hidden = sorted({c for c in name if unicodedata.category(c) in _HIDDEN_CATEGORIES})
    if hidden:
        shown = ", ".join(f"U+{ord(c):04X}" for c in hidden[:5])
        return (
            "a name may not contain control, format or line/paragraph separator characters"
            f" or lone surrogates ({shown})"
        )
    size = len(name.encode("utf-8"))
    if size > MAX_NAME_BYTES:
        return f"a name is at most {MAX_NAME_BYTES} bytes of UTF-8; this one is {size}"
    return None


def media_type(value: object) -> str:
    """``value``'s media type (``image/png``; parameters such as ``charset`` dropped), else
    ``application/octet-stream``."""
    if isinstance(value, str):
        lowered = value.split(";", 1)[0].strip().lower()
        if _MEDIA_TYPE.fullmatch(lowered):
            return lowered
    return OCTET_STREAM


@dataclass
class Artifacts:
    """``ctx.artifacts``: save files for the run's page, ``stepwell run show`` and the API.

    ::

        @step
        def report(rows: list[dict[str, str]], ctx: StepContext) -> int:
            ctx.artifacts.save("report.csv", to_csv(rows).encode(), "text/csv")
            return len(rows)

    Outside the sandbox (``step_sdk.testing.call``, plain pytest) the folder is a fresh
    temporary directory unless ``STEPWELL_ARTIFACTS_DIR`` is set; :attr:`folder` says where.
    """

    folder: Path = field(default_factory=lambda: Path(_default_folder()))
    max_count: int = DEFAULT_MAX_COUNT
    max_bytes: int = DEFAULT_MAX_BYTES
    total_bytes: int = DEFAULT_TOTAL_BYTES
    content_types: dict[str, str] = field(default_factory=dict)

    def save(self, name: str, data: bytes, content_type: str = OCTET_STREAM) -> Path:
        """Save ``data`` as the artifact ``name`` (replacing one of that name); return its path.

        Raises:
            ValueError: ``name`` is not a plain file name (see :func:`name_problem`).
            TypeError: ``data`` is not bytes.
            ArtifactLimitExceeded: it would pass the count, per-artifact or total cap.
        """
        if (problem := name_problem(name)) is not None:
            raise ValueError(f"artifact name {name[:80]!r}: {problem}")
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"artifact {name!r}: data must be bytes, not {type(data).__name__}")
        data = bytes(data)
        if len(data) > self.max_bytes:
            raise ArtifactLimitExceeded(
                f"artifact {name!r} is {len(data)} bytes; the limit is {self.max_bytes} per "
                "artifact (STEPWELL_ARTIFACT_MAX_MB)"
            )
        existing = self._sizes()
        existing.pop(name, None)
        if len(existing) + 1 > self.max_count:
            raise ArtifactLimitExceeded(
                f"artifact {name!r} would be number {len(existing) + 1}; a step may save "
                f"{self.max_count} (STEPWELL_ARTIFACT_MAX_COUNT)"
            )
        if sum(existing.values()) + len(data) > self.total_bytes:
            raise ArtifactLimitExceeded(
                f"artifact {name!r} would bring the step's artifacts to "
                f"{sum(existing.values()) + len(data)} bytes; the limit is {self.total_bytes} "
                "(STEPWELL_ARTIFACT_TOTAL_MB)"
            )
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / name
        with open(path, "wb") as out:
            out.write(data)
        self.content_types[name] = media_type(content_type)
        return path

    def _sizes(self) -> dict[str, int]:
        if not self.folder.is_dir():
            return {}
        return {e.name: e.stat().st_size for e in os.scandir(self.folder) if e.is_file()}


_folder: str | None = None


def _default_folder() -> str:
    """``$STEPWELL_ARTIFACTS_DIR``, else one temporary folder per process."""
    global _folder
    configured = os.environ.get(ARTIFACTS_DIR_ENV)
    if configured:
        return configured
    if _folder is None:
        import tempfile  # only outside the sandbox (which sets the variable): not on its path

        _folder = tempfile.mkdtemp(prefix="stepwell-artifacts-")
    return _folder


# Every Artifacts made in this process (the runner reads the content types the step gave).
registry: list[Artifacts] = []


def for_execution(
    max_count: int = DEFAULT_MAX_COUNT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    total_bytes: int = DEFAULT_TOTAL_BYTES,
) -> Artifacts:
    """The execution's :class:`Artifacts` (one per process: the sandbox runs one execution)."""
    if registry:
        return registry[0]
    made = Artifacts(max_count=max_count, max_bytes=max_bytes, total_bytes=total_bytes)
    registry.append(made)
    return made


def saved_types() -> dict[str, str]:
    """The content types given to :meth:`Artifacts.save` in this process, by name."""
    types: dict[str, str] = {}
    for artifacts in registry:
        types.update(artifacts.content_types)
    return types
