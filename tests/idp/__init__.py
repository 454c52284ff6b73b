"""A real OpenID Connect provider for the SSO tests: a minimal Django project running
django-oauth-toolkit in OIDC mode (RS256 key made at start with `cryptography`), in its own
process, with its own SQLite database, on 127.0.0.1 only. See server.py (the process) and
harness.py (the pytest side)."""
