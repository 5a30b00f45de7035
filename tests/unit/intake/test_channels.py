"""Channel parsers on the shared samples and on inputs built here."""

import base64
import json
from email.message import EmailMessage

import pytest

from phoihop.config import PROJECT_ROOT
from phoihop.reports import ReportInputSchema
from services.intake.channels import PARSERS, ParseError, batch, mbox, sms
from services.intake.channels.imap import MailboxPoller

SAMPLES = PROJECT_ROOT.parent / "shared" / "samples"


def _valid(report):
    return ReportInputSchema().load(report)


@pytest.mark.parametrize(
    "name", sorted(p.name for p in (SAMPLES / "email").glob("*.eml"))
)
def test_every_sample_email_parses_to_a_valid_report(name):
    report = PARSERS["email"]((SAMPLES / "email" / name).read_bytes())[0]
    assert _valid(report)["channel"] == "email"


def test_encoded_word_subject_and_base64_body_are_decoded():
    report = PARSERS["email"](
        (SAMPLES / "email" / "thunderbird_sample01.eml").read_bytes()
    )[0]
    assert report["title"] == "αλφάβητο"
    assert report["content_items"][0]["captured_text"].strip() == "Άλφα"


def test_html_only_body_becomes_text_with_its_links():
    message = EmailMessage()
    message["From"] = "Người dân <dan@example.vn>"
    message["Subject"] = "Phản ánh trang lừa đảo"
    message["Message-ID"] = "<html-only@example.vn>"
    message.set_content(
        "<html><body><p>Trang <b>giả mạo</b> ngân hàng</p>"
        '<a href="https://m.facebook.com/gia.mao">link</a><script>x()</script></body></html>',
        subtype="html",
    )
    report = PARSERS["email"](message.as_bytes())[0]

    assert "giả mạo" in report["content_items"][0]["captured_text"]
    assert "x()" not in report["content_items"][0]["captured_text"]
    assert report["content_items"][0]["url"] == "https://m.facebook.com/gia.mao"
    assert report["idempotency_key"] == "email:<html-only@example.vn>"


def test_missing_from_header_makes_an_anonymous_report():
    report = PARSERS["email"](
        (SAMPLES / "email" / "flanker_attached-pdf.eml").read_bytes()
    )[0]
    assert report["reporter"] == {"kind": "anonymous"}
    assert report["attachments"][0]["filename"] == "test.pdf"


def test_raw_utf8_sender_name_and_body_are_read_as_utf8():
    raw = (
        'From: "Phạm Thu Trang" <trang@example.vn>\nSubject: Tin giả\n'
        "Content-Type: text/plain\nContent-Transfer-Encoding: 8bit\n\n"
        "Trang giả mạo ngân hàng \xff"
    ).encode("utf-8", "surrogateescape")

    report = PARSERS["email"](raw.replace(b"\xc3\xbf", b"\xff"))[0]

    assert report["reporter"]["contact"]["name"] == "Phạm Thu Trang"
    assert report["content_items"][0]["captured_text"].startswith("Trang giả mạo")
    # Stored as JSON and BSON are: no lone surrogate is left anywhere.
    json.dumps(report, ensure_ascii=False).encode("utf-8")
    ReportInputSchema().load(report)


def test_mbox_splits_into_messages():
    one = (SAMPLES / "email" / "flanker_8bitmime.eml").read_bytes()
    two = (SAMPLES / "email" / "thunderbird_sample01.eml").read_bytes()
    data = (
        b"From a@b Sat Jan  3 01:05:34 2026\n"
        + one
        + b"\nFrom c@d Sat Jan  3 01:05:35 2026\n"
        + two
    )
    assert len(mbox.split(data)) == 2


@pytest.mark.parametrize(
    ("text", "code", "number", "content"),
    [
        (
            "LD 0912.345.678 gọi lừa chuyển tiền",
            "LD",
            "0912345678",
            "gọi lừa chuyển tiền",
        ),
        ("s 0987654321: trúng thưởng", "S", "0987654321", "trúng thưởng"),
        ("V +84 912 000 111 gọi quấy rối", "V", "+84912000111", "gọi quấy rối"),
    ],
    ids=["fraud", "spam-lowercase", "call-international"],
)
def test_sms_short_code_syntax(text, code, number, content):
    short = sms.parse_short_code(text)
    assert (short["short_code"], short["reported_number"], short["content"]) == (
        code,
        number,
        content,
    )


def test_sms_free_text_is_not_a_short_code():
    assert sms.parse_short_code("Sáng nay có tin đồn") is None


def test_sms_without_text_is_refused():
    with pytest.raises(ParseError, match="text is missing"):
        PARSERS["sms"]({"from": "0900"})


@pytest.mark.parametrize("name", ["misp_event.json", "new_misp_event.json"])
def test_misp_samples_parse(name):
    report = PARSERS["misp"]((SAMPLES / "misp" / name).read_bytes())[0]
    assert _valid(report)["reporter"]["kind"] == "partner"
    assert report["idempotency_key"].startswith("misp:")


