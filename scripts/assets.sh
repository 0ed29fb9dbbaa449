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
# jsQR reads QR codes from camera frames on the driver's phone where the browser has no
# BarcodeDetector; plain JavaScript, so the CSP needs no WebAssembly allowance.
cp node_modules/jsqr/dist/jsQR.js "$vendor/jsQR.js"
# axe-core, a development package, checks the pages' accessibility in the browser tests
# (tests/e2e/test_every_page.py); it is never served, so it goes beside the tests.
if [ -f node_modules/axe-core/axe.min.js ]; then
  mkdir -p tests/e2e/vendor
  cp node_modules/axe-core/axe.min.js tests/e2e/vendor/axe.min.js
fi
echo "assets: $(ls "$vendor" | tr '\n' ' ')"
