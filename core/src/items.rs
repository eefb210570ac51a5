//! What a zone's list is made of: [`Item`], one shared published item, and [`Items`], the
//! list itself, shared in chunks. A hot service's 7,000-item list changes by one item at a
//! time, and each client holds several versions of it at once (the view it applies
//! deltas to, the merged list, what every subscriber's consumer has not read yet): a new
//! version shares every chunk but the changed one with the old, so making it costs about a
//! hundred reference counts instead of 7,000, and so does dropping the old one.

use std::borrow::Borrow;
use std::fmt;
use std::ops::{Deref, Index, Range};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// One published item (usually a URL). Its text is shared: the next version of a list, and
/// every subscriber holding it, share each unchanged item instead of copying it (a hot
/// service's 7,000-item list changes by one item). Reads as a `&str`.
#[derive(Clone, Eq, PartialOrd, Ord)]
pub struct Item(Arc<str>);

impl std::hash::Hash for Item {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl PartialEq for Item {
    fn eq(&self, other: &Item) -> bool {
        // Versions of a list share their unchanged items: mostly the same allocation.
        Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0
    }
}

impl Item {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for Item {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Item {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Item {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl fmt::Debug for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl From<&str> for Item {
    fn from(s: &str) -> Self {
        Item(s.into())
    }
}

impl From<String> for Item {
    fn from(s: String) -> Self {
        Item(s.into())
    }
}

impl From<Item> for String {
    fn from(i: Item) -> Self {
        i.0.to_string()
    }
}

impl PartialEq<str> for Item {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for Item {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<String> for Item {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl Serialize for Item {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        String::deserialize(d).map(Item::from)
    }
}

/// Items per chunk: 64 items are 1 KiB of pointers, copied when one of them changes.
const CHUNK: usize = 64;

/// A zone's items, in order. Reads like a slice of [`Item`] (`len`, `iter`, `get`,
/// indexing, `for item in &items`); build one from a `Vec` or an iterator. Cloning it is
/// cheap: a list of up to 64 items is one reference count, a longer one one per 64 items.
#[derive(Clone, Default)]
pub struct Items(Repr);

#[derive(Clone, Default)]
enum Repr {
    #[default]
    Empty,
    /// Up to `CHUNK` items (most lists): one allocation, shared by clones.
    One(Arc<[Item]>),
    /// Chunks of 1 to `CHUNK` items (at least `CHUNK / 2`, the last one aside, after a
    /// splice) and their total; boxed, so that an `Items` is no larger than a `Vec`.
    Many(Box<Many>),
}

#[derive(Clone)]
struct Many {
    chunks: Vec<Arc<[Item]>>,
    len: usize,
}

impl Items {
    pub const fn new() -> Items {
        Items(Repr::Empty)
    }

    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Empty => 0,
            Repr::One(items) => items.len(),
            Repr::Many(many) => many.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn iter(&self) -> Iter<'_> {
        Iter {
            chunks: self.chunks().iter(),
            front: [].iter(),
            back: [].iter(),
            left: self.len(),
        }
    }

    pub fn get(&self, index: usize) -> Option<&Item> {
        let mut at = index;
        for chunk in self.chunks() {
            if at < chunk.len() {
                return Some(&chunk[at]);
            }
            at -= chunk.len();
        }
        None
    }

    /// The items as a `Vec` (each one shared, not copied).
    pub fn to_vec(&self) -> Vec<Item> {
        self.iter().cloned().collect()
    }

    fn chunks(&self) -> &[Arc<[Item]>] {
        match &self.0 {
            Repr::Empty => &[],
            Repr::One(items) => std::slice::from_ref(items),
            Repr::Many(many) => &many.chunks,
        }
    }

    fn from_chunks(mut chunks: Vec<Arc<[Item]>>) -> Items {
        chunks.retain(|c| !c.is_empty());
        Items(match chunks.len() {
            0 => Repr::Empty,
            1 => Repr::One(chunks.pop().expect("one")),
            _ => Repr::Many(Box::new(Many {
                len: chunks.iter().map(|c| c.len()).sum(),
                chunks,
            })),
        })
    }

