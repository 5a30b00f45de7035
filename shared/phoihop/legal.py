"""The legal-basis catalogue: the provisions a case, an appraisal or a decision
may cite (Art. 3 of 664/QĐ-UBND defines harmful information by them).

The catalogue is data that DIC maintains (``phoihop/data/legal_basis.yaml``),
not code: laws change, so each instrument carries its validity dates and a
successor is added as a new instrument, never by editing old rows.

API
---
``load_catalogue(path=None) -> Catalogue``
    Read and validate the catalogue. ``path`` is a YAML file or a directory
    of YAML files (merged, so a successor instrument can sit in its own
    file); without it, ``$PHOIHOP_LEGAL_BASIS`` or the packaged file.
    A bad row raises ``CatalogueError`` naming the file, the row (index and
    code) and the field. ``default_catalogue()`` loads once per process.

``catalogue.get(code) -> Provision | None``
    The row of one code (``PRESS2016-9.8``); ``None`` when unknown.
    ``catalogue.require(code)`` raises ``NotFound`` instead.

``catalogue.codes_for_categories(categories, on=None, kinds=("content",
"conduct")) -> list[str]``
    Codes whose categories meet ``categories``, in catalogue order; with
    ``on``, only those in force on that date. Pass ``kinds=("sanction",)``
    for the fine provisions that match.

``catalogue.is_in_force(code, on) -> bool``
    Whether the code's instrument (or the row's own dates) covers ``on``.
    Unknown codes are not in force.

``catalogue.check(codes, posted_on) -> list[Problem]``
    One ``Problem`` per code that cannot be cited for content posted on
    ``posted_on``: ``unknown``, ``not_yet_in_force`` or
    ``no_longer_in_force``, with the successor (or predecessor) codes from
    the instruments' code maps, or the successor instrument's name and date
    when its rows are not in the catalogue yet. An empty list means every
    code may be cited. The consultation service runs this on an appraisal
    (codes must be in force on the posting date); the press service on the
    codes it cites.

``catalogue.is_sanction(code) -> bool``
    Whether the code is a sanction row (Decree 15/2020 Art. 101), cited in a
    handling decision next to the violated provision.

Dates: ``on``/``posted_on`` take a ``date``, an ISO string, or a
``datetime``; an aware datetime is read as a calendar date in Vietnam
(Asia/Ho_Chi_Minh), where the instruments' dates apply; a naive one as UTC.
"""

import functools
import os
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import yaml
from marshmallow import Schema, fields, validate, validates_schema
from marshmallow import ValidationError as SchemaError

from phoihop.errors import ConfigError, NotFound, ValidationError
from phoihop.i18n import DISPLAY_TZ, t

DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "legal_basis.yaml"
PATH_ENV = "PHOIHOP_LEGAL_BASIS"

KINDS = ("content", "conduct", "sanction")
CONTENT = "content"
CONDUCT = "conduct"
SANCTION = "sanction"

UNKNOWN = "unknown"
NOT_YET_IN_FORCE = "not_yet_in_force"
NO_LONGER_IN_FORCE = "no_longer_in_force"

# INSTRUMENT-article[.clause[.point]]; points are one or two lowercase
# letters because "đ" is written "dd" to keep codes ASCII.
CODE_PATTERN = re.compile(
    r"^(?P<instrument>[A-Z][A-Z0-9]*)-\d+(\.\d+)?(\.[a-z]{1,2})?$"
)
INSTRUMENT_PATTERN = re.compile(r"^[A-Z][A-Z0-9]*$")
CATEGORY_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


class CatalogueError(ConfigError):
    """Raised when the catalogue file is missing, not YAML, or a row is invalid."""

    code = "catalogue_error"


@dataclass(frozen=True)
class Instrument:
    """One legal instrument (a law or decree article) and its validity."""

    code: str
    title: str
    title_vi: str
    valid_from: date
    valid_to: date | None
    note: str = ""
    replaces: tuple = ()
    code_map: dict = field(default_factory=dict)
    replaced_by: dict | None = None

    def covers(self, day):
        if day < self.valid_from:
            return False
        return self.valid_to is None or day <= self.valid_to


