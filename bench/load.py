"""Load test of ``POST /v1/ask`` on a server on this machine: latency percentiles, throughput and errors.

``--fresh`` asks every question once over the whole run (the distinct questions of every ``--questions`` file,
answerable or not, each level taking the next ones), so no answer comes from the server's query-vector cache;
without it the questions go round robin and repeat. ``--endpoint chat`` posts the same questions to the OpenAI-compatible ``/v1/chat/completions`` instead, and
``--endpoint chat-stream`` asks for a stream, reads it to ``data: [DONE]`` and also reports when the first
sentence arrived.

Loopback only: any host but ``localhost``, 127.0.0.0/8 or ``[::1]`` is refused. Every level is bounded both
in time (``--seconds``) and in requests (``--max-requests``), so the run always stops by itself.

The server limits each client to ``rate_limit_per_minute`` requests a minute (600 by default), so start it with a
limit the run cannot reach, or every level measures 429s::

    QA_RATE_LIMIT_PER_MINUTE=1000000 qa serve --no-ui --port 8765
    python bench/load.py --url http://127.0.0.1:8765 --concurrency 1,8,32 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import itertools
import json
import os
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import httpx

HERE = Path(__file__).resolve().parent
DEFAULT_QUESTIONS = HERE / "questions.jsonl"


@dataclass
class Level:
    """What one concurrency level measured."""

    concurrency: int
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    first_ms: list[float] = field(default_factory=list)  # streams: until the first sentence
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> int:
        return len(self.latencies_ms)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def percentile(self, q: float) -> float:
        """The q-th percentile of successful requests' latency (nearest rank), or NaN when there were none."""
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
        return ordered[rank - 1]

    @property
    def throughput(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def first_p50(self) -> float:
        """The median time to the first sentence of a stream, or NaN for whole replies."""
        return statistics.median(self.first_ms) if self.first_ms else float("nan")

    def line(self) -> str:
        errors = ", ".join(f"{k}×{v}" for k, v in sorted(self.errors.items())) or "none"
        first = f"first p50={self.first_p50():7.1f} ms  " if self.first_ms else ""
        return (f"c={self.concurrency:<3} requests={self.ok + self.error_count:<5} p50={self.percentile(50):7.1f} ms "
                f"p95={self.percentile(95):7.1f} ms  {first}mean={statistics.fmean(self.latencies_ms or [0]):7.1f} ms  "
                f"{self.throughput:6.1f} req/s  errors={self.error_count} ({errors})")


def fail(message: str) -> NoReturn:
    """Print the reason and exit with status 2 (bad usage), before any request is sent."""
    print(f"load.py: {message}", file=sys.stderr)
    raise SystemExit(2)


def loopback_or_exit(url: str) -> str:
    """The URL without a trailing slash if its host is a loopback address; otherwise exit with status 2."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    allowed = host == "localhost"
    if not allowed:
        try:
            allowed = ipaddress.ip_address(host).is_loopback
        except ValueError:
            allowed = False
    if parts.scheme not in ("http", "https") or not allowed:
        fail(f"refusing {url!r}: only http(s) to localhost, 127.0.0.0/8 or [::1] is allowed")
    return url.rstrip("/")


def process_tree(pid: int) -> list[int]:
    """``pid`` and its children (the workers of ``qa serve --workers N``), from /proc."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    found = [pid]
    if children.exists():
        for child in children.read_text().split():
            found += process_tree(int(child))
    return found


def cpu_and_rss(pids: list[int]) -> tuple[float, list[int]]:
    """CPU seconds used so far by ``pids`` together, and each one's resident memory in MB."""
    ticks, rss = 0, []
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
        rss.append(int(fields[21]) * os.sysconf("SC_PAGE_SIZE") // 2**20)
    return ticks / os.sysconf("SC_CLK_TCK"), rss


def fresh_questions(paths: list[Path]) -> list[str]:
    """Every distinct question of the files, in order (unanswerable ones too: each costs a whole answer)."""
    rows = [json.loads(line) for path in paths for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    return list(dict.fromkeys(r["question"] for r in rows))


def load_questions(path: Path) -> list[str]:
    """The answerable questions of a JSONL question set (every line's ``question`` if none is marked)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    answerable = [r["question"] for r in rows if r.get("answerable", True)]
    if not answerable:
        fail(f"no questions in {path}")
    return answerable


async def send(client: httpx.AsyncClient, endpoint: str, question: str, top_k: int) -> tuple[int, float | None]:
    """One request to ``endpoint``, read to its end; its status and, for a stream, when its first sentence came."""
    if endpoint == "ask":
        return (await client.post("/v1/ask", json={"question": question, "top_k": top_k})).status_code, None
    body = {"model": "qa", "messages": [{"role": "user", "content": question}], "stream": endpoint == "chat-stream"}
    if endpoint == "chat":
        return (await client.post("/v1/chat/completions", json=body)).status_code, None
    sent, first = time.perf_counter(), None
    async with client.stream("POST", "/v1/chat/completions", json=body) as response:
        async for line in response.aiter_lines():
            if first is None and line.startswith("data: ") and '"content": "' in line and '"role"' not in line:
                first = (time.perf_counter() - sent) * 1000
        return response.status_code, first


async def run_level(client: httpx.AsyncClient, questions: list[str], concurrency: int, seconds: float,
                    max_requests: int, top_k: int, endpoint: str = "ask") -> Level:
    """``concurrency`` workers ask in a loop until the time or the request budget runs out."""
    level = Level(concurrency)
    tickets = itertools.count()
    started = time.perf_counter()
    deadline = started + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            ticket = next(tickets)
            if ticket >= max_requests:
                return
            sent = time.perf_counter()
            try:
                status, first = await send(client, endpoint, questions[ticket % len(questions)], top_k)
            except httpx.HTTPError as exc:
                level.errors[type(exc).__name__] += 1
                continue
            if status == 200:
                level.latencies_ms.append((time.perf_counter() - sent) * 1000)
                if first is not None:
                    level.first_ms.append(first)
            else:
                level.errors[str(status)] += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    level.seconds = time.perf_counter() - started
    return level


def markdown(levels: list[Level]) -> str:
    """The results as a Markdown table."""
    rows = ["| concurrency | requests | p50 (ms) | p95 (ms) | throughput (req/s) | errors |",
            "| ---: | ---: | ---: | ---: | ---: | ---: |"]
    for lv in levels:
        rows.append(f"| {lv.concurrency} | {lv.ok + lv.error_count} | {lv.percentile(50):.1f} | "
                    f"{lv.percentile(95):.1f} | {lv.throughput:.1f} | {lv.error_count} |")
    return "\n".join(rows)


async def main_async(args: argparse.Namespace) -> list[Level]:
    url = loopback_or_exit(args.url)
    paths = args.questions or [DEFAULT_QUESTIONS]
    questions = fresh_questions(paths) if args.fresh else [q for path in paths for q in load_questions(path)]
    levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    if not levels or min(levels) < 1 or max(levels) > 256:
        fail("--concurrency takes numbers from 1 to 256, e.g. 1,8,32")
    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    limits = httpx.Limits(max_connections=max(levels), max_keepalive_connections=max(levels))
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=args.timeout) as client:
        ready = await client.get("/readyz")
        if ready.status_code != 200:
            fail(f"{url}/readyz answered {ready.status_code}; wait for the index to load")
        print(f"server: {json.dumps(ready.json(), ensure_ascii=False)}")
        print(f"{len(questions)} {'distinct ' if args.fresh else ''}questions from "
              f"{', '.join(str(p) for p in paths)}; {args.seconds:g} s per level, "
              f"at most {args.max_requests} requests per level{', each question asked once' if args.fresh else ''}")
        for i in range(args.warmup):  # first requests pay for lazy loading (jieba, pinyin tables)
            await client.post("/v1/ask", json={"question": questions[i % len(questions)]})
        results = []
        used = args.warmup if args.fresh else 0
        pids = process_tree(args.server_pid) if args.server_pid else []
        if pids:
            cpu_before, rss = cpu_and_rss(pids)
            client_before = time.process_time()
            print(f"server processes {pids}: RSS (MB) {' '.join(map(str, rss))}; "
                  f"load average {os.getloadavg()[0]:.1f}")
        for concurrency in levels:
            batch = questions[used : used + args.max_requests] if args.fresh else questions
            if not batch:
                fail(f"--fresh: the {len(questions)} questions ran out before concurrency {concurrency}")
            level = await run_level(client, batch, concurrency, args.seconds,
                                    min(args.max_requests, len(batch)) if args.fresh else args.max_requests,
                                    args.top_k, args.endpoint)
            used += level.ok + level.error_count
            print(level.line(), flush=True)
            if pids:
                cpu, rss = cpu_and_rss(pids)
                client_cpu = time.process_time()
                served = max(1, level.ok + level.error_count)
                print(f"      server CPU {(cpu - cpu_before) * 1000 / served:.1f} ms a request, this load "
                      f"generator {(client_cpu - client_before) * 1000 / served:.1f} ms; server RSS (MB) "
                      f"{' '.join(map(str, rss))}; load average {os.getloadavg()[0]:.1f}", flush=True)
                cpu_before, client_before = cpu, client_cpu
            results.append(level)
    if any("429" in lv.errors for lv in results):
        print("note: 429s mean the server's rate limit was reached; start it with QA_RATE_LIMIT_PER_MINUTE=1000000")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="server base URL (loopback only)")
    parser.add_argument("--concurrency", default="1,8,32", help="comma-separated concurrency levels")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each level")
    parser.add_argument("--max-requests", type=int, default=20_000, help="request cap of each level")
    parser.add_argument("--questions", type=Path, action="append",
                        help="JSONL question set (repeatable; default bench/questions.jsonl)")
    parser.add_argument("--server-pid", type=int, default=None,
                        help="the server's process id: report its (and its workers') CPU a request and memory")
    parser.add_argument("--fresh", action="store_true",
                        help="ask each distinct question once over the run: no repeated question")
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--endpoint", choices=["ask", "chat", "chat-stream"], default="ask",
                        help="/v1/ask, or /v1/chat/completions whole or streamed")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured requests before the first level")
    parser.add_argument("--timeout", type=float, default=30.0, help="per-request timeout in seconds")
    parser.add_argument("--api-key", default=None, help="sent as a Bearer token (when reads need a key)")
    args = parser.parse_args(argv)
    if not 0 < args.seconds <= 600:
        parser.error("--seconds must be in (0, 600]")
    if not 0 < args.max_requests <= 1_000_000:
        parser.error("--max-requests must be in [1, 1000000]")
    results = asyncio.run(main_async(args))
    print()
    print(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
