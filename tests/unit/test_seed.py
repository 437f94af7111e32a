"""``yunkefu seed``, the sample files and the README tour's shape (no services needed).

The tour itself runs against a real stack in tests/e2e/test_readme_tour.py; these checks catch the cheap
mistakes first (a sample out of step, a variable the tour uses but never sets).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

from click.testing import CliRunner

from devtools.seed import DEFAULT_SIZE, SAMPLE_CSV, candidate, candidates, to_csv
from services.onboarding.domain import STANDARD_KEYS
from services.onboarding.schemas import ProjectCreateIn
from services.recruitment import domain as recruitment
from services.recruitment.csv_import import parse_csv
from shared.cli import main
from shared.config import project_root

ROOT = project_root()


def tour_block() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## A short tour") :]
    return section[section.index("```bash\n") + len("```bash\n") : section.index("\n```\n")]


def test_the_same_size_gives_the_same_people_and_a_larger_size_only_adds() -> None:
    assert candidates(50) == candidates(50)
    assert candidates(200)[:50] == candidates(50)
    assert candidate(7) == candidates(10)[6]


def test_every_generated_row_is_accepted_by_recruitments_csv_import() -> None:
    people = candidates(2000)
    parsed = parse_csv(to_csv(people), max_rows=5000)
    assert parsed.errors == []
    assert len(parsed.rows) == 2000
    # unique phones are what make a second import update instead of add
    assert len({row.phone for _, row in parsed.rows}) == 2000
    # …and none collides with the demo's numbers (13x000000nn), so `yunkefu demo --use-running` still works
    assert not any(re.fullmatch(r"13\d000000\d\d", row.phone) for _, row in parsed.rows)


def test_the_pool_is_varied_and_has_room_for_several_tours() -> None:
    parsed = parse_csv(to_csv(candidates(DEFAULT_SIZE)), max_rows=DEFAULT_SIZE)
    rows = [row for _, row in parsed.rows]
    tour = recruitment.Requirement(shifts=frozenset(recruitment.project_shifts("09:00", "17:00")))
    eligible = [
        row
        for row in rows
        if recruitment.is_eligible(
            recruitment.Profile(
                id=row.phone,
                phone=row.phone,
                skills=frozenset(row.skills),
                shifts=frozenset(row.shifts_available),
                basic_training_passed=row.basic_training_passed,
                basic_score=row.basic_score,
            ),
            "presale",
            tour,
        )
    ]
    # the tour's 10 pre-sales seats need 30 and keep 20; 100+ lets it be pasted several times
    assert len(eligible) >= 100
    assert any(not row.basic_training_passed for row in rows)
    assert {s for row in rows for s in row.skills} == {"presale", "aftersale"}
    assert {s for row in rows for s in row.shifts_available} == {"morning", "afternoon", "night"}
    assert all(Decimal(0) <= row.basic_score <= Decimal(100) for row in rows)
    assert len({row.city for row in rows}) > 5
    assert all(re.fullmatch(r"[\u4e00-\u9fff]{2,3}", row.name) for row in rows)


def test_the_shipped_sample_is_the_generators_default_output() -> None:
    assert SAMPLE_CSV.read_bytes() == to_csv(candidates(DEFAULT_SIZE))
    assert SAMPLE_CSV.read_bytes().startswith("\ufeff".encode())  # Excel opens it as UTF-8


def test_the_seed_command_is_registered_and_writes_the_csv_without_sending_it() -> None:
    result = CliRunner().invoke(main, ["seed", "--size", "3", "--write", "-"])
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == to_csv(candidates(3))


def test_the_seed_says_where_it_tried_when_recruitment_is_down() -> None:
    result = CliRunner().invoke(main, ["seed", "--url", "http://127.0.0.1:9", "--size", "1"])
    assert result.exit_code == 1
    assert "recruitment is not reachable at http://127.0.0.1:9" in result.output


def test_the_sample_order_and_faq_are_complete() -> None:
    project = json.loads((ROOT / "samples" / "project.json").read_text(encoding="utf-8"))
    assert ProjectCreateIn().validate(project) == {}
    faq = json.loads((ROOT / "samples" / "faq.json").read_text(encoding="utf-8"))
    assert sorted(item["key"] for item in faq["standard"]) == sorted(STANDARD_KEYS)
    assert all(item["answer"].strip() for item in faq["standard"])


def test_the_tour_sets_every_variable_it_uses_and_names_files_that_exist() -> None:
    block = tour_block()
    assigned = set(re.findall(r"(?:^|[\s(])(?:local\s+)?([A-Za-z_][A-Za-z0-9_]*)=", block, re.M))
    assigned |= set(re.findall(r"\blocal\s+(?:\w+=\S+\s+)*(\w+)\s*(?:;|$)", block, re.M))
    assigned |= set(re.findall(r"--arg\s+(\w+)", block))  # jq's own $variables
    used = set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", block)) - {"PATH", "PWD"}
    assert used <= assigned, f"used but never set: {sorted(used - assigned)}"
    for name in re.findall(r"@(samples/[\w./-]+)", block):
        assert (ROOT / name).is_file(), name
    # every address comes from a variable with the `make run` default, so the test can point it elsewhere
    defaults = re.sub(r"\$\{[A-Z]+:-http://127\.0\.0\.1:800\d\}", "", block)
    assert not re.search(r":800\d", defaults)
