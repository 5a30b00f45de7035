"""The outbound edXML package: namespace, header and the event attached."""

import base64
import json

import defusedxml.ElementTree as SafeET
from adapter_factories import make_event

from phoihop.adapters import Adapter, handles
from phoihop.adapters.transports.edxml import (
    NAMESPACE,
    EdxmlSchema,
    build_package,
    drop_file,
)
from phoihop.agencies import shipped_registry

NS = {"ed": NAMESPACE}


class Desk(Adapter):
    agency = "city"

    @handles("#")
    def on_any(self, event):
        pass


def package():
    event = make_event(
        "case.escalated",
        {
            "escalation_id": "e1",
            "to": "city",
            "reason": "Vượt thẩm quyền",
            "article": "7.1.h",
            "due_at": "2026-03-05T10:00:00+00:00",
            "state": "escalated",
        },
    )
    event.number = 42
    adapter = Desk("city", registry=shipped_registry())
    settings = EdxmlSchema().load({"kind": "edxml", "directory": "/tmp/x"})
    return event, SafeET.fromstring(build_package(event, adapter, settings))


def test_package_root_and_children_are_in_the_qcvn_102_namespace():
    _, root = package()

    assert root.tag == f"{{{NAMESPACE}}}edXML"
    assert root.find("ed:edXMLEnvelope/ed:edXMLHeader/ed:MessageHeader", NS) is not None


def test_header_names_sender_receiver_and_the_document_id():
    event, root = package()
    header = root.find("ed:edXMLEnvelope/ed:edXMLHeader/ed:MessageHeader", NS)

    assert header.findtext("ed:From/ed:OrganId", namespaces=NS) == "000.00.01.H31"
    assert header.findtext("ed:To/ed:OrganId", namespaces=NS) == "000.00.00.H31"
    assert header.findtext("ed:To/ed:OrganName", namespaces=NS) == (
        "Ủy ban nhân dân thành phố"
    )
    assert header.findtext("ed:DocumentId", namespaces=NS) == (
        "000.00.01.H31,2026/03/01,42/TTTT-TTr"
    )
    assert header.findtext(
        "ed:PromulgationInfo/ed:PromulgationDate", namespaces=NS
    ) == ("2026/03/01")
    assert header.findtext("ed:DueDate", namespaces=NS) == "2026/03/05"
    assert "Báo cáo, đề xuất UBND thành phố" in header.findtext(
        "ed:Subject", namespaces=NS
    )


def test_manifest_reference_matches_the_attachment_holding_the_event():
    event, root = package()
    reference = root.find(
        "ed:edXMLEnvelope/ed:edXMLBody/ed:edXMLManifest/ed:Reference", NS
    )
    attachment = root.find("ed:AttachmentEncoded/ed:Attachment", NS)

    content_id = reference.findtext("ed:ContentId", namespaces=NS)
    assert content_id.removeprefix("cid:") == attachment.findtext(
        "ed:ContentId", namespaces=NS
    ).removeprefix("cid:")
    data = attachment.findtext("ed:ContentTransferEncoded", namespaces=NS)
    assert json.loads(base64.b64decode(data))["id"] == event.id


def test_dropped_file_is_complete_and_replaced_on_retry(tmp_path):
    drop_file(tmp_path, "e.edxml", b"first")
    path = drop_file(tmp_path, "e.edxml", b"second")

    assert path.read_bytes() == b"second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.edxml"]
