"""Email: a Vietnamese notice by SMTP to the agency's focal points.

Art. 5.1.a names email among the channels of notification. Subject and body
come from ``phoihop.adapters.templates`` (or the adapter's own templates);
the event itself may ride along as a JSON attachment for systems that read
the mailbox. The ``Message-ID`` is derived from the event id and the
adapter, so a mail client or an archive that sees the same notice twice (a
retry after a lost answer) can tell it is one message.

Recipients are listed in the configuration, or taken from the registry's
focal points of the agency (Art. 5.3); placeholder entries of the shipped
registry are never written to.
"""

import json
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from marshmallow import ValidationError as SchemaError
from marshmallow import fields, validate, validates_schema

from phoihop.adapters.errors import AdapterConfigError, DeliveryFailed, DeliveryRefused
from phoihop.adapters.templates import render
from phoihop.adapters.transports.base import ENV_NAME, Transport, TransportSchema

SECURITY = ("none", "starttls", "ssl")


class EmailSchema(TransportSchema):
    host = fields.String(required=True, validate=validate.Length(min=1, max=255))
    port = fields.Integer(load_default=587, validate=validate.Range(min=1, max=65535))
    security = fields.String(load_default="starttls", validate=validate.OneOf(SECURITY))
    username = fields.String(load_default=None, allow_none=True)
    password_env = fields.String(load_default=None, allow_none=True, validate=ENV_NAME)
    from_address = fields.Email(required=True)
    from_name = fields.String(load_default="Hệ thống phối hợp xử lý thông tin xấu, độc")
    to = fields.List(fields.Email(), load_default=list)
    cc = fields.List(fields.Email(), load_default=list)
    to_focal_points = fields.Boolean(load_default=False)
    attach_event = fields.Boolean(load_default=True)
    timeout = fields.Float(load_default=20.0, validate=validate.Range(min=1, max=300))

    @validates_schema
    def _check(self, data, **kwargs):
        if not data.get("to") and not data.get("to_focal_points"):
            raise SchemaError("give recipients, or set to_focal_points", "to")
        if data.get("username") and not data.get("password_env"):
            raise SchemaError("name the variable holding the password", "password_env")


def focal_point_addresses(registry, agency):
    """Addresses of the agency's focal points that are real people."""
    if registry is None or agency not in registry:
        return []
    return [
        person.email
        for person in registry.focal_points(agency)
        if not person.placeholder and not person.email.endswith(".invalid")
    ]


class EmailTransport(Transport):
    kind = "email"
    schema = EmailSchema

    def __init__(self, settings, context):
        super().__init__(settings, context)
        self._password = self.secret("password_env")
        recipients = list(settings["to"])
        if settings["to_focal_points"]:
            recipients += focal_point_addresses(context.registry, context.agency)
        self.recipients = list(dict.fromkeys(recipients))
        if not self.recipients:
            raise AdapterConfigError(
                f"adapter {context.adapter!r}: no email recipient",
                {
                    f"{context.adapter}.transports.{self.name}.to": (
                        "the registry names no real focal point yet; list addresses"
                    )
                },
            )

    def describe(self):
        return f"email {self.settings['host']}:{self.settings['port']} -> " + ", ".join(
            self.recipients
        )

    def message(self, event, adapter, **extra):
        subject, body = render(
            event, adapter.agency, adapter.registry, self.context.templates
        )
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = (
            f"{self.settings['from_name']} <{self.settings['from_address']}>"
        )
        message["To"] = ", ".join(self.recipients)
        if self.settings["cc"]:
            message["Cc"] = ", ".join(self.settings["cc"])
        message["Date"] = formatdate(localtime=False)
        domain = self.settings["from_address"].split("@", 1)[1]
        message["Message-ID"] = f"<{event.id}.{adapter.name}@{domain}>"
        message["X-Phoihop-Event-Id"] = event.id
        message["X-Phoihop-Event-Type"] = event.type
        if event.case_id:
            message["X-Phoihop-Case-Id"] = event.case_id
        message.set_content(body, charset="utf-8")
        if self.settings["attach_event"]:
            message.add_attachment(
                json.dumps(event.envelope, ensure_ascii=False, indent=2).encode(
                    "utf-8"
                ),
                maintype="application",
                subtype="json",
                filename=f"su-kien-{event.id}.json",
            )

        return message

    def _connect(self):
        host, port, timeout = (
            self.settings["host"],
            self.settings["port"],
            self.settings["timeout"],
        )
        if self.settings["security"] == "ssl":
            return smtplib.SMTP_SSL(
                host, port, timeout=timeout, context=ssl.create_default_context()
            )
        smtp = smtplib.SMTP(host, port, timeout=timeout)
        if self.settings["security"] == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        return smtp

    def send(self, event, adapter, **extra):
        message = self.message(event, adapter, **extra)
        recipients = self.recipients + list(self.settings["cc"])
        try:
            with self._connect() as smtp:
                if self.settings["username"]:
                    smtp.login(self.settings["username"], self._password)
                # The sender is given apart: the display name has a comma,
                # which reading it back from the header would split on.
                refused = smtp.send_message(
                    message,
                    from_addr=self.settings["from_address"],
                    to_addrs=recipients,
                )
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryRefused(
                f"every recipient was refused: {exc.recipients}"
            ) from exc
        except smtplib.SMTPResponseException as exc:
            # 5xx is permanent in SMTP, 4xx is "try again later".
            reason = f"SMTP server answered {exc.smtp_code}: {exc.smtp_error!r}"
            if 500 <= exc.smtp_code < 600:
                raise DeliveryRefused(reason) from exc
            raise DeliveryFailed(reason) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(
                f"cannot send by SMTP: {type(exc).__name__}: {exc}"
            ) from exc

        return {
            "message_id": message["Message-ID"],
            "recipients": len(recipients) - len(refused),
            "refused": sorted(refused),
        }
