"""Shared fixtures: settings in temporary folders, the fake embedder, a built index over the real corpus."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from qa.api.keys import KeyStore
from qa.config import Settings
from qa.embed import HashEmbedder
from qa.lexical import install_vocabulary
from qa.service import Service

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
MINI = Path(__file__).parent / "data" / "mini"


@pytest.fixture(autouse=True)
def _own_vocabulary() -> Iterator[None]:
    """Loading an index makes its vocabulary the process default: no test leaves its own to the next."""
    previous = install_vocabulary(None)
    yield
    install_vocabulary(previous)


def make_settings(tmp: Path, corpus: Path = CORPUS, **overrides: object) -> Settings:
    """Settings whose corpus is a copy of ``corpus`` and whose index and state live under ``tmp``."""
    copy = tmp / "corpus"
    if not copy.exists():
        shutil.copytree(corpus, copy)
    return Settings(corpus_dir=copy, index_dir=tmp / "index", state_dir=tmp / "var", model="hash", **overrides)


@pytest.fixture
def mini_settings(tmp_path: Path) -> Settings:
    """Settings over the two-document test corpus."""
    return make_settings(tmp_path, MINI)


@pytest.fixture
def corpus_settings(tmp_path: Path) -> Settings:
    """Settings over a private copy of the real corpus."""
    return make_settings(tmp_path)


@pytest.fixture(scope="session")
def hash_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A service over the real corpus with the fake embedder (fast; shared, do not write to it)."""
    settings = make_settings(tmp_path_factory.mktemp("hash-service"))
    service = Service.from_settings(settings, HashEmbedder())
    yield service
    service.snapshot.close()


# -- a real server ----------------------------------------------------------------------------------
STARTUP_SECONDS = 90


@dataclass
class Server:
    """A running ``qa serve``: its base URL, process, log file, state folder and an admin key."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path
    admin_key: str
    state_dir: Path

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def new_key(self, name: str) -> str:
        """A fresh read key (its own rate-limit bucket); the server sees it at once."""
        return KeyStore.open(self.state_dir).create(name)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(process: subprocess.Popen[bytes], timeout: float = 20) -> int:
    """SIGINT (what Ctrl+C sends) and wait; kill only if it does not stop."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
            raise
    return int(process.returncode)


@contextmanager
def running_server(root: Path, ui: bool = False, **env: str) -> Iterator[Server]:
    """``qa serve`` in a subprocess on a free loopback port (fake embedder, corpus copy under ``root``)."""
    shutil.copytree(CORPUS, root / "corpus")
    admin_key = KeyStore.open(root / "var").create("ops", admin=True)
    port = free_port()
    env = {**os.environ, "QA_MODEL": "hash", "QA_CORPUS_DIR": str(root / "corpus"),
           "QA_INDEX_DIR": str(root / "index"), "QA_STATE_DIR": str(root / "var"), "PYTHONUNBUFFERED": "1", **env}
    log = root / "server.log"
    command = [sys.executable, "-m", "qa.cli", "serve", "--port", str(port), *([] if ui else ["--no-ui"])]
    with log.open("wb") as sink:
        # cwd is the temporary folder, so no .env of the developer's is read
        process = subprocess.Popen(command, cwd=root, env=env, stdout=sink, stderr=subprocess.STDOUT)
    running = Server(f"http://127.0.0.1:{port}", process, log, admin_key, root / "var")
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            assert process.poll() is None, f"the server exited early:\n{running.log_text()}"
            try:
                if httpx.get(f"{running.url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"not ready after {STARTUP_SECONDS} s:\n{running.log_text()}"
            time.sleep(0.2)
        yield running
    finally:
        if process.poll() is None:
            stop(process)


CLIENT_RATE_LIMIT = 60  # per key and minute on the server that client libraries talk to


@pytest.fixture(scope="session")
def clients_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One ``qa serve`` for the client-library tests (openai SDK, MCP client), with a low rate limit."""
    with running_server(tmp_path_factory.mktemp("clients"), QA_RATE_LIMIT_PER_MINUTE=str(CLIENT_RATE_LIMIT)) as running:
        yield running
