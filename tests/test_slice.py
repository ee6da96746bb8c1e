"""Slicing: from a research-style source to boundaries, stages, fitted state, the training slice and fates.

Table-driven: each case is a small source (a plain script written to a file and read for real, or notebook cells with
tags) and what a reader of that source expects: the input and output variables, the statements of each inference
stage, the training slice, the fitted state, config values, helpers, and why a few statements were dropped. Statements
are named by their first line of code. Each aspect is its own test, so a known bug marks only the aspect it breaks.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import build_graph

from nbextract import knowledge
from nbextract.analyze import analyse, describe
from nbextract.errors import ConversionError, UsageError
from nbextract.options import Options
from nbextract.slice import INFERENCE_STAGES, plan
from nbextract.slice.answer import scored_answers
from nbextract.slice.boundaries import find_input
from nbextract.slice.ranking import find_prediction, prediction_candidates
from nbextract.slice.roles import construction, learned_by_hand

SKLEARN = """\
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split
from sklearn.linear_model import LogisticRegression
"""
LOAD = "X, y = load_iris(return_X_y=True)"
SPLIT = "X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)"
MODEL = "clf = LogisticRegression(max_iter=500)"
FIT = "clf.fit(X_train, y_train)"
PREDICT = "y_pred = clf.predict(X_test)"
TRAINING = {LOAD, SPLIT, MODEL, FIT}


def script(*blocks: str) -> str:
    return "\n".join(textwrap.dedent(block).strip("\n") for block in blocks) + "\n"


@dataclass(frozen=True)
class Case:
    """A source and what its reader expects. `source` is a script's text, or notebook cells: `code` or
    `(code, tags)`. `train` is the training slice's statements other than imports, exactly; `dropped` maps a
    statement to a piece of the reason it was dropped. `bugs` maps an aspect to the reason it is a known bug."""

    id: str
    source: str | tuple
    input: str
    output: str
    artifacts: set[str]
    preprocess: tuple[str, ...] = ()
    infer: tuple[str, ...] = ()
    postprocess: tuple[str, ...] = ()
    train: set[str] = field(default_factory=set)
    dropped: dict[str, str] = field(default_factory=dict)
    config: dict[str, object] = field(default_factory=dict)
    helpers: set[str] = field(default_factory=set)
    options: dict[str, str] = field(default_factory=dict)
    bugs: dict[str, str] = field(default_factory=dict)
    formats: dict[str, str] = field(default_factory=dict)
    devices: set[str] = field(default_factory=set)


CASES = [
    Case(
        id="split-by-slicing-rows",
        source=script(SKLEARN, LOAD, "X_train, X_test, y_train, y_test = X[::2], X[1::2], y[::2], y[1::2]", MODEL, FIT, PREDICT),
        input="X_test",
        output="y_pred",
        artifacts={"clf"},
        infer=(PREDICT,),
        train={LOAD, "X_train, X_test, y_train, y_test = X[::2], X[1::2], y[::2], y[1::2]", MODEL, FIT},
    ),
    Case(
        id="split-scaler-model",
        source=script(
            "import matplotlib.pyplot as plt",
            "from sklearn.preprocessing import StandardScaler",
            "from sklearn.metrics import accuracy_score",
            SKLEARN,
            LOAD,
            SPLIT,
            """
            scaler = StandardScaler()
            X_train_s = scaler.fit_transform(X_train)
            X_test_s = scaler.transform(X_test)
            print(X_test.shape)
            """,
            MODEL,
            "clf.fit(X_train_s, y_train)",
            "y_pred = clf.predict(X_test_s)",
            "print(accuracy_score(y_test, y_pred))",
            "plt.plot(y_pred)",
        ),
        input="X_test",
        output="y_pred",
        artifacts={"scaler", "clf"},
        preprocess=("X_test_s = scaler.transform(X_test)",),
        infer=("y_pred = clf.predict(X_test_s)",),
        train={LOAD, SPLIT, "scaler = StandardScaler()", "X_train_s = scaler.fit_transform(X_train)", MODEL, "clf.fit(X_train_s, y_train)"},
        dropped={
            "print(accuracy_score(y_test, y_pred))": "metric",
            "plt.plot(y_pred)": "plot",
            "print(X_test.shape)": "output for the reader",
            "import matplotlib.pyplot as plt": "import not used",
        },
    ),
    Case(
        id="several-models-last-one-predicts",
        source=script(
            "from sklearn.tree import DecisionTreeClassifier",
            SKLEARN,
            LOAD,
            SPLIT,
            """
            tree = DecisionTreeClassifier(random_state=0)
            tree.fit(X_train, y_train)
            tree_pred = tree.predict(X_test)
            """,
            MODEL,
            FIT,
            PREDICT,
        ),
        input="X_test",
        output="y_pred",
        artifacts={"clf"},
        infer=(PREDICT,),
        train=TRAINING,
        dropped={
            "tree.fit(X_train, y_train)": "fits a model the prediction does not use",
            "tree_pred = tree.predict(X_test)": "not needed",
            "tree = DecisionTreeClassifier(random_state=0)": "not needed",
        },
    ),
    Case(
        id="several-models-one-name-rebound",
        source=script(
            "from sklearn.tree import DecisionTreeClassifier",
            "from sklearn.metrics import accuracy_score",
            SKLEARN,
            LOAD,
            SPLIT,
            """
            model = DecisionTreeClassifier(random_state=0)
            model.fit(X_train, y=y_train)
            print(accuracy_score(y_test, model.predict(X_test)))
            model = LogisticRegression(max_iter=500)
            model.fit(X_train, y_train)
            y_pred = model.predict(X_test)
            """,
        ),
        input="X_test",
        output="y_pred",
        artifacts={"model"},
        infer=("y_pred = model.predict(X_test)",),
        train={LOAD, SPLIT, "model = LogisticRegression(max_iter=500)", "model.fit(X_train, y_train)"},
        dropped={
            "model = DecisionTreeClassifier(random_state=0)": "not needed",
            "model.fit(X_train, y=y_train)": "fits a model the prediction does not use",
            "print(accuracy_score(y_test, y_pred_2))": "metric",
            "y_pred_2 = model.predict(X_test)": "not needed",
        },
    ),
    Case(
        id="threshold-postprocessing-chain",
        source=script(
            "from sklearn.metrics import accuracy_score, f1_score",
            SKLEARN,
            "THRESHOLD = 0.35",
            LOAD,
            SPLIT,
            MODEL,
            FIT,
            """
            proba = clf.predict_proba(X_test)[:, 1]
            y_pred = (proba > THRESHOLD).astype(int)
            acc = accuracy_score(y_test, y_pred)
            f1 = f1_score(y_test, y_pred)
            print(acc, f1)
            """,
        ),
        input="X_test",
        output="y_pred",
        artifacts={"clf"},
        infer=("proba = clf.predict_proba(X_test)[:, 1]",),
        postprocess=("y_pred = (proba > THRESHOLD).astype(int)",),
        train=TRAINING,
        config={"THRESHOLD": 0.35},
        dropped={
            "acc = accuracy_score(y_test, y_pred)": "metric",
            "f1 = f1_score(y_test, y_pred)": "metric",
            "print(acc, f1)": "output for the reader",
        },
    ),
    Case(
        id="reduction-after-prediction-is-not-the-output",
        source=script(SKLEARN, LOAD, SPLIT, MODEL, FIT, PREDICT, "n_pos = y_pred.sum()", "print(n_pos)"),
        input="X_test",
        output="y_pred",
        artifacts={"clf"},
        infer=(PREDICT,),
        train=TRAINING,
        dropped={"n_pos = y_pred.sum()": "not needed", "print(n_pos)": "output for the reader"},
    ),
    Case(
        id="builtin-sum-after-prediction-is-not-the-output",
        source=script(SKLEARN, LOAD, SPLIT, MODEL, FIT, PREDICT, "n_pos = sum(y_pred)"),
        input="X_test",
        output="y_pred",
        artifacts={"clf"},
        infer=(PREDICT,),
        train=TRAINING,
        dropped={"n_pos = sum(y_pred)": "not needed"},
    ),
    Case(
        id="ratio-of-reduction-after-prediction-is-not-the-output",
        source=script(SKLEARN, LOAD, SPLIT, MODEL, FIT, PREDICT, "n_pos = y_pred.sum()", "share = n_pos / len(y_pred)"),
        input="X_test",
        output="y_pred",
        artifacts={"clf"},
        infer=(PREDICT,),
        train=TRAINING,
        dropped={"n_pos = y_pred.sum()": "not needed", "share = n_pos / len(y_pred)": "not needed"},
    ),
    Case(
        id="new-data-frame-from-read-csv-is-the-input",
        source=script(
            """
            import pandas as pd
            from sklearn.ensemble import RandomForestClassifier

            FEATURES = ["a", "b"]
            train = pd.read_csv("train.csv")
            clf = RandomForestClassifier(n_estimators=10, random_state=0)
            clf.fit(train[FEATURES], train["label"])
            new = pd.read_csv("new.csv")
            new = new.fillna(0)
            X_new = new[FEATURES]
            labels = clf.predict(X_new)
            """
        ),
        input="new",
        output="labels",
        artifacts={"clf"},
        preprocess=("new = new.fillna(0)", "X_new = new[FEATURES]"),
        infer=("labels = clf.predict(X_new)",),
        train={
            'FEATURES = ["a", "b"]',
            'train = pd.read_csv("train.csv")',
            "clf = RandomForestClassifier(n_estimators=10, random_state=0)",
            'clf.fit(train[FEATURES], train["label"])',
        },
        config={"FEATURES": ["a", "b"]},
    ),
    Case(
        id="manual-zscore-statistics-are-artifacts",
        source=script(
            SKLEARN,
            LOAD,
            SPLIT,
            """
            mu = X_train.mean(axis=0)
            sigma = X_train.std(axis=0)
            Z_train = (X_train - mu) / sigma
            Z_test = (X_test - mu) / sigma
            clf = LogisticRegression(max_iter=500)
            clf.fit(Z_train, y_train)
            y_pred = clf.predict(Z_test)
            """,
        ),
        input="X_test",
        output="y_pred",
        artifacts={"mu", "sigma", "clf"},
        preprocess=("Z_test = (X_test - mu) / sigma",),
        infer=("y_pred = clf.predict(Z_test)",),
        train={
            LOAD,
            SPLIT,
            "mu = X_train.mean(axis=0)",
            "sigma = X_train.std(axis=0)",
            "Z_train = (X_train - mu) / sigma",
            MODEL,
            "clf.fit(Z_train, y_train)",
        },
    ),
    Case(
        id="helper-function-reading-a-global-constant",
        source=script(
            "import numpy as np",
            SKLEARN,
            """
            CLIP = 5.0


            def clean(a):
                return np.clip(a, -CLIP, CLIP)


            """,
            LOAD,
            SPLIT,
            MODEL,
            "clf.fit(clean(X_train), y_train)",
            "y_pred = clf.predict(clean(X_test))",
        ),
        input="X_test",
        output="y_pred",
        artifacts={"clf"},
        infer=("y_pred = clf.predict(clean(X_test))",),
        train={LOAD, SPLIT, MODEL, "clf.fit(clean(X_train), y_train)", "CLIP = 5.0", "def clean(a):"},
        helpers={"CLIP = 5.0", "def clean(a):"},
    ),
    Case(
        id="unassigned-prediction-expression",
        source=script(SKLEARN, LOAD, SPLIT, MODEL, FIT, "clf.predict(X_test)"),
        input="X_test",
        output="prediction",
        artifacts={"clf"},
        infer=("clf.predict(X_test)",),
        train=TRAINING,
    ),
    Case(
        id="output-override",
        source=script(
            SKLEARN,
            "THRESHOLD = 0.35",
            LOAD,
            SPLIT,
            MODEL,
            FIT,
            "proba = clf.predict_proba(X_test)[:, 1]",
            "y_pred = (proba > THRESHOLD).astype(int)",
        ),
        options={"output_var": "proba"},
        input="X_test",
        output="proba",
        artifacts={"clf"},
        infer=("proba = clf.predict_proba(X_test)[:, 1]",),
        train=TRAINING,
        dropped={"y_pred = (proba > THRESHOLD).astype(int)": "not needed", "THRESHOLD = 0.35": "not needed"},
    ),
    Case(
        id="input-heuristic-walks-back-to-the-split",
        source=script(SKLEARN, LOAD, SPLIT, MODEL, FIT, "X_new = X_test[:5] * 1.0", "y_pred = clf.predict(X_new)"),
        input="X_test",
        output="y_pred",
        artifacts={"clf"},
        preprocess=("X_new = X_test[:5] * 1.0",),
        infer=("y_pred = clf.predict(X_new)",),
        train=TRAINING,
    ),
    Case(
        id="input-override",
        source=script(SKLEARN, LOAD, SPLIT, MODEL, FIT, "X_new = X_test[:5] * 1.0", "y_pred = clf.predict(X_new)"),
        options={"input_var": "X_new"},
        input="X_new",
        output="y_pred",
        artifacts={"clf"},
        infer=("y_pred = clf.predict(X_new)",),
        train=TRAINING,
    ),
    Case(
        id="tag-infer-picks-the-prediction",
        source=(
            SKLEARN + "from sklearn.metrics import accuracy_score",
            f"{LOAD}\n{SPLIT}",
            f"{MODEL}\n{FIT}",
            (PREDICT, ("nbextract:infer",)),
            "train_pred = clf.predict(X_train)\nprint(accuracy_score(y_train, train_pred))",
        ),
        input="X_test",
        output="y_pred",
        artifacts={"clf"},
        infer=(PREDICT,),
        train=TRAINING,
        dropped={"train_pred = clf.predict(X_train)": "not needed", "print(accuracy_score(y_train, train_pred))": "metric"},
    ),
    Case(
        id="marker-line-infer-in-a-plain-script",
        source=script(
            SKLEARN,
            LOAD,
            SPLIT,
            MODEL,
            FIT,
            "# nbextract: infer",
            PREDICT,
            "# nbextract: train",
            "train_pred = clf.predict(X_train)",
        ),
        input="X_test",
        output="y_pred",
        artifacts={"clf"},
        infer=(PREDICT,),
        train=TRAINING,
        dropped={"train_pred = clf.predict(X_train)": "tagged nbextract:train"},
    ),
    Case(
        id="tag-train-keeps-a-fit-on-test-rows-out-of-inference",
        source=(
            "import numpy as np\nfrom sklearn.preprocessing import StandardScaler\n" + SKLEARN,
            f"{LOAD}\n{SPLIT}",
            ("scaler = StandardScaler().fit(np.vstack([X_train, X_test]))", ("nbextract:train",)),
            f"{MODEL}\nclf.fit(scaler.transform(X_train), y_train)",
            "X_test_s = scaler.transform(X_test)\ny_pred = clf.predict(X_test_s)",
        ),
        input="X_test",
        output="y_pred",
        artifacts={"scaler", "clf"},
        preprocess=("X_test_s = scaler.transform(X_test)",),
        infer=("y_pred = clf.predict(X_test_s)",),
        train={
            LOAD,
            SPLIT,
            "scaler = StandardScaler().fit(np.vstack([X_train, X_test]))",
            MODEL,
            "clf.fit(scaler.transform(X_train), y_train)",
        },
    ),
    Case(
        id="untagged-fit-on-test-rows-stays-in-training",
        source=(
            "import numpy as np\nfrom sklearn.preprocessing import StandardScaler\n" + SKLEARN,
            f"{LOAD}\n{SPLIT}",
            "scaler = StandardScaler().fit(np.vstack([X_train, X_test]))",
            f"{MODEL}\nclf.fit(scaler.transform(X_train), y_train)",
            "X_test_s = scaler.transform(X_test)\ny_pred = clf.predict(X_test_s)",
        ),
        input="X_test",
        output="y_pred",
        artifacts={"scaler", "clf"},
        preprocess=("X_test_s = scaler.transform(X_test)",),
        infer=("y_pred = clf.predict(X_test_s)",),
        train={
            LOAD,
            SPLIT,
            "scaler = StandardScaler().fit(np.vstack([X_train, X_test]))",
            MODEL,
            "clf.fit(scaler.transform(X_train), y_train)",
        },
    ),
    Case(
        id="tag-train-predict-after-the-prediction-is-not-the-prediction",
        source=(
            SKLEARN + "from sklearn.metrics import accuracy_score",
            f"{LOAD}\n{SPLIT}",
            f"{MODEL}\n{FIT}",
            PREDICT,
            ("train_pred = clf.predict(X_train)\ntrain_acc = accuracy_score(y_train, train_pred)", ("nbextract:train",)),
        ),
        input="X_test",
        output="y_pred",
        artifacts={"clf"},
        infer=(PREDICT,),
        train=TRAINING,
    ),
    Case(
        id="seed-is-in-the-training-slice",
        source=script(
            "import numpy as np",
            SKLEARN,
            "np.random.seed(0)",
            LOAD,
            "X_train, X_test, y_train, y_test = train_test_split(X, y)",
            MODEL,
            FIT,
            PREDICT,
        ),
        input="X_test",
        output="y_pred",
        artifacts={"clf"},
        infer=(PREDICT,),
        train={"np.random.seed(0)", LOAD, "X_train, X_test, y_train, y_test = train_test_split(X, y)", MODEL, FIT},
    ),
    Case(
        id="joblib-dump-then-load",
        source=script(
            "import os",
            "import joblib",
            SKLEARN,
            LOAD,
            SPLIT,
            MODEL,
            FIT,
            """
            os.makedirs("models", exist_ok=True)
            joblib.dump(clf, "models/clf.joblib")
            model = joblib.load("models/clf.joblib")
            y_pred = model.predict(X_test)
            """,
        ),
        input="X_test",
        output="y_pred",
        artifacts={"model"},
        infer=("y_pred = model.predict(X_test)",),
        train={
            *TRAINING,
            'os.makedirs("models", exist_ok=True)',
            'joblib.dump(clf, "models/clf.joblib")',
            'model = joblib.load("models/clf.joblib")',
        },
    ),
    Case(
        id="torch-training-loop-dataloader-scheduler-early-stopping",
        source=script(
            """
            import torch
            from torch import nn
            from torch.utils.data import DataLoader, TensorDataset
            import matplotlib.pyplot as plt
            """,
            SKLEARN,
            LOAD,
            SPLIT,
            """
            device = "cuda:0" if torch.cuda.is_available() else "cpu"
            torch.manual_seed(0)


            class Net(nn.Module):
                def __init__(self, n_in):
                    super().__init__()
                    self.fc = nn.Linear(n_in, 3)

                def forward(self, x):
                    return self.fc(x)


            model = Net(4).to(device)
            optimizer = torch.optim.Adam(model.parameters())
            scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2)
            loader = DataLoader(TensorDataset(torch.tensor(X_train, dtype=torch.float32), torch.tensor(y_train)), batch_size=16)
            best, patience = None, 0
            for epoch in range(10):
                model.train()
                for xb, yb in loader:
                    optimizer.zero_grad()
                    loss = nn.functional.cross_entropy(model(xb.to(device)), yb.to(device))
                    loss.backward()
                    optimizer.step()
                scheduler.step()
                if best is None or loss.item() < best:
                    best, patience = loss.item(), 0
                else:
                    patience += 1
                    if patience > 2:
                        break
            plt.plot([1, 2])
            model.eval()
            X_test_t = torch.tensor(X_test, dtype=torch.float32).to(device)
            with torch.no_grad():
                logits = model(X_test_t)
            y_pred = logits.argmax(dim=1).cpu().numpy()
            print((y_pred == y_test).mean())
            """,
        ),
        input="X_test",
        output="y_pred",
        artifacts={"model"},
        formats={"model": "state_dict"},
        devices={"device"},
        preprocess=("X_test_t = torch.tensor(X_test, dtype=torch.float32).to(device)",),
        infer=("with torch.no_grad():",),
        postprocess=("y_pred = logits.argmax(dim=1).cpu().numpy()",),
        train={
            LOAD,
            SPLIT,
            'device = "cuda:0" if torch.cuda.is_available() else "cpu"',
            "torch.manual_seed(0)",
            "class Net(nn.Module):",
            "model = Net(4).to(device)",
            "optimizer = torch.optim.Adam(model.parameters())",
            "scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2)",
            "loader = DataLoader(TensorDataset(torch.tensor(X_train, dtype=torch.float32), torch.tensor(y_train)), batch_size=16)",
            "best, patience = None, 0",
            "for epoch in range(10):",
            "model.eval()",
        },
        dropped={"plt.plot([1, 2])": "plot", "print((y_pred == y_test).mean())": "output for the reader"},
    ),
    Case(
        id="torch-whole-model-saved-and-reloaded-with-normalisation-statistics",
        source=script(
            """
            import os
            import torch
            from torch import nn

            torch.manual_seed(1)
            X = torch.randn(32, 3)
            y = X.sum(dim=1, keepdim=True)
            mu, sigma = X.mean(dim=0), X.std(dim=0)
            net = nn.Sequential(nn.Linear(3, 1))
            opt = torch.optim.SGD(net.parameters(), lr=0.1)
            for step in range(5):
                opt.zero_grad()
                nn.functional.mse_loss(net((X - mu) / sigma), y).backward()
                opt.step()
            os.makedirs("models", exist_ok=True)
            torch.save(net, "models/net.pt")
            loaded = torch.load("models/net.pt", weights_only=False)
            X_new = torch.randn(4, 3)
            pred = loaded((X_new - mu) / sigma)
            """
        ),
        input="X_new",
        output="pred",
        artifacts={"loaded", "mu", "sigma"},
        formats={"loaded": "torch", "mu": "torch", "sigma": "torch"},
        infer=("pred = loaded((X_new - mu) / sigma)",),
        train={
            "torch.manual_seed(1)",
            "X = torch.randn(32, 3)",
            "y = X.sum(dim=1, keepdim=True)",
            "mu, sigma = X.mean(dim=0), X.std(dim=0)",
            "net = nn.Sequential(nn.Linear(3, 1))",
            "opt = torch.optim.SGD(net.parameters(), lr=0.1)",
            "for step in range(5):",
            'os.makedirs("models", exist_ok=True)',
            'torch.save(net, "models/net.pt")',
            'loaded = torch.load("models/net.pt", weights_only=False)',
        },
    ),
    Case(
        id="torch-prediction-loop-over-a-data-loader",
        source=script(
            """
            import torch
            from torch import nn
            from torch.utils.data import DataLoader, TensorDataset

            torch.manual_seed(0)
            X = torch.randn(64, 4)
            y = (X[:, 0] > 0).long()
            X_test = torch.randn(20, 4).numpy()
            model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
            opt = torch.optim.Adam(model.parameters(), lr=0.01)
            for epoch in range(3):
                for xb, yb in DataLoader(TensorDataset(X, y), batch_size=16, shuffle=True):
                    opt.zero_grad()
                    loss = nn.functional.cross_entropy(model(xb), yb)
                    loss.backward()
                    opt.step()
            test_loader = DataLoader(TensorDataset(torch.tensor(X_test)), batch_size=8)
            model.eval()
            preds = []
            with torch.no_grad():
                for (xb,) in test_loader:
                    preds.append(model(xb).argmax(1))
            y_pred = torch.cat(preds).numpy()
            """
        ),
        input="X_test",
        output="y_pred",
        artifacts={"model"},
        formats={"model": "torch"},
        preprocess=("test_loader = DataLoader(TensorDataset(torch.tensor(X_test)), batch_size=8)", "preds = []"),
        infer=("with torch.no_grad():",),
        postprocess=("y_pred = torch.cat(preds).numpy()",),
        train={
            "torch.manual_seed(0)",
            "X = torch.randn(64, 4)",
            "y = (X[:, 0] > 0).long()",
            "model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))",
            "opt = torch.optim.Adam(model.parameters(), lr=0.01)",
            "for epoch in range(3):",
            "model.eval()",
        },
    ),
    Case(
        id="torch-model-handed-to-a-predict-function",
        source=script(
            """
            import numpy as np
            import torch
            from torch import nn

            torch.manual_seed(0)
            X = np.random.RandomState(0).randn(64, 4).astype("float32")
            y = (X[:, 0] > 0).astype("int64")
            X_test = np.random.RandomState(1).randn(10, 4).astype("float32")
            model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
            opt = torch.optim.Adam(model.parameters(), lr=0.01)


            def train_epoch(model, X, y):
                model.train()
                opt.zero_grad()
                loss = nn.functional.cross_entropy(model(torch.from_numpy(X)), torch.from_numpy(y))
                loss.backward()
                opt.step()
                return loss.item()


            for epoch in range(5):
                train_epoch(model, X, y)


            def predict(model, X):
                model.eval()
                with torch.no_grad():
                    return model(torch.from_numpy(X)).argmax(1).numpy()


            y_pred = predict(model, X_test)
            """
        ),
        input="X_test",
        output="y_pred",
        artifacts={"model"},
        formats={"model": "torch"},
        infer=("y_pred = predict(model, X_test)",),
        helpers={"def predict(model, X):"},
        train={
            "torch.manual_seed(0)",
            'X = np.random.RandomState(0).randn(64, 4).astype("float32")',
            'y = (X[:, 0] > 0).astype("int64")',
            "model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))",
            "opt = torch.optim.Adam(model.parameters(), lr=0.01)",
            "def train_epoch(model, X, y):",
            "for epoch in range(5):",
        },
    ),
    Case(
        id="new-rows-sampled-from-the-data",
        source=script(
            "from sklearn.datasets import load_wine",
            "from sklearn.cluster import KMeans",
            "wine = load_wine(as_frame=True)",
            "X = wine.data",
            "km = KMeans(n_clusters=3, n_init=10, random_state=0).fit(X)",
            "new_wines = X.sample(25, random_state=1)",
            "ids = km.predict(new_wines)",
        ),
        input="new_wines",
        output="ids",
        artifacts={"km"},
        infer=("ids = km.predict(new_wines)",),
        train={"wine = load_wine(as_frame=True)", "X = wine.data", "km = KMeans(n_clusters=3, n_init=10, random_state=0).fit(X)"},
    ),
    Case(
        id="training-replays-a-step-it-shares-with-inference",
        source=script(SKLEARN, LOAD, "Xs = X * 2", MODEL, "clf.fit(Xs, y)", "y_pred = clf.predict(Xs)"),
        input="X",
        output="y_pred",
        artifacts={"clf"},
        preprocess=("Xs = X * 2",),
        infer=("y_pred = clf.predict(Xs)",),
        train={LOAD, "Xs = X * 2", MODEL, "clf.fit(Xs, y)"},
    ),
    Case(
        id="a-prediction-inside-a-metric-call",
        source=script(
            "from sklearn.metrics import mean_squared_error",
            SKLEARN,
            LOAD,
            SPLIT,
            MODEL,
            FIT,
            "print(mean_squared_error(y_test, clf.predict(X_test)))",
        ),
        input="X_test",
        output="y_pred",
        artifacts={"clf"},
        infer=("y_pred = clf.predict(X_test)",),
        train=TRAINING,
        dropped={"print(mean_squared_error(y_test, y_pred))": "metric"},
    ),
    Case(
        id="a-prediction-the-source-assigned-outranks-a-later-one-inside-a-metric",
        source=script(
            "from sklearn.metrics import accuracy_score",
            SKLEARN,
            LOAD,
            SPLIT,
            MODEL,
            FIT,
            PREDICT,
            "print(accuracy_score(y_test, clf.predict(X_train)))",
        ),
        input="X_test",
        output="y_pred",
        artifacts={"clf"},
        infer=(PREDICT,),
        train=TRAINING,
    ),
    Case(
        id="a-prediction-printed-last-outranks-one-shown-before",
        source=script(SKLEARN, LOAD, SPLIT, MODEL, FIT, "clf.predict(X_train)", "print(clf.predict(X_test))"),
        input="X_test",
        output="y_pred",
        artifacts={"clf"},
        infer=("y_pred = clf.predict(X_test)",),
        train=TRAINING,
    ),
    Case(
        id="a-forest-of-models-fitted-and-voting-in-loops",
        source=script(
            "import numpy as np",
            "from scipy.stats import mode",
            "from sklearn.tree import DecisionTreeClassifier",
            SKLEARN,
            LOAD,
            SPLIT,
            "forest = [DecisionTreeClassifier(max_depth=2, random_state=seed) for seed in range(3)]",
            "for tree in forest:\n    tree.fit(X_train, y_train)",
            "votes = np.empty((3, len(X_test)))",
            "for number, tree in enumerate(forest):\n    votes[number] = tree.predict(X_test)",
            "labels, counts = mode(votes, axis=0)",
        ),
        input="X_test",
        output="labels",
        artifacts={"forest"},
        preprocess=("votes = np.empty((3, len(X_test)))",),
        infer=("for number, tree in enumerate(forest):",),
        postprocess=("labels, counts = mode(votes, axis=0)",),
        train={
            LOAD,
            SPLIT,
            "forest = [DecisionTreeClassifier(max_depth=2, random_state=seed) for seed in range(3)]",
            "for tree in forest:",
        },
    ),
    Case(
        id="predictions-appended-row-by-row",
        source=script(SKLEARN, LOAD, SPLIT, MODEL, FIT, "answers = []", "for row in X_test:\n    answers.append(clf.predict([row])[0])"),
        input="X_test",
        output="answers",
        artifacts={"clf"},
        preprocess=("answers = []",),
        infer=("for row in X_test:",),
        train=TRAINING,
    ),
    Case(
        id="a-prediction-checked-in-an-assert-ranks-below-one-assigned",
        source=script(SKLEARN, LOAD, SPLIT, MODEL, FIT, PREDICT, "assert (y_pred == clf.predict(X_test)).all()"),
        input="X_test",
        output="y_pred",
        artifacts={"clf"},
        infer=(PREDICT,),
        train=TRAINING,
    ),
    Case(
        id="output-given-the-model-applied-is-the-prediction-not-the-transform-before-it",
        source=script(
            "import torch",
            "from sklearn.feature_extraction.text import CountVectorizer",
            "texts = ['good film', 'bad film', 'fine film', 'awful film']",
            "labels = [1, 0, 1, 0]",
            "vectorizer = CountVectorizer()",
            "X_train = vectorizer.fit_transform(texts)",
            "model = torch.nn.Linear(X_train.shape[1], 2)",
            "X_new = ['good', 'bad']",
            "X_new_t = torch.tensor(vectorizer.transform(X_new).toarray(), dtype=torch.float32)",
            "with torch.no_grad():\n    logits = model(X_new_t)",
            "y_new = logits.argmax(1).numpy()",
        ),
        options={"input_var": "X_new", "output_var": "y_new"},
        input="X_new",
        output="y_new",
        artifacts={"model", "vectorizer"},
        preprocess=("X_new_t = torch.tensor(vectorizer.transform(X_new).toarray(), dtype=torch.float32)",),
        infer=("with torch.no_grad():",),
        postprocess=("y_new = logits.argmax(1).numpy()",),
        train={
            "texts = ['good film', 'bad film', 'fine film', 'awful film']",
            "vectorizer = CountVectorizer()",
            "X_train = vectorizer.fit_transform(texts)",
            "model = torch.nn.Linear(X_train.shape[1], 2)",
        },
        formats={"model": "torch", "vectorizer": "joblib"},
    ),
    Case(
        id="a-prediction-used-as-an-index-is-kept-and-outranks-an-earlier-one",
        source=script(
            "from sklearn.datasets import load_iris",
            "from sklearn.cluster import KMeans",
            "X, y = load_iris(return_X_y=True)",
            "km = KMeans(n_clusters=3, n_init=10, random_state=0).fit(X)",
            "first = km.predict(X[:5])",
            "centers = km.cluster_centers_[km.predict(X)]",
        ),
        input="X",
        output="centers",
        artifacts={"km"},
        infer=("y_pred = km.predict(X)",),
        postprocess=("centers = km.cluster_centers_[y_pred]",),
        train={"X, y = load_iris(return_X_y=True)", "km = KMeans(n_clusters=3, n_init=10, random_state=0).fit(X)"},
    ),
    Case(
        id="a-model-saved-and-loaded-back-under-a-name-without-suffix",
        source=script(
            "import joblib",
            SKLEARN,
            LOAD,
            SPLIT,
            MODEL,
            FIT,
            'joblib.dump(clf, "model_joblib")',
            'mj = joblib.load("model_joblib")',
            "y_pred = mj.predict(X_test)",
        ),
        input="X_test",
        output="y_pred",
        artifacts={"mj"},
        infer=("y_pred = mj.predict(X_test)",),
        train={*TRAINING, 'joblib.dump(clf, "model_joblib")', 'mj = joblib.load("model_joblib")'},
    ),
    Case(
        id="a-literal-is-the-input",
        source=script(SKLEARN, LOAD, SPLIT, MODEL, FIT, "clf.predict([[5.1, 3.5, 1.4, 0.2]])"),
        input="X_new",
        output="prediction",
        artifacts={"clf"},
        infer=("clf.predict(X_new)",),
        train=TRAINING,
    ),
    Case(
        id="a-mask-of-correct-answers-is-evaluation",
        source=script(SKLEARN, LOAD, SPLIT, MODEL, FIT, PREDICT, "labels = y_pred.astype(str)", "y_true = y_test.astype(str)", "correct = (labels == y_true).astype(int)"),
        input="X_test",
        output="labels",
        artifacts={"clf"},
        infer=(PREDICT,),
        postprocess=("labels = y_pred.astype(str)",),
        train=TRAINING,
    ),
    Case(
        id="labels-over-probabilities-of-the-same-call",
        source=script(SKLEARN, LOAD, SPLIT, MODEL, FIT, PREDICT, "y_proba = clf.predict_proba(X_test)"),
        input="X_test",
        output="y_pred",
        artifacts={"clf"},
        infer=(PREDICT,),
        train=TRAINING,
    ),
    Case(
        id="scores-the-source-thresholds-stay-the-prediction",
        source=script(SKLEARN, LOAD, SPLIT, MODEL, FIT, PREDICT, "proba = clf.predict_proba(X_test)[:, 1]", "flags = (proba > 0.3).astype(int)"),
        input="X_test",
        output="flags",
        artifacts={"clf"},
        infer=("proba = clf.predict_proba(X_test)[:, 1]",),
        postprocess=("flags = (proba > 0.3).astype(int)",),
        train=TRAINING,
        config={"threshold": 0.3},
        bugs={"state": "a threshold written inline in post-processing is not lifted to config yet (named constants are)"},
    ),
    Case(
        id="new-rows-sliced-from-the-data",
        source=script(SKLEARN, LOAD, "clf = LogisticRegression(max_iter=500).fit(X[:100], y[:100])", "X_new = X[100:]", "y_new = clf.predict(X_new)"),
        input="X_new",
        output="y_new",
        artifacts={"clf"},
        infer=("y_new = clf.predict(X_new)",),
        train={LOAD, "clf = LogisticRegression(max_iter=500).fit(X[:100], y[:100])"},
    ),
    Case(
        id="a-random-generator-is-not-the-input",
        source=script(
            "import numpy as np",
            "from sklearn.linear_model import LinearRegression",
            "rng = np.random.RandomState(0)",
            "X = rng.uniform(-3, 3, size=(100, 1))",
            "y = X[:, 0] * 2 + rng.normal(size=100)",
            "reg = LinearRegression().fit(X, y)",
            "x_new = np.linspace(-3, 3, 50).reshape(-1, 1)",
            "pred = reg.predict(x_new)",
        ),
        input="x_new",
        output="pred",
        artifacts={"reg"},
        infer=("pred = reg.predict(x_new)",),
        train={"rng = np.random.RandomState(0)", "X = rng.uniform(-3, 3, size=(100, 1))", "y = X[:, 0] * 2 + rng.normal(size=100)", "reg = LinearRegression().fit(X, y)"},
    ),
    Case(
        id="a-grid-spanning-the-data-is-the-input",
        source=script(
            "import numpy as np",
            "from sklearn.linear_model import LinearRegression",
            "rng = np.random.RandomState(42)",
            "X = rng.uniform(-3, 3, size=500)",
            "y = 2.4 * X + rng.normal(size=500)",
            "X = X.reshape(-1, 1)",
            "reg = LinearRegression().fit(X, y)",
            "x_plot = np.linspace(X.min() - 0.1, X.max() + 0.1, 500).reshape(-1, 1)",
            "y_plot = reg.predict(x_plot)",
        ),
        input="x_plot",
        output="y_plot",
        artifacts={"reg"},
        infer=("y_plot = reg.predict(x_plot)",),
        train={
            "rng = np.random.RandomState(42)",
            "X = rng.uniform(-3, 3, size=500)",
            "y = 2.4 * X + rng.normal(size=500)",
            "X = X.reshape(-1, 1)",
            "reg = LinearRegression().fit(X, y)",
        },
    ),
    Case(
        id="script-flow-under-a-main-guard",
        source=script(
            SKLEARN,
            """
            def load_data():
                X, y = load_iris(return_X_y=True)
                return train_test_split(X, y, random_state=0)


            def train(X, y):
                return LogisticRegression(max_iter=500).fit(X, y)


            if __name__ == "__main__":
                X_train, X_test, y_train, y_test = load_data()
                model = train(X_train, y_train)
                flags = model.predict(X_test)
                print(flags.sum())
            """,
        ),
        input="X_test",
        output="flags",
        artifacts={"model"},
        infer=("flags = model.predict(X_test)",),
        train={"def load_data():", "def train(X, y):", "X_train, X_test, y_train, y_test = load_data()", "model = train(X_train, y_train)"},
    ),
    Case(
        id="hand-written-model-scored-by-an-accuracy",
        source=script(
            "import numpy as np",
            "from sklearn.datasets import load_iris",
            LOAD,
            "perm = np.random.RandomState(0).permutation(len(X))",
            "X_train, y_train = X[perm[:100]], y[perm[:100]]",
            "X_test = X[perm[100:]]",
            "y_test = y[perm[100:]]",
            "Y_train = np.eye(3)[y_train]",
            "W = np.zeros((4, 3))",
            """
            for epoch in range(200):
                exps = np.exp(X_train @ W)
                W = W - 0.01 * X_train.T @ (exps / exps.sum(axis=1, keepdims=True) - Y_train)
            """,
            "y_predict = (X_test @ W).argmax(axis=1)",
            "accuracy = (y_predict == y_test).mean()",
        ),
        input="X_test",
        output="y_predict",
        artifacts={"W"},
        infer=("y_predict = (X_test @ W).argmax(axis=1)",),
        train={
            LOAD, "perm = np.random.RandomState(0).permutation(len(X))", "X_train, y_train = X[perm[:100]], y[perm[:100]]",
            "Y_train = np.eye(3)[y_train]", "W = np.zeros((4, 3))", "for epoch in range(200):",
        },
        dropped={"accuracy = (y_predict == y_test).mean()": "", "y_test = y[perm[100:]]": ""},
    ),
    Case(
        id="hand-written-network-collected-row-by-row-and-scored-by-a-metric",
        source=script(
            "import numpy as np",
            "from sklearn.metrics import confusion_matrix",
            SKLEARN,
            LOAD,
            SPLIT,
            """
            class Net:
                def __init__(self, n):
                    self.w = np.zeros(n)

                def forward(self, x):
                    return 1 / (1 + np.exp(-(x @ self.w)))

                def train(self, X, y):
                    for _ in range(50):
                        self.w = self.w - 0.1 * X.T @ (self.forward(X) - y) / len(X)
            """,
            "net = Net(4)",
            "net.train(X_train, y_train)",
            "y_preds = []",
            """
            for i in range(len(X_test)):
                y_preds.append(np.round(net.forward(X_test[i])))
            """,
            "matrix = confusion_matrix(y_true=y_test, y_pred=y_preds)",
            "accuracy = np.mean(np.array(y_preds) == y_test)",
        ),
        input="X_test",
        output="y_preds",
        artifacts={"net"},
        preprocess=("y_preds = []",),
        infer=("for i in range(len(X_test)):",),
        train={LOAD, SPLIT, "class Net:", "net = Net(4)", "net.train(X_train, y_train)"},
        dropped={"matrix = confusion_matrix(y_true=y_test, y_pred=y_preds)": "metric"},
    ),
    Case(
        id="input-changed-in-place-before-the-prediction",
        source=script(
            SKLEARN,
            LOAD,
            SPLIT,
            "mean = X_train.mean(axis=0)",
            "X_train[:] = X_train - mean",
            "X_test[:] = X_test - mean",
            MODEL,
            FIT,
            PREDICT,
        ),
        input="X_test",
        output="y_pred",
        artifacts={"clf"},
        infer=(PREDICT,),
        train={LOAD, SPLIT, "mean = X_train.mean(axis=0)", "X_train[:] = X_train - mean", MODEL, FIT},
    ),
]


def cases(aspect: str) -> list:
    """The table, each case marked as a strict xfail for the aspects it names as known bugs."""
    params = []
    for case in CASES:
        reasons = [case.bugs[aspect]] if aspect in case.bugs else []
        marks = [pytest.mark.xfail(reason=reason, strict=True) for reason in reasons]
        params.append(pytest.param(case, id=case.id, marks=marks))
    return params


def first_line(statement) -> str:
    """A statement's first line of code (its code may start with comments and blank lines)."""
    return next(line.strip() for line in statement.code.splitlines() if line.strip() and not line.lstrip().startswith("#"))


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    """planned(case) -> (plan, {first line: index}); scripts are written to a file and read, cells are built."""
    cache: dict[str, tuple] = {}

    def make(case: Case):
        if case.id not in cache:
            if isinstance(case.source, str):
                path = tmp_path_factory.mktemp(case.id) / "x.py"
                path.write_text(case.source, encoding="utf-8")
                graph = analyse(path)
            else:
                cells = [cell if isinstance(cell, str) else cell[0] for cell in case.source]
                tags = {number: cell[1] for number, cell in enumerate(case.source, start=1) if not isinstance(cell, str)}
                graph = build_graph(*cells, tags=tags)
                path = Path(graph.document.path)
            result = plan(graph, Options(source=path, **case.options))
            lines = [first_line(statement) for statement in graph.statements]
            assert len(set(lines)) == len(lines), f"{case.id}: statements must have distinct first lines"
            cache[case.id] = (result, {line: index for index, line in enumerate(lines)})
        return cache[case.id]

    return make


