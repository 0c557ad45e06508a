//! The payloads of the channel's frames.

use super::codec::{Kind, Reader, Writer};
use super::secret::Secret;
use super::{MAGIC, PROTOCOL_VERSION};
use std::borrow::Cow;

use crate::adapter::{Outcome, ResponseHead};
use crate::request::{RequestMeta, RequestTimes, ScriptReloading};

/// The first frame each way.
pub struct Hello;

/// Why a daemon refuses an Apache child's Hello.
#[derive(Debug, PartialEq, Eq)]
pub enum HelloRefusal {
    /// Not this module's protocol, or another version of it.
    Protocol(String),
    /// The right protocol, but no proof (`missing`) or the wrong one: the
    /// peer is not one of Apache's children.
    Unproven { pid: u32, missing: bool },
}

impl Hello {
    /// A daemon's Hello: the sender's pid goes along, so that log lines can
    /// name the daemon. A daemon proves nothing: the child reached it
    /// through the socket only Apache's parent could create.
    pub fn encode(out: &mut Vec<u8>, pid: u32) {
        Self::encode_proving(out, pid, &[]);
    }

    /// An Apache child's Hello, with its group's secret as proof.
    pub fn encode_proving(out: &mut Vec<u8>, pid: u32, proof: &[u8]) {
        let mut w = Writer::begin(out, Kind::Hello);
        w.bytes(MAGIC).u16(PROTOCOL_VERSION).u32(pid).bytes(proof);
        w.finish();
    }

    /// Checks a daemon's hello payload; returns its pid.
    pub fn check(payload: &[u8]) -> Result<u32, String> {
        Self::read(payload).map(|(pid, _)| pid)
    }

    /// Checks an Apache child's hello payload, and its proof against the
    /// group's `secret`; returns the child's pid.
    pub fn check_proof(payload: &[u8], secret: &Secret) -> Result<u32, HelloRefusal> {
        let (pid, proof) = Self::read(payload).map_err(HelloRefusal::Protocol)?;
        if secret.matches(proof) {
            Ok(pid)
        } else {
            Err(HelloRefusal::Unproven {
                pid,
                missing: proof.is_empty(),
            })
        }
    }

    fn read(payload: &[u8]) -> Result<(u32, &[u8]), String> {
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
        Ok((r.u32()?, r.bytes()?))
    }
}

/// Something that visits (name, value) pairs: the host's CGI variables.
pub type VariableSource<'a> = &'a mut dyn FnMut(&mut dyn FnMut(&[u8], &[u8]));

/// A request as a daemon receives it from an Apache child: the metadata,
/// owned, plus what only the channel carries.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequestFrame {
    pub meta: RequestMeta<'static>,
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

    /// Sets the variable `name` to `value` where the request has it, or
    /// drops it (`None`). For the rare daemon that rewrites its requests
    /// (chroot=): it copies the section.
    pub fn replace(&mut self, name: &[u8], value: Option<&[u8]>) {
        let mut section = Vec::with_capacity(self.0.len());
        let mut put = |v: &[u8]| {
            section.extend_from_slice(&(v.len() as u32).to_le_bytes());
            section.extend_from_slice(v);
        };
        for (key, old) in self.pairs() {
            if key != name {
                put(key);
                put(old);
            } else if let Some(new) = value {
                put(key);
                put(new);
            }
        }
        self.0 = section;
    }
}

const FLAG_RELOADING: u8 = 1;
const FLAG_ERROR_OVERRIDE: u8 = 2;
const FLAG_DISCARD_BODY: u8 = 4;
const FLAG_BODY_LENGTH: u8 = 8;
const FLAG_IGNORE_ACTIVITY: u8 = 16;

