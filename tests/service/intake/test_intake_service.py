"""The intake service on the real broker and database: channels, dedup,
quarantine, idempotency, merges and triage."""

import base64
import json
import unicodedata

import eventlet
import pytest
from intake_support import OFFICER, wait_for
from kombu import Connection, Exchange
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_hook

from phoihop.config import exchange_name
from phoihop.errors import Conflict, ValidationError
from phoihop.events import build_event
from phoihop.normalise import comparable_text

EDXML_NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"


def edxml_package(
    subject,
    content,
    document_id="000.00.31.H31,2026/03/01,15/CV-CA",
    namespace=EDXML_NS,
):
    scan = base64.b64encode(b"%PDF-1.4 scanned page").decode()
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<edXML:edXML xmlns:edXML="{namespace}">
 <edXML:edXMLEnvelope>
  <edXML:edXMLHeader>
   <edXML:MessageHeader>
    <edXML:From><edXML:OrganId>000.00.31.H31</edXML:OrganId>
     <edXML:OrganName>Công an thành phố Hải Phòng</edXML:OrganName></edXML:From>
    <edXML:To><edXML:OrganId>000.00.19.H31</edXML:OrganId>
     <edXML:OrganName>Sở Thông tin và Truyền thông</edXML:OrganName></edXML:To>
    <edXML:DocumentId>{document_id}</edXML:DocumentId>
    <edXML:Code><edXML:CodeNumber>15</edXML:CodeNumber>
     <edXML:CodeNotation>CV-CA</edXML:CodeNotation></edXML:Code>
    <edXML:PromulgationInfo><edXML:Place>Hải Phòng</edXML:Place>
     <edXML:PromulgationDate>2026/03/01</edXML:PromulgationDate></edXML:PromulgationInfo>
    <edXML:DocumentType><edXML:Type>1</edXML:Type>
     <edXML:TypeName>Công văn</edXML:TypeName></edXML:DocumentType>
    <edXML:Subject>{subject}</edXML:Subject>
    <edXML:Content>{content}</edXML:Content>
    <edXML:SignerInfo><edXML:FullName>Trần Văn B</edXML:FullName></edXML:SignerInfo>
   </edXML:MessageHeader>
   <edXML:TraceHeaderList><edXML:TraceHeader><edXML:OrganId>000.00.31.H31</edXML:OrganId>
    <edXML:Timestamp>2026/03/01 08:00:00</edXML:Timestamp></edXML:TraceHeader>
   </edXML:TraceHeaderList>
  </edXML:edXMLHeader>
  <edXML:edXMLBody><edXML:edXMLManifest><edXML:Reference>
   <edXML:ContentId>cid:scan1</edXML:ContentId>
   <edXML:ContentType>application/pdf</edXML:ContentType>
   <edXML:AttachmentName>scan.pdf</edXML:AttachmentName></edXML:Reference>
  </edXML:edXMLManifest></edXML:edXMLBody>
 </edXML:edXMLEnvelope>
 <edXML:AttachmentEncoded><edXML:Attachment>
  <edXML:ContentId>scan1</edXML:ContentId><edXML:AttachmentName>scan.pdf</edXML:AttachmentName>
  <edXML:ContentType>application/pdf</edXML:ContentType>
  <edXML:ContentTransferEncoded>{scan}</edXML:ContentTransferEncoded>
 </edXML:Attachment></edXML:AttachmentEncoded>
</edXML:edXML>"""


XML_BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<edXML:edXML xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">&lol3;</edXML:edXML>"""


def api_report(url=None, text="", reporter=None, **extra):
    item = {"captured_text": text}
    if url:
        item["url"] = url
    return {
        "reporter": reporter or {"kind": "citizen", "contact": {"name": "Lê Thị C"}},
        "content_items": [item],
        **extra,
    }


def publish(config, name, payload, case_id):
    envelope = build_event(
        name, payload, case_id=case_id, actor={"agency": "dic", "officer": "thanh tra"}
    )
    with Connection(config["AMQP_URI"]) as connection:
        producer = connection.Producer(serializer="json")
        producer.publish(
            envelope,
            exchange=Exchange(exchange_name(config), type="topic", durable=True),
            routing_key=name,
            delivery_mode=2,
        )


