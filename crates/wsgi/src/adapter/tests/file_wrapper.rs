//! wsgi.file_wrapper: a real file goes to the transport's send_file (within
//! the declared length, from the file's position); anything else is
//! iterated in blksize reads; close() reaches the wrapped object.

use super::logged_once;
use crate::adapter::Outcome;
use crate::messages::{CLIENT_GONE, CONTENT_LENGTH_SHORT};
use crate::test_support::{Event, RecordingTransport, RequestOptions, get, run_app, temp_dir};

const FILES: &str = r#"
import io
class Logged(io.FileIO):
    def close(self):
        if not self.closed:
            self.log.write('file closed\n')
        super().close()

class ReadOnly:
    def __init__(self, data):
        self.data = io.BytesIO(data)
    def read(self, n):
        return self.data.read(n)

def application(environ, start_response):
    path = environ['PATH_INFO']
    query = environ.get('QUERY_STRING', '')
    wrap = environ['wsgi.file_wrapper']
    headers = [('Content-Type', 'application/octet-stream')]
    if path == '/file':
        f = open(environ['FILE'], 'rb')
    elif path == '/blksize':
        f = open(environ['FILE'], 'rb')
        start_response('200 OK', headers)
        return wrap(f, 1000)
    elif path == '/seek':
        f = open(environ['FILE'], 'rb')
        f.seek(100)
    elif path == '/buffered-read':
        f = open(environ['FILE'], 'rb')
        f.read(100)
    elif path == '/length':
        headers.append(('Content-Length', query))
        f = open(environ['FILE'], 'rb')
    elif path == '/bytesio':
        start_response('200 OK', headers)
        return wrap(io.BytesIO(b'x' * 2500), int(query))
    elif path == '/read-only':
        start_response('200 OK', headers)
        return wrap(ReadOnly(b'y' * 20), 8)
    elif path == '/closes':
        f = Logged(environ['FILE'], 'rb')
        f.log = environ['wsgi.errors']
    elif path == '/attributes':
        w = wrap(io.BytesIO(b'abc'), 7)
        start_response('200 OK', headers)
        return [ascii((w.blksize, w.filelike.read(), type(w) is wrap)).encode()]
    elif path == '/status':
        start_response(query + ' Status', headers)
        return wrap(open(environ['FILE'], 'rb'))
    start_response('200 OK', headers)
    return wrap(f)
"#;

/// A file of `n` patterned bytes, and its contents.
fn file(n: usize) -> (std::path::PathBuf, Vec<u8>) {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let i = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = temp_dir(&format!("file-wrapper{i}"));
    let path = dir.join("data.bin");
    let data: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, &data).unwrap();
    (dir, data)
}

fn send(
    path_info: &str,
    query: &str,
    size: usize,
    options: RequestOptions,
) -> (Outcome, RecordingTransport, Vec<u8>) {
    let (dir, data) = file(size);
    let transport = RecordingTransport::get(path_info)
        .cgi("QUERY_STRING", query.as_bytes())
        .cgi("FILE", dir.join("data.bin").to_str().unwrap().as_bytes());
    let (outcome, t) = run_app(FILES, options, transport);
    std::fs::remove_dir_all(&dir).ok();
    (outcome, t, data)
}

