//! `/admin/sign-in`: how people sign in, as an edit form. The values in force are the
//! file's (`opsward.toml` and the environment) with what was saved here laid over them; the
//! page says for each field where its value comes from. Only the fields that differ from
//! the file are saved, so typing the file's value again hands a field back to the file.
//! Secrets (OIDC client secret, LDAP bind password) are never on the page: they stay in the
//! environment or their files, and the page only says whether one is set.

use super::{render_with, Choice, Nav, UiForm};
use crate::{api::Caller, auth::Principal, AppState};
use askama::Template;
use axum::{extract::State, http::StatusCode, response::Response};
use opsward_sso::{
    overrides::{DefaultRole, LdapOverrides, OidcOverrides},
    LocalLogin, Provisioning, SsoOverrides, SsoSettings,
};
use std::collections::{BTreeMap, HashMap};

/// Blank mapping rows offered below the existing ones.
const BLANK_ROWS: usize = 3;

/// One form field with its value and where that value comes from.
pub struct Field {
    pub name: String,
    pub label: String,
    pub value: String,
    pub source: &'static str,
    /// A select with these options when not empty.
    pub options: Vec<Choice>,
    pub checkbox: bool,
    pub hint: &'static str,
}

pub struct Section {
    pub title: &'static str,
    pub fields: Vec<Field>,
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    nav: Nav,
    sections: Vec<Section>,
    /// Group, role choices and source of each mapping row (blank rows last).
    rows: Vec<(usize, String, Vec<Choice>)>,
    mapping_source: &'static str,
    oidc_secret: &'static str,
    ldap_password: &'static str,
    /// What discovery said just now, when OpenID Connect is configured.
    oidc_status: Option<Result<String, String>>,
    saved: Option<String>,
    error: Option<String>,
}

type Values = HashMap<String, String>;

/// The form's values for `s`.
fn values_of(s: &SsoSettings) -> Values {
    let mut v = Values::new();
    let mut put = |k: &str, val: String| {
        v.insert(k.to_string(), val);
    };
    put("local_login", enum_text(&s.local_login));
    put("break_glass_users", s.break_glass_users.join(", "));
    put("provisioning", enum_text(&s.provisioning));
    put(
        "default_role",
        enum_text(&DefaultRole::from_role(s.mapping.default_role)),
    );
    for (i, (group, role)) in s.mapping.groups.iter().enumerate() {
        put(&format!("group_{i}"), group.clone());
        put(&format!("role_{i}"), role.to_string());
    }
    if let Some(o) = &s.oidc {
        put("oidc_name", o.name.clone());
        put("oidc_issuer", o.issuer.clone());
        put("oidc_client_id", o.client_id.clone());
        put("oidc_scopes", o.scopes.join(" "));
        put("oidc_username_claim", o.username_claim.clone());
        put("oidc_groups_claim", o.groups_claim.clone());
    }
    if let Some(l) = &s.ldap {
        put("ldap_url", l.url.clone());
        put("ldap_starttls", if l.starttls { "on" } else { "" }.into());
        put("ldap_bind_dn", l.bind_dn.clone().unwrap_or_default());
        put("ldap_search_base", l.search_base.clone());
        put("ldap_user_filter", l.user_filter.clone());
        put("ldap_group_attribute", l.group_attribute.clone());
    }
    v
}

/// A unit enum's serde name (`break_glass`, `just_in_time`).
fn enum_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn parse_enum<T: serde::de::DeserializeOwned>(field: &str, text: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(text.trim().to_string()))
        .map_err(|_| format!("{field}: {text:?} is not one of the choices"))
}

