//! Which keys name a credential: `password`, `clientSecret`, `AZURE_CLIENT_SECRET`,
//! `x-api-key`, `AccountKey`, `_authToken`, `client-key-data`, in any casing and separator
//! style. A key is split into words (`clientSecretName` → client, secret, name); a key whose
//! last word says it holds a reference or a setting (`secretName`, `tokenPath`, `passwordFile`,
//! `token_type`, `secretKeyRef`) names no credential.
//!
//! Knows nothing of where the key was found (JSON member, YAML line, query string, header).

/// Words that end a key naming something about a credential rather than the credential itself.
const NOT_A_VALUE: &[&str] = &[
    "name",
    "names",
    "ref",
    "refs",
    "reference",
    "path",
    "paths",
    "file",
    "files",
    "dir",
    "namespace",
    "type",
    "types",
    "kind",
    "id",
    "ids",
    "url",
    "uri",
    "endpoint",
    "endpoints",
    "mount",
    "version",
    "ttl",
    "expiry",
    "expiration",
    "expires",
    "length",
    "policy",
    "provider",
    "source",
    "selector",
    "mode",
    "format",
    "method",
    "enabled",
    "required",
    "count",
    "size",
    "label",
    "field",
    "issuer",
    "audience",
    "scope",
    "scopes",
    "location",
    "store",
    "hash",
    "algorithm",
    "alg",
    "header",
    "prefix",
    "suffix",
    "seconds",
    "duration",
    "rotation",
    "template",
    "secretname",
    "keyname",
    "mountpath",
    "created",
    "updated",
    "generation",
    "status",
    "phase",
    "reason",
    "message",
    "exists",
    "present",
    "missing",
    "hint",
    "strength",
    "min",
    "max",
    "regex",
    "pattern",
    "description",
    "help",
    "usage",
    "title",
    "text",
    "note",
    "stdin",
    "env",
    "var",
    "kubeconfig",
    "config",
    "conf",
    "configmap",
    "ca",
    "cafile",
    "crt",
    "cert",
    "certificate",
    "class",
    "classname",
    "vault",
    "vaultname",
    "manager",
    "operator",
    "controller",
    "group",
];

/// The words of a key: split at every byte that is not a letter or digit and at camelCase
/// boundaries (`SASToken` → sas, token), lowercased.
pub fn words(key: &str) -> Vec<String> {
    let b = key.as_bytes();
    let mut out = Vec::new();
    let mut cur = String::new();
    for (i, &c) in b.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        let prev = i.checked_sub(1).map(|j| b[j]);
        let next = b.get(i + 1).copied();
        let boundary = c.is_ascii_uppercase()
            && !cur.is_empty()
            && (prev.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit())
                || (prev.is_some_and(|p| p.is_ascii_uppercase()) && next.is_some_and(|n| n.is_ascii_lowercase())));
        if boundary {
            out.push(std::mem::take(&mut cur));
        }
        cur.push(c.to_ascii_lowercase() as char);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Stems one of which every credential key holds (lowercase): a key without any is answered
/// without splitting it.
pub const STEMS: &[&str] = &[
    "pass",
    "pwd",
    "secret",
    "token",
    "key",
    "auth",
    "cookie",
    "cred",
    "sig",
    "dsn",
    "sas",
    "connection",
    "bearer",
    "pw",
];

