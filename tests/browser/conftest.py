"""Browser tests drive the real console in Debian's headless Chromium (``fixtures.browser``)."""

from fixtures.browser import *  # noqa: F403