def test_every_sample_email_becomes_a_report_or_a_quarantine_entry(intake, samples):
    files = sorted((samples / "email").glob("*.eml"))
    assert len(files) == 6
    with entrypoint_hook(intake, "submit_input") as submit:
        outcomes = [
            submit(
                "email",
                base64.b64encode(f.read_bytes()).decode(),
                OFFICER,
                encoding="base64",
            )["results"][0]
            for f in files
        ]

    assert all(o["outcome"] in ("opened", "attached", "quarantined") for o in outcomes)
    assert all(o.get("reason") for o in outcomes if o["outcome"] == "quarantined")
    with entrypoint_hook(intake, "get_report") as get_report:
        greek = get_report(
            outcomes[[f.name for f in files].index("thunderbird_sample01.eml")][
                "report_id"
            ]
        )
        pdf = get_report(
            outcomes[[f.name for f in files].index("flanker_attached-pdf.eml")][
                "report_id"
            ]
        )
    assert greek["title"] == "αλφάβητο"
    assert pdf["reporter"]["kind"] == "anonymous"
    assert pdf["attachments"][0]["content_type"] == "application/pdf"
    assert pdf["source"]["missing_from"] is True


def test_same_email_twice_is_one_report_by_message_id(intake, samples):
    raw = base64.b64encode(
        (samples / "email" / "flanker_8bitmime.eml").read_bytes()
    ).decode()
    with entrypoint_hook(intake, "submit_input") as submit:
        first = submit("email", raw, OFFICER, encoding="base64")["results"][0]
        second = submit("email", raw, OFFICER, encoding="base64")["results"][0]

    assert first["outcome"] == "opened"
    assert second == {**second, "outcome": "duplicate", "report_id": first["report_id"]}


def test_misp_and_stix_samples_become_partner_reports(intake, samples):
    files = sorted((samples / "misp").glob("*.json")) + sorted(
        (samples / "stix").glob("*.json")
    )
    with entrypoint_hook(intake, "submit_input") as submit:
        outcomes = [
            submit(
                "misp" if "misp" in f.parent.name else "stix", f.read_text(), OFFICER
            )["results"][0]
            for f in files
        ]
    with entrypoint_hook(intake, "get_report") as get_report:
        reports = [get_report(o["report_id"]) for o in outcomes]

    assert [o["outcome"] for o in outcomes] == ["opened"] * 4
    assert {r["reporter"]["kind"] for r in reports} == {"partner"}
    assert reports[0]["content_items"][0]["canonical_url"] == (
        "http://fake.website.com/malware/is/here"
    )


def test_social_posts_open_cases_and_near_duplicates_are_proposed_not_merged(
    intake, tap, samples
):
    posts = sorted((samples / "vfnd" / "social").glob("post_*.json"))
    with entrypoint_hook(intake, "submit_input") as submit:
        outcomes = {
            p.stem: submit("api", json.loads(p.read_text()), OFFICER)["results"][0]
            for p in posts
        }

    assert all(o["outcome"] == "opened" for o in outcomes.values())
    proposals = outcomes["post_9"]["merge_proposals"]
    assert [p["candidate_case_id"] for p in proposals] == [
        outcomes["post_8"]["case_id"]
    ]
    assert proposals[0]["similarity"] >= 0.8
    assert wait_for(lambda: tap.of_type("case.merge_proposed"))
    assert tap.of_type("case.merged") == []
    fraud = [
        s["category"]
        for s in tap_payload(tap, "case.opened", outcomes["post_0"]["case_id"])[
            "suggestions"
        ]
    ]
    assert "fraud_scam" in fraud

    with entrypoint_hook(intake, "confirm_merge") as confirm_merge:
        merged = confirm_merge(
            outcomes["post_9"]["case_id"],
            outcomes["post_8"]["case_id"],
            OFFICER,
            "cùng một bài",
        )
    with entrypoint_hook(intake, "list_reports") as list_reports:
        reports = list_reports(outcomes["post_8"]["case_id"])
    with entrypoint_hook(intake, "list_merge_proposals") as list_merge_proposals:
        left = list_merge_proposals()

    assert merged["state"] == "merged"
    assert len(reports) == 2
    assert wait_for(lambda: tap.of_type("case.merged"))
    assert tap.of_type("case.merged")[0]["payload"]["previous_state"] == "received"
    assert all(p["case_id"] != outcomes["post_9"]["case_id"] for p in left)


def tap_payload(tap, name, case_id):
    found = wait_for(lambda: [e for e in tap.of_type(name) if e["case_id"] == case_id])
    return found[0]["payload"]


