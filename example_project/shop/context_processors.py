from typing import Any

from django.conf import settings
from django.http import HttpRequest

from .basket import SESSION_KEY


def shop(request: HttpRequest) -> dict[str, Any]:
    """The basket's item count for the header, without reading any flag."""
    quantities = request.session.get(SESSION_KEY, {}) if hasattr(request, "session") else {}
    return {
        "basket_count": sum(int(q) for q in quantities.values()),
        "flagship_online": getattr(settings, "EXAMPLE_ONLINE", False),
    }
