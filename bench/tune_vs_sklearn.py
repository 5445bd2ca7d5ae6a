#!/usr/bin/python3
"""Hyperparameter search: `modelctl tune` against scikit-learn's GridSearchCV,
same data, same grid (12 configurations x 5 folds), measured in the same run.

Usage: /usr/bin/python3 bench/tune_vs_sklearn.py [BUILD_DIR]   (default build)

Grids: iris, logistic regression, l2 in {0, 1e-4, 1e-3, 1e-2, 1e-1, 1} x
scaling {standard, minmax} (scikit-learn: LogisticRegression with
C = 1 / (2 n l2), n the training rows of a fold, no penalty for l2 = 0, in a
Pipeline with StandardScaler / MinMaxScaler); diabetes, linear regression,
the same grid (Ridge with alpha = n l2, the same objective). Both use 5
folds (stratified for iris) and one thread (GridSearchCV n_jobs=1;
modelserver --training-threads 1). Prints, per data set, the medians of 3
rounds: modelserver's search time (from the job's metadata), modelctl's
wall time (process start, the RPC, the final training and the publish
included) and GridSearchCV's wall time, with the ratios. Absolute times on a
shared machine are noise; the ratios are the result.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server_process import modelserver  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
L2 = [0, 1e-4, 1e-3, 1e-2, 1e-1, 1]
ROUNDS = 3


def sklearn_search(name, target, classify):
    df = pd.read_csv(os.path.join(ROOT, "tests", "data", name))
    y = df.pop(target).to_numpy()
    x = df.to_numpy(dtype=float)
    n_train = len(y) * 4 // 5
    models = []
    for l2 in L2:
        if classify:
            models.append(LogisticRegression(penalty="none", max_iter=500) if l2 == 0 else
                          LogisticRegression(C=1 / (2 * n_train * l2), max_iter=500))
        else:
            models.append(LinearRegression() if l2 == 0 else Ridge(alpha=n_train * l2))
    grid = {"model": models, "scale": [StandardScaler(), MinMaxScaler()]}
    cv = StratifiedKFold(5, shuffle=True, random_state=1) if classify else \
        KFold(5, shuffle=True, random_state=1)
    search = GridSearchCV(Pipeline([("scale", StandardScaler()), ("model", models[0])]),
                          grid, cv=cv, n_jobs=1,
                          scoring="accuracy" if classify else "r2", refit=True)
    t = time.perf_counter()
    search.fit(x, y)
    return time.perf_counter() - t, search.best_score_


def ours(server, build, name, target, model, i):
    args = [f"{build}/client/modelctl", "--server", server.address, "--json", "tune",
            "--name", f"t{i}", "--data", os.path.join(ROOT, "tests", "data", name),
            "--target", target, "--model", model, "--l2", ",".join(map(str, L2)),
            "--scaling", "standard,minmax", "--folds", "5", "--seed", "1"]
    t = time.perf_counter()
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - t
    tuning = json.loads(out)["tuning"]
    best = [tr for tr in tuning["trials"] if tr["trial"] == tuning["best_trial"]][0]
    return tuning["search_seconds"], wall, best["mean"], len(tuning["trials"])


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")
    with tempfile.TemporaryDirectory() as tmp:
        server = modelserver(build, os.path.join(tmp, "models"),
                             extra=("--training-threads", "1"))
        try:
            print(f"{'data':12} {'trials':>6} {'ours search s':>14} {'modelctl s':>11} "
                  f"{'sklearn s':>10} {'sklearn/search':>15} {'sklearn/modelctl':>17} "
                  f"{'best ours':>10} {'best sklearn':>13}")
            for i, (name, target, model, classify) in enumerate((
                    ("iris.csv", "species", "logistic", True),
                    ("diabetes.csv", "progression", "linear", False))):
                runs = [ours(server, build, name, target, model, f"{i}_{r}") for r in range(ROUNDS)]
                sk = [sklearn_search(name, target, classify) for _ in range(ROUNDS)]
                search = statistics.median(r[0] for r in runs)
                wall = statistics.median(r[1] for r in runs)
                skw = statistics.median(s[0] for s in sk)
                print(f"{name:12} {runs[0][3]:>6} {search:>14.4f} {wall:>11.4f} {skw:>10.4f} "
                      f"{skw / search:>15.1f} {skw / wall:>17.1f} {runs[0][2]:>10.4f} "
                      f"{sk[0][1]:>13.4f}")
        finally:
            server.stop()


if __name__ == "__main__":
    np.seterr(all="ignore")
    warnings.filterwarnings("ignore")  # penalty="none" is deprecated in 1.2, kept for 1.2
    main()
