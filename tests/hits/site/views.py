import os

from django.http import JsonResponse

from django_flagship.sdk.hits import Event, EventCategory


def visitor_id(request):
    return request.GET.get("visitor", "site-visitor")


def ready(request):
    return JsonResponse({"pid": os.getpid()})


def send_hit(request, label):
    hit = Event(EventCategory.ACTION_TRACKING, "site-click").with_event_label(label)
    sent = request.flags.send_hit(hit)
    # Reading a flag sends an activation too (once per visitor and request).
    color = request.flags.get("btn", "blue")
    return JsonResponse({"pid": os.getpid(), "sent": sent, "btn": color})
