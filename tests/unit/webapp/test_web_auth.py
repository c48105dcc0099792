from crashline.webapp.auth import passwords, tokens
from crashline.webapp.auth.principal import ANONYMOUS, Principal


def test_passwords_are_salted_argon2_hashes():
    first = passwords.hash_password("correct horse")
    second = passwords.hash_password("correct horse")
    assert first != second and first.startswith("$argon2id$")
    assert passwords.verify_password(first, "correct horse")
    assert not passwords.verify_password(first, "wrong horse")
    assert not passwords.verify_password(None, "correct horse")
    assert not passwords.verify_password("not a hash", "x")


def test_token_keys_are_random_and_stored_hashed():
    keys = {tokens.new_key() for _ in range(100)}
    assert len(keys) == 100
    key = keys.pop()
    assert tokens.looks_like_key(key) and len(key) == 32
    assert tokens.hash_key(key) != key and len(tokens.hash_key(key)) == 64
    assert not tokens.looks_like_key("x" * 32)


def test_principal():
    assert not ANONYMOUS.authenticated and not ANONYMOUS.has("view_pii")
    user = Principal(1, "u", frozenset({"view_pii"}), 3)
    assert user.authenticated and user.has("view_pii") and not user.has("admin")
