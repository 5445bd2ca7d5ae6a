// File: server/auth.cc
#include "server/auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace modelserver::server {
namespace {

constexpr size_t kMinTokenBytes = 16;
constexpr size_t kMaxTokenBytes = 512;

std::array<uint8_t, 32> Digest(absl::string_view token) {
  std::array<uint8_t, 32> out;
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(),
         out.data());
  return out;
}

bool Grants(Role role, Access access) {
  switch (access) {
    case Access::kOpen: return true;
    case Access::kRead: return role == Role::kAdmin || role == Role::kPredict;
    case Access::kWrite: return role == Role::kAdmin;
    case Access::kMetrics: return role == Role::kAdmin || role == Role::kMetrics;
  }
  return false;
}

const char* Needed(Access access) {
  switch (access) {
    case Access::kOpen: return "nothing";
    case Access::kRead: return "role predict or admin";
    case Access::kWrite: return "role admin";
    case Access::kMetrics: return "role metrics or admin";
  }
  return "?";
}

}  // namespace

Access AccessOf(Rpc rpc) {
  switch (rpc) {
    case Rpc::kServerLive:
    case Rpc::kServerReady:
      return Access::kOpen;
    case Rpc::kWatchJob:
    case Rpc::kGetJob:
    case Rpc::kListJobs:
    case Rpc::kEvaluate:
    case Rpc::kPredict:
    case Rpc::kListModels:
    case Rpc::kGetModel:
    case Rpc::kModelReady:
    case Rpc::kServerMetadata:
    case Rpc::kModelMetadata:
    case Rpc::kModelInfer:
      return Access::kRead;
    case Rpc::kTrain:
    case Rpc::kUploadDataset:
    case Rpc::kCancelJob:
    case Rpc::kDeleteModel:
    case Rpc::kSetLabel:
    case Rpc::kRemoveLabel:
    case Rpc::kTune:
      return Access::kWrite;
  }
  return Access::kWrite;
}

const char* RoleName(Role role) {
  switch (role) {
    case Role::kAdmin: return "admin";
    case Role::kPredict: return "predict";
    case Role::kMetrics: return "metrics";
  }
  return "?";
}

absl::StatusOr<std::unique_ptr<Authenticator>> Authenticator::Load(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("--auth-token-file '", path, "' cannot be read"));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return Parse(text.str(), path);
}

absl::StatusOr<std::unique_ptr<Authenticator>> Authenticator::Parse(
    absl::string_view text, absl::string_view source) {
  auto auth = std::unique_ptr<Authenticator>(new Authenticator());
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    auto error = [&](absl::string_view what) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, " line ", line_number, ": ", what));
    };
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (fields.size() != 2) {
      return error("expected \"<role> <token>\"");
    }
    Role role;
    if (fields[0] == "admin") {
      role = Role::kAdmin;
    } else if (fields[0] == "predict") {
      role = Role::kPredict;
    } else if (fields[0] == "metrics") {
      role = Role::kMetrics;
    } else {
      return error(absl::StrCat("unknown role '", fields[0],
                                "'; roles are admin, predict, metrics"));
    }
    const absl::string_view token = fields[1];
    if (token.size() < kMinTokenBytes || token.size() > kMaxTokenBytes) {
      return error(absl::StrCat("a token must have ", kMinTokenBytes, " to ",
                                kMaxTokenBytes, " characters, this one has ",
                                token.size()));
    }
    for (char c : token) {
      if (c < 0x21 || c > 0x7e) {
        return error("a token must be printable ASCII without spaces");
      }
    }
    Entry entry{Digest(token), role};
    for (const Entry& other : auth->tokens_) {
      if (other.digest == entry.digest) return error("duplicate token");
    }
    auth->tokens_.push_back(entry);
  }
  if (auth->tokens_.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": no tokens (lines \"<role> <token>\")"));
  }
  return auth;
}

absl::Status Authenticator::Check(absl::string_view authorization,
                                  Access access,
                                  absl::string_view what) const {
  if (access == Access::kOpen) return absl::OkStatus();
  absl::string_view value = absl::StripAsciiWhitespace(authorization);
  if (value.empty()) {
    return absl::UnauthenticatedError(absl::StrCat(
        what, ": no token; send the header \"authorization: Bearer <token>\""));
  }
  if (value.size() < 7 || !absl::EqualsIgnoreCase(value.substr(0, 7), "bearer ")) {
    return absl::UnauthenticatedError(absl::StrCat(
        what, ": the authorization header must be \"Bearer <token>\""));
  }
  return CheckToken(absl::StripLeadingAsciiWhitespace(value.substr(7)), access,
                    what);
}

absl::Status Authenticator::CheckToken(absl::string_view token, Access access,
                                       absl::string_view what) const {
  if (access == Access::kOpen) return absl::OkStatus();
  const std::array<uint8_t, 32> digest = Digest(token);
  // Every entry is compared, whatever matched: the time does not depend on
  // which token (if any) it is.
  int matched = -1;
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const int equal =
        CRYPTO_memcmp(digest.data(), tokens_[i].digest.data(), digest.size()) ==
        0;
    matched = equal ? static_cast<int>(i) : matched;
  }
  if (matched < 0) {
    return absl::UnauthenticatedError(
        absl::StrCat(what, ": the token is not valid"));
  }
  const Role role = tokens_[static_cast<size_t>(matched)].role;
  if (!Grants(role, access)) {
    return absl::PermissionDeniedError(
        absl::StrCat(what, ": a token of role ", RoleName(role),
                     " may not do this; it needs ", Needed(access)));
  }
  return absl::OkStatus();
}

absl::Status Authorize(const Authenticator* auth,
                       const grpc::ServerContextBase& context, Rpc rpc) {
  if (auth == nullptr) return absl::OkStatus();
  const auto& metadata = context.client_metadata();
  const auto it = metadata.find("authorization");
  const absl::string_view value =
      it == metadata.end()
          ? absl::string_view()
          : absl::string_view(it->second.data(), it->second.size());
  return auth->Check(value, AccessOf(rpc), RpcName(rpc));
}

}  // namespace modelserver::server
