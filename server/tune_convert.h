// File: server/tune_convert.h
// Tune's proto <-> core conversions (proto/modelserver/v1: TuneRequest,
// TuneTrial, TuneProgress, TuneSummary; core/tune/tune.h). Every error is
// INVALID_ARGUMENT with a message naming the request field. Pure functions,
// safe to call concurrently.
#ifndef MODELSERVER_SERVER_TUNE_CONVERT_H_
#define MODELSERVER_SERVER_TUNE_CONVERT_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/data/table.h"
#include "core/tune/tune.h"
#include "modelserver/v1/model_service.pb.h"

namespace modelserver::server {

// The request as core TuneOptions for data whose target column has
// `target_type`: options -> the base TrainSpec (TrainSpecFromProto), each
// space.models entry resolved with options.task like options.model,
// space.scalings parsed, ranges copied when set, folds 0 -> 5, seed unset ->
// options.seed, else 42. Also runs ValidateTuneOptions (core).
absl::StatusOr<TuneOptions> TuneOptionsFromProto(const v1::TuneRequest& request,
                                                 ColumnType target_type);

// What can be checked before the data is read: OK when the request converts
// and validates for a numeric or for a categorical target (the data's
// target decides later); else the error for the more likely one (a
// categorical target when options.task is classification or a model is
// LOGISTIC, else numeric).
absl::Status ValidateTuneRequest(const v1::TuneRequest& request);

v1::TuneTrial TuneTrialToProto(const TuneTrial& trial);
v1::TuneProgress TuneProgressToProto(const TuneProgress& progress);
v1::TuneSummary TuneSummaryToProto(const TuneSummary& summary);

}  // namespace modelserver::server

#endif  // MODELSERVER_SERVER_TUNE_CONVERT_H_
