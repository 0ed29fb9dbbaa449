"""Limits of what a position fix may say, and how live state is kept."""

from __future__ import annotations

SOURCES = ("driver", "tracker")

# A fix may come this much ahead of our clock (phones' clocks drift) before it is "from the future".
FUTURE_TOLERANCE_SECONDS = 30

# GPS jitter between two close fixes is not speed: up to this much of the fixes' combined accuracy
# is forgiven before the speed between them is judged.
JITTER_ALLOWANCE_METRES = 100

# History is written to PostgreSQL in batches of at most this many fixes.
HISTORY_BATCH = 1000
# A batch is written as soon as this many fixes wait (and every minute by the scheduler).
HISTORY_FLUSH_AT = 200

# A live position outlives its last fix by this long in Redis (a bus that stops reporting fades).
LIVE_TTL_SECONDS = 6 * 3600

# Share links last until the trip ends, and never longer than this.
SHARE_LINK_MAX_HOURS = 24
