"""The embedded teacher's precision, chosen from the CPU it runs on, and that CPU's description.

``auto`` takes bfloat16 where the hardware computes it (a GPU, or a CPU with ``avx512_bf16`` or
``amx_bf16``), float32 elsewhere; ``quantize: auto`` then generates with int8 weights on a CPU
that would run float32. Every benchmark prints :func:`cpu_description` beside its figures.
"""

from __future__ import annotations

import os
from pathlib import Path

from seedtree.errors import UsageError


def pick_dtype(dtype: str, device: str, cpu_flags: str | None = None) -> str:
    """``float32`` or ``bfloat16``: ``auto`` takes bfloat16 where the hardware computes it.

    On a CPU, bfloat16 halves the weights read at every decoding step, but without native
    bfloat16 instructions (``avx512_bf16``, ``amx_bf16``) torch emulates it, slower than float32.
    """
    if dtype != "auto":
        return dtype
    if device.startswith("cuda"):
        return "bfloat16"
    flags = _cpu_flags() if cpu_flags is None else cpu_flags
    native = {"avx512_bf16", "amx_bf16"} & set(flags.split())
    return "bfloat16" if native else "float32"


PRECISION_SUFFIX = {"float32": "", "bfloat16": "+bf16", "int8": "+int8"}


def pick_precision(dtype: str, quantize: str, device: str, cpu_flags: str | None = None) -> str:
    """``float32``, ``bfloat16`` or ``int8`` (int8 weights, float32 activations; CPU only).

    ``quantize: auto`` takes int8 where the weights would otherwise be float32 on a CPU: the
    path of CPUs without native bfloat16, where int8 matrix products (fbgemm) read a quarter of
    the bytes of float32 at each decoding step.
    """
    explicit = quantize == "int8" and dtype == "auto"  # int8 asked for: its base is float32
    floating = "float32" if explicit else pick_dtype(dtype, device, cpu_flags)
    on_cpu = device == "cpu"
    if quantize == "none" or (quantize == "auto" and not (on_cpu and floating == "float32")):
        return floating
    if not on_cpu:
        raise UsageError(
            f"teacher.quantize: int8 runs on the CPU only, and the device is {device}",
            hint="set teacher.quantize: none (or auto) on a GPU",
        )
    if floating != "float32":
        raise UsageError(
            f"teacher.quantize: int8 quantizes float32 weights, and teacher.dtype is {dtype}",
            hint="set teacher.dtype: float32 (or auto), or teacher.quantize: none",
        )
    return "int8"


def _cpuinfo(field: str) -> str:
    """The first ``field`` of /proc/cpuinfo ("" where there is none, as off Linux)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:  # not Linux: no way to tell, so the safe choice
        return ""
    lines = (line for line in text.splitlines() if line.startswith(field))
    return next(lines, "").partition(":")[2]


def _cpu_flags() -> str:
    return _cpuinfo("flags")


def cpu_description() -> str:
    """What a measured figure ran on: the CPU's name, cores, and whether it has native bfloat16
    (the embedded teacher's ``auto`` path: bfloat16 with it, float32 without)."""
    name = _cpuinfo("model name").strip() or "unknown CPU"
    native = {"avx512_bf16", "amx_bf16"} & set(_cpu_flags().split())
    bf16 = f"native bfloat16 ({', '.join(sorted(native))})" if native else "no native bfloat16"
    limited = os.environ.get("ATEN_CPU_CAPABILITY")  # torch's kernels held to an older ISA
    kernels = f", torch kernels limited to {limited}" if limited else ""
    return f"{name}, {os.cpu_count()} cores, {bf16}{kernels}"
