//! The daemon's one policy for a poisoned lock: a panic in one request, job or session must
//! not take the others down. What these locks guard (maps of handles, status snapshots) is
//! replaced whole under the lock, never left half-written, so the guard is used as it is.
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `m`, taking the guard of a poisoned lock as it is.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
