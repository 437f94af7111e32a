"""docs/architecture.md's event-flow diagram matches the catalogue."""

from __future__ import annotations

import re
from pathlib import Path

from shared.events import catalogue

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


def test_every_catalogued_route_is_drawn_and_nothing_else() -> None:
    drawn = set(re.findall(r"^\s+(\w+) -- ([\w.]+) --> (\w+)$", DOC.read_text(), flags=re.MULTILINE))
    expected = {
        (t.producer, t.name, consumer)
        for t in catalogue.all_event_types()
        if not t.name.startswith(("bus.", "test.", "bench."))
        for consumer in (t.consumers or ("audit",))
    }
    assert drawn == expected
