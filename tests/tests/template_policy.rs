//! Least privilege, read from `template.yaml`. Each function runs as a role of its own that may read
//! only its own vendors' secrets (derived from the function's `CONNECTIONS`) and call only the AWS
//! actions its code calls — recorded by running every function's flows against moto through a
//! recording proxy — plus what the Lambda service does as that role (write the function's logs, poll
//! its queue). No wildcard action, resource or principal, before or after the SAM transform, and no
//! secret value anywhere in the template.

use app::Connection;
use connectors::Vendor;
use platform::secrets::SecretName;
use sandbox::{Sandbox, Tenant};
use serde_json::json;
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

const TEMPLATE: &str = include_str!("../../template.yaml");

/// Every function of the workspace: its name (the template's `Binary`) and the vendor connections
/// its code uses.
const FUNCTIONS: [(&str, &[Connection]); 5] = [
    (lever_hire_webhook::RECEIVER, lever_hire_webhook::RECEIVER_CONNECTIONS),
    (lever_hire_webhook::FUNCTION, lever_hire_webhook::CONNECTIONS),
    (lessonly_sync::FUNCTION, lessonly_sync::CONNECTIONS),
    (litmos_sync::FUNCTION, litmos_sync::CONNECTIONS),
    (theorg_import::FUNCTION, theorg_import::CONNECTIONS),
];

/// What Lambda's SQS event source mapping does as the function's role (AWS Lambda documentation,
/// "Execution role permissions" for Amazon SQS): no local run can observe it.
const QUEUE_POLLING: [&str; 3] = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"];
/// What the Lambda service does as the role to deliver the function's logs to its log group.
const LOG_DELIVERY: [&str; 2] = ["logs:CreateLogStream", "logs:PutLogEvents"];
/// What the Lambda service does as the role to send an actively traced function's X-Ray traces. X-Ray
/// has no resource-level permissions: these actions take only `"*"`, the template's one wildcard.
const TRACE_DELIVERY: [&str; 2] = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"];

/// True for the X-Ray statement: only [`TRACE_DELIVERY`] actions, on `"*"`.
fn is_tracing_statement(statement: &Value) -> bool {
    let actions: Vec<String> = items(&statement["Action"]).into_iter().map(text).collect();
    !actions.is_empty()
        && actions.iter().all(|a| TRACE_DELIVERY.contains(&a.as_str()))
        && items(&statement["Resource"]).into_iter().map(text).eq(["*".to_string()])
}

/// (IAM action, logical id of the stack resource it applies to).
type Grants = BTreeSet<(String, String)>;

// ---------------------------------------------------------------------------------------------
// Reading the template
// ---------------------------------------------------------------------------------------------

fn template() -> Value {
    serde_yaml::from_str(TEMPLATE).expect("template.yaml parses as YAML")
}

/// The logical id that `!Ref X`, `!GetAtt X.Arn` or their long forms point at.
fn target(v: &Value) -> Option<String> {
    let first = |v: &Value| match v {
        Value::String(path) => path.split('.').next().map(str::to_string),
        Value::Sequence(parts) => parts.first().and_then(Value::as_str).map(str::to_string),
        _ => None,
    };
    match v {
        Value::Tagged(tagged) => match tagged.tag.to_string().trim_start_matches('!') {
            "Ref" => tagged.value.as_str().map(str::to_string),
            "GetAtt" => first(&tagged.value),
            _ => None,
        },
        Value::Mapping(m) if m.len() == 1 => match (m.get("Ref"), m.get("Fn::GetAtt")) {
            (Some(id), _) => id.as_str().map(str::to_string),
            (_, Some(path)) => first(path),
            _ => None,
        },
        _ => None,
    }
}

/// A value that may be one item or a list of them, as a list.
fn items(v: &Value) -> Vec<&Value> {
    match v {
        Value::Null => Vec::new(),
        Value::Sequence(list) => list.iter().collect(),
        one => vec![one],
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => serde_yaml::to_string(other).unwrap_or_default().trim().to_string(),
    }
}

fn resource_type<'a>(t: &'a Value, id: &str) -> Option<&'a str> {
    t["Resources"].get(id)?.get("Type")?.as_str()
}

/// A function resource as the template declares it.
struct Function {
    name: String,
    properties: Value,
    /// Globals' variables overlaid with the function's own.
    env: BTreeMap<String, Value>,
    /// The logical id of the role it runs as.
    role: Option<String>,
}

fn functions(t: &Value) -> Vec<Function> {
    let globals = t["Globals"]["Function"]["Environment"]["Variables"].as_mapping().cloned().unwrap_or_default();
    let resources = t["Resources"].as_mapping().expect("Resources");
    resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .map(|(id, r)| {
            let name = r["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .unwrap_or_else(|| panic!("{id:?} names no Binary"))
                .to_string();
            let properties = r["Properties"].clone();
            let own = properties["Environment"]["Variables"].as_mapping().cloned().unwrap_or_default();
            let env = globals
                .iter()
                .chain(own.iter())
                .map(|(k, v)| (k.as_str().expect("variable name").to_string(), v.clone()))
                .collect();
            let role = properties.get("Role").and_then(target);
            Function { name, properties, env, role }
        })
        .collect()
}

fn function<'a>(all: &'a [Function], name: &str) -> &'a Function {
    all.iter().find(|f| f.name == name).unwrap_or_else(|| panic!("template.yaml has no function {name}"))
}

