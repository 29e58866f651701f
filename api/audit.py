"""API reads of patient data audited per request (`patients.reads`)."""

from __future__ import annotations

from typing import Any

from rest_framework.generics import GenericAPIView

from api.auth import actor_of
from patients.reads import record_reads


class AuditedReads(GenericAPIView):
    """A viewset mixin (first among the bases): each list page and each detail read writes
    one audit row naming the patients shown."""

    def paginate_queryset(self, queryset: Any) -> Any:
        page = super().paginate_queryset(queryset)
        self._audit(page if page is not None else queryset)
        return page

    def get_object(self) -> Any:
        obj = super().get_object()
        if self.request.method == "GET":
            self._audit([obj])
        return obj

    def _audit(self, rows: Any) -> None:
        record_reads(
            rows,
            actor=actor_of(self.request),
            what=self.request.path,
            query=self.request.query_params,
        )
