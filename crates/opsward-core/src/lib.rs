//! opsward's domain: the types every practice shares and the pure rules over them.
//!
//! Nothing here touches the network, the disk or a clock of its own; callers pass time in.
//! That keeps the rules testable and lets the store, the server and the CLI agree on one model.

pub mod actor;
pub mod asset;
pub mod asset_csv;
pub mod audit;
pub mod contract;
pub mod host_inventory;
pub mod job;
pub mod label;
pub mod page;
pub mod people;
pub mod practice;
pub mod priority;
pub mod role;
pub mod untrusted;
pub mod user;
pub mod validation;
pub mod work_items;

pub use actor::Actor;
pub use role::Role;
pub use validation::{FieldError, ValidationError};

/// `Name { Variant => "text", .. }`: a snake_case enum for a closed set of values, with
/// `ALL`, `as_str`, `Display`, serde and OpenAPI forms, and a `FromStr` that ignores case,
/// takes `-` for `_` and lists the accepted values when it refuses one. Every practice's
/// kinds and states are declared with it.
///
/// `label()` is what people read: the text with its first letter capitalised and `_` as
/// spaces ("in_progress" reads "In progress"), or the label written after `as` where that
/// reads better (`WaitingCustomer => "waiting_customer" as "Waiting for the customer"`).
/// `as_str` stays the stored and API form.
#[macro_export]
macro_rules! text_enum {
    (@label $text:literal as $label:literal) => { $label };
    (@label $text:literal) => {{
        const TEXT: &str = $text;
        const BYTES: [u8; TEXT.len()] = $crate::label::humanise_bytes(TEXT);
        const LABEL: &str = match ::core::str::from_utf8(&BYTES) {
            Ok(label) => label,
            Err(_) => TEXT,
        };
        LABEL
    }};
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal $(as $label:literal)?),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ::serde::Serialize, ::serde::Deserialize, ::utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            /// What people read in lists, filters and history.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $crate::text_enum!(@label $text $(as $label)?)),+ }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result { f.write_str(self.as_str()) }
        }

        impl ::std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                let wanted = s.trim().to_ascii_lowercase().replace('-', "_");
                $name::ALL.iter().copied().find(|v| v.as_str() == wanted).ok_or_else(|| {
                    let names: Vec<_> = $name::ALL.iter().map(|v| v.as_str()).collect();
                    format!("{s:?} is not one of {}", names.join(", "))
                })
            }
        }
    };
}
