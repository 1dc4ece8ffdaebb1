//! Java's PKCS12 trust stores (RFC 7292), as `keytool` writes them — what Debian's
//! ca-certificates-java makes of `/etc/ssl/certs/java/cacerts` with Java 9 and later, and the
//! JDKs' own `lib/security/cacerts` from JDK 18: a `PFX` whose authenticated safe holds the
//! trusted certificates as certificate bags (alias in `friendlyName`, Oracle's
//! `trustedKeyUsage` attribute marking them trusted), either in clear (the password-less form)
//! or encrypted with PBES2 (PBKDF2, AES-CBC: JDK 12 and later), with a MAC keyed by the
//! password `changeit` through RFC 7292's key derivation.
//!
//! Parts are kept as they are unless they change: an added certificate goes into the store's
//! PBES2-encrypted part (re-encrypted with its own salt, iterations and IV, so the result is
//! reproducible) or its clear part, else into a new clear part; the MAC is recomputed with
//! its own algorithm, salt and iterations. A part encrypted otherwise (RC2 or 3DES, JDK 11 and
//! earlier) is carried as it is and counted as unreadable.

use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, block_padding::Pkcs7};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use trustbake_certs::der;

const DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];
const ENCRYPTED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x06];
const CERT_BAG: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01, 0x03,
];
const X509_CERT: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x16, 0x01];
const FRIENDLY_NAME: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x14];
/// Oracle's `trustedKeyUsage` (2.16.840.1.113894.746875.1.1).
const TRUSTED_KEY_USAGE: &[u8] = &[
    0x60, 0x86, 0x48, 0x01, 0x86, 0xf9, 0x66, 0xad, 0xca, 0x7b, 0x01, 0x01,
];
/// anyExtendedKeyUsage (2.5.29.37.0).
const ANY_EKU: &[u8] = &[0x55, 0x1d, 0x25, 0x00];
const PBES2: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d];
const PBKDF2: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0c];
const HMAC_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x07];
const HMAC_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x09];
const AES128_CBC: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x02];
const AES256_CBC: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a];
const SHA1_OID: &[u8] = &[0x2b, 0x0e, 0x03, 0x02, 0x1a];
const SHA256_OID: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];

const PASSWORD: &str = "changeit";
/// The most iterations of a key derivation trustbake runs: a hundred times keytool's 10 000,
/// so that a hostile store cannot keep a bake busy for long.
const MAX_ITERATIONS: u64 = 1_000_000;

/// Why a PKCS12 store could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Pkcs12Error {
    /// Not a PKCS12 store, or one this module does not understand.
    #[error("not a PKCS12 trust store trustbake reads ({0})")]
    Malformed(&'static str),
    /// The MAC does not match the password `changeit`.
    #[error("the PKCS12 store's MAC does not match the password 'changeit'")]
    Integrity,
}

