//! One fast pass over JSON text for the bounds' estimates, which run on the reading thread before a
//! member is handed to the pool (so they are on the path every byte of the bundle takes): the
//! bytes of a small set that lie outside JSON strings, in order. Knows nothing of what the counts
//! are for (`typed::charge`, `read::estimate_values`).
//!
//! How: 64 bytes at a time, masks of the quotes, the backslashes and the bytes of the set (AVX2
//! on x86_64 CPUs that have it, else SSE2, which every x86_64 CPU has; a plain loop elsewhere).
//! In a chunk with no backslash (nearly all of kubectl's JSON) no byte is escaped, so the bytes
//! inside strings are a prefix XOR of the quotes (as in simdjson), and only the set's bytes outside
//! them are visited, without a branch a quote. A chunk with a backslash (or whose first byte one escapes) visits its quotes
//! and backslashes in order. Pretty-printed kubectl JSON has one bracket in 20-30 bytes and one
//! quote in 8. Strings follow JSON: a `"` opens one, a `\` inside one escapes the byte after it,
//! the next unescaped `"` closes it; a string left open runs to the end of the text. A `\`
//! outside a string is ignored.

/// The scan, over the masks `$masks` gives a chunk of 64 bytes (or the shorter last one).
macro_rules! scan {
    ($data:expr, $set:expr, $f:expr, $masks:expr) => {{
        let (data, set, mut f, masks) = ($data, $set, $f, $masks);
        let mut in_str = false;
        // The position of the byte a `\` escapes (skipped when it is one of those visited).
        let mut skip = usize::MAX;
        let mut base = 0usize;
        let mut chunks = data.chunks_exact(64);
        let mut each = |chunk: &[u8], m: Masks| {
            let Masks {
                quote,
                backslash,
                set: mut m,
            } = m;
            if backslash == 0 && skip != base {
                // No escape in or into this chunk: a byte is inside a string when an odd number
                // of quotes precede it (or an even number, if one was open), which a prefix XOR
                // of the quotes gives for all 64 at once; only the set's bytes outside strings
                // are visited.
                let inside = prefix_xor(quote) ^ if in_str { u64::MAX } else { 0 };
                m &= !inside;
                while m != 0 {
                    let bit = m.trailing_zeros() as usize;
                    m &= m - 1;
                    f(chunk[bit]);
                }
                in_str ^= quote.count_ones() % 2 == 1;
                base += chunk.len();
                return;
            }
            let mut m = m | quote | backslash;
            while m != 0 {
                let bit = m.trailing_zeros() as usize;
                m &= m - 1;
                let p = base + bit;
                if p == skip {
                    continue;
                }
                let b = chunk[bit];
                if in_str {
                    if b == b'\\' {
                        skip = p + 1;
                    } else if b == b'"' {
                        in_str = false;
                    }
                } else if b == b'"' {
                    in_str = true;
                } else if b != b'\\' {
                    f(b);
                }
            }
            base += chunk.len();
        };
        for chunk in chunks.by_ref() {
            let m = masks(chunk);
            each(chunk, m);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            each(rest, masks_scalar(rest, set));
        }
    }};
}

/// Call `f` with every byte of `set` that lies outside JSON strings in `data`, in order.
pub fn outside_strings(data: &[u8], set: [u8; 4], f: impl FnMut(u8)) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: this CPU has AVX2, checked just above.
            return unsafe { x86::scan_avx2(data, set, f) };
        }
        // SAFETY: SSE2 is part of the x86_64 baseline: every CPU this runs on has it.
        unsafe { x86::scan_sse2(data, set, f) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    scan_scalar(data, set, f)
}

/// The scan with the plain loop's masks (what other architectures run; the tests run it too).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn scan_scalar(data: &[u8], set: [u8; 4], f: impl FnMut(u8)) {
    scan!(data, set, f, |chunk: &[u8]| masks_scalar(chunk, set))
}

/// Bit `i` set when bit `i` or an odd number of the bits below it are set in `x`.
#[inline(always)]
fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// Of a chunk of at most 64 bytes: bit `i` set when `chunk[i]` is `"`, `\`, or in the set (the
/// set's own quotes and backslashes count as the strings').
#[derive(Default)]
struct Masks {
    quote: u64,
    backslash: u64,
    set: u64,
}

