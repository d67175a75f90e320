//! What the checkout API returns about adjustments, violations, delivery options, hook runs and
//! orders: the host's own types, built from the pipeline's values. The plugin contract's types
//! (`mandi_sdk`) stay behind this boundary, so a change to the contract never changes the API
//! unnoticed, and every field the API returns has a schema in the OpenAPI document.

use mandi_sdk::{DeliveryOption, Target, Violation};
use serde::{Deserialize, Deserializer, Serialize};

use super::{AppliedAdjustment, HookTrace, LineView, RequestAddress, RequestCustomer, Source};
use crate::runtime::{Hook, HookFailure};
use crate::store::PaymentMethod;

/// A cart-transform operation as applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TransformView {
    /// `expand` (a bundle line into its parts) or `merge` (parts into a bundle line).
    #[schema(value_type = TransformOp)]
    pub op: &'static str,
    /// The bundle: the sku expanded, or the sku merged into.
    pub bundle_sku: String,
    /// The plugin's code for it, e.g. `COMBO`; an expansion's bundle discount carries it too.
    pub code: String,
    pub message: String,
    /// Indexes of the quote's lines the operation made (an expansion's parts, a merge's
    /// bundle line).
    pub lines: Vec<u32>,
    pub source: SourceView,
}

impl From<super::AppliedTransform<Source>> for TransformView {
    fn from(t: super::AppliedTransform<Source>) -> Self {
        Self {
            op: t.op,
            bundle_sku: t.bundle_sku,
            code: t.code,
            message: t.message,
            lines: t.lines,
            source: t.source.into(),
        }
    }
}

/// What a cart-transform operation did (schema only).
#[derive(Debug, utoipa::ToSchema)]
#[schema(rename_all = "kebab-case")]
pub enum TransformOp {
    Expand,
    Merge,
}

/// Which deployment, and which version of its plugin, produced something.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SourceView {
    pub deployment_id: String,
    /// The plugin's content digest, `sha256:...`.
    pub plugin: String,
    /// The deployment's version in its hook's history (which config it ran with); 0 in
    /// orders placed before versions were recorded.
    #[serde(default)]
    pub version: i64,
}

impl From<Source> for SourceView {
    fn from(source: Source) -> Self {
        Self {
            deployment_id: source.deployment_id,
            plugin: source.plugin,
            version: source.version,
        }
    }
}

/// What an adjustment applies to: one line (`{"line": 0}`) or the whole order (`"order"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentTarget {
    /// The line at this index of the quote's `lines`.
    Line(u32),
    /// The order as a whole, spread over its lines.
    Order,
}

/// An amount as a plugin asked for it: minor units of an ISO 4217 currency (always the
/// quote's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AmountView {
    pub amount: i64,
    pub currency: String,
}

/// What an adjustment asked for, with its value: e.g. `{"percent_off": 1000}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentKindView {
    /// Basis points off (1000 is 10%).
    PercentOff(u32),
    /// A fixed amount off.
    AmountOff(AmountView),
    /// A new unit price in place of the catalog's.
    PriceOverride(AmountView),
}

/// An adjustment a pricing plugin asked for, with what it actually took off and the
/// deployment that asked for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AdjustmentView {
    pub target: AdjustmentTarget,
    pub kind: AdjustmentKindView,
    /// The plugin's code for it, e.g. a promotion id.
    pub code: String,
    /// For the shopper.
    pub message: String,
    /// Minor units actually taken off (for a price override: the saving against the catalog
    /// price; negative when the override raises the price).
    pub amount: i64,
    /// True when a guardrail reduced what the adjustment asked for.
    pub capped: bool,
    pub source: SourceView,
}

impl From<AppliedAdjustment<Source>> for AdjustmentView {
    fn from(applied: AppliedAdjustment<Source>) -> Self {
        let adjustment = applied.adjustment;
        let amount = |m: mandi_sdk::Money| AmountView {
            amount: m.amount,
            currency: m.currency,
        };
        Self {
            target: match adjustment.target {
                Target::Line(line) => AdjustmentTarget::Line(line),
                Target::Order => AdjustmentTarget::Order,
            },
            kind: match adjustment.kind {
                mandi_sdk::AdjustmentKind::PercentOff(p) => AdjustmentKindView::PercentOff(p.bps()),
                mandi_sdk::AdjustmentKind::AmountOff(m) => AdjustmentKindView::AmountOff(amount(m)),
                mandi_sdk::AdjustmentKind::PriceOverride(m) => {
                    AdjustmentKindView::PriceOverride(amount(m))
                }
            },
            code: adjustment.code,
            message: adjustment.message,
            amount: applied.amount,
            capped: applied.capped,
            source: applied.source.into(),
        }
    }
}

