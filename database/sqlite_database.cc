#include "database/sqlite_database.h"

#include <fcntl.h>
#include <glog/logging.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <functional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "base/dependency_outage.h"
#include "base/redact.h"
#include "database/internal/ignored_failure.h"

namespace herald {
namespace db {
namespace {

// Marks errors that mean "another writer holds the lock": only those make
// the whole batch wait and retry (a body's own Unavailable does not).
constexpr char kBusyPayload[] = "herald.dev/sqlite-busy";

bool IsLockError(const absl::Status& s) {
  return s.GetPayload(kBusyPayload).has_value();
}

bool IsBusy(int code) {
  int primary = code & 0xff;
  return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

// True for the result codes that mean the file, or the machine under it,
// cannot be used right now, whatever the statement: locked by another
// process (Transact and Read retry until busy_timeout_ms has passed, so
// what reaches a caller has persisted), disk full, I/O errors, the file
// cannot be opened or is read-only, out of memory.
bool IsOutageCode(int code) {
  switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_NOMEM:
    case SQLITE_READONLY:
      return true;
    default:
      return false;
  }
}

// The errnos of a failed file operation that are the file system's trouble
// (full, failing, read-only, refused), not the caller's.
bool IsOutageErrno(int error) {
  return error == ENOSPC || error == EIO || error == EDQUOT || error == EROFS ||
         error == EACCES;
}

absl::Status SqliteErrorStatus(int code, const std::string& message) {
  if (code == SQLITE_CONSTRAINT_UNIQUE ||
      code == SQLITE_CONSTRAINT_PRIMARYKEY) {
    return absl::AlreadyExistsError(message);
  }
  if (IsBusy(code)) {
    absl::Status busy =
        absl::UnavailableError(absl::StrCat("database is locked: ", message));
    busy.SetPayload(kBusyPayload, absl::Cord("1"));
    return busy;
  }
  if ((code & 0xff) == SQLITE_CONSTRAINT) {
    return absl::FailedPreconditionError(message);
  }
  if ((code & 0xff) == SQLITE_ERROR) return absl::InvalidArgumentError(message);
  return absl::InternalError(message);
}

// The error for SQLite result `code`, marked as a DependencyOutage when
// IsOutageCode says so. `read_only_connection`: `conn` was opened read-only
// on purpose (the reader), so a plain SQLITE_READONLY there ("attempt to
// write a readonly database") means a body tried to write, which is the
// body's failure. (Its extended codes, such as READONLY_CANTINIT for a
// shared-memory file that cannot be set up, remain outages.)
absl::Status SqliteError(sqlite3* conn, int code, absl::string_view what,
                         bool read_only_connection = false) {
  absl::Status status = SqliteErrorStatus(
      code, absl::StrCat(
                what, ": ",
                conn != nullptr ? sqlite3_errmsg(conn) : sqlite3_errstr(code)));
  if (IsOutageCode(code) &&
      !(read_only_connection && code == SQLITE_READONLY)) {
    return DependencyOutage(std::move(status));
  }
  return status;
}

// `status`, marked as a DependencyOutage when `error` (an errno) is the
// file system's trouble.
absl::Status DiskError(int error, absl::Status status) {
  if (IsOutageErrno(error)) return DependencyOutage(std::move(status));
  return status;
}

// Prepared statements by SQL text, for one connection. Parsing dominates a
// small statement's cost, and services run the same few statements.
class StatementCache {
 public:
  ~StatementCache() { reset(); }
  void reset() {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    statements_.clear();
  }
  sqlite3_stmt* Find(absl::string_view sql) {
    auto it = statements_.find(sql);
    return it == statements_.end() ? nullptr : it->second;
  }
  // Takes `stmt` unless the cache is full (then the caller finalizes it).
  bool Add(absl::string_view sql, sqlite3_stmt* stmt) {
    if (statements_.size() >= 512) return false;
    statements_.emplace(std::string(sql), stmt);
    return true;
  }

 private:
  absl::flat_hash_map<std::string, sqlite3_stmt*> statements_;
};

class SqliteTransaction : public Transaction {
 public:
  // `read_only_connection`: see SqliteError.
  SqliteTransaction(sqlite3* conn, StatementCache* cache,
                    bool read_only_connection = false)
      : conn_(conn),
        cache_(cache),
        read_only_connection_(read_only_connection) {}

  Dialect dialect() const override { return Dialect::kSqlite; }

