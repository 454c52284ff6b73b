"""Home page: inventory totals and sync health (issue 7). Being built."""

from django.shortcuts import redirect


def dashboard(request):
    return redirect("numbers")
