"""pytest plugin (loaded with `-p mstrack.testing` before Django settings are read).

Gives the test run a throw-away SECRET_KEY and research pseudonym key so that `pytest` works
without DEBUG, the way production runs, and plain http: the test client and the live server of
the browser tests have no TLS. Everything else keeps its production default (tests/test_web.py
checks those in a fresh process).
"""

import os

os.environ.setdefault(
    "SECRET_KEY", "test-only-secret-key-for-the-pytest-run-never-for-a-deployment-3f9c2a7e"
)
os.environ.setdefault(
    "RESEARCH_PSEUDONYM_KEY", "test-only-research-pseudonym-key-never-for-a-deployment-81c4"
)
for name in ("SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"):
    os.environ.setdefault(name, "0")
