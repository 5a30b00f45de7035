"""edXML: the event as an electronic document for the agency's document system.

Art. 5.1.c names the shared document-management application as a channel.
Vietnamese document systems exchange packages in the edXML format of
QCVN 102:2016/BTTTT; this transport writes one package per event, with the
Vietnamese notice as the document's summary and content and the event JSON
as its one attachment, and drops it in a folder the agency's system
watches, or POSTs it to the agency's endpoint (signed as the webhook is).

The package is built from what is publicly known of the standard (see the
project's notes on edXML); an agency whose system needs more of the header
fills it with the settings below. Organisation ids default to the
registry's, which each agency confirms.
"""

import base64
import json
import os
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import requests
from marshmallow import RAISE, Schema, fields, validate, validates_schema
from marshmallow import ValidationError as SchemaError

from phoihop.adapters.blocking import run_blocking
from phoihop.adapters.templates import render
from phoihop.adapters.transports.base import ENV_NAME, Transport, TransportSchema
from phoihop.adapters.transports.webhook import post, signed_headers
from phoihop.i18n import DISPLAY_TZ, local_time

NAMESPACE = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
PREFIX = "edXML"
ATTACHMENT_ID = "event-json"

ET.register_namespace(PREFIX, NAMESPACE)


def _tag(name):
    return f"{{{NAMESPACE}}}{name}"


def _add(parent, name, text=None):
    element = ET.SubElement(parent, _tag(name))
    if text is not None:
        element.text = str(text)
    return element


class SignerSchema(Schema):
    class Meta:
        unknown = RAISE

    competence = fields.String(load_default="TM. Sở Thông tin và Truyền thông")
    position = fields.String(load_default="Chánh Thanh tra Sở")
    full_name = fields.String(load_default="")


class EdxmlSchema(TransportSchema):
    directory = fields.String(load_default=None, allow_none=True)
    url = fields.Url(
        load_default=None, allow_none=True, schemes={"http", "https"}, require_tld=False
    )
    secret_env = fields.String(load_default=None, allow_none=True, validate=ENV_NAME)
    timeout = fields.Float(load_default=20.0, validate=validate.Range(min=0.1, max=300))
    from_org_id = fields.String(load_default=None, allow_none=True)
    from_name = fields.String(load_default=None, allow_none=True)
    to_org_id = fields.String(load_default=None, allow_none=True)
    code_notation = fields.String(load_default="TTTT-TTr")
    place = fields.String(load_default="Hải Phòng")
    type_name = fields.String(load_default="Công văn")
    signer = fields.Nested(SignerSchema, load_default=lambda: SignerSchema().load({}))
    priority = fields.Integer(load_default=0, validate=validate.Range(min=0, max=4))

    @validates_schema
    def _check(self, data, **kwargs):
        if not data.get("directory") and not data.get("url"):
            raise SchemaError(
                "give a directory to drop into or a url to post to", "directory"
            )


def _org(registry, code, fallback_id):
    if registry is not None and code and code in registry:
        agency = registry.get(code)
        return agency.edxml_org_id, agency.name_vi
    return fallback_id, code or ""


