from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles.storage import staticfiles_storage
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from monitoring.views import patients_for
from patients.models import Membership


@login_required
def home(request: HttpRequest) -> HttpResponse:
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
    if code and not Membership.objects.filter(user=request.user, site__code=code).exists():
        code = ""
    request.session["site"] = code
    target = request.POST.get("next", "/")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
        target = "/"
    return redirect(target)


@require_http_methods(["GET", "POST"])
def logout(request: HttpRequest) -> HttpResponse:
    """Log out on POST (a link cannot log anyone out); a GET, from a bookmark or a typed
    address, is offered the button instead of a blank 405."""
    if request.method == "POST":
        return auth_views.LogoutView.as_view()(request)
    return render(request, "registration/logout.html")


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page links."""
    return redirect(staticfiles_storage.url("clinic/favicon.svg"), permanent=True)
