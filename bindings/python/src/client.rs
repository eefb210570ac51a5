//! `Client`, `Publisher` and `Subscriber`: a translation table over the shared binding
//! pieces (`roster_bindings`: options, held handles, the runtime); every behaviour is the
//! core's.

use std::future::Future;
use std::sync::Arc;

use pyo3::exceptions::{PyStopIteration, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use roster_bindings::handles::{ClientHandle, PublisherHandle, SubscriberHandle};
use roster_bindings::names;
use roster_bindings::options::{self, OptionError, Value};
use roster_bindings::registration::{PublishOptions, SubscribeOptions};
use roster_bindings::runtime;
use roster_core::{PublishMode, SubscribeMode};

use crate::asyncio;
use crate::blocking::{seconds, wait};
use crate::data::SubscriberData;
use crate::dispatch;
use crate::errors::to_py;

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

/// A connection to the registry: publish and subscribe. Usable as a context manager;
/// `close()` unregisters everything. A publisher or subscriber lives until
/// `unregister()`/`unsubscribe()` or the client's close, not until its Python object is
/// garbage collected (see `roster_bindings::handles`).
#[pyclass(module = "roster", name = "Client", frozen)]
pub struct Client {
    inner: ClientHandle,
}

fn option_error(e: OptionError) -> PyErr {
    match e {
        OptionError::Type(m) => PyTypeError::new_err(m),
        OptionError::Invalid(e) => to_py(e),
    }
}

#[pymethods]
impl Client {
    #[new]
    #[pyo3(signature = (endpoints, *, app_name=None, zone=None, data_center=None, instance_id=None,
        publish_mode=None, subscribe_mode=None, migration_threshold=None, cache_dir=None,
        request_timeout=None, connect_timeout=None, tls=None, tls_ca_file=None, tls_cert_file=None,
        tls_key_file=None, tls_server_name=None, access_key=None, secret_key=None))]
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
        tls: Option<bool>,
        tls_ca_file: Option<std::path::PathBuf>,
        tls_cert_file: Option<std::path::PathBuf>,
        tls_key_file: Option<std::path::PathBuf>,
        tls_server_name: Option<String>,
        access_key: Option<String>,
        secret_key: Option<String>,
    ) -> PyResult<Self> {
        let path = |p: Option<std::path::PathBuf>| p.map(|p| p.to_string_lossy().into_owned());
        let mut opts = vec![("endpoints", Value::List(strings("endpoints", endpoints)?))];
        let text = [
            ("appName", app_name),
            ("zone", zone),
            ("dataCenter", data_center),
            ("instanceId", instance_id),
            ("publishMode", publish_mode.map(str::to_owned)),
            ("subscribeMode", subscribe_mode.map(str::to_owned)),
            ("cacheDir", path(cache_dir)),
            ("tlsCaFile", path(tls_ca_file)),
            ("tlsCertFile", path(tls_cert_file)),
            ("tlsKeyFile", path(tls_key_file)),
            ("tlsServerName", tls_server_name),
            ("accessKey", access_key),
            ("secretKey", secret_key),
        ];
        opts.extend(
            text.into_iter()
                .filter_map(|(k, v)| Some((k, Value::Str(v?)))),
        );
        if let Some(v) = tls {
            opts.push(("tls", Value::Bool(v)));
        }
        if let Some(v) = migration_threshold {
            opts.push(("migrationThreshold", Value::Num(v)));
        }
        // Python takes seconds; the options are milliseconds.
        for (key, name, v) in [
            ("requestTimeoutMs", "request_timeout", request_timeout),
            ("connectTimeoutMs", "connect_timeout", connect_timeout),
        ] {
            if let Some(v) = v {
                let ms = seconds(name, v)?.as_secs_f64() * 1000.0;
                opts.push((key, Value::Num(ms)));
            }
        }
        let builder = options::builder(opts).map_err(option_error)?;
        // The client starts its connection task on the process's runtime.
        let client = runtime::enter(|| builder.build()).map_err(to_py)?;
        Ok(Client {
            inner: ClientHandle::new(client),
        })
    }

    /// The id that identifies this client's session to the registry.
    #[getter]
    fn client_id(&self) -> &str {
        self.inner.client().client_id()
    }

    #[getter]
    fn is_connected(&self) -> bool {
        self.inner.client().is_connected()
    }

    /// Which registry this client talks to: "roster" or "sofa" (from the endpoints' scheme).
    #[getter]
    fn protocol(&self) -> &'static str {
        self.inner.client().protocol().as_str()
    }

    /// Waits until a session with the registry is up (and every registration redone).
    #[pyo3(signature = (timeout=10.0))]
    fn wait_connected(&self, py: Python<'_>, timeout: f64) -> PyResult<()> {
        wait(py, self.wait_connected_op(timeout)?)?
    }

    #[pyo3(signature = (timeout=10.0))]
    fn wait_connected_async<'py>(
        &self,
        py: Python<'py>,
        timeout: f64,
    ) -> PyResult<Bound<'py, PyAny>> {
        asyncio::future(py, self.wait_connected_op(timeout)?)
    }

    /// The registry nodes this client knows, in the order it tries them.
    fn members(&self) -> Vec<String> {
        self.inner.client().members()
    }

    #[getter]
    fn publish_mode(&self) -> &'static str {
        self.inner.client().publish_mode().as_str()
    }

    /// Switches the publish mode at run time: "interface", "application" or "all".
    fn set_publish_mode(&self, py: Python<'_>, mode: &str) -> PyResult<()> {
        wait(py, self.set_publish_mode_op(mode)?)?
    }

    fn set_publish_mode_async<'py>(
        &self,
        py: Python<'py>,
        mode: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        asyncio::future(py, self.set_publish_mode_op(mode)?)
    }

    #[getter]
    fn subscribe_mode(&self) -> &'static str {
        self.inner.client().subscribe_mode().as_str()
    }

    /// Switches the subscribe mode of every subscription that has none of its own:
    /// "force-interface", "application-first" or "force-application".
    fn set_subscribe_mode(&self, py: Python<'_>, mode: &str) -> PyResult<()> {
        wait(py, self.set_subscribe_mode_op(mode)?)?
    }

    fn set_subscribe_mode_async<'py>(
        &self,
        py: Python<'py>,
        mode: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        asyncio::future(py, self.set_subscribe_mode_op(mode)?)
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
        wait(py, self.publish_op(data_id, data, group, instance_id)?)?
    }

    #[pyo3(signature = (data_id, data, *, group=None, instance_id=None))]
    fn publish_async<'py>(
        &self,
        py: Python<'py>,
        data_id: String,
        data: &Bound<'_, PyAny>,
        group: Option<String>,
        instance_id: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        asyncio::future(py, self.publish_op(data_id, data, group, instance_id)?)
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
        let op = self.subscribe_op(py, data_id, callback, scope, group, instance_id, mode)?;
        wait(py, op)?
    }

    #[pyo3(signature = (data_id, callback=None, *, scope="zone", group=None, instance_id=None, mode=None))]
    #[allow(clippy::too_many_arguments)]
    fn subscribe_async<'py>(
        &self,
        py: Python<'py>,
        data_id: String,
        callback: Option<Py<PyAny>>,
        scope: &str,
        group: Option<String>,
        instance_id: Option<String>,
        mode: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let op = self.subscribe_op(py, data_id, callback, scope, group, instance_id, mode)?;
        asyncio::future(py, op)
    }

    /// Unregisters everything and closes the session.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        wait(py, self.close_op())?
    }

    fn close_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        asyncio::future(py, self.close_op())
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
            self.inner.client().client_id(),
            self.inner.client().is_connected()
        )
    }
}