def build_package(event, adapter, settings, templates=None):
    """The edXML package of ``event`` for ``adapter``'s agency, as bytes."""
    registry = adapter.registry
    lead = registry.lead.code if registry is not None else "dic"
    from_id, from_name = _org(registry, lead, settings["from_org_id"])
    from_id = settings["from_org_id"] or from_id
    from_name = settings["from_name"] or from_name
    to_id, to_name = _org(registry, adapter.agency, settings["to_org_id"])
    to_id = settings["to_org_id"] or to_id
    subject, body = render(event, adapter.agency, registry, templates)
    issued = event.occurred_at.astimezone(DISPLAY_TZ)
    number = event.number or 0

    root = ET.Element(_tag("edXML"))
    envelope = _add(root, "edXMLEnvelope")
    header = _add(envelope, "edXMLHeader")
    message = _add(header, "MessageHeader")
    sender = _add(message, "From")
    _add(sender, "OrganId", from_id)
    _add(sender, "OrganName", from_name)
    receiver = _add(message, "To")
    _add(receiver, "OrganId", to_id)
    _add(receiver, "OrganName", to_name)
    notation = settings["code_notation"]
    _add(message, "DocumentId", f"{from_id},{issued:%Y/%m/%d},{number}/{notation}")
    code = _add(message, "Code")
    _add(code, "CodeNumber", number)
    _add(code, "CodeNotation", notation)
    promulgation = _add(message, "PromulgationInfo")
    _add(promulgation, "Place", settings["place"])
    _add(promulgation, "PromulgationDate", f"{issued:%Y/%m/%d}")
    kind = _add(message, "DocumentType")
    _add(kind, "Type", 1)
    _add(kind, "TypeDetail", 0)
    _add(kind, "TypeName", settings["type_name"])
    _add(message, "Subject", subject)
    _add(message, "Content", body)
    signer = _add(message, "SignerInfo")
    _add(signer, "Competence", settings["signer"]["competence"])
    _add(signer, "Position", settings["signer"]["position"])
    _add(signer, "FullName", settings["signer"]["full_name"])
    due = event.payload.get("due_at")
    if due:
        _add(message, "DueDate", local_time(due, "%Y/%m/%d"))
    other = _add(message, "OtherInfo")
    _add(other, "Priority", settings["priority"])
    _add(other, "SphereOfPromulgation", "Liên thông văn bản")
    _add(other, "PageAmount", 1)
    _add(other, "Appendixes", 1)
    _add(message, "SteeringType", 0)

    traces = _add(header, "TraceHeaderList")
    trace = _add(traces, "TraceHeader")
    _add(trace, "OrganId", from_id)
    _add(trace, "Timestamp", f"{issued:%Y/%m/%d %H:%M:%S}")
    business = _add(traces, "Bussiness")
    _add(business, "BussinessDocType", 0)
    _add(business, "BussinessDocReason", "Gửi mới")
    _add(business, "Paper", 0)

    body_element = _add(envelope, "edXMLBody")
    manifest = _add(body_element, "edXMLManifest")
    reference = _add(manifest, "Reference")
    _add(reference, "ContentId", f"cid:{ATTACHMENT_ID}")
    _add(reference, "ContentType", "application/json")
    _add(reference, "Description", "Dữ liệu sự kiện (JSON)")
    _add(reference, "AttachmentName", f"su-kien-{event.id}.json")

    encoded = _add(root, "AttachmentEncoded")
    attachment = _add(encoded, "Attachment")
    _add(attachment, "ContentId", ATTACHMENT_ID)
    _add(attachment, "AttachmentName", f"su-kien-{event.id}.json")
    _add(attachment, "ContentType", "application/json")
    data = json.dumps(event.envelope, ensure_ascii=False, sort_keys=True).encode(
        "utf-8"
    )
    _add(attachment, "ContentTransferEncoded", base64.b64encode(data).decode("ascii"))

    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def drop_file(directory, name, data):
    """Write ``data`` to ``directory/name`` atomically: a watcher never sees
    half a file, and a retry overwrites rather than duplicates."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / name
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".part-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            run_blocking(os.fsync, stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise

    return target


class EdxmlTransport(Transport):
    kind = "edxml"
    schema = EdxmlSchema

    def __init__(self, settings, context):
        super().__init__(settings, context)
        self._secret = self.secret("secret_env")
        self._session = requests.Session() if settings["url"] else None

    def describe(self):
        target = self.settings["directory"] or self.settings["url"]
        return f"edxml -> {target}"

    def send(self, event, adapter, **extra):
        package = build_package(event, adapter, self.settings, self.context.templates)
        if self.settings["directory"]:
            path = drop_file(self.settings["directory"], f"{event.id}.edxml", package)
            return {"file": str(path), "bytes": len(package)}
        headers = signed_headers(
            event, adapter, self._secret, package, "application/xml; charset=utf-8"
        )

        return post(
            self._session,
            self.settings["url"],
            package,
            headers,
            self.settings["timeout"],
            connect_retries=1,
        )

    def close(self):
        if self._session is not None:
            self._session.close()
