"""Answers side by side: the previous and the new model answer a changed leaf's seed questions.

Greedy decoding with the chat defaults' repetition control, short answers, all questions of a
model in one batch. For knowledge leaves each answer is scored by ROUGE-L recall of the seed
answer (the share of the reference's words, in order, that the answer contains) and, where
``retrain.judge_answers`` is set, by the teacher's faithfulness judge (the probability it gives
"yes" to: is everything the answer says supported by the seed's context?).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from rapidfuzz.distance import LCSseq

from seedtree.config import ChatConfig
from seedtree.evaluation.evidence import Answer, AnswerScores, LeafAnswers
from seedtree.generate.dedup import tokens
from seedtree.generate.prompts import Prompts
from seedtree.teacher.base import Message, ScoreRequest, Teacher
from seedtree.train.evaluate import EvalModel
from seedtree.train.render import prompt_text
from seedtree.versions.decoding import answer_prompts

Seeds = Mapping[str, Sequence[tuple[str, str]]]
# (context, question, answer) -> probability that the answer is faithful to the context
Judge = Callable[[Sequence[tuple[str, str, str]]], list[float]]
FAITHFULNESS = "judge_faithfulness"


def faithfulness_judge(teacher: Teacher, prompts: Prompts) -> Judge:
    """The generation pipeline's faithfulness judge, label-scored by ``teacher``."""
    template = prompts.get(FAITHFULNESS)

    def judge(items: Sequence[tuple[str, str, str]]) -> list[float]:
        requests = [
            ScoreRequest(
                messages=(
                    Message("user", prompts.render(FAITHFULNESS, chunk=c, question=q, answer=a)),
                ),
                labels=template.labels,
            )
            for c, q, a in items
        ]
        scores = teacher.score_labels(requests)
        return [sum(s.probs.get(label, 0.0) for label in template.accept) for s in scores]

    return judge


# an answer gives the document's answer when it recalls at least half of the seed answer's words
# in order (ROUGE-L recall): "Karl Drais in 1817" for "Karl Drais built it in 1817."
GIVES_ANSWER = 0.5


def rouge_l_recall(answer: str, reference: str) -> float:
    """Longest common word subsequence over the reference's length (1.0: all of it, in order)."""
    ref = tokens(reference)
    if not ref:
        return 1.0
    return float(LCSseq.similarity(tokens(answer), ref)) / len(ref)


def model_answers(
    loaded: EvalModel, questions: Sequence[str], max_tokens: int, decoding: ChatConfig
) -> list[str]:
    """``loaded``'s greedy answer to each question; a question it answered before with the same
    settings is not asked again (its ``memo``)."""
    system = loaded.renderer.system_prompt or ""
    settings = (max_tokens, decoding.model_dump_json())
    keys = [("answer", prompt_text(loaded.renderer, system, q), *settings) for q in questions]
    missing = list(dict.fromkeys(key for key in keys if key not in loaded.memo))
    if missing:
        prompts = [key[1] for key in missing]
        tokenizer = loaded.renderer.tokenizer
        found = answer_prompts(loaded.model, tokenizer, prompts, max_tokens, decoding)
        loaded.memo.update(zip(missing, found, strict=True))
    return [loaded.memo[key] for key in keys]


def side_by_side(
    before: EvalModel,
    after: EvalModel,
    seeds: Seeds,
    contexts: Mapping[str, Sequence[str]],
    max_tokens: int,
    decoding: ChatConfig,
    judge: Judge | None = None,
) -> dict[str, LeafAnswers]:
    """Per changed leaf: its first seed question answered by both models; for knowledge leaves
    (those in ``contexts``: the seed context of each seed question), the mean ROUGE-L recall of
    the seed answers over all its seed questions, and the judge's mean score when given."""
    knowledge = set(contexts)
    asked = {
        leaf: list(pairs) if leaf in knowledge else list(pairs[:1])
        for leaf, pairs in seeds.items()
        if pairs
    }
    questions = [q for pairs in asked.values() for q, _ in pairs]
    if not questions:
        return {}
    old = iter(model_answers(before, questions, max_tokens, decoding))
    new = iter(model_answers(after, questions, max_tokens, decoding))
    out = {}
    for leaf, pairs in asked.items():
        answers = [(q, a, next(old), next(new)) for q, a in pairs]
        scores = _scores(answers, contexts[leaf], judge) if leaf in knowledge else None
        question, reference, previous, current = answers[0]
        example = Answer(question=question, reference=reference, before=previous, after=current)
        out[leaf] = LeafAnswers(example=example, scores=scores)
    return out


def _scores(
    answers: Sequence[tuple[str, str, str, str]], contexts: Sequence[str], judge: Judge | None
) -> AnswerScores:
    n = len(answers)
    judged: dict[str, float | None] = {"judge_before": None, "judge_after": None}
    if judge is not None:
        for key, column in (("judge_before", 2), ("judge_after", 3)):
            items = [(c, row[0], row[column]) for c, row in zip(contexts, answers, strict=True)]
            judged[key] = round(sum(judge(items)) / n, 4)
    before = [rouge_l_recall(b, ref) for _, ref, b, _ in answers]
    after = [rouge_l_recall(a, ref) for _, ref, _, a in answers]
    return AnswerScores(
        questions=n,
        rouge_before=round(sum(before) / n, 4),
        rouge_after=round(sum(after) / n, 4),
        gives_before=sum(r >= GIVES_ANSWER for r in before),
        gives_after=sum(r >= GIVES_ANSWER for r in after),
        **judged,
    )
