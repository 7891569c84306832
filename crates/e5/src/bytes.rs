//! The model file's bytes: mapped read-only (the pages are shared with the page cache and
//! with every process that maps the file), or owned.

use std::fs::File;
use std::ops::Deref;
use std::path::Path;

/// Bytes of a model file.
pub enum Bytes {
    /// The file, mapped.
    Mapped(memmap2::Mmap),
    /// A copy in memory.
    Owned(Vec<u8>),
}

impl Bytes {
    /// Maps the file at `path`. Replace a model file by writing a new one and renaming it over
    /// the old (what `tools/e5-prune/prune.py` and `cp` to a new name do): a file truncated in
    /// place while mapped would fault the process.
    pub fn map(path: &Path) -> std::io::Result<Bytes> {
        let file = File::open(path)?;
        // SAFETY: the mapping is read-only and private to this process's view; the file is
        // data shipped with the program, replaced by rename (which keeps the mapped inode
        // intact), never written in place while it runs.
        let map = unsafe { memmap2::Mmap::map(&file)? };
        Ok(Bytes::Mapped(map))
    }
}

impl Deref for Bytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(map) => map,
            Bytes::Owned(bytes) => bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mapped_file_reads_as_its_bytes() {
        let path = std::env::temp_dir().join(format!("summit-e5-map-{}", std::process::id()));
        std::fs::write(&path, b"E5S1 bytes").unwrap();
        let bytes = Bytes::map(&path).unwrap();
        assert_eq!(&bytes[..], b"E5S1 bytes");
        std::fs::remove_file(&path).unwrap();
        assert!(Bytes::map(&path).is_err());
    }
}
