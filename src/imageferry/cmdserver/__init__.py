"""The command server: warm ``ferry copy`` re-runs without paying Python's start-up.

Most of a no-op ``ferry copy`` is interpreter and library start-up (aiohttp
alone builds two TLS contexts at import), not registry work. Like Mercurial's
``chg`` or Android's zygote, a background process imports everything once and
forks a fresh worker per command; the launcher hands the worker its argv,
environment, working directory and its stdin/stdout/stderr descriptors over a
private Unix socket, and relays signals and the exit status.

* :mod:`.paths`: where the socket lives and which server a launcher may use;
* :mod:`.wire`: length-prefixed JSON messages with descriptor passing;
* :mod:`.client`: the launcher side (standard library only, imported first);
* :mod:`.server`: the preloading, forking server (``python -m imageferry.cmdserver.server``).

Nothing here imports heavy modules at import time: the launcher's budget is a
few milliseconds.
"""

__all__: list[str] = []