/// One certificate bag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertEntry {
    /// Its `friendlyName` (the alias), if any.
    pub alias: Option<String>,
    /// The certificate's DER.
    pub der: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Bag {
    Cert {
        entry: CertEntry,
        raw: Vec<u8>,
    },
    /// Any other bag (a key), carried as it is.
    Other(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Pbes2 {
    /// The `AlgorithmIdentifier` as found.
    algorithm: Vec<u8>,
    salt: Vec<u8>,
    iterations: u32,
    sha256: bool,
    key_len: usize,
    iv: Vec<u8>,
    content_type: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Clear {
        bags: Vec<Bag>,
        changed: bool,
        raw: Vec<u8>,
    },
    Encrypted {
        bags: Vec<Bag>,
        how: Pbes2,
        changed: bool,
        raw: Vec<u8>,
    },
    /// Encrypted in a way not read here: carried as it is.
    Opaque(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Mac {
    sha256: bool,
    salt: Vec<u8>,
    iterations: u32,
}

/// A parsed PKCS12 trust store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pkcs12 {
    parts: Vec<Part>,
    mac: Option<Mac>,
}

fn bad(what: &'static str) -> Pkcs12Error {
    Pkcs12Error::Malformed(what)
}

fn tlv<'a>(
    bytes: &'a [u8],
    tag: u8,
    what: &'static str,
) -> Result<(der::Tlv<'a>, &'a [u8]), Pkcs12Error> {
    match der::read(bytes) {
        Some((t, rest)) if t.tag == tag => Ok((t, rest)),
        _ => Err(bad(what)),
    }
}

fn kids<'a>(t: &der::Tlv<'a>, what: &'static str) -> Result<Vec<der::Tlv<'a>>, Pkcs12Error> {
    der::children(t.content).ok_or(bad(what))
}

fn number(t: &der::Tlv<'_>) -> Result<u32, Pkcs12Error> {
    if t.tag != 0x02 || t.content.is_empty() || t.content.len() > 5 {
        return Err(bad("an integer"));
    }
    let mut n: u64 = 0;
    for b in t.content {
        n = (n << 8) | u64::from(*b);
    }
    u32::try_from(n).map_err(|_| bad("an integer"))
}

impl Pkcs12 {
    /// Parses a store protected with the password `changeit` (or none).
    pub fn parse(bytes: &[u8]) -> Result<Self, Pkcs12Error> {
        let (pfx, _) = tlv(bytes, 0x30, "PFX")?;
        let top = kids(&pfx, "PFX")?;
        if top.len() < 2 || number(&top[0])? != 3 {
            return Err(bad("version 3"));
        }
        let safe = content_of_data(&top[1])?;
        let mac = top.get(2).map(read_mac).transpose()?;
        if let Some((mac, digest)) = &mac {
            if &mac.compute(safe) != digest {
                return Err(Pkcs12Error::Integrity);
            }
        }
        let (seq, _) = tlv(safe, 0x30, "AuthenticatedSafe")?;
        let mut parts = Vec::new();
        for info in kids(&seq, "AuthenticatedSafe")? {
            parts.push(read_part(&info)?);
        }
        Ok(Pkcs12 {
            parts,
            mac: mac.map(|(m, _)| m),
        })
    }

    /// Every certificate read (those of parts encrypted otherwise than with PBES2 are not).
    pub fn certificates(&self) -> impl Iterator<Item = &CertEntry> {
        self.parts
            .iter()
            .flat_map(|p| match p {
                Part::Clear { bags, .. } | Part::Encrypted { bags, .. } => bags.as_slice(),
                Part::Opaque(_) => &[],
            })
            .filter_map(|b| match b {
                Bag::Cert { entry, .. } => Some(entry),
                Bag::Other(_) => None,
            })
    }

    /// How many parts could not be read (encrypted with RC2 or 3DES).
    pub fn unreadable_parts(&self) -> usize {
        self.parts
            .iter()
            .filter(|p| matches!(p, Part::Opaque(_)))
            .count()
    }

    /// Adds trusted certificates, each under an alias not yet taken (`alias`, `alias-1`, …).
    pub fn add_trusted<'a>(&mut self, certs: impl IntoIterator<Item = (String, &'a [u8])>) {
        let mut taken: std::collections::BTreeSet<String> = self
            .certificates()
            .filter_map(|c| c.alias.as_ref().map(|a| a.to_lowercase()))
            .collect();
        let mut new = Vec::new();
        for (alias, der) in certs {
            let mut unique = alias.clone();
            let mut n = 1;
            while taken.contains(&unique.to_lowercase()) {
                unique = format!("{alias}-{n}");
                n += 1;
            }
            taken.insert(unique.to_lowercase());
            new.push(cert_bag(&unique, der));
        }
        // keytool's own place: the encrypted part, else the clear one, else a new clear part.
        let target = self
            .parts
            .iter()
            .position(|p| matches!(p, Part::Encrypted { .. }))
            .or_else(|| {
                self.parts
                    .iter()
                    .position(|p| matches!(p, Part::Clear { .. }))
            });
        match target.map(|i| &mut self.parts[i]) {
            Some(Part::Encrypted { bags, changed, .. } | Part::Clear { bags, changed, .. }) => {
                bags.extend(new);
                *changed = true;
            }
            _ => self.parts.push(Part::Clear {
                bags: new,
                changed: true,
                raw: Vec::new(),
            }),
        }
    }

    /// Removes every certificate whose DER satisfies `remove`; how many.
    pub fn remove_trusted(&mut self, remove: impl Fn(&[u8]) -> bool) -> usize {
        let mut n = 0;
        for part in &mut self.parts {
            if let Part::Clear { bags, changed, .. } | Part::Encrypted { bags, changed, .. } = part
            {
                let before = bags.len();
                bags.retain(|b| !matches!(b, Bag::Cert { entry, .. } if remove(&entry.der)));
                if bags.len() != before {
                    n += before - bags.len();
                    *changed = true;
                }
            }
        }
        n
    }

    /// The store's bytes: unchanged parts as they were, the MAC recomputed.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut infos = Vec::new();
        for part in &self.parts {
            infos.extend(match part {
                Part::Clear {
                    raw,
                    changed: false,
                    ..
                }
                | Part::Encrypted {
                    raw,
                    changed: false,
                    ..
                } => raw.clone(),
                Part::Clear { bags, .. } => data_info(&der::write(0x30, &bags_der(bags))),
                Part::Encrypted { bags, how, .. } => how.encrypt(&bags_der(bags)),
                Part::Opaque(raw) => raw.clone(),
            });
        }
        let safe = der::write(0x30, &infos);
        let mut pfx = der::write(0x02, &[3]);
        pfx.extend(data_info(&safe));
        if let Some(mac) = &self.mac {
            pfx.extend(mac.encode(&mac.compute(&safe)));
        }
        der::write(0x30, &pfx)
    }
}