/// A rule the cart breaks, from a validation plugin: any violation blocks an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ViolationView {
    /// The plugin's code for the rule, e.g. `prescription-required`.
    pub code: String,
    /// For the shopper.
    pub message: String,
    /// The line at fault (an index of the quote's `lines`); null when the cart as a whole is.
    pub line: Option<u32>,
}

impl From<Violation> for ViolationView {
    fn from(violation: Violation) -> Self {
        Self {
            code: violation.code,
            message: violation.message,
            line: violation.line,
        }
    }
}

/// Which fulfillment node ships a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AssignmentView {
    /// An index of the quote's `lines`.
    pub line: u32,
    pub node_id: String,
}

/// A way to deliver the cart: which node ships each line, at what cost and how soon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeliveryOptionView {
    /// What an order names to choose it.
    pub code: String,
    /// e.g. `standard`, `express`, `pickup`.
    pub method: String,
    pub assignments: Vec<AssignmentView>,
    /// Minor units of the quote's currency, added to the order total.
    #[serde(deserialize_with = "minor_units")]
    pub cost: i64,
    pub eta_minutes: u32,
    /// For the shopper.
    pub label: String,
}

impl From<DeliveryOption> for DeliveryOptionView {
    fn from(option: DeliveryOption) -> Self {
        Self {
            code: option.code,
            method: option.method,
            assignments: (option.assignments.into_iter())
                .map(|a| AssignmentView {
                    line: a.line,
                    node_id: a.node_id,
                })
                .collect(),
            // Every amount a plugin returns is in the cart's currency (the runtime attaches it),
            // so the minor units say it all, as in the quote's totals.
            cost: option.cost.amount,
            eta_minutes: option.eta_minutes,
            label: option.label,
        }
    }
}

/// A stored delivery cost: minor units, or `{"amount", "currency"}` in orders placed before the
/// API gave costs as minor units.
fn minor_units<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Minor(i64),
        Money { amount: i64 },
    }
    Ok(match Stored::deserialize(deserializer)? {
        Stored::Minor(amount) | Stored::Money { amount } => amount,
    })
}

/// How a hook went: `ok`, `default` (no deployment: the platform's behaviour), `skipped`
/// (failed or circuit open, fail-open) or `failed` (fail-closed). (Schema only: the pipeline
/// names outcomes with these words.)
#[derive(Debug, utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum TraceOutcome {
    Ok,
    Default,
    Skipped,
    Failed,
}

/// Why a hook call did not produce a usable output; `kind` is stable (it is also the run's
/// `error_kind`), the other fields depend on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum HookErrorView {
    /// Ran past its wall-clock deadline.
    Timeout { deadline_ms: u64 },
    /// Used up its fuel budget.
    FuelExhausted { max_fuel: u64 },
    /// Tried to grow its memory past the limit.
    MemoryLimit { limit_bytes: u64 },
    /// Trapped (a panic, an unreachable instruction, ...).
    Trap { message: String },
    /// Returned output the contract does not allow.
    InvalidOutput { message: String },
    /// Refused the cart with its own error.
    PluginError { code: String, message: String },
    /// Was given input it could not take.
    InvalidInput { message: String },
    /// Its input was larger than its deployment allows.
    InputTooLarge { bytes: u64, limit_bytes: u64 },
    /// No instance slot was free.
    Overloaded { message: String },
    /// Not called: its deployment failed repeatedly.
    CircuitOpen { retry_after_ms: u64 },
}

impl From<HookFailure> for HookErrorView {
    fn from(failure: HookFailure) -> Self {
        match failure {
            HookFailure::Timeout { deadline_ms } => Self::Timeout { deadline_ms },
            HookFailure::FuelExhausted { max_fuel } => Self::FuelExhausted { max_fuel },
            HookFailure::MemoryLimit { limit_bytes } => Self::MemoryLimit { limit_bytes },
            HookFailure::Trap { message } => Self::Trap { message },
            HookFailure::InvalidOutput { message } => Self::InvalidOutput { message },
            HookFailure::PluginError { code, message } => Self::PluginError { code, message },
            HookFailure::InvalidInput { message } => Self::InvalidInput { message },
            HookFailure::InputTooLarge { bytes, limit_bytes } => Self::InputTooLarge {
                bytes: bytes as u64,
                limit_bytes: limit_bytes as u64,
            },
            HookFailure::Overloaded { message } => Self::Overloaded { message },
            HookFailure::CircuitOpen { retry_after_ms } => Self::CircuitOpen { retry_after_ms },
        }
    }
}

