#!/usr/bin/python3
"""End to end: explanations and permutation importance through `modelctl`
against the real modelserver (docs/explanations.md).

Usage: explain_e2e_test.py MODELSERVER MODELCTL MODELSERVER_LOCAL DATA_DIR
       [unittest arguments]

Reuses the Server fixture of modelctl_e2e_test.py. Standard library only.
"""
import csv
import math
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import modelctl_e2e_test as base  # noqa: E402

FEATURES = ["displ", "year", "cyl", "drv", "cty", "class"]


class ExplainTest(base.ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mpg = os.path.join(base.DATA, "mpg.csv")
        cls.iris = os.path.join(base.DATA, "iris.csv")
        base.run_ctl(cls.addr, "train", "--name", "hwy", "--data", cls.mpg, "--target", "hwy",
                     "--features", ",".join(FEATURES))
        base.run_ctl(cls.addr, "train", "--name", "iris", "--data", cls.iris,
                     "--target", "species", "--importance-repeats", "3")

    def test_contributions_add_up_to_every_prediction(self):
        out = self.json("predict", "--name", "hwy", "--data", self.mpg, "--explain")
        explanation = out["explanation"]
        self.assertEqual(explanation["columns"], FEATURES)  # the raw columns
        self.assertEqual(explanation["score"], "value")
        base_value = explanation["base_values"][0]
        with open(self.mpg, newline="") as f:
            rows = len(list(csv.reader(f))) - 1
        self.assertEqual(len(out["predictions"]), rows)
        for p in out["predictions"]:
            self.assertEqual(sorted(p["contributions"]), sorted(FEATURES))
            total = base_value + sum(p["contributions"].values())
            self.assertTrue(math.isclose(total, p["value"], rel_tol=1e-9), (total, p))
            self.assertTrue(math.isclose(p["scores"][0], p["value"], rel_tol=1e-12))
        # The table: one column per input column after the score and base.
        _, text, _ = self.ctl("predict", "--name", "hwy", "--data", self.mpg, "--explain")
        header = text.splitlines()[0].split()
        self.assertEqual(header, ["row", "prediction", "value", "base"] + FEATURES)
        self.assertEqual(len(text.splitlines()), rows + 1)

    def test_softmax_contributions_per_class(self):
        out = self.json("predict", "--name", "iris", "--data", self.iris, "--explain")
        explanation = out["explanation"]
        classes = ["setosa", "versicolor", "virginica"]
        self.assertEqual(explanation["score"], "logit")
        self.assertEqual(explanation["score_labels"], classes)
        for p in out["predictions"]:
            scores = p["scores"]
            for k, label in enumerate(classes):
                total = explanation["base_values"][k] + sum(p["contributions"][label].values())
                self.assertTrue(math.isclose(total, scores[k], rel_tol=1e-9, abs_tol=1e-12))
            top = max(scores)
            norm = sum(math.exp(s - top) for s in scores)
            for k, label in enumerate(classes):
                self.assertTrue(math.isclose(math.exp(scores[k] - top) / norm,
                                             p["probabilities"][label], abs_tol=1e-12))

    def test_importance_in_get_and_evaluate(self):
        info = self.json("get", "iris")
        imp = info["versions"][0]["importance"]
        self.assertEqual(imp["metric"], "accuracy")
        self.assertEqual(imp["data"], "training")  # L-BFGS holds no rows out
        self.assertEqual(imp["rows"], "150")  # int64: a string in protobuf JSON
        self.assertEqual(imp["repeats"], 3)
        columns = {c["column"]: c for c in imp["columns"]}
        self.assertEqual(set(columns), {"sepal_length_cm", "sepal_width_cm",
                                        "petal_length_cm", "petal_width_cm"})
        for c in imp["columns"]:
            self.assertEqual(len(c["drops"]), 3)
            # Accuracy drops on 150 rows are multiples of 1/150.
            for d in c["drops"]:
                self.assertAlmostEqual(d * 150, round(d * 150), places=6)
        _, text, _ = self.ctl("get", "iris")
        self.assertIn("permutation importance: accuracy drop on 150 training rows, 3 repeats",
                      text)

        evaluated = self.json("evaluate", "--name", "hwy", "--data", self.mpg, "--importance",
                              "--importance-repeats", "2")
        imp = evaluated["importance"]
        self.assertEqual(imp["data"], "evaluation")
        self.assertEqual(imp["repeats"], 2)
        self.assertEqual(imp["rows"], 234)
        by_column = {c["column"]: c["mean"] for c in imp["columns"]}
        self.assertEqual(max(by_column, key=by_column.get), "cty")  # hwy follows cty
        # Same request, same numbers (seeded).
        again = self.json("evaluate", "--name", "hwy", "--data", self.mpg, "--importance",
                          "--importance-repeats", "2")
        self.assertEqual(again["importance"], imp)

        base.run_ctl(self.addr, "train", "--name", "off", "--data", self.iris,
                     "--target", "species", "--importance-repeats", "0")
        self.assertNotIn("importance", self.json("get", "off")["versions"][0])

    def test_refusals(self):
        base.run_ctl(self.addr, "train", "--name", "mlp", "--data", self.iris, "--target",
                     "species", "--model", "mlp", "--epochs", "3", "--importance-repeats", "1")
        self.fails("INVALID_ARGUMENT", "predict", "--name", "mlp", "--data", self.iris,
                   "--explain", contains=["explain: model kind 'mlp_classifier'"])
        # Permutation importance covers MLPs.
        self.assertIn("importance", self.json("get", "mlp")["versions"][0])
        rc, _, err = self.ctl("predict", "--name", "hwy", "--data", self.mpg, "--explain",
                              "--output", os.path.join(self.tmp, "x.csv"), check=False)
        self.assertEqual(rc, 2, err)
        self.assertIn("--explain", err)
        self.fails("INVALID_ARGUMENT", "train", "--name", "bad", "--data", self.iris,
                   "--target", "species", "--importance-repeats", "101",
                   contains=["options.importance_repeats: must be in [0, 100]"])


if __name__ == "__main__":
    base.MODELSERVER, base.MODELCTL, base.LOCAL, base.DATA = sys.argv[1:5]
    unittest.main(argv=[sys.argv[0]] + sys.argv[5:], verbosity=2)
