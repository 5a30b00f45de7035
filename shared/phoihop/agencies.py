"""The agency registry of Art. 7: who the agencies are and what each must see.

The registry is data (``phoihop/data/agencies.yaml`` and
``phoihop/data/localities.yaml``, plus any file DIC adds, such as the wards
and communes of the two-tier local government from 2025-07-01), not code.
It is loaded and validated once at start; a bad row stops the caller with a
``RegistryError`` naming the file, the agency and the field.

API (used by routing, the press service, the adapter host and the gateway)::

    from phoihop.agencies import load_registry

    registry = load_registry()                  # shipped files
    registry = load_registry(path, extra_paths=[wards_file], on=date(2026, 1, 5))

    registry.get("police")                      # Agency; NotFound if unknown
    "police" in registry                        # bool
    registry.agencies(on=None, kind=None)       # agencies valid on a day
    registry.agencies_for(categories, sector, locality, on=None,
                          journalists_involved=False)
        # [Responsibility(agency, rule, article)]: who a triaged case reaches
        # by Art. 7 (the lead first, then each matching agency once, with the
        # first rule and article that matched)
    registry.responsible_for(sector, locality, on=None)
        # codes of the departments and local committees answerable for a
        # sector or locality (Art. 7.6): the 2-hour initial information of
        # Art. 7.6.d falls on them
    registry.has_sector_agency(sector, on=None)     # a department covers it
    registry.has_locality_agency(locality, on=None)
    registry.press_agencies(on=None)            # Art. 7.7 media, as Agency
    registry.focal_points(code)                 # Art. 5.3, tuple of Person
    registry.spokespersons(code)                # Art. 7.6.d, tuple of Person
    registry.has_clearance(code, classification)    # may it see this level?
    registry.lead                               # the lead agency (DIC)
    registry.sectors(on=None), registry.localities(on=None)

Dates are calendar days in Hai Phong (``on=None`` means today there, or the
``on`` given to ``load_registry``). Validity bounds are inclusive. An agency,
or a single category, sector or locality it answers for, may carry
``valid_from`` and ``valid_to``: localities changed in 2025.
"""

import os
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import yaml
from marshmallow import (
    RAISE,
    Schema,
    fields,
    post_load,
    pre_load,
    validate,
    validates_schema,
)
from marshmallow import ValidationError as SchemaError

from phoihop.constants import CLASSIFICATIONS
from phoihop.errors import ConfigError, NotFound
from phoihop.i18n import DISPLAY_TZ, language

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_PATH = DATA_DIR / "agencies.yaml"
DEFAULT_LOCALITIES_PATH = DATA_DIR / "localities.yaml"

# Environment override for deployments that keep the registry outside the
# package (DIC edits it without a new release).
REGISTRY_PATH_ENV = "PHOIHOP_AGENCY_REGISTRY"

LEAD = "lead"
POLICE = "police"
ASSOCIATION = "association"
PARTY_COMMISSION = "party_commission"
DEPARTMENT = "department"
LOCALITY = "locality"
PRESS = "press"
EXECUTIVE = "executive"
MINISTRY = "ministry"
KINDS = (
    LEAD,
    POLICE,
    ASSOCIATION,
    PARTY_COMMISSION,
    DEPARTMENT,
    LOCALITY,
    PRESS,
    EXECUTIVE,
    MINISTRY,
)

# Kinds that answer for a sector or a locality under Art. 7.6 and so must
# name a spokesperson (Art. 7.6.d).
ANSWERABLE_KINDS = (DEPARTMENT, LOCALITY)

# Rules the registry applies; routing records them with each assignment.
RULE_LEAD = "lead"
RULE_CATEGORY = "category"
RULE_SECTOR = "sector"
RULE_LOCALITY = "locality"
RULE_JOURNALISTS = "journalists_involved"

