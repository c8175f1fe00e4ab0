//! Covers a project draws itself: a PNG painted from its category (the motif and colours) and its
//! title (where the shapes fall), so every listing has a picture and nothing is downloaded. The
//! same title and category always give the same bytes.
//!
//! The image is palette-based (one byte a pixel, at most [`PALETTE`] colours) and deflated with
//! `flate2`: flat shapes compress to a few kilobytes.

use std::io::Write;

use sha2::{Digest, Sha256};

/// Width of a drawn cover, in pixels (16:9, as cards show covers).
pub const WIDTH: usize = 640;
/// Height of a drawn cover, in pixels.
pub const HEIGHT: usize = 360;
/// Colours in the palette: a background gradient and the motif's three tones.
const PALETTE: usize = GRADIENT + 3;
/// Steps of the background gradient.
const GRADIENT: usize = 48;

/// What a category's cover shows.
#[derive(Clone, Copy)]
enum Motif {
    /// A sun over rolling hills.
    Hills,
    /// Rows of waves.
    Waves,
    /// Concentric rings.
    Rings,
    /// Upright blocks of different heights (books, frames, buildings).
    Blocks,
    /// A field of dots.
    Dots,
}

/// A category's motif and its two background colours (top and bottom, RGB).
fn style(category: &str) -> (Motif, [u8; 3], [u8; 3]) {
    match category {
        "food" => (Motif::Hills, [0xf6, 0xc4, 0x6a], [0x8a, 0x5a, 0x2b]),
        "environment" => (Motif::Hills, [0x9f, 0xd8, 0xb0], [0x1f, 0x6b, 0x4a]),
        "technology" => (Motif::Dots, [0x24, 0x3b, 0x6b], [0x0d, 0x16, 0x2e]),
        "games" => (Motif::Dots, [0x6b, 0x3f, 0xa0], [0x25, 0x14, 0x45]),
        "music" => (Motif::Waves, [0x3a, 0x2a, 0x5e], [0xc2, 0x3b, 0x6a]),
        "health" => (Motif::Waves, [0xbf, 0xe6, 0xf0], [0x2a, 0x7f, 0x9e]),
        "design" => (Motif::Rings, [0xf2, 0xe8, 0xdc], [0xc4, 0x5c, 0x3b]),
        "art" => (Motif::Rings, [0xe9, 0x9a, 0x6b], [0x5b, 0x24, 0x1c]),
        "film" => (Motif::Blocks, [0x33, 0x33, 0x40], [0x0f, 0x0f, 0x14]),
        "publishing" => (Motif::Blocks, [0xe8, 0xd9, 0xb5], [0x7a, 0x4b, 0x2a]),
        "education" => (Motif::Blocks, [0xa7, 0xc7, 0xf2], [0x2f, 0x55, 0x9c]),
        _ => (Motif::Hills, [0xf4, 0xb6, 0xc2], [0xb8, 0x1d, 0x3f]),
    }
}

/// Mixes `a` into `b` by `t` in 0..=255.
fn mix(a: [u8; 3], b: [u8; 3], t: u32) -> [u8; 3] {
    let channel = |x: u8, y: u8| ((u32::from(x) * (255 - t) + u32::from(y) * t) / 255) as u8;
    [
        channel(a[0], b[0]),
        channel(a[1], b[1]),
        channel(a[2], b[2]),
    ]
}

/// A canvas of palette indices.
struct Canvas {
    pixels: Vec<u8>,
}

impl Canvas {
    fn set(&mut self, x: i64, y: i64, colour: u8) {
        if (0..WIDTH as i64).contains(&x) && (0..HEIGHT as i64).contains(&y) {
            self.pixels[y as usize * WIDTH + x as usize] = colour;
        }
    }

    /// Every pixel where `inside(x, y)` holds gets `colour`.
    fn fill(&mut self, colour: u8, inside: impl Fn(i64, i64) -> bool) {
        for y in 0..HEIGHT as i64 {
            for x in 0..WIDTH as i64 {
                if inside(x, y) {
                    self.set(x, y, colour);
                }
            }
        }
    }
}

