#!/usr/bin/python3
"""Reference values for tests/core/train/rebalance_test.cc (class weights).

Data: tests/data/breast_cancer.csv made imbalanced: every benign row and the
malignant rows whose 0-based data row index i has i % 4 == 0 (50 malignant
of 407 rows). Features standardised with the population standard deviation
(StandardScaler, as the modelserver pipeline does).

1. LogisticRegression(C=1, class_weight='balanced') on all 407 rows, all 30
   features: the coefficients and the intercept (modelserver's objective
   with class_weight=balanced and l2 = 1 / (2 n) is the same problem).
   Solver newton-cholesky: it converges to the optimum (10 iterations);
   the default lbfgs stops 7e-5 away from it even with tol=1e-12.
2. Minority (malignant) recall on the test rows (subset row j with j % 5 ==
   0) with features mean_texture, mean_smoothness, without and with
   class_weight='balanced', and the balanced model's coefficients.

Run: /usr/bin/python3 bench/sklearn_class_weight.py  (scikit-learn 1.2.1)
"""
import numpy as np
import pandas as pd
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import recall_score
from sklearn.preprocessing import StandardScaler

df = pd.read_csv("tests/data/breast_cancer.csv")
keep = [(d == "benign") or (i % 4 == 0) for i, d in enumerate(df.diagnosis)]
sub = df[keep].reset_index(drop=True)
y = (sub.diagnosis == "malignant").astype(int).values
feats = list(df.columns[:-1])
print("sklearn", sklearn.__version__, "rows", len(y), "malignant", y.sum())

x = StandardScaler().fit_transform(sub[feats].values)
m = LogisticRegression(C=1.0, class_weight="balanced", tol=1e-12,
                       max_iter=100000, solver="newton-cholesky").fit(x, y)
np.set_printoptions(precision=10, suppress=False, linewidth=100)
print("coef", ", ".join(f"{c:.10f}" for c in m.coef_[0]))
print("intercept", f"{m.intercept_[0]:.10f}")

test = np.arange(len(y)) % 5 == 0
two = ["mean_texture", "mean_smoothness"]
sc = StandardScaler().fit(sub[two].values[~test])
for cw in (None, "balanced"):
    m = LogisticRegression(C=1.0, class_weight=cw, tol=1e-12,
                           max_iter=100000, solver="newton-cholesky").fit(
        sc.transform(sub[two].values[~test]), y[~test])
    pred = m.predict(sc.transform(sub[two].values[test]))
    print("recall", cw, f"{recall_score(y[test], pred):.10f}",
          "test malignant", int(y[test].sum()), "coef",
          ", ".join(f"{c:.10f}" for c in m.coef_[0]),
          "intercept", f"{m.intercept_[0]:.10f}")
