"""User-facing text in Vietnamese by default, English on request.

``PHOIHOP_LANG=en`` (or the CLI's ``--lang en``) switches messages to English.
Times shown to users are converted to Asia/Ho_Chi_Minh here.
"""

import os
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from phoihop.constants import DISPLAY_TIMEZONE

DISPLAY_TZ = ZoneInfo(DISPLAY_TIMEZONE)
_language = None


def set_language(language):
    global _language
    _language = language


def language():
    return _language or os.environ.get("PHOIHOP_LANG", "vi")


def t(vi, en):
    """Pick the Vietnamese or the English text of one message."""
    return en if language() == "en" else vi


def local_time(value, fmt="%H:%M %d/%m/%Y"):
    """Format a UTC datetime (or ISO string) in Hai Phong's local time."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(DISPLAY_TZ).strftime(fmt)