def test_composed_and_decomposed_diacritics_are_one_case(intake):
    text = "Tin đồn ngân hàng sắp phá sản ở quận Lê Chân, mọi người rút tiền ngay"
    decomposed = unicodedata.normalize("NFD", text)
    assert decomposed != text
    with entrypoint_hook(intake, "submit_report") as submit:
        first = submit(api_report(text=text), OFFICER)
        second = submit(api_report(text=decomposed), OFFICER)

    assert first["outcome"] == "opened"
    assert second["outcome"] == "attached"
    assert second["case_id"] == first["case_id"]
    assert second["matched_by"] == "text"


def test_fifty_concurrent_submissions_of_one_url_give_one_case_with_fifty_reports(
    intake, service_config
):
    url = "https://m.facebook.com/groups/lua-dao/permalink/424242/?fbclid=x"
    with ServiceRpcProxy("intake", service_config) as rpc:
        pending = [
            rpc.submit_report.call_async(
                api_report(
                    url=url,
                    reporter={
                        "kind": "citizen",
                        "contact": {"phone": f"09000000{n:02d}"},
                    },
                ),
                OFFICER,
            )
            for n in range(50)
        ]
        results = [call.result() for call in pending]
        case_ids = {r["case_id"] for r in results}
        reports = rpc.list_reports(case_ids.pop())
        case = rpc.get_case(results[0]["case_id"])

    assert not case_ids
    assert sorted(r["outcome"] for r in results).count("opened") == 1
    assert len(reports) == 50
    assert case["reports_count"] == 50


def test_vfnd_csvs_one_after_the_other_give_one_case_per_distinct_text(intake, samples):
    from services.intake.channels import batch

    texts = set()
    summaries = []
    with entrypoint_hook(intake, "submit_batch", timeout=300) as submit_batch:
        for name in ("vn_news_223_tdlfr.csv", "vn_news_226_tlfr.csv"):
            data = (samples / "vfnd" / name).read_bytes()
            rows = list(batch.read_csv(data))
            texts |= {comparable_text(r.values["text"]) for r in rows}
            items = [
                {"number": r.number, "raw": r.raw, "report": r.report} for r in rows
            ]
            summaries.append(
                submit_batch(
                    "csv",
                    items,
                    OFFICER,
                    filename=name,
                    file_sha256=batch.file_key(data),
                )["summary"]
            )
    with entrypoint_hook(intake, "list_cases") as list_cases:
        cases = list_cases(limit=1000)

    assert sum(s["opened"] for s in summaries) == len(texts) == len(cases)
    assert summaries[1]["attached"] >= 200
    assert sum(s["quarantined"] for s in summaries) == 0


def test_same_csv_imported_twice_adds_nothing(intake, samples):
    from services.intake.channels import batch

    data = (samples / "vfnd" / "vn_news_223_tdlfr.csv").read_bytes()
    rows = list(batch.read_csv(data))[:20]
    items = [{"number": r.number, "raw": r.raw, "report": r.report} for r in rows]
    with entrypoint_hook(intake, "submit_batch") as submit_batch:
        submit_batch("csv", items, OFFICER, file_sha256=batch.file_key(data))
        again = submit_batch("csv", items, OFFICER, file_sha256=batch.file_key(data))

    assert again["summary"]["duplicate"] == 20


def test_vihos_comments_go_through_the_sms_channel(intake, samples, service_config):
    from services.intake.channels import batch

    rows = list(batch.read_csv((samples / "vihos" / "test.csv").read_bytes()))
    assert len(rows) == 1106
    with ServiceRpcProxy("intake", service_config) as rpc:
        pending = [
            rpc.submit_input.call_async(
                "sms",
                {
                    "from": "0912000111",
                    "to": "5656",
                    "id": f"vihos-{row.number}",
                    "text": row.values.get("text", ""),
                },
                OFFICER,
            )
            for row in rows
        ]
        outcomes = [o for call in pending for o in call.result()["results"]]

    assert len(outcomes) == 1106
    assert {o["outcome"] for o in outcomes} <= {"opened", "attached", "quarantined"}
    assert all(o["reason"] for o in outcomes if o["outcome"] == "quarantined")


