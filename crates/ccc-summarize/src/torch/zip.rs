//! A strict reader for the zip container of PyTorch checkpoints.
//!
//! `torch.save` (torch ≥ 1.6) writes an uncompressed ("stored") zip archive whose records are 64-byte aligned, so
//! tensor bytes can be read in place at an offset. This reader only indexes the central directory and locates
//! record data; it never decompresses anything. Compressed or encrypted records, split archives, absurd sizes and
//! records outside the file are rejected with [`ZipError`], never a panic.
//!
//! Layout handled (PKWARE APPNOTE 6.3): end of central directory (EOCD), the zip64 EOCD locator and record (torch
//! always writes them), central directory headers with zip64 extra fields, and local file headers (whose sizes
//! are zero in torch files: the sizes come from the central directory, bit 3 of the flags being set).

use std::collections::HashMap;

use crate::error::ZipError;
pub use crate::read_at::{FileAt, ReadAt};

fn corrupt(msg: impl Into<String>) -> ZipError {
    ZipError::Corrupt(msg.into())
}

/// Limits on what an archive may claim, checked before anything is allocated.
#[derive(Debug, Clone, Copy)]
pub struct ZipLimits {
    /// Maximum size of the central directory in bytes.
    pub max_central_directory: u64,
    /// Maximum number of records.
    pub max_entries: u64,
}

impl Default for ZipLimits {
    fn default() -> Self {
        // A 70B-parameter checkpoint has a few thousand records; these bounds leave two orders of magnitude.
        ZipLimits { max_central_directory: 64 << 20, max_entries: 1 << 20 }
    }
}

/// One record of the archive, as the central directory describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipEntry {
    /// The record name, e.g. `archive/data/0`.
    pub name: String,
    /// Compression method (0 = stored).
    pub method: u16,
    /// General-purpose flags.
    pub flags: u16,
    /// Uncompressed size.
    pub size: u64,
    /// Compressed size (equal to `size` for stored records).
    pub compressed_size: u64,
    /// Offset of the local file header.
    pub header_offset: u64,
}

/// The central directory of a zip archive: its records by name.
#[derive(Debug, Clone)]
pub struct ZipIndex {
    entries: Vec<ZipEntry>,
    by_name: HashMap<String, usize>,
    /// Where the central directory starts: record data must end before it.
    cd_offset: u64,
}

const EOCD_SIG: u32 = 0x0605_4b50;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const ZIP64_EOCD_SIG: u32 = 0x0606_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const LOCAL_SIG: u32 = 0x0403_4b50;
const EOCD_LEN: u64 = 22;
const ZIP64_LOCATOR_LEN: u64 = 20;
const ZIP64_EOCD_LEN: u64 = 56;
const CENTRAL_LEN: usize = 46;
const LOCAL_LEN: usize = 30;

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

impl ZipIndex {
    /// Index the archive held by `src`, with the default limits.
    pub fn parse<R: ReadAt + ?Sized>(src: &R) -> Result<ZipIndex, ZipError> {
        Self::parse_with(src, ZipLimits::default())
    }