  absl::StatusOr<int64_t> Execute(absl::string_view sql,
                                  absl::Span<const Value> params) override {
    absl::StatusOr<std::vector<Row>> rows = Run(sql, params, false);
    if (!rows.ok()) return Remember(rows.status());
    return static_cast<int64_t>(sqlite3_changes(conn_));
  }

  absl::StatusOr<std::vector<Row>> Query(
      absl::string_view sql, absl::Span<const Value> params) override {
    absl::StatusOr<std::vector<Row>> rows = Run(sql, params, true);
    if (!rows.ok()) return Remember(rows.status());
    return rows;
  }

  // `id_column` must be the table's INTEGER PRIMARY KEY (the rowid).
  absl::StatusOr<int64_t> InsertReturningId(absl::string_view sql,
                                            absl::Span<const Value> params,
                                            absl::string_view) override {
    absl::StatusOr<std::vector<Row>> rows = Run(sql, params, false);
    if (!rows.ok()) return Remember(rows.status());
    return static_cast<int64_t>(sqlite3_last_insert_rowid(conn_));
  }

  // Runs one body. A body that returns OK although one of its statements
  // failed gets that statement's error: it must not commit (PostgreSQL
  // could not; keep both alike).
  absl::Status RunBody(const std::function<absl::Status(Transaction&)>& body) {
    first_error_ = absl::OkStatus();
    absl::Status status = body(*this);
    if (status.ok() && !first_error_.ok()) {
      status = db_internal::IgnoredFailure(first_error_);
    }
    return status;
  }

  // Runs a statement outside any body (BEGIN, COMMIT, PRAGMA...).
  absl::Status Exec(absl::string_view sql) {
    return Run(sql, {}, false).status();
  }

 private:
  absl::StatusOr<std::vector<Row>> Run(absl::string_view sql,
                                       absl::Span<const Value> params,
                                       bool collect) {
    sqlite3_stmt* stmt = cache_ != nullptr ? cache_->Find(sql) : nullptr;
    bool owned = false;
    int rc;
    if (stmt == nullptr) {
      rc = sqlite3_prepare_v2(conn_, sql.data(), static_cast<int>(sql.size()),
                              &stmt, nullptr);
      if (rc != SQLITE_OK) return Error(rc, "prepare");
      owned = cache_ == nullptr || !cache_->Add(sql, stmt);
    }
    // Reset on every exit: a statement left mid-step holds a read lock.
    auto release = [stmt, owned] {
      if (owned) {
        sqlite3_finalize(stmt);
      } else {
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
      }
    };
    struct Guard {
      std::function<void()> f;
      ~Guard() { f(); }
    } guard{release};
    if (static_cast<int>(params.size()) != sqlite3_bind_parameter_count(stmt)) {
      return absl::InvalidArgumentError(
          absl::StrCat("statement has ", sqlite3_bind_parameter_count(stmt),
                       " placeholders but ", params.size(), " values: ", sql));
    }
    for (size_t i = 0; i < params.size(); ++i) {
      int index = static_cast<int>(i + 1);
      const Value& v = params[i];
      if (std::holds_alternative<std::nullptr_t>(v)) {
        rc = sqlite3_bind_null(stmt, index);
      } else if (const int64_t* n = std::get_if<int64_t>(&v)) {
        rc = sqlite3_bind_int64(stmt, index, *n);
      } else if (const double* d = std::get_if<double>(&v)) {
        rc = sqlite3_bind_double(stmt, index, *d);
      } else if (const std::string* s = std::get_if<std::string>(&v)) {
        rc = sqlite3_bind_text(stmt, index, s->data(),
                               static_cast<int>(s->size()), SQLITE_STATIC);
      } else {
        const Bytes& b = std::get<Bytes>(v);
        rc = sqlite3_bind_blob(stmt, index, b.data.data(),
                               static_cast<int>(b.data.size()), SQLITE_STATIC);
      }
      if (rc != SQLITE_OK) return Error(rc, "bind");
    }
    std::vector<Row> rows;
    while (true) {
      rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return Error(rc, "step");
      if (!collect) continue;
      int columns = sqlite3_column_count(stmt);
      std::vector<Value> values;
      values.reserve(columns);
      for (int c = 0; c < columns; ++c) {
        switch (sqlite3_column_type(stmt, c)) {
          case SQLITE_NULL:
            values.emplace_back(nullptr);
            break;
          case SQLITE_INTEGER:
            values.emplace_back(
                static_cast<int64_t>(sqlite3_column_int64(stmt, c)));
            break;
          case SQLITE_FLOAT:
            values.emplace_back(sqlite3_column_double(stmt, c));
            break;
          case SQLITE_BLOB: {
            const char* data =
                static_cast<const char*>(sqlite3_column_blob(stmt, c));
            values.emplace_back(
                Bytes{std::string(data, sqlite3_column_bytes(stmt, c))});
            break;
          }
          default: {
            const char* text =
                reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
            values.emplace_back(
                std::string(text, sqlite3_column_bytes(stmt, c)));
          }
        }
      }
      rows.emplace_back(std::move(values));
    }
    return rows;
  }

