"""Answering prompts with a student model: stop tokens and one batched ``generate`` call.

Shared by ``seedtree chat`` and the report's answers side by side, so that what the report shows
is what a user gets from the same version.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from seedtree.config import ChatConfig

STOP_TOKENS = ("<|endoftext|>", "<|im_end|>")


def stop_ids(tokenizer: Any) -> list[int]:
    """The end-of-sequence id and the chat templates' end-of-turn ids the tokenizer knows."""
    ids = {tokenizer.eos_token_id}
    for token in STOP_TOKENS:
        found = tokenizer.convert_tokens_to_ids(token)
        if isinstance(found, int) and found != tokenizer.unk_token_id:
            ids.add(found)
    return sorted(i for i in ids if i is not None)


def answer_prompts(
    model: Any, tokenizer: Any, prompts: Sequence[str], max_tokens: int, decoding: ChatConfig
) -> list[str]:
    """The model's answer to each prompt text (one left-padded batch)."""
    import torch  # heavy: only when answering

    stops = stop_ids(tokenizer)
    tokenizer.padding_side = "left"
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stops[0]
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token_id = pad
    batch: Any = tokenizer(
        list(prompts), return_tensors="pt", padding=True, add_special_tokens=False
    )
    inputs = {k: v.to(model.device) for k, v in batch.items()}
    with torch.no_grad():
        out = model.generate(
            **inputs,
            max_new_tokens=max_tokens,
            eos_token_id=stops,
            pad_token_id=pad,
            **decoding.generate_kwargs(),
        )
    width = inputs["input_ids"].shape[1]
    return [str(tokenizer.decode(row[width:], skip_special_tokens=True)).strip() for row in out]
