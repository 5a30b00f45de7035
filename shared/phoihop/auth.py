"""Credentials and access policy of the public API.

Every caller of the gateway is an agency officer or an agency adapter holding
its own API key (DESIGN.md, Security). This module keeps:

- the roles (officer, focal point, spokesperson, DIC inspector, admin) and
  the classification clearance of a credential;
- ``CredentialStore``: API keys hashed at rest (HMAC-SHA-256 over a per-key
  salt and the secret, keyed with a server pepper from the environment),
  with expiry and revocation, and short browser sessions for the dashboard;
- ``POLICY``: the one table saying which roles may do what and on which
  cases (an agency acts on the cases it is assigned to; DIC, the lead of
  Art. 7.1, on every case);
- ``redact``: classified content is shown only to cleared callers.
"""

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import timedelta

from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from phoihop.constants import CLASSIFICATIONS
from phoihop.errors import Forbidden, NotFound, Unauthenticated, ValidationError
from phoihop.logging import get_logger
from phoihop.store import utcnow

log = get_logger(__name__)

OFFICER = "officer"
FOCAL_POINT = "focal_point"
SPOKESPERSON = "spokesperson"
DIC_INSPECTOR = "dic_inspector"
ADMIN = "admin"
ROLES = (OFFICER, FOCAL_POINT, SPOKESPERSON, DIC_INSPECTOR, ADMIN)

ROLE_LABELS = {
    OFFICER: ("Cán bộ", "Officer"),
    FOCAL_POINT: ("Cán bộ đầu mối", "Focal-point officer"),
    SPOKESPERSON: ("Người phát ngôn", "Spokesperson"),
    DIC_INSPECTOR: ("Thanh tra Sở TT&TT", "DIC inspector"),
    ADMIN: ("Quản trị hệ thống", "Administrator"),
}

# The lead agency of Art. 7.1: it receives every report and sees every case.
LEAD_AGENCY = "dic"

# Roles only the lead agency may hold: the Inspectorate runs verification
# (Art. 7.1.b), and the platform is DIC's system (Art. 7.1.e).
LEAD_ONLY_ROLES = frozenset({DIC_INSPECTOR, ADMIN})

# Who holds the key: a person, or an agency's adapter acting for it.
CREDENTIAL_KINDS = ("officer", "adapter")

KEY_PREFIX = "phk"
SESSION_PREFIX = "phs"
HASH_SCHEME = "hmac-sha256-v1"
PEPPER_ENV = "PHOIHOP_API_KEY_PEPPER"

DEFAULT_KEY_DAYS = 90
MAX_KEY_DAYS = 730
DEFAULT_SESSION_SECONDS = 8 * 3600

# Writing last_used_at on every request would turn each read into a write;
# once a minute is enough to see which keys are still in use.
LAST_USED_RESOLUTION_SECONDS = 60

CREDENTIALS = "credentials"
SESSIONS = "sessions"

INDEXES = {
    CREDENTIALS: [
        IndexModel([("agency", ASCENDING), ("created_at", ASCENDING)], name="agency"),
    ],
    SESSIONS: [
        # MongoDB removes a session once it expired (TTL index on expires_at).
        IndexModel([("expires_at", ASCENDING)], name="expiry", expireAfterSeconds=0),
        IndexModel([("key_id", ASCENDING)], name="key_id"),
    ],
}


def clearance_rank(level):
    """Position of a classification level, least restricted first."""
    try:
        return CLASSIFICATIONS.index(level or "public")
    except ValueError:
        # An unknown level is treated as the most restricted one: a typo in a
        # record must not open classified content to everyone.
        return len(CLASSIFICATIONS) - 1


def is_cleared(clearance, classification):
    """Whether a holder of ``clearance`` may read ``classification``. An
    unknown clearance reads nothing; an unknown classification is the most
    restricted one."""
    if clearance not in CLASSIFICATIONS:
        return False
    return CLASSIFICATIONS.index(clearance) >= clearance_rank(classification)


