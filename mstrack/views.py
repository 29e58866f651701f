from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from clinic.views import patients_for
from patients.models import Membership


@login_required
def home(request: HttpRequest) -> HttpResponse:
    assert request.user.is_authenticated  # login_required
    memberships = Membership.objects.filter(user=request.user).select_related("site")
    return render(
        request,
        "home.html",
        {"memberships": memberships, "patient_count": patients_for(request).count()},
    )


@login_required
@require_POST
def switch_site(request: HttpRequest) -> HttpResponse:
    """Narrow every page to one of the user's sites (empty: all of them)."""
    code = request.POST.get("site", "")
    assert request.user.is_authenticated  # login_required
    if code and not Membership.objects.filter(user=request.user, site__code=code).exists():
        code = ""
    request.session["site"] = code
    target = request.POST.get("next", "/")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
        target = "/"
    return redirect(target)