fn bags_der(bags: &[Bag]) -> Vec<u8> {
    bags.iter()
        .flat_map(|b| match b {
            Bag::Cert { raw, .. } | Bag::Other(raw) => raw.clone(),
        })
        .collect()
}

/// `ContentInfo { data, [0] OCTET STRING content }`.
fn data_info(content: &[u8]) -> Vec<u8> {
    let mut out = der::write(0x06, DATA);
    out.extend(der::write(0xa0, &der::write(0x04, content)));
    der::write(0x30, &out)
}

/// The octets of a `data` ContentInfo.
fn content_of_data<'a>(info: &der::Tlv<'a>) -> Result<&'a [u8], Pkcs12Error> {
    let parts = kids(info, "ContentInfo")?;
    if parts.len() != 2 || parts[0].tag != 0x06 || parts[0].content != DATA {
        return Err(bad("a data ContentInfo"));
    }
    let (octets, _) = tlv(parts[1].content, 0x04, "data content")?;
    Ok(octets.content)
}

/// A trusted certificate's bag, as keytool writes it.
fn cert_bag(alias: &str, cert: &[u8]) -> Bag {
    let mut value = der::write(0x06, X509_CERT);
    value.extend(der::write(0xa0, &der::write(0x04, cert)));
    let bag_value = der::write(0xa0, &der::write(0x30, &value));
    let bmp: Vec<u8> = alias.encode_utf16().flat_map(u16::to_be_bytes).collect();
    let name = der::write(
        0x30,
        &[
            der::write(0x06, FRIENDLY_NAME),
            der::write(0x31, &der::write(0x1e, &bmp)),
        ]
        .concat(),
    );
    let trusted = der::write(
        0x30,
        &[
            der::write(0x06, TRUSTED_KEY_USAGE),
            der::write(0x31, &der::write(0x06, ANY_EKU)),
        ]
        .concat(),
    );
    let attrs = der::set_of(vec![name, trusted]);
    let raw = der::write(
        0x30,
        &[der::write(0x06, CERT_BAG), bag_value, attrs].concat(),
    );
    Bag::Cert {
        entry: CertEntry {
            alias: Some(alias.to_owned()),
            der: cert.to_vec(),
        },
        raw,
    }
}

