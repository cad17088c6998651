//! Indexed colour for the PNG files: at most 256 colours and one byte per pixel.
//!
//! Figures are flat-colour plots: white, ink, a few palette colours, and the antialiased edges of text and lines
//! between them. A figure with at most 256 colours is stored exactly. One with more (translucent lines blending
//! into each other) keeps its most frequent colours exactly — so the flat colours that carry meaning never shift,
//! unlike with averaging quantizers (median cut, k-means, NeuQuant) — and gives the remaining entries, one at a
//! time, to the colour whose mapping would cost the most (pixels × squared distance); every other colour is
//! drawn as its nearest palette entry. No dithering: it would add noise to flat areas and cost bytes.
//!
//! Deterministic: ties are broken by the colour value, never by hash order.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Most colours in a palette.
pub const MAX_COLOURS: usize = 256;

/// Palette entries that go to the most frequent colours when there are more than [`MAX_COLOURS`]; the others are
/// chosen for the colours that would otherwise be drawn worst (rare but distinct ones, such as a small label).
const POPULAR: usize = 192;

/// An image as a palette and one palette index per pixel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indexed {
    /// The colours, at most [`MAX_COLOURS`].
    pub palette: Vec<[u8; 3]>,
    /// One index into `palette` per pixel, row-major.
    pub indices: Vec<u8>,
    /// Whether every pixel keeps its exact colour (the image had at most [`MAX_COLOURS`] colours).
    pub lossless: bool,
}

impl Indexed {
    /// The palette as `r g b r g b …`, as PNG's `PLTE` chunk wants it.
    pub fn palette_bytes(&self) -> Vec<u8> {
        self.palette.iter().flatten().copied().collect()
    }

    /// The RGB pixels this image stands for (3 bytes per pixel).
    pub fn to_rgb(&self) -> Vec<u8> {
        self.indices.iter().flat_map(|&i| self.palette[i as usize]).collect()
    }
}

/// A colour packed as `0x00RRGGBB`.
type Key = u32;

fn key(p: &[u8]) -> Key {
    (p[0] as u32) << 16 | (p[1] as u32) << 8 | p[2] as u32
}

fn rgb(k: Key) -> [u8; 3] {
    [(k >> 16) as u8, (k >> 8) as u8, k as u8]
}

/// A multiplicative hash for packed colours: SipHash would cost more than the rest of the indexing.
#[derive(Default)]
struct ColourHasher(u64);

impl Hasher for ColourHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u32(b as u32);
        }
    }
    fn write_u32(&mut self, k: u32) {
        let h = (self.0 ^ k as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        // The table indexes by the low bits: fold the well-mixed high half into them.
        self.0 = h ^ (h >> 32);
    }
}

type ColourMap<V> = HashMap<Key, V, BuildHasherDefault<ColourHasher>>;

/// The colours of an image, each with a dense id given at its first sight and its pixel count.
#[derive(Default)]
struct Colours {
    /// `(colour, pixels)` by id.
    seen: Vec<(Key, u64)>,
    ids: ColourMap<u32>,
    /// A direct-mapped cache in front of `ids`: an image has few colours, and most runs find theirs here.
    cache: Vec<(Key, u32)>,
}

impl Colours {
    const CACHE_BITS: u32 = 12;
    /// Not a colour (colours have 24 bits): marks an empty cache entry.
    const EMPTY: Key = u32::MAX;

    fn new() -> Colours {
        Colours { cache: vec![(Self::EMPTY, 0); 1 << Self::CACHE_BITS], ..Default::default() }
    }

    /// The id of `k`, counting `n` more pixels of it.
    fn add(&mut self, k: Key, n: usize) -> u32 {
        let slot = (k.wrapping_mul(0x9e37_79b1) >> (32 - Self::CACHE_BITS)) as usize;
        let id = match self.cache[slot] {
            (c, id) if c == k => id,
            _ => {
                let seen = &mut self.seen;
                let id = *self.ids.entry(k).or_insert_with(|| {
                    seen.push((k, 0));
                    seen.len() as u32 - 1
                });
                self.cache[slot] = (k, id);
                id
            }
        };
        self.seen[id as usize].1 += n as u64;
        id
    }
}

