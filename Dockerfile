# zvk-ingest service image: `zvk serve` as a non-root user, all state in the /data volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    ZVK_HOME=/data \
    ZVK_SFTP__HOST=0.0.0.0

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
EXPOSE 2222

# Create the home (idempotent), then serve; operators register members and senders with
# `docker exec <container> zvk members add …` / `zvk senders add …`.
# umask 077: the home holds personal data, every file in it is the zvk user's alone.
CMD ["sh", "-c", "umask 077 && zvk init && exec zvk serve"]
