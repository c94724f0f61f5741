//! Rules for uploaded files: the size limit, what counts as media (by the bytes, never the name), and safe names.

/// Largest upload accepted (spec 1.2: 100 MB).
pub const MAX_UPLOAD_BYTES: u64 = 100 * 1024 * 1024;

/// How many leading bytes [`sniff`] wants to see (fewer is fine for short files).
pub const SNIFF_BYTES: usize = 8 * 1024;

/// Longest original file name kept as metadata.
pub const MAX_FILE_NAME_CHARS: usize = 255;

/// What kind of media a file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaKind {
    /// audio/*
    Audio,
    /// image/*
    Image,
    /// video/*
    Video,
}

/// The media type of a file from its first bytes, or `None` when the bytes are not audio, image or video —
/// whatever the file is called or claims to be.
pub fn sniff(head: &[u8]) -> Option<(MediaKind, &'static str)> {
    let found = infer::get(head)?;
    let kind = match found.matcher_type() {
        infer::MatcherType::Audio => MediaKind::Audio,
        infer::MatcherType::Image => MediaKind::Image,
        infer::MatcherType::Video => MediaKind::Video,
        _ => return None,
    };
    Some((kind, found.mime_type()))
}

/// Whether `c` changes the direction text is shown in (the Unicode bidirectional controls). In a file name,
/// U+202E makes `"\u{202e}vaw.exe"` display as `exe.wav`.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The original name made safe to keep and show: path parts dropped, control characters (bidirectional controls
/// included) removed, trimmed, cut to [`MAX_FILE_NAME_CHARS`]. Never used to build a storage key.
pub fn display_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let cleaned: String = last.chars().filter(|c| !c.is_control() && !is_bidi_control(*c)).collect();
    let trimmed = cleaned.trim().trim_matches('.');
    let name: String = trimmed.chars().take(MAX_FILE_NAME_CHARS).collect();
    if name.is_empty() { "upload".to_owned() } else { name }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_is_recognised_by_its_bytes() {
        let wav = [b"RIFF".as_slice(), &[0x24, 0, 0, 0], b"WAVEfmt "].concat();
        assert_eq!(sniff(&wav).map(|(k, _)| k), Some(MediaKind::Audio));
        let png = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D];
        assert_eq!(sniff(&png), Some((MediaKind::Image, "image/png")));
        assert_eq!(sniff(b"just some text that claims to be a .wav"), None);
        assert_eq!(sniff(b"%PDF-1.7\n"), None, "documents are not media");
        assert_eq!(sniff(&[]), None);
    }

    #[test]
    fn names_keep_no_path_and_no_control_characters() {
        assert_eq!(display_name("../../etc/passwd"), "passwd");
        assert_eq!(display_name("C:\\Users\\x\\beat.wav"), "beat.wav");
        assert_eq!(display_name("a\0b\nc.wav"), "abc.wav");
        assert_eq!(display_name("\u{202e}vaw.exe"), "vaw.exe", "a right-to-left override cannot disguise .exe");
        assert_eq!(display_name("x\u{2066}y\u{2069}\u{200f}.wav"), "xy.wav");
        assert_eq!(display_name("שיר.wav"), "שיר.wav", "right-to-left letters stay");
        assert_eq!(display_name(".."), "upload");
        assert_eq!(display_name(&"x".repeat(300)).chars().count(), MAX_FILE_NAME_CHARS);
    }
}
