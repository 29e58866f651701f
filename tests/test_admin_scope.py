"""The Django admin is for superusers; site administrators manage their own sites'
members on their own page, through the policy, audited (issue 15, item 1)."""

from __future__ import annotations

import pytest

from patients.models import AuditEvent, Membership, Role
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_b(site_b):
    return f.make_user("staff-b", site=site_b, role=Role.ADMIN, is_staff=True)


def test_a_staff_user_who_is_not_superuser_gets_no_admin_page(client, staff_b, patient):
    client.force_login(staff_b)
    for url in (
        "/admin/",
        f"/admin/monitoring/visit/add/?patient={patient.pk}",
        "/admin/patients/membership/add/",
        "/admin/api/loginfailure/",
        "/admin/patients/site/",
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], url
        assert patient.mrn.encode() not in response.content


def test_a_superuser_still_has_the_admin(client):
    root = f.make_user("root", is_staff=True, is_superuser=True)
    client.force_login(root)
    assert client.get("/admin/").status_code == 200


def test_a_site_admin_manages_members_of_their_site_only(client, staff_b, site_a, site_b):
    nurse = f.make_user("new-nurse")
    client.force_login(staff_b)
    page = client.get("/site-admin/members/")
    assert page.status_code == 200 and b"staff-b" in page.content
    granted = client.post(
        "/site-admin/members/", {"site": site_b.pk, "username": "new-nurse", "role": "nurse"}
    )
    assert granted.status_code == 302
    assert Membership.objects.get(user=nurse).site == site_b
    # Site A is not among the choices: making oneself admin of another site is refused.
    escalate = client.post(
        "/site-admin/members/", {"site": site_a.pk, "username": "staff-b", "role": "admin"}
    )
    assert escalate.status_code == 200 and "site" in escalate.context["form"].errors
    assert not Membership.objects.filter(user=staff_b, site=site_a).exists()
    unknown = client.post(
        "/site-admin/members/", {"site": site_b.pk, "username": "nobody", "role": "nurse"}
    )
    assert "no user named" in str(unknown.context["form"].errors["username"])
    member = Membership.objects.get(user=nurse)
    assert client.post(f"/site-admin/members/{member.pk}/remove/").status_code == 302
    assert not Membership.objects.filter(user=nurse).exists()
    actions = list(
        AuditEvent.objects.filter(model="patients.membership").values_list("action", flat=True)
    )
    assert sorted(actions) == ["create", "delete"]


def test_other_roles_and_sites_cannot_touch_members(client, nurse_a, neurologist_a, site_a):
    admin_a = Membership.objects.create(user=f.make_user("admin-a"), site=site_a, role=Role.ADMIN)
    for user in (nurse_a, neurologist_a):
        client.force_login(user)
        assert client.get("/site-admin/members/").status_code == 403
        assert client.post(f"/site-admin/members/{admin_a.pk}/remove/").status_code == 403
    assert Membership.objects.filter(pk=admin_a.pk).exists()