/// One hook of a checkout: which deployment ran, how it went and what it cost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct HookTraceView {
    #[schema(value_type = HookName)]
    pub hook: Hook,
    /// Null when the platform default ran.
    pub source: Option<SourceView>,
    #[schema(value_type = TraceOutcome)]
    pub outcome: &'static str,
    /// Why the call failed; absent when it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<HookErrorView>,
    pub duration_us: u64,
    pub fuel_used: u64,
    /// The call's fuel budget (0 when no plugin ran).
    pub fuel_budget: u64,
    pub peak_memory_bytes: u64,
    /// SHA-256 of the hook's input (empty when no plugin ran): finds identical calls.
    pub input_digest: String,
}

impl From<HookTrace> for HookTraceView {
    fn from(trace: HookTrace) -> Self {
        Self {
            hook: trace.hook,
            source: trace.source.map(SourceView::from),
            outcome: trace.outcome,
            error: trace.error.map(HookErrorView::from),
            duration_us: u64::try_from(trace.duration.as_micros()).unwrap_or(u64::MAX),
            fuel_used: trace.fuel_used,
            fuel_budget: trace.fuel_budget,
            peak_memory_bytes: trace.peak_memory_bytes,
            input_digest: trace.input_digest,
        }
    }
}

/// An order's totals, in minor units of its currency: `subtotal - discount + delivery = total`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrderTotals {
    pub subtotal: i64,
    pub discount: i64,
    /// The chosen delivery option's cost.
    pub delivery: i64,
    pub total: i64,
}

/// An order as it is stored when placed, and as the `order.placed` event carries it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrderBody {
    /// `ord_...`.
    pub id: String,
    /// `placed`.
    pub status: String,
    /// The request that placed it.
    pub request_id: String,
    /// ISO 4217, the tenant's.
    pub currency: String,
    pub customer: Option<RequestCustomer>,
    pub shipping_address: Option<RequestAddress>,
    pub lines: Vec<LineView>,
    pub adjustments: Vec<AdjustmentView>,
    /// The delivery option the order chose.
    pub delivery: DeliveryOptionView,
    /// What the order pays with; null when the tenant offers no payment methods.
    // Absent in orders placed before tenants had payment methods.
    #[serde(default)]
    pub payment_method: Option<PaymentMethod>,
    pub totals: OrderTotals,
    /// True when a fail-open hook failed and was skipped.
    pub degraded: bool,
    /// Who decided what, hook by hook, in the order they ran: the deployment, plugin digest
    /// and deployment version (its config) behind the adjustments (pricing), the violation
    /// check (validation), the delivery options (fulfillment) and the rest; empty in orders
    /// placed before decisions were recorded.
    #[serde(default)]
    pub decisions: Vec<DecisionView>,
}

/// One hook's part in an order: who ran it and how it ended.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DecisionView {
    #[schema(value_type = HookName)]
    pub hook: Hook,
    /// The deployment that ran; null when the platform default decided.
    pub source: Option<SourceView>,
    /// As in the quote's trace: `ok`, `default`, `skipped` (a fail-open hook that failed).
    #[schema(value_type = TraceOutcome)]
    pub outcome: String,
    /// `sha256:...` of what the hook was given (empty when no plugin ran).
    pub input_digest: String,
}

impl From<&HookTraceView> for DecisionView {
    fn from(trace: &HookTraceView) -> Self {
        Self {
            hook: trace.hook,
            source: trace.source.clone(),
            outcome: trace.outcome.to_owned(),
            input_digest: trace.input_digest.clone(),
        }
    }
}

/// An order as the API returns it: the stored order with its key and time.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderView {
    #[serde(flatten)]
    pub order: OrderBody,
    /// The Idempotency-Key that placed it.
    pub idempotency_key: String,
    /// When it was placed: milliseconds since the Unix epoch.
    pub created_at: i64,
}

/// A hook, as a request names it: one of [`Hook::ALL`](crate::runtime::Hook::ALL). (The
/// schema-only types here describe request text that the handlers parse themselves, so a wrong
/// value gets its business code, not a generic 400.)
#[derive(Debug)]
pub struct HookName;

impl utoipa::PartialSchema for HookName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let hooks = Hook::ALL.map(Hook::as_str);
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(hooks))
            .into()
    }
}

