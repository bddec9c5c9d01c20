"""Few-shot turns: a skill leaf's seeds as earlier turns of the conversation (``few_shot: chat``).

LAB lists the seed examples inside one instruction ("Examples of such tasks: ... Write 4 new
tasks"). A capable teacher follows that; a small one echoes the instruction instead ("Make lists
of tasks."). Given the same seeds as turns it has already answered, it continues the pattern:

- a question request is the task turn (``chat_question.j2``) answered by a seed question, a few
  times, then the task turn again; each of its ``n`` completions is one new question;
- an answer request is seed questions answered by their seed answers, then the new question
  (rendered by ``chat_answer.j2``).

Measured on SmolLM2-135M (float32, the antonyms leaf, 8 requests each): 5 of 8 chat questions
and 3 of 19 listed ones had a ROUGE-L of at least 0.3 with a seed question; 7 of 8 chat answers
and 3 of 8 instructed ones kept the seed answers' form.
"""

from __future__ import annotations

from collections.abc import Sequence

from seedtree.generate import parse
from seedtree.teacher.base import Message


def question_turns(task_turn: str, examples: Sequence[str]) -> tuple[Message, ...]:
    """``task_turn`` answered by each example in turn, then asked once more."""
    turns: list[Message] = []
    for example in examples:
        turns += [Message("user", task_turn), Message("assistant", example.strip())]
    return (*turns, Message("user", task_turn))


def answer_turns(pairs: Sequence[tuple[str, str]], question_turn: str) -> tuple[Message, ...]:
    """Each (question, answer) pair as a user turn and its answer, then ``question_turn``."""
    turns: list[Message] = []
    for question, answer in pairs:
        turns += [Message("user", question.strip()), Message("assistant", answer.strip())]
    return (*turns, Message("user", question_turn))


def one_question(text: str) -> str | None:
    """The question a completion of a question request holds: its first item or line."""
    found = parse.questions(text)
    if found:
        return found[0]
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return None
    first = parse.questions(lines[0])
    return first[0] if first else None
