"""The corpus check of ../shared/corpus/README.md, item by item: capture, convert (automatic and guided), train, predict.

    python benchmarks/corpus.py [--corpus ../shared/corpus] [--only NAME[,NAME]] [--jobs 2] [--markdown FILE]
                                [--update-baseline]

Per item of MANIFEST.json, in a temporary copy of the corpus:
1. run the source as it is (the corpus's own capture.py) and keep `input_var` and `output_var`;
2. `nbextract convert SOURCE -o OUT` from the source's folder, with no flag (automatic), and again with
   `--input INPUT_VAR --output OUTPUT_VAR` where both are plain names (guided), from a pristine copy;
3. `python training/train.py` in OUT when it exists;
4. `Predictor.from_config().predict(v)` in a fresh process started in another folder, compared with the captured
   output (labels exactly, floats to 1e-6 relative).

Outcomes, best first: `equal`; `predicts` (an item whose output is not strict, or not named, predicted without
error); `refused` (exit 1 with a message: the automatic choice said what to pass instead of guessing); `wrong`
(converted and predicted, but not the source's answer); `failed` (any other exit, or train/predict raised).
A strict item that converts to a wrong answer is worse than a refusal. This only measures and reports; the test
tests/test_corpus.py compares a run with benchmarks/corpus_baseline.json and fails when an item does worse.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
BASELINE = Path(__file__).resolve().parent / "corpus_baseline.json"
OUTCOMES = ("equal", "predicts", "refused", "wrong", "failed", "n/a")
RANK = {outcome: len(OUTCOMES) - index for index, outcome in enumerate(OUTCOMES)}
RANK["n/a"] = RANK["equal"]  # a mode that does not apply to an item cannot regress
STEP_TIMEOUT = 900
PREDICT = """
import pickle, sys
from importlib import import_module
package = import_module(sys.argv[1])
with open(sys.argv[2], "rb") as handle:
    value = pickle.load(handle)
with open(sys.argv[3], "wb") as handle:
    pickle.dump(package.Predictor.from_config().predict(value), handle)
"""


@dataclass(frozen=True)
class Item:
    path: str
    input_var: str | None
    output_var: str | None
    strict: bool
    hardcoded: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return Path(self.path).stem

    @property
    def guided(self) -> bool:
        return all(var is not None and var.isidentifier() for var in (self.input_var, self.output_var))


@dataclass(frozen=True)
class Outcome:
    item: str
    mode: str
    outcome: str
    detail: str
    seconds: float


def items(corpus: Path) -> list[Item]:
    manifest = json.loads((corpus / "MANIFEST.json").read_text())
    return [
        Item(e["path"], e.get("input_var"), e.get("output_var"), bool(e.get("strict")), tuple(e.get("hardcoded", ())))
        for e in manifest
    ]


def nbextract_bin() -> Path:
    return Path(sys.executable).with_name("nbextract")


def run(args: list, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "MPLBACKEND": "Agg", **(env or {})}
    try:
        return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, env=env, timeout=STEP_TIMEOUT)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(args, 124, "", f"timed out after {STEP_TIMEOUT} s")


def last_line(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in (result.stderr or result.stdout).splitlines() if line.strip()]
    return lines[-1].strip()[:300] if lines else f"exit {result.returncode}"


def captured(item: Item, workspace: Path, corpus: Path) -> tuple[object, object] | str:
    """The source's own input and output values, or why they could not be had."""
    folder = workspace / "captured" / item.name
    if item.input_var is None:
        return "the manifest names no input"
    names = [item.input_var, item.output_var or item.input_var]
    for folder_needed in authors_folders(item):
        folder_needed.mkdir(parents=True, exist_ok=True)
    result = run([sys.executable, corpus / "capture.py", workspace / "run" / item.path, *names, folder], workspace)
    if result.returncode != 0:
        return f"capture failed: {last_line(result)}"
    with open(folder / "inputs.pkl", "rb") as inputs, open(folder / "outputs.pkl", "rb") as outputs:
        return pickle.load(inputs), pickle.load(outputs)


def authors_folders(item: Item) -> list[Path]:
    """The folders the source's hard-coded absolute paths are in, which its author's machine had: a source may write
    into one another source creates (which of them runs first is not fixed, and a fresh machine has none)."""
    return [Path(path).parent for path in item.hardcoded if Path(path).is_absolute()]


