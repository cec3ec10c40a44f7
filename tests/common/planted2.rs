//! A second planted-secret corpus, independent of the first (tests/common/planted.rs), of
//! shapes and contexts the first does not hold: Flux sources, Kustomization substitutions,
//! notification Providers, HelmReleases and `helm` output, Events whose message quotes a
//! credential, OSM's MeshConfig, configuration files of other tools (Fluent Bit, Logstash,
//! HAProxy, redis.conf, PostgreSQL conninfo, `.pgpass`, `.pypirc`, pip.conf, `.git-credentials`,
//! Terraform, Vault agent HCL, TOML, Dex), SQL statements, short flags with the value attached
//! (`-pSECRET`), `--set a=b,c=d`, Java/Lombok/Go-syntax dumps, Spring placeholders with a
//! default, authorization schemes other than Bearer/Basic (`token`, `SSWS`, `ApiKey`,
//! `Splunk`), credentials that are GUIDs (`secret_id`, Splunk HEC, Consul, Opsgenie), and token
//! formats of more vendors (Datadog, Twilio, Mailgun, Shopify, Linear, Hugging Face,
//! Databricks, PyPI, Doppler, Pulumi, Postman, Atlassian, Grafana Cloud, Terraform Cloud,
//! JFrog, Slack app-level, GitHub user/refresh, GitLab runner/deploy, ACR, Okta, ya29 ...).
//! Ordinary values beside them: GUIDs of tenants, clients and subscriptions, digests, chart
//! versions, public keys and words that only look like credentials.
//!
//! Same types and the same checks as the first corpus ([`planted::Planted`],
//! [`planted::Ordinary`], [`planted::docs_for`], [`planted::bundle_files`]); every value is
//! generated from a fixed seed of its own.

use super::planted::{compact, Items, NeedleCheck, Ordinaries, Ordinary, Place, Planted, Rng, B64URL, CA_DATA, UID};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;

