"""`/simulator`: a demo cardholder's phone. Pick a cardholder, read their SMS and Telegram threads side by side,
and reply; a reply becomes an InboundMessage in the same pipeline that real webhooks feed.

Not mounted in production: it shows cardholders' names and messages without a login and can speak for them.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

import jinja2
from fastapi import APIRouter, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from accord.bootstrap import Container
from accord.metrics import metrics_for
from bot.channels.registry import describe_channels
from bot.inbound import InboundMessage, InboundRejected, pipeline_for
from core.enums import Channel
from storage.tables import Cardholder, ContactPoint
from web.app import WEB_DIR
from web.deps import ContainerDep
from web.simulator_data import phone_threads, search_cardholders
from web.simulator_i18n import pick_language, translator

router = APIRouter(prefix="/simulator", tags=["simulator"])
templates = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.FileSystemLoader(WEB_DIR / "templates"),
        autoescape=True,  # every message text is cardholder- or template-supplied: escape it all
        undefined=jinja2.StrictUndefined,
    )
)


def mount(app: FastAPI, container: Container) -> None:
    if container.settings.accord_env == "production":
        return
    app.include_router(router)


def _thread_context(container: Container, cardholder: Cardholder, lang: str) -> dict[str, Any]:
    with container.session_factory() as session:
        threads = phone_threads(session, cardholder)
    adapters = describe_channels(container.extras.get("channels", {}))
    return {"threads": threads, "t": translator(lang), "adapters": adapters}


@router.get("", response_class=HTMLResponse)
def simulator_page(
    request: Request,
    container: ContainerDep,
    q: str = "",
    cardholder: int | None = None,
    lang: str | None = None,
) -> Response:
    language = pick_language(lang)
    with container.session_factory() as session:
        rows = search_cardholders(session, q[:100])
        selected = session.get(Cardholder, cardholder) if cardholder is not None else None
        if selected is not None:
            session.expunge(selected)
    context: dict[str, Any] = {
        "lang": language,
        "other_lang": "zh" if language == "en" else "en",
        "t": translator(language),
        "q": q,
        "rows": rows,
        "selected": selected,
        "selected_id": cardholder,
        "stage_label": lambda stage: _stage_label(container, stage, language),
        "poll_ms": 2000,
        "error": request.query_params.get("error"),
    }
    if selected is not None:
        context.update(_thread_context(container, selected, language))
    status = 404 if cardholder is not None and selected is None else 200
    return templates.TemplateResponse(request, "simulator/page.html", context, status_code=status)


@router.get("/cardholders/{cardholder_id}/threads")
def simulator_threads(request: Request, container: ContainerDep, cardholder_id: int, lang: str | None = None
                      ) -> JSONResponse:
    """Both threads as HTML fragments, for the page's 2-second refresh."""
    language = pick_language(lang)
    with container.session_factory() as session:
        holder = session.get(Cardholder, cardholder_id)
        if holder is None:
            raise HTTPException(404, "no such cardholder")
        session.expunge(holder)
    context = _thread_context(container, holder, language)
    fragment = templates.get_template("simulator/_thread.html")
    body = {
        channel.value: fragment.render(thread=thread, t=context["t"], adapters=context["adapters"])
        for channel, thread in context["threads"].items()
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.post("/cardholders/{cardholder_id}/reply")
def simulator_reply(
    request: Request,
    container: ContainerDep,
    cardholder_id: int,
    channel: Annotated[str, Form()],
    text: Annotated[str, Form()] = "",
    lang: Annotated[str, Form()] = "en",
) -> Response:
    _refuse_cross_site(request)
    wants_json = "application/json" in request.headers.get("accept", "")
    language = pick_language(lang)
    try:
        chosen = Channel(channel)
    except ValueError:
        return _fail(wants_json, cardholder_id, language, 422, f"channel: unknown channel {channel[:20]!r}")
    if not text.strip():
        return _fail(wants_json, cardholder_id, language, 422, translator(language)["error_empty"])
    with container.session_factory() as session:
        if session.get(Cardholder, cardholder_id) is None:
            raise HTTPException(404, "no such cardholder")
        point = session.query(ContactPoint).filter_by(cardholder_id=cardholder_id, channel=chosen.value).first()
        address = point.address if point else None
    if address is None:
        return _fail(wants_json, cardholder_id, language, 409, translator(language)["no_contact"])
    try:
        pipeline = pipeline_for(container)
    except RuntimeError as exc:
        return _fail(wants_json, cardholder_id, language, 503, str(exc))
    inbound = InboundMessage(
        channel=chosen,
        address=address,
        text=text,
        received_at=container.clock.now(),
        provider_message_id=f"SIM-{uuid.uuid4()}",
    )
    try:
        with metrics_for(container).time_webhook("simulator"):
            result = pipeline.receive(inbound)
    except InboundRejected as exc:
        return _fail(wants_json, cardholder_id, language, 422, str(exc))
    if wants_json:
        return JSONResponse({
            "outcome": result.outcome.value,
            "message_id": result.message_id,
            "replies": [r.status for r in result.replies],
        })
    return RedirectResponse(_page_url(cardholder_id, language), status_code=303)


def _stage_label(container: Container, stage: str | None, language: str) -> str:
    if not stage:
        return ""
    label = container.stages.label(stage, language)
    return translator(language).get(f"stage_{stage}", label) if label == stage else label


def _page_url(cardholder_id: int, lang: str, **extra: str) -> str:
    return "/simulator?" + urlencode({"cardholder": cardholder_id, "lang": lang, **extra})


def _fail(wants_json: bool, cardholder_id: int, lang: str, status: int, detail: str) -> Response:
    if wants_json:
        return JSONResponse({"detail": detail}, status_code=status)
    return RedirectResponse(_page_url(cardholder_id, lang, error=detail), status_code=303)


def _refuse_cross_site(request: Request) -> None:
    """Another site's page must not post replies on a cardholder's behalf through a developer's browser."""
    origin = request.headers.get("origin")
    if origin is not None:
        if urlsplit(origin).netloc != request.headers.get("host", ""):
            raise HTTPException(403, "cross-site post refused")
    elif request.headers.get("sec-fetch-site") == "cross-site":
        raise HTTPException(403, "cross-site post refused")
