"""``seedtree chat``: talk to a released model version as it was trained.

The template (the student's chat template, or LAB's) and the system prompt come from the
version's ``chat.json``, written with its artifacts from the recipe it was trained with, with the
decoding settings (``chat`` in seedtree.yaml). Answers are greedy with repetition control (a small
model left to greedy decoding repeats itself), so a script asking the same question of the same
version gets the same answer; ``--temperature``/``--top-p`` sample instead.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from seedtree.config import ChatConfig
from seedtree.errors import UsageError
from seedtree.project import Project
from seedtree.train.engine import device
from seedtree.train.loop import load_model, load_tokenizer
from seedtree.versions.artifacts import local_artifacts
from seedtree.versions.decoding import answer_prompts
from seedtree.versions.lineage import Release
from seedtree.versions.tags import current_release, find_release

EXIT_WORDS = {"/exit", "/quit", "exit", "quit"}


class ChatSession:
    """One conversation with one model folder (history kept across turns)."""

    def __init__(self, model_dir: Path, settings: ChatSettings) -> None:

        self.tokenizer = load_tokenizer(model_dir, settings.template)
        self.model = load_model(model_dir, len(self.tokenizer)).to(device())
        self.model.eval()
        self.settings = settings
        self.history: list[dict[str, str]] = []

    def reset(self) -> None:
        self.history = []

    def _messages(self, text: str) -> list[dict[str, str]]:
        prompt = self.settings.system_prompt
        system = [{"role": "system", "content": prompt}] if prompt else []
        return [*system, *self.history, {"role": "user", "content": text}]

    def answer(self, text: str, max_tokens: int = 256) -> str:
        prompt = self.tokenizer.apply_chat_template(
            self._messages(text), tokenize=False, add_generation_prompt=True
        )
        (reply,) = answer_prompts(
            self.model, self.tokenizer, [prompt], max_tokens, self.settings.decoding
        )
        self.history += [{"role": "user", "content": text}, {"role": "assistant", "content": reply}]
        return reply


class ChatSettings(BaseModel):
    """``chat.json``: how a version was trained to be spoken to, and how it answers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    template: Literal["chat", "lab"]
    system_prompt: str | None
    decoding: ChatConfig = ChatConfig()


def chat_settings(
    template: Literal["chat", "lab"], system: str | None, decoding: ChatConfig
) -> dict[str, Any]:
    """The JSON of ``chat.json`` for a version's artifacts."""
    return ChatSettings(template=template, system_prompt=system, decoding=decoding).model_dump(
        mode="json"
    )


def override_decoding(base: ChatConfig, chosen: Mapping[str, float]) -> ChatConfig:
    """``base`` with the command line's ``temperature``/``top_p``; a bad value is a usage error."""
    try:
        return ChatConfig.model_validate({**base.model_dump(), **chosen})
    except ValidationError as exc:
        problems = "; ".join(
            f"--{e['loc'][0]}".replace("_", "-") + f": {e['msg']}" for e in exc.errors()
        )
        raise UsageError(f"decoding options: {problems}") from None


def read_chat_settings(path: Path) -> ChatSettings:
    try:
        return ChatSettings.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: unreadable chat settings: {exc}") from None


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


def open_session(
    project: Project, version: str | None, overrides: Mapping[str, float | None] | None = None
) -> tuple[Release, ChatSession]:
    """A session with ``version``; ``overrides`` (temperature, top_p) replace its decoding."""
    release = _release(project, version)
    folder = local_artifacts(project.repo_root, project.config.store, release)
    settings = read_chat_settings(folder / "chat.json")
    chosen = {k: v for k, v in (overrides or {}).items() if v is not None}
    if chosen:
        settings = settings.model_copy(
            update={"decoding": override_decoding(settings.decoding, chosen)}
        )
    return release, ChatSession(folder / "model", settings)


def repl(release: Release, session: ChatSession, max_tokens: int) -> None:
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
