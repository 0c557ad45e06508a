//! The daemon's `Transport`: the shared WSGI adapter talks to the Apache
//! child at the other end of a channel connection.

use std::io;
use std::os::fd::RawFd;

use wsgi::adapter::{ResponseHead, Transport};
use wsgi::channel::{CgiVariables, Kind, Writer, encode_head, push_frame};
use wsgi::messages::Level;

use super::conn::Conn;
use crate::apache::log;
use crate::unix;

/// Body frames are cut at this size so neither side holds more than this.
const FRAME_DATA: usize = 256 * 1024;
/// A safety net: the adapter sends (without the GIL) long before its queue
/// grows this large, so this write with the GIL held should never happen.
const QUEUE_LIMIT: usize = 1024 * 1024;

pub struct ChannelTransport {
    pub conn: Conn,
    /// The request's CGI variables, as the child sent them.
    variables: CgiVariables,
    /// Frames not yet written: the Hello on a new connection, a head, queued data.
    pub out: Vec<u8>,
    body_done: bool,
    /// A body read failed (socket-timeout, say): the child may still send
    /// the frame, so the connection is not reused.
    pub read_failed: bool,
}

fn protocol_error(text: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, text)
}

impl ChannelTransport {
    pub fn new(
        conn: Conn,
        variables: CgiVariables,
        body_length: Option<u64>,
        out: Vec<u8>,
    ) -> Self {
        ChannelTransport {
            conn,
            variables,
            out,
            body_done: body_length == Some(0),
            read_failed: false,
        }
    }

    pub fn flush(&mut self) -> io::Result<()> {
        if !self.out.is_empty() {
            let result = self.conn.write_all(&self.out);
            self.out.clear();
            result?;
        }
        Ok(())
    }

    fn push_data(&mut self, kind: Kind, data: &[u8]) {
        for piece in data.chunks(FRAME_DATA) {
            push_frame(&mut self.out, kind, piece);
        }
    }
}

impl Transport for ChannelTransport {
    fn cgi_variables(&self, visit: &mut dyn FnMut(&[u8], &[u8])) {
        self.variables.visit(visit);
    }

    fn read_body(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.body_done || buf.is_empty() {
            return Ok(0);
        }
        let want = buf.len().min(FRAME_DATA) as u32;
        let mut w = Writer::begin(&mut self.out, Kind::Read);
        w.u32(want);
        w.finish();
        self.flush()?;
        let (kind, payload) = match self.conn.read_frame() {
            Ok(frame) => frame,
            Err(e) => {
                self.read_failed = true;
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the Apache child sent no body within socket-timeout",
                    ));
                }
                return Err(e);
            }
        };
        match kind {
            Kind::Body if payload.is_empty() => {
                self.body_done = true;
                Ok(0)
            }
            Kind::Body if payload.len() <= buf.len() => {
                buf[..payload.len()].copy_from_slice(payload);
                Ok(payload.len())
            }
            Kind::BodyError => Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                String::from_utf8_lossy(payload).into_owned(),
            )),
            other => Err(protocol_error(format!(
                "unexpected {other:?} frame while reading the request body"
            ))),
        }
    }

    fn set_head(&mut self, head: &ResponseHead) {
        encode_head(&mut self.out, head);
    }

    fn queue_body(&mut self, data: &[u8]) -> io::Result<()> {
        self.push_data(Kind::Data, data);
        if self.out.len() > QUEUE_LIMIT {
            self.flush()
        } else {
            Ok(())
        }
    }

    fn send_body(&mut self, data: &[u8]) -> io::Result<()> {
        self.push_data(Kind::DataFlush, data);
        self.flush()
    }

    fn send_file(&mut self, fd: RawFd, offset: u64, len: u64) -> io::Result<()> {
        self.flush()?;
        let mut frame = Vec::with_capacity(21);
        let mut w = Writer::begin(&mut frame, Kind::File);
        w.u64(offset).u64(len);
        w.finish();
        // The child gets its own descriptor for the file: nothing is copied
        // through this process, and the application may close its own.
        unix::send_with_fd(&self.conn.stream, &frame, fd)
    }

    fn log(&self, level: Level, message: &str) {
        // As Apache's request log lines name the client; formatted only
        // here, since most requests log nothing.
        let text = |name: &[u8]| {
            String::from_utf8_lossy(self.variables.get(name).unwrap_or(b"-")).into_owned()
        };
        log::process_sink(
            level,
            &format!(
                "[client {}:{}] {message}",
                text(b"REMOTE_ADDR"),
                text(b"REMOTE_PORT")
            ),
        );
    }
}
