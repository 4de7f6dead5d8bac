"""Django REST framework: gate an API view or a viewset action behind a flag.

Install with ``pip install django-flagship[drf]``::

    from django_flagship.contrib.drf import FlagRequired

    class ReportViewSet(viewsets.ModelViewSet):
        permission_classes = [IsAuthenticated, FlagRequired("beta_api")]

        @action(detail=False, permission_classes=[FlagRequired("exports", status=403)])
        def export(self, request): ...

The flag is read through ``request.flags`` (``FlagshipMiddleware`` must be
installed; without it the permission raises), so the check activates the
variation once and agrees with every template and view of the same request.
When the flag is not ``True`` the view answers 404, as if the endpoint did
not exist, or 403: the ``status`` argument, else ``FLAGSHIP_DRF_DENY_STATUS``.
``manage.py check`` reports any other value of the setting
(``django_flagship.E017``); should one reach a request anyway, it is logged
and the gate answers the default, 404: still closed, never a 500.

The permission answers the request itself rather than returning ``False``
(DRF has no way to turn ``False`` into a 404), so list it on its own in
``permission_classes``; do not combine it with ``|`` or ``~``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from django_flagship.conf import conf
from django_flagship.setting_parsers import DRF_DENY_STATUSES, deny_status

__all__ = ["DENY_STATUSES", "FlagPermission", "FlagRequired"]

#: The statuses a disabled flag may answer with.
DENY_STATUSES = DRF_DENY_STATUSES


def _check_status(name: str, value: Any) -> int:
    try:
        return deny_status(name, value)
    except ValueError as exc:
        raise ImproperlyConfigured(str(exc)) from None


def _deny_status_setting() -> int:
    """``FLAGSHIP_DRF_DENY_STATUS``; for a malformed value, logged once, the default."""
    status: int = conf.value("FLAGSHIP_DRF_DENY_STATUS")
    return status


class FlagPermission(BasePermission):
    """Allows the request when flag :attr:`flag` is ``True`` for the visitor.

    Usually made with :func:`FlagRequired`; subclass it to set the attributes
    in a class of your own.
    """

    #: The flag key; the request passes when its value is the boolean ``True``.
    flag: str = ""
    #: 403 or 404; ``None`` takes ``FLAGSHIP_DRF_DENY_STATUS``.
    status: int | None = None
    #: The 403 detail (a 404 keeps DRF's "Not found." so nothing leaks).
    message: str = "This feature is not available."
    code: str = "flag_disabled"

    def has_permission(self, request: Request, view: Any) -> bool:
        if self._enabled(request):
            return True
        status = self.status if self.status is not None else _deny_status_setting()
        if status == 404:
            raise NotFound()
        raise PermissionDenied(detail=self.message, code=self.code)

    def _enabled(self, request: Request) -> bool:
        if not self.flag:
            raise ImproperlyConfigured(f"{type(self).__name__} has no flag key")
        flags = getattr(request, "flags", None)
        if flags is None:
            # As @flag_required does: a configuration error, not a silent 404.
            raise RuntimeError(
                f"{type(self).__name__} needs request.flags: add "
                "'django_flagship.middleware.FlagshipMiddleware' to MIDDLEWARE"
            )
        return flags.get(self.flag, False) is True


def FlagRequired(
    flag: str, *, status: int | None = None, message: str | None = None
) -> type[FlagPermission]:
    """A permission class requiring ``flag``; ``status`` 403 or 404 (default: the setting)."""
    if not isinstance(flag, str) or not flag:
        raise TypeError("FlagRequired needs a flag key (a non-empty string)")
    attributes: dict[str, Any] = {"flag": flag, "__module__": __name__}
    if status is not None:
        attributes["status"] = _check_status("status", status)
    if message is not None:
        attributes["message"] = message
    return type(f"FlagRequired[{flag}]", (FlagPermission,), attributes)