def texts(result, indices) -> list[str]:
    return [first_line(result.graph.statements[index]) for index in indices]


@pytest.mark.parametrize("case", cases("boundaries"))
def test_boundaries(planned, case):
    result, _ = planned(case)
    assert (result.input.name, result.output.name) == (case.input, case.output)


@pytest.mark.parametrize("case", cases("stages"))
def test_inference_stages(planned, case):
    result, _ = planned(case)
    got = {stage: texts(result, result.stages[stage]) for stage in INFERENCE_STAGES}
    assert got == {"preprocess": list(case.preprocess), "infer": list(case.infer), "postprocess": list(case.postprocess)}
    assert texts(result, [result.prediction]) == list(case.infer)[-1:]


@pytest.mark.parametrize("case", cases("train"))
def test_training_slice(planned, case):
    result, _ = planned(case)
    statements = result.graph.statements
    assert set(texts(result, [index for index in result.train if statements[index].kind != "import"])) == case.train


@pytest.mark.parametrize("case", cases("state"))
def test_fitted_state_config_and_helpers(planned, case):
    result, _ = planned(case)
    assert {artifact.variable for artifact in result.artifacts} == case.artifacts
    assert {value.variable: value.value for value in result.config} == case.config
    assert set(texts(result, result.helpers)) == case.helpers
    for artifact in result.artifacts:
        assert artifact.variable in result.graph.statements[artifact.statement].defines
        assert artifact.origin == str(result.graph.statements[artifact.statement].origin)


