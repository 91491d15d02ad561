# The harness in its own image, for docker-compose.yml: the embedded cloud (moto), the load balancer
# and the control loops in one process; tasks run as sibling containers through the mounted Docker
# socket (host networking, 127.0.0.1 only).
#
# No registry is reachable here, so docker-compose.yml builds this FROM the offline Debian base
# `harness/base:bookworm-python3` (`harness image base`: debootstrap + `docker import`). On a machine
# that can pull, `BASE_IMAGE=python:3.11-slim` works as well. Python packages come from PyPI, so the
# build needs the host's network (`build: network: host`: dockerd runs with --bridge=none).
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

# PEM text of extra CA certificates for the build's HTTPS (a TLS-inspecting proxy in front of PyPI).
# Certificates are public material; nothing secret belongs here.
ARG EXTRA_CA_CERTS=""
ENV DEBIAN_FRONTEND=noninteractive PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore

# The debootstrap base is Debian's python3 only: add venv (pip) and the CA bundle from Debian's mirror.
# python:*-slim already has both, and then nothing is installed.
RUN set -eu; \
    need=""; \
    python3 -c "import ensurepip, venv" 2>/dev/null || need="python3-venv"; \
    [ -f /etc/ssl/certs/ca-certificates.crt ] || need="$need ca-certificates"; \
    if [ -n "$need" ]; then \
      apt-get update -qq; \
      apt-get install -y -qq --no-install-recommends $need >/dev/null; \
      rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb; \
    fi; \
    if [ -n "$EXTRA_CA_CERTS" ]; then \
      printf '%s\n' "$EXTRA_CA_CERTS" > /usr/local/share/ca-certificates/harness-build-extra.crt; \
      update-ca-certificates >/dev/null; \
    fi; \
    python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PIP_CERT=/etc/ssl/certs/ca-certificates.crt

# Dependencies first (their own layer: a code change does not re-download them), read from the
# project's pyproject.toml so the list lives in one place; the build backend too, so the install of
# the code below needs no download.
WORKDIR /opt/harness
COPY pyproject.toml ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb')); \
print('\n'.join(p['build-system']['requires'] + p['project']['dependencies']))" \
      > /tmp/requirements.txt \
 && pip install -q -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# The code. An editable install keeps sample_app/Dockerfile and infrastructure/ next to the package,
# where the harness looks for them (it builds the task image through the mounted socket).
COPY README.md setup.py ./
COPY harness ./harness
COPY sample_app ./sample_app
COPY infrastructure ./infrastructure
COPY loadtests ./loadtests
RUN pip install -q --no-deps --no-build-isolation -e . \
 && find /opt/harness -name __pycache__ -prune -exec rm -rf {} + \
 && harness --help >/dev/null

# State and mailbox (docker-compose.yml mounts a host folder here).
ENV HARNESS_HOME=/var/lib/harness
ENTRYPOINT ["harness"]
CMD ["up", "--runtime", "docker"]
