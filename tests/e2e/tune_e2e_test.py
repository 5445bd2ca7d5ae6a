#!/usr/bin/python3
"""End to end: `modelctl tune` against the real modelserver (docs/tuning.md).

Usage: tune_e2e_test.py MODELSERVER MODELCTL MODELSERVER_LOCAL DATA_DIR
       [unittest arguments]

Reuses the Server fixture of modelctl_e2e_test.py. Standard library only.
"""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import modelctl_e2e_test as base  # noqa: E402


class TuneTest(base.ServerTestCase):

    def test_grid_publishes_the_best_with_the_search_in_its_metadata(self):
        iris = os.path.join(base.DATA, "iris.csv")
        out = self.json("tune", "--name", "tuned", "--data", iris, "--target", "species",
                        "--model", "logistic", "--l2", "1e-4,10", "--folds", "3",
                        "--seed", "1")
        tuning = out["tuning"]
        self.assertEqual(out["result"]["version"], "1")
        self.assertEqual(tuning["metric"], "accuracy")
        self.assertEqual(tuning["folds"], 3)
        self.assertEqual(tuning["mode"], "grid")
        self.assertEqual(tuning["stop_reason"], "max_trials")
        self.assertEqual(len(tuning["trials"]), 2)
        # A light penalty beats l2 = 10 on iris (which shrinks the softmax
        # weights until versicolor and virginica blur).
        self.assertEqual(tuning["best_trial"], 1)
        first, second = tuning["trials"]
        self.assertEqual(first["params"], [{"key": "model", "value": "logistic_regression"},
                                           {"key": "l2", "value": "1e-04"}])
        self.assertGreater(first["mean"], second["mean"])
        self.assertGreater(first["mean"], 0.9)

        info = self.json("get", "tuned")
        stored = info["versions"][0]["tuning"]
        self.assertEqual(stored["best_trial"], 1)
        self.assertEqual([t["mean"] for t in stored["trials"]],
                         [t["mean"] for t in tuning["trials"]])
        hp = {h["key"]: h["value"] for h in info["versions"][0]["hyperparameters"]}
        self.assertEqual(hp["l2"], "1e-04")  # the best trial's value, trained on all rows
        # The text form of get shows the search table.
        _, text, _ = self.ctl("get", "tuned")
        self.assertIn("search: grid, 2 of 2 trials, 3-fold accuracy", text)

        job = [j for j in self.json("jobs")["jobs"] if j["name"] == "tuned"][0]
        self.assertEqual(job["kind"], "tune")
        self.assertEqual(job["tune"]["trials_done"], 2)

    def test_invalid_search_is_refused_naming_the_field(self):
        iris = os.path.join(base.DATA, "iris.csv")
        self.fails("INVALID_ARGUMENT", "tune", "--name", "bad", "--data", iris,
                   "--target", "species", "--l2", "1:0.5", "--mode", "random",
                   contains=["space.l2_range: low 1 > high 0.5"])
        self.fails("INVALID_ARGUMENT", "tune", "--name", "bad", "--data", iris,
                   "--target", "species", "--l2", "0,1", "--trials", "1",
                   contains=["max_trials: the grid has 2 configurations"])
        rc, _, err = self.ctl("tune", "--name", "bad", "--data", iris, "--target", "species",
                              "--l2", "0,x", check=False)
        self.assertEqual(rc, 2, err)
        self.assertIn("--l2: 'x' is not a number", err)

    def test_cancel_stops_a_tune_job_without_publishing(self):
        iris = os.path.join(base.DATA, "iris.csv")
        accepted = self.json("tune", "--name", "slow", "--data", iris, "--target", "species",
                             "--model", "mlp", "--hidden-layers", "64,64", "--epochs", "100000",
                             "--batch-size", "1", "--early-stopping-patience", "0",
                             "--l2", "0,1e-4", "--detach")
        job_id = accepted["job_id"]
        deadline = time.time() + 30 * base.TIME_SCALE
        while time.time() < deadline:
            job = [j for j in self.json("jobs")["jobs"] if j["job_id"] == job_id][0]
            if job["state"] == "JOB_STATE_RUNNING":
                break
            time.sleep(0.05)
        self.assertEqual(job["state"], "JOB_STATE_RUNNING")
        self.assertEqual(job["kind"], "tune")
        self.ctl("cancel", job_id)
        rc, _, err = self.ctl("watch", job_id, check=False)
        self.assertEqual(rc, 1, err)
        self.assertIn("CANCELLED", err)
        job = [j for j in self.json("jobs")["jobs"] if j["job_id"] == job_id][0]
        self.assertEqual(job["state"], "JOB_STATE_CANCELLED")
        self.fails("NOT_FOUND", "get", "slow")
        self.assertFalse(os.path.exists(os.path.join(self.model_dir, "slow", "1", "model.msm")))


if __name__ == "__main__":
    base.MODELSERVER, base.MODELCTL, base.LOCAL, base.DATA = sys.argv[1:5]
    unittest.main(argv=[sys.argv[0]] + sys.argv[5:], verbosity=2)