/// The statements of every inline policy of a role.
fn role_statements<'a>(t: &'a Value, role: &str) -> Vec<&'a Value> {
    let policies = &t["Resources"][role]["Properties"]["Policies"];
    items(policies).into_iter().flat_map(|p| items(&p["PolicyDocument"]["Statement"])).collect()
}

/// What the function's role allows, as (action, logical id) pairs. A resource that is not a
/// reference to this stack's resources shows as itself, so a comparison names it.
fn grants(t: &Value, f: &Function) -> Grants {
    let role = f.role.as_deref().unwrap_or_else(|| panic!("{} has no Role", f.name));
    let mut out = Grants::new();
    for statement in role_statements(t, role) {
        assert_eq!(statement["Effect"], "Allow", "{}: only Allow statements are expected", f.name);
        for action in items(&statement["Action"]) {
            for resource in items(&statement["Resource"]) {
                let resource =
                    target(resource).unwrap_or_else(|| format!("(not a stack resource: {})", text(resource)));
                out.insert((text(action), resource));
            }
        }
    }
    out
}

/// What the Lambda service itself does as the function's role: deliver its logs to its log group and
/// poll each queue that triggers it.
fn service_grants(t: &Value, f: &Function) -> Grants {
    let mut out = Grants::new();
    let log_group = target(&f.properties["LoggingConfig"]["LogGroup"])
        .unwrap_or_else(|| panic!("{}: LoggingConfig.LogGroup must name the function's own log group", f.name));
    assert_eq!(resource_type(t, &log_group), Some("AWS::Logs::LogGroup"), "{}", f.name);
    out.extend(LOG_DELIVERY.iter().map(|a| (a.to_string(), log_group.clone())));
    if t["Globals"]["Function"]["Tracing"] == "Active" || f.properties["Tracing"] == "Active" {
        out.extend(TRACE_DELIVERY.iter().map(|a| (a.to_string(), "(not a stack resource: *)".to_string())));
    }
    for (_, event) in f.properties["Events"].as_mapping().into_iter().flatten() {
        if event["Type"] == "SQS" {
            let queue = target(&event["Properties"]["Queue"]).expect("an SQS event names a queue of the stack");
            out.extend(QUEUE_POLLING.iter().map(|a| (a.to_string(), queue.clone())));
        }
    }
    out
}

/// The `<VENDOR>_SECRET_ID` variable through which a connection's secret is found.
fn secret_variable(connection: Connection) -> String {
    let secret = match app::clients::vendor_of(connection) {
        Vendor::Lever => SecretName::Lever,
        Vendor::Namely => SecretName::Namely,
        Vendor::Lessonly => SecretName::Lessonly,
        Vendor::Litmos => SecretName::Litmos,
        Vendor::TheOrg => SecretName::TheOrg,
    };
    format!("{}_SECRET_ID", secret.key().to_uppercase())
}

/// Calls `check(key, value, path)` for every mapping entry of the tree.
fn walk(v: &Value, path: &str, check: &mut dyn FnMut(&str, &Value, &str)) {
    match v {
        Value::Mapping(m) => {
            for (k, child) in m {
                let key = text(k);
                let here = format!("{path}/{key}");
                check(&key, child, &here);
                walk(child, &here, check);
            }
        }
        Value::Sequence(list) => {
            for (i, child) in list.iter().enumerate() {
                walk(child, &format!("{path}[{i}]"), check);
            }
        }
        Value::Tagged(tagged) => walk(&tagged.value, path, check),
        _ => {}
    }
}

/// Every string in the tree.
fn walk_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Sequence(list) => list.iter().for_each(|x| walk_strings(x, out)),
        Value::Mapping(m) => m.values().for_each(|x| walk_strings(x, out)),
        Value::Tagged(tagged) => walk_strings(&tagged.value, out),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// The template as written
// ---------------------------------------------------------------------------------------------

