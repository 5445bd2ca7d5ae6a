// modelctl: the command-line client of modelserver (docs/cli.md).
//
//   modelctl [--server HOST:PORT] [--json] COMMAND ...
//
// Exit status: 0 success; 1 the server or a file reported an error (the
// message is on stderr); 2 usage error.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "client/commands.h"
#include "client/train_flags.h"

namespace modelserver::client {
namespace {

// Binds an optional flag: `out` is set only when the flag is given.
template <typename T>
struct Optional {
  T value{};
  CLI::Option* option = nullptr;
  std::optional<T> get() const {
    return option != nullptr && option->count() > 0 ? std::optional<T>(value)
                                                    : std::nullopt;
  }
};

template <typename T>
CLI::Option* AddOptional(CLI::App* app, const std::string& name, Optional<T>* o,
                         const std::string& help) {
  o->option = app->add_option(name, o->value, help);
  return o->option;
}

int Main(int argc, char** argv) {
  CLI::App app{"modelctl: train, evaluate and predict with a modelserver"};
  app.require_subcommand(1);
  app.fallthrough();  // global flags may follow the command
  const char* env_server = std::getenv("MODELCTL_SERVER");
  std::string server = env_server != nullptr ? env_server : "127.0.0.1:50051";
  bool json = false;
  bool no_progress = false;
  app.add_option("--server", server,
                 "modelserver address (default $MODELCTL_SERVER or "
                 "127.0.0.1:50051)");
  ConnectOptions connect;
  auto env = [](const char* name) {
    const char* value = std::getenv(name);
    return std::string(value != nullptr ? value : "");
  };
  connect.ca_file = env("MODELCTL_TLS_CA");
  connect.cert_file = env("MODELCTL_TLS_CERT");
  connect.key_file = env("MODELCTL_TLS_KEY");
  connect.token = env("MODELCTL_TOKEN");
  std::string token_file = env("MODELCTL_TOKEN_FILE");
  app.add_flag("--tls", connect.tls,
               "connect with TLS, checking the server against the system's "
               "CA certificates (implied by the --tls-* files)");
  app.add_option("--tls-ca", connect.ca_file,
                 "PEM CA certificate that signed the server's certificate "
                 "(default $MODELCTL_TLS_CA)")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-cert", connect.cert_file,
                 "PEM client certificate for mutual TLS (default "
                 "$MODELCTL_TLS_CERT)")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-key", connect.key_file,
                 "PEM private key of --tls-cert (default $MODELCTL_TLS_KEY)")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-server-name", connect.server_name,
                 "name the server's certificate must carry (default: the "
                 "host of --server)");
  app.add_option("--token-file", token_file,
                 "file holding the bearer token sent on every call (default "
                 "$MODELCTL_TOKEN_FILE; $MODELCTL_TOKEN holds the token "
                 "itself)")
      ->check(CLI::ExistingFile);
  app.add_flag("--json", json, "print one JSON object on stdout");
  app.add_flag("--no-progress", no_progress,
               "no progress bars (they are drawn only on a terminal)");

  std::string name, data, output, job_id;
  int64_t version = 0;
  std::vector<std::string> types;
  TrainFlags tf;
  Optional<int> epochs, batch_size, patience, max_levels;
  Optional<double> learning_rate, l1, l2, validation_split, momentum;
  Optional<uint64_t> seed;
  bool detach = false;

  CLI::App* train = app.add_subcommand("train", "train a new model version");
  train->add_option("--name", name, "model name")->required();
  train->add_option("--data", data, "training CSV file")->required();
  train->add_option("--target", tf.target, "column to predict")->required();
  train->add_option("--task", tf.task,
                    "regression|classification "
                    "(default: from the target column)");
  train->add_option("--model", tf.model,
                    "linear|logistic|mlp (default: linear for regression, "
                    "logistic for classification)");
  train->add_option("--optimizer", tf.optimizer,
                    "exact|lbfgs|sgd|adam (default: the best for the model)");
  AddOptional(train, "--epochs", &epochs, "training epochs");
  AddOptional(train, "--batch-size", &batch_size, "mini-batch size");
  AddOptional(train, "--learning-rate", &learning_rate, "step size");
  AddOptional(train, "--l1", &l1, "L1 penalty");
  AddOptional(train, "--l2", &l2, "L2 penalty");
  train->add_option("--hidden", tf.hidden, "MLP hidden layers, e.g. 64,32");
  train->add_option("--activation", tf.activation, "relu|tanh|sigmoid");
  AddOptional(train, "--validation-split", &validation_split,
              "fraction of rows held out for validation");
  AddOptional(train, "--early-stopping-patience", &patience,
              "epochs without validation improvement before stopping");
  AddOptional(train, "--seed", &seed, "random seed");
  AddOptional(train, "--momentum", &momentum, "SGD momentum");
  train->add_flag("--nesterov", tf.nesterov, "Nesterov momentum (SGD)");
  train->add_option("--features", tf.features,
                    "columns to use, e.g. a,b,c (default: all but the target)");
  train->add_option("--scaling", tf.scaling, "standard|minmax|none");
  train->add_option("--numeric-impute", tf.numeric_impute,
                    "mean|median|most_frequent|constant");
  train->add_option("--categorical-impute", tf.categorical_impute,
                    "most_frequent|constant");
  train->add_option("--outliers", tf.outliers, "none|quantile|zscore");
  AddOptional(train, "--max-levels", &max_levels,
              "one-hot columns per categorical column");
  train->add_option("--lr-schedule", tf.lr_schedule,
                    "constant|step|cosine|plateau: how the learning rate "
                    "changes per epoch (SGD, Adam; default constant)");
  Optional<int> lr_step_size, lr_warmup_epochs, lr_patience, checkpoint_every;
  Optional<double> lr_gamma, lr_min, lr_factor;
  AddOptional(train, "--lr-step-size", &lr_step_size,
              "step: epochs between decays (default 10)");
  AddOptional(train, "--lr-gamma", &lr_gamma,
              "step: factor per decay, in (0, 1] (default 0.5)");
  AddOptional(train, "--lr-min", &lr_min,
              "cosine, plateau: lowest rate (default 0)");
  AddOptional(train, "--lr-warmup-epochs", &lr_warmup_epochs,
              "cosine: epochs of linear warm-up (default 0)");
  AddOptional(train, "--lr-patience", &lr_patience,
              "plateau: epochs without improvement before a decay "
              "(default 5)");
  AddOptional(train, "--lr-factor", &lr_factor,
              "plateau: factor per decay, in (0, 1) (default 0.5)");
  AddOptional(train, "--checkpoint-every", &checkpoint_every,
              "SGD/Adam: save the training state every N epochs so that the "
              "job resumes after a server restart (default 10, 0 = never)");
  train->add_option("--type", types,
                    "column type override COLUMN=numeric|categorical|date "
                    "(repeatable)");
  train->add_flag("--detach", detach,
                  "print the job id and return; the job keeps running");
  Optional<int> importance_repeats;
  Optional<int64_t> importance_max_rows;
  AddOptional(train, "--importance-repeats", &importance_repeats,
              "permutation importance after training: shuffles per column "
              "(default 5, 0 = off)");
  AddOptional(train, "--importance-max-rows", &importance_max_rows,
              "permutation importance uses at most this many rows (default "
              "10000)");
  // Class rebalancing, augmentation, promotion gates (docs/cli.md).
  PromotionFlags& pf = tf.promotion;
  Optional<double> augment_noise, holdout_fraction;
  Optional<int> augment_copies;
  train->add_option("--class-weight", pf.class_weight,
                    "classifiers: none|balanced|LABEL=W,LABEL=W,...");
  train->add_option("--rebalance", pf.rebalance,
                    "classifiers: none|oversample (minority classes' "
                    "training rows replicated up to the majority's count)");
  AddOptional(train, "--augment-noise", &augment_noise,
              "Gaussian noise on numeric features, in units of each "
              "feature's standard deviation (0 = off)");
  AddOptional(train, "--augment-copies", &augment_copies,
              "noisy copies of the training rows (default 1 with noise)");
  train->add_option("--holdout", pf.holdout,
                    "gate: CSV file of holdout rows");
  AddOptional(train, "--holdout-fraction", &holdout_fraction,
              "gate: fraction of the data held out, in (0, 0.9]");
  train->add_option("--gate", pf.gates,
                    "gate condition, e.g. 'f1_macro>=0.9' (repeatable)");
  train->add_option("--gate-better-than", pf.gate_better_than,
                    "gate: beat the version with this label on the holdout");
  train->add_option("--gate-metric", pf.gate_metric,
                    "gate: metric for --gate-better-than (default r2 or "
                    "accuracy)");
  train->add_option("--promote-label", pf.promote_label,
                    "gate: the label the new version gets when it passes");

  CLI::App* evaluate =
      app.add_subcommand("evaluate", "score a model on labelled data");
  evaluate->add_option("--name", name, "model name")->required();
  std::string label;
  evaluate->add_option("--version", version, "version (default: latest)");
  evaluate->add_option("--label", label,
                       "the version with this label (instead of --version)");
  evaluate->add_option("--data", data, "labelled CSV file")->required();
  evaluate->add_option("--type", types, "column type override (repeatable)");
  EvaluateOptions eval_options;
  evaluate->add_flag("--importance", eval_options.importance,
                     "also permutation feature importance on the data");
  evaluate->add_option("--importance-repeats", eval_options.importance_repeats,
                       "with --importance: shuffles per column (default 5)");

  CLI::App* predict = app.add_subcommand("predict", "predict rows of a CSV");
  predict->add_option("--name", name, "model name")->required();
  predict->add_option("--version", version, "version (default: latest)");
  predict->add_option("--label", label,
                      "the version with this label (instead of --version)");
  predict->add_option("--data", data, "CSV file of raw rows")->required();
  predict->add_option("--output", output,
                      "write the input CSV with prediction columns appended");
  bool explain = false;
  predict->add_flag("--explain", explain,
                    "print each prediction's contribution per input column "
                    "(linear and logistic models)");

  CLI::App* list = app.add_subcommand("list", "list models");
  CLI::App* get = app.add_subcommand("get", "show a model's versions");
  get->add_option("name", name, "model name")->required();
  get->add_option("--version", version, "only this version");
  CLI::App* del = app.add_subcommand("delete", "delete a model or a version");
  del->add_option("name", name, "model name")->required();
  del->add_option("--version", version, "only this version (default: all)");
  CLI::App* set_label = app.add_subcommand(
      "label", "point a label (stable, canary, ...) at a version");
  set_label->add_option("name", name, "model name")->required();
  set_label->add_option("label", label, "label")->required();
  set_label->add_option("version", version, "version")->required();
  CLI::App* unlabel = app.add_subcommand("unlabel", "remove a label");
  unlabel->add_option("name", name, "model name")->required();
  unlabel->add_option("label", label, "label")->required();
  std::string service;
  CLI::App* health = app.add_subcommand(
      "health", "gRPC health check: exit 0 if SERVING, 1 otherwise");
  health->add_option("--service", service,
                     "service to check (default: the whole server)");
  CLI::App* jobs = app.add_subcommand("jobs", "list training jobs");
  CLI::App* watch = app.add_subcommand("watch", "follow a training job");
  watch->add_option("job", job_id, "job id")->required();
  CLI::App* cancel = app.add_subcommand("cancel", "cancel a training job");
  cancel->add_option("job", job_id, "job id")->required();

  // Hyperparameter search (docs/tuning.md).
  TuneFlags tuf;
  Optional<int> tune_folds, tune_trials, tune_batch, tune_patience;
  Optional<uint64_t> tune_seed;
  CLI::App* tune = app.add_subcommand(
      "tune", "search hyperparameters by k-fold cross-validation and publish "
              "the best as a new version");
  tune->add_option("--name", name, "model name")->required();
  tune->add_option("--data", data, "training CSV file")->required();
  tune->add_option("--target", tuf.base.target, "column to predict")
      ->required();
  tune->add_option("--task", tuf.base.task, "regression|classification");
  tune->add_option("--features", tuf.base.features,
                   "input columns, comma-separated (default: all but target)");
  tune->add_option("--optimizer", tuf.base.optimizer,
                   "exact|lbfgs|sgd|adam (default: the best per model)");
  tune->add_option("--activation", tuf.base.activation, "relu|tanh|sigmoid");
  AddOptional(tune, "--batch-size", &tune_batch, "mini-batch size");
  AddOptional(tune, "--early-stopping-patience", &tune_patience,
              "epochs without improvement before stopping (0 = off)");
  tune->add_option("--model", tuf.models,
                   "models to try, e.g. linear,mlp (logistic,mlp for "
                   "classification)");
  tune->add_option("--learning-rate", tuf.learning_rate,
                   "values 0.001,0.01 or (random) a range 1e-4:1e-1[:log]");
  tune->add_option("--l1", tuf.l1, "L1 values, or (random) a range");
  tune->add_option("--l2", tuf.l2, "L2 values, or (random) a range");
  tune->add_option("--hidden-layers", tuf.hidden_layers,
                   "one MLP layer list to try, e.g. 64,32 (repeatable)");
  tune->add_option("--epochs", tuf.epochs, "epoch counts to try, e.g. 50,200");
  tune->add_option("--scaling", tuf.scaling,
                   "scalings to try: standard,minmax,none");
  tune->add_option("--mode", tuf.mode, "grid (default) | random");
  AddOptional(tune, "--folds", &tune_folds, "k of k-fold CV (default 5)");
  AddOptional(tune, "--trials", &tune_trials,
              "trials to run (default: the grid's size; 20 for random)");
  tune->add_option("--time-budget", tuf.time_budget,
                   "search time limit, e.g. 60s, 5m (default: none)");
  tune->add_option("--metric", tuf.metric,
                   "metric to optimise (default r2 / accuracy)");
  AddOptional(tune, "--seed", &tune_seed,
              "seed of the random draws and of every training");
  tune->add_option("--type", types,
                   "column type override COLUMN=numeric|categorical|date "
                   "(repeatable)");
  tune->add_flag("--detach", detach,
                 "print the job id and return; the job keeps running");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  tf.epochs = epochs.get();
  tf.batch_size = batch_size.get();
  tf.early_stopping_patience = patience.get();
  tf.max_levels = max_levels.get();
  tf.learning_rate = learning_rate.get();
  tf.l1 = l1.get();
  tf.l2 = l2.get();
  tf.validation_split = validation_split.get();
  tf.momentum = momentum.get();
  tf.seed = seed.get();
  tf.lr_step_size = lr_step_size.get();
  tf.lr_gamma = lr_gamma.get();
  tf.lr_min = lr_min.get();
  tf.lr_warmup_epochs = lr_warmup_epochs.get();
  tf.lr_patience = lr_patience.get();
  tf.lr_factor = lr_factor.get();
  tf.checkpoint_every = checkpoint_every.get();
  tf.importance_repeats = importance_repeats.get();
  tf.importance_max_rows = importance_max_rows.get();
  pf.augment_noise = augment_noise.get();
  pf.augment_copies = augment_copies.get();
  pf.holdout_fraction = holdout_fraction.get();
  tuf.folds = tune_folds.get();
  tuf.trials = tune_trials.get();
  tuf.base.batch_size = tune_batch.get();
  tuf.base.early_stopping_patience = tune_patience.get();
  tuf.search_seed = tune_seed.get();

  Context c;
  connect.address = server;
  if (!token_file.empty()) {
    std::ifstream in(token_file);
    std::string token;
    if (!in || !std::getline(in, token)) {
      std::cerr << "modelctl: cannot read a token from '" << token_file
                << "'\n";
      return 2;
    }
    connect.token = std::string(absl::StripAsciiWhitespace(token));
  }
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = Connect(connect);
  if (!channel.ok()) {
    std::cerr << "modelctl: " << channel.status().message() << "\n";
    return 2;
  }
  c.channel = *std::move(channel);
  c.stub = v1::ModelService::NewStub(c.channel);
  c.json = json;
  c.progress = !no_progress && isatty(STDERR_FILENO) == 1;
  c.out = &std::cout;
  c.err = &std::cerr;
  const DataFlags data_flags{data, types};
  if (*train) return Train(c, name, data_flags, tf, detach);
  if (*tune) return Tune(c, name, data_flags, tuf, detach);
  const VersionRef ref{version, label};
  if (*evaluate) return Evaluate(c, name, ref, data_flags, eval_options);
  if (*predict) return Predict(c, name, ref, data, output, explain);
  if (*set_label) return SetLabel(c, name, label, version);
  if (*unlabel) return RemoveLabel(c, name, label);
  if (*health) return Health(c, service);
  if (*list) return List(c);
  if (*get) return Get(c, name, version);
  if (*del) return Delete(c, name, version);
  if (*jobs) return Jobs(c);
  if (*watch) return Watch(c, job_id);
  if (*cancel) return Cancel(c, job_id);
  return 2;
}

}  // namespace
}  // namespace modelserver::client

int main(int argc, char** argv) {
  return modelserver::client::Main(argc, argv);
}