@dataclass(frozen=True)
class Caller:
    """The authenticated caller of one request."""

    key_id: str
    agency: str
    officer: str
    roles: frozenset
    clearance: str
    kind: str = "officer"
    agency_kind: str = ""

    @property
    def is_lead(self):
        return self.agency == LEAD_AGENCY

    def actor(self):
        """The ``actor`` every mutating RPC method takes."""
        return {"agency": self.agency, "officer": self.officer}

    def has_any_role(self, roles):
        return bool(self.roles & roles)

    def to_dict(self):
        return {
            "key_id": self.key_id,
            "agency": self.agency,
            "agency_kind": self.agency_kind,
            "officer": self.officer,
            "roles": sorted(self.roles),
            "clearance": self.clearance,
            "kind": self.kind,
        }


# --- the access policy ---

# Scopes of a rule:
GLOBAL = "global"  # not about one case; any agency holding the role
CASE = "case"  # the caller's agency is assigned to the case, or is the lead
LEAD = "lead"  # the lead agency (DIC) only

_READERS = frozenset({OFFICER, FOCAL_POINT, SPOKESPERSON, DIC_INSPECTOR})
_WORKERS = frozenset({OFFICER, FOCAL_POINT, DIC_INSPECTOR})
_INSPECTOR = frozenset({DIC_INSPECTOR})
_SPEAKERS = frozenset({SPOKESPERSON, DIC_INSPECTOR})
_ADMIN = frozenset({ADMIN})
_REPORTERS = frozenset({FOCAL_POINT, DIC_INSPECTOR})


@dataclass(frozen=True)
class Rule:
    roles: frozenset
    scope: str
    why: str