@pytest.mark.parametrize("case", [case for case in cases("state") if case.values[0].formats])
def test_artifact_formats_and_devices(planned, case):
    result, _ = planned(case)
    assert {artifact.variable: artifact.format for artifact in result.artifacts} == case.formats
    assert set(result.devices) == case.devices
    for name, binder in result.devices.items():
        assert result.fates[binder].stage == "config"


@pytest.mark.parametrize("case", cases("fates"))
def test_dropped_statements_say_why(planned, case):
    result, index_of = planned(case)
    got = {text: result.fates[index_of[text]] for text in case.dropped}
    assert {text: fate.stage for text, fate in got.items()} == {text: "dropped" for text in case.dropped}
    for text, reason in case.dropped.items():
        assert reason in got[text].reason, f"{text!r}: {got[text].reason!r} does not say {reason!r}"


@pytest.mark.parametrize("case", cases("invariants"))
def test_plan_invariants(planned, case):
    """Every statement has one fate; training shares with inference only preprocessing it replays to fit, never the
    prediction; no fit call is ever an inference step."""
    result, _ = planned(case)
    statements = result.graph.statements
    inference = set(result.inference)
    assert set(result.fates) == {statement.index for statement in statements}
    assert inference & set(result.train) <= set(result.stages["preprocess"])
    assert result.prediction in result.stages["infer"]
    assert result.fates[result.prediction].reason == "the prediction"
    fitting = [
        first_line(statements[index])
        for index in inference
        if any(method in knowledge.FIT_METHODS and method != "fit_predict" for _, method in statements[index].methods)
    ]
    assert fitting == []
    for stage in INFERENCE_STAGES:
        assert all(result.fates[index].stage == stage for index in result.stages[stage])


