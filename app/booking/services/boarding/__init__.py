"""Boarding at the bus door: a scan redeems a ticket exactly once, an offline phone's scans are
uploaded later, a mistaken scan can be undone for a short while, and passengers who did not come
are let go when the bus leaves their stop.

Exactly once without a lock on the trip: the scan is one conditional ``UPDATE tickets ... WHERE
boarded_at IS NULL AND status = 'paid' RETURNING``, so of two phones scanning the same ticket at
once the database lets one win and the other reads who did. Every scan, whatever it answered, is
kept in ``boarding_scans`` under the phone's own scan id, which makes uploads idempotent.

``scans`` boards (and undoes), ``manifest`` says who is aboard and packs a trip for a phone with
no signal, ``stops`` lets the bus leave a stop.
"""

from app.booking.services.boarding.manifest import Duplicate, Manifest, Passenger, StopManifest, manifest, offline_pack
from app.booking.services.boarding.scans import ScanAnswer, boarding_trip, may_board, scan, undo, upload
from app.booking.services.boarding.stops import depart_stop

__all__ = [
    "Duplicate",
    "Manifest",
    "Passenger",
    "ScanAnswer",
    "StopManifest",
    "boarding_trip",
    "depart_stop",
    "manifest",
    "may_board",
    "offline_pack",
    "scan",
    "undo",
    "upload",
]
