//! Fingerprint newtypes: a SHA-256 is never confused with a SHA-1 or an MD5.

use std::fmt;

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};

macro_rules! fingerprint {
    ($(#[$doc:meta])* $name:ident, $hasher:ty, $len:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name([u8; $len]);

        impl $name {
            /// The fingerprint of `der`.
            pub fn of(der: &[u8]) -> Self {
                Self(<$hasher>::digest(der).into())
            }

            /// The raw digest bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }

            /// Lower-case hex without separators.
            pub fn hex(&self) -> String {
                self.0.iter().map(|b| format!("{b:02x}")).collect()
            }

            /// Parses hex in either case, with or without `:` between bytes (as `openssl x509
            /// -fingerprint` prints it); `None` unless it is exactly the digest's length.
            pub fn from_hex(text: &str) -> Option<Self> {
                let digits: Vec<u8> = text.bytes().filter(|b| *b != b':').collect();
                if digits.len() != 2 * $len || !digits.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                let mut out = [0u8; $len];
                for (i, pair) in digits.chunks(2).enumerate() {
                    let hex = std::str::from_utf8(pair).ok()?;
                    out[i] = u8::from_str_radix(hex, 16).ok()?;
                }
                Some(Self(out))
            }

            /// Lower-case hex with `:` between bytes, as certifi writes it.
            pub fn colon_hex(&self) -> String {
                self.0.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.hex())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.hex())
            }
        }
    };
}

fingerprint!(
    /// SHA-256 of a certificate's DER: its identity everywhere in trustbake.
    Sha256Fingerprint, Sha256, 32
);
fingerprint!(
    /// SHA-1 of a certificate's DER (certifi comments, JKS and OpenSSL tooling).
    Sha1Fingerprint, Sha1, 20
);
fingerprint!(
    /// MD5 of a certificate's DER (certifi comments).
    Md5Fingerprint, Md5, 16
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_hex_and_colon_hex() {
        let fp = Sha1Fingerprint::of(b"abc");
        assert_eq!(fp.hex(), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert!(fp.colon_hex().starts_with("a9:99:3e:36:"));
        assert_eq!(
            Md5Fingerprint::of(b"").hex(),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
    }
}
