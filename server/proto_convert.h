// File: server/proto_convert.h
// Conversions between the wire messages (modelserver.v1) and core types.
// No I/O, no gRPC: every function is a pure transformation, testable
// without a server.
//
// InlineRows -> Table (rows are numbered from 0 in messages):
//   - column names must be non-empty and unique; every row must hold one
//     value per column (INVALID_ARGUMENT naming the row or column);
//   - an unset Value, a NaN number and a text that is one of the CSV
//     missing markers ("", "NA", "NaN", "null", "?", after trimming spaces)
//     are missing values;
//   - a column with a type in `types` gets that type: for numeric, a text
//     must parse as a number; for date, a text must be an ISO-8601 date
//     (core/data/datetime.h) and a number is an error; for categorical, a
//     number becomes its shortest round-trip text ("3", "0.5");
//   - other columns are inferred: numeric if every non-missing value is a
//     number (also when the column has no value), else date if every value
//     is a text holding an ISO-8601 date, else categorical (numbers spelled
//     as above);
//   - infinite numbers in numeric columns are INVALID_ARGUMENT.
//
// ColumnarRows -> Table: the same rules, per column: names non-empty and
// unique, every column the same length (at least 1), each column's values
// in `numbers` or in `texts` (not both). Inferred types: numbers ->
// numeric; texts -> date if every non-missing one is an ISO-8601 date, else
// categorical. Numbers given for a date column are INVALID_ARGUMENT.
//
// TrainOptions -> TrainSpec: unset (zero) fields keep the TrainSpec
// defaults; the model kind follows from (task, model):
//   task unspecified: LINEAR -> regression, LOGISTIC -> classification,
//     otherwise from the target's type (numeric -> regression, else
//     classification);
//   model unspecified: linear regression / logistic regression;
//   MLP: mlp_regressor / mlp_classifier;
//   (regression, LOGISTIC) and (classification, LINEAR) are
//   INVALID_ARGUMENT. The result has passed ValidateTrainSpec.
//
// Thread-safety: pure functions, safe to call concurrently.
#ifndef MODELSERVER_SERVER_PROTO_CONVERT_H_
#define MODELSERVER_SERVER_PROTO_CONVERT_H_

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/artifact/artifact.h"
#include "core/data/table.h"
#include "core/jobs/job_manager.h"
#include "core/train/trainer.h"
#include "modelserver/v1/model_service.pb.h"

namespace modelserver::server {

namespace v1 = ::modelserver::v1;

using ColumnTypes = absl::flat_hash_map<std::string, ColumnType>;

// ----------------------------------------------------------------- enums

v1::ColumnType ColumnTypeToProto(ColumnType type);
// INVALID_ARGUMENT for COLUMN_TYPE_UNSPECIFIED or an unknown number.
absl::StatusOr<ColumnType> ColumnTypeFromProto(v1::ColumnType type);
// The overrides of a Dataset (UNSPECIFIED entries mean "infer" and are
// skipped); INVALID_ARGUMENT naming the column for an unknown value.
absl::StatusOr<ColumnTypes> ColumnTypesFromProto(
    const google::protobuf::Map<std::string, v1::ColumnType>& types);
v1::JobState JobStateToProto(JobState state);

// ------------------------------------------------------------------ data

// See the top of this file. `types` forces the type of the columns it names
// (names absent from `rows` are ignored).
absl::StatusOr<Table> TableFromRows(const v1::InlineRows& rows,
                                    const ColumnTypes& types = {});

absl::StatusOr<Table> TableFromColumns(const v1::ColumnarRows& columns,
                                       const ColumnTypes& types = {});

// Predict's short path for small all-number requests: when `artifact` has
// numeric inputs only, every one of them is among `rows.columns`, and every
// cell of every row is a number that is not infinite (NaN or an unset value
// = missing), fills
// `x` with exactly what artifact.pipeline().Transform(*TableFromRows(rows,
// ...)) gives and returns true, without building the Table. Returns false
// in every other case (text cells, infinities, absent columns, duplicate
// names, ragged rows, more than 64 columns); TableFromRows then gives the
// answer or the error.
bool NumericFeaturesFromRows(const v1::InlineRows& rows,
                             const Artifact& artifact, Eigen::MatrixXd* x);

// The shortest text that reads back as `value` ("3", "0.1", "1e+300").
std::string ShortestNumberText(double value);

// -------------------------------------------------------------- training

// See the top of this file. `target_type` is the type of the target column
// in the data.
absl::StatusOr<TrainSpec> TrainSpecFromProto(const v1::TrainOptions& options,
                                             ColumnType target_type);
// Checks what TrainSpecFromProto checks that does not depend on the data
// (every target type is tried when it matters), and checkpoint_every_epochs
// (in [0, kMaxCheckpointEveryEpochs]).
absl::Status ValidateTrainOptions(const v1::TrainOptions& options);

// Whether the options train with an epoch-based optimizer (SGD or Adam:
// set explicitly, or picked by auto for an MLP), which alone have
// learning-rate schedules and checkpoints.
bool EpochBasedTraining(const v1::TrainOptions& options);
// Checkpoint interval in epochs of a job with these (validated) options:
// checkpoint_every_epochs, unset = kDefaultCheckpointEveryEpochs; 0 when
// not EpochBasedTraining.
inline constexpr int kDefaultCheckpointEveryEpochs = 10;
inline constexpr int kMaxCheckpointEveryEpochs = 1000000;
int CheckpointEveryEpochs(const v1::TrainOptions& options);

// ------------------------------------------------------------- results

void MetricsToProto(const MetricList& metrics,
                    google::protobuf::RepeatedPtrField<v1::Metric>* out);
v1::EvaluateResponse EvaluationToProto(const Evaluation& evaluation,
                                       const ModelMetadata& metadata);
// Fills `out` (which may live on an arena; it is expected empty): one
// Prediction per row, or with `packed` the packed fields (values, or
// label_indices and probabilities).
void PredictionsToProto(const Predictions& predictions,
                        const ModelMetadata& metadata, bool packed,
                        v1::PredictResponse* out);
v1::PredictResponse PredictionsToProto(const Predictions& predictions,
                                       const ModelMetadata& metadata);
// data_checksum as "crc32c:%08x".
v1::VersionInfo VersionInfoToProto(const Artifact& artifact);
// A TrainRequest's gate; INVALID_ARGUMENT naming gate.conditions[i].op for
// an unknown operator (metric names are checked by ValidateGate).
absl::StatusOr<GateSpec> GateSpecFromProto(const v1::Gate& gate);
v1::GateResult GateResultToProto(const GateResult& gate);
// Code and (capped, INTERNAL-scrubbed: see status_util.h) message.
v1::JobFailed JobFailedToProto(const absl::Status& error);
v1::Job JobToProto(const JobSnapshot& job);
v1::TrainEvent TrainEventToProto(const std::string& job_id,
                                 const std::string& name,
                                 const JobEvent& event);

}  // namespace modelserver::server

#endif  // MODELSERVER_SERVER_PROTO_CONVERT_H_
