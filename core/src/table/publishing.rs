//! Publish modes: which of this client's publishers the registry holds at interface level
//! and which it gets as one application publisher plus revision metadata.
//!
//! The user always publishes per interface. In `application` and `all` mode the table
//! converts every publisher whose items are service URLs into the instance's revision
//! metadata and one application publisher (dataId = appName, group `SOFA_APP`); in
//! `application` mode those interface publishers are then not sent at all. Every change
//! of the interface publishers recomputes the conversion, registers a new revision when
//! the metadata changed, and republishes the application publisher.
//!
//! A change of level sends every addition before any removal: the revision and the
//! application publisher are registered before the interface publishers they replace are
//! withdrawn (and the other way round), so no subscriber, whatever its mode, sees the
//! provider missing in between.

use std::sync::Arc;

use roster_proto::appmeta::{self, AppMetadata, ServiceUrl};

use super::{Entry, Table};
use crate::model::{DataInfoId, PublishMode};
use crate::transport::{Op, Reg};

/// The client's one application publisher.
pub(crate) struct AppPublisher {
    app_name: String,
    key: DataInfoId,
    regist_id: Arc<str>,
    version: u64,
    /// Whether the registry holds it (as far as this client has sent).
    live: bool,
    items: Vec<String>,
    revision: Option<Arc<AppMetadata>>,
}

impl AppPublisher {
    pub fn new(app_name: &str, instance_id: &str, client_id: &str) -> AppPublisher {
        AppPublisher {
            app_name: app_name.to_owned(),
            key: DataInfoId {
                data_id: app_name.to_owned(),
                group: appmeta::APP_GROUP.into(),
                instance_id: instance_id.to_owned(),
            },
            regist_id: format!("{client_id}#app").into(),
            version: 0,
            live: false,
            items: Vec::new(),
            revision: None,
        }
    }

    fn reg(&self) -> Reg {
        Reg {
            regist_id: self.regist_id.clone(),
            key: self.key.clone(),
            version: self.version,
        }
    }

    fn publish(&self) -> Op {
        Op::Publish {
            reg: self.reg(),
            data: self.items.clone(),
        }
    }

    /// Takes it down (the next version).
    fn retire(&mut self) -> Option<Op> {
        self.live.then(|| {
            self.live = false;
            self.version += 1;
            self.items.clear();
            self.revision = None;
            Op::Unpublish { reg: self.reg() }
        })
    }
}

/// The ops in their order, but every removal after every addition (a stable sort): the
/// registry holds the provider at its new level before it lets go of the old one.
fn additions_first(mut ops: Vec<Op>) -> Vec<Op> {
    ops.sort_by_key(Op::is_removal);
    ops
}

/// True when every item is a service URL, so the publisher can live at application level.
fn convertible(data: &[String]) -> bool {
    data.iter().all(|d| ServiceUrl::parse(d).is_ok())
}

/// Whether the registry should hold this publisher at interface level.
fn at_interface_level(mode: PublishMode, data: &[String]) -> bool {
    mode != PublishMode::Application || !convertible(data)
}

impl Entry {
    /// Puts a publisher at the level `mode` wants it: at interface level (registered), or
    /// not (removed at the next version). `changed`: its data just changed under a new
    /// version, which is sent even if the level stays.
    fn place(&mut self, id: &Arc<str>, mode: PublishMode, changed: bool) -> Option<Op> {
        let Entry::Publisher {
            key,
            version,
            data,
            on_server,
        } = self
        else {
            return None;
        };
        match (at_interface_level(mode, data), *on_server) {
            (true, true) if !changed => None,
            (true, was) => {
                if !was && !changed {
                    *version += 1;
                }
                *on_server = true;
                Some(self.op(id))
            }
            (false, true) => {
                *version += 1;
                *on_server = false;
                Some(Op::Unpublish {
                    reg: Entry::reg(id, key, *version),
                })
            }
            (false, false) => None,
        }
    }
}

impl Table {
    pub fn publish_mode(&self) -> PublishMode {
        self.publish_mode
    }

    /// Moves every publisher to the level `mode` asks for (a provider's migration step).
    pub fn set_publish_mode(&mut self, mode: PublishMode) -> Vec<Op> {
        self.publish_mode = mode;
        let mut ops: Vec<Op> = self
            .regs
            .iter_mut()
            .filter_map(|(id, entry)| entry.place(id, mode, false))
            .collect();
        ops.extend(self.sync_app());
        additions_first(ops)
    }

    /// Brings the registry in line after publisher `id` was added or its data changed
    /// (its version already set by the caller).
    pub(super) fn sync_publisher(&mut self, id: &Arc<str>) -> Vec<Op> {
        let mode = self.publish_mode;
        let mut ops: Vec<Op> = self
            .regs
            .get_mut(id)
            .and_then(|entry| entry.place(id, mode, true))
            .into_iter()
            .collect();
        ops.extend(self.sync_app());
        additions_first(ops)
    }

    /// Recomputes the application publisher from the interface publishers and returns
    /// what changed: first a new revision, then the publisher (or its removal).
    pub(super) fn sync_app(&mut self) -> Vec<Op> {
        let target = if self.publish_mode == PublishMode::Interface {
            None
        } else {
            let services: Vec<(String, ServiceUrl)> = self
                .regs
                .values()
                .filter_map(|e| match e {
                    Entry::Publisher { key, data, .. } if convertible(data) => Some((key, data)),
                    _ => None,
                })
                .flat_map(|(key, data)| {
                    let interface = key.to_string();
                    data.iter().filter_map(move |d| {
                        ServiceUrl::parse(d).ok().map(|u| (interface.clone(), u))
                    })
                })
                .collect();
            appmeta::instance_from_services(&self.app.app_name, &services)
        };
        let app = &mut self.app;
        let Some(instance) = target else {
            return app.retire().into_iter().collect();
        };
        let mut ops = Vec::new();
        if app.revision.as_ref().map(|m| &m.revision) != Some(&instance.metadata.revision) {
            let meta = Arc::new(instance.metadata);
            ops.push(Op::RegisterRevision(meta.clone()));
            app.revision = Some(meta);
        }
        if !app.live || app.items != instance.items {
            app.version += 1;
            app.live = true;
            app.items = instance.items;
            ops.push(app.publish());
        }
        ops
    }

    /// What a redo re-sends for application-level publishing: the revision, then the
    /// application publisher.
    pub(super) fn app_redo(&self) -> Vec<Op> {
        match (&self.app.revision, self.app.live) {
            (Some(meta), true) => vec![Op::RegisterRevision(meta.clone()), self.app.publish()],
            _ => Vec::new(),
        }
    }

    /// The removal of the application publisher on close, if it is live.
    pub(super) fn app_close(&mut self) -> Option<Op> {
        self.app.retire()
    }
}
