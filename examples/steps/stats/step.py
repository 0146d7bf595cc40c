"""math.stats: summary statistics of a list of numbers (standard library statistics)."""

from __future__ import annotations

import statistics
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from step_sdk import step


class Summary(BaseModel):
    """Summary statistics of the input values."""

    model_config = ConfigDict(frozen=True)

    count: int = Field(description="How many values there are.")
    mean: float = Field(description="Arithmetic mean.")
    median: float = Field(description="Middle value; the mean of the two middle ones if even.")
    stdev: float = Field(
        description="Standard deviation: the population one (divides by n) unless the input "
        "asked for 'sample' (divides by n - 1)."
    )
    min: float = Field(description="Smallest value.")
    max: float = Field(description="Largest value.")


@step(
    name="math.stats",
    version="1.0.0",
    title="Summary statistics",
    timeout_s=10,
    examples=[
        {
            "input": {"values": [2, 4, 4, 4, 5, 5, 7, 9]},
            "output": {
                "count": 8,
                "mean": 5.0,
                "median": 4.5,
                "stdev": 2.0,
                "min": 2.0,
                "max": 9.0,
            },
        },
        {
            "input": {"values": [1.5]},
            "output": {
                "count": 1,
                "mean": 1.5,
                "median": 1.5,
                "stdev": 0.0,
                "min": 1.5,
                "max": 1.5,
            },
        },
        {
            "input": {"values": [1.5, -0.5, 3, 1.5, -0.5], "stdev_kind": "sample"},
            "output": {
                "count": 5,
                "mean": 1.0,
                "median": 1.5,
                "stdev": 1.5,
                "min": -0.5,
                "max": 3.0,
            },
        },
    ],
)
def stats(
    values: Annotated[list[float], Field(min_length=1, max_length=100_000)],
    stdev_kind: Literal["population", "sample"] = "population",
) -> Summary:
    """Count, mean, median, standard deviation, minimum and maximum of ``values``.

    The standard deviation is the **population** standard deviation (``statistics.pstdev``) by
    default; pass ``stdev_kind="sample"`` for the sample one (``statistics.stdev``), which needs
    at least two values.
    """
    if stdev_kind == "sample":
        if len(values) < 2:
            raise ValueError("the sample standard deviation needs at least two values")
        spread = statistics.stdev(values)
    else:
        spread = statistics.pstdev(values)
    return Summary(
        count=len(values),
        mean=statistics.fmean(values),
        median=statistics.median(values),
        stdev=spread,
        min=min(values),
        max=max(values),
    )
