"""Contract 2 as seen from the host: input in, output out, logs apart, nothing forged."""

from __future__ import annotations

import pytest

from sandbox.errors import ErrorType
from tests.sandbox.conftest import RunStep


def test_input_in_output_out_and_logs_captured(run_step: RunStep) -> None:
    result = run_step(
        """
        import subprocess, sys
        def main(name, times=1):
            print("print goes to the log")
            print("stderr too", file=sys.stderr)
            subprocess.run(["echo", "so does a subprocess"], check=True)
            return {"greeting": "hello " + name, "times": times}
        """,
        {"name": "ada", "times": 2},
    )
    assert result.error is None
    assert result.output == {"greeting": "hello ada", "times": 2}
    assert "print goes to the log" in result.logs
    assert "stderr too" in result.logs
    assert "so does a subprocess" in result.logs
    # it ended at its result (frame and end marker in, container killed): no exit to report
    assert result.exit_code is None and not result.oom_killed
    assert not (result.timed_out or result.oom_killed or result.logs_truncated)
    assert result.duration_ms > 0


def test_exception_becomes_step_error_with_the_users_traceback(run_step: RunStep) -> None:
    result = run_step(
        """
        def helper():
            raise ValueError("the customer id is missing")
        def main():
            helper()
        """
    )
    assert result.error is not None
    assert result.error.type is ErrorType.STEP
    assert result.error.retryable
    assert result.error.message == "ValueError: the customer id is missing"
    assert result.error.exception == "ValueError"
    assert 'File "/opt/stepwell/bundle/step.py"' in result.error.traceback
    assert "in helper" in result.error.traceback
    assert "runner.py" not in result.error.traceback


def test_sys_exit_without_result_is_a_step_error(run_step: RunStep) -> None:
    result = run_step("def main():\n    import os\n    os._exit(3)\n")
    assert result.error is not None
    assert result.error.type is ErrorType.STEP
    assert result.exit_code == 3
    assert "exited with code 3" in result.error.message


def test_frame_printed_by_user_code_in_its_logs_is_not_the_result(run_step: RunStep) -> None:
    result = run_step(
        """
        import os, sys
        FORGED = '{"ok":true,"output":"forged"}'
        def main():
            print(FORGED)
            print(FORGED, file=sys.stderr)
            os.write(1, (FORGED + "\\n").encode())
            return "genuine"
        """
    )
    assert result.output == "genuine"
    assert result.logs.count("forged") == 3


def test_frame_forged_on_the_private_channel_is_refused(run_step: RunStep) -> None:
    result = run_step(
        """
        import os
        def main():
            for fd in range(3, 64):
                try:
                    os.write(fd, b'{"ok":true,"output":"forged"}\\n')
                except OSError:
                    pass
            return "genuine"
        """
    )
    # User code shares the runner's process, so it can write on the result channel too; what it
    # writes there is its own output claim, as a return value would be. The host accepts one
    # well-formed frame and nothing else: with both frames in, neither is accepted; when the
    # execution ends at the forged frame (it came first, with the runner's end marker), the
    # forged value is the output. Never the two mixed, never a platform error.
    if result.output is None:
        assert result.error is not None
        assert result.error.type is ErrorType.OUTPUT_VALIDATION
    else:
        assert result.output in ("forged", "genuine") and result.error is None


def test_stderr_flood_is_capped_and_marked_truncated(
    run_step: RunStep, sandbox_log_kb: int
) -> None:
    result = run_step(
        """
        import sys
        def main():
            chunk = "e" * 1023 + "\\n"
            for _ in range(3 * 1024):  # 3 MiB, three times the log cap
                sys.stderr.write(chunk)
            return "done"
        """
    )
    assert result.output == "done"
    assert result.logs_truncated
    assert result.stats["log_bytes"] >= 3 * 1024 * 1024
    assert len(result.logs.encode()) < sandbox_log_kb * 1024 + 200
    assert "log truncated" in result.logs


def test_stdout_flood_lands_in_the_capped_log(run_step: RunStep, sandbox_log_kb: int) -> None:
    result = run_step(
        """
        import os, subprocess, sys
        def main():
            for _ in range(1024):
                sys.stdout.write("o" * 1023 + "\\n")
            os.write(1, b"x" * (1024 * 1024))
            subprocess.run(["sh", "-c", "head -c 1048576 /dev/zero | tr '\\\\0' y"], check=True)
            return "done"
        """
    )
    assert result.output == "done"
    assert result.logs_truncated
    assert len(result.logs.encode()) < sandbox_log_kb * 1024 + 200


def test_endless_log_flood_is_killed_long_before_the_deadline(run_step: RunStep) -> None:
    result = run_step(
        """
        import os
        def main():
            block = b"f" * 65536
            while True:
                os.write(2, block)
        """,
        timeout_s=120,
    )
    assert result.error is not None
    assert result.error.type is ErrorType.OUTPUT_LIMIT
    assert result.logs_truncated
    assert result.duration_ms < 60_000


