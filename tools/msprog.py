"""Translation between a `Definition` and the reference's arguments (pymsprog 1.0.7 `MSprog`).

Used to reproduce a result in the reference and to test the engine against it. Only the
options the engine has are translated; anything else is refused rather than ignored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from monitoring.clinical.definitions import (
    PRESETS,
    Definition,
    RelapseIndependence,
    Span,
)

_BASELINE_TO = {
    "fixed": "fixed",
    "roving": "roving",
    "roving-improvement": "roving_impr",
    "roving-worsening": "roving_wors",
}
_EVENTS_TO = {
    "multiple": "multiple",
    "first-worsening": "firstCDW",
    "first-improvement": "firstCDI",
    "first": "first",
    "first-pira": "firstPIRA",
    "first-raw": "firstRAW",
}
_PROCEED_TO = {"first-confirmation": "firstconf", "onset": "event"}
_BASELINE_FROM = {v: k for k, v in _BASELINE_TO.items()}
_EVENTS_FROM = {v: k for k, v in _EVENTS_TO.items()}
_PROCEED_FROM = {v: k for k, v in _PROCEED_TO.items()}

# Arguments that only say how the reference reads its input or prints its output.
_IGNORED = {
    "subj_col",
    "value_col",
    "date_col",
    "relapse",
    "rsubj_col",
    "rdate_col",
    "validconf_col",
    "include_dates",
    "include_value",
    "include_stable",
    "return_unconfirmed",
    "verbose",
    "RAW_PIRA",
    "date_format",
    "subjects",
}
_UNSUPPORTED_DEFAULTS: dict[str, object] = {
    "skip_local_extrema": "none",
    "bl_geq": False,
    "impute_last_visit": 0,
    "delta_fun": None,
    "worsening": None,
    "valuedelta_col": None,
}


def _pair(value: object, right_default: float) -> tuple[float, float]:
    if isinstance(value, list | tuple):
        if len(value) == 1:
            return (float(value[0]), right_default)
        return (float(value[0]), float(value[1]))
    return (float(value), right_default)  # type: ignore[arg-type]


def _span(value: Any) -> Span:
    a, b = value
    return (None if a is None else float(a), None if b is None else float(b))


def _preset_name(ri: RelapseIndependence) -> str:
    return next((name for name, p in PRESETS.items() if p == ri), "muller2023")


def from_msprog_arguments(args: Mapping[str, object]) -> Definition:
    """The definition the reference computes with these `MSprog` keyword arguments."""
    for key, default in _UNSUPPORTED_DEFAULTS.items():
        if key in args and args[key] != default:
            raise ValueError(f"{key}={args[key]!r} is not supported by the engine")
    conf_days = args.get("conf_days", 84)
    days = tuple(conf_days) if isinstance(conf_days, list | tuple) else (conf_days,)
    tol = args.get("conf_tol_days", [7, 730.5])
    if isinstance(tol, list | tuple):
        tolerance = (float(tol[0]), float(tol[-1]))
    else:
        tolerance = (float(tol), float(tol))  # type: ignore[arg-type]
    ri_arg = args.get("relapse_indep")
    if ri_arg is None:
        ri = RelapseIndependence()
    else:
        ri_map = dict(ri_arg)  # type: ignore[call-overload]
        ri = RelapseIndependence(
            reference=_span(ri_map["prec"]),
            onset=_span(ri_map["event"]),
            confirmation=_span(ri_map["conf"]),
            reference_visit=ri_map.get("prec_type", "baseline"),
        )
    known = (
        set(_IGNORED)
        | set(_UNSUPPORTED_DEFAULTS)
        | {
            "outcome",
            "event",
            "baseline",
            "proceed_from",
            "sub_threshold_rebl",
            "relapse_rebl",
            "conf_days",
            "conf_tol_days",
            "require_sust_days",
            "check_intermediate",
            "relapse_to_bl",
            "relapse_to_event",
            "relapse_to_conf",
            "relapse_assoc",
            "relapse_indep",
        }
    )
    unknown = set(args) - known
    if unknown:
        raise ValueError(f"unknown reference arguments: {sorted(unknown)}")
    return Definition(
        name=_preset_name(ri),
        outcome=str(args["outcome"]).lower(),  # type: ignore[arg-type]
        baseline=_BASELINE_FROM[str(args.get("baseline", "fixed"))],  # type: ignore[arg-type]
        events=_EVENTS_FROM[str(args.get("event", "firstCDW"))],  # type: ignore[arg-type]
        confirm_days=tuple(sorted({int(d) for d in days})),
        confirm_tolerance=tolerance,
        check_intermediate=bool(args.get("check_intermediate", True)),
        require_sustained_days=float(args.get("require_sust_days", 0)),  # type: ignore[arg-type]
        relapse_to_baseline=_pair(args.get("relapse_to_bl", 30), 0.0),
        relapse_to_event=_pair(args.get("relapse_to_event", 0), 0.0),
        relapse_to_confirmation=_pair(args.get("relapse_to_conf", 30), 0.0),
        raw_window=_pair(args.get("relapse_assoc", 90), 0.0),
        relapse_independence=ri,
        relapse_rebaseline=bool(args.get("relapse_rebl", False)),
        sub_threshold_rebaseline=str(args.get("sub_threshold_rebl", "none")),  # type: ignore[arg-type]
        proceed_from=_PROCEED_FROM[str(args.get("proceed_from", "firstconf"))],  # type: ignore[arg-type]
    )


def _num(x: float) -> float | int:
    return int(x) if math.isfinite(x) and x == int(x) else x


def to_msprog_arguments(d: Definition) -> dict[str, object]:
    """`MSprog` keyword arguments computing what the engine computes under `d`."""
    if d.edss_delta_edge != 5.0:
        raise ValueError("the reference has its EDSS delta edge fixed at 5.0")
    ri = d.relapse_independence
    return {
        "outcome": d.outcome,
        "event": _EVENTS_TO[d.events],
        "baseline": _BASELINE_TO[d.baseline],
        "proceed_from": _PROCEED_TO[d.proceed_from],
        "sub_threshold_rebl": d.sub_threshold_rebaseline,
        "relapse_rebl": d.relapse_rebaseline,
        "conf_days": list(d.confirm_days),
        "conf_tol_days": [_num(x) for x in d.confirm_tolerance],
        "require_sust_days": _num(d.require_sustained_days),
        "check_intermediate": d.check_intermediate,
        "relapse_to_bl": [_num(x) for x in d.relapse_to_baseline],
        "relapse_to_event": [_num(x) for x in d.relapse_to_event],
        "relapse_to_conf": [_num(x) for x in d.relapse_to_confirmation],
        "relapse_assoc": [_num(x) for x in d.raw_window],
        "relapse_indep": {
            "prec": ri.reference,
            "event": ri.onset,
            "conf": ri.confirmation,
            "prec_type": ri.reference_visit,
        },
        "RAW_PIRA": True,
    }