fn read_bags(safe_contents: &[u8]) -> Result<Vec<Bag>, Pkcs12Error> {
    let (seq, _) = tlv(safe_contents, 0x30, "SafeContents")?;
    let mut out = Vec::new();
    for bag in kids(&seq, "SafeContents")? {
        let fields = kids(&bag, "SafeBag")?;
        if fields
            .first()
            .is_some_and(|f| f.tag == 0x06 && f.content == CERT_BAG)
        {
            let value = fields.get(1).ok_or(bad("a CertBag"))?;
            let (cert_bag, _) = tlv(value.content, 0x30, "CertBag")?;
            let cb = kids(&cert_bag, "CertBag")?;
            let inner = cb.get(1).ok_or(bad("a CertBag value"))?;
            let (octets, _) = tlv(inner.content, 0x04, "a certificate")?;
            let mut alias = None;
            if let Some(attrs) = fields.get(2) {
                for attr in kids(attrs, "bag attributes")? {
                    let a = kids(&attr, "an attribute")?;
                    if a.len() == 2 && a[0].content == FRIENDLY_NAME {
                        if let Some(v) =
                            der::children(a[1].content).and_then(|v| v.first().copied())
                        {
                            let units: Vec<u16> = v
                                .content
                                .chunks_exact(2)
                                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                                .collect();
                            alias = Some(String::from_utf16_lossy(&units));
                        }
                    }
                }
            }
            out.push(Bag::Cert {
                entry: CertEntry {
                    alias,
                    der: octets.content.to_vec(),
                },
                raw: bag.raw.to_vec(),
            });
        } else {
            out.push(Bag::Other(bag.raw.to_vec()));
        }
    }
    Ok(out)
}

fn read_part(info: &der::Tlv<'_>) -> Result<Part, Pkcs12Error> {
    let parts = kids(info, "ContentInfo")?;
    let kind = parts.first().ok_or(bad("a ContentInfo"))?;
    if kind.content == DATA {
        let content = content_of_data(info)?;
        return Ok(Part::Clear {
            bags: read_bags(content)?,
            changed: false,
            raw: info.raw.to_vec(),
        });
    }
    if kind.content != ENCRYPTED_DATA {
        return Ok(Part::Opaque(info.raw.to_vec()));
    }
    // EncryptedData { version, EncryptedContentInfo { type, algorithm, [0] IMPLICIT octets } }
    let wrapped = parts.get(1).ok_or(bad("EncryptedData"))?;
    let (ed, _) = tlv(wrapped.content, 0x30, "EncryptedData")?;
    let ed = kids(&ed, "EncryptedData")?;
    let eci = kids(
        ed.get(1).ok_or(bad("EncryptedContentInfo"))?,
        "EncryptedContentInfo",
    )?;
    let (Some(content_type), Some(algorithm), Some(octets)) = (eci.first(), eci.get(1), eci.get(2))
    else {
        return Err(bad("EncryptedContentInfo"));
    };
    let Some(how) = Pbes2::read(algorithm, content_type.content)? else {
        return Ok(Part::Opaque(info.raw.to_vec()));
    };
    let plain = how.decrypt(octets.content).ok_or(Pkcs12Error::Integrity)?;
    Ok(Part::Encrypted {
        bags: read_bags(&plain)?,
        how,
        changed: false,
        raw: info.raw.to_vec(),
    })
}