/// The kind of credential a key names, or `None`.
pub fn credential_kind(key: &str) -> Option<&'static str> {
    let lower = key.to_ascii_lowercase();
    if !STEMS.iter().any(|s| lower.contains(s)) {
        return None;
    }
    let w = words(key);
    let last = w.last()?;
    // A checksum or digest of a secret (`checksum/secret`, Helm's convention) is not the secret.
    if w.iter().any(|x| {
        matches!(
            x.as_str(),
            "checksum" | "hash" | "digest" | "fingerprint" | "sha256" | "sha1" | "md5"
        )
    }) {
        return None;
    }
    let joined_all: String = w.concat();
    // Vault AppRole's secret ID is a credential, whatever its last word says.
    if joined_all == "secretid" || joined_all.ends_with("secretid") && !joined_all.contains("kv") {
        return Some("secret");
    }
    if NOT_A_VALUE.contains(&last.as_str()) {
        return None;
    }
    let joined: String = w.concat();
    let has = |x: &str| w.iter().any(|y| y == x);
    // Compounds first: they are more precise than a single word.
    if joined.contains("clientsecret") {
        return Some("client-secret");
    }
    if joined.contains("connectionstring") || has("dsn") || joined.contains("connstr") {
        return Some("connection-string");
    }
    if joined.contains("privatekey") || joined.contains("keydata") && has("client") {
        return Some("private-key");
    }
    if has("password")
        || has("passwd")
        || has("pwd")
        || has("passphrase")
        || has("pass")
        || has("pw")
        || joined.ends_with("pass")
        || joined.ends_with("passwd")
        || joined.contains("password")
    {
        return Some("password");
    }
    if last == "authorization" {
        return Some("authorization");
    }
    if has("cookie") || has("cookies") {
        return Some("cookie");
    }
    if has("token") || has("tokens") || joined.ends_with("token") {
        return Some("token");
    }
    if has("secret") || has("secrets") || joined.ends_with("secret") {
        return Some("secret");
    }
    if has("sig") || has("signature") || has("sas") {
        return Some("signature");
    }
    if has("credential") || has("credentials") || has("creds") || has("cred") {
        return Some("credential");
    }
    if has("bearer") {
        return Some("token");
    }
    // `auth` alone (Docker's `auths.<registry>.auth`, npm's `_auth`) or as the last word.
    if last == "auth" || (last.ends_with("auth") && last.len() > 6) {
        return Some("auth");
    }
    const KEYED: &[&str] = &[
        "api",
        "access",
        "account",
        "shared",
        "master",
        "primary",
        "secondary",
        "signing",
        "encryption",
        "subscription",
        "storage",
        "function",
        "functions",
        "host",
        "app",
        "admin",
        "private",
        "sharedaccess",
        "secret",
        "x",
        "license",
        "hmac",
        "webhook",
        "client",
        "session",
        "jwt",
        "https",
        "ssh",
        "service",
        "deploy",
        "auth",
        "bot",
        "encryption",
        "root",
        "sas",
        "git",
        "registry",
        "relay",
        "hub",
        "instance",
        "integration",
        "ingestion",
        "routing",
        "splunk",
        "hec",
        "ingest",
    ];
    let keyed = w.windows(2).any(|p| p[1] == "key" && KEYED.contains(&p[0].as_str()))
        || [
            "apikey",
            "accesskey",
            "accountkey",
            "sharedaccesskey",
            "masterkey",
            "sharedkey",
        ]
        .iter()
        .any(|k| joined.ends_with(k));
    if keyed && (last == "key" || last.ends_with("key")) {
        return Some("key");
    }
    None
}

/// Keys whose value runs to the end of the line in text (`Authorization: Basic x`).
pub fn is_header_like(kind: &str) -> bool {
    matches!(kind, "authorization" | "cookie")
}

/// Kinds a key names broadly enough that `key: value` in the middle of prose ("failed to get
/// secret: not found") is not taken as a credential; `key=value`, quoted keys and YAML keys are.
pub fn is_broad(kind: &str) -> bool {
    matches!(kind, "secret" | "token" | "key" | "auth" | "signature" | "credential")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_every_style() {
        assert_eq!(words("clientSecretName"), ["client", "secret", "name"]);
        assert_eq!(words("AZURE_CLIENT_SECRET"), ["azure", "client", "secret"]);
        assert_eq!(words("SASToken"), ["sas", "token"]);
        assert_eq!(words("x-api-key"), ["x", "api", "key"]);
        assert_eq!(words("_authToken"), ["auth", "token"]);
        assert_eq!(words("client-key-data"), ["client", "key", "data"]);
    }

    #[test]
    fn credential_keys_in_every_style() {
        for (k, kind) in [
            ("password", "password"),
            ("DB_PASSWORD", "password"),
            ("Pwd", "password"),
            ("db.pass", "password"),
            ("clientSecret", "client-secret"),
            ("AZURE_CLIENT_SECRET", "client-secret"),
            ("client_secret", "client-secret"),
            ("x-api-key", "key"),
            ("apiKey", "key"),
            ("AccountKey", "key"),
            ("SharedAccessKey", "key"),
            ("aws_secret_access_key", "secret"),
            ("_authToken", "token"),
            ("access_token", "token"),
            ("refreshToken", "token"),
            ("auth", "auth"),
            ("Authorization", "authorization"),
            ("Cookie", "cookie"),
            ("Set-Cookie", "cookie"),
            ("sig", "signature"),
            ("ConnectionString", "connection-string"),
            ("client-key-data", "private-key"),
            ("private_key", "private-key"),
            ("webhookSecret", "secret"),
            ("credentials", "credential"),
        ] {
            assert_eq!(credential_kind(k), Some(kind), "{k}");
        }
    }

    #[test]
    fn references_and_settings_are_not_credentials() {
        for k in [
            "secretName",
            "secretRef",
            "secretKeyRef",
            "tokenPath",
            "passwordFile",
            "token_type",
            "tokenUrl",
            "key",
            "keys",
            "monkey",
            "name",
            "image",
            "uid",
            "private_key_id",
            "automountServiceAccountToken_enabled",
            "signal",
            "design",
            "authority",
            "authType",
            "passwordSecretRef",
            "caBundle",
            "hostname",
            "publicKey",
        ] {
            assert_eq!(credential_kind(k), None, "{k}");
        }
    }
}
