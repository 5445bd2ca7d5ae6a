// Tokens and roles (server/auth.h) and TLS file checks (server/tls.h).
#include "server/auth.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/tls.h"

namespace modelserver::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kTokens[] =
    "# role token\n"
    "admin   admin-token-0123456789\n"
    "\n"
    "predict\tpredict-token-0123456789\n"
    "metrics metrics-token-0123456789\n";

TEST(AuthenticatorTest, RolesGrantTheirAccessOnly) {
  auto auth = Authenticator::Parse(kTokens, "tokens");
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_EQ((*auth)->size(), 3u);
  struct Case {
    const char* header;
    Access access;
    absl::StatusCode code;
  };
  const Case cases[] = {
      {"Bearer admin-token-0123456789", Access::kWrite, absl::StatusCode::kOk},
      {"Bearer admin-token-0123456789", Access::kRead, absl::StatusCode::kOk},
      {"Bearer admin-token-0123456789", Access::kMetrics, absl::StatusCode::kOk},
      {"bearer predict-token-0123456789", Access::kRead, absl::StatusCode::kOk},
      {"Bearer predict-token-0123456789", Access::kWrite,
       absl::StatusCode::kPermissionDenied},
      {"Bearer predict-token-0123456789", Access::kMetrics,
       absl::StatusCode::kPermissionDenied},
      {"Bearer metrics-token-0123456789", Access::kMetrics, absl::StatusCode::kOk},
      {"Bearer metrics-token-0123456789", Access::kRead,
       absl::StatusCode::kPermissionDenied},
      {"", Access::kRead, absl::StatusCode::kUnauthenticated},
      {"", Access::kOpen, absl::StatusCode::kOk},
      {"Bearer wrong-token-0123456789x", Access::kRead,
       absl::StatusCode::kUnauthenticated},
      // One character short / long of a real token.
      {"Bearer admin-token-012345678", Access::kRead,
       absl::StatusCode::kUnauthenticated},
      {"Bearer admin-token-01234567890", Access::kRead,
       absl::StatusCode::kUnauthenticated},
      {"Basic YWRtaW46eA==", Access::kRead, absl::StatusCode::kUnauthenticated},
      {"admin-token-0123456789", Access::kRead,
       absl::StatusCode::kUnauthenticated},
  };
  for (const Case& c : cases) {
    EXPECT_EQ((*auth)->Check(c.header, c.access, "Train").code(), c.code)
        << c.header;
  }
  absl::Status denied = (*auth)->Check("Bearer predict-token-0123456789",
                                       Access::kWrite, "Train");
  EXPECT_EQ(denied.message(),
            "Train: a token of role predict may not do this; it needs role "
            "admin");
  absl::Status missing = (*auth)->Check("", Access::kRead, "Predict");
  EXPECT_EQ(missing.message(),
            "Predict: no token; send the header \"authorization: Bearer "
            "<token>\"");
  // The token never appears in an error.
  absl::Status unknown =
      (*auth)->Check("Bearer secret-guess-0123456789", Access::kRead, "x");
  EXPECT_THAT(std::string(unknown.message()), Not(HasSubstr("secret")));
  EXPECT_TRUE((*auth)->CheckToken("metrics-token-0123456789", Access::kMetrics,
                                  "GET /metrics")
                  .ok());
}

TEST(AuthenticatorTest, BadFilesNameTheLine) {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"root admin-token-0123456789\n",
       "tokens line 1: unknown role 'root'; roles are admin, predict, metrics"},
      {"admin\n", "tokens line 1: expected \"<role> <token>\""},
      {"# c\nadmin a b\n", "tokens line 2: expected \"<role> <token>\""},
      {"admin short\n",
       "tokens line 1: a token must have 16 to 512 characters, this one has 5"},
      {"admin admin-token-0123456789\npredict admin-token-0123456789\n",
       "tokens line 2: duplicate token"},
      {"admin t\x01oken-0123456789012\n",
       "tokens line 1: a token must be printable ASCII without spaces"},
      {"# only comments\n\n", "tokens: no tokens (lines \"<role> <token>\")"},
  };
  for (const Case& c : cases) {
    auto auth = Authenticator::Parse(c.text, "tokens");
    ASSERT_FALSE(auth.ok()) << c.text;
    EXPECT_EQ(auth.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(auth.status().message(), c.message);
  }
  auto missing = Authenticator::Load("/nonexistent/tokens");
  EXPECT_EQ(missing.status().message(),
            "--auth-token-file '/nonexistent/tokens' cannot be read");
}

TEST(AuthenticatorTest, EveryRpcHasItsAccess) {
  EXPECT_EQ(AccessOf(Rpc::kServerLive), Access::kOpen);
  EXPECT_EQ(AccessOf(Rpc::kServerReady), Access::kOpen);
  for (Rpc rpc : {Rpc::kTrain, Rpc::kUploadDataset, Rpc::kCancelJob,
                  Rpc::kDeleteModel, Rpc::kSetLabel, Rpc::kRemoveLabel,
                  Rpc::kTune}) {
    EXPECT_EQ(AccessOf(rpc), Access::kWrite) << RpcName(rpc);
  }
  for (Rpc rpc : {Rpc::kPredict, Rpc::kEvaluate, Rpc::kListModels,
                  Rpc::kGetModel, Rpc::kGetJob, Rpc::kListJobs, Rpc::kWatchJob,
                  Rpc::kModelInfer, Rpc::kModelMetadata, Rpc::kModelReady,
                  Rpc::kServerMetadata}) {
    EXPECT_EQ(AccessOf(rpc), Access::kRead) << RpcName(rpc);
  }
}

std::string Tls(const char* name) {
  return std::string(MODELSERVER_TEST_DATA_DIR) + "/tls/" + name;
}

TEST(TlsTest, LoadChecksEveryFile) {
  TlsOptions good{Tls("server.pem"), Tls("server.key"), Tls("ca.pem")};
  absl::StatusOr<TlsMaterial> m = LoadTls(good);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_THAT(m->cert_chain, HasSubstr("BEGIN CERTIFICATE"));
  EXPECT_THAT(m->private_key, HasSubstr("PRIVATE KEY"));
  EXPECT_THAT(m->client_ca, HasSubstr("BEGIN CERTIFICATE"));

  struct Case {
    TlsOptions options;
    std::string message;
  };
  const Case cases[] = {
      {{Tls("server.pem"), "", ""},
       "--tls-cert and --tls-key go together: give both or neither"},
      {{"", "", Tls("ca.pem")},
       "--tls-client-ca needs --tls-cert and --tls-key"},
      {{Tls("absent.pem"), Tls("server.key"), ""},
       "--tls-cert '" + Tls("absent.pem") + "' cannot be read"},
      {{Tls("server.key"), Tls("server.key"), ""},
       "--tls-cert '" + Tls("server.key") + "' holds no PEM certificate"},
      {{Tls("server.pem"), Tls("server.pem"), ""},
       "--tls-key '" + Tls("server.pem") + "' holds no PEM private key"},
      {{Tls("server.pem"), Tls("client.key"), ""},
       "--tls-key '" + Tls("client.key") +
           "' is not the key of the certificate in --tls-cert '" +
           Tls("server.pem") + "'"},
      {{Tls("server.pem"), Tls("server.key"), Tls("server.key")},
       "--tls-client-ca '" + Tls("server.key") + "' holds no PEM certificate"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<TlsMaterial> bad = LoadTls(c.options);
    ASSERT_FALSE(bad.ok()) << c.message;
    EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(bad.status().message()), HasSubstr(c.message));
  }
}

}  // namespace
}  // namespace modelserver::server