impl Pbes2 {
    /// The PBES2 parameters (PBKDF2 with HMAC-SHA-1 or -SHA-256, AES-128/256-CBC); `None` for
    /// any other scheme.
    fn read(algorithm: &der::Tlv<'_>, content_type: &[u8]) -> Result<Option<Pbes2>, Pkcs12Error> {
        let a = kids(algorithm, "an AlgorithmIdentifier")?;
        if a.first().is_none_or(|o| o.content != PBES2) || a.len() != 2 {
            return Ok(None);
        }
        let p = kids(&a[1], "PBES2 parameters")?;
        let (Some(kdf), Some(cipher)) = (p.first(), p.get(1)) else {
            return Ok(None);
        };
        let kdf = kids(kdf, "PBKDF2")?;
        if kdf.first().is_none_or(|o| o.content != PBKDF2) || kdf.len() != 2 {
            return Ok(None);
        }
        let params = kids(&kdf[1], "PBKDF2 parameters")?;
        let salt = params
            .first()
            .filter(|s| s.tag == 0x04)
            .ok_or(bad("a salt"))?;
        let iterations = number(params.get(1).ok_or(bad("iterations"))?)?;
        let mut sha256 = false;
        for extra in &params[2..] {
            if extra.tag == 0x30 {
                let prf = kids(extra, "a PRF")?;
                match prf.first().map(|o| o.content) {
                    Some(HMAC_SHA256) => sha256 = true,
                    Some(HMAC_SHA1) => sha256 = false,
                    _ => return Ok(None),
                }
            }
        }
        let c = kids(cipher, "a cipher")?;
        let key_len = match c.first().map(|o| o.content) {
            Some(AES256_CBC) => 32,
            Some(AES128_CBC) => 16,
            _ => return Ok(None),
        };
        let iv = c.get(1).filter(|v| v.tag == 0x04 && v.content.len() == 16);
        let Some(iv) = iv else {
            return Ok(None);
        };
        if u64::from(iterations) > MAX_ITERATIONS {
            return Err(bad("more PBKDF2 iterations than trustbake runs"));
        }
        Ok(Some(Pbes2 {
            algorithm: algorithm.raw.to_vec(),
            salt: salt.content.to_vec(),
            iterations,
            sha256,
            key_len,
            iv: iv.content.to_vec(),
            content_type: content_type.to_vec(),
        }))
    }

    fn key(&self) -> Vec<u8> {
        let mut key = vec![0u8; self.key_len];
        let password = PASSWORD.as_bytes();
        if self.sha256 {
            pbkdf2::pbkdf2_hmac::<Sha256>(password, &self.salt, self.iterations, &mut key);
        } else {
            pbkdf2::pbkdf2_hmac::<Sha1>(password, &self.salt, self.iterations, &mut key);
        }
        key
    }

    fn decrypt(&self, data: &[u8]) -> Option<Vec<u8>> {
        let key = self.key();
        let iv = self.iv.as_slice();
        match self.key_len {
            32 => cbc::Decryptor::<aes::Aes256>::new_from_slices(&key, iv)
                .ok()?
                .decrypt_padded_vec_mut::<Pkcs7>(data)
                .ok(),
            _ => cbc::Decryptor::<aes::Aes128>::new_from_slices(&key, iv)
                .ok()?
                .decrypt_padded_vec_mut::<Pkcs7>(data)
                .ok(),
        }
    }

    /// The `encryptedData` ContentInfo of `bags` (a SafeContents' content), with these
    /// parameters.
    fn encrypt(&self, bags: &[u8]) -> Vec<u8> {
        let plain = der::write(0x30, bags);
        let key = self.key();
        let iv = self.iv.as_slice();
        let sealed = match self.key_len {
            32 => cbc::Encryptor::<aes::Aes256>::new_from_slices(&key, iv)
                .map(|c| c.encrypt_padded_vec_mut::<Pkcs7>(&plain)),
            _ => cbc::Encryptor::<aes::Aes128>::new_from_slices(&key, iv)
                .map(|c| c.encrypt_padded_vec_mut::<Pkcs7>(&plain)),
        }
        .unwrap_or_default();
        let eci = der::write(
            0x30,
            &[
                der::write(0x06, &self.content_type),
                self.algorithm.clone(),
                der::write(0x80, &sealed),
            ]
            .concat(),
        );
        let ed = der::write(0x30, &[der::write(0x02, &[0]), eci].concat());
        der::write(
            0x30,
            &[der::write(0x06, ENCRYPTED_DATA), der::write(0xa0, &ed)].concat(),
        )
    }
}

