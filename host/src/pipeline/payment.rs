//! The payment step: which of the tenant's payment methods a shopper is offered, after the
//! payment hook's operations (hide, rename, move). Without a payment plugin, all of them, in the
//! tenant's order.

use mandi_sdk::{PaymentMethod, PaymentOperation};
use serde::Serialize;

/// The methods offered for one checkout.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PaymentChoice {
    /// In the order the shopper sees them, under the names they are shown.
    pub offered: Vec<PaymentMethod>,
    /// Ids of the tenant's methods the hook hid; an order naming one is refused.
    pub hidden: Vec<String>,
}

impl PaymentChoice {
    /// Every method, unchanged: the platform default.
    pub fn all(methods: &[PaymentMethod]) -> Self {
        Self {
            offered: methods.to_vec(),
            hidden: Vec::new(),
        }
    }

    /// Applies a hook's operations in order. The runtime has checked that each names one of
    /// `methods` and that positions are within the list; a rename or move of a method hidden
    /// earlier changes nothing, and a position past the methods still offered means last.
    pub fn apply(methods: &[PaymentMethod], operations: &[PaymentOperation]) -> Self {
        let mut choice = Self::all(methods);
        for op in operations {
            let Some(at) = choice.offered.iter().position(|m| m.id == op.method_id()) else {
                continue;
            };
            match op {
                PaymentOperation::Hide { id } => {
                    choice.offered.remove(at);
                    choice.hidden.push(id.clone());
                }
                PaymentOperation::Rename { name, .. } => choice.offered[at].name = name.clone(),
                PaymentOperation::Move { index, .. } => {
                    let method = choice.offered.remove(at);
                    let to = (*index as usize).min(choice.offered.len());
                    choice.offered.insert(to, method);
                }
            }
        }
        choice
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn methods() -> Vec<PaymentMethod> {
        ["upi", "card", "cod"]
            .into_iter()
            .map(|id| PaymentMethod {
                id: id.into(),
                name: id.to_uppercase(),
                kind: id.into(),
            })
            .collect()
    }

    fn ids(choice: &PaymentChoice) -> Vec<&str> {
        choice.offered.iter().map(|m| m.id.as_str()).collect()
    }

    #[test]
    fn operations_apply_in_order() {
        let choice = PaymentChoice::apply(
            &methods(),
            &[
                PaymentOperation::move_to("cod", 0),
                PaymentOperation::rename("card", "Credit or debit card"),
                PaymentOperation::hide("upi"),
            ],
        );
        assert_eq!(ids(&choice), ["cod", "card"]);
        assert_eq!(choice.offered[1].name, "Credit or debit card");
        assert_eq!(choice.hidden, ["upi"]);
    }

    #[test]
    fn a_hidden_method_stays_hidden_and_positions_past_the_end_mean_last() {
        let choice = PaymentChoice::apply(
            &methods(),
            &[
                PaymentOperation::hide("card"),
                PaymentOperation::rename("card", "Card"),
                PaymentOperation::move_to("card", 0),
                PaymentOperation::hide("card"),
                PaymentOperation::move_to("upi", 2),
            ],
        );
        assert_eq!(ids(&choice), ["cod", "upi"]);
        assert_eq!(choice.hidden, ["card"]);
    }

    #[test]
    fn no_operations_offer_every_method_unchanged() {
        assert_eq!(
            PaymentChoice::apply(&methods(), &[]),
            PaymentChoice::all(&methods())
        );
    }
}
