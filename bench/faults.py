"""Faults against a real ``qa serve`` on this machine: a crash mid-upload, a damaged index, a full disk, a storm of
admin calls during a reindex. Prints what happened and a Markdown table for bench/README.md.

Everything stays on this machine: each server is started here on a free 127.0.0.1 port, over temporary copies of
the corpus, index and state folders, and stopped afterwards. Every wait has a deadline, so the run always ends
(a few minutes with the fake model). The full-disk scenario mounts a small tmpfs and needs root; without it, it
is reported as skipped.

    python bench/faults.py                      # QA_MODEL=hash, the fast fake model
    python bench/faults.py --model default      # the real converted e5 model (slower start)
    python bench/faults.py --only kill9,corrupt
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
QUESTION = {"question": "九龙坡2020年地区生产总值是多少"}
STARTUP_SECONDS = 900  # a first start with the real model embeds the whole corpus


@dataclass
class Result:
    """One scenario's outcome: a verdict, the numbers, and what was seen."""

    name: str
    passed: bool = False
    numbers: dict[str, str] = field(default_factory=dict)
    seen: list[str] = field(default_factory=list)

    def note(self, line: str) -> None:
        self.seen.append(line)
        print(f"  {line}", flush=True)


@dataclass
class Server:
    """A running ``qa serve`` and its folders."""

    root: Path
    url: str
    process: subprocess.Popen[bytes]
    admin: dict[str, str]

    def log(self) -> str:
        return (self.root / "server.log").read_text(encoding="utf-8", errors="replace")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare(root: Path) -> dict[str, str]:
    """Copy the corpus under ``root`` and create an admin key; returns the admin header."""
    shutil.copytree(ROOT / "corpus", root / "corpus")
    key = subprocess.run([sys.executable, "-m", "qa.cli", "keys", "create", "--name", "bench", "--admin"],
                         env=environment(root, "hash"), capture_output=True, text=True, check=True).stdout.strip()
    return {"Authorization": f"Bearer {key}"}


def environment(root: Path, model: str, **extra: str) -> dict[str, str]:
    env = {**os.environ, "QA_CORPUS_DIR": str(root / "corpus"), "QA_INDEX_DIR": str(root / "index"),
           "QA_STATE_DIR": str(root / "var"), "QA_RATE_LIMIT_PER_MINUTE": "1000000", "PYTHONUNBUFFERED": "1", **extra}
    if model != "default":
        env["QA_MODEL"] = model
    return env


def start(root: Path, model: str, admin: dict[str, str], **extra: str) -> Server:
    """Start ``qa serve --no-ui`` on a free loopback port (not waiting for it)."""
    port = free_port()
    with (root / "server.log").open("ab") as sink:
        process = subprocess.Popen([sys.executable, "-m", "qa.cli", "serve", "--no-ui", "--host", "127.0.0.1",
                                    "--port", str(port)], cwd=root, env=environment(root, model, **extra),
                                   stdout=sink, stderr=subprocess.STDOUT)
    return Server(root, f"http://127.0.0.1:{port}", process, admin)


@contextmanager
def serving(root: Path, model: str, admin: dict[str, str]) -> Iterator[Server]:
    """A started server, ready (or past the startup deadline), stopped afterwards."""
    server = start(root, model, admin)
    try:
        wait_for(lambda: ready(server), STARTUP_SECONDS)
        yield server
    finally:
        stop(server)


def stop(server: Server) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGINT)
        try:
            server.process.wait(20)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(5)


