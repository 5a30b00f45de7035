"""Triage suggestions from keyword and pattern rules (data, not code).

The rules in ``phoihop/data/triage_rules.yaml`` map Vietnamese words and
patterns to categories of the legal-basis catalogue, and to sectors and
localities. ``TriageRules.suggest(text)`` returns what fired, with the rule
id and the words that matched, and the legal-basis codes in force for each
suggested category. Suggestions only: an officer confirms the triage.
"""

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml

from phoihop.errors import ConfigError
from phoihop.normalise import comparable_text, strip_diacritics

DEFAULT_PATH = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "phoihop"
    / "data"
    / "triage_rules.yaml"
)
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True)
class Rule:
    id: str
    label_vi: str
    categories: tuple = ()
    sector: str | None = None
    locality: str | None = None
    keywords: tuple = ()
    patterns: tuple = ()
    compiled: tuple = field(default=(), compare=False, repr=False)


class TriageRules:
    """The loaded rules; ``suggest`` is pure and thread-safe."""

    def __init__(self, rules, catalogue):
        self.rules = rules
        self.catalogue = catalogue
        # One pass over the text finds every keyword: an alternation of all
        # keywords (longest first), and one of the multi-word keywords
        # without diacritics, mapped back to the keyword as written.
        keywords = sorted({k for r in rules for k in r.keywords}, key=len, reverse=True)
        self._plain = _alternation(keywords)
        self._bare_of = {strip_diacritics(k): k for k in keywords if " " in k}
        self._bare = _alternation(sorted(self._bare_of, key=len, reverse=True))

    def _keywords_in(self, folded):
        hits = set()
        if self._plain is not None:
            hits.update(m.group(0) for m in self._plain.finditer(folded))
        if self._bare is not None:
            bare = strip_diacritics(folded)
            hits.update(
                self._bare_of[m.group(0)]
                for m in self._bare.finditer(bare)
                if m.group(0) in self._bare_of
            )
        return hits

    def suggest(self, text, on=None):
        """What the rules suggest for ``text``.

        Returns ``{"suggestions": [{category, rule, matched, legal_basis}],
        "categories": [...], "sector": ..., "locality": ..., "fired": [...]}``.
        """
        on = on or date.today()
        folded = comparable_text(text or "")
        hits = self._keywords_in(folded)
        suggestions, categories, fired = [], [], []
        sector = locality = None
        for rule in self.rules:
            matched = _match(rule, hits, folded)
            if matched is None:
                continue
            fired.append(
                {"rule": rule.id, "label_vi": rule.label_vi, "matched": matched}
            )
            for category in rule.categories:
                codes = self.catalogue.codes_for_categories([category], on=on)
                suggestions.append(
                    {
                        "category": category,
                        "rule": rule.id,
                        "matched": matched,
                        "legal_basis": codes,
                    }
                )
                if category not in categories:
                    categories.append(category)
            sector = sector or rule.sector
            locality = locality or rule.locality

        return {
            "suggestions": suggestions,
            "categories": categories,
            "sector": sector,
            "locality": locality,
            "fired": fired,
        }


def _match(rule, hits, folded):
    for keyword in rule.keywords:
        if keyword in hits:
            return keyword
    for compiled in rule.compiled:
        found = compiled.search(folded)
        if found:
            return found.group(0)[:200]
    return None


def _alternation(words):
    # Whole words: no letter or digit right before or after the keyword.
    if not words:
        return None
    return re.compile(
        r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")(?!\w)"
    )


def load_rules(catalogue, path=None):
    """Read and check the rules; an error names the rule and the field."""
    path = Path(path or DEFAULT_PATH)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"triage rules {path} cannot be read: {exc}") from exc
    items = raw.get("rules")
    if not isinstance(items, list):
        raise ConfigError(
            f"{path.name}: rules must be a list", {"rules": "must be a list"}
        )

    rules, seen = [], set()
    for index, item in enumerate(items):
        where = f"rules[{index}]"
        if not isinstance(item, dict):
            raise ConfigError(
                f"{path.name}: {where} must be a mapping", {where: "mapping"}
            )
        rule_id = item.get("id")
        label = f"{where} ({rule_id})"
        if not isinstance(rule_id, str) or not _ID.match(rule_id) or rule_id in seen:
            raise ConfigError(
                f"{path.name}: {label}: id must be unique, lowercase-with-dashes",
                {f"{where}.id": "unique, lowercase-with-dashes"},
            )
        seen.add(rule_id)
        categories = tuple(item.get("categories") or ())
        for category in categories:
            if category not in catalogue.categories:
                raise ConfigError(
                    f"{path.name}: {label}: categories: {category!r} "
                    "is not a category of "
                    "the legal-basis catalogue",
                    {f"{where}.categories": f"unknown category {category!r}"},
                )
        keywords = tuple(comparable_text(k) for k in item.get("keywords") or ())
        patterns = tuple(item.get("patterns") or ())
        if not (keywords or patterns):
            raise ConfigError(
                f"{path.name}: {label}: needs keywords or patterns",
                {f"{where}.keywords": "required without patterns"},
            )
        if not (categories or item.get("sector") or item.get("locality")):
            raise ConfigError(
                f"{path.name}: {label}: suggests nothing",
                {f"{where}.categories": "categories, sector or locality"},
            )
        try:
            compiled_patterns = tuple(re.compile(p) for p in patterns)
        except re.error as exc:
            raise ConfigError(
                f"{path.name}: {label}: patterns: {exc}",
                {f"{where}.patterns": str(exc)},
            ) from exc
        rules.append(
            Rule(
                id=rule_id,
                label_vi=str(item.get("label_vi") or rule_id),
                categories=categories,
                sector=item.get("sector"),
                locality=item.get("locality"),
                keywords=keywords,
                patterns=patterns,
                compiled=compiled_patterns,
            )
        )

    return TriageRules(rules, catalogue)
