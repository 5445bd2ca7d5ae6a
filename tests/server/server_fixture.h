// Shared by the server tests that run a real Server in process
// (service_test, gate_service_test, explain_service_test,
// checkpoint_service_test): the linear data set they train on, reading a
// Train stream to its end, and a fixture with a Server over a fresh
// temporary model directory.
#ifndef MODELSERVER_TESTS_SERVER_SERVER_FIXTURE_H_
#define MODELSERVER_TESTS_SERVER_SERVER_FIXTURE_H_

#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "modelserver/v1/model_service.grpc.pb.h"
#include "server/server.h"

namespace modelserver::server {

// Rows [from, from + n) of y = 2x + 1 (+ 3 when color is "blue"), x = 0.25 i,
// small deterministic noise; columns x, color, y.
inline v1::InlineRows LinearRows(int from, int n) {
  v1::InlineRows rows;
  rows.add_columns("x");
  rows.add_columns("color");
  rows.add_columns("y");
  for (int i = from; i < from + n; ++i) {
    const double x = i * 0.25;
    const bool blue = i % 3 == 0;
    v1::Row* r = rows.add_rows();
    r->add_values()->set_number(x);
    r->add_values()->set_text(blue ? "blue" : "red");
    r->add_values()->set_number(2 * x + 1 + (blue ? 3 : 0) +
                                0.01 * std::sin(i));
  }
  return rows;
}
inline v1::InlineRows LinearRows(int n) { return LinearRows(0, n); }

// Every event of a Train call, and how it ended.
struct Stream {
  std::vector<v1::TrainEvent> events;
  grpc::Status status;
};

// A Server on 127.0.0.1:0 (gRPC, metrics and REST) with its model directory
// in a fresh temporary directory `dir_` (removed after the test), and a
// ModelService stub to it.
class ServerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/server_test_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    StartServer();
  }
  void TearDown() override {
    stub_.reset();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  // The fixture's own options, applied before `tweak`.
  virtual void Configure(ServerOptions& /*options*/) {}

  // (Re)starts the server; `tweak` may change the options first.
  void StartServer(
      const std::function<void(ServerOptions&)>& tweak = nullptr) {
    ServerOptions o;
    o.listen = "127.0.0.1:0";
    o.metrics_listen = "127.0.0.1:0";
    o.http_listen = "127.0.0.1:0";
    o.model_dir = dir_ + "/models";
    o.data_dir = "";
    Configure(o);
    if (tweak) tweak(o);
    absl::StatusOr<std::unique_ptr<Server>> s = Server::Create(o);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
    ASSERT_GT(server_->port(), 0);
    EXPECT_EQ(server_->address(), absl::StrCat("127.0.0.1:", server_->port()));
    stub_ = v1::ModelService::NewStub(grpc::CreateChannel(
        server_->address(), grpc::InsecureChannelCredentials()));
  }

  // Runs a Train call to its end.
  Stream Train(const v1::TrainRequest& request) {
    grpc::ClientContext ctx;
    Stream out;
    auto reader = stub_->Train(&ctx, request);
    v1::TrainEvent e;
    while (reader->Read(&e)) out.events.push_back(e);
    out.status = reader->Finish();
    return out;
  }

  std::string dir_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<v1::ModelService::Stub> stub_;
};

}  // namespace modelserver::server

#endif  // MODELSERVER_TESTS_SERVER_SERVER_FIXTURE_H_
