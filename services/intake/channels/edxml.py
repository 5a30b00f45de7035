"""edXML packages from document-management systems (Art. 5.1.c).

The national format of QCVN 102:2016/BTTTT: an ``edXMLEnvelope`` with a
header (sender, recipients, document id, subject, content, signer ...) and a
manifest, plus base64 attachments outside the envelope. Packages come from
other systems, so they are parsed with defusedxml: a DTD, entity expansion
(the "billion laughs" bomb) or an external entity is refused before any of
it is expanded. Elements are matched by namespace and local name; a package
in another namespace is refused with the namespace named. An XML-DSig
signature is not checked here; the raw package is kept for audit.
"""

import base64
import binascii
import io
import zipfile

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError as XmlParseError
from defusedxml.ElementTree import fromstring

from services.intake.channels.base import (
    ParseError,
    attachment,
    content_items_from_text,
)

CHANNEL = "edxml"
NAMESPACE = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
DSIG_NAMESPACE = "http://www.w3.org/2000/09/xmldsig#"
MAX_ATTACHMENTS = 50
MAX_ZIP_MEMBERS_LISTED = 100


def _q(name):
    return f"{{{NAMESPACE}}}{name}"


def parse(data, reporter=None, organ_agencies=None):
    """One report from an edXML package.

    ``organ_agencies`` maps document-exchange organisation ids
    (``000.00.00.H31``) to agency codes, so a sender we know is recorded as
    that agency.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        root = fromstring(
            data, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as exc:
        raise ParseError(
            "the package declares a DTD or entities, refused as unsafe "
            f"({type(exc).__name__})",
            {"xml": "DTD and entities are not allowed"},
        ) from exc
    except XmlParseError as exc:
        raise ParseError(
            f"the package is not well-formed XML: {exc}", {"xml": "not XML"}
        ) from exc

    namespace, _, local = (
        root.tag[1:].partition("}") if root.tag.startswith("{") else ("", "", root.tag)
    )
    if local != "edXML":
        raise ParseError(
            f"the root element is {local!r}, not edXML", {"xml": "root must be edXML"}
        )
    if namespace != NAMESPACE:
        raise ParseError(
            f"namespace {namespace or '(none)'!r} is not "
            f"the QCVN 102:2016 namespace {NAMESPACE}",
            {"xml": "wrong namespace"},
        )

    header = _path(root, "edXMLEnvelope", "edXMLHeader", "MessageHeader")
    if header is None:
        raise ParseError(
            "the package has no edXMLEnvelope/edXMLHeader/MessageHeader",
            {"MessageHeader": "required"},
        )
    subject = _text(header, "Subject")
    content = _text(header, "Content")
    document_id = _text(header, "DocumentId")
    if not (subject or content):
        raise ParseError(
            "the document has neither Subject nor Content",
            {"Subject": "required without Content"},
        )

    sender = _organ(header.find(_q("From")))
    files, zip_members = _attachments(root)
    source = {
        "document_id": document_id,
        "from": sender,
        "to": [_organ(to) for to in header.findall(_q("To"))],
        "code": " ".join(
            filter(
                None,
                [_text(header, "Code/CodeNumber"), _text(header, "Code/CodeNotation")],
            )
        )
        or None,
        "promulgation_date": _text(header, "PromulgationInfo/PromulgationDate"),
        "place": _text(header, "PromulgationInfo/Place"),
        "document_type": _text(header, "DocumentType/TypeName"),
        "signer": _text(header, "SignerInfo/FullName"),
        "signer_position": _text(header, "SignerInfo/Position"),
        "due_date": _text(header, "DueDate"),
        "priority": _text(header, "OtherInfo/Priority"),
        "response_for": _text(header, "ResponseFor/DocumentId"),
        "signed": root.find(f".//{{{DSIG_NAMESPACE}}}Signature") is not None,
        "traces": _traces(root),
        "manifest": _manifest(root),
        "zip_members": zip_members,
    }
    organ_id = (sender or {}).get("organ_id")
    agency = (organ_agencies or {}).get(organ_id)
    if agency:
        person = {"kind": "agency", "agency": agency}
    else:
        name = (sender or {}).get("organ_name") or organ_id
        person = {"kind": "partner", "organisation": (name or "")[:500] or None}

    text = content or subject
    return [
        {
            "channel": CHANNEL,
            "reporter": person,
            "title": (subject or "")[:500] or None,
            "content_items": content_items_from_text(text),
            "attachments": files,
            "about": {"text": subject if content else ""},
            "idempotency_key": f"edxml:{document_id}"[:300] if document_id else None,
            "source": {k: v for k, v in source.items() if v not in (None, "", [], {})},
        }
    ]


def _path(element, *names):
    for name in names:
        if element is None:
            return None
        element = element.find(_q(name))
    return element


def _text(element, path):
    found = _path(element, *path.split("/"))
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def _organ(element):
    if element is None:
        return None
    organ = {
        "organ_id": _text(element, "OrganId"),
        "organ_name": _text(element, "OrganName"),
        "in_charge": _text(element, "OrganizationInCharge"),
        "email": _text(element, "Email"),
    }
    return {k: v for k, v in organ.items() if v}


def _traces(root):
    traces = []
    for trace in root.iter(_q("TraceHeader")):
        traces.append(
            {
                "organ_id": _text(trace, "OrganId"),
                "timestamp": _text(trace, "Timestamp"),
            }
        )
    return traces[:50]


def _manifest(root):
    references = []
    for reference in root.iter(_q("Reference")):
        references.append(
            {
                "content_id": _strip_cid(_text(reference, "ContentId")),
                "content_type": _text(reference, "ContentType"),
                "name": _text(reference, "AttachmentName"),
                "description": _text(reference, "Description"),
            }
        )
    return references[:MAX_ATTACHMENTS]


def _strip_cid(value):
    if value and value.lower().startswith("cid:"):
        return value[4:]
    return value


def _attachments(root):
    files = []
    zip_members = {}
    for index, item in enumerate(root.iter(_q("Attachment"))):
        if index >= MAX_ATTACHMENTS:
            break
        name = _text(item, "AttachmentName")
        content_type = _text(item, "ContentType") or "application/octet-stream"
        encoded = _text(item, "ContentTransferEncoded") or ""
        try:
            data = base64.b64decode("".join(encoded.split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ParseError(
                f"attachment {name or index} is not valid base64",
                {f"Attachment[{index}].ContentTransferEncoded": "not valid base64"},
            ) from exc
        files.append(attachment(data, name, content_type))
        members = _zip_members(data)
        if members is not None:
            zip_members[name or str(index)] = members
    return files, zip_members


def _zip_members(data):
    # A zip payload is kept whole; only its member names are listed, without
    # decompressing anything (a zip bomb costs nothing here).
    if not data.startswith(b"PK\x03\x04"):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return [
                info.filename for info in archive.infolist()[:MAX_ZIP_MEMBERS_LISTED]
            ]
    except (zipfile.BadZipFile, ValueError, OSError):
        return []
