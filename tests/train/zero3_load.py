"""One rank of a ZeRO-3 load, launched by torchrun: its peak host memory, and what it loaded.

``python -m torch.distributed.run --nproc_per_node 2 tests/train/zero3_load.py WARM MODEL
VOCAB MODE OUT`` loads MODEL as the training loop does, with MODE ``partitioned`` (under the
ZeRO-3 config: ``deepspeed.zero.Init``) or ``whole`` (every rank the whole model, as before),
resizing the vocabulary to VOCAB, reads every element it holds (a memory-mapped load is resident
only once read), and writes ``OUT/rank<N>.json``: the resident memory before the load, its peak
during the load and what stays after it, the elements this rank holds, and
(gathered) the first and the new embedding rows. The small model WARM is loaded the same way
first: DeepSpeed's and the process group's buffers are allocated once, whatever the model's size,
and are not what a larger model multiplies.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024  # kB
    raise RuntimeError(f"/proc/self/status has no {field}")


def reset_peak() -> int:
    """Start measuring the peak anew (Linux: writing 5 to clear_refs resets VmHWM); RSS now."""
    Path("/proc/self/clear_refs").write_text("5", encoding="utf-8")
    return _status("VmRSS")


def peak_bytes() -> int:
    return _status("VmHWM")


def main(warm: Path, model_dir: Path, vocab: int, mode: str, out: Path) -> None:
    import deepspeed
    import torch

    from seedtree.train.engine import init_distributed, partitioned_loading
    from seedtree.train.loop import load_model
    from seedtree.train.recipe import recipe_from_dict

    dist = init_distributed(True)
    recipe = recipe_from_dict(
        {
            "precision": "fp32",
            "phases": [{"name": "p", "select": {}, "lr": 0.0, "effective_batch": 2}],
        }
    )
    config = {"zero_optimization": {"stage": 3 if mode == "partitioned" else 0}}
    with partitioned_loading(config, recipe, 1):
        load_model(warm, vocab)
    before = reset_peak()
    with partitioned_loading(config, recipe, 1):
        model = load_model(model_dir, vocab)
    # read every element this rank holds: a memory-mapped whole load is resident only once read,
    # as it is once training starts
    for p in model.parameters():
        float(getattr(p, "ds_tensor", p).float().sum())
    after = peak_bytes()
    held = _status("VmRSS")
    local = sum(int(getattr(p, "ds_tensor", p).numel()) for p in model.parameters())
    embed = model.get_input_embeddings().weight
    with deepspeed.zero.GatheredParameters([embed], enabled=mode == "partitioned"):
        rows = embed.shape[0]
        first = embed[:2, :4].tolist()
        new_finite = bool(torch.isfinite(embed[-4:]).all())
    report = {
        "rank": dist.rank,
        "before": before,
        "after": after,
        "held": held,
        "local_elements": local,
        "rows": rows,
        "first": first,
        "new_rows_finite": new_finite,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / f"rank{dist.rank}.json").write_text(json.dumps(report), encoding="utf-8")
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()
    # the report is written: leave without the interpreter's teardown, where a thread of the
    # communication stack was seen to abort the process ("terminate called without an active
    # exception") in 2 of 6 runs, after all the work was done
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4], Path(sys.argv[5]))
