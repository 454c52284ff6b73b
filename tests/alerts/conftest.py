"""Real receivers on loopback: an SMTP server (aiosmtpd) and an HTTP webhook receiver whose
answer (status, delay) each test sets."""

from __future__ import annotations

import email
import email.policy

import pytest

from ..support.receivers import free_port, running_receiver


class _Collector:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.original_content or envelope.content,
                                                      policy=email.policy.default))
        return "250 Message accepted"


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on 127.0.0.1; settings point Django's SMTP backend at it (as EMAIL_URL=smtp://... does)."""
    import logging

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)

    collector = _Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                                    "OPTIONS": {"host": "127.0.0.1", "port": controller.port, "timeout": 5}}}
    yield collector
    controller.stop()


@pytest.fixture
def receiver():
    with running_receiver() as r:
        yield r


@pytest.fixture
def second_receiver():
    with running_receiver() as r:
        yield r


@pytest.fixture(autouse=True)
def _alert_settings(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.SITE_URL = "http://numbers.test"
    settings.ALERT_HTTP_TIMEOUT = 2.0
    settings.ALERT_RETRY_BASE_SECONDS = 30.0
    settings.ALERT_DELIVERY_ATTEMPTS = 3
