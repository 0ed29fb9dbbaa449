# syntax=docker/dockerfile:1
# Two stages: npm fetches the pinned front-end libraries; the Python stage runs the app as a
# non-root user under gunicorn. Build: `docker build -t tms .`; run the whole stack with compose.
# One image for every process: the page server (the default command), the socket server
# (TMS_SERVER=sockets on port 8001), the worker and the scheduler (`python worker.py [--cron]`).

FROM node:20-bookworm-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY scripts/assets.sh scripts/assets.sh
RUN mkdir -p app/static && sh scripts/assets.sh

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TMS_ENV=production \
    GUNICORN_BIND=0.0.0.0:8000
RUN groupadd --system tms && useradd --system --gid tms --home-dir /srv/tms --shell /usr/sbin/nologin tms
WORKDIR /srv/tms
COPY requirements.txt ./
RUN pip install -r requirements.txt
COPY --chown=tms:tms . .
COPY --from=assets --chown=tms:tms /src/app/static/vendor app/static/vendor
RUN pybabel -q compile -d app/translations
RUN mkdir -p instance /srv/static && chown tms:tms instance /srv/static
USER tms
EXPOSE 8000 8001
# Asks whichever server this container runs, on the port it binds.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import os,sys,urllib.request; port = os.environ['GUNICORN_BIND'].rsplit(':', 1)[1]; sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=2).status == 200 else 1)"
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
