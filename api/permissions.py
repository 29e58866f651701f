"""The API's face of the one authorization policy (`patients.policy`). Which rows a caller
sees is decided by `visible_to`; these checks add what the caller may do with them."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from patients.policy import Action, can


class Allowed(BasePermission):
    """The caller may do `action` on the object (a patient or one of its records)."""

    def __init__(self, action: Action) -> None:
        self.action = action
        self.message = f"you may not {_WORDS[action]} at this patient's site"

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        return can(request.user, self.action, obj)


_WORDS = {
    Action.VIEW: "see this",
    Action.ENTER: "enter or correct records",
    Action.DECIDE: "acknowledge or resolve alerts (a neurologist's decision)",
    Action.CHOOSE_DEFINITION: "choose a progression definition",
    Action.ADMINISTER: "administer the site",
}