# --- beyond the table -------------------------------------------------------------------------------------------------


def plan_script(tmp_path: Path, source: str, **options):
    path = tmp_path / "x.py"
    path.write_text(source, encoding="utf-8")
    return plan(analyse(path), Options(source=path, **options))


NO_PREDICTION = script(
    """
    import numpy as np
    import pandas as pd

    df = pd.DataFrame({"a": np.arange(10)})
    summary = df.describe()
    print(summary)
    """
)


def test_no_prediction_is_a_conversion_error_saying_what_to_do(tmp_path):
    with pytest.raises(ConversionError) as caught:
        plan_script(tmp_path, NO_PREDICTION)
    error = caught.value
    assert error.exit_code == 1
    assert "nbextract:infer" in str(error) and "--output" in str(error)
    assert error.path == str(tmp_path / "x.py")
    assert "\n" not in str(error)


@pytest.mark.parametrize(
    "options, mentions",
    [({"output_var": "nope"}, "--output nope"), ({"input_var": "nope"}, "--input nope")],
    ids=["unbound-output", "unbound-input"],
)
def test_override_naming_no_variable_is_a_conversion_error(tmp_path, options, mentions):
    with pytest.raises(ConversionError) as caught:
        plan_script(tmp_path, script(SKLEARN, LOAD, SPLIT, MODEL, FIT, PREDICT), **options)
    assert caught.value.exit_code == 1
    assert mentions in str(caught.value)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"input_var": "LogisticRegression"}, "--input LogisticRegression: LogisticRegression is an import at line 3, not a variable"),
        ({"input_var": "scale"}, "--input scale: scale is a function (def) at lines 6-7, not a variable"),
        ({"output_var": "Wrapper"}, "--output Wrapper: Wrapper is a class at lines 8-9, not a variable"),
    ],
    ids=["input-an-import", "input-a-function", "output-a-class"],
)
def test_override_naming_an_import_function_or_class_is_bad_usage(tmp_path, options, message):
    definitions = "def scale(values):\n    return values\nclass Wrapper:\n    pass"
    with pytest.raises(UsageError) as caught:
        plan_script(tmp_path, script(SKLEARN, LOAD, SPLIT, definitions, MODEL, FIT, PREDICT), **options)
    assert caught.value.exit_code == 2
    assert str(caught.value) == f"{tmp_path / 'x.py'}: {message}"


