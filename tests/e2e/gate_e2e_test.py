#!/usr/bin/python3
"""End to end: class weights, oversampling, augmentation and promotion gates
through `modelctl train` against the real modelserver (docs/training.md,
"Imbalanced classes and augmentation" and "Promotion gates").

Usage: gate_e2e_test.py MODELSERVER MODELCTL MODELSERVER_LOCAL DATA_DIR
       [unittest arguments]

Reuses the Server fixture of modelctl_e2e_test.py. Standard library only.
"""
import csv
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import modelctl_e2e_test as base  # noqa: E402

TWO = "mean_texture,mean_smoothness"


class GateTest(base.ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # breast_cancer.csv made imbalanced: every benign row and the
        # malignant rows with data row index i % 4 == 0 (50 of 407).
        with open(os.path.join(base.DATA, "breast_cancer.csv"), newline="") as f:
            rows = list(csv.reader(f))
        keep = [r for i, r in enumerate(rows[1:]) if r[-1] == "benign" or i % 4 == 0]
        cls.data = os.path.join(cls.tmp, "imbalanced.csv")
        with open(cls.data, "w", newline="") as f:
            csv.writer(f).writerows([rows[0]] + keep)
        cls.holdout = os.path.join(cls.tmp, "holdout.csv")
        with open(cls.holdout, "w", newline="") as f:
            csv.writer(f).writerows([rows[0]] + keep[::5])

    def train(self, name, *flags):
        return self.json("train", "--name", name, "--data", self.data,
                         "--target", "diagnosis", "--features", TWO, *flags)

    def labels(self, name):
        return {k: int(v) for k, v in self.json("get", name).get("labels", {}).items()}

    def test_gate_passes_then_fails_and_better_than_stable(self):
        first = self.train("cancer", "--holdout-fraction", "0.2",
                           "--gate", "accuracy>=0.8", "--promote-label", "stable")
        self.assertTrue(first["gate"]["passed"], first["gate"])
        self.assertEqual(first["gate"]["promoted_label"], "stable")
        self.assertEqual(first["gate"]["holdout_rows"], 81)  # round(0.2 * 407)
        self.assertEqual(self.labels("cancer"), {"stable": 1})

        # Balanced weights trade accuracy for minority recall: not better
        # than stable by accuracy (the default metric), exit status 0.
        rc, out, err = self.ctl("train", "--name", "cancer", "--data", self.data,
                                "--target", "diagnosis", "--features", TWO,
                                "--class-weight", "balanced", "--holdout-fraction", "0.2",
                                "--gate", "recall_macro>=0.7", "--gate-better-than", "stable",
                                "--promote-label", "stable", "--no-progress")
        self.assertEqual(rc, 0, err)
        self.assertIn("gate FAILED on 81 holdout rows: version 2 published without the label",
                      out)
        self.assertIn("of version 1 (label 'stable')", out)
        self.assertEqual(self.labels("cancer"), {"stable": 1})

        # By recall, the weighted model is better: the label moves.
        better = self.train("cancer", "--class-weight", "balanced", "--holdout-fraction", "0.2",
                            "--gate-better-than", "stable", "--gate-metric", "recall_macro",
                            "--promote-label", "stable")
        self.assertTrue(better["gate"]["passed"], better["gate"])
        self.assertEqual(self.labels("cancer"), {"stable": 3})
        info = self.json("get", "cancer", "--version", "3")["versions"][0]
        self.assertTrue(info["augmentation"]["gate"]["passed"])
        weights = {w["label"]: w["weight"] for w in info["augmentation"]["class_weights"]}
        self.assertAlmostEqual(weights["benign"], 326 / (2 * 286), places=12)

    def test_holdout_file_and_rows_added(self):
        out = self.train("aug", "--rebalance", "oversample", "--augment-noise", "0.1",
                         "--augment-copies", "2", "--holdout", self.holdout,
                         "--gate", "f1_macro>=0.99", "--promote-label", "stable")
        self.assertFalse(out["gate"]["passed"])
        self.assertTrue(out["gate"]["reason"].startswith("f1_macro "), out["gate"])
        self.assertTrue(out["gate"]["reason"].endswith(" < 0.99"), out["gate"])
        self.assertEqual(out["gate"]["holdout_rows"], 82)  # every fifth of 407
        # 357 benign, 50 malignant: 307 added; then 2 noisy copies of 714.
        self.assertEqual(out["rows_oversampled"], 307)
        self.assertEqual(out["rows_augmented"], 1428)
        self.assertEqual(self.labels("aug"), {})

    def test_refusals(self):
        self.fails("INVALID_ARGUMENT", "train", "--name", "x", "--data", self.data,
                   "--target", "diagnosis", "--holdout-fraction", "0.2", "--gate", "f1>=0.9",
                   "--promote-label", "stable", contains=["unknown metric 'f1'"])
        self.fails("INVALID_ARGUMENT", "train", "--name", "x", "--data", self.data,
                   "--target", "diagnosis", "--holdout-fraction", "0.2",
                   "--gate-better-than", "prod", "--promote-label", "stable",
                   contains=["gate.better_than_label: model 'x' has no version labelled 'prod'"])
        rc, _, err = self.ctl("train", "--name", "x", "--data", self.data, "--target",
                              "diagnosis", "--gate", "accuracy=0.9", check=False)
        self.assertEqual(rc, 2, err)
        self.assertIn("--gate: 'accuracy=0.9'", err)


if __name__ == "__main__":
    base.MODELSERVER, base.MODELCTL, base.LOCAL, base.DATA = sys.argv[1:5]
    unittest.main(argv=[sys.argv[0]] + sys.argv[5:], verbosity=2)
