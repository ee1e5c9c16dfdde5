"""The answer layer: extractive, cited answers with figures and an honest "not found". No LLM.

| module | what it decides |
|---|---|
| ``intent`` | what a question asks for: its kind, years, periods, units; follow-up resolution |
| ``narrative`` | what a question asks, told apart from the asker's story around it (我家老大明年读小学，…) |
| ``terms`` | the question's content words and their weights; places and institutions it names |
| ``evidence`` | sentences of the retrieved passages and their figures, scored |
| ``checks`` | the "not found" decision, as small named checks |
| ``compose`` | splitting multi-part questions, choosing what to quote, composing and verifying the answer |
| ``weights`` | every weight and threshold above, with how it was set |
| ``words`` | the word lists, read from ``qa/data/district.toml`` and ``question_words.toml`` |
"""

from __future__ import annotations

from qa.answer.compose import NOT_FOUND, answer, split_question, verify_numbers

__all__ = ["NOT_FOUND", "answer", "split_question", "verify_numbers"]