def test_postprocessing_reads_config_and_artifact_not_ground_truth(tmp_path):
    """The output chain follows the prediction through element-wise steps, and never through the split's labels."""
    result = plan_script(
        tmp_path,
        script(
            "import pandas as pd",
            "from sklearn.preprocessing import LabelEncoder",
            SKLEARN,
            LOAD,
            SPLIT,
            "encoder = LabelEncoder().fit(['setosa', 'versicolor', 'virginica'])",
            MODEL,
            FIT,
            PREDICT,
            "names = encoder.inverse_transform(y_pred)",
            "compare = pd.DataFrame({'pred': names, 'true': y_test})",
        ),
    )
    assert result.output.name == "names"
    assert texts(result, result.stages["postprocess"]) == ["names = encoder.inverse_transform(y_pred)"]
    assert {artifact.variable for artifact in result.artifacts} == {"clf", "encoder"}
    assert result.fates[len(result.graph.statements) - 1].stage == "dropped"


def test_the_input_loader_is_not_reported_as_dead_code(planned):
    case = next(case for case in CASES if case.id == "new-data-frame-from-read-csv-is-the-input")
    result, index_of = planned(case)
    fate = result.fates[index_of['new = pd.read_csv("new.csv")']]
    assert "dead code" not in fate.reason


