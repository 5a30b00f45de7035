"""The review a statement passes before it may leave for the press.

Art. 4 requires that coordination protect state secrets: a case classified
at one of the refused levels gives no statement at all, and a statement may
not repeat the captured text of content items at a protected level (see
``disclosure``). A statement whose template blanks still hold their default
sentences is not finished. The review runs when a draft is made or changed
(as a warning the drafter sees), and again, as a refusal, at approval and at
distribution.
"""

from phoihop.i18n import t
from services.press.disclosure import find_disclosures, stricter
from services.press.statements import unfilled_blanks


def review(reference, doc, view):
    """What stands between this statement and the press."""
    settings = reference.settings["disclosure"]
    level = view.get("classification") or "internal"
    item_level = stricter(view.get("max_classification"), level)
    texts = {"title": doc["title"], "body": doc["body"]}
    disclosures = []
    if view.get("key") and item_level in settings["protected_item_levels"]:
        items = [
            (item["index"], item["fingerprint"]) for item in view.get("items") or []
        ]
        disclosures = find_disclosures(
            texts,
            items,
            view["key"],
            boilerplate=reference.templates.boilerplate(doc["kind"]),
        )

    return {
        "classification": level,
        "item_classification": item_level,
        "classified": level in settings["refused_case_levels"],
        "case_known": bool(view.get("opened_at")),
        "disclosures": [item.to_dict() for item in disclosures],
        "unfilled": unfilled_blanks(reference.templates, texts.values()),
    }


def disclosure_reasons(result):
    """Why the statement could disclose what must not leave, by field."""
    reasons = {}
    if not result["case_known"]:
        reasons["case_id"] = t(
            "chưa nhận được thông tin vụ việc để kiểm tra độ mật; hãy thử lại sau",
            "the case facts have not arrived, so secrecy cannot be checked; "
            "try again shortly",
        )
    if result["classified"]:
        level = result["classification"]
        reasons["classification"] = t(
            f"vụ việc có độ mật '{level}': không được cung cấp thông tin cho báo "
            "chí (Điều 4)",
            f"the case is classified {level!r}: nothing about it may go to the "
            "press (Art. 4)",
        )
    level = result["item_classification"]
    for item in result["disclosures"]:
        number = item["item"] + 1
        reasons[f"{item['field']}[{item['start']}:{item['end']}]"] = t(
            f"đoạn này trích nguyên văn mục nội dung số {number} của vụ việc "
            f"(mức '{level}'), không được đưa ra báo chí; hãy diễn đạt lại",
            f"this passage quotes content item {number} of the case (level "
            f"{level!r}), which may not go to the press; rephrase it",
        )

    return reasons


def blank_reasons(result):
    """The template blanks still to fill, by field."""
    return {
        f"body.{name}": t("chưa điền nội dung", "still the template's blank")
        for name in result["unfilled"]
    }
