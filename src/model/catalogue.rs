//! The catalogue: `models/*.json`, one checked configuration per file, with the verdict each
//! property is expected to get.
//!
//! ```json
//! {
//!   "name": "seed-blind",
//!   "description": "two clients, blind read-modify-writes: the lost update",
//!   "model": "single_shard",
//!   "parameters": { "clients": 2, "guard": "blind", "path": "rmw" },
//!   "expect": { "no_lost_acked_write": "counterexample", "reach_acked_write": "reachable" },
//!   "ci": true
//! }
//! ```
//!
//! An invariant is expected to `hold` or to have a `counterexample`; a reachability goal
//! (`reach_*`) to be `reachable` or `unreachable`. Every entry names at least one goal it must
//! reach, so that no entry can pass by a model that does nothing.
//!
//! Unknown fields, parameters and property names are rejected. Every error names the file, the
//! line and column, and what is wrong; `model` must come before `parameters` so that the
//! parameters are read (and their errors located) as that model's.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::replication;
use super::single_shard::{self, SingleShard};
use super::{Checkable, Invariant};

/// One catalogue entry.
#[derive(Clone, Debug, Serialize)]
pub struct Entry {
    pub name: String,
    pub description: String,
    #[serde(flatten)]
    pub model: ModelSpec,
    /// The expected verdict per property; properties not listed are checked and reported too.
    pub expect: BTreeMap<Invariant, Expect>,
    /// Checked by `cargo test`.
    pub ci: bool,
    /// The file the entry came from.
    pub source: PathBuf,
}

/// Which model, with its parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "model", content = "parameters", rename_all = "snake_case")]
pub enum ModelSpec {
    SingleShard(single_shard::Params),
    Replication(replication::Config),
}

/// The model names a file may give, before its parameters are read.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ModelKind {
    SingleShard,
    Replication,
}

impl ModelSpec {
    /// The model's name as the catalogue spells it.
    pub fn kind(&self) -> &'static str {
        match self {
            ModelSpec::SingleShard(_) => "single_shard",
            ModelSpec::Replication(_) => "replication",
        }
    }

    /// Check the parameters beyond their types.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            ModelSpec::SingleShard(params) => params.validate(),
            ModelSpec::Replication(config) => config.validate(),
        }
    }

    /// Build the model and hand it, typed, to `action`; the message says why the parameters
    /// cannot make a model.
    pub fn with_model<W: WithModel>(&self, action: W) -> Result<W::Output, String> {
        match self {
            ModelSpec::SingleShard(params) => Ok(action.with(SingleShard::new(params.clone())?)),
            ModelSpec::Replication(config) => Ok(action.with(config.clone().into_model()?)),
        }
    }

    /// The properties the model checks, in its order.
    pub fn properties(&self) -> Result<Vec<Invariant>, String> {
        struct Names;
        impl WithModel for Names {
            type Output = Vec<Invariant>;
            fn with<M: Checkable>(self, model: M) -> Vec<Invariant> {
                model
                    .properties()
                    .iter()
                    .filter_map(|p| Invariant::from_name(p.name))
                    .collect()
            }
        }
        self.with_model(Names)
    }
}

/// Something to do with an entry's model, whichever model it is: [`ModelSpec::with_model`]
/// builds it and calls [`WithModel::with`] with its concrete type.
pub trait WithModel {
    type Output;
    fn with<M: Checkable>(self, model: M) -> Self::Output;
}

/// The verdict a property is expected to get.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// An invariant: no reachable state violates it.
    Holds,
    /// An invariant: some reachable state violates it.
    Counterexample,
    /// A reachability goal: some reachable state shows it.
    Reachable,
    /// A reachability goal: no reachable state shows it.
    Unreachable,
}

impl Expect {
    /// Does this expectation fit the kind of property (invariant or reachability goal)?
    pub fn fits(self, property: Invariant) -> bool {
        matches!(self, Expect::Reachable | Expect::Unreachable) == property.is_reachability()
    }
}

/// A catalogue file that cannot be used: which file, where in it, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogueError {
    pub path: PathBuf,
    /// 1-based; `None` when the problem is the file as a whole (unreadable, duplicate name).
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for CatalogueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for CatalogueError {}

