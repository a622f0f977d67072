"""The async registry client over the OCI distribution API.

Public surface, re-exported from the focused modules: configuration
(:mod:`.config`), request pacing (:mod:`.congestion`, :mod:`.pacing`),
credentials (:mod:`.credentials`), the sans-I/O auth flow
(:mod:`.auth`, :mod:`.challenge`), the HTTP transport (:mod:`.transport`),
error mapping (:mod:`.errors`), and the client and repository
(:mod:`.client`, :mod:`.repository`).
"""

from __future__ import annotations

from imageferry.registry import tls

tls.import_aiohttp()  # before the modules below import it: see imageferry.registry.tls

from imageferry.registry.auth import (
    CLIENT_ID,
    Authenticator,
    AuthReply,
    AuthRequest,
    AuthStep,
    CachedToken,
    NeedCredentials,
    pull_scope,
    push_scope,
)
from imageferry.registry.challenge import Challenge, parse_challenges, pick_challenge
from imageferry.registry.client import CATALOG_SCOPE, RegistryClient
from imageferry.registry.config import Endpoint, RegistryConfig
from imageferry.registry.congestion import (
    CONGESTION_STATUSES,
    ECR_ACTION_RATES,
    AimdSettings,
    Reply,
    TokenBucket,
    Window,
    ecr_action,
)
from imageferry.registry.credentials import (
    IDENTITY_TOKEN_USER,
    ChainCredentials,
    CredentialProvider,
    Credentials,
    DockerConfigCredentials,
    StaticCredentials,
    parse_user_pass,
)
from imageferry.registry.errors import OciError, error_for_response, parse_error_body
from imageferry.registry.pacing import Pacer, Ticket, ecr_rates
from imageferry.registry.pagination import next_link, paginate
from imageferry.registry.ratelimit import Quota, parse_quota
from imageferry.registry.repository import MIN_ECR_CHUNK, Repository
from imageferry.registry.stats import RegistryStats, StatsHook
from imageferry.registry.transport import (
    REDIRECTS,
    Body,
    Response,
    Transport,
    backoff_delay,
    parse_retry_after,
)

__all__ = [
    "CATALOG_SCOPE",
    "CLIENT_ID",
    "CONGESTION_STATUSES",
    "ECR_ACTION_RATES",
    "IDENTITY_TOKEN_USER",
    "MIN_ECR_CHUNK",
    "REDIRECTS",
    "AimdSettings",
    "AuthReply",
    "AuthRequest",
    "AuthStep",
    "Authenticator",
    "Body",
    "CachedToken",
    "ChainCredentials",
    "Challenge",
    "CredentialProvider",
    "Credentials",
    "DockerConfigCredentials",
    "Endpoint",
    "NeedCredentials",
    "OciError",
    "Pacer",
    "Quota",
    "RegistryClient",
    "RegistryConfig",
    "RegistryStats",
    "Reply",
    "Repository",
    "Response",
    "StaticCredentials",
    "StatsHook",
    "Ticket",
    "TokenBucket",
    "Transport",
    "Window",
    "backoff_delay",
    "ecr_action",
    "ecr_rates",
    "error_for_response",
    "next_link",
    "paginate",
    "parse_challenges",
    "parse_error_body",
    "parse_quota",
    "parse_retry_after",
    "parse_user_pass",
    "pick_challenge",
    "pull_scope",
    "push_scope",
]
