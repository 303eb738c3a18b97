// A thin RAII layer over the SQLite C API: one connection, prepared
// statements with typed binds and columns, transactions. Every failure
// throws Error(unavailable) with SQLite's message and the statement.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace cnai::server {

class SqliteStmt {
 public:
  SqliteStmt(sqlite3* db, std::string_view sql);
  ~SqliteStmt();
  SqliteStmt(const SqliteStmt&) = delete;
  SqliteStmt& operator=(const SqliteStmt&) = delete;

  SqliteStmt& bind(int index, std::string_view text);  // 1-based, like SQLite
  SqliteStmt& bind(int index, std::int64_t value);
  /// True while a row is available; false when done.
  bool step();
  /// Ready to step again with new binds.
  void reset();
  std::int64_t int64(int column) const;
  std::string text(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

class SqliteDb {
 public:
  /// Opens (creating) `path` in WAL mode with full fsync and a busy timeout,
  /// so several processes (a server and its workers) can share it.
  explicit SqliteDb(const std::string& path);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  void exec(std::string_view sql);
  SqliteStmt prepare(std::string_view sql) { return SqliteStmt(db_, sql); }
  std::int64_t changes() const { return sqlite3_changes64(db_); }
  sqlite3* handle() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

/// BEGIN IMMEDIATE ... COMMIT; rolls back when left without commit().
class SqliteTransaction {
 public:
  explicit SqliteTransaction(SqliteDb& db);
  ~SqliteTransaction();
  SqliteTransaction(const SqliteTransaction&) = delete;
  SqliteTransaction& operator=(const SqliteTransaction&) = delete;
  void commit();

 private:
  SqliteDb& db_;
  bool done_ = false;
};

}  // namespace cnai::server
