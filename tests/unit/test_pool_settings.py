"""The warm pools' settings: defaults, bounds, and what reaches the sandbox."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sandbox.pool_fill import pool_settings
from stepwell_settings import Settings


def test_pools_are_on_by_default_and_reach_the_sandbox() -> None:
    config = Settings().sandbox_config()
    assert config.pool_size == 2
    assert pool_settings(config).size == 2
    assert "2 started containers per pool" in Settings().describe_pools()


def test_size_zero_turns_pools_off_and_says_so() -> None:
    settings = Settings(pool_size=0)
    assert settings.sandbox_config().pool_size == 0
    assert settings.describe_pools().startswith("none (STEPWELL_POOL_SIZE=0)")


def test_every_pool_setting_reaches_the_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"SIZE": "3", "IDLE_S": "60", "REFILL_CONCURRENCY": "2",
                        "KEEP_WARM_S": "120", "MAX_KEYS": "5"}.items():  # fmt: skip
        monkeypatch.setenv(f"STEPWELL_POOL_{name}", value)
    pools = pool_settings(Settings().sandbox_config())
    assert (pools.size, pools.idle_s, pools.refill_concurrency, pools.keep_warm_s,
            pools.max_keys) == (3, 60, 2, 120, 5)  # fmt: skip


@pytest.mark.parametrize(
    ("field", "value"),
    [("pool_size", -1), ("pool_idle_s", 0), ("pool_refill_concurrency", 0), ("pool_max_keys", 0)],
)
def test_out_of_range_pool_settings_are_refused_naming_the_field(field: str, value: int) -> None:
    with pytest.raises(ValidationError, match=field):
        Settings.model_validate({field: value})
