"""Several workers meeting a new key at once create its local copy once (shared/projections.copy_of).

Found by the three-workers-per-service fault test: two consumers handling the first events of the same new
project both inserted its copy, and one batch failed on the primary key and went to retry.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import Database
from shared.projections import copy_of, take


class Base(DeclarativeBase):
    pass


class ProjectCopy(Base):
    __tablename__ = "project_copies"

    project_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    merchant_id: Mapped[str | None] = mapped_column(String(36), nullable=True)


def test_the_second_transaction_waits_for_the_first_and_updates_its_row(
    make_database: Callable[[str], str],
) -> None:
    database = Database(make_database("copyof"))
    Base.metadata.create_all(database.engine)
    outcome: dict[str, object] = {}
    second_started = threading.Event()
    try:
        with database.session() as first:
            row, created = copy_of(first, ProjectCopy, "p-1")
            take(row, {"name": "双11 售前"}, ["name"])
            first.flush()  # inserted, not committed: the key's lock is held to the commit

            def second() -> None:
                with database.session() as session:
                    second_started.set()
                    other, other_created = copy_of(session, ProjectCopy, "p-1")
                    take(other, {"merchant_id": "m-1"}, ["merchant_id"])
                    outcome["created"] = other_created

            thread = threading.Thread(target=second)
            thread.start()
            assert second_started.wait(10)
            thread.join(1.0)
            assert thread.is_alive(), "the second transaction must wait for the first one's commit"
        thread.join(20)
        assert not thread.is_alive()
        assert created is True and outcome == {"created": False}  # no duplicate key, nothing to retry
        with database.session() as session:
            rows = session.execute(select(ProjectCopy.project_id, ProjectCopy.name, ProjectCopy.merchant_id))
            assert rows.all() == [("p-1", "双11 售前", "m-1")]  # both events' fields, one row
    finally:
        database.dispose()
