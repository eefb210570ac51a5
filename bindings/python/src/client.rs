//! `Client`, `Publisher` and `Subscriber`: thin wrappers over the core's, converting
//! arguments and errors; every behaviour is the core's.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use pyo3::exceptions::{PyStopIteration, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use roster_core::{
    PublishMode, PublisherRegistration, Scope, SubscribeMode, SubscriberData as CoreData,
    SubscriberRegistration,
};

use crate::blocking::{seconds, wait};
use crate::data::SubscriberData;
use crate::errors::{self, to_py};
use crate::runtime;

/// `"a"` or `["a", "b"]` as a list of strings; the error names the argument.
fn strings(name: &str, v: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(vec![s.extract::<String>()?]);
    }
    v.extract::<Vec<String>>().map_err(|_| {
        PyTypeError::new_err(format!(
            "{name} must be a str or a sequence of str, not {}",
            v.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })
}

fn parse<T: std::str::FromStr<Err = roster_core::Error>>(v: &str) -> PyResult<T> {
    v.parse().map_err(to_py)
}

/// The registrations a client keeps: in Python a publisher or subscriber lives until
/// `unregister()`/`unsubscribe()` or the client's close, not until its handle is garbage
/// collected (which would make registrations depend on reference counting).
type Held = Arc<Mutex<HashMap<String, Registration>>>;

enum Registration {
    Publisher(#[allow(dead_code)] Arc<roster_core::Publisher>),
    Subscriber(#[allow(dead_code)] Arc<roster_core::Subscriber>),
}

/// A connection to the registry: publish and subscribe. Usable as a context manager;
/// `close()` unregisters everything.
#[pyclass(module = "roster", name = "Client", frozen)]
pub struct Client {
    inner: roster_core::Client,
    held: Held,
}

#[pymethods]
impl Client {
    #[new]
    #[pyo3(signature = (endpoints, *, app_name=None, zone=None, data_center=None, instance_id=None,
        publish_mode=None, subscribe_mode=None, migration_threshold=None, cache_dir=None,
        request_timeout=None, connect_timeout=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        endpoints: &Bound<'_, PyAny>,
        app_name: Option<String>,
        zone: Option<String>,
        data_center: Option<String>,
        instance_id: Option<String>,
        publish_mode: Option<&str>,
        subscribe_mode: Option<&str>,
        migration_threshold: Option<f64>,
        cache_dir: Option<std::path::PathBuf>,
        request_timeout: Option<f64>,
        connect_timeout: Option<f64>,
    ) -> PyResult<Self> {
        let mut b = roster_core::Client::builder().endpoints(strings("endpoints", endpoints)?);
        if let Some(v) = app_name {
            b = b.app_name(v);
        }
        if let Some(v) = zone {
            b = b.zone(v);
        }
        if let Some(v) = data_center {
            b = b.data_center(v);
        }
        if let Some(v) = instance_id {
            b = b.instance_id(v);
        }
        if let Some(v) = publish_mode {
            b = b.publish_mode(parse::<PublishMode>(v)?);
        }
        if let Some(v) = subscribe_mode {
            b = b.subscribe_mode(parse::<SubscribeMode>(v)?);
        }
        if let Some(v) = migration_threshold {
            b = b.migration_threshold(v);
        }
        if let Some(v) = cache_dir {
            b = b.cache_dir(v);
        }
        if let Some(v) = request_timeout {
            b = b.request_timeout(seconds("request_timeout", v)?);
        }
        if let Some(v) = connect_timeout {
            b = b.connect_timeout(seconds("connect_timeout", v)?);
        }
        // The client starts its connection task on the process's runtime.
        let rt = runtime::get();
        let _entered = rt.enter();
        Ok(Client {
            inner: b.build().map_err(to_py)?,
            held: Held::default(),
        })
    }

    /// The id that identifies this client's session to the registry.
    #[getter]
    fn client_id(&self) -> &str {
        self.inner.client_id()
    }

    #[getter]
    fn is_connected(&self) -> bool {
        self.inner.is_connected()
    }

    /// Waits until a session with the registry is up (and every registration redone).
    #[pyo3(signature = (timeout=10.0))]
    fn wait_connected(&self, py: Python<'_>, timeout: f64) -> PyResult<()> {
        let t = seconds("timeout", timeout)?;
        wait(py, self.inner.wait_connected(t))?.map_err(to_py)
    }

    /// The registry nodes this client knows, in the order it tries them.
    fn members(&self) -> Vec<String> {
        self.inner.members()
    }

    #[getter]
    fn publish_mode(&self) -> &'static str {
        self.inner.publish_mode().as_str()
    }

    /// Switches the publish mode at run time: "interface", "application" or "all".
    fn set_publish_mode(&self, py: Python<'_>, mode: &str) -> PyResult<()> {
        let mode = parse::<PublishMode>(mode)?;
        wait(py, self.inner.set_publish_mode(mode))?.map_err(to_py)
    }

    #[getter]
    fn subscribe_mode(&self) -> &'static str {
        self.inner.subscribe_mode().as_str()
    }

    /// Switches the subscribe mode of every subscription that has none of its own:
    /// "force-interface", "application-first" or "force-application".
    fn set_subscribe_mode(&self, py: Python<'_>, mode: &str) -> PyResult<()> {
        let mode = parse::<SubscribeMode>(mode)?;
        wait(py, self.inner.set_subscribe_mode(mode))?.map_err(to_py)
    }

    /// Publishes `data` (a str or a list of str) under `data_id`; returns once the registry
    /// acknowledged it (or at once, queued, when no registry is reachable).
    #[pyo3(signature = (data_id, data, *, group=None, instance_id=None))]
    fn publish(
        &self,
        py: Python<'_>,
        data_id: String,
        data: &Bound<'_, PyAny>,
        group: Option<String>,
        instance_id: Option<String>,
    ) -> PyResult<Publisher> {
        let mut reg = PublisherRegistration::new(data_id).data(strings("data", data)?);
        if let Some(g) = group {
            reg = reg.group(g);
        }
        if let Some(i) = instance_id {
            reg = reg.instance_id(i);
        }
        let p = Arc::new(wait(py, self.inner.publish(reg))?.map_err(to_py)?);
        let regist_id = p.regist_id().to_owned();
        self.held
            .lock()
            .insert(regist_id.clone(), Registration::Publisher(p.clone()));
        Ok(Publisher {
            data_info_id: p.data_info_id().to_string(),
            regist_id,
            inner: Mutex::new(Some(p)),
            held: self.held.clone(),
        })
    }

    /// Subscribes to `data_id`. With a `callback`, it is called with every new
    /// `SubscriberData` on a dispatcher thread (newest first when it falls behind); an
    /// exception it raises is logged to the `roster` logger and later pushes still come.
    #[pyo3(signature = (data_id, callback=None, *, scope="zone", group=None, instance_id=None, mode=None))]
    #[allow(clippy::too_many_arguments)]
    fn subscribe(
        &self,
        py: Python<'_>,
        data_id: String,
        callback: Option<Py<PyAny>>,
        scope: &str,
        group: Option<String>,
        instance_id: Option<String>,
        mode: Option<&str>,
    ) -> PyResult<Subscriber> {
        let mut reg = SubscriberRegistration::new(data_id).scope(parse::<Scope>(scope)?);
        if let Some(g) = group {
            reg = reg.group(g);
        }
        if let Some(i) = instance_id {
            reg = reg.instance_id(i);
        }
        if let Some(m) = mode {
            reg = reg.mode(parse::<SubscribeMode>(m)?);
        }
        let s = match callback {
            None => wait(py, self.inner.subscribe(reg))?,
            Some(cb) => {
                if !cb.bind(py).is_callable() {
                    return Err(PyTypeError::new_err("callback must be callable"));
                }
                let deliver = move |d: Arc<CoreData>| deliver(&cb, d);
                wait(py, self.inner.subscribe_with(reg, deliver))?
            }
        }
        .map_err(to_py)?;
        let s = Arc::new(s);
        let regist_id = s.regist_id().to_owned();
        self.held
            .lock()
            .insert(regist_id.clone(), Registration::Subscriber(s.clone()));
        Ok(Subscriber {
            data_info_id: s.data_info_id().to_string(),
            regist_id,
            inner: Mutex::new(Some(s)),
            held: self.held.clone(),
        })
    }

    /// Unregisters everything and closes the session.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        wait(py, self.inner.close())?;
        self.held.lock().clear();
        Ok(())
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(
        &self,
        py: Python<'_>,
        _t: Option<Py<PyAny>>,
        _v: Option<Py<PyAny>>,
        _tb: Option<Py<PyAny>>,
    ) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!(
            "Client(client_id={:?}, connected={})",
            self.inner.client_id(),
            self.inner.is_connected()
        )
    }
}

