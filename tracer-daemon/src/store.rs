//! The daemon's trace store: sled under a data directory, with a versioned key layout.
//!
//! Trees (all keys big-endian, so sled's byte order is numeric order):
//!
//! | tree        | key                                   | value                                   |
//! |-------------|---------------------------------------|-----------------------------------------|
//! | `meta`      | `schema_version`                      | [`STORE_SCHEMA_VERSION`] as `u32`        |
//! | `meta`      | `next_id`                             | last id handed out, `u64`                |
//! | `sessions`  | session id `u64`                      | [`SessionRecord`] as JSON                |
//! | `traces`    | session id `u64`                      | [`Trace`] header (no calls) as bincode   |
//! | `call_chunks` | id `u64` · function `u32` · first seq `u64` | up to [`CHUNK_CALLS`] [`Call`]s of one function, by seq, as a bincode `Vec` |
//! | `resources` | id `u64` · ts_ns `u64`                | [`ResourceSample`] as bincode            |
//! | `cfg`       | id `u64`                              | [`Cfg`] (blocks, hits, edges, loops) as JSON |
//! | `blocks`    | id `u64` · function `u32` · seq `u64` | [`CallBlocks`] (a call's block path) as bincode |
//! | `counts`    | id `u64` · function `u32`             | calls stored, `u64` (stores without it are scanned) |
//!
//! A trace and the session that recorded it share one id. Calls are kept in chunks because
//! sled holds a large part of its tree in memory per key: one key per call grew a daemon
//! by gigabytes over a few hundred thousand calls. Writes are batched by the caller
//! ([`Store::put_calls`]); sled flushes every 200 ms and [`Store::flush`] on session end,
//! so a restart serves everything flushed before the daemon stopped.
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tracer_export::values::ExportValues;

use tracer_probe::{
    probes::cfg::{CallBlocks, Cfg},
    procfs::ResourceSample,
    trace::{Call, Loss, Trace},
};

/// Version of the key layout and value encodings; bumped on any incompatible change.
pub const STORE_SCHEMA_VERSION: u32 = 3;

/// Most calls stored under one key (see the module documentation).
pub const CHUNK_CALLS: usize = 64;

/// The tree of call chunks; version 2 had one call per key in `calls`.
const CALL_CHUNKS_TREE: &str = "call_chunks";
const CALLS_V2_TREE: &str = "calls";

const SCHEMA_KEY: &[u8] = b"schema_version";
const NEXT_ID_KEY: &[u8] = b"next_id";

/// Errors of the trace store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// sled failed.
    #[error("trace store at {path}: {source}")]
    Sled {
        /// The data directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: sled::Error,
    },
    /// The store was written by an incompatible version.
    #[error(
        "trace store at {path} has schema version {found}, this tracesynth uses version \
         {STORE_SCHEMA_VERSION}; move it away or use another --data-dir"
    )]
    SchemaMismatch {
        /// The data directory.
        path: PathBuf,
        /// Version found in the store.
        found: u32,
    },
    /// A stored value did not decode.
    #[error("corrupt {what} in trace store at {path}: {detail}")]
    Corrupt {
        /// The data directory.
        path: PathBuf,
        /// Which kind of value.
        what: &'static str,
        /// Decoder message.
        detail: String,
    },
}

/// State of a daemon session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SessionState {
    /// Probes attached, capturing.
    Running,
    /// Detached on request (`DELETE /v1/sessions/{id}`).
    Detached,
    /// The target process exited.
    TargetExited,
    /// `max_calls` or `max_calls_per_function` reached.
    CallLimit,
    /// `max_seconds` elapsed.
    Duration,
    /// The daemon shut down while the session ran.
    DaemonStopped,
    /// Capture failed; see `error`.
    Failed,
}

/// Limits of one session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionLimits {
    /// Stop after this many completed calls (1 ..= 10^12).
    #[serde(default)]
    pub max_calls: Option<u64>,
    /// Stop after this many seconds (0 < s <= 30 days).
    #[serde(default)]
    pub max_seconds: Option<f64>,
    /// Store at most this many calls of each function (1 ..= 10^12); the session ends when
    /// every function has reached it.
    #[serde(default)]
    pub max_calls_per_function: Option<u64>,
}

