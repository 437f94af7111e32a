"""The web platform every service's app is built on (being split out of ``shared.http``)."""

from __future__ import annotations

from typing import Any

from shared.web.idempotency import idempotent
from shared.web.transaction import current_uow, install_unit_of_work, transactional

__all__ = ["current_uow", "idempotent", "install_unit_of_work", "transactional"]


def __getattr__(name: str) -> Any:  # transitional: the rest still lives in shared.http
    import shared.http

    return getattr(shared.http, name)