def test_sms_short_code_is_read_and_suggests_fraud(intake):
    payload = {
        "from": "+84912345678",
        "to": "5656",
        "id": "gw-1",
        "text": "LD 0987.654.321 gọi tự xưng công an yêu cầu chuyển tiền",
    }
    with entrypoint_hook(intake, "submit_input") as submit:
        result = submit("sms", payload, OFFICER)["results"][0]
        again = submit("sms", payload, OFFICER)["results"][0]
    with entrypoint_hook(intake, "get_case") as get_case:
        case = get_case(result["case_id"])
    with entrypoint_hook(intake, "get_report") as get_report:
        report = get_report(result["report_id"])

    assert again["outcome"] == "duplicate"
    assert report["source"]["reported_number"] == "0987654321"
    assert report["reporter"]["contact"]["phone"] == "+84912345678"
    assert "fraud_scam" in case["suggested_categories"]


def test_edxml_package_becomes_a_report_with_its_scan(intake):
    package = edxml_package(
        "V/v thông tin sai sự thật trên mạng xã hội",
        "Đề nghị xác minh bài viết https://facebook.com/posts/991 bịa đặt",
    )
    with entrypoint_hook(intake, "submit_input") as submit:
        result = submit("edxml", package, OFFICER)["results"][0]
        again = submit("edxml", package, OFFICER)["results"][0]
    with entrypoint_hook(intake, "get_report") as get_report:
        report = get_report(result["report_id"])

    assert again["outcome"] == "duplicate"
    assert report["reporter"]["organisation"] == "Công an thành phố Hải Phòng"
    assert report["source"]["document_id"].endswith("15/CV-CA")
    assert report["attachments"][0]["filename"] == "scan.pdf"
    assert (
        report["content_items"][0]["canonical_url"] == "https://facebook.com/posts/991"
    )


def test_phone_call_and_letter_registered_by_an_officer(intake):
    scan = base64.b64encode(b"scanned letter").decode()
    call = {
        "caller": {"name": "Phạm D", "phone": "0913000222"},
        "called_at": "2026-03-02T09:15:00+07:00",
        "summary": "Báo trang giả mạo UBND quận Ngô Quyền thu phí",
        "urls": ["https://facebook.com/ubnd.ngoquyen.gia"],
    }
    letter = {
        "sender": {"name": "Hoàng E", "address": "12 Lạch Tray"},
        "received_on": "2026-03-03",
        "subject": "Phản ánh tin đồn",
        "summary": "Thư phản ánh tin đồn thất thiệt về dịch bệnh ở Kiến An",
        "attachments": [
            {
                "filename": "thu.pdf",
                "content_type": "application/pdf",
                "data_base64": scan,
            }
        ],
    }
    with entrypoint_hook(intake, "submit_input") as submit:
        by_phone = submit("phone", call, OFFICER)["results"][0]
        by_post = submit("post", letter, OFFICER)["results"][0]
    with entrypoint_hook(intake, "get_case") as get_case:
        case = get_case(by_post["case_id"])

    assert by_phone["outcome"] == by_post["outcome"] == "opened"
    assert case["suggested_locality"] == "kien-an"
    assert case["suggested_sector"] == "health"


@pytest.mark.parametrize(
    ("report", "field"),
    [
        (
            {"reporter": {"kind": "citizen"}, "content_items": [{"url": 42}]},
            "content_items.0.url",
        ),
        ({"content_items": [{"captured_text": "x"}]}, "reporter"),
        (api_report(text="x", incident="yes"), "incident"),
        (api_report(url="http:///no-host"), "content_items.0.url"),
        (api_report(text="a" * 150_000), "content_items.0.captured_text"),
        (
            api_report(text="x", reporter={"kind": "agency", "agency": "dept-nowhere"}),
            "reporter.agency",
        ),
    ],
    ids=[
        "wrong-type",
        "missing-reporter",
        "flag-not-boolean",
        "url-without-host",
        "text-too-long",
        "agency-not-in-registry",
    ],
)
def test_bad_api_input_is_refused_naming_the_field(intake, report, field):
    with entrypoint_hook(intake, "submit_report") as submit:
        with pytest.raises(ValidationError) as refused:
            submit(report, OFFICER)

    assert field in refused.value.fields


