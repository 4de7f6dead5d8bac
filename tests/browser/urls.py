from django.http import HttpRequest, HttpResponse
from django.template import RequestContext, Template
from django.urls import include, path

PAGE = Template(
    "{% load flagship_browser %}"
    '{% flags_json "color" "size" "missing" %}'
    '<p id="visitor">{{ request.flags.visitor_id }}</p>'
)
PAGE_NO_ACTIVATION = Template(
    '{% load flagship_browser %}{% flags_json names activate=False element_id="flagship-data-2" %}'
)


def page(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE.render(RequestContext(request)))


def quiet_page(request: HttpRequest) -> HttpResponse:
    context = RequestContext(request, {"names": ["color", "size"]})
    return HttpResponse(PAGE_NO_ACTIVATION.render(context))


urlpatterns = [
    path("page/", page),
    path("quiet/", quiet_page),
    path("flagship/", include("django_flagship.browser_urls")),
]
