//! Giving freed memory back to the system. A session's threads allocate and free many
//! short-lived buffers (ring-buffer batches, calls on their way to the store); glibc keeps
//! the freed pages in its arenas, so a daemon that records for days would keep the size
//! of its busiest session. After each session and each export the free pages go back.

/// Returns the allocator's free pages to the system (glibc's `malloc_trim`); elsewhere a
/// no-op.
pub(crate) fn release_free_pages() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks and trims the allocator's own free lists; it takes
    // the arena locks itself and is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}
