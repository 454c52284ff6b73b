"""`manage.py demo` (make run): the address is checked before anything happens, passwords are kept
between runs, a re-run reports numbers unchanged, and the data is dated from today (renewals ahead,
a few overdue; caller IDs owned by demo numbers, some expiring)."""

from __future__ import annotations

import datetime as dt
import io
import json
import socket

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from numbersadmin.inventory.management.commands import demo
from numbersadmin.inventory.models import PhoneNumber
from numbersadmin.inventory.selectors import caller_id_queryset
from numbersadmin.portcheck import AddressError, check_free, parse_addr

pytestmark = pytest.mark.django_db(transaction=True)


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture
def addr():
    """A free dashboard address whose five simulator ports are free too (ports follow the address)."""
    for port in range(8300, 8700):
        base = demo.simulator_port_base(port)
        if _free(port) and all(_free(base + i) for i in range(5)):
            return f"127.0.0.1:{port}"
    pytest.skip("no free port range for the demo simulators")


@pytest.fixture
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return tmp_path


def run_demo(addr, *args) -> str:
    out = io.StringIO()
    call_command("demo", "--no-serve", "--addr", addr, "--numbers", "80", *args, stdout=out)
    return out.getvalue()


def logins(output: str) -> dict[str, str]:
    return {line.split()[1]: line.split()[3] for line in output.splitlines() if line.strip().startswith("login ")}


def test_rerun_keeps_passwords_and_reports_numbers_unchanged(addr, var_dir):
    first = run_demo(addr)
    assert first.count("Succeeded") == 5, first
    passwords = logins(first)
    assert set(passwords) == {"admin", "ops"} and all(len(p) >= 12 for p in passwords.values())
    stored = var_dir / "demo_logins.json"
    assert json.loads(stored.read_text()) == passwords and stored.stat().st_mode & 0o777 == 0o600

    second = run_demo(addr)
    assert logins(second) == passwords and "new password" not in second
    for line in (l for l in second.splitlines() if "simulator" in l):
        assert "0 added, 0 changed" in line, line
    User = get_user_model()
    assert User.objects.get(username="admin").check_password(passwords["admin"])
    assert User.objects.get(username="ops").check_password(passwords["ops"])

    third = run_demo(addr, "--reset-passwords")
    fresh = logins(third)
    assert fresh["admin"] != passwords["admin"] and fresh["ops"] != passwords["ops"]
    assert User.objects.get(username="admin").check_password(fresh["admin"])


def test_a_password_changed_in_the_app_is_left_alone(addr, var_dir):
    run_demo(addr)
    user = get_user_model().objects.get(username="ops")
    user.set_password("my-own-password-42")
    user.save()
    output = run_demo(addr)
    assert "login ops / (your own password)" in output and "--reset-passwords" in output
    user.refresh_from_db()
    assert user.check_password("my-own-password-42")


def test_demo_data_is_dated_from_today(addr, var_dir):
    run_demo(addr)
    now = timezone.now()
    didww = PhoneNumber.objects.filter(provider="didww", removed_at__isnull=True)
    assert didww.exclude(expires_at__isnull=True).count() == didww.count() > 0
    ahead, overdue = didww.filter(expires_at__gte=now).count(), didww.filter(expires_at__lt=now).count()
    assert overdue >= 1 and ahead > 10 * overdue  # a few overdue, the rest renew within about a month
    assert not didww.filter(expires_at__gt=now + dt.timedelta(days=32)).exists()
    plivo = PhoneNumber.objects.filter(provider="plivo", expires_at__isnull=False)
    assert plivo.exists() and not plivo.filter(expires_at__lt=now).exists()
    # Caller IDs that are DIDWW numbers of the demo, some expiring soon: the cross-link can be seen.
    owned = caller_id_queryset().filter(owned_number_id__isnull=False, kind="verified", account__provider="voximplant")
    states = list(owned.values_list("state", flat=True))
    assert "expiring" in states
    number = PhoneNumber.objects.get(pk=owned.filter(state="expiring").first().owned_number_id)
    assert number.provider == "didww"


def test_busy_port_fails_before_anything_happens(var_dir):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(CommandError) as exc:
            call_command("demo", "--addr", f"127.0.0.1:{port}", stdout=io.StringIO())
    message = str(exc.value)
    assert f"Port {port} on 127.0.0.1 is already in use" in message and f"ADDR=127.0.0.1:{port + 1}" in message
    # Nothing was set up: no users, no passwords, no accounts.
    assert not get_user_model().objects.exists()
    assert not (var_dir / "demo_logins.json").exists()


@pytest.mark.parametrize("value,expected", [("127.0.0.1:8001", ("127.0.0.1", 8001)), ("8002", ("127.0.0.1", 8002)),
                                            ("[::1]:8003", ("::1", 8003)), ("localhost:9000", ("localhost", 9000))])
def test_parse_addr(value, expected):
    assert parse_addr(value) == expected


@pytest.mark.parametrize("value", ["", "nope", "127.0.0.1:0", "127.0.0.1:70000", "127.0.0.1:80a", "a b:80"])
def test_bad_addresses_are_refused_with_an_example(value):
    with pytest.raises(AddressError, match="make run ADDR=127.0.0.1:8000"):
        check_free(value)


def test_simulator_ports_follow_the_dashboard_port():
    assert demo.simulator_port_base(8000) == 18600 and demo.simulator_port_base(8001) == 18610
    assert all(18600 <= demo.simulator_port_base(p) <= 22590 for p in (1, 80, 8000, 8399, 8400, 65535))
