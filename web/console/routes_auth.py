"""Login, logout and the language switch."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.exc import IntegrityError

from storage.db import transaction
from storage.tables import ConsoleUser
from web.console import audit_trail, i18n
from web.console.accounts import LoginResult, authenticate
from web.console.deps import Ctx, MaybeUser
from web.console.render import render
from web.console.roles import home_for
from web.console.sessions import LANG_COOKIE, SessionData, new_csrf

router = APIRouter()


def client_ip(request: Request) -> str:
    # Behind a proxy, uvicorn's --proxy-headers puts the forwarded address here; never trust raw headers.
    return request.client.host if request.client else "unknown"


@router.get("/", include_in_schema=False)
def home(user: MaybeUser) -> Response:
    return RedirectResponse(home_for(user.role) if user else "/console/login", status_code=303)


@router.get("/login")
def login_page(request: Request, ctx: Ctx, user: MaybeUser) -> Response:
    if user is not None:
        return RedirectResponse(home_for(user.role), status_code=303)
    return render(request, ctx, "login.html", None)


@router.post("/login")
def login(request: Request, ctx: Ctx, username: Annotated[str, Form()],
          password: Annotated[str, Form()]) -> Response:
    now = ctx.container.clock.now()
    username = username.strip().lower()
    try:
        return _login(request, ctx, username, password, now)
    except IntegrityError:  # a concurrent failure created the same throttle row first: count this one as failed
        return render(request, ctx, "login.html", None, status_code=401, error=("login.failed", {}),
                      username=username)


def _login(request: Request, ctx: Ctx, username: str, password: str, now: datetime) -> Response:
    with transaction(ctx.container.session_factory) as s:
        attempt = authenticate(s, username, password, client_ip(request), now, ctx.config.login_throttle)
        if attempt.result is LoginResult.OK and attempt.user is not None:
            user = attempt.user
            chosen = request.cookies.get(LANG_COOKIE)
            if chosen in i18n.LANGUAGES and chosen != user.language:
                user.language = chosen  # the language picked on the login page becomes the user's preference
            audit_trail.record(s, f"user:{user.username}", "login", "console_user", user.id, now)
            target = home_for(user.role)
            session = SessionData(csrf=new_csrf(), user_id=user.id, epoch=user.session_epoch)
        else:
            audit_trail.record(s, "anonymous", "login_failed", "console_user", username[:64], now,
                               result=attempt.result.value, ip=client_ip(request))
    if attempt.result is LoginResult.OK:
        response = RedirectResponse(target, status_code=303)
        ctx.codec.write(response, session)
        return response
    error = ("login.locked", {"until": f"{attempt.locked_until:%H:%M}"}) if attempt.locked_until else (
        "login.failed", {})
    status = 429 if attempt.result is LoginResult.LOCKED else 401
    return render(request, ctx, "login.html", None, status_code=status, error=error, username=username)


@router.post("/logout")
def logout(ctx: Ctx, user: MaybeUser) -> Response:
    response = RedirectResponse("/console/login", status_code=303)
    if user is not None:
        now = ctx.container.clock.now()
        with transaction(ctx.container.session_factory) as s:
            row = s.get(ConsoleUser, user.id)
            if row is not None:
                row.session_epoch += 1  # every copy of the cookie stops working
            audit_trail.record(s, user, "logout", "console_user", user.id, now)
    ctx.codec.clear(response)
    return response


@router.post("/language")
def switch_language(request: Request, ctx: Ctx, user: MaybeUser, language: Annotated[str, Form()],
                    next_url: Annotated[str, Form(alias="next")] = "/console") -> Response:
    if language not in i18n.LANGUAGES:
        language = "en"
    if not next_url.startswith("/console") or next_url.startswith("//"):
        next_url = "/console"  # never an open redirect
    if user is not None:
        with transaction(ctx.container.session_factory) as s:
            row = s.get(ConsoleUser, user.id)
            if row is not None:
                row.language = language
            audit_trail.record(s, user, "language", "console_user", user.id, ctx.container.clock.now(),
                               language=language)
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(LANG_COOKIE, language, max_age=365 * 86400, samesite="lax", httponly=True,
                        secure=ctx.codec.secure, path="/console")
    return response
