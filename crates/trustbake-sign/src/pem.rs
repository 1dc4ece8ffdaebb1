//! PEM sections by label, any label: cosign's key files use labels no PEM library knows
//! (`ENCRYPTED SIGSTORE PRIVATE KEY`), so the sections are read here rather than skipped.

use base64::Engine as _;

/// The first PEM section of `text`: its label and decoded body.
pub(crate) fn first_section(text: &[u8]) -> Option<(String, Vec<u8>)> {
    let text = std::str::from_utf8(text).ok()?;
    let begin = text.find("-----BEGIN ")?;
    let rest = &text[begin + "-----BEGIN ".len()..];
    let label_end = rest.find("-----")?;
    let label = &rest[..label_end];
    let body_and_end = &rest[label_end + 5..];
    let end_marker = format!("-----END {label}-----");
    let body_end = body_and_end.find(&end_marker)?;
    let body: String = body_and_end[..body_end]
        .lines()
        // RFC 1421 headers (`Proc-Type: …`) are not base64: a section with them is refused.
        .map(str::trim)
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.as_bytes())
        .ok()?;
    Some((label.to_owned(), der))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_section_round_trips_and_other_text_is_ignored() {
        let pem = trustbake_certs::render_pem("ENCRYPTED SIGSTORE PRIVATE KEY", &[1, 2, 3, 250]);
        let text = format!("comment\n{pem}trailer\n");
        assert_eq!(
            super::first_section(text.as_bytes()),
            Some((
                "ENCRYPTED SIGSTORE PRIVATE KEY".to_owned(),
                vec![1, 2, 3, 250]
            ))
        );
        assert_eq!(super::first_section(b"no pem"), None);
    }
}
