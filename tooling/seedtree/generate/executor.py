"""Runs every leaf's pipeline in lockstep, answering each step from the store or the teacher.

One step gathers the requests of all leaves; they are split into batches of
``generate.batch_requests`` planned over the whole step (cached requests included), so the
batches a request belongs to do not depend on what an interrupted run had already finished. For
each batch only the requests missing from the store go to the teacher, and each answer is stored
the moment it arrives.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from seedtree.generate.pipelines import Call, LeafRun, Step, knowledge_pipeline
from seedtree.generate.progress import StageProgress
from seedtree.generate.skills import grounded_pipeline, skill_pipeline
from seedtree.generate.store import AnswerStore, Row, cache_key
from seedtree.teacher.base import (
    Completion,
    LabelScores,
    ScoreRequest,
    Teacher,
    TeacherRequest,
    TeacherResponse,
)

PIPELINES: dict[str, Callable[[LeafRun], Step]] = {
    "skill": skill_pipeline,
    "grounded_skill": grounded_pipeline,
    "knowledge": knowledge_pipeline,
}


@dataclass(frozen=True)
class _Item:
    run: LeafRun
    stage: str
    key: str
    request: TeacherRequest | ScoreRequest


def _encode(value: TeacherResponse | LabelScores) -> Any:
    return asdict(value)


def _decode_response(value: Any) -> TeacherResponse:
    completions = tuple(Completion(**c) for c in value["completions"])
    return TeacherResponse(completions=completions, prompt_tokens=int(value["prompt_tokens"]))


def _decode_scores(value: Any) -> LabelScores:
    return LabelScores(probs={str(k): float(v) for k, v in value["probs"].items()})


class Executor:
    def __init__(
        self,
        teacher: Teacher,
        store: AnswerStore,
        progress: StageProgress,
        batch_requests: int,
    ) -> None:
        self.teacher = teacher
        self.store = store
        self.progress = progress
        self.batch = max(1, batch_requests)

    def key(self, run: LeafRun, call: Call, request: TeacherRequest | ScoreRequest) -> str:
        params = json.dumps({"teacher": self.teacher.id, "request": request.key()})
        return cache_key(run.leaf_hash, run.pipeline, call.stage, call.template.tag, params)

    def run(self, runs: Sequence[LeafRun]) -> None:
        """Drive every pipeline to its end."""
        steps: dict[int, Step] = {i: PIPELINES[r.leaf.kind](r) for i, r in enumerate(runs)}
        pending: dict[int, list[Call]] = {}
        for i, step in steps.items():
            self._advance(pending, i, step, None)
        while pending:
            order = sorted(pending)
            answers = self._execute([(runs[i], pending[i]) for i in order])
            for i, answer in zip(order, answers, strict=True):
                self._advance(pending, i, steps[i], answer)

    @staticmethod
    def _advance(
        pending: dict[int, list[Call]], i: int, step: Step, answer: list[list[Any]] | None
    ) -> None:
        try:
            pending[i] = next(step) if answer is None else step.send(answer)
        except StopIteration:
            pending.pop(i, None)

    def _execute(self, work: Sequence[tuple[LeafRun, list[Call]]]) -> list[list[list[Any]]]:
        """Answer every call of one step; the result mirrors ``work``'s nesting."""
        items: dict[str, list[_Item]] = {"complete": [], "score": []}
        for run, calls in work:
            for call in calls:
                for request in call.requests:
                    item = _Item(run, call.stage, self.key(run, call, request), request)
                    items[call.kind].append(item)
        answers = {
            **self._complete(items["complete"]),
            **self._score(items["score"]),
        }
        return [
            [[answers[self.key(run, call, r)] for r in call.requests] for call in calls]
            for run, calls in work
        ]

    def _cached(self, items: Sequence[_Item]) -> dict[str, Any]:
        found = self.store.get_many([it.key for it in items])
        for it in items:
            self.progress.plan(it.stage, 1)
            if it.key in found:
                it.run.funnel.from_store += 1
                self.progress.advance(it.stage)
        return found

    def _complete(self, items: Sequence[_Item]) -> dict[str, TeacherResponse]:
        raw = self._cached(items)
        out = {k: _decode_response(v) for k, v in raw.items()}
        for start in range(0, len(items), self.batch):
            missing = _unique_missing(items[start : start + self.batch], out)
            if missing:
                self._send_complete(missing, out)
        return out

    def _send_complete(self, missing: list[_Item], out: dict[str, TeacherResponse]) -> None:
        def on_result(index: int, response: TeacherResponse) -> None:
            item = missing[index]
            if item.key in out:
                return
            self.store.put(
                Row(item.key, item.run.leaf_hash, item.stage, "complete", _encode(response))
            )
            out[item.key] = response
            item.run.funnel.teacher_calls += 1
            self.progress.advance(item.stage)

        requests = [it.request for it in missing]
        responses = self.teacher.complete(requests, on_result=on_result)  # type: ignore[arg-type]
        for index, response in enumerate(responses):
            on_result(index, response)

    def _score(self, items: Sequence[_Item]) -> dict[str, LabelScores]:
        raw = self._cached(items)
        out = {k: _decode_scores(v) for k, v in raw.items()}
        for start in range(0, len(items), self.batch):
            missing = _unique_missing(items[start : start + self.batch], out)
            if not missing:
                continue
            scores = self.teacher.score_labels([it.request for it in missing])  # type: ignore[misc]
            rows = []
            for item, score in zip(missing, scores, strict=True):
                rows.append(Row(item.key, item.run.leaf_hash, item.stage, "score", _encode(score)))
                out[item.key] = score
                item.run.funnel.teacher_calls += 1
                self.progress.advance(item.stage)
            self.store.put_many(rows)
        return out


def _unique_missing(items: Sequence[_Item], have: dict[str, Any]) -> list[_Item]:
    seen: set[str] = set()
    out = []
    for item in items:
        if item.key not in have and item.key not in seen:
            seen.add(item.key)
            out.append(item)
    return out
