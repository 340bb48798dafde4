"""Render a console page: the translator, the CSRF token and the user go into every template."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.responses import Response

from web.console import i18n
from web.console.context import ConsoleContext
from web.console.deps import CurrentUser, get_session_data, language_of
from web.console.formatting import money_text
from web.console.roles import Perm

# Scripts and styles only from our own origin: even if some text slipped through unescaped, it could not run.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


def render(request: Request, ctx: ConsoleContext, template: str, user: CurrentUser | None,
           status_code: int = 200, **context: Any) -> Response:
    data = get_session_data(request, ctx)
    lang = language_of(request, user)

    def t(key: str, **params: object) -> str:
        return i18n.translate(lang, key, **params)

    response = ctx.templates.TemplateResponse(
        request,
        f"console/{template}",
        {"t": t, "lang": lang, "user": user, "csrf_token": data.csrf, "Perm": Perm, "money": money_text,
         "poll_seconds": ctx.config.poll_seconds, **context},
        status_code=status_code,
    )
    if getattr(request.state, "console_session_new", False):
        ctx.codec.write(response, data)
    response.headers["Cache-Control"] = "no-store"  # pages carry personal data
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response
