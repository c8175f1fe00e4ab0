//! The upstream test vectors, the transparency-dev probes and a real Certificate Transparency
//! proof, decided by both implementations and the verifiers.

use super::*;

#[test]
fn the_empty_root_is_sha256_of_nothing() {
    assert_eq!(
        hex::encode(empty_root()),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(root_of(&[]), empty_root());
    assert_eq!(fold_range(&[]), empty_root());
    assert_eq!(CompactRange::empty().root(), empty_root());
}

#[test]
fn leaf_hashes_match_the_vectors() {
    assert_eq!(vector_leaves(), hash_list(&vectors()["leaf_hashes_hex"]));
}

#[test]
fn roots_of_every_tree_size_from_0_to_8_match_the_vectors() {
    let leaves = vector_leaves();
    let oracle = subtree_oracle(&leaves);
    let roots = vectors()["roots_by_tree_size_hex"]
        .as_object()
        .expect("object");
    assert_eq!(roots.len(), 9);
    for (size, root) in roots {
        let size: usize = size.parse().expect("numeric size");
        let root = hash_from_hex(root);
        assert_eq!(root_of(&leaves[..size]), root, "root_of, size {size}");
        let planned: Vec<Hash> = root_plan(size as u64).iter().map(|id| oracle[id]).collect();
        assert_eq!(fold_range(&planned), root, "root_plan, size {size}");
    }
}

#[test]
fn upstream_node_hashes_are_the_complete_subtrees_of_the_eight_leaf_tree() {
    let oracle = subtree_oracle(&vector_leaves());
    let levels = vectors()["node_hashes_by_level_upstream"]
        .as_array()
        .expect("array");
    assert_eq!(levels.len(), 4);
    for (level, hashes) in levels.iter().enumerate() {
        for (index, hash) in hash_list(hashes).into_iter().enumerate() {
            assert_eq!(oracle[&NodeId::new(level as u8, index as u64)], hash);
        }
    }
}

#[test]
fn every_inclusion_vector_is_reproduced_by_both_implementations_and_verifies() {
    let leaves = vector_leaves();
    let oracle = subtree_oracle(&leaves);
    let mut checked = 0;
    for key in ["inclusion_upstream", "inclusion_computed_all"] {
        for case in vectors()[key].as_array().expect("array") {
            let (index, size) = (number(&case["leaf_index"]), number(&case["tree_size"]));
            let leaf = hash_from_hex(&case["leaf_hash"]);
            let root = hash_from_hex(&case["root"]);
            let path = hash_list(&case["path"]);
            let tree = &leaves[..size as usize];
            assert_eq!(inclusion_proof(tree, index).unwrap(), path, "{case}");
            let plan = inclusion_plan(index, size).unwrap();
            assert_eq!(assemble_from(&plan, &oracle), path, "{case}");
            assert_eq!(verify_inclusion(&leaf, index, size, &path, &root), Ok(()));
            assert_eq!(root_from_inclusion(&leaf, index, size, &path), Ok(root));
            checked += 1;
        }
    }
    assert_eq!(checked, 41);
}

#[test]
fn every_consistency_vector_is_reproduced_by_both_implementations_and_verifies() {
    let leaves = vector_leaves();
    let oracle = subtree_oracle(&leaves);
    let mut checked = 0;
    for key in ["consistency_upstream", "consistency_computed_all"] {
        for case in vectors()[key].as_array().expect("array") {
            let (first, second) = (number(&case["size1"]), number(&case["size2"]));
            let root1 = hash_from_hex(&case["root1"]);
            let root2 = hash_from_hex(&case["root2"]);
            let proof = hash_list(&case["proof"]);
            assert_eq!(consistency_proof(&leaves, first, second).unwrap(), proof);
            let plan = consistency_plan(first, second).unwrap();
            assert_eq!(assemble_from(&plan, &oracle), proof, "{case}");
            assert_eq!(
                verify_consistency(first, second, &root1, &root2, &proof),
                Ok(()),
                "{case}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 41);
}

#[test]
fn every_negative_vector_fails_verification() {
    let cases = vectors()["negative_upstream_must_fail"]
        .as_array()
        .expect("array");
    for case in cases {
        let result = match case["kind"].as_str() {
            Some("inclusion") => verify_inclusion(
                &from_hex(&case["leaf_hash"]),
                number(&case["leaf_index"]),
                number(&case["tree_size"]),
                &hex_list(&case["path"]),
                &from_hex(&case["root"]),
            ),
            Some("consistency") => verify_consistency(
                number(&case["size1"]),
                number(&case["size2"]),
                &from_hex(&case["root1"]),
                &from_hex(&case["root2"]),
                &hex_list(&case["proof"]),
            ),
            other => panic!("unknown kind {other:?}"),
        };
        assert!(result.is_err(), "accepted {}", case["file"]);
    }
    assert_eq!(cases.len(), 184);
}

fn json_files_under(dir: &Path, found: &mut Vec<PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            json_files_under(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "json") {
            found.push(path);
        }
    }
}

#[test]
fn every_upstream_probe_file_is_decided_as_its_want_err_says() {
    let root = Path::new(DATA_DIR).join("merkle-testdata/testdata");
    let mut files = Vec::new();
    json_files_under(&root, &mut files);
    files.sort();
    let (mut inclusion, mut consistency, mut accepted) = (0, 0, 0);
    let mut wrong = Vec::new();
    for file in &files {
        let probe = read_json(file);
        let want_err = probe["wantErr"].as_bool().expect("wantErr flag");
        let result = if probe.get("leafIdx").is_some() {
            inclusion += 1;
            verify_inclusion(
                &from_base64(&probe["leafHash"]),
                number(&probe["leafIdx"]),
                number(&probe["treeSize"]),
                &base64_list(&probe["proof"]),
                &from_base64(&probe["root"]),
            )
        } else {
            consistency += 1;
            verify_consistency(
                number(&probe["size1"]),
                number(&probe["size2"]),
                &from_base64(&probe["root1"]),
                &from_base64(&probe["root2"]),
                &base64_list(&probe["proof"]),
            )
        };
        if result.is_ok() {
            accepted += 1;
        }
        if result.is_err() != want_err {
            wrong.push(format!(
                "{}: wantErr {want_err}, got {result:?}",
                file.display()
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "probes decided wrongly:\n{}",
        wrong.join("\n")
    );
    assert!(files.len() > 150, "only {} probe files found", files.len());
    assert!(
        inclusion > 50 && consistency > 50,
        "{inclusion} / {consistency}"
    );
    // 10 happy paths, one matching single-entry tree, one pair of equal-size roots.
    assert_eq!(accepted, 12);
}

#[test]
fn the_argon2020_certificate_transparency_inclusion_proof_verifies() {
    let dir = Path::new(DATA_DIR).join("argon2020");
    let leaf_input = std::fs::read_to_string(dir.join("leaf_input.b64")).expect("leaf input");
    let leaf_input = BASE64.decode(leaf_input.trim()).expect("base64 leaf input");
    let leaf = leaf_hash(&leaf_input);
    let proof = read_json(&dir.join("proof.json"));
    let sth = read_json(&dir.join("sth.json"));
    let index = number(&proof["leaf_index"]);
    let path = base64_list(&proof["audit_path"]);
    let size = number(&sth["tree_size"]);
    let root = from_base64(&sth["sha256_root_hash"]);
    assert_eq!((index, size), (10_000, 961_984_013));

    let summary = &vectors()["real_world_ct_argon2020"];
    assert_eq!(leaf.to_vec(), from_hex(&summary["leaf_hash_hex"]));
    assert_eq!(root, from_hex(&summary["root_hex"]));

    assert_eq!(verify_inclusion(&leaf, index, size, &path, &root), Ok(()));
    assert_eq!(
        inclusion_plan(index, size).unwrap().elements.len(),
        path.len()
    );
    assert_eq!(
        verify_inclusion(&leaf, index + 1, size, &path, &root),
        Err(VerifyError::RootMismatch)
    );
    assert!(verify_inclusion(&leaf, index, size * 2, &path, &root).is_err());
}

#[test]
fn an_inclusion_proof_does_not_pin_the_tree_size_by_itself() {
    // The size only fixes the proof's shape: for a leaf far from the right edge, neighbouring
    // sizes give the same shape, so the root (and its signed size) is what must be trusted.
    let leaves = &sample_leaves()[..13];
    let path = inclusion_proof(leaves, 2).unwrap();
    let root = root_of(leaves);
    for size in 9..=16 {
        assert_eq!(verify_inclusion(&leaves[2], 2, size, &path, &root), Ok(()));
    }
    for size in [8, 17] {
        assert!(verify_inclusion(&leaves[2], 2, size, &path, &root).is_err());
    }
}

#[test]
fn the_argon2020_certificate_transparency_consistency_proof_verifies() {
    let case = &vectors()["real_world_ct_argon2020"]["consistency"];
    let (first, second) = (number(&case["size1"]), number(&case["size2"]));
    let (root1, root2) = (from_hex(&case["root1_hex"]), from_hex(&case["root2_hex"]));
    let proof = hex_list(&case["proof_hex"]);
    let upstream = read_json(&Path::new(DATA_DIR).join("argon2020/consistency.json"));
    assert_eq!(base64_list(&upstream["consistency"]), proof);

    assert_eq!(
        verify_consistency(first, second, &root1, &root2, &proof),
        Ok(())
    );
    assert_eq!(
        consistency_plan(first, second).unwrap().elements.len(),
        proof.len()
    );
    assert!(verify_consistency(first, second, &root2, &root1, &proof).is_err());
    assert!(verify_consistency(first + 1, second, &root1, &root2, &proof).is_err());
}
