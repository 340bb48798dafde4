"""`GET /healthz`: the database answers a query and, when one is wired, the dialogue engine is reachable.

200 when every check passes, 503 otherwise, with each check's result in the body (no secrets, no addresses).
A deployment with no dialogue engine configured is healthy: messages then go to officers by design.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from accord.bootstrap import Container
from bot.channels.registry import describe_channels
from bot.dialogue import NoDialogueEngine
from web.deps import ContainerDep

log = structlog.get_logger("accord.health")
router = APIRouter(tags=["operations"])


def check_database(container: Container) -> dict[str, Any]:
    try:
        with container.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        log.warning("health.database_failed", error=exc.__class__.__name__)
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "backend": container.engine.dialect.name}


def check_dialogue(container: Container) -> dict[str, Any]:
    engine = container.extras.get("dialogue")
    if engine is None or isinstance(engine, NoDialogueEngine):
        return {"ok": True, "status": "not_configured"}
    try:
        healthy = bool(engine.healthy())
    except Exception as exc:
        log.warning("health.dialogue_failed", error=exc.__class__.__name__)
        return {"ok": False, "status": "unreachable", "error": exc.__class__.__name__}
    return {"ok": healthy, "status": "reachable" if healthy else "unreachable"}


@router.get("/healthz")
def healthz(container: ContainerDep) -> JSONResponse:
    checks = {"database": check_database(container), "dialogue": check_dialogue(container)}
    ok = all(check["ok"] for check in checks.values())
    body = {
        "status": "ok" if ok else "unavailable",
        "checks": checks,
        "channels": describe_channels(container.extras.get("channels", {})),
    }
    return JSONResponse(body, status_code=200 if ok else 503)
