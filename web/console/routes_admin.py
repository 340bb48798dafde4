"""Account administration: the list of console users (accounts are added with `accord users add`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select

from storage.db import transaction
from storage.tables import ConsoleUser
from web.console.deps import Ctx, CurrentUser, require
from web.console.render import render
from web.console.roles import Perm

router = APIRouter(prefix="/admin")
Admin = Annotated[CurrentUser, Depends(require(Perm.USERS))]


@router.get("/users")
def users_page(request: Request, ctx: Ctx, user: Admin) -> Response:
    with transaction(ctx.container.session_factory) as s:
        users = list(s.scalars(select(ConsoleUser).order_by(ConsoleUser.username)))
    return render(request, ctx, "users.html", user, active="users", users=users)
