"""Benchmark (not a test): recruitment matching and CSV import on PostgreSQL, beside same-run baselines.

Prints:
- matching a 500-seat project (1:3 → 1,500 matches) from a pool of 100,000 candidates, through the real use
  case (eligibility and ranking in SQL, ``FOR UPDATE SKIP LOCKED``, status updates, match rows, the
  ``candidates.matched`` outbox row), against a naive baseline that loads the whole pool into Python, ranks
  it with ``domain.select_matches`` and writes row by row through the ORM — target ≤ 1 s;
- importing a 10,000-row CSV through the HTTP endpoint (rows/s), against a naive row-by-row ORM import.

Each matching run is rolled back, so every run starts from the same pool. The database is created and
dropped by the benchmark.

    python bench/matching.py [--pool 100000] [--seats 500] [--rows 10000] [--runs 3]
"""

# ruff: noqa: E402  (the imports follow the sys.path repair below)
from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder comes first on sys.path, where a sibling module may shadow the standard
# library (a bench/http.py hides `http`); only the project root belongs there.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse
import random
import statistics
import time
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select

from bench._support import Scratch
from devtools.stack import STACK_PRIVATE_KEY, generate_stack_keys
from services.recruitment import domain, requisitions, talent_pool
from services.recruitment.config import RecruitmentSettings
from services.recruitment.models import Candidate, Match, Requisition
from services.recruitment.spec import SPEC
from shared.config import Settings
from shared.db import Database, utcnow
from shared.events.envelope import build_envelope, receive
from shared.events.outbox import add_event
from shared.migrate import upgrade
from shared.uow import UnitOfWork

TARGET_SECONDS = 1.0
PLATFORMS = ["taobao", "jd", "pinduoduo", "douyin", "kuaishou"]
CATEGORIES = ["服装", "美妆", "数码", "食品", "母婴", "家居"]
CITIES = ["杭州", "上海", "成都", "武汉", "合肥"]


def candidate_row(rng: random.Random, n: int) -> dict[str, Any]:
    skills = rng.choices([["presale"], ["aftersale"], ["presale", "aftersale"]], weights=[6, 2, 2])[0]
    shifts = rng.sample(domain.SHIFTS, rng.randint(1, 3))
    platforms = rng.sample(PLATFORMS, rng.randint(0, 2))
    categories = rng.sample(CATEGORIES, rng.randint(0, 2))
    now = utcnow()
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128))),
        "name": f"候选人{n}",
        "phone": f"13{n:09d}",
        "skill_mask": domain.mask(skills, domain.SKILL_BITS),
        "shift_mask": domain.mask(shifts, domain.SHIFT_BITS),
        "categories": categories,
        "platforms": platforms,
        "category_tags": "|" + "".join(f"{c}|" for c in categories),
        "platform_tags": "|" + "".join(f"{p}|" for p in platforms),
        "basic_training_passed": rng.random() < 0.8,
        "basic_score": Decimal(rng.randint(4000, 10000)) / 100,
        "city": rng.choice(CITIES),
        "experience_months": rng.randint(0, 48),
        "notes": None,
        "status": "available" if rng.random() < 0.9 else rng.choice(["assigned", "inactive", "matched"]),
        "created_at": now,
        "updated_at": now,
    }


def confirmed(project_id: str, seats: int) -> dict[str, Any]:
    return {
        "project_id": project_id,
        "merchant_id": "bench-merchant",
        "seats": seats,
        "service_type": "presale",
        "service_hours": {"start": "09:00", "end": "21:00"},
        "go_live_date": "2026-12-01",
        "assessor": "vendor",
        "metrics": {},
        "platform": "taobao",
        "merchant": {"categories": ["服装"]},
    }