/// Calls a subscriber's Python callback; holds the GIL only for the call.
fn deliver(cb: &Py<PyAny>, d: Arc<CoreData>) {
    Python::attach(|py| {
        let id = d.data_info_id.to_string();
        if let Err(e) = cb.call1(py, (SubscriberData(d),)) {
            let logged = (|| -> PyResult<()> {
                let logger = py
                    .import("logging")?
                    .call_method1("getLogger", ("roster",))?;
                let kwargs = PyDict::new(py);
                kwargs.set_item("exc_info", e.value(py))?;
                logger.call_method(
                    "error",
                    (
                        "the subscriber callback for %s raised; later pushes still come",
                        id,
                    ),
                    Some(&kwargs),
                )?;
                Ok(())
            })();
            if logged.is_err() {
                e.print(py);
            }
        }
    });
}

/// One publisher: `republish(data)` replaces its data, `unregister()` removes it.
#[pyclass(module = "roster", name = "Publisher", frozen)]
pub struct Publisher {
    /// Shared with calls in flight; `None` once unregistered.
    inner: Mutex<Option<Arc<roster_core::Publisher>>>,
    regist_id: String,
    data_info_id: String,
    held: Held,
}

impl Publisher {
    fn handle(&self) -> PyResult<Arc<roster_core::Publisher>> {
        self.inner.lock().clone().ok_or_else(|| {
            errors::ShutDownError::new_err(format!(
                "SHUT_DOWN: publisher {} is unregistered",
                self.regist_id
            ))
        })
    }
}

