"""Demo accounts, one per role, for trying the console (``yunkefu seed`` prints them once).

Passwords are random and never stored in clear: whoever runs the seed sees them once. Seeding again creates
only the accounts that are missing; an existing e-mail address is left as it is (its password unchanged).
"""

from __future__ import annotations

import secrets
import uuid

from sqlalchemy import select

from devtools.demo import MERCHANT_ID as DEMO_MERCHANT_ID
from services.console import accounts
from services.console.models import User
from shared.auth import ROLES
from shared.db import Database
from shared.uow import Actor, unit_of_work

DEMO_DOMAIN = "demo.yunkefu.example"

#: Names the demo accounts show in the console's header.
DISPLAY_NAMES = {
    "admin": "管理员 Admin",
    "vendor": "运营 王敏",
    "merchant": "商家 云尚旗舰店",
    "trainer": "培训师 刘洋",
    "supervisor": "主管 陈静",
    "finance": "财务 赵磊",
    "agent": "坐席 张三",
    "qa": "质检 孙丽",
}


def demo_email(role: str) -> str:
    return f"{role}@{DEMO_DOMAIN}"


def random_password() -> str:
    while True:
        candidate = secrets.token_urlsafe(12)  # 16 characters from a 64-symbol alphabet
        if not accounts.password_problems(candidate):
            return candidate


def seed_demo_accounts(
    database: Database, *, merchant_id: str | None = None, candidate_id: str | None = None
) -> list[tuple[str, str, str]]:
    """``(role, e-mail, password)`` of each role's demo account; the password is ``""`` for an account that
    already existed (skipped, unchanged).

    The merchant account is bound to ``merchant_id`` (default: the demo story's merchant, so it sees the
    demo's projects); the agent to ``candidate_id`` — pass a candidate of the seeded talent pool so the
    agent sees shifts and payslips; without one the agent gets a new id that matches nobody yet.
    """
    results: list[tuple[str, str, str]] = []
    with unit_of_work(database, actor=Actor.system("cli")) as uow:
        existing = set(uow.session.scalars(select(User.email).where(User.email.like(f"%@{DEMO_DOMAIN}"))))
        for role in ROLES:
            email = demo_email(role)
            if email in existing:
                results.append((role, email, ""))
                continue
            password = random_password()
            accounts.create_user(
                uow,
                email=email,
                role=role,
                display_name=DISPLAY_NAMES.get(role, role),
                password=password,
                merchant_id=(merchant_id or DEMO_MERCHANT_ID) if role == "merchant" else None,
                candidate_id=(candidate_id or str(uuid.uuid4())) if role == "agent" else None,
            )
            results.append((role, email, password))
    return results
