use serde::{Deserialize, Serialize};
use std::fmt;

/// Who made a change, as the audit log records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The user the change is attributed to, when there is one.
    pub user_id: Option<i64>,
    /// A readable label: `user:alice`, `token:alice/ci`, `cli:root`, `system:scheduler`.
    pub label: String,
}

impl Actor {
    pub fn user(id: i64, username: &str) -> Self {
        Actor {
            user_id: Some(id),
            label: format!("user:{username}"),
        }
    }
    pub fn token(user_id: i64, username: &str, token_name: &str) -> Self {
        Actor {
            user_id: Some(user_id),
            label: format!("token:{username}/{token_name}"),
        }
    }
    pub fn cli(os_user: &str) -> Self {
        Actor {
            user_id: None,
            label: format!("cli:{os_user}"),
        }
    }
    pub fn system(component: &str) -> Self {
        Actor {
            user_id: None,
            label: format!("system:{component}"),
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label)
    }
}
