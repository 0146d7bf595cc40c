"""The runtimes a step can run in, and what differs between them.

Each :class:`Runtime` holds the per-language facts the rest of Stepwell looks up by the manifest's
``runtime`` name: how an entrypoint is written, how requirements are written and normalized, the
base image and the in-container runner command. Nothing here runs or imports step code.

    >>> runtime("node20").check_entrypoint("step.mjs")
    'step.mjs'
    >>> runtime("node20").normalize_requirements(["dayjs@1.11.13", "@types/node@20.0.0"])
    ('@types/node@20.0.0', 'dayjs@1.11.13')
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from step_sdk import npm_requirements
from step_sdk.requirements import parse_requirements as parse_python_requirements

PYTHON = "python3.11"
# The Python runtime plus Debian's Chromium and Playwright (docs/browser.md, step_sdk.browser).
PYTHON_BROWSER = "python3.11-browser"
NODE = "node20"

_PYTHON_ENTRYPOINT = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")
# A relative module path: segments of safe characters, none starting with "." (so no "..", no
# dotfiles), ending in .mjs (an ES module) or .js (ES module too: the runner imports it).
_NODE_ENTRYPOINT = re.compile(
    r"^(?:[A-Za-z0-9_-][A-Za-z0-9_.-]*/)*[A-Za-z0-9_-][A-Za-z0-9_.-]*\.(?:mjs|js)$"
)


@dataclass(frozen=True)
class Runtime:
    """One runtime: its name and the rules and images that go with it.

    Attributes:
        name: the manifest's ``runtime`` value, e.g. ``node20``.
        language: ``python`` or ``javascript``.
        image: the base image steps of this runtime run in.
        runner_command: the container command that starts the in-container runner.
        entrypoint_rule: how an entrypoint is written, for error messages.
        requirement_rule: how a requirement is written, for error messages.
        memory_mb: the manifest's ``limits.memory_mb`` when it does not give one (MiB).
        min_memory_mb: the least ``limits.memory_mb`` a step of this runtime may ask for (MiB);
            less is refused when the manifest is validated, not when the step runs out.
    """

    name: str
    language: str
    image: str
    runner_command: tuple[str, ...]
    entrypoint_rule: str
    requirement_rule: str
    _entrypoint: re.Pattern[str]
    _requirements: Callable[[Sequence[Any]], tuple[str, ...]]
    memory_mb: int = 256
    min_memory_mb: int = 32

    def check_entrypoint(self, value: str) -> str:
        """``value`` if it is a valid entrypoint of this runtime.

        Raises:
            ValueError: saying what the runtime expects.
        """
        if not self._entrypoint.match(value):
            raise ValueError(f"{value!r} is not {self.entrypoint_rule}")
        return value

    def normalize_requirements(self, values: Sequence[Any]) -> tuple[str, ...]:
        """The requirements, each checked, normalized and sorted.

        Raises:
            step_sdk.requirements.RequirementError: naming ``/requirements/<index>``.
        """
        return self._requirements(values)


def _python_requirements(values: Sequence[Any]) -> tuple[str, ...]:
    return tuple(str(r) for r in parse_python_requirements(list(values)))


RUNTIMES: dict[str, Runtime] = {
    PYTHON: Runtime(
        name=PYTHON,
        language="python",
        image="stepwell/runtime-python3.11",
        runner_command=("python3", "-I", "-B", "-u", "/opt/stepwell/runner.py"),
        entrypoint_rule="of the form 'module:function'",
        requirement_rule="'name[extras]==version'",
        _entrypoint=_PYTHON_ENTRYPOINT,
        _requirements=_python_requirements,
    ),
    NODE: Runtime(
        name=NODE,
        language="javascript",
        image="stepwell/runtime-node20",
        runner_command=("node", "/opt/stepwell/runner.mjs"),
        entrypoint_rule="a relative path of a .mjs or .js module, e.g. 'step.mjs'",
        requirement_rule="'name@version' with an exact version, e.g. 'dayjs@1.11.13'",
        _entrypoint=_NODE_ENTRYPOINT,
        _requirements=npm_requirements.parse_requirements,
    ),
    # Chromium's renderer, GPU and network processes plus Playwright's driver: an empty page's
    # screenshot peaks near 300 MiB (bench/browser.py), real sites need several times that.
    PYTHON_BROWSER: Runtime(
        name=PYTHON_BROWSER,
        language="python",
        image="stepwell/runtime-python3.11-browser",
        runner_command=("python3", "-I", "-B", "-u", "/opt/stepwell/runner.py"),
        entrypoint_rule="of the form 'module:function'",
        requirement_rule="'name[extras]==version'",
        _entrypoint=_PYTHON_ENTRYPOINT,
        _requirements=_python_requirements,
        memory_mb=1024,
        # a simple page peaks near 315 MiB (Chromium's browser, renderer and network
        # processes plus the Python runner, bench/browser.py); 512 leaves ~60% headroom,
        # below it even about:blank plus one small page can be OOM-killed.
        min_memory_mb=512,
    ),
}


def is_python(name: str) -> bool:
    """Whether steps of runtime ``name`` are Python (a ``module:function`` entrypoint, pip
    requirements, the Python runner)."""
    found = RUNTIMES.get(name)
    return found is not None and found.language == "python"


def runtime(name: str) -> Runtime:
    """The runtime called ``name``.

    Raises:
        ValueError: no such runtime; the message lists the supported ones.
    """
    try:
        return RUNTIMES[name]
    except KeyError:
        raise ValueError(
            f"unsupported runtime {name!r}; supported: {', '.join(RUNTIMES)}"
        ) from None
