#include "database/postgres_database.h"

#include <glog/logging.h>
#include <poll.h>
#include <postgresql/libpq-fe.h>

#include <atomic>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "base/dependency_outage.h"
#include "base/redact.h"
#include "database/internal/ignored_failure.h"

namespace herald {
namespace db {
namespace {

// PostgreSQL type OIDs we decode specially.
constexpr Oid kBoolOid = 16, kByteaOid = 17, kInt8Oid = 20, kInt2Oid = 21,
              kInt4Oid = 23, kFloat4Oid = 700, kFloat8Oid = 701;

// True for the SQLSTATEs that mean the server cannot serve anyone right
// now, whatever the statement: connection exceptions (08), shutting down or
// starting up (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot
// connect now), insufficient resources (53: disk full, out of memory, too
// many connections) and system errors (58: I/O). Not 53400
// (configuration_limit_exceeded, e.g. temp_file_limit): that is one
// statement outgrowing a configured limit, and would fail again.
bool IsOutageState(absl::string_view sqlstate) {
  return absl::StartsWith(sqlstate, "08") ||
         (absl::StartsWith(sqlstate, "53") && sqlstate != "53400") ||
         absl::StartsWith(sqlstate, "58") || sqlstate == "57P01" ||
         sqlstate == "57P02" || sqlstate == "57P03";
}

// True for the SQLSTATEs that are the statement's own failure (data,
// constraint, conflict, syntax), even if the connection broke meanwhile.
bool IsStatementState(absl::string_view sqlstate) {
  return absl::StartsWith(sqlstate, "22") || absl::StartsWith(sqlstate, "23") ||
         absl::StartsWith(sqlstate, "40") || absl::StartsWith(sqlstate, "42");
}

// The code of a failed statement's error, from its SQLSTATE.
absl::Status Classify(PGconn* conn, absl::string_view sqlstate,
                      const std::string& message) {
  if (sqlstate == "23505") return absl::AlreadyExistsError(message);
  if (sqlstate == "40001" || sqlstate == "40P01") {
    return absl::AbortedError(message);  // retried by Transact
  }
  if (absl::StartsWith(sqlstate, "23")) {
    return absl::FailedPreconditionError(message);
  }
  if (absl::StartsWith(sqlstate, "42") || absl::StartsWith(sqlstate, "22")) {
    return absl::InvalidArgumentError(message);
  }
  if (PQstatus(conn) != CONNECTION_OK || absl::StartsWith(sqlstate, "08") ||
      absl::StartsWith(sqlstate, "57")) {
    return absl::UnavailableError(message);
  }
  return absl::InternalError(message);
}

// The error of a failed statement, its code from its SQLSTATE (see
// Transaction::Execute), marked as a DependencyOutage when the server or the
// connection to it is what failed (see IsOutageState).
absl::Status ResultError(PGconn* conn, const PGresult* result,
                         absl::string_view what) {
  const char* state = result != nullptr
                          ? PQresultErrorField(result, PG_DIAG_SQLSTATE)
                          : nullptr;
  std::string sqlstate = state != nullptr ? state : "";
  std::string message = absl::StrCat(
      what, ": ",
      result != nullptr ? PQresultErrorMessage(result) : PQerrorMessage(conn));
  while (!message.empty() && message.back() == '\n') message.pop_back();
  absl::Status status = Classify(conn, sqlstate, message);
  if (IsOutageState(sqlstate) ||
      (PQstatus(conn) != CONNECTION_OK && !IsStatementState(sqlstate))) {
    return DependencyOutage(std::move(status));
  }
  return status;
}

std::string DecodeHexBytea(const char* text, int length) {
  if (length < 2 || text[0] != '\\' || text[1] != 'x') {
    return std::string(text, length);
  }
  std::string out;
  out.reserve((length - 2) / 2);
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return 0;
  };
  for (int i = 2; i + 1 < length; i += 2) {
    out.push_back(
        static_cast<char>(nibble(text[i]) << 4 | nibble(text[i + 1])));
  }
  return out;
}

// A pooled connection and the statements prepared on it. Statements with
// parameters (the same few texts, run thousands of times) are prepared once
// per connection and then only executed: PostgreSQL parses and plans them
// once instead of on every call, which is most of a small INSERT's cost.
struct PgConnection {
  PgConnection(PGconn* c, bool prepare_statements)
      : conn(c), prepare(prepare_statements) {}
  ~PgConnection() { PQfinish(conn); }

