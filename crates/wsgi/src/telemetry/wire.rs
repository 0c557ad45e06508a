//! mod_wsgi 6.1.1's telemetry datagram (wsgi_telemetry.h): a 24-byte
//! header (`WSGI`, version 1, kind, flags 0, pid, seq, stamp), then TLV
//! records, all little-endian. Pure: bytes in a `Vec`, no I/O.

pub const VERSION: u8 = 1;

pub const KIND_REQUEST: u8 = 2;
pub const KIND_SLOW_REQUEST: u8 = 4;
pub const KIND_PROCESS_STARTED: u8 = 5;

pub const T_U64: u8 = 0x01;
pub const T_F64: u8 = 0x02;
pub const T_BYTES: u8 = 0x04;
pub const T_I32_ARRAY: u8 = 0x05;

// Field ids, as wsgi_telemetry.h numbers them.
pub const F_MOD_WSGI_VERSION: u16 = 1;
pub const F_PYTHON_VERSION: u16 = 2;
pub const F_APACHE_VERSION: u16 = 3;
pub const F_MPM_NAME: u16 = 4;
pub const F_HOSTNAME: u16 = 5;
pub const F_PROCESS_GROUP: u16 = 6;
pub const F_PROCESS_PARENT_PID: u16 = 7;
pub const F_SAMPLE_PERIOD: u16 = 10;
pub const F_TELEMETRY_INTERVAL: u16 = 11;
pub const F_SLOW_REQUESTS_THRESHOLD: u16 = 12;
pub const F_SWITCH_INTERVAL: u16 = 13;
pub const F_REQUEST_COUNT: u16 = 20;
pub const F_REQUEST_THROUGHPUT: u16 = 21;
pub const F_CAPACITY_UTILIZATION: u16 = 22;
pub const F_CPU_USER_UTILIZATION: u16 = 30;
pub const F_CPU_SYSTEM_UTILIZATION: u16 = 31;
pub const F_CPU_UTILIZATION: u16 = 32;
pub const F_MEMORY_RSS: u16 = 40;
pub const F_MEMORY_MAX_RSS: u16 = 41;
pub const F_REQUEST_THREADS_MAXIMUM: u16 = 50;
pub const F_REQUEST_THREADS_STARTED: u16 = 51;
pub const F_REQUEST_THREADS_ACTIVE: u16 = 52;
/// Mean per-phase times: server, queue, daemon, application, request,
/// (GIL wait: 65, not measured here), input read, output write.
pub const F_SERVER_TIME: u16 = 60;
pub const F_INPUT_READ_TIME: u16 = 66;
pub const F_OUTPUT_WRITE_TIME: u16 = 67;
/// Min, max and histogram blocks are the mean block's id plus these.
pub const MIN_OFFSET: u16 = 10;
pub const MAX_OFFSET: u16 = 20;
pub const BUCKETS_OFFSET: u16 = 30;
pub const F_INPUT_BYTES_TOTAL: u16 = 100;
pub const F_INPUT_READS_TOTAL: u16 = 101;
pub const F_OUTPUT_BYTES_TOTAL: u16 = 102;
pub const F_OUTPUT_WRITES_TOTAL: u16 = 103;
pub const F_STATUS_1XX_TOTAL: u16 = 120;

pub const F_SLOW_RECORD_STATE: u16 = 200;
pub const F_SLOW_START_STAMP: u16 = 201;
pub const F_SLOW_DURATION: u16 = 202;
pub const F_SLOW_THREAD_ID: u16 = 203;
pub const F_SLOW_LOG_ID: u16 = 204;
pub const F_SLOW_SERVER_PID: u16 = 205;
pub const F_SLOW_METHOD: u16 = 210;
pub const F_SLOW_SERVER_TIME: u16 = 220;
pub const F_SLOW_INPUT_BYTES: u16 = 230;
pub const F_SLOW_INPUT_READ_TIME: u16 = 234;
pub const F_SLOW_OUTPUT_WRITE_TIME: u16 = 235;
pub const F_SLOW_STATUS: u16 = 240;
pub const F_SLOW_ACTIVE_AT_START: u16 = 260;
pub const F_SLOW_ACTIVE_AT_COMPLETION: u16 = 261;

