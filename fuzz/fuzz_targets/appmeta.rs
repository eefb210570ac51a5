//! Application-level discovery's rules: service URLs read back what they print, and an
//! instance converted to application level (revision metadata plus one item per address)
//! converts back, for every interface it serves, to exactly the URLs it came from; the
//! revision is the hash of the metadata, also after a trip through the wire form.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use roster_proto::appmeta::{self, AppMetadata, ServiceUrl};
use roster_proto::v1;

#[derive(Arbitrary, Debug)]
struct Input {
    application: String,
    /// (interface number, URL text)
    services: Vec<(u8, String)>,
}

fuzz_target!(|input: Input| {
    let mut services = Vec::new();
    for (iface, text) in input.services.iter().take(16) {
        let Ok(url) = ServiceUrl::parse(text) else {
            continue;
        };
        let again = ServiceUrl::parse(&url.to_string());
        assert_eq!(again.as_ref(), Ok(&url), "{text:?} prints as {url}");
        services.push((
            format!("svc{}#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP", iface % 4),
            url,
        ));
    }
    let Some(instance) = appmeta::instance_from_services(&input.application, &services) else {
        return;
    };
    let meta = &instance.metadata;
    assert!(
        meta.is_consistent(),
        "the revision is the hash of the metadata"
    );
    let wire = v1::AppRevision::from(meta);
    assert_eq!(
        &AppMetadata::from(&wire),
        meta,
        "the wire form keeps the metadata"
    );
    let items: Vec<ServiceUrl> = instance
        .items
        .iter()
        .map(|i| ServiceUrl::parse(i).expect("an application item is a service URL"))
        .collect();
    for item in &items {
        assert_eq!(appmeta::item_revision(item), Some(meta.revision.as_str()));
    }
    for (iface, url) in &services {
        let item = items
            .iter()
            .find(|i| i.address() == url.address())
            .expect("one item per address");
        let back: Vec<ServiceUrl> = meta
            .entries_for(iface, item)
            .iter()
            .map(|e| ServiceUrl::parse(e).expect("an entry is a service URL"))
            .collect();
        assert!(back.contains(url), "{url} converts back to {back:?}");
    }
});
