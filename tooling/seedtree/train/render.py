"""Rendering samples to token ids with next-token targets on the trained tokens only.

Two templates: the student's own chat template, or the Labradorite (LAB) template
``<|system|>\\n{system}\\n<|user|>\\n{input}\\n<|assistant|>\\n{answer}<|endoftext|>`` (its special
tokens are added to the tokenizer when missing). A sample is rendered in three parts (system,
prompt, answer), each tokenized on its own, so the answer's tokens are exactly what a model
generates after the prompt. A pre-training sample (:attr:`Sample.pretrain`: a document chunk or a
summary of one) is plain text between two document separators (``<|endoftext|>`` when the
tokenizer has it, else its end-of-sequence token), with no template and no system prompt, and
every token of the text and the closing separator is trained on. Samples longer than
``max_seq_len`` are dropped and counted, never truncated.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from seedtree.errors import ConfigError
from seedtree.samples import Sample

IGNORE = -100
LAB_TOKENS = ("<|system|>", "<|user|>", "<|assistant|>", "<|endoftext|>")
# the LAB template as a chat template, saved with LAB-trained models so that chat uses it too
LAB_CHAT_TEMPLATE = (
    "{% for m in messages %}"
    "{% if m['role'] == 'assistant' %}<|assistant|>\n{{ m['content'] }}<|endoftext|>"
    "{% else %}<|{{ m['role'] }}|>\n{{ m['content'] }}\n{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


@dataclass(frozen=True)
class Encoded:
    """One rendered sample: ``targets[t]`` is the token to predict at ``t`` (or IGNORE)."""

    sample_id: str
    leaf: str
    input_ids: tuple[int, ...]
    targets: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def trained_tokens(self) -> int:
        return sum(1 for t in self.targets if t != IGNORE)


@dataclass(frozen=True)
class Rendered:
    encoded: list[Encoded]
    dropped: Counter[str]  # over-length samples dropped, per leaf


def add_lab_tokens(tokenizer: Any) -> int:
    """Add the LAB special tokens the tokenizer lacks; return how many were added."""
    from tokenizers import AddedToken

    vocab = tokenizer.get_vocab()
    missing = [t for t in LAB_TOKENS if t not in vocab]
    if missing:
        tokenizer.add_tokens([AddedToken(t, special=True) for t in missing], special_tokens=True)
    tokenizer.chat_template = LAB_CHAT_TEMPLATE
    return len(missing)


class Renderer:
    """Turns samples into :class:`Encoded` for one tokenizer, template and system prompt."""

    def __init__(
        self,
        tokenizer: Any,
        template: Literal["chat", "lab"],
        system_prompt: str | None,
        max_seq_len: int,
    ) -> None:
        self.tokenizer = tokenizer
        self.template = template
        self.system_prompt = system_prompt
        self.max_seq_len = max_seq_len

    def parts(self, system: str, user: str, answer: str) -> tuple[str, str, str]:
        """The text of the system part, the rest of the prompt, and the answer."""
        if self.template == "lab":
            return (
                f"<|system|>\n{system}\n",
                f"<|user|>\n{user}\n<|assistant|>\n",
                f"{answer}<|endoftext|>",
            )
        return self._chat_parts(system, user, answer)

    def _chat_parts(self, system: str, user: str, answer: str) -> tuple[str, str, str]:
        msgs = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        apply = self.tokenizer.apply_chat_template
        sys_text = apply(msgs[:1], tokenize=False)
        prompt = apply(msgs, tokenize=False, add_generation_prompt=True)
        full = apply([*msgs, {"role": "assistant", "content": answer}], tokenize=False)
        if not (prompt.startswith(sys_text) and full.startswith(prompt)):
            raise ConfigError(
                "the student's chat template does not render a conversation as a prefix of its "
                "continuation, so answer tokens cannot be located",
                hint="set 'template: lab' in the training recipe",
            )
        return sys_text, prompt[len(sys_text) :], full[len(prompt) :]

    def _ids(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def separator(self) -> list[int]:
        """The document separator of pre-training text (none when the tokenizer has neither)."""
        vocab = self.tokenizer.get_vocab()
        if "<|endoftext|>" in vocab:
            return [int(vocab["<|endoftext|>"])]
        eos = getattr(self.tokenizer, "eos_token_id", None)
        return [] if eos is None else [int(eos)]

    def encode_text(self, sample: Sample) -> Encoded:
        """A pre-training sample: every token after the opening separator is a target."""
        sep = self.separator()
        ids = sep + self._ids(sample.assistant) + sep
        labels = [IGNORE] * len(sep) + ids[len(sep) :]
        if not sep:
            labels[0] = IGNORE  # nothing comes before the first token to predict it from
        return Encoded(sample.id, sample.leaf, tuple(ids), (*labels[1:], IGNORE))

    def encode(self, sample: Sample) -> Encoded:
        if sample.pretrain:
            return self.encode_text(sample)
        system = sample.system if self.system_prompt is None else self.system_prompt
        sys_text, prompt_text, answer_text = self.parts(system, sample.user, sample.assistant)
        sys_ids, prompt_ids, answer_ids = map(self._ids, (sys_text, prompt_text, answer_text))
        ids = sys_ids + prompt_ids + answer_ids
        trained_from = len(sys_ids) if sample.unmask else len(sys_ids) + len(prompt_ids)
        labels = [IGNORE] * trained_from + ids[trained_from:]
        targets = (*labels[1:], IGNORE)
        return Encoded(sample.id, sample.leaf, tuple(ids), targets)

    def encode_all(self, samples: Iterable[Sample]) -> Rendered:
        kept: list[Encoded] = []
        dropped: Counter[str] = Counter()
        for sample in samples:
            enc = self.encode(sample)
            if len(enc) > self.max_seq_len or enc.trained_tokens == 0:
                dropped[sample.leaf] += 1
            else:
                kept.append(enc)
        return Rendered(kept, dropped)


def prompt_text(renderer: Renderer, system: str, user: str) -> str:
    """The text a model is given to answer ``user`` (as trained)."""
    sys_text, rest, _ = renderer.parts(system, user, "")
    return sys_text + rest


def lengths(encoded: Sequence[Encoded]) -> list[int]:
    return [len(e) for e in encoded]