    /// Replaces the items in `range` with `insert`, like `Vec::splice`. Only the chunks the
    /// range touches are copied; the others stay shared with the clones made before.
    ///
    /// # Panics
    /// When `range` is out of bounds or ends before it starts.
    pub fn splice(&mut self, range: Range<usize>, insert: impl IntoIterator<Item = Item>) {
        let len = self.len();
        assert!(
            range.start <= range.end && range.end <= len,
            "splice {range:?} out of a list of {len} items"
        );
        let mut chunks = match std::mem::take(&mut self.0) {
            Repr::Empty => Vec::new(),
            Repr::One(items) => vec![items],
            Repr::Many(many) => many.chunks,
        };
        // The chunks the range touches: `first..last` (one at least, when there are any;
        // the last chunk for an append, so that it fills up before a new one starts).
        let (mut first, mut before) = (0, 0);
        while first + 1 < chunks.len() && before + chunks[first].len() <= range.start {
            before += chunks[first].len();
            first += 1;
        }
        let mut last = first;
        let mut upto = before + chunks.get(first).map_or(0, |c| c.len());
        while upto < range.end {
            last += 1;
            upto += chunks[last].len();
        }
        let touched = &chunks[first..(last + 1).min(chunks.len())];
        let mut region: Vec<Item> = Vec::new();
        let mut kept = touched.iter().flat_map(|c| c.iter());
        region.extend(kept.by_ref().take(range.start - before).cloned());
        region.extend(insert);
        region.extend(kept.skip(range.end - range.start).cloned());
        let mut end = (last + 1).min(chunks.len());
        // Keep chunks at least half full: a small region takes in a neighbour.
        if region.len() < CHUNK / 2 {
            if end < chunks.len() {
                region.extend(chunks[end].iter().cloned());
                end += 1;
            } else if first > 0 {
                first -= 1;
                region.splice(0..0, chunks[first].iter().cloned());
            }
        }
        let pieces = region.len().div_ceil(CHUNK);
        let mut rest = region.into_iter();
        let sized: Vec<Arc<[Item]>> = (0..pieces)
            .map(|i| {
                // Near-equal pieces: the first ones take the remainder.
                let size = rest.len().div_ceil(pieces - i);
                rest.by_ref().take(size).collect()
            })
            .collect();
        chunks.splice(first..end, sized);
        *self = Items::from_chunks(chunks);
    }
}

/// Several lists read as one (a data's zones, in order), by their chunks: what two
/// versions of a data share at both ends is found by comparing chunk pointers, not items.
pub(crate) struct Joined<'a>(Vec<&'a [Item]>);

impl<'a> Joined<'a> {
    pub fn new(lists: impl IntoIterator<Item = &'a Items>) -> Joined<'a> {
        Joined(
            lists
                .into_iter()
                .flat_map(|l| l.chunks().iter().map(|c| &**c))
                .collect(),
        )
    }

    pub fn len(&self) -> usize {
        self.0.iter().map(|c| c.len()).sum()
    }

    /// The lengths of the common head and the common tail with `other` (the tail does not
    /// overlap the head). A chunk both share is skipped whole.
    pub fn common_ends(&self, other: &Joined) -> (usize, usize) {
        let (a, b) = (&self.0, &other.0);
        let same = |x: &&[Item], y: &&[Item]| std::ptr::eq(*x, *y);
        let shared = a.iter().zip(b).take_while(|(x, y)| same(x, y)).count();
        let mut head: usize = a[..shared].iter().map(|c| c.len()).sum();
        head += a[shared..]
            .iter()
            .flat_map(|c| c.iter())
            .zip(b[shared..].iter().flat_map(|c| c.iter()))
            .take_while(|(x, y)| x == y)
            .count();
        let limit = self.len().min(other.len()) - head;
        let (mut i, mut j, mut tail) = (a.len(), b.len(), 0);
        while i > 0 && j > 0 && same(&a[i - 1], &b[j - 1]) && tail + a[i - 1].len() <= limit {
            tail += a[i - 1].len();
            (i, j) = (i - 1, j - 1);
        }
        tail += a[..i]
            .iter()
            .rev()
            .flat_map(|c| c.iter().rev())
            .zip(b[..j].iter().rev().flat_map(|c| c.iter().rev()))
            .take(limit - tail)
            .take_while(|(x, y)| x == y)
            .count();
        (head, tail)
    }

    /// The items in `range`, whole chunks before it skipped.
    pub fn range(&self, range: Range<usize>) -> impl Iterator<Item = &'a Item> + '_ {
        let mut skip = range.start;
        let first = self
            .0
            .iter()
            .position(|c| {
                if skip < c.len() {
                    return true;
                }
                skip -= c.len();
                false
            })
            .unwrap_or(self.0.len());
        self.0[first..]
            .iter()
            .flat_map(|c| c.iter())
            .skip(skip)
            .take(range.len())
    }
}

/// An iterator over [`Items`], from either end.
#[derive(Clone)]
pub struct Iter<'a> {
    chunks: std::slice::Iter<'a, Arc<[Item]>>,
    front: std::slice::Iter<'a, Item>,
    back: std::slice::Iter<'a, Item>,
    left: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a Item;

