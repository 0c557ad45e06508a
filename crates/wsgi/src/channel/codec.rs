//! Frame headers and the primitive encodings used inside payloads.

/// Largest payload accepted; bigger frames are a protocol error. Body data
/// is split into frames well below this.
pub const MAX_FRAME: u32 = 16 * 1024 * 1024;
pub const HEADER_LEN: usize = 5;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    Hello = 1,
    Request = 2,
    Read = 3,
    Body = 4,
    BodyError = 5,
    Head = 6,
    /// Body bytes the child may buffer until the next flush or the end.
    Data = 7,
    /// Body bytes the child passes on at once (streaming).
    DataFlush = 8,
    /// A file to send: offset and length in the payload, the descriptor as
    /// SCM_RIGHTS ancillary data.
    File = 9,
    End = 10,
    Retry = 11,
}

impl Kind {
    pub fn from_byte(b: u8) -> Option<Kind> {
        Some(match b {
            1 => Kind::Hello,
            2 => Kind::Request,
            3 => Kind::Read,
            4 => Kind::Body,
            5 => Kind::BodyError,
            6 => Kind::Head,
            7 => Kind::Data,
            8 => Kind::DataFlush,
            9 => Kind::File,
            10 => Kind::End,
            11 => Kind::Retry,
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    pub kind: Kind,
    pub len: u32,
}

impl FrameHeader {
    pub fn parse(bytes: &[u8; HEADER_LEN]) -> Result<FrameHeader, String> {
        let kind =
            Kind::from_byte(bytes[0]).ok_or_else(|| format!("unknown frame kind {}", bytes[0]))?;
        let len = u32::from_le_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
        if len > MAX_FRAME {
            return Err(format!(
                "frame of {len} bytes exceeds the {MAX_FRAME}-byte limit"
            ));
        }
        Ok(FrameHeader { kind, len })
    }
}

/// Appends a frame header and `payload` to `out`.
pub fn push_frame(out: &mut Vec<u8>, kind: Kind, payload: &[u8]) {
    out.push(kind as u8);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(payload);
}

/// Builds one frame in place: the header's length is patched at `finish`.
pub struct Writer<'a> {
    out: &'a mut Vec<u8>,
    start: usize,
}

impl<'a> Writer<'a> {
    pub fn begin(out: &'a mut Vec<u8>, kind: Kind) -> Writer<'a> {
        let start = out.len();
        out.push(kind as u8);
        out.extend_from_slice(&[0; 4]);
        Writer { out, start }
    }
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.out.push(v);
        self
    }
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.out.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.out.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.out.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.out.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// Length-prefixed bytes.
    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.u32(v.len() as u32);
        self.out.extend_from_slice(v);
        self
    }
    pub fn finish(self) {
        let len = (self.out.len() - self.start - HEADER_LEN) as u32;
        self.out[self.start + 1..self.start + HEADER_LEN].copy_from_slice(&len.to_le_bytes());
    }
}

/// Reads a payload; every read checks bounds, so a malformed frame is an
/// error, never a panic.
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.data.len())
            .ok_or("truncated frame")?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    pub fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    pub fn u16(&mut self) -> Result<u16, String> {
        Ok(u16::from_le_bytes(
            self.take(2)?.try_into().expect("2 bytes"),
        ))
    }
    pub fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    pub fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    pub fn i64(&mut self) -> Result<i64, String> {
        Ok(i64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    pub fn bytes(&mut self) -> Result<&'a [u8], String> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    pub fn text(&mut self) -> Result<String, String> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|_| "frame text is not UTF-8".to_owned())
    }
    /// Offset of the next unread byte.
    pub fn position(&self) -> usize {
        self.pos
    }
    pub fn finished(&self) -> Result<(), String> {
        if self.pos == self.data.len() {
            Ok(())
        } else {
            Err("trailing bytes in frame".to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_and_limits() {
        let mut out = Vec::new();
        push_frame(&mut out, Kind::Data, b"abc");
        assert_eq!(out, [7, 3, 0, 0, 0, b'a', b'b', b'c']);
        let header = FrameHeader::parse(out[..5].try_into().unwrap()).unwrap();
        assert_eq!(
            header,
            FrameHeader {
                kind: Kind::Data,
                len: 3
            }
        );
        assert!(
            FrameHeader::parse(&[99, 0, 0, 0, 0])
                .unwrap_err()
                .contains("unknown frame kind")
        );
        let too_big = (MAX_FRAME + 1).to_le_bytes();
        assert!(
            FrameHeader::parse(&[7, too_big[0], too_big[1], too_big[2], too_big[3]])
                .unwrap_err()
                .contains("exceeds")
        );
    }

    #[test]
    fn writer_patches_length_and_reader_reads_back() {
        let mut out = vec![0xff];
        let mut w = Writer::begin(&mut out, Kind::Head);
        w.u8(1).u16(2).u32(3).u64(4).i64(-5).bytes(b"xyz");
        w.finish();
        let header = FrameHeader::parse(out[1..6].try_into().unwrap()).unwrap();
        assert_eq!(header.len as usize, out.len() - 6);
        let mut r = Reader::new(&out[6..]);
        assert_eq!(
            (r.u8().unwrap(), r.u16().unwrap(), r.u32().unwrap()),
            (1, 2, 3)
        );
        assert_eq!((r.u64().unwrap(), r.i64().unwrap()), (4, -5));
        assert_eq!(r.bytes().unwrap(), b"xyz");
        r.finished().unwrap();
    }

    #[test]
    fn truncated_payloads_are_errors() {
        let mut r = Reader::new(&[5, 0, 0, 0, b'a']);
        assert!(r.bytes().unwrap_err().contains("truncated"));
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff]);
        assert!(r.bytes().is_err());
        assert!(Reader::new(&[1]).u32().is_err());
    }
}
