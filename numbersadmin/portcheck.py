"""Is the dashboard's address free? Standard library only, so ``make run`` can ask before it
builds the virtualenv (``python numbersadmin/portcheck.py 127.0.0.1:8001``), and ``manage.py
demo`` asks again before it migrates, syncs or makes passwords."""

from __future__ import annotations

import errno
import re
import socket
import sys

DEFAULT_ADDR = "127.0.0.1:8000"
_ADDR = re.compile(r"^(?:(?P<host>\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):)?(?P<port>\d{1,5})$")


class AddressError(Exception):
    """The address is malformed, busy or unusable; the message says what to do."""


def parse_addr(addr: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``PORT`` (as runserver takes it) -> (host, port); host defaults to 127.0.0.1."""
    match = _ADDR.match((addr or "").strip())
    port = int(match["port"]) if match else 0
    if not match or not 0 < port < 65536:
        raise AddressError(f"Address {addr!r}: expected HOST:PORT or PORT, e.g. make run ADDR={DEFAULT_ADDR}")
    return (match["host"] or "127.0.0.1").strip("[]"), port


def check_free(addr: str) -> tuple[str, int]:
    """Bind the address once, as the dev server will; raise AddressError when that fails."""
    host, port = parse_addr(addr)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    shown = f"[{host}]" if ":" in host else host
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does: TIME_WAIT is not busy
            sock.bind((host, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise AddressError(f"Port {port} on {host} is already in use (another `make run` or server?). Stop it, "
                               f"or choose another address: make run ADDR={shown}:{port + 1}") from None
        raise AddressError(f"Cannot listen on {shown}:{port} ({exc.strerror or exc}). "
                           f"Choose another address, e.g. make run ADDR={DEFAULT_ADDR}") from None
    return host, port


if __name__ == "__main__":
    try:
        check_free(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_ADDR)
    except AddressError as exc:
        print(exc, file=sys.stderr)
        sys.exit(1)
