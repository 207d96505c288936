#!/usr/bin/python3
"""Print tests/vectors/token_vectors.h: JWTs for the token_verify tests,
signed with the standard library only (hmac, hashlib, base64, json), so the
tests do not depend on libjwt to make what libjwt must check.

The ignis tokens also encrypt their non-standard claims the way the ignis
JWT service does, with AES-256-CBC from the `cryptography` package (Debian
python3-cryptography), so the C decryption is checked against another
implementation.

    /usr/bin/python3 tests/vectors/make_token_vectors.py > tests/vectors/token_vectors.h

Every input is fixed, so the output is the same on every run. ignis draws
each IV at random; here they come from SHA-256 of a counter instead.
"""

import base64
import hashlib
import hmac
import itertools
import json

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

SECRET = b"unit-test-secret-0123456789abcdef"
OTHER_SECRET = b"some-other-secret"
NOW = 1800000000  # 2027-01-15T08:00:00Z
TOKEN_MAX_LEN = 8192
HS256_HEADER = {"alg": "HS256", "typ": "JWT"}


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value):
    """A JSON value as a segment, or raw bytes as they are."""
    if isinstance(value, (bytes, bytearray)):
        return b64url(value)
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def sign(header, payload, secret=SECRET, digest=hashlib.sha256):
    signing_input = segment(header) + "." + segment(payload)
    mac = hmac.new(secret, signing_input.encode(), digest).digest()
    return signing_input + "." + b64url(mac)


def hs256(payload, secret=SECRET):
    return sign(HS256_HEADER, payload, secret)


# --- ignis tokens with encrypted claims --------------------------------------

IGNIS_HEADER = {"alg": "HS256"}  # the ignis service sets no "typ"
IGNIS_STANDARD_CLAIMS = {"iss", "sub", "aud", "jti", "nbf", "exp", "iat"}
IGNIS_SHORT_SECRET = b"short-app-secret"  # 16 characters
IGNIS_EXACT_SECRET = b"exactly-32-characters-of-secret!"
IGNIS_APP_SECRET = b"an-application-secret-that-is-longer-than-32"
IGNIS_OTHER_APP_SECRET = b"not-the-application-secret"
_iv_counter = itertools.count()


def claim_key(app_secret):
    """The AES key: the secret cut to 32 bytes or padded with b"0"."""
    return app_secret[:32].ljust(32, b"0")


def next_iv():
    return hashlib.sha256(b"ignis-iv-%d" % next(_iv_counter)).digest()[:16]


