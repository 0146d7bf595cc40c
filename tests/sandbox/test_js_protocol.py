"""Contract 2 for JavaScript steps, as the host sees it: input in, output out, logs apart,
errors with their stack, nothing forged."""

from __future__ import annotations

import pytest

from sandbox.errors import ErrorType
from tests.sandbox.js_fixtures import RunJs

FORGED = '{"ok":true,"output":"forged"}'


def test_input_in_output_out_and_context_and_logs_captured(run_js: RunJs) -> None:
    result = run_js(
        """
        import { execFileSync } from "node:child_process";
        export default async (input, ctx) => {
          console.log("console.log goes to the log");
          console.error("console.error too");
          process.stdout.write("process.stdout too\\n");
          ctx.log.info("ctx.log says %s", input.name);
          ctx.logger.warn("ctx.logger warns");
          execFileSync("sh", ["-c", "echo so does a child process"], { stdio: "inherit" });
          return {
            greeting: `hello ${input.name}`,
            times: input.times,
            runId: ctx.runId,
            stepId: ctx.stepId,
            attempt: ctx.attempt,
            deadline: ctx.deadline instanceof Date ? ctx.deadline.toISOString() : null,
            secrets: ctx.secrets,
          };
        };
        """,
        {"name": "ada", "times": 2},
        secrets={"API_TOKEN": "token-value-4711", "UNDECLARED": "never-seen-4711"},
        declared=("API_TOKEN",),
    )
    assert result.error is None, (result.error, result.logs)
    output = result.output
    assert output["greeting"] == "hello ada" and output["times"] == 2
    assert output["stepId"] == "js" and output["attempt"] == 2
    assert output["runId"].startswith("test-")
    assert output["deadline"] == "2030-01-02T03:04:05.000Z"
    # only declared secrets reach ctx.secrets, and the host redacts their values from the output
    assert output["secrets"] == {"API_TOKEN": "[redacted]"}
    for line in (
        "console.log goes to the log",
        "console.error too",
        "process.stdout too",
        "INFO ctx.log says ada",
        "WARNING ctx.logger warns",
        "so does a child process",
    ):
        assert line in result.logs
    assert "never-seen-4711" not in result.logs
    # it ended at its result (frame and end marker in, container killed): no exit to report
    assert result.exit_code is None and not (result.timed_out or result.oom_killed)


def test_a_thrown_error_is_a_step_error_with_the_authors_stack(run_js: RunJs) -> None:
    result = run_js(
        """
        import { helper } from "./helper.mjs";
        export default async () => helper();
        """,
        files={
            "helper.mjs": "export function helper() {\n"
            "  throw new TypeError('the customer id is missing');\n}\n"
        },
    )
    assert result.error is not None
    assert result.error.type is ErrorType.STEP and result.error.retryable
    assert result.error.message == "TypeError: the customer id is missing"
    assert result.error.exception == "TypeError"
    assert "file:///opt/stepwell/bundle/helper.mjs:2" in result.error.traceback
    assert "runner.mjs" not in result.error.traceback


@pytest.mark.parametrize(
    "source",
    [
        # a rejection nobody awaits, while the step waits for something else
        "export default async () => { Promise.reject(new Error('forgotten rejection'));"
        " await new Promise(() => {}); };",
        # an exception thrown from a timer, outside the step's promise
        "export default async () => { setTimeout(() => { throw new Error('from a timer'); }, 10);"
        " await new Promise(() => {}); };",
    ],
    ids=["unhandled-rejection", "uncaught-exception"],
)
def test_unhandled_rejections_and_uncaught_exceptions_are_step_errors(
    run_js: RunJs, source: str
) -> None:
    result = run_js(source, timeout_s=10)
    assert result.error is not None
    assert result.error.type is ErrorType.STEP
    assert result.error.message in ("Error: forgotten rejection", "Error: from a timer")
    assert "file:///opt/stepwell/bundle/step.mjs" in result.error.traceback
    assert not result.timed_out


def test_throwing_a_non_error_value_is_a_step_error_that_shows_it(run_js: RunJs) -> None:
    result = run_js("export default async () => { throw { code: 42 }; };")
    assert result.error is not None and result.error.type is ErrorType.STEP
    assert "a non-Error value was thrown: { code: 42 }" in result.error.message


def test_a_module_without_a_default_function_is_a_clear_step_error(run_js: RunJs) -> None:
    result = run_js("export const handler = async () => 1;\n")
    assert result.error is not None and result.error.type is ErrorType.STEP
    assert "step.mjs: the default export is missing, not a function" in result.error.message