    /// Index the archive held by `src`.
    pub fn parse_with<R: ReadAt + ?Sized>(src: &R, limits: ZipLimits) -> Result<ZipIndex, ZipError> {
        let len = src.len();
        if len < EOCD_LEN {
            return Err(corrupt(format!("{len} bytes is too short for a zip archive")));
        }
        // The EOCD is the last 22 bytes plus a comment of at most 65535 bytes: search that tail backwards.
        let tail_len = len.min(EOCD_LEN + 0xFFFF);
        let tail_start = len - tail_len;
        let mut tail = vec![0u8; tail_len as usize];
        src.read_exact_at(&mut tail, tail_start)?;
        let eocd_rel = (0..=tail.len() - EOCD_LEN as usize)
            .rev()
            .find(|&i| {
                u32_at(&tail, i) == EOCD_SIG && i + EOCD_LEN as usize + u16_at(&tail, i + 20) as usize == tail.len()
            })
            .ok_or_else(|| corrupt("no end-of-central-directory record (the file is truncated or not a zip)"))?;
        let eocd = &tail[eocd_rel..eocd_rel + EOCD_LEN as usize];
        let eocd_pos = tail_start + eocd_rel as u64;
        if u16_at(eocd, 4) != 0 || u16_at(eocd, 6) != 0 {
            return Err(corrupt("multi-disk (split) archives are not supported"));
        }
        let mut n_entries = u64::from(u16_at(eocd, 10));
        let mut cd_size = u64::from(u32_at(eocd, 12));
        let mut cd_offset = u64::from(u32_at(eocd, 16));
        let mut cd_limit = eocd_pos;

        if eocd_pos >= ZIP64_LOCATOR_LEN {
            let mut loc = [0u8; ZIP64_LOCATOR_LEN as usize];
            src.read_exact_at(&mut loc, eocd_pos - ZIP64_LOCATOR_LEN)?;
            if u32_at(&loc, 0) == ZIP64_LOCATOR_SIG {
                let z_pos = u64_at(&loc, 8);
                if z_pos.checked_add(ZIP64_EOCD_LEN).is_none_or(|end| end > eocd_pos - ZIP64_LOCATOR_LEN) {
                    return Err(corrupt(format!("zip64 end-of-central-directory offset {z_pos} is out of range")));
                }
                let mut z = [0u8; ZIP64_EOCD_LEN as usize];
                src.read_exact_at(&mut z, z_pos)?;
                if u32_at(&z, 0) != ZIP64_EOCD_SIG {
                    return Err(corrupt("zip64 end-of-central-directory record has a bad signature"));
                }
                if u32_at(&z, 16) != 0 || u32_at(&z, 20) != 0 {
                    return Err(corrupt("multi-disk (split) archives are not supported"));
                }
                n_entries = u64_at(&z, 32);
                cd_size = u64_at(&z, 40);
                cd_offset = u64_at(&z, 48);
                cd_limit = z_pos;
            }
        }
        if n_entries > limits.max_entries {
            return Err(ZipError::TooLarge(format!(
                "{n_entries} records (more than the limit of {})",
                limits.max_entries
            )));
        }
        if cd_size > limits.max_central_directory {
            return Err(ZipError::TooLarge(format!(
                "a central directory of {cd_size} bytes (more than the limit of {})",
                limits.max_central_directory
            )));
        }
        if cd_offset.checked_add(cd_size).is_none_or(|end| end > cd_limit) {
            return Err(corrupt(format!(
                "central directory ({cd_size} bytes at offset {cd_offset}) lies outside the archive"
            )));
        }
        if n_entries.checked_mul(CENTRAL_LEN as u64).is_none_or(|min| min > cd_size) {
            return Err(corrupt(format!("{n_entries} records cannot fit in a {cd_size}-byte central directory")));
        }
        let mut cd = vec![0u8; cd_size as usize];
        src.read_exact_at(&mut cd, cd_offset)?;

        let mut entries = Vec::with_capacity(n_entries as usize);
        let mut by_name = HashMap::with_capacity(n_entries as usize);
        let mut at = 0usize;
        for i in 0..n_entries {
            let fixed = cd
                .get(at..at + CENTRAL_LEN)
                .ok_or_else(|| corrupt(format!("central directory ends inside record {i}")))?;
            if u32_at(fixed, 0) != CENTRAL_SIG {
                return Err(corrupt(format!("central directory record {i} has a bad signature")));
            }
            let flags = u16_at(fixed, 8);
            let method = u16_at(fixed, 10);
            let mut compressed_size = u64::from(u32_at(fixed, 20));
            let mut size = u64::from(u32_at(fixed, 24));
            let name_len = usize::from(u16_at(fixed, 28));
            let extra_len = usize::from(u16_at(fixed, 30));
            let comment_len = usize::from(u16_at(fixed, 32));
            let disk = u16_at(fixed, 34);
            let mut header_offset = u64::from(u32_at(fixed, 42));
            let var = at + CENTRAL_LEN;
            let end = var + name_len + extra_len + comment_len;
            let name_bytes =
                cd.get(var..var + name_len).ok_or_else(|| corrupt(format!("record {i}: name runs past the end")))?;
            let extra = cd
                .get(var + name_len..var + name_len + extra_len)
                .ok_or_else(|| corrupt(format!("record {i}: extra field runs past the end")))?;
            if end > cd.len() {
                return Err(corrupt(format!("record {i}: comment runs past the end")));
            }
            let name = std::str::from_utf8(name_bytes)
                .map_err(|_| corrupt(format!("record {i} has a name that is not UTF-8")))?
                .to_owned();
            // Zip64 extended information: present fields follow the order size, compressed size, offset, disk,
            // each only if its 32-bit field holds the all-ones marker.
            let needs = [size == 0xFFFF_FFFF, compressed_size == 0xFFFF_FFFF, header_offset == 0xFFFF_FFFF];
            if needs.iter().any(|&n| n) {
                let z = find_extra(extra, 0x0001)
                    .ok_or_else(|| corrupt(format!("record `{name}`: zip64 sizes without a zip64 extra field")))?;
                let mut p = 0usize;
                let mut next = || -> Result<u64, ZipError> {
                    let v = z
                        .get(p..p + 8)
                        .map(|b| u64_at(b, 0))
                        .ok_or_else(|| corrupt(format!("record `{name}`: zip64 extra field too short")))?;
                    p += 8;
                    Ok(v)
                };
                if needs[0] {
                    size = next()?;
                }
                if needs[1] {
                    compressed_size = next()?;
                }
                if needs[2] {
                    header_offset = next()?;
                }
            }
            if disk != 0 && disk != 0xFFFF {
                return Err(corrupt(format!("record `{name}` is on another disk")));
            }
            if by_name.insert(name.clone(), entries.len()).is_some() {
                return Err(corrupt(format!("record `{name}` appears twice")));
            }
            entries.push(ZipEntry { name, method, flags, size, compressed_size, header_offset });
            at = end;
        }
        Ok(ZipIndex { entries, by_name, cd_offset })
    }

