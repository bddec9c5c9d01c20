"""Evaluation's teacher calls, answered from the answer store first (like generation's).

The key holds the leaf's content hash, the stage, the prompt template's tag (version and text
digest), the teacher id and the request, so an answer is reused for as long as all of them stay
the same: a leaf's multiple-choice questions are written again only when the leaf changes, and a
judge's verdict on an answer is asked once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, cast

from seedtree.generate.executor import _decode_response, _decode_scores, _encode
from seedtree.generate.prompts import Template
from seedtree.generate.store import AnswerStore, Row, cache_key
from seedtree.teacher.base import (
    LabelScores,
    ScoreRequest,
    Teacher,
    TeacherRequest,
    TeacherResponse,
)

PIPELINE = "evaluation"
Request = TeacherRequest | ScoreRequest


class CachedTeacher:
    """A teacher whose answers are looked up in (and written to) the answer store."""

    def __init__(self, teacher: Teacher, store: AnswerStore) -> None:
        self.teacher = teacher
        self.store = store
        self.asked = 0  # requests that reached the teacher

    def _key(self, leaf_hash: str, stage: str, template: Template, request: Request) -> str:
        params = json.dumps({"teacher": self.teacher.id, "request": request.key()})
        return cache_key(leaf_hash, PIPELINE, stage, template.tag, params)

    def _answered(
        self,
        leaf_hashes: Sequence[str],
        stage: str,
        template: Template,
        requests: Sequence[Request],
        ask: Callable[[list[Request]], Sequence[TeacherResponse | LabelScores]],
    ) -> list[Any]:
        keys = [
            self._key(h, stage, template, r) for h, r in zip(leaf_hashes, requests, strict=True)
        ]
        have = self.store.get_many(keys)
        missing = [i for i, key in enumerate(keys) if key not in have]
        if missing:
            answers = ask([requests[i] for i in missing])
            self.asked += len(missing)
            kind = "score" if isinstance(requests[0], ScoreRequest) else "complete"
            rows = [
                Row(keys[i], leaf_hashes[i], stage, kind, _encode(a))
                for i, a in zip(missing, answers, strict=True)
            ]
            self.store.put_many(rows)
            have.update({row.key: row.value for row in rows})
        return [have[key] for key in keys]

    def complete(
        self,
        leaf_hashes: Sequence[str],
        stage: str,
        template: Template,
        requests: Sequence[TeacherRequest],
    ) -> list[TeacherResponse]:
        """One response per request (request ``i`` belongs to the leaf of ``leaf_hashes[i]``)."""
        ask = cast(Callable[[list[Request]], Sequence[TeacherResponse]], self.teacher.complete)
        values = self._answered(leaf_hashes, stage, template, requests, ask)
        return [_decode_response(v) for v in values]

    def score(
        self,
        leaf_hashes: Sequence[str],
        stage: str,
        template: Template,
        requests: Sequence[ScoreRequest],
    ) -> list[LabelScores]:
        """Label probabilities per request, from the store or the teacher."""
        ask = cast(Callable[[list[Request]], Sequence[LabelScores]], self.teacher.score_labels)
        values = self._answered(leaf_hashes, stage, template, requests, ask)
        return [_decode_scores(v) for v in values]
