"""The one authorization policy: each action's roles, for each kind of caller."""

from __future__ import annotations

import pytest

from api.auth import IntegrationUser
from api.models import IntegrationToken
from patients.models import Patient
from patients.policy import ROLES, Action, can, restrict
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("nurse", {Action.VIEW, Action.ENTER}),
        ("neurologist", {Action.VIEW, Action.ENTER, Action.DECIDE, Action.CHOOSE_DEFINITION}),
        ("admin", set(Action)),
    ],
)
def test_each_role_may_do_its_actions_at_its_site_only(role, allowed, site_a, site_b, patient):
    user = make_user(f"{role}-x", site=site_a, role=role)
    for action in Action:
        assert can(user, action, patient) == (action in allowed), action
        assert not can(user, action, site_b.pk)
    assert list(restrict(Patient.objects.all(), user, Action.VIEW, site_lookup="site")) == [patient]


def test_an_integration_acts_at_its_one_site(site_a, site_b, patient):
    token, _ = IntegrationToken.issue(site=site_a, name="ehr", days=1)
    ehr = IntegrationUser(token)
    assert can(ehr, Action.ENTER, patient) and can(ehr, Action.CHOOSE_DEFINITION, patient)
    assert not can(ehr, Action.DECIDE, patient)
    assert not can(ehr, Action.VIEW, site_b.pk)
    assert {a for a in Action if "integration" in ROLES[a]} == {
        Action.VIEW,
        Action.ENTER,
        Action.CHOOSE_DEFINITION,
    }


def test_an_anonymous_or_inactive_user_may_do_nothing(site_a, patient):
    from django.contrib.auth.models import AnonymousUser

    inactive = make_user("gone", site=site_a, role="admin")
    inactive.is_active = False
    for user in (AnonymousUser(), inactive):
        assert not any(can(user, action, patient) for action in Action)
