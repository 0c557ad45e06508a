//! The payloads of the channel's frames.

use super::codec::{Kind, Reader, Writer};
use super::{MAGIC, PROTOCOL_VERSION};
use crate::adapter::{Outcome, ResponseHead};

/// The first frame each way.
pub struct Hello;

impl Hello {
    /// The sender's pid goes along, so that log lines can name the daemon.
    pub fn encode(out: &mut Vec<u8>, pid: u32) {
        let mut w = Writer::begin(out, Kind::Hello);
        w.bytes(MAGIC).u16(PROTOCOL_VERSION).u32(pid);
        w.finish();
    }

    /// Checks a peer's hello payload; returns the peer's pid.
    pub fn check(payload: &[u8]) -> Result<u32, String> {
        let mut r = Reader::new(payload);
        let magic = r.bytes()?;
        if magic != MAGIC {
            return Err("the peer does not speak the mod_wsgi_rs channel protocol".to_owned());
        }
        let version = r.u16()?;
        if version != PROTOCOL_VERSION {
            return Err(format!(
                "the peer speaks channel protocol version {version}, this module version {PROTOCOL_VERSION} (a daemon from another build?)"
            ));
        }
        r.u32()
    }
}

/// Something that visits (name, value) pairs: the host's CGI variables.
pub type VariableSource<'a> = &'a mut dyn FnMut(&mut dyn FnMut(&[u8], &[u8]));

/// A request as the Apache child hands it to a daemon.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequestFrame {
    pub script: String,
    pub script_mtime: i64,
    pub callable_object: String,
    pub script_reloading: bool,
    pub error_override: bool,
    pub discard_body: bool,
    pub body_length: Option<u64>,
    pub url_scheme: String,
    pub application_group: String,
    /// When the child started handing the request to the daemon group, in
    /// microseconds on the machine's monotonic clock (0: unknown):
    /// queue-timeout counts from it.
    pub queue_start: i64,
    /// CGI variables, as (name, value) byte strings.
    pub variables: CgiVariables,
}

/// The CGI variables of a request as the frame carries them: one copy of
/// that section, checked once, rather than two allocations per variable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CgiVariables(Vec<u8>);

impl CgiVariables {
    /// Checks that `section` is whole (name, value) pairs and keeps it.
    fn parse(section: &[u8]) -> Result<CgiVariables, String> {
        let mut r = Reader::new(section);
        while r.position() < section.len() {
            r.bytes()?;
            r.bytes()?;
        }
        Ok(CgiVariables(section.to_vec()))
    }

    /// The (name, value) pairs, in order.
    fn pairs(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        let mut r = Reader::new(&self.0);
        // `parse` checked every pair, so neither read fails before the end.
        std::iter::from_fn(move || Some((r.bytes().ok()?, r.bytes().ok()?)))
    }

    /// The value of the variable `name`, if the request has it.
    pub fn get(&self, name: &[u8]) -> Option<&[u8]> {
        self.pairs()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value)
    }

    pub fn visit(&self, visit: &mut dyn FnMut(&[u8], &[u8])) {
        for (name, value) in self.pairs() {
            visit(name, value);
        }
    }
}

const FLAG_RELOADING: u8 = 1;
const FLAG_ERROR_OVERRIDE: u8 = 2;
const FLAG_DISCARD_BODY: u8 = 4;
const FLAG_BODY_LENGTH: u8 = 8;

