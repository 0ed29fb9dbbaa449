"""Users, roles, memberships, sign-in, password reset and API tokens."""
