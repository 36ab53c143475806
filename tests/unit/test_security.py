from app.security import (
    JOIN_CODE_ALPHABET,
    JOIN_CODE_LENGTH,
    LinkSigner,
    digest,
    hash_password,
    new_join_code,
    normalise_join_code,
    verify_password,
)


def test_join_code_has_no_ambiguous_characters() -> None:
    codes = {new_join_code() for _ in range(500)}
    assert all(len(code) == JOIN_CODE_LENGTH for code in codes)
    assert not set("".join(codes)) & set("0O1IL5S2Z8BUV")
    assert set("".join(codes)) <= set(JOIN_CODE_ALPHABET)
    assert len(codes) > 490


def test_join_code_typed_any_case_with_spaces_and_dashes() -> None:
    assert normalise_join_code(" k7m-4qx ") == "K7M4QX"
    assert normalise_join_code("k7m 4qx") == "K7M4QX"


def test_password_hash_is_argon2_and_verifies() -> None:
    hashed = hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "correct horse battery")
    assert not verify_password(hashed, "wrong horse battery")
    assert not verify_password("not a hash", "anything")


def test_link_token_refused_when_tampered_or_for_other_purpose() -> None:
    signer = LinkSigner("k" * 40)
    token = signer.sign("projector", 7, 1)
    assert signer.read("projector", token) == [7, 1]
    assert signer.read("facilitator", token) is None
    assert signer.read("projector", token[:-2] + "xx") is None
    assert LinkSigner("other" * 10).read("projector", token) is None


def test_api_token_digest_is_stable_and_not_the_secret() -> None:
    assert digest("os_abc") == digest("os_abc")
    assert "os_abc" not in digest("os_abc")
