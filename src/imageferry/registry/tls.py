"""TLS for registry connections: one verifying context, made when first needed.

aiohttp builds two TLS contexts when it is imported, and each loads the system's
whole CA bundle: about 35 ms of a ``ferry copy`` that may never speak TLS (a
loopback or plain-HTTP registry) and, when it does, uses one context. So:

- :func:`import_aiohttp` imports aiohttp with OpenSSL's default CA *file* pointed
  at an empty one for the duration of the import. aiohttp's own contexts then
  hold only the hashed CA directory (looked up lazily), and imageferry does not
  use them for verification: it restores the environment at once.
- :func:`verifying_context` is the context every verified HTTPS request is given
  (``ssl=`` on each request), made on first use from the environment as the user
  set it (``SSL_CERT_FILE``, ``SSL_CERT_DIR``), as :func:`ssl.create_default_context`
  does.

The import trick is skipped when aiohttp is already loaded or other threads run
(changing the environment is not thread-safe); then aiohttp pays its usual cost.
"""

from __future__ import annotations

import os
import ssl
import sys
import threading
from functools import cache

__all__ = ["import_aiohttp", "verifying_context"]

_CA_FILE_VARIABLE = "SSL_CERT_FILE"


def import_aiohttp() -> None:
    """Import aiohttp without its import-time CA bundle loads (see the module)."""
    if "aiohttp" in sys.modules or threading.active_count() > 1:
        return  # loaded already, or not safe to do: the client's own import pays in full
    saved = os.environ.get(_CA_FILE_VARIABLE)
    os.environ[_CA_FILE_VARIABLE] = os.devnull
    try:
        import aiohttp  # noqa: F401
    finally:
        if saved is None:
            del os.environ[_CA_FILE_VARIABLE]
        else:
            os.environ[_CA_FILE_VARIABLE] = saved


@cache
def verifying_context() -> ssl.SSLContext:
    """The system's CAs (or the user's ``SSL_CERT_FILE``/``SSL_CERT_DIR``), HTTP/1.1."""
    context = ssl.create_default_context()
    context.set_alpn_protocols(["http/1.1"])
    return context
