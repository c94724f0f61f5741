//! DDEX ERN messages as `omnisonic import-ern` reads them: parsed, then turned into grants.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(xml) = std::str::from_utf8(data) else { return };
    if let Ok(message) = omnisonic_domain::ddex::parse(xml) {
        let _ = message.grants();
    }
});