/// Each operation as one `'static` future, run either blocking (`wait`) or as an asyncio
/// future (`asyncio::future`).
impl Client {
    fn wait_connected_op(
        &self,
        timeout: f64,
    ) -> PyResult<impl Future<Output = PyResult<()>> + Send + 'static> {
        let t = seconds("timeout", timeout)?;
        let c = self.inner.client().clone();
        Ok(async move { c.wait_connected(t).await.map_err(to_py) })
    }

    fn set_publish_mode_op(
        &self,
        mode: &str,
    ) -> PyResult<impl Future<Output = PyResult<()>> + Send + 'static> {
        let mode = parse::<PublishMode>(mode)?;
        let c = self.inner.client().clone();
        Ok(async move { c.set_publish_mode(mode).await.map_err(to_py) })
    }

    fn set_subscribe_mode_op(
        &self,
        mode: &str,
    ) -> PyResult<impl Future<Output = PyResult<()>> + Send + 'static> {
        let mode = parse::<SubscribeMode>(mode)?;
        let c = self.inner.client().clone();
        Ok(async move { c.set_subscribe_mode(mode).await.map_err(to_py) })
    }

    fn publish_op(
        &self,
        data_id: String,
        data: &Bound<'_, PyAny>,
        group: Option<String>,
        instance_id: Option<String>,
    ) -> PyResult<impl Future<Output = PyResult<Publisher>> + Send + 'static> {
        let options = PublishOptions { group, instance_id };
        let publishing = self.inner.publish(data_id, strings("data", data)?, options);
        Ok(async move { Ok(Publisher(publishing.await.map_err(to_py)?)) })
    }

    #[allow(clippy::too_many_arguments)]
    fn subscribe_op(
        &self,
        py: Python<'_>,
        data_id: String,
        callback: Option<Py<PyAny>>,
        scope: &str,
        group: Option<String>,
        instance_id: Option<String>,
        mode: Option<&str>,
    ) -> PyResult<impl Future<Output = PyResult<Subscriber>> + Send + 'static> {
        let options =
            SubscribeOptions::parse(Some(scope), group, instance_id, mode).map_err(to_py)?;
        if callback
            .as_ref()
            .is_some_and(|cb| !cb.bind(py).is_callable())
        {
            return Err(PyTypeError::new_err("callback must be callable"));
        }
        let callback: Option<roster_core::Callback> = callback.map(|cb| {
            let cb = Arc::new(cb);
            Arc::new(move |d| dispatch::deliver(&cb, d)) as roster_core::Callback
        });
        let subscribing = self.inner.subscribe(data_id, options, callback);
        Ok(async move { Ok(Subscriber(subscribing.await.map_err(to_py)?)) })
    }

    fn close_op(&self) -> impl Future<Output = PyResult<()>> + Send + 'static {
        let closing = self.inner.close();
        async move {
            closing.await;
            Ok(())
        }
    }
}