/// What the store keeps about a session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SessionRecord {
    /// Session (and trace) id.
    pub id: u64,
    /// Target PID.
    pub pid: u32,
    /// Traced function names, in index order.
    pub functions: Vec<String>,
    /// Current state.
    pub state: SessionState,
    /// Limits asked for.
    pub limits: SessionLimits,
    /// Start, Unix ms.
    pub started_unix_ms: u64,
    /// End, Unix ms.
    pub ended_unix_ms: Option<u64>,
    /// Completed calls per function (counted, stored or not).
    pub calls_per_function: Vec<u64>,
    /// Event accounting.
    #[schema(value_type = Object)]
    pub loss: Loss,
    /// Why capture failed.
    pub error: Option<String>,
    /// The local user who started it (`None`: an operator over TCP, or a store from
    /// before owners were kept); only they and operators may see it.
    #[serde(default)]
    pub owner_uid: Option<u32>,
    /// The overhead budget in force, percent of the target's own CPU time (`None`: every
    /// call recorded).
    #[serde(default)]
    pub max_overhead_percent: Option<f64>,
    /// Calls the budget's in-kernel sampling skipped.
    #[serde(default)]
    pub sampled_out: u64,
    /// The budget's newest decision: one call in `sample_every` recorded per function, the
    /// probes attached `duty` of the time, the overhead `expected` from that and the one
    /// `measured` before it (fractions). The trace keeps the whole timeline.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub sampling: Option<tracer_probe::budget::Decision>,
}

/// The sled store.
#[derive(Clone, Debug)]
pub struct Store {
    path: PathBuf,
    db: sled::Db,
    sessions: sled::Tree,
    traces: sled::Tree,
    calls: sled::Tree,
    resources: sled::Tree,
    cfg: sled::Tree,
    blocks: sled::Tree,
    counts: sled::Tree,
    /// Sessions whose trace a receiver has not yet taken: id → whether values go too.
    export_pending: sled::Tree,
}