#[inline(always)]
fn masks_scalar(chunk: &[u8], set: [u8; 4]) -> Masks {
    let mut out = Masks::default();
    for (i, &b) in chunk.iter().enumerate() {
        if b == b'"' {
            out.quote |= 1 << i;
        } else if b == b'\\' {
            out.backslash |= 1 << i;
        } else if set.contains(&b) {
            out.set |= 1 << i;
        }
    }
    out
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{masks_scalar, prefix_xor, Masks};
    use std::arch::x86_64::*;

    /// The scan with 16-byte SSE2 compares.
    #[target_feature(enable = "sse2")]
    pub(super) fn scan_sse2(data: &[u8], set: [u8; 4], f: impl FnMut(u8)) {
        let [q, bs, s0, s1, s2, s3] = [b'"', b'\\', set[0], set[1], set[2], set[3]].map(|b| _mm_set1_epi8(b as i8));
        scan!(data, set, f, |chunk: &[u8]| {
            let mut out = Masks::default();
            for (i, part) in chunk.chunks_exact(16).enumerate() {
                // SAFETY: `part` is 16 readable bytes, what an unaligned 128-bit load reads.
                let v = unsafe { _mm_loadu_si128(part.as_ptr().cast::<__m128i>()) };
                let any = _mm_or_si128(
                    _mm_or_si128(_mm_cmpeq_epi8(v, s0), _mm_cmpeq_epi8(v, s1)),
                    _mm_or_si128(_mm_cmpeq_epi8(v, s2), _mm_cmpeq_epi8(v, s3)),
                );
                out.quote |= u64::from(_mm_movemask_epi8(_mm_cmpeq_epi8(v, q)) as u16) << (16 * i);
                out.backslash |= u64::from(_mm_movemask_epi8(_mm_cmpeq_epi8(v, bs)) as u16) << (16 * i);
                out.set |= u64::from(_mm_movemask_epi8(any) as u16) << (16 * i);
            }
            out.set &= !(out.quote | out.backslash);
            out
        })
    }

    /// The scan with 32-byte AVX2 compares.
    #[target_feature(enable = "avx2")]
    pub(super) fn scan_avx2(data: &[u8], set: [u8; 4], f: impl FnMut(u8)) {
        let [q, bs, s0, s1, s2, s3] = [b'"', b'\\', set[0], set[1], set[2], set[3]].map(|b| _mm256_set1_epi8(b as i8));
        scan!(data, set, f, |chunk: &[u8]| {
            let mut out = Masks::default();
            for (i, part) in chunk.chunks_exact(32).enumerate() {
                // SAFETY: `part` is 32 readable bytes, what an unaligned 256-bit load reads.
                let v = unsafe { _mm256_loadu_si256(part.as_ptr().cast::<__m256i>()) };
                let any = _mm256_or_si256(
                    _mm256_or_si256(_mm256_cmpeq_epi8(v, s0), _mm256_cmpeq_epi8(v, s1)),
                    _mm256_or_si256(_mm256_cmpeq_epi8(v, s2), _mm256_cmpeq_epi8(v, s3)),
                );
                out.quote |= u64::from(_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, q)) as u32) << (32 * i);
                out.backslash |= u64::from(_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, bs)) as u32) << (32 * i);
                out.set |= u64::from(_mm256_movemask_epi8(any) as u32) << (32 * i);
            }
            out.set &= !(out.quote | out.backslash);
            out
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte-at-a-time reading of the same rules, as the bounds had it.
    fn reference(data: &[u8], set: [u8; 4]) -> Vec<u8> {
        let (mut out, mut in_str, mut esc) = (Vec::new(), false, false);
        for &b in data {
            if in_str {
                if esc {
                    esc = false;
                } else if b == b'\\' {
                    esc = true;
                } else if b == b'"' {
                    in_str = false;
                }
            } else if b == b'"' {
                in_str = true;
            } else if set.contains(&b) {
                out.push(b);
            }
        }
        out
    }

    /// What each way of building the masks this machine can run gives, which must agree.
    fn fast(data: &[u8], set: [u8; 4]) -> Vec<u8> {
        let mut ways: Vec<Vec<u8>> = vec![Vec::new(), Vec::new()];
        outside_strings(data, set, |b| ways[0].push(b));
        scan_scalar(data, set, |b| ways[1].push(b));
        #[cfg(target_arch = "x86_64")]
        {
            let mut sse2 = Vec::new();
            // SAFETY: SSE2 is part of the x86_64 baseline.
            unsafe { x86::scan_sse2(data, set, |b| sse2.push(b)) };
            ways.push(sse2);
            if std::arch::is_x86_feature_detected!("avx2") {
                let mut avx2 = Vec::new();
                // SAFETY: this CPU has AVX2, checked just above.
                unsafe { x86::scan_avx2(data, set, |b| avx2.push(b)) };
                ways.push(avx2);
            }
        }
        for w in &ways[1..] {
            assert_eq!(w, &ways[0], "the ways of building the masks disagree");
        }
        ways.swap_remove(0)
    }

    #[test]
    fn agrees_with_the_byte_loop_on_json_and_on_noise() {
        let sets = [*b"{[}]", *b",{[:"];
        let mut texts: Vec<Vec<u8>> = vec![
            br#"{"items":[{"metadata":{"name":"a\"{b"}},{"x":"\\"},{}]}"#.to_vec(),
            br#"["unterminated {[ string"#.to_vec(),
            b"\"ends with a backslash \\".to_vec(),
            b"\\\"{ outside \\ [ ]".to_vec(),
            Vec::new(),
        ];
        // Noise over the bytes that matter, at every length around the 16- and 64-byte blocks.
        let alphabet = b"\"\\{}[],: ax\n";
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for len in (0..200).chain([1000, 4096, 4097]) {
            let mut t = Vec::with_capacity(len);
            for _ in 0..len {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                t.push(alphabet[(state % alphabet.len() as u64) as usize]);
            }
            texts.push(t);
        }
        // Without backslashes (the prefix-XOR path), quotes and the set's bytes at every offset.
        for len in [63, 64, 65, 127, 128, 129, 1000, 4096] {
            let mut t = Vec::with_capacity(len);
            for _ in 0..len {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                t.push(b"\"{}[],: ax"[(state % 10) as usize]);
            }
            texts.push(t);
        }
        let pretty = serde_json::to_vec_pretty(&serde_json::json!({
            "items": [{"metadata": {"name": "p\"q", "labels": {"a:b": "c,d"}}, "spec": {"x": [1, 2, {"y": "\\"}]}}]
        }))
        .unwrap_or_default();
        texts.push(pretty.repeat(50));
        for t in &texts {
            for set in sets {
                assert_eq!(fast(t, set), reference(t, set), "{:?}", String::from_utf8_lossy(t));
            }
        }
    }
}