def test_lone_surrogate_is_refused_by_the_api_and_quarantined_on_a_channel(intake):
    # "\udce1" is valid JSON but not Unicode any database can store.
    call = json.loads(
        '{"summary": "Ph\\udce1m gọi báo tin giả", "called_at": "2026-12-03T08:15:00"}'
    )
    with entrypoint_hook(intake, "submit_report") as submit:
        with pytest.raises(ValidationError) as refused:
            submit(api_report(text=call["summary"]), OFFICER)
    with entrypoint_hook(intake, "submit_input") as submit_input:
        kept = submit_input("phone", json.dumps(call), OFFICER)["results"][0]

    assert "content_items.0.captured_text" in refused.value.fields
    assert kept["outcome"] == "quarantined"
    assert "surrogate" in kept["reason"]


def test_ten_megabytes_of_text_is_refused_not_crashed(intake):
    with entrypoint_hook(intake, "submit_report") as submit:
        with pytest.raises(ValidationError) as refused:
            submit(api_report(text="ư" * 5_000_000), OFFICER)
    assert "report" in refused.value.fields or refused.value.fields


@pytest.mark.parametrize(
    ("channel", "data", "encoding", "reason"),
    [
        (
            "sms",
            base64.b64encode(b'{"from": "1", "text": "\xff\xfe"}').decode(),
            "base64",
            "UTF-8",
        ),
        ("edxml", XML_BOMB, "text", "DTD"),
        (
            "edxml",
            edxml_package("a", "b", namespace="http://example.org/old"),
            "text",
            "namespace",
        ),
        ("misp", "[1, 2", "text", "JSON"),
        ("stix", '{"type": "bundle", "objects": []}', "text", "objects"),
        ("sms", {"from": "0900", "text": "x" * 10_000}, "text", "SMS limit"),
        ("email", "", "text", "empty"),
    ],
    ids=[
        "invalid-utf8",
        "xml-bomb",
        "old-edxml-namespace",
        "broken-json",
        "empty-stix",
        "sms-too-long",
        "empty-email",
    ],
)
def test_bad_channel_input_is_quarantined_with_the_reason(
    intake, tap, channel, data, encoding, reason
):
    with entrypoint_hook(intake, "submit_input") as submit:
        result = submit(channel, data, OFFICER, encoding=encoding)["results"][0]
    with entrypoint_hook(intake, "get_quarantine") as get_quarantine:
        entry = get_quarantine(result["quarantine_id"])

    assert result["outcome"] == "quarantined"
    assert reason in result["reason"]
    assert entry["channel"] == channel
    assert "raw_base64" in entry
    assert wait_for(lambda: tap.of_type("report.quarantined"))


def test_oversized_input_is_quarantined_with_its_bytes(intake):
    big = "x" * (13 * 1024 * 1024)
    with entrypoint_hook(intake, "submit_input") as submit:
        result = submit("email", big, OFFICER)["results"][0]
    with entrypoint_hook(intake, "get_quarantine") as get_quarantine:
        entry = get_quarantine(result["quarantine_id"], include_raw=True)

    assert "over the limit" in result["reason"]
    assert entry["size_bytes"] == len(big)
    assert len(base64.b64decode(entry["raw_base64"])) == len(big)


def test_quarantined_input_is_listed_and_resubmitted_after_correction(intake):
    bad = {"from": "0900111222", "message": ""}
    with entrypoint_hook(intake, "submit_input") as submit:
        quarantined = submit("sms", bad, OFFICER)["results"][0]
        again = submit("sms", bad, OFFICER)["results"][0]
    with entrypoint_hook(intake, "list_quarantine") as list_quarantine:
        listed = list_quarantine(status="open")
    corrected = json.dumps(
        {"from": "0900111222", "text": "S 0911222333 khuyến mãi lừa đảo"}
    )
    with entrypoint_hook(intake, "resubmit_quarantined") as resubmit:
        result = resubmit(quarantined["quarantine_id"], corrected, OFFICER)
        with pytest.raises(Conflict) as twice:
            resubmit(quarantined["quarantine_id"], corrected, OFFICER)
    with entrypoint_hook(intake, "get_quarantine") as get_quarantine:
        entry = get_quarantine(quarantined["quarantine_id"], include_raw=False)

    assert result["results"][0]["report_id"] in str(twice.value)
    assert again["quarantine_id"] == quarantined["quarantine_id"]
    assert [e["quarantine_id"] for e in listed] == [quarantined["quarantine_id"]]
    assert result["results"][0]["outcome"] == "opened"
    assert entry["status"] == "resubmitted"
    assert entry["resubmitted_as"] == [result["results"][0]["report_id"]]


