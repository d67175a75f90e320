//! The contract's hooks, one module each: everything the runtime knows of a hook is in its
//! module (its name and the contract version that brought it, its export in every version that
//! has it, what it is given and how that is sized and checked, the checks on what it answers,
//! its input in a `mandi plugin run` file). [`Plugin::call`] runs any of them with one shared
//! life (store, limits, instantiate, classify, check); the typed entry points (`Plugin::price`,
//! ...) are one line each in their hook's module.
//!
//! Adding a hook is its module here and its line in `hooks!` below; nothing else in the runtime
//! names hooks one by one.

use std::any::Any;
use std::fmt;

use mandi_sdk::{Context, PricedCart, RunInput};
use wasmtime::Store;
use wasmtime::component::{Instance, InstancePre};

use super::bindings::GuestResult;
use super::guard::WireSize;
use super::inspect::{Contract, LoadError};
use super::state::CallState;
use super::{CallSettings, HookRun, InputCheck, Plugin};

/// Declares the hooks: the [`Hook`] enum (in checkout order) and the one place that goes from
/// a [`Hook`] value to its module's [`HookCall`] type.
macro_rules! hooks {
    ($($(#[$doc:meta])* $variant:ident => $module:ident::$call:ident,)+) => {
        $(mod $module;)+

        /// One of the checkout pipeline's extension points.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Hook {
            $($(#[$doc])* $variant,)+
        }

        impl Hook {
            /// Every hook, in the order a checkout runs them.
            pub const ALL: [Hook; [$(Hook::$variant),+].len()] = [$(Hook::$variant),+];

            /// The hook's name, as requests, run history and metrics labels spell it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Hook::$variant => <$module::$call as HookCall>::NAME,)+
                }
            }

            /// The contract version that introduced the hook.
            pub fn since(self) -> Contract {
                match self {
                    $(Hook::$variant => <$module::$call as HookCall>::SINCE,)+
                }
            }

            /// Hands the hook's [`HookCall`] type to `visitor`.
            fn visit<V: HookVisitor>(self, visitor: V) -> V::Output {
                match self {
                    $(Hook::$variant => visitor.visit::<$module::$call>(),)+
                }
            }
        }
    };
}

hooks! {
    /// Expands bundles into their parts, or merges parts into bundles, before pricing.
    CartTransform => cart_transform::CartTransform,
    /// Adjustments and free items for the cart at catalog prices.
    Pricing => pricing::Pricing,
    /// Rules the priced cart must satisfy before it can be ordered.
    Validation => validation::Validation,
    /// How the order is delivered, from which nodes, at what cost.
    Fulfillment => fulfillment::Fulfillment,
    /// Which payment methods the shopper is offered, under which names, in which order.
    Payment => payment::Payment,
}

impl Hook {
    /// Every hook's name, for messages: `pricing, validation, fulfillment or payment`.
    pub fn names() -> String {
        let names = Hook::ALL.map(Hook::as_str);
        let (last, rest) = names.split_last().expect("there are hooks");
        format!("{} or {last}", rest.join(", "))
    }

    /// Position in [`ALL`](Self::ALL), for tables indexed by hook.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Hook {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Hook::ALL
            .into_iter()
            .find(|h| h.as_str() == s)
            .ok_or_else(|| format!("unknown hook `{s}`: expected {}", Hook::names()))
    }
}

impl serde::Serialize for Hook {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Hook {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// Code generic over a hook's [`HookCall`] type, run for a [`Hook`] value by [`Hook::visit`].
trait HookVisitor {
    type Output;
    fn visit<H: HookCall>(self) -> Self::Output;
}

/// One hook of the contract, as the runtime calls it.
pub(crate) trait HookCall: 'static {
    /// Which hook this is.
    const HOOK: Hook;
    /// Its name (kebab-case, as the contract's interface).
    const NAME: &'static str;
    /// The contract version that introduced it.
    const SINCE: Contract;
    /// What the hook is given besides the context, borrowed from the caller.
    type Input<'a>: Copy;
    /// What it answers, once checked.
    type Output: WireSize + serde::Serialize;
    /// Its export in a component, in the bindings of the component's contract version.
    type Exports: GuestExports;

