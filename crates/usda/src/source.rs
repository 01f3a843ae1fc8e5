//! A download as a set of named files: a folder (searched recursively) or a zip archive.
//! File names are matched case-insensitively on their last path component.

use crate::{ImportError, Progress};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

enum Kind {
    Folder(Vec<PathBuf>),
    Zip {
        archive: zip::ZipArchive<BufReader<File>>,
        names: Vec<String>,
    },
}

/// A folder or zip holding USDA files.
pub struct Source {
    path: String,
    kind: Kind,
}

fn base(name: &str) -> String {
    name.rsplit(['/', '\\'])
        .next()
        .unwrap_or(name)
        .to_lowercase()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let p = entry?.path();
        if p.is_dir() && depth < 3 {
            walk(&p, out, depth + 1)?;
        } else if p.is_file() {
            out.push(p);
        }
    }
    Ok(())
}

/// The longest line a USDA file may have. Real rows are under a few kilobytes (the longest
/// Branded ingredient lists are about 10 kB); a longer line is not a USDA file, and reading it
/// whole would let one row take the memory.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Fails the read when a line is longer than [`MAX_LINE_BYTES`], before it is held in memory.
struct LineLimited<R> {
    inner: R,
    since_newline: usize,
    line: u64,
}

impl<R: Read> Read for LineLimited<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            if b == b'\n' {
                self.since_newline = 0;
                self.line += 1;
            } else {
                self.since_newline += 1;
                if self.since_newline > MAX_LINE_BYTES {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!(
                            "line {} is longer than {} bytes: not a USDA file",
                            self.line + 1,
                            MAX_LINE_BYTES
                        ),
                    ));
                }
            }
        }
        Ok(n)
    }
}

/// Counts bytes read for the progress bar.
struct Counting<'a, R> {
    inner: R,
    progress: &'a mut dyn Progress,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.advance(n as u64);
        Ok(n)
    }
}

impl Source {
    pub fn open(path: &Path) -> Result<Self, ImportError> {
        let io = |source| ImportError::Io {
            path: path.display().to_string(),
            source,
        };
        let shown = path.display().to_string();
        if path.is_dir() {
            let mut files = Vec::new();
            walk(path, &mut files, 0).map_err(io)?;
            files.sort();
            return Ok(Self {
                path: shown,
                kind: Kind::Folder(files),
            });
        }
        let file = File::open(path).map_err(io)?;
        let archive = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| ImportError::Zip {
            path: shown.clone(),
            message: e.to_string(),
        })?;
        let names = archive.file_names().map(String::from).collect();
        Ok(Self {
            path: shown,
            kind: Kind::Zip { archive, names },
        })
    }

    fn find(&self, name: &str) -> Option<String> {
        let want = name.to_lowercase();
        match &self.kind {
            Kind::Folder(files) => files
                .iter()
                .find(|p| base(&p.to_string_lossy()) == want)
                .map(|p| p.to_string_lossy().into_owned()),
            Kind::Zip { names, .. } => names.iter().find(|n| base(n) == want).cloned(),
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    /// The first few file names, for an error message.
    pub fn listing(&self) -> String {
        let names: Vec<String> = match &self.kind {
            Kind::Folder(files) => files.iter().map(|p| base(&p.to_string_lossy())).collect(),
            Kind::Zip { names, .. } => names.iter().map(|n| base(n)).collect(),
        };
        if names.is_empty() {
            return "no files".into();
        }
        let mut shown: Vec<String> = names.into_iter().take(12).collect();
        shown.sort();
        shown.join(", ")
    }

    /// Runs `read` over the named file, if present, with progress counted.
    pub fn with_file<T>(
        &mut self,
        name: &str,
        progress: &mut dyn Progress,
        read: impl FnOnce(&mut dyn Read) -> Result<T, ImportError>,
    ) -> Result<Option<T>, ImportError> {
        let Some(found) = self.find(name) else {
            return Ok(None);
        };
        let path = self.path.clone();
        let io = |source| ImportError::Io {
            path: format!("{path}: {name}"),
            source,
        };
        match &mut self.kind {
            Kind::Folder(_) => {
                let file = File::open(&found).map_err(io)?;
                let size = file.metadata().map(|m| m.len()).unwrap_or(0);
                progress.file(name, size);
                let mut r = Counting {
                    inner: LineLimited {
                        inner: BufReader::with_capacity(1 << 16, file),
                        since_newline: 0,
                        line: 0,
                    },
                    progress,
                };
                read(&mut r).map(Some)
            }
            Kind::Zip { archive, .. } => {
                let entry = archive.by_name(&found).map_err(|e| ImportError::Zip {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
                progress.file(name, entry.size());
                let mut r = Counting {
                    inner: LineLimited {
                        inner: BufReader::with_capacity(1 << 16, entry),
                        since_newline: 0,
                        line: 0,
                    },
                    progress,
                };
                read(&mut r).map(Some)
            }
        }
    }
}
