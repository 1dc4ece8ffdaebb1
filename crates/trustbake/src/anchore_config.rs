//! An Anchore `config.yaml` read as Anchore reads it: `${ANCHORE_…}` replaced in the text (from
//! an env file and the environment), then YAML, with PyYAML's booleans; the enabled services'
//! endpoints. `check-config` judges it, `proxy-env` takes its endpoints for `no_proxy`.

use std::collections::BTreeMap;
use std::path::Path;

use yaml_rust2::{Yaml, YamlLoader};

use crate::error::Error;
use crate::load::{MAX_FILE, read_limited};

/// Reads `KEY=VALUE` lines as Anchore reads `ANCHORE_ENV_FILE` (quotes around values dropped).
pub fn read_env_file(path: &Path) -> Result<BTreeMap<String, String>, Error> {
    let text = read_text(path)?;
    let mut vars = BTreeMap::new();
    for line in text.lines() {
        if let Some((k, v)) = line.split_once('=') {
            let v = v
                .trim_start_matches(['"', '\''])
                .trim_end_matches(['"', '\'']);
            vars.insert(k.trim().to_owned(), v.to_owned());
        }
    }
    Ok(vars)
}

pub(crate) fn read_text(path: &Path) -> Result<String, Error> {
    let bad = |reason: String| Error::Config {
        path: path.display().to_string(),
        reason,
    };
    let (bytes, _) = read_limited(path, MAX_FILE).map_err(bad)?;
    String::from_utf8(bytes).map_err(|_| bad("not UTF-8 text".to_owned()))
}

/// A YAML boolean as Anchore's PyYAML reads it (`True`, `yes`, `on`…).
pub(crate) fn boolean(value: &Yaml) -> Option<bool> {
    match value {
        Yaml::Boolean(b) => Some(*b),
        Yaml::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "y" => Some(true),
            "false" | "no" | "off" | "n" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

pub(crate) fn scalar(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Real(r) => Some(r.clone()),
        Yaml::Boolean(b) => Some(if *b { "True" } else { "False" }.to_owned()),
        _ => None,
    }
}

/// A `${ANCHORE…}` left in any value: Anchore refuses the config.
pub(crate) fn unset_variable(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(s) => s.find("${ANCHORE").map(|i| {
            let rest = &s[i..];
            rest[..rest.find('}').map_or(rest.len(), |e| e + 1)].to_owned()
        }),
        Yaml::Array(items) => items.iter().find_map(unset_variable),
        Yaml::Hash(map) => map.values().find_map(unset_variable),
        _ => None,
    }
}

/// Reads an Anchore config as Anchore does: `${NAME}` replaced by `vars` in the text, then YAML;
/// an unset `${ANCHORE…}` left in a value, no `services` mapping, or bad YAML is an error.
pub(crate) fn load(path: &Path, vars: &BTreeMap<String, String>) -> Result<Yaml, Error> {
    let doc = parse(path, vars)?;
    if let Some(var) = unset_variable(&doc) {
        return Err(Error::Config {
            path: path.display().to_string(),
            reason: format!(
                "{var} is not set (Anchore refuses a config with an unset variable): set it in the environment or give --env-file"
            ),
        });
    }
    Ok(doc)
}

/// [`load`] without the check for unset variables: for a command that reads a few values
/// only, and checks those itself ([`endpoint_variables`]).
pub(crate) fn parse(path: &Path, vars: &BTreeMap<String, String>) -> Result<Yaml, Error> {
    let config_error = |reason: String| Error::Config {
        path: path.display().to_string(),
        reason,
    };
    let mut text = read_text(path)?;
    for (k, v) in vars {
        text = text.replace(&format!("${{{k}}}"), v);
    }
    let docs = YamlLoader::load_from_str(&text).map_err(|e| {
        config_error(format!(
            "not YAML: {} (line {}, column {})",
            e.info(),
            e.marker().line(),
            e.marker().col() + 1
        ))
    })?;
    let doc = docs
        .into_iter()
        .next()
        .ok_or_else(|| config_error("empty".to_owned()))?;
    if doc.as_hash().is_none() {
        return Err(config_error("not a mapping at the top level".to_owned()));
    }
    if doc["services"].as_hash().is_none() {
        return Err(config_error("no 'services' mapping".to_owned()));
    }
    Ok(doc)
}

/// The host of an `endpoint_hostname`, which some configs write with a scheme, port or path.
pub(crate) fn bare_host(endpoint: &str) -> &str {
    let rest = endpoint.rsplit("://").next().unwrap_or(endpoint);
    rest.split(['/', ':']).next().unwrap_or(rest)
}

/// The first unset `${ANCHORE…}` in what decides the endpoints — each service's `enabled`,
/// and an enabled service's `endpoint_hostname` and `port` — with the service's name.
pub(crate) fn endpoint_variables(doc: &Yaml) -> Option<(String, String)> {
    let services = doc["services"].as_hash()?;
    for (name, svc) in services {
        let name = scalar(name).unwrap_or_default();
        if let Some(var) = unset_variable(&svc["enabled"]) {
            return Some((format!("services.{name}.enabled"), var));
        }
        if boolean(&svc["enabled"]).unwrap_or(false) {
            for key in ["endpoint_hostname", "port"] {
                if let Some(var) = unset_variable(&svc[key]) {
                    return Some((format!("services.{name}.{key}"), var));
                }
            }
        }
    }
    None
}

/// Every enabled service of a loaded config: (name, endpoint_hostname, port).
pub(crate) fn enabled_endpoints(doc: &Yaml) -> Vec<(String, Option<String>, Option<String>)> {
    let mut out = Vec::new();
    if let Some(services) = doc["services"].as_hash() {
        for (name, svc) in services {
            if boolean(&svc["enabled"]).unwrap_or(false) {
                out.push((
                    scalar(name).unwrap_or_default(),
                    scalar(&svc["endpoint_hostname"]),
                    scalar(&svc["port"]),
                ));
            }
        }
    }
    out
}