def wait_for(check: Callable[[], bool], seconds: float, step: float = 0.05) -> float | None:
    """Seconds until ``check()`` held, or None if it never did within ``seconds``."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        try:
            if check():
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(step)
    return None


def ready(server: Server) -> bool:
    return httpx.get(f"{server.url}/readyz", timeout=5).status_code == 200


def answers(server: Server) -> bool:
    response = httpx.post(f"{server.url}/v1/ask", json=QUESTION, timeout=30)
    return response.status_code == 200 and "1500" in response.json()["answer"]


def readyz(server: Server) -> dict[str, Any]:
    response = httpx.get(f"{server.url}/readyz", timeout=5)
    body: dict[str, Any] = response.json()
    return {"http": response.status_code, **body}


@contextmanager
def scenario_root(name: str) -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix=f"qa-faults-{name}-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def big_document(paragraphs: int) -> str:
    return "\n\n".join(f"测试区第{i}号工程于2030年完工，投资{i % 90 + 10}亿元，新建道路{i % 40 + 2}公里。"
                       "工程带动周边产业发展，就业人数增长明显，群众满意度持续提升。" for i in range(paragraphs))


# -- scenarios ---------------------------------------------------------------------------------------------


def kill9(model: str) -> Result:
    """kill -9 during an upload, then restart: answers within 10 s from the last good index, then catches up."""
    result = Result("kill -9 during an upload, restart")
    with scenario_root("kill9") as root:
        admin = prepare(root)
        server = start(root, model, admin)
        try:
            if wait_for(lambda: ready(server), STARTUP_SECONDS) is None:
                result.note("the first start never became ready")
                return result
            before = readyz(server)["index"]
            # hash: about 1800 passages (under max_upload_passages), indexed in about a second; the real model
            # embeds some 10 passages a second, so a tenth of that is still mid-build when the kill comes
            text = big_document(700 if model == "hash" else 100)
            sent = threading.Thread(target=lambda: _quiet_post(server, "/v1/documents", {
                "title": "测试区工程", "text": text, "doc_id": "works"}), daemon=True)
            sent.start()
            landed = wait_for(lambda: (root / "corpus" / "works.txt").exists(), 60, step=0.005)
            time.sleep(0.05)  # inside the build
            os.kill(server.process.pid, signal.SIGKILL)
            server.process.wait(10)
            if landed is None:
                result.note("the upload never reached the corpus")
                return result
            result.note(f"upload of {len(text)} characters: file in the corpus after {landed:.2f} s, kill -9 sent; "
                        f"index before: {before}")
        finally:
            stop(server)
        restarted = start(root, model, admin)
        try:
            first = wait_for(lambda: answers(restarted), 60, step=0.02)
            state = readyz(restarted) if first is not None else {}
            result.note(f"restart: first correct answer after {first:.2f} s" if first is not None
                        else "restart: no answer within 60 s")
            result.note(f"readyz then: status={state.get('status')} index={state.get('index')} "
                        f"issues={[i['code'] for i in state.get('issues', [])]}")
            caught = wait_for(lambda: "works" in {d["doc_id"] for d in httpx.get(
                f"{restarted.url}/v1/documents", timeout=10).json()}, 600, step=0.2)
            after = readyz(restarted)
            result.note(f"caught up after {caught:.1f} s more: status={after['status']} documents={after['documents']}"
                        if caught is not None else "never caught up within 600 s")
            result.numbers = {"first answer after restart": f"{first:.2f} s" if first is not None else "none",
                              "caught up (upload indexed)": f"+{caught:.1f} s" if caught is not None else "no"}
            result.passed = first is not None and first < 10 and caught is not None and after["status"] == "ready"
        finally:
            stop(restarted)
    return result


def corrupt(model: str) -> Result:
    """A truncated vector file: the previous good version is served, then rebuilt; with none left, `qa build`."""
    result = Result("damaged index (truncated FAISS; then every version damaged)")
    with scenario_root("corrupt") as root:
        admin = prepare(root)
        with serving(root, model, admin) as server:
            httpx.post(f"{server.url}/v1/documents", headers=admin, timeout=120,
                       json={"title": "风车", "text": "测试区2030年新建了987座风车。", "doc_id": "windmills"})
        current = (root / "index" / "current").resolve()
        faiss_file = current / "vectors.faiss"
        faiss_file.write_bytes(faiss_file.read_bytes()[: faiss_file.stat().st_size // 2])
        result.note(f"truncated {current.name}/vectors.faiss to half; a previous version is kept beside it")
        restarted = start(root, model, admin)
        try:
            states: list[dict[str, Any]] = []
            first = wait_for(lambda: bool(states.append(readyz(restarted))) or answers(restarted), 60, step=0.01)
            said = [i["message"] for st in states for i in st.get("issues", []) if i["code"] == "index_fallback"]
            logged = [line for line in restarted.log().splitlines() if "does not match its checksum" in line]
            fallback = (said or logged or [None])[0]
            result.note(f"first correct answer after {first:.2f} s" if first is not None else "no answer in 60 s")
            result.note(f"readyz said: {said[0]}" if said else "readyz: the rebuild finished before the first poll")
            result.note(f"log: {logged[0]}" if logged else "log: nothing about the damage")
            healed = wait_for(lambda: readyz(restarted)["status"] == "ready", 120, step=0.2)
            result.note(f"rebuilt and ready after {healed:.1f} s more" if healed is not None else "not healed")
        finally:
            stop(restarted)
        # the only version damaged too: nothing to fall back to, so it is rebuilt from the corpus
        for version in (root / "index").glob("v-*"):
            (version / "store.sqlite").write_bytes(b"not a database")
        built = subprocess.run([sys.executable, "-m", "qa.cli", "build"], env=environment(root, model),
                               capture_output=True, text=True, timeout=600)
        messages = [line for line in built.stderr.splitlines() if "index version" in line or "rebuilt" in line]
        result.note(f"every version damaged, `qa build`: exit {built.returncode}; " + " | ".join(messages[-3:]))
        result.numbers = {"first answer": f"{first:.2f} s" if first is not None else "none",
                          "back to ready": f"+{healed:.1f} s" if healed is not None else "no",
                          "`qa build` with all damaged": f"exit {built.returncode}"}
        result.passed = (first is not None and fallback is not None and "vectors.faiss does not match" in fallback
                         and healed is not None and built.returncode == 0)
    return result


def disk_full(model: str) -> Result:
    """Corpus, index and state on a small tmpfs that fills up: specific errors, degraded, reads keep working."""
    result = Result("full disk")
    if os.geteuid() != 0:
        result.note("skipped: mounting a tmpfs needs root")
        result.numbers = {"run": "skipped (not root)"}
        return result
    with scenario_root("disk") as root:
        disk = root / "disk"
        disk.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(disk)], check=True)
        try:
            admin = prepare(disk)
            with serving(disk, model, admin) as server:
                filler = disk / "filler"
                with filler.open("wb") as fh:
                    try:
                        while True:
                            fh.write(b"\0" * (1 << 20))
                            fh.flush()
                    except OSError as exc:
                        assert exc.errno == errno.ENOSPC
                upload = httpx.post(f"{server.url}/v1/documents", headers=admin, timeout=120,
                                    json={"title": "风车", "text": big_document(200), "doc_id": "windmills"})
                feedback = httpx.post(f"{server.url}/v1/feedback", timeout=30,
                                      json={"question": "问" * 1500, "comment": "评" * 1500, "rating": 1})
                state = readyz(server)
                asked = [_timed(lambda: httpx.post(f"{server.url}/v1/ask", json=QUESTION, timeout=30))
                         for _ in range(20)]
                ok = sum(r.status_code == 200 for r, _ in asked)
                result.note(f"upload: {upload.status_code} {upload.json()['error']}")
                result.note(f"feedback: {feedback.status_code} {feedback.json().get('error')}")
                result.note(f"readyz: {state['http']} {state['status']} {[i['code'] for i in state['issues']]}")
                result.note(f"20 asks meanwhile: {ok} answered, p50 {statistics.median(t for _, t in asked):.0f} ms")
                filler.unlink()
                freed = readyz(server)["status"]
                again = httpx.post(f"{server.url}/v1/documents", headers=admin, timeout=120,
                                   json={"title": "风车", "text": big_document(200), "doc_id": "windmills"})
                healed = readyz(server)["status"]
                result.note(f"space freed: readyz {freed} at once; upload {again.status_code}, readyz {healed}")
                result.numbers = {"upload": f"{upload.status_code} {upload.json()['error']['code']}",
                                  "feedback": f"{feedback.status_code} {feedback.json()['error']['code']}",
                                  "readyz": f"{state['status']}", "asks answered": f"{ok}/20"}
                result.passed = (upload.status_code == 507 and feedback.status_code == 507
                                 and state["status"] == "degraded" and ok == 20 and again.status_code == 201
                                 and freed == healed == "ready")
        finally:
            subprocess.run(["umount", "-l", str(disk)], check=False)
    return result


def admin_storm(model: str) -> Result:
    """50 concurrent admin calls during a reindex: /healthz and /v1/ask keep answering."""
    result = Result("50 admin calls during a reindex")
    with scenario_root("storm") as root:
        admin = prepare(root)
        with serving(root, model, admin) as server:
            answers(server)  # one question first: the probes measure a warm server
            for n in range(12):  # new documents dropped into the corpus: the reindex has real work to do
                (root / "corpus" / f"extra{n}.txt").write_text(big_document(150), encoding="utf-8")
            statuses: Counter[str] = Counter()
            probes: dict[str, list[float]] = {"healthz": [], "ask": []}
            failures: Counter[str] = Counter()
            done = threading.Event()

            def probe() -> None:
                with httpx.Client(timeout=10) as client:
                    while not done.is_set():
                        for name, call in (("healthz", lambda: client.get(f"{server.url}/healthz")),
                                           ("ask", lambda: client.post(f"{server.url}/v1/ask", json=QUESTION))):
                            try:
                                response, ms = _timed(call)
                                probes[name].append(ms)
                                if response.status_code != 200:
                                    failures[f"{name} {response.status_code}"] += 1
                            except httpx.HTTPError as exc:
                                failures[f"{name} {type(exc).__name__}"] += 1
                        time.sleep(0.05)

            def admin_call(n: int) -> None:
                method, path = [("DELETE", "/v1/documents/extra0"), ("POST", "/v1/reindex"),
                                ("DELETE", f"/v1/documents/extra{n % 12}")][n % 3]
                try:
                    response = httpx.request(method, f"{server.url}{path}", headers=admin, timeout=300)
                    statuses[f"{response.status_code} {response.json().get('error', {}).get('code', 'ok')}"] += 1
                except httpx.HTTPError as exc:
                    statuses[type(exc).__name__] += 1

            prober = threading.Thread(target=probe, daemon=True)
            prober.start()
            started = time.monotonic()
            reindex = threading.Thread(target=admin_call, args=(1,))
            reindex.start()
            time.sleep(0.2)
            storm = [threading.Thread(target=admin_call, args=(n,)) for n in range(49)]
            for thread in storm:
                thread.start()
            for thread in [reindex, *storm]:
                thread.join(600)
            seconds = time.monotonic() - started
            done.set()
            prober.join(30)
            for name, values in probes.items():
                result.note(f"{name}: {len(values)} probes, p50 {_pct(values, 50):.0f} ms, p95 {_pct(values, 95):.0f} ms, "
                            f"max {max(values, default=0):.0f} ms")
            result.note(f"admin calls over {seconds:.1f} s: {dict(statuses)}; probe failures: {dict(failures)}")
            result.numbers = {"healthz p95 / max": f"{_pct(probes['healthz'], 95):.0f} / "
                                                   f"{max(probes['healthz'], default=0):.0f} ms",
                              "ask p95 / max": f"{_pct(probes['ask'], 95):.0f} / {max(probes['ask'], default=0):.0f} ms",
                              "admin answers": ", ".join(f"{k}×{v}" for k, v in sorted(statuses.items()))}
            result.passed = not failures and probes["healthz"] != [] and max(probes["healthz"]) < 5000
    return result


def _quiet_post(server: Server, path: str, body: dict[str, Any]) -> None:
    with contextlib.suppress(httpx.HTTPError):  # the server is killed mid-request on purpose
        httpx.post(f"{server.url}{path}", headers=server.admin, json=body, timeout=120)


def _timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = call()
    return response, (time.perf_counter() - started) * 1000


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


SCENARIOS: dict[str, Callable[[str], Result]] = {"kill9": kill9, "corrupt": corrupt, "disk": disk_full,
                                                 "storm": admin_storm}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="hash", help="QA_MODEL for the servers: hash (default) or default")
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated: " + ", ".join(SCENARIOS))
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    args = parser.parse_args()
    results = []
    for name in args.only.split(","):
        print(f"== {name}", flush=True)
        results.append(SCENARIOS[name](args.model))
    print("\n| scenario | verdict | numbers |\n|---|---|---|")
    for r in results:
        numbers = "; ".join(f"{k}: {v}" for k, v in r.numbers.items())
        print(f"| {r.name} | {'pass' if r.passed else 'FAIL'} | {numbers} |")
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in results], ensure_ascii=False, indent=2), encoding="utf-8")
    raise SystemExit(0 if all(r.passed or "skipped" in " ".join(r.seen) for r in results) else 1)


if __name__ == "__main__":
    main()
