"""Signed session cookies and CSRF tokens.

The cookie holds only the user id, the account's session epoch and a random CSRF token, signed with
ACCORD_SECRET_KEY (itsdangerous, timestamped). Logging out bumps the epoch, so a copied cookie dies with it.
Visitors who are not logged in get the same cookie without a user, so the login form has a CSRF token too.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

COOKIE = "accord_console"
LANG_COOKIE = "accord_lang"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True)
class SessionData:
    csrf: str
    user_id: int | None = None
    epoch: int = 0


class SessionCodec:
    def __init__(self, secret: str, max_age_seconds: int, secure: bool) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="accord.console.session")
        self.max_age = max_age_seconds
        self.secure = secure

    def read(self, request: Request) -> SessionData | None:
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            data = self._serializer.loads(raw, max_age=self.max_age)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("c"), str):
            return None
        return SessionData(csrf=data["c"], user_id=data.get("u"), epoch=int(data.get("e", 0)))

    def write(self, response: Response, data: SessionData) -> None:
        payload = {"c": data.csrf, "u": data.user_id, "e": data.epoch}
        response.set_cookie(COOKIE, self._serializer.dumps(payload), max_age=self.max_age, httponly=True,
                            samesite="lax", secure=self.secure, path="/console")

    def clear(self, response: Response) -> None:
        response.delete_cookie(COOKIE, path="/console", httponly=True, samesite="lax", secure=self.secure)


def new_csrf() -> str:
    return secrets.token_urlsafe(32)


def csrf_matches(expected: str, offered: str | None) -> bool:
    return bool(offered) and hmac.compare_digest(expected.encode(), str(offered).encode())
