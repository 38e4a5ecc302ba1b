//! The data dir (`--data-dir` / `ONBOARD_DATA_DIR`): the embedded database's files, its
//! credentials and the generated bootstrap key's file. Only the account running `onboard`
//! may read any of it: directories we create are 0700 and secret files 0600, written
//! whole before they get their final name (a crash never leaves half a secret behind).

use std::fs::{DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Creates `dir` (and missing parents) with mode 0700. An existing directory keeps its
/// mode: it may be shared (`--data-dir .`), and what is secret inside it is private by
/// itself (the database's own directory is made 0700 by [`ensure_private_dir`], files
/// 0600). A warning says when others can list it.
pub fn ensure_dir(dir: &Path) -> std::io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        tracing::warn!(
            dir = %dir.display(),
            mode = format!("{mode:o}"),
            "the data dir is open to other accounts; its secrets are 0600 and the database directory 0700, but consider `chmod 700` on it"
        );
    }
    Ok(())
}

/// Creates `dir` with mode 0700, or makes an existing one 0700 (a data dir from before
/// this rule was 0755: the database's files were readable by every local account).
pub fn ensure_private_dir(dir: &Path) -> std::io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let perms = std::fs::metadata(dir)?.permissions();
    if perms.mode() & 0o077 != 0 {
        tracing::info!(dir = %dir.display(), "made the database directory private (0700)");
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Writes `contents` to `path` with mode 0600: first to `path` + `.tmp` (created fresh,
/// synced), then renamed, so `path` is either absent or whole.
pub fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    // A leftover from a crash mid-write holds nothing anyone relied on.
    let _ = std::fs::remove_file(&tmp);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(contents)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    if let Some(parent) = path.parent() {
        // The rename itself must survive a crash too.
        if let Ok(d) = std::fs::File::open(parent) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Reads a secret file, first making it 0600 if it was looser (copied in by hand).
pub fn read_private(path: &Path) -> std::io::Result<String> {
    let perms = std::fs::metadata(path)?.permissions();
    if perms.mode() & 0o077 != 0 {
        tracing::warn!(file = %path.display(), "a secret file was readable by others; made it 0600");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::read_to_string(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_files_and_dirs_get_their_modes() {
        let base = std::env::temp_dir().join(format!("onboard-dd-{:x}", rand::random::<u64>()));
        let dir = base.join("a/b");
        ensure_dir(&dir).unwrap();
        assert_eq!(
            std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let open = base.join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        ensure_private_dir(&open).unwrap();
        assert_eq!(
            std::fs::metadata(&open).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let file = dir.join("secret");
        write_private(&file, b"s3cret").unwrap();
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
        write_private(&file, b"again").unwrap();
        assert_eq!(read_private(&file).unwrap(), "again");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        read_private(&file).unwrap();
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
        std::fs::remove_dir_all(&base).unwrap();
    }
}
