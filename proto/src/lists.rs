//! How two versions of a list differ: the client's change sets and the server's delta
//! splices both start by pairing off what the lists share at both ends.

/// The lengths of the common head and the common tail of `before` and `after` (the tail
/// does not overlap the head), comparing with `same`. Takes iterators (a slice's `iter()`,
/// or a list kept in chunks).
pub fn common_ends<'a, T: 'a, I>(
    before: I,
    after: I,
    same: impl Fn(&T, &T) -> bool,
) -> (usize, usize)
where
    I: DoubleEndedIterator<Item = &'a T> + ExactSizeIterator + Clone,
{
    let head = before
        .clone()
        .zip(after.clone())
        .take_while(|(a, b)| same(a, b))
        .count();
    let rest = before.len().min(after.len()) - head;
    let tail = before
        .rev()
        .zip(after.rev())
        .take(rest)
        .take_while(|(a, b)| same(a, b))
        .count();
    (head, tail)
}

#[cfg(test)]
mod tests {
    use super::common_ends;

    #[test]
    fn head_and_tail_never_overlap() {
        let eq = |a: &char, b: &char| a == b;
        let cases: [(&str, &str, (usize, usize)); 5] = [
            ("abcde", "abXde", (2, 2)),
            ("abc", "abc", (3, 0)),
            ("aa", "aaa", (2, 0)),
            ("", "ab", (0, 0)),
            ("xab", "ab", (0, 2)),
        ];
        for (before, after, want) in cases {
            let (b, a): (Vec<char>, Vec<char>) =
                (before.chars().collect(), after.chars().collect());
            assert_eq!(
                common_ends(b.iter(), a.iter(), eq),
                want,
                "{before} -> {after}"
            );
        }
    }
}