RANDOM_DRAWS_BEFORE_TRAINING = script(
    """
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    X = torch.randn(32, 4)
    y = (X[:, 0] > 0).long()
    loader = DataLoader(TensorDataset(X, y), batch_size=8, shuffle=True)
    xb, yb = next(iter(loader))
    noise = torch.randn(3)
    model = nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range(2):
        for xb, yb in loader:
            opt.zero_grad()
            nn.functional.cross_entropy(model(xb), yb).backward()
            opt.step()
    late = torch.randn(2)
    model.eval()
    X_new = torch.randn(5, 4)
    pred = model(X_new).argmax(1)
    """
)


def test_random_draws_left_out_between_seed_and_training_are_reproducibility_findings(tmp_path):
    result = plan_script(tmp_path, RANDOM_DRAWS_BEFORE_TRAINING)
    found = [finding for finding in result.graph.findings if finding.kind == "reproducibility"]
    assert [finding.origin for finding in found] == ["line 9", "line 10"]  # a peek at a shuffled batch, a dead draw
    assert all("(line 5)" in finding.message and "(lines 13-17)" in finding.message for finding in found)
    plan(result.graph, Options(source=tmp_path / "x.py"))
    assert len([finding for finding in result.graph.findings if finding.kind == "reproducibility"]) == 2


