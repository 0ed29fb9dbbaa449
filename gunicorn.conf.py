"""gunicorn settings: ``gunicorn -c gunicorn.conf.py wsgi:app``. Environment variables override."""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# The embedded default keeps Redis inside the process: more than one worker would split it. With
# Redis, one process per core and one more, so a request waiting on the database or the trip's lock
# never leaves a core idle (on 2 cores, 3 workers booked 20 % more than 2 in bench/booking.py).
workers = int(os.environ.get("WEB_CONCURRENCY", str((os.cpu_count() or 1) + 1) if os.environ.get("REDIS_URL") else "1"))
worker_class = "gthread"
# Every open websocket holds a thread, so threads bound the live sockets per worker. Connections
# are sized with them: twice the threads leaves room for idle keep-alive connections without
# accepting far more sockets than the threads can ever serve (gunicorn's default is 1000).
threads = int(os.environ.get("GUNICORN_THREADS", "32"))
worker_connections = threads * 2
timeout = 60
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "10"))
keepalive = 5
control_socket_disable = True
accesslog = "-"
errorlog = "-"