_CODE = r"^[a-z][a-z0-9_-]{1,63}$"
_TERM = r"^[a-z][a-z0-9_-]{0,63}$"
_ARTICLE = r"^\d+(\.\d+)?(\.(a|b|c|d|dd|e|g|h|i))?$"
# 000.00.00.H31: levels 4 to 2 in digits, level 1 a letter and two digits
# (Decision 20/2020/QĐ-TTg, see the document-exchange notes).
_ORG_ID = r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$"
_PHONE = r"^\+?[0-9][0-9 ().-]{5,24}$"


class RegistryError(ConfigError):
    """Raised when a registry file is missing, unreadable or invalid."""

    code = "registry_error"


class _Day(fields.Date):
    """A calendar day written as ``2025-06-30`` (quoted or not in YAML)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        return super()._deserialize(value, attr, data, **kwargs)


class ScopedSchema(Schema):
    """One category, sector or locality, optionally for a period only."""

    class Meta:
        unknown = RAISE

    code = fields.String(required=True, validate=validate.Regexp(_TERM))
    valid_from = _Day(load_default=None, allow_none=True)
    valid_to = _Day(load_default=None, allow_none=True)

    @pre_load
    def _from_text(self, data, **kwargs):
        return {"code": data} if isinstance(data, str) else data

    @post_load
    def _make(self, data, **kwargs):
        return Scoped(**data)


class ResponsibleSchema(Schema):
    class Meta:
        unknown = RAISE

    categories = fields.List(fields.Nested(ScopedSchema), load_default=list)
    sectors = fields.List(fields.Nested(ScopedSchema), load_default=list)
    localities = fields.List(fields.Nested(ScopedSchema), load_default=list)
    journalists_involved = fields.Boolean(load_default=False)


class PersonSchema(Schema):
    """A focal-point officer (Art. 5.3) or a spokesperson (Art. 7.6.d)."""

    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    role = fields.String(required=True, validate=validate.Length(min=1, max=200))
    phone = fields.String(
        required=True,
        validate=validate.Regexp(_PHONE, error="not a phone number"),
    )
    email = fields.Email(required=True)
    placeholder = fields.Boolean(load_default=False)

    @post_load
    def _make(self, data, **kwargs):
        return Person(**data)


class NameSchema(Schema):
    class Meta:
        unknown = RAISE

    vi = fields.String(required=True, validate=validate.Length(min=1, max=300))
    en = fields.String(required=True, validate=validate.Length(min=1, max=300))


class EdxmlSchema(Schema):
    class Meta:
        unknown = RAISE

    org_id = fields.String(
        required=True,
        validate=validate.Regexp(_ORG_ID, error="must look like 000.00.00.H31"),
    )
    confirmed = fields.Boolean(load_default=False)


class AgencySchema(Schema):
    """One agency row of the registry."""

    class Meta:
        unknown = RAISE

    code = fields.String(
        required=True,
        validate=validate.Regexp(_CODE, error="lower-case ASCII, digits, - and _"),
    )
    name = fields.Nested(NameSchema, required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    article = fields.String(
        required=True,
        validate=validate.Regexp(_ARTICLE, error="an article like 7.2 or 7.6.d"),
    )
    clearance = fields.String(
        load_default="confidential", validate=validate.OneOf(CLASSIFICATIONS)
    )
    valid_from = _Day(load_default=None, allow_none=True)
    valid_to = _Day(load_default=None, allow_none=True)
    edxml = fields.Nested(EdxmlSchema, required=True)
    responsible = fields.Nested(ResponsibleSchema, load_default=dict)
    focal_points = fields.List(
        fields.Nested(PersonSchema),
        required=True,
        validate=validate.Length(min=1, error="Art. 5.3: name at least one"),
    )
    spokespersons = fields.List(fields.Nested(PersonSchema), load_default=list)
    note = fields.String(load_default="")

    @validates_schema
    def _check(self, data, **kwargs):
        start, end = data.get("valid_from"), data.get("valid_to")
        if start and end and end < start:
            raise SchemaError("ends before it starts", "valid_to")
        if data.get("kind") in ANSWERABLE_KINDS and not data.get("spokespersons"):
            raise SchemaError(
                "Art. 7.6.d: a department or local committee names a spokesperson",
                "spokespersons",
            )
        responsible = data.get("responsible") or {}
        if data.get("kind") == LOCALITY and not responsible.get("localities"):
            raise SchemaError("a local committee answers for a locality", "responsible")


class RegistryFileSchema(Schema):
    class Meta:
        unknown = RAISE

    version = fields.Integer(required=True, validate=validate.Equal(1))
    agencies = fields.List(fields.Dict(), required=True)


@dataclass(frozen=True)
class Scoped:
    code: str
    valid_from: date | None = None
    valid_to: date | None = None

    def is_valid_on(self, day):
        return _within(day, self.valid_from, self.valid_to)


@dataclass(frozen=True)
class Person:
    name: str
    role: str
    phone: str
    email: str
    placeholder: bool = False

    def to_dict(self):
        return {
            "name": self.name,
            "role": self.role,
            "phone": self.phone,
            "email": self.email,
            "placeholder": self.placeholder,
        }


@dataclass(frozen=True)
class Agency:
    """One agency of Art. 7 as the registry describes it."""

    code: str
    name_vi: str
    name_en: str
    kind: str
    article: str
    clearance: str
    edxml_org_id: str
    edxml_confirmed: bool
    valid_from: date | None
    valid_to: date | None
    categories: tuple = ()
    sectors: tuple = ()
    localities: tuple = ()
    journalists_involved: bool = False
    focal_points: tuple = ()
    spokespersons: tuple = ()
    note: str = ""
    source: str = ""

    @property
    def name(self):
        return self.name_en if language() == "en" else self.name_vi

    def is_valid_on(self, day):
        return _within(day, self.valid_from, self.valid_to)

    def answers_for(self, scoped, code, day):
        return any(item.code == code and item.is_valid_on(day) for item in scoped)

    def to_dict(self):
        """A JSON-safe summary, for RPC answers and the adapter host."""
        return {
            "code": self.code,
            "name": {"vi": self.name_vi, "en": self.name_en},
            "kind": self.kind,
            "article": self.article,
            "clearance": self.clearance,
            "edxml_org_id": self.edxml_org_id,
            "edxml_confirmed": self.edxml_confirmed,
            "valid_from": _iso(self.valid_from),
            "valid_to": _iso(self.valid_to),
            "categories": [item.code for item in self.categories],
            "sectors": [item.code for item in self.sectors],
            "localities": [item.code for item in self.localities],
            "journalists_involved": self.journalists_involved,
            "focal_points": [person.to_dict() for person in self.focal_points],
            "spokespersons": [person.to_dict() for person in self.spokespersons],
            "note": self.note,
        }


@dataclass(frozen=True)
class Responsibility:
    """Why an agency takes part in a case: the rule and the article."""

    agency: str
    rule: str
    article: str
    matched: str = ""

    def to_dict(self):
        return {
            "agency": self.agency,
            "rule": self.rule,
            "article": self.article,
            "matched": self.matched,
        }


def _within(day, start, end):
    if day is None:
        return True
    if start is not None and day < start:
        return False
    if end is not None and day > end:
        return False
    return True


def _iso(day):
    return day.isoformat() if day else None


def today():
    """Today's date in Hai Phong, where validity dates are counted."""
    return datetime.now(DISPLAY_TZ).date()


