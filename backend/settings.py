"""One settings class, read from `AVLABEL_*` environment variables and an optional TOML/JSON file.

Built inside `create_app` or the CLI, never at import time.
"""

from __future__ import annotations

import ipaddress
import json
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PLACEHOLDER_SECRETS = {"", "changethis", "change-me", "dev", "development", "secret"}
# The secret of a fresh development install, generated at first run (backend/private_files.py).
SECRET_FILE = "secret.key"  # noqa: S105 - a file name, not a secret


class SettingsError(ValueError):
    """The configuration cannot be used; the message says which setting and why."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AVLABEL_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path("avlabel-data")
    # Empty means the embedded SQLite database under data_dir; postgresql://… for shared deployments.
    database_url: str = Field(default="", validation_alias="DATABASE_URL")
    redis_url: str = Field(default="", validation_alias="REDIS_URL")
    redis_prefix: str = "avlabel:"
    # Empty in development: a random secret is generated at first run into data_dir/secret.key (0600).
    secret_key: SecretStr = SecretStr("")
    public_url: str = "http://127.0.0.1:8000"

    # Signing identity: PEM paths for production; empty means the development CA under data_dir/keys.
    signing_key: Path | None = None
    signing_chain: Path | None = None
    trust_anchors: list[Path] = Field(default_factory=list)

    max_upload_bytes: int = 512 * 1024 * 1024
    max_image_pixels: int = 80_000_000
    max_json_bytes: int = Field(default=64 * 1024, ge=1024)  # a JSON body, counted while it arrives
    # Slow clients: a request body silent this long gets 408; the request line and headers must arrive
    # within header_timeout_seconds (and be at most max_header_bytes); idle keep-alive connections close.
    body_read_timeout_seconds: float = Field(default=30.0, gt=0)
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    max_header_bytes: int = Field(default=64 * 1024, ge=4096)
    keep_alive_seconds: int = Field(default=5, ge=1)
    verify_rate_per_minute: int = 120
    report_rate_per_hour: int = 30
    report_rate_per_content_hour: int = 300
    restricted_signings_per_hour: int = 10  # Art. 14 feature limit for restricted publishers
    label_cache_seconds: int = 5
    audit_retention_days: int = Field(default=180, ge=180)
    case_ack_hours: float = 24.0
    case_decide_hours: float = 72.0
    async_verify_bytes: int = 20 * 1024 * 1024
    # Audio and video above this are queued too: their analysis grows with duration, and size is the
    # duration proxy known before any untrusted demuxing (8 MiB ≈ 30 s of 720p H.264, 8 min of MP3).
    async_verify_av_bytes: int = 8 * 1024 * 1024
    job_workers: int = Field(default=1, ge=0)  # in-process job consumers per server process
    job_timeout_seconds: float = Field(default=600.0, gt=0)  # wall clock per analysis
    job_memory_bytes: int = Field(default=4 * 1024**3, gt=0)  # RLIMIT_AS of the analysis process
    job_max_deliveries: int = Field(default=3, ge=1)  # a job handed out more often fails as poison
    job_claim_idle_seconds: float = Field(default=60.0, gt=0)  # silence before another worker takes over
    # Backlog quotas on queued (and running) jobs: per client (API key's account, else address) and overall.
    job_queue_per_client: int = Field(default=8, ge=1)
    job_queue_max: int = Field(default=100, ge=1)
    job_disk_per_client_bytes: int = Field(default=2 * 1024**3, gt=0)
    job_disk_bytes: int = Field(default=16 * 1024**3, gt=0)
    # Test knobs, ignored in production: make the analysis step slow or memory-hungry on purpose.
    test_job_delay_seconds: float = 0.0
    test_job_allocate_bytes: int = 0
    plugin_dist: Path = Path(__file__).resolve().parent.parent / "player_plugin" / "dist"
    models_dir: Path = Path(__file__).resolve().parent.parent / "detectors" / "models"
    demo: bool = False
    complaint_contact: str = ""
    # The rules statements of reasons cite (backend/policy_catalogue.py); empty: manifests/policy_catalogue.json.
    policy_catalogue: Path | None = None
    appeal_days: int = Field(default=180, ge=180)  # how long a decision can be appealed (DSA Art. 20: six months)
    webhook_timeout_seconds: float = 5.0
    # Start-up sweep: scratch folders and unregistered media older than this are left by a dead process.
    sweep_age_seconds: float = Field(default=600.0, ge=0)
    webhook_max_attempts: int = Field(default=5, ge=1)  # then the delivery is marked failed
    webhook_retry_base_seconds: float = Field(default=2.0, gt=0)  # backoff base * 2**(attempt-1)
    webhook_retry_max_seconds: float = Field(default=900.0, gt=0)  # cap on one backoff step
    webhook_poll_seconds: float = Field(default=1.0, gt=0)  # how often the loop looks for due deliveries
    # Outbound requests (webhooks): development allows http and loopback/private targets for local receivers.
    outbound_allow_private: bool | None = None  # None: allowed in development only
    outbound_max_response_bytes: int = Field(default=64 * 1024, gt=0)
    # Reverse proxies whose X-Forwarded-For is believed (CIDRs); everyone else is the client itself.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)  # "10.0.0.0/8,::1"
    login_rate_per_account: int = Field(default=10, ge=1)  # console sign-in attempts per account per 15 min
    login_rate_per_address: int = Field(default=10, ge=1)  # console sign-in and code attempts per client per minute
    console_session_hours: float = Field(default=8.0, gt=0)
    frame_ancestors: str = "'none'"  # CSP frame-ancestors of every page
    audit_checkpoint_every: int = Field(default=100, ge=1)  # a signed checkpoint every N audit entries
    # The stream monitor (`avlabel monitor`, backend/streams/): sampling rate and its limits.
    monitor_sample_seconds: float = Field(default=2.0, gt=0)  # one keyframe hashed per this much stream time
    monitor_audio_window_seconds: float = Field(default=10.0, ge=2)  # audio fingerprinted in windows this long
    monitor_detectors_every_seconds: float = Field(default=30.0, ge=0)  # full detector suite; 0: never
    monitor_stall_seconds: float = Field(default=20.0, gt=0)  # a live playlist silent this long is noted
    monitor_give_up_seconds: float = Field(default=600.0, gt=0)  # then the stream is treated as ended
    monitor_claim_idle_seconds: float = Field(default=15.0, gt=0)  # silence before another monitor takes over
    monitor_max_segment_bytes: int = Field(default=32 * 1024 * 1024, gt=0)
    # Playlists and segments are fetched through backend/outbound.py: public https addresses only, unless
    # this is set (tests and local development: loopback and private addresses, and http). Never implied.
    monitor_allow_private: bool = False

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        if self.environment != "development":
            secret = self.secret_key.get_secret_value()
            if secret in PLACEHOLDER_SECRETS or len(secret) < 32:
                raise SettingsError(
                    "AVLABEL_SECRET_KEY must be set to a random value of at least 32 characters "
                    "outside development"
                )
            if not (self.signing_key and self.signing_chain):
                raise SettingsError(
                    "AVLABEL_SIGNING_KEY and AVLABEL_SIGNING_CHAIN are required outside development; "
                    "the development CA is for development only"
                )
        for cidr in self.trusted_proxies:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError as exc:
                raise SettingsError(f"AVLABEL_TRUSTED_PROXIES: {cidr!r} is not an address or CIDR") from exc
        return self

    @property
    def private_targets_allowed(self) -> bool:
        if self.outbound_allow_private is None:
            return self.environment == "development"
        return self.outbound_allow_private

    @property
    def sqlalchemy_url(self) -> str:
        url = self.database_url
        if not url:
            return f"sqlite:///{(self.data_dir / 'avlabel.sqlite3').resolve()}"
        if url.startswith("postgres://"):
            url = "postgresql://" + url.removeprefix("postgres://")
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return url

    @property
    def embedded(self) -> bool:
        return not self.database_url


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Environment variables win over the config file; explicit overrides win over both."""
    values: dict[str, Any] = {}
    path = config_file or (Path(p) if (p := os.environ.get("AVLABEL_CONFIG")) else None)
    if path is not None:
        text = path.read_text()
        values = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        env_keys = {k.removeprefix("AVLABEL_").lower() for k in os.environ if k.startswith("AVLABEL_")}
        values = {k: v for k, v in values.items() if k not in env_keys}
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)
