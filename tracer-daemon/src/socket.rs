//! The daemon's Unix socket: created with no access for others, then given to root and
//! the socket group (0660), or to root alone (0600) when that group does not exist.
use std::{
    ffi::CString,
    io,
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
};

/// Errors setting up the socket.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    /// A daemon already answers on the socket.
    #[error("another daemon is listening on {0}; stop it or give another --socket")]
    InUse(PathBuf),
    /// A file system or socket operation failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
}

/// A bound API socket.
#[derive(Debug)]
pub struct ApiSocket {
    /// The listener.
    pub listener: tokio::net::UnixListener,
    /// Who may connect, for the log.
    pub access: String,
}

impl ApiSocket {
    /// Binds `path` (removing a stale socket left by a daemon that did not stop cleanly)
    /// and restricts it to root and `group`. Must run inside a tokio runtime.
    ///
    /// # Errors
    /// [`SocketError`].
    pub fn bind(path: &Path, group: &str) -> Result<Self, SocketError> {
        let io = |action, source| SocketError::Io { action, path: path.to_path_buf(), source };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| io("create the directory of", e))?;
        }
        if path.exists() {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(SocketError::InUse(path.to_path_buf()));
            }
            std::fs::remove_file(path).map_err(|e| io("remove the stale socket", e))?;
        }
        // Nobody but this user may connect until the permissions below are set.
        let old = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o177));
        let bound = tokio::net::UnixListener::bind(path);
        rustix::process::umask(old);
        let listener = bound.map_err(|e| io("listen on", e))?;
        let (mode, access) = match group_id(group) {
            Some(gid) => {
                std::os::unix::fs::chown(path, None, Some(gid)).map_err(|e| io("give the group of", e))?;
                (0o660, format!("root and group {group} may connect"))
            }
            None => (0o600, format!("only root may connect: no group {group} exists")),
        };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| io("set the mode of", e))?;
        Ok(Self { listener, access })
    }
}

/// Removes the socket file at shutdown.
pub fn remove(path: &Path) {
    if let Err(e) = std::fs::remove_file(path) {
        tracing::debug!(error = %e, path = %path.display(), "cannot remove the socket");
    }
}

/// The id of group `name`, from the system's group database.
fn group_id(name: &str) -> Option<u32> {
    let name = CString::new(name).ok()?;
    let mut group = std::mem::MaybeUninit::<libc::group>::uninit();
    let mut buf = vec![0u8; 16 * 1024];
    let mut result = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call; getgrnam_r writes at most `buf.len()`
    // bytes into `buf` and sets `result` to `group` on success, or to null.
    let rc =
        unsafe { libc::getgrnam_r(name.as_ptr(), group.as_mut_ptr(), buf.as_mut_ptr().cast(), buf.len(), &mut result) };
    if rc != 0 || result.is_null() {
        return None;
    }
    // SAFETY: `result` is non-null, so getgrnam_r filled `group`.
    Some(unsafe { group.assume_init() }.gr_gid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_socket_is_for_root_and_the_group_only_and_a_live_one_is_not_taken_over() {
        if !test_support::ci::require_root("the socket test") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run/api.sock");
        let socket = ApiSocket::bind(&path, "nogroup").unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o660);
        assert_eq!(std::os::unix::fs::MetadataExt::gid(&meta), group_id("nogroup").unwrap());
        assert!(socket.access.contains("group nogroup"), "{}", socket.access);
        let err = ApiSocket::bind(&path, "nogroup").unwrap_err();
        assert!(matches!(err, SocketError::InUse(_)), "{err}");
        drop(socket);
        // A stale file is replaced; without the group, root alone may connect.
        let socket = ApiSocket::bind(&path, "no-such-group-here").unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(socket.access.contains("only root"), "{}", socket.access);
        remove(&path);
        assert!(!path.exists());
    }
}
