//! Where audit events live: SQLite (default, WAL, on the persistent volume) or PostgreSQL
//! (production, shared by replicas). One chain for the whole trail: an append takes the chain
//! head row's lock (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite's write lock), seals the batch
//! on top of the head, inserts it and moves the head, in one transaction. So replicas writing
//! to one database never fork the chain, and a batch costs one lock and one commit.

use super::Event;
use super::chain::GENESIS;
use super::event::Sealed;
use crate::config::ConfigError;
use serde_json::Value;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{Connection, Row, Transaction};
use std::borrow::Cow;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub enum Store {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A stored event: its sealed JSON.
pub type Stored = Value;

const SQLITE_SCHEMA: [&str; 5] = [
    "CREATE TABLE IF NOT EXISTS audit_events (seq INTEGER PRIMARY KEY, time TEXT NOT NULL, subject TEXT, action TEXT NOT NULL, event TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS audit_events_time ON audit_events (time)",
    "CREATE TABLE IF NOT EXISTS audit_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS audit_checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS audit_exports (first_seq INTEGER PRIMARY KEY, last_seq INTEGER NOT NULL, first_hash TEXT NOT NULL, last_hash TEXT NOT NULL, object_key TEXT NOT NULL)",
];

const POSTGRES_SCHEMA: [&str; 5] = [
    "CREATE TABLE IF NOT EXISTS audit_events (seq BIGINT PRIMARY KEY, time TEXT NOT NULL, subject TEXT, action TEXT NOT NULL, event TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS audit_events_time ON audit_events (time)",
    "CREATE TABLE IF NOT EXISTS audit_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL, hash TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS audit_checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL, hash TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS audit_exports (first_seq BIGINT PRIMARY KEY, last_seq BIGINT NOT NULL, first_hash TEXT NOT NULL, last_hash TEXT NOT NULL, object_key TEXT NOT NULL)",
];

const INIT_HEAD: &str =
    "INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, $1) ON CONFLICT (id) DO NOTHING";
/// The rows of one multi-row INSERT on SQLite: the first of these sizes a batch still has, or
/// fewer than the smallest. Every statement is kept prepared (one per size and [`Chunk`]: at most
/// 34, within sqlx's cache of 100): SQLite compiles each row of a VALUES list anew, and parsing
/// the INSERT cost about as much per event as running it. Each chunk is a round trip to the
/// connection's thread, so chunks are large; each size is a prepared statement per connection
/// (tens of KiB for 64 rows), so sizes are few.
const SQLITE_CHUNKS: [usize; 2] = [64, 16];

/// Takes SQLite's write lock and reads the chain head, in one round trip to the connection's
/// thread.
const SQLITE_LOCK_AND_HEAD: &str = "BEGIN IMMEDIATE; SELECT seq, hash FROM audit_head WHERE id = 1";

/// Moves the chain head and commits: after the last rows of a batch, or alone for none.
const SQLITE_MOVE_HEAD_AND_COMMIT: &str =
    "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1; COMMIT";

/// Which statement an INSERT of a batch's rows is: a chunk with more to follow, or the last,
/// which also moves the head and commits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chunk {
    More,
    Last,
}

/// The INSERT of `rows` events (1 to the largest chunk), written once: building it for every
/// batch formatted a placeholder per column. The last chunk of a batch carries
/// [`SQLITE_MOVE_HEAD_AND_COMMIT`] too: each statement sent is a round trip to the
/// connection's thread, and each round trip wakes two threads.
fn sqlite_insert(rows: usize, chunk: Chunk) -> &'static str {
    type Texts = std::sync::LazyLock<Vec<String>>;
    fn texts(tail: &str) -> Vec<String> {
        (0..=SQLITE_CHUNKS[0])
            .map(|rows| {
                let values = vec!["(?, ?, ?, ?, ?, ?, ?)"; rows].join(", ");
                format!("INSERT INTO audit_events (seq, time, subject, action, event, prev_hash, hash) VALUES {values}{tail}")
            })
            .collect()
    }
    static MORE: Texts = Texts::new(|| texts(""));
    static LAST: Texts = Texts::new(|| texts(&format!("; {SQLITE_MOVE_HEAD_AND_COMMIT}")));
    match chunk {
        Chunk::More => &MORE[rows],
        Chunk::Last => &LAST[rows],
    }
}