#[test]
fn each_function_runs_as_a_role_of_its_own_with_no_managed_policy_and_no_wildcard() {
    let t = template();
    let all = functions(&t);
    let deployed: BTreeSet<&str> = all.iter().map(|f| f.name.as_str()).collect();
    let code: BTreeSet<&str> = FUNCTIONS.iter().map(|(name, _)| *name).collect();
    assert_eq!(deployed, code, "the template deploys exactly the workspace's functions");
    let globals = &t["Globals"]["Function"];
    assert!(globals.get("Role").is_none() && globals.get("Policies").is_none(), "no role or policy for all functions");

    let mut roles = BTreeSet::new();
    for f in &all {
        // SAM policies (and policy templates) make SAM generate a role, with its managed policies.
        assert!(f.properties.get("Policies").is_none(), "{}: permissions belong on its own role", f.name);
        let role = f.role.clone().unwrap_or_else(|| panic!("{} has no Role: SAM would generate one", f.name));
        assert_eq!(resource_type(&t, &role), Some("AWS::IAM::Role"), "{}'s Role is not a role of the stack", f.name);
        assert!(roles.insert(role.clone()), "{role} is shared by two functions");
        let properties = &t["Resources"][role.as_str()]["Properties"];
        for key in ["ManagedPolicyArns", "PermissionsBoundary"] {
            assert!(properties.get(key).is_none(), "{role} has {key}: every permission must be visible here");
        }
        for statement in items(&properties["AssumeRolePolicyDocument"]["Statement"]) {
            assert_eq!(statement["Principal"]["Service"], "lambda.amazonaws.com", "{role} trusts only Lambda");
            assert_eq!(statement["Action"], "sts:AssumeRole", "{role}");
        }
        for statement in role_statements(&t, &role) {
            for key in ["NotAction", "NotResource", "NotPrincipal"] {
                assert!(statement.get(key).is_none(), "{role}: {key} allows everything else");
            }
            for action in items(&statement["Action"]) {
                let action = text(action);
                let (service, name) = action.split_once(':').unwrap_or_else(|| panic!("{role}: action {action}"));
                assert!(!service.is_empty() && !name.is_empty(), "{role}: action {action}");
            }
            if is_tracing_statement(statement) {
                continue;
            }
            for resource in items(&statement["Resource"]) {
                let id = target(resource)
                    .unwrap_or_else(|| panic!("{role}: resource {} is not a resource of this stack", text(resource)));
                assert!(resource_type(&t, &id).is_some(), "{role}: {id} is not a resource of this stack");
            }
        }
    }

    // Every permission of the stack is on one of those roles.
    let resources = t["Resources"].as_mapping().expect("Resources");
    for (id, r) in resources {
        let kind = r["Type"].as_str().unwrap_or("");
        let identity = ["AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::User", "AWS::IAM::Group"];
        assert!(!identity.contains(&kind), "{id:?} ({kind}) grants permissions outside the functions' roles");
        if kind == "AWS::IAM::Role" {
            assert!(roles.contains(text(id).as_str()), "{id:?} is the role of no function");
        }
    }

    // No wildcard anywhere in the template: not in an action, a resource or a principal — but the
    // resource of the X-Ray statements, which can be nothing else.
    let mut tracing_resources = BTreeSet::new();
    walk(&t, "", &mut |key, value, path| {
        if key == "Statement" {
            for (i, statement) in items(value).into_iter().enumerate() {
                if is_tracing_statement(statement) {
                    let at = if value.is_sequence() { format!("{path}[{i}]") } else { path.to_string() };
                    tracing_resources.insert(format!("{at}/Resource"));
                }
            }
        }
    });
    let mut wildcards = Vec::new();
    walk(&t, "", &mut |key, value, path| {
        if ["Action", "NotAction", "Resource", "NotResource", "Principal", "NotPrincipal"].contains(&key)
            && !tracing_resources.contains(path)
        {
            let mut strings = Vec::new();
            walk_strings(value, &mut strings);
            if strings.iter().any(|s| s.contains('*')) {
                wildcards.push(format!("{path}: {}", text(value)));
            }
        }
    });
    assert!(wildcards.is_empty(), "wildcards in template.yaml: {wildcards:#?}");
}

/// A whole number the template holds as a number or a string.
fn number(v: &Value) -> u64 {
    v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())).unwrap_or_else(|| panic!("not a number: {v:?}"))
}

/// The reserved concurrency of a function: `!If [ReservesHireConcurrency, N, !Ref AWS::NoValue]`.
fn reserved(f: &Function) -> u64 {
    let value = &f.properties["ReservedConcurrentExecutions"];
    let parts = match value {
        Value::Tagged(tagged) if tagged.tag.to_string().trim_start_matches('!') == "If" => &tagged.value,
        other => {
            panic!("{}: ReservedConcurrentExecutions should be !If [ReservesHireConcurrency, N, …]: {other:?}", f.name)
        }
    };
    assert_eq!(parts[0], "ReservesHireConcurrency", "{}", f.name);
    number(&parts[1])
}

#[test]
fn the_hire_functions_keep_timeout_under_lease_under_visibility_and_count_every_vendor_caller() {
    let t = template();
    let all = functions(&t);
    let worker = function(&all, lever_hire_webhook::FUNCTION);
    let receiver = function(&all, lever_hire_webhook::RECEIVER);
    let timeout = number(&worker.properties["Timeout"]);
    let lease = u64::try_from(lever_hire_webhook::transfer::LEASE_MINUTES * 60).unwrap();
    let visibility = number(&t["Resources"]["HireQueue"]["Properties"]["VisibilityTimeout"]);
    assert!(timeout < lease && lease < visibility, "timeout {timeout} s < lease {lease} s < visibility {visibility} s");
    // One attempt, and the margin to record it, fit in an invocation.
    let budget = number(&worker.env["HIRE_ATTEMPT_SECONDS"]);
    assert!(budget + lever_hire_webhook::FINISH_MARGIN.as_secs() < timeout, "attempt {budget} s, timeout {timeout} s");
    // Only the receiver is behind the public URL.
    assert_eq!(receiver.properties["FunctionUrlConfig"]["AuthType"], "NONE");
    assert!(worker.properties.get("FunctionUrlConfig").is_none(), "the worker must not be reachable from the internet");
    // Every container that may call the vendors at once is counted in RATE_LIMIT_SHARE: the
    // receivers, and the workers (the queue's, the sweep and one run by hand).
    let queue_workers = worker.properties["Events"]
        .as_mapping()
        .expect("events")
        .values()
        .filter(|e| e["Type"] == "SQS")
        .map(|e| number(&e["Properties"]["ScalingConfig"]["MaximumConcurrency"]))
        .sum::<u64>();
    assert!(
        reserved(worker) >= queue_workers + 2,
        "the worker's reservation leaves no room for the sweep or a run by hand"
    );
    let callers = reserved(worker) + reserved(receiver);
    for f in [worker, receiver] {
        assert_eq!(number(&f.env["RATE_LIMIT_SHARE"]), callers, "{}: RATE_LIMIT_SHARE", f.name);
    }
}

