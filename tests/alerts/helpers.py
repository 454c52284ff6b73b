from __future__ import annotations

import datetime as dt

from django.utils import timezone

from numbersadmin.alerts import runner
from numbersadmin.alerts.forms import RuleForm
from numbersadmin.alerts.services import manage


def add_rule(**data):
    """Through the same form as the web page and the CLI."""
    values = {k: ("\n".join(v) if isinstance(v, list) else v) for k, v in data.items()}
    form = RuleForm(values)
    assert form.is_valid(), form.errors
    return manage.create_rule(form.cleaned_data, actor="test")


def run(now=None):
    return runner.run(now or timezone.now())


def later(**kw) -> dt.datetime:
    return timezone.now() + dt.timedelta(**kw)


def digest_lines(message) -> list[str]:
    """The item lines ("- label: text") of an email digest."""
    body = message.get_body(preferencelist=("plain",)).get_content()
    return [line for line in body.splitlines() if line.startswith("- ")]
