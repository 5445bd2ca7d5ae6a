// File: client/promotion_flags.h
// The `modelctl train` flags for class rebalancing, augmentation and
// promotion gates (docs/cli.md), their conversion into a
// modelserver.v1.TrainRequest, and the text printed for their results.
// Client-side parsing only checks the syntax; ranges, metric names and
// labels are the server's to check (it names the field).
#ifndef MODELSERVER_CLIENT_PROMOTION_FLAGS_H_
#define MODELSERVER_CLIENT_PROMOTION_FLAGS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "modelserver/v1/model_service.pb.h"

namespace modelserver::client {

struct PromotionFlags {
  // --class-weight: "" | none | balanced | LABEL=W,LABEL=W...
  std::string class_weight;
  std::string rebalance;                // --rebalance: "" | none | oversample
  std::optional<double> augment_noise;  // --augment-noise
  std::optional<int> augment_copies;    // --augment-copies
  std::string holdout;                  // --holdout FILE (read by Train)
  std::optional<double> holdout_fraction;  // --holdout-fraction
  std::vector<std::string> gates;  // --gate 'f1_macro>=0.9' (repeatable)
  std::string gate_better_than;    // --gate-better-than LABEL
  std::string gate_metric;         // --gate-metric (with better-than)
  std::string promote_label;       // --promote-label
};

// One --gate text into a condition: "<metric><op><value>", op one of >=, >,
// <=, < (spaces allowed). INVALID_ARGUMENT quoting the text otherwise.
absl::StatusOr<v1::GateCondition> ParseGateFlag(absl::string_view text);

// Sets the options' class weights, rebalance and augmentation and the
// request's holdout_fraction, gate and promote_label (not the holdout
// dataset: Train reads --holdout). INVALID_ARGUMENT naming the flag for a
// malformed --class-weight ("LABEL=WEIGHT" pairs with numeric weights) or
// --gate.
absl::Status ApplyPromotionFlags(const PromotionFlags& flags,
                                 v1::TrainRequest* request);

// Lines appended to the train result's text: the rows added by
// oversampling and augmentation (when any), and the gate's verdict with
// each condition (when the request had a gate). "" when neither.
std::string PromotionText(const v1::TrainResult& result);

// `modelctl get`'s lines for a version's AugmentationSummary: rows added,
// class weights, and the gate's verdict at training.
std::string AugmentationText(const v1::AugmentationSummary& summary);

}  // namespace modelserver::client

#endif  // MODELSERVER_CLIENT_PROMOTION_FLAGS_H_