fn read_mac(t: &der::Tlv<'_>) -> Result<(Mac, Vec<u8>), Pkcs12Error> {
    let m = kids(t, "MacData")?;
    let digest_info = kids(m.first().ok_or(bad("MacData"))?, "DigestInfo")?;
    let alg = kids(digest_info.first().ok_or(bad("DigestInfo"))?, "a digest")?;
    let sha256 = match alg.first().map(|o| o.content) {
        Some(SHA256_OID) => true,
        Some(SHA1_OID) => false,
        _ => return Err(bad("a MAC with SHA-1 or SHA-256")),
    };
    let digest = digest_info.get(1).ok_or(bad("a MAC"))?.content.to_vec();
    let salt = m
        .get(1)
        .filter(|s| s.tag == 0x04)
        .ok_or(bad("a MAC salt"))?;
    let iterations = m.get(2).map(number).transpose()?.unwrap_or(1);
    if u64::from(iterations) > MAX_ITERATIONS {
        return Err(bad("more MAC iterations than trustbake runs"));
    }
    Ok((
        Mac {
            sha256,
            salt: salt.content.to_vec(),
            iterations,
        },
        digest,
    ))
}

impl Mac {
    /// HMAC over `data` keyed by RFC 7292's derivation (ID 3) of the password.
    fn compute(&self, data: &[u8]) -> Vec<u8> {
        if self.sha256 {
            let key = kdf::<Sha256>(&self.salt, self.iterations, 32);
            hmac::<Sha256>(&key, data)
        } else {
            let key = kdf::<Sha1>(&self.salt, self.iterations, 20);
            hmac::<Sha1>(&key, data)
        }
    }

    fn encode(&self, digest: &[u8]) -> Vec<u8> {
        let oid = if self.sha256 { SHA256_OID } else { SHA1_OID };
        let alg = der::write(
            0x30,
            &[der::write(0x06, oid), der::write(0x05, &[])].concat(),
        );
        let digest_info = der::write(0x30, &[alg, der::write(0x04, digest)].concat());
        let mut iterations = self.iterations.to_be_bytes().to_vec();
        while iterations.len() > 1 && iterations[0] == 0 && iterations[1] & 0x80 == 0 {
            iterations.remove(0);
        }
        if iterations[0] & 0x80 != 0 {
            iterations.insert(0, 0);
        }
        der::write(
            0x30,
            &[
                digest_info,
                der::write(0x04, &self.salt),
                der::write(0x02, &iterations),
            ]
            .concat(),
        )
    }
}

/// RFC 7292 appendix B.2 with ID 3 (a MAC key) and the password `changeit`.
fn kdf<D: Digest>(salt: &[u8], iterations: u32, n: usize) -> Vec<u8> {
    const V: usize = 64;
    let password: Vec<u8> = PASSWORD
        .encode_utf16()
        .flat_map(u16::to_be_bytes)
        .chain([0, 0])
        .collect();
    let fill = |s: &[u8]| -> Vec<u8> {
        if s.is_empty() {
            return Vec::new();
        }
        let len = V * s.len().div_ceil(V);
        s.iter().copied().cycle().take(len).collect()
    };
    let mut i: Vec<u8> = [fill(salt), fill(&password)].concat();
    let d = [3u8; V];
    let mut out = Vec::new();
    while out.len() < n {
        let mut a = D::new()
            .chain_update(d)
            .chain_update(&i)
            .finalize()
            .to_vec();
        for _ in 1..iterations {
            a = D::digest(&a).to_vec();
        }
        let b: Vec<u8> = a.iter().copied().cycle().take(V).collect();
        for block in i.chunks_mut(V) {
            let mut carry = 1u16;
            for k in (0..V).rev() {
                let sum = u16::from(block[k]) + u16::from(b[k]) + carry;
                block[k] = sum as u8;
                carry = sum >> 8;
            }
        }
        out.extend(a);
    }
    out.truncate(n);
    out
}

/// HMAC (RFC 2104) with a 64-byte block.
fn hmac<D: Digest>(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        let h = D::digest(key);
        k[..h.len()].copy_from_slice(&h);
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let inner = D::new()
        .chain_update(k.map(|b| b ^ 0x36))
        .chain_update(data)
        .finalize();
    D::new()
        .chain_update(k.map(|b| b ^ 0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}
