# syntax=docker/dockerfile:1
# The tradestream worker image: `docker compose up --scale worker=3` runs several of these.
#
#   docker build -t tradestream .
#   docker run --rm tradestream tradestream --help

# --- build: a wheel of this package with the market hot path compiled by mypyc -------------
# (setup.py, TRADESTREAM_COMPILE=1: ~2.5x faster per message; the wheel keeps the .py sources,
# and an extension module is imported before a .py of the same name.) mypyc type-checks the
# package, so the build stage installs its dependencies and builds without isolation.
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY tradestream ./tradestream
RUN pip install '.[dev]' \
    && TRADESTREAM_COMPILE=1 pip wheel --no-deps --no-build-isolation --wheel-dir /wheels . \
    && python -c 'import zipfile, glob; names = zipfile.ZipFile(glob.glob("/wheels/*.whl")[0]).namelist(); assert any(n.endswith(".so") for n in names), "hot path not compiled"' 

# --- runtime ------------------------------------------------------------------------------
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# LightGBM's wheel links against the system OpenMP runtime, which the slim image lacks.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 --user-group tradestream

# Dependencies are resolved from PyPI here (all have manylinux wheels for CPython 3.11); the
# pip cache mount keeps rebuilds after a code change fast.
COPY --from=build /wheels /wheels
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install /wheels/*.whl && rm -rf /wheels

WORKDIR /app
COPY config ./config

USER tradestream
# Faust binds its web server to TRADESTREAM_WEB_HOST and advertises it to the other workers;
# docker-compose.yml sets it to the container's address at start.
ENV TRADESTREAM_CONFIG_DIR=/app/config \
    TRADESTREAM_WEB_PORT=6066
EXPOSE 6066
CMD ["tradestream", "worker"]
