"""A key/value cache allocated once per batch, for the embedded teacher's decoding loop.

transformers' ``DynamicCache`` appends each new token by concatenation, which copies the whole
cache of every layer at every step: for a batch of 700-token prompts that is most of a step's
time on a CPU. :func:`preallocated_cache` gives a cache of the same type whose layers reserve room
for the prompt and the answer up front and write each new token in place. The model sees the same
keys and values (a view of the filled part of the buffer), so the logits are the same.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from transformers import DynamicCache


def preallocated_cache(config: Any, capacity: int) -> DynamicCache:
    """A ``DynamicCache`` for ``config`` whose layers hold ``capacity`` positions before growing."""
    from transformers import DynamicCache

    cache = DynamicCache(config=config)
    layer = _layer_class()
    cache.layers = [layer(capacity) for _ in cache.layers]
    return cache


@functools.cache
def _layer_class() -> type[Any]:
    """The layer type, defined on first use so that importing this module does not load torch."""
    from transformers.cache_utils import DynamicLayer

    class PreallocatedLayer(DynamicLayer):  # type: ignore[misc]
        """A layer whose ``keys``/``values`` are views of the filled part of a larger buffer."""

        def __init__(self, capacity: int) -> None:
            super().__init__()
            self.capacity = capacity
            self.key_buffer: torch.Tensor | None = None
            self.value_buffer: torch.Tensor | None = None

        def update(
            self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any
        ) -> tuple[torch.Tensor, torch.Tensor]:
            start = self.get_seq_length()
            end = start + key_states.shape[-2]
            if self.key_buffer is None or end > self.key_buffer.shape[-2]:
                self._grow(key_states, value_states, max(end, self.capacity, 2 * start))
            assert self.key_buffer is not None and self.value_buffer is not None
            self.key_buffer[:, :, start:end] = key_states
            self.value_buffer[:, :, start:end] = value_states
            self.keys = self.key_buffer[:, :, :end]
            self.values = self.value_buffer[:, :, :end]
            self.is_initialized = True
            return self.keys, self.values

        def _grow(self, keys: torch.Tensor, values: torch.Tensor, length: int) -> None:
            """New buffers of ``length`` positions holding what is cached so far."""
            self.dtype, self.device = keys.dtype, keys.device
            shape = (keys.shape[0], keys.shape[1], length)
            key_buffer = keys.new_zeros((*shape, keys.shape[-1]))
            value_buffer = values.new_zeros((*shape, values.shape[-1]))
            if self.key_buffer is not None:
                filled = self.get_seq_length()
                key_buffer[:, :, :filled] = self.keys
                value_buffer[:, :, :filled] = self.values
            self.key_buffer, self.value_buffer = key_buffer, value_buffer

        def get_seq_length(self) -> int:
            return 0 if self.keys is None or self.keys.dim() < 3 else int(self.keys.shape[-2])

        def batch_select_indices(self, indices: torch.Tensor) -> None:
            if self.key_buffer is None or self.value_buffer is None:
                return
            filled = self.get_seq_length()
            self.key_buffer = self.key_buffer[indices]
            self.value_buffer = self.value_buffer[indices]
            self.keys = self.key_buffer[:, :, :filled]
            self.values = self.value_buffer[:, :, :filled]

    return PreallocatedLayer


__all__ = ["preallocated_cache"]