/// Load the entries of every path: a file, or a directory whose `*.json` files are read in name
/// order (a directory without any is an error). Entry names must be unique across all of them.
pub fn load<P: AsRef<Path>>(paths: &[P]) -> Result<Vec<Entry>, CatalogueError> {
    let mut entries: Vec<Entry> = Vec::new();
    for path in paths {
        for file in files(path.as_ref())? {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| whole_file(&file, format!("cannot read: {e}")))?;
            let entry = parse(&file, &text)?;
            if let Some(first) = entries.iter().find(|e| e.name == entry.name) {
                return Err(whole_file(
                    &file,
                    format!(
                        "entry name `{}` is already used by {}",
                        entry.name,
                        first.source.display()
                    ),
                ));
            }
            entries.push(entry);
        }
    }
    Ok(entries)
}

/// The catalogue files a path stands for.
fn files(path: &Path) -> Result<Vec<PathBuf>, CatalogueError> {
    let metadata =
        std::fs::metadata(path).map_err(|e| whole_file(path, format!("cannot read: {e}")))?;
    if !metadata.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let listing =
        std::fs::read_dir(path).map_err(|e| whole_file(path, format!("cannot list: {e}")))?;
    let mut files = Vec::new();
    for item in listing {
        let item = item.map_err(|e| whole_file(path, format!("cannot list: {e}")))?;
        let file = item.path();
        if file.extension().is_some_and(|ext| ext == "json") {
            files.push(file);
        }
    }
    if files.is_empty() {
        return Err(whole_file(
            path,
            "directory has no *.json catalogue files".into(),
        ));
    }
    files.sort();
    Ok(files)
}

fn whole_file(path: &Path, message: String) -> CatalogueError {
    CatalogueError {
        path: path.to_path_buf(),
        line: None,
        column: None,
        message,
    }
}

/// Parse one catalogue file's text.
pub fn parse(path: &Path, text: &str) -> Result<Entry, CatalogueError> {
    let raw: RawEntry = serde_json::from_str(text).map_err(|e| CatalogueError {
        path: path.to_path_buf(),
        line: Some(e.line()),
        column: Some(e.column()),
        message: e
            .to_string()
            .replace(&format!(" at line {} column {}", e.line(), e.column()), ""),
    })?;
    let at = |needle: &str, message: String| {
        let (line, column) = locate(text, needle);
        CatalogueError {
            path: path.to_path_buf(),
            line,
            column,
            message,
        }
    };
    raw.model
        .validate()
        .map_err(|message| at("\"parameters\"", message))?;
    let checked = raw
        .model
        .properties()
        .map_err(|message| at("\"parameters\"", message))?;
    if raw.expect.is_empty() {
        return Err(at("\"expect\"", "`expect` names no property".into()));
    }
    if let Some(unchecked) = raw.expect.keys().find(|p| !checked.contains(p)) {
        let names: Vec<&str> = checked.iter().map(|p| p.name()).collect();
        return Err(at(
            &format!("\"{unchecked}\""),
            format!(
                "model `{}` does not check `{unchecked}`; it checks {}",
                raw.model.kind(),
                names.join(", ")
            ),
        ));
    }
    if let Some((property, expect)) = raw.expect.iter().find(|(p, e)| !e.fits(**p)) {
        let allowed = if property.is_reachability() {
            "`reachable` or `unreachable` (it is a reachability goal)"
        } else {
            "`holds` or `counterexample` (it is an invariant)"
        };
        let spelled = serde_json::to_string(expect).unwrap_or_default();
        return Err(at(
            &format!("\"{property}\""),
            format!("`{property}` cannot be expected {spelled}: expect {allowed}"),
        ));
    }
    if !raw
        .expect
        .iter()
        .any(|(p, e)| p.is_reachability() && *e == Expect::Reachable)
    {
        let goals: Vec<&str> = checked
            .iter()
            .filter(|p| p.is_reachability())
            .map(|p| p.name())
            .collect();
        return Err(at(
            "\"expect\"",
            format!(
                "`expect` names no reachability goal as `reachable`, so nothing shows the model does anything; model `{}` offers {}",
                raw.model.kind(),
                goals.join(", ")
            ),
        ));
    }
    Ok(Entry {
        name: raw.name,
        description: raw.description,
        model: raw.model,
        expect: raw.expect,
        ci: raw.ci,
        source: path.to_path_buf(),
    })
}

/// Line and column (1-based) of the first occurrence of `needle`.
fn locate(text: &str, needle: &str) -> (Option<usize>, Option<usize>) {
    match text.find(needle) {
        None => (None, None),
        Some(offset) => {
            let before = &text[..offset];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            (Some(line), Some(column))
        }
    }
}

