"""Schedule timing rules: classic cron day matching, intervals counted from creation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ui_api.schedules.rules import classic_cron, interval_offset_s


@pytest.mark.parametrize(
    ("cron", "expressions"),
    [
        ("0 9 * * 1-5", ["0 9 * * 1-5"]),  # one day field restricted: unchanged
        ("0 9 1 * *", ["0 9 1 * *"]),
        ("*/15 * * * *", ["*/15 * * * *"]),
        # both restricted: either day matches, so one expression per day field
        ("0 9 1 * MON", ["0 9 1 * *", "0 9 * * MON"]),
        ("30 6 1,15 1-6 sat,sun", ["30 6 1,15 1-6 *", "30 6 * 1-6 sat,sun"]),
        # a field starting with '*' counts as unrestricted, as in Vixie cron: both must match
        ("0 9 */2 * MON", ["0 9 */2 * MON"]),
        ("0 9 1 * */2", ["0 9 1 * */2"]),
    ],
)
def test_cron_is_split_where_classic_cron_ors_the_day_fields(
    cron: str, expressions: list[str]
) -> None:
    assert classic_cron(cron) == expressions


@pytest.mark.parametrize(
    ("interval_s", "created_at", "offset_s"),
    [
        (604800, datetime(1970, 1, 1, tzinfo=UTC), 0),  # the epoch is a Thursday 00:00
        (604800, datetime(2026, 11, 30, 10, 0, tzinfo=UTC), 4 * 86400 + 10 * 3600),  # a Monday
        (3600, datetime(2026, 11, 30, 10, 17, 42, 900000, tzinfo=UTC), 17 * 60 + 42),
        (60, datetime(2026, 11, 30, 10, 17, 42, tzinfo=UTC), 42),
    ],
)
def test_an_interval_is_phased_to_its_creation(
    interval_s: int, created_at: datetime, offset_s: int
) -> None:
    offset = interval_offset_s(interval_s, created_at)
    assert offset == offset_s and 0 <= offset < interval_s
    assert (int(created_at.timestamp()) - offset) % interval_s == 0