/// How many of `remaining` rows the next INSERT takes (`SQLITE_CHUNKS`).
fn sqlite_chunk(remaining: usize) -> usize {
    SQLITE_CHUNKS
        .into_iter()
        .find(|size| *size <= remaining)
        .unwrap_or(remaining)
}

/// Why the audit store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed a statement, or could not be reached.
    #[error("{}", sql_message(.0))]
    Sql(#[from] sqlx::Error),
    /// The directory of the SQLite file could not be created.
    #[error("cannot create {}: {source}", .dir.display())]
    CreateDir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The SQLite file to check is not there.
    #[error("the audit database `{path}` does not exist (is its volume mounted?)")]
    Missing { path: String },
    /// The SQLite file to check cannot be opened or queried.
    #[error("`{path}` cannot be read as an audit database: {source}")]
    Unreadable {
        path: String,
        #[source]
        source: sqlx::Error,
    },
    /// The SQLite file to check has no audit table.
    #[error("`{path}` holds no audit trail (no `audit_events` table)")]
    NoTrail { path: String },
    /// The PostgreSQL URL does not parse. The parser's reason is left out: it may quote the
    /// URL, and with it the password.
    #[error("the PostgreSQL URL is not valid")]
    InvalidUrl,
    /// The PostgreSQL host is, or resolves to, a metadata or link-local address.
    #[error("the PostgreSQL host: {0}")]
    Forbidden(#[from] crate::outbound::Refused),
    /// The Secret file holding the PostgreSQL URL cannot be read.
    #[error(transparent)]
    Secret(#[from] ConfigError),
    /// A stored event is not JSON.
    #[error("event {seq} is not JSON: {source}")]
    NotJson {
        seq: i64,
        #[source]
        source: serde_json::Error,
    },
}

/// What a database's own error says (its message, without sqlx's prefix), or sqlx's text for
/// any other failure.
fn sql_message(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(db) => format!("database error: {}", db.message()),
        other => other.to_string(),
    }
}

/// One event as the columns of `audit_events`: its stored text (moved into the statement's
/// arguments), and the indexed columns borrowed from its fields. PostgreSQL's encoder writes
/// them straight into its message; SQLite's driver copies each bound text once.
struct EventRow<'e> {
    seq: i64,
    time: Cow<'e, str>,
    subject: Option<Cow<'e, str>>,
    action: Cow<'e, str>,
    json: String,
    prev_hash: &'e str,
    hash: &'e str,
}

/// A batch of rows, column-major, for PostgreSQL's `UNNEST` insert.
#[derive(Default)]
struct Columns<'e> {
    seq: Vec<i64>,
    time: Vec<Cow<'e, str>>,
    subject: Vec<Option<Cow<'e, str>>>,
    action: Vec<Cow<'e, str>>,
    json: Vec<String>,
    prev_hash: Vec<&'e str>,
    hash: Vec<&'e str>,
}

impl<'e> Columns<'e> {
    fn push(&mut self, row: EventRow<'e>) {
        self.seq.push(row.seq);
        self.time.push(row.time);
        self.subject.push(row.subject);
        self.action.push(row.action);
        self.json.push(row.json);
        self.prev_hash.push(row.prev_hash);
        self.hash.push(row.hash);
    }
}

/// The indexed columns of an event, from its fields (`get`: an [`Event`]'s or a stored JSON
/// object's).
fn row_parts<'e>(get: impl Fn(&str) -> Option<&'e Value>, json: String) -> EventRow<'e> {
    let text = |k: &str| get(k).and_then(Value::as_str).unwrap_or_default();
    EventRow {
        seq: get("seq").and_then(Value::as_i64).unwrap_or_default(),
        time: Cow::Borrowed(text("time")),
        subject: get("subject").and_then(Value::as_str).map(Cow::Borrowed),
        action: Cow::Borrowed(text("action")),
        json,
        prev_hash: text("prev_hash"),
        hash: text("hash"),
    }
}