#[test]
fn every_function_is_traced_and_every_log_group_keeps_logs_for_the_retention_period() {
    let t = template();
    assert_eq!(t["Globals"]["Function"]["Tracing"], "Active", "X-Ray tracing for every function");
    for f in functions(&t) {
        assert!(f.properties.get("Tracing").is_none_or(|v| v == "Active"), "{} turns tracing off", f.name);
        let role = f.role.clone().expect("role");
        let statements = role_statements(&t, &role);
        assert_eq!(statements.iter().filter(|s| is_tracing_statement(s)).count(), 1, "{role} may send traces");
        let group = target(&f.properties["LoggingConfig"]["LogGroup"]).expect("log group");
        let retention = &t["Resources"][group.as_str()]["Properties"]["RetentionInDays"];
        assert_eq!(target(retention).as_deref(), Some("LogRetentionDays"), "{group} keeps logs for ever");
    }
    let parameter = &t["Parameters"]["LogRetentionDays"];
    assert_eq!(number(&parameter["Default"]), 90);
}

#[test]
fn each_function_may_read_only_its_own_vendors_secrets() {
    let t = template();
    let all = functions(&t);
    for (name, connections) in FUNCTIONS {
        let f = function(&all, name);
        // Where the code looks for each vendor's secret, and which secret the template puts there.
        let expected: BTreeSet<String> = connections
            .iter()
            .map(|&connection| {
                let variable = secret_variable(connection);
                let secret = f.env.get(&variable).and_then(target).unwrap_or_else(|| {
                    panic!("{name} uses {:?} but its {variable} names no resource of the stack", connection)
                });
                assert_eq!(resource_type(&t, &secret), Some("AWS::SecretsManager::Secret"), "{name}: {variable}");
                secret
            })
            .collect();
        assert!(!expected.is_empty(), "{name} uses no vendor?");
        let granted = grants(&t, f);
        let secret_actions: BTreeSet<&str> =
            granted.iter().map(|(a, _)| a.as_str()).filter(|a| a.starts_with("secretsmanager:")).collect();
        assert_eq!(secret_actions, BTreeSet::from(["secretsmanager:GetSecretValue"]), "{name}: read, nothing else");
        let readable: BTreeSet<String> =
            granted.iter().filter(|(a, _)| a.starts_with("secretsmanager:")).map(|(_, r)| r.clone()).collect();
        assert_eq!(readable, expected, "{name} may read exactly the secrets of the vendors in its CONNECTIONS");
    }
}

