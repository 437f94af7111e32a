"""``yunkefu seed``: fill recruitment's talent pool with realistic, repeatable candidates.

A fresh ``make run`` has an empty pool, so a confirmed project matches nobody. The seed builds a CSV of
Chinese candidates (names, phones, skills, shifts, basic-training results, platforms, categories, cities)
and sends it through recruitment's public CSV import, as operations would with their own spreadsheet.

Every row is derived from its index alone, so the same ``--size`` always yields the same people, a larger
size only adds people, and the import updates known phones instead of adding them twice: seeding again
never grows the pool. ``samples/candidates.csv`` is this generator's default output (a test keeps them
in step).
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from shared import tabular
from shared.config import SERVICES, project_root

DEFAULT_SIZE = 200
MAX_SIZE = 50_000  # recruitment's RECRUITMENT_IMPORT_MAX_ROWS default
SAMPLE_CSV = project_root() / "samples" / "candidates.csv"

#: The import's Chinese column names (it accepts English ones too); Excel users in China see these.
HEADER = (
    "姓名",
    "手机",
    "技能",
    "班次",
    "基础培训通过",
    "基础分",
    "类目",
    "平台",
    "城市",
    "经验月数",
    "备注",
)
COLUMNS = tuple(tabular.Column(key=header, zh=header) for header in HEADER)

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
#: Given-name characters, by the candidate's gender (most agents in the trade are women).
_GIVEN_F = "静敏丽娟艳芳娜秀英慧颖婷雪琳欣怡佳琪晓燕梦瑶雨涵思雅"
_GIVEN_M = "宇轩浩然俊杰文博明辉建华志强海波伟鹏磊超"
_PREFIXES = ("135", "136", "137", "138", "150", "151", "152", "157", "158", "159", "182", "183", "187", "188")
_PREFIXES += (
    "130",
    "131",
    "132",
    "155",
    "156",
    "185",
    "186",
    "133",
    "153",
    "177",
    "180",
    "181",
    "189",
    "199",
)
_CITIES = ("杭州", "合肥", "郑州", "成都", "武汉", "长沙", "南昌", "西安", "重庆", "宿迁", "赣州", "六安")
_CATEGORIES = ("服装", "美妆", "食品", "数码", "家居", "母婴", "鞋包", "家电")
_PLATFORMS = ("天猫", "淘宝", "京东", "拼多多", "抖音")
_NOTES = ("", "", "", "有大促经验", "普通话标准", "打字快", "可周末排班", "做过直播间客服", "英语四级")


@dataclass(frozen=True)
class Candidate:
    name: str
    phone: str
    skills: tuple[str, ...]
    shifts: tuple[str, ...]
    basic_training_passed: bool
    basic_score: str
    categories: tuple[str, ...]
    platforms: tuple[str, ...]
    city: str
    experience_months: int
    notes: str

    def row(self) -> list[str]:
        return [
            self.name,
            self.phone,
            ";".join(self.skills),
            ";".join(self.shifts),
            "是" if self.basic_training_passed else "否",
            self.basic_score,
            ";".join(self.categories),
            ";".join(self.platforms),
            self.city,
            str(self.experience_months),
            self.notes,
        ]


def candidate(index: int) -> Candidate:
    """The ``index``-th seeded candidate; the same index always gives the same person."""
    rng = random.Random(f"yunkefu-seed-{index}")
    given = _GIVEN_F if rng.random() < 0.7 else _GIVEN_M
    name = rng.choice(_SURNAMES) + "".join(rng.choice(given) for _ in range(rng.choice((1, 2, 2))))
    # The index in the last five digits keeps phones unique; a middle of 100–999 keeps them apart from
    # the demo's numbers (13x000000nn), so the demo can still play against a seeded pool.
    phone = f"{_PREFIXES[rng.randrange(len(_PREFIXES))]}{rng.randrange(100, 1000)}{index:05d}"
    skill_roll = rng.random()
    skills = ("售前",) if skill_roll < 0.55 else ("售后",) if skill_roll < 0.85 else ("售前", "售后")
    shift_roll = rng.random()
    if shift_roll < 0.45:
        shifts: tuple[str, ...] = ("早班", "晚班")
    elif shift_roll < 0.7:
        shifts = ("早班",)
    elif shift_roll < 0.85:
        shifts = ("晚班",)
    elif shift_roll < 0.93:
        shifts = ("早班", "晚班", "夜班")
    else:
        shifts = ("夜班",)
    passed = rng.random() < 0.85
    score = rng.randint(78, 98) if passed else rng.randint(45, 72)
    experience = rng.choice((0, 0, 3, 6, 8, 12, 18, 24, 30, 36, 48))
    return Candidate(
        name=name,
        phone=phone,
        skills=skills,
        shifts=shifts,
        basic_training_passed=passed,
        basic_score=f"{score}" if rng.random() < 0.7 else f"{score}.5",
        categories=tuple(rng.sample(_CATEGORIES, rng.randint(1, 2))),
        platforms=tuple(rng.sample(_PLATFORMS, rng.randint(1, 2))) if experience else (),
        city=rng.choice(_CITIES),
        experience_months=experience,
        notes=rng.choice(_NOTES),
    )


def candidates(size: int = DEFAULT_SIZE) -> list[Candidate]:
    return [candidate(i) for i in range(1, size + 1)]


def to_csv(people: list[Candidate]) -> bytes:
    """The import's CSV, written like every export (``shared.tabular``: UTF-8 with a BOM for Excel)."""
    return tabular.to_csv(COLUMNS, (person.row() for person in people))


