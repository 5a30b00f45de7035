"""The pure rules of consultation: tallying a written round, finding the
dissent, checking a handling plan against the legal-basis catalogue, and
deciding when a case's measures are all reported.

Nothing here touches the database or the bus, so every rule is unit-tested
on its own and the service only wires them to storage and events.
"""

from collections import Counter
from dataclasses import dataclass, field

from phoihop.cases import STATES, can_transition
from phoihop.contracts.consultation import (
    ABSTAIN,
    AGREE,
    AGREED,
    DISAGREE,
    DONE,
    MINISTRY,
    NO_ACTION,
    NO_ANSWERS,
    NOT_AGREED,
    NOT_POSSIBLE,
    PARTLY_DONE,
    SPLIT,
)
from phoihop.errors import Forbidden, ValidationError
from phoihop.i18n import t
from phoihop.legal import as_date

LEAD_AGENCY = "dic"


@dataclass(frozen=True)
class RoundSummary:
    """What a closed written round adds up to."""

    tally: dict
    outcome: str
    dissent: list
    missing: list
    legal_basis_proposed: dict = field(default_factory=dict)


def answered(opinions):
    """The opinions that count: the latest revision of each agency's answer."""
    return {agency: opinion for agency, opinion in opinions.items() if opinion}


def missing_agencies(invited, opinions):
    """Invited agencies that have not answered, in invitation order."""
    return [agency for agency in invited if agency not in answered(opinions)]


def is_all_answered(invited, opinions):
    return not missing_agencies(invited, opinions)


def tally(invited, opinions):
    """Counts per position, and how many invited agencies did not answer.

    Only invited agencies count: an answer from anyone else is refused before
    it is stored, but the tally does not trust that.
    """
    given = answered(opinions)
    counts = Counter(given[agency]["position"] for agency in invited if agency in given)

    return {
        AGREE: counts[AGREE],
        DISAGREE: counts[DISAGREE],
        ABSTAIN: counts[ABSTAIN],
        "missing": len(missing_agencies(invited, opinions)),
    }


def round_outcome(counts):
    """Whether the proposal put in the round carried.

    Abstentions and missing answers count for neither side; a tie is a split.
    """
    if counts[AGREE] == 0 and counts[DISAGREE] == 0:
        return NO_ANSWERS
    if counts[AGREE] > counts[DISAGREE]:
        return AGREED
    if counts[DISAGREE] > counts[AGREE]:
        return NOT_AGREED

    return SPLIT


def dissent(outcome, invited, opinions):
    """The opinions against the prevailing position, kept with their reasons.

    When the proposal carried, the dissent is those who disagreed; when it
    did not, those who agreed. On a split no position prevails and the
    disagreeing opinions are kept, since the proposal did not carry.
    """
    given = answered(opinions)
    if outcome in (AGREED, SPLIT):
        against = DISAGREE
    elif outcome == NOT_AGREED:
        against = AGREE
    else:
        return []

    return [
        {
            "agency": agency,
            "position": given[agency]["position"],
            "reasoning": given[agency]["reasoning"],
            "legal_basis": list(given[agency].get("legal_basis", [])),
        }
        for agency in invited
        if agency in given and given[agency]["position"] == against
    ]


def proposed_legal_basis(invited, opinions):
    """How many answering agencies proposed each legal-basis code."""
    given = answered(opinions)
    counts = Counter(
        code
        for agency in invited
        if agency in given
        for code in dict.fromkeys(given[agency].get("legal_basis", []))
    )

    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def summarize_round(invited, opinions):
    counts = tally(invited, opinions)
    outcome = round_outcome(counts)

    return RoundSummary(
        tally=counts,
        outcome=outcome,
        dissent=dissent(outcome, invited, opinions),
        missing=missing_agencies(invited, opinions),
        legal_basis_proposed=proposed_legal_basis(invited, opinions),
    )


# Following other services ------------------------------------------------


def followed_state(current, current_at, state, occurred_at):
    """The state to take from another service's event, or None to keep ours.

    It is taken only when the event is newer than the one that set the
    current state (a late ``case.triaged`` does not undo the assignment) and
    the state machine allows the move from where this view stands (a
    re-assignment by routing, which does not see consultation's moves, does
    not pull a case under verification back to ``assigned``).
    """
    if state is None or state == current or state not in STATES:
        return None
    if current_at is not None and occurred_at is not None and occurred_at < current_at:
        return None
    if not can_transition(current, state):
        return None

    return state


# Who may do what --------------------------------------------------------


def is_lead(actor, case, lead=LEAD_AGENCY):
    """DIC leads every case (Art. 7.1); an agency the lead was transferred to
    leads that case too."""
    agency = actor.get("agency")
    return agency == lead or agency == case.get("lead")


def require_lead(actor, case, action, lead=LEAD_AGENCY):
    """Raise Forbidden unless the actor leads the case; ``action`` is the
    (Vietnamese, English) phrase of what was attempted."""
    if not is_lead(actor, case, lead):
        raise Forbidden(
            t(
                f"chỉ Sở Thông tin và Truyền thông (cơ quan chủ trì) được {action[0]}",
                f"only DIC (the lead agency) may {action[1]}",
            ),
            {"actor.agency": f"{actor.get('agency')} does not lead this case"},
        )


