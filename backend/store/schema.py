"""Tables, one SQLAlchemy Core metadata for SQLite and PostgreSQL alike."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
)

metadata = MetaData()

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for long-lived logs.
SeqId = BigInteger().with_variant(Integer(), "sqlite")

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("role", String(20), nullable=False),  # admin, moderator, auditor, publisher
    Column("status", String(20), nullable=False, default="active"),  # active, warned, restricted, suspended, closed
    Column("identity_verified", Boolean, nullable=False, default=False),
    Column("identity_kind", String(40)),  # org_code, id_number, mobile
    Column("identity_digest", String(128)),  # keyed hash of the raw identifier, never the identifier
    Column("identity_hint", String(16)),  # last characters only, for humans
    Column("verified_by", String(40)),
    Column("verified_at", DateTime(timezone=True)),
    Column("password_hash", String(300)),
    Column("complaint_contact", String(300)),
    Column("webhook_url", String(500)),
    Column("webhook_secret", String(200)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Staff sign-in (staff_login.py): username or e-mail (lower-cased), a TOTP secret encrypted with a key
    # derived from the service secret, the step of the last code accepted (each code is good once).
    Column("username", String(64), index=True, unique=True),
    Column("email", String(254), index=True, unique=True),
    Column("totp_secret", String(300)),
    Column("totp_enabled_at", DateTime(timezone=True)),
    Column("totp_last_step", BigInteger),
    Column("console_locale", String(8), nullable=False, default="zh", server_default="zh"),  # zh or en
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(40), ForeignKey("accounts.id"), nullable=False, index=True),
    Column("key_digest", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)

contents = Table(
    "contents",
    metadata,
    Column("content_id", String(40), primary_key=True),
    Column("sha256", String(64), nullable=False, index=True),
    Column("input_sha256", String(64), index=True),
    Column("publisher_id", String(40), ForeignKey("accounts.id"), index=True),
    Column("publisher_name", String(200)),
    Column("generator", String(300), nullable=False),
    Column("source_type", String(200)),
    Column("manifest_label", String(200)),
    Column("mime", String(100), nullable=False),
    Column("title", String(500)),
    Column("issuer", String(300)),
    Column("key_id", String(32)),
    Column("signature", String(20), nullable=False, default="valid"),  # valid, none (registered, unsigned)
    Column("synthetic", Boolean, nullable=False, default=True),
    # Overrides decided on cases: pending_label, blocked, refuted, or null for the signed state.
    Column("label_state", String(20)),
    Column("label_note", JSON),
    Column("stored_path", String(500)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # GB 45438 tier (ai_generated, declared_possibly, suspected; null: not AI or from before tiers), how the
    # entry was made (signed, ingested, reported) and what ingest read from the uploaded file.
    Column("tier", String(20)),
    Column("origin", String(20)),
    Column("evidence", JSON),
)

# Hosting URLs (backend/registry_urls.py). `kind` exact | prefix; null for the service's own /media/ path
# (resolved by name) and for rows from before URL ownership, which no look-up matches.
content_urls = Table(
    "content_urls",
    metadata,
    Column("id", SeqId, primary_key=True, autoincrement=True),
    Column("content_id", String(40), ForeignKey("contents.content_id"), nullable=False, index=True),
    Column("url", String(2000), nullable=False),
    Column("kind", String(10)),
    Column("origin", String(300)),
    Column("publisher_id", String(40)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_content_urls_url", "url"),
    Index("ux_content_urls_kind_url", "kind", "url", unique=True),  # one owner per URL
    Index("ix_content_urls_origin", "origin", "kind"),
)

# Origins (optionally narrowed to a path prefix) an admin assigned to a publisher for its hosting URLs.
publisher_origins = Table(
    "publisher_origins",
    metadata,
    Column("id", SeqId, primary_key=True, autoincrement=True),
    Column("account_id", String(40), ForeignKey("accounts.id"), nullable=False, index=True),
    Column("origin", String(300), nullable=False),
    Column("path_prefix", String(1000), nullable=False),
    Column("assigned_by", String(80), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ux_publisher_origins", "account_id", "origin", "path_prefix", unique=True),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", SeqId, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("actor", String(80), nullable=False),
    Column("action", String(60), nullable=False, index=True),
    Column("subject", String(120)),
    Column("data", JSON, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
)

verify_results = Table(
    "verify_results",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("result", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("elapsed_ms", Float),
)

# Complaints (Art. 15) and their handling (Art. 12-14). Reports and case actions are never updated;
# a case row carries the current status so the queue is one indexed query.
cases = Table(
    "cases",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("target_key", String(120), nullable=False),  # content:<id> | sha256:<hex> | url:<sha1 of url>
    Column("category", String(40), nullable=False),
    Column("severity", Integer, nullable=False),
    Column("status", String(20), nullable=False),  # open, acknowledged, decided
    Column("content_id", String(40), index=True),
    Column("sha256", String(64)),
    Column("media_url", String(2000)),
    Column("publisher_id", String(40), index=True),
    Column("report_count", Integer, nullable=False, default=1),
    Column("outcome", String(40)),
    Column("outcome_reasons", String(4000)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("acknowledged_at", DateTime(timezone=True)),
    Column("decided_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("origin", String(20), index=True),  # report | detector_flag | appeal; null on rows from before 0008
    Column("details", JSON),  # what opened it, beyond the reports: detector scores and model cards
    Column("assigned_to", String(40), index=True),  # the moderator or admin the case is assigned to (case_queue.py)
    Index("ix_cases_open", "status", "target_key", "category"),
)

# Appeals against a decision (a case action) and reporters' contests of a dismissal (backend/appeals.py).
# Each opens its own case (`case_id`, origin appeal) that a moderator other than `original_actor` decides.
appeals = Table(
    "appeals",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("kind", String(20), nullable=False),  # publisher | reporter
    Column("decision_id", BigInteger, nullable=False, index=True),  # case_actions.id of the decision appealed
    Column("original_case_id", String(40), ForeignKey("cases.id"), nullable=False, index=True),
    Column("case_id", String(40), ForeignKey("cases.id"), nullable=False, unique=True),
    Column("appellant", String(40), nullable=False),  # the account id, or the report id of a reporter
    Column("original_actor", String(40), nullable=False),
    Column("original_action", String(40), nullable=False),
    Column("grounds", String(4000), nullable=False),
    Column("status", String(20), nullable=False),  # open | decided
    Column("outcome", String(20)),  # upheld | reversed | modified
    Column("new_action", String(40)),  # the replacement action of a modified (or a reversed dismissal)
    Column("outcome_reasons", String(4000)),
    Column("decided_by", String(40)),
    Column("decided_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Index("ux_appeals_once", "decision_id", "appellant", unique=True),  # once per decision and appellant
)

reports = Table(
    "reports",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("case_id", String(40), ForeignKey("cases.id"), nullable=False, index=True),
    Column("secret_digest", String(64), nullable=False),
    Column("category", String(40), nullable=False),
    Column("description", String(4000), nullable=False),
    Column("content_id", String(64)),
    Column("media_url", String(2000)),
    Column("sha256", String(64)),
    Column("playback_time", Float),
    Column("contact", String(200)),
    Column("client_digest", String(64)),  # keyed hash of the reporter's address, for abuse handling only
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    # {"good_faith": true, "time_range": {"start", "end"}, "group": first report id of a multi-item report}
    Column("details", JSON),
)

case_actions = Table(
    "case_actions",
    metadata,
    Column("id", SeqId, primary_key=True, autoincrement=True),
    Column("case_id", String(40), ForeignKey("cases.id"), nullable=False, index=True),
    Column("action", String(40), nullable=False),
    Column("actor", String(40), nullable=False),
    Column("reasons", String(4000), nullable=False),
    Column("content_id", String(40)),
    Column("account_id", String(40)),
    Column("details", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", SeqId, primary_key=True, autoincrement=True),
    Column("account_id", String(40), nullable=False, index=True),
    Column("event", String(60), nullable=False),
    Column("url", String(500), nullable=False),
    Column("status_code", Integer),
    Column("error", String(300)),
    Column("attempt", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Transactional outbox: one row per webhook, written in the moderation action's transaction and
# sent by the delivery loop; webhook_deliveries keeps every attempt.
webhook_outbox = Table(
    "webhook_outbox",
    metadata,
    Column("id", SeqId, primary_key=True, autoincrement=True),
    Column("account_id", String(40), nullable=False, index=True),
    Column("event", String(60), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(20), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_webhook_outbox_due", "status", "next_attempt_at"),
)

# Queued verification of large media. The database is the system of record (Redis streams only
# dispatch); the result itself lives in verify_results under the media's SHA-256.
jobs = Table(
    "jobs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("sha256", String(64), nullable=False, index=True),
    Column("mime", String(100), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("media_path", String(500)),  # under data_dir/jobs; removed once the job ends
    Column("client", String(80), index=True),  # who queued it (account, or a keyed digest of the address)
    Column("kind", String(20), nullable=False, default="verify", server_default="verify"),  # verify, ingest
    Column("params", JSON),  # an ingest's request (account, uploader, declared_ai, title, URLs, content id)
    Column("result", JSON),  # an ingest's answer; verify answers are in verify_results, by hash
    Column("status", String(20), nullable=False, index=True),  # queued, running, done, failed
    Column("progress", Float, nullable=False, default=0.0),
    Column("stage", String(60)),
    Column("attempts", Integer, nullable=False, default=0),  # deliveries to a worker
    Column("worker", String(200)),
    Column("lease_until", DateTime(timezone=True)),
    Column("queue_ref", String(40)),  # Redis stream entry id once dispatched
    Column("error_code", String(60)),
    Column("error_message", String(1000)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Soft binding: the short key the invisible watermark carries, mapped to the content it was embedded in.
watermark_keys = Table(
    "watermark_keys",
    metadata,
    Column("key", BigInteger, primary_key=True, autoincrement=False),
    Column("content_id", String(40), nullable=False, index=True),
    Column("alg", String(60), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Perceptual fingerprints as an append-only log (add / remove), the source of truth every worker's
# in-memory index is rebuilt and synced from. Lists: signed, prohibited, refuted.
fingerprint_log = Table(
    "fingerprint_log",
    metadata,
    Column("seq", SeqId, primary_key=True, autoincrement=True),
    Column("op", String(10), nullable=False),  # add, remove
    Column("list_name", String(20), nullable=False),
    Column("ref", String(120), nullable=False),
    Column("kind", String(20)),  # pdq, chromaprint
    Column("hash", String(8000)),  # PDQ: 64 hex digits; chromaprint: base64 of uint32 array
    Column("note", JSON),
    Column("actor", String(80)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_fingerprint_log_list_ref", "list_name", "ref"),
)

# Console sign-ins, one row each: the cookie carries a random id, the row holds only its SHA-256, and a
# revoked row (logout, password change, suspension, close) ends the session whatever the cookie says.
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("id_digest", String(64), primary_key=True),
    Column("account_id", String(40), ForeignKey("accounts.id"), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("revoked_reason", String(40)),  # logout, password_changed, account_suspended, account_closed
)

# One-time recovery codes for the TOTP second factor (recovery_codes.py): an HMAC of each code, never the code.
staff_recovery_codes = Table(
    "staff_recovery_codes",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("account_id", String(40), ForeignKey("accounts.id"), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
)

# Signed checkpoints of the audit chain: the service's signing key over (seq, head hash, count, time).
audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("id", SeqId, primary_key=True, autoincrement=True),
    Column("seq", BigInteger, nullable=False, index=True),  # the head entry it covers
    Column("head_hash", String(64), nullable=False),
    Column("entry_count", BigInteger, nullable=False),  # entries present from the first kept one to seq
    Column("at", DateTime(timezone=True), nullable=False),
    Column("reason", String(20), nullable=False),  # interval, export, prune
    Column("payload", String(1000), nullable=False),  # the exact signed bytes (canonical JSON)
    Column("signature", String(300), nullable=False),  # base64 DER ECDSA (or the key's own scheme)
    Column("alg", String(20), nullable=False),
    Column("cert_pem", String(8000), nullable=False),  # the signer certificate (leaf) that made it
)

# Live and on-demand streams registered as content (backend/streams/): one row per stream content, the
# monitor's progress through the playlist (`next_sequence`, so a worker that takes over resumes there) and
# its lease on the stream (`owner`, `lease_until`).
streams = Table(
    "streams",
    metadata,
    Column("content_id", String(40), primary_key=True),
    Column("publisher_id", String(40), ForeignKey("accounts.id"), nullable=False, index=True),
    Column("playlist_url", String(2000), nullable=False),
    Column("protocol", String(10), nullable=False),  # hls, dash
    Column("live", Boolean, nullable=False),
    Column("declaration", String(30), nullable=False),  # ai_presenter, synthetic_voice, none
    Column("status", String(20), nullable=False),  # watching, ended, stopped
    Column("next_sequence", BigInteger, nullable=False, default=0),  # the first media sequence not yet checked
    Column("checked_segments", Integer, nullable=False, default=0),
    Column("last_segment_url", String(2000)),
    Column("last_checked_at", DateTime(timezone=True)),
    Column("owner", String(80)),  # the monitor worker holding the stream
    Column("lease_until", DateTime(timezone=True)),
    Column("case_id", String(40)),  # the monitor's case for this stream, opened at its first finding
    Column("c2pa", JSON),  # the latest fragment verification
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# What the stream monitor found, one row per finding (the case notes of a stream): a prohibited or refuted
# match, a stalled playlist, a segment that failed, a C2PA result. Append-only.
stream_notes = Table(
    "stream_notes",
    metadata,
    Column("id", SeqId, primary_key=True, autoincrement=True),
    Column("content_id", String(40), nullable=False, index=True),
    Column("case_id", String(40), index=True),
    Column("kind", String(40), nullable=False),
    Column("segment_url", String(2000)),
    Column("media_time", Float),  # seconds from the start of the stream, when known
    Column("message", String(1000), nullable=False),
    Column("details", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
