"""The main job on real input: ``phoihop demo``.

It starts the local stack, feeds the sample inputs of ``../shared/samples``
through their channels (CSV batches, social posts through the API form,
emails, MISP and STIX files, SMS) and a few reports typed as an officer
would (a phone call, a letter, SMS short codes), confirms the triage of
every case, walks the typed cases through their whole lifecycle, with the
agencies' part played by their built-in adapters, and prints what happened:
cases by state and agency, deadlines met and missed, quarantined inputs with
their reasons. It ends with the monthly report and the dashboard's address.

The typed cases are a scenario: their posting dates fall in June 2026,
while the provisions of the catalogue were in force. Content posted after
2026-06-30 cannot cite a provision until DIC adds the successor instruments
(legal-basis.md); the summary counts such cases.
"""

import base64
import os
import secrets
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.progress import Progress

from phoihop.agencies import shipped_registry
from phoihop.config import PROJECT_ROOT
from phoihop.errors import NotFound
from phoihop.i18n import t
from phoihop.playbook import DIC_OFFICER, Playbook, Walk, wait_until
from phoihop.stack import _read_local_env

SAMPLES = Path(
    os.environ.get("PHOIHOP_SAMPLES", PROJECT_ROOT.parent / "shared" / "samples")
)
LOCAL_ENV = "local.env"
BATCH_ROWS = 200

# Posting date of the scenario's content: within the validity of the
# provisions the catalogue holds (Press Law 2016, Cybersecurity Law 2018,
# Decree 15/2020 all end on 2026-06-30).
SCENARIO_POSTED_AT = "2026-06-12T09:30:00+07:00"


def agency_env_name(code):
    return "PHOIHOP_ADAPTER_KEY_" + code.upper().replace("-", "_")


