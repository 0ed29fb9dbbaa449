#!/bin/sh
# Install the gateway's configuration into an nginx configuration directory (default /etc/nginx):
# our nginx.conf (it replaces the distribution's, and with it the default site) and the TMS site
# in conf.d/tms.conf, with these addresses filled in (defaults: everything on this host):
#   TMS_LISTEN            the gateway's address or port          (80)
#   TMS_WEB_UPSTREAM      the page server                        (127.0.0.1:8000)
#   TMS_SOCKETS_UPSTREAM  the socket server                      (127.0.0.1:8001)
#   TMS_STATIC_ROOT       app/static of this checkout, with a trailing slash
#   TMS_ACCESS_LOG        where requests are logged              (/var/log/nginx/access.log)
# Then check and (re)load nginx: `nginx -t && nginx -s reload` (or start it).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
target=${1:-/etc/nginx}
listen=${TMS_LISTEN:-80}
web=${TMS_WEB_UPSTREAM:-127.0.0.1:8000}
sockets=${TMS_SOCKETS_UPSTREAM:-127.0.0.1:8001}
static=${TMS_STATIC_ROOT:-$(cd "$here/../.." && pwd)/app/static/}
access_log=${TMS_ACCESS_LOG:-/var/log/nginx/access.log}

mkdir -p "$target/conf.d"
if [ "$target/nginx.conf" != "$here/nginx.conf" ]; then cp "$here/nginx.conf" "$target/nginx.conf"; fi
[ -f "$target/mime.types" ] || cp /etc/nginx/mime.types "$target/mime.types"
sed -e "s|\${TMS_LISTEN}|$listen|g" \
    -e "s|\${TMS_WEB_UPSTREAM}|$web|g" \
    -e "s|\${TMS_SOCKETS_UPSTREAM}|$sockets|g" \
    -e "s|\${TMS_STATIC_ROOT}|$static|g" \
    -e "s|\${TMS_ACCESS_LOG}|$access_log|g" \
    "$here/tms.conf.template" > "$target/conf.d/tms.conf"
if grep -q '\${TMS_' "$target/conf.d/tms.conf"; then
  echo "install.sh: a placeholder was left unfilled in $target/conf.d/tms.conf" >&2
  exit 1
fi
echo "gateway: $target/nginx.conf and $target/conf.d/tms.conf (listen $listen; pages $web; sockets $sockets)"
