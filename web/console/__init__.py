"""The officer desk and compliance review console, served under /console.

`mount(app, container)` is the one call the web app makes (web/app.py lists this package): it adds the routes
and the handlers that turn "not logged in" into a redirect and "not allowed" into a 403 page.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from accord.bootstrap import Container
from web.console.context import build_context
from web.console.deps import Forbidden, LoginRequired, csrf_guard


def build_router() -> Any:
    from fastapi import APIRouter

    from web.console import routes_admin, routes_auth, routes_desk, routes_review, routes_templates

    router = APIRouter(prefix="/console", dependencies=[Depends(csrf_guard)], include_in_schema=False)
    for module in (routes_auth, routes_desk, routes_review, routes_templates, routes_admin):
        router.include_router(module.router)
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
