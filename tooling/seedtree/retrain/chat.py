"""``seedtree chat``: talk to a released model version as it was trained.

The template (the student's chat template, or LAB's) and the system prompt come from the
version's ``chat.json``, written with its artifacts from the recipe it was trained with. Answers
are greedy, so a script asking the same question of the same version gets the same answer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from seedtree.errors import EXIT_OK, UsageError
from seedtree.project import Project
from seedtree.retrain.release import Release, current_release, find_release, local_artifacts
from seedtree.train.engine import device
from seedtree.train.loop import load_model, load_tokenizer

EXIT_WORDS = {"/exit", "/quit", "exit", "quit"}


class ChatSession:
    """One conversation with one model folder (history kept across turns)."""

    def __init__(self, model_dir: Path, template: str, system_prompt: str | None) -> None:

        self.tokenizer = load_tokenizer(model_dir, template)
        self.model = load_model(model_dir, len(self.tokenizer)).to(device())
        self.model.eval()
        self.system_prompt = system_prompt
        self.history: list[dict[str, str]] = []
        self.stop_ids = self._stop_ids()

    def _stop_ids(self) -> list[int]:
        ids = {self.tokenizer.eos_token_id}
        for token in ("<|endoftext|>", "<|im_end|>"):
            found = self.tokenizer.convert_tokens_to_ids(token)
            if isinstance(found, int) and found != self.tokenizer.unk_token_id:
                ids.add(found)
        return sorted(i for i in ids if i is not None)

    def reset(self) -> None:
        self.history = []

    def _messages(self, text: str) -> list[dict[str, str]]:
        system = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        return [*system, *self.history, {"role": "user", "content": text}]

    def answer(self, text: str, max_tokens: int = 256) -> str:
        import torch

        prompt = self.tokenizer.apply_chat_template(
            self._messages(text), tokenize=False, add_generation_prompt=True
        )
        encoded: Any = self.tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        inputs = {k: v.to(self.model.device) for k, v in encoded.items()}
        with torch.no_grad():
            out = self.model.generate(
                **inputs,
                max_new_tokens=max_tokens,
                do_sample=False,
                eos_token_id=self.stop_ids,
                pad_token_id=self.tokenizer.pad_token_id or self.stop_ids[0],
            )
        new = out[0][inputs["input_ids"].shape[1] :]
        reply = str(self.tokenizer.decode(new, skip_special_tokens=True)).strip()
        self.history += [{"role": "user", "content": text}, {"role": "assistant", "content": reply}]
        return reply


def _release(project: Project, version: str | None) -> Release:
    if version is not None:
        return find_release(project.repo_root, version)
    current = current_release(project.repo_root)
    if current is None:
        raise UsageError(
            f"no model version in {project.repo_root} yet",
            hint="`seedtree retrain` releases v1 (`seedtree models history` lists versions)",
        )
    return current


def open_session(project: Project, version: str | None) -> tuple[Release, ChatSession]:
    release = _release(project, version)
    folder = local_artifacts(project.repo_root, project.config.store, release)
    settings = json.loads((folder / "chat.json").read_text(encoding="utf-8"))
    session = ChatSession(folder / "model", settings["template"], settings["system_prompt"])
    return release, session


def _repl(release: Release, session: ChatSession, max_tokens: int) -> None:
    print(f"chatting with {release.version} ({release.commit[:12]}); /reset clears, /exit quits")
    while True:
        try:
            text = input("you> ").strip()
        except EOFError:
            print()
            return
        if text in EXIT_WORDS:
            return
        if text == "/reset":
            session.reset()
            continue
        if text:
            print(f"{release.version}> {session.answer(text, max_tokens)}")


def chat_command(
    project: Project, version: str | None, prompt: str | None, max_tokens: int = 256
) -> int:
    """One answer to ``prompt`` (printed alone), or an interactive conversation."""
    release, session = open_session(project, version)
    if prompt is not None:
        print(session.answer(prompt, max_tokens))
        return EXIT_OK
    _repl(release, session, max_tokens)
    return EXIT_OK
