"""The browser runtime's rules, without Docker: the manifest and decorator accept it with its own
memory default, the container options it gets, and how ``step_sdk.browser`` launches Chromium."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
from pydantic import ValidationError

from sandbox.config import SandboxConfig
from sandbox.hardening import host_config_kwargs
from sandbox.pool_keys import PoolKey
from step_sdk import StepDefinitionError, step
from step_sdk import browser as sdk_browser
from step_sdk.bundle import build_bundle
from step_sdk.manifest import NEW_MANIFEST, Limits, Manifest
from step_sdk.runtimes import PYTHON, PYTHON_BROWSER, is_python, runtime
from stepwell_settings import Settings
from ui_api.errors import ApiError
from ui_api.steps.bundle_check import check_bundle


def _manifest(**fields: object) -> Manifest:
    return Manifest.model_validate(
        {"name": "web.shot", "version": "1.0.0", "entrypoint": "step:main", **fields}
    )


def test_a_browser_step_defaults_to_1024_mib_and_keeps_an_explicit_limit() -> None:
    assert _manifest(runtime=PYTHON_BROWSER).limits.memory_mb == 1024
    assert _manifest(runtime=PYTHON_BROWSER, limits={"timeout_s": 5}).limits.memory_mb == 1024
    assert _manifest(runtime=PYTHON_BROWSER, limits={"memory_mb": 512}).limits.memory_mb == 512
    assert _manifest().limits.memory_mb == 256
    # a stored manifest (limits already filled in) reads back unchanged
    stored = _manifest(runtime=PYTHON_BROWSER, limits={"memory_mb": 600}).model_dump()
    assert Manifest.model_validate(stored).limits.memory_mb == 600


def test_a_browser_step_cannot_exceed_the_hosts_memory_cap() -> None:
    with pytest.raises(ValidationError) as caught:
        _manifest(runtime=PYTHON_BROWSER, limits={"memory_mb": 8192})
    assert caught.value.errors()[0]["loc"] == ("limits", "memory_mb")


def test_the_browser_runtime_is_python() -> None:
    assert is_python(PYTHON_BROWSER) and is_python(PYTHON) and not is_python("node20")
    assert runtime(PYTHON_BROWSER).check_entrypoint("step:main") == "step:main"
    assert runtime(PYTHON_BROWSER).normalize_requirements(["Pillow==10.4.0"]) == ("pillow==10.4.0",)


def test_step_takes_a_python_runtime_only() -> None:
    @step(runtime=PYTHON_BROWSER)
    def shot(url: str) -> str:
        return url

    assert shot.manifest.runtime == PYTHON_BROWSER
    assert shot.manifest.limits.memory_mb == 1024
    with pytest.raises(StepDefinitionError, match=r"bad: /runtime: 'node20' is not a Python"):

        @step(runtime="node20")
        def bad(url: str) -> str:
            return url

    with pytest.raises(StepDefinitionError, match="unsupported runtime 'chrome'"):

        @step(runtime="chrome")
        def worse(url: str) -> str:
            return url


def test_browser_containers_get_their_own_pids_and_tmp_caps_and_nothing_else() -> None:
    config = SandboxConfig()
    plain = host_config_kwargs(config, Limits())
    browser = host_config_kwargs(config, Limits(memory_mb=1024), runtime=PYTHON_BROWSER)
    assert plain["pids_limit"] == config.pids_limit == 128
    assert browser["pids_limit"] == config.browser_pids_limit == 512
    assert "size=64m" in plain["tmpfs"]["/tmp"] and "size=256m" in browser["tmpfs"]["/tmp"]
    assert "noexec" in browser["tmpfs"]["/tmp"]
    same = {"pids_limit", "tmpfs", "mem_limit", "memswap_limit"}
    assert {k: v for k, v in plain.items() if k not in same} == {
        k: v for k, v in browser.items() if k not in same
    }
    assert browser["security_opt"] == ["no-new-privileges:true"] and not browser["privileged"]


def test_pool_keys_name_the_browser_runtime() -> None:
    key = PoolKey.of("sha256:abc", Limits(memory_mb=1024), egress=True, runtime=PYTHON_BROWSER)
    assert key != PoolKey.of("sha256:abc", Limits(memory_mb=1024), egress=True)
    assert "python3.11-browser" in key.describe()


def test_the_browser_settings_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEPWELL_SANDBOX_BROWSER_PIDS_LIMIT", "8")
    with pytest.raises(ValidationError, match="sandbox_browser_pids_limit"):
        Settings()
    monkeypatch.setenv("STEPWELL_SANDBOX_BROWSER_PIDS_LIMIT", "600")
    monkeypatch.setenv("STEPWELL_SANDBOX_BROWSER_TMP_MB", "128")
    config = Settings().sandbox_config()
    assert (config.browser_pids_limit, config.browser_tmp_mb) == (600, 128)


def test_chromium_is_launched_from_debian_without_a_proxy_when_there_is_no_egress(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sdk_browser, "EGRESS_SOCKET", str(tmp_path / "absent.sock"))
    monkeypatch.setattr(sdk_browser, "DOWNLOADS_DIR", str(tmp_path / "downloads"))
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    options = sdk_browser.launch_options(args=["--lang=fr"])
    assert options["executable_path"] == "/usr/bin/chromium"
    assert options["headless"] is True and options["chromium_sandbox"] is False
    assert "proxy" not in options
    assert not any("proxy" in name.lower() for name in options["env"])
    assert options["downloads_path"] == str(tmp_path / "downloads")
    for flag in ("--disable-dev-shm-usage", "--dns-prefetch-disable", "--disable-breakpad"):
        assert flag in options["args"]
    assert options["args"][-1] == "--lang=fr"


def test_chromium_goes_through_the_egress_proxy_when_there_is_a_lease(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    socket_path = tmp_path / "proxy.sock"
    socket_path.touch()
    monkeypatch.setattr(sdk_browser, "EGRESS_SOCKET", str(socket_path))
    monkeypatch.setattr(sdk_browser, "DOWNLOADS_DIR", str(tmp_path / "downloads"))
    assert sdk_browser.launch_options()["proxy"] == {"server": "http://127.0.0.1:3128"}


@pytest.mark.parametrize("name", ["executable_path", "proxy", "chromium_sandbox", "headless"])
def test_a_step_cannot_change_how_chromium_is_launched(name: str) -> None:
    with pytest.raises(ValueError, match=name):
        sdk_browser.launch_options(**{name: None})


def test_an_async_step_is_run_to_its_end() -> None:
    @step
    async def later(x: int) -> int:
        return x + 1

    assert later.invoke({"x": 1}) == 2
    assert later.manifest.output_schema["type"] == "integer"


def test_the_api_accepts_a_browser_bundle_and_checks_its_python_source() -> None:
    manifest = _manifest(runtime=PYTHON_BROWSER)
    good = build_bundle(manifest, {"step.py": b"def main():\n    return 1\n"})
    checked = check_bundle(good.data)
    assert checked.manifest.runtime == PYTHON_BROWSER
    assert checked.manifest.limits.memory_mb == 1024
    broken = build_bundle(manifest, {"step.py": b"def main(:\n"})
    with pytest.raises(ApiError):
        check_bundle(broken.data)


@pytest.mark.parametrize("memory_mb", [32, 128, 511])
def test_a_browser_step_asking_too_little_memory_is_refused_before_it_runs(memory_mb: int) -> None:
    fields = {"name": "web.shot", "version": "1.0.0", "entrypoint": "step:main"}
    asked = {**fields, "runtime": PYTHON_BROWSER, "limits": {"memory_mb": memory_mb}}
    with pytest.raises(ValidationError) as caught:
        Manifest.model_validate(asked, context=NEW_MANIFEST)
    (error,) = caught.value.errors()
    assert error["loc"] == ("limits", "memory_mb")
    assert "at least 512 MiB" in error["msg"] and str(memory_mb) in error["msg"]
    python = {**fields, "limits": {"memory_mb": memory_mb}}
    assert Manifest.model_validate(python, context=NEW_MANIFEST).limits.memory_mb == memory_mb
    # a stored manifest is never held to a minimum (it was accepted when pushed): it reads back
    assert Manifest.model_validate(asked).limits.memory_mb == memory_mb


def test_too_little_browser_memory_is_refused_by_the_decorator_and_at_push() -> None:
    with pytest.raises(StepDefinitionError, match=r"/limits/memory_mb.*512"):

        @step(name="web.tiny", runtime=PYTHON_BROWSER, memory_mb=128)
        def tiny() -> str:
            return "x"

    manifest = {
        "name": "web.tiny",
        "version": "1.0.0",
        "entrypoint": "step:main",
        "runtime": PYTHON_BROWSER,
        "limits": {"memory_mb": 128},
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in (("stepwell.json", json.dumps(manifest).encode()), ("step.py", b"")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(ApiError) as refused:
        check_bundle(buffer.getvalue())
    assert "/limits/memory_mb" in json.dumps(refused.value.__dict__, default=str)
