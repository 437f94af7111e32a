"""Transitional: moved to ``devtools.demo``; kept while modules outside the platform still import it."""

from devtools.demo import *  # noqa: F403
