"""Personal API tokens: list, create (the secret is shown once, on the response to the POST), revoke."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from ..models import ApiToken
from ..services import tokens


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, label="Name", help_text="What uses it, e.g. “billing reconciliation”.")
    access = forms.ChoiceField(choices=[("read", "Read only"), ("write", "Read and write")], initial="read",
                               label="Access")
    expires_in_days = forms.IntegerField(required=False, min_value=1, max_value=tokens.MAX_EXPIRY_DAYS,
                                         label="Expires after (days)", help_text="Empty: never.")


@require_http_methods(["GET", "POST"])
def token_list(request):
    created = None
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            token, secret = tokens.create_token(request.user, form.cleaned_data["name"],
                                                read_only=form.cleaned_data["access"] == "read",
                                                expires_in_days=form.cleaned_data["expires_in_days"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            created = (token, secret)
            form = TokenForm()
    response = render(request, "inventory/api_tokens.html", {
        "form": form, "created": created, "tokens": ApiToken.objects.filter(user=request.user),
    })
    response["Cache-Control"] = "no-store"  # the page may hold a secret shown once
    return response


@require_POST
def token_revoke(request, pk: int):
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)  # someone else's: 404
    tokens.revoke_token(token, request.user)
    messages.success(request, f"Revoked token “{token.name}”.")
    return redirect("api_tokens")