@dataclass(frozen=True)
class Provision:
    """One citable row: a clause or point of an instrument."""

    code: str
    instrument: str
    summary: str
    label_vi: str
    categories: tuple
    kind: str
    refers_to: tuple = ()
    valid_from: date | None = None
    valid_to: date | None = None
    fine_vnd: dict | None = None
    remedy: str = ""

    def to_dict(self):
        data = asdict(self)
        data["categories"] = list(self.categories)
        data["refers_to"] = list(self.refers_to)
        for key in ("valid_from", "valid_to"):
            if data[key] is not None:
                data[key] = data[key].isoformat()

        return data


@dataclass(frozen=True)
class Problem:
    """Why one code cannot be cited for content posted on a given date."""

    code: str
    reason: str
    message: str
    suggestions: tuple = ()

    def to_dict(self):
        return {
            "code": self.code,
            "reason": self.reason,
            "message": self.message,
            "suggestions": list(self.suggestions),
        }


class _FineSchema(Schema):
    organisation = fields.List(fields.Integer(strict=True), required=True)
    individual = fields.List(fields.Integer(strict=True), required=True)

    @validates_schema
    def _check_ranges(self, data, **kwargs):
        for key in ("organisation", "individual"):
            low_high = data.get(key)
            if len(low_high) != 2 or not 0 < low_high[0] <= low_high[1]:
                raise SchemaError(
                    "must be [minimum, maximum] in VND, 0 < minimum <= maximum",
                    key,
                )


class _ReplacedBySchema(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1))
    in_force_from = fields.Date(required=True)


class _ProvisionSchema(Schema):
    code = fields.String(
        required=True,
        validate=validate.Regexp(
            CODE_PATTERN, error="must look like PRESS2016-9.1.a (đ written dd)"
        ),
    )
    summary = fields.String(required=True, validate=validate.Length(min=1))
    label_vi = fields.String(required=True, validate=validate.Length(min=1))
    categories = fields.List(
        fields.String(validate=validate.Regexp(CATEGORY_PATTERN)), required=True
    )
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    refers_to = fields.List(fields.String(), load_default=list)
    valid_from = fields.Date(load_default=None)
    valid_to = fields.Date(load_default=None)
    fine_vnd = fields.Nested(_FineSchema, load_default=None)
    remedy = fields.String(load_default="")

    @validates_schema
    def _check_sanction(self, data, **kwargs):
        if data["kind"] == SANCTION and data.get("fine_vnd") is None:
            raise SchemaError("a sanction row needs its fine range", "fine_vnd")
        if data["kind"] != SANCTION and data.get("fine_vnd") is not None:
            raise SchemaError("only sanction rows carry a fine", "fine_vnd")


class _InstrumentSchema(Schema):
    code = fields.String(
        required=True,
        validate=validate.Regexp(INSTRUMENT_PATTERN, error="uppercase letters, digits"),
    )
    title = fields.String(required=True, validate=validate.Length(min=1))
    title_vi = fields.String(required=True, validate=validate.Length(min=1))
    valid_from = fields.Date(required=True)
    valid_to = fields.Date(load_default=None)
    note = fields.String(load_default="")
    replaces = fields.List(fields.String(), load_default=list)
    # old code -> new code, or list of new codes where one provision split.
    code_map = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(),
        load_default=dict,
    )
    replaced_by = fields.Nested(_ReplacedBySchema, load_default=None)
    # Provisions are validated row by row so an error names the row.
    provisions = fields.List(fields.Raw(), required=True)

    @validates_schema
    def _check_dates(self, data, **kwargs):
        if data.get("valid_to") and data["valid_to"] < data["valid_from"]:
            raise SchemaError("must not be before valid_from", "valid_to")


class _CategorySchema(Schema):
    label_vi = fields.String(required=True, validate=validate.Length(min=1))
    label_en = fields.String(load_default="")