/// The three motif tones, palette indices after the gradient.
const LIGHT: u8 = GRADIENT as u8;
const MID: u8 = GRADIENT as u8 + 1;
const DARK: u8 = GRADIENT as u8 + 2;

/// Draws `motif` with its shapes placed by `seed`.
fn paint(canvas: &mut Canvas, motif: Motif, seed: &[u8; 32]) {
    let at = |i: usize, range: i64| i64::from(seed[i % 32]) * range / 256;
    let (w, h) = (WIDTH as i64, HEIGHT as i64);
    match motif {
        Motif::Hills => {
            let (sx, sy, r) = (
                w / 5 + at(0, w * 3 / 5),
                h / 6 + at(1, h / 4),
                40 + at(2, 40),
            );
            canvas.fill(LIGHT, |x, y| (x - sx).pow(2) + (y - sy).pow(2) <= r * r);
            for (layer, colour) in [(0usize, MID), (1, DARK)] {
                let base = h * 3 / 5 + layer as i64 * h / 8;
                let (amp, phase) = (20 + at(3 + layer, 30), at(5 + layer, 628));
                let period = 120 + at(7 + layer, 160);
                canvas.fill(colour, |x, y| {
                    let angle = (x * 628 / period + phase) as f64 / 100.0;
                    y as f64 >= base as f64 + amp as f64 * angle.sin()
                });
            }
        }
        Motif::Waves => {
            let period = 90 + at(0, 120);
            let amp = 10 + at(1, 20);
            for row in 0..5i64 {
                let base = h / 3 + row * h / 8;
                let colour = [LIGHT, MID, DARK][row as usize % 3];
                let phase = at(2 + row as usize, 628);
                canvas.fill(colour, |x, y| {
                    let angle = (x * 628 / period + phase) as f64 / 100.0;
                    let line = base as f64 + amp as f64 * angle.sin();
                    (y as f64 - line).abs() <= 5.0
                });
            }
        }
        Motif::Rings => {
            let (cx, cy) = (w / 4 + at(0, w / 2), h / 4 + at(1, h / 2));
            let step = 18 + at(2, 18);
            canvas.fill(MID, |x, y| {
                let d = (((x - cx).pow(2) + (y - cy).pow(2)) as f64).sqrt() as i64;
                d < step * 7 && (d / step) % 2 == 0
            });
            let (ox, oy, r) = (at(3, w), at(4, h), 50 + at(5, 60));
            canvas.fill(LIGHT, |x, y| (x - ox).pow(2) + (y - oy).pow(2) <= r * r);
        }
        Motif::Blocks => {
            let count = 6 + at(0, 6);
            let width = w / (count + 2);
            for i in 0..count {
                let height = h / 4 + at(1 + i as usize, h / 2);
                let left = width + i * width + 4;
                let colour = [LIGHT, MID, DARK][(seed[(i as usize + 9) % 32] % 3) as usize];
                canvas.fill(colour, |x, y| {
                    x >= left && x < left + width - 8 && y >= h - height && y < h - h / 10
                });
            }
        }
        Motif::Dots => {
            let gap = 28 + at(0, 20);
            let r = 3 + at(1, 5);
            // Dark backgrounds: the dots and the ring in the light tone, or they vanish.
            canvas.fill(LIGHT, |x, y| {
                let (dx, dy) = (x % gap - gap / 2, y % gap - gap / 2);
                dx * dx + dy * dy <= r * r
            });
            let (cx, cy, big) = (w / 4 + at(2, w / 2), h / 4 + at(3, h / 2), 60 + at(4, 60));
            canvas.fill(LIGHT, |x, y| {
                let d = (((x - cx).pow(2) + (y - cy).pow(2)) as f64).sqrt() as i64;
                (d - big).abs() <= 6
            });
        }
    }
}