def encrypt_claim(app_secret, text):
    """base64(IV || AES-256-CBC(text)) with PKCS#7 padding."""
    data = text if isinstance(text, bytes) else text.encode()
    padder = padding.PKCS7(128).padder()
    padded = padder.update(data) + padder.finalize()
    iv = next_iv()
    encryptor = Cipher(algorithms.AES(claim_key(app_secret)), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    return base64.b64encode(iv + ciphertext).decode()


def decrypts(app_secret, text):
    """True when text decrypts with valid padding under app_secret."""
    raw = base64.b64decode(text)
    decryptor = Cipher(algorithms.AES(claim_key(app_secret)), modes.CBC(raw[:16])).decryptor()
    padded = decryptor.update(raw[16:]) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        return False
    return True


def corrupt(app_secret, text):
    """Flip bits of the last IV or ciphertext byte before the final block,
    which lands on the padding byte, until the padding no longer checks."""
    raw = bytearray(base64.b64decode(text))
    for mask in range(1, 256):
        changed = bytearray(raw)
        changed[-17] ^= mask
        result = base64.b64encode(bytes(changed)).decode()
        if not decrypts(app_secret, result):
            return result
    raise SystemExit("no corruption breaks the padding")


def ignis_claims(app_secret, claims):
    """Encrypt the name and the value of every non-standard claim. A value
    given as str is encrypted as it is (JSON text or a bare string), bytes
    likewise."""
    encrypted = {}
    for name, value in claims.items():
        if name in IGNIS_STANDARD_CLAIMS:
            encrypted[name] = value
        else:
            encrypted[encrypt_claim(app_secret, name)] = encrypt_claim(app_secret, value)
    return encrypted


def ignis_token(user_value, app_secret=SECRET, secret=None, extra=None, times=True):
    """An ignis token: userId with the value text user_value, a roles and
    an email claim, all encrypted, and iat, nbf and exp in clear."""
    claims = {
        "userId": user_value,
        "roles": json.dumps(["1|admin|0"]),
        "email": json.dumps("someone@example.com"),
    }
    claims.update(extra or {})
    payload = ignis_claims(app_secret, claims)
    if times:
        payload.update({"iat": NOW - 10, "nbf": NOW - 10, "exp": NOW + 3600})
    return sign(IGNIS_HEADER, payload, app_secret if secret is None else secret)


def ignis_vectors():
    tokens = [
        ("IGNIS_JSON_VALUE", ignis_token(json.dumps("user-42"))),
        ("IGNIS_BARE_VALUE", ignis_token("user-legacy-7")),
        ("IGNIS_SHORT_SECRET", ignis_token(json.dumps("short-user"), IGNIS_SHORT_SECRET)),
        ("IGNIS_EXACT_SECRET", ignis_token(json.dumps("exact-user"), IGNIS_EXACT_SECRET)),
        ("IGNIS_SEPARATE_APP_SECRET",
         ignis_token(json.dumps("app-user"), IGNIS_APP_SECRET, secret=SECRET)),
        ("IGNIS_WRONG_APP_SECRET",
         ignis_token(json.dumps("hidden"), IGNIS_OTHER_APP_SECRET, secret=SECRET)),
        ("IGNIS_NUMBER_VALUE", ignis_token("42")),
        ("IGNIS_NEGATIVE_NUMBER", ignis_token("-7")),
        ("IGNIS_EXPONENT_NUMBER", ignis_token("1e3")),
        ("IGNIS_FRACTION_NUMBER", ignis_token("2.50")),
        ("IGNIS_LEADING_ZERO", ignis_token("007")),
        ("IGNIS_JSON_SPACES", ignis_token(' \t"spaced"\n ')),
        ("IGNIS_QUOTED_NOT_JSON", ignis_token('"abc"x')),
        ("IGNIS_UNICODE_ESCAPED", ignis_token(json.dumps("\u00e9l\u00e8ve"))),
        ("IGNIS_UNICODE_RAW", ignis_token(json.dumps("\u00e9l\u00e8ve", ensure_ascii=False))),
        ("IGNIS_BARE_UNICODE", ignis_token("\u00e9l\u00e8ve")),
        ("IGNIS_VALUE_OBJECT", ignis_token(json.dumps({"id": "x"}))),
        ("IGNIS_VALUE_TRUE", ignis_token("true")),
        ("IGNIS_VALUE_EMPTY_STRING", ignis_token(json.dumps(""))),
        ("IGNIS_VALUE_EMPTY", ignis_token("")),
        ("IGNIS_VALUE_NUL_ESCAPE", ignis_token(json.dumps("a\u0000b"))),
        ("IGNIS_VALUE_INVALID_UTF8", ignis_token(b"\xff\xfe")),
        ("IGNIS_VALUE_AT_MAX", ignis_token(json.dumps("u" * 256))),
        ("IGNIS_VALUE_OVER_MAX", ignis_token(json.dumps("u" * 257))),
        ("IGNIS_WITH_SUB", ignis_token(json.dumps("encrypted-user"), extra={"sub": "clear-sub"})),
        ("IGNIS_EXPIRED", sign(IGNIS_HEADER, dict(ignis_claims(SECRET, {"userId": json.dumps("late")}),
                                                  exp=NOW - 1))),
        ("IGNIS_NO_TIMES", ignis_token(json.dumps("timeless-ignis"), times=False)),
    ]

    # A clear string userId comes before the encrypted one.
    payload = ignis_claims(SECRET, {"userId": json.dumps("encrypted-user")})
    payload["userId"] = "clear-user"
    tokens.append(("IGNIS_CLEAR_USER_ID", hs256(payload)))

    # Two encrypted claims named userId make the user id ambiguous.
    payload = ignis_claims(SECRET, {"userId": json.dumps("first")})
    payload[encrypt_claim(SECRET, "userId")] = encrypt_claim(SECRET, json.dumps("second"))
    tokens.append(("IGNIS_TWO_USER_IDS", sign(IGNIS_HEADER, payload)))

    # Corrupted claims: another claim's name (skipped), the userId name
    # (so no userId is found) and the userId value.
    def corrupted(part):
        payload = {}
        for name, value in {"roles": json.dumps(["1|admin|0"]), "userId": json.dumps("user-42")}.items():
            enc_name, enc_value = encrypt_claim(SECRET, name), encrypt_claim(SECRET, value)
            if part == "other-name" and name == "roles":
                enc_name = corrupt(SECRET, enc_name)
            if part == "name" and name == "userId":
                enc_name = corrupt(SECRET, enc_name)
            if part == "value" and name == "userId":
                enc_value = corrupt(SECRET, enc_value)
            payload[enc_name] = enc_value
        payload["exp"] = NOW + 3600
        return sign(IGNIS_HEADER, payload)

    tokens.append(("IGNIS_CORRUPTED_OTHER_CLAIM", corrupted("other-name")))
    tokens.append(("IGNIS_CORRUPTED_NAME", corrupted("name")))
    tokens.append(("IGNIS_CORRUPTED_VALUE", corrupted("value")))

    # Claims whose names are not ciphertexts at all are skipped too.
    payload = ignis_claims(SECRET, {"userId": json.dumps("user-42")})
    payload.update({"plain claim": "x", "QUJDRA==": "QUJDRA==", "count": 3})
    tokens.append(("IGNIS_NON_CIPHERTEXT_CLAIMS", sign(IGNIS_HEADER, payload)))
    return tokens


def sized_token(total_len):
    """A valid HS256 token of exactly total_len characters, padded with a
    filler claim."""
    for filler in range(total_len):
        token = hs256({"sub": "big", "exp": NOW + 60, "pad": "x" * filler})
        if len(token) == total_len:
            return token
        if len(token) > total_len:
            break
    raise SystemExit(f"no token of exactly {total_len} characters")


def main():
    good = hs256({"sub": "user-42", "iat": NOW - 10, "exp": NOW + 3600})
    good_head, good_body, good_sig = good.split(".")
    other_body = segment({"sub": "admin", "exp": NOW + 3600})

    tokens = [
        ("GOOD", good),
        ("USER_ID_CLAIM", hs256({"userId": "user-7", "exp": NOW + 60})),
        ("SUB_AND_USER_ID", hs256({"sub": "from-sub", "userId": "from-uid"})),
        ("SUB_NUMBER_WITH_USER_ID", hs256({"sub": 42, "userId": "fallback"})),
        ("SUB_NUMBER", hs256({"sub": 42})),
        ("SUB_NULL", hs256({"sub": None})),
        ("USER_ID_OBJECT", hs256({"userId": {"id": "x"}})),
        ("NO_SUBJECT", hs256({"exp": NOW + 3600, "name": "nobody"})),
        ("SUB_EMPTY", hs256({"sub": ""})),
        ("SUB_AT_MAX", hs256({"sub": "a" * 256})),
        ("SUB_OVER_MAX", hs256({"sub": "a" * 257})),
        ("NO_TIMES", hs256({"sub": "timeless"})),
        ("EXPIRED_1S", hs256({"sub": "u", "exp": NOW - 1})),
        ("EXP_NOW", hs256({"sub": "u", "exp": NOW})),
        ("EXP_FRACTION", hs256({"sub": "u", "exp": NOW - 0.5})),
        ("NBF_IN_30S", hs256({"sub": "u", "nbf": NOW + 30})),
        ("NBF_NOW", hs256({"sub": "u", "nbf": NOW, "exp": NOW + 60})),
        ("EXP_STRING", hs256({"sub": "u", "exp": str(NOW + 3600)})),
        ("NBF_STRING", hs256({"sub": "u", "nbf": str(NOW - 60)})),
        ("EXP_BOOL", hs256({"sub": "u", "exp": True})),
        ("ALG_NONE", segment({"alg": "none", "typ": "JWT"}) + "."
         + good_body + "."),
        ("ALG_NONE_SIGNED", sign({"alg": "none", "typ": "JWT"},
                                 {"sub": "user-42"})),
        ("ALG_NONE_UPPER", segment({"alg": "NONE"}) + "." + good_body + "."),
        ("ALG_HS512", sign({"alg": "HS512", "typ": "JWT"}, {"sub": "u"},
                           digest=hashlib.sha512)),
        ("ALG_RS256", sign({"alg": "RS256", "typ": "JWT"}, {"sub": "u"})),
        ("ALG_LOWER", sign({"alg": "hs256", "typ": "JWT"}, {"sub": "u"})),
        ("ALG_MISSING", sign({"typ": "JWT"}, {"sub": "u"})),
        ("ALG_NUMBER", sign({"alg": 256}, {"sub": "u"})),
        ("ALG_DUPLICATE", sign(b'{"alg":"HS256","alg":"none"}', {"sub": "u"})),
        ("CRIT_HEADER", sign({"alg": "HS256", "crit": ["exp"]}, {"sub": "u"})),
        ("WRONG_SECRET", hs256({"sub": "user-42"}, OTHER_SECRET)),
        ("SWAPPED_PAYLOAD", good_head + "." + other_body + "." + good_sig),
        ("EMPTY_SIGNATURE", good_head + "." + good_body + "."),
        ("HEADER_NOT_JSON", segment(b"not json") + "." + good_body + "."
         + good_sig),
        ("HEADER_ARRAY", sign(["HS256"], {"sub": "u"})),
        ("PAYLOAD_NOT_JSON", sign(HS256_HEADER, b"sub=u")),
        ("PAYLOAD_ARRAY", sign(HS256_HEADER, ["sub", "u"])),
        ("PADDED_SEGMENTS", good_head + "=." + good_body + "." + good_sig),
        ("AT_MAX_LEN", sized_token(TOKEN_MAX_LEN)),
        ("OVER_MAX_LEN", sized_token(TOKEN_MAX_LEN + 1)),
    ]
    tokens += ignis_vectors()

    print("/* Generated by tests/vectors/make_token_vectors.py with Python's")
    print(" * standard library and the cryptography package; do not edit.")
    print(" * Regenerate with /usr/bin/python3 tests/vectors/make_token_vectors.py */")
    print("#ifndef SIGNAL_TEST_TOKEN_VECTORS_H")
    print("#define SIGNAL_TEST_TOKEN_VECTORS_H")
    print()
    print(f'#define VECTOR_SECRET "{SECRET.decode()}"')
    print(f'#define VECTOR_OTHER_SECRET "{OTHER_SECRET.decode()}"')
    print(f'#define VECTOR_IGNIS_SHORT_SECRET "{IGNIS_SHORT_SECRET.decode()}"')
    print(f'#define VECTOR_IGNIS_EXACT_SECRET "{IGNIS_EXACT_SECRET.decode()}"')
    print(f'#define VECTOR_IGNIS_APP_SECRET "{IGNIS_APP_SECRET.decode()}"')
    print(f"#define VECTOR_NOW {NOW}")
    for name, token in tokens:
        print()
        print(f"#define VECTOR_JWT_{name} \\")
        # Split long tokens over several string literals.
        chunks = [token[i:i + 72] for i in range(0, len(token), 72)] or [""]
        for i, chunk in enumerate(chunks):
            tail = " \\" if i + 1 < len(chunks) else ""
            print(f'    "{chunk}"{tail}')
    print()
    print("#endif")


if __name__ == "__main__":
    main()
