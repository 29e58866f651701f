"""Serve the plotly.min.js that the `plotly` package ships as the static file
`plotly/plotly.min.js`: the charts' JavaScript comes with a pinned Python dependency and is
never fetched from the internet. Only that file: the package's data folder also holds
sample data sets that have no business on the web."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, overload

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

PREFIX = "plotly"
FILE = "plotly.min.js"


class PlotlyFinder(BaseFinder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.storage = FileSystemStorage(location=Path(plotly.__file__).parent / "package_data")
        # collectstatic and the static views read a storage's prefix with getattr.
        storage: Any = self.storage
        storage.prefix = PREFIX

    def check(self, **kwargs: Any) -> list[Any]:
        return []

    @overload
    def find(self, path: str, find_all: Literal[False] = False, **kwargs: Any) -> str | None: ...
    @overload
    def find(self, path: str, find_all: Literal[True], **kwargs: Any) -> list[str]: ...
    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> str | list[str] | None:
        if path != f"{PREFIX}/{FILE}":
            return []  # what Django's finders answer for "not here", whichever was asked
        found = self.storage.path(FILE)
        return [found] if find_all else found

    def list(self, ignore_patterns: Any) -> Iterator[tuple[str, FileSystemStorage]]:
        yield FILE, self.storage
