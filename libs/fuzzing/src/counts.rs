//! Counts of what succeeded, per input and summed over a run.

/// Counts that can be summed; declare them with [`counts!`](crate::counts!).
pub trait Counts: Default + std::fmt::Debug {
    /// Adds `other` to `self`, field by field.
    fn add(&mut self, other: &Self);
}

/// Declares a struct of `u64` counters that implements [`Counts`]:
///
/// ```
/// fuzzing::counts! {
///     /// What the parser made of the inputs.
///     pub struct Parsed { documents, errors }
/// }
/// let mut total = Parsed::default();
/// fuzzing::Counts::add(&mut total, &Parsed { documents: 2, errors: 1 });
/// assert_eq!(total, Parsed { documents: 2, errors: 1 });
/// ```
#[macro_export]
macro_rules! counts {
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($(#[$field_meta:meta])* $field:ident),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Default, Clone, PartialEq, Eq)]
        $vis struct $name {
            $($(#[$field_meta])* pub $field: u64,)*
        }

        impl $crate::Counts for $name {
            fn add(&mut self, other: &Self) {
                $(self.$field += other.$field;)*
            }
        }
    };
}