/// The posted form as settings (every field set), before the file's values are left out.
pub fn overrides_from_form(v: &Values) -> Result<SsoOverrides, String> {
    let get = |k: &str| v.get(k).map(|s| s.trim().to_string()).unwrap_or_default();
    let opt = |k: &str| Some(get(k));
    let mut groups = BTreeMap::new();
    let mut i = 0;
    while let Some(group) = v.get(&format!("group_{i}")) {
        let role = get(&format!("role_{i}"));
        i += 1;
        if group.trim().is_empty() || role.is_empty() {
            continue;
        }
        let role = role
            .parse()
            .map_err(|_| format!("group {group:?}: unknown role {role:?}"))?;
        groups.insert(group.trim().to_string(), role);
    }
    let oidc = if get("oidc_issuer").is_empty() && get("oidc_client_id").is_empty() {
        OidcOverrides::default()
    } else {
        OidcOverrides {
            name: opt("oidc_name").filter(|n| !n.is_empty()),
            issuer: opt("oidc_issuer"),
            client_id: opt("oidc_client_id"),
            scopes: Some(
                get("oidc_scopes")
                    .split_whitespace()
                    .map(str::to_string)
                    .collect(),
            ),
            username_claim: opt("oidc_username_claim"),
            groups_claim: opt("oidc_groups_claim"),
        }
    };
    let ldap = if get("ldap_url").is_empty() {
        LdapOverrides::default()
    } else {
        LdapOverrides {
            url: opt("ldap_url"),
            starttls: Some(!get("ldap_starttls").is_empty()),
            bind_dn: opt("ldap_bind_dn"),
            search_base: opt("ldap_search_base"),
            user_filter: opt("ldap_user_filter"),
            group_attribute: opt("ldap_group_attribute"),
        }
    };
    Ok(SsoOverrides {
        local_login: Some(parse_enum::<LocalLogin>(
            "local_login",
            &get("local_login"),
        )?),
        break_glass_users: Some(
            get("break_glass_users")
                .split([',', ' '])
                .filter(|u| !u.is_empty())
                .map(str::to_string)
                .collect(),
        ),
        provisioning: Some(parse_enum::<Provisioning>(
            "provisioning",
            &get("provisioning"),
        )?),
        groups: Some(groups),
        default_role: Some(parse_enum::<DefaultRole>(
            "default_role",
            &get("default_role"),
        )?),
        oidc,
        ldap,
    })
}

/// Where a field's value comes from.
fn source(saved: bool, in_file: bool) -> &'static str {
    match (saved, in_file) {
        (true, _) => "saved here",
        (false, true) => "opsward.toml / environment",
        (false, false) => "not set",
    }
}

fn sections(v: &Values, base: &SsoSettings, saved: &SsoOverrides) -> Vec<Section> {
    let field = |name: &str, label: &str, is_saved: bool, in_file: bool| Field {
        name: name.into(),
        label: label.into(),
        value: v.get(name).cloned().unwrap_or_default(),
        source: source(is_saved, in_file),
        options: Vec::new(),
        checkbox: false,
        hint: "",
    };
    let select = |mut f: Field, choices: &[&'static str]| {
        f.options = Choice::list(choices.iter().copied(), &f.value);
        f
    };
    let hint = |mut f: Field, hint: &'static str| {
        f.hint = hint;
        f
    };
    let (o, l) = (&saved.oidc, &saved.ldap);
    let (fo, fl) = (base.oidc.is_some(), base.ldap.is_some());
    let mut starttls = field("ldap_starttls", "StartTLS", l.starttls.is_some(), fl);
    starttls.checkbox = true;
    vec![
        Section {
            title: "Local passwords and new accounts",
            fields: vec![
                select(field("local_login", "Who may sign in with a local password", saved.local_login.is_some(), true), &["all", "break_glass"]),
                hint(field("break_glass_users", "Break-glass accounts", saved.break_glass_users.is_some(), true), "usernames, separated by commas"),
                select(field("provisioning", "Accounts of people the provider vouches for", saved.provisioning.is_some(), true), &["just_in_time", "pre_created"]),
                select(field("default_role", "Role without a mapped group", saved.default_role.is_some(), true), &["none", "viewer", "operator", "admin"]),
            ],
        },
        Section {
            title: "OpenID Connect",
            fields: vec![
                hint(field("oidc_name", "Button name (Sign in with ...)", o.name.is_some(), fo), ""),
                hint(field("oidc_issuer", "Issuer", o.issuer.is_some(), fo), "https:// (http:// only to localhost); leave issuer and client id empty for no OpenID Connect"),
                field("oidc_client_id", "Client id", o.client_id.is_some(), fo),
                hint(field("oidc_scopes", "Scopes besides openid", o.scopes.is_some(), fo), "separated by spaces"),
                field("oidc_username_claim", "Username claim", o.username_claim.is_some(), fo),
                hint(field("oidc_groups_claim", "Groups claim", o.groups_claim.is_some(), fo), "a dotted path reaches into objects: realm_access.roles"),
            ],
        },
        Section {
            title: "LDAP",
            fields: vec![
                hint(field("ldap_url", "Directory URL", l.url.is_some(), fl), "ldaps://, or ldap:// with StartTLS (plain ldap:// only to localhost); empty for no LDAP"),
                starttls,
                hint(field("ldap_bind_dn", "Service account (bind DN)", l.bind_dn.is_some(), fl), "empty for an anonymous search; its password comes from the environment or bind_password_file"),
                field("ldap_search_base", "Search base", l.search_base.is_some(), fl),
                hint(field("ldap_user_filter", "User filter", l.user_filter.is_some(), fl), "{username} is replaced by the escaped username"),
                field("ldap_group_attribute", "Group attribute", l.group_attribute.is_some(), fl),
            ],
        },
    ]
}

