"""Attacks on the host's resources from JavaScript: processes, memory, CPU, time and disk."""

from __future__ import annotations

import subprocess

import pytest

from sandbox.config import SandboxConfig
from sandbox.errors import ErrorType
from tests.sandbox.js_fixtures import RunJs


def test_fork_bomb_through_child_process_is_contained(
    run_js: RunJs, sandbox_config: SandboxConfig
) -> None:
    result = run_js(
        """
        import { spawn } from "node:child_process";
        export default async () => {
          // a shell fork bomb in a child, then the step's own children until the kernel says no
          spawn("sh", ["-c", "b() { b | b & }; b"], { stdio: "ignore" });
          let started = 0;
          for (;;) {
            const code = await new Promise((resolve) => {
              const child = spawn("sleep", ["60"], { stdio: "ignore" });
              child.once("spawn", () => resolve(null));
              child.once("error", (error) => resolve(error.code));
            });
            if (code !== null) return { started, code };
            started += 1;
          }
        };
        """
    )
    assert result.error is None, (result.error, result.logs)
    assert result.output["code"] == "EAGAIN"
    assert result.output["started"] < sandbox_config.pids_limit
    assert subprocess.run(["true"], check=False).returncode == 0


@pytest.mark.parametrize(
    "hoard",
    [
        # the V8 heap: its limit is set to the container's, so the kernel's OOM killer comes first
        "hoard.push(new Array(1 << 20).fill(hoard.length + 0.5));",
        # memory outside the heap
        "hoard.push(Buffer.alloc(8 * 1024 * 1024, 1));",
    ],
    ids=["heap", "buffers"],
)
def test_memory_bomb_is_memory_limit_exceeded(run_js: RunJs, hoard: str) -> None:
    result = run_js(
        f"export default async () => {{ const hoard = []; for (;;) {{ {hoard} }} }};\n",
        memory_mb=96,
    )
    assert result.error is not None
    assert result.error.type is ErrorType.MEMORY, (result.error, result.logs[-500:])
    assert not result.error.retryable
    assert result.oom_killed
    assert result.exit_code == 137


@pytest.mark.parametrize(
    "body",
    [
        "for (;;) {}",  # a busy loop never yields to the event loop
        "await new Promise(() => {});",  # a promise that never settles, nothing else pending
        "setInterval(() => {}, 1000); await new Promise(() => {});",
    ],
    ids=["busy-loop", "never-settling-promise", "interval-forever"],
)
def test_a_step_that_never_finishes_is_step_timeout_at_the_deadline(
    run_js: RunJs, body: str
) -> None:
    result = run_js(f"export default async () => {{ {body} }};\n", timeout_s=2)
    assert result.error is not None
    assert result.error.type is ErrorType.TIMEOUT
    assert result.timed_out
    assert 2000 <= result.duration_ms < 8000


def test_writes_outside_the_tmpfs_are_refused_and_tmp_is_noexec(run_js: RunJs) -> None:
    result = run_js(
        """
        import fs from "node:fs";
        import { spawnSync } from "node:child_process";
        export default async () => {
          const outcomes = {};
          for (const path of ["/evil", "/usr/bin/evil", "/opt/stepwell/runner.mjs",
                              "/opt/stepwell/node_modules/evil.js", "/etc/passwd"]) {
            try { fs.writeFileSync(path, "x"); outcomes[path] = "written"; }
            catch (error) { outcomes[path] = error.code; }
          }
          fs.writeFileSync("/tmp/run.sh", "#!/bin/sh\\necho ran\\n", { mode: 0o755 });
          const ran = spawnSync("/tmp/run.sh");
          return { outcomes, exec: ran.error ? ran.error.code : ran.status,
                   work: (fs.writeFileSync("/work/ok", "y"), fs.readFileSync("/work/ok", "utf8")) };
        };
        """
    )
    assert result.error is None, (result.error, result.logs)
    assert set(result.output["outcomes"].values()) <= {"EROFS", "EACCES"}
    assert result.output["exec"] == "EACCES"
    assert result.output["work"] == "y"
