from base64 import b32encode
from typing import Any

from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.validators import MaxLengthValidator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.views import patients_for
from mstrack import oidc
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


class SignInForm(AuthenticationForm):
    """Django's sign-in form, refusing a user name longer than any account's before the
    lockout records it (its table holds 255 characters; Django only sets the HTML limit)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["username"]
        assert isinstance(field, forms.CharField)
        field.validators.append(MaxLengthValidator(field.max_length))


class SignInView(LoginView):
    authentication_form = SignInForm

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "single_sign_on": oidc.configured()}


class TokenForm(forms.Form):
    token = forms.CharField(
        label="Code from your authenticator app",
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/"
    return target if url_has_allowed_host_and_scheme(target, {request.get_host()}) else "/"


@login_required
def two_factor(request: HttpRequest) -> HttpResponse:
    """Verify this sign-in with a TOTP code; a user without an authenticator enrols one
    here first (the secret is shown until its first code is confirmed)."""
    user: Any = request.user  # is_verified() is django-otp's, set by OTPMiddleware
    if user.is_verified():
        return redirect(_next(request))
    enrolled = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    device = None
    if not enrolled:
        device, _ = TOTPDevice.objects.get_or_create(
            user=user, confirmed=False, defaults={"name": "authenticator"}
        )
    form = TokenForm(request.POST or None)
    if form.is_valid():
        token = form.cleaned_data["token"].strip()
        verified = device if device and device.verify_token(token) else None
        if device is None:
            verified = match_token(user, token)
        if verified is not None:
            if not verified.confirmed:
                verified.confirmed = True
                verified.save(update_fields=["confirmed"])
            otp_login(request, verified)
            return redirect(_next(request))
        form.add_error("token", "That code is not right (or has expired); try the next one.")
    return render(
        request,
        "registration/two_factor.html",
        {
            "form": form,
            "device": device,
            "secret": b32encode(device.bin_key).decode() if device else "",
            "next": _next(request),
        },
    )


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
