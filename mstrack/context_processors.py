from django.contrib.auth import get_user_model
from django.http import HttpRequest

from patients.models import Membership


def sites(request: HttpRequest) -> dict:
    """The site switcher: shown to users who belong to more than one site."""
    if not isinstance(request.user, get_user_model()):
        # Anonymous, or an integration token reading the API's HTML pages: no sites to switch.
        return {}
    memberships = list(Membership.objects.filter(user=request.user).select_related("site"))
    return {"my_sites": [m.site for m in memberships], "active_site": request.session.get("site")}
