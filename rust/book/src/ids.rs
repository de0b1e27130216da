//! The fallible id constructors. Their error is a [`BookError`], which names ids, so they
//! sit above both `types`/`strid` (which import no error) and `error`.

use crate::error::BookError;
use crate::strid::StrId;
use crate::types::OrderId;

impl StrId {
    /// Validates the length (1..=64 bytes).
    pub fn new(s: &str) -> Result<StrId, BookError> {
        StrId::checked(s).map_err(|len| BookError::InvalidId { len })
    }
}

impl OrderId {
    /// A string id; errors if `s` is empty or longer than 64 bytes.
    pub fn string(s: &str) -> Result<OrderId, BookError> {
        StrId::new(s).map(OrderId::Str)
    }
}

impl TryFrom<&str> for OrderId {
    type Error = BookError;
    fn try_from(s: &str) -> Result<OrderId, BookError> {
        OrderId::string(s)
    }
}

impl TryFrom<String> for OrderId {
    type Error = BookError;
    fn try_from(s: String) -> Result<OrderId, BookError> {
        OrderId::string(&s)
    }
}
