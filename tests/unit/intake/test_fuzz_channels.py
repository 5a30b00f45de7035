"""Every channel parser on arbitrary input: a report or a ParseError with a
reason, never another exception."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.intake.channels import PARSERS, ParseError, batch, mbox
from services.intake.channels.sms import parse_short_code

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=20,
)
KEYS = [
    "from",
    "text",
    "message",
    "Event",
    "Attribute",
    "info",
    "type",
    "objects",
    "bundle",
    "post-url",
    "summary",
    "called_at",
    "received_on",
    "attachments",
    "urls",
    "reporter",
    "content_items",
    "value",
    "pattern",
    "spec_version",
]
SHAPED = st.dictionaries(st.sampled_from(KEYS), JSON, max_size=8)
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _read(parser, data):
    try:
        reports = parser(data)
    except ParseError as exc:
        assert exc.reason
        return
    assert isinstance(reports, list) and reports
    # What the database stores: valid UTF-8, no lone surrogate left.
    json.dumps(reports, ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize("channel", sorted(PARSERS))
@FUZZ
@given(data=st.binary(max_size=2000))
def test_parser_survives_arbitrary_bytes(channel, data):
    _read(PARSERS[channel], data)


@pytest.mark.parametrize(
    "channel", sorted(c for c in PARSERS if c not in ("email", "edxml"))
)
@FUZZ
@given(document=JSON | SHAPED)
def test_json_parser_survives_arbitrary_documents(channel, document):
    _read(PARSERS[channel], json.dumps(document).encode())


@FUZZ
@given(text=st.text(max_size=2000))
def test_email_parser_survives_arbitrary_text(text):
    _read(PARSERS["email"], text.encode("utf-8", "surrogatepass"))


@FUZZ
@given(
    name=st.binary(max_size=60),
    subject=st.binary(max_size=60),
    body=st.binary(max_size=300),
)
def test_email_parser_survives_raw_bytes_in_headers_and_body(name, subject, body):
    message = (
        b'From: "' + name.replace(b"\n", b" ") + b'" <a@example.vn>\n'
        b"Subject: " + subject.replace(b"\n", b" ") + b"\n"
        b"Content-Type: text/plain\nContent-Transfer-Encoding: 8bit\n\n" + body
    )
    _read(PARSERS["email"], message)


@FUZZ
@given(
    body=st.text(max_size=500),
    tag=st.sampled_from(["Subject", "Content", "DocumentId"]),
)
def test_edxml_parser_survives_arbitrary_element_text(body, tag):
    escaped = body.replace("&", "&amp;").replace("<", "&lt;")
    package = (
        '<edXML:edXML xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">'
        "<edXML:edXMLEnvelope><edXML:edXMLHeader><edXML:MessageHeader>"
        f"<edXML:{tag}>{escaped}</edXML:{tag}>"
        "</edXML:MessageHeader></edXML:edXMLHeader></edXML:edXMLEnvelope></edXML:edXML>"
    )
    _read(PARSERS["edxml"], package.encode("utf-8", "surrogatepass"))


@FUZZ
@given(data=st.binary(max_size=3000))
def test_csv_reader_survives_arbitrary_bytes(data):
    try:
        rows = list(batch.read_csv(data))
    except ParseError as exc:
        assert exc.reason
        return
    for row in rows:
        assert isinstance(row, (batch.Row, batch.RowError))


@FUZZ
@given(data=st.binary(max_size=2000))
def test_xlsx_reader_survives_arbitrary_bytes(data):
    try:
        list(batch.read_xlsx(data))
    except ParseError as exc:
        assert exc.reason


@FUZZ
@given(data=st.binary(max_size=2000))
def test_mbox_split_survives_arbitrary_bytes(data):
    try:
        mbox.split(data)
    except ParseError as exc:
        assert exc.reason


@FUZZ
@given(text=st.text(max_size=300))
def test_short_code_reader_never_fails(text):
    result = parse_short_code(text)
    assert result is None or result["short_code"] in ("S", "V", "LD")
