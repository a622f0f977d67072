"""A loopback stand-in for Amazon ECR: its control-plane API and, per account and
region, a real registry behind ECR's registry rules.

Used by the tests and ``ferry demo``; AWS itself is never reached. moto is not
used because its ECR fakes digests that do not match the manifests.

Control plane
    One aiohttp server speaking ECR's JSON 1.1 protocol (``POST /`` with
    ``X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.<Action>``), reached by
    boto3 through ``AWS_ENDPOINT_URL_ECR``. The region is read from the SigV4
    credential scope of the ``Authorization`` header and the account from
    ``registryId`` (or ``registryIds``) or from the access key, through
    ``account_for_key``. Signatures are not checked.

Data plane
    For each (account, region) a real ``docker-registry`` (:class:`LocalRegistry`
    with htpasswd auth, its password known only to the stand-in) and, in front of
    it, the stand-in's own listener on its own loopback port. The front:

    * accepts only Basic ``AWS:<token>`` with a token from GetAuthorizationToken
      for that account and region, not expired (401 with a Basic challenge
      otherwise, as ECR does);
    * refuses every request to a repository that CreateRepository did not create
      (404 ``NAME_UNKNOWN``, as ECR does, since ECR never creates on push);
    * refuses moving an existing tag of an IMMUTABLE repository to another digest
      (400 ``TAG_INVALID`` with ECR's wording);
    * records every manifest pushed (digest, tags, media type, size, time), which
      is what DescribeImages and ListImages report;
    * streams everything else through to the backing registry, chunk by chunk
      (no blob is held in memory), rewriting ``Location`` headers.

The stand-in's state lives in memory on its own event loop thread; the public
methods are safe to call from any thread.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from imageferry.ecr.hosts import registry_host
from imageferry.sandbox.lifecycle import Service
from stand_ins.registry import LocalRegistry, SandboxError

__all__ = ["DEFAULT_ACCOUNT", "DEFAULT_REGION", "Call", "EcrStandIn"]

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
TOKEN_LIFETIME = 12 * 3600.0
_TARGET_PREFIX = "AmazonEC2ContainerRegistry_V20150921."
_JSON = "application/x-amz-json-1.1"
_SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([a-z0-9-]+)/")
_REPO_PATH = re.compile(r"^/v2/(?P<name>.+?)/(?P<kind>blobs|manifests|tags|referrers)(?:/|$)")
_REPOSITORY_NAME = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*")
_MANIFEST_PATH = re.compile(r"^/v2/.+?/manifests/(?P<ref>[^/]+)$")
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "authorization",
}
_MAX_MANIFEST = 4 << 20
_CHUNK = 1 << 16
_PAGE_DEFAULT = 100
_PAGE_MAX = 1000

T = TypeVar("T")


class Call(NamedTuple):
    """One control-plane call as the stand-in saw it."""

    action: str
    access_key_id: str
    region: str


class _AwsFault(Exception):
    """An ECR API error: ``code`` becomes the JSON body's ``__type``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class _Image:
    digest: str
    media_type: str
    size: int
    pushed_at: float
    tags: list[str] = field(default_factory=list)


@dataclass
class _Repository:
    name: str
    account: str
    region: str
    created_at: float
    mutability: str
    scan_on_push: bool
    encryption: dict[str, str]
    images: dict[str, _Image] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def describe(self, host: str) -> dict[str, Any]:
        return {
            "repositoryArn": f"arn:aws:ecr:{self.region}:{self.account}:repository/{self.name}",
            "registryId": self.account,
            "repositoryName": self.name,
            "repositoryUri": f"{host}/{self.name}",
            "createdAt": self.created_at,
            "imageTagMutability": self.mutability,
            "imageScanningConfiguration": {"scanOnPush": self.scan_on_push},
            "encryptionConfiguration": dict(self.encryption),
        }