def answering_agency(actor, case, requested, expected, what, lead=LEAD_AGENCY):
    """The agency an answer is for: the caller's own, or, when the lead records
    an answer received on paper (Art. 5.1.b), the agency it names."""
    own = actor.get("agency")
    if requested is None or requested == own:
        return own
    if is_lead(actor, case, lead):
        return requested

    raise Forbidden(
        t(
            f"cơ quan {own} chỉ được trả lời cho chính mình, không thay {requested}",
            f"agency {own} may only answer for itself, not for {requested}",
        ),
        {"agency": f"must be {own}; {', '.join(expected)} {what}"},
    )


# Legal basis --------------------------------------------------------------


def legal_basis_problems(catalogue, codes, posted_at, field_name="legal_basis"):
    """Field errors for codes that are unknown, are sanction rows, or were not
    in force on the posting date (Art. 3; a decision cites the law of the day
    the content was posted)."""
    errors = {}
    for index, code in enumerate(codes):
        if catalogue.is_sanction(code):
            errors[f"{field_name}[{index}]"] = (
                f"{code} is a sanction provision; cite it on a sanction proposal"
            )
    positions = {code: index for index, code in reversed(list(enumerate(codes)))}
    for problem in catalogue.check(codes, posted_at):
        errors[f"{field_name}[{positions[problem.code]}]"] = problem.message

    return errors


def check_confirmed_legal_basis(catalogue, codes, posted_at):
    """Raise ValidationError unless every code may be cited for this content."""
    if posted_at is None:
        raise ValidationError(
            t(
                "cần ngày đăng nội dung để kiểm tra căn cứ pháp lý còn hiệu lực",
                "the date the content was posted is needed to check that the legal "
                "basis was in force",
            ),
            {"posted_at": "required when the case's triage did not confirm it"},
        )
    errors = legal_basis_problems(catalogue, codes, posted_at)
    if errors:
        raise ValidationError(
            t(
                "căn cứ pháp lý không dùng được cho nội dung đăng ngày "
                f"{as_date(posted_at).strftime('%d/%m/%Y')}",
                "legal basis cannot be cited for content posted on "
                f"{as_date(posted_at).isoformat()}",
            ),
            errors,
        )


def unknown_codes(catalogue, codes, field_name="legal_basis"):
    """Field errors for codes not in the catalogue (opinions only propose)."""
    return {
        f"{field_name}[{index}]": f"{code} is not in the legal-basis catalogue"
        for index, code in enumerate(codes)
        if code not in catalogue
    }


# Decisions and measures ---------------------------------------------------


def decision_legal_basis(requested, confirmed):
    """The codes a decision cites: the appraisal's confirmed codes by default;
    codes the appraisal did not confirm are refused."""
    if not confirmed:
        raise ValidationError(
            t(
                "không thể quyết định xử lý khi chưa có căn cứ pháp lý được xác nhận "
                "trong kết quả thẩm định",
                "a decision needs a legal basis confirmed by the appraisal; the case "
                "has none",
            ),
            {"legal_basis": "no confirmed legal basis (appraise the case first)"},
        )
    if not requested:
        return list(confirmed)

    errors = {
        f"legal_basis[{index}]": f"{code} was not confirmed by the appraisal"
        for index, code in enumerate(requested)
        if code not in confirmed
    }
    if errors:
        raise ValidationError(
            t(
                "quyết định chỉ được viện dẫn căn cứ pháp lý đã được thẩm định "
                "xác nhận",
                "a decision may only cite legal-basis codes the appraisal confirmed",
            ),
            errors,
        )

    return list(dict.fromkeys(requested))


def measure_problems(measures, catalogue, registry, posted_at, now, lead=LEAD_AGENCY):
    """Field errors in a handling plan: unknown agencies, due dates in the
    past, a removal proposal to the Ministry not carried by DIC (Art. 7.1.g),
    sanction codes that are not D15 sanction rows or not in force, and
    "no action" mixed with other measures."""
    errors = {}
    kinds = [measure["kind"] for measure in measures]
    if NO_ACTION in kinds and len(measures) > 1:
        errors["measures"] = "no_action cannot be combined with other measures"

    for index, measure in enumerate(measures):
        where = f"measures[{index}]"
        agency = measure["agency"]
        if agency not in registry or not registry.is_active(agency):
            errors[f"{where}.agency"] = f"{agency} is not an agency in the registry"
        if measure["due_at"] <= now:
            errors[f"{where}.due_at"] = "must be in the future"
        if measure.get("target") == MINISTRY and agency != lead:
            errors[f"{where}.agency"] = (
                f"a removal proposal to the Ministry is made by {lead} (Art. 7.1.g)"
            )
        code = measure.get("sanction_code")
        if code is None:
            continue
        if not catalogue.is_sanction(code):
            errors[f"{where}.sanction_code"] = (
                f"{code} is not a sanction provision (Decree 15/2020 Art. 101)"
            )
            continue
        for problem in catalogue.check([code], posted_at):
            errors[f"{where}.sanction_code"] = problem.message

    return errors


def is_reported(measure):
    return measure.get("result") is not None


def unreported(measures):
    return [measure for measure in measures if not is_reported(measure)]


def results_count(measures):
    counts = Counter(
        measure["result"]["result"] for measure in measures if is_reported(measure)
    )

    return {
        DONE: counts[DONE],
        PARTLY_DONE: counts[PARTLY_DONE],
        NOT_POSSIBLE: counts[NOT_POSSIBLE],
    }
