"""Payments: providers (MTN MoMo, PayPal, cash, sandbox), idempotent payment requests, provider
callbacks and webhooks, reconciliation and refunds."""