#[pymethods]
impl Publisher {
    #[getter]
    fn regist_id(&self) -> &str {
        &self.regist_id
    }

    #[getter]
    fn data_info_id(&self) -> &str {
        &self.data_info_id
    }

    /// `(version, data)` as the client holds it, or `None` once unregistered.
    #[getter]
    fn current(&self) -> Option<(u64, Vec<String>)> {
        self.inner.lock().as_ref().and_then(|p| p.current())
    }

    /// Replaces the data (a str or a list of str) under a newer version.
    fn republish(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let data = strings("data", data)?;
        let p = self.handle()?;
        wait(py, async move { p.republish(data).await })?.map_err(to_py)
    }

    /// Removes the publisher; later calls raise `ShutDownError`.
    fn unregister(&self, py: Python<'_>) -> PyResult<()> {
        let Some(p) = self.inner.lock().take() else {
            return Ok(());
        };
        self.held.lock().remove(&self.regist_id);
        match Arc::try_unwrap(p) {
            Ok(p) => wait(py, p.unregister())?.map_err(to_py),
            // A republish on another thread still holds it: it unregisters when that ends.
            Err(_) => Ok(()),
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "Publisher({}, regist_id={:?})",
            self.data_info_id, self.regist_id
        )
    }
}

/// One subscriber: `peek()` reads the latest data, iterating it yields each newer version
/// (blocking), `wait_for()` waits for data that matches.
#[pyclass(module = "roster", name = "Subscriber", frozen)]
pub struct Subscriber {
    /// Shared with calls in flight; `None` once unsubscribed.
    inner: Mutex<Option<Arc<roster_core::Subscriber>>>,
    regist_id: String,
    data_info_id: String,
    held: Held,
}