@dataclass
class _Registry:
    """One (account, region): its backing registry, front listener, tokens, repos."""

    account: str
    region: str
    backing: LocalRegistry
    backing_password: str
    runner: web.AppRunner | None = None
    port: int = 0
    tokens: dict[str, float] = field(default_factory=dict)
    repositories: dict[str, _Repository] = field(default_factory=dict)

    @property
    def host(self) -> str:
        return registry_host(self.account, self.region)

    @property
    def backing_auth(self) -> dict[str, str]:
        raw = base64.b64encode(f"AWS:{self.backing_password}".encode()).decode()
        return {"Authorization": f"Basic {raw}"}

    @property
    def front(self) -> str:
        return f"127.0.0.1:{self.port}"


def _page(items: list[T], body: Mapping[str, Any]) -> tuple[list[T], dict[str, Any]]:
    """One page of ``items`` per ``maxResults``/``nextToken`` (opaque offset)."""
    size = int(body.get("maxResults") or _PAGE_DEFAULT)
    if not 1 <= size <= _PAGE_MAX:
        raise _AwsFault("InvalidParameterException", f"maxResults must be 1-{_PAGE_MAX}")
    start = 0
    token = body.get("nextToken")
    if token:
        try:
            start = int(base64.urlsafe_b64decode(str(token)).decode())
        except ValueError as e:
            raise _AwsFault("InvalidParameterException", "invalid nextToken") from e
    chunk = items[start : start + size]
    extra: dict[str, Any] = {}
    if start + size < len(items):
        extra["nextToken"] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
    return chunk, extra


def _image_size(body: bytes, known: Mapping[str, _Image]) -> int:
    """ECR reports an image's size as its config plus layers (compressed)."""
    try:
        manifest = json.loads(body)
    except ValueError:
        return len(body)
    if not isinstance(manifest, dict):
        return len(body)
    if "layers" in manifest:
        parts = [manifest.get("config") or {}, *manifest["layers"]]
        return sum(int(p.get("size", 0)) for p in parts if isinstance(p, dict))
    children = manifest.get("manifests") or []
    return sum(
        known[c["digest"]].size
        for c in children
        if isinstance(c, dict) and c.get("digest") in known
    )


def _registry_error(status: int, code: str, message: str, **headers: str) -> web.Response:
    body = {"errors": [{"code": code, "message": message, "detail": None}]}
    return web.json_response(body, status=status, headers=headers)