/// The image as runs of equal pixels, `(colour id, length)`, row after row, and its colours. Figures are mostly
/// short runs (antialiased edges) and some long ones (white, flat fills): a run is followed pixel by pixel for a
/// few pixels, then 16 pixels at a time.
fn runs(pixels: &[u8]) -> (Vec<(u32, u32)>, Colours) {
    let px: &[[u8; 3]] = bytemuck::cast_slice(&pixels[..pixels.len() / 3 * 3]);
    let n = px.len();
    let mut colours = Colours::new();
    // A sheet has a run every 10 to 15 pixels: reserving for one in 8 spares most of the regrowing.
    let mut out = Vec::with_capacity(n / 8);
    let mut i = 0;
    while i < n {
        let (start, colour) = (i, px[i]);
        i += 1;
        let short = (i + 4).min(n);
        while i < short && px[i] == colour {
            i += 1;
        }
        if i == short {
            // Pixels i..i + 16 all repeat pixel i - 1 exactly when each equals the one before it.
            while i + 16 <= n && px[i - 1..i + 15] == px[i..i + 16] {
                i += 16;
            }
            while i < n && px[i] == colour {
                i += 1;
            }
        }
        let id = colours.add(key(&colour), i - start);
        // A run longer than u32 (a 4-gigapixel image of one colour) is split.
        let mut len = i - start;
        while len > 0 {
            let part = len.min(u32::MAX as usize);
            out.push((id, part as u32));
            len -= part;
        }
    }
    (out, colours)
}

/// An image reduced to at most [`MAX_COLOURS`] colours, kept as runs of palette slots: its rows are produced one
/// at a time ([`for_each_row`](Quantized::for_each_row)), so that encoding needs no image-sized index buffer.
#[derive(Debug, Clone)]
pub struct Quantized {
    /// The colours, at most [`MAX_COLOURS`].
    pub palette: Vec<[u8; 3]>,
    /// Whether every pixel keeps its exact colour (the image had at most [`MAX_COLOURS`] colours).
    pub lossless: bool,
    /// `(colour id, length)` runs over the whole image.
    runs: Vec<(u32, u32)>,
    /// The palette slot of each colour id.
    slot_of_id: Vec<u8>,
}

impl Quantized {
    /// Quantize `pixels` (RGB, 3 bytes per pixel): exactly when they hold at most [`MAX_COLOURS`] colours, else
    /// with the palette described in the [module documentation](self).
    pub fn new(pixels: &[u8]) -> Quantized {
        let (runs, colours) = runs(pixels);
        let colours = colours.seen;
        // Most frequent first; equal counts by colour, so the palette never depends on the order of first sight.
        let mut order: Vec<u32> = (0..colours.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| {
            let (a, b) = (colours[a as usize], colours[b as usize]);
            b.1.cmp(&a.1).then(a.0.cmp(&b.0))
        });
        let sorted: Vec<(Key, u64)> = order.iter().map(|&i| colours[i as usize]).collect();

        let lossless = sorted.len() <= MAX_COLOURS;
        // The palette, and the slot of each colour in the order of `sorted`.
        let (palette, slots) = if lossless {
            (sorted.iter().map(|c| c.0).collect(), (0..sorted.len()).map(|i| i as u8).collect())
        } else {
            choose_palette(&sorted)
        };
        let mut slot_of_id = vec![0u8; colours.len()];
        for (&id, &slot) in order.iter().zip(&slots) {
            slot_of_id[id as usize] = slot;
        }
        Quantized { palette: palette.into_iter().map(rgb).collect(), lossless, runs, slot_of_id }
    }

