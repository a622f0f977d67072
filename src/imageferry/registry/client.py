"""The registry client: one aiohttp session, many repositories.

``RegistryClient`` owns the :class:`~imageferry.registry.transport.Transport`
(and through it the connection pool, the token cache and the per-registry
limits) that every :class:`~imageferry.registry.repository.Repository` it
hands out shares. Use it as an async context manager, or call :meth:`aclose`.
"""

from __future__ import annotations

from types import TracebackType

import aiohttp

from imageferry.registry.config import RegistryConfig
from imageferry.registry.credentials import CredentialProvider
from imageferry.registry.pagination import paginate
from imageferry.registry.repository import Repository
from imageferry.registry.stats import StatsHook
from imageferry.registry.transport import Transport

__all__ = ["CATALOG_SCOPE", "RegistryClient"]

#: Token scope for ``GET /v2/_catalog`` (distribution token scope documentation).
CATALOG_SCOPE = "registry:catalog:*"


class RegistryClient:
    """Talks to any number of registries with shared connections and auth state.

    ``session`` may be injected (its owner closes it); ``stats`` receives a
    report per request and per retry (default: a
    :class:`~imageferry.registry.stats.RegistryStats`). ``chunk_size`` makes
    every upload chunked in parts of that size (for registries such as ECR
    that need it).
    """

    def __init__(
        self,
        config: RegistryConfig | None = None,
        credentials: CredentialProvider | None = None,
        *,
        session: aiohttp.ClientSession | None = None,
        stats: StatsHook | None = None,
        chunk_size: int | None = None,
        transport: Transport | None = None,
    ) -> None:
        self.transport = transport or Transport(config, credentials, session=session, stats=stats)
        self._chunk_size = chunk_size

    @property
    def config(self) -> RegistryConfig:
        return self.transport.config

    @property
    def stats(self) -> StatsHook:
        return self.transport.stats

    async def __aenter__(self) -> RegistryClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.transport.aclose()

    def repository(self, registry: str, repository: str) -> Repository:
        return Repository(self.transport, registry, repository, chunk_size=self._chunk_size)

    async def list_tags(
        self, registry: str, repository: str, *, page_size: int | None = None
    ) -> list[str]:
        """Every tag of ``registry/repository``, following pagination."""
        return await self.repository(registry, repository).list_tags(page_size=page_size)

    async def catalog(self, registry: str, *, page_size: int | None = None) -> list[str]:
        """Every repository the registry lists in ``/v2/_catalog``, following pagination."""
        return await paginate(
            self.transport,
            registry,
            f"{self.transport.base_url(registry)}/v2/_catalog",
            "repositories",
            what=f"listing repositories of {registry}",
            scopes=(CATALOG_SCOPE,),
            page_size=page_size,
        )
