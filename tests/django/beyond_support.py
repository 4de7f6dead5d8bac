"""Callables the flags_for, OpenFeature and DRF tests name in FLAGSHIP_* settings."""


def email_visitor_id(request):
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user.email
    return None


def plan_from_user(request):
    return {"plan": "pro" if request.user.username.startswith("pro") else "free"}


def consent_from_user(request):
    return request.user.username != "no-consent"
