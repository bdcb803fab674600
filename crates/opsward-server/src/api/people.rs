use super::Caller;
use crate::{
    error::{ApiResult, ErrorBody},
    extract::{ApiJson, ApiPath},
    AppState,
};
use axum::{extract::State, http::StatusCode, Json};
use opsward_core::people::{Person, PersonInput, Team, TeamInput};

#[utoipa::path(get, path = "/api/v1/teams", tag = "people", responses((status = 200, body = Vec<Team>), (status = 401, body = ErrorBody)))]
pub async fn list_teams(State(state): State<AppState>) -> ApiResult<Json<Vec<Team>>> {
    Ok(Json(state.store.list_teams().await?))
}

#[utoipa::path(post, path = "/api/v1/teams", tag = "people", request_body = TeamInput,
    responses((status = 201, body = Team), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_team(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(input): ApiJson<TeamInput>,
) -> ApiResult<(StatusCode, Json<Team>)> {
    Ok((
        StatusCode::CREATED,
        Json(state.store.create_team(&caller.actor(), &input).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/teams/{id}", tag = "people", params(("id" = i64, Path)),
    responses((status = 200, body = Team), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_team(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Team>> {
    Ok(Json(state.store.get_team(id).await?))
}

#[utoipa::path(put, path = "/api/v1/teams/{id}", tag = "people", params(("id" = i64, Path)), request_body = TeamInput,
    responses((status = 200, body = Team), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_team(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<TeamInput>,
) -> ApiResult<Json<Team>> {
    Ok(Json(
        state.store.update_team(&caller.actor(), id, &input).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/teams/{id}", tag = "people", params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_team(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state.store.delete_team(&caller.actor(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/people", tag = "people", responses((status = 200, body = Vec<Person>), (status = 401, body = ErrorBody)))]
pub async fn list_people(State(state): State<AppState>) -> ApiResult<Json<Vec<Person>>> {
    Ok(Json(state.store.list_people().await?))
}

#[utoipa::path(post, path = "/api/v1/people", tag = "people", request_body = PersonInput,
    responses((status = 201, body = Person), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_person(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(input): ApiJson<PersonInput>,
) -> ApiResult<(StatusCode, Json<Person>)> {
    Ok((
        StatusCode::CREATED,
        Json(state.store.create_person(&caller.actor(), &input).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/people/{id}", tag = "people", params(("id" = i64, Path)),
    responses((status = 200, body = Person), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_person(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Person>> {
    Ok(Json(state.store.get_person(id).await?))
}

#[utoipa::path(put, path = "/api/v1/people/{id}", tag = "people", params(("id" = i64, Path)), request_body = PersonInput,
    responses((status = 200, body = Person), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_person(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<PersonInput>,
) -> ApiResult<Json<Person>> {
    Ok(Json(
        state
            .store
            .update_person(&caller.actor(), id, &input)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/people/{id}", tag = "people", params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_person(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state.store.delete_person(&caller.actor(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}
