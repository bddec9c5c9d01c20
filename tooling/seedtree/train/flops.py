"""Training throughput: tokens per second and model FLOPs utilisation (MFU).

MFU is the share of the devices' peak that the model's own arithmetic would use at the measured
speed (Chowdhery et al. 2022, "PaLM", appendix B): a trained token costs ``6·P`` FLOPs for the
matrix products of forward and backward plus ``12·L·h·s`` for attention over a context of ``s``
tokens. Samples are packed but attend only within themselves, so ``s`` is the mean sample length.
Recomputation under gradient checkpointing is not counted (it is work, not model progress).
Peaks are dense bf16 tensor-core figures from the vendors' data sheets; an unknown device gets
tokens per second only.
"""

from __future__ import annotations

from dataclasses import dataclass

from seedtree.train.memory import ModelShape

TERA = 1e12
# (substring of torch.cuda.get_device_name(), dense bf16 peak in TFLOP/s); the first match wins,
# so the PCIe and NVL variants come before the SXM figure of the same chip
PEAK_BF16_TFLOPS: tuple[tuple[str, float], ...] = (
    ("H100 PCIe", 756.0),
    ("H100 NVL", 835.0),
    ("H100", 989.0),
    ("H200", 989.0),
    ("A100", 312.0),
    ("L40S", 362.0),
)


@dataclass(frozen=True)
class Throughput:
    tokens_per_s: float
    mfu: float | None  # fraction of the devices' peak; None off CUDA or on an unknown device

    def describe(self) -> str:
        speed = f"{self.tokens_per_s:,.0f} tokens/s"
        return speed if self.mfu is None else f"{speed}, MFU {self.mfu:.1%}"


def peak_flops(device_name: str) -> float | None:
    """Dense bf16 peak of one device in FLOP/s, or None when the device is not in the table."""
    for fragment, tflops in PEAK_BF16_TFLOPS:
        if fragment.lower() in device_name.lower():
            return tflops * TERA
    return None


def flops_per_token(shape: ModelShape, context: float, adapter: bool = False) -> float:
    """Training FLOPs of one token (forward and backward) at a mean context of ``context``.

    ``adapter``: a LoRA phase, whose backward pass computes no gradients of the frozen weights
    (``4·P`` instead of ``6·P``; the adapter's own products are negligible).
    """
    per_param = 4.0 if adapter else 6.0
    return per_param * shape.params + 12.0 * shape.layers * shape.hidden * context


def throughput(
    tokens: int,
    seconds: float,
    per_token: float,
    device_name: str | None,
    devices: int,
) -> Throughput:
    """Speed over all ``devices``; MFU when they are CUDA devices with a known peak."""
    speed = tokens / max(seconds, 1e-9)
    peak = peak_flops(device_name) if device_name else None
    if peak is None:
        return Throughput(speed, None)
    return Throughput(speed, speed * per_token / (peak * max(1, devices)))
