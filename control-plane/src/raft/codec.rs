//! Encoding of Raft payloads and metadata: bincode 2 (serde) for our own and openraft's types.
//! Both ends of the replica plane run the same build, so the encoding need not be self-describing.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Encodes a value with bincode's standard configuration.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, std::io::Error> {
    bincode::serde::encode_to_vec(value, bincode::config::standard())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))
}

/// Decodes a value encoded by [`encode`]; trailing bytes are an error.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, std::io::Error> {
    let (value, read) = bincode::serde::decode_from_slice(bytes, bincode::config::standard())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
    if read != bytes.len() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{} trailing bytes after a {}-byte record",
                bytes.len() - read,
                read
            ),
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_trailing_bytes() {
        let bytes = encode(&(7u64, "x".to_string())).unwrap();
        let back: (u64, String) = decode(&bytes).unwrap();
        assert_eq!(back, (7, "x".to_string()));
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode::<(u64, String)>(&longer)
            .unwrap_err()
            .to_string()
            .contains("trailing"));
    }
}