/// An entry as the file spells it, before the checks that need the whole entry.
struct RawEntry {
    name: String,
    description: String,
    model: ModelSpec,
    expect: BTreeMap<Invariant, Expect>,
    ci: bool,
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum Field {
    Name,
    Description,
    Model,
    Parameters,
    Expect,
    Ci,
}

const FIELDS: &[&str] = &["name", "description", "model", "parameters", "expect", "ci"];

impl<'de> Deserialize<'de> for RawEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_struct("catalogue entry", FIELDS, EntryVisitor)
    }
}

struct EntryVisitor;

/// Store a field's value, rejecting a second occurrence.
fn once<T, E: de::Error>(slot: &mut Option<T>, value: T, field: &'static str) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::duplicate_field(field));
    }
    *slot = Some(value);
    Ok(())
}

impl<'de> Visitor<'de> for EntryVisitor {
    type Value = RawEntry;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(
            "a catalogue entry: an object with name, description, model, parameters, expect and ci",
        )
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawEntry, A::Error> {
        let mut name = None;
        let mut description = None;
        let mut kind = None;
        let mut model = None;
        let mut expect = None;
        let mut ci = None;
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::Name => once(&mut name, map.next_value()?, "name")?,
                Field::Description => once(&mut description, map.next_value()?, "description")?,
                Field::Model => once(&mut kind, map.next_value::<ModelKind>()?, "model")?,
                Field::Parameters => {
                    let spec = match kind {
                        None => {
                            return Err(de::Error::custom("`model` must come before `parameters`"))
                        }
                        Some(ModelKind::SingleShard) => ModelSpec::SingleShard(map.next_value()?),
                        Some(ModelKind::Replication) => ModelSpec::Replication(map.next_value()?),
                    };
                    once(&mut model, spec, "parameters")?
                }
                Field::Expect => once(&mut expect, map.next_value()?, "expect")?,
                Field::Ci => once(&mut ci, map.next_value()?, "ci")?,
            }
        }
        Ok(RawEntry {
            name: name.ok_or_else(|| de::Error::missing_field("name"))?,
            description: description.ok_or_else(|| de::Error::missing_field("description"))?,
            model: model.ok_or_else(|| match kind {
                None => de::Error::missing_field("model"),
                Some(_) => de::Error::missing_field("parameters"),
            })?,
            expect: expect.ok_or_else(|| de::Error::missing_field("expect"))?,
            ci: ci.ok_or_else(|| de::Error::missing_field("ci"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{
  "name": "seed",
  "description": "two clients",
  "model": "single_shard",
  "parameters": { "clients": 2, "guard": "blind", "path": "rmw" },
  "expect": { "no_lost_acked_write": "counterexample", "retry_bound": "holds", "reach_acked_write": "reachable" },
  "ci": true
}"#;

    fn error(text: &str) -> CatalogueError {
        parse(Path::new("models/x.json"), text).unwrap_err()
    }

    #[test]
    fn a_valid_entry_parses_with_defaults() {
        let entry = parse(Path::new("models/seed.json"), GOOD).unwrap();
        assert_eq!(entry.name, "seed");
        let ModelSpec::SingleShard(params) = &entry.model else {
            panic!("not a single_shard entry: {:?}", entry.model);
        };
        assert_eq!(
            (params.clients, params.docs, params.ops_per_client),
            (2, 1, 1)
        );
        assert_eq!(
            entry.expect.get(&Invariant::NoLostAckedWrite),
            Some(&Expect::Counterexample)
        );
        assert!(entry.ci);
    }

    #[test]
    fn unknown_parameter_is_located() {
        let e = error(&GOOD.replace("\"clients\": 2", "\"clients\": 2, \"client\": 3"));
        assert_eq!((e.line, e.path.to_str()), (Some(5), Some("models/x.json")));
        assert!(
            e.message.starts_with("unknown field `client`"),
            "{}",
            e.message
        );
        assert!(e.to_string().starts_with("models/x.json:5:"), "{e}");
    }

    #[test]
    fn unknown_top_level_field_and_bad_values_are_located() {
        let e = error(&GOOD.replace("\"ci\": true", "\"ci\": true, \"cii\": 1"));
        assert_eq!(e.line, Some(7));
        assert!(e.message.contains("unknown field `cii`"), "{}", e.message);
        let e = error(&GOOD.replace("\"holds\"", "\"maybe\""));
        assert_eq!(e.line, Some(6));
        assert!(
            e.message.contains("unknown variant `maybe`"),
            "{}",
            e.message
        );
        let e = error(&GOOD.replace("\"blind\"", "\"optimistic\""));
        assert!(
            e.message.contains("unknown variant `optimistic`"),
            "{}",
            e.message
        );
        let e = error(&GOOD.replace("retry_bound", "retry_bonud"));
        assert_eq!(e.line, Some(6));
        assert!(
            e.message.contains("unknown variant `retry_bonud`"),
            "{}",
            e.message
        );
        let e = error("{\"name\": \"x\",\n \"name\": \"y\"}");
        assert!(
            e.message.contains("duplicate field `name`"),
            "{}",
            e.message
        );
        let e = error("[1]");
        assert_eq!(e.line, Some(1));
        let e = error("{\"name\": ");
        assert!(e.message.contains("EOF"), "{}", e.message);
    }

    #[test]
    fn missing_fields_and_field_order_are_explained() {
        let e = error(&GOOD.replace(",\n  \"ci\": true", ""));
        assert!(e.message.contains("missing field `ci`"), "{}", e.message);
        let swapped = GOOD.replace(
            "  \"model\": \"single_shard\",\n  \"parameters\": { \"clients\": 2, \"guard\": \"blind\", \"path\": \"rmw\" },",
            "  \"parameters\": { \"clients\": 2, \"guard\": \"blind\", \"path\": \"rmw\" },\n  \"model\": \"single_shard\",",
        );
        let e = error(&swapped);
        assert!(
            e.message.contains("`model` must come before `parameters`"),
            "{}",
            e.message
        );
    }

    #[test]
    fn semantic_errors_point_at_their_key() {
        let e = error(&GOOD.replace("\"clients\": 2", "\"clients\": 0"));
        assert_eq!((e.line, e.column), (Some(5), Some(3)));
        assert!(e.message.contains("`clients` must be"), "{}", e.message);
        let e = error(&GOOD.replace("retry_bound", "term_fencing"));
        assert_eq!(e.line, Some(6));
        assert!(
            e.message.contains("does not check `term_fencing`"),
            "{}",
            e.message
        );
        let e = error(&GOOD.replace(
            "{ \"no_lost_acked_write\": \"counterexample\", \"retry_bound\": \"holds\", \"reach_acked_write\": \"reachable\" }",
            "{}",
        ));
        assert!(e.message.contains("names no property"), "{}", e.message);
    }

    #[test]
    fn expectations_fit_their_kind_and_every_entry_must_reach_a_goal() {
        let e = error(&GOOD.replace(
            "\"retry_bound\": \"holds\"",
            "\"retry_bound\": \"reachable\"",
        ));
        assert_eq!(e.line, Some(6));
        assert!(
            e.message
                .contains("`retry_bound` cannot be expected \"reachable\""),
            "{}",
            e.message
        );
        let e = error(&GOOD.replace(
            "\"reach_acked_write\": \"reachable\"",
            "\"reach_acked_write\": \"holds\"",
        ));
        assert!(
            e.message.contains("it is a reachability goal"),
            "{}",
            e.message
        );
        let e = error(&GOOD.replace(", \"reach_acked_write\": \"reachable\"", ""));
        assert!(
            e.message.contains("names no reachability goal"),
            "{}",
            e.message
        );
        assert!(e.message.contains("reach_conflict"), "{}", e.message);
    }

    #[test]
    fn load_reads_directories_in_order_and_rejects_duplicate_names() {
        let dir = std::env::temp_dir().join(format!("esocc-catalogue-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("b.json"), GOOD.replace("\"seed\"", "\"b\"")).unwrap();
        std::fs::write(dir.join("a.json"), GOOD.replace("\"seed\"", "\"a\"")).unwrap();
        std::fs::write(dir.join("notes.txt"), "ignored").unwrap();
        let names: Vec<String> = load(&[&dir]).unwrap().into_iter().map(|e| e.name).collect();
        assert_eq!(names, vec!["a", "b"]);
        let e = load(&[&dir, &dir.join("a.json")]).unwrap_err();
        assert!(e.message.contains("already used"), "{}", e.message);
        let e = load(&[dir.join("missing.json")]).unwrap_err();
        assert!(e.message.starts_with("cannot read"), "{}", e.message);
        let empty = dir.join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        let e = load(&[&empty]).unwrap_err();
        assert_eq!((e.path, e.line), (empty.clone(), None));
        assert!(e.message.contains("no *.json"), "{}", e.message);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
