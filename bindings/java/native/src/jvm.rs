//! The JVM side: the classes and method ids cached when the library loads (so native threads,
//! whose class loader is the system one, never look classes up), and the one dispatcher thread
//! that calls into Java, attached as a daemon so it never keeps the JVM alive.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use jni::errors::Result;
use jni::ids::{JMethodID, JStaticMethodID};
use jni::objects::{JClass, JObject};
use jni::refs::Global;
use jni::{jni_sig, jni_str, Env, JNIVersion, JavaVM};
use roster_bindings::dispatch::{Dispatcher, Job};

pub(crate) struct Cache {
    pub dispatch: Global<JClass<'static>>,
    pub deliver: JStaticMethodID,
    pub log: JStaticMethodID,
    pub roster_exception: Global<JClass<'static>>,
    pub illegal_argument: Global<JClass<'static>>,
    pub data: Global<JClass<'static>>,
    pub data_new: JMethodID,
    pub string: Global<JClass<'static>>,
    pub string_array: Global<JClass<'static>>,
    pub number: Global<JClass<'static>>,
    pub double_value: JMethodID,
    pub boolean: Global<JClass<'static>>,
    pub boolean_value: JMethodID,
    pub long: Global<JClass<'static>>,
    pub long_value_of: JStaticMethodID,
    pub complete: JMethodID,
    pub complete_exceptionally: JMethodID,
}

static CACHE: OnceLock<Cache> = OnceLock::new();
static VM: OnceLock<JavaVM> = OnceLock::new();
/// Set by the JVM's shutdown hook: nothing calls into Java any more, and global references
/// still around are leaked rather than deleted in a JVM that is going away.
static SHUTTING_DOWN: AtomicBool = AtomicBool::new(false);

pub(crate) fn cache() -> &'static Cache {
    CACHE.get().expect("JNI_OnLoad ran")
}

pub(crate) fn shutting_down() -> bool {
    SHUTTING_DOWN.load(Ordering::SeqCst)
}

pub(crate) fn shut_down() {
    SHUTTING_DOWN.store(true, Ordering::SeqCst);
}

fn global_class(env: &mut Env, name: &jni::strings::JNIStr) -> Result<Global<JClass<'static>>> {
    let class = env.find_class(name)?;
    env.new_global_ref(&class)
}

fn load(env: &mut Env) -> Result<Cache> {
    let dispatch = global_class(env, jni_str!("dev/roster/Dispatch"))?;
    let deliver = env.get_static_method_id(
        &dispatch,
        jni_str!("deliver"),
        jni_sig!("(Ljava/lang/Object;Ldev/roster/SubscriberData;)V"),
    )?;
    let log = env.get_static_method_id(
        &dispatch,
        jni_str!("log"),
        jni_sig!("(ILjava/lang/String;Ljava/lang/String;)V"),
    )?;
    let roster_exception = global_class(env, jni_str!("dev/roster/RosterException"))?;
    let illegal_argument = global_class(env, jni_str!("java/lang/IllegalArgumentException"))?;
    let data = global_class(env, jni_str!("dev/roster/SubscriberData"))?;
    let data_new = env.get_method_id(
        &data,
        jni_str!("<init>"),
        jni_sig!("(Ljava/lang/String;Ljava/lang/String;JLjava/lang/String;Z[Ljava/lang/String;[[Ljava/lang/String;[Ljava/lang/String;[Ljava/lang/String;)V"),
    )?;
    let string = global_class(env, jni_str!("java/lang/String"))?;
    let string_array = global_class(env, jni_str!("[Ljava/lang/String;"))?;
    let number = global_class(env, jni_str!("java/lang/Number"))?;
    let double_value = env.get_method_id(&number, jni_str!("doubleValue"), jni_sig!("()D"))?;
    let boolean = global_class(env, jni_str!("java/lang/Boolean"))?;
    let boolean_value = env.get_method_id(&boolean, jni_str!("booleanValue"), jni_sig!("()Z"))?;
    let long = global_class(env, jni_str!("java/lang/Long"))?;
    let long_value_of =
        env.get_static_method_id(&long, jni_str!("valueOf"), jni_sig!("(J)Ljava/lang/Long;"))?;
    let future = env.find_class(jni_str!("java/util/concurrent/CompletableFuture"))?;
    let complete = env.get_method_id(
        &future,
        jni_str!("complete"),
        jni_sig!("(Ljava/lang/Object;)Z"),
    )?;
    let complete_exceptionally = env.get_method_id(
        &future,
        jni_str!("completeExceptionally"),
        jni_sig!("(Ljava/lang/Throwable;)Z"),
    )?;
    Ok(Cache {
        dispatch,
        deliver,
        log,
        roster_exception,
        illegal_argument,
        data,
        data_new,
        string,
        string_array,
        number,
        double_value,
        boolean,
        boolean_value,
        long,
        long_value_of,
        complete,
        complete_exceptionally,
    })
}

