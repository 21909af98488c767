"""Build the gateway's security from its settings, refusing a configuration that cannot work."""

from __future__ import annotations

import logging

import redis.asyncio as redis

from sophia.gateway.errors import ConfigurationError
from sophia.gateway.security.audit import AuditLog
from sophia.gateway.security.authn import Authenticator
from sophia.gateway.security.guard import Guard
from sophia.gateway.security.policy import Policy
from sophia.gateway.security.principals import ApiKeys, Principal
from sophia.gateway.security.ratelimit import Limit, RateLimiter
from sophia.gateway.security.tokens import JWTVerifier
from sophia.gateway.settings import GatewaySettings

logger = logging.getLogger("sophia.gateway.auth")

# With auth off there is one user, on their own machine, who may do everything.
LOCAL_USER = Principal(name="local", roles=("admin",), namespace="default", via="anonymous")


def build_security(
    settings: GatewaySettings, client: redis.Redis | None
) -> tuple[Authenticator, Guard, AuditLog | None]:
    policy = Policy.load(settings.policy_file)
    audit = AuditLog(client, settings.audit_max_entries) if client is not None else None
    if settings.auth == "off":
        logger.warning("authentication is OFF (SOPHIA_GATEWAY_AUTH=off): every caller is an admin")
        return Authenticator(None, None, LOCAL_USER), Guard(policy, LOCAL_USER, None, audit), audit
    api_keys = ApiKeys.load(settings.principals_file) if settings.principals_file else None
    jwt = _jwt(settings)
    if api_keys is None and jwt is None:
        raise ConfigurationError(
            "authentication is on but no credentials can be checked: set SOPHIA_GATEWAY_PRINCIPALS_FILE (API keys) "
            "and/or SOPHIA_GATEWAY_JWT_ISSUER, _JWT_AUDIENCE and _JWT_JWKS_URL; or, on your own machine only, "
            "SOPHIA_GATEWAY_AUTH=off"
        )
    if client is None:
        raise ConfigurationError("authentication is on: rate limits and the audit log need SOPHIA_GATEWAY_REDIS_URL")
    limiter = RateLimiter(
        client,
        Limit(settings.rate_limit_per_minute, settings.rate_limit_burst),
        Limit(settings.expensive_per_minute, settings.expensive_burst),
        settings.expensive_tools,
        settings.rate_limit_when_redis_down,
    )
    return Authenticator(api_keys, jwt, None), Guard(policy, None, limiter, audit), audit


def _jwt(settings: GatewaySettings) -> JWTVerifier | None:
    given = [settings.jwt_issuer, settings.jwt_audience, settings.jwt_jwks_url]
    if not any(given):
        return None
    if not all(given):
        raise ConfigurationError("JWTs need all three of SOPHIA_GATEWAY_JWT_ISSUER, _JWT_AUDIENCE and _JWT_JWKS_URL")
    assert settings.jwt_issuer and settings.jwt_audience and settings.jwt_jwks_url
    return JWTVerifier(
        settings.jwt_issuer,
        settings.jwt_audience,
        settings.jwt_jwks_url,
        algorithms=settings.jwt_algorithms,
        roles_claim=settings.jwt_roles_claim,
        namespace_claim=settings.jwt_namespace_claim,
    )
