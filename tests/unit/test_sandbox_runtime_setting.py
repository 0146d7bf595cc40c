"""The sandbox runtime setting: validated, carried into every step container's host config."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sandbox.config import SandboxConfig
from sandbox.hardening import host_config_kwargs
from step_sdk.manifest import Limits
from stepwell_settings import Settings


def test_default_is_runc_and_named_explicitly() -> None:
    config = Settings().sandbox_config()
    assert config.container_runtime == "runc"
    assert host_config_kwargs(config, Limits())["runtime"] == "runc"


def test_environment_variable_selects_crun(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEPWELL_SANDBOX_RUNTIME", "crun")
    config = Settings().sandbox_config()
    assert config.container_runtime == "crun"
    assert host_config_kwargs(config, Limits())["runtime"] == "crun"


@pytest.mark.parametrize("bad", ["", "-runc", "--privileged", "run c", "a" * 65, "runc;true"])
def test_names_that_are_not_runtime_names_are_refused_naming_the_field(bad: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(sandbox_runtime=bad)
    assert caught.value.errors()[0]["loc"] == ("sandbox_runtime",)


def test_the_runtime_changes_no_hardening_option() -> None:
    runc = host_config_kwargs(SandboxConfig(), Limits())
    crun = host_config_kwargs(SandboxConfig(container_runtime="crun"), Limits())
    assert {k: v for k, v in crun.items() if k != "runtime"} == {
        k: v for k, v in runc.items() if k != "runtime"
    }
