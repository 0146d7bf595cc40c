"""data.csv_parse: parse CSV text into records with the standard library's csv module."""

from __future__ import annotations

import csv
import io
from typing import Annotated

from pydantic import Field
from typing_extensions import TypedDict

from step_sdk import step


class Table(TypedDict):
    """The parsed rows, each a mapping of column name to text, and how many there are."""

    records: list[dict[str, str]]
    count: int


@step(
    name="data.csv_parse",
    version="1.0.1",
    title="Parse CSV",
    timeout_s=10,
    memory_mb=512,
    output_kb=1536,
    examples=[
        {
            "input": {"text": "name,age\nAda,36\nAlan,41\n"},
            "output": {
                "records": [{"name": "Ada", "age": "36"}, {"name": "Alan", "age": "41"}],
                "count": 2,
            },
        },
        {
            "input": {
                "text": 'Ada;London\nGrace;"New York; NY"\n',
                "delimiter": ";",
                "has_header": False,
            },
            "output": {
                "records": [
                    {"col1": "Ada", "col2": "London"},
                    {"col1": "Grace", "col2": "New York; NY"},
                ],
                "count": 2,
            },
        },
        {
            "input": {"text": 'id,note\n1,"two\nlines"\n\n2,"say ""hi"""\n3\n'},
            "output": {
                "records": [
                    {"id": "1", "note": "two\nlines"},
                    {"id": "2", "note": 'say "hi"'},
                    {"id": "3", "note": ""},
                ],
                "count": 3,
            },
        },
    ],
)
def csv_parse(
    text: Annotated[str, Field(max_length=2_000_000)],
    delimiter: Annotated[str, Field(min_length=1, max_length=1)] = ",",
    has_header: bool = True,
) -> Table:
    """Parse ``text`` as CSV (quotes ``"``, doubled to escape) into a list of records.

    With ``has_header`` the first row names the columns; otherwise they are ``col1``, ``col2``, …
    Blank lines are skipped and a short row's missing cells are empty strings. A row with more
    cells than the header, or a header naming a column twice, is an error (``ValueError``).
    """
    rows = [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if row]
    if not rows:
        return {"records": [], "count": 0}
    if has_header:
        header, body = rows[0], rows[1:]
        repeated = sorted({name for name in header if header.count(name) > 1})
        if repeated:
            raise ValueError(f"the header names column {repeated[0]!r} more than once")
    else:
        body = rows
        header = [f"col{i}" for i in range(1, max(len(row) for row in rows) + 1)]
    records: list[dict[str, str]] = []
    for number, row in enumerate(body, start=1):
        if len(row) > len(header):
            raise ValueError(
                f"data row {number} has {len(row)} cells but the header has {len(header)} columns"
            )
        records.append({name: row[i] if i < len(row) else "" for i, name in enumerate(header)})
    return {"records": records, "count": len(records)}