@pytest.mark.parametrize(
    "paired",
    [
        ("X_test_2 = X_test * 2", "pairs = (X_test_2, y_test)"),
        ("y_test_2 = y_test + 0", "pairs = (X_test, y_test_2)"),
        ("both = (X_train, X_test)", "pairs = (both[1], y_test)"),
    ],
    ids=["labels-nearer", "features-nearer", "both-sides-of-the-features"],
)
def test_the_features_side_of_a_split_is_the_input_not_its_labels(graph_of, paired):
    """A dataset built of both sides of a split (`SentimentData(X_test_onehot, y_test)`) is walked back to both; the
    input is the side split from the first array the split is given, not the labels beside it, however near each is,
    and of that array the test side."""
    statements = graph_of(SKLEARN, LOAD, SPLIT, MODEL, FIT, *paired, "y_pred = clf.predict(pairs)")
    options = Options(source=Path("test.py"))
    prediction = find_prediction(statements, prediction_candidates(statements), None)
    assert find_input(statements, prediction, options).name == "X_test"


def test_an_input_changed_in_place_is_taken_as_the_source_leaves_it(planned):
    """`X_test[:] = X_test - mean` changes the variable the prediction reads; the input is X_test as changed, what
    `--input X_test` takes too, so the change is not replayed on a value that already had it."""
    case = next(case for case in CASES if case.id == "input-changed-in-place-before-the-prediction")
    result, index_of = planned(case)
    assert result.input.statement == index_of["X_test[:] = X_test - mean"]
    assert index_of["X_test[:] = X_test - mean"] not in result.inference


