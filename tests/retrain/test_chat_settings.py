"""Chat's decoding settings: repetition control by default, recorded in chat.json, overridable."""

from __future__ import annotations

from pathlib import Path

import pytest

from seedtree.atomic import write_json
from seedtree.config import ChatConfig
from seedtree.errors import UsageError
from seedtree.versions.chat import chat_settings, override_decoding, read_chat_settings


def test_defaults_control_repetition_and_stay_greedy() -> None:
    kwargs = ChatConfig().generate_kwargs()
    assert kwargs["do_sample"] is False
    assert kwargs["repetition_penalty"] > 1.0 and kwargs["no_repeat_ngram_size"] > 0


def test_temperature_or_top_p_switch_to_sampling() -> None:
    kwargs = ChatConfig(top_p=0.9).generate_kwargs()
    assert kwargs["do_sample"] and kwargs["top_p"] == 0.9 and kwargs["temperature"] == 1.0


def test_decoding_round_trips_through_chat_json(tmp_path: Path) -> None:
    decoding = ChatConfig(repetition_penalty=1.3, no_repeat_ngram_size=4, temperature=0.7)
    path = tmp_path / "chat.json"
    write_json(path, chat_settings("chat", "Be brief.", decoding))
    read = read_chat_settings(path)
    assert (read.template, read.system_prompt, read.decoding) == ("chat", "Be brief.", decoding)


def test_chat_json_of_older_versions_gets_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "chat.json"
    write_json(path, {"template": "lab", "system_prompt": None})
    assert read_chat_settings(path).decoding == ChatConfig()


def test_a_broken_chat_json_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "chat.json"
    path.write_text('{"template": "chat", "system_prompt": null, "decoding": {"top_p": 7}}')
    with pytest.raises(UsageError, match=r"chat\.json: unreadable chat settings"):
        read_chat_settings(path)


def test_command_line_overrides_keep_the_recorded_repetition_control() -> None:
    recorded = ChatConfig(repetition_penalty=1.3)
    chosen = override_decoding(recorded, {"temperature": 0.8})
    assert chosen.temperature == 0.8 and chosen.repetition_penalty == 1.3
    with pytest.raises(UsageError, match="--top-p: "):
        override_decoding(recorded, {"top_p": 1.5})