    /// Every record, in central-directory order.
    pub fn entries(&self) -> &[ZipEntry] {
        &self.entries
    }

    /// The record with this exact name.
    pub fn get(&self, name: &str) -> Option<&ZipEntry> {
        self.by_name.get(name).map(|&i| &self.entries[i])
    }

    /// Where the data of a stored record lies in the file: `(offset, length)`. Reads and checks the local header;
    /// refuses compressed or encrypted records and data outside the archive.
    pub fn data_range<R: ReadAt + ?Sized>(&self, src: &R, entry: &ZipEntry) -> Result<(u64, u64), ZipError> {
        if entry.flags & 1 != 0 {
            return Err(ZipError::NotStored { name: entry.name.clone(), what: "encrypted".into() });
        }
        if entry.method != 0 {
            return Err(ZipError::NotStored {
                name: entry.name.clone(),
                what: format!("compressed with method {}", entry.method),
            });
        }
        if entry.compressed_size != entry.size {
            return Err(corrupt(format!(
                "stored record `{}` has different sizes ({} and {})",
                entry.name, entry.size, entry.compressed_size
            )));
        }
        let mut local = [0u8; LOCAL_LEN];
        if entry.header_offset.checked_add(LOCAL_LEN as u64).is_none_or(|end| end > self.cd_offset) {
            return Err(corrupt(format!("record `{}`: local header offset is out of range", entry.name)));
        }
        src.read_exact_at(&mut local, entry.header_offset)?;
        if u32_at(&local, 0) != LOCAL_SIG {
            return Err(corrupt(format!("record `{}`: local header has a bad signature", entry.name)));
        }
        let name_len = u64::from(u16_at(&local, 26));
        let extra_len = u64::from(u16_at(&local, 28));
        if name_len != entry.name.len() as u64 {
            return Err(corrupt(format!("record `{}`: local and central names differ", entry.name)));
        }
        let name_at = entry.header_offset + LOCAL_LEN as u64;
        if name_at.checked_add(name_len).is_none_or(|end| end > self.cd_offset) {
            return Err(corrupt(format!("record `{}`: local header runs past the data area", entry.name)));
        }
        let mut local_name = vec![0u8; name_len as usize];
        src.read_exact_at(&mut local_name, name_at)?;
        if local_name != entry.name.as_bytes() {
            return Err(corrupt(format!("record `{}`: local and central names differ", entry.name)));
        }
        let data_at = name_at + name_len + extra_len;
        match data_at.checked_add(entry.size) {
            Some(end) if end <= self.cd_offset => Ok((data_at, entry.size)),
            _ => Err(corrupt(format!(
                "record `{}` claims {} bytes at offset {data_at}, past the data area ({} bytes)",
                entry.name, entry.size, self.cd_offset
            ))),
        }
    }
}

/// The body of the extra-field block with this header id.
fn find_extra(mut extra: &[u8], id: u16) -> Option<&[u8]> {
    while extra.len() >= 4 {
        let this = u16_at(extra, 0);
        let len = usize::from(u16_at(extra, 2));
        let body = extra.get(4..4 + len)?;
        if this == id {
            return Some(body);
        }
        extra = &extra[4 + len..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal stored archive, written the way `torch.save` writes it (zip64 EOCD, sizes in the central
    /// directory only, a data descriptor after each record).
    pub(crate) fn archive(records: &[(&str, &[u8])]) -> Vec<u8> {
        ccc_torch_testkit::write_zip(records)
    }

    #[test]
    fn round_trip_records() {
        let bytes = archive(&[("a/data.pkl", b"hello"), ("a/data/0", &[1, 2, 3, 4])]);
        let idx = ZipIndex::parse(bytes.as_slice()).unwrap();
        assert_eq!(idx.entries().len(), 2);
        let e = idx.get("a/data/0").unwrap();
        let (at, len) = idx.data_range(bytes.as_slice(), e).unwrap();
        assert_eq!(&bytes[at as usize..(at + len) as usize], &[1, 2, 3, 4]);
    }

    #[test]
    fn limits_are_enforced_before_allocation() {
        let bytes = archive(&[("a/x", b"1"), ("a/y", b"2")]);
        let err = ZipIndex::parse_with(bytes.as_slice(), ZipLimits { max_entries: 1, max_central_directory: 1 << 20 })
            .unwrap_err();
        assert!(err.to_string().contains("2 records"), "{err}");
        let err = ZipIndex::parse_with(bytes.as_slice(), ZipLimits { max_entries: 10, max_central_directory: 10 })
            .unwrap_err();
        assert!(err.to_string().contains("central directory of"), "{err}");
    }

    #[test]
    fn truncation_is_an_error() {
        let bytes = archive(&[("a/data.pkl", b"hello")]);
        for cut in 0..bytes.len() {
            assert!(ZipIndex::parse(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }
}
