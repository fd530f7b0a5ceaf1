"""The testbed's SMTP server: Debian's aiosmtpd storing every message in a Maildir.

Usage: smtp-server.py HOST:PORT MAILDIR. With MM_SMTP_USER and MM_SMTP_PASSWORD in the
environment it requires AUTH (PLAIN or LOGIN, allowed without TLS on the test network) with
exactly those credentials and refuses any other.
"""
import os
import signal
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword

host, port = sys.argv[1].rsplit(":", 1)
user = os.environ.get("MM_SMTP_USER", "").encode()
password = os.environ.get("MM_SMTP_PASSWORD", "").encode()


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == user
        and auth_data.password == password
    )
    return AuthResult(success=ok)


options = {}
if user:
    options = dict(authenticator=authenticator, auth_required=True, auth_require_tls=False)
controller = Controller(Mailbox(sys.argv[2]), hostname=host, port=int(port), **options)
controller.start()
signal.sigwait({signal.SIGTERM, signal.SIGINT})
controller.stop()