class Catalogue:
    """The loaded, validated catalogue; read-only, safe to share."""

    def __init__(self, instruments, provisions, categories, version=1, sources=()):
        self.instruments = dict(instruments)
        self.provisions = dict(provisions)
        self.categories = dict(categories)
        self.version = version
        self.sources = tuple(sources)

    def __contains__(self, code):
        return code in self.provisions

    def __len__(self):
        return len(self.provisions)

    def get(self, code):
        return self.provisions.get(code)

    def require(self, code):
        provision = self.provisions.get(code)
        if provision is None:
            raise NotFound(
                t(
                    f"mã căn cứ pháp lý {code} không có trong danh mục",
                    f"legal-basis code {code} is not in the catalogue",
                ),
                {"code": "unknown code"},
            )

        return provision

    def instrument_of(self, code):
        provision = self.require(code)
        return self.instruments[provision.instrument]

    def category_label(self, category, language="vi"):
        labels = self.categories.get(category)
        if labels is None:
            return category
        if language == "en":
            return labels.get("label_en") or category
        return labels["label_vi"]

    def is_sanction(self, code):
        provision = self.provisions.get(code)
        return provision is not None and provision.kind == SANCTION

    def is_in_force(self, code, on):
        provision = self.provisions.get(code)
        if provision is None:
            return False

        return self._covers(provision, as_date(on))

    def codes_for_categories(self, categories, on=None, kinds=(CONTENT, CONDUCT)):
        wanted = set(categories)
        day = as_date(on) if on is not None else None
        codes = []
        for code, provision in self.provisions.items():
            if provision.kind not in kinds or not wanted & set(provision.categories):
                continue
            if day is not None and not self._covers(provision, day):
                continue
            codes.append(code)

        return codes

    def successors_of(self, code):
        """Codes that newer instruments map ``code`` to, oldest first."""
        found = []
        for instrument in self._by_start():
            mapped = instrument.code_map.get(code)
            if mapped:
                found.extend(mapped)

        return found

    def predecessors_of(self, code):
        """Codes of older instruments that map to ``code``."""
        found = []
        for instrument in self._by_start():
            for old, new_codes in instrument.code_map.items():
                if code in new_codes:
                    found.append(old)

        return found

    def check(self, codes, posted_on):
        """Problems that stop ``codes`` being cited for content of ``posted_on``."""
        if posted_on is None:
            raise ValidationError(
                "the posting date is needed to check legal-basis codes",
                {"posted_on": "required"},
            )
        day = as_date(posted_on)
        problems = []
        seen = set()
        for code in codes:
            if code in seen:
                continue
            seen.add(code)
            problem = self._problem(code, day)
            if problem is not None:
                problems.append(problem)

        return problems

    def _problem(self, code, day):
        provision = self.provisions.get(code) if isinstance(code, str) else None
        if provision is None:
            return Problem(
                code=str(code),
                reason=UNKNOWN,
                message=t(
                    f"mã {code} không có trong danh mục căn cứ pháp lý",
                    f"code {code} is not in the legal-basis catalogue",
                ),
            )
        if self._covers(provision, day):
            return None

        start, end = self._dates(provision)
        posted = day.isoformat()
        if day < start:
            options = self._in_force(self.predecessors_of(code), day)
            return Problem(
                code=code,
                reason=NOT_YET_IN_FORCE,
                message=t(
                    f"mã {code} chỉ có hiệu lực từ ngày {_vi(start)}, sau ngày"
                    f" đăng {_vi(day)}",
                    f"code {code} is in force from {start.isoformat()}, after the"
                    f" posting date {posted}",
                )
                + self._hint(options),
                suggestions=tuple(options),
            )

        options = self._in_force(self.successors_of(code), day)
        message = t(
            f"mã {code} hết hiệu lực sau ngày {_vi(end)}, trước ngày đăng {_vi(day)}",
            f"code {code} ceased to be in force after {end.isoformat()}, before the"
            f" posting date {posted}",
        )
        if options:
            message += self._hint(options)
        else:
            message += self._successor_note(self.instruments[provision.instrument])

        return Problem(
            code=code,
            reason=NO_LONGER_IN_FORCE,
            message=message,
            suggestions=tuple(options),
        )

    def _hint(self, options):
        if not options:
            return ""
        listed = ", ".join(options)
        return t(f"; dùng {listed}", f"; cite {listed} instead")

    def _successor_note(self, instrument):
        successors = [
            other for other in self._by_start() if instrument.code in other.replaces
        ]
        if successors:
            names = ", ".join(
                f"{s.code} ({s.title_vi}, từ {_vi(s.valid_from)})" for s in successors
            )
            return t(f"; văn bản thay thế: {names}", f"; replaced by: {names}")
        if instrument.replaced_by:
            title = instrument.replaced_by["title"]
            since_day = instrument.replaced_by["in_force_from"]
            since = since_day.isoformat()
            return t(
                f"; văn bản thay thế: {title} (từ {_vi(since_day)}), chưa có trong"
                " danh mục",
                f"; replaced by {title} (from {since}), not yet in the catalogue",
            )

        return ""

    def _in_force(self, codes, day):
        return [code for code in codes if self.is_in_force(code, day)]

    def _dates(self, provision):
        instrument = self.instruments[provision.instrument]
        start = provision.valid_from or instrument.valid_from
        end = provision.valid_to or instrument.valid_to
        return start, end

    def _covers(self, provision, day):
        start, end = self._dates(provision)
        if day < start:
            return False
        return end is None or day <= end

    def _by_start(self):
        return sorted(self.instruments.values(), key=lambda i: i.valid_from)