#[test]
fn the_template_holds_no_secret_value() {
    let t = template();
    // A dynamic reference resolves the secret into the function's plain-text configuration.
    assert!(!TEMPLATE.contains("{{resolve:"), "template.yaml resolves a secret into plain text");

    let credential_words = ["SECRET", "TOKEN", "KEY", "PASSWORD", "CREDENTIAL"];
    let mut environments = vec![("Globals".to_string(), t["Globals"]["Function"]["Environment"]["Variables"].clone())];
    for f in functions(&t) {
        environments.push((f.name.clone(), f.properties["Environment"]["Variables"].clone()));
    }
    let mut secret_ids = 0;
    for (owner, variables) in &environments {
        for (name, value) in variables.as_mapping().into_iter().flatten() {
            let name = text(name);
            assert!(
                !name.ends_with("_SECRET_JSON") && name != "SECRETS_FILE",
                "{owner}: {name} would put a secret's value in the function's plain-text environment"
            );
            if credential_words.iter().any(|w| name.contains(w)) {
                assert!(name.ends_with("_SECRET_ID"), "{owner}: {name} looks like a credential in plain text");
                let secret = target(value).unwrap_or_else(|| panic!("{owner}: {name} must be !Ref of a secret"));
                assert_eq!(resource_type(&t, &secret), Some("AWS::SecretsManager::Secret"), "{owner}: {name}");
                secret_ids += 1;
            }
        }
    }
    assert_eq!(secret_ids, 5, "the five vendors' secret ids are the only credential-like variables");

    // The stack creates each secret with a generated placeholder: no value is written in the template.
    let credential_keys = ["api_key", "token", "webhook_signature_tokens"];
    let resources = t["Resources"].as_mapping().expect("Resources");
    let secrets: Vec<_> = resources.iter().filter(|(_, r)| r["Type"] == "AWS::SecretsManager::Secret").collect();
    assert_eq!(secrets.len(), 5, "one secret per vendor");
    for (id, secret) in secrets {
        let properties = &secret["Properties"];
        assert!(properties.get("SecretString").is_none(), "{id:?} writes its value into the template");
        let generate = &properties["GenerateSecretString"];
        let generated = generate["GenerateStringKey"].as_str().unwrap_or("");
        assert!(credential_keys.contains(&generated), "{id:?} generates '{generated}', not its credential");
        let shape: serde_json::Value =
            serde_json::from_str(generate["SecretStringTemplate"].as_str().unwrap_or("{}")).expect("JSON template");
        for key in credential_keys {
            let empty = match &shape[key] {
                serde_json::Value::Null => true,
                serde_json::Value::String(s) => s.is_empty(),
                serde_json::Value::Array(a) => a.is_empty(),
                _ => false,
            };
            assert!(empty, "{id:?}'s SecretStringTemplate sets {key}");
        }
    }
    for (name, parameter) in t["Parameters"].as_mapping().into_iter().flatten() {
        let name = text(name).to_uppercase();
        if credential_words.iter().any(|w| name.contains(w)) {
            assert_eq!(parameter["NoEcho"], true, "parameter {name} looks like a credential: NoEcho");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The template as SAM deploys it
// ---------------------------------------------------------------------------------------------

/// SAM's own translator (aws-sam-translator, which cfn-lint brings), as `sam deploy` runs it.
const SAM_TRANSFORM: &str = r#"
import json, sys
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse
template = yaml_parse(open(sys.argv[1]).read())
for resource in template["Resources"].values():
    if resource["Type"] == "AWS::Serverless::Function":
        resource["Properties"]["CodeUri"] = "s3://bucket/key"  # where `sam deploy` uploads the build
print(json.dumps(transform(template, {}, None)))
"#;

fn json_items(v: &serde_json::Value) -> Vec<&serde_json::Value> {
    match v {
        serde_json::Value::Null => Vec::new(),
        serde_json::Value::Array(list) => list.iter().collect(),
        one => vec![one],
    }
}

#[test]
fn after_the_sam_transform_no_role_has_a_managed_policy_and_only_the_webhook_url_is_public() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
    // The test tools' own Python (scripts/tools.sh), which has aws-sam-translator; never the machine's.
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/../.venv-tools/bin/python3");
    let output = std::process::Command::new(python)
        .args(["-c", SAM_TRANSFORM, path])
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .output()
        .unwrap_or_else(|e| panic!("{python} did not run ({e}): run ./scripts/tools.sh (scripts/test.sh does)"));
    assert!(
        output.status.success(),
        "the SAM transform failed (./scripts/tools.sh installs aws-sam-translator into .venv-tools): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let deployed: serde_json::Value = serde_json::from_slice(&output.stdout).expect("transformed template as JSON");
    let resources = deployed["Resources"].as_object().expect("Resources");
    let t = template();
    let all = functions(&t);
    let own_roles: BTreeSet<String> = all.iter().filter_map(|f| f.role.clone()).collect();
    let function_ids: BTreeSet<&str> =
        resources.iter().filter(|(_, r)| r["Type"] == "AWS::Lambda::Function").map(|(id, _)| id.as_str()).collect();
    assert_eq!(function_ids.len(), FUNCTIONS.len());

    for (id, r) in resources {
        let properties = &r["Properties"];
        match r["Type"].as_str().unwrap_or("") {
            "AWS::Lambda::Function" => {
                let role = properties["Role"]["Fn::GetAtt"][0].as_str().unwrap_or("");
                assert!(own_roles.contains(role), "{id} runs as {}, not its own role", properties["Role"]);
            }
            "AWS::IAM::Role" => {
                assert!(properties.get("ManagedPolicyArns").is_none(), "{id} has managed policies: {properties}");
                let statements: Vec<&serde_json::Value> = json_items(&properties["Policies"])
                    .into_iter()
                    .flat_map(|p| json_items(&p["PolicyDocument"]["Statement"]))
                    .collect();
                for statement in &statements {
                    let text = statement.to_string();
                    // X-Ray's two actions take only "*" (no resource-level permissions).
                    let tracing = statement["Resource"] == "*"
                        && json_items(&statement["Action"])
                            .iter()
                            .all(|a| a.as_str().is_some_and(|a| TRACE_DELIVERY.contains(&a)));
                    assert!(!text.contains('*') || tracing, "{id}: wildcard in {text}");
                }
                if !own_roles.contains(id) {
                    // A role SAM made: only a schedule's, allowed to invoke its own function.
                    let trust = properties["AssumeRolePolicyDocument"]["Statement"].to_string();
                    assert!(trust.contains("scheduler.amazonaws.com"), "{id} is a role SAM added: {trust}");
                    for statement in &statements {
                        assert_eq!(statement["Action"], "lambda:InvokeFunction", "{id}: {statement}");
                        let invoked = statement["Resource"]["Fn::GetAtt"][0].as_str().unwrap_or("");
                        assert!(function_ids.contains(invoked), "{id} invokes {}", statement["Resource"]);
                    }
                }
            }
            "AWS::Lambda::Permission" if properties["Principal"] == "*" => {
                // Lever cannot sign AWS requests, so its webhook URL is public; the function checks each
                // delivery's HMAC signature. Invoking the function otherwise stays private.
                let webhook = all
                    .iter()
                    .find(|f| f.properties["FunctionUrlConfig"]["AuthType"] == "NONE")
                    .expect("the public webhook");
                assert_eq!(webhook.name, lever_hire_webhook::RECEIVER);
                assert_eq!(properties["FunctionName"]["Ref"], "LeverHireReceiverFunction", "{id}");
                let through_url = match properties["Action"].as_str() {
                    Some("lambda:InvokeFunctionUrl") => properties["FunctionUrlAuthType"] == "NONE",
                    Some("lambda:InvokeFunction") => properties["InvokedViaFunctionUrl"] == true,
                    _ => false,
                };
                assert!(through_url, "{id} lets anyone invoke the function other than through its URL: {properties}");
            }
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------------------------
// What the code calls: every function's flows against moto, through a recording proxy
// ---------------------------------------------------------------------------------------------

/// One AWS API call as the SDK sent it: the IAM action and the resource it named (table name,
/// queue URL, topic ARN or secret id).
#[derive(Debug, Clone)]
struct AwsCall {
    action: String,
    resource: String,
}

/// Reads the action and the resource of an SDK request: the service from the SigV4 credential
/// scope, the operation from `X-Amz-Target` (JSON protocols) or `Action=` (query protocol).
fn aws_call(headers: &axum::http::HeaderMap, body: &[u8]) -> AwsCall {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    let service = header("authorization")
        .split("Credential=")
        .nth(1)
        .and_then(|scope| scope.split('/').nth(3))
        .unwrap_or("unknown")
        .to_string();
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let form: HashMap<String, String> = reqwest::Url::parse(&format!("http://form/?{}", String::from_utf8_lossy(body)))
        .map(|url| url.query_pairs().into_owned().collect())
        .unwrap_or_default();
    let operation = match header("x-amz-target").rsplit_once('.') {
        Some((_, operation)) => operation.to_string(),
        None => form.get("Action").cloned().unwrap_or_default(),
    };
    let resource = ["TableName", "QueueUrl", "TopicArn", "SecretId"]
        .iter()
        .find_map(|key| json[key].as_str().map(str::to_string).or_else(|| form.get(*key).cloned()))
        .or_else(|| json["RequestItems"].as_object().and_then(|tables| tables.keys().next().cloned()))
        .unwrap_or_default();
    AwsCall { action: format!("{service}:{operation}"), resource }
}

/// A local HTTP proxy in front of moto that records every call.
struct RecordingProxy {
    url: String,
    calls: Arc<Mutex<Vec<AwsCall>>>,
}

#[derive(Clone)]
struct ProxyState {
    upstream: String,
    client: reqwest::Client,
    calls: Arc<Mutex<Vec<AwsCall>>>,
}

async fn forward(
    axum::extract::State(state): axum::extract::State<ProxyState>,
    request: axum::extract::Request,
) -> axum::response::Response {
    use axum::http::header;
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    state.calls.lock().unwrap_or_else(|e| e.into_inner()).push(aws_call(&parts.headers, &body));
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut headers = parts.headers.clone();
    headers.remove(header::HOST);
    headers.remove(header::CONTENT_LENGTH);
    let answer = state
        .client
        .request(parts.method, format!("{}{path}", state.upstream))
        .headers(headers)
        .body(body)
        .send()
        .await
        .expect("moto answers the proxy");
    let mut response = axum::response::Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if ![header::CONTENT_LENGTH, header::TRANSFER_ENCODING, header::CONNECTION].contains(name) {
            response = response.header(name, value);
        }
    }
    let bytes = answer.bytes().await.expect("moto's answer body");
    response.body(axum::body::Body::from(bytes)).expect("response")
}

impl RecordingProxy {
    async fn start(upstream: &str) -> RecordingProxy {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let state =
            ProxyState { upstream: upstream.trim_end_matches('/').to_string(), client: reqwest::Client::new(), calls };
        let calls = state.calls.clone();
        let app = axum::Router::new().fallback(forward).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let url = format!("http://{}", listener.local_addr().expect("proxy address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        RecordingProxy { url, calls }
    }

    /// The calls recorded since the last take.
    fn take(&self) -> Vec<AwsCall> {
        std::mem::take(&mut *self.calls.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The stack's AWS resources that the functions' environments name, created in moto: logical id →
/// what the environment variable holds (table name, queue URL, topic ARN, secret name).
struct Stack {
    physical: BTreeMap<String, String>,
}

impl Stack {
    async fn create(aws: &aws_config::SdkConfig, t: &Value, sb: &Sandbox) -> Stack {
        let inline: HashMap<String, String> = sb.env_vars().into_iter().collect();
        let unique = uuid::Uuid::new_v4().simple().to_string();
        let mut physical = BTreeMap::new();
        for f in functions(t) {
            for (variable, value) in &f.env {
                let Some(id) = target(value) else { continue };
                if physical.contains_key(&id) {
                    continue;
                }
                let name = format!("{id}-{unique}");
                let created = match resource_type(t, &id) {
                    Some("AWS::DynamoDB::Table") => e2e::create_runs_table(aws).await,
                    Some("AWS::SQS::Queue") => aws_sdk_sqs::Client::new(aws)
                        .create_queue()
                        .queue_name(&name)
                        .send()
                        .await
                        .expect("create a queue in moto")
                        .queue_url
                        .expect("queue url"),
                    Some("AWS::SNS::Topic") => aws_sdk_sns::Client::new(aws)
                        .create_topic()
                        .name(&name)
                        .send()
                        .await
                        .expect("create a topic in moto")
                        .topic_arn
                        .expect("topic arn"),
                    Some("AWS::SecretsManager::Secret") => {
                        // The vendor's credentials, as the sandbox accepts them.
                        let inline_variable = variable.replace("_SECRET_ID", "_SECRET_JSON");
                        let value = inline.get(&inline_variable).unwrap_or_else(|| panic!("no {inline_variable}"));
                        aws_sdk_secretsmanager::Client::new(aws)
                            .create_secret()
                            .name(&name)
                            .secret_string(value)
                            .send()
                            .await
                            .expect("create a secret in moto");
                        name
                    }
                    _ => continue,
                };
                physical.insert(id, created);
            }
        }
        Stack { physical }
    }

    fn logical_id(&self, resource: &str) -> String {
        self.physical
            .iter()
            .find(|(_, p)| p.as_str() == resource)
            .map(|(id, _)| id.clone())
            .unwrap_or_else(|| format!("(not a stack resource: {resource})"))
    }

    /// The function's environment as the template sets it (parameters at their defaults, resources
    /// as created here), pointed at the sandbox and with secrets only in Secrets Manager.
    fn environment(&self, t: &Value, f: &Function, sb: &Sandbox) -> HashMap<String, String> {
        let mut env = HashMap::new();
        for (variable, value) in &f.env {
            let resolved = match target(value) {
                Some(id) => match t["Parameters"].get(id.as_str()) {
                    Some(parameter) => text(&parameter["Default"]),
                    None => self.physical.get(&id).cloned().unwrap_or_else(|| panic!("{variable}: {id} not created")),
                },
                None => text(value),
            };
            env.insert(variable.clone(), resolved);
        }
        for (variable, value) in sb.env_vars() {
            if variable.ends_with("_API_URL") {
                env.insert(variable, value);
            }
        }
        // The published rates would only make this test slow.
        for vendor in ["LEVER", "NAMELY", "LESSONLY", "LITMOS", "THEORG"] {
            env.insert(format!("{vendor}_RATE_LIMIT"), "100/s".into());
        }
        env
    }
}

/// The function's dependencies built as `Deps::from_env` builds them, from `env` and `aws`.
fn deps(env: &HashMap<String, String>, aws: &aws_config::SdkConfig) -> app::Deps {
    let config = platform::Config::from_lookup(|k| env.get(k).cloned()).expect("config");
    let secrets = platform::SecretStore::with_lookup(&config, Some(aws), |k| env.get(k).cloned());
    let runlog = platform::runlog::from_config(&config, Some(aws)).expect("run log");
    app::Deps::new(config, secrets, runlog).with_aws(Some(aws.clone()))
}

fn function_url_request(delivery: &serde_json::Value) -> serde_json::Value {
    json!({"version": "2.0", "rawPath": "/", "requestContext": {"http": {"method": "POST", "path": "/"}},
           "headers": {"content-type": "application/json"}, "isBase64Encoded": false, "body": delivery.to_string()})
}

/// Runs every flow of the function that touches AWS differently: verify, the job, its re-runs, and
/// for the hire function the webhook, the queue worker and the retry sweep.
async fn exercise(
    name: &str,
    deps: &app::Deps,
    env: &HashMap<String, String>,
    sb: &Sandbox,
    aws: &aws_config::SdkConfig,
    stack: &Stack,
) {
    let lookup = |k: &str| env.get(k).cloned();
    let verify = json!({"action": "verify"});
    match name {
        lever_hire_webhook::RECEIVER => {
            let settings = lever_hire_webhook::settings::HireSettings::from_lookup(lookup).expect("settings");
            let call = |payload| lever_hire_webhook::handle_receiver_with(deps, &settings, payload);
            assert_eq!(call(verify).await.expect("verify")["ok"], true);
            let opportunity = sb.lever_data().opportunities[0].clone();
            let delivery = sandbox::lever_signed_delivery(
                "candidateHired",
                json!({"opportunityId": opportunity["id"], "contactId": opportunity["contact"]}),
                &sb.credentials.lever_signature_tokens[0],
                sandbox::now_ms(),
            );
            let answer = call(function_url_request(&delivery)).await.expect("webhook");
            assert_eq!(answer["statusCode"], 202, "{answer}");
            // Lever's retry of the same delivery: the hire is queued again, not recorded twice.
            let again = call(function_url_request(&delivery)).await.expect("webhook");
            assert_eq!(again["statusCode"], 202, "{again}");
            // Emptied with a client that is not recorded, for the worker's exercise.
            let sqs = aws_sdk_sqs::Client::new(aws);
            let queue = &env["HIRE_QUEUE_URL"];
            sqs.purge_queue().queue_url(queue).send().await.expect("empty the hire queue");
        }
        lever_hire_webhook::FUNCTION => {
            let settings = lever_hire_webhook::settings::HireSettings::from_lookup(lookup).expect("settings");
            let call = |payload| lever_hire_webhook::handle_with(deps, &settings, payload);
            assert_eq!(call(verify).await.expect("verify")["ok"], true);
            // The receiver's part (record the hire, queue it) and the event source mapping's, played
            // with clients that are not recorded.
            let opportunity = sb.lever_data().opportunities[0].clone();
            let id = opportunity["id"].as_str().expect("id").to_string();
            let sqs = aws_sdk_sqs::Client::new(aws);
            let queue = &stack.physical["HireQueue"];
            let message = json!({"opportunity_id": id, "event": "candidateHired", "triggered_at": sandbox::now_ms()});
            sqs.send_message().queue_url(queue).message_body(message.to_string()).send().await.expect("queue");
            let received = sqs.receive_message().queue_url(queue).wait_time_seconds(2).send().await.expect("receive");
            let message = received.messages.unwrap_or_default().pop().expect("the queued hire");
            let batch = json!({"Records": [{"messageId": message.message_id, "body": message.body,
                "attributes": {"ApproximateReceiveCount": "1"}, "eventSource": "aws:sqs"}]});
            assert_eq!(call(batch).await.expect("worker"), json!({"batchItemFailures": []}));
            let handle = message.receipt_handle.unwrap_or_default();
            sqs.delete_message().queue_url(queue).receipt_handle(handle).send().await.expect("delete");
            let sweep = call(json!({"action": "retry-sweep"})).await.expect("sweep");
            assert_eq!(sweep["status"], "succeeded", "{sweep}");
            let id = sb.lever_data().opportunities[1]["id"].clone();
            let transfer = call(json!({"action": "transfer", "opportunity_id": id})).await.expect("transfer");
            assert_eq!(transfer["counts"]["created"], 1, "{transfer}");
        }
        lessonly_sync::FUNCTION => {
            let settings = lessonly_sync::settings::LessonlySettings::from_lookup(lookup).expect("settings");
            let call = |payload| lessonly_sync::handle_with(deps, &settings, payload);
            assert_eq!(call(verify).await.expect("verify")["ok"], true);
            // The first-set-up run, out of time at once, then continued by the continuation schedule.
            let out_of_time = lessonly_sync::settings::LessonlySettings {
                time_budget: std::time::Duration::ZERO,
                ..settings.clone()
            };
            let initial = json!({"action": "sync", "trigger": "schedule", "initial": true});
            let paused = lessonly_sync::handle_with(deps, &out_of_time, initial).await.expect("sync");
            assert_eq!(paused["status"], "continuing", "{paused}");
            let first = call(json!({"action": "sync", "continue_only": true})).await.expect("continue");
            assert_eq!(first["status"], "succeeded", "{first}");
            // A run while another holds the lease (taken here with a client that is not recorded).
            let other = platform::runlog::DynamoRunLog::new(aws, &env["RUNS_TABLE"], 90);
            let key = format!("{}:run", lessonly_sync::FUNCTION);
            platform::RunLog::claim(&other, &key, "another-run", chrono::Duration::minutes(30)).await.expect("claim");
            let busy = call(json!({"action": "sync"})).await.expect("sync");
            assert_eq!(busy["status"], "already running", "{busy}");
            platform::RunLog::release(&other, &key).await.expect("release");
        }
        litmos_sync::FUNCTION => {
            let settings = litmos_sync::settings::LitmosSettings::from_lookup(lookup).expect("settings");
            let call = |payload| litmos_sync::handle_with(deps, &settings, payload);
            assert_eq!(call(verify).await.expect("verify")["ok"], true);
            // A run out of time at once, then continued by the continuation schedule.
            let out_of_time =
                litmos_sync::settings::LitmosSettings { time_budget: std::time::Duration::ZERO, ..settings.clone() };
            let paused = litmos_sync::handle_with(deps, &out_of_time, json!({"action": "sync", "trigger": "schedule"}));
            let paused = paused.await.expect("sync");
            assert_eq!(paused["status"], "continuing", "{paused}");
            let sync = call(json!({"action": "sync", "continue_only": true})).await.expect("continue");
            assert_eq!(sync["status"], "succeeded", "{sync}");
            let idle = call(json!({"action": "sync", "continue_only": true})).await.expect("continue");
            assert_eq!(idle["status"], "idle", "{idle}");
        }
        theorg_import::FUNCTION => {
            let settings = theorg_import::settings::TheOrgSettings::from_lookup(lookup).expect("settings");
            let call = |payload| theorg_import::handle_with(deps, &settings, payload);
            assert_eq!(call(verify).await.expect("verify")["ok"], true);
            // By hand, so the notification is published.
            let import = call(json!({"action": "sync", "trigger": "manual"})).await.expect("import");
            assert_eq!(import["status"], "succeeded", "{import}");
        }
        other => panic!("no flows for {other}: add them here"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_function_is_granted_exactly_the_aws_calls_its_code_makes() {
    let Some(aws) = e2e::moto().await else { return };
    let t = template();
    let sb = Sandbox::start(Tenant::small()).await.expect("sandbox");
    let stack = Stack::create(&aws, &t, &sb).await;
    let moto_url = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL");
    let proxy = RecordingProxy::start(&moto_url).await;
    // Set in code, the proxy's URL wins over AWS_ENDPOINT_URL for every client built from it.
    let recorded = aws_config::defaults(aws_config::BehaviorVersion::latest()).endpoint_url(&proxy.url).load().await;

    let mut report = Vec::new();
    for f in functions(&t) {
        let env = stack.environment(&t, &f, &sb);
        let deps = deps(&env, &recorded);
        proxy.take();
        exercise(&f.name, &deps, &env, &sb, &aws, &stack).await;
        let calls = proxy.take();
        assert!(!calls.is_empty(), "{}: no AWS call was recorded", f.name);
        let mut needed: Grants = calls.iter().map(|c| (c.action.clone(), stack.logical_id(&c.resource))).collect();
        needed.extend(service_grants(&t, &f));
        let granted = grants(&t, &f);
        let missing: Vec<_> = needed.difference(&granted).collect();
        let unused: Vec<_> = granted.difference(&needed).collect();
        if !missing.is_empty() || !unused.is_empty() {
            report
                .push(format!("{}: calls it is not granted {missing:?}; granted but never called {unused:?}", f.name));
        }
    }
    assert!(report.is_empty(), "template.yaml and the code disagree:\n{}", report.join("\n"));
}
