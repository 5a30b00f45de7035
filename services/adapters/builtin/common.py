"""What the built-in adapters share: delivery and the demo's answers.

Every built-in adapter delivers the events it handles through the
transports of its configuration. With ``options.auto_answer`` (off unless
the configuration turns it on; the demo does) it also plays its agency:
it gives an opinion when its agency is asked for one and reports a measure
done when its agency is given one, through the public API with its own key.
A real agency answers through its own officers instead.
"""

from phoihop.adapters import Adapter, AdapterConfigError, handles, idempotency_key

AUTO_ANSWER = "auto_answer"

AUTO_OPINION = (
    "Thống nhất với đề xuất của cơ quan chủ trì. (Ý kiến do bộ chuyển đổi trả "
    "lời tự động trong chế độ trình diễn.)"
)
AUTO_EVIDENCE = (
    "Đã thực hiện biện pháp theo phân công. (Kết quả do bộ chuyển đổi báo cáo tự "
    "động trong chế độ trình diễn.)"
)


def for_own_agency(adapter, event):
    """The event names the adapter's agency as the one to act."""
    return event.payload.get("agency") == adapter.agency


class AgencyAdapter(Adapter):
    """Base of the built-in adapters: deliver, and answer when asked to."""

    def setup(self):
        if self.auto_answer and self.api is None:
            raise AdapterConfigError(
                f"adapter {self.name!r}: auto_answer needs an API key",
                {f"{self.name}.api_key_env": "name the variable holding its API key"},
            )

    @property
    def auto_answer(self):
        return bool(self.options.get(AUTO_ANSWER, False))

    def notify(self, event):
        """Deliver through the transports, if the adapter has any."""
        if self.transports:
            self.deliver(event)

    def answer_opinion(self, event):
        """Give the agency's opinion in a written round (Art. 5.2.b)."""
        if not self.auto_answer or not for_own_agency(self, event):
            return
        self.api.submit_opinion(
            event.payload["consultation_id"],
            position=self.options.get("auto_answer_position", "agree"),
            reasoning=AUTO_OPINION,
            idempotency_key=idempotency_key(self.name, event, "opinion"),
        )
        self.log.info("adapter_answered_opinion", case_id=event.case_id)

    def answer_measure(self, event):
        """Report a measure given to the agency as done (Art. 7.6.c, 8.2)."""
        if not self.auto_answer or not for_own_agency(self, event):
            return
        self.api.report_result(
            event.case_id,
            event.payload["measure_id"],
            result="done",
            evidence=[{"description": AUTO_EVIDENCE}],
            note="",
            idempotency_key=idempotency_key(self.name, event, "result"),
        )
        self.log.info("adapter_reported_result", case_id=event.case_id)


class CoordinatingAdapter(AgencyAdapter):
    """An agency DIC asks for opinions and gives measures to: every
    coordinating agency of Art. 7.2-7.7. Subclasses add the case events
    their duties call for."""

    @handles("consultation.opinion_requested")
    def on_opinion_requested(self, event):
        self.notify(event)
        self.answer_opinion(event)

    @handles("measure.assigned")
    def on_measure_assigned(self, event):
        self.notify(event)
        self.answer_measure(event)