impl RequestFrame {
    /// Encodes the metadata and, through `variables`, the CGI variables,
    /// straight from the host's request without collecting them first.
    pub fn encode(&self, out: &mut Vec<u8>, variables: VariableSource<'_>) {
        let mut flags = 0;
        if self.script_reloading {
            flags |= FLAG_RELOADING;
        }
        if self.error_override {
            flags |= FLAG_ERROR_OVERRIDE;
        }
        if self.discard_body {
            flags |= FLAG_DISCARD_BODY;
        }
        if self.body_length.is_some() {
            flags |= FLAG_BODY_LENGTH;
        }
        let mut w = Writer::begin(out, Kind::Request);
        w.u8(flags)
            .bytes(self.script.as_bytes())
            .i64(self.script_mtime)
            .bytes(self.callable_object.as_bytes())
            .u64(self.body_length.unwrap_or(0))
            .bytes(self.url_scheme.as_bytes())
            .bytes(self.application_group.as_bytes())
            .i64(self.queue_start);
        variables(&mut |k, v| {
            w.bytes(k).bytes(v);
        });
        w.finish();
    }

    pub fn decode(payload: &[u8]) -> Result<RequestFrame, String> {
        let mut r = Reader::new(payload);
        let flags = r.u8()?;
        let script = r.text()?;
        let script_mtime = r.i64()?;
        let callable_object = r.text()?;
        let body_length = r.u64()?;
        let url_scheme = r.text()?;
        let application_group = r.text()?;
        let queue_start = r.i64()?;
        let variables = CgiVariables::parse(&payload[r.position()..])?;
        Ok(RequestFrame {
            script,
            script_mtime,
            callable_object,
            script_reloading: flags & FLAG_RELOADING != 0,
            error_override: flags & FLAG_ERROR_OVERRIDE != 0,
            discard_body: flags & FLAG_DISCARD_BODY != 0,
            body_length: (flags & FLAG_BODY_LENGTH != 0).then_some(body_length),
            url_scheme,
            application_group,
            queue_start,
            variables,
        })
    }
}

pub fn encode_head(out: &mut Vec<u8>, head: &ResponseHead) {
    let mut w = Writer::begin(out, Kind::Head);
    w.u16(head.status)
        .bytes(&head.status_line)
        .u32(head.headers.len() as u32);
    for (k, v) in &head.headers {
        w.bytes(k).bytes(v);
    }
    w.finish();
}

pub fn decode_head(payload: &[u8]) -> Result<ResponseHead, String> {
    let mut r = Reader::new(payload);
    let status = r.u16()?;
    let status_line = r.bytes()?.to_vec();
    let count = r.u32()? as usize;
    let mut headers = Vec::with_capacity(count.min(256));
    for _ in 0..count {
        headers.push((r.bytes()?.to_vec(), r.bytes()?.to_vec()));
    }
    r.finished()?;
    Ok(ResponseHead {
        status,
        status_line,
        headers,
    })
}

/// How a response ended, as the `End` frame carries it.
pub struct EndFrame;

impl EndFrame {
    pub fn encode(out: &mut Vec<u8>, outcome: Outcome) {
        let (code, status) = match outcome {
            Outcome::Complete => (0, 0),
            Outcome::Failed => (1, 0),
            Outcome::ErrorOverride(s) => (2, s),
            Outcome::Truncated => (3, 0),
            Outcome::ClientGone => (4, 0),
        };
        let mut w = Writer::begin(out, Kind::End);
        w.u8(code).u16(status);
        w.finish();
    }

