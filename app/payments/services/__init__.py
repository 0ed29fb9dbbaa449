"""Payment services: starting and settling payments (``payments``), paying money back (``refunds``)
and provider notifications (``webhooks``)."""
