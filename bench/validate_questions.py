#!/usr/bin/env python3
"""Validate the evaluation question set (stdlib only).

Usage:  python bench/validate_questions.py [bench/questions.jsonl]

Checks every line: valid JSON object, required fields, unique ids, allowed
types, known doc ids, raw[start:end] == text for every evidence span,
answerable <=> evidence non-empty, answer shape (null for unanswerable,
{"value","unit"} or {"keywords"} otherwise), history for followups.
Soft checks (warnings only): each keyword / numeric value should be visible in
the evidence text once whitespace and '*' are removed (not expected for
English alternatives or computed answers).
Prints counts per type and per document; exits 1 on any error.
"""
import json
import os
import re
import sys
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TYPES = {"figure", "entity", "list", "paraphrase", "temporal", "multi",
         "unanswerable", "english", "typo", "followup"}
REQUIRED = ("id", "type", "question", "answerable", "evidence", "answer")
OPTIONAL = {"history", "note"}


def corpus_dir():
    for d in (os.path.join(ROOT, "corpus"), "/work/shared/seeds"):
        if os.path.isdir(d) and any(f.endswith(".txt") for f in os.listdir(d)):
            return d
    sys.exit("no corpus directory with .txt files found")


def load_docs():
    d = corpus_dir()
    docs = {}
    for f in sorted(os.listdir(d)):
        if f.endswith(".txt"):
            with open(os.path.join(d, f), encoding="utf-8") as fh:
                docs[f[:-4]] = fh.read()
    return d, docs


def squash(s):
    return re.sub(r"[\s*]", "", s)


def number_forms(v):
    forms = {str(v)}
    if isinstance(v, float):
        forms.add((f"{v:f}").rstrip("0").rstrip("."))
        if v.is_integer():
            forms.add(str(int(v)))
    return forms


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "bench", "questions.jsonl")
    cdir, docs = load_docs()
    errors, warnings = [], []
    ids = set()
    by_type, by_doc = Counter(), Counter()
    n = 0

    def err(lineno, qid, msg):
        errors.append(f"line {lineno} ({qid}): {msg}")

    with open(path, encoding="utf-8") as fh:
        lines = fh.read().split("\n")
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        n += 1
        try:
            q = json.loads(line)
        except json.JSONDecodeError as e:
            err(lineno, "?", f"invalid JSON: {e}")
            continue
        if not isinstance(q, dict):
            err(lineno, "?", "not a JSON object")
            continue
        qid = q.get("id", "?")
        missing = [k for k in REQUIRED if k not in q]
        if missing:
            err(lineno, qid, f"missing fields {missing}")
            continue
        extra = set(q) - set(REQUIRED) - OPTIONAL
        if extra:
            err(lineno, qid, f"unknown fields {sorted(extra)}")
        if not isinstance(qid, str) or not qid:
            err(lineno, qid, "id must be a non-empty string")
        elif qid in ids:
            err(lineno, qid, "duplicate id")
        ids.add(qid)
        t = q["type"]
        if t not in TYPES:
            err(lineno, qid, f"unknown type {t!r}")
        by_type[t] += 1
        if not isinstance(q["question"], str) or not q["question"].strip():
            err(lineno, qid, "empty question")
        ev, ans, answerable = q["evidence"], q["answer"], q["answerable"]
        if not isinstance(answerable, bool):
            err(lineno, qid, "answerable must be a boolean")
        if not isinstance(ev, list):
            err(lineno, qid, "evidence must be a list")
            continue
        if bool(ev) != (answerable is True):
            err(lineno, qid, "answerable must be true iff evidence is non-empty")
        if (t == "unanswerable") != (answerable is False):
            err(lineno, qid, "type 'unanswerable' iff answerable is false")
        if t == "multi" and len(ev) < 2:
            err(lineno, qid, "multi question needs at least two evidence spans")
        if t == "followup":
            h = q.get("history")
            if not (isinstance(h, list) and h and all(
                    isinstance(x, dict) and isinstance(x.get("question"), str) and isinstance(x.get("answer"), str)
                    for x in h)):
                err(lineno, qid, "followup needs history [{question, answer}, ...]")
        elif "history" in q:
            err(lineno, qid, "history only allowed for followup")

        ev_docs = set()
        ev_text = ""
        for j, s in enumerate(ev):
            if not isinstance(s, dict) or set(s) != {"doc_id", "start", "end", "text"}:
                err(lineno, qid, f"evidence[{j}] must have exactly doc_id/start/end/text")
                continue
            did = s["doc_id"]
            if did not in docs:
                err(lineno, qid, f"evidence[{j}] unknown doc_id {did!r}")
                continue
            a, b = s["start"], s["end"]
            if not (isinstance(a, int) and isinstance(b, int) and 0 <= a < b <= len(docs[did])):
                err(lineno, qid, f"evidence[{j}] bad offsets {a!r}..{b!r}")
                continue
            if docs[did][a:b] != s["text"]:
                err(lineno, qid, f"evidence[{j}] raw[{a}:{b}] != text")
                continue
            ev_docs.add(did)
            ev_text += squash(s["text"])
        for d in ev_docs:
            by_doc[d] += 1

        if answerable is False:
            if ans is not None:
                err(lineno, qid, "unanswerable question must have answer null")
            continue
        if not isinstance(ans, dict):
            err(lineno, qid, "answer must be an object")
            continue
        if "keywords" in ans:
            kws = ans["keywords"]
            ok = isinstance(kws, list) and kws and all(
                (isinstance(k, str) and k) or (isinstance(k, list) and k and all(isinstance(x, str) and x for x in k))
                for k in kws)
            if not ok:
                err(lineno, qid, "keywords must be a non-empty list of strings or lists of strings")
                continue
            for k in kws:
                alts = [k] if isinstance(k, str) else k
                if not any(squash(x) in ev_text for x in alts):
                    warnings.append(f"{qid}: keyword {k!r} not found in evidence")
        elif "value" in ans:
            v, u = ans.get("value"), ans.get("unit")
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                err(lineno, qid, "value must be a number")
                continue
            if not isinstance(u, str):
                err(lineno, qid, "unit must be a string")
            if set(ans) - {"value", "unit", "text"}:
                err(lineno, qid, "unexpected answer keys {}".format(sorted(set(ans) - {"value", "unit", "text"})))
            shown = [ans["text"]] if "text" in ans else number_forms(v)
            if not any(squash(str(x)) in ev_text for x in shown):
                warnings.append("{}: value {!r} not found verbatim in evidence".format(qid, ans.get("text", v)))
            elif u and "text" not in ans and u not in ev_text:
                warnings.append(f"{qid}: unit {u!r} not found in evidence")
        else:
            err(lineno, qid, "answer needs 'keywords' or 'value'/'unit'")

    print(f"file: {path}  (corpus: {cdir})")
    print(f"questions: {n}")
    print("per type:")
    for t in sorted(TYPES):
        print(f"  {t:<13} {by_type.get(t, 0):3d}")
    print("per document (questions with >=1 evidence span in it):")
    for d in sorted(docs):
        print(f"  {d:<22} {by_doc.get(d, 0):3d}")
    for w in warnings:
        print("WARNING:", w)
    for e in errors:
        print("ERROR:", e)
    print(f"{len(errors)} error(s), {len(warnings)} warning(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
