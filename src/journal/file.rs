//! The records in an append-only JSONL file: one line per record, appended whole; lines past
//! the retention dropped when the file is opened (rewritten to a temporary file, renamed).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::{now, JournalError, Record};

/// The file's name under `data_dir`.
pub const FILE_NAME: &str = "journal.jsonl";

/// Records in a JSONL file.
pub struct FileJournal {
    path: PathBuf,
    retention_days: u32,
    file: Mutex<std::fs::File>,
}

impl FileJournal {
    /// Opens (creating) the file at `path`, dropping the lines older than `retention_days`.
    pub fn open(path: &Path, retention_days: u32) -> Result<FileJournal, JournalError> {
        let error = |cause| JournalError::File {
            path: path.display().to_string(),
            cause,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(error)?;
        }
        let journal_path = path.to_path_buf();
        compact(path, cutoff(retention_days)).map_err(error)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(error)?;
        Ok(FileJournal {
            path: journal_path,
            retention_days,
            file: Mutex::new(file),
        })
    }

    fn error(&self, cause: std::io::Error) -> JournalError {
        JournalError::File {
            path: self.path.display().to_string(),
            cause,
        }
    }

    /// Appends `record` as one line.
    pub fn append(&self, record: &Record) -> Result<(), JournalError> {
        let mut line = serde_json::to_string(record).map_err(|e| self.error(e.into()))?;
        line.push('\n');
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        file.write_all(line.as_bytes()).map_err(|e| self.error(e))
    }

    /// The records since `from` and within the retention, oldest first (unreadable lines
    /// skipped).
    pub fn since(&self, from: u64) -> Result<Vec<Record>, JournalError> {
        let from = from.max(cutoff(self.retention_days));
        let _held = self.file.lock().unwrap_or_else(|e| e.into_inner());
        Ok(read(&self.path)
            .map_err(|e| self.error(e))?
            .into_iter()
            .filter(|r| r.at >= from)
            .collect())
    }

    /// Rewrites the file without `user`'s records; how many there were.
    pub fn forget(&self, user: &str) -> Result<usize, JournalError> {
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let all = read(&self.path).map_err(|e| self.error(e))?;
        let kept: Vec<&Record> = all.iter().filter(|r| r.user != user).collect();
        let forgotten = all.len() - kept.len();
        if forgotten > 0 {
            rewrite(&self.path, &kept).map_err(|e| self.error(e))?;
            *file = std::fs::OpenOptions::new()
                .append(true)
                .open(&self.path)
                .map_err(|e| self.error(e))?;
        }
        Ok(forgotten)
    }
}

/// The oldest time kept.
fn cutoff(retention_days: u32) -> u64 {
    now().saturating_sub(u64::from(retention_days) * 86_400)
}

fn read(path: &Path) -> std::io::Result<Vec<Record>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let lines: Vec<&str> = text.lines().collect();
    Ok(super::parse(&lines))
}

fn compact(path: &Path, from: u64) -> std::io::Result<()> {
    let all = read(path)?;
    if all.iter().all(|r| r.at >= from) {
        return Ok(());
    }
    let kept: Vec<&Record> = all.iter().filter(|r| r.at >= from).collect();
    rewrite(path, &kept)
}

fn rewrite(path: &Path, records: &[&Record]) -> std::io::Result<()> {
    let temporary = path.with_extension("jsonl.compacting");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&temporary)?);
    for r in records {
        serde_json::to_writer(&mut out, r)?;
        out.write_all(b"\n")?;
    }
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(temporary, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::Kind;

    pub(crate) fn record(at: u64, user: &str) -> Record {
        Record {
            at,
            kind: Kind::Question,
            question_id: "q".into(),
            question: Some("日本承诺对美国投资多少？".into()),
            reply: Some("answer".into()),
            cited: vec!["000 ¶37".into()],
            took_ms: Some(20.0),
            up: None,
            chat: "c".into(),
            chat_type: "private".into(),
            chat_title: None,
            user: user.into(),
        }
    }

    #[test]
    fn many_lines_are_parsed_in_order_and_bad_ones_skipped() {
        let mut lines: Vec<String> = (0..25_000)
            .map(|i| serde_json::to_string(&record(i, "u")).unwrap())
            .collect();
        lines[7] = "not json".into();
        let parsed = crate::journal::parse(&lines);
        assert_eq!(parsed.len(), 24_999);
        assert!(parsed.windows(2).all(|w| w[0].at < w[1].at), "in order");
        assert_eq!(parsed[7].at, 8);
    }

    #[test]
    fn expired_lines_leave_the_file_and_forget_removes_only_the_askers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data").join(FILE_NAME);
        let old = now() - 100 * 86_400;
        {
            let j = FileJournal::open(&path, 90).unwrap();
            j.append(&record(old, "a")).unwrap();
            j.append(&record(now(), "a")).unwrap();
            j.append(&record(now(), "b")).unwrap();
            assert_eq!(
                j.since(0).unwrap().len(),
                2,
                "expired records are not reported"
            );
        }
        let j = FileJournal::open(&path, 90).unwrap();
        let lines = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            lines.lines().count(),
            2,
            "the expired line left the file: {lines}"
        );
        assert_eq!(j.forget("a").unwrap(), 1);
        j.append(&record(now(), "c")).unwrap();
        let users: Vec<String> = j.since(0).unwrap().into_iter().map(|r| r.user).collect();
        assert_eq!(users, ["b", "c"]);
    }
}
