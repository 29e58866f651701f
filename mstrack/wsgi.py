import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mstrack.settings")
application = get_wsgi_application()
# Load every view (and what they import: Plotly, the engine) now, then move the objects of
# the loaded code out of the collector's reach: a full collection walked them all, a pause
# of 200-300 ms in one request in twenty on the clinic pages (docs/benchmarks.md).
get_resolver().url_patterns  # noqa: B018
gc.freeze()
