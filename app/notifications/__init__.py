"""Messages to people: email and SMS channels (delivery records arrive with the notifications work)."""
