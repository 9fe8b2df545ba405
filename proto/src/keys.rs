//! Key helpers shared by clients and servers: prefix range ends and key validation.

/// Largest value accepted by the store (larger values are refused with a clear error).
pub const MAX_VALUE_BYTES: usize = 1536 * 1024;

/// Largest key accepted by the store.
pub const MAX_KEY_BYTES: usize = 4096;

/// Why a key is not acceptable to the store.
pub fn validate_key(key: &[u8]) -> Result<(), String> {
    if key.is_empty() {
        return Err("key is empty".into());
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(format!(
            "key is {} bytes; the limit is {MAX_KEY_BYTES}",
            key.len()
        ));
    }
    if let Some(pos) = key.iter().position(|b| *b == 0) {
        return Err(format!(
            "key contains a NUL byte at offset {pos}; keys may not contain NUL"
        ));
    }
    Ok(())
}

/// Why a value is not acceptable to the store.
pub fn validate_value(value: &[u8]) -> Result<(), String> {
    if value.len() > MAX_VALUE_BYTES {
        return Err(format!(
            "value is {} bytes; the limit is {} bytes (1.5 MiB)",
            value.len(),
            MAX_VALUE_BYTES
        ));
    }
    Ok(())
}

/// True when `key` lies in the range selected by `start` (exact key, or prefix when `prefix`).
pub fn matches(start: &[u8], prefix: bool, key: &[u8]) -> bool {
    if prefix {
        key.starts_with(start)
    } else {
        key == start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_empty_nul_and_oversized() {
        assert!(validate_key(b"").is_err());
        assert!(validate_key(b"a\0b").unwrap_err().contains("offset 1"));
        assert!(validate_key(b"/registry/pods/default/a").is_ok());
        assert!(validate_value(&vec![0u8; MAX_VALUE_BYTES]).is_ok());
        assert!(validate_value(&vec![0u8; MAX_VALUE_BYTES + 1])
            .unwrap_err()
            .contains("1.5 MiB"));
    }

    #[test]
    fn prefix_matching() {
        assert!(matches(b"/a/", true, b"/a/b"));
        assert!(!matches(b"/a/", true, b"/b"));
        assert!(matches(b"/a", false, b"/a"));
        assert!(!matches(b"/a", false, b"/ab"));
    }
}