def test_idempotency_key_makes_a_resubmission_a_no_op(intake, tap):
    report = api_report(text="Clip nóng lan truyền trên nhóm kín")
    with entrypoint_hook(intake, "submit_report") as submit:
        first = submit(report, OFFICER, idempotency_key="portal-7781")
        second = submit(report, OFFICER, idempotency_key="portal-7781")

    assert second["outcome"] == "duplicate"
    assert second["report_id"] == first["report_id"]
    wait_for(lambda: tap.of_type("report.received"))
    eventlet.sleep(0.5)
    assert len(tap.of_type("report.received")) == 1


def test_idempotency_key_sent_with_another_report_is_a_conflict(intake):
    first = api_report(text="Tin giả về dịch bệnh ở Kiến An")
    other = api_report(text="Tài khoản giả mạo Công an thành phố")
    with entrypoint_hook(intake, "submit_report") as submit:
        kept = submit(first, OFFICER, idempotency_key="portal-7790")
        with pytest.raises(Conflict) as refused:
            submit(other, OFFICER, idempotency_key="portal-7790")
        again = submit(first, OFFICER, idempotency_key="portal-7790")

    assert "idempotency_key" in refused.value.fields
    assert kept["report_id"] in str(refused.value)
    assert again["outcome"] == "duplicate"
    assert again["report_id"] == kept["report_id"]


def test_idempotency_key_given_with_another_channel_input_is_a_conflict(intake):
    sms = {"from": "+84900111222", "text": "LD 0911222333 giả danh ngân hàng"}
    other = {**sms, "text": "LD 0911222444 giả danh bưu điện"}
    with entrypoint_hook(intake, "submit_input") as submit:
        kept = submit("sms", json.dumps(sms), OFFICER, idempotency_key="gw-88")
        with pytest.raises(Conflict):
            submit("sms", json.dumps(other), OFFICER, idempotency_key="gw-88")
        again = submit("sms", json.dumps(sms), OFFICER, idempotency_key="gw-88")

    assert kept["results"][0]["outcome"] == "opened"
    assert again["results"][0]["outcome"] == "duplicate"


def test_confirmed_triage_with_state_secrets_is_secret(intake, tap):
    with entrypoint_hook(intake, "submit_report") as submit:
        opened = submit(
            api_report(text="Ảnh chụp tài liệu mật của sở bị đăng lên nhóm"), OFFICER
        )
    with entrypoint_hook(intake, "confirm_triage") as confirm:
        result = confirm(
            opened["case_id"],
            ["state_secrets"],
            None,
            "le-chan",
            False,
            False,
            "high",
            "internal",
            "2025-05-01T08:00:00+07:00",
            OFFICER,
        )

    triaged = wait_for(lambda: tap.of_type("case.triaged"))[0]
    opened_event = wait_for(lambda: tap.of_type("case.opened"))[0]
    assert opened_event["classification"] == "secret"
    assert result["classification"] == triaged["classification"] == "secret"
    assert triaged["payload"]["previous_state"] == "received"
    assert "PRESS2016-9.5" in triaged["payload"]["legal_basis_suggested"]
    assert "D72-5.1.c" not in triaged["payload"]["legal_basis_suggested"]


def test_triage_with_an_unknown_category_is_refused(intake):
    with entrypoint_hook(intake, "submit_report") as submit:
        opened = submit(api_report(text="Một bài viết cần phân loại"), OFFICER)
    with entrypoint_hook(intake, "confirm_triage") as confirm:
        with pytest.raises(ValidationError) as refused:
            confirm(
                opened["case_id"],
                ["gossip"],
                None,
                None,
                False,
                False,
                "low",
                "internal",
                None,
                OFFICER,
            )
    assert "categories" in refused.value.fields


def test_a_closed_case_takes_no_new_report(intake, service_config):
    url = "https://tiktok.com/@kenh/video/7001"
    with entrypoint_hook(intake, "submit_report") as submit:
        first = submit(api_report(url=url), OFFICER)
    publish(
        service_config,
        "case.closed",
        {"state": "closed", "previous_state": "resolved", "reason": "đã xử lý"},
        first["case_id"],
    )

    def state():
        with entrypoint_hook(intake, "get_case") as get_case:
            return get_case(first["case_id"])["state"] == "closed"

    assert wait_for(state)
    with entrypoint_hook(intake, "submit_report") as submit:
        second = submit(api_report(url=url), OFFICER)
    assert second["outcome"] == "opened"
    assert second["case_id"] != first["case_id"]
