"""Views and callables the hit tests name in URLs and FLAGSHIP_* settings."""

from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from django_flagship.client import get_client
from django_flagship.consent import set_consent
from django_flagship.sdk.hits import Event, EventCategory
from django_flagship.sdk.tracking import MemoryTracker

ENV = "not callable"


def visitor_id(request):
    return request.GET.get("visitor", "visitor-1")


def never(request):
    return False


def custom_sink(config):
    return MemoryTracker(maxlen=7)


def not_a_tracker(config):
    return object()


def send(request):
    label = request.GET.get("label", "label")
    sent = request.flags.send_hit(
        Event(EventCategory.ACTION_TRACKING, "click").with_event_label(label)
    )
    return JsonResponse({"sent": sent, "btn": request.flags.get("btn", "blue")})


def flush(request):
    return JsonResponse({"flushed": get_client().tracker.flush(5)})


@csrf_exempt
def page(request):
    return HttpResponse("<h1>page</h1>")


async def async_page(request):
    return HttpResponse("<h1>async page</h1>")


def json_page(request):
    return JsonResponse({"page": False})


def redirect_page(request):
    return HttpResponseRedirect("/page/")


@csrf_exempt
def consent(request):
    set_consent(request, request.POST.get("analytics") == "yes")
    return HttpResponse(status=204)
