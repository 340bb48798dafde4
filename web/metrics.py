"""`GET /metrics`: the container's Prometheus registry (outbox depth is counted at scrape time)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST

from accord.metrics import metrics_for
from web.deps import ContainerDep

router = APIRouter(tags=["operations"])


@router.get("/metrics")
def metrics(container: ContainerDep) -> Response:
    return Response(metrics_for(container).render(), media_type=CONTENT_TYPE_LATEST)
