//! How two versions of a list differ: the client's change sets and the server's delta
//! splices both start by pairing off what the lists share at both ends.

/// The lengths of the common head and the common tail of `before` and `after` (the tail
/// does not overlap the head), comparing with `same`.
pub fn common_ends<T>(before: &[T], after: &[T], same: impl Fn(&T, &T) -> bool) -> (usize, usize) {
    let head = before
        .iter()
        .zip(after)
        .take_while(|(a, b)| same(a, b))
        .count();
    let tail = before[head..]
        .iter()
        .rev()
        .zip(after[head..].iter().rev())
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
            assert_eq!(common_ends(&b, &a, eq), want, "{before} -> {after}");
        }
    }
}
