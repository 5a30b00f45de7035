"""Raw inputs and attachments, stored once by SHA-256 (content-addressed).

Every report keeps its raw input for audit, and every attachment its bytes;
quarantined inputs keep theirs so they can be corrected. Large files are
split into chunks under MongoDB's 16 MB document limit. Writing the same
bytes twice stores nothing new, so blobs are written before (and outside)
the transaction that refers to them: a blob left by a transaction that did
not commit costs space, never correctness.
"""

import hashlib

from bson.binary import Binary
from pymongo.errors import DuplicateKeyError

from phoihop.store import utcnow

BLOBS = "blobs"
CHUNKS = "blob_chunks"
INLINE_BYTES = 256 * 1024
CHUNK_BYTES = 4 * 1024 * 1024


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def put(db, data, content_type="application/octet-stream"):
    """Store ``data``; returns ``{sha256, size_bytes, content_type}``."""
    digest = sha256(data)
    ref = {"sha256": digest, "size_bytes": len(data), "content_type": content_type}
    if len(data) > INLINE_BYTES and db[BLOBS].find_one({"_id": digest}, {"_id": 1}):
        return ref

    doc = {
        "_id": digest,
        "size_bytes": len(data),
        "content_type": content_type,
        "stored_at": utcnow(),
    }
    if len(data) <= INLINE_BYTES:
        doc["data"] = Binary(data)
    else:
        chunks = [data[i : i + CHUNK_BYTES] for i in range(0, len(data), CHUNK_BYTES)]
        for index, chunk in enumerate(chunks):
            db[CHUNKS].replace_one(
                {"_id": f"{digest}:{index}"},
                {
                    "_id": f"{digest}:{index}",
                    "blob": digest,
                    "n": index,
                    "data": Binary(chunk),
                },
                upsert=True,
            )
        doc["chunks"] = len(chunks)
    try:
        db[BLOBS].insert_one(doc)
    except DuplicateKeyError:
        pass

    return ref


def get(db, digest):
    """The bytes stored under ``digest``, or None."""
    doc = db[BLOBS].find_one({"_id": digest})
    if doc is None:
        return None
    if "data" in doc:
        return bytes(doc["data"])
    parts = db[CHUNKS].find({"blob": digest}).sort("n", 1)
    return b"".join(bytes(part["data"]) for part in parts)
