#include "gateway/auth/authenticator.h"

#include <glog/logging.h>

#include <atomic>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "gateway/auth/api_keys.h"
#include "gateway/auth/secrets.h"
#include "gateway/auth/token_bucket.h"

namespace herald {
namespace gateway {
namespace auth {
namespace {

// The secret of "Bearer <secret>" (scheme case-insensitive), or nothing.
std::optional<absl::string_view> BearerSecret(
    std::optional<absl::string_view> header) {
  if (!header.has_value()) return std::nullopt;
  absl::string_view value = absl::StripAsciiWhitespace(*header);
  constexpr absl::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size() ||
      !absl::StartsWithIgnoreCase(value, kScheme)) {
    return std::nullopt;
  }
  absl::string_view secret =
      absl::StripLeadingAsciiWhitespace(value.substr(kScheme.size()));
  if (secret.empty()) return std::nullopt;
  return secret;
}

}  // namespace

// One cached key. Kept across refreshes while the key is unchanged, so its
// bucket and last use carry over.
struct Authenticator::Entry {
  Entry(ActiveKey key, const AuthenticatorOptions& options)
      : name(std::move(key.name)),
        scopes(key.scopes),
        bucket(options.rate_limit_per_second, options.rate_limit_burst),
        recorded_use(key.last_used_at) {}

  const std::string name;
  const ScopeSet scopes;
  TokenBucket bucket;
  // Unix seconds of the latest use: written by requests at most once a
  // second each, read by Refresh.
  std::atomic<int64_t> used_second{0};
  // The last use written to the table (Refresh only).
  absl::Time recorded_use;
};

bool Authenticator::SameDigestEq::operator()(const std::string& a,
                                             const std::string& b) const {
  return SameDigest(a, b);
}

Authenticator::Authenticator(db::Database& db, AuthenticatorOptions options)
    : db_(db), options_(options), keys_(std::make_shared<KeyMap>()) {}

absl::StatusOr<std::unique_ptr<Authenticator>> Authenticator::Start(
    db::Database& db, AuthenticatorOptions options) {
  std::unique_ptr<Authenticator> authenticator(
      new Authenticator(db, std::move(options)));
  absl::Status s = authenticator->Refresh();
  if (!s.ok()) return s;
  Authenticator* self = authenticator.get();
  authenticator->refresher_ =
      std::thread([self] { self->RefreshUntilStopped(); });
  return authenticator;
}

Authenticator::~Authenticator() {
  stopping_.Notify();
  if (refresher_.joinable()) refresher_.join();
}

Verdict Authenticator::Check(std::optional<absl::string_view> authorization,
                             Scope scope) {
  Verdict verdict;
  verdict.scope = scope;
  std::optional<absl::string_view> secret = BearerSecret(authorization);
  if (!secret.has_value()) return verdict;
  const std::string digest = DigestOf(*secret);
  // Held to the end: a refresh waits (it swaps keys_ once a second) rather
  // than every request paying for a reference count shared by all threads.
  absl::ReaderMutexLock lock(&mu_);
  auto it = keys_->find(digest);
  if (it == keys_->end()) return verdict;
  Entry& entry = *it->second;
  verdict.key_name = entry.name;
  if (!entry.scopes.Has(scope)) {
    verdict.outcome = Outcome::kForbidden;
    return verdict;
  }
  const absl::Time now = absl::Now();
  verdict.retry_after = entry.bucket.Take(now);
  if (verdict.retry_after > absl::ZeroDuration()) {
    verdict.outcome = Outcome::kRateLimited;
    return verdict;
  }
  const int64_t second = absl::ToUnixSeconds(now);
  if (entry.used_second.load(std::memory_order_relaxed) < second) {
    entry.used_second.store(second, std::memory_order_relaxed);
  }
  verdict.outcome = Outcome::kAllowed;
  return verdict;
}

absl::Status Authenticator::Refresh() {
  absl::MutexLock refreshing(&refresh_mu_);
  absl::StatusOr<std::vector<ActiveKey>> active = ReadActiveKeys(db_);
  if (!active.ok()) return active.status();
  std::shared_ptr<const KeyMap> old;
  {
    absl::ReaderMutexLock lock(&mu_);
    old = keys_;
  }
  auto fresh = std::make_shared<KeyMap>();
  for (ActiveKey& key : *active) {
    auto it = old->find(key.digest);
    std::string digest = key.digest;
    if (it != old->end() && it->second->name == key.name) {
      fresh->emplace(std::move(digest), it->second);
    } else {
      fresh->emplace(std::move(digest),
                     std::make_shared<Entry>(std::move(key), options_));
    }
  }
  {
    absl::MutexLock lock(&mu_);
    keys_ = fresh;
  }
  // Last uses, written off the request path and at most once per
  // last_used_every per key.
  for (auto& [digest, entry] : *fresh) {
    const int64_t second = entry->used_second.load(std::memory_order_relaxed);
    const absl::Time used = absl::FromUnixSeconds(second);
    if (second == 0 || used - entry->recorded_use < options_.last_used_every) {
      continue;
    }
    absl::Status s = RecordLastUse(db_, entry->name, used);
    if (!s.ok()) {
      LOG(WARNING) << "recording when API key '" << entry->name
                   << "' was last used: " << s;
      break;
    }
    entry->recorded_use = used;
  }
  return absl::OkStatus();
}

void Authenticator::RefreshUntilStopped() {
  while (!stopping_.WaitForNotificationWithTimeout(options_.refresh_every)) {
    absl::Status s = Refresh();
    // The keys read last stay in force meanwhile.
    if (!s.ok()) {
      LOG_EVERY_N(WARNING, 10) << "reading API keys: " << s;
    }
  }
}

}  // namespace auth
}  // namespace gateway
}  // namespace herald
