//! The generic layer: one type per interpreter, released by
//! `forget_interpreter`; payloads dropped with their objects; arguments
//! parsed with pyo3's rules and words.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::python::ffi::heap_type::{self, Args, Flags, HeapType, Kind, forget_interpreter};
use crate::test_support::with_python;

/// Counts its drops.
struct Probe(Arc<AtomicUsize>);

impl Drop for Probe {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl Probe {
    fn pair<'py>(&self, py: Python<'py>, args: &Args<'_, 'py>) -> PyResult<Bound<'py, PyAny>> {
        let [a, b] = args.parse("Probe.pair", ["a", "b"], 1, 0)?;
        let b = b.map_or_else(|| py.None().into_bound(py), |b| b.to_owned());
        Ok((a.expect("required").to_owned(), b)
            .into_pyobject(py)?
            .into_any())
    }
}

static PROBE: HeapType<Probe> = HeapType::new(
    Kind::UnitTest,
    c"mod_wsgi_rs.Probe",
    None,
    Flags {
        subclass: false,
        mapping: false,
    },
    || vec![heap_type::method!(c"pair", Probe, Probe::pair)],
);

#[test]
fn each_interpreter_gets_its_own_type_and_forgetting_one_releases_it() {
    let drops = Arc::new(AtomicUsize::new(0));
    with_python(|py| {
        let main_type = PROBE.get(py).unwrap().as_type_ptr();
        // SAFETY: the GIL is held; the sub-interpreter's state becomes the
        // current one until it is ended, and the main one is put back.
        unsafe {
            let main_state = ffi::PyThreadState_Get();
            let sub = ffi::Py_NewInterpreter();
            assert!(!sub.is_null());
            let interpreter = ffi::PyInterpreterState_Get() as usize;
            let sub_type = PROBE.get(py).unwrap().as_type_ptr();
            assert_ne!(
                sub_type, main_type,
                "a type object shared by two interpreters"
            );
            let object = PROBE.instance(py, Probe(drops.clone())).unwrap();
            assert_eq!(object.get_type_ptr(), sub_type);
            assert_eq!(
                object.get_type().module().unwrap().to_string(),
                "mod_wsgi_rs"
            );
            forget_interpreter(py, interpreter);
            // The object keeps its type; a new one is made for new objects.
            assert_eq!(object.get_type_ptr(), sub_type);
            assert_ne!(PROBE.get(py).unwrap().as_type_ptr(), sub_type);
            drop(object);
            assert_eq!(drops.load(Ordering::SeqCst), 1, "the payload was dropped");
            forget_interpreter(py, interpreter);
            ffi::Py_EndInterpreter(sub);
            ffi::PyThreadState_Swap(main_state);
        }
        assert_eq!(PROBE.get(py).unwrap().as_type_ptr(), main_type);
    });
}

#[test]
fn arguments_are_parsed_with_pyo3s_rules_and_words() {
    let drops = Arc::new(AtomicUsize::new(0));
    with_python(|py| {
        let locals = PyDict::new(py);
        locals
            .set_item("p", PROBE.instance(py, Probe(drops.clone())).unwrap())
            .unwrap();
        py.run(
            c"def error(f):\n    try:\n        f()\n    except TypeError as e:\n        return str(e)\n\
              ok = (p.pair(1), p.pair(1, 2), p.pair(b=2, a=1))\n\
              many = error(lambda: p.pair(1, 2, 3))\n\
              missing = error(lambda: p.pair())\n\
              unknown = error(lambda: p.pair(1, c=3))\n\
              twice = error(lambda: p.pair(1, a=1))\n\
              created = error(lambda: type(p)())\n",
            Some(&locals),
            None,
        )
        .unwrap();
        let get = |k: &str| locals.get_item(k).unwrap().unwrap().to_string();
        assert_eq!(get("ok"), "((1, None), (1, 2), (1, 2))");
        assert_eq!(
            get("many"),
            "Probe.pair() takes from 1 to 2 positional arguments but 3 were given"
        );
        assert_eq!(
            get("missing"),
            "Probe.pair() missing 1 required positional argument: 'a'"
        );
        assert_eq!(
            get("unknown"),
            "Probe.pair() got an unexpected keyword argument 'c'"
        );
        assert_eq!(
            get("twice"),
            "Probe.pair() got multiple values for argument 'a'"
        );
        assert_eq!(
            get("created"),
            "cannot create 'mod_wsgi_rs.Probe' instances"
        );
        // The functions defined there hold the namespace: break the circle.
        locals.clear();
    });
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}