def import_csv(api: Any, content: bytes, filename: str, *, dry_run: bool = False) -> dict[str, Any]:
    """Send one CSV to ``POST /candidates/import``; a refusal raises with the service's problem detail."""
    path = "/api/v1/candidates/import" + ("?dry_run=true" if dry_run else "")
    status, body, _ = api.upload(path, filename, content, content_type="text/csv")
    if status != 200:
        detail = body.get("detail") if isinstance(body, dict) else body
        rows = body.get("rows", [])[:5] if isinstance(body, dict) else []
        raise click.ClickException(f"the import was refused (HTTP {status}): {detail} {rows or ''}".rstrip())
    return dict(body)


def pool_size(api: Any, **filters: str) -> int | None:
    query = "&".join(f"{key}={value}" for key, value in {"per_page": "1", **filters}.items())
    status, _, headers = api.get(f"/api/v1/candidates?{query}")
    total = {k.lower(): v for k, v in headers.items()}.get("x-total-count")
    return int(total) if status == 200 and total is not None else None


def _vendor_token() -> str:
    # Minted exactly as `yunkefu token --role vendor` does, so it is accepted wherever that one is.
    from shared.auth import load_signing_key, mint_token
    from shared.config import ConfigError, Settings

    try:
        key = load_signing_key(Settings.from_env("cli"))
    except ConfigError as exc:
        raise click.ClickException(f"{exc} (or pass --token)") from exc
    return mint_token(key, "vendor", sub="yunkefu-seed", ttl_seconds=600)


@click.command("seed")
@click.option(
    "--url",
    default=None,
    help=f"recruitment's base URL (default: http://127.0.0.1:{SERVICES['recruitment']}, or RECRUITMENT_PORT)",
)
@click.option(
    "--size",
    type=click.IntRange(1, MAX_SIZE),
    default=DEFAULT_SIZE,
    show_default=True,
    help="how many generated candidates (the same size always gives the same people)",
)
@click.option(
    "--csv",
    "csv_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="import this CSV instead of generated people (e.g. samples/candidates.csv or your own)",
)
@click.option(
    "--write",
    "write_to",
    type=click.Path(dir_okay=False, writable=True, allow_dash=True, path_type=Path),
    default=None,
    help="only write the generated CSV to this file ('-' for stdout); nothing is sent",
)
@click.option("--dry-run", is_flag=True, help="let recruitment validate the file without keeping anything")
@click.option("--token", default=None, help="a vendor token (default: mint one with JWT_PRIVATE_KEY_FILE)")
@click.option(
    "--accounts/--no-accounts",
    default=True,
    show_default=True,
    help="also create one console demo account per role (passwords printed once)",
)
def seed(
    url: str | None,
    size: int,
    csv_file: Path | None,
    write_to: Path | None,
    dry_run: bool,
    token: str | None,
    accounts: bool,
) -> None:
    """Fill recruitment's talent pool with realistic candidates through its CSV import (idempotent)."""
    if csv_file is not None:
        content, filename = csv_file.read_bytes(), csv_file.name
    else:
        content, filename = to_csv(candidates(size)), "yunkefu-seed.csv"
    if write_to is not None:
        if str(write_to) == "-":
            sys.stdout.buffer.write(content)
        else:
            write_to.write_bytes(content)
            click.echo(f"wrote {filename} to {write_to}")
        return

    from devtools.stack import Api
    from shared.config import Settings

    url = url or f"http://127.0.0.1:{Settings.from_env('recruitment').port}"
    api = Api(url, token or _vendor_token())
    try:
        result = import_csv(api, content, filename, dry_run=dry_run)
    except OSError as exc:  # connection refused, DNS …: say where we tried instead of a traceback
        raise click.ClickException(
            f"recruitment is not reachable at {url} ({exc}); is `make run` up?"
        ) from exc
    verb = "checked" if dry_run else "imported"
    click.echo(
        f"{verb} {result['rows']} candidates from {filename}: {result['created']} new, "
        f"{result['updated']} already in the pool (updated)"
    )
    eligible = pool_size(api, basic_training_passed="true", status="available")
    click.echo(f"talent pool: {pool_size(api)} candidates, {eligible} available and basic-trained")
    for topped in result.get("topped_up") or []:
        click.echo(
            f"  requisition {topped['requisition_id']} (project {topped['project_id']}): "
            f"+{topped['newly_matched']} matched, now {topped['status']}"
        )
    if accounts and not dry_run:
        seed_console_accounts()


def seed_console_accounts() -> None:
    """One console account per role; an existing e-mail is left as it is (its password is not shown)."""
    from devtools.console_accounts import seed_demo_accounts
    from shared.config import Settings
    from shared.db import Database
    from shared.migrate import current_revision
    from shared.service import load_spec

    url = Settings.from_env("console").database_url
    try:
        migrated = current_revision(load_spec("console"), url) is not None
    except Exception:
        migrated = False
    if not migrated:
        click.echo("console demo accounts skipped: its database is not migrated (`yunkefu migrate console`)")
        return
    database = Database(url)
    try:
        created = seed_demo_accounts(database)
    except Exception as exc:
        raise click.ClickException(
            f"the console's demo accounts were not created ({type(exc).__name__}: {exc}); "
            "run `yunkefu migrate console` first"
        ) from exc
    finally:
        database.dispose()
    click.echo("console demo accounts (passwords are shown only now; sign in at the console):")
    for role, email, password in created:
        click.echo(f"  {role:10} {email:32} {password or '(exists, password unchanged)'}")
