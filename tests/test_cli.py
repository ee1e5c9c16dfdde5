import json

import pytest
from click.testing import CliRunner

from qa.cli import main


@pytest.fixture
def env(corpus_settings, monkeypatch):
    for key, value in {"QA_CORPUS_DIR": corpus_settings.corpus_dir, "QA_INDEX_DIR": corpus_settings.index_dir,
                       "QA_STATE_DIR": corpus_settings.state_dir, "QA_MODEL": "hash"}.items():
        monkeypatch.setenv(key, str(value))
    from qa.config import get_settings

    get_settings.cache_clear()
    yield corpus_settings
    get_settings.cache_clear()


def test_build_reports_counts_and_is_idempotent(env):
    runner = CliRunner()
    first = runner.invoke(main, ["build"])
    assert first.exit_code == 0, first.output
    assert "5 documents" in first.output and "chunks/s" in first.output
    second = runner.invoke(main, ["build"])
    assert "already up to date" in second.output and "0 passages embedded" in second.output


def test_search_json_gives_exact_offsets(env):
    runner = CliRunner()
    runner.invoke(main, ["build"])
    result = runner.invoke(main, ["search", "跳磴河综合整治工程", "-k", "2", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert len(rows) == 2 and rows[0]["id"] == 1
    raw = (env.corpus_dir / f"{rows[0]['doc_id']}.txt").read_text(encoding="utf-8")
    assert raw[rows[0]["start"] : rows[0]["end"]] == rows[0]["text"]


def test_ask_prints_answer_and_sources(env):
    result = CliRunner().invoke(main, ["ask", "九龙坡2020年地区生产总值是多少？"])
    assert result.exit_code == 0, result.output
    assert "1500亿元" in result.output and "[1]" in result.output


def test_bad_question_is_one_clear_line_and_exit_1(env):
    result = CliRunner().invoke(main, ["ask", "   "])
    assert result.exit_code == 1
    assert "error: question must not be empty" in result.output


def test_eval_writes_json_and_report(env, tmp_path):
    questions = tmp_path / "q.jsonl"
    rows = [
        {"id": "a", "type": "figure", "question": "九龙坡2020年地区生产总值是多少？", "answerable": True,
         "evidence": [{"doc_id": "000_9adc6f5ad0ebb90b", "start": 300, "end": 340}], "answer": {"value": 1500, "unit": "亿元"}},
        {"id": "b", "type": "unanswerable", "question": "九龙坡区现任区长是谁？", "answerable": False, "evidence": []},
    ]
    questions.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    out, report = tmp_path / "m.json", tmp_path / "r.md"
    result = CliRunner().invoke(main, ["eval", str(questions), "--json", str(out), "--report", str(report)])
    assert result.exit_code == 0, result.output
    metrics = json.loads(out.read_text(encoding="utf-8"))
    assert metrics["questions"] == 2 and metrics["answer_accuracy"] == 1.0
    assert metrics["not_found"]["recall"] == 1.0
    assert set(metrics["retrieval"]) == {"hybrid", "dense", "lexical"}
    assert report.read_text(encoding="utf-8").startswith("# qa eval report")
    assert report.with_suffix(".svg").read_text(encoding="utf-8").startswith("<svg")


def test_eval_refuses_a_broken_question_file(env, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "question": "问"}\n{not json\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["eval", str(bad)])
    assert result.exit_code == 1
    assert "bad.jsonl:1: missing field(s) answerable" in result.output


def test_keys_create_and_list(env):
    runner = CliRunner()
    key = runner.invoke(main, ["keys", "create", "--name", "portal", "--admin"]).output.strip()
    assert key.startswith("qa_") and len(key) > 30
    listing = runner.invoke(main, ["keys", "list"]).output
    assert "portal" in listing and "admin" in listing and key not in listing


def test_help_is_fast_and_lists_commands():
    result = CliRunner().invoke(main, ["--help"])
    for command in ("build", "search", "ask", "eval", "serve", "keys"):
        assert command in result.output


def test_keys_revoke_and_rotate(env):
    import stat

    from qa.api.keys import KeyStore

    runner = CliRunner()
    old = runner.invoke(main, ["keys", "create", "--name", "portal", "--admin"]).output.strip()
    store = KeyStore.open(env.state_dir)
    key_id = store.check(old).id
    new = runner.invoke(main, ["keys", "rotate", str(key_id)])
    assert new.exit_code == 0, new.output
    fresh = new.output.strip()
    assert store.check(old) is None
    info = store.check(fresh)
    assert (info.name, info.admin) == ("portal", True)
    revoked = runner.invoke(main, ["keys", "revoke", str(info.id)])
    assert revoked.exit_code == 0 and revoked.output == f"key {info.id} revoked\n"
    assert store.check(fresh) is None
    assert "portal" not in runner.invoke(main, ["keys", "list"]).output
    again = runner.invoke(main, ["keys", "revoke", str(info.id)])
    assert again.exit_code == 1 and f"error: no active key with id {info.id}" in again.output
    # key hashes and feedback are readable by the service's user only
    assert stat.S_IMODE((env.state_dir / "app.sqlite").stat().st_mode) == 0o600
    assert stat.S_IMODE(env.state_dir.stat().st_mode) == 0o700
