"""A load of reports whose outcome is known in advance, and its sender.

``Corpus`` builds reports of distinct content (texts and URLs that match no
other group) plus deliberate duplicates of earlier ones, by URL or by text,
so the number of cases the load must open is known: one per group. Every
report carries its own idempotency key; ``LoadGenerator`` sends them
through the intake RPC (the API form and the SMS channel) and the public
API, several at a time, and sends a report again with the same key until
an answer comes back. A retried report must not become a second report:
that is what the fault tests check. A share of the new cases is triaged by
an officer so that routing, consultation, press and the agency adapters
have work while their processes are killed.
"""

import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import eventlet
import requests
from nameko.standalone.rpc import ClusterRpcProxy

OFFICER = {"agency": "dic", "officer": "Kiểm thử tải"}

# Words of the generated posts; random picks of 14 of them give texts that
# share no three-word run with each other (no near-duplicate proposals).
WORDS = (
    "bài viết đăng tải thông tin sai sự thật về giá xăng tại quận trung tâm "
    "người dân hoang mang chia sẻ nhiều lần trên mạng xã hội nhóm kín trang "
    "cá nhân video clip hình ảnh cắt ghép bình luận kêu gọi tụ tập mua bán "
    "tài khoản ngân hàng chuyển tiền trúng thưởng khuyến mại giả mạo cơ quan "
    "chức năng bệnh viện trường học cảng biển khu công nghiệp chợ đầu mối "
    "tuyến đường dự án đất đai quy hoạch dịch bệnh vắc xin thực phẩm bẩn "
    "nước sinh hoạt mất điện ngập lụt bão lũ tai nạn giao thông cháy nổ"
).split()

PLATFORMS = (
    "https://www.facebook.com/{tag}/posts/{n}",
    "https://www.tiktok.com/@{tag}/video/{n}",
    "https://www.youtube.com/watch?v={tag}{n}",
    "https://zalo.me/{tag}/{n}",
)

# Paths a report takes in.
RPC_FORM = "submit_report"
RPC_SMS = "submit_input:sms"
HTTP_FORM = "POST /api/v1/reports"

# A pause before the same report is sent again after a failure; refusals
# (the input itself is wrong) are not sent again.
RETRY_PAUSE_SECONDS = 0.5
REFUSALS = ("ValidationError", "Forbidden", "NotFound")


@dataclass
class Report:
    key: str
    group: int
    path: str
    form: dict
    original: bool = True
    triage: dict | None = None


@dataclass
class Corpus:
    """Reports of ``groups`` distinct contents and their duplicates."""

    tag: str
    reports: list = field(default_factory=list)
    groups: int = 0

    @classmethod
    def build(cls, tag, count, duplicates=0.15, triage_every=25, seed=None):
        rng = random.Random(seed if seed is not None else tag)
        corpus = cls(tag=tag)
        distinct = count - int(count * duplicates)
        originals = []
        for number in range(distinct):
            url = rng.choice(PLATFORMS).format(tag=tag, n=number)
            text = _text(rng, tag, number)
            path = _pick_path(rng)
            triage = None
            if triage_every and number % triage_every == 0:
                triage = {"incident": number % (2 * triage_every) == 0}
            report = _report(tag, len(corpus.reports), number, url, text, path, triage)
            corpus.reports.append(report)
            originals.append((number, url, text, path))
        for extra in range(count - distinct):
            group, url, text, path = rng.choice(originals)
            # An SMS carries its link inside its text: only its URL can be
            # repeated by a report of another channel.
            if extra % 2 or path == RPC_SMS:
                # Same post, other words: the URL decides.
                text = _text(rng, tag, f"{group}-{extra}")
            else:
                # Same words, other address: the text decides.
                url = rng.choice(PLATFORMS).format(tag=f"{tag}d", n=f"{group}x{extra}")
            path = rng.choice((RPC_FORM, RPC_FORM, HTTP_FORM))
            report = _report(tag, len(corpus.reports), group, url, text, path, None)
            report.original = False
            corpus.reports.append(report)
        corpus.groups = distinct
        rng.shuffle(corpus.reports)
        return corpus

    def __len__(self):
        return len(self.reports)


def _text(rng, tag, number):
    words = " ".join(rng.sample(WORDS, 14))
    return f"{words.capitalize()} (mã {tag}-{number})."


def _pick_path(rng):
    roll = rng.random()
    if roll < 0.7:
        return RPC_FORM
    if roll < 0.9:
        return RPC_SMS
    return HTTP_FORM


def _report(tag, index, group, url, text, path, triage):
    key = f"{tag}:{index}"
    if path == RPC_SMS:
        form = {"from": f"09{index:08d}", "text": f"{text} {url}", "id": key}
    else:
        form = {
            "reporter": {"kind": "agency", "agency": "dic", "officer": "Kiểm thử"},
            "content_items": [{"url": url, "captured_text": text}],
            "about": {"text": ""},
            "idempotency_key": key,
        }
    return Report(key=key, group=group, path=path, form=form, triage=triage)


@dataclass
class Outcome:
    key: str
    group: int
    report_id: str
    case_id: str
    outcome: str