fn call_key(id: u64, function: u32, seq: u64) -> [u8; 20] {
    let mut k = [0u8; 20];
    k[..8].copy_from_slice(&id.to_be_bytes());
    k[8..12].copy_from_slice(&function.to_be_bytes());
    k[12..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// The key prefix of trace `id`'s calls (and counters) of one function, or of all.
fn calls_prefix(id: u64, function: Option<u32>) -> Vec<u8> {
    match function {
        Some(f) => call_key(id, f, 0)[..12].to_vec(),
        None => id.to_be_bytes().to_vec(),
    }
}

impl Store {
    /// Opens (creating if needed) the store in `dir`.
    ///
    /// # Errors
    /// [`StoreError::SchemaMismatch`] for a store of another version; sled errors.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = dir.as_ref().to_path_buf();
        let sled_err = |source| StoreError::Sled { path: path.clone(), source };
        let db = open_db(&path).map_err(sled_err)?;
        let meta = db.open_tree("meta").map_err(sled_err)?;
        let migration_failed =
            |detail| StoreError::Corrupt { path: path.clone(), what: "record of an earlier version", detail };
        match meta.get(SCHEMA_KEY).map_err(sled_err)? {
            Some(v) => {
                let found = <[u8; 4]>::try_from(v.as_ref()).map_or(u32::MAX, u32::from_be_bytes);
                if found == 1 || found == 2 {
                    if found == 1 {
                        migrate_from_v1(&db).map_err(migration_failed)?;
                    }
                    migrate_calls_into_chunks(&db).map_err(migration_failed)?;
                    meta.insert(SCHEMA_KEY, &STORE_SCHEMA_VERSION.to_be_bytes()).map_err(sled_err)?;
                    db.flush().map_err(sled_err)?;
                } else if found != STORE_SCHEMA_VERSION {
                    return Err(StoreError::SchemaMismatch { path, found });
                }
                // A migration cut short after the version was written leaves the old tree.
                if db.tree_names().iter().any(|n| n == CALLS_V2_TREE.as_bytes()) {
                    db.drop_tree(CALLS_V2_TREE).map_err(sled_err)?;
                }
            }
            None => {
                meta.insert(SCHEMA_KEY, &STORE_SCHEMA_VERSION.to_be_bytes()).map_err(sled_err)?;
                db.flush().map_err(sled_err)?;
            }
        }
        Ok(Self {
            sessions: db.open_tree("sessions").map_err(sled_err)?,
            traces: db.open_tree("traces").map_err(sled_err)?,
            calls: db.open_tree(CALL_CHUNKS_TREE).map_err(sled_err)?,
            resources: db.open_tree("resources").map_err(sled_err)?,
            cfg: db.open_tree("cfg").map_err(sled_err)?,
            blocks: db.open_tree("blocks").map_err(sled_err)?,
            counts: db.open_tree("counts").map_err(sled_err)?,
            export_pending: db.open_tree("export_pending").map_err(sled_err)?,
            db,
            path,
        })
    }

    fn sled(&self, source: sled::Error) -> StoreError {
        StoreError::Sled { path: self.path.clone(), source }
    }

    fn corrupt(&self, what: &'static str, detail: impl ToString) -> StoreError {
        StoreError::Corrupt { path: self.path.clone(), what, detail: detail.to_string() }
    }

    /// A new id, unique in this store: one more than any id handed out or stored
    /// (ids start at 1 and stay small, for `tracesynth detach 3`).
    ///
    /// # Errors
    /// sled errors.
    pub fn next_id(&self) -> Result<u64, StoreError> {
        let last_key = |tree: &sled::Tree| -> Result<u64, StoreError> {
            Ok(tree
                .last()
                .map_err(|e| self.sled(e))?
                .and_then(|(k, _)| <[u8; 8]>::try_from(&k[..8.min(k.len())]).ok())
                .map_or(0, u64::from_be_bytes))
        };
        let stored = last_key(&self.sessions)?.max(last_key(&self.traces)?);
        let meta = self.db.open_tree("meta").map_err(|e| self.sled(e))?;
        let next = meta
            .update_and_fetch(NEXT_ID_KEY, |old| {
                let old = old.and_then(|v| <[u8; 8]>::try_from(v).ok()).map_or(0, u64::from_be_bytes);
                Some((old.max(stored) + 1).to_be_bytes().to_vec())
            })
            .map_err(|e| self.sled(e))?
            .and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
            .map_or(1, u64::from_be_bytes);
        Ok(next)
    }

    /// Writes a session record.
    ///
    /// # Errors
    /// sled errors.
    pub fn put_session(&self, record: &SessionRecord) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(record).expect("session record serializes");
        self.sessions.insert(record.id.to_be_bytes(), bytes).map_err(|e| self.sled(e))?;
        Ok(())
    }

    /// A session record.
    ///
    /// # Errors
    /// sled errors, undecodable records.
    pub fn get_session(&self, id: u64) -> Result<Option<SessionRecord>, StoreError> {
        let Some(v) = self.sessions.get(id.to_be_bytes()).map_err(|e| self.sled(e))? else {
            return Ok(None);
        };
        serde_json::from_slice(&v).map(Some).map_err(|e| self.corrupt("session", e))
    }

    /// All session records, by id.
    ///
    /// # Errors
    /// sled errors, undecodable records.
    pub fn sessions(&self) -> Result<Vec<SessionRecord>, StoreError> {
        self.sessions
            .iter()
            .values()
            .map(|v| {
                let v = v.map_err(|e| self.sled(e))?;
                serde_json::from_slice(&v).map_err(|e| self.corrupt("session", e))
            })
            .collect()
    }

    /// Writes a trace header (its calls, if any, are not stored here: see
    /// [`Store::put_calls`]).
    ///
    /// # Errors
    /// sled errors.
    pub fn put_trace_header(&self, id: u64, trace: &Trace) -> Result<(), StoreError> {
        let header = Trace { calls: Vec::new(), resources: Vec::new(), ..trace.clone() };
        let bytes = bincode::serialize(&header).expect("trace serializes");
        self.traces.insert(id.to_be_bytes(), bytes).map_err(|e| self.sled(e))?;
        Ok(())
    }

    /// Stores calls of trace `id` in one batch: each function's calls by seq, in chunks of
    /// [`CHUNK_CALLS`].
    ///
    /// # Errors
    /// sled errors.
    pub fn put_calls<'a>(&self, id: u64, calls: impl IntoIterator<Item = &'a Call>) -> Result<(), StoreError> {
        let mut by_function: std::collections::BTreeMap<u32, Vec<&Call>> = std::collections::BTreeMap::new();
        for c in calls {
            by_function.entry(c.function).or_default().push(c);
        }
        let mut batch = sled::Batch::default();
        for calls in by_function.values_mut() {
            calls.sort_by_key(|c| c.seq);
            for chunk in calls.chunks(CHUNK_CALLS) {
                let bytes = bincode::serialize(chunk).expect("calls serialize");
                batch.insert(&call_key(id, chunk[0].function, chunk[0].seq)[..], bytes);
            }
        }
        self.calls.apply_batch(batch).map_err(|e| self.sled(e))?;
        for (function, calls) in by_function {
            self.counts
                .update_and_fetch(&call_key(id, function, 0)[..12], |old| {
                    let old = old.and_then(|v| <[u8; 8]>::try_from(v).ok()).map_or(0, u64::from_be_bytes);
                    Some((old + calls.len() as u64).to_be_bytes().to_vec())
                })
                .map_err(|e| self.sled(e))?;
        }
        Ok(())
    }

    /// The stored chunks of trace `id` (of one function, or all) in key order, decoded.
    fn chunks(&self, id: u64, function: Option<u32>) -> impl Iterator<Item = Result<Vec<Call>, StoreError>> + '_ {
        self.chunk_values(id, function).map(|v| {
            let v = v?;
            bincode::deserialize(&v).map_err(|e| self.corrupt("calls", e))
        })
    }

    /// The stored chunks of trace `id` (of one function, or all) in key order, encoded.
    fn chunk_values(
        &self,
        id: u64,
        function: Option<u32>,
    ) -> impl Iterator<Item = Result<sled::IVec, StoreError>> + '_ {
        let prefix = calls_prefix(id, function);
        self.calls.scan_prefix(prefix).values().map(|v| v.map_err(|e| self.sled(e)))
    }

    /// Stores one resource sample of trace `id`.
    ///
    /// # Errors
    /// sled errors.
    pub fn put_resource(&self, id: u64, sample: &ResourceSample) -> Result<(), StoreError> {
        let mut key = [0u8; 16];
        key[..8].copy_from_slice(&id.to_be_bytes());
        key[8..].copy_from_slice(&sample.ts_ns.to_be_bytes());
        let bytes = bincode::serialize(sample).expect("sample serializes");
        self.resources.insert(key, bytes).map_err(|e| self.sled(e))?;
        Ok(())
    }

    /// Calls of trace `id`, of one function or all, skipping `offset` and returning at most
    /// `limit`. The order is by function, then by seq within each write: a call that began
    /// before others but returned after them (a long call, another thread's) can come later.
    ///
    /// # Errors
    /// sled errors, undecodable records.
    pub fn calls(&self, id: u64, function: Option<u32>, offset: usize, limit: usize) -> Result<Vec<Call>, StoreError> {
        let mut skip = offset;
        let mut out = Vec::new();
        for v in self.chunk_values(id, function) {
            if out.len() >= limit {
                break;
            }
            let v = v?;
            // A chunk wholly before `offset` is skipped by its length alone.
            let len = chunk_len(&v).ok_or_else(|| self.corrupt("calls", "a chunk shorter than its length"))?;
            if skip >= len {
                skip -= len;
                continue;
            }
            let chunk: Vec<Call> = bincode::deserialize(&v).map_err(|e| self.corrupt("calls", e))?;
            out.extend(chunk.into_iter().skip(skip).take(limit - out.len()));
            skip = 0;
        }
        Ok(out)
    }

    /// Number of stored calls of trace `id` (of one function, or all).
    ///
    /// Read from the per-function counters kept by [`Store::put_calls`]; traces stored
    /// before those existed are counted by a scan.
    pub fn count_calls(&self, id: u64, function: Option<u32>) -> usize {
        let prefix = calls_prefix(id, function);
        let counted: Vec<u64> = self
            .counts
            .scan_prefix(&prefix)
            .values()
            .filter_map(|v| v.ok().and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok()).map(u64::from_be_bytes))
            .collect();
        if counted.is_empty() {
            return self.chunk_values(id, function).filter_map(|v| v.ok().as_deref().and_then(chunk_len)).sum();
        }
        counted.iter().sum::<u64>() as usize
    }

    /// Resource samples of trace `id`, oldest first; only the newest `tail` when given.
    ///
    /// # Errors
    /// sled errors, undecodable records.
    pub fn resources(&self, id: u64, tail: Option<usize>) -> Result<Vec<ResourceSample>, StoreError> {
        let decode = |v: Result<sled::IVec, sled::Error>| -> Result<ResourceSample, StoreError> {
            let v = v.map_err(|e| self.sled(e))?;
            bincode::deserialize(&v).map_err(|e| self.corrupt("resource sample", e))
        };
        let iter = self.resources.scan_prefix(id.to_be_bytes()).values();
        match tail {
            Some(n) => {
                let mut out: Vec<_> = iter.rev().take(n).map(decode).collect::<Result<_, _>>()?;
                out.reverse();
                Ok(out)
            }
            None => iter.map(decode).collect(),
        }
    }

    /// Trace `id` without its calls and resource samples: the recording and its functions.
    ///
    /// # Errors
    /// sled errors, undecodable records.
    pub fn trace_header(&self, id: u64) -> Result<Option<Trace>, StoreError> {
        let Some(v) = self.traces.get(id.to_be_bytes()).map_err(|e| self.sled(e))? else {
            return Ok(None);
        };
        Trace::from_bincode(&v).map(Some).map_err(|e| self.corrupt("trace", e))
    }

    /// The calls of trace `id`, `size` at a time, in the order of [`Store::calls`]: a stored trace
    /// read without holding it all in memory.
    pub fn call_pieces(&self, id: u64, size: usize) -> impl Iterator<Item = Result<Vec<Call>, StoreError>> + '_ {
        let size = size.max(1);
        let mut chunks = self.chunks(id, None);
        let mut left: std::vec::IntoIter<Call> = Vec::new().into_iter();
        let mut failed = false;
        std::iter::from_fn(move || {
            if failed {
                return None;
            }
            let mut piece = Vec::with_capacity(size.min(4096));
            loop {
                piece.extend(left.by_ref().take(size - piece.len()));
                if piece.len() >= size {
                    break;
                }
                match chunks.next() {
                    Some(Ok(chunk)) => left = chunk.into_iter(),
                    Some(Err(e)) => {
                        failed = true;
                        return Some(Err(e));
                    }
                    None => break,
                }
            }
            (!piece.is_empty()).then_some(Ok(piece))
        })
    }

    /// The whole trace `id`: header, every call in entry order, every resource sample.
    ///
    /// # Errors
    /// sled errors, undecodable records.
    pub fn trace(&self, id: u64) -> Result<Option<Trace>, StoreError> {
        let Some(mut trace) = self.trace_header(id)? else {
            return Ok(None);
        };
        trace.calls = self.calls(id, None, 0, usize::MAX)?;
        trace.calls.sort_by_key(|c| c.seq);
        trace.resources = self.resources(id, None)?;
        Ok(Some(trace))
    }

    /// Ids of stored traces.
    ///
    /// # Errors
    /// sled errors.
    pub fn trace_ids(&self) -> Result<Vec<u64>, StoreError> {
        self.traces
            .iter()
            .keys()
            .map(|k| {
                let k = k.map_err(|e| self.sled(e))?;
                Ok(<[u8; 8]>::try_from(k.as_ref()).map_or(0, u64::from_be_bytes))
            })
            .collect()
    }

    /// Writes the control-flow graphs (with hit counts) of trace `id`.
    ///
    /// # Errors
    /// sled errors.
    pub fn put_cfg(&self, id: u64, cfg: &Cfg) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(cfg).expect("cfg serializes");
        self.cfg.insert(id.to_be_bytes(), bytes).map_err(|e| self.sled(e))?;
        Ok(())
    }

    /// The control-flow graphs of trace `id`, when it was recorded with block probes.
    ///
    /// # Errors
    /// sled errors, undecodable records.
    pub fn cfg(&self, id: u64) -> Result<Option<Cfg>, StoreError> {
        let Some(v) = self.cfg.get(id.to_be_bytes()).map_err(|e| self.sled(e))? else { return Ok(None) };
        serde_json::from_slice(&v).map(Some).map_err(|e| self.corrupt("cfg", e))
    }

    /// Whether trace `id` has control-flow graphs (was recorded with block probes).
    ///
    /// # Errors
    /// sled errors.
    pub fn has_cfg(&self, id: u64) -> Result<bool, StoreError> {
        self.cfg.contains_key(id.to_be_bytes()).map_err(|e| self.sled(e))
    }

    /// Stores block paths of calls of trace `id` in one batch.
    ///
    /// # Errors
    /// sled errors.
    pub fn put_call_blocks<'a>(
        &self,
        id: u64,
        paths: impl IntoIterator<Item = &'a CallBlocks>,
    ) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for p in paths {
            let bytes = bincode::serialize(p).expect("block path serializes");
            batch.insert(&call_key(id, p.function, p.seq)[..], bytes);
        }
        self.blocks.apply_batch(batch).map_err(|e| self.sled(e))
    }

    /// The block path of call `seq` of `function` in trace `id`, when one was stored.
    ///
    /// # Errors
    /// sled errors, undecodable records.
    pub fn call_blocks(&self, id: u64, function: u32, seq: u64) -> Result<Option<CallBlocks>, StoreError> {
        let Some(v) = self.blocks.get(call_key(id, function, seq)).map_err(|e| self.sled(e))? else {
            return Ok(None);
        };
        bincode::deserialize(&v).map(Some).map_err(|e| self.corrupt("block path", e))
    }

    /// Writes everything to disk now.
    ///
    /// # Errors
    /// sled errors.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map(drop).map_err(|e| self.sled(e))
    }

    /// Marks session `id`'s trace as not yet exported (with whose values it goes),
    /// durably, so that a daemon that stops first exports it when it starts again.
    ///
    /// # Errors
    /// sled errors.
    pub fn mark_export_pending(&self, id: u64, values: &ExportValues) -> Result<(), StoreError> {
        let json = serde_json::to_vec(values).unwrap_or_default();
        self.export_pending.insert(id.to_be_bytes(), json).map_err(|e| self.sled(e))?;
        self.flush()
    }

    /// Session `id`'s trace was exported.
    ///
    /// # Errors
    /// sled errors.
    pub fn clear_export_pending(&self, id: u64) -> Result<(), StoreError> {
        self.export_pending.remove(id.to_be_bytes()).map_err(|e| self.sled(e))?;
        self.flush()
    }

    /// The sessions whose traces wait for export, oldest first, with whose values go.
    /// Stores written before per-function values kept one byte (1: every function's); a
    /// mark that cannot be read sends no values rather than too many.
    ///
    /// # Errors
    /// sled errors.
    pub fn export_pending(&self) -> Result<Vec<(u64, ExportValues)>, StoreError> {
        self.export_pending
            .iter()
            .map(|kv| {
                let (k, v) = kv.map_err(|e| self.sled(e))?;
                let id = u64::from_be_bytes(k.as_ref().try_into().unwrap_or_default());
                let values = match v.as_ref() {
                    [flag] => ExportValues::All(*flag == 1),
                    json => serde_json::from_slice(json).unwrap_or_default(),
                };
                Ok((id, values))
            })
            .collect()
    }

    /// Bytes the store takes on disk.
    pub fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }

    /// The data directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes raw bytes as session `id` (tests of corrupt stores).
    #[cfg(test)]
    pub(crate) fn put_raw_session(&self, id: u64, bytes: &[u8]) {
        self.sessions.insert(id.to_be_bytes(), bytes).unwrap();
    }
}

