"""A django-debug-toolbar panel: the flags a request read, and why.

Install with ``pip install django-flagship[debug-toolbar]`` and add the panel
to the toolbar's::

    from debug_toolbar.settings import PANELS_DEFAULTS

    DEBUG_TOOLBAR_PANELS = [*PANELS_DEFAULTS, "django_flagship.contrib.debug_toolbar.FlagshipPanel"]

The panel shows each flag the request read with ``request.flags.get`` (or a
template tag): the value served and its type, the campaign, variation group
and variation behind it, whether the variation was activated; the visitor id
and the context the decision used, the mode, the bucket's version and age, and
for each campaign not entered, why. Only this module imports the toolbar: the
app's request path never does. When the toolbar starts, the panel turns on the
recording of reads (:func:`~django_flagship.flags.record_reads`) for the process. It only
looks: a request that read no flag stays undecided, and nothing is activated.
"""

from __future__ import annotations

from typing import Any

from debug_toolbar.panels import Panel

from ..flags import record_reads
from ._debug_report import request_report

__all__ = ["FlagshipPanel"]


class FlagshipPanel(Panel):
    # Reads only what the request already holds: safe under ASGI too.
    is_async = True

    @property
    def title(self) -> str:
        return "Flagship"

    @property
    def template(self) -> str:
        return "django_flagship/debug_toolbar/panel.html"

    @classmethod
    def ready(cls) -> None:
        # Called once by the toolbar's AppConfig.ready(), for its configured panels.
        record_reads()

    @property
    def nav_subtitle(self) -> str:
        return str(self.get_stats().get("subtitle", ""))

    def generate_stats(self, request: Any, response: Any) -> None:
        self.record_stats(request_report(request))