class LoadGenerator:
    """Sends a corpus with ``concurrency`` senders; see the module docstring.

    ``start`` returns at once; ``sent`` counts reports answered; ``wait``
    waits for the end. Every answer is kept in ``outcomes`` by key.
    """

    def __init__(
        self, corpus, nameko_config, base_url, api_key, concurrency=8, rpc_timeout=20
    ):
        self.corpus = corpus
        self.config = nameko_config
        self.base_url = base_url
        self.api_key = api_key
        self.concurrency = concurrency
        self.rpc_timeout = rpc_timeout
        self.outcomes = {}
        self.triaged = {}
        self.attempts = Counter()
        self.errors = Counter()
        self.refused = {}
        self._answered = set()
        self._queue = list(reversed(corpus.reports))
        self._lock = threading.Lock()
        self._pool = None
        self.started_at = None
        self.finished_at = None

    @property
    def sent(self):
        return len(self.outcomes)

    def start(self):
        self.started_at = time.monotonic()
        self._pool = eventlet.GreenPool(self.concurrency)
        for _ in range(self.concurrency):
            self._pool.spawn(self._sender)
        return self

    def wait(self, timeout):
        with eventlet.Timeout(timeout, False):
            self._pool.waitall()
        if self.finished_at is None and not self._queue:
            self.finished_at = time.monotonic()
        return self.done

    @property
    def done(self):
        return self.sent + len(self.refused) >= len(self.corpus)

    def wait_for_sent(self, count, timeout):
        deadline = time.monotonic() + timeout
        while self.sent < count and not self.done and time.monotonic() < deadline:
            eventlet.sleep(0.2)

    def _next(self):
        """The next report to send. A duplicate waits until its original has
        been answered: sent before it, a duplicate by URL and one by text
        of the same original would share no key and rightly open two cases.
        """
        while True:
            with self._lock:
                for index in range(len(self._queue) - 1, -1, -1):
                    report = self._queue[index]
                    if report.original or report.group in self._answered:
                        return self._queue.pop(index)
                if not self._queue:
                    return None
            eventlet.sleep(0.1)

    def _sender(self):
        client = None
        session = requests.Session()
        try:
            while True:
                report = self._next()
                if report is None:
                    return
                while True:
                    self.attempts[report.path] += 1
                    try:
                        if client is None:
                            client = ClusterRpcProxy(
                                self.config, timeout=self.rpc_timeout
                            )
                            proxy = client.start()
                        result = self._send(proxy, session, report)
                    except _Refused as refusal:
                        self.refused[report.key] = str(refusal)
                        self._answered.add(report.group)
                        break
                    except Exception as exc:  # noqa: BLE001 - the same report again
                        name = _error_name(exc)
                        if name in REFUSALS:
                            self.refused[report.key] = f"{name}: {exc}"
                            self._answered.add(report.group)
                            break
                        self.errors[name] += 1
                        client = _close(client)
                        eventlet.sleep(RETRY_PAUSE_SECONDS)
                        continue
                    self.outcomes[report.key] = Outcome(
                        report.key,
                        report.group,
                        result["report_id"],
                        result["case_id"],
                        result["outcome"],
                    )
                    if report.original:
                        self._answered.add(report.group)
                    if report.triage is not None:
                        self._triage(proxy, result["case_id"], report.triage)
                    break
        finally:
            _close(client)
            session.close()
            if not self._queue and self.finished_at is None:
                self.finished_at = time.monotonic()

    def _send(self, proxy, session, report):
        if report.path == RPC_FORM:
            result = proxy.intake.submit_report(
                report.form, OFFICER, idempotency_key=report.key
            )
        elif report.path == RPC_SMS:
            answer = proxy.intake.submit_input(
                "sms", json.dumps(report.form), OFFICER, idempotency_key=report.key
            )
            result = answer["results"][0]
        else:
            result = self._post(session, report)
        if result.get("outcome") not in ("opened", "attached", "duplicate"):
            raise _Refused(f"{report.key}: {result}")
        return result

    def _post(self, session, report):
        answer = session.post(
            f"{self.base_url}/api/v1/reports",
            json=report.form,
            headers={"Authorization": f"Bearer {self.api_key}"},
            timeout=self.rpc_timeout,
        )
        if answer.status_code in (400, 403, 404, 409, 422):
            raise _Refused(f"{report.key}: {answer.status_code} {answer.text[:300]}")
        answer.raise_for_status()
        return answer.json()

    def _triage(self, proxy, case_id, triage):
        """Confirm the triage of a new case as an officer would, again on
        failure; a case already triaged (an earlier try got through) is
        done."""
        for _ in range(200):
            try:
                proxy.intake.confirm_triage(
                    case_id,
                    ["fraud_scam"],
                    "health",
                    None,
                    triage["incident"],
                    False,
                    "medium",
                    "internal",
                    None,
                    OFFICER,
                )
                self.triaged[case_id] = "triaged"
                return
            except Exception as exc:  # noqa: BLE001 - classified below
                name = _error_name(exc)
                if name in ("IllegalTransition", "Conflict"):
                    self.triaged[case_id] = name
                    return
                self.errors[f"triage:{name}"] += 1
                eventlet.sleep(RETRY_PAUSE_SECONDS)
        self.triaged[case_id] = "gave up"

    def summary(self):
        elapsed = (self.finished_at or time.monotonic()) - (self.started_at or 0)
        return {
            "sent": self.sent,
            "attempts": sum(self.attempts.values()),
            "retried": sum(self.errors.values()),
            "refused": len(self.refused),
            "triaged": len(self.triaged),
            "seconds": round(elapsed, 1),
            "per_second": round(self.sent / elapsed, 1) if elapsed else 0.0,
        }


class _Refused(Exception):
    """The input was refused: sending it again cannot help."""


def _error_name(exc):
    return getattr(exc, "exc_type", None) or type(exc).__name__


def _close(client):
    if client is not None:
        try:
            client.stop()
        except Exception:  # noqa: BLE001 - a proxy on a dead connection
            pass
    return None
