//! Test carts: carts a tenant keeps with the outcome each must have. Every deployment is tried on
//! all of them first, with the candidate in place of the hook's live version and the tenant's
//! other hooks as they are; a deploy whose candidate changes an outcome is refused unless forced,
//! and what the check found is recorded with the deployment.

use serde::{Deserialize, Serialize};

use super::checkout::{Checkout, CheckoutError, CheckoutRequest, QuoteView};
use crate::runtime::{Hook, HookFailure};
use crate::store::{DeploymentRecord, Tenant, TestCartCheck, TestCartFailure, TestCartRecord};

/// Test carts a tenant may keep: each is quoted on every deploy.
pub const MAX_TEST_CARTS: usize = 100;

/// A cart and the outcome its quote must have.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestCart {
    /// The cart, exactly as `POST /v1/quotes` takes it.
    pub cart: CheckoutRequest,
    /// What its quote must be; left out, only that it is quoted with no hook failing.
    #[serde(default)]
    pub expect: Expectation,
}

/// What a test cart's quote must be. Each field left out is not checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// `quoted` (the default): answered, with no hook failing or skipped for failing;
    /// `rejected`: a plugin refuses the cart (422 `plugin-rejected`).
    #[serde(default)]
    pub outcome: ExpectedOutcome,
    /// With `rejected`: the refusal's code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection_code: Option<String>,
    /// Exactly these adjustments, in any order: code and minor units taken off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adjustments: Option<Vec<ExpectedAdjustment>>,
    /// Exactly these violation codes, in any order (`[]`: the cart may be ordered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub violations: Option<Vec<String>>,
    /// The code of the first delivery option offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<String>,
    /// The quote's total, minor units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ExpectedOutcome {
    #[default]
    Quoted,
    Rejected,
}

/// An adjustment a test cart's quote must have.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct ExpectedAdjustment {
    pub code: String,
    /// Minor units taken off.
    pub amount: i64,
}

impl Expectation {
    /// Contradictions a caller should hear about when saving the cart, not at the next deploy.
    pub fn check(&self) -> Result<(), String> {
        let rejected = self.outcome == ExpectedOutcome::Rejected;
        let about_quote = self.adjustments.is_some()
            || self.violations.is_some()
            || self.delivery.is_some()
            || self.total.is_some();
        match (rejected, self.rejection_code.is_some(), about_quote) {
            (false, true, _) => {
                Err("`rejection_code` goes with `\"outcome\": \"rejected\"`".into())
            }
            (true, _, true) => Err(
                "a rejected cart has no quote: `adjustments`, `violations`, `delivery` and \
                 `total` go with `\"outcome\": \"quoted\"`"
                    .into(),
            ),
            _ => Ok(()),
        }
    }

