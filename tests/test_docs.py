"""Every command in README.md and docs/*.md runs, as written, in a temporary project.

The code blocks are read from the Markdown files themselves, so an example added later is
tested without editing this file. What a block is depends on its fence's language tag:

* ``bash`` / ``sh``: shell commands, run in order with ``bash -eu -o pipefail`` (a failing
  command fails the test, naming the file and line of its block);
* ``python``: a script, run with the project's Python;
* no tag: text (program output, formulas); a block whose lines start with ``$ `` is a terminal
  transcript: each command is run and the output shown must appear (``...`` matches anything);
* any other tag (``yaml``, ``sql``, ``cron``, ...) must carry one of the markers below, else
  the test fails: every block is either run or explicitly not.

A marker is an HTML comment (invisible on GitHub) on the line right above the fence:

* ``<!-- doc-test: file NAME -->``: the block is the content of the file NAME (for example a
  configuration that a later command reads); it is written before the next block runs;
* ``<!-- doc-test: server URL -->``: the block starts a server that runs until stopped
  (``mlflow ui``, ``mlflow models serve``); it runs in the background until URL answers, and is
  stopped at the end of the document. Its port is replaced by a free one in this block and in
  the document's later blocks (as ``:PORT``, ``-p PORT`` and ``--port PORT``), so that the test
  can run beside a real server;
* ``<!-- doc-test: needs java -->``: the block runs Spark; without ``java`` on ``PATH`` it is
  skipped (and fails under ``CI=true``, like the shared data);
* ``<!-- doc-test: illustrative: REASON -->``: the block is not run. Keep these rare: they are
  for what cannot run inside a test suite (the suite itself, a crontab, pseudo-code).

The project: a temporary directory holding the repository's ``pyproject.toml`` (so that it is the
project root of the default MLflow store), ``.venv`` (a link to the environment running the tests,
for the documented ``.venv/bin/...`` paths) and, next to it, ``../shared/data`` with the real data
sets that exist on this machine. A document that names ``../shared/data/NAME`` needs that data set:
it is skipped when absent, except under ``CI=true`` (where it fails). Before the documents run, the
project gets what ``make demo`` does after installing: ``pathlift demo`` (at a smaller size, to keep
the suite fast), which fills the project's MLflow store and registry. Then README.md runs top to
bottom, then each ``docs/*.md`` in name order, all in the same project (README.md makes the
simulated data set ``data/`` that the documents use; they are skipped when README.md did not run to
its end).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

import tests.conftest as suite
from tests import servers

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUN_LANGUAGES = frozenset({"bash", "sh", "python"})
MARKER = re.compile(r"^<!--\s*doc-test:\s*(?P<kind>[\w-]+)(?::)?\s*(?P<arg>.*?)\s*-->$")
FENCE = re.compile(r"^(?P<fence>```+)\s*(?P<lang>[\w+-]*)\s*$")
SHARED_NAME = re.compile(r"\.\./shared/data/([\w.-]+)")
#: seconds any one block may take
BLOCK_TIMEOUT = 1200

pytestmark = [pytest.mark.slow]


@dataclass(frozen=True)
class Block:
    """A fenced code block of a Markdown document."""

    document: Path
    line: int  # 1-based line of the opening fence
    language: str
    text: str
    marker: str | None = None  # "file", "server", "needs", "illustrative"
    argument: str = ""

    @property
    def where(self) -> str:
        return f"{self.document.relative_to(ROOT)}:{self.line}"


def parse_blocks(path: Path) -> list[Block]:
    """Return the fenced code blocks of ``path`` with their markers."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        fence = opening["fence"]
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines) and lines[i].rstrip() != fence:
            body.append(lines[i])
            i += 1
        i += 1
        marker = MARKER.match(lines[start - 1].strip()) if start > 0 else None
        blocks.append(
            Block(
                document=path,
                line=start + 1,
                language=opening["lang"].lower(),
                text="\n".join(body) + "\n",
                marker=marker["kind"] if marker else None,
                argument=marker["arg"] if marker else "",
            )
        )
    return blocks