impl utoipa::ToSchema for HookName {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Orders keep the shape they were stored in: one from before payment methods, with its
    /// delivery cost as `{amount, currency}`, still reads, its cost as minor units.
    #[test]
    fn an_order_stored_in_the_earlier_shape_still_reads() {
        let stored = serde_json::json!({
            "id": "ord_1",
            "status": "placed",
            "request_id": "req_1",
            "currency": "INR",
            "customer": null,
            "shipping_address": { "line1": "", "pincode": "400001", "city": "", "state": "", "country": "IN" },
            "lines": [{
                "line": 0, "sku": "RICE", "title": "Rice", "quantity": 2, "catalog_unit_price": 500,
                "unit_price": 500, "subtotal": 1000, "discount": 100, "total": 900
            }],
            "adjustments": [{
                "target": { "line": 0 }, "kind": { "percent_off": 1000 }, "code": "TEN",
                "message": "10% off", "amount": 100, "capped": false,
                "source": { "deployment_id": "dep_1", "plugin": "sha256:ab" }
            }],
            "delivery": {
                "code": "standard", "method": "standard",
                "assignments": [{ "line": 0, "node_id": "N1" }],
                "cost": { "amount": 4000, "currency": "INR" }, "eta_minutes": 60, "label": "Standard"
            },
            "totals": { "subtotal": 1000, "discount": 100, "delivery": 4000, "total": 4900 },
            "degraded": false
        });
        let order: OrderBody = serde_json::from_value(stored).expect("reads");
        assert_eq!(order.delivery.cost, 4000);
        assert_eq!(order.payment_method, None);
        assert_eq!(
            order.adjustments[0].kind,
            AdjustmentKindView::PercentOff(1000)
        );
        // Written again, it has the current shape.
        let written = serde_json::to_value(&order).expect("writes");
        assert_eq!(written["delivery"]["cost"], 4000);
        assert_eq!(
            written["adjustments"][0]["target"],
            serde_json::json!({ "line": 0 })
        );
        assert_eq!(written["payment_method"], serde_json::Value::Null);
    }

    /// The views give a quote's trace, adjustments and violations the JSON the pipeline's own
    /// values serialize to, so clients see the fields they always have.
    #[test]
    fn views_keep_the_fields_clients_read() {
        let source = Source {
            deployment_id: "dep_1".into(),
            plugin: "sha256:ab".into(),
            version: 2,
        };
        let trace = HookTrace {
            hook: Hook::Pricing,
            source: Some(source.clone()),
            outcome: "skipped",
            error: Some(HookFailure::FuelExhausted { max_fuel: 10 }),
            duration: std::time::Duration::from_micros(1234),
            fuel_used: 10,
            fuel_budget: 10,
            peak_memory_bytes: 65536,
            input_digest: "cafe".into(),
            logs: Vec::new(),
            logs_truncated: false,
        };
        let default = HookTrace {
            source: None,
            outcome: "default",
            error: None,
            ..trace.clone()
        };
        for t in [trace, default] {
            assert_eq!(
                serde_json::to_value(HookTraceView::from(t.clone())).expect("writes"),
                serde_json::to_value(t).expect("writes")
            );
        }
        let adjustments = [
            mandi_sdk::Adjustment::line(
                0,
                mandi_sdk::AdjustmentKind::AmountOff(mandi_sdk::Money::new(500, "INR")),
                "FIVE",
                "Rs 5 off",
            ),
            mandi_sdk::Adjustment::order(
                mandi_sdk::AdjustmentKind::PercentOff(mandi_sdk::Percent::from_percent(10)),
                "TEN",
                "10% off",
            ),
        ];
        for adjustment in adjustments {
            let applied = AppliedAdjustment {
                adjustment,
                amount: 500,
                capped: true,
                source: source.clone(),
            };
            assert_eq!(
                serde_json::to_value(AdjustmentView::from(applied.clone())).expect("writes"),
                serde_json::to_value(applied).expect("writes")
            );
        }
        for violation in [
            Violation::order("too-heavy", "over 20 kg"),
            Violation::line(1, "rx", "needs a prescription"),
        ] {
            assert_eq!(
                serde_json::to_value(ViolationView::from(violation.clone())).expect("writes"),
                serde_json::to_value(violation).expect("writes")
            );
        }
    }

    /// A hook's error reads as the pipeline has always written it: its kind, then its fields.
    #[test]
    fn a_hook_error_keeps_its_kind_and_fields() {
        let error = HookErrorView::from(HookFailure::Timeout { deadline_ms: 50 });
        assert_eq!(
            serde_json::to_value(&error).expect("writes"),
            serde_json::to_value(HookFailure::Timeout { deadline_ms: 50 }).expect("writes")
        );
        let refused = HookFailure::PluginError {
            code: "nope".into(),
            message: "no".into(),
        };
        assert_eq!(
            serde_json::to_value(HookErrorView::from(refused.clone())).expect("writes"),
            serde_json::to_value(refused).expect("writes")
        );
    }
}
