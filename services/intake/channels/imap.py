"""The IMAP poller: fetches unread messages from one mailbox and hands each
to the email channel. Off unless ``intake.imap.enabled`` is true.

A message is marked seen only after the service has stored it (as a report
or a quarantine entry), so a crash between fetch and store fetches it again;
the Message-ID makes the second fetch a no-op.
"""

import imaplib

from phoihop.logging import get_logger

log = get_logger(__name__)


class MailboxPoller:
    """One poll of one mailbox; ``client_factory`` builds the IMAP client."""

    def __init__(self, settings, client_factory=None):
        self.settings = settings
        self.client_factory = client_factory or self._connect

    def _connect(self):
        host, port = self.settings["host"], self.settings["port"]
        if self.settings.get("ssl", True):
            client = imaplib.IMAP4_SSL(
                host, port, timeout=self.settings.get("timeout", 30)
            )
        else:
            client = imaplib.IMAP4(host, port, timeout=self.settings.get("timeout", 30))
        client.login(self.settings["username"], self.settings["password"])
        return client

    def poll(self, store_message):
        """Fetch unseen messages, call ``store_message(raw)`` for each, then
        mark it seen. Returns how many were stored."""
        client = self.client_factory()
        stored = 0
        try:
            client.select(self.settings.get("mailbox", "INBOX"))
            status, data = client.uid("search", None, "UNSEEN")
            if status != "OK":
                log.warning("imap_search_failed", status=status)
                return 0
            uids = (data[0] or b"").split()[: self.settings.get("batch", 50)]
            for uid in uids:
                status, parts = client.uid("fetch", uid, "(BODY.PEEK[])")
                raw = _message_bytes(parts) if status == "OK" else None
                if raw is None:
                    log.warning("imap_fetch_failed", uid=uid.decode(), status=status)
                    continue
                store_message(raw)
                client.uid("store", uid, "+FLAGS", "(\\Seen)")
                stored += 1
        finally:
            try:
                client.logout()
            except (imaplib.IMAP4.error, OSError):
                pass

        return stored


def _message_bytes(parts):
    for part in parts or ():
        if isinstance(part, tuple) and len(part) == 2 and isinstance(part[1], bytes):
            return part[1]
    return None