POLICY = {
    # Art. 5.1 / 8.1: every party notifies DIC of what it detects.
    "reports.submit": Rule(_READERS, GLOBAL, "Art. 5.1: any party reports"),
    "reports.read": Rule(_WORKERS, GLOBAL, "own reports; DIC all"),
    "cases.list": Rule(_READERS, GLOBAL, "own cases; DIC all"),
    "cases.read": Rule(_READERS, CASE, "cases the agency is assigned to"),
    # Art. 7.1.a-b: DIC receives, aggregates and organises verification.
    "triage.confirm": Rule(_INSPECTOR, LEAD, "Art. 7.1.a: DIC triages"),
    "merges.list": Rule(_INSPECTOR, LEAD, "Art. 7.1.a: DIC aggregates"),
    "merges.confirm": Rule(_INSPECTOR, LEAD, "Art. 7.1.a: DIC aggregates"),
    "quarantine.read": Rule(_INSPECTOR | _ADMIN, LEAD, "DIC receives inputs"),
    "quarantine.resubmit": Rule(_INSPECTOR, LEAD, "DIC receives inputs"),
    "assignments.read": Rule(_READERS, CASE, "cases the agency is assigned to"),
    "assignments.change": Rule(_INSPECTOR, LEAD, "Art. 7.1.c: DIC transfers"),
    "lead.transfer": Rule(_INSPECTOR, LEAD, "Art. 7.1.c: DIC transfers"),
    # Art. 7.1.a/g/h: beyond DIC's authority, to the city or the Ministry.
    "escalations.read": Rule(_INSPECTOR, LEAD, "Art. 7.1.h: DIC escalates"),
    "escalations.create": Rule(_INSPECTOR, LEAD, "Art. 7.1.h: DIC escalates"),
    "escalations.answer": Rule(_INSPECTOR, LEAD, "Art. 7.1.h: DIC escalates"),
    "deadlines.list": Rule(_READERS, GLOBAL, "own deadlines; DIC all"),
    # Art. 5.2: meetings and written opinions, organised by DIC.
    "rounds.open": Rule(_INSPECTOR, LEAD, "Art. 5.2.b: DIC collects opinions"),
    "rounds.close": Rule(_INSPECTOR, LEAD, "Art. 5.2.b: DIC collects opinions"),
    "rounds.read": Rule(_WORKERS, CASE, "cases the agency is assigned to"),
    "opinions.submit": Rule(_WORKERS, CASE, "Art. 5.2.b: invited agencies"),
    "meetings.manage": Rule(_INSPECTOR, LEAD, "Art. 5.2.a: DIC convenes"),
    "meetings.read": Rule(_WORKERS, CASE, "cases the agency is assigned to"),
    "cases.appraise": Rule(_INSPECTOR, LEAD, "Art. 7.1.b: DIC appraises"),
    "cases.decide": Rule(_INSPECTOR, LEAD, "Art. 7.1.c: DIC decides"),
    "measures.read": Rule(_READERS, CASE, "cases the agency is assigned to"),
    # Art. 7.6.c: the responsible agency reports its handling results.
    "results.report": Rule(_WORKERS, CASE, "Art. 7.6.c: responsible agency"),
    "cases.close": Rule(_INSPECTOR, LEAD, "Art. 7.1: DIC closes"),
    "cases.reopen": Rule(_INSPECTOR, LEAD, "Art. 7.1: DIC reopens"),
    # Art. 7.6.d: the agency's spokesperson gives initial information.
    "statements.read": Rule(_READERS, CASE, "cases the agency is assigned to"),
    "statements.draft": Rule(_SPEAKERS, CASE, "Art. 7.6.d: spokesperson"),
    "statements.approve": Rule(_SPEAKERS, CASE, "Art. 7.6.d: spokesperson"),
    "statements.distribute": Rule(_SPEAKERS, CASE, "Art. 7.6.d: spokesperson"),
    # Art. 7.7: the press agencies confirm what they received.
    "statements.confirm": Rule(_READERS, GLOBAL, "Art. 7.7: press recipients"),
    "results_notice.draft": Rule(_INSPECTOR, LEAD, "Art. 6.6: DIC publishes"),
    # Art. 8: DIC compiles the situation and reports to the city.
    "board.read": Rule(_WORKERS, LEAD, "Art. 8.3: DIC compiles"),
    "stream.read": Rule(_WORKERS, LEAD, "Art. 7.1.d: DIC monitors"),
    # Art. 8.2: DIC reports to the city; Art. 7.6.c: each agency its results.
    "periodic_reports.read": Rule(_REPORTERS, GLOBAL, "Art. 8.2, 7.6.c"),
    "periodic_reports.generate": Rule(_REPORTERS, GLOBAL, "Art. 8.2, 7.6.c"),
    "log.verify": Rule(_INSPECTOR | _ADMIN, LEAD, "audit of the event log"),
    # Operations of the platform itself.
    "deadletters.read": Rule(_ADMIN, LEAD, "operations"),
    "deadletters.replay": Rule(_ADMIN, LEAD, "operations"),
    "credentials.manage": Rule(_ADMIN, LEAD, "operations"),
    "self.read": Rule(frozenset(ROLES), GLOBAL, "who am I"),
}


def rule_for(action):
    try:
        return POLICY[action]
    except KeyError:
        raise KeyError(f"action {action!r} is not in the access policy") from None


def check_action(caller, action):
    """Refuse (Forbidden with the reason) unless the caller's roles and
    agency allow ``action`` at all; case membership is checked separately."""
    rule = rule_for(action)
    if not caller.has_any_role(rule.roles):
        raise Forbidden(
            f"role {', '.join(sorted(caller.roles))} may not do {action}",
            {"role": f"needs one of {', '.join(sorted(rule.roles))} ({rule.why})"},
        )
    if rule.scope == LEAD and not caller.is_lead:
        raise Forbidden(
            f"only the lead agency may do {action}",
            {"agency": f"{caller.agency} is not the lead agency ({rule.why})"},
        )
    return rule


def case_agencies(case):
    """The codes of the agencies assigned to a case as the case board shows
    it: the lead and every assignment, whatever shape the record has."""
    codes = set()
    lead = case.get("lead")
    if isinstance(lead, str):
        codes.add(lead)
    for item in case.get("agencies") or ():
        if isinstance(item, str):
            codes.add(item)
        elif isinstance(item, dict) and item.get("agency"):
            codes.add(item["agency"])
    for item in case.get("assignments") or ():
        if isinstance(item, dict) and item.get("agency"):
            codes.add(item["agency"])
    return codes


