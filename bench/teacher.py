"""Teacher throughput on the embedded SmolLM2-135M-Instruct, 32 prompts, same run for each side.

1. batched: ``EmbeddedTeacher.complete`` on all 32 prompts, against the naive baseline of one
   ``model.generate`` call per prompt (as a user would write it). Target: at least 4x tokens/s.
2. HTTP overhead: the ``openai`` backend through a real ``seedtree serve`` (32 concurrent requests)
   against the embedded backend called directly, alternating, best of ``--rounds`` each.
   Target: at most 15% slower.

Run: ``.venv/bin/python bench/teacher.py [--max-tokens 48]``. Ends with ``RESULT`` lines.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from seedtree.teacher.base import Message, TeacherRequest, TeacherResponse

TOPICS = [
    "tides", "photosynthesis", "the printing press", "volcanoes", "bees", "compilers",
    "git branches", "the moon landing", "rainbows", "bread baking", "glaciers", "jazz",
    "the immune system", "chess openings", "solar panels", "coral reefs", "the Roman roads",
    "black holes", "coffee", "earthquakes", "origami", "wind turbines", "the water cycle",
    "penguins", "recycling", "the violin", "maps", "vaccines", "bicycles", "tea", "clouds",
    "libraries",
]  # fmt: skip
PROMPTS = [f"Explain {topic} to a curious child in a short paragraph." for topic in TOPICS]


def requests(max_tokens: int) -> list[TeacherRequest]:
    return [
        TeacherRequest((Message("user", p),), temperature=0.7, max_tokens=max_tokens, seed=i)
        for i, p in enumerate(PROMPTS)
    ]


def naive_tokens_per_s(model_dir: Path, max_tokens: int) -> float:
    """One ``generate`` per prompt with the tokenizer's chat template: the baseline."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    torch.manual_seed(0)
    produced, started = 0, time.perf_counter()
    for prompt in PROMPTS:
        chat = [{"role": "user", "content": prompt}]
        inputs = tok.apply_chat_template(
            chat, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        out = model.generate(
            **inputs, max_new_tokens=max_tokens, do_sample=True, temperature=0.7, top_p=1.0
        )
        produced += int(out.shape[1] - inputs["input_ids"].shape[1])
    return produced / (time.perf_counter() - started)


def timed(run: Callable[[], list[TeacherResponse]]) -> tuple[float, int]:
    started = time.perf_counter()
    responses = run()
    seconds = time.perf_counter() - started
    return seconds, sum(c.tokens for r in responses for c in r.completions)


def start_server(model_dir: Path, workdir: Path) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "SEEDTREE_HOME": str(workdir)}
    cmd = [sys.executable, "-m", "seedtree", "serve", "--port", "0", "-q"]
    proc = subprocess.Popen(
        [*cmd, "--model", str(model_dir)], cwd=workdir, env=env, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("serving "):
        proc.kill()
        raise SystemExit(f"seedtree serve did not start: {line!r}")
    return proc, line.split(" on ")[-1].strip()


def result(name: str, value: float, target: str, ok: bool) -> str:
    return f"RESULT {name}={value:.2f} target={target} {'ok' if ok else 'short'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--rounds", type=int, default=2, help="direct/HTTP rounds")
    args = parser.parse_args()

    from seedtree.models import resolve_model
    from seedtree.teacher.embedded import EmbeddedTeacher
    from seedtree.teacher.openai import OpenAITeacher

    model_dir = resolve_model("default")
    batch = requests(args.max_tokens)
    teacher = EmbeddedTeacher(model_dir, batch_size=16)
    teacher.complete(batch[:2])  # warm-up
    direct_runs = [timed(lambda: teacher.complete(batch))]
    naive = naive_tokens_per_s(model_dir, args.max_tokens)
    print(f"naive, one generate per prompt: {naive:.1f} tok/s")

    # direct and HTTP runs alternate; the best of each is compared, as the machine is shared
    http_runs = []
    with tempfile.TemporaryDirectory() as workdir:
        proc, url = start_server(model_dir, Path(workdir))
        try:
            client = OpenAITeacher([url], str(model_dir), max_in_flight=32, timeout_s=600)
            client.complete(batch[:2])  # warm-up
            for _ in range(args.rounds):
                direct_runs.append(timed(lambda: teacher.complete(batch)))
                http_runs.append(timed(lambda: client.complete(batch)))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    teacher.close()
    direct_s, direct_tokens = min(direct_runs)
    http_s, http_tokens = min(http_runs)
    batched = direct_tokens / direct_s
    overhead = http_s / min(direct_runs[1:])[0] - 1
    print(f"embedded batched: {direct_tokens} tokens in {direct_s:.1f} s = {batched:.1f} tok/s")
    print(f"openai via seedtree serve: {http_tokens} tokens in {http_s:.1f} s")

    print(result("teacher_batched_speedup", batched / naive, ">=4", batched / naive >= 4))
    print(result("teacher_http_overhead_pct", 100 * overhead, "<=15", overhead <= 0.15))


if __name__ == "__main__":
    main()
