"""Error pages: 400/403/404/500 keep the site's layout and navigation (DEBUG=False), are CSP-clean
(no inline script or style), and a 403 or 404 is one log line, never a traceback."""

from __future__ import annotations

import logging
import re

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import path

from numbersadmin import urls as project_urls

pytestmark = pytest.mark.django_db


def _boom(request):
    raise RuntimeError("kaput")


def _denied(request):
    raise PermissionDenied("no")


urlpatterns = [path("boom/", _boom), path("denied/", _denied), *project_urls.urlpatterns]
handler500 = project_urls.handler500


def _assert_layout(body: str, *, nav: bool = True) -> None:
    assert '<header class="topbar">' in body and 'href="/static/css/app.css"' in body
    if nav:
        assert '<nav aria-label="Main">' in body and 'href="/numbers/"' in body and 'href="/caller-ids/"' in body
    assert not re.search(r"<script(?![^>]*\bsrc=)", body), "inline script"
    assert "<style" not in body and " style=" not in body and not re.search(r"\son\w+=", body)


@pytest.fixture(autouse=True)
def _production(settings):
    settings.DEBUG = False


def test_404_page_has_navigation_and_says_what_was_asked(ops_client):
    response = ops_client.get("/numbers/987654321/")
    assert response.status_code == 404
    body = response.content.decode()
    _assert_layout(body)
    assert "Page not found" in body and "/numbers/987654321/" in body
    assert "<title>Not found · numbersadmin</title>" in body
    assert ops_client.get("/no-such-page/").status_code == 404


def test_403_page_has_navigation_and_explains_the_role(ops_client):
    response = ops_client.get("/settings/")
    assert response.status_code == 403
    body = response.content.decode()
    _assert_layout(body)
    assert "admins" in body and "403" in body
    # Ops users do not get the admin links in the menu of the error page either.
    assert 'href="/audit/"' not in body


def test_403_and_404_log_one_line_without_traceback(ops_client, caplog):
    caplog.set_level(logging.INFO)
    ops_client.get("/settings/")
    ops_client.get("/numbers/987654321/")
    ops_client.get("/no-such-page/")
    records = [r for r in caplog.records if r.name == "django.request"]
    assert any(r.getMessage().startswith("Forbidden (Permission denied): /settings/") for r in records)
    assert any(r.getMessage() == "Not Found: /no-such-page/" for r in records)
    assert all(r.exc_info is None for r in records)
    assert "Traceback" not in caplog.text


@pytest.mark.urls(__name__)
def test_500_page_has_navigation_and_keeps_the_traceback_in_the_log(ops_user, caplog):
    client = Client(raise_request_exception=False)
    client.force_login(ops_user)
    response = client.get("/boom/")
    assert response.status_code == 500
    body = response.content.decode()
    _assert_layout(body)
    assert "Something went wrong on our side" in body and "kaput" not in body
    errors = [r for r in caplog.records if r.name == "django.request" and r.levelno == logging.ERROR]
    assert errors and errors[0].exc_info is not None  # a real fault keeps its traceback


@pytest.mark.urls(__name__)
def test_403_from_a_view_raising_permission_denied(ops_client, caplog):
    response = ops_client.get("/denied/")
    assert response.status_code == 403
    _assert_layout(response.content.decode())
    assert "Traceback" not in caplog.text


@pytest.mark.urls(__name__)
def test_500_page_renders_even_when_the_layout_cannot(ops_user, monkeypatch):
    """A failing context (a database that is down) must not turn the error page into a second
    error: the page is rendered again without the request, then as plain text."""
    from numbersadmin.inventory.views import errors

    real = errors.loader.get_template("500.html")

    class NoRequest:
        def render(self, context=None, request=None):
            if request is not None:
                raise RuntimeError("database is down")
            return real.render(context)

    monkeypatch.setattr(errors.loader, "get_template", lambda name: NoRequest())
    client = Client(raise_request_exception=False)
    client.force_login(ops_user)
    response = client.get("/boom/")
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong on our side" in body
    _assert_layout(body, nav=False)

    class Broken:
        def render(self, context=None, request=None):
            raise RuntimeError("template broken")

    monkeypatch.setattr(errors.loader, "get_template", lambda name: Broken())
    response = client.get("/boom/")
    assert response.status_code == 500 and response["Content-Type"].startswith("text/plain")


def test_anonymous_404_has_the_layout_and_no_menu(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    body = response.content.decode()
    _assert_layout(body, nav=False)
    assert '<nav aria-label="Main">' not in body


def test_csrf_failure_page_uses_the_layout(ops_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(ops_user)
    response = client.post("/logout/")
    assert response.status_code == 403
    body = response.content.decode()
    _assert_layout(body)
    assert "This form has expired" in body
