"""Logging in and out.

The login form is itself protected against CSRF: the login page sets an
anonymous session (no user name) whose token the form must echo, so another
site cannot log a browser into an account of its choosing. Failed logins are
rate-limited per client address and per user name (429 with Retry-After).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from imageferry.web.console import Console, console_of
from imageferry.web.security import principal_of, session_of
from imageferry.web.sessions import COOKIE_NAME, Session, tokens_match

__all__ = ["router", "set_session_cookie"]

router = APIRouter(include_in_schema=False)

ConsoleDep = Annotated[Console, Depends(console_of)]


def set_session_cookie(request: Request, response: Response, console: Console, s: Session) -> None:
    response.set_cookie(
        COOKIE_NAME,
        console.codec.dumps(s),
        max_age=console.codec.max_age,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def _safe_next(target: str) -> str:
    # Only local paths: never bounce a fresh login to another site.
    return target if target.startswith("/") and not target.startswith("//") else "/tasks"


def _login_page(
    request: Request, console: Console, next_url: str, error: str = "", status: int = 200
) -> HTMLResponse:
    anonymous = session_of(request, console)
    if anonymous is None:
        anonymous = console.codec.new("")
    response = console.templates.TemplateResponse(
        request,
        "login.html",
        {"csrf": anonymous.csrf, "next": next_url, "error": error, "user": None},
        status_code=status,
    )
    set_session_cookie(request, response, console, anonymous)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, console: ConsoleDep, next: str = "/tasks") -> Response:
    if principal_of(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_page(request, console, _safe_next(next))


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    console: ConsoleDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/tasks",
) -> Response:
    target = _safe_next(next)
    current = session_of(request, console)
    if current is None or not tokens_match(current.csrf, csrf_token):
        return _login_page(request, console, target, "Your login form expired; try again.", 403)
    client = request.client.host if request.client else "unknown"
    keys = (f"ip:{client}", f"user:{username.lower()}")
    wait = console.limiter.retry_after(*keys)
    if wait:
        response = _login_page(
            request, console, target, f"Too many failed logins; try again in {wait} s.", 429
        )
        response.headers["Retry-After"] = str(wait)
        return response
    user = console.accounts.verify_password(username, password)
    if user is None:
        console.limiter.failed(*keys)
        return _login_page(request, console, target, "Wrong user name or password.", 401)
    console.limiter.succeeded(*keys)
    redirect = RedirectResponse(target, status_code=303)
    # A fresh session (and CSRF token) at login: nothing from before carries over.
    set_session_cookie(request, redirect, console, console.codec.new(user.username))
    return redirect


@router.post("/logout")
async def logout(request: Request, console: ConsoleDep) -> Response:
    principal = principal_of(request)
    form = await request.form()
    given = form.get("csrf_token")
    if principal is not None and tokens_match(
        principal.csrf, given if isinstance(given, str) else ""
    ):
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE_NAME, path="/")
        return response
    return RedirectResponse("/tasks", status_code=303)
