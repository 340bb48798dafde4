"""Shared-secret authentication for the internal API: only Accord's own Rasa action server calls it."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, HTTPException, status

from web.deps import ContainerDep

TOKEN_HEADER = "X-Accord-Internal-Token"


def require_token(
    container: ContainerDep, token: Annotated[str | None, Header(alias=TOKEN_HEADER)] = None
) -> None:
    expected = container.settings.accord_internal_api_token.get_secret_value().encode()
    given = (token or "").encode()
    # compare_digest takes the same time whatever the first wrong byte is.
    if not token or not hmac.compare_digest(given, expected):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="missing or wrong internal API token")


Authenticated = Depends(require_token)
TokenDep = Annotated[None, Authenticated]