  // The name of `text` prepared on this connection, or null when it is not.
  const std::string* Prepared(const std::string& text) const {
    auto it = prepared.find(text);
    return it == prepared.end() ? nullptr : &it->second;
  }
  // Forgets every prepared statement (after a reset, the server has none;
  // after a "cached plan" error, the old ones are not used again).
  void ForgetPrepared() { prepared.clear(); }

  PGconn* const conn;
  const bool prepare;  // the URL's prepare= option
  absl::flat_hash_map<std::string, std::string> prepared;
  int64_t next_name = 0;
};

// Statements worth preparing: data statements with parameters. Text built
// per call (an IN list, say) would fill the cache, which stops at
// kMaxPrepared and runs the rest unprepared.
constexpr size_t kMaxPrepared = 256;
bool WorthPreparing(absl::string_view text, size_t params) {
  if (params == 0) return false;
  for (absl::string_view verb :
       {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH"}) {
    if (absl::StartsWithIgnoreCase(text, verb)) return true;
  }
  return false;
}

class PostgresTransaction : public Transaction {
 public:
  explicit PostgresTransaction(PgConnection& connection)
      : connection_(connection), conn_(connection.conn) {}

  absl::StatusOr<int64_t> Execute(absl::string_view sql,
                                  absl::Span<const Value> params) override {
    int64_t changed = 0;
    absl::Status s = Run(sql, params, nullptr, &changed);
    if (!s.ok()) return Remember(s);
    return changed;
  }

  absl::StatusOr<std::vector<Row>> Query(
      absl::string_view sql, absl::Span<const Value> params) override {
    std::vector<Row> rows;
    absl::Status s = Run(sql, params, &rows, nullptr);
    if (!s.ok()) return Remember(s);
    return rows;
  }

  absl::StatusOr<int64_t> InsertReturningId(
      absl::string_view sql, absl::Span<const Value> params,
      absl::string_view id_column) override {
    std::vector<Row> rows;
    absl::Status s = Run(absl::StrCat(sql, " RETURNING ", id_column), params,
                         &rows, nullptr);
    if (!s.ok()) return Remember(s);
    if (rows.size() != 1) {
      return Remember(absl::InternalError("INSERT returned no row"));
    }
    return rows[0].Int(0);
  }

  // The first failed statement of the body. PostgreSQL aborts the
  // transaction then, and would turn a later COMMIT into a silent ROLLBACK.
  const absl::Status& first_error() const { return first_error_; }

  Dialect dialect() const override { return Dialect::kPostgres; }

  absl::Status Exec(absl::string_view sql) {
    return Run(sql, {}, nullptr, nullptr);
  }

 private:
  absl::Status Run(absl::string_view sql, absl::Span<const Value> params,
                   std::vector<Row>* rows, int64_t* changed) {
    std::string text = RewritePlaceholders(sql);
    std::vector<std::string> storage(params.size());
    std::vector<const char*> values(params.size());
    std::vector<int> lengths(params.size()), formats(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      const Value& v = params[i];
      formats[i] = 0;
      if (std::holds_alternative<std::nullptr_t>(v)) {
        values[i] = nullptr;
        continue;
      }
      if (const int64_t* n = std::get_if<int64_t>(&v)) {
        storage[i] = absl::StrCat(*n);
      } else if (const double* d = std::get_if<double>(&v)) {
        storage[i] = absl::StrCat(*d);
      } else if (const std::string* s = std::get_if<std::string>(&v)) {
        storage[i] = *s;
      } else {
        storage[i] = std::get<Bytes>(v).data;
        formats[i] = 1;  // binary: bytes exactly as they are
      }
      values[i] = storage[i].data();
      lengths[i] = static_cast<int>(storage[i].size());
    }
    const int n_params = static_cast<int>(params.size());
    const std::string* name = connection_.Prepared(text);
    const bool prepared_before = name != nullptr;
    if (name == nullptr && connection_.prepare &&
        WorthPreparing(text, params.size()) &&
        connection_.prepared.size() < kMaxPrepared) {
      std::string new_name = absl::StrCat("h", connection_.next_name++);
      std::unique_ptr<PGresult, void (*)(PGresult*)> prepared(
          PQprepare(conn_, new_name.c_str(), text.c_str(), n_params, nullptr),
          PQclear);
      if (PQresultStatus(prepared.get()) != PGRES_COMMAND_OK) {
        return ResultError(conn_, prepared.get(), "query");
      }
      name = &connection_.prepared.emplace(text, std::move(new_name))
                  .first->second;
    }
    PGresult* result =
        name != nullptr
            ? PQexecPrepared(conn_, name->c_str(), n_params, values.data(),
                             lengths.data(), formats.data(),
                             /*resultFormat=*/0)
            : PQexecParams(conn_, text.c_str(), n_params, nullptr,
                           values.data(), lengths.data(), formats.data(),
                           /*resultFormat=*/0);
    std::unique_ptr<PGresult, void (*)(PGresult*)> guard(result, PQclear);
    ExecStatusType status = PQresultStatus(result);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
      if (prepared_before && state != nullptr &&
          absl::string_view(state) == "0A000") {
        // "cached plan must not change result type": a table changed under
        // a SELECT * prepared earlier. Prepare afresh; Transact runs the
        // body again. (A statement the server cannot run at all fails when
        // it is prepared, and is not retried.)
        connection_.ForgetPrepared();
        return absl::AbortedError(
            absl::StrCat("query: ", PQresultErrorMessage(result)));
      }
      return ResultError(conn_, result, "query");
    }
    if (changed != nullptr) {
      const char* tuples = PQcmdTuples(result);
      *changed = 0;
      if (tuples != nullptr && *tuples != '\0') {
        absl::SimpleAtoi(tuples, changed);
      }
    }
    if (rows == nullptr) return absl::OkStatus();
    int n = PQntuples(result), columns = PQnfields(result);
    rows->reserve(n);
    for (int r = 0; r < n; ++r) {
      std::vector<Value> row;
      row.reserve(columns);
      for (int c = 0; c < columns; ++c) {
        if (PQgetisnull(result, r, c)) {
          row.emplace_back(nullptr);
          continue;
        }
        const char* v = PQgetvalue(result, r, c);
        int length = PQgetlength(result, r, c);
        switch (PQftype(result, c)) {
          case kInt2Oid:
          case kInt4Oid:
          case kInt8Oid: {
            int64_t n64 = 0;
            absl::SimpleAtoi(absl::string_view(v, length), &n64);
            row.emplace_back(n64);
            break;
          }
          case kBoolOid:
            row.emplace_back(static_cast<int64_t>(v[0] == 't'));
            break;
          case kFloat4Oid:
          case kFloat8Oid: {
            double d = 0;
            absl::SimpleAtod(absl::string_view(v, length), &d);
            row.emplace_back(d);
            break;
          }
          case kByteaOid:
            row.emplace_back(Bytes{DecodeHexBytea(v, length)});
            break;
          default:
            row.emplace_back(std::string(v, length));
        }
      }
      rows->emplace_back(std::move(row));
    }
    return absl::OkStatus();
  }

  absl::Status Remember(absl::Status status) {
    if (first_error_.ok()) first_error_ = status;
    return status;
  }

  PgConnection& connection_;
  PGconn* const conn_;
  absl::Status first_error_;
};

// Database::Listen: a connection that LISTENs, served by a thread.
class PostgresListening : public Listening {
 public:
  PostgresListening(std::string conninfo, std::vector<std::string> secrets,
                    std::string channel,
                    std::function<void(absl::string_view)> on_notify)
      : conninfo_(std::move(conninfo)),
        secrets_(std::move(secrets)),
        channel_(std::move(channel)),
        on_notify_(std::move(on_notify)) {}

