"""The billing service's own tables (SQLAlchemy 2.0 typed models)."""

from sqlalchemy.orm import DeclarativeBase

from shared.db import new_metadata


class Base(DeclarativeBase):
    metadata = new_metadata()
