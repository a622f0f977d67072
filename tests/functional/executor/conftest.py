"""The distributed executor's monitoring against a real Redis and real Celery workers."""

from fixtures.redis_server import *  # noqa: F403
