"""The webhook signature: HMAC-SHA256 over the timestamp and the body."""

import hashlib
import hmac

from phoihop.adapters import sign, verify_signature

BODY = b'{"event": {"id": "e-1", "type": "case.assigned"}}'


def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    expected = hmac.new(b"k", b"1700000000." + BODY, hashlib.sha256).hexdigest()

    assert sign("k", 1700000000, BODY) == f"v1={expected}"


def test_signature_verifies_with_the_shared_secret_and_fails_with_another():
    signature = sign("shared", 1700000000, BODY)

    assert verify_signature("shared", "1700000000", BODY, signature, now=1700000010)
    assert not verify_signature("other", "1700000000", BODY, signature, now=1700000010)


def test_changed_body_or_timestamp_fails_verification():
    signature = sign("shared", 1700000000, BODY)

    assert not verify_signature(
        "shared", "1700000000", BODY + b" ", signature, now=1700000000
    )
    assert not verify_signature("shared", "1700000001", BODY, signature, now=1700000000)


def test_old_signature_is_refused_as_a_replay():
    signature = sign("shared", 1700000000, BODY)

    assert not verify_signature("shared", "1700000000", BODY, signature, now=1700000301)


def test_garbage_headers_do_not_verify():
    assert not verify_signature("shared", "soon", BODY, "v1=00", now=0)
    assert not verify_signature("shared", None, BODY, None, now=0)
