"""``mbox`` files: a mailbox export split into its messages, each of which
goes through the email channel on its own (and keeps its own Message-ID)."""

import mailbox
import os
import tempfile

from services.intake.channels.base import ParseError


def split(data):
    """The raw bytes of each message of an mbox file, in order."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    if not data.startswith(b"From "):
        raise ParseError(
            'an mbox file starts with a "From " line',
            {"mbox": "no From line at the start"},
        )
    # mailbox.mbox reads from a path; the bytes go to a private temp file.
    handle, path = tempfile.mkstemp(prefix="phoihop-mbox-")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        box = mailbox.mbox(path, create=False)
        try:
            return [box.get_bytes(key) for key in box.iterkeys()]
        finally:
            box.close()
    finally:
        os.unlink(path)


def split_file(path):
    """The raw bytes of each message of an mbox file on disk."""
    box = mailbox.mbox(path, create=False)
    try:
        return [box.get_bytes(key) for key in box.iterkeys()]
    finally:
        box.close()
