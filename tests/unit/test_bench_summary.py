"""`make bench`'s summary: medians over runs, the ratio per run, and a majority verdict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench._support import Result, report
from bench.summary import BENCHES, table


def test_report_appends_one_json_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "r.jsonl"
    monkeypatch.setenv("BENCH_RESULTS", str(path))
    report(Result("relay", "relay 1 KB", 6000.0, "ev/s", 10000.0, ">= 50% of raw", True))
    report(Result("roster", "300x14x3", 7.5, "s", None, "<= 10 s", True, higher_is_better=False))
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["measure"] for r in rows] == ["relay 1 KB", "300x14x3"]
    assert rows[1]["baseline"] is None


def test_the_table_takes_medians_and_the_majority_verdict() -> None:
    rows = [
        {
            "bench": "relay",
            "measure": "relay",
            "product": p,
            "unit": "ev/s",
            "baseline": b,
            "target": "t",
            "met": m,
        }
        for p, b, m in [(5000.0, 10000.0, True), (4000.0, 10000.0, False), (6000.0, 10000.0, True)]
    ]
    out = table(rows, 3, ([0.5, 0.4, 0.3], [1.0, 0.8, 0.5]))
    line = next(x for x in out.splitlines() if x.startswith("| relay"))
    assert line == "| relay | 5,000 ev/s | 10,000 ev/s | 50.0% | t | yes (2/3) |"
    assert "load average before [0.5, 0.4, 0.3]" in out


def test_every_registered_bench_has_its_file_and_a_readme_row() -> None:
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text(encoding="utf-8")
    for bench in BENCHES:
        assert (root / "bench" / f"{bench}.py").is_file(), bench
        assert f"| `bench/{bench}.py` |" in readme, f"{bench} has no row in the README's benchmark table"
