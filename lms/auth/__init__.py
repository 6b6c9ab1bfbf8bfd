"""Accounts, roles, server-side sessions, API tokens, login throttling and the audit log."""