impl Subscriber {
    fn updates(&self) -> PyResult<roster_core::Updates> {
        self.inner
            .lock()
            .as_ref()
            .map(|s| s.updates())
            .ok_or_else(|| {
                errors::ShutDownError::new_err(format!(
                    "SHUT_DOWN: subscriber {} is unsubscribed",
                    self.regist_id
                ))
            })
    }
}

#[pymethods]
impl Subscriber {
    #[getter]
    fn regist_id(&self) -> &str {
        &self.regist_id
    }

    #[getter]
    fn data_info_id(&self) -> &str {
        &self.data_info_id
    }

    /// The latest data, without waiting; `None` before the first push.
    fn peek(&self) -> Option<SubscriberData> {
        self.inner
            .lock()
            .as_ref()
            .and_then(|s| s.peek())
            .map(SubscriberData)
    }

    /// Waits until the data satisfies `predicate` (any data when `None`) and returns it;
    /// raises `RequestTimeoutError` after `timeout` seconds.
    #[pyo3(signature = (predicate=None, timeout=10.0))]
    fn wait_for(
        &self,
        py: Python<'_>,
        predicate: Option<Py<PyAny>>,
        timeout: f64,
    ) -> PyResult<SubscriberData> {
        let deadline = Instant::now() + seconds("timeout", timeout)?;
        let mut updates = self.updates()?;
        loop {
            let next = wait(py, async {
                tokio::time::timeout_at(deadline.into(), updates.next()).await
            })?;
            let data = match next {
                Ok(Some(d)) => SubscriberData(d),
                Ok(None) => {
                    return Err(errors::ShutDownError::new_err(
                        "SHUT_DOWN: the subscriber was closed while waiting",
                    ))
                }
                Err(_) => {
                    return Err(errors::RequestTimeoutError::new_err(format!(
                        "TIMEOUT: no matching data for {} within {timeout} s; latest: {:?}",
                        self.data_info_id,
                        self.peek().map(|d| d.0)
                    )))
                }
            };
            let data = Py::new(py, data)?;
            let matched = match &predicate {
                None => true,
                Some(p) => p.call1(py, (data.clone_ref(py),))?.is_truthy(py)?,
            };
            if matched {
                return Ok(SubscriberData(data.get().0.clone()));
            }
        }
    }

    /// Unsubscribes; iteration ends.
    fn unsubscribe(&self, py: Python<'_>) -> PyResult<()> {
        let Some(s) = self.inner.lock().take() else {
            return Ok(());
        };
        self.held.lock().remove(&self.regist_id);
        match Arc::try_unwrap(s) {
            Ok(s) => wait(py, s.unsubscribe())?.map_err(to_py),
            Err(_) => Ok(()),
        }
    }

    /// The current data first (if any), then each newer version; ends when unsubscribed.
    fn __iter__(&self) -> PyResult<Updates> {
        Ok(Updates {
            inner: tokio::sync::Mutex::new(self.updates()?),
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "Subscriber({}, regist_id={:?})",
            self.data_info_id, self.regist_id
        )
    }
}

/// Iterator over a subscriber's updates (blocking; coalesced to the newest).
#[pyclass(module = "roster", name = "Updates", frozen)]
pub struct Updates {
    inner: tokio::sync::Mutex<roster_core::Updates>,
}

#[pymethods]
impl Updates {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<SubscriberData> {
        let next = wait(py, async { self.inner.lock().await.next().await })?;
        next.map(SubscriberData)
            .ok_or_else(|| PyStopIteration::new_err(()))
    }
}
