"""Finding a patient as clinicians type: accent- and case-insensitive, words in any order
("Smith Maria", "smith, maría"), an MRN or a part of it, a birth date (2024-05-02, 2.5.2024,
02/05/2024)."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from django.db.models import Q

WORD = re.compile(r"[\w./-]+")
DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y")


def fold(text: str) -> str:
    """Lower case without accents: "Müller" and "MULLER" both fold to "muller"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def search_text(mrn: str, display_name: str) -> str:
    """What a patient is found by, folded once on save (`Patient.search_text`)."""
    return fold(f"{mrn} {display_name}")


def _date(word: str) -> dt.date | None:
    for form in DATE_FORMATS:
        try:
            return dt.datetime.strptime(word, form).date()
        except ValueError:
            continue
    return None


def matching(query: str) -> Q:
    """Every word must be found: a date in the birth date, any other in the MRN or name."""
    found = Q()
    for word in WORD.findall(query):
        day = _date(word)
        if day is not None:
            found &= Q(birth_date=day)
        else:
            found &= Q(search_text__contains=fold(word.strip(".-/")))
    return found
