//! Assertions on what the API answers, reporting the caller's line (`#[track_caller]`) and the
//! whole body when they fail.

use reqwest::StatusCode;
use serde_json::Value;

/// Asserts an answer is an RFC 9457 problem with this status and machine-readable `code`.
#[track_caller]
pub fn assert_problem(answer: &(StatusCode, Value), status: u16, code: &str) {
    let (actual, body) = answer;
    assert_eq!(actual.as_u16(), status, "status of {body}");
    assert_eq!(body["status"], status, "the problem's status: {body}");
    assert_eq!(body["code"], code, "the problem's code: {body}");
    assert!(body["detail"].is_string(), "a problem has a detail: {body}");
}

/// Asserts an answer has this status, printing the body if not.
#[track_caller]
pub fn assert_status(answer: &(StatusCode, Value), status: u16) {
    assert_eq!(answer.0.as_u16(), status, "{}", answer.1);
}

/// Asserts a problem's `detail` contains `text`.
#[track_caller]
pub fn assert_detail_contains(body: &Value, text: &str) {
    let detail = body["detail"]
        .as_str()
        .unwrap_or_else(|| panic!("no detail in {body}"));
    assert!(
        detail.contains(text),
        "{text:?} is not in the detail of {body}"
    );
}

/// The `field` of every element of the array at `key`, in order.
#[track_caller]
pub fn strings_of(body: &Value, key: &str, field: &str) -> Vec<String> {
    body[key]
        .as_array()
        .unwrap_or_else(|| panic!("no array {key:?} in {body}"))
        .iter()
        .map(|item| {
            item[field]
                .as_str()
                .unwrap_or_else(|| panic!("no string {field:?} in {item}"))
                .to_owned()
        })
        .collect()
}

/// The length of the array at `key`.
#[track_caller]
pub fn count_of(body: &Value, key: &str) -> usize {
    body[key]
        .as_array()
        .unwrap_or_else(|| panic!("no array {key:?} in {body}"))
        .len()
}
