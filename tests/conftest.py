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
    service.close()


@pytest.fixture(scope="session")
def milvus_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One Milvus Lite folder for the whole run (each Lite start costs seconds); tests keep to their own collections."""
    return str(tmp_path_factory.mktemp("milvus") / "tests.db")


_collections = iter(range(1_000_000))


def collection_name(kind: str) -> str:
    """A collection name no other test uses in the shared Milvus Lite folder."""
    return f"test_{kind}_{next(_collections)}"


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


def start_server(root: Path, ui: bool = False, **env: str) -> Server:
    """``qa serve`` in a subprocess on a free loopback port (fake embedder, corpus copy under ``root``), ready.

    Stop it with :func:`stop`, or use :func:`running_server`.
    """
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
                    return running
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"not ready after {STARTUP_SECONDS} s:\n{running.log_text()}"
            time.sleep(0.2)
    except BaseException:
        stop(process)
        raise


@contextmanager
def running_server(root: Path, ui: bool = False, **env: str) -> Iterator[Server]:
    """:func:`start_server` for the length of a ``with`` block."""
    running = start_server(root, ui, **env)
    try:
        yield running
    finally:
        if running.process.poll() is None:
            stop(running.process)


CLIENT_RATE_LIMIT = 60  # per key and minute on the server that client libraries talk to


@pytest.fixture(scope="session")
def clients_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One ``qa serve`` for the client-library tests (openai SDK, MCP client), with a low rate limit."""
    with running_server(tmp_path_factory.mktemp("clients"), QA_RATE_LIMIT_PER_MINUTE=str(CLIENT_RATE_LIMIT)) as running:
        yield running
REPORT_ID = "003_c74baaf9e274de20"  # the shortest seed report: the one every format is made from
REPORT_TITLE = "重庆市九龙坡区：在奋力谱写中国式现代化重庆篇章中勇挑重担、走在前列"
STATS_TABLE = ("表1 2023年九龙坡区主要经济指标", "单位：亿元",
               [["指标", "2022年", "2023年", "增速（%）"], ["地区生产总值", "1582.6", "1701.3", "6.1"],
                ["规上工业增加值", "520.4", "560.2", "8.0"]])


class Made:
    """Test documents made once per session with real tools (see tests/docgen.py), by kind."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.report = (CORPUS / f"{REPORT_ID}.txt").read_text(encoding="utf-8")
        self._cache: dict[str, Path] = {}

    def _make(self, key: str, build: object) -> Path:
        if key not in self._cache:
            self._cache[key] = build()  # type: ignore[operator]
        return self._cache[key]

    def pdf(self) -> Path:
        """The report as a text PDF with an embedded CJK font, page numbers in the footer."""
        import docgen

        return self._make("pdf", lambda: docgen.text_pdf(self.report, self.folder / "report.pdf", self.folder,
                                                         title=REPORT_TITLE))

    def table_pdf(self) -> Path:
        """The report as a text PDF with a ruled statistics table."""
        import docgen

        return self._make("table_pdf", lambda: docgen.text_pdf(self.report, self.folder / "table.pdf", self.folder,
                                                               title=REPORT_TITLE, table=STATS_TABLE))

    def scan(self) -> Path:
        """The text PDF printed and scanned at 100 dpi: image-only pages."""
        import docgen

        return self._make("scan", lambda: docgen.scanned_pdf(self.pdf(), self.folder / "scan.pdf", dpi=100))

    def unmapped(self) -> Path:
        """The text PDF with its fonts' Unicode maps removed: a garbled text layer."""
        import docgen

        return self._make("unmapped", lambda: docgen.strip_unicode_maps(self.pdf(), self.folder / "unmapped.pdf"))

    def docx(self) -> Path:
        """The report as a 公文-layout DOCX with the statistics table."""
        import docgen

        return self._make("docx", lambda: docgen.gov_docx(self.report, self.folder / "report.docx",
                                                          title=REPORT_TITLE, table=STATS_TABLE))

    def html(self, script: str = "") -> Path:
        """The report as a district government web page with 政务公开 metadata."""
        import docgen

        def build() -> Path:
            page = docgen.gov_html(self.report, title=REPORT_TITLE, publisher="九龙坡区人民政府办公室",
                                   written="2024-06-28", published="2024-07-01",
                                   index_no="11500107009288443U/2024-00015", doc_no="九龙坡府办发〔2024〕12号",
                                   table=STATS_TABLE, script=script)
            path = self.folder / f"report{len(script)}.html"
            path.write_text(page, encoding="utf-8")
            return path

        return self._make(f"html{script}", build)

    def ofd(self) -> Path:
        """The report as an OFD package."""
        import docgen

        return self._make("ofd", lambda: docgen.ofd(self.report, self.folder / "report.ofd", title=REPORT_TITLE))

    def xlsx(self, formulas: bool = False) -> Path:
        """A statistics bureau table: merged title, 单位 line, two merged header rows."""
        import docgen

        return self._make(f"xlsx{formulas}", lambda: docgen.stats_xlsx(
            self.folder / f"stats{int(formulas)}.xlsx", title="2023年九龙坡区规模以上工业主要指标", unit="单位：亿元",
            header=["指标", "2023年", "2023年", "2022年"], subheader=["指标", "总量", "增速（%）", "总量"],
            rows=[["规上工业增加值", "560.2", "8.0", "520.4"], ["规上工业总产值", "1820.5", "6.2", "1700.1"]],
            merges=["A3:A4", "B3:C3"], formulas=formulas, note="注：规上工业指年主营业务收入2000万元及以上的工业企业。"))


@pytest.fixture(scope="session")
def made(tmp_path_factory: pytest.TempPathFactory) -> Made:
    """Documents in every format, made from the shortest seed report."""
    return Made(tmp_path_factory.mktemp("made"))
