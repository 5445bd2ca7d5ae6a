#include "client/output.h"

#include <algorithm>
#include <cmath>
#include <ctime>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "client/tune_flags.h"
#include "client/explain_output.h"
#include "client/promotion_flags.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace modelserver::client {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

Struct Metrics(const google::protobuf::RepeatedPtrField<v1::Metric>& ms) {
  Struct s;
  for (const v1::Metric& m : ms)
    (*s.mutable_fields())[m.name()] = JsonNumber(m.value());
  return s;
}

std::string StructJson(const Struct& s) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  // Struct holds only finite numbers, strings and nested values: printing
  // cannot fail.
  (void)google::protobuf::util::MessageToJsonString(s, &out, options);
  return out;
}

bool LooksNumeric(absl::string_view cell) {
  double unused;
  return !cell.empty() &&
         (absl::SimpleAtod(cell, &unused) || cell == "nan" || cell == "-");
}

std::string Bar(double fraction, int width) {
  fraction = std::clamp(fraction, 0.0, 1.0);
  const int filled = static_cast<int>(fraction * width + 0.5);
  return absl::StrCat("[", std::string(filled, '#'),
                      std::string(width - filled, '-'), "]");
}

std::string Duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  if (seconds < 60) return absl::StrFormat("%.0fs", seconds);
  if (seconds < 3600) {
    return absl::StrFormat("%dm%02ds", static_cast<int>(seconds) / 60,
                           static_cast<int>(seconds) % 60);
  }
  return absl::StrFormat("%dh%02dm", static_cast<int>(seconds) / 3600,
                         static_cast<int>(seconds) / 60 % 60);
}

std::string Time(int64_t unix_micros) {
  if (unix_micros <= 0) return "-";
  const std::time_t t = static_cast<std::time_t>(unix_micros / 1000000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string ColumnTypeName(v1::ColumnType t) {
  switch (t) {
    case v1::COLUMN_TYPE_NUMERIC:
      return "numeric";
    case v1::COLUMN_TYPE_CATEGORICAL:
      return "categorical";
    case v1::COLUMN_TYPE_DATE:
      return "date";
    default:
      return "unspecified";
  }
}

std::string JobStateName(v1::JobState s) {
  std::string name = v1::JobState_Name(s);
  absl::string_view v = name;
  absl::ConsumePrefix(&v, "JOB_STATE_");
  return absl::AsciiStrToLower(v);
}

// One table of metrics: name | value (| train value).
std::string MetricsTable(
    const google::protobuf::RepeatedPtrField<v1::Metric>& main,
    absl::string_view main_title,
    const google::protobuf::RepeatedPtrField<v1::Metric>* second = nullptr,
    absl::string_view second_title = "") {
  std::vector<std::string> header = {"metric", std::string(main_title)};
  if (second != nullptr) header.emplace_back(second_title);
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> names;
  for (const v1::Metric& m : main) names.push_back(m.name());
  if (second != nullptr) {
    for (const v1::Metric& m : *second) {
      if (std::find(names.begin(), names.end(), m.name()) == names.end()) {
        names.push_back(m.name());
      }
    }
  }
  auto find = [](const google::protobuf::RepeatedPtrField<v1::Metric>& ms,
                 const std::string& name) -> std::string {
    for (const v1::Metric& m : ms) {
      if (m.name() == name) return FormatNumber(m.value());
    }
    return "-";
  };
  for (const std::string& name : names) {
    std::vector<std::string> row = {name, find(main, name)};
    if (second != nullptr) row.push_back(find(*second, name));
    rows.push_back(std::move(row));
  }
  return FormatTable(header, rows);
}

std::string ConfusionText(const v1::ConfusionMatrix& cm) {
  const int k = cm.labels_size();
  if (k == 0 || cm.counts_size() != k * k) return "";
  std::vector<std::string> header = {"true \\ predicted"};
  for (const std::string& l : cm.labels()) header.push_back(l);
  std::vector<std::vector<std::string>> rows;
  for (int i = 0; i < k; ++i) {
    std::vector<std::string> row = {cm.labels(i)};
    for (int j = 0; j < k; ++j)
      row.push_back(absl::StrCat(cm.counts(i * k + j)));
    rows.push_back(std::move(row));
  }
  return FormatTable(header, rows);
}

}  // namespace

Value JsonNumber(double x) {
  Value v;
  if (std::isfinite(x)) {
    v.set_number_value(x);
  } else {
    v.set_null_value(google::protobuf::NULL_VALUE);
  }
  return v;
}

Value JsonText(absl::string_view s) {
  Value v;
  v.set_string_value(std::string(s));
  return v;
}

Value JsonList(ListValue l) {
  Value v;
  *v.mutable_list_value() = std::move(l);
  return v;
}

Value JsonObject(Struct s) {
  Value v;
  *v.mutable_struct_value() = std::move(s);
  return v;
}

std::string FormatNumber(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  return absl::StrFormat("%.6g", value);
}

std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size(), 0);
  std::vector<bool> numeric(header.size(), true);
  for (size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size() && c < width.size(); ++c) {
      width[c] = std::max(width[c], row[c].size());
      if (!LooksNumeric(row[c])) numeric[c] = false;
    }
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string l;
    for (size_t c = 0; c < width.size(); ++c) {
      const std::string cell = c < cells.size() ? cells[c] : "";
      const std::string pad(width[c] - std::min(width[c], cell.size()), ' ');
      if (c > 0) l += "  ";
      if (numeric[c] && !rows.empty()) {
        absl::StrAppend(&l, pad, cell);
      } else {
        absl::StrAppend(&l, cell, pad);
      }
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    absl::StrAppend(&out, l, "\n");
  };
  line(header);
  for (const auto& row : rows) line(row);
  return out;
}

