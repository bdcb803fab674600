//! One poll of the inbound mailbox: each unseen message, oldest first, is fetched without
//! marking it read, parsed, filed (a new item, or a comment on the item its subject names)
//! together with its key, and only then flagged `\Seen` (or moved). A message that fails
//! stays unseen and is reported; the next poll tries it again. A crash between filing and
//! flagging is harmless: the next poll finds the key recorded and only flags the message.

use crate::{
    inbound::{
        cap, item_reference, parse_message, reply_text, InboundAction, InboundMessage, InboundRun,
        InboundSettings, MessageReport, MAX_TEXT_CHARS,
    },
    inbound_imap::Mailbox,
    inbound_store::MessageOrigin,
    model::{ItemFields, ItemInput},
    store::BacklogStore,
};
use chrono::Utc;
use opsward_core::Actor;
use opsward_store::StoreError;

/// Poll the configured mailbox once. Never fails as a whole: connection problems are the
/// run's `error`, message problems each message's `detail`.
pub async fn poll(backlog: &BacklogStore, settings: &InboundSettings, actor: &Actor) -> InboundRun {
    let mut run = InboundRun {
        at: Some(Utc::now()),
        mailbox: settings.mailbox.clone(),
        ..InboundRun::default()
    };
    if !settings.enabled() {
        run.error = Some("inbound email is not configured (no host in [backlog_inbound])".into());
        return run;
    }
    // Checked at start-up already; checked again for settings built in code.
    if let Err(e) = settings.validate() {
        run.error = Some(format!("invalid [backlog_inbound]: {e}"));
        return run;
    }
    let password = match settings.resolve_password() {
        Ok(p) => p,
        Err(e) => {
            run.error = Some(e);
            return run;
        }
    };
    let mut mailbox = match Mailbox::open(settings, &password).await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, "inbound email: cannot open the mailbox");
            run.error = Some(e.to_string());
            return run;
        }
    };
    if let Err(e) = handle_unseen(backlog, settings, actor, &mut mailbox, &mut run).await {
        tracing::warn!(error = %e, "inbound email: poll stopped");
        run.error = Some(e.to_string());
    }
    mailbox.close().await;
    for m in run
        .messages
        .iter()
        .filter(|m| m.action == InboundAction::Failed)
    {
        tracing::warn!(uid = m.uid, message_id = ?m.message_id, detail = ?m.detail, "inbound email: message left unread");
    }
    run
}

async fn handle_unseen(
    backlog: &BacklogStore,
    settings: &InboundSettings,
    actor: &Actor,
    mailbox: &mut Mailbox,
    run: &mut InboundRun,
) -> Result<(), crate::inbound_imap::ImapError> {
    let mut uids = mailbox.unseen().await?;
    run.unseen = uids.len();
    uids.truncate(settings.max_messages as usize);
    let sizes = mailbox.sizes(&uids).await?;
    let limit = u64::from(settings.max_message_kib) * 1024;
    for uid in uids {
        let size = sizes.iter().find(|(u, _)| *u == uid).map(|(_, s)| *s);
        if size.is_some_and(|s| u64::from(s) > limit) {
            run.messages.push(failed(
                uid,
                None,
                format!(
                    "the message is {} KiB, more than max_message_kib = {}",
                    size.unwrap_or(0) / 1024,
                    settings.max_message_kib
                ),
            ));
            continue;
        }
        let Some(raw) = mailbox.fetch(uid).await? else {
            // Expunged by someone else between the search and the fetch.
            continue;
        };
        let report = file(backlog, settings, actor, uid, &raw).await;
        let done = report.action != InboundAction::Failed;
        run.messages.push(report);
        if done {
            mailbox
                .done(uid, settings.processed_mailbox.as_deref())
                .await?;
        }
    }
    Ok(())
}

fn failed(uid: u32, msg: Option<&InboundMessage>, detail: String) -> MessageReport {
    MessageReport {
        uid,
        message_id: msg.and_then(|m| m.message_id.clone()),
        from: msg.map(|m| m.sender()),
        from_address: msg.map(|m| m.from_address.clone()),
        subject: msg.map(|m| m.subject.clone()),
        action: InboundAction::Failed,
        item_id: None,
        comment_id: None,
        customer_id: None,
        detail: Some(detail),
    }
}

