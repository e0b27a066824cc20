//! Which OS user the server runs as, and the file-system checks that follow from it.

use std::ffi::CString;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::Error;

/// The system user PostgreSQL runs as when we are root (it refuses to run as root).
pub(crate) const SERVER_USER_WHEN_ROOT: &str = "postgres";

#[derive(Debug, Clone)]
pub(crate) struct ServerUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    /// True when we are root and children must switch to `uid`/`gid`.
    pub switch: bool,
}

impl ServerUser {
    /// Root: the `postgres` system user. Anyone else: ourselves.
    pub fn resolve() -> Result<Self, Error> {
        // SAFETY: geteuid/getegid cannot fail and have no preconditions.
        let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
        if euid == 0 {
            Self::lookup(SERVER_USER_WHEN_ROOT)
        } else {
            Ok(ServerUser {
                name: format!("uid {euid}"),
                uid: euid,
                gid: egid,
                switch: false,
            })
        }
    }

    pub fn lookup(name: &str) -> Result<Self, Error> {
        let no_user = || Error::NoServerUser {
            user: name.to_owned(),
        };
        let cname = CString::new(name).map_err(|_| no_user())?;
        let mut buf: Vec<libc::c_char> = vec![0; 4096];
        loop {
            // SAFETY: all pointers are valid for the duration of the call; `buf.len()` is
            // the real size of `buf`; getpwnam_r (unlike getpwnam) is thread-safe.
            let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
            let mut result: *mut libc::passwd = std::ptr::null_mut();
            let rc = unsafe {
                libc::getpwnam_r(
                    cname.as_ptr(),
                    &mut pwd,
                    buf.as_mut_ptr(),
                    buf.len(),
                    &mut result,
                )
            };
            if rc == libc::ERANGE && buf.len() < (1 << 20) {
                buf.resize(buf.len() * 4, 0);
                continue;
            }
            if rc != 0 || result.is_null() {
                return Err(no_user());
            }
            return Ok(ServerUser {
                name: name.to_owned(),
                uid: pwd.pw_uid,
                gid: pwd.pw_gid,
                switch: true,
            });
        }
    }

    /// Makes `cmd` run as this user. std sets the gid before the uid and, because no
    /// explicit groups are given, calls `setgroups(0)` so root's supplementary groups are
    /// dropped too.
    pub fn apply(&self, cmd: &mut Command) {
        if self.switch {
            cmd.gid(self.gid).uid(self.uid);
        }
    }

    /// Gives `path` to this user (only needed, and only possible, when we are root).
    pub fn chown(&self, path: &Path) -> Result<(), Error> {
        if self.switch {
            std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid))
                .map_err(|e| Error::io(format!("cannot chown {}", path.display()), e))?;
        }
        Ok(())
    }

    /// Fails with a clear error when the server user cannot reach `dir` (e.g. it lies under
    /// `/root`, mode 700), instead of letting initdb/postgres fail cryptically later.
    ///
    /// The check is done *as that user*: a harmless `postgres --version` is spawned with
    /// its working directory set to `dir`, so permissions, ACLs and groups all count.
    pub fn check_reachable(&self, dir: &Path, postgres: &Path) -> Result<(), Error> {
        if !self.switch {
            return Ok(());
        }
        let mut cmd = Command::new(postgres);
        cmd.arg("--version")
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        self.apply(&mut cmd);
        match cmd.status() {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                Err(Error::DataDirNotTraversable {
                    dir: dir.to_owned(),
                    user: self.name.clone(),
                    blocker: self.first_blocker(dir),
                })
            }
            Err(e) => Err(Error::io(
                format!(
                    "cannot check that {} is reachable by the `{}` user",
                    dir.display(),
                    self.name
                ),
                e,
            )),
        }
    }

    /// Best guess (mode bits only) at the first ancestor of `dir` this user cannot enter,
    /// for the error message.
    fn first_blocker(&self, dir: &Path) -> PathBuf {
        let mut ancestors: Vec<&Path> = dir.ancestors().collect();
        ancestors.reverse();
        for a in ancestors {
            if let Ok(m) = std::fs::metadata(a) {
                let mode = m.mode();
                let ok = if m.uid() == self.uid {
                    mode & 0o100 != 0
                } else if m.gid() == self.gid {
                    mode & 0o010 != 0
                } else {
                    mode & 0o001 != 0
                };
                if !ok {
                    return a.to_owned();
                }
            }
        }
        dir.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_user_is_a_clear_error() {
        let err = ServerUser::lookup("no-such-user-embedded-pg").expect_err("no such user");
        let msg = err.to_string();
        assert!(
            msg.contains("no `no-such-user-embedded-pg` system user"),
            "{msg}"
        );
        assert!(!msg.contains('\n'), "{msg}");
    }

    #[test]
    fn root_user_lookup_works() {
        let root = ServerUser::lookup("root").expect("root exists");
        assert_eq!((root.uid, root.gid), (0, 0));
    }
}