SCORED = [
    ("metric-by-position", "score = accuracy_score(y_test, guess)", ["guess"]),
    ("metric-by-keyword-in-any-order", "matrix = confusion_matrix(y_pred=guess, y_true=y_test)", ["guess"]),
    ("metric-of-a-model-is-not-scoring", "scores = cross_val_score(clf, X_test, y_test)", []),
    ("accuracy-takes-the-side-that-reads-fitted-state", "accuracy = (y_test == guess).mean()", ["guess"]),
    ("two-truths-compared-are-no-prediction", "agree = (y_test == y_again).mean()", []),
    ("a-check-is-not-an-evaluation", "assert (guess == y_test).all()", []),
    ("a-constant-is-not-a-prediction", "hits = (guess == THRESHOLD).sum()", []),
]


@pytest.mark.parametrize(("line", "expected"), [case[1:] for case in SCORED], ids=[case[0] for case in SCORED])
def test_what_an_evaluation_scores(graph_of, line, expected):
    statements = graph_of(
        SKLEARN,
        "from sklearn.metrics import accuracy_score, confusion_matrix\nfrom sklearn.model_selection import cross_val_score",
        LOAD, SPLIT, MODEL, FIT, "THRESHOLD = 1", "guess = X_test @ clf.coef_[0] > 5", "y_again = y_test.copy()", line,
    )
    assert [scored.answer.name for scored in scored_answers(statements)] == expected


STEPS = [
    ("gradient-step", "for _ in range(9):\n    w = w - 0.1 * g", True),
    ("augmented-step", "for _ in range(9):\n    w -= rate * g @ X", True),
    ("a-counter-is-not-a-step", "for _ in range(9):\n    w += 1", False),
    ("stacking-is-not-a-step", "for _ in range(9):\n    w = np.vstack([w, g])", False),
    ("outside-a-loop", "w = w - 0.1 * g", False),
]


@pytest.mark.parametrize(("code", "learned"), [case[1:] for case in STEPS], ids=[case[0] for case in STEPS])
def test_a_parameter_learned_by_hand_is_a_step_in_a_loop(graph_of, code, learned):
    statements = graph_of("import numpy as np", "w, g, rate, X = 0, 1, 2, 3", code)
    assert learned_by_hand(statements.statements[-1], "w") is learned


def test_analyze_names_the_answer_of_a_model_written_by_hand(tmp_path):
    case = next(case for case in CASES if case.id == "hand-written-model-scored-by-an-accuracy")
    path = tmp_path / "x.py"
    path.write_text(case.source, encoding="utf-8")
    report = describe(analyse(path))
    assert "output chosen: y_predict (line 13), the prediction scored last (at line 14)" in report
    assert report.endswith("boundaries: input X_test (line 6) -> output y_predict (line 13)\n")


def test_construction_is_the_same_from_every_statement_of_a_chain():
    """Where an object was made, asked from any statement that changed it in place after: the answer each of them
    keeps in the graph's memo is the one a walk back from it finds."""
    changes = [f"model.step({n})" for n in range(30)]
    sg = build_graph("import torch", "model = torch.nn.Linear(2, 1)", *changes, "other = model.step(99)")
    asked = [statement.index for statement in sg.statements if "model" in statement.defines]
    made = next(statement.index for statement in sg.statements if "model" in statement.made_by)
    for index in reversed(asked):
        assert construction(sg, "model", index) == made
    assert {sg.constructions["model", index] for index in asked} == {made}
    assert construction(sg, "other", asked[-1]) is None
