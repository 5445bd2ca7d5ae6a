#!/usr/bin/python3
"""scikit-learn's side of bench/compare.py: fit one model on a training CSV,
score it on a test CSV, print one JSON object.

The pipeline is the equivalent of modelserver's defaults (bench/sklearn_prep.py),
then the model:

  linear    LinearRegression()
  logistic  LogisticRegression()            (lbfgs, C=1, max_iter=100)
  sgd       SGDClassifier(loss="log_loss")  (scikit-learn's defaults)
  mlp       MLPRegressor / MLPClassifier(hidden_layer_sizes, max_iter=epochs,
            batch_size, learning_rate_init); the rest default (adam, relu)

Output: {"read_seconds", "fit_seconds", "metrics": {...}} where metrics are
rmse, mae, r2 (regression) or accuracy, log_loss, f1_macro (classification).
Threads: set OMP_NUM_THREADS / OPENBLAS_NUM_THREADS in the environment.
"""
import argparse
import json
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression, SGDClassifier
from sklearn.metrics import (accuracy_score, f1_score, log_loss,
                             mean_absolute_error, mean_squared_error, r2_score)
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline

from sklearn_prep import preprocessor


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--task", choices=["regression", "classification"], required=True)
    ap.add_argument("--model", choices=["linear", "logistic", "sgd", "mlp"], required=True)
    ap.add_argument("--hidden", default="64")
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--learning-rate", type=float, default=0.001)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)

    t0 = time.perf_counter()
    tr = pd.read_csv(a.train)
    read_seconds = time.perf_counter() - t0
    te = pd.read_csv(a.test)
    tr = tr[tr[a.target].notna()]
    te = te[te[a.target].notna()]
    cols = [c for c in tr.columns if c != a.target]
    prep = preprocessor(tr, cols)
    hidden = tuple(int(h) for h in a.hidden.split(","))
    mlp_args = dict(hidden_layer_sizes=hidden, max_iter=a.epochs,
                    batch_size=a.batch_size, learning_rate_init=a.learning_rate,
                    random_state=a.seed)
    if a.model == "linear":
        model = LinearRegression()
    elif a.model == "logistic":
        model = LogisticRegression()
    elif a.model == "sgd":
        model = SGDClassifier(loss="log_loss", random_state=a.seed)
    elif a.task == "regression":
        model = MLPRegressor(**mlp_args)
    else:
        model = MLPClassifier(**mlp_args)
    pipe = make_pipeline(prep, model)

    t0 = time.perf_counter()
    pipe.fit(tr[cols], tr[a.target])
    fit_seconds = time.perf_counter() - t0

    y = te[a.target]
    if a.task == "regression":
        p = pipe.predict(te[cols])
        metrics = {"rmse": float(np.sqrt(mean_squared_error(y, p))),
                   "mae": float(mean_absolute_error(y, p)),
                   "r2": float(r2_score(y, p))}
    else:
        p = pipe.predict(te[cols])
        proba = pipe.predict_proba(te[cols])
        metrics = {"accuracy": float(accuracy_score(y, p)),
                   "log_loss": float(log_loss(y, proba, labels=pipe.classes_)),
                   "f1_macro": float(f1_score(y, p, average="macro"))}
    print(json.dumps({"read_seconds": read_seconds, "fit_seconds": fit_seconds,
                      "metrics": metrics}))


if __name__ == "__main__":
    main()
