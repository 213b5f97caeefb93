# zvk-ingest service image: `zvk serve` as a non-root user, all state in the /data volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    ZVK_HOME=/data \
    ZVK_SFTP__HOST=0.0.0.0 \
    ZVK_PORTAL__HOST=0.0.0.0 \
    MPLCONFIGDIR=/tmp/zvk-matplotlib
# MPLCONFIGDIR: matplotlib (the evaluations' charts) keeps its cache outside the volume, which
# holds the fund's data only; the user's home would be /data.

# DejaVu: the fonts of the portal's application form (PDF)
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system zvk && useradd --system --gid zvk --home-dir /data --no-create-home zvk

WORKDIR /src
COPY pyproject.toml README.md ./
COPY ingest ./ingest
COPY schemas ./schemas
COPY rules ./rules
COPY config ./config
RUN pip install . && rm -rf /src

RUN mkdir -p /data && chown zvk:zvk /data
VOLUME ["/data"]
USER zvk
WORKDIR /data
EXPOSE 2222 8080

# Healthy while the SFTP server answers with its SSH banner (zvk serve stops with exit status 2
# when a part of it cannot start, so a running container with a silent port is stuck).
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import socket; s = socket.create_connection(('127.0.0.1', 2222), 5); s.settimeout(5); assert s.recv(4) == b'SSH-'"]

# Create the home (idempotent), then serve; operators register members and senders with
# `docker exec <container> zvk members add …` / `zvk senders add …`.
# umask 077: the home holds personal data, every file in it is the zvk user's alone.
CMD ["sh", "-c", "umask 077 && zvk init && exec zvk serve"]
