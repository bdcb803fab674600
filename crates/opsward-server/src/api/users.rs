use super::Caller;
use crate::{
    auth::{password::hash_password_blocking, password_policy::check_new_password},
    error::{ApiError, ApiResult, ErrorBody},
    extract::{ApiJson, ApiPath},
    AppState,
};
use axum::{extract::State, http::StatusCode, Json};
use opsward_core::{
    user::{NewUser, User, UserPatch},
    validation::Validator,
    Actor, Role,
};
use opsward_store::Store;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateUser {
    pub username: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    pub role: Role,
    /// At least 12 characters, not a common or breached password, not containing the
    /// username, and not scored weak by zxcvbn.
    pub password: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UpdateUser {
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    pub password: Option<String>,
}

/// Create an account: validate, hash the password, store. Shared by the API, the UI and the CLI.
pub async fn create_account(
    store: &dyn Store,
    actor: &Actor,
    input: CreateUser,
) -> ApiResult<User> {
    NewUser::validate_username(&input.username)?;
    check_new_password(&input.password, &input.username)?;
    let mut v = Validator::new();
    let display_name = input
        .display_name
        .filter(|d| !d.trim().is_empty())
        .unwrap_or_else(|| input.username.clone());
    v.name("display_name", &display_name, 128);
    if let Some(email) = &input.email {
        v.email("email", email);
    }
    v.finish()?;
    let password_hash = hash_password_blocking(input.password).await;
    let user = NewUser {
        username: input.username,
        display_name,
        email: input.email,
        role: input.role,
        password_hash,
    };
    Ok(store.create_user(actor, &user).await?)
}

/// Apply a change to an account, refusing one that would leave no active administrator.
/// `keep_api_tokens`: the server option that keeps a user's API tokens when their password
/// changes or the account is disabled (revoked by default).
pub async fn change_account(
    store: &dyn Store,
    actor: &Actor,
    id: i64,
    input: UpdateUser,
    keep_api_tokens: bool,
) -> ApiResult<User> {
    let mut v = Validator::new();
    if let Some(name) = &input.display_name {
        v.name("display_name", name, 128);
    }
    if let Some(email) = input.email.as_deref().filter(|e| !e.is_empty()) {
        v.email("email", email);
    }
    v.finish()?;
    let current = store.get_user(id).await?;
    if let Some(password) = &input.password {
        check_new_password(password, &current.username)?;
    }
    let loses_admin = current.role == Role::Admin
        && !current.disabled
        && (input.role.is_some_and(|r| r != Role::Admin) || input.disabled == Some(true));
    if loses_admin {
        let admins = store
            .list_users()
            .await?
            .into_iter()
            .filter(|u| u.role == Role::Admin && !u.disabled)
            .count();
        if admins <= 1 {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "this is the last active administrator",
            ));
        }
    }
    let password_hash = match input.password {
        Some(p) => Some(hash_password_blocking(p).await),
        None => None,
    };
    let patch = UserPatch {
        display_name: input.display_name,
        email: input.email.map(|e| Some(e).filter(|e| !e.is_empty())),
        role: input.role,
        disabled: input.disabled,
        password_hash,
        keep_api_tokens,
    };
    Ok(store.update_user(actor, id, &patch).await?)
}

#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    responses((status = 200, body = Vec<User>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(state.store.list_users().await?))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = CreateUser,
    responses((status = 201, body = User), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(input): ApiJson<CreateUser>,
) -> ApiResult<(StatusCode, Json<User>)> {
    Ok((
        StatusCode::CREATED,
        Json(create_account(state.store.as_ref(), &caller.actor(), input).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = User), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<User>> {
    Ok(Json(state.store.get_user(id).await?))
}

/// Change an account. Disabling it or changing its password ends its sessions.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", params(("id" = i64, Path)), request_body = UpdateUser,
    responses((status = 200, body = User), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<UpdateUser>,
) -> ApiResult<Json<User>> {
    Ok(Json(
        change_account(
            state.store.as_ref(),
            &caller.actor(),
            id,
            input,
            state.config.keep_api_tokens,
        )
        .await?,
    ))
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/me", tag = "users", responses((status = 200, body = User), (status = 401, body = ErrorBody)))]
pub async fn me(Caller(caller): Caller) -> Json<User> {
    Json(caller.user)
}
