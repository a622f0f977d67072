"""The console's API and page tests use the fixtures of ``fixtures.browser``."""

from fixtures.browser import *  # noqa: F403
