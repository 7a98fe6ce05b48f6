"""Email over SMTP: a text and an HTML part, implicit TLS or STARTTLS, and login, as configured."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from notify.domain.channels import DeliveryFailed, Endpoint, Message


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    # "none", "starttls" or "ssl" (implicit TLS).
    tls: str = "none"
    user: str = ""
    password: str = ""
    timeout_seconds: float = 10.0
    # A CA file to trust (a private relay's certificate); the system's store otherwise.
    ca_file: str = ""


def build(message: Message, sender: str, to: str) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = message.title
    mail["From"] = formataddr(("Shangji", sender))
    mail["To"] = to
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    mail.set_content(message.text)
    mail.add_alternative(message.html, subtype="html")
    return mail


class SmtpSender:
    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.config.ca_file or None)

    def send(self, endpoint: Endpoint, message: Message) -> None:
        c = self.config
        if not endpoint.address:
            raise DeliveryFailed("no email address for the recipient")
        try:
            if c.tls == "ssl":
                smtp = smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout_seconds, context=self._context())
            else:
                smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout_seconds)
            with smtp:
                if c.tls == "starttls":
                    smtp.starttls(context=self._context())
                if c.user:
                    smtp.login(c.user, c.password)
                smtp.send_message(build(message, c.sender, endpoint.address))
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(f"SMTP {type(exc).__name__}: {exc}"[:500]) from exc