def as_day(value):
    """A date from a date, an aware datetime (in Hai Phong time) or ISO text."""
    if value is None:
        return None
    if isinstance(value, str):
        value = (
            date.fromisoformat(value)
            if len(value) == 10
            else datetime.fromisoformat(value)
        )
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.date()
        return value.astimezone(DISPLAY_TZ).date()
    return value


def _field_path(messages, prefix):
    flat = {}
    for key, value in messages.items():
        name = f"{prefix}.{key}"
        if isinstance(value, dict):
            flat.update(_field_path(value, name))
        else:
            flat[name] = "; ".join(str(item) for item in value)
    return flat


def _read(path):
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise RegistryError(f"agency registry {path} does not exist") from exc
    except yaml.YAMLError as exc:
        raise RegistryError(f"agency registry {path} is not valid YAML: {exc}") from exc
    try:
        return RegistryFileSchema().load(raw if isinstance(raw, dict) else {})
    except SchemaError as exc:
        raise RegistryError(
            f"agency registry {path} is invalid", _field_path(exc.messages, "file")
        ) from exc


def _agency_from(data, source):
    responsible = data["responsible"] or {}

    return Agency(
        code=data["code"],
        name_vi=data["name"]["vi"],
        name_en=data["name"]["en"],
        kind=data["kind"],
        article=data["article"],
        clearance=data["clearance"],
        edxml_org_id=data["edxml"]["org_id"],
        edxml_confirmed=data["edxml"]["confirmed"],
        valid_from=data["valid_from"],
        valid_to=data["valid_to"],
        categories=tuple(responsible.get("categories", ())),
        sectors=tuple(responsible.get("sectors", ())),
        localities=tuple(responsible.get("localities", ())),
        journalists_involved=responsible.get("journalists_involved", False),
        focal_points=tuple(data["focal_points"]),
        spokespersons=tuple(data["spokespersons"]),
        note=data["note"],
        source=source,
    )


