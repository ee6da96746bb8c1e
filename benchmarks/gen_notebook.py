"""Generate a deterministic, research-style Jupyter notebook of about N cells for benchmarks.

    python benchmarks/gen_notebook.py --cells 1000 out.ipynb [--seed 0]

The notebook is only meant to be analysed, never run: the data files it reads need not exist.
Its shape is that of a typical tabular-ML notebook: imports, helpers, data loading, a long middle of
feature engineering and EDA (each step reading earlier columns and variables), then a split, a scaler,
a model, a few alternative models, `y_pred = model.predict(X_test_s)` and metrics. Cells grow linearly
with N and the same (N, seed) always gives byte-identical output.
"""

from __future__ import annotations

import argparse
import random
import sys

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

BASE_COLUMNS = [f"f{i}" for i in range(10)]
CATEGORIES = ["store_id", "region", "segment"]


def code(*lines: str) -> tuple[str, str]:
    """A code cell spec from its source lines."""
    return "code", "\n".join(lines)


HEAD = [
    ("markdown", "# Churn model: exploration and training\n\nA research notebook, generated for benchmarks."),
    code("%matplotlib inline"),
    code("!pip install -q lightgbm"),
    code(
        "import numpy as np",
        "import pandas as pd",
        "import matplotlib.pyplot as plt",
        "from sklearn.model_selection import train_test_split",
        "from sklearn.preprocessing import StandardScaler",
        "from sklearn.linear_model import LogisticRegression",
        "from sklearn.ensemble import RandomForestClassifier, GradientBoostingClassifier",
        "from sklearn.metrics import accuracy_score, f1_score, roc_auc_score, confusion_matrix",
    ),
    code("SEED = 42", 'DATA_DIR = "data"', "np.random.seed(SEED)"),
    ("markdown", "## Helpers"),
    code(
        "def safe_ratio(a, b):",
        "    return a / b.replace(0, np.nan)",
        "",
        "",
        "def clip_outliers(s, q=0.99):",
        "    hi = s.quantile(q)",
        "    lo = s.quantile(1 - q)",
        "    return s.clip(lo, hi)",
    ),
    code("def zscore(s):", "    return (s - s.mean()) / s.std()"),
    ("markdown", "## Data"),
    code('df = pd.read_csv(f"{DATA_DIR}/train.csv")', 'stores = pd.read_csv(f"{DATA_DIR}/stores.csv")'),
    code("df.shape"),
    code("df.head()"),
    code('df = df.merge(stores, on="store_id", how="left")', 'df = df.dropna(subset=["target"])'),
]


TAIL_CELLS = 12  # cells that tail() returns


