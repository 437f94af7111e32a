"""Run every benchmark and print one table: measure | product | baseline | ratio | target | met.

    python bench/summary.py [--runs 3] [--only http_api,roster] [--output bench-results.json]

Each bench reports its measures through ``bench._support.report``; this runs each bench ``--runs`` times
in a row (a separate process each, so one bench's failure does not hide the others), collects the JSON
lines and prints the medians over the runs with the machine's load average before and after. "met" is
the verdict of the median run's figures against the bench's own target; with several runs it also says
how many of the runs met it. Exit status: 1 when a bench failed to run or a target was missed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: in the order they run; the slow HTTP one last
BENCHES = [
    "outbox_relay",
    "consumer",
    "matching",
    "roster",
    "planning",
    "payroll",
    "quality",
    "invoicing",
    "workers",
    "http_api",
]


def run(bench: str, results: Path, extra: list[str]) -> int:
    env = {**os.environ, "BENCH_RESULTS": str(results), "PYTHONPATH": str(ROOT)}
    print(f"\n=== {bench} {' '.join(extra)}".rstrip(), flush=True)
    return subprocess.run([sys.executable, str(ROOT / "bench" / f"{bench}.py"), *extra], env=env).returncode


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f} {unit}" if abs(value) >= 100 else f"{value:,.2f} {unit}"


def table(rows: list[dict[str, object]], runs: int, load: tuple[list[float], list[float]]) -> str:
    grouped: dict[tuple[str, str], list[dict[str, object]]] = {}
    for row in rows:
        grouped.setdefault((str(row["bench"]), str(row["measure"])), []).append(row)
    lines = [
        f"# {runs} run(s) per bench, medians; load average before {load[0]} after {load[1]}; "
        f"{os.cpu_count()} CPUs",
        "| measure | product | baseline | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for (_bench, measure), results in grouped.items():
        unit = str(results[0]["unit"])
        product = statistics.median(float(r["product"]) for r in results)  # type: ignore[arg-type]
        baselines = [float(r["baseline"]) for r in results if r["baseline"] is not None]  # type: ignore[arg-type]
        baseline = statistics.median(baselines) if baselines else None
        ratios = [
            float(r["product"]) / float(r["baseline"])  # type: ignore[arg-type]
            for r in results
            if r["baseline"] not in (None, 0)
        ]
        ratio = f"{statistics.median(ratios):.1%}" if ratios else "-"
        met = sum(1 for r in results if r["met"])
        verdict = ("yes" if met * 2 > len(results) else "no") + (
            f" ({met}/{len(results)})" if runs > 1 else ""
        )
        lines.append(
            f"| {measure} | {fmt(product, unit)} | {fmt(baseline, unit)} | {ratio} | {results[0]['target']} "
            f"| {verdict} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--only", default="", help="comma-separated bench names (default: all)")
    parser.add_argument("--output", default="", help="also write the collected results (JSON) here")
    args = parser.parse_args()
    chosen = [b for b in args.only.split(",") if b] or BENCHES
    unknown = sorted(set(chosen) - set(BENCHES))
    if unknown:
        parser.error(f"unknown bench(es): {', '.join(unknown)}; known: {', '.join(BENCHES)}")

    load_before = [round(x, 2) for x in os.getloadavg()]
    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="yk-bench-") as tmp:
        results = Path(tmp) / "results.jsonl"
        results.touch()
        for bench in chosen:
            for i in range(args.runs):
                started = time.monotonic()
                code = run(bench, results, [])
                print(
                    f"=== {bench} run {i + 1}/{args.runs}: exit {code} in {time.monotonic() - started:.0f} s"
                )
                if code != 0:
                    failed.append(f"{bench} (run {i + 1}, exit {code})")
        rows = [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines() if line.strip()]
    load_after = [round(x, 2) for x in os.getloadavg()]
    if args.output:
        Path(args.output).write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    print()
    print(table(rows, args.runs, (load_before, load_after)))
    if failed:
        print(f"\n# failed: {', '.join(failed)}")
    missed = any(not r["met"] for r in rows)
    return 1 if failed or missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
