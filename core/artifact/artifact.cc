#include "core/artifact/artifact.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/model/model_codec.h"
#include "core/util/bytes.h"
#include "core/util/crc32c.h"
#include "core/util/status_macros.h"

namespace modelserver {
namespace {

// File layout (docs/artifact-format.md):
//   magic (8) | format version u32 | payload length u64 | payload | crc32c u32
// The checksum covers every byte before it. The payload is a sequence of
// sections: tag u32 | length u64 | bytes. Unknown tags are skipped.
constexpr char kMagic[8] = {'\x89', 'M', 'S', 'M', '\r', '\n', '\x1a', '\n'};
constexpr size_t kHeaderSize = 8 + 4 + 8;
constexpr size_t kTrailerSize = 4;

// Section tags. Never reuse a number.
enum SectionTag : uint32_t {
  kSectionMetadata = 1,
  kSectionPipeline = 2,
  kSectionModel = 3,
};

// Metadata field tags (inside the metadata section). Never reuse a number.
enum MetadataTag : uint32_t {
  kMetaName = 1,
  kMetaVersion = 2,
  kMetaKind = 3,
  kMetaTarget = 4,
  kMetaTargetType = 5,
  kMetaClassLabels = 6,
  kMetaHyperparameters = 7,
  kMetaSeed = 8,
  kMetaTrainMetrics = 9,
  kMetaValidationMetrics = 10,
  kMetaRowsTotal = 11,
  kMetaRowsDropped = 12,
  kMetaRowsTrain = 13,
  kMetaRowsValidation = 14,
  kMetaDataChecksum = 15,
  kMetaCreatedUnixMicros = 16,
  kMetaLibraryVersion = 17,
  kMetaOptimizer = 18,
  kMetaEpochsRun = 19,
  kMetaEarlyStopped = 20,
  kMetaTrainingSeconds = 21,
  // 40-44: checkpoints (docs/training.md).
  kMetaResumedFromEpoch = 40,
  kMetaJobUid = 41,
  // 45-49: hyperparameter search (core/tune, docs/tuning.md).
  kMetaTuning = 45,
  // 30-34 are reserved for explanations (31-34 unused so far).
  kMetaImportance = 30,
  // 35-39: class rebalancing, augmentation and promotion gates.
  kMetaRowsOversampled = 35,
  kMetaRowsAugmented = 36,
  kMetaClassWeights = 37,
  kMetaGate = 38,
};

void PutField(ByteWriter* out, uint32_t tag, const ByteWriter& body) {
  out->WriteU32(tag);
  out->WriteString(body.data());
}

void PutU64(ByteWriter* out, uint32_t tag, uint64_t v) {
  ByteWriter b;
  b.WriteU64(v);
  PutField(out, tag, b);
}

void PutF64(ByteWriter* out, uint32_t tag, double v) {
  ByteWriter b;
  b.WriteF64(v);
  PutField(out, tag, b);
}

void PutString(ByteWriter* out, uint32_t tag, absl::string_view s) {
  ByteWriter b;
  b.WriteRaw(s);
  PutField(out, tag, b);
}

void PutMetrics(ByteWriter* out, uint32_t tag, const MetricList& m) {
  ByteWriter b;
  b.WriteU64(m.size());
  for (const auto& [name, value] : m) {
    b.WriteString(name);
    b.WriteF64(value);
  }
  PutField(out, tag, b);
}

// Body of kMetaGate (docs/artifact-format.md): u64 passed, reason, u64
// holdout rows, the holdout metrics (as kMetaTrainMetrics), u64 condition
// count, then per condition its text, u64 passed, f64 value, f64 baseline
// value, i64 baseline version.
void PutGate(ByteWriter* out, const GateResult& g) {
  ByteWriter b;
  b.WriteU64(g.passed ? 1 : 0);
  b.WriteString(g.reason);
  b.WriteU64(static_cast<uint64_t>(g.holdout_rows));
  b.WriteU64(g.holdout_metrics.size());
  for (const auto& [name, value] : g.holdout_metrics) {
    b.WriteString(name);
    b.WriteF64(value);
  }
  b.WriteU64(g.conditions.size());
  for (const GateConditionResult& c : g.conditions) {
    b.WriteString(c.condition);
    b.WriteU64(c.passed ? 1 : 0);
    b.WriteF64(c.value);
    b.WriteF64(c.baseline_value);
    b.WriteI64(c.baseline_version);
  }
  PutField(out, kMetaGate, b);
}

absl::StatusOr<GateResult> ReadGate(ByteReader* r) {
  GateResult g;
  ASSIGN_OR_RETURN(uint64_t passed, r->ReadU64("gate passed"));
  g.passed = passed != 0;
  ASSIGN_OR_RETURN(g.reason, r->ReadString("gate reason"));
  ASSIGN_OR_RETURN(g.holdout_rows, r->ReadI64("gate holdout rows"));
  ASSIGN_OR_RETURN(uint64_t metrics, r->ReadU64("gate metric count"));
  if (metrics > r->remaining() / 16) {
    return absl::DataLossError("metadata: implausible gate metric count");
  }
  for (uint64_t i = 0; i < metrics; ++i) {
    ASSIGN_OR_RETURN(std::string name, r->ReadString("gate metric name"));
    ASSIGN_OR_RETURN(double value, r->ReadF64("gate metric value"));
    g.holdout_metrics.emplace_back(std::move(name), value);
  }
  ASSIGN_OR_RETURN(uint64_t n, r->ReadU64("gate condition count"));
  if (n > r->remaining() / 40) {
    return absl::DataLossError("metadata: implausible gate condition count");
  }
  for (uint64_t i = 0; i < n; ++i) {
    GateConditionResult c;
    ASSIGN_OR_RETURN(c.condition, r->ReadString("gate condition"));
    ASSIGN_OR_RETURN(uint64_t ok, r->ReadU64("gate condition passed"));
    c.passed = ok != 0;
    ASSIGN_OR_RETURN(c.value, r->ReadF64("gate condition value"));
    ASSIGN_OR_RETURN(c.baseline_value, r->ReadF64("gate baseline value"));
    ASSIGN_OR_RETURN(c.baseline_version, r->ReadI64("gate baseline version"));
    g.conditions.push_back(std::move(c));
  }
  return g;
}

// Body of kMetaImportance (docs/artifact-format.md): metric, f64 baseline,
// data, u64 rows, u64 repeats, u64 seed, u64 column count, then per column
// its name, f64 mean, f64 std, u64 drop count and the f64 drops.
void PutImportance(ByteWriter* out, const FeatureImportanceReport& r) {
  ByteWriter b;
  b.WriteString(r.metric);
  b.WriteF64(r.baseline);
  b.WriteString(r.data);
  b.WriteU64(static_cast<uint64_t>(r.rows));
  b.WriteU64(static_cast<uint64_t>(r.repeats));
  b.WriteU64(r.seed);
  b.WriteU64(r.columns.size());
  for (const ColumnImportance& c : r.columns) {
    b.WriteString(c.column);
    b.WriteF64(c.mean);
    b.WriteF64(c.std);
    b.WriteU64(c.drops.size());
    for (double d : c.drops) b.WriteF64(d);
  }
  PutField(out, kMetaImportance, b);
}

absl::StatusOr<FeatureImportanceReport> ReadImportance(ByteReader* r) {
  FeatureImportanceReport out;
  ASSIGN_OR_RETURN(out.metric, r->ReadString("importance metric"));
  ASSIGN_OR_RETURN(out.baseline, r->ReadF64("importance baseline"));
  ASSIGN_OR_RETURN(out.data, r->ReadString("importance data"));
  ASSIGN_OR_RETURN(out.rows, r->ReadI64("importance rows"));
  ASSIGN_OR_RETURN(uint64_t repeats, r->ReadU64("importance repeats"));
  if (repeats > static_cast<uint64_t>(kMaxImportanceRepeats)) {
    return absl::DataLossError(
        absl::StrCat("metadata: implausible importance repeats ", repeats));
  }
  out.repeats = static_cast<int>(repeats);
  ASSIGN_OR_RETURN(out.seed, r->ReadU64("importance seed"));
  ASSIGN_OR_RETURN(uint64_t n, r->ReadU64("importance column count"));
  // Each column takes at least 8 + 8 + 8 + 8 bytes.
  if (n > r->remaining() / 32) {
    return absl::DataLossError("metadata: implausible importance columns");
  }
  out.columns.resize(n);
  for (ColumnImportance& c : out.columns) {
    ASSIGN_OR_RETURN(c.column, r->ReadString("importance column"));
    ASSIGN_OR_RETURN(c.mean, r->ReadF64("importance mean"));
    ASSIGN_OR_RETURN(c.std, r->ReadF64("importance std"));
    ASSIGN_OR_RETURN(uint64_t drops, r->ReadU64("importance drop count"));
    if (drops > r->remaining() / 8) {
      return absl::DataLossError("metadata: implausible importance drops");
    }
    c.drops.resize(drops);
    for (double& d : c.drops) {
      ASSIGN_OR_RETURN(d, r->ReadF64("importance drop"));
    }
  }
  return out;
}

// Body of kMetaTuning (docs/artifact-format.md): metric, u64 higher is
// better, u64 folds, mode, stop reason, u64 best trial, u64 seed, u64 max
// trials, f64 search seconds, u64 trial count, then per trial: u64 trial,
// u64 parameter count, (key, value) strings, f64 mean, f64 stddev, f64
// seconds, error.
void PutTuning(ByteWriter* out, const TuneSummary& t) {
  ByteWriter b;
  b.WriteString(t.metric);
  b.WriteU64(t.higher_is_better ? 1 : 0);
  b.WriteU64(static_cast<uint64_t>(t.folds));
  b.WriteString(t.mode);
  b.WriteString(t.stop_reason);
  b.WriteU64(static_cast<uint64_t>(t.best_trial));
  b.WriteU64(t.seed);
  b.WriteU64(static_cast<uint64_t>(t.max_trials));
  b.WriteF64(t.search_seconds);
  b.WriteU64(t.trials.size());
  for (const TuneTrial& trial : t.trials) {
    b.WriteU64(static_cast<uint64_t>(trial.trial));
    b.WriteU64(trial.params.size());
    for (const auto& [k, v] : trial.params) {
      b.WriteString(k);
      b.WriteString(v);
    }
    b.WriteF64(trial.mean);
    b.WriteF64(trial.stddev);
    b.WriteF64(trial.seconds);
    b.WriteString(trial.error);
  }
  PutField(out, kMetaTuning, b);
}

absl::StatusOr<int> ReadCount(ByteReader* r, absl::string_view what) {
  ASSIGN_OR_RETURN(uint64_t v, r->ReadU64(what));
  if (v > static_cast<uint64_t>(std::numeric_limits<int>::max())) {
    return absl::DataLossError(
        absl::StrCat("metadata: implausible ", what, " ", v));
  }
  return static_cast<int>(v);
}

absl::StatusOr<TuneSummary> ReadTuning(ByteReader* r) {
  TuneSummary t;
  ASSIGN_OR_RETURN(t.metric, r->ReadString("tuning metric"));
  ASSIGN_OR_RETURN(uint64_t higher, r->ReadU64("tuning direction"));
  t.higher_is_better = higher != 0;
  ASSIGN_OR_RETURN(t.folds, ReadCount(r, "tuning folds"));
  ASSIGN_OR_RETURN(t.mode, r->ReadString("tuning mode"));
  ASSIGN_OR_RETURN(t.stop_reason, r->ReadString("tuning stop reason"));
  ASSIGN_OR_RETURN(t.best_trial, ReadCount(r, "tuning best trial"));
  ASSIGN_OR_RETURN(t.seed, r->ReadU64("tuning seed"));
  ASSIGN_OR_RETURN(t.max_trials, ReadCount(r, "tuning max trials"));
  ASSIGN_OR_RETURN(t.search_seconds, r->ReadF64("tuning seconds"));
  ASSIGN_OR_RETURN(uint64_t n, r->ReadU64("tuning trial count"));
  // Each trial takes at least 8 + 8 + 3 * 8 + 8 bytes.
  if (n > r->remaining() / 48) {
    return absl::DataLossError("metadata: implausible tuning trial count");
  }
  t.trials.resize(n);
  for (TuneTrial& trial : t.trials) {
    ASSIGN_OR_RETURN(trial.trial, ReadCount(r, "tuning trial"));
    ASSIGN_OR_RETURN(uint64_t params, r->ReadU64("tuning parameter count"));
    if (params > r->remaining() / 16) {
      return absl::DataLossError("metadata: implausible tuning parameters");
    }
    for (uint64_t i = 0; i < params; ++i) {
      ASSIGN_OR_RETURN(std::string k, r->ReadString("tuning parameter"));
      ASSIGN_OR_RETURN(std::string v, r->ReadString("tuning parameter"));
      trial.params.emplace_back(std::move(k), std::move(v));
    }
    ASSIGN_OR_RETURN(trial.mean, r->ReadF64("tuning mean"));
    ASSIGN_OR_RETURN(trial.stddev, r->ReadF64("tuning stddev"));
    ASSIGN_OR_RETURN(trial.seconds, r->ReadF64("tuning trial seconds"));
    ASSIGN_OR_RETURN(trial.error, r->ReadString("tuning trial error"));
  }
  return t;
}

std::string EncodeMetadata(const ModelMetadata& m) {
  ByteWriter out;
  PutString(&out, kMetaName, m.name);
  PutU64(&out, kMetaVersion, static_cast<uint64_t>(m.version));
  PutU64(&out, kMetaKind, static_cast<uint64_t>(m.kind));
  PutString(&out, kMetaTarget, m.target);
  PutU64(&out, kMetaTargetType, static_cast<uint64_t>(m.target_type));
  {
    ByteWriter b;
    b.WriteStrings(m.class_labels);
    PutField(&out, kMetaClassLabels, b);
  }
  {
    ByteWriter b;
    b.WriteU64(m.hyperparameters.size());
    for (const auto& [k, v] : m.hyperparameters) {
      b.WriteString(k);
      b.WriteString(v);
    }
    PutField(&out, kMetaHyperparameters, b);
  }
  PutU64(&out, kMetaSeed, m.seed);
  PutMetrics(&out, kMetaTrainMetrics, m.train_metrics);
  PutMetrics(&out, kMetaValidationMetrics, m.validation_metrics);
  PutU64(&out, kMetaRowsTotal, static_cast<uint64_t>(m.rows_total));
  PutU64(&out, kMetaRowsDropped, static_cast<uint64_t>(m.rows_dropped));
  PutU64(&out, kMetaRowsTrain, static_cast<uint64_t>(m.rows_train));
  PutU64(&out, kMetaRowsValidation, static_cast<uint64_t>(m.rows_validation));
  PutU64(&out, kMetaDataChecksum, m.data_checksum);
  PutU64(&out, kMetaCreatedUnixMicros,
         static_cast<uint64_t>(m.created_unix_micros));
  PutString(&out, kMetaLibraryVersion, m.library_version);
  PutString(&out, kMetaOptimizer, m.optimizer);
  PutU64(&out, kMetaEpochsRun, static_cast<uint64_t>(m.epochs_run));
  PutU64(&out, kMetaEarlyStopped, m.early_stopped ? 1 : 0);
  PutF64(&out, kMetaTrainingSeconds, m.training_seconds);
  if (m.resumed_from_epoch > 0) {
    PutU64(&out, kMetaResumedFromEpoch,
           static_cast<uint64_t>(m.resumed_from_epoch));
  }
  if (!m.job_uid.empty()) PutString(&out, kMetaJobUid, m.job_uid);
  if (m.tuning.has_value()) PutTuning(&out, *m.tuning);
  if (m.importance.has_value()) PutImportance(&out, *m.importance);
  // Written only when used, so that other artifacts keep their bytes.
  if (m.rows_oversampled != 0) {
    PutU64(&out, kMetaRowsOversampled,
           static_cast<uint64_t>(m.rows_oversampled));
  }
  if (m.rows_augmented != 0) {
    PutU64(&out, kMetaRowsAugmented, static_cast<uint64_t>(m.rows_augmented));
  }
  if (!m.class_weights.empty()) {
    ByteWriter b;
    b.WriteF64s(m.class_weights);
    PutField(&out, kMetaClassWeights, b);
  }
  if (m.gate.has_value()) PutGate(&out, *m.gate);
  return out.Release();
}

absl::StatusOr<MetricList> ReadMetrics(ByteReader* r) {
  ASSIGN_OR_RETURN(uint64_t n, r->ReadU64("metric count"));
  if (n > r->remaining() / 16) {
    return absl::DataLossError("metadata: implausible metric count");
  }
  MetricList m;
  for (uint64_t i = 0; i < n; ++i) {
    ASSIGN_OR_RETURN(std::string name, r->ReadString("metric name"));
    ASSIGN_OR_RETURN(double v, r->ReadF64("metric value"));
    m.emplace_back(std::move(name), v);
  }
  return m;
}

absl::StatusOr<ModelMetadata> DecodeMetadata(absl::string_view bytes) {
  ModelMetadata m;
  ByteReader in(bytes);
  bool has_kind = false;
  while (!in.done()) {
    ASSIGN_OR_RETURN(uint32_t tag, in.ReadU32("metadata field tag"));
    ASSIGN_OR_RETURN(std::string body, in.ReadString("metadata field"));
    ByteReader r(body);
    switch (tag) {
      case kMetaName:
        m.name = body;
        continue;
      case kMetaTarget:
        m.target = body;
        continue;
      case kMetaLibraryVersion:
        m.library_version = body;
        continue;
      case kMetaOptimizer:
        m.optimizer = body;
        continue;
      case kMetaVersion: {
        ASSIGN_OR_RETURN(m.version, r.ReadI64("version"));
        break;
      }
      case kMetaKind: {
        ASSIGN_OR_RETURN(uint64_t k, r.ReadU64("model kind"));
        if (k < 1 || k > 4) {
          return absl::DataLossError(
              absl::StrCat("metadata: unknown model kind ", k));
        }
        m.kind = static_cast<ModelKind>(k);
        has_kind = true;
        break;
      }
      case kMetaTargetType: {
        ASSIGN_OR_RETURN(uint64_t t, r.ReadU64("target type"));
        if (t > 2) {
          return absl::DataLossError(
              absl::StrCat("metadata: unknown target type ", t));
        }
        m.target_type = static_cast<ColumnType>(t);
        break;
      }
      case kMetaClassLabels: {
        ASSIGN_OR_RETURN(m.class_labels, r.ReadStrings("class labels"));
        break;
      }
      case kMetaHyperparameters: {
        ASSIGN_OR_RETURN(uint64_t n, r.ReadU64("hyperparameter count"));
        if (n > r.remaining() / 16) {
          return absl::DataLossError("metadata: implausible hyperparameters");
        }
        for (uint64_t i = 0; i < n; ++i) {
          ASSIGN_OR_RETURN(std::string k, r.ReadString("hyperparameter"));
          ASSIGN_OR_RETURN(std::string v, r.ReadString("hyperparameter"));
          m.hyperparameters.emplace_back(std::move(k), std::move(v));
        }
        break;
      }
      case kMetaSeed: {
        ASSIGN_OR_RETURN(m.seed, r.ReadU64("seed"));
        break;
      }
      case kMetaTrainMetrics: {
        ASSIGN_OR_RETURN(m.train_metrics, ReadMetrics(&r));
        break;
      }
      case kMetaValidationMetrics: {
        ASSIGN_OR_RETURN(m.validation_metrics, ReadMetrics(&r));
        break;
      }
      case kMetaRowsTotal: {
        ASSIGN_OR_RETURN(m.rows_total, r.ReadI64("rows"));
        break;
      }
      case kMetaRowsDropped: {
        ASSIGN_OR_RETURN(m.rows_dropped, r.ReadI64("rows"));
        break;
      }
      case kMetaRowsTrain: {
        ASSIGN_OR_RETURN(m.rows_train, r.ReadI64("rows"));
        break;
      }
      case kMetaRowsValidation: {
        ASSIGN_OR_RETURN(m.rows_validation, r.ReadI64("rows"));
        break;
      }
      case kMetaDataChecksum: {
        ASSIGN_OR_RETURN(uint64_t c, r.ReadU64("data checksum"));
        m.data_checksum = static_cast<uint32_t>(c);
        break;
      }
      case kMetaCreatedUnixMicros: {
        ASSIGN_OR_RETURN(m.created_unix_micros, r.ReadI64("creation time"));
        break;
      }
      case kMetaEpochsRun: {
        ASSIGN_OR_RETURN(m.epochs_run, r.ReadI64("epochs"));
        break;
      }
      case kMetaEarlyStopped: {
        ASSIGN_OR_RETURN(uint64_t b, r.ReadU64("early stopped"));
        m.early_stopped = b != 0;
        break;
      }
      case kMetaTrainingSeconds: {
        ASSIGN_OR_RETURN(m.training_seconds, r.ReadF64("training seconds"));
        break;
      }
      case kMetaResumedFromEpoch: {
        ASSIGN_OR_RETURN(m.resumed_from_epoch, r.ReadI64("resumed epoch"));
        break;
      }
      case kMetaJobUid:
        m.job_uid = body;
        continue;
      case kMetaImportance: {
        ASSIGN_OR_RETURN(m.importance, ReadImportance(&r));
        break;
      }
      case kMetaRowsOversampled: {
        ASSIGN_OR_RETURN(m.rows_oversampled, r.ReadI64("rows oversampled"));
        break;
      }
      case kMetaRowsAugmented: {
        ASSIGN_OR_RETURN(m.rows_augmented, r.ReadI64("rows augmented"));
        break;
      }
      case kMetaClassWeights: {
        ASSIGN_OR_RETURN(m.class_weights, r.ReadF64s("class weights"));
        break;
      }
      case kMetaGate: {
        ASSIGN_OR_RETURN(m.gate, ReadGate(&r));
        break;
      }
      case kMetaTuning: {
        ASSIGN_OR_RETURN(m.tuning, ReadTuning(&r));
        break;
      }
      default:
        continue;  // a field from a newer writer: skip
    }
    if (!r.done()) {
      return absl::DataLossError(
          absl::StrCat("metadata field ", tag, " has trailing bytes"));
    }
  }
  if (!has_kind) return absl::DataLossError("metadata: model kind missing");
  return m;
}

std::string FormatDouble(double v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

std::vector<std::pair<std::string, std::string>> Hyperparameters(
    const TrainSpec& s) {
  std::vector<std::pair<std::string, std::string>> h;
  h.emplace_back("model", std::string(ModelKindName(s.kind)));
  h.emplace_back("optimizer", std::string(OptimizerKindName(s.optimizer)));
  if (s.optimizer != OptimizerKind::kExact) {
    if (s.optimizer != OptimizerKind::kLbfgs) {
      h.emplace_back("learning_rate", FormatDouble(s.learning_rate));
      h.emplace_back("batch_size", absl::StrCat(s.batch_size));
    }
    h.emplace_back("epochs", absl::StrCat(s.epochs));
    if (s.optimizer == OptimizerKind::kSgd) {
      h.emplace_back("momentum", FormatDouble(s.momentum));
      h.emplace_back("nesterov", s.nesterov ? "true" : "false");
    }
    // The schedule (core/train/lr_schedule.h), when not constant.
    const LrScheduleSpec& lr = s.lr_schedule;
    if (s.optimizer != OptimizerKind::kLbfgs &&
        lr.kind != LrScheduleKind::kConstant) {
      h.emplace_back("lr_schedule", std::string(LrScheduleKindName(lr.kind)));
      switch (lr.kind) {
        case LrScheduleKind::kStep:
          h.emplace_back("lr_step_size", absl::StrCat(lr.step_size));
          h.emplace_back("lr_gamma", FormatDouble(lr.gamma));
          break;
        case LrScheduleKind::kCosine:
          h.emplace_back("lr_min", FormatDouble(lr.min_learning_rate));
          h.emplace_back("lr_warmup_epochs", absl::StrCat(lr.warmup_epochs));
          break;
        case LrScheduleKind::kPlateau:
          h.emplace_back("lr_min", FormatDouble(lr.min_learning_rate));
          h.emplace_back("lr_patience", absl::StrCat(lr.patience));
          h.emplace_back("lr_factor", FormatDouble(lr.factor));
          break;
        default:
          break;
      }
    }
  }
  h.emplace_back("l1", FormatDouble(s.l1));
  h.emplace_back("l2", FormatDouble(s.l2));
  if (!s.hidden_layers.empty()) {
    std::string layers;
    for (size_t i = 0; i < s.hidden_layers.size(); ++i) {
      absl::StrAppend(&layers, i ? "," : "", s.hidden_layers[i]);
    }
    h.emplace_back("hidden_layers", layers);
    h.emplace_back("activation", std::string(ActivationName(s.activation)));
  }
  // Rebalancing and augmentation (core/train/rebalance.h), when used.
  if (s.class_weight != ClassWeightMode::kNone) {
    h.emplace_back("class_weight",
                   std::string(ClassWeightModeName(s.class_weight)));
    for (const auto& [label, weight] : s.class_weights) {
      h.emplace_back(absl::StrCat("class_weight[", label, "]"),
                     FormatDouble(weight));
    }
  }
  if (s.rebalance != RebalanceMode::kNone) {
    h.emplace_back("rebalance", std::string(RebalanceModeName(s.rebalance)));
  }
  if (s.augment_noise > 0) {
    h.emplace_back("augment_noise", FormatDouble(s.augment_noise));
    h.emplace_back("augment_copies", absl::StrCat(s.augment_copies));
  }
  h.emplace_back("validation_fraction", FormatDouble(s.validation_fraction));
  h.emplace_back("early_stopping_patience",
                 absl::StrCat(s.early_stopping_patience));
  const PipelineOptions& p = s.preprocessing;
  h.emplace_back("numeric_impute",
                 std::string(ImputeStrategyName(p.numeric_impute)));
  h.emplace_back("categorical_impute",
                 std::string(ImputeStrategyName(p.categorical_impute)));
  h.emplace_back("outliers", std::string(OutlierMethodName(p.outliers)));
  h.emplace_back("scaling", std::string(ScalingMethodName(p.scaling)));
  h.emplace_back("max_levels", absl::StrCat(p.max_levels));
  h.emplace_back("seed", absl::StrCat(s.seed));
  return h;
}

}  // namespace

Artifact::Artifact(ModelMetadata metadata, Pipeline pipeline,
                   std::unique_ptr<Model> model)
    : metadata_(std::move(metadata)),
      pipeline_(std::move(pipeline)),
      model_(std::move(model)) {
  for (const InputColumn& c : pipeline_.inputs()) {
    input_types_[c.name] = c.type;
    if (c.type != ColumnType::kNumeric) numeric_inputs_only_ = false;
  }
}

Artifact Artifact::FromTrainResult(TrainResult r, std::string name,
                                   int64_t version) {
  ModelMetadata m;
  m.name = std::move(name);
  m.version = version;
  m.kind = r.model->kind();
  m.target = r.target;
  m.target_type = r.target_type;
  m.class_labels = r.class_labels;
  m.hyperparameters = Hyperparameters(r.spec);
  m.seed = r.spec.seed;
  m.train_metrics = r.train_metrics;
  m.validation_metrics = r.validation_metrics;
  m.rows_total = r.rows_total;
  m.rows_dropped = r.rows_dropped;
  m.rows_train = r.rows_train;
  m.rows_validation = r.rows_validation;
  m.data_checksum = r.data_checksum;
  m.created_unix_micros =
      std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count();
  m.library_version = MODELSERVER_VERSION;
  m.optimizer = std::string(OptimizerKindName(r.optimizer));
  m.epochs_run = r.epochs_run;
  m.early_stopped = r.early_stopped;
  m.training_seconds = r.training_seconds;
  m.resumed_from_epoch = r.resumed_from_epoch;
  m.importance = std::move(r.importance);
  m.rows_oversampled = r.rows_oversampled;
  m.rows_augmented = r.rows_augmented;
  m.class_weights = r.class_weights;
  return Artifact(std::move(m), std::move(r.pipeline), std::move(r.model));
}

absl::StatusOr<Predictions> Artifact::Predict(const Table& table) const {
  ASSIGN_OR_RETURN(Eigen::MatrixXd x, pipeline_.Transform(table));
  return PredictFeatures(x);
}

Predictions Artifact::PredictFeatures(
    const Eigen::Ref<const Eigen::MatrixXd>& x) const {
  Predictions p;
  const Eigen::MatrixXd out = model_->Predict(x);
  if (!IsClassifier(model_->kind())) {
    p.values = out.col(0);
    return p;
  }
  p.probabilities = ClassProbabilities(out);
  p.classes.resize(out.rows());
  for (Eigen::Index i = 0; i < out.rows(); ++i) {
    Eigen::Index arg;
    p.probabilities.row(i).maxCoeff(&arg);
    p.classes[i] = static_cast<int32_t>(arg);
  }
  return p;
}

absl::StatusOr<ExplainedPredictions> Artifact::Explain(
    const Table& table) const {
  RETURN_IF_ERROR(CheckExplainable(model_->kind()));
  ASSIGN_OR_RETURN(Eigen::MatrixXd x, pipeline_.Transform(table));
  return ExplainFeatures(x);
}

absl::StatusOr<ExplainedPredictions> Artifact::ExplainFeatures(
    const Eigen::Ref<const Eigen::MatrixXd>& x) const {
  ExplainedPredictions out;
  ASSIGN_OR_RETURN(out.explanations,
                   ExplainLinear(*model_, pipeline_.output_sources(),
                                 static_cast<int>(pipeline_.inputs().size()),
                                 x));
  out.predictions = PredictFeatures(x);
  return out;
}

absl::StatusOr<Evaluation> Artifact::Evaluate(
    const Table& table, const FeatureImportanceOptions* importance) const {
  if (importance != nullptr) {
    RETURN_IF_ERROR(ValidateImportanceOptions(*importance));
  }
  const Column* target = table.Find(metadata_.target);
  if (target == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("the data has no target column '", metadata_.target,
                     "' to evaluate against"));
  }
  ASSIGN_OR_RETURN(EncodedTarget y, EncodeTarget(*target, model_->kind(),
                                                 metadata_.class_labels));
  Evaluation e;
  e.rows_used = static_cast<int64_t>(y.rows.size());
  e.rows_dropped = table.num_rows() - e.rows_used;
  if (e.rows_used == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "no row has a value for the target '", metadata_.target, "'"));
  }
  ASSIGN_OR_RETURN(Eigen::MatrixXd x,
                   pipeline_.Transform(
                       e.rows_dropped > 0 ? table.SelectRows(y.rows) : table));
  ASSIGN_OR_RETURN(Scores scores,
                   ScoreModelDetailed(*model_, x, y, metadata_.class_labels));
  e.metrics = std::move(scores.metrics);
  e.classification = std::move(scores.classification);
  if (importance != nullptr) {
    std::vector<std::string> columns;
    for (const InputColumn& c : pipeline_.inputs()) columns.push_back(c.name);
    ASSIGN_OR_RETURN(e.importance,
                     PermutationImportance(*model_, x, y.y, y.classes,
                                           pipeline_.output_sources(), columns,
                                           *importance, "evaluation"));
  }
  return e;
}

