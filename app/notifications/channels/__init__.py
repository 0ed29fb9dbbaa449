"""Channels deliver one rendered message to one address. They answer the provider's message id,
or raise :class:`DeliveryFailed`: ``temporary`` failures (network, timeouts, 5xx, rate limits,
credentials refused) are retried with backoff; permanent ones (an address that can never receive)
are recorded and not retried."""

from __future__ import annotations


class DeliveryFailed(Exception):
    def __init__(self, message: str, *, temporary: bool):
        super().__init__(message)
        self.temporary = temporary