std::string ProtoJson(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  const auto status =
      google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!status.ok()) {
    return absl::StrCat("{\"error\":\"cannot print ",
                        message.GetDescriptor()->full_name(), " as JSON\"}");
  }
  return out;
}

std::string TrainJson(const v1::TrainResult& r, absl::string_view job_id) {
  Struct s;
  auto& f = *s.mutable_fields();
  f["name"] = JsonText(r.name());
  f["version"] = JsonNumber(static_cast<double>(r.version()));
  f["job_id"] = JsonText(job_id);
  // "metrics": the validation rows' when there are any (an estimate of
  // quality on new data), else the training rows'; "metrics_on" says which.
  const bool validated = r.validation_metrics_size() > 0;
  f["metrics"] = JsonObject(
      Metrics(validated ? r.validation_metrics() : r.train_metrics()));
  f["metrics_on"] = JsonText(validated ? "validation" : "train");
  f["train_metrics"] = JsonObject(Metrics(r.train_metrics()));
  f["epochs"] = JsonNumber(r.epochs());
  Value early;
  early.set_bool_value(r.early_stopped());
  f["early_stopped"] = early;
  f["training_seconds"] = JsonNumber(r.training_seconds());
  f["rows_train"] = JsonNumber(static_cast<double>(r.rows_train()));
  f["rows_validation"] = JsonNumber(static_cast<double>(r.rows_validation()));
  f["rows_dropped"] = JsonNumber(static_cast<double>(r.rows_dropped()));
  f["rows_oversampled"] = JsonNumber(static_cast<double>(r.rows_oversampled()));
  f["rows_augmented"] = JsonNumber(static_cast<double>(r.rows_augmented()));
  if (r.has_gate()) {
    Struct g;
    auto& gf = *g.mutable_fields();
    Value passed;
    passed.set_bool_value(r.gate().passed());
    gf["passed"] = passed;
    gf["reason"] = JsonText(r.gate().reason());
    gf["promoted_label"] = JsonText(r.gate().promoted_label());
    gf["holdout_rows"] = JsonNumber(static_cast<double>(r.gate().holdout_rows()));
    gf["holdout_metrics"] = JsonObject(Metrics(r.gate().holdout_metrics()));
    f["gate"] = JsonObject(std::move(g));
  }
  return StructJson(s);
}

