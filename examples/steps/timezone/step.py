"""datetime.convert_timezone: convert a date and time to another IANA time zone (zoneinfo)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ConfigDict, Field

from step_sdk import step

ZoneName = Annotated[str, Field(min_length=1, max_length=64, examples=["Europe/Paris"])]


@dataclass(frozen=True)
class Converted:
    """The converted moment."""

    # Let pydantic turn the attribute docstrings below into schema descriptions.
    __pydantic_config__ = ConfigDict(use_attribute_docstrings=True)

    iso: str
    """ISO 8601 with the target zone's UTC offset, e.g. ``2024-07-01T14:00:00+02:00``."""
    tz: str
    """The target zone's IANA name."""
    utc_offset: str
    """The target zone's offset from UTC at that moment, e.g. ``+02:00``."""
    abbreviation: str
    """The target zone's abbreviation at that moment, e.g. ``CEST``."""
    formatted: str | None
    """The moment formatted with ``format`` (``strftime``), or null when none was given."""


def _zone(name: str, parameter: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{parameter}: {name!r} is not an IANA time zone name") from None


def _offset(moment: datetime) -> str:
    offset = moment.utcoffset()
    assert offset is not None  # an aware datetime always has one
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


@step(
    name="datetime.convert_timezone",
    version="1.0.0",
    title="Convert a time zone",
    timeout_s=5,
    examples=[
        {
            "input": {"when": "2024-07-01T12:00:00Z", "to_tz": "Europe/Paris"},
            "output": {
                "iso": "2024-07-01T14:00:00+02:00",
                "tz": "Europe/Paris",
                "utc_offset": "+02:00",
                "abbreviation": "CEST",
                "formatted": None,
            },
        },
        {
            "input": {
                "when": "2024-01-15T09:30:00-05:00",
                "to_tz": "Asia/Kolkata",
                "format": "%d %b %Y, %H:%M %Z",
            },
            "output": {
                "iso": "2024-01-15T20:00:00+05:30",
                "tz": "Asia/Kolkata",
                "utc_offset": "+05:30",
                "abbreviation": "IST",
                "formatted": "15 Jan 2024, 20:00 IST",
            },
        },
        {
            "input": {
                "when": "2024-11-03T12:00:00",
                "from_tz": "America/New_York",
                "to_tz": "UTC",
            },
            "output": {
                "iso": "2024-11-03T17:00:00+00:00",
                "tz": "UTC",
                "utc_offset": "+00:00",
                "abbreviation": "UTC",
                "formatted": None,
            },
        },
    ],
)
def convert_timezone(
    when: Annotated[datetime, Field(description="ISO 8601, with or without a UTC offset.")],
    to_tz: Annotated[ZoneName, Field(description="The IANA zone to convert to.")],
    from_tz: Annotated[ZoneName, Field(description="The zone of a `when` without offset.")] = "UTC",
    format: Annotated[
        str | None, Field(min_length=1, max_length=200, description="A strftime pattern.")
    ] = None,
) -> Converted:
    """Convert ``when`` (an ISO 8601 date and time) to the IANA time zone ``to_tz``.

    A ``when`` without a UTC offset is read as local time in ``from_tz`` (default UTC); an
    ambiguous local time (in the hour repeated when clocks go back) is the first of the two.
    ``format`` is an optional ``strftime`` pattern such as ``"%Y-%m-%d %H:%M %Z"``. An unknown
    zone name is an error (``ValueError``).
    """
    target = _zone(to_tz, "to_tz")
    if when.tzinfo is None or when.utcoffset() is None:
        when = when.replace(tzinfo=_zone(from_tz, "from_tz"))
    moment = when.astimezone(target)
    return Converted(
        iso=moment.isoformat(),
        tz=to_tz,
        utc_offset=_offset(moment),
        abbreviation=moment.tzname() or "",
        formatted=moment.strftime(format) if format is not None else None,
    )