def parse_agencies(rows, source="registry"):
    """Validate agency rows; raise RegistryError naming agency and field."""
    agencies = []
    for index, row in enumerate(rows):
        label = (row or {}).get("code") if isinstance(row, dict) else None
        label = label or f"#{index + 1}"
        try:
            data = AgencySchema().load(row if isinstance(row, dict) else {})
        except SchemaError as exc:
            raise RegistryError(
                f"agency registry {source}: agency {label!r} is invalid",
                _field_path(exc.messages, f"agencies[{label}]"),
            ) from exc
        agencies.append(_agency_from(data, source))

    return agencies


class Registry:
    """The agencies of Art. 7, queried by day (validity dates apply)."""

    def __init__(self, agencies, on=None, sources=()):
        self._agencies = {}
        for agency in agencies:
            if agency.code in self._agencies:
                first = self._agencies[agency.code].source
                raise RegistryError(
                    f"agency {agency.code!r} appears twice "
                    f"({first} and {agency.source})",
                    {f"agencies[{agency.code}].code": "must be unique"},
                )
            self._agencies[agency.code] = agency
        self.on = on
        self.sources = tuple(str(source) for source in sources)
        self._check()

    def _check(self):
        leads = [a for a in self._agencies.values() if a.kind == LEAD]
        if len(leads) != 1:
            raise RegistryError(
                "the registry must hold exactly one lead agency (Art. 7.1)",
                {"agencies.kind": f"found {len(leads)} with kind 'lead'"},
            )
        self.lead = leads[0]

    def _day(self, on):
        if on is not None:
            return as_day(on)
        return self.on or today()

    def __contains__(self, code):
        return code in self._agencies

    def __iter__(self):
        return iter(self._agencies.values())

    def __len__(self):
        return len(self._agencies)

    def get(self, code):
        try:
            return self._agencies[code]
        except KeyError:
            raise NotFound(
                f"agency {code!r} is not in the registry",
                {"agency": "unknown agency code"},
            ) from None

    def codes(self, on=None):
        return [agency.code for agency in self.agencies(on)]

    def agencies(self, on=None, kind=None):
        day = self._day(on)
        return [
            agency
            for agency in self._agencies.values()
            if agency.is_valid_on(day) and (kind is None or agency.kind == kind)
        ]

    def is_active(self, code, on=None):
        agency = self._agencies.get(code)
        return agency is not None and agency.is_valid_on(self._day(on))

    def agencies_for(
        self,
        categories=(),
        sector=None,
        locality=None,
        on=None,
        journalists_involved=False,
    ):
        """Who a triaged case reaches under Art. 7, the lead first.

        Each agency appears once, with the first rule that matched it, in
        this order: lead, category, sector, locality, journalists involved.
        """
        day = self._day(on)
        lead = self.lead
        found = {
            lead.code: Responsibility(lead.code, RULE_LEAD, lead.article, lead.code)
        }

        def add(agency, rule, matched):
            if agency.code not in found:
                found[agency.code] = Responsibility(
                    agency.code, rule, agency.article, matched
                )

        active = self.agencies(day)
        for category in categories or ():
            for agency in active:
                if agency.answers_for(agency.categories, category, day):
                    add(agency, RULE_CATEGORY, category)
        if sector:
            for agency in active:
                if agency.answers_for(agency.sectors, sector, day):
                    add(agency, RULE_SECTOR, sector)
        if locality:
            for agency in active:
                if agency.answers_for(agency.localities, locality, day):
                    add(agency, RULE_LOCALITY, locality)
        if journalists_involved:
            for agency in active:
                if agency.journalists_involved:
                    add(agency, RULE_JOURNALISTS, "journalists_involved")

        return list(found.values())

    def responsible_for(self, sector=None, locality=None, on=None):
        """Departments and local committees answerable under Art. 7.6."""
        day = self._day(on)
        codes = []
        for agency in self.agencies(day):
            if agency.kind not in ANSWERABLE_KINDS:
                continue
            if sector and agency.answers_for(agency.sectors, sector, day):
                codes.append(agency.code)
            elif locality and agency.answers_for(agency.localities, locality, day):
                codes.append(agency.code)

        return codes

    def has_sector_agency(self, sector, on=None):
        day = self._day(on)
        return any(
            agency.answers_for(agency.sectors, sector, day)
            for agency in self.agencies(day)
            if agency.kind != LEAD
        )

    def has_locality_agency(self, locality, on=None):
        day = self._day(on)
        return any(
            agency.answers_for(agency.localities, locality, day)
            for agency in self.agencies(day)
        )

    def sectors(self, on=None):
        day = self._day(on)
        return sorted(
            {
                item.code
                for agency in self.agencies(day)
                for item in agency.sectors
                if item.is_valid_on(day)
            }
        )

    def localities(self, on=None):
        day = self._day(on)
        return sorted(
            {
                item.code
                for agency in self.agencies(day)
                for item in agency.localities
                if item.is_valid_on(day)
            }
        )

    def press_agencies(self, on=None):
        """The media of Art. 7.7 (Báo Hải Phòng, the radio and TV, the portal)."""
        return self.agencies(on, kind=PRESS)

    def focal_points(self, code):
        return self.get(code).focal_points

    def spokespersons(self, code):
        return self.get(code).spokespersons

    def has_clearance(self, code, classification):
        """True when the agency may receive content of that classification."""
        if classification not in CLASSIFICATIONS:
            raise ValueError(f"unknown classification {classification!r}")
        agency = self._agencies.get(code)
        if agency is None:
            return False
        return CLASSIFICATIONS.index(agency.clearance) >= CLASSIFICATIONS.index(
            classification
        )