/// Rewrites a version-1 store's trace headers and calls in the version-2 encoding (calls
/// gained [`Call::incomplete`], the loss its count). Each record is rewritten in place, so
/// a migration cut short is finished by the next open.
fn migrate_from_v1(db: &sled::Db) -> Result<(), String> {
    use tracer_probe::trace::v1;
    fn rewrite<Old: serde::de::DeserializeOwned, New: Serialize + serde::de::DeserializeOwned>(
        tree: &sled::Tree,
        convert: impl Fn(Old) -> New,
    ) -> Result<(), String> {
        for item in tree.iter() {
            let (k, v) = item.map_err(|e| e.to_string())?;
            // A version-1 record is one field short, so it never decodes as version 2: a
            // record that does was rewritten by an earlier, interrupted migration.
            if bincode::deserialize::<New>(&v).is_ok() {
                continue;
            }
            let old: Old = bincode::deserialize(&v).map_err(|e| e.to_string())?;
            let bytes = bincode::serialize(&convert(old)).map_err(|e| e.to_string())?;
            tree.insert(k, bytes).map_err(|e| e.to_string())?;
        }
        Ok(())
    }
    let traces = db.open_tree("traces").map_err(|e| e.to_string())?;
    rewrite::<v1::Trace, Trace>(&traces, Trace::from)?;
    let calls = db.open_tree(CALLS_V2_TREE).map_err(|e| e.to_string())?;
    rewrite::<v1::Call, Call>(&calls, Call::from)
}