    fn next(&mut self) -> Option<&'a Item> {
        loop {
            if let Some(item) = self.front.next() {
                self.left -= 1;
                return Some(item);
            }
            match self.chunks.next() {
                Some(chunk) => self.front = chunk.iter(),
                None => {
                    let item = self.back.next()?;
                    self.left -= 1;
                    return Some(item);
                }
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }

    /// Skips whole chunks without reading them.
    fn nth(&mut self, mut n: usize) -> Option<&'a Item> {
        while n >= self.front.len() {
            n -= self.front.len();
            self.left -= self.front.len();
            match self.chunks.next() {
                Some(chunk) => self.front = chunk.iter(),
                None => {
                    // Only what `next_back` started on is left.
                    self.front = [].iter();
                    let item = self.back.nth(n);
                    self.left = self.back.len();
                    return item;
                }
            }
        }
        self.left -= n + 1;
        self.front.nth(n)
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.back.next_back() {
                self.left -= 1;
                return Some(item);
            }
            match self.chunks.next_back() {
                Some(chunk) => self.back = chunk.iter(),
                None => {
                    let item = self.front.next_back()?;
                    self.left -= 1;
                    return Some(item);
                }
            }
        }
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a Items {
    type Item = &'a Item;
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl Index<usize> for Items {
    type Output = Item;
    fn index(&self, index: usize) -> &Item {
        let len = self.len();
        self.get(index)
            .unwrap_or_else(|| panic!("index {index} out of a list of {len} items"))
    }
}

impl<T: Into<Item>> FromIterator<T> for Items {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Items {
        let mut items = iter.into_iter().map(Into::into).peekable();
        let mut chunks = Vec::new();
        while items.peek().is_some() {
            chunks.push(items.by_ref().take(CHUNK).collect());
        }
        Items::from_chunks(chunks)
    }
}

impl<T: Into<Item>> From<Vec<T>> for Items {
    fn from(items: Vec<T>) -> Items {
        items.into_iter().collect()
    }
}

impl PartialEq for Items {
    fn eq(&self, other: &Items) -> bool {
        if self.len() != other.len() {
            return false;
        }
        // Chunks both share are equal unread; compare items from the first that is not.
        let (a, b) = (self.chunks(), other.chunks());
        let shared = a
            .iter()
            .zip(b)
            .take_while(|(x, y)| Arc::ptr_eq(x, y))
            .count();
        let skip = a[..shared].iter().map(|c| c.len()).sum();
        self.iter().skip(skip).eq(other.iter().skip(skip))
    }
}

impl Eq for Items {}

impl<T> PartialEq<Vec<T>> for Items
where
    Item: PartialEq<T>,
{
    fn eq(&self, other: &Vec<T>) -> bool {
        self.len() == other.len() && self.iter().zip(other).all(|(a, b)| a == b)
    }
}

impl<T, const N: usize> PartialEq<[T; N]> for Items
where
    Item: PartialEq<T>,
{
    fn eq(&self, other: &[T; N]) -> bool {
        self.len() == N && self.iter().zip(other).all(|(a, b)| a == b)
    }
}

impl<T> PartialEq<[T]> for Items
where
    Item: PartialEq<T>,
{
    fn eq(&self, other: &[T]) -> bool {
        self.len() == other.len() && self.iter().zip(other).all(|(a, b)| a == b)
    }
}

impl fmt::Debug for Items {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for Items {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for Items {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Vec::<Item>::deserialize(d).map(Items::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(range: Range<usize>) -> Vec<Item> {
        range.map(|i| Item::from(i.to_string())).collect()
    }

    #[test]
    fn splices_equal_vec_splices_and_share_untouched_chunks() {
        for seed in 0..50 {
            let mut rng = fastrand::Rng::with_seed(seed);
            let n = rng.usize(0..700);
            let mut want = numbered(0..n);
            let mut items = Items::from(want.clone());
            for step in 0..100 {
                let start = rng.usize(0..=want.len());
                let end = rng.usize(start..=want.len().min(start + 70));
                let insert = numbered(1000 + step * 100..1000 + step * 100 + rng.usize(0..70));
                let before = items.clone();
                want.splice(start..end, insert.clone());
                items.splice(start..end, insert);
                assert_eq!(items, want, "seed {seed} step {step}");
                assert_eq!(items.iter().rev().count(), want.len());
                assert!(items.iter().rev().eq(want.iter().rev()));
                if let Repr::Many(many) = &items.0 {
                    let chunks = &many.chunks;
                    let last = chunks.len() - 1;
                    assert!(chunks.iter().all(|c| c.len() <= CHUNK));
                    assert!(chunks[..last].iter().all(|c| c.len() >= CHUNK / 2));
                    // A splice copies at most the chunks it touched and a neighbour.
                    let shared = chunks
                        .iter()
                        .filter(|c| before.chunks().iter().any(|b| Arc::ptr_eq(b, c)))
                        .count();
                    assert!(chunks.len() - shared <= 8, "seed {seed} step {step}");
                }
            }
        }
    }

    #[test]
    fn one_change_copies_one_chunk() {
        let mut items = Items::from(numbered(0..7000));
        let before = items.clone();
        items.splice(3500..3501, [Item::from("new")]);
        let (old, new) = (before.chunks(), items.chunks());
        assert_eq!(old.len(), new.len());
        let copied = old
            .iter()
            .zip(new)
            .filter(|(a, b)| !Arc::ptr_eq(a, b))
            .count();
        assert_eq!(copied, 1);
        assert_eq!(items[3500], "new");
        assert_eq!(before[3500], "3500");
    }

    /// Two versions of a data's zones: what `Joined` finds shared at both ends, and the
    /// ranges it reads, are what a walk over every item finds.
    #[test]
    fn joined_lists_find_the_same_ends_as_a_walk() {
        for seed in 0..200 {
            let mut rng = fastrand::Rng::with_seed(seed);
            let zones: Vec<Items> = (0..rng.usize(1..4))
                .map(|z| Items::from(numbered(z * 1000..z * 1000 + rng.usize(0..300))))
                .collect();
            let mut after = zones.clone();
            for _ in 0..rng.usize(0..3) {
                let z = &mut after[rng.usize(0..zones.len())];
                let start = rng.usize(0..=z.len());
                let end = rng.usize(start..=z.len());
                // Sometimes the same text again (equal items, not shared ones).
                let insert: Vec<Item> = if rng.bool() {
                    z.iter()
                        .skip(start)
                        .take(end - start)
                        .map(|i| Item::from(i.as_str()))
                        .collect()
                } else {
                    numbered(9000..9000 + rng.usize(0..5))
                };
                z.splice(start..end, insert);
            }
            let (old, new) = (Joined::new(&zones), Joined::new(&after));
            let flat = |l: &[Items]| l.iter().flat_map(|z| z.to_vec()).collect::<Vec<_>>();
            let (a, b) = (flat(&zones), flat(&after));
            let want = roster_proto::lists::common_ends(a.iter(), b.iter(), |x, y| x == y);
            let (head, tail) = old.common_ends(&new);
            assert_eq!((head, tail), want, "seed {seed}");
            assert!(old.range(head..a.len() - tail).eq(&a[head..a.len() - tail]));
            assert!(new.range(head..b.len() - tail).eq(&b[head..b.len() - tail]));
            assert_eq!(zones == after, a == b);
        }
    }

    #[test]
    fn no_larger_than_a_vec() {
        assert_eq!(
            std::mem::size_of::<Items>(),
            std::mem::size_of::<Vec<Item>>()
        );
    }

    #[test]
    fn reads_like_a_slice() {
        let items = Items::from(numbered(0..200));
        assert_eq!(items.len(), 200);
        assert_eq!(items[0], "0");
        assert_eq!(items[130], "130");
        assert_eq!(items.get(200), None);
        let mut both = items.iter();
        assert_eq!(
            (both.next().unwrap(), both.next_back().unwrap()),
            (&items[0], &items[199])
        );
        assert_eq!(both.len(), 198);
        assert_eq!(Items::from(Vec::<String>::new()), Items::new());
        let json = serde_json::to_string(&Items::from(vec!["a", "b"])).unwrap();
        assert_eq!(json, r#"["a","b"]"#);
        assert_eq!(
            serde_json::from_str::<Items>(&json).unwrap(),
            vec!["a", "b"]
        );
    }
}
