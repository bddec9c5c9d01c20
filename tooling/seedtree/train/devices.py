"""The machine training runs on: its CUDA devices (name, compute capability, memory) and its RAM.

Read once from torch; the checks that use these facts take them as a value, so that tests can
describe any machine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

# bf16 tensor cores arrived with compute capability 8.0 (Ampere: A100, A10, RTX 30xx)
BF16_CAPABILITY = (8, 0)


@dataclass(frozen=True)
class Device:
    name: str
    capability: tuple[int, int]
    memory: int  # bytes

    @property
    def bf16(self) -> bool:
        return self.capability >= BF16_CAPABILITY


@dataclass(frozen=True)
class Machine:
    cuda: tuple[Device, ...]
    host_memory: int  # bytes of RAM

    @property
    def smallest(self) -> Device | None:
        return min(self.cuda, key=lambda d: d.memory) if self.cuda else None

    def capacity(self, world: int) -> float:
        """Bytes one rank may use: the smallest GPU, or its share of the RAM without CUDA."""
        device = self.smallest
        return float(device.memory) if device else self.host_memory / max(1, world)


def host_memory() -> int:
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def detect() -> Machine:
    """This machine's CUDA devices (none when torch has no CUDA) and RAM."""
    # torch is heavy: imported only when the devices are asked for
    import torch

    devices = []
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            devices.append(Device(props.name, (props.major, props.minor), props.total_memory))
    return Machine(tuple(devices), host_memory())
