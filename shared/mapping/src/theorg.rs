//! Lever postings → The Org open roles: which roles to create, update, remove or leave alone.
//!
//! The Org's own Lever import reads job title, description, department, location, post state, creation date and
//! post URL every 6 hours and removes roles whose posting is gone. The caller reads every Lever posting (all states)
//! and what earlier runs imported into plain values; `plan` decides every write without calling anything, so a run
//! can be previewed, logged and replayed in a test. Only Lever-owned fields are sent: a role's manager is placed on
//! The Org by people, never by the import.

use crate::text::{clean, fingerprint};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A Lever posting reduced to what the import uses (the caller copies it from the connector's Posting).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PostingInput {
    /// The Lever posting id.
    pub id: String,
    /// `text`: the title.
    pub text: Option<String>,
    /// `published`, `internal`, `closed`, `draft`, `pending` or `rejected`.
    pub state: Option<String>,
    /// `createdAt`, epoch ms.
    pub created_at_ms: Option<i64>,
    /// `categories.department`.
    pub department: Option<String>,
    /// `categories.team`.
    pub team: Option<String>,
    /// `categories.location`: the primary location.
    pub location: Option<String>,
    /// `categories.allLocations`.
    pub all_locations: Vec<String>,
    /// `content.description`: plain text.
    pub description: Option<String>,
    /// `content.descriptionHtml`.
    pub description_html: Option<String>,
    /// content.lists: (heading text, content HTML of <li> items)
    pub lists: Vec<(String, String)>,
    /// `content.closing`: plain text.
    pub closing: Option<String>,
    /// `content.closingHtml`.
    pub closing_html: Option<String>,
    /// `urls.show` (Lever sends `urls: null` on closed postings).
    pub url_show: Option<String>,
    /// `urls.apply`.
    pub url_apply: Option<String>,
}

/// An open role as published to The Org (only Lever-owned fields; never a manager).
///
/// Text values are trimmed and blank ones are None.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OpenRole {
    /// The Lever posting id.
    pub external_id: String,
    pub title: String,
    /// Plain text: the description, then each list as "Heading\n- item\n- item", then the closing; blocks are
    /// separated by a blank line. List headings and items have their HTML tags stripped and entities decoded.
    pub description: Option<String>,
    /// `descriptionHtml`, then each list as `<h3>Heading</h3><ul>…</ul>`, then `closingHtml`.
    pub description_html: Option<String>,
    pub department: Option<String>,
    pub team: Option<String>,
    /// The primary location.
    pub location: Option<String>,
    /// `allLocations`, else `[location]` when there is one; de-duplicated, order kept.
    pub all_locations: Vec<String>,
    /// The posting state, lower case ("" when Lever sent none).
    pub state: String,
    /// Epoch ms as Lever gives it.
    pub created_at: Option<i64>,
    /// `urls.show`: the job post URL.
    pub url: Option<String>,
    /// `urls.apply`.
    pub apply_url: Option<String>,
}

/// Every posting state Lever knows, in the order its documentation lists them.
const STATES: [&str; 6] = ["published", "internal", "closed", "draft", "pending", "rejected"];

/// The posting states that make a role open; default published + internal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenStates(pub Vec<String>);

impl OpenStates {
    /// Parses a comma-separated list such as "published,internal" (trimmed, any case, repeats counted once).
    /// Unknown words are an error that lists the valid states; an empty list is an error.
    pub fn parse(text: &str) -> Result<OpenStates, String> {
        let words: Vec<String> = text.split(',').map(|w| w.trim().to_lowercase()).filter(|w| !w.is_empty()).collect();
        let valid = STATES.join(", ");
        let unknown: Vec<&str> = words.iter().map(String::as_str).filter(|w| !STATES.contains(w)).collect();
        if !unknown.is_empty() {
            return Err(format!("unknown posting state {}; valid states: {valid}", quoted(&unknown)));
        }
        if words.is_empty() {
            return Err(format!("no posting states given; valid states: {valid}"));
        }
        let mut states: Vec<String> = Vec::new();
        for word in words {
            if !states.contains(&word) {
                states.push(word);
            }
        }
        Ok(OpenStates(states))
    }

    /// Whether a posting in `state` is open (trimmed, any case).
    pub fn contains(&self, state: &str) -> bool {
        let state = state.trim();
        self.0.iter().any(|s| s.eq_ignore_ascii_case(state))
    }
}

impl Default for OpenStates {
    /// `published` (on the public job site) and `internal` (unlisted): both are roles being hired for.
    fn default() -> Self {
        OpenStates(vec!["published".to_string(), "internal".to_string()])
    }
}

fn quoted(words: &[&str]) -> String {
    words.iter().map(|w| format!("\"{w}\"")).collect::<Vec<_>>().join(", ")
}

/// Maps a posting to an open role; None when it has no title (nothing to show).
pub fn open_role(posting: &PostingInput) -> Option<OpenRole> {
    let title = clean(posting.text.as_deref())?.to_string();
    let text = |v: &Option<String>| clean(v.as_deref()).map(str::to_string);
    let location = text(&posting.location);
    let mut all_locations: Vec<String> = Vec::new();
    for place in posting.all_locations.iter().filter_map(|l| clean(Some(l))) {
        if !all_locations.iter().any(|l| l == place) {
            all_locations.push(place.to_string());
        }
    }
    if all_locations.is_empty() {
        all_locations.extend(location.clone());
    }
    Some(OpenRole {
        external_id: posting.id.trim().to_string(),
        title,
        description: plain_description(posting),
        description_html: html_description(posting),
        department: text(&posting.department),
        team: text(&posting.team),
        location,
        all_locations,
        state: clean(posting.state.as_deref()).unwrap_or_default().to_lowercase(),
        created_at: posting.created_at_ms,
        url: text(&posting.url_show),
        apply_url: text(&posting.url_apply),
    })
}

