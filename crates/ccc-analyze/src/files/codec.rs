//! Serde helpers shared by the file formats: values written by their names, nullable fields that must be
//! present, and the one-key-per-line JSON layout.

use std::io::Write;

/// Serialize with `Display`, deserialize with `FromStr`: for types whose names are their file values (e.g.
/// `ccc_core::Mode`), as `#[serde(with = "codec::by_name")]`.
pub(crate) mod by_name {
    use std::fmt::Display;
    use std::str::FromStr;

    use serde::{Deserializer, Serializer};

    pub(crate) fn serialize<T: Display, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub(crate) fn deserialize<'de, T, D>(d: D) -> Result<T, D::Error>
    where
        T: FromStr,
        T::Err: Display,
        D: Deserializer<'de>,
    {
        // A visitor rather than `String::deserialize`: the name is parsed where it lies, without a copy.
        struct Name<T>(std::marker::PhantomData<T>);
        impl<T: FromStr> serde::de::Visitor<'_> for Name<T>
        where
            T::Err: Display,
        {
            type Value = T;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a name")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_str(Name(std::marker::PhantomData))
    }
}

/// `Serialize` and `Deserialize` by name (`Display` / `FromStr`) for types of this crate.
macro_rules! serde_by_name {
    ($($t:ty),* $(,)?) => {$(
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                $crate::files::codec::by_name::serialize(self, s)
            }
        }
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::files::codec::by_name::deserialize(d)
            }
        }
    )*};
}
pub(crate) use serde_by_name;

/// For `#[serde(deserialize_with = "nullable")]`: an `Option` field whose key must be present (its value may be
/// `null`). Plain `Option` fields silently read a missing — or renamed — key as `None`.
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    serde::Deserialize::deserialize(d)
}

/// A `serde_json` formatter that breaks lines only between the keys of the outermost object (values compact), so
/// big matrices stay on one line each.
pub(crate) struct TopLevelLines {
    depth: usize,
}

impl TopLevelLines {
    pub(crate) fn new() -> Self {
        TopLevelLines { depth: 0 }
    }
}

impl serde_json::ser::Formatter for TopLevelLines {
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.depth += 1;
        w.write_all(b"{")
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.depth -= 1;
        if self.depth == 0 {
            w.write_all(b"\n}")
        } else {
            w.write_all(b"}")
        }
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
        match (self.depth, first) {
            (1, true) => w.write_all(b"\n  "),
            (1, false) => w.write_all(b",\n  "),
            (_, true) => Ok(()),
            (_, false) => w.write_all(b","),
        }
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(if self.depth == 1 { b": " } else { b":" })
    }
}

/// The position of each expected column in a CSV header, found by name so that columns may be added or
/// reordered; `Err` names the first missing column (the `at` and message of a `FilesError::Invalid`).
pub(crate) fn csv_columns<const N: usize>(
    header: &csv::StringRecord,
    expected: [&str; N],
) -> Result<[usize; N], (String, String)> {
    let mut col = [0usize; N];
    for (c, name) in col.iter_mut().zip(expected) {
        *c = header.iter().position(|h| h == name).ok_or_else(|| {
            ("line 1".to_string(), format!("missing column `{name}` (expected {})", expected.join(",")))
        })?;
    }
    Ok(col)
}
