"""Artifacts through the real sandbox, by attack: the host stores only what the rules allow.

The step's code runs in the runner's process and can write on the result channel itself, so
every test here forges what a hostile step could and checks what the host received.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import docker

from sandbox.config import SandboxConfig
from sandbox.envelope import Envelope
from sandbox.errors import ErrorType
from sandbox.launcher import Sandbox
from tests.sandbox.conftest import RunStep, make_bundle

# Finds the runner's private result channel (a pipe that is neither stdin, stdout nor stderr)
# and writes ``forged`` on it, as a hostile step can.
FORGE = """
    import os, stat
    def main():
        for fd in range(3, 64):
            try:
                mode = os.fstat(fd).st_mode
            except OSError:
                continue
            if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
                try:
                    os.write(fd, FORGED)
                except OSError:
                    continue
        return 1
"""


def forge(forged: bytes) -> str:
    return textwrap.dedent(FORGE) + f"FORGED = {forged!r}\n"


def test_folder_files_and_saved_files_arrive_with_their_types(run_step: RunStep) -> None:
    result = run_step(
        """
        import os
        from step_sdk.artifacts import for_execution
        def main():
            for_execution().save("chart.svg", b"<svg/>", "image/svg+xml")
            folder = os.environ["STEPWELL_ARTIFACTS_DIR"]
            with open(os.path.join(folder, "data.json"), "w") as out:
                out.write("{}")
            os.symlink("/proc/self/environ", os.path.join(folder, "env.txt"))
            os.link(os.path.join(folder, "data.json"), os.path.join(folder, "hard.json"))
            return 1
        """
    )
    assert result.error is None, result
    got = {a.name: (a.content_type, a.data) for a in result.artifacts}
    # a hard link is a regular file of the step's own folder: its bytes are the step's own
    assert got == {
        "chart.svg": ("image/svg+xml", b"<svg/>"),
        "data.json": ("application/json", b"{}"),
        "hard.json": ("application/json", b"{}"),
    }
    assert "env.txt" in result.logs and "not a regular file" in result.logs


def test_a_forged_traversal_name_is_refused_and_nothing_is_kept(run_step: RunStep) -> None:
    header = b'ARTIFACT {"name": "../../etc/passwd", "content_type": null, "size": 2}\nhi'
    result = run_step(forge(header))
    assert result.error is not None
    assert result.error.type == ErrorType.OUTPUT_VALIDATION
    assert "no '/'" in result.error.message
    assert result.artifacts == []


def test_a_forged_huge_header_or_size_is_cut_off(run_step: RunStep) -> None:
    long_name = b'ARTIFACT {"name": "' + b"x" * 10_000 + b'", "content_type": null, "size": 1}\n'
    result = run_step(forge(long_name))
    assert result.error is not None and "header is longer" in result.error.message
    assert result.artifacts == []
    huge = b'ARTIFACT {"name": "big.bin", "content_type": null, "size": 999999999999}\n'
    result = run_step(forge(huge))
    assert result.error is not None and result.error.type == ErrorType.ARTIFACT_LIMIT
    assert result.artifacts == []


def test_forged_nul_and_control_names_are_refused(run_step: RunStep) -> None:
    # also the Unicode ones that reorder or hide text: U+202E makes "\u202egnp.exe" show as
    # "exe.png"; U+2028/U+2029 break lines, U+FEFF and U+200B are invisible
    for name in (b"a\\u0000b", b"a\\u001bb", b"..", b"", b"\\u202egnp.exe", b"a\\u2028b",
                 b"a\\u2029b", b"\\ufeffa", b"a\\u200bb"):  # fmt: skip
        header = b'ARTIFACT {"name": "' + name + b'", "content_type": null, "size": 0}\n'
        result = run_step(forge(header))
        assert result.error is not None, name
        assert result.artifacts == [], name


def test_host_caps_hold_even_against_a_forged_channel(
    docker_client: docker.DockerClient, base_image: str, tmp_path: Path
) -> None:
    config = SandboxConfig(
        cache_dir=tmp_path, artifact_max_count=2, artifact_max_bytes=100, artifact_total_bytes=150
    )
    sandbox = Sandbox(docker_client, config)
    try:
        headers = b"".join(
            b'ARTIFACT {"name": "f%d", "content_type": null, "size": 80}\n' % i + b"z" * 80
            for i in range(2)
        )
        result = sandbox.run(make_bundle(forge(headers)), Envelope(input={}))
        assert result.error is not None and result.error.type == ErrorType.ARTIFACT_LIMIT
        assert "150 bytes in all" in result.error.message
        assert result.artifacts == []
        # the SDK refuses at once, with the host's caps from the envelope
        result = sandbox.run(
            make_bundle(
                """
                from step_sdk.artifacts import for_execution
                def main():
                    for_execution().save("big", b"x" * 101)
                """
            ),
            Envelope(input={}),
        )
        assert result.error is not None and result.error.type == ErrorType.ARTIFACT_LIMIT
        assert "the limit is 100 per artifact" in result.error.message
    finally:
        sandbox.close()