fn plain_description(posting: &PostingInput) -> Option<String> {
    let mut blocks: Vec<String> = Vec::new();
    blocks.extend(clean(posting.description.as_deref()).map(str::to_string));
    for (heading, content) in &posting.lists {
        let mut lines: Vec<String> = Vec::new();
        lines.extend(Some(plain_text(heading)).filter(|h| !h.is_empty()));
        lines.extend(list_items(content).into_iter().map(|item| format!("- {item}")));
        if !lines.is_empty() {
            blocks.push(lines.join("\n"));
        }
    }
    blocks.extend(clean(posting.closing.as_deref()).map(str::to_string));
    Some(blocks.join("\n\n")).filter(|d| !d.is_empty())
}

fn html_description(posting: &PostingInput) -> Option<String> {
    let mut html = String::new();
    html.push_str(clean(posting.description_html.as_deref()).unwrap_or_default());
    for (heading, content) in &posting.lists {
        let heading = plain_text(heading);
        if !heading.is_empty() {
            html.push_str(&format!("<h3>{}</h3>", escape(&heading)));
        }
        if let Some(items) = clean(Some(content)) {
            html.push_str(&format!("<ul>{items}</ul>"));
        }
    }
    html.push_str(clean(posting.closing_html.as_deref()).unwrap_or_default());
    Some(html).filter(|h| !h.is_empty())
}

/// A piece of HTML as the scanner sees it.
enum Token<'a> {
    /// A tag's lower-case name and whether it closes (`</li>`).
    Tag(String, bool),
    Text(&'a str),
}

/// Splits HTML into tags and text; a `<` that does not start a tag (or never closes) is text.
fn tokens(html: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut rest = html;
    while !rest.is_empty() {
        let starts_tag = |s: &str| {
            let mut chars = s.chars();
            chars.next() == Some('<') && chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '/' || c == '!')
        };
        if starts_tag(rest) {
            if let Some(end) = rest.find('>') {
                let inner = &rest[1..end];
                let closing = inner.starts_with('/');
                let name: String = inner
                    .trim_start_matches('/')
                    .chars()
                    .take_while(char::is_ascii_alphanumeric)
                    .collect::<String>()
                    .to_ascii_lowercase();
                out.push(Token::Tag(name, closing));
                rest = &rest[end + 1..];
                continue;
            }
        }
        // Text runs to the next `<` after the first character (which may be several bytes long).
        let first = rest.chars().next().map_or(1, char::len_utf8);
        let end = rest[first..].find('<').map_or(rest.len(), |i| i + first);
        out.push(Token::Text(&rest[..end]));
        rest = &rest[end..];
    }
    out
}

/// Tags that separate words when stripped; inline tags (`<b>`, `<a>`) do not.
fn breaks_words(tag: &str) -> bool {
    matches!(tag, "br" | "p" | "div" | "li" | "ul" | "ol" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "tr" | "td")
}

/// HTML as one line of plain text: tags stripped, entities decoded, white space collapsed.
fn plain_text(html: &str) -> String {
    let mut text = String::new();
    for token in tokens(html) {
        match token {
            Token::Tag(name, _) if breaks_words(&name) => text.push(' '),
            Token::Tag(..) => {}
            Token::Text(t) => text.push_str(&decode(t)),
        }
    }
    collapse(&text)
}

/// The plain text of each `<li>` of a list's content; content without any `<li>` is one item.
fn list_items(html: &str) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    let mut loose = String::new();
    for token in tokens(html) {
        match token {
            Token::Tag(name, closing) if name == "li" => {
                items.extend(current.take());
                if !closing {
                    current = Some(String::new());
                }
            }
            Token::Tag(name, _) if breaks_words(&name) => current.as_mut().unwrap_or(&mut loose).push(' '),
            Token::Tag(..) => {}
            Token::Text(t) => current.as_mut().unwrap_or(&mut loose).push_str(&decode(t)),
        }
    }
    items.extend(current);
    if items.is_empty() {
        items.push(loose);
    }
    items.iter().map(|i| collapse(i)).filter(|i| !i.is_empty()).collect()
}