fn file_events(t: &RecordingTransport) -> Vec<(u64, u64)> {
    t.events
        .iter()
        .filter_map(|e| match e {
            Event::File { offset, len, .. } => Some((*offset, *len)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_real_file_is_sent_whole_without_python() {
    for path in ["/file", "/blksize"] {
        let (outcome, t, data) = send(path, "", 20_000, RequestOptions::default());
        assert_eq!(outcome, Outcome::Complete, "{path}: {}", t.log_text());
        assert_eq!(file_events(&t), [(0, 20_000)], "{path}");
        assert_eq!(t.events.len(), 2, "{path}: head and file only");
        assert!(t.body() == data, "{path}: the body differs");
    }
}

#[test]
fn the_file_is_sent_from_its_position() {
    for path in ["/seek", "/buffered-read"] {
        let (outcome, t, data) = send(path, "", 20_000, RequestOptions::default());
        assert_eq!(outcome, Outcome::Complete, "{path}");
        assert_eq!(file_events(&t), [(100, 19_900)], "{path}");
        assert!(t.body() == data[100..], "{path}");
    }
}

#[test]
fn the_declared_length_limits_the_file() {
    let (outcome, t, data) = send("/length", "5000", 20_000, RequestOptions::default());
    assert_eq!(outcome, Outcome::Complete);
    assert_eq!(file_events(&t), [(0, 5000)]);
    assert!(t.body() == data[..5000]);

    let (outcome, t, _) = send("/length", "30000", 20_000, RequestOptions::default());
    assert_eq!(outcome, Outcome::Truncated);
    assert_eq!(file_events(&t), [(0, 20_000)]);
    logged_once(&t, CONTENT_LENGTH_SHORT);

    let (outcome, t, _) = send("/length", "0", 20_000, RequestOptions::default());
    assert_eq!(outcome, Outcome::Complete);
    assert_eq!(t.calls.get().send_file, 0, "nothing to send");
}

#[test]
fn other_file_likes_are_iterated_in_blocks() {
    for (blksize, sizes) in [("1000", vec![1000, 1000, 500]), ("4096", vec![2500])] {
        let (outcome, t) = run_app(
            FILES,
            RequestOptions::default(),
            RecordingTransport::get("/bytesio").cgi("QUERY_STRING", blksize.as_bytes()),
        );
        assert_eq!(outcome, Outcome::Complete);
        let sent: Vec<usize> = t
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Sent(b) => Some(b.len()),
                _ => None,
            })
            .collect();
        assert_eq!(sent, sizes, "blksize {blksize}");
        assert_eq!(t.calls.get().send_file, 0);
    }
    let (outcome, t) = get(FILES, "/read-only");
    assert_eq!(outcome, Outcome::Complete);
    assert_eq!(t.body(), vec![b'y'; 20]);
    assert_eq!(t.calls.get().send_body, 3, "blocks of 8");
    let (_, t) = get(FILES, "/attributes");
    assert_eq!(t.text(), "(7, b'abc', True)");
}

#[test]
fn closing_the_wrapper_closes_the_file_once() {
    let (outcome, t, _) = send("/closes", "", 5000, RequestOptions::default());
    assert_eq!(outcome, Outcome::Complete);
    assert_eq!(
        file_events(&t),
        [(0, 5000)],
        "a FileIO subclass is a real file"
    );
    assert_eq!(t.logged("file closed").len(), 1, "{}", t.log_text());
}

#[test]
fn a_failed_send_file_is_a_client_gone() {
    let (dir, _) = file(5000);
    let transport = RecordingTransport::get("/closes")
        .cgi("FILE", dir.join("data.bin").to_str().unwrap().as_bytes())
        .fail_sends_after(0);
    let (outcome, t) = run_app(FILES, RequestOptions::default(), transport);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(outcome, Outcome::ClientGone);
    assert_eq!(t.calls.get().send_file, 1);
    logged_once(&t, CLIENT_GONE);
    assert_eq!(t.logged("file closed").len(), 1, "closed all the same");
}

#[test]
fn an_overridden_error_sends_no_file() {
    let on = RequestOptions {
        error_override: true,
        ..Default::default()
    };
    let (outcome, t, _) = send("/status", "500", 5000, on);
    assert_eq!(outcome, Outcome::ErrorOverride(500));
    assert!(t.events.is_empty());
    let (outcome, t, _) = send("/status", "200", 5000, on);
    assert_eq!(outcome, Outcome::Complete);
    assert_eq!(file_events(&t), [(0, 5000)]);
}
