"""The embedded backend: a local Hugging Face-format model run by transformers on CPU or GPU.

Requests are expanded into one row per sample, sorted by prompt length and cut into batches of
``batch_size`` rows (which bounds memory); each batch is left-padded and decoded step by step with
a KV cache allocated once per batch (:mod:`seedtree.teacher.kvcache`), dropping rows as they
finish; a ``cancel`` event set by another thread stops the decoding between two steps. Every row
samples with its own ``torch.Generator`` seeded from its request's ``seed`` and its sample index,
so a request gets the same completions whichever batch it lands in (in float32; bfloat16 rounding
can differ with the padding). Labels are scored by the log-likelihood of each label as the whole
assistant answer (its tokens and the end-of-turn token), normalised over the label set.

Precision (:mod:`seedtree.teacher.precision`): float32, bfloat16 where the hardware computes it,
or int8 ``Linear`` weights on a CPU for generation (``teacher.quantize``; the judges keep float32,
as int8 changes their decisions). Each gives other outputs, so each has its own teacher id, and
the answer cache keeps their answers apart.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seedtree.errors import Interrupted, TeacherError, UsageError
from seedtree.models import resolve_model
from seedtree.teacher.base import (
    Completion,
    LabelScores,
    Message,
    OnResult,
    ScoreRequest,
    TeacherRequest,
    TeacherResponse,
)
from seedtree.teacher.kvcache import preallocated_cache
from seedtree.teacher.precision import PRECISION_SUFFIX, pick_precision

if TYPE_CHECKING:
    import threading

    import torch
    from transformers import DynamicCache

    from seedtree.config import TeacherConfig

_PLAIN_TEMPLATE_END = "assistant:"


@dataclass(frozen=True)
class TokenLogprob:
    """One generated token with its log-probability and the most likely alternatives."""

    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Generated:
    """A response plus, when asked for, the per-token log-probabilities of each completion."""

    response: TeacherResponse
    logprobs: tuple[tuple[TokenLogprob, ...], ...] = ()


@dataclass
class _Row:
    """One sample of one request, and its decoding state."""

    request: int
    prompt: list[int]
    max_new: int
    temperature: float
    top_p: float
    stop: tuple[str, ...]
    generator: torch.Generator
    tokens: list[int] = field(default_factory=list)
    logprobs: list[TokenLogprob] = field(default_factory=list)
    text: str | None = None
    finish: str | None = None


class EmbeddedTeacher:
    """A :class:`~seedtree.teacher.base.Teacher` backed by a local transformers model."""

    def __init__(
        self,
        model_dir: Path,
        *,
        batch_size: int = 16,
        device: str = "auto",
        truncate_prompts: bool = False,
        dtype: str = "auto",
        quantize: str = "none",
        preallocate: bool = True,
    ) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if batch_size < 1:
            raise UsageError(f"teacher batch_size must be at least 1, got {batch_size}")
        self.model_dir = Path(model_dir)
        self.batch_size = batch_size
        self.truncate_prompts = truncate_prompts
        self.device = _pick_device(device)
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_dir)
        precision = pick_precision(dtype, quantize, self.device)
        self.model = AutoModelForCausalLM.from_pretrained(
            self.model_dir, dtype=torch.bfloat16 if precision == "bfloat16" else torch.float32
        )
        self.model.to(self.device).eval()  # judges score with it: int8 changes their decisions
        self.decoder = _quantize_int8(self.model) if precision == "int8" else self.model
        self.precision = precision
        self.preallocate = preallocate  # False: transformers' cache, grown by concatenation
        self.context = int(getattr(self.model.config, "max_position_embeddings", 2048))
        self.eos_ids = _eos_ids(self.tokenizer, self.model)
        self.pad_id = _pad_id(self.tokenizer, self.eos_ids)
        suffix = PRECISION_SUFFIX[precision]  # other weights give other outputs
        self._id = f"embedded:{self.model_dir.name}@{_fingerprint(self.model_dir)}{suffix}"

    @property
    def id(self) -> str:
        return self._id

    def complete(
        self, requests: Sequence[TeacherRequest], on_result: OnResult | None = None
    ) -> list[TeacherResponse]:
        def forward(index: int, done: Generated) -> None:
            if on_result is not None:
                on_result(index, done.response)

        return [g.response for g in self.generate(requests, on_result=forward)]

    def generate(
        self,
        requests: Sequence[TeacherRequest],
        *,
        top_logprobs: int = 0,
        on_result: Callable[[int, Generated], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> list[Generated]:
        """Complete every request; with ``top_logprobs`` > 0 also keep per-token logprobs.

        Raises :class:`~seedtree.errors.Interrupted` once ``cancel`` is set (checked before each
        batch and between decoding steps); results already passed to ``on_result`` stand.
        """
        rows = self._plan_rows(requests)
        pending = [req.n for req in requests]
        done: dict[int, Generated] = {}
        order = sorted(range(len(rows)), key=lambda i: -len(rows[i].prompt))
        for start in range(0, len(order), self.batch_size):
            batch = [rows[i] for i in order[start : start + self.batch_size]]
            self._decode_batch(batch, top_logprobs, cancel)
            for row in batch:
                pending[row.request] -= 1
                if pending[row.request] == 0:
                    done[row.request] = self._collect(requests, rows, row.request)
                    if on_result is not None:
                        on_result(row.request, done[row.request])
        return [done[i] for i in range(len(requests))]

    def score_labels(self, requests: Sequence[ScoreRequest]) -> list[LabelScores]:
        jobs: list[tuple[list[int], dict[str, list[int]]]] = []
        for index, req in enumerate(requests):
            if not req.labels:
                raise UsageError(f"score request {index}: no labels to score")
            answers = {label: self._label_ids(label, index) for label in req.labels}
            longest = max(len(a) for a in answers.values())
            jobs.append(
                (self._prompt_ids(req.messages, index, reserve=longest, need=longest), answers)
            )
        totals: list[dict[str, float]] = [{} for _ in requests]
        order = sorted(range(len(jobs)), key=lambda i: -len(jobs[i][0]))
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            for index, values in zip(
                batch, self._label_logprobs([jobs[i] for i in batch]), strict=True
            ):
                totals[index] = values
        return [LabelScores.from_logprobs(t) for t in totals]

    def close(self) -> None:
        import gc

        del self.model, self.decoder
        gc.collect()

    # --- planning -------------------------------------------------------------------------

    def _plan_rows(self, requests: Sequence[TeacherRequest]) -> list[_Row]:
        import torch

        rows: list[_Row] = []
        for index, req in enumerate(requests):
            if req.n < 1 or req.max_tokens < 1:
                raise UsageError(f"request {index}: n and max_tokens must be at least 1")
            prompt = self._prompt_ids(req.messages, index, reserve=req.max_tokens)
            max_new = min(req.max_tokens, self.context - len(prompt))
            for sample in range(req.n):
                gen = torch.Generator(device="cpu").manual_seed(_sample_seed(req.seed, sample))
                rows.append(_Row(index, prompt, max_new, req.temperature, req.top_p, req.stop, gen))
        return rows

    def _prompt_ids(
        self, messages: Sequence[Message], index: int, reserve: int, need: int = 1
    ) -> list[int]:
        """The prompt's tokens, leaving at least ``need`` tokens of context after them."""
        ids = self._encode(self._render(messages))
        if len(ids) + need <= self.context:
            return ids  # answers are cut short at the context's end (finish reason "length")
        if self.truncate_prompts:  # keep the end of the prompt, and room for the answer
            keep = self.context - max(need, min(reserve, self.context // 2))
            return ids[len(ids) - keep :]
        raise TeacherError(
            f"request {index}: the prompt is {len(ids)} tokens, too long for the context of "
            f"{self.context} tokens of the model {self.model_dir.name}",
            hint="shorten the prompt, or set teacher.truncate_prompts: true to keep its end",
        )

    def _render(self, messages: Sequence[Message]) -> str:
        chat = [{"role": m.role, "content": m.content} for m in messages]
        if getattr(self.tokenizer, "chat_template", None):
            text = self.tokenizer.apply_chat_template(
                chat, tokenize=False, add_generation_prompt=True
            )
            return str(text)
        lines = [f"{m['role']}: {m['content']}" for m in chat]
        return "\n".join([*lines, _PLAIN_TEMPLATE_END])

    def _encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _label_ids(self, label: str, index: int) -> list[int]:
        ids = self._encode(label)
        if not ids:
            raise UsageError(f"score request {index}: label {label!r} is empty")
        return [*ids, self.eos_ids[0]] if self.eos_ids else ids

    # --- decoding -------------------------------------------------------------------------

    def _decode_batch(
        self, rows: list[_Row], top_logprobs: int, cancel: threading.Event | None = None
    ) -> None:
        import torch

        with torch.inference_mode():
            _check(cancel)
            room = max(r.max_new for r in rows)
            prompts = [r.prompt for r in rows]
            logits, cache, mask, positions = self._prefill(self.decoder, prompts, room)
            active = list(range(len(rows)))
            while True:
                chosen = self._advance([rows[i] for i in active], logits, top_logprobs)
                keep = [j for j, i in enumerate(active) if rows[i].finish is None]
                if not keep:
                    return
                if len(keep) < len(active):
                    index = torch.tensor(keep, device=self.device)
                    cache.batch_select_indices(index)
                    mask, positions, chosen = mask[index], positions[index], chosen[index]
                active = [active[j] for j in keep]
                mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=1)
                positions = positions[:, -1:] + 1
                step = chosen.unsqueeze(-1)
                _check(cancel)
                logits = self._forward(self.decoder, step, mask, positions, cache)[:, -1, :]

    def _prefill(
        self, model: Any, prompts: list[list[int]], room: int
    ) -> tuple[torch.Tensor, DynamicCache, torch.Tensor, torch.Tensor]:
        """Run each distinct prompt once; the next-token logits, cache, mask and positions per row.

        Rows of one request (``n`` > 1) and the labels of one judge prompt share their prompt: it
        is computed once and its cache copied to each row. Only the last position's logits are
        computed (a prompt's logits over the whole vocabulary would cost a fifth of the prefill).
        The cache holds ``room`` more tokens after the longest prompt without reallocating.
        """
        import torch
        from transformers import DynamicCache

        distinct: dict[tuple[int, ...], int] = {}
        owner = [distinct.setdefault(tuple(p), len(distinct)) for p in prompts]
        ids, mask = self._left_pad([list(p) for p in distinct])
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        if self.preallocate:
            cache = preallocated_cache(self.model.config, ids.shape[1] + room)
        else:
            cache = DynamicCache(config=self.model.config)
        logits = self._forward(model, ids, mask, positions, cache)[:, -1, :]
        if len(distinct) < len(prompts):
            index = torch.tensor(owner, device=self.device)
            cache.batch_select_indices(index)
            logits, mask, positions = logits[index], mask[index], positions[index]
        return logits, cache, mask, positions

    def _forward(
        self,
        model: Any,
        ids: torch.Tensor,
        mask: torch.Tensor,
        positions: torch.Tensor,
        cache: DynamicCache,
        keep: int = 1,
    ) -> torch.Tensor:
        """Run ``ids`` after what ``cache`` holds; float logits of the last ``keep`` positions."""
        out = model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions,
            past_key_values=cache,
            use_cache=True,
            logits_to_keep=keep,
        )
        return out.logits.float()

    def _advance(self, rows: list[_Row], logits: torch.Tensor, top_logprobs: int) -> torch.Tensor:
        """Pick each row's next token, record it and decide whether the row is finished."""
        import torch

        chosen = _pick(logits, rows)
        if top_logprobs > 0:
            logprobs = torch.log_softmax(logits, dim=-1)
            for j, (row, token) in enumerate(zip(rows, chosen, strict=True)):
                row.logprobs.append(self._token_logprob(logprobs[j], token, top_logprobs))
        for row, token in zip(rows, chosen, strict=True):
            self._append(row, token)
        return torch.tensor(chosen, device=self.device)

    def _append(self, row: _Row, token: int) -> None:
        if token in self.eos_ids:
            row.finish = "stop"
            return
        row.tokens.append(token)
        if row.stop:
            text = self.tokenizer.decode(row.tokens, skip_special_tokens=True)
            cut = _first_stop(text, row.stop)
            if cut is not None:
                row.text, row.finish = text[:cut], "stop"
                return
        if len(row.tokens) >= row.max_new:
            row.finish = "length"

    def _token_logprob(self, logprobs: torch.Tensor, token: int, k: int) -> TokenLogprob:
        import torch

        values, indices = torch.topk(logprobs, k)
        top = tuple(
            (self.tokenizer.decode([int(i)]), float(v))
            for v, i in zip(values.tolist(), indices.tolist(), strict=True)
        )
        return TokenLogprob(self.tokenizer.decode([token]), float(logprobs[token]), top)

    def _left_pad(self, prompts: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        import torch

        width = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for j, prompt in enumerate(prompts):
            ids[j, width - len(prompt) :] = torch.tensor(prompt, dtype=torch.long)
            mask[j, width - len(prompt) :] = 1
        return ids.to(self.device), mask.to(self.device)

    def _collect(
        self, requests: Sequence[TeacherRequest], rows: list[_Row], index: int
    ) -> Generated:
        mine = [r for r in rows if r.request == index]
        completions = tuple(
            Completion(
                text=r.text
                if r.text is not None
                else self.tokenizer.decode(r.tokens, skip_special_tokens=True),
                finish_reason=r.finish or "length",
                tokens=len(r.tokens),
            )
            for r in mine
        )
        response = TeacherResponse(completions=completions, prompt_tokens=len(mine[0].prompt))
        logprobs = tuple(tuple(r.logprobs) for r in mine) if mine[0].logprobs else ()
        return Generated(response, logprobs)

    # --- scoring --------------------------------------------------------------------------

    def _label_logprobs(
        self, jobs: list[tuple[list[int], dict[str, list[int]]]]
    ) -> list[dict[str, float]]:
        """Each label's summed log-probability as the whole answer to its job's prompt.

        The prompt runs once (left-padded, cached); the labels' tokens after their first then run
        as one short batch over copies of that cache, right-padded (a causal model never looks at
        the padding after a token).
        """
        import torch

        pairs = [
            (j, label, answer)
            for j, (_, answers) in enumerate(jobs)
            for label, answer in answers.items()
        ]
        with torch.inference_mode():
            rest = max(len(answer) for _, _, answer in pairs) - 1
            prompts = [jobs[j][0] for j, _, _ in pairs]
            logits, cache, mask, positions = self._prefill(self.model, prompts, rest)
            first = torch.log_softmax(logits, dim=-1)
            totals: list[dict[str, float]] = [{} for _ in jobs]
            for row, (j, label, answer) in enumerate(pairs):
                totals[j][label] = float(first[row, answer[0]])
            if rest == 0:
                return totals
            tail = torch.full((len(pairs), rest), self.pad_id, dtype=torch.long)
            tail_mask = torch.zeros((len(pairs), rest), dtype=torch.long)
            for row, (_, _, answer) in enumerate(pairs):
                tail[row, : len(answer) - 1] = torch.tensor(answer[:-1], dtype=torch.long)
                tail_mask[row, : len(answer) - 1] = 1
            logits = self._forward(
                self.model,
                tail.to(self.device),
                torch.cat([mask, tail_mask.to(self.device)], dim=1),
                positions[:, -1:] + 1 + torch.arange(rest, device=self.device),
                cache,
                keep=rest,
            )
            later = torch.log_softmax(logits, dim=-1).cpu()
        for row, (j, label, answer) in enumerate(pairs):
            steps = torch.arange(len(answer) - 1)
            totals[j][label] += float(later[row, steps, torch.tensor(answer[1:])].sum())
        return totals


def create(config: TeacherConfig) -> EmbeddedTeacher:
    """Build the embedded teacher from configuration (``model`` resolved by the model store)."""

    return EmbeddedTeacher(
        resolve_model(config.model),
        batch_size=config.batch_size,
        device=config.device,
        truncate_prompts=config.truncate_prompts,
        dtype=config.dtype,
        quantize=config.quantize,
    )


def _pick(logits: torch.Tensor, rows: list[_Row]) -> list[int]:
    """Each row's next token: greedy at temperature 0, otherwise nucleus sampling.

    The batch's probabilities are computed and sorted together; each sampling row then draws
    from its own nucleus (the most likely tokens whose mass reaches ``top_p``, in a stable
    order) with its own generator, so a row's draw does not depend on the rest of its batch.
    """
    import torch

    chosen = torch.argmax(logits, dim=-1).tolist()
    sampled = [j for j, row in enumerate(rows) if row.temperature > 0]
    if not sampled:
        return [int(t) for t in chosen]
    temperature = torch.tensor([rows[j].temperature for j in sampled], device=logits.device)
    probs = torch.softmax(logits[sampled] / temperature[:, None], dim=-1)
    probs, order = torch.sort(probs, dim=-1, descending=True, stable=True)
    top_p = torch.tensor([rows[j].top_p for j in sampled], device=logits.device)
    kept = ((probs.cumsum(dim=-1) - probs) < top_p[:, None]).sum(dim=-1).clamp(min=1)
    kept[top_p >= 1.0] = probs.shape[-1]  # no nucleus: the whole vocabulary
    probs, order, kept = probs.cpu(), order.cpu(), kept.tolist()
    for i, j in enumerate(sampled):
        nucleus = probs[i, : kept[i]]
        draw = torch.multinomial(nucleus, 1, generator=rows[j].generator)
        chosen[j] = order[i, int(draw)]
    return [int(t) for t in chosen]


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Interrupted("generation was stopped before it finished")


def _first_stop(text: str, stops: tuple[str, ...]) -> int | None:
    hits = [text.find(s) for s in stops if s]
    found = [h for h in hits if h >= 0]
    return min(found) if found else None


def _sample_seed(seed: int, sample: int) -> int:
    digest = hashlib.sha256(f"{seed}:{sample}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def _quantize_int8(model: Any) -> Any:
    """A copy of the model with every ``Linear`` dynamically quantized to int8 (fbgemm on x86)."""
    import warnings

    import torch

    quantize_dynamic = getattr(torch.ao.quantization, "quantize_dynamic", None)
    if quantize_dynamic is None:
        raise UsageError(
            f"teacher.quantize: int8 needs torch.ao.quantization.quantize_dynamic, which torch "
            f"{torch.__version__} no longer has",
            hint="set teacher.quantize: none",
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*quantize_per_tensor", category=UserWarning)
        return quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def _pick_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def _eos_ids(tokenizer: Any, model: Any) -> list[int]:
    ids: list[int] = []
    for value in (tokenizer.eos_token_id, getattr(model.generation_config, "eos_token_id", None)):
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, int) and item not in ids:
                ids.append(item)
    return ids


def _pad_id(tokenizer: Any, eos_ids: list[int]) -> int:
    if isinstance(tokenizer.pad_token_id, int):
        return int(tokenizer.pad_token_id)
    return eos_ids[0] if eos_ids else 0


def _fingerprint(model_dir: Path) -> str:
    """A short hash of the config and weights, so a retrained folder gets a new identity."""
    digest = hashlib.sha256()
    for path in sorted(model_dir.glob("*.json")) + sorted(model_dir.glob("*.safetensors")):
        if path.name == "seedtree-model.json":
            continue
        digest.update(path.name.encode())
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 22), b""):
                digest.update(block)
    return digest.hexdigest()[:12]


__all__ = ["EmbeddedTeacher", "Generated", "TokenLogprob", "create"]
