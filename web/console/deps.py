"""FastAPI dependencies: the console context, the session, CSRF, the current user and permission checks.

Each protected route names one permission; `require(perm)` is the only way a route reaches a user object.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request

from storage.db import transaction
from storage.tables import ConsoleUser
from web.console import i18n
from web.console.context import ConsoleContext
from web.console.roles import Perm, allowed
from web.console.sessions import CSRF_FIELD, CSRF_HEADER, LANG_COOKIE, SessionData, csrf_matches, new_csrf

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass(frozen=True)
class CurrentUser:
    id: int
    username: str
    role: str
    language: str

    @property
    def actor(self) -> str:
        return f"user:{self.username}"

    def can(self, perm: Perm) -> bool:
        return allowed(self.role, perm)


class LoginRequired(Exception):
    """Raised for anonymous visitors; the app turns it into a redirect (or HX-Redirect for htmx)."""


class Forbidden(Exception):
    def __init__(self, user: CurrentUser, perm: Perm) -> None:
        super().__init__(perm.value)
        self.user, self.perm = user, perm


def get_ctx(request: Request) -> ConsoleContext:
    ctx: ConsoleContext = request.app.state.console
    return ctx


Ctx = Annotated[ConsoleContext, Depends(get_ctx)]


def get_session_data(request: Request, ctx: Ctx) -> SessionData:
    """The visitor's session, or a fresh anonymous one (render() then sets its cookie)."""
    cached: SessionData | None = getattr(request.state, "console_session", None)
    if cached is not None:
        return cached
    data = ctx.codec.read(request)
    if data is None:
        data = SessionData(csrf=new_csrf())
        request.state.console_session_new = True
    request.state.console_session = data
    return data


SessionDep = Annotated[SessionData, Depends(get_session_data)]


async def csrf_guard(request: Request, data: SessionDep) -> None:
    """Refuse every state-changing request whose token does not match the session's: 403, nothing done."""
    if request.method not in UNSAFE:
        return
    offered = request.headers.get(CSRF_HEADER)
    if not offered and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        offered = value if isinstance(value, str) else None
    if request.state.__dict__.get("console_session_new") or not csrf_matches(data.csrf, offered):
        raise HTTPException(status_code=403, detail="CSRF token missing or wrong; reload the page and try again")


def optional_user(request: Request, ctx: Ctx, data: SessionDep) -> CurrentUser | None:
    if data.user_id is None:
        return None
    with transaction(ctx.container.session_factory) as s:
        row = s.get(ConsoleUser, data.user_id)
        if row is None or not row.active or row.session_epoch != data.epoch:
            return None
        return CurrentUser(id=row.id, username=row.username, role=row.role, language=row.language)


MaybeUser = Annotated[CurrentUser | None, Depends(optional_user)]


def current_user(user: MaybeUser) -> CurrentUser:
    if user is None:
        raise LoginRequired()
    return user


def require(perm: Perm) -> Callable[..., CurrentUser]:
    def check(user: Annotated[CurrentUser, Depends(current_user)]) -> CurrentUser:
        if not user.can(perm):
            raise Forbidden(user, perm)
        return user

    return check


def language_of(request: Request, user: CurrentUser | None) -> str:
    if user is not None:
        return user.language
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in i18n.LANGUAGES:
        return cookie
    return i18n.from_accept_language(request.headers.get("accept-language", ""))


def db(ctx: ConsoleContext) -> Any:
    """One unit of work for a console action (commits on success)."""
    return transaction(ctx.container.session_factory)