/// Runs when `System.load` loads the library, on a thread whose class loader sees
/// `dev.roster`: the classes are looked up here, once.
#[unsafe(no_mangle)]
pub extern "system" fn JNI_OnLoad(
    vm: *mut jni::sys::JavaVM,
    _reserved: *mut std::ffi::c_void,
) -> jni::sys::jint {
    let loaded = std::panic::catch_unwind(|| -> Result<()> {
        // SAFETY: the pointer is the JVM that is loading this library.
        let vm = unsafe { JavaVM::from_raw(vm) };
        let cache = vm.attach_current_thread(load)?;
        let _ = CACHE.set(cache);
        let _ = VM.set(vm);
        Ok(())
    });
    match loaded {
        Ok(Ok(())) => JNIVersion::V1_8.into(),
        _ => jni::sys::JNI_ERR,
    }
}

thread_local! {
    static ATTACHED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Attaches the dispatcher thread as a daemon (once), so it never keeps the JVM alive.
fn attach_as_daemon(vm: &JavaVM) -> bool {
    if ATTACHED.with(|a| a.get()) {
        return true;
    }
    let raw = vm.get_raw();
    let mut env: *mut std::ffi::c_void = std::ptr::null_mut();
    // The name Java code sees (Thread.currentThread().getName()) in listeners.
    let mut args = jni::sys::JavaVMAttachArgs {
        version: jni::sys::JNI_VERSION_1_8,
        name: c"roster-java-dispatch".as_ptr().cast_mut(),
        group: std::ptr::null_mut(),
    };
    // SAFETY: `raw` is a live JavaVM; AttachCurrentThreadAsDaemon fills `env` and only reads
    // `args` (the name is copied).
    let rc = unsafe {
        ((**raw).v1_4.AttachCurrentThreadAsDaemon)(raw, &mut env, (&raw mut args).cast())
    };
    let ok = rc == jni::sys::JNI_OK;
    ATTACHED.with(|a| a.set(ok));
    ok
}

fn batch(next: &mut dyn FnMut() -> bool) {
    let Some(vm) = VM.get() else { return };
    if shutting_down() || !attach_as_daemon(vm) {
        return; // the jobs are dropped: waiters are released
    }
    while next() {}
}

/// The dispatcher thread: every call into Java runs here (listeners, futures, logs).
pub(crate) static DISPATCHER: Dispatcher = Dispatcher::new("roster-java-dispatch", batch);

/// Runs `f` with a JNIEnv on the dispatcher thread (in a local frame of its own, so local
/// references never pile up on a thread that never returns to Java). A Java exception left
/// pending is printed and cleared.
pub(crate) fn java(f: impl FnOnce(&mut Env) -> Result<()>) {
    let Some(vm) = VM.get() else { return };
    if shutting_down() {
        return;
    }
    if let Err(e) = vm.attach_current_thread(|env| -> Result<()> {
        let out = f(env);
        if env.exception_check() {
            env.exception_describe();
            env.exception_clear();
        }
        out
    }) {
        tracing::debug!("a call into Java failed: {e}");
    }
}

/// Queues `f` to run on the dispatcher thread.
pub(crate) fn submit(f: impl FnOnce(&mut Env) -> Result<()> + Send + 'static) {
    let job: Job = Box::new(move || java(f));
    DISPATCHER.submit(job);
}

/// A global reference that is deleted on the dispatcher thread (deleting it on a thread the
/// JVM does not know would attach that thread), and leaked once the JVM is shutting down.
pub(crate) struct JavaRef(Option<Global<JObject<'static>>>);

impl JavaRef {
    pub fn new(env: &mut Env, obj: &JObject) -> Result<JavaRef> {
        Ok(JavaRef(Some(env.new_global_ref(obj)?)))
    }

    pub fn get(&self) -> &Global<JObject<'static>> {
        self.0.as_ref().expect("present until dropped")
    }
}

impl Drop for JavaRef {
    fn drop(&mut self) {
        let Some(global) = self.0.take() else { return };
        if shutting_down() {
            std::mem::forget(global);
            return;
        }
        // Leaked unless the job runs (a job dropped unrun must not delete it elsewhere).
        let global = std::mem::ManuallyDrop::new(global);
        let job: Job = Box::new(move || {
            let global = std::mem::ManuallyDrop::into_inner(global);
            if shutting_down() {
                std::mem::forget(global);
            } else {
                drop(global);
            }
        });
        DISPATCHER.submit(job);
    }
}
