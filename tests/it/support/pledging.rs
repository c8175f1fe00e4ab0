//! Pledging through the API as a backer does: make, change and cancel a pledge.

use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::Value;
use zhonglian::ids::{PledgeId, ProjectId};

use super::{Caller, TestApp};

/// The status of an answer and its problem's `detail` (empty when there is none).
pub fn status_and_detail(answer: (StatusCode, Value)) -> (u16, String) {
    let (status, body) = answer;
    (
        status.as_u16(),
        body["detail"].as_str().unwrap_or_default().to_owned(),
    )
}

/// The id of a pledge just made, which must have been made (201).
#[track_caller]
pub fn made_pledge(answer: &(StatusCode, Value)) -> PledgeId {
    assert_eq!(answer.0, 201, "the pledge was not made: {}", answer.1);
    answer.1["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {}", answer.1))
        .parse()
        .expect("a pledge id")
}

impl TestApp {
    /// `POST /api/v1/projects/{project}/pledges` as `who`, with an `Idempotency-Key` when
    /// given, to be sent by the caller (who may want its headers).
    pub fn pledge_request(
        &self,
        who: &(impl Caller + ?Sized),
        project: ProjectId,
        body: &Value,
        key: Option<&str>,
    ) -> RequestBuilder {
        let request = self
            .request_as(Method::POST, &format!("/projects/{project}/pledges"), who)
            .json(body);
        match key {
            Some(key) => request.header("idempotency-key", key),
            None => request,
        }
    }

    /// Pledges `body` (`{"tier_id", "amount"}` or `{"shares", ...}`) for `project` as `who`.
    pub async fn pledge(
        &self,
        who: &(impl Caller + ?Sized),
        project: ProjectId,
        body: Value,
        key: Option<&str>,
    ) -> (StatusCode, Value) {
        self.send_json(self.pledge_request(who, project, &body, key))
            .await
    }

    /// Changes a pledge (`PATCH /api/v1/pledges/{id}`).
    pub async fn change_pledge(
        &self,
        who: &(impl Caller + ?Sized),
        pledge: PledgeId,
        body: Value,
    ) -> (StatusCode, Value) {
        self.patch_json(&format!("/pledges/{pledge}"), who, body)
            .await
    }

    /// Cancels a pledge (`DELETE /api/v1/pledges/{id}`).
    pub async fn cancel_pledge(
        &self,
        who: &(impl Caller + ?Sized),
        pledge: PledgeId,
    ) -> (StatusCode, Value) {
        self.delete_json(&format!("/pledges/{pledge}"), who).await
    }
}
