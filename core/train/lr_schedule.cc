#include "core/train/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "absl/strings/str_cat.h"

namespace modelserver {
namespace {

constexpr LrScheduleKind kAllKinds[] = {
    LrScheduleKind::kConstant, LrScheduleKind::kStep, LrScheduleKind::kCosine,
    LrScheduleKind::kPlateau};

absl::Status Bad(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("lr_schedule.", field, ": ", why));
}

}  // namespace

absl::string_view LrScheduleKindName(LrScheduleKind kind) {
  switch (kind) {
    case LrScheduleKind::kConstant:
      return "constant";
    case LrScheduleKind::kStep:
      return "step";
    case LrScheduleKind::kCosine:
      return "cosine";
    case LrScheduleKind::kPlateau:
      return "plateau";
  }
  return "unknown";
}

absl::StatusOr<LrScheduleKind> ParseLrScheduleKind(absl::string_view name) {
  for (LrScheduleKind kind : kAllKinds) {
    if (name == LrScheduleKindName(kind)) return kind;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown learning-rate schedule \"", name,
                   "\"; expected one of constant, step, cosine, plateau"));
}

absl::Status ValidateLrScheduleSpec(const LrScheduleSpec& s) {
  switch (s.kind) {
    case LrScheduleKind::kConstant:
      return absl::OkStatus();
    case LrScheduleKind::kStep:
      if (s.step_size < 1) {
        return Bad("step_size",
                   absl::StrCat("must be >= 1, got ", s.step_size));
      }
      if (!(s.gamma > 0 && s.gamma <= 1)) {
        return Bad("gamma", absl::StrCat("must be in (0, 1], got ", s.gamma));
      }
      return absl::OkStatus();
    case LrScheduleKind::kCosine:
    case LrScheduleKind::kPlateau:
      break;
    default:
      return Bad("kind", absl::StrCat("unknown schedule kind ",
                                      static_cast<int>(s.kind)));
  }
  if (!(s.min_learning_rate >= 0) || !std::isfinite(s.min_learning_rate)) {
    return Bad("min_learning_rate",
               absl::StrCat("must be a finite number >= 0, got ",
                            s.min_learning_rate));
  }
  if (s.kind == LrScheduleKind::kCosine) {
    if (s.warmup_epochs < 0) {
      return Bad("warmup_epochs",
                 absl::StrCat("must be >= 0, got ", s.warmup_epochs));
    }
    return absl::OkStatus();
  }
  if (s.patience < 1) {
    return Bad("patience", absl::StrCat("must be >= 1, got ", s.patience));
  }
  if (!(s.factor > 0 && s.factor < 1)) {
    return Bad("factor", absl::StrCat("must be in (0, 1), got ", s.factor));
  }
  return absl::OkStatus();
}

absl::Status ValidateLrScheduleFor(const LrScheduleSpec& s, double base_rate,
                                   int epochs) {
  if (absl::Status st = ValidateLrScheduleSpec(s); !st.ok()) return st;
  if ((s.kind == LrScheduleKind::kCosine ||
       s.kind == LrScheduleKind::kPlateau) &&
      s.min_learning_rate > base_rate) {
    return Bad("min_learning_rate",
               absl::StrCat("must be <= the learning_rate (", base_rate,
                            "), got ", s.min_learning_rate));
  }
  if (s.kind == LrScheduleKind::kCosine && s.warmup_epochs >= epochs) {
    return Bad("warmup_epochs",
               absl::StrCat("must be less than the epochs (", epochs, "), got ",
                            s.warmup_epochs));
  }
  return absl::OkStatus();
}

LrSchedule::LrSchedule(const LrScheduleSpec& spec, double base_rate, int epochs)
    : spec_(spec), base_rate_(base_rate), epochs_(epochs) {
  state_.rate = base_rate;
}

double LrSchedule::Rate(int epoch) const {
  switch (spec_.kind) {
    case LrScheduleKind::kConstant:
      return base_rate_;
    case LrScheduleKind::kStep: {
      const int decays = (epoch - 1) / spec_.step_size;
      return decays == 0 ? base_rate_
                         : base_rate_ * std::pow(spec_.gamma, decays);
    }
    case LrScheduleKind::kCosine: {
      const int w = spec_.warmup_epochs;
      if (epoch <= w) {
        return base_rate_ * static_cast<double>(epoch) / static_cast<double>(w);
      }
      const int t = epoch - w - 1;
      const int span = epochs_ - w - 1;
      if (span <= 0 || t <= 0) return base_rate_;
      if (t >= span) return spec_.min_learning_rate;
      const double m = spec_.min_learning_rate;
      return m + (base_rate_ - m) *
                     (1.0 + std::cos(std::numbers::pi * static_cast<double>(t) /
                                     static_cast<double>(span))) /
                     2.0;
    }
    case LrScheduleKind::kPlateau:
      return state_.rate;
  }
  return base_rate_;
}

void LrSchedule::Observe(double loss) {
  if (spec_.kind != LrScheduleKind::kPlateau) return;
  if (loss < state_.best_loss) {
    state_.best_loss = loss;
    state_.bad_epochs = 0;
    return;
  }
  if (++state_.bad_epochs >= spec_.patience) {
    state_.rate = std::max(state_.rate * spec_.factor, spec_.min_learning_rate);
    state_.bad_epochs = 0;
  }
}

}  // namespace modelserver
