#include "messaging/outbox/outbox_store.h"

#include <algorithm>
#include <iterator>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "messaging/cloudevents.h"

namespace herald {
namespace outbox {
namespace {

bool GetU32(absl::string_view& in, uint32_t* n) {
  if (in.size() < 4) return false;
  *n = 0;
  for (int i = 0; i < 4; ++i) {
    *n |= static_cast<uint32_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  }
  in.remove_prefix(4);
  return true;
}

constexpr char kPositionTable[] =
    "CREATE TABLE outbox_position ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " published_through BIGINT NOT NULL);"
    "INSERT INTO outbox_position(id, published_through) VALUES (1, 0)";

// A PostgreSQL array literal of `values`: "{1,2,3}".
std::string IntArray(const std::vector<int64_t>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ",", values[i]);
  }
  out += "}";
  return out;
}

absl::StatusOr<int64_t> QueryPublishedThrough(db::Transaction& tx) {
  absl::StatusOr<std::vector<db::Row>> rows =
      tx.Query("SELECT published_through FROM outbox_position WHERE id = 1");
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return absl::DataLossError("outbox_position is empty");
  return (*rows)[0].Int(0);
}

}  // namespace

std::vector<db::Migration> OutboxMigrations() {
  return {{1, "outbox",
           "CREATE TABLE outbox ("
           " id INTEGER PRIMARY KEY AUTOINCREMENT,"
           " event_id TEXT NOT NULL, topic TEXT NOT NULL,"
           " msg_key TEXT NOT NULL, headers BLOB NOT NULL,"
           " value BLOB NOT NULL, created_at BIGINT NOT NULL,"
           " published_at BIGINT);"
           "CREATE INDEX outbox_pending ON outbox(published_at, id)",
           "CREATE TABLE outbox ("
           " id BIGSERIAL PRIMARY KEY,"
           " event_id TEXT NOT NULL, topic TEXT NOT NULL,"
           " msg_key TEXT NOT NULL, headers BYTEA NOT NULL,"
           " value BYTEA NOT NULL, created_at BIGINT NOT NULL,"
           " published_at BIGINT);"
           "CREATE INDEX outbox_pending ON outbox(published_at, id)"},
          // Less to write per commit. The index holds only pending rows
          // (published ones leave it), not every row. SQLite drops
          // AUTOINCREMENT, which updated sqlite_sequence on every insert:
          // ids still only grow, because pruning never deletes the newest
          // row.
          {2, "outbox: ids without AUTOINCREMENT, an index of pending rows",
           "CREATE TABLE outbox_v2 ("
           " id INTEGER PRIMARY KEY,"
           " event_id TEXT NOT NULL, topic TEXT NOT NULL,"
           " msg_key TEXT NOT NULL, headers BLOB NOT NULL,"
           " value BLOB NOT NULL, created_at BIGINT NOT NULL,"
           " published_at BIGINT);"
           "INSERT INTO outbox_v2 SELECT id, event_id, topic, msg_key, headers,"
           " value, created_at, published_at FROM outbox;"
           "DROP TABLE outbox;"
           "ALTER TABLE outbox_v2 RENAME TO outbox;"
           "CREATE INDEX outbox_pending ON outbox(id)"
           " WHERE published_at IS NULL",
           "DROP INDEX outbox_pending;"
           "CREATE INDEX outbox_pending ON outbox(id)"
           " WHERE published_at IS NULL"},
          // The relay's position: every row up to `published_through` is
          // published. On SQLite ids become visible in commit order, so the
          // relay records deliveries like a consumer offset, one small
          // write per batch instead of rewriting each row.
          {3, "outbox: the relay position", kPositionTable, kPositionTable},
          // Nothing to change in the tables: new rows hold their headers in
          // format 2 (EncodeHeaders), which earlier versions cannot read.
          // Recorded so that such a version refuses this database.
          {4, "outbox: headers in format 2", "", ""},
          // PostgreSQL, several gateways (see outbox_store.h): shards with
          // a gapless number per shard, leases on shards, live relays.
          // Rows pending at the upgrade go to shard 0, numbered by id.
          // SQLite serves one gateway: nothing changes there.
          {5, "outbox: shards, shard leases (PostgreSQL)", "",
           "ALTER TABLE outbox ADD COLUMN shard INTEGER NOT NULL DEFAULT 0;"
           "ALTER TABLE outbox ADD COLUMN shard_seq BIGINT;"
           "UPDATE outbox SET shard_seq = id WHERE published_at IS NULL;"
           "CREATE INDEX outbox_shard_pending ON outbox(shard, shard_seq)"
           " WHERE published_at IS NULL;"
           "CREATE TABLE outbox_shards ("
           " shard INTEGER PRIMARY KEY, last_seq BIGINT NOT NULL);"
           "INSERT INTO outbox_shards(shard, last_seq)"
           " SELECT g, 0 FROM generate_series(0, 63) g;"
           "UPDATE outbox_shards SET last_seq ="
           " (SELECT COALESCE(MAX(id), 0) FROM outbox) WHERE shard = 0;"
           "CREATE TABLE outbox_leases ("
           " shard INTEGER PRIMARY KEY, owner TEXT NOT NULL,"
           " lease_until BIGINT NOT NULL);"
           "INSERT INTO outbox_leases(shard, owner, lease_until)"
           " SELECT g, '', 0 FROM generate_series(0, 63) g;"
           "CREATE TABLE outbox_relays ("
           " owner TEXT PRIMARY KEY, seen_until BIGINT NOT NULL)"}};
}