  absl::Status Error(int code, absl::string_view what) {
    return SqliteError(conn_, code, what, read_only_connection_);
  }

  absl::Status Remember(absl::Status status) {
    if (first_error_.ok()) first_error_ = status;
    return status;
  }

  sqlite3* conn_;
  StatementCache* cache_;
  const bool read_only_connection_;
  absl::Status first_error_;
};

// Batches handed from one thread to the next: Push on one side, TakeAll on
// the other, which waits for something to take.
template <typename T>
class HandOver {
 public:
  void Push(T item) {
    absl::MutexLock lock(&mu_);
    items_.push_back(std::move(item));
  }
  // Everything pushed so far, in order; empty only once closed and drained.
  std::vector<T> TakeAll() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &HandOver::Ready));
    std::vector<T> items;
    items.swap(items_);
    return items;
  }
  // No more pushes: TakeAll returns what is left, then nothing.
  void Close() {
    absl::MutexLock lock(&mu_);
    closed_ = true;
  }

 private:
  bool Ready() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !items_.empty() || closed_;
  }

  absl::Mutex mu_;
  std::vector<T> items_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

class SqliteDatabase : public Database {
 public:
  // `durable`: make each batch durable (fdatasync of the WAL) before
  // reporting it; the connection itself then runs with synchronous=NORMAL.
  SqliteDatabase(sqlite3* conn, SqliteOptions options, bool durable)
      : conn_(conn), options_(std::move(options)), durable_(durable) {
    committer_ = std::thread([this] { CommitLoop(); });
    if (durable_) {
      syncer_ = std::thread([this] { SyncLoop(); });
      reporter_ = std::thread([this] { ReportLoop(); });
    }
  }

  std::string file_path() const override { return options_.path; }

  ~SqliteDatabase() override {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    committer_.join();  // commits whatever is still queued first
    if (durable_) {
      to_sync_.Close();
      syncer_.join();  // and makes it durable
      to_report_.Close();
      reporter_.join();  // and reports it
    }
    if (wal_fd_ >= 0) close(wal_fd_);
    sqlite3_close_v2(conn_);
    absl::MutexLock lock(&reader_mu_);
    reader_statements_.reset();
    if (reader_ != nullptr) sqlite3_close_v2(reader_);
  }

  Dialect dialect() const override { return Dialect::kSqlite; }

  void TransactAsync(std::function<absl::Status(Transaction&)> body,
                     std::function<void(absl::Status)> done) override {
    auto pending = std::make_unique<Pending>();
    pending->body = std::move(body);
    pending->done = std::move(done);
    absl::MutexLock lock(&mu_);
    queue_.push_back(std::move(pending));
  }

  absl::Status Transact(
      const std::function<absl::Status(Transaction&)>& body) override {
    auto run = [&body](Transaction& tx) { return body(tx); };
    if (std::this_thread::get_id() == committer_.get_id()) {
      // From a body or a callback on the committer: nothing else runs now,
      // so commit it alone.
      Pending pending;
      pending.body = run;
      std::vector<Pending*> batch = {&pending};
      RunBatch(batch);
      if (durable_ && pending.status.ok()) pending.status = SyncWal();
      return pending.status;
    }
    if (durable_ && std::this_thread::get_id() == reporter_.get_id()) {
      return absl::FailedPreconditionError(
          "Transact called from a TransactAsync callback would wait for "
          "itself; use TransactAsync or Read there");
    }
    absl::Notification finished;
    absl::Status result;
    TransactAsync(run, [&](absl::Status status) {
      result = std::move(status);
      finished.Notify();
    });
    finished.WaitForNotification();
    return result;
  }

  bool Ping() override {
    return Transact([](Transaction& tx) {
             return tx.Query("SELECT 1", {}).status();
           })
        .ok();
  }