    /// How `result` differs from what is expected; empty when it is as expected.
    pub fn mismatches(&self, result: &Result<QuoteView, CheckoutError>) -> Vec<String> {
        let quote = match (self.outcome, result) {
            (ExpectedOutcome::Quoted, Ok(quote)) => quote,
            (ExpectedOutcome::Rejected, Err(CheckoutError::HookFailed(failed))) => {
                return match &failed.failure {
                    HookFailure::PluginError { code, .. } => match &self.rejection_code {
                        Some(expected) if expected != code => {
                            vec![format!("rejected with `{code}`, expected `{expected}`")]
                        }
                        _ => Vec::new(),
                    },
                    _ => vec![format!("expected a rejection, the {failed}")],
                };
            }
            (ExpectedOutcome::Rejected, Ok(_)) => {
                return vec!["quoted, expected a rejection".into()];
            }
            (ExpectedOutcome::Quoted, Err(err)) => return vec![format!("not quoted: {err}")],
            (ExpectedOutcome::Rejected, Err(err)) => {
                return vec![format!("expected a rejection, not quoted: {err}")];
            }
        };
        let mut found = Vec::new();
        for (hook, error) in (quote.trace.iter()).filter_map(|t| Some((t.hook, t.error.as_ref()?)))
        {
            let error = serde_json::to_value(error).unwrap_or_default();
            found.push(format!(
                "the {hook} hook failed ({}) and was skipped",
                error["kind"].as_str().unwrap_or("failed")
            ));
        }
        if let Some(expected) = &self.adjustments {
            let mut expected = expected.clone();
            let mut got: Vec<ExpectedAdjustment> = (quote.adjustments.iter())
                .map(|a| ExpectedAdjustment {
                    code: a.code.clone(),
                    amount: a.amount,
                })
                .collect();
            expected.sort();
            got.sort();
            if got != expected {
                found.push(format!(
                    "adjustments {}, expected {}",
                    adjustments(&got),
                    adjustments(&expected)
                ));
            }
        }
        if let Some(expected) = &self.violations {
            let mut expected = expected.clone();
            let mut got: Vec<String> = quote.violations.iter().map(|v| v.code.clone()).collect();
            expected.sort();
            got.sort();
            if got != expected {
                found.push(format!("violations {got:?}, expected {expected:?}"));
            }
        }
        if let Some(expected) = &self.delivery {
            let got = quote.delivery_options.first().map(|o| o.code.as_str());
            if got != Some(expected.as_str()) {
                found.push(format!(
                    "delivery `{}`, expected `{expected}`",
                    got.unwrap_or("none")
                ));
            }
        }
        if let Some(expected) = self.total
            && quote.totals.total != expected
        {
            found.push(format!("total {}, expected {expected}", quote.totals.total));
        }
        found
    }
}

fn adjustments(list: &[ExpectedAdjustment]) -> String {
    let items: Vec<String> = list
        .iter()
        .map(|a| format!("{} {}", a.code, a.amount))
        .collect();
    format!("[{}]", items.join(", "))
}

/// Tallies the carts' outcomes into what a deployment records; `force` counts as forced only
/// when some cart failed.
pub fn tally(results: Vec<(String, Vec<String>)>, force: bool) -> TestCartCheck {
    let run = results.len();
    let failures: Vec<TestCartFailure> = (results.into_iter())
        .filter(|(_, mismatches)| !mismatches.is_empty())
        .map(|(cart, mismatches)| TestCartFailure { cart, mismatches })
        .collect();
    TestCartCheck {
        run,
        passed: run - failures.len(),
        forced: force && !failures.is_empty(),
        failures,
    }
}

impl Checkout {
    /// Quotes every test cart of the tenant with `candidate` (a deployment not yet made) serving
    /// `hook` and the tenant's other hooks as they are; each cart's name with how its quote
    /// differs from what it expects (empty when it does not). Records nothing.
    pub async fn try_test_carts(
        &self,
        tenant: &Tenant,
        hook: Hook,
        candidate: &DeploymentRecord,
    ) -> Result<Vec<(String, Vec<String>)>, CheckoutError> {
        let carts: Vec<TestCartRecord<TestCart>> = (self.store().test_carts(&tenant.id))
            .await
            .map_err(CheckoutError::Store)?;
        if carts.is_empty() {
            return Ok(Vec::new());
        }
        let hooks = (self.deployments())
            .with_candidate(&tenant.id, hook, candidate)
            .await?;
        let mut results = Vec::with_capacity(carts.len());
        for record in carts {
            let request_id = format!("test-cart:{}", record.name);
            let quote =
                (self.trial_quote(tenant, &record.body.cart, &request_id, hooks.clone())).await;
            results.push((record.name, record.body.expect.mismatches(&quote)));
        }
        Ok(results)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deploy_is_forced_only_over_failing_carts() {
        let passing = vec![("a".to_owned(), Vec::new())];
        let check = tally(passing.clone(), true);
        assert_eq!((check.run, check.passed, check.forced), (1, 1, false));
        let failing = vec![
            ("a".to_owned(), Vec::new()),
            ("b".to_owned(), vec!["total".into()]),
        ];
        let check = tally(failing.clone(), true);
        assert_eq!((check.run, check.passed, check.forced), (2, 1, true));
        assert_eq!(check.failures[0].cart, "b");
        assert!(!tally(failing, false).forced);
    }
}
