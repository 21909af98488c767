"""Bearer JWTs from an OIDC issuer, verified against its JWKS (signature, issuer, audience, expiry).

Keys are fetched once and again only when a token names a key id not seen yet (rotation), at most
every `refresh_s`, so a flood of tokens with made-up key ids cannot turn into a flood of fetches.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import jwt

from sophia.gateway.security.principals import Principal


class InvalidToken(Exception):
    """Why a token was refused; the message never contains the token."""


class JWTVerifier:
    def __init__(
        self,
        issuer: str,
        audience: str,
        jwks_url: str,
        *,
        algorithms: list[str],
        roles_claim: str,
        namespace_claim: str,
        refresh_s: float = 30.0,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self._jwks_url = jwks_url
        self._algorithms = algorithms
        self._roles_claim = roles_claim
        self._namespace_claim = namespace_claim
        self._refresh_s = refresh_s
        self._keys: dict[str, Any] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()
        self._http = httpx.AsyncClient(timeout=5.0)

    async def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken("malformed token") from exc
        key = await self._key(str(header.get("kid", "")))
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=self._algorithms,
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iss", "aud", "sub"]},
                leeway=30,
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("token expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise InvalidToken("token is for another audience") from exc
        except jwt.InvalidIssuerError as exc:
            raise InvalidToken("token is from another issuer") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"token rejected ({type(exc).__name__})") from exc
        roles = claims.get(self._roles_claim) or []
        if isinstance(roles, str):
            roles = roles.split()
        namespace = claims.get(self._namespace_claim) or "default"
        try:
            return Principal(name=str(claims["sub"]), roles=tuple(map(str, roles)), namespace=namespace, via="jwt")
        except ValueError as exc:
            raise InvalidToken("token claims are not usable (namespace)") from exc

    async def _key(self, kid: str) -> Any:
        if kid not in self._keys and time.monotonic() - self._fetched_at > self._refresh_s:
            async with self._lock:
                if kid not in self._keys and time.monotonic() - self._fetched_at > self._refresh_s:
                    await self._fetch()
        try:
            return self._keys[kid]
        except KeyError:
            raise InvalidToken("token signed with an unknown key") from None

    async def _fetch(self) -> None:
        self._fetched_at = time.monotonic()
        try:
            response = await self._http.get(self._jwks_url)
            response.raise_for_status()
            jwks = jwt.PyJWKSet.from_dict(response.json())
        except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
            raise InvalidToken(f"the issuer's keys could not be fetched ({type(exc).__name__})") from exc
        self._keys = {key.key_id or "": key.key for key in jwks.keys}

    async def aclose(self) -> None:
        await self._http.aclose()