/// HDR-style histogram: 16 octaves from 1 ms, 4 sub-buckets each, and
/// one overflow bucket.
pub const BUCKET_COUNT: usize = 65;

/// mod_wsgi's `wsgi_record_time_in_buckets`: the bucket for `seconds`.
pub fn bucket_index(seconds: f64) -> usize {
    let ms = seconds * 1000.0;
    if ms.is_nan() || ms < 1.0 {
        return 0;
    }
    if ms >= 65536.0 {
        return BUCKET_COUNT - 1;
    }
    // frexp from the bits, exactly: ms = 1.f * 2^octave.
    let bits = ms.to_bits();
    let octave = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let fraction = f64::from_bits((bits & ((1u64 << 52) - 1)) | (1023u64 << 52)) - 1.0;
    let sub = ((fraction * 4.0) as usize).min(3);
    octave as usize * 4 + sub
}

/// One datagram being written.
pub struct Datagram(Vec<u8>);

impl Datagram {
    pub fn new(kind: u8, pid: u32, seq: u32, stamp: f64) -> Self {
        let mut buf = Vec::with_capacity(2048);
        buf.extend_from_slice(b"WSGI");
        buf.extend_from_slice(&[VERSION, kind]);
        buf.extend_from_slice(&0u16.to_le_bytes());
        buf.extend_from_slice(&pid.to_le_bytes());
        buf.extend_from_slice(&seq.to_le_bytes());
        buf.extend_from_slice(&stamp.to_bits().to_le_bytes());
        Datagram(buf)
    }

    fn field(&mut self, id: u16, kind: u8) {
        self.0.extend_from_slice(&id.to_le_bytes());
        self.0.push(kind);
    }

    pub fn u64(&mut self, id: u16, value: u64) -> &mut Self {
        self.field(id, T_U64);
        self.0.extend_from_slice(&value.to_le_bytes());
        self
    }

    pub fn f64(&mut self, id: u16, value: f64) -> &mut Self {
        self.field(id, T_F64);
        self.0.extend_from_slice(&value.to_bits().to_le_bytes());
        self
    }

    /// A string; an empty one is left out, as mod_wsgi's encoder does.
    pub fn bytes(&mut self, id: u16, value: &[u8]) -> &mut Self {
        if value.is_empty() {
            return self;
        }
        let value = &value[..value.len().min(u16::MAX as usize)];
        self.field(id, T_BYTES);
        self.0
            .extend_from_slice(&(value.len() as u16).to_le_bytes());
        self.0.extend_from_slice(value);
        self
    }

    /// An array of i32, its length counted in elements.
    pub fn i32_array(&mut self, id: u16, values: &[i32]) -> &mut Self {
        self.field(id, T_I32_ARRAY);
        self.0
            .extend_from_slice(&(values.len() as u16).to_le_bytes());
        for v in values {
            self.0.extend_from_slice(&v.to_le_bytes());
        }
        self
    }

    pub fn finish(self) -> Vec<u8> {
        self.0
    }
}

/// A decoded field, for tests and debugging tools.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    U64(u64),
    F64(f64),
    Bytes(Vec<u8>),
    I32s(Vec<i32>),
}