/// Turn one raw message into an item or a comment (or recognise it as done before).
async fn file(
    backlog: &BacklogStore,
    settings: &InboundSettings,
    actor: &Actor,
    uid: u32,
    raw: &[u8],
) -> MessageReport {
    let msg = match parse_message(raw) {
        Ok(m) => m,
        Err(e) => return failed(uid, None, format!("cannot be parsed: {e}")),
    };
    match file_parsed(backlog, settings, actor, &msg).await {
        Ok((action, item_id, comment_id, detail)) => MessageReport {
            uid,
            message_id: msg.message_id.clone(),
            from: Some(msg.sender()),
            from_address: Some(msg.from_address.clone()),
            subject: Some(msg.subject.clone()),
            action,
            item_id,
            comment_id,
            customer_id: None,
            detail,
        },
        Err(e) => failed(uid, Some(&msg), e.to_string()),
    }
}

type Filed = (InboundAction, Option<i64>, Option<i64>, Option<String>);

async fn file_parsed(
    backlog: &BacklogStore,
    settings: &InboundSettings,
    actor: &Actor,
    msg: &InboundMessage,
) -> Result<Filed, StoreError> {
    if let Some(done) = backlog.inbound_filed(&msg.key).await? {
        return Ok((
            InboundAction::AlreadyProcessed,
            done.item_id,
            done.comment_id,
            None,
        ));
    }
    if msg.automatic {
        return Ok((
            InboundAction::Ignored,
            None,
            None,
            Some("an automatic message (Auto-Submitted or Precedence header)".into()),
        ));
    }
    let sender = msg.sender();
    let person = backlog.person_by_email(&msg.from_address).await?;
    let by = match &person {
        Some((id, name)) => format!("{name} <{}> (person {id})", msg.from_address),
        None => sender.clone(),
    };
    let origin = MessageOrigin {
        key: &msg.key,
        mailbox: &settings.mailbox,
        sender: &sender,
        subject: &msg.subject,
    };
    let mut note = None;
    if let Some(id) = item_reference(&msg.subject) {
        match backlog.get_item(id).await {
            Ok(_) => {
                let body = format!(
                    "{}\n\n_By email from {by}._",
                    cap(&reply_text(&msg.text), MAX_TEXT_CHARS)
                );
                return Ok(
                    match backlog
                        .file_inbound_comment(actor, &origin, id, &body)
                        .await?
                    {
                        Some(c) => (InboundAction::Commented, Some(id), Some(c.id), None),
                        None => already(backlog, &msg.key).await?,
                    },
                );
            }
            Err(StoreError::NotFound(_)) => {
                note = Some(format!("item #{id} does not exist; a new item was opened"));
            }
            Err(e) => return Err(e),
        }
    }
    let title = match msg.subject.trim() {
        "" => format!("Email from {}", msg.from_address),
        s => s.to_string(),
    };
    let text = cap(msg.text.trim(), MAX_TEXT_CHARS);
    let fields = ItemFields::from_input(&ItemInput {
        item_type: settings.item_type,
        title: title.chars().take(200).collect(),
        description: format!("{text}\n\n_Received by email from {by}._"),
        impact: 3,
        urgency: 3,
        wsjf: None,
        team_id: settings.team_id,
        assignee_person_id: None,
        tags: vec!["email".into()],
        asset_ids: Vec::new(),
    });
    Ok(
        match backlog.file_inbound_item(actor, &origin, &fields).await? {
            Some(item) => {
                tracing::info!(item = item.id, sender = %msg.from_address, "backlog item opened from email");
                (InboundAction::Created, Some(item.id), None, note)
            }
            None => already(backlog, &msg.key).await?,
        },
    )
}

/// Another poll filed the message between our check and our write.
async fn already(backlog: &BacklogStore, key: &str) -> Result<Filed, StoreError> {
    let done = backlog.inbound_filed(key).await?;
    Ok((
        InboundAction::AlreadyProcessed,
        done.as_ref().and_then(|d| d.item_id),
        done.and_then(|d| d.comment_id),
        None,
    ))
}
