#include "fuzz/fuzz_models.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/data/csv_reader.h"
#include "core/train/trainer.h"

namespace modelserver::fuzz {

std::string TrainingCsv() {
  static constexpr const char* kColors[3] = {"red", "green", "blue"};
  static constexpr const char* kLabels[3] = {"a", "b", "c"};
  std::string csv = "x1,x2,color,when,y,label,flag\n";
  for (int i = 0; i < 48; ++i) {
    const double x1 = (i * 7 % 13) - 3.5;
    const double x2 = i * 0.25;
    const double y = 2 * x1 - x2 + (i % 3 == 0 ? 1.0 : 0.0);
    absl::StrAppend(
        &csv, i % 11 == 0 ? std::string("NA") : absl::StrCat(x1), ",", x2,
        ",", i % 17 == 5 ? "" : kColors[i % 3], ",",
        absl::StrFormat("2020-%02d-%02dT%02d:00:00Z", i % 12 + 1, i % 28 + 1,
                        i % 24),
        ",", y, ",", kLabels[(x1 > 0) + (x2 > 6)], ",",
        x1 + (i % 3) > 1 ? "yes" : "no", "\n");
  }
  return csv;
}

std::vector<std::pair<std::string, Artifact>> TrainFuzzModels() {
  absl::StatusOr<Table> table = ReadCsvString(TrainingCsv(), CsvOptions());
  if (!table.ok()) {
    std::fprintf(stderr, "fuzz models: %s\n", table.status().ToString().c_str());
    std::abort();
  }
  struct Setting {
    const char* name;
    ModelKind kind;
    const char* target;
    std::vector<std::string> features;
  };
  const Setting settings[] = {
      {"linear", ModelKind::kLinearRegression, "y",
       {"x1", "x2", "color", "when"}},
      {"logistic", ModelKind::kLogisticRegression, "label",
       {"x1", "x2", "color"}},
      {"mlp_cls", ModelKind::kMlpClassifier, "flag", {"x1", "color"}},
      {"numeric", ModelKind::kMlpRegressor, "y", {"x1", "x2"}},
  };
  std::vector<std::pair<std::string, Artifact>> models;
  for (const Setting& s : settings) {
    TrainSpec spec;
    spec.kind = s.kind;
    spec.target = s.target;
    spec.features = s.features;
    spec.hidden_layers = {3};
    spec.epochs = 5;
    spec.threads = 1;
    absl::StatusOr<TrainResult> r = Train(*table, spec);
    if (!r.ok()) {
      std::fprintf(stderr, "fuzz model %s: %s\n", s.name,
                   r.status().ToString().c_str());
      std::abort();
    }
    models.emplace_back(s.name,
                        Artifact::FromTrainResult(*std::move(r), s.name, 1));
  }
  return models;
}

}  // namespace modelserver::fuzz
