"""The console's account use cases on the fake unit of work: users, lock-out, invitations, unlock (账号)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from services.console import accounts
from services.console.models import Base, Invitation, SignInEvent
from shared.uow import Actor
from tests.unit.fakes import DEFAULT_NOW, FakeUnitOfWork

PASSWORD = "correct horse battery"
POLICY = accounts.LockoutPolicy(threshold=3, minutes=15)
POLICY_LOCK = dt.timedelta(minutes=POLICY.minutes)


@pytest.fixture
def uow() -> Iterator[FakeUnitOfWork]:
    fake = FakeUnitOfWork(Base.metadata, actor=Actor.system("cli"))
    yield fake
    fake.close()


def outcomes(uow: FakeUnitOfWork) -> list[str]:
    return list(uow.session.scalars(select(SignInEvent.outcome).order_by(SignInEvent.id)))


def test_a_user_is_created_with_a_hashed_password_at_the_clock_time(uow: FakeUnitOfWork) -> None:
    user = accounts.create_user(uow, email=" Boss@Example.com ", role="admin", password=PASSWORD)
    assert user.email == "boss@example.com" and user.display_name == "boss"
    assert user.password_hash and user.password_hash != PASSWORD
    assert user.password_changed_at == DEFAULT_NOW and user.created_at == DEFAULT_NOW

    with pytest.raises(accounts.AccountError, match="already exists"):
        accounts.create_user(uow, email="boss@example.com", role="vendor", password=PASSWORD)
    with pytest.raises(accounts.AccountError, match="merchant id"):
        accounts.create_user(uow, email="shop@example.com", role="merchant")
    with pytest.raises(accounts.AccountError, match="at least 10"):
        accounts.create_user(uow, email="weak@example.com", role="vendor", password="short")


def test_failures_in_a_row_lock_the_account_until_the_clock_passes_the_lock(uow: FakeUnitOfWork) -> None:
    user = accounts.create_user(uow, email="agent@example.com", role="vendor", password=PASSWORD)
    for _ in range(POLICY.threshold):
        with pytest.raises(accounts.AccountError):
            accounts.authenticate(uow, user.email, "wrong password!", policy=POLICY, ip="10.0.0.1")
    assert user.locked_until == DEFAULT_NOW + POLICY_LOCK
    assert accounts.is_locked(user, uow.now())
    with pytest.raises(accounts.AccountError, match="locked"):
        accounts.authenticate(uow, user.email, PASSWORD, policy=POLICY)  # the right password, too late
    assert outcomes(uow) == ["failed", "failed", "locked", "locked"]

    uow.advance(minutes=POLICY.minutes + 1)
    assert not accounts.is_locked(user, uow.now())
    assert accounts.authenticate(uow, user.email, PASSWORD, policy=POLICY) is user
    assert user.last_sign_in_at == uow.now() and user.failed_attempts == 0
    assert outcomes(uow)[-1] == "signed_in"


def test_an_administrator_unlocks_and_is_named_in_the_audit_trail(uow: FakeUnitOfWork) -> None:
    admin = accounts.create_user(uow, email="admin@example.com", role="admin", password=PASSWORD)
    user = accounts.create_user(uow, email="locked@example.com", role="vendor", password=PASSWORD)
    user.locked_until, user.failed_attempts = uow.now() + POLICY_LOCK, 2

    uow.actor = Actor(sub=admin.id, role="admin")
    accounts.unlock(uow, user)
    assert user.locked_until is None and user.failed_attempts == 0
    line = uow.session.scalars(select(SignInEvent).order_by(SignInEvent.id.desc())).first()
    assert line is not None and line.outcome == "unlocked" and line.user_agent == "by admin@example.com"

    with pytest.raises(accounts.AccountError, match="your own account"):
        accounts.set_active(uow, admin, False)
    accounts.set_active(uow, user, False)
    assert not user.active and outcomes(uow)[-1] == "deactivated"


def test_the_cli_unlocks_without_a_person_behind_it(uow: FakeUnitOfWork) -> None:
    user = accounts.create_user(uow, email="locked@example.com", role="vendor", password=PASSWORD)
    user.locked_until = uow.now() + POLICY_LOCK
    accounts.unlock(uow, user)
    line = uow.session.scalars(select(SignInEvent)).one()
    assert line.outcome == "unlocked" and line.user_agent is None


def test_an_invitation_expires_after_its_hours_and_works_once(uow: FakeUnitOfWork) -> None:
    user, token = accounts.invite_user(uow, email="new@example.com", role="trainer", hours=72)
    invitation = uow.session.scalars(select(Invitation)).one()
    assert invitation.created_by is None  # issued by the CLI
    assert invitation.expires_at == DEFAULT_NOW + dt.timedelta(hours=72) and user.password_hash is None

    uow.advance(hours=72)
    with pytest.raises(accounts.InvitationError) as expired:
        accounts.accept_invitation(uow, token, PASSWORD, PASSWORD)
    assert expired.value.kind == accounts.INVITATION_EXPIRED

    admin = accounts.create_user(uow, email="admin@example.com", role="admin", password=PASSWORD)
    uow.actor = Actor(sub=admin.id, role="admin")
    fresh = accounts.resend_invitation(uow, user, hours=72)
    assert uow.session.scalars(select(Invitation)).one().created_by == admin.id  # the old link is gone
    uow.advance(hours=71)
    assert accounts.accept_invitation(uow, fresh, PASSWORD, PASSWORD) is user
    assert user.password_changed_at == uow.now() and outcomes(uow)[-1] == "invitation_accepted"
    with pytest.raises(accounts.InvitationError) as used:
        accounts.accept_invitation(uow, fresh, PASSWORD, PASSWORD)
    assert used.value.kind == accounts.INVITATION_USED
    assert uow.events == []  # accounts are the console's own: nothing goes on the bus
