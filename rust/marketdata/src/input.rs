//! The input files of one symbol, read line by line in order. A position is (file index,
//! byte offset in the file's *decompressed* content); positions handed out are always at
//! a line start. Reopening a gzip file at an offset decompresses and discards the bytes
//! before it (cost: proportional to the offset, about the speed of a full read).

use crate::Error;
use flate2::read::MultiGzDecoder;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub file_index: usize,
    pub offset: u64,
}

pub struct Inputs {
    files: Vec<PathBuf>,
    pos: Position,
    reader: Option<Box<dyn BufRead + Send>>,
}

const READ_BUF: usize = 1 << 16;

fn open_at(path: &Path, offset: u64) -> Result<Box<dyn BufRead + Send>, Error> {
    let io = |source| Error::Io { path: path.to_path_buf(), source };
    let mut file = File::open(path).map_err(io)?;
    let mut magic = [0u8; 2];
    let n = file.read(&mut magic).map_err(io)?;
    let gz = n == 2 && magic == [0x1f, 0x8b];
    drop(file);
    let file = File::open(path).map_err(io)?;
    let mut reader: Box<dyn BufRead + Send> = if gz {
        Box::new(BufReader::with_capacity(
            READ_BUF,
            MultiGzDecoder::new(BufReader::with_capacity(READ_BUF, file)),
        ))
    } else {
        let mut file = file;
        std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(offset)).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        if offset > len {
            return Err(Error::Parse {
                path: path.to_path_buf(),
                offset,
                reason: "offset is past the end of the file".into(),
            });
        }
        return Ok(Box::new(BufReader::with_capacity(READ_BUF, file)));
    };
    let skipped = std::io::copy(&mut (&mut reader).take(offset), &mut std::io::sink()).map_err(io)?;
    if skipped != offset {
        return Err(Error::Parse {
            path: path.to_path_buf(),
            offset,
            reason: format!("offset is past the end of the decompressed content ({skipped} bytes)"),
        });
    }
    Ok(reader)
}

impl Inputs {
    /// Inputs positioned at `pos` (validated: the file index exists, the offset is in it).
    pub fn open(files: Vec<PathBuf>, pos: Position) -> Result<Self, Error> {
        if files.is_empty() {
            return Err(Error::InvalidArgument("no input files".into()));
        }
        if pos.file_index > files.len() || (pos.file_index == files.len() && pos.offset != 0) {
            return Err(Error::InvalidArgument(format!(
                "position (file {}, offset {}) is outside the {} input files",
                pos.file_index,
                pos.offset,
                files.len()
            )));
        }
        let mut me = Self { files, pos, reader: None };
        if let Some(path) = me.files.get(pos.file_index) {
            me.reader = Some(open_at(path, pos.offset)?);
        }
        Ok(me)
    }

    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Where the next line starts.
    pub fn position(&self) -> Position {
        self.pos
    }

    pub fn path(&self, index: usize) -> Option<&Path> {
        self.files.get(index).map(PathBuf::as_path)
    }

    /// Reads the next line (without its newline) into `buf`; returns its position, or
    /// None at the end of the last file. Files end at EOF: the next file starts.
    pub fn next_line(&mut self, buf: &mut Vec<u8>) -> Result<Option<Position>, Error> {
        loop {
            let Some(reader) = self.reader.as_mut() else {
                return Ok(None);
            };
            buf.clear();
            let at = self.pos;
            let n = reader.read_until(b'\n', buf).map_err(|source| Error::Io {
                path: self.files.get(at.file_index).cloned().unwrap_or_default(),
                source,
            })?;
            if n == 0 {
                self.pos = Position { file_index: at.file_index + 1, offset: 0 };
                self.reader = match self.files.get(self.pos.file_index) {
                    Some(path) => Some(open_at(path, 0)?),
                    None => None,
                };
                continue;
            }
            self.pos.offset += n as u64;
            while matches!(buf.last(), Some(b'\n' | b'\r')) {
                buf.pop();
            }
            return Ok(Some(at));
        }
    }
}