/// A column of texts as PostgreSQL binds it.
fn borrowed<'c>(column: &'c [Cow<'_, str>]) -> Vec<&'c str> {
    column.iter().map(AsRef::as_ref).collect()
}

/// The advisory-lock key of the export ("airlock" as a number).
const EXPORT_LOCK_KEY: i64 = 0x0061_6972_6c6f_636b;

/// Held while one export runs (see [`Store::export_lock`]).
pub struct ExportLock {
    _transaction: Option<Transaction<'static, sqlx::Postgres>>,
}

impl Store {
    /// Opens (creating if needed) a SQLite database file.
    pub async fn sqlite(path: &str) -> Result<Self, StoreError> {
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            // A file does not go away as a server does, and a failed statement closes its
            // connection (`append_once`): a ping before each batch would cost a round trip to
            // the connection's thread for nothing.
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(Self::sqlite_options(path)?)
            .await?;
        Self::sqlite_pool(pool).await
    }

    /// How the audit store opens a SQLite file: created if missing (with its directory), WAL,
    /// synchronous commits, a 10 s busy timeout.
    pub fn sqlite_options(path: &str) -> Result<SqliteConnectOptions, StoreError> {
        if let Some(dir) = std::path::Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                dir: dir.to_path_buf(),
                source,
            })?;
        }
        Ok(SqliteConnectOptions::from_str(&format!("sqlite://{path}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10)))
    }

    /// The store on a pool of SQLite connections (the tests set limits on theirs).
    pub async fn sqlite_pool(pool: SqlitePool) -> Result<Self, StoreError> {
        let store = Store::Sqlite(pool);
        store.migrate().await?;
        Ok(store)
    }

    /// Whether `path` holds an audit trail, without creating or changing anything: checking a
    /// trail must not conjure an empty one where the real one is missing (a wrong path, an
    /// unmounted volume, a deleted file).
    pub async fn sqlite_trail_exists(path: &str) -> Result<(), StoreError> {
        if !std::path::Path::new(path).is_file() {
            return Err(StoreError::Missing { path: path.into() });
        }
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))?
            .read_only(true)
            .create_if_missing(false);
        let unreadable = |source| StoreError::Unreadable {
            path: path.into(),
            source,
        };
        let mut connection = SqliteConnection::connect_with(&options)
            .await
            .map_err(unreadable)?;
        let tables: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'audit_events'",
        )
        .fetch_one(&mut connection)
        .await
        .map_err(unreadable)?;
        let _ = connection.close().await;
        if tables == 0 {
            return Err(StoreError::NoTrail { path: path.into() });
        }
        Ok(())
    }

    /// Connects to PostgreSQL (the URL from the mounted Secret).
    pub async fn postgres(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(|_| StoreError::InvalidUrl)?;
        if !options.get_host().starts_with('/') {
            crate::outbound::check_host(options.get_host()).await?;
        }
        let pool = PgPoolOptions::new()
            .max_connections(4)
            // A server that is down is found within this when no connection is open.
            .acquire_timeout(Duration::from_secs(2))
            .connect_with(options)
            .await?;
        let store = Store::Postgres(pool);
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(pool) => {
                for statement in SQLITE_SCHEMA {
                    sqlx::query(statement).execute(pool).await?;
                }
                sqlx::query(INIT_HEAD).bind(GENESIS).execute(pool).await?;
            }
            Store::Postgres(pool) => {
                // Replicas start together: one creates the tables, the others wait for it.
                let mut tx = pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock(424242)")
                    .execute(&mut *tx)
                    .await?;
                for statement in POSTGRES_SCHEMA {
                    sqlx::query(statement).execute(&mut *tx).await?;
                }
                sqlx::query(INIT_HEAD)
                    .bind(GENESIS)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgresql",
        }
    }

    /// Seals and appends a batch on top of the chain head; returns the new head.
    pub async fn append(&self, events: &mut [Event]) -> Result<(i64, String), StoreError> {
        self.append_once(events, &mut None).await
    }

    /// One attempt at appending a batch, for a writer that retries. `sealed` carries, from one
    /// attempt to the next, the head the batch was sealed to just before a commit was sent: if
    /// that commit's outcome is unknown (the connection failed, or the attempt was abandoned
    /// during it), this attempt first looks for that head under the chain head's lock, where
    /// every earlier transaction has ended, and writes nothing if it is there. The connection
    /// of an attempt that did not commit is closed, never reused: after a failed commit SQLite
    /// may have rolled back on its own, and a connection whose transaction state is unknown
    /// must not carry the next batch.
    pub async fn append_once(
        &self,
        events: &mut [Event],
        sealed: &mut Option<(i64, String)>,
    ) -> Result<(i64, String), StoreError> {
        match self {
            Store::Sqlite(pool) => {
                let mut connection = CloseUnlessFinished(Some(pool.acquire().await?));
                let head = append_sqlite(connection.get(), events, sealed).await?;
                connection.finished();
                Ok(head)
            }
            Store::Postgres(pool) => {
                let mut connection = CloseUnlessFinished(Some(pool.acquire().await?));
                let head = append_postgres(connection.get(), events, sealed).await?;
                connection.finished();
                Ok(head)
            }
        }
    }

    /// Closes every connection (at shutdown). On SQLite the last one to close merges the
    /// write-ahead log into the database file.
    pub async fn close(&self) {
        match self {
            Store::Sqlite(pool) => pool.close().await,
            Store::Postgres(pool) => pool.close().await,
        }
    }

    /// Events with `seq > after`, in order, at most `limit`.
    pub async fn read(&self, after: i64, limit: i64) -> Result<Vec<Stored>, StoreError> {
        let rows = self.read_checked(after, limit).await?;
        Ok(rows.into_iter().map(|(event, _)| event).collect())
    }

    /// Events after `after`, each with what its indexed columns (`seq`, `time`, `subject`,
    /// `action`, `prev_hash`, `hash`) say differently from the event itself, if anything:
    /// queries read those columns, so an edit there is as much tampering as one in the event.
    pub async fn read_checked(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(Stored, Option<String>)>, StoreError> {
        type Raw = (i64, String, Option<String>, String, String, String, String);
        fn raw<R: Row>(r: &R) -> Raw
        where
            for<'c> &'c str: sqlx::ColumnIndex<R>,
            for<'q> i64: sqlx::Decode<'q, R::Database> + sqlx::Type<R::Database>,
            for<'q> String: sqlx::Decode<'q, R::Database> + sqlx::Type<R::Database>,
            for<'q> Option<String>: sqlx::Decode<'q, R::Database> + sqlx::Type<R::Database>,
        {
            (
                r.get("seq"),
                r.get("time"),
                r.get("subject"),
                r.get("action"),
                r.get("event"),
                r.get("prev_hash"),
                r.get("hash"),
            )
        }
        let rows: Vec<Raw> = match self {
            Store::Sqlite(pool) => {
                sqlx::query("SELECT seq, time, subject, action, event, prev_hash, hash FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?")
                    .bind(after)
                    .bind(limit)
                    .fetch_all(pool)
                    .await
                    .map(|rows| rows.iter().map(raw).collect())
            }
            Store::Postgres(pool) => {
                sqlx::query("SELECT seq, time, subject, action, event, prev_hash, hash FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2")
                    .bind(after)
                    .bind(limit)
                    .fetch_all(pool)
                    .await
                    .map(|rows| rows.iter().map(raw).collect())
            }
        }?;
        rows.into_iter()
            .map(|(seq, time, subject, action, text, prev_hash, hash)| {
                let event: Value = serde_json::from_str(&text)
                    .map_err(|source| StoreError::NotJson { seq, source })?;
                let said = row_parts(|k| event.get(k), String::new());
                let (said_seq, column_seq) = (said.seq.to_string(), seq.to_string());
                let differs = [
                    ("seq", said_seq.as_str(), column_seq.as_str()),
                    ("time", &said.time, time.as_str()),
                    ("subject", said.subject.as_deref().unwrap_or_default(), subject.as_deref().unwrap_or_default()),
                    ("action", &said.action, action.as_str()),
                    ("prev_hash", said.prev_hash, prev_hash.as_str()),
                    ("hash", said.hash, hash.as_str()),
                ]
                .into_iter()
                .find(|(_, in_event, in_column)| in_event != in_column)
                .map(|(column, in_event, in_column)| {
                    format!("event {seq} was modified: its `{column}` column says `{in_column}`, the event says `{in_event}`")
                });
                Ok((event, differs))
            })
            .collect()
    }

    async fn pair(&self, sql: &'static str) -> Result<Option<(i64, String)>, StoreError> {
        match self {
            Store::Sqlite(pool) => sqlx::query(sql)
                .fetch_optional(pool)
                .await
                .map(|row| row.map(|r| (r.get::<i64, _>(0), r.get::<String, _>(1)))),
            Store::Postgres(pool) => sqlx::query(sql)
                .fetch_optional(pool)
                .await
                .map(|row| row.map(|r| (r.get::<i64, _>(0), r.get::<String, _>(1)))),
        }
        .map_err(StoreError::from)
    }

    /// The chain head (seq 0 and the genesis hash when empty).
    pub async fn head(&self) -> Result<(i64, String), StoreError> {
        Ok(self
            .pair("SELECT seq, hash FROM audit_head WHERE id = 1")
            .await?
            .unwrap_or((0, GENESIS.to_string())))
    }

    /// The retention checkpoint: the seq and hash of the last deleted event.
    pub async fn checkpoint(&self) -> Result<Option<(i64, String)>, StoreError> {
        self.pair("SELECT seq, hash FROM audit_checkpoint WHERE id = 1")
            .await
    }

    /// Deletes events older than `cutoff` (RFC 3339) — but none after `keep_after` (the last
    /// exported event) — keeping the hash of the last one deleted as the checkpoint the chain
    /// verifies from. Returns how many were deleted.
    pub async fn delete_before(
        &self,
        cutoff: &str,
        keep_after: Option<i64>,
    ) -> Result<u64, StoreError> {
        let limit = keep_after.unwrap_or(i64::MAX);
        macro_rules! run {
            ($pool:expr, $p1:literal, $p2:literal) => {{
                let mut tx = $pool.begin().await?;
                let last = sqlx::query(concat!(
                    "SELECT seq, hash FROM audit_events WHERE time < ",
                    $p1,
                    " AND seq <= ",
                    $p2,
                    " ORDER BY seq DESC LIMIT 1"
                ))
                .bind(cutoff)
                .bind(limit)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(last) = last else { return Ok(0) };
                let (seq, hash): (i64, String) = (last.get(0), last.get(1));
                let deleted = sqlx::query(concat!("DELETE FROM audit_events WHERE seq <= ", $p1))
                    .bind(seq)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                sqlx::query(concat!(
                    "INSERT INTO audit_checkpoint (id, seq, hash) VALUES (1, ",
                    $p1,
                    ", ",
                    $p2,
                    ") ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash"
                ))
                .bind(seq)
                .bind(hash)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(deleted)
            }};
        }
        match self {
            Store::Sqlite(pool) => run!(pool, "?", "?"),
            Store::Postgres(pool) => run!(pool, "$1", "$2"),
        }
    }

    /// Whether the store answers (readiness, doctor).
    pub async fn ping(&self) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(pool) => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()),
            Store::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()),
        }
        .map_err(StoreError::from)
    }

    /// Holds the export for this caller: on PostgreSQL a transaction-level advisory lock (so
    /// one replica exports at a time; released when the guard drops), `None` when another
    /// holds it. SQLite has one writer process, so it needs none.
    pub async fn export_lock(&self) -> Result<Option<ExportLock>, StoreError> {
        match self {
            Store::Sqlite(_) => Ok(Some(ExportLock { _transaction: None })),
            Store::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let held: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
                    .bind(EXPORT_LOCK_KEY)
                    .fetch_one(&mut *tx)
                    .await?;
                Ok(held.then_some(ExportLock {
                    _transaction: Some(tx),
                }))
            }
        }
    }

    /// The last exported sequence number (0 before the first export).
    pub async fn exported_up_to(&self) -> Result<i64, StoreError> {
        Ok(self
            .pair("SELECT COALESCE(MAX(last_seq), 0), '' FROM audit_exports")
            .await?
            .map_or(0, |(seq, _)| seq))
    }

    pub async fn record_export(
        &self,
        first: (i64, &str),
        last: (i64, &str),
        key: &str,
    ) -> Result<(), StoreError> {
        let result = match self {
            Store::Sqlite(pool) => {
                sqlx::query("INSERT INTO audit_exports (first_seq, last_seq, first_hash, last_hash, object_key) VALUES (?, ?, ?, ?, ?) ON CONFLICT (first_seq) DO NOTHING")
                    .bind(first.0)
                    .bind(last.0)
                    .bind(first.1)
                    .bind(last.1)
                    .bind(key)
                    .execute(pool)
                    .await
                    .map(|_| ())
            }
            Store::Postgres(pool) => {
                sqlx::query("INSERT INTO audit_exports (first_seq, last_seq, first_hash, last_hash, object_key) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (first_seq) DO NOTHING")
                    .bind(first.0)
                    .bind(last.0)
                    .bind(first.1)
                    .bind(last.1)
                    .bind(key)
                    .execute(pool)
                    .await
                    .map(|_| ())
            }
        };
        result.map_err(StoreError::from)
    }
}

