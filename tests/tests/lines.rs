//! Every release line of the version map, as a synthetic image with that line's layout, bakes
//! cleanly with its own version: the engine finds exactly what the map says (no
//! disagreement), patches certifi and the OS store, and the result is a valid image.

use serde_json::Value;
use tests::synthetic::{fixture_name, write_layout};
use tests::{fixture, output, scratch, tool};
use trustbake_image::{ImageRef, validate};
use trustbake_targets::VersionMap;

#[test]
fn every_release_line_bakes_and_agrees_with_the_map() {
    let work = scratch("lines");
    let cas = trustbake::load_cas(
        &[fixture("demo-root.pem")],
        trustbake::Policy::at(trustbake::process::now()),
    )
    .unwrap();
    for line in VersionMap::builtin().lines() {
        let name = fixture_name(line);
        let base = work.join(&name);
        write_layout(&base, line, 1);
        let version = line.first.to_string();
        let to = format!("oci:{}:corp", work.join(format!("{name}-corp")).display());
        let request =
            trustbake::BakeRequest::new(&format!("oci:{}:{version}", base.display()), &to, &cas)
                .unwrap()
                .target(trustbake::Target::new(line.product, line.first.clone()));
        let outcome = trustbake::bake(&request).unwrap_or_else(|e| panic!("{name}: {e}"));
        let report = &outcome.platforms[0];
        assert!(
            report.notes.is_empty(),
            "{name}: the image disagrees with the map: {:?}",
            report.notes
        );
        assert_eq!(
            report.detected.family,
            line.base_info.os_family.to_string(),
            "{name}"
        );
        assert_eq!(
            report.detected.python.as_deref(),
            Some(line.python.as_str()),
            "{name}"
        );
        let certifi = report
            .stores
            .iter()
            .find(|s| s.kind == trustbake::types::StoreKind::Certifi)
            .unwrap_or_else(|| panic!("{name}: no certifi store"));
        assert_eq!(
            (certifi.path.as_str(), certifi.added.len()),
            (line.certifi[0].path.as_str(), 1),
            "{name}"
        );
        let os_added = report
            .stores
            .iter()
            .filter(|s| s.kind != trustbake::types::StoreKind::Certifi && !s.added.is_empty())
            .count();
        assert!(
            os_added >= 2,
            "{name}: the OS store gets the CA: {:?}",
            report.stores
        );
        validate(&ImageRef::parse(&to).unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let inspect: Value =
            serde_json::from_str(&output(tool("skopeo", "skopeo").arg("inspect").arg(&to)))
                .unwrap();
        assert_eq!(inspect["Layers"].as_array().unwrap().len(), 4, "{name}");
    }
}
