"""Tenants (transport companies) and the stations they serve."""