/// The cover drawn for a project of `category` called `title`, as PNG bytes.
pub fn draw(category: &str, title: &str) -> Vec<u8> {
    let (motif, top, bottom) = style(category);
    let seed: [u8; 32] = Sha256::digest(title.as_bytes()).into();
    let mut palette = Vec::with_capacity(PALETTE * 3);
    for step in 0..GRADIENT {
        palette.extend(mix(top, bottom, (step * 255 / (GRADIENT - 1)) as u32));
    }
    for tone in [
        mix(top, [255; 3], 170),
        mix(bottom, top, 90),
        mix(bottom, [0; 3], 90),
    ] {
        palette.extend(tone);
    }
    let mut canvas = Canvas {
        pixels: (0..HEIGHT)
            .flat_map(|y| std::iter::repeat_n((y * GRADIENT / HEIGHT) as u8, WIDTH))
            .collect(),
    };
    paint(&mut canvas, motif, &seed);
    encode(&canvas.pixels, &palette)
}

/// A PNG of `pixels` (palette indices, [`WIDTH`] by [`HEIGHT`]) with `palette` (RGB triples).
fn encode(pixels: &[u8], palette: &[u8]) -> Vec<u8> {
    debug_assert_eq!(pixels.len(), WIDTH * HEIGHT);
    let mut raw = Vec::with_capacity((WIDTH + 1) * HEIGHT);
    for row in pixels.chunks(WIDTH) {
        // Filter 0 (none) on every row: the shapes are flat, and deflate finds the runs.
        raw.push(0);
        raw.extend_from_slice(row);
    }
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    zlib.write_all(&raw).expect("writing to a Vec cannot fail");
    let data = zlib.finish().expect("writing to a Vec cannot fail");

    let mut header = Vec::with_capacity(13);
    header.extend((WIDTH as u32).to_be_bytes());
    header.extend((HEIGHT as u32).to_be_bytes());
    // Bit depth 8, colour type 3 (palette), deflate, adaptive filtering, no interlace.
    header.extend([8, 3, 0, 0, 0]);

    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, body) in [
        (b"IHDR", &header[..]),
        (b"PLTE", palette),
        (b"IDAT", &data),
        (b"IEND", &[]),
    ] {
        png.extend((body.len() as u32).to_be_bytes());
        let start = png.len();
        png.extend_from_slice(kind);
        png.extend_from_slice(body);
        let crc = crc32(&png[start..]);
        png.extend(crc.to_be_bytes());
    }
    png
}

/// The CRC-32 (ISO-HDLC, as PNG chunks use it) of `bytes`.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crc_is_the_one_png_chunks_use() {
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn a_cover_is_a_small_png_that_the_title_and_category_decide() {
        let tea = draw("food", "云南古树普洱茶园");
        assert_eq!(super::super::sniff(&tea), Some("image/png"));
        assert!(tea.len() < 64 * 1024, "{} bytes", tea.len());
        assert_eq!(
            tea,
            draw("food", "云南古树普洱茶园"),
            "the same input draws the same art"
        );
        assert_ne!(
            tea,
            draw("food", "Solar Lantern"),
            "another title, other shapes"
        );
        assert_ne!(
            tea,
            draw("music", "云南古树普洱茶园"),
            "another category, another motif"
        );
    }

    #[test]
    fn the_pixels_decompress_to_one_filtered_row_per_line() {
        use std::io::Read;
        let png = draw("technology", "Solar Lantern");
        let idat = png
            .windows(4)
            .position(|w| w == b"IDAT")
            .expect("an IDAT chunk");
        let len = u32::from_be_bytes(png[idat - 4..idat].try_into().unwrap()) as usize;
        let mut raw = Vec::new();
        flate2::read::ZlibDecoder::new(&png[idat + 4..idat + 4 + len])
            .read_to_end(&mut raw)
            .unwrap();
        assert_eq!(raw.len(), (WIDTH + 1) * HEIGHT);
        assert!(raw.iter().all(|&i| usize::from(i) < PALETTE));
    }
}
