"""Publishing to a local git repository: what launch does when no GITHUB_TOKEN is set.

The repository lives in the data directory (`<data dir>/repos/<name>`), is a normal git
repository with a work tree on branch `main`, and can be cloned with `git clone <path>`. It is
written with the `git` command line (no library), under a fixed author, with the user's global and
system git configuration and hooks switched off so a person's setup never changes what we commit.

Idempotent: the work tree is made to hold exactly the published files; when that changes nothing,
no commit is made and the current commit is reported again.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from activities.site import safe_path

AUTHOR_NAME = "Boardroom"
AUTHOR_EMAIL = "boardroom@localhost"
BRANCH = "main"
GIT_TIMEOUT_S = 60


class GitUnavailable(RuntimeError):
    """The `git` command is not installed (retrying cannot fix that)."""


class GitFailed(RuntimeError):
    """A git command failed; its stderr is in the message."""


@dataclass(frozen=True)
class LocalPublish:
    path: Path
    commit: str
    committed: bool
    files: list[str]


class LocalGitRepository:
    """One repository on disk, written through the git CLI."""

    def __init__(self, path: Path, git: str = "git") -> None:
        self.path = path
        self.git_bin = git

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update(
            {
                "GIT_CONFIG_NOSYSTEM": "1",
                "GIT_CONFIG_GLOBAL": os.devnull,
                "GIT_TERMINAL_PROMPT": "0",
                "GIT_AUTHOR_NAME": AUTHOR_NAME,
                "GIT_AUTHOR_EMAIL": AUTHOR_EMAIL,
                "GIT_COMMITTER_NAME": AUTHOR_NAME,
                "GIT_COMMITTER_EMAIL": AUTHOR_EMAIL,
                "LC_ALL": "C",
            }
        )
        return env

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [
            self.git_bin,
            "-c",
            "core.hooksPath=" + os.devnull,
            "-c",
            "commit.gpgsign=false",
            "-c",
            "core.autocrlf=false",
            *args,
        ]
        try:
            done = subprocess.run(  # noqa: S603 (fixed program, arguments are ours)
                cmd,
                cwd=self.path,
                env=self._env(),
                capture_output=True,
                text=True,
                timeout=GIT_TIMEOUT_S,
                check=False,
            )
        except FileNotFoundError:
            raise GitUnavailable(
                f"`{self.git_bin}` is not installed: cannot publish to a local git repository"
            ) from None
        if check and done.returncode != 0:
            raise GitFailed(f"git {args[0]} failed ({done.returncode}): {done.stderr.strip()[:300]}")
        return done

    def _ensure(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        if not (self.path / ".git").is_dir():
            self.git("init", "--quiet", "--initial-branch", BRANCH)

    def head(self) -> str | None:
        done = self.git("rev-parse", "--verify", "--quiet", "HEAD", check=False)
        return done.stdout.strip() or None

    def tracked(self) -> list[str]:
        out = self.git("ls-files", "-z").stdout
        return [p for p in out.split("\0") if p]

    def head_files(self) -> list[str]:
        """The files of the current commit (empty before the first one)."""
        if self.head() is None:
            return []
        out = self.git("ls-tree", "-r", "-z", "--name-only", "HEAD").stdout
        return [p for p in out.split("\0") if p]

    def publish(self, files: dict[str, str], message: str) -> LocalPublish:
        """Make the repository hold exactly `files` and commit if anything changed."""
        wanted: dict[str, str] = {}
        for path, content in files.items():
            safe = safe_path(path)
            if safe is None:
                raise ValueError(f"refusing to write {path!r} outside the repository or into .git")
            wanted[safe] = content
        self._ensure()
        root = self.path.resolve()
        for rel in self.tracked():
            if rel not in wanted:
                (root / rel).unlink(missing_ok=True)
        for rel, content in wanted.items():
            target = (root / rel).resolve()
            if root not in target.parents:
                raise ValueError(f"refusing to write {rel!r} outside the repository")
            data = content.encode("utf-8")
            if not target.is_file() or target.read_bytes() != data:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        self.git("add", "--all", "--", *sorted(wanted))
        self.git("add", "--update")
        staged = self.git("diff", "--cached", "--quiet", check=False).returncode != 0
        committed = False
        if staged or self.head() is None:
            self.git("commit", "--quiet", "--allow-empty", "-m", message)
            committed = True
        head = self.head()
        assert head is not None
        return LocalPublish(path=root, commit=head, committed=committed, files=sorted(wanted))
