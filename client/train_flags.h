// File: client/train_flags.h
// The `modelctl train` flags as typed values, and their conversion to
// modelserver.v1.TrainOptions. Unset flags stay unset in the proto so that
// the server applies its documented defaults (docs/training.md).
#ifndef MODELSERVER_CLIENT_TRAIN_FLAGS_H_
#define MODELSERVER_CLIENT_TRAIN_FLAGS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/promotion_flags.h"
#include "modelserver/v1/model_service.pb.h"

namespace modelserver::client {

struct TrainFlags {
  std::string target;
  std::string task;       // "" | regression | classification
  std::string model;      // "" | linear | logistic | mlp
  std::string optimizer;  // "" | exact | lbfgs | sgd | adam
  std::optional<int> epochs;
  std::optional<int> batch_size;
  std::optional<double> learning_rate;
  std::optional<double> l1;
  std::optional<double> l2;
  std::string hidden;      // "64,32"
  std::string activation;  // "" | relu | tanh | sigmoid
  std::optional<double> validation_split;
  std::optional<int> early_stopping_patience;
  std::optional<uint64_t> seed;
  std::optional<double> momentum;
  bool nesterov = false;
  std::string features;  // "a,b,c"
  // Preprocessing; "" = the server's default.
  std::string scaling;
  std::string numeric_impute;
  std::string categorical_impute;
  std::string outliers;
  std::optional<int> max_levels;
  // Permutation importance after training; unset = the server's default.
  std::optional<int> importance_repeats;
  std::optional<int64_t> importance_max_rows;
  // Learning-rate schedule: "" | constant | step | cosine | plateau, and
  // its settings (each only with the schedule it belongs to).
  std::string lr_schedule;
  std::optional<int> lr_step_size;       // step
  std::optional<double> lr_gamma;        // step
  std::optional<double> lr_min;          // cosine, plateau
  std::optional<int> lr_warmup_epochs;   // cosine
  std::optional<int> lr_patience;        // plateau
  std::optional<double> lr_factor;       // plateau
  // Checkpoint interval in epochs (0 = none); unset = the server's default.
  std::optional<int> checkpoint_every;
  // Class rebalancing, augmentation and the promotion gate: applied by
  // Train (client/promotion_flags.h), not by BuildTrainOptions.
  PromotionFlags promotion;
};

// INVALID_ARGUMENT naming the flag for an unknown enum name, a malformed
// --hidden ("64,32": positive integers), or an --lr-* setting given without
// the --lr-schedule it belongs to. Range checks are the server's.
absl::StatusOr<v1::TrainOptions> BuildTrainOptions(const TrainFlags& flags);

// "COLUMN=numeric|categorical|date" (--type, repeatable) into `out`.
absl::Status AddColumnType(
    absl::string_view spec,
    google::protobuf::Map<std::string, v1::ColumnType>* out);

}  // namespace modelserver::client

#endif  // MODELSERVER_CLIENT_TRAIN_FLAGS_H_