/// A pooled connection that is closed, not returned to the pool, unless the write using it
/// finished: after a failure its transaction state is unknown (SQLite may have rolled back on
/// its own after SQLITE_FULL, leaving sqlx's bookkeeping one transaction deep, so that the
/// next batch would run inside a transaction never committed), and an abandoned write (the
/// writer's timeout dropped it mid-transaction) would have sqlx test it with a ping that has no
/// timeout, which on a connection the network silently dropped holds a pool slot for minutes.
struct CloseUnlessFinished<DB: sqlx::Database>(Option<PoolConnection<DB>>);

impl<DB: sqlx::Database> CloseUnlessFinished<DB> {
    fn get(&mut self) -> &mut DB::Connection {
        self.0
            .as_mut()
            .expect("the connection is taken only when finished")
    }
    /// The write committed: the pool may keep the connection.
    fn finished(mut self) {
        self.0.take();
    }
}

impl<DB: sqlx::Database> Drop for CloseUnlessFinished<DB> {
    fn drop(&mut self) {
        if let Some(connection) = self.0.as_mut() {
            connection.close_on_drop();
        }
    }
}

async fn append_sqlite(
    connection: &mut SqliteConnection,
    events: &mut [Event],
    sealed: &mut Option<(i64, String)>,
) -> Result<(i64, String), StoreError> {
    // The write lock first, so the head cannot move under us. A plain BEGIN/COMMIT pair, not
    // sqlx's nested-transaction bookkeeping: a COMMIT that returns success committed.
    let head = sqlx::query(SQLITE_LOCK_AND_HEAD)
        .fetch_one(&mut *connection)
        .await?;
    let (seq, prev): (i64, String) = (head.get(0), head.get(1));
    if let Some(earlier) = sealed.as_ref() {
        let found: i64 =
            sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE seq = ? AND hash = ?")
                .bind(earlier.0)
                .bind(&earlier.1)
                .fetch_one(&mut *connection)
                .await?;
        if found > 0 {
            let earlier = earlier.clone();
            sqlx::query("ROLLBACK").execute(&mut *connection).await?;
            return Ok(earlier);
        }
    }
    let (new_head, mut seals) = seal_all(events, seq, &prev);
    let rows = sealed_rows(events, &mut seals, seq, &prev);
    let mut rows = rows.into_iter();
    // The head an attempt sealed to is kept before its commit is sent (`append_once`).
    *sealed = Some(new_head.clone());
    if rows.len() == 0 {
        sqlx::query(SQLITE_MOVE_HEAD_AND_COMMIT)
            .bind(new_head.0)
            .bind(new_head.1.clone())
            .execute(&mut *connection)
            .await?;
        return Ok(new_head);
    }
    while rows.len() > 0 {
        let n = sqlite_chunk(rows.len());
        let chunk = if n == rows.len() {
            Chunk::Last
        } else {
            Chunk::More
        };
        let rows = rows.by_ref().take(n);
        // sqlx-sqlite copies a bound `&str` into a `String` inside an `Arc`: two allocations
        // where one `Arc<str>` does.
        let mut insert = sqlx::query(sqlite_insert(n, chunk));
        for parts in rows {
            insert = insert
                .bind(parts.seq)
                .bind(Arc::<str>::from(parts.time))
                .bind(parts.subject.map(Arc::<str>::from))
                .bind(Arc::<str>::from(parts.action))
                .bind(parts.json)
                .bind(Arc::<str>::from(parts.prev_hash))
                .bind(Arc::<str>::from(parts.hash));
        }
        if chunk == Chunk::Last {
            insert = insert.bind(new_head.0).bind(new_head.1.clone());
        }
        // Kept prepared (sqlx's default for a query): see `SQLITE_CHUNKS`.
        insert.execute(&mut *connection).await?;
    }
    Ok(new_head)
}

