"""The console's build: reproducible from its lockfile, and typed against the API as it is.

Both run the real tools from ``console/node_modules`` (installed by the set-up's ``npm ci``).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "console"


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_two_builds_of_the_same_sources_are_byte_identical(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for out in (first, second):
        subprocess.run(["node", "build.mjs", str(out)], cwd=CONSOLE, check=True, timeout=300)
    built = _digests(first)
    assert built == _digests(second)
    for name in (
        "index.html",
        "app.js",
        "app.css",
        "vendor/swagger-ui/swagger-ui-bundle.js",
        "vendor/redoc/redoc.standalone.js",
    ):
        assert name in built, f"{name} missing from the build: {sorted(built)}"


def test_the_typed_client_matches_the_api_it_talks_to(tmp_path: Path) -> None:
    """``console/src/api/schema.d.ts`` is generated from the OpenAPI document; an API change
    without ``npm run schema`` would leave the console typed against an API that is gone."""
    document = tmp_path / "openapi.json"
    with document.open("w") as out:
        subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "openapi.py")], stdout=out, check=True
        )
    generated = tmp_path / "schema.d.ts"
    subprocess.run(
        [
            str(CONSOLE / "node_modules" / ".bin" / "openapi-typescript"),
            str(document),
            "-o",
            str(generated),
        ],
        cwd=CONSOLE,
        check=True,
        capture_output=True,
        timeout=120,
    )
    committed = (CONSOLE / "src" / "api" / "schema.d.ts").read_text()
    assert generated.read_text() == committed, (
        "console/src/api/schema.d.ts is out of date: run `cd console && npm run schema`"
    )
