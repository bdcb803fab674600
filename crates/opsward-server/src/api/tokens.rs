use super::Caller;
use crate::{
    auth::{secret, Principal},
    error::{ApiError, ApiResult, ErrorBody},
    extract::{ApiJson, ApiPath, ApiQuery},
    AppState,
};
use axum::{extract::State, http::StatusCode, Json};
use chrono::{Duration, Utc};
use opsward_core::{
    user::{ApiToken, NewApiToken},
    Actor, Role,
};
use opsward_store::Store;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub const DEFAULT_TOKEN_DAYS: u32 = 90;
pub const MAX_TOKEN_DAYS: u32 = 3650;

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateToken {
    /// What the token is for, e.g. `ci` or `grafana`.
    pub name: String,
    /// Lifetime in days (1-3650, default 90).
    #[serde(default)]
    pub expires_in_days: Option<u32>,
    /// Mint the token for another user (administrators only).
    #[serde(default)]
    pub user_id: Option<i64>,
}

/// The secret is in this response and nowhere else, ever.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    pub token: String,
    pub info: ApiToken,
}

/// Mint a token; shared by the API, the UI and the CLI.
pub async fn mint(
    store: &dyn Store,
    actor: &Actor,
    user_id: i64,
    name: &str,
    days: Option<u32>,
) -> ApiResult<CreatedToken> {
    let days = days.unwrap_or(DEFAULT_TOKEN_DAYS);
    if !(1..=MAX_TOKEN_DAYS).contains(&days) {
        return Err(opsward_core::ValidationError::single(
            "expires_in_days",
            format!("must be 1-{MAX_TOKEN_DAYS}"),
        )
        .into());
    }
    let token = secret::new_api_token();
    let new = NewApiToken {
        user_id,
        name: name.to_string(),
        prefix: token.chars().take(10).collect(),
        token_hash: secret::hash_secret(&token),
        expires_at: Some(Utc::now() + Duration::days(i64::from(days))),
    };
    let info = store.create_api_token(actor, &new).await?;
    Ok(CreatedToken { token, info })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TokenQuery {
    /// Every user's tokens (administrators only).
    #[serde(default)]
    pub all: bool,
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", params(TokenQuery),
    responses((status = 200, body = Vec<ApiToken>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<TokenQuery>,
) -> ApiResult<Json<Vec<ApiToken>>> {
    let scope = if query.all {
        if caller.role() != Role::Admin {
            return Err(ApiError::forbidden(
                "only administrators can list every user's tokens",
            ));
        }
        None
    } else {
        Some(caller.user.id)
    };
    Ok(Json(state.store.list_api_tokens(scope).await?))
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = CreateToken,
    responses((status = 201, body = CreatedToken), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(input): ApiJson<CreateToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let user_id = match input.user_id {
        Some(other) if other != caller.user.id => {
            if caller.role() != Role::Admin {
                return Err(ApiError::forbidden(
                    "only administrators can mint tokens for other users",
                ));
            }
            other
        }
        _ => caller.user.id,
    };
    let created = mint(
        state.store.as_ref(),
        &caller.actor(),
        user_id,
        &input.name,
        input.expires_in_days,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Revoke one of your tokens (administrators: anyone's).
pub async fn revoke_checked(store: &dyn Store, caller: &Principal, id: i64) -> ApiResult<ApiToken> {
    let token = store.get_api_token(id).await?;
    if token.user_id != caller.user.id && caller.role() != Role::Admin {
        // Same answer as a missing token: do not reveal other users' token ids.
        return Err(ApiError::not_found("API token"));
    }
    Ok(store
        .revoke_api_token(&caller.actor(), id, Utc::now())
        .await?)
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", params(("id" = i64, Path)),
    responses((status = 200, body = ApiToken), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ApiToken>> {
    Ok(Json(
        revoke_checked(state.store.as_ref(), &caller, id).await?,
    ))
}
