"""Secrets given to a step are redacted from everything the host observes, in every common
encoding, whatever the step does with them (real sandbox)."""

from __future__ import annotations

import base64
import threading
import time

import pytest

from sandbox.envelope import Envelope, StepContext
from sandbox.launcher import Sandbox
from sandbox.log_tail import LiveTail
from sandbox.redaction import REDACTED, Redactor
from sandbox.result import StepResult
from tests.sandbox.conftest import make_bundle

pytestmark = pytest.mark.docker

TOKEN = "tok_7Hq2xV9sLp4Zr8Wm\r"  # pasted with a trailing carriage return
LEAKS = """
import base64, binascii, json, sys, urllib.parse

def main(secrets=None):
    token = SECRET
    forms = {
        "raw": token,
        "stripped": token.strip(),
        "b64": base64.b64encode(token.encode()).decode(),
        "b64_nopad": base64.b64encode(token.encode()).decode().rstrip("="),
        "b64_echo": base64.b64encode((token + "\\n").encode()).decode(),
        "b64_url": base64.urlsafe_b64encode(token.encode()).decode(),
        "b64_header": base64.b64encode(b"Bearer " + token.encode()).decode(),
        "url": urllib.parse.quote(token, safe=""),
        "hex": binascii.hexlify(token.encode()).decode(),
        "HEX": binascii.hexlify(token.encode()).decode().upper(),
        "json": json.dumps(token),
    }
    for name, form in forms.items():
        print(name, form)
        sys.stderr.write(f"{name}={form}\\n")
    if MODE == "raise":
        raise RuntimeError("refused: " + " ".join(forms.values()))
    return forms
"""


def _run(sandbox: Sandbox, run_id: str, mode: str) -> StepResult:
    # The step reads the value from its source, as if it had got it from context.secrets;
    # the host learns which values to redact from the envelope.
    source = f"SECRET = {TOKEN!r}\nMODE = {mode!r}\n" + LEAKS
    envelope = Envelope(input={}, secrets={"API_TOKEN": TOKEN}, context=StepContext(run_id=run_id))
    return sandbox.run(make_bundle(source), envelope)


def _leaked(text: str) -> list[str]:
    core = TOKEN.strip()
    encoded = base64.b64encode(core.encode()).decode()[:12]
    needles = [core[:10], core[-10:], encoded, core.encode().hex()[:16]]
    return [n for n in needles if n.lower() in text.lower()]


def test_every_encoding_is_redacted_from_logs_and_output(sandbox: Sandbox, run_id: str) -> None:
    result = _run(sandbox, run_id, "return")
    assert result.ok, result.error
    assert _leaked(result.logs) == [] and "\\x0d" not in result.logs.split("raw", 1)[1][:20]
    assert set(result.output) >= {"raw", "b64", "hex", "url", "json"}
    for name, value in result.output.items():
        assert _leaked(value) == [], name
        assert REDACTED in value, name


def test_every_encoding_is_redacted_from_the_error_and_traceback(
    sandbox: Sandbox, run_id: str
) -> None:
    result = _run(sandbox, run_id, "raise")
    assert result.error is not None
    assert _leaked(result.error.message) == [] and _leaked(result.error.traceback) == []
    assert _leaked(result.logs) == []
    assert result.error.message.startswith(f"RuntimeError: refused: {REDACTED}")


def test_the_live_tail_never_shows_part_of_a_secret(sandbox: Sandbox, run_id: str) -> None:
    secret = "zq8Wx4LpT0kenS3cr3t!"  # 20 characters, printed in two halves a second apart
    source = f"""
import sys, time
def main():
    sys.stderr.write("token: " + {secret[:10]!r})
    sys.stderr.flush()
    time.sleep(1.5)
    sys.stderr.write({secret[10:]!r} + "\\n" + "x" * 3000 + "\\n")
    return "ok"
"""
    tail = LiveTail(Redactor([secret]), max_chars=2048)
    shown: list[str] = []
    stop = threading.Event()

    def heartbeat() -> None:  # what the activity does every heartbeat
        while not stop.is_set():
            shown.append(tail.text())
            time.sleep(0.05)

    beating = threading.Thread(target=heartbeat)
    beating.start()
    try:
        envelope = Envelope(
            input={}, secrets={"API_TOKEN": secret}, context=StepContext(run_id=run_id)
        )
        result = sandbox.run(make_bundle(source), envelope, on_log=tail.feed)
    finally:
        stop.set()
        beating.join()
    shown.append(tail.text())
    assert result.output == "ok"
    assert any(text.startswith("token: ") for text in shown)  # the tail did show the line
    for text in shown:
        assert secret[:10] not in text and secret[10:] not in text
    assert f"token: {REDACTED}" in result.logs


def test_a_secret_across_the_error_text_cap_is_redacted_before_the_cut(
    sandbox: Sandbox, run_id: str
) -> None:
    secret = "zq8Wx4LpT0kenS3cr3t!"
    # The message is cut at 64 KiB; the secret starts 10 characters before the cut.
    source = f"""
def main():
    raise RuntimeError("x" * (64 * 1024 - 10 - len("RuntimeError: ")) + {secret!r} + "tail")
"""
    envelope = Envelope(input={}, secrets={"API_TOKEN": secret}, context=StepContext(run_id=run_id))
    result = sandbox.run(make_bundle(source), envelope)
    assert result.error is not None
    assert secret[:10] not in result.error.message
    assert result.error.message.endswith("x" + REDACTED[:10])
    assert secret[:10] not in result.error.traceback
