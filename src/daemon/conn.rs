//! One end of a channel connection: buffered frame reading (collecting any
//! descriptors passed along) and writing.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use wsgi::channel::{FrameHeader, HEADER_LEN, Kind};

use crate::unix;

pub struct Conn {
    pub stream: UnixStream,
    buffer: Vec<u8>,
    start: usize,
    end: usize,
    fds: VecDeque<OwnedFd>,
    /// The peer's Hello has been received and checked.
    pub greeted: bool,
    /// The peer's pid, from its Hello.
    pub peer_pid: u32,
    /// The socket's read timeout as last set (None: never set).
    read_timeout: Option<Duration>,
    /// When the connection was made: a daemon closes one that sends no
    /// request within socket-timeout.
    pub accepted: Instant,
}

impl Conn {
    pub fn new(stream: UnixStream) -> Conn {
        Conn {
            stream,
            buffer: vec![0; 64 * 1024],
            start: 0,
            end: 0,
            fds: VecDeque::new(),
            greeted: false,
            peer_pid: 0,
            read_timeout: None,
            accepted: Instant::now(),
        }
    }

    /// Sets the socket's read timeout (zero: none), unless it already is
    /// that: a pooled connection keeps the one its last request set, which
    /// saves a system call or two per request.
    pub fn set_read_timeout(&mut self, timeout: Duration) {
        if self.read_timeout != Some(timeout) {
            let _ = unix::set_read_timeout(&self.stream, Some(timeout));
            self.read_timeout = Some(timeout);
        }
    }

    /// Bytes already read from the socket but not yet consumed.
    pub fn has_buffered(&self) -> bool {
        self.end > self.start
    }

    fn fill(&mut self, need: usize) -> io::Result<()> {
        while self.end - self.start < need {
            if self.start > 0 && (self.buffer.len() - self.start < need || self.start == self.end) {
                self.buffer.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.buffer.len() < need {
                self.buffer.resize(need, 0);
            }
            let mut fds = Vec::new();
            let n = unix::recv_with_fds(&self.stream, &mut self.buffer[self.end..], &mut fds)?;
            self.fds.extend(fds);
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the peer closed the connection",
                ));
            }
            self.end += n;
        }
        Ok(())
    }

    /// Reads the next frame. The payload borrows the connection's buffer
    /// until the next read.
    pub fn read_frame(&mut self) -> io::Result<(Kind, &[u8])> {
        self.read_frame_and_more()
            .map(|(kind, payload, _)| (kind, payload))
    }

    /// As [`Conn::read_frame`], and whether more bytes are already buffered
    /// after it: if so, the peer has not paused.
    pub fn read_frame_and_more(&mut self) -> io::Result<(Kind, &[u8], bool)> {
        self.fill(HEADER_LEN)?;
        let header: [u8; HEADER_LEN] = self.buffer[self.start..self.start + HEADER_LEN]
            .try_into()
            .expect("5 bytes");
        let header = FrameHeader::parse(&header)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let total = HEADER_LEN + header.len as usize;
        self.fill(total)?;
        let payload_start = self.start + HEADER_LEN;
        self.start += total;
        Ok((
            header.kind,
            &self.buffer[payload_start..payload_start + header.len as usize],
            self.end > self.start,
        ))
    }

    /// The next descriptor the peer passed (for a `File` frame).
    pub fn take_fd(&mut self) -> Option<OwnedFd> {
        self.fds.pop_front()
    }

    pub fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        (&self.stream).write_all(data)
    }
}