/// Calls in an encoded chunk: bincode's `Vec` length, its first 8 bytes.
fn chunk_len(v: &[u8]) -> Option<usize> {
    Some(u64::from_le_bytes(v.get(..8)?.try_into().ok()?) as usize)
}

/// Rewrites a version-2 store's calls (one per key in `calls`) into chunks of
/// [`CHUNK_CALLS`] in `call_chunks`. The chunks are written afresh on every attempt and
/// the old tree is dropped only after the version is bumped, so a migration cut short is
/// done again by the next open.
fn migrate_calls_into_chunks(db: &sled::Db) -> Result<(), String> {
    let old = db.open_tree(CALLS_V2_TREE).map_err(|e| e.to_string())?;
    let chunks = db.open_tree(CALL_CHUNKS_TREE).map_err(|e| e.to_string())?;
    chunks.clear().map_err(|e| e.to_string())?;
    let mut chunk: Vec<Call> = Vec::new();
    let mut chunk_key: Option<[u8; 20]> = None;
    let write = |key: &[u8; 20], chunk: &[Call]| -> Result<(), String> {
        let bytes = bincode::serialize(chunk).map_err(|e| e.to_string())?;
        chunks.insert(key, bytes).map(drop).map_err(|e| e.to_string())
    };
    for item in old.iter() {
        let (k, v) = item.map_err(|e| e.to_string())?;
        let key: [u8; 20] = k.as_ref().try_into().map_err(|_| format!("a call key of {} bytes", k.len()))?;
        let call: Call = bincode::deserialize(&v).map_err(|e| e.to_string())?;
        if let Some(open) = chunk_key.filter(|o| o[..12] != key[..12] || chunk.len() >= CHUNK_CALLS) {
            write(&open, &chunk)?;
            chunk.clear();
            chunk_key = None;
        }
        chunk_key.get_or_insert(key);
        chunk.push(call);
    }
    if let Some(open) = chunk_key {
        write(&open, &chunk)?;
    }
    Ok(())
}

