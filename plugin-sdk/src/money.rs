//! Money in integer minor units and percentages in basis points: no floats anywhere.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An amount in minor units (paise for INR) of an ISO 4217 currency.
///
/// Every amount a hook receives carries the cart's currency, and every amount it returns must
/// be in that currency too: the SDK refuses any other with a `currency-mismatch` error rather
/// than let the host read it as the cart's.
///
/// ```
/// use mandi_sdk::Money;
///
/// let price = Money::inr(45_000); // Rs 450.00
/// let line = price.times(3)?;
/// assert_eq!(line, Money::inr(135_000));
/// assert_eq!(line.checked_sub(&Money::inr(5_000))?.to_string(), "INR 1300.00");
/// # Ok::<(), mandi_sdk::MoneyError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Money {
    /// Minor units: 12_345 in INR is Rs 123.45.
    pub amount: i64,
    /// ISO 4217 code, e.g. `INR`; in what a hook receives and returns, the cart's `currency`.
    pub currency: String,
}

/// Arithmetic on amounts of different currencies, or past `i64`.
///
/// `?` turns it into a [`PluginError`](crate::PluginError) with code `money`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoneyError {
    /// The two amounts are in different currencies; nothing converts between them.
    CurrencyMismatch {
        /// Currency of the amount the method was called on.
        left: String,
        /// Currency of the other amount.
        right: String,
    },
    /// The result does not fit in an `i64` of minor units.
    Overflow,
}

impl fmt::Display for MoneyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CurrencyMismatch { left, right } => {
                write!(f, "cannot combine {left} and {right} amounts")
            }
            Self::Overflow => f.write_str("amount out of range"),
        }
    }
}

impl std::error::Error for MoneyError {}

impl Money {
    /// `amount` minor units of `currency` (an ISO 4217 code such as `INR`).
    pub fn new(amount: i64, currency: impl Into<String>) -> Self {
        Self {
            amount,
            currency: currency.into(),
        }
    }

    /// Indian rupees, in paise: `Money::inr(12_345)` is Rs 123.45.
    pub fn inr(paise: i64) -> Self {
        Self::new(paise, "INR")
    }

    /// Nothing, in `currency`: the start of a sum.
    pub fn zero(currency: impl Into<String>) -> Self {
        Self::new(0, currency)
    }

    /// Whether the amount is exactly zero.
    pub fn is_zero(&self) -> bool {
        self.amount == 0
    }

    /// The sum; an error when the currencies differ or the sum overflows.
    pub fn checked_add(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self
            .amount
            .checked_add(other.amount)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency.clone()))
    }

    /// The difference, which may be negative; an error when the currencies differ or the
    /// difference overflows.
    pub fn checked_sub(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self
            .amount
            .checked_sub(other.amount)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency.clone()))
    }

    /// This amount times a quantity (a unit price times a line's quantity).
    pub fn times(&self, quantity: u32) -> Result<Money, MoneyError> {
        let amount = self
            .amount
            .checked_mul(i64::from(quantity))
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency.clone()))
    }

    /// The smaller of two amounts of the same currency (it compares `amount` only), e.g. to
    /// cap a discount: `Money::inr(15_000).min(line.subtotal())`.
    pub fn min(self, other: Money) -> Money {
        if other.amount < self.amount {
            other
        } else {
            self
        }
    }

    fn same_currency(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                left: self.currency.clone(),
                right: other.currency.clone(),
            })
        }
    }
}

impl fmt::Display for Money {
    /// `INR 123.45`: two decimal places, which holds for the currencies Mandi serves.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.amount < 0 { "-" } else { "" };
        let abs = self.amount.unsigned_abs();
        write!(f, "{} {sign}{}.{:02}", self.currency, abs / 100, abs % 100)
    }
}

/// A percentage in basis points (hundredths of a percent): `Percent::from_percent(10)` is
/// 1,000 bps, `Percent::from_decimal(12.5)` is 1,250.
///
/// Serialized as the plain number of basis points (`1250`), the form the contract carries.
/// Displayed as a percent with two decimals when it has any: `10%`, `12.50%`, `0.05%`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(transparent)]
pub struct Percent(u32);

impl Percent {
    /// 0%.
    pub const ZERO: Percent = Percent(0);
    /// 100% (10,000 bps), the most a percent-off adjustment may take.
    pub const HUNDRED: Percent = Percent(10_000);