def as_plain(value: object) -> object:
    """numpy arrays and pandas objects as lists, so that values of different containers compare."""
    if hasattr(value, "to_numpy"):
        value = value.to_numpy()
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return value.tolist() if hasattr(value, "tolist") else value


def equal(got: object, want: object, rtol: float = 1e-6) -> bool:
    """Exact for labels, integers and strings; floats to `rtol` relative."""
    got, want = as_plain(got), as_plain(want)
    if isinstance(want, (list, tuple)):
        return isinstance(got, (list, tuple)) and len(got) == len(want) and all(map(equal, got, want))
    if isinstance(want, float) or isinstance(got, float):
        try:
            return math.isclose(float(got), float(want), rel_tol=rtol, abs_tol=0) or (math.isnan(got) and math.isnan(want))
        except (TypeError, ValueError):
            return False
    return got == want


def same_length(got: object, want: object) -> bool:
    got, want = as_plain(got), as_plain(want)
    return not isinstance(want, (list, tuple)) or (isinstance(got, (list, tuple)) and len(got) == len(want))


def check(item: Item, mode: str, workspace: Path, values: tuple[object, object] | str) -> Outcome:
    start = time.perf_counter()
    outcome, detail = convert_train_predict(item, mode, workspace, values)
    detail = detail.replace(f"{workspace / 'pristine'}/", "")
    return Outcome(item.path, mode, outcome, detail, round(time.perf_counter() - start, 1))


def convert_train_predict(item: Item, mode: str, workspace: Path, values) -> tuple[str, str]:
    if mode == "guided" and not item.guided:
        return "n/a", "input or output is not a plain name"
    source = workspace / "pristine" / item.path
    out = workspace / "out" / f"{item.name}-{mode}"
    flags = ["--input", item.input_var, "--output", item.output_var] if mode == "guided" else []
    converted = run([nbextract_bin(), "convert", source, "-o", out, *flags], source.parent)
    if converted.returncode == 1 and mode == "automatic":
        return "refused", last_line(converted)
    if converted.returncode != 0:
        return "failed", f"convert: {last_line(converted)}"
    if (out / "training" / "train.py").exists():
        trained = run([sys.executable, "training/train.py"], out)
        if trained.returncode != 0:
            return "failed", f"train: {last_line(trained)}"
    if isinstance(values, str):
        return "predicts" if values == "the manifest names no input" else "failed", values
    return predicted(item, out, workspace, values)


def predicted(item: Item, out: Path, workspace: Path, values: tuple[object, object]) -> tuple[str, str]:
    elsewhere = Path(tempfile.mkdtemp(prefix=f"elsewhere-{item.name}-", dir=workspace))
    with open(elsewhere / "input.pkl", "wb") as handle:
        pickle.dump(values[0], handle)
    package = json.loads((out / "nbextract.json").read_text())["package"]
    result = run([sys.executable, "-c", PREDICT, package, "input.pkl", "result.pkl"], elsewhere, {"PYTHONPATH": str(out / "src")})
    if result.returncode != 0:
        return "failed", f"predict: {last_line(result)}"
    with open(elsewhere / "result.pkl", "rb") as handle:
        got = pickle.load(handle)
    if item.output_var is None:
        return "predicts", "the manifest names no output"
    if equal(got, values[1]):
        return "equal", ""
    if not item.strict and same_length(got, values[1]):
        return "predicts", "not strict: the source's own output varies between runs"
    return "wrong", f"predict returned {summary(got)}, the source computed {summary(values[1])}"


def summary(value: object) -> str:
    plain = as_plain(value)
    if isinstance(plain, (list, tuple)):
        return f"{type(value).__name__} of {len(plain)} ({str(plain[:3])[:60]}...)"
    return f"{type(value).__name__} {str(plain)[:60]}"


