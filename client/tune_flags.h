// File: client/tune_flags.h
// `modelctl tune`: its flags as typed values, their conversion to a
// modelserver.v1.TuneRequest (without name and data), and the text of its
// progress line and trial table. docs/cli.md documents the flags.
//
// Value syntax: a list "a,b,c" (grid or random choice) or, for
// --learning-rate, --l1 and --l2 in random mode, a range "low:high" (uniform)
// or "low:high:log" (log-uniform). --hidden-layers is repeatable, each value
// one layer list ("64,32"). --time-budget: seconds, or a number with s, m or
// h ("90s", "2m", "1.5h").
#ifndef MODELSERVER_CLIENT_TUNE_FLAGS_H_
#define MODELSERVER_CLIENT_TUNE_FLAGS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/train_flags.h"
#include "modelserver/v1/model_service.pb.h"

namespace modelserver::client {

struct TuneFlags {
  // The base configuration (target, task, features, optimizer, seed, ...):
  // the `train` flags that are not searched.
  TrainFlags base;
  std::string models;         // "linear,mlp"
  std::string learning_rate;  // "0.001,0.01" or "1e-4:1e-1:log"
  std::string l1;
  std::string l2;
  std::vector<std::string> hidden_layers;  // each "64,32"
  std::string epochs;                      // "50,200"
  std::string scaling;                     // "standard,minmax"
  std::string mode;                        // "" | grid | random
  std::optional<int> folds;
  std::optional<int> trials;
  std::string time_budget;  // "60s"
  std::string metric;
  std::optional<uint64_t> search_seed;  // --seed: the search's and training's
};

// INVALID_ARGUMENT naming the flag: a malformed number, list or range, an
// unknown model or scaling name, a bad --time-budget. Range and consistency
// checks (range in grid mode, low > high, ...) are the server's.
absl::StatusOr<v1::TuneRequest> BuildTuneRequest(const TuneFlags& flags);

// "90s" / "2m" / "1.5h" / "30" (seconds) -> seconds >= 0.
absl::StatusOr<double> ParseDuration(absl::string_view flag,
                                     absl::string_view text);

// "trial 3/12 [######......] r2 0.95 ± 0.01  best 0.96 (trial 2)".
std::string TuneLine(const v1::TuneProgress& progress, int bar_width = 24);
// The trials sorted by score, best first (failed trials last, with their
// error), with a header naming the metric, mode, folds and stop reason.
std::string TuneSummaryText(const v1::TuneSummary& summary);

}  // namespace modelserver::client

#endif  // MODELSERVER_CLIENT_TUNE_FLAGS_H_
