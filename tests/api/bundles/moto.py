"""moto's standalone S3 server as a process on 127.0.0.1: a real S3-compatible HTTP server for
the S3 bundle store's tests (the store under test talks to it over HTTP like to AWS)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

MOTO_SERVER = str(Path(sys.executable).parent / "moto_server")
REGION = "us-east-1"
# what boto3 in the tests and in the worker processes they start authenticates with
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_moto(env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``moto_server`` on a free port; return the process and its URL once it answers.
    ``env``: more environment (``INITIAL_NO_AUTH_ACTION_COUNT=0`` makes it check access keys)."""
    port = _free_port()
    process = subprocess.Popen(
        [MOTO_SERVER, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"moto_server exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    stop_moto(process)
    raise AssertionError("moto_server did not answer in 30 s")


def stop_moto(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
