#!/usr/bin/env python
"""Train the iris species classifier.

usage: python iris_training_script.py
(originally run on the GPU box, hence the device setting below)
"""
import json
import logging
import os
import sys
import urllib.request

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

SLACK_WEBHOOK_URL = "https://hooks.slack.com/services/T0FAKE1234/B0FAKE5678/FAKETukaQRdOfWYj6ncBzVun"
RANDOM_STATE = 42
TEST_SIZE = 0.3
OUTPUT_DIR = "outputs"
device = "cuda:0"
BATCH_SIZE = 64

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("iris")


def load_data():
    iris = load_iris(as_frame=True)
    df = iris.frame
    df["species"] = df["target"].map(dict(enumerate(iris.target_names)))
    return df, list(iris.feature_names)


def explore(df):
    print(df.head())
    print(df.describe())
    print(df["species"].value_counts())
    df.info()
    plt.figure(figsize=(6, 4))
    for name, grp in df.groupby("species"):
        plt.scatter(grp["petal length (cm)"], grp["petal width (cm)"], label=name, s=12)
    plt.legend()
    plt.xlabel("petal length (cm)")
    plt.ylabel("petal width (cm)")
    plt.show()
    plt.close("all")


def add_features(X):
    """Ratio / area features, the model was better with them."""
    X = X.copy()
    X["petal_ratio"] = X["petal length (cm)"] / X["petal width (cm)"]
    X["sepal_area"] = X["sepal length (cm)"] * X["sepal width (cm)"]
    return X


def tune_knn(X, y):
    best = None
    for k in range(1, 16, 2):
        score = KNeighborsClassifier(n_neighbors=k).fit(X, y).score(X, y)
        if best is None or score > best[1]:
            best = (k, score)
    return best


def report(y_true, y_pred, names):
    acc = accuracy_score(y_true, y_pred)
    print("accuracy:", acc)
    print(classification_report(y_true, y_pred, target_names=names))
    print(confusion_matrix(y_true, y_pred))
    return acc


def notify_slack(text):
    payload = json.dumps({"text": text}).encode()
    req = urllib.request.Request(SLACK_WEBHOOK_URL, data=payload, headers={"Content-Type": "application/json"})
    # urllib.request.urlopen(req, timeout=5)  # disabled, the cluster has no outbound network
    log.info("slack notification skipped: %s", text)


def main():
    log.info("loading data")
    df, feature_names = load_data()
    explore(df)

    X = df[feature_names]
    y = df["target"]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=TEST_SIZE, stratify=y, random_state=RANDOM_STATE
    )
    log.info("train %s test %s", X_train.shape, X_test.shape)

    X_train_f = add_features(X_train)
    X_test_f = add_features(X_test)

    # first try: knn
    model = KNeighborsClassifier(n_neighbors=5)
    model.fit(X_train_f, y_train)
    print("knn accuracy:", accuracy_score(y_test, model.predict(X_test_f)))

    # logistic regression is as good and gives probabilities -> keep it
    model = make_pipeline(StandardScaler(), LogisticRegression(C=2.0, max_iter=1000, random_state=RANDOM_STATE))
    model.fit(X_train_f, y_train)

    y_pred = model.predict(X_test_f)

    acc = report(y_test, y_pred, ["setosa", "versicolor", "virginica"])
    plt.figure(figsize=(4, 4))
    plt.imshow(confusion_matrix(y_test, y_pred), cmap="Blues")
    plt.title(f"iris logreg, acc={acc:.3f}")
    plt.show()
    if os.environ.get("SEND_SLACK") == "1":
        notify_slack(f"iris model trained, accuracy {acc:.3f}")
    return 0


if __name__ == "__main__":
    main()
