//! The daemon-mode channel between an Apache child and a daemon process:
//! framing and the messages' encodings. Pure data; the sockets are the
//! hosts' business.
//!
//! Every frame is a 5-byte header (kind, then payload length as u32
//! little-endian) and its payload. A connection starts with a `Hello` each
//! way carrying the protocol version and the sender's pid: the daemon sends
//! its own as soon as it accepts the connection, and the child sends no
//! request before it has it (a daemon that does not accept within
//! connect-timeout is unreachable). The child's Hello also carries its
//! group's secret (`secret.rs`): a daemon closes, without running anything,
//! a connection whose peer does not prove it is one of Apache's children.
//! Then any number of requests, one at a time:
//!
//! ```text
//! child  -> daemon  Request (metadata, request and queue start times, CGI variables)
//! daemon -> child   Read(max)          ... child -> daemon Body(bytes) / Body() at end / BodyError(text)
//! daemon -> child   Head, Data*, File*, End(outcome)
//!                   or Retry: the daemon did not and will not run this
//!                   request (it is restarting); the child sends it elsewhere
//! ```
//!
//! The daemon pulls the request body with `Read` so that neither side can
//! block the other: an application may write its response before reading
//! its input.

mod codec;
mod head_limit;
mod messages;
mod secret;
mod token_table;

pub use codec::{FrameHeader, HEADER_LEN, Kind, MAX_FRAME, Reader, Writer, push_frame};
pub use head_limit::{OverlongLine, overlong_line};
pub use messages::{
    CgiVariables, EndFrame, Hello, HelloRefusal, RequestFrame, decode_head, encode_head,
};
pub use secret::{SECRET_LEN, Secret};
pub use token_table::{FIRST_TOKEN, TokenTable};

/// Bumped whenever a frame's layout changes; peers with another version are refused.
pub const PROTOCOL_VERSION: u16 = 5;
pub const MAGIC: &[u8; 6] = b"WSGIRS";
