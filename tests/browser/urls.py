from django.http import HttpRequest, HttpResponse
from django.template import RequestContext, Template
from django.urls import include, path

PAGE = Template(
    "{% load flagship_browser %}"
    '{% flags_json "color" "size" "missing" %}'
    '<p id="visitor">{{ request.flags.visitor_id }}</p>'
)
#: A page that only tracks: it names no flag.
PAGE_TRACKING_ONLY = Template("{% load flagship_browser %}{% flags_json %}")
PAGE_NO_ACTIVATION = Template(
    '{% load flagship_browser %}{% flags_json names activate=False element_id="flagship-data-2" %}'
)


def page(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE.render(RequestContext(request)))


def tracking_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE_TRACKING_ONLY.render(RequestContext(request)))


def plain_page(request: HttpRequest) -> HttpResponse:
    """A page of the site that reads no flag."""
    return HttpResponse("<p>About us</p>")


def quiet_page(request: HttpRequest) -> HttpResponse:
    context = RequestContext(request, {"names": ["color", "size"]})
    return HttpResponse(PAGE_NO_ACTIVATION.render(context))


urlpatterns = [
    path("page/", page),
    path("quiet/", quiet_page),
    path("tracking/", tracking_page),
    path("plain/", plain_page),
    path("flagship/", include("django_flagship.browser_urls")),
]