class Builder:
    """Emits middle cells one at a time, tracking which columns and variables exist so far."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.columns = list(BASE_COLUMNS)
        self.next_feature = len(BASE_COLUMNS)
        self.next_var = 0
        self.section = 0
        self.helpers: list[str] = []

    def col(self, recent: bool = True) -> str:
        # Prefer recently created columns so that dependency chains form, not a flat fan-out.
        if recent and len(self.columns) > 12 and self.rng.random() < 0.7:
            return self.rng.choice(self.columns[-12:])
        return self.rng.choice(self.columns)

    def new_col(self) -> str:
        name = f"f{self.next_feature}"
        self.next_feature += 1
        self.columns.append(name)
        return name

    def var(self, prefix: str) -> str:
        self.next_var += 1
        return f"{prefix}_{self.next_var}"

    # One method per kind of cell; each returns (cell_type, source).

    def feature(self):
        return code(*(self.feature_line() for _ in range(self.rng.choice([1, 1, 1, 2, 3]))))

    def feature_line(self) -> str:
        a, b = self.col(), self.col(recent=False)
        kind = self.rng.randrange(8 if self.helpers else 7)
        new = self.new_col()
        if kind == 0:
            return f'df["{new}"] = df["{a}"] * {self.rng.randint(2, 9)}'
        if kind == 1:
            return f'df["{new}"] = df["{a}"] + df["{b}"]'
        if kind == 2:
            return f'df["{new}"] = safe_ratio(df["{a}"], df["{b}"])'
        if kind == 3:
            return f'df["{new}"] = np.log1p(df["{a}"].clip(lower=0))'
        if kind == 4:
            return f'df["{new}"] = clip_outliers(df["{a}"], q={self.rng.choice([0.95, 0.99, 0.999])})'
        if kind == 5:
            return f'df["{new}"] = zscore(df["{a}"])'
        if kind == 6:
            return f'df["{new}"] = df["{a}"].rolling({self.rng.randint(3, 30)}, min_periods=1).mean()'
        return f'df["{new}"] = {self.rng.choice(self.helpers)}(df["{a}"])'

    def threshold(self):
        a = self.col()
        t = self.var("threshold")
        new = self.new_col()
        q = self.rng.choice([0.5, 0.75, 0.9])
        return code(f'{t} = df["{a}"].quantile({q})', f'df["{new}"] = (df["{a}"] > {t}).astype(int)')

    def groupby(self):
        a, cat = self.col(), self.rng.choice(CATEGORIES)
        agg, new = self.var("agg"), self.new_col()
        how = self.rng.choice(["mean", "sum", "max", "std"])
        return code(
            f'{agg} = df.groupby("{cat}")["{a}"].{how}().rename("{new}")',
            f'df = df.merge({agg}, left_on="{cat}", right_index=True, how="left")',
        )

    def clean(self):
        a = self.col()
        choice = self.rng.randrange(3)
        if choice == 0:
            return "code", "df = df.dropna()"
        if choice == 1:
            return "code", f'df["{a}"] = df["{a}"].fillna(df["{a}"].median())'
        if len(self.columns) > 30:  # drop an old engineered column (never a base one)
            old = self.rng.choice(self.columns[len(BASE_COLUMNS) : -12])
            self.columns.remove(old)
            return "code", f'df = df.drop(columns=["{old}"])'
        return "code", "df = df.reset_index(drop=True)"

    def scratch(self):
        # The same scratch name is reassigned over and over, as in real notebooks.
        a, b = self.col(), self.col(recent=False)
        return code(f'tmp = df[["{a}", "{b}"]].corr()', "tmp")

    def eda(self):
        a, b = self.col(), self.col(recent=False)
        choice = self.rng.randrange(6)
        if choice == 0:
            return "code", "df.head()"
        if choice == 1:
            return "code", "df.describe()"
        if choice == 2:
            return "code", f'df["{a}"].value_counts().head(10)'
        if choice == 3:
            return "code", f'print(df["{a}"].isna().mean(), df["{a}"].nunique())'
        if choice == 4:
            return code(
                "fig, ax = plt.subplots(figsize=(8, 4))",
                f'ax.hist(df["{a}"].dropna(), bins=30)',
                f'ax.set_title("{a}")',
                "plt.show()",
            )
        return code(
            f'plt.scatter(df["{a}"], df["{b}"], s=2, c=df["target"])',
            f'plt.xlabel("{a}")',
            f'plt.ylabel("{b}")',
            "plt.show()",
        )

    def timed(self):
        _, source = self.feature()
        return "code", "%%time\n" + source

    def markdown(self):
        self.section += 1
        text = self.rng.choice(["Feature block", "More features", "Sanity checks", "Aggregates"])
        return "markdown", f"## {text} {self.section}\n\nNotes on this step."

    def helper(self):
        name = self.var("transform")
        self.helpers.append(name)
        return code(f"def {name}(s):", "    return s.fillna(0).rank(pct=True)")

    KINDS = [
        (feature, 45),
        (threshold, 6),
        (groupby, 6),
        (clean, 6),
        (scratch, 4),
        (eda, 18),
        (timed, 3),
        (markdown, 10),
        (helper, 2),
    ]

    def cell(self):
        kinds, weights = zip(*self.KINDS)
        return self.rng.choices(kinds, weights)[0](self)


def tail(builder: Builder) -> list[tuple[str, str]]:
    features = sorted(builder.rng.sample(builder.columns, min(15, len(builder.columns))), key=lambda c: int(c[1:]))
    return [
        ("markdown", "## Modelling"),
        code(f"FEATURES = {features!r}", "X = df[FEATURES]", 'y = df["target"]'),
        code("X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=SEED)"),
        code(
            "scaler = StandardScaler()",
            "X_train_s = scaler.fit_transform(X_train)",
            "X_test_s = scaler.transform(X_test)",
        ),
        code("%%time", "model = LogisticRegression(max_iter=1000)", "model.fit(X_train_s, y_train)"),
        ("markdown", "### Alternatives"),
        code(
            "rf = RandomForestClassifier(n_estimators=200, random_state=SEED)",
            "rf.fit(X_train_s, y_train)",
            "rf_acc = accuracy_score(y_test, rf.predict(X_test_s))",
        ),
        code(
            "gb = GradientBoostingClassifier(random_state=SEED)",
            "gb.fit(X_train_s, y_train)",
            "gb_acc = accuracy_score(y_test, gb.predict(X_test_s))",
            "print(rf_acc, gb_acc)",
        ),
        ("markdown", "## Evaluation"),
        code("y_pred = model.predict(X_test_s)", "y_proba = model.predict_proba(X_test_s)[:, 1]"),
        code(
            "acc = accuracy_score(y_test, y_pred)",
            "f1 = f1_score(y_test, y_pred)",
            "auc = roc_auc_score(y_test, y_proba)",
            'print(f"acc={acc:.3f} f1={f1:.3f} auc={auc:.3f}")',
        ),
        code("cm = confusion_matrix(y_test, y_pred)", 'plt.imshow(cm, cmap="Blues")', "plt.show()"),
    ]


def generate(cells: int, seed: int = 0) -> nbformat.NotebookNode:
    """A notebook of max(cells, ~25) cells; the same arguments always give the same notebook."""
    builder = Builder(random.Random(seed))
    middle = [builder.cell() for _ in range(max(0, cells - len(HEAD) - TAIL_CELLS))]
    specs = HEAD + middle + tail(builder)
    assert len(specs) == len(HEAD) + len(middle) + TAIL_CELLS
    nb = new_notebook(
        metadata={
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        }
    )
    for number, (kind, source) in enumerate(specs, start=1):
        cell = new_code_cell(source) if kind == "code" else new_markdown_cell(source)
        cell.id = f"cell-{number:05d}"  # nbformat would pick random ids: keep output deterministic
        nb.cells.append(cell)
    return nb


def write_notebook(path, cells: int, seed: int = 0) -> int:
    """Generate, validate and write a notebook; return its number of cells."""
    nb = generate(cells, seed)
    nbformat.validate(nb)
    with open(path, "w", encoding="utf-8") as f:
        nbformat.write(nb, f)
    return len(nb.cells)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, required=True, help="about how many cells (code + markdown)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("out", help="path of the .ipynb to write")
    args = parser.parse_args(argv)
    count = write_notebook(args.out, args.cells, args.seed)
    print(f"wrote {args.out}: {count} cells", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
