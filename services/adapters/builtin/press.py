"""The city's media: Hai Phong Newspaper, Radio and Television, the portal.

Art. 7.7: they publish official information and legal education, join
monitoring, verification and appraisal, and publish promptly to counter
harmful content; DIC directs them to publish (Art. 7.1.i) and the results
of handling go to them for publication (Art. 6.6). Their adapters carry
the statements to the newsroom; with ``confirm_delivery`` (or in the demo,
``auto_answer``) they confirm receipt through the API, which the press
service counts as delivered.
"""

from phoihop.adapters import handles, idempotency_key
from services.adapters.builtin.common import CoordinatingAdapter


class PressAdapter(CoordinatingAdapter):
    """Base of the press agencies' adapters (Art. 7.7)."""

    @handles(
        "case.assigned",
        "case.assignment_changed",
        "meeting.convened",
        "case.decided",
        "press.results_published",
        "deadline.due_soon",
        "deadline.overdue",
    )
    def on_case(self, event):
        self.notify(event)

    @handles("press.statement_distributed")
    def on_statement(self, event):
        self.notify(event)
        if self.options.get("confirm_delivery", self.auto_answer) and self.api:
            self.api.confirm_statement(
                event.payload["statement_id"],
                idempotency_key=idempotency_key(self.name, event, "delivery"),
            )


class HaiPhongNewspaperAdapter(PressAdapter):
    """Báo Hải Phòng (Art. 7.7)."""

    agency = "press-hp"
    description = "Hai Phong Newspaper, Art. 7.7"


class HaiPhongTelevisionAdapter(PressAdapter):
    """Đài Phát thanh và Truyền hình Hải Phòng (Art. 7.7)."""

    agency = "press-thp"
    description = "Hai Phong Radio and Television, Art. 7.7"


class CityPortalAdapter(PressAdapter):
    """Cổng thông tin điện tử thành phố (Art. 7.7)."""

    agency = "portal"
    description = "City web portal, Art. 7.7"
