//! Incremental pushes. A session whose client asked for deltas (its Hello) is sent, after
//! a full push of a view (a datum as one subscriber kind in one zone sees it), only the
//! change from the view it was last sent on this stream: per zone, one splice of its list.
//!
//! The delta is computed from the two views' contents, not from which publisher changed,
//! so everything that shapes a view (scopes, server-side conversion, the interface →
//! applications mapping, duplicate addresses) works on top of it unchanged. Publishers are
//! listed in (session, registId) order, so one publisher's change, or one session's
//! expiry, is one contiguous run of a zone's list: one splice. The client holds one copy
//! of each view per stream and applies the splice to it (see the core's `transport::roster`).

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;
use roster_proto::lists::common_ends;
use roster_proto::v1;

/// The content of a view at a version, shared by every session sent it.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct View {
    pub version: u64,
    /// By zone name, in name order; no zone is empty.
    pub zones: Vec<v1::ZoneData>,
}

/// What a session's subscribers of one kind were last sent of a datum, on which stream.
#[derive(Clone)]
pub(super) struct Sent {
    /// The session's attachment: a new stream starts with full pushes.
    pub epoch: u64,
    pub view: Arc<View>,
}

/// A view of fewer items is never a delta's base (the protocol's rule: clients keep no
/// copy of it, so a client of many small subscriptions holds nothing more).
pub(super) const MIN_BASE_ITEMS: usize = 4;

impl View {
    /// The items of `zone` (none when the view does not list it).
    fn items(&self, zone: &str) -> &[Bytes] {
        self.zones
            .iter()
            .find(|z| z.zone == zone)
            .map_or(&[], |z| &z.data[..])
    }

    /// Whether a client keeps this view as the base of the next delta.
    pub fn is_base(&self) -> bool {
        self.zones.iter().map(|z| z.data.len()).sum::<usize>() >= MIN_BASE_ITEMS
    }
}

/// Bytes a zone or an item costs on the wire beyond its text (tags and lengths), roughly.
const OVERHEAD: usize = 4;

/// The splices that turn `old` into `new`, or `None` when they would not be smaller than
/// `new` sent in full.
pub(super) fn delta(old: &View, new: &View) -> Option<Vec<v1::ZoneDelta>> {
    // Zones are few (one per zone a subscriber sees): each name of either view once.
    let zones: BTreeSet<&str> = old
        .zones
        .iter()
        .chain(&new.zones)
        .map(|z| z.zone.as_str())
        .collect();
    let out: Vec<v1::ZoneDelta> = zones
        .into_iter()
        .filter_map(|zone| splice(zone, old.items(zone), new.items(zone)))
        .collect();
    let size = |items: &[Bytes]| items.iter().map(|b| b.len() + OVERHEAD).sum::<usize>();
    let delta: usize = out
        .iter()
        .map(|d| d.zone.len() + 3 * OVERHEAD + size(&d.insert))
        .sum();
    let full: usize = new
        .zones
        .iter()
        .map(|z| z.zone.len() + OVERHEAD + size(&z.data))
        .sum();
    (delta < full).then_some(out)
}

/// One zone's change as a single splice: the common head and tail are kept.
fn splice(zone: &str, before: &[Bytes], after: &[Bytes]) -> Option<v1::ZoneDelta> {
    let (head, tail) = common_ends(before.iter(), after.iter(), |a, b| a == b);
    if head == before.len() && head == after.len() {
        return None;
    }
    Some(v1::ZoneDelta {
        zone: zone.to_owned(),
        start: head as u32,
        delete: (before.len() - head - tail) as u32,
        insert: after[head..after.len() - tail].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(version: u64, zones: &[(&str, &[&str])]) -> View {
        View {
            version,
            zones: zones
                .iter()
                .map(|(z, items)| v1::ZoneData {
                    zone: z.to_string(),
                    data: items.iter().map(|i| Bytes::from(i.to_string())).collect(),
                })
                .collect(),
        }
    }

    /// What a client does with the splices (the core's `apply` is the real one).
    fn apply(old: &View, deltas: &[v1::ZoneDelta]) -> Vec<(String, Vec<Bytes>)> {
        let mut zones: std::collections::BTreeMap<String, Vec<Bytes>> = old
            .zones
            .iter()
            .map(|z| (z.zone.clone(), z.data.clone()))
            .collect();
        for d in deltas {
            let list = zones.entry(d.zone.clone()).or_default();
            let (start, end) = (d.start as usize, (d.start + d.delete) as usize);
            list.splice(start..end, d.insert.iter().cloned());
            if list.is_empty() {
                zones.remove(&d.zone);
            }
        }
        zones.into_iter().collect()
    }

    #[test]
    fn splices_rebuild_the_new_view() {
        let long: Vec<String> = (0..50).map(|i| format!("10.0.0.{i}:80")).collect();
        let long: Vec<&str> = long.iter().map(String::as_str).collect();
        let mut changed = long.clone();
        changed[20] = "10.0.0.20:81";
        let mut grown = long.clone();
        grown.insert(30, "10.9.9.9:80");
        let mut shrunk = long.clone();
        shrunk.drain(10..13);
        let cases: Vec<(&str, View, View, usize)> = vec![
            (
                "one item replaced",
                view(1, &[("z", &long)]),
                view(2, &[("z", &changed)]),
                1,
            ),
            (
                "one added",
                view(1, &[("z", &long)]),
                view(2, &[("z", &grown)]),
                1,
            ),
            (
                "a run removed",
                view(1, &[("z", &long)]),
                view(2, &[("z", &shrunk)]),
                0,
            ),
            (
                "a zone appears, another is unchanged",
                view(1, &[("b", &long)]),
                view(2, &[("a", &["x"]), ("b", &long)]),
                1,
            ),
            (
                "a zone goes",
                view(1, &[("a", &["x"]), ("b", &long)]),
                view(2, &[("b", &long)]),
                0,
            ),
            (
                "nothing changed",
                view(1, &[("b", &long)]),
                view(2, &[("b", &long)]),
                0,
            ),
        ];
        for (name, old, new, inserted) in cases {
            let d = delta(&old, &new).unwrap_or_else(|| panic!("{name}: no delta"));
            let got: usize = d.iter().map(|z| z.insert.len()).sum();
            assert_eq!(got, inserted, "{name}: items sent");
            let want: Vec<(String, Vec<Bytes>)> = new
                .zones
                .iter()
                .map(|z| (z.zone.clone(), z.data.clone()))
                .collect();
            assert_eq!(apply(&old, &d), want, "{name}");
        }
    }

    #[test]
    fn a_delta_no_smaller_than_the_list_is_not_sent() {
        let old = view(1, &[("z", &["a", "b"])]);
        let new = view(2, &[("z", &["c", "d"])]);
        assert_eq!(delta(&old, &new), None);
        let old = view(1, &[("z", &["a"])]);
        let new = view(2, &[("y", &["a"])]);
        assert_eq!(delta(&old, &new), None);
    }
}