std::string EvaluateJson(const v1::EvaluateResponse& r) {
  Struct s;
  auto& f = *s.mutable_fields();
  f["name"] = JsonText(r.name());
  f["version"] = JsonNumber(static_cast<double>(r.version()));
  f["metrics"] = JsonObject(Metrics(r.metrics()));
  f["rows_used"] = JsonNumber(static_cast<double>(r.rows_used()));
  f["rows_dropped"] = JsonNumber(static_cast<double>(r.rows_dropped()));
  if (r.per_class_size() > 0) {
    Struct per_class;
    for (const v1::ClassMetrics& c : r.per_class()) {
      Struct m;
      (*m.mutable_fields())["precision"] = JsonNumber(c.precision());
      (*m.mutable_fields())["recall"] = JsonNumber(c.recall());
      (*m.mutable_fields())["f1"] = JsonNumber(c.f1());
      (*m.mutable_fields())["support"] =
          JsonNumber(static_cast<double>(c.support()));
      (*per_class.mutable_fields())[c.label()] = JsonObject(std::move(m));
    }
    f["per_class"] = JsonObject(std::move(per_class));
  }
  const v1::ConfusionMatrix& cm = r.confusion_matrix();
  const int k = cm.labels_size();
  if (k > 0 && cm.counts_size() == k * k) {
    Struct c;
    ListValue labels;
    for (const std::string& l : cm.labels()) *labels.add_values() = JsonText(l);
    ListValue counts;
    for (int i = 0; i < k; ++i) {
      ListValue row;
      for (int j = 0; j < k; ++j) {
        *row.add_values() = JsonNumber(static_cast<double>(cm.counts(i * k + j)));
      }
      *counts.add_values()->mutable_list_value() = std::move(row);
    }
    *(*c.mutable_fields())["labels"].mutable_list_value() = std::move(labels);
    *(*c.mutable_fields())["counts"].mutable_list_value() = std::move(counts);
    f["confusion_matrix"] = JsonObject(std::move(c));
  }
  if (r.has_importance()) f["importance"] = ImportanceJson(r.importance());
  return StructJson(s);
}

std::string PredictJson(const v1::PredictResponse& r) {
  Struct s;
  auto& f = *s.mutable_fields();
  f["name"] = JsonText(r.name());
  f["version"] = JsonNumber(static_cast<double>(r.version()));
  ListValue predictions;
  const bool classification = r.class_labels_size() > 0;
  for (const v1::Prediction& p : r.predictions()) {
    Struct one;
    auto& g = *one.mutable_fields();
    if (classification) {
      g["label"] = JsonText(p.label());
      Struct probabilities;
      for (int k = 0; k < r.class_labels_size() && k < p.probabilities_size();
           ++k) {
        (*probabilities.mutable_fields())[r.class_labels(k)] =
            JsonNumber(p.probabilities(k));
      }
      g["probabilities"] = JsonObject(std::move(probabilities));
    } else {
      g["value"] = JsonNumber(p.value());
    }
    if (r.has_explanation()) {
      g["contributions"] = ContributionsJson(r.explanation(), p);
      ListValue scores;
      for (double x : p.scores()) *scores.add_values() = JsonNumber(x);
      *g["scores"].mutable_list_value() = std::move(scores);
    }
    *predictions.add_values() = JsonObject(std::move(one));
  }
  *f["predictions"].mutable_list_value() = std::move(predictions);
  if (r.has_explanation()) f["explanation"] = ExplanationJson(r.explanation());
  return StructJson(s);
}

std::string TrainText(const v1::TrainResult& r, absl::string_view job_id) {
  std::string out = absl::StrFormat(
      "trained %s version %d (job %s): %d epochs%s in %s; rows: %d train, "
      "%d validation, %d dropped (target missing)\n",
      r.name(), r.version(), std::string(job_id), r.epochs(),
      r.early_stopped() ? " (early stop)" : "", Duration(r.training_seconds()),
      r.rows_train(), r.rows_validation(), r.rows_dropped());
  if (r.validation_metrics_size() > 0) {
    absl::StrAppend(&out, MetricsTable(r.validation_metrics(), "validation",
                                       &r.train_metrics(), "train"));
  } else {
    absl::StrAppend(&out, MetricsTable(r.train_metrics(), "train"));
  }
  absl::StrAppend(&out, PromotionText(r));
  return out;
}

std::string EvaluateText(const v1::EvaluateResponse& r) {
  std::string out =
      absl::StrFormat("%s version %d on %d rows (%d dropped: target missing)\n",
                      r.name(), r.version(), r.rows_used(), r.rows_dropped());
  absl::StrAppend(&out, MetricsTable(r.metrics(), "value"));
  if (r.per_class_size() > 0) {
    std::vector<std::vector<std::string>> rows;
    for (const v1::ClassMetrics& c : r.per_class()) {
      rows.push_back({c.label(), FormatNumber(c.precision()),
                      FormatNumber(c.recall()), FormatNumber(c.f1()),
                      absl::StrCat(c.support())});
    }
    absl::StrAppend(
        &out, "\n",
        FormatTable({"class", "precision", "recall", "f1", "support"}, rows));
  }
  const std::string cm = ConfusionText(r.confusion_matrix());
  if (!cm.empty()) absl::StrAppend(&out, "\nconfusion matrix\n", cm);
  if (r.has_importance()) {
    absl::StrAppend(&out, "\n", ImportanceText(r.importance()));
  }
  return out;
}