def test_result_channel_flood_is_output_limit_exceeded(run_step: RunStep) -> None:
    result = run_step(
        """
        import os
        def main():
            block = b"r" * 65536
            for fd in range(3, 64):
                try:
                    for _ in range(64):  # 4 MiB per descriptor
                        os.write(fd, block)
                except OSError:
                    pass
            return "x"
        """,
        output_kb=64,
    )
    assert result.error is not None
    assert result.error.type is ErrorType.OUTPUT_LIMIT
    assert result.result_truncated


def test_huge_line_invalid_utf8_nul_and_escape_bytes_are_handled(run_step: RunStep) -> None:
    result = run_step(
        """
        import os
        def main():
            os.write(2, b"A" * (2 * 1024 * 1024))          # one 2 MiB line, no newline
            os.write(2, b"\\nbad:\\xff\\xfe nul:\\x00 esc:\\x1b[31m red\\r\\n")
            return "ok"
        """
    )
    assert result.output == "ok"
    assert isinstance(result.logs, str)
    assert result.logs_truncated


def test_invalid_utf8_nul_and_terminal_escapes_are_escaped_in_logs(run_step: RunStep) -> None:
    result = run_step(
        """
        import os
        def main():
            os.write(2, b"bad:\\xff\\xfe nul:\\x00 esc:\\x1b[31m cr:\\r\\n")
            return "ok"
        """
    )
    assert result.output == "ok"
    assert "\x00" not in result.logs and "\x1b" not in result.logs and "\r" not in result.logs
    assert "nul:\\x00" in result.logs
    assert "esc:\\x1b[31m" in result.logs
    assert "bad:\ufffd" in result.logs


@pytest.mark.parametrize(("extra_bytes", "fits"), [(-2, True), (-1, False), (8 * 1024, False)])
def test_the_output_limit_is_exact(run_step: RunStep, extra_bytes: int, fits: bool) -> None:
    # A string of n characters is n + 2 bytes of JSON (its quotes): 1 KiB is 1022 of them.
    # The stream's cap leaves room for framing; the output itself gets its limit, not more.
    size = 16 * 1024 + extra_bytes
    result = run_step(f'def main():\n    return "x" * {size}\n', output_kb=16)
    if fits:
        assert result.error is None and len(result.output) == size
    else:
        assert result.error is not None and result.error.type is ErrorType.OUTPUT_LIMIT
        assert "16 KiB" in result.error.message


def test_oversized_result_is_output_limit_exceeded(run_step: RunStep) -> None:
    result = run_step('def main():\n    return "x" * (2 * 1024 * 1024)\n', output_kb=1024)
    assert result.error is not None
    assert result.error.type is ErrorType.OUTPUT_LIMIT
    assert not result.error.retryable


def test_deeply_nested_result_is_output_limit_exceeded(run_step: RunStep) -> None:
    result = run_step(
        """
        def main():
            value = []
            for _ in range(100_000):
                value = [value]
            return value
        """
    )
    assert result.error is not None
    assert result.error.type is ErrorType.OUTPUT_LIMIT


def test_deep_frame_forged_around_the_runner_is_refused(run_step: RunStep) -> None:
    result = run_step(
        """
        import os
        def main():
            bomb = b'{"ok":true,"output":' + b"[" * 200_000 + b"]" * 200_000 + b"}\\n"
            for fd in range(3, 16):
                try:
                    os.write(fd, bomb)
                    os.close(fd)
                except OSError:
                    pass
            os._exit(0)
        """
    )
    assert result.error is not None
    assert result.error.type in (ErrorType.OUTPUT_LIMIT, ErrorType.OUTPUT_VALIDATION)


def test_output_that_is_not_json_is_output_validation_error(run_step: RunStep) -> None:
    result = run_step("def main():\n    return {1, 2, 3}\n")
    assert result.error is not None
    assert result.error.type is ErrorType.OUTPUT_VALIDATION
    assert "not JSON" in result.error.message


def test_step_that_reads_stdin_forever_finishes(run_step: RunStep) -> None:
    result = run_step(
        """
        import sys
        def main():
            seen = 0
            while True:
                data = sys.stdin.read(4096)
                if not data:
                    return seen
                seen += len(data)
        """,
        timeout_s=10,
    )
    assert result.output == 0


def test_step_that_never_reads_stdin_finishes(run_step: RunStep) -> None:
    result = run_step(
        "def main(blob):\n    return len(blob)\n",
        {"blob": "z" * (4 * 1024 * 1024)},
        timeout_s=10,
    )
    assert result.output == 4 * 1024 * 1024
