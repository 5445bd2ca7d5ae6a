// modelserver-local: trains, evaluates, inspects and predicts with models in
// a local model directory, in process (no server). The same core library the
// server uses; handy for scripts, benchmarks and a first look.
//
//   modelserver-local train    --data FILE.csv --target COL --name NAME
//   [options] modelserver-local evaluate --name NAME [--version V] --data
//   FILE.csv modelserver-local predict  --name NAME [--version V] --data
//   FILE.csv modelserver-local inspect  --name NAME [--version V]
//   modelserver-local demo     --data-dir DIR
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/artifact/artifact.h"
#include "core/artifact/model_store.h"
#include "core/data/csv_reader.h"
#include "core/data/datetime.h"
#include "core/train/trainer.h"
#include "core/util/status_macros.h"

namespace modelserver {
namespace {

struct Flags {
  std::string model_dir = "./var/models";
  std::string name;
  int64_t version = 0;  // 0 = latest
  std::string data;
  std::string data_dir;
  std::string target;
  std::string model = "linear_regression";
  std::string optimizer = "auto";
  std::string features;
  std::vector<std::string> types;  // col=type
  std::string hidden = "64";
  std::string activation = "relu";
  std::string scaling = "standard";
  std::string numeric_impute = "mean";
  std::string categorical_impute = "most_frequent";
  std::string outliers = "none";
  int max_levels = 50;
  int cv = 0;
  bool quiet = false;
  TrainSpec spec;
};

void PrintMetrics(const char* title, const MetricList& metrics) {
  if (metrics.empty()) return;
  std::printf("%s\n", title);
  for (const auto& [name, value] : metrics) {
    std::printf("  %-20s %.6g\n", name.c_str(), value);
  }
}

absl::StatusOr<Table> ReadCsv(const std::string& path,
                              const std::vector<InputColumn>* schema,
                              const std::vector<std::string>& overrides) {
  CsvOptions options;
  if (schema != nullptr) {
    for (const InputColumn& c : *schema) options.column_types[c.name] = c.type;
  }
  for (const std::string& o : overrides) {
    std::vector<std::string> kv = absl::StrSplit(o, absl::MaxSplits('=', 1));
    if (kv.size() != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("--type expects COLUMN=TYPE, got '", o, "'"));
    }
    ASSIGN_OR_RETURN(options.column_types[kv[0]], ParseColumnType(kv[1]));
  }
  return ReadCsvFile(path, options);
}

absl::StatusOr<int64_t> ResolveVersion(const ModelStore& store,
                                       const std::string& name,
                                       int64_t version) {
  if (version > 0) return version;
  ASSIGN_OR_RETURN(std::vector<int64_t> versions, store.ListVersions(name));
  if (versions.empty()) {
    return absl::NotFoundError(
        absl::StrCat("no model named '", name, "' in ", store.root()));
  }
  return versions.back();
}

absl::Status BuildSpec(Flags& f) {
  TrainSpec& s = f.spec;
  s.target = f.target;
  ASSIGN_OR_RETURN(s.kind, ParseModelKind(f.model));
  ASSIGN_OR_RETURN(s.optimizer, ParseOptimizerKind(f.optimizer));
  ASSIGN_OR_RETURN(s.activation, ParseActivation(f.activation));
  ASSIGN_OR_RETURN(s.preprocessing.scaling, ParseScalingMethod(f.scaling));
  ASSIGN_OR_RETURN(s.preprocessing.numeric_impute,
                   ParseImputeStrategy(f.numeric_impute));
  ASSIGN_OR_RETURN(s.preprocessing.categorical_impute,
                   ParseImputeStrategy(f.categorical_impute));
  ASSIGN_OR_RETURN(s.preprocessing.outliers, ParseOutlierMethod(f.outliers));
  s.preprocessing.max_levels = f.max_levels;
  if (!f.features.empty()) s.features = absl::StrSplit(f.features, ',');
  s.hidden_layers.clear();
  for (absl::string_view h : absl::StrSplit(f.hidden, ',', absl::SkipEmpty())) {
    int v;
    if (!absl::SimpleAtoi(h, &v)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--hidden expects sizes like 64,32; got '", f.hidden, "'"));
    }
    s.hidden_layers.push_back(v);
  }
  return absl::OkStatus();
}

absl::Status RunTrain(Flags& f) {
  RETURN_IF_ERROR(BuildSpec(f));
  RETURN_IF_ERROR(ValidateModelName(f.name));
  ASSIGN_OR_RETURN(Table table, ReadCsv(f.data, nullptr, f.types));
  std::printf("read %s: %lld rows x %d columns\n", f.data.c_str(),
              static_cast<long long>(table.num_rows()), table.num_columns());
  if (f.cv > 0) {
    ASSIGN_OR_RETURN(CrossValidationResult cv,
                     CrossValidate(table, f.spec, f.cv));
    std::printf("%d-fold cross-validation:\n", f.cv);
    for (const MetricSummary& m : cv.summary) {
      std::printf("  %-20s %.6g ± %.3g\n", m.name.c_str(), m.mean, m.stddev);
    }
  }
  const bool quiet = f.quiet;
  ProgressCallback progress = [quiet](const EpochEvent& e) {
    if (quiet) return true;
    const int every = std::max(1, e.max_epochs / 10);
    if (e.epoch == 1 || e.epoch % every == 0 || e.epoch == e.max_epochs) {
      std::printf(
          "  epoch %4d/%d  train loss %.6g  val loss %.6g  val %s %.4f"
          "  %.2fs\n",
          e.epoch, e.max_epochs, e.train_loss, e.validation_loss,
          e.metric_name.c_str(), e.validation_metric, e.elapsed_seconds);
    }
    return true;
  };
  ASSIGN_OR_RETURN(TrainResult result, Train(table, f.spec, progress));
  std::printf(
      "trained %s (%s, %d epochs%s) in %.3fs on %lld rows, validated "
      "on %lld; %lld dropped (missing target)\n",
      std::string(ModelKindName(result.spec.kind)).c_str(),
      std::string(OptimizerKindName(result.optimizer)).c_str(),
      result.epochs_run, result.early_stopped ? ", early stop" : "",
      result.training_seconds, static_cast<long long>(result.rows_train),
      static_cast<long long>(result.rows_validation),
      static_cast<long long>(result.rows_dropped));
  PrintMetrics("training metrics:", result.train_metrics);
  PrintMetrics("validation metrics:", result.validation_metrics);
  ASSIGN_OR_RETURN(std::unique_ptr<ModelStore> store,
                   ModelStore::Open(f.model_dir));
  Artifact artifact = Artifact::FromTrainResult(std::move(result), f.name, 0);
  ASSIGN_OR_RETURN(int64_t version, store->SaveNewVersion(f.name, artifact));
  std::printf("saved %s version %lld to %s\n", f.name.c_str(),
              static_cast<long long>(version),
              store->ArtifactPath(f.name, version).c_str());
  return absl::OkStatus();
}

absl::StatusOr<Artifact> LoadModel(const Flags& f) {
  ASSIGN_OR_RETURN(std::unique_ptr<ModelStore> store,
                   ModelStore::Open(f.model_dir));
  ASSIGN_OR_RETURN(int64_t version, ResolveVersion(*store, f.name, f.version));
  return store->Load(f.name, version);
}

absl::Status RunEvaluate(const Flags& f) {
  ASSIGN_OR_RETURN(Artifact artifact, LoadModel(f));
  std::vector<InputColumn> schema = artifact.input_schema();
  schema.push_back(
      {artifact.metadata().target, artifact.metadata().target_type});
  ASSIGN_OR_RETURN(Table table, ReadCsv(f.data, &schema, {}));
  ASSIGN_OR_RETURN(Evaluation e, artifact.Evaluate(table));
  std::printf("%s version %lld on %s: %lld rows (%lld without a target)\n",
              artifact.metadata().name.c_str(),
              static_cast<long long>(artifact.metadata().version),
              f.data.c_str(), static_cast<long long>(e.rows_used),
              static_cast<long long>(e.rows_dropped));
  PrintMetrics("metrics:", e.metrics);
  if (e.classification.has_value()) {
    const ClassificationMetrics& c = *e.classification;
    std::printf("%-16s %10s %10s %10s %8s\n", "class", "precision", "recall",
                "f1", "support");
    for (const ClassMetrics& m : c.per_class) {
      std::printf("%-16s %10.4f %10.4f %10.4f %8lld\n", m.label.c_str(),
                  m.precision, m.recall, m.f1,
                  static_cast<long long>(m.support));
    }
    std::printf("confusion matrix (rows: true class, columns: predicted):\n");
    for (Eigen::Index i = 0; i < c.confusion.rows(); ++i) {
      std::printf("  %-14s", c.per_class[i].label.c_str());
      for (Eigen::Index j = 0; j < c.confusion.cols(); ++j) {
        std::printf(" %6lld", static_cast<long long>(c.confusion(i, j)));
      }
      std::printf("\n");
    }
  }
  return absl::OkStatus();
}

absl::Status RunPredict(const Flags& f) {
  ASSIGN_OR_RETURN(Artifact artifact, LoadModel(f));
  ASSIGN_OR_RETURN(Table table, ReadCsv(f.data, &artifact.input_schema(), {}));
  ASSIGN_OR_RETURN(Predictions p, artifact.Predict(table));
  const ModelMetadata& m = artifact.metadata();
  if (!IsClassifier(m.kind)) {
    std::printf("%s\n", m.target.c_str());
    for (Eigen::Index i = 0; i < p.values.size(); ++i) {
      std::printf("%.17g\n", p.values[i]);
    }
    return absl::OkStatus();
  }
  std::printf("%s", m.target.c_str());
  for (const std::string& l : m.class_labels) std::printf(",p(%s)", l.c_str());
  std::printf("\n");
  for (size_t i = 0; i < p.classes.size(); ++i) {
    std::printf("%s", m.class_labels[p.classes[i]].c_str());
    for (Eigen::Index c = 0; c < p.probabilities.cols(); ++c) {
      std::printf(",%.17g", p.probabilities(i, c));
    }
    std::printf("\n");
  }
  return absl::OkStatus();
}

absl::Status RunInspect(const Flags& f) {
  ASSIGN_OR_RETURN(Artifact artifact, LoadModel(f));
  const ModelMetadata& m = artifact.metadata();
  std::printf("model %s version %lld: %s, target '%s' (%s)\n", m.name.c_str(),
              static_cast<long long>(m.version),
              std::string(ModelKindName(m.kind)).c_str(), m.target.c_str(),
              std::string(ColumnTypeName(m.target_type)).c_str());
  if (!m.class_labels.empty()) {
    std::printf("classes: %s\n", absl::StrJoin(m.class_labels, ", ").c_str());
  }
  std::printf("inputs:\n");
  for (const InputColumn& c : artifact.input_schema()) {
    std::printf("  %-24s %s\n", c.name.c_str(),
                std::string(ColumnTypeName(c.type)).c_str());
  }
  std::printf("features after preprocessing: %d\n",
              artifact.pipeline().num_outputs());
  std::printf("hyperparameters:\n");
  for (const auto& [k, v] : m.hyperparameters) {
    std::printf("  %-24s %s\n", k.c_str(), v.c_str());
  }
  std::printf("rows: %lld total, %lld train, %lld validation, %lld dropped\n",
              static_cast<long long>(m.rows_total),
              static_cast<long long>(m.rows_train),
              static_cast<long long>(m.rows_validation),
              static_cast<long long>(m.rows_dropped));
  std::printf("data checksum: crc32c:%08x\n", m.data_checksum);
  std::printf(
      "created: %s by modelserver %s; %lld epochs%s in %.3fs\n",
      FormatIsoDateTime(std::floor(m.created_unix_micros / 1e6)).c_str(),
      m.library_version.c_str(), static_cast<long long>(m.epochs_run),
      m.early_stopped ? " (early stop)" : "", m.training_seconds);
  PrintMetrics("training metrics:", m.train_metrics);
  PrintMetrics("validation metrics:", m.validation_metrics);
  if (m.importance.has_value() && !m.importance->columns.empty()) {
    const FeatureImportanceReport& imp = *m.importance;
    std::printf(
        "permutation importance (%s drop on %lld %s rows, %d repeats, seed "
        "%llu):\n",
        imp.metric.c_str(), static_cast<long long>(imp.rows),
        imp.data.c_str(), imp.repeats,
        static_cast<unsigned long long>(imp.seed));
    for (const ColumnImportance& c : imp.columns) {
      std::printf("  %-24s %12.6g +- %.3g\n", c.column.c_str(), c.mean, c.std);
    }
  }
  return absl::OkStatus();
}

// Trains one model per shipped dataset and checks its predictions.
absl::Status RunDemo(Flags& f) {
  struct Case {
    const char* name;
    const char* file;
    const char* target;
    const char* model;
  };
  const Case cases[] = {
      {"diabetes", "diabetes.csv", "progression", "linear_regression"},
      {"iris", "iris.csv", "species", "logistic_regression"},
      {"breast-cancer", "breast_cancer.csv", "diagnosis",
       "logistic_regression"},
      {"airquality", "airquality.csv", "Ozone", "linear_regression"},
      {"mpg-class", "mpg.csv", "class", "mlp_classifier"},
  };
  for (const Case& c : cases) {
    std::printf("\n== %s: %s on %s (target %s)\n", c.name, c.model, c.file,
                c.target);
    Flags g = f;
    g.name = c.name;
    g.data = absl::StrCat(f.data_dir, "/", c.file);
    g.target = c.target;
    g.model = c.model;
    g.quiet = true;
    RETURN_IF_ERROR(RunTrain(g));
    g.version = 0;
    RETURN_IF_ERROR(RunEvaluate(g));
  }
  std::printf(
      "\nmodels are in %s; try:\n  modelserver-local inspect "
      "--model-dir %s --name iris\n  modelserver-local predict "
      "--model-dir %s --name iris --data %s/iris.csv\n",
      f.model_dir.c_str(), f.model_dir.c_str(), f.model_dir.c_str(),
      f.data_dir.c_str());
  return absl::OkStatus();
}

int Main(int argc, char** argv) {
  CLI::App app{"modelserver-local: train, evaluate and predict in process"};
  app.require_subcommand(1);
  Flags f;
  auto add_store = [&f](CLI::App* sub) {
    sub->add_option("--model-dir", f.model_dir, "model directory")
        ->capture_default_str();
  };
  auto add_model_ref = [&f, &add_store](CLI::App* sub) {
    add_store(sub);
    sub->add_option("--name", f.name, "model name")->required();
    sub->add_option("--version", f.version, "version (default: latest)");
  };

  CLI::App* train = app.add_subcommand("train", "train a model on a CSV file");
  add_store(train);
  train->add_option("--name", f.name, "model name")->required();
  train->add_option("--data", f.data, "training CSV file")->required();
  train->add_option("--target", f.target, "column to predict")->required();
  train
      ->add_option("--model", f.model,
                   "linear_regression | logistic_regression | mlp_regressor "
                   "| mlp_classifier")
      ->capture_default_str();
  train->add_option("--features", f.features,
                    "comma-separated input columns (default: all but target)");
  train->add_option("--type", f.types,
                    "force a column type: COLUMN=numeric|categorical|date");
  train
      ->add_option("--optimizer", f.optimizer,
                   "auto | exact | lbfgs | sgd | adam")
      ->capture_default_str();
  train->add_option("--learning-rate", f.spec.learning_rate,
                    "step size (0 = optimizer default)");
  train->add_option("--epochs", f.spec.epochs, "epochs (0 = default)");
  train->add_option("--batch-size", f.spec.batch_size)->capture_default_str();
  train->add_option("--momentum", f.spec.momentum)->capture_default_str();
  train->add_flag("--nesterov", f.spec.nesterov);
  train->add_option("--l1", f.spec.l1, "L1 penalty (default 0)");
  train->add_option("--l2", f.spec.l2,
                    "L2 penalty (default 0 linear, 1e-4 others)");
  train->add_option("--hidden", f.hidden, "MLP hidden layer sizes, e.g. 64,32")
      ->capture_default_str();
  train->add_option("--activation", f.activation, "relu | tanh | sigmoid")
      ->capture_default_str();
  train->add_option("--scaling", f.scaling, "standard | minmax | none")
      ->capture_default_str();
  train
      ->add_option("--numeric-impute", f.numeric_impute,
                   "mean | median | most_frequent | constant")
      ->capture_default_str();
  train
      ->add_option("--categorical-impute", f.categorical_impute,
                   "most_frequent | constant")
      ->capture_default_str();
  train->add_option("--outliers", f.outliers, "none | quantile | zscore")
      ->capture_default_str();
  train
      ->add_option("--max-levels", f.max_levels, "one-hot columns per category")
      ->capture_default_str();
  train->add_option("--validation-fraction", f.spec.validation_fraction,
                    "held out for validation (default 0.1 for sgd/adam, 0 "
                    "for exact/lbfgs)");
  train->add_option("--threads", f.spec.threads,
                    "training threads (0 = every core)")
      ->capture_default_str();
  train
      ->add_option("--patience", f.spec.early_stopping_patience,
                   "early-stopping patience in epochs (0 = off)")
      ->capture_default_str();
  train->add_option("--seed", f.spec.seed)->capture_default_str();
  train->add_option("--cv", f.cv, "also run k-fold cross-validation (k >= 2)");
  train->add_flag("--quiet", f.quiet, "no per-epoch progress");

  CLI::App* evaluate =
      app.add_subcommand("evaluate", "metrics on labelled CSV");
  add_model_ref(evaluate);
  evaluate->add_option("--data", f.data, "labelled CSV file")->required();

  CLI::App* predict =
      app.add_subcommand("predict", "predict CSV rows (CSV out)");
  add_model_ref(predict);
  predict->add_option("--data", f.data, "CSV file of raw rows")->required();

  CLI::App* inspect = app.add_subcommand("inspect", "show a model's metadata");
  add_model_ref(inspect);

  CLI::App* demo = app.add_subcommand("demo", "train on the shipped datasets");
  add_store(demo);
  demo->add_option("--data-dir", f.data_dir, "folder of the shipped CSV files")
      ->required();

  CLI11_PARSE(app, argc, argv);
  absl::Status status;
  if (*train) status = RunTrain(f);
  if (*evaluate) status = RunEvaluate(f);
  if (*predict) status = RunPredict(f);
  if (*inspect) status = RunInspect(f);
  if (*demo) status = RunDemo(f);
  if (!status.ok()) {
    std::fprintf(stderr, "error: %s: %s\n",
                 absl::StatusCodeToString(status.code()).c_str(),
                 std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace modelserver

int main(int argc, char** argv) { return modelserver::Main(argc, argv); }
