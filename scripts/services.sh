#!/bin/sh
# Make sure PostgreSQL, Redis, nginx and Chromium are there for the test suite: install them with apt
# when missing (only as root), start the databases when stopped, and create the `tms` database role
# tests use. nginx is not started here: the tests run it as the gateway with our own configuration.
set -eu

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else echo "services: need root to run: $*" >&2; return 1; fi
}

missing=""
command -v pg_ctlcluster >/dev/null 2>&1 || missing="$missing postgresql"
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || missing="$missing nginx"
[ -x /usr/bin/chromium ] || missing="$missing chromium"
if [ -n "$missing" ]; then
  echo "services: installing$missing"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq $missing fonts-liberation >/dev/null
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "services: starting PostgreSQL"
  version=$(ls /etc/postgresql | sort -n | tail -n 1)
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "services: starting Redis"
  mkdir -p /tmp/tms-redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no --dir /tmp/tms-redis \
    --logfile /tmp/tms-redis/redis.log
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
fi

# The tests connect as role `tms`. Create it through whichever door is open: TCP as postgres
# (trust auth) or the local socket as the postgres system user (peer auth, a fresh install).
role_sql="DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tms') THEN
  CREATE ROLE tms LOGIN SUPERUSER PASSWORD 'tms'; END IF; END \$\$;"
if ! psql -qtA -h 127.0.0.1 -U postgres -d postgres -c "$role_sql" >/dev/null 2>&1; then
  as_root runuser -u postgres -- psql -qtA -d postgres -c "$role_sql" >/dev/null
fi
echo "services: PostgreSQL, Redis, nginx and Chromium ready"
