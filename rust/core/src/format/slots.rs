//! Both header slots as they are on disk, valid or not: what `pinnacle inspect` shows and
//! `pinnacle verify` judges. Every slot is decoded by [`Header::decode`] and the slot in
//! force is picked by [`choose`]; this module only reports what they found, per slot.

use super::header::{choose, Header, SlotError, HEADER_SIZE, SLOT_OFFSETS, VERSION, VERSION_1};

/// What one slot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotState {
    /// A header this build reads.
    Valid,
    /// All zero: never written.
    Blank,
    /// Anything else (bad magic, checksum, impossible field, unknown version, truncated).
    Damaged,
}

impl SlotState {
    pub fn as_str(self) -> &'static str {
        match self {
            SlotState::Valid => "valid",
            SlotState::Blank => "blank",
            SlotState::Damaged => "damaged",
        }
    }
}

/// One slot: its place, its state and, when valid, its header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotReport {
    pub index: usize,
    pub offset: usize,
    pub state: SlotState,
    /// The decoded header (`Valid` only).
    pub header: Option<Header>,
    /// Why the slot is not valid (`Damaged` only).
    pub error: Option<String>,
}

impl SlotReport {
    /// The slot's format version (`Valid` only): 2 with a journal identity, 1 without.
    pub fn version(&self) -> Option<u16> {
        self.header.map(|h| if h.journal_id == 0 { VERSION_1 } else { VERSION })
    }
}

/// Both slots of a journal's first page and which one is in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderReport {
    pub slots: [SlotReport; 2],
    /// Index of the slot in force (the valid one with the highest generation), if any.
    pub current: Option<usize>,
}

impl HeaderReport {
    /// The header in force, if a slot is valid.
    pub fn header(&self) -> Option<Header> {
        self.current.and_then(|i| self.slots.get(i)).and_then(|s| s.header)
    }
}

fn slot(page: &[u8], index: usize, offset: usize) -> SlotReport {
    let bytes = page.get(offset..).unwrap_or(&[]);
    let (state, header, error) = match Header::decode(bytes, index) {
        Ok(h) => (SlotState::Valid, Some(h), None),
        Err(SlotError::Empty) => (SlotState::Blank, None, None),
        Err(SlotError::BadMagic) => {
            (SlotState::Damaged, None, Some("bad magic (not a pinnacle journal header)".to_string()))
        }
        Err(SlotError::Version(v)) => (
            SlotState::Damaged,
            None,
            Some(format!("format version {v} (this build reads {VERSION_1} and {VERSION})")),
        ),
        Err(SlotError::Damaged(why)) => (SlotState::Damaged, None, Some(why.to_string())),
    };
    SlotReport { index, offset, state, header, error }
}

/// Reports both slots of `page` (the file's first bytes; a short page leaves a slot
/// truncated, hence damaged).
pub fn report(page: &[u8]) -> HeaderReport {
    let [a, b] = SLOT_OFFSETS;
    let slots = [slot(page, 0, a), slot(page, 1, b)];
    // `choose` reads whole slots: a short page is padded with zeros, which only turns a
    // truncated slot into a blank one, and `choose` uses valid slots only.
    let mut full = page.get(..HEADER_SIZE).unwrap_or(page).to_vec();
    full.resize(HEADER_SIZE, 0);
    let current = choose(&full).ok().map(|c| c.slot);
    HeaderReport { slots, current }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(generation: u64) -> Header {
        Header {
            first_seq: 1,
            generation,
            durable_end: 4096,
            created_ns: 5,
            max_entry_size: 1024,
            journal_id: 77,
        }
    }

    #[test]
    fn reports_each_slot_and_the_one_in_force() {
        let mut page = vec![0u8; HEADER_SIZE];
        page[..128].copy_from_slice(&sample(3).encode(0));
        let r = report(&page);
        assert_eq!(r.slots[0].state, SlotState::Valid);
        assert_eq!(r.slots[0].version(), Some(VERSION));
        assert_eq!(r.slots[1].state, SlotState::Blank);
        assert_eq!((r.current, r.header()), (Some(0), Some(sample(3))));
        page[512..640].copy_from_slice(&sample(4).encode(1));
        page[20] ^= 1;
        let r = report(&page);
        assert_eq!(r.slots[0].state, SlotState::Damaged);
        assert_eq!(r.slots[0].error.as_deref(), Some("header checksum mismatch"));
        assert_eq!(r.current, Some(1));
    }

    #[test]
    fn short_pages_never_panic() {
        let full = sample(1).encode(0);
        for n in 0..700 {
            let mut page = full.to_vec();
            page.resize(n, 0);
            let r = report(&page);
            assert_eq!(r.current.is_some(), n >= 128, "{n}");
            assert_eq!(r.slots[1].state, if n >= 640 { SlotState::Blank } else { SlotState::Damaged });
        }
    }
}
