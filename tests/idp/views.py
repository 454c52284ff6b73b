import json

from django.http import HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .server import upsert_users


@csrf_exempt
@require_POST
def test_users(request):
    """Tests change users (groups) between sign-ins. Loopback clients only."""
    if request.META.get("REMOTE_ADDR") != "127.0.0.1":
        return HttpResponseForbidden()
    upsert_users(json.loads(request.body))
    return HttpResponse("ok")
