"""`direct_init`: the engine's faster constructor makes the same immutable values."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from monitoring.clinical.frozen import direct_init
from monitoring.clinical.records import TherapyCourse
from monitoring.clinical.safety import Lab
from outcomes.records import CourseRecord


@dataclasses.dataclass(frozen=True, slots=True)
class _Plain:
    analyte: str
    date: dt.date
    value: float | None = None
    text: str = ""


_Direct = direct_init(
    dataclasses.make_dataclass(
        "_Direct",
        [("analyte", str), ("date", dt.date), ("value", float | None, None), ("text", str, "")],
        frozen=True,
        slots=True,
    )
)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        (("alt", dt.date(2024, 1, 2)), {}),
        (("alt", dt.date(2024, 1, 2), 31.5), {"text": "normal"}),
        ((), {"analyte": "tsh", "date": dt.date(2024, 5, 1), "value": 0.2}),
    ],
)
def test_same_fields_defaults_and_keywords_as_the_dataclass(args, kwargs):
    plain, direct = _Plain(*args, **kwargs), _Direct(*args, **kwargs)
    assert dataclasses.astuple(plain) == dataclasses.astuple(direct)


def test_values_stay_frozen_hashable_and_replaceable():
    lab = Lab("lymphocytes", dt.date(2024, 1, 2), 750.0, public_id="x")
    assert lab == Lab("lymphocytes", dt.date(2024, 1, 2), 750.0, public_id="x")
    assert hash(lab) == hash(Lab("lymphocytes", dt.date(2024, 1, 2), 750.0, public_id="x"))
    assert dataclasses.replace(lab, value=900.0).value == 900.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        lab.value = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        Lab("lymphocytes")  # type: ignore[call-arg]  # the date is required


def test_post_init_still_validates_and_subclasses_set_inherited_fields():
    with pytest.raises(ValueError, match="unknown therapy class"):
        TherapyCourse("x", "bogus", dt.date(2024, 1, 1))  # type: ignore[arg-type]
    course = CourseRecord("natalizumab", "high_efficacy", dt.date(2024, 1, 1), None, False, 7)
    assert (course.therapy, course.start, course.pk, course.code) == (
        "natalizumab",
        dt.date(2024, 1, 1),
        7,
        "",
    )


def test_refuses_what_it_cannot_build():
    @dataclasses.dataclass(slots=True)
    class Mutable:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Factory:
        a: list[int] = dataclasses.field(default_factory=list)

    for cls in (Mutable, Factory):
        with pytest.raises(TypeError):
            direct_init(cls)
