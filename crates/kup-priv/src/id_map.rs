//! `/proc/<pid>/uid_map` and `gid_map`: translating a kernel id (the initial user namespace's, as
//! the kernel sends `creduid`) into the id a process inside another user namespace uses for it.
//!
//! Pure: parses bytes and does arithmetic. Read by a process of the initial user namespace, each
//! line is `inside-start outside-start count`, where `outside` is the initial namespace's id
//! (`user_namespaces(7)`: the second field is relative to the reader's namespace when the reader is
//! in another namespace than the process).

/// One user namespace's id map, or the identity when no user namespace is entered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct IdMap {
    /// `(inside, outside, count)` ranges; `None` = identity.
    ranges: Option<Vec<(u32, u32, u32)>>,
}

impl IdMap {
    /// The identity map (no user namespace switch).
    pub(crate) const IDENTITY: Self = Self { ranges: None };

    /// Parses a map file's bytes. `None` when a line is not three decimal numbers or a range
    /// overflows 32 bits.
    pub(crate) fn parse(text: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(text).ok()?;
        let mut ranges = Vec::new();
        for line in text.lines().filter(|line| !line.trim().is_empty()) {
            let mut fields = line.split_whitespace().map(str::parse::<u32>);
            let (Some(Ok(inside)), Some(Ok(outside)), Some(Ok(count)), None) =
                (fields.next(), fields.next(), fields.next(), fields.next())
            else {
                return None;
            };
            inside.checked_add(count.checked_sub(1)?)?;
            outside.checked_add(count - 1)?;
            ranges.push((inside, outside, count));
        }
        Some(Self { ranges: Some(ranges) })
    }

    /// The id inside the namespace for the kernel id `outside`; `None` when it is not mapped.
    pub(crate) fn inside(&self, outside: u32) -> Option<u32> {
        let Some(ranges) = &self.ranges else {
            return Some(outside);
        };
        ranges.iter().find_map(|&(inside_start, outside_start, count)| {
            let offset = outside.checked_sub(outside_start)?;
            (offset < count).then(|| inside_start + offset)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_maps_every_id_to_itself() {
        assert_eq!(IdMap::IDENTITY.inside(1000), Some(1000));
    }

    #[test]
    fn a_container_range_translates_kernel_ids() {
        let map = IdMap::parse(b"         0     100000      65536\n").unwrap();
        assert_eq!(map.inside(100_000), Some(0));
        assert_eq!(map.inside(101_234), Some(1234));
        assert_eq!(map.inside(165_535), Some(65535));
        assert_eq!(map.inside(165_536), None);
        assert_eq!(map.inside(0), None);
    }

    #[test]
    fn several_ranges_are_searched() {
        let map = IdMap::parse(b"0 100000 1000\n1000 1000 1\n").unwrap();
        assert_eq!(map.inside(1000), Some(1000));
        assert_eq!(map.inside(100_999), Some(999));
        assert_eq!(map.inside(1001), None);
    }

    #[test]
    fn an_empty_map_maps_nothing() {
        assert_eq!(IdMap::parse(b"").unwrap().inside(0), None);
    }

    #[test]
    fn malformed_or_overflowing_maps_are_refused() {
        assert_eq!(IdMap::parse(b"0 1\n"), None);
        assert_eq!(IdMap::parse(b"0 1 2 3\n"), None);
        assert_eq!(IdMap::parse(b"x 1 2\n"), None);
        assert_eq!(IdMap::parse(b"0 4294967295 2\n"), None);
        assert_eq!(IdMap::parse(b"0 5 0\n"), None);
    }
}
