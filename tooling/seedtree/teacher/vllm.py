"""The ``vllm`` backend: an in-process ``vllm.LLM`` (GPU runner; the ``gpu`` extra).

vLLM is imported only when this backend is created. Each request maps to one ``SamplingParams``
(:func:`sampling_kwargs`, a pure function) and the whole batch goes to one ``LLM.chat`` call, which
schedules it continuously on the GPU. Labels are scored from the first token's ``logprobs``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from seedtree.errors import TeacherError, UsageError
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
from seedtree.teacher.labels import label_logprobs

if TYPE_CHECKING:
    from seedtree.config import TeacherConfig

INSTALL_HINT = "pip install 'seedtree[gpu]' on a machine with a CUDA GPU"


class _Sample(Protocol):
    text: str
    token_ids: Sequence[int]
    finish_reason: str | None


class _Output(Protocol):
    prompt_token_ids: Sequence[int] | None

    @property
    def outputs(self) -> Sequence[_Sample]: ...


def sampling_kwargs(
    request: TeacherRequest, *, context: int | None = None, truncate: bool = False
) -> dict[str, Any]:
    """The ``vllm.SamplingParams`` arguments for one request."""
    kwargs: dict[str, Any] = {
        "n": request.n,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "max_tokens": request.max_tokens,
        "seed": request.seed,
        "stop": list(request.stop) or None,
    }
    if truncate and context is not None:  # keep the end of the prompt, leave room to answer
        kwargs["truncate_prompt_tokens"] = max(1, context - request.max_tokens)
    return kwargs


def score_kwargs(top_logprobs: int) -> dict[str, Any]:
    """``SamplingParams`` arguments for one greedy token with its top alternatives."""
    return {"n": 1, "temperature": 0.0, "max_tokens": 1, "logprobs": top_logprobs, "seed": 0}


def to_response(output: _Output) -> TeacherResponse:
    """A vLLM ``RequestOutput`` as a :class:`TeacherResponse`."""
    completions = tuple(
        Completion(s.text, s.finish_reason or "stop", len(s.token_ids)) for s in output.outputs
    )
    return TeacherResponse(completions, len(output.prompt_token_ids or ()))


def first_token_alternatives(output: Any) -> list[tuple[str, float]]:
    """``(decoded token, logprob)`` pairs of the first generated token's alternatives."""
    steps = output.outputs[0].logprobs or []
    if not steps:
        return []
    return [(str(lp.decoded_token or ""), float(lp.logprob)) for lp in steps[0].values()]


class VLLMTeacher:
    """A :class:`~seedtree.teacher.base.Teacher` running ``vllm.LLM`` in this process."""

    def __init__(
        self,
        model: str,
        *,
        tensor_parallel_size: int = 1,
        truncate_prompts: bool = False,
        score_top_logprobs: int = 20,
    ) -> None:
        vllm = import_vllm()
        self._vllm = vllm
        self.model = model
        self.truncate_prompts = truncate_prompts
        self.score_top_logprobs = score_top_logprobs
        self.llm = vllm.LLM(model=model, tensor_parallel_size=tensor_parallel_size, seed=0)
        self.context = int(self.llm.llm_engine.model_config.max_model_len)

    @property
    def id(self) -> str:
        return f"vllm:{self.model}"

    def complete(
        self, requests: Sequence[TeacherRequest], on_result: OnResult | None = None
    ) -> list[TeacherResponse]:
        params = [
            self._vllm.SamplingParams(
                **sampling_kwargs(r, context=self.context, truncate=self.truncate_prompts)
            )
            for r in requests
        ]
        outputs = self._chat([r.messages for r in requests], params)
        responses = [to_response(o) for o in outputs]
        for index, response in enumerate(responses):
            if on_result is not None:
                on_result(index, response)
        return responses

    def score_labels(self, requests: Sequence[ScoreRequest]) -> list[LabelScores]:
        params = self._vllm.SamplingParams(**score_kwargs(self.score_top_logprobs))
        outputs = self._chat([r.messages for r in requests], [params] * len(requests))
        return [
            LabelScores.from_logprobs(label_logprobs(first_token_alternatives(o), r.labels))
            for o, r in zip(outputs, requests, strict=True)
        ]

    def close(self) -> None:
        del self.llm

    def _chat(self, chats: Sequence[tuple[Message, ...]], params: list[Any]) -> list[Any]:
        conversations = [[{"role": m.role, "content": m.content} for m in c] for c in chats]
        try:
            return list(self.llm.chat(conversations, sampling_params=params, use_tqdm=False))
        except ValueError as exc:  # vLLM reports prompts longer than the context this way
            raise TeacherError(
                f"vLLM refused the batch: {exc}",
                hint="shorten the prompt, or set teacher.truncate_prompts: true",
            ) from None


def import_vllm() -> Any:
    """The ``vllm`` module, or a clear error when the ``gpu`` extra is not installed."""
    try:
        import vllm
    except ImportError as exc:
        raise TeacherError(
            f"the vllm teacher backend needs vLLM, which is not installed ({exc})",
            hint=f"{INSTALL_HINT}, or use teacher.backend: embedded or openai",
        ) from None
    return vllm


def create(config: TeacherConfig) -> VLLMTeacher:
    """Build the vllm backend; ``model`` is a store name, a local folder, or a hub name."""
    import_vllm()  # fail before converting or resolving any model
    return VLLMTeacher(
        _model_path(config.model),
        tensor_parallel_size=config.tensor_parallel_size,
        truncate_prompts=config.truncate_prompts,
        score_top_logprobs=config.score_top_logprobs,
    )


def _model_path(name: str) -> str:

    try:
        return str(resolve_model(name))
    except UsageError:
        return name  # a name vLLM resolves itself (e.g. from a hub mirror on the GPU runner)
