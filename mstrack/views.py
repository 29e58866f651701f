from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from patients.models import Membership, Patient


@login_required
def home(request: HttpRequest) -> HttpResponse:
    memberships = Membership.objects.filter(user=request.user).select_related("site")
    return render(
        request,
        "home.html",
        {
            "memberships": memberships,
            "patient_count": Patient.objects.visible_to(request.user).count(),
        },
    )
