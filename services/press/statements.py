"""Statements (thông cáo báo chí) from Vietnamese templates kept as data.

Each kind of statement has a YAML template under ``templates/``: the initial
information of an incident (Art. 7.6.d), official information for the press
(Art. 7.1.i, 7.7.c) and the results notice with legal education (Art. 6.6).
Agencies edit the wording there, not in code. A template names its blanks
``${name}`` from ``PLACEHOLDERS``; a blank the drafter has not filled yet
keeps a marked default sentence, and a statement still holding one cannot be
approved.
"""

import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

import yaml

from phoihop.errors import ConfigError
from phoihop.i18n import DISPLAY_TZ

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

INITIAL_INFO = "initial_info"
OFFICIAL = "official"
RESULTS = "results"
KINDS = (INITIAL_INFO, OFFICIAL, RESULTS)

DRAFT = "draft"
APPROVED = "approved"
DISTRIBUTED = "distributed"

# The blanks a template may use, and what fills them.
PLACEHOLDERS = {
    "agency_name": "the issuing agency's Vietnamese name",
    "case_title": "the case title given at intake",
    "scope": "the sector and locality concerned, or the city",
    "noted_at": "when the clock started (the case was assigned), local time",
    "facts": "what happened, from the case summary or the drafter",
    "leadership_position": "the leadership's position (Art. 7.6.d)",
    "first_measures": "the first measures taken (Art. 7.6.d), one per line",
    "recipients_names": "the press agencies it goes to",
    "legal_basis": "the provisions the handling decision cites (Art. 6.6)",
    "handling_results": "the measures decided and how they were carried out",
    "legal_education": "the legal-education paragraph (Art. 6.6)",
    "place_date": "Hải Phòng, ngày ... tháng ... năm ...",
    "spokesperson_name": "the approving spokesperson (Art. 7.6.d)",
    "spokesperson_role": "the spokesperson's role",
}
PARTS = ("title", "body", "footer")
RESULTS_PARTS = ("legal_education", "sanctions")

# Default sentences stand in parentheses so that they read as blanks in a
# draft; ``unfilled_blanks`` finds them before approval.
DEFAULT_KEYS = (
    "facts",
    "leadership_position",
    "first_measures",
    "handling_results",
    "legal_basis",
)

FACTS_MAX_CHARS = 1500


@dataclass(frozen=True)
class StatementTemplate:
    kind: str
    title: str
    body: str
    footer: str
    extras: dict


@dataclass(frozen=True)
class Templates:
    """The templates of every kind and the labels used to fill them."""

    by_kind: dict
    labels: dict

    def get(self, kind):
        return self.by_kind[kind]

    def default(self, key):
        return self.labels["defaults"][key]

    def measure_label(self, kind, target=None):
        labels = self.labels["measures"]
        if target and f"{kind}.{target}" in labels:
            return labels[f"{kind}.{target}"]

        return labels.get(kind) or kind.replace("_", " ")

    def result_label(self, result):
        return self.labels["results"].get(result) or result

    def boilerplate(self, kind):
        """The fixed wording of a template, without its blanks."""
        template = self.by_kind[kind]
        text = "\n".join(getattr(template, part) for part in PARTS)
        text += "\n" + "\n".join(str(value) for value in template.extras.values())
        text += "\n" + "\n".join(self.labels["defaults"].values())

        return re.sub(r"\$\{[a-z_]+\}", "\n", text)


def _read_yaml(path):
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"statement template {path} does not exist") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"statement template {path} is not valid YAML: {exc}"
        ) from exc
    if not isinstance(data, dict):
        raise ConfigError(f"statement template {path} must hold a mapping")

    return data


def _check_blanks(path, part, text, allowed):
    template = Template(text)
    if not template.is_valid():
        raise ConfigError(
            f"statement template {path} has a malformed blank",
            {part: "write blanks as ${name}; a literal dollar sign as $$"},
        )
    unknown = sorted(set(template.get_identifiers()) - set(allowed))
    if unknown:
        raise ConfigError(
            f"statement template {path} uses unknown blanks",
            {part: f"unknown: {', '.join(unknown)}; known: {', '.join(allowed)}"},
        )


def load_templates(directory=None):
    """Read and check every template; a bad one stops the service at start."""
    directory = Path(directory or TEMPLATES_DIR)
    by_kind = {}
    for kind in KINDS:
        path = directory / f"{kind}.yaml"
        data = _read_yaml(path)
        for part in PARTS:
            if not isinstance(data.get(part), str) or not data[part].strip():
                raise ConfigError(
                    f"statement template {path} lacks a part",
                    {part: "required text"},
                )
            _check_blanks(path, part, data[part], PLACEHOLDERS)
        extras = {}
        if kind == RESULTS:
            for part in RESULTS_PARTS:
                if not isinstance(data.get(part), str):
                    raise ConfigError(
                        f"statement template {path} lacks a part",
                        {part: "required text"},
                    )
                allowed = (
                    ("provisions", "sanctions")
                    if part == RESULTS_PARTS[0]
                    else ("fines",)
                )
                _check_blanks(path, part, data[part], allowed)
                extras[part] = data[part]
        by_kind[kind] = StatementTemplate(
            kind,
            data["title"].strip(),
            data["body"].rstrip(),
            data["footer"].rstrip(),
            extras,
        )

    labels = _read_yaml(directory / "labels.yaml")
    for section in ("measures", "results", "defaults"):
        if not isinstance(labels.get(section), dict):
            raise ConfigError(
                f"statement labels {directory / 'labels.yaml'} lack a section",
                {section: "required mapping"},
            )
    missing = [key for key in (*DEFAULT_KEYS, "scope") if key not in labels["defaults"]]
    if missing:
        raise ConfigError(
            f"statement labels {directory / 'labels.yaml'} lack defaults",
            {f"defaults.{key}": "required text" for key in missing},
        )

    return Templates(by_kind, labels)


def bullet_list(items):
    """One line per item, each starting with a dash, as officials write."""
    lines = [str(item).strip() for item in items if str(item).strip()]
    return "\n".join(f"- {line}" for line in lines)


def place_date(moment):
    """``Hải Phòng, ngày 05 tháng 03 năm 2025`` in Hai Phong's calendar."""
    local = moment.astimezone(DISPLAY_TZ)
    return f"Hải Phòng, ngày {local:%d} tháng {local:%m} năm {local:%Y}"


def shorten(text, limit=FACTS_MAX_CHARS):
    """Cut a long summary at a word boundary, marking the cut."""
    text = " ".join((text or "").split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]

    return cut + " …"


def render(template_text, values):
    """Fill a template; unknown blanks were refused when it was loaded."""
    return Template(template_text).substitute(values)


def render_draft(templates, kind, values):
    """Title and body of a new draft from ``values`` (see PLACEHOLDERS).

    Blanks missing from ``values`` get their marked default sentence.
    """
    filled = {key: "" for key in PLACEHOLDERS}
    for key in DEFAULT_KEYS:
        filled[key] = templates.default(key)
    filled["scope"] = templates.default("scope")
    filled.update({key: value for key, value in values.items() if value})
    template = templates.get(kind)

    return render(template.title, filled), render(template.body, filled)


def render_footer(templates, kind, values):
    return render(
        templates.get(kind).footer, {key: "" for key in PLACEHOLDERS} | values
    )


def unfilled_blanks(templates, texts):
    """The default sentences still present in ``texts``, by blank name."""
    found = []
    for key in DEFAULT_KEYS:
        default = templates.default(key)
        if any(default in (text or "") for text in texts):
            found.append(key)

    return found
