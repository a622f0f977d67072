"""Link-header pagination for tags/list and _catalog (distribution-spec, "Listing Tags").

A registry that has more results answers with ``Link: <URL>; rel="next"``
(RFC 8288); the URL may be relative to the request. ``n`` asks for a page size.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from urllib.parse import urlencode, urljoin

from imageferry.errors import ResponseError
from imageferry.registry.transport import Transport

__all__ = ["next_link", "paginate"]

# One link-value: <target> then ;-separated parameters, whose quoted values
# may hold ; and , (RFC 8288 section 3, RFC 9110 quoted-string).
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_LINK = re.compile(rf"<([^>]*)>\s*((?:;\s*(?:[^;,\"]|{_QUOTED})*)*)")
_PARAM = re.compile(rf""";\s*([^\s=;,]+)\s*(?:=\s*({_QUOTED}|[^;,\s]*))?""")
#: A guard against a registry that keeps returning the same next page.
_MAX_PAGES = 100_000


def next_link(link_headers: Iterable[str], base_url: str) -> str | None:
    """The absolute URL of ``rel="next"`` in any of the ``Link`` header values."""
    for header in link_headers:
        for match in _LINK.finditer(header):
            params = {
                name.lower(): value.strip('"') for name, value in _PARAM.findall(match.group(2))
            }
            if "next" in params.get("rel", "").split():
                target: str = urljoin(base_url, match.group(1))
                return target
    return None


async def paginate(
    transport: Transport,
    registry: str,
    url: str,
    key: str,
    *,
    what: str,
    scopes: Iterable[str],
    page_size: int | None = None,
) -> list[str]:
    """Collect the ``key`` list of every page starting at ``url``."""
    if page_size is not None:
        url += "?" + urlencode({"n": page_size})
    scopes = tuple(scopes)
    out: list[str] = []
    seen: set[str] = set()
    next_url: str | None = url
    while next_url is not None and next_url not in seen and len(seen) < _MAX_PAGES:
        seen.add(next_url)
        response = await transport.request(registry, "GET", next_url, what=what, scopes=scopes)
        try:
            data = json.loads(response.body)
        except (ValueError, UnicodeDecodeError):
            data = None
        if not isinstance(data, dict):
            raise ResponseError(
                f"{what}: {registry} answered with something other than a JSON object",
                status=response.status,
                registry=registry,
                url=next_url,
            )
        out.extend(str(item) for item in data.get(key) or ())
        next_url = next_link(response.headers.getall("Link", ()), response.url)
    return out