/// Decodes a datagram: (kind, pid, seq, stamp, fields in order).
#[allow(clippy::type_complexity)]
pub fn decode(buf: &[u8]) -> Option<(u8, u32, u32, f64, Vec<(u16, Value)>)> {
    let u16_at = |i: usize| Some(u16::from_le_bytes(buf.get(i..i + 2)?.try_into().ok()?));
    let u32_at = |i: usize| Some(u32::from_le_bytes(buf.get(i..i + 4)?.try_into().ok()?));
    let u64_at = |i: usize| Some(u64::from_le_bytes(buf.get(i..i + 8)?.try_into().ok()?));
    if buf.get(..4)? != b"WSGI" || buf[4] != VERSION {
        return None;
    }
    let (kind, pid, seq, stamp) = (buf[5], u32_at(8)?, u32_at(12)?, f64::from_bits(u64_at(16)?));
    let mut fields = Vec::new();
    let mut i = 24;
    while i < buf.len() {
        let id = u16_at(i)?;
        let kind = *buf.get(i + 2)?;
        i += 3;
        let value = match kind {
            T_U64 => Value::U64(u64_at(i)?),
            T_F64 => Value::F64(f64::from_bits(u64_at(i)?)),
            T_BYTES => {
                let n = u16_at(i)? as usize;
                i += 2;
                Value::Bytes(buf.get(i..i + n)?.to_vec())
            }
            T_I32_ARRAY => {
                let n = u16_at(i)? as usize;
                i += 2;
                let raw = buf.get(i..i + 4 * n)?;
                Value::I32s(
                    raw.chunks_exact(4)
                        .map(|c| i32::from_le_bytes(c.try_into().unwrap()))
                        .collect(),
                )
            }
            _ => return None,
        };
        i += match &value {
            Value::U64(_) | Value::F64(_) => 8,
            Value::Bytes(b) => b.len(),
            Value::I32s(v) => 4 * v.len(),
        };
        fields.push((id, value));
    }
    Some((kind, pid, seq, stamp, fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_and_records_are_mod_wsgis_bytes() {
        let mut d = Datagram::new(KIND_REQUEST, 0x0102_0304, 7, 1.5);
        d.u64(F_REQUEST_COUNT, 3)
            .bytes(F_HOSTNAME, b"h")
            .bytes(F_PROCESS_GROUP, b"");
        let bytes = d.finish();
        assert_eq!(&bytes[..8], b"WSGI\x01\x02\x00\x00");
        assert_eq!(&bytes[8..12], &[4, 3, 2, 1]);
        assert_eq!(&bytes[12..16], &[7, 0, 0, 0]);
        assert_eq!(&bytes[16..24], &1.5f64.to_bits().to_le_bytes());
        assert_eq!(&bytes[24..27], &[20, 0, T_U64]);
        assert_eq!(&bytes[27..35], &[3, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&bytes[35..], &[5, 0, T_BYTES, 1, 0, b'h']);
        let (kind, pid, seq, stamp, fields) = decode(&bytes).unwrap();
        assert_eq!((kind, pid, seq, stamp), (KIND_REQUEST, 0x0102_0304, 7, 1.5));
        assert_eq!(
            fields,
            vec![(20, Value::U64(3)), (5, Value::Bytes(b"h".to_vec()))]
        );
    }

    #[test]
    fn arrays_count_elements() {
        let mut d = Datagram::new(KIND_REQUEST, 1, 1, 0.0);
        d.i32_array(94, &[1, -1]).f64(F_SAMPLE_PERIOD, 0.5);
        let bytes = d.finish();
        assert_eq!(&bytes[24..29], &[94, 0, T_I32_ARRAY, 2, 0]);
        let (_, _, _, _, fields) = decode(&bytes).unwrap();
        assert_eq!(fields[0], (94, Value::I32s(vec![1, -1])));
        assert_eq!(fields[1], (10, Value::F64(0.5)));
    }

    #[test]
    fn buckets_are_mod_wsgis_hdr_layout() {
        assert_eq!(bucket_index(0.0), 0);
        assert_eq!(bucket_index(0.0009), 0);
        assert_eq!(bucket_index(0.001), 0);
        assert_eq!(bucket_index(0.00125), 1);
        assert_eq!(bucket_index(0.0019), 3);
        assert_eq!(bucket_index(0.002), 4);
        assert_eq!(bucket_index(0.003), 6);
        assert_eq!(bucket_index(1.0), 9 * 4 + 3); // 1000 ms: 512..1024, top quarter
        assert_eq!(bucket_index(65.535), 63);
        assert_eq!(bucket_index(65.536), 64);
        assert_eq!(bucket_index(1e9), 64);
    }
}