std::string Artifact::Encode() const {
  ByteWriter payload;
  payload.WriteU32(kSectionMetadata);
  payload.WriteString(EncodeMetadata(metadata_));
  {
    ByteWriter b;
    pipeline_.Encode(&b);
    payload.WriteU32(kSectionPipeline);
    payload.WriteString(b.data());
  }
  {
    ByteWriter b;
    EncodeModel(*model_, &b);
    payload.WriteU32(kSectionModel);
    payload.WriteString(b.data());
  }
  ByteWriter out;
  out.WriteRaw(absl::string_view(kMagic, sizeof(kMagic)));
  out.WriteU32(kArtifactFormatVersion);
  out.WriteU64(payload.data().size());
  out.WriteRaw(payload.data());
  out.WriteU32(Crc32c(out.data()));
  return out.Release();
}

absl::StatusOr<Artifact> Artifact::Decode(absl::string_view bytes) {
  if (bytes.size() < kHeaderSize + kTrailerSize) {
    return absl::DataLossError(
        absl::StrCat("not a model artifact: ", bytes.size(),
                     " bytes is shorter than the smallest artifact"));
  }
  if (std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    return absl::DataLossError("not a model artifact: bad magic bytes");
  }
  ByteReader header(bytes.substr(sizeof(kMagic), 12));
  ASSIGN_OR_RETURN(uint32_t format, header.ReadU32("format version"));
  ASSIGN_OR_RETURN(uint64_t payload_size, header.ReadU64("payload length"));
  if (format == 0 || format > kArtifactFormatVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("artifact format version ", format,
                     " is not supported by this build (it reads 1 to ",
                     kArtifactFormatVersion, ")"));
  }
  const uint64_t expected = kHeaderSize + payload_size + kTrailerSize;
  if (payload_size > bytes.size() || expected != bytes.size()) {
    return absl::DataLossError(absl::StrCat(
        "artifact is truncated or has trailing bytes: its header announces ",
        payload_size > bytes.size() ? payload_size : expected,
        " bytes, the file has ", bytes.size()));
  }
  ByteReader trailer(bytes.substr(bytes.size() - kTrailerSize));
  ASSIGN_OR_RETURN(uint32_t stored_crc, trailer.ReadU32("checksum"));
  const uint32_t actual_crc =
      Crc32c(bytes.substr(0, bytes.size() - kTrailerSize));
  if (stored_crc != actual_crc) {
    return absl::DataLossError(absl::StrCat(
        "artifact checksum mismatch (stored ", absl::Hex(stored_crc),
        ", computed ", absl::Hex(actual_crc), "): the file is corrupted"));
  }
  ByteReader payload(bytes.substr(kHeaderSize, payload_size));
  std::optional<ModelMetadata> metadata;
  std::optional<Pipeline> pipeline;
  std::unique_ptr<Model> model;
  while (!payload.done()) {
    ASSIGN_OR_RETURN(uint32_t tag, payload.ReadU32("section tag"));
    ASSIGN_OR_RETURN(uint64_t size, payload.ReadU64("section length"));
    ASSIGN_OR_RETURN(absl::string_view body, payload.ReadRaw(size, "section"));
    switch (tag) {
      case kSectionMetadata: {
        ASSIGN_OR_RETURN(metadata, DecodeMetadata(body));
        break;
      }
      case kSectionPipeline: {
        ByteReader r(body);
        ASSIGN_OR_RETURN(pipeline, Pipeline::Decode(&r));
        if (!r.done())
          return absl::DataLossError("pipeline section: trailing bytes");
        break;
      }
      case kSectionModel: {
        ByteReader r(body);
        ASSIGN_OR_RETURN(model, DecodeModel(&r));
        if (!r.done())
          return absl::DataLossError("model section: trailing bytes");
        break;
      }
      default:
        break;  // a section from a newer writer: skip
    }
  }
  if (!metadata || !pipeline || model == nullptr) {
    return absl::DataLossError(
        "artifact lacks its metadata, pipeline or model section");
  }
  if (model->num_inputs() != pipeline->num_outputs()) {
    return absl::DataLossError(
        absl::StrCat("artifact is inconsistent: the pipeline makes ",
                     pipeline->num_outputs(), " features, the model takes ",
                     model->num_inputs()));
  }
  if (model->kind() != metadata->kind) {
    return absl::DataLossError(
        "artifact is inconsistent: model kind differs from its metadata");
  }
  if (IsClassifier(model->kind())) {
    const size_t k = metadata->class_labels.size();
    if (k < 2 ||
        static_cast<size_t>(model->num_outputs()) != (k == 2 ? 1 : k)) {
      return absl::DataLossError(
          "artifact is inconsistent: class labels do not match the model's "
          "outputs");
    }
  }
  return Artifact(std::move(*metadata), std::move(*pipeline), std::move(model));
}

}  // namespace modelserver