class EcrStandIn(Service):
    """The ECR stand-in. Use as a context manager, or call start()/stop().

    ``account_for_key`` maps AWS access key ids to accounts (cross-account
    tests give each side its own keys); unknown keys belong to
    ``default_account``. ``revoked_keys`` are access keys AWS would not
    accept (every call with them fails with UnrecognizedClientException).
    ``clock`` (epoch seconds) decides token expiry, so a test can make tokens
    expire without waiting 12 hours.
    """

    def __init__(
        self,
        *,
        account_for_key: Mapping[str, str] | None = None,
        default_account: str = DEFAULT_ACCOUNT,
        default_region: str = DEFAULT_REGION,
        revoked_keys: Collection[str] = (),
        token_lifetime: float = TOKEN_LIFETIME,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._account_for_key = dict(account_for_key or {})
        self._revoked_keys = frozenset(revoked_keys)
        self._calls: list[Call] = []
        self._default_account = default_account
        self._default_region = default_region
        self._token_lifetime = token_lifetime
        self._clock = clock
        self._registries: dict[tuple[str, str], _Registry] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._lock: asyncio.Lock | None = None
        self._port = 0
        self._counts: Counter[str] = Counter()
        self._counts_lock = threading.Lock()

    def __repr__(self) -> str:
        state = f"endpoint_url={self.endpoint_url!r}" if self._port else "stopped"
        return f"EcrStandIn({state}, registries={len(self._registries)})"

    # -- public API ------------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        """The control-plane URL, for ``AWS_ENDPOINT_URL_ECR``."""
        if not self._port:
            raise SandboxError("the ECR stand-in has not been started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def call_counts(self) -> Counter[str]:
        """How often each API action was called (a copy)."""
        with self._counts_lock:
            return Counter(self._counts)

    @property
    def calls(self) -> list[Call]:
        """Every API call so far: action, access key id and region (in order)."""
        with self._counts_lock:
            return list(self._calls)

    def reset_counts(self) -> None:
        with self._counts_lock:
            self._counts.clear()
            self._calls.clear()

    @staticmethod
    def registry_name(account_id: str, region: str) -> str:
        """The real ECR host name of the registry of ``account_id`` in ``region``."""
        return registry_host(account_id, region)

    def ensure_account(
        self, account_id: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION
    ) -> str:
        """Start the registry of (account, region) if needed; its data plane host:port."""
        registry = self._run(self._registry(account_id, region))
        return registry.front

    def mirrors(self) -> dict[str, str]:
        """ECR host → loopback data plane, for ``RegistryConfig(mirrors=...)``."""
        return {r.host: r.front for r in list(self._registries.values())}

    def aliases(self) -> dict[str, str]:
        """Loopback data plane → ECR host (the reverse of :meth:`mirrors`), for
        ``EcrCredentialProvider(aliases=...)``: the registry client asks for
        credentials by the host it speaks to."""
        return {front: host for host, front in self.mirrors().items()}

    def backing_registry(self, account_id: str, region: str) -> LocalRegistry:
        """The docker-registry behind (account, region), for white-box checks."""
        return self._run(self._registry(account_id, region)).backing

    def start(self) -> EcrStandIn:
        if self._thread is not None:
            return self
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="ecr-stand-in", daemon=True)
        self._thread.start()
        try:
            self._run(self._start_control_plane())
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            self._run(self._shutdown())
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()
            self._loop = self._thread = None
            self._port = 0
            for registry in self._registries.values():
                registry.backing.stop()
            self._registries.clear()

    # -- plumbing ----------------------------------------------------------------

    def _run(self, coroutine: Awaitable[T]) -> T:
        if self._loop is None:
            raise SandboxError("the ECR stand-in has not been started")
        future: Future[T] = asyncio.run_coroutine_threadsafe(_as_coroutine(coroutine), self._loop)
        return future.result(timeout=60)

    async def _start_control_plane(self) -> None:
        self._lock = asyncio.Lock()
        self._session = aiohttp.ClientSession(auto_decompress=False)
        app = web.Application(client_max_size=_MAX_MANIFEST)
        app.router.add_post("/", self._control_plane)
        self._runner, self._port = await _serve(app)

    async def _shutdown(self) -> None:
        for registry in self._registries.values():
            if registry.runner is not None:
                await registry.runner.cleanup()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _registry(self, account: str, region: str) -> _Registry:
        assert self._lock is not None
        async with self._lock:
            key = (account, region)
            registry = self._registries.get(key)
            if registry is not None:
                return registry
            password = secrets.token_urlsafe(24)
            backing = LocalRegistry(auth="htpasswd", users={"AWS": password})
            await asyncio.to_thread(backing.start)
            registry = _Registry(account, region, backing, password)
            app = web.Application(client_max_size=_MAX_MANIFEST)
            app.router.add_route("*", "/{tail:.*}", self._data_plane_handler(registry))
            registry.runner, registry.port = await _serve(app)
            self._registries[key] = registry
            return registry

    # -- control plane -------------------------------------------------------------

    async def _control_plane(self, request: web.Request) -> web.Response:
        target = request.headers.get("X-Amz-Target", "")
        action = target.removeprefix(_TARGET_PREFIX)
        with self._counts_lock:
            self._counts[action] += 1
        handler = _ACTIONS.get(action)
        try:
            if not target.startswith(_TARGET_PREFIX) or handler is None:
                raise _AwsFault("UnknownOperationException", f"unknown operation {target!r}")
            raw = await request.read()
            body = json.loads(raw) if raw else {}
            if not isinstance(body, dict):
                raise _AwsFault("SerializationException", "the request body is not an object")
            access_key, region = self._caller(request)
            with self._counts_lock:
                self._calls.append(Call(action, access_key, region))
            if access_key in self._revoked_keys:
                raise _AwsFault(
                    "UnrecognizedClientException",
                    "The security token included in the request is invalid.",
                )
            result = await handler(self, body, access_key, region)
        except _AwsFault as fault:
            return web.json_response(
                {"__type": fault.code, "message": fault.message},
                status=400,
                content_type=_JSON,
            )
        return web.json_response(result, content_type=_JSON)

    def _caller(self, request: web.Request) -> tuple[str, str]:
        match = _SCOPE.search(request.headers.get("Authorization", ""))
        if match is None:
            raise _AwsFault(
                "MissingAuthenticationTokenException", "the request is not SigV4 signed"
            )
        return match[1], match[2] or self._default_region

    def _account(self, body: Mapping[str, Any], access_key: str) -> str:
        registry_id = body.get("registryId")
        if registry_id:
            return str(registry_id)
        return self._account_for_key.get(access_key, self._default_account)

    async def _repository(self, body: Mapping[str, Any], key: str, region: str) -> _Repository:
        registry = await self._registry(self._account(body, key), region)
        name = str(body.get("repositoryName") or "")
        repo = registry.repositories.get(name)
        if repo is None:
            raise _AwsFault(
                "RepositoryNotFoundException",
                f"The repository with name '{name}' does not exist in the registry "
                f"with id '{registry.account}'",
            )
        return repo

    async def _get_authorization_token(
        self, body: Mapping[str, Any], key: str, region: str
    ) -> dict[str, Any]:
        ids = body.get("registryIds") or [self._account({}, key)]
        data = []
        for account in ids:
            registry = await self._registry(str(account), region)
            token = secrets.token_urlsafe(32)
            expires = self._clock() + self._token_lifetime
            registry.tokens[token] = expires
            data.append(
                {
                    "authorizationToken": base64.b64encode(f"AWS:{token}".encode()).decode(),
                    "expiresAt": expires,
                    "proxyEndpoint": f"https://{registry.host}",
                }
            )
        return {"authorizationData": data}

    async def _create_repository(
        self, body: Mapping[str, Any], key: str, region: str
    ) -> dict[str, Any]:
        registry = await self._registry(self._account(body, key), region)
        name = str(body.get("repositoryName") or "")
        if not re.fullmatch(
            r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*", name
        ):
            raise _AwsFault("InvalidParameterException", f"invalid repository name {name!r}")
        if name in registry.repositories:
            raise _AwsFault(
                "RepositoryAlreadyExistsException",
                f"The repository with name '{name}' already exists in the registry "
                f"with id '{registry.account}'",
            )
        mutability = str(body.get("imageTagMutability") or "MUTABLE")
        if mutability not in ("MUTABLE", "IMMUTABLE"):
            raise _AwsFault("InvalidParameterException", f"invalid imageTagMutability {mutability}")
        encryption = dict(body.get("encryptionConfiguration") or {"encryptionType": "AES256"})
        if encryption.get("encryptionType") not in ("AES256", "KMS"):
            raise _AwsFault("InvalidParameterException", "invalid encryptionType")
        scanning = body.get("imageScanningConfiguration") or {}
        repo = _Repository(
            name=name,
            account=registry.account,
            region=registry.region,
            created_at=self._clock(),
            mutability=mutability,
            scan_on_push=bool(scanning.get("scanOnPush", False)),
            encryption={k: str(v) for k, v in encryption.items()},
        )
        registry.repositories[name] = repo
        return {"repository": repo.describe(registry.host)}

    async def _describe_repositories(
        self, body: Mapping[str, Any], key: str, region: str
    ) -> dict[str, Any]:
        registry = await self._registry(self._account(body, key), region)
        names = body.get("repositoryNames")
        if names:
            missing = [n for n in names if n not in registry.repositories]
            if missing:
                raise _AwsFault(
                    "RepositoryNotFoundException",
                    f"The repository with name '{missing[0]}' does not exist in the registry "
                    f"with id '{registry.account}'",
                )
            repos = [registry.repositories[n] for n in names]
        else:
            repos = list(registry.repositories.values())
        page, extra = _page(repos, body)
        return {"repositories": [r.describe(registry.host) for r in page], **extra}

    async def _put_image_tag_mutability(
        self, body: Mapping[str, Any], key: str, region: str
    ) -> dict[str, Any]:
        repo = await self._repository(body, key, region)
        repo.mutability = str(body.get("imageTagMutability") or "MUTABLE")
        return {
            "registryId": repo.account,
            "repositoryName": repo.name,
            "imageTagMutability": repo.mutability,
        }

    def _select_images(self, repo: _Repository, body: Mapping[str, Any]) -> list[_Image]:
        status = str((body.get("filter") or {}).get("tagStatus") or "ANY")
        images = list(repo.images.values())
        if status == "TAGGED":
            return [i for i in images if i.tags]
        if status == "UNTAGGED":
            return [i for i in images if not i.tags]
        return images

    def _by_ids(
        self, repo: _Repository, ids: list[Mapping[str, str]]
    ) -> tuple[list[_Image], list[dict[str, Any]]]:
        found: list[_Image] = []
        failures: list[dict[str, Any]] = []
        for image_id in ids:
            digest = image_id.get("imageDigest") or repo.tags.get(image_id.get("imageTag", ""))
            image = repo.images.get(digest or "")
            if image is None:
                failures.append(
                    {
                        "imageId": dict(image_id),
                        "failureCode": "ImageNotFound",
                        "failureReason": "Requested image not found",
                    }
                )
            elif image not in found:
                found.append(image)
        return found, failures

    async def _describe_images(
        self, body: Mapping[str, Any], key: str, region: str
    ) -> dict[str, Any]:
        repo = await self._repository(body, key, region)
        ids = body.get("imageIds")
        if ids:
            images, failures = self._by_ids(repo, list(ids))
            if failures:
                raise _AwsFault(
                    "ImageNotFoundException",
                    f"The image with imageId {failures[0]['imageId']} does not exist within "
                    f"the repository with name '{repo.name}' in the registry with id "
                    f"'{repo.account}'",
                )
            extra: dict[str, Any] = {}
        else:
            images, extra = _page(self._select_images(repo, body), body)
        details = []
        for image in images:
            detail: dict[str, Any] = {
                "registryId": repo.account,
                "repositoryName": repo.name,
                "imageDigest": image.digest,
                "imageSizeInBytes": image.size,
                "imagePushedAt": image.pushed_at,
                "imageManifestMediaType": image.media_type,
            }
            if image.tags:
                detail["imageTags"] = list(image.tags)
            details.append(detail)
        return {"imageDetails": details, **extra}

    async def _list_images(self, body: Mapping[str, Any], key: str, region: str) -> dict[str, Any]:
        repo = await self._repository(body, key, region)
        pairs: list[dict[str, str]] = []
        for image in self._select_images(repo, body):
            if image.tags:
                pairs.extend({"imageDigest": image.digest, "imageTag": t} for t in image.tags)
            else:
                pairs.append({"imageDigest": image.digest})
        page, extra = _page(pairs, body)
        return {"imageIds": page, **extra}

    async def _batch_get_image(
        self, body: Mapping[str, Any], key: str, region: str
    ) -> dict[str, Any]:
        repo = await self._repository(body, key, region)
        registry = await self._registry(repo.account, repo.region)
        images, failures = self._by_ids(repo, list(body.get("imageIds") or []))
        out = []
        for image in images:
            manifest = await self._backing_get(
                registry, f"/v2/{repo.name}/manifests/{image.digest}", image.media_type
            )
            out.append(
                {
                    "registryId": repo.account,
                    "repositoryName": repo.name,
                    "imageId": {"imageDigest": image.digest},
                    "imageManifest": manifest.decode(),
                    "imageManifestMediaType": image.media_type,
                }
            )
        return {"images": out, "failures": failures}

    async def _batch_check_layer_availability(
        self, body: Mapping[str, Any], key: str, region: str
    ) -> dict[str, Any]:
        repo = await self._repository(body, key, region)
        registry = await self._registry(repo.account, repo.region)
        digests = list(body.get("layerDigests") or [])
        if not 1 <= len(digests) <= 100:
            raise _AwsFault("InvalidParameterException", "layerDigests must hold 1-100 digests")
        assert self._session is not None
        session = self._session

        async def check(digest: str) -> tuple[str, int | None]:
            async with session.head(
                f"{registry.backing.url}/v2/{repo.name}/blobs/{digest}",
                headers=registry.backing_auth,
            ) as response:
                if response.status != 200:
                    return digest, None
                return digest, int(response.headers.get("Content-Length", "0"))

        layers: list[dict[str, Any]] = []
        failures: list[dict[str, Any]] = []
        for digest, size in await asyncio.gather(*(check(d) for d in digests)):
            if size is None:
                failures.append(
                    {
                        "layerDigest": digest,
                        "failureCode": "MissingLayerDigest",
                        "failureReason": "Requested layer is not available",
                    }
                )
            else:
                layers.append(
                    {"layerDigest": digest, "layerAvailability": "AVAILABLE", "layerSize": size}
                )
        return {"layers": layers, "failures": failures}

    async def _backing_get(self, registry: _Registry, path: str, accept: str) -> bytes:
        assert self._session is not None
        async with self._session.get(
            registry.backing.url + path,
            headers={"Accept": accept, **registry.backing_auth},
        ) as response:
            if response.status != 200:
                raise _AwsFault("ServerException", f"backing registry answered {response.status}")
            return await response.read()

    # -- data plane -----------------------------------------------------------------

    def _data_plane_handler(
        self, registry: _Registry
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await self._data_plane(registry, request)

        return handle

    def _authorized(self, registry: _Registry, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, token = base64.b64decode(value.strip()).decode().partition(":")
        except ValueError:
            return False
        expiry = registry.tokens.get(token)
        return user == "AWS" and expiry is not None and self._clock() < expiry

    async def _data_plane(self, registry: _Registry, request: web.Request) -> web.StreamResponse:
        if not self._authorized(registry, request):
            return _registry_error(
                401,
                "UNAUTHORIZED",
                "Not Authorized",
                **{
                    "WWW-Authenticate": f'Basic realm="https://{registry.host}/",service="ecr.amazonaws.com"',
                    "Docker-Distribution-API-Version": "registry/2.0",
                },
            )
        path = request.path
        if path in ("/v2", "/v2/"):
            return await self._proxy(registry, request)
        match = _REPO_PATH.match(path)
        if match is None:
            # ECR has no _catalog; list repositories with DescribeRepositories.
            return _registry_error(404, "UNSUPPORTED", f"{path} is not supported by ECR")
        repo = registry.repositories.get(match["name"])
        if repo is None:
            return _registry_error(
                404,
                "NAME_UNKNOWN",
                f"The repository with name '{match['name']}' does not exist in the registry "
                f"with id '{registry.account}'",
            )
        if match["kind"] == "tags" and request.method == "GET" and not repo.tags:
            # A created repository exists before its first push; the backing
            # registry would call it unknown.
            return web.json_response({"name": repo.name, "tags": []})
        manifest = _MANIFEST_PATH.match(path) if match["kind"] == "manifests" else None
        if manifest is not None and request.method == "PUT":
            return await self._put_manifest(registry, repo, manifest["ref"], request)
        response = await self._proxy(registry, request)
        if manifest is not None and request.method == "DELETE" and response.status == 202:
            _forget(repo, manifest["ref"])
        return response

    async def _put_manifest(
        self, registry: _Registry, repo: _Repository, ref: str, request: web.Request
    ) -> web.StreamResponse:
        body = await request.read()
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        is_tag = not ref.startswith("sha256:")
        if is_tag and repo.mutability == "IMMUTABLE" and repo.tags.get(ref, digest) != digest:
            return _registry_error(
                400,
                "TAG_INVALID",
                f"The image tag '{ref}' already exists in the '{repo.name}' repository and "
                "cannot be overwritten because the repository is immutable.",
            )
        response = await self._proxy(registry, request, body=body)
        if response.status == 201:
            media_type = request.headers.get("Content-Type", "")
            image = repo.images.get(digest)
            if image is None:
                image = _Image(digest, media_type, _image_size(body, repo.images), self._clock())
                repo.images[digest] = image
            if is_tag:
                old = repo.tags.get(ref)
                if old is not None and old != digest and old in repo.images:
                    repo.images[old].tags.remove(ref)
                repo.tags[ref] = digest
                if ref not in image.tags:
                    image.tags.append(ref)
        return response

    async def _proxy(
        self, registry: _Registry, request: web.Request, *, body: bytes | None = None
    ) -> web.StreamResponse:
        """Stream ``request`` to the backing registry and its answer back."""
        assert self._session is not None
        # Multi-valued headers (skopeo sends one Accept per media type) must survive.
        headers = CIMultiDict(
            (k, v) for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP
        )
        headers.update(registry.backing_auth)
        data: Any = body
        if body is None and request.body_exists:
            data = request.content
        backing_url = registry.backing.url
        async with self._session.request(
            request.method,
            backing_url + request.path_qs,
            headers=headers,
            data=data,
            allow_redirects=False,
            skip_auto_headers=("Content-Type", "Accept-Encoding", "User-Agent"),
        ) as upstream:
            out_headers = CIMultiDict(
                (k, v)
                for k, v in upstream.headers.items()
                if k.lower() not in _HOP_BY_HOP and k.lower() != "www-authenticate"
            )
            location = out_headers.get("Location")
            if location and location.startswith(backing_url):
                out_headers["Location"] = f"http://{registry.front}" + location[len(backing_url) :]
            response = web.StreamResponse(status=upstream.status, headers=out_headers)
            await response.prepare(request)
            if request.method != "HEAD":
                async for chunk in upstream.content.iter_chunked(_CHUNK):
                    await response.write(chunk)
            await response.write_eof()
            return response


def _forget(repo: _Repository, ref: str) -> None:
    digest = ref if ref.startswith("sha256:") else repo.tags.get(ref)
    image = repo.images.pop(digest or "", None)
    if image is not None:
        for tag in image.tags:
            repo.tags.pop(tag, None)


async def _as_coroutine(awaitable: Awaitable[T]) -> T:
    return await awaitable


async def _serve(app: web.Application) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = int(runner.addresses[0][1])
    return runner, port


_Handler = Callable[[EcrStandIn, Mapping[str, Any], str, str], Awaitable[dict[str, Any]]]
_ACTIONS: dict[str, _Handler] = {
    "GetAuthorizationToken": EcrStandIn._get_authorization_token,
    "CreateRepository": EcrStandIn._create_repository,
    "DescribeRepositories": EcrStandIn._describe_repositories,
    "PutImageTagMutability": EcrStandIn._put_image_tag_mutability,
    "DescribeImages": EcrStandIn._describe_images,
    "ListImages": EcrStandIn._list_images,
    "BatchGetImage": EcrStandIn._batch_get_image,
    "BatchCheckLayerAvailability": EcrStandIn._batch_check_layer_availability,
}
