// File: server/explain_convert.h
// Wire conversions of explanations and permutation feature importance
// (docs/explanations.md): Predict's `explain` output and the
// FeatureImportanceReport of VersionInfo and Evaluate.
//
// Thread-safety: pure functions, safe to call concurrently.
#ifndef MODELSERVER_SERVER_EXPLAIN_CONVERT_H_
#define MODELSERVER_SERVER_EXPLAIN_CONVERT_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/artifact/artifact.h"
#include "core/train/importance.h"
#include "modelserver/v1/model_service.pb.h"

namespace modelserver::server {

namespace v1 = ::modelserver::v1;

// An explained Predict answers at most this many contribution values
// (rows x scores x columns): 10^7 doubles, 80 MB.
inline constexpr int64_t kMaxExplainValues = 10000000;

// INVALID_ARGUMENT naming `explain` when `rows` rows of `artifact` would
// give more than kMaxExplainValues contributions.
absl::Status CheckExplainSize(const Artifact& artifact, int64_t rows);

// Fills `out` (expected empty; may live on an arena) as PredictionsToProto
// does, plus `explanation` (the columns in input order, the score kind, the
// class of each score, the base values) and the contributions and scores:
// per Prediction, or with `packed` in PredictResponse.contributions and
// .scores (rows x scores x columns and rows x scores, row-major).
void ExplainedPredictionsToProto(const ExplainedPredictions& explained,
                                 const Artifact& artifact, bool packed,
                                 v1::PredictResponse* out);

void ImportanceToProto(const FeatureImportanceReport& report,
                       v1::FeatureImportanceReport* out);

// Evaluate's importance settings; unset fields take FeatureImportanceOptions'
// defaults, the seed `default_seed` (the model's training seed).
// INVALID_ARGUMENT naming the field ("importance_options.repeats: must be
// in [1, 100], got 0").
absl::StatusOr<FeatureImportanceOptions> ImportanceOptionsFromProto(
    const v1::FeatureImportanceOptions& options, uint64_t default_seed);

}  // namespace modelserver::server

#endif  // MODELSERVER_SERVER_EXPLAIN_CONVERT_H_
