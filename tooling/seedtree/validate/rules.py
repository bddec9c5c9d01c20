"""Every rule the validator reports: its id, default severity, what it means and what to do.

The README's rule table and the tests are driven by :data:`RULES`; a finding's ``rule`` is always
one of its keys. Severities marked *by version* are errors for files at (or held to) the latest
schema version and warnings for older files, so that legacy trees validate as they stand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

RuleSeverity = Literal["error", "warning", "by version"]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: RuleSeverity
    what: str
    fix: str


_TABLE: tuple[tuple[str, RuleSeverity, str, str], ...] = (
    (
        "file-unreadable",
        "error",
        "the path cannot be read as a file (a directory named qna.yaml, no permission)",
        "make it a readable file",
    ),
    ("file-too-large", "error", "the file is larger than `max_file_bytes`", "split the leaf"),
    ("file-encoding", "error", "binary content or invalid UTF-8", "save the file as UTF-8 text"),
    (
        "file-name",
        "error",
        "a leaf file named `qna.yml`, `QnA.yaml` or anything but exactly "
        "`qna.yaml` (other tools silently ignore it)",
        "rename it to `qna.yaml`",
    ),
    ("empty-file", "warning", "the file holds no value", "fill it in or delete the leaf"),
    (
        "yaml-syntax",
        "error",
        "the file is not valid YAML (also: unknown tags, undefined aliases, several documents)",
        "fix the YAML at the position shown",
    ),
    (
        "yaml-too-complex",
        "error",
        "nesting deeper than 64 levels, a recursive alias, or aliases expanding to more than "
        "100,000 values or repeating more than 1,000,000 bytes of text (at the alias that "
        "crosses the cap)",
        "write the values out plainly",
    ),
    (
        "duplicate-key",
        "error",
        "a mapping has the same key twice (YAML keeps only the last)",
        "merge the two entries",
    ),
    (
        "schema",
        "error",
        "the file does not match the JSON Schema of its kind and version "
        "(missing or unknown keys, wrong types, too few seed examples)",
        "follow the message",
    ),
    (
        "schema-version",
        "error",
        "`version` names no supported schema (knowledge before version 3, or an unknown version)",
        "use `version: 3` (`seedtree migrate` helps)",
    ),
    (
        "version-outdated",
        "error",
        "a changed file (or any file with `--schema-version "
        "latest`) is older than the latest schema version",
        "move it to the latest version (`seedtree migrate`)",
    ),
    (
        "leaf-location",
        "error",
        "the leaf is not inside `knowledge/`, `compositional_skills/` "
        "or `foundational_skills/` (or sits directly in one)",
        "move the leaf folder",
    ),
    (
        "leaf-type",
        "error",
        "a knowledge leaf under a skills folder, or a skill under `knowledge/`",
        "move the leaf to the folder of its type",
    ),
    (
        "nested-leaf",
        "error",
        "a folder above this leaf is itself a leaf",
        "move one of them so that leaves only sit at the ends of the tree",
    ),
    (
        "folder-name",
        "warning",
        "a folder name is not lowercase letters, digits and underscores",
        "rename the folder",
    ),
    (
        "attribution-missing",
        "by version",
        "`attribution.txt` is missing next to the `qna.yaml`",
        "add it with the five fields",
    ),
    (
        "attribution-field-missing",
        "by version",
        "an `attribution.txt` entry lacks one of: "
        "Title of work, Link to work, Revision, License of the work, Creator names",
        "add the field (write `N/A` when it does not apply)",
    ),
    (
        "license-not-allowed",
        "by version",
        "the license is not on the allow-list (`validate.allowed_licenses`)",
        "use content under an allowed license (SPDX id)",
    ),
    (
        "knowledge-extra-qa",
        "warning",
        "a knowledge context has more than 3 questions and answers; generation shows them all "
        "as examples in every prompt built on that context, longer than the LAB recipe's 3",
        "keep the best 3",
    ),
    (
        "document-repo",
        "error",
        "`document.repo` is not `.` (this repository) or an `https://` URL on "
        "`documents.allowed_hosts` (nor a folder under `documents.allowed_local`)",
        "keep the documents in this repository, or in a repository on an allowed host",
    ),
    (
        "document-repo-ssh",
        "warning",
        "`document.repo` is an SSH address (`git@github.com:owner/repo.git`, `ssh://`) on an "
        "allowed host: it is read as its https URL and fetched over https, never over SSH",
        "write the https URL",
    ),
    (
        "document-pattern",
        "error",
        "a document pattern is empty, absolute, uses `..`, reaches into `.git` or is malformed "
        "(a reversed range, an unclosed `[`, `**` inside a name, more than 3 `**`)",
        "write a glob relative to the documents repository, e.g. `docs/**/*.md`",
    ),
    (
        "document-patterns-count",
        "error",
        "`document.patterns` lists more patterns than `documents.max_patterns`",
        "name a folder with `**` instead of each file",
    ),
    (
        "symlink-outside",
        "error",
        "a symlink in the leaf folder, or one a `repo: .` pattern reaches, resolves outside "
        "the repository or into its `.git` (it is never read; nothing of such a leaf is read)",
        "replace the symlink with the file itself",
    ),
    (
        "leaf-symlink",
        "error",
        "`qna.yaml` or `attribution.txt` is a symlink (even one inside the repository): leaf "
        "files must be regular files, and no other stage loads such a leaf",
        "replace the symlink with a copy of the file",
    ),
    (
        "folder-depth",
        "error",
        "a folder more than 32 levels below the taxonomy root (every walk stops there: nothing "
        "below it is read)",
        "flatten the tree",
    ),
    (
        "document-commit",
        "warning",
        "`document.commit` is not a full 40-character SHA (ambiguous)",
        "use the full commit SHA",
    ),
    (
        "document-commit-ref",
        "error",
        "`repo: .` (or a local folder) with a `commit` that is not a full SHA: a branch, a "
        "stash or a reflog entry reads revisions that were never published",
        "write the full SHA of a pushed commit",
    ),
    (
        "context-mixed",
        "error",
        "some skill seed examples have a `context` and others do not",
        "give every seed a context (grounded skill) or none (freeform skill)",
    ),
    (
        "duplicate-seed",
        "error",
        "a seed repeats another word for word: the same context, question and answer "
        "(in knowledge leaves: the same question and answer over the same context)",
        "remove one of them",
    ),
    (
        "repeated-question",
        "warning",
        "the same question over the same context appears again with another answer "
        "(InstructLab accepts it, and skills use it to show the range of good answers)",
        "keep it if the answers show different good answers; otherwise ask another question",
    ),
    (
        "near-duplicate-question",
        "warning",
        "two questions over the same context differ only in case, spacing or punctuation",
        "make the seeds more diverse",
    ),
    (
        "near-duplicate-context",
        "warning",
        "two knowledge seeds have the same context, or contexts that differ only in case, "
        "spacing or punctuation",
        "give each seed another passage of the documents",
    ),
    (
        "context-too-long",
        "warning",
        "a context is longer than `max_context_words` words",
        "shorten it",
    ),
    (
        "qa-too-long",
        "warning",
        "a question and its answer together are longer than `max_qa_words` words",
        "shorten them",
    ),
    (
        "trailing-spaces",
        "error",
        "spaces or tabs at the end of a line (version 2 and later, as yamllint's relaxed preset)",
        "remove them (`seedtree fmt`)",
    ),
    (
        "new-line-at-end-of-file",
        "error",
        "the last line has no newline (version 2 and later)",
        "end the file with a newline (`seedtree fmt`)",
    ),
    ("new-lines", "warning", "Windows (CRLF) line endings", "save with Unix line endings"),
    (
        "empty-lines",
        "warning",
        "more than 2 blank lines in a row, or blank lines at the start or end of the file",
        "remove the extra blank lines",
    ),
    (
        "indentation",
        "warning",
        "indentation not consistent with the rest of the file",
        "indent consistently (`seedtree fmt`)",
    ),
    ("hyphens", "warning", "more than one space after a list hyphen", "use one space"),
    ("colons", "warning", "spaces before a colon, or more than one after it", "write `key: value`"),
    (
        "secret",
        "error",
        "a private key or an access token in the leaf or its documents",
        "remove it (and revoke it: it is in your git history)",
    ),
    (
        "personal-data",
        "warning",
        "an e-mail address or a phone number; not reserved example domains (`example.com`, "
        "`.org`, `.net`, `*.example`, `*.invalid`, `*.test`) nor placeholder numbers "
        "(`555-0100` to `555-0199`, groups of one repeated digit, runs like `123-456-7890`), "
        "nor a repository's SSH address (`git@github.com:owner/repo`)",
        "remove it unless it is meant to be public",
    ),
    (
        "documents",
        "error",
        "a referenced document cannot be resolved (`--documents`)",
        "fix `document.repo`, `commit` or `patterns`",
    ),
    (
        "document-limit",
        "error",
        "a leaf's documents (counted by what they resolve to: symlinks to one file count once) "
        "cross `documents.max_leaf_documents` or `max_leaf_bytes`, or a run's cross "
        "`max_run_documents` or `max_run_bytes` (`--documents`; at the pattern that crosses it)",
        "name fewer or smaller documents",
    ),
)

RULES: dict[str, Rule] = {row[0]: Rule(*row) for row in _TABLE}
