"""A scripted teacher for retrain tests: well-formed answers, every call logged.

It writes what a cooperative teacher would: numbered lists of distinct tasks, answers of a few
sentences, and the best label for every judge. Each answered request is appended to the file
named by ``$SCRIPTED_TEACHER_LOG`` (one JSON line: kind and prompt), so tests count calls
exactly, across processes. ``$SCRIPTED_TEACHER_STALL_AFTER=N`` makes it hang before answering
its (N+1)-th request in a process, so a test can kill a run in the middle of generation.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seedtree.teacher.base import (
    Completion,
    LabelScores,
    OnResult,
    ScoreRequest,
    TeacherRequest,
    TeacherResponse,
)

WORDS = (  # noqa: SIM905 - readable as text
    "amber basalt cedar delta ember fjord glacier harbor island jasper kelp lagoon meadow "
    "nectar orchard pebble quartz reef saffron tundra umber valley willow xenon yarrow "
    "zephyr anchor beacon canyon dune estuary falcon geyser heron iris juniper kestrel "
    "lantern marble nebula osprey prairie quill raven sierra thistle urchin violet walnut "
    "yucca zinnia atlas bramble comet drizzle eclipse fossil granite hollow ivory jungle "
    "kiln lichen mosaic nimbus opal pollen quiver ripple summit tide ulex vortex wharf "
    "yonder zenith "
).split()
_COUNT = re.compile(r"Write (\d+) new")


class ScriptedTeacher:
    def __init__(self, log: Path | None = None, stall_after: int | None = None) -> None:
        env_log = os.environ.get("SCRIPTED_TEACHER_LOG")
        env_stall = os.environ.get("SCRIPTED_TEACHER_STALL_AFTER")
        self.log = log or (Path(env_log) if env_log else None)
        self.stall_after = (
            stall_after if stall_after is not None else (int(env_stall) if env_stall else None)
        )
        self.calls: list[tuple[str, str]] = []

    @property
    def id(self) -> str:
        return "scripted:v1"

    def _record(self, kind: str, text: str) -> None:
        if self.stall_after is not None and len(self.calls) >= self.stall_after:
            time.sleep(3600)
        self.calls.append((kind, text))
        if self.log is not None:
            with self.log.open("a", encoding="utf-8") as f:
                f.write(json.dumps({"kind": kind, "text": text}) + "\n")

    def _text(self, request: TeacherRequest, index: int) -> str:
        prompt = request.messages[-1].content
        rng = random.Random(f"{request.key()}:{index}")
        found = _COUNT.search(prompt)
        if found:
            lines = []
            for n in range(int(found.group(1))):
                words = " ".join(rng.sample(WORDS, 7))
                lines.append(f"{n + 1}. Explain how {words} relate?")
            return "\n".join(lines)
        words = " ".join(rng.sample(WORDS, 12))
        digest = hashlib.sha256(prompt.encode()).hexdigest()[:8]
        return f"The answer, step by step: {words}. Reference {digest}."

    def complete(
        self, requests: Sequence[TeacherRequest], on_result: OnResult | None = None
    ) -> list[TeacherResponse]:
        out = []
        for i, request in enumerate(requests):
            self._record("complete", request.messages[-1].content)
            texts = [self._text(request, k) for k in range(request.n)]
            response = TeacherResponse(
                tuple(Completion(t, "stop", len(t.split())) for t in texts), prompt_tokens=10
            )
            if on_result is not None:
                on_result(i, response)
            out.append(response)
        return out

    def score_labels(self, requests: Sequence[ScoreRequest]) -> list[LabelScores]:
        out = []
        for request in requests:
            self._record("score", request.messages[-1].content)
            labels = request.labels
            numeric = all(label.isdigit() for label in labels)
            best = max(labels, key=int) if numeric else labels[0]
            rest = (1.0 - 0.97) / max(1, len(labels) - 1)
            out.append(LabelScores({lb: 0.97 if lb == best else rest for lb in labels}))
        return out

    def close(self) -> None:
        return None


def factory(_config: Any) -> ScriptedTeacher:
    return ScriptedTeacher()