/// One publisher: `republish(data)` replaces its data, `unregister()` removes it.
#[pyclass(module = "roster", name = "Publisher", frozen)]
pub struct Publisher(PublisherHandle);

impl Publisher {
    fn republish_op(
        &self,
        data: &Bound<'_, PyAny>,
    ) -> PyResult<impl Future<Output = PyResult<()>> + Send + 'static> {
        let republishing = self.0.republish(strings("data", data)?).map_err(to_py)?;
        Ok(async move { republishing.await.map_err(to_py) })
    }

    fn unregister_op(&self) -> impl Future<Output = PyResult<()>> + Send + 'static {
        let unregistering = self.0.unregister();
        async move { unregistering.await.map_err(to_py) }
    }
}

#[pymethods]
impl Publisher {
    #[getter]
    fn regist_id(&self) -> &str {
        self.0.regist_id()
    }

    #[getter]
    fn data_info_id(&self) -> &str {
        self.0.data_info_id()
    }

    /// `(version, data)` as the client holds it, or `None` once unregistered.
    #[getter]
    fn current(&self) -> Option<(u64, Vec<String>)> {
        self.0.current()
    }

    /// Replaces the data (a str or a list of str) under a newer version.
    fn republish(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        wait(py, self.republish_op(data)?)?
    }

    fn republish_async<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'_, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        asyncio::future(py, self.republish_op(data)?)
    }

    /// Removes the publisher; later calls raise `ShutDownError`.
    fn unregister(&self, py: Python<'_>) -> PyResult<()> {
        wait(py, self.unregister_op())?
    }

    fn unregister_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        asyncio::future(py, self.unregister_op())
    }

    fn __repr__(&self) -> String {
        format!(
            "Publisher({}, regist_id={:?})",
            self.0.data_info_id(),
            self.0.regist_id()
        )
    }
}

/// One subscriber: `peek()` reads the latest data, iterating it yields each newer version
/// (blocking), `wait_for()` waits for data that matches.
#[pyclass(module = "roster", name = "Subscriber", frozen)]
pub struct Subscriber(SubscriberHandle);

impl Subscriber {
    fn set_mode_op(
        &self,
        mode: Option<&str>,
    ) -> PyResult<impl Future<Output = PyResult<()>> + Send + 'static> {
        let mode = mode.map(parse::<SubscribeMode>).transpose()?;
        let setting = self.0.set_mode(mode).map_err(to_py)?;
        Ok(async move { setting.await.map_err(to_py) })
    }

    fn unsubscribe_op(&self) -> impl Future<Output = PyResult<()>> + Send + 'static {
        let unsubscribing = self.0.unsubscribe();
        async move { unsubscribing.await.map_err(to_py) }
    }

    fn updates(&self) -> PyResult<roster_core::Updates> {
        self.0.updates().map_err(to_py)
    }
}

#[pymethods]
impl Subscriber {
    #[getter]
    fn regist_id(&self) -> &str {
        self.0.regist_id()
    }