def naive_match(database: Database, seats: int) -> tuple[float, list[str]]:
    """Load everyone, rank in Python, write through the ORM one object at a time; rolled back."""
    session = database.sessionmaker()
    try:
        t0 = time.perf_counter()
        everyone = session.scalars(select(Candidate)).all()
        pool = [
            domain.Profile(
                id=c.id,
                phone=c.phone,
                skills=frozenset(c.skills),
                shifts=frozenset(c.shifts_available),
                basic_training_passed=c.basic_training_passed,
                basic_score=c.basic_score,
                status=c.status,
                platforms=frozenset(c.platforms),
                categories=frozenset(c.categories),
                experience_months=c.experience_months,
            )
            for c in everyone
        ]
        requirement = domain.Requirement(
            shifts=frozenset(domain.project_shifts("09:00", "21:00")),
            platform="taobao",
            categories=frozenset({"服装"}),
            project_id="naive",
        )
        target = domain.match_target(seats, domain.DEFAULT_MATCH_RATIO)
        picks = domain.select_matches(pool, {"presale": target}, requirement)
        by_id = {c.id: c for c in everyone}
        requisition_id = str(uuid.uuid4())
        session.add(
            Requisition(
                id=requisition_id,
                project_id="naive",
                reason="project_confirmed",
                source_ref=f"naive:{requisition_id}",
                seats=seats,
                ratio=domain.DEFAULT_MATCH_RATIO,
                target=target,
                matched=len(picks),
                due_date=utcnow().date(),
                status="filled" if len(picks) >= target else "short",
            )
        )
        session.flush()
        for rank, pick in enumerate(picks, start=1):
            by_id[pick.candidate.id].status = "matched"
            session.add(
                Match(
                    id=str(uuid.uuid4()),
                    requisition_id=requisition_id,
                    candidate_id=pick.candidate.id,
                    project_id="naive",
                    skill=pick.skill,
                    score=pick.score,
                    rank=rank,
                    outcome="matched",
                )
            )
        session.flush()
        add_event(
            session,
            "candidates.matched",
            {
                "requisition_id": requisition_id,
                "project_id": "naive",
                "candidates": [by_id[p.candidate.id].profile() for p in picks],
            },
        )
        elapsed = time.perf_counter() - t0
        return elapsed, [p.candidate.id for p in picks]
    finally:
        session.rollback()
        session.close()


def real_match(database: Database, seats: int) -> tuple[float, list[str]]:
    session = database.sessionmaker()
    try:
        t0 = time.perf_counter()
        project_id = f"bench-{uuid.uuid4().hex[:8]}"
        event = receive(build_envelope("project.confirmed", confirmed(project_id, seats)))
        requisition = requisitions.project_confirmed(
            UnitOfWork(session), event.data, event.occurred_at, RecruitmentSettings()
        )
        session.flush()
        elapsed = time.perf_counter() - t0
        assert requisition is not None
        ids = list(
            session.scalars(
                select(Match.candidate_id).where(Match.requisition_id == requisition.id).order_by(Match.rank)
            )
        )
        return elapsed, ids
    finally:
        session.rollback()
        session.close()


def csv_bytes(rng: random.Random, rows: int, first: int) -> bytes:
    lines = [
        "name,phone,skills,shifts_available,basic_training_passed,basic_score,categories,platforms,city,"
        "experience_months,notes"
    ]
    for n in range(first, first + rows):
        lines.append(
            f"导入{n},15{n:09d},{rng.choice(['presale', 'aftersale', 'presale;aftersale'])},"
            f"{rng.choice(['morning', 'afternoon;night', 'morning;afternoon;night'])},"
            f"{rng.choice(['yes', 'no'])},{rng.randint(40, 100)},{rng.choice(CATEGORIES)},"
            f"{rng.choice(PLATFORMS)},{rng.choice(CITIES)},{rng.randint(0, 36)},"
        )
    return ("\n".join(lines) + "\n").encode()


def naive_import(database: Database, raw: bytes) -> float:
    """Row by row: parse, look the phone up, add through the ORM, flush each; rolled back."""
    from services.recruitment.csv_import import parse_csv

    session = database.sessionmaker()
    try:
        t0 = time.perf_counter()
        parsed = parse_csv(raw, max_rows=100_000)
        for _, data in parsed.rows:
            existing = session.scalars(select(Candidate).where(Candidate.phone == data.phone)).first()
            target = existing or Candidate(id=str(uuid.uuid4()), status="available")
            for key, value in talent_pool.candidate_values(data).items():
                setattr(target, key, value)
            if existing is None:
                session.add(target)
            session.flush()
        return time.perf_counter() - t0
    finally:
        session.rollback()
        session.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pool", type=int, default=100_000)
    parser.add_argument("--seats", type=int, default=500)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    with Scratch("bench_match") as scratch:
        url = scratch.database("recruitment")
        database = Database(url)
        try:
            measure(args, url, database, scratch.folder())
        finally:
            database.dispose()
    return 0


