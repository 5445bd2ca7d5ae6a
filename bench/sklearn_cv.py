#!/usr/bin/python3
"""5-fold cross-validated scores of scikit-learn pipelines equivalent to
modelserver's defaults, on the shipped datasets. Run with Debian's python3
(python3-sklearn, python3-pandas). Prints one line per case:
  case metric mean std
Used by bench/quality_cv.sh to print side by side with modelserver-local.
"""
import sys
import warnings

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline

from sklearn_prep import preprocessor

warnings.filterwarnings("ignore")
DATA = sys.argv[1] if len(sys.argv) > 1 else "tests/data"

# name, file, target, model, features (None = all but target), metric
CASES = [
    ("diabetes-linear", "diabetes.csv", "progression", "linear", None, "r2"),
    ("diabetes-mlp", "diabetes.csv", "progression", "mlp_reg", None, "r2"),
    ("iris-logistic", "iris.csv", "species", "logistic", None, "accuracy"),
    ("breast_cancer-logistic", "breast_cancer.csv", "diagnosis", "logistic", None, "accuracy"),
    ("breast_cancer-mlp", "breast_cancer.csv", "diagnosis", "mlp_clf", None, "accuracy"),
    ("airquality-linear", "airquality.csv", "Ozone", "linear", None, "r2"),
    ("mpg_hwy-linear", "mpg.csv", "hwy", "linear",
     ["manufacturer", "displ", "year", "cyl", "trans", "drv", "fl", "class"], "r2"),
    ("mpg_class-mlp", "mpg.csv", "class", "mlp_clf", None, "accuracy"),
]


def model_for(kind):
    if kind == "linear":
        return LinearRegression()
    if kind == "logistic":
        return LogisticRegression(max_iter=500)
    if kind == "mlp_reg":
        return MLPRegressor(hidden_layer_sizes=(32,), learning_rate_init=0.01,
                            batch_size=32, max_iter=200, early_stopping=True,
                            random_state=42)
    return MLPClassifier(hidden_layer_sizes=(32,), learning_rate_init=0.01,
                         batch_size=32, max_iter=200, early_stopping=True,
                         random_state=42)


for name, file, target, kind, features, metric in CASES:
    df = pd.read_csv(f"{DATA}/{file}")
    df = df[df[target].notna()]
    y = df[target]
    x = df[features] if features else df.drop(columns=[target])
    prep = preprocessor(x, list(x.columns))
    pipe = make_pipeline(prep, model_for(kind))
    classifier = kind in ("logistic", "mlp_clf")
    cv = (StratifiedKFold(5, shuffle=True, random_state=42) if classifier
          else KFold(5, shuffle=True, random_state=42))
    scores = cross_val_score(pipe, x, y, cv=cv, scoring=metric)
    print(f"{name} {metric} {scores.mean():.4f} {scores.std(ddof=1):.4f}")
