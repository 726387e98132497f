# One image for both roles:  docker run IMAGE worker  |  docker run -p 8000:8000 IMAGE api
# Production configuration comes from environment variables only (see infra/README.md);
# temporal-dev.yaml is the dev stack's file and is deliberately not in the image.

# ---- build: install the project (not editable) into a virtualenv -------------------------------
FROM python:3.11.13-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# Dependencies first (read from pyproject.toml), so a code-only change reuses this layer.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install --requirement /tmp/requirements.txt

# The top-level packages listed in pyproject.toml ([tool.setuptools.packages.find]).
COPY boardroom ./boardroom
COPY domain ./domain
COPY workflows ./workflows
COPY activities ./activities
COPY approvals ./approvals
COPY api ./api
COPY workers ./workers
COPY store ./store
COPY bench ./bench
RUN pip install --no-deps . \
    && pip check \
    && boardroom --help > /dev/null

# The probe used by HEALTHCHECK, Compose and Kubernetes; it runs on the virtualenv's python.
COPY infra/docker/boardroom_healthcheck.py /tmp/boardroom_healthcheck.py
RUN install -m 0755 /tmp/boardroom_healthcheck.py /opt/venv/bin/boardroom-healthcheck

# ---- runtime -----------------------------------------------------------------------------------
FROM python:3.11.13-slim-bookworm AS runtime

LABEL org.opencontainers.image.title="boardroom" \
      org.opencontainers.image.description="Boardroom worker and API: ENTRYPOINT boardroom, CMD worker or api"

# git: without GITHUB_TOKEN, launch publishes to a local git repository in the data directory.
RUN apt-get update \
    && apt-get install --yes --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 boardroom \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --shell /usr/sbin/nologin boardroom \
    && mkdir -p /app/.data \
    && chown -R 10001:10001 /app

COPY --from=build /opt/venv /opt/venv

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    BOARDROOM_ENV=production \
    BOARDROOM_API_HOST=0.0.0.0 \
    BOARDROOM_API_PORT=8000

WORKDIR /app
# Numeric, so Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
EXPOSE 8000

# Liveness of whichever role runs: the API's /healthz, or a live `boardroom worker` process.
# Compose and Kubernetes call `boardroom-healthcheck api|worker --ready` for readiness.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["boardroom-healthcheck"]

# SIGTERM (docker stop, Kubernetes) stops polling and gives running activities
# BOARDROOM_GRACEFUL_SHUTDOWN_S to finish: keep the stop grace period longer than that.
STOPSIGNAL SIGTERM
ENTRYPOINT ["boardroom"]
CMD ["worker"]
