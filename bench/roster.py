"""Benchmark (not a test): the CP-SAT roster against a greedy baseline, measured in the same run.

300 agents (200 active, 100 reserve) × 14 days × 3 shifts of a round-the-clock project (00–08, 08–16,
16–24), each shift needing ``--seats`` agents, with the default hard rules (one shift a day, 11 h rest,
6 days in a row, 44 h a week). Agents are available for one to three shifts; a few leave mid-window.

Prints, for CP-SAT and for the greedy baseline: solve time (target ≤ 10 s), hard-rule violations
(checked independently by ``check_roster``; must be 0), coverage %, reserve shifts used, and the
fairness spread of hours among the active agents (max − min, lower is fairer).

    python bench/roster.py [--agents 300] [--days 14] [--seats 50] [--time-limit 8] [--workers 8] [--seed 7]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.scheduling.rostering import (
    SHIFT_NAMES,
    RosterAgent,
    RosterProblem,
    RosterResult,
    Rules,
    Slot,
    binding_rules,
    check_roster,
    fairness_spread,
    greedy,
    solve,
    split_service_hours,
)

TARGET_SECONDS = 10.0


def build(agents: int, days: int, seats: int, seed: int) -> RosterProblem:
    rng = random.Random(seed)
    start = dt.date(2026, 11, 2)  # a Monday: two whole ISO weeks
    pool = []
    for i in range(agents):
        count = rng.choices([1, 2, 3], weights=[0.15, 0.35, 0.5])[0]
        leaves = None
        if rng.random() < 0.02:  # min(): a short --days run still has a valid range
            leaves = start + dt.timedelta(days=rng.randint(min(3, days - 1), days - 1))
        pool.append(
            RosterAgent(
                f"agent-{i:03d}",
                frozenset(rng.sample(SHIFT_NAMES, count)),
                reserve=i >= agents * 2 // 3,
                departs_on=leaves,
                order=i,
            )
        )
    templates = split_service_hours("00:00", "24:00")
    slots = [Slot(start + dt.timedelta(days=d), t, seats) for d in range(days) for t in templates]
    return RosterProblem(pool, slots, (), Rules())


def report(name: str, problem: RosterProblem, result: RosterResult, seconds: float) -> dict[str, float]:
    needed = sum(s.needed for s in problem.slots)
    violations = check_roster(problem.agents, result.assignments, problem.rules)
    reserve_ids = {a.agent_id for a in problem.agents if a.reserve}
    figures = {
        "seconds": seconds,
        "violations": float(len(violations)),
        "coverage": 100.0 * len(result.assignments) / needed if needed else 100.0,
        "reserve_shifts": float(sum(1 for a in result.assignments if a.agent_id in reserve_ids)),
        "spread": fairness_spread(problem.agents, result.assignments),
    }
    print(
        f"{name:<8} {seconds:>8.2f} s  violations {len(violations):>3}  "
        f"coverage {figures['coverage']:6.2f} %  "
        f"reserve shifts {int(figures['reserve_shifts']):>4}  fairness spread {figures['spread']:5.1f} h  "
        f"({result.status})"
    )
    for rule in binding_rules(result.gaps)[:3]:
        print(
            f"{'':<10}gap: {rule['rule']} — {rule['shifts']} shifts, {rule['missing']} agents: "
            f"{rule['example']}"
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--agents", type=int, default=300)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--seats", type=int, default=50, help="agents each shift needs")
    parser.add_argument(
        "--time-limit", type=float, default=8.0, help="CP-SAT limit (SCHEDULING_SOLVER_TIME_LIMIT)"
    )
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    problem = build(args.agents, args.days, args.seats, args.seed)
    needed = sum(s.needed for s in problem.slots)
    print(
        f"roster benchmark: {args.agents} agents × {args.days} days × 3 shifts, {args.seats} per shift "
        f"({needed} agent-shifts); CP-SAT limit {args.time_limit:g} s, {args.workers} workers"
    )
    started = time.perf_counter()
    baseline = greedy(problem)
    base = report("greedy", problem, baseline, time.perf_counter() - started)
    started = time.perf_counter()
    result = solve(problem, time_limit=args.time_limit, workers=args.workers, seed=args.seed)
    cp = report("cp-sat", problem, result, time.perf_counter() - started)
    ok_time = cp["seconds"] <= TARGET_SECONDS
    ok_rules = cp["violations"] == 0
    print(
        f"target: solve ≤ {TARGET_SECONDS:g} s → {cp['seconds']:.2f} s {'OK' if ok_time else 'MISSED'}; "
        f"violations 0 → {int(cp['violations'])} {'OK' if ok_rules else 'MISSED'}; "
        f"coverage {cp['coverage']:.2f} % vs greedy {base['coverage']:.2f} %; "
        f"spread {cp['spread']:.1f} h vs greedy {base['spread']:.1f} h; "
        f"reserve shifts {int(cp['reserve_shifts'])} vs greedy {int(base['reserve_shifts'])}"
    )
    sys.exit(0 if ok_time and ok_rules else 1)


if __name__ == "__main__":
    main()
