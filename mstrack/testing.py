"""pytest plugin (loaded with `-p mstrack.testing` before Django settings are read).

Gives the test run a throw-away SECRET_KEY so that `pytest` works without DEBUG, the way
production runs. Nothing else is changed: tests see the production defaults.
"""

import os

os.environ.setdefault(
    "SECRET_KEY", "test-only-secret-key-for-the-pytest-run-never-for-a-deployment-3f9c2a7e"
)