def test_every_block_is_run_or_marked() -> None:
    """A block in a language the harness does not run needs a marker saying what it is."""
    problems = []
    for document in DOCUMENTS:
        for block in parse_blocks(document):
            if block.marker not in (None, "file", "server", "needs", "illustrative"):
                problems.append(f"{block.where}: unknown doc-test marker {block.marker!r}")
            elif block.marker == "illustrative" and not block.argument:
                problems.append(f"{block.where}: an illustrative block must say why")
            elif block.marker == "needs" and block.argument != "java":
                problems.append(f"{block.where}: only 'needs java' is known")
            elif block.marker is None and block.language and block.language not in RUN_LANGUAGES:
                problems.append(
                    f"{block.where}: a {block.language!r} block is neither run nor marked; "
                    "add a doc-test marker (see tests/test_docs.py)"
                )
    assert not problems, "\n".join(problems)


def test_illustrative_blocks_are_rare() -> None:
    blocks = [b for d in DOCUMENTS for b in parse_blocks(d) if b.language]
    illustrative = [b for b in blocks if b.marker == "illustrative"]
    # raise this only for a block that truly cannot run in a test suite
    assert len(illustrative) <= 5, [b.where for b in illustrative]


def test_parser_reads_markers_and_transcripts(tmp_path: Path) -> None:
    doc = tmp_path / "x.md"
    doc.write_text(
        "text\n<!-- doc-test: file conf.yaml -->\n```yaml\na: 1\n```\n\n```bash\necho hi\n```\n"
        "```\n$ echo out\nout\n```\n<!-- doc-test: illustrative: a crontab -->\n```cron\n* x\n```\n"
    )
    # relative_to(ROOT) is only used for messages
    blocks = parse_blocks(doc)
    assert [(b.language, b.marker, b.argument, b.line) for b in blocks] == [
        ("yaml", "file", "conf.yaml", 3),
        ("bash", None, "", 7),
        ("", None, "", 10),
        ("cron", "illustrative", "a crontab", 15),
    ]
    assert blocks[0].text == "a: 1\n"
    assert transcript(blocks[2].text) == [("echo out", ["out"])]
    assert transcript(blocks[1].text) == []


def transcript(text: str) -> list[tuple[str, list[str]]]:
    """``[(command, expected output lines)]`` of a ``$ command`` transcript, else ``[]``."""
    steps: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
        elif line.strip():
            return []
    return steps


