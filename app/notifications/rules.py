"""What we tell people, on which channels, and how delivery records move."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

# Passenger messages first, then account emails (to staff and customers alike).
KINDS = (
    "ticket_issued",
    "payment_failed",
    "trip_delayed",
    "trip_cancelled",
    "bus_changed",
    "boarding_reminder",
    "ticket_no_show",
    "ticket_link",
    "claim_code",
    "staff_invitation",
    "password_reset",
    "signup_confirmation",
    "signup_existing",
)
KIND_LABELS = {
    "ticket_issued": _l("Ticket issued"),
    "payment_failed": _l("Payment failed"),
    "trip_delayed": _l("Trip delayed"),
    "trip_cancelled": _l("Trip cancelled"),
    "bus_changed": _l("Bus changed"),
    "boarding_reminder": _l("Boarding reminder"),
    "ticket_no_show": _l("Missed the bus"),
    "ticket_link": _l("New ticket link"),
    "claim_code": _l("Phone code"),
    "staff_invitation": _l("Staff invitation"),
    "password_reset": _l("Password reset"),
    "signup_confirmation": _l("Sign-up confirmation"),
    "signup_existing": _l("Sign-up with a known email"),
}

# sms and email go out through a provider; inbox is the portal's bell, delivered on creation.
CHANNELS = ("sms", "email", "inbox")
CHANNEL_LABELS = {"sms": "SMS", "email": _l("Email"), "inbox": _l("Portal")}

# queued → sending → sent; a temporary failure goes back to queued (with the next attempt's
# time) until the retries run out (gave_up); a permanent one ends in failed.
STATUSES = ("queued", "sending", "sent", "failed", "gave_up")
STATUS_LABELS = {
    "queued": _l("Queued"),
    "sending": _l("Sending"),
    "sent": _l("Sent"),
    "failed": _l("Failed"),
    "gave_up": _l("Gave up"),
}
NEEDS_ATTENTION = ("failed", "gave_up")
# The provider of a message "sent" to the log: no SMS gateway or mail server is configured (the
# embedded demo, or production with MESSAGES_LOG_ONLY). Its record is done, but nobody received it.
LOG_PROVIDER = "log"

# A send that has not finished after this long is presumed dead (its worker crashed) and may be
# taken over: a message is then sent at most twice, and only after a crash mid-send.
SENDING_LEASE_SECONDS = 300
