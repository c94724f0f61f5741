//! Behaviour tests of the mixdown: one test binary; inputs are generated with hound into temporary directories.

mod codecs;
mod errors;
mod helpers;
mod mixing;
mod stems;
