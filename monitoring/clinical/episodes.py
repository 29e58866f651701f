"""Therapy episodes: what the patient is on at a date [§7].

The courses of one induction drug (alemtuzumab, cladribine, aHSCT) form one episode: the
patient is on that therapy from the first course until another disease-modifying therapy
starts, or until a clinician closes the episode (a stop reason on its last course). An
induction course's own end date is the last day of dosing, not the end of the therapy. A
maintenance course is an episode by itself, from its start to its end.

The rest of the engine (re-baseline, NEDA since re-baseline, first-year scores) takes an
episode as one course: it starts on the first course's start and ends when the therapy ended.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import TypeVar

from monitoring.clinical.records import TherapyCourse

Course = TypeVar("Course", bound=TherapyCourse)


def therapy_episodes(courses: Sequence[Course]) -> list[Course]:
    """One course per episode, oldest first: the episode's first course with the end of the
    episode as its end (None while it runs). Courses are taken in the order given within a
    start day."""
    ordered = sorted(courses, key=lambda c: c.start)
    groups: list[list[Course]] = []
    for course in ordered:
        last = groups[-1][-1] if groups else None
        if (
            last is not None
            and course.therapy_class == "induction"
            and last.therapy_class == "induction"
            and last.therapy == course.therapy
            and not last.closes_episode
        ):
            groups[-1].append(course)
        else:
            groups.append([course])
    episodes = []
    for index, group in enumerate(groups):
        first, last = group[0], group[-1]
        end = last.end
        if first.therapy_class == "induction" and not last.closes_episode:
            following = groups[index + 1][0].start if index + 1 < len(groups) else None
            end = following
        episodes.append(dataclasses.replace(first, end=end, closes_episode=last.closes_episode))
    return episodes


def current_episode(courses: Sequence[Course], as_of: dt.date) -> Course | None:
    """The episode running on `as_of` (the latest-started one on a switch day), as one course
    from the episode's first start; None when the patient is on no therapy that day."""
    running = [
        e
        for e in therapy_episodes(courses)
        if e.start <= as_of and (e.end is None or e.end >= as_of)
    ]
    return running[-1] if running else None
