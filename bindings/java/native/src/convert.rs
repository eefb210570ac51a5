//! Java values in and out.

use std::sync::Arc;

use jni::errors::{Error as JniError, Result};
use jni::objects::{JObject, JObjectArray, JString, JValue};
use jni::refs::Reference as _;
use jni::signature::{Primitive, ReturnType};
use jni::Env;
use roster_bindings::options::Value;
use roster_core::SubscriberData;

use crate::jvm::cache;

fn len(n: usize) -> Result<jni::sys::jsize> {
    jni::sys::jsize::try_from(n).map_err(|_| JniError::WrongObjectType)
}

/// A Java `String` (null: `None`).
pub(crate) fn string(env: &mut Env, s: &JString) -> Result<Option<String>> {
    if s.is_null() {
        return Ok(None);
    }
    Ok(Some(s.try_to_string(env)?))
}

/// A Java `String[]` as strings (the Java side refuses null elements; one read here is empty).
pub(crate) fn strings(env: &mut Env, a: &JObjectArray<JString>) -> Result<Vec<String>> {
    let n = a.len(env)?;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        env.with_local_frame(4, |env| -> Result<()> {
            let s = a.get_element(env, i)?;
            out.push(if s.is_null() {
                String::new()
            } else {
                s.try_to_string(env)?
            });
            Ok(())
        })?;
    }
    Ok(out)
}

/// A `String[]` from strings.
pub(crate) fn string_array<'local, I>(
    env: &mut Env<'local>,
    items: I,
) -> Result<JObjectArray<'local, JString<'local>>>
where
    I: IntoIterator,
    I::IntoIter: ExactSizeIterator,
    I::Item: AsRef<str>,
{
    let items = items.into_iter();
    let array = JObjectArray::<JString>::new(env, items.len(), JString::default())?;
    for (i, item) in items.enumerate() {
        let s = JString::from_str(env, item.as_ref())?;
        array.set_element(env, i, &s)?;
        env.delete_local_ref(s);
    }
    Ok(array)
}

/// One option value: a `String`, a `String[]`, a `Number` or a `Boolean`.
pub(crate) fn option_value(env: &mut Env, o: &JObject) -> Result<Option<Value>> {
    let c = cache();
    if o.is_null() {
        return Ok(None);
    }
    if env.is_instance_of(o, &c.string)? {
        let s = env.as_cast::<JString>(o)?;
        return Ok(Some(Value::Str(s.try_to_string(env)?)));
    }
    if env.is_instance_of(o, &c.string_array)? {
        let a = env.as_cast::<JObjectArray<JString>>(o)?;
        return Ok(Some(Value::List(strings(env, &a)?)));
    }
    if env.is_instance_of(o, &c.number)? {
        // SAFETY: `double_value` is Number.doubleValue()D and `o` is a Number.
        let d = unsafe {
            env.call_method_unchecked(
                o,
                c.double_value,
                ReturnType::Primitive(Primitive::Double),
                &[],
            )
        }?
        .d()?;
        return Ok(Some(Value::Num(d)));
    }
    if env.is_instance_of(o, &c.boolean)? {
        // SAFETY: `boolean_value` is Boolean.booleanValue()Z and `o` is a Boolean.
        let b = unsafe {
            env.call_method_unchecked(
                o,
                c.boolean_value,
                ReturnType::Primitive(Primitive::Boolean),
                &[],
            )
        }?
        .z()?;
        return Ok(Some(Value::Bool(b)));
    }
    Err(JniError::WrongObjectType)
}

/// A `dev.roster.SubscriberData`.
pub(crate) fn data<'local>(
    env: &mut Env<'local>,
    d: &Arc<SubscriberData>,
) -> Result<JObject<'local>> {
    let c = cache();
    let info = JString::from_str(env, d.data_info_id.to_string())?;
    let id = JString::from_str(env, &d.data_info_id.data_id)?;
    let scope = JString::from_str(env, d.scope.as_str())?;
    let names: Vec<String> = d.zones.keys().cloned().collect();
    let zone_names = string_array(env, &names)?;
    let zone_items = env.new_object_array(len(d.zones.len())?, &c.string_array, JObject::null())?;
    for (i, items) in d.zones.values().enumerate() {
        let a = string_array(env, items)?;
        zone_items.set_element(env, i, &a)?;
        env.delete_local_ref(a);
    }
    let added: Vec<String> = d.added().map(str::to_owned).collect();
    let added = string_array(env, &added)?;
    let removed = string_array(env, d.removed())?;
    // SAFETY: `data_new` is SubscriberData's constructor with exactly these argument types.
    unsafe {
        env.new_object_unchecked(
            &c.data,
            c.data_new,
            &[
                JValue::Object(&info).as_jni(),
                JValue::Object(&id).as_jni(),
                JValue::Long(i64::try_from(d.version).unwrap_or(i64::MAX)).as_jni(),
                JValue::Object(&scope).as_jni(),
                JValue::Bool(d.from_cache).as_jni(),
                JValue::Object(&zone_names).as_jni(),
                JValue::Object(&zone_items).as_jni(),
                JValue::Object(&added).as_jni(),
                JValue::Object(&removed).as_jni(),
            ],
        )
    }
}

/// The exception for a core error, its message the core's (`CODE: ...`): a bad argument is an
/// `IllegalArgumentException`, as Java code expects; every other kind a `RosterException`.
pub(crate) fn exception<'local>(
    env: &mut Env<'local>,
    e: &roster_core::Error,
) -> Result<JObject<'local>> {
    let c = cache();
    let class = match e.kind() {
        roster_core::ErrorKind::InvalidArgument => &c.illegal_argument,
        _ => &c.roster_exception,
    };
    let message = JString::from_str(env, e.to_string())?;
    env.new_object(
        class,
        jni::jni_sig!("(Ljava/lang/String;)V"),
        &[JValue::Object(&message)],
    )
}
