//! `opsward supplier ...` and `opsward contract ...`.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum SupplierCommand {
    /// List suppliers, oldest first.
    List {
        /// critical, high, medium or low.
        #[arg(long)]
        criticality: Option<String>,
        #[arg(long)]
        category: Option<String>,
        /// Part of the name.
        #[arg(long, short = 'q')]
        query: Option<String>,
        #[arg(long, default_value_t = 500)]
        limit: u32,
    },
    /// Register a supplier; its reviews are scheduled on the calendar by criticality.
    Add {
        #[arg(long)]
        name: String,
        /// critical (reviewed quarterly), high (half-yearly), medium or low (yearly).
        #[arg(long)]
        criticality: String,
        #[arg(long, default_value = "")]
        category: String,
        #[arg(long)]
        contact_name: Option<String>,
        #[arg(long, default_value = "")]
        contact_email: String,
        #[arg(long, default_value = "")]
        contact_phone: String,
        #[arg(long, default_value = "")]
        contact_role: String,
        /// An asset or service it provides, by id (repeatable).
        #[arg(long = "asset")]
        assets: Vec<i64>,
        /// Owning team, by name.
        #[arg(long)]
        team: Option<String>,
        #[arg(long, default_value = "")]
        notes: String,
    },
    /// Show a supplier (by id or exact name) with its contracts and review scores.
    Show { supplier: String },
    /// Supplier reviews and their actions.
    #[command(subcommand)]
    Review(ReviewCommand),
}

#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// Record a completed review; it becomes evidence on the supplier's review occurrence.
    Add {
        /// Supplier id or exact name.
        #[arg(long)]
        supplier: String,
        /// Review day, YYYY-MM-DD [default: today].
        #[arg(long)]
        date: Option<String>,
        /// `criterion=score`, 1-5, for every active criterion (repeatable).
        #[arg(long = "score", value_name = "CRITERION=N")]
        scores: Vec<String>,
        /// satisfactory, improvement_required or unsatisfactory.
        #[arg(long)]
        outcome: String,
        #[arg(long = "attendee")]
        attendees: Vec<String>,
        #[arg(long, default_value = "")]
        notes: String,
        /// An action item agreed in the review (repeatable).
        #[arg(long = "action")]
        actions: Vec<String>,
    },
    /// List reviews with their weighted scores.
    List {
        /// Supplier id or exact name.
        #[arg(long)]
        supplier: Option<String>,
        #[arg(long, default_value_t = 500)]
        limit: u32,
    },
    /// Mark a review action done.
    Done { action: i64 },
    /// Show the scorecard criteria and their weights.
    Criteria,
}

#[derive(Debug, Subcommand)]
pub enum ContractCommand {
    /// List contracts with their notice deadlines.
    List {
        /// Supplier id or exact name.
        #[arg(long)]
        supplier: Option<String>,
        /// Only contracts ending within this period, e.g. `90d` or `90`.
        #[arg(long, value_name = "DAYS")]
        expiring_within: Option<String>,
        #[arg(long, default_value_t = 500)]
        limit: u32,
    },
    /// Register a contract.
    Add {
        /// Supplier id or exact name.
        #[arg(long)]
        supplier: String,
        #[arg(long)]
        title: String,
        #[arg(long, default_value = "")]
        reference: String,
        /// YYYY-MM-DD.
        #[arg(long)]
        start: String,
        /// YYYY-MM-DD.
        #[arg(long)]
        end: String,
        /// Notice period: `90d` (days) or `3m` (calendar months).
        #[arg(long)]
        notice: String,
        /// automatic (tacit renewal) or express (ends unless renewed).
        #[arg(long, default_value = "automatic")]
        renewal: String,
        /// Renewal term in months.
        #[arg(long, default_value_t = 12)]
        term: i32,
        /// Amount, e.g. 48000.00.
        #[arg(long)]
        value: Option<String>,
        /// ISO 4217 code, e.g. EUR.
        #[arg(long)]
        currency: Option<String>,
    },
    /// Record a renewal decision for the contract's current term.
    Decide {
        id: i64,
        /// renew, terminate or renegotiate.
        #[arg(long)]
        decision: String,
        #[arg(long, default_value = "")]
        note: String,
    },
}
