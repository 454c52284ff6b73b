"""Real browser: Debian's /usr/bin/chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def pytest_collection_modifyitems(config, items):
    # This hook sees every collected item: mark only the tests that live under this folder (a
    # path substring would also match a checkout that happens to sit in a folder named "browser").
    here = Path(__file__).resolve().parent
    for item in items:
        if Path(str(item.path)).resolve().is_relative_to(here):
            item.add_marker(pytest.mark.browser)


def every_provider_synced(*, numbers: int, seed: int, suffix: str):
    """A generator for fixtures: one account per provider on its own simulator, each synced once;
    yields the accounts, then stops the simulators."""
    from numbersadmin.inventory.services.accounts import account_create
    from providers import registry
    from providers.simulators.registry import demo_secrets, simulator

    from ..support.helpers import sync

    sims, accounts = [], []
    try:
        for slug, spec in registry.PROVIDERS.items():
            sim = simulator(slug, numbers=numbers, seed=seed)
            sim.start()
            sims.append(sim)
            account = account_create(provider=slug, name=f"{spec.name} {suffix}", base_url=sim.base_url,
                                     secrets=demo_secrets(slug))
            run = sync(account)
            assert run.state == "succeeded", (slug, run.error_message)
            accounts.append(account)
        yield accounts
    finally:
        for sim in sims:
            sim.stop()


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        if os.environ.get("REQUIRE_INTEGRATION"):
            pytest.fail(f"{CHROMIUM} not installed")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test
    # body are still synchronous and safe here.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic",
        ])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    pg.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
    # ERR_ABORTED is how Chromium ends a navigation that turned into a download (exports) or was
    # superseded by the next one: not a failure of ours. Anything else is.
    pg.on("requestfailed", lambda req: None if req.failure == "net::ERR_ABORTED"
          else errors.append(f"request failed: {req.url} {req.failure}"))
    yield pg
    context.close()
    # Any console error, script error or failed request fails the test (CSP violations included).
    assert not errors, errors


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    # caret="initial": hiding the caret makes Playwright inject a <style>, which our CSP (rightly) blocks.
    page.screenshot(path=str(path), full_page=True, caret="initial")
    return path


def login(page, live_server, username: str, password: str, next_path: str = "/numbers/") -> None:
    """Open ``next_path``, get sent to the login form, sign in and land back on ``next_path``."""
    page.goto(f"{live_server.url}{next_path}")
    assert "/login/" in page.url
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(rf".*{re.escape(next_path.split('?')[0])}.*"))


def numbers_in_table(page) -> list[str]:
    return page.locator("#numbers-table td[data-col=e164] a.num").all_inner_texts()
