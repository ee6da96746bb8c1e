"""Run a sample the way its author did and pickle the values of the named variables at the end.

Notebooks run in a real Jupyter kernel (nbclient); scripts run as __main__, capturing `main()`'s locals when the
flow lives there. Used by the end-to-end tests: it never imports nbextract.

    python capture_source.py SOURCE OUT.pickle NAME [NAME ...]
"""

from __future__ import annotations

import pickle
import runpy
import sys
from pathlib import Path


def capture_notebook(path: Path, names: list[str], out: Path) -> None:
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    dump = f"import pickle as _p\nwith open({str(out)!r}, 'wb') as _f:\n    _p.dump({{n: globals()[n] for n in {names!r}}}, _f)\n"
    notebook.cells.append(nbformat.v4.new_code_cell(dump))
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()


def capture_script(path: Path, names: list[str], out: Path) -> None:
    seen: dict[str, object] = {}

    def profile(frame, event, arg):
        if event == "return" and frame.f_code.co_filename == str(path) and frame.f_code.co_name == "main":
            seen.update({name: frame.f_locals[name] for name in names if name in frame.f_locals})

    sys.argv = [str(path)]
    sys.setprofile(profile)
    try:
        module = runpy.run_path(str(path), run_name="__main__")
    finally:
        sys.setprofile(None)
    seen.update({name: module[name] for name in names if name in module and name not in seen})
    missing = [name for name in names if name not in seen]
    if missing:
        raise SystemExit(f"{path}: never bound {missing}")
    with open(out, "wb") as handle:
        pickle.dump({name: seen[name] for name in names}, handle)


if __name__ == "__main__":
    source, target, *wanted = sys.argv[1:]
    source_path = Path(source).resolve()
    runner = capture_notebook if source_path.suffix == ".ipynb" else capture_script
    runner(source_path, wanted, Path(target).resolve())
