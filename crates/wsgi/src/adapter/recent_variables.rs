//! The previous request's CGI variables, per thread, to build the next
//! environ from: requests to one application come with the same variables
//! in the same order, and most values repeat (SERVER_NAME, SERVER_PORT,
//! SCRIPT_NAME, HTTP_HOST, the User-Agent, mod_wsgi's listener and pid ...).
//! At each position, a key equal to the previous request's reuses its
//! interned `str` without hashing, and an equal value reuses its `str`
//! (strings are immutable) instead of decoding and later freeing a new one.
//! A byte comparison is a few dozen instructions; a lookup or a decode and
//! free, a few hundred.

use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::python::ffi::latin1_str;

/// Values longer than this are not kept: they are rarely repeated (cookies,
/// long query strings), and keeping them would hold their memory.
const LONGEST_KEPT_VALUE: usize = 256;
/// Variables beyond this position are not kept (clients choose how many
/// headers they send).
const MOST_KEPT: usize = 128;

struct Variable {
    key: Vec<u8>,
    key_str: Py<PyString>,
    value: Vec<u8>,
    value_str: Option<Py<PyString>>,
}

/// The variables in the order the last request visited them.
#[derive(Default)]
pub(super) struct RecentVariables {
    variables: Vec<Variable>,
}

impl RecentVariables {
    /// The key and value of the variable at `position` as `str` objects:
    /// the previous request's where the bytes are equal, otherwise
    /// `new_key(key)` and a decoded value, which the next request may reuse.
    pub(super) fn get<'py>(
        &mut self,
        py: Python<'py>,
        position: usize,
        key: &[u8],
        value: &[u8],
        new_key: impl FnOnce(&[u8]) -> Bound<'py, PyString>,
    ) -> (Bound<'py, PyString>, Bound<'py, PyString>) {
        let Some(slot) = self.variables.get_mut(position) else {
            let key_str = new_key(key);
            let value_str = latin1_str(py, value);
            if position == self.variables.len() && position < MOST_KEPT {
                self.variables.push(Variable {
                    key: key.to_vec(),
                    key_str: key_str.clone().unbind(),
                    value: Vec::new(),
                    value_str: None,
                });
                keep_value(&mut self.variables[position], value, &value_str);
            }
            return (key_str, value_str);
        };
        let key_str = if slot.key == key {
            slot.key_str.bind(py).clone()
        } else {
            let key_str = new_key(key);
            slot.key.clear();
            slot.key.extend_from_slice(key);
            slot.key_str = key_str.clone().unbind();
            slot.value_str = None;
            key_str
        };
        if let Some(value_str) = &slot.value_str
            && slot.value == value
        {
            return (key_str, value_str.bind(py).clone());
        }
        let value_str = latin1_str(py, value);
        keep_value(slot, value, &value_str);
        (key_str, value_str)
    }
}

fn keep_value(slot: &mut Variable, value: &[u8], value_str: &Bound<'_, PyString>) {
    if value.len() <= LONGEST_KEPT_VALUE {
        slot.value.clear();
        slot.value.extend_from_slice(value);
        slot.value_str = Some(value_str.clone().unbind());
    } else {
        slot.value_str = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode<'py>(py: Python<'py>) -> impl FnOnce(&[u8]) -> Bound<'py, PyString> {
        move |k| latin1_str(py, k)
    }

    #[test]
    fn equal_bytes_reuse_the_previous_requests_strings() {
        crate::test_support::with_python(|py| {
            let mut recent = RecentVariables::default();
            let (k1, v1) = recent.get(py, 0, b"SERVER_NAME", b"example.com", decode(py));
            let (k2, v2) = recent.get(py, 0, b"SERVER_NAME", b"example.com", decode(py));
            assert!(k1.is(&k2) && v1.is(&v2));
            // A changed value is decoded anew, and kept for the next one.
            let (_, v3) = recent.get(py, 0, b"SERVER_NAME", b"other.org", decode(py));
            assert_eq!(v3.to_str().unwrap(), "other.org");
            assert!(!v3.is(&v1));
            let (_, v4) = recent.get(py, 0, b"SERVER_NAME", b"other.org", decode(py));
            assert!(v4.is(&v3));
            // Another key at the position: neither string is reused.
            let (k5, v5) = recent.get(py, 0, b"SERVER_PORT", b"other.org", decode(py));
            assert_eq!(
                (k5.to_str().unwrap(), v5.to_str().unwrap()),
                ("SERVER_PORT", "other.org")
            );
            assert!(!v5.is(&v3), "a value is reused only under the same key");
        });
    }

    #[test]
    fn long_values_and_far_positions_are_not_kept() {
        crate::test_support::with_python(|py| {
            let mut recent = RecentVariables::default();
            let long = vec![b'x'; LONGEST_KEPT_VALUE + 1];
            let (_, a) = recent.get(py, 0, b"HTTP_COOKIE", &long, decode(py));
            let (_, b) = recent.get(py, 0, b"HTTP_COOKIE", &long, decode(py));
            assert!(!a.is(&b));
            assert_eq!(b.len().unwrap(), LONGEST_KEPT_VALUE + 1);
            for i in 1..MOST_KEPT + 10 {
                let key = format!("HTTP_X_{i}");
                let (k, v) = recent.get(py, i, key.as_bytes(), b"v", decode(py));
                assert_eq!(
                    (k.to_str().unwrap(), v.to_str().unwrap()),
                    (key.as_str(), "v")
                );
            }
            assert_eq!(recent.variables.len(), MOST_KEPT);
            // Latin-1 bytes decode to their code points either way.
            let (_, v) = recent.get(py, 1, b"HTTP_X_1", b"\xe9", decode(py));
            assert_eq!(v.to_str().unwrap(), "\u{e9}");
        });
    }
}
