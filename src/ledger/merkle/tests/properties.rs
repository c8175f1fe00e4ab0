//! Properties over random trees: proofs verify, tampering fails, plans partition the tree.

use super::*;

/// A tree size and a leaf index in it.
fn size_and_index() -> impl Strategy<Value = (u64, u64)> {
    (1..=MAX_SAMPLE_SIZE as u64).prop_flat_map(|size| (Just(size), 0..size))
}

/// Two tree sizes with `0 < first <= second`.
fn first_and_second() -> impl Strategy<Value = (u64, u64)> {
    (1..=MAX_SAMPLE_SIZE as u64).prop_flat_map(|second| (1..=second, Just(second)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn random_inclusion_proofs_verify_and_any_tampering_fails(
        (size, index) in size_and_index(),
        bit in 0usize..256,
        other in any::<u64>(),
    ) {
        let leaves = &sample_leaves()[..size as usize];
        let root = root_of(leaves);
        let leaf = leaves[index as usize];
        let path = inclusion_proof(leaves, index).unwrap();
        let plan = inclusion_plan(index, size).unwrap();
        prop_assert_eq!(&assemble_from(&plan, sample_oracle()), &path);
        prop_assert_eq!(verify_inclusion(&leaf, index, size, &path, &root), Ok(()));

        for position in 0..path.len() {
            let mut tampered: Vec<Vec<u8>> = path.iter().map(|h| h.to_vec()).collect();
            tampered[position] = flip_bit(&tampered[position], bit);
            prop_assert!(verify_inclusion(&leaf, index, size, &tampered, &root).is_err());
        }
        prop_assert!(verify_inclusion(&flip_bit(&leaf, bit), index, size, &path, &root).is_err());
        prop_assert!(verify_inclusion(&leaf, index, size, &path, &flip_bit(&root, bit)).is_err());

        // Any other index, in range or not.
        let mut wrong = other % (size + 1);
        if wrong == index {
            wrong = size;
        }
        prop_assert!(verify_inclusion(&leaf, wrong, size, &path, &root).is_err());
    }

    #[test]
    fn random_consistency_proofs_verify_and_any_tampering_fails(
        (first, second) in first_and_second(),
        bit in 0usize..256,
    ) {
        let leaves = &sample_leaves()[..second as usize];
        let (old, new) = (root_of(&leaves[..first as usize]), root_of(leaves));
        let proof = consistency_proof(leaves, first, second).unwrap();
        let plan = consistency_plan(first, second).unwrap();
        prop_assert_eq!(&assemble_from(&plan, sample_oracle()), &proof);
        prop_assert_eq!(verify_consistency(first, second, &old, &new, &proof), Ok(()));

        for position in 0..proof.len() {
            let mut tampered: Vec<Vec<u8>> = proof.iter().map(|h| h.to_vec()).collect();
            tampered[position] = flip_bit(&tampered[position], bit);
            prop_assert!(verify_consistency(first, second, &old, &new, &tampered).is_err());
        }
        prop_assert!(
            verify_consistency(first, second, &flip_bit(&old, bit), &new, &proof).is_err()
        );
        prop_assert!(
            verify_consistency(first, second, &old, &flip_bit(&new, bit), &proof).is_err()
        );
        if first < second {
            prop_assert!(verify_consistency(first, second, &new, &old, &proof).is_err());
        }
    }

    #[test]
    fn inclusion_plans_partition_the_tree_around_the_leaf_at_any_size(
        (size, index) in (1..=u64::MAX).prop_flat_map(|size| (Just(size), 0..size)),
    ) {
        let plan = inclusion_plan(index, size).unwrap();
        let mut spans: Vec<(u128, u128)> =
            plan.elements.iter().map(|element| element_span(element)).collect();
        spans.push((u128::from(index), u128::from(index) + 1));
        spans.sort_unstable();
        let mut at = 0;
        for (begin, end) in spans {
            prop_assert_eq!(begin, at);
            at = end;
        }
        prop_assert_eq!(at, u128::from(size));
    }

    #[test]
    fn consistency_plans_partition_the_second_tree_at_any_size(
        (first, second) in (2..=u64::MAX).prop_flat_map(|second| (1..second, Just(second))),
    ) {
        let plan = consistency_plan(first, second).unwrap();
        let mut spans: Vec<(u128, u128)> =
            plan.elements.iter().map(|element| element_span(element)).collect();
        if first.is_power_of_two() {
            // The omitted element: the whole first tree.
            spans.push((0, u128::from(first)));
        }
        // Elements entirely inside the first tree rebuild it; the rest are appended leaves.
        let inside: u128 = spans
            .iter()
            .filter(|(_, end)| *end <= u128::from(first))
            .map(|(begin, end)| end - begin)
            .sum();
        prop_assert_eq!(inside, u128::from(first));
        spans.sort_unstable();
        let mut at = 0;
        for (begin, end) in spans {
            prop_assert_eq!(begin, at);
            at = end;
        }
        prop_assert_eq!(at, u128::from(second));
    }
}
