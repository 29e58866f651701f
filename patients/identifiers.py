"""Identifiers as compared: what makes two MRNs or source ids the same. No model is imported
here, so that the data migrations can use these functions as they stand."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

# Unicode "other, control" and "other, format": tabs and NULs, zero-width spaces and joiners,
# direction marks, soft hyphens, byte-order marks. None of them is visible or typed on
# purpose in an identifier, and each makes a look-alike of another identifier.
INVISIBLE = frozenset({"Cc", "Cf"})


def normalise_identifier(value: str) -> str:
    """Unicode NFKC (full-width letters as plain ones), invisible characters removed, ends
    trimmed."""
    value = value or ""
    if value.isascii() and value.isprintable():
        # Most identifiers: NFKC leaves printable ASCII as it is, and none of it is invisible
        # (20 times faster; an import normalises each row's identifiers several times).
        return value.strip()
    text = unicodedata.normalize("NFKC", value)
    return "".join(c for c in text if unicodedata.category(c) not in INVISIBLE).strip()


def normalise_mrn(value: str, *, case_sensitive: bool) -> str:
    """An MRN as stored: normalised, and in capitals unless the site's MRNs tell case apart."""
    mrn = normalise_identifier(value)
    return mrn if case_sensitive else mrn.upper()


def normalise_stored(
    rows: list[tuple[int, int, tuple[str, ...]]],
    normalise: Callable[[tuple[str, ...]], tuple[str, ...]],
) -> tuple[dict[int, tuple[str, ...]], list[tuple[int, tuple[str, ...]]]]:
    """For a data migration: rows (pk, scope, identifier) → (the new identifier by pk of the
    rows to change, the look-alikes left unchanged as (scope, identifier) because two rows of
    one scope would become one). Merging two patients or records is a clinical decision, not
    a migration's."""
    groups: dict[tuple[int, tuple[str, ...]], list[tuple[int, tuple[str, ...]]]] = {}
    for pk, scope, identifier in rows:
        groups.setdefault((scope, normalise(identifier)), []).append((pk, identifier))
    changed: dict[int, tuple[str, ...]] = {}
    clashes: list[tuple[int, tuple[str, ...]]] = []
    for (scope, wanted), members in groups.items():
        if len(members) > 1:
            clashes.extend((scope, identifier) for _, identifier in members)
            continue
        pk, identifier = members[0]
        if identifier != wanted:
            changed[pk] = wanted
    return changed, clashes


def normalise_source_ids(model: Any, scope: str) -> None:
    """For a data migration: the stored source ids of one (historical) model, unique per
    scope (`site_id` or `patient_id`), normalised; look-alikes left as they are, listed."""
    rows: list[tuple[int, int, tuple[str, ...]]] = [
        (pk, scope_id, (system, source_id))
        for pk, scope_id, system, source_id in model.objects.exclude(source_id="").values_list(
            "pk", scope, "source_system", "source_id"
        )
    ]
    changed, clashes = normalise_stored(
        rows, lambda key: tuple(normalise_identifier(part) for part in key)
    )
    records = list(model.objects.filter(pk__in=changed))
    for record in records:
        record.source_system, record.source_id = changed[record.pk]
    model.objects.bulk_update(records, ["source_system", "source_id"], batch_size=1000)
    for scope_id, (system, source_id) in clashes:
        print(f"  {model.__name__} {scope}={scope_id}: look-alike {system!r} {source_id!r} kept")
