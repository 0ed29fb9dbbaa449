#!/bin/sh
# Copy the front-end libraries installed by `npm ci` into app/static/vendor/ (not committed).
set -eu
cd "$(dirname "$0")/.."
vendor=app/static/vendor
mkdir -p "$vendor"
cp node_modules/htmx.org/dist/htmx.min.js "$vendor/htmx.min.js"
# Leaflet finds its marker images at images/ beside leaflet.css.
mkdir -p "$vendor/leaflet/images"
cp node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css "$vendor/leaflet/"
cp node_modules/leaflet/dist/images/*.png "$vendor/leaflet/images/"
echo "assets: $(ls "$vendor" | tr '\n' ' ')"