    /// Calls `f` with the palette slots of each row of `width` pixels, top to bottom (a last, shorter row when the
    /// pixels do not fill it); stops at the first error.
    pub fn for_each_row<E>(&self, width: usize, mut f: impl FnMut(&[u8]) -> Result<(), E>) -> Result<(), E> {
        let mut row = Vec::with_capacity(width);
        for &(id, n) in &self.runs {
            let slot = self.slot_of_id[id as usize];
            let mut left = n as usize;
            while left > 0 {
                let take = left.min(width - row.len());
                row.extend(std::iter::repeat_n(slot, take));
                left -= take;
                if row.len() == width {
                    f(&row)?;
                    row.clear();
                }
            }
        }
        if !row.is_empty() {
            f(&row)?;
        }
        Ok(())
    }

    /// One palette slot per pixel, row-major.
    pub fn indices(&self) -> Vec<u8> {
        let mut indices = Vec::new();
        for &(id, n) in &self.runs {
            indices.extend(std::iter::repeat_n(self.slot_of_id[id as usize], n as usize));
        }
        indices
    }
}

/// Index `pixels` (RGB, 3 bytes per pixel): exactly when they hold at most [`MAX_COLOURS`] colours, else with the
/// palette described in the [module documentation](self).
pub fn index(pixels: &[u8]) -> Indexed {
    let q = Quantized::new(pixels);
    Indexed { indices: q.indices(), palette: q.palette, lossless: q.lossless }
}