async fn append_postgres(
    connection: &mut PgConnection,
    events: &mut [Event],
    sealed: &mut Option<(i64, String)>,
) -> Result<(i64, String), StoreError> {
    let mut tx = connection.begin().await?;
    let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE")
        .fetch_one(&mut *tx)
        .await?;
    if let Some(earlier) = sealed.as_ref() {
        let found: i64 =
            sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE seq = $1 AND hash = $2")
                .bind(earlier.0)
                .bind(&earlier.1)
                .fetch_one(&mut *tx)
                .await?;
        if found > 0 {
            return Ok(earlier.clone());
        }
    }
    let (seq, prev): (i64, String) = (head.get(0), head.get(1));
    let (new_head, mut seals) = seal_all(events, seq, &prev);
    let rows = sealed_rows(events, &mut seals, seq, &prev);
    let mut columns = Columns::default();
    for row in rows {
        columns.push(row);
    }
    sqlx::query(
        "INSERT INTO audit_events (seq, time, subject, action, event, prev_hash, hash) \
         SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])",
    )
    .bind(columns.seq)
    .bind(borrowed(&columns.time))
    .bind(
        columns
            .subject
            .iter()
            .map(Option::as_deref)
            .collect::<Vec<_>>(),
    )
    .bind(borrowed(&columns.action))
    .bind(columns.json)
    .bind(columns.prev_hash)
    .bind(columns.hash)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(new_head.0)
        .bind(&new_head.1)
        .execute(&mut *tx)
        .await?;
    *sealed = Some(new_head.clone());
    tx.commit().await?;
    Ok(new_head)
}