  ~PostgresListening() override {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (conn_ != nullptr) PQfinish(conn_);
  }

  // Connects and listens once here, so that a bad URL or channel is
  // reported to the caller; then serves on a thread.
  absl::Status Start() {
    absl::Status s = Connect();
    if (!s.ok()) return s;
    thread_ = std::thread([this] { Serve(); });
    return absl::OkStatus();
  }

 private:
  absl::Status Connect() {
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = PQconnectdb(conninfo_.c_str());
    if (PQstatus(conn_) != CONNECTION_OK) {
      return DependencyOutage(absl::UnavailableError(
          absl::StrCat("cannot connect to PostgreSQL to listen: ",
                       RedactText(PQerrorMessage(conn_), secrets_))));
    }
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
    char* quoted = PQescapeIdentifier(conn_, channel_.data(), channel_.size());
    if (quoted == nullptr) {
      return absl::InvalidArgumentError("bad LISTEN channel");
    }
    const std::string listen = absl::StrCat("LISTEN ", quoted);
    PQfreemem(quoted);
    PGresult* result = PQexec(conn_, listen.c_str());
    const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
    PQclear(result);
    if (!ok) {
      return absl::UnavailableError(absl::StrCat(
          "LISTEN failed: ", RedactText(PQerrorMessage(conn_), secrets_)));
    }
    return absl::OkStatus();
  }

