"""Run the loopback identity provider in this process (started by harness.LoopbackIdP):

    python -m tests.idp.server --state-dir DIR --client-id ID --client-secret SECRET \
        --redirect-uri http://localhost/oidc/callback/ [--redirect-uri ...] --users users.json

Binds 127.0.0.1 on a free port, makes a fresh RSA key (cryptography) and SQLite database under
DIR, creates the users (username, password, email, names, groups) and one confidential client
(authorization code, RS256, consent asked), then prints ``READY <base url>`` and serves until
killed. POST /__test__/users/ (JSON list, like --users) adds or changes users while it runs."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def make_key(path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def upsert_users(users: list[dict]) -> None:
    from django.contrib.auth.models import Group, User

    for spec in users:
        user, _ = User.objects.get_or_create(username=spec["username"])
        user.email = spec.get("email", "")
        user.first_name = spec.get("first_name", "")
        user.last_name = spec.get("last_name", "")
        user.set_password(spec["password"])
        user.save()
        user.groups.set([Group.objects.get_or_create(name=name)[0] for name in spec.get("groups", [])])


def create_client(client_id: str, secret: str, redirect_uris: list[str]) -> None:
    from oauth2_provider.models import get_application_model

    Application = get_application_model()
    Application.objects.filter(client_id=client_id).delete()
    Application.objects.create(
        name="numbersadmin (tests)", client_id=client_id, client_secret=secret,
        client_type=Application.CLIENT_CONFIDENTIAL, authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=" ".join(redirect_uris), algorithm=Application.RS256_ALGORITHM, skip_authorization=False,
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--redirect-uri", action="append", required=True)
    parser.add_argument("--users", required=True, help="JSON file: a list of users")
    args = parser.parse_args(argv)

    state = Path(args.state_dir)
    state.mkdir(parents=True, exist_ok=True)
    (state / "idp.sqlite3").unlink(missing_ok=True)

    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format, *args):  # noqa: A002 - the stdlib's name
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=False)
    base_url = f"http://127.0.0.1:{server.server_port}"
    make_key(state / "key.pem")
    os.environ.update({"DJANGO_SETTINGS_MODULE": "tests.idp.settings", "IDP_DB": str(state / "idp.sqlite3"),
                       "IDP_KEY_FILE": str(state / "key.pem"), "IDP_ISSUER": f"{base_url}/o"})
    import django

    django.setup()
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application

    call_command("migrate", verbosity=0, interactive=False)
    upsert_users(json.loads(Path(args.users).read_text()))
    create_client(args.client_id, args.client_secret, args.redirect_uri)
    server.set_app(get_wsgi_application())
    print(f"READY {base_url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    sys.exit(main())