@pytest.mark.parametrize(
    "name", sorted(p.name for p in (SAMPLES / "stix").glob("*.json"))
)
def test_stix_samples_parse(name):
    report = PARSERS["stix"]((SAMPLES / "stix" / name).read_bytes())[0]
    assert _valid(report)["title"]


def test_stix_url_pattern_becomes_a_content_item():
    bundle = {
        "type": "bundle",
        "id": "bundle--1",
        "objects": [
            {
                "type": "indicator",
                "spec_version": "2.1",
                "id": "indicator--1",
                "name": "Trang giả",
                "pattern": "[url:value = 'https://vietcombank-xacthuc.example/login']",
            }
        ],
    }
    report = PARSERS["stix"](json.dumps(bundle))[0]
    assert (
        report["content_items"][0]["url"] == "https://vietcombank-xacthuc.example/login"
    )


def test_stix_of_another_version_is_refused():
    bundle = {
        "type": "bundle",
        "objects": [{"type": "indicator", "spec_version": "2.0"}],
    }
    with pytest.raises(ParseError, match="only 2.1"):
        PARSERS["stix"](json.dumps(bundle))


def test_social_post_record_becomes_an_api_report():
    post = json.loads((SAMPLES / "vfnd" / "social" / "post_0.json").read_text())
    report = PARSERS["api"](post)[0]
    assert _valid(report)["content_items"][0]["url"].endswith("/permalink/100000/")


def test_csv_rows_keep_embedded_newlines_and_unknown_columns():
    rows = list(
        batch.read_csv((SAMPLES / "vfnd" / "vn_news_223_tdlfr.csv").read_bytes())
    )
    assert len(rows) == 223
    assert "\n" in rows[0].values["text"]
    assert rows[0].report["source"]["columns"]["label"] in ("0", "1")


def test_csv_without_a_text_or_link_column_is_refused():
    with pytest.raises(ParseError, match="no text or link column"):
        list(batch.read_csv(b"a,b\n1,2\n"))


def test_csv_row_without_text_is_a_row_error_and_the_rest_goes_on():
    rows = list(batch.read_csv("nội dung,link\n,\nTin đồn thất thiệt,\n".encode()))
    assert isinstance(rows[0], batch.RowError)
    assert rows[1].report["content_items"][0]["captured_text"] == "Tin đồn thất thiệt"


def test_csv_quote_left_open_is_a_row_error_not_a_report_of_the_rest():
    data = 'nội dung,link\nTin thứ nhất,\n"Tin mở ngoặc,\nTin thứ ba,\n'.encode()

    rows = list(batch.read_csv(data))

    assert rows[0].report["content_items"][0]["captured_text"] == "Tin thứ nhất"
    assert isinstance(rows[1], batch.RowError)
    assert "row 3" in rows[1].reason
    assert len(rows) == 2


def test_text_that_is_not_a_mail_message_is_refused():
    with pytest.raises(ParseError, match="none of the headers"):
        PARSERS["email"]("Ghi-chu: không phải thư\n\nnội dung".encode())


def test_xlsx_rows_are_read(tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Nội dung", "Link", "Địa bàn"])
    sheet.append(["Tin đồn về dịch bệnh", "https://facebook.com/p/2", "le-chan"])
    path = tmp_path / "batch.xlsx"
    workbook.save(path)

    rows = list(batch.read_xlsx(path.read_bytes()))
    assert rows[0].report["about"]["locality"] == "le-chan"
    assert rows[0].report["content_items"][0]["url"] == "https://facebook.com/p/2"


def test_phone_call_needs_a_summary_and_a_time():
    with pytest.raises(ParseError, match="summary is missing"):
        PARSERS["phone"]({"called_at": "2026-01-01T08:00:00+07:00"})


def test_letter_keeps_its_scans():
    scan = base64.b64encode(b"page").decode()
    report = PARSERS["post"](
        {
            "received_on": "2026-01-02",
            "subject": "Phản ánh",
            "attachments": [{"filename": "p1.png", "data_base64": scan}],
        }
    )[0]
    assert _valid(report)["attachments"][0]["filename"] == "p1.png"


class FakeImap:
    """Stands in for a remote IMAP server, which tests cannot run."""

    def __init__(self, messages):
        self.messages = messages
        self.seen = []

    def select(self, mailbox):
        return "OK", [b"2"]

    def uid(self, command, *args):
        if command == "search":
            return "OK", [b" ".join(self.messages)]
        if command == "fetch":
            return "OK", [(b"1 (BODY[] {3}", self.messages[args[0]])]
        if command == "store":
            self.seen.append(args[0])
            return "OK", []
        raise AssertionError(command)

    def logout(self):
        return "BYE", []


def test_imap_poller_marks_a_message_seen_only_after_storing_it():
    server = FakeImap({b"1": b"Subject: a\n\nx", b"2": b"Subject: b\n\ny"})
    stored = []
    poller = MailboxPoller({"mailbox": "INBOX"}, client_factory=lambda: server)

    assert poller.poll(stored.append) == 2
    assert stored == [b"Subject: a\n\nx", b"Subject: b\n\ny"]
    assert server.seen == [b"1", b"2"]