  void Serve() {
    while (!stop_) {
      if (PQstatus(conn_) != CONNECTION_OK) {
        absl::SleepFor(absl::Milliseconds(200));
        absl::Status s = Connect();
        if (!s.ok()) {
          LOG_EVERY_N(WARNING, 20) << s;
        }
        continue;
      }
      pollfd fd{PQsocket(conn_), POLLIN, 0};
      if (poll(&fd, 1, /*timeout_ms=*/100) <= 0) continue;
      if (PQconsumeInput(conn_) == 0) continue;  // broken: reconnect
      while (PGnotify* notify = PQnotifies(conn_)) {
        on_notify_(notify->extra);
        PQfreemem(notify);
      }
    }
  }

  const std::string conninfo_;
  const std::vector<std::string> secrets_;
  const std::string channel_;
  const std::function<void(absl::string_view)> on_notify_;
  PGconn* conn_ = nullptr;  // the serving thread's, once started
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class PostgresDatabase : public Database {
 public:
  PostgresDatabase(std::string conninfo,
                   std::vector<std::unique_ptr<PgConnection>> pool,
                   absl::Duration acquire_timeout)
      : conninfo_(std::move(conninfo)),
        secrets_(SecretsIn(conninfo_)),
        acquire_timeout_(acquire_timeout),
        pool_(std::move(pool)) {
    for (auto& connection : pool_) idle_.push_back(connection.get());
    size_ = idle_.size();
  }

  ~PostgresDatabase() override {
    {
      absl::MutexLock lock(&tasks_mu_);
      stopping_ = true;
    }
    for (std::thread& t : workers_) t.join();  // run what is queued first
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](PostgresDatabase* self) ABSL_NO_THREAD_SAFETY_ANALYSIS {
          return self->idle_.size() == self->size_;
        },
        this));
  }

  Dialect dialect() const override { return Dialect::kPostgres; }

