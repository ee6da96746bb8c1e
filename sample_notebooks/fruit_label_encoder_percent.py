# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Fruit classification from measurements
#
# Lab measurements of fruit (mass, size, colour, sugar). Predict the fruit name.
# Target is a string -> `LabelEncoder`, decode the predictions at the end.

# %%
# %matplotlib inline
# %load_ext autoreload
# %autoreload 2

# %%
# %pip install -q scikit-learn pandas

# %%
import os

import numpy as np
import pandas as pd
import matplotlib

matplotlib.use("Agg")  # runs on the headless box too
import matplotlib.pyplot as plt

from sklearn.model_selection import train_test_split, cross_val_score
from sklearn.preprocessing import LabelEncoder, StandardScaler
from sklearn.pipeline import make_pipeline
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import SVC
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix

# %%
DATA_PATH = "data/fruit_measurements.csv"
RANDOM_STATE = 42
device = "cuda:0"
GOOGLE_MAPS_API_KEY = "AIzaSyFAKEWJM2OtlHJ0ZJoWJBMYgS4D-vWNaj9"  # store-locator join, not used yet

# %%
# %env PYTHONWARNINGS=ignore

# %% [markdown]
# ## Look at the data

# %%
df = pd.read_csv(DATA_PATH)
print(df.shape)
print(df.head())

# %%
df.info()
print(df.describe())
print(df["fruit_name"].value_counts())

# %%
print(df.groupby("fruit_name").mean())

# %%
plt.figure(figsize=(6, 4))
for name, grp in df.groupby("fruit_name"):
    plt.scatter(grp["width_cm"], grp["height_cm"], s=10, label=name)
plt.xlabel("width (cm)")
plt.ylabel("height (cm)")
plt.legend()
plt.show()

# %% [markdown]
# ## Encode target, split

# %%
le = LabelEncoder()
y = le.fit_transform(df["fruit_name"])
X = df.drop(columns=["fruit_name"])
print(le.classes_)

# %%
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=RANDOM_STATE
)


# %%
def plot_confusion(cm, names):
    plt.imshow(cm, cmap="Oranges")
    plt.xticks(range(len(names)), names)
    plt.yticks(range(len(names)), names)
    plt.show()


# %% [markdown]
# ## Models

# %%
model = make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=7))
model.fit(X_train, y_train)
print("knn", accuracy_score(y_test, model.predict(X_test)))

# %%
# %%time
model = make_pipeline(StandardScaler(), SVC(C=3.0, gamma="scale", random_state=RANDOM_STATE))
model.fit(X_train, y_train)
print("svc", accuracy_score(y_test, model.predict(X_test)))

# %%
scores = cross_val_score(model, X_train, y_train, cv=5)
print(scores.mean())

# %% [markdown]
# ## Predict the hold-out fruit

# %%
y_pred = model.predict(X_test)
labels = le.inverse_transform(y_pred)

# %%
print(labels[:10])
print(accuracy_score(y_test, y_pred))
print(classification_report(le.inverse_transform(y_test), labels))
print(confusion_matrix(le.inverse_transform(y_test), labels, labels=le.classes_))

# %%
pd.Series(labels).value_counts().plot.bar()
plt.title("predicted fruit")
plt.show()