  absl::Status Read(
      const std::function<absl::Status(Transaction&)>& body) override {
    // What a read sees must survive a power loss (the outbox relay reads
    // rows to publish them): wait until every batch committed so far is
    // durable.
    if (durable_) {
      absl::MutexLock lock(&sync_mu_);
      struct Wait {
        SqliteDatabase* self;
        int64_t round;
      } wait{this, committed_rounds_};
      sync_mu_.Await(absl::Condition(
          +[](Wait* w) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return w->self->durable_rounds_ >= w->round;
          },
          &wait));
    }
    absl::MutexLock lock(&reader_mu_);
    if (reader_ == nullptr) {
      absl::Status opened = OpenReader();
      if (!opened.ok()) return opened;
    }
    SqliteTransaction tx(reader_, &reader_statements_,
                         /*read_only_connection=*/true);
    absl::Time deadline =
        absl::Now() + absl::Milliseconds(options_.busy_timeout_ms);
    for (int attempt = 0;; ++attempt) {
      absl::Status status = tx.Exec("BEGIN");
      if (status.ok()) status = tx.RunBody(body);
      tx.Exec(status.ok() ? "COMMIT" : "ROLLBACK").IgnoreError();
      if (IsLockError(status) && absl::Now() < deadline) {
        absl::SleepFor(absl::Milliseconds(std::min(100, 5 << attempt)));
        continue;
      }
      return status;
    }
  }

 private:
  // The reader connection: read-only, opened on first use (the writer has
  // set the file up by then).
  absl::Status OpenReader() ABSL_EXCLUSIVE_LOCKS_REQUIRED(reader_mu_) {
    sqlite3* conn = nullptr;
    int rc =
        sqlite3_open_v2(options_.path.c_str(), &conn,
                        SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      absl::Status s = SqliteError(conn, rc, "open reader",
                                   /*read_only_connection=*/true);
      sqlite3_close_v2(conn);
      return s;
    }
    sqlite3_extended_result_codes(conn, 1);
    sqlite3_busy_timeout(conn, options_.busy_timeout_ms);
    SqliteTransaction setup(conn, nullptr);
    for (const char* pragma :
         {"PRAGMA mmap_size=268435456", "PRAGMA cache_size=-16384"}) {
      setup.Query(pragma, {}).IgnoreError();
    }
    reader_ = conn;
    return absl::OkStatus();
  }

  // One caller's transaction, waiting for the committer.
  struct Pending {
    std::function<absl::Status(Transaction&)> body;
    std::function<void(absl::Status)> done;
    absl::Status status;
  };

  // The one thread that writes: takes everything queued (up to max_group),
  // commits it together while later arrivals queue for the next round, then
  // reports each outcome. Callers never wait on each other's locks.
  void CommitLoop() {
    while (true) {
      std::vector<std::unique_ptr<Pending>> owned;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](SqliteDatabase* self) ABSL_NO_THREAD_SAFETY_ANALYSIS {
              return !self->queue_.empty() || self->stopping_;
            },
            this));
        if (queue_.empty()) return;  // stopping, and nothing left
        while (!queue_.empty() &&
               static_cast<int>(owned.size()) < options_.max_group) {
          owned.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      std::vector<Pending*> batch;
      batch.reserve(owned.size());
      for (auto& p : owned) batch.push_back(p.get());
      if (!durable_) {
        RunBatch(batch);
        for (auto& p : owned) p->done(std::move(p->status));
        continue;
      }
      // Counted before it commits, so that a read that might see it waits
      // for it to be durable.
      int64_t round;
      {
        absl::MutexLock lock(&sync_mu_);
        round = ++committed_rounds_;
      }
      RunBatch(batch);
      // The syncer makes it durable and reports it, while this thread goes
      // on with the next batch: a batch's work overlaps the previous
      // batch's disk flush.
      to_sync_.Push({round, std::move(owned)});
    }
  }

  // Makes committed batches durable: one fdatasync of the WAL covers every
  // batch committed before it started. The reporter thread runs their
  // callbacks, so that this thread goes straight on to the next flush (a
  // batch's callbacks take about a quarter of a flush).
  void SyncLoop() {
    while (true) {
      std::vector<Round> rounds = to_sync_.TakeAll();
      if (rounds.empty()) return;  // closed, and nothing left
      absl::Status synced = SyncWal();
      {
        absl::MutexLock lock(&sync_mu_);
        durable_rounds_ = rounds.back().number;
      }
      if (!synced.ok()) {
        for (Round& round : rounds) {
          for (auto& p : round.pendings) {
            if (p->status.ok()) p->status = synced;
          }
        }
      }
      for (Round& round : rounds) to_report_.Push(std::move(round));
    }
  }

  // Runs the callbacks of durable batches, in commit order.
  void ReportLoop() {
    while (true) {
      std::vector<Round> rounds = to_report_.TakeAll();
      if (rounds.empty()) return;  // closed, and nothing left
      for (Round& round : rounds) {
        for (auto& p : round.pendings) p->done(std::move(p->status));
      }
    }
  }

  // fdatasync of the WAL file (opened on first use: SQLite creates it on
  // the first commit and keeps it while its connection is open).
  absl::Status SyncWal() {
    if (wal_fd_ < 0) {
      const std::string wal = options_.path + "-wal";
      wal_fd_ = open(wal.c_str(), O_RDONLY | O_CLOEXEC);
      if (wal_fd_ < 0) {
        const int error = errno;
        return DiskError(error,
                         absl::DataLossError(absl::StrCat(
                             "committed, but cannot open ", wal,
                             " to make it durable: ", std::strerror(error))));
      }
    }
    if (fdatasync(wal_fd_) != 0) {
      const int error = errno;
      LOG(ERROR) << "fdatasync of " << options_.path
                 << "-wal failed: " << std::strerror(error);
      return DiskError(error, absl::DataLossError(absl::StrCat(
                                  "committed, but the disk flush failed: ",
                                  std::strerror(error))));
    }
    return absl::OkStatus();
  }

  // Bodies rarely fail, so a batch first runs them back to back in one
  // transaction. If one fails, the batch rolls back and runs again with a
  // savepoint around each body, so that only the failed body's work is
  // undone. (Bodies are re-runnable: a locked database retries them too.)
  void RunBatch(const std::vector<Pending*>& batch) {
    SqliteTransaction tx(conn_, &statements_);
    absl::Time deadline =
        absl::Now() + absl::Milliseconds(options_.busy_timeout_ms);
    bool savepoints = false;
    for (int attempt = 0;;) {
      bool body_failed = false;
      absl::Status status = TryBatch(tx, batch, savepoints, &body_failed);
      if (status.ok() && !body_failed) return;  // committed
      tx.Exec("ROLLBACK").IgnoreError();
      if (body_failed) {
        if (batch.size() == 1) return;  // its status says why
        savepoints = true;
        continue;
      }
      if (IsLockError(status) && absl::Now() < deadline) {
        absl::SleepFor(absl::Milliseconds(std::min(100, 5 << attempt++)));
        continue;
      }
      LOG(WARNING) << "sqlite transaction failed: " << status;
      for (Pending* p : batch) {
        if (p->status.ok()) p->status = status;
      }
      return;
    }
  }

  // One attempt: BEGIN, each body (in a savepoint if `savepoints`), COMMIT.
  // The bodies' statuses are recorded in the batch. Without savepoints, a
  // body's failure stops the attempt before COMMIT and sets *body_failed.
  // A failure of BEGIN/COMMIT, or a lock error, is returned.
  absl::Status TryBatch(SqliteTransaction& tx,
                        const std::vector<Pending*>& batch, bool savepoints,
                        bool* body_failed) {
    absl::Status s = tx.Exec("BEGIN IMMEDIATE");
    if (!s.ok()) return s;
    for (Pending* p : batch) {
      if (savepoints) {
        s = tx.Exec("SAVEPOINT body");
        if (!s.ok()) return s;
      }
      p->status = tx.RunBody(p->body);
      if (IsLockError(p->status)) {
        return p->status;  // locked mid-way: retry the whole batch
      }
      if (!savepoints) {
        if (!p->status.ok()) {
          *body_failed = true;
          return absl::OkStatus();
        }
        continue;
      }
      if (!p->status.ok()) {
        s = tx.Exec("ROLLBACK TO body");
        if (!s.ok()) return s;
      }
      s = tx.Exec("RELEASE body");
      if (!s.ok()) return s;
    }
    s = tx.Exec("COMMIT");
    if (!s.ok()) {
      for (Pending* p : batch) p->status = absl::OkStatus();
    }
    return s;
  }

  sqlite3* conn_;
  const SqliteOptions options_;
  StatementCache statements_;  // used by the committer only
  absl::Mutex mu_;
  std::deque<std::unique_ptr<Pending>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread committer_;
  const bool durable_;
  absl::Mutex sync_mu_;
  // A committed batch waiting for its flush; numbered in commit order.
  struct Round {
    int64_t number;
    std::vector<std::unique_ptr<Pending>> pendings;
  };
  HandOver<Round> to_sync_;
  int64_t committed_rounds_ ABSL_GUARDED_BY(sync_mu_) = 0;
  int64_t durable_rounds_ ABSL_GUARDED_BY(sync_mu_) = 0;
  std::thread syncer_;
  HandOver<Round> to_report_;  // durable batches, for the reporter
  std::thread reporter_;
  int wal_fd_ = -1;  // used by the syncer (or the committer inline)
  absl::Mutex reader_mu_;
  sqlite3* reader_ ABSL_GUARDED_BY(reader_mu_) = nullptr;
  StatementCache reader_statements_ ABSL_GUARDED_BY(reader_mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<Database>> OpenSqlite(
    const SqliteOptions& options) {
  // Allocation statistics take a global mutex on every SQLite malloc; we
  // never read them. (Only takes effect before SQLite's first use.)
  static const int kNoMemStatus = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)kNoMemStatus;
  sqlite3* conn = nullptr;
  // NOMUTEX: only the committer thread uses the connection once it is open.
  int rc = sqlite3_open_v2(
      options.path.c_str(), &conn,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
      nullptr);
  if (rc != SQLITE_OK) {
    absl::Status s = absl::UnavailableError(
        absl::StrCat("cannot open SQLite database '", options.path,
                     "': ", conn ? sqlite3_errmsg(conn) : sqlite3_errstr(rc)));
    if (IsOutageCode(rc)) s = DependencyOutage(std::move(s));
    sqlite3_close_v2(conn);
    return s;
  }
  sqlite3_extended_result_codes(conn, 1);
  sqlite3_busy_timeout(conn, options.busy_timeout_ms);
  // "full": every reported commit is on disk. The connection commits with
  // synchronous=NORMAL (no flush inside COMMIT) and Herald's syncer thread
  // flushes the WAL before reporting, so the next batch runs meanwhile.
  const bool durable = options.synchronous == "full";
  auto db = std::make_unique<SqliteDatabase>(conn, options, durable);
  SqliteTransaction setup(conn, nullptr);
  for (const std::string& pragma :
       {std::string("PRAGMA journal_mode=WAL"),
        absl::StrCat("PRAGMA synchronous=",
                     durable ? std::string("normal") : options.synchronous),
        std::string("PRAGMA foreign_keys=ON"),
        // Reads through a memory map instead of a read() per page miss, and
        // a 64 MiB page cache: the committer re-reads the same hot pages.
        std::string("PRAGMA mmap_size=268435456"),
        std::string("PRAGMA cache_size=-65536"),
        // Copy the WAL back into the database every ~8 MiB instead of
        // every 4 MiB: the same hot pages recur in many commits, and one
        // checkpoint writes each of them once. (Much larger makes each
        // checkpoint a visible stall: p99 20 ms at 40 MiB under load.)
        std::string("PRAGMA wal_autocheckpoint=2000")}) {
    absl::Status s = setup.Query(pragma, {}).status();
    if (!s.ok()) {
      absl::Status failed = absl::UnavailableError(absl::StrCat(
          "cannot set up SQLite database '", options.path, "': ", s.message()));
      if (IsDependencyOutage(s)) failed = DependencyOutage(std::move(failed));
      return failed;
    }
  }
  return std::unique_ptr<Database>(std::move(db));
}

