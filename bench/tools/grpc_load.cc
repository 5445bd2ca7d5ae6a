// grpc_load: a gRPC load generator for unary methods (bench/serving.py).
// It sends the same serialized request bytes to any server through gRPC's
// generic async API, so that modelserver and the echo baselines are driven
// by exactly the same client work.
//
//   grpc_load request --csv F --model NAME --rows N --out FILE
//       [--drop COLUMN] [--form rows|columns]
//       writes a serialized PredictRequest: N rows (the CSV's data rows,
//       cycled) in the `rows` form (or `columns`: packed), numbers as
//       numbers, other fields as text.
//   grpc_load call --target HOST:PORT --request FILE --out FILE
//       one call; writes the reply bytes (to size the echo servers' reply).
//   grpc_load run --target HOST:PORT --request FILE [--concurrency C]
//       [--rate QPS] [--seconds S] [--warmup S] [--channels K]
//       closed loop with C calls in flight, or (--rate) an open loop that
//       starts calls on a fixed schedule and measures each from its
//       scheduled time. Prints one JSON object: sent, ok, failed, qps,
//       p50_us, p90_us, p99_us, p999_us, max_us (of the measured calls),
//       total_ok (every call that succeeded, warm-up included) and dropped
//       (open loop: scheduled calls skipped while 4,096 were in flight).
//       Exit status 1 when a call failed.
//
// Method: /modelserver.v1.ModelService/Predict (--method to change).
#include <sys/prctl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "modelserver/v1/model_service.pb.h"

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "grpc_load: %s\n", message.c_str());
  std::exit(2);
}

std::map<std::string, std::string> ParseFlags(int argc, char** argv,
                                              int first) {
  std::map<std::string, std::string> flags;
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0 || i + 1 >= argc) Die("bad flag " + a);
    flags[a.substr(2)] = argv[++i];
  }
  return flags;
}

std::string Flag(const std::map<std::string, std::string>& f,
                 const std::string& name, const std::string& fallback = "") {
  auto it = f.find(name);
  if (it != f.end()) return it->second;
  if (fallback.empty()) Die("missing --" + name);
  return fallback;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Die("cannot read " + path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
  if (!out) Die("cannot write " + path);
}

int MakeRequest(const std::map<std::string, std::string>& f) {
  std::istringstream csv(ReadFile(Flag(f, "csv")));
  std::string line;
  std::getline(csv, line);
  modelserver::v1::PredictRequest req;
  req.set_name(Flag(f, "model"));
  auto* rows = req.mutable_rows();
  for (absl::string_view h : absl::StrSplit(line, ',')) {
    rows->add_columns(std::string(absl::StripAsciiWhitespace(h)));
  }
  std::vector<std::string> data;
  while (std::getline(csv, line)) {
    if (!line.empty()) data.push_back(line);
  }
  if (data.empty()) Die("no data rows");
  int n = 0;
  if (!absl::SimpleAtoi(Flag(f, "rows", "1"), &n) || n < 1) Die("bad --rows");
  const std::string drop = f.count("drop") ? f.at("drop") : "";
  for (int i = 0; i < n; ++i) {
    auto* row = rows->add_rows();
    for (absl::string_view v : absl::StrSplit(data[i % data.size()], ',')) {
      double d;
      if (absl::SimpleAtod(v, &d)) {
        row->add_values()->set_number(d);
      } else {
        row->add_values()->set_text(std::string(v));
      }
    }
  }
  // --drop COLUMN removes a column (the target) from the request.
  if (!drop.empty()) {
    int at = -1;
    for (int c = 0; c < rows->columns_size(); ++c) {
      if (rows->columns(c) == drop) at = c;
    }
    if (at < 0) Die("no column " + drop);
    rows->mutable_columns()->erase(rows->mutable_columns()->begin() + at);
    for (auto& r : *rows->mutable_rows()) {
      r.mutable_values()->erase(r.mutable_values()->begin() + at);
    }
  }
  // --form columns: the same values as ColumnarRows (packed numbers).
  if (Flag(f, "form", "rows") == "columns") {
    modelserver::v1::PredictRequest columnar;
    columnar.set_name(req.name());
    for (int c = 0; c < rows->columns_size(); ++c) {
      auto* col = columnar.mutable_columns()->add_columns();
      col->set_name(rows->columns(c));
      for (const auto& r : rows->rows()) {
        if (r.values(c).has_text()) {
          col->add_texts(r.values(c).text());
        } else {
          col->add_numbers(r.values(c).number());
        }
      }
    }
    req = std::move(columnar);
  }
  WriteFile(Flag(f, "out"), req.SerializeAsString());
  return 0;
}

std::shared_ptr<grpc::Channel> Channel(const std::string& target, int id) {
  grpc::ChannelArguments args;
  args.SetInt("grpc.bench_channel_id", id);  // distinct connections
  args.SetMaxReceiveMessageSize(256 << 20);
  args.SetMaxSendMessageSize(256 << 20);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(),
                                   args);
}