  absl::Status Transact(
      const std::function<absl::Status(Transaction&)>& body) override {
    PgConnection* connection = Acquire();
    if (connection == nullptr) {
      return DependencyOutage(absl::UnavailableError(absl::StrCat(
          "no PostgreSQL connection free within acquire_timeout_ms=",
          absl::ToInt64Milliseconds(acquire_timeout_))));
    }
    PGconn* conn = connection->conn;
    absl::Status status;
    for (int attempt = 0; attempt < 5; ++attempt) {
      if (PQstatus(conn) != CONNECTION_OK) {
        PQreset(conn);
        connection->ForgetPrepared();  // a new session has none
        if (PQstatus(conn) != CONNECTION_OK) {
          status = DependencyOutage(absl::UnavailableError(
              absl::StrCat("PostgreSQL unreachable: ",
                           RedactText(PQerrorMessage(conn), secrets_))));
          break;
        }
      }
      PostgresTransaction tx(*connection);
      status = tx.Exec("BEGIN");
      if (status.ok()) {
        status = body(tx);
        if (status.ok() && !tx.first_error().ok()) {
          status = db_internal::IgnoredFailure(tx.first_error());
        }
        if (status.ok()) {
          status = tx.Exec("COMMIT");
          if (!status.ok() && PQstatus(conn) != CONNECTION_OK) {
            // The COMMIT may have been applied before the connection broke:
            // running the body again could apply it twice. The caller
            // resolves it (e.g. a retry with the same idempotency key).
            status = CommitOutcomeUnknown(status);
            break;
          }
        } else {
          tx.Exec("ROLLBACK").IgnoreError();
        }
      }
      if (status.code() != absl::StatusCode::kAborted &&
          status.code() != absl::StatusCode::kUnavailable) {
        break;
      }
      if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
        PostgresTransaction(*connection).Exec("ROLLBACK").IgnoreError();
      }
      absl::SleepFor(absl::Milliseconds(5 << attempt));
    }
    Release(connection);
    if (status.code() == absl::StatusCode::kAborted) {
      return absl::UnavailableError(
          absl::StrCat("transaction kept conflicting: ", status.message()));
    }
    return status;
  }

  // One worker thread per pooled connection, started on first use: each
  // takes a queued transaction and runs it with Transact.
  void TransactAsync(std::function<absl::Status(Transaction&)> body,
                     std::function<void(absl::Status)> done) override {
    absl::MutexLock lock(&tasks_mu_);
    if (workers_.empty()) {
      for (size_t i = 0; i < size_; ++i) {
        workers_.emplace_back([this] { WorkLoop(); });
      }
    }
    tasks_.push_back({std::move(body), std::move(done)});
  }

  absl::StatusOr<std::unique_ptr<Listening>> Listen(
      absl::string_view channel,
      std::function<void(absl::string_view payload)> on_notify) override {
    auto listening = std::make_unique<PostgresListening>(
        conninfo_, secrets_, std::string(channel), std::move(on_notify));
    absl::Status s = listening->Start();
    if (!s.ok()) return s;
    return std::unique_ptr<Listening>(std::move(listening));
  }

  bool Ping() override {
    return Transact([](Transaction& tx) {
             return tx.Query("SELECT 1", {}).status();
           })
        .ok();
  }

 private:
  // A connection of the pool, or nullptr when none was free within
  // acquire_timeout_.
  PgConnection* Acquire() {
    absl::MutexLock lock(&mu_);
    if (!mu_.AwaitWithTimeout(absl::Condition(
                                  +[](std::vector<PgConnection*>* idle) {
                                    return !idle->empty();
                                  },
                                  &idle_),
                              acquire_timeout_)) {
      return nullptr;
    }
    PgConnection* connection = idle_.back();
    idle_.pop_back();
    return connection;
  }

  void Release(PgConnection* connection) {
    absl::MutexLock lock(&mu_);
    idle_.push_back(connection);
  }

  struct Task {
    std::function<absl::Status(Transaction&)> body;
    std::function<void(absl::Status)> done;
  };

  void WorkLoop() {
    while (true) {
      Task task;
      {
        absl::MutexLock lock(&tasks_mu_);
        tasks_mu_.Await(absl::Condition(
            +[](PostgresDatabase* self) ABSL_NO_THREAD_SAFETY_ANALYSIS {
              return !self->tasks_.empty() || self->stopping_;
            },
            this));
        if (tasks_.empty()) return;  // stopping, and nothing left
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task.done(Transact(task.body));
    }
  }

  const std::string conninfo_;
  // Its password, to take out of libpq's error texts.
  const std::vector<std::string> secrets_;
  const absl::Duration acquire_timeout_;
  absl::Mutex tasks_mu_;
  std::deque<Task> tasks_ ABSL_GUARDED_BY(tasks_mu_);
  bool stopping_ ABSL_GUARDED_BY(tasks_mu_) = false;
  std::vector<std::thread> workers_;  // guarded by tasks_mu_ until joined
  const std::vector<std::unique_ptr<PgConnection>> pool_;
  absl::Mutex mu_;
  std::vector<PgConnection*> idle_ ABSL_GUARDED_BY(mu_);
  size_t size_ = 0;
};

}  // namespace