class Project:
    """The temporary project the documents run in."""

    def __init__(self, root: Path, scratch: Path) -> None:
        self.root = root
        self.scratch = scratch
        bin_dir = Path(sys.prefix) / "bin"
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_EXPERIMENT_NAME")
        }
        env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
        # the checkout under test, also where an editable install points elsewhere
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
        self.env = env
        self.counter = 0

    def script(self, suffix: str, text: str) -> Path:
        self.counter += 1
        path = self.scratch / f"block-{self.counter}{suffix}"
        path.write_text(text)
        return path

    def run(self, argv: list[str], *, where: str) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                argv,
                cwd=self.root,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=BLOCK_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"{where}: did not finish in {BLOCK_TIMEOUT} s: {exc}")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    base = tmp_path_factory.mktemp("docs")
    root = base / "project"
    root.mkdir()
    shutil.copy2(ROOT / "pyproject.toml", root / "pyproject.toml")
    (root / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    shared = base / "shared" / "data"
    shared.mkdir(parents=True)
    if suite.SHARED_DATA.is_dir():
        for file in suite.SHARED_DATA.iterdir():
            (shared / file.name).symlink_to(file)
    scratch = base / "scratch"
    scratch.mkdir()
    proj = Project(root, scratch)
    # what `make demo` runs once pathlift is installed
    done = proj.run(
        ["pathlift", "demo", "--users", "12000", "--customers", "8000", "--bootstrap", "30"],
        where="pathlift demo",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return proj


class Servers:
    """Background servers started by ``server`` blocks; stopped by :meth:`stop`."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, project: Project, block: Block, text: str, url: str) -> None:
        log = project.scratch / f"server-{block.line}.log"
        script = project.script(".sh", text)
        argv = ["bash", "-eu", "-o", "pipefail", str(script)]
        process = servers.start(argv, log=log, cwd=project.root, env=project.env)
        self.processes.append(process)
        try:
            servers.wait_until_up(process, url, log=log)
        except AssertionError as exc:
            pytest.fail(f"{block.where}: {exc}")

    def stop(self) -> None:
        for process in self.processes:
            servers.stop(process)


def _with_ports(text: str, ports: dict[str, str]) -> str:
    for old, new in ports.items():
        text = re.sub(rf"(:|-p |--port ){old}\b", rf"\g<1>{new}", text)
    return text


#: non-empty once README.md has run to its end
_README_DONE: list[bool] = []


def _require_shared(text: str, shared_data) -> None:  # type: ignore[no-untyped-def]
    for name in sorted(set(SHARED_NAME.findall(text))):
        shared_data(name)


def _check_transcript(project: Project, block: Block, steps: list[tuple[str, list[str]]]) -> None:
    for command, expected in steps:
        done = project.run(["bash", "-c", command], where=block.where)
        shown = done.stdout + done.stderr
        for line in expected:
            pattern = ".*".join(re.escape(part) for part in line.strip().split("..."))
            assert re.search(pattern, shown), (
                f"{block.where}: `{command}` did not print {line!r}; it printed:\n{shown[-3000:]}"
            )


def _run_block(project: Project, block: Block, text: str) -> None:
    if block.language == "python":
        argv = [sys.executable, str(project.script(".py", text))]
    else:
        argv = ["bash", "-eu", "-o", "pipefail", str(project.script(".sh", text))]
    start = time.monotonic()
    done = project.run(argv, where=block.where)
    print(f"{block.where}: {time.monotonic() - start:.1f} s")  # shown with -s or on failure
    if done.returncode != 0:
        pytest.fail(
            f"{block.where}: exit status {done.returncode}\n--- block\n{text}"
            f"--- stdout (end)\n{done.stdout[-3000:]}\n--- stderr (end)\n{done.stderr[-5000:]}"
        )


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_document_runs(document: Path, project: Project, shared_data) -> None:  # type: ignore[no-untyped-def]
    blocks = parse_blocks(document)
    _require_shared("".join(b.text for b in blocks), shared_data)
    if document.name != "README.md" and not _README_DONE:
        pytest.skip("README.md did not run to its end, and it makes the data set data/")
    ports: dict[str, str] = {}
    running = Servers()
    ran = 0
    try:
        for block in blocks:
            text = _with_ports(block.text, ports)
            if block.marker == "illustrative":
                continue
            if block.marker == "file":
                target = project.root / block.argument
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(block.text)
                continue
            if block.marker == "needs" and shutil.which("java", path=project.env["PATH"]) is None:
                if os.environ.get("CI") == "true":
                    pytest.fail(f"{block.where}: CI=true but java is not on PATH")
                continue
            if not block.language:
                steps = transcript(block.text)
                if steps:
                    _check_transcript(project, block, steps)
                    ran += 1
                continue
            if block.marker == "server":
                match = re.search(r":(\d+)", block.argument)
                assert match, f"{block.where}: the server URL needs a port"
                ports[match[1]] = str(servers.free_port())
                running.start(
                    project,
                    block,
                    _with_ports(block.text, ports),
                    _with_ports(block.argument, ports),
                )
            else:
                _run_block(project, block, text)
            ran += 1
    finally:
        running.stop()
    if document.name == "README.md":
        _README_DONE.append(True)
    if ran == 0:
        pytest.skip(f"{document.name} has no commands")
