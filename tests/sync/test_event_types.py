"""The README's event table names exactly the event types a stream can carry."""

from __future__ import annotations

import re
from pathlib import Path

from mechamental.sync.events.frames import EventType

README = Path(__file__).resolve().parents[2] / "README.md"


def _table_event_names() -> list[str]:
    """The names in the first column of the table headed `| event | when |`."""
    lines = README.read_text().splitlines()
    start = lines.index("| event | when |")
    names: list[str] = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        first_cell = line.split("|")[1]
        names += re.findall(r"`([^`]+)`", first_cell)
    return names


def test_the_readme_lists_every_event_type_once() -> None:
    names = _table_event_names()
    assert len(names) == len(set(names)), names
    assert set(names) == {member.value for member in EventType}