const BECH32: &str = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const LETTERS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The second corpus' planted secrets (ids start `b-`).
pub fn corpus() -> Vec<Planted> {
    use Place::*;
    let mut c = Items::new("b-", NeedleCheck::InContext);
    let mut rng = Rng::new(0x2b1d_5ec2_0017);
    let g = &mut rng;

    // --- Flux objects -----------------------------------------------------------------------
    let pw = g.alnum(26);
    c.add(
        "flux-gitrepository-url-userpass",
        "url-credentials",
        Object,
        "gitrepositories.source.toolkit.fluxcd.io",
        &pw,
        compact(&json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository", "spec": {"interval": "1m", "url": format!("https://fleet-reader:{pw}@git.contoso.com/platform/fleet.git"), "ref": {"branch": "main"}}})),
    );
    // The password as it stands in the URL: percent-encoded.
    let pw = g.password(20).replace('!', "%21").replace('#', "%23");
    c.add(
        "flux-helmrepository-url-userpass",
        "url-credentials",
        Object,
        "helmrepositories.source.toolkit.fluxcd.io",
        &pw,
        compact(&json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository", "spec": {"interval": "10m", "url": format!("https://charts:{pw}@charts.contoso.com/stable")}})),
    );
    let pw = g.alnum(24);
    c.add(
        "flux-kustomization-substitute-password",
        "password",
        Object,
        "kustomizations.kustomize.toolkit.fluxcd.io",
        &pw,
        compact(&json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization", "spec": {"interval": "10m", "path": "./apps/prod", "prune": true, "sourceRef": {"kind": "GitRepository", "name": "fleet"}, "postBuild": {"substitute": {"cluster_env": "prod", "ORDERS_DB_PASSWORD": pw, "cluster_region": "westeurope"}}}})),
    );
    let t = format!(
        "glc_{}",
        STANDARD.encode(format!(
            r#"{{"o":"{}","n":"stack-{}-logs-write","k":"{}","m":{{"r":"prod-eu-west-2"}}}}"#,
            g.from("0123456789", 6),
            g.from("0123456789", 6),
            g.alnum(24)
        ))
    );
    c.add(
        "flux-kustomization-substitute-grafana-cloud",
        "grafana-cloud-token",
        Object,
        "kustomizations.kustomize.toolkit.fluxcd.io",
        &t,
        compact(&json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization", "spec": {"interval": "10m", "path": "./infra/monitoring", "postBuild": {"substitute": {"LOKI_PUSH_AUTH": t}}}})),
    );
    let tok = g.from(B64URL, 43);
    let key = format!("AIza{}", g.from(B64URL, 35));
    c.needles(
        "flux-provider-googlechat-address",
        "chat-webhook",
        Object,
        "providers.notification.toolkit.fluxcd.io",
        &tok,
        vec![tok.clone(), key.clone()],
        compact(&json!({"apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Provider", "spec": {"type": "googlechat", "channel": "fleet", "address": format!("https://chat.googleapis.com/v1/spaces/AAAA{}/messages?key={key}&token={tok}", g.alnum(7))}})),
    );
    // A Mattermost incoming webhook: the key is the last path segment (26 lower-case letters and
    // digits); whoever has the URL can post.
    let hook = g.from("abcdefghijklmnopqrstuvwxyz0123456789", 26);
    c.add(
        "flux-provider-mattermost-hook-path-key",
        "chat-webhook",
        Object,
        "providers.notification.toolkit.fluxcd.io",
        &hook,
        compact(&json!({"apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Provider", "spec": {"type": "slack", "channel": "fleet", "address": format!("https://mattermost.contoso.com/hooks/{hook}")}})),
    );
    let pw = g.alnum(22);
    c.add(
        "helmrelease-values-postgres-password",
        "password",
        Object,
        "helmreleases.helm.toolkit.fluxcd.io",
        &pw,
        compact(&json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "spec": {"interval": "5m", "chart": {"spec": {"chart": "postgresql", "version": "15.5.38"}}, "values": {"global": {"postgresql": {"auth": {"postgresPassword": pw, "database": "orders", "existingSecret": ""}}}, "primary": {"persistence": {"size": "32Gi"}}}}})),
    );
    let pw = g.alnum(18);
    c.add(
        "helmrelease-values-set-string-list",
        "password",
        Object,
        "helmreleases.helm.toolkit.fluxcd.io",
        &pw,
        compact(&json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "spec": {"chart": {"spec": {"chart": "rabbitmq"}}, "values": {"extraEnvVars": [{"name": "RABBITMQ_DEFAULT_PASS", "value": pw}], "auth": {"username": "orders"}}}})),
    );
    let pw = g.alnum(24);
    c.add(
        "kustomization-status-message-quotes-password",
        "password",
        Object,
        "kustomizations.kustomize.toolkit.fluxcd.io",
        &pw,
        compact(&json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization", "spec": {"path": "./apps"}, "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "BuildFailed", "message": format!("kustomize build failed: accumulating resources: secretGenerator orders-db: literals: [username=orders password={pw}]: behavior must be merge")}]}})),
    );
    let tok = g.hex(40);
    c.add(
        "osm-meshconfig-vault-token",
        "vault-token",
        Object,
        "meshconfigs.config.openservicemesh.io",
        &tok,
        compact(&json!({"apiVersion": "config.openservicemesh.io/v1alpha2", "kind": "MeshConfig", "spec": {"certificate": {"certKeyBitSize": 2048, "serviceCertValidityDuration": "24h", "providerSpec": {"vault": {"host": "vault.contoso.internal", "port": 8200, "protocol": "https", "role": "osm", "token": tok}}}}})),
    );

    // --- Events --------------------------------------------------------------------------
    let pw = g.alnum(24);
    c.add(
        "event-mongodb-srv-url",
        "url-credentials",
        Object,
        "events",
        &pw,
        compact(&json!({"apiVersion": "v1", "kind": "Event", "type": "Warning", "reason": "BackOff", "involvedObject": {"kind": "Pod", "name": "orders-api-7c9d8f6b5-k2k4z", "namespace": "payments"}, "message": format!("Back-off restarting failed container app: last log: MongoServerSelectionError: connect ECONNREFUSED for mongodb+srv://orders:{pw}@cluster0.ab1cd.mongodb.net/orders?retryWrites=true&w=majority"), "count": 12})),
    );
    let k = g.b64(64);
    c.add(
        "event-smb-mount-options-password",
        "azure-storage-key",
        Object,
        "events",
        &k,
        compact(&json!({"apiVersion": "v1", "kind": "Event", "type": "Warning", "reason": "FailedMount", "involvedObject": {"kind": "Pod", "name": "reports-0", "namespace": "payments"}, "message": format!("MountVolume.MountDevice failed for volume \"reports\" : rpc error: code = Internal desc = mount failed: exit status 32\nMounting command: mount\nMounting arguments: -t cifs -o mfsymlinks,file_mode=0777,vers=3.0,actimeo=30,username=contosofiles,password={k} //contosofiles.file.core.windows.net/reports /var/lib/kubelet/plugins/kubernetes.io/csi/file.csi.azure.com/mount")})),
    );
    let tok = g.alnum(32);
    c.add(
        "event-probe-url-token",
        "token",
        Object,
        "events",
        &tok,
        compact(&json!({"apiVersion": "v1", "kind": "Event", "type": "Warning", "reason": "Unhealthy", "involvedObject": {"kind": "Pod", "name": "orders-api-7c9d8f6b5-k2k4z", "namespace": "payments"}, "message": format!("Readiness probe failed: Get \"http://10.244.1.17:8080/healthz?access_token={tok}\": context deadline exceeded")})),
    );

    // --- helm output ---------------------------------------------------------------------
    let pw = g.alnum(20);
    let pw2 = g.alnum(16);
    c.add(
        "helm-get-values-root-password",
        "password",
        Member,
        "helm/get-values-orders-db.json",
        &pw,
        serde_json::to_string_pretty(&json!({"architecture": "replication", "auth": {"rootPassword": pw, "replicationUser": "replicator", "username": "orders"}, "primary": {"persistence": {"enabled": true}}})).expect("JSON"),
    );
    c.add(
        "helm-get-values-smtp-pass",
        "password",
        Member,
        "helm/get-values-grafana.json",
        &pw2,
        serde_json::to_string_pretty(&json!({"grafana.ini": {"smtp": {"enabled": true, "host": "smtp.office365.com:587", "user": "grafana@contoso.com", "pass": pw2}}})).expect("JSON"),
    );
    let pw = g.alnum(16);
    c.add(
        "helm-set-comma-list-plain-log",
        "password",
        LogPlain,
        "",
        &pw,
        format!("2026-11-25T16:58:00Z INFO running: helm upgrade --install orders-db oci://contosoacr.azurecr.io/helm/mysql --version 11.1.2 --set auth.rootPassword={pw},auth.database=orders,primary.persistence.size=16Gi"),
    );

    // --- Azure --------------------------------------------------------------------------------
    let k = g.b64(32);
    c.add(
        "signalr-connstr-accesskey-env",
        "azure-access-key",
        PodEnv,
        "Azure__SignalR__ConnectionString",
        &k,
        format!("Endpoint=https://contoso-signalr.service.signalr.net;AccessKey={k};Version=1.0;"),
    );
    let k = g.b64(32);
    c.add(
        "appconfig-connstr-secret-envfile",
        "azure-access-key",
        CmEnv,
        "app.env",
        &k,
        format!("ASPNETCORE_ENVIRONMENT=Production\nAppConfig__ConnectionString=Endpoint=https://contoso-appcs.azconfig.io;Id={}-l0-s0:{};Secret={k}\nLOG_LEVEL=info\n", g.alnum(4), g.alnum(20)),
    );
    let k = g.b64(64);
    c.add(
        "acs-connstr-lowercase-accesskey",
        "azure-access-key",
        CmValue,
        "communication",
        &k,
        format!("endpoint=https://contoso-acs.europe.communication.azure.com/;accesskey={k}"),
    );
    let k = g.b64(32);
    c.add(
        "iothub-device-connstr-json-log",
        "iothub-key",
        LogJson,
        "",
        &k,
        compact(&json!({"level": "info", "ts": "2026-11-25T16:58:01Z", "msg": "device client created", "conn": format!("HostName=contoso-iot.azure-devices.net;DeviceId=edge-gw-01;SharedAccessKey={k}")})),
    );
    let secret = format!(
        "{}8Q~{}",
        g.alnum(3),
        g.from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_~.-", 34)
    );
    c.add(
        "azure-credentials-json-in-env",
        "aad-client-secret",
        PodEnv,
        "AZURE_CREDENTIALS",
        &secret,
        compact(&json!({"clientId": "8c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f", "clientSecret": secret, "subscriptionId": "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0", "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47"})),
    );
    let pw = g.alnum(32);
    c.add(
        "arc-extension-config-settings-proxy-password",
        "password",
        AzJson,
        "",
        &pw,
        compact(&json!({"extensionType": "microsoft.azuremonitor.containers", "configurationSettings": {"amalogs.proxy": format!("http://proxyuser:{pw}@proxy.contoso.internal:3128"), "logAnalyticsWorkspaceResourceID": "/subscriptions/0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0/resourcegroups/contoso-monitor-rg/providers/microsoft.operationalinsights/workspaces/contoso-law"}, "provisioningState": "Succeeded"})),
    );
    let k = g.alnum(42) + "+ACR" + &g.alnum(6);
    c.add(
        "acr-token-password-docker-login-p",
        "acr-password",
        LogPlain,
        "",
        &k,
        format!("2026-11-25T16:58:02Z + docker login contosoacr.azurecr.io -u ci-puller -p {k}"),
    );

    // --- Config files of other tools ------------------------------------------------------------
    let guid = g.guid();
    c.add(
        "fluent-bit-splunk-token-guid",
        "splunk-hec-token",
        CmValue,
        "fluent-bit.conf",
        &guid,
        format!("[SERVICE]\n    Flush        5\n    Log_Level    info\n\n[OUTPUT]\n    Name         splunk\n    Match        kube.*\n    Host         splunk-hec.contoso.com\n    Port         8088\n    Splunk_Token {guid}\n    TLS          On\n"),
    );
    let pw = g.alnum(20);
    c.add(
        "fluent-bit-es-http-passwd",
        "password",
        CmValue,
        "output-es.conf",
        &pw,
        format!("[OUTPUT]\n    Name            es\n    Match           *\n    Host            es.contoso.internal\n    HTTP_User       fluent\n    HTTP_Passwd     {pw}\n    tls             On\n"),
    );
    let pw = g.alnum(20);
    c.add(
        "logstash-fat-arrow-password",
        "password",
        CmValue,
        "logstash.conf",
        &pw,
        format!("output {{\n  elasticsearch {{\n    hosts => [\"https://es.contoso.internal:9200\"]\n    user => \"logstash_writer\"\n    password => \"{pw}\"\n    index => \"k8s-%{{+YYYY.MM.dd}}\"\n  }}\n}}\n"),
    );
    let pw = g.alnum(18);
    c.add(
        "haproxy-insecure-password",
        "password",
        CmValue,
        "haproxy.cfg",
        &pw,
        format!("userlist stats-users\n    user admin insecure-password {pw}\n\nfrontend stats\n    bind *:8404\n    stats enable\n    stats uri /stats\n"),
    );
    let pw = g.alnum(32);
    let pw2 = g.alnum(32);
    c.add(
        "redis-conf-requirepass",
        "password",
        CmValue,
        "redis.conf",
        &pw,
        format!("bind 0.0.0.0\nport 6379\nrequirepass {pw}\nmaxmemory 512mb\nmaxmemory-policy allkeys-lru\n"),
    );
    c.add(
        "redis-conf-masterauth",
        "password",
        CmValue,
        "replica.conf",
        &pw2,
        format!("replicaof redis-master 6379\nmasterauth {pw2}\nreplica-read-only yes\n"),
    );
    let pw = g.alnum(20);
    c.add(
        "postgres-primary-conninfo-keyword-value",
        "password",
        CmValue,
        "postgresql.auto.conf",
        &pw,
        format!("# Do not edit this file manually!\nprimary_conninfo = 'host=orders-db-0.orders-db port=5432 user=replicator password={pw} sslmode=require application_name=orders-db-1'\nrecovery_target_timeline = 'latest'\n"),
    );
    let pw = g.alnum(20);
    c.add(
        "pgpass-line",
        "password",
        CmValue,
        ".pgpass",
        &pw,
        format!("orders-db.payments.svc.cluster.local:5432:orders:orders_app:{pw}\n"),
    );
    let t = format!("pypi-AgEIcHlwaS5vcmc{}", g.from(B64URL, 150));
    c.add(
        "pypirc-pypi-token",
        "pypi-token",
        CmValue,
        ".pypirc",
        &t,
        format!("[distutils]\nindex-servers =\n    pypi\n\n[pypi]\nusername = __token__\npassword = {t}\n"),
    );
    let pat = g.from("abcdefghijklmnopqrstuvwxyz0123456789", 52);
    c.add(
        "pip-conf-index-url-credentials",
        "url-credentials",
        CmValue,
        "pip.conf",
        &pat,
        format!("[global]\nindex-url = https://build:{pat}@pkgs.dev.azure.com/contoso/_packaging/python-feed/pypi/simple/\ntimeout = 60\n"),
    );
    let auth = STANDARD.encode(format!("ci-bot:{}", g.alnum(24)));
    c.add(
        "npmrc-underscore-auth",
        "npm-auth",
        CmValue,
        ".npmrc",
        &auth,
        format!("registry=https://npm.contoso.com/\n//npm.contoso.com/:_auth={auth}\nalways-auth=true\n"),
    );
    let t = format!("ATBB{}{}", g.alnum(28), g.hex(8).to_uppercase());
    c.add(
        "git-credentials-store-bitbucket",
        "url-credentials",
        CmValue,
        ".git-credentials",
        &t,
        format!("https://ci-bot:{t}@bitbucket.org\n"),
    );
    let rt = g.alnum(40);
    c.add(
        "docker-config-registrytoken",
        "docker-auth",
        CmJson,
        "config.json",
        &rt,
        compact(
            &json!({"auths": {"contosoacr.azurecr.io": {"registrytoken": rt}}, "credHelpers": {"gcr.io": "gcloud"}}),
        ),
    );
    let pw = g.alnum(20);
    let k = g.b64(64);
    c.add(
        "tfvars-admin-password",
        "password",
        CmValue,
        "terraform.tfvars",
        &pw,
        format!("location            = \"westeurope\"\nresource_group_name = \"contoso-platform-rg\"\nsql_admin_login     = \"sqladmin\"\nsql_admin_password  = \"{pw}\"\nnode_count          = 3\n"),
    );
    c.add(
        "terraform-backend-access-key",
        "azure-storage-key",
        CmValue,
        "backend.hcl",
        &k,
        format!("storage_account_name = \"contosotfstate\"\ncontainer_name       = \"tfstate\"\nkey                  = \"prod.terraform.tfstate\"\naccess_key           = \"{k}\"\n"),
    );
    let t = format!("{}.atlasv1.{}", g.alnum(14), g.alnum(67));
    c.add(
        "terraformrc-credentials-token",
        "terraform-cloud-token",
        CmValue,
        ".terraformrc",
        &t,
        format!("credentials \"app.terraform.io\" {{\n  token = \"{t}\"\n}}\n"),
    );
    let sid = g.guid();
    c.add(
        "vault-agent-approle-secret-id-guid",
        "vault-secret-id",
        CmValue,
        "agent.hcl",
        &sid,
        format!("vault {{\n  address = \"https://vault.contoso.internal:8200\"\n}}\n\nauto_auth {{\n  method \"approle\" {{\n    mount_path = \"auth/approle\"\n    config = {{\n      role_id_file_path   = \"/vault/config/role-id\"\n      secret_id = \"{sid}\"\n      remove_secret_id_file_after_reading = false\n    }}\n  }}\n}}\n"),
    );
    let pw = g.alnum(24);
    c.add(
        "toml-single-quoted-api-secret",
        "password",
        CmValue,
        "config.toml",
        &pw,
        format!("[server]\nlisten = \"0.0.0.0:8080\"\n\n[auth]\nissuer = \"https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0\"\napi_secret = '{pw}'\n"),
    );
    let pw = g.alnum(20);
    c.add(
        "dex-ldap-bindpw",
        "password",
        CmYaml,
        "config.yaml",
        &pw,
        format!("issuer: https://dex.contoso.com\nconnectors:\n- type: ldap\n  id: ad\n  name: Contoso AD\n  config:\n    host: ldap.contoso.internal:636\n    bindDN: cn=svc-dex,ou=services,dc=contoso,dc=com\n    bindPW: {pw}\n    userSearch:\n      baseDN: ou=people,dc=contoso,dc=com\n"),
    );
    let pw = g.alnum(20);
    c.add(
        "spring-placeholder-default-password",
        "password",
        CmYaml,
        "application.yml",
        &pw,
        format!("spring:\n  datasource:\n    url: jdbc:postgresql://orders-db:5432/orders\n    username: orders\n    password: ${{DB_PASSWORD:{pw}}}\n"),
    );
    let cs = g.alnum(40);
    c.add(
        "spring-oauth2-client-secret-property",
        "client-secret",
        CmValue,
        "application.properties",
        &cs,
        format!("server.port=8080\nspring.security.oauth2.client.registration.okta.client-id=0oa1b2c3d4e5f6g7h8i9\nspring.security.oauth2.client.registration.okta.client-secret={cs}\nspring.security.oauth2.client.provider.okta.issuer-uri=https://contoso.okta.com/oauth2/default\n"),
    );
    let t = format!(
        "glc_{}",
        STANDARD.encode(format!(
            r#"{{"o":"{}","n":"prom-write","k":"{}","m":{{"r":"prod-eu-west-0"}}}}"#,
            g.from("0123456789", 6),
            g.alnum(24)
        ))
    );
    c.add(
        "prometheus-remote-write-basic-auth-password",
        "grafana-cloud-token",
        CmYaml,
        "prometheus.yml",
        &t,
        format!("global:\n  scrape_interval: 60s\nremote_write:\n- url: https://prometheus-prod-01-eu-west-0.grafana.net/api/prom/push\n  basic_auth:\n    username: \"{}\"\n    password: {t}\n", g.from("0123456789", 7)),
    );
    let bt = g.alnum(48);
    c.add(
        "prometheus-scrape-bearer-token",
        "bearer-token",
        CmYaml,
        "prometheus.yml",
        &bt,
        format!("scrape_configs:\n- job_name: payments\n  scheme: https\n  bearer_token: {bt}\n  static_configs:\n  - targets: ['payments.contoso.internal:443']\n"),
    );
    let rk = g.hex(32);
    let ok = g.guid();
    c.add(
        "alertmanager-pagerduty-routing-key",
        "pagerduty-key",
        CmYaml,
        "alertmanager.yml",
        &rk,
        format!("receivers:\n- name: oncall\n  pagerduty_configs:\n  - routing_key: {rk}\n    severity: critical\n"),
    );
    c.add(
        "alertmanager-opsgenie-api-key-guid",
        "opsgenie-key",
        CmYaml,
        "alertmanager.yml",
        &ok,
        format!("receivers:\n- name: ops\n  opsgenie_configs:\n  - api_key: {ok}\n    api_url: https://api.eu.opsgenie.com/\n"),
    );
    let fk = g.b64(32);
    c.add(
        "fluentd-forward-shared-key",
        "password",
        CmValue,
        "fluent.conf",
        &fk,
        format!("<match **>\n  @type forward\n  <security>\n    self_hostname fluentd-agent\n    shared_key {fk}\n  </security>\n  <server>\n    host aggregator.contoso.internal\n  </server>\n</match>\n"),
    );
    let t = format!("pul-{}", g.hex(40));
    c.add(
        "pulumi-credentials-access-tokens-by-url",
        "pulumi-token",
        CmJson,
        "credentials.json",
        &t,
        compact(&json!({"current": "https://api.pulumi.com", "accessTokens": {"https://api.pulumi.com": t}, "accounts": {"https://api.pulumi.com": {"username": "contoso-ci"}}})),
    );
    let pw = g.alnum(20);
    c.add(
        "actuator-env-property-value-object",
        "password",
        CmJson,
        "env.json",
        &pw,
        compact(&json!({"activeProfiles": ["prod"], "propertySources": [{"name": "systemEnvironment", "properties": {"DB_PASS": {"value": pw, "origin": "System Environment Property \"DB_PASS\""}, "JAVA_HOME": {"value": "/opt/java/openjdk", "origin": "System Environment Property \"JAVA_HOME\""}}}]})),
    );
    let pw = g.alnum(20);
    c.add(
        "sql-init-create-user-with-password",
        "password",
        CmValue,
        "init.sql",
        &pw,
        format!("CREATE DATABASE orders;\nCREATE USER orders_app WITH PASSWORD '{pw}';\nGRANT ALL PRIVILEGES ON DATABASE orders TO orders_app;\n"),
    );
    let pw = g.alnum(20);
    c.add(
        "mysql-identified-by-plain-log",
        "password",
        LogPlain,
        "",
        &pw,
        format!("2026-11-25T16:58:03.412Z 8 [Note] [MY-010914] Query: CREATE USER 'repl'@'%' IDENTIFIED BY '{pw}'"),
    );
    let v = g.b64(180);
    let kc = format!("apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://rancher.contoso.com/k8s/clusters/c-m-x2x4z\n  name: prod\nusers:\n- name: prod\n  user:\n    token: kubeconfig-u-{}:{}\ncontexts:\n- context:\n    cluster: prod\n    user: prod\n  name: prod\ncurrent-context: prod\n", g.from("abcdefghijklmnopqrstuvwxyz0123456789", 10), v.replace(['+', '/', '='], ""));
    let b = STANDARD.encode(&kc);
    c.add(
        "kubeconfig-base64-in-configmap-value",
        "kubeconfig",
        CmValue,
        "kubeconfig.b64",
        &b,
        b.clone(),
    );
    let rt = format!(
        "kubeconfig-u-{}:{}",
        g.from("abcdefghijklmnopqrstuvwxyz0123456789", 10),
        g.from("abcdefghijklmnopqrstuvwxyz0123456789", 54)
    );
    c.add(
        "kubeconfig-rancher-token",
        "token",
        CmKubeconfig,
        "config",
        &rt,
        format!("apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://rancher.contoso.com/k8s/clusters/c-m-x2x4z\n  name: prod\nusers:\n- name: prod\n  user:\n    token: {rt}\ncontexts:\n- context:\n    cluster: prod\n    user: prod\n  name: prod\ncurrent-context: prod\n"),
    );

    // --- Args and command lines -------------------------------------------------------------------
    let pw = g.alnum(18);
    c.add(
        "mysqldump-attached-short-flag",
        "password",
        Args,
        "",
        &pw,
        format!(
            "sh\n-c\nmysqldump -h orders-db -uroot -p{pw} --single-transaction orders | gzip > /backup/orders.sql.gz"
        ),
    );
    let pw = g.alnum(18);
    c.add(
        "sqlcmd-capital-p-flag",
        "password",
        Args,
        "",
        &pw,
        format!("/opt/mssql-tools18/bin/sqlcmd\n-S\ncontoso-sql.database.windows.net\n-U\nsqladmin\n-P\n{pw}\n-i\n/scripts/migrate.sql"),
    );
    let pw = g.alnum(18);
    c.add(
        "sqlplus-user-slash-password-at",
        "password",
        Args,
        "",
        &pw,
        format!("sh\n-c\nsqlplus -s orders/{pw}@//oracle-db.contoso.internal:1521/ORCLPDB1 @/scripts/health.sql"),
    );
    let pw = g.alnum(18);
    c.add(
        "sshpass-p",
        "password",
        Args,
        "",
        &pw,
        format!("sh\n-c\nsshpass -p '{pw}' rsync -az /data/ backup@nas.contoso.internal:/backups/orders/"),
    );
    let tok = g.alnum(40);
    c.add(
        "annotation-trigger-token",
        "token",
        Annotation,
        "ci.contoso.io/trigger-token",
        &tok,
        tok.clone(),
    );
    let pw = g.alnum(20);
    c.add("env-pgpassword", "password", PodEnv, "PGPASSWORD", &pw, pw.clone());
    let nats = g.alnum(22);
    c.add(
        "env-nats-url-userpass",
        "url-credentials",
        PodEnv,
        "NATS_URL",
        &nats,
        format!("nats://orders:{nats}@nats.messaging.svc:4222"),
    );
    let pw = g.alnum(20);
    c.add(
        "kafka-scram-jaas-env",
        "password",
        PodEnv,
        "KAFKA_SASL_JAAS_CONFIG",
        &pw,
        format!(
            "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"orders\" password=\"{pw}\";"
        ),
    );
    let t = format!("s.{}", g.alnum(24));
    c.add(
        "vault-legacy-service-token-envfile",
        "vault-token",
        CmEnv,
        "vault.env",
        &t,
        format!("VAULT_ADDR=https://vault.contoso.internal:8200\nVAULT_TOKEN={t}\nVAULT_NAMESPACE=platform\n"),
    );

    // --- Logs: dumps and headers -----------------------------------------------------------------
    let cs = g.alnum(40);
    c.add(
        "lombok-tostring-client-secret",
        "client-secret",
        LogPlain,
        "",
        &cs,
        format!("2026-11-25 16:58:04.118  INFO 1 --- [main] c.c.o.config.OAuthConfig : loaded OAuthClientProperties(clientId=orders-api, clientSecret={cs}, scopes=[openid, profile])"),
    );
    let pw = g.alnum(20);
    c.add(
        "java-tostring-quoted-password",
        "password",
        LogPlain,
        "",
        &pw,
        format!("2026-11-25 16:58:05.220 DEBUG 1 --- [main] c.c.o.db.Pool : DataSourceConfig{{url='jdbc:postgresql://orders-db:5432/orders', username='orders', password='{pw}', maxPool=10}}"),
    );
    let pw = g.alnum(20);
    c.add(
        "go-syntax-struct-quoted-password",
        "password",
        LogPlain,
        "",
        &pw,
        format!("2026/11/25 16:58:06 config: &main.Config{{Addr:\":8080\", DBUser:\"orders\", DBPassword:\"{pw}\", Timeout:30000000000}}"),
    );
    let pw = g.alnum(20);
    c.add(
        "stack-trace-env-dump-indented",
        "password",
        LogPlain,
        "",
        &pw,
        format!("panic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a1f2c]\nenvironment:\n    HOME=/root\n    REDIS_PASSWORD={pw}\n    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin\ngoroutine 1 [running]:\nmain.main()\n\t/src/main.go:42 +0x1d"),
    );
    let tok = g.alnum(40);
    c.add(
        "nginx-access-log-access-token-query",
        "token",
        LogPlain,
        "",
        &tok,
        format!("10.244.0.1 - - [25/Nov/2026:16:58:07 +0000] \"GET /api/v1/orders?page=2&access_token={tok} HTTP/1.1\" 200 5120 \"-\" \"okhttp/4.12.0\""),
    );
    let k = g.hex(32);
    c.add(
        "apikey-query-param-json-log",
        "api-key",
        LogJson,
        "",
        &k,
        compact(&json!({"level": "warn", "ts": "2026-11-25T16:58:08Z", "msg": "scrape failed", "url": format!("https://metrics.partner.example.com/v2/stats?apikey={k}&format=prom"), "status": 502})),
    );
    let rt = format!("0.A{}", g.from(B64URL, 300));
    c.add(
        "oauth-refresh-token-form-body-log",
        "refresh-token",
        LogPlain,
        "",
        &rt,
        format!("2026-11-25T16:58:09Z DEBUG POST https://login.microsoftonline.com/organizations/oauth2/v2.0/token body: client_id=04b07795-8ddb-461a-bbee-02f9e1bf7b46&grant_type=refresh_token&refresh_token={rt}&scope=https%3A%2F%2Fmanagement.core.windows.net%2F%2F.default"),
    );
    let hex = g.hex(40);
    c.add(
        "authorization-token-scheme-gomap",
        "github-token",
        LogGoMap,
        "",
        &hex,
        format!("2026-11-25T16:58:10Z DEBUG request headers: map[Accept:[application/vnd.github+json] Authorization:[token {hex}] User-Agent:[fleet-sync/1.2]]"),
    );
    let ssws = format!(
        "00{}",
        g.from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", 40)
    );
    c.add(
        "authorization-ssws-okta-plain-log",
        "okta-token",
        LogPlain,
        "",
        &ssws,
        format!("2026-11-25T16:58:11Z DEBUG > GET /api/v1/users?limit=200 HTTP/1.1\n> Host: contoso.okta.com\n> Authorization: SSWS {ssws}\n> Accept: application/json"),
    );
    let ak = STANDARD.encode(format!("{}:{}", g.alnum(20), g.alnum(22)));
    c.add(
        "authorization-apikey-elastic-json-log",
        "api-key",
        LogJson,
        "",
        &ak,
        compact(&json!({"level": "debug", "ts": "2026-11-25T16:58:12Z", "msg": "es request", "headers": {"Authorization": [format!("ApiKey {ak}")], "Content-Type": ["application/x-ndjson"]}})),
    );
    let hec = g.guid();
    c.add(
        "authorization-splunk-hec-guid-curl",
        "splunk-hec-token",
        LogPlain,
        "",
        &hec,
        format!("2026-11-25T16:58:13Z + curl -sS -k https://splunk-hec.contoso.com:8088/services/collector/event -H \"Authorization: Splunk {hec}\" -d @/tmp/event.json"),
    );
    let ct = g.guid();
    c.add(
        "consul-token-header-gomap",
        "consul-token",
        LogGoMap,
        "",
        &ct,
        format!("2026-11-25T16:58:14Z DEBUG consul request: map[Accept-Encoding:[gzip] X-Consul-Token:[{ct}]]"),
    );
    let pt = g.from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 20);
    c.add(
        "gitlab-private-token-header-plain-log",
        "gitlab-token",
        LogPlain,
        "",
        &pt,
        format!("2026-11-25T16:58:15Z DEBUG GET https://gitlab.contoso.com/api/v4/projects/42/repository/archive headers: PRIVATE-TOKEN: {pt}"),
    );
    let st = format!("shpat_{}", g.hex(32));
    c.add(
        "shopify-access-token-header",
        "shopify-token",
        LogPlain,
        "",
        &st,
        format!("2026-11-25T16:58:16Z DEBUG POST https://contoso.myshopify.com/admin/api/2024-10/graphql.json X-Shopify-Access-Token: {st}"),
    );
    let args = g.alnum(20);
    c.add(
        "json-log-argv-password-flag",
        "password",
        LogJson,
        "",
        &args,
        compact(&json!({"level": "info", "ts": "2026-11-25T16:58:17Z", "msg": "starting", "argv": ["/app/migrate", "--db-user", "orders", "--db-password", args, "--timeout", "30s"]})),
    );
    let pw = g.alnum(20);
    c.add(
        "python-requests-url-client-secret",
        "client-secret",
        LogPlain,
        "",
        &pw,
        format!("requests.exceptions.HTTPError: 401 Client Error: Unauthorized for url: https://id.partner.example.com/oauth/token?grant_type=client_credentials&client_id=orders&client_secret={pw}"),
    );

    // --- Vendor token formats, bare ----------------------------------------------------------------
    let dd = g.hex(32);
    c.add(
        "datadog-api-key-env",
        "datadog-key",
        PodEnv,
        "DD_API_KEY",
        &dd,
        dd.clone(),
    );
    let dda = g.hex(40);
    c.add(
        "datadog-app-key-env",
        "datadog-key",
        PodEnv,
        "DD_APP_KEY",
        &dda,
        dda.clone(),
    );
    let tw = g.hex(32);
    c.add(
        "twilio-auth-token-envfile",
        "twilio-token",
        CmEnv,
        "twilio.env",
        &tw,
        format!("TWILIO_ACCOUNT_SID=AC{}\nTWILIO_AUTH_TOKEN={tw}\n", g.hex(32)),
    );
    let mg = format!("key-{}", g.hex(32));
    c.add(
        "mailgun-key-bare-log",
        "mailgun-key",
        LogPlain,
        "",
        &mg,
        format!("2026-11-25T16:58:18Z INFO mailer: configured provider=mailgun domain=mg.contoso.com credential={mg}"),
    );
    let li = format!("lin_api_{}", g.alnum(40));
    c.add(
        "linear-api-key-bare-log",
        "linear-key",
        LogPlain,
        "",
        &li,
        format!("2026-11-25T16:58:19Z WARN linear sync: retrying with {li} after 429"),
    );
    let hf = format!("hf_{}", g.from(LETTERS, 34));
    c.add(
        "huggingface-token-bare-log",
        "huggingface-token",
        LogPlain,
        "",
        &hf,
        format!("2026-11-25T16:58:20Z INFO downloading contoso/intent-classifier revision main as {hf}"),
    );
    let db = format!("dapi{}", g.hex(32));
    c.add(
        "databricks-pat-json-member",
        "databricks-token",
        CmJson,
        "databricks.json",
        &db,
        compact(&json!({"workspace": {"host": "https://adb-1234567890123456.7.azuredatabricks.net", "pat": db, "cluster_id": "1125-165800-abcd1234"}})),
    );
    let dp = format!("dp.st.prd.{}", g.alnum(43));
    c.add(
        "doppler-service-token-bare-log",
        "doppler-token",
        LogPlain,
        "",
        &dp,
        format!("2026-11-25T16:58:21Z INFO doppler run --token={dp} -- ./start.sh"),
    );
    let pm = format!("PMAK-{}-{}", g.hex(24), g.hex(34));
    c.add(
        "postman-api-key-bare-log",
        "postman-key",
        LogPlain,
        "",
        &pm,
        format!("2026-11-25T16:58:22Z INFO newman: collection fetched with {pm}"),
    );
    let at = format!("ATATT3xFfGF0{}={}", g.from(B64URL, 170), g.hex(8).to_uppercase());
    c.add(
        "atlassian-api-token-bare-log",
        "atlassian-token",
        LogPlain,
        "",
        &at,
        format!("2026-11-25T16:58:23Z DEBUG jira client for svc-jira@contoso.com with {at}"),
    );
    let xa = format!(
        "xapp-1-A{}-{}-{}",
        g.from("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 10),
        g.from("0123456789", 13),
        g.hex(64)
    );
    c.add(
        "slack-app-level-token-envfile",
        "chat-token",
        CmEnv,
        "bot.env",
        &xa,
        format!("SLACK_SOCKET_MODE=true\nSLACK_APP={xa}\n"),
    );
    let ghu = format!("ghu_{}", g.alnum(36));
    let ghr = format!("ghr_{}", g.alnum(76));
    c.add(
        "github-user-to-server-token-json-log",
        "github-token",
        LogJson,
        "",
        &ghu,
        compact(&json!({"level": "info", "ts": "2026-11-25T16:58:24Z", "msg": "app installation authorized", "result": format!("{ghu} expires in 8h")})),
    );
    c.add(
        "github-refresh-token-bare-value",
        "github-token",
        CmValue,
        "gh-app-refresh",
        &ghr,
        ghr.clone(),
    );
    let glrt = format!(
        "glrt-{}",
        g.from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", 20)
    );
    c.add(
        "gitlab-runner-glrt-args",
        "gitlab-token",
        Args,
        "",
        &glrt,
        format!(
            "register\n--non-interactive\n--url\nhttps://gitlab.contoso.com\n--token\n{glrt}\n--executor\nkubernetes"
        ),
    );
    let gldt = format!(
        "gldt-{}",
        g.from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", 20)
    );
    c.add(
        "gitlab-deploy-token-url-flux",
        "gitlab-token",
        Object,
        "gitrepositories.source.toolkit.fluxcd.io",
        &gldt,
        compact(&json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository", "spec": {"url": format!("https://gitlab+deploy-token-17:{gldt}@gitlab.contoso.com/platform/fleet.git")}})),
    );
    let ya = format!("ya29.a0{}", g.from(B64URL, 160));
    c.add(
        "google-ya29-access-token-bare-log",
        "gcp-access-token",
        LogPlain,
        "",
        &ya,
        format!("2026-11-25T16:58:25Z DEBUG gcs upload using access token {ya} (expires 3599s)"),
    );
    let af = format!("AKCp{}", g.alnum(69));
    c.add(
        "jfrog-api-key-maven-url",
        "jfrog-key",
        CmValue,
        "gradle.properties",
        &af,
        format!("org.gradle.jvmargs=-Xmx2g\nartifactoryUser=ci\nartifactoryApiKey={af}\n"),
    );
    let rtkn = STANDARD
        .encode(format!("reftkn:01:{}:{}", g.from("0123456789", 10), g.alnum(32)))
        .replace('=', "");
    c.add(
        "jfrog-identity-token-bare-arg",
        "jfrog-token",
        Args,
        "",
        &rtkn,
        format!("jf\nrt\nupload\nbuild/*.jar\nlibs-release-local/\n--access-token={rtkn}"),
    );
    let rk = format!("rk_live_{}", g.alnum(99));
    c.add(
        "stripe-restricted-key-bare-json-log",
        "api-key",
        LogJson,
        "",
        &rk,
        compact(&json!({"level": "info", "ts": "2026-11-25T16:58:26Z", "msg": format!("stripe client ready ({rk})")})),
    );
    let mc = format!("{}-us21", g.hex(32));
    c.add(
        "mailchimp-key-bare-log",
        "mailchimp-key",
        LogPlain,
        "",
        &mc,
        format!("2026-11-25T16:58:27Z INFO audience sync via https://us21.api.mailchimp.com/3.0/ apikey {mc}"),
    );
    c.items
}

/// Ordinary values of the second corpus (ids start `b-`): must come out byte-identical.
pub fn ordinary() -> Vec<Ordinary> {
    use Place::*;
    let mut v = Ordinaries::new("b-");
    let mut add =
        |id: &str, place: Place, key: &str, value: &str, context: String| v.add(id, place, key, value, context);
    let tenant = "9b2c4d6e-8f0a-4b1c-9d3e-5f7a9b1c3d5e";
    let client = "5e4d3c2b-1a09-4f8e-8d7c-6b5a49382716";
    let sub = "1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d";
    let ids = compact(
        &json!({"tenantId": tenant, "clientId": client, "subscriptionId": sub, "resourceGroup": "contoso-platform-rg", "useWorkloadIdentityExtension": true}),
    );
    add("azure-json-tenant-id", CmJson, "azure.json", tenant, ids.clone());
    add("azure-json-client-id", CmJson, "azure.json", client, ids.clone());
    add("azure-json-subscription-id", CmJson, "azure.json", sub, ids);
    add(
        "workload-identity-client-id-env",
        PodEnv,
        "AZURE_CLIENT_ID",
        client,
        client.to_string(),
    );
    add(
        "workload-identity-tenant-id-env",
        PodEnv,
        "AZURE_TENANT_ID",
        tenant,
        tenant.to_string(),
    );
    let digest = "sha256:4f9c2b7e1d8a6f3c0b5e9d2a7c4f1e8b3d6a0c9f2e5b8d1a4c7f0e3b6d9a2c5f";
    let oci = "oci://contosoacr.azurecr.io/manifests/platform@sha256:0e1d2c3b4a5968778695a4b3c2d1e0f9e8d7c6b5a4938271605f4e3d2c1b0a99";
    let git_url = "https://github.com/contoso/fleet-infra.git";
    add(
        "flux-artifact-digest",
        Object,
        "gitrepositories.source.toolkit.fluxcd.io",
        digest,
        compact(
            &json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository", "spec": {"url": git_url, "secretRef": {"name": "fleet-git-auth"}, "ref": {"branch": "main"}}, "status": {"artifact": {"digest": digest, "revision": "main@sha1:0a1b2c3d4e5f60718293a4b5c6d7e8f901234567", "path": "gitrepository/flux-system/fleet/0a1b2c3d.tar.gz"}}}),
        ),
    );
    add(
        "flux-url-without-credentials",
        Object,
        "gitrepositories.source.toolkit.fluxcd.io",
        git_url,
        compact(
            &json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository", "spec": {"url": git_url, "interval": "5m"}}),
        ),
    );
    add(
        "flux-secret-ref-name",
        Object,
        "gitrepositories.source.toolkit.fluxcd.io",
        "fleet-git-auth-credentials",
        compact(
            &json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository", "spec": {"url": "ssh://git@github.com/contoso/fleet.git", "secretRef": {"name": "fleet-git-auth-credentials"}}}),
        ),
    );
    add(
        "oci-repository-digest-url",
        Object,
        "ocirepositories.source.toolkit.fluxcd.io",
        oci,
        compact(
            &json!({"apiVersion": "source.toolkit.fluxcd.io/v1beta2", "kind": "OCIRepository", "spec": {"url": "oci://contosoacr.azurecr.io/manifests/platform", "provider": "azure"}, "status": {"url": oci}}),
        ),
    );
    add(
        "kustomization-substitute-ordinary",
        Object,
        "kustomizations.kustomize.toolkit.fluxcd.io",
        "westeurope-prod-02",
        compact(
            &json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization", "spec": {"path": "./apps", "postBuild": {"substitute": {"cluster_name": "westeurope-prod-02"}, "substituteFrom": [{"kind": "Secret", "name": "cluster-secret-vars"}]}}}),
        ),
    );
    let helm_list = serde_json::to_string_pretty(&json!([
        {"name": "orders-db", "namespace": "payments", "revision": "7", "updated": "2026-11-20 09:12:44.120934 +0000 UTC", "status": "deployed", "chart": "postgresql-15.5.38", "app_version": "16.4.0"},
        {"name": "ingress-nginx", "namespace": "ingress", "revision": "3", "updated": "2026-11-18 11:02:10.5 +0000 UTC", "status": "deployed", "chart": "ingress-nginx-4.11.3", "app_version": "1.11.3"}
    ]))
    .expect("JSON");
    add(
        "helm-list-chart-version",
        Member,
        "helm/list.json",
        "postgresql-15.5.38",
        helm_list,
    );
    add(
        "checksum-secret-annotation",
        Annotation,
        "checksum/secret",
        "9e107d9d372bb6826bd81d3542a419d6e0a0d0f3b1c2d4e5f60718293a4b5c6d",
        "9e107d9d372bb6826bd81d3542a419d6e0a0d0f3b1c2d4e5f60718293a4b5c6d".to_string(),
    );
    add(
        "passwordless-true-yaml",
        CmYaml,
        "auth.yaml",
        "passwordless: true",
        "auth:\n  mode: entra\n  passwordless: true\n  mfa: required\n".to_string(),
    );
    add(
        "lookalike-words-log",
        LogPlain,
        "",
        "tokenizer=wordpiece keyboard=de passport-scan secretary=enabled",
        "2026-11-25T16:58:30Z INFO pipeline ready: tokenizer=wordpiece keyboard=de passport-scan secretary=enabled"
            .to_string(),
    );
    let ecdsa = "github.com ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEmKSENjQEezOmxkZMy7opKgwFB9nkt5YRrYMjNuG5N87uRgg6CLrbo5wAdT/y6v0mKV0U2w0WZ2YB/++Tpockg=";
    add(
        "ssh-known-hosts-ecdsa",
        CmValue,
        "ssh_known_hosts",
        ecdsa,
        format!("{ecdsa}\n"),
    );
    add(
        "webhook-ca-bundle",
        Object,
        "mutatingwebhookconfigurations",
        CA_DATA,
        compact(
            &json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration", "webhooks": [{"name": "mutate.gatekeeper.sh", "clientConfig": {"caBundle": CA_DATA, "service": {"name": "gatekeeper-webhook-service", "namespace": "gatekeeper-system", "path": "/v1/mutate"}}, "sideEffects": "None"}]}),
        ),
    );
    add(
        "csidriver-token-requests-audience",
        Object,
        "csidrivers",
        "vault-csi-provider",
        compact(
            &json!({"apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver", "spec": {"tokenRequests": [{"audience": "vault-csi-provider", "expirationSeconds": 600}], "requiresRepublish": true}}),
        ),
    );
    add(
        "event-pulled-image-digest",
        Object,
        "events",
        "mcr.microsoft.com/azuremonitor/containerinsights/ciprod@sha256:7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b",
        compact(&json!({"apiVersion": "v1", "kind": "Event", "type": "Normal", "reason": "Pulled", "involvedObject": {"kind": "Pod", "name": "ama-logs-51898", "namespace": "kube-system"}, "message": "Successfully pulled image \"mcr.microsoft.com/azuremonitor/containerinsights/ciprod@sha256:7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b\" in 1.204s (1.204s including waiting)"})),
    );
    add(
        "certificate-secret-name",
        Object,
        "certificates.cert-manager.io",
        "orders-api-tls",
        compact(
            &json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "spec": {"secretName": "orders-api-tls", "dnsNames": ["orders.contoso.com"], "issuerRef": {"kind": "ClusterIssuer", "name": "letsencrypt-prod"}}}),
        ),
    );
    let age_pub = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";
    add(
        "age-recipient-public",
        CmYaml,
        ".sops.yaml",
        age_pub,
        format!("creation_rules:\n- path_regex: .*.yaml\n  encrypted_regex: ^(data|stringData)$\n  age: {age_pub}\n"),
    );
    add(
        "keyvault-reference-app-setting",
        PodEnv,
        "ConnectionStrings__Orders",
        "@Microsoft.KeyVault(VaultName=contoso-kv;SecretName=orders-db-connection)",
        "@Microsoft.KeyVault(VaultName=contoso-kv;SecretName=orders-db-connection)".to_string(),
    );
    add(
        "az-etag-and-identity-principal",
        AzJson,
        "",
        "0x8DDE1A2B3C4D5E6",
        compact(
            &json!({"etag": "0x8DDE1A2B3C4D5E6", "identity": {"type": "SystemAssigned", "principalId": "c0ffee00-1234-4abc-9def-0123456789ab", "tenantId": tenant}, "extensionType": "microsoft.flux", "version": "1.14.1", "provisioningState": "Succeeded"}),
        ),
    );
    add(
        "appinsights-ingestion-endpoint",
        PodEnv,
        "APPLICATIONINSIGHTS_INGESTION_ENDPOINT",
        "https://westeurope-5.in.applicationinsights.azure.com/",
        "https://westeurope-5.in.applicationinsights.azure.com/".to_string(),
    );
    add(
        "pod-owner-uid-log",
        LogPlain,
        "",
        UID,
        format!("2026-11-25T16:58:31Z INFO reconciled pod uid={UID} resourceVersion=48213377 generation=4"),
    );
    add(
        "gatekeeper-constraint-message-prose",
        Object,
        "events",
        "container <app> has no resource limits; password rotation policy is enforced by the secret store",
        compact(
            &json!({"apiVersion": "v1", "kind": "Event", "type": "Warning", "reason": "FailedAdmission", "involvedObject": {"kind": "Deployment", "name": "orders-api", "namespace": "payments"}, "message": "admission webhook \"validation.gatekeeper.sh\" denied the request: [k8srequiredlimits] container <app> has no resource limits; password rotation policy is enforced by the secret store"}),
        ),
    );
    v.items
}
