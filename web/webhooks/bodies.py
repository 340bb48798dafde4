"""Reading provider bodies defensively: a size limit, strict UTF-8, and errors that say what was wrong."""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import HTTPException, Request
from starlette.datastructures import FormData, UploadFile

MAX_BODY_BYTES = 64 * 1024  # a Twilio SMS webhook is ~1 KB (1,600 characters at most); a Telegram update a few KB
MAX_FORM_FIELDS = 200


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise HTTPException(400, "Content-Length is not a number")
        if int(declared) > limit:
            raise HTTPException(413, f"body larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:  # a chunked body has no Content-Length to check up front
            raise HTTPException(413, f"body larger than {limit} bytes")
    return bytes(body)


def parse_form(request: Request, body: bytes) -> FormData:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise HTTPException(415, "expected application/x-www-form-urlencoded")
    try:
        text = body.decode("utf-8")
        pairs: list[tuple[str, str | UploadFile]] = list(parse_qsl(
            text, keep_blank_values=True, encoding="utf-8", errors="strict", max_num_fields=MAX_FORM_FIELDS))
    except UnicodeDecodeError as exc:
        raise HTTPException(400, "body is not valid UTF-8") from exc
    except ValueError as exc:
        raise HTTPException(400, f"malformed form body: {exc}") from exc
    return FormData(pairs)


def decode_text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HTTPException(400, "body is not valid UTF-8") from exc
