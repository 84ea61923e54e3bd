//! VP8 pictures as the recorder and the live mix store and pass them on:
//! the size a keyframe says, and the IVF container around them (a 32-byte
//! header, then each frame's length and time before it).

/// The width and height a VP8 keyframe says (None: not a keyframe).
pub fn vp8_frame_size(frame: &[u8]) -> Option<(u16, u16)> {
    let f = frame.get(..10)?;
    if f[0] & 0x01 != 0 || f[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    Some((
        u16::from_le_bytes([f[6], f[7]]) & 0x3fff,
        u16::from_le_bytes([f[8], f[9]]) & 0x3fff,
    ))
}

/// Appends an IVF header for VP8 pictures of `width`×`height`, timed in
/// 1/90000 s, to `out` (its frame count 0: a stream).
pub fn ivf_header(out: &mut Vec<u8>, width: u16, height: u16) {
    out.extend_from_slice(b"DKIF");
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&32u16.to_le_bytes());
    out.extend_from_slice(b"VP80");
    out.extend_from_slice(&width.to_le_bytes());
    out.extend_from_slice(&height.to_le_bytes());
    out.extend_from_slice(&90_000u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
}

/// The 12 bytes before each IVF frame: its length, then its time.
pub fn frame_header(len: usize, pts: u64) -> [u8; 12] {
    let mut h = [0u8; 12];
    h[..4].copy_from_slice(&(len as u32).to_le_bytes());
    h[4..].copy_from_slice(&pts.to_le_bytes());
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn keyframes_say_their_size() {
        let mut key = vec![0u8; 16];
        key[3..6].copy_from_slice(&[0x9d, 0x01, 0x2a]);
        key[6..8].copy_from_slice(&640u16.to_le_bytes());
        key[8..10].copy_from_slice(&480u16.to_le_bytes());
        assert_eq!(vp8_frame_size(&key), Some((640, 480)));
        key[0] = 1;
        assert_eq!(vp8_frame_size(&key), None);
    }
}
