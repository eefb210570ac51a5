//! Core error kinds mapped one to one onto Python exceptions, all under `RosterError`: one
//! class per kind of `roster_bindings::names::ERROR_KINDS`, made when the module loads.

use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;
use roster_bindings::names::ERROR_KINDS;
use roster_core::Error;

/// The base class, then one class per kind (in `ERROR_KINDS` order).
static CLASSES: PyOnceLock<(Py<PyType>, Vec<Py<PyType>>)> = PyOnceLock::new();

/// Python names: `<Name>Error`, except where that would shadow a builtin or read oddly.
fn class_name(stem: &str) -> String {
    match stem {
        "Timeout" => "RequestTimeoutError".into(), // not the builtin TimeoutError
        "Io" => "CacheIOError".into(),
        other => format!("{other}Error"),
    }
}

fn classes(py: Python<'_>) -> PyResult<&(Py<PyType>, Vec<Py<PyType>>)> {
    CLASSES.get_or_try_init(py, || {
        let base = PyErr::new_type(
            py,
            c"roster.RosterError",
            Some(c"Base of every Roster error; `code` is the stable error code."),
            Some(&py.get_type::<PyException>()),
            None,
        )?;
        let mut kinds = Vec::new();
        for k in ERROR_KINDS {
            let name = std::ffi::CString::new(format!("roster.{}", class_name(k.name)))?;
            let doc = std::ffi::CString::new(k.doc)?;
            let class = PyErr::new_type(py, &name, Some(&doc), Some(base.bind(py)), None)?;
            class.bind(py).setattr("code", k.code)?;
            kinds.push(class);
        }
        base.bind(py).setattr("code", py.None())?;
        Ok((base, kinds))
    })
}

/// The Python exception for a core error.
pub fn to_py(e: Error) -> PyErr {
    let msg = e.to_string();
    Python::attach(|py| match classes(py) {
        Ok((base, kinds)) => {
            let class = ERROR_KINDS
                .iter()
                .position(|k| k.kind == e.kind())
                .map_or(base, |i| &kinds[i]);
            PyErr::from_type(class.bind(py).clone(), msg)
        }
        Err(err) => err,
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let (base, kinds) = classes(py)?;
    m.add("RosterError", base.clone_ref(py))?;
    for (k, class) in ERROR_KINDS.iter().zip(kinds) {
        m.add(class_name(k.name).as_str(), class.clone_ref(py))?;
    }
    Ok(())
}