grpc::ByteBuffer ToBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

int OneCall(const std::map<std::string, std::string>& f) {
  grpc::GenericStub stub(Channel(Flag(f, "target"), 0));
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  grpc::ByteBuffer reply;
  grpc::Status status;
  auto call = stub.PrepareUnaryCall(
      &ctx, Flag(f, "method", "/modelserver.v1.ModelService/Predict"),
      ToBuffer(ReadFile(Flag(f, "request"))), &cq);
  call->StartCall();
  call->Finish(&reply, &status, nullptr);
  void* tag;
  bool ok;
  cq.Next(&tag, &ok);
  if (!status.ok()) Die("call failed: " + status.error_message());
  std::vector<grpc::Slice> slices;
  (void)reply.Dump(&slices);
  std::string bytes;
  for (const auto& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  WriteFile(Flag(f, "out"), bytes);
  return 0;
}

struct Call {
  grpc::ClientContext ctx;
  grpc::ByteBuffer reply;
  grpc::Status status;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> rpc;
  Clock::time_point start;  // scheduled (open loop) or actual start
  bool measured = false;    // started after the warm-up
};

int Run(const std::map<std::string, std::string>& f) {
  const std::string target = Flag(f, "target");
  const std::string method =
      Flag(f, "method", "/modelserver.v1.ModelService/Predict");
  const grpc::ByteBuffer request = ToBuffer(ReadFile(Flag(f, "request")));
  int concurrency = 1, channels = 0;
  double rate = 0, seconds = 2, warmup = 0.5;
  if (!absl::SimpleAtoi(Flag(f, "concurrency", "1"), &concurrency) ||
      !absl::SimpleAtod(Flag(f, "rate", "0"), &rate) ||
      !absl::SimpleAtod(Flag(f, "seconds", "2"), &seconds) ||
      !absl::SimpleAtod(Flag(f, "warmup", "0.5"), &warmup) ||
      !absl::SimpleAtoi(Flag(f, "channels", "0"), &channels)) {
    Die("bad number");
  }
  if (channels <= 0) channels = std::min(concurrency, 2);
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs;
  for (int i = 0; i < channels; ++i) {
    auto ch = Channel(target, i);
    if (!ch->WaitForConnected(std::chrono::system_clock::now() +
                              std::chrono::seconds(10))) {
      Die("cannot connect to " + target);
    }
    stubs.push_back(std::make_unique<grpc::GenericStub>(ch));
  }
  grpc::CompletionQueue cq;
  const Clock::time_point t0 = Clock::now();
  const Clock::time_point measure_from =
      t0 + std::chrono::microseconds(static_cast<int64_t>(warmup * 1e6));
  const Clock::time_point stop =
      measure_from +
      std::chrono::microseconds(static_cast<int64_t>(seconds * 1e6));
  std::vector<int64_t> latencies;
  latencies.reserve(1 << 20);
  std::atomic<int64_t> sent{0}, in_flight{0};
  int64_t ok_count = 0, failed = 0, next_stub = 0;
  int64_t total_ok = 0;  // warm-up included: what the server counted
  int64_t dropped = 0;   // open loop: not started, 4096 calls in flight
  // Called from one thread at a time (the main loop, or the sender thread
  // in open-loop mode); gRPC's StartCall may race with the CQ's Next.
  auto start_call = [&](Clock::time_point scheduled) {
    auto* c = new Call;
    c->start = scheduled;
    c->measured = scheduled >= measure_from;
    c->rpc = stubs[next_stub++ % channels]->PrepareUnaryCall(&c->ctx, method,
                                                             request, &cq);
    in_flight.fetch_add(1);
    if (c->measured) sent.fetch_add(1);
    c->rpc->StartCall();
    c->rpc->Finish(&c->reply, &c->status, c);
  };
  auto finish_call = [&](Call* c) {
    const Clock::time_point now = Clock::now();
    if (c->status.ok()) ++total_ok;
    if (c->measured && c->start < stop) {
      if (c->status.ok()) {
        ++ok_count;
        latencies.push_back(
            std::chrono::duration_cast<std::chrono::nanoseconds>(now - c->start)
                .count());
      } else {
        ++failed;
        if (failed <= 3) {
          std::fprintf(stderr, "grpc_load: %s\n",
                       c->status.error_message().c_str());
        }
      }
    }
    in_flight.fetch_sub(1);
    delete c;
  };
  void* tag;
  bool ok;
  if (rate <= 0) {
    for (int i = 0; i < concurrency; ++i) start_call(Clock::now());
    while (in_flight.load() > 0) {
      cq.Next(&tag, &ok);
      finish_call(static_cast<Call*>(tag));
      const Clock::time_point now = Clock::now();
      if (now < stop) start_call(now);
    }
  } else {
    // Open loop: a sender thread starts calls on schedule (sleeping with a
    // 1 ns timer slack, not on gRPC's millisecond timers); latency counts
    // from the scheduled time, so a late start is not hidden.
    std::atomic<bool> sender_done{false};
    std::thread sender([&] {
      prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
      const auto period =
          std::chrono::nanoseconds(static_cast<int64_t>(1e9 / rate));
      for (Clock::time_point next = t0; next < stop; next += period) {
        std::this_thread::sleep_until(next);
        if (in_flight.load() >= 4096) {
          ++dropped;
          continue;
        }
        start_call(next);
      }
      sender_done.store(true);
    });
    while (!sender_done.load() || in_flight.load() > 0) {
      const auto deadline =
          std::chrono::system_clock::now() + std::chrono::milliseconds(50);
      if (cq.AsyncNext(&tag, &ok, deadline) ==
          grpc::CompletionQueue::GOT_EVENT) {
        finish_call(static_cast<Call*>(tag));
      }
    }
    sender.join();
  }
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) -> double {
    if (latencies.empty()) return 0;
    const size_t i = std::min(latencies.size() - 1,
                              static_cast<size_t>(p * latencies.size()));
    return latencies[i] / 1e3;
  };
  std::printf(
      "{\"sent\": %lld, \"ok\": %lld, \"failed\": %lld, \"qps\": %.1f, "
      "\"p50_us\": %.1f, \"p90_us\": %.1f, \"p99_us\": %.1f, \"p999_us\": "
      "%.1f, \"max_us\": %.1f, \"concurrency\": %d, \"rate\": %.1f, "
      "\"channels\": %d, \"total_ok\": %lld, \"dropped\": %lld}\n",
      static_cast<long long>(sent.load()), static_cast<long long>(ok_count),
      static_cast<long long>(failed), ok_count / seconds, pct(0.5), pct(0.9),
      pct(0.99), pct(0.999), latencies.empty() ? 0 : latencies.back() / 1e3,
      concurrency, rate, channels, static_cast<long long>(total_ok),
      static_cast<long long>(dropped));
  return failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  // Abseil's deadlock detection (on in Debian's build) costs the client CPU
  // that the server would otherwise get; server/main.cc turns it off too.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  if (argc < 2) Die("usage: grpc_load request|call|run --flag value ...");
  const std::string mode = argv[1];
  const auto flags = ParseFlags(argc, argv, 2);
  if (mode == "request") return MakeRequest(flags);
  if (mode == "call") return OneCall(flags);
  if (mode == "run") return Run(flags);
  Die("unknown mode " + mode);
}