def workspace_for(corpus: Path) -> Path:
    """Two copies of the corpus (one to run, one pristine to convert), so training cannot lean on what a run left."""
    folder = Path(tempfile.mkdtemp(prefix="nbextract-corpus-"))
    for copy in ("run", "pristine"):
        shutil.copytree(corpus, folder / copy, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def measure(corpus: Path, only: set[str] | None = None, jobs: int = 2) -> list[Outcome]:
    selected = [item for item in items(corpus) if not only or item.name in only]
    workspace = workspace_for(corpus)
    try:
        with ThreadPoolExecutor(max_workers=max(jobs, 1)) as pool:
            return [outcome for pair in pool.map(lambda item: both_modes(item, workspace, corpus), selected) for outcome in pair]
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


def both_modes(item: Item, workspace: Path, corpus: Path) -> list[Outcome]:
    values = captured(item, workspace, corpus)
    return [check(item, mode, workspace, values) for mode in ("automatic", "guided")]


def table(outcomes: list[Outcome], corpus: Path) -> str:
    strict = {item.path for item in items(corpus) if item.strict}
    rows = ["| item | strict | automatic | guided | detail |", "|---|---|---|---|---|"]
    by_item: dict[str, dict[str, Outcome]] = {}
    for outcome in outcomes:
        by_item.setdefault(outcome.item, {})[outcome.mode] = outcome
    for path, modes in by_item.items():
        detail = "; ".join(f"{mode}: {o.detail}" for mode, o in modes.items() if o.detail and o.outcome not in ("equal", "n/a"))
        cells = [modes[mode].outcome if mode in modes else "-" for mode in ("automatic", "guided")]
        rows.append(f"| {path} | {'yes' if path in strict else 'no'} | {cells[0]} | {cells[1]} | {detail.replace('|', '/')} |")
    return "\n".join([*rows, "", totals(outcomes, strict)]) + "\n"


def totals(outcomes: list[Outcome], strict: set[str]) -> str:
    def count(mode: str, kinds: tuple[str, ...], only_strict: bool = False) -> int:
        return sum(o.mode == mode and o.outcome in kinds and (not only_strict or o.item in strict) for o in outcomes)

    return (
        f"Automatic: {count('automatic', ('equal',), True)} of {len(strict)} strict items equal; "
        f"{count('automatic', ('equal', 'predicts'))} predict, {count('automatic', ('refused',))} refused, "
        f"{count('automatic', ('wrong',))} wrong, {count('automatic', ('failed',))} failed. "
        f"Guided: {count('guided', ('equal',), True)} of {len(strict)} strict items equal; "
        f"{count('guided', ('equal', 'predicts'))} predict, {count('guided', ('wrong', 'failed'))} wrong or failed."
    )


def regressions(outcomes: list[Outcome], baseline: dict[str, dict[str, str]]) -> list[str]:
    """Items that do worse than the baseline records (an item the baseline lacks must at least not fail)."""
    worse = []
    for outcome in outcomes:
        before = baseline.get(outcome.item, {}).get(outcome.mode, "wrong")
        if RANK[outcome.outcome] < RANK[before]:
            worse.append(f"{outcome.item} ({outcome.mode}): {before} -> {outcome.outcome}: {outcome.detail}")
    return worse


def as_baseline(outcomes: list[Outcome], strict: set[str]) -> dict[str, dict[str, str]]:
    """Each item's outcomes by mode; an item that is not strict is recorded as at best `predicts`, since its output
    may equal the source's in one run and not in the next."""
    baseline: dict[str, dict[str, str]] = {}
    for outcome in outcomes:
        recorded = outcome.outcome if outcome.item in strict or outcome.outcome != "equal" else "predicts"
        baseline.setdefault(outcome.item, {})[outcome.mode] = recorded
    return baseline


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--only", help="comma-separated item stems")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    parser.add_argument("--json", type=Path, help="also write every outcome to this file")
    parser.add_argument("--update-baseline", action="store_true", help=f"record this run as {BASELINE.name}")
    args = parser.parse_args(argv)
    outcomes = measure(args.corpus, set(args.only.split(",")) if args.only else None, args.jobs)
    text = table(outcomes, args.corpus)
    print(text, end="")
    if args.markdown:
        args.markdown.write_text(text)
    if args.json:
        args.json.write_text(json.dumps([asdict(o) for o in outcomes], indent=1) + "\n")
    if args.update_baseline:
        BASELINE.write_text(json.dumps(as_baseline(outcomes, {item.path for item in items(args.corpus) if item.strict}), indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
