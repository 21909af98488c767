# One image recipe for every workspace member: the gateway or any capability server.
#   docker build --build-arg PACKAGE=sophia-gateway --build-arg MODULE=sophia.gateway -t sophia-gateway .
#   docker build --build-arg PACKAGE=sophia-memory  --build-arg MODULE=sophia.memory  -t sophia-memory .
#   docker build --build-arg PACKAGE=sophia-code --build-arg MODULE=sophia.code --build-arg APT_PACKAGES=git -t sophia-code .
# Each image installs only its own package's dependencies (`uv sync --package`), plus any system
# packages it names (the code service runs git) and, for the infra service, the Pulumi CLI
# (--build-arg PULUMI_VERSION=3.272.0: unpacked to /opt/pulumi, SOPHIA_INFRA_PULUMI_ROOT points there).
FROM python:3.11-slim AS build
ARG PACKAGE=sophia-gateway
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /app
COPY pyproject.toml uv.lock ./
COPY services ./services
COPY gateway ./gateway
COPY deploy ./deploy
# PACKAGE may name several members (the infra image adds sophia-deploy, the program it runs).
RUN uv sync --frozen --no-dev --no-editable $(for p in $PACKAGE; do printf -- "--package %s " "$p"; done)

FROM python:3.11-slim
ARG MODULE=sophia.gateway
ARG APT_PACKAGES=""
ARG PULUMI_VERSION=""
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1 SOPHIA_MODULE=$MODULE
RUN if [ -n "$APT_PACKAGES" ]; then \
      apt-get update && apt-get install -y --no-install-recommends $APT_PACKAGES && rm -rf /var/lib/apt/lists/*; \
    fi
RUN if [ -n "$PULUMI_VERSION" ]; then \
      python -c "import sys, tarfile, urllib.request; \
url = f'https://get.pulumi.com/releases/sdk/pulumi-v{sys.argv[1]}-linux-x64.tar.gz'; \
tarfile.open(fileobj=urllib.request.urlopen(url), mode='r|gz').extractall('/opt', filter='data')" "$PULUMI_VERSION" \
      && mv /opt/pulumi /opt/pulumi-dist && mkdir -p /opt/pulumi && mv /opt/pulumi-dist /opt/pulumi/bin; \
    fi
RUN useradd --system --uid 10001 --home /app sophia
COPY --from=build --chown=sophia /app/.venv /app/.venv
# The fleet's Pulumi program: the infra service's default project (SOPHIA_INFRA_PROJECTS=/app/deploy).
COPY --from=build --chown=sophia /app/deploy /app/deploy
USER 10001
WORKDIR /app
EXPOSE 8080 8000 50051
CMD ["sh", "-c", "exec python -m \"$SOPHIA_MODULE\""]
