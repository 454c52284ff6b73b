"""The pytest side of the loopback identity provider: start server.py in its own process, point
the app's OIDC settings at it, and sign in through it without a browser (``sign_in``), the way a
browser would: authorize -> the IdP's login form -> consent -> back to our callback."""

from __future__ import annotations

import json
import os

import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID = "numbersadmin-tests"
CLIENT_SECRET = "loopback-client-secret-0123456789"  # a test IdP's; never a real one
# RFC 8252: any port on a loopback host; "testserver" is the Django test client's host.
REDIRECT_URIS = ["http://localhost/oidc/callback/", "http://127.0.0.1/oidc/callback/",
                 "http://testserver/oidc/callback/"]
GROUP_MAP = "idp-carrier=Carrier team,idp-cc=Contact centre,idp-both=Carrier team,idp-both=Contact centre"
USERS = [
    {"username": "ana", "password": "ana-idp-pass-1", "email": "ana@example.com", "first_name": "Ana",
     "last_name": "Lima", "groups": ["idp-carrier", "idp-unmapped"]},
    {"username": "ben", "password": "ben-idp-pass-1", "email": "ben@example.com", "first_name": "Ben",
     "last_name": "Okafor", "groups": ["idp-cc"]},
]


class LoopbackIdP:
    def __init__(self, state_dir: Path, users=USERS):
        self.state_dir, self.users = Path(state_dir), users
        self.proc: subprocess.Popen | None = None
        self.base_url = ""

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/o"

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def start(self, timeout: float = 60.0) -> "LoopbackIdP":
        self.state_dir.mkdir(parents=True, exist_ok=True)
        users_file = self.state_dir / "users.json"
        users_file.write_text(json.dumps(self.users))
        cmd = [sys.executable, "-m", "tests.idp.server", "--state-dir", str(self.state_dir), "--client-id", CLIENT_ID,
               "--client-secret", CLIENT_SECRET, "--users", str(users_file)]
        for uri in REDIRECT_URIS:
            cmd += ["--redirect-uri", uri]
        env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
        self.stderr = open(self.state_dir / "stderr.log", "wb")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        if not line or not line[0].startswith("READY "):
            self.stop()
            raise RuntimeError(f"loopback IdP did not start: {(self.state_dir / 'stderr.log').read_text()[-2000:]}")
        self.base_url = line[0].split()[1]
        assert urlsplit(self.base_url).hostname == "127.0.0.1"
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "stderr", None):
            self.stderr.close()

    def set_users(self, users: list[dict]) -> None:
        requests.post(f"{self.base_url}/__test__/users/", data=json.dumps(users), timeout=10).raise_for_status()

    def rp_settings(self, group_map: str = GROUP_MAP, **extra) -> dict:
        """The app's settings for this IdP (what the OIDC_* environment variables become)."""
        return {
            "OIDC_ENABLED": True, "OIDC_RP_CLIENT_ID": CLIENT_ID, "OIDC_RP_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_OP_DISCOVERY_URL": self.discovery_url, "OIDC_OP_ISSUER": "",
            "OIDC_OP_AUTHORIZATION_ENDPOINT": "", "OIDC_OP_TOKEN_ENDPOINT": "", "OIDC_OP_USER_ENDPOINT": "",
            "OIDC_OP_JWKS_ENDPOINT": "", "OIDC_RP_SIGN_ALGO": "RS256", "OIDC_GROUP_MAP": group_map,
            "OIDC_GROUPS_CLAIM": "groups", "OIDC_CREATE_USERS": True, **extra,
        }


class _Form(HTMLParser):
    """The first form's action and its inputs (hidden and named submit buttons)."""

    def __init__(self):
        super().__init__()
        self.action, self.fields, self.done = None, {}, False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = a.get("action") or ""
        elif tag == "input" and not self.done and a.get("name") and a.get("type") != "submit":
            self.fields[a["name"]] = a.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self.done = True


def _form(html: str) -> _Form:
    parser = _Form()
    parser.feed(html)
    return parser


def authorize_at_idp(authorize_url: str, username: str, password: str, *, allow: bool = True) -> str:
    """What a browser does at the IdP: log in, consent. Returns the redirect back to the app
    (our callback URL with code and state, or an error)."""
    s = requests.Session()
    r = s.get(authorize_url, allow_redirects=True, timeout=10)
    assert "/accounts/login/" in r.url, r.url
    form = _form(r.text)
    form.fields.update({"username": username, "password": password})
    r = s.post(r.url, data=form.fields, headers={"Referer": r.url}, allow_redirects=False, timeout=10)
    if r.status_code == 200:
        raise AssertionError("the IdP refused the password")
    r = s.get(urljoin(authorize_url, r.headers["Location"]), allow_redirects=False, timeout=10)
    if r.status_code == 200:  # the consent page
        form = _form(r.text)
        if allow:
            form.fields["allow"] = "Authorize"
        r = s.post(r.url, data=form.fields, headers={"Referer": r.url}, allow_redirects=False, timeout=10)
    assert r.status_code == 302, (r.status_code, r.text[:500])
    return r.headers["Location"]


def sign_in(client, username: str, password: str, *, allow: bool = True, next_path: str = ""):
    """Sign ``client`` (Django's test client) in through the IdP; returns the callback response."""
    start = client.get("/oidc/authenticate/" + (f"?next={next_path}" if next_path else ""))
    assert start.status_code == 302, start.status_code
    back = authorize_at_idp(start["Location"], username, password, allow=allow)
    parts = urlsplit(back)
    assert parts.path == "/oidc/callback/", back
    return client.get(parts.path, parse_qs(parts.query))


def code_and_state(callback_url: str) -> tuple[str, str]:
    q = parse_qs(urlsplit(callback_url).query)
    return q["code"][0], q["state"][0]