def check_case(caller, action, case):
    """Refuse unless the caller may do ``action`` on this case record."""
    rule = check_action(caller, action)
    if rule.scope != CASE or caller.is_lead:
        return
    if caller.agency not in case_agencies(case):
        raise Forbidden(
            f"agency {caller.agency} is not assigned to case {case.get('case_id')}",
            {"case_id": "an agency sees and acts only on the cases it is assigned to"},
        )


# --- redaction of classified content ---

REDACTED = "[đã ẩn: nội dung mật]"

# Keys that hold what was posted or said about it; identifiers, states,
# agencies and dates stay visible so that work can be coordinated.
CONTENT_KEYS = frozenset(
    {
        "title",
        "text",
        "captured_text",
        "content_items",
        "about",
        "url",
        "urls",
        "question",
        "reasoning",
        "minutes",
        "conclusions",
        "agenda",
        "note",
        "evidence",
        "body",
        "summary",
        "attachments",
        "raw",
        "position_text",
        "leadership_position",
        "first_measures",
        "art_4_2_consideration",
        "difficulties",
        "reason",
    }
)


def _redact_value(value):
    if isinstance(value, list):
        return [REDACTED for _ in value]
    return REDACTED


def _redact_tree(node):
    if isinstance(node, dict):
        return {
            key: _redact_value(value) if key in CONTENT_KEYS else _redact_tree(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_redact_tree(item) for item in node]
    return node


def redact(document, caller, classification=None):
    """The document as this caller may see it.

    When the document (or its ``classification`` field) is above the
    caller's clearance, content keys are replaced by a marker and
    ``redacted: true`` is added; nested events with their own
    classification are judged one by one.
    """
    if not isinstance(document, dict):
        return document
    level = classification or document.get("classification") or "public"
    if not is_cleared(caller.clearance, level):
        result = _redact_tree(document)
        result["redacted"] = True
        return result

    result = dict(document)
    for key in ("timeline", "events"):
        items = result.get(key)
        if isinstance(items, list):
            result[key] = [
                redact(item, caller) if isinstance(item, dict) else item
                for item in items
            ]
    return result


# --- keys and their storage ---


def server_pepper():
    """The server-wide secret mixed into every key hash, from the
    environment only (never the repository)."""
    return os.environ.get(PEPPER_ENV, "").encode("utf-8")


def hash_secret(secret, salt, pepper):
    return hmac.new(pepper, salt + secret.encode("utf-8"), hashlib.sha256).hexdigest()


def new_key_id():
    return secrets.token_hex(8)


def format_key(key_id, secret):
    return f"{KEY_PREFIX}_{key_id}_{secret}"


def parse_key(key):
    """Split ``phk_<key id>_<secret>``; None when it is not of that form."""
    parts = (key or "").strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[2]:
        return None
    key_id, secret = parts[1], parts[2]
    if len(key_id) != 16 or any(c not in "0123456789abcdef" for c in key_id):
        return None
    return key_id, secret


def agency_kind(code):
    """The kind of an agency from the registry; ValidationError if unknown."""
    from phoihop.agencies import shipped_registry

    registry = shipped_registry()
    if code not in registry:
        raise ValidationError(
            f"agency {code!r} is not in the agency registry",
            {"agency": "use a code of the registry (phoihop.agencies)"},
        )
    return registry.get(code)


def check_roles(agency, roles):
    roles = list(dict.fromkeys(roles or ()))
    if not roles:
        raise ValidationError(
            "a credential needs a role", {"roles": "give one or more"}
        )
    unknown = [role for role in roles if role not in ROLES]
    if unknown:
        raise ValidationError(
            f"unknown role {', '.join(unknown)}",
            {"roles": f"one of {', '.join(ROLES)}"},
        )
    lead_only = [role for role in roles if role in LEAD_ONLY_ROLES]
    if lead_only and agency != LEAD_AGENCY:
        raise ValidationError(
            f"role {', '.join(lead_only)} is reserved to the lead agency",
            {"roles": f"{', '.join(lead_only)} only for agency {LEAD_AGENCY}"},
        )
    return roles


class CredentialStore:
    """API keys and dashboard sessions in the gateway's own database.

    Only a salted, peppered hash of each secret is stored; the full key is
    shown once, when it is created. ``authenticate`` refuses unknown,
    expired and revoked keys with a reason that does not tell an attacker
    which keys exist.
    """

    def __init__(self, db, pepper=None):
        self.db = db
        self.credentials = db[CREDENTIALS]
        self.sessions = db[SESSIONS]
        self.pepper = server_pepper() if pepper is None else pepper

    def ensure_indexes(self):
        for name, models in INDEXES.items():
            self.db[name].create_indexes(list(models))

    def create(
        self,
        agency,
        officer,
        roles,
        clearance="internal",
        kind="officer",
        days=DEFAULT_KEY_DAYS,
        created_by=None,
        note="",
    ):
        """Create a credential; returns ``(record, key)``. The key is not
        stored and cannot be shown again."""
        registered = agency_kind(agency)
        roles = check_roles(agency, roles)
        problems = {}
        if not officer or not str(officer).strip():
            problems["officer"] = "name the officer or the adapter"
        if clearance not in CLASSIFICATIONS:
            problems["clearance"] = f"one of {', '.join(CLASSIFICATIONS)}"
        elif not is_cleared(registered.clearance, clearance):
            problems["clearance"] = (
                f"agency {agency} is cleared only up to {registered.clearance}"
            )
        if kind not in CREDENTIAL_KINDS:
            problems["kind"] = f"one of {', '.join(CREDENTIAL_KINDS)}"
        if not isinstance(days, int) or not 1 <= days <= MAX_KEY_DAYS:
            problems["days"] = f"a whole number of days from 1 to {MAX_KEY_DAYS}"
        if problems:
            raise ValidationError("invalid credential", problems)

        now = utcnow()
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_bytes(16)
        for _ in range(5):
            key_id = new_key_id()
            record = {
                "_id": key_id,
                "agency": agency,
                "agency_kind": registered.kind,
                "officer": str(officer).strip(),
                "roles": roles,
                "clearance": clearance,
                "kind": kind,
                "hash_scheme": HASH_SCHEME,
                "salt": salt.hex(),
                "hash": hash_secret(secret, salt, self.pepper),
                "created_at": now,
                "created_by": created_by,
                "expires_at": now + timedelta(days=days),
                "revoked_at": None,
                "revoked_by": None,
                "revoke_reason": None,
                "last_used_at": None,
                "note": note or "",
            }
            try:
                self.credentials.insert_one(record)
            except DuplicateKeyError:
                continue
            log.info(
                "credential_created",
                key_id=key_id,
                agency=agency,
                roles=roles,
                clearance=clearance,
                kind=kind,
                expires_at=record["expires_at"].isoformat(),
                created_by=created_by,
            )
            return public_record(record), format_key(key_id, secret)
        raise RuntimeError("could not allocate a credential id")

    def get(self, key_id):
        record = self.credentials.find_one({"_id": key_id})
        if record is None:
            raise NotFound(f"credential {key_id} does not exist", {"key_id": "unknown"})
        return public_record(record)

    def list(self, agency=None, include_revoked=False):
        query = {}
        if agency:
            query["agency"] = agency
        if not include_revoked:
            query["revoked_at"] = None
        cursor = self.credentials.find(query).sort("created_at", ASCENDING)
        return [public_record(record) for record in cursor]

    def revoke(self, key_id, revoked_by=None, reason=""):
        """Revoke a key at once; its open dashboard sessions end with it."""
        now = utcnow()
        result = self.credentials.find_one_and_update(
            {"_id": key_id},
            {
                "$set": {
                    "revoked_at": now,
                    "revoked_by": revoked_by,
                    "revoke_reason": reason or "",
                }
            },
        )
        if result is None:
            raise NotFound(f"credential {key_id} does not exist", {"key_id": "unknown"})
        self.sessions.delete_many({"key_id": key_id})
        log.info("credential_revoked", key_id=key_id, revoked_by=revoked_by)
        return self.get(key_id)

    def authenticate(self, key):
        """The caller holding ``key``; Unauthenticated when it is not valid."""
        parsed = parse_key(key)
        if parsed is None:
            raise Unauthenticated(
                "malformed API key",
                {"authorization": "expected Bearer phk_<id>_<secret>"},
            )
        key_id, secret = parsed
        record = self.credentials.find_one({"_id": key_id})
        if record is None or not hmac.compare_digest(
            record["hash"],
            hash_secret(secret, bytes.fromhex(record["salt"]), self.pepper),
        ):
            raise Unauthenticated("invalid API key", {"authorization": "unknown key"})

        return self._caller(record)

    def _caller(self, record):
        now = utcnow()
        if record.get("revoked_at") is not None:
            raise Unauthenticated("API key revoked", {"authorization": "revoked"})
        if record["expires_at"] <= now:
            raise Unauthenticated("API key expired", {"authorization": "expired"})
        last = record.get("last_used_at")
        if last is None or (now - last).total_seconds() > LAST_USED_RESOLUTION_SECONDS:
            self.credentials.update_one(
                {"_id": record["_id"]}, {"$set": {"last_used_at": now}}
            )

        return Caller(
            key_id=record["_id"],
            agency=record["agency"],
            officer=record["officer"],
            roles=frozenset(record["roles"]),
            clearance=record["clearance"],
            kind=record.get("kind", "officer"),
            agency_kind=record.get("agency_kind", ""),
        )

    # Dashboard sessions: a browser cannot put an API key on an EventSource,
    # so the key is exchanged once for a session cookie.

    def open_session(self, caller, seconds=DEFAULT_SESSION_SECONDS):
        token = secrets.token_urlsafe(32)
        now = utcnow()
        self.sessions.insert_one(
            {
                "_id": hashlib.sha256(token.encode("ascii")).hexdigest(),
                "key_id": caller.key_id,
                "created_at": now,
                "expires_at": now + timedelta(seconds=seconds),
            }
        )
        return f"{SESSION_PREFIX}_{token}"

    def authenticate_session(self, token):
        if not token or not token.startswith(f"{SESSION_PREFIX}_"):
            raise Unauthenticated("invalid session", {"session": "sign in again"})
        digest = hashlib.sha256(token[len(SESSION_PREFIX) + 1 :].encode()).hexdigest()
        session = self.sessions.find_one({"_id": digest})
        if session is None or session["expires_at"] <= utcnow():
            raise Unauthenticated("session expired", {"session": "sign in again"})
        record = self.credentials.find_one({"_id": session["key_id"]})
        if record is None:
            raise Unauthenticated("invalid session", {"session": "sign in again"})
        return self._caller(record)

    def close_session(self, token):
        if token and token.startswith(f"{SESSION_PREFIX}_"):
            digest = hashlib.sha256(
                token[len(SESSION_PREFIX) + 1 :].encode()
            ).hexdigest()
            self.sessions.delete_one({"_id": digest})


def public_record(record):
    """A credential as it may be shown: never the salt or the hash."""
    now = utcnow()
    if record.get("revoked_at") is not None:
        status = "revoked"
    elif record["expires_at"] <= now:
        status = "expired"
    else:
        status = "active"
    return {
        "key_id": record["_id"],
        "agency": record["agency"],
        "agency_kind": record.get("agency_kind", ""),
        "officer": record["officer"],
        "roles": list(record["roles"]),
        "clearance": record["clearance"],
        "kind": record.get("kind", "officer"),
        "status": status,
        "created_at": record["created_at"],
        "created_by": record.get("created_by"),
        "expires_at": record["expires_at"],
        "revoked_at": record.get("revoked_at"),
        "revoked_by": record.get("revoked_by"),
        "revoke_reason": record.get("revoke_reason"),
        "last_used_at": record.get("last_used_at"),
        "note": record.get("note", ""),
    }
