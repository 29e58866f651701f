from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from monitoring.models import Visit
from patients.models import AuditEvent, Patient
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_users_see_only_their_sites_patients(site_a, site_b, nurse_a, user_b):
    mine = f.make_patient(site_a)
    theirs = f.make_patient(site_b)
    f.visit(mine).save()
    f.visit(theirs).save()
    assert list(Patient.objects.visible_to(nurse_a)) == [mine]
    assert list(Patient.objects.visible_to(user_b)) == [theirs]
    assert [v.patient for v in Visit.objects.visible_to(nurse_a)] == [mine]


def test_user_of_two_sites_sees_both(site_a, site_b, nurse_a):
    from patients.models import Membership

    Membership.objects.create(user=nurse_a, site=site_b, role="nurse")
    f.make_patient(site_a)
    f.make_patient(site_b)
    assert Patient.objects.visible_to(nurse_a).count() == 2


def test_nobody_and_inactive_users_see_nothing(site_a, nurse_a):
    f.make_patient(site_a)
    nurse_a.is_active = False
    assert not Patient.objects.visible_to(nurse_a).exists()
    assert not Patient.objects.visible_to(AnonymousUser()).exists()
    assert not AuditEvent.objects.visible_to(AnonymousUser()).exists()


def test_user_without_membership_sees_nothing(site_a):
    f.make_patient(site_a)
    loner = f.make_user("loner")
    assert not Patient.objects.visible_to(loner).exists()
