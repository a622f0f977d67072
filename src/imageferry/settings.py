"""Configuration: the one place that reads the environment.

Every setting has an environment variable ``FERRY_<NAME>`` (e.g.
``FERRY_DATABASE_URL``). Components receive a :class:`Settings` value; they
never read ``os.environ`` themselves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from platformdirs import user_data_path
from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from imageferry.errors import ConfigError

__all__ = ["Settings", "load_settings"]


def _default_data_dir() -> Path:
    return user_data_path("imageferry", appauthor=False)


class Settings(BaseSettings):
    """imageferry's configuration, from ``FERRY_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="FERRY_", extra="ignore", frozen=True)

    #: Where the SQLite store, the local secret store and artifacts live.
    data_dir: Path = Field(default_factory=_default_data_dir)
    #: SQLAlchemy URL; empty means SQLite at ``<data_dir>/imageferry.db``.
    #: Postgres: ``postgresql+psycopg://user:pass@host/db``.
    database_url: str = ""
    #: ``local`` (encrypted file under data_dir) or ``aws`` (AWS Secrets Manager).
    secret_backend: Literal["local", "aws"] = "local"
    #: AWS region for Secrets Manager, SNS and the default ECR region.
    aws_region: str = "us-east-1"
    #: ``none``, ``smtp`` or ``sns``: how alarm e-mails are sent.
    alarm_backend: Literal["none", "smtp", "sns"] = "none"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = False
    smtp_sender: str = "imageferry@localhost"
    #: SNS topic name created (or reused) for alarms when alarm_backend is ``sns``.
    sns_topic_name: str = "imageferry-alarms"
    #: Registries allowed over plain HTTP / unverified TLS besides loopback (comma list).
    insecure_registries: str = ""
    #: Registry remapping ``name=location`` pairs, comma separated (like registries.conf).
    registry_mirrors: str = ""
    #: ``ferry serve`` bind address.
    host: str = "127.0.0.1"
    port: int = 8080
    #: Password for the admin account created on first start (else one is generated).
    admin_password: SecretStr = SecretStr("")
    #: ``local`` (runs copy inside ``ferry serve``) or ``celery`` (``ferry worker``s copy).
    executor: Literal["local", "celery"] = "local"
    #: The Celery broker for ``executor=celery``, e.g. ``redis://127.0.0.1:6379/0``.
    broker_url: SecretStr = SecretStr("")
    #: The Celery queue runs' batches go to (``ferry worker --queues``).
    queue: str = "ferry"
    #: Units per batch at most (a batch is one source repository's images, or a slice).
    batch_size: int = Field(default=50, ge=1)
    #: Seconds before the broker hands an unacknowledged batch (its worker died) to
    #: another worker; longer than the slowest batch, or batches run twice (harmlessly).
    broker_visibility_timeout: int = Field(default=3600, ge=1)
    #: Runs of each task ``ferry task prune`` keeps (with their results and logs); 0: all.
    keep_runs: int = Field(default=0, ge=0)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'imageferry.db'}"

    @property
    def insecure_set(self) -> frozenset[str]:
        return frozenset(h.strip() for h in self.insecure_registries.split(",") if h.strip())

    @property
    def mirror_map(self) -> dict[str, str]:
        pairs = (p.split("=", 1) for p in self.registry_mirrors.split(",") if "=" in p)
        return {k.strip(): v.strip() for k, v in pairs}


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (e.g. from CLI flags).

    A value that does not validate is a ConfigError naming each variable and what it
    should be (never the value: it may be a password).
    """
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as e:
        problems = "; ".join(
            f"FERRY_{str(err['loc'][0]).upper()}: {err['msg']}" for err in e.errors() if err["loc"]
        )
        raise ConfigError(f"invalid configuration in {problems or 'FERRY_* variables'}") from None