absl::StatusOr<std::unique_ptr<Database>> OpenSqlite(absl::string_view url) {
  absl::string_view rest = url;
  if (!absl::ConsumePrefix(&rest, "sqlite:")) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", RedactUrl(url), "' is not a sqlite: URL"));
  }
  SqliteOptions options;
  std::pair<absl::string_view, absl::string_view> path_query =
      absl::StrSplit(rest, absl::MaxSplits('?', 1));
  options.path = std::string(path_query.first);
  if (options.path.empty()) {
    return absl::InvalidArgumentError("sqlite: URL needs a file path");
  }
  for (absl::string_view kv :
       absl::StrSplit(path_query.second, '&', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> p =
        absl::StrSplit(kv, absl::MaxSplits('=', 1));
    if (p.first == "synchronous" &&
        (p.second == "full" || p.second == "normal" || p.second == "off")) {
      options.synchronous = std::string(p.second);
    } else if (p.first == "busy_timeout_ms" &&
               absl::SimpleAtoi(p.second, &options.busy_timeout_ms)) {
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown or invalid sqlite URL option '", RedactUrl(kv),
          "' (known: synchronous=full|normal|off, busy_timeout_ms=N)"));
    }
  }
  return OpenSqlite(options);
}

}  // namespace db
}  // namespace herald