impl RequestFrame {
    /// Encodes `meta` and, through `variables`, the CGI variables, straight
    /// from the host's request without collecting them first. `queue_start`
    /// is on the monotonic clock (for queue-timeout), `queue_start_wall` on
    /// the wall clock (for `mod_wsgi.queue_start`): the same instant.
    pub fn encode(
        out: &mut Vec<u8>,
        meta: &RequestMeta<'_>,
        queue_start: i64,
        queue_start_wall: i64,
        variables: VariableSource<'_>,
    ) {
        let mut flags = 0;
        if meta.script_reloading.is_on() {
            flags |= FLAG_RELOADING;
        }
        if meta.error_override {
            flags |= FLAG_ERROR_OVERRIDE;
        }
        if meta.discard_body {
            flags |= FLAG_DISCARD_BODY;
        }
        if meta.body_length.is_some() {
            flags |= FLAG_BODY_LENGTH;
        }
        if meta.ignore_activity {
            flags |= FLAG_IGNORE_ACTIVITY;
        }
        let mut w = Writer::begin(out, Kind::Request);
        w.u8(flags)
            .bytes(meta.script.as_bytes())
            .i64(meta.script_mtime)
            .bytes(meta.callable_object.as_bytes())
            .u64(meta.body_length.unwrap_or(0))
            .bytes(meta.url_scheme.as_bytes())
            .bytes(meta.application_group.as_bytes())
            .i64(queue_start)
            .i64(meta.times.request_start)
            .i64(queue_start_wall);
        variables(&mut |k, v| {
            w.bytes(k).bytes(v);
        });
        w.finish();
    }

    /// Decodes a request for a daemon. Script reloading, when on, is by
    /// process (the daemon recycles itself); the process group is left
    /// empty for the daemon to fill in, and so is `times.daemon_start`.
    pub fn decode(payload: &[u8]) -> Result<RequestFrame, String> {
        let mut r = Reader::new(payload);
        let flags = r.u8()?;
        let script = r.text()?;
        let script_mtime = r.i64()?;
        let callable_object = r.text()?;
        let body_length = r.u64()?;
        let url_scheme = scheme(r.bytes()?)?;
        let application_group = r.text()?;
        let queue_start = r.i64()?;
        let times = RequestTimes {
            request_start: r.i64()?,
            queue_start: r.i64()?,
            daemon_start: 0,
        };
        let variables = CgiVariables::parse(&payload[r.position()..])?;
        Ok(RequestFrame {
            meta: RequestMeta {
                script: script.into(),
                script_mtime,
                script_reloading: if flags & FLAG_RELOADING != 0 {
                    ScriptReloading::Process
                } else {
                    ScriptReloading::Off
                },
                callable_object: callable_object.into(),
                body_length: (flags & FLAG_BODY_LENGTH != 0).then_some(body_length),
                error_override: flags & FLAG_ERROR_OVERRIDE != 0,
                discard_body: flags & FLAG_DISCARD_BODY != 0,
                ignore_activity: flags & FLAG_IGNORE_ACTIVITY != 0,
                url_scheme,
                process_group: Cow::Borrowed(""),
                application_group: application_group.into(),
                times,
            },
            queue_start,
            variables,
        })
    }
}

