# OpenSpace: one image for SQLite (a volume on /app/data) or PostgreSQL (DATABASE_URL).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    OPENSPACE_ENVIRONMENT=production

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY templates ./templates
COPY static ./static
COPY migrations ./migrations
RUN pip install -e . && useradd --create-home openspace && mkdir -p /app/data \
    && chown openspace /app/data
USER openspace

EXPOSE 8000
VOLUME ["/app/data"]
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
# One worker on SQLite (live updates travel between processes through PostgreSQL only);
# four on PostgreSQL unless OPENSPACE_WORKERS says otherwise.
CMD ["sh", "-c", "if [ -n \"$DATABASE_URL$OPENSPACE_DATABASE_URL\" ]; then w=4; else w=1; fi; openspace serve --host 0.0.0.0 --port 8000 --workers ${OPENSPACE_WORKERS:-$w}"]
