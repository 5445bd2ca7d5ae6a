#!/usr/bin/python3
"""Reference scores from scikit-learn for tests/core/train/datasets_test.cc.

Split rule shared with the C++ test: data row i (0-based, header excluded) is
a test row when i % 5 == 0, a training row otherwise; rows with a missing
target are then dropped on both sides. Preprocessing: mean imputation and
standard scaling of numeric columns, most-frequent imputation and one-hot
(unknown -> zeros) of text columns. Models: LinearRegression, and
LogisticRegression(C=1, lbfgs), whose objective equals modelserver's with
l2 = 1 / (2 * n_train).

Run: /usr/bin/python3 bench/sklearn_reference.py [tests/data]
"""
import sys

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import accuracy_score, log_loss, r2_score
from sklearn.pipeline import make_pipeline

from sklearn_prep import preprocessor

DATA = sys.argv[1] if len(sys.argv) > 1 else "tests/data"
CASES = [
    ("airquality.csv", "Ozone", None, "linear"),
    ("diabetes.csv", "progression", None, "linear"),
    ("mpg.csv", "hwy", "manufacturer,displ,year,cyl,trans,drv,fl,class", "linear"),
    ("breast_cancer.csv", "diagnosis", None, "logistic"),
    ("iris.csv", "species", None, "logistic"),
]

for file, target, feats, kind in CASES:
    df = pd.read_csv(f"{DATA}/{file}")
    test_mask = np.arange(len(df)) % 5 == 0
    tr, te = df[~test_mask], df[test_mask]
    tr, te = tr[tr[target].notna()], te[te[target].notna()]
    cols = feats.split(",") if feats else [c for c in df.columns if c != target]
    prep = preprocessor(df, cols)
    if kind == "linear":
        p = make_pipeline(prep, LinearRegression()).fit(tr[cols], tr[target])
        print(f"{file} {target} n_train={len(tr)} n_test={len(te)} "
              f"r2={r2_score(te[target], p.predict(te[cols])):.9f}")
    else:
        p = make_pipeline(prep, LogisticRegression(C=1.0, tol=1e-10, max_iter=10000))
        p.fit(tr[cols], tr[target])
        proba = p.predict_proba(te[cols])
        print(f"{file} {target} n_train={len(tr)} n_test={len(te)} "
              f"accuracy={accuracy_score(te[target], p.predict(te[cols])):.9f} "
              f"log_loss={log_loss(te[target], proba):.9f}")