def measure(args: argparse.Namespace, url: str, database: Database, keys_dir: Path) -> None:
    upgrade(SPEC, url)
    rng = random.Random(20261127)
    t0 = time.perf_counter()
    with database.session() as session:
        batch: list[dict[str, Any]] = []
        for n in range(args.pool):
            batch.append(candidate_row(rng, n))
            if len(batch) == 5_000:
                session.execute(insert(Candidate), batch)
                batch = []
        if batch:
            session.execute(insert(Candidate), batch)
    with database.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE candidates")
        conn.commit()
    with database.session() as session:
        eligible = session.scalar(
            select(func.count()).where(
                Candidate.status == "available",
                Candidate.basic_training_passed.is_(True),
                Candidate.skill_mask.op("&")(1) != 0,
            )
        )
    target = domain.match_target(args.seats, domain.DEFAULT_MATCH_RATIO)
    print(
        f"# recruitment matching benchmark on PostgreSQL: pool {args.pool:,} candidates "
        f"({eligible:,} available, trained, pre-sales), loaded in {time.perf_counter() - t0:.1f}s"
    )
    print(
        f"# a {args.seats}-seat pre-sales project at 1:3 → {target:,} matches; "
        f"{args.runs} runs each, rolled back"
    )

    naive = [naive_match(database, args.seats) for _ in range(args.runs)]
    real = [real_match(database, args.seats) for _ in range(args.runs)]
    same = naive[0][1] == real[0][1]
    naive_t = statistics.median(t for t, _ in naive)
    real_t = statistics.median(t for t, _ in real)
    print(
        f"baseline  load-all + rank in Python + ORM writes : {naive_t:7.3f} s  "
        f"(median; matched {len(naive[0][1]):,})"
    )
    print(
        f"matching  SQL rank + SKIP LOCKED + bulk writes    : {real_t:7.3f} s  "
        f"(median; matched {len(real[0][1]):,})"
    )
    print(
        f"          target ≤ {TARGET_SECONDS:.1f} s: {'met' if real_t <= TARGET_SECONDS else 'MISSED'}; "
        f"{naive_t / real_t:.1f}× faster than the baseline; same people in the same order: {same}"
    )

    raw = csv_bytes(rng, args.rows, 0)
    naive_import_t = naive_import(database, raw)
    settings = Settings(
        service="recruitment",
        database_url=url,
        jwt_public_keys=str(generate_stack_keys(keys_dir) / "public"),
        log_json=False,
        log_level="WARNING",
    )
    app = SPEC.create_app(settings=settings, database=database)
    from shared.auth import SigningKey, mint_token

    token = mint_token(SigningKey.load(keys_dir / STACK_PRIVATE_KEY), "vendor")
    client = app.test_client()
    t0 = time.perf_counter()
    response = client.post(
        "/api/v1/candidates/import",
        data=raw,
        content_type="text/csv",
        headers={"Authorization": f"Bearer {token}"},
    )
    import_t = time.perf_counter() - t0
    body = response.get_json()
    assert response.status_code == 200, body
    print(f"# CSV import: {args.rows:,} rows ({len(raw) / 1e6:.2f} MB) into a pool of {args.pool:,}")
    print(
        f"baseline  row-by-row ORM import                  : {args.rows / naive_import_t:9,.0f} rows/s "
        f"({naive_import_t:.2f} s)"
    )
    print(
        f"import    POST /api/v1/candidates/import          : {args.rows / import_t:9,.0f} rows/s "
        f"({import_t:.2f} s; "
        f"created {body['created']:,}, topped up {len(body['topped_up'])} requisitions)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