/// The palette for more than [`MAX_COLOURS`] colours (sorted most frequent first), and the palette slot of each of
/// them.
fn choose_palette(colours: &[(Key, u64)]) -> (Vec<Key>, Vec<u8>) {
    let mut palette: Vec<Key> = colours[..POPULAR].iter().map(|c| c.0).collect();
    let rest = &colours[POPULAR..];
    // Channels and nearest entries as separate arrays of one width, so that the distance loop vectorizes: it is
    // most of the indexing time of a figure with many colours.
    let mut ch: [Vec<i32>; 3] = Default::default();
    for &(k, _) in rest {
        for (c, v) in rgb(k).into_iter().enumerate() {
            ch[c].push(v as i32);
        }
    }
    let [r, g, b] = ch;
    // For every other colour: the squared distance to its nearest palette entry so far, and that entry's slot.
    let mut dist = vec![u32::MAX; rest.len()];
    let mut slot_of = vec![0u32; rest.len()];
    let add = |entry: Key, slot: u32, dist: &mut [u32], slot_of: &mut [u32]| {
        let [pr, pg, pb] = rgb(entry).map(|v| v as i32);
        let n = dist.len();
        let (r, g, b, slot_of) = (&r[..n], &g[..n], &b[..n], &mut slot_of[..n]);
        for j in 0..n {
            let (dr, dg, db) = (r[j] - pr, g[j] - pg, b[j] - pb);
            let d = (dr * dr + dg * dg + db * db) as u32;
            let closer = d < dist[j];
            slot_of[j] = if closer { slot } else { slot_of[j] };
            dist[j] = if closer { d } else { dist[j] };
        }
    };
    for (i, &p) in palette.iter().enumerate() {
        add(p, i as u32, &mut dist, &mut slot_of);
    }
    while palette.len() < MAX_COLOURS {
        // The colour that costs most as it stands; the first of equals, which is the more frequent.
        let mut worst: Option<(usize, u64)> = None;
        for (j, (&(_, n), &d)) in rest.iter().zip(&dist).enumerate() {
            let cost = n * d as u64;
            if cost > worst.map_or(0, |w| w.1) {
                worst = Some((j, cost));
            }
        }
        let Some((j, _)) = worst else { break };
        let slot = palette.len() as u32;
        palette.push(rest[j].0);
        add(rest[j].0, slot, &mut dist, &mut slot_of);
    }
    // The popular colours are slots 0..POPULAR; the colours added later get their own slot through `add`.
    let slots = (0..POPULAR as u32).chain(slot_of).map(|s| s as u8).collect();
    (palette, slots)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn distance(a: Key, b: Key) -> u32 {
        let (a, b) = (rgb(a), rgb(b));
        (0..3).map(|c| (a[c] as i32 - b[c] as i32).pow(2) as u32).sum()
    }

    fn image(colours: &[[u8; 3]], n: usize) -> Vec<u8> {
        (0..n).flat_map(|i| colours[(i * 7 + i / 5) % colours.len()]).collect()
    }

    #[test]
    fn few_colours_are_kept_exactly() {
        let px = image(&[[255, 255, 255], [0, 114, 178], [213, 94, 0], [30, 30, 30]], 1000);
        let ix = index(&px);
        assert!(ix.lossless);
        assert_eq!(ix.palette.len(), 4);
        assert_eq!(ix.to_rgb(), px);
    }

    #[test]
    fn many_colours_keep_the_frequent_ones_and_a_rare_distinct_one() {
        // A white page, a blue line, a ramp of 600 near-greys (antialiasing), and a few pixels of pure red.
        let mut px = vec![255u8; 3 * 50_000];
        px.extend([0, 114, 178].repeat(5_000));
        for i in 0..600u32 {
            let g = 100 + (i % 150) as u8;
            px.extend([g, g, g.saturating_add((i / 150) as u8)].repeat(3));
        }
        px.extend([255, 0, 0].repeat(2));
        let ix = index(&px);
        assert!(!ix.lossless);
        assert_eq!(ix.palette.len(), MAX_COLOURS);
        let back = ix.to_rgb();
        assert_eq!(&back[..3 * 55_000], &px[..3 * 55_000], "white and blue are exact");
        assert_eq!(&back[back.len() - 6..], &px[px.len() - 6..], "the rare red keeps its own entry");
        let worst = px.chunks(3).zip(back.chunks(3)).map(|(a, b)| distance(key(a), key(b))).max().unwrap();
        assert!(worst <= 12, "greys land on a near grey: squared distance {worst}");
    }

    #[test]
    fn rows_cut_the_runs_at_the_width() {
        let px = image(&[[255, 255, 255], [0, 114, 178], [213, 94, 0]], 7 * 5);
        let q = Quantized::new(&px);
        let mut rows = Vec::new();
        q.for_each_row(7, |r| -> Result<(), ()> {
            rows.push(r.to_vec());
            Ok(())
        })
        .unwrap();
        assert_eq!(rows.len(), 5);
        assert!(rows.iter().all(|r| r.len() == 7));
        assert_eq!(rows.concat(), q.indices());
        assert_eq!(rows.concat(), index(&px).indices);
    }

    #[test]
    fn empty_image() {
        let ix = index(&[]);
        assert!(ix.lossless && ix.palette.is_empty() && ix.indices.is_empty());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Same pixels → same palette and indices; every index is in the palette; at most 256 colours are exact.
        #[test]
        fn indexing_is_deterministic_and_valid(
            seed in any::<u64>(), n_colours in 1usize..700, n in 1usize..3000,
        ) {
            let mut s = seed | 1;
            let colours: Vec<[u8; 3]> = (0..n_colours).map(|_| {
                s ^= s << 13; s ^= s >> 7; s ^= s << 17;
                [s as u8, (s >> 8) as u8, (s >> 16) as u8]
            }).collect();
            let px = image(&colours, n);
            let a = index(&px);
            prop_assert_eq!(&a, &index(&px));
            prop_assert_eq!(a.indices.len(), n);
            prop_assert!(a.palette.len() <= MAX_COLOURS);
            prop_assert!(a.indices.iter().all(|&i| (i as usize) < a.palette.len()));
            let distinct: std::collections::HashSet<_> = px.chunks(3).collect();
            prop_assert_eq!(a.lossless, distinct.len() <= MAX_COLOURS);
            if a.lossless {
                prop_assert_eq!(a.to_rgb(), px);
            }
        }
    }
}