    pub fn decode(payload: &[u8]) -> Result<Outcome, String> {
        let mut r = Reader::new(payload);
        let code = r.u8()?;
        let status = r.u16()?;
        r.finished()?;
        Ok(match code {
            0 => Outcome::Complete,
            1 => Outcome::Failed,
            2 => Outcome::ErrorOverride(status),
            3 => Outcome::Truncated,
            4 => Outcome::ClientGone,
            _ => return Err(format!("unknown outcome {code}")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::{FrameHeader, HEADER_LEN};

    fn payload(out: &[u8]) -> &[u8] {
        let header = FrameHeader::parse(out[..HEADER_LEN].try_into().unwrap()).unwrap();
        assert_eq!(header.len as usize, out.len() - HEADER_LEN);
        &out[HEADER_LEN..]
    }

    #[test]
    fn hello_checks_magic_and_version() {
        let mut out = Vec::new();
        Hello::encode(&mut out, 42);
        assert_eq!(Hello::check(payload(&out)).unwrap(), 42);
        let mut other = Vec::new();
        let mut w = Writer::begin(&mut other, Kind::Hello);
        w.bytes(MAGIC).u16(PROTOCOL_VERSION + 1).u32(1);
        w.finish();
        assert!(
            Hello::check(payload(&other))
                .unwrap_err()
                .contains("version")
        );
        assert!(
            Hello::check(b"\x04\0\0\0HTTP")
                .unwrap_err()
                .contains("does not speak")
        );
    }

    #[test]
    fn request_round_trip() {
        let request = RequestFrame {
            script: "/srv/app.wsgi".into(),
            script_mtime: 1234,
            callable_object: "application".into(),
            script_reloading: true,
            error_override: false,
            discard_body: true,
            body_length: Some(0),
            url_scheme: "https".into(),
            application_group: "".into(),
            queue_start: 1_700_000_000_000_000,
            variables: CgiVariables::default(),
        };
        let mut out = Vec::new();
        request.encode(&mut out, &mut |visit| {
            visit(b"REQUEST_METHOD", b"GET");
            visit(b"HTTP_X", b"\xe9");
        });
        let decoded = RequestFrame::decode(payload(&out)).unwrap();
        let mut variables = Vec::new();
        decoded
            .variables
            .visit(&mut |k, v| variables.push((k.to_vec(), v.to_vec())));
        assert_eq!(
            variables,
            [
                (b"REQUEST_METHOD".to_vec(), b"GET".to_vec()),
                (b"HTTP_X".to_vec(), b"\xe9".to_vec())
            ]
        );
        assert_eq!(decoded.variables.get(b"HTTP_X"), Some(&b"\xe9"[..]));
        assert_eq!(decoded.variables.get(b"HTTP"), None);
        assert_eq!(
            decoded,
            RequestFrame {
                variables: decoded.variables.clone(),
                ..request.clone()
            }
        );
        let chunked = RequestFrame {
            body_length: None,
            ..request
        };
        let mut out = Vec::new();
        chunked.encode(&mut out, &mut |_| {});
        assert_eq!(
            RequestFrame::decode(payload(&out)).unwrap().body_length,
            None
        );
    }

    #[test]
    fn malformed_request_is_an_error() {
        assert!(RequestFrame::decode(&[0, 200, 0, 0, 0]).is_err());
        assert!(RequestFrame::decode(&[]).is_err());
        // A name without its value, or a length past the end, in the
        // variables section.
        let mut whole = Vec::new();
        RequestFrame::default().encode(&mut whole, &mut |visit| visit(b"A", b"B"));
        let whole = payload(&whole);
        for cut in [whole.len() - 5, whole.len() - 1] {
            assert!(
                RequestFrame::decode(&whole[..cut]).is_err(),
                "cut at {cut} of {}",
                whole.len()
            );
        }
        assert!(RequestFrame::decode(whole).is_ok());
    }

    #[test]
    fn head_and_end_round_trip() {
        let head = ResponseHead {
            status: 404,
            status_line: b"404 Not Found".to_vec(),
            headers: vec![(b"Content-Type".to_vec(), b"text/plain".to_vec())],
        };
        let mut out = Vec::new();
        encode_head(&mut out, &head);
        assert_eq!(decode_head(payload(&out)).unwrap(), head);
        for outcome in [
            Outcome::Complete,
            Outcome::Failed,
            Outcome::ErrorOverride(503),
            Outcome::Truncated,
            Outcome::ClientGone,
        ] {
            let mut out = Vec::new();
            EndFrame::encode(&mut out, outcome);
            assert_eq!(EndFrame::decode(payload(&out)).unwrap(), outcome);
        }
        assert!(EndFrame::decode(&[9, 0, 0]).is_err());
    }
}