std::string RewritePlaceholders(absl::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 8);
  int n = 0;
  char quote = 0;
  for (char c : sql) {
    if (quote != 0) {
      if (c == quote) quote = 0;
      out.push_back(c);
    } else if (c == '\'' || c == '"') {
      quote = c;
      out.push_back(c);
    } else if (c == '?') {
      absl::StrAppend(&out, "$", ++n);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

absl::StatusOr<std::unique_ptr<Database>> OpenPostgres(absl::string_view url) {
  // Take Herald's own options out of the query string.
  int pool_size = 4;
  int acquire_timeout_ms = 2000;
  // Named prepared statements live in a server session: a pooler that
  // hands each transaction another session (PgBouncer's transaction mode
  // before 1.21) needs prepare=false.
  bool prepare = true;
  std::pair<absl::string_view, absl::string_view> base_query =
      absl::StrSplit(url, absl::MaxSplits('?', 1));
  std::vector<std::string> kept;
  for (absl::string_view kv :
       absl::StrSplit(base_query.second, '&', absl::SkipEmpty())) {
    if (absl::ConsumePrefix(&kv, "pool_size=")) {
      if (!absl::SimpleAtoi(kv, &pool_size) || pool_size < 1 ||
          pool_size > 100) {
        return absl::InvalidArgumentError(
            "pool_size in the PostgreSQL URL must be 1..100");
      }
    } else if (absl::ConsumePrefix(&kv, "prepare=")) {
      if (kv == "true" || kv == "on") {
        prepare = true;
      } else if (kv == "false" || kv == "off") {
        prepare = false;
      } else {
        return absl::InvalidArgumentError(
            "prepare in the PostgreSQL URL must be true or false");
      }
    } else if (absl::ConsumePrefix(&kv, "acquire_timeout_ms=")) {
      if (!absl::SimpleAtoi(kv, &acquire_timeout_ms) ||
          acquire_timeout_ms < 1) {
        return absl::InvalidArgumentError(
            "acquire_timeout_ms in the PostgreSQL URL must be a positive "
            "number of milliseconds");
      }
    } else {
      kept.emplace_back(kv);
    }
  }
  std::string conninfo(base_query.first);
  if (!kept.empty()) absl::StrAppend(&conninfo, "?", absl::StrJoin(kept, "&"));

  std::vector<std::unique_ptr<PgConnection>> pool;
  for (int i = 0; i < pool_size; ++i) {
    PGconn* conn = PQconnectdb(conninfo.c_str());
    if (PQstatus(conn) != CONNECTION_OK) {
      // libpq's errors may echo the conninfo (a malformed URL, say).
      absl::Status s = DependencyOutage(absl::UnavailableError(
          absl::StrCat("cannot connect to PostgreSQL: ",
                       RedactText(PQerrorMessage(conn), SecretsIn(url)))));
      PQfinish(conn);
      return s;
    }
    // Quiet NOTICEs (e.g. "relation already exists, skipping").
    PQsetNoticeProcessor(
        conn, [](void*, const char*) {}, nullptr);
    pool.push_back(std::make_unique<PgConnection>(conn, prepare));
  }
  return std::unique_ptr<Database>(
      new PostgresDatabase(std::move(conninfo), std::move(pool),
                           absl::Milliseconds(acquire_timeout_ms)));
}

}  // namespace db
}  // namespace herald