std::string PredictText(const v1::PredictResponse& r) {
  if (r.has_explanation()) return ExplainText(r);
  std::vector<std::string> header = {"row"};
  const bool classification = r.class_labels_size() > 0;
  if (classification) {
    header.push_back("label");
    for (const std::string& l : r.class_labels()) {
      header.push_back(absl::StrCat("p(", l, ")"));
    }
  } else {
    header.push_back("prediction");
  }
  std::vector<std::vector<std::string>> rows;
  rows.reserve(r.predictions_size());
  for (int i = 0; i < r.predictions_size(); ++i) {
    const v1::Prediction& p = r.predictions(i);
    std::vector<std::string> row = {absl::StrCat(i + 1)};
    if (classification) {
      row.push_back(p.label());
      for (double prob : p.probabilities()) row.push_back(FormatNumber(prob));
    } else {
      row.push_back(FormatNumber(p.value()));
    }
    rows.push_back(std::move(row));
  }
  return FormatTable(header, rows);
}

std::string ModelsText(const v1::ListModelsResponse& r) {
  if (r.models_size() == 0) return "no models\n";
  std::vector<std::vector<std::string>> rows;
  for (const v1::ModelSummary& m : r.models()) {
    rows.push_back({m.name(), absl::StrCat(m.latest_version()),
                    absl::StrCat(m.num_versions()), m.kind(), m.target()});
  }
  return FormatTable({"name", "latest", "versions", "kind", "target"}, rows);
}

std::string ModelText(const v1::ModelInfo& info) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::VersionInfo& v : info.versions()) {
    std::string metrics;
    for (const v1::Metric& m : v.validation_metrics()) {
      if (m.name() == "r2" || m.name() == "rmse" || m.name() == "accuracy" ||
          m.name() == "f1_macro") {
        absl::StrAppend(&metrics, metrics.empty() ? "" : " ", m.name(), "=",
                        FormatNumber(m.value()));
      }
    }
    rows.push_back({absl::StrCat(v.version()), v.kind(), v.optimizer(),
                    absl::StrCat(v.rows_total()), Time(v.created_unix_micros()),
                    metrics.empty() ? "-" : metrics});
  }
  std::string out = absl::StrCat("model ", info.name(), "\n");
  absl::StrAppend(&out, FormatTable({"version", "kind", "optimizer", "rows",
                                     "created", "validation"},
                                    rows));
  if (!info.labels().empty()) {
    // Sorted by label (the map's order is unspecified).
    std::map<std::string, int64_t> labels(info.labels().begin(),
                                          info.labels().end());
    std::vector<std::string> parts;
    for (const auto& [label, version] : labels) {
      parts.push_back(absl::StrCat(label, "=", version));
    }
    absl::StrAppend(&out, "labels: ", absl::StrJoin(parts, ", "), "\n");
  }
  if (info.stored_versions_size() > info.versions_size()) {
    absl::StrAppend(&out, "stored (not all served): ",
                    absl::StrJoin(info.stored_versions(), ", "), "\n");
  }
  if (info.versions_size() == 0) return out;
  const v1::VersionInfo& last = info.versions(info.versions_size() - 1);
  absl::StrAppend(&out, "\nversion ", last.version(), ": target ",
                  last.target(), " (", ColumnTypeName(last.target_type()), ")");
  if (last.class_labels_size() > 0) {
    absl::StrAppend(&out, ", classes ",
                    absl::StrJoin(last.class_labels(), ", "));
  }
  absl::StrAppend(&out, "\n");
  std::vector<std::vector<std::string>> inputs;
  for (const v1::InputColumn& c : last.inputs()) {
    inputs.push_back({c.name(), ColumnTypeName(c.type())});
  }
  absl::StrAppend(&out, FormatTable({"input", "type"}, inputs));
  std::vector<std::vector<std::string>> hp;
  for (const v1::Hyperparameter& h : last.hyperparameters()) {
    hp.push_back({h.key(), h.value()});
  }
  if (!hp.empty()) {
    absl::StrAppend(&out, "\n", FormatTable({"hyperparameter", "value"}, hp));
  }
  if (last.has_tuning()) {
    absl::StrAppend(&out, "\n", TuneSummaryText(last.tuning()));
  }
  if (last.has_importance()) {
    absl::StrAppend(&out, "\n", ImportanceText(last.importance()));
  }
  if (last.has_augmentation()) {
    absl::StrAppend(&out, "\n", AugmentationText(last.augmentation()));
  }
  return out;
}

