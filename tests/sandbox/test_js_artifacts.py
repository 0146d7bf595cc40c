"""Artifacts of JavaScript steps: ctx.artifacts.save and the folder, with the same rules."""

from __future__ import annotations

import pytest

from sandbox.errors import ErrorType
from tests.sandbox.js_fixtures import RunJs

pytestmark = pytest.mark.docker


def test_saved_and_written_files_arrive_and_links_do_not(run_js: RunJs) -> None:
    result = run_js(
        """
        import fs from "node:fs";
        import path from "node:path";
        export default async (input, ctx) => {
          ctx.artifacts.save("shot.png", Buffer.from([0x89, 0x50, 0x4e, 0x47]), "image/png");
          ctx.artifacts.save("note.txt", "hello", "text/plain; charset=utf-8");
          const dir = process.env.STEPWELL_ARTIFACTS_DIR;
          fs.writeFileSync(path.join(dir, "rows.csv"), "a,b\\n");
          fs.symlinkSync("/proc/self/environ", path.join(dir, "environ"));
          for (const bad of ["../x", "/etc/passwd", "a\\u0000b", "x".repeat(10000), "..",
            "\\u202egnp.exe", "a\\u2028b", "a\\u2029b", "\\ufeffa", "a\\u200bb"]) {
            let refused = false;
            try { ctx.artifacts.save(bad, "x"); } catch { refused = true; }
            if (!refused) throw new Error(`saved ${bad}`);
          }
          return 1;
        };
        """
    )
    assert result.error is None, (result.error, result.logs)
    got = {a.name: (a.content_type, a.data) for a in result.artifacts}
    assert got == {
        "note.txt": ("text/plain", b"hello"),
        "rows.csv": ("text/csv", b"a,b\n"),
        "shot.png": ("image/png", b"\x89PNG"),
    }
    assert "environ" in result.logs and "not a regular file" in result.logs


def test_over_the_count_cap_the_step_fails_with_its_own_error(run_js: RunJs) -> None:
    result = run_js(
        """
        import fs from "node:fs";
        export default async () => {
          for (let i = 0; i < 21; i++) {
            fs.writeFileSync(`${process.env.STEPWELL_ARTIFACTS_DIR}/f${i}`, "x");
          }
          return 1;
        };
        """
    )
    assert result.error is not None and result.error.type == ErrorType.ARTIFACT_LIMIT
    assert "21 artifacts; the limit is 20" in result.error.message
    assert result.artifacts == []
