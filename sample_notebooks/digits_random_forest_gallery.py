"""
==========================================
Handwritten digits with tree ensembles
==========================================

This example compares an :class:`~sklearn.ensemble.ExtraTreesClassifier`
with a :class:`~sklearn.ensemble.RandomForestClassifier` on the 8x8
handwritten digits bundled with scikit-learn, then predicts the digits of a
held-out split with the random forest.
"""

# Authors: the vision-lite team
# SPDX-License-Identifier: BSD-3-Clause

import os
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sklearn.datasets import load_digits
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.metrics import ConfusionMatrixDisplay, accuracy_score, classification_report
from sklearn.model_selection import train_test_split

# Artifacts used to be pushed to blob storage from this script.
AZURE_STORAGE_CONNECTION_STRING = (
    "DefaultEndpointsProtocol=https;AccountName=mlartifactsdev;"
    "AccountKey=ZmFrZS1henVyZS1zdG9yYWdlLWFjY291bnQta2V5LWZvci1uYmV4dHJhY3QtdGVzdHMtypjb9V/N9FCQvbFpVury;"
    "EndpointSuffix=core.windows.net"
)
RANDOM_STATE = 42
BATCH_SIZE = 64
device = "cuda:0"

##############################################################################
# Loading the digits
# ------------------
#
# Each sample is an 8x8 grey-level image flattened into 64 features with
# values between 0 and 16.

digits = load_digits()
X, y = digits.data, digits.target
print(X.shape, y.shape)
print(pd.Series(y).value_counts().sort_index())

##############################################################################
# A quick look at a few images
# ----------------------------

fig, axes = plt.subplots(2, 5, figsize=(8, 3.5))
for ax, image, label in zip(axes.ravel(), digits.images, digits.target):
    ax.imshow(image, cmap=plt.cm.gray_r, interpolation="nearest")
    ax.set_title(f"label: {label}")
    ax.set_axis_off()
plt.show()

##############################################################################
# Pixel intensity distribution
# ----------------------------

plt.figure(figsize=(5, 3))
plt.hist(X.ravel(), bins=17)
plt.title("pixel values")
plt.show()

print(pd.DataFrame(X).describe().T.head())

##############################################################################
# Train / test split
# ------------------
#
# We keep a quarter of the digits aside, stratified by class.

X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=RANDOM_STATE
)


def plot_misclassified(images, true, pred, n=8):
    """Show the first ``n`` mistakes."""
    wrong = np.flatnonzero(true != pred)[:n]
    fig, axes = plt.subplots(1, len(wrong), figsize=(2 * len(wrong), 2))
    for ax, i in zip(np.atleast_1d(axes), wrong):
        ax.imshow(images[i].reshape(8, 8), cmap=plt.cm.gray_r)
        ax.set_title(f"{true[i]} -> {pred[i]}")
        ax.set_axis_off()
    plt.show()


##############################################################################
# An extra-trees baseline
# -----------------------

clf = ExtraTreesClassifier(n_estimators=100, random_state=RANDOM_STATE, n_jobs=1)
tic = time.perf_counter()
clf.fit(X_train, y_train)
print(f"extra trees fitted in {time.perf_counter() - tic:.2f}s")
print("extra trees accuracy:", accuracy_score(y_test, clf.predict(X_test)))

##############################################################################
# Random forest
# -------------
#
# The forest with a few more trees and limited depth is as accurate and its
# trees are smaller on disk; we keep it as the final model.

clf = RandomForestClassifier(
    n_estimators=150, max_depth=12, max_features="sqrt", random_state=RANDOM_STATE, n_jobs=1
)
tic = time.perf_counter()
clf.fit(X_train, y_train)
print(f"random forest fitted in {time.perf_counter() - tic:.2f}s")

##############################################################################
# Predicting the held-out digits
# ------------------------------

y_pred = clf.predict(X_test)

##############################################################################
# Evaluation
# ----------
#
# Per-class report and confusion matrix of the forest.

print("accuracy:", accuracy_score(y_test, y_pred))
print(classification_report(y_test, y_pred))

ConfusionMatrixDisplay.from_predictions(y_test, y_pred)
plt.title("RandomForest")
plt.show()

plot_misclassified(X_test, y_test, y_pred)
