"""Scoring samples that share a prompt: the prompt once, each continuation after it.

A multiple-choice item is scored as one sample per option, and every option repeats the item's
prompt (system prompt, question): about half of the tokens scored. Consecutive samples whose
untrained beginning is the same tokens form a *group*; a group is packed as its shared prefix
followed by each sample's own rest, and an attention mask lets each rest see the prefix and its
own earlier tokens only, at the positions it has in its own sample. Every rest therefore gets the
logits it would get alone (up to the order of float sums), at the cost of its own tokens.

The shared prefix stops before the first trained target of any member: the prompt's last token
predicts each option's first token, so it belongs to every rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from seedtree.train.packing import first_fit
from seedtree.train.render import IGNORE, Encoded

# a shorter common beginning is not worth a group: the rows' masks cost more than it saves
MIN_SHARED = 8


@dataclass(frozen=True)
class Group:
    members: tuple[int, ...]  # indices into the encoded samples, in order
    shared: int  # tokens of the common prefix

    def size(self, encoded: Sequence[Encoded]) -> int:
        return self.shared + sum(len(encoded[i]) - self.shared for i in self.members)


def _untrained_prefix(enc: Encoded) -> int:
    return next((t for t, target in enumerate(enc.targets) if target != IGNORE), len(enc))


def _common(a: Encoded, b: Encoded, limit: int) -> int:
    n = min(limit, len(a), len(b))
    return next((t for t in range(n) if a.input_ids[t] != b.input_ids[t]), n)


def groups(encoded: Sequence[Encoded], budget: int) -> list[Group]:
    """Consecutive samples with at least ``MIN_SHARED`` untrained tokens in common, grouped (a
    group stays within ``budget`` tokens)."""
    found: list[Group] = []
    for i, enc in enumerate(encoded):
        room = bool(found) and found[-1].size(encoded) + len(enc) - found[-1].shared <= budget
        if found and room:
            last = found[-1]
            head = encoded[last.members[0]]
            limit = min(_untrained_prefix(head), _untrained_prefix(enc))
            shared = _common(head, enc, limit)
            # a member that would shrink a group's prefix (another question) starts its own
            if shared >= MIN_SHARED and (len(last.members) == 1 or shared >= last.shared):
                found[-1] = Group((*last.members, i), min(shared, last.shared or shared))
                continue
        found.append(Group((i,), 0))
    return found


@dataclass(frozen=True)
class Span:
    start: int  # where the member's rest begins in the row
    end: int
    prefix: int  # where its group's shared prefix begins
    shared: int


def _row(encoded: Sequence[Encoded], row: Sequence[Group]) -> tuple[dict[str, Any], list[Span]]:
    """One packed row of groups (ids, positions, targets, boolean attention mask: True attends)
    and where each member's rest lies in it."""
    import torch

    ids: list[int] = []
    pos: list[int] = []
    targets: list[int] = []
    spans: list[Span] = []
    for group in row:
        prefix = len(ids)
        ids += encoded[group.members[0]].input_ids[: group.shared]
        pos += range(group.shared)
        targets += [IGNORE] * group.shared
        for i in group.members:
            enc, start = encoded[i], len(ids)
            ids += enc.input_ids[group.shared :]
            pos += range(group.shared, len(enc))
            targets += enc.targets[group.shared :]
            spans.append(Span(start, len(ids), prefix, group.shared))
    mask = torch.zeros((len(ids), len(ids)), dtype=torch.bool)
    for span in spans:
        begin, end = span.prefix, span.prefix + span.shared
        mask[begin:end, begin:end] = torch.ones((span.shared, span.shared), dtype=torch.bool).tril()
        mask[span.start : span.end, begin:end] = True
        size = span.end - span.start
        causal = torch.ones((size, size), dtype=torch.bool).tril()
        mask[span.start : span.end, span.start : span.end] = causal
    batch = {
        "input_ids": torch.tensor([ids], dtype=torch.long),
        "position_ids": torch.tensor([pos], dtype=torch.long),
        "targets": torch.tensor([targets], dtype=torch.long),
        "attention_mask": mask[None, None],
    }
    return batch, spans


def shared_sums(encoded: Sequence[Encoded], budget: int, losses: Any) -> list[float]:
    """The summed loss over the trained tokens of each sample, groups packed into rows of at most
    ``budget`` tokens; ``losses(batch)`` gives a row's per-token losses."""
    found = groups(encoded, budget)
    sizes = [g.size(encoded) for g in found]
    sums = [0.0] * len(encoded)
    for indices in first_fit(range(len(found)), sizes, budget):
        row = [found[i] for i in indices]
        batch, spans = _row(encoded, row)
        per_token = losses(batch).tolist()
        members = (i for group in row for i in group.members)
        for i, span in zip(members, spans, strict=True):
            sums[i] = sum(per_token[span.start : span.end])
    return sums