def write_local_env(var, values):
    path = Path(var) / LOCAL_ENV
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# Secrets of the local demo stack; never commit this file."]
    lines += [f"{key}={value}" for key, value in sorted(values.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)


def demo_registry(var):
    """The shipped agency registry with its spokespersons filled in.

    The shipped rows name no real spokesperson (DIC fills them in), and a
    placeholder may not speak for an agency (Art. 7.6.d). The demo plays the
    part of DIC having done so: it writes a copy of the registry under
    ``var/`` where each placeholder spokesperson becomes a named demo officer,
    and points the services at it.
    """
    import yaml

    from phoihop.agencies import DEFAULT_LOCALITIES_PATH, DEFAULT_PATH

    data = yaml.safe_load(Path(DEFAULT_PATH).read_text(encoding="utf-8"))
    for agency in data["agencies"]:
        for number, person in enumerate(agency.get("spokespersons") or [], 1):
            if person.get("placeholder"):
                person["name"] = (
                    f"Người phát ngôn {number} ({agency['code']}, trình diễn)"
                )
                person["placeholder"] = False
    path = Path(var) / "demo-agencies.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )

    return os.pathsep.join([str(path), str(DEFAULT_LOCALITIES_PATH)])


def provision_credentials(stack):
    """API keys for every agency's adapter and a DIC officer, kept in
    ``var/local.env`` so that a restarted stack keeps using them.

    Keys are created directly in the gateway's database (the gateway only
    stores their hashes); the adapters get theirs through the environment
    variables their configuration names.
    """
    from phoihop.agencies import shipped_registry
    from phoihop.auth import CredentialStore
    from phoihop.store import database_name, get_database, make_client

    values = _read_local_env(stack.var)
    values["PHOIHOP_AGENCY_REGISTRY"] = demo_registry(stack.var)
    if values.get("PHOIHOP_DEMO_OFFICER_KEY"):
        write_local_env(stack.var, values)
        return values
    values.setdefault("PHOIHOP_API_KEY_PEPPER", secrets.token_urlsafe(32))
    values["PHOIHOP_ADAPTERS_AUTO_ANSWER"] = "true"

    client = make_client(stack.env["MONGODB_URI"])
    prefix = stack.env.get("PHOIHOP_DB_PREFIX", "phoihop")
    db = get_database(client, database_name(prefix, "gateway"))
    store = CredentialStore(db, pepper=values["PHOIHOP_API_KEY_PEPPER"].encode())
    store.ensure_indexes()
    registry = shipped_registry()
    for agency in registry:
        _, key = store.create(
            agency.code,
            f"adapter {agency.code}",
            ["officer", "focal_point", "spokesperson"],
            clearance=agency.clearance,
            kind="adapter",
            note="demo adapter key",
        )
        values[agency_env_name(agency.code)] = key
    _, officer_key = store.create(
        "dic",
        DIC_OFFICER["officer"],
        ["dic_inspector", "officer", "admin"],
        clearance="secret",
        note="demo officer",
    )
    values["PHOIHOP_DEMO_OFFICER_KEY"] = officer_key
    client.close()
    write_local_env(stack.var, values)

    return values


class SampleFeeder:
    """Feeds each sample file through its channel and counts the outcomes."""

    def __init__(self, rpc, console, samples=SAMPLES, actor=DIC_OFFICER, sms_limit=100):
        self.rpc = rpc
        self.sms_limit = sms_limit
        self.console = console
        self.samples = Path(samples)
        self.actor = actor
        self.outcomes = Counter()
        self.by_source = {}
        # Inputs taken from each source: files, rows or messages.
        self.inputs = Counter()
        self.not_sent = {}
        self.case_ids = {}
        # The cases this run opened: the only ones its officer triages.
        self.opened = set()
        # The summary lists the quarantine entries of this run only.
        self.started_at = datetime.now(UTC)

    def _note_opened(self, result):
        for item in result.get("results") or ():
            if item.get("outcome") == "opened" and item.get("case_id"):
                self.opened.add(item["case_id"])

    def _count(self, source, result, inputs=1):
        self._note_opened(result)
        summary = result.get("summary", {})
        self.inputs[source] += inputs
        previous = Counter(self.by_source.get(source, {}))
        previous.update(summary)
        self.by_source[source] = dict(previous)
        for key in ("opened", "attached", "duplicate", "quarantined", "proposed"):
            self.outcomes[key] += summary.get(key, 0)
        return result

    def feed_all(self, progress):
        self.feed_csv(progress, "vfnd/vn_news_223_tdlfr.csv")
        self.feed_csv(progress, "vfnd/vn_news_226_tlfr.csv")
        self.feed_each(progress, "vfnd/social/post_*.json", "api", json_input=True)
        self.feed_each(progress, "email/*.eml", "email", binary=True)
        self.feed_each(progress, "misp/*.json", "misp")
        self.feed_each(progress, "stix/*.json", "stix")
        self.feed_sms(progress, "vihos/test.csv", limit=self.sms_limit)

    def feed_csv(self, progress, relative):
        from services.intake.channels import batch

        path = self.samples / relative
        data = path.read_bytes()
        rows = list(batch.read_csv(data))
        task = progress.add_task(
            t(f"Nhập {path.name}", f"Import {path.name}"), total=len(rows)
        )
        totals = Counter()
        for start in range(0, len(rows), BATCH_ROWS):
            chunk = [_batch_item(row) for row in rows[start : start + BATCH_ROWS]]
            result = self.rpc.intake.submit_batch(
                "csv",
                chunk,
                self.actor,
                filename=path.name,
                file_sha256=batch.file_key(data),
            )
            self._note_opened(result)
            totals.update(result["summary"])
            progress.advance(task, len(chunk))
        self._count(relative, {"summary": dict(totals)}, inputs=len(rows))

    def feed_each(self, progress, pattern, channel, binary=False, json_input=False):
        import json

        files = sorted(self.samples.glob(pattern))
        task = progress.add_task(
            t(f"Kênh {channel}", f"Channel {channel}"), total=len(files)
        )
        for path in files:
            if binary:
                data, encoding = base64.b64encode(path.read_bytes()).decode(), "base64"
            elif json_input:
                data, encoding = json.loads(path.read_text(encoding="utf-8")), "text"
            else:
                data, encoding = path.read_text(encoding="utf-8"), "text"
            # A post has no id of its own to key it: its file name does, so
            # a second run finds it again instead of adding a report.
            key = f"sample:{path.relative_to(self.samples)}" if json_input else None
            result = self.rpc.intake.submit_input(
                channel, data, self.actor, encoding=encoding, idempotency_key=key
            )
            self._count(pattern, result)
            for item in result["results"]:
                if item.get("case_id"):
                    self.case_ids[path.stem] = item["case_id"]
            progress.advance(task)

    def feed_sms(self, progress, relative, limit):
        from services.intake.channels import batch

        every_row = list(batch.read_csv((self.samples / relative).read_bytes()))
        rows = every_row[:limit]
        # The rest of the file is left out on purpose (--sms-limit); the
        # summary says how many.
        self.not_sent[relative] = len(every_row) - len(rows)
        task = progress.add_task(
            t("Kênh SMS (ViHOS)", "SMS channel (ViHOS)"), total=len(rows)
        )
        totals = Counter()
        for row in rows:
            payload = {
                "from": "0912000111",
                "to": "5656",
                "id": f"vihos-{row.number}",
                "text": getattr(row, "values", {}).get("text", ""),
            }
            result = self.rpc.intake.submit_input("sms", payload, self.actor)
            self._note_opened(result)
            totals.update(result["summary"])
            progress.advance(task)
        self._count(relative, {"summary": dict(totals)}, inputs=len(rows))


def _batch_item(row):
    if getattr(row, "report", None) is not None:
        return {"number": row.number, "raw": row.raw, "report": row.report}
    return {
        "number": row.number,
        "raw": row.raw,
        "reason": getattr(row, "reason", "unreadable row"),
        "fields": getattr(row, "fields", {}),
    }


# The scenario: reports an officer types from a phone call, a letter and
# SMS short codes; each exercises one kind of case.
TYPED_REPORTS = {
    "scam": (
        "sms",
        {
            "from": "+84912345678",
            "to": "5656",
            "id": "demo-scam-1",
            "text": "LD 0987.654.321 gọi tự xưng công an Hải Phòng yêu cầu chuyển "
            "tiền để 'xác minh tài khoản', kèm đường dẫn "
            "http://congan-haiphong-xacminh.example/tk",
        },
    ),
    "incident": (
        "phone",
        {
            "summary": "Người gọi báo trang Facebook 'Tin nóng Đất Cảng' đăng tin sai "
            "sự thật rằng cầu Rào bị sập, nhiều người thương vong, gây "
            "hoang mang dư luận. https://www.facebook.com/tinnongdatcang/"
            "posts/1001",
            "called_at": "2026-12-03T08:15:00+07:00",
            "caller": {"name": "Trần Thị Bình", "phone": "0912345678"},
            "sector": "transport",
            "incident": True,
        },
    ),
    "secret": (
        "post",
        {
            "subject": "Phản ánh việc đăng tải tài liệu mật trên mạng xã hội",
            "summary": "Thư phản ánh một tài khoản mạng xã hội đăng ảnh chụp văn bản "
            "có đóng dấu MẬT của một cơ quan nhà nước thành phố. "
            "https://www.facebook.com/taikhoanx/posts/2002",
            "received_on": "2026-12-02",
            "sender": {"name": "Lê Văn Cường", "address": "Ngô Quyền, Hải Phòng"},
            "reference": "Thư số 15/2026",
        },
    ),
    "criticism": (
        "phone",
        {
            "summary": "Người gọi đề nghị xử lý bài viết của một nhà báo phê bình "
            "tiến độ chậm của dự án cải tạo đường ở phường, cho rằng bài "
            "viết làm xấu hình ảnh địa phương. https://baomoi.example/"
            "phe-binh-tien-do-du-an-3003",
            "called_at": "2026-12-03T09:00:00+07:00",
            "caller": {"name": "Phạm Văn Dũng"},
        },
    ),
    "escalation": (
        "sms",
        {
            "from": "+84988777666",
            "to": "5656",
            "id": "demo-escalation-1",
            "text": "Trang mạng kêu gọi tụ tập gây rối, chống chính quyền tại "
            "trung tâm thành phố cuối tuần này "
            "https://www.facebook.com/nhomkeugoi/posts/4004",
        },
    ),
    "ministry": (
        "sms",
        {
            "from": "+84977666555",
            "to": "5656",
            "id": "demo-ministry-1",
            "text": "Trang web đặt ở nước ngoài đăng bài xuyên tạc lịch sử, xúc "
            "phạm anh hùng dân tộc https://xuyentac-lichsu.example/bai-5005",
        },
    ),
}


def _tally_note(tally):
    return t(
        f"kết thúc lấy ý kiến: {tally.get('agree', 0)} đồng ý, "
        f"{tally.get('disagree', 0)} không đồng ý, {tally.get('abstain', 0)} "
        f"không có ý kiến, {tally.get('missing', 0)} chưa trả lời",
        f"round closed: {tally}",
    )


# The kinds of case the scenario walks, as the summary names them.
SCENARIO_KINDS = {
    "scam": ("Lừa đảo giả danh công an", "Scam"),
    "incident": ("Tin sai về sự cố địa phương", "False news about an incident"),
    "secret": ("Lộ bí mật nhà nước", "State secrets"),
    "criticism": ("Ý kiến phản biện (Điều 4.2)", "Criticism (Art. 4.2)"),
    "escalation": ("Báo cáo UBND thành phố", "Escalation to the city"),
    "ministry": ("Đề nghị Bộ gỡ bỏ", "Removal proposal to the Ministry"),
}


def _agency_name(code):
    """The agency's Vietnamese name for the summary, or its code."""
    try:
        return shipped_registry().get(code).name_vi
    except NotFound:
        return code


class AlreadyWalked(Exception):
    """The typed report joined a case an earlier run walked."""


class Scenario:
    """Walks the typed cases, one kind of case each, to their end."""

    def __init__(self, rpc, console, run_id=None):
        self.rpc = rpc
        self.console = console
        self.playbook = Playbook(rpc)
        self.walks = []
        self.failed = []
        # An SMS's message id is its idempotency key: each demo run sends
        # its own, so a second run on the same stack opens new cases rather
        # than being answered with the first run's (closed) ones.
        self.run_id = run_id or datetime.now(UTC).strftime("%Y%m%dT%H%M%S")

    def submit(self, kind):
        channel, data = TYPED_REPORTS[kind]
        if "id" in data:
            data = {**data, "id": f"{data['id']}-{self.run_id}"}
        result = self.rpc.intake.submit_input(channel, data, DIC_OFFICER)["results"][0]
        walk = Walk(result["case_id"], kind)
        self.walks.append(walk)
        if result["outcome"] != "opened":
            # The report joined a case still open from an earlier run, as
            # it should: that case is further along than this walk starts.
            walk.state = self.rpc.intake.get_case(walk.case_id).get("state", "")
            raise AlreadyWalked(
                t(
                    "báo cáo nhập vào vụ việc còn mở từ lần chạy trước; "
                    "không đi lại quy trình",
                    "the report joined a case still open from an earlier run; "
                    "not walked again",
                )
            )
        return walk

    KINDS = ("scam", "incident", "secret", "criticism", "escalation", "ministry")

    def run(self, progress):
        task = progress.add_task(
            t("Xử lý các vụ việc mẫu", "Walking the scenario"), total=len(self.KINDS)
        )
        for kind in self.KINDS:
            self.walk_kind(kind)
            progress.advance(task)

    def walk_kind(self, kind):
        """Submit the typed report of ``kind`` and walk its case; a failure
        is noted on the walk and in ``failed``, and the next kind goes on."""
        try:
            walk = self.submit(kind)
            getattr(self, f"walk_{kind}")(walk)
        except AlreadyWalked as exc:
            self.walks[-1].note(str(exc))
        except Exception as exc:  # noqa: BLE001 - reported in the summary
            if self.walks and self.walks[-1].scenario == kind:
                self.walks[-1].note(t(f"lỗi: {exc}", f"error: {exc}"))
            self.failed.append(kind)
            if self.console is not None:
                self.console.print(
                    t(
                        f"[red]Vụ việc {kind} dừng lại:[/] {exc}",
                        f"[red]Case {kind} stopped:[/] {exc}",
                    )
                )

    def _verify_in_writing(self, walk, invited, question):
        found = self.playbook.written_round(walk.case_id, invited, question)
        walk.note(_tally_note(found.get("tally") or {}))

    def _finish(self, walk, measures):
        playbook = self.playbook
        decision = playbook.decide(
            walk.case_id, measures, "Kế hoạch xử lý theo kết luận thẩm định"
        )
        walk.note(t("đã quyết định xử lý", "decided"))
        # The other agencies' adapters report their own measures; DIC's
        # officer reports DIC's (Art. 7.6.c).
        playbook.report_own_results(walk.case_id, decision)
        playbook.wait_state(walk.case_id, "resolved")
        walk.note(t("đã xử lý xong", "resolved"))
        playbook.close(walk.case_id)
        walk.state = "closed"

    def walk_scam(self, walk):
        playbook = self.playbook
        playbook.triage(
            walk.case_id,
            ["fraud_scam", "impersonation"],
            severity="high",
            posted_at=SCENARIO_POSTED_AT,
        )
        assignment = playbook.assignments(walk.case_id)
        invited = playbook.coordinating(assignment) or ["police"]
        self._verify_in_writing(
            walk, invited, "Đề nghị cho ý kiến về tin nhắn giả danh công an lừa đảo."
        )
        playbook.appraise(
            walk.case_id,
            "violates",
            ["CYBER2018-18.1.b", "CYBER2018-18.1.c"],
            "Nội dung là hành vi lừa đảo chiếm đoạt tài sản, không phải ý kiến hay "
            "hoạt động báo chí; xử lý không cản trở tự do ngôn luận (Điều 4.2).",
        )
        self._finish(
            walk,
            [
                {
                    "kind": "removal_request",
                    "agency": "dic",
                    "target": "platform",
                    "description": "Yêu cầu nhà mạng chặn đầu số và gỡ đường dẫn",
                },
                {
                    "kind": "police_referral",
                    "agency": "police",
                    "description": "Chuyển Công an thành phố điều tra",
                },
            ],
        )

    def walk_incident(self, walk):
        playbook = self.playbook
        playbook.triage(
            walk.case_id,
            ["false_information"],
            sector="transport",
            incident=True,
            severity="high",
            posted_at=SCENARIO_POSTED_AT,
        )
        assignment = playbook.assignments(walk.case_id)
        self._initial_information(walk)
        invited = playbook.coordinating(assignment) or ["police"]
        self._verify_in_writing(
            walk, invited, "Đề nghị xác minh thông tin về sự cố cầu Rào."
        )
        playbook.appraise(
            walk.case_id,
            "violates",
            ["CYBER2018-8.1.d"],
            "Thông tin bịa đặt về sự cố gây hoang mang; cải chính không hạn chế "
            "quyền phản ánh, góp ý của người dân (Điều 4.2).",
        )
        self._finish(
            walk,
            [
                {
                    "kind": "official_information",
                    "agency": "dic",
                    "description": "Cung cấp thông tin chính thức, cải chính tin sai",
                },
                {
                    "kind": "sanction_proposal",
                    "agency": "dic",
                    "sanction_code": "D15-101.1.a",
                    "description": "Đề xuất xử phạt chủ tài khoản đăng tin sai sự thật",
                },
            ],
        )

    def _initial_information(self, walk):
        """The responsible agency's spokesperson gives initial information
        to city media within 2 hours (Art. 7.6.d)."""

        def started():
            status = self.rpc.press.initial_info_status(walk.case_id)
            return status if status.get("status") != "none" else None

        status = wait_until("the 2-hour clock", started, 60)
        agency = status.get("agency") or "dic"
        spokespersons = self.rpc.press.spokespersons(agency)
        name = (
            spokespersons[0]["name"] if spokespersons else f"Người phát ngôn {agency}"
        )
        speaker = {"agency": agency, "officer": name}
        draft = self.rpc.press.draft_statement(
            walk.case_id,
            "initial_info",
            speaker,
            {
                # Own words: a statement must not repeat the reported content.
                "title": "Thông tin ban đầu về thông tin sai sự thật liên quan cầu Rào",
                "facts": "Trên mạng xã hội xuất hiện thông tin cho rằng cầu Rào bị "
                "sập, gây thương vong. Sở đã kiểm tra và xác định thông tin này "
                "không đúng sự thật.",
                "leadership_position": "Lãnh đạo Sở khẳng định cầu Rào vẫn khai thác "
                "bình thường, không có sự cố.",
                "first_measures": [
                    "Kiểm tra hiện trường",
                    "Cung cấp thông tin cho báo chí",
                ],
            },
        )
        statement_id = draft["statement_id"]
        self.rpc.press.approve_statement(statement_id, speaker)
        self.rpc.press.distribute_statement(statement_id, speaker)
        name = _agency_name(agency)
        walk.note(
            t(
                f"{name} đã cung cấp thông tin ban đầu",
                f"initial information given by {agency}",
            )
        )

    def walk_secret(self, walk, observers=()):
        """``observers``: agencies without clearance that DIC adds to the
        case; what reaches them is redacted."""
        playbook = self.playbook
        playbook.triage(
            walk.case_id,
            ["state_secrets"],
            severity="critical",
            classification="secret",
            posted_at=SCENARIO_POSTED_AT,
        )
        assignment = playbook.assignments(walk.case_id)
        for agency in observers:
            self.rpc.routing.add_agency(
                walk.case_id,
                agency,
                "Tham gia thẩm định theo đề nghị của Sở",
                playbook.actor,
            )
        invited = playbook.coordinating(assignment) or ["police", "internal_affairs"]
        # The minutes can be recorded once the meeting has begun.
        starts = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
        playbook.meeting(
            walk.case_id,
            invited,
            ["Xác minh tài liệu bị đăng tải", "Biện pháp xử lý"],
            "Các cơ quan thống nhất tài liệu là tài liệu mật.",
            ["Nội dung làm lộ bí mật nhà nước", "Gỡ bỏ và điều tra"],
            starts,
            wait_start=3,
        )
        walk.note(t("biên bản cuộc họp đã duyệt", "meeting minutes approved"))
        playbook.appraise(
            walk.case_id,
            "violates",
            ["CYBER2018-17.1", "PRESS2016-9.5"],
            "Nội dung làm lộ bí mật nhà nước, không thuộc phạm vi tự do báo chí, "
            "ngôn luận (Điều 4.2).",
        )
        self._finish(
            walk,
            [
                {
                    "kind": "removal_request",
                    "agency": "dic",
                    "target": "platform",
                    "description": "Yêu cầu nền tảng gỡ bỏ ngay",
                },
                {
                    "kind": "police_referral",
                    "agency": "police",
                    "description": "Chuyển Công an thành phố xử lý theo thẩm quyền",
                },
            ],
        )

    def walk_criticism(self, walk):
        playbook = self.playbook
        playbook.triage(
            walk.case_id,
            ["defamation"],
            journalists_involved=True,
            severity="low",
            posted_at=SCENARIO_POSTED_AT,
        )
        assignment = playbook.assignments(walk.case_id)
        invited = playbook.coordinating(assignment) or ["journalists"]
        self._verify_in_writing(
            walk, invited, "Bài viết phê bình tiến độ dự án có vi phạm không?"
        )
        playbook.appraise(
            walk.case_id,
            "does_not_violate",
            [],
            "Bài viết là phê bình, góp ý của báo chí về công việc của chính quyền; "
            "xử lý sẽ cản trở tự do báo chí (Điều 4.2).",
            reason="Nội dung là phê bình chính đáng, không vi phạm Điều 3.",
        )
        playbook.wait_state(walk.case_id, "rejected")
        walk.state = "rejected"

    def walk_escalation(self, walk):
        playbook = self.playbook
        playbook.triage(
            walk.case_id,
            ["public_disorder_incitement", "anti_state"],
            severity="critical",
            posted_at=SCENARIO_POSTED_AT,
        )
        playbook.assignments(walk.case_id)
        escalation = playbook.escalate(
            walk.case_id,
            "city",
            "Vụ việc vượt thẩm quyền của Sở, cần Ủy ban nhân dân thành phố chỉ đạo.",
        )
        walk.note(
            t(
                "đã báo cáo Ủy ban nhân dân thành phố",
                "escalated to the City People's Committee",
            )
        )
        playbook.answer_escalation(
            escalation["escalation_id"],
            "directed",
            "verifying",
            "Thành phố chỉ đạo Sở chủ trì xác minh, xử lý",
        )
        walk.state = "verifying"

    def walk_ministry(self, walk):
        playbook = self.playbook
        playbook.triage(
            walk.case_id,
            ["historical_distortion"],
            severity="high",
            posted_at=SCENARIO_POSTED_AT,
        )
        playbook.assignments(walk.case_id)
        escalation = playbook.escalate(
            walk.case_id,
            "ministry",
            "Đề nghị Bộ gỡ bỏ trang web đặt ở nước ngoài (Điều 7.1.g).",
        )
        walk.note(t("đã đề nghị Bộ gỡ bỏ", "removal proposed to the Ministry"))
        walk.state = "escalated"
        return escalation


def triage_suggested(rpc, console, progress, case_ids, limit=5000):
    """Confirm the triage of the received cases among ``case_ids`` (those
    the demo opened) with their suggested categories, as the officer on
    duty would after reading them. Cases others submitted to the same
    stack are left for their own officers."""
    cases = [
        case
        for case in rpc.intake.list_cases("received", limit)
        if case["case_id"] in case_ids
    ]
    task = progress.add_task(
        t("Xác nhận phân loại", "Confirming triage"), total=len(cases)
    )
    confirmed = 0
    # A few calls in flight at once: the officer's confirmations are
    # independent of each other.
    for start in range(0, len(cases), 10):
        chunk = cases[start : start + 10]
        pending = [rpc.intake.get_case.call_async(case["case_id"]) for case in chunk]
        calls = []
        for reply in pending:
            full = reply.result()
            categories = full.get("suggested_categories") or ["false_information"]
            classification = "secret" if "state_secrets" in categories else "internal"
            calls.append(
                (
                    full["case_id"],
                    rpc.intake.confirm_triage.call_async(
                        full["case_id"],
                        categories,
                        None,
                        None,
                        bool(full.get("incident")),
                        False,
                        "medium",
                        classification,
                        None,
                        DIC_OFFICER,
                    ),
                )
            )
        for case_id, reply in calls:
            try:
                reply.result()
                confirmed += 1
            except Exception as exc:  # noqa: BLE001 - counted and shown
                console.print(f"[yellow]{case_id}[/]: {exc}")
            progress.advance(task)
    return confirmed


def agency_backlog(rpc, amqp_uri):
    """Events the agencies' adapters still have to deliver: waiting in
    their queues, or taken and not yet delivered."""
    from kombu import Connection

    adapters = rpc.adapters.list_adapters()["adapters"]
    waiting = 0
    with Connection(amqp_uri, connect_timeout=10) as connection:
        for adapter in adapters:
            for queue in (adapter.get("queue"), adapter.get("remote_queue")):
                if not queue:
                    continue
                channel = connection.channel()
                try:
                    waiting += channel.queue_declare(queue, passive=True)[1]
                finally:
                    channel.close()
    taken = sum(adapter.get("backlog") or 0 for adapter in adapters)
    return waiting + taken


def wait_for_agencies(rpc, amqp_uri, progress, timeout=900):
    """Wait until the adapters have delivered what the intake of the
    samples gave them, so that the scenario's requests to the agencies
    are not queued behind hundreds of notices. Returns what is left."""
    task = progress.add_task(
        t("Các cơ quan nhận thông báo", "Agencies receiving notices"), total=None
    )
    deadline = time.monotonic() + timeout
    highest, quiet = 0, 0
    while time.monotonic() < deadline:
        left = agency_backlog(rpc, amqp_uri)
        highest = max(highest, left, 1)
        progress.update(task, total=highest, completed=highest - left)
        # Routing may still be assigning: wait for a few empty looks.
        quiet = quiet + 1 if left == 0 else 0
        if quiet >= 3:
            return 0
        time.sleep(1)
    return left


def settle(rpc, seconds=30):
    """Wait until the reporting log stops growing (the bus is drained)."""
    last, still = None, 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        marker = rpc.reporting.log_status()["entries"]
        still = still + 1 if marker == last else 0
        if still >= 3:
            return True
        last = marker
        time.sleep(1)
    return False


class LoggedProgress(Progress):
    """Progress for output that is not a terminal (a pipe, a CI log),
    where the bars are not drawn: a line per task at each tenth of the way
    and at its end, so a long step does not look stuck."""

    def __init__(self, console):
        super().__init__(console=console, transient=False, disable=True)
        self._printed = {}

    def update(self, task_id, **changes):
        super().update(task_id, **changes)
        self._report(task_id)

    def advance(self, task_id, advance=1):
        super().advance(task_id, advance)
        self._report(task_id)

    def _report(self, task_id):
        task = self._tasks[task_id]
        if not task.total:
            return
        tenth = int(10 * min(task.completed, task.total) / task.total)
        if tenth > self._printed.get(task_id, 0):
            self._printed[task_id] = tenth
            self.console.print(
                f"  {task.description}: {int(task.completed):,}/{int(task.total):,}"
            )


def build_progress(console):
    if console.is_terminal:
        return Progress(console=console, transient=False)
    return LoggedProgress(console)


def current_month():
    from phoihop.i18n import DISPLAY_TZ

    return datetime.now(UTC).astimezone(DISPLAY_TZ).strftime("%Y-%m")
