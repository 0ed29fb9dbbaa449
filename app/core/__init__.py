"""Plumbing shared by every domain: models base, transactions, errors, rendering, jobs, realtime."""
