//! One fast pass over JSON text for the bounds' estimates, which run on the reading thread before a
//! member is handed to the pool (so they are on the path every byte of the bundle takes): the
//! bytes of a small set that lie outside JSON strings, in order. Knows nothing of what the counts
//! are for (`typed::charge`, `read::estimate_values`).
//!
//! How: 64 bytes at a time, a mask of the bytes that matter (`"`, `\` and the set; SSE2 on
//! x86_64, which every x86_64 CPU has, a plain loop elsewhere), then only those bytes are
//! visited. Pretty-printed kubectl JSON has one such byte in 6-8, so this reads most of the text
//! without a branch a byte (the byte-at-a-time loops it replaced were a tenth of the CPU of a
//! bundle of 50,000 pods, all of it on the reading thread). Strings follow JSON: a `"` opens one,
//! a `\` inside one escapes the byte after it, the next unescaped `"` closes it; a string left
//! open runs to the end of the text. A `\` outside a string is ignored.

/// Call `f` with every byte of `set` that lies outside JSON strings in `data`, in order.
pub fn outside_strings(data: &[u8], set: [u8; 4], mut f: impl FnMut(u8)) {
    let mut in_str = false;
    // The position of the byte a `\` escapes (skipped when it is one of those visited).
    let mut skip = usize::MAX;
    let mut base = 0usize;
    for chunk in data.chunks(64) {
        let mut m = mask(chunk, set);
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
    }
}

/// Bit `i` set when `chunk[i]` (at most 64 bytes) is `"`, `\` or in `set`.
fn mask(chunk: &[u8], set: [u8; 4]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if chunk.len() == 64 {
        return mask64_sse2(chunk, set);
    }
    let mut m = 0u64;
    for (i, &b) in chunk.iter().enumerate() {
        if b == b'"' || b == b'\\' || set.contains(&b) {
            m |= 1 << i;
        }
    }
    m
}

#[cfg(target_arch = "x86_64")]
fn mask64_sse2(chunk: &[u8], set: [u8; 4]) -> u64 {
    use std::arch::x86_64::{__m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8};
    let mut out = 0u64;
    for (i, part) in chunk.chunks_exact(16).enumerate() {
        // SAFETY: `part` is 16 readable bytes, what an unaligned 128-bit load reads; SSE2 is part
        // of the x86_64 baseline, so these instructions exist on every CPU this runs on.
        let bits = unsafe {
            let v = _mm_loadu_si128(part.as_ptr().cast::<__m128i>());
            let q = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
            let bs = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
            let s0 = _mm_cmpeq_epi8(v, _mm_set1_epi8(set[0] as i8));
            let s1 = _mm_cmpeq_epi8(v, _mm_set1_epi8(set[1] as i8));
            let s2 = _mm_cmpeq_epi8(v, _mm_set1_epi8(set[2] as i8));
            let s3 = _mm_cmpeq_epi8(v, _mm_set1_epi8(set[3] as i8));
            let any = _mm_or_si128(
                _mm_or_si128(_mm_or_si128(q, bs), _mm_or_si128(s0, s1)),
                _mm_or_si128(s2, s3),
            );
            _mm_movemask_epi8(any) as u16
        };
        out |= u64::from(bits) << (16 * i);
    }
    out
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

    fn fast(data: &[u8], set: [u8; 4]) -> Vec<u8> {
        let mut out = Vec::new();
        outside_strings(data, set, |b| out.push(b));
        out
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