def _vi(day):
    return day.strftime("%d/%m/%Y")


def as_date(value):
    """A calendar date in Vietnam from a date, datetime or ISO string."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(DISPLAY_TZ).date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            if len(value) == 10:
                return date.fromisoformat(value)
            return as_date(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError as exc:
            raise ValidationError(
                f"{value!r} is not a date",
                {"date": "ISO date (YYYY-MM-DD) or date-time"},
            ) from exc

    raise ValidationError(
        f"{value!r} is not a date", {"date": "ISO date (YYYY-MM-DD) or date-time"}
    )


@functools.cache
def default_catalogue():
    """The catalogue of this deployment, loaded once per process."""
    return load_catalogue()


def load_catalogue(path=None):
    """Read and validate the catalogue from ``path`` (a file or directory)."""
    if path is None:
        path = os.environ.get(PATH_ENV) or DEFAULT_PATH
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml"))
        if not files:
            raise CatalogueError(f"legal-basis directory {path} holds no YAML file")
    else:
        files = [path]

    builder = _Builder()
    for file in files:
        builder.add_file(file)

    return builder.build()


class _Builder:
    """Collects instruments from one or more files, then checks across rows."""

    def __init__(self):
        self.instruments = {}
        self.provisions = {}
        self.categories = {}
        self.version = 1
        self.sources = []
        self.places = {}

    def add_file(self, path):
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise CatalogueError(f"legal-basis file {path} does not exist") from exc
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise CatalogueError(
                f"legal-basis file {path} is not valid YAML: {exc}"
            ) from exc
        if not isinstance(raw, dict):
            raise CatalogueError(
                f"{path.name}: the top level must be a mapping",
                {"top": "mapping with categories and instruments"},
            )

        self.sources.append(str(path))
        self.version = raw.get("version", self.version)
        self._add_categories(path, raw.get("categories") or {})
        instruments = raw.get("instruments") or []
        if not isinstance(instruments, list):
            _fail(path, "instruments", None, "instruments", "must be a list")
        for index, item in enumerate(instruments):
            self._add_instrument(path, index, item)

    def _add_categories(self, path, categories):
        if not isinstance(categories, dict):
            _fail(path, "categories", None, "categories", "must be a mapping")
        for name, labels in categories.items():
            if not isinstance(name, str) or not CATEGORY_PATTERN.match(name):
                _fail(
                    path,
                    f"categories.{name}",
                    None,
                    "name",
                    "lowercase_with_underscores",
                )
            try:
                self.categories[name] = _CategorySchema().load(labels or {})
            except SchemaError as exc:
                _fail_schema(path, f"categories.{name}", None, exc)

    def _add_instrument(self, path, index, item):
        where = f"instruments[{index}]"
        code = item.get("code") if isinstance(item, dict) else None
        try:
            data = _InstrumentSchema().load(item if isinstance(item, dict) else {})
        except SchemaError as exc:
            _fail_schema(path, where, code, exc)
        if data["code"] in self.instruments:
            _fail(path, where, code, "code", "instrument code is defined twice")

        code_map = {}
        for old, new in data["code_map"].items():
            new_codes = [new] if isinstance(new, str) else new
            if not isinstance(new_codes, list) or not all(
                isinstance(c, str) for c in new_codes
            ):
                _fail(path, where, code, f"code_map.{old}", "a code or a list of codes")
            code_map[old] = tuple(new_codes)

        self.instruments[data["code"]] = Instrument(
            code=data["code"],
            title=data["title"],
            title_vi=data["title_vi"],
            valid_from=data["valid_from"],
            valid_to=data["valid_to"],
            note=data["note"],
            replaces=tuple(data["replaces"]),
            code_map=code_map,
            replaced_by=data["replaced_by"],
        )
        self.places[data["code"]] = (path, where)
        for row_index, row in enumerate(data["provisions"]):
            self._add_provision(path, f"{where}.provisions[{row_index}]", data, row)

    def _add_provision(self, path, where, instrument, row):
        code = row.get("code") if isinstance(row, dict) else None
        try:
            data = _ProvisionSchema().load(row if isinstance(row, dict) else {})
        except SchemaError as exc:
            _fail_schema(path, where, code, exc)

        prefix = CODE_PATTERN.match(data["code"]).group("instrument")
        if prefix != instrument["code"]:
            _fail(
                path,
                where,
                code,
                "code",
                f"prefix {prefix} does not match instrument {instrument['code']}",
            )
        if data["code"] in self.provisions:
            _fail(path, where, code, "code", "code is defined twice")
        for key in ("valid_from", "valid_to"):
            own = data[key]
            if own and not (
                instrument["valid_from"] <= own
                and (instrument["valid_to"] is None or own <= instrument["valid_to"])
            ):
                _fail(path, where, code, key, "outside the instrument's validity")

        self.provisions[data["code"]] = Provision(
            code=data["code"],
            instrument=instrument["code"],
            summary=data["summary"],
            label_vi=data["label_vi"],
            categories=tuple(data["categories"]),
            kind=data["kind"],
            refers_to=tuple(data["refers_to"]),
            valid_from=data["valid_from"],
            valid_to=data["valid_to"],
            fine_vnd=data["fine_vnd"],
            remedy=data["remedy"],
        )
        self.places[data["code"]] = (path, where)

    def build(self):
        for code, provision in self.provisions.items():
            path, where = self.places[code]
            for category in provision.categories:
                if self.categories and category not in self.categories:
                    _fail(
                        path,
                        where,
                        code,
                        "categories",
                        f"unknown category {category!r}",
                    )
            for target in provision.refers_to:
                if target not in self.provisions:
                    _fail(path, where, code, "refers_to", f"unknown code {target!r}")

        for code, instrument in self.instruments.items():
            path, where = self.places[code]
            for old in instrument.replaces:
                if old not in self.instruments:
                    _fail(path, where, code, "replaces", f"unknown instrument {old!r}")
            for old, new_codes in instrument.code_map.items():
                old_row = self.provisions.get(old)
                if old_row is None or old_row.instrument not in instrument.replaces:
                    _fail(
                        path,
                        where,
                        code,
                        f"code_map.{old}",
                        "must be a code of an instrument listed in replaces",
                    )
                for new in new_codes:
                    row = self.provisions.get(new)
                    if row is None or row.instrument != code:
                        _fail(
                            path,
                            where,
                            code,
                            f"code_map.{old}",
                            f"{new!r} is not a code of this instrument",
                        )

        return Catalogue(
            self.instruments,
            self.provisions,
            self.categories,
            version=self.version,
            sources=self.sources,
        )


def _fail(path, where, code, field_name, reason):
    label = f"{where} ({code})" if code else where
    raise CatalogueError(
        f"{Path(path).name}: {label}: {field_name}: {reason}",
        {f"{where}.{field_name}": reason},
    )


def _fail_schema(path, where, code, exc):
    messages = _flatten(exc.messages)
    field_name, reason = next(iter(messages.items()))
    label = f"{where} ({code})" if code else where
    raise CatalogueError(
        f"{Path(path).name}: {label}: {field_name}: {reason}",
        {f"{where}.{name}": text for name, text in messages.items()},
    ) from exc


def _flatten(messages, prefix=""):
    flat = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            flat.update(_flatten(value, name))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        flat[prefix or "_schema"] = "; ".join(messages)
    else:
        flat[prefix or "_schema"] = str(messages)

    return flat
