from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from django.db import connection
from hypothesis import settings as hypothesis_settings

from mstrack.celery import app
from tests.factories import make_patient, make_site, make_user

# Under CI the property tests explore the same examples on every run, so that a run fails
# only for a change in the code; locally they explore anew each time.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI") == "true":
    hypothesis_settings.load_profile("ci")


def require_postgres() -> None:
    """Run only on PostgreSQL; missing PostgreSQL is a failure under CI, a skip elsewhere."""
    if connection.vendor == "postgresql":
        return
    if os.environ.get("MSTRACK_POSTGRES_PASS"):
        pytest.skip("runs in the PostgreSQL pass of `make test`")
    if os.environ.get("CI") == "true":
        pytest.fail("CI must run this on PostgreSQL: set DATABASE_URL")
    pytest.skip("needs PostgreSQL: set DATABASE_URL=postgres://…")


@pytest.fixture(autouse=True)
def _eager_celery(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tasks run in the test's process whatever REDIS_URL says; broker tests send them to the
    broker whatever an earlier test left behind (a test's own `monkeypatch` of the setting is
    undone after this fixture, so it could leave eager on and a worker test would then
    evaluate in its own process, blocking on the lock it holds)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(app.conf, "task_always_eager", not request.node.get_closest_marker("redis"))
        yield


@pytest.fixture(autouse=True)
def _static_files(settings):
    # Production serves collected, hashed static files; the tests do not run collectstatic.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def site_a():
    return make_site("A")


@pytest.fixture
def site_b():
    return make_site("B")


@pytest.fixture
def patient(site_a):
    return make_patient(site_a)


@pytest.fixture
def nurse_a(site_a):
    return make_user("nurse-a", site=site_a, role="nurse")


@pytest.fixture
def neurologist_a(site_a):
    return make_user("neuro-a", site=site_a, role="neurologist")


@pytest.fixture
def user_b(site_b):
    return make_user("user-b", site=site_b, role="neurologist")


def database_url() -> str:
    """The test database as a DATABASE_URL, for the servers and workers a test starts."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        f"/{db['NAME']}"
    )


def require_redis() -> str:
    """The URL of a reachable Redis; missing Redis is a failure under CI, a skip elsewhere."""
    import redis

    url = os.environ.get("REDIS_URL", "")
    try:
        if url and redis.Redis.from_url(url, socket_connect_timeout=2).ping():
            return url
    except redis.RedisError:
        pass
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run this with a reachable Redis: REDIS_URL={url!r}")
    pytest.skip("needs Redis: set REDIS_URL=redis://…")


def pytest_report_header(config) -> list[str]:
    from django.conf import settings

    database = settings.DATABASES["default"]
    broker = os.environ.get("REDIS_URL") or "none (Celery eager)"
    return [
        f"database: {database['ENGINE'].rsplit('.', 1)[-1]} {database['NAME']}",
        f"redis: {broker}",
    ]
