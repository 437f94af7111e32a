"""Transitional: moved to ``devtools.stack``; kept while modules outside the platform still import it."""

from devtools.stack import *  # noqa: F403
