//! The laws: applying twice changes nothing the second time; the order of the CAs does not
//! change the plan.

use proptest::prelude::*;
use trustbake_store::{MemRoot, plan};

use super::alpine::{alpine, alpine_bundle_only};
use super::distroless::distroless_java;
use super::{OPTIONS, debian::ubuntu, fixture, mozilla, rhel::ubi9};

const CAS: &[&str] = &[
    "root-rsa.pem",
    "root-ec.pem",
    "intermediate.pem",
    "v1-root.pem",
    "demo-root.pem",
    "bmp-subject.pem",
    "odd-subject.pem",
];

fn roots() -> Vec<MemRoot> {
    vec![
        ubi9(&mozilla(4)),
        ubuntu(&mozilla(4)),
        alpine(&mozilla(4), true),
        alpine_bundle_only(&mozilla(4)),
        distroless_java(&mozilla(4)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn applying_the_same_cas_twice_changes_nothing(picks in proptest::collection::vec(0..CAS.len(), 1..5)) {
        let cas: Vec<_> = picks.iter().map(|&i| fixture(CAS[i])).collect();
        for mut root in roots() {
            let (first, _) = plan(&root, &cas, None, &OPTIONS).unwrap();
            prop_assert!(!first.is_empty());
            root.apply(&first);
            let (second, _) = plan(&root, &cas, None, &OPTIONS).unwrap();
            prop_assert!(second.is_empty(), "second plan not empty: {:?}", second.items.iter().map(|i| &i.path).collect::<Vec<_>>());
        }
    }

    #[test]
    fn the_order_of_the_cas_does_not_change_the_plan(order in Just((0..CAS.len()).collect::<Vec<_>>()).prop_shuffle()) {
        let forward: Vec<_> = CAS.iter().map(|n| fixture(n)).collect();
        let shuffled: Vec<_> = order.iter().map(|&i| fixture(CAS[i])).collect();
        for root in roots() {
            prop_assert_eq!(plan(&root, &forward, None, &OPTIONS).unwrap().0, plan(&root, &shuffled, None, &OPTIONS).unwrap().0);
        }
    }
}

#[test]
fn adding_cas_one_at_a_time_equals_adding_them_together_in_content() {
    for root in roots() {
        let cas: Vec<_> = CAS.iter().map(|n| fixture(n)).collect();
        let mut together = root.clone();
        together.apply(&plan(&root, &cas, None, &OPTIONS).unwrap().0);
        let mut one_by_one = root.clone();
        for ca in &cas {
            let (p, _) = plan(&one_by_one, std::slice::from_ref(ca), None, &OPTIONS).unwrap();
            one_by_one.apply(&p);
        }
        // Same paths; a second run over either adds nothing.
        assert_eq!(
            together.paths().collect::<Vec<_>>(),
            one_by_one.paths().collect::<Vec<_>>()
        );
        assert!(plan(&together, &cas, None, &OPTIONS).unwrap().0.is_empty());
        assert!(
            plan(&one_by_one, &cas, None, &OPTIONS)
                .unwrap()
                .0
                .is_empty()
        );
    }
}