def default_paths():
    """The registry files used when none is named: the environment's, or
    the shipped agencies and localities."""
    override = os.environ.get(REGISTRY_PATH_ENV)
    if override:
        return [Path(item) for item in override.split(os.pathsep) if item]
    return [DEFAULT_PATH, DEFAULT_LOCALITIES_PATH]


def load_registry(path=None, extra_paths=(), on=None):
    """Load and validate the registry.

    ``path`` is the main file (default: the shipped agencies and localities
    files, or ``PHOIHOP_AGENCY_REGISTRY``, a path list); ``extra_paths`` are
    further files of the same form, such as the wards and communes DIC loads.
    ``on`` fixes the day queries use when they are not given one.
    """
    # An empty path (an unset ${VAR:} in a config file) means the default.
    paths = [Path(path)] if path else default_paths()
    paths += [Path(item) for item in extra_paths or () if item]
    agencies = []
    for item in paths:
        loaded = _read(item)
        agencies.extend(parse_agencies(loaded["agencies"], source=str(item)))

    return Registry(agencies, on=as_day(on), sources=paths)


@dataclass
class _Cache:
    registry: Registry | None = None
    key: tuple = field(default_factory=tuple)


_cache = _Cache()


def shipped_registry():
    """The registry of the default files, loaded once per process."""
    key = tuple(str(item) for item in default_paths())
    if _cache.registry is None or _cache.key != key:
        _cache.registry = load_registry()
        _cache.key = key
    return _cache.registry
