"""What loading the fitted state through skops.io costs beside joblib (`nbextract convert --skops`, issue 22).

    python benchmarks/skops_load.py [--sample churn_column_transformer.ipynb] [--runs 5] [--markdown benchmarks/skops_load.md]

The sample (a copy of sample_notebooks/: its data travels with the package) is converted twice, without and with
--skops, and each package is trained by its own training/train.py (the sample seeds its model: both fit the same
pipeline). Then, `--runs` times, interleaved, a fresh process per package imports it and calls
`Predictor.from_config()`: the import and the load (manifest and sha256 check, then joblib.load, or the import of
skops.io and skops.io.load with the manifest's trusted types) are timed apart. Each cell is the median in seconds.
The load average before and after is printed with the table: the machine may be shared. It only measures and reports.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_notebooks"
FORMATS = {"joblib": (), "skops": ("--skops",)}
LOAD = """
import json, sys, time
started = time.perf_counter()
from importlib import import_module
package = import_module(sys.argv[1])
imported = time.perf_counter()
package.Predictor.from_config()
print(json.dumps({"import": imported - started, "from_config": time.perf_counter() - imported}))
"""


def trained(source: Path, out: Path, flags: tuple[str, ...]) -> Path:
    """`source` converted into `out` with `flags` and trained by its own training script."""
    command = [sys.executable, "-m", "nbextract", "convert", str(source), "-o", str(out), "--name", source.stem, "--force", *flags]
    subprocess.run(command, cwd=source.parent, check=True, capture_output=True)
    subprocess.run([sys.executable, "training/train.py"], cwd=out, check=True, capture_output=True)
    return out


def load_times(package: Path, name: str) -> dict[str, float]:
    """Seconds to import the package and to call Predictor.from_config(), in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(package / "src")}
    result = subprocess.run([sys.executable, "-c", LOAD, name], cwd=package, env=env, check=True, capture_output=True, text=True)
    return json.loads(result.stdout.splitlines()[-1])


def artifact_of(package: Path) -> str:
    """The fitted state's file as the package's manifest lists it: path, format, size and trusted types."""
    entries = json.loads((package / "artifacts" / "manifest.json").read_text(encoding="utf-8"))["files"]
    entry = next(entry for entry in entries if entry["format"] in FORMATS)
    trusted = f", trusted {', '.join(entry['trusted']) or 'none'}" if "trusted" in entry else ""
    return f"`{entry['path']}` ({entry['size']:,} bytes{trusted})"


def table(sample: str, packages: dict[str, Path], times: dict[str, list[dict[str, float]]], runs: int, load: tuple) -> str:
    rows = [
        f"`Predictor.from_config()` of {sample}, fresh processes, median of {runs} (s); load average {load[0]} before, {load[1]} after",
        "",
        "| format | fitted state | import the package | `Predictor.from_config()` |",
        "|---|---|---|---|",
    ]
    for kind, package in packages.items():
        medians = {part: statistics.median(run[part] for run in times[kind]) for part in ("import", "from_config")}
        rows.append(f"| {kind} | {artifact_of(package)} | {medians['import']:.3f} | {medians['from_config']:.3f} |")
    return "\n".join(rows) + "\n"


def load_average() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", default="churn_column_transformer.ipynb")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="skops-load-") as folder:
        samples = Path(folder) / "samples"
        shutil.copytree(SAMPLES, samples, ignore=shutil.ignore_patterns("models", "artifacts", "__pycache__"))
        source = samples / args.sample
        packages = {kind: trained(source, Path(folder) / kind, flags) for kind, flags in FORMATS.items()}
        before = load_average()
        times: dict[str, list[dict[str, float]]] = {kind: [] for kind in packages}
        for _ in range(args.runs):
            for kind, package in packages.items():
                times[kind].append(load_times(package, source.stem))
        text = table(args.sample, packages, times, args.runs, (before, load_average()))
    print(text, end="")
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