std::string JobsText(const v1::ListJobsResponse& r) {
  if (r.jobs_size() == 0) return "no jobs\n";
  std::vector<std::vector<std::string>> rows;
  for (const v1::Job& j : r.jobs()) {
    rows.push_back({j.job_id(), j.name(), JobStateName(j.state()),
                    absl::StrCat(j.epoch(), "/", j.max_epochs()),
                    FormatNumber(j.train_loss()),
                    j.version() > 0 ? absl::StrCat(j.version()) : "-",
                    Time(j.created_unix_micros())});
  }
  return FormatTable(
      {"job", "model", "state", "epoch", "loss", "version", "created"}, rows);
}

std::string JobText(const v1::Job& j) {
  std::string out = absl::StrFormat(
      "job %s (model %s): %s, epoch %d/%d, train loss %s, validation loss "
      "%s\n",
      j.job_id(), j.name(), JobStateName(j.state()), j.epoch(), j.max_epochs(),
      FormatNumber(j.train_loss()), FormatNumber(j.validation_loss()));
  if (j.version() > 0) absl::StrAppend(&out, "version ", j.version(), "\n");
  if (j.resumed_from_epoch() > 0) {
    absl::StrAppend(&out, "resumed after a server restart from the checkpoint "
                          "of epoch ", j.resumed_from_epoch(), "\n");
  }
  if (j.checkpoint_epoch() > 0) {
    absl::StrAppend(&out, "last checkpoint: epoch ", j.checkpoint_epoch(),
                    "\n");
  }
  if (j.has_error()) {
    absl::StrAppend(&out, "error: ", j.error().message(), "\n");
  }
  return out;
}

std::string EpochLine(const v1::EpochProgress& e, int bar_width) {
  const double fraction =
      e.max_epochs() > 0 ? static_cast<double>(e.epoch()) / e.max_epochs() : 0;
  std::string line =
      absl::StrFormat("epoch %d/%d %s train %s", e.epoch(), e.max_epochs(),
                      Bar(fraction, bar_width), FormatNumber(e.train_loss()));
  if (std::isfinite(e.validation_loss())) {
    absl::StrAppend(&line, "  val ", FormatNumber(e.validation_loss()));
  }
  if (!e.metric_name().empty() && std::isfinite(e.validation_metric())) {
    absl::StrAppend(&line, "  ", e.metric_name(), " ",
                    FormatNumber(e.validation_metric()));
  }
  if (e.learning_rate() > 0) {
    absl::StrAppend(&line, "  lr ", FormatNumber(e.learning_rate()));
  }
  absl::StrAppend(&line, "  ", Duration(e.elapsed_seconds()), " elapsed, ",
                  Duration(e.remaining_seconds()), " left");
  return line;
}

std::string UploadLine(int64_t sent, int64_t total, int bar_width) {
  const double mib = 1024.0 * 1024.0;
  const double fraction =
      total > 0 ? static_cast<double>(sent) / static_cast<double>(total) : 1;
  return absl::StrFormat("upload %.1f/%.1f MiB %s %3.0f%%", sent / mib,
                         total / mib, Bar(fraction, bar_width), fraction * 100);
}

std::string AppendPredictions(const CsvRecords& records,
                              const v1::PredictResponse& r) {
  const bool classification = r.class_labels_size() > 0;
  std::string out;
  out.reserve(records.header.size() * (records.rows.size() + 1) * 2);
  absl::StrAppend(&out, records.header, ",prediction");
  if (classification) {
    for (const std::string& l : r.class_labels()) {
      absl::StrAppend(&out, ",", CsvField(absl::StrCat("probability_", l)));
    }
  }
  out += "\n";
  for (size_t i = 0; i < records.rows.size(); ++i) {
    absl::StrAppend(&out, records.rows[i], ",");
    if (static_cast<int>(i) < r.predictions_size()) {
      const v1::Prediction& p = r.predictions(static_cast<int>(i));
      if (classification) {
        absl::StrAppend(&out, CsvField(p.label()));
        for (double prob : p.probabilities()) {
          absl::StrAppend(&out, ",", absl::StrFormat("%.17g", prob));
        }
      } else {
        absl::StrAppend(&out, absl::StrFormat("%.17g", p.value()));
      }
    }
    out += "\n";
  }
  return out;
}

}  // namespace modelserver::client
