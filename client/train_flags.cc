#include "client/train_flags.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace modelserver::client {
namespace {

// Looks `name` up in `table`; "" maps to the first entry (unspecified).
template <typename Enum>
absl::StatusOr<Enum> Lookup(
    absl::string_view flag, absl::string_view name,
    std::initializer_list<std::pair<absl::string_view, Enum>> table) {
  std::vector<std::string> known;
  for (const auto& [key, value] : table) {
    if (key == name) return value;
    if (!key.empty()) known.emplace_back(key);
  }
  return absl::InvalidArgumentError(
      absl::StrCat(flag, ": unknown value '", name, "' (expected ",
                   absl::StrJoin(known, ", "), ")"));
}

}  // namespace

absl::StatusOr<v1::TrainOptions> BuildTrainOptions(const TrainFlags& f) {
  v1::TrainOptions o;
  o.set_target(f.target);
  if (!f.features.empty()) {
    for (absl::string_view name : absl::StrSplit(f.features, ',')) {
      name = absl::StripAsciiWhitespace(name);
      if (name.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--features: empty column name in '", f.features, "'"));
      }
      o.add_features(std::string(name));
    }
  }
  auto task = Lookup<v1::Task>("--task", f.task,
                               {{"", v1::TASK_UNSPECIFIED},
                                {"regression", v1::TASK_REGRESSION},
                                {"classification", v1::TASK_CLASSIFICATION}});
  if (!task.ok()) return task.status();
  o.set_task(*task);
  auto model = Lookup<v1::ModelType>("--model", f.model,
                                     {{"", v1::MODEL_TYPE_UNSPECIFIED},
                                      {"linear", v1::MODEL_TYPE_LINEAR},
                                      {"logistic", v1::MODEL_TYPE_LOGISTIC},
                                      {"mlp", v1::MODEL_TYPE_MLP}});
  if (!model.ok()) return model.status();
  o.set_model(*model);
  auto optimizer = Lookup<v1::Optimizer>("--optimizer", f.optimizer,
                                         {{"", v1::OPTIMIZER_UNSPECIFIED},
                                          {"exact", v1::OPTIMIZER_EXACT},
                                          {"lbfgs", v1::OPTIMIZER_LBFGS},
                                          {"sgd", v1::OPTIMIZER_SGD},
                                          {"adam", v1::OPTIMIZER_ADAM}});
  if (!optimizer.ok()) return optimizer.status();
  o.set_optimizer(*optimizer);
  auto activation =
      Lookup<v1::Activation>("--activation", f.activation,
                             {{"", v1::ACTIVATION_UNSPECIFIED},
                              {"relu", v1::ACTIVATION_RELU},
                              {"tanh", v1::ACTIVATION_TANH},
                              {"sigmoid", v1::ACTIVATION_SIGMOID}});
  if (!activation.ok()) return activation.status();
  o.set_activation(*activation);
  if (!f.hidden.empty()) {
    for (absl::string_view part : absl::StrSplit(f.hidden, ',')) {
      int units = 0;
      if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(part), &units) ||
          units <= 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--hidden: '", part,
            "' is not a positive integer (expected sizes like 64,32)"));
      }
      o.add_hidden_layers(units);
    }
  }
  if (f.epochs) o.set_epochs(*f.epochs);
  if (f.batch_size) o.set_batch_size(*f.batch_size);
  if (f.learning_rate) o.set_learning_rate(*f.learning_rate);
  if (f.l1) o.set_l1(*f.l1);
  if (f.l2) o.set_l2(*f.l2);
  if (f.validation_split) o.set_validation_split(*f.validation_split);
  if (f.early_stopping_patience) {
    o.set_early_stopping_patience(*f.early_stopping_patience);
  }
  if (f.seed) o.set_seed(*f.seed);
  if (f.momentum) o.set_momentum(*f.momentum);
  o.set_nesterov(f.nesterov);
  v1::Preprocessing* p = o.mutable_preprocessing();
  p->set_scaling(f.scaling);
  p->set_numeric_impute(f.numeric_impute);
  p->set_categorical_impute(f.categorical_impute);
  p->set_outliers(f.outliers);
  if (f.max_levels) p->set_max_levels(*f.max_levels);
  if (f.importance_repeats) {
    o.set_importance_repeats(*f.importance_repeats);
  }
  if (f.importance_max_rows) {
    o.set_importance_max_rows(*f.importance_max_rows);
  }

  auto schedule = Lookup<v1::LrScheduleKind>(
      "--lr-schedule", f.lr_schedule,
      {{"", v1::LR_SCHEDULE_KIND_UNSPECIFIED},
       {"constant", v1::LR_SCHEDULE_CONSTANT},
       {"step", v1::LR_SCHEDULE_STEP},
       {"cosine", v1::LR_SCHEDULE_COSINE},
       {"plateau", v1::LR_SCHEDULE_PLATEAU}});
  if (!schedule.ok()) return schedule.status();
  // Each setting belongs to one or two schedules.
  auto only = [&](bool given, absl::string_view flag,
                  std::initializer_list<v1::LrScheduleKind> kinds,
                  absl::string_view names) -> absl::Status {
    if (!given) return absl::OkStatus();
    for (v1::LrScheduleKind k : kinds) {
      if (k == *schedule) return absl::OkStatus();
    }
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": applies to --lr-schedule ", names, " only"));
  };
  for (absl::Status s :
       {only(f.lr_step_size.has_value(), "--lr-step-size",
             {v1::LR_SCHEDULE_STEP}, "step"),
        only(f.lr_gamma.has_value(), "--lr-gamma", {v1::LR_SCHEDULE_STEP},
             "step"),
        only(f.lr_min.has_value(), "--lr-min",
             {v1::LR_SCHEDULE_COSINE, v1::LR_SCHEDULE_PLATEAU},
             "cosine or plateau"),
        only(f.lr_warmup_epochs.has_value(), "--lr-warmup-epochs",
             {v1::LR_SCHEDULE_COSINE}, "cosine"),
        only(f.lr_patience.has_value(), "--lr-patience",
             {v1::LR_SCHEDULE_PLATEAU}, "plateau"),
        only(f.lr_factor.has_value(), "--lr-factor", {v1::LR_SCHEDULE_PLATEAU},
             "plateau")}) {
    if (!s.ok()) return s;
  }
  if (*schedule != v1::LR_SCHEDULE_KIND_UNSPECIFIED) {
    v1::LearningRateSchedule* lr = o.mutable_lr_schedule();
    lr->set_kind(*schedule);
    if (f.lr_step_size) lr->set_step_size(*f.lr_step_size);
    if (f.lr_gamma) lr->set_gamma(*f.lr_gamma);
    if (f.lr_min) lr->set_min_learning_rate(*f.lr_min);
    if (f.lr_warmup_epochs) lr->set_warmup_epochs(*f.lr_warmup_epochs);
    if (f.lr_patience) lr->set_patience(*f.lr_patience);
    if (f.lr_factor) lr->set_factor(*f.lr_factor);
  }
  if (f.checkpoint_every) o.set_checkpoint_every_epochs(*f.checkpoint_every);
  return o;
}

absl::Status AddColumnType(
    absl::string_view spec,
    google::protobuf::Map<std::string, v1::ColumnType>* out) {
  const size_t eq = spec.rfind('=');
  if (eq == absl::string_view::npos || eq == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--type: '", spec, "' is not COLUMN=numeric|categorical|date"));
  }
  auto type =
      Lookup<v1::ColumnType>("--type", spec.substr(eq + 1),
                             {{"numeric", v1::COLUMN_TYPE_NUMERIC},
                              {"categorical", v1::COLUMN_TYPE_CATEGORICAL},
                              {"date", v1::COLUMN_TYPE_DATE}});
  if (!type.ok()) return type.status();
  (*out)[std::string(spec.substr(0, eq))] = *type;
  return absl::OkStatus();
}

}  // namespace modelserver::client
