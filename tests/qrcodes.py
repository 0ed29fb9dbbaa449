"""Reading QR codes the way a phone's scanner does, with zxing-cpp.

OpenCV's detector, used before, missed about one code in fifty that phones read at once, so a
test failed on some ticket codes and passed on others.
"""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image


def read_all(image: Image.Image | bytes) -> list[str]:
    """The text of every QR code in a picture (a PIL image or PNG bytes)."""
    if isinstance(image, bytes):
        image = Image.open(io.BytesIO(image))
    return [found.text for found in zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)]


def read(image: Image.Image | bytes) -> str:
    """The text of the one QR code in a picture; '' when there is none."""
    codes = read_all(image)
    assert len(codes) <= 1, f"{len(codes)} QR codes where one was expected"
    return codes[0] if codes else ""