    /// `bps` basis points: `from_bps(1250)` is 12.5%. The host refuses a percent-off
    /// adjustment above [`HUNDRED`](Self::HUNDRED).
    pub const fn from_bps(bps: u32) -> Self {
        Self(bps)
    }

    /// A whole percent: `from_percent(10)` is 10% (1,000 bps).
    ///
    /// `percent` above 42,949,672 overflows the basis points (a panic in debug builds, a wrong
    /// value in release): check a percent read from config against 100 first, which is as much
    /// as the host lets a percent-off take.
    pub const fn from_percent(percent: u32) -> Self {
        Self(percent * 100)
    }

    /// A percent with decimals, as brand teams write discounts (`12.5` for 12.5%). `None` when
    /// it is negative, not finite, too large, or finer than a basis point (`12.345`): a
    /// discount is never rounded behind its author's back.
    pub fn from_decimal(percent: f64) -> Option<Self> {
        let bps = percent * 100.0;
        let whole = bps.round();
        let exact = (bps - whole).abs() < 1e-6;
        (percent.is_finite() && exact && (0.0..=f64::from(u32::MAX)).contains(&whole))
            .then_some(Self(whole as u32))
    }

    /// The number of basis points: 1,250 for 12.5%.
    pub const fn bps(self) -> u32 {
        self.0
    }

    /// This share of `amount`, rounded half away from zero to the minor unit — the same rule the
    /// host uses when it applies a percent adjustment, so a plugin's arithmetic matches the quote.
    pub fn of(self, amount: &Money) -> Money {
        Money::new(percent_of(amount.amount, self.0), amount.currency.clone())
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_multiple_of(100) {
            write!(f, "{}%", self.0 / 100)
        } else {
            write!(f, "{}.{:02}%", self.0 / 100, self.0 % 100)
        }
    }
}

/// `amount * bps / 10_000`, rounded half away from zero; computed in i128 so it cannot overflow.
fn percent_of(amount: i64, bps: u32) -> i64 {
    let product = i128::from(amount) * i128::from(bps);
    let half = if product < 0 { -5_000 } else { 5_000 };
    let rounded = (product + half) / 10_000;
    i64::try_from(rounded).unwrap_or(if rounded < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_rounds_half_away_from_zero() {
        assert_eq!(Percent::from_bps(1_000).of(&Money::inr(1_005)).amount, 101); // 100.5
        assert_eq!(Percent::from_bps(1_000).of(&Money::inr(1_004)).amount, 100); // 100.4
        assert_eq!(
            Percent::from_bps(1_000).of(&Money::inr(-1_005)).amount,
            -101
        );
        assert_eq!(Percent::HUNDRED.of(&Money::inr(i64::MAX)).amount, i64::MAX);
    }

    #[test]
    fn percent_from_a_decimal_is_exact_or_refused() {
        assert_eq!(Percent::from_decimal(12.5), Some(Percent::from_bps(1_250)));
        assert_eq!(Percent::from_decimal(10.0), Some(Percent::from_percent(10)));
        assert_eq!(Percent::from_decimal(0.07), Some(Percent::from_bps(7)));
        assert_eq!(
            Percent::from_decimal(12.345),
            None,
            "finer than a basis point"
        );
        assert_eq!(Percent::from_decimal(-1.0), None);
        assert_eq!(Percent::from_decimal(f64::NAN), None);
        assert_eq!(Percent::from_decimal(1e12), None);
        assert_eq!(Percent::from_bps(1_250).to_string(), "12.50%");
        assert_eq!(Percent::from_percent(10).to_string(), "10%");
        assert_eq!(
            serde_json::to_string(&Percent::from_bps(1_250)).unwrap(),
            "1250"
        );
    }

    #[test]
    fn arithmetic_refuses_mixed_currencies_and_overflow() {
        let inr = Money::inr(100);
        let usd = Money::new(100, "USD");
        assert!(matches!(
            inr.checked_add(&usd),
            Err(MoneyError::CurrencyMismatch { .. })
        ));
        assert_eq!(Money::inr(i64::MAX).times(2), Err(MoneyError::Overflow));
        assert_eq!(inr.times(3).unwrap(), Money::inr(300));
    }

    #[test]
    fn displays_in_major_units() {
        assert_eq!(Money::inr(12_345).to_string(), "INR 123.45");
        assert_eq!(Money::inr(-5).to_string(), "INR -0.05");
        assert_eq!(Percent::from_bps(1_250).to_string(), "12.50%");
        assert_eq!(Percent::from_percent(5).to_string(), "5%");
    }
}
