"""Tokens minted the way the ignis JWT service mints them: HS256, with the
standard claims in clear and every other claim's name and value encrypted
as base64(IV || AES-256-CBC(text)) under the application secret cut or
padded with "0" to 32 characters. The server reads the user id from the
encrypted userId claim, with its JWT secret as the application secret.

The reference peer reads only a clear sub or userId, so these tests run
against our own binary only.
"""

import base64
import json
import os
import time

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from signal_client import KeyExchange, Rest, mint_jwt, session

STANDARD_CLAIMS = {"iss", "sub", "aud", "jti", "nbf", "exp", "iat"}


@pytest.fixture(autouse=True)
def own_binary_only(target):
    if target.external:
        pytest.skip("the reference peer does not decrypt ignis claims")


def encrypt_claim(app_secret: str, text: str) -> str:
    """Return base64(IV || AES-256-CBC(text)) with PKCS#7 padding and a random IV."""
    key = app_secret.encode()[:32].ljust(32, b"0")
    padder = padding.PKCS7(128).padder()
    padded = padder.update(text.encode()) + padder.finalize()
    iv = os.urandom(16)
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return base64.b64encode(iv + encryptor.update(padded) + encryptor.finalize()).decode()


def ignis_token(secret: str, claims: dict, app_secret: str = None) -> str:
    """Mint an HS256 token with claims encrypted as the ignis service does.

    Values are given as the text to encrypt: JSON text for the current
    ignis release, a bare string for earlier ones."""
    app_secret = secret if app_secret is None else app_secret
    now = int(time.time())
    payload = {}
    for name, text in claims.items():
        if name in STANDARD_CLAIMS:
            payload[name] = text
        else:
            payload[encrypt_claim(app_secret, name)] = encrypt_claim(app_secret, text)
    payload.update({"iat": now, "nbf": now, "exp": now + 300})
    return mint_jwt(secret, payload)


async def test_connected_user_id_from_encrypted_claim(target):
    token = ignis_token(
        target.secret,
        {"userId": json.dumps("ignis-user-42"), "roles": json.dumps(["1|admin|0"])},
    )
    async with session(target) as client:
        data = await client.authenticate(token)
        assert data["userId"] == "ignis-user-42"

        # The REST API reports the same user id.
        response = await Rest(target).get_client(data["id"])
        assert response.status == 200, str(response)
        assert response.json()["userId"] == "ignis-user-42"


async def test_connected_user_id_from_bare_encrypted_claim(target):
    token = ignis_token(target.secret, {"userId": "legacy-user-7"})
    async with session(target) as client:
        data = await client.authenticate(token)
        assert data["userId"] == "legacy-user-7"


async def test_connected_user_id_from_encrypted_number(target):
    token = ignis_token(target.secret, {"userId": json.dumps(4242)})
    async with session(target) as client:
        data = await client.authenticate(token)
        assert data["userId"] == "4242"


async def test_clear_sub_preferred_over_encrypted_user_id(target):
    token = ignis_token(target.secret, {"sub": "clear-sub", "userId": json.dumps("encrypted-user")})
    async with session(target) as client:
        data = await client.authenticate(token)
        assert data["userId"] == "clear-sub"


async def test_claims_under_other_app_secret_fail_with_4003(target):
    token = ignis_token(target.secret, {"userId": json.dumps("hidden")}, app_secret="another-application-secret")
    async with session(target) as client:
        data = {"token": token, "clientPublicKey": KeyExchange().public_b64}
        await client.send_json({"event": "authenticate", "data": data})
        await client.expect_error("Authentication failed")
        code, _ = await client.expect_close()
        assert code == 4003