/// The two usual schemes need no allocation.
fn scheme(bytes: &[u8]) -> Result<Cow<'static, str>, String> {
    Ok(match bytes {
        b"http" => Cow::Borrowed("http"),
        b"https" => Cow::Borrowed("https"),
        other => Cow::Owned(
            String::from_utf8(other.to_vec()).map_err(|_| "frame text is not UTF-8".to_owned())?,
        ),
    })
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
    use crate::channel::{FrameHeader, HEADER_LEN, SECRET_LEN};

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
        w.bytes(MAGIC).u16(PROTOCOL_VERSION + 1).u32(1).bytes(b"");
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
    fn a_childs_hello_proves_the_groups_secret() {
        let bytes = [7u8; SECRET_LEN];
        let secret = Secret::new(&bytes);
        let mut out = Vec::new();
        Hello::encode_proving(&mut out, 42, &bytes);
        assert_eq!(Hello::check_proof(payload(&out), &secret), Ok(42));
        // A daemon's own Hello still reads, proof or not.
        assert_eq!(Hello::check(payload(&out)), Ok(42));

        let mut out = Vec::new();
        Hello::encode(&mut out, 43);
        assert_eq!(
            Hello::check_proof(payload(&out), &secret),
            Err(HelloRefusal::Unproven {
                pid: 43,
                missing: true
            })
        );
        let mut out = Vec::new();
        Hello::encode_proving(&mut out, 44, &[8u8; SECRET_LEN]);
        assert_eq!(
            Hello::check_proof(payload(&out), &secret),
            Err(HelloRefusal::Unproven {
                pid: 44,
                missing: false
            })
        );
        // A Hello of the previous version (no proof field) is a protocol
        // error, not a crash.
        let mut old = Vec::new();
        let mut w = Writer::begin(&mut old, Kind::Hello);
        w.bytes(MAGIC).u16(PROTOCOL_VERSION).u32(1);
        w.finish();
        assert!(matches!(
            Hello::check_proof(payload(&old), &secret),
            Err(HelloRefusal::Protocol(_))
        ));
    }

    #[test]
    fn request_round_trip() {
        let meta = RequestMeta {
            script: "/srv/app.wsgi".into(),
            script_mtime: 1234,
            callable_object: "application".into(),
            script_reloading: ScriptReloading::Process,
            error_override: false,
            discard_body: true,
            ignore_activity: true,
            body_length: Some(0),
            url_scheme: "https".into(),
            process_group: "".into(),
            application_group: "".into(),
            times: RequestTimes {
                request_start: 1_795_000_000_000_001,
                queue_start: 1_795_000_000_000_002,
                daemon_start: 0,
            },
        };
        let mut out = Vec::new();
        RequestFrame::encode(
            &mut out,
            &meta,
            1_700_000_000_000_000,
            1_795_000_000_000_002,
            &mut |visit| {
                visit(b"REQUEST_METHOD", b"GET");
                visit(b"HTTP_X", b"\xe9");
            },
        );
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
        assert_eq!(decoded.meta, meta);
        assert_eq!(decoded.queue_start, 1_700_000_000_000_000);
        // Whoever sent it, a daemon reloads by restarting itself.
        let module = RequestMeta {
            script_reloading: ScriptReloading::Module,
            url_scheme: "ftp".into(),
            ..meta.clone()
        };
        let mut out = Vec::new();
        RequestFrame::encode(&mut out, &module, 0, 0, &mut |_| {});
        let decoded = RequestFrame::decode(payload(&out)).unwrap().meta;
        assert_eq!(decoded.script_reloading, ScriptReloading::Process);
        assert_eq!(decoded.url_scheme, "ftp");
        for (reloading, body_length) in [
            (ScriptReloading::Off, None),
            (ScriptReloading::Off, Some(7)),
        ] {
            let other = RequestMeta {
                script_reloading: reloading,
                body_length,
                ..meta.clone()
            };
            let mut out = Vec::new();
            RequestFrame::encode(&mut out, &other, 0, 1_795_000_000_000_002, &mut |_| {});
            assert_eq!(RequestFrame::decode(payload(&out)).unwrap().meta, other);
        }
    }

    #[test]
    fn malformed_request_is_an_error() {
        assert!(RequestFrame::decode(&[0, 200, 0, 0, 0]).is_err());
        assert!(RequestFrame::decode(&[]).is_err());
        // A name without its value, or a length past the end, in the
        // variables section.
        let mut whole = Vec::new();
        RequestFrame::encode(&mut whole, &RequestMeta::default(), 0, 0, &mut |visit| {
            visit(b"A", b"B")
        });
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

    #[test]
    fn cgi_variables_replace_sets_or_drops_one_variable() {
        let mut out = Vec::new();
        let mut w = crate::channel::codec::Writer::begin(&mut out, Kind::Request);
        w.bytes(b"A").bytes(b"1").bytes(b"B").bytes(b"2");
        w.finish();
        let mut vars = CgiVariables::parse(&out[HEADER_LEN..]).unwrap();
        vars.replace(b"A", Some(b"one"));
        vars.replace(b"C", Some(b"3"));
        assert_eq!(vars.get(b"A"), Some(&b"one"[..]));
        assert_eq!(vars.get(b"B"), Some(&b"2"[..]));
        assert_eq!(vars.get(b"C"), None);
        vars.replace(b"B", None);
        assert_eq!(vars.get(b"B"), None);
        assert_eq!(vars.pairs().count(), 1);
    }
}
