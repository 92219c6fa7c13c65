//! One Rego lint rule per file. Each reads the parsed modules through [`Context`] and reports.

mod constant_condition;
mod default_deny;
mod no_tests;
mod print_call;
mod shadowed_builtin;
mod unknown_function;
mod unknown_input;
mod unused_rule;

use super::Context;
use crate::diagnostics::Diagnostics;

pub(crate) fn check(context: &Context<'_>, out: &mut Diagnostics) {
    default_deny::check(context, out);
    unknown_function::check(context, out);
    constant_condition::check(context, out);
    shadowed_builtin::check(context, out);
    unused_rule::check(context, out);
    unknown_input::check(context, out);
    print_call::check(context, out);
    no_tests::check(context, out);
}
