//! What the fuzz targets share: reading a byte stream as a channel
//! connection reads it (src/daemon/conn.rs, which lives in the Apache
//! module's crate and cannot be linked without Apache).

use wsgi::channel::{FrameHeader, HEADER_LEN, Kind};

/// The frames of `data`, in order, as `Conn::read_frame` returns them. A
/// header that does not parse ends the stream (the host drops the
/// connection with WSGIRS0308), and so does a frame cut short (the peer
/// went quiet and socket-timeout releases it).
pub fn frames(mut data: &[u8]) -> impl Iterator<Item = (Kind, &[u8])> {
    std::iter::from_fn(move || {
        let header: [u8; HEADER_LEN] = data.get(..HEADER_LEN)?.try_into().ok()?;
        let header = match FrameHeader::parse(&header) {
            Ok(header) => header,
            Err(text) => {
                assert!(!text.is_empty());
                return None;
            }
        };
        let total = HEADER_LEN + header.len as usize;
        let payload = data.get(HEADER_LEN..total)?;
        data = &data[total..];
        Some((header.kind, payload))
    })
}

/// The payload of the one frame in `out`, checking that its header
/// announces exactly the bytes that follow.
pub fn only_payload(out: &[u8]) -> &[u8] {
    let header: [u8; HEADER_LEN] = out[..HEADER_LEN].try_into().expect("a whole header");
    let header = FrameHeader::parse(&header).expect("an encoder's header parses");
    assert_eq!(header.len as usize, out.len() - HEADER_LEN);
    &out[HEADER_LEN..]
}