    #[getter]
    fn data_info_id(&self) -> &str {
        self.0.data_info_id()
    }

    /// The latest data, without waiting; `None` before the first push.
    fn peek(&self) -> Option<SubscriberData> {
        self.0.peek().map(SubscriberData)
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
        let waiting = self.wait(timeout)?;
        loop {
            let data = Py::new(py, waiting.next(py)?)?;
            let matched = match &predicate {
                None => true,
                Some(p) => p.call1(py, (data.clone_ref(py),))?.is_truthy(py)?,
            };
            if matched {
                return Ok(SubscriberData(data.get().0.clone()));
            }
        }
    }

    /// A wait for data whose test runs here (what `wait_for` and the asyncio client's use):
    /// `next()` / `next_async()` give the data to test, the current data first; they raise
    /// `RequestTimeoutError` once `timeout` seconds have passed, `ShutDownError` once
    /// unsubscribed.
    #[pyo3(signature = (timeout=10.0))]
    fn wait(&self, timeout: f64) -> PyResult<Wait> {
        let w = self.0.wait(seconds("timeout", timeout)?).map_err(to_py)?;
        Ok(Wait(Arc::new(tokio::sync::Mutex::new(w))))
    }

    /// The subscribe mode in effect: its own, or else the client's.
    #[getter]
    fn mode(&self) -> PyResult<&'static str> {
        Ok(self.0.mode().map_err(to_py)?.as_str())
    }

    /// Where the migration stands: `{"status": "force-interface" | "application-first" |
    /// "force-application"}`, or `{"status": "pending", "application": n, "interface": m}`
    /// while a move to force-application waits for the application level to hold the
    /// threshold share of the interface level.
    #[getter]
    fn migration_status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let out = PyDict::new(py);
        let (status, counts) = names::migration_status(self.0.migration_status().map_err(to_py)?);
        out.set_item("status", status)?;
        if let Some((application, interface)) = counts {
            out.set_item("application", application)?;
            out.set_item("interface", interface)?;
        }
        Ok(out)
    }

    /// Switches this subscription's mode (`None`: follow the client's) without
    /// resubscribing; the data keeps flowing to the same iteration and callback.
    #[pyo3(signature = (mode))]
    fn set_mode(&self, py: Python<'_>, mode: Option<&str>) -> PyResult<()> {
        wait(py, self.set_mode_op(mode)?)?
    }

    #[pyo3(signature = (mode))]
    fn set_mode_async<'py>(
        &self,
        py: Python<'py>,
        mode: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        asyncio::future(py, self.set_mode_op(mode)?)
    }

    /// Unsubscribes; iteration ends.
    fn unsubscribe(&self, py: Python<'_>) -> PyResult<()> {
        wait(py, self.unsubscribe_op())?
    }

    fn unsubscribe_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        asyncio::future(py, self.unsubscribe_op())
    }

    /// The current data first (if any), then each newer version; ends when unsubscribed.
    fn __iter__(&self) -> PyResult<Updates> {
        Ok(Updates {
            inner: Arc::new(tokio::sync::Mutex::new(self.updates()?)),
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "Subscriber({}, regist_id={:?})",
            self.0.data_info_id(),
            self.0.regist_id()
        )
    }
}

/// A wait for data: see `Subscriber.wait`.
#[pyclass(module = "roster", name = "Wait", frozen)]
pub struct Wait(Arc<tokio::sync::Mutex<roster_core::Wait>>);

#[pymethods]
impl Wait {
    /// The next data to test (blocking).
    fn next(&self, py: Python<'_>) -> PyResult<SubscriberData> {
        let next = wait(py, async { self.0.lock().await.next().await })?;
        Ok(SubscriberData(next.map_err(to_py)?))
    }

    /// The next data to test, as an asyncio future.
    fn next_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let w = self.0.clone();
        asyncio::future(py, async move {
            let next = w.lock().await.next().await;
            Ok(SubscriberData(next.map_err(to_py)?))
        })
    }
}

/// Iterator over a subscriber's updates (blocking; coalesced to the newest).
#[pyclass(module = "roster", name = "Updates", frozen)]
pub struct Updates {
    inner: Arc<tokio::sync::Mutex<roster_core::Updates>>,
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

    /// The next update as an asyncio future: `SubscriberData`, or `None` at the end.
    fn next_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let inner = self.inner.clone();
        asyncio::future(py, async move {
            Ok(inner.lock().await.next().await.map(SubscriberData))
        })
    }
}
