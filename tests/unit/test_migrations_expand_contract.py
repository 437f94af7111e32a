"""Migrations are backward compatible for one release (expand / contract, docs/operations.md "Rollout").

During a rolling update the previous release's pods keep serving on the migrated schema, so a migration's
``upgrade()`` may only *expand*: add tables, nullable columns (or NOT NULL ones with a server default),
indexes. What the previous release still reads or writes is removed (dropped, renamed, made NOT NULL) only
by a *contract* migration shipped a release after the code stopped using it; such a migration says so in
its docstring with a line ``Contract: <what>, unused since <release>``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = sorted(ROOT.glob("services/*/migrations/versions/*.py"))

#: Written before rolling updates were supported (every release stopped all processes, then migrated).
BEFORE_ROLLING_UPDATES = {
    "0004_payroll_scope_claims.py": "payroll_runs.warnings made NOT NULL after a backfill",
    "0005_list_indexes_payroll_writes.py": "payslip_lines foreign key dropped",
}

_DROPS = {"drop_column", "drop_table", "rename_table", "drop_constraint"}


def _is_false(node: ast.keyword | None) -> bool:
    return node is not None and isinstance(node.value, ast.Constant) and node.value.value is False


def breaking_operations(source: str) -> list[str]:
    """What ``upgrade()`` does that the previous release's code could trip over, as ``line: operation``."""
    tree = ast.parse(source)
    found: list[str] = []
    for function in tree.body:
        if not (isinstance(function, ast.FunctionDef) and function.name == "upgrade"):
            continue
        for node in ast.walk(function):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            name = node.func.attr
            keywords = {k.arg: k for k in node.keywords}
            if name in _DROPS:
                found.append(f"{node.lineno}: {name}")
            elif name == "alter_column" and "new_column_name" in keywords:
                found.append(f"{node.lineno}: alter_column renames a column")
            elif name == "alter_column" and _is_false(keywords.get("nullable")):
                found.append(f"{node.lineno}: alter_column makes a column NOT NULL")
            elif name == "add_column":
                for column in node.args:
                    if not isinstance(column, ast.Call):
                        continue
                    column_keywords = {k.arg: k for k in column.keywords}
                    if _is_false(column_keywords.get("nullable")) and "server_default" not in column_keywords:
                        found.append(f"{node.lineno}: add_column NOT NULL without a server default")
    return sorted(found, key=lambda item: int(item.partition(":")[0]))


def _declares_contract(source: str) -> bool:
    docstring = ast.get_docstring(ast.parse(source)) or ""
    return any(line.strip().startswith("Contract:") for line in docstring.splitlines())


def test_there_are_migrations_to_check() -> None:
    assert len(MIGRATIONS) >= 30


@pytest.mark.parametrize("path", MIGRATIONS, ids=lambda p: f"{p.parts[-4]}/{p.name}")
def test_every_migration_only_expands_unless_it_declares_itself_a_contract(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    breaking = breaking_operations(source)
    if not breaking or _declares_contract(source) or path.name in BEFORE_ROLLING_UPDATES:
        return
    pytest.fail(
        f"{path.relative_to(ROOT)} breaks the previous release during a rolling update "
        f"({'; '.join(breaking)}). "
        "Expand now (add, backfill, write both), contract in the next release with a docstring line "
        "'Contract: <what>, unused since <release>' (docs/operations.md, Rollout)."
    )


def test_the_grandfathered_list_names_real_breaking_migrations() -> None:
    for name in BEFORE_ROLLING_UPDATES:
        (path,) = [p for p in MIGRATIONS if p.name == name]
        assert breaking_operations(path.read_text(encoding="utf-8")), name


EXPAND = """
def upgrade() -> None:
    op.add_column("t", sa.Column("c", sa.String(), nullable=True))
    op.add_column("t", sa.Column("d", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ix", "t", ["c"])


def downgrade() -> None:
    op.drop_column("t", "c")
"""

BREAKING = """
def upgrade() -> None:
    op.drop_column("t", "old")
    op.alter_column("t", "a", new_column_name="b")
    with op.batch_alter_table("t") as batch:
        batch.alter_column("c", nullable=False)
    op.add_column("t", sa.Column("e", sa.String(), nullable=False))
"""


def test_the_rule_tells_expanding_from_breaking() -> None:
    assert breaking_operations(EXPAND) == []  # drops in downgrade() are fine
    assert breaking_operations(BREAKING) == [
        "3: drop_column",
        "4: alter_column renames a column",
        "6: alter_column makes a column NOT NULL",
        "7: add_column NOT NULL without a server default",
    ]
    assert _declares_contract('"""Drop t.old.\n\nContract: t.old, unused since 2026.12\n"""\n' + BREAKING)