/// sled's page cache (its default is 1 GiB, which a daemon recording for hours would fill).
const CACHE_BYTES: u64 = 8 << 20;

/// Opens the sled database at `path`. A store dropped a moment ago in this
/// process can still hold the file lock while sled's flusher thread winds down,
/// so a lock refusal is retried for up to 2 s; a lock held longer (another
/// daemon on the same directory) is reported.
fn open_db(path: &Path) -> sled::Result<sled::Db> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        match sled::Config::new().path(path).cache_capacity(CACHE_BYTES).flush_every_ms(Some(200)).open() {
            // sled reports the refused lock only in the message of an `Other` I/O error.
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock") && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let trace = Trace::sample();
        {
            let store = Store::open(dir.path()).unwrap();
            let id = store.next_id().unwrap();
            assert_eq!(id, 1);
            store.put_trace_header(id, &trace).unwrap();
            let mut second = trace.calls[0].clone();
            second.seq = 1;
            store.put_calls(id, [&trace.calls[0], &second]).unwrap();
            store.put_resource(id, &trace.resources[0]).unwrap();
            store.flush().unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let back = store.trace(1).unwrap().unwrap();
        assert_eq!(back.calls.len(), 2);
        assert_eq!(back.calls[0], trace.calls[0]);
        assert_eq!(back.resources, trace.resources);
        assert_eq!(store.calls(1, Some(0), 1, 10).unwrap().len(), 1);
        assert_eq!(store.count_calls(1, Some(1)), 0);
        assert_eq!((store.count_calls(1, Some(0)), store.count_calls(1, None)), (2, 2));
        assert!(store.trace(2).unwrap().is_none());
        // Read in pieces: every call once, the header without them.
        let pieces: Vec<Vec<Call>> = store.call_pieces(1, 1).collect::<Result<_, _>>().unwrap();
        assert_eq!(pieces.iter().map(Vec::len).collect::<Vec<_>>(), [1, 1]);
        assert_eq!(pieces.concat(), back.calls);
        assert_eq!(store.call_pieces(1, 5).count(), 1);
        assert_eq!(store.call_pieces(2, 5).count(), 0);
        let header = store.trace_header(1).unwrap().unwrap();
        assert!(header.calls.is_empty() && header.functions == back.functions);
        assert_eq!(store.next_id().unwrap(), 2);
        assert_eq!(store.next_id().unwrap(), 3);
    }

    /// `n` calls of `function`, seqs `first..first + n` (a copy of the sample's call).
    fn numbered_calls(function: u32, seqs: impl IntoIterator<Item = u64>) -> Vec<Call> {
        let call = Trace::sample().calls[0].clone();
        seqs.into_iter().map(|seq| Call { seq, function, ..call.clone() }).collect()
    }

    #[test]
    fn calls_are_chunked_by_function_and_paged_across_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        // Two writes, functions interleaved, each write out of seq order.
        let mut first: Vec<Call> =
            numbered_calls(0, (0..150).rev()).into_iter().chain(numbered_calls(1, 150..160)).collect();
        first.swap(3, 152);
        store.put_calls(4, &first).unwrap();
        store.put_calls(4, &numbered_calls(0, 160..170)).unwrap();
        let seqs = |calls: Vec<Call>| calls.iter().map(|c| c.seq).collect::<Vec<_>>();
        let function_0: Vec<u64> = (0..150).chain(160..170).collect();
        assert_eq!(seqs(store.calls(4, Some(0), 0, usize::MAX).unwrap()), function_0);
        assert_eq!(seqs(store.calls(4, Some(1), 0, usize::MAX).unwrap()), (150..160).collect::<Vec<_>>());
        // Pages that start and end inside chunks, past the end, and empty.
        for (offset, limit) in [(0, 1), (63, 2), (64, 64), (100, 55), (159, 5), (160, 3), (5, 0)] {
            let page = seqs(store.calls(4, Some(0), offset, limit).unwrap());
            let want: Vec<u64> = function_0.iter().copied().skip(offset).take(limit).collect();
            assert_eq!(page, want, "offset {offset} limit {limit}");
        }
        assert_eq!(store.calls(4, None, 165, 100).unwrap().len(), 5);
        assert_eq!((store.count_calls(4, Some(0)), store.count_calls(4, None)), (160, 170));
        // Pieces hold every call once, whatever the chunking.
        let pieces: Vec<Vec<Call>> = store.call_pieces(4, 50).collect::<Result<_, _>>().unwrap();
        assert_eq!(pieces.iter().map(Vec::len).collect::<Vec<_>>(), [50, 50, 50, 20]);
        assert_eq!(pieces.concat().len(), 170);
        // Far fewer keys than calls.
        assert!(store.calls.len() <= 170 / CHUNK_CALLS + 4, "{} keys", store.calls.len());
    }

    #[test]
    fn a_version_2_store_has_its_calls_rechunked_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let trace = Trace::sample();
        let calls: Vec<Call> = numbered_calls(0, 0..100).into_iter().chain(numbered_calls(1, 100..103)).collect();
        {
            let db = sled::open(dir.path()).unwrap();
            db.open_tree("meta").unwrap().insert(SCHEMA_KEY, &2u32.to_be_bytes()).unwrap();
            db.open_tree("traces").unwrap().insert(1u64.to_be_bytes(), bincode::serialize(&trace).unwrap()).unwrap();
            let old = db.open_tree(CALLS_V2_TREE).unwrap();
            for c in &calls {
                old.insert(call_key(1, c.function, c.seq), bincode::serialize(c).unwrap()).unwrap();
            }
            // A migration cut short had written a stray chunk: it is written afresh.
            let stray = numbered_calls(5, [9]);
            db.open_tree(CALL_CHUNKS_TREE)
                .unwrap()
                .insert(call_key(1, 5, 9), bincode::serialize(&stray).unwrap())
                .unwrap();
            db.flush().unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.trace(1).unwrap().unwrap().calls, calls);
        assert_eq!(store.count_calls(1, Some(0)), 100);
        assert!(!store.db.tree_names().iter().any(|n| n == CALLS_V2_TREE.as_bytes()));
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.calls(1, Some(1), 1, 10).unwrap(), calls[101..].to_vec());
    }

    #[test]
    fn export_marks_keep_whose_values_go_and_read_the_old_one_byte_flag() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            store.mark_export_pending(1, &ExportValues::Only(vec!["price".into()])).unwrap();
            store.mark_export_pending(2, &ExportValues::all()).unwrap();
            // As a store written before per-function values left them.
            store.export_pending.insert(3u64.to_be_bytes(), &[1u8]).unwrap();
            store.export_pending.insert(4u64.to_be_bytes(), &[0u8]).unwrap();
            store.export_pending.insert(5u64.to_be_bytes(), b"{not json").unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(
            store.export_pending().unwrap(),
            vec![
                (1, ExportValues::Only(vec!["price".into()])),
                (2, ExportValues::all()),
                (3, ExportValues::all()),
                (4, ExportValues::All(false)),
                // Unreadable: no values rather than too many.
                (5, ExportValues::All(false)),
            ]
        );
    }

    #[test]
    fn a_store_held_open_is_refused_with_the_lock_named() {
        let dir = tempfile::tempdir().unwrap();
        let _held = Store::open(dir.path()).unwrap();
        let err = Store::open(dir.path()).expect_err("a second open of a held store fails");
        assert!(matches!(err, StoreError::Sled { .. }) && err.to_string().contains("could not acquire lock"), "{err}");
    }

    #[test]
    fn stores_block_paths_by_call() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let path = CallBlocks {
            seq: 7,
            function: 1,
            path: vec![0, 4, 4, 9],
            truncated: 2,
            edges: vec![tracer_probe::probes::cfg::CallEdge { from: 0, to: 4, count: 1 }],
        };
        store.put_call_blocks(3, [&path]).unwrap();
        assert_eq!(store.call_blocks(3, 1, 7).unwrap(), Some(path));
        assert_eq!(store.call_blocks(3, 0, 7).unwrap(), None);
    }

    #[test]
    fn a_version_1_store_is_migrated_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let mut trace = Trace::sample();
        let mut old = serde_json::to_value(&trace).unwrap();
        old["schema_version"] = 1.into();
        old["loss"].as_object_mut().unwrap().remove("incomplete_calls");
        let old_call = old["calls"][0].as_object().unwrap().clone();
        let mut old_call = serde_json::Value::Object(old_call);
        old_call.as_object_mut().unwrap().remove("incomplete");
        old["calls"] = serde_json::Value::Array(vec![]);
        {
            let db = sled::open(dir.path()).unwrap();
            db.open_tree("meta").unwrap().insert(SCHEMA_KEY, &1u32.to_be_bytes()).unwrap();
            let header: tracer_probe::trace::v1::Trace = serde_json::from_value(old).unwrap();
            db.open_tree("traces").unwrap().insert(1u64.to_be_bytes(), bincode::serialize(&header).unwrap()).unwrap();
            let call: tracer_probe::trace::v1::Call = serde_json::from_value(old_call).unwrap();
            db.open_tree("calls").unwrap().insert(call_key(1, 0, 0), bincode::serialize(&call).unwrap()).unwrap();
            db.flush().unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let back = store.trace(1).unwrap().unwrap();
        trace.schema_version = 1;
        // Resource samples live in their own tree (none were stored here).
        trace.resources.clear();
        assert_eq!(back, trace);
        drop(store);
        // Opened again, it is version 2 and reads the same.
        assert_eq!(Store::open(dir.path()).unwrap().trace(1).unwrap().unwrap(), trace);
    }

    #[test]
    fn refuses_another_schema_version() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = sled::open(dir.path()).unwrap();
            db.open_tree("meta").unwrap().insert(SCHEMA_KEY, &99u32.to_be_bytes()).unwrap();
            db.flush().unwrap();
        }
        let err = Store::open(dir.path()).unwrap_err();
        assert!(matches!(err, StoreError::SchemaMismatch { found: 99, .. }), "{err}");
        assert!(err.to_string().contains("schema version 99"));
    }
}
