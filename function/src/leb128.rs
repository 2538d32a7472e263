//! Unsigned LEB128, the variable-length integers of the binary formats the function writes
//! (a mark's sub-record index, a quantile sketch's counts and bucket indexes).

/// Appends `v` (7 bits a byte, low first, the high bit set on all but the last).
pub fn write(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Reads one value and how many bytes it took; `None` when `bytes` ends inside it, it does
/// not fit 64 bits, or it is not the shortest encoding (which [`write`] never makes).
pub fn read(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for (k, b) in bytes.iter().enumerate().take(10) {
        let part = u64::from(b & 0x7f);
        if k == 9 && part > 1 {
            return None;
        }
        v |= part << (7 * k);
        if b & 0x80 == 0 {
            return (k == 0 || *b != 0).then_some((v, k + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_odd_encodings_are_refused() {
        for v in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut out = Vec::new();
            write(&mut out, v);
            assert_eq!(read(&out), Some((v, out.len())), "{v}");
        }
        assert_eq!(read(&[0x80]), None, "ends inside");
        assert_eq!(read(&[0x80, 0x00]), None, "not the shortest");
        assert_eq!(
            read(&[0xff; 9].iter().copied().chain([0x02]).collect::<Vec<_>>()),
            None
        );
    }
}
