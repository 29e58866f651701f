"""The outcomes page (issue 17): the clinic's own outcomes across the caller's sites, read
from the stored report (`outcomes.tasks` computes it), with every table as CSV and every
chart as PNG/SVG (Plotly's modebar)."""

from __future__ import annotations

import csv
from html import escape
from typing import Any

import orjson
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe

from monitoring.clinical.cohort import ENDPOINT_LABELS, ENDPOINTS
from outcomes import cohort
from outcomes.forms import OutcomeFilters
from outcomes.models import CohortReport
from outcomes.tasks import request_report
from patients.models import Site
from patients.policy import Action, sites_where

# One colour per therapy, in the order the curves come (colour-blind safe, Okabe-Ito).
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")


def _report(request: HttpRequest) -> tuple[OutcomeFilters, CohortReport | None]:
    sites = sites_where(request.user, Action.VIEW)
    if sites is not None and not sites:
        raise PermissionDenied("you may not see patients at any site")
    form = OutcomeFilters(request.GET)
    if not form.is_valid():
        return form, None
    return form, request_report(sites, form.filters())


SHOWN = 4  # therapies drawn at first (most courses); the legend switches the others on


def _rgba(colour: str, alpha: float) -> str:
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def km_figures(curves: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One Plotly figure per endpoint: a step curve per therapy with its 95 % band, the
    therapies with most courses drawn at first. Plain figure JSON, drawn by
    static/clinic/outcomes.js."""
    figures = []
    for endpoint in ENDPOINTS:
        mine = sorted((c for c in curves if c["endpoint"] == endpoint), key=lambda c: -c["courses"])
        data: list[dict[str, Any]] = []
        for i, c in enumerate(mine):
            colour = COLOURS[i % len(COLOURS)]
            shown: bool | str = True if i < SHOWN else "legendonly"
            common = {"legendgroup": c["therapy"], "visible": shown, "x": c["years"]}
            band = {"width": 0, "shape": "hv", "color": colour}
            data += [
                {**common, "y": c["upper"], "mode": "lines", "line": band,
                 "hoverinfo": "skip", "showlegend": False},
                {**common, "y": c["lower"], "mode": "lines", "line": band, "fill": "tonexty",
                 "fillcolor": _rgba(colour, 0.12), "hoverinfo": "skip", "showlegend": False},
                {**common, "y": c["cumulative"], "mode": "lines",
                 "name": f"{c['therapy']} (n={c['courses']}, events={c['events']})",
                 "line": {"shape": "hv", "color": colour, "width": 2},
                 "hovertemplate": "%{x:.2f} y: %{y:.1f} %<extra>" + c["therapy"] + "</extra>"},
            ]  # fmt: skip
        title = f"Time to {ENDPOINT_LABELS[endpoint]}"
        figures.append(
            {
                "id": f"km-{endpoint}",
                "data_id": f"km-{endpoint}-data",
                "endpoint": endpoint,
                "title": title,
                "empty": not mine,
                "figure": {
                    "data": data,
                    "layout": {
                        "title": {"text": title},
                        "xaxis": {
                            "title": {"text": "years from therapy start"},
                            "rangemode": "tozero",
                        },
                        "yaxis": {"title": {"text": "cumulative incidence, %"}, "range": [0, 100]},
                        "height": 420,
                        "margin": {"l": 60, "r": 10, "t": 50, "b": 50},
                        "legend": {"title": {"text": "therapy (click to show)"}},
                    },
                },
            }
        )
    return figures


# What Django's json_script escapes, so that the JSON cannot close its <script> element.
_SCRIPT_ESCAPES = str.maketrans({"<": "\\u003C", ">": "\\u003E", "&": "\\u0026"})


def json_script(value: Any, element_id: str) -> str:
    """Django's json_script through orjson: a figure's JSON is most of the page, and the
    standard encoder took a third of its time."""
    text = orjson.dumps(value).decode().translate(_SCRIPT_ESCAPES)
    return mark_safe(f'<script id="{escape(element_id)}" type="application/json">{text}</script>')


def table_body(rows: list[list[Any]]) -> str:
    """A table's rows as HTML, every cell escaped: built here rather than by template tags,
    which take a tenth of a second over the report's few thousand cells."""
    return mark_safe(
        "".join(
            "<tr>"
            + "".join(
                '<td><span class="muted">—</span></td>'
                if v is None
                else f"<td>{escape(str(v))}</td>"
                for v in row
            )
            + "</tr>"
            for row in rows
        )
    )


def _with_numbers_at_risk(payload: dict[str, Any]) -> list[dict[str, Any]]:
    figures = km_figures(payload["curves"])
    at_risk = next(t for t in payload["tables"] if t["id"] == "numbers_at_risk")
    for f in figures:
        f["script"] = json_script(f.pop("figure"), f["data_id"])
        f["at_risk_columns"] = at_risk["columns"][1:]
        f["at_risk_body"] = table_body(
            [row[1:] for row in at_risk["rows"] if row[0] == f["endpoint"]]
        )
    return figures


def _tables(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**t, "body": table_body(t["rows"])} for t in payload["tables"]]


def _site_names(report: CohortReport | None) -> str:
    if report is None:
        return ""
    sites = cohort.sites_from_key(report.sites)
    if sites is None:
        return "every site"
    names = Site.objects.filter(pk__in=sites).order_by("name").values_list("name", flat=True)
    return ", ".join(names)


@login_required
def outcomes(request: HttpRequest) -> HttpResponse:
    form, report = _report(request)
    payload = report.payload if report else None
    context = {
        "form": form,
        "report": report,
        "payload": payload,
        "figures": _with_numbers_at_risk(payload) if payload else [],
        "tables": _tables(payload) if payload else [],
        "query": request.GET.urlencode(),
        "site_names": _site_names(report),
    }
    return render(request, "clinic/outcomes.html", context, status=400 if report is None else 200)


@login_required
def outcomes_csv(request: HttpRequest, table_id: str) -> HttpResponse:
    form, report = _report(request)
    if report is None:
        return HttpResponse(
            "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in form.errors.items()),
            status=400,
            content_type="text/plain",
        )
    if report.payload is None:
        return HttpResponse("the report is being computed", status=503, content_type="text/plain")
    table = next((t for t in report.payload["tables"] if t["id"] == table_id), None)
    if table is None:
        raise Http404(f"no table {table_id}")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="mstrack-{table_id}-{report.as_of}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow([f"# {table['title']}"])
    writer.writerow([f"# definition: {table['definition']}"])
    writer.writerow([f"# denominator: {table['denominator']}"])
    writer.writerow(
        [f"# as of {report.as_of}; sites {report.sites}; filters {report.filters_key or 'none'}"]
    )
    writer.writerow(table["columns"])
    writer.writerows(["" if v is None else v for v in row] for row in table["rows"])
    return response
