"""Transitional: the web platform moved to the ``shared.web`` package; import from there.

Kept only while service modules still import ``shared.http``; delete once none does.
"""

from shared.web import *  # noqa: F403
from shared.web import __all__  # noqa: F401
