//! The environ the application gets: the CGI variables as latin-1 `str`,
//! the `wsgi.*` keys PEP 3333 requires, the `mod_wsgi.*` keys, and
//! wsgi.errors writing whole lines into the request's log.

use crate::adapter::Outcome;
use crate::messages::Level;
use crate::test_support::{RecordingTransport, RequestOptions, get, run_app};

const ENVIRON: &str = r#"
import sys
def application(environ, start_response):
    keys = ['wsgi.version', 'wsgi.url_scheme', 'wsgi.multithread', 'wsgi.multiprocess',
            'wsgi.run_once', 'wsgi.input_terminated', 'mod_wsgi.process_group',
            'mod_wsgi.application_group', 'mod_wsgi.callable_object',
            'mod_wsgi.script_reloading', 'mod_wsgi.version']
    out = ['%s=%r' % (k, environ[k]) for k in keys]
    out.append('apache.version' in environ)
    cgi = [k for k in environ if not k.startswith(('wsgi.', 'mod_wsgi.'))]
    out.append(all(type(k) is str and type(environ[k]) is str for k in cgi))
    out.append(environ['HTTP_X_LATIN1'] == 'caf\xe9')
    out.append(environ['HTTP_X_LATIN1'].encode('latin-1') == b'caf\xe9')
    out.append(environ['REQUEST_METHOD'])
    out.append(type(environ) is dict)
    out.append(hasattr(environ['wsgi.input'], 'read'))
    errors = environ['wsgi.errors']
    out.append(all(hasattr(errors, m) for m in ('write', 'writelines', 'flush')))
    start_response('200 OK', [])
    return ['\n'.join(str(x) for x in out).encode()]
"#;

#[test]
fn environ_contents() {
    let (outcome, t) = run_app(
        ENVIRON,
        RequestOptions::default(),
        RecordingTransport::get("/").cgi("HTTP_X_LATIN1", b"caf\xe9"),
    );
    assert_eq!(outcome, Outcome::Complete, "{}", t.log_text());
    assert_eq!(
        t.text(),
        "wsgi.version=(1, 0)\n\
         wsgi.url_scheme='http'\n\
         wsgi.multithread=True\n\
         wsgi.multiprocess=False\n\
         wsgi.run_once=False\n\
         wsgi.input_terminated=True\n\
         mod_wsgi.process_group=''\n\
         mod_wsgi.application_group='unit|/app'\n\
         mod_wsgi.callable_object='application'\n\
         mod_wsgi.script_reloading='0'\n\
         mod_wsgi.version=(6, 1, 1)\n\
         False\nTrue\nTrue\nTrue\nGET\nTrue\nTrue\nTrue"
    );
    assert_eq!(t.calls.get().cgi_variables, 1);
}

#[test]
fn wsgi_errors_writes_whole_lines_into_the_request_log() {
    let app = r#"
def application(environ, start_response):
    errors = environ['wsgi.errors']
    errors.write('one line\n')
    errors.write('a line in ')
    errors.write('two parts\nand a tail')
    errors.writelines(['x\n', 'y\n'])
    try:
        errors.write(b'bytes')
    except TypeError as e:
        errors.write('TypeError: %s\n' % e)
    start_response('200 OK', [])
    errors.write('unterminated')
    return []
"#;
    let (outcome, t) = get(app, "/");
    assert_eq!(outcome, Outcome::Complete);
    let log = t.log.lock().unwrap();
    let lines: Vec<&str> = log.iter().map(|(_, l)| l.as_str()).collect();
    assert_eq!(
        lines,
        [
            "one line",
            "a line in two parts",
            // Line buffered, as mod_wsgi's TextIOWrapper: a write holding a
            // newline flushes the binary log, tail included.
            "and a tail",
            "x",
            "y",
            "TypeError: write() argument must be str, not bytes",
            "unterminated"
        ]
    );
    assert!(log.iter().all(|(level, _)| *level == Level::Error));
}
