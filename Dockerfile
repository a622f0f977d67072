# imageferry's container image: `ferry` on Debian bookworm's python3 (3.11).
#
#   docker build -t imageferry .
#   docker run --rm imageferry copy SOURCE DESTINATION
#
# The builder stage makes a virtualenv holding this repository's wheel, built
# here, with its runtime dependencies and the postgres extra from PyPI. The final
# stage is bookworm-slim with python3 and CA certificates, that virtualenv and a
# non-root user: no compilers, no pip, no test extra, no docs, no caches.

FROM debian:bookworm-slim AS builder

# Optional, for a build behind a TLS-intercepting proxy or with a PyPI mirror:
# --build-arg PIP_CERT=/path/in/build/ca.crt (mounted with --volume),
# --build-arg PIP_INDEX_URL=https://mirror/simple. pip reads both from the environment.
ARG PIP_CERT
ARG PIP_INDEX_URL

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /build
COPY pyproject.toml README.md ./
COPY src ./src

# pip builds the wheel of ./ and installs it with its dependencies; then pip and
# setuptools leave the virtualenv, which needs neither to run ferry.
RUN python3 -m venv /opt/imageferry \
 && /opt/imageferry/bin/pip install --no-cache-dir --disable-pip-version-check -q \
      "./[postgres,celery]" \
 && /opt/imageferry/bin/pip uninstall -y -q pip setuptools \
 && /opt/imageferry/bin/ferry --help >/dev/null


FROM debian:bookworm-slim

LABEL org.opencontainers.image.title="imageferry" \
      org.opencontainers.image.description="Move container images between OCI registries: ferry copy, ferry task, ferry serve." \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="docker.io/library/debian:bookworm-slim"

# The runtime only: python3 and the trust store (registries over TLS). dpkg leaves
# out documentation, manual pages and translations, whatever the base configures.
RUN printf '%s\n' \
      'path-exclude=/usr/share/doc/*' \
      'path-include=/usr/share/doc/*/copyright' \
      'path-exclude=/usr/share/man/*' \
      'path-exclude=/usr/share/info/*' \
      'path-exclude=/usr/share/locale/*' \
      'path-exclude=/usr/share/lintian/*' \
      > /etc/dpkg/dpkg.cfg.d/imageferry-nodoc \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      python3 ca-certificates \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \
 && useradd --uid 10001 --user-group --create-home --home-dir /home/ferry \
      --shell /usr/sbin/nologin ferry \
 && install -d -o ferry -g ferry -m 0700 /var/lib/imageferry

COPY --from=builder /opt/imageferry /opt/imageferry

# FERRY_DATA_DIR holds the SQLite store, the local secret store and run logs;
# mount a volume there to keep them. `ferry serve` listens on every interface of
# the container (its network namespace), port 8080.
ENV PATH=/opt/imageferry/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    FERRY_DATA_DIR=/var/lib/imageferry \
    FERRY_HOST=0.0.0.0 \
    PYTHONUNBUFFERED=1

USER 10001:10001
WORKDIR /var/lib/imageferry
EXPOSE 8080
ENTRYPOINT ["ferry"]
CMD ["--help"]
