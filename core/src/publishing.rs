//! Publish modes: which of this client's publishers the registry holds at interface level
//! and which it gets as one application publisher plus revision metadata.
//!
//! The user always publishes per interface. In `application` and `all` mode the core
//! converts every publisher whose items are service URLs into the instance's revision
//! metadata and one application publisher (dataId = appName, group `SOFA_APP`); in
//! `application` mode those interface publishers are then not sent at all. Every change
//! of the interface publishers recomputes the conversion, registers a new revision when
//! the metadata changed, and republishes the application publisher.

use std::sync::Arc;

use roster_proto::appmeta::{self, AppMetadata, ServiceUrl};
use roster_proto::v1::{self, client_frame::Body};

use crate::client::{Entry, Inner, State, Waiting};
use crate::model::{DataInfoId, PublishMode};

/// The client's one application publisher.
#[derive(Default)]
pub(crate) struct AppPublisher {
    pub version: u64,
    /// Whether the registry holds it (as far as this client has sent).
    pub live: bool,
    pub items: Vec<String>,
    pub revision: Option<AppMetadata>,
}

/// True when every item is a service URL, so the publisher can live at application level.
fn convertible(data: &[String]) -> bool {
    data.iter().all(|d| ServiceUrl::parse(d).is_ok())
}

/// Whether the registry should hold this publisher at interface level.
fn at_interface_level(mode: PublishMode, data: &[String]) -> bool {
    mode != PublishMode::Application || !convertible(data)
}

impl Inner {
    pub(crate) fn app_key(&self) -> DataInfoId {
        DataInfoId {
            data_id: self.config.app_name.clone(),
            group: appmeta::APP_GROUP.into(),
            instance_id: self.config.instance_id.clone(),
        }
    }

    fn app_regist_id(&self) -> String {
        format!("{}#app", self.client_id)
    }

    /// Brings the registry in line after publisher `id` was added or changed (its version
    /// already bumped by the caller). Returns the frames to wait for.
    pub(crate) fn sync_publisher(&self, st: &mut State, id: &Arc<str>) -> Vec<Waiting> {
        let mode = st.publish_mode;
        let mut waits = Vec::new();
        let body = match st.regs.get_mut(id) {
            Some(entry @ Entry::Publisher { .. }) => {
                let Entry::Publisher {
                    data,
                    version,
                    on_server,
                    ..
                } = &mut *entry
                else {
                    unreachable!("matched above")
                };
                if at_interface_level(mode, data) {
                    *on_server = true;
                    Some(entry.frame(id))
                } else if *on_server {
                    *version += 1;
                    *on_server = false;
                    Some(unregister(id, *version))
                } else {
                    None
                }
            }
            _ => None,
        };
        waits.extend(body.and_then(|b| self.send_locked(st, b, true)));
        waits.extend(self.sync_app(st));
        waits
    }

    /// After the publish mode changed: moves every publisher to the level it now belongs.
    pub(crate) fn sync_all_publishers(&self, st: &mut State) -> Vec<Waiting> {
        let mode = st.publish_mode;
        let mut bodies = Vec::new();
        for (id, entry) in st.regs.iter_mut() {
            if let Entry::Publisher {
                data,
                version,
                on_server,
                ..
            } = entry
            {
                let want = at_interface_level(mode, data);
                if want != *on_server {
                    *version += 1;
                    *on_server = want;
                    bodies.push(if want {
                        entry.frame(id)
                    } else {
                        unregister(id, *version)
                    });
                }
            }
        }
        let mut waits: Vec<Waiting> = bodies
            .into_iter()
            .filter_map(|b| self.send_locked(st, b, true))
            .collect();
        waits.extend(self.sync_app(st));
        waits
    }

    /// Recomputes the application publisher from the interface publishers and sends what
    /// changed: first a new revision, then the publisher (or its removal).
    pub(crate) fn sync_app(&self, st: &mut State) -> Vec<Waiting> {
        let target = if st.publish_mode == PublishMode::Interface {
            None
        } else {
            let services: Vec<(String, ServiceUrl)> = st
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
            appmeta::instance_from_services(&self.config.app_name, &services)
        };
        let mut bodies = Vec::new();
        let app = &mut st.app;
        match target {
            None if app.live => {
                app.version += 1;
                app.live = false;
                app.items.clear();
                app.revision = None;
                bodies.push(unregister(&self.app_regist_id(), app.version));
            }
            None => {}
            Some(instance) => {
                if app.revision.as_ref().map(|m| &m.revision) != Some(&instance.metadata.revision) {
                    bodies.push(Body::RegisterRevision(v1::RegisterRevision {
                        revision: Some((&instance.metadata).into()),
                    }));
                    app.revision = Some(instance.metadata);
                }
                if !app.live || app.items != instance.items {
                    app.version += 1;
                    app.live = true;
                    app.items = instance.items;
                    bodies.push(self.app_publish_frame(app));
                }
            }
        }
        bodies
            .into_iter()
            .filter_map(|b| self.send_locked(st, b, true))
            .collect()
    }

    fn app_publish_frame(&self, app: &AppPublisher) -> Body {
        Body::Publish(v1::Publish {
            regist_id: self.app_regist_id(),
            key: Some(self.app_key().to_proto()),
            version: app.version,
            data: app
                .items
                .iter()
                .map(|s| bytes::Bytes::copy_from_slice(s.as_bytes()))
                .collect(),
        })
    }

    /// What a redo re-sends for application-level publishing: the revision, then the
    /// application publisher.
    pub(crate) fn app_redo_frames(&self, st: &State) -> Vec<Body> {
        let app = &st.app;
        match (&app.revision, app.live) {
            (Some(meta), true) => vec![
                Body::RegisterRevision(v1::RegisterRevision {
                    revision: Some(meta.into()),
                }),
                self.app_publish_frame(app),
            ],
            _ => Vec::new(),
        }
    }

    /// The unregister of the application publisher on close, if it is live.
    pub(crate) fn app_close_frame(&self, st: &mut State) -> Option<Body> {
        let app = &mut st.app;
        app.live.then(|| {
            app.live = false;
            app.version += 1;
            unregister(&self.app_regist_id(), app.version)
        })
    }
}

pub(crate) fn unregister(regist_id: &str, version: u64) -> Body {
    Body::Unregister(v1::Unregister {
        regist_id: regist_id.to_owned(),
        version,
    })
}
