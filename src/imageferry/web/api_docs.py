"""``/docs``: the JSON API's interactive documentation (Swagger UI), served from here.

FastAPI's own ``/docs`` page loads Swagger UI from a CDN and starts it with an
inline script; the console fetches nothing from the internet and allows no
inline script. So Swagger UI's files come from the ``fastapi-offline``
package (a declared dependency that ships them), mounted under
``/docs-assets``, and the page starts it with ``/static/api-docs.js``.
Requests made with "Try it out" carry the session's CSRF token, like the
console's own.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from imageferry.web.console import Console, console_of
from imageferry.web.security import Principal, page_user

__all__ = ["ASSETS_URL", "mount_docs", "router"]

#: Where Swagger UI's script and stylesheet are served.
ASSETS_URL = "/docs-assets"

router = APIRouter(include_in_schema=False)


def _swagger_ui_dir() -> Path:
    return Path(str(files("fastapi_offline").joinpath("static")))


@router.get("/docs", response_class=HTMLResponse)
def api_docs(
    request: Request,
    console: Annotated[Console, Depends(console_of)],
    user: Annotated[Principal, Depends(page_user)],
) -> HTMLResponse:
    return console.templates.TemplateResponse(
        request, "api_docs.html", {"user": user, "csrf": user.csrf, "assets": ASSETS_URL}
    )


def mount_docs(app: FastAPI) -> None:
    """Serve ``/docs`` and Swagger UI's files on ``app``."""
    app.include_router(router)
    app.mount(ASSETS_URL, StaticFiles(directory=str(_swagger_ui_dir())), name="docs-assets")