/// Decodes the entities Lever's editor writes (`&amp; &lt; &gt; &quot; &#39; &nbsp;`, plus `&apos;` and numeric
/// ones) in one pass, so `&amp;lt;` stays `&lt;`. Unknown entities are left as written.
fn decode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let entity = rest.find(';').filter(|&end| end <= 10).map(|end| (&rest[1..end], end));
        let decoded = entity.and_then(|(name, end)| {
            let c = match name {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                // A plain space: the text is for people, not for layout.
                "nbsp" => ' ',
                _ => {
                    let number = name.strip_prefix('#')?;
                    let code = match number.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => number.parse().ok()?,
                    };
                    char::from_u32(code)?
                }
            };
            Some((c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What was imported before: The Org's job id and the fingerprint of what was last sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Imported {
    pub job_id: String,
    pub fingerprint: String,
    /// The title last sent (names a removed role in the run log).
    pub title: String,
}

impl OpenRole {
    /// Stable hex fingerprint (64-bit FNV-1a over a canonical serialization of every field).
    ///
    /// The serialization is the role's JSON, fields in declaration order, so None and "" differ. Stored with each
    /// import: adding or reordering a field changes every fingerprint and updates every role once.
    pub fn fingerprint(&self) -> String {
        // Serializing strings, numbers and lists cannot fail; an empty input would still give a stable value.
        let canonical = serde_json::to_vec(self).unwrap_or_default();
        fingerprint(&canonical)
    }
}

/// One field that differs between what was sent and what would be sent now (None = empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    /// The camelCase name, e.g. "title".
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// Field-by-field differences (field names as in OpenRole's camelCase JSON: title, description, descriptionHtml,
/// department, team, location, allLocations, state, createdAt, url, applyUrl), in that order; values rendered as text
/// (allLocations joined with ", ", createdAt as epoch ms). Only used for the run log; `old` comes from a stored copy
/// when the caller has one.
pub fn diff(old: &OpenRole, new: &OpenRole) -> Vec<FieldChange> {
    let old = fields(old);
    let new = fields(new);
    old.into_iter()
        .zip(new)
        .filter(|((_, a), (_, b))| a != b)
        .map(|((field, old), (_, new))| FieldChange { field: field.to_string(), old, new })
        .collect()
}

/// Every compared field of a role as text, in `diff` order.
fn fields(role: &OpenRole) -> [(&'static str, Option<String>); 11] {
    let locations = Some(role.all_locations.join(", ")).filter(|l| !l.is_empty());
    [
        ("title", Some(role.title.clone()).filter(|t| !t.is_empty())),
        ("description", role.description.clone()),
        ("descriptionHtml", role.description_html.clone()),
        ("department", role.department.clone()),
        ("team", role.team.clone()),
        ("location", role.location.clone()),
        ("allLocations", locations),
        ("state", Some(role.state.clone()).filter(|s| !s.is_empty())),
        ("createdAt", role.created_at.map(|ms| ms.to_string())),
        ("url", role.url.clone()),
        ("applyUrl", role.apply_url.clone()),
    ]
}

/// What the import does to The Org's role for one Lever posting.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RoleAction {
    /// Open and never imported.
    Create { role: OpenRole },
    /// Open, imported, and different from what was last sent.
    Update { job_id: String, role: OpenRole },
    /// Imported but no longer open; `title` is the one last sent, `reason` says why for the run log.
    Remove { job_id: String, title: String, reason: String },
    /// Open and the same as last sent.
    Unchanged { job_id: String },
}

/// The action planned for one Lever posting.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedRole {
    /// The Lever posting id.
    pub external_id: String,
    /// The title.
    pub label: String,
    pub action: RoleAction,
}

/// The import plan: every open role (create/update/unchanged) and every previously imported role that is no longer
/// open (remove), sorted by external_id.
///
/// `postings` is everything read from Lever (all states); `imported` is what the store holds (external_id ->
/// Imported). A posting missing from `postings` counts as deleted, so the caller passes a complete read only.
///
/// Remove reasons: "closed in Lever", "draft in Lever", "<state> in Lever" for a posting in a non-open state, "has no
/// state in Lever" when Lever sent none, "deleted in Lever" when the posting is absent from `postings`.
/// A posting without a title cannot be published: such postings are treated as not open (removed if previously
/// imported, reason "has no title in Lever"; a non-open state is the reason given first).
/// Duplicate posting ids in `postings` (the caller reads two overlapping listings) count once: the first one read
/// wins. Postings with a blank id are ignored.
pub fn plan(
    postings: &[PostingInput],
    open_states: &OpenStates,
    imported: &BTreeMap<String, Imported>,
) -> Vec<PlannedRole> {
    let mut unique: BTreeMap<&str, &PostingInput> = BTreeMap::new();
    for posting in postings {
        let id = posting.id.trim();
        if !id.is_empty() {
            unique.entry(id).or_insert(posting);
        }
    }
    let imported: BTreeMap<&str, &Imported> = imported.iter().map(|(id, i)| (id.trim(), i)).collect();

    let mut planned: BTreeMap<String, PlannedRole> = BTreeMap::new();
    for (&id, posting) in &unique {
        let before = imported.get(id).copied();
        let state = clean(posting.state.as_deref()).unwrap_or_default().to_lowercase();
        let role = open_role(posting);
        let closed_reason = match (&role, state.as_str()) {
            (_, "") => Some("has no state in Lever".to_string()),
            (_, state) if !open_states.contains(state) => Some(format!("{state} in Lever")),
            (None, _) => Some("has no title in Lever".to_string()),
            (Some(_), _) => None,
        };
        let entry = match (role, before, closed_reason) {
            (_, Some(before), Some(reason)) => {
                let title = removed_title(before, posting, id);
                let action = RoleAction::Remove { job_id: before.job_id.clone(), title: title.clone(), reason };
                PlannedRole { external_id: id.to_string(), label: title, action }
            }
            (Some(role), before, None) => {
                let label = role.title.clone();
                let action = match before {
                    None => RoleAction::Create { role },
                    Some(b) if b.fingerprint == role.fingerprint() => {
                        RoleAction::Unchanged { job_id: b.job_id.clone() }
                    }
                    Some(b) => RoleAction::Update { job_id: b.job_id.clone(), role },
                };
                PlannedRole { external_id: id.to_string(), label, action }
            }
            // Not open and never imported: nothing on The Org to touch.
            _ => continue,
        };
        planned.insert(id.to_string(), entry);
    }
    for (&id, before) in &imported {
        if !id.is_empty() && !unique.contains_key(id) {
            let title = Some(before.title.trim()).filter(|t| !t.is_empty()).unwrap_or(id).to_string();
            let reason = "deleted in Lever".to_string();
            let action = RoleAction::Remove { job_id: before.job_id.clone(), title: title.clone(), reason };
            planned.insert(id.to_string(), PlannedRole { external_id: id.to_string(), label: title, action });
        }
    }
    planned.into_values().collect()
}

/// The title The Org shows (the one last sent), else Lever's current one, else the posting id.
fn removed_title(before: &Imported, posting: &PostingInput, id: &str) -> String {
    clean(Some(&before.title)).or(clean(posting.text.as_deref())).unwrap_or(id).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::fnv1a64;
    use serde_json::{json, Value};

    const INFRA: &str = "f2f01e16-c6a0-4c04-9a3c-6d5fc7a2ab01";
    const DESIGN: &str = "a7c3e9d2-1b4f-4e6a-8c5d-2f9b0e1d3c47";
    const SALES: &str = "c0d4b8e1-9f2a-4b3c-8e7d-6a5f4e3d2c18";

    fn some(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    /// A Data API posting as Lever sends it (the DOC example, with real-shaped content).
    fn infra_json() -> Value {
        json!({
            "id": INFRA,
            "text": " Infrastructure Engineer ",
            "state": "published",
            "createdAt": 1407779365624_i64,
            "updatedAt": 1407779365624_i64,
            "owner": "ec1c2a9e-5b1f-4b8d-9c7e-1d2f3a4b5c6d",
            "hiringManager": "ec1c2a9e-5b1f-4b8d-9c7e-1d2f3a4b5c6d",
            "confidentiality": "non-confidential",
            "categories": {
                "team": "Platform",
                "department": "Engineering",
                "location": "San Francisco",
                "allLocations": ["San Francisco", "New York City"],
                "commitment": "Full-time",
                "level": null
            },
            "content": {
                "description": "We run the platform every team ships on.",
                "descriptionHtml": "<div>We run the platform every team ships on.</div>",
                "lists": [
                    {"text": "What you'll do",
                     "content": "<li>Design &amp; run our Kubernetes platform</li><li>Keep p99 latency &lt; 200&nbsp;ms</li>"},
                    {"text": "About you",
                     "content": "<li><b>5+ years</b> of Go or Rust</li>\n<li>Explain &quot;eventual consistency&quot; &#39;simply&#39;</li>"}
                ],
                "closing": "Lever is an equal opportunity employer.",
                "closingHtml": "<div>Lever is an equal opportunity employer.</div>"
            },
            "distributionChannels": ["internal", "public"],
            "requisitionCodes": ["7381912"],
            "reqCode": "",
            "urls": {
                "list": "https://jobs.lever.co/example",
                "show": "https://jobs.lever.co/example/f2f01e16-c6a0-4c04-9a3c-6d5fc7a2ab01/",
                "apply": "https://jobs.lever.co/example/f2f01e16-c6a0-4c04-9a3c-6d5fc7a2ab01/apply"
            },
            "workplaceType": "remote"
        })
    }

    /// What the caller copies from the connector's Posting, done here from the JSON.
    fn from_lever(p: &Value) -> PostingInput {
        let text = |v: &Value| v.as_str().map(str::to_string);
        let categories = &p["categories"];
        let content = &p["content"];
        let strings = |v: &Value| v.as_array().map(|a| a.iter().filter_map(text).collect()).unwrap_or_default();
        PostingInput {
            id: text(&p["id"]).unwrap_or_default(),
            text: text(&p["text"]),
            state: text(&p["state"]),
            created_at_ms: p["createdAt"].as_i64(),
            department: text(&categories["department"]),
            team: text(&categories["team"]),
            location: text(&categories["location"]),
            all_locations: strings(&categories["allLocations"]),
            description: text(&content["description"]),
            description_html: text(&content["descriptionHtml"]),
            lists: content["lists"]
                .as_array()
                .map(|lists| {
                    let pair =
                        |l: &Value| (text(&l["text"]).unwrap_or_default(), text(&l["content"]).unwrap_or_default());
                    lists.iter().map(pair).collect()
                })
                .unwrap_or_default(),
            closing: text(&content["closing"]),
            closing_html: text(&content["closingHtml"]),
            url_show: text(&p["urls"]["show"]),
            url_apply: text(&p["urls"]["apply"]),
        }
    }

    fn infra() -> PostingInput {
        from_lever(&infra_json())
    }

    /// A minimal posting with a title and a state.
    fn posting(id: &str, title: &str, state: &str) -> PostingInput {
        PostingInput { id: id.into(), text: some(title), state: some(state), ..PostingInput::default() }
    }

    fn role(p: &PostingInput) -> OpenRole {
        open_role(p).expect("a titled posting is a role")
    }

    fn imported(entries: &[(&str, &str, &PostingInput)]) -> BTreeMap<String, Imported> {
        let entry = |(id, job_id, p): &(&str, &str, &PostingInput)| {
            let r = role(p);
            (id.to_string(), Imported { job_id: job_id.to_string(), fingerprint: r.fingerprint(), title: r.title })
        };
        entries.iter().map(entry).collect()
    }

    fn actions(planned: &[PlannedRole]) -> Vec<(&str, &RoleAction)> {
        planned.iter().map(|p| (p.external_id.as_str(), &p.action)).collect()
    }

    fn remove(job_id: &str, title: &str, reason: &str) -> RoleAction {
        RoleAction::Remove { job_id: job_id.into(), title: title.into(), reason: reason.into() }
    }

    #[test]
    fn maps_every_field_of_a_real_posting() {
        let r = role(&infra());
        assert_eq!(
            r,
            OpenRole {
                external_id: INFRA.into(),
                title: "Infrastructure Engineer".into(),
                description: some(
                    "We run the platform every team ships on.\n\n\
                     What you'll do\n- Design & run our Kubernetes platform\n- Keep p99 latency < 200 ms\n\n\
                     About you\n- 5+ years of Go or Rust\n- Explain \"eventual consistency\" 'simply'\n\n\
                     Lever is an equal opportunity employer."
                ),
                description_html: some(
                    "<div>We run the platform every team ships on.</div>\
                     <h3>What you'll do</h3><ul><li>Design &amp; run our Kubernetes platform</li>\
                     <li>Keep p99 latency &lt; 200&nbsp;ms</li></ul>\
                     <h3>About you</h3><ul><li><b>5+ years</b> of Go or Rust</li>\n\
                     <li>Explain &quot;eventual consistency&quot; &#39;simply&#39;</li></ul>\
                     <div>Lever is an equal opportunity employer.</div>"
                ),
                department: some("Engineering"),
                team: some("Platform"),
                location: some("San Francisco"),
                all_locations: vec!["San Francisco".into(), "New York City".into()],
                state: "published".into(),
                created_at: Some(1_407_779_365_624),
                url: some("https://jobs.lever.co/example/f2f01e16-c6a0-4c04-9a3c-6d5fc7a2ab01/"),
                apply_url: some("https://jobs.lever.co/example/f2f01e16-c6a0-4c04-9a3c-6d5fc7a2ab01/apply"),
            }
        );
    }

    #[test]
    fn title_is_trimmed_and_a_posting_without_one_is_no_role() {
        assert_eq!(role(&posting(INFRA, "\tSRE ", "published")).title, "SRE");
        assert_eq!(open_role(&PostingInput { text: None, ..infra() }), None);
        assert_eq!(open_role(&PostingInput { text: some("   "), ..infra() }), None);
        assert_eq!(role(&PostingInput { id: format!(" {INFRA} "), ..infra() }).external_id, INFRA);
    }

    #[test]
    fn list_items_are_stripped_of_tags_and_entities_are_decoded_once() {
        let items = |html: &str| list_items(html);
        assert_eq!(
            items("<li>Tom &amp; Jerry</li><li>&lt;b&gt; is &quot;bold&quot;</li>"),
            ["Tom & Jerry", "<b> is \"bold\""]
        );
        // One pass: an escaped entity stays an entity, and unknown ones are left alone.
        assert_eq!(items("<li>write &amp;lt; as &amp;amp;lt;</li>"), ["write &lt; as &amp;lt;"]);
        assert_eq!(items("<li>R&D &copy; &#x2014; &#8212; &apos;ok&#39;</li>"), ["R&D &copy; \u{2014} \u{2014} 'ok'"]);
        assert_eq!(items("<li>a&nbsp;&nbsp;b</li>"), ["a b"]);
        // Inline tags join words, block tags and line breaks separate them; blank items are dropped.
        assert_eq!(
            items("<LI class=\"x\"><b>Go</b>lang<br/>and <a href=\"#\">Rust</a></LI><li> </li><li></li>"),
            ["Golang and Rust"]
        );
        assert_eq!(items("<li>Unclosed one<li>and two</li>"), ["Unclosed one", "and two"]);
        assert_eq!(items("just text, no items"), ["just text, no items"]);
        assert_eq!(items("a < b"), ["a < b"]);
        assert_eq!(items(""), Vec::<String>::new());
    }

    #[test]
    fn description_blocks_skip_whatever_is_missing() {
        let bare = posting(INFRA, "SRE", "published");
        assert_eq!(role(&bare).description, None);
        assert_eq!(role(&bare).description_html, None);
        let lists_only = PostingInput {
            lists: vec![
                ("Perks".into(), "<li>Remote</li>".into()),
                ("".into(), "<li>No heading</li>".into()),
                ("Empty".into(), " ".into()),
                (" ".into(), "".into()),
            ],
            ..bare.clone()
        };
        let r = role(&lists_only);
        assert_eq!(r.description, some("Perks\n- Remote\n\n- No heading\n\nEmpty"));
        assert_eq!(
            r.description_html,
            some("<h3>Perks</h3><ul><li>Remote</li></ul><ul><li>No heading</li></ul><h3>Empty</h3>")
        );
        let closing_only =
            PostingInput { closing: some(" Apply today. "), closing_html: some("<p>Apply today.</p>"), ..bare };
        assert_eq!(role(&closing_only).description, some("Apply today."));
        assert_eq!(role(&closing_only).description_html, some("<p>Apply today.</p>"));
    }

    #[test]
    fn list_headings_are_text_in_both_descriptions() {
        let p = PostingInput {
            lists: vec![("R&amp;D <em>perks</em> & more".into(), "<li>Lab</li>".into())],
            ..posting(INFRA, "SRE", "published")
        };
        let r = role(&p);
        assert_eq!(r.description, some("R&D perks & more\n- Lab"));
        assert_eq!(r.description_html, some("<h3>R&amp;D perks &amp; more</h3><ul><li>Lab</li></ul>"));
    }

    #[test]
    fn categories_are_trimmed_and_blanks_are_none() {
        let p = PostingInput {
            department: some(" Engineering "),
            team: some(""),
            location: some("  "),
            all_locations: vec![],
            ..infra()
        };
        let r = role(&p);
        assert_eq!((r.department, r.team, r.location), (some("Engineering"), None, None));
        assert!(r.all_locations.is_empty());
    }

    #[test]
    fn all_locations_are_deduplicated_in_order_else_the_location() {
        let with = |all: &[&str], location: Option<&str>| {
            let p = PostingInput {
                all_locations: all.iter().map(|s| s.to_string()).collect(),
                location: location.map(str::to_string),
                ..infra()
            };
            role(&p).all_locations
        };
        assert_eq!(with(&["London", " Berlin", "London", "", "Berlin "], Some("Berlin")), ["London", "Berlin"]);
        // As given: the primary location is not added to a list that lacks it.
        assert_eq!(with(&["Remote"], Some("San Francisco")), ["Remote"]);
        assert_eq!(with(&[], Some(" San Francisco ")), ["San Francisco"]);
        assert_eq!(with(&[" "], Some("Austin")), ["Austin"]);
        assert_eq!(with(&[], None), Vec::<String>::new());
    }

    #[test]
    fn state_is_lower_case_and_created_at_is_lever_epoch_ms() {
        let r = role(&PostingInput { state: some(" Internal "), created_at_ms: Some(1_700_000_000_000), ..infra() });
        assert_eq!((r.state.as_str(), r.created_at), ("internal", Some(1_700_000_000_000)));
        let r = role(&PostingInput { state: None, created_at_ms: None, ..infra() });
        assert_eq!((r.state.as_str(), r.created_at), ("", None));
    }

    #[test]
    fn closed_postings_with_null_urls_have_no_urls() {
        let mut json = infra_json();
        json["state"] = json!("closed");
        json["urls"] = Value::Null;
        let r = role(&from_lever(&json));
        assert_eq!((r.url, r.apply_url, r.state.as_str()), (None, None, "closed"));
        let r =
            role(&PostingInput { url_show: some(" "), url_apply: some(" https://jobs.lever.co/x/apply "), ..infra() });
        assert_eq!((r.url, r.apply_url), (None, some("https://jobs.lever.co/x/apply")));
    }

    #[test]
    fn open_states_default_to_published_and_internal() {
        let open = OpenStates::default();
        assert_eq!(open, OpenStates(vec!["published".into(), "internal".into()]));
        assert_eq!(OpenStates::parse("published,internal"), Ok(open.clone()));
        for state in ["published", "internal", " Published ", "INTERNAL"] {
            assert!(open.contains(state), "{state}");
        }
        for state in ["closed", "draft", "pending", "rejected", "", "publish"] {
            assert!(!open.contains(state), "{state}");
        }
    }

    #[test]
    fn open_states_parse_trims_lowercases_and_drops_repeats() {
        assert_eq!(
            OpenStates::parse(" Published , pending,published,, "),
            Ok(OpenStates(vec!["published".into(), "pending".into()]))
        );
        let all = OpenStates::parse("published,internal,closed,draft,pending,rejected").unwrap();
        assert_eq!(all.0.len(), 6);
        assert!(OpenStates::parse("internal").unwrap().contains("Internal"));
    }

    #[test]
    fn open_states_parse_rejects_unknown_words_and_empty_lists() {
        assert_eq!(
            OpenStates::parse("published,open,Unlisted"),
            Err("unknown posting state \"open\", \"unlisted\"; valid states: published, internal, closed, draft, \
                 pending, rejected"
                .to_string())
        );
        for empty in ["", "  ", ",", " , ,"] {
            let err = OpenStates::parse(empty).unwrap_err();
            assert!(err.starts_with("no posting states given"), "{empty:?}: {err}");
            assert!(err.ends_with("valid states: published, internal, closed, draft, pending, rejected"));
        }
    }

    #[test]
    fn fingerprint_is_fnv1a_over_the_json_and_stable_across_releases() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
        let r = role(&infra());
        let json = serde_json::to_vec(&r).unwrap();
        assert_eq!(r.fingerprint(), format!("{:016x}", fnv1a64(&json)));
        assert_eq!(r.fingerprint().len(), 16);
        assert_eq!(r.fingerprint(), role(&infra()).fingerprint());
        // Stored with every import: a change here would update every role once.
        assert_eq!(OpenRole::default().fingerprint(), "8f0ac1f46a491bc9");
    }

    #[test]
    fn fingerprint_changes_with_every_field() {
        let base = role(&infra());
        let variants: Vec<OpenRole> = vec![
            OpenRole { external_id: SALES.into(), ..base.clone() },
            OpenRole { title: "Infrastructure engineer".into(), ..base.clone() },
            OpenRole { description: None, ..base.clone() },
            OpenRole { description_html: some("<div></div>"), ..base.clone() },
            OpenRole { department: some("Platform"), ..base.clone() },
            OpenRole { team: some("Engineering"), ..base.clone() },
            OpenRole { location: some("New York City"), ..base.clone() },
            OpenRole { all_locations: vec!["New York City".into(), "San Francisco".into()], ..base.clone() },
            OpenRole { state: "internal".into(), ..base.clone() },
            OpenRole { created_at: Some(1_407_779_365_625), ..base.clone() },
            OpenRole { url: None, ..base.clone() },
            OpenRole { apply_url: some(""), ..base.clone() },
        ];
        let mut seen = vec![base.fingerprint()];
        for v in variants {
            assert!(!seen.contains(&v.fingerprint()), "{v:?}");
            seen.push(v.fingerprint());
        }
        // A value does not count the same in a neighbouring field.
        let team = OpenRole { team: some("Platform"), ..OpenRole::default() };
        let department = OpenRole { department: some("Platform"), ..OpenRole::default() };
        assert_ne!(team.fingerprint(), department.fingerprint());
    }

    #[test]
    fn diff_lists_changed_fields_in_order_as_text() {
        let old = role(&infra());
        let new = OpenRole {
            title: "Senior Infrastructure Engineer".into(),
            team: None,
            all_locations: vec!["San Francisco".into(), "Remote".into()],
            created_at: Some(1_407_779_365_999),
            url: some("https://jobs.lever.co/example/new/"),
            ..old.clone()
        };
        let change = |field: &str, old: Option<&str>, new: Option<&str>| FieldChange {
            field: field.into(),
            old: old.map(str::to_string),
            new: new.map(str::to_string),
        };
        assert_eq!(
            diff(&old, &new),
            vec![
                change("title", Some("Infrastructure Engineer"), Some("Senior Infrastructure Engineer")),
                change("team", Some("Platform"), None),
                change("allLocations", Some("San Francisco, New York City"), Some("San Francisco, Remote")),
                change("createdAt", Some("1407779365624"), Some("1407779365999")),
                change(
                    "url",
                    Some("https://jobs.lever.co/example/f2f01e16-c6a0-4c04-9a3c-6d5fc7a2ab01/"),
                    Some("https://jobs.lever.co/example/new/")
                ),
            ]
        );
        assert_eq!(diff(&old, &old), vec![]);
        let names: Vec<String> = diff(&OpenRole::default(), &old).into_iter().map(|c| c.field).collect();
        assert_eq!(
            names,
            [
                "title",
                "description",
                "descriptionHtml",
                "department",
                "team",
                "location",
                "allLocations",
                "state",
                "createdAt",
                "url",
                "applyUrl"
            ]
        );
    }

    #[test]
    fn open_postings_never_imported_are_created_and_others_ignored() {
        let postings = [
            infra(),
            posting(DESIGN, "Product Designer", "internal"),
            posting(SALES, "Account Executive", "draft"),
            posting("p-closed", "Old role", "closed"),
            PostingInput { text: None, ..posting("p-untitled", "", "published") },
        ];
        let planned = plan(&postings, &OpenStates::default(), &BTreeMap::new());
        assert_eq!(
            actions(&planned),
            [
                (DESIGN, &RoleAction::Create { role: role(&postings[1]) }),
                (INFRA, &RoleAction::Create { role: role(&infra()) }),
            ]
        );
        assert_eq!(planned[1].label, "Infrastructure Engineer");
    }

    #[test]
    fn imported_roles_are_unchanged_until_a_field_changes() {
        let before = imported(&[(INFRA, "job-1", &infra())]);
        let planned = plan(&[infra()], &OpenStates::default(), &before);
        assert_eq!(actions(&planned), [(INFRA, &RoleAction::Unchanged { job_id: "job-1".into() })]);
        let renamed = PostingInput { text: some("Senior Infrastructure Engineer"), ..infra() };
        let planned = plan(std::slice::from_ref(&renamed), &OpenStates::default(), &before);
        assert_eq!(actions(&planned), [(INFRA, &RoleAction::Update { job_id: "job-1".into(), role: role(&renamed) })]);
        assert_eq!(planned[0].label, "Senior Infrastructure Engineer");
        // Published -> internal is still open, but the state is sent, so it is an update.
        let unlisted = PostingInput { state: some("internal"), ..infra() };
        let planned = plan(&[unlisted], &OpenStates::default(), &before);
        assert!(matches!(planned[0].action, RoleAction::Update { .. }));
        let unknown = BTreeMap::from([(
            INFRA.to_string(),
            Imported { job_id: "job-1".into(), fingerprint: String::new(), title: String::new() },
        )]);
        assert!(matches!(plan(&[infra()], &OpenStates::default(), &unknown)[0].action, RoleAction::Update { .. }));
    }

    #[test]
    fn roles_no_longer_open_are_removed_with_the_lever_state_as_reason() {
        let design = posting(DESIGN, "Product Designer", "published");
        let sales = posting(SALES, "Account Executive", "published");
        let before = imported(&[(INFRA, "job-1", &infra()), (DESIGN, "job-2", &design), (SALES, "job-3", &sales)]);
        let postings = [
            PostingInput { state: some("closed"), url_show: None, url_apply: None, ..infra() },
            PostingInput { state: some("Draft"), text: some("Product Designer II"), ..design },
            PostingInput { state: some("rejected"), ..sales },
        ];
        let planned = plan(&postings, &OpenStates::default(), &before);
        assert_eq!(
            actions(&planned),
            [
                // The title The Org shows, not Lever's new one.
                (DESIGN, &remove("job-2", "Product Designer", "draft in Lever")),
                (SALES, &remove("job-3", "Account Executive", "rejected in Lever")),
                (INFRA, &remove("job-1", "Infrastructure Engineer", "closed in Lever")),
            ]
        );
        assert_eq!(planned[0].label, "Product Designer");
        let stateless = PostingInput { state: None, ..infra() };
        let planned = plan(&[stateless], &OpenStates::default(), &imported(&[(INFRA, "job-1", &infra())]));
        assert_eq!(planned[0].action, remove("job-1", "Infrastructure Engineer", "has no state in Lever"));
    }

    #[test]
    fn postings_missing_from_lever_are_removed_as_deleted_not_closed() {
        let design = posting(DESIGN, "Product Designer", "published");
        let before = imported(&[(INFRA, "job-1", &infra()), (DESIGN, "job-2", &design)]);
        let closed = PostingInput { state: some("closed"), ..infra() };
        let planned = plan(&[closed], &OpenStates::default(), &before);
        assert_eq!(
            actions(&planned),
            [
                (DESIGN, &remove("job-2", "Product Designer", "deleted in Lever")),
                (INFRA, &remove("job-1", "Infrastructure Engineer", "closed in Lever")),
            ]
        );
        let nameless = BTreeMap::from([(
            SALES.to_string(),
            Imported { job_id: "job-3".into(), fingerprint: "00".into(), title: " ".into() },
        )]);
        let planned = plan(&[], &OpenStates::default(), &nameless);
        assert_eq!(actions(&planned), [(SALES, &remove("job-3", SALES, "deleted in Lever"))]);
        assert_eq!(planned[0].label, SALES);
    }

    #[test]
    fn a_posting_that_loses_its_title_is_removed() {
        let before = imported(&[(INFRA, "job-1", &infra())]);
        let untitled = PostingInput { text: some(" "), ..infra() };
        let planned = plan(std::slice::from_ref(&untitled), &OpenStates::default(), &before);
        assert_eq!(actions(&planned), [(INFRA, &remove("job-1", "Infrastructure Engineer", "has no title in Lever"))]);
        // A closed state is the better reason.
        let closed = PostingInput { state: some("closed"), ..untitled.clone() };
        assert_eq!(
            plan(&[closed], &OpenStates::default(), &before)[0].action,
            remove("job-1", "Infrastructure Engineer", "closed in Lever")
        );
        assert_eq!(plan(&[untitled], &OpenStates::default(), &BTreeMap::new()), vec![]);
    }

    #[test]
    fn duplicate_posting_ids_count_once_and_the_first_read_wins() {
        let again = PostingInput { text: some("Platform Engineer"), ..infra() };
        let spaced = PostingInput { id: format!(" {INFRA}"), ..infra() };
        let planned = plan(&[infra(), again.clone(), spaced], &OpenStates::default(), &BTreeMap::new());
        assert_eq!(actions(&planned), [(INFRA, &RoleAction::Create { role: role(&infra()) })]);
        let before = imported(&[(INFRA, "job-1", &infra())]);
        let closed = PostingInput { state: some("closed"), ..infra() };
        let planned = plan(&[infra(), closed], &OpenStates::default(), &before);
        assert_eq!(actions(&planned), [(INFRA, &RoleAction::Unchanged { job_id: "job-1".into() })]);
        // Blank ids cannot be tracked.
        assert_eq!(plan(&[posting(" ", "Ghost", "published")], &OpenStates::default(), &BTreeMap::new()), vec![]);
    }

    #[test]
    fn open_states_decide_what_is_open() {
        let unlisted = posting(DESIGN, "Product Designer", "internal");
        let pending = posting(SALES, "Account Executive", "pending");
        let before = imported(&[(DESIGN, "job-2", &unlisted)]);
        let public_only = OpenStates::parse("published").unwrap();
        let planned = plan(&[infra(), unlisted.clone(), pending.clone()], &public_only, &before);
        assert_eq!(
            actions(&planned),
            [
                (DESIGN, &remove("job-2", "Product Designer", "internal in Lever")),
                (INFRA, &RoleAction::Create { role: role(&infra()) }),
            ]
        );
        let with_pending = OpenStates::parse("published,internal,pending").unwrap();
        let planned = plan(&[infra(), unlisted, pending.clone()], &with_pending, &before);
        let ids: Vec<&str> = planned.iter().map(|p| p.external_id.as_str()).collect();
        assert_eq!(ids, [DESIGN, SALES, INFRA]);
        assert_eq!(planned[1].action, RoleAction::Create { role: role(&pending) });
    }

    #[test]
    fn roles_and_actions_serialize_for_the_store_and_the_run_log() {
        let r = role(&infra());
        let value = serde_json::to_value(&r).unwrap();
        assert_eq!(value["externalId"], json!(INFRA));
        assert_eq!(value["descriptionHtml"].as_str().map(|h| h.starts_with("<div>")), Some(true));
        assert_eq!(value["allLocations"], json!(["San Francisco", "New York City"]));
        assert_eq!((value["createdAt"].as_i64(), value["applyUrl"].is_string()), (Some(1_407_779_365_624), true));
        let back: OpenRole = serde_json::from_value(value).unwrap();
        assert_eq!(back, r);
        // A stored copy missing fields still reads.
        let sparse: OpenRole = serde_json::from_value(json!({"externalId": INFRA, "title": "SRE"})).unwrap();
        assert_eq!(sparse, OpenRole { external_id: INFRA.into(), title: "SRE".into(), ..OpenRole::default() });
        let planned = plan(&[], &OpenStates::default(), &imported(&[(INFRA, "job-1", &infra())]));
        assert_eq!(
            serde_json::to_value(&planned[0]).unwrap(),
            json!({"external_id": INFRA, "label": "Infrastructure Engineer",
                   "action": {"kind": "remove", "job_id": "job-1", "title": "Infrastructure Engineer",
                              "reason": "deleted in Lever"}})
        );
        let create = serde_json::to_value(RoleAction::Create { role: r }).unwrap();
        assert_eq!(
            (create["kind"].as_str(), create["role"]["title"].as_str()),
            (Some("create"), Some("Infrastructure Engineer"))
        );
        let stored = Imported { job_id: "job-1".into(), fingerprint: "00ff".into(), title: "SRE".into() };
        let back: Imported = serde_json::from_value(serde_json::to_value(&stored).unwrap()).unwrap();
        assert_eq!(back, stored);
    }
}