    /// The input's size as the plugin receives it (see `WireSize`).
    fn input_size(input: Self::Input<'_>) -> usize;
    /// Every amount of the input is in the cart's currency (amounts cross as bare minor units).
    fn input_currencies(input: Self::Input<'_>) -> Result<(), String>;
    /// Calls the export.
    fn call_guest(
        exports: &Self::Exports,
        store: &mut Store<CallState>,
        instance: &Instance,
        ctx: &Context,
        input: Self::Input<'_>,
    ) -> GuestResult<Self::Output>;
    /// The contract's rules for the output; a breach is the call's `invalid-output`.
    fn check_output(output: &Self::Output, input: Self::Input<'_>) -> Result<(), String>;
    /// The hook's input in a `mandi plugin run` file (`priced` is its priced cart, or the cart
    /// at catalog prices).
    fn from_run_input<'a>(input: &'a RunInput, priced: &'a PricedCart) -> Self::Input<'a>;
}

/// A hook's export in every contract version that has it (see `guest_exports!`).
pub(crate) trait GuestExports: Send + Sync + Sized + 'static {
    /// Finds the export in a component built against `contract`.
    fn find(contract: Contract, pre: &InstancePre<CallState>) -> wasmtime::Result<Self>;
    /// Type-checks it against the contract on a live instance.
    fn check(&self, store: &mut Store<CallState>, instance: &Instance) -> wasmtime::Result<()>;
}

/// Declares a hook module's `Exports`: its interface's generated `GuestIndices` in each
/// contract version that has the hook (`Version: bindings module`).
macro_rules! guest_exports {
    ($interface:ident in $($version:ident: $bindings:ident),+) => {
        pub(crate) enum Exports {
            $($version(
                crate::runtime::bindings::$bindings::exports::mandi::commerce::$interface::GuestIndices,
            ),)+
        }

        impl crate::runtime::hooks::GuestExports for Exports {
            fn find(
                contract: crate::runtime::Contract,
                pre: &wasmtime::component::InstancePre<crate::runtime::state::CallState>,
            ) -> wasmtime::Result<Self> {
                match contract {
                    $(crate::runtime::Contract::$version => {
                        crate::runtime::bindings::$bindings::exports::mandi::commerce::$interface::GuestIndices::new(pre)
                            .map(Self::$version)
                    })+
                    #[allow(unreachable_patterns)]
                    other => Err(wasmtime::format_err!(
                        "{other} has no {} interface",
                        stringify!($interface)
                    )),
                }
            }

            fn check(
                &self,
                store: &mut wasmtime::Store<crate::runtime::state::CallState>,
                instance: &wasmtime::component::Instance,
            ) -> wasmtime::Result<()> {
                match self {
                    $(Self::$version(ix) => ix.load(store, instance).map(drop),)+
                }
            }
        }
    };
}
use guest_exports;

/// A component's exports of the hooks it has, found when it is linked: each is its hook
/// module's `Exports`, kept behind `Any` so that this table needs no field per hook.
pub(crate) struct HookExports([Option<Box<dyn Any + Send + Sync>>; Hook::ALL.len()]);

impl HookExports {
    /// Finds `hooks` in a component built against `contract` (a version `inspect` accepted,
    /// and hooks it has).
    pub(super) fn find(
        contract: Contract,
        pre: &InstancePre<CallState>,
        hooks: &[Hook],
    ) -> Result<Self, LoadError> {
        struct Find<'a>(Contract, &'a InstancePre<CallState>);
        impl HookVisitor for Find<'_> {
            type Output = Result<Box<dyn Any + Send + Sync>, LoadError>;
            fn visit<H: HookCall>(self) -> Self::Output {
                let exports =
                    H::Exports::find(self.0, self.1).map_err(|e| signature(H::HOOK, e))?;
                Ok(Box::new(exports))
            }
        }
        let mut table = Self(Default::default());
        for &hook in hooks {
            table.0[hook.index()] = Some(hook.visit(Find(contract, pre))?);
        }
        Ok(table)
    }

    /// Type-checks every export on a live instance, so a mismatched component is refused when
    /// it is loaded rather than failing every call.
    pub(super) fn check(
        &self,
        store: &mut Store<CallState>,
        instance: &Instance,
    ) -> Result<(), LoadError> {
        struct Check<'a>(&'a HookExports, &'a mut Store<CallState>, &'a Instance);
        impl HookVisitor for Check<'_> {
            type Output = Result<(), LoadError>;
            fn visit<H: HookCall>(self) -> Self::Output {
                match self.0.get::<H>() {
                    Some(exports) => {
                        (exports.check(self.1, self.2)).map_err(|e| signature(H::HOOK, e))
                    }
                    None => Ok(()),
                }
            }
        }
        for hook in Hook::ALL {
            hook.visit(Check(self, &mut *store, instance))?;
        }
        Ok(())
    }

    fn get<H: HookCall>(&self) -> Option<&H::Exports> {
        let exports = self.0[H::HOOK.index()].as_ref()?;
        Some(
            exports
                .downcast_ref()
                .expect("a hook's slot holds its own exports"),
        )
    }
}

fn signature(hook: Hook, e: wasmtime::Error) -> LoadError {
    LoadError::HookSignature {
        hook,
        message: format!("{e:#}"),
    }
}

impl Plugin {
    /// Runs hook `H`. Panics if the component does not export it: check
    /// [`has_hook`](Self::has_hook) (deployments are only made to hooks a component has).
    pub(crate) fn call<H: HookCall>(
        &self,
        call: CallSettings<'_>,
        ctx: &Context,
        input: H::Input<'_>,
    ) -> HookRun<H::Output> {
        let exports = self.inner.hooks.get::<H>().unwrap_or_else(|| {
            panic!(
                "plugin {} does not export the {} hook",
                self.digest(),
                H::HOOK
            )
        });
        let check = InputCheck {
            size: ctx.wire_size() + H::input_size(input),
            currencies: H::input_currencies(input),
        };
        self.run(
            call,
            ctx,
            check,
            |store, instance| H::call_guest(exports, store, instance, ctx, input),
            |output| H::check_output(output, input),
        )
    }

    /// Runs `hook` on a `mandi plugin run` input; the output as JSON, as the CLI prints it.
    pub fn run_input(
        &self,
        hook: Hook,
        call: CallSettings<'_>,
        ctx: &Context,
        input: &RunInput,
    ) -> HookRun<serde_json::Value> {
        struct Json<'a>(&'a Plugin, CallSettings<'a>, &'a Context, &'a RunInput);
        impl HookVisitor for Json<'_> {
            type Output = HookRun<serde_json::Value>;
            fn visit<H: HookCall>(self) -> Self::Output {
                let Json(plugin, call, ctx, input) = self;
                let priced = (input.priced_cart.clone())
                    .unwrap_or_else(|| PricedCart::unadjusted(input.cart.clone()));
                plugin
                    .call::<H>(call, ctx, H::from_run_input(input, &priced))
                    .and_then(|output| {
                        Ok(serde_json::to_value(output).expect("contract types serialize"))
                    })
            }
        }
        hook.visit(Json(self, call, ctx, input))
    }
}