def test_a_syntax_error_in_the_module_is_a_step_error(run_js: RunJs) -> None:
    result = run_js("export default async () => {\n")
    assert result.error is not None and result.error.type is ErrorType.STEP
    assert "SyntaxError" in result.error.message


def test_process_exit_without_a_result_is_a_step_error(run_js: RunJs) -> None:
    result = run_js("export default async () => { process.exit(3); };")
    assert result.error is not None and result.error.type is ErrorType.STEP
    assert result.exit_code == 3
    assert "exited with code 3" in result.error.message


def test_frames_forged_on_stdout_by_the_step_and_its_children_land_in_the_log(
    run_js: RunJs,
) -> None:
    result = run_js(
        f"""
        import fs from "node:fs";
        import {{ execFileSync, spawnSync }} from "node:child_process";
        const FORGED = '{FORGED}';
        export default async () => {{
          console.log(FORGED);
          process.stdout.write(FORGED + "\\n");
          fs.writeSync(1, FORGED + "\\n");
          // a child inherits descriptors 1 and 2 (the log), never the result channel: 3 is closed
          execFileSync("sh", ["-c", `echo '${{FORGED}}'; echo '${{FORGED}}' >&3 || echo no-fd-3`],
                       {{ stdio: "inherit" }});
          const fds = spawnSync("sh", ["-c", "ls /proc/self/fd"], {{ encoding: "utf8" }}).stdout;
          return {{ genuine: true, childFds: fds.split("\\n").filter(Boolean).sort() }};
        }};
        """
    )
    assert result.error is None, (result.error, result.logs)
    assert result.output["genuine"] is True
    # the child shell saw stdin, stdout, stderr and the directory it listed: nothing else
    assert result.output["childFds"] == ["0", "1", "2", "3"]
    assert result.logs.count("forged") == 4
    assert "no-fd-3" in result.logs


def test_frame_forged_on_the_private_channel_is_refused(run_js: RunJs) -> None:
    result = run_js(
        f"""
        import fs from "node:fs";
        export default async () => {{
          // the result channel: a blocking, write-only pipe (libuv's own pipes are non-blocking,
          // and writing into them would only crash the step's own process)
          for (let fd = 3; fd < 64; fd++) {{
            try {{
              const flags = parseInt(/flags:\\s+(\\d+)/.exec(
                fs.readFileSync(`/proc/self/fdinfo/${{fd}}`, "utf8"))[1], 8);
              const blockingWriteOnly = (flags & 0o3) === 1 && !(flags & 0o4000);
              if (fs.fstatSync(fd).isFIFO() && blockingWriteOnly) {{
                fs.writeSync(fd, '{FORGED}\\n');
              }}
            }} catch {{}}
          }}
          return "genuine";
        }};
        """
    )
    # As for Python: the step shares the runner's process, so it can find the result channel and
    # write on it; what it writes is its own output claim. The host takes one well-formed frame or
    # none: the forged one if the execution ended at it (it came first, then the end marker),
    # else neither. Never the two mixed, never a platform error.
    if result.output is None:
        assert result.error is not None
        assert result.error.type is ErrorType.OUTPUT_VALIDATION
    else:
        assert result.output == "forged" and result.error is None


def test_console_flood_is_capped_and_marked_truncated(run_js: RunJs, sandbox_log_kb: int) -> None:
    result = run_js(
        """
        export default async () => {
          const line = "e".repeat(1023);
          for (let i = 0; i < 3 * 1024; i++) console.log(line);  // 3 MiB, three times the cap
          return "done";
        };
        """
    )
    assert result.output == "done"
    assert result.logs_truncated
    assert len(result.logs.encode()) <= sandbox_log_kb * 1024 + 200
    assert "log truncated" in result.logs


def test_endless_log_flood_is_killed_long_before_the_deadline(run_js: RunJs) -> None:
    result = run_js(
        """
        export default async () => {
          const chunk = "f".repeat(64 * 1024);
          for (;;) process.stderr.write(chunk);
        };
        """,
        timeout_s=60,
    )
    assert result.error is not None
    assert result.error.type is ErrorType.OUTPUT_LIMIT
    assert not result.timed_out


def test_a_step_reading_stdin_sees_its_end_and_finishes(run_js: RunJs) -> None:
    result = run_js(
        """
        export default async () => {
          let read = 0;
          for await (const chunk of process.stdin) read += chunk.length;
          return { read };
        };
        """,
        timeout_s=10,
    )
    assert result.error is None, (result.error, result.logs)
    assert result.output == {"read": 0}
