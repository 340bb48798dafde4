"""The officer desk and compliance review console, served under /console.

`mount(app, container)` is the one call the web app makes (web/app.py lists this package): it adds the routes
and the handlers that turn "not logged in" into a redirect and "not allowed" into a 403 page.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from accord.bootstrap import Container
from web.console.context import build_context
from web.console.deps import Forbidden, LoginRequired, csrf_guard


def build_router() -> APIRouter:
    from web.console.routes_admin import router as admin
    from web.console.routes_auth import router as auth
    from web.console.routes_desk import router as desk
    from web.console.routes_protection import router as protection
    from web.console.routes_review import router as review
    from web.console.routes_templates import router as templates

    router = APIRouter(prefix="/console", dependencies=[Depends(csrf_guard)], include_in_schema=False)
    for part in (auth, desk, protection, review, templates, admin):
        router.include_router(part)
    return router


def mount(app: FastAPI, container: Container) -> None:
    app.state.console = build_context(container)
    app.include_router(build_router())
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(Forbidden, _forbidden)


async def _login_required(request: Request, _exc: Exception) -> Response:
    if request.headers.get("hx-request"):
        return Response(status_code=401, headers={"HX-Redirect": "/console/login"})
    return RedirectResponse("/console/login", status_code=303)


async def _forbidden(request: Request, exc: Exception) -> Response:
    from web.console.render import render

    assert isinstance(exc, Forbidden)
    return render(request, request.app.state.console, "forbidden.html", exc.user, status_code=403)
