// File: fuzz/fuzz_models.h
// The small models the request fuzzer serves and whose artifacts seed the
// artifact fuzzer: trained in process, deterministically, on a 48-row table
// with numeric (with missing values), categorical and date columns. One
// model per kind, so that every conversion path is reachable:
//   "linear"    linear regression   x1, x2, color, when -> y
//   "logistic"  logistic, 3 classes x1, x2, color       -> label
//   "mlp_cls"   MLP classifier, 2   x1, color           -> flag
//   "numeric"   MLP regressor       x1, x2              -> y (numeric inputs
//               only: the "features" tensor and Predict's short path)
//
// Thread-safety: reentrant.
#ifndef MODELSERVER_FUZZ_FUZZ_MODELS_H_
#define MODELSERVER_FUZZ_FUZZ_MODELS_H_

#include <string>
#include <utility>
#include <vector>

#include "core/artifact/artifact.h"

namespace modelserver::fuzz {

// The training data as CSV text (header: x1,x2,color,when,y,label,flag).
std::string TrainingCsv();

// The four models above as (name, artifact), in that order. Aborts if
// training fails (it does not: the data and settings are fixed).
std::vector<std::pair<std::string, Artifact>> TrainFuzzModels();

}  // namespace modelserver::fuzz

#endif  // MODELSERVER_FUZZ_FUZZ_MODELS_H_