int ShardOf(absl::string_view key) {
  uint32_t hash = 2166136261u;
  for (char c : key) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 16777619u;
  }
  return static_cast<int>(hash % kOutboxShards);
}

namespace {

// Headers format 2: kFormat2, then one entry per header, tagged by its
// first byte. Names and values every Herald event carries are one byte, so
// a row's headers take about 80 bytes instead of 226. (Format 1 would start
// so only with a header name of 64 KiB or more.)
constexpr absl::string_view kFormat2("\xff\xff\x02", 3);
constexpr char kLiteral = 0x00;  // varint name size, name, then the value
// 0x01...: a whole header that recurs on every record.
constexpr std::pair<absl::string_view, absl::string_view> kKnownHeaders[] = {
    {ce::kSpecVersion, ce::kSpecVersionValue},
    {ce::kContentType, ce::kProtobufContentType},
};
constexpr char kFirstKnownHeader = 0x01;
// 0x20...: a known name, then the value. Append only: the codes are stored.
constexpr absl::string_view kKnownNames[] = {
    ce::kSpecVersion, ce::kId,          ce::kType,     ce::kSource,
    ce::kTime,        ce::kContentType, "traceparent", "tracestate",
};
constexpr char kFirstKnownName = 0x20;
// ce_id with the row's event_id as its value (the usual case): stored once.
constexpr char kIdIsEventId = 0x7f;

void PutVarint(std::string& out, uint64_t n) {
  while (n >= 0x80) {
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
}

bool GetVarint(absl::string_view& in, uint64_t* n) {
  *n = 0;
  for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
    const auto byte = static_cast<unsigned char>(in.front());
    in.remove_prefix(1);
    *n |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

void PutBytes(std::string& out, absl::string_view bytes) {
  PutVarint(out, bytes.size());
  out.append(bytes.data(), bytes.size());
}

bool GetBytes(absl::string_view& in, absl::string_view* bytes) {
  uint64_t n;
  if (!GetVarint(in, &n) || in.size() < n) return false;
  *bytes = in.substr(0, n);
  in.remove_prefix(n);
  return true;
}

absl::Status Corrupt() { return absl::DataLossError("corrupt outbox headers"); }

// Format 1, written before format 2 existed (rows may still be pending):
// (u32 name length, name, u32 value length, value)*.
absl::Status VisitFormat1(
    absl::string_view in,
    absl::FunctionRef<void(absl::string_view, absl::string_view)> visit) {
  while (!in.empty()) {
    uint32_t n;
    if (!GetU32(in, &n) || in.size() < n) return Corrupt();
    absl::string_view name = in.substr(0, n);
    in.remove_prefix(n);
    if (!GetU32(in, &n) || in.size() < n) return Corrupt();
    visit(name, in.substr(0, n));
    in.remove_prefix(n);
  }
  return absl::OkStatus();
}

// Appends one header to `out`, a format 2 encoding.
void AppendHeader(std::string& out, absl::string_view name,
                  absl::string_view value, absl::string_view event_id) {
  if (name == ce::kId && value == event_id) {
    out.push_back(kIdIsEventId);
    return;
  }
  const auto known =
      std::find(std::begin(kKnownHeaders), std::end(kKnownHeaders),
                std::make_pair(name, value));
  if (known != std::end(kKnownHeaders)) {
    out.push_back(static_cast<char>(kFirstKnownHeader +
                                    (known - std::begin(kKnownHeaders))));
    return;
  }
  const auto known_name =
      std::find(std::begin(kKnownNames), std::end(kKnownNames), name);
  if (known_name != std::end(kKnownNames)) {
    out.push_back(static_cast<char>(kFirstKnownName +
                                    (known_name - std::begin(kKnownNames))));
  } else {
    out.push_back(kLiteral);
    PutBytes(out, name);
  }
  PutBytes(out, value);
}

}  // namespace

std::string EncodeHeaders(const Headers& headers, absl::string_view event_id) {
  std::string out(kFormat2);
  for (const auto& [name, value] : headers) {
    AppendHeader(out, name, value, event_id);
  }
  return out;
}

absl::Status VisitHeaders(
    absl::string_view in, absl::string_view event_id,
    absl::FunctionRef<void(absl::string_view, absl::string_view)> visit) {
  if (!absl::ConsumePrefix(&in, kFormat2)) return VisitFormat1(in, visit);
  constexpr int kKnownHeaderCount = std::size(kKnownHeaders);
  constexpr int kKnownNameCount = std::size(kKnownNames);
  while (!in.empty()) {
    const char tag = in.front();
    in.remove_prefix(1);
    if (tag == kIdIsEventId) {
      visit(ce::kId, event_id);
      continue;
    }
    if (tag >= kFirstKnownHeader &&
        tag < kFirstKnownHeader + kKnownHeaderCount) {
      const auto& [name, value] = kKnownHeaders[tag - kFirstKnownHeader];
      visit(name, value);
      continue;
    }
    absl::string_view name, value;
    if (tag >= kFirstKnownName && tag < kFirstKnownName + kKnownNameCount) {
      name = kKnownNames[tag - kFirstKnownName];
    } else if (tag != kLiteral || !GetBytes(in, &name)) {
      return Corrupt();
    }
    if (!GetBytes(in, &value)) return Corrupt();
    visit(name, value);
  }
  return absl::OkStatus();
}

absl::StatusOr<Headers> DecodeHeaders(absl::string_view encoded,
                                      absl::string_view event_id) {
  Headers headers;
  absl::Status s = VisitHeaders(
      encoded, event_id, [&](absl::string_view name, absl::string_view value) {
        headers.emplace_back(std::string(name), std::string(value));
      });
  if (!s.ok()) return s;
  return headers;
}

namespace {

// An OutboxRow's values, in AppendToOutbox's column order.
enum Column { kEventId, kTopic, kKey, kHeaders, kValue, kCreatedAt };

OutboxRow MakeRow(std::string event_id, std::string topic, std::string key,
                  std::string headers, std::string value, int64_t created_ms) {
  OutboxRow row;
  row.values.reserve(6);
  row.values.emplace_back(std::move(event_id));
  row.values.emplace_back(std::move(topic));
  row.values.emplace_back(std::move(key));
  row.values.emplace_back(db::Bytes{std::move(headers)});
  row.values.emplace_back(db::Bytes{std::move(value)});
  row.values.emplace_back(created_ms);
  return row;
}

absl::string_view TextAt(const std::vector<db::Value>& values, Column c) {
  const db::Value& v = values.at(c);
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* b = std::get_if<db::Bytes>(&v)) return b->data;
  return {};
}

}  // namespace

absl::string_view OutboxRow::event_id() const {
  return TextAt(values, kEventId);
}
absl::string_view OutboxRow::topic() const { return TextAt(values, kTopic); }
absl::string_view OutboxRow::key() const { return TextAt(values, kKey); }
absl::string_view OutboxRow::headers() const {
  return TextAt(values, kHeaders);
}
absl::string_view OutboxRow::value() const { return TextAt(values, kValue); }

absl::StatusOr<OutgoingMessage> ToMessage(const OutboxRow& row) {
  absl::StatusOr<Headers> headers =
      DecodeHeaders(row.headers(), row.event_id());
  if (!headers.ok()) return headers.status();
  OutgoingMessage message;
  message.topic = std::string(row.topic());
  message.key = std::string(row.key());
  message.headers = *std::move(headers);
  message.value = std::string(row.value());
  message.event_id = std::string(row.event_id());
  return message;
}

absl::StatusOr<OutboxRow> EncodeOutboxRow(
    const google::protobuf::Message& event, absl::string_view source) {
  absl::StatusOr<EventParts> parts = EncodeEventParts(event);
  if (!parts.ok()) return parts.status();
  char time[kEventTimeMaxSize];
  const size_t time_size = WriteEventTime(parts->time, time);
  std::string headers(kFormat2);
  headers.reserve(kFormat2.size() + 8 + parts->type.size() + source.size() +
                  time_size);
  ForEachEventHeader(parts->event_id, parts->type, source,
                     absl::string_view(time, time_size),
                     [&](absl::string_view name, absl::string_view value) {
                       AppendHeader(headers, name, value, parts->event_id);
                     });
  return MakeRow(std::move(parts->event_id), std::move(parts->topic),
                 std::move(parts->key), std::move(headers),
                 std::move(parts->value), absl::ToUnixMillis(parts->time));
}

OutboxRow PrepareOutboxRow(const OutgoingMessage& message) {
  // created_at: when the row was made. Rows made on different threads may
  // be a few milliseconds out of id order, which retention does not notice.
  return MakeRow(message.event_id, message.topic, message.key,
                 EncodeHeaders(message.headers, message.event_id),
                 message.value, absl::ToUnixMillis(absl::Now()));
}

absl::Status AppendToOutbox(db::Transaction& tx, const OutboxRow& row,
                            RowPosition* position) {
  if (tx.dialect() != db::Dialect::kPostgres) {
    int64_t id = 0;
    absl::Status s = AppendToOutbox(tx, row, &id);
    if (position != nullptr) *position = {id, 0, 0};
    return s;
  }
  // One round trip: take the shard's next number (locking its row until
  // commit: see outbox_store.h) and insert. No NOTIFY here: it would
  // serialize the commits (commit_notices.h).
  static constexpr char kInsert[] =
      "WITH s AS (UPDATE outbox_shards SET last_seq = last_seq + 1"
      " WHERE shard = ?::integer RETURNING shard, last_seq)"
      " INSERT INTO outbox(event_id, topic, msg_key, headers, value,"
      " created_at, shard, shard_seq)"
      " SELECT ?::text, ?::text, ?::text, ?::bytea, ?::bytea, ?::bigint,"
      " s.shard, s.last_seq FROM s"
      " RETURNING id, shard_seq";
  const int shard = ShardOf(row.key());
  std::vector<db::Value> params;
  params.reserve(7);
  params.emplace_back(int64_t{shard});
  params.insert(params.end(), row.values.begin(), row.values.end());
  absl::StatusOr<std::vector<db::Row>> inserted = tx.Query(kInsert, params);
  if (!inserted.ok()) return inserted.status();
  if (inserted->size() != 1) {
    return absl::DataLossError(
        absl::StrCat("outbox_shards has no row for shard ", shard));
  }
  if (position != nullptr) {
    *position = {(*inserted)[0].Int(0), shard, (*inserted)[0].Int(1)};
  }
  return absl::OkStatus();
}

namespace {

// The row by id alone, without shard or number (SQLite's layout, and
// PostgreSQL's baseline); its id in `*id` when asked.
absl::Status InsertById(db::Transaction& tx, const OutboxRow& row,
                        int64_t* id) {
  static constexpr char kInsert[] =
      "INSERT INTO outbox(event_id, topic, msg_key, headers, value,"
      " created_at) VALUES (?, ?, ?, ?, ?, ?)";
  if (id == nullptr) return tx.Execute(kInsert, row.values).status();
  absl::StatusOr<int64_t> new_id =
      tx.InsertReturningId(kInsert, row.values, "id");
  if (!new_id.ok()) return new_id.status();
  *id = *new_id;
  return absl::OkStatus();
}

}  // namespace

absl::Status AppendToOutboxById(db::Transaction& tx, const OutboxRow& row,
                                RowPosition* position) {
  int64_t id = 0;
  absl::Status s = InsertById(tx, row, &id);
  if (position != nullptr) *position = {id, 0, 0};
  return s;
}

absl::Status AppendToOutbox(db::Transaction& tx, const OutboxRow& row,
                            int64_t* id) {
  if (tx.dialect() == db::Dialect::kPostgres) {
    RowPosition position;
    absl::Status s = AppendToOutbox(tx, row, &position);
    if (id != nullptr) *id = position.id;
    return s;
  }
  return InsertById(tx, row, id);
}

absl::Status AppendToOutbox(db::Transaction& tx, const OutgoingMessage& message,
                            int64_t* id) {
  return AppendToOutbox(tx, PrepareOutboxRow(message), id);
}

absl::StatusOr<std::vector<PendingRow>> FetchPending(db::Database& db,
                                                     int64_t after_id,
                                                     int limit) {
  auto rows = db.ReadValue<std::vector<db::Row>>(
      [&](db::Transaction& tx) -> absl::StatusOr<std::vector<db::Row>> {
        // One bound for the index range: rows up to the position are
        // published without a mark of their own.
        absl::StatusOr<int64_t> through = QueryPublishedThrough(tx);
        if (!through.ok()) return through.status();
        return tx.Query(
            "SELECT id, event_id, topic, msg_key, headers, value, created_at"
            " FROM outbox WHERE published_at IS NULL AND id > ?"
            " ORDER BY id LIMIT ?",
            {std::max(after_id, *through), static_cast<int64_t>(limit)});
      });
  if (!rows.ok()) return rows.status();
  std::vector<PendingRow> out;
  out.reserve(rows->size());
  for (const db::Row& row : *rows) {
    PendingRow pending;
    pending.id = row.Int(0);
    pending.created_at = absl::FromUnixMillis(row.Int(6));
    pending.row = MakeRow(row.String(1), row.String(2), row.String(3),
                          row.String(4), row.String(5), row.Int(6));
    // A row that cannot be published as it was stored stops the relay
    // here, loudly, rather than going out damaged.
    absl::Status valid =
        VisitHeaders(pending.row.headers(), pending.row.event_id(),
                     [](absl::string_view, absl::string_view) {});
    if (!valid.ok()) {
      return absl::DataLossError(
          absl::StrCat("outbox row ", pending.id, ": ", valid.message()));
    }
    out.push_back(std::move(pending));
  }
  return out;
}

absl::StatusOr<ShardScan> FetchPendingInShards(
    db::Database& db, const std::vector<ShardCursor>& cursors,
    int per_shard_limit) {
  ShardScan scan;
  if (cursors.empty()) return scan;
  std::vector<int64_t> shard_ids, afters;
  for (const ShardCursor& cursor : cursors) {
    shard_ids.push_back(cursor.shard);
    afters.push_back(cursor.after);
  }
  auto rows = db.ReadValue<std::vector<db::Row>>([&](db::Transaction& tx) {
    return tx.Query(
        "SELECT c.shard, s.last_seq, o.id, o.event_id, o.topic, o.msg_key,"
        " o.headers, o.value, o.created_at, o.shard_seq"
        " FROM unnest(?::integer[], ?::bigint[]) AS c(shard, after)"
        " JOIN outbox_shards s ON s.shard = c.shard"
        " LEFT JOIN LATERAL (SELECT id, event_id, topic, msg_key, headers,"
        " value, created_at, shard_seq FROM outbox"
        " WHERE shard = c.shard AND shard_seq > c.after"
        " AND published_at IS NULL ORDER BY shard_seq LIMIT ?::integer) o"
        " ON true ORDER BY c.shard, o.shard_seq",
        {IntArray(shard_ids), IntArray(afters), int64_t{per_shard_limit}});
  });
  if (!rows.ok()) return rows.status();
  for (const db::Row& row : *rows) {
    const int shard = static_cast<int>(row.Int(0));
    if (scan.last_seq.empty() || scan.last_seq.back().first != shard) {
      scan.last_seq.emplace_back(shard, row.Int(1));
    }
    if (row.IsNull(2)) continue;  // nothing pending in the shard
    PendingRow pending;
    pending.id = row.Int(2);
    pending.created_at = absl::FromUnixMillis(row.Int(8));
    pending.row = MakeRow(row.String(3), row.String(4), row.String(5),
                          row.String(6), row.String(7), row.Int(8));
    pending.shard = shard;
    pending.seq = row.Int(9);
    absl::Status valid =
        VisitHeaders(pending.row.headers(), pending.row.event_id(),
                     [](absl::string_view, absl::string_view) {});
    if (!valid.ok()) {
      return absl::DataLossError(
          absl::StrCat("outbox row ", pending.id, ": ", valid.message()));
    }
    scan.rows.push_back(std::move(pending));
  }
  return scan;
}

absl::StatusOr<int64_t> ReadPublishedThrough(db::Database& db) {
  return db.ReadValue<int64_t>(QueryPublishedThrough);
}

absl::Status MarkPublished(db::Database& db, const std::vector<int64_t>& ids,
                           int64_t through) {
  // Rows at or below `through` are covered by the position.
  std::vector<int64_t> marks;
  for (int64_t id : ids) {
    if (id > through) marks.push_back(id);
  }
  if (marks.empty() && through <= 0) return absl::OkStatus();
  auto advance_position = [through](db::Transaction& tx) -> absl::Status {
    if (through <= 0) return absl::OkStatus();
    return tx
        .Execute(
            "UPDATE outbox_position SET published_through = ?"
            " WHERE id = 1 AND published_through < ?",
            {through, through})
        .status();
  };
  if (db.dialect() == db::Dialect::kPostgres) {
    // One statement for the lot, whatever their order: rows of many shards
    // interleave their ids (a run per id would be a round trip per row).
    return db.Transact([&](db::Transaction& tx) -> absl::Status {
      absl::Status advanced = advance_position(tx);
      if (!advanced.ok()) return advanced;
      if (marks.empty()) return absl::OkStatus();
      return tx
          .Execute(
              "UPDATE outbox SET published_at = ?::bigint"
              " WHERE id = ANY(?::bigint[])",
              {absl::ToUnixMillis(absl::Now()), IntArray(marks)})
          .status();
    });
  }
  // SQLite: delivered ids come mostly in long consecutive runs: one
  // statement per run, always the same SQL (prepared once), instead of an
  // IN list whose text changes with its length.
  std::sort(marks.begin(), marks.end());
  std::vector<std::pair<int64_t, int64_t>> runs;
  for (int64_t id : marks) {
    if (!runs.empty() && id <= runs.back().second + 1) {
      runs.back().second = std::max(runs.back().second, id);
    } else {
      runs.emplace_back(id, id);
    }
  }
  return db.Transact([&](db::Transaction& tx) -> absl::Status {
    absl::Status advanced = advance_position(tx);
    if (!advanced.ok()) return advanced;
    int64_t now = absl::ToUnixMillis(absl::Now());
    for (const auto& [first, last] : runs) {
      absl::StatusOr<int64_t> r = tx.Execute(
          "UPDATE outbox SET published_at = ? WHERE id BETWEEN ? AND ?",
          {now, first, last});
      if (!r.ok()) return r.status();
    }
    return absl::OkStatus();
  });
}

namespace {

// The smallest id from which on rows were created at or after `cutoff`
// (created_at grows with id, give or take milliseconds), at most the newest
// id; 0 for an empty table.
// A binary search of point reads: no index on created_at needed.
absl::StatusOr<int64_t> FirstIdCreatedSince(db::Database& db,
                                            absl::Time cutoff) {
  return db.ReadValue<int64_t>(
      [&](db::Transaction& tx) -> absl::StatusOr<int64_t> {
        absl::StatusOr<std::vector<db::Row>> bounds =
            tx.Query("SELECT MIN(id), MAX(id) FROM outbox");
        if (!bounds.ok()) return bounds.status();
        if ((*bounds)[0].IsNull(0)) return 0;
        int64_t lo = (*bounds)[0].Int(0), hi = (*bounds)[0].Int(1);
        const int64_t cutoff_ms = absl::ToUnixMillis(cutoff);
        while (lo < hi) {
          int64_t mid = lo + (hi - lo) / 2;
          absl::StatusOr<std::vector<db::Row>> row = tx.Query(
              "SELECT created_at FROM outbox WHERE id >= ? ORDER BY id LIMIT 1",
              {mid});
          if (!row.ok()) return row.status();
          if (!row->empty() && (*row)[0].Int(0) < cutoff_ms) {
            lo = mid + 1;
          } else {
            hi = mid;
          }
        }
        return hi;
      });
}

}  // namespace

absl::StatusOr<int64_t> PrunePublished(db::Database& db, absl::Time cutoff) {
  // Rows below the first one created since the cutoff: a range of the
  // primary key, deleted a slice per transaction so that writers never wait
  // long behind it, keeping those still pending. The newest row is never
  // deleted, so a new row never reuses an id.
  absl::StatusOr<int64_t> end = FirstIdCreatedSince(db, cutoff);
  if (!end.ok()) return end.status();
  absl::StatusOr<int64_t> through = ReadPublishedThrough(db);
  if (!through.ok()) return through.status();
  constexpr int64_t kSlice = 5000;
  int64_t pruned = 0;
  for (int64_t from = 0; from < *end;) {
    absl::StatusOr<int64_t> first = db.ReadValue<int64_t>(
        [&](db::Transaction& tx) -> absl::StatusOr<int64_t> {
          auto rows =
              tx.Query("SELECT MIN(id) FROM outbox WHERE id >= ?", {from});
          if (!rows.ok()) return rows.status();
          return (*rows)[0].IsNull(0) ? *end : (*rows)[0].Int(0);
        });
    if (!first.ok()) return first.status();
    const int64_t to = std::min(*end, *first + kSlice);
    absl::StatusOr<int64_t> n =
        db.TransactValue<int64_t>([&](db::Transaction& tx) {
          return tx.Execute(
              "DELETE FROM outbox WHERE id >= ? AND id < ?"
              " AND (id <= ? OR published_at IS NOT NULL)",
              {*first, to, *through});
        });
    if (!n.ok()) return n.status();
    pruned += *n;
    from = to;
  }
  return pruned;
}

absl::StatusOr<std::map<std::string, Backlog>> ReadBacklogByTopic(
    db::Database& db) {
  auto rows = db.ReadValue<std::vector<db::Row>>(
      [](db::Transaction& tx) -> absl::StatusOr<std::vector<db::Row>> {
        absl::StatusOr<int64_t> through = QueryPublishedThrough(tx);
        if (!through.ok()) return through.status();
        return tx.Query(
            "SELECT topic, COUNT(*), MIN(created_at) FROM outbox"
            " WHERE published_at IS NULL AND id > ? GROUP BY topic",
            {*through});
      });
  if (!rows.ok()) return rows.status();
  std::map<std::string, Backlog> backlogs;
  const absl::Time now = absl::Now();
  for (const db::Row& row : *rows) {
    Backlog& backlog = backlogs[row.String(0)];
    backlog.pending = row.Int(1);
    backlog.oldest_age = now - absl::FromUnixMillis(row.Int(2));
  }
  return backlogs;
}

// The whole backlog is the sum of the topics' (one query, one rule for
// what counts as pending).
absl::StatusOr<Backlog> ReadBacklog(db::Database& db) {
  absl::StatusOr<std::map<std::string, Backlog>> by_topic =
      ReadBacklogByTopic(db);
  if (!by_topic.ok()) return by_topic.status();
  Backlog backlog;
  for (const auto& [topic, each] : *by_topic) {
    backlog.pending += each.pending;
    backlog.oldest_age = std::max(backlog.oldest_age, each.oldest_age);
  }
  return backlog;
}

}  // namespace outbox
}  // namespace herald