/// Seals events on top of (seq, hash): the new head, and each event's seal.
fn seal_all(events: &[Event], mut seq: i64, prev: &str) -> ((i64, String), Vec<Sealed>) {
    let mut seals: Vec<Sealed> = Vec::with_capacity(events.len());
    for event in events {
        seq += 1;
        let prev_hash = seals.last().map_or(prev, |sealed| &sealed.hash);
        let sealed = event.seal(seq, prev_hash);
        seals.push(sealed);
    }
    let head = seals.last().map_or(prev, |sealed| &sealed.hash).to_string();
    ((seq, head), seals)
}

/// The rows of sealed events (`seal_all`, on top of `prev`): the texts are moved out of the
/// seals, the other columns borrowed from the events and the seals.
fn sealed_rows<'e>(
    events: &'e [Event],
    seals: &'e mut [Sealed],
    mut seq: i64,
    prev: &'e str,
) -> Vec<EventRow<'e>> {
    let mut rows = Vec::with_capacity(events.len());
    let mut prev_hash = prev;
    for (event, Sealed { text, hash }) in events.iter().zip(seals.iter_mut()) {
        seq += 1;
        let hash: &str = hash;
        rows.push(EventRow {
            seq,
            time: event.text("time").unwrap_or_default(),
            subject: event.text("subject"),
            action: event.text("action").unwrap_or_default(),
            json: std::mem::take(text),
            prev_hash,
            hash,
        });
        prev_hash = hash;
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(mut n: usize) -> Vec<usize> {
        let mut sizes = Vec::new();
        while n > 0 {
            let chunk = sqlite_chunk(n);
            sizes.push(chunk);
            n -= chunk;
        }
        sizes
    }

    #[test]
    fn sqlite_batches_are_written_in_few_chunks_of_few_sizes() {
        assert_eq!(chunks(1), [1]);
        assert_eq!(chunks(15), [15]);
        assert_eq!(chunks(16), [16]);
        assert_eq!(chunks(63), [16, 16, 16, 15]);
        assert_eq!(chunks(150), [64, 64, 16, 6]);
        let mut sizes: Vec<usize> = (1..=2000).flat_map(chunks).collect();
        sizes.sort_unstable();
        sizes.dedup();
        assert_eq!(
            sizes.len(),
            17,
            "one prepared statement per size: {sizes:?}"
        );
    }

    #[test]
    fn each_chunk_size_has_its_insert_with_a_row_of_placeholders_per_event() {
        for rows in (1..=2000).flat_map(chunks) {
            let insert = sqlite_insert(rows, Chunk::More);
            assert!(insert.starts_with("INSERT INTO audit_events (seq, time, subject, action, event, prev_hash, hash) VALUES (?, "));
            assert_eq!(insert.matches("(?, ?, ?, ?, ?, ?, ?)").count(), rows);
            assert_eq!(insert.matches('?').count(), rows * 7);
            let last = sqlite_insert(rows, Chunk::Last);
            assert_eq!(
                last.strip_suffix(SQLITE_MOVE_HEAD_AND_COMMIT),
                Some(format!("{insert}; ").as_str()),
                "the last chunk moves the head and commits"
            );
        }
    }
}
