"""What we tell people, on which channels, and how delivery records move."""

from __future__ import annotations

# Passenger messages first, then account emails (to staff and customers alike).
KINDS = (
    "ticket_issued",
    "payment_failed",
    "trip_delayed",
    "trip_cancelled",
    "bus_changed",
    "boarding_reminder",
    "ticket_link",
    "claim_code",
    "staff_invitation",
    "password_reset",
    "signup_confirmation",
    "signup_existing",
)
KIND_LABELS = {
    "ticket_issued": "Ticket issued",
    "payment_failed": "Payment failed",
    "trip_delayed": "Trip delayed",
    "trip_cancelled": "Trip cancelled",
    "bus_changed": "Bus changed",
    "boarding_reminder": "Boarding reminder",
    "ticket_link": "New ticket link",
    "claim_code": "Phone code",
    "staff_invitation": "Staff invitation",
    "password_reset": "Password reset",
    "signup_confirmation": "Sign-up confirmation",
    "signup_existing": "Sign-up with a known email",
}

# sms and email go out through a provider; inbox is the portal's bell, delivered on creation.
CHANNELS = ("sms", "email", "inbox")
CHANNEL_LABELS = {"sms": "SMS", "email": "Email", "inbox": "Portal"}

# queued → sending → sent; a temporary failure goes back to queued (with the next attempt's
# time) until the retries run out (gave_up); a permanent one ends in failed.
STATUSES = ("queued", "sending", "sent", "failed", "gave_up")
STATUS_LABELS = {
    "queued": "Queued",
    "sending": "Sending",
    "sent": "Sent",
    "failed": "Failed",
    "gave_up": "Gave up",
}
NEEDS_ATTENTION = ("failed", "gave_up")

# A send that has not finished after this long is presumed dead (its worker crashed) and may be
# taken over: a message is then sent at most twice, and only after a crash mid-send.
SENDING_LEASE_SECONDS = 300