async fn settings_page(
    state: &AppState,
    caller: &Principal,
    status: StatusCode,
    posted: Option<(Values, String)>,
) -> Response {
    let live = state.sign_in.current().await;
    let base = &state.sign_in.base;
    let saved = live
        .saved
        .as_ref()
        .map(|s| s.overrides.clone())
        .unwrap_or_default();
    let (values, error) = match posted {
        Some((values, error)) => (values, Some(error)),
        None => (values_of(&live.settings), None),
    };
    let mut rows = Vec::new();
    let mut i = 0;
    while let Some(group) = values.get(&format!("group_{i}")) {
        let role = values
            .get(&format!("role_{i}"))
            .cloned()
            .unwrap_or_default();
        rows.push((i, group.clone(), role_choices(&role)));
        i += 1;
    }
    for _ in 0..BLANK_ROWS {
        rows.push((i, String::new(), role_choices("")));
        i += 1;
    }
    let oidc_status = match &live.oidc {
        Some(client) => Some(
            client
                .metadata(false)
                .await
                .map(|m| {
                    format!(
                        "discovery works; sign-in at {}",
                        m.authorization_endpoint().as_str()
                    )
                })
                .map_err(|e| e.to_string()),
        ),
        None => None,
    };
    let secret_state = |set: bool| {
        if set {
            "set (from the environment or its file; never shown)"
        } else {
            "not set"
        }
    };
    render_with(
        status,
        &SignInPage {
            nav: Nav::new(caller, "sign-in"),
            sections: sections(&values, base, &saved),
            rows,
            mapping_source: source(saved.groups.is_some(), true),
            oidc_secret: secret_state(
                live.settings
                    .oidc
                    .as_ref()
                    .is_some_and(|o| o.client_secret.is_some()),
            ),
            ldap_password: secret_state(
                live.settings
                    .ldap
                    .as_ref()
                    .is_some_and(|l| l.bind_password.is_some()),
            ),
            oidc_status,
            saved: live.saved.as_ref().map(|s| {
                format!(
                    "{} by {}",
                    s.updated_at.format("%Y-%m-%d %H:%M UTC"),
                    s.updated_by
                )
            }),
            error,
        },
    )
}

fn role_choices(current: &str) -> Vec<Choice> {
    let mut choices = vec![Choice {
        value: String::new(),
        label: "(remove)".into(),
        selected: current.is_empty(),
    }];
    choices.extend(Choice::list(["viewer", "operator", "admin"], current));
    choices
}

pub async fn page(State(state): State<AppState>, Caller(caller): Caller) -> Response {
    settings_page(&state, &caller, StatusCode::OK, None).await
}

/// Save the form: only what differs from the file; refused (422, the form keeping what was
/// typed) when the result would not be usable.
pub async fn save(
    State(state): State<AppState>,
    Caller(caller): Caller,
    UiForm(form): UiForm<Vec<(String, String)>>,
) -> Response {
    let values: Values = form
        .into_iter()
        .filter(|(k, _)| k != "csrf_token")
        .collect();
    let refused = |error: String| {
        let values = values.clone();
        let state = state.clone();
        let caller = caller.clone();
        async move {
            settings_page(
                &state,
                &caller,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some((values, error)),
            )
            .await
        }
    };
    let overrides = match overrides_from_form(&values) {
        Ok(o) => o.without_file_values(&state.sign_in.base),
        Err(e) => return refused(e).await,
    };
    match crate::api::sign_in::save(&state, &caller.actor(), overrides).await {
        Ok(()) => super::flash::redirect(
            "/admin/sign-in",
            "Sign-in settings saved; they apply from the next sign-in.",
        ),
        Err(e) => refused(super::describe(&e)).await,
    }
}
