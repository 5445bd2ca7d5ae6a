#include "server/explain_convert.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "server/proto_convert.h"

namespace modelserver::server {

absl::Status CheckExplainSize(const Artifact& artifact, int64_t rows) {
  const int64_t per_row = static_cast<int64_t>(artifact.model().num_outputs()) *
                          static_cast<int64_t>(artifact.input_schema().size());
  if (rows > 0 && per_row > kMaxExplainValues / rows) {
    return absl::InvalidArgumentError(absl::StrCat(
        "explain: ", rows, " rows x ", per_row,
        " contributions per row exceed the ", kMaxExplainValues,
        " contributions one response may hold; send fewer rows per request"));
  }
  return absl::OkStatus();
}

void ExplainedPredictionsToProto(const ExplainedPredictions& explained,
                                 const Artifact& artifact, bool packed,
                                 v1::PredictResponse* out) {
  const ModelMetadata& metadata = artifact.metadata();
  PredictionsToProto(explained.predictions, metadata, packed, out);
  const Explanations& e = explained.explanations;
  v1::Explanation* x = out->mutable_explanation();
  for (const InputColumn& c : artifact.input_schema()) x->add_columns(c.name);
  x->set_score(e.score);
  for (int32_t cls : e.score_classes) {
    if (cls >= 0 && static_cast<size_t>(cls) < metadata.class_labels.size()) {
      x->add_score_labels(metadata.class_labels[cls]);
    }
  }
  x->mutable_base_values()->Add(e.base_values.data(),
                                e.base_values.data() + e.base_values.size());
  const Eigen::Index n = e.contributions.rows();
  const Eigen::Index width = e.contributions.cols();
  const int k = e.num_scores();
  if (packed) {
    // Row-major: the transposes of the column-major matrices.
    auto* c = out->mutable_contributions();
    c->Resize(static_cast<int>(n * width), 0.0);
    Eigen::Map<
        Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
        c->mutable_data(), n, width) = e.contributions;
    auto* s = out->mutable_scores();
    s->Resize(static_cast<int>(n * k), 0.0);
    Eigen::Map<
        Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
        s->mutable_data(), n, k) = e.scores;
    return;
  }
  for (Eigen::Index i = 0; i < n && i < out->predictions_size(); ++i) {
    v1::Prediction* p = out->mutable_predictions(static_cast<int>(i));
    auto* c = p->mutable_contributions();
    c->Reserve(static_cast<int>(width));
    for (Eigen::Index j = 0; j < width; ++j) {
      c->AddAlreadyReserved(e.contributions(i, j));
    }
    auto* s = p->mutable_scores();
    s->Reserve(k);
    for (int j = 0; j < k; ++j) s->AddAlreadyReserved(e.scores(i, j));
  }
}

void ImportanceToProto(const FeatureImportanceReport& r,
                       v1::FeatureImportanceReport* out) {
  out->set_metric(r.metric);
  out->set_baseline(r.baseline);
  out->set_data(r.data);
  out->set_rows(r.rows);
  out->set_repeats(r.repeats);
  out->set_seed(r.seed);
  for (const ColumnImportance& c : r.columns) {
    v1::FeatureImportance* f = out->add_columns();
    f->set_column(c.column);
    f->set_mean(c.mean);
    f->set_std(c.std);
    f->mutable_drops()->Add(c.drops.begin(), c.drops.end());
  }
}

absl::StatusOr<FeatureImportanceOptions> ImportanceOptionsFromProto(
    const v1::FeatureImportanceOptions& o, uint64_t default_seed) {
  FeatureImportanceOptions out;
  out.seed = o.has_seed() ? o.seed() : default_seed;
  if (o.has_repeats()) {
    if (o.repeats() < 1 || o.repeats() > kMaxImportanceRepeats) {
      return absl::InvalidArgumentError(
          absl::StrCat("importance_options.repeats: must be in [1, ",
                       kMaxImportanceRepeats, "], got ", o.repeats()));
    }
    out.repeats = o.repeats();
  }
  if (o.has_max_rows()) {
    if (o.max_rows() < 1 || o.max_rows() > kMaxImportanceRows) {
      return absl::InvalidArgumentError(
          absl::StrCat("importance_options.max_rows: must be in [1, ",
                       kMaxImportanceRows, "], got ", o.max_rows()));
    }
    out.max_rows = o.max_rows();
  }
  return out;
}

}  // namespace modelserver::server
