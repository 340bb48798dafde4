# One image for every Accord process: `accord serve` (web), `accord scheduler`, and one-off `accord db upgrade`.
# Build: docker build -t accord-app .     (docker compose builds it for you)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ACCORD_ENV=production \
    ACCORD_CONFIG_DIR=/app/config

WORKDIR /app

# Runtime dependencies only, at the exact versions in requirements.lock (used as constraints, so the lock's
# development tools are not installed). This layer is rebuilt only when the dependencies change.
COPY pyproject.toml requirements.lock README.md ./
RUN mkdir -p accord core storage compliance bot scheduler web \
    && pip install --constraint requirements.lock . \
    && pip uninstall --yes accord

COPY accord ./accord
COPY core ./core
COPY storage ./storage
COPY compliance ./compliance
COPY bot ./bot
COPY scheduler ./scheduler
COPY web ./web
COPY config ./config
# Editable install: the source stays in /app, so migrations, templates and config are found beside it.
RUN pip install --no-deps --editable . \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin accord \
    && mkdir -p /app/var && chown accord /app/var

USER accord
EXPOSE 8000
CMD ["accord", "serve", "--host", "0.0.0.0", "--port", "8000"]
