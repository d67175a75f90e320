//! Ranking fulfillment nodes by closeness to the shopper, without map data in the sandbox.
//!
//! India Post assigns 6-digit pincodes geographically (first digit the region, first three the
//! sorting district), so the numeric gap between two pincodes ranks a node in the shopper's
//! suburb before one across the city, and that before one in another state. It is a proxy, not
//! a distance — good enough to rank a handful of candidate nodes.

use crate::{Cart, FulfillmentNode, PluginError};

/// A valid 6-digit Indian pincode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pincode(u32);

impl Pincode {
    /// `None` unless `text` (trimmed) is exactly six ASCII digits.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let six_digits = text.len() == 6 && text.bytes().all(|b| b.is_ascii_digit());
        six_digits.then(|| text.parse().ok().map(Self)).flatten()
    }

    /// The numeric gap between two pincodes: the ranking proxy described above.
    pub fn gap(self, other: Pincode) -> u32 {
        self.0.abs_diff(other.0)
    }
}

impl Cart {
    /// Where the cart ships, or a plugin error: `no-shipping-address` when there is no address
    /// (or a blank pincode), `invalid-pincode` when the pincode is not six digits.
    pub fn shipping_pincode(&self) -> Result<Pincode, PluginError> {
        let pincode = self
            .pincode()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .ok_or_else(|| {
                PluginError::new("no-shipping-address", "the cart has no shipping address")
            })?;
        Pincode::parse(pincode).ok_or_else(|| {
            PluginError::new(
                "invalid-pincode",
                format!("`{pincode}` is not a 6-digit pincode"),
            )
        })
    }
}

/// `nodes` nearest first by pincode gap to `destination`; ties go to the lower node id so runs
/// replay identically, and nodes with an unreadable pincode go last.
pub fn nearest_first<'a>(
    nodes: impl IntoIterator<Item = &'a FulfillmentNode>,
    destination: Pincode,
) -> Vec<&'a FulfillmentNode> {
    let gap = |node: &FulfillmentNode| {
        Pincode::parse(&node.pincode).map_or(u32::MAX, |p| p.gap(destination))
    };
    let mut nodes: Vec<&FulfillmentNode> = nodes.into_iter().collect();
    nodes.sort_by(|a, b| gap(a).cmp(&gap(b)).then_with(|| a.id.cmp(&b.id)));
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, pincode: &str) -> FulfillmentNode {
        FulfillmentNode {
            id: id.into(),
            kind: "store".into(),
            pincode: pincode.into(),
            stock: Vec::new(),
            tags: Vec::new(),
        }
    }

    #[test]
    fn parses_only_six_digits() {
        assert_eq!(Pincode::parse(" 400053 "), Some(Pincode(400_053)));
        assert_eq!(Pincode::parse("40005"), None);
        assert_eq!(Pincode::parse("4000534"), None);
        assert_eq!(Pincode::parse("40005a"), None);
    }

    #[test]
    fn ranks_by_gap_then_id_with_unreadable_last() {
        let nodes = [
            node("C", "400070"),
            node("B", "bad"),
            node("A", "400036"),
            node("D", "400036"),
        ];
        let ranked: Vec<&str> = nearest_first(&nodes, Pincode(400_053))
            .iter()
            .map(|n| n.id.as_str())
            .collect();
        // A and C are both 17 away (tie broken by id), D is 23 away, B cannot be ranked.
        assert_eq!(ranked, ["A", "C", "D", "B"]);
    }
}
